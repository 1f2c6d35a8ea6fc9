/*
 * store_summary.h - the figures of the HTTP API's /api/metrics/summary
 * and /api/metrics/time-series: rates, drop-to-done latencies and
 * processed/failed counts per time step, read from the messages table.
 *
 * Read-only: for a reader's struct store (STORE_READER), inside the
 * caller's read transaction if it wants one snapshot. Each returns 0,
 * or -1 with err filled.
 */
#ifndef SPOOL_STORE_SUMMARY_H
#define SPOOL_STORE_SUMMARY_H

#include <stdint.h>

#include "error.h"
#include "store.h"

/* At most this many latencies are looked at for the quantiles. */
#define SUMMARY_LATENCY_MAX	200000

/*
 * Messages processed (done, not duplicates) and failed since `since'
 * (ms since the epoch; by the time their row last changed).
 */
int	store_summary_since(struct store *, int64_t since, int64_t *processed,
	    int64_t *failed, struct spool_error *);

/*
 * The drop-to-done latencies (ms, updated_at - received_at) of the
 * messages processed since `since', ascending: *out (the caller frees
 * it) and *n (at most SUMMARY_LATENCY_MAX, the most recent).
 */
int	store_summary_latencies(struct store *, int64_t since, int64_t **out,
	    size_t *n, struct spool_error *);

/*
 * Processed and failed messages per step of `step' ms from `from' on:
 * fn(arg, index of the step, processed, failed) for each step that has
 * any, in order.
 */
int	store_summary_series(struct store *, int64_t from, int64_t step,
	    void (*fn)(void *, int64_t idx, int64_t processed, int64_t failed),
	    void *arg, struct spool_error *);

#endif
