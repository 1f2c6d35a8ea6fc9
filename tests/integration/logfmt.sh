#!/bin/sh
# logfmt.sh - hostile file names, IDs and bundle entry names forge no log
# line, no log key and no .reason first line: every line spoold writes
# parses back as strict logfmt with time= and level= first, the hostile
# values come back whole, and no .reason's first line holds a control
# character.
. "$(dirname "$0")/lib.sh"

for tool in bsdtar python3; do
	command -v "$tool" >/dev/null 2>&1 ||
	    { echo "skip: $tool not installed"; exit 77; }
done
unset JOURNAL_STREAM

NL='
'
EVIL="evil.xml${NL}spoold: err: event=fail reason=x"
TX='T 1 event=fail "q" \x'
MID='M=1 "x" reason=forged'

write_conf
cat >>"$T/spoold.conf" <<CONF
gap_alert_after = 1s
[bundle]
max_entry_size = 1K
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
mkdir -p "$T/spool/incoming/acme" "$T/work/b1" "$T/work/b2"
start_daemon

# hostile_msg SEQ ITEM: a ProductInfo in transaction $TX with MessageId $MID.
hostile_msg() {
	cat <<XML
<?xml version="1.0" encoding="UTF-8"?>
<ProductInfo>
  <Header>
    <MessageId>$MID $1</MessageId>
    <Sender>acme</Sender>
    <TransactionId>$TX</TransactionId>
    <SenderSequence>$1</SenderSequence>
    <ReceiverSequence>0</ReceiverSequence>
  </Header>
  <Body><Item>$2</Item></Body>
</ProductInfo>
XML
}

