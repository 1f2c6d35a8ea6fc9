/*
 * test_bundle.c - reading bundles: entries in order, links and devices
 * skipped, limits enforced while reading, corrupt archives refused, XML
 * never taken for an archive. The archives are written here with
 * libarchive's writer into a temporary file.
 */
#include "config.h"

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

#include "bundle.h"

/* An entry to write: a regular file unless type says otherwise. */
struct wentry {
	const char	*name;
	const char	*data;		/* regular files */
	size_t		 len;		/* 0: strlen(data) */
	unsigned	 type;		/* AE_IF*, 0: regular */
	const char	*link;		/* a link's target */
};

enum { F_TAR, F_TGZ, F_ZIP };

/* Write the entries as an archive into a temporary file; its fd. */
static int
make_archive(int format, const struct wentry *e, size_t n, size_t cut)
{
	struct archive_entry *ae;
	struct archive *a;
	size_t used = 0, cap = 1 << 20, i, len;
	char *buf;
	FILE *fp;
	int fd;

	buf = malloc(cap);
	assert_non_null(buf);
	a = archive_write_new();
	assert_non_null(a);
	if (format == F_ZIP)
		assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
	else
		assert_int_equal(archive_write_set_format_pax_restricted(a),
		    ARCHIVE_OK);
	if (format == F_TGZ)
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
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
	if (cut > 0 && cut < used)
		used = cut;
	fp = tmpfile();
	assert_non_null(fp);
	assert_int_equal(fwrite(buf, 1, used, fp), used);
	assert_int_equal(fflush(fp), 0);
	fd = dup(fileno(fp));
	fclose(fp);
	free(buf);
	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xml_text_is_never_an_archive),
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
