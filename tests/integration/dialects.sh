#!/bin/sh
# dialects.sh - every file of the real public samples (shared/samples/real,
# see its SOURCES.md) dropped into a running spoold: each ends where the
# README's table says, with the keys it says; the adversarial XML stays
# rejected, and each envelope quirk gives its own reason. The table
# "real samples and what spoold makes of them" is written to
# tests/real-samples.md in the build directory. Exec programs get
# SPOOLD_DIALECT, the qualified SPOOLD_TYPE and SPOOLD_TEST.
. "$(dirname "$0")/lib.sh"

R=${SPOOLD_REAL_SAMPLES:-$top_srcdir/../shared/samples/real}
[ -d "$R" ] || { echo "no real samples at $R: skipped"; exit 77; }
TABLE=$top_builddir/tests/real-samples.md

cat >"$T/h.sh" <<EOF
#!/bin/sh
printf '%s|%s|%s|%s\n' "\$SPOOLD_MESSAGE_ID" "\$SPOOLD_DIALECT" \
    "\$SPOOLD_TYPE" "\$SPOOLD_TEST" >>'$T/calls.log'
cat >/dev/null
EOF
chmod +x "$T/h.sh"

write_conf
# The partner's ids and ours: lists that continue on indented lines, one
# ID with a blank quoted (as ISA06 may hold one).
cat >"$T/spoold.conf" <<EOF
[spool]
directory = $T/spool
schemas = $top_srcdir/schemas
dialects = $top_srcdir/dialects
our_ids = ZZ:8888888 supplier_specific:123456 supplier:org.de.supplier
	buyer_specific:10000735 GLN:1234567987654 GLN:7302347231111
	GLN:7300072311115 08:9251750000 ZZ:222222222222 ZZ:123456789012345
	01:999999999 ZZ:123MILL EM:buyer@info.de "ZZ:SPOOLD HUB"
[log]
level = debug
[route *]
handler = exec
command = $T/h.sh
[partner hub]
ids = 31B:1556150, supplier_specific:10000735, buyer:org.de.buyer
	supplier_specific:123456 GLN:1234567890123 GLN:7300072311115
	GLN:7302347231111 ZZ:ABYZ000 01:111111111 ZZ:ABCDEFGHIJKLMNO
	12:4405197800 ZZ:1556150 EM:seller@email.de
	"ZZ:ACME CORP"
[partner stranger]
dialects = x12
[processing]
settle_time = 0s
EOF
$SPOOLD -c "$T/spoold.conf" --check-config >"$T/out" 2>&1 ||
    { cat "$T/out" >&2; fail "the config is refused"; }
$SPOOLD -c "$T/spoold.conf" --init >/dev/null
start_daemon

# Every regular file, named after its path (a '/' is no name).
mkdir -p "$T/spool/incoming/hub" "$T/spool/incoming/stranger"
n=0
for f in $(cd "$R" && find . -type f | sed 's|^\./||' | sort); do
	name=$(printf '%s' "$f" | tr '/' '_')
	cp "$R/$f" "$T/spool/incoming/hub/.$name"
	mv "$T/spool/incoming/hub/.$name" "$T/spool/incoming/hub/$name"
	n=$((n + 1))
done
[ "$n" -ge 33 ] || fail "only $n sample files at $R"
# A stranger's X12 (no ids of its own) is spoofed; its ORDERS cannot be
# read at all (dialects = x12).
cp "$R/x12-node-x12/850.edi" "$T/spool/incoming/stranger/850.edi"
cp "$R/edifact-php-edifact/D96ADESADV.edi" \
    "$T/spool/incoming/stranger/desadv.edi"

q() { sqlite3 "$T/spool/spool.db" "$1"; }
settled() {
	[ -z "$(ls -A "$T/spool/incoming/hub")" ] &&
	    [ -z "$(ls -A "$T/spool/incoming/stranger")" ] &&
	    [ "$(q "SELECT count(*) FROM messages WHERE state IN ('queue',
	    'deferred')")" = 0 ]
}
wait_until 60 settled ||
    { ls -la "$T/spool/incoming/hub" >&2; q "SELECT id, state, type FROM
      messages WHERE state IN ('queue', 'deferred')" >&2;
      fail "the samples were not all taken and processed"; }
stop_daemon

