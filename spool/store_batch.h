/*
 * store_batch.h - the store's statements about batches: one per bundle
 * file, with the fate of each of its entries (DESIGN 9).
 *
 * Lookups return 1 (found, out filled), 0 (not found) or -1 (error).
 * Structs filled here own their strings; the _free() functions release
 * them. Iterations call fn once per row (0 go on, -1 stop).
 */
#ifndef SPOOL_STORE_BATCH_H
#define SPOOL_STORE_BATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

enum batch_fate {
	FATE_ACCEPTED,		/* became a message in queue/ or parked/ */
	FATE_DUPLICATE,		/* became a duplicate, in done/ */
	FATE_REJECTED,		/* became a message in rejected/ */
	FATE_SKIPPED,		/* not a regular file: no message */
};

const char *batch_fate_name(enum batch_fate);

struct store_batch {
	int64_t		 id;
	int		 state;		/* ST_DONE or ST_REJECTED */
	char		*partner;
	char		*orig_name;	/* the bundle's name in incoming/ */
	char		*file_name;	/* its name in done/ or rejected/ */
	char		*reason;	/* why it was refused, or NULL */
	uint8_t		 sha256[32];
	int64_t		 size;
	int64_t		 entries;
	int64_t		 received_at;
	/* archive_command on a bundle rejected whole (DESIGN 18): when it
	 * archived the file (0: not), or why it failed (NULL: not). */
	int64_t		 archived_at;
	char		*archive_error;
};

void	store_batch_free(struct store_batch *);

/* One entry, joined with the message it became (if any). */
struct store_batch_entry {
	int64_t		 index;
	const char	*name;
	int		 fate;		/* enum batch_fate, -1 unknown */
	const char	*reason;	/* the entry's own reason, or NULL */
	int64_t		 message;	/* 0: none */
	int		 msg_state;	/* enum spool_state, -1: no message */
	const char	*msg_file;	/* its file name, or NULL */
	const uint8_t	*msg_sha256;	/* 32 bytes, or NULL */
	const char	*msg_reason;	/* the message's reason, or NULL */
};

/* Record a batch (inside the caller's transaction); *id gets its ID. */
int	store_batch_insert(struct store *, const struct store_batch *,
	    int64_t *id, struct spool_error *);
/* Its final name, state, reason and entry count. */
int	store_batch_finish(struct store *, int64_t id, int state,
	    const char *file_name, const char *reason, int64_t entries,
	    struct spool_error *);
int	store_batch_add_entry(struct store *, int64_t batch, int64_t index,
	    const char *name, enum batch_fate, const char *reason,
	    int64_t message, struct spool_error *);

int	store_batch_get(struct store *, int64_t id, struct store_batch *,
	    struct spool_error *);
/* The latest batch of this upload (partner, name in incoming/, content). */
int	store_batch_find_upload(struct store *, const char *partner,
	    const char *orig_name, const uint8_t *sha256, struct store_batch *,
	    struct spool_error *);
/* The batch a message came in: 1 and *batch, 0 none, -1 error. */
int	store_message_batch(struct store *, int64_t message, int64_t *batch,
	    struct spool_error *);

/* Entries of a batch in archive order. */
int	store_batch_entries(struct store *, int64_t batch,
	    int (*fn)(void *, const struct store_batch_entry *), void *arg,
	    struct spool_error *);
/* Every batch, oldest first (IDs only; look each up with _get). */
int	store_batch_ids(struct store *, int (*fn)(void *, int64_t), void *arg,
	    struct spool_error *);

/*
 * Purging: the bundle files received before `before' (ms), at most limit
 * (0: all), in ID order; fn gets each one's ID and file name. SBP_DONE:
 * in done/, none of whose messages is left; SBP_DONE_DRY: in done/, none
 * of whose messages is left once the done ones updated before `before'
 * (with archived_only, the archived ones) are purged, for a dry run;
 * SBP_REJECTED: rejected whole, in rejected/ (with archived_only, only
 * those archive_command archived). Once its file is removed,
 * store_batch_forget_file() records that (the batch and its entries'
 * fates stay).
 */
enum store_batch_purge { SBP_DONE, SBP_DONE_DRY, SBP_REJECTED };
int	store_batch_purge_candidates(struct store *, enum store_batch_purge,
	    int64_t before, bool archived_only, int64_t limit,
	    int (*fn)(void *, int64_t, const char *), void *arg,
	    struct spool_error *);
int	store_batch_forget_file(struct store *, int64_t id,
	    struct spool_error *);

/* SAVEPOINT for one bundle; release it, or roll back to it and release. */
int	store_batch_savepoint(struct store *, struct spool_error *);
int	store_batch_release(struct store *, struct spool_error *);
int	store_batch_rollback(struct store *, struct spool_error *);

#endif
