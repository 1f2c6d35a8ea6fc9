#!/bin/sh
# acksin.sh - our outbound X12 and the partner's 997 for it (DESIGN 16):
# an exec program's SPOOLD_OUTBOUND interchange gets our control numbers
# stamped (ISA13/IEA02, GS06/GE02, from the counters our 997s draw from
# too) and is recorded as awaiting acknowledgment; the partner's 997 for
# it, accepted as an x12.997 message, is matched to it; spoolctl status
# and show --outbound tell it is acknowledged; one never acknowledged is
# reported overdue after ack_overdue, once (log, status, metric), and
# listed by show --outbound PARTNER. The same
# for EDIFACT: UNB/UNZ 0020 stamped, the partner's CONTRL rejecting it.
. "$(dirname "$0")/lib.sh"

real_samples x12-node-x12/850.edi

# The ERP answers an 850 with an 855 whose numbers are its own (99, 77).
cat >"$T/h.sh" <<'EOF'
#!/bin/sh
cat >/dev/null
if [ "$SPOOLD_TYPE" = edifact.ORDERS ]; then
	# An ORDRSP with the program's own interchange number (PROG99).
	cat >"$SPOOLD_OUTBOUND" <<EDI
UNB+UNOC:3+8888888:ZZ+EUROPART:ZZ+261130:0500+PROG99'
UNH+1+ORDRSP:D:96A:UN'
BGM+231+PO-1+9'
UNT+3+1'
UNZ+1+PROG99'
EDI
	exit 0
fi
[ "$SPOOLD_TYPE" = x12.850 ] || exit 0
cat >"$SPOOLD_OUTBOUND" <<X12
ISA*00*          *00*          *01*999999999      *12*4405197800     *261130*0500*U*00401*000000099*0*P*>~
GS*PR*999999999*4405197800*20261130*0500*77*X*004010~
ST*855*0001~
BAK*00*AC*08292233294*20261130~
SE*3*0001~
GE*1*77~
IEA*1*000000099~
X12
EOF
ack_spool "01:999999999 ZZ:8888888" <<EOF
[partner acme]
ids = 12:4405197800
ack = 997
[partner euro]
ids = ZZ:EUROPART
ack = contrl
[http]
listen = 127.0.0.1:0
EOF
echo "ack_overdue = 2s" >>"$T/spoold.conf"
OUT=$T/spool/outgoing/acme
start_daemon

put() { deliver acme "$@"; }

put "$R/x12-node-x12/850.edi" 850.edi
wait_until 30 '[ -n "$(ls "$OUT" 2>/dev/null | grep x12.855)" ]' ||
    fail "no 855 in outgoing/acme"
f=$OUT/$(ls "$OUT" | grep x12.855)
isa13=$(seg "$f" ISA | cut -d'*' -f14)
gs06=$(seg "$f" GS | cut -d'*' -f7)
[ "$isa13" != 000000099 ] && [ "$gs06" != 77 ] ||
    { cat "$f" >&2; fail "the 855 keeps the program's numbers"; }
seg "$f" IEA | grep -qx "IEA\*1\*$isa13" || fail "IEA02 is not ISA13"
seg "$f" GE | grep -qx "GE\*1\*$gs06" || fail "GE02 is not GS06"
# Our 997 for the 850 took numbers from the same counters: none twice.
a=$OUT/$(ls "$OUT" | grep x12.997)
[ "$(seg "$a" ISA | cut -d'*' -f14)" != "$isa13" ] ||
    fail "the 997 and the 855 share ISA13 $isa13"
[ "$(sql "SELECT state FROM our_interchanges WHERE partner = 'acme'
    AND control = '$isa13'")" = pending ] ||
    fail "the 855 is not awaiting acknowledgment"
ok "outbound X12 stamped with our numbers ($isa13, $gs06), awaiting its 997"

