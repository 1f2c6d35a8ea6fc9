#!/bin/sh
# autohold.sh - spoold holds by itself what fails because of our side,
# not the partner's (DESIGN 18, issue 16): no route for the type, an exec
# command missing or not executable when it is started, an upload spoold
# may not read (EACCES, with spoold unprivileged through setpriv). Each
# is logged once with the message's identity and the cause, blocks its
# transaction like a failed message, and goes on in order after a
# SIGHUP that fixes the cause, or after spoolctl release. A partner's
# bad message still ends in rejected/ or failed/.
. "$(dirname "$0")/lib.sh"

DB=$T/spool/spool.db
sql() {
	sqlite3 "$DB" "$1"
}
ctl() {
	$SPOOLCTL -c "$T/spoold.conf" "$@"
}
state_of() {
	sql "SELECT state FROM messages WHERE transaction_id = '$1' AND \
	    sender_seq = $2"
}
# An exec program that notes each message's transaction and number.
cat >"$T/note.sh" <<EOF2
#!/bin/sh
cat >/dev/null
echo "\$SPOOLD_TRANSACTION_ID \$SPOOLD_SEQUENCE" >>"$T/order"
EOF2
chmod 755 "$T/note.sh" "$T"
: >"$T/order"

# --- 1. No route for the type: held, not failed; a SIGHUP that adds the
# route lets the transaction go on in order.
write_conf
cat >>"$T/spoold.conf" <<CONF
[route InventoryMovement]
handler = ledger
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
start_daemon
msg acme P 1 | drop acme p1.xml
wait_until 20 '[ "$(state_of P 1)" = held ]' || fail "P 1 not held"
msg acme P 2 | drop acme p2.xml
wait_until 20 '[ "$(state_of P 2)" = parked ]' || fail "P 2 not parked"
[ "$(count failed)" -eq 0 ] && [ "$(count hold)" -eq 1 ] ||
    fail "no route: not in hold/ alone"
P1=$(sql "SELECT id FROM messages WHERE transaction_id = 'P' AND \
    sender_seq = 1")
[ "$(sql "SELECT hold_cause FROM messages WHERE id = $P1")" = route ] ||
    fail "P 1's cause is not route"
grep -q "level=warning event=hold id=$P1 partner=acme tx=P seq=1 type=ProductInfo cause=route reason=.*no route for message type ProductInfo" \
    "$T/log" || fail "the hold was not logged with the identity and cause"
# A wake-up (and a cycle) later it is still logged once.
kill -USR1 "$DAEMON_PID"
wait_until 10 '[ "$(grep -c "event=wakeup" "$T/log")" -ge 1 ]' || true
expect_exit 0 ctl status
expect_out "blocked by held sequence 1"
[ "$(grep -c "event=hold id=$P1 " "$T/log")" -eq 1 ] ||
    fail "the hold was logged more than once"
# A partner's bad message still ends in rejected/.
echo "not xml" | drop acme junk.xml
wait_until 20 '[ "$(count rejected)" -eq 1 ]' || fail "junk not rejected"
cat >>"$T/spoold.conf" <<CONF
[route ProductInfo]
handler = exec
command = $T/note.sh
CONF
kill -HUP "$DAEMON_PID"
wait_until 20 '[ "$(state_of P 2)" = done ]' || fail "P not done after SIGHUP"
[ "$(grep '^P ' "$T/order" | tr '\n' ' ')" = "P 1 P 2 " ] ||
    fail "P not processed in order: $(cat "$T/order")"
[ "$(count hold)" -eq 0 ] && [ -z "$(ls -A "$T/spool/hold")" ] ||
    fail "hold/ not empty"
grep -q "event=release id=$P1 .*user=spoold" "$T/log" ||
    fail "the release is not logged"
ok "no route: held, logged once, released in order by the SIGHUP that adds it"
stop_daemon

# --- 2. An exec command missing at start-up: spoold only warns, holds
# what needs it, and a SIGHUP after it is installed lets it go on.
sed -i "s|^command = $T/note.sh$|command = $T/later.sh|" "$T/spoold.conf"
expect_exit 78 $SPOOLD -c "$T/spoold.conf" --check-config
start_daemon
grep -q "level=warning.*later.sh" "$T/log" ||
    fail "no warning about the missing command at start"
msg acme Q 1 | drop acme q1.xml
wait_until 20 '[ "$(state_of Q 1)" = held ]' || fail "Q 1 not held"
msg acme Q 2 | drop acme q2.xml
wait_until 20 '[ "$(state_of Q 2)" = parked ]' || fail "Q 2 not parked"
Q1=$(sql "SELECT id FROM messages WHERE transaction_id = 'Q' AND \
    sender_seq = 1")
[ "$(sql "SELECT hold_cause FROM messages WHERE id = $Q1")" = external ] ||
    fail "Q 1's cause is not external"
grep -q "event=hold id=$Q1 partner=acme tx=Q seq=1 type=ProductInfo cause=external reason=.*cannot execute $T/later.sh" \
    "$T/log" || fail "the missing command's hold was not logged"
[ "$(count failed)" -eq 0 ] || fail "a message failed for our command"
# The exec call's own line says it is held, never permanent (it said
# status=permanent while the message was held).
grep -q "level=debug event=exec id=$Q1 .*status=held" "$T/log" ||
    fail "the exec line does not say held: $(grep "event=exec id=$Q1 " \
    "$T/log")"
