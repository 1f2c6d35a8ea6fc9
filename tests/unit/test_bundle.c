/*
 * test_bundle.c - reading bundles: entries in order, links and devices
 * skipped, limits enforced while reading, corrupt archives refused, XML
 * never taken for an archive; an EDI file's entries one at a time as
 * in one pass. The archives are written here with
 * libarchive's writer into a temporary file.
 */
#include "config.h"

#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>
#include <zlib.h>

#include "bundle.h"

/* An entry to write: a regular file unless type says otherwise. */
struct wentry {
	const char	*name;
	const char	*data;		/* regular files */
	size_t		 len;		/* 0: strlen(data) */
	unsigned	 type;		/* AE_IF*, 0: regular */
	const char	*link;		/* a link's target */
};

enum { F_TAR, F_TGZ, F_ZIP, F_TGZ0, F_TXZ, F_TBZ2, F_ZIP0 };

/* Write the entries as an archive into buf; its length. */
static size_t
archive_bytes(int format, const struct wentry *e, size_t n, char *buf,
    size_t cap)
{
	struct archive_entry *ae;
	struct archive *a;
	size_t used = 0, i, len;

	a = archive_write_new();
	assert_non_null(a);
	if (format == F_ZIP || format == F_ZIP0)
		assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
	else
		assert_int_equal(archive_write_set_format_pax_restricted(a),
		    ARCHIVE_OK);
	if (format == F_ZIP0)
		assert_int_equal(archive_write_set_format_option(a, "zip",
		    "compression", "store"), ARCHIVE_OK);
	if (format == F_TGZ || format == F_TGZ0)
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	if (format == F_TGZ0)	/* stored blocks: a changed byte inflates */
		assert_int_equal(archive_write_set_filter_option(a, "gzip",
		    "compression-level", "0"), ARCHIVE_OK);
	if (format == F_TXZ)
		assert_int_equal(archive_write_add_filter_xz(a), ARCHIVE_OK);
	if (format == F_TBZ2)
		assert_int_equal(archive_write_add_filter_bzip2(a),
		    ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(a, buf, cap, &used),
	    ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		ae = archive_entry_new();
		assert_non_null(ae);
		archive_entry_set_pathname(ae, e[i].name);
		archive_entry_set_perm(ae, 0644);
		len = 0;
		if (e[i].type == 0 && e[i].link != NULL) {
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, e[i].link);
		} else if (e[i].type == 0) {
			archive_entry_set_filetype(ae, AE_IFREG);
			len = e[i].len ? e[i].len : strlen(e[i].data);
			archive_entry_set_size(ae, (la_int64_t)len);
		} else {
			archive_entry_set_filetype(ae, e[i].type);
			if (e[i].link != NULL)
				archive_entry_set_symlink(ae, e[i].link);
			if (e[i].type == AE_IFCHR)
				archive_entry_set_rdev(ae, 0x0103);
		}
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		if (len > 0)
			assert_int_equal(archive_write_data(a, e[i].data, len),
			    (la_ssize_t)len);
		archive_entry_free(ae);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return used;
}

