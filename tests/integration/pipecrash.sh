#!/bin/sh
# pipecrash.sh - kill spoold with SIGKILL again and again while its
# acceptance pipeline (accept_pipe.c: parse threads preparing the next
# files and batch while the store thread records, commits and moves the
# current one) is full, and restart it: at the end no message is
# missing, none was recorded or applied twice, every transaction was
# applied in order (the ledger is exact), every file lies where the store
# says, and incoming/ is empty.
#
# A backlog larger than one batch (ACCEPT_BATCH_MAX) is there from the
# start, so that two batches are in the pipe at once; more files come
# between the kills. Most kills come at a random moment; every fourth
# after an acceptance COMMIT and before its renames
# (SPOOLD_FAILPOINT=accept-commit), when the next batch is prepared and
# not recorded.
. "$(dirname "$0")/lib.sh"

write_conf
cat >>"$T/spoold.conf" <<CONF
parse_threads = 3
[route InventoryMovement]
handler = ledger
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1

# 3 partners x 100 transactions of 8..38 movements: +3 at odd sequence
# numbers, -3 at even ones (the ledger refuses a negative stock, so only
# in-order, exactly-once application ends at 0 or 3); a redelivered copy
# of every 10th file. Named PARTNER,TX,SEQ[.dup].xml.
mkdir -p "$T/work"
awk -v dir="$T/work" 'BEGIN {
	split("acme globex initech", ps, " ")
	for (pi = 1; pi <= 3; pi++) for (t = 1; t <= 100; t++) {
		p = ps[pi]; n = 8 + (t * 7 + pi) % 31
		for (s = 1; s <= n; s++) {
			x = sprintf("<InventoryMovement><Header><MessageId>" \
			    "%s-TX%d-%d</MessageId><Sender>%s</Sender>" \
			    "<TransactionId>TX%d</TransactionId>" \
			    "<SenderSequence>%d</SenderSequence>" \
			    "<ReceiverSequence>0</ReceiverSequence></Header>" \
			    "<Body><Item>ITEM-%s-TX%d</Item><Warehouse>W1" \
			    "</Warehouse><Quantity>%d</Quantity></Body>" \
			    "</InventoryMovement>", p, t, s, p, t, s, p, t,
			    s % 2 ? 3 : -3)
			f = sprintf("%s/%s,TX%d,%d", dir, p, t, s)
			print x >(f ".xml")
			close(f ".xml")
			total++
			if (total % 10 == 0) {
				print x >(f ".dup.xml")
				close(f ".dup.xml")
				dups++
			}
		}
		printf "%s TX%d %d\n", p, t, 3 * (n % 2) >(dir "/../want")
	}
	printf "%d %d\n", total, dups >(dir "/../counts")
}'
read -r total dups <"$T/counts"
all=$((total + dups))
ls "$T/work" | shuf >"$T/order"
mkdir -p "$T/spool/incoming/acme" "$T/spool/incoming/globex" \
    "$T/spool/incoming/initech"

# drop_slice FROM TO: lines FROM..TO of the order, moved into incoming/
# in that order (one mv per partner and slice).
drop_slice() {
	for p in acme globex initech; do
		sed -n "$1,$2p" "$T/order" | grep "^$p," |
		    sed "s|^|$T/work/|" | xargs -r mv -t "$T/spool/incoming/$p"
	done
}

# The backlog: 2,500 files (more than two batches of 1,024).
backlog=2500
drop_slice 1 "$backlog"
rounds=24
rest=$((all - backlog))
per=$(( (rest + rounds - 1) / rounds ))
i=0
kills=0
piped=0
while [ "$i" -lt "$rounds" ]; do
	from=$((backlog + i * per + 1))
	drop_slice "$from" $((from + per - 1))
	fp=
	[ $((i % 4)) -eq 1 ] && fp=accept-commit
	: >"$T/log"
	SPOOLD_FAILPOINT=$fp $SPOOLD -c "$T/spoold.conf" >>"$T/log" 2>&1 &
	DAEMON_PID=$!
	if [ -z "$fp" ]; then
		# A random moment 0 to 0.4 s after start-up (which restores
		# the files an accept-commit kill left unmoved): the sleep is
		# the crash's timing, not a synchronisation.
		wait_until 60 'grep -q "event=start " "$T/log" || \
		    ! kill -0 "$DAEMON_PID" 2>/dev/null' || true
		sleep "0.$(shuf -i 0-40 -n 1 | xargs printf '%02d')"
	else
		wait_until 20 '! kill -0 "$DAEMON_PID" 2>/dev/null || \
		    [ -z "$(find "$T/spool/incoming" -type f)" ]' || true
	fi
	kill -KILL "$DAEMON_PID" 2>/dev/null || true
	wait "$DAEMON_PID" 2>/dev/null || true
	DAEMON_PID=
	if grep -q "event=batch" "$T/log"; then
		grep -q "event=accept status=pipeline parse_threads=3" \
		    "$T/log" || {
			grep -v "event=\(accept\|done\|restore\|duplicate\) " \
			    "$T/log" | head -20 >&2
			fail "round $i: accepted without the pipeline"
		}
		piped=$((piped + 1))
	fi
	kills=$((kills + 1))
	i=$((i + 1))
done
# (Sanitizer builds are several times slower: fewer runs get that far.)
need=$((rounds / 2))
sanitized && need=$((rounds / 8))
[ "$piped" -ge "$need" ] ||
    fail "only $piped of $rounds runs accepted a batch before the kill"
ok "spoold killed $kills times with its acceptance pipeline full ($piped accepting)"

# Recovery: one clean run to the end.
expect_exit 0 timeout 120 $SPOOLD -c "$T/spoold.conf" --once
grep -q "event=accept status=pipeline parse_threads=3" "$T/out" ||
    fail "the last run accepted without its pipeline"
[ -z "$(find "$T/spool/incoming" -type f)" ] || fail "files left in incoming/"
n=$(sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM messages")
[ "$n" -eq "$all" ] || fail "$n messages recorded, want $all"
[ "$(sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM messages WHERE \
    state <> 'done'")" -eq 0 ] || {
	sqlite3 "$T/spool/spool.db" "SELECT id, state, reason FROM messages \
	    WHERE state <> 'done'" >&2
	fail "messages not done"
}
[ "$(sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM messages WHERE \
    duplicate_of IS NOT NULL")" -eq "$dups" ] ||
    fail "not $dups duplicates"
ok "nothing lost or doubled: $total messages and $dups duplicates, all done"

while read -r p t want; do
	got=$(sqlite3 "$T/spool/spool.db" "SELECT quantity FROM v_stock \
	    WHERE item = 'ITEM-$p-$t'")
	[ "$got" = "$want" ] || fail "ITEM-$p-$t balance $got, want $want"
done <"$T/want"
[ "$(sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM ledger_moves")" \
    -eq "$total" ] || fail "a movement was applied twice or lost"
ok "ledger exact, every transaction in order, after $kills kills"

[ "$(count done)" -eq "$all" ] ||
    fail "done/ holds $(count done) files, want $all"
for d in queue parked deferred failed rejected; do
	[ "$(count "$d")" -eq 0 ] || fail "files left in $d/"
done
ok "every file lies where the store says"
