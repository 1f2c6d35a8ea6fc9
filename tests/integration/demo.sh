#!/bin/sh
# demo.sh: contrib/scripts/demo, run with DEMO_ONCE=1 in a temp directory,
# ends with every message done (nothing failed, rejected or parked, the
# gap it opens on purpose closed), and a second run keeps a config that
# was changed in between. Run as a user would (no DEMO_ONCE), spoold
# serves the HTTP API on 127.0.0.1 with the admin token the demo made and
# printed: /health and an authenticated GET /api/messages answer.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null 2>&1 || { echo "skip: curl not installed"; exit 77; }
DEMO_PID=
stop_demo() {
	if [ -n "$DEMO_PID" ]; then
		kill -TERM "$DEMO_PID" 2>/dev/null
		wait "$DEMO_PID" 2>/dev/null
		DEMO_PID=
	fi
}
trap 'stop_demo; cleanup' EXIT

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

# As a user runs it: spoold stays, with the HTTP API on a free port of
# 127.0.0.1 and the token printed.
DEMO_DIR=$T DEMO_BUILDDIR=$top_builddir DEMO_SAMPLES=$samples \
    sh "$demo" >"$T/out" 2>"$T/err" &
DEMO_PID=$!
i=0
until grep -q 'curl -H' "$T/out"; do
	i=$((i + 1))
	[ "$i" -lt 300 ] && kill -0 "$DEMO_PID" 2>/dev/null || {
		cat "$T/out" "$T/err" >&2
		fail "the demo printed no curl example"
	}
	sleep 0.2
done
cmp -s "$conf" "$T/conf.1" || fail "the demo's config changed"
grep -qx 'listen = 127.0.0.1:0' "$conf" || fail "the demo's listen"
token=$(cat "$T/demo-spool.token")
[ "${#token}" -eq 64 ] || fail "the token is not 32 bytes in hex: $token"
[ "$(stat -c %a "$T/demo-spool.token")" = 600 ] ||
    fail "the token file is not 0600"
sum=$(printf %s "$token" | sha256sum | cut -d' ' -f1)
grep -qx "admin_token_sha256 = $sum" "$conf" ||
    fail "the config lacks the token's SHA-256"
grep -qF "Admin token: $token" "$T/out" || fail "the token was not printed"
url=$(sed -n 's/^The HTTP API .* listens on //p' "$T/out")
case $url in
http://127.0.0.1:[1-9]*) ;;
*) cat "$T/out" >&2; fail "no address printed: $url" ;;
esac
grep -qF "curl -H \"Authorization: Bearer $token\" $url/api/messages" \
    "$T/out" || fail "no curl example of /api/messages"
curl -fsS "$url/health" >"$T/health" || fail "GET /health failed"
grep -q '"status"' "$T/health" || fail "/health: $(cat "$T/health")"
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/api/messages")
[ "$code" = 401 ] || fail "GET /api/messages without a token: $code"
curl -fsS -H "Authorization: Bearer $token" "$url/api/messages" \
    >"$T/messages" || fail "GET /api/messages with the token failed"
grep -q '"messages"' "$T/messages" && grep -q '"id"' "$T/messages" ||
    fail "/api/messages: $(head -c 300 "$T/messages")"
ok "the demo serves the HTTP API on 127.0.0.1 with its printed token"

# Ctrl-C (here TERM to the demo) stops spoold, and the demo ends with 0.
spid=$(sed -n 's/.*event=start .*pid=\([0-9]*\).*/\1/p' \
    "$T/demo-spool.log" | tail -n 1)
[ -n "$spid" ] || fail "no event=start in demo-spool.log"
kill -TERM "$DEMO_PID"
set +e
wait "$DEMO_PID"
rc=$?
set -e
DEMO_PID=
[ "$rc" -eq 0 ] || { cat "$T/out" "$T/err" >&2; fail "the demo exited $rc"; }
! kill -0 "$spid" 2>/dev/null || fail "spoold still runs after the demo"
ok "stopping the demo stops spoold"
