#!/bin/sh
# metrics.sh - what /metrics says about messages (DESIGN 17), with the
# real daemon and curl: spoold_messages agrees with spoolctl status; the
# totals per partner and type count what happened (accepted, duplicate,
# rejected, processed, failed) and survive a restart; the drop-to-done
# histogram counts each processed message; label values are bounded by
# the configuration (a partner directory without a [partner] section and
# a type without a [route TYPE] of its own are "(other)"); the oldest
# deferred message's age; promtool accepts it all; a store from before
# the aggregate tables has them seeded by its migration.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null 2>&1 || { echo "SKIP: no curl"; exit 77; }

write_conf
cat >>"$T/spoold.conf" <<'CONF'
[route InventoryMovement]
handler = ledger
[route *]
handler = ledger
[http]
listen = 127.0.0.1:0
[partner acme]
[partner globex]
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1

start() {
	start_daemon
	wait_until 10 'grep -q "event=http status=listening" "$T/log"' ||
	    fail "no HTTP server"
	PORT=$(sed -n \
	    's/.*event=http status=listening.* port=\([0-9]*\).*/\1/p' \
	    "$T/log" | tail -n 1)
	URL="http://127.0.0.1:$PORT"
}
scrape() {
	curl -sf "$URL/metrics" >"$T/metrics" || fail "GET /metrics"
}
# has LINE: the last scrape holds LINE, whole.
has() {
	grep -qxF -- "$1" "$T/metrics" ||
	    { grep -v '^#' "$T/metrics" >&2; fail "/metrics lacks: $1"; }
}
start

# acme: two movements in order, one redelivered, one not XML, one type
# with no route of its own; globex: one movement; a partner directory
# with no section: one movement.
mv_msg acme TX1 1 5 | drop acme a1.xml
mv_msg acme TX1 2 -2 | drop acme a2.xml
wait_until 20 '[ "$(count done)" -eq 2 ]' || fail "acme not processed"
mv_msg acme TX1 1 5 | drop acme a1-again.xml
echo 'not xml' | drop acme junk.xml
msg acme - 7 ProductInfo | drop acme p7.xml
mv_msg globex TX9 1 3 | drop globex g1.xml
mv_msg stranger TX1 1 1 | drop stranger s1.xml
wait_until 20 '[ "$(find "$T/spool/incoming" -type f | wc -l)" -eq 0 ]' ||
    fail "files left in incoming/"
wait_until 20 '[ "$($SPOOLCTL -c "$T/spoold.conf" status --json |
    jq ".counts.queue + .counts.deferred")" -eq 0 ]' ||
    fail "messages left in queue/"
scrape

# spoold_messages per state, summed over partners, is spoolctl status.
$SPOOLCTL -c "$T/spoold.conf" status --json >"$T/status"
for s in queue parked deferred failed rejected done; do
	want=$(jq ".counts.$s" "$T/status")
	got=$(awk -v s="$s" '$1 ~ "^spoold_messages\\{state=\"" s "\"" \
	    { n += $2 } END { print n + 0 }' "$T/metrics")
	[ "$got" = "$want" ] || fail "spoold_messages $s: $got, want $want"
done
has 'spoold_messages{state="done",partner="acme"} 3'
has 'spoold_messages{state="done",partner="globex"} 1'
has 'spoold_messages{state="queue",partner="globex"} 0'
ok "spoold_messages agrees with spoolctl status, per configured partner"

has 'spoold_accepted_total{partner="acme",type="InventoryMovement"} 3'
has 'spoold_duplicates_total{partner="acme",type="InventoryMovement"} 1'
has 'spoold_processed_total{partner="acme",type="InventoryMovement"} 2'
has 'spoold_rejected_total{partner="acme",type="(other)"} 1'
has 'spoold_accepted_total{partner="acme",type="(other)"} 1'
has 'spoold_processed_total{partner="globex",type="InventoryMovement"} 1'
has 'spoold_failed_total{partner="acme",type="(other)"} 1'
grep -q '^spoold_[a-z_]*{.*partner="stranger"' "$T/metrics" &&
    fail "a partner without a section has series of its own"
grep -q '^spoold_[a-z_]*{.*type="ProductInfo"' "$T/metrics" &&
    fail "a type without a route of its own has series of its own"
grep -q '^spoold_[a-z_]*_total{partner="(other)",' "$T/metrics" ||
    fail "the stranger's messages are not counted as (other)"
ok "totals per partner and type; unconfigured names are (other)"

