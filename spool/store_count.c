/*
 * store_count.c - what /metrics reads, counted by the writer (DESIGN 17).
 *
 * The tables of migration 13 (stats_state, stats_events, stats_types,
 * stats_latency) were kept by triggers on messages: each INSERT ran
 * three statements more and each change of state four, in a trigger
 * frame of their own, about a tenth of what one message cost the store
 * (issue 20, item 4). Since migration 22, inside a transaction of
 * store_begin(), the statements that insert a message or change its
 * state (store_msg.c, store_cycle.c, store_admin.c: all of them; a new
 * one must call these too) note what they change here, and
 * store_commit() adds it up: one upsert per (state, partner), (event,
 * partner, type) and (partner, bucket) the transaction touched, just
 * before its COMMIT. Meanwhile stats_own has a row, and the triggers,
 * which only count while it has none, stand aside; the row goes in the
 * same flush, so it is never committed. Any other writer (an autocommit
 * statement, the sqlite3 shell, a transaction begun otherwise) is
 * counted by the triggers as before. A DELETE (rare) is always counted
 * by its trigger (stats_msg_gone).
 *
 * In spoold's own connection (STORE_ACCEPTING, store_triggers.c) those
 * two triggers do not fire at all, so no stats_own row is needed there;
 * a change of state outside a transaction of store_begin(), which
 * nothing would count, is refused instead (there is none: every writer
 * of spoold's begins one). store_count_insert() also does there what
 * the trigger messages_id_new did: an ID given to store_insert() must
 * be above id_floor, read once per transaction and again after a
 * deletion (the update hook sees it) or a savepoint rolled back.
 *
 * A change of state needs the message's old state, partner, type and
 * received_at: a lookup by ID, unless the message was inserted in the
 * same transaction (a ready message, accepted and applied at once):
 * then store_count_insert() kept them (struct count_seen), with the
 * received_at that store_insert() bound (store_count_now()).
 *
 * The notes are a log, so that a savepoint rolled back (a chunk of a
 * cycle, a message that failed, a bundle found corrupt) takes back
 * exactly its own (and what was kept of the messages it inserted or
 * changed, found again by a lookup; a deletion forgets all of it): store_savepoint() remembers the log's length,
 * store_rollback_to() cuts it back there (and forgets stats_own's row
 * when it was written inside). store_rollback() drops the log.
 *
 * Crash safety: the totals and stats_own's row are written inside the
 * transaction whose changes they count, so they commit, or vanish, with
 * them: a crash loses both or neither, and never leaves stats_own with
 * a row. A flush that fails rolls the transaction back (store_commit()).
 *
 * The rules are the triggers': +1 for the new state and -1 for the old
 * (the -1 only where the row exists); events accepted (inserted not
 * rejected, duplicates too), duplicate, rejected (inserted rejected, or
 * changed to it), processed (to done with no reason: the handler's ok,
 * not a skip), deferred, failed; one latency observation per processed
 * message, its drop-to-done time in the bucket of the first bound of
 * stats_le at or above it (0: +Inf); the first 1000 types seen are
 * named, later ones count as '(other)', none as ''.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spooldir.h"
#include "store.h"

enum count_kind {
	K_STATE,	/* a: state */
	K_EVENT,	/* a: event, type */
	K_TYPE,		/* type: seen (stats_types) */
	K_LATENCY,	/* le */
};

struct count_key {
	enum count_kind	 kind;
	const char	*a;		/* a constant: state, event */
	char		*partner;
	char		*type;		/* NULL: none */
	int64_t		 le;
	/* at the flush */
	int64_t		 n;
	int64_t		 sum;
};

struct count_note {
	uint32_t	 key;
	int32_t		 n;
	int64_t		 sum;
};

struct count_mark {
	char		 name[32];
	size_t		 len;
};

/*
 * A message inserted in this transaction, as store_count_insert() saw
 * it: a change of its state later in the same transaction (a ready
 * message applied in the transaction that accepts it) needs no lookup
 * of its old state. Direct-mapped by ID; pos is the log's length after
 * its last note, so that a savepoint rolled back to before it forgets it.
 */
