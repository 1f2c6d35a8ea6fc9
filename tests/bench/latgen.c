/*
 * latgen.c - drop messages at a steady rate and time each one from its
 * rename into incoming/ to its arrival in done/ (for bench-latency).
 *
 * usage: latgen [-r RATE] [-n N] [-w SECONDS] [-t TXPREFIX] [-l LATFILE]
 *            PARTNERDIR DONEDIR
 *
 * Writes N FinancialPosting messages (about 600 bytes, balanced, 10 per
 * transaction, sequence numbers in order) into PARTNERDIR, message i at
 * start + i / RATE (an absolute schedule: a late drop does not shift the
 * ones after it), each under a dot-name and renamed into place, as an
 * SFTP upload is. The drop time is taken right after the rename.
 * Meanwhile inotify watches DONEDIR: the time a message's file appears
 * there (IN_MOVED_TO, or IN_CREATE for a file written in place) is its
 * done time; the file name (partner,tx,seq,type,id.xml, spooldir_name())
 * tells which message it is. After the last drop it waits up to -w
 * seconds (default 30) for the rest.
 *
 * Prints the latencies' percentiles (ms), how many never arrived, the
 * rate achieved and how late the sender ever was against its schedule,
 * and with -l every latency (one per line, µs) to LATFILE. Exit 1 if a
 * message never arrived.
 *
 * Built by bench-latency with cc -O2; not part of the build.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

struct run {
	const char	*txp;
	int64_t		*sent, *done;
	unsigned long	 n, ndone;
};

/* partner,TXP-0000001,seq,type,id.xml -> message index, or -1. */
static long
index_of(const struct run *r, const char *name)
{
	const char *c1, *c2;
	size_t pl = strlen(r->txp);
	unsigned long tx;
	long seq;
	char *end;

	if ((c1 = strchr(name, ',')) == NULL)
		return -1;
	c1++;
	if (strncmp(c1, r->txp, pl) != 0 || c1[pl] != '-')
		return -1;
	tx = strtoul(c1 + pl + 1, &end, 10);
	if (*end != ',')
		return -1;
	c2 = end + 1;
	seq = strtol(c2, &end, 10);
	if (*end != ',' || tx == 0 || seq < 1 || seq > 10)
		return -1;
	if ((tx - 1) * 10 + (unsigned long)(seq - 1) >= r->n)
		return -1;
	return (long)((tx - 1) * 10 + (unsigned long)(seq - 1));
}

static void
read_events(int ifd, struct run *r)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(
	    struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t len;
	int64_t t;
	char *p;
	long i;

	for (;;) {
		len = read(ifd, buf, sizeof(buf));
		if (len <= 0)
			return;
		t = now_ns();
		for (p = buf; p < buf + len; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW) {
				fprintf(stderr, "latgen: inotify overflow\n");
				exit(2);
			}
			if (ev->len == 0 || ev->name[0] == '.')
				continue;
			if ((i = index_of(r, ev->name)) < 0 ||
			    r->done[i] != 0 || r->sent[i] == 0)
				continue;
			r->done[i] = t;
			r->ndone++;
		}
	}
}

/* Sleep until `until' (ns) or a done/ event, whichever comes first. */
static void
wait_until(int ifd, struct run *r, int64_t until)
{
	struct pollfd pfd = { ifd, POLLIN, 0 };
	struct timespec ts;
	int64_t d = until - now_ns();

	if (d < 0)
		d = 0;
	ts.tv_sec = d / 1000000000;
	ts.tv_nsec = d % 1000000000;
	if (ppoll(&pfd, 1, &ts, NULL) > 0)
		read_events(ifd, r);
}

