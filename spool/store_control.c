/*
 * store_control.c - our control numbers: SQL of the table
 * control_counters and the standards' ranges (DESIGN 16).
 *
 * A take reads the counter and writes the number after the run it hands
 * out, in the caller's write transaction: what the caller records with
 * the number (an acknowledgment, a stamped outbound interchange) commits
 * in the same COMMIT as the counter, or neither does. So a crash before
 * the COMMIT gives the number back unseen, and one after it finds the
 * counter past it: no number anyone has seen is given out twice.
 *
 * Wrap: the fields are bounded (ISA13 has nine digits), so a counter
 * that would pass ctl_max() starts again at 1 (never 0, which some
 * translators refuse) and counts the wrap in wraps. A run of n numbers
 * never straddles the top: it starts at 1 instead, since an envelope's
 * numbers are consecutive. At one interchange a second, nine digits
 * last 31 years; partners' duplicate windows are days to months.
 *
 * Statements are prepared once, kept in this module's own block on the
 * store (store_part()).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "store_control.h"

enum {
	CQ_GET,
	CQ_PUT,
	CQ_COUNT
};

static const char *sqls[CQ_COUNT] = {
	[CQ_GET] = "SELECT next FROM control_counters WHERE partner = ?1 "
	    "AND syntax = ?2 AND level = ?3 AND pair = ?4",
	[CQ_PUT] = "INSERT INTO control_counters (partner, syntax, level, "
	    "pair, next, wraps, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	    "?7) ON CONFLICT (partner, syntax, level, pair) DO UPDATE SET "
	    "next = excluded.next, wraps = wraps + excluded.wraps, "
	    "updated_at = excluded.updated_at",
};

struct ctl_part {
	sqlite3_stmt	*st[CQ_COUNT];
};

static char part_key;

static void
part_fini(struct store *s, void *p)
{
	struct ctl_part *cp = p;
	int i;

	(void)s;
	for (i = 0; i < CQ_COUNT; i++)
		if (cp->st[i] != NULL)
			sqlite3_finalize(cp->st[i]);
}

static sqlite3_stmt *
stmt(struct store *s, int id, struct spool_error *err)
{
	struct ctl_part *cp;

	if ((cp = store_part(s, &part_key, sizeof(*cp), part_fini,
	    err)) == NULL)
		return NULL;
	return store_prepare(s, &cp->st[id], sqls[id], err);
}

uint64_t
ctl_max(enum edi_syntax syn, enum ctl_level lvl)
{
	(void)lvl;
	return syn == EDI_X12 ? UINT64_C(999999999) :
	    UINT64_C(99999999999999);
}

int
ctl_format(enum edi_syntax syn, enum ctl_level lvl, uint64_t v, char *buf,
    size_t size)
{
	int n;

	if (v < 1 || v > ctl_max(syn, lvl))
		return -1;
	if (syn == EDI_X12 && lvl == CTL_INTERCHANGE)
		n = snprintf(buf, size, "%09" PRIu64, v);
	else if (syn == EDI_X12 && lvl == CTL_MESSAGE)
		n = snprintf(buf, size, "%04" PRIu64, v);
	else
		n = snprintf(buf, size, "%" PRIu64, v);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static const char *
syn_name(enum edi_syntax syn)
{
	return syn == EDI_X12 ? "x12" : syn == EDI_EDIFACT ? "edifact" : NULL;
}

static const char *
lvl_name(enum ctl_level lvl)
{
	return lvl == CTL_INTERCHANGE ? "interchange" : lvl == CTL_GROUP ?
	    "group" : lvl == CTL_MESSAGE ? "message" : NULL;
}

static int
key_ok(const struct ctl_key *k, struct spool_error *err)
{
	if (k->partner == NULL || syn_name(k->syntax) == NULL ||
	    lvl_name(k->level) == NULL) {
		spool_seterr(err, "control counter: no partner, or a syntax "
		    "or level that has none");
		return -1;
	}
	return 0;
}

static void
bind_key(sqlite3_stmt *st, const struct ctl_key *k)
{
	sqlite3_bind_text(st, 1, k->partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, syn_name(k->syntax), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, lvl_name(k->level), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, k->pair != NULL ? k->pair : "", -1,
	    SQLITE_STATIC);
}

int
store_control_peek(struct store *s, const struct ctl_key *k, uint64_t *next,
    struct spool_error *err)
{
	sqlite3_stmt *st;
	int64_t v;
	int rc;

	if (key_ok(k, err) == -1 || (st = stmt(s, CQ_GET, err)) == NULL)
		return -1;
	bind_key(st, k);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		*next = 1;
		return 0;
	}
	if (rc != SQLITE_ROW)
		return store_stmt_err(s, st, err);
	v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	/* A value an older program or an admin left out of range. */
	*next = v < 1 || (uint64_t)v > ctl_max(k->syntax, k->level) ? 1 :
	    (uint64_t)v;
	return 0;
}

static int
put(struct store *s, const struct ctl_key *k, uint64_t next, int wrapped,
    struct spool_error *err)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, CQ_PUT, err)) == NULL)
		return -1;
	bind_key(st, k);
	sqlite3_bind_int64(st, 5, (int64_t)next);
	sqlite3_bind_int(st, 6, wrapped);
	sqlite3_bind_int64(st, 7, store_now_ms());
	return store_step_done(s, st, err);
}

static int
in_tx(struct store *s, const char *what, struct spool_error *err)
{
	if (sqlite3_get_autocommit(s->db)) {
		spool_seterr(err, "control counter: %s outside a write "
		    "transaction", what);
		return -1;
	}
	return 0;
}

int
store_control_take(struct store *s, const struct ctl_key *k, uint64_t n,
    uint64_t *first, struct spool_error *err)
{
	uint64_t next, max;
	int wrapped = 0;

	if (key_ok(k, err) == -1 || in_tx(s, "take", err) == -1)
		return -1;
	if (n < 1 || n > 1000) {
		spool_seterr(err, "control counter: cannot take %" PRIu64
		    " numbers at once (1 to 1000)", n);
		return -1;
	}
	if (store_control_peek(s, k, &next, err) == -1)
		return -1;
	max = ctl_max(k->syntax, k->level);
	if (next + (n - 1) > max) {
		next = 1;
		wrapped = 1;
	}
	*first = next;
	next += n;
	if (next > max) {
		next = 1;
		wrapped = 1;
	}
	return put(s, k, next, wrapped, err);
}

int
store_control_set(struct store *s, const struct ctl_key *k, uint64_t next,
    struct spool_error *err)
{
	if (key_ok(k, err) == -1 || in_tx(s, "set", err) == -1)
		return -1;
	if (next < 1 || next > ctl_max(k->syntax, k->level)) {
		spool_seterr(err, "control counter: %" PRIu64 " is not between "
		    "1 and %" PRIu64, next, ctl_max(k->syntax, k->level));
		return -1;
	}
	return put(s, k, next, 0, err);
}
