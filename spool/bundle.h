/*
 * bundle.h - read tar/zip/... bundles (DESIGN 9) with libarchive, within
 * limits, handing each entry to a callback.
 */
#ifndef SPOOL_BUNDLE_H
#define SPOOL_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct bundle_limits {
	uint64_t	 max_entries;	/* entries of any kind */
	uint64_t	 max_entry_size;	/* unpacked, one entry */
	uint64_t	 max_total_size;	/* unpacked, all entries */
};

struct _xmlDict;	/* libxml2's xmlDict */
struct edi_interchange;	/* edi.h */

/* One entry, as handed to the callback; valid until it returns. */
struct bundle_entry {
	uint64_t	 index;		/* position in the archive, from 1 */
	const char	*name;		/* as the archive says: data, never a
					 * path; "" if it has none */
	const char	*skip;		/* not a regular file: what it is
					 * ("a symbolic link", ...);
					 * else NULL */
	bool		 nested;	/* its content is an archive itself */
	const char	*data;		/* regular entries: the content */
	size_t		 len;
	struct _xmlDict	*dict;		/* EDI entries: names for their
					 * trees (edi_message_tree_pooled),
					 * the reader's; else NULL */
	/* EDI entries: the message as the whole file was read, for
	 * edi_entry_tree_pooled(ic, msg, file, filelen, ...); else NULL. */
	const struct edi_interchange *ic;
	size_t		 msg;
	const char	*file;
	size_t		 filelen;
};

/* 0 go on, -1 stop (err says why). */
typedef int	(*bundle_entry_fn)(void *arg, const struct bundle_entry *,
		    struct spool_error *);

/*
 * Does buf (the start of a file) look like XML text: after an optional
 * byte-order mark and white space, a '<'? Such a file is a message and
 * is never handed to libarchive.
 */
bool	bundle_looks_like_xml(const void *buf, size_t len);

/* Is buf (a whole entry) an archive or compressed data libarchive reads? */
bool	bundle_is_archive_mem(const void *buf, size_t len);

/*
 * Read the archive in fd (from its current offset) entry by entry and
 * call fn for each. Memory: one buffer of at most max_entry_size + 1
 * bytes, reused. Reading stops as soon as a limit is crossed.
 *
 * Returns 0: a sound archive, read to its real end (*nentries entries):
 *    its compressed stream unpacked to its end and every check of the
 *    compression and the format held (bundle.c says which there are).
 * 1: refused whole (corrupt, truncated, a check failed, over a limit);
 *    why names the check, entry or offset. fn may have been called for
 *    any of its entries, even all of them (the checks at the end of a
 *    stream come after its last entry): the caller keeps no entry
 *    unless 0 is returned.
 * 2: not an archive at all (nothing called; the caller treats the file
 *    as a single message).
 * -1: a system error or fn said stop; err says why.
 */
int	bundle_read(int fd, const struct bundle_limits *, bundle_entry_fn fn,
	    void *arg, uint64_t *nentries, char *why, size_t whylen,
	    struct spool_error *err);

/*
 * An EDIFACT or X12 file read whole and tokenized once (bundle_edi.c),
 * for a caller that goes over its messages twice (pass 1 and pass 2 of
 * accept_bundle.c) or has tokenized it already (accept_split.c).
 *
 * bundle_edi_load(): read fd from its offset; 0 and *out, 1 refused
 * whole (why, as bundle_read() says it), -1 err. bundle_edi_adopt():
 * take buf (malloc'd) and ics, which edi_split_read() made of the whole
 * of buf: 1 and *out when they are what bundle_edi_load() would make
 * (the caller no longer owns them), else 0 and the caller keeps them.
 * bundle_edi_entries(): each message as an entry, bundle_read()'s
 * contract (0, 1, -1). bundle_edi_size(): about the memory it holds.
 */
struct bundle_edi;
int	bundle_edi_load(int fd, const struct bundle_limits *,
	    struct bundle_edi **out, char *why, size_t whylen,
	    struct spool_error *err);
int	bundle_edi_adopt(const struct bundle_limits *, char *buf, size_t len,
	    struct edi_interchange *ics, struct bundle_edi **out);
int	bundle_edi_entries(const struct bundle_edi *,
	    const struct bundle_limits *, bundle_entry_fn fn, void *arg,
	    uint64_t *nentries, char *why, size_t whylen,
	    struct spool_error *err);
size_t	bundle_edi_size(const struct bundle_edi *);
const char *bundle_edi_data(const struct bundle_edi *, size_t *len);
/*
 * The same entries one at a time, for a caller that hands them out to
 * several threads (accept_ahead.c). bundle_edi_next() moves pos (zeroed:
 * before the first) to the next message: 1, 0 none is left (pos->index
 * is then the number of entries), 2 it would be one more than
 * max_entries (why says so: the file is refused whole). Only pos
 * changes, so threads may share the bundle_edi. bundle_edi_entry()
 * makes the entry at pos into be, as bundle_edi_entries() hands it to
 * its callback: its bytes in buf (grown as needed; free() buf->p), its
 * name in name, dict its be->dict. 0, or -1 out of memory.
 */
struct bundle_edi_pos {
	const struct edi_interchange *ic;
	size_t		 icn;		/* ic's number, from 1 */
	size_t		 msg;		/* its message, from 0 */
	uint64_t	 index;		/* the entry's, from 1 */
};
struct bundle_edi_buf {
	char		*p;
	size_t		 len, cap;
};
int	bundle_edi_next(const struct bundle_edi *,
	    const struct bundle_limits *, struct bundle_edi_pos *, char *why,
	    size_t whylen);
int	bundle_edi_entry(const struct bundle_edi *,
	    const struct bundle_edi_pos *, struct bundle_edi_buf *,
	    struct _xmlDict *dict, char *name, size_t namelen,
	    struct bundle_entry *be);
void	bundle_edi_free(struct bundle_edi *);

#endif
