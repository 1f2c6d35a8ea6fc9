#!/bin/sh
# process.sh - processing in order, exactly once: a shuffled ledger
# workload across transactions and partners, with redelivered duplicates,
# through the real daemon; the ledger's balances are the oracle.
#
# Each transaction moves stock of its own item: +3 at odd sequence
# numbers, -3 at even ones. Applied in order the balance never goes
# negative and ends at 0 (even count) or 3 (odd count); applied out of
# order a -3 comes first and fails (stock never negative); applied twice
# the balance is off.
. "$(dirname "$0")/lib.sh"

write_conf
cat >>"$T/spoold.conf" <<CONF
batch_size = 16
chunk_size = 4
[route InventoryMovement]
handler = ledger
[route FinancialPosting]
handler = ledger
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1

ledger_workload "$T/work"
total=$WL_TOTAL
dups=$WL_DUPS

# Drop them shuffled, half before start (scanned), half while running.
ls "$T/work" | shuf >"$T/order"
half=$(( $(wc -l <"$T/order") / 2 ))
head -n "$half" "$T/order" | while read -r f; do drop_file "$f"; done
start_daemon
tail -n +"$((half + 1))" "$T/order" | while read -r f; do drop_file "$f"; done

done_count() {
	sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM messages WHERE \
	    state = 'done'"
}
want=$((total + dups))
wait_until 60 '[ "$(done_count)" -eq "$want" ]' || {
	sqlite3 "$T/spool/spool.db" "SELECT state, count(*) FROM messages \
	    GROUP BY state" >&2
	fail "not everything processed"
}
stop_daemon

[ "$(sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM messages WHERE \
    duplicate_of IS NOT NULL")" -eq "$dups" ] || fail "duplicates miscounted"
ok "$total messages and $dups duplicates processed"

# Exactly once, in order: every transaction's balance is right, and the
# movements of each transaction were applied in sequence order.
check_ledger
moves=$(sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM ledger_moves")
[ "$moves" -eq "$total" ] || fail "$moves movements, want $total"
bad=$(sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM ledger_moves a \
    JOIN messages ma ON ma.id = a.message JOIN ledger_moves b ON b.id > a.id \
    JOIN messages mb ON mb.id = b.message WHERE ma.partner = mb.partner AND \
    ma.transaction_id = mb.transaction_id AND ma.sender_seq > mb.sender_seq")
[ "$bad" -eq 0 ] || fail "$bad movements applied out of order"
[ "$(count done)" -eq "$want" ] || fail "done/ holds $(count done) files"
[ "$(count queue)" -eq 0 ] && [ "$(count parked)" -eq 0 ] ||
    fail "files left in queue/ or parked/"
ok "ledger exact: each movement once, in order"

# A posting that does not balance, and a movement that would make stock
# negative, fail permanently with their numbers; the transaction behind
# the failure stays parked.
mkdir -p "$T/spool/incoming/acme"
cat >"$T/spool/incoming/acme/post.xml" <<XML
<FinancialPosting><Header><Sender>acme</Sender><TransactionId>FP</TransactionId>
<SenderSequence>1</SenderSequence><ReceiverSequence>0</ReceiverSequence></Header>
<Body><Line><Account>1</Account><Debit>100</Debit></Line>
<Line><Account>2</Account><Credit>99</Credit></Line></Body></FinancialPosting>
XML
mv_msg acme NEG 1 -5 >"$T/spool/incoming/acme/neg1.xml"
mv_msg acme NEG 2 5 >"$T/spool/incoming/acme/neg2.xml"
expect_exit 0 $SPOOLD -c "$T/spoold.conf" --once
grep -q "^posting does not balance: debits 100 != credits 99$" \
    "$T"/spool/failed/acme,FP,1,*.reason || fail "unbalanced posting reason"
grep -q "^stock of ITEM-acme-NEG in W1 would go negative: have 0, movement -5$" \
    "$T"/spool/failed/acme,NEG,1,*.reason || fail "negative stock reason"
[ -f "$(ls "$T"/spool/parked/acme,NEG,2,*)" ] || fail "NEG 2 not parked"
ok "ledger invariants: unbalanced posting and negative stock fail, successors wait"

# A gap older than gap_alert_after is reported once, and again when it
# closes; the parked message is not dropped.
sed -i 's/^\[processing\]$/[processing]\ngap_alert_after = 1s/' "$T/spoold.conf"
start_daemon
mv_msg acme GAP 2 1 >"$T/spool/incoming/acme/.gap2"
mv "$T/spool/incoming/acme/.gap2" "$T/spool/incoming/acme/gap2.xml"
wait_until 20 'grep -q "event=gap partner=acme tx=GAP waiting_for=1 " "$T/log"' ||
    fail "gap not reported"
mv_msg acme GAP3 1 1 >"$T/spool/incoming/acme/.other"
mv "$T/spool/incoming/acme/.other" "$T/spool/incoming/acme/other.xml"
wait_until 20 '[ -n "$(ls "$T"/spool/done/acme,GAP3,1,* 2>/dev/null)" ]' ||
    fail "other transaction not processed"
[ "$(grep -c "event=gap partner=acme tx=GAP " "$T/log")" -eq 1 ] ||
    fail "gap reported more than once"
[ -n "$(ls "$T"/spool/parked/acme,GAP,2,*)" ] || fail "parked message gone"
mv_msg acme GAP 1 1 >"$T/spool/incoming/acme/.gap1"
mv "$T/spool/incoming/acme/.gap1" "$T/spool/incoming/acme/gap1.xml"
wait_until 20 'grep -q "event=gap_closed partner=acme tx=GAP " "$T/log"' ||
    fail "closed gap not reported"
wait_until 20 '[ -n "$(ls "$T"/spool/done/acme,GAP,2,* 2>/dev/null)" ]' ||
    fail "the run behind the gap not processed"
stop_daemon
[ "$(sqlite3 "$T/spool/spool.db" "SELECT gap_since IS NULL AND \
    gap_alerted = 0 FROM transactions \
    WHERE transaction_id = 'GAP'")" -eq 1 ] || fail "the gap not cleared"
ok "a gap is reported once after gap_alert_after, and when it closes"
