#!/bin/sh
# ackcrash.sh - acknowledgments survive a crash (DESIGN 13, 16): spoold
# killed (SPOOLD_FAILPOINT) after the COMMIT that accepted X12
# interchanges and recorded their 997s but before the files were written
# (accept-commit, ack-write, outbound-write), or after they were renamed
# into outgoing/ but before the store noted it (outbound-mark), then
# started again: every accepted interchange has exactly one 997 file
# (plus one per redelivery), each row of ours is written once, and no
# control number of ours is used twice.
. "$(dirname "$0")/lib.sh"

real_samples x12-node-x12/850.edi
ack_spool 01:999999999 <<EOF
[partner acme]
ids = 12:4405197800
ack = 997
EOF
OUT=$T/spool/outgoing/acme

# ic N: the 850 with interchange control number N (ISA13/IEA02).
ic() {
	n=$(printf '%09d' "$1")
	sed "s/\*000003438\*/*$n*/; s/^IEA\*1\*000003438/IEA*1*$n/" \
	    "$R/x12-node-x12/850.edi"
}
put() {
	ic "$1" >"$T/ic"
	deliver acme "$T/ic" "$2"
}
files() { nout acme; }

k=0
want=0
for fp in accept-commit ack-write outbound-write outbound-mark; do
	k=$((k + 1))
	put $((k * 10 + 1)) "a$k-1.edi"
	put $((k * 10 + 2)) "a$k-2.edi"
	# A redelivery of an earlier one: a duplicate, acknowledged anew.
	[ "$k" -gt 1 ] && put $(((k - 1) * 10 + 1)) "a$k-again.edi"
	crash_at "$fp"
	once
	[ -z "$(ls -A "$T/spool/incoming/acme")" ] ||
	    fail "$fp: files left in incoming/"
	want=$((want + 2 + (k > 1 ? 1 : 0)))
	[ "$(files)" -eq "$want" ] ||
	    { ls -la "$OUT" >&2; fail "$fp: $(files) 997 files, want $want"; }
	[ "$(sql "SELECT count(*) FROM outbound WHERE type = 'x12.997'")" \
	    -eq "$want" ] || fail "$fp: 997 rows differ from files"
	[ "$(sql "SELECT count(*) FROM outbound WHERE written_at IS NULL")" \
	    = 0 ] || fail "$fp: rows left unwritten"
	ok "killed at $fp: one 997 per interchange accepted ($want)"
done
# Our control numbers: ISA13, GS06 and ST02 each used once.
for f in "$OUT"/*; do
	tr '~' '\n' <"$f" | grep '^ISA\*' | cut -d'*' -f14
done | sort | uniq -d >"$T/dup"
[ ! -s "$T/dup" ] || fail "ISA13 used twice: $(cat "$T/dup")"
for f in "$OUT"/*; do
	tr '~' '\n' <"$f" | grep '^GS\*' | cut -d'*' -f7
done | sort | uniq -d >"$T/dup"
[ ! -s "$T/dup" ] || fail "GS06 used twice: $(cat "$T/dup")"
ok "no control number of ours used twice"
