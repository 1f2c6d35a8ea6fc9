/*
 * store_summary.c - the figures of /api/metrics/summary and
 * /api/metrics/time-series (see store_summary.h).
 *
 * Cost: each query walks the index messages_state for the states done
 * and failed and reads the rows it finds there, filtering on
 * updated_at: it grows with done/ (which retention keeps bounded), not
 * with what spoold does meanwhile, and it runs on the HTTP thread's
 * read-only connection, so a slow one never holds the store thread up.
 * The Prometheus exposition (/metrics) does not use these.
 */
#include "config.h"

#include <stdlib.h>

#include "store_summary.h"

int
store_summary_since(struct store *s, int64_t since, int64_t *processed,
    int64_t *failed, struct spool_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*processed = *failed = 0;
	if (store_prepare(s, &st, "SELECT state, count(*) FROM messages "
	    "WHERE state IN ('done', 'failed') AND updated_at >= ?1 AND "
	    "duplicate_of IS NULL GROUP BY state", err) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(st, 0);

		if (state != NULL && state[0] == 'd')
			*processed = sqlite3_column_int64(st, 1);
		else
			*failed = sqlite3_column_int64(st, 1);
	}
	if (rc != SQLITE_DONE) {
		store_stmt_err(s, st, err);
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

int
store_summary_latencies(struct store *s, int64_t since, int64_t **out,
    size_t *n, struct spool_error *err)
{
	sqlite3_stmt *st = NULL;
	int64_t *v = NULL, *nv;
	size_t len = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (store_prepare(s, &st, "SELECT updated_at - received_at FROM "
	    "messages WHERE state = 'done' AND updated_at >= ?1 AND "
	    "duplicate_of IS NULL ORDER BY updated_at DESC LIMIT ?2",
	    err) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int64(st, 2, SUMMARY_LATENCY_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 256;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				spool_seterr(err, "out of memory");
				goto fail;
			}
			v = nv;
		}
		v[len++] = sqlite3_column_int64(st, 0);
	}
	if (rc != SQLITE_DONE) {
		store_stmt_err(s, st, err);
		goto fail;
	}
	sqlite3_finalize(st);
	if (len > 0)
		qsort(v, len, sizeof(*v), cmp64);
	*out = v;
	*n = len;
	return 0;
fail:
	sqlite3_finalize(st);
	free(v);
	return -1;
}

int
store_summary_series(struct store *s, int64_t from, int64_t step,
    void (*fn)(void *, int64_t, int64_t, int64_t), void *arg,
    struct spool_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (step <= 0) {
		spool_seterr(err, "the step must be positive");
		return -1;
	}
	if (store_prepare(s, &st, "SELECT (updated_at - ?1) / ?2 AS b, "
	    "sum(state = 'done'), sum(state = 'failed') FROM messages "
	    "WHERE state IN ('done', 'failed') AND updated_at >= ?1 AND "
	    "duplicate_of IS NULL GROUP BY b ORDER BY b", err) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, step);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(arg, sqlite3_column_int64(st, 0),
		    sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2));
	if (rc != SQLITE_DONE) {
		store_stmt_err(s, st, err);
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}
