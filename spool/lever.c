/*
 * lever.c - the admin's levers on messages (spoolctl retry, skip, hold,
 * release).
 *
 * A lever is a small cycle that applies nothing: one write transaction
 * that changes the store's verdict on some messages, a COMMIT, and only
 * then the renames (cycle_move_files(), as the cycle does). A crash
 * before COMMIT leaves everything as it was; after it, start-up
 * reconciliation moves the files the store has moved. Neither lever
 * touches a message waiting for an external call (an exec program's):
 * its outcome would follow and contradict the lever.
 *
 * retry gives failed and deferred messages a fresh set of attempts and
 * puts them back in queue/ (the earlier attempts stay recorded). skip
 * declares the number a transaction waits for done, unapplied, with who
 * and why, and releases the parked successor through the sequencer
 * (cycle_advance(), seq_release()).
 *
 * hold moves messages not done yet to hold/ (state held) with who and
 * why; the cycle never takes a held one, and since a transaction's next
 * number only moves on when that number is processed or skipped, its
 * successors wait parked behind it, as behind a failed one. release
 * puts a held message back where order lets it go: queue/ when it is
 * its transaction's next number (or stands outside transactions),
 * parked/ when an earlier number is still missing.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cycle.h"
#include "cycle_int.h"
#include "lever.h"
#include "log.h"
#include "store_admin.h"
#include "sequencer.h"
#include "store_cycle.h"
#include "store_order.h"
#include "store.h"

/* Start a lever's transaction with room for n items. */
static int
lever_begin(struct cycle *c, struct cycle_ctx *ctx, struct cycle_stats *st,
    size_t n, struct spool_error *err)
{
	memset(c, 0, sizeof(*c));
	memset(st, 0, sizeof(*st));
	c->ctx = ctx;
	c->stats = st;
	c->cap = n;
	if ((c->items = calloc(n ? n : 1, sizeof(*c->items))) == NULL ||
	    (c->spill = calloc(n ? n : 1, sizeof(*c->spill))) == NULL) {
		spool_seterr(err, "out of memory");
		cycle_free(c);
		return -1;
	}
	if (store_begin(ctx->store, err) == -1) {
		cycle_free(c);
		return -1;
	}
	c->now = store_now_ms();
	return 0;
}

/* Remove the .reason sidecar of name in state directory st, if any. */
static void
drop_reason(struct cycle_ctx *ctx, int st, const char *name)
{
	char reason[SPOOLDIR_NAME_MAX + 16];

	snprintf(reason, sizeof(reason), "%s.reason", name);
	unlinkat(ctx->sd->state_fd[st], reason, 0);
}

int
lever_retry(struct cycle_ctx *ctx, int64_t id, const char *partner,
    const char *tx, bool failed_only, int64_t *count, struct spool_error *err)
{
	struct store_work *v = NULL;
	struct cycle_stats st;
	struct cycle c;
	char reason[SPOOLDIR_NAME_MAX + 16];
	size_t n, i;

	*count = 0;
	if (store_begin(ctx->store, err) == -1)
		return -1;
	if (store_retry_candidates(ctx->store, id, partner, tx, failed_only,
	    &v, &n, err) == -1) {
		store_rollback(ctx->store);
		return -1;
	}
	store_rollback(ctx->store);
	if (lever_begin(&c, ctx, &st, n, err) == -1)
		goto fail_list;
	for (i = 0; i < n; i++) {
		c.items[i].w = v[i];
		c.items[i].to_state = ST_QUEUE;
		c.n = i + 1;
		if (store_mark_retried(ctx->store, v[i].id, err) == -1)
			goto rollback;
	}
	free(v);
	v = NULL;
	if (store_commit(ctx->store, err) == -1)
		goto rollback;
	cycle_move_files(&c);
	/* The old .reason of a dead letter goes; its text stays in the
	 * store's attempts, shown by spoolctl show. */
	for (i = 0; i < c.n; i++) {
		if (c.items[i].w.state != ST_FAILED)
			continue;
		snprintf(reason, sizeof(reason), "%s.reason",
		    c.items[i].w.file_name);
		unlinkat(ctx->sd->state_fd[ST_FAILED], reason, 0);
	}
	*count = (int64_t)c.n;
	cycle_free(&c);
	return 0;
rollback:
	store_rollback(ctx->store);
	cycle_free(&c);
fail_list:
	if (v != NULL) {
		for (i = c.n; i < n; i++)
			store_work_free(&v[i]);
		free(v);
	}
	return -1;
}

