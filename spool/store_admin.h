/*
 * store_admin.h - the store's statements for the admin's side:
 * reconciliation, spoolctl's listings and figures, purging done/.
 *
 * Lookups return 1 (found, out filled), 0 (not found) or -1 (error, in
 * err). Iterations call fn once per row; fn returns 0 to go on, or -1 to
 * stop: the iteration then returns -1 and leaves err as fn left it.
 * Strings handed to fn live until fn returns, except that fn may take
 * over a struct store_admin_msg whole (copy it, then zero it: the
 * iteration frees what is left). Structs filled by a lookup own their
 * strings, and their _free() function releases them.
 */
#ifndef SPOOL_STORE_ADMIN_H
#define SPOOL_STORE_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "spooldir.h"	/* ST_NSTATES */
#include "store.h"

/* Every column of a message row. Absent values are NULL or 0. */
struct store_admin_msg {
	int64_t		 id;
	int		 state;		/* enum spool_state, -1 if unknown */
	char		*partner;
	char		*orig_name;
	char		*file_name;
	char		*type;
	char		*message_id;
	char		*sender;
	char		*recipient;
	char		*transaction_id;
	bool		 has_seq;	/* sender_seq and receiver_seq set */
	int64_t		 sender_seq;
	int64_t		 receiver_seq;
	bool		 stale;
	bool		 has_sha256;
	uint8_t		 sha256[32];
	int64_t		 size;
	int64_t		 duplicate_of;	/* 0: none */
	int64_t		 attempts;
	int64_t		 next_attempt_at;	/* ms since epoch, 0: none */
	char		*reason;
	int64_t		 received_at;	/* ms since epoch */
	int64_t		 updated_at;
	int64_t		 batch;		/* the bundle it came in, 0: none */
	char		*bundle;	/* that bundle's upload name */
	char		*dialect;	/* DESIGN 15; NULL: native */
	bool		 test;		/* from a test interchange */
	char		*reference;	/* a dialect's transaction, not
					   ordered by (order = none) */
};

void	store_admin_msg_free(struct store_admin_msg *);

/* Which messages store_admin_msg_list() and _count() take. */
struct store_admin_filter {
	int		 state;		/* enum spool_state, or -1: any */
	const char	*partner;	/* NULL: any */
	const char	*transaction_id;	/* NULL: any */
	int64_t		 limit;		/* 0: no limit */
	bool		 by_seq;	/* order by sender_seq, id (else id) */
	/* Any of these states (bit 1 << enum spool_state); 0: any. */
	unsigned	 states;
	const char	*type;		/* NULL: any */
	int64_t		 batch;		/* 0: any */
	int64_t		 received_before;	/* ms since the epoch; 0: any */
	int64_t		 after_id;	/* IDs above it only; 0: any */
};

/* One attempt of a message; outcome and error may be NULL. */
struct store_admin_attempt {
	int64_t		 attempt;
	int64_t		 started_at;
	int64_t		 finished_at;	/* 0: not finished */
	const char	*outcome;	/* ok, temporary, permanent */
	const char	*error;
};

/* What an admin (or spoold, for our own mistakes) did to a message. */
struct store_admin_action {
	const char	*act;		/* hold, release, delete */
	const char	*user;
	const char	*reason;	/* may be NULL */
	int64_t		 at;
};

/* A message's recorded actions, oldest first (none in an old store). */
int	store_admin_actions(struct store *, int64_t msg,
	    int (*fn)(void *, const struct store_admin_action *), void *arg,
	    struct spool_error *);

/* A transaction row. */
struct store_admin_tx {
	int64_t		 next_seq;
	int64_t		 out_seq;
	int64_t		 gap_since;	/* 0: no gap open */
	bool		 gap_alerted;
	int64_t		 created_at;
	int64_t		 updated_at;
};

/* A skipped sequence number. */
struct store_admin_skip {
	int64_t		 seq;
	const char	*reason;
	const char	*user;
	int64_t		 at;
};

