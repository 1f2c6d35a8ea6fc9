/*
 * ledger.c - the ERP's own books: stock movements and financial postings.
 *
 * InventoryMovement (Item, Warehouse, signed Quantity), StockTransfer
 * (Item, From, To, positive Quantity) and FinancialPosting (Lines of
 * Account and Debit or Credit, integer minor units). Invariants: stock
 * never goes negative; a posting's debits equal its credits. A violation
 * is a permanent failure naming the numbers.
 *
 * Every movement is kept (ledger_moves, insert-only, with the message
 * that caused it) and the balance per item and warehouse is kept beside
 * it (ledger_stock, read through the view v_stock). Both are written in
 * the cycle's transaction, together with the message's state: applying a
 * message twice or out of order would show in the balances, which makes
 * the ledger the oracle of exactly-once, in-order processing. Arithmetic
 * is in int64_t with overflow checks; no floating point.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler.h"
#include "xmlbody.h"

#define NAME_MAX_LEN	129

/*
 * The ledger's tables, a component of the store (store_component):
 * migration 1 is what libspool's store version 2 created, so a store
 * that has them keeps them (IF NOT EXISTS), rows and all. Its rows name
 * messages, so the messages' ID floor is raised to the highest one: for
 * a store that got its floor before this, a no-op. ledger_moves' own
 * IDs are shown nowhere, and its rows go only with their message,
 * which they keep from being purged.
 */
static const char *const ledger_migrations[] = {
	/* 1: the books (insert-only history, balances). */
	"CREATE TABLE IF NOT EXISTS ledger_moves ("
	"  id INTEGER PRIMARY KEY,"
	"  message INTEGER NOT NULL REFERENCES messages(id),"
	"  item TEXT NOT NULL,"
	"  warehouse TEXT NOT NULL,"
	"  quantity INTEGER NOT NULL,"
	"  at INTEGER NOT NULL"
	");"
	"CREATE INDEX IF NOT EXISTS ledger_moves_message ON ledger_moves"
	" (message);"
	"CREATE TABLE IF NOT EXISTS ledger_stock ("
	"  item TEXT NOT NULL,"
	"  warehouse TEXT NOT NULL,"
	"  quantity INTEGER NOT NULL CHECK (quantity >= 0),"
	"  PRIMARY KEY (item, warehouse)"
	") WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS ledger_postings ("
	"  message INTEGER NOT NULL REFERENCES messages(id),"
	"  line INTEGER NOT NULL,"
	"  account TEXT NOT NULL,"
	"  debit INTEGER NOT NULL DEFAULT 0 CHECK (debit >= 0),"
	"  credit INTEGER NOT NULL DEFAULT 0 CHECK (credit >= 0),"
	"  currency TEXT,"
	"  at INTEGER NOT NULL,"
	"  PRIMARY KEY (message, line)"
	") WITHOUT ROWID;"
	"CREATE VIEW IF NOT EXISTS v_stock (item, warehouse, quantity) AS"
	"  SELECT item, warehouse, quantity FROM ledger_stock;"
	"CREATE VIEW IF NOT EXISTS v_postings (message, partner,"
	" transaction_id, line,"
	"  account, debit, credit, currency, at) AS"
	"  SELECT p.message, m.partner, m.transaction_id, p.line, p.account,"
	"  p.debit, p.credit, p.currency, p.at"
	"  FROM ledger_postings p JOIN messages m ON m.id = p.message;"
	"UPDATE id_floor SET id = max(id,"
	"  coalesce((SELECT max(message) FROM ledger_moves), 0),"
	"  coalesce((SELECT max(message) FROM ledger_postings), 0))"
	"  WHERE tbl = 'messages';",
};

const struct store_component ledger_component = {
	"ledger", ledger_migrations,
	(int)(sizeof(ledger_migrations) / sizeof(ledger_migrations[0])),
};

/*
 * The ledger's own statements on a store (store_part()). A posting's
 * lines go in by multi-row INSERTs, as few as it takes: one statement
 * per row would pay sqlite's per-statement work (start, statement
 * journal of the pages it touches, halt, reset) once per line. The
 * INSERTs of 1, 2, 4, 8 and 16 rows (SLOT_POST + k: 1 << k rows) take
 * any count, in binary; when EXACT_AFTER postings in a row had the same
 * count n (up to EXACT_MAX), SLOT_EXACT becomes the INSERT of n rows,
 * one statement a posting while the counts stay the same (bounded: at
 * most one prepare per EXACT_AFTER postings, and one statement kept).
 */
