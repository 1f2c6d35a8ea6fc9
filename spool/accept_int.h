/*
 * accept_int.h - what the accept*.c files share; not for other modules.
 */
#ifndef SPOOL_ACCEPT_INT_H
#define SPOOL_ACCEPT_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "accept.h"
#include "digest.h"
#include "message.h"

struct store_work;	/* store_cycle.h */

/* What became of one file (or bundle entry), between COMMIT and the
 * move. */
struct outcome {
	int64_t		 id;
	int		 state;		/* enum spool_state, or -1: leave it */
	bool		 restore;	/* row existed; only move the file */
	bool		 duplicate;
	bool		 bundle;	/* a bundle: see the fields below */
	int		 fd;		/* the bundle, open; or -1 */
	char		*buf;		/* the bytes checked, held until the
					   move; or NULL */
	size_t		 len;
	dev_t		 dev;		/* the upload's inode, as read */
	ino_t		 ino;
	int64_t		 batch;		/* its batch ID */
	struct msg	*parsed;	/* ready: its document, for the one
					   pass (accept_apply.c); or NULL */
	struct store_work *work;	/* ... and its row as the store has
					   it (not read back); or NULL */
	bool		 may_defer;	/* a ready one's row may wait for
					   the one pass (set before
					   accept_record()) */
	bool		 pending;	/* it does: m is its row, not yet
					   written (accept_pass_apply()
					   writes it) */
	struct store_newmsg m;		/* pointing into the preparation
					   and parsed, valid until then */
	struct bundle_edi *edi;		/* an EDI bundle, tokenized for both
					   passes (accept_bundle.c); or
					   NULL */
	bool		 applied;	/* applied by the one pass: state is
					   its outcome, logged there */
	char		 file_name[SPOOLDIR_NAME_MAX + 1];
	char		 reason[SPOOL_ERRLEN];
	char		 logid[1536];	/* partner/tx/seq for log lines */
};

struct _xmlDict;	/* libxml2's xmlDict */
struct bundle_entry;
struct dialect_xctx;

/* Where a message comes from: a file in incoming/, or a bundle entry. */
struct accept_src {
	const char	*partner;	/* NULL: a stray file in incoming/ */
	const char	*orig_name;	/* file name, or entry name (data) */
	const char	*bundle;	/* the bundle's file name, or NULL */
	int64_t		 batch;		/* its batch, or 0 */
	struct _xmlDict	*dict;		/* a bundle's, for EDI trees, or
					   NULL (struct bundle_entry) */
	struct dialect_xctx *xctx;	/* a bundle's XPath context for its
					   entries' keys, or NULL */
	const struct bundle_entry *entry;	/* a bundle's entry, or
					   NULL */
};

/*
 * The checks every message goes through, and its row: parse, sender,
 * schema, sequencer, insert (o->id preset). A message that fails a check
 * is recorded as rejected, with its reason. -1 only on store errors.
 */
int	accept_message(struct accept_ctx *, const struct accept_src *,
	    const char *buf, size_t len, const uint8_t *sha,
	    struct outcome *, struct accept_stats *, struct spool_error *);

/* What accept_read() learnt besides the header. */
struct accept_readinfo {
	const struct dialect	*dialect;	/* NULL: no set loaded */
	bool			 native;
	bool			 test;		/* a test interchange */
	const char		*test_what;	/* "ISA15 = T", ... */
	char			*business_tx;	/* malloc'd, or NULL */
	enum conf_order		 order;		/* the partner's, else the
						   dialect's (DESIGN 16) */
	const char		*after;		/* order = after: the types
						   it waits for, or NULL */
	int64_t			 first_control;	/* [partner] first_control */
	char			 warning[256];	/* the tokenizer's, e.g. lower
						   case in UNOA; "" none */
	bool			 bare;		/* msg.doc has bare segments
						   (a bundle entry's tree for
						   its keys only) */
};

/* The checks of one message that need no store (accept_prep.c). */
struct accept_check {
	bool			 refused;	/* reason says why */
	bool			 hdr;		/* refused: msg.hdr is worth
						   recording */
	struct msg		 msg;
	struct accept_readinfo	 ri;
	char			 reason[SPOOL_ERRLEN];
};

/*
 * Parse buf in its dialect and check it: sender, partner directory,
 * schema (accept_prep.c). 0 passed, 1 refused (k->reason). No store, no
 * log: safe on a worker thread. accept_check_free() k after either.
 */
int	accept_check(struct accept_ctx *, const struct accept_src *,
	    const char *buf, size_t len, struct accept_check *k);
void	accept_check_free(struct accept_check *);
/*
 * Record a checked message (accept.c): sequencer, insert, or its
 * rejection with k->reason. k->msg may be taken for the one pass.
 * -1 only on store errors.
 */
