#!/bin/sh
# ctlaccess.sh - who may use spoolctl: a member of the spool's group who
# may read but not write the spool (0750 directories, 0640 files) runs
# every reading command (status, list, show, batch, check), while spoold
# runs and after it stopped; the commands that change the store are
# refused to that user with a permission error, and nothing is changed.
. "$(dirname "$0")/lib.sh"

if ! command -v setpriv >/dev/null 2>&1; then
	echo "SKIP: setpriv missing"
	exit 77
fi
# The reader: uid nobody, a group of the spool's (no user or group entry
# is needed for numeric ids, so nothing in /etc changes).
G=64321
reader() {
	setpriv --reuid=65534 --regid=65534 --groups=$G -- "$@"
}
rctl() {
	reader $SPOOLCTL -c "$T/spoold.conf" "$@"
}

umask 027
write_conf
cat >>"$T/spoold.conf" <<CONF
[route InventoryMovement]
handler = ledger
CONF
chgrp $G "$T" "$T/spoold.conf"
chmod 0750 "$T"
chmod 0640 "$T/spoold.conf"
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
DB=$T/spool/spool.db
chgrp -R $G "$T/spool"
find "$T/spool" -type d -exec chmod 2750 {} +
find "$T/spool" -type f -exec chmod 0640 {} +

start_daemon
mv_msg acme L1 1 3 | drop acme l1-1.xml
mv_msg acme L1 2 -5 | drop acme l1-2.xml
mv_msg acme L2 2 1 | drop acme l2-2.xml
wait_until 20 '[ "$(count done)" -eq 1 ] && [ "$(count failed)" -eq 1 ] &&
    [ "$(count parked)" -eq 1 ]' || fail "messages did not reach their states"
# Every file the reader needs is the group's to read, not to write.
for f in "$DB" "$DB-wal" "$DB-shm"; do
	[ -e "$f" ] || fail "$f is missing"
	[ "$(stat -c %a "$f")" = 640 ] || fail "$f has mode $(stat -c %a "$f")"
done
reader sh -c ": >>'$DB'" 2>/dev/null && fail "the reader may write the store"
FAILED=$(sqlite3 "$DB" "SELECT id FROM messages WHERE state = 'failed'")
before=$(sqlite3 "$DB" "SELECT group_concat(id || state) FROM messages")

expect_exit 0 rctl status
expect_out "spoold    running"
expect_out "failed    1"
expect_exit 0 rctl --json status
[ "$(jq -r .counts.done "$T/out")" = 1 ] || fail "status --json as reader"
expect_exit 0 rctl list
expect_out "L2"
expect_exit 0 rctl --json list --state done
[ "$(jq -r .total "$T/out")" = 1 ] || fail "list --json as reader"
expect_exit 0 rctl show "$FAILED"
expect_exit 0 rctl show --tx acme L1
expect_exit 0 rctl check
expect_exit 0 rctl purge --done-older-than 1d --dry-run
expect_exit 65 rctl batch 1
ok "a group member who cannot write the spool reads it while spoold runs"

# The levers are refused, and change nothing.
set +e
rctl retry "$FAILED" >"$T/out" 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] && [ "$rc" -ne 70 ] || fail "retry as reader exited $rc"
grep -qi "readonly\|read-only\|permission" "$T/out" ||
    fail "retry as reader: $(cat "$T/out")"
set +e
rctl skip --tx acme L2 1 --reason "as reader" >"$T/out" 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] && [ "$rc" -ne 70 ] || fail "skip as reader exited $rc"
[ "$(sqlite3 "$DB" "SELECT group_concat(id || state) FROM messages")" = \
    "$before" ] || fail "a refused lever changed the store"
ok "retry and skip are refused to the reader, nothing changes"

# spoold stopped: its -wal and -shm stay, and the reader still reads.
stop_daemon
[ -e "$DB-wal" ] && [ -e "$DB-shm" ] ||
    fail "-wal or -shm removed at exit: $(ls "$T/spool")"
expect_exit 3 rctl status
expect_out "spoold    not running"
expect_out "done      1"
expect_exit 0 rctl list --state failed
expect_out "$FAILED"
expect_exit 0 rctl check
ok "the reader reads the store also while spoold is stopped"
