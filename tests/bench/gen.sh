#!/bin/sh
# gen.sh - make N native messages of about 2 KiB for the benchmarks.
#
# usage: gen.sh [-P] [-l LINES] [-s SEED] [-p PARTNER] [-t TXPREFIX] N DIR
#
# Writes N FinancialPosting messages (schemas/FinancialPosting.xsd) into
# DIR (created if missing): transactions of 10 messages, SenderSequence
# 1..10 (the last transaction may be shorter), TransactionId
# TXPREFIX-000001, ... (default BENCH; give another to add transactions
# to a spool that has some), Sender PARTNER (default acme), each a
# balanced posting of 1 credit and enough debit lines to make the file
# about 2 KiB. FinancialPosting is a ledger type, so the
# same files can later be processed by the ledger handler in any order
# their sequence numbers allow.
#
# -l LINES: each posting has LINES lines (LINES - 1 debits and the
# credit, LINES >= 2) and an XML comment pads it to about 2 KiB: the
# same bytes to read, hash and rename, fewer to parse as elements and
# fewer ledger rows. Without it a posting has as many lines as fill 2
# KiB: 26.
#
# -P: every message parks: SenderSequence runs 2..11 instead of 1..10,
# so that no transaction has its first message and none is ever ready
# (for memory checks with many parked messages). File names and
# MessageIds carry the shifted numbers; the bodies are the same.
#
# The files' order is shuffled: names start with a position in a random
# permutation (m0000042-BENCH-000123-07.xml), so that a program taking them in
# name or directory order sees most of a transaction's messages before
# its sequence number 1. The permutation is the same for the same SEED
# (default 1) and N.
set -eu

seed=1
partner=acme
txprefix=BENCH
first=1
lines=0
usage() {
	echo "usage: gen.sh [-P] [-l LINES] [-s SEED] [-p PARTNER]" \
	    "[-t TXPREFIX] N DIR" >&2
	exit 64
}
while getopts Pl:s:p:t:h opt; do
	case $opt in
	P) first=2 ;;
	l) lines=$OPTARG ;;
	s) seed=$OPTARG ;;
	p) partner=$OPTARG ;;
	t) txprefix=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || usage
case $1 in
'' | *[!0-9]*) usage ;;
esac
case $seed in
'' | *[!0-9]*) usage ;;
esac
case $lines in
'' | *[!0-9]*) usage ;;
esac
[ "$lines" -eq 0 ] || [ "$lines" -ge 2 ] || usage
# Both end up in XML text and file names: keep them plain.
case $partner$txprefix in
*[!A-Za-z0-9._-]*) usage ;;
esac
if [ -z "$partner" ] || [ -z "$txprefix" ]; then usage; fi
n=$1
dir=$2
mkdir -p "$dir"

awk -v n="$n" -v dir="$dir" -v seed="$seed" -v partner="$partner" \
    -v txp="$txprefix" -v first="$first" -v lines="$lines" '
BEGIN {
	srand(seed)
	# A random permutation: position of message i in the file order.
	for (i = 0; i < n; i++)
		pos[i] = i
	for (i = n - 1; i > 0; i--) {
		j = int(rand() * (i + 1))
		t = pos[i]; pos[i] = pos[j]; pos[j] = t
	}
	target = 2048
	for (i = 0; i < n; i++) {
		tx = int(i / 10) + 1
		seq = i % 10 + first
		name = sprintf("%s/m%07d-%s-%06d-%02d.xml", dir, pos[i], txp,
		    tx, seq)
		head = sprintf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
		    "<FinancialPosting>\n  <Header>\n" \
		    "    <MessageId>%s-%s-%06d-%02d</MessageId>\n" \
		    "    <Sender>%s</Sender>\n" \
		    "    <Recipient>ERP</Recipient>\n" \
		    "    <TransactionId>%s-%06d</TransactionId>\n" \
		    "    <SenderSequence>%d</SenderSequence>\n" \
		    "    <ReceiverSequence>0</ReceiverSequence>\n" \
		    "    <Created>2026-11-24T10:00:00Z</Created>\n" \
		    "  </Header>\n  <Body>\n    <Currency>EUR</Currency>\n",
		    partner, txp, tx, seq, partner, txp, tx, seq)
		tail = "  </Body>\n</FinancialPosting>\n"
		body = ""
		sum = 0
		# Debit lines until the credit line and the end would reach
		# the target size (a line is about 60 bytes).
		for (l = 1; ; l++) {
			if (lines > 0 && l >= lines)
				break
			if (lines == 0 && length(head) + length(body) + 130 >= \
			    target)
				break
			amt = int(rand() * 9999900) + 100
			sum += amt
			body = body sprintf("    <Line><Account>%d</Account>" \
			    "<Debit>%d</Debit></Line>\n",
			    4000 + int(rand() * 900), amt)
		}
		body = body sprintf("    <Line><Account>70001</Account>" \
		    "<Credit>%d</Credit></Line>\n", sum)
		pad = target - length(head) - length(body) - length(tail) - 10
		if (lines > 0 && pad > 0)
			body = body "    <!-- " sprintf("%" pad "s", "") \
			    " -->\n"
		printf "%s%s%s", head, body, tail > name
		close(name)
	}
}'
