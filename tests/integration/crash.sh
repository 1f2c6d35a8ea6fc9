#!/bin/sh
# crash.sh - kill spoold with SIGKILL again and again while it accepts
# and processes a shuffled ledger workload, and restart it: at the end no
# message is missing, none was applied twice (the ledger is exact), every
# file lies where the store says, and incoming/ is empty.
#
# Most kills come at a random moment; some at the worst points on
# purpose (SPOOLD_FAILPOINT): after an acceptance batch or a cycle has
# committed and before its files were moved, and after a reply was
# recorded and before its file was written. Purchase orders with
# auto_ack run alongside: each ends with exactly one reply in
# outgoing/.
. "$(dirname "$0")/lib.sh"

# The exec handler logs each call: partner, transaction, sequence, id.
cat >"$T/handler.sh" <<'SH'
#!/bin/sh
cat >/dev/null
echo "$SPOOLD_PARTNER $SPOOLD_TRANSACTION_ID $SPOOLD_SEQUENCE $SPOOLD_MESSAGE_ID" \
    >>"$EXEC_LOG"
SH
chmod +x "$T/handler.sh"
export EXEC_LOG="$T/exec.log"
: >"$EXEC_LOG"

write_conf
cat >>"$T/spoold.conf" <<CONF
batch_size = 8
chunk_size = 2
[route InventoryMovement]
handler = ledger
[route ExecNote]
handler = exec
command = $T/handler.sh
[route PurchaseOrderCreate]
handler = orders
auto_ack = yes
[route PurchaseOrderAccept]
handler = orders
[route DeliveryNote]
handler = orders
[route Invoice]
handler = orders
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
ledger_workload "$T/work"
# Plus 2 exec transactions of 5 messages per partner.
exec_total=0
for p in acme globex initech; do
	for t in EX1 EX2; do
		for s in 1 2 3 4 5; do
			msg "$p" "$t" "$s" ExecNote >"$T/work/$p,$t,$s.xml"
			exec_total=$((exec_total + 1))
		done
	done
done
# Plus 3 purchase orders per partner: Create (answered), Accept,
# DeliveryNote, Invoice.
po() {
	printf '<%s><Header><Sender>%s</Sender><TransactionId>%s</TransactionId>' \
	    "$4" "$1" "$2"
	printf '<SenderSequence>%s</SenderSequence><ReceiverSequence>%s' "$3" \
	    "$((${3} > 1))"
	printf '</ReceiverSequence></Header><Body>%s</Body></%s>\n' "$5" "$4"
}
order_total=0
for p in acme globex initech; do
	for t in PO1 PO2 PO3; do
		w="$T/work/$p,$t"
		po "$p" "$t" 1 PurchaseOrderCreate "<OrderNumber>N</OrderNumber><Line number=\"1\"><Item>I</Item><Quantity>2</Quantity></Line>" >"$w,1.xml"
		po "$p" "$t" 2 PurchaseOrderAccept "<OrderNumber>N</OrderNumber>" >"$w,2.xml"
		po "$p" "$t" 3 DeliveryNote "<DeliveryNumber>D</DeliveryNumber><Line number=\"1\"><Item>I</Item><Quantity>2</Quantity></Line>" >"$w,3.xml"
		po "$p" "$t" 4 Invoice "<InvoiceNumber>V</InvoiceNumber><Line number=\"1\"><Item>I</Item><Quantity>2</Quantity><Amount>5</Amount></Line><Total>5</Total>" >"$w,4.xml"
		order_total=$((order_total + 4))
	done
done
ls "$T/work" | shuf >"$T/order"

