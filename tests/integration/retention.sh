#!/bin/sh
# retention.sh - purging done/ frees the files of messages the books
# (ledger) still name: their rows stay, slimmed and marked purged, check
# stays clean, and a redelivery of a purged message is a duplicate, never
# applied again (issue 16: purge --done-older-than 0s kept every ledger
# message).
. "$(dirname "$0")/lib.sh"

ledger_spool

mkdir -p "$T/work"
mv_msg acme L 1 5 >"$T/work/l1.xml"
mv_msg acme L 2 -2 >"$T/work/l2.xml"
start_daemon
mkdir -p "$T/spool/incoming/acme"
cp "$T/work/l1.xml" "$T/work/l2.xml" "$T/spool/incoming/acme/"
wait_until 20 '[ "$(count done)" -eq 2 ]' || fail "ledger messages not done"
[ "$(sql "SELECT quantity FROM v_stock WHERE item = 'ITEM-acme-L'")" = 3 ] ||
    fail "stock before the purge"

# The dry run lists exactly what the purge removes.
expect_exit 0 ctl purge --done-older-than 0s --dry-run
expect_out "purge: would remove 2 messages"
expect_exit 0 ctl purge --done-older-than 0s
expect_out "purge: removed 2 messages"
expect_out "kept 0"
[ "$(count done)" -eq 0 ] || fail "purge left ledger files in done/"
[ "$(sql "SELECT count(*) FROM messages WHERE purged_at IS NOT NULL")" \
    -eq 2 ] || fail "the books' messages were not kept as purged rows"
expect_exit 0 ctl check
ok "purge frees done/ files of messages the books name"

# A second purge has nothing left to do.
expect_exit 0 ctl purge --done-older-than 0s --dry-run
expect_out "purge: would remove 0 messages"

# A redelivery of a purged message is a duplicate, not applied again.
cp "$T/work/l1.xml" "$T/spool/incoming/acme/l1-again.xml"
wait_until 20 '[ "$(count done)" -eq 1 ]' || fail "redelivery not settled"
[ "$(sql "SELECT count(*) FROM messages WHERE duplicate_of IS NOT NULL")" \
    -eq 1 ] || fail "the redelivery is not a duplicate"
[ "$(sql "SELECT quantity FROM v_stock WHERE item = 'ITEM-acme-L'")" = 3 ] ||
    fail "the redelivery was applied again"
[ "$(count rejected)" -eq 0 ] || fail "the redelivery was rejected"
ok "a redelivery after the purge is a duplicate"
stop_daemon

# spoold enforces retention by itself: with retention = 2s (looked at
# every second) a processed ledger message leaves done/, its row stays
# slimmed, and a redelivery is a duplicate.
write_conf
cat >>"$T/spoold.conf" <<CONF
retention = 2s
retention_interval = 1s
[route InventoryMovement]
handler = ledger
CONF
start_daemon
mv_msg acme R 1 4 >"$T/work/r1.xml"
cp "$T/work/r1.xml" "$T/spool/incoming/acme/"
wait_until 20 '[ "$(sql "SELECT count(*) FROM messages WHERE
    transaction_id = '"'R'"' AND state = '"'done'"'")" -eq 1 ]' ||
    fail "R 1 not done"
wait_until 20 '[ "$(count done)" -eq 0 ]' ||
    fail "spoold did not purge done/ after its retention"
# The file goes before the COMMIT that marks its row, and an earlier
# pass (the redelivery above, also in done/) logs a retention line of its
# own: wait for R 1's row itself.
wait_until 20 'grep -q "event=retention dir=done removed=" "$T/log"' ||
    fail "the retention was not logged"
wait_until 20 '[ "$(sql "SELECT count(*) FROM messages WHERE
    transaction_id = '"'R'"' AND purged_at IS NOT NULL")" -eq 1 ]' ||
    fail "R 1's row not kept slimmed"
expect_exit 0 ctl check
cp "$T/work/r1.xml" "$T/spool/incoming/acme/r1-again.xml"
wait_until 20 '[ "$(sql "SELECT count(*) FROM messages WHERE
    transaction_id = '"'R'"' AND duplicate_of IS NOT NULL")" -eq 1 ]' ||
    fail "the redelivery of R 1 is not a duplicate"
