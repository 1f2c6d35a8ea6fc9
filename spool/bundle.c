/*
 * bundle.c - reading bundles: archives of many messages (DESIGN 9).
 *
 * A bundle is read once, front to back, from its open descriptor; each
 * entry goes to a callback and is forgotten before the next is read, so
 * memory is one buffer of at most max_entry_size + 1 bytes, however big
 * the bundle. The limits are checked while reading: a header that
 * announces too much is refused before its data is unpacked, and data
 * that unpacks to more than announced is refused as soon as it crosses
 * the limit (a zip bomb is never unpacked whole).
 *
 * What libarchive is allowed to read is chosen, not "all": the tar, cpio,
 * zip, 7-Zip and RAR formats, and the compression filters that libarchive
 * implements itself. Left out on purpose: "raw" (it would make any file
 * an archive), mtree (its entries name files on this machine, which
 * libarchive then opens: a partner could read /etc/passwd into the
 * spool), and filters that libarchive would run as an external program
 * (a partner's bytes would reach another program). Entry names are
 * handed on as data; nothing here ever opens a path.
 *
 * Integrity: a bundle counts only if it is read to its real end and
 * every check its format carries holds; bundle_read() says 0 only then,
 * after the last entry, so the caller keeps no entry until it does.
 * libarchive (3.6) alone is not enough for that: a tar reader stops at
 * the end-of-archive blocks, so whatever follows them in a compressed
 * stream (the gzip trailer, the xz index and check, the bzip2 stream
 * CRC, the zstd checksum) is never read, and its gzip filter never
 * checks the trailer at all. So:
 * - The compression (at most one layer; two are refused) is peeled off
 *   apart from the format. gzip is inflated here with zlib, member by
 *   member, zlib checking each member's CRC-32 and length. Several
 *   members are one stream, as gzip(1) reads them; after the last, only
 *   NUL padding may follow (gzip(1) ignores it too); any other byte is
 *   refused. The other filters run in a libarchive reader of their own
 *   ("raw" format: the unpacked stream) that is drained to its end after
 *   the archive's last entry, so that liblzma, libbz2 and libzstd check
 *   what follows; then, again, only NUL bytes may follow the stream. The
 *   unpacked stream may be no bigger than an uncompressed bundle may be
 *   (max_total_size plus room for headers), so the drain cannot be a
 *   bomb either.
 * - A tar archive must end with its end-of-archive block: libarchive
 *   takes a tar that stops at a block boundary after an entry as whole,
 *   and that is what an upload cut between two entries looks like. (In
 *   an unpacked stream the block is looked for in the last block handed
 *   to libarchive and the 512 bytes before it; if libarchive stopped
 *   before those, it cannot be seen and is trusted.)
 * - A warning from libarchive is a failure: that is how it reports a bad
 *   zip or 7-Zip CRC, zip headers whose CRCs disagree, and a damaged tar
 *   header it skipped. Entry names are read in a UTF-8 locale, so that a
 *   name libarchive cannot convert to the C locale is no warning.
 * What is verified, found by damaging archives: gzip (CRC-32, length),
 * xz (block checks, index, footer), bzip2 (block and stream CRCs),
 * zstd (frame checksum when the sender wrote one), lz4 (content and
 * block checksums when written; up to 4 bytes after an lz4 stream go
 * unnoticed: libarchive takes them as a magic number it then ignores),
 * lzip (CRC-32 and sizes), zip and 7-Zip (each entry's CRC-32, when its
 * data is read; skipped entries are not read). Not verifiable, having
 * no checks: lzma-alone, compress (.Z), plain tar and cpio data (a tar
 * header has a checksum, its data none). RAR is read as libarchive
 * reads it, untested here (no RAR writer).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include "bundle.h"
#include "log.h"

#define BUNDLE_BLOCK		65536
#define BUNDLE_NAME_MAX		1024	/* longest entry name kept */
#define BUNDLE_ENTRY_ROOM	4096	/* headers and padding, per entry */
#define TAR_BLOCK		512

