#!/bin/sh
# acks.sh - acknowledgments out (DESIGN 16) with the real daemon: an X12
# interchange from a partner with ack = 997 gets a 997 in
# outgoing/<partner>/, checked by X12::Parser (x12ack-check.pl); the
# same interchange dropped again is a duplicate and gets a second 997
# with a new control number of ours repeating the verdicts; EDIFACT gets
# a CONTRL (and one when UNB 0031 asks, whatever ack says); the real
# samples' envelope faults get a TA1 (ISA/IEA mismatch: R 001) and a
# CONTRL rejecting the interchange (UNZ reference: 4 28 UNZ), a UCM
# rejecting EXAMPLE0's message (UNT count: 4 29 UNT) and one for
# pydifact's order without UNZ (4 13 UNZ); ISA14 = 1 a TA1 A 000 (alone
# for ack = none, before the 997 for ack = 997); a spoofed
# sender a TA1 R 006; a rejected set R 4, repeated for a redelivery and
# after a purge; an interchange of acknowledgments gets none.
. "$(dirname "$0")/lib.sh"

real_samples ""
ack_spool "01:999999999 ZZ:8888888 14:4000001000005 ZZ:123456789012345 \
ZZ:WBDZDD" <<EOF
[partner acme]
ids = 12:4405197800 ZZ:ABCDEFGHIJKLMNO
ack = 997
[partner euro]
ids = 31B:1556150 14:4000001000005
ack = contrl
[partner pyd]
ids = 8:12345678
ack = contrl
[partner quiet]
ids = 12:4405197800 ZZ:QUIETEU
[partner spoof]
ids = ZZ:SOMEONE-ELSE
ack = 997
EOF
start_daemon

OUT=$T/spool/outgoing

# 1. X12 with ack = 997.
deliver acme "$R/x12-node-x12/850.edi" 850.edi
wait_until 30 '[ "$(nout acme)" -ge 1 ]' || fail "no 997 for the 850"
a1=$OUT/acme/$(newest acme)
cp "$a1" "$T/ack1"
seg "$T/ack1" ISA | grep -q '\*01\*999999999 *\*12\*4405197800 *\*' ||
    { cat "$T/ack1" >&2; fail "the 997 is not from us to acme"; }
seg "$T/ack1" AK1 | grep -qx 'AK1\*PO\*1421' || fail "AK1 of the 850"
seg "$T/ack1" AK2 | grep -qx 'AK2\*850\*000000010' || fail "AK2 of the 850"
seg "$T/ack1" AK5 | grep -qx 'AK5\*A' || fail "AK5 not accepted"
seg "$T/ack1" AK9 | grep -qx 'AK9\*A\*1\*1\*1' || fail "AK9 not A 1 1 1"
set +e
perl "$top_srcdir/tests/unit/x12ack-check.pl" 997 \
    "$R/x12-node-x12/850.edi" "$T/ack1" >"$T/out" 2>&1
rc=$?
set -e
[ "$rc" -eq 0 ] || [ "$rc" -eq 77 ] ||
    { cat "$T/out" "$T/ack1" >&2; fail "X12::Parser refuses the 997"; }
[ "$rc" -eq 0 ] && ok "X12::Parser reads the 997 and its AKs match"
ok "an X12 interchange from a partner with ack = 997 gets a 997"

# 2. The same interchange again: a duplicate, a new 997, same verdicts.
deliver acme "$R/x12-node-x12/850.edi" 850-again.edi
wait_until 30 '[ "$(nout acme)" -ge 2 ]' || fail "no 997 for the duplicate"
a2=$OUT/acme/$(newest acme)
cp "$a2" "$T/ack2"
c1=$(seg "$T/ack1" ISA | cut -d'*' -f14)
c2=$(seg "$T/ack2" ISA | cut -d'*' -f14)
[ -n "$c1" ] && [ "$c1" != "$c2" ] ||
    fail "the second 997 repeats our control number $c1"
[ "$(seg "$T/ack1" AK5)$(seg "$T/ack1" AK9)" = \
  "$(seg "$T/ack2" AK5)$(seg "$T/ack2" AK9)" ] ||
    fail "the second 997 does not repeat the verdicts"
ok "a redelivered interchange gets a new 997 ($c1, then $c2), same verdicts"

# 2c. After the files were purged: the third delivery is still a
# duplicate (the store keeps its keys), and its 997 repeats the verdicts
# under yet another number.
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" purge --done-older-than 0s
[ -z "$(ls "$T/spool/done" | grep x12.850)" ] || fail "850s left in done/"
n=$(nout acme)
deliver acme "$R/x12-node-x12/850.edi" 850-third.edi
wait_until 30 '[ "$(nout acme)" -gt '"$n"' ]' ||
    fail "no 997 for the delivery after the purge"