int
main(int argc, char **argv)
{
	struct run r = { "LAT", NULL, NULL, 20000, 0 };
	const char *pdir, *ddir, *latfile = NULL;
	double rate = 2000;
	int64_t start, due, late = 0, t, end, *lat;
	unsigned long i, m, tx;
	int c, fd, ifd, len, seq, waits = 30;
	char buf[2048], name[PATH_MAX], tmp[PATH_MAX];
	FILE *lf;

	while ((c = getopt(argc, argv, "r:n:w:t:l:")) != -1) {
		switch (c) {
		case 'r':
			rate = atof(optarg);
			break;
		case 'n':
			r.n = strtoul(optarg, NULL, 10);
			break;
		case 'w':
			waits = atoi(optarg);
			break;
		case 't':
			r.txp = optarg;
			break;
		case 'l':
			latfile = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 2 || rate <= 0 || r.n == 0)
		goto usage;
	pdir = argv[optind];
	ddir = argv[optind + 1];
	if ((r.sent = calloc(r.n, sizeof(*r.sent))) == NULL ||
	    (r.done = calloc(r.n, sizeof(*r.done))) == NULL ||
	    (lat = calloc(r.n, sizeof(*lat))) == NULL) {
		perror("calloc");
		return 1;
	}
	if ((ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1 ||
	    inotify_add_watch(ifd, ddir, IN_MOVED_TO | IN_CREATE) == -1) {
		perror(ddir);
		return 1;
	}
	snprintf(tmp, sizeof(tmp), "%s/.latgen.tmp", pdir);
	start = now_ns() + 100000000;	/* 100 ms from now */
	for (i = 0; i < r.n; i++) {
		due = start + (int64_t)((double)i * 1e9 / rate);
		while ((t = now_ns()) < due)
			wait_until(ifd, &r, due);
		if (t - due > late)
			late = t - due;
		tx = i / 10 + 1;
		seq = (int)(i % 10) + 1;
		len = snprintf(buf, sizeof(buf),
		    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		    "<FinancialPosting>\n  <Header>\n"
		    "    <MessageId>%s-%07lu-%02d</MessageId>\n"
		    "    <Sender>acme</Sender>\n"
		    "    <Recipient>ERP</Recipient>\n"
		    "    <TransactionId>%s-%07lu</TransactionId>\n"
		    "    <SenderSequence>%d</SenderSequence>\n"
		    "    <ReceiverSequence>0</ReceiverSequence>\n"
		    "  </Header>\n  <Body>\n    <Currency>EUR</Currency>\n"
		    "    <Line><Account>4%03lu</Account><Debit>%lu</Debit>"
		    "</Line>\n"
		    "    <Line><Account>70001</Account><Credit>%lu</Credit>"
		    "</Line>\n"
		    "  </Body>\n</FinancialPosting>\n",
		    r.txp, tx, seq, r.txp, tx, seq, i % 900, 100 + i % 99991,
		    100 + i % 99991);
		snprintf(name, sizeof(name), "%s/%s-%07lu-%02d.xml", pdir,
		    r.txp, tx, seq);
		if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) ==
		    -1 || write(fd, buf, (size_t)len) != len ||
		    close(fd) == -1 || rename(tmp, name) == -1) {
			perror(name);
			return 1;
		}
		r.sent[i] = now_ns();
		read_events(ifd, &r);
	}
	t = now_ns();
	end = t + (int64_t)waits * 1000000000;
	while (r.ndone < r.n && now_ns() < end)
		wait_until(ifd, &r, end);
	for (i = 0, m = 0; i < r.n; i++)
		if (r.done[i] != 0)
			lat[m++] = r.done[i] - r.sent[i];
	if (latfile != NULL && (lf = fopen(latfile, "w")) != NULL) {
		for (i = 0; i < m; i++)
			fprintf(lf, "%lld\n", (long long)(lat[i] / 1000));
		fclose(lf);
	}
	qsort(lat, m, sizeof(*lat), cmp64);
#define PCT(q)	(m ? (double)lat[(size_t)((double)(m - 1) * (q))] / 1e6 : 0)
	printf("sent=%lu done=%lu missing=%lu rate=%.0f/s sender_late_max_ms="
	    "%.1f\n", r.n, m, r.n - m, (double)r.n * 1e9 / (double)(t -
	    start), (double)late / 1e6);
	printf("latency_ms p50=%.1f p90=%.1f p99=%.1f p99.9=%.1f max=%.1f\n",
	    PCT(0.50), PCT(0.90), PCT(0.99), PCT(0.999), PCT(1.0));
	return m == r.n ? 0 : 1;
usage:
	fprintf(stderr, "usage: latgen [-r RATE] [-n N] [-w SECONDS] "
	    "[-t TXPREFIX] [-l LATFILE] PARTNERDIR DONEDIR\n");
	return 64;
}
