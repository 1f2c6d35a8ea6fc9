# lib.sh - shared by the integration tests: paths, a temp spool, cleanup.
#
# Source it first. It sets $T (a fresh temp directory, removed on exit,
# also on failure), $SPOOLD and $SPOOLCTL (the built programs, under
# $VALGRIND when set), and gives fail, expect_exit and the daemon helpers.

set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${VALGRIND:=}"
SHARED="$top_srcdir/../shared"
SPOOLD="$VALGRIND $top_builddir/spoold/spoold"
SPOOLCTL="$VALGRIND $top_builddir/spoold/spoolctl"
T=$(mktemp -d "${TMPDIR:-/tmp}/spoold-test.XXXXXX")
DAEMON_PID=

cleanup() {
	if [ -n "$DAEMON_PID" ]; then
		kill -KILL "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*" >&2
	if [ -s "$T/log" ]; then
		echo "--- spoold's log (last 30 lines):" >&2
		tail -n 30 "$T/log" >&2
	fi
	exit 1
}

ok() {
	echo "ok - $*"
}

# expect_exit CODE CMD...: run CMD, its stdout+stderr into $T/out.
expect_exit() {
	want=$1
	shift
	set +e
	"$@" >"$T/out" 2>&1
	got=$?
	set -e
	[ "$got" -eq "$want" ] || {
		cat "$T/out" >&2
		fail "exit $got, want $want: $*"
	}
}

# expect_out TEXT: $T/out contains TEXT (fixed string).
expect_out() {
	grep -qF -- "$1" "$T/out" || {
		cat "$T/out" >&2
		fail "output lacks: $1"
	}
}

# A config for a test spool at $T/spool using the source tree's schemas.
# [processing] comes last: a test may append keys of its own to it.
write_conf() {
	cat >"$T/spoold.conf" <<CONF
[spool]
directory = $T/spool
schemas = $top_srcdir/schemas
dialects = $top_srcdir/dialects
[log]
level = debug
[processing]
settle_time = 0s
CONF
}

# fail_route: a route that fails every message it is given permanently
# ([route *] to the ledger, which takes none of the sample types but its
# own), put before [processing]. With no route at all, a message is held
# (our mistake, DESIGN 18), not failed.
fail_route() {
	sed -i 's/^\[processing\]$/[route *]\nhandler = ledger\n[processing]/' \
	    "$T/spoold.conf"
}

set -e

# ledger_spool [TYPE]: write_conf with TYPE (InventoryMovement, or * for
# every type) routed to the ledger, and the spool made (--init); DB names
# its store.
ledger_spool() {
	write_conf
	cat >>"$T/spoold.conf" <<CONF
[route ${1:-InventoryMovement}]
handler = ledger
CONF
	$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
	DB=$T/spool/spool.db
}

# own_copies: schemas and dialects copied under $T, world-readable, and
# the config pointed at them, for an unprivileged spoold: the source tree
# may lie below a directory only root can enter (a CI clone in a 0700
# mktemp directory).
own_copies() {
	cp -r "$top_srcdir/schemas" "$T/schemas"
	cp -r "$top_srcdir/dialects" "$T/dialects"
	chmod -R a+rX "$T/schemas" "$T/dialects"
	sed -i -e "s|^schemas = .*|schemas = $T/schemas|" \
	    -e "s|^dialects = .*|dialects = $T/dialects|" "$T/spoold.conf"
}

# ctl ARGS: spoolctl on this spool. sql QUERY: its store, read with
# sqlite3 ($DB).
ctl() {
	$SPOOLCTL -c "$T/spoold.conf" "$@"
}
sql() {
	# A busy timeout: spoold may be writing (WAL readers rarely wait).
	sqlite3 -cmd ".timeout 5000" "$DB" "$1"
}

# count DIR: regular message files in a spool directory (no sidecars).
count() {
	find "$T/spool/$1" -maxdepth 1 -type f ! -name '*.reason' | wc -l
}

