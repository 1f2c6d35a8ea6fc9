#!/bin/sh
# ctl2.sh - spoolctl's newer commands and forms against a real spoold, in
# text and JSON: status tells a blocked transaction (its next number
# arrived and failed) from one that waits (the number has not arrived).
. "$(dirname "$0")/lib.sh"

ledger_spool
cat >>"$T/spoold.conf" <<CONF
[route *]
handler = ledger
CONF

# jqt FILTER: the filter holds for $T/out (a JSON document).
jqt() {
	jq -e "$1" "$T/out" >/dev/null || {
		cat "$T/out" >&2
		fail "JSON check failed: $1"
	}
}

start_daemon

# F: 1 fails (stock would go negative), 2 waits behind it.
mv_msg acme F 1 -5 | drop acme f1.xml
wait_until 20 '[ "$(count failed)" -eq 1 ]' || fail "F 1 did not fail"
mv_msg acme F 2 1 | drop acme f2.xml
wait_until 20 '[ "$(count parked)" -eq 1 ]' || fail "F 2 not parked"
F1=$(sql "SELECT id FROM messages WHERE transaction_id = 'F' AND \
    sender_seq = 1")
expect_exit 0 ctl status
expect_out "acme F blocked by failed sequence 1 (#$F1)"
grep -q "waits for" "$T/out" && fail "status: a failed number 'waits'"
expect_exit 0 ctl --json status
jqt ".gaps.oldest | .transaction_id == \"F\" and .next_seq == 1 and
    .blocked_by == {\"id\": $F1, \"state\": \"failed\"}"
ok "status: blocked by a failed sequence number, text and JSON"

# Bundles: one with an entry parked and one failed is pending, not done;
# one whose entries are all done is done; batches lists them newest first.
mkdir -p "$T/b1" "$T/b2" "$T/spool/incoming/acme"
mv_msg acme B 1 1 >"$T/b1/b1.xml"
mv_msg acme B 3 1 >"$T/b1/b3.xml"
msg acme - 9 >"$T/b1/p9.xml"
mv_msg acme C 1 1 >"$T/b2/c1.xml"
tar -C "$T/b1" -cf "$T/spool/incoming/acme/.one.tar" b1.xml b3.xml p9.xml
mv "$T/spool/incoming/acme/.one.tar" "$T/spool/incoming/acme/one.tar"
wait_until 20 '[ "$(count parked)" -eq 2 ] && [ "$(count failed)" -eq 2 ]' ||
    fail "bundle one: entries not parked and failed"
tar -C "$T/b2" -cf "$T/spool/incoming/acme/.two.tar" c1.xml
mv "$T/spool/incoming/acme/.two.tar" "$T/spool/incoming/acme/two.tar"
wait_until 20 '[ "$(sql "SELECT count(*) FROM messages WHERE
    transaction_id = '"'C'"' AND state = '"'done'"'")" -eq 1 ]' ||
    fail "bundle two not done"
B1=$(sql "SELECT id FROM batches WHERE orig_name = 'one.tar'")
B2=$(sql "SELECT id FROM batches WHERE orig_name = 'two.tar'")
expect_exit 0 ctl batch "$B1"
expect_out "state         pending (1 parked, 1 failed)"
expect_exit 0 ctl --json batch "$B1"
jqt '.state == "pending" and .counts.parked == 1 and .counts.failed == 1 and
    .counts.done == 1 and .entry_count == 3'
expect_exit 0 ctl batch "$B2"
expect_out "state         done"
expect_exit 0 ctl batches
expect_out "BATCH   PARTNER"
[ "$(grep -c '^[0-9]' "$T/out")" -eq 2 ] || fail "batches: not 2 lines"
grep '^[0-9]' "$T/out" | head -1 | grep -q "^$B2 .* done *two.tar" ||
    fail "batches: newest first, done"
grep -q "^$B1 .* pending *one.tar *(1 parked, 1 failed)" "$T/out" ||
    fail "batches: pending with its counts"
expect_exit 0 ctl batches --limit 1
expect_out "-- 1 of 2 batches shown"
expect_exit 0 ctl --json batches
jqt ".total == 2 and [.batches[].batch] == [$B2, $B1] and
    .batches[0].state == \"done\" and .batches[1].state == \"pending\" and
    .batches[1].counts.parked == 1 and .batches[0].bundle == \"two.tar\""
