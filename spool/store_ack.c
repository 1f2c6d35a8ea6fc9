/*
 * store_ack.c - SQL of our interchanges awaiting acknowledgment and of
 * their matching (tables our_interchanges and our_groups).
 *
 * A partner's acknowledgment names our interchange by its control
 * number (CONTRL UCI 0020, TA101) or, for 997 and 999, one of its groups
 * (AK102). X12 control numbers are numbers (ISA13 000000017 is TA101
 * 17), EDIFACT references strings; the newest interchange that matches
 * wins, since numbers come back only after a counter wraps. A 997 or
 * 999 settles one group; the interchange is settled when every group
 * is: accepted when all were, rejected when all were, else partial. A
 * TA1 that accepts says only that the envelope was received.
 *
 * Everything runs in the caller's write transaction, so a match or an
 * overdue mark commits with what caused it, and a crash before COMMIT
 * leaves both undone (the overdue report is then made again: once per
 * committed mark, not once per log line written before a crash).
 * Statements are prepared once, in this module's block on the store.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store_ack.h"

enum {
	KQ_INSERT,
	KQ_GROUP,
	KQ_BY_CONTROL,
	KQ_BY_GROUP,
	KQ_SETTLE,
	KQ_SET_GROUP,
	KQ_GROUPS,
	KQ_OVERDUE,
	KQ_MARK,
	KQ_FIND,
	KQ_TALLY,
	KQ_OPEN,
	KQ_SETTLED,
	KQ_COUNT
};

#define ROW_COLS "id, partner, syntax, control, sent_at, state, code, " \
	"coalesce(acked_at, 0)"

static const char *sqls[KQ_COUNT] = {
	[KQ_INSERT] = "INSERT INTO our_interchanges (partner, syntax, "
	    "control, num, outbound_id, sent_at) VALUES (?1, ?2, ?3, ?4, ?5, "
	    "?6) RETURNING id",
	[KQ_GROUP] = "INSERT OR IGNORE INTO our_groups (interchange, control, "
	    "num) VALUES (?1, ?2, ?3)",
	[KQ_BY_CONTROL] = "SELECT id FROM our_interchanges WHERE partner = ?1 "
	    "AND syntax = ?2 AND (control = ?3 OR (syntax = 'x12' AND "
	    "num = ?4)) ORDER BY id DESC LIMIT 1",
	[KQ_BY_GROUP] = "SELECT i.id FROM our_groups g JOIN our_interchanges "
	    "i ON i.id = g.interchange WHERE i.partner = ?1 AND i.syntax = "
	    "'x12' AND (g.control = ?2 OR g.num = ?3) ORDER BY i.id DESC "
	    "LIMIT 1",
	[KQ_SETTLE] = "UPDATE our_interchanges SET state = ?2, code = ?3, "
	    "ack_message = ?4, acked_at = ?5 WHERE id = ?1",
	[KQ_SET_GROUP] = "UPDATE our_groups SET state = ?3, code = ?4 WHERE "
	    "interchange = ?1 AND (control = ?2 OR num = ?5)",
	[KQ_GROUPS] = "SELECT count(*), coalesce(sum(state = 'pending'), 0), "
	    "coalesce(sum(state = 'accepted'), 0), "
	    "coalesce(sum(state = 'rejected'), 0), max(code) "
	    "FROM our_groups WHERE interchange = ?1",
	[KQ_OVERDUE] = "SELECT " ROW_COLS " FROM our_interchanges WHERE "
	    "state = 'pending' AND sent_at < ?1 AND overdue_at IS NULL "
	    "ORDER BY id",
	[KQ_MARK] = "UPDATE our_interchanges SET overdue_at = ?2 WHERE "
	    "id = ?1",
	[KQ_FIND] = "SELECT " ROW_COLS " FROM our_interchanges WHERE "
	    "partner = ?1 AND (control = ?2 OR (syntax = 'x12' AND "
	    "num = ?3)) ORDER BY id DESC LIMIT 1",
	[KQ_TALLY] = "SELECT coalesce(sum(state = 'pending'), 0), "
	    "coalesce(sum(state = 'pending' AND sent_at < ?1), 0), "
	    "coalesce(sum(state IN ('accepted', 'received')), 0), "
	    "coalesce(sum(state IN ('rejected', 'partial')), 0) "
	    "FROM our_interchanges",
	[KQ_OPEN] = "SELECT " ROW_COLS " FROM our_interchanges WHERE "
	    "partner = ?1 AND state NOT IN ('accepted', 'received') "
	    "ORDER BY id LIMIT ?2",
	[KQ_SETTLED] = "SELECT count(*) FROM our_interchanges WHERE "
	    "partner = ?1 AND state IN ('accepted', 'received')",
};

struct ack_part {
	sqlite3_stmt	*st[KQ_COUNT];
};

static char part_key;

static void
part_fini(struct store *s, void *p)
{
	struct ack_part *ap = p;
	int i;

	(void)s;
	for (i = 0; i < KQ_COUNT; i++)
		if (ap->st[i] != NULL)
			sqlite3_finalize(ap->st[i]);
}

static sqlite3_stmt *
stmt(struct store *s, int id, struct spool_error *err)
{
	struct ack_part *ap;

	if ((ap = store_part(s, &part_key, sizeof(*ap), part_fini,
	    err)) == NULL)
		return NULL;
	return store_prepare(s, &ap->st[id], sqls[id], err);
}

/* A control number as a number, or NULL when it is not one. */
static void
bind_num(sqlite3_stmt *st, int i, const char *v)
{
	long long n = 0;
	size_t k;

	if (v == NULL || v[0] == '\0' || strlen(v) > 18) {
		sqlite3_bind_null(st, i);
		return;
	}
	for (k = 0; v[k] != '\0'; k++) {
		if (v[k] < '0' || v[k] > '9') {
			sqlite3_bind_null(st, i);
			return;
		}
		n = n * 10 + (v[k] - '0');
	}
	sqlite3_bind_int64(st, i, n);
}

