/*
 * store_msg.c - the store's statements about messages and transactions.
 *
 * Each statement is prepared once, on first use, and kept in the struct
 * store; callers bind nothing themselves. Every lookup that decides a
 * message's fate (sequence taken? MessageId seen? content seen?) runs in
 * the caller's write transaction, so a batch sees its own earlier rows.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spooldir.h"
#include "store.h"

#define MSGREF_COLS "id, state, sha256, partner, file_name, orig_name, " \
	"transaction_id, sender_seq"
/* Not a duplicate, not refused: the WHERE of messages_tx_seq and _msgid. */
#define LIVE "duplicate_of IS NULL AND rejected = 0"

static const char *sql[SQ_COUNT] = {
	[SQ_TX_NEXT] = "SELECT next_seq, out_seq, gap_since, gap_alerted "
	    "FROM transactions WHERE partner = ?1 AND transaction_id = ?2",
	[SQ_TX_ENSURE] = "INSERT OR IGNORE INTO transactions (partner, "
	    "transaction_id, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
	[SQ_TX_GAP] = "UPDATE transactions SET gap_since = ?3 "
	    "WHERE partner = ?1 AND transaction_id = ?2 AND gap_since IS NULL",
	[SQ_FIND_SEQ] = "SELECT " MSGREF_COLS " FROM messages "
	    "WHERE partner = ?1 AND transaction_id = ?2 AND sender_seq = ?3 "
	    "AND " LIVE,
	[SQ_FIND_MSGID] = "SELECT " MSGREF_COLS " FROM messages "
	    "WHERE partner = ?1 AND type IS ?3 AND message_id = ?2 "
	    "AND transaction_id IS NULL AND " LIVE,
	[SQ_FIND_MSGID_TX] = "SELECT " MSGREF_COLS " FROM messages "
	    "WHERE partner = ?1 AND type IS ?3 AND message_id = ?2 "
	    "AND transaction_id IS NOT NULL AND " LIVE " LIMIT 1",
	[SQ_FIND_HASH] = "SELECT " MSGREF_COLS " FROM messages "
	    "WHERE partner = ?1 AND sha256 = ?2 AND transaction_id IS NULL "
	    "AND message_id IS NULL AND " LIVE " LIMIT 1",
	[SQ_FIND_UPLOAD] = "SELECT " MSGREF_COLS " FROM messages "
	    "WHERE partner = ?1 AND orig_name = ?2 AND sha256 = ?3 "
	    "AND batch IS NULL ORDER BY id DESC LIMIT 1",
	[SQ_INSERT] = "INSERT INTO messages (id, partner, orig_name, "
	    "file_name, state, type, message_id, sender, recipient, "
	    "transaction_id, sender_seq, receiver_seq, sha256, size, "
	    "duplicate_of, reason, received_at, updated_at, batch, rejected, "
	    "dialect, test, reference, attempts) "
	    "VALUES (coalesce(?16, " STORE_NEXT_ID("messages") "), ?1, ?2, "
	    "?17, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
	    "?15, ?18, ?3 = 'rejected', ?19, ?20, ?21, ?22)",
	[SQ_NEXT_ID] = "SELECT " STORE_NEXT_ID("messages"),
	[SQ_SET_NAME] = "UPDATE messages SET file_name = ?2 WHERE id = ?1",
	[SQ_GET] = "SELECT " MSGREF_COLS " FROM messages WHERE id = ?1",
	[SQ_FIND_SKIP] = "SELECT 1 FROM skips WHERE partner = ?1 AND "
	    "transaction_id = ?2 AND seq = ?3",
	[SQ_TOMB_SEQ] = "SELECT id, sha256 FROM tombstones WHERE partner = ?1 "
	    "AND transaction_id = ?2 AND sender_seq = ?3",
	[SQ_TOMB_MSGID] = "SELECT id, sha256 FROM tombstones WHERE "
	    "partner = ?1 AND message_id = ?2 AND type IS ?3 AND "
	    "transaction_id IS NULL",
	[SQ_TOMB_HASH] = "SELECT id, sha256 FROM tombstones WHERE "
	    "partner = ?1 AND sha256 = ?2 AND transaction_id IS NULL AND "
	    "message_id IS NULL LIMIT 1",
};