struct count_seen {
	int64_t		 id;		/* 0: empty */
	int64_t		 received;	/* its received_at */
	size_t		 pos;
	uint32_t	 key;		/* its accepted/rejected event key:
					 * partner and type */
	int		 state;
};

#define SEEN	64

struct store_count {
	bool			 active;	/* in store_begin()'s */
	bool			 own;		/* stats_own has a row */
	size_t			 own_at;	/* marks open then */
	struct count_key	*keys;
	size_t			 nkeys, capkeys;
	struct count_note	*log;
	size_t			 nlog, caplog;
	struct count_mark	 marks[16];
	size_t			 nmarks;
	int64_t			 floor;		/* id_floor's messages, */
	bool			 floor_known;	/* when read in this
						 * transaction since the
						 * last deletion */
	struct count_seen	 seen[SEEN];
	int64_t			 now;		/* store_count_now()'s, */
	bool			 now_set;	/* for the next insert */
	uint32_t		 last_key;	/* note()'s */
	int64_t			 le[32];	/* stats_le, ascending */
	int			 nle;		/* -1: not read yet */
	sqlite3_stmt		*st[9];
};

enum {
	CS_OLD, CS_STATE_ADD, CS_STATE_SUB, CS_TYPE, CS_EVENT, CS_LATENCY,
	CS_OWN, CS_UNOWN, CS_FLOOR
};

static const char *count_sql[] = {
	[CS_OLD] = "SELECT state, partner, type, received_at, reason IS NULL "
	    "FROM messages WHERE id = ?1",
	[CS_STATE_ADD] = "INSERT INTO stats_state (state, partner, n) VALUES "
	    "(?1, ?2, ?3) ON CONFLICT DO UPDATE SET n = n + excluded.n",
	[CS_STATE_SUB] = "UPDATE stats_state SET n = n - ?3 WHERE state = ?1 "
	    "AND partner = ?2",
	[CS_TYPE] = "INSERT OR IGNORE INTO stats_types (type) SELECT ?1 "
	    "WHERE (SELECT count(*) FROM stats_types) < 1000",
	[CS_EVENT] = "INSERT INTO stats_events (event, partner, type, n) "
	    "VALUES (?1, ?2, coalesce((SELECT type FROM stats_types WHERE "
	    "type = ?3), CASE WHEN ?3 IS NULL THEN '' ELSE '(other)' END), "
	    "?4) ON CONFLICT DO UPDATE SET n = n + excluded.n",
	[CS_LATENCY] = "INSERT INTO stats_latency (partner, le, n, sum_ms) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO UPDATE SET n = n + "
	    "excluded.n, sum_ms = sum_ms + excluded.sum_ms",
	[CS_OWN] = "INSERT OR IGNORE INTO stats_own (id) VALUES (1)",
	[CS_UNOWN] = "DELETE FROM stats_own",
	[CS_FLOOR] = "SELECT coalesce((SELECT id FROM id_floor WHERE "
	    "tbl = 'messages'), 0)",
};

static void	deleted(void *, int, const char *, const char *,
		    sqlite3_int64);

static struct store_count *
count_get(struct store *s, struct spool_error *err)
{
	if (s->count == NULL) {
		if ((s->count = calloc(1, sizeof(*s->count))) == NULL) {
			spool_seterr(err, "out of memory");
			return NULL;
		}
		s->count->nle = -1;
		/* Deletions make it forget what it knows (deleted()). */
		sqlite3_update_hook(s->db, deleted, s->count);
	}
	return s->count;
}

static bool
streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* The index of a key, made if new; -1 when memory runs out. */
static long
key_of(struct store_count *c, enum count_kind kind, const char *a,
    const char *partner, const char *type, int64_t le)
{
	struct count_key *k, *nk;
	size_t i;

	for (i = 0; i < c->nkeys; i++) {
		k = &c->keys[i];
		if (k->kind == kind && k->le == le && streq(k->a, a) &&
		    streq(k->partner, partner) && streq(k->type, type))
			return (long)i;
	}
	if (c->nkeys == c->capkeys) {
		size_t cap = c->capkeys ? 2 * c->capkeys : 16;

		if ((nk = reallocarray(c->keys, cap, sizeof(*nk))) == NULL)
			return -1;
		c->keys = nk;
		c->capkeys = cap;
	}
	k = &c->keys[c->nkeys];
	memset(k, 0, sizeof(*k));
	k->kind = kind;
	k->a = a;
	k->le = le;
	if ((partner != NULL && (k->partner = strdup(partner)) == NULL) ||
	    (type != NULL && (k->type = strdup(type)) == NULL)) {
		free(k->partner);
		return -1;
	}
	return (long)c->nkeys++;
}

