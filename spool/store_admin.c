/*
 * store_admin.c - the store's statements for reconciliation and
 * spoolctl's listings: a message, a filtered list of them, their
 * attempts and recorded actions, a transaction with its skips and
 * outbound messages, the batches with their counts; and the read
 * transaction they run in. The status figures are store_admin_status.c's,
 * removing rows (purge, settle, delete) store_admin_purge.c's; what the
 * three share is in store_admin_int.h.
 *
 * Every statement is constant text with bound parameters; the listing's
 * WHERE clause is put together from constant fragments chosen by which
 * filters are set, never from the filter values. These statements run
 * rarely (once per spoolctl command, once per start-up), so each is
 * prepared per call and finalised before returning. Nothing here writes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_admin.h"
#include "store_admin_int.h"

int
store_admin_prep(struct store *s, const char *sql, sqlite3_stmt **st,
    struct spool_error *err)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return store_stmt_err(s, NULL, err);
	}
	return 0;
}

void
store_admin_msg_free(struct store_admin_msg *m)
{
	free(m->partner);
	free(m->orig_name);
	free(m->file_name);
	free(m->type);
	free(m->message_id);
	free(m->sender);
	free(m->recipient);
	free(m->transaction_id);
	free(m->reason);
	free(m->dialect);
	free(m->reference);
	free(m->bundle);
	memset(m, 0, sizeof(*m));
}

/* Fill m from a row of MSG_COLS. */
static int
fill_msg(sqlite3_stmt *st, struct store_admin_msg *m,
    struct spool_error *err)
{
	const char *state;

	memset(m, 0, sizeof(*m));
	m->id = sqlite3_column_int64(st, 0);
	state = (const char *)sqlite3_column_text(st, 1);
	m->state = state != NULL ? spool_state_parse(state) : -1;
	if (store_col_dup(st, 2, &m->partner) == -1 ||
	    store_col_dup(st, 3, &m->orig_name) == -1 ||
	    store_col_dup(st, 4, &m->file_name) == -1 ||
	    store_col_dup(st, 5, &m->type) == -1 ||
	    store_col_dup(st, 6, &m->message_id) == -1 ||
	    store_col_dup(st, 7, &m->sender) == -1 ||
	    store_col_dup(st, 8, &m->recipient) == -1 ||
	    store_col_dup(st, 9, &m->transaction_id) == -1 ||
	    store_col_dup(st, 18, &m->reason) == -1 ||
	    store_col_dup(st, 22, &m->bundle) == -1 ||
	    store_col_dup(st, 23, &m->dialect) == -1 ||
	    store_col_dup(st, 25, &m->reference) == -1) {
		store_admin_msg_free(m);
		spool_seterr(err, "out of memory");
		return -1;
	}
	m->has_seq = sqlite3_column_type(st, 10) != SQLITE_NULL;
	m->sender_seq = sqlite3_column_int64(st, 10);
	m->receiver_seq = sqlite3_column_int64(st, 11);
	m->stale = sqlite3_column_int(st, 12) != 0;
	if (sqlite3_column_bytes(st, 13) == 32) {
		memcpy(m->sha256, sqlite3_column_blob(st, 13), 32);
		m->has_sha256 = true;
	}
	m->size = sqlite3_column_int64(st, 14);
	m->duplicate_of = sqlite3_column_int64(st, 15);
	m->attempts = sqlite3_column_int64(st, 16);
	m->next_attempt_at = sqlite3_column_int64(st, 17);
	m->received_at = sqlite3_column_int64(st, 19);
	m->updated_at = sqlite3_column_int64(st, 20);
	m->batch = sqlite3_column_int64(st, 21);
	m->test = sqlite3_column_int(st, 24) != 0;
	return 0;
}

/* Step st to its end, handing each message row to fn. */
int
store_admin_each_msg(struct store *s, sqlite3_stmt *st,
    int (*fn)(void *, struct store_admin_msg *), void *arg,
    struct spool_error *err)
{
	struct store_admin_msg m;
	int rc;

