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
write_conf() {
	cat >"$T/spoold.conf" <<CONF
[spool]
directory = $T/spool
schemas = $top_srcdir/schemas
[processing]
settle_time = 0s
[log]
level = debug
CONF
}

set -e
