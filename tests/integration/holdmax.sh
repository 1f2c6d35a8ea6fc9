#!/bin/sh
# holdmax.sh - a burst of large files stays within the memory bound of
# issue 20, part 5 (peak RSS under 48 MiB): an acceptance batch holds
# the bytes of its uploads until their move only up to a bound of its
# own (spool/accept.c, HOLD_MAX) well under that, whatever the files
# weigh. 256 InventoryMovements of about 256 KiB each (64 MiB, one
# batch: a comment pads them) dropped at once, `spoold --once`: all
# done, peak RSS (GNU time) under 48 MiB. (A bound of 64 MiB held them
# all: about 90 MiB.) Skipped without GNU time, under valgrind, and for
# a sanitized build, whose memory is not the program's.
. "$(dirname "$0")/lib.sh"

/usr/bin/time -f %M -o /dev/null true 2>/dev/null ||
    { echo "no GNU /usr/bin/time"; exit 77; }
[ -z "$VALGRIND" ] || { echo "under valgrind"; exit 77; }
if ldd "$top_builddir/spoold/spoold" 2>/dev/null |
    grep -q 'libasan\|libubsan\|libtsan'; then
	echo "a sanitized build"
	exit 77
fi

ledger_spool
sed -i 's/^level = debug$/level = notice/' "$T/spoold.conf"
mkdir -p "$T/spool/incoming/acme"
head -c 262144 /dev/zero | tr '\0' x >"$T/pad"
n=256
i=1
while [ "$i" -le "$n" ]; do
	{
		mv_msg acme "TX$i" 1 3 | sed '$d'
		printf '<!-- '
		cat "$T/pad"
		printf ' -->\n</InventoryMovement>\n'
	} >"$T/spool/incoming/acme/m$i.xml"
	i=$((i + 1))
done
/usr/bin/time -f %M -o "$T/rss" $SPOOLD -c "$T/spoold.conf" --once \
    >"$T/log" 2>&1 || fail "spoold --once failed"
DB=$T/spool/spool.db
done_n=$(count done)
[ "$done_n" -eq "$n" ] || fail "$done_n of $n in done/"
rss=$(tail -n 1 "$T/rss")
echo "peak RSS: $rss KiB"
[ "$rss" -lt 49152 ] ||
    fail "peak RSS $rss KiB with $n files of 256 KiB: not under 48 MiB"
ok "a burst of $n x 256 KiB: all done, peak RSS $rss KiB (< 48 MiB)"