[ "$(sql "SELECT quantity FROM v_stock WHERE item = 'ITEM-acme-R'")" = 4 ] ||
    fail "R 1 was applied again"
ok "spoold purges done/ after retention by itself"
stop_daemon

# Tombstones: messages nothing else names (here handled by an exec
# program) lose their rows when purged, but their keys and digest stay
# for dedup_window: a redelivery, in a transaction or outside one, is a
# duplicate, never processed again (issue 16: it was rejected, or
# processed again).
cat >"$T/ok.sh" <<'SH'
#!/bin/sh
cat >/dev/null
echo "$SPOOLD_TRANSACTION_ID|$SPOOLD_SEQUENCE" >>"$(dirname "$0")/calls.log"
SH
chmod +x "$T/ok.sh"
write_conf
cat >>"$T/spoold.conf" <<CONF
[route InventoryMovement]
handler = ledger
[route ProductInfo]
handler = exec
command = $T/ok.sh
CONF
start_daemon
msg acme - 1 >"$T/work/p1.xml"
msg acme S 1 >"$T/work/s1.xml"
cp "$T/work/p1.xml" "$T/work/s1.xml" "$T/spool/incoming/acme/"
wait_until 20 '[ "$(sql "SELECT count(*) FROM messages WHERE
    type = '"'ProductInfo'"' AND state = '"'done'"'")" -eq 2 ]' ||
    fail "ProductInfo messages not done"
[ "$(wc -l <"$T/calls.log")" -eq 2 ] || fail "calls: $(cat "$T/calls.log")"
expect_exit 0 ctl purge --done-older-than 0s
[ "$(sql "SELECT count(*) FROM messages WHERE type = 'ProductInfo'")" \
    -eq 0 ] || fail "the purge kept ProductInfo rows"
[ "$(sql "SELECT count(*) FROM tombstones WHERE type = 'ProductInfo' AND
    fate = 'done'")" -eq 2 ] || fail "no tombstones for the purged rows"
cp "$T/work/p1.xml" "$T/spool/incoming/acme/p1-again.xml"
cp "$T/work/s1.xml" "$T/spool/incoming/acme/s1-again.xml"
wait_until 20 '[ "$(sql "SELECT count(*) FROM messages WHERE
    type = '"'ProductInfo'"' AND duplicate_of IS NOT NULL")" -eq 2 ]' ||
    fail "the redeliveries after the purge are not duplicates"
[ "$(count rejected)" -eq 0 ] || fail "a redelivery was rejected"
[ "$(wc -l <"$T/calls.log")" -eq 2 ] ||
    fail "a redelivery was processed again: $(cat "$T/calls.log")"
# The same MessageId with other content, after the purge: rejected.
msg acme - 1 | sed 's/SKU-1/SKU-X/' >"$T/spool/incoming/acme/p1-other.xml"
wait_until 20 '[ "$(count rejected)" -eq 1 ] &&
    ls "$T/spool/rejected" | grep -q "p1-other.*\.reason$"' ||
    fail "other content under a purged MessageId was not rejected"