/* A temporary file holding len bytes of buf; its fd, at offset 0. */
static int
file_of(const void *buf, size_t len)
{
	FILE *fp;
	int fd;

	fp = tmpfile();
	assert_non_null(fp);
	if (len > 0)
		assert_int_equal(fwrite(buf, 1, len, fp), len);
	assert_int_equal(fflush(fp), 0);
	fd = dup(fileno(fp));
	fclose(fp);
	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* Write the entries as an archive into a temporary file; its fd. */
static int
make_archive(int format, const struct wentry *e, size_t n, size_t cut)
{
	size_t used, cap = 1 << 20;
	char *buf;
	int fd;

	buf = malloc(cap);
	assert_non_null(buf);
	used = archive_bytes(format, e, n, buf, cap);
	if (cut > 0 && cut < used)
		used = cut;
	fd = file_of(buf, used);
	free(buf);
	return fd;
}

/* What the callback saw. */
struct seen {
	int		 n;
	char		 names[16][64];
	const char	*skip[16];
	bool		 nested[16];
	size_t		 len[16];
	char		 first[64];
};

static int
record(void *arg, const struct bundle_entry *be, struct spool_error *err)
{
	struct seen *s = arg;

	(void)err;
	assert_int_equal(be->index, (uint64_t)s->n + 1);
	if (s->n < 16) {
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s", be->name);
		s->skip[s->n] = be->skip;
		s->nested[s->n] = be->nested;
		s->len[s->n] = be->len;
		if (s->n == 0 && be->data != NULL)
			snprintf(s->first, sizeof(s->first), "%.*s",
			    (int)be->len, be->data);
	}
	s->n++;
	return 0;
}

static const struct bundle_limits big = { 100, 1 << 20, 10 << 20 };

static void
test_xml_text_is_never_an_archive(void **state)
{
	(void)state;
	assert_true(bundle_looks_like_xml("<?xml version=\"1.0\"?><a/>", 24));
	assert_true(bundle_looks_like_xml("\xef\xbb\xbf  \n<a/>", 10));
	assert_true(bundle_looks_like_xml("\xff\xfe<\0a\0", 6));
	assert_false(bundle_looks_like_xml("PK\003\004", 4));
	assert_false(bundle_looks_like_xml("", 0));
	assert_false(bundle_looks_like_xml("   ", 3));
	assert_false(bundle_is_archive_mem("<a/>", 4));
}

static void
test_plain_file_is_not_an_archive(void **state)
{
	struct spool_error err;
	struct seen s;
	char why[512];
	uint64_t n;
	FILE *fp;
	int fd;

	(void)state;
	memset(&s, 0, sizeof(s));
	fp = tmpfile();
	assert_non_null(fp);
	fputs("hello, this is not an archive\n", fp);
	fflush(fp);
	fd = dup(fileno(fp));
	fclose(fp);
	lseek(fd, 0, SEEK_SET);
	assert_int_equal(bundle_read(fd, &big, record, &s, &n, why,
	    sizeof(why), &err), 2);
	assert_int_equal(s.n, 0);
	close(fd);
}

static void
test_entries_come_in_archive_order_with_their_content(void **state)
{
	const struct wentry e[] = {
		{ "b.xml", "<b/>", 0, 0, NULL },
		{ "a.xml", "<a>x</a>", 0, 0, NULL },
		{ "../../etc/c.xml", "<c/>", 0, 0, NULL },
	};
	struct spool_error err;
	struct seen s;
	char why[512];
	uint64_t n;
	int f, fd;

	(void)state;
	for (f = F_TAR; f <= F_ZIP; f++) {
		memset(&s, 0, sizeof(s));
		fd = make_archive(f, e, 3, 0);
		assert_int_equal(bundle_read(fd, &big, record, &s, &n, why,
		    sizeof(why), &err), 0);
		close(fd);
		assert_int_equal(n, 3);
		assert_int_equal(s.n, 3);
		assert_string_equal(s.names[0], "b.xml");
		assert_string_equal(s.names[1], "a.xml");
		assert_string_equal(s.names[2], "../../etc/c.xml");
		assert_string_equal(s.first, "<b/>");
		assert_int_equal(s.len[1], 8);
		assert_null(s.skip[2]);
	}
}

static void
test_links_devices_fifos_and_directories_are_skipped(void **state)
{
	const struct wentry e[] = {
		{ "passwd", NULL, 0, AE_IFLNK, "/etc/passwd" },
		{ "null", NULL, 0, AE_IFCHR, NULL },
		{ "fifo", NULL, 0, AE_IFIFO, NULL },
		{ "dir/", NULL, 0, AE_IFDIR, NULL },
		{ "real.xml", "<r/>", 0, 0, NULL },
		{ "hard.xml", NULL, 0, 0, "real.xml" },
	};
	struct spool_error err;
	struct seen s;
	char why[512];
	uint64_t n;
	int fd;

	(void)state;
	memset(&s, 0, sizeof(s));
	fd = make_archive(F_TAR, e, 6, 0);
	assert_int_equal(bundle_read(fd, &big, record, &s, &n, why,
	    sizeof(why), &err), 0);
	close(fd);
	assert_int_equal(s.n, 6);
	assert_string_equal(s.skip[0], "a symbolic link");
	assert_string_equal(s.skip[1], "a character device");
	assert_string_equal(s.skip[2], "a FIFO");
	assert_string_equal(s.skip[3], "a directory");
	assert_null(s.skip[4]);
	assert_string_equal(s.skip[5], "a hard link");
}

static void
test_max_entries_stops_reading_at_the_first_entry_over(void **state)
{
	const struct wentry e[] = {
		{ "1", "<a/>", 0, 0, NULL }, { "2", "<a/>", 0, 0, NULL },
		{ "3", "<a/>", 0, 0, NULL }, { "4", "<a/>", 0, 0, NULL },
	};
	const struct bundle_limits lim = { 2, 1 << 20, 10 << 20 };
	struct spool_error err;
	struct seen s;
	char why[512];
	uint64_t n;
	int fd;

	(void)state;
	memset(&s, 0, sizeof(s));
	fd = make_archive(F_TGZ, e, 4, 0);
	assert_int_equal(bundle_read(fd, &lim, record, &s, &n, why,
	    sizeof(why), &err), 1);
	close(fd);
	assert_int_equal(s.n, 2);
	assert_non_null(strstr(why, "more than max_entries (2)"));
}

static void
test_a_bomb_is_refused_before_it_is_unpacked_whole(void **state)
{
	const struct bundle_limits lim = { 100, 1 << 20, 1 << 20 };
	struct wentry e[3];
	struct spool_error err;
	struct seen s;
	char why[512], *zeros;
	uint64_t n;
	int fd;

	(void)state;
	zeros = calloc(1, 600000);
	assert_non_null(zeros);
	e[0] = (struct wentry){ "z1", zeros, 600000, 0, NULL };
	e[1] = (struct wentry){ "z2", zeros, 600000, 0, NULL };
	e[2] = (struct wentry){ "z3", zeros, 600000, 0, NULL };
	memset(&s, 0, sizeof(s));
	fd = make_archive(F_ZIP, e, 3, 0);
	assert_int_equal(bundle_read(fd, &lim, record, &s, &n, why,
	    sizeof(why), &err), 1);
	close(fd);
	assert_int_equal(s.n, 1);	/* z2 crosses the limit */
	assert_non_null(strstr(why, "max_total_size"));
	assert_non_null(strstr(why, "entry 2 (z2)"));

	/* One entry over max_entry_size. */
	{
		const struct bundle_limits one = { 100, 100000, 10 << 20 };

		memset(&s, 0, sizeof(s));
		fd = make_archive(F_TGZ, e, 1, 0);
		assert_int_equal(bundle_read(fd, &one, record, &s, &n, why,
		    sizeof(why), &err), 1);
		close(fd);
		assert_int_equal(s.n, 0);
		assert_non_null(strstr(why, "max_entry_size"));
	}
	free(zeros);
}

static void
test_a_truncated_archive_is_refused_naming_where(void **state)
{
	struct wentry e[4];
	struct spool_error err;
	struct seen s;
	char why[512], *data;
	uint64_t n;
	size_t i;
	int fd;

	(void)state;
	data = malloc(200000);
	assert_non_null(data);
	srand(42);
	for (i = 0; i < 200000; i++)
		data[i] = (char)('a' + rand() % 26);
	e[0] = (struct wentry){ "one.xml", "<one/>", 0, 0, NULL };
	e[1] = (struct wentry){ "big1", data, 200000, 0, NULL };
	e[2] = (struct wentry){ "big2", data, 200000, 0, NULL };
	e[3] = (struct wentry){ "last.xml", "<l/>", 0, 0, NULL };
	memset(&s, 0, sizeof(s));
	fd = make_archive(F_TGZ, e, 4, 150000);
	assert_int_equal(bundle_read(fd, &big, record, &s, &n, why,
	    sizeof(why), &err), 1);
	close(fd);
	free(data);
	assert_non_null(strstr(why, "truncated"));
	assert_non_null(strstr(why, "at byte"));
	assert_true(s.n < 4);
}

static void
test_nested_archives_are_flagged_and_empty_ones_read(void **state)
{
	const struct wentry inner[] = { { "x.xml", "<x/>", 0, 0, NULL } };
	struct wentry e[2];
	struct spool_error err;
	struct seen s;
	char why[512], ibuf[4096];
	uint64_t n;
	ssize_t il;
	int fd, ifd;

	(void)state;
	ifd = make_archive(F_ZIP, inner, 1, 0);
	il = read(ifd, ibuf, sizeof(ibuf));
	assert_true(il > 0);
	close(ifd);
	e[0] = (struct wentry){ "inner.zip", ibuf, (size_t)il, 0, NULL };
	e[1] = (struct wentry){ "y.xml", "<y/>", 0, 0, NULL };
	memset(&s, 0, sizeof(s));
	fd = make_archive(F_TAR, e, 2, 0);
	assert_int_equal(bundle_read(fd, &big, record, &s, &n, why,
	    sizeof(why), &err), 0);
	close(fd);
	assert_int_equal(s.n, 2);
	assert_true(s.nested[0]);
	assert_false(s.nested[1]);

	memset(&s, 0, sizeof(s));
	fd = make_archive(F_TAR, e, 0, 0);
	assert_int_equal(bundle_read(fd, &big, record, &s, &n, why,
	    sizeof(why), &err), 0);
	close(fd);
	assert_int_equal(n, 0);
	assert_int_equal(s.n, 0);
}

/*
 * Damaged compressed bundles. The archives are big enough (about 200 KB
 * of unpackable data) that libarchive's tar reader meets the
 * end-of-archive blocks long before the compressed stream's trailer.
 */
struct damage {
	char	*buf;		/* a sound archive */
	size_t	 len;
	char	*data;		/* the big entry's content */
};

static void
damage_setup(struct damage *d, int format)
{
	struct wentry e[3];
	size_t i, cap = 1 << 20;

	d->data = malloc(200000);
	assert_non_null(d->data);
	srand(7);
	for (i = 0; i < 200000; i++)
		d->data[i] = (char)('a' + rand() % 26);
	e[0] = (struct wentry){ "one.xml", "<one>qty=1</one>", 0, 0, NULL };
	e[1] = (struct wentry){ "big", d->data, 200000, 0, NULL };
	e[2] = (struct wentry){ "last.xml", "<last>qty=1</last>", 0, 0,
	    NULL };
	d->buf = malloc(cap);
	assert_non_null(d->buf);
	d->len = archive_bytes(format, e, 3, d->buf, cap);
}

static void
damage_free(struct damage *d)
{
	free(d->buf);
	free(d->data);
}

/* bundle_read() over buf[0..len) with byte at xor'ed (at == -1: none). */
static int
read_damaged(const char *buf, size_t len, ssize_t at, unsigned char x,
    char *why, size_t whylen, struct seen *s)
{
	struct spool_error err;
	uint64_t n;
	char *copy;
	int fd, rc;

	copy = malloc(len + 1);
	assert_non_null(copy);
	memcpy(copy, buf, len);
	if (at >= 0)
		copy[at] ^= (char)x;
	fd = file_of(copy, len);
	free(copy);
	memset(s, 0, sizeof(*s));
	why[0] = '\0';
	memset(&err, 0, sizeof(err));
	rc = bundle_read(fd, &big, record, s, &n, why, whylen, &err);
	close(fd);
	return rc;
}

static void
assert_refused(const char *buf, size_t len, ssize_t at, unsigned char x,
    const char *check)
{
	struct seen s;
	char why[512];

	if (read_damaged(buf, len, at, x, why, sizeof(why), &s) != 1)
		fail_msg("byte %zd ^ 0x%02x of %zu: not refused (%s)", at, x,
		    len, why);
	if (strstr(why, check) == NULL)
		fail_msg("byte %zd of %zu: reason \"%s\" does not name \"%s\"",
		    at, len, why, check);
}

static void
test_sound_compressed_bundles_are_read_to_their_end(void **state)
{
	const int formats[] = { F_TGZ, F_TGZ0, F_TXZ, F_TBZ2, F_ZIP0 };
	struct damage d;
	struct seen s;
	char why[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		damage_setup(&d, formats[i]);
		assert_int_equal(read_damaged(d.buf, d.len, -1, 0, why,
		    sizeof(why), &s), 0);
		assert_int_equal(s.n, 3);
		assert_int_equal(s.len[1], 200000);
		damage_free(&d);
	}
}

static void
test_a_changed_byte_in_a_stored_gzip_fails_its_crc(void **state)
{
	struct damage d;
	char *p;

	(void)state;
	damage_setup(&d, F_TGZ0);
	p = memmem(d.buf, d.len, "<last>qty=1", 11);
	assert_non_null(p);
	/* '1' becomes '9': the tar reader cannot see it, the CRC can. */
	assert_refused(d.buf, d.len, p - d.buf + 10, '1' ^ '9', "CRC-32");
	damage_free(&d);
}

static void
test_a_damaged_gzip_trailer_is_refused_naming_the_check(void **state)
{
	struct damage d;
	struct seen s;
	char why[512];
	ssize_t k;

	(void)state;
	damage_setup(&d, F_TGZ);
	for (k = 1; k <= 8; k++)	/* CRC-32, then ISIZE */
		assert_refused(d.buf, d.len, (ssize_t)d.len - k, 0x40,
		    k > 4 ? "CRC-32" : "length");
	assert_int_equal(read_damaged(d.buf, d.len - 3, -1, 0, why,
	    sizeof(why), &s), 1);
	assert_non_null(strstr(why, "gzip stream is truncated"));
	damage_free(&d);
}

/* gzip with zlib: the tar in two members, then what follows. */
static size_t
two_members(const char *tar, size_t len, char *out, size_t cap)
{
	size_t used = 0, half = len / 2, part;
	z_stream z;
	int i;

	for (i = 0; i < 2; i++) {
		memset(&z, 0, sizeof(z));
		assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS,
		    8, Z_DEFAULT_STRATEGY), Z_OK);
		part = i == 0 ? half : len - half;
		z.next_in = (Bytef *)(uintptr_t)(tar + (i == 0 ? 0 : half));
		z.avail_in = (uInt)part;
		z.next_out = (Bytef *)out + used;
		z.avail_out = (uInt)(cap - used);
		assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
		used = cap - z.avail_out;
		deflateEnd(&z);
	}
	return used;
}

