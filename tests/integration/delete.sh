#!/bin/sh
# delete.sh - spoolctl delete removes rejected, failed and held messages
# for good (issue 16): the file and its .reason go, who and why are
# recorded, a tombstone stays so that a redelivery is a duplicate, and a
# message holding the number its transaction waits for is skipped so
# that the ones behind it go on.
. "$(dirname "$0")/lib.sh"

write_conf
cat >>"$T/spoold.conf" <<CONF
[route InventoryMovement]
handler = ledger
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
DB=$T/spool/spool.db
sql() {
	sqlite3 "$DB" "$1"
}
ctl() {
	$SPOOLCTL -c "$T/spoold.conf" "$@"
}
state_of() {
	sql "SELECT state FROM messages WHERE transaction_id = '$1' AND \
	    sender_seq = $2 AND duplicate_of IS NULL"
}

mkdir -p "$T/work"
mv_msg acme D 1 -5 >"$T/work/acme,d1.xml"
mv_msg acme D 2 3 >"$T/work/acme,d2.xml"
mv_msg acme E 2 1 >"$T/work/acme,e2.xml"
start_daemon
drop_file acme,d1.xml
drop_file acme,d2.xml
drop_file acme,e2.xml
echo "not xml" | drop acme junk.xml
wait_until 20 '[ "$(state_of D 1)" = failed ] && [ "$(state_of D 2)" = parked ] &&
    [ "$(state_of E 2)" = parked ] && [ "$(count rejected)" -eq 1 ]' ||
    fail "D 1 not failed, D 2 and E 2 not parked, junk not rejected"
D1=$(sql "SELECT id FROM messages WHERE transaction_id = 'D' AND sender_seq = 1")
D2=$(sql "SELECT id FROM messages WHERE transaction_id = 'D' AND sender_seq = 2")
E2=$(sql "SELECT id FROM messages WHERE transaction_id = 'E'")
J=$(sql "SELECT id FROM messages WHERE orig_name = 'junk.xml'")
expect_exit 0 ctl hold "$E2" --reason "wait"

expect_exit 64 ctl delete "$D1"
expect_exit 65 ctl delete "$D2" --reason "parked, not deleted"
[ "$(state_of D 2)" = parked ] || fail "a parked message was deleted"
expect_exit 0 ctl delete "$D1" --reason "wrong quantity, agreed with acme"
expect_out "delete: 1 message deleted by"
[ "$(sql "SELECT count(*) FROM messages WHERE id = $D1")" -eq 0 ] ||
    fail "D 1's row is left"
[ -z "$(ls "$T/spool/failed")" ] || fail "failed/ keeps D 1's file or .reason"
[ "$(sql "SELECT fate FROM tombstones WHERE id = $D1")" = deleted ] ||
    fail "no tombstone for D 1"
[ "$(sql "SELECT act || '|' || reason FROM actions WHERE message = $D1")" = \
    "delete|wrong quantity, agreed with acme" ] || fail "delete not recorded"
wait_until 20 '[ "$(state_of D 2)" = done ]' || fail "D 2 did not go on"
[ "$(sql "SELECT count(*) FROM skips WHERE transaction_id = 'D' AND seq = 1")" \
    -eq 1 ] || fail "D 1's number not recorded as skipped"
[ "$(sql "SELECT quantity FROM v_stock WHERE item = 'ITEM-acme-D'")" = 3 ] ||
    fail "stock after the delete"
ok "delete of a failed message: file, row and .reason gone, recorded, successors go on"

# A redelivery of the deleted message is a duplicate, not applied.
cp "$T/work/acme,d1.xml" "$T/spool/incoming/acme/d1-again.xml"
wait_until 20 '[ "$(sql "SELECT count(*) FROM messages WHERE orig_name = \
    '"'d1-again.xml'"' AND duplicate_of IS NOT NULL")" -eq 1 ]' ||
    fail "the redelivery is not a duplicate"
[ "$(sql "SELECT quantity FROM v_stock WHERE item = 'ITEM-acme-D'")" = 3 ] ||
    fail "the redelivery was applied"
ok "a redelivery of a deleted message is a duplicate"

# Rejected and held ones, IDs on standard input, --json.
printf '%s\n%s\n' "$J" "$E2" | ctl --json delete - --reason "cleanup" \
    >"$T/out" 2>&1 || { cat "$T/out"; fail "delete - failed"; }
grep -q '"deleted": *2' "$T/out" || { cat "$T/out"; fail "delete --json"; }
[ "$(count rejected)" -eq 0 ] && [ -z "$(ls "$T/spool/rejected")" ] ||
    fail "rejected/ not empty"
[ -z "$(ls -A "$T/spool/hold")" ] || fail "hold/ not empty"
[ "$(sql "SELECT count(*) FROM tombstones WHERE id = $J")" -eq 0 ] ||
    fail "a rejected message left a tombstone"
[ "$(sql "SELECT fate FROM tombstones WHERE id = $E2")" = deleted ] ||
    fail "no tombstone for the held E 2"
expect_exit 65 ctl delete "$D2" --reason "done"
expect_exit 0 ctl check
ok "delete of rejected and held messages from standard input"
stop_daemon
