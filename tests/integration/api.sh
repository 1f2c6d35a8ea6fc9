#!/bin/sh
# api.sh - the HTTP API of DESIGN 17 with the real daemon and curl on
# loopback: submitting (a submission is a drop: 201 accepted, parked or
# duplicate once the accept COMMIT is in, 422 with the rejection reason,
# 403 for a partner speaking for another, the file in done/ afterwards
# like any upload), reading messages, batches and transactions (a
# partner's token sees its own only), and the admin's levers over HTTP
# (retry, skip, purge, config), whose effects spoolctl show sees.
. "$(dirname "$0")/lib.sh"

for tool in curl jq bsdtar; do
	command -v $tool >/dev/null 2>&1 || { echo "SKIP: no $tool"; exit 77; }
done

ADMIN=admin-$$-secret
ACME=acme-$$-secret
GLOBEX=globex-$$-secret
sha() { printf %s "$1" | sha256sum | cut -d' ' -f1; }

write_conf
cat >>"$T/spoold.conf" <<CONF
max_message_size = 1M
[retry]
max_attempts = 1
[route *]
handler = ledger
[http]
listen = 127.0.0.1:0
admin_token_sha256 = $(sha "$ADMIN")
[partner acme]
ids = ZZ:ACMEX12
token_sha256 = $(sha "$ACME")
[partner globex]
ids = ZZ:GLOBEX
token_sha256 = $(sha "$GLOBEX")
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
mkdir -p "$T/spool/incoming/acme" "$T/spool/incoming/globex"
start_daemon
wait_until 10 'grep -q "event=http status=listening" "$T/log"' ||
    fail "no HTTP server"
PORT=$(sed -n 's/.*event=http status=listening.* port=\([0-9]*\).*/\1/p' \
    "$T/log")
URL="http://127.0.0.1:$PORT"

# req METHOD PATH TOKEN [CURL ARGS]: status in $code, body in $T/body.
req() {
	m=$1
	p=$2
	tok=$3
	shift 3
	code=$(curl -s -o "$T/body" -w '%{http_code}' -X "$m" \
	    -H "Authorization: Bearer $tok" "$@" "$URL$p") || code=000
}
expect() {
	[ "$code" = "$1" ] ||
	    { cat "$T/body" >&2; echo >&2; fail "status $code, want $1"; }
}
json() {
	jq -r "$1" "$T/body"
}
# submit TOKEN [QUERY]: POST /api/messages with $T/req as the body
# (not from a pipe: a function in a pipeline runs in a subshell).
submit() {
	req POST "/api/messages${2:-}" "$1" --data-binary @"$T/req" \
	    -H 'Content-Type: application/xml'
}
sql() {
	sqlite3 -cmd ".timeout 5000" "$T/spool/spool.db" "$@"
}
show() {
	$SPOOLCTL -c "$T/spoold.conf" show --json "$@"
}

# --- Submitting is dropping.
mv_msg acme TX1 1 5 >"$T/req"; submit "$ACME"
expect 201
[ "$(json .classification)" = accepted ] || fail "classification"
[ "$(json .message.partner)" = acme ] || fail "partner"
ID1=$(json .id)
wait_until 10 '[ "$(show "$ID1" | jq -r .message.state)" = done ]' ||
    fail "submitted message not done"
F=$(show "$ID1" | jq -r .message.file_name)
[ -f "$T/spool/done/$F" ] || fail "submitted message not in done/ ($F)"
show "$ID1" | jq -r .message.orig_name | grep -q '^http-' ||
    fail "upload name"
# The same kind of message dropped as a file: the same end.
mv_msg acme TX2 1 5 | drop acme dropped.xml
wait_until 10 '[ "$(count done)" -eq 2 ]' || fail "dropped not done"
ID2=$(sql \
    "SELECT id FROM messages WHERE orig_name = 'dropped.xml'")
[ "$(show "$ID2" | jq -r .message.state)" = done ] || fail "drop state"
ls "$T/spool/incoming/acme" | grep -q . && fail "left in incoming/"
ok "POST /api/messages: 201 after the accept COMMIT, in done/ like a drop"

