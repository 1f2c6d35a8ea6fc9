/*
 * lever.h - spoolctl's levers on messages: retry and skip (lever.c).
 *
 * Each runs in a write transaction of its own on the cycle's context
 * (struct cycle_ctx: conf, store, spool directories); the files move
 * after COMMIT. 0, or -1 with err filled.
 */
#ifndef SPOOL_LEVER_H
#define SPOOL_LEVER_H

#include <stdbool.h>
#include <stdint.h>

#include "cycle.h"

/*
 * spoolctl retry: failed and deferred messages (one by id, or those of
 * one transaction; with id 0, partner NULL and failed_only, every failed
 * one) go back to queue/ for an immediate attempt, with a fresh set of
 * max_attempts; their earlier attempts stay recorded. Messages with an
 * exec call running are left alone. *count says how many moved.
 */
int	lever_retry(struct cycle_ctx *, int64_t id, const char *partner,
	    const char *tx, bool failed_only, int64_t *count,
	    struct spool_error *);

/*
 * spoolctl skip: declare sequence number seq of a transaction done
 * without applying it, recording who and why. Only the number the
 * transaction waits for can be skipped; a message holding it (failed,
 * deferred or queued) goes to done/ unapplied, and the parked successor
 * is released.
 */
int	lever_skip(struct cycle_ctx *, const char *partner, const char *tx,
	    int64_t seq, const char *user, const char *why,
	    struct spool_error *);

/*
 * spoolctl hold (and spoold itself, for our own mistakes): messages not
 * done yet (queued, parked, deferred or failed; one by id, or those of a
 * transaction) go to hold/ with who and why (recorded in actions, and
 * "held by USER: WHY" as their reason) and, when spoold
 * holds them by itself, cause (store_mark_held()); later numbers of
 * their transaction wait behind them. Messages with an external call
 * running are left alone. *count says how many moved.
 */
int	lever_hold(struct cycle_ctx *, int64_t id, const char *partner,
	    const char *tx, const char *user, const char *why,
	    const char *cause, int64_t *count, struct spool_error *);

/*
 * spoolctl release (and spoold after a SIGHUP that fixed a cause): held
 * messages (one by id, those of a transaction, or with cause set only
 * those held for it) go on in order: to queue/, or to parked/ while an
 * earlier number of their transaction is missing, with a fresh set of
 * attempts; who and why are recorded (actions).
 */
int	lever_release(struct cycle_ctx *, int64_t id, const char *partner,
	    const char *tx, const char *cause, const char *user,
	    const char *why, int64_t *count, struct spool_error *);

/*
 * spoolctl delete: a rejected, failed or held message (no external call
 * running) goes for good: its row, leaving a tombstone so that a
 * redelivery is still a duplicate (store_admin_delete()), then its file
 * and .reason; who and why are recorded (actions). When it holds the
 * number its transaction waits for, that number is skipped with the same
 * who and why and the messages behind it go on. *deleted: 1, or 0 when
 * id is no such message (nothing changed).
 */
int	lever_delete(struct cycle_ctx *, int64_t id, const char *user,
	    const char *why, int *deleted, struct spool_error *);

#endif
