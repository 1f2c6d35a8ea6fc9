#!/bin/sh
# programs.sh - the command lines of spoold and spoolctl: --version,
# usage errors, --check-config, --init (fresh and again), status.
. "$(dirname "$0")/lib.sh"

expect_exit 0 $SPOOLD --version
expect_out "spoold 0."
ok "spoold --version"

expect_exit 64 $SPOOLD --no-such-option
expect_out "usage: spoold"
expect_exit 64 $SPOOLD extra-argument
expect_exit 64 $SPOOLD --init --once
expect_exit 64 $SPOOLCTL
expect_exit 64 $SPOOLCTL frobnicate
ok "usage errors exit 64"

expect_exit 0 $SPOOLD -c "$top_srcdir/contrib/spoold.conf.example" \
    --check-config
expect_out "configuration ok"
ok "example config passes --check-config"

printf '[processing]\nworkers = 2\nworkers = 3\n' >"$T/dup.conf"
expect_exit 78 $SPOOLD -c "$T/dup.conf" --check-config
expect_out "$T/dup.conf:3: duplicate key \"workers\""
printf '[spool]\n[nonsense]\n' >"$T/sec.conf"
expect_exit 78 $SPOOLD -c "$T/sec.conf" --check-config
expect_out "$T/sec.conf:2: unknown section [nonsense]"
printf '[retry]\nmax_delay = forever\n' >"$T/val.conf"
expect_exit 78 $SPOOLD -c "$T/val.conf" --check-config
expect_out "$T/val.conf:2: max_delay: \"forever\" is not a duration"
expect_exit 78 $SPOOLD -c "$T/missing.conf" --check-config
expect_out "$T/missing.conf: No such file or directory"
ok "broken configs exit 78 with file:line: reason"

write_conf
expect_exit 0 $SPOOLD -c "$T/spoold.conf" --init
for d in incoming outgoing queue parked deferred failed rejected done; do
	[ -d "$T/spool/$d" ] || fail "--init did not create $d/"
done
[ -f "$T/spool/spool.db" ] || fail "--init did not create spool.db"
[ "$(sqlite3 "$T/spool/spool.db" 'PRAGMA journal_mode')" = wal ] ||
    fail "store is not in WAL mode"
ok "--init creates the layout and the store"

# Again, on a spool with content: nothing is lost.
echo keep >"$T/spool/queue/x.xml"
mkdir "$T/spool/incoming/acme"
echo upload >"$T/spool/incoming/acme/a.xml"
sqlite3 "$T/spool/spool.db" "INSERT INTO messages (partner, orig_name, \
    file_name, state, received_at, updated_at) VALUES ('acme', 'x', \
    'x.xml', 'queue', 1, 1)"
expect_exit 0 $SPOOLD -c "$T/spoold.conf" --init
[ "$(cat "$T/spool/queue/x.xml")" = keep ] || fail "--init lost queue/x.xml"
[ "$(cat "$T/spool/incoming/acme/a.xml")" = upload ] ||
    fail "--init lost an incoming file"
[ "$(sqlite3 "$T/spool/spool.db" 'SELECT count(*) FROM messages')" = 1 ] ||
    fail "--init lost a store row"
ok "--init again is idempotent"

# -d overrides the config's directory.
expect_exit 0 $SPOOLD -c "$T/spoold.conf" -d "$T/other" --init
[ -f "$T/other/spool.db" ] || fail "-d was not used"
ok "-d overrides [spool] directory"

expect_exit 3 $SPOOLCTL -c "$T/spoold.conf" status
expect_out "queue     1"
expect_out "incoming  1"
expect_exit 3 $SPOOLCTL -c "$T/spoold.conf" status --json
[ "$(jq -r '.counts.queue' "$T/out")" = 1 ] || fail "status --json queue"
[ "$(jq -r '.counts.incoming' "$T/out")" = 1 ] ||
    fail "status --json incoming"
ok "spoolctl status, text and JSON"

expect_exit 66 $SPOOLCTL -d "$T/nowhere" status
expect_out "spoold --init"
ok "spoolctl on a missing spool says how to create it"

# One spoold per spool: a second one is refused, naming the first; the
# lock goes with the first one's process, even when it is killed.
start_daemon
expect_exit 75 $SPOOLD -c "$T/spoold.conf" --once
expect_out "is in use by spoold (pid $DAEMON_PID)"
expect_exit 75 $SPOOLCTL -c "$T/spoold.conf" check --repair
expect_out "stop it before check --repair"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=
expect_exit 0 $SPOOLD -c "$T/spoold.conf" --once
ok "a second spoold (and a repair) on a running spool is refused"

# A store from a newer spoold is refused.
sqlite3 "$T/spool/spool.db" 'PRAGMA user_version = 999'
expect_exit 69 $SPOOLD -c "$T/spoold.conf" --init
expect_out "newer than this program"
ok "a newer store is refused"