int	accept_record(struct accept_ctx *, const struct accept_src *,
	    size_t len, const uint8_t *sha, struct accept_check *k,
	    struct outcome *, struct accept_stats *, struct spool_error *);
/* Reason text, naming the bundle and entry when src is one. */
void	accept_set_reason(char *reason, size_t len,
	    const struct accept_src *, const char *text);

/* One upload as the store thread finds it, prepared (accept_prep.c). */
enum accept_prep_kind {
	PREP_STRAY,		/* at the top of incoming/ */
	PREP_VANISHED,		/* gone before it was opened */
	PREP_REFUSED,		/* unread or unreadable: chk.reason */
	PREP_UNREADABLE,	/* spoold may not read it: held */
	PREP_ERROR,		/* a system error: chk.reason */
	PREP_SPECIAL,		/* EDI or not XML: fd open, for the store
				   thread (split, bundle) */
	PREP_READ		/* buf, len, sha and chk filled */
};

struct accept_prep {
	enum accept_prep_kind	 kind;
	int			 fd;		/* PREP_SPECIAL, else -1 */
	bool			 edi;		/* PREP_SPECIAL: EDI (split?) */
	bool			 xml;		/* PREP_SPECIAL: XML, else a
						   bundle? */
	struct stat		 st;		/* as opened */
	char			*buf;
	size_t			 len;
	uint8_t			 sha[DIGEST_LEN];
	struct accept_check	 chk;
};

/*
 * Open an upload safely. 0: *fd is open and *st describes it. 1: refused,
 * reason in why. 2: it vanished (nothing to do). 3: spoold may not read
 * it (our side's mistake, DESIGN 18: held), reason in why. -1: system
 * error.
 */
int	accept_open_upload(const struct accept_file *, int *fd, struct stat *,
	    char *why, size_t whylen, struct spool_error *);
/*
 * After COMMIT: move the upload (name in dirfd) to where the store says
 * it is (o). Its name must still hold the inode that was read, with one
 * link; when it does not, the bytes that were checked (o->buf) are
 * written instead. An upload gone with no bytes held is settled as lost
 * in store (which must then not be NULL). Errors are logged (accept.c).
 */
void	accept_move_upload(struct spooldir *, struct store *, int dirfd,
	    const char *name, struct outcome *);

/*
 * The mover (accept_move.c): a thread that makes a committed batch's
 * moves while the store thread records the next batch.
 * accept_mover_give() hands it out's files (taking out and its bytes:
 * the caller must not touch them again) when every outcome is a plain
 * move (accept_mover_can()); accept_mover_wait() returns once every
 * batch given is moved and its directories fsynced.
 */
struct accept_mover *accept_mover_new(struct spool_error *);
void	accept_mover_free(struct accept_mover *);
bool	accept_mover_can(const struct outcome *, size_t n,
	    const struct accept_stats *);
int	accept_mover_give(struct accept_mover *, struct spooldir *,
	    const struct accept_file *, struct outcome *, size_t n);

/* Is the file of a recorded message missing from its state directory?
 * (accept_restore.c) */
bool	accept_file_missing(struct spooldir *, const struct store_msgref *);
/* Everything about f that needs no store; thread-safe. */
void	accept_prepare(struct accept_ctx *, const struct accept_file *,
	    struct accept_prep *);
/* p->buf and p->len read: hash and check them (kind PREP_READ). */
void	accept_prep_check(struct accept_ctx *, const struct accept_file *,
	    struct accept_prep *);
void	accept_prep_free(struct accept_prep *);

/*
 * Where accept_batch() gets its files' preparations: take(arg, i) gives
 * file i's (it may wait for a worker; the record takes over what it
 * holds), put(arg, p) takes it back once recorded, to free what is left
 * (the parsed document among it).
 */
struct accept_source {
	struct accept_prep	*(*take)(void *arg, size_t i);
	void			 (*put)(void *arg, struct accept_prep *);
	void			*arg;
};

/*
 * Record one batch (accept.c): accept_files_apply(), with each file's
 * preparation from src, or made here when src is NULL.
 */
int	accept_batch(struct accept_ctx *, const struct accept_apply *,
	    const struct accept_file *, size_t n,
	    const struct accept_source *src, struct accept_stats *,
	    struct spool_error *);
/*
 * Read buf in the dialect the partner may send that recognises it, and
 * check a dialect's identities (accept_read.c). 0: msg and ri filled;
 * 1: refused, why says why (msg may hold some keys: msg_free() it). The
 * caller frees ri->business_tx.
 */
int	accept_read(struct accept_ctx *, const char *partner, const char *buf,
	    size_t len, const struct accept_src *, struct msg *msg,
	    struct accept_readinfo *ri, char *why, size_t whylen);
