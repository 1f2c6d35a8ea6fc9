/*
 * ctl_status.c - spoolctl's overviews: status (the spool in figures),
 * list (messages, oldest first) and batch (one bundle and the fate of
 * each of its entries).
 *
 * Each reads in one read transaction, so its figures agree with each
 * other. Text output passes partner data through clean().
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "ctl.h"
#include "store_batch.h"

#define LIST_LIMIT	100	/* list's default --limit */

/* Files waiting in incoming/<partner>/ (and stray ones at its top). */
static int64_t
count_incoming(const char *root)
{
	char path[4096];
	struct dirent *de, *pe;
	DIR *d, *pd;
	int64_t n = 0;

	snprintf(path, sizeof(path), "%s/incoming", root);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (de->d_type != DT_DIR) {
			n++;
			continue;
		}
		snprintf(path, sizeof(path), "%s/incoming/%s", root,
		    de->d_name);
		if ((pd = opendir(path)) == NULL)
			continue;
		while ((pe = readdir(pd)) != NULL)
			if (pe->d_name[0] != '.')
				n++;
		closedir(pd);
	}
	closedir(d);
	return n;
}

/* The disk as spoold and spoolctl see it (DESIGN 18). */
struct disk {
	bool		 known;		/* statvfs worked */
	uint64_t	 avail, min_free;
	bool		 said;		/* spoold.status was read */
	bool		 accepting, paused;
	char		 reason[1024];
};

/* statvfs of the spool, and what a running spoold says in spoold.status. */
static void
disk_read(struct ctl *c, bool alive, struct disk *dk)
{
	char path[4096], buf[1100], *line, *save, *nl;
	ssize_t n;
	int fd;

	memset(dk, 0, sizeof(*dk));
	dk->accepting = true;
	snprintf(path, sizeof(path), "%s", c->conf.spool_dir);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		dk->known = spooldir_space(fd, c->conf.min_free_space,
		    &dk->avail, &dk->min_free) == 0;
		close(fd);
	}
	if (!alive)
		return;
	snprintf(path, sizeof(path), "%s/%s", c->conf.spool_dir,
	    SPOOLDIR_STATUS_FILE);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	dk->said = true;
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if ((nl = strchr(line, '=')) == NULL)
			continue;
		*nl++ = '\0';
		if (strcmp(line, "accepting") == 0)
			dk->accepting = strcmp(nl, "no") != 0;
		else if (strcmp(line, "processing") == 0)
			dk->paused = strcmp(nl, "paused") == 0;
		else if (strcmp(line, "reason") == 0)
			snprintf(dk->reason, sizeof(dk->reason), "%s", nl);
	}
}

/*
 * The daemon table's row describes the running spoold only when it has
 * the pid spoold's lock names; else it is what an earlier one left.
 */
static bool
row_is_running(const struct store_admin_status *as, bool alive, pid_t pid)
{
	return alive && as->daemon_known && as->daemon_pid == (int64_t)pid;
}

static void
disk_json(struct jdoc *j, const struct disk *dk)
{
	jd_key(j, "disk");
	jd_object(j);
	if (dk->known) {
		jd_kint(j, "free_bytes", (int64_t)dk->avail);
		jd_kint(j, "min_free_space", (int64_t)dk->min_free);
		jd_kbool(j, "below_min_free_space", dk->avail < dk->min_free);
	} else {
		jd_knull(j, "free_bytes");
		jd_knull(j, "min_free_space");
		jd_knull(j, "below_min_free_space");
	}
	if (dk->said) {
		jd_kbool(j, "accepting", dk->accepting);
		jd_kbool(j, "processing_paused", dk->paused);
		if (dk->reason[0] != '\0')
			jd_kstr(j, "reason", dk->reason);
		else
			jd_knull(j, "reason");
	} else {
		jd_knull(j, "accepting");
		jd_knull(j, "processing_paused");
		jd_knull(j, "reason");
	}
	jd_object_end(j);
}