# The table: one row per file, and per message of a split file.
{
	echo "| file | dialect | type | sender | transaction | sequence |" \
	    "fate and reason |"
	echo "|---|---|---|---|---|---|---|"
	sqlite3 -separator ' | ' "$T/spool/spool.db" "SELECT
	    coalesce(b.orig_name, m.orig_name) ||
	    CASE WHEN b.id IS NULL THEN '' ELSE ' (' || m.orig_name || ')' END,
	    coalesce(m.dialect, CASE WHEN m.type IS NULL THEN '-'
	      ELSE 'native' END),
	    coalesce(m.type, '-'), coalesce(m.sender, '-'),
	    coalesce(m.transaction_id, m.reference, '-'),
	    coalesce(m.sender_seq, '-'),
	    m.state || coalesce(': ' || replace(m.reason, '|', '/'), '')
	    FROM messages m LEFT JOIN batches b ON b.id = m.batch
	    WHERE m.partner = 'hub'
	    UNION ALL
	    SELECT b.orig_name, '-', '-', '-', '-', '-',
	    'rejected: ' || replace(b.reason, '|', '/')
	    FROM batches b WHERE b.partner = 'hub' AND b.state = 'rejected'
	    ORDER BY 1" |
	    sed 's/^/| /; s/$/ |/; s/rejected: bundle [^,]*, entry [^:]*: /rejected: /'
} >"$TABLE"
cp "$TABLE" "$T/table.md"

# row FILE-PATTERN FATE-PATTERN: some row of the table matches both.
row() {
	grep -F -- "$1" "$T/table.md" | grep -q -- "$2" ||
	    { cat "$T/table.md" >&2; fail "no row for $1 with $2"; }
}
# Read and processed, with their keys.
row "ubl-2.1_UBL-Invoice-2.1-Example.xml" \
    "| ubl | ubl.Invoice | GLN:1234567890123 | 123 | - | done"
row "ubl-2.1_UBL-Order-2.1-Example.xml" \
    "| ubl | ubl.Order | GLN:7300072311115 | 34 | - | done"
row "ubl-2.1_UBL-OrderResponse-2.1-Example.xml" \
    "| ubl | ubl.OrderResponse | GLN:7302347231111 | 34 | - | done"
row "xrechnung-kosit-testsuite_01.01a-INVOICE_ubl.xml" \
    "| ubl | ubl.Invoice | EM:seller@email.de |"
row "xrechnung-kosit-testsuite_01.01a-INVOICE_uncefact.xml" \
    "| cii | cii.CrossIndustryInvoice | EM:seller@email.de |.*| done"
row "opentrans-2.1_ORDER_Testdistributor_Bestellung.xml" \
    "| opentrans | opentrans.ORDER | supplier_specific:123456 |.*| done"
row "opentrans-2.1_ORDERCHANGE_minimal_valid.xml" \
    "| opentrans | opentrans.ORDERCHANGE | buyer:org.de.buyer | order-id-1"
row "opentrans-2.1_INVOICE_Testdistributor_Rechnung.xml" \
    "| opentrans | opentrans.INVOICE | supplier_specific:10000735 |"
row "x12-node-x12_850.edi" "| x12 | x12.850 | 12:4405197800 |.*| done"
row "x12-node-x12_855.edi" "| x12 | x12.855 | ZZ:1556150 |.*| done"
row "x12-node-x12_856.edi" "| x12 | x12.856 |.*| done"
row "x12-bots-plugins-GPL2_810-004010-01.x12 (interchange-1-message-2" \
    "| x12 | x12.810 | ZZ:ABYZ000 |.*| done"
row "x12-bots-plugins-GPL2_997-004010VICS-01.x12" "| x12 | x12.997 |.*| done"
# Two interchanges: a file and a batch each (DESIGN 15).
row "x12-ediengine_MultipleInterchangesAndGroups.edi.interchange-2 (interchange-1-message-3" \
    "| x12 |.*| done"
row "edifact-php-edifact_D96ADESADV.edi" \
    "| edifact | edifact.DESADV | 31B:1556150 |.*| done"
# The UBL DespatchAdvice example names no party ID at all.
row "ubl-2.1_UBL-DespatchAdvice-2.0-Example.xml" \
    "rejected: dialect ubl finds no sender in this DespatchAdvice"
# Envelope quirks (SOURCES.md), each with its own reason.
row "edifact-en16931_EDIFACT_EXAMPLE1.TXT" \
    "rejected: interchange refused whole: .*UNZ reference 12115118 does not match UNB reference 87846595"
row "edifact-en16931_EDIFACT_EXAMPLE0.TXT" \
    "rejected: .*UNT segment count 171 does not match the 37 segments"
row "edifact-pydifact_order.edi" "rejected: interchange refused whole: .*ends before the UNZ"
row "x12-ediengine_ControlNumbersMismatch.edi" \
    "rejected: interchange refused whole: .*control number .* does not match"
