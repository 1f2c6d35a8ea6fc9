/*
 * metrics.c - the Prometheus text exposition at /metrics (DESIGN 17).
 *
 * Names start with spoold_, counters end in _total, durations are
 * histograms in seconds; each family has its HELP and TYPE lines;
 * spoold-http(7) lists them all.
 *
 * Where the numbers come from. The loop's own (the cycle histogram,
 * exec calls running, free space) from its published state (pulse.c):
 * no SQL, and they start again at 0 with each run, which Prometheus
 * takes as a counter reset. Everything about messages from the store's
 * read-only connection (store_stats.c), out of the small tables that
 * the store's triggers keep in the transaction of every change
 * (store_schema.c, migration 13): messages per state and partner, the
 * totals per event, partner and type, the drop-to-done latency
 * buckets. So the totals survive restarts and purges and agree with
 * the store to the commit, and a scrape costs about the same with a
 * thousand or a million messages (tests/bench/bench-metrics). The store's size is
 * a stat(2) of spool.db and its WAL. A store that cannot be read
 * leaves its families out and sets spoold_store_up 0; the scrape still
 * answers. All the store is read from one snapshot (a read
 * transaction), before the first line is written.
 *
 * Label values are bounded by the configuration, not by what partners
 * send: partner is a configured [partner NAME] or "(other)" (a
 * directory without a section, a file dropped at the top of
 * incoming/); type is a type with a [route TYPE] of its own or
 * "(other)" (routed by [route *], no route, or none read). Neither
 * "(other)" is a valid partner name or type, so it cannot clash; the
 * names are ASCII by the configuration's rules, and are escaped (\\,
 * \", \n) all the same. They are copied at start and on reload
 * (metrics_names_new): a reload leaves the new copy in names_next,
 * under http.c's mutex, and the next scrape takes it (and frees the
 * old one), so the loop thread never waits for a scrape's reads.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf.h"
#include "http_int.h"
#include "spooldir.h"
#include "store.h"
#include "store_stats.h"

#define OTHER		"(other)"
#define MAX_LE		32	/* latency buckets read from the store */

struct metrics_names {
	char		**partners;	/* sorted */
	size_t		  np;
	char		**types;	/* sorted, without "*" */
	size_t		  nt;
};

/* The totals, in the order they are written. */
static const struct {
	const char	*event;		/* stats_events.event */
	const char	*name;
	const char	*help;
} events[] = {
	{ "accepted", "spoold_accepted_total", "Messages accepted (ready, "
	    "parked or duplicate), files and bundle entries, by partner and "
	    "type." },
	{ "duplicate", "spoold_duplicates_total", "Messages accepted as "
	    "duplicates of one already had (counted in accepted too)." },
	{ "rejected", "spoold_rejected_total", "Messages rejected: never "
	    "accepted, or moved to rejected/ later." },
	{ "processed", "spoold_processed_total", "Messages their handler "
	    "processed (moved to done/; skips not counted)." },
	{ "deferred", "spoold_deferred_total", "Attempts that failed "
	    "temporarily (another attempt scheduled)." },
	{ "failed", "spoold_failed_total", "Messages moved to failed/ (a "
	    "permanent failure or attempts used up); again after each "
	    "retry that fails." },
};
#define NEVENTS	(sizeof(events) / sizeof(events[0]))

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
metrics_names_free(struct metrics_names *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->np; i++)
		free(m->partners[i]);
	for (i = 0; i < m->nt; i++)
		free(m->types[i]);
	free(m->partners);
	free(m->types);
	free(m);
}

