#!/bin/sh
# acks999.sh - acknowledgments out with ack = 999 (DESIGN 16), the real
# daemon end to end as acks.sh does for 997: the real 850 gets a 999 in
# outgoing/<partner>/ (IK5 A, AK9 A), checked by X12::Parser
# (x12ack-check.pl 999); a redelivery is a duplicate and gets a new 999
# under a new control number of ours repeating the verdicts; a set with
# a wrong SE count is IK5 R 4, AK9 P; and each 999 sent back to spoold
# is read by its own tokenizer (edi_read) as an x12.999, never
# acknowledged itself.
. "$(dirname "$0")/lib.sh"

real_samples x12-node-x12/850.edi
ack_spool 01:999999999 <<EOF
[partner nine]
ids = 12:4405197800
ack = 999
EOF
start_daemon

OUT=$T/spool/outgoing
xcheck() {	# xcheck ORIG ACK: X12::Parser's view of the 999
	set +e
	perl "$top_srcdir/tests/unit/x12ack-check.pl" 999 "$1" "$2" \
	    >"$T/out" 2>&1
	rc=$?
	set -e
	[ "$rc" -eq 0 ] || [ "$rc" -eq 77 ] ||
	    { cat "$T/out" "$2" >&2; fail "X12::Parser refuses the 999 $2"; }
	[ "$rc" -eq 0 ] && ok "X12::Parser reads $(basename "$2") and its IKs match"
	return 0
}
# back ACK NAME: our 999 sent back as the partner's (ISA ids swapped).
back() {
	sed 's/\*01\*999999999 *\*12\*4405197800 */*12*4405197800     *01*999999999      /; s/^GS\*FA\*999999999\*4405197800\*/GS*FA*4405197800*999999999*/' \
	    "$1" >"$T/back-$2"
	deliver nine "$T/back-$2" "$2"
	wait_until 30 '[ ! -e "$T/spool/incoming/nine/'"$2"'" ]' ||
	    fail "the 999 $2 was not taken"
}

# 1. The real 850: a 999 accepting it.
deliver nine "$R/x12-node-x12/850.edi" 850.edi
wait_until 30 '[ "$(nout nine)" -ge 1 ]' || fail "no 999 for the 850"
cp "$OUT/nine/$(newest nine)" "$T/ack1"
seg "$T/ack1" ISA | grep -q '\*01\*999999999 *\*12\*4405197800 *\*' ||
    { cat "$T/ack1" >&2; fail "the 999 is not from us to nine"; }
seg "$T/ack1" GS | grep -q '^GS\*FA\*999999999\*4405197800\*.*\*X\*005010X231A1$' ||
    { cat "$T/ack1" >&2; fail "the 999's GS is not FA, 005010X231A1"; }
seg "$T/ack1" ST | grep -q '^ST\*999\*[0-9]*\*005010X231A1$' ||
    { cat "$T/ack1" >&2; fail "no ST 999"; }
seg "$T/ack1" AK1 | grep -q '^AK1\*PO\*1421' || fail "AK1 of the 850"
seg "$T/ack1" AK2 | grep -q '^AK2\*850\*000000010' || fail "AK2 of the 850"
seg "$T/ack1" IK5 | grep -qx 'IK5\*A' || fail "IK5 not accepted"
seg "$T/ack1" AK9 | grep -qx 'AK9\*A\*1\*1\*1' || fail "AK9 not A 1 1 1"
[ -z "$(seg "$T/ack1" AK5)" ] || fail "a 999 with an AK5"
xcheck "$R/x12-node-x12/850.edi" "$T/ack1"
ok "an X12 interchange from a partner with ack = 999 gets a 999"

