#!/bin/sh
# onepass.sh - one pass for what is ready (issue 20, item 1).
#
# 1. A ready message routed to the ledger is applied with its acceptance
#    and renamed once: inotify sees one IN_MOVED_TO in done/ and none in
#    queue/ (nor in parked/).
# 2. A gap closed by an acceptance: its run goes on, in order; a
#    successor accepted in the same batch is applied in the same pass.
# 3. An exec-routed ready message keeps today's path (queue/, then the
#    runner).
# 4. Killed between the COMMIT and the rename (failpoint accept-commit):
#    after a restart the message is in done/ once and applied once.
# 5. A ready message its handler refuses in the pass (its row is written
#    done with the application, so the refusal takes both back): failed/
#    once, its row failed after one attempt, with that attempt's error,
#    nothing of it applied, counted failed and not processed; the next
#    message of its transaction is not released.
. "$(dirname "$0")/lib.sh"

command -v inotifywait >/dev/null 2>&1 || { echo "no inotifywait"; exit 77; }
command -v sqlite3 >/dev/null 2>&1 || { echo "no sqlite3"; exit 77; }
ledger_spool
mkdir -p "$T/spool/incoming/acme"

INW=
trap '[ -z "$INW" ] || kill $INW 2>/dev/null || true; cleanup' EXIT

# watch FILE DIR...: IN_MOVED_TO and IN_CREATE in DIRs, into FILE.
watch() {
	out=$1
	shift
	: >"$T/inw.err"
	inotifywait -m -e moved_to,create --format '%e %w%f' "$@" \
	    >"$out" 2>"$T/inw.err" &
	INW=$!
	i=0
	until grep -qs 'Watches established' "$T/inw.err"; do
		[ "$i" -lt 100 ] || fail "inotifywait did not start"
		inotifywait -qq -t 1 -e modify "$T/inw.err" 2>/dev/null || true
		i=$((i + 1))
	done
}
unwatch() {
	kill "$INW" 2>/dev/null || true
	wait "$INW" 2>/dev/null || true
	INW=
}

# 1: one rename, incoming/ -> done/.
start_daemon
watch "$T/seen" "$T/spool/queue" "$T/spool/done" "$T/spool/parked"
mv_msg acme TX 1 5 >"$T/m1.xml"
cp "$T/m1.xml" "$T/spool/incoming/acme/.m1.xml"
mv "$T/spool/incoming/acme/.m1.xml" "$T/spool/incoming/acme/m1.xml"
wait_until 20 '[ "$(count done)" -eq 1 ]' || fail "m1 not done"
wait_until 20 'grep -q "MOVED_TO .*/done/" "$T/seen"' ||
    fail "no IN_MOVED_TO in done/"
unwatch
[ "$(grep -c 'MOVED_TO' "$T/seen")" -eq 1 ] || {
	cat "$T/seen" >&2
	fail "not exactly one IN_MOVED_TO"
}
grep -q "MOVED_TO $T/spool/done/" "$T/seen" || fail "not moved into done/"
! grep -q "/queue/\|/parked/" "$T/seen" || {
	cat "$T/seen" >&2
	fail "the ready message passed through queue/ or parked/"
}
[ "$(sql "SELECT quantity FROM ledger_stock WHERE item = 'ITEM-acme-TX'")" \
    -eq 5 ] || fail "ledger not applied"
[ "$(sql "SELECT count(*) FROM messages WHERE state = 'done'")" -eq 1 ] ||
    fail "not recorded done"
# Its life is in the log like a cycle's (debug): event=done with its id.
M1=$(sql "SELECT id FROM messages WHERE state = 'done'")
wait_until 10 'grep -q "event=done id=$M1 " "$T/log"' ||
    fail "no event=done line for the message the pass applied"
ok "a ready message is renamed once, incoming/ -> done/"

# 2a: 3 and 4 park; 2 closes the gap: applied with its acceptance, and
# the run behind it (parked by earlier batches) goes to queue/ for the
# next cycle, which applies it in order.
for s in 3 4; do
	mv_msg acme TX "$s" 1 >"$T/m$s.xml"
	cp "$T/m$s.xml" "$T/spool/incoming/acme/m$s.xml"
