/*
 * store_batch.c - SQL about batches (bundles) and their entries.
 *
 * Statements are prepared once, on first use, and kept in the struct
 * store (bstmt[]). Entry names are partner data: they are bound as
 * values, never written into SQL text.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "spooldir.h"
#include "store_batch.h"
#include "store_cycle.h"

enum {
	SB_INSERT,
	SB_FINISH,
	SB_ENTRY,
	SB_GET,
	SB_FIND_UPLOAD,
	SB_MSG_BATCH,
	SB_ENTRIES,
	SB_IDS,
	SB_PURGE,
	SB_PURGE_DRY,
	SB_PURGE_REJECTED,
	SB_FORGET,
	SB_COUNT
};

#define BATCH_COLS "id, state, partner, orig_name, file_name, reason, " \
	"sha256, size, entries, received_at, archived_at, archive_error"

static const char *sql[SB_COUNT] = {
	[SB_INSERT] = "INSERT INTO batches (id, partner, orig_name, "
	    "file_name, state, sha256, size, entries, reason, received_at) "
	    "VALUES (" STORE_NEXT_ID("batches") ", ?1, ?2, ?3, ?4, ?5, ?6, "
	    "?7, ?8, ?9)",
	[SB_FINISH] = "UPDATE batches SET state = ?2, file_name = ?3, "
	    "reason = ?4, entries = ?5 WHERE id = ?1",
	[SB_ENTRY] = "INSERT INTO batch_entries (batch, idx, name, fate, "
	    "reason, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[SB_GET] = "SELECT " BATCH_COLS " FROM batches WHERE id = ?1",
	[SB_FIND_UPLOAD] = "SELECT " BATCH_COLS " FROM batches "
	    "WHERE partner = ?1 AND orig_name = ?2 AND sha256 = ?3 "
	    "ORDER BY id DESC LIMIT 1",
	[SB_MSG_BATCH] = "SELECT batch FROM messages WHERE id = ?1 "
	    "AND batch IS NOT NULL",
	[SB_ENTRIES] = "SELECT e.idx, e.name, e.fate, e.reason, e.message, "
	    "m.state, m.file_name, m.sha256, m.reason FROM batch_entries e "
	    "LEFT JOIN messages m ON m.id = e.message WHERE e.batch = ?1 "
	    "ORDER BY e.idx",
	[SB_IDS] = "SELECT id FROM batches ORDER BY id",
	[SB_PURGE] = "SELECT id, file_name FROM batches WHERE state = 'done' "
	    "AND file_name <> '' AND received_at < ?1 AND NOT EXISTS "
	    "(SELECT 1 FROM messages WHERE batch = batches.id AND "
	    "purged_at IS NULL) ORDER BY id LIMIT ?3",
	/* As SB_PURGE, counting the done messages that a purge of done/
	 * before ?1 removes first as gone (?2: only archived ones). */
	[SB_PURGE_DRY] = "SELECT id, file_name FROM batches WHERE "
	    "state = 'done' AND file_name <> '' AND received_at < ?1 AND NOT "
	    "EXISTS (SELECT 1 FROM messages WHERE batch = batches.id AND "
	    "purged_at IS NULL AND NOT (state = 'done' AND updated_at < ?1 "
	    "AND (?2 = 0 OR archived_at IS NOT NULL))) ORDER BY id LIMIT ?3",
	/* ?2: only those archive_command archived (DESIGN 18). */
	[SB_PURGE_REJECTED] = "SELECT id, file_name FROM batches WHERE "
	    "state = 'rejected' AND file_name <> '' AND received_at < ?1 "
	    "AND (?2 = 0 OR archived_at IS NOT NULL) ORDER BY id LIMIT ?3",
	[SB_FORGET] = "UPDATE batches SET file_name = '' WHERE id = ?1",
};

static const char *fate_names[] = {
	[FATE_ACCEPTED] = "accepted",
	[FATE_DUPLICATE] = "duplicate",
	[FATE_REJECTED] = "rejected",
	[FATE_SKIPPED] = "skipped",
};

