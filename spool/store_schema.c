/*
 * store_schema.c - the store's schema, as forward migrations.
 *
 * migrations[i] takes a store from version i to version i+1. A released
 * migration is never edited; a change is a new step at the end. Each step
 * runs inside the one transaction that store_migrate() opens, so a store
 * is always at exactly one version.
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

	/* 2: the ledger handler's books (insert-only history, balances). */
	"CREATE TABLE ledger_moves ("
	"  id INTEGER PRIMARY KEY,"
	"  message INTEGER NOT NULL REFERENCES messages(id),"
	"  item TEXT NOT NULL,"
	"  warehouse TEXT NOT NULL,"
	"  quantity INTEGER NOT NULL,"
	"  at INTEGER NOT NULL"
	");"
	"CREATE INDEX ledger_moves_message ON ledger_moves (message);"
	"CREATE TABLE ledger_stock ("
	"  item TEXT NOT NULL,"
	"  warehouse TEXT NOT NULL,"
	"  quantity INTEGER NOT NULL CHECK (quantity >= 0),"
	"  PRIMARY KEY (item, warehouse)"
	") WITHOUT ROWID;"
	"CREATE TABLE ledger_postings ("
	"  message INTEGER NOT NULL REFERENCES messages(id),"
	"  line INTEGER NOT NULL,"
	"  account TEXT NOT NULL,"
	"  debit INTEGER NOT NULL DEFAULT 0 CHECK (debit >= 0),"
	"  credit INTEGER NOT NULL DEFAULT 0 CHECK (credit >= 0),"
	"  currency TEXT,"
	"  at INTEGER NOT NULL,"
	"  PRIMARY KEY (message, line)"
	") WITHOUT ROWID;"
	"CREATE VIEW v_stock (item, warehouse, quantity) AS"
	"  SELECT item, warehouse, quantity FROM ledger_stock;"
	"CREATE VIEW v_postings (message, partner, transaction_id, line,"
	"  account, debit, credit, currency, at) AS"
	"  SELECT p.message, m.partner, m.transaction_id, p.line, p.account,"
	"  p.debit, p.credit, p.currency, p.at"
	"  FROM ledger_postings p JOIN messages m ON m.id = p.message;",

	/*
	 * 3: calls of external programs (exec handler), bracketed: a call
	 * is 'pending' while it runs, then 'valid' (it succeeded) or
	 * 'invalid'. A pending call found at start-up was interrupted and
	 * is made again with the same message ID.
	 */
	"CREATE TABLE exec_calls ("
	"  message INTEGER NOT NULL REFERENCES messages(id),"
	"  attempt INTEGER NOT NULL,"
	"  status TEXT NOT NULL CHECK (status IN ('pending', 'valid',"
	"    'invalid')),"
	"  started_at INTEGER NOT NULL,"
	"  finished_at INTEGER,"
	"  exit_status INTEGER,"
	"  error TEXT,"
	"  PRIMARY KEY (message, attempt)"
	") WITHOUT ROWID;"
	"CREATE INDEX exec_calls_pending ON exec_calls (status)"
	"  WHERE status = 'pending';",

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
	 * 5: bundles (DESIGN 9). A batch is one bundle file: its fate
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
