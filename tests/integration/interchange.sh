#!/bin/sh
# interchange.sh - ordering by interchange control number and by business
# transaction (DESIGN 16), with the real daemon. For X12 and for EDIFACT:
# three interchanges of one partner (first_control = 1) dropped 3, 1, 2
# are processed 1, 2, 3; interchange 2 dropped again is a duplicate,
# counted and not processed; interchange 2 with one segment changed is
# rejected; a gap (4 missing, 5 parked) is closed by spoolctl skip --control
# (the pair by its sender and recipient ids; for EDIFACT with --json),
# which records who and why. Each interchange gets an acknowledgment (ack
# = 997; UNB 0031 asks for a CONTRL), checked by X12::Parser for X12: the
# redelivered 2 a new one, under a new control number of ours, repeating
# 2's verdicts; the changed 2 one rejecting it (AK5 R 23, UCM 4 26); the
# same after the files were purged; no number of ours used twice;
# first_control = auto; a control number that is no number is rejected. Then order = after: a
# ubl.Invoice waits, parked with a reason naming the ubl.Order it waits
# for, until that Order of the same transaction is done; a partner's
# after.ubl.Invoice replaces the dialect's rule. The interchanges are made here with printf,
# their envelope counts correct.
. "$(dirname "$0")/lib.sh"

cat >"$T/h.sh" <<EOF
#!/bin/sh
# A message of order PO-FAIL fails, permanently.
grep -q PO-FAIL && exit 1
printf '%s|%s\n' "\$SPOOLD_TYPE" "\$SPOOLD_MESSAGE_ID" >>'$T/calls.log'
EOF
chmod +x "$T/h.sh"
: >"$T/calls.log"

write_conf
cat >"$T/spoold.conf" <<EOF
[spool]
directory = $T/spool
schemas = $top_srcdir/schemas
dialects = $top_srcdir/dialects
our_ids = ZZ:SPOOLD GLN:4000000000001
[log]
level = debug
[route *]
handler = exec
command = $T/h.sh
[partner acme]
ids = ZZ:ACMEX12 ZZ:ACMEEDI
order = interchange
first_control = 1
ack = 997
[partner auto]
ids = ZZ:AUTOX12
order = interchange
[partner shop]
ids = GLN:4000000000002 GLN:4000000000003
order = after
[partner shop2]
ids = GLN:4000000000004 GLN:4000000000005
order = after
after.ubl.Invoice = ubl.OrderResponse
[processing]
settle_time = 0s
gap_alert_after = 1s
EOF
$SPOOLD -c "$T/spoold.conf" --check-config >"$T/out" 2>&1 ||
    { cat "$T/out" >&2; fail "the config is refused"; }
$SPOOLD -c "$T/spoold.conf" --init >/dev/null
DB=$T/spool/spool.db
start_daemon