	while ((rc = store_row(s, st, err)) == 1) {
		if (fill_msg(st, &m, err) == -1)
			return -1;
		rc = fn(arg, &m);
		store_admin_msg_free(&m);
		if (rc != 0)
			return -1;
	}
	return rc;
}

int
store_admin_read_begin(struct store *s, struct spool_error *err)
{
	return store_exec(s, "BEGIN DEFERRED", err);
}

void
store_admin_read_end(struct store *s)
{
	/* A read transaction has nothing to keep: ending it cannot lose. */
	store_rollback(s);
}

int
store_admin_rows(struct store *s, bool include_done,
    int (*fn)(void *, int64_t, int, const char *), void *arg,
    struct spool_error *err)
{
	sqlite3_stmt *st;
	const char *state, *name;
	int rc;

	if (store_admin_prep(s, include_done ?
	    "SELECT id, state, file_name FROM messages "
	    "WHERE purged_at IS NULL ORDER BY id" :
	    "SELECT id, state, file_name FROM messages "
	    "WHERE state <> 'done' AND purged_at IS NULL ORDER BY id", &st,
	    err) == -1)
		return -1;
	while ((rc = store_row(s, st, err)) == 1) {
		state = (const char *)sqlite3_column_text(st, 1);
		name = (const char *)sqlite3_column_text(st, 2);
		if (fn(arg, sqlite3_column_int64(st, 0), state != NULL ?
		    spool_state_parse(state) : -1, name != NULL ? name : "") !=
		    0)
			break;
	}
	sqlite3_finalize(st);
	return rc == 0 ? 0 : -1;
}

int
store_admin_batch_rows(struct store *s,
    int (*fn)(void *, int64_t, int, const char *), void *arg,
    struct spool_error *err)
{
	sqlite3_stmt *st;
	const char *state, *name;
	int rc;

	if (store_admin_prep(s, "SELECT id, state, file_name FROM batches "
	    "WHERE file_name <> '' ORDER BY id", &st, err) == -1)
		return -1;
	while ((rc = store_row(s, st, err)) == 1) {
		state = (const char *)sqlite3_column_text(st, 1);
		name = (const char *)sqlite3_column_text(st, 2);
		if (fn(arg, sqlite3_column_int64(st, 0), state != NULL ?
		    spool_state_parse(state) : -1, name != NULL ? name : "") !=
		    0)
			break;
	}
	sqlite3_finalize(st);
	return rc == 0 ? 0 : -1;
}

int
store_admin_msg_get(struct store *s, int64_t id, struct store_admin_msg *m,
    struct spool_error *err)
{
	sqlite3_stmt *st;
	int ret;

	memset(m, 0, sizeof(*m));
	if (store_admin_prep(s,
	    "SELECT " MSG_COLS " FROM messages WHERE id = ?1", &st,
	    err) == -1)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if ((ret = store_row(s, st, err)) == 1 && fill_msg(st, m, err) == -1)
		ret = -1;
	sqlite3_finalize(st);
	return ret;
}

