/*
 * metrics.c - the Prometheus text exposition at /metrics (DESIGN 17).
 *
 * Names start with spoold_, counters end in _total, durations are
 * histograms in seconds; each family has its HELP and TYPE lines. What
 * the loop counts (this run's totals, the cycle histogram, exec calls
 * running, free space) comes from its published state (pulse.c): no
 * SQL. From the store's read-only connection: the messages per state
 * and partner (cached for COUNTS_TTL_MS, see store_stats.c for the
 * cost) and the oldest gap and deferred message (one index seek each).
 * The store's size is a stat(2) of spool.db and its WAL. A store that
 * cannot be read leaves its families out and sets spoold_store_up 0,
 * the scrape still answers.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "http_int.h"
#include "store.h"
#include "store_stats.h"

#define COUNTS_TTL_MS	5000

static void
family(FILE *fp, const char *name, const char *type, const char *help)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: \, " and newline escaped (partner names have none). */
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

static void
count_row(void *arg, const char *state, const char *partner, int64_t n)
{
	FILE *fp = arg;

	fputs("spoold_messages{state=\"", fp);
	label(fp, state);
	fputs("\",partner=\"", fp);
	label(fp, partner);
	fprintf(fp, "\"} %" PRId64 "\n", n);
}

/* spoold_messages, from the cache or the store; NULL: unreadable. */
static const char *
counts(struct http *h, int64_t now)
{
	struct spool_error err;
	struct store_stats *st;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	if (h->counts != NULL && now - h->counts_at < COUNTS_TTL_MS)
		return h->counts;
	spool_clearerr(&err);
	if ((st = http_stats(h, &err)) == NULL ||
	    (fp = open_memstream(&buf, &len)) == NULL)
		return NULL;
	if (store_stats_counts(st, count_row, fp, &err) == -1) {
		fclose(fp);
		free(buf);
		return NULL;
	}
	if (fclose(fp) != 0) {
		free(buf);
		return NULL;
	}
	free(h->counts);
	h->counts = buf;
	h->counts_at = now;
	return buf;
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
	struct spool_error err;
	struct store_stats *st;
	int64_t now = store_now_ms(), gap = 0, deferred = 0;
	const char *c;
	char wal[4096];
	uint64_t cum = 0;
	size_t i;
	bool up;

	pulse_read(h->pulse, &ps);
	spool_clearerr(&err);
	c = counts(h, now);
	up = c != NULL && (st = http_stats(h, &err)) != NULL &&
	    store_stats_oldest(st, &gap, &deferred, &err) == 0;

	family(fp, "spoold_store_up", "gauge", "1 when the store answered "
	    "this scrape's reads, else 0 (the store's families are left "
	    "out).");
	fprintf(fp, "spoold_store_up %d\n", up ? 1 : 0);
	if (up) {
		family(fp, "spoold_messages", "gauge", "Messages in the store "
		    "by state and partner.");
		fputs(c, fp);
		family(fp, "spoold_oldest_gap_age_seconds", "gauge", "Age of "
		    "the oldest open gap in a transaction (0: none).");
		fprintf(fp, "spoold_oldest_gap_age_seconds %.3f\n", gap > 0 &&
		    now > gap ? (double)(now - gap) / 1000 : 0.0);
		family(fp, "spoold_oldest_deferred_age_seconds", "gauge",
		    "Time since the oldest deferred message last changed "
		    "state (0: none).");
		fprintf(fp, "spoold_oldest_deferred_age_seconds %.3f\n",
		    deferred > 0 && now > deferred ?
		    (double)(now - deferred) / 1000 : 0.0);
	}
	family(fp, "spoold_accepted_total", "counter", "Files and bundle "
	    "entries accepted (ready, parked or duplicate) since spoold "
	    "started.");
	fprintf(fp, "spoold_accepted_total %" PRIu64 "\n", ps.accepted);
	family(fp, "spoold_processed_total", "counter", "Messages processed "
	    "(done, deferred or failed) since spoold started.");
	fprintf(fp, "spoold_processed_total %" PRIu64 "\n", ps.processed);
	family(fp, "spoold_cycle_duration_seconds", "histogram", "Duration "
	    "of the processing cycles that took messages.");
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
