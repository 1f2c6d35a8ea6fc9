/*
 * store_stats.c - the read-only queries of the HTTP thread (see
 * store_stats.h).
 *
 * Cost per scrape: nothing here grows with the number of messages.
 * The counts, totals and latency buckets are the small tables that
 * store_schema.c's triggers keep (migration 13: one row per state and
 * partner directory, per event, partner and type -- at most 1000
 * types -- and per partner and bucket); the oldest gap and the oldest
 * deferred message are one index seek each (transactions_gap,
 * messages_deferred).
 */
#include "config.h"

#include <sqlite3.h>
#include <stdlib.h>

#include "store_stats.h"

#define STATS_BUSY_MS	2000

struct store_stats {
	sqlite3		*db;
	sqlite3_stmt	*ping, *counts, *events, *latency, *le, *gap,
			*deferred, *acks_overdue;
};

static int
prep(struct store_stats *s, const char *sql, sqlite3_stmt **st,
    struct spool_error *err)
{
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
	    NULL) != SQLITE_OK) {
		spool_seterr(err, "store (read-only): %s",
		    sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

struct store_stats *
store_stats_open(const char *path, struct spool_error *err)
{
	struct store_stats *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		spool_seterr(err, "out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		spool_seterr(err, "%s: %s", path, s->db != NULL ?
		    sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	(void)sqlite3_busy_timeout(s->db, STATS_BUSY_MS);
	if (prep(s, "SELECT 1 FROM messages LIMIT 1", &s->ping, err) == -1 ||
	    prep(s, "SELECT state, partner, n FROM stats_state", &s->counts,
	    err) == -1 ||
	    prep(s, "SELECT event, partner, type, n FROM stats_events",
	    &s->events, err) == -1 ||
	    prep(s, "SELECT partner, le, n, sum_ms FROM stats_latency",
	    &s->latency, err) == -1 ||
	    prep(s, "SELECT le FROM stats_le ORDER BY le", &s->le, err) ==
	    -1 ||
	    prep(s, "SELECT min(gap_since) FROM transactions "
	    "WHERE gap_since IS NOT NULL", &s->gap, err) == -1 ||
	    prep(s, "SELECT min(received_at) FROM messages "
	    "INDEXED BY messages_deferred WHERE state = 'deferred'",
	    &s->deferred, err) == -1 ||
	    prep(s, "SELECT count(*) FROM our_interchanges INDEXED BY "
	    "our_interchanges_pending WHERE state = 'pending' AND "
	    "overdue_at IS NOT NULL", &s->acks_overdue, err) == -1)
		goto fail;
	return s;
fail:
	store_stats_close(s);
	return NULL;
}

void
store_stats_close(struct store_stats *s)
{
	if (s == NULL)
		return;
	sqlite3_finalize(s->ping);
	sqlite3_finalize(s->counts);
	sqlite3_finalize(s->events);
	sqlite3_finalize(s->latency);
	sqlite3_finalize(s->le);
	sqlite3_finalize(s->gap);
	sqlite3_finalize(s->deferred);
	sqlite3_finalize(s->acks_overdue);
	sqlite3_close(s->db);
	free(s);
}

static int
step_err(struct store_stats *s, sqlite3_stmt *st, struct spool_error *err)
{
	spool_seterr(err, "store (read-only): %s", sqlite3_errmsg(s->db));
	sqlite3_reset(st);
	return -1;
}

int
store_stats_begin(struct store_stats *s, struct spool_error *err)
{
	if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		spool_seterr(err, "store (read-only): %s",
		    sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

void
store_stats_end(struct store_stats *s)
{
	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
}

int
store_stats_ping(struct store_stats *s, struct spool_error *err)
{
	int rc = sqlite3_step(s->ping);

	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return step_err(s, s->ping, err);
	sqlite3_reset(s->ping);
	return 0;
}

int
store_stats_counts(struct store_stats *s, void (*cb)(void *, const char *,
    const char *, int64_t), void *arg, struct spool_error *err)
{
	int rc;

	while ((rc = sqlite3_step(s->counts)) == SQLITE_ROW)
		cb(arg, (const char *)sqlite3_column_text(s->counts, 0),
		    (const char *)sqlite3_column_text(s->counts, 1),
		    sqlite3_column_int64(s->counts, 2));
	if (rc != SQLITE_DONE)
		return step_err(s, s->counts, err);
	sqlite3_reset(s->counts);
	return 0;
}

int
store_stats_events(struct store_stats *s, void (*cb)(void *, const char *,
    const char *, const char *, int64_t), void *arg,
    struct spool_error *err)
{
	int rc;

	while ((rc = sqlite3_step(s->events)) == SQLITE_ROW)
		cb(arg, (const char *)sqlite3_column_text(s->events, 0),
		    (const char *)sqlite3_column_text(s->events, 1),
		    (const char *)sqlite3_column_text(s->events, 2),
		    sqlite3_column_int64(s->events, 3));
	if (rc != SQLITE_DONE)
		return step_err(s, s->events, err);
	sqlite3_reset(s->events);
	return 0;
}

int
store_stats_latency_le(struct store_stats *s, int64_t *le, size_t max,
    size_t *n, struct spool_error *err)
{
	int rc;

	*n = 0;
	while ((rc = sqlite3_step(s->le)) == SQLITE_ROW)
		if (*n < max)
			le[(*n)++] = sqlite3_column_int64(s->le, 0);
	if (rc != SQLITE_DONE)
		return step_err(s, s->le, err);
	sqlite3_reset(s->le);
	return 0;
}

int
store_stats_latency(struct store_stats *s, void (*cb)(void *, const char *,
    int64_t, int64_t, int64_t), void *arg, struct spool_error *err)
{
	int rc;

	while ((rc = sqlite3_step(s->latency)) == SQLITE_ROW)
		cb(arg, (const char *)sqlite3_column_text(s->latency, 0),
		    sqlite3_column_int64(s->latency, 1),
		    sqlite3_column_int64(s->latency, 2),
		    sqlite3_column_int64(s->latency, 3));
	if (rc != SQLITE_DONE)
		return step_err(s, s->latency, err);
	sqlite3_reset(s->latency);
	return 0;
}

static int
one(struct store_stats *s, sqlite3_stmt *st, int64_t *out,
    struct spool_error *err)
{
	int rc = sqlite3_step(st);

	*out = 0;
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		return step_err(s, st, err);
	sqlite3_reset(st);
	return 0;
}

int
store_stats_oldest(struct store_stats *s, int64_t *gap_since,
    int64_t *deferred_since, struct spool_error *err)
{
	if (one(s, s->gap, gap_since, err) == -1 ||
	    one(s, s->deferred, deferred_since, err) == -1)
		return -1;
	return 0;
}

int
store_stats_acks_overdue(struct store_stats *s, int64_t *n,
    struct spool_error *err)
{
	return one(s, s->acks_overdue, n, err);
}
