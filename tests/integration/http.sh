#!/bin/sh
# http.sh - spoold's HTTP server (DESIGN 17), with the real daemon and
# curl: the health endpoints (200, and 503 when a check fails), the
# Prometheus exposition (checked by promtool where it is installed),
# bearer tokens (401 without or with a wrong one; configured by SHA-256
# only, never logged), JSON errors, bounded bodies (413 for 10 MB over a
# 1 MB limit), many connections at once and a client that sends one
# byte a second while spoold keeps accepting and processing files.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null 2>&1 || { echo "SKIP: no curl"; exit 77; }

ADMIN=admin-$$-secret
ACME=acme-$$-secret
sha() { printf %s "$1" | sha256sum | cut -d' ' -f1; }

write_conf
cat >>"$T/spoold.conf" <<CONF
max_message_size = 1M
[route *]
handler = ledger
[http]
listen = 127.0.0.1:0
admin_token_sha256 = $(sha "$ADMIN")
per_ip_limit = 1000
max_connections = 1000
timeout = 30s
[partner acme]
token_sha256 = $(sha "$ACME")
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
start_daemon
wait_until 10 'grep -q "event=http status=listening" "$T/log"' ||
    fail "no HTTP server"
PORT=$(sed -n 's/.*event=http status=listening.* port=\([0-9]*\).*/\1/p' \
    "$T/log")
[ -n "$PORT" ] && [ "$PORT" -gt 0 ] || fail "no port in the log"
URL="http://127.0.0.1:$PORT"

# req METHOD PATH [CURL ARGS]: the status in $code, the body in $T/body.
req() {
	m=$1
	p=$2
	shift 2
	code=$(curl -s -o "$T/body" -w '%{http_code}' -X "$m" "$@" \
	    "$URL$p") || code=000
}
# expect CODE: $code is CODE.
expect() {
	[ "$code" = "$1" ] || { cat "$T/body" >&2; fail "status $code, want $1"; }
}
# json FILTER: jq on $T/body.
json() {
	jq -r "$1" "$T/body"
}

# Health: each endpoint names its checks.
for h in /health /health/ready /health/store /health/processor; do
	req GET "$h"
	expect 200
	[ "$(json .status)" = ok ] || fail "$h: status $(json .status)"
	[ "$(json '.checks | length')" -ge 1 ] || fail "$h: no checks"
done
req GET /health/ready
for c in loop store_writable spool_writable disk cycle; do
	[ "$(json ".checks.$c.ok")" = true ] || fail "ready: $c not ok"
done
ok "health: /health, /health/ready, /health/store, /health/processor 200"

# A spool directory that is not writable: ready says 503 and why.
mv "$T/spool/failed" "$T/spool/failed.away"
req GET /health/ready
expect 503
[ "$(json .checks.spool_writable.ok)" = false ] || fail "spool check"
json .checks.spool_writable.detail | grep -q 'failed/' ||
    fail "503 does not name failed/: $(cat "$T/body")"
mv "$T/spool/failed.away" "$T/spool/failed"
req GET /health/ready
expect 200
ok "health/ready: 503 naming the directory that is not writable"

# Errors are JSON that says why.
req GET /nowhere
expect 404
[ "$(json .error)" = "not found" ] || fail "404 error"
json .reason | grep -q /nowhere || fail "404 reason"
req POST /health
expect 405
ok "unknown path 404, wrong method 405, as JSON"

# Tokens: none or a wrong one 401 (with WWW-Authenticate), a known one
# passes authentication.
req GET /api/messages
expect 401
[ "$(json .error)" = unauthorized ] || fail "401 body"
curl -s -D "$T/headers" -o /dev/null "$URL/api/messages"
grep -qi '^WWW-Authenticate: Bearer' "$T/headers" || fail "no WWW-Authenticate"
req GET /api/messages -H "Authorization: Bearer wrong-token"
expect 401
req GET /api/messages -H "Authorization: Basic $(printf a:b | base64)"
expect 401
req GET /api/nothing-here -H "Authorization: Bearer $ADMIN"
expect 404
req GET /api/nothing-here -H "Authorization: Bearer $ACME"
expect 404
grep -q -e "$ADMIN" -e "$ACME" "$T/log" && fail "a token in the log"
grep -q -e "$ADMIN" -e "$ACME" "$T/spoold.conf" && fail "a token in the conf"
ok "bearer tokens: 401 without or with a wrong token, never logged"

# Bodies are bounded: 10 MB over a 1 MB limit is 413, nothing kept.
head -c 10000000 /dev/zero | tr '\0' x >"$T/big"
req POST /api/messages -H "Authorization: Bearer $ACME" \
    -H 'Content-Type: application/xml' --data-binary @"$T/big"
