/*
 * store_admin_purge.c - the statements that remove a message's row or
 * slim it: purging done/ (its candidates, and one row at a time inside a
 * savepoint while the caller removes the file), settling a message whose
 * file an admin removed by hand (spoolctl check --repair), and spoolctl
 * delete.
 *
 * Purging deletes a message's attempts and its row inside a savepoint,
 * so that a row another row still refers to (a duplicate, a handler's
 * table) is kept whole rather than half deleted: the foreign keys, not a
 * list kept here, say what may go. A row they keep is slimmed and marked
 * purged instead, so a redelivery is still a duplicate. The purge's
 * statements are prepared once per purge run, the others per call.
 */
#include "config.h"

#include <stdlib.h>

#include "store_admin.h"
#include "store_admin_int.h"
#include "store_cycle.h"

/*
 * Purging one message: first the store's own records of it (its
 * attempts), and a bundle entry's link to it (the entry keeps its fate),
 * then its row. A handler's rows that name it are the handler's: the
 * exec component's trigger takes its finished calls along; the ledger's
 * and the orders' rows keep it (a foreign key), and it is not purged.
 */
enum { PURGE_ATTEMPTS, PURGE_ENTRY, PURGE_TOMB, PURGE_MSG, PURGE_SLIM,
    PURGE_NSTMT };

struct store_admin_purge {
	struct store	*s;
	sqlite3_stmt	*st[PURGE_NSTMT];
};

int
store_admin_purge_candidates(struct store *s, int64_t before,
    int64_t below_id, int64_t limit, bool archived_only,
    int (*fn)(void *, struct store_admin_msg *), void *arg,
    struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if (store_admin_prep(s,
	    archived_only ? "SELECT " MSG_COLS " FROM messages WHERE "
	    "state = 'done' AND purged_at IS NULL AND updated_at < ?1 AND id "
	    "< ?2 AND archived_at IS NOT NULL ORDER BY id DESC LIMIT ?3" :
	    "SELECT " MSG_COLS " FROM messages WHERE state = 'done' "
	    "AND purged_at IS NULL AND updated_at < ?1 AND id < ?2 "
	    "ORDER BY id DESC LIMIT ?3", &st,
	    err) == -1)
		return -1;
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int64(st, 2, below_id);
	sqlite3_bind_int64(st, 3, limit > 0 ? limit : -1);
	rc = store_admin_each_msg(s, st, fn, arg, err);
	sqlite3_finalize(st);
	return rc;
}

struct store_admin_purge *
store_admin_purge_open(struct store *s, struct spool_error *err)
{
	struct store_admin_purge *p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		spool_seterr(err, "out of memory");
		return NULL;
	}
	p->s = s;
	if (store_admin_prep(s, "DELETE FROM attempts WHERE message = ?1",
	    &p->st[PURGE_ATTEMPTS], err) == -1 ||
	    store_admin_prep(s,
	    "UPDATE batch_entries SET message = NULL WHERE message = "
	    "?1 AND EXISTS (SELECT 1 FROM messages WHERE id = ?1 AND "
	    "state = 'done')", &p->st[PURGE_ENTRY], err) == -1 ||
	    store_admin_prep(s,
	    "INSERT OR REPLACE INTO tombstones (id, partner, "
	    "transaction_id, sender_seq, message_id, sha256, type, fate, "
	    "purged_at) SELECT id, partner, transaction_id, sender_seq, "
	    "message_id, sha256, type, state, "
	    "CAST(strftime('%s', 'now') AS INTEGER) * 1000 FROM messages "
	    "WHERE id = ?1 AND state = 'done' AND duplicate_of IS NULL AND "
	    "rejected = 0", &p->st[PURGE_TOMB], err) == -1 ||
	    store_admin_prep(s,
	    "DELETE FROM messages WHERE id = ?1 AND state = 'done'",
	    &p->st[PURGE_MSG], err) == -1 ||
	    store_admin_prep(s, "UPDATE messages SET purged_at = "
	    "CAST(strftime('%s', 'now') AS INTEGER) * 1000 WHERE id = ?1 AND "
	    "state = 'done' AND purged_at IS NULL", &p->st[PURGE_SLIM],
	    err) == -1) {
		store_admin_purge_close(p);
		return NULL;
	}
	return p;
}

static void
purge_reset(struct store_admin_purge *p)
{
	int i;

	for (i = 0; i < PURGE_NSTMT; i++)
		sqlite3_reset(p->st[i]);
}

void
store_admin_purge_close(struct store_admin_purge *p)
{
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < PURGE_NSTMT; i++)
		sqlite3_finalize(p->st[i]);
	free(p);
}

int
store_admin_purge_row(struct store_admin_purge *p, int64_t id,
    struct spool_error *err)
{
	struct store *s = p->s;
	int i, rc;

	if (store_exec(s, "SAVEPOINT purge_row", err) == -1)
		return -1;
	purge_reset(p);
	for (i = 0; i < PURGE_NSTMT; i++)
		sqlite3_bind_int64(p->st[i], 1, id);
	for (i = 0; i < PURGE_MSG; i++)
		if (sqlite3_step(p->st[i]) != SQLITE_DONE) {
			store_stmt_err(s, NULL, err);
			goto undo;
		}
	rc = sqlite3_step(p->st[PURGE_MSG]);
	if (rc == SQLITE_DONE && sqlite3_changes(s->db) == 1) {
		purge_reset(p);
		return 1;	/* the savepoint stays open */
	}
	if (rc != SQLITE_DONE && sqlite3_extended_errcode(s->db) ==
	    SQLITE_CONSTRAINT_FOREIGNKEY) {
		/*
		 * The books name it: the failed DELETE undid itself; the
		 * row stays, slimmed and marked purged, and its file goes.
		 */
		rc = sqlite3_step(p->st[PURGE_SLIM]);
		if (rc == SQLITE_DONE && sqlite3_changes(s->db) == 1) {
			purge_reset(p);
			return 1;
		}
		if (rc != SQLITE_DONE) {
			store_stmt_err(s, NULL, err);
			goto undo;
		}
	}
	if (rc == SQLITE_DONE) {
		purge_reset(p);
		return store_admin_purge_done(p, false, err) == -1 ? -1 : 0;
	}
	store_stmt_err(s, NULL, err);
undo:
	purge_reset(p);
	store_admin_purge_done(p, false, NULL);
	return -1;
}

