#!/bin/sh
# interchanges.sh - a file of several EDIFACT or X12 interchanges is one
# batch per interchange (DESIGN 15): each becomes a file of its own,
# <name>.interchange-<N>, and a batch that spoolctl batch shows; an
# envelope error rejects that interchange whole, the reason naming the
# segment and both values, and the interchanges before it are accepted.
# Control numbers are compared as numbers where X12 says so (IEA02 3438
# is ISA13 000003438).
. "$(dirname "$0")/lib.sh"

printf '#!/bin/sh\ncat >/dev/null\necho "$SPOOLD_TYPE" >>"%s/calls.log"\n' \
    "$T" >"$T/h.sh"
chmod +x "$T/h.sh"
write_conf
printf '[route *]\nhandler = exec\ncommand = %s/h.sh\n[partner acme]\nids = ZZ:SENDER\n' \
    "$T" >>"$T/spoold.conf"
$SPOOLD -c "$T/spoold.conf" --init >/dev/null
DB=$T/spool/spool.db

isa() {
	printf 'ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *200101*1200*^*00501*%s*0*P*:~\n' "$1"
}
st850() {
	printf 'ST*850*%s~\nBEG*00*SA*PO%s**20200101~\nSE*3*%s~\n' "$1" "$1" "$1"
}
{
	# ISA13 000003438, IEA02 3438: the same number.
	isa 000003438
	echo 'GS*PO*SENDER*RECEIVER*20200101*1200*1*X*004010~'
	st850 0001
	echo 'GE*1*1~'
	echo 'IEA*1*3438~'
	isa 000000002
	echo 'GS*PO*SENDER*RECEIVER*20200101*1200*2*X*004010~'
	st850 0002
	st850 0003
	echo 'GE*2*2~'
	echo 'IEA*1*000000002~'
	# A trailer that names another interchange: this one goes whole.
	isa 000000003
	echo 'GS*PO*SENDER*RECEIVER*20200101*1200*3*X*004010~'
	st850 0004
	echo 'GE*1*3~'
	echo 'IEA*1*12115118~'
} >"$T/three.x12"
{
	echo "UNA:+.? '"
	echo "UNB+UNOC:3+SENDER:ZZ+RECEIVER:ZZ+200101:1200+87846595'"
	echo "UNH+1+ORDERS:D:96A:UN'"
	echo "BGM+220+PO1+9'"
	echo "UNT+3+1'"
	echo "UNZ+1+87846595'"
	echo "UNB+UNOC:3+SENDER:ZZ+RECEIVER:ZZ+200101:1200+87846596'"
	echo "UNH+1+ORDERS:D:96A:UN'"
	echo "BGM+220+PO2+9'"
	echo "UNT+3+1'"
	echo "UNZ+1+12115118'"
} >"$T/two.edi"

start_daemon
mkdir -p "$T/spool/incoming/acme"
cp "$T/three.x12" "$T/two.edi" "$T/spool/incoming/acme/"
settled() {
	[ -z "$(ls -A "$T/spool/incoming/acme")" ] &&
	    [ "$(sql "SELECT count(*) FROM batches")" = 5 ] &&
	    [ "$(sql "SELECT count(*) FROM messages WHERE state <> 'done'")" \
	    = 0 ] && [ -f "$T/calls.log" ] &&
	    [ "$(wc -l <"$T/calls.log")" -eq 4 ]
}
wait_until 30 settled ||
    { ls -la "$T/spool/incoming/acme" >&2;
      sql "SELECT id, orig_name, state, entries, reason FROM batches" >&2;
      fail "the interchanges were not taken as five batches"; }

b() {
	sql "SELECT state || ' ' || entries FROM batches WHERE orig_name = '$1'"
}
[ "$(b three.x12.interchange-1)" = "done 1" ] ||
    fail "X12 interchange 1 (IEA02 3438, ISA13 000003438): $(b three.x12.interchange-1)"
[ "$(b three.x12.interchange-2)" = "done 2" ] ||
    fail "X12 interchange 2: $(b three.x12.interchange-2)"
[ "$(b three.x12.interchange-3)" = "rejected 0" ] ||
    fail "X12 interchange 3: $(b three.x12.interchange-3)"
[ "$(b two.edi.interchange-1)" = "done 1" ] ||
    fail "EDIFACT interchange 1: $(b two.edi.interchange-1)"
[ "$(b two.edi.interchange-2)" = "rejected 0" ] ||
    fail "EDIFACT interchange 2: $(b two.edi.interchange-2)"
ok "one batch per interchange; IEA02 3438 matches ISA13 000003438"

# The rejected interchanges: in rejected/ with reasons that name the
# segment and both values.
r=$(sql "SELECT reason FROM batches WHERE orig_name = 'two.edi.interchange-2'")
echo "$r" | grep -q "UNZ reference 12115118 does not match UNB reference 87846596" ||
    fail "EDIFACT reason: $r"
r=$(sql "SELECT reason FROM batches WHERE orig_name =
    'three.x12.interchange-3'")
echo "$r" | grep -q "IEA.*12115118 does not match ISA13 000000003" ||
    fail "X12 reason: $r"
[ "$(count rejected)" -eq 2 ] || fail "rejected/: $(ls "$T/spool/rejected")"
for f in "$T"/spool/rejected/*; do
	case $f in *.reason) continue ;; esac
	[ -f "$f.reason" ] || fail "no reason beside $f"
done
grep -l "12115118 does not match UNB" "$T"/spool/rejected/*.reason |
    grep -q "two.edi.interchange-2" || fail "the EDIFACT reason file"
# A part holds its interchange's bytes, nothing of the others.
grep -q "87846596" "$T"/spool/rejected/*two.edi.interchange-2,*.bundle ||
    fail "the rejected part lacks its interchange"
grep -q "87846595" "$T"/spool/rejected/*two.edi.interchange-2,*.bundle &&
    fail "the rejected part holds the first interchange too"
ok "a broken envelope rejects its interchange whole, in rejected/"

# spoolctl batch per interchange.
id=$(sql "SELECT id FROM batches WHERE orig_name = 'three.x12.interchange-2'")
ctl batch "$id" --json >"$T/batch.json"
[ "$(jq '[.entries[] | select(.fate == "accepted")] | length' \
    "$T/batch.json")" = 2 ] ||
    { cat "$T/batch.json" >&2; fail "spoolctl batch: not 2 entries"; }
ok "spoolctl batch shows an interchange's messages"
grep -q 'event=split partner=acme file=three.x12 interchanges=3' "$T/log" ||
    fail "no split logged"
stop_daemon

# --once takes the parts too (it scans again after a split).
cp "$T/two.edi" "$T/spool/incoming/acme/again.edi"
$SPOOLD -c "$T/spoold.conf" --once >>"$T/log" 2>&1 ||
    fail "spoold --once failed"
[ -z "$(ls -A "$T/spool/incoming/acme")" ] ||
    fail "--once left $(ls "$T/spool/incoming/acme")"
[ "$(b again.edi.interchange-1)" = "done 1" ] ||
    fail "--once: interchange 1: $(b again.edi.interchange-1)"
[ "$(b again.edi.interchange-2)" = "rejected 0" ] ||
    fail "--once: interchange 2: $(b again.edi.interchange-2)"
ok "spoold --once splits and takes the parts"