expect 413
json .reason | grep -q max_message_size || fail "413 reason"
[ "$(find "$T/spool" -type f -size +1000k | wc -l)" -eq 0 ] ||
    fail "a large file was kept"
[ -z "$(ls -A "$T/spool/incoming/acme" 2>/dev/null)" ] ||
    fail "left in incoming/acme: $(ls -A "$T/spool/incoming/acme")"
ok "10 MB body over a 1 MB limit: 413, nothing kept"

# /metrics: the families, valid for promtool.
mv_msg acme TX1 1 5 | drop acme one.xml
wait_until 10 '[ "$(count done)" -eq 1 ]' || fail "not processed"
wait_until 10 'curl -s "$URL/metrics" |
    grep -q "^spoold_processed_total{partner=\"acme\",type=\"[^\"]*\"} 1\$"' ||
    fail "processed_total not 1: $(curl -s "$URL/metrics")"
curl -s "$URL/metrics" >"$T/metrics"
# DESIGN 17's list, each with its HELP and TYPE.
for m in spoold_messages:gauge spoold_accepted_total:counter \
    spoold_rejected_total:counter spoold_processed_total:counter \
    spoold_failed_total:counter spoold_drop_to_done_seconds:histogram \
    spoold_cycle_duration_seconds:histogram \
    spoold_oldest_gap_age_seconds:gauge \
    spoold_oldest_deferred_age_seconds:gauge spoold_exec_running:gauge \
    spoold_store_size_bytes:gauge; do
	grep -q "^# HELP ${m%:*} [A-Z]" "$T/metrics" || fail "no HELP ${m%:*}"
	grep -qx "# TYPE ${m%:*} ${m#*:}" "$T/metrics" || fail "no TYPE $m"
done
grep -q '^spoold_messages{state="done",partner="acme"} 1$' "$T/metrics" ||
    fail "spoold_messages lacks acme's done message"
grep -q '^spoold_cycle_duration_seconds_count [1-9]' "$T/metrics" ||
    fail "no cycle in the histogram"
if command -v promtool >/dev/null 2>&1; then
	promtool check metrics <"$T/metrics" >"$T/out" 2>&1 ||
	    { cat "$T/out" >&2; fail "promtool check metrics"; }
	ok "/metrics passes promtool check metrics"
fi
ok "/metrics: spoold_* families with HELP and TYPE"

# 200 connections at once, and a client sending one byte a second:
# the server answers them all and spoold keeps accepting files.
i=0
while [ $i -lt 200 ]; do
	curl -s -o /dev/null -w '%{http_code}\n' "$URL/health" \
	    >>"$T/many" 2>/dev/null &
	i=$((i + 1))
done
wait_until 30 '[ "$(wc -l <"$T/many")" -eq 200 ]' || fail "200 connections"
[ "$(grep -c '^200$' "$T/many")" -eq 200 ] ||
    fail "not all 200 answered 200: $(sort "$T/many" | uniq -c)"
ok "200 connections at once: all answered"

python3 - "$PORT" >"$T/slow.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
req = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
for b in req[:12]:
    s.send(bytes([b]))
    time.sleep(1)
PY
SLOW=$!
sleep 1
mv_msg acme TX1 2 -5 | drop acme two.xml
wait_until 10 '[ "$(count done)" -eq 2 ]' ||
    fail "a slow client held up processing"
req GET /health
expect 200
kill -0 "$SLOW" 2>/dev/null || fail "the slow client ended too soon"
kill "$SLOW" 2>/dev/null || true
ok "a client sending a byte a second: files still processed, others served"

# The same for a submission whose body comes a byte a second: its dot
# file grows in incoming/acme/ while dropped files are processed; the
# client gone, nothing of it is left.
python3 - "$PORT" "$ACME" >"$T/slowpost.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.send(("POST /api/messages HTTP/1.1\r\nHost: x\r\n"
        "Authorization: Bearer %s\r\nContent-Length: 1000\r\n\r\n"
        % sys.argv[2]).encode())
for i in range(60):
    s.send(b"<")
    time.sleep(1)
PY
SLOW=$!
wait_until 10 'ls -A "$T/spool/incoming/acme" | grep -q "^\.http-"' ||
    fail "the slow submission has no dot file"
mv_msg acme TX1 3 1 | drop acme three.xml
wait_until 10 '[ "$(count done)" -eq 3 ]' ||
    fail "a slow submission held up processing"
