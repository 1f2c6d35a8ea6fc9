#!/bin/sh
# diskfull.sh - a full disk (a small tmpfs under the spool): a bundle
# whose entry files do not fit stays in incoming/, nothing is processed
# from a missing or partial file, the failure is logged once and shown
# by spoolctl status, and spoold finishes the bundle by itself once there
# is room again, without a restart. Below min_free_space spoold accepts
# nothing (files stay in incoming/), says so, and goes on by itself.
. "$(dirname "$0")/lib.sh"

cleanup() {
	if [ -n "$DAEMON_PID" ]; then
		kill -KILL "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	umount "$T/spool" 2>/dev/null
	rm -rf "$T"
}

mkdir -p "$T/spool" "$T/work"
if ! mount -t tmpfs -o size=12m tmpfs "$T/spool" 2>"$T/mount.err"; then
	echo "SKIP: cannot mount a tmpfs (needs root): $(cat "$T/mount.err")"
	exit 77
fi

write_conf
cat >>"$T/spoold.conf" <<CONF
min_free_space = 0
[retry]
initial_delay = 1s
jitter = 0
[route InventoryMovement]
handler = ledger
[http]
listen = 127.0.0.1:0
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
DB="$T/spool/spool.db"

# health PATH: GET /health/PATH of the running spoold; status in $code,
# the body in $T/health. Without curl and jq, false (not checked).
health() {
	command -v curl >/dev/null 2>&1 && command -v jq >/dev/null 2>&1 ||
	    return 1
	wait_until 10 'grep -q "event=http status=listening" "$T/log"' ||
	    fail "no HTTP server"
	hp=$(sed -n 's/.*event=http status=listening.* port=\([0-9]*\).*/\1/p' \
	    "$T/log" | tail -n 1)
	code=$(curl -s -o "$T/health" -w '%{http_code}' \
	    "http://127.0.0.1:$hp/health/$1") || code=000
}

# A padded movement: NAME TX, about 8 KiB.
pad=$(head -c 8000 /dev/zero | tr '\0' x)
big_msg() {
	mv_msg acme "$1" 1 3 | sed "s|<Body>|<!-- $pad --><Body>|"
}

# fill [KEEP_KB]: fill the spool's file system, leaving KEEP_KB free.
fill() {
	dd if=/dev/zero of="$T/spool/filler" bs=64k 2>/dev/null || true
	if [ "${1:-0}" -gt 0 ]; then
		sz=$(stat -c %s "$T/spool/filler")
		truncate -s $((sz - $1 * 1024)) "$T/spool/filler"
	fi
}

