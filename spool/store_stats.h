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

#include <stdint.h>

#include "error.h"

struct store_stats;

/* Open the store at path read-only: the handle, or NULL (err). */
struct store_stats *store_stats_open(const char *path, struct spool_error *);
void	store_stats_close(struct store_stats *);

/* A trivial read: 0 (the store answers), or -1 (err). */
int	store_stats_ping(struct store_stats *, struct spool_error *);

/* Messages per (state, partner): cb once per pair; 0, or -1 (err). */
int	store_stats_counts(struct store_stats *, void (*cb)(void *,
	    const char *state, const char *partner, int64_t n), void *arg,
	    struct spool_error *);

/*
 * The oldest open gap's start and the oldest deferred message's last
 * change (ms since the epoch; 0: there is none). 0, or -1 (err).
 */
int	store_stats_oldest(struct store_stats *, int64_t *gap_since,
	    int64_t *deferred_since, struct spool_error *);

#endif
