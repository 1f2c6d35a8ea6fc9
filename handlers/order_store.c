/*
 * order_store.c - SQL of the order tables (order_revisions, order_lines).
 *
 * Revisions are insert-only (the schema's triggers refuse updates and
 * deletes, except a pending revision's one change of validity). A new
 * revision gets the next number after every revision of its order,
 * whatever their validity, so an invalid revision keeps its number.
 *
 * Optimistic concurrency: order_append() checks, in the writer's own
 * write transaction, that the latest valid revision is still `base', the
 * one the writer read; a newer one means another writer won, and this
 * one must not overwrite its decision. Inside spoold the cycle's
 * transaction reads and writes at once, so the check only ever fires
 * between two connections (a test proves it with two).
 *
 * spoolctl reads a transaction's history through order_history() (the
 * view v_order_history), so that libspool names none of these tables.
 *
 * Its statements are its own: prepared once per store, kept in the
 * store's part for this module (store_part()), finalized by order_fini().
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "order_store.h"

/*
 * The orders' tables, a component of the store (store_component):
 * migration 1 is what libspool's store versions 5 and 8 created, so a
 * store that has them keeps them (IF NOT EXISTS), rows and all.
 *
 * order_revisions is insert-only: each applied message (inbound, or
 * one of our outbound ones) appends a full snapshot of its order, with
 * its lines in order_lines, and a validity: 'pending' while another
 * system decides, then 'valid' or 'invalid'. Readers (the views,
 * spoolctl) see valid revisions only. A cancellation after acceptance
 * names the revision it compensates. Revisions are never deleted, so
 * their own IDs never come back; the message and outbound IDs they name
 * raise those tables' ID floors (for a store that got its floors before
 * this, a no-op).
 */
static const char *const order_migrations[] = {
	/* 1: revisions, their lines, the readers' views. */
	"CREATE TABLE IF NOT EXISTS order_revisions ("
	"  id INTEGER PRIMARY KEY,"
	"  partner TEXT NOT NULL,"
	"  transaction_id TEXT NOT NULL,"
	"  revision INTEGER NOT NULL CHECK (revision >= 1),"
	"  order_number TEXT NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('open', 'acknowledged',"
	"    'accepted', 'declined', 'partially_delivered', 'delivered',"
	"    'invoiced', 'cancelled')),"
	"  message_type TEXT NOT NULL,"
	"  message INTEGER REFERENCES messages(id),"
	"  outbound INTEGER REFERENCES outbound(id),"
	"  compensates INTEGER,"
	"  validity TEXT NOT NULL CHECK (validity IN ('pending', 'valid',"
	"    'invalid')),"
	"  created_at INTEGER NOT NULL,"
	"  decided_at INTEGER,"
	"  UNIQUE (partner, transaction_id, revision)"
	");"
	"CREATE TABLE IF NOT EXISTS order_lines ("
	"  revision INTEGER NOT NULL REFERENCES order_revisions(id),"
	"  line INTEGER NOT NULL,"
	"  item TEXT NOT NULL,"
	"  quantity INTEGER NOT NULL CHECK (quantity >= 0),"
	"  unit TEXT,"
	"  price INTEGER,"
	"  delivered INTEGER NOT NULL DEFAULT 0"
	"    CHECK (delivered >= 0 AND delivered <= quantity),"
	"  PRIMARY KEY (revision, line)"
	") WITHOUT ROWID;"
	/* Insert-only: the store itself refuses updates and deletes of
	 * history (validity is the one column that may change, once). */
	"CREATE TRIGGER IF NOT EXISTS order_revisions_no_delete BEFORE"
	" DELETE ON"
	"  order_revisions BEGIN SELECT RAISE(ABORT, 'order revisions are"
	"  insert-only'); END;"
	"CREATE TRIGGER IF NOT EXISTS order_revisions_no_update BEFORE"
	" UPDATE ON"
	"  order_revisions WHEN OLD.validity <> 'pending' OR"
	"  NEW.validity = 'pending' OR NEW.id <> OLD.id OR"
	"  NEW.partner <> OLD.partner OR"
	"  NEW.transaction_id <> OLD.transaction_id OR"
	"  NEW.revision <> OLD.revision OR NEW.state <> OLD.state"
	"  BEGIN SELECT RAISE(ABORT, 'order revisions are insert-only');"
	"  END;"
	"CREATE TRIGGER IF NOT EXISTS order_lines_no_change BEFORE UPDATE"
	" ON order_lines"
	"  BEGIN SELECT RAISE(ABORT, 'order lines are insert-only'); END;"
	"CREATE TRIGGER IF NOT EXISTS order_lines_no_delete BEFORE DELETE"
	" ON order_lines"
	"  BEGIN SELECT RAISE(ABORT, 'order lines are insert-only'); END;"
	"CREATE VIEW IF NOT EXISTS v_order_history (partner,"
	" transaction_id, order_number,"
	"  revision, state, message_type, message, outbound, compensates,"
	"  created_at) AS"
	"  SELECT partner, transaction_id, order_number, revision, state,"
	"  message_type, message, outbound, compensates, created_at"
	"  FROM order_revisions WHERE validity = 'valid';"
	"CREATE VIEW IF NOT EXISTS v_orders (partner, transaction_id,"
	" order_number, state,"
	"  revision, updated_at) AS"
	"  SELECT r.partner, r.transaction_id, r.order_number, r.state,"
	"  r.revision, r.created_at FROM order_revisions r"
	"  WHERE r.validity = 'valid' AND r.revision = (SELECT"
	"  max(x.revision) FROM order_revisions x WHERE"
	"  x.partner = r.partner AND x.transaction_id = r.transaction_id"
	"  AND x.validity = 'valid');"
	"CREATE VIEW IF NOT EXISTS v_order_lines (partner, transaction_id,"
	" order_number,"
	"  revision, line, item, quantity, unit, price, delivered) AS"
	"  SELECT r.partner, r.transaction_id, r.order_number, r.revision,"
	"  l.line, l.item, l.quantity, l.unit, l.price, l.delivered"
	"  FROM order_revisions r JOIN order_lines l ON l.revision = r.id"
	"  WHERE r.validity = 'valid' AND r.revision = (SELECT"
	"  max(x.revision) FROM order_revisions x WHERE"
	"  x.partner = r.partner AND x.transaction_id = r.transaction_id"
	"  AND x.validity = 'valid');"
	"CREATE INDEX IF NOT EXISTS order_revisions_message ON"
	" order_revisions (message)  WHERE message IS NOT NULL;"
	"CREATE INDEX IF NOT EXISTS order_revisions_outbound ON"
	" order_revisions (outbound)  WHERE outbound IS NOT NULL;"
	"UPDATE id_floor SET id = max(id, coalesce((SELECT max(message)"
	"  FROM order_revisions WHERE message IS NOT NULL), 0))"
	"  WHERE tbl = 'messages';"
	"UPDATE id_floor SET id = max(id, coalesce((SELECT max(outbound)"
	"  FROM order_revisions WHERE outbound IS NOT NULL), 0))"
	"  WHERE tbl = 'outbound';",
};

