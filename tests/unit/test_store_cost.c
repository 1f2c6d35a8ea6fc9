/*
 * test_store_cost.c - what one message costs the store (issue 20, item
 * 4), and that the cuts keep every promise: the CHECKs on a message's
 * state build no ephemeral table and still refuse a state that is none;
 * spoold's connection (STORE_ACCEPTING) fires no trigger that only
 * checks or counts, yet gives no ID out twice after a purge and counts
 * exactly, beside a spoolctl-style writer and the sqlite3 shell;
 * SQLite's memory peak is still counted without its mutex.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "handler.h"
#include "spooldir.h"
#include "store.h"
#include "store_admin.h"
#include "store_cycle.h"

static char dir[64], db[96];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_store_cost.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(db, sizeof(db), "%s/spool.db", dir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/*
 * OpenEphemeral in the statement's own program (not in the programs of
 * triggers, which EXPLAIN lists after it, their addresses from 0).
 */
static int
ephemerals(struct store *s, const char *sql)
{
	sqlite3_stmt *st;
	int n = 0, addr, last = -1;

	assert_int_equal(sqlite3_prepare_v2(s->db, sql, -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if ((addr = sqlite3_column_int(st, 0)) <= last)
			break;
		last = addr;
		if (strcmp((const char *)sqlite3_column_text(st, 1),
		    "OpenEphemeral") == 0)
			n++;
	}
	sqlite3_finalize(st);
	return n;
}

static void
test_state_check_builds_no_ephemeral_table(void **state)
{
	struct spool_error err;
	struct store s;

	(void)state;
	assert_int_equal(store_open(&s, db, STORE_CREATE, &err), 0);
	assert_int_equal(ephemerals(&s, "EXPLAIN INSERT INTO messages "
	    "(id, partner, orig_name, file_name, state, received_at, "
	    "updated_at) VALUES (?1, 'acme', 'a', 'a', ?2, 1, 1)"), 0);
	assert_int_equal(ephemerals(&s, "EXPLAIN UPDATE messages SET "
	    "state = ?2 WHERE id = ?1"), 0);
	assert_int_equal(ephemerals(&s, "EXPLAIN INSERT INTO attempts "
	    "(message, attempt, started_at, outcome) VALUES (?1, 1, 1, ?2)"),
	    0);
	/* the same rule: every state, and nothing else */
	assert_int_equal(store_exec(&s, "INSERT INTO messages (id, partner, "
	    "orig_name, file_name, state, received_at, updated_at) VALUES "
	    "(1, 'acme', 'a', 'a', 'queue', 1, 1), "
	    "(2, 'acme', 'b', 'b', 'parked', 1, 1), "
	    "(3, 'acme', 'c', 'c', 'deferred', 1, 1), "
	    "(4, 'acme', 'd', 'd', 'failed', 1, 1), "
	    "(5, 'acme', 'e', 'e', 'rejected', 1, 1), "
	    "(6, 'acme', 'f', 'f', 'done', 1, 1), "
	    "(7, 'acme', 'g', 'g', 'held', 1, 1)", &err), 0);
	assert_int_equal(store_exec(&s, "INSERT INTO messages (id, partner, "
	    "orig_name, file_name, state, received_at, updated_at) VALUES "
	    "(8, 'acme', 'h', 'h', 'gone', 1, 1)", &err), -1);
	assert_non_null(strstr(err.msg, "CHECK"));
	assert_int_equal(store_exec(&s, "UPDATE messages SET state = 'Done' "
	    "WHERE id = 1", &err), -1);
	assert_non_null(strstr(err.msg, "CHECK"));
	assert_int_equal(store_exec(&s, "INSERT INTO attempts (message, "
	    "attempt, started_at, outcome) VALUES (1, 1, 1, 'ok'), "
	    "(1, 2, 1, 'temporary'), (1, 3, 1, 'permanent'), "
	    "(1, 4, 1, NULL)", &err), 0);
	assert_int_equal(store_exec(&s, "INSERT INTO attempts (message, "
	    "attempt, started_at, outcome) VALUES (1, 5, 1, 'maybe')", &err),
	    -1);
	store_close(&s);
}


/* Opcodes named op in the statement's program and its triggers'. */
static int
opcodes(struct store *s, const char *sql, const char *op)
{
	sqlite3_stmt *st;
	int n = 0;

	assert_int_equal(sqlite3_prepare_v2(s->db, sql, -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		if (strcmp((const char *)sqlite3_column_text(st, 1), op) == 0)
			n++;
	sqlite3_finalize(st);
	return n;
}

static int64_t
query_int64(sqlite3 *h, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static bool
accepting_possible(void)
{
	return sqlite3_libversion_number() >= 3035000;
}

/* A message with the ID the caller gives (0: the store picks). */
static int
insert(struct store *s, const char *partner, int64_t id, int64_t *out,
    struct spool_error *err)
{
	struct store_newmsg m;

	memset(&m, 0, sizeof(m));
	m.partner = partner;
	m.orig_name = "m.xml";
	m.file_name = "m.xml";
	m.type = "FinancialPosting";
	m.state = ST_QUEUE;
	m.id = id;
	return store_insert(s, &m, out, err);
}

/* spoolctl purge's way (and retention's) of removing one message. */
static void
purge(struct store *s, int64_t id)
{
	struct store_admin_purge *p;
	struct spool_error err;

	assert_int_equal(store_begin(s, &err), 0);
	assert_non_null(p = store_admin_purge_open(s, &err));
	assert_int_equal(store_admin_purge_row(p, id, &err), 1);
	assert_int_equal(store_admin_purge_done(p, true, &err), 0);
	store_admin_purge_close(p);
	assert_int_equal(store_commit(s, &err), 0);
}

/*
 * spoold's connection: an INSERT and a change of state run no trigger
 * program (no frame, no statement journal); a DELETE still runs the
 * copies of the others (floor, count, the handlers' own).
 */
static void
test_accepting_connection_runs_no_check_or_count_trigger(void **state)
{
	struct spool_error err;
	struct store s, o;
	int main_n, temp_n;

	(void)state;
	if (!accepting_possible())
		skip();
	assert_int_equal(store_open_with(&s, db, STORE_CREATE |
	    STORE_ACCEPTING, handler_components, &err), 0);
	assert_true(s.ctrig);
	assert_int_equal(opcodes(&s, "EXPLAIN INSERT INTO messages (id, "
	    "partner, orig_name, file_name, state, received_at, updated_at) "
	    "VALUES (?1, 'acme', 'a', 'a', 'queue', 1, 1)", "Program"), 0);
	assert_int_equal(opcodes(&s, "EXPLAIN UPDATE messages SET state = "
	    "'done' WHERE id = ?1", "Program"), 0);
	assert_true(opcodes(&s, "EXPLAIN DELETE FROM messages WHERE id = ?1",
	    "Program") >= 3);
	main_n = (int)query_int64(s.db, "SELECT count(*) FROM "
	    "main.sqlite_schema WHERE type = 'trigger'");
	temp_n = (int)query_int64(s.db, "SELECT count(*) FROM "
	    "temp.sqlite_schema WHERE type = 'trigger'");
	assert_int_equal(temp_n, main_n - 3);
	assert_int_equal(query_int64(s.db, "SELECT count(*) FROM "
	    "temp.sqlite_schema WHERE name IN ('messages_id_new', "
	    "'stats_msg_new', 'stats_msg_state')"), 0);

	/* any other connection runs them all */
	assert_int_equal(store_open_with(&o, db, 0, handler_components, &err),
	    0);
	assert_false(o.ctrig);
	assert_int_equal(opcodes(&o, "EXPLAIN INSERT INTO messages (id, "
	    "partner, orig_name, file_name, state, received_at, updated_at) "
	    "VALUES (?1, 'acme', 'a', 'a', 'queue', 1, 1)", "Program"), 2);

	/* a trigger added by another connection is copied at the next
	 * transaction */
	assert_int_equal(store_exec(&o, "CREATE TABLE t (x); CREATE TRIGGER "
	    "t_new AFTER INSERT ON messages BEGIN INSERT INTO t VALUES "
	    "(NEW.id); END", &err), 0);
	store_close(&o);
	/* (copied in a transaction rolled back: copied again) */
	assert_int_equal(store_begin(&s, &err), 0);
	assert_int_equal(store_rollback(&s), 0);
	assert_int_equal(store_begin(&s, &err), 0);
	assert_int_equal(insert(&s, "acme", 0, &(int64_t){0}, &err), 0);
	assert_int_equal(store_commit(&s, &err), 0);
	assert_int_equal(query_int64(s.db, "SELECT count(*) FROM t"), 1);
	assert_int_equal(query_int64(s.db, "SELECT count(*) FROM "
	    "temp.sqlite_schema WHERE name = 't_new'"), 1);
	store_close(&s);
}

/*
 * IDs are never given out twice (DESIGN 3) on spoold's path: IDs
 * handed out by store_next_message_id() and given to store_insert(),
 * with messages_id_new not firing, after a purge in the same connection
 * (its floor raised by the copy of messages_id_gone), within one
 * transaction after a deletion, and after a restart.
 */
static void
test_accepting_connection_never_reuses_an_id(void **state)
{
	struct spool_error err;
	struct store s;
	int64_t next, id, high;
	int i;

	(void)state;
	if (!accepting_possible())
		skip();
	assert_int_equal(store_open_with(&s, db, STORE_CREATE |
	    STORE_ACCEPTING, handler_components, &err), 0);
	assert_int_equal(store_begin(&s, &err), 0);
	assert_int_equal(store_next_message_id(&s, &next, &err), 0);
	for (i = 0; i < 5; i++) {
		assert_int_equal(insert(&s, "acme", next + i, &id, &err), 0);
		assert_int_equal(id, next + i);
		assert_int_equal(store_mark_done(&s, id, &err), 0);
	}
	assert_int_equal(store_commit(&s, &err), 0);
	high = next + 4;

	/* the newest two purged: their IDs stay taken */
	purge(&s, high);
	purge(&s, high - 1);
	assert_int_equal(store_begin(&s, &err), 0);
	assert_int_equal(store_next_message_id(&s, &next, &err), 0);
	assert_true(next > high);
	/* a caller that forgets: refused, as the trigger did */
	assert_int_equal(insert(&s, "acme", high, &id, &err), -1);
	assert_non_null(strstr(err.msg, "never reused"));
	assert_int_equal(insert(&s, "acme", high - 1, &id, &err), -1);
	assert_int_equal(insert(&s, "acme", next, &id, &err), 0);
	/* deleted in this very transaction (the floor read before) */
	assert_int_equal(store_exec(&s, "DELETE FROM messages WHERE id = "
	    "(SELECT max(id) FROM messages)", &err), 0);
	assert_int_equal(insert(&s, "acme", next, &id, &err), -1);
	assert_non_null(strstr(err.msg, "never reused"));
	assert_int_equal(store_next_message_id(&s, &id, &err), 0);
	assert_true(id > next);
	assert_int_equal(store_commit(&s, &err), 0);
	high = next;
	store_close(&s);

	/* after a restart */
	assert_int_equal(store_open_with(&s, db, STORE_ACCEPTING,
	    handler_components, &err), 0);
	assert_int_equal(store_begin(&s, &err), 0);
	assert_int_equal(insert(&s, "acme", high, &id, &err), -1);
	assert_int_equal(store_next_message_id(&s, &next, &err), 0);
	assert_true(next > high);
	assert_int_equal(insert(&s, "acme", next, &id, &err), 0);
	/* one the store picks itself */
	assert_int_equal(insert(&s, "acme", 0, &id, &err), 0);
	assert_true(id > next);
	assert_int_equal(store_commit(&s, &err), 0);
	assert_int_equal(query_int64(s.db, "SELECT id FROM id_floor WHERE "
	    "tbl = 'messages'"), high);
	store_close(&s);
}

/* stats_state is what the rows say, partner by partner. */
static void
assert_state_counts_exact(sqlite3 *h)
{
	assert_int_equal(query_int64(h, "SELECT count(*) FROM (SELECT "
	    "state, partner, count(*) AS n FROM messages GROUP BY 1, 2 "
	    "EXCEPT SELECT state, partner, n FROM stats_state WHERE n <> 0)"),
	    0);
	assert_int_equal(query_int64(h, "SELECT count(*) FROM (SELECT "
	    "state, partner, n FROM stats_state WHERE n <> 0 EXCEPT SELECT "
	    "state, partner, count(*) FROM messages GROUP BY 1, 2)"), 0);
}

static int64_t
event(sqlite3 *h, const char *ev)
{
	sqlite3_stmt *st;
	int64_t v = 0;

	assert_int_equal(sqlite3_prepare_v2(h, "SELECT coalesce(sum(n), 0) "
	    "FROM stats_events WHERE event = ?1", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, ev, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/*
 * /metrics counts stay exact with three writers at once: spoold's
 * connection (counted in C, no trigger), spoolctl's (a store_begin()
 * transaction, counted in C while stats_own tells the triggers to stand
 * aside), and the sqlite3 shell (no libspool: the triggers count). A
 * change outside a transaction in spoold's connection, which nothing
 * would count, is refused.
 */
static void
test_counts_stay_exact_beside_other_writers(void **state)
{
	struct spool_error err;
	struct store s, ctl;
	sqlite3 *sh;
	int64_t ids[6], next;
	int i;

	(void)state;
	if (!accepting_possible())
		skip();
	assert_int_equal(store_open_with(&s, db, STORE_CREATE |
	    STORE_ACCEPTING, handler_components, &err), 0);
	assert_int_equal(store_open_with(&ctl, db, 0, handler_components,
	    &err), 0);
	assert_int_equal(sqlite3_open(db, &sh), SQLITE_OK);
	sqlite3_busy_timeout(sh, 5000);

	/* spoold accepts six and processes three */
	assert_int_equal(store_begin(&s, &err), 0);
	assert_int_equal(store_next_message_id(&s, &next, &err), 0);
	for (i = 0; i < 6; i++)
		assert_int_equal(insert(&s, i < 4 ? "acme" : "globex",
		    next + i, &ids[i], &err), 0);
	assert_int_equal(store_mark_done(&s, ids[0], &err), 0);
	assert_int_equal(store_mark_done(&s, ids[4], &err), 0);
	assert_int_equal(store_mark_deferred(&s, ids[1], 1, "busy", &err), 0);
	assert_int_equal(store_commit(&s, &err), 0);
	assert_state_counts_exact(s.db);
	assert_int_equal(event(s.db, "accepted"), 6);
	assert_int_equal(event(s.db, "processed"), 2);
	assert_int_equal(event(s.db, "deferred"), 1);

	/* outside a transaction: refused, not lost */
	assert_int_equal(store_mark_done(&s, ids[2], &err), -1);
	assert_int_equal(query_int64(s.db, "SELECT count(*) FROM messages "
	    "WHERE state = 'done'"), 2);

	/* spoolctl retries one and fails another */
	assert_int_equal(store_begin(&ctl, &err), 0);
	assert_int_equal(store_mark_queued(&ctl, ids[1], &err), 0);
	assert_int_equal(store_mark_failed(&ctl, ids[2], "by hand", &err), 0);
	assert_int_equal(insert(&ctl, "acme", 0, &(int64_t){0}, &err), 0);
	assert_int_equal(store_commit(&ctl, &err), 0);
	assert_int_equal(query_int64(s.db, "SELECT count(*) FROM stats_own"),
	    0);
	assert_state_counts_exact(s.db);
	assert_int_equal(event(s.db, "accepted"), 7);
	assert_int_equal(event(s.db, "failed"), 1);

	/* the shell: the triggers count it */
	assert_int_equal(sqlite3_exec(sh, "UPDATE messages SET state = "
	    "'done', updated_at = received_at WHERE state = 'queue' AND "
	    "partner = 'globex'", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(sh, "INSERT INTO messages (partner, "
	    "orig_name, file_name, state, received_at, updated_at) VALUES "
	    "('acme', 'x', 'x', 'queue', 1, 1)", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_state_counts_exact(s.db);
	assert_int_equal(event(s.db, "accepted"), 8);
	assert_int_equal(event(s.db, "processed"), 3);

	/* spoold again, and a purge in its connection */
	assert_int_equal(store_begin(&s, &err), 0);
	assert_int_equal(store_mark_done(&s, ids[1], &err), 0);
	assert_int_equal(store_mark_done(&s, ids[3], &err), 0);
	assert_int_equal(store_commit(&s, &err), 0);
	purge(&s, ids[0]);
	assert_state_counts_exact(s.db);
	assert_int_equal(event(s.db, "processed"), 5);
	assert_int_equal(event(s.db, "accepted"), 8);
	assert_int_equal(query_int64(s.db, "SELECT sum(n) FROM "
	    "stats_latency"), 5);

	/*
	 * Accepted and applied in one transaction, as a ready message is,
	 * with a message's savepoint rolled back (its handler failed) and
	 * one deleted after it was changed: still what the rows say.
	 */
	assert_int_equal(store_begin(&s, &err), 0);
	assert_int_equal(store_next_message_id(&s, &next, &err), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(insert(&s, "acme", next + i, &ids[i], &err),
		    0);
	assert_int_equal(store_savepoint(&s, "m", &err), 0);
	assert_int_equal(store_mark_done(&s, ids[0], &err), 0);
	assert_int_equal(store_release(&s, "m", &err), 0);
	assert_int_equal(store_savepoint(&s, "m", &err), 0);
	assert_int_equal(store_mark_done(&s, ids[1], &err), 0);
	assert_int_equal(store_rollback_to(&s, "m", &err), 0);
	assert_int_equal(store_release(&s, "m", &err), 0);
	assert_int_equal(store_mark_failed(&s, ids[1], "handler", &err), 0);
	assert_int_equal(store_savepoint(&s, "m", &err), 0);
	assert_int_equal(insert(&s, "acme", next + 4, &ids[4], &err), 0);
	assert_int_equal(store_rollback_to(&s, "m", &err), 0);
	assert_int_equal(store_release(&s, "m", &err), 0);
	/* ID next + 4 was never committed: taken again here */
	assert_int_equal(insert(&s, "globex", next + 4, &ids[4], &err), 0);
	assert_int_equal(store_mark_deferred(&s, ids[4], 1, NULL, &err), 0);
	assert_int_equal(store_mark_done(&s, ids[2], &err), 0);
	{
		char q[96];

		snprintf(q, sizeof(q), "DELETE FROM messages WHERE id = %lld",
		    (long long)ids[3]);
		assert_int_equal(store_exec(&s, q, &err), 0);
	}
	assert_int_equal(store_mark_done(&s, ids[3], &err), 0);
	assert_int_equal(store_commit(&s, &err), 0);
	assert_state_counts_exact(s.db);
	assert_int_equal(event(s.db, "accepted"), 13);
	assert_int_equal(event(s.db, "processed"), 7);
	assert_int_equal(event(s.db, "failed"), 2);
	assert_int_equal(event(s.db, "deferred"), 2);
	assert_int_equal(query_int64(s.db, "SELECT sum(n) FROM "
	    "stats_latency"), 7);

	sqlite3_close(sh);
	store_close(&ctl);
	store_close(&s);
}

/*
 * SQLite's memory is counted by store_mem.c (no global mutex per
 * malloc): the peak spoold's exit line reports is still there.
 */
static void
test_sqlite_memory_peak_is_counted(void **state)
{
	struct spool_error err;
	struct store s;
	sqlite3_int64 peak = 0;
	int64_t id, before;
	int i;

	(void)state;
	assert_int_equal(store_open(&s, db, STORE_CREATE, &err), 0);
	assert_true(store_mem_ours(&peak));
	assert_true(peak > 0);
	before = store_mem_peak();
	assert_int_equal(store_begin(&s, &err), 0);
	for (i = 0; i < 2000; i++)
		assert_int_equal(insert(&s, "acme", 0, &id, &err), 0);
	assert_int_equal(store_commit(&s, &err), 0);
	/* the page cache grew: so did the peak */
	assert_true(store_mem_peak() > before);
	assert_true(store_mem_peak() < 64 * 1024 * 1024);
	store_close(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* first: the peak is the process's */
		cmocka_unit_test_setup_teardown(
		    test_sqlite_memory_peak_is_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_state_check_builds_no_ephemeral_table, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_accepting_connection_runs_no_check_or_count_trigger,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_accepting_connection_never_reuses_an_id, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_counts_stay_exact_beside_other_writers, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