struct metrics_names *
metrics_names_new(const struct conf *conf)
{
	struct metrics_names *m;
	size_t i;

	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->partners = calloc(conf->npartners + 1, sizeof(char *))) ==
	    NULL || (m->types = calloc(conf->nroutes + 1, sizeof(char *))) ==
	    NULL)
		goto fail;
	for (i = 0; i < conf->npartners; i++) {
		if ((m->partners[m->np] = strdup(conf->partners[i].name)) ==
		    NULL)
			goto fail;
		m->np++;
	}
	for (i = 0; i < conf->nroutes; i++) {
		if (strcmp(conf->routes[i].type, "*") == 0)
			continue;
		if ((m->types[m->nt] = strdup(conf->routes[i].type)) == NULL)
			goto fail;
		m->nt++;
	}
	qsort(m->partners, m->np, sizeof(char *), cmpstr);
	qsort(m->types, m->nt, sizeof(char *), cmpstr);
	return m;
fail:
	metrics_names_free(m);
	return NULL;
}

/* The index of s in the sorted names, or n (OTHER). */
static size_t
find(char *const *names, size_t n, const char *s)
{
	char *const *p;

	if (s == NULL || n == 0)
		return n;
	p = bsearch(&s, names, n, sizeof(char *), cmpstr);
	return p != NULL ? (size_t)(p - names) : n;
}

/* What one scrape reads from the store, mapped to bounded labels. */
struct agg {
	const struct metrics_names *nm;
	size_t		  np1, nt1;	/* np + 1, nt + 1: the last, OTHER */
	int64_t		 *state;	/* [ST_NSTATES][np1] */
	int64_t		 *ev;		/* [NEVENTS][np1][nt1] */
	int64_t		  le[MAX_LE];	/* bounds, ms */
	size_t		  nle;
	int64_t		 *lat;		/* [np1][nle + 1]: last, +Inf */
	int64_t		 *lat_sum;	/* [np1], ms */
	int64_t		  acks_overdue;	/* our interchanges, unacked */
};

static void
state_row(void *arg, const char *state, const char *partner, int64_t n)
{
	struct agg *a = arg;
	int s = state != NULL ? spool_state_parse(state) : -1;

	if (s < 0 || s >= ST_NSTATES)
		return;
	a->state[(size_t)s * a->np1 + find(a->nm->partners, a->nm->np,
	    partner)] += n;
}

static void
event_row(void *arg, const char *event, const char *partner,
    const char *type, int64_t n)
{
	struct agg *a = arg;
	size_t e;

	for (e = 0; e < NEVENTS; e++)
		if (event != NULL && strcmp(event, events[e].event) == 0)
			break;
	if (e == NEVENTS)
		return;
	a->ev[(e * a->np1 + find(a->nm->partners, a->nm->np, partner)) *
	    a->nt1 + find(a->nm->types, a->nm->nt, type)] += n;
}

static void
latency_row(void *arg, const char *partner, int64_t le, int64_t n,
    int64_t sum_ms)
{
	struct agg *a = arg;
	size_t p = find(a->nm->partners, a->nm->np, partner), b;

	for (b = 0; b < a->nle; b++)
		if (a->le[b] == le)
			break;
	a->lat[p * (a->nle + 1) + b] += n;
	a->lat_sum[p] += sum_ms;
}

static void
agg_free(struct agg *a)
{
	free(a->state);
	free(a->ev);
	free(a->lat);
	free(a->lat_sum);
}

/*
 * Read the store into a, gap and deferred, from one snapshot: the
 * counts and the totals agree to the commit. 0, or -1 (the store did
 * not answer).
 */
static int
agg_read(struct http *h, struct agg *a, int64_t *gap, int64_t *deferred)
{
	struct spool_error err;
	struct store_stats *st;

	spool_clearerr(&err);
	a->np1 = a->nm->np + 1;
	a->nt1 = a->nm->nt + 1;
	if ((st = http_stats(h, &err)) == NULL ||
	    store_stats_latency_le(st, a->le, MAX_LE, &a->nle, &err) == -1)
		return -1;
	if ((a->state = calloc(ST_NSTATES * a->np1, sizeof(int64_t))) ==
	    NULL || (a->ev = calloc(NEVENTS * a->np1 * a->nt1,
	    sizeof(int64_t))) == NULL || (a->lat = calloc(a->np1 *
	    (a->nle + 1), sizeof(int64_t))) == NULL || (a->lat_sum =
	    calloc(a->np1, sizeof(int64_t))) == NULL)
		return -1;
	if (store_stats_begin(st, &err) == -1)
		return -1;
	if (store_stats_counts(st, state_row, a, &err) == -1 ||
	    store_stats_events(st, event_row, a, &err) == -1 ||
	    store_stats_latency(st, latency_row, a, &err) == -1 ||
	    store_stats_oldest(st, gap, deferred, &err) == -1 ||
	    store_stats_acks_overdue(st, &a->acks_overdue, &err) == -1) {
		store_stats_end(st);
		return -1;
	}
	store_stats_end(st);
	return 0;
}