static void
test_gzip_members_and_nul_padding_read_trailing_data_not(void **state)
{
	struct damage d;
	struct seen s;
	char why[512], *gz;
	size_t len, cap = 1 << 20;

	(void)state;
	damage_setup(&d, F_TAR);
	gz = malloc(cap);
	assert_non_null(gz);
	len = two_members(d.buf, d.len, gz, cap - 1024);
	assert_int_equal(read_damaged(gz, len, -1, 0, why, sizeof(why), &s),
	    0);
	assert_int_equal(s.n, 3);
	memset(gz + len, 0, 1024);	/* NUL padding, as gzip(1) allows */
	assert_int_equal(read_damaged(gz, len + 1024, -1, 0, why,
	    sizeof(why), &s), 0);
	memcpy(gz + len + 512, "junk", 4);
	assert_refused(gz, len + 1024, -1, 0, "after the end of the gzip");
	memcpy(gz + len, "junk", 4);
	assert_refused(gz, len + 4, -1, 0, "after the end of the gzip");
	free(gz);
	damage_free(&d);
}

static void
test_a_damaged_xz_stream_or_trailer_is_refused(void **state)
{
	struct damage d;
	ssize_t k;

	(void)state;
	damage_setup(&d, F_TXZ);
	assert_refused(d.buf, d.len, (ssize_t)d.len / 2, 0x01, "xz");
	/* The block's check, the index and the footer. */
	for (k = 1; k <= 48; k++)
		assert_refused(d.buf, d.len, (ssize_t)d.len - k, 0x01, "xz");
	assert_refused(d.buf, d.len - 6, -1, 0, "xz");
	damage_free(&d);
}