static void
disk_text(const struct disk *dk)
{
	char b[1100];

	if (dk->known)
		printf("disk      %" PRIu64 " MiB free, min_free_space %" PRIu64
		    " MiB%s\n", dk->avail >> 20, dk->min_free >> 20,
		    dk->avail < dk->min_free ? " (below it)" : "");
	if (dk->said && (!dk->accepting || dk->paused ||
	    dk->reason[0] != '\0'))
		printf("trouble   %s%s%s\n", !dk->accepting ?
		    "not accepting; " : "", dk->paused ?
		    "processing paused; " : "",
		    clean(b, sizeof(b), dk->reason, 0));
}

static void
status_json(struct ctl *c, const int64_t *counts, int64_t incoming,
    const struct store_admin_status *as, const struct store_admin_msg *def,
    bool alive, pid_t pid, const struct disk *dk)
{
	struct jdoc *j = &c->j;
	int i;

	jd_object(j);
	jd_kstr(j, "spool", c->conf.spool_dir);
	jd_kint(j, "schema_version", c->store.version);
	jd_key(j, "counts");
	jd_object(j);
	jd_kint(j, "incoming", incoming);
	for (i = 0; i < ST_NSTATES; i++)
		jd_kint(j, spool_state_name(i), counts[i]);
	jd_object_end(j);
	jd_key(j, "daemon");
	jd_object(j);
	jd_kbool(j, "running", alive);
	if (alive && !row_is_running(as, alive, pid)) {
		if (pid > 0)
			jd_kint(j, "pid", pid);
		else
			jd_knull(j, "pid");
		jd_knull(j, "started_at");
		jd_knull(j, "version");
	} else if (as->daemon_known) {
		jd_kint(j, "pid", as->daemon_pid);
		jd_ktime(j, "started_at", as->daemon_started_at);
		jd_kstr(j, "version", as->daemon_version);
	} else {
		jd_knull(j, "pid");
		jd_knull(j, "started_at");
		jd_knull(j, "version");
	}
	jd_object_end(j);
	jd_key(j, "gaps");
	jd_object(j);
	jd_kint(j, "open", as->gaps_open);
	jd_key(j, "oldest");
	if (as->oldest_gap_since > 0) {
		jd_object(j);
		jd_kstr(j, "partner", as->oldest_gap_partner);
		jd_kstr(j, "transaction_id", as->oldest_gap_tx);
		jd_kint(j, "next_seq", as->oldest_gap_next_seq);
		jd_ktime(j, "since", as->oldest_gap_since);
		jd_kint(j, "age_seconds",
		    (c->now - as->oldest_gap_since) / 1000);
		/* The number arrived and is stuck (failed, deferred, ...),
		 * or null: it has not arrived. */
		jd_key(j, "blocked_by");
		if (as->oldest_gap_next_id != 0) {
			jd_object(j);
			jd_kint(j, "id", as->oldest_gap_next_id);
			jd_kstr(j, "state", as->oldest_gap_next_state);
			jd_object_end(j);
		} else
			jd_null(j);
		jd_object_end(j);
	} else
		jd_null(j);
	jd_object_end(j);
	jd_key(j, "oldest_deferred");
	if (def != NULL) {
		jd_object(j);
		jd_kint(j, "id", def->id);
		jd_kstr(j, "partner", def->partner);
		jd_kstr(j, "transaction_id", def->transaction_id);
		if (def->has_seq)
			jd_kint(j, "sender_seq", def->sender_seq);
		else
			jd_knull(j, "sender_seq");
		jd_kstr(j, "type", def->type);
		jd_kint(j, "attempts", def->attempts);
		jd_ktime(j, "received_at", def->received_at);
		jd_ktime(j, "next_attempt_at", def->next_attempt_at);
		jd_kstr(j, "reason", def->reason);
		jd_object_end(j);
	} else
		jd_null(j);
	jd_key(j, "archive_failed");
	jd_object(j);
	jd_kint(j, "count", as->archive_failed);
	if (as->archive_failed > 0) {
		jd_kint(j, "oldest_id", as->archive_failed_id);
		jd_kstr(j, "reason", as->archive_failed_error);
	} else {
		jd_knull(j, "oldest_id");
		jd_knull(j, "reason");
	}
	jd_object_end(j);
	jd_key(j, "archive_failed_bundles");
	jd_object(j);
	jd_kint(j, "count", as->archive_failed_bundles);
	if (as->archive_failed_bundles > 0) {
		jd_kint(j, "oldest_batch", as->archive_failed_batch);
		jd_kstr(j, "reason", as->archive_failed_bundle_error);
	} else {
		jd_knull(j, "oldest_batch");
		jd_knull(j, "reason");
	}
	jd_object_end(j);
	jd_key(j, "processed");
	jd_object(j);
	jd_kint(j, "last_minute", as->processed_last_minute);
	jd_kint(j, "last_hour", as->processed_last_hour);
	jd_object_end(j);
	jd_key(j, "duplicates");
	jd_object(j);
	jd_kint(j, "last_minute", as->duplicates_last_minute);
	jd_kint(j, "last_hour", as->duplicates_last_hour);
	jd_object_end(j);
	ctl_ack_json(c);
	disk_json(j, dk);
	jd_object_end(j);
}

