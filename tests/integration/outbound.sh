#!/bin/sh
# outbound.sh - messages written by an exec program to SPOOLD_OUTBOUND:
# sent only if it exits 0, each stamped with the transaction's ID, our
# next SenderSequence and the number it answers, validated, written once
# to outgoing/<partner>/; refused whole when one does not validate; order
# messages checked by the orders life cycle and kept as revisions.
. "$(dirname "$0")/lib.sh"

cat >"$T/h.sh" <<'EOF2'
#!/bin/sh
cat >/dev/null
ack() {
	printf '<?xml version="1.0"?>\n<PurchaseOrderAck><Header><Sender>ERP</Sender>'
	printf '<SenderSequence>99</SenderSequence></Header>'
	printf '<Body><OrderNumber>%s</OrderNumber></Body></PurchaseOrderAck>\n' "$1"
}
case $SPOOLD_TRANSACTION_ID in
OK)
	# Two messages in one file; the program's numbers are replaced.
	{ ack "ON-$SPOOLD_SEQUENCE-a"; ack "ON-$SPOOLD_SEQUENCE-b"; } \
	    >"$SPOOLD_OUTBOUND"
	exit 0 ;;
FAIL)
	ack ON-F >"$SPOOLD_OUTBOUND"
	echo "ERP refused it" >&2
	exit 65 ;;
TEMP)
	ack "ON-T-$SPOOLD_ATTEMPT" >"$SPOOLD_OUTBOUND"
	[ "$SPOOLD_ATTEMPT" -ge 2 ] && exit 0
	echo "busy" >&2
	exit 75 ;;
ORD)
	# The ERP answers the order: an Ack at 2, a DeliveryNote at 3
	# (which the life cycle does not allow before acceptance).
	if [ "$SPOOLD_SEQUENCE" -eq 2 ]; then
		ack ON-ORD >"$SPOOLD_OUTBOUND"
	else
		printf '<DeliveryNote><Header/><Body><DeliveryNumber>D</DeliveryNumber><Line number="1"><Item>SKU-1</Item><Quantity>1</Quantity></Line></Body></DeliveryNote>' \
		    >"$SPOOLD_OUTBOUND"
	fi
	exit 0 ;;
BAD)
	{ ack ON-B; printf '<PurchaseOrderAck><Header/><Body/></PurchaseOrderAck>'; } \
	    >"$SPOOLD_OUTBOUND"
	exit 0 ;;
esac
exit 0
EOF2
chmod +x "$T/h.sh"

write_conf
cat >>"$T/spoold.conf" <<CONF
[route ExecNote]
handler = exec
command = $T/h.sh
[route PurchaseOrderCreate]
handler = orders
[retry]
initial_delay = 1s
jitter = 0
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
DB="$T/spool/spool.db"

for s in 1 2; do msg acme OK "$s" ExecNote | drop acme "ok$s.xml"; done
msg acme FAIL 1 ExecNote | drop acme fail.xml
msg acme TEMP 1 ExecNote | drop acme temp.xml
msg acme BAD 1 ExecNote | drop acme bad.xml
cat <<XML | drop acme ord1.xml
<PurchaseOrderCreate><Header><Sender>acme</Sender><TransactionId>ORD</TransactionId>
<SenderSequence>1</SenderSequence><ReceiverSequence>0</ReceiverSequence></Header>
<Body><OrderNumber>ON-ORD</OrderNumber><Line number="1"><Item>SKU-1</Item>
<Quantity>3</Quantity></Line></Body></PurchaseOrderCreate>
XML
for s in 2 3; do msg acme ORD "$s" ExecNote | drop acme "ord$s.xml"; done
start_daemon
settled() {
	[ "$(sqlite3 "$DB" "SELECT count(*) FROM messages WHERE state IN \
	    ('done', 'failed')")" -eq 8 ]
}
wait_until 60 settled || {
	sqlite3 "$DB" "SELECT id, transaction_id, state, reason FROM messages" >&2
	fail "exec messages not finished"
}
stop_daemon

# OK: four Acks, numbered 1..4 by us, answering 1, 1, 2, 2.
got=$(sqlite3 "$DB" "SELECT group_concat(sender_seq || ':' || receiver_seq, \
    ' ') FROM (SELECT * FROM outbound WHERE transaction_id = 'OK' ORDER BY id)")
[ "$got" = "1:1 2:1 3:2 4:2" ] || fail "OK numbered $got"
[ "$(sqlite3 "$DB" "SELECT out_seq FROM transactions WHERE \
    transaction_id = 'OK'")" -eq 4 ] || fail "out_seq of OK"
