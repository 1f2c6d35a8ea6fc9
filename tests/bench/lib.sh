# lib.sh - shared by the benchmarks in tests/bench/ (bench-accept,
# bench-process): where the programs are, a temp directory removed on
# exit, the machine, timing, the floor program, the test messages and
# spoold's configuration, spool and exit line.
#
# Source it after setting $me (the benchmark's name, for messages). It
# sets $SRCDIR (the source tree) and $BENCHDIR (this directory), and
# traps exit so that $T, made by bench_tmpdir under ${TMPDIR:-/tmp}, is
# removed at the end, also on failure, ^C or SIGTERM (and a daemon left
# in $DAEMON_PID is killed). Nothing here needs more than POSIX sh, awk,
# date with %N (GNU coreutils), cc, pkg-config and sqlite3's headers;
# GNU /usr/bin/time is used for peak RSS when present.

# shellcheck shell=sh disable=SC2034 # it sets variables for its callers

set -eu
: "${me:=bench}"

SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
BENCHDIR=$SRCDIR/tests/bench
T=
DAEMON_PID=

bench_cleanup() {
	if [ -n "$DAEMON_PID" ]; then
		kill -KILL "$DAEMON_PID" 2>/dev/null || true
		wait "$DAEMON_PID" 2>/dev/null || true
	fi
	[ -z "$T" ] || rm -rf "$T"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() {
	echo "$me: $*" >&2
	exit 1
}

bench_tmpdir() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/spoold-bench.XXXXXX") ||
	    die "cannot make a temp directory under ${TMPDIR:-/tmp}"
}

# find_builddir: set $BUILD to the build tree holding spoold/spoold:
# $BUILDDIR if set, else ./build, else the source tree (built in place).
find_builddir() {
	if [ -n "${BUILDDIR:-}" ]; then
		BUILD=$BUILDDIR
	elif [ -x ./build/spoold/spoold ]; then
		BUILD=$(cd ./build && pwd)
	else
		BUILD=$SRCDIR
	fi
	[ -x "$BUILD/spoold/spoold" ] ||
	    die "no spoold in $BUILD/spoold: build it first, or set BUILDDIR"
	SPOOLD=$BUILD/spoold/spoold
	SPOOLCTL=$BUILD/spoold/spoolctl
}

# build_floor: compile floor.c into $T/floor.
build_floor() {
	# shellcheck disable=SC2046 # pkg-config's words are meant to split
	"${CC:-cc}" -O2 -o "$T/floor" "$BENCHDIR/floor.c" \
	    $(pkg-config --cflags --libs sqlite3) ||
	    die "cannot build floor.c (needs cc, pkg-config and sqlite3's" \
	    "development files)"
}

# gen [GENOPTS] N DIR: N test messages into DIR (see gen.sh).
gen() {
	sh "$BENCHDIR/gen.sh" "$@"
}

# write_conf: $T/spoold.conf for a spool in $T/spool: schemas from the
# source tree, log level notice (no line per message, but the exit
# line), settle_time 0 (files found by the start-up scan are taken at
# once), parse_threads from $PARSE_THREADS (default: spoold's, one per
# core; 1 accepts on one thread), and the generated type routed to the
# built-in ledger.
write_conf() {
	cat >"$T/spoold.conf" <<CONF
[spool]
directory = $T/spool
schemas = $SRCDIR/schemas
[log]
level = notice
[processing]
settle_time = 0s
${PARSE_THREADS:+parse_threads = $PARSE_THREADS}
[route FinancialPosting]
handler = ledger
CONF
}

# new_spool: a fresh, empty spool in $T/spool (spoold --init) with the
# partner directory incoming/acme/.
new_spool() {
	rm -rf "$T/spool"
	"$SPOOLD" -c "$T/spoold.conf" --init >"$T/init.log" 2>&1 ||
	    { cat "$T/init.log" >&2; die "spoold --init failed"; }
	mkdir -p "$T/spool/incoming/acme"
}

# count DIR: regular files in a spool state directory, sidecars not
# counted.
count() {
	find "$T/spool/$1" -maxdepth 1 -type f ! -name '*.reason' | wc -l |
	    tr -d ' '
}

# store_count STATE: rows of the store in STATE ("all": every row);
# "n/a" without sqlite3.
store_count() {
	command -v sqlite3 >/dev/null 2>&1 || { echo n/a; return; }
	if [ "$1" = all ]; then
		sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM messages"
	else
		sqlite3 "$T/spool/spool.db" \
		    "SELECT count(*) FROM messages WHERE state = '$1'"
	fi
}

# exit_stats LOG: from spoold's exit line in LOG ("event=exit status=0
# accepted=N accept_ms=X processed=M process_ms=Y store_peak_kb=K") set
# $x_accepted, $x_accept_ms, $x_processed, $x_process_ms and $x_store_kb
# (empty from a spoold older than store_peak_kb). Fails the benchmark
# when the line is missing.
exit_stats() {
	line=$(grep 'event=exit ' "$1" | tail -n 1) || line=
	[ -n "$line" ] ||
	    { tail -n 20 "$1" >&2; die "no exit line in spoold's log"; }
	x_accepted=; x_accept_ms=; x_processed=; x_process_ms=; x_store_kb=
	for w in $line; do
		case $w in
		store_peak_kb=*) x_store_kb=${w#*=} ;;
		accepted=*) x_accepted=${w#*=} ;;
		accept_ms=*) x_accept_ms=${w#*=} ;;
		processed=*) x_processed=${w#*=} ;;
		process_ms=*) x_process_ms=${w#*=} ;;
		esac
	done
	case $x_accepted$x_accept_ms$x_processed$x_process_ms in
	'' | *[!0-9]*) die "cannot read spoold's exit line: $line" ;;
	esac
}

