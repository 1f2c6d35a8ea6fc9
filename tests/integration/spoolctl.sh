#!/bin/sh
# spoolctl.sh - the admin tool against a real spool: status, list, show,
# show --tx, check (--repair) and purge (--dry-run), in text and JSON,
# while spoold runs and after it stopped; check finds files moved,
# deleted and dropped by hand, and repairs only what it may.
. "$(dirname "$0")/lib.sh"

ledger_spool
cat >>"$T/spoold.conf" <<CONF
[route *]
handler = ledger
CONF

# json WANT CMD...: run spoolctl --json CMD, stdout in $T/json; exit WANT.
json() {
	want=$1
	shift
	set +e
	ctl --json "$@" >"$T/json" 2>"$T/err"
	got=$?
	set -e
	[ "$got" -eq "$want" ] || {
		cat "$T/json" "$T/err" >&2
		fail "exit $got, want $want: spoolctl --json $*"
	}
	jq -e . "$T/json" >/dev/null || fail "not JSON: spoolctl --json $*"
}

# jqt FILTER: the filter holds for $T/json.
jqt() {
	jq -e "$1" "$T/json" >/dev/null || {
		jq . "$T/json" >&2
		fail "JSON check failed: $1"
	}
}

# put PARTNER NAME < content: upload as a dot-file, then rename it in, as
# SFTP clients do (a file written in place may be seen half written).
put() {
	mkdir -p "$T/spool/incoming/$1"
	cat >"$T/spool/incoming/$1/.$2"
	mv "$T/spool/incoming/$1/.$2" "$T/spool/incoming/$1/$2"
}

# help, per command too, and the version: on stdout, exit 0, no spool
# needed; an unknown option or command: 64 and a usage line on stderr.
expect_exit 0 $SPOOLCTL help
expect_out "commands: status list show"
for c in status list show retry skip batch purge check; do
	expect_exit 0 $SPOOLCTL -d "$T/nowhere" help $c
	expect_out "usage: spoolctl $c"
	$SPOOLCTL -d "$T/nowhere" $c --help >"$T/help" 2>"$T/err" ||
	    fail "$c --help exits $?"
	grep -q "^usage: spoolctl $c" "$T/help" || fail "$c --help: no usage"
	[ ! -s "$T/err" ] || fail "$c --help wrote on stderr"
done
expect_exit 0 $SPOOLCTL -V
grep -q "^spoolctl [0-9]" "$T/out" || fail "-V: no version"
expect_exit 0 $SPOOLCTL --version
expect_exit 64 $SPOOLCTL --bogus status
expect_out "usage: spoolctl"
expect_exit 64 $SPOOLCTL help bogus
expect_exit 64 ctl list --bogus
expect_out "usage: spoolctl list"
ok "help, COMMAND --help, -V; unknown options exit 64 with a usage line"

start_daemon

# Processed (ledger), duplicates, parked behind a gap, failed, rejected.
mv_msg acme L1 1 3 | put acme l1-1.xml
mv_msg acme L1 2 -3 | put acme l1-2.xml
msg acme T1 3 | put acme t1-3.xml
msg acme T1 5 | put acme t1-5.xml
msg acme - 7 | put acme p7.xml
msg acme - 8 | put acme p8.xml
echo 'not xml' | put acme junk.xml
wait_until 20 '[ "$(count done)" -eq 2 ] && [ "$(count parked)" -eq 2 ] &&
    [ "$(count failed)" -eq 2 ] && [ "$(count rejected)" -eq 1 ]' ||
    fail "messages did not reach their states"
mv_msg acme L1 1 3 | put acme l1-1-again.xml
msg acme T1 3 | put acme t1-3-again.xml
msg acme - 7 | put acme p7-again.xml
wait_until 20 '[ "$(count done)" -eq 5 ]' || fail "duplicates not in done/"

L1_1=$(sql "SELECT id FROM messages WHERE transaction_id = 'L1' AND \
    sender_seq = 1 AND duplicate_of IS NULL")
