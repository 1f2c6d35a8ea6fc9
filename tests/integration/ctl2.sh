#!/bin/sh
# ctl2.sh - spoolctl's newer commands and forms against a real spoold, in
# text and JSON: status tells a blocked transaction (its next number
# arrived and failed) from one that waits (the number has not arrived).
. "$(dirname "$0")/lib.sh"

write_conf
cat >>"$T/spoold.conf" <<CONF
[route InventoryMovement]
handler = ledger
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
DB=$T/spool/spool.db

ctl() {
	$SPOOLCTL -c "$T/spoold.conf" "$@"
}
sql() {
	sqlite3 "$DB" "$1"
}
# jqt FILTER: the filter holds for $T/out (a JSON document).
jqt() {
	jq -e "$1" "$T/out" >/dev/null || {
		cat "$T/out" >&2
		fail "JSON check failed: $1"
	}
}

start_daemon

# F: 1 fails (stock would go negative), 2 waits behind it.
mv_msg acme F 1 -5 | drop acme f1.xml
wait_until 20 '[ "$(count failed)" -eq 1 ]' || fail "F 1 did not fail"
mv_msg acme F 2 1 | drop acme f2.xml
wait_until 20 '[ "$(count parked)" -eq 1 ]' || fail "F 2 not parked"
F1=$(sql "SELECT id FROM messages WHERE transaction_id = 'F' AND \
    sender_seq = 1")
expect_exit 0 ctl status
expect_out "acme F blocked by failed sequence 1 (#$F1)"
grep -q "waits for" "$T/out" && fail "status: a failed number 'waits'"
expect_exit 0 ctl --json status
jqt ".gaps.oldest | .transaction_id == \"F\" and .next_seq == 1 and
    .blocked_by == {\"id\": $F1, \"state\": \"failed\"}"
ok "status: blocked by a failed sequence number, text and JSON"
stop_daemon