int
lever_skip(struct cycle_ctx *ctx, const char *partner, const char *tx,
    int64_t seq, const char *user, const char *why, struct spool_error *err)
{
	struct cycle_stats st;
	struct store_work w;
	struct cycle c;
	char reason[REASON_MAX];
	int64_t next;
	int rc;

	if (lever_begin(&c, ctx, &st, 1, err) == -1)
		return -1;
	rc = store_tx_next(ctx->store, partner, tx, &next, err);
	if (rc != 1) {
		if (rc == 0)
			spool_seterr(err, "partner %s has no transaction %s",
			    partner, tx);
		goto rollback;
	}
	if (seq != next) {
		spool_seterr(err, "transaction %s of %s waits for sequence %"
		    PRId64 "; only that number can be skipped", tx, partner,
		    next);
		goto rollback;
	}
	if (seq_is_pair(tx)) {
		int64_t open;

		/* A control number whose interchange is here but not done:
		 * its messages are settled one by one, not skipped whole. */
		if ((open = store_ic_open(ctx->store, partner, tx, seq,
		    err)) == -1)
			goto rollback;
		if (open > 0) {
			spool_seterr(err, "interchange control number %" PRId64
			    " of %s (%s) has %" PRId64 " message(s) not done: "
			    "retry, or delete, them (spoolctl show "
			    "--interchange %s %" PRId64 ")", seq, tx, partner,
			    open, partner, seq);
			goto rollback;
		}
	}
	snprintf(reason, sizeof(reason), "skipped by %s: %s", user, why);
	rc = store_at_seq(ctx->store, partner, tx, seq, &w, err);
	if (rc == -1)
		goto rollback;
	if (rc == 1) {
		int pending;

		/* Not while it waits for an external call: its outcome would
		 * follow. */
		pending = store_is_waiting(ctx->store, w.id, err);
		if (pending != 0) {
			if (pending == 1)
				spool_seterr(err, "message %" PRId64 " has an "
				    "external call running; wait for it", w.id);
			store_work_free(&w);
			goto rollback;
		}
		c.items[0].w = w;
		c.items[0].to_state = ST_DONE;
		c.n = 1;
		if (store_mark_skipped(ctx->store, w.id, reason, err) == -1)
			goto rollback;
	}
	if (store_add_skip(ctx->store, partner, tx, seq, user, why, err) ==
	    -1 || cycle_advance(&c, partner, tx, seq, err) == -1)
		goto rollback;
	if (store_commit(ctx->store, err) == -1)
		goto rollback;
	/* A skipped message's file goes to done/; a released successor
	 * moves to queue/. A held one leaves its .reason behind: it goes. */
	cycle_move_files(&c);
	if (c.n == 1 && c.items[0].w.state == ST_HELD)
		drop_reason(ctx, ST_HELD, c.items[0].w.file_name);
	if (c.n == 1) {
		char who[1024];

		cycle_logid(who, sizeof(who), &c.items[0].w);
		log_notice("event=skip %s user=%s", who, LOG_Q(user));
	} else
		log_notice("event=skip partner=%s tx=%s seq=%" PRId64
		    " user=%s", LOG_Q(partner), LOG_Q(tx), seq, LOG_Q(user));
	cycle_free(&c);
	return 0;
rollback:
	store_rollback(ctx->store);
	cycle_free(&c);
	return -1;
}

/* Take a list of messages into a lever's cycle, each to state to. */
static int
lever_take(struct cycle *c, struct cycle_ctx *ctx, struct cycle_stats *st,
    struct store_work *v, size_t n, struct spool_error *err)
{
	size_t i;

	if (lever_begin(c, ctx, st, n, err) == -1) {
		for (i = 0; i < n; i++)
			store_work_free(&v[i]);
		free(v);
		return -1;
	}
	for (i = 0; i < n; i++) {
		c->items[i].w = v[i];
		c->items[i].to_state = -1;
	}
	c->n = n;
	free(v);
	return 0;
}