has 'spoold_drop_to_done_seconds_count{partner="acme"} 2'
has 'spoold_drop_to_done_seconds_bucket{partner="acme",le="+Inf"} 2'
has 'spoold_drop_to_done_seconds_count{partner="globex"} 1'
grep -q '^spoold_drop_to_done_seconds_bucket{partner="acme",le="86400"} 2$' \
    "$T/metrics" || fail "no 1 day bucket"
ok "drop-to-done latency: a histogram per partner"

if command -v promtool >/dev/null 2>&1; then
	promtool check metrics <"$T/metrics" >"$T/out" 2>&1 ||
	    { cat "$T/out" >&2; fail "promtool check metrics"; }
	ok "/metrics passes promtool check metrics"
fi

# The totals survive a restart; the gauges say the same again.
grep '_total{' "$T/metrics" | sort >"$T/before"
stop_daemon
start
scrape
grep '_total{' "$T/metrics" | sort >"$T/after"
cmp -s "$T/before" "$T/after" ||
    { diff "$T/before" "$T/after" >&2; fail "totals changed by a restart"; }
has 'spoold_messages{state="done",partner="acme"} 3'
ok "totals survive a restart"

# A purge lowers the counts, never the totals.
rows=$(sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM messages")
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" purge --done-older-than 0s
[ "$(sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM messages")" -lt \
    "$rows" ] || fail "purge removed no row"
scrape
grep '_total{' "$T/metrics" | sort >"$T/after"
cmp -s "$T/before" "$T/after" ||
    { diff "$T/before" "$T/after" >&2; fail "totals changed by a purge"; }
[ "$(awk '/^spoold_messages\{/ { n += $2 } END { print n + 0 }' \
    "$T/metrics")" = "$(sqlite3 "$T/spool/spool.db" \
    "SELECT count(*) FROM messages")" ] || fail "counts after a purge"
ok "a purge lowers the counts, not the totals"

# The oldest deferred message: its age since acceptance.
now=$(($(date +%s) * 1000))
sqlite3 "$T/spool/spool.db" "UPDATE messages SET state = 'deferred', \
    next_attempt_at = $now + 3600000, received_at = $now - 7200000 \
    WHERE partner = 'globex'"
scrape
age=$(sed -n 's/^spoold_oldest_deferred_age_seconds //p' "$T/metrics")
awk -v a="$age" 'BEGIN { exit !(a >= 7190 && a < 7300) }' ||
    fail "oldest deferred age $age, want about 7200"
has 'spoold_messages{state="deferred",partner="globex"} 1'
has 'spoold_messages{state="done",partner="globex"} 0'
has 'spoold_deferred_total{partner="globex",type="InventoryMovement"} 1'
ok "oldest deferred message's age; a change of state is counted at once"
stop_daemon

# A store from before the aggregate tables (version 9, upgrade.sh's
# fixture): the migration counts what it holds.
DB="$T/spool/spool.db"
rm -f "$DB" "$DB-wal" "$DB-shm"
sqlite3 "$DB" <"$top_srcdir/tests/data/store-v9.sql"
sqlite3 "$DB" 'PRAGMA journal_mode=WAL' >/dev/null
$SPOOLCTL -c "$T/spoold.conf" status >/dev/null 2>&1 || true
[ "$(sqlite3 "$DB" 'PRAGMA user_version')" -gt 9 ] || fail "not migrated"
sqlite3 "$DB" "SELECT state, partner, count(*) FROM messages GROUP BY 1, 2
    ORDER BY 1, 2" >"$T/want"
sqlite3 "$DB" "SELECT state, partner, n FROM stats_state ORDER BY 1, 2" \
    >"$T/got"
cmp -s "$T/want" "$T/got" ||
    { diff "$T/want" "$T/got" >&2; fail "migrated counts"; }
[ "$(sqlite3 "$DB" "SELECT sum(n) FROM stats_events WHERE event IN
    ('accepted', 'rejected')")" = "$(sqlite3 "$DB" \
    "SELECT count(*) FROM messages")" ] || fail "migrated totals"
[ "$(sqlite3 "$DB" "SELECT sum(n) FROM stats_events WHERE
    event = 'processed'")" = "$(sqlite3 "$DB" "SELECT count(*) FROM
    messages WHERE state = 'done' AND duplicate_of IS NULL AND
    reason IS NULL")" ] || fail "migrated processed total"
ok "an older store's counts and totals are seeded by the migration"
