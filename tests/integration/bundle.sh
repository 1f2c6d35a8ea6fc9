#!/bin/sh
# bundle.sh - tar and zip bundles (DESIGN 9): each entry accepted like a
# single file, a transaction spread over bundles in reverse order,
# corrupt and truncated archives rejected whole, hostile entries (names
# with ../ and absolute paths, links, devices, FIFOs, nested archives),
# the [bundle] limits (a zip bomb, max_entries), an empty archive,
# damaged compressed streams (gzip, xz, bzip2, zstd, zip CRCs), a tar
# cut between two entries, and
# spoolctl batch. The archives are built here with bsdtar and zip.
. "$(dirname "$0")/lib.sh"

for tool in bsdtar zip jq; do
	command -v "$tool" >/dev/null ||
	    fail "$tool is missing (contrib/scripts/install-deps)"
done

write_conf
cat >>"$T/spoold.conf" <<CONF
max_message_size = 64K
[route InventoryMovement]
handler = ledger
[route *]
handler = ledger
[bundle]
max_entries = 12
max_entry_size = 2M
max_total_size = 1M
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
mkdir -p "$T/spool/incoming/acme" "$T/work" "$T/w"
limit_memory 1048576	# 1 GiB: the bomb below must not be unpacked whole

db() {
	sqlite3 "$T/spool/spool.db" "$1"
}
# last_batch: the newest batch's ID.
last_batch() {
	db "SELECT coalesce(max(id), 0) FROM batches"
}
# run_once: spoold --once over what is in incoming/.
run_once() {
	: >"$T/log"
	expect_exit 0 timeout 60 $SPOOLD -c "$T/spoold.conf" --once
	cat "$T/out" >>"$T/log"
}
# bundle NAME: drop $T/work/NAME into incoming/acme/ (through a dot-file).
bundle() {
	cp "$T/work/$1" "$T/spool/incoming/acme/.$1"
	mv "$T/spool/incoming/acme/.$1" "$T/spool/incoming/acme/$1"
}
# accepted_of BATCH: its messages that are not rejected.
accepted_of() {
	db "SELECT count(*) FROM messages WHERE batch = $1 AND \
	    state <> 'rejected'"
}

# Four messages outside transactions, packed four ways.
for i in 1 2 3 4; do
	msg acme - "$i" >"$T/w/m$i.xml"
done
(cd "$T/w" && bsdtar -cf "$T/work/plain.tar" m1.xml m2.xml m3.xml m4.xml)
(cd "$T/w" && bsdtar -czf "$T/work/day.tgz" m1.xml m2.xml m3.xml m4.xml)
(cd "$T/w" && bsdtar -cJf "$T/work/day.txz" m1.xml m2.xml m3.xml m4.xml)
(cd "$T/w" && zip -q "$T/work/day.zip" m1.xml m2.xml m3.xml m4.xml)
# The same content each time: after the first, the entries are
# duplicates. The name tells nothing: detection is by content.
cp "$T/work/day.zip" "$T/work/looks-like.xml"
nextb=1
for f in plain.tar day.tgz day.txz day.zip looks-like.xml; do
	bundle "$f"
	run_once
	b=$(last_batch)
	[ "$b" -eq "$nextb" ] || fail "$f: batch $b, want $nextb"
	[ ! -e "$T/spool/incoming/acme/$f" ] || fail "$f still in incoming/"
	[ -f "$T/spool/done/acme,$f,$b.bundle" ] ||
	    fail "$f not in done/ as acme,$f,$b.bundle"
	[ "$(db "SELECT entries FROM batches WHERE id = $b")" -eq 4 ] ||
	    fail "$f: entry count"
	if [ "$b" -eq 1 ]; then
		[ "$(db "SELECT count(*) FROM batch_entries WHERE batch = 1 \
		    AND fate = 'accepted'")" -eq 4 ] || fail "$f: not accepted"
	else
		[ "$(db "SELECT count(*) FROM batch_entries WHERE batch = $b \
		    AND fate = 'duplicate'")" -eq 4 ] ||
		    fail "$f: entries not duplicates"
	fi
	# Every entry is a message file of its own, where its row says.
	for row in $(db "SELECT state || '/' || file_name FROM messages \
	    WHERE batch = $b"); do
		[ -f "$T/spool/$row" ] || fail "$f: $row missing"
	done
	nextb=$((nextb + 1))
