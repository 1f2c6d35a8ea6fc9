/*
 * accept.h - take files out of incoming/: read, check, record, move.
 */
#ifndef SPOOL_ACCEPT_H
#define SPOOL_ACCEPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "dialect.h"
#include "error.h"
#include "schema.h"
#include "spooldir.h"
#include "store.h"

struct cycle_ctx;

struct accept_mover;

struct accept_ctx {
	const struct conf	*conf;
	struct schema_set	*schemas;	/* may be NULL: no schemas */
	struct store		*store;
	struct spooldir		*sd;
	const struct dialect_set *dialects;	/* NULL: native only */
	/* Set by the caller of the pipeline (accept_pipe_mover()): a
	 * batch's moves are made by the mover thread; NULL: inline. */
	struct accept_mover	*mover;
};

/*
 * The one pass (accept_apply.c): a ready message whose type in_tx(
 * cycle->arg, type) says is applied inside the store transaction is
 * applied with its acceptance, through cycle's handlers.
 */
struct accept_apply {
	struct cycle_ctx	*cycle;
	bool			(*in_tx)(void *arg, const char *type);
};

/* One file waiting in incoming/. */
struct accept_file {
	int		 dirfd;		/* its directory */
	const char	*partner;	/* NULL: a stray file in incoming/ */
	const char	*name;
};

struct accept_stats {
	unsigned	 ready, parked, duplicate, rejected, restored, vanished;
	unsigned	 bundles;	/* bundle files among the files */
	unsigned	 acks;		/* acknowledgments recorded */
	/* Applied by the one pass (accept_apply.c), by outcome. */
	unsigned	 done, deferred, failed;
	/* Bundles left in incoming/ for lack of space or an I/O error:
	 * their entries' files are not all written (retry
	 * accept_bundles_restore()). */
	unsigned	 unfinished;
	/* EDIFACT or X12 uploads split into one file per interchange
	 * (accept_split.c): scan incoming/ again for the parts. */
	unsigned	 split;
	/* Bytes of EDI bundles tokenized in pass 1, kept for pass 2
	 * (accept_bundle.c): bounded. */
	size_t		 edi_held;
};

/*
 * Accept n files in one store transaction (group commit), then move each
 * out of incoming/ into the directory of its state and fsync the
 * directories touched. Returns 0, or -1 when the store could not record
 * the batch: then nothing was moved and every file is still in incoming/.
 */
int	accept_files(struct accept_ctx *, const struct accept_file *, size_t n,
	    struct accept_stats *, struct spool_error *);

/*
 * accept_files() with the one pass: each ready message routed to a
 * handler that works inside the transaction is applied in the batch's
 * transaction, and its upload renamed once, from incoming/ into done/
 * (deferred/, failed/, hold/), after COMMIT (accept_apply.c). apply NULL:
 * accept_files().
 */
int	accept_files_apply(struct accept_ctx *, const struct accept_apply *,
	    const struct accept_file *, size_t n, struct accept_stats *,
	    struct spool_error *);

/*
 * A recorded message whose file is missing from its state directory:
 * if its upload is still in incoming/<partner>/ under its original name,
 * with the recorded content, move it where the store says (a crash came
 * between COMMIT and the move). A bundle entry's file is written again
 * from its bundle, if that is still in incoming/ (accept_bundle.c).
 * 1 restored, 0 nothing to do, -1 error.
 */
int	accept_restore(struct accept_ctx *, int64_t id, struct spool_error *);

/*
 * At start-up, and on a timer after a write failure: finish every bundle
 * whose batch is recorded but whose file is still in incoming/ (a crash
 * came after COMMIT, or the disk was full): write its entries' files
 * that are missing or wrong, then move it. Returns the number of bundles
 * left unfinished for lack of space or an I/O error (>= 0), or -1. With
 * retrying, such a failure is logged at debug level only (it was logged
 * when it first happened).
 */
int	accept_bundles_restore(struct accept_ctx *, bool retrying,
	    struct spool_error *);

/*
 * The .reason sidecars a full disk kept back (struct spooldir's owed,
 * noted by the cycle for failed/ and by acceptance for rejected/): write
 * each, then move its file where the store says (from its old state
 * directory, or from incoming/). Returns how many are still owed (>= 0),
 * or -1.
 */
int	accept_settle_owed(struct accept_ctx *, struct spool_error *);

/*
 * At start-up: the latest `limit' done rows of single files (the one
 * pass's; done/ is not scanned) whose file is not in done/: a crash came
 * between their COMMIT and their rename. found() is called with each ID
 * (for accept_restore(), else reconcile_settle_lost()). Returns how many,
 * or -1.
 */
int	accept_unrenamed(struct accept_ctx *, size_t limit,
	    void (*found)(void *arg, int64_t id), void *arg,
	    struct spool_error *);

/*
 * Acceptance as a pipeline over the cores (accept_pipe.c): nthreads
 * worker threads prepare (read, hash, parse, validate) the files of the
 * batches submitted, while the calling thread, the store's only writer,
 * records them batch by batch in the order submitted, with
 * accept_files_apply()'s semantics. The pipe copies the file list; ctx
 * and everything it points to must stay unchanged until the batch is
 * recorded or dropped. accept_pipe_record() of a batch that fails
 * leaves it in the pipe: accept_pipe_drop() then forgets every batch not
 * recorded, first giving their files to back() (when not NULL) oldest
 * batch last, so that putting each call's files in front of a list
 * keeps their order. Nothing here is durable: files dropped are still
 * in incoming/.
 */
struct accept_pipe;
/* Threads that parse, the store thread's included: configured ([processing]
 * parse_threads), or 0 for one per online core (at most 4). */
unsigned accept_parse_threads(unsigned configured);
struct accept_pipe *accept_pipe_new(unsigned nthreads, struct spool_error *);
void	accept_pipe_free(struct accept_pipe *);
unsigned accept_pipe_threads(const struct accept_pipe *);
int	accept_pipe_submit(struct accept_pipe *, struct accept_ctx *,
	    const struct accept_file *, size_t n, struct spool_error *);
/* Batches submitted and not yet recorded. */
size_t	accept_pipe_batches(const struct accept_pipe *);
/* Record the oldest batch; *nfiles its number of files. 0 or -1. */
int	accept_pipe_record(struct accept_pipe *, const struct accept_apply *,
	    size_t *nfiles, struct accept_stats *, struct spool_error *);
void	accept_pipe_drop(struct accept_pipe *, void (*back)(void *arg,
	    const struct accept_file *, size_t n), void *arg);
/*
 * The pipe's mover (accept_move.c): put in accept_ctx's mover, a
 * recorded batch's files are moved on a thread of their own while the
 * next batch is recorded. accept_mover_wait() before anything else
 * looks at incoming/ or the state directories (a scan, the cycle, a
 * reload, the exit).
 */
struct accept_mover *accept_pipe_mover(struct accept_pipe *);
void	accept_mover_wait(struct accept_mover *);

/* Is this incoming name an upload in progress (DESIGN 12)? */
int	accept_name_skipped(const char *name);

#endif
