/*
 * bundle_int.h - what bundle.c (the archive) and bundle_stream.c (its
 * compressed stream) share; not for other modules.
 *
 * The caller of the stream zeroes a struct bundle_stream, sets fd, start
 * (the bundle's first byte in fd) and max (bundle_stream_max()), calls
 * bundle_stream_open(), and whatever happened, bundle_stream_close().
 * Every function that fails leaves the reason in fail; syserr says that
 * the system failed, not the partner's data.
 */
#ifndef SPOOL_BUNDLE_INT_H
#define SPOOL_BUNDLE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <archive.h>
#include <zlib.h>

#include "bundle.h"
#include "error.h"

/* An EDIFACT or X12 file read as a bundle of its messages
   (bundle_edi.c); bundle_read()'s contract. */
int	bundle_edi_read(int fd, const struct bundle_limits *,
	    bundle_entry_fn fn, void *arg, uint64_t *nentries, char *why,
	    size_t whylen, struct spool_error *err);

#define BUNDLE_BLOCK		65536
#define TAR_BLOCK		512

/* What a reader reads (bundle_new_reader()). */
#define RD_FILTERS	0x1	/* the compression filters */
#define RD_FORMATS	0x2	/* the archive formats */
#define RD_RAW		0x4	/* any stream, as one entry */

/* Where the archive's bytes come from. */
enum bundle_stream_kind {
	BUNDLE_STREAM_PLAIN,	/* the file itself: not compressed */
	BUNDLE_STREAM_GZIP,	/* gzip, inflated here by zlib */
	BUNDLE_STREAM_FILTER	/* another compression, libarchive unpacks */
};

struct bundle_stream {
	enum bundle_stream_kind kind;
	int		 fd;
	off_t		 start;		/* the bundle's first byte in fd */
	char		 comp[32];	/* the compression's name */
	struct archive	*outer;		/* _FILTER: the unpacking reader */
	z_stream	 z;		/* _GZIP */
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

/*
 * A libarchive reader for what (RD_*), with only the filters libarchive
 * implements itself (bundle.c); NULL: out of memory.
 */
struct archive	*bundle_new_reader(int what);

/*
 * Find the compression around the bundle and set up its unpacking.
 * 0, or -1: refused (s->fail says why; s->syserr: not the data's fault).
 */
int		 bundle_stream_open(struct bundle_stream *s);

/* libarchive's read callback for an unpacked stream (arg: the stream). */
la_ssize_t	 bundle_stream_read(struct archive *a, void *arg,
		    const void **buf);

/*
 * Did a tar archive end with its end-of-archive block? at: where the
 * tar reader stopped, in the (unpacked) stream. 1 yes, 0 no, -1 error.
 */
int		 bundle_stream_tar_ended(struct bundle_stream *s, int64_t at);

/*
 * After the archive's end: unpack the rest of the stream, so that its
 * checks are made, and check that only NUL bytes or nothing follow it.
 * 0, or -1 (s->fail).
 */
int		 bundle_stream_finish(struct bundle_stream *s);

/* Free what bundle_stream_open() set up; s may be partly set up. */
void		 bundle_stream_close(struct bundle_stream *s);

/* The most an unpacked stream may hold: what an uncompressed bundle may. */
uint64_t	 bundle_stream_max(const struct bundle_limits *lim);

#endif