static int
note(struct store_count *c, enum count_kind kind, const char *a,
    const char *partner, const char *type, int64_t le, int n, int64_t sum,
    struct spool_error *err)
{
	struct count_note *nl;
	long k;

	if ((k = key_of(c, kind, a, partner, type, le)) == -1)
		goto oom;
	if (c->nlog == c->caplog) {
		size_t cap = c->caplog ? 2 * c->caplog : 256;

		if ((nl = reallocarray(c->log, cap, sizeof(*nl))) == NULL)
			goto oom;
		c->log = nl;
		c->caplog = cap;
	}
	c->last_key = (uint32_t)k;
	c->log[c->nlog].key = (uint32_t)k;
	c->log[c->nlog].n = n;
	c->log[c->nlog].sum = sum;
	c->nlog++;
	return 0;
oom:
	spool_seterr(err, "out of memory");
	return -1;
}

static void
forget(struct store_count *c)
{
	size_t i;

	for (i = 0; i < c->nkeys; i++) {
		free(c->keys[i].partner);
		free(c->keys[i].type);
	}
	c->nkeys = 0;
	c->nlog = 0;
	c->nmarks = 0;
	c->own = false;
	c->floor_known = false;
	c->now_set = false;
	memset(c->seen, 0, sizeof(c->seen));
}

static sqlite3_stmt *
cstmt(struct store *s, int id, struct spool_error *err)
{
	return store_prepare(s, &s->count->st[id], count_sql[id], err);
}

/*
 * Counting here, in a transaction of store_begin()? Then the triggers
 * must stand aside: stats_own gets its row (once per transaction) before
 * the first statement counted. 1: counting here, 0: the triggers count
 * (no such transaction), -1: err.
 */
static int
counting(struct store *s, struct spool_error *err)
{
	struct store_count *c = s->count;
	sqlite3_stmt *st;

	if (c == NULL || !c->active || sqlite3_get_autocommit(s->db)) {
		/* No trigger counts it in spoold's connection. */
		if (s->ctrig) {
			spool_seterr(err, "%s: a message changes outside a "
			    "write transaction: it could not be counted",
			    s->path);
			return -1;
		}
		return 0;
	}
	/* The triggers are off: no row to tell them. */
	if (c->own || s->ctrig)
		return 1;
	if ((st = cstmt(s, CS_OWN, err)) == NULL ||
	    store_step_done(s, st, err) == -1)
		return -1;
	c->own = true;
	c->own_at = c->nmarks;
	return 1;
}

/* The bucket of a drop-to-done time d (ms), as stats_le says. */
static int
bucket(struct store *s, int64_t d, int64_t *le, struct spool_error *err)
{
	struct store_count *c = s->count;
	sqlite3_stmt *st = NULL;
	int i, rc;

	if (c->nle < 0) {
		if (store_prepare(s, &st, "SELECT le FROM stats_le ORDER BY le",
		    err) == NULL)
			return -1;
		c->nle = 0;
		while ((rc = store_row(s, st, err)) == 1 &&
		    c->nle < (int)(sizeof(c->le) / sizeof(c->le[0])))
			c->le[c->nle++] = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		if (rc == -1) {
			c->nle = -1;
			return -1;
		}
	}
	*le = 0;
	for (i = 0; i < c->nle; i++)
		if (c->le[i] >= d) {
			*le = c->le[i];
			break;
		}
	return 0;
}

/*
 * What messages_id_new refuses, in spoold's connection (store_triggers.c):
 * an ID at or below id_floor, given out before. The floor is read once
 * per transaction and again after each deletion from messages (the
 * update hook), which is all that raises it there.
 */