# The partner's 997 for it.
cat >"$T/997.x12" <<EOF
ISA*00*          *00*          *12*4405197800     *01*999999999      *261130*0501*U*00401*000000500*0*P*>~
GS*FA*4405197800*999999999*20261130*0501*500*X*004010~
ST*997*0001~
AK1*PR*$gs06~
AK2*855*0001~
AK5*A~
AK9*A*1*1*1~
SE*6*0001~
GE*1*500~
IEA*1*000000500~
EOF
n=$(ls "$OUT" | wc -l)
put "$T/997.x12" 997.x12
wait_until 30 '[ "$(sql "SELECT state FROM our_interchanges WHERE
    control = '"'$isa13'"'")" = accepted ]' ||
    fail "the partner's 997 was not matched"
[ "$(ls "$OUT" | wc -l)" = "$n" ] || fail "the partner's 997 was acknowledged"
[ "$(sql "SELECT type FROM messages WHERE orig_name LIKE '%ST02%' OR
    type = 'x12.997' LIMIT 1")" = x12.997 ] || fail "no x12.997 message"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" show --outbound acme "$isa13"
expect_out "accepted"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" show --outbound acme "$isa13" --json
expect_out '"state":"accepted"'
ok "the partner's 997 is matched: spoolctl show --outbound says accepted"

# A second 850 (another ISA13): its 855 is never acknowledged: overdue.
sed 's/\*000003438\*/*000003439*/; s/^IEA\*1\*000003438/IEA*1*000003439/' \
    "$R/x12-node-x12/850.edi" >"$T/850b.edi"
put "$T/850b.edi" 850b.edi
wait_until 30 'grep -q "event=ack-overdue" "$T/log"' ||
    fail "no overdue report"
[ "$(grep -c "event=ack-overdue" "$T/log")" = 1 ] ||
    fail "the overdue interchange reported more than once"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" status
expect_out "1 overdue"
if command -v curl >/dev/null 2>&1; then
	PORT=$(sed -n \
	    's/.*event=http status=listening.* port=\([0-9]*\).*/\1/p' \
	    "$T/log" | tail -n 1)
	curl -sf "http://127.0.0.1:$PORT/metrics" >"$T/metrics" ||
	    fail "GET /metrics"
	grep -qx 'spoold_acks_overdue 1' "$T/metrics" ||
	    { grep acks "$T/metrics" >&2; fail "spoold_acks_overdue is not 1"; }
fi
# show --outbound without a number: which are not acknowledged (the
# overdue one, not the accepted one).
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" show --outbound acme
late=$(sql "SELECT control FROM our_interchanges WHERE state = 'pending'")
grep -Eq "^$late +x12 .* overdue\$" "$T/out" ||
    { cat "$T/out" >&2; fail "show --outbound acme does not list $late"; }
grep -q "^$isa13 " "$T/out" && fail "show --outbound lists the accepted one"
expect_out "1 acknowledged (accepted or received), not listed"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" --json show --outbound acme
[ "$(jq -c '[.partner, [.interchanges[] | .control, .state],
    .acknowledged]' "$T/out")" = "[\"acme\",[\"$late\",\"overdue\"],1]" ] ||
    { cat "$T/out" >&2; fail "show --outbound acme --json"; }
expect_exit 65 $SPOOLCTL -c "$T/spoold.conf" show --outbound nobody
ok "an unacknowledged interchange is reported overdue once; status," \
    "show --outbound and spoold_acks_overdue say so"
# A TA1 for the overdue one: an interchange without a message, refused
# as a batch (nothing to process), yet its TA1 is matched: the envelope
# was received (a TA1 says nothing of the groups); show finds it by its
# number without the leading zeros too.
late=$(sql "SELECT control FROM our_interchanges WHERE state = 'pending'")
[ -n "$late" ] || fail "no pending interchange left"
cat >"$T/ta1.x12" <<EOF
ISA*00*          *00*          *12*4405197800     *01*999999999      *261130*0502*U*00401*000000501*0*P*>~
TA1*$late*261130*0500*A*000~
IEA*0*000000501~
EOF
n=$(ls "$OUT" | wc -l)
put "$T/ta1.x12" ta1.x12
wait_until 30 '[ "$(sql "SELECT state FROM our_interchanges WHERE
    control = '"'$late'"'")" = received ]' ||
    fail "the partner's TA1 was not matched"
