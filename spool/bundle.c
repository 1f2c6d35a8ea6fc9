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
 *   apart from the format and read to its real end, its checks made and
 *   only NUL padding allowed after it (bundle_stream.c says how).
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

#include "bundle.h"
#include "edi.h"
#include "bundle_int.h"
#include "log.h"

#define BUNDLE_NAME_MAX		1024	/* longest entry name kept */

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

struct archive *
bundle_new_reader(int what)
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
	if ((a = bundle_new_reader(RD_FILTERS | RD_FORMATS)) == NULL)
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
corrupt(char *why, size_t whylen, const struct bundle_stream *s,
    struct archive *a, const char *where)
{
	const char *m = s->fail[0] != '\0' ? s->fail :
	    archive_error_string(a);

	snprintf(why, whylen, "bundle is corrupt or truncated %s, at byte %"
	    PRId64 "%s: %s", where, archive_filter_bytes(a, -1),
	    s->kind == BUNDLE_STREAM_PLAIN ? "" : " unpacked", m != NULL ? m :
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
	struct bundle_stream s;
	locale_t utf8, caller = (locale_t)0;
	char name[BUNDLE_NAME_MAX + 1], where[LOG_QLEN + 64];
	char *buf = NULL, head[512];
	uint64_t total = 0, n = 0;
	size_t cap = 0, off;
	ssize_t got;
	int rc, ret = -1;

	*nentries = 0;
	name[0] = '\0';
	memset(&s, 0, sizeof(s));
	s.fd = fd;
	s.max = bundle_stream_max(lim);
	/* Names in UTF-8 need no conversion, so that none is a warning. */
	utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (utf8 != (locale_t)0)
		caller = uselocale(utf8);
	if ((s.start = lseek(fd, 0, SEEK_CUR)) == -1) {
		spool_seterr(err, "lseek: %s", strerror(errno));
		goto out;
	}
	/* EDIFACT or X12: an interchange, split into its messages. */
	do
		got = pread(fd, head, sizeof(head), s.start);
	while (got == -1 && errno == EINTR);
	if (got > 0 && edi_detect(head, (size_t)got) != EDI_NONE) {
		ret = bundle_edi_read(fd, lim, fn, arg, nentries, why, whylen,
		    err);
		goto out;
	}
	if (bundle_stream_open(&s) == -1)
		goto refused;
	if ((a = bundle_new_reader(RD_FORMATS)) == NULL) {
		spool_seterr(err, "cannot set up libarchive");
		goto out;
	}
	if (s.kind == BUNDLE_STREAM_PLAIN)
		rc = archive_read_open_fd(a, fd, BUNDLE_BLOCK);
	else
		rc = archive_read_open(a, &s, NULL, bundle_stream_read,
		    NULL);
	if (rc != ARCHIVE_OK) {
		if (s.fail[0] != '\0')
			goto refused;
		if (s.kind == BUNDLE_STREAM_PLAIN && archive_format(a) == 0) {
			ret = 2;
			goto out;
		}
		if (s.kind != BUNDLE_STREAM_PLAIN && archive_format(a) == 0)
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
			if (s.kind == BUNDLE_STREAM_PLAIN) {
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

		if ((rc = bundle_stream_tar_ended(&s, at)) == -1)
			goto refused;
		if (rc == 0) {
			snprintf(why, whylen, "bundle is truncated: its tar "
			    "archive stops after entry %" PRIu64 " (%s), at "
			    "byte %" PRId64 "%s, without its end-of-archive "
			    "blocks", n, name, at,
			    s.kind == BUNDLE_STREAM_PLAIN ? "" : " unpacked");
			ret = 1;
			goto out;
		}
	}
	/* The archive has ended; its compressed stream must too. */
	if (bundle_stream_finish(&s) == -1) {
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
	bundle_stream_close(&s);
	if (utf8 != (locale_t)0) {
		uselocale(caller);
		freelocale(utf8);
	}
	return ret;
}