static int
in_tx(struct store *s, struct spool_error *err)
{
	if (sqlite3_get_autocommit(s->db)) {
		spool_seterr(err, "acknowledgment records: outside a write "
		    "transaction");
		return -1;
	}
	return 0;
}

int
store_ack_expect(struct store *s, const char *partner, enum edi_syntax syn,
    const char *control, const char *const *groups, size_t ngroups,
    int64_t outbound_id, int64_t *id, struct spool_error *err)
{
	sqlite3_stmt *st;
	size_t i;

	if (in_tx(s, err) == -1)
		return -1;
	if (syn != EDI_EDIFACT && syn != EDI_X12) {
		spool_seterr(err, "acknowledgment records: no such syntax");
		return -1;
	}
	if ((st = stmt(s, KQ_INSERT, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, syn == EDI_X12 ? "x12" : "edifact", -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(st, 3, control, -1, SQLITE_STATIC);
	if (syn == EDI_X12)
		bind_num(st, 4, control);
	if (outbound_id > 0)
		sqlite3_bind_int64(st, 5, outbound_id);
	sqlite3_bind_int64(st, 6, store_now_ms());
	if (sqlite3_step(st) != SQLITE_ROW)
		return store_stmt_err(s, st, err);
	*id = sqlite3_column_int64(st, 0);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_stmt_err(s, st, err);
	sqlite3_reset(st);
	for (i = 0; i < ngroups; i++) {
		if ((st = stmt(s, KQ_GROUP, err)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, *id);
		sqlite3_bind_text(st, 2, groups[i], -1, SQLITE_STATIC);
		if (syn == EDI_X12)
			bind_num(st, 3, groups[i]);
		if (store_step_done(s, st, err) == -1)
			return -1;
	}
	return 0;
}

static const char *
state_name(enum ack_status st)
{
	switch (st) {
	case ACKST_ACCEPTED:
	case ACKST_ERRORS:
		return "accepted";
	case ACKST_PARTIAL:
		return "partial";
	case ACKST_REJECTED:
		return "rejected";
	case ACKST_RECEIVED:
		break;
	}
	return "received";
}

/* The newest interchange the id query names: 1 found, 0 not, -1. */
static int
lookup(struct store *s, int q, const char *partner, const char *syntax,
    const char *val, int64_t *id, struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = stmt(s, q, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	if (q == KQ_BY_CONTROL) {
		sqlite3_bind_text(st, 2, syntax, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, val, -1, SQLITE_STATIC);
		bind_num(st, 4, val);
	} else {
		sqlite3_bind_text(st, 2, val, -1, SQLITE_STATIC);
		bind_num(st, 3, val);
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 0;
	}
	if (rc != SQLITE_ROW)
		return store_stmt_err(s, st, err);
	*id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 1;
}

static int
settle(struct store *s, int64_t id, const char *state, const char *code,
    int64_t msg, struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, KQ_SETTLE, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	store_bind_opt_text(st, 3, code != NULL && code[0] != '\0' ? code :
	    NULL);
	if (msg > 0)
		sqlite3_bind_int64(st, 4, msg);
	sqlite3_bind_int64(st, 5, store_now_ms());
	return store_step_done(s, st, err);
}

/* A 997/999 settled one group: settle the interchange when all are. */
static int
settle_group(struct store *s, int64_t id, const struct ack_report *r,
    int64_t msg, struct spool_error *err)
{
	sqlite3_stmt *st;
	int64_t n, pending, acc, rej;
	char *code = NULL;
	int rc;

	if ((st = stmt(s, KQ_SET_GROUP, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, r->group, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, state_name(r->status), -1, SQLITE_STATIC);
	store_bind_opt_text(st, 4, r->code[0] != '\0' ? r->code : NULL);
	bind_num(st, 5, r->group);
	if (store_step_done(s, st, err) == -1)
		return -1;
	if ((st = stmt(s, KQ_GROUPS, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW)
		return store_stmt_err(s, st, err);
	n = sqlite3_column_int64(st, 0);
	pending = sqlite3_column_int64(st, 1);
	acc = sqlite3_column_int64(st, 2);
	rej = sqlite3_column_int64(st, 3);
	if (store_col_dup(st, 4, &code) == -1) {
		sqlite3_reset(st);
		spool_seterr(err, "out of memory");
		return -1;
	}
	sqlite3_reset(st);
	if (pending > 0)
		rc = 0;
	else
		rc = settle(s, id, acc == n ? "accepted" : rej == n ?
		    "rejected" : "partial", code, msg, err);
	free(code);
	return rc;
}

int
store_ack_match(struct store *s, const char *partner,
    const struct ack_report *r, int64_t ack_message, int64_t *id,
    struct spool_error *err)
{
	int found;

	*id = 0;
	if (in_tx(s, err) == -1)
		return -1;
	switch (r->kind) {
	case ACK_CONTRL:
	case ACK_TA1:
		if (r->control == NULL)
			return 0;
		found = lookup(s, KQ_BY_CONTROL, partner, r->kind ==
		    ACK_CONTRL ? "edifact" : "x12", r->control, id, err);
		if (found != 1)
			return found;
		/* A TA1 that accepts tells of the envelope only. */
		return settle(s, *id, r->kind == ACK_TA1 && r->status !=
		    ACKST_REJECTED ? "received" : state_name(r->status),
		    r->code, ack_message, err);
	case ACK_997:
	case ACK_999:
		if (r->group == NULL)
			return 0;
		found = lookup(s, KQ_BY_GROUP, partner, "x12", r->group, id,
		    err);
		if (found != 1)
			return found;
		return settle_group(s, *id, r, ack_message, err);
	case ACK_NONE:
		break;
	}
	return 0;
}

void
store_ack_row_free(struct store_ack_row *row)
{
	free(row->partner);
	free(row->syntax);
	free(row->control);
	free(row->state);
	free(row->code);
	memset(row, 0, sizeof(*row));
}

static int
read_row(sqlite3_stmt *st, struct store_ack_row *row)
{
	memset(row, 0, sizeof(*row));
	row->id = sqlite3_column_int64(st, 0);
	row->sent_at = sqlite3_column_int64(st, 4);
	row->acked_at = sqlite3_column_int64(st, 7);
	if (store_col_dup(st, 1, &row->partner) == -1 ||
	    store_col_dup(st, 2, &row->syntax) == -1 ||
	    store_col_dup(st, 3, &row->control) == -1 ||
	    store_col_dup(st, 5, &row->state) == -1 ||
	    store_col_dup(st, 6, &row->code) == -1) {
		store_ack_row_free(row);
		return -1;
	}
	return 0;
}

int
store_ack_find(struct store *s, const char *partner, const char *control,
    struct store_ack_row *row, struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(row, 0, sizeof(*row));
	if ((st = stmt(s, KQ_FIND, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, control, -1, SQLITE_STATIC);
	bind_num(st, 3, control);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 0;
	}
	if (rc != SQLITE_ROW)
		return store_stmt_err(s, st, err);
	rc = read_row(st, row);
	sqlite3_reset(st);
	if (rc == -1) {
		spool_seterr(err, "out of memory");
		return -1;
	}
	return 1;
}

int
store_ack_overdue(struct store *s, int64_t before,
    int (*fn)(void *, const struct store_ack_row *), void *arg,
    struct spool_error *err)
{
	struct store_ack_row *rows = NULL, *nr;
	size_t n = 0, i;
	sqlite3_stmt *st;
	int rc = -1, x;

	if (in_tx(s, err) == -1 || (st = stmt(s, KQ_OVERDUE, err)) == NULL)
		return -1;
	/* Read them all first: the marks change the rows being read. */
	sqlite3_bind_int64(st, 1, before);
	while ((x = sqlite3_step(st)) == SQLITE_ROW) {
		if ((nr = reallocarray(rows, n + 1, sizeof(*rows))) == NULL ||
		    read_row(st, &nr[n]) == -1) {
			if (nr != NULL)
				rows = nr;
			sqlite3_reset(st);
			spool_seterr(err, "out of memory");
			goto out;
		}
		rows = nr;
		n++;
	}
	if (x != SQLITE_DONE) {
		store_stmt_err(s, st, err);
		goto out;
	}
	sqlite3_reset(st);
	for (i = 0; i < n; i++) {
		if (fn(arg, &rows[i]) == -1)
			goto out;
		if ((st = stmt(s, KQ_MARK, err)) == NULL)
			goto out;
		sqlite3_bind_int64(st, 1, rows[i].id);
		sqlite3_bind_int64(st, 2, store_now_ms());
		if (store_step_done(s, st, err) == -1)
			goto out;
	}
	rc = 0;
out:
	for (i = 0; i < n; i++)
		store_ack_row_free(&rows[i]);
	free(rows);
	return rc;
}

int
store_ack_tally(struct store *s, int64_t before, struct store_ack_tally *t,
    struct spool_error *err)
{
	sqlite3_stmt *st;

	memset(t, 0, sizeof(*t));
	if ((st = stmt(s, KQ_TALLY, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, before);
	if (sqlite3_step(st) != SQLITE_ROW)
		return store_stmt_err(s, st, err);
	t->pending = sqlite3_column_int64(st, 0);
	t->overdue = sqlite3_column_int64(st, 1);
	t->acknowledged = sqlite3_column_int64(st, 2);
	t->rejected = sqlite3_column_int64(st, 3);
	sqlite3_reset(st);
	return 0;
}

int
store_ack_open(struct store *s, const char *partner, int64_t limit,
    int (*fn)(void *, const struct store_ack_row *), void *arg,
    int64_t *settled, struct spool_error *err)
{
	struct store_ack_row row;
	sqlite3_stmt *st;
	int x;

	*settled = 0;
	if ((st = stmt(s, KQ_SETTLED, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return store_stmt_err(s, st, err);
	*settled = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if ((st = stmt(s, KQ_OPEN, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
	while ((x = sqlite3_step(st)) == SQLITE_ROW) {
		if (read_row(st, &row) == -1) {
			sqlite3_reset(st);
			spool_seterr(err, "out of memory");
			return -1;
		}
		x = fn(arg, &row);
		store_ack_row_free(&row);
		if (x == -1) {
			sqlite3_reset(st);
			return -1;
		}
	}
	if (x != SQLITE_DONE)
		return store_stmt_err(s, st, err);
	sqlite3_reset(st);
	return 0;
}