static void
test_a_damaged_bzip2_stream_or_trailer_is_refused(void **state)
{
	struct damage d;
	ssize_t k;

	(void)state;
	damage_setup(&d, F_TBZ2);
	assert_refused(d.buf, d.len, (ssize_t)d.len / 2, 0x01, "bzip2");
	/* The stream's combined CRC and the end-of-stream marker. */
	for (k = 2; k <= 10; k++)
		assert_refused(d.buf, d.len, (ssize_t)d.len - k, 0x01,
		    "bzip2");
	damage_free(&d);
}

/* A tar of a.xml and b.xml, by zstd(1) with its checksum (--check). */
static const char zst[] =
	    "\x28\xb5\x2f\xfd\x04\x68\xb5\x02\x00\x42\x83\x0b\x11\xa0\xed\x78"
	    "\x78\x62\x2c\xfe\x1f\xa8\xa8\xec\x3b\xa1\x00\xfc\x48\x01\x8c\x15"
	    "\xe6\xb5\x22\x0d\x55\xe5\x5b\x9b\xfc\x1b\xae\x8c\xd3\x3e\x30\x39"
	    "\x3a\x36\xe3\xbf\x8d\x39\x77\x73\x34\x6c\x0e\x20\x80\xad\xd6\x0d"
	    "\xfd\xdf\x83\xbc\xba\x2f\x23\x53\x55\x2a\x03\x50\x17\x7c\xf5\xcf"
	    "\xa5\xce\xff\x79\x7b\xc1\x96\x8a\xc2\xa0\x00\xb6\x93\x82\x03\x76"
	    "\xbb\xa1\xb6";