const char *
batch_fate_name(enum batch_fate f)
{
	if ((int)f < 0 || f > FATE_SKIPPED)
		return "?";
	return fate_names[f];
}

static int
fate_parse(const char *s)
{
	int i;

	for (i = 0; s != NULL && i <= FATE_SKIPPED; i++)
		if (strcmp(s, fate_names[i]) == 0)
			return i;
	return -1;
}

static sqlite3_stmt *
stmt(struct store *s, int id, struct spool_error *err)
{
	return store_prepare(s, &s->bstmt[id], sql[id], err);
}

void
store_batch_free(struct store_batch *b)
{
	free(b->partner);
	free(b->orig_name);
	free(b->file_name);
	free(b->reason);
	free(b->archive_error);
	memset(b, 0, sizeof(*b));
}

int
store_batch_insert(struct store *s, const struct store_batch *b, int64_t *id,
    struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, SB_INSERT, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, b->partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, b->orig_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, b->file_name != NULL ? b->file_name : "", -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(st, 4, spool_state_name(b->state), -1,
	    SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, b->sha256, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, b->size);
	sqlite3_bind_int64(st, 7, b->entries);
	store_bind_opt_text(st, 8, b->reason);
	sqlite3_bind_int64(st, 9, store_now_ms());
	if (store_step_done(s, st, err) == -1)
		return -1;
	*id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

int
store_batch_finish(struct store *s, int64_t id, int state,
    const char *file_name, const char *reason, int64_t entries,
    struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, SB_FINISH, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, spool_state_name(state), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, file_name, -1, SQLITE_STATIC);
	store_bind_opt_text(st, 4, reason);
	sqlite3_bind_int64(st, 5, entries);
	return store_step_done(s, st, err);
}

int
store_batch_add_entry(struct store *s, int64_t batch, int64_t index,
    const char *name, enum batch_fate fate, const char *reason,
    int64_t message, struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, SB_ENTRY, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, batch);
	sqlite3_bind_int64(st, 2, index);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, batch_fate_name(fate), -1, SQLITE_STATIC);
	store_bind_opt_text(st, 5, reason);
	if (message != 0)
		sqlite3_bind_int64(st, 6, message);
	return store_step_done(s, st, err);
}

static int
lookup(struct store *s, sqlite3_stmt *st, struct store_batch *b,
    struct spool_error *err)
{
	int rc = store_row(s, st, err);

	memset(b, 0, sizeof(*b));
	if (rc != 1) {
		sqlite3_reset(st);
		return rc;
	}
	b->id = sqlite3_column_int64(st, 0);
	b->state = spool_state_parse((const char *)sqlite3_column_text(st,
	    1));
	b->partner = store_col_strdup(st, 2);
	b->orig_name = store_col_strdup(st, 3);
	b->file_name = store_col_strdup(st, 4);
	b->reason = store_col_strdup(st, 5);
	if (sqlite3_column_bytes(st, 6) == 32)
		memcpy(b->sha256, sqlite3_column_blob(st, 6), 32);
	b->size = sqlite3_column_int64(st, 7);
	b->entries = sqlite3_column_int64(st, 8);
	b->received_at = sqlite3_column_int64(st, 9);
	b->archived_at = sqlite3_column_int64(st, 10);
	rc = store_col_dup(st, 11, &b->archive_error);
	sqlite3_reset(st);
	if (b->partner == NULL || b->orig_name == NULL ||
	    b->file_name == NULL || rc == -1) {
		store_batch_free(b);
		spool_seterr(err, "out of memory");
		return -1;
	}
	return 1;
}

int
store_batch_get(struct store *s, int64_t id, struct store_batch *b,
    struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, SB_GET, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return lookup(s, st, b, err);
}

int
store_batch_find_upload(struct store *s, const char *partner,
    const char *orig_name, const uint8_t *sha, struct store_batch *b,
    struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, SB_FIND_UPLOAD, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, orig_name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, sha, 32, SQLITE_STATIC);
	return lookup(s, st, b, err);
}

