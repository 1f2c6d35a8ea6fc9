/*
 * store_outbound.c - SQL of outbound messages and of our sequence
 * counter per transaction.
 *
 * An outbound row is inserted in the write transaction of the message
 * that caused it, with its complete content: what is committed is
 * exactly what will be written, however often the write is repeated
 * after crashes. written_at is set only after the file has been renamed
 * into outgoing/<partner>/ and the directory fsynced (outbound.c).
 *
 * Statements are prepared once, in the store's ostmt[] slots.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "store_outbound.h"

enum {
	OQ_LAST_SEQ,
	OQ_TAKE_SEQ,
	OQ_NEXT_ID,
	OQ_INSERT,
	OQ_UNWRITTEN,
	OQ_WRITTEN,
	OQ_STALE,
	OQ_COUNT
};

static const char *sqls[OQ_COUNT] = {
	[OQ_LAST_SEQ] = "SELECT out_seq FROM transactions WHERE partner = ?1 "
	    "AND transaction_id = ?2",
	[OQ_TAKE_SEQ] = "UPDATE transactions SET out_seq = out_seq + 1, "
	    "updated_at = ?3 WHERE partner = ?1 AND transaction_id = ?2 "
	    "RETURNING out_seq",
	[OQ_NEXT_ID] = "SELECT " STORE_NEXT_ID("outbound"),
	[OQ_INSERT] = "INSERT INTO outbound (id, partner, transaction_id, "
	    "sender_seq, receiver_seq, type, cause, file_name, content, "
	    "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[OQ_UNWRITTEN] = "SELECT id, partner, file_name, content FROM "
	    "outbound WHERE written_at IS NULL ORDER BY id",
	[OQ_WRITTEN] = "UPDATE outbound SET written_at = ?2 WHERE id = ?1 "
	    "AND written_at IS NULL",
	[OQ_STALE] = "UPDATE messages SET stale = 1 WHERE id = ?1",
};

static sqlite3_stmt *
stmt(struct store *s, int id, struct spool_error *err)
{
	return store_prepare(s, &s->ostmt[id], sqls[id], err);
}

static int
tx_seq(struct store *s, int id, const char *partner, const char *tx,
    int64_t *seq, struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = stmt(s, id, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx, -1, SQLITE_STATIC);
	if (id == OQ_TAKE_SEQ)
		sqlite3_bind_int64(st, 3, store_now_ms());
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		rc = sqlite3_step(st);
	} else if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		if (id == OQ_LAST_SEQ) {
			*seq = 0;
			return 0;
		}
		spool_seterr(err, "partner %s has no transaction %s", partner,
		    tx);
		return -1;
	}
	if (rc != SQLITE_DONE)
		return store_stmt_err(s, st, err);
	sqlite3_reset(st);
	return 0;
}

int
store_out_last_seq(struct store *s, const char *partner, const char *tx,
    int64_t *seq, struct spool_error *err)
{
	return tx_seq(s, OQ_LAST_SEQ, partner, tx, seq, err);
}

int
store_out_take_seq(struct store *s, const char *partner, const char *tx,
    int64_t *seq, struct spool_error *err)
{
	return tx_seq(s, OQ_TAKE_SEQ, partner, tx, seq, err);
}

int
store_out_next_id(struct store *s, int64_t *id, struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, OQ_NEXT_ID, err)) == NULL)
		return -1;
	return store_row_int64(s, st, id, err);
}

int
store_out_insert(struct store *s, int64_t id, const struct store_outmsg *m,
    struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, OQ_INSERT, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, m->partner, -1, SQLITE_STATIC);
	if (m->transaction_id != NULL) {
		sqlite3_bind_text(st, 3, m->transaction_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, m->sender_seq);
		sqlite3_bind_int64(st, 5, m->receiver_seq);
	}
	sqlite3_bind_text(st, 6, m->type, -1, SQLITE_STATIC);
	if (m->cause > 0)
		sqlite3_bind_int64(st, 7, m->cause);
	sqlite3_bind_text(st, 8, m->file_name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 9, m->content, (int)m->len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, store_now_ms());
	if (store_step_done(s, st, err) == -1)
		return -1;
	s->outbound_new++;
	return 0;
}

void
store_outfiles_free(struct store_outfile *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].partner);
		free(v[i].file_name);
		free(v[i].content);
	}
	free(v);
}

int
store_out_unwritten(struct store *s, struct store_outfile **out, size_t *n,
    struct spool_error *err)
{
	struct store_outfile *v = NULL, *nv, *f;
	sqlite3_stmt *st;
	size_t cap = 0;
	const void *blob;
	int rc, bl;

	*out = NULL;
	*n = 0;
	if ((st = stmt(s, OQ_UNWRITTEN, err)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((nv = realloc(v, cap * sizeof(*nv))) == NULL)
				goto nomem;
			v = nv;
		}
		f = &v[*n];
		memset(f, 0, sizeof(*f));
		(*n)++;
		f->id = sqlite3_column_int64(st, 0);
		if (sqlite3_column_text(st, 1) == NULL ||
		    sqlite3_column_text(st, 2) == NULL)
			goto nomem;
		f->partner = store_col_strdup(st, 1);
		f->file_name = store_col_strdup(st, 2);
		blob = sqlite3_column_blob(st, 3);
		bl = sqlite3_column_bytes(st, 3);
		f->len = bl > 0 ? (size_t)bl : 0;
		if ((f->content = malloc(f->len + 1)) != NULL && f->len > 0)
			memcpy(f->content, blob, f->len);
		if (f->partner == NULL || f->file_name == NULL ||
		    f->content == NULL)
			goto nomem;
	}
	if (rc != SQLITE_DONE) {
		store_outfiles_free(v, *n);
		*n = 0;
		return store_stmt_err(s, st, err);
	}
	sqlite3_reset(st);
	*out = v;
	return 0;
nomem:
	sqlite3_reset(st);
	store_outfiles_free(v, *n);
	*n = 0;
	spool_seterr(err, "out of memory (or a bad outbound row)");
	return -1;
}

int
store_out_mark_written(struct store *s, int64_t id, struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, OQ_WRITTEN, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, store_now_ms());
	return store_step_done(s, st, err);
}

int
store_msg_mark_stale(struct store *s, int64_t id, struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, OQ_STALE, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return store_step_done(s, st, err);
}
