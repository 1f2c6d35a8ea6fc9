#!/bin/sh
# exec.sh - the exec handler with the real daemon: SPOOLD_* environment
# and the message on stdin, one call per message in sequence order;
# exit 75 retried; other exits fail with stderr as the reason and block
# the transaction; timeouts kill and defer; a stderr flood blocks
# nothing; SIGKILL during a call leads to the same call again; SIGTERM
# and --once wait for running calls.
. "$(dirname "$0")/lib.sh"

# The handler: one script, its mode from the route's command line.
cat >"$T/h.sh" <<EOF
#!/bin/sh
T='$T'
EOF
cat >>"$T/h.sh" <<'EOF'
id=$SPOOLD_MESSAGE_ID
case $1 in
log)
	cat >"$T/stdin.$id"
	# SPOOLD_FILE names the same sealed copy: it reopens from 0, and
	# nobody can write into it.
	cat "$SPOOLD_FILE" >"$T/file.$id"
	if printf 'x' 2>/dev/null >>"$SPOOLD_FILE"; then
		echo "stdin of $id is writable" >>"$T/writable.log"
	fi
	printf '%s|%s|%s|%s|%s|%s|%s\n' "$id" "$SPOOLD_PARTNER" \
	    "$SPOOLD_TYPE" "$SPOOLD_TRANSACTION_ID" "$SPOOLD_SEQUENCE" \
	    "$SPOOLD_ATTEMPT" "$SPOOLD_FILE" >>"$T/calls.log"
	exit 0 ;;
retry)
	n=$(cat "$T/count.$id" 2>/dev/null || echo 0)
	n=$((n + 1))
	echo "$n" >"$T/count.$id"
	echo "$id $SPOOLD_ATTEMPT" >>"$T/retry.log"
	[ "$n" -ge 3 ] && exit 0
	echo "ERP busy, try later" >&2
	exit 75 ;;
fail)
	echo "$id $SPOOLD_SEQUENCE" >>"$T/fail.log"
	echo "connecting to ERP" >&2
	printf '  ERP says: order 42 \033[1munknown\033[0m  \n\n' >&2
	exit 65 ;;
noisy)
	i=0
	while [ "$i" -lt 2000 ]; do echo "noise line $i"; i=$((i + 1)); done >&2
	echo "final words" >&2
	exit 65 ;;
slow)
	echo "$$" >"$T/slow.pid.$SPOOLD_ATTEMPT"
	[ "$SPOOLD_ATTEMPT" -ge 2 ] && exit 0
	exec sleep 30 ;;
flood)
	: >"$T/flood.started"
	head -c 1048576 /dev/zero | tr '\0' x >&2
	end=$(($(date +%s) + 30))
	while [ ! -e "$T/flood.stop" ] && [ "$(date +%s)" -lt "$end" ]; do
		head -c 65536 /dev/zero | tr '\0' y >&2
	done
	echo "flood over" >&2
	exit 0 ;;
idem)	# idempotent: a message ID seen before is not applied again
	if grep -qx "$id" "$T/seen.ids" 2>/dev/null; then
		echo "skipped id $id" >>"$T/idem.log"
	else
		echo "$id" >>"$T/seen.ids"
		echo "ran id $id" >>"$T/idem.log"
	fi
	exit 0 ;;
crash)
	echo "start $id $SPOOLD_ATTEMPT" >>"$T/crash.log"
	sleep 2
	echo "end $id" >>"$T/crash.log"
	exit 0 ;;
esac
exit 99
EOF
chmod +x "$T/h.sh"

