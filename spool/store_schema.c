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
 * again (spoold's own connection does that check in C instead, and
 * copies every other trigger as a TEMP one: store_triggers.c). The
 * floor starts at the highest ID the old store can still
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

/* The type a total names (migration 13): its own, '(other)', or ''. */
#define STATS_TYPE "coalesce((SELECT type FROM stats_types WHERE type = " \
	"NEW.type), CASE WHEN NEW.type IS NULL THEN '' ELSE '(other)' END)"

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
	 * 13: what /metrics reads (DESIGN 17), kept by triggers in the
	 * transaction of every change to messages, so that a scrape reads
	 * a few small tables instead of counting a million rows, and the
	 * totals survive restarts and purges.
	 *   stats_state   messages per (state, partner): +1 on INSERT, -1/+1
	 *                 on a change of state, -1 on DELETE.
	 *   stats_events  totals per (event, partner, type), never lowered:
	 *                 accepted (inserted not rejected, duplicates too),
	 *                 duplicate, rejected (inserted rejected, or changed
	 *                 to rejected), processed (to done with no reason:
	 *                 the handler's ok, not a skip), deferred, failed.
	 *   stats_types   the types the totals name, at most 1000 (the first
	 *                 seen); a later new type counts as '(other)', ''
	 *                 is none. Types are the partner's words: this bounds
	 *                 the table whatever a partner sends.
	 *   stats_le      the drop-to-done latency buckets' upper bounds (ms;
	 *                 0 is +Inf), and stats_latency their (partner,
	 *                 bucket) counts and sums (not cumulative), one
	 *                 observation per message processed.
	 * Seeded from what the store holds at this step (one pass each):
	 * counts exact, totals as far as the rows tell (a purged row's
	 * history is gone; tombstones count as accepted).
	 * messages_deferred finds the oldest deferred message by one seek.
	 * A later step that rebuilds messages (a new CHECK on state) drops
	 * these triggers and this index with the old table: it must create
	 * them again (tests/integration/metrics.sh fails otherwise).
	 */
	"CREATE TABLE stats_state ("
	"  state TEXT NOT NULL,"
	"  partner TEXT NOT NULL,"
	"  n INTEGER NOT NULL,"
	"  PRIMARY KEY (state, partner)"
	") WITHOUT ROWID;"
	"CREATE TABLE stats_types (type TEXT PRIMARY KEY) WITHOUT ROWID;"
	"CREATE TABLE stats_events ("
	"  event TEXT NOT NULL,"
	"  partner TEXT NOT NULL,"
	"  type TEXT NOT NULL,"
	"  n INTEGER NOT NULL,"
	"  PRIMARY KEY (event, partner, type)"
	") WITHOUT ROWID;"
	"CREATE TABLE stats_le (le INTEGER PRIMARY KEY);"
	"INSERT INTO stats_le (le) VALUES (10), (50), (100), (250), (500),"
	"  (1000), (2500), (5000), (10000), (30000), (60000), (300000),"
	"  (900000), (3600000), (21600000), (86400000);"
	"CREATE TABLE stats_latency ("
	"  partner TEXT NOT NULL,"
	"  le INTEGER NOT NULL,"
	"  n INTEGER NOT NULL,"
	"  sum_ms INTEGER NOT NULL,"
	"  PRIMARY KEY (partner, le)"
	") WITHOUT ROWID;"
	"CREATE INDEX messages_deferred ON messages (received_at)"
	"  WHERE state = 'deferred';"
	"INSERT INTO stats_state (state, partner, n)"
	"  SELECT state, partner, count(*) FROM messages GROUP BY 1, 2;"
	"INSERT OR IGNORE INTO stats_types (type)"
	"  SELECT DISTINCT type FROM (SELECT type FROM messages UNION ALL"
	"  SELECT type FROM tombstones) WHERE type IS NOT NULL LIMIT 1000;"
	"INSERT INTO stats_events (event, partner, type, n)"
	"  SELECT event, partner, t, count(*) FROM (SELECT CASE"
	"  WHEN m.state = 'rejected' THEN 'rejected' ELSE 'accepted' END AS"
	"  event, m.partner AS partner, CASE WHEN m.type IS NULL THEN ''"
	"  ELSE coalesce(k.type, '(other)') END AS t FROM messages m LEFT JOIN"
	"  stats_types k ON k.type = m.type"
	"  UNION ALL SELECT 'duplicate', m.partner, CASE WHEN m.type IS NULL"
	"  THEN '' ELSE coalesce(k.type, '(other)') END FROM messages m"
	"  LEFT JOIN stats_types k ON k.type = m.type"
	"  WHERE m.duplicate_of IS NOT NULL"
	"  UNION ALL SELECT CASE m.state WHEN 'done' THEN 'processed'"
	"  ELSE m.state END, m.partner, CASE WHEN m.type IS NULL THEN ''"
	"  ELSE coalesce(k.type, '(other)') END FROM messages m"
	"  LEFT JOIN stats_types k ON k.type = m.type"
	"  WHERE (m.state = 'done' AND m.reason IS NULL AND"
	"  m.duplicate_of IS NULL) OR m.state IN ('deferred', 'failed')"
	"  UNION ALL SELECT CASE WHEN t.fate = 'rejected' THEN 'rejected'"
	"  ELSE 'accepted' END, t.partner, CASE WHEN t.type IS NULL THEN ''"
	"  ELSE coalesce(k.type, '(other)') END FROM tombstones t"
	"  LEFT JOIN stats_types k ON k.type = t.type)"
	"  GROUP BY 1, 2, 3;"
	"INSERT INTO stats_latency (partner, le, n, sum_ms)"
	"  SELECT partner, le, count(*), sum(d) FROM (SELECT partner, d,"
	"  coalesce((SELECT min(le) FROM stats_le WHERE le >= d), 0) AS le"
	"  FROM (SELECT partner, max(0, updated_at - received_at) AS d"
	"  FROM messages WHERE state = 'done' AND reason IS NULL AND"
	"  duplicate_of IS NULL)) GROUP BY 1, 2;"
	"CREATE TRIGGER stats_msg_new AFTER INSERT ON messages BEGIN"
	"  INSERT INTO stats_state (state, partner, n)"
	"    VALUES (NEW.state, NEW.partner, 1)"
	"    ON CONFLICT DO UPDATE SET n = n + 1;"
	"  INSERT OR IGNORE INTO stats_types (type) SELECT NEW.type"
	"    WHERE NEW.type IS NOT NULL AND"
	"    (SELECT count(*) FROM stats_types) < 1000;"
	"  INSERT INTO stats_events (event, partner, type, n)"
	"    SELECT e.column1, NEW.partner, " STATS_TYPE ", 1"
	"    FROM (VALUES ('accepted'), ('duplicate'), ('rejected')) e"
	"    WHERE (e.column1 = 'accepted' AND NEW.state <> 'rejected') OR"
	"    (e.column1 = 'duplicate' AND NEW.duplicate_of IS NOT NULL) OR"
	"    (e.column1 = 'rejected' AND NEW.state = 'rejected')"
	"    ON CONFLICT DO UPDATE SET n = n + 1;"
	"END;"
	"CREATE TRIGGER stats_msg_state AFTER UPDATE OF state ON messages"
	"  WHEN OLD.state IS NOT NEW.state BEGIN"
	"  UPDATE stats_state SET n = n - 1"
	"    WHERE state = OLD.state AND partner = OLD.partner;"
	"  INSERT INTO stats_state (state, partner, n)"
	"    VALUES (NEW.state, NEW.partner, 1)"
	"    ON CONFLICT DO UPDATE SET n = n + 1;"
	"  INSERT INTO stats_events (event, partner, type, n)"
	"    SELECT CASE NEW.state WHEN 'done' THEN 'processed'"
	"    ELSE NEW.state END, NEW.partner, " STATS_TYPE ", 1"
	"    WHERE (NEW.state = 'done' AND NEW.reason IS NULL) OR"
	"    NEW.state IN ('deferred', 'failed', 'rejected')"
	"    ON CONFLICT DO UPDATE SET n = n + 1;"
	"  INSERT INTO stats_latency (partner, le, n, sum_ms)"
	"    SELECT NEW.partner, coalesce((SELECT min(le) FROM stats_le"
	"    WHERE le >= d), 0), 1, d FROM (SELECT max(0, NEW.updated_at -"
	"    NEW.received_at) AS d)"
	"    WHERE NEW.state = 'done' AND NEW.reason IS NULL"
	"    ON CONFLICT DO UPDATE SET n = n + 1, sum_ms = sum_ms +"
	"    excluded.sum_ms;"
	"END;"
	"CREATE TRIGGER stats_msg_gone AFTER DELETE ON messages BEGIN"
	"  UPDATE stats_state SET n = n - 1"
	"    WHERE state = OLD.state AND partner = OLD.partner;"
	"END;",
	/*
	 * 14: hold is a state (DESIGN 3, 18): 'held' joins the states that
	 * messages.state's CHECK allows, and hold_cause says why spoold
	 * held a message by itself (NULL: an admin held it), so that a
	 * SIGHUP that fixes the cause lets it go on.
	 *
	 * Widening a CHECK changes no row and no index, so the table is not
	 * rebuilt: its CREATE TABLE text is edited in sqlite_schema, the way
	 * SQLite documents for removing a CHECK (lang_altertable.html,
	 * "other kinds of table schema changes"), and the schema is reloaded
	 * (store_migrate() then raises schema_version, so that every other
	 * connection reloads it too). A rebuild would copy every message at
	 * start-up and drop what other components hang on the table (the
	 * exec component's trigger): their own migrations would not know to
	 * make it again. The edit matches the text migration 1 wrote; were
	 * it not there, inserting a 'held' row fails loudly (CHECK).
	 */
	"PRAGMA writable_schema = ON;"
	"UPDATE sqlite_schema SET sql = replace(sql,"
	" '''rejected'', ''done''))',"
	" '''rejected'', ''done'', ''held''))')"
	"  WHERE type = 'table' AND name = 'messages';"
	"PRAGMA writable_schema = RESET;"
	"ALTER TABLE messages ADD COLUMN hold_cause TEXT;"
	/*
	 * What admins (and spoold, for its own mistakes) did to a message
	 * by hand: hold, release, delete, with who and why. No foreign
	 * key: the record outlives a deleted message's row.
	 */
	"CREATE TABLE actions ("
	"  message INTEGER NOT NULL,"
	"  act TEXT NOT NULL,"
	"  user TEXT NOT NULL,"
	"  reason TEXT,"
	"  at INTEGER NOT NULL"
	");"
	"CREATE INDEX actions_message ON actions (message);",
	/*
	 * 15: archive_command (DESIGN 18): when the file of a message that
	 * retention is about to remove was archived (archived_at), or why
	 * its archiving failed (archive_error; the file is kept).
	 */
	"ALTER TABLE messages ADD COLUMN archived_at INTEGER;"
	"ALTER TABLE messages ADD COLUMN archive_error TEXT;"
	"CREATE INDEX messages_archive_error ON messages (id)"
	"  WHERE archive_error IS NOT NULL;",
	/*
	 * 16: v_messages (DESIGN 3), the stable interface for admins' and
	 * scripts' SQL: one row per message, whatever the tables become.
	 * Columns are only ever added. The dialect is the qualifier of the
	 * type (section 15: ubl.Invoice), native for an unqualified one.
	 */
	"CREATE VIEW v_messages AS SELECT"
	"  id, partner, state, type,"
	"  CASE WHEN type IS NULL THEN NULL"
	"    WHEN instr(type, '.') > 1 THEN substr(type, 1, instr(type, '.') - 1)"
	"    ELSE 'native' END AS dialect,"
	"  sender, recipient, transaction_id, sender_seq AS sequence,"
	"  receiver_seq AS receiver_sequence, message_id, batch, orig_name,"
	"  file_name, reason, received_at, updated_at, attempts,"
	"  next_attempt_at, duplicate_of, stale, size, hold_cause, purged_at,"
	"  archived_at"
	"  FROM messages;",
	/*
	 * 17: our control numbers (DESIGN 16, store_control.c): per partner,
	 * syntax, level and pair of identities, the next number we give
	 * out in an envelope of ours. Never decreased but by the wrap.
	 */
	"CREATE TABLE control_counters ("
	"  partner TEXT NOT NULL,"
	"  syntax TEXT NOT NULL CHECK (syntax IN ('edifact', 'x12')),"
	"  level TEXT NOT NULL CHECK (level IN ('interchange', 'group',"
	"    'message')),"
	"  pair TEXT NOT NULL DEFAULT '',"
	"  next INTEGER NOT NULL CHECK (next >= 1),"
	"  wraps INTEGER NOT NULL DEFAULT 0,"
	"  updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (partner, syntax, level, pair)"
	");",
	/*
	 * 18: our interchanges awaiting the partner's acknowledgment (DESIGN
	 * 16, store_ack.c): each with its control number (num: as a number,
	 * as the standards compare them) and its groups; state moves from
	 * pending when a CONTRL, 997, 999 or TA1 names it; overdue_at is
	 * set once, when ack_overdue has passed and it was reported.
	 * our_groups.interchange is an our_interchanges.id (its primary
	 * key leads with it); neither is ever deleted but together.
	 */
	"CREATE TABLE our_interchanges ("
	"  id INTEGER PRIMARY KEY,"
	"  partner TEXT NOT NULL,"
	"  syntax TEXT NOT NULL CHECK (syntax IN ('edifact', 'x12')),"
	"  control TEXT NOT NULL,"
	"  num INTEGER,"
	"  outbound_id INTEGER,"
	"  sent_at INTEGER NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending',"
	"    'accepted', 'partial', 'rejected', 'received')),"
	"  code TEXT,"
	"  ack_message INTEGER,"
	"  acked_at INTEGER,"
	"  overdue_at INTEGER"
	");"
	"CREATE INDEX our_interchanges_control ON our_interchanges"
	"  (partner, syntax, control);"
	"CREATE INDEX our_interchanges_pending ON our_interchanges (sent_at)"
	"  WHERE state = 'pending';"
	"CREATE TABLE our_groups ("
	"  interchange INTEGER NOT NULL,"
	"  control TEXT NOT NULL,"
	"  num INTEGER,"
	"  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending',"
	"    'accepted', 'partial', 'rejected', 'received')),"
	"  code TEXT,"
	"  PRIMARY KEY (interchange, control)"
	");"
	"CREATE INDEX our_groups_num ON our_groups (num);",
	/*
	 * 19: dialects (DESIGN 15): the dialect that read a message (NULL
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
	"  AND duplicate_of IS NULL AND rejected = 0;"
	/* v_messages (16) takes the dialect from its column now, and
	 * gains test and reference; columns are only ever added. */
	"DROP VIEW v_messages;"
	"CREATE VIEW v_messages AS SELECT"
	"  id, partner, state, type,"
	"  CASE WHEN type IS NULL THEN NULL"
	"    WHEN dialect IS NOT NULL THEN dialect"
	"    WHEN instr(type, '.') > 1 THEN substr(type, 1, instr(type, '.') - 1)"
	"    ELSE 'native' END AS dialect,"
	"  sender, recipient, transaction_id, sender_seq AS sequence,"
	"  receiver_seq AS receiver_sequence, message_id, batch, orig_name,"
	"  file_name, reason, received_at, updated_at, attempts,"
	"  next_attempt_at, duplicate_of, stale, size, hold_cause, purged_at,"
	"  archived_at, test, reference"
	"  FROM messages;",
	/*
	 * 20: ordering modes interchange and after (DESIGN 16): a message of
	 * an interchange ordered by control number names its pair
	 * ("interchange SENDER RECIPIENT", the key of its row in
	 * transactions) and the number; one parked by `after' names the
	 * qualified types it waits for, blank-separated.
	 */
	"ALTER TABLE messages ADD COLUMN ic_pair TEXT;"
	"ALTER TABLE messages ADD COLUMN ic_control INTEGER;"
	"ALTER TABLE messages ADD COLUMN after_types TEXT;"
	"CREATE INDEX messages_ic ON messages (partner, ic_pair, ic_control)"
	"  WHERE ic_pair IS NOT NULL;"
	"CREATE INDEX messages_after ON messages (partner, reference)"
	"  WHERE after_types IS NOT NULL;",
	/*
	 * 21: batch_entries again, its CHECK on fate written as equalities.
	 * SQLite codes `x IN (a list of more than two)' as an ephemeral
	 * table, built anew (a B-tree and a page-sized allocation) by every
	 * INSERT that checks it: about a tenth of accepting an entry of a
	 * bundle or interchange in the perf profile. Same rows, same
	 * index.
	 */
	"CREATE TABLE batch_entries_new ("
	"  batch INTEGER NOT NULL REFERENCES batches(id),"
	"  idx INTEGER NOT NULL,"
	"  name TEXT NOT NULL,"
	"  fate TEXT NOT NULL CHECK (fate = 'accepted' OR"
	"    fate = 'duplicate' OR fate = 'rejected' OR fate = 'skipped'),"
	"  reason TEXT,"
	"  message INTEGER REFERENCES messages(id),"
	"  PRIMARY KEY (batch, idx)"
	") WITHOUT ROWID;"
	"INSERT INTO batch_entries_new (batch, idx, name, fate, reason,"
	"  message) SELECT batch, idx, name, fate, reason, message"
	"  FROM batch_entries;"
	"DROP TABLE batch_entries;"
	"ALTER TABLE batch_entries_new RENAME TO batch_entries;"
	"CREATE INDEX batch_entries_message ON batch_entries (message)"
	"  WHERE message IS NOT NULL;",
	/*
	 * 22: less per message (issue 20, item 4). What one ready message
	 * cost the store before this step: its row (4 or 5 index entries
	 * of 13 written: by upload, state, sequence, message_id or digest),
	 * its update to done (the state index's entry moved), 6 more rows
	 * by the triggers of migration 13 (stats_state 3 times,
	 * stats_events twice, stats_latency, each an upsert, and a count of
	 * stats_types), an attempt row for its success, and 2 updates of
	 * its transaction.
	 *
	 * The triggers that count inserts and changes of state stand aside
	 * while spoold (or spoolctl) counts them itself: inside a
	 * transaction of store_begin() the store's statements that insert
	 * a message or change its state note it, and one upsert per key
	 * writes the totals before COMMIT (store_count.c). stats_own has
	 * a row only meanwhile, and never once committed: any other writer
	 * (the sqlite3 shell, an older program) is still counted by the
	 * triggers. A DELETE (rare) is always counted by stats_msg_gone.
	 *
	 * A success is recorded on the message's row (done, no reason,
	 * attempts, updated_at): only a failed attempt gets a row of its
	 * own in attempts, with its error. v_attempts is every attempt,
	 * the rows and each success: what spoolctl show and the API read,
	 * and the one for admins' SQL (columns only ever added). A store
	 * from before keeps its success rows; the view shows each attempt
	 * once.
	 */
	"CREATE TABLE stats_own (id INTEGER PRIMARY KEY CHECK (id = 1));"
	"DROP TRIGGER stats_msg_new;"
	"DROP TRIGGER stats_msg_state;"
	"CREATE TRIGGER stats_msg_new AFTER INSERT ON messages"
	"  WHEN NOT EXISTS (SELECT 1 FROM stats_own) BEGIN"
	"  INSERT INTO stats_state (state, partner, n)"
	"    VALUES (NEW.state, NEW.partner, 1)"
	"    ON CONFLICT DO UPDATE SET n = n + 1;"
	"  INSERT OR IGNORE INTO stats_types (type) SELECT NEW.type"
	"    WHERE NEW.type IS NOT NULL AND"
	"    (SELECT count(*) FROM stats_types) < 1000;"
	"  INSERT INTO stats_events (event, partner, type, n)"
	"    SELECT e.column1, NEW.partner, " STATS_TYPE ", 1"
	"    FROM (VALUES ('accepted'), ('duplicate'), ('rejected')) e"
	"    WHERE (e.column1 = 'accepted' AND NEW.state <> 'rejected') OR"
	"    (e.column1 = 'duplicate' AND NEW.duplicate_of IS NOT NULL) OR"
	"    (e.column1 = 'rejected' AND NEW.state = 'rejected')"
	"    ON CONFLICT DO UPDATE SET n = n + 1;"
	"END;"
	"CREATE TRIGGER stats_msg_state AFTER UPDATE OF state ON messages"
	"  WHEN OLD.state IS NOT NEW.state AND"
	"  NOT EXISTS (SELECT 1 FROM stats_own) BEGIN"
	"  UPDATE stats_state SET n = n - 1"
	"    WHERE state = OLD.state AND partner = OLD.partner;"
	"  INSERT INTO stats_state (state, partner, n)"
	"    VALUES (NEW.state, NEW.partner, 1)"
	"    ON CONFLICT DO UPDATE SET n = n + 1;"
	"  INSERT INTO stats_events (event, partner, type, n)"
	"    SELECT CASE NEW.state WHEN 'done' THEN 'processed'"
	"    ELSE NEW.state END, NEW.partner, " STATS_TYPE ", 1"
	"    WHERE (NEW.state = 'done' AND NEW.reason IS NULL) OR"
	"    NEW.state IN ('deferred', 'failed', 'rejected')"
	"    ON CONFLICT DO UPDATE SET n = n + 1;"
	"  INSERT INTO stats_latency (partner, le, n, sum_ms)"
	"    SELECT NEW.partner, coalesce((SELECT min(le) FROM stats_le"
	"    WHERE le >= d), 0), 1, d FROM (SELECT max(0, NEW.updated_at -"
	"    NEW.received_at) AS d)"
	"    WHERE NEW.state = 'done' AND NEW.reason IS NULL"
	"    ON CONFLICT DO UPDATE SET n = n + 1, sum_ms = sum_ms +"
	"    excluded.sum_ms;"
	"END;"
	"CREATE VIEW v_attempts AS"
	"  SELECT message, attempt, started_at, finished_at, outcome, error"
	"  FROM attempts"
	"  UNION ALL SELECT m.id, m.attempts, m.updated_at, m.updated_at,"
	"  'ok', NULL FROM messages m WHERE m.state = 'done' AND"
	"  m.reason IS NULL AND m.duplicate_of IS NULL AND m.attempts > 0"
	"  AND m.purged_at IS NULL AND NOT EXISTS (SELECT 1 FROM attempts a"
	"  WHERE a.message = m.id AND a.attempt = m.attempts);",
	/*
	 * 23: the CHECKs on messages.state and attempts.outcome written as
	 * equalities, as 21 did for batch_entries: SQLite codes `x IN (a
	 * list of more than two)' as an ephemeral table (a B-tree of its
	 * own, two pages zeroed, opened and closed again), built anew by
	 * every statement that checks it -- every INSERT of a message and
	 * every UPDATE of its state: about a sixth of what a ready message
	 * cost the store (issue 20, item 4). Same rule: state is NOT NULL,
	 * and for NULL an IN and a chain of ORs both give NULL, which a
	 * CHECK lets pass. The text is edited in place, as step 14 did
	 * (no row and no index changes); a store whose text differs keeps
	 * its IN, slower but the same.
	 */
	"PRAGMA writable_schema = ON;"
	"UPDATE sqlite_schema SET sql = replace(sql,"
	" 'CHECK (state IN (''queue'', ''parked'',    ''deferred'', ''failed'',"
	" ''rejected'', ''done'', ''held''))',"
	" 'CHECK (state = ''queue'' OR state = ''parked'' OR"
	" state = ''deferred'' OR state = ''failed'' OR state = ''rejected'' OR"
	" state = ''done'' OR state = ''held'')')"
	"  WHERE type = 'table' AND name = 'messages';"
	"UPDATE sqlite_schema SET sql = replace(sql,"
	" 'CHECK (outcome IN (''ok'', ''temporary'', ''permanent''))',"
	" 'CHECK (outcome = ''ok'' OR outcome = ''temporary'' OR"
	" outcome = ''permanent'')')"
	"  WHERE type = 'table' AND name = 'attempts';"
	"PRAGMA writable_schema = RESET;",
	/*
	 * 24: archive_command for bundles rejected whole (DESIGN 18), as 15
	 * for messages: when the bundle file in rejected/ that retention
	 * is about to remove was archived (archived_at), or why its
	 * archiving failed (archive_error; the file is kept).
	 */
	"ALTER TABLE batches ADD COLUMN archived_at INTEGER;"
	"ALTER TABLE batches ADD COLUMN archive_error TEXT;"
	"CREATE INDEX batches_archive_error ON batches (id)"
	"  WHERE archive_error IS NOT NULL;",
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
