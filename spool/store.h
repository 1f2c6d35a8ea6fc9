/*
 * store.h - the spool's SQLite store: the truth about every message.
 *
 * One struct store per process and thread. The store runs in WAL mode
 * with synchronous=FULL and a busy timeout, so spoolctl can read while
 * spoold writes. Its schema is versioned (PRAGMA user_version) and
 * migrated forward at open, in one transaction; the tables of the
 * program's components (handler modules) are versioned per component
 * (the table components) and migrated by store_open_with().
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
	/*
	 * Open spool.db read-only (SQLITE_OPEN_READONLY), no migration: for
	 * a reader who may read spool.db, -wal and -shm but not write them.
	 */
	STORE_READER = 4,
	/*
	 * spoold's own connection, the one that accepts and processes: the
	 * store's triggers that only check or count what libspool already
	 * checks and counts in C (messages_id_new, stats_msg_new,
	 * stats_msg_state) do not fire in it; every other trigger does, as
	 * a TEMP copy (store_triggers.c). Other connections (spoolctl, the
	 * sqlite3 shell) keep them all.
	 */
	STORE_ACCEPTING = 8,
};

/* Error classes of store_open(), so programs can pick an exit code. */
enum store_errclass {
	STORE_ERR_NONE,
	STORE_ERR_IO,		/* cannot open or create */
	STORE_ERR_TOO_NEW,	/* written by a newer program */
	STORE_ERR_CORRUPT,	/* not a spoold store, or damaged */
};

enum store_stmt_id {
	SQ_TX_NEXT,
	SQ_TX_ENSURE,
	SQ_TX_GAP,
	SQ_FIND_SEQ,
	SQ_FIND_MSGID,
	SQ_FIND_MSGID_TX,
	SQ_FIND_HASH,
	SQ_FIND_UPLOAD,
	SQ_INSERT,
	SQ_SET_NAME,
	SQ_GET,
	SQ_NEXT_ID,
	SQ_FIND_SKIP,
	SQ_TOMB_SEQ,
	SQ_TOMB_MSGID,
	SQ_TOMB_HASH,
	SQ_COUNT
};

struct store_part;
struct store_count;
struct store_newmsg;

struct store {
	sqlite3			*db;
	/* prepared on first use */
	sqlite3_stmt		*stmt[SQ_COUNT];
	sqlite3_stmt		*cstmt[32];	/* store_cycle.c's */
	struct store_part	*parts;		/* components' own state, see
						 * store_part() */
	sqlite3_stmt		*ostmt[12];	/* store_outbound.c's */
	unsigned		 outbound_new;	/* outbound recorded since the
						 * last outbound_flush() */
	sqlite3_stmt		*bstmt[16];	/* store_batch.c's */
	struct store_count	*count;		/* store_count.c's */
	sqlite3_stmt		*xstmt[12];	/* store_exec_cached()'s, */
	char			*xsql[12];	/* and their texts */
	bool			 ctrig;		/* STORE_ACCEPTING in force: the
						 * main schema's triggers are
						 * off, TEMP copies fire */
	int			 trig_schema;	/* schema_version copied then */
	bool			 trig_in_tx;	/* copied in this transaction */
	sqlite3_stmt		*trig_sv;	/* PRAGMA schema_version */
	char			*path;
	int			 version;	/* after migration */
	enum store_errclass	 errclass;
};

/*
 * The ID a new row of table tbl ("messages", "batches", "outbound")
 * gets, as an SQL expression: above every row there is and above every
 * ID ever deleted (id_floor, store_schema.c), so that no ID is given
 * out twice. Inside a write transaction only.
 */
#define STORE_NEXT_ID(tbl)						\
	"(SELECT max(coalesce((SELECT max(id) FROM " tbl "), 0), "	\
	"coalesce((SELECT id FROM id_floor WHERE tbl = '" tbl "'), 0)) + 1)"

