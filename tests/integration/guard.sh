#!/bin/sh
# guard.sh - what spoold and spoolctl refuse to trust: a config that is
# not a regular file, a pid that is not spoold's, a lock file or store
# removed under a running spoold.
. "$(dirname "$0")/lib.sh"

write_conf
cat >>"$T/spoold.conf" <<CONF
[route *]
handler = ledger
CONF
cp "$T/spoold.conf" "$T/good.conf"
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1

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