const struct store_component orders_component = {
	"orders", order_migrations,
	(int)(sizeof(order_migrations) / sizeof(order_migrations[0])),
};

/* The orders' own statements on a store (store_part()). */
enum {
	SLOT_LATEST,
	SLOT_LINES,
	SLOT_MAXREV,
	SLOT_INSREV,
	SLOT_INSLINE,
	SLOT_DECIDE,
	SLOT_HISTORY,
	SLOT_COUNT
};

struct order_stmts {
	sqlite3_stmt	*st[SLOT_COUNT];
};

static const char order_part;	/* its key */

static void
order_fini(struct store *s, void *p)
{
	struct order_stmts *os = p;
	int i;

	(void)s;
	for (i = 0; i < SLOT_COUNT; i++)
		sqlite3_finalize(os->st[i]);
}

static sqlite3_stmt *
order_stmt(struct store *s, int which, const char *sql,
    struct spool_error *err)
{
	struct order_stmts *os;

	os = store_part(s, &order_part, sizeof(*os), order_fini, err);
	if (os == NULL)
		return NULL;
	return store_prepare(s, &os->st[which], sql, err);
}

static const char *state_names[OS_NSTATES] = {
	[OS_OPEN] = "open",
	[OS_ACKNOWLEDGED] = "acknowledged",
	[OS_ACCEPTED] = "accepted",
	[OS_DECLINED] = "declined",
	[OS_PARTIALLY_DELIVERED] = "partially_delivered",
	[OS_DELIVERED] = "delivered",
	[OS_INVOICED] = "invoiced",
	[OS_CANCELLED] = "cancelled",
};

const char *
order_state_name(enum order_state s)
{
	if (s == OS_NONE)
		return "none";
	if ((int)s < 0 || s >= OS_NSTATES)
		return "?";
	return state_names[s];
}

int
order_state_parse(const char *name)
{
	int i;

	for (i = 0; i < OS_NSTATES; i++)
		if (strcmp(state_names[i], name) == 0)
			return i;
	return -1;
}

void
order_free(struct order *o)
{
	size_t i;

	for (i = 0; i < o->nlines; i++) {
		free(o->lines[i].item);
		free(o->lines[i].unit);
	}
	free(o->lines);
	free(o->number);
	memset(o, 0, sizeof(*o));
	o->state = OS_NONE;
}

