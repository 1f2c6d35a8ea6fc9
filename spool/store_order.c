/*
 * store_order.c - the store's side of the ordering modes interchange and
 * after (DESIGN 16); the rules are sequencer.c's.
 *
 * A message ordered by interchange control number carries its pair
 * (messages.ic_pair, "interchange SENDER RECIPIENT") and the number
 * (ic_control); the pair's next expected number, gap and alert state
 * live in its row of transactions, like a transaction's. A message
 * parked by `after' carries the types it waits for (after_types).
 *
 * Statements are prepared once per store (store_part()); every call runs
 * inside the caller's transaction, so crash safety is the caller's.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "spooldir.h"
#include "store_order.h"

#define LIVE "duplicate_of IS NULL AND rejected = 0"

enum {
	OQ_ENSURE,
	OQ_FIND,
	OQ_SET,
	OQ_OF,
	OQ_PARKED,
	OQ_OPEN,
	OQ_PARKED_AFTER,
	OQ_AFTER_DONE,
	OQ_AFTER_WAITING,
	OQ_PAIRS,
	OQ_PAIR_PARKED,
	OQ_MSGS,
	OQ_COUNT
};

static const char *sqls[OQ_COUNT] = {
	[OQ_ENSURE] = "INSERT OR IGNORE INTO transactions (partner, "
	    "transaction_id, next_seq, created_at, updated_at) VALUES (?1, "
	    "?2, ?3, ?4, ?4)",
	[OQ_FIND] = "SELECT id, batch FROM messages WHERE partner = ?1 AND "
	    "ic_pair = ?2 AND ic_control = ?3 AND " LIVE " ORDER BY id "
	    "LIMIT 1",
	[OQ_SET] = "UPDATE messages SET ic_pair = ?2, ic_control = ?3, "
	    "after_types = ?4 WHERE id = ?1",
	[OQ_OF] = "SELECT ic_pair, ic_control, reference, type FROM messages "
	    "WHERE id = ?1",
	[OQ_PARKED] = "SELECT id FROM messages WHERE partner = ?1 AND "
	    "ic_pair = ?2 AND ic_control = ?3 AND state = 'parked' AND " LIVE
	    " ORDER BY id LIMIT 1",
	[OQ_OPEN] = "SELECT count(*) FROM messages WHERE partner = ?1 AND "
	    "ic_pair = ?2 AND ic_control = ?3 AND state NOT IN ('done', "
	    "'rejected') AND " LIVE,
	[OQ_PARKED_AFTER] = "SELECT count(*) FROM messages WHERE partner = ?1 "
	    "AND ic_pair = ?2 AND ic_control > ?3 AND state = 'parked' AND "
	    LIVE,
	[OQ_AFTER_DONE] = "SELECT count(*) FROM messages WHERE partner = ?1 "
	    "AND reference = ?2 AND type = ?3 AND state = 'done' AND " LIVE,
	/* Parked by after, and one of its types is done now (?3, the type
	 * just done, or one done before: the waiters go one by one). */
	[OQ_AFTER_WAITING] = "SELECT m.id FROM messages m WHERE m.partner = ?1 "
	    "AND m.reference = ?2 AND m.after_types IS NOT NULL AND m.state = "
	    "'parked' AND m.duplicate_of IS NULL AND m.rejected = 0 AND "
	    "(instr(' ' || m.after_types || ' ', ' ' || ?3 || ' ') > 0 OR "
	    "EXISTS (SELECT 1 FROM messages d WHERE d.partner = ?1 AND "
	    "d.reference = ?2 AND d.state = 'done' AND d.duplicate_of IS NULL "
	    "AND d.rejected = 0 AND instr(' ' || m.after_types || ' ', ' ' || "
	    "d.type || ' ') > 0)) ORDER BY m.id LIMIT 1",
	[OQ_PAIRS] = "SELECT t.partner, t.transaction_id, t.next_seq, "
	    "t.gap_since, t.gap_alerted, (SELECT count(*) FROM skips k WHERE "
	    "k.partner = t.partner AND k.transaction_id = t.transaction_id) "
	    "FROM transactions t WHERE substr(t.transaction_id, 1, 12) = "
	    "'interchange ' AND (?1 IS NULL OR t.partner = ?1) ORDER BY "
	    "t.partner, t.transaction_id",
	[OQ_PAIR_PARKED] = "SELECT DISTINCT ic_control FROM messages WHERE "
	    "partner = ?1 AND ic_pair = ?2 AND state = 'parked' AND " LIVE
	    " ORDER BY ic_control",
	[OQ_MSGS] = "SELECT id, ic_pair, state, type, duplicate_of, reason, "
	    "orig_name, batch FROM messages WHERE partner = ?1 AND ic_control "
	    "= ?2 AND ic_pair IS NOT NULL ORDER BY id",
};

