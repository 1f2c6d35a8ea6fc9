#!/bin/sh
# guard.sh - what spoold and spoolctl refuse to trust: a config that is
# not a regular file, a pid that is not spoold's, a lock file or store
# removed under a running spoold.
. "$(dirname "$0")/lib.sh"

ledger_spool '*'
cp "$T/spoold.conf" "$T/good.conf"

# A FIFO or a device as the config: refused at once with a reason (exit
# 78), not read (a FIFO would block the open, /dev/zero never ends).
mkfifo "$T/fifo.conf"
for c in "$T/fifo.conf" /dev/zero; do
	expect_exit 78 timeout 20 $SPOOLD -c "$c" --check-config
	expect_out "not a regular file"
	expect_exit 78 timeout 20 $SPOOLD -c "$c"
	expect_out "not a regular file"
	expect_exit 78 timeout 20 $SPOOLCTL -c "$c" status
	expect_out "not a regular file"
done
ok "a FIFO or /dev/zero as config: spoold and spoolctl exit 78 at once"

# SIGHUP with the config replaced by a FIFO: refused, old config kept,
# the loop goes on (a good config is then taken).
start_daemon
rm "$T/spoold.conf"
mkfifo "$T/spoold.conf"
kill -HUP "$DAEMON_PID"
wait_until 10 'grep -q "event=reload status=refused.*is a FIFO" "$T/log"' ||
    fail "a FIFO as config on SIGHUP not refused"
kill -0 "$DAEMON_PID" || fail "spoold died on a FIFO config"
rm "$T/spoold.conf"
cp "$T/good.conf" "$T/spoold.conf"
kill -HUP "$DAEMON_PID"
wait_until 10 'grep -q "event=reload status=ok" "$T/log"' ||
    fail "spoold hangs after a FIFO config"
stop_daemon
ok "SIGHUP with a FIFO as config: refused, logged, spoold goes on"

# A stale pid: spoold killed with SIGKILL, and its pid now another
# process's (here: the store's daemon row and the lock file are made to
# name a sleeper, as after pid reuse). spoolctl says spoold is not
# running and signals nobody: the sleeper lives on (SIGUSR1 kills it).
mv_msg acme TXF 1 -5 | drop acme fails.xml
start_daemon
wait_until 20 '[ "$(count failed)" -eq 1 ]' || fail "no failed message"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=
sleep 600 &
sleeper=$!
sqlite3 "$T/spool/spool.db" "UPDATE daemon SET pid = $sleeper"
echo "$sleeper" >"$T/spool/spoold.lock"
expect_exit 3 $SPOOLCTL -c "$T/spoold.conf" status
expect_out "spoold    not running"
expect_exit 3 $SPOOLCTL -c "$T/spoold.conf" --json status
[ "$(jq -r '.daemon.running' "$T/out")" = false ] ||
    fail "status --json: a stranger taken for spoold"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" retry --all-failed
kill -0 "$sleeper" 2>/dev/null ||
    fail "spoolctl retry signalled the process that has spoold's old pid"
kill "$sleeper"
wait "$sleeper" 2>/dev/null || true
ok "a stale pid: not running, and the process with that pid is left alone"

# The lock file holds the running spoold's pid alone: kill(1) works.
start_daemon
[ "$(cat "$T/spool/spoold.lock")" = "$DAEMON_PID" ] ||
    fail "spoold.lock holds '$(cat "$T/spool/spoold.lock")'"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" status
expect_out "spoold    running, pid $DAEMON_PID, since "
kill -HUP "$(cat "$T/spool/spoold.lock")"
wait_until 10 'grep -q "event=reload status=ok" "$T/log"' ||
    fail "kill -HUP \$(cat spoold.lock) did not reload"
ok "spoold.lock holds the pid: kill -HUP \$(cat spoold.lock) reloads"

# wait_gone SECONDS: spoold has exited within SECONDS; exit code in $rc.
wait_gone() {
	wait_until "$1" '! kill -0 "$DAEMON_PID" 2>/dev/null' ||
	    fail "spoold still runs after $1 s"
	set +e
	wait "$DAEMON_PID"
	rc=$?
	set -e
	DAEMON_PID=
}

# The lock file removed under a running spoold: a second one could start
# beside it. spoold notices within a few seconds, logs it and exits 72.
rm "$T/spool/spoold.lock"
wait_gone 15
[ "$rc" -eq 72 ] || fail "exit $rc after the lock file was removed, want 72"
grep -q "event=guard file=$T/spool/spoold.lock status=removed" "$T/log" ||
    fail "the removed lock file not logged"
ok "a removed lock file: spoold logs it and exits 72"

# The store removed (rm spool.db*) under a running spoold: the same.
start_daemon
rm "$T/spool/spool.db" "$T/spool/spool.db-wal" "$T/spool/spool.db-shm"
wait_gone 15
[ "$rc" -eq 72 ] || fail "exit $rc after the store was removed, want 72"
grep -q "event=guard file=$T/spool/spool.db status=removed" "$T/log" ||
    fail "the removed store not logged"
ok "a removed store: spoold logs it and exits 72"