# x12 N [PO]: interchange N (ISA13), one 850 whose BEG03 is PO.
x12() {
	printf 'ISA*00*          *00*          *ZZ*%-15s*ZZ*%-15s*261130*1200*U*00401*%09d*0*P*>~\n' \
	    ACMEX12 SPOOLD "$1"
	printf 'GS*PO*ACMEX12*SPOOLD*20261130*1200*%d*X*004010~\n' "$1"
	printf 'ST*850*0001~\nBEG*00*SA*%s**20261130~\nSE*3*0001~\n' \
	    "${2:-PO-$1}"
	printf 'GE*1*%d~\nIEA*1*%09d~\n' "$1" "$1"
}
# edifact N [PO]: interchange N (UNB 0020), one ORDERS whose BGM is PO;
# UNB 0031 = 1 asks for a CONTRL (acme's ack = 997 is X12's).
edifact() {
	printf "UNA:+.? '\nUNB+UNOC:3+ACMEEDI:ZZ+SPOOLD:ZZ+261130:1200+%d" \
	    "$1"
	printf "++++1'\n"
	printf "UNH+1+ORDERS:D:96A:UN'\nBGM+220+%s+9'\nUNT+3+1'\n" \
	    "${2:-PO-$1}"
	printf "UNZ+1+%d'\n" "$1"
}
# put NAME: $T/work/NAME into incoming/acme/ through a dot-file.
put() {
	mkdir -p "$T/spool/incoming/$2"
	cp "$T/work/$1" "$T/spool/incoming/$2/.$1"
	mv "$T/spool/incoming/$2/.$1" "$T/spool/incoming/$2/$1"
}
taken() { [ -z "$(ls -A "$T/spool/incoming/$1")" ]; }
n_state() {
	sql "SELECT count(*) FROM messages WHERE partner = '$1' AND
	    state = '$2' AND duplicate_of IS NULL"
}
mkdir -p "$T/work"
# acks SYN N: the acknowledgments in outgoing/acme/ answering interchange
# N (X12: AK1 names its GS06, which x12 N makes N; EDIFACT: UCI 0020),
# oldest first by outbound ID.
acks() {
	for f in $(ls "$T/spool/outgoing/acme" 2>/dev/null | sort -t, -k5n); do
		f=$T/spool/outgoing/acme/$f
		if [ "$1" = x12 ]; then
			seg "$f" AK1 | grep -qx "AK1\*PO\*$2" && echo "$f"
		else
			tr -d '\n' <"$f" | tr "'" '\n' |
			    grep -q "^UCI+$2+ACMEEDI:ZZ+SPOOLD:ZZ+" && echo "$f"
		fi
	done
	true
}
# verdicts SYN FILE: what an acknowledgment says (AK5s, AK9; UCI, UCMs).
verdicts() {
	if [ "$1" = x12 ]; then
		seg "$2" AK5
		seg "$2" AK9
	else
		tr -d '\n' <"$2" | tr "'" '\n' | grep -E '^(UCI|UCM)\+' || true
	fi
}
# ours SYN FILE: the acknowledgment's interchange control number (ours).
ours() {
	if [ "$1" = x12 ]; then
		seg "$2" ISA | cut -d'*' -f14
	else
		tr -d '\n' <"$2" | tr "'" '\n' | grep '^UNB+' | cut -d+ -f6
	fi
}
# x12check ORIG ACK: X12::Parser (x12ack-check.pl) agrees with the 997.
x12check() {
	set +e
	perl "$top_srcdir/tests/unit/x12ack-check.pl" 997 "$1" "$2" \
	    >"$T/perl.out" 2>&1
	rc=$?
	set -e
	[ "$rc" -eq 0 ] || [ "$rc" -eq 77 ] ||
	    { cat "$T/perl.out" "$2" >&2; fail "X12::Parser: $2"; }
}
n_acks() { acks "$1" "$2" | wc -l; }