[ "$(ls "$OUT" | wc -l)" = "$n" ] || fail "the partner's TA1 was answered"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" show --outbound acme \
    "$(echo "$late" | sed "s/^0*//")"
expect_out "received"
ok "a partner's TA1 is matched to our interchange $late (received)"

# EDIFACT: the ORDRSP the program answers an ORDERS with gets UNB 0020
# and UNZ 0020 of ours (the counter our CONTRL for the ORDERS draws from
# too); the partner's CONTRL rejecting it (UCI action 4) is accepted as
# an edifact.CONTRL message, matched, and the interchange is rejected in
# spoolctl show --outbound and status.
EOUT=$T/spool/outgoing/euro
cat >"$T/orders.edi" <<'EDI'
UNB+UNOC:3+EUROPART:ZZ+8888888:ZZ+261130:0500+E1'
UNH+1+ORDERS:D:96A:UN'
BGM+220+PO-1+9'
UNT+3+1'
UNZ+1+E1'
EDI
deliver euro "$T/orders.edi" orders.edi
wait_until 30 '[ -n "$(ls "$EOUT" 2>/dev/null | grep edifact.ORDRSP)" ]' ||
    fail "no ORDRSP in outgoing/euro"
f=$EOUT/$(ls "$EOUT" | grep edifact.ORDRSP)
unb=$(tr -d '\n' <"$f" | tr "'" '\n' | grep '^UNB+' | cut -d+ -f6)
unz=$(tr -d '\n' <"$f" | tr "'" '\n' | grep '^UNZ+' | cut -d+ -f3)
[ -n "$unb" ] && [ "$unb" != PROG99 ] && [ "$unz" = "$unb" ] ||
    { cat "$f" >&2; fail "the ORDRSP's UNB/UNZ 0020 are not ours"; }
c=$EOUT/$(ls "$EOUT" | grep edifact.CONTRL)
[ "$(tr -d '\n' <"$c" | tr "'" '\n' | grep '^UNB+' | cut -d+ -f6)" != \
    "$unb" ] || fail "the CONTRL and the ORDRSP share UNB 0020 $unb"
[ "$(sql "SELECT state FROM our_interchanges WHERE partner = 'euro'
    AND control = '$unb'")" = pending ] ||
    fail "the ORDRSP is not awaiting acknowledgment"
cat >"$T/contrl.edi" <<EDI
UNB+UNOC:3+EUROPART:ZZ+8888888:ZZ+261130:0501+C1'
UNH+1+CONTRL:D:3:UN'
UCI+$unb+8888888:ZZ+EUROPART:ZZ+4+2+UNB'
UNT+3+1'
UNZ+1+C1'
EDI
n=$(ls "$EOUT" | wc -l)
deliver euro "$T/contrl.edi" contrl.edi
wait_until 30 '[ "$(sql "SELECT state FROM our_interchanges WHERE
    partner = '"'euro'"' AND control = '"'$unb'"'")" = rejected ]' ||
    fail "the partner's CONTRL was not matched"
[ "$(ls "$EOUT" | wc -l)" = "$n" ] || fail "the partner's CONTRL was answered"
wait_until 30 '[ "$(sql "SELECT count(*) FROM messages WHERE
    partner = '"'euro'"' AND type = '"'edifact.CONTRL'"' AND
    state = '"'done'"'")" = 1 ]' ||
    { sql "SELECT id, type, state, reason FROM messages WHERE
      partner = 'euro'" >&2;
      fail "the CONTRL is not a message routed and done"; }
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" show --outbound euro "$unb"
expect_out "rejected"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" show --outbound euro "$unb" --json
expect_out '"state":"rejected"'
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" status
expect_out " 1 rejected"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" show --outbound euro
grep -Eq "^$unb +edifact .* rejected, code 2\$" "$T/out" ||
    { cat "$T/out" >&2; fail "show --outbound euro does not list $unb"; }
ok "outbound EDIFACT stamped ($unb); the partner's CONTRL rejecting it matched"
stop_daemon