struct order_part {
	sqlite3_stmt	*st[OQ_COUNT];
};

static char part_key;

static void
part_fini(struct store *s, void *p)
{
	struct order_part *op = p;
	int i;

	(void)s;
	for (i = 0; i < OQ_COUNT; i++)
		if (op->st[i] != NULL)
			sqlite3_finalize(op->st[i]);
}

static sqlite3_stmt *
stmt(struct store *s, int id, struct spool_error *err)
{
	struct order_part *op;

	if ((op = store_part(s, &part_key, sizeof(*op), part_fini,
	    err)) == NULL)
		return NULL;
	return store_prepare(s, &op->st[id], sqls[id], err);
}

/* partner, pair, n bound as 1, 2, 3. */
static sqlite3_stmt *
pair_stmt(struct store *s, int id, const char *partner, const char *pair,
    int64_t n, struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, id, err)) == NULL)
		return NULL;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, pair, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, n);
	return st;
}

/* One optional row's first column as an integer: 1, 0, -1. */
static int
one_id(struct store *s, sqlite3_stmt *st, int64_t *id, int64_t *id2,
    struct spool_error *err)
{
	int rc;

	rc = store_row(s, st, err);
	if (rc == 1) {
		*id = sqlite3_column_int64(st, 0);
		if (id2 != NULL)
			*id2 = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return rc;
}

int
store_ic_ensure(struct store *s, const char *partner, const char *pair,
    int64_t first, struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = pair_stmt(s, OQ_ENSURE, partner, pair, first, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 4, store_now_ms());
	return store_step_done(s, st, err);
}

int
store_ic_find(struct store *s, const char *partner, const char *pair,
    int64_t n, int64_t *id, int64_t *batch, struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = pair_stmt(s, OQ_FIND, partner, pair, n, err)) == NULL)
		return -1;
	return one_id(s, st, id, batch, err);
}

int
store_order_set(struct store *s, int64_t id, const char *pair, int64_t n,
    const char *after, struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, OQ_SET, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	store_bind_opt_text(st, 2, pair);
	if (pair != NULL)
		sqlite3_bind_int64(st, 3, n);
	else
		sqlite3_bind_null(st, 3);
	store_bind_opt_text(st, 4, after);
	return store_step_done(s, st, err);
}

