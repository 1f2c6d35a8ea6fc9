#!/bin/sh
# cmdcheck.sh - an exec route whose command is missing or not executable
# is our own mistake: --check-config reports every such command and
# exits 78 (issue 16: it passed, and every message then failed for
# good); --init only warns.
. "$(dirname "$0")/lib.sh"

write_conf
printf '#!/bin/sh\ncat >/dev/null\n' >"$T/ok.sh"
chmod 755 "$T/ok.sh"
printf '#!/bin/sh\n' >"$T/noexec.sh"
chmod 644 "$T/noexec.sh"
cat >>"$T/spoold.conf" <<CONF
[route Missing]
handler = exec
command = $T/no-such-program --flag
[route NoExec]
handler = exec
command = $T/noexec.sh
[route OnPath]
handler = exec
command = true
[route Fine]
handler = exec
command = $T/ok.sh
CONF
expect_exit 78 $SPOOLD -c "$T/spoold.conf" --check-config
expect_out "[route Missing]: command $T/no-such-program: not found"
expect_out "[route NoExec]: command $T/noexec.sh:"
grep -q 'OnPath\|Fine' "$T/out" && fail "a usable command was reported"
ok "--check-config reports every missing or non-executable command, exit 78"

expect_exit 0 $SPOOLD -c "$T/spoold.conf" --init
expect_out "event=config route=Missing command="
expect_out "event=config route=NoExec command="
ok "--init only warns about them"

chmod 755 "$T/noexec.sh"
sed -i '/^\[route Missing\]/,+2d' "$T/spoold.conf"
expect_exit 0 $SPOOLD -c "$T/spoold.conf" --check-config
ok "--check-config passes once they are fixed"

# A starting spoold warns too, and so does a reload.
chmod 644 "$T/noexec.sh"
start_daemon
grep -q 'event=config route=NoExec command=' "$T/log" ||
    fail "a starting spoold did not warn"
: >"$T/log"
kill -HUP "$DAEMON_PID"
wait_until 20 'grep -q "event=config route=NoExec command=" "$T/log"' ||
    fail "a reload did not warn"
stop_daemon
ok "a starting and a reloading spoold warn about them"
