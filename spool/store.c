/*
 * store.c - open, migrate and talk to the spool's SQLite store.
 *
 * The store is the truth about each message's state; files follow it.
 * Settings that durability depends on are made here and nowhere else:
 * WAL journal (readers never block the writer), synchronous=FULL (a
 * commit survives power loss), a busy timeout (spoolctl and spoold share
 * the file), foreign keys on. Write transactions are BEGIN IMMEDIATE so
 * that a writer learns at once, not at COMMIT, that another one is busy.
 *
 * All SQL of libspool lives in this module and store_schema.c.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spooldir.h"
#include "store.h"

struct store_part {
	const void		*key;
	void			*data;
	void			(*fini)(struct store *, void *);
	struct store_part	*next;
};

static int
pragma_int(struct store *s, const char *sql, int *out, struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		spool_seterr(err, "%s: %s", s->path, sqlite3_errmsg(s->db));
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	else if (rc != SQLITE_DONE)
		spool_seterr(err, "%s: %s", s->path, sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
store_exec(struct store *s, const char *sql, struct spool_error *err)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		spool_seterr(err, "%s: %s", s->path,
		    msg != NULL ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/*
 * The few statements that run again and again with no parameter --
 * BEGIN, COMMIT, a cycle's SAVEPOINT, RELEASE and ROLLBACK TO -- are
 * prepared once and kept, one per text, instead of parsed by
 * sqlite3_exec() every time (2-3% of the store thread's work when each
 * message has a savepoint of its own). A text beyond the cache's room
 * goes through store_exec().
 */
int
store_exec_cached(struct store *s, const char *sql, struct spool_error *err)
{
	sqlite3_stmt *st;
	size_t i, n = sizeof(s->xstmt) / sizeof(s->xstmt[0]);
	int rc;

	for (i = 0; i < n && s->xsql[i] != NULL; i++)
		if (strcmp(s->xsql[i], sql) == 0)
			break;
	if (i == n)
		return store_exec(s, sql, err);
	if (s->xsql[i] == NULL) {
		if (sqlite3_prepare_v3(s->db, sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &s->xstmt[i], NULL) != SQLITE_OK)
			return store_stmt_err(s, NULL, err);
		if ((s->xsql[i] = strdup(sql)) == NULL) {
			sqlite3_finalize(s->xstmt[i]);
			s->xstmt[i] = NULL;
			return store_exec(s, sql, err);
		}
	}
	st = s->xstmt[i];
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_stmt_err(s, st, err);
	sqlite3_reset(st);
	return 0;
}

int
store_begin(struct store *s, struct spool_error *err)
{
	if (store_exec_cached(s, "BEGIN IMMEDIATE", err) == -1)
		return -1;
	/* What /metrics reads is counted here (store_count.c). */
	if (store_count_begin(s, err) == -1) {
		store_rollback(s);
		return -1;
	}
	/* Another connection changed the schema: copy its triggers. */
	if (s->ctrig && store_triggers_check(s, err) == -1) {
		store_rollback(s);
		store_triggers_main(s);
		return -1;
	}
	return 0;
}

/*
 * The totals of what the transaction changed (store_count.c), then
 * COMMIT. Totals that cannot be written undo the transaction: it must
 * never commit half counted, nor with stats_own's row.
 */
int
store_commit(struct store *s, struct spool_error *err)
{
	if (store_count_flush(s, err) == -1) {
		store_rollback(s);
		return -1;
	}
	if (store_exec_cached(s, "COMMIT", err) == -1)
		return -1;
	s->trig_in_tx = false;
	return 0;
}

int
store_rollback(struct store *s)
{
	store_count_rollback(s);
	/* TEMP triggers copied inside come back as they were. */
	if (s->trig_in_tx)
		s->trig_schema = -1;
	s->trig_in_tx = false;
	if (sqlite3_get_autocommit(s->db))
		return 0;
	return store_exec(s, "ROLLBACK", NULL);
}

int
store_migrate(struct store *s, int target, struct spool_error *err)
{
	char sql[64];
	int v;

	if (target > store_schema_version())
		target = store_schema_version();
	if (store_begin(s, err) == -1)
		return -1;
	if (pragma_int(s, "PRAGMA user_version", &v, err) == -1)
		goto fail;
	for (; v < target; v++) {
		if (store_exec(s, store_migration(v + 1), err) == -1) {
			char why[SPOOL_ERRLEN];

			snprintf(why, sizeof(why), "%s", err != NULL ?
			    err->msg : "");
			spool_seterr(err, "migration to store version %d "
			    "failed: %s", v + 1, why);
			goto fail;
		}
	}
	/*
	 * A step may edit sqlite_schema (13 does): a new schema_version
	 * makes every other connection read the schema again.
	 */
	if (v > s->version) {
		int sv;

		if (pragma_int(s, "PRAGMA schema_version", &sv, err) == -1)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA schema_version = %d",
		    sv + 1);
		if (store_exec(s, sql, err) == -1)
			goto fail;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	if (store_exec(s, sql, err) == -1 || store_commit(s, err) == -1)
		goto fail;
	s->version = v;
	return 0;
fail:
	store_rollback(s);
	return -1;
}

