/*
 * store_exec.c - SQL of the exec runner: the pending calls to make, and
 * when the next deferred message without one is due.
 *
 * A call is pending from the commit of the cycle that decided it until
 * the commit of cycle_complete() after the program ran: a crash in
 * between leaves it pending, and the runner finds it here at the next
 * start and makes it again, with the same message ID and attempt number.
 * Only calls whose message is in queue/ or deferred/ are listed: a file
 * anywhere else is not the runner's to hand to a program.
 *
 * (A deferred message whose call is pending keeps its old, passed
 * next_attempt_at while the program runs; store_next_due() in
 * store_cycle.c leaves it out, or the daemon's timer would fire again and
 * again.)
 *
 * Statements are prepared once, in the store's xstmt[], and reset after
 * every use so that no read snapshot outlives the call.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "spooldir.h"
#include "store_exec.h"

enum { XQ_PENDING, XQ_IS_PENDING };

static const char pending_sql[] =
    "SELECT e.message, e.attempt, m.state, m.partner, m.type, "
    "m.transaction_id, m.sender_seq, m.file_name, m.sha256 FROM "
    "exec_calls e "
    "JOIN messages m ON m.id = e.message WHERE e.status = 'pending' AND "
    "m.state IN ('queue', 'deferred') ORDER BY e.started_at, e.message";


int
store_exec_pending(struct store *s, int (*fn)(void *,
    const struct store_exec_call *), void *arg, struct spool_error *err)
{
	struct store_exec_call c;
	sqlite3_stmt *st;
	const unsigned char *t;
	int rc, frc = 0;

	st = store_prepare(s, &s->xstmt[XQ_PENDING], pending_sql, err);
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
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
	if (frc == 0 && rc != SQLITE_DONE) {
		spool_seterr(err, "%s: %s", s->path, sqlite3_errmsg(s->db));
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_reset(st);
	return frc == -1 ? -1 : 0;
}


int
store_exec_is_pending(struct store *s, int64_t id, struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc;

	st = store_prepare(s, &s->xstmt[XQ_IS_PENDING],
	    "SELECT 1 FROM exec_calls WHERE "
	    "message = ?1 AND status = 'pending'", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	spool_seterr(err, "%s: %s", s->path, sqlite3_errmsg(s->db));
	return -1;
}