static void
status_text(struct ctl *c, const int64_t *counts, int64_t incoming,
    const struct store_admin_status *as, const struct store_admin_msg *def,
    bool alive, pid_t pid, const struct disk *dk)
{
	char t1[64], t2[64], b1[300], b2[300];
	int i;

	printf("spool     %s\n", c->conf.spool_dir);
	if (row_is_running(as, alive, pid))
		printf("spoold    running, pid %" PRId64 ", since %s\n",
		    as->daemon_pid, tlocal(t1, sizeof(t1),
		    as->daemon_started_at, true));
	else if (alive && pid > 0)
		printf("spoold    running, pid %ld\n", (long)pid);
	else if (alive)
		printf("spoold    running\n");
	else if (as->daemon_known)
		printf("spoold    not running (pid %" PRId64 ", started %s, "
		    "is gone)\n", as->daemon_pid, tlocal(t1, sizeof(t1),
		    as->daemon_started_at, true));
	else
		printf("spoold    not running\n");
	printf("incoming  %" PRId64 "\n", incoming);
	for (i = 0; i < ST_NSTATES; i++)
		printf("%-9s %" PRId64 "\n", spool_state_name(i), counts[i]);
	if (as->oldest_gap_since > 0) {
		printf("gaps      %" PRId64 " open; oldest since %s (%s): "
		    "%s %s ", as->gaps_open,
		    tlocal(t1, sizeof(t1), as->oldest_gap_since, false),
		    dur(t2, sizeof(t2), c->now - as->oldest_gap_since, true),
		    clean(b1, sizeof(b1), as->oldest_gap_partner, 0),
		    clean(b2, sizeof(b2), as->oldest_gap_tx, 0));
		/* Arrived and stuck, or not arrived: different remedies. */
		if (as->oldest_gap_next_id != 0)
			printf("blocked by %s sequence %" PRId64 " (#%" PRId64
			    ")\n", clean(b1, sizeof(b1),
			    as->oldest_gap_next_state, 0),
			    as->oldest_gap_next_seq, as->oldest_gap_next_id);
		else
			printf("waits for sequence %" PRId64 "\n",
			    as->oldest_gap_next_seq);
	}
	else
		printf("gaps      none\n");
	if (def != NULL) {
		printf("next try  oldest deferred #%" PRId64 " (%s, %" PRId64
		    " attempt%s): ", def->id, clean(b1, sizeof(b1),
		    def->partner, 0), def->attempts, def->attempts == 1 ? "" :
		    "s");
		if (def->next_attempt_at <= 0)
			printf("not scheduled\n");
		else if (def->next_attempt_at > c->now)
			printf("%s (in %s)\n", tlocal(t1, sizeof(t1),
			    def->next_attempt_at, true), dur(t2, sizeof(t2),
			    def->next_attempt_at - c->now, true));
		else
			printf("%s (due)\n", tlocal(t1, sizeof(t1),
			    def->next_attempt_at, true));
	} else
		printf("next try  none deferred\n");
	if (as->archive_failed > 0)
		printf("archive   %" PRId64 " file%s kept, archive_command "
		    "failed (oldest #%" PRId64 ": %s)\n", as->archive_failed,
		    as->archive_failed == 1 ? "" : "s", as->archive_failed_id,
		    first_line(b1, sizeof(b1), as->archive_failed_error,
		    SHORT_REASON * 2));
	if (as->archive_failed_bundles > 0)
		printf("archive   %" PRId64 " bundle file%s kept, "
		    "archive_command failed (oldest batch %" PRId64 ": %s)\n",
		    as->archive_failed_bundles, as->archive_failed_bundles ==
		    1 ? "" : "s", as->archive_failed_batch, first_line(b1,
		    sizeof(b1), as->archive_failed_bundle_error,
		    SHORT_REASON * 2));
	printf("processed %" PRId64 " in the last minute, %" PRId64
	    " in the last hour\n", as->processed_last_minute,
	    as->processed_last_hour);
	printf("duplicate %" PRId64 " in the last minute, %" PRId64
	    " in the last hour\n", as->duplicates_last_minute,
	    as->duplicates_last_hour);
	ctl_ack_text(c);
	disk_text(dk);
}