/*
 * STORE_ACCEPTING (store_triggers.c): switch the main schema's triggers
 * off in this connection and copy every one but those libspool does in
 * C as a TEMP trigger; 1 done, 0 not possible here (SQLite before
 * 3.35 switches TEMP triggers off too: the connection keeps them all),
 * -1 (err). store_triggers_check() copies them again, inside a write
 * transaction, when another connection changed the schema since.
 */
int	store_triggers_own(struct store *, struct spool_error *);
int	store_triggers_check(struct store *, struct spool_error *);
/* Back to the main schema's triggers (when a copy failed), outside any
 * transaction. */
void	store_triggers_main(struct store *);

/* The schema version this program writes. */
int	store_schema_version(void);

/* Migrations: SQL text of step i (from version i-1 to i), 1-based. */
const char *store_migration(int to_version);

int	store_open(struct store *, const char *path, int flags,
	    struct spool_error *);

/*
 * A component of the program (a handler module) with tables of its own:
 * its schema is versioned apart from libspool's (the table components,
 * one row per component name), and migrations[i] takes it from version
 * i to i+1. Its migrations run after libspool's, so they may name the
 * core's tables (messages, outbound, id_floor). A handler table whose
 * rows name a message or an outbound message raises id_floor in its
 * first migration, so that IDs it still shows are never given out again.
 */
struct store_component {
	const char		*name;
	const char *const	*migrations;
	int			 count;
};

/*
 * store_open(), then (unless read-only) the migrations of every
 * component in comps (NULL-terminated; NULL for none), in one
 * transaction. A component at a version newer than its count is refused
 * like a store that is too new.
 */
int	store_open_with(struct store *, const char *path, int flags,
	    const struct store_component *const *comps, struct spool_error *);
int	store_migrate_components(struct store *,
	    const struct store_component *const *, struct spool_error *);
/* A component's version in this store (0: none yet), or -1 (err). */
int	store_component_version(struct store *, const char *name,
	    struct spool_error *);
void	store_close(struct store *);

/* Migrate an open store to `target' (<= store_schema_version()). */
int	store_migrate(struct store *, int target, struct spool_error *);

int	store_exec(struct store *, const char *sql, struct spool_error *);
/* The same for one statement without parameters that runs again and
 * again (BEGIN, COMMIT, SAVEPOINT x): prepared once, kept per text. */
int	store_exec_cached(struct store *, const char *sql,
	    struct spool_error *);
int	store_begin(struct store *, struct spool_error *);	/* IMMEDIATE */
int	store_commit(struct store *, struct spool_error *);
int	store_rollback(struct store *);

/*
 * What /metrics reads, counted by the writer (store_count.c) inside a
 * transaction of store_begin() (elsewhere the triggers of migration 22
 * count, but in spoold's connection, which has them off: see
 * store_count_own()): every statement that inserts a message calls
 * store_count_insert() just before, every one that may change a
 * message's state store_count_update() just before (to: the new state;
 * from: the state the statement requires, or NULL; no_reason: the row's
 * reason is NULL afterwards; now: its updated_at). store_commit() writes
 * the totals before COMMIT (store_count_flush()); a savepoint rolled
 * back (store_rollback_to()) takes back its notes. 0, or -1 (err).
 */
int	store_count_begin(struct store *, struct spool_error *);
int	store_count_insert(struct store *, const struct store_newmsg *,
	    struct spool_error *);
int	store_count_update(struct store *, int64_t id, int to,
	    const char *from, bool no_reason, int64_t now,
	    struct spool_error *);
/* store_now_ms(), for the received_at of the message that
 * store_count_insert() notes next (store_insert() binds it). */
int64_t	store_count_now(struct store *);
int	store_count_flush(struct store *, struct spool_error *);
/* A message inserted done, processed (store_newmsg's processed), d ms
 * after it arrived: what its change to done would have noted. */
int	store_count_processed(struct store *, const char *partner,
	    const char *type, int64_t d, struct spool_error *);
