#!/bin/sh
# hold.sh - hold/ is a state (DESIGN 3, 5, 18): spoolctl hold stops a
# transaction's message with who and why, its later numbers wait behind
# it as behind a failed one, status/list/show report it, and release
# lets the transaction go on in order (issue 16).
. "$(dirname "$0")/lib.sh"

write_conf
cat >>"$T/spoold.conf" <<CONF
[route InventoryMovement]
handler = ledger
[route *]
handler = ledger
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
[ -d "$T/spool/hold" ] || fail "spoold --init made no hold/"
DB=$T/spool/spool.db
sql() {
	sqlite3 "$DB" "$1"
}
ctl() {
	$SPOOLCTL -c "$T/spoold.conf" "$@"
}
stock() {
	sql "SELECT quantity FROM v_stock WHERE item = 'ITEM-acme-L'"
}

mkdir -p "$T/work"
mv_msg acme L 1 5 >"$T/work/acme,l1.xml"
mv_msg acme L 2 -2 >"$T/work/acme,l2.xml"
mv_msg acme L 3 1 >"$T/work/acme,l3.xml"
start_daemon

# 2 arrives first and parks; hold the transaction.
drop_file acme,l2.xml
wait_until 20 '[ "$(count parked)" -eq 1 ]' || fail "2 not parked"
expect_exit 64 ctl hold --tx acme L
ctl hold --tx acme L --reason "check the quantities" >"$T/out" 2>"$T/err" ||
    fail "hold --tx acme L: exit $?"
expect_out "hold: 1 message held by"
# A plain line on stdout, nothing on stderr (it printed spoold's logfmt
# line, level=warning event=hold ..., as if it were a problem).
[ ! -s "$T/err" ] || fail "hold wrote on stderr: $(cat "$T/err")"
[ "$(count hold)" -eq 1 ] && [ "$(count parked)" -eq 0 ] ||
    fail "the held message is not in hold/"
[ -f "$T/spool/hold/$(ls "$T/spool/hold" | grep -v reason).reason" ] ||
    fail "no .reason in hold/"
ID2=$(sql "SELECT id FROM messages WHERE sender_seq = 2")
[ "$(sql "SELECT state FROM messages WHERE id = $ID2")" = held ] ||
    fail "the store does not say held"
[ "$(sql "SELECT act || ' ' || reason FROM actions WHERE message = $ID2")" \
    = "hold check the quantities" ] || fail "the hold is not recorded"
ok "hold --tx moves a parked message to hold/, recorded with who and why"

# 1 is processed; 2 stays held and 3 waits behind it.
drop_file acme,l1.xml
wait_until 20 '[ "$(count done)" -eq 1 ]' || fail "1 not processed"
drop_file acme,l3.xml
wait_until 20 '[ "$(count parked)" -eq 1 ]' || fail "3 not parked"
[ "$(stock)" = 5 ] || fail "stock $(stock), want 5 (2 and 3 applied?)"
expect_exit 0 ctl status
expect_out "held"
expect_out "blocked by held sequence 2"
expect_exit 0 ctl list --state held
grep -q "^$ID2 .* held " "$T/out" || fail "list --state held: no held message"
expect_exit 0 ctl show "$ID2"
expect_out "held by"
expect_out "file          hold/"
grep -q "^  hold .* by .*: check the quantities" "$T/out" ||
    { cat "$T/out"; fail "show: the hold is not listed with who and why"; }
expect_exit 0 ctl --json show "$ID2"
grep -q '"act": *"hold"' "$T/out" || { cat "$T/out"; fail "show --json: no actions"; }
expect_exit 0 ctl --json status
grep -q '"held": *1' "$T/out" || { cat "$T/out"; fail "status --json: no held"; }
# The stable view of DESIGN 3 says the same.
[ "$(sql "SELECT state || '|' || partner || '|' || type || '|' || dialect || \
    '|' || transaction_id || '|' || sequence || '|' || message_id || '|' || \
    (received_at > 0) || '|' || (updated_at >= received_at) FROM v_messages \
    WHERE id = $ID2")" = \
    "held|acme|InventoryMovement|native|L|2|acme-L-2|1|1" ] ||
    fail "v_messages: $(sql "SELECT * FROM v_messages WHERE id = $ID2")"