static int
id_check(struct store *s, int64_t id, struct spool_error *err)
{
	struct store_count *c = s->count;
	sqlite3_stmt *st;

	if (!c->floor_known) {
		if ((st = cstmt(s, CS_FLOOR, err)) == NULL ||
		    store_row_int64(s, st, &c->floor, err) == -1)
			return -1;
		c->floor_known = true;
	}
	if (id > c->floor)
		return 0;
	spool_seterr(err, "%s: message ID %lld given out before: IDs are "
	    "never reused", s->path, (long long)id);
	return -1;
}

static void
deleted(void *arg, int op, const char *db, const char *tbl, sqlite3_int64 id)
{
	struct store_count *c = arg;

	(void)db;
	(void)id;
	if (op == SQLITE_DELETE && strcmp(tbl, "messages") == 0) {
		c->floor_known = false;
		memset(c->seen, 0, sizeof(c->seen));
	}
}

int
store_count_own(struct store *s, struct spool_error *err)
{
	struct store_count *c;

	if ((c = count_get(s, err)) == NULL)
		return -1;
	return 0;
}

int
store_count_insert(struct store *s, const struct store_newmsg *m,
    struct spool_error *err)
{
	struct store_count *c = s->count;
	const char *state = spool_state_name(m->state);
	struct count_seen *e;
	uint32_t key;
	int rc;

	if ((rc = counting(s, err)) != 1) {
		if (c != NULL)
			c->now_set = false;
		return rc;
	}
	/* An ID the store picks (0) is above the floor by its SQL. */
	if (s->ctrig && m->id != 0 && id_check(s, m->id, err) == -1)
		return -1;
	if (note(c, K_STATE, state, m->partner, NULL, 0, 1, 0, err) == -1 ||
	    (m->type != NULL && note(c, K_TYPE, NULL, NULL, m->type, 0, 1, 0,
	    err) == -1) ||
	    note(c, K_EVENT, m->state == ST_REJECTED ? "rejected" : "accepted",
	    m->partner, m->type, 0, 1, 0, err) == -1)
		return -1;
	key = c->last_key;
	if (m->duplicate_of != 0 && note(c, K_EVENT, "duplicate", m->partner,
	    m->type, 0, 1, 0, err) == -1)
		return -1;
	/* Seen, when its ID and received_at are known. */
	if (m->id > 0 && c->now_set) {
		e = &c->seen[m->id % SEEN];
		e->id = m->id;
		e->received = c->now;
		e->pos = c->nlog;
		e->key = key;
		e->state = m->state;
	}
	c->now_set = false;
	return 0;
}

int64_t
store_count_now(struct store *s)
{
	int64_t now = store_now_ms();

	if (s->count != NULL) {
		s->count->now = now;
		s->count->now_set = true;
	}
	return now;
}

/* Note a change of a message's state from old to `to'. */
static int
count_change(struct store *s, const char *old, int to, const char *partner,
    const char *type, int64_t received, bool no_reason, int64_t now,
    struct spool_error *err)
{
	struct store_count *c = s->count;
	const char *to_name = spool_state_name(to);
	int64_t le;

	if (note(c, K_STATE, old, partner, NULL, 0, -1, 0, err) == -1 ||
	    note(c, K_STATE, to_name, partner, NULL, 0, 1, 0, err) == -1)
		return -1;
	if (to == ST_DONE && no_reason) {
		int64_t d = now - received > 0 ? now - received : 0;

		if (note(c, K_EVENT, "processed", partner, type, 0, 1, 0,
		    err) == -1 || bucket(s, d, &le, err) == -1 ||
		    note(c, K_LATENCY, NULL, partner, NULL, le, 1, d,
		    err) == -1)
			return -1;
	} else if ((to == ST_DEFERRED || to == ST_FAILED ||
	    to == ST_REJECTED) && note(c, K_EVENT, to_name, partner, type, 0,
	    1, 0, err) == -1)
		return -1;
	return 0;
}

