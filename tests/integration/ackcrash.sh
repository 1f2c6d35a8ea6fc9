#!/bin/sh
# ackcrash.sh - acknowledgments survive a crash (DESIGN 13, 16): spoold
# killed (SPOOLD_FAILPOINT) after the COMMIT that accepted X12
# interchanges and recorded their 997s but before the files were written
# (accept-commit, ack-write, outbound-write), or after they were renamed
# into outgoing/ but before the store noted it (outbound-mark), then
# started again: every accepted interchange has exactly one 997 file
# (plus one per redelivery), each row of ours is written once, and no
# control number of ours is used twice. Then, as crash.sh does, the
# daemon killed with SIGKILL at random moments while it accepts a stream
# of interchanges (some redelivered), and restarted: the same holds, each
# interchange answered by its own 997 (AK1 naming its GS06).
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

# Random kills: 8 slices of interchanges 101.. (GS06 = ISA13 = N), each
# slice with a redelivery of the one before; spoold started and killed
# at a random moment, 0 to 0.25 s into the run, once per slice.
gs() {
	ic "$1" | sed "s/\*1421\*X\*/*$1*X*/; s/^GE\*1\*1421/GE*1*$1/" \
	    >"$T/ic"
	deliver acme "$T/ic" "$2"
}
before=$(files)
i=0
while [ "$i" -lt 8 ]; do
	for j in 1 2 3; do
		gs $((100 + i * 3 + j)) "r$i-$j.edi"
	done
	[ "$i" -gt 0 ] && gs $((100 + i * 3)) "r$i-again.edi"
	: >"$T/log"
	$SPOOLD -c "$T/spoold.conf" >>"$T/log" 2>&1 &
	DAEMON_PID=$!
	# The sleep is the crash's timing, not a synchronisation.
	sleep "0.$(shuf -i 0-25 -n 1 | xargs printf '%02d')"
	kill -KILL "$DAEMON_PID" 2>/dev/null || true
	wait "$DAEMON_PID" 2>/dev/null || true
	DAEMON_PID=
	i=$((i + 1))
done
mid=$(($(files) - before))
once
[ -z "$(ls -A "$T/spool/incoming/acme")" ] || fail "files left in incoming/"
# ak1 N: how many 997 files answer the group N.
ak1() {
	for f in "$OUT"/*; do
		tr -d '\r\n' <"$f" | tr '~' '\n' | grep -qx "AK1\*PO\*$1" &&
		    echo "$f"
	done | wc -l
}
n=101
while [ "$n" -le 124 ]; do
	w=1
	[ "$n" -le 121 ] && [ $(((n - 100) % 3)) -eq 0 ] && w=2
	[ "$(ak1 "$n")" -eq "$w" ] ||
	    fail "interchange $n answered by $(ak1 "$n") 997s, want $w"
	n=$((n + 1))
done
[ "$(files)" -eq $((before + 24 + 7)) ] ||
    fail "$(files) 997 files, want $((before + 24 + 7))"
[ "$(sql "SELECT count(*) FROM outbound WHERE written_at IS NULL")" = 0 ] ||
    fail "rows left unwritten after the random kills"
for f in "$OUT"/*; do
	tr '~' '\n' <"$f" | grep '^ISA\*' | cut -d'*' -f14
done | sort | uniq -d >"$T/dup"
[ ! -s "$T/dup" ] || fail "ISA13 used twice: $(cat "$T/dup")"
ok "killed 8 times at random ($mid of 31 997s written before the last" \
    "run): one per interchange (two when redelivered), no ISA13 twice"