static int
load_lines(struct store *s, int64_t rowid, struct order *o,
    struct spool_error *err)
{
	struct order_line *l, *nl;
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	st = order_stmt(s, SLOT_LINES, "SELECT line, item, quantity, unit, "
	    "price, delivered FROM order_lines WHERE revision = ?1 ORDER BY "
	    "line", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, rowid);
	while ((rc = store_row(s, st, err)) == 1) {
		if (o->nlines == cap) {
			cap = cap ? cap * 2 : 8;
			if ((nl = realloc(o->lines, cap * sizeof(*nl))) ==
			    NULL) {
				sqlite3_reset(st);
				spool_seterr(err, "out of memory");
				return -1;
			}
			o->lines = nl;
		}
		l = &o->lines[o->nlines];
		memset(l, 0, sizeof(*l));
		l->line = sqlite3_column_int64(st, 0);
		l->item = store_col_strdup(st, 1);
		l->quantity = sqlite3_column_int64(st, 2);
		if (sqlite3_column_type(st, 3) != SQLITE_NULL &&
		    (l->unit = store_col_strdup(st, 3)) == NULL) {
			free(l->item);
			l->item = NULL;
		}
		l->has_price = sqlite3_column_type(st, 4) != SQLITE_NULL;
		l->price = sqlite3_column_int64(st, 4);
		l->delivered = sqlite3_column_int64(st, 5);
		if (l->item == NULL) {
			sqlite3_reset(st);
			spool_seterr(err, "out of memory");
			return -1;
		}
		o->nlines++;
	}
	sqlite3_reset(st);
	return rc;
}

int
order_load(struct store *s, const char *partner, const char *tx,
    struct order *o, struct spool_error *err)
{
	sqlite3_stmt *st;
	int64_t rowid;
	int rc;

	memset(o, 0, sizeof(*o));
	o->state = OS_NONE;
	st = order_stmt(s, SLOT_LATEST, "SELECT id, revision, order_number, "
	    "state FROM order_revisions WHERE partner = ?1 AND "
	    "transaction_id = ?2 AND validity = 'valid' ORDER BY revision "
	    "DESC LIMIT 1", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 0;
	}
	if (rc != SQLITE_ROW)
		return store_stmt_err(s, st, err);
	rowid = sqlite3_column_int64(st, 0);
	o->revision = sqlite3_column_int64(st, 1);
	o->number = store_col_strdup(st, 2);
	rc = order_state_parse((const char *)sqlite3_column_text(st, 3) ?
	    (const char *)sqlite3_column_text(st, 3) : "");
	sqlite3_reset(st);
	if (o->number == NULL || rc < 0) {
		spool_seterr(err, "%s: order of %s/%s: bad revision row or out "
		    "of memory", s->path, partner, tx);
		order_free(o);
		return -1;
	}
	o->state = rc;
	if (load_lines(s, rowid, o, err) == -1) {
		order_free(o);
		return -1;
	}
	return 1;
}

static void
bind_opt_id(sqlite3_stmt *st, int col, int64_t v)
{
	if (v > 0)
		sqlite3_bind_int64(st, col, v);
	else
		sqlite3_bind_null(st, col);
}