# check_done N: all N messages accepted and processed: every row of the
# store done, N files in done/, none rejected, failed, deferred, parked
# or queued, incoming/ empty. With sqlite3, the postings balance and
# cover N messages. Shows the log's tail and fails otherwise.
check_done() {
	cd_done=$(count 'done')
	cd_bad=
	for cd_st in queue parked deferred failed rejected; do
		cd_c=$(count "$cd_st")
		[ "$cd_c" -eq 0 ] || cd_bad="$cd_bad $cd_st=$cd_c"
	done
	cd_c=$(find "$T/spool/incoming" -type f | wc -l | tr -d ' ')
	[ "$cd_c" -eq 0 ] || cd_bad="$cd_bad incoming=$cd_c"
	if [ "$cd_done" -ne "$1" ] || [ -n "$cd_bad" ]; then
		tail -n 20 "$T/spoold.log" >&2
		die "spoold did not process all $1 messages:" \
		    "done=$cd_done$cd_bad"
	fi
	command -v sqlite3 >/dev/null 2>&1 || return 0
	cd_rows=$(store_count all)
	cd_done=$(store_count 'done')
	if [ "$cd_rows" -ne "$1" ] || [ "$cd_done" -ne "$1" ]; then
		die "the store has $cd_rows messages, $cd_done done, not $1"
	fi
	# shellcheck disable=SC2046 # two numbers
	set -- "$1" $(sqlite3 -separator ' ' "$T/spool/spool.db" \
	    "SELECT count(DISTINCT message), sum(debit) - sum(credit) FROM \
	    v_postings")
	if [ "$2" -ne "$1" ] || [ "$3" -ne 0 ]; then
		die "the ledger has postings of $2 messages (not $1)," \
		    "debits - credits = $3 (not 0)"
	fi
}

# Peak RSS needs GNU time's %M; without it, "n/a".
if /usr/bin/time -f %M -o /dev/null true 2>/dev/null; then
	HAVE_TIME=1
else
	HAVE_TIME=0
fi

# now: wall-clock seconds with nanoseconds.
now() {
	date +%s.%N
}

# timed NAME CMD...: run CMD with stdout+stderr in $T/NAME.log; set
# $secs (wall clock), $cpu (user + system seconds) and $rss (peak
# resident set in KiB); the last two are n/a without GNU time. Fails the
# benchmark if CMD fails.
timed() {
	name=$1
	shift
	t0=$(now)
	if [ "$HAVE_TIME" = 1 ]; then
		/usr/bin/time -f '%M %U %S' -o "$T/$name.rss" "$@" >"$T/$name.log" 2>&1 ||
		    { tail -n 20 "$T/$name.log" >&2; die "$name failed: $*"; }
	else
		"$@" >"$T/$name.log" 2>&1 ||
		    { tail -n 20 "$T/$name.log" >&2; die "$name failed: $*"; }
	fi
	t1=$(now)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	rss=n/a
	cpu=n/a
	if [ "$HAVE_TIME" = 1 ]; then
		# shellcheck disable=SC2046 # three words
		set -- $(tail -n 1 "$T/$name.rss")
		rss=$1
		cpu=$(awk -v u="$2" -v s="$3" 'BEGIN { printf "%.2f", u + s }')
	fi
}

# rate N SECS: messages per second, as an integer.
rate() {
	awk -v n="$1" -v s="$2" 'BEGIN { printf "%d", (s > 0 ? n / s : 0) }'
}

# rate_ms N MS: messages per second from milliseconds, as an integer.
rate_ms() {
	awk -v n="$1" -v ms="$2" \
	    'BEGIN { printf "%d", (ms > 0 ? n * 1000 / ms : 0) }'
}

# ratio A B: A / B with two decimals; "n/a" unless both are numbers
# and B is not 0.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
	    if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 == 0)
		print "n/a"
	    else
		printf "%.2f", a / b }'
}

# median WORDS...: the median of numbers (the lower middle for an even
# count); "n/a" when any is not a number.
median() {
	printf '%s\n' "$@" | awk '
	    !/^[0-9.]+$/ { bad = 1 }
	    { v[NR] = $1 }
	    END {
		if (bad || NR == 0) { print "n/a"; exit }
		for (i = 2; i <= NR; i++)
			for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
				t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
			}
		print v[int((NR + 1) / 2)]
	    }'
}

# fs_type DIR: the file system type of DIR, with its mount options when
# findmnt (util-linux) is there; else df -T's name ("ext4"); else stat
# -f's (which calls ext4 "ext2/ext3").
fs_type() {
	t=$(findmnt -n -o FSTYPE,OPTIONS -T "$1" 2>/dev/null |
	    awk 'NR == 1 { print $1 ", " $2 }') || t=
	[ -n "$t" ] ||
	    t=$(df -PT "$1" 2>/dev/null | awk 'NR == 2 { print $2 }') || t=
	[ -n "$t" ] || t=$(stat -f -c %T "$1" 2>/dev/null) || t=unknown
	echo "$t"
}

# print_machine: what the figures were measured on.
print_machine() {
	cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo \
	    2>/dev/null)
	mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' \
	    /proc/meminfo 2>/dev/null)
	echo "machine:  ${cpu:-unknown cpu}, $(nproc 2>/dev/null || echo ?) CPUs," \
	    "${mem:-? GiB} RAM"
	echo "kernel:   $(uname -sr)"
	echo "temp dir: ${TMPDIR:-/tmp} ($(fs_type "$T"))"
}
