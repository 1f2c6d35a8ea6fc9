/*
 * retention.h - spoold's own purge of done/ after `retention' (DESIGN 18).
 */
#ifndef SPOOL_RETENTION_H
#define SPOOL_RETENTION_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "spooldir.h"
#include "store.h"

/* At most this many messages per look, so a look never stalls a cycle. */
#define RETENTION_BATCH		256

struct retention_counts {
	int64_t		 removed;	/* file gone (row deleted or slimmed) */
	int64_t		 kept;		/* could not be removed; reported */
};

/*
 * Purge at most limit messages that reached done before `before' (ms
 * since the epoch), oldest-ID-last as store_admin_purge_candidates()
 * gives them, in one short write transaction: each row is deleted (or
 * slimmed, when the books name it) in a savepoint, its file removed from
 * done/, and the deletion kept only if the file is gone. Adds to *c.
 * Returns the number of candidates looked at (limit means there may be
 * more), or -1.
 */
int64_t	retention_done(struct store *, struct spooldir *, int64_t before,
	    int64_t limit, struct retention_counts *, struct spool_error *);

/*
 * Remove from rejected/ or failed/ (st: ST_REJECTED or ST_FAILED) at
 * most limit message files (with their .reason sidecars) whose rows were
 * last updated before `before'. Their rows stay, marked purged (keys,
 * state and reason kept: a failed one still blocks its transaction until
 * it is retried or skipped). One short write transaction; a file that
 * cannot be removed keeps its row unmarked and counts as kept. Returns
 * the number looked at, or -1.
 */
int64_t	retention_state(struct store *, struct spooldir *, int st,
	    int64_t before, int64_t limit, struct retention_counts *,
	    struct spool_error *);

/*
 * Forget the tombstones of messages purged before `before' (the
 * dedup_window is over): a redelivery of those is no longer known.
 * Its own short write transaction. The number forgotten, or -1.
 */
int64_t	retention_forget(struct store *, int64_t before,
	    struct spool_error *);

/*
 * Bundle files in done/ received before `before' none of whose messages
 * is left (spoolctl purge, POST /api/admin/purge): each file is removed,
 * then its name forgotten in the store, one short write transaction
 * each (a crash in between leaves a batch naming a file that is gone,
 * which nothing acts on). With dry_run only counted. The number removed
 * (or that would be), or -1.
 */
int64_t	retention_bundles(struct store *, struct spooldir *, int64_t before,
	    bool dry_run, struct spool_error *);

#endif