done
wait_until 20 '[ "$(count parked)" -eq 2 ]' || fail "3, 4 not parked"
mv_msg acme TX 2 1 >"$T/m2.xml"
cp "$T/m2.xml" "$T/spool/incoming/acme/m2.xml"
wait_until 20 '[ "$(count done)" -eq 4 ]' || fail "the run not done"
[ "$(sql "SELECT group_concat(sender_seq) FROM (SELECT sender_seq FROM \
    messages m JOIN ledger_moves l ON l.message = m.id ORDER BY l.id)")" = \
    "1,2,3,4" ] || fail "not applied in order"
[ "$(sql "SELECT quantity FROM ledger_stock WHERE item = 'ITEM-acme-TX'")" \
    -eq 8 ] || fail "ledger total wrong"
ok "a gap closed by an acceptance lets its run through, in order"
stop_daemon

# 2b: a backlog where 6 arrived before 5 (one batch, taken by mtime): 6
# parks, 5 is applied and releases 6, applied in the same pass from the
# bytes held; neither passes through queue/ or parked/.
mv_msg acme TY 2 1 >"$T/y2.xml"
mv_msg acme TY 1 1 >"$T/y1.xml"
cp "$T/y2.xml" "$T/y1.xml" "$T/spool/incoming/acme/"
touch -d "@$(($(date +%s) - 60))" "$T/spool/incoming/acme/y2.xml"
touch -d "@$(($(date +%s) - 30))" "$T/spool/incoming/acme/y1.xml"
watch "$T/seen2" "$T/spool/queue" "$T/spool/done" "$T/spool/parked"
expect_exit 0 $SPOOLD -c "$T/spoold.conf" --once
cp "$T/out" "$T/log"
wait_until 10 '[ "$(grep -c MOVED_TO "$T/seen2")" -ge 2 ]' || true
unwatch
grep -q "event=batch files=2 ready=1 parked=1" "$T/log" ||
    fail "not one batch with 2 ready after 1"
[ "$(grep -c "MOVED_TO $T/spool/done/" "$T/seen2")" -eq 2 ] || {
	cat "$T/seen2" >&2
	fail "not two IN_MOVED_TO in done/"
}
! grep -q "/queue/\|/parked/" "$T/seen2" || {
	cat "$T/seen2" >&2
	fail "the released successor passed through queue/ or parked/"
}
[ "$(sql "SELECT count(*) FROM messages WHERE transaction_id = 'TY' AND
    state = 'done'")" -eq 2 ] || fail "TY not done"
ok "a successor in the same batch is applied in the same pass"

# 3: exec keeps today's path (through queue/).
cat >>"$T/spoold.conf" <<CONF
[route ProductInfo]
handler = exec
command = /bin/true
CONF
start_daemon
watch "$T/seen3" "$T/spool/queue" "$T/spool/done"
msg acme - 1 >"$T/p1.xml"
cp "$T/p1.xml" "$T/spool/incoming/acme/p1.xml"
wait_until 30 '[ "$(count done)" -eq 7 ]' || fail "exec message not done"
unwatch
grep -q "MOVED_TO $T/spool/queue/" "$T/seen3" ||
    fail "the exec message did not go through queue/"
ok "an exec-routed message keeps the path through queue/"
stop_daemon

# 4: killed between the COMMIT and the rename.
mv_msg acme TX 5 2 >"$T/m5.xml"
: >"$T/log"
SPOOLD_FAILPOINT=accept-commit $SPOOLD -c "$T/spoold.conf" >>"$T/log" 2>&1 &
DAEMON_PID=$!
wait_until 20 'grep -q "event=start" "$T/log"' || fail "spoold did not start"
cp "$T/m5.xml" "$T/spool/incoming/acme/m5.xml"
wait_until 20 '! kill -0 "$DAEMON_PID" 2>/dev/null' ||
    fail "the failpoint did not fire"
wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=
[ -f "$T/spool/incoming/acme/m5.xml" ] ||
    fail "the upload is not in incoming/ after the kill"
[ "$(sql "SELECT state FROM messages WHERE sender_seq = 5")" = done ] ||
    fail "the row is not committed done"
[ "$(sql "SELECT count(*) FROM ledger_moves l JOIN messages m ON \
    l.message = m.id WHERE m.sender_seq = 5")" -eq 1 ] ||
    fail "not applied in the committed transaction"
expect_exit 0 $SPOOLD -c "$T/spoold.conf" --once
[ -z "$(find "$T/spool/incoming" -type f)" ] || fail "left in incoming/"
f=$(sql "SELECT file_name FROM messages WHERE sender_seq = 5")
[ -f "$T/spool/done/$f" ] || fail "not in done/ after the restart"
cmp -s "$T/spool/done/$f" "$T/m5.xml" || fail "done/ holds other bytes"
[ "$(find "$T/spool" -name "$f" | wc -l)" -eq 1 ] || fail "not once"
[ "$(sql "SELECT count(*) FROM messages WHERE sender_seq = 5")" -eq 1 ] ||
    fail "recorded twice"
[ "$(sql "SELECT count(*) FROM ledger_moves l JOIN messages m ON \
    l.message = m.id WHERE m.sender_seq = 5")" -eq 1 ] ||
    fail "applied twice"
[ "$(sql "SELECT quantity FROM ledger_stock WHERE item = 'ITEM-acme-TX'")" \
    -eq 10 ] || fail "ledger total wrong after the restart"
ok "killed between COMMIT and rename: done/ once, applied once"

# 5: refused by its handler in the pass.
mv_msg acme TZ 1 -7 >"$T/z1.xml"
mv_msg acme TZ 2 1 >"$T/z2.xml"
cp "$T/z1.xml" "$T/z2.xml" "$T/spool/incoming/acme/"
touch -d "@$(($(date +%s) - 60))" "$T/spool/incoming/acme/z1.xml"
touch -d "@$(($(date +%s) - 30))" "$T/spool/incoming/acme/z2.xml"
expect_exit 0 $SPOOLD -c "$T/spoold.conf" --once
[ "$(sql "SELECT state || ' ' || attempts FROM messages WHERE \
    transaction_id = 'TZ' AND sender_seq = 1")" = "failed 1" ] ||
    fail "TZ 1 not failed after one attempt"
[ "$(sql "SELECT outcome FROM attempts a JOIN messages m ON \
    a.message = m.id WHERE m.transaction_id = 'TZ'")" = permanent ] ||
    fail "not one permanent attempt recorded"
[ "$(sql "SELECT count(*) FROM ledger_moves l JOIN messages m ON \
    l.message = m.id WHERE m.transaction_id = 'TZ'")" -eq 0 ] ||
    fail "a refused message was applied"
[ "$(sql "SELECT state FROM messages WHERE transaction_id = 'TZ' AND \
    sender_seq = 2")" = parked ] || fail "TZ 2 released past a failure"
f=$(sql "SELECT file_name FROM messages WHERE transaction_id = 'TZ' AND \
    sender_seq = 1")
[ -f "$T/spool/failed/$f" ] && [ -f "$T/spool/failed/$f.reason" ] ||
    fail "not in failed/ with its reason"
grep -q "would go negative" "$T/spool/failed/$f.reason" ||
    fail "the reason does not say why"
[ "$(find "$T/spool" -name "$f" | wc -l)" -eq 1 ] || fail "not once"
[ "$(sql "SELECT group_concat(event || '=' || n) FROM (SELECT event, \
    sum(n) AS n FROM stats_events GROUP BY event ORDER BY event)")" = \
    "accepted=10,failed=1,processed=8" ] ||
    fail "counted wrong: $(sql "SELECT * FROM stats_events")"
[ "$(sql "SELECT n FROM stats_state WHERE state = 'failed'")" -eq 1 ] ||
    fail "failed/ not counted"
ok "a message its handler refuses in the pass: failed once, nothing applied"