# Drop the files in 25 slices; kill spoold once per slice.
slices=25
lines=$(wc -l <"$T/order")
per=$(( (lines + slices - 1) / slices ))
i=0
kills=0
while [ "$i" -lt "$slices" ]; do
	sed -n "$((i * per + 1)),$(((i + 1) * per))p" "$T/order" |
	    while read -r f; do drop_file "$f"; done
	case $((i % 5)) in
	1) fp=accept-commit ;;
	3) fp=cycle-commit ;;
	4) if [ $((i % 10)) -eq 4 ]; then fp=outbound-write; else fp=outbound-mark; fi ;;
	*) fp= ;;
	esac
	: >"$T/log"
	SPOOLD_FAILPOINT=$fp $SPOOLD -c "$T/spoold.conf" >>"$T/log" 2>&1 &
	DAEMON_PID=$!
	if [ -z "$fp" ]; then
		# A random moment: between 0 and 0.25 s into the run. The
		# sleep is the crash's timing, not a synchronisation.
		sleep "0.$(shuf -i 0-25 -n 1 | xargs printf '%02d')"
		kill -KILL "$DAEMON_PID" 2>/dev/null || true
	else
		# The failpoint kills it; wait for that (or for the slice
		# to be done if nothing reached the point).
		wait_until 20 '! kill -0 "$DAEMON_PID" 2>/dev/null || \
		    [ -z "$(find "$T/spool/incoming" -type f)" ]' || true
		kill -KILL "$DAEMON_PID" 2>/dev/null || true
	fi
	wait "$DAEMON_PID" 2>/dev/null || true
	DAEMON_PID=
	kills=$((kills + 1))
	i=$((i + 1))
done
ok "spoold killed $kills times while working"

# Recovery: one clean run to the end.
expect_exit 0 timeout 120 $SPOOLD -c "$T/spoold.conf" --once
total=$WL_TOTAL
dups=$WL_DUPS
[ -z "$(find "$T/spool/incoming" -type f)" ] || fail "files left in incoming/"
all=$((total + dups + exec_total + order_total))
n=$(sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM messages")
[ "$n" -eq "$all" ] || fail "$n messages recorded, want $all"
[ "$(sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM messages WHERE \
    state <> 'done'")" -eq 0 ] || {
	sqlite3 "$T/spool/spool.db" "SELECT id, state, reason FROM messages \
	    WHERE state <> 'done'" >&2
	fail "messages not done"
}
ok "nothing missing: $total + $exec_total + $order_total messages and $dups duplicates, all done"

# exec: every message called at least once, and within a transaction the
# calls never went back to an earlier number (a repeat after a crash is
# the same number again, with the same SPOOLD_MESSAGE_ID).
for id in $(sqlite3 "$T/spool/spool.db" "SELECT id FROM messages WHERE \
    type = 'ExecNote'"); do
	awk -v id="$id" '$4 == id { f = 1 } END { exit !f }' "$EXEC_LOG" ||
	    fail "exec never called for message $id"
done
awk '{ k = $1 " " $2; if (k in last && $3 < last[k]) bad++; last[k] = $3 }
    END { exit bad > 0 }' "$EXEC_LOG" || fail "exec calls out of order"
calls=$(wc -l <"$EXEC_LOG")
ok "exec: $exec_total messages, $calls calls, each at least once, in order"

check_ledger
[ "$(sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM ledger_moves")" \
    -eq "$total" ] || fail "a movement was applied twice or lost"
ok "ledger exact after $kills kills"

[ "$(count done)" -eq "$all" ] ||
    fail "done/ holds $(count done) files, want $all"
for d in queue parked deferred failed rejected; do
	[ "$(count "$d")" -eq 0 ] || fail "files left in $d/"
done
ok "every file lies where the store says"

# Orders: each invoiced, with one reply, written once, numbered 1.
[ "$(sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM v_orders WHERE \
    state = 'invoiced' AND revision = 5")" -eq 9 ] || {
	sqlite3 "$T/spool/spool.db" "SELECT * FROM v_orders" >&2
	fail "orders not all invoiced with 5 revisions"
}
[ "$(sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM outbound WHERE \
    written_at IS NOT NULL AND sender_seq = 1 AND receiver_seq = 1")" -eq 9 ] ||
    fail "not one written reply per order"
[ "$(find "$T/spool/outgoing" -type f ! -name '.*' | wc -l)" -eq 9 ] ||
    fail "outgoing/ does not hold exactly one reply per order"
[ -z "$(find "$T/spool/outgoing" -name '.*' -type f)" ] ||
    fail "a partial reply is left in outgoing/"
ok "orders exact after $kills kills: one reply each, none doubled or partial"
