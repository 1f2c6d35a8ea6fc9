/*
 * exec_store.c - the exec handler's table of calls, a component of the
 * store: its migrations, the pending calls to make, and the bracket.
 *
 * A call is pending from the commit of the cycle that decided it (the
 * handler's apply writes it, exec_call_start, and the cycle makes the
 * message wait) until the commit of cycle_complete() after the program
 * ran (exec_call_record, valid or invalid, as the message stops
 * waiting): a crash in between leaves it pending, and the runner finds
 * it here at the next start and makes it again, with the same message ID
 * and attempt number. Only calls whose message is in queue/ or deferred/
 * are listed: a file anywhere else is not the runner's to hand to a
 * program.
 *
 * Statements are prepared once per store, in the store's part for this
 * module (store_part()), and reset after every use so that no read
 * snapshot outlives the call.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "spooldir.h"
#include "exec_store.h"

/*
 * Migration 1 is what libspool's store version 3 created, so a store
 * that has the table keeps it (IF NOT EXISTS), rows and all; its
 * pending calls' messages wait (libspool's version 10 added that), and
 * the message IDs its rows name stay below the floor. A purged message
 * takes its finished calls along (the trigger); a pending call keeps
 * its message, as a foreign key.
 */
static const char *const exec_migrations[] = {
	/*
	 * 1: calls of external programs, bracketed: a call is 'pending'
	 * while it runs, then 'valid' (it succeeded) or 'invalid'.
	 */
	"CREATE TABLE IF NOT EXISTS exec_calls ("
	"  message INTEGER NOT NULL REFERENCES messages(id),"
	"  attempt INTEGER NOT NULL,"
	"  status TEXT NOT NULL CHECK (status IN ('pending', 'valid',"
	"    'invalid')),"
	"  started_at INTEGER NOT NULL,"
	"  finished_at INTEGER,"
	"  exit_status INTEGER,"
	"  error TEXT,"
	"  PRIMARY KEY (message, attempt)"
	") WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS exec_calls_pending ON exec_calls"
	" (status)"
	"  WHERE status = 'pending';"
	"CREATE TRIGGER IF NOT EXISTS exec_calls_purged BEFORE DELETE ON"
	"  messages BEGIN DELETE FROM exec_calls WHERE message = OLD.id"
	"  AND status <> 'pending'; END;"
	"UPDATE messages SET waiting = 1 WHERE id IN (SELECT message FROM"
	"  exec_calls WHERE status = 'pending');"
	"UPDATE id_floor SET id = max(id, coalesce((SELECT max(message)"
	"  FROM exec_calls), 0)) WHERE tbl = 'messages';",
};

const struct store_component exec_component = {
	"exec", exec_migrations,
	(int)(sizeof(exec_migrations) / sizeof(exec_migrations[0])),
};

/* The calls' own statements on a store (store_part()). */
enum { SLOT_PENDING, SLOT_START, SLOT_RECORD, SLOT_COUNT };

struct exec_stmts {
	sqlite3_stmt	*st[SLOT_COUNT];
};

static const char exec_part;	/* its key */

static void
exec_fini(struct store *s, void *p)
{
	struct exec_stmts *xs = p;
	int i;

	(void)s;
	for (i = 0; i < SLOT_COUNT; i++)
		sqlite3_finalize(xs->st[i]);
}

static sqlite3_stmt *
exec_stmt(struct store *s, int which, const char *sql,
    struct spool_error *err)
{
	struct exec_stmts *xs;

	xs = store_part(s, &exec_part, sizeof(*xs), exec_fini, err);
	if (xs == NULL)
		return NULL;
	return store_prepare(s, &xs->st[which], sql, err);
}

static const char pending_sql[] =
    "SELECT e.message, e.attempt, m.state, m.partner, m.type, "
    "m.transaction_id, m.sender_seq, m.file_name, m.sha256, m.dialect, "
    "m.test FROM "
    "exec_calls e "
    "JOIN messages m ON m.id = e.message WHERE e.status = 'pending' AND "
    "m.state IN ('queue', 'deferred') ORDER BY e.started_at, e.message";

int
exec_pending(struct store *s, int (*fn)(void *,
    const struct exec_pending_call *), void *arg, struct spool_error *err)
{
	struct exec_pending_call c;
	sqlite3_stmt *st;
	const unsigned char *t;
	int rc, frc = 0;

	st = exec_stmt(s, SLOT_PENDING, pending_sql, err);
	if (st == NULL)
		return -1;
	while ((rc = store_row(s, st, err)) == 1) {
		memset(&c, 0, sizeof(c));
		c.id = sqlite3_column_int64(st, 0);
		c.attempt = sqlite3_column_int(st, 1);
		c.state = spool_state_parse((const char *)
		    sqlite3_column_text(st, 2));
		c.partner = (const char *)sqlite3_column_text(st, 3);
		t = sqlite3_column_text(st, 4);
		c.type = t != NULL ? (const char *)t : "";
		c.transaction_id = (const char *)sqlite3_column_text(st, 5);
		c.sender_seq = sqlite3_column_int64(st, 6);
		c.file_name = (const char *)sqlite3_column_text(st, 7);
		if (sqlite3_column_bytes(st, 8) == (int)sizeof(c.sha256)) {
			memcpy(c.sha256, sqlite3_column_blob(st, 8),
			    sizeof(c.sha256));
			c.has_sha256 = true;
		}
		c.dialect = (const char *)sqlite3_column_text(st, 9);
		c.test = sqlite3_column_int(st, 10) != 0;
		if (c.partner == NULL || c.file_name == NULL ||
		    (c.state != ST_QUEUE && c.state != ST_DEFERRED) ||
		    (c.transaction_id == NULL &&
		    sqlite3_column_type(st, 5) != SQLITE_NULL)) {
			spool_seterr(err, "%s: message %" PRId64 ": incomplete "
			    "row or out of memory", s->path, c.id);
			sqlite3_reset(st);
			return -1;
		}
		if ((frc = fn(arg, &c)) != 0)
			break;
	}
	sqlite3_reset(st);
	return frc == -1 || (frc == 0 && rc == -1) ? -1 : 0;
}

int
exec_call_start(struct store *s, int64_t id, int attempt,
    struct spool_error *err)
{
	sqlite3_stmt *st;

	st = exec_stmt(s, SLOT_START, "INSERT OR REPLACE INTO exec_calls "
	    "(message, attempt, status, started_at) VALUES (?1, ?2, "
	    "'pending', ?3)", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, attempt);
	sqlite3_bind_int64(st, 3, store_now_ms());
	return store_step_done(s, st, err);
}

int
exec_call_record(void *arg, struct store *s, int64_t id, int attempt,
    bool ok, int exit_status, const char *error, struct spool_error *err)
{
	sqlite3_stmt *st;

	(void)arg;
	st = exec_stmt(s, SLOT_RECORD, "UPDATE exec_calls SET status = ?3, "
	    "finished_at = ?4, exit_status = ?5, error = ?6 WHERE message = "
	    "?1 AND attempt = ?2", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, attempt);
	sqlite3_bind_text(st, 3, ok ? "valid" : "invalid", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, store_now_ms());
	sqlite3_bind_int(st, 5, exit_status);
	store_bind_opt_text(st, 6, error);
	return store_step_done(s, st, err);
}
