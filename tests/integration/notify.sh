#!/bin/sh
# notify.sh - spoold under systemd's Type=notify, through a fake
# NOTIFY_SOCKET (a unix datagram socket this test listens on): READY=1
# once start-up is over, STATUS= with the counts, WATCHDOG=1 from the
# loop at half of WATCHDOG_USEC while it is idle, STOPPING=1 on SIGTERM.
# (ProductInfo goes to the ledger, which fails it: both messages end in
# failed/, which counts as processed.)
# Without NOTIFY_SOCKET spoold runs as before (every other test).
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null 2>&1 || { echo "SKIP: no python3"; exit 77; }

# The listener: one line per datagram (newlines inside become '|').
# With READY=1 it notes how many files queue/ holds at that moment.
cat >"$T/listen.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[1] + ".up", "w").close()
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        d = s.recv(4096).decode("utf-8", "replace")
        if "READY=1" in d and os.path.isdir(sys.argv[3]):
            d += "\nqueue=%d" % len(os.listdir(sys.argv[3]))
        out.write(d.replace("\n", "|") + "\n")
PY
: >"$T/notes"
python3 "$T/listen.py" "$T/notify.sock" "$T/notes" "$T/spool/queue" &
LISTENER=$!
trap 'rc=$?; kill "$LISTENER" 2>/dev/null; cleanup; exit $rc' EXIT
wait_until 10 '[ -e "$T/notify.sock.up" ]' || fail "listener did not start"

write_conf
fail_route
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
# A watchdog of 400 ms: a ping at least every 200 ms, the loop idle.
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=400000 start_daemon
wait_until 10 'grep -q "^READY=1" "$T/notes"' || fail "no READY=1"
grep -q '^READY=1|STATUS=accepting' "$T/notes" ||
    fail "READY=1 without STATUS=: $(cat "$T/notes")"
ok "READY=1 with a STATUS= after start-up"

wait_until 10 '[ "$(grep -c "^WATCHDOG=1" "$T/notes")" -ge 5 ]' ||
    fail "fewer than 5 WATCHDOG=1 pings: $(cat "$T/notes")"
ok "WATCHDOG=1 from the idle loop"

msg acme - 1 | drop acme one.xml
wait_until 10 'grep -q "^STATUS=accepting; accepted 1, processed 1" "$T/notes"' ||
    fail "no STATUS= with the counts: $(cat "$T/notes")"
ok "STATUS= carries the counts"

stop_daemon
wait_until 5 'grep -q "^STOPPING=1" "$T/notes"' || fail "no STOPPING=1"
ok "STOPPING=1 on SIGTERM"

# (ProductInfo goes to the ledger, which fails it: both messages end in
# failed/, which counts as processed.)
# Without NOTIFY_SOCKET: nothing is sent (and nothing breaks).
: >"$T/notes"
unset NOTIFY_SOCKET WATCHDOG_USEC
start_daemon
msg acme - 2 | drop acme two.xml
wait_until 10 '[ "$(count failed)" -eq 2 ]' || fail "not processed"
stop_daemon
[ ! -s "$T/notes" ] || fail "notes without NOTIFY_SOCKET: $(cat "$T/notes")"
ok "no NOTIFY_SOCKET: nothing sent"

# An exec program is not the service's main process: it gets neither
# NOTIFY_SOCKET nor the watchdog's variables.
cat >"$T/env.sh" <<SH
#!/bin/sh
cat >/dev/null
env >"$T/env.out"
SH
chmod +x "$T/env.sh"
cat >>"$T/spoold.conf" <<CONF
[route ProductInfo]
handler = exec
command = $T/env.sh
CONF
: >"$T/notes"
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=400000 start_daemon
msg acme - 3 | drop acme three.xml
wait_until 10 '[ -s "$T/env.out" ]' || fail "the exec program did not run"
stop_daemon
grep -q '^SPOOLD_MESSAGE_ID=' "$T/env.out" || fail "no SPOOLD_* in: \
$(cat "$T/env.out")"
! grep -q '^NOTIFY_SOCKET=\|^WATCHDOG_' "$T/env.out" ||
    fail "an exec program inherits: $(grep '^NOTIFY\|^WATCHDOG' "$T/env.out")"
ok "exec programs get no NOTIFY_SOCKET or WATCHDOG_*"

# READY=1 comes after start-up reconciliation: files a crash left in
# the wrong directory (their rows say failed, the files lie in queue/)
# are back in failed/ when systemd hears READY=1.
: >"$T/notes"
mv "$T/spool/failed/"*.xml "$T/spool/queue/"
[ "$(ls "$T/spool/queue" | wc -l)" -ge 2 ] || fail "nothing to reconcile"
NOTIFY_SOCKET="$T/notify.sock" start_daemon
wait_until 10 'grep -q "^READY=1" "$T/notes"' || fail "no READY=1"
grep -q '^READY=1|.*|queue=0$' "$T/notes" ||
    fail "READY=1 before reconciliation: $(grep READY "$T/notes")"
grep -q 'event=reconcile' "$T/log" || fail "no reconciliation logged"
stop_daemon
[ -z "$(ls "$T/spool/queue")" ] || fail "queue/ not reconciled"
ok "READY=1 only after start-up reconciliation"
