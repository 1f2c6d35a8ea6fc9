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

R=${SPOOLD_REAL_SAMPLES:-$top_srcdir/../shared/samples/real}
[ -f "$R/x12-node-x12/850.edi" ] || { echo "no real samples: skipped"; exit 77; }

cat >"$T/h.sh" <<EOF
#!/bin/sh
cat >/dev/null
EOF
chmod +x "$T/h.sh"
cat >"$T/spoold.conf" <<EOF
[spool]
directory = $T/spool
schemas = $top_srcdir/schemas
dialects = $top_srcdir/dialects
our_ids = 01:999999999
[log]
level = debug
[route *]
handler = exec
command = $T/h.sh
[partner acme]
ids = 12:4405197800
ack = 997
[processing]
settle_time = 0s
EOF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null
DB=$T/spool/spool.db
OUT=$T/spool/outgoing/acme

# ic N: the 850 with interchange control number N (ISA13/IEA02).
ic() {
	n=$(printf '%09d' "$1")
	sed "s/\*000003438\*/*$n*/; s/^IEA\*1\*000003438/IEA*1*$n/" \
	    "$R/x12-node-x12/850.edi"
}
put() {
	mkdir -p "$T/spool/incoming/acme"
	ic "$1" >"$T/spool/incoming/acme/.$2"
	mv "$T/spool/incoming/acme/.$2" "$T/spool/incoming/acme/$2"
}
crash_at() {
	: >"$T/log"
	set +e
	SPOOLD_FAILPOINT=$1 timeout 60 $SPOOLD -c "$T/spoold.conf" --once \
	    >>"$T/log" 2>&1
	rc=$?
	set -e
	[ "$rc" -eq 137 ] || fail "failpoint $1 not reached (exit $rc)"
}
once() {
	: >"$T/log"
	timeout 60 $SPOOLD -c "$T/spoold.conf" --once >>"$T/log" 2>&1 ||
	    fail "spoold --once failed"
}
files() { find "$OUT" -maxdepth 1 -type f ! -name '.*' 2>/dev/null | wc -l; }

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