static void
family(FILE *fp, const char *name, const char *type, const char *help)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * A label value, escaped per the text exposition format. The values
 * are ASCII by construction (partner and type names pass conf.c's
 * checks), so this is belt and braces.
 */
static void
label(FILE *fp, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(fp, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", fp);
		else
			fputc(*v, fp);
	}
}

static const char *
pname(const struct agg *a, size_t p)
{
	return p < a->nm->np ? a->nm->partners[p] : OTHER;
}

static void
write_store(FILE *fp, const struct agg *a, int64_t now, int64_t gap,
    int64_t deferred)
{
	size_t s, p, t, e, b;
	int64_t v, cum;

	family(fp, "spoold_messages", "gauge", "Messages in the store by "
	    "state and partner (as spoolctl status counts them).");
	for (s = 0; s < ST_NSTATES; s++)
		for (p = 0; p < a->np1; p++) {
			v = a->state[s * a->np1 + p];
			if (p == a->nm->np && v == 0)
				continue;
			fprintf(fp, "spoold_messages{state=\"%s\",partner=\"",
			    spool_state_name((enum spool_state)s));
			label(fp, pname(a, p));
			fprintf(fp, "\"} %" PRId64 "\n", v);
		}
	for (e = 0; e < NEVENTS; e++) {
		family(fp, events[e].name, "counter", events[e].help);
		for (p = 0; p < a->np1; p++)
			for (t = 0; t < a->nt1; t++) {
				v = a->ev[(e * a->np1 + p) * a->nt1 + t];
				if (v == 0)
					continue;
				fprintf(fp, "%s{partner=\"", events[e].name);
				label(fp, pname(a, p));
				fputs("\",type=\"", fp);
				label(fp, t < a->nm->nt ? a->nm->types[t] :
				    OTHER);
				fprintf(fp, "\"} %" PRId64 "\n", v);
			}
	}
	family(fp, "spoold_drop_to_done_seconds", "histogram", "From "
	    "acceptance to done/, of the messages processed, by partner.");
	for (p = 0; p < a->np1; p++) {
		cum = 0;
		for (b = 0; b <= a->nle; b++)
			cum += a->lat[p * (a->nle + 1) + b];
		if (p == a->nm->np && cum == 0)
			continue;
		cum = 0;
		for (b = 0; b <= a->nle; b++) {
			cum += a->lat[p * (a->nle + 1) + b];
			fputs("spoold_drop_to_done_seconds_bucket"
			    "{partner=\"", fp);
			label(fp, pname(a, p));
			if (b < a->nle)
				fprintf(fp, "\",le=\"%g\"} %" PRId64 "\n",
				    (double)a->le[b] / 1000, cum);
			else
				fprintf(fp, "\",le=\"+Inf\"} %" PRId64 "\n",
				    cum);
		}
		fputs("spoold_drop_to_done_seconds_sum{partner=\"", fp);
		label(fp, pname(a, p));
		fprintf(fp, "\"} %.3f\n", (double)a->lat_sum[p] / 1000);
		fputs("spoold_drop_to_done_seconds_count{partner=\"", fp);
		label(fp, pname(a, p));
		fprintf(fp, "\"} %" PRId64 "\n", cum);
	}
	family(fp, "spoold_oldest_gap_age_seconds", "gauge", "Age of the "
	    "oldest open gap in a transaction (0: none).");
	fprintf(fp, "spoold_oldest_gap_age_seconds %.3f\n", gap > 0 &&
	    now > gap ? (double)(now - gap) / 1000 : 0.0);
	family(fp, "spoold_oldest_deferred_age_seconds", "gauge", "Time "
	    "since the oldest deferred message was accepted (0: none).");
	fprintf(fp, "spoold_oldest_deferred_age_seconds %.3f\n",
	    deferred > 0 && now > deferred ?
	    (double)(now - deferred) / 1000 : 0.0);
	family(fp, "spoold_acks_overdue", "gauge", "Our outbound EDIFACT "
	    "and X12 interchanges still unacknowledged after ack_overdue.");
	fprintf(fp, "spoold_acks_overdue %" PRId64 "\n", a->acks_overdue);
}