cp "$OUT/acme/$(newest acme)" "$T/ack3"
c3=$(seg "$T/ack3" ISA | cut -d'*' -f14)
[ "$c3" != "$c1" ] && [ "$c3" != "$c2" ] ||
    fail "the third 997 repeats one of our control numbers"
[ "$(seg "$T/ack1" AK5)$(seg "$T/ack1" AK9)" = \
  "$(seg "$T/ack3" AK5)$(seg "$T/ack3" AK9)" ] ||
    fail "the 997 after the purge does not repeat the verdicts"
[ "$(sql "SELECT e.fate FROM batch_entries e JOIN batches b ON
    b.id = e.batch WHERE b.orig_name = '850-third.edi'")" = duplicate ] ||
    fail "the delivery after the purge was not a duplicate"
ok "after the purge a redelivery is a duplicate; its 997 ($c3) repeats"

# 2b. Two sets, the second with a wrong SE count: A and R 4, P; the
# redelivery repeats both verdicts under a new number.
cat >"$T/two.x12" <<'EOF'
ISA*00*          *00*          *12*4405197800     *01*999999999      *261130*0500*U*00401*000000777*0*P*>~
GS*PO*4405197800*999999999*20261130*0500*70*X*004010~
ST*850*0001~
BEG*00*SA*PO-77-1**20261130~
SE*3*0001~
ST*850*0002~
BEG*00*SA*PO-77-2**20261130~
SE*9*0002~
GE*2*70~
IEA*1*000000777~
EOF
for k in 1 2; do
	n=$(nout acme)
	deliver acme "$T/two.x12" "two-$k.x12"
	wait_until 30 '[ "$(nout acme)" -gt '"$n"' ]' ||
	    fail "no 997 for the two-set interchange ($k)"
	cp "$OUT/acme/$(newest acme)" "$T/two-ack$k"
	seg "$T/two-ack$k" AK5 | tr '\n' ' ' | grep -qx 'AK5\*A AK5\*R\*4 ' ||
	    { cat "$T/two-ack$k" >&2; fail "AK5s not A, R 4 ($k)"; }
	seg "$T/two-ack$k" AK9 | grep -qx 'AK9\*P\*2\*2\*1' ||
	    fail "AK9 not P 2 2 1 ($k)"
done
[ "$(seg "$T/two-ack1" ISA | cut -d'*' -f14)" != \
  "$(seg "$T/two-ack2" ISA | cut -d'*' -f14)" ] ||
    fail "the redelivery's 997 repeats our control number"
set +e
perl "$top_srcdir/tests/unit/x12ack-check.pl" 997 "$T/two.x12" \
    "$T/two-ack2" >"$T/out" 2>&1
rc=$?
set -e
[ "$rc" -eq 0 ] || [ "$rc" -eq 77 ] ||
    { cat "$T/out" "$T/two-ack2" >&2; fail "X12::Parser: two-set 997"; }
ok "a rejected set is R 4 in the 997, and again in the redelivery's"

# 3. A partner without ack: nothing.
deliver quiet "$R/x12-node-x12/850.edi" 850.edi
wait_until 30 '[ -z "$(ls -A "$T/spool/incoming/quiet")" ]' ||
    fail "quiet's file not taken"
[ "$(nout quiet)" = 0 ] || fail "an acknowledgment for ack = none"
ok "no acknowledgment for a partner with ack = none"

# 3b. ack = none, but UNB 0031 = 1 asks for a CONTRL: it gets one.
cat >"$T/ask.edi" <<'EOF'
UNB+UNOC:3+QUIETEU:ZZ+8888888:ZZ+261130:0500+ASK1++++1'
UNH+1+ORDERS:D:96A:UN'
BGM+220+PO-ASK-1+9'
UNT+3+1'
UNZ+1+ASK1'
EOF
deliver quiet "$T/ask.edi" ask.edi
wait_until 30 '[ "$(nout quiet)" -ge 1 ]' ||
    fail "no CONTRL for UNB 0031 = 1"
c=$OUT/quiet/$(newest quiet)
grep -q "^UCI+ASK1+QUIETEU:ZZ+8888888:ZZ+7'" "$c" ||
    { cat "$c" >&2; fail "the CONTRL asked for does not accept ASK1"; }
ok "ack = none, UNB 0031 = 1: a CONTRL all the same"

# 3c. ISA14 = 1 asks for a TA1: ack = none gets a TA1 A 000 alone (an
# interchange of its own, no group), ack = 997 one before the 997's group.
sed 's/\*000003438\*0\*P\*/*000003501*1*P*/
    s/^IEA\*1\*000003438/IEA*1*000003501/' "$R/x12-node-x12/850.edi" \
    >"$T/ask.x12"
