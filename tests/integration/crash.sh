#!/bin/sh
# crash.sh - kill spoold with SIGKILL again and again while it accepts
# and processes a shuffled ledger workload, and restart it: at the end no
# message is missing, none was applied twice (the ledger is exact), every
# file lies where the store says, and incoming/ is empty.
#
# Most kills come at a random moment; some at the two worst points on
# purpose (SPOOLD_FAILPOINT): after an acceptance batch or a cycle has
# committed and before its files were moved.
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
n=$(sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM messages")
[ "$n" -eq $((total + dups + exec_total)) ] ||
    fail "$n messages recorded, want $((total + dups + exec_total))"
[ "$(sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM messages WHERE \
    state <> 'done'")" -eq 0 ] || {
	sqlite3 "$T/spool/spool.db" "SELECT id, state, reason FROM messages \
	    WHERE state <> 'done'" >&2
	fail "messages not done"
}
ok "nothing missing: $total + $exec_total messages and $dups duplicates, all done"

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

[ "$(count done)" -eq $((total + dups + exec_total)) ] ||
    fail "done/ holds $(count done) files, want $((total + dups + exec_total))"
for d in queue parked deferred failed rejected; do
	[ "$(count "$d")" -eq 0 ] || fail "files left in $d/"
done
ok "every file lies where the store says"