/* The statement for a filter: constant fragments only. */
static int
filter_prep(struct store *s, const struct store_admin_filter *f, bool count,
    sqlite3_stmt **st, struct spool_error *err)
{
	char sql[1024], states[128];
	size_t o = 0;
	int i;

	/* ",queue,parked,": bound as a value, matched with instr(). */
	states[o++] = ',';
	for (i = 0; i < ST_NSTATES; i++)
		if (f->states & (1u << i))
			o += (size_t)snprintf(states + o, sizeof(states) - o,
			    "%s,", spool_state_name(i));
	snprintf(sql, sizeof(sql), "SELECT %s FROM messages WHERE 1%s%s%s%s"
	    "%s%s%s%s%s",
	    count ? "count(*)" : MSG_COLS,
	    f->state >= 0 ? " AND state = ?1" : "",
	    f->partner != NULL ? " AND partner = ?2" : "",
	    f->transaction_id != NULL ? " AND transaction_id = ?3" : "",
	    f->states != 0 ? " AND instr(?5, ',' || state || ',') > 0" : "",
	    f->type != NULL ? " AND type = ?6" : "",
	    f->batch != 0 ? " AND batch = ?7" : "",
	    f->received_before != 0 ? " AND received_at < ?8" : "",
	    f->after_id != 0 ? " AND id > ?9" : "",
	    count ? "" : f->by_seq ? " ORDER BY sender_seq, id LIMIT ?4" :
	    " ORDER BY id LIMIT ?4");
	if (store_admin_prep(s, sql, st, err) == -1)
		return -1;
	if (f->state >= 0)
		sqlite3_bind_text(*st, 1, spool_state_name(f->state), -1,
		    SQLITE_STATIC);
	if (f->partner != NULL)
		sqlite3_bind_text(*st, 2, f->partner, -1, SQLITE_STATIC);
	if (f->transaction_id != NULL)
		sqlite3_bind_text(*st, 3, f->transaction_id, -1,
		    SQLITE_STATIC);
	if (!count)
		sqlite3_bind_int64(*st, 4, f->limit > 0 ? f->limit : -1);
	if (f->states != 0)
		sqlite3_bind_text(*st, 5, states, -1, SQLITE_TRANSIENT);
	if (f->type != NULL)
		sqlite3_bind_text(*st, 6, f->type, -1, SQLITE_STATIC);
	if (f->batch != 0)
		sqlite3_bind_int64(*st, 7, f->batch);
	if (f->received_before != 0)
		sqlite3_bind_int64(*st, 8, f->received_before);
	if (f->after_id != 0)
		sqlite3_bind_int64(*st, 9, f->after_id);
	return 0;
}

int
store_admin_msg_list(struct store *s, const struct store_admin_filter *f,
    int (*fn)(void *, struct store_admin_msg *), void *arg,
    struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if (filter_prep(s, f, false, &st, err) == -1)
		return -1;
	rc = store_admin_each_msg(s, st, fn, arg, err);
	sqlite3_finalize(st);
	return rc;
}

int
store_admin_msg_count(struct store *s, const struct store_admin_filter *f,
    int64_t *n, struct spool_error *err)
{
	sqlite3_stmt *st;
	int ret;

	*n = 0;
	if (filter_prep(s, f, true, &st, err) == -1)
		return -1;
	ret = store_row_int64(s, st, n, err);
	sqlite3_finalize(st);
	return ret;
}

int
store_admin_attempts(struct store *s, int64_t msg,
    int (*fn)(void *, const struct store_admin_attempt *), void *arg,
    struct spool_error *err)
{
	struct store_admin_attempt a;
	sqlite3_stmt *st;
	int rc;

	/*
	 * Failed attempts have rows, a success is the message's own
	 * (v_attempts, migration 22). A reader of a store that spoold has
	 * not migrated yet has the rows only, successes among them.
	 */
	if (sqlite3_prepare_v2(s->db, "SELECT attempt, started_at, "
	    "finished_at, outcome, error FROM v_attempts WHERE message = ?1 "
	    "ORDER BY attempt", -1, &st, NULL) != SQLITE_OK &&
	    store_admin_prep(s,
	    "SELECT attempt, started_at, finished_at, outcome, error "
	    "FROM attempts WHERE message = ?1 ORDER BY attempt", &st,
	    err) == -1)
		return -1;
	sqlite3_bind_int64(st, 1, msg);
	while ((rc = store_row(s, st, err)) == 1) {
		a.attempt = sqlite3_column_int64(st, 0);
		a.started_at = sqlite3_column_int64(st, 1);
		a.finished_at = sqlite3_column_int64(st, 2);
		a.outcome = (const char *)sqlite3_column_text(st, 3);
		a.error = (const char *)sqlite3_column_text(st, 4);
		if (fn(arg, &a) != 0)
			break;
	}
	sqlite3_finalize(st);
	return rc == 0 ? 0 : -1;
}

int
store_admin_actions(struct store *s, int64_t msg,
    int (*fn)(void *, const struct store_admin_action *), void *arg,
    struct spool_error *err)
{
	struct store_admin_action a;
	sqlite3_stmt *st;
	int rc, ret = -1;