# run SYNTAX PAIR: the whole story for one syntax.
run() {
	syn=$1 pair=$2
	for n in 1 2 3 5; do
		$syn "$n" >"$T/work/$syn-$n.edi"
	done
	$syn 2 >"$T/work/$syn-2-again.edi"
	$syn 2 PO-CHANGED >"$T/work/$syn-2-changed.edi"
	: >"$T/calls.log"

	put "$syn-3.edi" acme
	wait_until 20 "taken acme && [ \$(n_state acme parked) = 1 ]" ||
	    fail "$syn: interchange 3 is not parked"
	sql "SELECT reason FROM messages WHERE state = 'parked'" |
	    grep -q "waits for interchange control number 1" ||
	    fail "$syn: the parked reason does not name number 1"
	# gap_alert_after = 1s: the gap is reported in the pair's words.
	want="tx=\"$pair\".*interchange control number 1 has not arrived"
	wait_until 20 "grep -q '$want' '$T/log'" ||
	    fail "$syn: no gap alert for control number 1"
	put "$syn-1.edi" acme
	wait_until 20 "[ \$(wc -l <'$T/calls.log') -ge 1 ]" ||
	    fail "$syn: interchange 1 not processed"
	[ "$(n_state acme parked)" = 1 ] || fail "$syn: 3 released before 2"
	put "$syn-2.edi" acme
	wait_until 20 "[ \$(wc -l <'$T/calls.log') -ge 3 ]" ||
	    { cat "$T/calls.log" >&2; fail "$syn: 2 and 3 not processed"; }
	for id in $(sed 's/.*|//' "$T/calls.log"); do
		sql "SELECT ic_control FROM messages WHERE id = $id"
	done >"$T/order"
	printf '1\n2\n3\n' | cmp -s - "$T/order" ||
	    { cat "$T/calls.log" >&2; fail "$syn: not processed 1, 2, 3"; }
	# The done rows say the same (3's just after its program ends).
	wait_until 20 "[ \$(sql \"SELECT count(*) FROM messages WHERE
	    ic_pair = '$pair' AND state = 'done'\") = 3 ]" ||
	    fail "$syn: 3 is not done"
	sql "SELECT ic_control FROM messages WHERE ic_pair = '$pair' AND
	    state = 'done' AND duplicate_of IS NULL ORDER BY updated_at, id" |
	    tr '\n' ' ' | grep -q '^1 2 3 $' ||
	    fail "$syn: done rows not in order 1, 2, 3"
	# Each of 1, 2, 3 has one acknowledgment accepting it (3's made
	# while it was parked).
	for n in 1 2 3; do
		wait_until 20 "[ \$(n_acks $syn $n) = 1 ]" ||
		    fail "$syn: not one acknowledgment of interchange $n"
	done
	a2=$(acks $syn 2)
	verdicts $syn "$a2" >"$T/v2"
	if [ "$syn" = x12 ]; then
		printf 'AK5*A\nAK9*A*1*1*1\n' >"$T/want"
	else
		printf '%s\n' "UCI+2+ACMEEDI:ZZ+SPOOLD:ZZ+7" \
		    "UCM+1+ORDERS:D:96A:UN+7" >"$T/want"
	fi
	cmp -s "$T/want" "$T/v2" ||
	    { cat "$a2" >&2; fail "$syn: 2's acknowledgment does not accept"; }
	[ "$syn" = edifact ] || x12check "$T/work/x12-2.edi" "$a2"

	# The same interchange again: a duplicate, never processed.
	put "$syn-2-again.edi" acme
	wait_until 20 "taken acme && [ \$(sql \"SELECT count(*) FROM messages
	    WHERE ic_pair = '$pair' AND ic_control = 2 AND duplicate_of IS NOT
	    NULL\") = 1 ]" || fail "$syn: interchange 2 again not a duplicate"
	# ... and a new acknowledgment, a new number of ours, 2's verdicts.
	wait_until 20 "[ \$(n_acks $syn 2) = 2 ]" ||
	    fail "$syn: no new acknowledgment for the redelivered 2"
	d2=$(acks $syn 2 | tail -n 1)
	verdicts $syn "$d2" | cmp -s - "$T/v2" ||
	    { cat "$d2" >&2; fail "$syn: the redelivery's verdicts differ"; }
	[ -n "$(ours $syn "$d2")" ] &&
	    [ "$(ours $syn "$d2")" != "$(ours $syn "$a2")" ] ||
	    fail "$syn: the redelivery's acknowledgment reuses our number"
	[ "$syn" = edifact ] || x12check "$T/work/x12-2-again.edi" "$d2"
	# Changed: rejected, with the reason.
	put "$syn-2-changed.edi" acme
	wait_until 20 "taken acme && [ \$(sql \"SELECT count(*) FROM messages
	    WHERE ic_pair = '$pair' AND ic_control = 2 AND state =
	    'rejected'\") = 1 ]" || fail "$syn: a changed interchange 2 passed"
	sql "SELECT reason FROM messages WHERE ic_pair = '$pair' AND
	    state = 'rejected'" | grep -q "reused with different content" ||
	    fail "$syn: the rejection does not say why"
	# Its acknowledgment rejects the message: reused (23, 26).
	wait_until 20 "[ \$(n_acks $syn 2) = 3 ]" ||
	    fail "$syn: no acknowledgment for the changed 2"
	c2=$(acks $syn 2 | tail -n 1)
	verdicts $syn "$c2" >"$T/vc"
	if [ "$syn" = x12 ]; then
		printf 'AK5*R*23\nAK9*R*1*1*0\n' >"$T/want"
	else
		printf '%s\n' "UCI+2+ACMEEDI:ZZ+SPOOLD:ZZ+7" \
		    "UCM+1+ORDERS:D:96A:UN+4+26" >"$T/want"
	fi
	cmp -s "$T/want" "$T/vc" ||
	    { cat "$c2" >&2; fail "$syn: the changed 2 is not rejected"; }
	[ "$syn" = edifact ] || x12check "$T/work/x12-2-changed.edi" "$c2"
	[ "$(wc -l <"$T/calls.log")" = 3 ] ||
	    { cat "$T/calls.log" >&2; fail "$syn: a copy was processed"; }

	# A gap: 5 waits for 4; skip 4, and 5 goes.
	put "$syn-5.edi" acme
	wait_until 20 "taken acme && [ \$(n_state acme parked) = 1 ]" ||
	    fail "$syn: interchange 5 is not parked"
	# spoolctl list --control: next 4, 5 parked, the gap 4.
	ctl list --control --partner acme >"$T/out" 2>&1 ||
	    { cat "$T/out" >&2; fail "$syn: list --control failed"; }
	grep "$pair" "$T/out" | grep -Eq ' 4  5 +4( \(alerted\))?$' ||
	    { cat "$T/out" >&2; fail "$syn: list --control is wrong"; }
	ctl --json list --control >"$T/json"
	[ "$(jq -c --arg p "$pair" '.pairs[] | select(.pair == $p) |
	    [.partner, .next, .parked, .gaps]' "$T/json")" = \
	    '["acme",4,[5],[{"from":4,"to":4}]]' ] ||
	    { cat "$T/json" >&2; fail "$syn: list --control --json is wrong"; }
	# spoolctl show --interchange: 2's three fates.
	ctl show --interchange acme 2 >"$T/out" 2>&1 ||
	    { cat "$T/out" >&2; fail "$syn: show --interchange failed"; }
	grep "^[0-9].*$pair" "$T/out" | awk '{ print $5 }' | tr '\n' ' ' |
	    grep -q '^done duplicate rejected $' ||
	    { cat "$T/out" >&2; fail "$syn: show --interchange is wrong"; }
	ctl --json show --interchange acme 2 >"$T/json"
	[ "$(jq -c --arg p "$pair" '[.messages[] | select(.pair == $p) |
	    .state, (.duplicate_of != null)]' "$T/json")" = \
	    '["done",false,"done",true,"rejected",false]' ] ||
	    { cat "$T/json" >&2; fail "$syn: show --interchange --json"; }
	# spoolctl skip --control: the pair by its ids as list --control
	# prints them (the old form, the pair's key as ID, is below).
	ids=${pair#interchange }
	snd=${ids% *} rcp=${ids#* }
	if ctl skip --control acme "${snd#*:}" "$rcp" 4 --reason x \
	    >"$T/out" 2>&1; then
		fail "$syn: skip --control took an id without its qualifier"
	fi
	grep -q "QUAL:ID" "$T/out" ||
	    { cat "$T/out" >&2; fail "$syn: skip --control: no reason"; }
	if [ "$syn" = x12 ]; then
		ctl skip --control acme "$snd" "$rcp" 4 --reason "never sent" \
		    >"$T/out" 2>&1 || { cat "$T/out" >&2;
		    fail "$syn: spoolctl skip --control refused"; }
		grep -qx "skip: sequence 4 of acme $pair declared done by .*" \
		    "$T/out" ||
		    { cat "$T/out" >&2; fail "$syn: skip --control said"; }
	else
		ctl --json skip --control acme "$snd" "$rcp" 4 \
		    --reason "never sent" >"$T/json" 2>"$T/out" ||
		    { cat "$T/out" >&2; fail "$syn: skip --control --json"; }
		[ "$(jq -c '[.partner, .transaction_id, .seq, .to, .reason,
		    (.user | length > 0)]' "$T/json")" = \
		    "[\"acme\",\"$pair\",4,4,\"never sent\",true]" ] ||
		    { cat "$T/json" >&2; fail "$syn: skip --control --json"; }
	fi
	wait_until 20 "[ \$(wc -l <'$T/calls.log') -ge 4 ]" ||
	    fail "$syn: 5 not processed after the skip"
	[ "$(sql "SELECT user != '' AND user = '$(id -un)', reason FROM skips
	    WHERE transaction_id = '$pair' AND seq = 4")" = "1|never sent" ] ||
	    fail "$syn: the skip's who and why"
	# 5's row is done just after the program ends.
	wait_until 20 "[ \"\$(sql \"SELECT next_seq FROM transactions WHERE
	    transaction_id = '$pair'\")\" = 6 ]" || fail "$syn: next is not 6"
}

run x12 "interchange ZZ:ACMEX12 ZZ:SPOOLD"
ok "x12: 3, 1, 2 processed 1, 2, 3; duplicate; changed rejected; skip --control"

# A failed interchange blocks the next; its number cannot be skipped
# while its message is there; deleting the message settles the number
# (a skip with the same who and why) and the next one goes.
pair="interchange ZZ:ACMEX12 ZZ:SPOOLD"
x12 6 PO-FAIL >"$T/work/x12-6.edi"
x12 7 >"$T/work/x12-7.edi"
put x12-6.edi acme
wait_until 20 "[ \$(n_state acme failed) = 1 ]" || fail "6 did not fail"
put x12-7.edi acme
wait_until 20 "taken acme && [ \$(n_state acme parked) = 1 ]" ||
    fail "7 is not parked behind the failed 6"
if ctl skip acme "$pair" 6 --reason x >"$T/out" 2>&1; then
	fail "a control number with a failed message was skipped"
fi
grep -q "not done" "$T/out" || { cat "$T/out" >&2; fail "skip: no reason"; }
ctl delete "$(sql "SELECT id FROM messages WHERE state = 'failed'")" \
    --reason "cancelled by phone" >"$T/out" 2>&1 ||
    { cat "$T/out" >&2; fail "delete refused"; }
wait_until 20 "[ \$(wc -l <'$T/calls.log') -ge 5 ]" ||
    { cat "$T/calls.log" >&2; fail "7 not processed after 6 was deleted"; }
[ "$(sql "SELECT user != '' AND reason LIKE '%cancelled by phone%' FROM
    skips WHERE transaction_id = '$pair' AND seq = 6")" = 1 ] ||
    fail "the deletion did not skip 6 with who and why"
ok "x12: a failed interchange blocks; deleting it lets the next go"

# A parked interchange held and released goes back to parked/, not to
# queue/: 9 still waits for 8.
x12 8 >"$T/work/x12-8.edi"
x12 9 >"$T/work/x12-9.edi"
put x12-9.edi acme
wait_until 20 "taken acme && [ \$(n_state acme parked) = 1 ]" ||
    fail "9 is not parked"
id9=$(sql "SELECT id FROM messages WHERE state = 'parked'")
ctl hold "$id9" --reason "look first" >"$T/out" 2>&1 ||
    { cat "$T/out" >&2; fail "hold refused"; }
ctl release "$id9" >"$T/out" 2>&1 ||
    { cat "$T/out" >&2; fail "release refused"; }
[ "$(sql "SELECT state FROM messages WHERE id = $id9")" = parked ] ||
    fail "a released 9 did not go back to parked/ behind 8"
put x12-8.edi acme
wait_until 20 "[ \$(wc -l <'$T/calls.log') -ge 7 ]" ||
    { cat "$T/calls.log" >&2; fail "8 and 9 not processed"; }
[ "$(tail -n 2 "$T/calls.log" | sed 's/.*|//' | tr '\n' ' ')" = \
    "$(sql "SELECT id FROM messages WHERE ic_control = 8 AND state = 'done'
    AND ic_pair = '$pair'") $id9 " ] || fail "not 8, then 9"
ok "x12: a held parked interchange released waits again"

# One file holding interchange 10 twice: the second is a copy.
{ x12 10; x12 10; } >"$T/work/x12-10-twice.edi"
put x12-10-twice.edi acme
wait_until 20 "[ \$(wc -l <'$T/calls.log') -ge 8 ]" ||
    { tail -n 5 "$T/log" >&2; fail "10 not processed"; }
wait_until 20 "[ \$(sql \"SELECT count(*) FROM messages WHERE ic_control = 10
    AND duplicate_of IS NOT NULL\") = 1 ]" ||
    fail "the second interchange 10 of one file is not a duplicate"
ok "x12: an interchange twice in one file is processed once"
run edifact "interchange ZZ:ACMEEDI ZZ:SPOOLD"
ok "edifact: the same"

# first_control = auto (the default): the first interchange a pair sends
# (7) sets the next expected number; 9 then waits for 8.
: >"$T/calls.log"
for n in 7 9 8; do
	x12 "$n" | sed 's/ACMEX12/AUTOX12/g' >"$T/work/auto-$n.edi"
done
put auto-7.edi auto
wait_until 20 "[ \$(n_state auto done) = 1 ]" ||
    fail "auto: the first interchange (7) is not processed"
put auto-9.edi auto
wait_until 20 "taken auto && [ \$(n_state auto parked) = 1 ]" ||
    fail "auto: 9 is not parked behind 8"
put auto-8.edi auto
wait_until 20 "[ \$(n_state auto done) = 3 ]" || fail "auto: 8, 9 not done"
[ "$(sql "SELECT next_seq FROM transactions WHERE partner = 'auto'")" = \
    10 ] || fail "auto: the pair does not expect 10"
ok "first_control = auto: the first interchange of a pair sets it"

# order = interchange and an EDIFACT 0020 that is not a number: rejected,
# with the reason.
edifact 9 | sed "s/+9++++1'\$/+ABC9++++1'/; s/^UNZ+1+9'/UNZ+1+ABC9'/" \
    >"$T/work/edifact-abc.edi"
grep -q "^UNZ+1+ABC9'" "$T/work/edifact-abc.edi" || fail "no ABC9 made"
put edifact-abc.edi acme
wait_until 20 "taken acme && [ \$(sql \"SELECT count(*) FROM messages WHERE
    partner = 'acme' AND state = 'rejected' AND reason LIKE
    '%yields no interchange control number that is a number%'\") = 1 ]" ||
    fail "an interchange control number ABC9 was not rejected"
ok "edifact: an interchange control number that is no number is rejected"

# After a purge (DESIGN 18, the files gone), 3 again, within
# dedup_window, is still a duplicate, never processed, and gets one more
# acknowledgment, under a new number of ours, repeating the verdicts; a
# changed 3 is rejected.
for syn in x12 edifact; do
	[ "$syn" = x12 ] && pair="interchange ZZ:ACMEX12 ZZ:SPOOLD" ||
	    pair="interchange ZZ:ACMEEDI ZZ:SPOOLD"
	expect_exit 0 ctl purge --done-older-than 0s
	# Its row is slimmed and marked purged (its acknowledgment's
	# outbound row names it), or gone, leaving a tombstone.
	[ "$(sql "SELECT count(*) FROM messages WHERE ic_pair = '$pair' AND
	    ic_control = 3 AND purged_at IS NULL")" = 0 ] ||
	    fail "$syn: 3 not purged"
	[ -z "$(ls "$T/spool/done" | grep "$syn\.")" ] ||
	    fail "$syn: files left in done/"
	calls=$(wc -l <"$T/calls.log")
	n=$(n_acks $syn 3)
	cp "$T/work/$syn-3.edi" "$T/work/$syn-3-purged.edi"
	put "$syn-3-purged.edi" acme
	wait_until 20 "taken acme && [ \$(n_acks $syn 3) -gt $n ]" ||
	    fail "$syn: no acknowledgment for 3 after the purge"
	[ "$(sql "SELECT e.fate FROM batch_entries e JOIN batches b ON
	    b.id = e.batch WHERE b.orig_name = '$syn-3-purged.edi'")" = \
	    duplicate ] || fail "$syn: 3 after the purge is not a duplicate"
	verdicts $syn "$(acks $syn 3 | head -n 1)" >"$T/v3"
	verdicts $syn "$(acks $syn 3 | tail -n 1)" | cmp -s - "$T/v3" ||
	    fail "$syn: after the purge, other verdicts"
	$syn 3 PO-CHANGED >"$T/work/$syn-3-changed.edi"
	put "$syn-3-changed.edi" acme
	wait_until 20 "taken acme && [ \$(n_acks $syn 3) -gt $((n + 1)) ]" ||
	    fail "$syn: no acknowledgment for the changed 3 after the purge"
	[ "$(sql "SELECT e.fate FROM batch_entries e JOIN batches b ON
	    b.id = e.batch WHERE b.orig_name = '$syn-3-changed.edi'")" = \
	    rejected ] || fail "$syn: a changed 3 after the purge passed"
	[ "$(wc -l <"$T/calls.log")" = "$calls" ] ||
	    fail "$syn: a copy was processed after the purge"
done
ok "after a purge, 3 again is a duplicate with a new ack; changed, rejected"
# The duplicate interchanges are counted: 2 again and 3 after the purge
# (X12, EDIFACT) and the second 10 of one file.
ctl --json status >"$T/json"
[ "$(jq '.duplicates.last_hour' "$T/json")" -eq 5 ] ||
    { jq .duplicates "$T/json" >&2; fail "duplicates not counted"; }
ok "the duplicate interchanges are counted in spoolctl status"

# No control number of ours used twice: ISA13 and UNB 0020 of every
# acknowledgment acme got.
for f in "$T"/spool/outgoing/acme/*; do
	case $f in
	*x12.*) printf 'x12 %s\n' "$(ours x12 "$f")" ;;
	*) printf 'edifact %s\n' "$(ours edifact "$f")" ;;
	esac
done | sort >"$T/ours"
[ "$(wc -l <"$T/ours")" -ge 20 ] || fail "fewer acknowledgments than sent"
[ -z "$(uniq -d "$T/ours")" ] ||
    fail "a control number of ours used twice: $(uniq -d "$T/ours")"
ok "no control number of ours used twice ($(wc -l <"$T/ours") acks)"

# order = after: an Invoice waits for its Order.
ubl() {
	# ubl TYPE ID: an Order (buyer ...02) or an Invoice (supplier ...03)
	# of transaction PO-77.
	if [ "$1" = Order ]; then
		cat <<XML
<?xml version="1.0" encoding="UTF-8"?>
<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:ID>PO-77</cbc:ID>
 <cbc:IssueDate>2026-11-30</cbc:IssueDate>
 <cac:BuyerCustomerParty><cac:Party><cbc:EndpointID schemeID="GLN">4000000000002</cbc:EndpointID></cac:Party></cac:BuyerCustomerParty>
 <cac:SellerSupplierParty><cac:Party><cbc:EndpointID schemeID="GLN">4000000000001</cbc:EndpointID></cac:Party></cac:SellerSupplierParty>
</Order>
XML
	else
		cat <<XML
<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:ID>INV-$2</cbc:ID>
 <cbc:IssueDate>2026-11-30</cbc:IssueDate>
 <cac:OrderReference><cbc:ID>PO-77</cbc:ID></cac:OrderReference>
 <cac:AccountingSupplierParty><cac:Party><cbc:EndpointID schemeID="GLN">4000000000003</cbc:EndpointID></cac:Party></cac:AccountingSupplierParty>
 <cac:AccountingCustomerParty><cac:Party><cbc:EndpointID schemeID="GLN">4000000000001</cbc:EndpointID></cac:Party></cac:AccountingCustomerParty>
</Invoice>
XML
	fi
}
: >"$T/calls.log"
ubl Invoice 1 >"$T/work/inv1.xml"
ubl Invoice 2 >"$T/work/inv2.xml"
ubl Order >"$T/work/order.xml"
put inv1.xml shop
put inv2.xml shop
wait_until 20 "taken shop && [ \$(n_state shop parked) = 2 ]" ||
    { sql "SELECT id, state, type, reason FROM messages WHERE
      partner = 'shop'" >&2; fail "the Invoices are not parked"; }
ctl show "$(sql "SELECT id FROM messages WHERE partner = 'shop' AND
    state = 'parked' ORDER BY id LIMIT 1")" >"$T/out" 2>&1
grep -q 'waits for ubl.Order of transaction PO-77' "$T/out" ||
    { cat "$T/out" >&2; fail "spoolctl show does not say what it waits for"; }
[ ! -s "$T/calls.log" ] || fail "an Invoice was processed before its Order"
put order.xml shop
wait_until 20 "[ \$(wc -l <'$T/calls.log') -ge 3 ]" ||
    { cat "$T/calls.log" >&2; fail "the Invoices were not released"; }
cut -d'|' -f1 "$T/calls.log" | tr '\n' ' ' |
    grep -q '^ubl.Order ubl.Invoice ubl.Invoice $' ||
    { cat "$T/calls.log" >&2; fail "not Order, then the Invoices"; }
ok "after: the Invoices waited for their Order"

# A partner's after.ubl.Invoice replaces the dialect's rule: shop2's
# Invoice waits for a ubl.OrderResponse, and its Order does not free it.
sed 's/4000000000003/4000000000005/; s/PO-77/PO-78/' "$T/work/inv1.xml" \
    >"$T/work/inv3.xml"
sed 's/4000000000002/4000000000004/; s/PO-77/PO-78/' "$T/work/order.xml" \
    >"$T/work/order2.xml"
put inv3.xml shop2
wait_until 20 "taken shop2 && [ \$(n_state shop2 parked) = 1 ]" ||
    fail "shop2's Invoice is not parked"
sql "SELECT reason FROM messages WHERE partner = 'shop2'" |
    grep -q 'waits for ubl.OrderResponse of transaction PO-78' ||
    fail "shop2's Invoice does not wait for its partner's rule"
put order2.xml shop2
wait_until 20 "[ \$(n_state shop2 done) = 1 ]" ||
    fail "shop2's Order not processed"
[ "$(n_state shop2 parked)" = 1 ] ||
    fail "shop2's Invoice went with the dialect's rule"
ok "after: a partner's after.TYPE replaces the dialect's rule"

stop_daemon
ok "interchange.sh"
