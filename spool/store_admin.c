/*
 * store_admin.c - the store's statements for reconciliation and spoolctl.
 *
 * Every statement is constant text with bound parameters; the listing's
 * WHERE clause is put together from constant fragments chosen by which
 * filters are set, never from the filter values. These statements run
 * rarely (once per spoolctl command, once per start-up), so each is
 * prepared per call and finalised before returning, except the purge's,
 * which are prepared once per purge run.
 *
 * Purging deletes a message's attempts and its row inside a savepoint,
 * so that a row another row still refers to (a duplicate, a handler's
 * table) is kept whole rather than half deleted: the foreign keys, not a
 * list kept here, say what may go.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spooldir.h"
#include "store_admin.h"
#include "store_cycle.h"

#define MSG_COLS "id, state, partner, orig_name, file_name, type, " \
	"message_id, sender, recipient, transaction_id, sender_seq, " \
	"receiver_seq, stale, sha256, size, duplicate_of, attempts, " \
	"next_attempt_at, reason, received_at, updated_at, batch, " \
	"(SELECT orig_name FROM batches WHERE batches.id = messages.batch), " \
	"dialect, test, reference"

/*
 * Purging one message: first the store's own records of it (its
 * attempts), and a bundle entry's link to it (the entry keeps its fate),
 * then its row. A handler's rows that name it are the handler's: the
 * exec component's trigger takes its finished calls along; the ledger's
 * and the orders' rows keep it (a foreign key), and it is not purged.
 */
enum { PURGE_ATTEMPTS, PURGE_ENTRY, PURGE_TOMB, PURGE_MSG, PURGE_SLIM,
    PURGE_NSTMT };

struct store_admin_purge {
	struct store	*s;
	sqlite3_stmt	*st[PURGE_NSTMT];
};