write_conf
cat >>"$T/spoold.conf" <<CONF
workers = 4
[retry]
initial_delay = 1s
multiplier = 1
jitter = 0%
[route ExecLog]
handler = exec
command = $T/h.sh log
[route ExecRetry]
handler = exec
command = $T/h.sh retry
[route ExecFail]
handler = exec
command = $T/h.sh fail
[route ExecNoisy]
handler = exec
command = $T/h.sh noisy
[route ExecSlow]
handler = exec
command = $T/h.sh slow
timeout = 1s
[route ExecFlood]
handler = exec
command = $T/h.sh flood
[route ExecCrash]
handler = exec
command = $T/h.sh crash
[route ExecIdem]
handler = exec
command = $T/h.sh idem
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
ROOT=$(cd "$T/spool" && pwd -P)
: >"$T/calls.log"
: >"$T/crash.log"

db() {
	sqlite3 "$T/spool/spool.db" "$1"
}
lines() {
	if [ -e "$1" ]; then wc -l <"$1"; else echo 0; fi
}
in_dir() {	# in_dir DIR TYPE: message files of TYPE in DIR
	ls "$T/spool/$1" | grep ",$2,[0-9]*\.xml$" | wc -l
}
# put NAME < content: into incoming/acme/ through a dot-file and a rename
# (with settle_time = 0s a file written in place may be taken too early).
put() {
	mkdir -p "$T/spool/incoming/acme"
	cat >"$T/spool/incoming/acme/.$1"
	mv "$T/spool/incoming/acme/.$1" "$T/spool/incoming/acme/$1"
}

start_daemon

# (a) Two transactions and one message outside, dropped shuffled.
for m in T1:3 T2:2 T1:1 -:1 T2:4 T1:4 T2:1 T1:2 T2:3; do
	msg acme "${m%:*}" "${m#*:}" ExecLog | put "log-${m%:*}-${m#*:}.xml"
done
wait_until 20 '[ "$(lines "$T/calls.log")" -ge 9 ] && [ "$(in_dir done ExecLog)" -eq 9 ]' ||
    { cat "$T/calls.log" >&2; fail "not every ExecLog message called and done"; }
[ "$(lines "$T/calls.log")" -eq 9 ] || fail "$(lines "$T/calls.log") calls for 9 messages"
[ -z "$(cut -d'|' -f1 "$T/calls.log" | sort | uniq -d)" ] ||
    fail "a message was called twice"
for tx in T1 T2; do
	got=$(grep "^[0-9]*|acme|ExecLog|$tx|" "$T/calls.log" | cut -d'|' -f5 |
	    tr '\n' ' ')
	[ "$got" = "1 2 3 4 " ] || fail "$tx called in order $got"
done
ok "each message called once, in sequence order within its transaction"

while IFS='|' read -r id partner type tx seq attempt file; do
	want=$(db "SELECT partner || '|' || type || '|' || \
	    coalesce(transaction_id, '') || '|' || CASE WHEN transaction_id \
	    IS NULL THEN '' ELSE sender_seq END || '|1|/dev/stdin' \
	    FROM messages WHERE id = $id")
	[ "$partner|$type|$tx|$seq|$attempt|$file" = "$want" ] ||
	    fail "env of $id: $partner|$type|$tx|$seq|$attempt|$file, want $want"
	name=$(db "SELECT file_name FROM messages WHERE id = $id")
	cmp -s "$T/stdin.$id" "$T/spool/done/$name" ||
	    fail "stdin of $id is not the message"
	cmp -s "$T/file.$id" "$T/spool/done/$name" ||
	    fail "SPOOLD_FILE of $id is not the message"
done <"$T/calls.log"
grep -q '^[0-9]*|acme|ExecLog|||1|' "$T/calls.log" ||
    fail "outside a transaction, SPOOLD_TRANSACTION_ID and _SEQUENCE are empty"
[ "$(db "SELECT count(*) FROM exec_calls WHERE status = 'valid'")" -eq 9 ] ||
    fail "exec_calls not valid"
[ ! -e "$T/writable.log" ] || fail "$(cat "$T/writable.log")"
ok "SPOOLD_* environment right, stdin is the message, calls recorded valid"
ok "stdin and SPOOLD_FILE are a sealed copy of the message"

