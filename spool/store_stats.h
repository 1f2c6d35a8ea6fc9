/*
 * store_stats.h - read-only queries for the HTTP thread's metrics and
 * health checks, on a connection of their own.
 *
 * The connection is opened read-only (SQLITE_OPEN_READONLY) by the
 * thread that uses it and used by that thread alone; in WAL mode its
 * reads never block the store thread's writes, nor do they block
 * on them.
 */
#ifndef SPOOL_STORE_STATS_H
#define SPOOL_STORE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct store_stats;

/* Open the store at path read-only: the handle, or NULL (err). */
struct store_stats *store_stats_open(const char *path, struct spool_error *);
void	store_stats_close(struct store_stats *);

/*
 * Read the following from one snapshot of the store, until
 * store_stats_end (a read transaction: hold it for the reads only).
 * 0, or -1 (err).
 */
int	store_stats_begin(struct store_stats *, struct spool_error *);
void	store_stats_end(struct store_stats *);

/* A trivial read: 0 (the store answers), or -1 (err). */
int	store_stats_ping(struct store_stats *, struct spool_error *);

/*
 * Messages per (state, partner directory; "-": none): cb once per pair
 * the store has seen (n may be 0); 0, or -1 (err).
 */
int	store_stats_counts(struct store_stats *, void (*cb)(void *,
	    const char *state, const char *partner, int64_t n), void *arg,
	    struct spool_error *);

/*
 * The totals per (event, partner, type) (store_schema.c, migration 13:
 * event is accepted, duplicate, rejected, processed, deferred or failed;
 * type "" is none, "(other)" past the store's bound): cb once per row;
 * 0, or -1 (err).
 */
int	store_stats_events(struct store_stats *, void (*cb)(void *,
	    const char *event, const char *partner, const char *type,
	    int64_t n), void *arg, struct spool_error *);

/* The latency buckets' upper bounds (ms, ascending), at most max. */
int	store_stats_latency_le(struct store_stats *, int64_t *le, size_t max,
	    size_t *n, struct spool_error *);

/*
 * The drop-to-done latencies per (partner, bucket): le is the bucket's
 * upper bound in ms (0: above the last), n and sum_ms its observations,
 * not cumulative. 0, or -1 (err).
 */
int	store_stats_latency(struct store_stats *, void (*cb)(void *,
	    const char *partner, int64_t le, int64_t n, int64_t sum_ms),
	    void *arg, struct spool_error *);

/*
 * The oldest open gap's start and the oldest deferred message's
 * reception (ms since the epoch; 0: there is none). 0, or -1 (err).
 */
int	store_stats_oldest(struct store_stats *, int64_t *gap_since,
	    int64_t *deferred_since, struct spool_error *);

/* Our outbound interchanges reported overdue (housekeeping, after
   ack_overdue) and still unacknowledged. 0, or -1 (err). */
int	store_stats_acks_overdue(struct store_stats *, int64_t *n,
	    struct spool_error *);

#endif