void	store_count_savepoint(struct store *, const char *name);
void	store_count_release(struct store *, const char *name);
void	store_count_rollback_to(struct store *, const char *name);
void	store_count_rollback(struct store *);
void	store_count_free(struct store *);
/*
 * The connection's triggers of the main schema are off (STORE_ACCEPTING,
 * store_triggers.c): count every change here, outside a transaction of
 * store_begin() too (refused then, as it cannot be counted with it), and
 * check each ID store_insert() is given against id_floor. It takes the
 * connection's update hook, to see deletions. 0, or -1 (err).
 */
int	store_count_own(struct store *, struct spool_error *);

/* Number of messages per state; counts[] indexed by enum spool_state. */
int	store_state_counts(struct store *, int64_t *counts, int n,
	    struct spool_error *);

/* A message as the store knows it (strings owned by the caller's
 * struct: store_msgref_free() releases them). */
struct store_msgref {
	int64_t		 id;
	int		 state;		/* enum spool_state */
	uint8_t		 sha256[32];
	char		*partner;
	char		*file_name;
	char		*orig_name;
	char		*transaction_id;
	int64_t		 sender_seq;
};

void	store_msgref_free(struct store_msgref *);

/* A message to record at acceptance. */
struct store_newmsg {
	const char	*partner;
	const char	*orig_name;
	int		 state;		/* enum spool_state */
	const char	*type;
	const char	*message_id;
	const char	*sender;
	const char	*recipient;
	const char	*transaction_id;
	int64_t		 sender_seq;
	int64_t		 receiver_seq;
	const uint8_t	*sha256;	/* 32 bytes, or NULL */
	int64_t		 size;
	int64_t		 duplicate_of;	/* 0 if none */
	const char	*reason;
	int64_t		 id;		/* 0: the store picks one */
	const char	*file_name;	/* NULL: set later */
	int64_t		 batch;		/* a bundle entry's batch, or 0 */
	const char	*dialect;	/* DESIGN 15; NULL: native */
	bool		 test;		/* from a test interchange */
	const char	*reference;	/* the business transaction a
					   dialect names without ordering
					   by it (order = none), or NULL */
	bool		 processed;	/* state done, applied as it is
					   accepted (the one pass): its
					   first attempt, a success */
};

/* A transaction's row (the defaults when it has none yet). */
struct store_txrow {
	int64_t		 next_seq;
	int64_t		 out_seq;
	bool		 gap_open;	/* gap_since is set ... */
	int64_t		 gap_since;	/* ... to this */
	bool		 gap_alerted;
};

/* Lookups: 1 found (out filled), 0 not found, -1 error. */
int	store_tx_read(struct store *, const char *partner, const char *tx,
	    struct store_txrow *, struct spool_error *);
int	store_tx_next(struct store *, const char *partner, const char *tx,
	    int64_t *next, struct spool_error *);
int	store_find_seq(struct store *, const char *partner, const char *tx,
	    int64_t seq, struct store_msgref *, struct spool_error *);
/* By message_id for one type (DESIGN 5 and 15); in_tx: among messages
 * in transactions, else among those outside. */
int	store_find_msgid(struct store *, const char *partner,
	    const char *type, const char *message_id, bool in_tx,
	    struct store_msgref *, struct spool_error *);
int	store_find_hash(struct store *, const char *partner,
	    const uint8_t *sha256, struct store_msgref *, struct spool_error *);
int	store_find_upload(struct store *, const char *partner,
	    const char *orig_name, const uint8_t *sha256,
	    struct store_msgref *, struct spool_error *);
int	store_get(struct store *, int64_t id, struct store_msgref *,
	    struct spool_error *);
/*
 * The tombstone of a purged message (DESIGN 18): by sequence number when
 * tx is not NULL, else by message_id for its (qualified) type when not
 * NULL, as store_find_msgid (DESIGN 15), else by digest. On 1 *id is
 * the purged message's ID and sha its digest. 1, 0, or -1.
 */