for f in "$T"/spool/outgoing/acme/acme,OK,*; do
	xmllint --noout --schema "$top_srcdir/schemas/PurchaseOrderAck.xsd" \
	    "$f" 2>/dev/null || fail "$f does not validate"
	grep -q '<SenderSequence>99' "$f" && fail "$f kept the program's number"
	grep -q '<TransactionId>OK</TransactionId>' "$f" || fail "$f: no tx"
	grep -q '<Sender>ERP</Sender>' "$f" || fail "$f: Sender not kept"
	grep -q '<Recipient>acme</Recipient>' "$f" || fail "$f: Recipient"
done
[ "$(ls "$T"/spool/outgoing/acme/acme,OK,* | wc -l)" -eq 4 ] ||
    fail "OK: not 4 files"
grep -q '<OrderNumber>ON-2-b</OrderNumber>' \
    "$T"/spool/outgoing/acme/acme,OK,4,* || fail "OK 4 carries the wrong body"
ok "exit 0: every message written is stamped, validated and sent"

# Our counter survives a restart: the next call in OK goes on at 5.
msg acme OK 3 ExecNote | drop acme ok3.xml
expect_exit 0 $SPOOLD -c "$T/spoold.conf" --once
got=$(sqlite3 "$DB" "SELECT group_concat(sender_seq || ':' || receiver_seq, \
    ' ') FROM (SELECT * FROM outbound WHERE transaction_id = 'OK' ORDER BY id)")
[ "$got" = "1:1 2:1 3:2 4:2 5:3 6:3" ] || fail "OK after restart: $got"
[ "$(ls "$T"/spool/outgoing/acme/acme,OK,* | wc -l)" -eq 6 ] ||
    fail "OK: not 6 files after the restart"
ok "our SenderSequence goes on across restarts"

# FAIL: exit 65, nothing sent.
[ -z "$(ls "$T"/spool/outgoing/acme/*FAIL* 2>/dev/null)" ] ||
    fail "a failed call's message was sent"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM outbound WHERE transaction_id = \
    'FAIL'")" -eq 0 ] || fail "a failed call's message was recorded"
# TEMP: the first attempt's message is dropped, the second's sent once.
[ "$(ls "$T"/spool/outgoing/acme/*TEMP* | wc -l)" -eq 1 ] ||
    fail "TEMP: not exactly one file"
grep -q '<OrderNumber>ON-T-2</OrderNumber>' "$T"/spool/outgoing/acme/*TEMP* ||
    fail "TEMP: the wrong attempt's message was sent"
ok "only a call that exits 0 sends what it wrote"

# BAD: one message does not validate: none is sent, the message failed.
[ -z "$(ls "$T"/spool/outgoing/acme/*BAD* 2>/dev/null)" ] ||
    fail "BAD: something was sent"
grep -q "^the program exited 0, but what it wrote to SPOOLD_OUTBOUND is refused: outbound PurchaseOrderAck to acme does not validate" \
    "$T"/spool/failed/acme,BAD,1,*.reason || fail "BAD: reason"
[ "$(sqlite3 "$DB" "SELECT status FROM exec_calls e JOIN messages m ON \
    m.id = e.message WHERE m.transaction_id = 'BAD'")" = invalid ] ||
    fail "BAD: the call is not invalid"
[ -z "$(find "$T/spool" -maxdepth 1 -name '.outbound.*')" ] ||
    fail "SPOOLD_OUTBOUND files left behind"
ok "a refused outbound message fails the call and sends nothing"

# ORD: the ERP's Ack is the order's revision 2, caused by the outbound
# message; its DeliveryNote before acceptance is refused by the life
# cycle, and not sent.
[ "$(sqlite3 "$DB" "SELECT state || ' ' || revision FROM v_orders WHERE \
    transaction_id = 'ORD'")" = "acknowledged 2" ] || fail "ORD not acknowledged"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM v_order_history h JOIN outbound o \
    ON o.id = h.outbound WHERE h.transaction_id = 'ORD' AND h.revision = 2 \
    AND h.message_type = 'PurchaseOrderAck'")" -eq 1 ] ||
    fail "ORD: the Ack is not a revision caused by the outbound message"
grep -q "DeliveryNote is not allowed for order ON-ORD in state acknowledged" \
    "$T"/spool/failed/acme,ORD,3,*.reason || fail "ORD 3: reason"
[ "$(ls "$T"/spool/outgoing/acme/*ORD* | wc -l)" -eq 1 ] ||
    fail "ORD: the refused DeliveryNote was sent"
ok "an exec program's order messages go through the life cycle"