# The same message again: a duplicate, as a redelivered file would be.
mv_msg acme TX1 1 5 >"$T/req"; submit "$ACME"
expect 201
[ "$(json .classification)" = duplicate ] || fail "not a duplicate"
[ "$(json .message.duplicate_of)" = "$ID1" ] || fail "duplicate_of"
# A gap: parked.
mv_msg acme TX3 2 5 >"$T/req"; submit "$ACME"
expect 201
[ "$(json .classification)" = parked ] || fail "not parked"
[ "$(json .state)" = parked ] || fail "state not parked"
PARKED=$(json .id)
ok "POST /api/messages: duplicate and parked classified as for a drop"

# Not a message: 422 with the reason, the file in rejected/.
printf 'not xml at all' >"$T/req"; submit "$ACME"
expect 422
[ "$(json .error)" = rejected ] || fail "422 error"
[ -n "$(json .reason)" ] && [ "$(json .reason)" != null ] ||
    fail "422 without a reason"
R=$(json .message.file_name)
[ -f "$T/spool/rejected/$R" ] || fail "rejected file not in rejected/"
ok "POST /api/messages: 422 with the rejection reason, file in rejected/"

# A partner speaking for another: 403, nothing accepted.
before=$(sql \
    "SELECT count(*) FROM messages WHERE state <> 'rejected'")
mv_msg globex TXG 1 5 >"$T/req"; submit "$ACME"
expect 403
[ "$(json .error)" = forbidden ] || fail "403 error"
json .reason | grep -q 'Sender globex' || fail "403 reason: $(json .reason)"
after=$(sql \
    "SELECT count(*) FROM messages WHERE state <> 'rejected'")
[ "$before" = "$after" ] || fail "a spoofed message was accepted"
mv_msg globex TXG 1 5 >"$T/req"; submit "$ACME" '?partner=globex'
expect 403
ok "a partner token sending as another partner: 403, nothing accepted"

# The admin submits for a named partner; without one it is 400.
mv_msg globex TXG 1 5 >"$T/req"; submit "$ADMIN" '?partner=globex'
expect 201
mv_msg globex TXG 2 5 >"$T/req"; submit "$ADMIN"
expect 400
printf '' >"$T/req"; submit "$ACME"
expect 400
req DELETE /api/messages "$ACME"
expect 405
ok "admin submits with ?partner=; empty body 400; DELETE 405"

# --- Reading.
req GET "/api/messages/$ID1" "$ACME"
expect 200
[ "$(json .message.id)" = "$ID1" ] || fail "GET message id"
[ "$(json '.message.attempt_log | length')" -ge 1 ] || fail "attempt_log"
# The same document as spoolctl show --json (but for the age).
show "$ID1" | jq -S 'del(.message.age_seconds)' >"$T/a"
jq -S 'del(.message.age_seconds)' "$T/body" >"$T/b"
cmp -s "$T/a" "$T/b" || { diff "$T/a" "$T/b" >&2; fail "not spoolctl's"; }
req GET "/api/messages/$ID1" "$GLOBEX"
expect 404
req GET /api/messages/999999 "$ADMIN"
expect 404
req GET /api/messages/..%2F..%2Fspool.db "$ADMIN"
expect 404
req GET /api/messages/../../spool.db "$ADMIN" --path-as-is
expect 404
req GET /api/transactions/..%2F..%2Fspool.db/x "$ADMIN"
expect 404
mv_msg acme TXT 1 5 >"$T/req"; submit "$ADMIN" '?partner=..%2F..%2Fx'
expect 400
[ ! -e "$T/x" ] && [ ! -e "$T/spool/x" ] || fail "a path from partner="
[ -z "$(ls -A "$T/spool/incoming/acme")" ] || fail "incoming/acme not empty"
# A partner's token lists its own partner's messages only.
req GET /api/messages "$GLOBEX"
expect 200
[ "$(json '[.messages[].partner] | unique | join(",")')" = globex ] ||
    fail "globex lists: $(json '[.messages[].partner] | unique')"
