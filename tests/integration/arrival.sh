#!/bin/sh
# arrival.sh - a backlog is taken in the order it arrived (mtime, then
# name), not in name or directory order (issue 20, part 2): dropped in
# order while spoold is stopped, it is accepted in order and nothing of
# it parks, then processed in order.
#
# Two transactions of 12 InventoryMovements (+3 at odd sequence numbers,
# -3 at even: applied out of order, stock would go negative) on two
# partners, their arrival interleaved. The files are written in a
# shuffled order under names that sort against their arrival, and their
# mtimes then set (touch -d) to the arrival order, an hour ago: neither
# name order nor directory order is arrival order.
. "$(dirname "$0")/lib.sh"

command -v inotifywait >/dev/null 2>&1 || { echo "no inotifywait"; exit 77; }
write_conf
cat >>"$T/spoold.conf" <<CONF
[route InventoryMovement]
handler = ledger
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
mkdir -p "$T/spool/incoming/acme" "$T/spool/incoming/globex"

# Arrival k (1..24): partner, transaction, sequence number; name z<25-k>.
n=12
base=$(($(date +%s) - 3600))
k=1
: >"$T/arrivals"
while [ "$k" -le $((2 * n)) ]; do
	if [ $((k % 2)) -eq 1 ]; then p=acme; else p=globex; fi
	seq=$(((k + 1) / 2))
	q=3
	[ $((seq % 2)) -eq 1 ] || q=-3
	printf '%s %s %s z%02d.xml\n' "$k" "$p" "$seq" $((2 * n + 1 - k)) \
	    >>"$T/arrivals"
	mv_msg "$p" TX "$seq" "$q" >"$T/m$k.xml"
	k=$((k + 1))
done
shuf "$T/arrivals" | while read -r k p seq name; do
	cp "$T/m$k.xml" "$T/spool/incoming/$p/$name"
done
while read -r k p seq name; do
	touch -d "@$((base + k))" "$T/spool/incoming/$p/$name"
done <"$T/arrivals"

# Arrival order differs from name order and from directory order (in
# each partner directory).
for p in acme globex; do
	awk -v p="$p" '$2 == p { print $4 }' "$T/arrivals" >"$T/want.$p"
	ls -tr "$T/spool/incoming/$p" >"$T/mtime.$p"
	cmp -s "$T/want.$p" "$T/mtime.$p" || fail "mtimes not set: $p"
	ls "$T/spool/incoming/$p" >"$T/name.$p"
	! cmp -s "$T/want.$p" "$T/name.$p" ||
	    fail "name order is arrival order: $p"
	ls -U "$T/spool/incoming/$p" >"$T/dir.$p"
	if cmp -s "$T/want.$p" "$T/dir.$p"; then
		echo "directory order is arrival order here: $p" >&2
		exit 77
	fi
done

# Every file that enters parked/ or queue/ during the run.
inotifywait -m -e moved_to,create --format '%w%f' "$T/spool/parked" \
    "$T/spool/queue" >"$T/seen" 2>"$T/inw.err" &
INW=$!
trap 'kill $INW 2>/dev/null || true; cleanup' EXIT
i=0
until grep -qs 'Watches established' "$T/inw.err"; do
	[ "$i" -lt 100 ] || fail "inotifywait did not start"
	inotifywait -qq -t 1 -e modify "$T/inw.err" 2>/dev/null || true
	i=$((i + 1))
done
: >"$T/log"
expect_exit 0 $SPOOLD -c "$T/spoold.conf" --once
cat "$T/out" >"$T/log"
kill "$INW" 2>/dev/null || true
wait "$INW" 2>/dev/null || true

# All done, in order.
[ "$(count 'done')" -eq $((2 * n)) ] ||
    fail "done/ holds $(count 'done') files"
check_tx() {
	got=$(sqlite3 "$T/spool/spool.db" "SELECT quantity FROM v_stock \
	    WHERE item = 'ITEM-$1-TX'")
	[ "$got" = 0 ] || fail "ITEM-$1-TX balance $got, want 0"
}
check_tx acme
check_tx globex
bad=$(sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM ledger_moves a \
    JOIN messages ma ON ma.id = a.message JOIN ledger_moves b ON b.id > a.id \
    JOIN messages mb ON mb.id = b.message WHERE ma.partner = mb.partner AND \
    ma.transaction_id = mb.transaction_id AND ma.sender_seq > mb.sender_seq")
[ "$bad" -eq 0 ] || fail "$bad movements applied out of order"
ok "processed in order"

# Accepted in arrival order: IDs are given out as files are accepted, so
# within each transaction they ascend with the sequence number, and
# across the two partners they follow the interleaved arrival.
sqlite3 "$T/spool/spool.db" "SELECT partner, sender_seq FROM messages \
    ORDER BY id" >"$T/accepted"
awk '{ print $2 "|" $3 }' "$T/arrivals" >"$T/arrived"
cmp -s "$T/arrived" "$T/accepted" || {
	paste "$T/arrived" "$T/accepted" >&2
	fail "not accepted in arrival order (arrived | accepted)"
}
ok "accepted in arrival order"

# Nothing parked: no file of the backlog waited in parked/. (Where a
# ready message still passes through queue/ before it is processed --
# acceptance and processing in two steps -- its successor, accepted
# before it is processed, is parked behind it, not behind a later
# arrival: then only that many may be.)
parked=$(grep -c '/parked/' "$T/seen" || true)
queued=$(grep -c '/queue/' "$T/seen" || true)
if [ "$queued" -eq 0 ]; then
	[ "$parked" -eq 0 ] || fail "$parked files parked"
	ok "nothing parked"
else
	[ "$parked" -le $((2 * n - 2)) ] ||
	    fail "$parked files parked, more than behind queued predecessors"
	ok "nothing parked behind a later arrival (two-step acceptance:" \
	    "$queued queued, $parked behind them)"
fi