static void
test_a_damaged_zstd_frame_is_refused(void **state)
{
	struct archive *a;
	struct seen s;
	char why[512];
	size_t len = sizeof(zst) - 1;
	ssize_t k;
	int rc;

	(void)state;
	a = archive_read_new();
	assert_non_null(a);
	rc = archive_read_support_filter_zstd(a);
	archive_read_free(a);
	if (rc != ARCHIVE_OK)
		skip();		/* libarchive without zstd built in */
	assert_int_equal(read_damaged(zst, len, -1, 0, why, sizeof(why), &s),
	    0);
	assert_int_equal(s.n, 2);
	assert_refused(zst, len, 40, 0x01, "zstd");
	for (k = 1; k <= 4; k++)	/* the checksum */
		assert_refused(zst, len, (ssize_t)len - k, 0x01, "zstd");
	assert_refused(zst, len - 2, -1, 0, "zstd");
	memcpy(why, zst, len);
	memcpy(why + len, "junk", 4);
	assert_refused(why, len + 4, -1, 0, "zstd");
}

/* A zip of a.xml by Python's zipfile: no data descriptor. */
static const char zip[] =
	    "\x50\x4b\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x21\x50\x51\x1f"
	    "\x6a\x2b\x0c\x00\x00\x00\x0c\x00\x00\x00\x05\x00\x00\x00\x61\x2e"
	    "\x78\x6d\x6c\x3c\x61\x3e\x71\x74\x79\x3d\x31\x3c\x2f\x61\x3e\x50"
	    "\x4b\x01\x02\x14\x03\x14\x00\x00\x00\x00\x00\x00\x00\x21\x50\x51"
	    "\x1f\x6a\x2b\x0c\x00\x00\x00\x0c\x00\x00\x00\x05\x00\x00\x00\x00"
	    "\x00\x00\x00\x00\x00\x00\x00\x80\x01\x00\x00\x00\x00\x61\x2e\x78"
	    "\x6d\x6c\x50\x4b\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00\x33\x00"
	    "\x00\x00\x2f\x00\x00\x00\x00\x00";