done
cmp "$T/w/m1.xml" "$T/spool/$(db "SELECT state || '/' || file_name FROM \
    messages WHERE batch = 1 ORDER BY id LIMIT 1")" ||
    fail "an entry's file differs from the entry"
ok "tar, tar.gz, tar.xz and zip bundles: every entry a message, by content"

# spoolctl batch, as text and as JSON.
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" batch 1
expect_out "bundle        plain.tar"
expect_out "done/acme,plain.tar,1.bundle"
expect_out "m3.xml"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" batch 2 --json
[ "$(jq -r '.entries | map(.fate) | unique | join(",")' "$T/out")" = \
    duplicate ] || fail "batch --json fates"
[ "$(jq -r '.entry_count, .state, .bundle, .partner' "$T/out" |
    tr '\n' ' ')" = "4 done day.tgz acme " ] || fail "batch --json fields"
[ "$(jq -r '.entries[0].index, .entries[0].name' "$T/out" |
    tr '\n' ' ')" = "1 m1.xml " ] || fail "batch --json entry"
# show and list name the bundle a message came in.
mid=$(db "SELECT id FROM messages WHERE batch = 1 ORDER BY id LIMIT 1")
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" show "$mid"
expect_out "bundle        plain.tar (batch 1)"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" --json list
[ "$(jq -r "[.messages[] | select(.id == $mid)][0] | \"\\(.batch) \\(.bundle)\"" \
    "$T/out")" = "1 plain.tar" ] || fail "list --json: batch and bundle"
[ "$(jq -r '[.messages[] | select(.batch == null)] | length' "$T/out")" = \
    "$(db "SELECT count(*) FROM messages WHERE batch IS NULL")" ] ||
    fail "list --json: batch of single files"
expect_exit 65 $SPOOLCTL -c "$T/spoold.conf" batch 999
expect_exit 64 $SPOOLCTL -c "$T/spoold.conf" batch x
ok "spoolctl batch shows a bundle's entries; show and list name the bundle"

# A transaction over two bundles, the later half first; the ledger
# proves the order (stock would go negative out of order).
for s in 1 2 3 4; do
	q=3
	[ $((s % 2)) -eq 0 ] && q=-3
	mv_msg acme TXB "$s" "$q" >"$T/w/tx$s.xml"
done
(cd "$T/w" && bsdtar -czf "$T/work/second.tgz" tx4.xml tx3.xml)
(cd "$T/w" && zip -q "$T/work/first.zip" tx2.xml tx1.xml)
bundle second.tgz
run_once
[ "$(db "SELECT count(*) FROM messages WHERE transaction_id = 'TXB' AND \
    state = 'parked'")" -eq 2 ] || fail "second half not parked"
bundle first.zip
run_once
[ "$(db "SELECT count(*) FROM messages WHERE transaction_id = 'TXB' AND \
    state = 'done'")" -eq 4 ] || fail "transaction not done"
[ "$(db "SELECT quantity FROM v_stock WHERE item = 'ITEM-acme-TXB'")" = 0 ] ||
    fail "transaction applied out of order"
ok "a transaction split over two bundles in reverse order, in order"

# A truncated tar.gz: rejected whole, nothing of it accepted.
for i in 5 6 7 8 9 10; do
	msg acme - "$i" >"$T/w/t$i.xml"
	head -c 20000 /dev/urandom | base64 >>"$T/w/t$i.xml.pad"