int
cmd_status(struct ctl *c, int argc, char **argv)
{
	struct store_admin_status as;
	struct store_admin_msg def;
	struct spool_error err;
	struct disk dk;
	int64_t counts[ST_NSTATES], incoming;
	bool have_def = false, alive;
	pid_t pid;
	int rc;

	(void)argv;
	if (argc != 1)
		return fail(EX_USAGE, "status takes no arguments");
	spool_clearerr(&err);
	memset(&def, 0, sizeof(def));
	if (store_admin_read_begin(&c->store, &err) == -1)
		return store_fail(c, &err);
	if (store_state_counts(&c->store, counts, ST_NSTATES, &err) == -1 ||
	    store_admin_status(&c->store, c->now, &as, &err) == -1) {
		rc = store_fail(c, &err);
		store_admin_read_end(&c->store);
		return rc;
	}
	if (as.oldest_deferred_id != 0) {
		if ((rc = store_admin_msg_get(&c->store, as.oldest_deferred_id,
		    &def, &err)) == -1) {
			rc = store_fail(c, &err);
			store_admin_read_end(&c->store);
			store_admin_status_free(&as);
			return rc;
		}
		have_def = rc == 1;
	}
	store_admin_read_end(&c->store);
	incoming = count_incoming(c->conf.spool_dir);
	alive = ctl_daemon(c, &pid) == 1;
	disk_read(c, alive, &dk);
	if (c->json)
		status_json(c, counts, incoming, &as, have_def ? &def : NULL,
		    alive, pid, &dk);
	else
		status_text(c, counts, incoming, &as, have_def ? &def : NULL,
		    alive, pid, &dk);
	store_admin_msg_free(&def);
	store_admin_status_free(&as);
	/* As systemctl status: 3 when the program is not running. */
	rc = alive ? EX_OK : CTL_EXIT_NOT_RUNNING;
	return c->json ? finish_json(c, rc) : rc;
}

