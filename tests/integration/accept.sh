#!/bin/sh
# accept.sh - the real daemon takes files out of incoming/: in place and
# renamed in, uploads in progress left alone, new partner directories,
# hostile files (links, FIFOs, directories, XXE, bombs), spoofed senders,
# oversized and invalid messages, strays, ordering at acceptance.
. "$(dirname "$0")/lib.sh"

write_conf
cat >>"$T/spoold.conf" <<CONF
max_message_size = 4K
[partner acme]
aliases = ACME-GMBH globex
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
mkdir -p "$T/spool/incoming/acme"
limit_memory 1048576	# 1 GiB: the entity bombs below must not expand
start_daemon

# Accepted: recorded and out of incoming/, whatever processing made of it
# since (no routes are configured here, so processing holds them).
accepted() {
	sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM messages WHERE \
	    state NOT IN ('rejected', 'parked') AND duplicate_of IS NULL"
}
duplicates() {
	sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM messages WHERE \
	    duplicate_of IS NOT NULL AND state = 'done'"
}

# Written in place.
msg acme - 1 | drop acme one.xml
wait_until 10 '[ "$(accepted)" -eq 1 ]' || fail "in-place file not queued"
# Moved after the COMMIT (by the mover thread, while the next batch is
# recorded): out of incoming/ moments after its row is there.
wait_until 10 '[ ! -e "$T/spool/incoming/acme/one.xml" ]' ||
    fail "one.xml still in incoming"
[ "$(ls "$T/spool/queue" "$T/spool/hold" | grep -c ',-,0,ProductInfo,1.xml$')" -eq 1 ] ||
    fail "accepted file not in queue/ or hold/"
ok "a file written in place is accepted"

# Uploads in progress, then renamed in.
msg acme - 2 >"$T/spool/incoming/acme/two.xml.part"
msg acme - 3 >"$T/spool/incoming/acme/three.xml.filepart"
msg acme - 4 >"$T/spool/incoming/acme/.four.xml"
msg acme - 5 >"$T/spool/incoming/acme/five.xml~"
msg acme - 6 | drop acme marker.xml
wait_until 10 '[ "$(accepted)" -eq 2 ]' || fail "marker not queued"
for f in two.xml.part three.xml.filepart .four.xml five.xml~; do
	[ -e "$T/spool/incoming/acme/$f" ] || fail "$f was taken"
done
ok "uploads in progress are left alone"
mv "$T/spool/incoming/acme/two.xml.part" "$T/spool/incoming/acme/two.xml"
mv "$T/spool/incoming/acme/.four.xml" "$T/spool/incoming/acme/four.xml"
wait_until 10 '[ "$(accepted)" -eq 4 ]' || fail "renamed files not queued"
ok "files renamed in are accepted"

# Ordering at acceptance: 3 parks, 1 is ready, a redelivery is a duplicate,
# a reused number with other content is a conflict.
msg acme T1 3 | drop acme t1-3.xml
wait_until 10 '[ "$(count parked)" -eq 1 ]' || fail "seq 3 not parked"
msg acme T1 1 | drop acme t1-1.xml
wait_until 10 '[ "$(accepted)" -eq 5 ]' || fail "seq 1 not queued"
msg acme T1 1 | drop acme t1-1-again.xml
wait_until 10 '[ "$(duplicates)" -eq 1 ]' || fail "duplicate not in done/"
msg acme T1 3 | sed 's/SKU-3/SKU-OTHER/' | drop acme t1-3-changed.xml
wait_until 10 'ls "$T/spool/rejected" | grep -q "t1-3-changed.*reason"' ||
    fail "conflict not rejected"