#define POST_SIZES	5		/* rows 1, 2, 4, 8, 16 */
#define POST_MAX	(1 << (POST_SIZES - 1))
#define EXACT_MAX	64
#define EXACT_AFTER	32

enum { SLOT_STOCK, SLOT_UPSERT, SLOT_MOVE, SLOT_EXACT, SLOT_POST,
	SLOT_COUNT = SLOT_POST + POST_SIZES };

struct ledger_stmts {
	sqlite3_stmt	*st[SLOT_COUNT];
	int		 exact;		/* rows of SLOT_EXACT's INSERT, or 0 */
	int		 last;		/* lines of the last posting inserted */
	int		 run;		/* postings in a row with that many */
};

static const char ledger_part;	/* its key */

static void
ledger_fini(struct store *s, void *p)
{
	struct ledger_stmts *ls = p;
	int i;

	(void)s;
	for (i = 0; i < SLOT_COUNT; i++)
		sqlite3_finalize(ls->st[i]);
}

static sqlite3_stmt *
ledger_stmt(struct store *s, int which, const char *sql,
    struct spool_error *err)
{
	struct ledger_stmts *ls;

	ls = store_part(s, &ledger_part, sizeof(*ls), ledger_fini, err);
	if (ls == NULL)
		return NULL;
	return store_prepare(s, &ls->st[which], sql, err);
}

static int
sqlfail(struct store *s, sqlite3_stmt *st, char *reason, size_t len)
{
	snprintf(reason, len, "ledger store error: %s", sqlite3_errmsg(s->db));
	if (st != NULL)
		sqlite3_reset(st);
	return -1;
}