/* Filters, each registered only when libarchive has it built in. */
static int (*const filters[])(struct archive *) = {
	archive_read_support_filter_gzip,
	archive_read_support_filter_bzip2,
	archive_read_support_filter_xz,
	archive_read_support_filter_lzma,
	archive_read_support_filter_lzip,
	archive_read_support_filter_zstd,
	archive_read_support_filter_lz4,
	archive_read_support_filter_compress,
};
#define NFILTERS	(sizeof(filters) / sizeof(filters[0]))

/*
 * Which filters libarchive implements itself: registering one that it
 * would run as a program answers ARCHIVE_WARN. Probed once per process
 * on a throw-away archive object.
 */
static bool
filter_builtin(size_t i)
{
	static int probed[NFILTERS];	/* 0 unknown, 1 built in, 2 not */
	struct archive *a;

	if (probed[i] == 0) {
		probed[i] = 2;
		if ((a = archive_read_new()) != NULL) {
			if (filters[i](a) == ARCHIVE_OK)
				probed[i] = 1;
			archive_read_free(a);
		}
	}
	return probed[i] == 1;
}

/* What a reader reads. */
#define RD_FILTERS	0x1	/* the compression filters */
#define RD_FORMATS	0x2	/* the archive formats */
#define RD_RAW		0x4	/* any stream, as one entry */

static struct archive *
new_reader(int what)
{
	struct archive *a;
	size_t i;

	if ((a = archive_read_new()) == NULL)
		return NULL;
	if (what & RD_FILTERS)
		for (i = 0; i < NFILTERS; i++)
			if (filter_builtin(i) && filters[i](a) != ARCHIVE_OK)
				goto fail;
	if ((what & RD_FORMATS) &&
	    (archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_support_format_cpio(a) != ARCHIVE_OK ||
	    archive_read_support_format_zip(a) != ARCHIVE_OK ||
	    archive_read_support_format_7zip(a) != ARCHIVE_OK ||
	    archive_read_support_format_rar(a) != ARCHIVE_OK ||
	    archive_read_support_format_rar5(a) != ARCHIVE_OK))
		goto fail;
	if ((what & RD_RAW) && archive_read_support_format_raw(a) != ARCHIVE_OK)
		goto fail;
	return a;
fail:
	archive_read_free(a);
	return NULL;
}

bool
bundle_looks_like_xml(const void *buf, size_t len)
{
	const unsigned char *p = buf, *end = p + len;

	if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		p += 3;
	else if (len >= 2 && ((p[0] == 0xff && p[1] == 0xfe) ||
	    (p[0] == 0xfe && p[1] == 0xff)))
		return true;	/* UTF-16 text: a message, not an archive */
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' ||
	    *p == '\n'))
		p++;
	return p < end && *p == '<';
}

/* After the first header read: was anything recognised at all? */
static bool
recognised(struct archive *a, int rc)
{
	if (rc == ARCHIVE_OK || rc == ARCHIVE_WARN)
		return true;
	return archive_format(a) != 0 || archive_filter_count(a) > 1;
}

bool
bundle_is_archive_mem(const void *buf, size_t len)
{
	struct archive_entry *e;
	struct archive *a;
	bool yes = false;
	int rc;

	if (len == 0 || bundle_looks_like_xml(buf, len))
		return false;
	if ((a = new_reader(RD_FILTERS | RD_FORMATS)) == NULL)
		return false;
	if (archive_read_open_memory(a, buf, len) == ARCHIVE_OK) {
		rc = archive_read_next_header(a, &e);
		yes = recognised(a, rc);
	} else
		yes = archive_filter_count(a) > 1 || archive_format(a) != 0;
	archive_read_free(a);
	return yes;
}

static const char *
skip_kind(struct archive_entry *e)
{
	if (archive_entry_hardlink(e) != NULL)
		return "a hard link";
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		return NULL;
	case AE_IFDIR:
		return "a directory";
	case AE_IFLNK:
		return "a symbolic link";
	case AE_IFCHR:
		return "a character device";
	case AE_IFBLK:
		return "a block device";
	case AE_IFIFO:
		return "a FIFO";
	case AE_IFSOCK:
		return "a socket";
	default:
		return "not a regular file";
	}
}