req GET '/api/messages?state=parked' "$ACME"
expect 200
[ "$(json .total)" = 1 ] || fail "parked total $(json .total)"
[ "$(json '.messages[0].id')" = "$PARKED" ] || fail "parked id"
req GET '/api/messages?partner=acme' "$GLOBEX"
expect 403
req GET '/api/messages?state=bogus' "$ADMIN"
expect 400
req GET '/api/messages?colour=red' "$ADMIN"
expect 400
req GET '/api/messages?partner=acme&limit=2' "$ADMIN"
expect 200
[ "$(json '.messages | length')" = 2 ] || fail "limit"
LAST=$(json '.messages[1].id')
req GET "/api/messages?partner=acme&limit=2&after=$LAST" "$ADMIN"
expect 200
[ "$(json '.messages[0].id')" -gt "$LAST" ] || fail "after"
req GET '/api/messages?tx=TX3' "$ACME"
expect 200
[ "$(json .total)" = 1 ] && [ "$(json '.messages[0].id')" = "$PARKED" ] ||
    fail "tx= filter: $(json .total)"
req GET '/api/messages?type=InventoryMovement&state=done' "$ADMIN"
expect 200
[ "$(json .total)" = "$(sql "SELECT count(*) FROM messages WHERE
    type = 'InventoryMovement' AND state = 'done'")" ] ||
    fail "type= filter: $(json .total)"
[ "$(json .total)" -ge 2 ] || fail "type= filter found $(json .total)"
req GET '/api/messages?type=ProductInfo' "$ADMIN"
expect 200
[ "$(json .total)" = 0 ] || fail "type=ProductInfo: $(json .total)"
req GET '/api/messages?partner=acme&state=done,parked,rejected' "$ADMIN"
$SPOOLCTL -c "$T/spoold.conf" list --json --partner acme --state done \
    --state parked --state rejected |
    jq -S 'del(.messages[].age_seconds)' >"$T/a"
jq -S 'del(.messages[].age_seconds)' "$T/body" >"$T/b"
cmp -s "$T/a" "$T/b" || { diff "$T/a" "$T/b" >&2; fail "list not spoolctl's"; }
ok "GET /api/messages/{id} and ?state=&partner=&type=&tx=&limit=&after=: 200/400/403/404"

# Transactions, by path and by query (an ID with '/').
req GET /api/transactions/acme/TX3 "$ACME"
expect 200
[ "$(json .status)" = waiting ] || fail "TX3 status $(json .status)"
show --tx acme TX3 | jq -S 'del(.sequences[].messages[].age_seconds)' \
    >"$T/a"
jq -S 'del(.sequences[].messages[].age_seconds)' "$T/body" >"$T/b"
cmp -s "$T/a" "$T/b" || { diff "$T/a" "$T/b" >&2; fail "tx not spoolctl's"; }
mv_msg acme 'PO/2026/1' 1 5 >"$T/req"; submit "$ACME"
expect 201
req GET '/api/transactions?partner=acme&id=PO%2F2026%2F1' "$ACME"
expect 200
[ "$(json .transaction_id)" = PO/2026/1 ] || fail "query form"
req GET '/api/transactions/acme/PO%2F2026%2F1' "$ACME"
expect 200
[ "$(json .transaction_id)" = PO/2026/1 ] || fail "path form with %2F"
req GET /api/transactions/acme/TX3 "$GLOBEX"
expect 403
req GET /api/transactions/acme/NOPE "$ADMIN"
expect 404
ok "GET /api/transactions/{partner}/{id} and ?partner=&id=: 200/403/404"

# --- Batches.
mkdir -p "$T/w"
mv_msg acme B1 1 5 >"$T/w/m1.xml"
mv_msg acme B2 1 5 >"$T/w/m2.xml"
(cd "$T/w" && bsdtar -czf "$T/b.tgz" m1.xml m2.xml)
req POST /api/batches "$ACME" --data-binary @"$T/b.tgz"
expect 202
BATCH=$(json .batch)
[ "$(json .entry_count)" = 2 ] || fail "entry_count"
req GET "/api/batches/$BATCH" "$ACME"
expect 200
[ "$(json '.entries | length')" = 2 ] || fail "entries"
req GET "/api/batches/$BATCH" "$GLOBEX"
expect 404
wait_until 10 '[ "$($SPOOLCTL -c "$T/spoold.conf" batch --json "$BATCH" |
    jq -r .state)" = done ]' || fail "batch $BATCH not done"
