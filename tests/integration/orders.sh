#!/bin/sh
# orders.sh - the purchase-order life cycle through the real daemon:
# shuffled arrival of whole life cycles with auto_ack, the replies in
# outgoing/<partner>/ with their sequence numbers across transactions
# and restarts, and a crash between a cycle's COMMIT and the writing of
# its reply (SPOOLD_FAILPOINT): the restart writes it exactly once.
. "$(dirname "$0")/lib.sh"

write_conf
cat >>"$T/spoold.conf" <<CONF
batch_size = 8
chunk_size = 2
[route PurchaseOrderCreate]
handler = orders
auto_ack = yes
[route PurchaseOrderAccept]
handler = orders
[route DeliveryNote]
handler = orders
[route Invoice]
handler = orders
[route PurchaseOrderCancel]
handler = orders
[route InventoryMovement]
handler = ledger
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
DB="$T/spool/spool.db"

# po PARTNER TX SEQ RSEQ TYPE BODY: one order message on stdout.
po() {
	cat <<XML
<?xml version="1.0" encoding="UTF-8"?>
<$5>
  <Header>
    <Sender>$1</Sender>
    <Recipient>ERP</Recipient>
    <TransactionId>$2</TransactionId>
    <SenderSequence>$3</SenderSequence>
    <ReceiverSequence>$4</ReceiverSequence>
  </Header>
  <Body>$6</Body>
</$5>
XML
}

LINES='<Line number="1"><Item>SKU-1</Item><Quantity unit="PCE">40</Quantity><Price>1250</Price></Line><Line number="2"><Item>SKU-2</Item><Quantity>5</Quantity></Line>'

# life_cycle PARTNER TX: Create, Accept, two partial deliveries, Invoice.
life_cycle() {
	w="$T/work"
	po "$1" "$2" 1 0 PurchaseOrderCreate \
	    "<OrderNumber>ON-$2</OrderNumber>$LINES" >"$w/$1,$2,1.xml"
	po "$1" "$2" 2 1 PurchaseOrderAccept \
	    "<OrderNumber>ON-$2</OrderNumber>" >"$w/$1,$2,2.xml"
	po "$1" "$2" 3 1 DeliveryNote "<DeliveryNumber>D1</DeliveryNumber><OrderNumber>ON-$2</OrderNumber><Line number=\"1\"><Item>SKU-1</Item><Quantity>25</Quantity></Line>" \
	    >"$w/$1,$2,3.xml"
	po "$1" "$2" 4 1 DeliveryNote "<DeliveryNumber>D2</DeliveryNumber><Line number=\"1\"><Item>SKU-1</Item><Quantity>15</Quantity></Line><Line number=\"2\"><Item>SKU-2</Item><Quantity>5</Quantity></Line>" \
	    >"$w/$1,$2,4.xml"
	po "$1" "$2" 5 1 Invoice "<InvoiceNumber>I1</InvoiceNumber><OrderNumber>ON-$2</OrderNumber><Line number=\"1\"><Item>SKU-1</Item><Quantity>40</Quantity><Amount>50000</Amount></Line><Total>50000</Total>" \
	    >"$w/$1,$2,5.xml"
}

mkdir -p "$T/work"
for p in acme globex; do
	for t in PO1 PO2 PO3; do
		life_cycle "$p" "$t"
	done
done
# A transaction whose order starts at sequence 2: the Ack echoes 2.
mv_msg acme MIX 1 5 >"$T/work/acme,MIX,1.xml"
po acme MIX 2 0 PurchaseOrderCreate "<OrderNumber>ON-MIX</OrderNumber>$LINES" \
    >"$T/work/acme,MIX,2.xml"
ls "$T/work" | shuf >"$T/order"
half=$(( $(wc -l <"$T/order") / 2 ))
head -n "$half" "$T/order" | while read -r f; do drop_file "$f"; done
start_daemon
tail -n +"$((half + 1))" "$T/order" | while read -r f; do drop_file "$f"; done
total=$(wc -l <"$T/order")
done_count() {
	sqlite3 "$DB" "SELECT count(*) FROM messages WHERE state = 'done'"
}
wait_until 60 '[ "$(done_count)" -eq "$total" ]' || {
	sqlite3 "$DB" "SELECT id, state, reason FROM messages WHERE \
	    state <> 'done'" >&2
	fail "not every order message processed"
}
stop_daemon