static int
list_one(void *arg, struct store_admin_msg *m)
{
	struct ctl *c = arg;
	char partner[300], tx[600], type[300], reason[300], age[32], seq[24];

	if (m->has_seq)
		snprintf(seq, sizeof(seq), "%" PRId64, m->sender_seq);
	else
		snprintf(seq, sizeof(seq), "-");
	printf("%-7" PRId64 " %-12s %-20s %5s %-20s %-8s %3" PRId64
	    " %-5s %s\n", m->id, clean(partner, sizeof(partner), m->partner,
	    0), clean(tx, sizeof(tx), m->transaction_id, 0), seq,
	    clean(type, sizeof(type), m->type, 0), state_name(m->state),
	    m->attempts, dur(age, sizeof(age), c->now - m->received_at,
	    false), m->duplicate_of != 0 && m->reason == NULL ? "duplicate" :
	    first_line(reason, sizeof(reason), m->reason, SHORT_REASON));
	return 0;
}

int
cmd_list(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "partner", required_argument, NULL, 'p' },
		{ "tx", required_argument, NULL, 't' },
		{ "type", required_argument, NULL, 'y' },
		{ "batch", required_argument, NULL, 'b' },
		{ "older-than", required_argument, NULL, 'o' },
		{ "limit", required_argument, NULL, 'n' },
		{ "control", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	struct store_admin_filter f;
	bool control = false;
	struct spool_error err;
	uint64_t ms;
	int64_t total;
	int ch, rc, st;

	memset(&f, 0, sizeof(f));
	f.state = -1;
	f.limit = LIST_LIMIT;
	optind = 0;
	/* "+": --tx PARTNER ID takes the word after its argument. */
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if ((st = spool_state_parse(optarg)) < 0)
				return fail(EX_USAGE, "list: unknown state %s "
				    "(queue, parked, deferred, failed, "
				    "rejected, done, held)", optarg);
			f.states |= 1u << st;
			break;
		case 'p':
			f.partner = optarg;
			break;
		case 't':
			/* --tx PARTNER ID; the older --tx ID: any partner. */
			if (optind < argc && argv[optind][0] != '-') {
				f.partner = optarg;
				f.transaction_id = argv[optind++];
			} else
				f.transaction_id = optarg;
			break;
		case 'y':
			f.type = optarg;
			break;
		case 'c':
			control = true;
			break;
		case 'b':
			if (parse_int(optarg, 1, &f.batch) == -1)
				return fail(EX_USAGE, "list: --batch wants a "
				    "batch ID, not %s", optarg);
			break;
		case 'o':
			if (conf_parse_duration(optarg, &ms) == -1 ||
			    ms == 0 || ms > (uint64_t)c->now)
				return fail(EX_USAGE, "list: %s is not a "
				    "duration (a number with ms, s, m, h or d, "
				    "such as 2h)", optarg);
			f.received_before = c->now - (int64_t)ms;
			break;
		case 'n':
			if (parse_int(optarg, 0, &f.limit) == -1)
				return fail(EX_USAGE, "list: --limit wants a "
				    "number (0: no limit), not %s", optarg);
			break;
		default:
			return fail(EX_USAGE, "usage: spoolctl list [--state "
			    "S]... [--partner P] [--tx PARTNER ID] [--type T] "
			    "[--batch N] [--older-than AGE] [--limit N] | list "
			    "--control [--partner P]");
		}
	}
	if (optind != argc)
		return fail(EX_USAGE, "list: unexpected argument %s",
		    argv[optind]);
	if (control)
		return cmd_list_control(c, f.partner);
	/* By default what still needs a look: everything not done. */
	if (f.states == 0)
		f.states = ((1u << ST_NSTATES) - 1) & ~(1u << ST_DONE);
	spool_clearerr(&err);
	if (c->json) {
		if (jv_list(&c->j, &c->store, &f, c->now, &err) == -1)
			return store_fail(c, &err);
		return finish_json(c, EX_OK);
	}
	if (store_admin_read_begin(&c->store, &err) == -1)
		return store_fail(c, &err);
	if (store_admin_msg_count(&c->store, &f, &total, &err) == -1)
		goto sqlfail;
	if (total > 0)
		printf("%-7s %-12s %-20s %5s %-20s %-8s %3s %-5s %s\n", "ID",
		    "PARTNER", "TRANSACTION", "SEQ", "TYPE", "STATE", "ATT",
		    "AGE", "REASON");
	if (store_admin_msg_list(&c->store, &f, list_one, c, &err) == -1)
		goto sqlfail;
	store_admin_read_end(&c->store);
	if (total == 0)
		printf("no messages\n");
	else if (f.limit > 0 && total > f.limit)
		printf("-- %" PRId64 " of %" PRId64 " messages shown, oldest "
		    "first (--limit 0 shows all)\n", f.limit, total);
	return EX_OK;