/* The figures of spoolctl status beyond the counts per state. */
struct store_admin_status {
	int64_t		 gaps_open;	/* transactions with gap_since */
	int64_t		 oldest_gap_since;	/* 0: none */
	char		*oldest_gap_partner;
	char		*oldest_gap_tx;
	int64_t		 oldest_gap_next_seq;
	/* The message with that number when it arrived (and is not done,
	 * rejected or a duplicate): it blocks the transaction; 0/NULL: the
	 * number has not arrived. */
	int64_t		 oldest_gap_next_id;
	char		*oldest_gap_next_state;
	int64_t		 oldest_deferred_id;	/* 0: none deferred */
	int64_t		 oldest_deferred_received_at;
	int64_t		 oldest_deferred_next_at;	/* 0: not set */
	int64_t		 oldest_deferred_attempts;
	int64_t		 processed_last_minute;	/* done, not duplicates */
	int64_t		 processed_last_hour;
	int64_t		 duplicates_last_minute;
	int64_t		 duplicates_last_hour;
	/* Files kept because archive_command failed on them (DESIGN 18):
	 * how many, the oldest one and why. */
	int64_t		 archive_failed;
	int64_t		 archive_failed_id;
	char		*archive_failed_error;
	/* The same for bundle files rejected whole: how many, the oldest
	 * batch and why. */
	int64_t		 archive_failed_bundles;
	int64_t		 archive_failed_batch;
	char		*archive_failed_bundle_error;
	bool		 daemon_known;	/* the daemon table has a row */
	int64_t		 daemon_pid;
	int64_t		 daemon_started_at;
	char		*daemon_version;
};

void	store_admin_status_free(struct store_admin_status *);

/*
 * A read transaction, so that every query of one spoolctl command sees
 * the same snapshot. Never held across anything slow: WAL readers do not
 * block spoold, but a long one holds back checkpoints.
 */
int	store_admin_read_begin(struct store *, struct spool_error *);
void	store_admin_read_end(struct store *);

/* id, state and file name of every message (not those in done/ unless
 * include_done), in ID order. */
int	store_admin_rows(struct store *, bool include_done,
	    int (*fn)(void *, int64_t id, int state, const char *file_name),
	    void *arg, struct spool_error *);

int	store_admin_msg_get(struct store *, int64_t id,
	    struct store_admin_msg *, struct spool_error *);
int	store_admin_msg_list(struct store *, const struct store_admin_filter *,
	    int (*fn)(void *, struct store_admin_msg *), void *arg,
	    struct spool_error *);
/* How many messages the filter takes, ignoring its limit. */
int	store_admin_msg_count(struct store *, const struct store_admin_filter *,
	    int64_t *n, struct spool_error *);

/* A message's attempts, in order. */
int	store_admin_attempts(struct store *, int64_t msg,
	    int (*fn)(void *, const struct store_admin_attempt *), void *arg,
	    struct spool_error *);

int	store_admin_tx_get(struct store *, const char *partner, const char *tx,
	    struct store_admin_tx *, struct spool_error *);
/* Live messages of a transaction in parked/ (not duplicates). */
int	store_admin_tx_parked(struct store *, const char *partner,
	    const char *tx, int64_t *n, struct spool_error *);
/* A transaction's skipped numbers, in order. */
int	store_admin_skips(struct store *, const char *partner, const char *tx,
	    int (*fn)(void *, const struct store_admin_skip *), void *arg,
	    struct spool_error *);

/* An outbound message of a transaction. */
struct store_admin_outbound {
	int64_t		 id;
	const char	*type;
	const char	*file_name;
	int64_t		 sender_seq;
	int64_t		 receiver_seq;
	int64_t		 cause;		/* 0: none */
	int64_t		 created_at;
	int64_t		 written_at;	/* 0: not written yet */
};

/*
 * A transaction's outbound messages, in order. A store without the table
 * (not migrated yet) has none. (Its order revisions are the orders
 * handler's to show: order_history(), handlers/order_store.h.)
 */
int	store_admin_outbound(struct store *, const char *partner,
	    const char *tx, int (*fn)(void *,
	    const struct store_admin_outbound *), void *arg,
	    struct spool_error *);

/* Fill st; now is the current time in ms since the epoch. */
int	store_admin_status(struct store *, int64_t now,
	    struct store_admin_status *, struct spool_error *);

