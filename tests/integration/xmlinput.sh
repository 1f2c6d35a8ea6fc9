#!/bin/sh
# xmlinput.sh - [route TYPE] input = xml (DESIGN 15, issue 17): the exec
# program gets an EDIFACT or X12 message as its XML tree (the EDI TREE of
# spoold.conf(5)) instead of the original bytes; an XML dialect's message
# is its document either way; input = original (the default) gives the
# original bytes in their envelope. --check-config refuses input on a
# route that is not exec, and a value other than original or xml.
. "$(dirname "$0")/lib.sh"

printf '#!/bin/sh\ncat >"%s/in.$SPOOLD_MESSAGE_ID"\necho "$SPOOLD_MESSAGE_ID $SPOOLD_TYPE" >>"%s/calls.log"\n' \
    "$T" "$T" >"$T/h.sh"
chmod +x "$T/h.sh"
write_conf
cat >>"$T/spoold.conf" <<CONF
[route edifact.ORDERS]
handler = exec
command = $T/h.sh
input = xml
[route x12.850]
handler = exec
command = $T/h.sh
input = original
[route ubl.Invoice]
handler = exec
command = $T/h.sh
input = xml
[partner acme]
ids = ZZ:SENDER 0088:4000001000005
CONF
expect_exit 0 $SPOOLD -c "$T/spoold.conf" --check-config

# Refused: input on a route of another handler, an unknown value.
cp "$T/spoold.conf" "$T/bad.conf"
printf '[route ProductInfo]\nhandler = ledger\ninput = xml\n' >>"$T/bad.conf"
expect_exit 78 $SPOOLD -c "$T/bad.conf" --check-config
expect_out "command, timeout and input are for the exec handler only"
sed 's/input = original/input = json/' "$T/spoold.conf" >"$T/bad.conf"
expect_exit 78 $SPOOLD -c "$T/bad.conf" --check-config
expect_out "input must be original or xml"
ok "--check-config checks input"

$SPOOLD -c "$T/spoold.conf" --init >/dev/null
DB=$T/spool/spool.db
mkdir -p "$T/spool/incoming/acme"
printf "%s\n" "UNA:+.? '" \
    "UNB+UNOC:3+SENDER:ZZ+RECEIVER:ZZ+200101:1200+77'" \
    "UNH+1+ORDERS:D:96A:UN'" "BGM+220+PO?+1+9'" "UNT+3+1'" "UNZ+1+77'" \
    >"$T/o.edi"
{
	printf 'ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *200101*1200*^*00501*000000005*0*P*:~\n'
	printf 'GS*PO*SENDER*RECEIVER*20200101*1200*5*X*004010~\n'
	printf 'ST*850*0001~\nBEG*00*SA*PO9**20200101~\nSE*3*0001~\n'
	printf 'GE*1*5~\nIEA*1*5~\n'
} >"$T/p.x12"
cp "$top_srcdir/tests/fuzz/corpus/dialect/ubl-invoice.xml" "$T/i.xml"
start_daemon
cp "$T/o.edi" "$T/p.x12" "$T/i.xml" "$T/spool/incoming/acme/"
all_done() {
	[ -f "$T/calls.log" ] && [ "$(wc -l <"$T/calls.log")" -eq 3 ] &&
	    [ "$(sql "SELECT count(*) FROM messages WHERE state = 'done'")" \
	    -eq 3 ]
}
wait_until 30 all_done ||
    { sql "SELECT id, state, type, reason FROM messages" >&2;
      fail "the three messages were not processed"; }
stop_daemon

id() { awk -v t="$1" '$2 == t { print $1 }' "$T/calls.log"; }
e=$T/in.$(id edifact.ORDERS)
xmllint --noout "$e" || fail "the ORDERS input is not XML"
[ "$(xmllint --xpath 'local-name(/*)' "$e")" = edifact ] ||
    { cat "$e" >&2; fail "the ORDERS input is not the EDI tree"; }
# The released '+' is a value in the tree, not a separator.
[ "$(xmllint --xpath 'count(//*[local-name() = "segment"])' "$e")" -ge 3 ] ||
    { cat "$e" >&2; fail "the tree lacks the message's segments"; }
grep -q 'PO+1' "$e" || { cat "$e" >&2; fail "BGM's value not in the tree"; }
ok "input = xml: an EDIFACT message comes as its tree"

x=$T/in.$(id x12.850)
head -c 3 "$x" | grep -q '^ISA' || fail "input = original: no ISA first"
grep -q 'BEG\*00\*SA\*PO9' "$x" || fail "input = original: no BEG"
ok "input = original: an X12 message comes as sent, in its envelope"

cmp -s "$T/in.$(id ubl.Invoice)" "$T/i.xml" ||
    fail "input = xml: a UBL Invoice is not its document as sent"
ok "input = xml: an XML dialect's message is its document"
