#!/bin/sh
# msglog.sh - a message's life in the log (issue 16 item 5): the lines
# of its accept, defer, done, fail, hold and retention all carry its id=
# and partner= (and tx=/seq= in a transaction), and spoolctl log prints
# exactly the lines of one message or one transaction from spoold's log
# file, matching keys, not substrings: transaction "T 1" is not "T 10",
# nor "T 1" of another partner, and message 1 is not message 10.
. "$(dirname "$0")/lib.sh"

unset JOURNAL_STREAM

cat >"$T/h.sh" <<'EOF'
#!/bin/sh
T=$1
case $2 in
retry)	# busy once, then fine
	f="$T/count.$SPOOLD_MESSAGE_ID"
	[ -e "$f" ] && exit 0
	: >"$f"
	echo "ERP busy" >&2
	exit 75 ;;
fail)
	echo "ERP says no" >&2
	exit 65 ;;
esac
exit 99
EOF
chmod +x "$T/h.sh"

write_conf
cat >>"$T/spoold.conf" <<CONF
retention = 1s
failed_retention = 1s
retention_interval = 1s
[retry]
initial_delay = 1s
multiplier = 1
jitter = 0%
[route ExecRetry]
handler = exec
command = $T/h.sh $T retry
[route ExecFail]
handler = exec
command = $T/h.sh $T fail
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
DB=$T/spool/spool.db
start_daemon

# put PARTNER NAME: stdin into incoming/PARTNER/ through a dot-file.
put() {
	mkdir -p "$T/spool/incoming/$1"
	cat >"$T/spool/incoming/$1/.$2"
	mv "$T/spool/incoming/$1/.$2" "$T/spool/incoming/$1/$2"
}
id_of() {
	sql "SELECT id FROM messages WHERE partner = '$1' AND
	    transaction_id IS '$2' AND type = '$3'"
}

msg acme "T 1" 1 ExecRetry | put acme a.xml
wait_until 20 '[ -n "$(id_of acme "T 1" ExecRetry)" ]' || fail "A not taken"
msg acme "T 10" 1 ExecFail | put acme b.xml
msg acme - 3 NoRouteHere | put acme c.xml
msg globex "T 1" 1 ExecRetry | put globex d.xml
wait_until 30 '[ "$(sql "SELECT count(*) FROM messages")" -eq 4 ]' ||
    fail "not all four accepted"
A=$(id_of acme "T 1" ExecRetry)
B=$(id_of acme "T 10" ExecFail)
C=$(sql "SELECT id FROM messages WHERE type = 'NoRouteHere'")
D=$(id_of globex "T 1" ExecRetry)
# Done (after a defer) and failed, and both removed by retention.
wait_until 40 'grep -q "event=retention id=$A .*status=removed" "$T/log" &&
    grep -q "event=retention id=$B .*status=removed" "$T/log" &&
    grep -q "event=retention id=$D .*status=removed" "$T/log" &&
    grep -q "event=hold id=$C " "$T/log"' ||
    fail "the messages did not live their lives"
stop_daemon

# life ID PARTNER EVENT...: each event has a line with id=ID, and every
# line with id=ID carries partner=PARTNER.
life() {
	id=$1 partner=$2
	shift 2
	for ev in "$@"; do
		grep -q "event=$ev .*id=$id\( \|$\)" "$T/log" ||
		    grep -q "event=$ev id=$id\( \|$\)" "$T/log" ||
		    fail "no event=$ev line with id=$id"
	done
	if grep "[ ]id=$id\( \|$\)" "$T/log" | grep -v "partner=$partner " |
	    grep -q .; then
		grep "[ ]id=$id\( \|$\)" "$T/log" | grep -v "partner=$partner "
		fail "a line about $id lacks partner=$partner"
	fi
}
life "$A" acme accept defer exec done retention
life "$B" acme accept fail retention
life "$C" acme accept hold
grep "event=defer id=$A " "$T/log" | grep -q 'tx="T 1" seq=1 ' ||
    fail "the defer line lacks tx= and seq="
ok "accept, defer, done, fail, hold and retention carry id= and partner="

# spoolctl log MSGID: every line with id=A, no other.
expect_exit 0 ctl log --file "$T/log" "$A"
want=$(grep -c "[ ]id=$A\( \|$\)" "$T/log")
[ "$(wc -l <"$T/out")" -eq "$want" ] || fail "log $A: $(cat "$T/out")"
if grep -v "[ ]id=$A\( \|$\)" "$T/out" | grep -q .; then
	fail "log $A printed another message's line"
fi
for ev in accept defer done retention; do
	grep -q "event=$ev " "$T/out" || fail "log $A lacks event=$ev"
done
# From standard input, the same.
$SPOOLCTL -c "$T/spoold.conf" log --file - "$A" <"$T/log" >"$T/out2" ||
    fail "log --file - failed"
cmp -s "$T/out" "$T/out2" || fail "log --file - differs"
ok "spoolctl log MSGID prints that message's lines"

# spoolctl log --tx: acme "T 1" only, not "T 10" nor globex's "T 1".
expect_exit 0 ctl log --file "$T/log" --tx acme "T 1"
grep -q "event=done id=$A " "$T/out" || fail "log --tx lacks A's done"
grep -q "event=accept .*id=$A " "$T/out" || fail "log --tx lacks A's accept"
if grep -q "id=$B \|id=$C \|id=$D \|partner=globex\|\"T 10\"" "$T/out"; then
	cat "$T/out" >&2
	fail "log --tx printed another transaction's lines"
fi
# Its removal by retention too: that line names the transaction (issue
# 16: it carried only id= and partner=, so log --tx missed it).
grep -q "event=retention id=$A partner=acme tx=\"T 1\" seq=1 \
type=ExecRetry " "$T/out" || fail "log --tx lacks A's retention"
expect_exit 0 ctl log --file "$T/log" --tx acme "T 10"
grep -q "event=fail id=$B " "$T/out" || fail "log --tx T 10 lacks B's fail"
grep -q "event=retention id=$B " "$T/out" ||
    fail "log --tx T 10 lacks B's retention"
if grep -q "id=$A " "$T/out"; then
	fail "log --tx T 10 printed T 1's lines"
fi
ok "spoolctl log --tx matches partner= and tx= exactly"

# A message with no line, a missing file, bad usage.
expect_exit 65 ctl log --file "$T/log" 99999
expect_out "no line about message 99999"
expect_exit 66 ctl log --file "$T/nonesuch" "$A"
expect_exit 64 ctl log
expect_exit 64 ctl log --file "$T/log" x1
expect_exit 64 ctl log --json --file "$T/log" "$A"
# A value that only looks like id=A inside a quoted reason is no match.
printf 'time=x level=info event=note reason="see id=%s partner=acme"\n' \
    "$A" >"$T/fake"
expect_exit 65 ctl log --file "$T/fake" "$A"
ok "spoolctl log: no line, no file, bad usage"
