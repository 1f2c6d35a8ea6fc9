#!/bin/sh
# bundlecrash.sh - a bundle and a crash (DESIGN 13): spoold killed while
# it reads a bundle, right after its COMMIT, after the entry files but
# before the bundle's move, and at random moments; after a restart the
# whole bundle is accepted, exactly once, or none of it is.
. "$(dirname "$0")/lib.sh"

command -v bsdtar >/dev/null ||
    fail "bsdtar is missing (contrib/scripts/install-deps)"
ledger_spool
mkdir -p "$T/spool/incoming/acme" "$T/w"

db() {
	sqlite3 "$T/spool/spool.db" "$1"
}
# make_bundle NAME TX N: N InventoryMovements of TX (+3, -3, ...), the
# entries in reverse order, as $T/NAME.
make_bundle() {
	rm -rf "$T/w" && mkdir "$T/w"
	s=1
	while [ "$s" -le "$3" ]; do
		q=3
		[ $((s % 2)) -eq 0 ] && q=-3
		mv_msg acme "$2" "$s" "$q" >"$T/w/$(printf '%05d' "$s").xml"
		s=$((s + 1))
	done
	(cd "$T/w" && ls | sort -r | bsdtar -czf "$T/$1" -T -)
}
drop_bundle() {
	cp "$T/$1" "$T/spool/incoming/acme/.$1"
	mv "$T/spool/incoming/acme/.$1" "$T/spool/incoming/acme/$1"
}
# whole NAME TX N: the bundle is in done/, with N messages of TX done,
# each once, and the ledger balance exact.
whole() {
	b=$(db "SELECT id FROM batches WHERE orig_name = '$1' AND \
	    state = 'done'")
	[ -n "$b" ] || fail "$1: no done batch"
	[ "$(echo "$b" | wc -l)" -eq 1 ] || fail "$1: batches $b"
	[ -f "$T/spool/done/acme,$1,$b.bundle" ] || fail "$1 not in done/"
	[ ! -e "$T/spool/incoming/acme/$1" ] || fail "$1 still in incoming/"
	[ "$(db "SELECT count(*) FROM messages WHERE transaction_id = '$2' \
	    AND state = 'done' AND batch = $b")" -eq "$3" ] ||
	    fail "$1: not all $3 messages done once"
	[ "$(db "SELECT count(*) FROM messages WHERE transaction_id = \
	    '$2'")" -eq "$3" ] || fail "$1: messages recorded twice"
	[ "$(db "SELECT quantity FROM v_stock WHERE item = 'ITEM-acme-$2'")" \
	    = $((3 * ($3 % 2))) ] || fail "$1: ledger balance"
	expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" check
}

# Killed inside the transaction, while reading entries: nothing recorded.
make_bundle a.tgz TA 20
drop_bundle a.tgz
crash_at bundle-entry
[ "$(db "SELECT count(*) FROM batches")" -eq 0 ] ||
    fail "a batch recorded before COMMIT"
[ -f "$T/spool/incoming/acme/a.tgz" ] || fail "a.tgz left incoming/"
[ -z "$(find "$T/spool/queue" "$T/spool/parked" -type f)" ] ||
    fail "entry files before COMMIT"
expect_exit 0 timeout 60 $SPOOLD -c "$T/spoold.conf" --once
whole a.tgz TA 20
ok "killed while reading a bundle: none of it, then all of it"

# Killed right after COMMIT: recorded, no entry file written yet. The
# daemon, restarted, writes them before it processes anything.
make_bundle b.tgz TB 21
drop_bundle b.tgz
crash_at accept-commit
[ "$(db "SELECT count(*) FROM messages WHERE transaction_id = 'TB'")" \
    -eq 21 ] || fail "b.tgz not recorded at COMMIT"
[ -f "$T/spool/incoming/acme/b.tgz" ] || fail "b.tgz left incoming/"
start_daemon
wait_until 30 '[ "$(db "SELECT count(*) FROM messages WHERE \
    transaction_id = '"'TB'"' AND state = '"'done'"'")" -eq 21 ]' ||
    fail "b.tgz not processed after restart"
stop_daemon
grep -q "event=bundle partner=acme file=b.tgz .*restored=yes" "$T/log" ||
    fail "b.tgz not restored"
whole b.tgz TB 21
ok "killed after COMMIT: the entries are written at restart, all of them"

# Killed after the entry files, before the bundle's move; one entry file
# is then found empty (its data lost): it is written again.
make_bundle c.tgz TC 9
drop_bundle c.tgz
crash_at bundle-entries
f=$(db "SELECT file_name FROM messages WHERE transaction_id = 'TC' AND \
    sender_seq = 5")
[ -f "$T/spool/parked/$f" ] || fail "entry file not written before the move"
: >"$T/spool/parked/$f"
expect_exit 0 timeout 60 $SPOOLD -c "$T/spoold.conf" --once
whole c.tgz TC 9
ok "killed before the bundle's move: finished, a lost entry rewritten"

# Killed at random moments, again and again, while a bigger bundle and
# single files come in.
make_bundle d.tgz TD 400
drop_bundle d.tgz
i=0
while [ "$i" -lt 8 ]; do
	mv_msg acme TS "$((i + 1))" $((i % 2 == 0 ? 3 : -3)) \
	    >"$T/spool/incoming/acme/.s$i.xml"
	mv "$T/spool/incoming/acme/.s$i.xml" "$T/spool/incoming/acme/s$i.xml"
	: >"$T/log"
	$SPOOLD -c "$T/spoold.conf" >>"$T/log" 2>&1 &
	DAEMON_PID=$!
	# The sleep is the crash's timing, not a synchronisation.
	sleep "0.$(shuf -i 0-40 -n 1 | xargs printf '%02d')"
	kill -KILL "$DAEMON_PID" 2>/dev/null || true
	wait "$DAEMON_PID" 2>/dev/null || true
	DAEMON_PID=
	i=$((i + 1))
done
expect_exit 0 timeout 120 $SPOOLD -c "$T/spoold.conf" --once
whole d.tgz TD 400
[ "$(db "SELECT count(*) FROM messages WHERE transaction_id = 'TS' AND \
    state = 'done'")" -eq 8 ] || fail "single files lost"
ok "killed 8 times at random: the bundle accepted exactly once"