# (b) Exit 75 twice, then 0: retried, done after 3 attempts.
msg acme - 2 ExecRetry | put retry.xml
wait_until 20 '[ "$(in_dir done ExecRetry)" -eq 1 ]' ||
    fail "ExecRetry not done"
id=$(db "SELECT id FROM messages WHERE type = 'ExecRetry'")
[ "$(db "SELECT attempts FROM messages WHERE id = $id")" -eq 3 ] ||
    fail "ExecRetry: attempts not 3"
[ "$(cat "$T/count.$id")" -eq 3 ] || fail "ExecRetry called $(cat "$T/count.$id") times"
[ "$(cut -d' ' -f2 "$T/retry.log" | tr '\n' ' ')" = "1 2 3 " ] ||
    fail "SPOOLD_ATTEMPT not 1 2 3: $(cat "$T/retry.log")"
[ "$(db "SELECT group_concat(outcome, ' ') FROM (SELECT outcome FROM \
    v_attempts WHERE message = $id ORDER BY attempt)")" = \
    "temporary temporary ok" ] || fail "ExecRetry attempts not recorded"
[ "$(db "SELECT group_concat(status || ':' || exit_status, ' ') FROM \
    (SELECT * FROM exec_calls WHERE message = $id ORDER BY attempt)")" = \
    "invalid:75 invalid:75 valid:0" ] || fail "ExecRetry exec_calls"
db "SELECT error FROM attempts WHERE message = $id AND attempt = 1" |
    grep -qx "ERP busy, try later" || fail "ExecRetry: stderr not the error"
ok "exit 75 is retried; done after 3 attempts"

# (c) Exit 65 with stderr: failed/ with stderr as the reason; the next
# message of the transaction stays parked and is not called.
msg acme T3 2 ExecFail | put fail-2.xml
msg acme T3 1 ExecFail | put fail-1.xml
wait_until 20 'ls "$T/spool/failed" | grep -q ",ExecFail,.*\.reason$"' ||
    fail "ExecFail not failed"
