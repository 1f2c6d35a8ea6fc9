#!/bin/sh
# dialectxsd.sh - a dialect's own XSDs ([schemas], DESIGN 15, issue 17):
# an XSD per type that includes another, compiled once when the dialects
# load; a document that matches is accepted, one that does not is
# rejected with the schema's reason; a broken or missing XSD stops
# --check-config with the dialect file's name and line.
. "$(dirname "$0")/lib.sh"

D=$T/dialects
mkdir -p "$D/xsd/common"
cat >"$D/acme.dialect" <<'EOF'
[dialect]
name = acme
syntax = xml
root = urn:example:acme:1 Invoice

[namespaces]
a = urn:example:acme:1

[keys]
type = local-name(/*)
sender = /a:Invoice/a:Seller
message_id = /a:Invoice/a:ID

[schemas]
Invoice = xsd/Invoice.xsd
EOF
# The type's XSD includes the common one, by a relative path.
cat >"$D/xsd/Invoice.xsd" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns="urn:example:acme:1" targetNamespace="urn:example:acme:1"
    elementFormDefault="qualified">
  <xs:include schemaLocation="common/Common.xsd"/>
  <xs:element name="Invoice">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="ID" type="xs:string"/>
        <xs:element name="Seller" type="xs:string"/>
        <xs:element name="Amount" type="AmountType"/>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
</xs:schema>
EOF
cat >"$D/xsd/common/Common.xsd" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns="urn:example:acme:1" targetNamespace="urn:example:acme:1"
    elementFormDefault="qualified">
  <xs:simpleType name="AmountType">
    <xs:restriction base="xs:decimal"/>
  </xs:simpleType>
</xs:schema>
EOF
write_conf
sed -i "s|^dialects = .*|dialects = $top_srcdir/dialects $D|" "$T/spoold.conf"
cat >>"$T/spoold.conf" <<CONF
[route acme.Invoice]
handler = exec
command = /bin/true
CONF
expect_exit 0 $SPOOLD -c "$T/spoold.conf" --check-config

inv() {
	printf '<Invoice xmlns="urn:example:acme:1"><ID>%s</ID>' "$1"
	printf '<Seller>acme</Seller><Amount>%s</Amount></Invoice>\n' "$2"
}
$SPOOLD -c "$T/spoold.conf" --init >/dev/null
DB=$T/spool/spool.db
mkdir -p "$T/spool/incoming/acme"
start_daemon
inv INV-1 12.50 >"$T/spool/incoming/acme/good.xml"
inv INV-2 twelve >"$T/spool/incoming/acme/bad.xml"
wait_until 20 '[ "$(count done)" -eq 1 ] && [ "$(count rejected)" -eq 1 ]' ||
    fail "not one done and one rejected: $(ls -R "$T/spool" | head -n 40)"
stop_daemon
r=$(cat "$T"/spool/rejected/*bad.xml*.reason)
echo "reason: $r"
echo "$r" | grep -q "acme.Invoice does not match its schema (dialect acme)" ||
    fail "reason: $r"
echo "$r" | grep -q "Amount" || fail "the reason does not name Amount: $r"
ok "a dialect's XSD (with an include) validates its type"

# A broken XSD: --check-config names the dialect file and line.
printf '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">\n' \
    >"$D/xsd/common/Common.xsd"
expect_exit 78 $SPOOLD -c "$T/spoold.conf" --check-config
expect_out "acme.dialect:15: cannot load schema"
rm "$D/xsd/Invoice.xsd"
expect_exit 78 $SPOOLD -c "$T/spoold.conf" --check-config
expect_out "acme.dialect:15: cannot load schema"
ok "a broken or missing XSD stops --check-config at its line"