int
store_component_version(struct store *s, const char *name,
    struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc, v = 0;

	if ((rc = store_has_table(s, "components", err)) != 1)
		return rc;
	if (sqlite3_prepare_v2(s->db, "SELECT version FROM components WHERE "
	    "name = ?1", -1, &st, NULL) != SQLITE_OK)
		return store_stmt_err(s, NULL, err);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_stmt_err(s, NULL, err);
	return v;
}

/* Does any component need a migration? 1, 0, or -1 (err). */
static int
components_behind(struct store *s, const struct store_component *const *c,
    struct spool_error *err)
{
	int v;

	for (; c != NULL && *c != NULL; c++) {
		if ((v = store_component_version(s, (*c)->name, err)) == -1)
			return -1;
		if (v > (*c)->count) {
			s->errclass = STORE_ERR_TOO_NEW;
			spool_seterr(err, "%s: component %s has version %d, "
			    "newer than this program's %d: refusing to use it "
			    "(upgrade spoold)", s->path, (*c)->name, v,
			    (*c)->count);
			return -1;
		}
		if (v < (*c)->count)
			return 1;
	}
	return 0;
}

int
store_migrate_components(struct store *s,
    const struct store_component *const *comps, struct spool_error *err)
{
	const struct store_component *const *c;
	sqlite3_stmt *st = NULL;
	int v, rc;

	if ((rc = components_behind(s, comps, err)) != 1)
		return rc;
	if (store_begin(s, err) == -1)
		return -1;
	if (store_exec(s, "CREATE TABLE IF NOT EXISTS components ("
	    "  name TEXT PRIMARY KEY,"
	    "  version INTEGER NOT NULL"
	    ") WITHOUT ROWID", err) == -1)
		goto fail;
	if (sqlite3_prepare_v2(s->db, "INSERT INTO components (name, version) "
	    "VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET version = "
	    "excluded.version", -1, &st, NULL) != SQLITE_OK) {
		store_stmt_err(s, NULL, err);
		goto fail;
	}
	/* Read again inside the transaction: another writer may have won. */
	if (components_behind(s, comps, err) == -1)
		goto fail;
	for (c = comps; *c != NULL; c++) {
		if ((v = store_component_version(s, (*c)->name, err)) == -1)
			goto fail;
		if (v >= (*c)->count)
			continue;
		for (; v < (*c)->count; v++)
			if (store_exec(s, (*c)->migrations[v], err) == -1) {
				char why[SPOOL_ERRLEN];

				snprintf(why, sizeof(why), "%s", err != NULL ?
				    err->msg : "");
				spool_seterr(err, "migration of %s to version "
				    "%d failed: %s", (*c)->name, v + 1, why);
				goto fail;
			}
		sqlite3_bind_text(st, 1, (*c)->name, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, v);
		if (store_step_done(s, st, err) == -1)
			goto fail;
	}
	sqlite3_finalize(st);
	if (store_commit(s, err) == -1)
		goto fail;
	return 0;
fail:
	if (st != NULL)
		sqlite3_finalize(st);
	store_rollback(s);
	return -1;
}

int
store_open(struct store *s, const char *path, int flags,
    struct spool_error *err)
{
	return store_open_with(s, path, flags, NULL, err);
}

