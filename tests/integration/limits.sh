#!/bin/sh
# limits.sh - what a partner's XML may make the parser do, with the real
# daemon: a 200,000-attribute message (2.2 MB, under max_message_size)
# is rejected within seconds, naming max_attributes, while another
# partner's ordinary file dropped at the same moment goes through to the
# exec program at once; a document followed by a NUL and junk, or by a
# second document, is rejected and never reaches the exec program; a
# lowered bound from spoold.conf is the one applied.
. "$(dirname "$0")/lib.sh"

cat >"$T/h.sh" <<HANDLER
#!/bin/sh
cat >"$T/stdin.\$SPOOLD_MESSAGE_ID"
echo "\$SPOOLD_PARTNER|\$SPOOLD_FILE" >>"$T/calls.log"
HANDLER
chmod +x "$T/h.sh"
: >"$T/calls.log"

write_conf
cat >>"$T/spoold.conf" <<CONF
max_message_size = 4M
max_depth = 10
[route ExecLog]
handler = exec
command = $T/h.sh
CONF
expect_exit 0 $SPOOLD -c "$T/spoold.conf" --init
mkdir -p "$T/work" "$T/spool/incoming/evil" "$T/spool/incoming/good"
start_daemon

# Seconds for what takes milliseconds; more under valgrind. Without the
# bounds libxml2 alone needs minutes for this file.
bound=5
[ -z "$VALGRIND" ] || bound=60

# --- 200,000 attributes next to an ordinary file --------------------
awk 'BEGIN {
	printf "<ExecLog><Header><Sender>evil</Sender></Header><Body><Line"
	for (i = 0; i < 200000; i++)
		printf " a%d=\"1\"", i
	printf "/></Body></ExecLog>\n"
}' >"$T/work/attrs.xml"
size=$(wc -c <"$T/work/attrs.xml")
[ "$size" -gt 2000000 ] && [ "$size" -lt 4194304 ] ||
    fail "attack file is $size bytes"
msg good - 1 ExecLog >"$T/work/ordinary.xml"

start=$(date +%s)
mv "$T/work/attrs.xml" "$T/spool/incoming/evil/attrs.xml"
mv "$T/work/ordinary.xml" "$T/spool/incoming/good/ordinary.xml"
wait_until "$bound" 'grep -q "^good|" "$T/calls.log" &&
    ls "$T/spool/rejected" | grep -q "evil,attrs.xml.*reason"' ||
    fail "not both done within ${bound}s: the loop was held"
elapsed=$(($(date +%s) - start))
grep -q "element Line has more than 64 attributes (max_attributes" \
    "$T"/spool/rejected/evil,attrs.xml,*.reason ||
    { cat "$T"/spool/rejected/evil,attrs.xml,*.reason >&2;
      fail "attack reason"; }
! grep -q "^evil|" "$T/calls.log" || fail "attack reached exec"
ok "200,000 attributes rejected and an ordinary file processed in" \
    "${elapsed}s (bound ${bound}s)"

# --- bytes after the document ----------------------------------------
{ msg good - 2 ExecLog; printf '\0junk after a NUL\n'; } \
    >"$T/work/nul.xml"
{ msg good - 3 ExecLog; printf '\0'; msg good - 4 ExecLog; } \
    >"$T/work/nul2.xml"
{ msg good - 5 ExecLog; msg good - 6 ExecLog | sed 1d; } \
    >"$T/work/second.xml"
{ msg good - 7 ExecLog; printf '<!-- trailer -->\n<?pi x?>\n\n'; } \
    >"$T/work/trailer.xml"
for f in nul nul2 second trailer; do
	mv "$T/work/$f.xml" "$T/spool/incoming/good/$f.xml"
done
wait_until 20 '[ "$(ls "$T/spool/rejected" | grep -c "good,.*reason")" \
    -ge 3 ] && [ "$(grep -c "^good|" "$T/calls.log")" -ge 2 ]' ||
    { ls "$T/spool/rejected" >&2; cat "$T/calls.log" >&2;
      fail "trailing content not decided"; }
grep -q "not well-formed XML: NUL byte at offset" \
    "$T"/spool/rejected/good,nul.xml,*.reason || fail "nul reason"
grep -q "NUL byte at offset" "$T"/spool/rejected/good,nul2.xml,*.reason ||
    fail "nul2 reason"
grep -q "Extra content at the end of the document" \
    "$T"/spool/rejected/good,second.xml,*.reason || fail "second reason"
[ "$(grep -c "^good|" "$T/calls.log")" -eq 2 ] ||
    { cat "$T/calls.log" >&2; fail "exec got a rejected message"; }
grep -q "<MessageId>good---7</MessageId>" "$T"/stdin.* ||
    fail "the message with a trailer did not reach exec"
! grep -l "junk" "$T"/stdin.* >/dev/null 2>&1 || fail "exec got the junk"
ok "NUL and junk, NUL and a second document, a second document" \
    "rejected; comments and PIs after the root accepted"

# --- the configured bound is the one applied -------------------------
{
	printf '<ExecLog><Header><Sender>good</Sender></Header><Body>'
	printf '<a><a><a><a><a><a><a><a><a><a>x'
	printf '</a></a></a></a></a></a></a></a></a></a>'
	printf '</Body></ExecLog>\n'
} >"$T/work/deep.xml"
mv "$T/work/deep.xml" "$T/spool/incoming/good/deep.xml"
wait_until 20 'ls "$T/spool/rejected" | grep -q "deep.xml.*reason"' ||
    fail "deep not rejected"
grep -q "is nested deeper than 10 elements (max_depth" \
    "$T"/spool/rejected/good,deep.xml,*.reason || fail "deep reason"
ok "max_depth from spoold.conf applied"

stop_daemon