done
(cd "$T/w" && bsdtar -czf "$T/work/full.tgz" t5.xml t5.xml.pad t6.xml \
    t6.xml.pad t7.xml t7.xml.pad t8.xml t8.xml.pad t9.xml t10.xml)
size=$(stat -c %s "$T/work/full.tgz")
head -c $((size * 2 / 3)) "$T/work/full.tgz" >"$T/work/cut.tgz"
n0=$(db "SELECT count(*) FROM messages")
bundle cut.tgz
run_once
b=$(last_batch)
[ -f "$T/spool/rejected/acme,cut.tgz,$b.bundle" ] || fail "cut.tgz not rejected"
grep -q "corrupt or truncated .*entry [0-9]* (t.*), at byte [0-9]*" \
    "$T/spool/rejected/acme,cut.tgz,$b.bundle.reason" ||
    fail "truncation reason: $(head -n 1 "$T"/spool/rejected/*cut.tgz*.reason)"
[ "$(db "SELECT count(*) FROM messages")" -eq "$n0" ] ||
    fail "entries of a truncated bundle were accepted"
[ "$(db "SELECT count(*) FROM batch_entries WHERE batch = $b")" -eq 0 ] ||
    fail "entries of a truncated bundle were recorded"
[ "$(db "SELECT state FROM batches WHERE id = $b")" = rejected ] ||
    fail "truncated batch not rejected"
ok "a truncated tar.gz is rejected whole, naming where reading failed"

# Entry names with ../ and absolute paths are data, never paths.
msg acme - 11 >"$T/w/n1.xml"
msg acme - 12 >"$T/w/n2.xml"
(cd "$T/w" && bsdtar -P --format zip -cf "$T/work/names.zip" \
    -s ',^n1.xml$,../../escaped.xml,' -s ",^n2.xml\$,$T/abs.xml," \
    n1.xml n2.xml)
bsdtar -tf "$T/work/names.zip" | grep -qx '../../escaped.xml' ||
    fail "test archive lacks ../"
bundle names.zip
run_once
b=$(last_batch)
[ "$(accepted_of "$b")" -eq 2 ] || fail "entries with odd names not accepted"
[ ! -e "$T/escaped.xml" ] && [ ! -e "$T/spool/escaped.xml" ] &&
    [ ! -e "$T/abs.xml" ] || fail "an entry name became a path"
[ "$(db "SELECT name FROM batch_entries WHERE batch = $b ORDER BY idx \
    LIMIT 1")" = ../../escaped.xml ] || fail "entry name not kept as data"
ok "entry names with ../ and absolute paths never become paths"

# Links, devices, FIFOs and directories are skipped and listed; the
# device and the links are built from an mtree spec, without root.
msg acme - 13 >"$T/w/real.xml"
ln "$T/w/real.xml" "$T/w/hard.xml"
mkdir "$T/w/dir"
cat >"$T/w/spec" <<SPEC
#mtree
./passwd type=link link=/etc/passwd
./null type=char mode=0666 uname=root gname=root device=native,1,3
./fifo type=fifo mode=0644
SPEC
(cd "$T/w" && bsdtar -cf "$T/work/links.tar" @spec dir real.xml hard.xml)
bundle links.tar
run_once
b=$(last_batch)
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" batch "$b" --json
for kind in "a symbolic link" "a character device" "a FIFO" "a directory" \
    "a hard link"; do
	[ "$(jq --arg k "$kind" '[.entries[] | select(.fate == "skipped" and
	    .reason == $k)] | length' "$T/out")" -eq 1 ] ||
	    fail "$kind not skipped and listed"
done
[ "$(accepted_of "$b")" -eq 1 ] || fail "the regular entry not accepted"
! grep -rq "root:" "$T/spool/queue" "$T/spool/done" "$T/spool/failed" \
    "$T/spool/rejected" "$T/spool/parked" || fail "/etc/passwd was read"
ok "links, devices, FIFOs and directories are skipped and reported"