reason=$(head -n 1 "$T"/spool/failed/*,ExecFail,*.reason)
[ "$reason" = 'connecting to ERP | ERP says: order 42 \x1b[1munknown\x1b[0m' ] ||
    fail "ExecFail reason: $reason"
[ "$(in_dir parked ExecFail)" -eq 1 ] || fail "T3 seq 2 not parked"
[ "$(db "SELECT state FROM messages WHERE transaction_id = 'T3' AND \
    sender_seq = 2")" = parked ] || fail "T3 seq 2 not parked in the store"
[ "$(cut -d' ' -f2 "$T/fail.log" | tr '\n' ' ')" = "1 " ] ||
    fail "ExecFail calls: $(cat "$T/fail.log")"
ok "exit 65: failed/ with stderr as reason, successor stays parked"

msg acme - 3 ExecNoisy | put noisy.xml
wait_until 20 'ls "$T/spool/failed" | grep -q ",ExecNoisy,.*\.reason$"' ||
    fail "ExecNoisy not failed"
reason=$(head -n 1 "$T"/spool/failed/*,ExecNoisy,*.reason)
case $reason in
*"noise line 1999 | final words") ;;
*) fail "ExecNoisy reason does not end in its last lines: $reason" ;;
esac
[ "${#reason}" -le 520 ] || fail "ExecNoisy reason is ${#reason} bytes"
ok "a long stderr gives its last lines, at most ~500 bytes"

# (d) Past its timeout: killed, deferred with "timed out"; then done.
msg acme - 4 ExecSlow | put slow.xml
wait_until 20 '[ "$(in_dir done ExecSlow)" -eq 1 ]' || fail "ExecSlow not done"
id=$(db "SELECT id FROM messages WHERE type = 'ExecSlow'")
[ "$(db "SELECT outcome || ': ' || error FROM attempts WHERE message = $id \
    AND attempt = 1")" = "temporary: timed out after 1 s" ] ||
    fail "ExecSlow attempt 1 not a timeout"
grep -q "event=defer id=$id .*reason=\"timed out after 1 s\"" "$T/log" ||
    fail "ExecSlow not deferred"
! kill -0 "$(cat "$T/slow.pid.1")" 2>/dev/null || fail "timed-out program still runs"
[ "$(db "SELECT status || ':' || exit_status FROM exec_calls WHERE \
    message = $id AND attempt = 1")" = "invalid:143" ] ||
    fail "ExecSlow exec_calls: not killed by SIGTERM"
ok "a call past its timeout is killed and deferred as timed out"

# (e) A program that never reads stdin and floods stderr: spoold keeps
# working meanwhile, and the call completes.
msg acme - 5 ExecFlood | put flood.xml
wait_until 20 '[ -e "$T/flood.started" ]' || fail "ExecFlood not started"
msg acme - 6 ExecLog | put log-during-flood.xml
wait_until 20 '[ "$(lines "$T/calls.log")" -eq 10 ]' ||
    fail "spoold stuck during a stderr flood"
[ -e "$T/flood.stop" ] && fail "the flood ended early"
: >"$T/flood.stop"
wait_until 30 '[ "$(in_dir done ExecFlood)" -eq 1 ]' || fail "ExecFlood not done"
if [ -z "$VALGRIND" ]; then
	hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$DAEMON_PID/status")
	cap=65536
	sanitized && cap=$((cap * 4))	# ASan's shadow memory and quarantine
	[ "$hwm" -lt "$cap" ] || fail "spoold's peak RSS is $hwm kB"
fi
ok "a stderr flood blocks nothing and completes"

# (f) SIGKILL while a call runs: after the restart the same call again,
# with the same SPOOLD_MESSAGE_ID, and the message ends in done/.
msg acme - 7 ExecCrash | put crash.xml
wait_until 20 'grep -q "^start" "$T/crash.log"' || fail "ExecCrash not started"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=
cp "$T/log" "$T/log.1"
start_daemon
wait_until 20 '[ "$(in_dir done ExecCrash)" -eq 1 ]' ||
    fail "ExecCrash not done after restart"
id=$(db "SELECT id FROM messages WHERE type = 'ExecCrash'")
[ "$(grep -c "^start $id 1$" "$T/crash.log")" -eq 2 ] ||
    fail "ExecCrash calls: $(cat "$T/crash.log")"
ok "a call cut off by SIGKILL is made again with the same message ID"
wait_until 10 '[ "$(grep -c "^end $id$" "$T/crash.log")" -eq 2 ]' ||
    fail "the first ExecCrash call did not end"

# SIGTERM while a call runs: spoold waits for it, records it, exits 0.
msg acme - 8 ExecCrash | put crash-2.xml
wait_until 20 '[ "$(grep -c "^start" "$T/crash.log")" -eq 3 ]' ||
    fail "second ExecCrash not started"
stop_daemon
[ "$(grep -c "^end" "$T/crash.log")" -eq 3 ] || fail "SIGTERM cut the call off"
[ "$(in_dir done ExecCrash)" -eq 2 ] || fail "call ended by SIGTERM not done"
ok "SIGTERM waits for the running call and records it"

# --once: a transaction whose second message needs the first one's call.
msg acme T4 2 ExecLog | put once-2.xml
msg acme T4 1 ExecLog | put once-1.xml
expect_exit 0 $SPOOLD -c "$T/spoold.conf" --once
[ "$(grep -c '|T4|' "$T/calls.log")" -eq 2 ] || fail "--once did not call T4"
[ "$(grep '|T4|' "$T/calls.log" | cut -d'|' -f5 | tr '\n' ' ')" = "1 2 " ] ||
    fail "--once: T4 out of order"
[ "$(in_dir done ExecLog)" -eq 12 ] || fail "--once left ExecLog messages"
grep -q "event=exit status=0 accepted=2 .* processed=2 " "$T/out" ||
    fail "--once's exit line does not count the two exec outcomes"
ok "--once makes the calls, in order, and waits for them"

# purge: an exec call's record is spoold's bookkeeping, like an attempt:
# the messages the calls handled go, file, row, attempts and calls.
called=$(db "SELECT count(DISTINCT message) FROM exec_calls e JOIN messages
    m ON m.id = e.message WHERE m.state = 'done'")
[ "$called" -ge 12 ] || fail "only $called done messages with exec calls"
ndone=$(db "SELECT count(*) FROM messages WHERE state = 'done'")
# Every ID given out so far, as an idempotent program would know them.
db "SELECT id FROM messages" >"$T/seen.ids"
high=$(db "SELECT max(id) FROM messages")
[ "$(db "SELECT state FROM messages WHERE id = $high")" = done ] ||
    fail "the newest message is not done: the purge below would not take it"
db "UPDATE messages SET updated_at = 0 WHERE state = 'done'" >/dev/null
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" purge --done-older-than 1d
grep -q "^purge: removed $ndone messages .*, kept 0$" "$T/out" ||
    fail "purge: $(tail -n 1 "$T/out")"
[ "$(db "SELECT count(*) FROM exec_calls e JOIN messages m ON
    m.id = e.message WHERE m.state = 'done'")" -eq 0 ] ||
    fail "purge kept messages handled by exec calls"
[ "$(db "SELECT count(*) FROM exec_calls WHERE message NOT IN
    (SELECT id FROM messages)")" -eq 0 ] || fail "calls of purged messages"
[ "$(ls "$T/spool/done" | grep -vc '\.reason$')" -eq 0 ] ||
    fail "done/ still has files: $(ls "$T/spool/done")"
ok "purge removes messages handled by exec calls, and their calls"

# (g) After a purge of the newest messages: IDs are never given out
# twice (DESIGN 3). A new message gets a new SPOOLD_MESSAGE_ID, so an
# idempotent program runs it instead of skipping it as seen; and a
# redelivered copy of a purged, processed message is a duplicate, known
# by the purged message's tombstone (DESIGN 18), never called again.
[ "$(db "SELECT coalesce(max(id), 0) FROM messages")" -lt "$high" ] ||
    fail "purge left the newest message"
start_daemon
msg acme - 9 ExecIdem | put idem.xml
msg acme T4 1 ExecLog | put once-1-again.xml
wait_until 20 '[ -s "$T/idem.log" ] && [ "$(in_dir done ExecIdem)" -eq 1 ] &&
    [ "$(db "SELECT count(*) FROM messages WHERE orig_name =
    '"'once-1-again.xml'"' AND duplicate_of IS NOT NULL AND
    state = '"'done'"'")" -eq 1 ]' ||
    fail "ExecIdem not done or the redelivery not a duplicate"
id=$(db "SELECT id FROM messages WHERE type = 'ExecIdem'")
[ "$id" -gt "$high" ] ||
    fail "new message got ID $id, given out before (<= $high)"
[ "$(cat "$T/idem.log")" = "ran id $id" ] ||
    fail "the idempotent program skipped the new one: $(cat "$T/idem.log")"
ok "after a purge of the newest messages a new message gets a new ID"
! ls "$T/spool/rejected" | grep -q "once-1-again" ||
    fail "the redelivery after the purge was rejected"
grep -q 'event=duplicate partner=acme .*file=once-1-again.xml .*purged=yes' \
    "$T/log" || fail "the duplicate of a purged message was not logged"
[ "$(grep -c '|T4|' "$T/calls.log")" -eq 2 ] || fail "T4 1 was called again"
stop_daemon
ok "a redelivery after a purge is a duplicate of the purged message"