req GET "/api/batches/$BATCH" "$ADMIN"
$SPOOLCTL -c "$T/spoold.conf" batch --json "$BATCH" | jq -S . >"$T/a"
jq -S . "$T/body" >"$T/b"
cmp -s "$T/a" "$T/b" || { diff "$T/a" "$T/b" >&2; fail "batch not spoolctl's"; }
req GET /api/batches "$ADMIN"
expect 200
[ "$(json '.batches[0].batch')" = "$BATCH" ] || fail "newest first"
$SPOOLCTL -c "$T/spoold.conf" batches --json | jq -S . >"$T/a"
jq -S . "$T/body" >"$T/b"
cmp -s "$T/a" "$T/b" || { diff "$T/a" "$T/b" >&2; fail "batches not spoolctl's"; }
req GET /api/batches "$GLOBEX"
expect 200
[ "$(json .total)" = 0 ] || fail "globex sees acme's batches"
head -c $(($(wc -c <"$T/b.tgz") / 2)) "$T/b.tgz" >"$T/cut.tgz"
req POST /api/batches "$ACME" --data-binary @"$T/cut.tgz"
expect 422
CUT=$(json .batch)
# What archive_command made of it is ours: the admin sees it, the
# partner does not.
req GET "/api/batches/$CUT" "$ADMIN"
expect 200
[ "$(json 'has("archive_error") and has("archived_at")')" = true ] ||
    fail "the admin does not see archive_error: $(cat "$T/body")"
req GET "/api/batches/$CUT" "$ACME"
expect 200
[ "$(json 'has("archive_error") or has("archived_at")')" = false ] ||
    fail "the partner sees archive_error: $(cat "$T/body")"
ok "POST /api/batches 202, GET /api/batches[/{id}], truncated bundle 422"

# --- Admin levers: partners may not.
req POST "/api/admin/messages/$ID1/retry" "$ACME"
expect 403
req GET /api/admin/config "$ACME"
expect 403
req GET /api/metrics/summary "$ACME"
expect 403

# retry: a done message 409, none 404; a failed one goes back.
req POST "/api/admin/messages/$ID1/retry" "$ADMIN"
expect 409
[ "$(json .error)" = conflict ] || fail "409 body"
req POST /api/admin/messages/999999/retry "$ADMIN"
expect 404
mv_msg acme TX5 1 -5 >"$T/req"; submit "$ACME"
expect 201
BAD=$(json .id)
wait_until 10 '[ "$(show "$BAD" | jq -r .message.state)" = failed ]' ||
    fail "not failed"
mv_msg acme TX5 2 5 >"$T/req"; submit "$ACME"
expect 201
[ "$(json .classification)" = parked ] || fail "TX5 2 not parked"
NEXT=$(json .id)
req POST "/api/admin/messages/$BAD/retry" "$ADMIN" -d '{}'
expect 200
[ "$(json .retried)" = 1 ] || fail "retried"
wait_until 10 '[ "$(show "$BAD" | jq -r .message.attempts)" = 2 ]' ||
    fail "retry did not run another attempt"
wait_until 10 '[ "$(show "$BAD" | jq -r .message.state)" = failed ]' ||
    fail "not failed again"
req POST "/api/admin/transactions/acme/TX5/retry" "$ADMIN"
expect 200
wait_until 10 '[ "$(show "$BAD" | jq -r .message.attempts)" = 3 ]' ||
    fail "tx retry did not run another attempt"
wait_until 10 '[ "$(show "$BAD" | jq -r .message.state)" = failed ]' ||
    fail "not failed a third time"
req POST "/api/admin/transactions/acme/TX1/retry" "$ADMIN"
expect 409
ok "retry over HTTP: 200 and another attempt; done 409, unknown 404"

# skip: bad bodies 422, the wrong number 409, the right one releases.
req POST /api/admin/transactions/acme/TX5/skip "$ADMIN" -d '{"seq": 1'
expect 422
[ "$(json .error)" = "bad JSON" ] || fail "422 error"
req POST /api/admin/transactions/acme/TX5/skip "$ADMIN" \
    -d '{"seq": 1, "reason": "x", "force": true}'