# A nested archive is an entry rejected on its own; the rest accepted.
msg acme - 14 >"$T/w/outer.xml"
(cd "$T/w" && zip -q inner.zip m1.xml && zip -q "$T/work/nested.zip" \
    inner.zip outer.xml)
bundle nested.zip
run_once
b=$(last_batch)
[ "$(db "SELECT fate FROM batch_entries WHERE batch = $b AND \
    name = 'inner.zip'")" = rejected ] || fail "nested zip not rejected"
[ "$(db "SELECT fate FROM batch_entries WHERE batch = $b AND \
    name = 'outer.xml'")" = accepted ] || fail "outer.xml not accepted"
grep -q "^bundle nested.zip, entry inner.zip: is an archive itself" \
    "$T"/spool/rejected/acme,inner.zip,*.rejected.reason ||
    fail "nested reason"
ok "a nested zip is rejected as an entry, the others accepted"

# An entry over max_message_size is rejected on its own, as a single
# file would be.
msg acme - 15 >"$T/w/small.xml"
{ msg acme - 16; head -c 100000 /dev/zero | tr '\0' ' '; } >"$T/w/large.xml"
(cd "$T/w" && bsdtar -cf "$T/work/large.tar" large.xml small.xml)
bundle large.tar
run_once
b=$(last_batch)
[ "$(db "SELECT fate FROM batch_entries WHERE batch = $b AND \
    name = 'large.xml'")" = rejected ] || fail "large entry not rejected"
[ "$(db "SELECT fate FROM batch_entries WHERE batch = $b AND \
    name = 'small.xml'")" = accepted ] || fail "small entry not accepted"
grep -q "entry large.xml: entry is [0-9]* bytes, more than max_message_size" \
    "$T"/spool/rejected/acme,large.xml,*.rejected.reason ||
    fail "large entry reason"
ok "an entry over max_message_size is rejected on its own"

# A zip bomb: 64 MiB of zeros in a small zip, over max_total_size (1M).
head -c 67108864 /dev/zero >"$T/w/zeros.xml"
(cd "$T/w" && zip -q "$T/work/bomb.zip" zeros.xml m1.xml)
rm "$T/w/zeros.xml"
[ "$(stat -c %s "$T/work/bomb.zip")" -lt 200000 ] || fail "bomb too big"
n0=$(db "SELECT count(*) FROM messages")
bundle bomb.zip
run_once
b=$(last_batch)
grep -q "max_entry_size\|max_total_size" \
    "$T/spool/rejected/acme,bomb.zip,$b.bundle.reason" || fail "bomb reason"
[ "$(db "SELECT count(*) FROM messages")" -eq "$n0" ] ||
    fail "entries of a bomb accepted"
# Many entries each under max_entry_size, together over max_total_size.
for i in 1 2 3 4 5 6; do
	head -c 300000 /dev/zero >"$T/w/z$i.xml"
done
(cd "$T/w" && zip -q "$T/work/bomb2.zip" z1.xml z2.xml z3.xml z4.xml \
    z5.xml z6.xml)
bundle bomb2.zip
run_once
b=$(last_batch)
grep -q "more than max_total_size (1048576 bytes) at entry 4 (z4.xml)" \
    "$T/spool/rejected/acme,bomb2.zip,$b.bundle.reason" ||
    fail "bomb2 reason: $(head -n 1 "$T"/spool/rejected/*bomb2*.reason)"
[ "$(db "SELECT count(*) FROM messages")" -eq "$n0" ] ||
    fail "entries of bomb2 accepted"
ok "zip bombs are rejected whole as soon as a limit is crossed"

# An empty archive; one over max_entries (12).
(cd "$T/w" && bsdtar -cf "$T/work/empty.tar" --files-from /dev/null)
bundle empty.tar
run_once
b=$(last_batch)
grep -q "^bundle holds no entries" \
    "$T/spool/rejected/acme,empty.tar,$b.bundle.reason" || fail "empty tar"
