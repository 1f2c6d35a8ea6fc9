/*
 * store_cycle.c - SQL of the processing cycle.
 *
 * Each statement is prepared once per store, on first use, into the
 * store's cstmt slots. All calls run inside the cycle's write
 * transaction; none commits.
 *
 * About 820 lines, one module: each function is one statement of the
 * cycle's table (the enum below) with its binds and its counting
 * (store_count.c's notes), and splitting the table would split the
 * statements' one owner.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "spooldir.h"
#include "store_cycle.h"

/* The WHERE of the partial index messages_tx_seq (store_schema.c). */
#define TX_SEQ_INDEX "transaction_id IS NOT NULL AND duplicate_of IS NULL " \
	"AND rejected = 0"

#define WORK_COLS "id, state, partner, type, transaction_id, sender_seq, " \
	"receiver_seq, attempts, file_name, retry_base, sha256, hold_cause, " \
	"dialect, test"

enum {
	CQ_READY,
	CQ_PARKED,
	CQ_DONE,
	CQ_DEFER,
	CQ_FAIL,
	CQ_QUEUE,
	CQ_ATTEMPT,
	CQ_ADVANCE,
	CQ_GAP_OPEN,
	CQ_GAP_CLOSE,
	CQ_NEXT_DUE,
	CQ_ATTEMPT_LOG,
	CQ_GET,
	CQ_WAIT,
	CQ_WAITING,
	CQ_RETRY_LIST,
	CQ_RETRIED,
	CQ_AT_SEQ,
	CQ_SKIPPED,
	CQ_ADD_SKIP,
	CQ_GAPS_DUE,
	CQ_GAPS_MARK,
	CQ_NEXT_GAP,
	CQ_GAP_STATE,
	CQ_HOLD_LIST,
	CQ_HELD,
	CQ_HELD_LIST,
	CQ_RELEASED,
	CQ_ACTION,
	CQ_DELETE_HELD,
	CQ_COUNT
};

_Static_assert(CQ_COUNT <= sizeof(((struct store *)0)->cstmt) /
    sizeof(sqlite3_stmt *), "struct store has too few cstmt slots");