int
store_order_of(struct store *s, int64_t id, char **pair, int64_t *n,
    char **reference, char **type, struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc;

	*pair = *reference = *type = NULL;
	*n = 0;
	if ((st = stmt(s, OQ_OF, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = store_row(s, st, err);
	if (rc == 1) {
		*n = sqlite3_column_int64(st, 1);
		if (store_col_dup(st, 0, pair) == -1 ||
		    store_col_dup(st, 2, reference) == -1 ||
		    store_col_dup(st, 3, type) == -1) {
			free(*pair);
			free(*reference);
			free(*type);
			*pair = *reference = *type = NULL;
			spool_seterr(err, "out of memory");
			rc = -1;
		}
	}
	sqlite3_reset(st);
	return rc;
}

int
store_ic_parked(struct store *s, const char *partner, const char *pair,
    int64_t n, int64_t *id, struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = pair_stmt(s, OQ_PARKED, partner, pair, n, err)) == NULL)
		return -1;
	return one_id(s, st, id, NULL, err);
}

int64_t
store_ic_open(struct store *s, const char *partner, const char *pair,
    int64_t n, struct spool_error *err)
{
	sqlite3_stmt *st;
	int64_t c;

	if ((st = pair_stmt(s, OQ_OPEN, partner, pair, n, err)) == NULL ||
	    store_row_int64(s, st, &c, err) == -1)
		return -1;
	return c;
}

int
store_ic_parked_after(struct store *s, const char *partner,
    const char *pair, int64_t n, struct spool_error *err)
{
	sqlite3_stmt *st;
	int64_t c;

	if ((st = pair_stmt(s, OQ_PARKED_AFTER, partner, pair, n, err)) ==
	    NULL || store_row_int64(s, st, &c, err) == -1)
		return -1;
	return c > 0;
}

int
store_after_done(struct store *s, const char *partner, const char *reference,
    const char *type, struct spool_error *err)
{
	sqlite3_stmt *st;
	int64_t c;

	if ((st = stmt(s, OQ_AFTER_DONE, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, reference, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
	if (store_row_int64(s, st, &c, err) == -1)
		return -1;
	return c > 0;
}

int
store_after_waiting(struct store *s, const char *partner,
    const char *reference, const char *type, int64_t *id,
    struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, OQ_AFTER_WAITING, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, reference, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
	return one_id(s, st, id, NULL, err);
}

/* The numbers parked for a pair, into p->parked. */
static int
pair_parked(struct store *s, struct store_ic_pair *p, struct spool_error *err)
{
	sqlite3_stmt *st;
	int64_t *np;
	size_t cap = 0;
	int rc;

	if ((st = stmt(s, OQ_PAIR_PARKED, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, p->partner, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, p->pair, -1, SQLITE_TRANSIENT);
	while ((rc = store_row(s, st, err)) == 1) {
		if (p->nparked == cap) {
			cap = cap ? cap * 2 : 16;
			if ((np = realloc(p->parked, cap * sizeof(*np))) ==
			    NULL) {
				spool_seterr(err, "out of memory");
				rc = -1;
				break;
			}
			p->parked = np;
		}
		p->parked[p->nparked++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	return rc;
}

int
store_ic_pairs(struct store *s, const char *partner, store_ic_pair_fn fn,
    void *arg, struct spool_error *err)
{
	sqlite3_stmt *st;
	struct store_ic_pair p;
	char *pa = NULL, *pr = NULL;
	int rc;

	if ((st = stmt(s, OQ_PAIRS, err)) == NULL)
		return -1;
	store_bind_opt_text(st, 1, partner);
	while ((rc = store_row(s, st, err)) == 1) {
		memset(&p, 0, sizeof(p));
		if (store_col_dup(st, 0, &pa) == -1 ||
		    store_col_dup(st, 1, &pr) == -1) {
			spool_seterr(err, "out of memory");
			rc = -1;
			break;
		}
		p.partner = pa;
		p.pair = pr;
		p.next = sqlite3_column_int64(st, 2);
		p.gap_since = sqlite3_column_int64(st, 3);
		p.gap_alerted = sqlite3_column_int(st, 4) != 0;
		p.nskipped = sqlite3_column_int64(st, 5);
		/* The walk's statement differs from pair_parked()'s. */
		rc = pair_parked(s, &p, err);
		if (rc != -1)
			rc = fn(arg, &p) == -1 ? -1 : 0;
		free(p.parked);
		free(pa);
		free(pr);
		pa = pr = NULL;
		if (rc == -1)
			break;
	}
	free(pa);
	free(pr);
	sqlite3_reset(st);
	return rc == -1 ? -1 : 0;
}

int
store_ic_msgs(struct store *s, const char *partner, int64_t n,
    store_ic_msg_fn fn, void *arg, struct spool_error *err)
{
	sqlite3_stmt *st;
	struct store_ic_msg m;
	int rc;

	if ((st = stmt(s, OQ_MSGS, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, n);
	while ((rc = store_row(s, st, err)) == 1) {
		memset(&m, 0, sizeof(m));
		m.id = sqlite3_column_int64(st, 0);
		m.pair = (const char *)sqlite3_column_text(st, 1);
		m.state = spool_state_parse((const char *)
		    sqlite3_column_text(st, 2));
		m.type = (const char *)sqlite3_column_text(st, 3);
		m.duplicate_of = sqlite3_column_int64(st, 4);
		m.reason = (const char *)sqlite3_column_text(st, 5);
		m.orig_name = (const char *)sqlite3_column_text(st, 6);
		m.batch = sqlite3_column_int64(st, 7);
		if (fn(arg, &m) == -1) {
			rc = -1;
			break;
		}
	}
	sqlite3_reset(st);
	return rc == -1 ? -1 : 0;
}