# The adversarial XML stays rejected.
for f in xmlbomb cyclic external quadratic; do
	row "xml-adversarial-defusedxml_$f.xml" \
	    "rejected: DOCTYPE declarations are not allowed"
done
row "xml-adversarial-libxml2_lol_classic.xml" "rejected: DOCTYPE"
row "xml-adversarial-libxml2_truncated-utf16.xml" "rejected: not well-formed"
row "xml-adversarial-libxml2_unclosed-element.xml" "rejected: not well-formed"

# Nothing left behind, nothing lost: every file has its row or batch.
[ -z "$(ls -A "$T/spool/incoming/hub")" ] || fail "files left in incoming/"
[ "$(q "SELECT count(DISTINCT orig_name) FROM messages WHERE partner =
    'hub' AND batch IS NULL") + $(q "SELECT count(*) FROM batches WHERE
    partner = 'hub'")" != "" ]

# Identities: a stranger's X12 is spoofed, naming its (empty) ids; an
# EDIFACT file is refused by its dialects.
[ "$(q "SELECT count(*) FROM messages WHERE partner = 'stranger' AND
    reason LIKE '%spoofed: sender 12:4405197800 is not partner stranger%'")" \
    = 1 ] || fail "a stranger's 850 is not refused as spoofed"
[ "$(q "SELECT count(*) FROM messages WHERE partner = 'stranger' AND
    reason LIKE '%EDIFACT, and no dialect partner stranger may send%'")" \
    = 1 ] || fail "an EDIFACT file from a partner of dialects = x12 passed"

# exec saw the dialect, the qualified type and the test flag (850.edi is
# a production interchange, ISA15 = P).
grep -q '|x12|x12.850|0$' "$T/calls.log" ||
    { cat "$T/calls.log" >&2; fail "exec did not get SPOOLD_DIALECT"; }
grep -q '|ubl|ubl.Invoice|0$' "$T/calls.log" ||
    fail "exec did not get ubl.Invoice"

# spoolctl shows the dialect and the reference.
id=$(q "SELECT id FROM messages WHERE orig_name =
    'ubl-2.1_UBL-Invoice-2.1-Example.xml'")
$SPOOLCTL -c "$T/spoold.conf" show "$id" --json >"$T/show.json"
[ "$(jq -r '.message | .dialect + " " + .type + " " + .reference + " " +
    (.test | tostring)' "$T/show.json")" = "ubl ubl.Invoice 123 false" ] ||
    { cat "$T/show.json" >&2; fail "spoolctl show lacks the dialect"; }
$SPOOLCTL -c "$T/spoold.conf" show "$id" >"$T/show.txt"
grep -q '^dialect  *ubl$' "$T/show.txt" || fail "show: no dialect line"

# spoolctl batch: the 810 interchange, one entry per transaction set.
b=$(q "SELECT id FROM batches WHERE orig_name =
    'x12-bots-plugins-GPL2_810-004010-01.x12'")
$SPOOLCTL -c "$T/spoold.conf" batch "$b" --json >"$T/batch.json"
[ "$(jq '[.entries[] | select(.fate == "accepted")] | length' \
    "$T/batch.json")" = 2 ] ||
    { cat "$T/batch.json" >&2; fail "spoolctl batch: not 2 entries"; }
# A file of two interchanges: two batches, one per interchange.
[ "$(q "SELECT count(*) || ' ' || sum(entries) FROM batches WHERE orig_name
    LIKE 'x12-ediengine_MultipleInterchangesAndGroups.edi.interchange-%'
    AND state = 'done'")" = "2 6" ] ||
    fail "MultipleInterchangesAndGroups.edi is not two batches of 3"
# An entry's file: the message in its envelope, cut down to it.
f=$(q "SELECT file_name FROM messages WHERE batch = $b ORDER BY id LIMIT 1")
head -c 3 "$T/spool/done/$f" | grep -q '^ISA' || fail "entry lacks its ISA"
tr -d '\r\n' <"$T/spool/done/$f" | grep -q 'GE\*1\*[0-9]*~IEA\*1\*[0-9]*~$' ||
    { cat "$T/spool/done/$f" >&2; fail "entry lacks GE/IEA for one message"; }
# The README's table is this test's output (issue 17): compared line by
# line when the README has its markers (a source tree; not a dist).
README=$top_srcdir/README.md
if grep -q '^<!-- real-samples: begin' "$README" 2>/dev/null; then
	sed -n '/^<!-- real-samples: begin/,/^<!-- real-samples: end/p' \
	    "$README" | sed '1d;$d' >"$T/readme-table.md"
	diff -u "$T/readme-table.md" "$TABLE" >&2 ||
	    fail "README.md's real-samples table differs from $TABLE: paste it"
fi
exit 0