sqlfail:
	rc = store_fail(c, &err);
	store_admin_read_end(&c->store);
	return rc;
}

/* batch: one bundle and the fate of each of its entries (DESIGN 9). */
static int
batch_entry(void *arg, const struct store_batch_entry *e)
{
	char b[2048], r[1024];
	const char *fate = e->fate >= 0 ? batch_fate_name(e->fate) : "?";

	(void)arg;
	if (e->message != 0)
		snprintf(r, sizeof(r), "%" PRId64, e->message);
	else
		snprintf(r, sizeof(r), "-");
	printf("%6" PRId64 "  %-9s  %8s  %-9s  %s\n", e->index, fate, r,
	    e->msg_state >= 0 ? state_name(e->msg_state) : "-",
	    clean(b, sizeof(b), e->name, 0));
	if (e->reason != NULL && e->fate != FATE_DUPLICATE)
		printf("%6s  %s\n", "", first_line(b, sizeof(b), e->reason,
		    0));
	return 0;
}

/* "2 parked, 1 failed": the entries not done. */
static void
batch_pending_text(const int64_t *counts)
{
	static const int st[] = { ST_QUEUE, ST_PARKED, ST_DEFERRED, ST_FAILED,
	    ST_HELD };
	const char *sep = "";
	size_t i;

	for (i = 0; i < sizeof(st) / sizeof(st[0]); i++)
		if (counts[st[i]] > 0) {
			printf("%s%" PRId64 " %s", sep, counts[st[i]],
			    spool_state_name(st[i]));
			sep = ", ";
		}
}

int
cmd_batch(struct ctl *c, int argc, char **argv)
{
	int64_t counts[ST_NSTATES];
	struct store_batch b;
	struct spool_error err;
	char buf[2048], t[64], f[SPOOLDIR_NAME_MAX + 32];
	int64_t id;
	int rc, i;

	if (argc != 2 || parse_int(argv[1], 1, &id) == -1)
		return fail(EX_USAGE, "usage: spoolctl batch ID");
	spool_clearerr(&err);
	if (c->json) {
		if ((rc = jv_batch(&c->j, &c->store, id, true, &err)) == 0)
			return fail(EX_DATAERR, "no batch %" PRId64, id);
		if (rc == -1)
			return store_fail(c, &err);
		return finish_json(c, EX_OK);
	}
	if (store_admin_read_begin(&c->store, &err) == -1)
		return store_fail(c, &err);
	if ((rc = store_batch_get(&c->store, id, &b, &err)) != 1) {
		store_admin_read_end(&c->store);
		return rc == 0 ? fail(EX_DATAERR, "no batch %" PRId64, id) :
		    store_fail(c, &err);
	}
	if (store_admin_batch_counts(&c->store, b.id, counts, &err) == -1) {
		rc = store_fail(c, &err);
		store_admin_read_end(&c->store);
		store_batch_free(&b);
		return rc;
	}
	/* An empty name: purged from done/. */
	f[0] = '\0';
	if (b.file_name[0] != '\0')
		snprintf(f, sizeof(f), "%s/%s", state_name(b.state),
		    b.file_name);
	printf("batch         %" PRId64 "\n", b.id);
	printf("partner       %s\n", clean(buf, sizeof(buf), b.partner,
	    0));
	printf("bundle        %s\n", clean(buf, sizeof(buf),
	    b.orig_name, 0));
	printf("state         %s", jv_batch_state(b.state, counts));
	if (strcmp(jv_batch_state(b.state, counts), "pending") == 0) {
		printf(" (");
		batch_pending_text(counts);
		printf(")");
	}
	printf("\n");
	printf("file          %s\n", f[0] != '\0' ? clean(buf,
	    sizeof(buf), f, 0) : "- (purged)");
	printf("size          %" PRId64 "\n", b.size);
	printf("sha256        ");
	for (i = 0; i < 32; i++)
		printf("%02x", b.sha256[i]);
	printf("\n");
	printf("received      %s\n", tlocal(t, sizeof(t),
	    b.received_at, true));
	printf("entries       %" PRId64 "\n", b.entries);
	if (b.reason != NULL)
		printf("reason        %s\n", first_line(buf,
		    sizeof(buf), b.reason, 0));
	if (b.archived_at > 0)
		printf("archived      %s\n", tlocal(t, sizeof(t),
		    b.archived_at, true));
	else if (b.archive_error != NULL)
		printf("archive       failed, the file is kept: %s\n",
		    first_line(buf, sizeof(buf), b.archive_error, 0));
	if (b.entries > 0)
		printf("\n%6s  %-9s  %8s  %-9s  %s\n", "entry", "fate",
		    "message", "state", "name");
	rc = store_batch_entries(&c->store, b.id, batch_entry, c, &err);
	store_admin_read_end(&c->store);
	store_batch_free(&b);
	if (rc == -1)
		return store_fail(c, &err);
	return EX_OK;
}

