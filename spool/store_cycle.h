/*
 * store_cycle.h - the store's statements for the processing cycle.
 */
#ifndef SPOOL_STORE_CYCLE_H
#define SPOOL_STORE_CYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* A message as the cycle needs it; strings owned, store_work_free(). */
/* A transaction's gap as its row says. */
struct store_gap {
	bool	 open;		/* gap_since is set ... */
	int64_t	 since;		/* ... to this */
	bool	 alerted;
};

struct store_work {
	int64_t	 id;
	int	 state;		/* enum spool_state: where its file lies */
	char	*partner;
	char	*type;
	char	*transaction_id;	/* NULL outside transactions */
	int64_t	 sender_seq;
	int64_t	 receiver_seq;
	int	 attempts;	/* attempts made so far */
	int	 retry_base;	/* attempts when an admin last retried it */
	char	*file_name;
	bool	 has_sha256;	/* digest recorded at acceptance */
	uint8_t	 sha256[32];
	char	*hold_cause;	/* held by spoold for this; else NULL */
	char	*dialect;	/* DESIGN 15; NULL: native */
	bool	 test;		/* from a test interchange */
	/* The one pass (accept_apply.c): its transaction's row as read
	 * when it was accepted, still so when it is applied. */
	bool	 tx_known;	/* out_seq and gap are set */
	int64_t	 out_seq;
	struct store_gap gap;
};

void	store_work_free(struct store_work *);

/* Ready messages (queue/, and deferred/ ones due at now), oldest first. */
int	store_ready(struct store *, int64_t now, size_t max,
	    struct store_work **, size_t *n, struct spool_error *);
/*
 * The first parked message after number `after' (the successor when its
 * sender_seq is after + 1; a later one means a gap), if any: 1 found, 0
 * not, -1.
 */
int	store_parked_after(struct store *, const char *partner,
	    const char *tx, int64_t after, struct store_work *,
	    struct spool_error *);

int	store_mark_done(struct store *, int64_t id, struct spool_error *);
int	store_mark_deferred(struct store *, int64_t id, int64_t next_at,
	    const char *reason, struct spool_error *);
int	store_mark_failed(struct store *, int64_t id, const char *reason,
	    struct spool_error *);
int	store_mark_queued(struct store *, int64_t id, struct spool_error *);
int	store_add_attempt(struct store *, int64_t id, int attempt,
	    int64_t started, const char *outcome, const char *error,
	    struct spool_error *);
/* next_seq = seq + 1 where it was seq. */
int	store_tx_advance(struct store *, const char *partner, const char *tx,
	    int64_t seq, struct spool_error *);
/* A gap is open (the next number is missing, later ones parked) or not. */
int	store_tx_set_gap(struct store *, const char *partner, const char *tx,
	    int open, struct spool_error *);
/* The same, the row's gap known (NULL: read it). */
int	store_tx_set_gap_known(struct store *, const char *partner,
	    const char *tx, int open, const struct store_gap *,
	    struct spool_error *);
/* Earliest next_attempt_at of deferred messages: 1 found, 0 none. */
int	store_next_due(struct store *, int64_t *at, struct spool_error *);
/* All attempts' errors of a message, one per line, for a .reason file. */
int	store_attempt_log(struct store *, int64_t id, char *buf, size_t len,
	    struct spool_error *);

/* One message by ID: 1 found, 0 not, -1 error. */
int	store_work_get(struct store *, int64_t id, struct store_work *,
	    struct spool_error *);
/*
 * A message waiting for an external outcome (its handler runs outside):
 * set by the cycle that starts the call, cleared by cycle_complete().
 * store_is_waiting(): 1, 0 (also for no such message), or -1.
 */
int	store_set_waiting(struct store *, int64_t id, bool waiting,
	    struct spool_error *);
int	store_is_waiting(struct store *, int64_t id, struct spool_error *);

/* spoolctl's levers (see lever.h: lever_retry, lever_skip). */
int	store_retry_candidates(struct store *, int64_t id, const char *partner,
	    const char *tx, bool failed_only, struct store_work **, size_t *n,
	    struct spool_error *);
int	store_mark_retried(struct store *, int64_t id, struct spool_error *);
/*
 * hold and release (lever_hold, lever_release): the messages that can be
 * held (queue, parked, deferred, failed; no external call running), one
 * by id or those of a transaction; the held ones, also only those that
 * spoold held for cause ("*": for any cause of its own; NULL: all).
 */
int	store_hold_candidates(struct store *, int64_t id, const char *partner,
	    const char *tx, struct store_work **, size_t *n,
	    struct spool_error *);
int	store_held(struct store *, int64_t id, const char *partner,
	    const char *tx, const char *cause, struct store_work **, size_t *n,
	    struct spool_error *);
/* Held with a reason, and cause when spoold holds it by itself; its
 * attempt count raised to attempts (0: kept). */
int	store_mark_held(struct store *, int64_t id, const char *reason,
	    const char *cause, int attempts, struct spool_error *);
/* Delete a held row (an upload spoold could not read, given back). */
int	store_delete_held(struct store *, int64_t id, struct spool_error *);
/* Record an admin's act on a message (hold, release, delete): who, why. */
int	store_add_action(struct store *, int64_t id, const char *act,
	    const char *user, const char *reason, struct spool_error *);
/* Out of hold/ to to_state (queue or parked), with fresh attempts. */
int	store_mark_released(struct store *, int64_t id, int to_state,
	    struct spool_error *);
/* The live message holding a sequence number: 1, 0, -1. */
int	store_at_seq(struct store *, const char *partner, const char *tx,
	    int64_t seq, struct store_work *, struct spool_error *);
int	store_mark_skipped(struct store *, int64_t id, const char *reason,
	    struct spool_error *);
int	store_add_skip(struct store *, const char *partner, const char *tx,
	    int64_t seq, const char *user, const char *reason,
	    struct spool_error *);

/*
 * Gaps open since before older_than and not reported yet: fn(arg,
 * partner, tx, gap_since, next_seq) for each, then they are marked
 * reported. Returns how many, or -1.
 */
int	store_gaps_alert(struct store *, int64_t older_than,
	    void (*fn)(void *, const char *, const char *, int64_t, int64_t),
	    void *arg, struct spool_error *);
/* The oldest unreported gap's start: 1 (*since set), 0 none, -1. */
int	store_next_gap(struct store *, int64_t *since, struct spool_error *);

int	store_savepoint(struct store *, const char *name, struct spool_error *);
int	store_release(struct store *, const char *name, struct spool_error *);
int	store_rollback_to(struct store *, const char *name,
	    struct spool_error *);

#endif
