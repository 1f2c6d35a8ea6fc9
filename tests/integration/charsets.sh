#!/bin/sh
# charsets.sh - EDIFACT character sets end to end (DESIGN 15, issue 17):
# the set UNB declares is the one read, never guessed. UNOC (Latin-1) and
# UNOY (UTF-8) are accepted and come to a program as UTF-8 in the EDI
# tree (input = xml); a byte the declared set does not have (0xe9 in
# UNOA, Latin-1 in UNOY) and UNOX (ISO 2022) land in rejected/ with a
# reason that names the problem; lower case in UNOA is accepted with a
# warning in the log (event=charset).
. "$(dirname "$0")/lib.sh"

printf '#!/bin/sh\ncat >"%s/in.$SPOOLD_MESSAGE_ID"\necho "$SPOOLD_MESSAGE_ID" >>"%s/calls.log"\n' \
    "$T" "$T" >"$T/h.sh"
chmod +x "$T/h.sh"
write_conf
cat >>"$T/spoold.conf" <<CONF
[route edifact.ORDERS]
handler = exec
command = $T/h.sh
input = xml
[partner acme]
ids = ZZ:SENDER
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null
DB=$T/spool/spool.db
mkdir -p "$T/spool/incoming/acme"

# edi SYNTAX-ID REF FTX-TEXT (printf escapes allowed) > file
edi() {
	printf "UNB+%s:3+SENDER:ZZ+RECEIVER:ZZ+200101:1200+%s'\n" "$1" "$2"
	printf "UNH+1+ORDERS:D:96A:UN'\nBGM+220+%s+9'\n" "$2"
	printf "FTX+AAA+++$3'\nUNT+4+1'\nUNZ+1+%s'\n" "$2"
}
edi UNOC C1 'caf\351' >"$T/unoc.edi"
edi UNOY Y1 'caf\303\251' >"$T/unoy.edi"
edi UNOA A1 'lower' >"$T/unoa-lower.edi"
edi UNOA A2 'caf\351' >"$T/unoa-latin.edi"
edi UNOY Y2 'caf\351' >"$T/unoy-latin.edi"
edi UNOX X1 'plain' >"$T/unox.edi"

start_daemon
cp "$T"/*.edi "$T/spool/incoming/acme/"
settled() {
	[ -z "$(ls -A "$T/spool/incoming/acme")" ] &&
	    [ "$(count rejected)" -eq 3 ] && [ -f "$T/calls.log" ] &&
	    [ "$(wc -l <"$T/calls.log")" -eq 3 ] &&
	    [ "$(sql "SELECT count(*) FROM messages WHERE state = 'done'")" \
	    -eq 3 ]
}
wait_until 30 settled ||
    { ls "$T/spool/rejected" >&2;
      sql "SELECT orig_name, state, reason FROM batches" >&2;
      fail "the six files did not settle: 3 done, 3 rejected"; }
stop_daemon

# reason NAME TEXT: the rejected file of upload NAME has a reason with TEXT.
reason() {
	f=$(ls "$T/spool/rejected" | grep "^acme,$1,.*\.reason$") ||
	    fail "no $1 in rejected/: $(ls "$T/spool/rejected")"
	[ -f "$T/spool/rejected/${f%.reason}" ] || fail "$1: no file"
	grep -qF "$2" "$T/spool/rejected/$f" ||
	    fail "$1: reason lacks '$2': $(cat "$T/spool/rejected/$f")"
}
reason unoa-latin.edi \
    "holds the byte 0xe9, which the character set UNOA does not allow"
reason unoy-latin.edi "holds the byte 0xe9, which is not UTF-8 as UNOY declares"
reason unox.edi "UNB syntax identifier UNOX (ISO 2022 code extension) is not supported"
ok "bytes a declared set lacks, and UNOX, are rejected with the reason"

# The accepted ones: UTF-8 in the tree, whatever the set on the wire.
utf8=$(printf 'caf\303\251')
for ref in unoc unoy; do
	id=$(sql "SELECT m.id FROM messages m JOIN batches b ON b.id = m.batch
	    WHERE b.orig_name = '$ref.edi' AND m.state = 'done'")
	[ -n "$id" ] || fail "no done message of $ref.edi"
	grep -qF "$utf8" "$T/in.$id" ||
	    { cat "$T/in.$id" >&2; fail "$ref: the tree lacks café in UTF-8"; }
done
ok "UNOC and UNOY come to the program as UTF-8"
grep -q "event=charset .*warning=.*UNOA does not allow; accepted" "$T/log" ||
    fail "lower case in UNOA: no warning in the log"
ok "lower case in UNOA is accepted with a warning"