grep "event=exec id=$Q1 " "$T/log" | grep -q "status=permanent" &&
    fail "a held message's exec line says permanent"
# A SIGHUP that fixes nothing releases nothing.
kill -HUP "$DAEMON_PID"
wait_until 10 '[ "$(grep -c "event=reload status=ok" "$T/log")" -ge 1 ]' ||
    fail "no reload"
[ "$(state_of Q 1)" = held ] || fail "Q 1 released while its command is missing"
cp "$T/note.sh" "$T/later.sh"
kill -HUP "$DAEMON_PID"
wait_until 20 '[ "$(state_of Q 2)" = done ]' || fail "Q not done after SIGHUP"
[ "$(grep '^Q ' "$T/order" | tr '\n' ' ')" = "Q 1 Q 2 " ] ||
    fail "Q not processed in order: $(cat "$T/order")"
ok "missing command: only a warning at start, held, released by SIGHUP"

# --- 3. A command that is not executable: held; spoolctl release after
# the fix lets it go on.
chmod 644 "$T/later.sh"
msg acme R 1 | drop acme r1.xml
wait_until 20 '[ "$(state_of R 1)" = held ]' || fail "R 1 not held"
R1=$(sql "SELECT id FROM messages WHERE transaction_id = 'R'")
grep -q "event=hold id=$R1 .*Permission denied" "$T/log" ||
    fail "the non-executable command's hold was not logged"
chmod 755 "$T/later.sh"
expect_exit 0 ctl release "$R1"
wait_until 20 '[ "$(state_of R 1)" = done ]' || fail "R 1 not done after release"
ok "command not executable: held, spoolctl release lets it go on"
stop_daemon

# --- 4. An upload spoold may not read (spoold unprivileged): held, not
# rejected; readable again, a SIGHUP (or spoolctl release) takes it from
# the start.
if ! command -v setpriv >/dev/null 2>&1; then
	echo "# setpriv missing: the EACCES case is not run"
	exit 0
fi
own_copies
chmod 644 "$T/spoold.conf"
: >"$T/order"
chmod 666 "$T/order"
chown -R 65534:65534 "$T/spool"
: >"$T/log"
setpriv --reuid=65534 --regid=65534 --clear-groups \
    $SPOOLD -c "$T/spoold.conf" >>"$T/log" 2>&1 &
DAEMON_PID=$!
wait_until 20 'grep -q "event=start" "$T/log"' || fail "spoold did not start"
mkdir -p "$T/w"
msg acme U 1 >"$T/w/u1.xml"
msg acme U 2 >"$T/w/u2.xml"
chmod 600 "$T/w/u1.xml"	# root's, unreadable for spoold
mv "$T/w/u1.xml" "$T/spool/incoming/acme/u1.xml"
# (count would see the .reason's dot file before the upload lands.)
held() {
	ls "$T/spool/hold" | grep -c '\.held$'
}
wait_until 20 '[ "$(held)" -eq 1 ]' || fail "the unreadable upload not held"
U1=$(sql "SELECT id FROM messages WHERE orig_name = 'u1.xml'")
[ "$(sql "SELECT state || ' ' || hold_cause FROM messages WHERE id = $U1")" \
    = "held unreadable" ] || fail "u1 not held as unreadable"
[ "$(count rejected)" -eq 1 ] || fail "the unreadable upload was rejected"
grep -q "event=hold partner=acme file=u1.xml id=$U1 cause=unreadable reason=.*Permission denied" \
    "$T/log" || fail "the unreadable upload's hold was not logged"
expect_exit 0 ctl check	# hold/<partner>,<name>,<id>.held is its row's
mv "$T/w/u2.xml" "$T/spool/incoming/acme/u2.xml"
wait_until 20 '[ "$(state_of U 2)" = parked ]' || fail "U 2 not parked behind the unread U 1"
HELD=$(ls "$T/spool/hold" | grep '\.held$')
chmod 644 "$T/spool/hold/$HELD"
kill -HUP "$DAEMON_PID"
wait_until 20 '[ "$(state_of U 2)" = done ]' || fail "U not done after SIGHUP"
[ "$(grep '^U ' "$T/order" | tr '\n' ' ')" = "U 1 U 2 " ] ||
    fail "U not processed in order: $(cat "$T/order")"
[ -z "$(ls -A "$T/spool/hold")" ] || fail "hold/ not empty"
[ "$(sql "SELECT count(*) FROM messages WHERE id = $U1")" -eq 0 ] ||
    fail "the held upload's row was kept"
ok "unreadable upload (EACCES): held, accepted from the start after SIGHUP"

# The same through spoolctl release.
msg acme V 1 >"$T/w/v1.xml"
chmod 600 "$T/w/v1.xml"
mv "$T/w/v1.xml" "$T/spool/incoming/acme/v1.xml"
wait_until 20 '[ "$(held)" -eq 1 ]' || fail "v1 not held"
V1=$(sql "SELECT id FROM messages WHERE orig_name = 'v1.xml'")
chmod 644 "$T/spool/hold/$(ls "$T/spool/hold" | grep '\.held$')"
expect_exit 0 ctl release "$V1"
wait_until 20 '[ "$(state_of V 1)" = done ]' || fail "V 1 not done after release"
ok "unreadable upload: spoolctl release hands it back to acceptance"
expect_exit 0 ctl check
stop_daemon
