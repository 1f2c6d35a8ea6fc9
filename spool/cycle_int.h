/*
 * cycle_int.h - the cycle's insides, shared by cycle.c, lever.c and
 * accept_apply.c only.
 *
 * A struct cycle is the work of one write transaction: the messages it
 * took (items, each with the state its file moves to after COMMIT) and
 * the parked successors it released without room for them (spill, to
 * queue/). Not for the programs: they see cycle.h and lever.h.
 */
#ifndef SPOOL_CYCLE_INT_H
#define SPOOL_CYCLE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cycle.h"
#include "store_cycle.h"

#define REASON_MAX	1024

struct item {
	struct store_work	 w;
	int			 to_state;	/* -1: unchanged */
	bool			 stale;		/* seen by the last call */
	bool			 parked_row;	/* released here: the store
						   still says 'parked' */
	int			 attempt;	/* failed: which, and (deferred) */
	uint64_t		 retry_in;	/* ms to the next; logged after
						   COMMIT by cycle_move_files */
	char			 reason[REASON_MAX];
	char			 cause[64];	/* CYCLE_HOLD's */
	/* Acceptance's one pass (accept_apply.c): */
	const char		*held;		/* its checked bytes, or NULL:
						   read the file */
	size_t			 held_len;
	const struct msg	*held_msg;	/* parsed by acceptance, or
						   NULL: parse held */
	bool			 accepted;	/* file not in its state
						   directory (still in
						   incoming/, or a bundle
						   entry not yet written):
						   acceptance places it */
	bool			 kept;		/* its .reason is owed: the
						   file stays where it is */
	bool			 fresh;		/* its row was written done
						   (cycle_apply_fresh()) */
	size_t			 origin;	/* accepted in this batch: its
						   outcome's index + 1 (the
						   one pass); else 0 */
};

struct cycle {
	struct cycle_ctx	*ctx;
	struct cycle_stats	*stats;
	struct item		*items;		/* the work, at most cap */
	size_t			 n, cap;
	struct store_work	*spill;		/* released, no room: to
						   queue/ */
	size_t			 nspill;
	bool			 take;		/* released ones join the work:
						   only cycle_run() applies
						   what it takes */
	int64_t			 now;
};

/*
 * Sequence number seq of partner's transaction tx is done (processed or
 * skipped): next moves on, and a parked successor released joins the
 * cycle (or its spill). 0 or -1.
 */
int	cycle_advance(struct cycle *, const char *partner, const char *tx,
	    int64_t seq, struct spool_error *);
/* Message id (outside transactions) is done: see seq_release_msg(). */
int	cycle_advance_msg(struct cycle *, const char *partner, int64_t id,
	    struct spool_error *);

/* After COMMIT: every file to the directory of its new state, then one
 * fsync per directory touched. Failures are logged; reconciliation
 * finishes what is left. */
void	cycle_move_files(struct cycle *);
/* After COMMIT: an event=done line (debug) for each message done. */
void	cycle_log_done(const struct cycle *);

/* The message's identity for a log line: id=, partner=, tx=, seq=,
 * type= (LOG_Q quoted). */
void	cycle_logid(char *buf, size_t len, const struct store_work *);

/*
 * Apply item i alone in a savepoint of its own, as a replayed chunk does:
 * done (its successor released into the cycle or its spill), deferred,
 * failed or held. 0 or -1 (store error).
 */
int	cycle_apply_item(struct cycle *, size_t i, struct spool_error *);

/*
 * The same for a message whose row is not written yet (the one pass,
 * accept_apply.c): record(arg, true) writes it done (attempts 1) in the
 * item's savepoint, before the handler; when the handler fails, the
 * savepoint is rolled back with it, record(arg, false) writes it ready
 * and the failure is recorded as cycle_apply_item() does. 0 or -1.
 */
int	cycle_apply_fresh(struct cycle *, size_t i,
	    int (*record)(void *, bool, struct spool_error *), void *arg,
	    struct spool_error *);

/* After COMMIT: write the outbound messages recorded (failures logged). */
void	cycle_flush_outbound(struct cycle_ctx *);

/* Free the cycle's work (not the struct itself). */
void	cycle_free(struct cycle *);

#endif