/* batches: the bundles, newest first, with their entries' states. */
static int
batches_one(void *arg, const struct store_admin_batch_row *r)
{
	char p[300], n[600], t[64];
	const char *st = jv_batch_state(r->state, r->counts);

	(void)arg;
	printf("%-7" PRId64 " %-12s %-16s %7" PRId64 " %-8s %s  ", r->id,
	    clean(p, sizeof(p), r->partner, 0), tlocal(t, sizeof(t),
	    r->received_at, false), r->entries, st,
	    clean(n, sizeof(n), r->orig_name, 0));
	if (strcmp(st, "pending") == 0) {
		printf("(");
		batch_pending_text(r->counts);
		printf(")");
	}
	printf("\n");
	return 0;
}

int
cmd_batches(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "limit", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	struct spool_error err;
	int64_t limit = LIST_LIMIT, total;
	int ch, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (parse_int(optarg, 0, &limit) == -1)
				return fail(EX_USAGE, "batches: --limit wants "
				    "a number (0: no limit), not %s", optarg);
			break;
		default:
			return fail(EX_USAGE, "usage: spoolctl batches "
			    "[--limit N]");
		}
	}
	if (optind != argc)
		return fail(EX_USAGE, "usage: spoolctl batches [--limit N]");
	spool_clearerr(&err);
	if (c->json) {
		if (jv_batches(&c->j, &c->store, NULL, limit, &err) == -1)
			return store_fail(c, &err);
		return finish_json(c, EX_OK);
	}
	if (store_admin_read_begin(&c->store, &err) == -1)
		return store_fail(c, &err);
	printf("%-7s %-12s %-16s %7s %-8s %s\n", "BATCH", "PARTNER",
		    "RECEIVED", "ENTRIES", "STATE", "BUNDLE");
	rc = store_admin_batches(&c->store, limit, batches_one, c, &total,
	    &err);
	store_admin_read_end(&c->store);
	if (rc == -1)
		return store_fail(c, &err);
	if (total == 0)
		printf("no batches\n");
	else if (limit > 0 && total > limit)
		printf("-- %" PRId64 " of %" PRId64 " batches shown, newest "
		    "first (--limit 0 shows all)\n", limit, total);
	return EX_OK;
}