T1_3=$(sql "SELECT id FROM messages WHERE transaction_id = 'T1' AND \
    sender_seq = 3 AND duplicate_of IS NULL")
T1_5=$(sql "SELECT id FROM messages WHERE transaction_id = 'T1' AND \
    sender_seq = 5")
P7=$(sql "SELECT id FROM messages WHERE message_id = 'acme---7' AND \
    duplicate_of IS NULL")
P8=$(sql "SELECT id FROM messages WHERE message_id = 'acme---8'")
JUNK=$(sql "SELECT id FROM messages WHERE orig_name = 'junk.xml'")

# status, while spoold runs.
expect_exit 0 ctl status
expect_out "spoold    running, pid $DAEMON_PID, since "
expect_out "queue     0"
expect_out "parked    2"
expect_out "failed    2"
expect_out "rejected  1"
expect_out "done      5"
expect_out "gaps      1 open; oldest since "
expect_out "acme T1 waits for sequence 1"
expect_out "processed 2 in the last minute, 2 in the last hour"
expect_out "duplicate 3 in the last minute, 3 in the last hour"
json 0 status
jqt '.counts == {"incoming": 0, "queue": 0, "parked": 2, "deferred": 0,
    "failed": 2, "rejected": 1, "done": 5, "held": 0}'
jqt ".daemon.running == true and .daemon.pid == $DAEMON_PID"
jqt '.daemon.started_at | test("^[0-9-]{10}T[0-9:]{8}Z$")'
jqt '.gaps.open == 1 and .gaps.oldest.partner == "acme" and
    .gaps.oldest.transaction_id == "T1" and .gaps.oldest.next_seq == 1 and
    .gaps.oldest.age_seconds >= 0'
jqt '.oldest_deferred == null'
jqt '.processed == {"last_minute": 2, "last_hour": 2}'
jqt '.duplicates == {"last_minute": 3, "last_hour": 3}'
jqt ".schema_version >= 1 and .spool == \"$T/spool\""
ok "status while spoold runs, text and JSON"

# list: everything not done, oldest first; filters, limit.
expect_exit 0 ctl list
expect_out "ID      PARTNER      TRANSACTION            SEQ TYPE"
[ "$(grep -c '^[0-9]' "$T/out")" -eq 5 ] || fail "list: not 5 lines"
grep -q ' done ' "$T/out" && fail "list shows done messages by default"
grep -q "^$T1_3 *acme *T1 *3 ProductInfo *parked *0 " "$T/out" ||
    fail "list: parked T1 3 line"
grep -q "^$P8 .* failed *1 .*the ledger handler does not handle message type ProductInfo" \
    "$T/out" || fail "list: failed line with its reason"
grep '^[0-9]' "$T/out" | cut -d' ' -f1 >"$T/ids"
sort -n "$T/ids" | cmp -s - "$T/ids" || fail "list is not oldest first"
expect_exit 0 ctl list --state parked --partner acme --tx T1
[ "$(grep -c '^[0-9]' "$T/out")" -eq 2 ] || fail "list filters"
expect_exit 0 ctl list --state parked --tx acme T1
[ "$(grep -c '^[0-9]' "$T/out")" -eq 2 ] || fail "list --tx PARTNER ID"
expect_exit 0 ctl list --tx other T1
expect_out "no messages"
expect_exit 0 ctl list --limit 3
[ "$(grep -c '^[0-9]' "$T/out")" -eq 3 ] || fail "list --limit"
expect_out "-- 3 of 5 messages shown"
expect_exit 0 ctl list --state done --state failed --state parked \
    --state rejected --state queue --state deferred