	if ((rc = store_has_table(s, "actions", err)) != 1)
		return rc;
	if (store_admin_prep(s,
	    "SELECT act, user, reason, at FROM actions WHERE "
	    "message = ?1 ORDER BY rowid", &st, err) == -1)
		return -1;
	sqlite3_bind_int64(st, 1, msg);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		a.act = (const char *)sqlite3_column_text(st, 0);
		a.user = (const char *)sqlite3_column_text(st, 1);
		a.reason = (const char *)sqlite3_column_text(st, 2);
		a.at = sqlite3_column_int64(st, 3);
		if (fn(arg, &a) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		store_stmt_err(s, NULL, err);
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

int
store_admin_tx_get(struct store *s, const char *partner, const char *tx,
    struct store_admin_tx *t, struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc, ret = -1;

	memset(t, 0, sizeof(*t));
	if (store_admin_prep(s,
	    "SELECT next_seq, out_seq, gap_since, gap_alerted, "
	    "created_at, updated_at FROM transactions "
	    "WHERE partner = ?1 AND transaction_id = ?2", &st, err) == -1)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		t->next_seq = sqlite3_column_int64(st, 0);
		t->out_seq = sqlite3_column_int64(st, 1);
		t->gap_since = sqlite3_column_int64(st, 2);
		t->gap_alerted = sqlite3_column_int(st, 3) != 0;
		t->created_at = sqlite3_column_int64(st, 4);
		t->updated_at = sqlite3_column_int64(st, 5);
		ret = 1;
	} else if (rc == SQLITE_DONE) {
		t->next_seq = 1;
		ret = 0;
	} else
		store_stmt_err(s, NULL, err);
	sqlite3_finalize(st);
	return ret;
}

int
store_admin_tx_parked(struct store *s, const char *partner, const char *tx,
    int64_t *n, struct spool_error *err)
{
	sqlite3_stmt *st;
	int ret;

	*n = 0;
	if (store_admin_prep(s,
	    "SELECT count(*) FROM messages WHERE partner = ?1 AND "
	    "transaction_id = ?2 AND state = 'parked' AND duplicate_of IS NULL",
	    &st, err) == -1)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx, -1, SQLITE_STATIC);
	ret = store_row_int64(s, st, n, err);
	sqlite3_finalize(st);
	return ret;
}

int
store_admin_skips(struct store *s, const char *partner, const char *tx,
    int (*fn)(void *, const struct store_admin_skip *), void *arg,
    struct spool_error *err)
{
	struct store_admin_skip k;
	sqlite3_stmt *st;
	int rc;

	if (store_admin_prep(s, "SELECT seq, reason, user, at FROM skips "
	    "WHERE partner = ?1 AND transaction_id = ?2 ORDER BY seq", &st,
	    err) == -1)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx, -1, SQLITE_STATIC);
	while ((rc = store_row(s, st, err)) == 1) {
		k.seq = sqlite3_column_int64(st, 0);
		k.reason = (const char *)sqlite3_column_text(st, 1);
		k.user = (const char *)sqlite3_column_text(st, 2);
		k.at = sqlite3_column_int64(st, 3);
		if (fn(arg, &k) != 0)
			break;
	}
	sqlite3_finalize(st);
	return rc == 0 ? 0 : -1;
}

int
store_admin_outbound(struct store *s, const char *partner, const char *tx,
    int (*fn)(void *, const struct store_admin_outbound *), void *arg,
    struct spool_error *err)
{
	struct store_admin_outbound o;
	sqlite3_stmt *st;
	int rc;