static const char *sql[CQ_COUNT] = {
	[CQ_READY] = "SELECT " WORK_COLS " FROM messages WHERE (state = "
	    "'queue' OR (state = 'deferred' AND next_attempt_at <= ?1)) "
	    "AND waiting = 0 ORDER BY id LIMIT ?2",
	[CQ_GET] = "SELECT " WORK_COLS " FROM messages WHERE id = ?1",
	[CQ_RETRY_LIST] = "SELECT " WORK_COLS " FROM messages WHERE state IN "
	    "('failed', 'deferred') AND (?1 = 0 OR id = ?1) AND (?2 IS NULL OR "
	    "(partner = ?2 AND transaction_id = ?3)) AND (?4 = 0 OR state = "
	    "'failed') AND waiting = 0 ORDER BY id",
	[CQ_RETRIED] = "UPDATE messages SET state = 'queue', next_attempt_at "
	    "= NULL, reason = NULL, retry_base = attempts, updated_at = ?2 "
	    "WHERE id = ?1",
	[CQ_AT_SEQ] = "SELECT " WORK_COLS " FROM messages WHERE partner = ?1 "
	    "AND transaction_id = ?2 AND sender_seq = ?3 AND " TX_SEQ_INDEX,
	[CQ_SKIPPED] = "UPDATE messages SET state = 'done', next_attempt_at = "
	    "NULL, reason = ?2, updated_at = ?3 WHERE id = ?1",
	[CQ_GAPS_DUE] = "SELECT partner, transaction_id, gap_since, next_seq "
	    "FROM transactions WHERE gap_since IS NOT NULL AND gap_since <= ?1 "
	    "AND gap_alerted = 0",
	[CQ_GAPS_MARK] = "UPDATE transactions SET gap_alerted = 1 WHERE "
	    "gap_since IS NOT NULL AND gap_since <= ?1 AND gap_alerted = 0",
	[CQ_NEXT_GAP] = "SELECT min(gap_since) FROM transactions WHERE "
	    "gap_since IS NOT NULL AND gap_alerted = 0",
	[CQ_GAP_STATE] = "SELECT gap_since, gap_alerted FROM transactions "
	    "WHERE partner = ?1 AND transaction_id = ?2",
	[CQ_ADD_SKIP] = "INSERT INTO skips (partner, transaction_id, seq, "
	    "reason, user, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[CQ_WAIT] = "UPDATE messages SET waiting = ?2 WHERE id = ?1",
	/* What can be held: accepted, not done, no external call running. */
	[CQ_HOLD_LIST] = "SELECT " WORK_COLS " FROM messages WHERE state IN "
	    "('queue', 'parked', 'deferred', 'failed') AND (?1 = 0 OR id = "
	    "?1) AND (?2 IS NULL OR (partner = ?2 AND transaction_id = ?3)) "
	    "AND waiting = 0 AND duplicate_of IS NULL ORDER BY id",
	[CQ_HELD] = "UPDATE messages SET state = 'held', next_attempt_at = "
	    "NULL, reason = ?2, updated_at = ?3, hold_cause = ?4, attempts = "
	    "max(attempts, ?5) WHERE id = ?1",
	/* Held ones; with ?4, only those spoold held for that cause. */
	[CQ_HELD_LIST] = "SELECT " WORK_COLS " FROM messages WHERE state = "
	    "'held' AND (?1 = 0 OR id = ?1) AND (?2 IS NULL OR (partner = ?2 "
	    "AND transaction_id = ?3)) AND (?4 IS NULL OR hold_cause = ?4 OR "
	    "(?4 = '*' AND hold_cause IS NOT NULL)) ORDER BY id",
	[CQ_DELETE_HELD] = "DELETE FROM messages WHERE id = ?1 AND state = "
	    "'held'",
	[CQ_ACTION] = "INSERT INTO actions (message, act, user, reason, at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5)",
	[CQ_RELEASED] = "UPDATE messages SET state = ?2, next_attempt_at = "
	    "NULL, reason = NULL, hold_cause = NULL, retry_base = attempts, "
	    "updated_at = ?3 WHERE id = ?1 AND state = 'held'",
	[CQ_WAITING] = "SELECT waiting FROM messages WHERE id = ?1",
	/*
	 * The terms of the partial index messages_tx_seq are spelt out so
	 * that SQLite uses it: a search over all parked messages per
	 * processed one would make a cycle quadratic in the parked count.
	 */
	[CQ_PARKED] = "SELECT " WORK_COLS " FROM messages WHERE partner = ?1 "
	    "AND transaction_id = ?2 AND sender_seq > ?3 AND " TX_SEQ_INDEX
	    " AND state = 'parked' ORDER BY sender_seq LIMIT 1",
	[CQ_DONE] = "UPDATE messages SET state = 'done', attempts = attempts "
	    "+ 1, next_attempt_at = NULL, reason = NULL, updated_at = ?2 "
	    "WHERE id = ?1",
	[CQ_DEFER] = "UPDATE messages SET state = 'deferred', attempts = "
	    "attempts + 1, next_attempt_at = ?2, reason = ?3, updated_at = ?4 "
	    "WHERE id = ?1",
	[CQ_FAIL] = "UPDATE messages SET state = 'failed', attempts = "
	    "attempts + 1, next_attempt_at = NULL, reason = ?2, updated_at = "
	    "?3 WHERE id = ?1",
	[CQ_QUEUE] = "UPDATE messages SET state = 'queue', updated_at = ?2 "
	    "WHERE id = ?1",
	/*
	 * An upsert, not INSERT OR REPLACE: REPLACE may delete a row, which
	 * costs every call a statement journal. A row for the same attempt
	 * cannot exist (attempts only grows, in the same transaction), but
	 * if it ever did, the newer outcome wins instead of stalling.
	 */
	[CQ_ATTEMPT] = "INSERT INTO attempts (message, attempt, "
	    "started_at, finished_at, outcome, error) VALUES (?1, ?2, ?3, ?4, "
	    "?5, ?6) ON CONFLICT (message, attempt) DO UPDATE SET "
	    "started_at = excluded.started_at, finished_at = "
	    "excluded.finished_at, outcome = excluded.outcome, error = "
	    "excluded.error",
	[CQ_ADVANCE] = "UPDATE transactions SET next_seq = ?3 + 1, "
	    "updated_at = ?4 WHERE partner = ?1 AND transaction_id = ?2 AND "
	    "next_seq = ?3",
	/* Open already: nothing to write (a run released with more of it
	 * parked behind asks at each message). */
	[CQ_GAP_OPEN] = "UPDATE transactions SET gap_since = ?3 WHERE "
	    "partner = ?1 AND transaction_id = ?2 AND gap_since IS NULL",
	[CQ_GAP_CLOSE] = "UPDATE transactions SET gap_since = NULL, "
	    "gap_alerted = 0 WHERE partner = ?1 AND transaction_id = ?2",
	[CQ_NEXT_DUE] = "SELECT min(next_attempt_at) FROM messages WHERE "
	    "state = 'deferred' AND waiting = 0",
	[CQ_ATTEMPT_LOG] = "SELECT attempt, started_at, outcome, error FROM "
	    "attempts WHERE message = ?1 ORDER BY attempt",
};

