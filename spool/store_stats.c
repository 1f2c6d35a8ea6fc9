/*
 * store_stats.c - the read-only queries of the HTTP thread (see
 * store_stats.h).
 *
 * Cost per scrape: the counts per (state, partner) walk the index
 * messages_state (one entry per message; no table data but the
 * partner) and the oldest gap and deferred message are one index seek
 * each (transactions_gap, messages_state). The counts are the one part
 * that grows with the store; http.c caches them for a few seconds so
 * that scrapes in quick succession do not repeat the walk.
 */
#include "config.h"

#include <sqlite3.h>
#include <stdlib.h>

#include "store_stats.h"

#define STATS_BUSY_MS	2000

struct store_stats {
	sqlite3		*db;
	sqlite3_stmt	*ping, *counts, *gap, *deferred;
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
	    prep(s, "SELECT state, partner, count(*) FROM messages "
	    "INDEXED BY messages_state GROUP BY state, partner", &s->counts,
	    err) == -1 ||
	    prep(s, "SELECT min(gap_since) FROM transactions "
	    "WHERE gap_since IS NOT NULL", &s->gap, err) == -1 ||
	    prep(s, "SELECT min(updated_at) FROM messages "
	    "WHERE state = 'deferred'", &s->deferred, err) == -1)
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
	sqlite3_finalize(s->gap);
	sqlite3_finalize(s->deferred);
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