static int
prep(struct store *s, const char *sql, sqlite3_stmt **st,
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
static int
each_msg(struct store *s, sqlite3_stmt *st,
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

	if (prep(s, include_done ?
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
store_admin_msg_get(struct store *s, int64_t id, struct store_admin_msg *m,
    struct spool_error *err)
{
	sqlite3_stmt *st;
	int ret;

	memset(m, 0, sizeof(*m));
	if (prep(s, "SELECT " MSG_COLS " FROM messages WHERE id = ?1", &st,
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
	if (prep(s, sql, st, err) == -1)
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
	rc = each_msg(s, st, fn, arg, err);
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
	    prep(s, "SELECT attempt, started_at, finished_at, outcome, error "
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
	if (prep(s, "SELECT act, user, reason, at FROM actions WHERE "
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
	if (prep(s, "SELECT next_seq, out_seq, gap_since, gap_alerted, "
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
	if (prep(s, "SELECT count(*) FROM messages WHERE partner = ?1 AND "
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

	if (prep(s, "SELECT seq, reason, user, at FROM skips "
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
	if (prep(s, "SELECT id, type, file_name, sender_seq, receiver_seq, "
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

void
store_admin_status_free(struct store_admin_status *st)
{
	free(st->oldest_gap_partner);
	free(st->oldest_gap_tx);
	free(st->oldest_gap_next_state);
	free(st->daemon_version);
	free(st->archive_failed_error);
	memset(st, 0, sizeof(*st));
}

/* Run a query of at most one row, binding p1 and p2 to ?1 and ?2 where
 * it has them; fn reads the row. No row is fine. */
static int
one_row(struct store *s, const char *sql, int64_t p1, int64_t p2,
    int (*fn)(sqlite3_stmt *, struct store_admin_status *),
    struct store_admin_status *out, struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc, ret = -1;

	if (prep(s, sql, &st, err) == -1)
		return -1;
	if (sqlite3_bind_parameter_count(st) >= 1)
		sqlite3_bind_int64(st, 1, p1);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, p2);
	if ((rc = store_row(s, st, err)) == 1 && fn(st, out) == -1)
		spool_seterr(err, "out of memory");
	else if (rc != -1)
		ret = 0;
	sqlite3_finalize(st);
	return ret;
}

static int
row_gaps(sqlite3_stmt *st, struct store_admin_status *o)
{
	o->gaps_open = sqlite3_column_int64(st, 0);
	return 0;
}

static int
row_oldest_gap(sqlite3_stmt *st, struct store_admin_status *o)
{
	o->oldest_gap_since = sqlite3_column_int64(st, 2);
	o->oldest_gap_next_seq = sqlite3_column_int64(st, 3);
	o->oldest_gap_next_id = sqlite3_column_int64(st, 4);
	if (store_col_dup(st, 0, &o->oldest_gap_partner) == -1 ||
	    store_col_dup(st, 1, &o->oldest_gap_tx) == -1 ||
	    store_col_dup(st, 5, &o->oldest_gap_next_state) == -1)
		return -1;
	return 0;
}

static int
row_deferred(sqlite3_stmt *st, struct store_admin_status *o)
{
	o->oldest_deferred_id = sqlite3_column_int64(st, 0);
	o->oldest_deferred_received_at = sqlite3_column_int64(st, 1);
	o->oldest_deferred_next_at = sqlite3_column_int64(st, 2);
	o->oldest_deferred_attempts = sqlite3_column_int64(st, 3);
	return 0;
}

static int
row_rates(sqlite3_stmt *st, struct store_admin_status *o)
{
	o->processed_last_minute = sqlite3_column_int64(st, 0);
	o->processed_last_hour = sqlite3_column_int64(st, 1);
	o->duplicates_last_minute = sqlite3_column_int64(st, 2);
	o->duplicates_last_hour = sqlite3_column_int64(st, 3);
	return 0;
}

static int
row_archive(sqlite3_stmt *st, struct store_admin_status *o)
{
	o->archive_failed = sqlite3_column_int64(st, 0);
	o->archive_failed_id = sqlite3_column_int64(st, 1);
	return store_col_dup(st, 2, &o->archive_failed_error);
}

static int
row_daemon(sqlite3_stmt *st, struct store_admin_status *o)
{
	o->daemon_known = true;
	o->daemon_pid = sqlite3_column_int64(st, 0);
	o->daemon_started_at = sqlite3_column_int64(st, 1);
	return store_col_dup(st, 2, &o->daemon_version);
}

int
store_admin_status(struct store *s, int64_t now, struct store_admin_status *o,
    struct spool_error *err)
{
	memset(o, 0, sizeof(*o));
	if (one_row(s, "SELECT count(*) FROM transactions "
	    "WHERE gap_since IS NOT NULL", 0, 0, row_gaps, o, err) == -1 ||
	    one_row(s, "SELECT t.partner, t.transaction_id, t.gap_since, "
	    "t.next_seq, m.id, m.state FROM transactions t "
	    "LEFT JOIN messages m ON m.id = (SELECT b.id FROM messages b "
	    "WHERE b.partner = t.partner AND "
	    "b.transaction_id = t.transaction_id AND "
	    "b.sender_seq = t.next_seq AND b.duplicate_of IS NULL AND "
	    "b.state NOT IN ('rejected', 'done') ORDER BY b.id DESC LIMIT 1) "
	    "WHERE t.gap_since IS NOT NULL "
	    "ORDER BY t.gap_since LIMIT 1", 0, 0, row_oldest_gap, o, err) == -1 ||
	    one_row(s, "SELECT id, received_at, next_attempt_at, attempts "
	    "FROM messages WHERE state = 'deferred' "
	    "ORDER BY received_at, id LIMIT 1", 0, 0, row_deferred, o,
	    err) == -1 ||
	    one_row(s, "SELECT "
	    "coalesce(sum(updated_at >= ?1 AND duplicate_of IS NULL), 0), "
	    "coalesce(sum(duplicate_of IS NULL), 0), "
	    "coalesce(sum(updated_at >= ?1 AND duplicate_of IS NOT NULL), 0), "
	    "coalesce(sum(duplicate_of IS NOT NULL), 0) "
	    "FROM messages WHERE state = 'done' AND updated_at >= ?2",
	    now - 60 * 1000, now - 3600 * 1000, row_rates, o, err) == -1 ||
	    one_row(s, "SELECT pid, started_at, version FROM daemon "
	    "WHERE id = 1", 0, 0, row_daemon, o, err) == -1 ||
	    one_row(s, "SELECT count(*), min(id), (SELECT archive_error FROM "
	    "messages WHERE archive_error IS NOT NULL AND purged_at IS NULL "
	    "ORDER BY id LIMIT 1) FROM messages WHERE archive_error IS NOT "
	    "NULL AND purged_at IS NULL", 0, 0, row_archive, o, err) == -1) {
		store_admin_status_free(o);
		return -1;
	}
	return 0;
}

int
store_admin_purge_candidates(struct store *s, int64_t before,
    int64_t below_id, int64_t limit, bool archived_only,
    int (*fn)(void *, struct store_admin_msg *), void *arg,
    struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if (prep(s, archived_only ? "SELECT " MSG_COLS " FROM messages WHERE "
	    "state = 'done' AND purged_at IS NULL AND updated_at < ?1 AND id "
	    "< ?2 AND archived_at IS NOT NULL ORDER BY id DESC LIMIT ?3" :
	    "SELECT " MSG_COLS " FROM messages WHERE state = 'done' "
	    "AND purged_at IS NULL AND updated_at < ?1 AND id < ?2 "
	    "ORDER BY id DESC LIMIT ?3", &st,
	    err) == -1)
		return -1;
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int64(st, 2, below_id);
	sqlite3_bind_int64(st, 3, limit > 0 ? limit : -1);
	rc = each_msg(s, st, fn, arg, err);
	sqlite3_finalize(st);
	return rc;
}

struct store_admin_purge *
store_admin_purge_open(struct store *s, struct spool_error *err)
{
	struct store_admin_purge *p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		spool_seterr(err, "out of memory");
		return NULL;
	}
	p->s = s;
	if (prep(s, "DELETE FROM attempts WHERE message = ?1",
	    &p->st[PURGE_ATTEMPTS], err) == -1 ||
	    prep(s, "UPDATE batch_entries SET message = NULL WHERE message = "
	    "?1 AND EXISTS (SELECT 1 FROM messages WHERE id = ?1 AND "
	    "state = 'done')", &p->st[PURGE_ENTRY], err) == -1 ||
	    prep(s, "INSERT OR REPLACE INTO tombstones (id, partner, "
	    "transaction_id, sender_seq, message_id, sha256, type, fate, "
	    "purged_at) SELECT id, partner, transaction_id, sender_seq, "
	    "message_id, sha256, type, state, "
	    "CAST(strftime('%s', 'now') AS INTEGER) * 1000 FROM messages "
	    "WHERE id = ?1 AND state = 'done' AND duplicate_of IS NULL AND "
	    "rejected = 0", &p->st[PURGE_TOMB], err) == -1 ||
	    prep(s, "DELETE FROM messages WHERE id = ?1 AND state = 'done'",
	    &p->st[PURGE_MSG], err) == -1 ||
	    prep(s, "UPDATE messages SET purged_at = "
	    "CAST(strftime('%s', 'now') AS INTEGER) * 1000 WHERE id = ?1 AND "
	    "state = 'done' AND purged_at IS NULL", &p->st[PURGE_SLIM],
	    err) == -1) {
		store_admin_purge_close(p);
		return NULL;
	}
	return p;
}

static void
purge_reset(struct store_admin_purge *p)
{
	int i;

	for (i = 0; i < PURGE_NSTMT; i++)
		sqlite3_reset(p->st[i]);
}

void
store_admin_purge_close(struct store_admin_purge *p)
{
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < PURGE_NSTMT; i++)
		sqlite3_finalize(p->st[i]);
	free(p);
}

int
store_admin_purge_row(struct store_admin_purge *p, int64_t id,
    struct spool_error *err)
{
	struct store *s = p->s;
	int i, rc;

	if (store_exec(s, "SAVEPOINT purge_row", err) == -1)
		return -1;
	purge_reset(p);
	for (i = 0; i < PURGE_NSTMT; i++)
		sqlite3_bind_int64(p->st[i], 1, id);
	for (i = 0; i < PURGE_MSG; i++)
		if (sqlite3_step(p->st[i]) != SQLITE_DONE) {
			store_stmt_err(s, NULL, err);
			goto undo;
		}
	rc = sqlite3_step(p->st[PURGE_MSG]);
	if (rc == SQLITE_DONE && sqlite3_changes(s->db) == 1) {
		purge_reset(p);
		return 1;	/* the savepoint stays open */
	}
	if (rc != SQLITE_DONE && sqlite3_extended_errcode(s->db) ==
	    SQLITE_CONSTRAINT_FOREIGNKEY) {
		/*
		 * The books name it: the failed DELETE undid itself; the
		 * row stays, slimmed and marked purged, and its file goes.
		 */
		rc = sqlite3_step(p->st[PURGE_SLIM]);
		if (rc == SQLITE_DONE && sqlite3_changes(s->db) == 1) {
			purge_reset(p);
			return 1;
		}
		if (rc != SQLITE_DONE) {
			store_stmt_err(s, NULL, err);
			goto undo;
		}
	}
	if (rc == SQLITE_DONE) {
		purge_reset(p);
		return store_admin_purge_done(p, false, err) == -1 ? -1 : 0;
	}
	store_stmt_err(s, NULL, err);
undo:
	purge_reset(p);
	store_admin_purge_done(p, false, NULL);
	return -1;
}

int
store_admin_purge_done(struct store_admin_purge *p, bool keep_deletion,
    struct spool_error *err)
{
	return store_exec(p->s, keep_deletion ? "RELEASE purge_row" :
	    "ROLLBACK TO purge_row; RELEASE purge_row", err);
}

int
store_admin_settle_removed(struct store *s, int64_t id, const char *note,
    struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc, n;

	if (store_begin(s, err) == -1)
		return -1;
	if (prep(s, "UPDATE messages SET purged_at = ?3, reason = CASE WHEN "
	    "reason IS NULL OR reason = '' THEN ?2 ELSE reason || '; ' || ?2 "
	    "END WHERE id = ?1 AND state IN ('done', 'rejected', 'failed') "
	    "AND purged_at IS NULL", &st, err) == -1) {
		store_rollback(s);
		return -1;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, note, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, store_now_ms());
	rc = sqlite3_step(st);
	n = sqlite3_changes(s->db);
	if (rc != SQLITE_DONE) {
		store_stmt_err(s, st, err);
		sqlite3_finalize(st);
		store_rollback(s);
		return -1;
	}
	sqlite3_finalize(st);
	if (store_commit(s, err) == -1) {
		store_rollback(s);
		return -1;
	}
	return n > 0;
}

/* Step one statement bound to id (and text t as ?2): SQLITE_DONE or rc. */
static int
step_id(struct store *s, const char *sql, int64_t id, const char *t,
    struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if (prep(s, sql, &st, err) == -1)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (t != NULL)
		sqlite3_bind_text(st, 2, t, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && err != NULL)
		spool_seterr(err, "%s: %s", s->path, sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return rc;
}

int
store_admin_delete(struct store *s, int64_t id, const char *note,
    struct spool_error *err)
{
	int rc;

	if (store_savepoint(s, "delete_row", err) == -1)
		return -1;
	/* A tombstone, as purge leaves (a redelivery is a duplicate); not
	 * for a rejected message, which the store never matched against. */
	if (step_id(s, "INSERT OR REPLACE INTO tombstones (id, partner, "
	    "transaction_id, sender_seq, message_id, sha256, type, fate, "
	    "purged_at) SELECT id, partner, transaction_id, sender_seq, "
	    "message_id, sha256, type, 'deleted', "
	    "CAST(strftime('%s', 'now') AS INTEGER) * 1000 FROM messages "
	    "WHERE id = ?1 AND duplicate_of IS NULL AND rejected = 0", id,
	    NULL, err) != SQLITE_DONE ||
	    step_id(s, "DELETE FROM attempts WHERE message = ?1", id, NULL,
	    err) != SQLITE_DONE ||
	    step_id(s, "UPDATE batch_entries SET message = NULL WHERE "
	    "message = ?1", id, NULL, err) != SQLITE_DONE)
		goto undo;
	rc = step_id(s, "DELETE FROM messages WHERE id = ?1", id, NULL, NULL);
	if (rc != SQLITE_DONE) {
		if (sqlite3_extended_errcode(s->db) !=
		    SQLITE_CONSTRAINT_FOREIGNKEY) {
			spool_seterr(err, "%s: %s", s->path,
			    sqlite3_errmsg(s->db));
			goto undo;
		}
		/* Another row names it: it stays, settled (done), purged,
		 * with the note as its reason (counted: store_count.c). */
		if (store_count_update(s, id, ST_DONE, NULL, note == NULL,
		    store_now_ms(), err) == -1 ||
		    step_id(s, "UPDATE messages SET state = 'done', "
		    "next_attempt_at = NULL, hold_cause = NULL, reason = ?2, "
		    "purged_at = CAST(strftime('%s', 'now') AS INTEGER) * "
		    "1000, updated_at = CAST(strftime('%s', 'now') AS "
		    "INTEGER) * 1000 WHERE id = ?1", id, note, err) !=
		    SQLITE_DONE)
			goto undo;
	}
	return store_release(s, "delete_row", err);
undo:
	if (store_rollback_to(s, "delete_row", NULL) == 0)
		store_release(s, "delete_row", NULL);
	return -1;
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
	if (prep(s, "SELECT state, count(*) FROM messages WHERE batch = ?1 "
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
	if (prep(s, "SELECT count(*) FROM batches", &st, err) == -1)
		return -1;
	rc = store_row_int64(s, st, total, err);
	sqlite3_finalize(st);
	if (rc == -1)
		return -1;
	/* One row per batch and state of its messages, newest first. */
	if (prep(s, "SELECT b.id, b.partner, b.orig_name, b.state, "
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