static void
test_a_zip_entry_whose_crc_fails_is_refused(void **state)
{
	struct damage d;
	struct seen s;
	char why[512], *p;

	(void)state;
	assert_int_equal(read_damaged(zip, sizeof(zip) - 1, -1, 0, why,
	    sizeof(why), &s), 0);
	assert_int_equal(s.n, 1);
	/* The central directory's CRC-32 (at 47 + 16) disagrees with the
	 * local header's: libarchive only warns. */
	assert_refused(zip, sizeof(zip) - 1, 47 + 16, 0x01, "CRC");
	assert_refused(zip, sizeof(zip) - 1, 14, 0x01, "CRC");

	damage_setup(&d, F_ZIP0);
	p = memmem(d.buf, d.len, "<last>qty=1", 11);
	assert_non_null(p);
	assert_refused(d.buf, d.len, p - d.buf + 10, '1' ^ '9', "CRC");
	/* The CRC-32 in the first local header, and in the central one. */
	assert_refused(d.buf, d.len, 14, 0x01, "CRC");
	p = memmem(d.buf, d.len, "PK\001\002", 4);
	assert_non_null(p);
	assert_refused(d.buf, d.len, p - d.buf + 16, 0x01, "CRC");
	damage_free(&d);
}

static void
test_a_damaged_tar_header_is_refused_not_skipped(void **state)
{
	const struct wentry e[] = {
		{ "1.xml", "<a/>", 0, 0, NULL },
		{ "2.xml", "<b/>", 0, 0, NULL },
		{ "3.xml", "<c/>", 0, 0, NULL },
	};
	char *buf, *p;
	size_t len;

	(void)state;
	buf = malloc(1 << 20);
	assert_non_null(buf);
	len = archive_bytes(F_TAR, e, 3, buf, 1 << 20);
	p = memmem(buf, len, "2.xml", 5);
	assert_non_null(p);
	/* libarchive skips the damaged header with a warning. */
	assert_refused(buf, len, p - buf, 0x01, "corrupt");
	free(buf);
}

static void
test_utf8_names_are_no_warning(void **state)
{
	const struct wentry e[] = {
		{ "M\xc3\xbcller-Bestellung.xml", "<a/>", 0, 0, NULL },
	};
	struct spool_error err;
	struct seen s;
	locale_t utf8, old;
	char why[512];
	uint64_t n;
	int f, fd;

	(void)state;
	/* The writer, unlike the reader, needs a UTF-8 locale for them. */
	utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (utf8 == (locale_t)0)
		skip();
	for (f = F_TAR; f <= F_ZIP; f++) {
		memset(&s, 0, sizeof(s));
		old = uselocale(utf8);
		fd = make_archive(f, e, 1, 0);
		uselocale(old);
		assert_int_equal(bundle_read(fd, &big, record, &s, &n, why,
		    sizeof(why), &err), 0);
		close(fd);
		assert_int_equal(s.n, 1);
		assert_string_equal(s.names[0], "M\xc3\xbcller-Bestellung.xml");
	}
	freelocale(utf8);
}

static void
test_a_bundle_compressed_twice_is_refused(void **state)
{
	const struct wentry e[] = { { "a.xml", "<a/>", 0, 0, NULL } };
	struct archive_entry *ae;
	struct archive *a;
	size_t used = 0, cap = 1 << 16;
	char *buf;

	(void)state;
	buf = malloc(cap);
	assert_non_null(buf);
	a = archive_write_new();
	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax_restricted(a),
	    ARCHIVE_OK);
	assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	assert_int_equal(archive_write_add_filter_xz(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(a, buf, cap, &used),
	    ARCHIVE_OK);
	ae = archive_entry_new();
	archive_entry_set_pathname(ae, e[0].name);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, 4);
	assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, "<a/>", 4), 4);
	archive_entry_free(ae);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	assert_refused(buf, used, -1, 0, "more than once");
	free(buf);
}