int	store_find_purged(struct store *, const char *partner, const char *tx,
	    int64_t seq, const char *message_id, const char *type,
	    const uint8_t *sha256, int64_t *id, uint8_t sha[32],
	    struct spool_error *);
/* Did an admin skip this number (spoolctl skip)? 1, 0, or -1. */
int	store_find_skip(struct store *, const char *partner, const char *tx,
	    int64_t seq, struct spool_error *);

/* Record a message; *id gets its store ID. 0 ok, -1 error. */
int	store_insert(struct store *, const struct store_newmsg *,
	    int64_t *id, struct spool_error *);
/*
 * The ID the next inserted message gets when none is given. Only valid
 * inside the caller's write transaction, which keeps others out.
 */
int	store_next_message_id(struct store *, int64_t *id,
	    struct spool_error *);
int	store_set_file_name(struct store *, int64_t id, const char *name,
	    struct spool_error *);
/* Make sure the transaction exists; note a gap opening now if parked. */
int	store_tx_ensure(struct store *, const char *partner, const char *tx,
	    struct spool_error *);
int	store_tx_note_gap(struct store *, const char *partner, const char *tx,
	    struct spool_error *);

int64_t	store_now_ms(void);
/* The most memory SQLite held at once in this process, in bytes. */
int64_t	store_mem_peak(void);
/*
 * SQLite's allocations counted without its global mutex (store_mem.c):
 * installed once per process by the first store_open(), if SQLite is not
 * in use yet. store_mem_ours() gives the peak when it is in force.
 */
void	store_mem_init(void);
bool	store_mem_ours(sqlite3_int64 *peak);

/* Does the store have this table (a component's, not migrated yet)?
 * 1, 0, or -1 (err). */
int	store_has_table(struct store *, const char *name,
	    struct spool_error *);

/*
 * A component's own state on this store (a handler's prepared
 * statements, for one): a zeroed block of `size' bytes made on the
 * first call with `key' (the address of anything of the component's
 * own), the same block afterwards. store_close() calls fini(store,
 * block) -- the component finalizes its statements there -- and then
 * frees the block. libspool never looks inside. NULL when out of memory.
 */
void	*store_part(struct store *, const void *key, size_t size,
	    void (*fini)(struct store *, void *), struct spool_error *);

/*
 * The statement in *slot (the caller's own), prepared from sql on first
 * use, else reset and unbound; NULL on error. Whoever owns *slot
 * finalizes it. store_stmt_err() -- the one SQL error helper -- fills
 * err from the database's last error, resets st (unless NULL), returns
 * -1.
 */
sqlite3_stmt *store_prepare(struct store *, sqlite3_stmt **slot,
	    const char *sql, struct spool_error *);
int	store_stmt_err(struct store *, sqlite3_stmt *, struct spool_error *);
/*
 * Step a statement that walks rows: 1 a row, 0 its end, -1 an error
 * (err, as store_stmt_err(); st is not reset). The caller resets or
 * finalizes st after the walk: while ((rc = store_row(s, st, err)) ==
 * 1) ...
 */
int	store_row(struct store *, sqlite3_stmt *, struct spool_error *);
/* Step a statement that yields one integer row (column 0) into *v,
 * then reset it: 0, or -1 (err; no row is an error). */
int	store_row_int64(struct store *, sqlite3_stmt *, int64_t *v,
	    struct spool_error *);
/* Step a statement that returns no row, then reset it: 0, or -1 (err). */
int	store_step_done(struct store *, sqlite3_stmt *, struct spool_error *);
/* Bind v as text, or NULL when v is NULL. */
void	store_bind_opt_text(sqlite3_stmt *, int, const char *);

/*
 * The one column copy: *out a malloc'd copy of column i's text (the
 * caller frees it), NULL when the column is NULL; 0, or -1 when memory
 * runs out. store_col_strdup() is the same, NULL for both.
 */
int	 store_col_dup(sqlite3_stmt *, int i, char **out);
char	*store_col_strdup(sqlite3_stmt *, int i);

#endif