int
store_count_update(struct store *s, int64_t id, int to, const char *from,
    bool no_reason, int64_t now, struct spool_error *err)
{
	struct store_count *c = s->count;
	struct count_seen *e;
	sqlite3_stmt *st;
	const char *old, *to_name = spool_state_name(to);
	char *partner = NULL, *type = NULL;
	int64_t received;
	int rc, ret = -1;

	if ((rc = counting(s, err)) != 1)
		return rc;
	/* Inserted in this transaction: its state is known here. */
	e = &c->seen[(id > 0 ? id : -id) % SEEN];
	if (id != 0 && e->id == id) {
		old = spool_state_name(e->state);
		if (e->state == to || (from != NULL && !streq(old, from)))
			return 0;	/* no change of state */
		if (count_change(s, old, to, c->keys[e->key].partner,
		    c->keys[e->key].type, e->received, no_reason, now,
		    err) == -1)
			return -1;
		e->state = to;
		e->pos = c->nlog;
		return 0;
	}
	if ((st = cstmt(s, CS_OLD, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = store_row(s, st, err)) != 1) {
		sqlite3_reset(st);
		return rc;	/* no such row: the UPDATE changes none */
	}
	old = (const char *)sqlite3_column_text(st, 0);
	if (old == NULL || streq(old, to_name) ||
	    (from != NULL && !streq(old, from))) {
		sqlite3_reset(st);
		return 0;	/* no change of state */
	}
	/* A constant name for the old state, the column's text goes. */
	if ((rc = spool_state_parse(old)) < 0) {
		sqlite3_reset(st);
		spool_seterr(err, "message %lld has an unknown state",
		    (long long)id);
		return -1;
	}
	old = spool_state_name(rc);
	received = sqlite3_column_int64(st, 3);
	if ((partner = store_col_strdup(st, 1)) == NULL ||
	    (sqlite3_column_type(st, 2) != SQLITE_NULL &&
	    (type = store_col_strdup(st, 2)) == NULL)) {
		sqlite3_reset(st);
		spool_seterr(err, "out of memory");
		goto out;
	}
	sqlite3_reset(st);
	if (count_change(s, old, to, partner, type, received, no_reason, now,
	    err) == -1)
		goto out;
	ret = 0;
out:
	free(partner);
	free(type);
	return ret;
}

int
store_count_begin(struct store *s, struct spool_error *err)
{
	struct store_count *c;

	if ((c = count_get(s, err)) == NULL)
		return -1;
	forget(c);
	c->active = true;
	return 0;
}

void
store_count_savepoint(struct store *s, const char *name)
{
	struct store_count *c = s->count;

	if (c == NULL)
		return;
	if (c->nmarks == sizeof(c->marks) / sizeof(c->marks[0])) {
		/* Deeper than the program nests: the oldest is lost. */
		memmove(&c->marks[0], &c->marks[1],
		    (c->nmarks - 1) * sizeof(c->marks[0]));
		c->nmarks--;
	}
	snprintf(c->marks[c->nmarks].name, sizeof(c->marks[0].name), "%s",
	    name);
	c->marks[c->nmarks].len = c->nlog;
	c->nmarks++;
}

/* The innermost mark of that name, or -1. */
static long
mark_of(struct store_count *c, const char *name)
{
	size_t i;

	for (i = c->nmarks; i > 0; i--)
		if (strcmp(c->marks[i - 1].name, name) == 0)
			return (long)(i - 1);
	return -1;
}

void
store_count_release(struct store *s, const char *name)
{
	long i;

	if (s->count != NULL && (i = mark_of(s->count, name)) >= 0)
		s->count->nmarks = (size_t)i;
}

void
store_count_rollback_to(struct store *s, const char *name)
{
	struct store_count *c = s->count;
	long i;
	size_t j;

	if (c == NULL || (i = mark_of(c, name)) < 0)
		return;
	c->nlog = c->marks[i].len;
	c->nmarks = (size_t)i + 1;	/* ROLLBACK TO keeps it open */
	c->floor_known = false;		/* a deletion undone lowers it */
	/* Inserted or changed since: as the store has it, by a lookup. */
	for (j = 0; j < SEEN; j++)
		if (c->seen[j].pos > c->nlog)
			c->seen[j].id = 0;
	/* stats_own's row, written inside it, is gone with it. */
	if (c->own && c->own_at > (size_t)i)
		c->own = false;
}

void
store_count_rollback(struct store *s)
{
	if (s->count != NULL) {
		forget(s->count);
		s->count->active = false;
	}
}

int
store_count_flush(struct store *s, struct spool_error *err)
{
	struct store_count *c = s->count;
	struct count_key *k;
	sqlite3_stmt *st;
	size_t i;
	int rc = 0;

	if (c == NULL || !c->active)
		return 0;
	c->active = false;
	if (c->nlog == 0)
		goto unown;
	for (i = 0; i < c->nkeys; i++)
		c->keys[i].n = c->keys[i].sum = 0;
	for (i = 0; i < c->nlog; i++) {
		c->keys[c->log[i].key].n += c->log[i].n;
		c->keys[c->log[i].key].sum += c->log[i].sum;
	}
	/* Types first, in the order seen: events name them. */
	for (i = 0; i < c->nkeys && rc == 0; i++) {
		k = &c->keys[i];
		if (k->kind != K_TYPE || k->n == 0)
			continue;
		if ((st = cstmt(s, CS_TYPE, err)) == NULL)
			rc = -1;
		else {
			sqlite3_bind_text(st, 1, k->type, -1, SQLITE_STATIC);
			rc = store_step_done(s, st, err);
		}
	}
	for (i = 0; i < c->nkeys && rc == 0; i++) {
		k = &c->keys[i];
		if (k->n == 0 || k->kind == K_TYPE)
			continue;
		switch (k->kind) {
		case K_STATE:
			st = cstmt(s, k->n > 0 ? CS_STATE_ADD : CS_STATE_SUB,
			    err);
			if (st == NULL)
				break;
			sqlite3_bind_text(st, 1, k->a, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, k->partner, -1,
			    SQLITE_STATIC);
			sqlite3_bind_int64(st, 3, k->n > 0 ? k->n : -k->n);
			break;
		case K_EVENT:
			if ((st = cstmt(s, CS_EVENT, err)) == NULL)
				break;
			sqlite3_bind_text(st, 1, k->a, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, k->partner, -1,
			    SQLITE_STATIC);
			store_bind_opt_text(st, 3, k->type);
			sqlite3_bind_int64(st, 4, k->n);
			break;
		default:
			if ((st = cstmt(s, CS_LATENCY, err)) == NULL)
				break;
			sqlite3_bind_text(st, 1, k->partner, -1,
			    SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, k->le);
			sqlite3_bind_int64(st, 3, k->n);
			sqlite3_bind_int64(st, 4, k->sum);
			break;
		}
		rc = st == NULL ? -1 : store_step_done(s, st, err);
	}
unown:
	/* The triggers count again once this commits. */
	if (rc == 0 && c->own && ((st = cstmt(s, CS_UNOWN, err)) == NULL ||
	    store_step_done(s, st, err) == -1))
		rc = -1;
	/* Written (or failed: the caller rolls back): the log is done. */
	forget(c);
	return rc;
}

void
store_count_free(struct store *s)
{
	struct store_count *c = s->count;
	size_t i;

	if (c == NULL)
		return;
	forget(c);
	for (i = 0; i < sizeof(c->st) / sizeof(c->st[0]); i++)
		if (c->st[i] != NULL)
			sqlite3_finalize(c->st[i]);
	free(c->keys);
	free(c->log);
	free(c);
	s->count = NULL;
}

/*
 * A message inserted done, processed (the one pass, accept_apply.c):
 * what store_count_update() notes for its change to done, which no
 * statement makes (store_count_insert() has noted the rest).
 */
int
store_count_processed(struct store *s, const char *partner,
    const char *type, int64_t d, struct spool_error *err)
{
	struct store_count *c = s->count;
	int64_t le;
	int rc;

	if ((rc = counting(s, err)) != 1)
		return rc;
	if (note(c, K_EVENT, "processed", partner, type, 0, 1, 0, err) == -1 ||
	    bucket(s, d, &le, err) == -1 ||
	    note(c, K_LATENCY, NULL, partner, NULL, le, 1, d, err) == -1)
		return -1;
	return 0;
}
