#!/bin/sh
# stop.sh - SIGTERM in the middle of a long run of work: spoold stops
# within the batch or chunk in hand, starts nothing new after the signal
# (no acceptance batch, no cycle, no exec call), and a restart goes on
# from where it stopped, nothing lost or done twice.
. "$(dirname "$0")/lib.sh"

# gen DIR PARTNER TX FROM TO: InventoryMovements FROM..TO of one
# transaction (+3 at odd sequence numbers, -3 at even ones: only
# in-order, exactly-once application keeps the stock >= 0), or with TX
# "-" ProductInfo messages without a transaction; one awk, no fork each.
gen() {
	awk -v dir="$1" -v p="$2" -v tx="$3" -v from="$4" -v to="$5" 'BEGIN {
	for (s = from; s <= to; s++) {
		f = dir "/" p "," tx "," s ".xml"
		if (tx == "-") {
			printf "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
			    "<ProductInfo><Header><MessageId>%s-%d</MessageId>" \
			    "<Sender>%s</Sender></Header><Body><Item>SKU-%d" \
			    "</Item></Body></ProductInfo>\n", p, s, p, s > f
		} else {
			printf "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
			    "<InventoryMovement><Header><MessageId>%s-%s-%d" \
			    "</MessageId><Sender>%s</Sender><TransactionId>%s" \
			    "</TransactionId><SenderSequence>%d</SenderSequence>" \
			    "<ReceiverSequence>0</ReceiverSequence></Header>" \
			    "<Body><Item>ITEM-%s</Item><Warehouse>W1</Warehouse>" \
			    "<Quantity>%d</Quantity></Body></InventoryMovement>\n",
			    p, tx, s, p, tx, s, tx, s % 2 ? 3 : -3 > f
		}
		close(f)
	}}'
}

rows() {
	sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM messages $1"
}

# wait_exit SECONDS: spoold ($DAEMON_PID) has exited within SECONDS;
# its exit status in $rc.
wait_exit() {
	wait_until "$1" '! kill -0 "$DAEMON_PID" 2>/dev/null' ||
	    fail "spoold still runs $1 s after SIGTERM"
	set +e
	wait "$DAEMON_PID"
	rc=$?
	set -e
	DAEMON_PID=
}

# 1. A backlog of exec messages and a slow program with two workers:
# SIGTERM while the backlog is being accepted. No acceptance batch, no
# cycle and no exec call starts after it.
write_conf
cat >"$T/prog" <<PROG
#!/bin/sh
date +%s%N >>"$T/starts"
cat >/dev/null
sleep 0.2
PROG
chmod +x "$T/prog"
cat >>"$T/spoold.conf" <<CONF
workers = 2
[route *]
handler = exec
command = $T/prog
timeout = 30s
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
mkdir -p "$T/spool/incoming/acme"
gen "$T/spool/incoming/acme" acme - 1 3000
: >"$T/starts"
# SIGTERM right after the first acceptance batch commits (whatever the
# machine's speed): no other batch, no cycle and so no exec call follows.
SPOOLD_FAILPOINT=accept-commit@1:TERM start_daemon
wait_exit 20
[ "$rc" -eq 0 ] || fail "spoold exited $rc after SIGTERM"
[ "$(count queue)" -gt 0 ] || fail "nothing accepted"
late=$(wc -l <"$T/starts")
[ "$late" -eq 0 ] || fail "$late exec calls started after SIGTERM"
left=$(find "$T/spool/incoming/acme" -type f | wc -l)
[ "$left" -gt 0 ] || fail "the whole backlog was accepted after SIGTERM"
! grep -q "event=cycle" "$T/log" || fail "a cycle ran after SIGTERM"
ok "SIGTERM during acceptance: $left files left, no exec call after it"

# The rest of the work is done by a restart, each message once.
sed -i 's/^workers = 2$/workers = 8/; s/sleep 0.2//' "$T/spoold.conf" \
    "$T/prog"
expect_exit 0 $SPOOLD -c "$T/spoold.conf" --once
[ "$(rows "WHERE state = 'done'")" -eq 3000 ] ||
    fail "$(rows "WHERE state = 'done'") of 3000 done after restart"
ok "a restart does the rest"

# 2. A long cycle: a transaction of N movements waits parked behind its
# first message; the first arrives and one cycle releases the whole run.
# SIGTERM during that cycle ends it between two chunks: what was applied
# commits, the rest stays (released ones go to queue/).
N=10000
rm -rf "$T/spool"
write_conf
cat >>"$T/spoold.conf" <<CONF
batch_size = 100000
chunk_size = 1
[route *]
handler = ledger
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
mkdir -p "$T/spool/incoming/acme" "$T/stage"
gen "$T/spool/incoming/acme" acme TX 2 "$N"
# SIGTERM at the 100th chunk of the cycle that the first message starts
# (each chunk is one message): a signal in the middle of a cycle, whatever
# the machine's speed.
SPOOLD_FAILPOINT=cycle-chunk@100:TERM start_daemon
wait_until 120 '[ "$(count parked)" -eq $((N - 1)) ]' ||
    fail "$(count parked) parked, want $((N - 1))"
gen "$T/stage" acme TX 1 1
mv "$T/stage/acme,TX,1.xml" "$T/spool/incoming/acme/"
wait_until 20 'grep -q "event=batch files=1 ready=1" "$T/log"' ||
    fail "the first message not accepted"
wait_exit 20
[ "$rc" -eq 0 ] || fail "spoold exited $rc after SIGTERM"
grep -q "event=cycle .*status=stopped" "$T/log" ||
    fail "the cycle was not stopped"
done_n=$(rows "WHERE state = 'done'")
[ "$done_n" -lt "$N" ] || fail "the whole cycle ran after SIGTERM"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" check
ok "SIGTERM in a cycle of $N: stopped after $done_n"

expect_exit 0 $SPOOLD -c "$T/spoold.conf" --once
[ "$(rows "WHERE state = 'done'")" -eq "$N" ] ||
    fail "$(rows "WHERE state = 'done'") of $N done after restart"
q=$(sqlite3 "$T/spool/spool.db" "SELECT quantity FROM v_stock WHERE \
    item = 'ITEM-TX'")
[ "$q" = $((3 * (N % 2))) ] || fail "stock $q, want $((3 * (N % 2)))"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" check
ok "a restart applies the rest in order, each once"