/*
 * SQLite's own count (its page caches, schemas and statements), kept
 * unless it was built without SQLITE_DEFAULT_MEMSTATUS: then 0.
 */
int64_t
store_mem_peak(void)
{
	sqlite3_int64 cur = 0, peak = 0;

	if (store_mem_ours(&peak))	/* counted by store_mem.c */
		return peak;
	if (sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &cur, &peak, 0) !=
	    SQLITE_OK)
		return 0;
	return peak;
}

int64_t
store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static sqlite3_stmt *
stmt(struct store *s, enum store_stmt_id id, struct spool_error *err)
{
	return store_prepare(s, &s->stmt[id], sql[id], err);
}

void
store_msgref_free(struct store_msgref *r)
{
	free(r->partner);
	free(r->file_name);
	free(r->orig_name);
	free(r->transaction_id);
	memset(r, 0, sizeof(*r));
}

/* Step a lookup; on a row fill out. */
static int
lookup(struct store *s, sqlite3_stmt *st, struct store_msgref *out,
    struct spool_error *err)
{
	int rc = store_row(s, st, err);

	memset(out, 0, sizeof(*out));
	if (rc != 1) {
		sqlite3_reset(st);
		return rc;
	}
	out->id = sqlite3_column_int64(st, 0);
	out->state = spool_state_parse((const char *)sqlite3_column_text(st,
	    1));
	if (sqlite3_column_bytes(st, 2) == 32)
		memcpy(out->sha256, sqlite3_column_blob(st, 2), 32);
	out->partner = store_col_strdup(st, 3);
	out->file_name = store_col_strdup(st, 4);
	out->orig_name = store_col_strdup(st, 5);
	out->transaction_id = store_col_strdup(st, 6);
	out->sender_seq = sqlite3_column_int64(st, 7);
	sqlite3_reset(st);
	if (out->partner == NULL || out->file_name == NULL ||
	    out->orig_name == NULL) {
		store_msgref_free(out);
		spool_seterr(err, "out of memory");
		return -1;
	}
	return 1;
}

int
store_tx_read(struct store *s, const char *partner, const char *tx,
    struct store_txrow *r, struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(r, 0, sizeof(*r));
	r->next_seq = 1;
	if ((st = stmt(s, SQ_TX_NEXT, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx, -1, SQLITE_STATIC);
	if ((rc = store_row(s, st, err)) == 1) {
		r->next_seq = sqlite3_column_int64(st, 0);
		r->out_seq = sqlite3_column_int64(st, 1);
		r->gap_open = sqlite3_column_type(st, 2) != SQLITE_NULL;
		r->gap_since = sqlite3_column_int64(st, 2);
		r->gap_alerted = sqlite3_column_int(st, 3) != 0;
	}
	sqlite3_reset(st);
	return rc;
}

int
store_tx_next(struct store *s, const char *partner, const char *tx,
    int64_t *next, struct spool_error *err)
{
	struct store_txrow r;
	int rc;

	rc = store_tx_read(s, partner, tx, &r, err);
	*next = r.next_seq;
	return rc;
}

int
store_find_seq(struct store *s, const char *partner, const char *tx,
    int64_t seq, struct store_msgref *out, struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, SQ_FIND_SEQ, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, seq);
	return lookup(s, st, out, err);
}

int
store_find_msgid(struct store *s, const char *partner, const char *type,
    const char *msgid, bool in_tx, struct store_msgref *out,
    struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, in_tx ? SQ_FIND_MSGID_TX : SQ_FIND_MSGID, err)) ==
	    NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, msgid, -1, SQLITE_STATIC);
	store_bind_opt_text(st, 3, type);
	return lookup(s, st, out, err);
}

int
store_find_hash(struct store *s, const char *partner, const uint8_t *sha,
    struct store_msgref *out, struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, SQ_FIND_HASH, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, sha, 32, SQLITE_STATIC);
	return lookup(s, st, out, err);
}

int
store_find_upload(struct store *s, const char *partner, const char *orig,
    const uint8_t *sha, struct store_msgref *out, struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, SQ_FIND_UPLOAD, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, orig, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, sha, 32, SQLITE_STATIC);
	return lookup(s, st, out, err);
}

int
store_get(struct store *s, int64_t id, struct store_msgref *out,
    struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, SQ_GET, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return lookup(s, st, out, err);
}

