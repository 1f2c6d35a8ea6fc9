/*
 * bundle_stream.c - the compressed stream around a bundle: unpacked apart
 * from the archive format, and verified to its real end (DESIGN 9).
 *
 * libarchive (3.6) alone does not verify a compressed bundle: a tar
 * reader stops at the end-of-archive blocks, so whatever follows them in
 * a compressed stream (the gzip trailer, the xz index and check, the
 * bzip2 stream CRC, the zstd checksum) is never read, and its gzip
 * filter never checks the trailer at all. So:
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
 * - The archive reader (bundle.c) reads the unpacked stream through
 *   bundle_stream_read(), which keeps the block handed on last and the
 *   512 bytes before it, so that a tar's end-of-archive block can be
 *   looked for there (bundle_stream_tar_ended(); in a plain file it is
 *   read back from the file). If libarchive stopped before those, it
 *   cannot be seen and is trusted.
 *
 * Invariants: memory is two blocks of BUNDLE_BLOCK bytes (gzip) or
 * libarchive's own (other filters), however big the stream; the stream
 * counts as sound only once bundle_stream_finish() has returned 0; a
 * failure leaves one sentence in fail, and syserr set when it was the
 * system's (read, malloc), not the partner's data.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include "bundle_int.h"

#define BUNDLE_ENTRY_ROOM	4096	/* headers and padding, per entry */

static int
stream_syserr(struct bundle_stream *s, const char *what)
{
	snprintf(s->fail, sizeof(s->fail), "%s: %s", what, strerror(errno));
	s->syserr = true;
	return -1;
}

/* Count n more unpacked bytes; -1 past the bound. */
static int
stream_count(struct bundle_stream *s, size_t n)
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
gz_fill(struct bundle_stream *s)
{
	ssize_t n;

	if (s->z.avail_in > 0 || s->in_eof)
		return 0;
	do
		n = read(s->fd, s->in, BUNDLE_BLOCK);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return stream_syserr(s, "read");
	if (n == 0)
		s->in_eof = true;
	s->z.next_in = s->in;
	s->z.avail_in = (uInt)n;
	s->raw += (uint64_t)n;
	return 0;
}

static int
gz_failed(struct bundle_stream *s, int rc)
{
	uint64_t at = s->raw - s->z.avail_in;
	const char *m = s->z.msg != NULL ? s->z.msg : "";

	if (rc == Z_MEM_ERROR) {
		errno = ENOMEM;
		return stream_syserr(s, "inflate");
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
gz_next(struct bundle_stream *s, const void **buf)
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
			if (stream_count(s, got) == -1)
				return -1;
			*buf = s->out;
			return (ssize_t)got;
		}
	}
}

/* The same for a stream unpacked by libarchive. */
static ssize_t
filter_next(struct bundle_stream *s, const void **buf)
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
		if (stream_count(s, len) == -1)
			return -1;
		return (ssize_t)len;
	}
}

static ssize_t
stream_next(struct bundle_stream *s, const void **buf)
{
	return s->kind == BUNDLE_STREAM_GZIP ? gz_next(s, buf) :
	    filter_next(s, buf);
}

/* libarchive's read callback for an unpacked stream. */
la_ssize_t
bundle_stream_read(struct archive *a, void *arg, const void **buf)
{
	struct bundle_stream *s = arg;
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
	if ((n = stream_next(s, buf)) == -1)
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
int
bundle_stream_tar_ended(struct bundle_stream *s, int64_t at)
{
	unsigned char b[TAR_BLOCK];
	const unsigned char *p;
	size_t i, incur;
	ssize_t n;

	if (at < TAR_BLOCK)
		return 0;
	if (s->kind == BUNDLE_STREAM_PLAIN) {
		do
			n = pread(s->fd, b, TAR_BLOCK, s->start + at -
			    TAR_BLOCK);
		while (n == -1 && errno == EINTR);
		if (n == -1)
			return stream_syserr(s, "read");
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
int
bundle_stream_finish(struct bundle_stream *s)
{
	unsigned char b[4096];
	const void *p;
	la_int64_t used;
	ssize_t n, i;
	off_t at;

	if (s->kind == BUNDLE_STREAM_PLAIN)
		return 0;
	while ((n = stream_next(s, &p)) > 0)
		continue;
	if (n == -1)
		return -1;
	if (s->kind == BUNDLE_STREAM_GZIP)
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
			return stream_syserr(s, "read");
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
int
bundle_stream_open(struct bundle_stream *s)
{
	struct archive_entry *e;
	unsigned char m[6];
	ssize_t n;
	int rc, count;

	do
		n = pread(s->fd, m, sizeof(m), s->start);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return stream_syserr(s, "read");
	if (n >= 3 && m[0] == 0x1f && m[1] == 0x8b && m[2] == 8) {
		s->kind = BUNDLE_STREAM_GZIP;
		snprintf(s->comp, sizeof(s->comp), "gzip");
		if ((s->in = malloc(BUNDLE_BLOCK)) == NULL ||
		    (s->out = malloc(BUNDLE_BLOCK)) == NULL)
			return stream_syserr(s, "malloc");
		/* 16: a gzip wrapper, whose CRC-32 and length zlib checks */
		if (inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK) {
			errno = ENOMEM;
			return stream_syserr(s, "inflateInit2");
		}
		s->zinit = true;
		s->members = 1;
		return 0;
	}
	if (n == 0) {
		s->kind = BUNDLE_STREAM_PLAIN;	/* empty */
		return 0;
	}
	/* Any other compression: ask libarchive, which unpacks it. */
	if ((s->outer = bundle_new_reader(RD_FILTERS | RD_RAW)) == NULL) {
		errno = ENOMEM;
		return stream_syserr(s, "archive_read_new");
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
		s->kind = BUNDLE_STREAM_FILTER;
		return 0;
	}
	archive_read_free(s->outer);
	s->outer = NULL;
	s->kind = BUNDLE_STREAM_PLAIN;
	if (lseek(s->fd, s->start, SEEK_SET) == -1)
		return stream_syserr(s, "lseek");
	return 0;
}

void
bundle_stream_close(struct bundle_stream *s)
{
	if (s->outer != NULL)
		archive_read_free(s->outer);
	if (s->zinit)
		inflateEnd(&s->z);
	free(s->in);
	free(s->out);
}

/* The most an unpacked stream may hold: what an uncompressed bundle may. */
uint64_t
bundle_stream_max(const struct bundle_limits *lim)
{
	uint64_t room;

	if (lim->max_entries > (UINT64_MAX - 2) / BUNDLE_ENTRY_ROOM)
		return UINT64_MAX;
	room = (lim->max_entries + 2) * BUNDLE_ENTRY_ROOM;
	if (lim->max_total_size > UINT64_MAX - room)
		return UINT64_MAX;
	return lim->max_total_size + room;
}
