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
 * more), or -1. With archived_only (archive_command set), only those
 * whose file was archived (retention_archive_mark()).
 */
int64_t	retention_done(struct store *, struct spooldir *, int64_t before,
	    int64_t limit, bool archived_only, struct retention_counts *,
	    struct spool_error *);

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
	    int64_t before, int64_t limit, bool archived_only,
	    struct retention_counts *, struct spool_error *);

/*
 * Forget the tombstones of messages purged before `before' (the
 * dedup_window is over): a redelivery of those is no longer known.
 * Its own short write transaction. The number forgotten, or -1.
 */
int64_t	retention_forget(struct store *, int64_t before,
	    struct spool_error *);

/*
 * archive_command (DESIGN 18): a file retention would remove now and
 * that is not archived yet, a message's or a bundle's rejected whole
 * (batch set, id 0, no type nor transaction). Strings live until fn
 * returns.
 */
struct retention_file {
	int64_t		 id;		/* the message, 0 for a bundle */
	int64_t		 batch;		/* the bundle's, 0 for a message */
	int		 state;		/* ST_DONE, ST_REJECTED, ST_FAILED */
	const char	*partner;
	const char	*type;		/* NULL: not known */
	const char	*transaction_id;	/* NULL outside transactions */
	int64_t		 sender_seq;
	const char	*file_name;
	bool		 failed_before;	/* its archiving failed already */
};

/* Files of state st last updated before `before' and not archived, at
 * most limit, in ID order: fn for each (-1 stops). failed: those whose
 * archiving failed before, else those never tried; only IDs in
 * (after, upto]. Reads only. */
int	retention_archive_list(struct store *, int st, int64_t before,
	    int64_t limit, bool failed, int64_t after, int64_t upto,
	    int (*fn)(void *, const struct retention_file *), void *arg,
	    struct spool_error *);

/* The archiving of message id: done (error NULL; archived_at set) or
 * failed, with why (archive_error; the file is kept). Autocommit. */
int	retention_archive_mark(struct store *, int64_t id, const char *error,
	    struct spool_error *);

/* The same for the bundle files rejected whole that retention_bundles()
 * would remove from rejected/ now (received before `before'), and the
 * mark of batch id. */
int	retention_archive_list_bundles(struct store *, int64_t before,
	    int64_t limit, bool failed, int64_t after, int64_t upto,
	    int (*fn)(void *, const struct retention_file *), void *arg,
	    struct spool_error *);
int	retention_archive_mark_bundle(struct store *, int64_t id,
	    const char *error, struct spool_error *);

/*
 * Bundle files received before `before', at most limit (0: all): in
 * done/ (state ST_DONE) those none of whose messages is left (spoolctl
 * purge, POST /api/admin/purge, spoold's own retention), in rejected/
 * (ST_REJECTED) those rejected whole, with their .reason sidecars
 * (spoold's retention; with archived_only, only those archive_command
 * archived, retention_archive_mark_bundle()). Each file is removed,
 * then its name forgotten in the store, one short write transaction
 * each (a crash in between leaves a batch naming a file that is gone,
 * which the next look forgets). With dry_run only counted, and in done/
 * the bundles whose messages a purge of done/ before `before' (with
 * archived_only, of the archived ones) removes count too. The number
 * removed (or that would be), or -1.
 */
int64_t	retention_bundles(struct store *, struct spooldir *, int state,
	    int64_t before, int64_t limit, bool dry_run, bool archived_only,
	    struct spool_error *);

#endif
