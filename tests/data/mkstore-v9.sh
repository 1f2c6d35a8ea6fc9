#!/bin/sh
# mkstore-v9.sh - how store-v9.sql was made: a spool worked by spoold at
# schema version 9 (the schema of the release before handlers owned
# their tables), dumped with sqlite3. Run from a build directory:
#   top_builddir=. sh ../tests/data/mkstore-v9.sh > ../tests/data/store-v9.sql
# It holds messages of every kind, ledger moves, stock and postings,
# order revisions (with an auto_ack reply in outbound) and exec calls.
. "$(dirname "$0")/../integration/lib.sh"

write_conf
cat >>"$T/spoold.conf" <<CONF
[route PurchaseOrderCreate]
handler = orders
auto_ack = yes
[route PurchaseOrderAccept]
handler = orders
[route InventoryMovement]
handler = ledger
[route ProductInfo]
handler = exec
command = /bin/true
CONF
$SPOOLD -c "$T/spoold.conf" --init >/dev/null 2>&1
for s in 1 2 3; do
	mv_msg acme TX1 "$s" 4 | drop acme "acme,TX1,$s.xml"
done
msg acme - 1 | drop acme "acme,p1.xml"
cat <<XML | drop acme "acme,PO1,1.xml"
<?xml version="1.0" encoding="UTF-8"?>
<PurchaseOrderCreate>
  <Header>
    <Sender>acme</Sender>
    <Recipient>ERP</Recipient>
    <TransactionId>PO1</TransactionId>
    <SenderSequence>1</SenderSequence>
    <ReceiverSequence>0</ReceiverSequence>
  </Header>
  <Body><OrderNumber>ON-1</OrderNumber><Line number="1"><Item>SKU-1</Item><Quantity unit="PCE">40</Quantity><Price>1250</Price></Line></Body>
</PurchaseOrderCreate>
XML
cat <<XML | drop acme "acme,PO1,2.xml"
<?xml version="1.0" encoding="UTF-8"?>
<PurchaseOrderAccept>
  <Header>
    <Sender>acme</Sender>
    <Recipient>ERP</Recipient>
    <TransactionId>PO1</TransactionId>
    <SenderSequence>2</SenderSequence>
    <ReceiverSequence>1</ReceiverSequence>
  </Header>
  <Body><OrderNumber>ON-1</OrderNumber></Body>
</PurchaseOrderAccept>
XML
# parked: number 5 of TX1 waits for 4
mv_msg acme TX1 5 1 | drop acme "acme,TX1,5.xml"
start_daemon
DB="$T/spool/spool.db"
worked() {
	[ "$(sqlite3 "$DB" "SELECT count(*) FROM messages WHERE
	    state = 'done'")" -ge 6 ] && [ "$(sqlite3 "$DB" "SELECT count(*)
	    FROM outbound WHERE written_at IS NOT NULL")" -ge 1 ]
}
wait_until 30 worked || fail "the spool was not worked through"
stop_daemon
sqlite3 "$DB" .dump
echo "PRAGMA user_version = $(sqlite3 "$DB" "PRAGMA user_version");"
