#!/bin/sh
# edischema.sh - an interchange's messages validated against an XSD for
# their qualified type (schemas/edifact.ORDERS.xsd) get the whole EDI
# tree: their keys are read from a tree with the segments the keys do
# not read left bare (dialect_edi_tags(), accept_read.c), and the
# schema, which wants every segment's elements, must not see that one.
# Two ORDERS in one interchange, each with a NAD the keys never read:
# the first valid, the second with a segment the schema refuses. With
# parse_threads 1 and 2 (the helper thread of accept_ahead.c).
. "$(dirname "$0")/lib.sh"
set -e

command -v sqlite3 >/dev/null 2>&1 || { echo "SKIP: no sqlite3"; exit 77; }

mkdir -p "$T/schemas"
# Every segment has at least one element; no FTX anywhere.
cat >"$T/schemas/edifact.ORDERS.xsd" <<'XSD'
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
 <xs:complexType name="seg">
  <xs:sequence>
   <xs:element name="element" maxOccurs="unbounded">
    <xs:complexType>
     <xs:sequence>
      <xs:any processContents="skip" maxOccurs="unbounded"/>
     </xs:sequence>
     <xs:anyAttribute processContents="skip"/>
    </xs:complexType>
   </xs:element>
  </xs:sequence>
  <xs:attribute name="tag">
   <xs:simpleType>
    <xs:restriction base="xs:string">
     <xs:pattern value="[A-EG-Z][A-Z0-9]{2}|F[A-SU-Z0-9][A-Z0-9]|FT[A-WYZ0-9]"/>
    </xs:restriction>
   </xs:simpleType>
  </xs:attribute>
  <xs:anyAttribute processContents="skip"/>
 </xs:complexType>
 <xs:element name="edifact">
  <xs:complexType>
   <xs:sequence>
    <xs:element name="interchange">
     <xs:complexType>
      <xs:sequence>
       <xs:element name="segment" type="seg" maxOccurs="unbounded"/>
       <xs:element name="message">
        <xs:complexType>
         <xs:sequence>
          <xs:element name="segment" type="seg" maxOccurs="unbounded"/>
         </xs:sequence>
         <xs:anyAttribute processContents="skip"/>
        </xs:complexType>
       </xs:element>
      </xs:sequence>
      <xs:anyAttribute processContents="skip"/>
     </xs:complexType>
    </xs:element>
   </xs:sequence>
  </xs:complexType>
 </xs:element>
</xs:schema>
XSD

run() {
	rm -rf "$T/spool"
	cat >"$T/spoold.conf" <<CONF
[spool]
directory = $T/spool
schemas = $T/schemas
dialects = $top_srcdir/dialects
[log]
level = info
[partner acme]
ids = ZZ:SENDER
[processing]
settle_time = 0s
parse_threads = $1
CONF
	$SPOOLD -c "$T/spoold.conf" --init >/dev/null
	mkdir -p "$T/spool/incoming/acme"
	printf '%s\n' "UNA:+.? '" \
	    "UNB+UNOC:3+SENDER:ZZ+RECEIVER:ZZ+260101:1200+SCH1'" \
	    "UNH+1+ORDERS:D:96A:UN'" "BGM+220+PO1+9'" \
	    "NAD+BY+4000001000005::9'" "UNT+4+1'" \
	    "UNH+2+ORDERS:D:96A:UN'" "BGM+220+PO2+9'" \
	    "NAD+BY+4000001000005::9'" "FTX+AAI+++NOTE'" "UNT+5+2'" \
	    "UNZ+2+SCH1'" >"$T/spool/incoming/acme/orders.edi"
	$SPOOLD -c "$T/spoold.conf" --once >"$T/log" 2>&1 ||
	    fail "spoold --once failed (parse_threads = $1)"
	DB=$T/spool/spool.db
	sql "SELECT state, coalesce(reason, '-') FROM messages ORDER BY id" \
	    >"$T/rows.$1" || fail "cannot read the store"
	[ "$(wc -l <"$T/rows.$1")" -eq 2 ] ||
	    fail "not 2 rows (parse_threads = $1): $(cat "$T/rows.$1")"
	# Accepted (and held: no route).
	head -n 1 "$T/rows.$1" | grep -q "^held|held by spoold: no route" ||
	    fail "the valid ORDERS is not accepted (parse_threads = $1):" \
	    "$(head -n 1 "$T/rows.$1")"
	tail -n 1 "$T/rows.$1" | grep -q "^rejected|.*does not match its schema.*FTX" ||
	    fail "the ORDERS with an FTX is not refused by the schema" \
	    "(parse_threads = $1): $(tail -n 1 "$T/rows.$1")"
	ok "parse_threads $1: validated on the whole tree"
}

run 1
run 2
cmp -s "$T/rows.1" "$T/rows.2" || fail "the rows differ between 1 and 2"
