/*
 * burstgen.c - write N small FinancialPosting messages into a directory,
 * fast (for bench-burst and bench-latency: a million files in seconds,
 * where gen.sh's awk takes minutes).
 *
 * usage: burstgen [-t TXPREFIX] [-p PARTNER] [-s SEQ0] N DIR
 *
 * Each message is about 600 bytes, valid against
 * schemas/FinancialPosting.xsd and balanced (one debit, one credit), in
 * transactions of 10 (SenderSequence SEQ0.., default 1). The files are
 * written in arrival order (transaction by transaction, sequence numbers
 * ascending), so their mtimes ascend, but their names do not: a name
 * begins with a position in a fixed permutation of 0..N-1, so name and
 * directory order differ from arrival order. Each file is written under
 * a dot-name and renamed into place, as an upload is.
 *
 * Built by the benchmarks with cc -O2; not part of the build.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned long
gcd(unsigned long a, unsigned long b)
{
	while (b != 0) {
		unsigned long t = a % b;

		a = b;
		b = t;
	}
	return a;
}

int
main(int argc, char **argv)
{
	const char *txp = "BURST", *partner = "acme", *dir;
	unsigned long n, i, mul, tx;
	int seq0 = 1, c, fd, len, seq;
	char buf[2048], name[512], tmp[512];

	while ((c = getopt(argc, argv, "t:p:s:")) != -1) {
		switch (c) {
		case 't':
			txp = optarg;
			break;
		case 'p':
			partner = optarg;
			break;
		case 's':
			seq0 = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 2)
		goto usage;
	n = strtoul(argv[optind], NULL, 10);
	dir = argv[optind + 1];
	if (n == 0)
		goto usage;
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		perror(dir);
		return 1;
	}
	/* i -> (i * mul + 7) mod n is a permutation when gcd(mul, n) = 1. */
	for (mul = 7919; gcd(mul, n) != 1; mul += 2)
		;
	for (i = 0; i < n; i++) {
		tx = i / 10 + 1;
		seq = (int)(i % 10) + seq0;
		len = snprintf(buf, sizeof(buf),
		    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		    "<FinancialPosting>\n  <Header>\n"
		    "    <MessageId>%s-%s-%07lu-%02d</MessageId>\n"
		    "    <Sender>%s</Sender>\n"
		    "    <Recipient>ERP</Recipient>\n"
		    "    <TransactionId>%s-%07lu</TransactionId>\n"
		    "    <SenderSequence>%d</SenderSequence>\n"
		    "    <ReceiverSequence>0</ReceiverSequence>\n"
		    "    <Created>2026-11-24T10:00:00Z</Created>\n"
		    "  </Header>\n  <Body>\n    <Currency>EUR</Currency>\n"
		    "    <Line><Account>4%03lu</Account><Debit>%lu</Debit>"
		    "</Line>\n"
		    "    <Line><Account>70001</Account><Credit>%lu</Credit>"
		    "</Line>\n"
		    "  </Body>\n</FinancialPosting>\n",
		    partner, txp, tx, seq, partner, txp, tx, seq, i % 900,
		    100 + i % 99991, 100 + i % 99991);
		snprintf(name, sizeof(name), "%s/m%08lu-%s-%07lu-%02d.xml",
		    dir, (i * mul + 7) % n, txp, tx, seq);
		snprintf(tmp, sizeof(tmp), "%s/.burstgen.tmp", dir);
		if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) ==
		    -1 || write(fd, buf, (size_t)len) != len ||
		    close(fd) == -1 || rename(tmp, name) == -1) {
			perror(name);
			return 1;
		}
	}
	return 0;
usage:
	fprintf(stderr, "usage: burstgen [-t TXPREFIX] [-p PARTNER] "
	    "[-s SEQ0] N DIR\n");
	return 64;
}