# Every row in the store has its file (and no file is cut short).
consistent() {
	expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" check
	for f in "$T"/spool/queue/* "$T"/spool/done/*; do
		[ -f "$f" ] || continue
		case $f in *.bundle) continue ;; esac
		[ -s "$f" ] || fail "$f is empty"
		tail -c 40 "$f" | grep -q '</[A-Za-z]*>' ||
		    fail "$f is cut short"
	done
}

# --- 1. The disk fills while a bundle's entries are written.
i=1
mkdir -p "$T/work/b"
while [ "$i" -le 300 ]; do
	big_msg "TX$i" >"$T/work/b/m$i.xml"
	i=$((i + 1))
done
tar -czf "$T/work/b.tgz" -C "$T/work/b" .
start_daemon
fill 900
cp "$T/work/b.tgz" "$T/spool/incoming/.b.tgz" 2>/dev/null ||
    { mkdir -p "$T/spool/incoming/acme"; }
mkdir -p "$T/spool/incoming/acme"
mv "$T/work/b.tgz" "$T/spool/incoming/acme/b.tgz"
rm -f "$T/spool/incoming/.b.tgz"
wait_until 20 'grep -q "status=unfinished" "$T/log"' ||
    fail "the failed entry writes were not reported"
[ -e "$T/spool/incoming/acme/b.tgz" ] || fail "the bundle left incoming/"
ok "a bundle whose entries do not fit stays in incoming/"

# Nothing is processed meanwhile, and spoolctl status says why.
sleep 3
[ "$(sqlite3 "$DB" "SELECT count(*) FROM messages WHERE state <> 'queue'")" \
    -eq 0 ] || fail "messages were processed from an unfinished bundle"
[ -z "$(find "$T/spool/queue" -name '.*')" ] ||
    fail "a partial dot-file was left in queue/"
for f in "$T"/spool/queue/*; do
	[ -f "$f" ] || continue
	tail -c 40 "$f" | grep -q '</InventoryMovement>' ||
	    fail "$f is cut short"
done
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" status
expect_out "processing paused"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" status --json
jq -e '.disk.processing_paused == true and (.disk.reason | test("bundle"))' \
    "$T/out" >/dev/null || { cat "$T/out" >&2; fail "status --json"; }
[ "$(grep -c "status=unfinished.*the bundle stays" "$T/log")" -eq 1 ] ||
    fail "the unfinished bundle was logged more than once"
ok "nothing is processed from it meanwhile; logged once; status says so"
if health processor; then
	[ "$code" = 503 ] || fail "/health/processor while paused: $code"
	jq -e '.status == "fail" and .checks.processing.ok == false and
	    .checks.loop.ok == true' "$T/health" >/dev/null ||
	    { cat "$T/health" >&2; fail "/health/processor's checks"; }
	ok "/health/processor: 503 while processing is paused"
fi

# Restarted while the disk is still full: still nothing is processed.
stop_daemon
start_daemon
wait_until 10 'grep -q "rows_without_file=" "$T/log"' ||
    fail "the restart did not see the unfinished bundle"
sleep 2
[ "$(sqlite3 "$DB" "SELECT count(*) FROM messages WHERE state <> 'queue'")" \
    -eq 0 ] || fail "after a restart, messages of the unfinished bundle ran"
ok "after a restart on a full disk nothing of the bundle is processed"

# Room again: finished and processed, without a restart.
rm -f "$T/spool/filler"
wait_until 30 '[ ! -e "$T/spool/incoming/acme/b.tgz" ] &&
    [ "$(count done)" -ge 301 ]' ||
    fail "spoold did not finish the bundle by itself"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM messages WHERE state = 'done'")" \
    -eq 300 ] || fail "not all 300 entries are done"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM attempts WHERE outcome <> 'ok'" \
    2>/dev/null || echo 0)" -eq 0 ] || fail "an entry failed an attempt"
consistent
grep -q "status=finished" "$T/log" || fail "the end was not logged"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" status --json
jq -e '.disk.processing_paused == false' "$T/out" >/dev/null ||
    { cat "$T/out" >&2; fail "status still says paused"; }
! health processor || [ "$code" = 200 ] ||
    { cat "$T/health" >&2; fail "/health/processor: $code"; }
ok "once there is room, the bundle is finished and processed by itself"

# --- 2. The disk fills while an exec call runs: its end (a failure,
# with a .reason sidecar) is recorded by a cycle on a full disk. The
# store's write-ahead log is warm (no restart, a reload), so the COMMIT
# may fit where the .reason sidecar does not: either way nothing lands in
# failed/ without its reason, and all is finished once there is room.
cat >"$T/fill.sh" <<EOF
#!/bin/sh
cat >/dev/null
dd if=/dev/zero of="$T/spool/filler" bs=64k 2>/dev/null
echo "ERP refused it" >&2
exit 65
EOF
chmod +x "$T/fill.sh"
cat >>"$T/spoold.conf" <<CONF
[route ExecFill]
handler = exec
command = $T/fill.sh
CONF
kill -HUP "$DAEMON_PID"
wait_until 10 '[ "$(grep -c "event=reload status=ok" "$T/log")" -ge 1 ]' ||
    fail "reload not taken"
msg acme F 1 ExecFill | drop acme f1.xml
wait_until 20 '[ -e "$T/spool/filler" ] && grep -q "event=exec.*tx=F " "$T/log"' ||
    fail "the exec call did not run"
sleep 3
consistent
for f in "$T"/spool/failed/*; do
	[ -f "$f" ] || continue
	case $f in *.reason) continue ;; esac
	[ -s "$f.reason" ] || fail "$f is in failed/ without its reason"
done
rm -f "$T/spool/filler"
wait_until 30 '[ "$(sqlite3 "$DB" "SELECT state FROM messages WHERE \
    transaction_id = '"'F'"'")" = failed ] && [ "$(count failed)" -eq 1 ]' ||
    fail "the call's end was not recorded once there was room"
n=$(grep -c "event=fail .*tx=F " "$T/log" || true)
[ "$n" -eq 1 ] || fail "the failure was logged $n times, not once"
for f in "$T"/spool/failed/*; do
	case $f in *.reason) continue ;; esac
	grep -q "ERP refused it" "$f.reason" || fail "$f: no reason"
done
if grep -q "event=reason.*status=written" "$T/log"; then
	echo "# the .reason sidecar did not fit; written later"
elif grep -q "status=unrecorded" "$T/log"; then
	echo "# the store's COMMIT did not fit; recorded later"
fi
consistent
stop_daemon
ok "a full disk at a cycle leaves every message where the store says"

# --- 3. Below min_free_space nothing is accepted; space returns: go on.
sed -i 's/^min_free_space = 0$/min_free_space = 2M/' "$T/spoold.conf"
start_daemon
fill 1024
mv_msg acme LOW 1 3 | drop acme low.xml
wait_until 20 'grep -q "event=disk status=low" "$T/log"' ||
    fail "below min_free_space was not logged"
sleep 2
[ -e "$T/spool/incoming/acme/low.xml" ] ||
    fail "a file was accepted below min_free_space"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" status
expect_out "not accepting"
expect_out "(below it)"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" status --json
jq -e '.disk.accepting == false and .disk.below_min_free_space == true' \
    "$T/out" >/dev/null || { cat "$T/out" >&2; fail "status --json"; }
ok "below min_free_space files stay in incoming/, and status says so"
rm -f "$T/spool/filler"
wait_until 20 '[ ! -e "$T/spool/incoming/acme/low.xml" ] &&
    [ "$(sqlite3 "$DB" "SELECT state FROM messages WHERE \
    transaction_id = '"'LOW'"'")" = done ]' ||
    fail "the file was not taken once space returned"
grep -q "event=disk status=ok" "$T/log" || fail "the end was not logged"
[ "$(grep -c "event=disk status=low" "$T/log")" -eq 1 ] ||
    fail "below min_free_space was logged more than once"
stop_daemon
ok "with room again, spoold accepts by itself"

# --- 4. A .reason sidecar that cannot be written (failed/ not writable
# for an unprivileged spoold): the file waits in queue/ rather than lie
# in failed/ without its reason; once failed/ takes it, the reason is
# written and the file moved, without a restart.
if ! command -v setpriv >/dev/null 2>&1; then
	echo "# setpriv missing: the .reason case is not run"
	exit 0
fi
sed -i 's/^min_free_space = 2M$/min_free_space = 0/' "$T/spoold.conf"
cat >"$T/no.sh" <<'EOF'
#!/bin/sh
cat >/dev/null
echo "ERP says no" >&2
exit 65
EOF
chmod 755 "$T/no.sh" "$T"
cat >>"$T/spoold.conf" <<CONF
[route ExecNo]
handler = exec
command = $T/no.sh
CONF
# The unprivileged spoold reads its schemas and dialects from copies
# under $T (own_copies, lib.sh).
own_copies
chmod 644 "$T/spoold.conf"
chown -R 65534:65534 "$T/spool"
: >"$T/log"
setpriv --reuid=65534 --regid=65534 --clear-groups \
    $SPOOLD -c "$T/spoold.conf" >>"$T/log" 2>&1 &
DAEMON_PID=$!
wait_until 20 'grep -q "event=start" "$T/log"' || fail "spoold did not start"
chmod 555 "$T/spool/failed"
msg acme N 1 ExecNo | drop acme n1.xml
chown -R 65534:65534 "$T/spool/incoming"
wait_until 20 'grep -q "event=reason.*status=failed" "$T/log"' ||
    fail "the refused .reason sidecar was not reported"
sleep 1	# the move, if any, follows the log line
[ "$(sqlite3 "$DB" "SELECT state FROM messages WHERE transaction_id = 'N'")" \
    = failed ] || fail "the message is not failed in the store"
[ -z "$(ls "$T/spool/failed" | grep ',N,')" ] ||
    fail "a file lies in failed/ without its reason"
[ -n "$(ls "$T/spool/queue" | grep ',N,')" ] ||
    fail "the file did not wait in queue/"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" status
expect_out ".reason sidecar"
ok "a .reason sidecar that cannot be written: the file waits, status says so"
chmod 755 "$T/spool/failed"
wait_until 20 '[ -n "$(ls "$T/spool/failed" | grep ",N,.*\.reason")" ] &&
    [ -z "$(ls "$T/spool/queue" | grep ",N,")" ]' ||
    fail "the reason was not written once failed/ took it"
grep -q "ERP says no" "$T"/spool/failed/*,N,*.reason || fail "wrong reason"
consistent
stop_daemon
ok "once failed/ takes it, the reason is written and the file moved"