/* The entry's name, bounded, as data. */
static void
entry_name(struct archive_entry *e, char *buf, size_t len)
{
	const char *n = archive_entry_pathname(e);
	size_t l;

	if (n == NULL)
		n = archive_entry_pathname_utf8(e);
	if (n == NULL)
		n = "";
	l = strlen(n);
	if (l < len) {
		memcpy(buf, n, l + 1);
		return;
	}
	memcpy(buf, n, len - 4);
	memcpy(buf + len - 4, "...", 4);
}

/* Where the archive's bytes come from. */
enum src_kind {
	SRC_PLAIN,	/* the file itself: not compressed */
	SRC_GZIP,	/* gzip, inflated here by zlib */
	SRC_FILTER	/* another compression, unpacked by libarchive */
};

struct src {
	enum src_kind	 kind;
	int		 fd;
	off_t		 start;		/* the bundle's first byte in fd */
	char		 comp[32];	/* the compression's name */
	struct archive	*outer;		/* SRC_FILTER: the unpacking reader */
	z_stream	 z;		/* SRC_GZIP */
	bool		 zinit;
	bool		 between;	/* after a gzip member */
	bool		 padding;	/* NUL bytes seen after the stream */
	bool		 in_eof;	/* fd read to its end */
	bool		 done;		/* the stream ended and held up */
	bool		 syserr;	/* fail: the system's, not the data's */
	unsigned	 members;
	unsigned char	*in, *out;
	uint64_t	 raw;		/* compressed bytes read from fd */
	uint64_t	 unpacked;	/* bytes handed to the archive reader */
	uint64_t	 max;		/* most the unpacked stream may hold */
	const unsigned char *cur;	/* the block handed on last */
	size_t		 curlen;
	unsigned char	 tail[TAR_BLOCK];	/* the stream before cur */
	size_t		 taillen;
	char		 fail[SPOOL_ERRLEN];	/* why the stream is refused */
};

static int
src_syserr(struct src *s, const char *what)
{
	snprintf(s->fail, sizeof(s->fail), "%s: %s", what, strerror(errno));
	s->syserr = true;
	return -1;
}

/* Count n more unpacked bytes; -1 past the bound. */
static int
src_count(struct src *s, size_t n)
{
	s->unpacked += n;
	if (s->unpacked <= s->max)
		return 0;
	snprintf(s->fail, sizeof(s->fail), "its %s stream unpacks to more "
	    "than %" PRIu64 " bytes (max_total_size and room for headers)",
	    s->comp, s->max);
	return -1;
}

/* More compressed input for zlib, when it has none left. */
static int
gz_fill(struct src *s)
{
	ssize_t n;

	if (s->z.avail_in > 0 || s->in_eof)
		return 0;
	do
		n = read(s->fd, s->in, BUNDLE_BLOCK);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return src_syserr(s, "read");
	if (n == 0)
		s->in_eof = true;
	s->z.next_in = s->in;
	s->z.avail_in = (uInt)n;
	s->raw += (uint64_t)n;
	return 0;
}

static int
gz_failed(struct src *s, int rc)
{
	uint64_t at = s->raw - s->z.avail_in;
	const char *m = s->z.msg != NULL ? s->z.msg : "";

	if (rc == Z_MEM_ERROR) {
		errno = ENOMEM;
		return src_syserr(s, "inflate");
	}
	if (s->members > 1 && strcmp(m, "incorrect header check") == 0)
		snprintf(s->fail, sizeof(s->fail), "data after the end of "
		    "the gzip stream, at byte %" PRIu64 ", is neither another "
		    "gzip member nor NUL padding", at);
	else if (strcmp(m, "incorrect data check") == 0)
		snprintf(s->fail, sizeof(s->fail), "gzip CRC-32 check failed "
		    "in member %u (trailer at byte %" PRIu64 "): the data "
		    "differs from what the sender compressed", s->members, at);
	else if (strcmp(m, "incorrect length check") == 0)
		snprintf(s->fail, sizeof(s->fail), "gzip length check failed "
		    "in member %u (trailer at byte %" PRIu64 "): the data "
		    "differs from what the sender compressed", s->members, at);
	else
		snprintf(s->fail, sizeof(s->fail), "gzip stream is corrupt in "
		    "member %u at byte %" PRIu64 ": %s", s->members, at,
		    m[0] != '\0' ? m : "inflate failed");
	return -1;
}