# A name with a newline and a forged tail, rejected (not XML) and, under
# another hostile name, accepted; a name that starts with '-'.
echo "not xml" | drop acme "$EVIL"
msg acme - 1 | drop acme "ok.xml${NL}level=err event=fail reason=y"
msg acme - 2 | drop acme "-rf.xml"
# Dropped at the top of incoming/, with a newline and a carriage return.
printf 'x\n' >"$T/spool/incoming/top${NL}event=fail reason=x"
printf 'x\n' >"$T/spool/incoming/cr$(printf '\r')event=fail.xml"
# A partner directory whose name is not a partner name.
mkdir "$T/spool/incoming/bad${NL}event=fail reason=x"
# IDs with '=', quotes, blanks and a backslash: 1 is processed (and fails:
# no routes), 3 parks behind the gap at 2, a reused 1 is a conflict.
hostile_msg 1 A | drop acme tx1.xml
hostile_msg 3 C | drop acme tx3.xml
wait_until 10 '[ "$(count parked)" -eq 1 ]' || fail "seq 3 not parked"
hostile_msg 1 OTHER | drop acme tx1-again.xml
# Bundles: entries with newlines in their names (one valid, one not XML),
# and one whose too-big entry (max_entry_size) rejects the whole bundle.
msg acme - 4 >"$T/work/b1/e1${NL}event=fail reason=x.xml"
echo "not xml" >"$T/work/b1/e2${NL}event=fail.xml"
(cd "$T/work/b1" && bsdtar -cf "$T/work/acme,b1.tar" ./*)
head -c 4096 /dev/zero | tr '\0' 'a' >"$T/work/b2/big${NL}event=fail reason=x"
(cd "$T/work/b2" && bsdtar -cf "$T/work/acme,b2.tar" ./*)
drop_file "acme,b1.tar"
drop_file "acme,b2.tar"

wait_until 20 '[ -z "$(ls -A "$T/spool/incoming/acme")" ] &&
    [ "$(find "$T/spool/incoming" -maxdepth 1 -type f | wc -l)" -eq 0 ] &&
    grep -q "event=gap " "$T/log" && grep -q "event=fail " "$T/log" &&
    [ "$(grep -c "event=bundle " "$T/log")" -ge 2 ]' ||
    fail "the hostile files were not all handled"
stop_daemon

# Every line parses as strict logfmt; the values come back whole.
cat >"$T/check.py" <<'PY'
import re, sys

log, keysrc = sys.argv[1], sys.argv[2]
EVIL, TX, MID = sys.argv[3], sys.argv[4], sys.argv[5]
allowed = set(open(keysrc).read().split())
levels = {"err", "warning", "notice", "info", "debug"}
stamp = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
bare = re.compile(r'[^\s="\\\x00-\x1f\x7f]+')
key = re.compile(r"[a-z_][a-z0-9_]*")
esc = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}

def parse(line):
    pairs, i = [], 0
    while i < len(line):
        m = key.match(line, i)
        if not m or m.end() >= len(line) or line[m.end()] != "=":
            raise ValueError("no key= at %d" % i)
        k, i = m.group(), m.end() + 1
        if line[i:i + 1] == '"':
            i += 1
            v = bytearray()
            while True:
                if i >= len(line):
                    raise ValueError("unterminated quote")
                c = line[i]
                if c == '"':
                    i += 1
                    break
                if ord(c) < 0x20 or c == "\x7f":
                    raise ValueError("raw control character")
                if c == "\\":
                    n = line[i + 1:i + 2]
                    if n in esc:
                        v += esc[n].encode()
                        i += 2
                    elif n == "x" and re.fullmatch(r"[0-9a-f]{2}",
                        line[i + 2:i + 4]):
                        v.append(int(line[i + 2:i + 4], 16))
                        i += 4
                    else:
                        raise ValueError("bad escape at %d" % i)
                    continue
                v += c.encode("utf-8", "surrogateescape")
                i += 1
            v = v.decode("utf-8", "surrogateescape")
        else:
            m = bare.match(line, i)
            if not m:
                raise ValueError("empty or bad bare value at %d" % i)
            v, i = m.group(), m.end()
        pairs.append((k, v))
        if i < len(line):
            if line[i] != " ":
                raise ValueError("no blank after value at %d" % i)
            i += 1
            if i == len(line):
                raise ValueError("trailing blank")
    return pairs

bad = 0
seen = {"file": set(), "tx": set(), "dir": set()}
with open(log, encoding="utf-8", errors="surrogateescape", newline="\n") as f:
    for n, line in enumerate(f, 1):
        line = line[:-1] if line.endswith("\n") else line
        try:
            p = parse(line)
            ks = [k for k, _ in p]
            if ks[:2] != ["time", "level"]:
                raise ValueError("time= and level= are not first")
            if not stamp.match(p[0][1]):
                raise ValueError("time= is not RFC 3339 UTC")
            if p[1][1] not in levels:
                raise ValueError("unknown level")
            if len(ks) < 3 or ks[2] != "event":
                raise ValueError("event= is not third")
            if len(set(ks)) != len(ks):
                raise ValueError("a key twice")
            for k in ks:
                if k not in allowed:
                    raise ValueError("unknown key " + k)
            d = dict(p)
            if d.get("reason") in ("x", "y", "forged"):
                raise ValueError("a forged reason")
            for k in seen:
                if k in d:
                    seen[k].add(d[k])
        except ValueError as e:
            print("line %d: %s: %r" % (n, e, line))
            bad += 1
for k, v in (("file", EVIL), ("file", "-rf.xml"), ("tx", TX),
    ("dir", "bad\nevent=fail reason=x")):
    if v not in seen[k]:
        print("no line with %s=%r (seen %r)" % (k, v, sorted(seen[k])))
        bad += 1
sys.exit(1 if bad else 0)
PY
grep -ohE '[a-z_]+=' "$top_srcdir"/spool/*.c "$top_srcdir"/spoold/*.c \
    "$top_srcdir"/handlers/*.c | tr -d = | sort -u >"$T/keys"
echo "time level" >>"$T/keys"
python3 "$T/check.py" "$T/log" "$T/keys" "$EVIL" "$TX" "$MID" >"$T/out" ||
    { cat "$T/out" >&2; fail "the log has lines that are not logfmt"; }
ok "every log line is logfmt with time= and level=; hostile values round-trip"

# No .reason's first line holds a control character, and the rejected
# files are all there with one.
n=0
for r in "$T"/spool/rejected/*.reason "$T"/spool/failed/*.reason; do
	[ -e "$r" ] || continue
	n=$((n + 1))
	head -n 1 "$r" | LC_ALL=C grep -q '[[:cntrl:]]' &&
	    fail "control character in the first line of $r"
done
[ "$n" -ge 6 ] || fail "only $n .reason sidecars"
LC_ALL=C grep -l 'evil.xml\\nspoold: err: event=fail reason=x' \
    "$T"/spool/rejected/*.reason >/dev/null ||
    fail "no sidecar names the evil file escaped"
ok "no .reason first line holds a control character"

# Under the journal (JOURNAL_STREAM names standard error) no time=: the
# journal stamps each line; a JOURNAL_STREAM naming another stream keeps
# it.
: >"$T/jlog"
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/jlog") $SPOOLD -c "$T/spoold.conf" \
    --once >/dev/null 2>>"$T/jlog" || fail "spoold --once failed"
grep -q '^level=notice event=start ' "$T/jlog" ||
    { cat "$T/jlog" >&2; fail "no event=start line under the journal"; }
grep -v '^level=' "$T/jlog" >&2 && fail "a line with time= under the journal"
JOURNAL_STREAM=1:1 $SPOOLD -c "$T/spoold.conf" --once >/dev/null \
    2>"$T/jlog" || fail "spoold --once failed"
grep -q '^time=[0-9T:.-]*Z level=notice event=start ' "$T/jlog" ||
    { cat "$T/jlog" >&2; fail "no time= when stderr is not the journal"; }
ok "under the journal, lines carry no time="
