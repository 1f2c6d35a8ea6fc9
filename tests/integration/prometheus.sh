#!/bin/sh
# prometheus.sh - a real Prometheus server scrapes spoold (DESIGN 17):
# prometheus runs on loopback with a config and a data directory of its
# own, scrapes spoold's /metrics every second, and its HTTP API then
# answers up == 1, spoold_messages per state as spoolctl status --json
# counts them, and the totals per partner. Skipped (77) only when
# prometheus (Debian package prometheus) is not installed.
. "$(dirname "$0")/lib.sh"

command -v prometheus >/dev/null 2>&1 ||
    { echo "SKIP: no prometheus"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "SKIP: no curl"; exit 77; }

PROM_PID=
cleanup_prom() {
	if [ -n "$PROM_PID" ]; then
		kill -TERM "$PROM_PID" 2>/dev/null || true
		wait "$PROM_PID" 2>/dev/null || true
	fi
	cleanup
}
trap cleanup_prom EXIT

write_conf
cat >>"$T/spoold.conf" <<'CONF'
[route *]
handler = ledger
[http]
listen = 127.0.0.1:0
[partner acme]
[partner globex]
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
start_daemon
wait_until 10 'grep -q "event=http status=listening" "$T/log"' ||
    fail "no HTTP server"
PORT=$(sed -n 's/.*event=http status=listening.* port=\([0-9]*\).*/\1/p' \
    "$T/log")

mv_msg acme TX1 1 5 | drop acme a1.xml
mv_msg acme TX1 2 -1 | drop acme a2.xml
mv_msg acme TX2 2 1 | drop acme parked.xml
mv_msg globex TX1 1 3 | drop globex g1.xml
echo 'not xml' | drop globex junk.xml
wait_until 20 '[ "$(count done)" -eq 3 ] && [ "$(count parked)" -eq 1 ] &&
    [ "$(count rejected)" -eq 1 ]' || fail "not processed"
$SPOOLCTL -c "$T/spoold.conf" status --json >"$T/status"

# A free port on loopback for Prometheus.
PP=$(python3 -c 'import socket; s = socket.socket(); \
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$T/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: spoold
    static_configs:
      - targets: ['127.0.0.1:$PORT']
YML
prometheus --config.file="$T/prometheus.yml" \
    --storage.tsdb.path="$T/prom" --web.listen-address="127.0.0.1:$PP" \
    >"$T/prom.log" 2>&1 &
PROM_PID=$!
PURL="http://127.0.0.1:$PP"
wait_until 60 'curl -sf "$PURL/-/ready" >/dev/null 2>&1' ||
    { cat "$T/prom.log" >&2; fail "prometheus not ready"; }

# query PROMQL: the value of its one result, or "none".
query() {
	curl -sf "$PURL/api/v1/query" --data-urlencode "query=$1" |
	    jq -r '.data.result | if length == 1 then .[0].value[1]
	    else "none" end'
}
wait_until 60 '[ "$(query "up{job=\"spoold\"}")" = 1 ]' ||
    { tail -n 20 "$T/prom.log" >&2; fail "up is not 1"; }
ok "prometheus scrapes spoold: up == 1"

for s in queue parked deferred failed rejected done; do
	want=$(jq ".counts.$s" "$T/status")
	q="sum(spoold_messages{state=\"$s\"})"
	wait_until 20 '[ "$(query "$q")" = "$want" ]' ||
	    fail "$q is $(query "$q"), spoolctl status says $want"
done
ok "spoold_messages in Prometheus is what spoolctl status --json counts"

q='sum(spoold_processed_total{partner="acme"})'
[ "$(query "$q")" = 2 ] || fail "acme processed: $(query "$q")"
[ "$(query 'sum(spoold_rejected_total{partner="globex"})')" = 1 ] ||
    fail "globex rejected"
[ "$(query 'spoold_messages{state="parked",partner="acme"}')" = 1 ] ||
    fail "acme parked"
[ "$(query 'sum(spoold_drop_to_done_seconds_count)')" = 3 ] ||
    fail "drop-to-done count"
[ "$(query 'spoold_store_up')" = 1 ] || fail "spoold_store_up"
# acme's TX2 waits for its number 1: the oldest gap has an age.
gap=$(query 'spoold_oldest_gap_age_seconds')
awk -v a="$gap" 'BEGIN { exit !(a > 0 && a < 600) }' ||
    fail "oldest gap age: $gap"
ok "totals per partner and the drop-to-done histogram in Prometheus"

stop_daemon
