#!/bin/sh
# signals.sh - many files at once, SIGTERM mid-stream, SIGHUP reloads.
. "$(dirname "$0")/lib.sh"

ledger_spool '*'
cp "$T/spoold.conf" "$T/good.conf"
mkdir -p "$T/spool/incoming/acme" "$T/stage"

rows() {
	sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM messages"
}
left() {
	find "$T/spool/incoming/acme" -type f | wc -l
}

# make_files DIR FROM TO: ProductInfo messages FROM..TO in DIR.
make_files() {
	i=$2
	while [ "$i" -le "$3" ]; do
		msg acme - "$i" >"$1/p$i.xml"
		i=$((i + 1))
	done
}

# 1,000 files dropped at once (renamed in together), all accepted.
start_daemon
make_files "$T/stage" 1 1000
find "$T/stage" -name '*.xml' -exec mv -t "$T/spool/incoming/acme" {} +
# The rows are there at COMMIT, the renames follow: wait for both.
wait_until 60 '[ "$(rows)" -eq 1000 ] && [ "$(left)" -eq 0 ]' || {
	[ "$(rows)" -eq 1000 ] || fail "only $(rows) of 1000 accepted"
	fail "files left in incoming/"
}
batches=$(grep -c "event=batch" "$T/log")
[ "$batches" -lt 500 ] ||
    fail "$batches acceptance batches for 1000 files: no group commit"
ok "1000 files at once: all accepted, in $batches store transactions"

# SIGTERM mid-stream: what was accepted is recorded and moved, the rest
# waits in incoming/; a restart takes the rest, nothing twice.
make_files "$T/stage" 1001 2000
# A stream: one file after another, while spoold is told to stop.
( for f in "$T"/stage/*.xml; do mv "$f" "$T/spool/incoming/acme/"; done ) &
streamer=$!
wait_until 30 '[ "$(rows)" -gt 1100 ]' || fail "second stream not started"
stop_daemon
wait "$streamer"
n=$(rows)
[ $((n - 1000 + $(left))) -eq 1000 ] ||
    fail "after SIGTERM: $n rows and $(left) files waiting, want 2000 in all"
for f in $(sqlite3 "$T/spool/spool.db" "SELECT state || '/' || file_name \
    FROM messages WHERE state IN ('queue', 'parked', 'done', 'failed', \
    'rejected', 'deferred')"); do
	[ -e "$T/spool/$f" ] || fail "$f recorded but not moved"
done
ok "SIGTERM: $((n - 1000)) of the second 1000 taken, the rest left waiting"
expect_exit 0 $SPOOLD -c "$T/spoold.conf" --once
[ "$(rows)" -eq 2000 ] || fail "$(rows) rows after restart, want 2000"
[ "$(left)" -eq 0 ] || fail "files left in incoming/ after restart"
ok "restart takes the rest exactly once"

# SIGHUP with a broken config: refused, the old one kept, still running.
start_daemon
printf '[processing]\nworkers = many\n' >"$T/spoold.conf"
kill -HUP "$DAEMON_PID"
wait_until 10 'grep -q "event=reload status=refused" "$T/log"' ||
    fail "bad reload not refused"
grep -q "spoold.conf:2: workers must be a whole number" "$T/log" ||
    fail "refusal lacks file:line: reason"
kill -0 "$DAEMON_PID" || fail "spoold died on a bad reload"
ok "SIGHUP with a bad config: refused with file:line, old config kept"

# SIGHUP with require_schema = yes: a type without schema is rejected.
sed 's/^\[processing\]$/[processing]\nrequire_schema = yes/' "$T/good.conf" \
    >"$T/spoold.conf"
kill -HUP "$DAEMON_PID"
wait_until 10 'grep -q "event=reload status=ok" "$T/log"' ||
    fail "good reload not taken"
msg acme - 5000 NoSuchType | drop acme noschema.xml
wait_until 10 'ls "$T/spool/rejected" | grep -q "noschema.*reason"' ||
    fail "schemaless message not rejected after reload"
grep -q "message type NoSuchType has no schema" \
    "$T"/spool/rejected/acme,noschema.xml,*.reason || fail "reason"
stop_daemon
ok "SIGHUP reloads the config (require_schema) without a restart"

# IN_Q_OVERFLOW: while spoold is stopped, more files arrive than its
# inotify queue holds (each file is IN_CREATE + IN_CLOSE_WRITE); when it
# runs again the kernel reports the overflow and spoold rescans
# incoming/, so that no file is left behind.
cp "$T/good.conf" "$T/spoold.conf"
qmax=$(cat /proc/sys/fs/inotify/max_queued_events)
nover=$((qmax / 2 + 500))
[ "$nover" -le 100000 ] ||
    fail "max_queued_events is $qmax: too many files to overflow it"
before=$(rows)
start_daemon
kill -STOP "$DAEMON_PID"
awk -v dir="$T/spool/incoming/acme" -v n="$nover" 'BEGIN {
	for (i = 1; i <= n; i++) {
		f = sprintf("%s/q%d.xml", dir, i)
		printf "<ProductInfo><Header><MessageId>q-%d</MessageId>" \
		    "<Sender>acme</Sender></Header><Body><Item>Q%d</Item>" \
		    "</Body></ProductInfo>\n", i, i >f
		close(f)
	}
}'
kill -CONT "$DAEMON_PID"
wait_until 120 '[ "$(rows)" -eq $((before + nover)) ]' ||
    fail "after an overflow: $(($(rows) - before)) of $nover accepted"
grep -q "event=watch status=overflow" "$T/log" ||
    fail "$nover files while stopped: no overflow reported"
# (the rows are there at COMMIT, the renames follow)
wait_until 30 '[ "$(left)" -eq 0 ]' ||
    fail "files left in incoming/ after the overflow"
stop_daemon
ok "inotify queue overflow: reported, rescanned, all $nover files accepted"
