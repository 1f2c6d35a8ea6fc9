#!/bin/sh
# manpages.sh - the man pages render without a single warning.
#
# Each page in spoold/ is formatted by man(1) with every groff warning
# enabled, at 80 columns, as a user would see it; any line on standard
# error fails the test. Where groff and mandoc are installed, they check
# the page too (groff -ww, mandoc -Tlint at level warning). Exit 0 pass,
# 1 fail, 77 skip (no man).

if [ -z "${top_srcdir:-}" ]; then
	top_srcdir=$(cd "$(dirname "$0")/../.." && pwd) || exit 1
fi
pages="spoold/spoold.8 spoold/spoolctl.8 spoold/spoold.conf.5 spoold/spoold-http.7"

if ! command -v man >/dev/null 2>&1; then
	echo "manpages.sh: SKIP: man is not installed"
	exit 77
fi

fail=0

# report PAGE TOOL OUTPUT: fail on any output.
report()
{
	if [ -n "$3" ]; then
		echo "FAIL: $1: $2 warns:"
		printf '%s\n' "$3" | sed 's/^/    /'
		fail=1
	fi
}

for p in $pages; do
	page=$top_srcdir/$p
	before=$fail
	if [ ! -r "$page" ]; then
		echo "FAIL: $page: missing"
		fail=1
		continue
	fi

	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=w -E UTF-8 \
	    -l "$page" 2>&1 >/dev/null)
	report "$p" "man -l" "$out"

	if command -v groff >/dev/null 2>&1; then
		out=$(LC_ALL=C.UTF-8 groff -mandoc -ww -z "$page" 2>&1)
		report "$p" "groff -mandoc -ww" "$out"
	fi

	if command -v mandoc >/dev/null 2>&1; then
		out=$(mandoc -Tlint -Wwarning "$page" 2>&1)
		report "$p" "mandoc -Tlint" "$out"
	fi

	if [ "$fail" -eq "$before" ]; then
		echo "ok: $p"
	fi
done

exit $fail