int
lever_hold(struct cycle_ctx *ctx, int64_t id, const char *partner,
    const char *tx, const char *user, const char *why, const char *cause,
    int64_t *count, struct spool_error *err)
{
	char reason[REASON_MAX];
	struct store_work *v = NULL;
	struct cycle_stats st;
	struct cycle c;
	size_t n, i;
	int pending;

	*count = 0;
	snprintf(reason, sizeof(reason), "held by %s: %s", user, why);
	if (store_begin(ctx->store, err) == -1)
		return -1;
	if (store_hold_candidates(ctx->store, id, partner, tx, &v, &n,
	    err) == -1) {
		store_rollback(ctx->store);
		return -1;
	}
	store_rollback(ctx->store);
	if (lever_take(&c, ctx, &st, v, n, err) == -1)
		return -1;
	for (i = 0; i < c.n; i++) {
		struct item *it = &c.items[i];

		/* Read again in this transaction: it may have moved on. */
		pending = store_is_waiting(ctx->store, it->w.id, err);
		if (pending == -1)
			goto rollback;
		if (pending == 1)
			continue;
		it->to_state = ST_HELD;
		snprintf(it->reason, sizeof(it->reason), "%s", reason);
		if (store_mark_held(ctx->store, it->w.id, reason, cause, 0,
		    err) == -1 || store_add_action(ctx->store, it->w.id, "hold", user,
		    why, err) == -1)
			goto rollback;
		(*count)++;
	}
	if (store_commit(ctx->store, err) == -1)
		goto rollback;
	cycle_move_files(&c);
	for (i = 0; i < c.n; i++)
		if (c.items[i].to_state == ST_HELD &&
		    c.items[i].w.state == ST_FAILED)
			drop_reason(ctx, ST_FAILED, c.items[i].w.file_name);
	cycle_free(&c);
	return 0;
rollback:
	*count = 0;
	store_rollback(ctx->store);
	cycle_free(&c);
	return -1;
}

/* The same for a message of an interchange ordered by its control number
 * (DESIGN 16): parked/ while the pair waits for an earlier number. */
static int
release_to_ic(struct cycle_ctx *ctx, const struct store_work *w, int *to,
    struct spool_error *err)
{
	char *pair, *ref, *type;
	int64_t n, next;
	int rc;

	if ((rc = store_order_of(ctx->store, w->id, &pair, &n, &ref, &type,
	    err)) != 1)
		return rc == -1 ? -1 : 0;
	free(ref);
	free(type);
	if (pair == NULL)
		return 0;
	rc = store_tx_next(ctx->store, w->partner, pair, &next, err);
	if (rc == 1 && n > next) {
		*to = ST_PARKED;
		rc = store_tx_set_gap(ctx->store, w->partner, pair, 1, err);
	}
	free(pair);
	return rc == -1 ? -1 : 0;
}

/* Where a released message goes: queue/, or parked/ behind a gap. */
static int
release_to(struct cycle_ctx *ctx, const struct store_work *w, int *to,
    struct spool_error *err)
{
	int64_t next;
	int rc;

	*to = ST_QUEUE;
	if (w->transaction_id == NULL)
		return release_to_ic(ctx, w, to, err);
	if ((rc = store_tx_next(ctx->store, w->partner, w->transaction_id,
	    &next, err)) == -1)
		return -1;
	if (rc == 1 && w->sender_seq > next) {
		*to = ST_PARKED;
		return store_tx_set_gap(ctx->store, w->partner,
		    w->transaction_id, 1, err);
	}
	return 0;
}

/*
 * An upload held because spoold could not read it was never accepted:
 * its row goes, and after COMMIT its file goes back to incoming/ under
 * its name, to be accepted from the start. *orig gets that name.
 */
static int
release_upload(struct cycle_ctx *ctx, const struct store_work *w,
    char **orig, struct spool_error *err)
{
	struct store_msgref ref;
	int rc;

	if ((rc = store_get(ctx->store, w->id, &ref, err)) != 1) {
		if (rc == 0)
			spool_seterr(err, "message %" PRId64 " is gone", w->id);
		return -1;
	}
	*orig = ref.orig_name;
	ref.orig_name = NULL;
	store_msgref_free(&ref);
	if (*orig == NULL) {
		spool_seterr(err, "out of memory");
		return -1;
	}
	return store_delete_held(ctx->store, w->id, err);
}