int
order_append(struct store *s, const char *partner, const char *tx,
    int64_t base, const struct order *o, const struct order_cause *c,
    int64_t *rev_id, int64_t *revision, struct spool_error *err)
{
	sqlite3_stmt *st;
	int64_t latest_valid, latest_any, now = store_now_ms();
	size_t i;

	st = order_stmt(s, SLOT_MAXREV, "SELECT coalesce(max(CASE WHEN "
	    "validity = 'valid' THEN revision END), 0), coalesce(max("
	    "revision), 0) FROM order_revisions WHERE partner = ?1 AND "
	    "transaction_id = ?2", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return store_stmt_err(s, st, err);
	latest_valid = sqlite3_column_int64(st, 0);
	latest_any = sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	if (latest_valid != base) {
		spool_seterr(err, "order of %s/%s changed meanwhile: revision %"
		    PRId64 " is the latest valid one, not %" PRId64 " as read",
		    partner, tx, latest_valid, base);
		return ORDER_CONFLICT;
	}
	st = order_stmt(s, SLOT_INSREV, "INSERT INTO order_revisions "
	    "(partner, transaction_id, revision, order_number, state, "
	    "message_type, message, outbound, compensates, validity, "
	    "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
	    "?11)", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, latest_any + 1);
	sqlite3_bind_text(st, 4, o->number, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, order_state_name(o->state), -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(st, 6, c->type, -1, SQLITE_STATIC);
	bind_opt_id(st, 7, c->message);
	bind_opt_id(st, 8, c->outbound);
	bind_opt_id(st, 9, c->compensates);
	sqlite3_bind_text(st, 10, c->pending ? "pending" : "valid", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(st, 11, now);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_stmt_err(s, st, err);
	sqlite3_reset(st);
	*rev_id = sqlite3_last_insert_rowid(s->db);
	*revision = latest_any + 1;
	st = order_stmt(s, SLOT_INSLINE, "INSERT INTO order_lines (revision, "
	    "line, item, quantity, unit, price, delivered) VALUES (?1, ?2, "
	    "?3, ?4, ?5, ?6, ?7)", err);
	if (st == NULL)
		return -1;
	for (i = 0; i < o->nlines; i++) {
		const struct order_line *l = &o->lines[i];

		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		sqlite3_bind_int64(st, 1, *rev_id);
		sqlite3_bind_int64(st, 2, l->line);
		sqlite3_bind_text(st, 3, l->item, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, l->quantity);
		if (l->unit != NULL)
			sqlite3_bind_text(st, 5, l->unit, -1, SQLITE_STATIC);
		if (l->has_price)
			sqlite3_bind_int64(st, 6, l->price);
		sqlite3_bind_int64(st, 7, l->delivered);
		if (sqlite3_step(st) != SQLITE_DONE)
			return store_stmt_err(s, st, err);
	}
	sqlite3_reset(st);
	return 0;
}

/*
 * The one decision of pending revisions: revision rev_id, or (rev_id 0)
 * every pending revision message wrote. Valid when `valid' and no newer
 * valid revision of the order exists meanwhile (a writer that lost a
 * race must not overwrite), else invalid. The number of rows decided,
 * or -1.
 */
static int
decide(struct store *s, int64_t rev_id, int64_t message, bool valid,
    struct spool_error *err)
{
	sqlite3_stmt *st;

	st = order_stmt(s, SLOT_DECIDE, "UPDATE order_revisions AS r SET "
	    "validity = CASE WHEN ?3 AND NOT EXISTS (SELECT 1 FROM "
	    "order_revisions x WHERE x.partner = r.partner AND "
	    "x.transaction_id = r.transaction_id AND x.validity = 'valid' AND "
	    "x.revision > r.revision) THEN 'valid' ELSE 'invalid' END, "
	    "decided_at = ?4 WHERE r.validity = 'pending' AND (r.id = ?1 OR "
	    "r.message = ?2)", err);
	if (st == NULL)
		return -1;
	if (rev_id != 0)
		sqlite3_bind_int64(st, 1, rev_id);
	else
		sqlite3_bind_int64(st, 2, message);
	sqlite3_bind_int(st, 3, valid ? 1 : 0);
	sqlite3_bind_int64(st, 4, store_now_ms());
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_stmt_err(s, st, err);
	sqlite3_reset(st);
	return sqlite3_changes(s->db);
}

int
order_decide(struct store *s, int64_t rev_id, bool valid,
    struct spool_error *err)
{
	int n;

	if ((n = decide(s, rev_id, 0, valid, err)) == -1)
		return -1;
	if (n != 1) {
		spool_seterr(err, "order revision %" PRId64 " is not pending",
		    rev_id);
		return -1;
	}
	return 0;
}

int
order_decide_call(struct store *s, int64_t message, bool ok,
    struct spool_error *err)
{
	return decide(s, 0, message, ok, err) == -1 ? -1 : 0;
}

int
order_history(struct store *s, const char *partner, const char *tx,
    int (*fn)(void *, const struct order_history_row *), void *arg,
    struct spool_error *err)
{
	struct order_history_row r;
	sqlite3_stmt *st;
	int rc;

	if ((rc = store_has_table(s, "order_revisions", err)) != 1)
		return rc;
	st = order_stmt(s, SLOT_HISTORY, "SELECT revision, order_number, "
	    "state, message_type, message, outbound, compensates, created_at "
	    "FROM v_order_history WHERE partner = ?1 AND transaction_id = ?2 "
	    "ORDER BY revision", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx, -1, SQLITE_STATIC);
	while ((rc = store_row(s, st, err)) == 1) {
		r.revision = sqlite3_column_int64(st, 0);
		r.order_number = (const char *)sqlite3_column_text(st, 1);
		r.state = (const char *)sqlite3_column_text(st, 2);
		r.message_type = (const char *)sqlite3_column_text(st, 3);
		r.message = sqlite3_column_int64(st, 4);
		r.outbound = sqlite3_column_int64(st, 5);
		r.compensates = sqlite3_column_int64(st, 6);
		r.created_at = sqlite3_column_int64(st, 7);
		if (fn(arg, &r) != 0)
			break;	/* fn stopped the walk: an error of its own */
	}
	/* No read snapshot outlives the call. */
	sqlite3_reset(st);
	return rc == 0 ? 0 : -1;
}