expect 422
json .reason | grep -q force || fail "unknown field not named"
req POST /api/admin/transactions/acme/TX5/skip "$ADMIN" -d '{"seq": 1}'
expect 422
req POST /api/admin/transactions/acme/TX5/skip "$ADMIN" \
    -d '{"seq": 7, "reason": "not the one"}'
expect 409
req POST /api/admin/transactions/acme/NOPE/skip "$ADMIN" \
    -d '{"seq": 1, "reason": "no such"}'
expect 404
req POST /api/admin/transactions/acme/TX5/skip "$ADMIN" \
    -d '{"seq": 1, "reason": "stock was corrected by hand"}'
expect 200
wait_until 10 '[ "$(show "$NEXT" | jq -r .message.state)" = done ]' ||
    fail "skip did not release sequence 2"
show --tx acme TX5 | jq -e '.skips[0].reason == "stock was corrected by hand"' \
    >/dev/null || fail "spoolctl show does not see the skip"
ok "skip over HTTP: 422 bad JSON/unknown field, 409, 404, 200 releases"

# A transaction ID holding '/': retry by the query form, skip by the
# percent-encoded path; spoolctl show sees both.
mv_msg acme 'PO/9' 1 -5 >"$T/req"; submit "$ACME"
expect 201
SL=$(json .id)
wait_until 10 '[ "$(show "$SL" | jq -r .message.state)" = failed ]' ||
    fail "PO/9 not failed"
mv_msg acme 'PO/9' 2 5 >"$T/req"; submit "$ACME"
expect 201
SL2=$(json .id)
req POST '/api/admin/transactions/retry?partner=acme&id=PO%2F9' "$ADMIN"
expect 200
wait_until 10 '[ "$(show "$SL" | jq -r .message.attempts)" = 2 ]' ||
    fail "the query form's retry did not run another attempt"
wait_until 10 '[ "$(show "$SL" | jq -r .message.state)" = failed ]' ||
    fail "PO/9 not failed again"
req POST /api/admin/transactions/acme/PO%2F9/skip "$ADMIN" \
    -d '{"seq": 1, "reason": "an ID with a slash"}'
expect 200
[ "$(json .transaction_id)" = PO/9 ] || fail "skip: $(json .transaction_id)"
wait_until 10 '[ "$(show "$SL2" | jq -r .message.state)" = done ]' ||
    fail "the skip of PO/9 did not release sequence 2"
show --tx acme PO/9 | jq -e '.skips[0].reason == "an ID with a slash"' \
    >/dev/null || fail "spoolctl show does not see the skip of PO/9"
ok "retry (?partner=&id=) and skip (%2F in the path) of an ID with '/'"

# config: in force, changed until the next reload, checked.
req GET /api/admin/config "$ADMIN"
expect 200
[ "$(json .processing.max_message_size)" = 1048576 ] || fail "config"
req POST /api/admin/config "$ADMIN" \
    -d '{"batch_size": 50, "chunk_size": 5, "workers": 2, "log_level": "info"}'
expect 200
[ "$(json .processing.batch_size)" = 50 ] || fail "batch_size not set"
[ "$(json .log.level)" = info ] || fail "log level not set"
req GET /api/admin/config "$ADMIN"
[ "$(json .processing.chunk_size)" = 5 ] || fail "chunk_size not kept"
req POST /api/admin/config "$ADMIN" -d '{"chunk_size": 500}'
expect 422
req POST /api/admin/config "$ADMIN" -d '{"batch_size": 0}'
expect 422
req POST /api/admin/config "$ADMIN" -d '{"colour": "red"}'
expect 422
req POST /api/admin/config "$ADMIN" -d 'batch_size=5'
expect 422
kill -HUP "$DAEMON_PID"
wait_until 10 'grep -q "event=reload status=ok" "$T/log"' || fail "reload"
req GET /api/admin/config "$ADMIN"
[ "$(json .processing.batch_size)" != 50 ] || fail "reload kept the change"
ok "admin config: GET, POST until reload, 422 for bad values and fields"

