/*
 * cycle.h - one processing cycle: ready messages, applied in savepointed
 * chunks inside one store transaction (DESIGN 6).
 */
#ifndef SPOOL_CYCLE_H
#define SPOOL_CYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "error.h"
#include "message.h"
#include "schema.h"
#include "spooldir.h"
#include "store.h"
#include "store_cycle.h"

enum cycle_result {
	CYCLE_OK,
	CYCLE_TEMPORARY,	/* try again later (deferred/) */
	CYCLE_PERMANENT,	/* give up (failed/) */
	CYCLE_EXTERNAL,		/* run outside the transaction (exec): the
				 * cycle records a pending call and leaves
				 * the message where it is */
	CYCLE_HOLD		/* a mistake on our side, not the partner's
				 * (no route for its type, a command that is
				 * missing): held (hold/), not failed, until
				 * the cause is fixed (DESIGN 18) */
};

/* What a handler is given: one message, inside the cycle's transaction. */
struct cycle_msg {
	const struct store_work	*work;	/* id, partner, type, tx, seq... */
	int			 attempt;	/* this attempt, from 1 */
	const char		*buf;	/* the file's bytes */
	size_t			 len;
	const struct msg	*msg;	/* parsed: doc and header */
	int64_t			 out_seq;	/* our last SenderSequence in
						 * its transaction (0: none) */
	bool			 stale;	/* receiver_seq < out_seq (DESIGN 5) */
	char			*cause;	/* CYCLE_HOLD: a short word for the
					 * cause ("route"), for the program
					 * to tell when it is fixed */
	size_t			 causelen;
};

/*
 * The program wires the handlers in through this callback (libspool knows
 * none of them). It applies one message using the store's connection and
 * must have no effect outside the store: a rolled-back savepoint must
 * undo all of it (outbound messages are recorded in the store, see
 * outbound.h, and written after COMMIT). On failure it writes one
 * sentence into reason.
 */
typedef enum cycle_result (*cycle_apply_fn)(void *arg, struct store *,
    const struct cycle_msg *, char *reason, size_t reasonlen);

/*
 * Called for each outbound message an exec program had sent, once it is
 * recorded, inside the transaction (the program wires the orders life
 * cycle in here, so that spoold's own order messages become revisions):
 * 0 ok, -1 refused with one sentence in why.
 */
typedef int (*cycle_outbound_fn)(void *arg, struct store *,
    const struct store_work *cause, const char *type, xmlNodePtr body,
    int64_t outbound_id, char *why, size_t whylen);

/*
 * The end of an external call, told to the handler side inside
 * cycle_complete()'s transaction: ok when the call succeeded (before its
 * outbound messages are recorded, which build on what this decides; a
 * refusal of those rolls it back and calls it again with ok false), not
 * ok when it failed. The handler decides what the call left pending.
 * 0, or -1 (err).
 */
typedef int (*cycle_finish_fn)(void *arg, struct store *,
    const struct store_work *, bool ok, struct spool_error *);

/*
 * The outcome of an external call for the handler's own books, in
 * cycle_complete()'s transaction after the message stopped waiting:
 * attempt, ok, the status the outside reported, the reason when not ok.
 * 0, or -1 (err).
 */
typedef int (*cycle_record_fn)(void *arg, struct store *, int64_t id,
    int attempt, bool ok, int status, const char *reason,
    struct spool_error *);

/* What the handler side does at the end of an external call. */
struct cycle_external {
	cycle_outbound_fn	 outbound;	/* NULL: every one accepted */
	cycle_finish_fn		 finish;	/* NULL: nothing to decide */
	cycle_record_fn		 record;	/* NULL: nothing to record */
};

/*
 * Asked by cycle_run() before each chunk: true when the program is
 * told to stop (libspool knows nothing of why). The cycle then commits
 * what it has applied and leaves the rest where it was.
 */
typedef bool (*cycle_stop_fn)(void *arg);

struct cycle_ctx {
	const struct conf	*conf;
	struct store		*store;
	struct spooldir		*sd;
	cycle_apply_fn		 apply;
	void			*arg;
	struct schema_set	*schemas;	/* cycle_complete()'s outbound
						 * messages; NULL: unchecked */
	const struct cycle_external *external;	/* cycle_complete()'s;
						 * NULL: none */
	void			*external_arg;
	cycle_stop_fn		 should_stop;	/* NULL: never stop early */
	void			*stop_arg;
};

struct cycle_stats {
	unsigned	 taken;		/* messages looked at */
	unsigned	 done, deferred, failed, released, external, held;
	unsigned	 chunks_failed;
	bool		 stopped;	/* ended early by should_stop */
};

/*
 * Run one cycle. 0 with stats->taken == 0 when nothing was ready; -1 when
 * the store failed (the transaction is rolled back, no file moved). When
 * should_stop says so between two chunks, the cycle ends early: what it
 * applied commits, the messages it took but did not apply stay ready
 * (successors it released go to queue/), and stats->stopped is set.
 */
int	cycle_run(struct cycle_ctx *, struct cycle_stats *,
	    struct spool_error *);

/*
 * Finish a message whose handler ran outside the store (exec), in a
 * transaction of its own: the message stops waiting, the handler side
 * records the outcome of `attempt' (external->record: ok when r is
 * CYCLE_OK, exit_status and reason) and the message is done (its
 * successor released) or deferred or failed, as in a cycle (held with
 * the cause "external" when r is CYCLE_HOLD: the call could not be made
 * for a reason on our side, such as its command missing). With r
 * CYCLE_OK, the outbound messages the program wrote (out, outlen bytes;
 * NULL or 0: none, see outbound_emit_file()) are stamped and recorded in
 * the same transaction; if they are refused, the call is invalid and the
 * message fails permanently instead. Then its file moves and they are
 * written. 0 or -1.
 */
int	cycle_complete(struct cycle_ctx *, int64_t id, int attempt,
	    enum cycle_result r, int exit_status, const char *reason,
	    const char *out, size_t outlen, struct spool_error *);

/* Milliseconds until the next deferred message is due: -1 if none. */
int64_t	cycle_next_due_in(struct store *, struct spool_error *);

#endif
