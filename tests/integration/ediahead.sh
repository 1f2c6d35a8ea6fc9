#!/bin/sh
# ediahead.sh - an EDIFACT and an X12 interchange accepted with pass 1
# on one thread ([processing] parse_threads = 1), over two (= 2: a
# helper thread checks the entries ahead of the store thread, which
# checks some itself when the helper is behind, accept_ahead.c) and over
# three (= 3: two helpers) give the same rows, reasons and entry files. Each
# interchange holds 150 messages; in each, message 7 has a wrong trailer
# count (rejected alone, with its reason) and message 9 is larger than
# max_message_size (rejected unchecked). spoold runs --once on a fresh
# spool each time.
. "$(dirname "$0")/lib.sh"
set -e

command -v sqlite3 >/dev/null 2>&1 || { echo "SKIP: no sqlite3"; exit 77; }

# EDIFACT: N ORDERS, as bench-edi makes them, with the faults above.
edifact() {
	awk -v n=150 'BEGIN {
	printf "UNA:+.? \047\nUNB+UNOC:3+SENDER:ZZ+RECEIVER:ZZ+260101:1200+AHEAD1\047\n"
	for (i = 1; i <= n; i++) {
		po = i
		printf "UNH+%d+ORDERS:D:96A:UN\047\nBGM+220+PO%07d+9\047\n", i, po
		printf "DTM+137:20260101:102\047\nNAD+BY+4000001000005::9\047\n"
		printf "NAD+SU+4000001000012::9\047\n"
		segs = 7
		if (i == 9) {
			printf "FTX+AAI+++"
			for (k = 0; k < 1200; k++)
				printf "X"
			printf "\047\n"
			segs++
		}
		printf "UNS+S\047\nUNT+%d+%d\047\n", i == 7 ? 99 : segs, i
	}
	printf "UNZ+%d+AHEAD1\047\n", n
	}'
}

# X12: N 850s of one group, likewise.
x12() {
	awk -v n=150 'BEGIN {
	printf "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *260101*1200*^*00501*000000001*0*P*:~\n"
	printf "GS*PO*SENDER*RECEIVER*20260101*1200*1*X*005010~\n"
	for (i = 1; i <= n; i++) {
		po = i
		printf "ST*850*%09d~\nBEG*00*SA*PO%07d**20260101~\n", i, po
		printf "N1*BY*BUYER*92*4000001000005~\n"
		segs = 4
		if (i == 9) {
			printf "MSG*"
			for (k = 0; k < 1200; k++)
				printf "X"
			printf "~\n"
			segs++
		}
		printf "SE*%d*%09d~\n", i == 7 ? 99 : segs, i
	}
	printf "GE*%d*1~\nIEA*1*000000001~\n", n
	}'
}

# run THREADS: both files on a fresh spool; the store's rows and the
# entry files' names and hashes into $T/rows.THREADS.
run() {
	rm -rf "$T/spool"
	cat >"$T/spoold.conf" <<CONF
[spool]
directory = $T/spool
schemas = $top_srcdir/schemas
dialects = $top_srcdir/dialects
[log]
level = debug
[partner acme]
ids = ZZ:SENDER
[processing]
settle_time = 0s
max_message_size = 1K
parse_threads = $1
CONF
	$SPOOLD -c "$T/spoold.conf" --init >/dev/null
	mkdir -p "$T/spool/incoming/acme"
	edifact >"$T/spool/incoming/acme/orders.edi"
	x12 >"$T/spool/incoming/acme/po.x12"
	$SPOOLD -c "$T/spoold.conf" --once >"$T/log" 2>&1 ||
	    fail "spoold --once failed (parse_threads = $1)"
	[ "$1" -eq 1 ] || grep -q "status=pipeline parse_threads=$1" "$T/log" ||
	    fail "no pipeline with parse_threads = $1"
	DB=$T/spool/spool.db
	sql "SELECT id, state, orig_name, coalesce(reason, '-'), type,
	    coalesce(duplicate_of, 0), hex(sha256) FROM messages ORDER BY id" \
	    >"$T/rows.$1" || fail "cannot read the store"
	(cd "$T/spool" && find queue rejected done hold parked -type f \
	    2>/dev/null | sort | while read -r f; do
		printf '%s %s\n' "$f" "$(sha256sum <"$f" | cut -c1-64)"
	done) >"$T/files.$1"
}

run 1
run 2
cp "$T/log" "$T/log.2"
run 3

n=$(wc -l <"$T/rows.1")
[ "$n" -eq 300 ] || fail "$n rows, not 300"
cmp -s "$T/rows.1" "$T/rows.2" || {
	diff "$T/rows.1" "$T/rows.2" | head -n 20 >&2
	fail "the rows differ between one thread and two"
}
cmp -s "$T/files.1" "$T/files.2" || {
	diff "$T/files.1" "$T/files.2" | head -n 20 >&2
	fail "the entry files differ between one thread and two"
}
for t in 3; do
	cmp -s "$T/rows.1" "$T/rows.$t" || {
		diff "$T/rows.1" "$T/rows.$t" | head -n 20 >&2
		fail "the rows differ between one thread and $t"
	}
	cmp -s "$T/files.1" "$T/files.$t" || {
		diff "$T/files.1" "$T/files.$t" | head -n 20 >&2
		fail "the entry files differ between one thread and $t"
	}
done
ok "parse_threads 1, 2 and 3: the same $n rows and entry files"

# Pass 1 went through the helpers (event=ahead, one line per file).
[ "$(grep -c "event=ahead .*recorded=150 helpers=1 " "$T/log.2")" -eq 2 ] ||
    fail "parse_threads = 2: not both files through one helper"
[ "$(grep -c "event=ahead .*recorded=150 helpers=2 " "$T/log")" -eq 2 ] ||
    fail "parse_threads = 3: not both files through two helpers"
grep -h "event=ahead" "$T/log.2" "$T/log" | sed 's/.*event=/# event=/'
# The store thread checked entries too, rather than wait for a helper
# (it always may at a file's start: it takes entry 1 at once).
[ "$(grep -h "event=ahead" "$T/log.2" "$T/log" |
    sed -n 's/.* stolen=\([0-9]*\).*/\1/p' |
    awk '{ s += $1 } END { print s + 0 }')" -gt 0 ] ||
    fail "the store thread checked no entry itself"
ok "the store thread checks entries when the helpers are behind"

grep -q "message-7-ref-7|.*UNT segment count 99" "$T/rows.2" ||
    fail "EDIFACT message 7 is not rejected for its UNT count"
grep -q "message-7-ref-000000007|.*SE segment count 99" "$T/rows.2" ||
    fail "X12 message 7 is not rejected for its SE count"
[ "$(grep -c "message-9-.*more than max_message_size" "$T/rows.2")" -eq 2 ] ||
    fail "message 9 is not rejected as too large in both"
[ "$(grep -c "|rejected|" "$T/rows.2")" -eq 4 ] ||
    fail "not 4 rejected: $(grep -c "|rejected|" "$T/rows.2")"
[ "$(grep -c "|edifact.ORDERS|" "$T/rows.2")" -eq 148 ] ||
    fail "not 148 EDIFACT ORDERS read"
ok "rejected alone: a wrong trailer count, too large"