/* The balance of item in warehouse (0 when never moved). */
static int
stock_of(struct store *s, const char *item, const char *wh, int64_t *q,
    char *reason, size_t len)
{
	struct spool_error err;
	sqlite3_stmt *st;
	int rc;

	st = ledger_stmt(s, SLOT_STOCK, "SELECT quantity FROM "
	    "ledger_stock WHERE item = ?1 AND warehouse = ?2", &err);
	if (st == NULL) {
		snprintf(reason, len, "%s", err.msg);
		return -1;
	}
	sqlite3_bind_text(st, 1, item, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, wh, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*q = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*q = 0;
	else
		return sqlfail(s, st, reason, len);
	sqlite3_reset(st);
	return 0;
}

/* Append a movement and set the new balance. */
static int
move(struct store *s, int64_t msgid, const char *item, const char *wh,
    int64_t q, int64_t balance, char *reason, size_t len)
{
	struct spool_error err;
	sqlite3_stmt *st;

	st = ledger_stmt(s, SLOT_MOVE, "INSERT INTO ledger_moves (message, "
	    "item, warehouse, quantity, at) VALUES (?1, ?2, ?3, ?4, ?5)", &err);
	if (st == NULL) {
		snprintf(reason, len, "%s", err.msg);
		return -1;
	}
	sqlite3_bind_int64(st, 1, msgid);
	sqlite3_bind_text(st, 2, item, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, wh, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, q);
	sqlite3_bind_int64(st, 5, store_now_ms());
	if (sqlite3_step(st) != SQLITE_DONE)
		return sqlfail(s, st, reason, len);
	sqlite3_reset(st);
	st = ledger_stmt(s, SLOT_UPSERT, "INSERT INTO ledger_stock (item, "
	    "warehouse, quantity) VALUES (?1, ?2, ?3) ON CONFLICT (item, "
	    "warehouse) DO UPDATE SET quantity = excluded.quantity", &err);
	if (st == NULL) {
		snprintf(reason, len, "%s", err.msg);
		return -1;
	}
	sqlite3_bind_text(st, 1, item, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, wh, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, balance);
	if (sqlite3_step(st) != SQLITE_DONE)
		return sqlfail(s, st, reason, len);
	sqlite3_reset(st);
	return 0;
}


static int
need_int(xmlNodePtr body, const char *name, int64_t *v, char *reason,
    size_t rlen)
{
	int rc = xb_int64(body, name, v, reason, rlen);

	if (rc == 0)
		snprintf(reason, rlen, "%s is missing", name);
	return rc == 1 ? 0 : -1;
}

static enum cycle_result
inventory_movement(struct store *s, const struct cycle_msg *m,
    xmlNodePtr body, char *reason, size_t len)
{
	char item[NAME_MAX_LEN], wh[NAME_MAX_LEN];
	int64_t q, have, now;

	if (xb_need_text(body, "Item", item, sizeof(item), reason, len) == -1 ||
	    xb_need_text(body, "Warehouse", wh, sizeof(wh), reason, len) == -1 ||
	    need_int(body, "Quantity", &q, reason, len) == -1)
		return CYCLE_PERMANENT;
	if (stock_of(s, item, wh, &have, reason, len) == -1)
		return CYCLE_TEMPORARY;
	if (__builtin_add_overflow(have, q, &now)) {
		snprintf(reason, len, "stock of %s in %s would overflow", item,
		    wh);
		return CYCLE_PERMANENT;
	}
	if (now < 0) {
		snprintf(reason, len, "stock of %s in %s would go negative: "
		    "have %" PRId64 ", movement %" PRId64, item, wh, have, q);
		return CYCLE_PERMANENT;
	}
	if (move(s, m->work->id, item, wh, q, now, reason, len) == -1)
		return CYCLE_TEMPORARY;
	return CYCLE_OK;
}

static enum cycle_result
stock_transfer(struct store *s, const struct cycle_msg *m, xmlNodePtr body,
    char *reason, size_t len)
{
	char item[NAME_MAX_LEN], from[NAME_MAX_LEN], to[NAME_MAX_LEN];
	int64_t q, have_from, have_to, to_after;

	if (xb_need_text(body, "Item", item, sizeof(item), reason, len) == -1 ||
	    xb_need_text(body, "From", from, sizeof(from), reason, len) == -1 ||
	    xb_need_text(body, "To", to, sizeof(to), reason, len) == -1 ||
	    need_int(body, "Quantity", &q, reason, len) == -1)
		return CYCLE_PERMANENT;
	if (q <= 0) {
		snprintf(reason, len, "StockTransfer Quantity must be "
		    "positive, not %" PRId64, q);
		return CYCLE_PERMANENT;
	}
	if (strcmp(from, to) == 0) {
		snprintf(reason, len, "StockTransfer from %s to itself", from);
		return CYCLE_PERMANENT;
	}
	if (stock_of(s, item, from, &have_from, reason, len) == -1 ||
	    stock_of(s, item, to, &have_to, reason, len) == -1)
		return CYCLE_TEMPORARY;
	if (have_from < q) {
		snprintf(reason, len, "stock of %s in %s would go negative: "
		    "have %" PRId64 ", transfer of %" PRId64 " to %s", item,
		    from, have_from, q, to);
		return CYCLE_PERMANENT;
	}
	if (__builtin_add_overflow(have_to, q, &to_after)) {
		snprintf(reason, len, "stock of %s in %s would overflow", item,
		    to);
		return CYCLE_PERMANENT;
	}
	if (move(s, m->work->id, item, from, -q, have_from - q, reason,
	    len) == -1 ||
	    move(s, m->work->id, item, to, q, to_after, reason, len) == -1)
		return CYCLE_TEMPORARY;
	return CYCLE_OK;
}

/* A posting line, read once and kept from the check to the INSERT. */
struct pline {
	const char	*acct;		/* in the document, or NULL: in buf */
	size_t		 acctlen;
	int64_t		 debit, credit;
	char		 buf[NAME_MAX_LEN];
};

/*
 * Line n of a posting into p: its first Account, Debit and Credit (as
 * xb_child() finds them) in one walk over its children. The checks and
 * reasons, in their order, are those of xb_need_text() and xb_int64().
 */
static int
posting_line(xmlNodePtr line, int n, struct pline *p, char *reason,
    size_t len)
{
	xmlNodePtr c, acct = NULL, dn = NULL, cn = NULL;
	const char *name, *a;
	int hd = 0, hc = 0;

	for (c = line->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		name = (const char *)c->name;
		if (acct == NULL && strcmp(name, "Account") == 0)
			acct = c;
		else if (dn == NULL && strcmp(name, "Debit") == 0)
			dn = c;
		else if (cn == NULL && strcmp(name, "Credit") == 0)
			cn = c;
	}
	if (acct == NULL) {
		snprintf(reason, len, "Account is missing");
		return -1;
	}
	if (xb_node_text(acct, "Account", p->buf, sizeof(p->buf), &a,
	    &p->acctlen, reason, len) == -1)
		return -1;
	if (p->acctlen == 0) {
		snprintf(reason, len, "Account is empty");
		return -1;
	}
	p->acct = a == p->buf ? NULL : a;
	p->debit = p->credit = 0;
	if ((dn != NULL && (hd = xb_node_int64(dn, "Debit", &p->debit,
	    reason, len)) == -1) ||
	    (cn != NULL && (hc = xb_node_int64(cn, "Credit", &p->credit,
	    reason, len)) == -1))
		return -1;
	if (hd + hc != 1 || p->debit < 0 || p->credit < 0) {
		snprintf(reason, len, "posting line %d (account %.*s) needs "
		    "one non-negative Debit or Credit", n, (int)p->acctlen, a);
		return -1;
	}
	return 0;
}

/*
 * The INSERT of rows rows into slot (taken as it is when prepared: left
 * reset and cleared by insert_lines()): ?1 message, ?2 currency, ?3 at,
 * then four a row (line, account, debit, credit).
 */
static sqlite3_stmt *
posting_stmt(struct store *s, struct ledger_stmts *ls, int slot, int rows,
    struct spool_error *err)
{
	char sql[128 + EXACT_MAX * 40];
	size_t off;
	int r, v;

	if (ls->st[slot] != NULL)
		return ls->st[slot];
	off = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO ledger_postings "
	    "(message, line, account, debit, credit, currency, at) VALUES ");
	for (r = 0; r < rows; r++) {
		v = 4 + 4 * r;
		off += (size_t)snprintf(sql + off, sizeof(sql) - off,
		    "%s(?1, ?%d, ?%d, ?%d, ?%d, ?2, ?3)", r > 0 ? ", " : "",
		    v, v + 1, v + 2, v + 3);
	}
	return store_prepare(s, &ls->st[slot], sql, err);
}