mkdir "$T/w/many"
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13; do
	msg acme - "10$i" >"$T/w/many/e$i.xml"
done
(cd "$T/w/many" && bsdtar -czf "$T/work/many.tgz" .)
bundle many.tgz
run_once
b=$(last_batch)
grep -q "more than max_entries (12)" \
    "$T/spool/rejected/acme,many.tgz,$b.bundle.reason" ||
    fail "max_entries reason"
[ "$(db "SELECT count(*) FROM messages WHERE batch = $b")" -eq 0 ] ||
    fail "entries of an over-long bundle accepted"
ok "an empty archive and one over max_entries are rejected"

# Not XML and not an archive: a single file, rejected as not XML. An XML
# file is never taken for an archive.
printf 'hello\n' >"$T/work/hello.bin"
bundle hello.bin
msg acme - 99 >"$T/work/single.xml"
bundle single.xml
nb=$(last_batch)
run_once
[ "$(last_batch)" -eq "$nb" ] || fail "a plain file became a batch"
ls "$T/spool/rejected" | grep -q '^acme,hello.bin,[0-9]*.rejected$' ||
    fail "hello.bin not rejected as a file"
[ "$(db "SELECT count(*) FROM messages WHERE orig_name = 'single.xml' AND \
    batch IS NULL AND state <> 'rejected'")" -eq 1 ] ||
    fail "single.xml not accepted as a message"
ok "plain files are single messages, never bundles"

# The daemon, running, takes a bundle dropped while it watches.
start_daemon
(cd "$T/w" && bsdtar -czf "$T/work/live.tgz" outer.xml real.xml t5.xml)
bundle live.tgz
wait_until 20 '[ -f "$T/spool/done/acme,live.tgz,$(last_batch).bundle" ]' ||
    fail "live bundle not taken"
stop_daemon
ok "a bundle dropped while spoold runs is taken"

# Damaged compressed bundles, dropped while spoold runs: each ends in
# rejected/ whole, its reason naming the check that failed, and none of
# its entries is recorded or processed (the ledger never sees TXD). The
# archives are over 64 KiB, so that libarchive's tar reader meets the
# end-of-archive blocks long before the compressed stream's trailer.
# flip FILE OFFSET [XOR]: change the byte at OFFSET (bit 0 by default).
flip() {
	v=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((v ^ ${3:-1})))" |
	    dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
mkdir "$T/d"
mv_msg acme TXD 1 1 >"$T/d/q1.xml"
mv_msg acme TXD 2 1 >"$T/d/q2.xml"
for i in 1 2; do
	{ msg acme - "30$i"; printf '<!-- '; head -c 40000 /dev/urandom |
	    base64 -w 0; printf ' -->\n'; } >"$T/d/pad$i.xml"
done
files="q1.xml pad1.xml pad2.xml q2.xml"
(cd "$T/d" && bsdtar --options gzip:compression-level=0 -czf \
    "$T/work/stored.tgz" $files)
off=$(grep -boa '<Quantity>1</Quantity>' "$T/work/stored.tgz" | head -n 1 |
    cut -d: -f1)
flip "$T/work/stored.tgz" $((off + 10)) 8	# '1' becomes '9'
grep -qa '<Quantity>9</Quantity>' "$T/work/stored.tgz" || fail "no 9"
(cd "$T/d" && bsdtar -czf "$T/work/good.tgz" $files)
size=$(stat -c %s "$T/work/good.tgz")
cp "$T/work/good.tgz" "$T/work/crc.tgz"
flip "$T/work/crc.tgz" $((size - 8))
cp "$T/work/good.tgz" "$T/work/len.tgz"
flip "$T/work/len.tgz" $((size - 2))
{ cat "$T/work/good.tgz"; printf 'junk'; } >"$T/work/junk.tgz"
(cd "$T/d" && bsdtar -cJf "$T/work/check.txz" $files)
flip "$T/work/check.txz" $(($(stat -c %s "$T/work/check.txz") - 16))
(cd "$T/d" && bsdtar -cjf "$T/work/crc.tbz2" $files)
flip "$T/work/crc.tbz2" $(($(stat -c %s "$T/work/crc.tbz2") - 3))
(cd "$T/d" && zip -q -0 "$T/work/crc.zip" $files)
off=$(grep -boa '<Quantity>1</Quantity>' "$T/work/crc.zip" | head -n 1 |
    cut -d: -f1)
