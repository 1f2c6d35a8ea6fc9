#!/bin/sh
# fifo.sh - a path an exec program controls (SPOOLD_OUTBOUND) is opened
# without blocking and without following links: a program that replaces
# the file with a FIFO and exits 0 fails its message with a reason, and
# spoold neither hangs nor ignores SIGTERM; a FIFO a killed run left at
# SPOOLD_OUTBOUND does not block the next run.
. "$(dirname "$0")/lib.sh"

cat >"$T/h.sh" <<EOF
#!/bin/sh
T='$T'
EOF
cat >>"$T/h.sh" <<'EOF'
cat >/dev/null
case $SPOOLD_TRANSACTION_ID in
FIFO)
	rm "$SPOOLD_OUTBOUND"
	mkfifo "$SPOOLD_OUTBOUND"
	exit 0 ;;
LINK)
	rm "$SPOOLD_OUTBOUND"
	ln -s /etc/passwd "$SPOOLD_OUTBOUND"
	exit 0 ;;
KILLED)
	if [ ! -e "$T/killed.first" ]; then
		rm "$SPOOLD_OUTBOUND"
		mkfifo "$SPOOLD_OUTBOUND"
		echo $$ >"$T/killed.first"
		exec sleep 60
	fi
	exit 0 ;;
esac
exit 0
EOF
chmod +x "$T/h.sh"

write_conf
cat >>"$T/spoold.conf" <<CONF
[route ExecNote]
handler = exec
command = $T/h.sh
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
DB="$T/spool/spool.db"
state() {
	sqlite3 "$DB" "SELECT state FROM messages WHERE transaction_id = '$1'"
}

msg acme FIFO 1 ExecNote | drop acme fifo.xml
msg acme LINK 1 ExecNote | drop acme link.xml
start_daemon
wait_until 20 '[ "$(state FIFO)" = failed ] && [ "$(state LINK)" = failed ]' ||
    fail "a FIFO or a link at SPOOLD_OUTBOUND: the message did not fail"
reason=$(sqlite3 "$DB" "SELECT reason FROM messages WHERE \
    transaction_id = 'FIFO'")
case $reason in
*"not a regular file"*) ;;
*) fail "FIFO: reason is '$reason'" ;;
esac
reason=$(sqlite3 "$DB" "SELECT reason FROM messages WHERE \
    transaction_id = 'LINK'")
case $reason in
*"symbolic link"*) ;;
*) fail "LINK: reason is '$reason'" ;;
esac
grep -q "not a regular file" "$T"/spool/failed/*FIFO*.reason ||
    fail "no .reason sidecar for the FIFO case"
ok "a FIFO or a symbolic link at SPOOLD_OUTBOUND fails the message"

# SIGTERM is heard: spoold is not stuck in an open().
kill -TERM "$DAEMON_PID"
end=$(($(date +%s) + 10))
while kill -0 "$DAEMON_PID" 2>/dev/null; do
	[ "$(date +%s)" -lt "$end" ] || fail "spoold ignores SIGTERM"
	sleep 0.1
done
wait "$DAEMON_PID" || fail "spoold exited $?"
DAEMON_PID=
ok "SIGTERM ends spoold after a FIFO at SPOOLD_OUTBOUND"

# Killed while the program runs, which has left a FIFO in place of the
# file: the next run calls it again on the same path, and does not block.
msg acme KILLED 1 ExecNote | drop acme killed.xml
start_daemon
wait_until 20 '[ -s "$T/killed.first" ]' || fail "the first call did not run"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=
kill -KILL "$(cat "$T/killed.first")" 2>/dev/null || true
[ -n "$(find "$T/spool" -maxdepth 1 -name '.outbound.*' -type p)" ] ||
    fail "no FIFO left behind by the killed run"
start_daemon
wait_until 20 '[ "$(state KILLED)" = done ]' ||
    fail "after a restart on a leftover FIFO the message is not done"
stop_daemon
[ -z "$(find "$T/spool" -maxdepth 1 -name '.outbound.*' -type p)" ] ||
    fail "the leftover FIFO is still there"
ok "a FIFO left at SPOOLD_OUTBOUND by a killed run does not block the next"