/* The next unpacked bytes of a gzip stream: their count, 0 at its
 * checked end, -1 refused (s->fail). */
static ssize_t
gz_next(struct src *s, const void **buf)
{
	size_t got;
	int rc;

	for (;;) {
		if (s->done)
			return 0;
		if (gz_fill(s) == -1)
			return -1;
		if (s->between) {
			/* After a member: another one, or NULs to the end. */
			while (s->z.avail_in > 0 && *s->z.next_in == 0) {
				s->z.next_in++;
				s->z.avail_in--;
				s->padding = true;
			}
			if (s->z.avail_in == 0) {
				if (s->in_eof)
					s->done = true;
				continue;
			}
			if (s->padding) {
				snprintf(s->fail, sizeof(s->fail), "data "
				    "after the end of the gzip stream and its "
				    "NUL padding, at byte %" PRIu64,
				    s->raw - s->z.avail_in);
				return -1;
			}
			if (inflateReset(&s->z) != Z_OK)
				return gz_failed(s, Z_STREAM_ERROR);
			s->between = false;
			s->members++;
		}
		if (s->z.avail_in == 0 && s->in_eof) {
			snprintf(s->fail, sizeof(s->fail), "gzip stream is "
			    "truncated: the file ends at byte %" PRIu64 " "
			    "inside member %u, before its CRC-32 and length",
			    s->raw, s->members);
			return -1;
		}
		s->z.next_out = s->out;
		s->z.avail_out = BUNDLE_BLOCK;
		rc = inflate(&s->z, Z_NO_FLUSH);
		got = BUNDLE_BLOCK - s->z.avail_out;
		if (rc == Z_STREAM_END)
			s->between = true;	/* its CRC and length held */
		else if (rc != Z_OK && rc != Z_BUF_ERROR)
			return gz_failed(s, rc);
		if (got > 0) {
			if (src_count(s, got) == -1)
				return -1;
			*buf = s->out;
			return (ssize_t)got;
		}
	}
}

/* The same for a stream unpacked by libarchive. */
static ssize_t
filter_next(struct src *s, const void **buf)
{
	la_int64_t off;
	size_t len;
	int rc;

	for (;;) {
		if (s->done)
			return 0;
		rc = archive_read_data_block(s->outer, buf, &len, &off);
		if (rc == ARCHIVE_EOF) {
			s->done = true;
			return 0;
		}
		if (rc != ARCHIVE_OK) {
			snprintf(s->fail, sizeof(s->fail), "%s stream fails "
			    "its checks: %s", s->comp,
			    archive_error_string(s->outer) != NULL ?
			    archive_error_string(s->outer) :
			    "unreadable (truncated?)");
			return -1;
		}
		if (len == 0)
			continue;
		if (src_count(s, len) == -1)
			return -1;
		return (ssize_t)len;
	}
}

static ssize_t
src_next(struct src *s, const void **buf)
{
	return s->kind == SRC_GZIP ? gz_next(s, buf) : filter_next(s, buf);
}

/* libarchive's read callback for an unpacked stream. */
static la_ssize_t
src_read(struct archive *a, void *arg, const void **buf)
{
	struct src *s = arg;
	ssize_t n;

	/* Keep the last TAR_BLOCK bytes before the new block. */
	if (s->curlen >= TAR_BLOCK) {
		memcpy(s->tail, s->cur + s->curlen - TAR_BLOCK, TAR_BLOCK);
		s->taillen = TAR_BLOCK;
	} else if (s->curlen > 0) {
		if (s->taillen + s->curlen > TAR_BLOCK) {
			memmove(s->tail, s->tail + s->taillen + s->curlen -
			    TAR_BLOCK, TAR_BLOCK - s->curlen);
			s->taillen = TAR_BLOCK - s->curlen;
		}
		memcpy(s->tail + s->taillen, s->cur, s->curlen);
		s->taillen += s->curlen;
	}
	s->cur = NULL;
	s->curlen = 0;
	if ((n = src_next(s, buf)) == -1)
		archive_set_error(a, EIO, "%s", s->fail);
	else if (n > 0) {
		s->cur = *buf;
		s->curlen = (size_t)n;
	}
	return n;
}