# wait_until SECONDS 'SHELL CONDITION': re-check the condition each time
# something changes in the spool (inotifywait), at least once a second,
# until it holds or SECONDS pass.
wait_until() {
	limit=$1
	shift
	end=$(($(date +%s) + limit))
	while ! eval "$1"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		inotifywait -qq -r -t 1 -e create,moved_to,close_write,delete \
		    "$T/spool" "$T/log" 2>/dev/null || true
	done
}

# start_daemon [ARGS]: run spoold in the background, log in $T/log.
start_daemon() {
	: >"$T/log"
	$SPOOLD -c "$T/spoold.conf" "$@" >>"$T/log" 2>&1 &
	DAEMON_PID=$!
	wait_until 20 'grep -q "event=start" "$T/log"' ||
	    { cat "$T/log" >&2; fail "spoold did not start"; }
}

# stop_daemon: SIGTERM, then expect exit 0.
stop_daemon() {
	kill -TERM "$DAEMON_PID"
	set +e
	wait "$DAEMON_PID"
	rc=$?
	set -e
	DAEMON_PID=
	[ "$rc" -eq 0 ] || { cat "$T/log" >&2; fail "spoold exited $rc"; }
}

# drop PARTNER NAME < content: write a file in place into incoming/.
drop() {
	mkdir -p "$T/spool/incoming/$1"
	cat >"$T/spool/incoming/$1/$2"
}

# msg PARTNER TX SEQ [TYPE]: a small valid native message on stdout.
msg() {
	cat <<XML
<?xml version="1.0" encoding="UTF-8"?>
<${4:-ProductInfo}>
  <Header>
    <MessageId>$1-$2-$3</MessageId>
    <Sender>$1</Sender>
$( [ "$2" = - ] || printf '    <TransactionId>%s</TransactionId>\n    <SenderSequence>%s</SenderSequence>\n    <ReceiverSequence>0</ReceiverSequence>\n' "$2" "$3")
  </Header>
  <Body><Item>SKU-$3</Item></Body>
</${4:-ProductInfo}>
XML
}

# mv_msg PARTNER TX SEQ QTY: an InventoryMovement of ITEM-PARTNER-TX.
mv_msg() {
	cat <<XML
<?xml version="1.0" encoding="UTF-8"?>
<InventoryMovement>
  <Header>
    <MessageId>$1-$2-$3</MessageId>
    <Sender>$1</Sender>
    <TransactionId>$2</TransactionId>
    <SenderSequence>$3</SenderSequence>
    <ReceiverSequence>0</ReceiverSequence>
  </Header>
  <Body><Item>ITEM-$1-$2</Item><Warehouse>W1</Warehouse><Quantity>$4</Quantity></Body>
</InventoryMovement>
XML
}

# ledger_workload DIR: 3 partners x 8 transactions of 2..9 movements
# (+3 at odd sequence numbers, -3 at even ones, so only in-order,
# exactly-once application keeps stock >= 0 and ends at 0 or 3), plus a
# redelivered copy of every 10th file. Files are named PARTNER,TX,SEQ.
# Sets WL_TOTAL (distinct messages) and WL_DUPS.
ledger_workload() {
	mkdir -p "$1"
	WL_TOTAL=0
	WL_DUPS=0
	for p in acme globex initech; do
		for t in 1 2 3 4 5 6 7 8; do
			n=$(( (t % 9) + 1 ))
			s=1
			while [ "$s" -le "$n" ]; do
				q=3
				[ $((s % 2)) -eq 0 ] && q=-3
				mv_msg "$p" "TX$t" "$s" "$q" >"$1/$p,TX$t,$s.xml"
				WL_TOTAL=$((WL_TOTAL + 1))
				if [ $((WL_TOTAL % 10)) -eq 0 ]; then
					cp "$1/$p,TX$t,$s.xml" "$1/$p,TX$t,$s.dup.xml"
					WL_DUPS=$((WL_DUPS + 1))
				fi
				s=$((s + 1))
			done
		done
	done
}