int
store_message_batch(struct store *s, int64_t message, int64_t *batch,
    struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc;

	*batch = 0;
	if ((st = stmt(s, SB_MSG_BATCH, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, message);
	if ((rc = store_row(s, st, err)) == 1)
		*batch = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc;
}

int
store_batch_entries(struct store *s, int64_t batch,
    int (*fn)(void *, const struct store_batch_entry *), void *arg,
    struct spool_error *err)
{
	struct store_batch_entry e;
	sqlite3_stmt *st;
	int rc;

	if ((st = stmt(s, SB_ENTRIES, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, batch);
	while ((rc = store_row(s, st, err)) == 1) {
		memset(&e, 0, sizeof(e));
		e.index = sqlite3_column_int64(st, 0);
		e.name = (const char *)sqlite3_column_text(st, 1);
		if (e.name == NULL)
			e.name = "";
		e.fate = fate_parse((const char *)sqlite3_column_text(st, 2));
		e.reason = (const char *)sqlite3_column_text(st, 3);
		e.message = sqlite3_column_int64(st, 4);
		e.msg_state = -1;
		if (sqlite3_column_type(st, 5) != SQLITE_NULL)
			e.msg_state = spool_state_parse((const char *)
			    sqlite3_column_text(st, 5));
		e.msg_file = (const char *)sqlite3_column_text(st, 6);
		if (sqlite3_column_bytes(st, 7) == 32)
			e.msg_sha256 = sqlite3_column_blob(st, 7);
		e.msg_reason = (const char *)sqlite3_column_text(st, 8);
		if (fn(arg, &e) == -1)
			break;
	}
	sqlite3_reset(st);
	return rc == 0 ? 0 : -1;
}

int
store_batch_ids(struct store *s, int (*fn)(void *, int64_t), void *arg,
    struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = stmt(s, SB_IDS, err)) == NULL)
		return -1;
	while ((rc = store_row(s, st, err)) == 1)
		if (fn(arg, sqlite3_column_int64(st, 0)) == -1)
			break;
	sqlite3_reset(st);
	return rc == 0 ? 0 : -1;
}

int
store_batch_purge_candidates(struct store *s, enum store_batch_purge which,
    int64_t before, bool archived_only, int64_t limit,
    int (*fn)(void *, int64_t, const char *), void *arg,
    struct spool_error *err)
{
	sqlite3_stmt *st;
	const char *name;
	int rc;

	if ((st = stmt(s, which == SBP_DONE_DRY ? SB_PURGE_DRY :
	    which == SBP_REJECTED ? SB_PURGE_REJECTED : SB_PURGE, err)) ==
	    NULL)
		return -1;
	sqlite3_bind_int64(st, 1, before);
	if (which == SBP_DONE_DRY || which == SBP_REJECTED)
		sqlite3_bind_int(st, 2, archived_only);
	sqlite3_bind_int64(st, 3, limit > 0 ? limit : -1);
	while ((rc = store_row(s, st, err)) == 1) {
		name = (const char *)sqlite3_column_text(st, 1);
		if (fn(arg, sqlite3_column_int64(st, 0), name != NULL ? name :
		    "") == -1) {
			sqlite3_reset(st);
			return -1;
		}
	}
	sqlite3_reset(st);
	return rc == 0 ? 0 : -1;
}

int
store_batch_forget_file(struct store *s, int64_t id, struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, SB_FORGET, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return store_step_done(s, st, err);
}

/*
 * A bundle is read inside a savepoint of the acceptance transaction, so
 * that a bundle found corrupt halfway leaves no row of its entries.
 */
int
store_batch_savepoint(struct store *s, struct spool_error *err)
{
	return store_savepoint(s, "bundle", err);
}

int
store_batch_release(struct store *s, struct spool_error *err)
{
	return store_release(s, "bundle", err);
}

int
store_batch_rollback(struct store *s, struct spool_error *err)
{
	if (store_rollback_to(s, "bundle", err) == -1)
		return -1;
	return store_release(s, "bundle", err);
}
