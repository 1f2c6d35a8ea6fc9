/*
 * store.h - the spool's SQLite store: the truth about every message.
 *
 * One struct store per process and thread. The store runs in WAL mode
 * with synchronous=FULL and a busy timeout, so spoolctl can read while
 * spoold writes. Its schema is versioned (PRAGMA user_version) and
 * migrated forward at open, in one transaction.
 */
#ifndef SPOOL_STORE_H
#define SPOOL_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "error.h"

#define STORE_BUSY_TIMEOUT_MS	5000

enum store_open_flags {
	STORE_CREATE = 1,	/* create spool.db if it does not exist */
	STORE_READONLY = 2,	/* no migration, no writes (spoolctl reads) */
};

/* Error classes of store_open(), so programs can pick an exit code. */
enum store_errclass {
	STORE_ERR_NONE,
	STORE_ERR_IO,		/* cannot open or create */
	STORE_ERR_TOO_NEW,	/* written by a newer program */
	STORE_ERR_CORRUPT,	/* not a spoold store, or damaged */
};

struct store {
	sqlite3			*db;
	char			*path;
	int			 version;	/* after migration */
	enum store_errclass	 errclass;
};

/* The schema version this program writes. */
int	store_schema_version(void);

/* Migrations: SQL text of step i (from version i-1 to i), 1-based. */
const char *store_migration(int to_version);

int	store_open(struct store *, const char *path, int flags,
	    struct spool_error *);
void	store_close(struct store *);

/* Migrate an open store to `target' (<= store_schema_version()). */
int	store_migrate(struct store *, int target, struct spool_error *);

int	store_exec(struct store *, const char *sql, struct spool_error *);
int	store_begin(struct store *, struct spool_error *);	/* IMMEDIATE */
int	store_commit(struct store *, struct spool_error *);
int	store_rollback(struct store *);

/* Number of messages per state; counts[] indexed by enum spool_state. */
int	store_state_counts(struct store *, int64_t *counts, int n,
	    struct spool_error *);

#endif
