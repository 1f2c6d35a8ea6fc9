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

#endif