for p in acme globex; do
	for t in PO1 PO2 PO3; do
		st=$(sqlite3 "$DB" "SELECT state || ' ' || revision FROM \
		    v_orders WHERE partner = '$p' AND transaction_id = '$t'")
		[ "$st" = "invoiced 6" ] || fail "$p/$t is '$st', want invoiced 6"
		h=$(sqlite3 "$DB" "SELECT group_concat(state, ',') FROM (SELECT \
		    state FROM v_order_history WHERE partner = '$p' AND \
		    transaction_id = '$t' ORDER BY revision)")
		[ "$h" = "open,acknowledged,accepted,partially_delivered,delivered,invoiced" ] ||
		    fail "$p/$t history $h"
		d=$(sqlite3 "$DB" "SELECT group_concat(delivered || '/' || \
		    quantity, ',') FROM (SELECT * FROM v_order_lines WHERE \
		    partner = '$p' AND transaction_id = '$t' ORDER BY line)")
		[ "$d" = "40/40,5/5" ] || fail "$p/$t delivered $d"
	done
done
ok "6 life cycles, shuffled: each invoiced, with its whole history"

# check_acks: one Ack file per order in outgoing/<partner>/, as the store
# says, each our SenderSequence 1 echoing the number of its Create.
check_acks() {
	want=$1
	n=$(find "$T/spool/outgoing" -type f | wc -l)
	[ "$n" -eq "$want" ] || fail "$n files in outgoing/, want $want"
	[ -z "$(find "$T/spool/outgoing" -name '.*')" ] ||
	    fail "a temporary file is left in outgoing/"
	rows=$(sqlite3 "$DB" "SELECT count(*) FROM outbound WHERE \
	    written_at IS NOT NULL")
	[ "$rows" -eq "$want" ] || fail "$rows outbound rows written, want $want"
	sqlite3 -separator ' ' "$DB" "SELECT o.partner, o.file_name, \
	    o.transaction_id, o.sender_seq, o.receiver_seq, t.out_seq FROM \
	    outbound o JOIN transactions t USING (partner, transaction_id)" |
	while read -r p f tx ss rs out; do
		file="$T/spool/outgoing/$p/$f"
		[ -f "$file" ] || fail "$file missing"
		grep -q "<TransactionId>$tx</TransactionId>" "$file" &&
		    grep -q "<SenderSequence>$ss</SenderSequence>" "$file" &&
		    grep -q "<ReceiverSequence>$rs</ReceiverSequence>" "$file" ||
		    fail "$file does not carry its numbers"
		[ "$ss" -eq 1 ] && [ "$out" -eq 1 ] ||
		    fail "$p/$tx: SenderSequence $ss, out_seq $out, want 1"
		if [ "$tx" = MIX ]; then want_rs=2; else want_rs=1; fi
		[ "$rs" -eq "$want_rs" ] || fail "$p/$tx: ReceiverSequence $rs"
		xmllint --noout --schema \
		    "$top_srcdir/schemas/PurchaseOrderAck.xsd" "$file" \
		    2>/dev/null || fail "$file does not validate"
	done
}
check_acks 7
ok "auto_ack: one valid Ack per order, numbered per transaction"

# Restarts: more transactions over two more runs; earlier replies are
# neither written again nor renumbered.
for run in 2 3; do
	for p in acme globex; do
		po "$p" "R$run" 1 0 PurchaseOrderCreate \
		    "<OrderNumber>ON-R$run</OrderNumber>$LINES" |
		    drop "$p" "r$run.xml"
	done
	expect_exit 0 $SPOOLD -c "$T/spoold.conf" --once
done
check_acks 11
ok "auto_ack numbering holds across restarts"

# A crash after COMMIT, before the reply is written: the restart writes
# it, once.
po acme CRASH 1 0 PurchaseOrderCreate "<OrderNumber>ON-C</OrderNumber>$LINES" |
    drop acme crash.xml
: >"$T/log"
set +e
SPOOLD_FAILPOINT=outbound-write $SPOOLD -c "$T/spoold.conf" --once \
    >>"$T/log" 2>&1
rc=$?
set -e
[ "$rc" -eq 137 ] || fail "the failpoint did not kill spoold (exit $rc)"
[ "$(sqlite3 "$DB" "SELECT state FROM v_orders WHERE transaction_id = \
    'CRASH'")" = acknowledged ] || fail "the Ack was not committed"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM outbound WHERE written_at IS \
    NULL")" -eq 1 ] || fail "no unwritten reply after the crash"
[ -z "$(ls "$T"/spool/outgoing/acme/*CRASH* 2>/dev/null)" ] ||
    fail "the reply was written before the crash point"
expect_exit 0 $SPOOLD -c "$T/spoold.conf" --once
check_acks 12
ok "crash between COMMIT and the reply: written once at restart"

# A crash after the rename, before the store notes it: not doubled.
po acme CRASH2 1 0 PurchaseOrderCreate "<OrderNumber>ON-C2</OrderNumber>$LINES" |
    drop acme crash2.xml
set +e
SPOOLD_FAILPOINT=outbound-mark $SPOOLD -c "$T/spoold.conf" --once \
    >>"$T/log" 2>&1