flip "$T/work/crc.zip" $((off + 10)) 8
# A plain tar cut where q2.xml's header starts: the entries before the
# cut are whole, the end-of-archive blocks missing.
(cd "$T/d" && bsdtar -cf "$T/work/whole.tar" $files)
off=$(grep -boa 'q2\.xml' "$T/work/whole.tar" | head -n 1 | cut -d: -f1)
[ $((off % 512)) -eq 0 ] || fail "q2.xml's header at $off"
head -c "$off" "$T/work/whole.tar" >"$T/work/cut.tar"
damaged="cut.tar:without_its_end-of-archive_blocks
stored.tgz:gzip_CRC-32_check_failed crc.tgz:gzip_CRC-32_check_failed
len.tgz:gzip_length_check_failed junk.tgz:after_the_end_of_the_gzip_stream
check.txz:xz_stream_fails_its_checks crc.tbz2:bzip2_stream_fails_its_checks
crc.zip:ZIP_bad_CRC"
if command -v zstd >/dev/null; then
	(cd "$T/d" && bsdtar -cf - $files) | zstd -q --check >"$T/work/sum.tzst"
	flip "$T/work/sum.tzst" $(($(stat -c %s "$T/work/sum.tzst") - 1))
	damaged="$damaged sum.tzst:zstd_stream_fails_its_checks"
fi
n0=$(db "SELECT count(*) FROM messages")
start_daemon
for d in $damaged; do
	f=${d%%:*}
	why=$(echo "${d#*:}" | tr _ ' ')
	bundle "$f"
	# (the .reason is written first, then the bundle moved: wait for both)
	wait_until 20 'ls "$T/spool/rejected" |
	    grep -q "^acme,$f,[0-9]*\.bundle\.reason\$" &&
	    ls "$T/spool/rejected" | grep -q "^acme,$f,[0-9]*\.bundle\$"' ||
	    fail "$f not rejected"
	b=$(db "SELECT id FROM batches WHERE orig_name = '$f'")
	[ -f "$T/spool/rejected/acme,$f,$b.bundle" ] || fail "$f: no bundle"
	head -n 1 "$T/spool/rejected/acme,$f,$b.bundle.reason" |
	    grep -q "^bundle is .*$why" || fail "$f: reason: $(head \
	    -n 1 "$T/spool/rejected/acme,$f,$b.bundle.reason"), want $why"
	[ "$(db "SELECT count(*) FROM batch_entries WHERE batch = $b")" \
	    -eq 0 ] || fail "$f: entries recorded"
	[ ! -e "$T/spool/incoming/acme/$f" ] || fail "$f still in incoming/"
done
[ "$(db "SELECT count(*) FROM messages WHERE transaction_id = 'TXD'")" \
    -eq 0 ] || fail "an entry of a damaged bundle was accepted"
[ -z "$(db "SELECT quantity FROM v_stock WHERE item = 'ITEM-acme-TXD'")" ] ||
    fail "an entry of a damaged bundle reached the ledger"
# The sound bundle after them: its movements are applied, once.
bundle good.tgz
wait_until 20 '[ "$(db "SELECT count(*) FROM messages WHERE \
    transaction_id = '\''TXD'\'' AND state = '\''done'\''")" -eq 2 ]' ||
    fail "the sound bundle was not processed"
stop_daemon
[ "$(db "SELECT count(*) FROM messages")" -eq $((n0 + 4)) ] ||
    fail "entries of damaged bundles were accepted"