/* gzip buf[0..len) into out with zlib, one member; its length. */
static size_t
gzip_of(const char *buf, size_t len, char *out, size_t cap)
{
	z_stream z;
	size_t used;

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)buf;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	used = cap - z.avail_out;
	deflateEnd(&z);
	return used;
}

static void
test_a_tar_cut_between_two_entries_is_refused(void **state)
{
	struct damage d;
	struct seen s;
	char why[512], *gz, *p;
	size_t cut, len, cap = 1 << 20;

	(void)state;
	damage_setup(&d, F_TAR);
	/* Where last.xml's header starts: after it, libarchive saw an end. */
	p = memmem(d.buf, d.len, "last.xml", 8);
	assert_non_null(p);
	cut = (size_t)(p - d.buf);
	assert_int_equal(cut % 512, 0);
	assert_refused(d.buf, cut, -1, 0, "without its end-of-archive");
	assert_int_equal(read_damaged(d.buf, cut, -1, 0, why, sizeof(why),
	    &s), 1);
	assert_non_null(strstr(why, "after entry 2 (big)"));
	/* The same tar compressed: the gzip stream is sound, the tar not. */
	gz = malloc(cap);
	assert_non_null(gz);
	len = gzip_of(d.buf, cut, gz, cap);
	assert_refused(gz, len, -1, 0, "without its end-of-archive");
	/* Whole, compressed: read. */
	len = gzip_of(d.buf, d.len, gz, cap);
	assert_int_equal(read_damaged(gz, len, -1, 0, why, sizeof(why), &s),
	    0);
	assert_int_equal(s.n, 3);
	free(gz);
	damage_free(&d);
}

/* What bundle_edi_entries() hands its callback, kept. */
struct edi_seen {
	size_t		 n;
	uint64_t	 index[8];
	char		 name[8][160];
	char		 data[8][512];
	size_t		 len[8];
};

static int
edi_keep(void *arg, const struct bundle_entry *be, struct spool_error *err)
{
	struct edi_seen *s = arg;

	(void)err;
	assert_true(s->n < 8);
	assert_true(be->len < sizeof(s->data[0]));
	s->index[s->n] = be->index;
	snprintf(s->name[s->n], sizeof(s->name[0]), "%s", be->name);
	memcpy(s->data[s->n], be->data, be->len);
	s->len[s->n] = be->len;
	s->n++;
	return 0;
}

static struct bundle_edi *
edi_load(const char *text, uint64_t max_entries)
{
	struct bundle_limits lim = { max_entries, 1 << 20, 1 << 20 };
	struct bundle_edi *be = NULL;
	struct spool_error err;
	char why[256];
	FILE *fp;

	assert_non_null(fp = tmpfile());
	assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
	assert_int_equal(fflush(fp), 0);
	assert_int_equal(lseek(fileno(fp), 0, SEEK_SET), 0);
	spool_clearerr(&err);
	assert_int_equal(bundle_edi_load(fileno(fp), &lim, &be, why,
	    sizeof(why), &err), 0);
	fclose(fp);
	return be;
}

/* Two interchanges of 2 and 1 messages. */
#define EDI_TWO \
	"UNB+UNOC:3+S:ZZ+R:ZZ+260101:1200+IC1'\n" \
	"UNH+1+ORDERS:D:96A:UN'BGM+220+PO1+9'UNT+3+1'\n" \
	"UNH+2+ORDERS:D:96A:UN'BGM+220+PO2+9'UNT+3+2'\n" \
	"UNZ+2+IC1'\n" \
	"UNB+UNOC:3+S:ZZ+R:ZZ+260101:1200+IC2'\n" \
	"UNH+3+ORDERS:D:96A:UN'BGM+220+PO3+9'UNT+3+3'\n" \
	"UNZ+1+IC2'\n"

