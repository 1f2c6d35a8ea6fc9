/*
 * store_schema.c - the store's schema, as forward migrations.
 *
 * migrations[i] takes a store from version i to version i+1. A released
 * migration is never edited; a change is a new step at the end. Each step
 * runs inside the one transaction that store_migrate() opens, so a store
 * is always at exactly one version.
 *
 * IDs are never given out twice, whatever is purged (DESIGN 3). The IDs
 * that users and programs see -- messages (SPOOLD_MESSAGE_ID, the exec
 * handler's idempotency key; an exec call is named by its message and
 * attempt), batches, outbound messages (their ID is in the document we
 * send) -- are rowids, and SQLite gives a new row max(rowid) + 1: once
 * the newest rows are deleted, their IDs come back. AUTOINCREMENT would
 * stop that, but SQLite cannot add it to a table: the tables would have
 * to be rebuilt, which means copying every message inside the migration
 * (minutes for a big spool, at start-up) and redoing by hand every index,
 * trigger, view and foreign key that names them, with foreign keys that
 * cannot be switched off inside the migration's transaction. Migration 9
 * instead keeps, per table, a floor: id_floor.id, at or below which no
 * new row may have an ID. A trigger raises it to the ID of every row
 * deleted, so a purge (or any later deletion) costs one small UPDATE per
 * row, and inserting costs nothing but a check; the store's inserts name
 * the ID themselves, max(max(id), floor) + 1 (STORE_NEXT_ID in store.h).
 * A second trigger refuses any insert at or below the floor, so that a
 * new insert that forgets this fails loudly rather than hands out an ID
 * again. The floor starts at the highest ID the old store can still
 * show: its rows, the rows that still name a message deleted behind its
 * back (the sqlite3 shell checks no foreign keys), and the entries of a
 * bundle after the last one whose message is left (a bundle's messages
 * take consecutive IDs, one per entry not skipped). A purged message
 * that left no such trace was the newest and is not known: its ID may
 * come back once, for stores purged before this migration only.
 *
 * Handler modules keep their own tables as components (struct
 * store_component, store.h), migrated after these steps: steps 2, 3, 5
 * and 8 no longer create the ledger's, the exec calls' and the orders'
 * tables and indexes, and step 9 no longer reads them; a handler's
 * first migration adopts the tables a store already has and raises
 * id_floor to every message and outbound ID its rows name, so the rule
 * holds for stores that reach step 9 only now. (A store past step 9 had
 * its floor seeded from them then.)
 */
#include "config.h"

#include <stddef.h>

#include "store.h"

