#!/bin/sh
# upgrade.sh - a store written by the previous release opens and carries
# on with every row intact. tests/data/store-v9.sql is a spool's store
# at schema version 9 (made by tests/data/mkstore-v9.sh): messages in
# done/ and parked/, ledger moves and stock, order revisions and lines,
# an auto_ack reply in outbound, an exec call. Loaded with sqlite3, then
# opened by spoolctl (which migrates a store forward, as spoold does);
# every row of every table is compared before and after, and the views
# and spoolctl show --tx read the old rows.
. "$(dirname "$0")/lib.sh"

write_conf
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
DB="$T/spool/spool.db"
rm -f "$DB" "$DB-wal" "$DB-shm"
sqlite3 "$DB" <"$top_srcdir/tests/data/store-v9.sql"
# (spoold's stores are in WAL mode; a dump loads into a rollback journal)
[ "$(sqlite3 "$DB" 'PRAGMA journal_mode=WAL')" = wal ] ||
    fail "the fixture cannot be put in WAL mode"
[ "$(sqlite3 "$DB" 'PRAGMA user_version')" = 9 ] ||
    fail "the fixture is not a version 9 store"

TABLES="messages transactions attempts skips ledger_moves ledger_stock
    ledger_postings exec_calls outbound order_revisions order_lines
    batches batch_entries"
# The fixture's columns of each table: later migrations may add columns
# (messages.purged_at), never change the ones there.
for t in $TABLES; do
	sqlite3 "$DB" "SELECT group_concat(name, ', ') FROM
	    pragma_table_info('$t')" >"$T/cols.$t"
done
# snapshot FILE: every row of every table, in a stable order.
snapshot() {
	: >"$1"
	for t in $TABLES; do
		[ -f "$T/cols.$t" ] || sqlite3 "$DB" "SELECT group_concat(name,
		    ', ') FROM pragma_table_info('$t')" >"$T/cols.$t"
		echo "== $t" >>"$1"
		sqlite3 "$DB" "SELECT $(cat "$T/cols.$t") FROM $t ORDER BY 1, 2" \
		    >>"$1"
	done
}
snapshot "$T/before"
[ "$(grep -c . "$T/before")" -gt 30 ] || fail "the fixture is too small"

# (status exits 3: spoold is not running)
expect_exit 3 $SPOOLCTL -c "$T/spoold.conf" status
snapshot "$T/after"
diff -u "$T/before" "$T/after" >&2 || fail "rows changed on the upgrade"
ok "every message, ledger row, order revision and exec call kept"
[ "$(sqlite3 "$DB" "SELECT group_concat(name || '=' || version, ' ') FROM
    (SELECT * FROM components ORDER BY name)")" = "exec=1 ledger=1 orders=1" ] ||
    fail "the handlers' components are not recorded"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM messages WHERE waiting <> 0")" = \
    "$(sqlite3 "$DB" "SELECT count(*) FROM exec_calls WHERE status =
    'pending'")" ] || fail "a pending exec call's message does not wait"
ok "the handlers' tables adopted as components"

[ "$(sqlite3 "$DB" "SELECT state FROM v_orders WHERE transaction_id =
    'PO1'")" = accepted ] || fail "v_orders does not read the old revisions"
[ "$(sqlite3 "$DB" "SELECT quantity FROM v_stock")" = 12 ] ||
    fail "v_stock does not read the old stock"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" show --tx acme PO1
expect_out "order ON-1"
expect_out "acknowledged         PurchaseOrderAck     outbound #1"
ok "the views and spoolctl show --tx read the old rows"

# Store version 13 widened messages.state's CHECK in place: an old store
# takes 'held' (and nothing else new), its exec trigger kept.
ID=$(sqlite3 "$DB" "SELECT min(id) FROM messages WHERE state = 'parked'")
sqlite3 "$DB" "UPDATE messages SET state = 'held' WHERE id = $ID" ||
    fail "an upgraded store refuses the state held"
sqlite3 "$DB" "UPDATE messages SET state = 'bogus' WHERE id = $ID" \
    2>/dev/null && fail "an upgraded store takes any state"
[ "$(sqlite3 "$DB" "PRAGMA integrity_check")" = ok ] ||
    fail "the upgraded store is not intact"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM sqlite_schema WHERE type =
    'trigger' AND tbl_name = 'messages'")" -ge 3 ] ||
    fail "triggers on messages lost"
ok "an upgraded store takes the state held"

# v_messages (DESIGN 3) reads the old rows too.
[ "$(sqlite3 "$DB" "SELECT count(*) FROM v_messages")" = \
    "$(sqlite3 "$DB" "SELECT count(*) FROM messages")" ] ||
    fail "v_messages does not show every message"
ok "v_messages reads an upgraded store"

# Store version 22 records a success on the message's row, not in
# attempts (issue 20, item 4): an old store keeps its success rows, and
# v_attempts (what spoolctl show reads) shows each attempt once.
[ "$(sqlite3 "$DB" "SELECT count(*) FROM attempts WHERE outcome = 'ok'")" \
    -gt 0 ] || fail "the fixture has no success rows"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM (SELECT message, attempt FROM
    v_attempts GROUP BY 1, 2 HAVING count(*) > 1)")" = 0 ] ||
    fail "v_attempts shows an old success twice"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM v_attempts")" = \
    "$(sqlite3 "$DB" "SELECT count(*) FROM attempts")" ] ||
    fail "v_attempts does not show the old attempts as they are"
ID=$(sqlite3 "$DB" "SELECT message FROM attempts WHERE outcome = 'ok'
    ORDER BY message LIMIT 1")
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" show "$ID"
[ "$(grep -c '^ *attempt 1 .*ok' "$T/out")" = 1 ] ||
    { cat "$T/out" >&2; fail "spoolctl show: the old success not once"; }
[ "$(sqlite3 "$DB" "SELECT count(*) FROM stats_own")" = 0 ] ||
    fail "stats_own holds a row"
ok "an old store's attempts read through v_attempts, each once"
