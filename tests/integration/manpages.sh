#!/bin/sh
# manpages.sh - the man pages render without a single warning, and
# every cross-reference (Sx) names a section that exists.
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

# Every section a page points to (Sx, on its own page or "in" another
# page's Xr) exists: man(1) and groff say nothing of a missing one
# (issue 16: spoolctl(8) pointed to a section it did not have).
xref=$(cd "$top_srcdir" && awk '
function base(f) { sub(/.*\//, "", f); return f }
FNR == 1 { page = base(FILENAME); pages[page] = 1 }
/^\.S[hs] / { t = $0; sub(/^\.S[hs] /, "", t); sec[page SUBSEP t] = 1 }
{ line[page, FNR] = $0; nlines[page] = FNR }
END {
	for (p in pages)
		for (i = 1; i <= nlines[p]; i++) {
			l = line[p, i]
			if (l !~ /^\./ || l !~ /(^\.| )Sx /)
				continue
			n = split(l, w, " ")
			for (k = 1; k <= n; k++) {
				if (w[k] != "Sx" && w[k] != ".Sx")
					continue
				t = ""
				for (j = k + 1; j <= n; j++) {
					if (w[j] ~ /^(No|Ns|Pc|Qc|Dc|Ec|Xr)$/ ||
					    (w[j] ~ /^[.,;:()\]]+$/ &&
					    !(w[j] == "]" && t ~ /\[/)))
						break
					t = t (t == "" ? "" : " ") w[j]
				}
				tgt = p
				if (w[j] == "No" && w[j + 1] == "in" &&
				    w[j + 2] == "Xr")
					tgt = w[j + 3] "." w[j + 4]
				else if (j > n && line[p, i + 1] == "in" &&
				    line[p, i + 2] ~ /^\.Xr [^ ]+ [0-9]/) {
					split(line[p, i + 2], x, " ")
					tgt = x[2] "." x[3]
				}
				if ((tgt in pages) && !((tgt SUBSEP t) in sec))
					printf "%s:%d: Sx %s: no section of %s\n",
					    p, i, t, tgt
			}
		}
}
' $pages)
if [ -n "$xref" ]; then
	echo "FAIL: cross-references to sections that do not exist:"
	printf '%s\n' "$xref" | sed 's/^/    /'
	fail=1
else
	echo "ok: every Sx names an existing section"
fi

exit $fail