/* A bundle entry's whole tree in place of the one with bare segments
 * accept_read() made for its keys (ri->bare), for a schema: 0, or -1
 * and why. */
int	accept_read_whole(const struct accept_src *, struct msg *msg,
	    struct accept_readinfo *ri, char *why, size_t whylen);

/* Record a rejection with o->reason (o->id preset). */
int	accept_reject(struct accept_ctx *, const struct accept_src *,
	    const uint8_t *sha, int64_t size, const struct msg_header *,
	    struct outcome *, struct spool_error *);

/*
 * An EDIFACT or X12 upload of several interchanges: one file each in
 * its partner directory, the upload removed (accept_split.c). 1 split
 * (the caller scans again), 0 taken whole, -1 out of memory or a read
 * error.
 */
int	accept_split(struct accept_ctx *, const struct accept_file *, int fd,
	    struct outcome *, struct spool_error *);

/* Could this file be a bundle, by size? */
bool	accept_bundle_size_ok(struct accept_ctx *, const struct stat *);
/*
 * Read a bundle (fd, from a file of f) inside the caller's transaction:
 * each entry accepted through accept_message(). 0: it was a bundle (o
 * filled, o->fd takes over fd), 2: not an archive, -1 error.
 */
int	accept_bundle(struct accept_ctx *, const struct accept_file *, int fd,
	    const struct stat *, struct outcome *, int64_t *next_id,
	    struct accept_stats *, struct spool_error *);
/*
 * After COMMIT: write the entries' files, then move the bundle. 0 done;
 * 1 left in incoming/ for lack of space or an I/O error (to be finished
 * later: stats->unfinished counts it); -1 left there for another reason
 * (logged).
 */
int	accept_bundle_finish(struct accept_ctx *, const struct accept_file *,
	    struct outcome *, bool retrying, struct accept_stats *);
/*
 * Pass 1 of an EDI file (edi, read by accept_bundle.c) with helper
 * threads checking its entries ahead, and the calling thread too when
 * they are behind (accept_ahead.c): record(arg, be, k, sha) for each,
 * in order, on the calling thread; k is its check (NULL: larger than
 * max_message_size, not checked), sha its SHA-256, and of be only
 * index, name and len are set. 2: no helper thread could be
 * started (nothing called); else bundle_edi_entries()'s 0, 1 (why) or
 * -1 (err; also when record says -1).
 */
struct bundle_edi;
struct bundle_limits;
typedef int	(*accept_checked_fn)(void *arg, const struct bundle_entry *,
		    struct accept_check *k, const uint8_t *sha,
		    struct spool_error *);
int	accept_ahead(struct accept_ctx *, const struct accept_file *,
	    const struct bundle_edi *, const struct bundle_limits *,
	    accept_checked_fn record, void *arg, uint64_t *n, char *why,
	    size_t whylen, struct spool_error *);
/* Let go of what o holds of a bundle (o->edi), if the finish did not. */
void	accept_bundle_release(struct outcome *);
/* A recorded batch whose bundle may still be in incoming/: finish it.
 * 1 done, 0 nothing to do, 2 still unfinished (no space, I/O error),
 * -1 error. */
int	accept_bundle_restore(struct accept_ctx *, int64_t batch,
	    bool retrying, struct spool_error *);

/*
 * Inside the acceptance transaction, after batch (read from fd) is
 * finished with state (ST_DONE or ST_REJECTED): when the file is EDIFACT
 * or X12, record the acknowledgment of each of its interchanges as an
 * outbound row (accept_ack.c); stats->acks counts them. 0, or -1 on
 * store errors.
 */
int	accept_ack(struct accept_ctx *, const char *partner, int fd,
	    int64_t batch, int state, struct accept_stats *,
	    struct spool_error *);

/*
 * The one pass (accept_apply.c): ready messages applied in acceptance's
 * transaction. accept_pass_new() gives *pass NULL when the program wired
 * no handlers in (apply NULL); the others take NULL as nothing to
 * do.
 */
struct accept_pass;
int	accept_pass_new(const struct accept_apply *, struct accept_mover *,
	    size_t nfiles,
	    struct accept_pass **, struct spool_error *);
/* Before COMMIT, right after out[i] is recorded: apply it if it is
 * ready, held and routed to an in-transaction handler. 0 or -1. */
int	accept_pass_apply(struct accept_pass *, struct outcome *out,
	    size_t nout, size_t i, struct spool_error *);
/* After COMMIT, before the moves: each outcome's state becomes where its
 * file goes; logs, .reason sidecars, other files' moves, outbound. */
void	accept_pass_settle(struct accept_pass *, struct outcome *out,
	    size_t n, struct accept_stats *);
void	accept_pass_free(struct accept_pass *);

#endif