[ "$(grep -c '^[0-9]' "$T/out")" -eq 10 ] || fail "list: every --state"
expect_exit 0 ctl list --state failed --state rejected
[ "$(grep -c '^[0-9]' "$T/out")" -eq 3 ] || fail "list: two --state"
expect_exit 0 ctl list --type ProductInfo --state failed
[ "$(grep -c '^[0-9]' "$T/out")" -eq 2 ] || fail "list --type"
expect_exit 0 ctl list --type InventoryMovement
expect_out "no messages"
expect_exit 0 ctl list --older-than 1h
expect_out "no messages"
expect_exit 0 ctl list --older-than 1ms
[ "$(grep -c '^[0-9]' "$T/out")" -eq 5 ] || fail "list --older-than 1ms"
expect_exit 0 ctl list --batch 1
expect_out "no messages"
expect_exit 64 ctl list --older-than soon
expect_exit 64 ctl list --batch x
json 0 list --state parked --tx acme T1 --type ProductInfo
jqt '.total == 2 and ([.messages[].sender_seq] == [3, 5])'
expect_exit 0 ctl list --partner nobody
expect_out "no messages"
expect_exit 64 ctl list --state nonsense
expect_exit 64 ctl list --limit -1
json 0 list --state done
jqt '.total == 5 and .limit == 100 and (.messages | length) == 5'
jqt '[.messages[].state] | all(. == "done")'
jqt '[.messages[].id] == ([.messages[].id] | sort)'
jqt "[.messages[] | select(.duplicate_of == $L1_1)] | length == 1"
json 0 list --state rejected
jqt ".messages[0] | .id == $JUNK and .partner == \"acme\" and
    .orig_name == \"junk.xml\" and (.reason | test(\"XML\")) and
    .transaction_id == null and .sender_seq == null and
    (.file | startswith(\"rejected/\")) and .age_seconds >= 0"
ok "list, text and JSON, with filters and limit"

# show MSGID.
expect_exit 0 ctl show "$P8"
expect_out "id            $P8"
expect_out "state         failed"
expect_out "file          failed/acme,-,0,ProductInfo,$P8.xml"
expect_out "uploaded as   p8.xml"
expect_out "reason file   "
expect_out "attempt 1 "
expect_out "permanent: the ledger handler does not handle message type ProductInfo"
json 0 show "$P8"
jqt ".message.id == $P8 and .message.state == \"failed\" and
    .message.attempts == 1 and .message.message_id == \"acme---8\" and
    (.message.sha256 | length) == 64 and .message.size > 0"
jqt '.message.attempt_log | length == 1'
jqt '.message.attempt_log[0] | .attempt == 1 and .outcome == "permanent"
    and (.error | test("does not handle")) and (.started_at | endswith("Z"))'
jqt '.reason_file.first_line | test("does not handle message type")'
jqt ".reason_file.file == \"failed/acme,-,0,ProductInfo,$P8.xml.reason\""
json 0 show "$T1_3"
jqt '.reason_file == null and .message.attempt_log == []'
expect_exit 65 ctl show 999999
expect_out "no message 999999"
expect_exit 64 ctl show 12abc
expect_exit 64 ctl show
ok "show MSGID, text and JSON"

# show --tx: a transaction waiting for its first numbers, and one done.
expect_exit 0 ctl show --tx acme T1
expect_out "next          1"
expect_out "status        waiting for sequence 1 since "
expect_out ", 2 messages parked behind it"
grep -q "^ *1-2  -- gap: not received$" "$T/out" || fail "show --tx: gap 1-2"
grep -q "^ *4  -- gap: not received$" "$T/out" || fail "show --tx: gap 4"
grep -q "^ *3  #$T1_3 *parked" "$T/out" || fail "show --tx: seq 3"
grep -q "^ *5  #$T1_5 *parked" "$T/out" || fail "show --tx: seq 5"
grep -q "^ *#[0-9]* *done .*duplicate" "$T/out" ||
    fail "show --tx: the duplicate of 3"
json 0 show --tx acme T1
jqt '.partner == "acme" and .transaction_id == "T1" and .known == true and
    .next_seq == 1 and .parked == 2 and .status == "waiting"'
jqt '.waiting_for | test("^waiting for sequence 1 since [0-9-]+ [0-9:]+, 2 messages parked behind it$")'
jqt '.gaps == [{"first": 1, "last": 2}, {"first": 4, "last": 4}]'
jqt '.purged == [] and .skips == [] and (.gap_since | endswith("Z"))'
jqt '[.sequences[] | .seq] == [3, 5]'
jqt '.sequences[0] | .status == "parked" and .skip == null and
    (.messages | length) == 2'
jqt ".sequences[0].messages[0].id == $T1_3"
jqt '.sequences[0].messages[1].duplicate_of != null'
expect_exit 0 ctl show --tx acme L1
expect_out "status        nothing waiting: sequences 1 to 2 are processed"
expect_out "attempt 1 "
json 0 show --tx acme L1
jqt '.next_seq == 3 and .status == "idle" and .gaps == [] and
    [.sequences[].status] == ["done", "done"]'
jqt '.sequences[0].messages[0].attempt_log[0].outcome == "ok"'
expect_exit 65 ctl show --tx acme NOPE
expect_out "no transaction NOPE of partner acme"
expect_exit 64 ctl show --tx acme
ok "show --tx, text and JSON"

# check agrees while spoold runs.
expect_exit 0 ctl check
expect_out "check: store and directories agree (10 files, 10 rows)"
json 0 check
jqt '.agree == true and .findings == [] and .files == 10 and .rows == 10'

expect_exit 65 ctl batch 1
expect_out "no batch 1"
expect_exit 64 ctl batch
ok "batch of an unknown ID (65; bundle.sh tests the rest)"

stop_daemon

# Without spoold: a deferred message and a queued one (as a retry leaves
# it), and a file waiting in incoming/.
NEXT=$(( $(date +%s) * 1000 + 3600 * 1000 ))
sql "UPDATE messages SET state = 'deferred', next_attempt_at = $NEXT \
    WHERE id = $P7"
mv "$T/spool/failed/acme,-,0,ProductInfo,$P7.xml" "$T/spool/deferred/"
sql "UPDATE messages SET state = 'queue' WHERE id = $P8"
mv "$T/spool/failed/acme,-,0,ProductInfo,$P8.xml" "$T/spool/queue/"
rm -f "$T"/spool/failed/*.reason
msg acme - 9 | put acme waiting.xml
expect_exit 3 ctl status
expect_out "spoold    not running"
expect_out "incoming  1"
expect_out "queue     1"
expect_out "deferred  1"
expect_out "next try  oldest deferred #$P7 (acme, 1 attempt): "
expect_out "(in 59m"
json 3 status
jqt '.daemon.running == false and .counts.queue == 1 and
    .counts.deferred == 1 and .counts.incoming == 1'
jqt ".oldest_deferred | .id == $P7 and .attempts == 1 and
    .partner == \"acme\" and .transaction_id == null and
    (.next_attempt_at | endswith(\"Z\"))"
expect_exit 0 ctl list --state queue
grep -q "^$P8 .* queue " "$T/out" || fail "list --state queue"
ok "status and list without spoold: deferred, queued, incoming"

# check: clean, then a file moved by hand, one deleted, a stray one.
expect_exit 0 ctl check
expect_out "agree"
state_files() {
	find "$T/spool/queue" "$T/spool/parked" "$T/spool/deferred" \
	    "$T/spool/failed" "$T/spool/rejected" "$T/spool/done" -type f |
	    wc -l
}
files_before=$(state_files)
mv "$T/spool/parked/acme,T1,3,ProductInfo,$T1_3.xml" "$T/spool/done/"
rm "$T/spool/parked/acme,T1,5,ProductInfo,$T1_5.xml"
echo stray >"$T/spool/queue/stray.xml"
expect_exit 65 ctl check
expect_out "file in the wrong state directory: done/acme,T1,3,ProductInfo,$T1_3.xml (store says parked)"
expect_out "row without file: message $T1_5 (parked): parked/acme,T1,5,ProductInfo,$T1_5.xml is missing"
expect_out "file without row: queue/stray.xml (left where it is)"
expect_out "check: 3 disagreements, 0 repaired, 3 remain"
[ -e "$T/spool/done/acme,T1,3,ProductInfo,$T1_3.xml" ] ||
    fail "check without --repair moved a file"
json 65 check
jqt '.agree == false and .repair == false and .disagreements == 3 and
    .remaining == 3 and .repaired == 0'
jqt "[.findings[] | select(.kind == \"wrong_directory\" and .id == $T1_3
    and .directory == \"done\" and .expected_state == \"parked\" and
    .repaired == false)] | length == 1"
jqt "[.findings[] | select(.kind == \"row_without_file\" and .id == $T1_5
    and .directory == null and .expected_state == \"parked\")] | length == 1"
jqt '[.findings[] | select(.kind == "file_without_row" and .id == null
    and .file_name == "stray.xml" and .directory == "queue")] | length == 1'
expect_exit 65 ctl check --repair
expect_out "file in the wrong state directory: done/acme,T1,3,ProductInfo,$T1_3.xml (store says parked): moved to parked/"
expect_out "check: 3 disagreements, 1 repaired, 2 remain"
[ -e "$T/spool/parked/acme,T1,3,ProductInfo,$T1_3.xml" ] ||
    fail "check --repair did not move the file back"
[ ! -e "$T/spool/done/acme,T1,3,ProductInfo,$T1_3.xml" ] ||
    fail "check --repair left a copy"
[ -e "$T/spool/queue/stray.xml" ] || fail "check --repair removed a stray"
[ "$(state_files)" -eq "$files_before" ] ||
    fail "check --repair changed the number of files"
json 65 check --repair
jqt '.repair == true and .disagreements == 2 and .remaining == 2 and
    .repaired == 0'
ok "check reports moved, deleted and stray files; --repair moves back, deletes nothing"
rm "$T/spool/queue/stray.xml"

# purge: done rows 10 days old; a dry run removes nothing.
OLD=$(( ($(date +%s) - 10 * 86400) * 1000 ))
sql "UPDATE messages SET updated_at = $OLD WHERE state = 'done'"
done_files=$(count done)
expect_exit 0 ctl purge --done-older-than 7d --dry-run
expect_out "purge: would remove 5 messages done before "
expect_out "(dry run: nothing removed)"
[ "$(grep -c '^would_remove' "$T/out")" -eq 5 ] || fail "dry run lines"
json 0 purge --done-older-than 7d --dry-run
jqt '.dry_run == true and .matched == 5 and .removed == 0 and .kept == 0
    and .older_than_seconds == 604800 and (.messages | length) == 5'
jqt '[.messages[].action] | all(. == "would_remove")'
jqt '.messages[0] | has("id") and has("file_name") and has("partner") and
    has("transaction_id") and has("sender_seq") and has("type") and
    has("done_at") and has("why")'
[ "$(count done)" -eq "$done_files" ] || fail "dry run removed files"
[ "$(sql "SELECT count(*) FROM messages WHERE state = 'done'")" -eq 5 ] ||
    fail "dry run removed rows"
expect_exit 0 ctl purge --done-older-than 30d
expect_out "purge: removed 0 messages done before "
ok "purge --dry-run lists and removes nothing"

# The real purge: the duplicates go (file and row, attempts too); a
# message another record still needs (the ledger's) loses its file and
# attempts, its row stays, slimmed and marked purged (issue 16).
json 0 purge --done-older-than 7d
jqt '.dry_run == false and .matched == 5 and .removed + .kept == 5 and
    .removed >= 3'
jqt '[.messages[] | select(.action == "removed")] | length >= 3'
for id in $(jq -r '.messages[] | select(.action == "removed") | .id' \
    "$T/json"); do
	[ "$(sql "SELECT count(*) FROM messages WHERE id = $id AND
	    (purged_at IS NULL OR NOT EXISTS (SELECT 1 FROM ledger_moves
	    WHERE message = $id))")" -eq 0 ] ||
	    fail "purged row $id still there (and not named by the ledger)"
	[ "$(sql "SELECT count(*) FROM attempts WHERE message = $id")" -eq 0 ] ||
	    fail "attempts of purged $id still there"
	! ls "$T/spool/done" | grep -q ",$id\.xml$" ||
	    fail "file of purged $id still there"
done
for id in $(jq -r '.messages[] | select(.action == "kept") | .id' \
    "$T/json"); do
	ls "$T/spool/done" | grep -q ",$id\.xml$" ||
	    fail "file of kept $id is gone"
done
[ "$(sql "SELECT count(*) FROM messages WHERE duplicate_of IS NOT NULL")" \
    -eq 0 ] || fail "duplicates not purged"
# Store and directories still agree about done/ (only the row whose file
# was deleted by hand above disagrees).
expect_exit 65 ctl check
expect_out "check: 1 disagreement, 0 repaired, 1 remains"
expect_out "row without file: message $T1_5"
expect_exit 64 ctl purge --done-older-than soon
expect_exit 64 ctl purge
ok "purge removes old done files and their rows, keeps what is referenced"

# Partner data never reaches the terminal as control characters; JSON
# escapes them.
sql "UPDATE messages SET orig_name = 'x' || char(27) || '[2J' || char(155) \
    || 'y.xml' WHERE id = $JUNK"
expect_exit 0 ctl show "$JUNK"
expect_out "uploaded as   x?[2J?y.xml"
! grep -q "$(printf '\033')" "$T/out" || fail "ESC on the terminal"
json 0 show "$JUNK"
! grep -q "$(printf '\033')" "$T/json" || fail "ESC unescaped in JSON"
jqt '.message.orig_name == "x\u001b[2J\u009by.xml"'
ok "control characters are shown as ? in text, escaped in JSON"

# While spoold processes a steady stream, spoolctl reads without errors
# or long stalls, and check (which looks twice at what seems wrong) finds
# the store and the directories in agreement.
msg acme T1 5 >"$T/spool/parked/acme,T1,5,ProductInfo,$T1_5.xml"
expect_exit 0 ctl check
start_daemon
ledger_workload "$T/work"
done_now=$(sql "SELECT count(*) FROM messages WHERE state = 'done'")
want_done=$((done_now + WL_TOTAL + WL_DUPS))
# A steady stream: a file every 20 ms or so, for a few seconds.
(ls "$T/work" | shuf | while read -r f; do
	drop_file "$f"
	sleep 0.02
done) &
feeder=$!
rounds=0
while :; do
	for c in status "--json status" list "list --state parked" \
	    "show $T1_3" check "--json check"; do
		t0=$(date +%s%N)
		expect_exit 0 ctl $c
		t1=$(date +%s%N)
		[ -n "$VALGRIND" ] || [ $(( (t1 - t0) / 1000000 )) -lt 3000 ] ||
		    fail "spoolctl $c took $(( (t1 - t0) / 1000000 )) ms"
	done
	rounds=$((rounds + 1))
	[ "$(sql "SELECT count(*) FROM messages WHERE state = 'done'")" \
	    -lt "$want_done" ] || break
	[ "$rounds" -lt 300 ] || fail "the stream was not processed"
done
wait "$feeder"
# (Under valgrind one round outlasts the stream.)
[ -n "$VALGRIND" ] || [ "$rounds" -ge 2 ] ||
    fail "spoolctl did not run while the stream flowed"
check_ledger
expect_exit 0 ctl check
stop_daemon
ok "spoolctl while spoold processes a stream ($rounds rounds, no errors)"

# Errors: one line on stderr, nothing on stdout, sysexits codes.
set +e
ctl --json show 999999 >"$T/json" 2>"$T/err"
rc=$?
set -e
[ "$rc" -eq 65 ] && [ ! -s "$T/json" ] && [ "$(wc -l <"$T/err")" -eq 1 ] ||
    fail "an error with --json: exit $rc, stdout or stderr wrong"
expect_exit 66 $SPOOLCTL -d "$T/nowhere" list
ok "errors: one line on stderr, no JSON, sysexits codes"

# The levers, while spoold runs again.
start_daemon
# inv PARTNER TX SEQ QTY ITEM: an InventoryMovement of ITEM.
inv() {
	mv_msg "$1" "$2" "$3" "$4" | sed "s|<Item>[^<]*</Item>|<Item>$5</Item>|"
}
state_of() {
	sql "SELECT state FROM messages WHERE transaction_id = '$1' AND \
	    sender_seq = $2 AND duplicate_of IS NULL"
}

# retry, while spoold runs: a movement fails (stock would go negative),
# its successor waits; stock arrives in another transaction; the admin
# retries the failed one, and both go through, in order.
inv acme R1 1 -5 ITEM-R | put acme r1-1.xml
inv acme R1 2 1 ITEM-R | put acme r1-2.xml
wait_until 20 '[ "$(state_of R1 1)" = failed ] && [ "$(state_of R1 2)" = parked ]' ||
    fail "R1 1 did not fail"
R1_1=$(sql "SELECT id FROM messages WHERE transaction_id = 'R1' AND \
    sender_seq = 1")
inv acme S1 1 10 ITEM-R | put acme s1-1.xml
wait_until 20 '[ "$(state_of S1 1)" = done ]' || fail "S1 not done"
expect_exit 0 ctl retry "$R1_1"
expect_out "retry: 1 message back in queue/"
wait_until 20 '[ "$(state_of R1 2)" = done ]' || fail "retried R1 not done"
[ "$(state_of R1 1)" = done ] || fail "R1 1 not done after retry"
[ "$(sql "SELECT quantity FROM v_stock WHERE item = 'ITEM-R'")" = 6 ] ||
    fail "ITEM-R stock after retry"
[ "$(sql "SELECT count(*) FROM v_attempts WHERE message = $R1_1")" = 2 ] ||
    fail "both attempts of R1 1 kept"
[ ! -e "$(ls "$T"/spool/failed/*,R1,1,*.reason 2>/dev/null | head -n 1)" ] ||
    fail "stale .reason left in failed/"
expect_exit 65 ctl retry "$R1_1"
expect_out "nothing to retry"
expect_exit 64 ctl retry --all-failed 5
expect_exit 64 ctl retry
ok "retry of a failed message that then succeeds, while spoold runs"

# skip, while spoold runs: 1 never comes; 2 and 3 wait behind the gap;
# the admin skips 1 and the parked run goes through in order.
inv acme K1 2 4 ITEM-K | put acme k1-2.xml
inv acme K1 3 -1 ITEM-K | put acme k1-3.xml
wait_until 20 '[ "$(state_of K1 3)" = parked ] && [ "$(state_of K1 2)" = parked ]' ||
    fail "K1 not parked"
expect_exit 64 ctl skip acme K1 1
expect_exit 65 ctl skip acme K1 2 --reason "not the one it waits for"
expect_out "waits for sequence 1"
expect_exit 0 ctl skip acme K1 1 --reason "lost by the partner"
expect_out "skip: sequence 1 of acme K1 declared done by "
wait_until 20 '[ "$(state_of K1 3)" = done ]' || fail "K1 run not released"
[ "$(sql "SELECT quantity FROM v_stock WHERE item = 'ITEM-K'")" = 3 ] ||
    fail "ITEM-K stock after skip"
json 0 show --tx acme K1
jqt '.skips | length == 1 and .[0].seq == 1 and
    .[0].reason == "lost by the partner" and (.[0].user | length > 0)'
inv acme K1 1 4 ITEM-K | put acme k1-1-late.xml
wait_until 20 'ls "$T/spool/rejected" | grep -q "k1-1-late.*reason"' ||
    fail "late skipped number not rejected"
grep -q "arrived after it was skipped" "$T"/spool/rejected/*k1-1-late*.reason ||
    fail "late skipped number: reason"
ok "skip of a gap releases the parked run behind it, in order"

stop_daemon

# retry --all-failed, without spoold: every dead letter back to queue/.
nf=$(sql "SELECT count(*) FROM messages WHERE state = 'failed'")
[ "$nf" -ge 1 ] || fail "no failed message left to retry"
json 0 retry --all-failed
jqt ".retried == $nf"
[ "$(sql "SELECT count(*) FROM messages WHERE state = 'failed'")" = 0 ] ||
    fail "failed rows after retry --all-failed"
[ "$(count failed)" -eq 0 ] || fail "files left in failed/"
expect_exit 0 ctl check
ok "retry --all-failed moves every dead letter back to queue/"