static bool
unread_upload(const struct store_work *w)
{
	return w->hold_cause != NULL && strcmp(w->hold_cause, "unreadable") ==
	    0;
}

int
lever_release(struct cycle_ctx *ctx, int64_t id, const char *partner,
    const char *tx, const char *cause, const char *user, const char *why,
    int64_t *count, struct spool_error *err)
{
	struct store_work *v = NULL;
	struct cycle_stats st;
	struct cycle c;
	char **orig = NULL;
	size_t n, i;
	int to;

	*count = 0;
	if (store_begin(ctx->store, err) == -1)
		return -1;
	if (store_held(ctx->store, id, partner, tx, cause, &v, &n, err) ==
	    -1) {
		store_rollback(ctx->store);
		return -1;
	}
	store_rollback(ctx->store);
	if (lever_take(&c, ctx, &st, v, n, err) == -1)
		return -1;
	if ((orig = calloc(c.n ? c.n : 1, sizeof(*orig))) == NULL) {
		spool_seterr(err, "out of memory");
		goto rollback;
	}
	for (i = 0; i < c.n; i++) {
		struct item *it = &c.items[i];

		if (unread_upload(&it->w)) {
			if (release_upload(ctx, &it->w, &orig[i], err) == -1 ||
			    store_add_action(ctx->store, it->w.id, "release",
			    user, why, err) == -1)
				goto rollback;
			(*count)++;
			continue;
		}
		if (release_to(ctx, &it->w, &to, err) == -1 ||
		    store_mark_released(ctx->store, it->w.id, to, err) == -1)
			goto rollback;
		if (sqlite3_changes(ctx->store->db) == 0)
			continue;	/* released meanwhile */
		if (store_add_action(ctx->store, it->w.id, "release", user, why,
		    err) == -1)
			goto rollback;
		it->to_state = to;
		(*count)++;
	}
	if (store_commit(ctx->store, err) == -1)
		goto rollback;
	cycle_move_files(&c);
	for (i = 0; i < c.n; i++) {
		struct spool_error merr;
		char who[1024];

		if (orig[i] != NULL) {
			/* Crash before this: hold/ keeps a file no row names,
			 * reported by check for a person to move back. */
			spool_clearerr(&merr);
			if (spooldir_unhold_upload(ctx->sd,
			    c.items[i].w.file_name, c.items[i].w.partner,
			    orig[i], c.items[i].w.id, &merr) == -1)
				log_err("event=release id=%" PRId64 " partner=%s "
				    "file=%s status=failed reason=%s",
				    c.items[i].w.id,
				    LOG_Q(c.items[i].w.partner),
				    LOG_Q(orig[i]), LOG_Q(merr.msg));
			else {
				drop_reason(ctx, ST_HELD,
				    c.items[i].w.file_name);
				log_notice("event=release id=%" PRId64
				    " partner=%s file=%s to=incoming user=%s",
				    c.items[i].w.id,
				    LOG_Q(c.items[i].w.partner),
				    LOG_Q(orig[i]), LOG_Q(user));
			}
			continue;
		}
		if (c.items[i].to_state < 0)
			continue;
		drop_reason(ctx, ST_HELD, c.items[i].w.file_name);
		cycle_logid(who, sizeof(who), &c.items[i].w);
		log_notice("event=release %s to=%s user=%s", who,
		    spool_state_name(c.items[i].to_state), LOG_Q(user));
	}
	(void)spooldir_sync(ctx->sd, NULL);
	for (i = 0; i < c.n; i++)
		free(orig[i]);
	free(orig);
	cycle_free(&c);
	return 0;
rollback:
	*count = 0;
	store_rollback(ctx->store);
	if (orig != NULL)
		for (i = 0; i < c.n; i++)
			free(orig[i]);
	free(orig);
	cycle_free(&c);
	return -1;
}

/*
 * A message of interchange number n of a pair was deleted: when it was
 * the last one not done and the pair waits for n, n is skipped with the
 * same who and why, and the next interchange goes on (as a transaction's
 * number is, above).
 */