grep -q '^ISA.*\*000003501\*1\*P\*' "$T/ask.x12" || fail "no ISA14 = 1 made"
n=$(nout quiet)
deliver quiet "$T/ask.x12" ask.x12
wait_until 30 '[ "$(nout quiet)" -gt '"$n"' ]' || fail "no TA1 for ISA14 = 1"
cp "$OUT/quiet/$(newest quiet)" "$T/ask-ta1"
[ "$(seg "$T/ask-ta1" TA1)" = 'TA1*000003501*101127*1719*A*000' ] ||
    { cat "$T/ask-ta1" >&2; fail "ISA14 = 1, ack = none: not a TA1 A 000"; }
[ -z "$(seg "$T/ask-ta1" GS)" ] || fail "the TA1 alone has a group"
set +e
perl "$top_srcdir/tests/unit/x12ack-check.pl" ta1 "$T/ask.x12" \
    "$T/ask-ta1" >"$T/out" 2>&1
rc=$?
set -e
[ "$rc" -eq 0 ] || [ "$rc" -eq 77 ] ||
    { cat "$T/out" "$T/ask-ta1" >&2; fail "X12::Parser refuses the TA1"; }
sed 's/000003501/000003502/g' "$T/ask.x12" >"$T/ask2.x12"
n=$(nout acme)
deliver acme "$T/ask2.x12" ask2.x12
wait_until 30 '[ "$(nout acme)" -gt '"$n"' ]' ||
    fail "no 997 for ISA14 = 1, ack = 997"
cp "$OUT/acme/$(newest acme)" "$T/ask-997"
tr -d '\r\n' <"$T/ask-997" | tr '~' '\n' | cut -d'*' -f1 | tr '\n' ' ' |
    grep -q '^ISA TA1 GS ST AK1 AK2 AK5 AK9 SE GE IEA $' ||
    { cat "$T/ask-997" >&2; fail "ISA14 = 1, ack = 997: not TA1, 997"; }
[ "$(seg "$T/ask-997" TA1)" = 'TA1*000003502*101127*1719*A*000' ] ||
    { cat "$T/ask-997" >&2; fail "ISA14 = 1, ack = 997: not TA1 A 000"; }
ok "ISA14 = 1: a TA1 A 000, alone (ack = none) or before the 997"

# 4. EDIFACT with ack = contrl.
deliver euro "$R/edifact-php-edifact/D96ADESADV.edi" desadv.edi
wait_until 30 '[ "$(nout euro)" -ge 1 ]' || fail "no CONTRL for the DESADV"
c=$OUT/euro/$(newest euro)
grep -q "^UNB+UNOC:1+8888888:ZZ+1556150:31B+" "$c" ||
    { cat "$c" >&2; fail "the CONTRL is not from us to euro"; }
grep -q "^UNH+[0-9]*+CONTRL:D:3:UN'" "$c" || fail "no CONTRL UNH"
grep -q "^UCI+1+1556150:31B+8888888:ZZ+7'" "$c" ||
    { cat "$c" >&2; fail "UCI does not accept interchange 1"; }
grep -q "^UCM+142+DESADV:0:96A:UN+7'" "$c" ||
    { cat "$c" >&2; fail "UCM does not accept message 142"; }
ok "an EDIFACT interchange from a partner with ack = contrl gets a CONTRL"

# 5. Envelope faults of the real samples.
n=$(nout euro)
deliver euro "$R/edifact-en16931/EDIFACT_EXAMPLE1.TXT" example1.txt
wait_until 30 '[ "$(nout euro)" -gt '"$n"' ]' ||
    fail "no CONTRL for EXAMPLE1 (UNZ reference)"
c=$OUT/euro/$(newest euro)
tr -d '\n' <"$c" | grep -q "UCI+87846595+4000001000005:14+4000001000005:14+4+28+UNZ'" ||
    { cat "$c" >&2; fail "EXAMPLE1's CONTRL does not reject with 28 UNZ"; }
ok "EDIFACT EXAMPLE1 (UNZ reference wrong) gets a CONTRL with 4 28 UNZ"

# EXAMPLE0: UNT says 171 segments, 37 are there: the message is rejected
# with 29 (control count does not match) at UNT. Its UNB reference is
# EXAMPLE1's, so it is renumbered here (87846596) to be no reuse.
n=$(nout euro)
sed 's/87846595/87846596/g' "$R/edifact-en16931/EDIFACT_EXAMPLE0.TXT" \
    >"$T/example0.txt"