/*
 * Purging done/. Candidates are messages in state done whose updated_at
 * is before `before', with an ID below below_id, newest ID first (a
 * duplicate always has a higher ID than the message it duplicates, so it
 * goes first), at most limit of them; with archived_only, only those
 * whose file archive_command has archived (DESIGN 18).
 *
 * store_admin_purge_row() deletes one message's attempts and its row
 * inside a savepoint of the caller's write transaction. It returns 1
 * when they are deleted, with the savepoint still open: the caller
 * removes the file, then calls store_admin_purge_done() to keep the
 * deletion (the file is gone) or undo it (the file could not be
 * removed). A row that another row still refers to (the books: ledger,
 * orders, outbound; a foreign key) is not deleted but slimmed: it stays,
 * marked purged (purged_at), its keys and digest kept so a redelivery is
 * still a duplicate, and 1 is returned all the same, for its file goes.
 * It returns 0 when there is nothing left to purge, -1 on an error; the
 * savepoint is closed then.
 */
struct store_admin_purge;

int	store_admin_purge_candidates(struct store *, int64_t before,
	    int64_t below_id, int64_t limit, bool archived_only,
	    int (*fn)(void *, struct store_admin_msg *), void *arg,
	    struct spool_error *);
struct store_admin_purge *store_admin_purge_open(struct store *,
	    struct spool_error *);
int	store_admin_purge_row(struct store_admin_purge *, int64_t id,
	    struct spool_error *);
int	store_admin_purge_done(struct store_admin_purge *, bool keep_deletion,
	    struct spool_error *);
void	store_admin_purge_close(struct store_admin_purge *);

/*
 * A done, rejected or failed message whose file an admin removed by hand
 * (spoolctl check --repair): mark it purged (purged_at), its row kept
 * with its keys, and append note (who, when) to its reason; its state
 * does not change (a failed one still blocks its transaction until it is
 * retried or skipped). Its own write transaction. 1 settled, 0 nothing
 * to do, -1 error.
 */
int	store_admin_settle_removed(struct store *, int64_t id,
	    const char *note, struct spool_error *);

/*
 * The same for a batch whose bundle file (in done/ or rejected/) an
 * admin removed by hand: the batch forgets the file's name, so that
 * retention and archive_command no longer look for it, and note (who,
 * when) is appended to its reason. Its own write transaction. 1
 * settled, 0 nothing to do (no such batch, or it names no file or
 * another one), -1 error.
 */
int	store_admin_settle_bundle_removed(struct store *, int64_t id,
	    const char *file_name, const char *note, struct spool_error *);

/* fn(arg, id, state, file_name) for each batch that names a bundle file
 * (done/ or rejected/), in ID order; fn returns non-zero to stop. */
int	store_admin_batch_rows(struct store *,
	    int (*fn)(void *, int64_t, int, const char *), void *arg,
	    struct spool_error *);

/*
 * spoolctl delete (lever_delete()), inside the caller's write
 * transaction: message id goes (its attempts with it), leaving a
 * tombstone (fate "deleted") unless it was rejected at acceptance; a row
 * that another row still names (the books) stays instead, settled as
 * done and purged, with note as its reason. 0 or -1.
 */
int	store_admin_delete(struct store *, int64_t id, const char *note,
	    struct spool_error *);

/* Was the last error of this store a busy or locked database? */
bool	store_admin_busy(struct store *);

/*
 * A bundle's entries by the state of the message each became (duplicates
 * included; entries that became no message are not counted), for
 * spoolctl batch and batches.
 */
struct store_admin_batch_row {
	int64_t		 id;
	char		*partner;	/* owned by store_admin_batches() */
	char		*orig_name;
	int		 state;		/* the bundle file's: done or rejected */
	int64_t		 entries;
	int64_t		 received_at;
	int64_t		 counts[ST_NSTATES];	/* messages per state */
};

/* counts[ST_NSTATES] of batch's messages. */
int	store_admin_batch_counts(struct store *, int64_t batch,
	    int64_t *counts, struct spool_error *);
/* Batches, newest first, at most limit (0: all); *total: how many. */
int	store_admin_batches(struct store *, int64_t limit,
	    int (*fn)(void *, const struct store_admin_batch_row *), void *arg,
	    int64_t *total, struct spool_error *);

#endif
