/*
 * store_triggers.c - spoold's own connection runs without the triggers
 * it does not need (issue 20, item 4).
 *
 * Three triggers on messages fire for every INSERT and every change of
 * state, in every connection: messages_id_new (refuse an ID at or below
 * id_floor: IDs are never given out twice) and stats_msg_new and
 * stats_msg_state (what /metrics reads: they stand aside while stats_own
 * has a row, store_count.c). In spoold's connection (STORE_ACCEPTING)
 * none of them has anything to do: libspool hands out the IDs itself,
 * above max(max(id), id_floor), inside the write transaction, and
 * checks each one given before its INSERT (store_count_insert()), and
 * it counts every change in C. Yet each still cost a trigger frame, a
 * lookup, and -- a trigger that may RAISE -- a statement journal for
 * every INSERT: about a tenth of what a ready message cost the store.
 *
 * SQLite cannot switch off one trigger for one connection, but it can
 * switch off every trigger of the main schema for one connection while
 * TEMP triggers (the connection's own) still fire
 * (SQLITE_DBCONFIG_ENABLE_TRIGGER, SQLite 3.35 and later). So spoold's
 * connection switches them off and makes a TEMP copy of every trigger
 * of the main schema but those three, from its text in sqlite_schema:
 * the floor raised by each deletion (messages_id_gone, batches_...,
 * outbound_...), the count lowered (stats_msg_gone), the handlers'
 * guards (orders, exec calls), and whatever a later migration adds.
 * Every other connection -- spoolctl, the sqlite3 shell, an older
 * program -- is unchanged and runs them all: the shell is still refused
 * an ID given out before and still counted.
 *
 * The copies are made at open, after the migrations. When another
 * connection changes the schema later (a newer spoolctl migrating the
 * store while spoold runs), store_begin() sees a new schema_version and
 * copies again inside its write transaction, before any statement of
 * its own. A trigger whose copy cannot be made (its text not what
 * SQLite writes) makes the whole connection fall back to the main
 * schema's triggers: slower, never wrong. SQLite before 3.35 would
 * switch the TEMP copies off too: there the connection keeps the main
 * schema's triggers, and libspool counts as any other connection does
 * (stats_own).
 *
 * Crash safety: TEMP triggers live in the connection's memory only; a
 * crash leaves nothing behind, and the next open makes them again.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store.h"

/* Done in C in spoold's connection (store_count.c). */
static const char *const in_c[] = {
	"messages_id_new", "stats_msg_new", "stats_msg_state", NULL
};

#define TRIGGER_PREFIX	"CREATE TRIGGER "

static bool
done_in_c(const char *name)
{
	size_t i;

	for (i = 0; in_c[i] != NULL; i++)
		if (strcmp(in_c[i], name) == 0)
			return true;
	return false;
}

static int
schema_version(struct store *s, int *v, struct spool_error *err)
{
	sqlite3_stmt *st;
	int64_t x;

	if ((st = store_prepare(s, &s->trig_sv, "PRAGMA main.schema_version",
	    err)) == NULL || store_row_int64(s, st, &x, err) == -1)
		return -1;
	*v = (int)x;
	return 0;
}

/* Drop every TEMP trigger (ours: nothing else makes any). */
static int
drop_copies(struct store *s, struct spool_error *err)
{
	sqlite3_stmt *st = NULL;
	char *q;
	int rc;

	for (;;) {
		if (store_prepare(s, &st, "SELECT name FROM temp.sqlite_schema "
		    "WHERE type = 'trigger' LIMIT 1", err) == NULL)
			return -1;
		if ((rc = store_row(s, st, err)) != 1) {
			sqlite3_finalize(st);
			return rc;
		}
		q = sqlite3_mprintf("DROP TRIGGER temp.\"%w\"",
		    (const char *)sqlite3_column_text(st, 0));
		sqlite3_reset(st);
		if (q == NULL) {
			sqlite3_finalize(st);
			spool_seterr(err, "out of memory");
			return -1;
		}
		rc = store_exec(s, q, err);
		sqlite3_free(q);
		if (rc == -1) {
			sqlite3_finalize(st);
			return -1;
		}
	}
}

/* A TEMP copy of every trigger of the main schema but those done in C. */
static int
copy_triggers(struct store *s, struct spool_error *err)
{
	sqlite3_stmt *st = NULL;
	const char *name, *sql;
	char *q;
	int rc;

	if (drop_copies(s, err) == -1)
		return -1;
	if (store_prepare(s, &st, "SELECT name, sql FROM main.sqlite_schema "
	    "WHERE type = 'trigger'", err) == NULL)
		return -1;
	while ((rc = store_row(s, st, err)) == 1) {
		name = (const char *)sqlite3_column_text(st, 0);
		sql = (const char *)sqlite3_column_text(st, 1);
		if (name == NULL || done_in_c(name))
			continue;
		if (sql == NULL || sqlite3_strnicmp(sql, TRIGGER_PREFIX,
		    strlen(TRIGGER_PREFIX)) != 0) {
			spool_seterr(err, "%s: trigger %s cannot be copied",
			    s->path, name);
			rc = -1;
			break;
		}
		if ((q = sqlite3_mprintf("CREATE TEMP TRIGGER %s",
		    sql + strlen(TRIGGER_PREFIX))) == NULL) {
			spool_seterr(err, "out of memory");
			rc = -1;
			break;
		}
		rc = store_exec(s, q, err);
		sqlite3_free(q);
		if (rc == -1)
			break;
	}
	sqlite3_finalize(st);
	if (rc == -1)
		return -1;
	return schema_version(s, &s->trig_schema, err);
}

static void
triggers_on(struct store *s)
{
	int on;

	(void)drop_copies(s, NULL);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 1, &on);
	s->ctrig = false;
}

int
store_triggers_own(struct store *s, struct spool_error *err)
{
	int off = 1;

	/* Before 3.35 the switch takes the TEMP triggers too. */
	if (sqlite3_libversion_number() < 3035000)
		return 0;
	if (sqlite3_db_config(s->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0,
	    &off) != SQLITE_OK || off != 0) {
		triggers_on(s);
		return 0;
	}
	if (copy_triggers(s, err) == -1 || store_count_own(s, err) == -1) {
		triggers_on(s);
		return -1;
	}
	s->ctrig = true;
	return 1;
}

void
store_triggers_main(struct store *s)
{
	if (s->ctrig)
		triggers_on(s);
}

int
store_triggers_check(struct store *s, struct spool_error *err)
{
	int v;

	if (!s->ctrig)
		return 0;
	if (schema_version(s, &v, err) == -1)
		return -1;
	if (v == s->trig_schema)
		return 0;
	/* Copied in this transaction: a rollback takes the copies back
	 * (store_rollback() forgets trig_schema then). */
	s->trig_in_tx = true;
	return copy_triggers(s, err);
}