static uint64_t
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

void
metrics_write(struct http *h, FILE *fp)
{
	struct pulse_state ps;
	struct agg a;
	int64_t now = store_now_ms(), gap = 0, deferred = 0;
	char wal[4096];
	uint64_t cum = 0;
	size_t i;
	bool up;

	pulse_read(h->pulse, &ps);
	memset(&a, 0, sizeof(a));
	(void)pthread_mutex_lock(&h->mu);
	if (h->names_next != NULL) {
		metrics_names_free(h->names);
		h->names = h->names_next;
		h->names_next = NULL;
	}
	(void)pthread_mutex_unlock(&h->mu);
	a.nm = h->names;
	up = a.nm != NULL && agg_read(h, &a, &gap, &deferred) == 0;
	family(fp, "spoold_store_up", "gauge", "1 when the store answered "
	    "this scrape's reads, else 0 (the store's families are left "
	    "out).");
	fprintf(fp, "spoold_store_up %d\n", up ? 1 : 0);
	if (up)
		write_store(fp, &a, now, gap, deferred);
	agg_free(&a);

	family(fp, "spoold_cycle_duration_seconds", "histogram", "Duration "
	    "of the processing cycles that took messages, this run.");
	for (i = 0; i < PULSE_NBUCKETS; i++) {
		cum += ps.cycle.count[i];
		fprintf(fp, "spoold_cycle_duration_seconds_bucket{le=\"%g\"} %"
		    PRIu64 "\n", pulse_bucket_le[i], cum);
	}
	fprintf(fp, "spoold_cycle_duration_seconds_bucket{le=\"+Inf\"} %"
	    PRIu64 "\n", ps.cycle.n);
	fprintf(fp, "spoold_cycle_duration_seconds_sum %.6f\n", ps.cycle.sum);
	fprintf(fp, "spoold_cycle_duration_seconds_count %" PRIu64 "\n",
	    ps.cycle.n);
	family(fp, "spoold_exec_running", "gauge", "Exec handler calls "
	    "running now.");
	fprintf(fp, "spoold_exec_running %u\n", ps.exec_running);
	family(fp, "spoold_store_size_bytes", "gauge", "Size of the store: "
	    "spool.db and its write-ahead log.");
	snprintf(wal, sizeof(wal), "%s-wal", h->db_path);
	fprintf(fp, "spoold_store_size_bytes %" PRIu64 "\n",
	    file_size(h->db_path) + file_size(wal));
	family(fp, "spoold_free_space_bytes", "gauge", "Free bytes on the "
	    "spool's file system at the loop's last look.");
	fprintf(fp, "spoold_free_space_bytes %" PRIu64 "\n", ps.avail);
	family(fp, "spoold_accepting", "gauge", "1 while spoold accepts new "
	    "files, 0 below min_free_space.");
	fprintf(fp, "spoold_accepting %d\n", ps.low_space ? 0 : 1);
	family(fp, "spoold_start_time_seconds", "gauge", "When this spoold "
	    "started, seconds since the epoch.");
	fprintf(fp, "spoold_start_time_seconds %.3f\n",
	    (double)ps.started_at / 1000);
}
