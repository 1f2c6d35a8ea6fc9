#!/bin/sh
# demo.sh: contrib/scripts/demo, run with DEMO_ONCE=1 in a temp directory,
# ends with every message done (nothing failed, rejected or parked, the
# gap it opens on purpose closed), and a second run keeps a config that
# was changed in between.
. "$(dirname "$0")/lib.sh"

demo="$top_srcdir/contrib/scripts/demo"
samples=${DEMO_SAMPLES:-$SHARED/samples/native}
spool="$T/demo-spool"
conf="$T/demo-spool.conf"

run_demo() {
	DEMO_DIR=$T DEMO_BUILDDIR=$top_builddir DEMO_SAMPLES=$samples \
	    DEMO_ONCE=1 sh "$demo" >"$T/out" 2>&1 ||
	    { cat "$T/out" >&2; fail "the demo exited $?"; }
}

# n STATE: messages in STATE, from the store.
n() {
	sqlite3 "$spool/spool.db" \
	    "SELECT count(*) FROM messages WHERE state = '$1'"
}

# all_done N: N messages in the store, all done, and nothing left
# anywhere else.
all_done() {
	total=$(sqlite3 "$spool/spool.db" "SELECT count(*) FROM messages")
	[ "$total" -eq "$1" ] ||
	    { cat "$T/out" >&2; fail "$total messages, want $1"; }
	[ "$(n done)" -eq "$1" ] || {
		cat "$T/out" >&2
		sqlite3 "$spool/spool.db" \
		    "SELECT id, state, type, reason FROM messages" >&2
		fail "$(n done) of $1 messages done"
	}
	for d in queue parked deferred failed rejected; do
		left=$(find "$spool/$d" -type f | wc -l)
		[ "$left" -eq 0 ] || fail "$left files in $d/"
	done
	left=$(find "$spool/incoming" -type f | wc -l)
	[ "$left" -eq 0 ] || fail "$left files left in incoming/"
	[ "$(find "$spool/done" -type f | wc -l)" -eq "$1" ] ||
	    fail "done/ does not hold $1 files"
}

run_demo
if [ -d "$samples" ]; then
	# Every sample but ERP's own Ack, and the two first messages the
	# demo adds.
	want=$(($(ls "$samples"/*.xml | wc -l) - 1 + 2))
	all_done "$want"
	for t in ProductInfo InventoryMovement StockTransfer \
	    FinancialPosting PurchaseOrderCreate PurchaseOrderAccept \
	    DeliveryNote PurchaseOrderDecline PurchaseOrderChange \
	    PurchaseOrderCancel Invoice; do
		c=$(sqlite3 "$spool/spool.db" "SELECT count(*) FROM messages \
		    WHERE type = '$t' AND state = 'done'")
		[ "$c" -ge 1 ] || fail "no $t done"
	done
	ok "the demo: every sample type ends done ($want messages)"
	# The gap it opened: Decline (2) parked in the first run, then done.
	grep -q 'GLOBEX *PO-2026-000124 *2 PurchaseOrderDecline parked' \
	    "$T/out" || { cat "$T/out" >&2; fail "no parked Decline shown"; }
	ok "the demo shows a gap, and it closes"
	[ "$(sqlite3 "$spool/spool.db" "SELECT state FROM v_orders \
	    WHERE order_number = '4500012345'")" = invoiced ] ||
	    fail "order 4500012345 is not invoiced"
	grep -q 'type=ProductInfo' "$T/demo-spool.imported" ||
	    fail "demo-import did not record the ProductInfo"
	[ "$(find "$spool/outgoing" -name '*PurchaseOrderAck*' |
	    wc -l)" -eq 3 ] || fail "not 3 Acks in outgoing/"
	ok "order invoiced, ProductInfo imported, 3 Acks sent"
else
	echo "# no $samples: the demo's own two movements"
	all_done 2
	grep -q 'ACME *DEMO-1 *2 InventoryMovement *parked' "$T/out" ||
	    { cat "$T/out" >&2; fail "no parked movement shown"; }
	ok "the demo (no samples): both movements done, the gap closed"
fi
grep -q 'spoolctl -c .* status' "$T/out" &&
    grep -q 'spoolctl -c .* show --tx' "$T/out" ||
    fail "the demo does not say what to look at next"
ok "the demo says what to look at next"

# Run again on the same spool with an unchanged config: all fine, the
# samples are duplicates now.
cp "$conf" "$T/conf.1"
run_demo
cmp -s "$conf" "$T/conf.1" || fail "the demo's config changed"
[ "$(n failed)" -eq 0 ] && [ "$(find "$spool/rejected" "$spool/parked" \
    "$spool/failed" -type f | wc -l)" -eq 0 ] ||
    fail "the second run left something failed, rejected or parked"
ok "a second run: duplicates, nothing failed"

# The user changes the config; the demo keeps it, says so, and uses it.
sed 's/^level = info$/level = notice/' "$conf" >"$T/conf.2"
cmp -s "$conf" "$T/conf.2" && fail "sed changed nothing"
cp "$T/conf.2" "$conf"
run_demo
cmp -s "$conf" "$T/conf.2" || fail "the demo overwrote a changed config"
grep -q "has been changed since the demo wrote it" "$T/out" ||
    { cat "$T/out" >&2; fail "no message about the kept config"; }
! grep -q 'level=info' "$T/out" || fail "the changed config was not used"
ok "a changed config is kept, and used"

# Removed, it is written afresh.
rm "$conf"
run_demo
cmp -s "$conf" "$T/conf.1" || fail "the demo did not write its config"
ok "a removed config is written again"