deliver euro "$T/example0.txt" example0.txt
wait_until 30 '[ "$(nout euro)" -gt '"$n"' ]' ||
    fail "no CONTRL for EXAMPLE0 (UNT count)"
c=$OUT/euro/$(newest euro)
tr -d '\n' <"$c" | grep -q "UCI+87846596+4000001000005:14+4000001000005:14+" ||
    { cat "$c" >&2; fail "EXAMPLE0's CONTRL does not answer 87846596"; }
tr -d '\n' <"$c" | grep -q "UCM+1+INVOIC:D:14B:UN[^+']*+4+29+UNT'" ||
    { cat "$c" >&2; fail "EXAMPLE0's CONTRL does not reject UNH 1 with 29 UNT"; }
ok "EDIFACT EXAMPLE0 (UNT count wrong) gets a CONTRL with UCM 4 29 UNT"

# pydifact's order.edi: a decimal comma in its UNA, and no UNZ: the
# interchange is rejected with 13 (missing) at UNZ.
deliver pyd "$R/edifact-pydifact/order.edi" order.edi
wait_until 30 '[ "$(nout pyd)" -ge 1 ]' ||
    fail "no CONTRL for pydifact's order.edi (no UNZ)"
c=$OUT/pyd/$(newest pyd)
tr -d '\n' <"$c" | grep -q "UCI+807+12345678:8+WBDZDD:ZZ+4+13+UNZ'" ||
    { cat "$c" >&2; fail "order.edi's CONTRL does not reject with 4 13 UNZ"; }
ok "pydifact order.edi (no UNZ) gets a CONTRL with 4 13 UNZ"

n=$(nout acme)
deliver acme "$R/x12-ediengine/ControlNumbersMismatch.edi" mismatch.edi
wait_until 30 '[ "$(nout acme)" -gt '"$n"' ]' ||
    fail "no TA1 for ControlNumbersMismatch"
t=$OUT/acme/$(newest acme)
cp "$t" "$T/ta1"
seg "$T/ta1" TA1 | grep -q '^TA1\*000003438\*101127\*1719\*R\*001$' ||
    { cat "$T/ta1" >&2; fail "the TA1 does not reject with 001"; }
set +e
perl "$top_srcdir/tests/unit/x12ack-check.pl" ta1 \
    "$R/x12-ediengine/ControlNumbersMismatch.edi" "$T/ta1" >"$T/out" 2>&1
rc=$?
set -e
[ "$rc" -eq 0 ] || [ "$rc" -eq 77 ] ||
    { cat "$T/out" "$T/ta1" >&2; fail "X12::Parser refuses the TA1"; }
ok "X12 ControlNumbersMismatch gets a TA1 R 001"

# 5b. A sender that is not the partner's: the interchange is refused at
# its envelope, a TA1 R 006 (ack_kind_for: an interchange reason).
deliver spoof "$R/x12-node-x12/850.edi" 850.edi
wait_until 30 '[ "$(nout spoof)" -ge 1 ]' || fail "no TA1 for a spoofed sender"
cp "$OUT/spoof/$(newest spoof)" "$T/spoof-ta1"
seg "$T/spoof-ta1" TA1 | grep -q '^TA1\*000003438\*101127\*1719\*R\*006$' ||
    { cat "$T/spoof-ta1" >&2; fail "the spoofed 850's TA1 is not R 006"; }
ok "a spoofed sender gets a TA1 R 006"

# 6. An interchange of acknowledgments is not acknowledged.
n=$(nout acme)
sed 's/\*01\*999999999 *\*12\*4405197800 */*12*4405197800     *01*999999999      /' \
    "$T/ack1" >"$T/their997"
deliver acme "$T/their997" their997.x12
wait_until 30 '[ -z "$(ls -A "$T/spool/incoming/acme")" ]' ||
    fail "the 997 was not taken"
[ "$(sql "SELECT count(*) FROM messages WHERE partner = 'acme' AND
    type = 'x12.997' AND state <> 'rejected'")" -ge 1 ] ||
    { sql "SELECT state, reason FROM messages WHERE partner = 'acme'
      ORDER BY id DESC LIMIT 1" >&2;
      fail "spoold's own 997, sent back, is not read by its tokenizer"; }
[ "$(nout acme)" = "$n" ] || fail "a 997 was acknowledged"
ok "our 997 reads back through spoold's tokenizer; a 997 gets no ack"

# Every file in outgoing/ is whole and has a row marked written.
[ "$(sql "SELECT count(*) FROM outbound WHERE written_at IS NULL")" = 0 ] ||
    fail "outbound rows not marked written"
stop_daemon
ok "acks.sh"