static int
ic_deleted(struct cycle *c, const char *partner, const char *pair,
    int64_t n, const char *user, const char *note, struct spool_error *err)
{
	int64_t next, open;
	int rc;

	if ((rc = store_tx_next(c->ctx->store, partner, pair, &next,
	    err)) != 1 || next != n)
		return rc == -1 ? -1 : 0;
	if ((open = store_ic_open(c->ctx->store, partner, pair, n, err)) != 0)
		return open == -1 ? -1 : 0;
	if (store_add_skip(c->ctx->store, partner, pair, n, user, note,
	    err) == -1)
		return -1;
	return cycle_advance(c, partner, pair, n, err);
}

int
lever_delete(struct cycle_ctx *ctx, int64_t id, const char *user,
    const char *why, int *deleted, struct spool_error *err)
{
	struct cycle_stats st;
	struct store_work w;
	struct cycle c;
	char note[REASON_MAX], name[SPOOLDIR_NAME_MAX + 16], who[1024];
	char *pair = NULL, *ref = NULL, *type = NULL;
	int64_t next, icn = 0;
	int rc, from;
	bool skip = false;

	*deleted = 0;
	if (lever_begin(&c, ctx, &st, 1, err) == -1)
		return -1;
	if ((rc = store_work_get(ctx->store, id, &w, err)) != 1)
		goto rollback_rc;	/* 0: no such message; -1 */
	from = w.state;
	if ((from != ST_REJECTED && from != ST_FAILED && from != ST_HELD) ||
	    (rc = store_is_waiting(ctx->store, id, err)) != 0) {
		store_work_free(&w);
		if (rc == -1)
			goto rollback;
		rc = 0;
		goto rollback_rc;
	}
	snprintf(note, sizeof(note), "deleted by %s: %s", user, why);
	/* The number its transaction waits for is settled: skipped, with
	 * the same who and why, and the messages behind it go on. */
	if (from != ST_REJECTED && w.transaction_id != NULL) {
		if ((rc = store_tx_next(ctx->store, w.partner,
		    w.transaction_id, &next, err)) == -1) {
			store_work_free(&w);
			goto rollback;
		}
		skip = rc == 1 && next == w.sender_seq;
	}
	if (from != ST_REJECTED && w.transaction_id == NULL &&
	    store_order_of(ctx->store, id, &pair, &icn, &ref, &type,
	    err) == -1) {
		store_work_free(&w);
		goto rollback;
	}
	if (store_admin_delete(ctx->store, id, note, err) == -1 ||
	    store_add_action(ctx->store, id, "delete", user, why, err) == -1 ||
	    (skip && (store_add_skip(ctx->store, w.partner, w.transaction_id,
	    w.sender_seq, user, note, err) == -1 || cycle_advance(&c,
	    w.partner, w.transaction_id, w.sender_seq, err) == -1)) ||
	    (pair != NULL && ic_deleted(&c, w.partner, pair, icn, user, note,
	    err) == -1)) {
		free(pair);
		free(ref);
		free(type);
		store_work_free(&w);
		goto rollback;
	}
	free(pair);
	free(ref);
	free(type);
	if (store_commit(ctx->store, err) == -1) {
		store_work_free(&w);
		goto rollback;
	}
	/* After COMMIT: the file and its .reason go; a crash before leaves
	 * a file no row names, which check reports. */
	cycle_logid(who, sizeof(who), &w);
	if (unlinkat(ctx->sd->state_fd[from], w.file_name, 0) == -1 &&
	    errno != ENOENT)
		log_err("event=delete %s file=%s status=failed reason=%s",
		    who, LOG_Q(w.file_name), LOG_Q(strerror(errno)));
	snprintf(name, sizeof(name), "%s.reason", w.file_name);
	(void)unlinkat(ctx->sd->state_fd[from], name, 0);
	ctx->sd->dirty[from] = true;
	cycle_move_files(&c);
	log_notice("event=delete %s state=%s user=%s reason=%s skipped=%s",
	    who, spool_state_name(from), LOG_Q(user), LOG_Q(why),
	    skip ? "yes" : "no");
	store_work_free(&w);
	cycle_free(&c);
	*deleted = 1;
	return 0;
rollback_rc:
	store_rollback(ctx->store);
	cycle_free(&c);
	return rc;
rollback:
	store_rollback(ctx->store);
	cycle_free(&c);
	return -1;
}