static const char *migrations[] = {
	/* 1: messages, transactions, attempts, the daemon's presence. */
	"CREATE TABLE messages ("
	"  id INTEGER PRIMARY KEY,"
	"  partner TEXT NOT NULL,"
	"  orig_name TEXT NOT NULL,"
	"  file_name TEXT NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('queue', 'parked',"
	"    'deferred', 'failed', 'rejected', 'done')),"
	"  type TEXT,"
	"  message_id TEXT,"
	"  sender TEXT,"
	"  recipient TEXT,"
	"  transaction_id TEXT,"
	"  sender_seq INTEGER,"
	"  receiver_seq INTEGER,"
	"  stale INTEGER NOT NULL DEFAULT 0,"
	"  sha256 BLOB,"
	"  size INTEGER NOT NULL DEFAULT 0,"
	"  duplicate_of INTEGER REFERENCES messages(id),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt_at INTEGER,"
	"  reason TEXT,"
	"  received_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL"
	");"
	"CREATE UNIQUE INDEX messages_tx_seq ON messages"
	"  (partner, transaction_id, sender_seq)"
	"  WHERE transaction_id IS NOT NULL AND duplicate_of IS NULL"
	"  AND state <> 'rejected';"
	"CREATE UNIQUE INDEX messages_msgid ON messages (partner, message_id)"
	"  WHERE transaction_id IS NULL AND message_id IS NOT NULL"
	"  AND duplicate_of IS NULL AND state <> 'rejected';"
	"CREATE INDEX messages_sha256 ON messages (partner, sha256)"
	"  WHERE transaction_id IS NULL AND message_id IS NULL;"
	"CREATE INDEX messages_upload ON messages (partner, orig_name);"
	"CREATE INDEX messages_state ON messages (state, next_attempt_at);"
	"CREATE TABLE transactions ("
	"  partner TEXT NOT NULL,"
	"  transaction_id TEXT NOT NULL,"
	"  next_seq INTEGER NOT NULL DEFAULT 1,"
	"  out_seq INTEGER NOT NULL DEFAULT 0,"
	"  gap_since INTEGER,"
	"  gap_alerted INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (partner, transaction_id)"
	") WITHOUT ROWID;"
	"CREATE TABLE attempts ("
	"  message INTEGER NOT NULL REFERENCES messages(id),"
	"  attempt INTEGER NOT NULL,"
	"  started_at INTEGER NOT NULL,"
	"  finished_at INTEGER,"
	"  outcome TEXT CHECK (outcome IN ('ok', 'temporary', 'permanent')),"
	"  error TEXT,"
	"  PRIMARY KEY (message, attempt)"
	") WITHOUT ROWID;"
	"CREATE TABLE skips ("
	"  partner TEXT NOT NULL,"
	"  transaction_id TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  reason TEXT NOT NULL,"
	"  user TEXT NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  PRIMARY KEY (partner, transaction_id, seq)"
	") WITHOUT ROWID;"
	"CREATE TABLE daemon ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  pid INTEGER NOT NULL,"
	"  started_at INTEGER NOT NULL,"
	"  version TEXT NOT NULL"
	");",

	/*
	 * 2: (the ledger handler's books: since issue 15 they are the ledger
	 * component's migration 1, handlers/ledger.c, which adopts them in a
	 * store that has them.)
	 */
	"",

	/*
	 * 3: (calls of external programs: since issue 15 the exec
	 * component's migration 1, handlers/exec_store.c, which adopts them
	 * in a store that has them.)
	 */
	"",

	/*
	 * 4: spoolctl retry gives a message a fresh set of attempts without
	 * forgetting the old ones: retry_base is the attempt count at the
	 * retry, and max_attempts counts from there.
	 */
	"ALTER TABLE messages ADD COLUMN retry_base INTEGER NOT NULL"
	"  DEFAULT 0;"
	/* Open gaps, for gap_alert_after, found without a scan. */
	"CREATE INDEX transactions_gap ON transactions (gap_since)"
	"  WHERE gap_since IS NOT NULL;",

	/*
	 * 5: outbound messages (and, before issue 15, the orders handler's
	 * tables: now the orders component's migration 1, see
	 * handlers/order_store.c).
	 *
	 * outbound holds each message spoold sends, complete, recorded in
	 * the transaction of the message that caused it; written_at stays
	 * NULL until its file is in outgoing/<partner>/.
	 */
	"CREATE TABLE outbound ("
	"  id INTEGER PRIMARY KEY,"
	"  partner TEXT NOT NULL,"
	"  transaction_id TEXT,"
	"  sender_seq INTEGER,"
	"  receiver_seq INTEGER,"
	"  type TEXT NOT NULL,"
	"  cause INTEGER REFERENCES messages(id),"
	"  file_name TEXT NOT NULL UNIQUE,"
	"  content BLOB NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  written_at INTEGER"
	");"
	"CREATE INDEX outbound_unwritten ON outbound (id)"
	"  WHERE written_at IS NULL;"
	"CREATE INDEX outbound_tx ON outbound (partner, transaction_id);",

	/*
	 * 6: bundles (DESIGN 9). A batch is one bundle file: its fate
	 * ('done': read whole, its entries decided; 'rejected': refused
	 * whole, no entry accepted) and the name it has in done/ or
	 * rejected/. Each entry's fate is kept, with the message it became;
	 * messages.batch ties a message to the bundle it came in.
	 */
	"CREATE TABLE batches ("
	"  id INTEGER PRIMARY KEY,"
	"  partner TEXT NOT NULL,"
	"  orig_name TEXT NOT NULL,"
	"  file_name TEXT NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('done', 'rejected')),"
	"  sha256 BLOB,"
	"  size INTEGER NOT NULL DEFAULT 0,"
	"  entries INTEGER NOT NULL DEFAULT 0,"
	"  reason TEXT,"
	"  received_at INTEGER NOT NULL"
	");"
	"CREATE INDEX batches_upload ON batches (partner, orig_name);"
	"CREATE TABLE batch_entries ("
	"  batch INTEGER NOT NULL REFERENCES batches(id),"
	"  idx INTEGER NOT NULL,"
	"  name TEXT NOT NULL,"
	"  fate TEXT NOT NULL CHECK (fate IN ('accepted', 'duplicate',"
	"    'rejected', 'skipped')),"
	"  reason TEXT,"
	"  message INTEGER REFERENCES messages(id),"
	"  PRIMARY KEY (batch, idx)"
	") WITHOUT ROWID;"
	"ALTER TABLE messages ADD COLUMN batch INTEGER REFERENCES batches(id);"
	"CREATE INDEX messages_batch ON messages (batch)"
	"  WHERE batch IS NOT NULL;",

	/*
	 * 7: the uniqueness indexes no longer read `state'. A partial
	 * index whose WHERE names a column is rewritten (and its
	 * uniqueness checked again) by every UPDATE of that column, and
	 * every message changes state two or three times. They only need
	 * to leave out messages refused at acceptance, whose state is
	 * 'rejected' from their INSERT on and never changes: that is now
	 * the column `rejected' (1 for them, 0 for all others), written
	 * once, by the INSERT.
	 */
	"ALTER TABLE messages ADD COLUMN rejected INTEGER NOT NULL DEFAULT 0;"
	"UPDATE messages SET rejected = 1 WHERE state = 'rejected';"
	"DROP INDEX messages_tx_seq;"
	"DROP INDEX messages_msgid;"
	"CREATE UNIQUE INDEX messages_tx_seq ON messages"
	"  (partner, transaction_id, sender_seq)"
	"  WHERE transaction_id IS NOT NULL AND duplicate_of IS NULL"
	"  AND rejected = 0;"
	"CREATE UNIQUE INDEX messages_msgid ON messages (partner, message_id)"
	"  WHERE transaction_id IS NULL AND message_id IS NOT NULL"
	"  AND duplicate_of IS NULL AND rejected = 0;",

	/*
	 * 8: an index on every column that refers to another row and had
	 * none. Deleting a message (spoolctl purge) makes SQLite look for
	 * rows that still refer to it; without an index each of those
	 * lookups read the whole table, so purging k messages of n cost
	 * k * n. Partial: most rows refer to nothing.
	 */
	"CREATE INDEX messages_duplicate_of ON messages (duplicate_of)"
	"  WHERE duplicate_of IS NOT NULL;"
	"CREATE INDEX outbound_cause ON outbound (cause)"
	"  WHERE cause IS NOT NULL;"
	"CREATE INDEX batch_entries_message ON batch_entries (message)"
	"  WHERE message IS NOT NULL;",

	/*
	 * 9: IDs are never given out twice (see the top of this file): a
	 * floor per table, raised by every deletion, checked by every
	 * insert, seeded from every trace of an ID the store has.
	 */
	"CREATE TABLE id_floor ("
	"  tbl TEXT PRIMARY KEY,"
	"  id INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"INSERT INTO id_floor (tbl, id) SELECT 'messages', max("
	"  coalesce((SELECT max(id) FROM messages), 0),"
	"  coalesce((SELECT max(duplicate_of) FROM messages"
	"    WHERE duplicate_of IS NOT NULL), 0),"
	"  coalesce((SELECT max(message) FROM attempts), 0),"
	"  coalesce((SELECT max(cause) FROM outbound"
	"    WHERE cause IS NOT NULL), 0),"
	"  coalesce((SELECT max(message) FROM batch_entries"
	"    WHERE message IS NOT NULL), 0),"
	"  coalesce((SELECT max(message + coalesce(later, 0)) FROM"
	"    (SELECT message, sum(fate <> 'skipped') OVER (PARTITION BY batch"
	"    ORDER BY idx ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)"
	"    AS later FROM batch_entries) WHERE message IS NOT NULL), 0));"
	"INSERT INTO id_floor (tbl, id) SELECT 'batches', max("
	"  coalesce((SELECT max(id) FROM batches), 0),"
	"  coalesce((SELECT max(batch) FROM messages"
	"    WHERE batch IS NOT NULL), 0),"
	"  coalesce((SELECT max(batch) FROM batch_entries), 0));"
	"INSERT INTO id_floor (tbl, id) SELECT 'outbound',"
	"  coalesce((SELECT max(id) FROM outbound), 0);"
	"CREATE TRIGGER messages_id_gone AFTER DELETE ON messages BEGIN"
	"  UPDATE id_floor SET id = OLD.id WHERE tbl = 'messages'"
	"  AND id < OLD.id; END;"
	"CREATE TRIGGER messages_id_new AFTER INSERT ON messages"
	"  WHEN NEW.id <= (SELECT id FROM id_floor WHERE tbl = 'messages')"
	"  BEGIN SELECT RAISE(ABORT, 'message ID given out before: IDs are"
	"  never reused'); END;"
	"CREATE TRIGGER batches_id_gone AFTER DELETE ON batches BEGIN"
	"  UPDATE id_floor SET id = OLD.id WHERE tbl = 'batches'"
	"  AND id < OLD.id; END;"
	"CREATE TRIGGER batches_id_new AFTER INSERT ON batches"
	"  WHEN NEW.id <= (SELECT id FROM id_floor WHERE tbl = 'batches')"
	"  BEGIN SELECT RAISE(ABORT, 'batch ID given out before: IDs are"
	"  never reused'); END;"
	"CREATE TRIGGER outbound_id_gone AFTER DELETE ON outbound BEGIN"
	"  UPDATE id_floor SET id = OLD.id WHERE tbl = 'outbound'"
	"  AND id < OLD.id; END;"
	"CREATE TRIGGER outbound_id_new AFTER INSERT ON outbound"
	"  WHEN NEW.id <= (SELECT id FROM id_floor WHERE tbl = 'outbound')"
	"  BEGIN SELECT RAISE(ABORT, 'outbound ID given out before: IDs are"
	"  never reused'); END;",

	/*
	 * 10: a message whose handler runs outside (an external call)
	 * waits for its outcome: waiting is 1 from the commit of the cycle
	 * that started the call until cycle_complete() records the
	 * outcome. The cycle, retry and the deferred timer leave it alone
	 * meanwhile; what the call is, is the handler's own (its component
	 * adopts the calls a store had pending before this step).
	 */
	"ALTER TABLE messages ADD COLUMN waiting INTEGER NOT NULL DEFAULT 0;",

	/*
	 * 11: retention (DESIGN 18): a done message that the books (ledger,
	 * orders, outbound) still name cannot be deleted; purge removes its
	 * file and keeps the row, slimmed, with purged_at set. Such a row
	 * keeps its keys and digest, so a redelivery is still a duplicate.
	 */
	"ALTER TABLE messages ADD COLUMN purged_at INTEGER;",
	/*
	 * 12: tombstones (DESIGN 18): the keys, digest and fate of a message
	 * whose row was purged, kept for dedup_window so that a redelivery
	 * after the purge is still a duplicate. id is the purged message's.
	 */
	"CREATE TABLE tombstones ("
	"  id INTEGER PRIMARY KEY,"
	"  partner TEXT NOT NULL,"
	"  transaction_id TEXT,"
	"  sender_seq INTEGER,"
	"  message_id TEXT,"
	"  sha256 BLOB,"
	"  type TEXT,"
	"  fate TEXT NOT NULL,"
	"  purged_at INTEGER NOT NULL"
	");"
	"CREATE INDEX tombstones_tx ON tombstones"
	"  (partner, transaction_id, sender_seq)"
	"  WHERE transaction_id IS NOT NULL;"
	"CREATE INDEX tombstones_msgid ON tombstones (partner, message_id)"
	"  WHERE transaction_id IS NULL AND message_id IS NOT NULL;"
	"CREATE INDEX tombstones_sha256 ON tombstones (partner, sha256)"
	"  WHERE transaction_id IS NULL AND message_id IS NULL;"
	"CREATE INDEX tombstones_purged ON tombstones (purged_at);",
	/*
	 * 13: dialects (DESIGN 15): the dialect that read a message (NULL
	 * for rows from before: native), whether it came in a test
	 * interchange, and the business transaction a dialect with order
	 * = none names (shown, never ordered by). A message_id is a
	 * reference per partner and qualified type (DESIGN 5 and 15).
	 */
	"ALTER TABLE messages ADD COLUMN dialect TEXT;"
	"ALTER TABLE messages ADD COLUMN test INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE messages ADD COLUMN reference TEXT;"
	/* A message_id is unique per partner and qualified type. */
	"DROP INDEX messages_msgid;"
	"CREATE UNIQUE INDEX messages_msgid ON messages"
	"  (partner, type, message_id)"
	"  WHERE transaction_id IS NULL AND message_id IS NOT NULL"
	"  AND duplicate_of IS NULL AND rejected = 0;"
	"CREATE INDEX messages_msgid_tx ON messages"
	"  (partner, type, message_id)"
	"  WHERE transaction_id IS NOT NULL AND message_id IS NOT NULL"
	"  AND duplicate_of IS NULL AND rejected = 0;",
};

int
store_schema_version(void)
{
	return (int)(sizeof(migrations) / sizeof(migrations[0]));
}

const char *
store_migration(int to_version)
{
	if (to_version < 1 || to_version > store_schema_version())
		return NULL;
	return migrations[to_version - 1];
}