expect_exit 0 ctl list --batch "$B1"
[ "$(grep -c '^[0-9]' "$T/out")" -eq 2 ] || fail "list --batch"
expect_exit 64 ctl batches --limit x
ok "batch is done only when every entry is; batches, text and JSON"

# retry: several IDs, or IDs on standard input; an ID that cannot be
# retried is named, the others are retried, exit 65.
P9=$(sql "SELECT id FROM messages WHERE orig_name = 'p9.xml'")
attempts() {
	sql "SELECT group_concat(attempts) FROM messages WHERE id IN ($F1, $P9)"
}
[ "$(attempts)" = "1,1" ] || fail "attempts before retry: $(attempts)"
expect_exit 0 ctl retry "$F1" "$P9"
expect_out "retry: 2 messages back in queue/"
wait_until 20 '[ "$(attempts)" = "2,2" ] && [ "$(count failed)" -eq 2 ]' ||
    fail "retry of two IDs: attempts $(attempts)"
printf '%s\n\n  %s  \n' "$F1" "$P9" | ctl retry - >"$T/out" 2>&1 ||
    fail "retry - exited $?: $(cat "$T/out")"
expect_out "retry: 2 messages back in queue/"
wait_until 20 '[ "$(attempts)" = "3,3" ] && [ "$(count failed)" -eq 2 ]' ||
    fail "retry -: attempts $(attempts)"
expect_exit 65 ctl --json retry 999999 "$F1"
expect_out "no failed or deferred message 999999"
sed -n '$p' "$T/out" >"$T/out.json"
jq -e '.retried == 1 and .not_retried == [999999]' "$T/out.json" \
    >/dev/null || fail "retry --json: $(cat "$T/out")"
wait_until 20 '[ "$(attempts)" = "4,3" ] && [ "$(count failed)" -eq 2 ]' ||
    fail "retry of a known and an unknown ID: attempts $(attempts)"
expect_exit 64 ctl retry "$F1" x
expect_exit 64 sh -c "printf '1\nx\n' | $SPOOLCTL -c '$T/spoold.conf' retry -"
expect_out "line 2: x is not a message ID"
expect_exit 64 sh -c "printf '\n' | $SPOOLCTL -c '$T/spoold.conf' retry -"
ok "retry of several IDs, and of IDs on standard input"

# skip: a range with one reason; the older form stays.
mv_msg acme G 4 1 | drop acme g4.xml
mv_msg acme H 2 1 | drop acme h2.xml
wait_until 20 '[ "$(sql "SELECT count(*) FROM messages WHERE
    transaction_id IN ('"'G'"', '"'H'"') AND state = '"'parked'"'")" -eq 2 ]' ||
    fail "G 4 and H 2 not parked"
expect_exit 0 ctl skip --tx acme G 1-3 --reason "never sent"
expect_out "skip: sequences 1 to 3 of acme G declared done by "
[ "$(sql "SELECT group_concat(seq) FROM (SELECT seq FROM skips
    WHERE transaction_id = 'G' ORDER BY seq)")" = "1,2,3" ] ||
    fail "skip range: skips not recorded"
wait_until 20 '[ "$(sql "SELECT state FROM messages WHERE
    transaction_id = '"'G'"' AND sender_seq = 4")" = done ]' ||
    fail "G 4 not released after the range skip"
expect_exit 65 ctl skip --tx acme G 9-10 --reason "too far"
expect_out "waits for sequence 5"
expect_exit 0 ctl --json skip acme H 1 --reason "old form"
jqt '.partner == "acme" and .transaction_id == "H" and .seq == 1 and
    .to == 1 and .reason == "old form"'
expect_exit 64 ctl skip --tx acme G 7-6 --reason "backwards"
expect_exit 64 ctl skip --tx acme G 7
ok "skip --tx PARTNER ID FROM-TO, and the older skip PARTNER ID SEQ"

# --json (jansson): a name that is not UTF-8 comes out as U+FFFD, and the
# document is valid JSON.
printf 'not xml\n' >"$T/spool/incoming/acme/.bad"
mv "$T/spool/incoming/acme/.bad" "$T/spool/incoming/acme/bad$(printf '\377').xml"
wait_until 20 '[ "$(sql "SELECT count(*) FROM messages WHERE
    orig_name LIKE '"'bad%'"'")" -eq 1 ]' || fail "bad name not rejected"
expect_exit 0 ctl --json list --state rejected
jqt '[.messages[] | select(.orig_name == "bad\ufffd.xml")] | length == 1'
ok "--json: bytes that are not UTF-8 become U+FFFD"

stop_daemon
