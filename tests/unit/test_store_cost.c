/*
 * test_store_cost.c - what one message costs the store (issue 20, item
 * 4), and that the cuts keep every promise: the CHECKs on a message's
 * state build no ephemeral table and still refuse a state that is none.
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

#include "spooldir.h"
#include "store.h"

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_state_check_builds_no_ephemeral_table, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