# metrics.
req GET /api/metrics/summary "$ADMIN"
expect 200
[ "$(json .messages.done)" -ge 3 ] || fail "summary done $(json .messages.done)"
[ "$(json '.by_partner.acme.done')" -ge 3 ] || fail "by partner"
[ "$(json '.rates["15m"].processed')" -ge 3 ] || fail "rates"
[ "$(json .latency.count)" -ge 3 ] || fail "latency"
req GET '/api/metrics/time-series?window=10m&step=1m' "$ADMIN"
expect 200
[ "$(json '.points | length')" = 10 ] || fail "points"
[ "$(json '[.points[].processed] | add')" -ge 3 ] || fail "series sum"
req GET '/api/metrics/time-series?window=1m&step=1ms' "$ADMIN"
expect 400
ok "GET /api/metrics/summary and time-series"

# purge: a dry run lists, nothing goes; then done/ is emptied.
ndone=$(count done)
[ "$ndone" -ge 3 ] || fail "done/ has $ndone"
req POST /api/admin/purge "$ADMIN" -d '{"older_than": "1ms", "dry_run": true}'
expect 200
[ "$(json .matched)" -ge 3 ] || fail "dry run matched $(json .matched)"
[ "$(count done)" = "$ndone" ] || fail "a dry run removed files"
req POST /api/admin/purge "$ADMIN" -d '{"older_than": "soon"}'
expect 422
req POST /api/admin/purge "$ADMIN" -d '{"older_than": "1ms"}'
expect 200
[ "$(json .removed)" -ge 3 ] || fail "removed $(json .removed)"
[ "$(find "$T/spool/done" -maxdepth 1 -type f -name '*.xml' | wc -l)" = 0 ] ||
    fail "done/ not purged"
[ "$(json .bundles)" -ge 1 ] || fail "bundles $(json .bundles)"
[ "$(find "$T/spool/done" -maxdepth 1 -type f -name '*.bundle' |
    wc -l)" = 0 ] || fail "bundle files not purged"
ok "POST /api/admin/purge: dry run, 422, 200 and done/ emptied"

# Every archive form a dropped bundle may take (DESIGN 9): 202 each.
for f in tar zip tar.xz; do
	mv_msg acme "F-$f" 1 5 >"$T/w/f.xml"
	(cd "$T/w" && bsdtar -a -cf "$T/b.$f" f.xml)
	req POST /api/batches "$ACME" --data-binary @"$T/b.$f"
	expect 202
	[ "$(json .entries[0].fate)" = accepted ] || fail "$f: entry not accepted"
done
# A bundle whose every entry speaks for another partner: 403.
mv_msg globex BG1 1 5 >"$T/w/g1.xml"
mv_msg globex BG2 1 5 >"$T/w/g2.xml"
(cd "$T/w" && bsdtar -czf "$T/g.tgz" g1.xml g2.xml)
req POST /api/batches "$ACME" --data-binary @"$T/g.tgz"
expect 403
[ "$(json .error)" = forbidden ] || fail "spoofed bundle: error"
[ "$(json '.counts.rejected')" = 2 ] || fail "spoofed bundle: not rejected"
# A body that is no archive: one message, as a dropped file would be.
mv_msg acme F-plain 1 5 >"$T/req"
req POST /api/batches "$ACME" --data-binary @"$T/req"
expect 201
[ "$(json .classification)" = accepted ] || fail "plain body to batches"
ok "POST /api/batches: tar, zip, tar.xz 202; a spoofed bundle 403; no archive 201"

# One message in another dialect (an X12 interchange of one 850, which
# spoold records as a batch of one) is one message: 201 as for any
# other, and 403 when its envelope names another partner's id.
x12() {
	printf 'ISA*00*          *00*          *ZZ*%-15s*ZZ*%-15s*261130*1200*U*00401*%09d*0*P*>~\n' \
	    "$1" SPOOLD "$2"
	printf 'GS*PO*%s*SPOOLD*20261130*1200*%d*X*004010~\n' "$1" "$2"
	printf 'ST*850*0001~\nBEG*00*SA*PO-%d**20261130~\nSE*3*0001~\n' "$2"
	printf 'GE*1*%d~\nIEA*1*%09d~\n' "$2" "$2"
}
x12 ACMEX12 1 >"$T/req"; submit "$ACME"
expect 201
[ "$(json .classification)" = accepted ] || fail "x12: classification"
[ "$(json .message.dialect)" = x12 ] || fail "x12: dialect"
[ "$(json .message.batch)" != null ] || fail "x12: no batch"
before=$(sql \
    "SELECT count(*) FROM messages WHERE state <> 'rejected'")