grep -q "purged since" "$T"/spool/rejected/*.reason ||
    fail "reason: $(cat "$T"/spool/rejected/*.reason)"
ok "a redelivery after the purge is a duplicate, in and outside transactions"
stop_daemon

# check --repair settles a done, rejected or failed row whose file an
# admin removed by hand, recording who and when (issue 16: check failed
# on every run and --repair could not fix it). A parked row without its
# file is still only reported.
write_conf
cat >>"$T/spoold.conf" <<CONF
[route InventoryMovement]
handler = ledger
CONF
start_daemon
mv_msg acme F 1 -50 >"$T/spool/incoming/acme/f1.xml"
echo "not xml" >"$T/spool/incoming/acme/junk.xml"
mv_msg acme G 1 1 >"$T/spool/incoming/acme/g1.xml"
wait_until 20 '[ "$(sql "SELECT count(*) FROM messages WHERE
    (transaction_id = '"'F'"' AND state = '"'failed'"') OR
    (transaction_id = '"'G'"' AND state = '"'done'"') OR
    (orig_name = '"'junk.xml'"' AND state = '"'rejected'"')")" -eq 3 ]' ||
    fail "F 1, junk, G 1 not settled"
stop_daemon
F1=$(sql "SELECT id FROM messages WHERE transaction_id = 'F'")
G1=$(sql "SELECT id FROM messages WHERE transaction_id = 'G'")
J=$(sql "SELECT id FROM messages WHERE orig_name = 'junk.xml'")
F1N=$(sql "SELECT file_name FROM messages WHERE id = $F1")
JN=$(sql "SELECT file_name FROM messages WHERE id = $J")
rm "$T/spool/failed/$F1N" "$T/spool/rejected/$JN"
rm "$T/spool/done/$(sql "SELECT file_name FROM messages WHERE id = $G1")"
expect_exit 65 ctl check
expect_out "row without file: message $F1 (failed)"
expect_exit 0 ctl check --repair
expect_out "row without file: message $F1 (failed): failed/"
expect_out "settled, recorded as removed by hand"
expect_out "check: 3 disagreements, 3 repaired, 0 remain"
expect_exit 0 ctl check
for id in $F1 $J $G1; do
	sql "SELECT reason FROM messages WHERE id = $id" | grep -q \
	    "file removed by hand; settled by spoolctl check --repair as root" ||
	    fail "message $id: $(sql "SELECT reason FROM messages WHERE id = $id")"
done
[ "$(sql "SELECT state FROM messages WHERE id = $F1")" = failed ] ||
    fail "the settled failed message changed state"
# The .reason sidecars the admin left go with the settling: nothing else
# would ever remove them (issue 16: stray files left in rejected/).
[ ! -e "$T/spool/failed/$F1N.reason" ] &&
    [ ! -e "$T/spool/rejected/$JN.reason" ] || fail "check --repair left the .reason sidecars: $(ls "$T/spool/failed" \
    "$T/spool/rejected")"
ok "check --repair settles rows whose files were removed by hand"

# rejected/ and failed/ have retentions of their own: with 2s both are
# emptied by spoold (files and .reason sidecars); the rows stay, marked
# purged, so a failed one still blocks its transaction.
write_conf
cat >>"$T/spoold.conf" <<CONF
rejected_retention = 2s
failed_retention = 2s
retention_interval = 1s
[route InventoryMovement]
handler = ledger
CONF
start_daemon
mv_msg acme H 1 -50 >"$T/spool/incoming/acme/h1.xml"
echo "still not xml" >"$T/spool/incoming/acme/junk2.xml"
wait_until 20 '[ "$(sql "SELECT count(*) FROM messages WHERE
    (transaction_id = '"'H'"' AND state = '"'failed'"') OR
    (orig_name = '"'junk2.xml'"' AND state = '"'rejected'"')")" -eq 2 ]' ||
    fail "H 1 and junk2 not failed and rejected"
H1=$(sql "SELECT file_name FROM messages WHERE transaction_id = 'H'")
J2=$(sql "SELECT file_name FROM messages WHERE orig_name = 'junk2.xml'")
# Purged rows, not only absent files: with the one pass (issue 20) both
# rows commit before either file is renamed out of incoming/.
wait_until 20 '[ ! -e "$T/spool/failed/$H1" ] &&
    [ ! -e "$T/spool/rejected/$J2" ] &&
    [ "$(sql "SELECT count(*) FROM messages WHERE purged_at IS NOT NULL
    AND file_name IN ('"'$H1'"', '"'$J2'"')")" -eq 2 ]' ||
    fail "spoold did not empty failed/ and rejected/ after their retention"
# Each sidecar goes right after its file (retention.c): wait for the log
# line, written after both, before looking.
wait_until 20 'grep -q "event=retention dir=failed removed=" "$T/log" &&
    grep -q "event=retention dir=rejected removed=" "$T/log"' ||
    fail "the retention of failed/ and rejected/ was not logged"
[ ! -e "$T/spool/failed/$H1.reason" ] && [ ! -e "$T/spool/rejected/$J2.reason" ] ||
    fail "the .reason sidecars were left"
wait_until 20 'grep -q "event=retention dir=failed removed=" "$T/log" &&
    grep -q "event=retention dir=rejected removed=" "$T/log"' ||
    fail "the retention of failed/ and rejected/ was not logged"
[ "$(sql "SELECT state FROM messages WHERE transaction_id = 'H' AND
    purged_at IS NOT NULL")" = failed ] || fail "H 1's row not kept, failed"
stop_daemon
expect_exit 0 ctl check
ok "spoold empties rejected/ and failed/ after their own retentions"

# Bundle files go too: a bundle's file leaves done/ once retention has
# purged its messages, a bundle rejected whole leaves rejected/ (with its
# .reason) after rejected_retention; the batches stay, with no file
# (issue 16: spoold left both for ever).
write_conf
cat >>"$T/spoold.conf" <<CONF
retention = 2s
rejected_retention = 2s
retention_interval = 1s
[route InventoryMovement]
handler = ledger
CONF
mkdir -p "$T/w"
mv_msg acme BR 1 2 >"$T/w/br1.xml"
mv_msg acme BR 2 2 >"$T/w/br2.xml"
(cd "$T/w" && tar -czf "$T/work/pair.tgz" br1.xml br2.xml)
head -c 100 "$T/work/pair.tgz" >"$T/work/cut.tgz"
start_daemon
cp "$T/work/pair.tgz" "$T/work/cut.tgz" "$T/spool/incoming/acme/"
wait_until 20 '[ "$(sql "SELECT count(*) FROM batches WHERE
    orig_name IN ('"'pair.tgz'"', '"'cut.tgz'"')")" -eq 2 ]' ||
    fail "the bundles were not taken"
[ "$(sql "SELECT state FROM batches WHERE orig_name = 'cut.tgz'")" = \
    rejected ] || fail "cut.tgz not rejected"
wait_until 20 '[ "$(sql "SELECT count(*) FROM batches WHERE
    orig_name IN ('"'pair.tgz'"', '"'cut.tgz'"') AND file_name = '"''"'")" \
    -eq 2 ]' || fail "spoold kept the bundle files: $(ls "$T/spool/done" \
    "$T/spool/rejected")"
! ls "$T/spool/done" "$T/spool/rejected" | grep -q '\.bundle' ||
    fail "bundle files left: $(ls "$T/spool/done" "$T/spool/rejected")"
[ "$(sql "SELECT count(*) FROM messages WHERE transaction_id = 'BR' AND
    purged_at IS NOT NULL")" -eq 2 ] || fail "BR's rows not kept slimmed"
stop_daemon
expect_exit 0 ctl check
expect_exit 0 ctl batches
expect_out "cut.tgz"
ok "spoold removes bundle files from done/ and rejected/ after retention"

# Tombstones last dedup_window, then spoold forgets them: a redelivery
# outside transactions is new again, and a sequence number below its
# transaction's next is rejected as processed before and purged.
rm -f "$T/calls.log"
write_conf
cat >>"$T/spoold.conf" <<CONF
dedup_window = 2s
retention_interval = 1s
[route InventoryMovement]
handler = ledger
[route ProductInfo]
handler = exec
command = $T/ok.sh
CONF
start_daemon
msg acme - 7 >"$T/work/p7.xml"
msg acme SW 1 >"$T/work/sw1.xml"
cp "$T/work/p7.xml" "$T/work/sw1.xml" "$T/spool/incoming/acme/"
wait_until 20 '[ "$(wc -l <"$T/calls.log" 2>/dev/null || echo 0)" -eq 2 ]' ||
    fail "p7 and SW 1 not processed"
wait_until 20 '[ "$(sql "SELECT count(*) FROM messages WHERE
    orig_name IN ('"'p7.xml'"', '"'sw1.xml'"') AND state = '"'done'"'")" \
    -eq 2 ]' || fail "p7 and SW 1 not done"
expect_exit 0 ctl purge --done-older-than 0s
wait_until 20 '[ "$(sql "SELECT count(*) FROM tombstones")" -eq 0 ]' ||
    fail "spoold kept tombstones past dedup_window"
cp "$T/work/p7.xml" "$T/spool/incoming/acme/p7-again.xml"
cp "$T/work/sw1.xml" "$T/spool/incoming/acme/sw1-again.xml"
wait_until 20 '[ "$(wc -l <"$T/calls.log")" -eq 3 ] &&
    ls "$T/spool/rejected" | grep -q "sw1-again.*\.reason$"' ||
    fail "after dedup_window: calls $(cat "$T/calls.log"), rejected: $(ls \
    "$T/spool/rejected")"
grep -q "processed before and its record has been purged" \
    "$T"/spool/rejected/*sw1-again*.reason ||
    fail "reason: $(cat "$T"/spool/rejected/*sw1-again*.reason)"
stop_daemon
ok "after dedup_window a redelivery is new again, or rejected in a transaction"