static void
test_edi_entries_one_at_a_time_are_those_of_the_whole_pass(void **state)
{
	struct bundle_limits lim = { 10, 1 << 20, 1 << 20 };
	struct bundle_edi_buf buf = { NULL, 0, 0 };
	struct bundle_edi_pos pos;
	struct bundle_entry be;
	struct spool_error err;
	struct bundle_edi *bedi;
	struct edi_seen s;
	uint64_t n;
	char why[256], name[160];
	size_t i = 0;

	(void)state;
	bedi = edi_load(EDI_TWO, 10);
	memset(&s, 0, sizeof(s));
	spool_clearerr(&err);
	assert_int_equal(bundle_edi_entries(bedi, &lim, edi_keep, &s, &n, why,
	    sizeof(why), &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.name[2], "interchange-2-message-1-ref-3");
	memset(&pos, 0, sizeof(pos));
	while (bundle_edi_next(bedi, &lim, &pos, why, sizeof(why)) == 1) {
		assert_true(i < 3);
		assert_int_equal(bundle_edi_entry(bedi, &pos, &buf, NULL, name,
		    sizeof(name), &be), 0);
		assert_int_equal(be.index, s.index[i]);
		assert_string_equal(be.name, s.name[i]);
		assert_int_equal(be.len, s.len[i]);
		assert_memory_equal(be.data, s.data[i], be.len);
		i++;
	}
	assert_int_equal(i, 3);
	assert_int_equal(pos.index, 3);
	/* At the end it stays there. */
	assert_int_equal(bundle_edi_next(bedi, &lim, &pos, why, sizeof(why)),
	    0);
	free(buf.p);
	bundle_edi_free(bedi);
}

static void
test_edi_next_stops_at_max_entries(void **state)
{
	struct bundle_limits lim = { 2, 1 << 20, 1 << 20 };
	struct bundle_edi_pos pos;
	struct spool_error err;
	struct bundle_edi *bedi;
	struct edi_seen s;
	uint64_t n = 99;
	char why[256];

	(void)state;
	/* Loaded with room for all three; read with room for two. */
	bedi = edi_load(EDI_TWO, 10);
	memset(&pos, 0, sizeof(pos));
	assert_int_equal(bundle_edi_next(bedi, &lim, &pos, why, sizeof(why)),
	    1);
	assert_int_equal(bundle_edi_next(bedi, &lim, &pos, why, sizeof(why)),
	    1);
	why[0] = '\0';
	assert_int_equal(bundle_edi_next(bedi, &lim, &pos, why, sizeof(why)),
	    2);
	assert_string_equal(why, "more than 2 messages ([bundle] max_entries)");
	assert_int_equal(pos.index, 2);
	memset(&s, 0, sizeof(s));
	spool_clearerr(&err);
	assert_int_equal(bundle_edi_entries(bedi, &lim, edi_keep, &s, &n, why,
	    sizeof(why), &err), 1);
	assert_int_equal(s.n, 2);
	assert_int_equal(n, 0);
	bundle_edi_free(bedi);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xml_text_is_never_an_archive),
		cmocka_unit_test(
		    test_edi_entries_one_at_a_time_are_those_of_the_whole_pass),
		cmocka_unit_test(test_edi_next_stops_at_max_entries),
		cmocka_unit_test(test_plain_file_is_not_an_archive),
		cmocka_unit_test(
		    test_entries_come_in_archive_order_with_their_content),
		cmocka_unit_test(
		    test_links_devices_fifos_and_directories_are_skipped),
		cmocka_unit_test(
		    test_max_entries_stops_reading_at_the_first_entry_over),
		cmocka_unit_test(
		    test_a_bomb_is_refused_before_it_is_unpacked_whole),
		cmocka_unit_test(
		    test_a_truncated_archive_is_refused_naming_where),
		cmocka_unit_test(
		    test_nested_archives_are_flagged_and_empty_ones_read),
		cmocka_unit_test(
		    test_sound_compressed_bundles_are_read_to_their_end),
		cmocka_unit_test(
		    test_a_changed_byte_in_a_stored_gzip_fails_its_crc),
		cmocka_unit_test(
		    test_a_damaged_gzip_trailer_is_refused_naming_the_check),
		cmocka_unit_test(
		    test_gzip_members_and_nul_padding_read_trailing_data_not),
		cmocka_unit_test(
		    test_a_damaged_xz_stream_or_trailer_is_refused),
		cmocka_unit_test(
		    test_a_damaged_bzip2_stream_or_trailer_is_refused),
		cmocka_unit_test(test_a_damaged_zstd_frame_is_refused),
		cmocka_unit_test(test_a_zip_entry_whose_crc_fails_is_refused),
		cmocka_unit_test(
		    test_a_damaged_tar_header_is_refused_not_skipped),
		cmocka_unit_test(test_utf8_names_are_no_warning),
		cmocka_unit_test(test_a_bundle_compressed_twice_is_refused),
		cmocka_unit_test(test_a_tar_cut_between_two_entries_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
