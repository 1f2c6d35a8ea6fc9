/*
 * test_store.c - the store: creation, settings, migrations, refusals.
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
#include "store_batch.h"
#include "store_outbound.h"
#include "store_summary.h"

static char dir[64], db[96];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_store.XXXXXX");
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

static int
query_int(struct store *s, const char *sql)
{
	sqlite3_stmt *st;
	int v = -1;

	assert_int_equal(sqlite3_prepare_v2(s->db, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
test_new_store_is_wal_full_sync_at_current_version(void **state)
{
	struct spool_error err;
	struct store s;
	sqlite3_stmt *st;

	(void)state;
	assert_int_equal(store_open(&s, db, STORE_CREATE, &err), 0);
	assert_int_equal(s.version, store_schema_version());
	assert_int_equal(query_int(&s, "PRAGMA user_version"),
	    store_schema_version());
	assert_int_equal(query_int(&s, "PRAGMA synchronous"), 2);  /* FULL */
	assert_int_equal(query_int(&s, "PRAGMA foreign_keys"), 1);
	assert_int_equal(query_int(&s, "PRAGMA wal_autocheckpoint"), 8192);
	assert_int_equal(query_int(&s, "PRAGMA temp_store"), 2);  /* MEMORY */
	assert_int_equal(sqlite3_prepare_v2(s.db, "PRAGMA journal_mode", -1,
	    &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	assert_int_equal(query_int(&s,
	    "SELECT count(*) FROM sqlite_master WHERE name = 'messages'"), 1);
	store_close(&s);
}

/* Recording an entry of a bundle or interchange builds no ephemeral
 * table (an IN list in a CHECK did, for every INSERT). */
static void
test_batch_entry_insert_builds_no_ephemeral_table(void **state)
{
	struct spool_error err;
	struct store s;
	sqlite3_stmt *st;
	int n = 0;

	(void)state;
	assert_int_equal(store_open(&s, db, STORE_CREATE, &err), 0);
	assert_int_equal(sqlite3_prepare_v2(s.db, "EXPLAIN INSERT INTO "
	    "batch_entries (batch, idx, name, fate, reason, message) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		if (strcmp((const char *)sqlite3_column_text(st, 1),
		    "OpenEphemeral") == 0)
			n++;
	sqlite3_finalize(st);
	assert_int_equal(n, 0);
	store_close(&s);
}

static void
test_missing_store_is_not_created_without_flag(void **state)
{
	struct spool_error err;
	struct store s;

	(void)state;
	assert_int_equal(store_open(&s, db, 0, &err), -1);
	assert_non_null(strstr(err.msg, "spoold --init"));
	assert_int_equal(access(db, F_OK), -1);
}

static void
test_migrations_from_every_earlier_version(void **state)
{
	struct spool_error err;
	struct store s;
	int v;

	(void)state;
	for (v = 0; v < store_schema_version(); v++) {
		unlink(db);
		/* build a store at version v */
		assert_int_equal(store_open(&s, db, STORE_CREATE |
		    STORE_READONLY, &err), 0);
		assert_int_equal(s.version, 0);
		assert_int_equal(store_migrate(&s, v, &err), 0);
		assert_int_equal(query_int(&s, "PRAGMA user_version"), v);
		store_close(&s);
		/* opening it migrates to the current version */
		assert_int_equal(store_open(&s, db, 0, &err), 0);
		assert_int_equal(s.version, store_schema_version());
		assert_int_equal(query_int(&s, "PRAGMA user_version"),
		    store_schema_version());
		store_close(&s);
	}
}

/*
 * Migration 7: a refused message keeps its transaction and sequence
 * number without taking them from a live one, before and after; the
 * `rejected' column is set from the state, by the migration for old rows
 * and by store_insert() for new ones.
 */
static void
test_refused_messages_stay_out_of_uniqueness(void **state)
{
	struct store_newmsg m;
	struct spool_error err;
	struct store s;
	int64_t id;

	(void)state;
	assert_int_equal(store_open(&s, db, STORE_CREATE | STORE_READONLY,
	    &err), 0);
	assert_int_equal(store_migrate(&s, 6, &err), 0);
	assert_int_equal(store_exec(&s, "INSERT INTO messages (partner, "
	    "orig_name, file_name, state, transaction_id, sender_seq, "
	    "received_at, updated_at) VALUES "
	    "('acme', 'a', 'a', 'rejected', 'T', 1, 1, 1), "
	    "('acme', 'b', 'b', 'parked', 'T', 1, 1, 1)", &err), 0);
	store_close(&s);
	assert_int_equal(store_open(&s, db, 0, &err), 0);
	assert_int_equal(query_int(&s, "SELECT rejected FROM messages "
	    "WHERE orig_name = 'a'"), 1);
	assert_int_equal(query_int(&s, "SELECT rejected FROM messages "
	    "WHERE orig_name = 'b'"), 0);

	memset(&m, 0, sizeof(m));
	m.partner = "acme";
	m.orig_name = "c";
	m.transaction_id = "T";
	m.sender_seq = 1;
	m.state = ST_REJECTED;
	assert_int_equal(store_insert(&s, &m, &id, &err), 0);
	assert_int_equal(query_int(&s, "SELECT rejected FROM messages "
	    "ORDER BY id DESC LIMIT 1"), 1);
	/* a second live T/1 is refused by the index ... */
	m.state = ST_QUEUE;
	assert_int_equal(store_insert(&s, &m, &id, &err), -1);
	assert_non_null(strstr(err.msg, "UNIQUE"));
	/* ... and a state change does not touch the refused ones */
	assert_int_equal(store_exec(&s, "UPDATE messages SET state = 'done' "
	    "WHERE state = 'parked'", &err), 0);
	assert_int_equal(query_int(&s, "SELECT count(*) FROM messages "
	    "WHERE rejected = 1 AND state = 'rejected'"), 2);
	store_close(&s);
}

/*
 * Every column that refers to another table leads an index, so that
 * deleting the row it refers to (purge) looks it up instead of reading
 * the whole table.
 */
static void
test_every_reference_is_indexed(void **state)
{
	struct spool_error err;
	struct store s;
	sqlite3_stmt *st;
	const unsigned char *missing;

	(void)state;
	assert_int_equal(store_open_with(&s, db, STORE_CREATE,
	    handler_components, &err), 0);
	assert_int_equal(sqlite3_prepare_v2(s.db, "SELECT group_concat("
	    "m.name || '.' || f.\"from\", ' ') FROM sqlite_schema m, "
	    "pragma_foreign_key_list(m.name) f WHERE m.type = 'table' AND "
	    "NOT EXISTS (SELECT 1 FROM pragma_index_list(m.name) il, "
	    "pragma_index_info(il.name) ii WHERE ii.seqno = 0 AND "
	    "ii.name = f.\"from\")", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	missing = sqlite3_column_text(st, 0);
	if (missing != NULL)
		fail_msg("references without an index: %s", missing);
	assert_int_equal(query_int(&s, "SELECT count(*) FROM sqlite_schema m,"
	    " pragma_foreign_key_list(m.name) f WHERE m.type = 'table'"), 12);
	sqlite3_finalize(st);
	store_close(&s);
}

/*
 * A handler's tables are its component's: a bare store has none, the
 * program's open makes them and records the version once; a store that
 * has them already (the previous release made them as libspool's) keeps
 * its rows, and the IDs those rows name stay below the floor.
 */
static void
test_components_adopt_tables_and_rows(void **state)
{
	struct spool_error err;
	struct store s;

	(void)state;
	assert_int_equal(store_open(&s, db, STORE_CREATE, &err), 0);
	assert_int_equal(query_int(&s, "SELECT count(*) FROM sqlite_master "
	    "WHERE name IN ('ledger_moves', 'order_revisions', 'v_orders')"),
	    0);
	store_close(&s);
	assert_int_equal(store_open_with(&s, db, 0, handler_components, &err),
	    0);
	assert_int_equal(store_component_version(&s, "ledger", &err), 1);
	assert_int_equal(store_component_version(&s, "orders", &err), 1);
	assert_int_equal(query_int(&s, "SELECT count(*) FROM sqlite_master "
	    "WHERE name IN ('ledger_moves', 'order_revisions', 'v_orders')"),
	    3);
	/* As a store of the last release: rows, no components yet. */
	assert_int_equal(store_exec(&s, "PRAGMA foreign_keys = OFF; "
	    "INSERT INTO ledger_moves (message, item, warehouse, quantity, at) "
	    "VALUES (40, 'i', 'w', 3, 1); INSERT INTO messages (id, partner, "
	    "orig_name, file_name, state, received_at, updated_at) VALUES "
	    "(30, 'acme', 'q', 'q', 'queue', 1, 1); INSERT INTO exec_calls "
	    "(message, attempt, status, started_at) VALUES (30, 1, 'pending', "
	    "1), (41, 1, 'valid', 1); DROP TABLE components", &err), 0);
	store_close(&s);
	assert_int_equal(store_open_with(&s, db, 0, handler_components, &err),
	    0);
	assert_int_equal(store_component_version(&s, "ledger", &err), 1);
	assert_int_equal(query_int(&s, "SELECT quantity FROM ledger_moves "
	    "WHERE message = 40"), 3);
	assert_int_equal(query_int(&s, "SELECT id FROM id_floor WHERE "
	    "tbl = 'messages'"), 41);
	/* a call pending in the old store: its message waits */
	assert_int_equal(query_int(&s, "SELECT waiting FROM messages WHERE "
	    "id = 30"), 1);
	store_close(&s);
}

static void
test_newer_component_is_refused(void **state)
{
	struct spool_error err;
	struct store s;

	(void)state;
	assert_int_equal(store_open_with(&s, db, STORE_CREATE,
	    handler_components, &err), 0);
	assert_int_equal(store_exec(&s, "UPDATE components SET version = 99 "
	    "WHERE name = 'orders'", &err), 0);
	store_close(&s);
	assert_int_equal(store_open_with(&s, db, 0, handler_components, &err),
	    -1);
	assert_int_equal(s.errclass, STORE_ERR_TOO_NEW);
	assert_non_null(strstr(err.msg, "orders"));
	/* A bare open does not look at components. */
	assert_int_equal(store_open(&s, db, 0, &err), 0);
	store_close(&s);
}

/* Record a message in state done, the store picking its ID. */
static int64_t
add_done(struct store *s)
{
	struct store_newmsg m;
	struct spool_error err;
	int64_t id = 0;

	memset(&m, 0, sizeof(m));
	m.partner = "acme";
	m.orig_name = "a.xml";
	m.file_name = "a.xml";
	m.state = ST_DONE;
	assert_int_equal(store_insert(s, &m, &id, &err), 0);
	assert_true(id > 0);
	return id;
}

/* spoolctl purge's way of removing one message. */
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

static int64_t
add_batch(struct store *s)
{
	struct store_batch b;
	struct spool_error err;
	int64_t id = 0;

	memset(&b, 0, sizeof(b));
	b.state = ST_DONE;
	b.partner = (char *)"acme";
	b.orig_name = (char *)"b.tar";
	b.file_name = (char *)"";
	assert_int_equal(store_batch_insert(s, &b, &id, &err), 0);
	return id;
}

static int64_t
add_outbound(struct store *s)
{
	struct store_outmsg o;
	struct spool_error err;
	char name[32];
	int64_t id = 0;

	assert_int_equal(store_out_next_id(s, &id, &err), 0);
	memset(&o, 0, sizeof(o));
	o.partner = "acme";
	o.type = "PurchaseOrderAck";
	snprintf(name, sizeof(name), "out-%lld.xml", (long long)id);
	o.file_name = name;
	o.content = "<x/>";
	o.len = 4;
	assert_int_equal(store_out_insert(s, id, &o, &err), 0);
	return id;
}

/*
 * DESIGN 3: IDs are never given out twice, whatever is purged. Purging
 * the newest messages (and deleting the newest batch or outbound
 * message) must not let their IDs come back, not even after the store
 * is closed and opened again. SPOOLD_MESSAGE_ID is an exec program's
 * idempotency key: a reused ID makes it skip a new message.
 */
static void
test_ids_are_never_given_out_twice_after_a_purge(void **state)
{
	struct spool_error err;
	struct store s;
	int64_t id, high, next;
	int i;

	(void)state;
	assert_int_equal(store_open_with(&s, db, STORE_CREATE,
	    handler_components, &err), 0);
	for (i = 0; i < 5; i++)
		high = add_done(&s);
	assert_int_equal(store_exec(&s, "INSERT INTO exec_calls (message, "
	    "attempt, status, started_at) SELECT id, 1, 'valid', 1 FROM "
	    "messages", &err), 0);
	/* the newest two go: their IDs stay taken */
	purge(&s, high);
	purge(&s, high - 1);
	assert_int_equal(store_next_message_id(&s, &next, &err), 0);
	assert_true(next > high);
	id = add_done(&s);
	assert_true(id > high);
	/* a new message inherits no exec call of a purged one */
	assert_int_equal(query_int(&s, "SELECT count(*) FROM exec_calls e "
	    "WHERE e.message NOT IN (SELECT id FROM messages) OR e.message = "
	    "(SELECT max(id) FROM messages)"), 0);
	high = id;
	purge(&s, high);
	store_close(&s);

	/* and after a restart */
	assert_int_equal(store_open(&s, db, 0, &err), 0);
	assert_int_equal(store_next_message_id(&s, &next, &err), 0);
	assert_true(next > high);
	id = add_done(&s);
	assert_true(id > high);
	/* a message given its ID by the caller: the same rule */
	purge(&s, id);
	assert_int_equal(store_exec(&s, "INSERT INTO messages (id, partner, "
	    "orig_name, file_name, state, received_at, updated_at) VALUES "
	    "((SELECT max(id) FROM messages) + 1, 'acme', 'x', 'x', 'done', "
	    "1, 1)", &err), -1);

	/* batches */
	(void)add_batch(&s);
	high = add_batch(&s);
	assert_int_equal(store_exec(&s, "DELETE FROM batches WHERE id = "
	    "(SELECT max(id) FROM batches)", &err), 0);
	assert_true(add_batch(&s) > high);

	/* outbound messages (their ID is in the document we send) */
	(void)add_outbound(&s);
	high = add_outbound(&s);
	assert_int_equal(store_exec(&s, "DELETE FROM outbound WHERE id = "
	    "(SELECT max(id) FROM outbound)", &err), 0);
	store_close(&s);
	assert_int_equal(store_open(&s, db, 0, &err), 0);
	assert_true(add_outbound(&s) > high);
	store_close(&s);
}

/*
 * DESIGN 15: a reference is unique per partner and qualified type. After
 * a purge the tombstone is looked up the same way: an edifact.INVOIC
 * that happens to carry the message_id of a purged edifact.ORDERS is
 * neither its duplicate nor a reuse of its reference.
 */
static void
test_tombstone_lookup_by_reference_honours_type(void **state)
{
	struct store_newmsg m;
	struct spool_error err;
	struct store s;
	uint8_t sha[32], got[32];
	int64_t id = 0, found = 0;

	(void)state;
	assert_int_equal(store_open_with(&s, db, STORE_CREATE,
	    handler_components, &err), 0);
	memset(sha, 0x5a, sizeof(sha));
	memset(&m, 0, sizeof(m));
	m.partner = "acme";
	m.orig_name = "o.edi";
	m.file_name = "o.edi";
	m.state = ST_DONE;
	m.type = "edifact.ORDERS";
	m.message_id = "ACME+42+1";
	m.sha256 = sha;
	assert_int_equal(store_insert(&s, &m, &id, &err), 0);
	purge(&s, id);
	assert_int_equal(query_int(&s, "SELECT count(*) FROM tombstones"), 1);
	assert_int_equal(store_find_purged(&s, "acme", NULL, 0, "ACME+42+1",
	    "edifact.ORDERS", sha, &found, got, &err), 1);
	assert_int_equal(found, id);
	assert_memory_equal(got, sha, 32);
	assert_int_equal(store_find_purged(&s, "acme", NULL, 0, "ACME+42+1",
	    "edifact.INVOIC", sha, &found, got, &err), 0);
	assert_int_equal(store_find_purged(&s, "acme", NULL, 0, "ACME+42+1",
	    NULL, sha, &found, got, &err), 0);
	assert_int_equal(store_find_purged(&s, "other", NULL, 0, "ACME+42+1",
	    "edifact.ORDERS", sha, &found, got, &err), 0);
	store_close(&s);
}

/*
 * A store written by the previous release (version 8) had no record of
 * the IDs it had given out. Migrating it keeps every ID it can still
 * know of taken: the rows there are, the later entries of a bundle
 * whose messages were purged (a bundle's messages take consecutive
 * IDs), and rows that still name a message deleted behind the store's
 * back (sqlite3 on the command line does not check foreign keys).
 */
static void
test_migration_keeps_ids_known_from_traces(void **state)
{
	static const char *stores[][2] = {
		/* plain: the newest rows are all there is */
		{ "INSERT INTO messages (id, partner, orig_name, file_name, "
		  "state, received_at, updated_at) VALUES "
		  "(1, 'acme', 'a', 'a', 'done', 1, 1), "
		  "(2, 'acme', 'b', 'b', 'failed', 1, 1)", "3" },
		/* a bundle: entries 0, 2, 3 were messages 3, 4, 5 (entry 1
		 * was skipped); 4 and 5 have been purged */
		{ "INSERT INTO batches (id, partner, orig_name, file_name, "
		  "state, received_at) VALUES (1, 'acme', 'b.tar', 'b.tar', "
		  "'done', 1);"
		  "INSERT INTO messages (id, partner, orig_name, file_name, "
		  "state, received_at, updated_at, batch) VALUES "
		  "(2, 'acme', 'a', 'a', 'failed', 1, 1, NULL), "
		  "(3, 'acme', 'e0', 'e0', 'failed', 1, 1, 1);"
		  "INSERT INTO batch_entries (batch, idx, name, fate, message) "
		  "VALUES (1, 0, 'e0', 'accepted', 3), "
		  "(1, 1, 'e1', 'skipped', NULL), "
		  "(1, 2, 'e2', 'accepted', NULL), "
		  "(1, 3, 'e3', 'duplicate', NULL)", "6" },
		/* message 7 deleted by hand, its attempts left behind */
		{ "INSERT INTO messages (id, partner, orig_name, file_name, "
		  "state, received_at, updated_at) VALUES "
		  "(1, 'acme', 'a', 'a', 'failed', 1, 1);"
		  "PRAGMA foreign_keys = OFF;"
		  "INSERT INTO attempts (message, attempt, started_at) VALUES "
		  "(7, 1, 1);"
		  /* the exec calls' table, as version 3 made it */
		  "CREATE TABLE exec_calls (message INTEGER NOT NULL "
		  "REFERENCES messages(id), attempt INTEGER NOT NULL, status "
		  "TEXT NOT NULL, started_at INTEGER NOT NULL, finished_at "
		  "INTEGER, exit_status INTEGER, error TEXT, PRIMARY KEY "
		  "(message, attempt)) WITHOUT ROWID;"
		  "INSERT INTO exec_calls (message, attempt, status, "
		  "started_at) VALUES (9, 1, 'valid', 1);"
		  "INSERT INTO outbound (id, partner, type, cause, file_name, "
		  "content, created_at) VALUES (4, 'acme', 'X', 5, 'o', '', 1)",
		  "10" },
	};
	struct spool_error err;
	struct store s;
	int64_t next;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(stores) / sizeof(stores[0]); i++) {
		unlink(db);
		assert_int_equal(store_open(&s, db, STORE_CREATE |
		    STORE_READONLY, &err), 0);
		assert_int_equal(store_migrate(&s, 8, &err), 0);
		if (store_exec(&s, stores[i][0], &err) == -1)
			fail_msg("store %zu: %s", i, err.msg);
		store_close(&s);
		assert_int_equal(store_open_with(&s, db, 0,
		    handler_components, &err), 0);
		assert_int_equal(s.version, store_schema_version());
		assert_int_equal(store_next_message_id(&s, &next, &err), 0);
		if (next != strtoll(stores[i][1], NULL, 10))
			fail_msg("store %zu: next message ID %lld, want %s", i,
			    (long long)next, stores[i][1]);
		assert_int_equal(add_done(&s), next);
		store_close(&s);
	}
}

static void
test_reopen_keeps_data(void **state)
{
	struct spool_error err;
	struct store s;

	(void)state;
	assert_int_equal(store_open(&s, db, STORE_CREATE, &err), 0);
	assert_int_equal(store_exec(&s, "INSERT INTO messages (partner, "
	    "orig_name, file_name, state, received_at, updated_at) VALUES "
	    "('acme', 'a.xml', 'x', 'queue', 1, 1)", &err), 0);
	store_close(&s);
	assert_int_equal(store_open(&s, db, STORE_CREATE, &err), 0);
	assert_int_equal(query_int(&s, "SELECT count(*) FROM messages"), 1);
	{
		int64_t counts[ST_NSTATES];

		assert_int_equal(store_state_counts(&s, counts, ST_NSTATES,
		    &err), 0);
		assert_int_equal(counts[ST_QUEUE], 1);
		assert_int_equal(counts[ST_DONE], 0);
	}
	store_close(&s);
}

static void
test_newer_store_is_refused(void **state)
{
	struct spool_error err;
	struct store s;
	char sql[64];

	(void)state;
	assert_int_equal(store_open(&s, db, STORE_CREATE, &err), 0);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    store_schema_version() + 1);
	assert_int_equal(store_exec(&s, sql, &err), 0);
	store_close(&s);
	assert_int_equal(store_open(&s, db, 0, &err), -1);
	assert_int_equal(s.errclass, STORE_ERR_TOO_NEW);
	assert_non_null(strstr(err.msg, "newer than this program"));
}

static void
test_non_database_is_refused(void **state)
{
	struct spool_error err;
	struct store s;
	FILE *fp;

	(void)state;
	assert_non_null(fp = fopen(db, "w"));
	fputs("this is not an SQLite database, just some text that is long "
	    "enough to look like a header of a file to the library\n", fp);
	fclose(fp);
	assert_int_equal(store_open(&s, db, 0, &err), -1);
	assert_int_equal(s.errclass, STORE_ERR_CORRUPT);
	assert_non_null(strstr(err.msg, "not a spoold store"));
}

static void
test_failed_migration_leaves_version_unchanged(void **state)
{
	struct spool_error err;
	struct store s;

	(void)state;
	assert_int_equal(store_open(&s, db, STORE_CREATE | STORE_READONLY,
	    &err), 0);
	/* a table in the way makes migration 1 fail */
	assert_int_equal(store_exec(&s, "CREATE TABLE messages (x)", &err), 0);
	assert_int_equal(store_migrate(&s, store_schema_version(), &err), -1);
	assert_non_null(strstr(err.msg, "migration to store version 1"));
	assert_int_equal(query_int(&s, "PRAGMA user_version"), 0);
	assert_int_equal(query_int(&s, "SELECT count(*) FROM sqlite_master "
	    "WHERE name = 'transactions'"), 0);
	store_close(&s);
}

struct series_seen {
	int64_t	 processed[8], failed[8];
};

static void
series_one(void *arg, int64_t idx, int64_t processed, int64_t failed)
{
	struct series_seen *s = arg;

	assert_true(idx >= 0 && idx < 8);
	s->processed[idx] = processed;
	s->failed[idx] = failed;
}

/*
 * /api/metrics/summary and time-series (store_summary.c): processed is
 * done and not a duplicate, by the time the row last changed; latency
 * is drop to done, sorted; steps count from `from'.
 */
static void
test_summary_counts_rates_latency_and_steps(void **state)
{
	struct series_seen seen;
	struct spool_error err;
	struct store s;
	int64_t p, f, *lat = NULL;
	size_t n = 0;
	char sql[256];
	int i;

	(void)state;
	assert_int_equal(store_open(&s, db, STORE_CREATE, &err), 0);
	/* Done at 1000 + 100 i (1100 .. 1500), received 10 i ms earlier
	 * (i = 1..5); a duplicate done at 1150, one failed at 1250, one
	 * queued. */
	for (i = 1; i <= 5; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO messages (partner, "
		    "orig_name, file_name, state, received_at, updated_at) "
		    "VALUES ('acme', 'm%d', 'm%d', 'done', %d, %d)", i, i,
		    1000 + 100 * i - 10 * i, 1000 + 100 * i);
		assert_int_equal(store_exec(&s, sql, &err), 0);
	}
	assert_int_equal(store_exec(&s, "INSERT INTO messages (partner, "
	    "orig_name, file_name, state, received_at, updated_at, "
	    "duplicate_of) VALUES ('acme', 'd', 'd', 'done', 1100, 1150, 1);"
	    "INSERT INTO messages (partner, orig_name, file_name, state, "
	    "received_at, updated_at) VALUES ('acme', 'f', 'f', 'failed', "
	    "1200, 1250), ('acme', 'q', 'q', 'queue', 1200, 1250)", &err), 0);

	assert_int_equal(store_summary_since(&s, 1250, &p, &f, &err), 0);
	assert_int_equal(p, 3);		/* 1300, 1400, 1500 */
	assert_int_equal(f, 1);
	assert_int_equal(store_summary_since(&s, 0, &p, &f, &err), 0);
	assert_int_equal(p, 5);
	assert_int_equal(f, 1);

	assert_int_equal(store_summary_latencies(&s, 0, &lat, &n, &err), 0);
	assert_int_equal(n, 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(lat[i], 10 * (i + 1));
	free(lat);

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_summary_series(&s, 1000, 200, series_one,
	    &seen, &err), 0);
	/* Steps [1000,1200) [1200,1400) [1400,1600). */
	assert_int_equal(seen.processed[0], 1);		/* 1100 */
	assert_int_equal(seen.failed[0], 0);
	assert_int_equal(seen.processed[1], 2);		/* 1200, 1300 */
	assert_int_equal(seen.failed[1], 1);		/* 1250 */
	assert_int_equal(seen.processed[2], 2);		/* 1400, 1500 */
	assert_int_equal(seen.processed[3], 0);
	store_close(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_new_store_is_wal_full_sync_at_current_version, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_batch_entry_insert_builds_no_ephemeral_table, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_missing_store_is_not_created_without_flag, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_migrations_from_every_earlier_version, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_refused_messages_stay_out_of_uniqueness, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_every_reference_is_indexed, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_components_adopt_tables_and_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_newer_component_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_ids_are_never_given_out_twice_after_a_purge, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_tombstone_lookup_by_reference_honours_type, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_migration_keeps_ids_known_from_traces, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_summary_counts_rates_latency_and_steps, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_newer_store_is_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_database_is_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_failed_migration_leaves_version_unchanged, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