int
store_admin_purge_done(struct store_admin_purge *p, bool keep_deletion,
    struct spool_error *err)
{
	return store_exec(p->s, keep_deletion ? "RELEASE purge_row" :
	    "ROLLBACK TO purge_row; RELEASE purge_row", err);
}

/* Run a settling UPDATE begun by the caller's transaction and commit it:
 * 1 if it changed a row, 0 if none (settled already), -1 on error. */
static int
settle_step(struct store *s, sqlite3_stmt *st, struct spool_error *err)
{
	int rc, n;

	rc = sqlite3_step(st);
	n = sqlite3_changes(s->db);
	if (rc != SQLITE_DONE)
		store_stmt_err(s, st, err);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE || store_commit(s, err) == -1) {
		store_rollback(s);
		return -1;
	}
	return n > 0;
}

int
store_admin_settle_removed(struct store *s, int64_t id, const char *note,
    struct spool_error *err)
{
	sqlite3_stmt *st;

	if (store_begin(s, err) == -1)
		return -1;
	if (store_admin_prep(s,
	    "UPDATE messages SET purged_at = ?3, reason = CASE WHEN "
	    "reason IS NULL OR reason = '' THEN ?2 ELSE reason || '; ' || ?2 "
	    "END WHERE id = ?1 AND state IN ('done', 'rejected', 'failed') "
	    "AND purged_at IS NULL", &st, err) == -1) {
		store_rollback(s);
		return -1;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, note, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, store_now_ms());
	return settle_step(s, st, err);
}

int
store_admin_settle_bundle_removed(struct store *s, int64_t id,
    const char *file_name, const char *note, struct spool_error *err)
{
	sqlite3_stmt *st;

	if (store_begin(s, err) == -1)
		return -1;
	if (store_admin_prep(s,
	    "UPDATE batches SET file_name = '', reason = CASE WHEN "
	    "reason IS NULL OR reason = '' THEN ?3 ELSE reason || '; ' || ?3 "
	    "END WHERE id = ?1 AND file_name = ?2 AND file_name <> ''", &st,
	    err) == -1) {
		store_rollback(s);
		return -1;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, file_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, note, -1, SQLITE_STATIC);
	return settle_step(s, st, err);
}

/* Step one statement bound to id (and text t as ?2): SQLITE_DONE or rc. */
static int
step_id(struct store *s, const char *sql, int64_t id, const char *t,
    struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if (store_admin_prep(s, sql, &st, err) == -1)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (t != NULL)
		sqlite3_bind_text(st, 2, t, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && err != NULL)
		spool_seterr(err, "%s: %s", s->path, sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return rc;
}

int
store_admin_delete(struct store *s, int64_t id, const char *note,
    struct spool_error *err)
{
	int rc;

	if (store_savepoint(s, "delete_row", err) == -1)
		return -1;
	/* A tombstone, as purge leaves (a redelivery is a duplicate); not
	 * for a rejected message, which the store never matched against. */
	if (step_id(s, "INSERT OR REPLACE INTO tombstones (id, partner, "
	    "transaction_id, sender_seq, message_id, sha256, type, fate, "
	    "purged_at) SELECT id, partner, transaction_id, sender_seq, "
	    "message_id, sha256, type, 'deleted', "
	    "CAST(strftime('%s', 'now') AS INTEGER) * 1000 FROM messages "
	    "WHERE id = ?1 AND duplicate_of IS NULL AND rejected = 0", id,
	    NULL, err) != SQLITE_DONE ||
	    step_id(s, "DELETE FROM attempts WHERE message = ?1", id, NULL,
	    err) != SQLITE_DONE ||
	    step_id(s, "UPDATE batch_entries SET message = NULL WHERE "
	    "message = ?1", id, NULL, err) != SQLITE_DONE)
		goto undo;
	rc = step_id(s, "DELETE FROM messages WHERE id = ?1", id, NULL, NULL);
	if (rc != SQLITE_DONE) {
		if (sqlite3_extended_errcode(s->db) !=
		    SQLITE_CONSTRAINT_FOREIGNKEY) {
			spool_seterr(err, "%s: %s", s->path,
			    sqlite3_errmsg(s->db));
			goto undo;
		}
		/* Another row names it: it stays, settled (done), purged,
		 * with the note as its reason (counted: store_count.c). */
		if (store_count_update(s, id, ST_DONE, NULL, note == NULL,
		    store_now_ms(), err) == -1 ||
		    step_id(s, "UPDATE messages SET state = 'done', "
		    "next_attempt_at = NULL, hold_cause = NULL, reason = ?2, "
		    "purged_at = CAST(strftime('%s', 'now') AS INTEGER) * "
		    "1000, updated_at = CAST(strftime('%s', 'now') AS "
		    "INTEGER) * 1000 WHERE id = ?1", id, note, err) !=
		    SQLITE_DONE)
			goto undo;
	}
	return store_release(s, "delete_row", err);
undo:
	if (store_rollback_to(s, "delete_row", NULL) == 0)
		store_release(s, "delete_row", NULL);
	return -1;
}