/* Bind lines[0..rows) as the message's lines first.. and step st. */
static int
insert_rows(struct store *s, sqlite3_stmt *st, const struct cycle_msg *m,
    const struct pline *lines, int first, int rows, const char *currency,
    int64_t at, char *reason, size_t len)
{
	const struct pline *p;
	int r, v;

	sqlite3_bind_int64(st, 1, m->work->id);
	if (currency[0] != '\0')
		sqlite3_bind_text(st, 2, currency, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, at);
	for (r = 0; r < rows; r++) {
		p = &lines[r];
		v = 4 + 4 * r;
		sqlite3_bind_int(st, v, first + r);
		sqlite3_bind_text(st, v + 1, p->acct != NULL ? p->acct :
		    p->buf, (int)p->acctlen, SQLITE_STATIC);
		sqlite3_bind_int64(st, v + 2, p->debit);
		sqlite3_bind_int64(st, v + 3, p->credit);
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlfail(s, st, reason, len);
		sqlite3_clear_bindings(st);
		return -1;
	}
	/* Nothing of this message stays bound. */
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return 0;
}

/* Insert the n lines of a posting. */
static int
insert_lines(struct store *s, const struct cycle_msg *m,
    const struct pline *lines, int n, const char *currency, int64_t at,
    char *reason, size_t len)
{
	struct spool_error err;
	struct ledger_stmts *ls;
	sqlite3_stmt *st;
	int k, first = 1;

	ls = store_part(s, &ledger_part, sizeof(*ls), ledger_fini, &err);
	if (ls == NULL)
		goto fail;
	if (n == ls->last)
		ls->run++;
	else {
		ls->last = n;
		ls->run = 1;
	}
	/* Worth it when the binary split takes more than one INSERT. */
	if (n != ls->exact && ls->run >= EXACT_AFTER && n <= EXACT_MAX &&
	    (n > POST_MAX || (n & (n - 1)) != 0)) {
		sqlite3_finalize(ls->st[SLOT_EXACT]);
		ls->st[SLOT_EXACT] = NULL;
		ls->exact = n;
	}
	if (n == ls->exact) {
		if ((st = posting_stmt(s, ls, SLOT_EXACT, n, &err)) == NULL) {
			ls->exact = 0;
			goto fail;
		}
		return insert_rows(s, st, m, lines, first, n, currency, at,
		    reason, len);
	}
	for (k = POST_SIZES - 1; k >= 0; k--) {
		if (n < 1 << k)
			continue;
		if ((st = posting_stmt(s, ls, SLOT_POST + k, 1 << k,
		    &err)) == NULL)
			goto fail;
		for (; n >= 1 << k; n -= 1 << k, first += 1 << k)
			if (insert_rows(s, st, m, lines + first - 1, first,
			    1 << k, currency, at, reason, len) == -1)
				return -1;
	}
	return 0;
fail:
	snprintf(reason, len, "%s", err.msg);
	return -1;
}