int
store_find_purged(struct store *s, const char *partner, const char *tx,
    int64_t seq, const char *msgid, const char *type, const uint8_t *sha256,
    int64_t *id, uint8_t sha[32], struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = stmt(s, tx != NULL ? SQ_TOMB_SEQ : msgid != NULL ?
	    SQ_TOMB_MSGID : SQ_TOMB_HASH, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	if (tx != NULL) {
		sqlite3_bind_text(st, 2, tx, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, seq);
	} else if (msgid != NULL) {
		sqlite3_bind_text(st, 2, msgid, -1, SQLITE_STATIC);
		store_bind_opt_text(st, 3, type);
	} else
		sqlite3_bind_blob(st, 2, sha256, 32, SQLITE_STATIC);
	if ((rc = store_row(s, st, err)) == 1) {
		*id = sqlite3_column_int64(st, 0);
		memset(sha, 0, 32);
		if (sqlite3_column_bytes(st, 1) == 32)
			memcpy(sha, sqlite3_column_blob(st, 1), 32);
	}
	sqlite3_reset(st);
	return rc;
}

int
store_find_skip(struct store *s, const char *partner, const char *tx,
    int64_t seq, struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = stmt(s, SQ_FIND_SKIP, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, seq);
	rc = store_row(s, st, err);
	sqlite3_reset(st);
	return rc;
}

int
store_insert(struct store *s, const struct store_newmsg *m, int64_t *id,
    struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, SQ_INSERT, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, m->partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, m->orig_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, spool_state_name(m->state), -1,
	    SQLITE_STATIC);
	store_bind_opt_text(st, 4, m->type);
	store_bind_opt_text(st, 5, m->message_id);
	store_bind_opt_text(st, 6, m->sender);
	store_bind_opt_text(st, 7, m->recipient);
	store_bind_opt_text(st, 8, m->transaction_id);
	if (m->transaction_id != NULL) {
		sqlite3_bind_int64(st, 9, m->sender_seq);
		sqlite3_bind_int64(st, 10, m->receiver_seq);
	}
	if (m->sha256 != NULL)
		sqlite3_bind_blob(st, 11, m->sha256, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 12, m->size);
	if (m->duplicate_of != 0)
		sqlite3_bind_int64(st, 13, m->duplicate_of);
	store_bind_opt_text(st, 14, m->reason);
	sqlite3_bind_int64(st, 15, store_count_now(s));
	if (m->id != 0)
		sqlite3_bind_int64(st, 16, m->id);
	sqlite3_bind_text(st, 17, m->file_name != NULL ? m->file_name : "", -1,
	    SQLITE_STATIC);
	if (m->batch != 0)
		sqlite3_bind_int64(st, 18, m->batch);
	store_bind_opt_text(st, 19, m->dialect);
	sqlite3_bind_int(st, 20, m->test ? 1 : 0);
	store_bind_opt_text(st, 21, m->reference);
	/* Processed as it is accepted: its first attempt succeeded. */
	sqlite3_bind_int(st, 22, m->processed ? 1 : 0);
	/* What /metrics counts (store_count.c), noted first. */
	if (store_count_insert(s, m, err) == -1 || (m->processed &&
	    store_count_processed(s, m->partner, m->type, 0, err) == -1)) {
		sqlite3_reset(st);
		return -1;
	}
	if (store_step_done(s, st, err) == -1)
		return -1;
	*id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

int
store_next_message_id(struct store *s, int64_t *id, struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, SQ_NEXT_ID, err)) == NULL)
		return -1;
	return store_row_int64(s, st, id, err);
}

int
store_set_file_name(struct store *s, int64_t id, const char *name,
    struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, SQ_SET_NAME, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	return store_step_done(s, st, err);
}

static int
tx_stmt(struct store *s, enum store_stmt_id id, const char *partner,
    const char *tx, struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, id, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, store_now_ms());
	return store_step_done(s, st, err);
}

int
store_tx_ensure(struct store *s, const char *partner, const char *tx,
    struct spool_error *err)
{
	return tx_stmt(s, SQ_TX_ENSURE, partner, tx, err);
}

int
store_tx_note_gap(struct store *s, const char *partner, const char *tx,
    struct spool_error *err)
{
	return tx_stmt(s, SQ_TX_GAP, partner, tx, err);
}