int
store_open_with(struct store *s, const char *path, int flags,
    const struct store_component *const *comps, struct spool_error *err)
{
	int oflags, v, rc;
	char mode[32];

	memset(s, 0, sizeof(*s));
	s->errclass = STORE_ERR_IO;
	store_mem_init();
	if ((s->path = strdup(path)) == NULL) {
		spool_seterr(err, "out of memory");
		return -1;
	}
	/*
	 * Read-only (spoolctl's reading commands): a member of the spool's
	 * group who may read spool.db, -wal and -shm but write none of
	 * them reads a consistent snapshot; SQLite (3.22 and later) maps a
	 * -shm it cannot write read-only and takes its read locks on it.
	 */
	if (flags & STORE_READER)
		oflags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX;
	else
		oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	if ((flags & STORE_CREATE) && !(flags & STORE_READER))
		oflags |= SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &s->db, oflags, NULL);
	if (rc != SQLITE_OK) {
		if (rc == SQLITE_CANTOPEN && access(path, F_OK) == -1 &&
		    errno == ENOENT)
			spool_seterr(err, "%s does not exist (create the spool "
			    "with spoold --init)", path);
		else
			spool_seterr(err, "cannot open %s: %s", path,
			    s->db != NULL ? sqlite3_errmsg(s->db) :
			    "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	if (sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS) != SQLITE_OK)
		goto sqlfail;
	if (pragma_int(s, "PRAGMA user_version", &v, err) == -1) {
		s->errclass = STORE_ERR_CORRUPT;
		spool_seterr(err, "%s is not a spoold store: %s", path,
		    sqlite3_errmsg(s->db));
		goto fail;
	}
	if (v > store_schema_version()) {
		s->errclass = STORE_ERR_TOO_NEW;
		spool_seterr(err, "%s has store version %d, newer than this "
		    "program's %d: refusing to use it (upgrade spoold)", path,
		    v, store_schema_version());
		goto fail;
	}
	/* journal_mode answers with the mode in force. */
	{
		sqlite3_stmt *st;

		if (sqlite3_prepare_v2(s->db, flags & STORE_READER ?
		    "PRAGMA journal_mode" : "PRAGMA journal_mode=WAL", -1,
		    &st, NULL) != SQLITE_OK)
			goto sqlfail;
		rc = sqlite3_step(st);
		snprintf(mode, sizeof(mode), "%s", rc == SQLITE_ROW ?
		    (const char *)sqlite3_column_text(st, 0) : "?");
		sqlite3_finalize(st);
		if (rc != SQLITE_ROW || strcmp(mode, "wal") != 0) {
			spool_seterr(err, "%s: cannot switch to WAL mode "
			    "(journal mode is %s)", path, mode);
			goto fail;
		}
	}
	/*
	 * 16 MiB of page cache: the indexes of a busy spool fit. Statement
	 * journals (a cycle's savepoints) in memory, not in files under
	 * /var/tmp: they hold the pages one cycle changed, bounded by
	 * batch_size, and are written for every page a chunk touches.
	 * A checkpoint every 8192 WAL pages (32 MiB), not SQLite's 1000: a
	 * cycle of 1024 messages writes a few thousand pages, so at 1000
	 * every commit checkpointed, copying back pages the next cycle
	 * rewrites (processing about 10% faster).
	 */
	if (store_exec(s, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
	    "PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY; "
	    "PRAGMA wal_autocheckpoint=8192;", err) == -1)
		goto fail;
	/*
	 * A writer keeps -wal and -shm when it closes (they are made with
	 * spool.db's mode and owner), so that a reader who may not create
	 * files in the spool finds them, also while spoold is stopped. With
	 * a journal_size_limit SQLite cuts the kept -wal to 0 bytes at close
	 * (and to the limit when it is reset while open), so it takes no
	 * room on the spool's file system while nothing writes.
	 */
	if (!(flags & STORE_READER)) {
		int one = 1;

		if (sqlite3_file_control(s->db, "main",
		    SQLITE_FCNTL_PERSIST_WAL, &one) != SQLITE_OK)
			goto sqlfail;
		if (store_exec(s, "PRAGMA journal_size_limit=67108864", err) ==
		    -1)
			goto fail;
	}
	s->version = v;
	if (!(flags & (STORE_READONLY | STORE_READER)) &&
	    v < store_schema_version() &&
	    store_migrate(s, store_schema_version(), err) == -1) {
		s->errclass = STORE_ERR_CORRUPT;
		goto fail;
	}
	s->errclass = STORE_ERR_CORRUPT;
	if (!(flags & (STORE_READONLY | STORE_READER)) &&
	    store_migrate_components(s, comps, err) == -1)
		goto fail;
	/* spoold's own: without the triggers it does in C, or with all of
	 * them when that cannot be (slower, the same). */
	if ((flags & STORE_ACCEPTING) &&
	    !(flags & (STORE_READONLY | STORE_READER)))
		(void)store_triggers_own(s, NULL);
	s->errclass = STORE_ERR_NONE;
	return 0;
sqlfail:
	spool_seterr(err, "%s: %s", path, sqlite3_errmsg(s->db));
fail:
	{
		enum store_errclass ec = s->errclass;

		store_close(s);
		s->errclass = ec;
	}
	return -1;
}

void
store_close(struct store *s)
{
	struct store_part *p;
	int i;

	for (i = 0; i < SQ_COUNT; i++)
		if (s->stmt[i] != NULL)
			sqlite3_finalize(s->stmt[i]);
	for (i = 0; i < (int)(sizeof(s->xstmt) / sizeof(s->xstmt[0])); i++) {
		if (s->xstmt[i] != NULL)
			sqlite3_finalize(s->xstmt[i]);
		free(s->xsql[i]);
	}
	for (i = 0; i < (int)(sizeof(s->cstmt) / sizeof(s->cstmt[0])); i++)
		if (s->cstmt[i] != NULL)
			sqlite3_finalize(s->cstmt[i]);
	while ((p = s->parts) != NULL) {
		s->parts = p->next;
		if (p->fini != NULL)
			p->fini(s, p->data);
		free(p->data);
		free(p);
	}
	for (i = 0; i < (int)(sizeof(s->ostmt) / sizeof(s->ostmt[0])); i++)
		if (s->ostmt[i] != NULL)
			sqlite3_finalize(s->ostmt[i]);
	for (i = 0; i < (int)(sizeof(s->bstmt) / sizeof(s->bstmt[0])); i++)
		if (s->bstmt[i] != NULL)
			sqlite3_finalize(s->bstmt[i]);
	if (s->trig_sv != NULL)
		sqlite3_finalize(s->trig_sv);
	store_count_free(s);
	if (s->db != NULL)
		sqlite3_close(s->db);
	free(s->path);
	memset(s, 0, sizeof(*s));
}

int
store_state_counts(struct store *s, int64_t *counts, int n,
    struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc, i;

	for (i = 0; i < n; i++)
		counts[i] = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT state, count(*) FROM messages "
	    "GROUP BY state", -1, &st, NULL) != SQLITE_OK) {
		spool_seterr(err, "%s: %s", s->path, sqlite3_errmsg(s->db));
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		i = spool_state_parse((const char *)sqlite3_column_text(st, 0));
		if (i >= 0 && i < n)
			counts[i] = sqlite3_column_int64(st, 1);
	}
	if (rc != SQLITE_DONE)
		spool_seterr(err, "%s: %s", s->path, sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

sqlite3_stmt *
store_prepare(struct store *s, sqlite3_stmt **st, const char *sql,
    struct spool_error *err)
{
	if (*st == NULL) {
		if (sqlite3_prepare_v3(s->db, sql, -1,
		    SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
			spool_seterr(err, "%s: %s", s->path,
			    sqlite3_errmsg(s->db));
			return NULL;
		}
		return *st;
	}
	sqlite3_reset(*st);
	sqlite3_clear_bindings(*st);
	return *st;
}

int
store_stmt_err(struct store *s, sqlite3_stmt *st, struct spool_error *err)
{
	spool_seterr(err, "%s: %s", s->path, sqlite3_errmsg(s->db));
	if (st != NULL)
		sqlite3_reset(st);
	return -1;
}

int
store_row(struct store *s, sqlite3_stmt *st, struct spool_error *err)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_stmt_err(s, NULL, err);
}

int
store_row_int64(struct store *s, sqlite3_stmt *st, int64_t *v,
    struct spool_error *err)
{
	if (sqlite3_step(st) != SQLITE_ROW)
		return store_stmt_err(s, st, err);
	*v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

int
store_step_done(struct store *s, sqlite3_stmt *st, struct spool_error *err)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_stmt_err(s, st, err);
	sqlite3_reset(st);
	return 0;
}

void
store_bind_opt_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v != NULL)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

char *
store_col_strdup(sqlite3_stmt *st, int i)
{
	char *v;

	return store_col_dup(st, i, &v) == 0 ? v : NULL;
}

int
store_col_dup(sqlite3_stmt *st, int i, char **out)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	*out = NULL;
	if (t == NULL)
		return 0;
	if ((*out = strdup((const char *)t)) == NULL)
		return -1;
	return 0;
}

int
store_has_table(struct store *s, const char *name, struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM sqlite_master WHERE "
	    "type = 'table' AND name = ?1", -1, &st, NULL) != SQLITE_OK)
		return store_stmt_err(s, NULL, err);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_stmt_err(s, NULL, err);
}

void *
store_part(struct store *s, const void *key, size_t size,
    void (*fini)(struct store *, void *), struct spool_error *err)
{
	struct store_part *p;

	for (p = s->parts; p != NULL; p = p->next)
		if (p->key == key)
			return p->data;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->data = calloc(1, size)) == NULL) {
		free(p);
		spool_seterr(err, "out of memory");
		return NULL;
	}
	p->key = key;
	p->fini = fini;
	p->next = s->parts;
	s->parts = p;
	return p->data;
}