[ "$(db "SELECT quantity FROM v_stock WHERE item = 'ITEM-acme-TXD'")" = 2 ] ||
    fail "stock of TXD: $(db "SELECT quantity FROM v_stock WHERE \
    item = 'ITEM-acme-TXD'"), want 2"
ok "damaged gzip, xz, bzip2, zstd, zip and cut tar bundles: rejected whole"

expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" check
ok "spoolctl check: bundles and their entries agree with the store"

# Purging done/ removes bundle entries' messages too; the batch keeps
# each entry's fate.
db "UPDATE messages SET updated_at = updated_at - 864000000 WHERE batch = 2"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" purge --done-older-than 7d
[ "$(db "SELECT count(*) FROM messages WHERE batch = 2")" -eq 0 ] ||
    fail "purge kept bundle entries"
[ "$(db "SELECT count(*) FROM batch_entries WHERE batch = 2 AND \
    fate = 'duplicate' AND message IS NULL")" -eq 4 ] ||
    fail "purged entries lost their fate"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" batch 2
expect_out "duplicate"
ok "purge removes bundle entries' messages; the batch keeps their fates"

# Once none of its messages is left, purge removes the bundle file from
# done/; the batch stays. A bundle with messages left stays.
db "UPDATE batches SET received_at = received_at - 864000000 \
    WHERE id IN (1, 2)"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" purge --done-older-than 7d \
    --dry-run
expect_out "would remove 1 bundle file from done/"
[ -f "$T/spool/done/acme,day.tgz,2.bundle" ] || fail "dry run removed"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" --json purge \
    --done-older-than 7d
[ "$(jq .bundles "$T/out")" -eq 1 ] || fail "purge --json bundles"
[ ! -e "$T/spool/done/acme,day.tgz,2.bundle" ] || fail "bundle not purged"
[ -f "$T/spool/done/acme,plain.tar,1.bundle" ] ||
    fail "a bundle with messages left was purged"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" batch 2 --json
[ "$(jq -r '.file, (.entries | length)' "$T/out" | tr '\n' ' ')" = \
    "null 4 " ] || fail "purged batch"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" check
ok "purge removes a bundle file once its messages are gone"

# The dry run counts the bundle files that the purge removes along with
# their messages, not only those whose messages are gone already (issue
# 16: purge --dry-run said something other than what the purge did).
mv_msg acme TXP 1 3 >"$T/w/p1.xml"
mv_msg acme TXP 2 3 >"$T/w/p2.xml"
(cd "$T/w" && bsdtar -czf "$T/work/pair.tgz" p1.xml p2.xml)
bundle pair.tgz
run_once
b=$(db "SELECT id FROM batches WHERE orig_name = 'pair.tgz'")
[ "$(db "SELECT count(*) FROM messages WHERE batch = $b AND
    state = 'done'")" -eq 2 ] || fail "pair.tgz's messages not done"
db "UPDATE messages SET updated_at = updated_at - 864000000 WHERE batch = $b"
db "UPDATE batches SET received_at = received_at - 864000000 WHERE id = $b"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" purge --done-older-than 7d \
    --dry-run
expect_out "would remove 2 messages"
expect_out "would remove 1 bundle file from done/"
[ -f "$T/spool/done/acme,pair.tgz,$b.bundle" ] || fail "dry run removed"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" --json purge --done-older-than \
    7d --dry-run
[ "$(jq .bundles "$T/out")" -eq 1 ] || fail "purge --dry-run --json bundles"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" purge --done-older-than 7d
expect_out "removed 2 messages"
expect_out "removed 1 bundle file from done/"
[ ! -e "$T/spool/done/acme,pair.tgz,$b.bundle" ] || fail "bundle not purged"
expect_exit 0 $SPOOLCTL -c "$T/spoold.conf" check
ok "purge --dry-run counts the bundle files its messages take along"