#define POST_STACK	32	/* lines kept on the stack; more on the heap */

/*
 * Each line is read once, in place (xb_node_text()), checked, and kept
 * until the whole posting has balanced; then the lines go in, all with
 * the same `at' (the time the posting was written).
 */

static enum cycle_result
financial_posting(struct store *s, const struct cycle_msg *m,
    xmlNodePtr body, char *reason, size_t len)
{
	struct pline stack[POST_STACK], *lines = stack, *nl;
	char currency[16];
	int64_t debits = 0, credits = 0;
	enum cycle_result rc = CYCLE_PERMANENT;
	xmlNodePtr line;
	size_t cap = POST_STACK;
	int n = 0;

	if (xb_text(body, "Currency", currency, sizeof(currency), reason,
	    len) == -1)
		return CYCLE_PERMANENT;
	/* First check the whole posting, then write it. */
	for (line = xb_child(body, "Line"); line != NULL;
	    line = xb_next(line, "Line")) {
		if ((size_t)n == cap) {
			nl = lines == stack ? malloc(2 * cap * sizeof(*nl)) :
			    realloc(lines, 2 * cap * sizeof(*nl));
			if (nl == NULL) {
				snprintf(reason, len, "out of memory");
				rc = CYCLE_TEMPORARY;
				goto out;
			}
			if (lines == stack)
				memcpy(nl, stack, sizeof(stack));
			lines = nl;
			cap *= 2;
		}
		if (posting_line(line, n + 1, &lines[n], reason, len) == -1)
			goto out;
		if (__builtin_add_overflow(debits, lines[n].debit, &debits) ||
		    __builtin_add_overflow(credits, lines[n].credit,
		    &credits)) {
			snprintf(reason, len, "posting amounts overflow");
			goto out;
		}
		n++;
	}
	if (n == 0) {
		snprintf(reason, len, "FinancialPosting has no Line");
		goto out;
	}
	if (debits != credits) {
		snprintf(reason, len, "posting does not balance: debits %"
		    PRId64 " != credits %" PRId64, debits, credits);
		goto out;
	}
	rc = insert_lines(s, m, lines, n, currency, store_now_ms(), reason,
	    len) == -1 ? CYCLE_TEMPORARY : CYCLE_OK;
out:
	if (lines != stack)
		free(lines);
	return rc;
}

static enum cycle_result
ledger_apply(struct store *s, const struct router *r,
    const struct conf_route *route, const struct cycle_msg *m, char *reason,
    size_t len)
{
	const char *type = m->work->type != NULL ? m->work->type : "";
	xmlNodePtr body;

	(void)r;
	(void)route;
	if ((body = xb_body(m->msg->doc)) == NULL) {
		snprintf(reason, len, "%s has no Body", type);
		return CYCLE_PERMANENT;
	}
	if (strcmp(type, "InventoryMovement") == 0)
		return inventory_movement(s, m, body, reason, len);
	if (strcmp(type, "StockTransfer") == 0)
		return stock_transfer(s, m, body, reason, len);
	if (strcmp(type, "FinancialPosting") == 0)
		return financial_posting(s, m, body, reason, len);
	snprintf(reason, len, "the ledger handler does not handle message "
	    "type %s (it takes InventoryMovement, StockTransfer and "
	    "FinancialPosting)", type);
	return CYCLE_PERMANENT;
}

const struct handler ledger_handler = {
	.name = "ledger",
	.apply = ledger_apply,
};