# check_ledger: every (partner, TX) balance of ledger_workload is exact.
check_ledger() {
	for p in acme globex initech; do
		for t in 1 2 3 4 5 6 7 8; do
			n=$(( (t % 9) + 1 ))
			want_q=$(( 3 * (n % 2) ))
			got=$(sqlite3 "$T/spool/spool.db" "SELECT quantity FROM \
			    v_stock WHERE item = 'ITEM-$p-TX$t'")
			[ "$got" = "$want_q" ] ||
			    fail "ITEM-$p-TX$t balance $got, want $want_q"
		done
	done
}

# drop_file NAME: move $T/work/NAME into incoming/PARTNER/ (the part of
# NAME before the first comma) through a dot-file, as SFTP clients do.
drop_file() {
	p=${1%%,*}
	mkdir -p "$T/spool/incoming/$p"
	cp "$T/work/$1" "$T/spool/incoming/$p/.$1"
	mv "$T/spool/incoming/$p/.$1" "$T/spool/incoming/$p/$1"
}

# limit_memory KB: cap the virtual memory of this test and the spoold it
# starts, so that a regression on a bomb fails the test instead of
# exhausting the machine. Sanitizer builds reserve terabytes of address
# space for their shadow memory and are left uncapped.
limit_memory() {
	sanitized && return 0
	ulimit -v "$1"
}

# sanitized: is spoold built with AddressSanitizer or ThreadSanitizer
# (which cost memory and reserve address space)?
sanitized() {
	ldd "$top_builddir/spoold/spoold" 2>/dev/null | grep -q 'lib[at]san'
}

# The acknowledgment tests (acks*.sh, ackcrash*.sh) and other EDI ones.
#
# real_samples FILE: R names the real public samples (../shared/samples/
# real, or $SPOOLD_REAL_SAMPLES); the test is skipped when FILE (a path
# below R; empty: R itself) is not there.
real_samples() {
	R=${SPOOLD_REAL_SAMPLES:-$top_srcdir/../shared/samples/real}
	[ -e "$R/$1" ] || { echo "no real samples at $R: skipped"; exit 77; }
}

# ack_spool OUR_IDS < SECTIONS: a spool whose every type goes to exec
# with $T/h.sh (a sink reading the message and exiting 0, unless the test
# wrote its own first), [spool] our_ids OUR_IDS, and SECTIONS (the
# partners, their ack keys, other sections) before [processing], which
# comes last as in write_conf. Made (--init); DB names its store.
ack_spool() {
	[ -f "$T/h.sh" ] || printf '#!/bin/sh\ncat >/dev/null\n' >"$T/h.sh"
	chmod +x "$T/h.sh"
	{
		cat <<CONF
[spool]
directory = $T/spool
schemas = $top_srcdir/schemas
dialects = $top_srcdir/dialects
our_ids = $1
[log]
level = debug
[route *]
handler = exec
command = $T/h.sh
CONF
		cat
		printf '[processing]\nsettle_time = 0s\n'
	} >"$T/spoold.conf"
	$SPOOLD -c "$T/spoold.conf" --init >/dev/null
	DB=$T/spool/spool.db
}

# deliver PARTNER FILE NAME: FILE into incoming/PARTNER/ as NAME, through
# a dot-file, as SFTP clients do.
deliver() {
	mkdir -p "$T/spool/incoming/$1"
	cp "$2" "$T/spool/incoming/$1/.$3"
	mv "$T/spool/incoming/$1/.$3" "$T/spool/incoming/$1/$3"
}

# seg FILE TAG: the X12 segments with TAG, one a line ('~' ends them).
seg() { tr '~' '\n' <"$1" | tr -d '\r' | grep "^$2\*" || true; }

# nout PARTNER: the files in outgoing/PARTNER/. newest PARTNER: the
# newest of them, by outbound ID (the name's fifth field).
nout() {
	find "$T/spool/outgoing/$1" -maxdepth 1 -type f ! -name '.*' \
	    2>/dev/null | wc -l
}
newest() { ls "$T/spool/outgoing/$1" | sort -t, -k5n | tail -n 1; }

# crash_at FAILPOINT: run spoold --once until the failpoint kills it.
# once: run spoold --once, which must exit 0. Both log in $T/log.
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