rc=$?
set -e
[ "$rc" -eq 137 ] || fail "the failpoint did not kill spoold (exit $rc)"
f=$(ls "$T"/spool/outgoing/acme/*CRASH2*)
ino=$(stat -c %i "$f")
expect_exit 0 $SPOOLD -c "$T/spoold.conf" --once
check_acks 13
[ "$(stat -c %i "$f")" = "$ino" ] || fail "the reply was written again"
ok "crash between the rename and its note: not written twice"

# Over-delivery through the daemon: refused, with its numbers.
po globex OVER 1 0 PurchaseOrderCreate "<OrderNumber>ON-O</OrderNumber>$LINES" |
    drop globex o1.xml
po globex OVER 2 1 PurchaseOrderAccept "<OrderNumber>ON-O</OrderNumber>" |
    drop globex o2.xml
po globex OVER 3 1 DeliveryNote "<DeliveryNumber>D9</DeliveryNumber><Line number=\"2\"><Item>SKU-2</Item><Quantity>6</Quantity></Line>" |
    drop globex o3.xml
expect_exit 0 $SPOOLD -c "$T/spoold.conf" --once
grep -q "^over-delivery: DeliveryNote line 2 delivers 6 of SKU-2, but 0 of the 5 ordered" \
    "$T"/spool/failed/globex,OVER,3,*.reason || fail "over-delivery not refused"
[ "$(sqlite3 "$DB" "SELECT state FROM v_orders WHERE transaction_id = \
    'OVER'")" = accepted ] || fail "over-delivery changed the order"
ok "over-delivery refused with its numbers"

# Stale in the one pass: in one batch, arriving in order, a Create is
# applied with its acceptance (its Ack takes our number 1), then a Cancel
# that has not seen that Ack is stale, a conflict; one that has seen it
# cancels. Each is judged by our number as the message before it left it.
po globex STL 1 0 PurchaseOrderCreate "<OrderNumber>ON-S</OrderNumber>$LINES" |
    drop globex s1.xml
po globex STL 2 0 PurchaseOrderCancel "<OrderNumber>ON-S</OrderNumber>" |
    drop globex s2.xml
po globex STF 1 0 PurchaseOrderCreate "<OrderNumber>ON-F</OrderNumber>$LINES" |
    drop globex f1.xml
po globex STF 2 1 PurchaseOrderCancel "<OrderNumber>ON-F</OrderNumber>" |
    drop globex f2.xml
t=$(($(date +%s) - 100))
for f in s1 s2 f1 f2; do
	t=$((t + 10))
	touch -d "@$t" "$T/spool/incoming/globex/$f.xml"
done
expect_exit 0 $SPOOLD -c "$T/spoold.conf" --once
grep -q "event=batch files=4 ready=4" "$T/out" ||
    fail "not one batch of 4 ready: $(grep event=batch "$T/out")"
[ "$(sqlite3 "$DB" "SELECT group_concat(sender_seq || state || stale) FROM \
    (SELECT * FROM messages WHERE transaction_id = 'STL' ORDER BY \
    sender_seq)")" = "1done0,2failed1" ] || fail "STL: $(sqlite3 "$DB" \
    "SELECT sender_seq, state, stale, reason FROM messages WHERE \
    transaction_id = 'STL'")"
grep -q "ReceiverSequence 0 is lower than 1" \
    "$T"/spool/failed/globex,STL,2,*.reason || fail "STL 2: no conflict"
[ "$(sqlite3 "$DB" "SELECT group_concat(sender_seq || state || stale) FROM \
    (SELECT * FROM messages WHERE transaction_id = 'STF' ORDER BY \
    sender_seq)")" = "1done0,2done0" ] || fail "STF not applied"
[ "$(sqlite3 "$DB" "SELECT state FROM v_orders WHERE transaction_id = \
    'STF'")" = cancelled ] || fail "STF not cancelled"
ok "stale in the one pass: judged by our number as the message before left it"

# spoolctl show --tx: the order's revisions and the replies.
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" show --tx acme PO1
expect_out "order ON-PO1"
expect_out "acknowledged         PurchaseOrderAck     outbound #"
expect_out "invoiced             Invoice"
expect_out "PurchaseOrderAck     answers 1     written acme,PO1,1,PurchaseOrderAck,"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" show --tx acme PO1 --json
jq -e '[.revisions[].state] == ["open", "acknowledged", "accepted",
    "partially_delivered", "delivered", "invoiced"] and
    .revisions[1].outbound == .outbound[0].id and
    .revisions[0].message == .outbound[0].cause and
    .outbound[0].sender_seq == 1 and .outbound[0].receiver_seq == 1 and
    .outbound[0].written_at != null and
    .outbound[0].type == "PurchaseOrderAck"' "$T/out" >/dev/null ||
    { cat "$T/out" >&2; fail "show --tx --json lacks revisions or outbound"; }
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" show --tx acme CRASH --json
jq -e '.revisions | length == 2' "$T/out" >/dev/null || fail "CRASH revisions"
ok "spoolctl show --tx shows revisions and outbound messages"