/* Statement slots live after the store's own ones (see store.h). */
static sqlite3_stmt *
stmt(struct store *s, int id, struct spool_error *err)
{
	return store_prepare(s, &s->cstmt[id], sql[id], err);
}

void
store_work_free(struct store_work *w)
{
	free(w->partner);
	free(w->type);
	free(w->transaction_id);
	free(w->file_name);
	free(w->hold_cause);
	free(w->dialect);
	memset(w, 0, sizeof(*w));
}

static int
fill_work(sqlite3_stmt *st, struct store_work *w)
{
	memset(w, 0, sizeof(*w));
	w->id = sqlite3_column_int64(st, 0);
	w->state = spool_state_parse((const char *)sqlite3_column_text(st, 1));
	w->partner = store_col_strdup(st, 2);
	w->type = store_col_strdup(st, 3);
	w->transaction_id = store_col_strdup(st, 4);
	w->sender_seq = sqlite3_column_int64(st, 5);
	w->receiver_seq = sqlite3_column_int64(st, 6);
	w->attempts = sqlite3_column_int(st, 7);
	w->file_name = store_col_strdup(st, 8);
	w->retry_base = sqlite3_column_int(st, 9);
	if (sqlite3_column_bytes(st, 10) == (int)sizeof(w->sha256)) {
		memcpy(w->sha256, sqlite3_column_blob(st, 10),
		    sizeof(w->sha256));
		w->has_sha256 = true;
	}
	w->hold_cause = store_col_strdup(st, 11);
	w->dialect = store_col_strdup(st, 12);
	w->test = sqlite3_column_int(st, 13) != 0;
	if (w->partner == NULL || w->file_name == NULL ||
	    (sqlite3_column_type(st, 11) != SQLITE_NULL &&
	    w->hold_cause == NULL) ||
	    (sqlite3_column_type(st, 12) != SQLITE_NULL &&
	    w->dialect == NULL) ||
	    (sqlite3_column_type(st, 4) != SQLITE_NULL &&
	    w->transaction_id == NULL)) {
		store_work_free(w);
		return -1;
	}
	return 0;
}

/* Step a statement that yields at most one work row: 1, 0, -1. */
static int
one_work(struct store *s, sqlite3_stmt *st, struct store_work *w,
    struct spool_error *err)
{
	int rc = store_row(s, st, err);

	if (rc == 1 && fill_work(st, w) == -1) {
		spool_seterr(err, "out of memory");
		rc = -1;
	}
	sqlite3_reset(st);
	return rc;
}

/*
 * Step st (reset after) for at most max rows, each a store_work in
 * *out (malloc'd, *n of them; NULL when none). 0, or -1 (err) with
 * nothing left to free.
 */
static int
collect_work(struct store *s, sqlite3_stmt *st, size_t max,
    struct store_work **out, size_t *n, struct spool_error *err)
{
	struct store_work *v = NULL, *nv;
	size_t k = 0, cap = 0;
	int rc = 0;

	*out = NULL;
	*n = 0;
	while (k < max && (rc = store_row(s, st, err)) == 1) {
		if (k == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL)
				goto oom;
			v = nv;
		}
		if (fill_work(st, &v[k]) == -1)
			goto oom;
		k++;
	}
	sqlite3_reset(st);
	if (rc == -1)
		goto fail;
	*out = v;
	*n = k;
	return 0;
oom:
	sqlite3_reset(st);
	spool_seterr(err, "out of memory");
fail:
	while (k > 0)
		store_work_free(&v[--k]);
	free(v);
	return -1;
}