kill -0 "$SLOW" 2>/dev/null || fail "the slow submission ended too soon"
kill "$SLOW" 2>/dev/null || true
wait "$SLOW" 2>/dev/null || true
wait_until 10 '[ -z "$(ls -A "$T/spool/incoming/acme")" ]' ||
    fail "a submission whose client went away left: \
$(ls -A "$T/spool/incoming/acme")"
ok "a submission sent a byte a second: files processed; gone, nothing left"

stop_daemon
ok "spoold stops cleanly with the HTTP server running"

# A listen address that cannot be served: spoold does not start, and
# says why.
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1]); time.sleep(30)' \
    "$T/held" &
HOLDER=$!
wait_until 10 '[ -e "$T/held" ]' || fail "could not hold a port"
sed "s|^listen = .*|listen = 127.0.0.1:$(cat "$T/held")|" "$T/spoold.conf" \
    >"$T/busy.conf"
expect_exit 71 timeout 20 $SPOOLD -c "$T/busy.conf"
expect_out "event=start status=failed"
expect_out "cannot serve there"
kill "$HOLDER" 2>/dev/null || true
sed 's|^listen = .*|listen = localhost:80|' "$T/spoold.conf" >"$T/bad.conf"
expect_exit 71 timeout 20 $SPOOLD -c "$T/bad.conf"
expect_out "listen = localhost:80"
ok "a port in use or a name for listen: no start, a reason"

# The connection limits and the idle timeout. max_connections = 3,
# per_ip_limit = 2, timeout = 4s: a third connection from one address
# is closed at once; three idle connections from two addresses hold
# every slot, so a fourth client (a third address) is not served until
# the server has closed the idle ones, at the timeout, and then it is.
cp "$T/spoold.conf" "$T/plain.conf"
sed -e 's/^max_connections = .*/max_connections = 3/' \
    -e 's/^per_ip_limit = .*/per_ip_limit = 2/' \
    -e 's/^timeout = .*/timeout = 4s/' "$T/plain.conf" >"$T/spoold.conf"
start_daemon
wait_until 10 'grep -q "event=http status=listening" "$T/log"' ||
    fail "no HTTP server"
PORT=$(sed -n 's/.*event=http status=listening.* port=\([0-9]*\).*/\1/p' \
    "$T/log")
python3 - "$PORT" >"$T/limits.out" 2>&1 <<'PY' || {
import http.client, socket, sys, time
port = int(sys.argv[1])

def idle(src):
    return socket.create_connection(("127.0.0.1", port), 10, (src, 0))

def get(src):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                   source_address=(src, 0))
    try:
        c.request("GET", "/health")
        return c.getresponse().status
    except (OSError, http.client.HTTPException) as e:
        return type(e).__name__

t0 = time.monotonic()
held = [idle("127.0.0.1"), idle("127.0.0.1")]
t = time.monotonic()
r = get("127.0.0.1")
assert r != 200 and time.monotonic() - t < 3, \
    "per_ip_limit: a third connection got %r after %.1f s" % (
    r, time.monotonic() - t)
held.append(idle("127.0.0.2"))
r = get("127.0.0.3")
waited = time.monotonic() - t0
assert r == 200, "the fourth client got %r" % r
assert waited >= 3, "served after %.1f s with every slot held" % waited
for s in held:
    s.settimeout(20)
    assert s.recv(1) == b"", "an idle connection got data"
    assert time.monotonic() - t0 < 25, "an idle connection stayed open"
print("ok %.1f" % waited)
PY
	cat "$T/limits.out" >&2; fail "connection limits"; }
stop_daemon
cp "$T/plain.conf" "$T/spoold.conf"
ok "per_ip_limit refuses at once; max_connections holds; idle ones time out"

# HTTPS with tls_cert and tls_key.
if command -v openssl >/dev/null 2>&1; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
	    -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 ||
	    fail "openssl req"
	sed "s|^\[http\]\$|[http]\ntls_cert = $T/cert.pem\ntls_key = $T/key.pem|" \
	    "$T/spoold.conf" >"$T/tls.conf"
	cp "$T/tls.conf" "$T/spoold.conf"
	start_daemon
	wait_until 10 'grep -q "event=http status=listening.*tls=yes" "$T/log"' ||
	    fail "no HTTPS server"
	PORT=$(sed -n 's/.*event=http status=listening.* port=\([0-9]*\).*/\1/p' \
	    "$T/log")
	code=$(curl -s -o "$T/body" -w '%{http_code}' --cacert "$T/cert.pem" \
	    "https://localhost:$PORT/health") || code=000
	expect 200
	code=$(curl -s -o /dev/null -w '%{http_code}' \
	    "http://127.0.0.1:$PORT/health") || code=000
	[ "$code" != 200 ] || fail "plain HTTP answered on the HTTPS port"
	stop_daemon
	ok "HTTPS with tls_cert and tls_key"
fi
