#!/bin/sh
# ackcrash-contrl.sh - ackcrash.sh's twin for EDIFACT with CONTRL (DESIGN
# 13, 16): spoold killed (SPOOLD_FAILPOINT) after the COMMIT that
# accepted EDIFACT interchanges and recorded their CONTRLs but before
# the files were written (accept-commit, ack-write, outbound-write), or
# after they were renamed into outgoing/ but before the store noted it
# (outbound-mark), then started again: every accepted interchange has
# exactly one CONTRL file (plus one per redelivery), each answering its
# UNB 0020, each row of ours is written once, and no UNB 0020 of ours
# is used twice.
. "$(dirname "$0")/lib.sh"

ack_spool ZZ:8888888 <<EOF
[partner euro]
ids = ZZ:EUROPART
ack = contrl
EOF
OUT=$T/spool/outgoing/euro

# ic N: an ORDERS interchange with UNB 0020 = N.
ic() {
	cat <<EOF
UNB+UNOC:3+EUROPART:ZZ+8888888:ZZ+261130:0500+$1'
UNH+1+ORDERS:D:96A:UN'
BGM+220+PO-$1+9'
UNT+3+1'
UNZ+1+$1'
EOF
}
put() {
	ic "$1" >"$T/ic"
	deliver euro "$T/ic" "$2"
}
files() { nout euro; }
# uci N: how many CONTRL files answer interchange N.
uci() { cat "$OUT"/* 2>/dev/null | tr -d '\n' | tr "'" '\n' |
    grep -c "^UCI+$1+EUROPART:ZZ+8888888:ZZ+7$" || true; }

k=0
want=0
for fp in accept-commit ack-write outbound-write outbound-mark; do
	k=$((k + 1))
	put "IC$k"1 "a$k-1.edi"
	put "IC$k"2 "a$k-2.edi"
	# A redelivery of an earlier one: a duplicate, acknowledged anew.
	[ "$k" -gt 1 ] && put "IC$((k - 1))"1 "a$k-again.edi"
	crash_at "$fp"
	once
	[ -z "$(ls -A "$T/spool/incoming/euro")" ] ||
	    fail "$fp: files left in incoming/"
	want=$((want + 2 + (k > 1 ? 1 : 0)))
	[ "$(files)" -eq "$want" ] ||
	    { ls -la "$OUT" >&2; fail "$fp: $(files) CONTRL files, want $want"; }
	[ "$(sql "SELECT count(*) FROM outbound WHERE
	    type = 'edifact.CONTRL'")" -eq "$want" ] ||
	    fail "$fp: CONTRL rows differ from files"
	[ "$(sql "SELECT count(*) FROM outbound WHERE written_at IS NULL")" \
	    = 0 ] || fail "$fp: rows left unwritten"
	[ "$(uci "IC$k"2)" -eq 1 ] ||
	    fail "$fp: IC${k}2 answered $(uci "IC$k"2) times, want once"
	ok "killed at $fp: one CONTRL per interchange accepted ($want)"
done
# Each interchange 1 answered twice (once more per redelivery) but the
# last, each 2 once.
for k in 1 2 3 4; do
	w=2; [ "$k" -eq 4 ] && w=1
	[ "$(uci "IC$k"1)" -eq "$w" ] ||
	    fail "IC${k}1 answered $(uci "IC$k"1) times, want $w"
done
ok "one CONTRL per interchange, one more per redelivery"
# Our control numbers: UNB 0020 (and UNZ 0020 the same) used once each.
for f in "$OUT"/*; do
	tr -d '\n' <"$f" | tr "'" '\n' | grep '^UNB+' | cut -d+ -f6
done | sort >"$T/ours"
[ "$(wc -l <"$T/ours")" -eq "$want" ] || fail "not one UNB per file"
uniq -d "$T/ours" >"$T/dup"
[ ! -s "$T/dup" ] || fail "UNB 0020 used twice: $(cat "$T/dup")"
for f in "$OUT"/*; do
	b=$(tr -d '\n' <"$f" | tr "'" '\n' | grep '^UNB+' | cut -d+ -f6)
	z=$(tr -d '\n' <"$f" | tr "'" '\n' | grep '^UNZ+' | cut -d+ -f3)
	[ -n "$b" ] && [ "$b" = "$z" ] || fail "$f: UNB $b, UNZ $z"
done
ok "no UNB 0020 of ours used twice"