for col in id partner state type dialect sender recipient transaction_id \
    sequence message_id batch orig_name file_name reason received_at \
    updated_at; do
	sql "SELECT $col FROM v_messages LIMIT 1" >/dev/null ||
	    fail "v_messages has no column $col"
done
ok "a held message blocks its successors and is reported"

# Release: a message that is not held is refused; then 2 and 3 go on.
expect_exit 65 ctl release 999999
echo "$ID2" | ctl release - >"$T/out" 2>&1 || fail "release - failed"
expect_out "release: 1 message released"
wait_until 20 '[ "$(count done)" -eq 3 ]' || fail "2 and 3 not processed"
[ "$(stock)" = 4 ] || fail "stock $(stock), want 4"
[ "$(count hold)" -eq 0 ] && [ -z "$(ls -A "$T/spool/hold")" ] ||
    fail "hold/ not empty after release"
[ "$(sql "SELECT count(*) FROM actions WHERE message = $ID2 AND act = \
    'release'")" -eq 1 ] || fail "the release is not recorded"
ok "release lets the transaction go on in order"

# A single queued-or-failed message by ID, and release to parked/ when an
# earlier number is missing.
mv_msg acme M 2 1 >"$T/work/acme,m2.xml"
mv_msg acme M 1 1 >"$T/work/acme,m1.xml"
drop_file acme,m2.xml
wait_until 20 '[ "$(count parked)" -eq 1 ]' || fail "M2 not parked"
IDM=$(sql "SELECT id FROM messages WHERE transaction_id = 'M'")
ctl --json hold "$IDM" --reason "look" >"$T/out" 2>"$T/err" ||
    fail "--json hold: exit $?"
grep -q '"held": *1' "$T/out" || { cat "$T/out"; fail "hold --json"; }
[ ! -s "$T/err" ] || fail "hold --json wrote on stderr: $(cat "$T/err")"
expect_exit 0 ctl release --tx acme M
[ "$(count parked)" -eq 1 ] || fail "M2 released to somewhere else than parked/"
drop_file acme,m1.xml
wait_until 20 '[ "$(count done)" -eq 5 ]' || fail "M not processed"
expect_exit 0 ctl check
ok "release puts a message behind a missing number in parked/"

# skip of a held number: it goes to done/ unapplied, its .reason with it.
mv_msg acme S 2 1 >"$T/work/acme,s2.xml"
drop_file acme,s2.xml
wait_until 20 '[ "$(count parked)" -eq 1 ]' || fail "S2 not parked"
expect_exit 0 ctl hold --tx acme S --reason "hold S"
expect_exit 0 ctl skip --tx acme S 1 --reason "never sent"
expect_exit 0 ctl skip --tx acme S 2 --reason "not wanted"
[ -z "$(ls -A "$T/spool/hold")" ] || fail "hold/ keeps something after skip"
[ "$(sql "SELECT state FROM messages WHERE transaction_id = 'S'")" = done ] ||
    fail "the skipped held message is not done"
ok "skip of a held number leaves nothing in hold/"

# A bundle with a held entry is pending, not done.
mkdir -p "$T/b"
mv_msg acme X 2 1 >"$T/b/x2.xml"
tar -C "$T/b" -cf "$T/spool/incoming/acme/.b.tar" x2.xml
mv "$T/spool/incoming/acme/.b.tar" "$T/spool/incoming/acme/b.tar"
wait_until 20 '[ "$(count parked)" -eq 1 ]' || fail "X2 not parked"
B=$(sql "SELECT batch FROM messages WHERE transaction_id = 'X'")
expect_exit 0 ctl hold --tx acme X --reason "look at the bundle"
expect_exit 0 ctl batch "$B"
expect_out "pending (1 held)"
ok "a bundle with a held entry is pending"
stop_daemon