x12 GLOBEX 2 >"$T/req"; submit "$ACME"
expect 403
[ "$(json .error)" = forbidden ] || fail "x12 spoofed: error"
json .reason | grep -q 'spoofed: sender' || fail "x12 403: $(json .reason)"
after=$(sql \
    "SELECT count(*) FROM messages WHERE state <> 'rejected'")
[ "$before" = "$after" ] || fail "a spoofed interchange was accepted"
ok "POST /api/messages of an X12 interchange: 201; spoofed: 403"

# An admin body over its bound: 413.
head -c 100000 /dev/zero | tr '\0' ' ' >"$T/big.json"
req POST /api/admin/config "$ADMIN" --data-binary @"$T/big.json"
expect 413
ok "admin body over 64 KiB: 413"

grep -q -e "$ADMIN" -e "$ACME" -e "$GLOBEX" "$T/log" && fail "token logged"
stop_daemon
ok "spoold stops cleanly"

# A submission that cannot be accepted yet (below min_free_space) waits;
# spoold stopping answers it 503 and keeps the file for the next start.
cp "$T/spoold.conf" "$T/plain.conf"
sed 's/^\[processing\]$/[processing]\nmin_free_space = 900000G/' \
    "$T/plain.conf" >"$T/spoold.conf"
start_daemon
wait_until 10 'grep -q "event=http status=listening" "$T/log"' ||
    fail "no HTTP server"
PORT=$(sed -n 's/.*event=http status=listening.* port=\([0-9]*\).*/\1/p' \
    "$T/log")
URL="http://127.0.0.1:$PORT"
# Below min_free_space: not ready (the disk check says why), not accepting.
req GET /health/ready ""
expect 503
[ "$(json .checks.disk.ok)" = false ] || fail "disk check: $(cat "$T/body")"
json .checks.disk.detail | grep -q 'min_free_space' ||
    fail "disk detail: $(json .checks.disk.detail)"
[ "$(json .checks.loop.ok)" = true ] || fail "loop check"
curl -s "$URL/metrics" | grep -qx 'spoold_accepting 0' ||
    fail "spoold_accepting is not 0 below min_free_space"
mv_msg acme TX9 1 5 >"$T/req"
curl -s -o "$T/late" -w '%{http_code}' -H "Authorization: Bearer $ACME" \
    --data-binary @"$T/req" "$URL/api/messages" >"$T/late.code" &
CURL=$!
wait_until 10 'ls "$T/spool/incoming/acme" | grep -q "^http-"' ||
    fail "the submission was not written"
stop_daemon
wait "$CURL" || true
[ "$(cat "$T/late.code")" = 503 ] || fail "waiting: $(cat "$T/late.code")"
jq -r .reason "$T/late" | grep -q 'accepted when it runs again' ||
    fail "503 reason: $(cat "$T/late")"
cp "$T/plain.conf" "$T/spoold.conf"
start_daemon
wait_until 10 '[ -z "$(ls "$T/spool/incoming/acme")" ]' ||
    fail "the kept submission was not accepted"
sql "SELECT count(*) FROM messages WHERE \
    transaction_id = 'TX9' AND state <> 'rejected'" | grep -qx 1 ||
    fail "TX9 not accepted after the restart"
wait_until 10 'grep -q "event=http status=listening" "$T/log"' ||
    fail "no HTTP server"
PORT=$(sed -n 's/.*event=http status=listening.* port=\([0-9]*\).*/\1/p' \
    "$T/log")
URL="http://127.0.0.1:$PORT"
req GET /health/ready ""
expect 200
[ "$(json .checks.disk.ok)" = true ] || fail "disk check after the restart"
stop_daemon
ok "below min_free_space: /health/ready 503 (disk), spoold_accepting 0"
ok "a waiting submission at stop: 503, its file accepted at the next start"