	if ((rc = store_has_table(s, "outbound", err)) != 1)
		return rc;
	if (store_admin_prep(s,
	    "SELECT id, type, file_name, sender_seq, receiver_seq, "
	    "cause, created_at, written_at FROM outbound WHERE partner = ?1 "
	    "AND transaction_id = ?2 ORDER BY id", &st, err) == -1)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx, -1, SQLITE_STATIC);
	while ((rc = store_row(s, st, err)) == 1) {
		o.id = sqlite3_column_int64(st, 0);
		o.type = (const char *)sqlite3_column_text(st, 1);
		o.file_name = (const char *)sqlite3_column_text(st, 2);
		o.sender_seq = sqlite3_column_int64(st, 3);
		o.receiver_seq = sqlite3_column_int64(st, 4);
		o.cause = sqlite3_column_int64(st, 5);
		o.created_at = sqlite3_column_int64(st, 6);
		o.written_at = sqlite3_column_int64(st, 7);
		if (fn(arg, &o) != 0)
			break;
	}
	sqlite3_finalize(st);
	return rc == 0 ? 0 : -1;
}
bool
store_admin_busy(struct store *s)
{
	int rc;

	if (s->db == NULL)
		return false;
	rc = sqlite3_extended_errcode(s->db) & 0xff;
	return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

int
store_admin_batch_counts(struct store *s, int64_t batch, int64_t *counts,
    struct spool_error *err)
{
	sqlite3_stmt *st;
	const char *state;
	int rc, i;

	for (i = 0; i < ST_NSTATES; i++)
		counts[i] = 0;
	if (store_admin_prep(s,
	    "SELECT state, count(*) FROM messages WHERE batch = ?1 "
	    "GROUP BY state", &st, err) == -1)
		return -1;
	sqlite3_bind_int64(st, 1, batch);
	while ((rc = store_row(s, st, err)) == 1) {
		state = (const char *)sqlite3_column_text(st, 0);
		if (state != NULL && (i = spool_state_parse(state)) >= 0)
			counts[i] = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return rc;
}

int
store_admin_batches(struct store *s, int64_t limit,
    int (*fn)(void *, const struct store_admin_batch_row *), void *arg,
    int64_t *total, struct spool_error *err)
{
	struct store_admin_batch_row r;
	sqlite3_stmt *st;
	const char *state;
	int rc, ret = -1, i;

	*total = 0;
	if (store_admin_prep(s, "SELECT count(*) FROM batches", &st, err) == -1)
		return -1;
	rc = store_row_int64(s, st, total, err);
	sqlite3_finalize(st);
	if (rc == -1)
		return -1;
	/* One row per batch and state of its messages, newest first. */
	if (store_admin_prep(s, "SELECT b.id, b.partner, b.orig_name, b.state, "
	    "b.entries, b.received_at, m.state, count(m.id) "
	    "FROM (SELECT * FROM batches ORDER BY id DESC LIMIT ?1) b "
	    "LEFT JOIN messages m ON m.batch = b.id "
	    "GROUP BY b.id, m.state ORDER BY b.id DESC", &st, err) == -1)
		return -1;
	sqlite3_bind_int64(st, 1, limit > 0 ? limit : -1);
	memset(&r, 0, sizeof(r));
	while ((rc = store_row(s, st, err)) == 1) {
		if (r.id != 0 && r.id != sqlite3_column_int64(st, 0)) {
			if (fn(arg, &r) != 0)
				goto out;
			free(r.partner);
			free(r.orig_name);
			memset(&r, 0, sizeof(r));
		}
		if (r.id == 0) {
			r.id = sqlite3_column_int64(st, 0);
			state = (const char *)sqlite3_column_text(st, 3);
			r.state = state != NULL ? spool_state_parse(state) :
			    -1;
			r.entries = sqlite3_column_int64(st, 4);
			r.received_at = sqlite3_column_int64(st, 5);
			if (store_col_dup(st, 1, &r.partner) == -1 ||
			    store_col_dup(st, 2, &r.orig_name) == -1) {
				spool_seterr(err, "out of memory");
				goto out;
			}
		}
		state = (const char *)sqlite3_column_text(st, 6);
		if (state != NULL && (i = spool_state_parse(state)) >= 0)
			r.counts[i] = sqlite3_column_int64(st, 7);
	}
	if (rc == -1)
		goto out;
	if (r.id != 0 && fn(arg, &r) != 0)
		goto out;
	ret = 0;
out:
	free(r.partner);
	free(r.orig_name);
	sqlite3_finalize(st);
	return ret;
}