grep -q "sequence number reused with different content" \
    "$T"/spool/rejected/*t1-3-changed*.reason || fail "conflict reason"
[ "$(sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM messages WHERE \
    duplicate_of IS NOT NULL")" = 1 ] || fail "duplicate not recorded"
ok "ready, parked, duplicate and conflict at acceptance"

# A new partner directory while running; an alias; a spoofed sender.
mkdir "$T/spool/incoming/globex"
wait_until 10 'grep -q "dir=globex status=watched" "$T/log"' ||
    fail "new partner directory not watched"
msg globex - 1 | drop globex g1.xml
msg ACME-GMBH - 9 | drop acme alias.xml
msg acme - 10 | drop globex spoof.xml
wait_until 10 'ls "$T/spool/rejected" | grep -q "spoof.*reason"' ||
    fail "spoof not rejected"
grep -q "^Sender acme does not match partner directory globex$" \
    "$T"/spool/rejected/globex,spoof.xml,*.reason || fail "spoof reason"
wait_until 10 '[ "$(accepted)" -eq 7 ]' || fail "globex/alias not queued"
# An alias naming a partner that has its own directory does not let one
# speak for the other.
msg globex - 11 | drop acme impostor.xml
wait_until 10 'ls "$T/spool/rejected" | grep -q "impostor.*reason"' ||
    fail "alias of another partner accepted"
grep -q "^Sender globex is a partner of its own" \
    "$T"/spool/rejected/acme,impostor.xml,*.reason || fail "impostor reason"
ok "new partner directory, alias, spoofed sender"

# Hostile files: none followed, read or blocking.
ln -s /etc/passwd "$T/spool/incoming/acme/link.xml"
mkfifo "$T/spool/incoming/acme/fifo.xml"
mkdir "$T/spool/incoming/acme/sub.xml"
wait_until 10 '[ "$(ls "$T/spool/rejected" | grep -c "link.xml\|fifo.xml\|sub.xml")" -ge 6 ]' ||
    { ls -la "$T/spool/rejected" "$T/spool/incoming/acme"; fail "hostile files not rejected"; }
grep -q "is a symbolic link" "$T"/spool/rejected/acme,link.xml,*.reason
grep -q "is a FIFO" "$T"/spool/rejected/acme,fifo.xml,*.reason
grep -q "is a directory" "$T"/spool/rejected/acme,sub.xml,*.reason
[ -L "$(ls -d "$T"/spool/rejected/acme,link.xml,*.rejected)" ] ||
    fail "the link itself should be in rejected/"
ok "symlink, FIFO and directory rejected, none followed or read"

# XXE and entity bombs: refused at the DOCTYPE.
cat >"$T/xxe.xml" <<XML
<?xml version="1.0"?>
<!DOCTYPE ProductInfo [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<ProductInfo><Header><Sender>acme</Sender></Header><Body><Item>&x;</Item></Body></ProductInfo>
XML
mv "$T/xxe.xml" "$T/spool/incoming/acme/xxe.xml"
for f in "$SHARED"/samples/real/xml-adversarial-*/*.xml; do
	[ -e "$f" ] || continue
	cp "$f" "$T/spool/incoming/acme/.adv"
	mv "$T/spool/incoming/acme/.adv" "$T/spool/incoming/acme/adv-$(basename "$f")"
done
wait_until 20 '! ls "$T/spool/incoming/acme" | grep -q "^adv-\|^xxe"' ||
    fail "adversarial files not taken"
grep -q "DOCTYPE declarations are not allowed" \
    "$T"/spool/rejected/acme,xxe.xml,*.reason || fail "xxe reason"
! grep -rq "root:" "$T/spool/rejected/" || fail "/etc/passwd leaked"
kill -0 "$DAEMON_PID" || fail "spoold died on adversarial input"
ok "XXE and entity bombs rejected"

# Oversized, invalid against its XSD, stray at the top of incoming/.
head -c 5000 /dev/zero | tr '\0' 'x' | drop acme big.xml
msg acme - 20 | sed 's|<Item>SKU-20</Item>|<Colour>red</Colour>|' |
    drop acme invalid.xml
echo stray >"$T/spool/incoming/stray.xml"
wait_until 10 '[ "$(ls "$T"/spool/rejected/*big.xml*.reason "$T"/spool/rejected/*invalid.xml*.reason "$T"/spool/rejected/*stray.xml*.reason 2>/dev/null | wc -l)" -eq 3 ]' ||
    fail "big/invalid/stray not rejected"
grep -q "more than max_message_size" "$T"/spool/rejected/acme,big.xml,*.reason
grep -q "does not match its schema" "$T"/spool/rejected/acme,invalid.xml,*.reason
grep -q "not in a partner directory" "$T"/spool/rejected/%none,stray.xml,*.reason
ok "oversized, schema-invalid and stray files rejected with reasons"

# Every rejected file has its reason; the log names partner and file.
for f in "$T"/spool/rejected/*.rejected; do
	[ -s "$f.reason" ] || fail "no reason for $f"
done
grep -q "event=reject partner=acme file=big.xml" "$T/log" ||
    fail "log line lacks partner and file"
stop_daemon
ok "SIGTERM exits 0"