/*
 * Did a tar archive end with its end-of-archive block? libarchive takes
 * a tar that stops at a block boundary after an entry as complete; that
 * is how an upload cut short between two entries looks. at: where the
 * tar reader stopped, in the (unpacked) stream. 1 yes, 0 no, -1 error.
 */
static int
tar_ended(struct src *s, int64_t at)
{
	unsigned char b[TAR_BLOCK];
	const unsigned char *p;
	size_t i, incur;
	ssize_t n;

	if (at < TAR_BLOCK)
		return 0;
	if (s->kind == SRC_PLAIN) {
		do
			n = pread(s->fd, b, TAR_BLOCK, s->start + at -
			    TAR_BLOCK);
		while (n == -1 && errno == EINTR);
		if (n == -1)
			return src_syserr(s, "read");
		if (n != TAR_BLOCK)
			return 0;
	} else {
		/* The block before at: in cur, or partly in tail. */
		if ((uint64_t)at > s->unpacked ||
		    s->unpacked - (uint64_t)at > s->curlen)
			return 1;	/* not where we can see: trust it */
		incur = s->curlen - (size_t)(s->unpacked - (uint64_t)at);
		if (incur >= TAR_BLOCK)
			memcpy(b, s->cur + incur - TAR_BLOCK, TAR_BLOCK);
		else {
			if (s->taillen < TAR_BLOCK - incur)
				return 0;
			memcpy(b, s->tail + s->taillen - (TAR_BLOCK - incur),
			    TAR_BLOCK - incur);
			if (incur > 0)
				memcpy(b + TAR_BLOCK - incur, s->cur, incur);
		}
	}
	p = b;
	for (i = 0; i < TAR_BLOCK; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/*
 * After the archive's end: unpack the rest of the stream, so that its
 * checks are made, and look at what follows it in the file: NUL bytes
 * or nothing.
 */
static int
src_finish(struct src *s)
{
	unsigned char b[4096];
	const void *p;
	la_int64_t used;
	ssize_t n, i;
	off_t at;

	if (s->kind == SRC_PLAIN)
		return 0;
	while ((n = src_next(s, &p)) > 0)
		continue;
	if (n == -1)
		return -1;
	if (s->kind == SRC_GZIP)
		return 0;	/* gz_next() read the file to its end */
	used = archive_filter_bytes(s->outer,
	    archive_filter_count(s->outer) - 1);
	if (used < 0)
		return 0;
	at = s->start + (off_t)used;
	for (;;) {
		n = pread(s->fd, b, sizeof(b), at);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return src_syserr(s, "read");
		if (n == 0)
			return 0;
		for (i = 0; i < n; i++)
			if (b[i] != 0) {
				snprintf(s->fail, sizeof(s->fail), "data "
				    "after the end of the %s stream, at byte "
				    "%" PRId64, s->comp,
				    (int64_t)(at - s->start + i));
				return -1;
			}
		at += n;
	}
}

/* The compression that the first bytes announce, to name it in reasons. */
static const char *
magic_name(const unsigned char *m, size_t len)
{
	static const struct {
		const char	*name;
		size_t		 len;
		const char	*magic;
	} tab[] = {
		{ "xz", 6, "\xfd" "7zXZ\0" },
		{ "bzip2", 3, "BZh" },
		{ "zstd", 4, "\x28\xb5\x2f\xfd" },
		{ "lz4", 4, "\x04\x22\x4d\x18" },
		{ "lz4", 4, "\x02\x21\x4c\x18" },
		{ "lzip", 4, "LZIP" },
		{ "compress (.Z)", 2, "\x1f\x9d" },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (len >= tab[i].len && memcmp(m, tab[i].magic, tab[i].len) ==
		    0)
			return tab[i].name;
	return "compressed";
}

/*
 * Find the compression around the bundle and set up its unpacking.
 * 0, or -1: refused (s->fail says why; s->syserr: not the data's fault).
 */
static int
src_open(struct src *s)
{
	struct archive_entry *e;
	unsigned char m[6];
	ssize_t n;
	int rc, count;

	do
		n = pread(s->fd, m, sizeof(m), s->start);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return src_syserr(s, "read");
	if (n >= 3 && m[0] == 0x1f && m[1] == 0x8b && m[2] == 8) {
		s->kind = SRC_GZIP;
		snprintf(s->comp, sizeof(s->comp), "gzip");
		if ((s->in = malloc(BUNDLE_BLOCK)) == NULL ||
		    (s->out = malloc(BUNDLE_BLOCK)) == NULL)
			return src_syserr(s, "malloc");
		/* 16: a gzip wrapper, whose CRC-32 and length zlib checks */
		if (inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK) {
			errno = ENOMEM;
			return src_syserr(s, "inflateInit2");
		}
		s->zinit = true;
		s->members = 1;
		return 0;
	}
	if (n == 0) {
		s->kind = SRC_PLAIN;	/* empty */
		return 0;
	}
	/* Any other compression: ask libarchive, which unpacks it. */
	if ((s->outer = new_reader(RD_FILTERS | RD_RAW)) == NULL) {
		errno = ENOMEM;
		return src_syserr(s, "archive_read_new");
	}
	rc = archive_read_open_fd(s->outer, s->fd, BUNDLE_BLOCK);
	if (rc == ARCHIVE_OK)
		rc = archive_read_next_header(s->outer, &e);
	if (rc == ARCHIVE_EOF)
		rc = ARCHIVE_OK;	/* empty: nothing to unpack */
	if (rc != ARCHIVE_OK) {
		/* "raw" takes anything: a compression failed. */
		snprintf(s->fail, sizeof(s->fail), "its %s stream fails its "
		    "checks: %s", magic_name(m, n > 0 ? (size_t)n : 0),
		    archive_error_string(s->outer) !=
		    NULL ? archive_error_string(s->outer) :
		    "unreadable (truncated?)");
		return -1;
	}
	count = archive_filter_count(s->outer);
	if (count > 1)
		snprintf(s->comp, sizeof(s->comp), "%s",
		    archive_filter_name(s->outer, 0));
	if (count > 2) {
		snprintf(s->fail, sizeof(s->fail), "it is compressed more "
		    "than once (%s inside %s); bundles with one compression "
		    "are read", s->comp, archive_filter_name(s->outer, 1));
		return -1;
	}
	if (count == 2) {
		s->kind = SRC_FILTER;
		return 0;
	}
	archive_read_free(s->outer);
	s->outer = NULL;
	s->kind = SRC_PLAIN;
	if (lseek(s->fd, s->start, SEEK_SET) == -1)
		return src_syserr(s, "lseek");
	return 0;
}

static void
src_close(struct src *s)
{
	if (s->outer != NULL)
		archive_read_free(s->outer);
	if (s->zinit)
		inflateEnd(&s->z);
	free(s->in);
	free(s->out);
}

/* The most an unpacked stream may hold: what an uncompressed bundle may. */
static uint64_t
stream_max(const struct bundle_limits *lim)
{
	uint64_t room;

	if (lim->max_entries > (UINT64_MAX - 2) / BUNDLE_ENTRY_ROOM)
		return UINT64_MAX;
	room = (lim->max_entries + 2) * BUNDLE_ENTRY_ROOM;
	if (lim->max_total_size > UINT64_MAX - room)
		return UINT64_MAX;
	return lim->max_total_size + room;
}

/* Call fn in the caller's locale. */
static int
call_fn(bundle_entry_fn fn, void *arg, const struct bundle_entry *be,
    locale_t caller, struct spool_error *err)
{
	locale_t ours;
	int rc;

	if (caller == (locale_t)0)
		return fn(arg, be, err);
	ours = uselocale(caller);
	rc = fn(arg, be, err);
	uselocale(ours);
	return rc;
}

/* Why an entry could not be read: the stream's failure, or the format's. */
static void
corrupt(char *why, size_t whylen, const struct src *s, struct archive *a,
    const char *where)
{
	const char *m = s->fail[0] != '\0' ? s->fail :
	    archive_error_string(a);

	snprintf(why, whylen, "bundle is corrupt or truncated %s, at byte %"
	    PRId64 "%s: %s", where, archive_filter_bytes(a, -1),
	    s->kind == SRC_PLAIN ? "" : " unpacked", m != NULL ? m :
	    "unreadable");
}

int
bundle_read(int fd, const struct bundle_limits *lim, bundle_entry_fn fn,
    void *arg, uint64_t *nentries, char *why, size_t whylen,
    struct spool_error *err)
{
	struct bundle_entry be;
	struct archive_entry *e;
	struct archive *a = NULL;
	struct src s;
	locale_t utf8, caller = (locale_t)0;
	char name[BUNDLE_NAME_MAX + 1], where[LOG_QLEN + 64];
	char *buf = NULL;
	uint64_t total = 0, n = 0;
	size_t cap = 0, off;
	ssize_t got;
	int rc, ret = -1;

	*nentries = 0;
	name[0] = '\0';
	memset(&s, 0, sizeof(s));
	s.fd = fd;
	s.max = stream_max(lim);
	/* Names in UTF-8 need no conversion, so that none is a warning. */
	utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (utf8 != (locale_t)0)
		caller = uselocale(utf8);
	if ((s.start = lseek(fd, 0, SEEK_CUR)) == -1) {
		spool_seterr(err, "lseek: %s", strerror(errno));
		goto out;
	}
	if (src_open(&s) == -1)
		goto refused;
	if ((a = new_reader(RD_FORMATS)) == NULL) {
		spool_seterr(err, "cannot set up libarchive");
		goto out;
	}
	if (s.kind == SRC_PLAIN)
		rc = archive_read_open_fd(a, fd, BUNDLE_BLOCK);
	else
		rc = archive_read_open(a, &s, NULL, src_read, NULL);
	if (rc != ARCHIVE_OK) {
		if (s.fail[0] != '\0')
			goto refused;
		if (s.kind == SRC_PLAIN && archive_format(a) == 0) {
			ret = 2;
			goto out;
		}
		if (s.kind != SRC_PLAIN && archive_format(a) == 0)
			goto not_archive;
		snprintf(why, whylen, "bundle cannot be read: %s",
		    archive_error_string(a));
		ret = 1;
		goto out;
	}
	for (;;) {
		rc = archive_read_next_header(a, &e);
		if (rc == ARCHIVE_EOF)
			break;
		if (s.fail[0] != '\0')
			goto refused;
		if (n == 0 && rc != ARCHIVE_OK && rc != ARCHIVE_WARN &&
		    !recognised(a, rc)) {
			if (s.kind == SRC_PLAIN) {
				ret = 2;
				goto out;
			}
			goto not_archive;
		}
		if (rc == ARCHIVE_WARN) {
			/* A bad CRC, a skipped damaged header, ... */
			snprintf(why, whylen, "bundle is corrupt at entry %"
			    PRIu64 ", at byte %" PRId64 ": %s (a warning from "
			    "libarchive is a failure)", n + 1,
			    archive_filter_bytes(a, -1),
			    archive_error_string(a) != NULL ?
			    archive_error_string(a) : "unreadable");
			ret = 1;
			goto out;
		}
		if (rc != ARCHIVE_OK) {
			if (n == 0)
				snprintf(where, sizeof(where), "before its "
				    "first entry");
			else
				snprintf(where, sizeof(where), "after entry %"
				    PRIu64 " (%s)", n, LOG_Q(name));
			corrupt(why, whylen, &s, a, where);
			ret = 1;
			goto out;
		}
		entry_name(e, name, sizeof(name));
		if (++n > lim->max_entries) {
			snprintf(why, whylen, "bundle has more than "
			    "max_entries (%" PRIu64 ") entries",
			    lim->max_entries);
			ret = 1;
			goto out;
		}
		memset(&be, 0, sizeof(be));
		be.index = n;
		be.name = name;
		if ((be.skip = skip_kind(e)) != NULL) {
			if (call_fn(fn, arg, &be, caller, err) == -1)
				goto out;
			continue;
		}
		if (archive_entry_size_is_set(e) &&
		    (archive_entry_size(e) < 0 ||
		    (uint64_t)archive_entry_size(e) > lim->max_entry_size)) {
			snprintf(why, whylen, "entry %" PRIu64 " (%s) is %"
			    PRId64 " bytes, more than max_entry_size (%"
			    PRIu64 " bytes)", n, LOG_Q(name),
			    archive_entry_size(e),
			    lim->max_entry_size);
			ret = 1;
			goto out;
		}
		if (archive_entry_size_is_set(e) && total +
		    (uint64_t)archive_entry_size(e) > lim->max_total_size) {
			snprintf(why, whylen, "bundle unpacks to more than "
			    "max_total_size (%" PRIu64 " bytes) at entry %"
			    PRIu64 " (%s)", lim->max_total_size, n,
			    LOG_Q(name));
			ret = 1;
			goto out;
		}
		off = 0;
		for (;;) {
			size_t want;

			if (off == cap) {
				size_t ncap;
				char *nb;

				if (cap > lim->max_entry_size) {
					snprintf(why, whylen, "entry %" PRIu64
					    " (%s) unpacks to more than "
					    "max_entry_size (%" PRIu64
					    " bytes)", n, LOG_Q(name),
					    lim->max_entry_size);
					ret = 1;
					goto out;
				}
				ncap = cap == 0 ? BUNDLE_BLOCK : cap * 2;
				if (ncap > lim->max_entry_size + 1)
					ncap = (size_t)lim->max_entry_size + 1;
				if ((nb = realloc(buf, ncap)) == NULL) {
					spool_seterr(err, "out of memory");
					goto out;
				}
				buf = nb;
				cap = ncap;
			}
			want = cap - off < BUNDLE_BLOCK ? cap - off :
			    BUNDLE_BLOCK;
			got = archive_read_data(a, buf + off, want);
			if (got < 0) {
				/* ARCHIVE_WARN too: a bad zip or 7-Zip CRC */
				snprintf(where, sizeof(where), "in entry %"
				    PRIu64 " (%s)", n, LOG_Q(name));
				corrupt(why, whylen, &s, a, where);
				ret = 1;
				goto out;
			}
			if (got == 0)
				break;
			off += (size_t)got;
			total += (uint64_t)got;
			if (total > lim->max_total_size) {
				snprintf(why, whylen, "bundle unpacks to more "
				    "than max_total_size (%" PRIu64 " bytes) "
				    "at entry %" PRIu64 " (%s)",
				    lim->max_total_size, n, LOG_Q(name));
				ret = 1;
				goto out;
			}
		}
		be.data = buf != NULL ? buf : "";
		be.len = off;
		be.nested = bundle_is_archive_mem(be.data, be.len);
		if (call_fn(fn, arg, &be, caller, err) == -1)
			goto out;
	}
	/* A tar that stops after an entry, without its end, was cut. */
	if (n > 0 && (archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) ==
	    ARCHIVE_FORMAT_TAR) {
		int64_t at = archive_filter_bytes(a, 0);

		if ((rc = tar_ended(&s, at)) == -1)
			goto refused;
		if (rc == 0) {
			snprintf(why, whylen, "bundle is truncated: its tar "
			    "archive stops after entry %" PRIu64 " (%s), at "
			    "byte %" PRId64 "%s, without its end-of-archive "
			    "blocks", n, name, at, s.kind == SRC_PLAIN ? "" :
			    " unpacked");
			ret = 1;
			goto out;
		}
	}
	/* The archive has ended; its compressed stream must too. */
	if (src_finish(&s) == -1) {
		snprintf(where, sizeof(where), "after its last entry (%" PRIu64
		    " read)", n);
		if (s.syserr)
			goto refused;
		corrupt(why, whylen, &s, a, where);
		ret = 1;
		goto out;
	}
	*nentries = n;
	ret = 0;
	goto out;
not_archive:
	snprintf(why, whylen, "bundle is %s-compressed, but what it holds is "
	    "no archive that is read (tar, cpio, zip, 7-Zip, RAR; compressed "
	    "once)", s.comp);
	ret = 1;
	goto out;
refused:
	if (s.syserr) {
		spool_seterr(err, "%s", s.fail);
		ret = -1;
		goto out;
	}
	snprintf(why, whylen, "bundle is corrupt: %s", s.fail);
	ret = 1;
out:
	free(buf);
	if (a != NULL)
		archive_read_free(a);
	src_close(&s);
	if (utf8 != (locale_t)0) {
		uselocale(caller);
		freelocale(utf8);
	}
	return ret;
}