# 2. Redelivered: a duplicate, a new 999, the same verdicts.
deliver nine "$R/x12-node-x12/850.edi" 850-again.edi
wait_until 30 '[ "$(nout nine)" -ge 2 ]' || fail "no 999 for the duplicate"
cp "$OUT/nine/$(newest nine)" "$T/ack2"
c1=$(seg "$T/ack1" ISA | cut -d'*' -f14)
c2=$(seg "$T/ack2" ISA | cut -d'*' -f14)
[ -n "$c1" ] && [ "$c1" != "$c2" ] ||
    fail "the second 999 repeats our control number $c1"
[ "$(seg "$T/ack1" IK5)$(seg "$T/ack1" AK9)" = \
  "$(seg "$T/ack2" IK5)$(seg "$T/ack2" AK9)" ] ||
    fail "the second 999 does not repeat the verdicts"
[ "$(sql "SELECT e.fate FROM batch_entries e JOIN batches b ON
    b.id = e.batch WHERE b.orig_name = '850-again.edi'")" = duplicate ] ||
    fail "the redelivery was not a duplicate"
xcheck "$R/x12-node-x12/850.edi" "$T/ack2"
ok "a redelivered interchange gets a new 999 ($c1, then $c2), same verdicts"

# 3. Two sets, the second with a wrong SE count: IK5 A and IK5 R 4, P.
cat >"$T/two.x12" <<'EOF'
ISA*00*          *00*          *12*4405197800     *01*999999999      *261130*0500*U*00501*000000777*0*P*>~
GS*PO*4405197800*999999999*20261130*0500*70*X*005010~
ST*850*0001~
BEG*00*SA*PO-77-1**20261130~
SE*3*0001~
ST*850*0002~
BEG*00*SA*PO-77-2**20261130~
SE*9*0002~
GE*2*70~
IEA*1*000000777~
EOF
n=$(nout nine)
deliver nine "$T/two.x12" two.x12
wait_until 30 '[ "$(nout nine)" -gt '"$n"' ]' ||
    fail "no 999 for the two-set interchange"
cp "$OUT/nine/$(newest nine)" "$T/ack3"
seg "$T/ack3" IK5 | tr '\n' ' ' | grep -qx 'IK5\*A IK5\*R\*4 ' ||
    { cat "$T/ack3" >&2; fail "IK5s not A, R 4"; }
seg "$T/ack3" AK9 | grep -qx 'AK9\*P\*2\*2\*1' ||
    { cat "$T/ack3" >&2; fail "AK9 not P 2 2 1"; }
seg "$T/ack3" ISA | cut -d'*' -f13 | grep -qx 00501 ||
    fail "the 999 is not in the partner's ISA12 00501"
xcheck "$T/two.x12" "$T/ack3"
ok "a rejected set is IK5 R 4 in the 999, AK9 P"

# 4. Each 999 sent back: spoold's tokenizer reads it as an x12.999, it
# is not rejected, and no acknowledgment answers it.
n=$(nout nine)
k=0
for a in ack1 ack2 ack3; do
	k=$((k + 1))
	back "$T/$a" "back$k.x12"
done
wait_until 30 '[ "$(sql "SELECT count(*) FROM messages WHERE
    partner = '"'nine'"' AND type = '"'x12.999'"'")" -ge 3 ]' ||
    { sql "SELECT type, state, reason FROM messages WHERE partner = 'nine'
      ORDER BY id DESC LIMIT 3" >&2;
      fail "our 999s sent back are not read as x12.999"; }
[ "$(sql "SELECT count(*) FROM messages WHERE partner = 'nine' AND
    type = 'x12.999' AND state = 'rejected'")" = 0 ] ||
    { sql "SELECT reason FROM messages WHERE partner = 'nine' AND
      type = 'x12.999'" >&2; fail "spoold's tokenizer rejects its 999"; }
[ "$(nout nine)" = "$n" ] || fail "a 999 was acknowledged"
ok "our 999s read back through spoold's tokenizer; a 999 gets no ack"

[ "$(sql "SELECT count(*) FROM outbound WHERE written_at IS NULL")" = 0 ] ||
    fail "outbound rows not marked written"
stop_daemon
ok "acks999.sh"