int
store_ready(struct store *s, int64_t now, size_t max, struct store_work **out,
    size_t *n, struct spool_error *err)
{
	sqlite3_stmt *st;

	*out = NULL;
	*n = 0;
	if ((st = stmt(s, CQ_READY, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, (int64_t)max);
	return collect_work(s, st, max, out, n, err);
}

/* The message statement id finds at seq of partner's transaction tx. */
static int
work_at(struct store *s, int id, const char *partner, const char *tx,
    int64_t seq, struct store_work *w, struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, id, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, seq);
	return one_work(s, st, w, err);
}

int
store_parked_after(struct store *s, const char *partner, const char *tx,
    int64_t after, struct store_work *w, struct spool_error *err)
{
	return work_at(s, CQ_PARKED, partner, tx, after, w, err);
}

/*
 * Step st, an UPDATE of message id's state to `to' (from `from' only,
 * when not NULL), counted (store_count.c; no_reason: its reason is NULL
 * afterwards, now: its updated_at).
 */
static int
step_counted(struct store *s, sqlite3_stmt *st, int64_t id, int to,
    const char *from, bool no_reason, int64_t now, struct spool_error *err)
{
	if (store_count_update(s, id, to, from, no_reason, now, err) == -1) {
		sqlite3_reset(st);
		return -1;
	}
	return store_step_done(s, st, err);
}

int
store_mark_done(struct store *s, int64_t id, struct spool_error *err)
{
	sqlite3_stmt *st;
	int64_t now = store_now_ms();

	if ((st = stmt(s, CQ_DONE, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	return step_counted(s, st, id, ST_DONE, NULL, true, now, err);
}

int
store_mark_deferred(struct store *s, int64_t id, int64_t next_at,
    const char *reason, struct spool_error *err)
{
	sqlite3_stmt *st;
	int64_t now = store_now_ms();

	if ((st = stmt(s, CQ_DEFER, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, next_at);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	return step_counted(s, st, id, ST_DEFERRED, NULL, reason == NULL,
	    now, err);
}

/* A verdict with a reason (failed, skipped): id, reason, now. */
static int
mark_with_reason(struct store *s, int which, int64_t id,
    const char *reason, struct spool_error *err)
{
	sqlite3_stmt *st;
	int64_t now = store_now_ms();

	if ((st = stmt(s, which, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	return step_counted(s, st, id, which == CQ_FAIL ? ST_FAILED : ST_DONE,
	    NULL, reason == NULL, now, err);
}

int
store_mark_failed(struct store *s, int64_t id, const char *reason,
    struct spool_error *err)
{
	return mark_with_reason(s, CQ_FAIL, id, reason, err);
}

int
store_mark_queued(struct store *s, int64_t id, struct spool_error *err)
{
	sqlite3_stmt *st;

	int64_t now = store_now_ms();

	if ((st = stmt(s, CQ_QUEUE, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	return step_counted(s, st, id, ST_QUEUE, NULL, false, now, err);
}

int
store_add_attempt(struct store *s, int64_t id, int attempt, int64_t started,
    const char *outcome, const char *error, struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, CQ_ATTEMPT, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, attempt);
	sqlite3_bind_int64(st, 3, started);
	sqlite3_bind_int64(st, 4, store_now_ms());
	sqlite3_bind_text(st, 5, outcome, -1, SQLITE_STATIC);
	if (error != NULL)
		sqlite3_bind_text(st, 6, error, -1, SQLITE_STATIC);
	return store_step_done(s, st, err);
}

int
store_tx_advance(struct store *s, const char *partner, const char *tx,
    int64_t seq, struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, CQ_ADVANCE, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, seq);
	sqlite3_bind_int64(st, 4, store_now_ms());
	return store_step_done(s, st, err);
}

int
store_tx_set_gap(struct store *s, const char *partner, const char *tx,
    int open, struct spool_error *err)
{
	return store_tx_set_gap_known(s, partner, tx, open, NULL, err);
}

int
store_tx_set_gap_known(struct store *s, const char *partner, const char *tx,
    int open, const struct store_gap *g, struct spool_error *err)
{
	struct store_gap rd;
	sqlite3_stmt *st;
	bool row = true;

	/*
	 * A gap that was reported is reported again when it closes. No gap
	 * open, nothing to write: the common case (each message of a
	 * transaction arriving in order) costs a look-up, not a row (nor
	 * that when the caller knows the row's gap).
	 */
	if (!open && g == NULL) {
		memset(&rd, 0, sizeof(rd));
		if ((st = stmt(s, CQ_GAP_STATE, err)) == NULL)
			return -1;
		sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, tx, -1, SQLITE_STATIC);
		if ((row = sqlite3_step(st) == SQLITE_ROW)) {
			rd.open = sqlite3_column_type(st, 0) != SQLITE_NULL;
			rd.since = sqlite3_column_int64(st, 0);
			rd.alerted = sqlite3_column_int(st, 1) != 0;
		}
		sqlite3_reset(st);
		g = &rd;
	}
	if (!open) {
		if (row && g->open && g->alerted)
			log_notice("event=gap_closed partner=%s tx=%s "
			    "waited_s=%" PRId64, LOG_Q(partner), LOG_Q(tx),
			    (store_now_ms() - g->since) / 1000);
		if (!row || (!g->open && !g->alerted))
			return 0;
	} else if (g != NULL && g->open)
		return 0;	/* open already: nothing to write */

	if ((st = stmt(s, open ? CQ_GAP_OPEN : CQ_GAP_CLOSE, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx, -1, SQLITE_STATIC);
	if (open)
		sqlite3_bind_int64(st, 3, store_now_ms());
	return store_step_done(s, st, err);
}

/* A query of one nullable integer: 1 with *v set, 0 when NULL, -1. */
static int
scalar_int64(struct store *s, int q, int64_t *v, struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	if ((st = stmt(s, q, err)) == NULL)
		return -1;
	if ((rc = store_row(s, st, err)) == -1)
		found = -1;
	else if (rc == 1 && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*v = sqlite3_column_int64(st, 0);
		found = 1;
	}
	sqlite3_reset(st);
	return found;
}

int
store_next_due(struct store *s, int64_t *at, struct spool_error *err)
{
	return scalar_int64(s, CQ_NEXT_DUE, at, err);
}

int
store_attempt_log(struct store *s, int64_t id, char *buf, size_t len,
    struct spool_error *err)
{
	sqlite3_stmt *st;
	size_t o = 0;
	int rc;

	buf[0] = '\0';
	if ((st = stmt(s, CQ_ATTEMPT_LOG, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && o + 1 < len) {
		const unsigned char *e = sqlite3_column_text(st, 3);
		int n;

		time_t t = (time_t)(sqlite3_column_int64(st, 1) / 1000);
		struct tm tm;
		char when[32];

		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		n = snprintf(buf + o, len - o, "attempt %d at %s: %s: %s\n",
		    sqlite3_column_int(st, 0), when,
		    (const char *)sqlite3_column_text(st, 2),
		    e != NULL ? (const char *)e : "");
		if (n < 0)
			break;
		o += (size_t)n < len - o ? (size_t)n : len - o - 1;
	}
	sqlite3_reset(st);
	return 0;
}

static int
savepoint_sql(struct store *s, const char *verb, const char *name,
    struct spool_error *err)
{
	char q[96];

	/* name is one of the cycle's own constant identifiers. */
	snprintf(q, sizeof(q), "%s %s", verb, name);
	return store_exec_cached(s, q, err);
}

/* Each keeps the notes of what /metrics counts in step (store_count.c). */
int
store_savepoint(struct store *s, const char *name, struct spool_error *err)
{
	if (savepoint_sql(s, "SAVEPOINT", name, err) == -1)
		return -1;
	store_count_savepoint(s, name);
	return 0;
}

int
store_release(struct store *s, const char *name, struct spool_error *err)
{
	if (savepoint_sql(s, "RELEASE", name, err) == -1)
		return -1;
	store_count_release(s, name);
	return 0;
}

int
store_rollback_to(struct store *s, const char *name, struct spool_error *err)
{
	if (savepoint_sql(s, "ROLLBACK TO", name, err) == -1)
		return -1;
	store_count_rollback_to(s, name);
	return 0;
}

int
store_work_get(struct store *s, int64_t id, struct store_work *w,
    struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, CQ_GET, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return one_work(s, st, w, err);
}

int
store_set_waiting(struct store *s, int64_t id, bool waiting,
    struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, CQ_WAIT, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, waiting ? 1 : 0);
	return store_step_done(s, st, err);
}

int
store_is_waiting(struct store *s, int64_t id, struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc, v = 0;

	if ((st = stmt(s, CQ_WAITING, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0) != 0;
	else if (rc != SQLITE_DONE)
		return store_stmt_err(s, st, err);
	sqlite3_reset(st);
	return v;
}

/*
 * The messages a lever's list statement q finds: one by id (or 0), or
 * those of partner's transaction tx (partner NULL: any); ?4 is flag
 * (an int) or, with cause set, that text.
 */
static int
work_list(struct store *s, int q, int64_t id, const char *partner,
    const char *tx, int flag, const char *cause, struct store_work **out,
    size_t *n, struct spool_error *err)
{
	sqlite3_stmt *st;

	*out = NULL;
	*n = 0;
	if ((st = stmt(s, q, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (partner != NULL) {
		sqlite3_bind_text(st, 2, partner, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, tx, -1, SQLITE_STATIC);
	}
	if (cause != NULL)
		sqlite3_bind_text(st, 4, cause, -1, SQLITE_STATIC);
	else if (q == CQ_RETRY_LIST)
		sqlite3_bind_int(st, 4, flag);
	return collect_work(s, st, SIZE_MAX, out, n, err);
}

int
store_retry_candidates(struct store *s, int64_t id, const char *partner,
    const char *tx, bool failed_only, struct store_work **out, size_t *n,
    struct spool_error *err)
{
	return work_list(s, CQ_RETRY_LIST, id, partner, tx, failed_only, NULL,
	    out, n, err);
}

int
store_hold_candidates(struct store *s, int64_t id, const char *partner,
    const char *tx, struct store_work **out, size_t *n,
    struct spool_error *err)
{
	return work_list(s, CQ_HOLD_LIST, id, partner, tx, 0, NULL, out, n,
	    err);
}

int
store_held(struct store *s, int64_t id, const char *partner, const char *tx,
    const char *cause, struct store_work **out, size_t *n,
    struct spool_error *err)
{
	return work_list(s, CQ_HELD_LIST, id, partner, tx, 0, cause, out, n,
	    err);
}

int
store_mark_held(struct store *s, int64_t id, const char *reason,
    const char *cause, int attempts, struct spool_error *err)
{
	sqlite3_stmt *st;
	int64_t now = store_now_ms();

	if ((st = stmt(s, CQ_HELD, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	if (cause != NULL)
		sqlite3_bind_text(st, 4, cause, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, attempts);
	return step_counted(s, st, id, ST_HELD, NULL, reason == NULL, now,
	    err);
}

int
store_mark_released(struct store *s, int64_t id, int to_state,
    struct spool_error *err)
{
	sqlite3_stmt *st;
	int64_t now = store_now_ms();

	if ((st = stmt(s, CQ_RELEASED, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, spool_state_name(to_state), -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	return step_counted(s, st, id, to_state, "held", true, now, err);
}

int
store_delete_held(struct store *s, int64_t id, struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, CQ_DELETE_HELD, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return store_step_done(s, st, err);
}

int
store_add_action(struct store *s, int64_t id, const char *act,
    const char *user, const char *reason, struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, CQ_ACTION, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, act, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, user, -1, SQLITE_STATIC);
	if (reason != NULL)
		sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, store_now_ms());
	return store_step_done(s, st, err);
}

int
store_mark_retried(struct store *s, int64_t id, struct spool_error *err)
{
	sqlite3_stmt *st;
	int64_t now = store_now_ms();

	if ((st = stmt(s, CQ_RETRIED, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	return step_counted(s, st, id, ST_QUEUE, NULL, true, now, err);
}

int
store_at_seq(struct store *s, const char *partner, const char *tx,
    int64_t seq, struct store_work *w, struct spool_error *err)
{
	return work_at(s, CQ_AT_SEQ, partner, tx, seq, w, err);
}

int
store_mark_skipped(struct store *s, int64_t id, const char *reason,
    struct spool_error *err)
{
	return mark_with_reason(s, CQ_SKIPPED, id, reason, err);
}

int
store_add_skip(struct store *s, const char *partner, const char *tx,
    int64_t seq, const char *user, const char *reason,
    struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, CQ_ADD_SKIP, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, seq);
	sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, store_now_ms());
	return store_step_done(s, st, err);
}

int
store_gaps_alert(struct store *s, int64_t older_than,
    void (*fn)(void *, const char *, const char *, int64_t, int64_t),
    void *arg, struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc, n = 0;

	if ((st = stmt(s, CQ_GAPS_DUE, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, older_than);
	while ((rc = store_row(s, st, err)) == 1) {
		fn(arg, (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3));
		n++;
	}
	sqlite3_reset(st);
	if (rc == -1)
		return -1;
	if (n == 0)
		return 0;
	if ((st = stmt(s, CQ_GAPS_MARK, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, older_than);
	return store_step_done(s, st, err) == -1 ? -1 : n;
}

int
store_next_gap(struct store *s, int64_t *since, struct spool_error *err)
{
	return scalar_int64(s, CQ_NEXT_GAP, since, err);
}
