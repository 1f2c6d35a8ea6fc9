/*
 * spoolctl.c - the admin's view of a spool and the levers to steer it.
 *
 * Reads the store (SQLite WAL: never blocks spoold for long) and the
 * spool directories. Output is terse text, or with --json one JSON
 * document per call. Errors go to stderr in one line; exit codes follow
 * sysexits.h. See spoolctl(8).
 *
 * Invariants: each reading command runs its queries in one read
 * transaction, so its figures agree with each other; writes (purge) are
 * short write transactions of at most PURGE_CHUNK messages. A --json
 * document is built in memory and printed only when complete, so a
 * script gets one whole document or, with an error on stderr, nothing.
 * Text output never passes control characters from partner data to the
 * terminal.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "cycle.h"
#include "json.h"
#include "log.h"
#include "reconcile.h"
#include "spooldir.h"
#include "spoollock.h"
#include "store.h"
#include "store_admin.h"
#include "store_batch.h"

#define LIST_LIMIT	100	/* list's default --limit */
#define PURGE_CHUNK	256	/* messages per purge transaction */
#define SHORT_REASON	60	/* characters of a reason in list */

struct ctl {
	struct conf	 conf;
	struct store	 store;
	struct spooldir	 sd;
	bool		 sd_open;
	bool		 json;
	FILE		*out;		/* stdout, or a JSON buffer */
	struct json	 j;
	bool		 complete;	/* the JSON document is whole */
	int64_t		 now;		/* ms since the epoch */
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: spoolctl [-c FILE] [-d SPOOLDIR] [--json] COMMAND "
	    "[ARGS]\n"
	    "commands: status, list, show, retry, skip, batch, purge, "
	    "check\n");
}

static int
fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("spoolctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

/* A store error: busy means try again later, anything else is I/O. */
static int
store_fail(struct ctl *c, const struct spool_error *err)
{
	return fail(store_admin_busy(&c->store) ? EX_TEMPFAIL : EX_IOERR, "%s",
	    err->msg);
}

static int
finish_json(struct ctl *c, int rc)
{
	if (json_end(&c->j) == -1)
		return fail(EX_SOFTWARE, "cannot build the JSON document");
	c->complete = true;
	return rc;
}

static int
need_spooldir(struct ctl *c)
{
	struct spool_error err;

	if (c->sd_open)
		return EX_OK;
	spool_clearerr(&err);
	if (spooldir_open(&c->sd, c->conf.spool_dir, &err) == -1)
		return fail(EX_NOINPUT, "%s", err.msg);
	c->sd_open = true;
	return EX_OK;
}

/*
 * Text for a terminal: control characters (C0, DEL, C1 as UTF-8) and
 * bytes that cannot start a character are shown as '?'; s is cut after
 * max characters (0: no cut), or where buf ends, with "...". NULL or ""
 * is "-".
 */
static const char *
clean(char *buf, size_t len, const char *s, size_t max)
{
	const unsigned char *p;
	size_t o = 0, chars = 0, n;

	if (s == NULL || *s == '\0')
		return "-";
	for (p = (const unsigned char *)s; *p != '\0'; p += n) {
		n = 1;
		if (*p >= 0xc0 && *p < 0xf8)
			while (n < 4 && (p[n] & 0xc0) == 0x80)
				n++;
		/* Room for this character, "..." and the NUL. */
		if ((max > 0 && chars == max) || o + n + 4 > len) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (*p < 0x20 || *p == 0x7f || (*p >= 0x80 && n == 1) ||
		    (*p == 0xc2 && n == 2 && p[1] <= 0x9f))
			buf[o++] = '?';
		else {
			memcpy(buf + o, p, n);
			o += n;
		}
		chars++;
	}
	buf[o] = '\0';
	return buf;
}

/* The first line of s, for a short reason. */
static const char *
first_line(char *buf, size_t len, const char *s, size_t max)
{
	char line[1024];
	size_t n;

	if (s == NULL)
		return "-";
	n = strcspn(s, "\n");
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, s, n);
	line[n] = '\0';
	return clean(buf, len, line, max);
}

/* Local time, "2026-11-24 10:02:03" (or without seconds); 0 is "-". */
static const char *
tlocal(char *buf, size_t len, int64_t ms, bool secs)
{
	struct tm tm;
	time_t t = (time_t)(ms / 1000);

	if (ms <= 0 || localtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, secs ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d %H:%M",
	    &tm) == 0)
		return "-";
	return buf;
}

/* UTC, RFC 3339: "2026-11-24T10:02:03Z". */
static const char *
tiso(char *buf, size_t len, int64_t ms)
{
	struct tm tm;
	time_t t = (time_t)(ms / 1000);

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "?");
	return buf;
}

/* A duration: "40s", "12m", "5h", "3d"; with two, "5h 12m". */
static const char *
dur(char *buf, size_t len, int64_t ms, bool two)
{
	static const struct {
		int64_t	 s;
		char	 u;
	} units[] = { { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' } };
	int64_t s = ms / 1000;
	size_t i;

	if (s < 0)
		s = 0;
	for (i = 0; i < 3 && s < units[i].s; i++)
		;
	if (two && i < 3 && s % units[i].s / units[i + 1].s > 0)
		snprintf(buf, len, "%" PRId64 "%c %" PRId64 "%c",
		    s / units[i].s, units[i].u, s % units[i].s / units[i + 1].s,
		    units[i + 1].u);
	else
		snprintf(buf, len, "%" PRId64 "%c", s / units[i].s, units[i].u);
	return buf;
}

static void
json_ktime(struct json *j, const char *key, int64_t ms)
{
	char b[32];

	if (ms <= 0)
		json_knull(j, key);
	else
		json_kstr(j, key, tiso(b, sizeof(b), ms));
}

/* An optional integer: 0 is null. */
static void
json_kopt(struct json *j, const char *key, int64_t v)
{
	if (v == 0)
		json_knull(j, key);
	else
		json_kint(j, key, v);
}

static const char *
state_name(int st)
{
	return st >= 0 && st < ST_NSTATES ? spool_state_name(st) : "?";
}

/* A positive integer argument; -1 if it is not one. */
static int
parse_int(const char *s, int64_t min, int64_t *v)
{
	char *end;
	long long n;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < min)
		return -1;
	*v = n;
	return 0;
}

/* Every column of a message, as a JSON object left open for more. */
static void
json_msg_open(struct ctl *c, const struct store_admin_msg *m)
{
	struct json *j = &c->j;
	char hex[65], path[SPOOLDIR_NAME_MAX + 32];
	int i;

	json_object(j);
	json_kint(j, "id", m->id);
	json_kstr(j, "state", state_name(m->state));
	json_kstr(j, "partner", m->partner);
	json_kstr(j, "transaction_id", m->transaction_id);
	if (m->has_seq) {
		json_kint(j, "sender_seq", m->sender_seq);
		json_kint(j, "receiver_seq", m->receiver_seq);
	} else {
		json_knull(j, "sender_seq");
		json_knull(j, "receiver_seq");
	}
	json_kstr(j, "type", m->type);
	json_kstr(j, "message_id", m->message_id);
	json_kstr(j, "sender", m->sender);
	json_kstr(j, "recipient", m->recipient);
	json_kstr(j, "orig_name", m->orig_name);
	json_kstr(j, "file_name", m->file_name);
	snprintf(path, sizeof(path), "%s/%s", state_name(m->state),
	    m->file_name != NULL ? m->file_name : "");
	json_kstr(j, "file", path);
	json_kbool(j, "stale", m->stale);
	if (m->has_sha256) {
		for (i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", m->sha256[i]);
		json_kstr(j, "sha256", hex);
	} else
		json_knull(j, "sha256");
	json_kint(j, "size", m->size);
	json_kopt(j, "duplicate_of", m->duplicate_of);
	json_kint(j, "attempts", m->attempts);
	json_ktime(j, "next_attempt_at", m->next_attempt_at);
	json_kstr(j, "reason", m->reason);
	json_ktime(j, "received_at", m->received_at);
	json_ktime(j, "updated_at", m->updated_at);
	json_kint(j, "age_seconds", (c->now - m->received_at) / 1000);
}

static void
json_msg(struct ctl *c, const struct store_admin_msg *m)
{
	json_msg_open(c, m);
	json_object_end(&c->j);
}

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

/* Does the daemon table's pid name a live process? */
static bool
daemon_alive(const struct store_admin_status *as)
{
	if (!as->daemon_known || as->daemon_pid <= 0 ||
	    as->daemon_pid > INT32_MAX)
		return false;
	return kill((pid_t)as->daemon_pid, 0) == 0 || errno == EPERM;
}

static void
status_json(struct ctl *c, const int64_t *counts, int64_t incoming,
    const struct store_admin_status *as, const struct store_admin_msg *def,
    bool alive)
{
	struct json *j = &c->j;
	int i;

	json_object(j);
	json_kstr(j, "spool", c->conf.spool_dir);
	json_kint(j, "schema_version", c->store.version);
	json_key(j, "counts");
	json_object(j);
	json_kint(j, "incoming", incoming);
	for (i = 0; i < ST_NSTATES; i++)
		json_kint(j, spool_state_name(i), counts[i]);
	json_object_end(j);
	json_key(j, "daemon");
	json_object(j);
	json_kbool(j, "running", alive);
	if (as->daemon_known) {
		json_kint(j, "pid", as->daemon_pid);
		json_ktime(j, "started_at", as->daemon_started_at);
		json_kstr(j, "version", as->daemon_version);
	} else {
		json_knull(j, "pid");
		json_knull(j, "started_at");
		json_knull(j, "version");
	}
	json_object_end(j);
	json_key(j, "gaps");
	json_object(j);
	json_kint(j, "open", as->gaps_open);
	json_key(j, "oldest");
	if (as->oldest_gap_since > 0) {
		json_object(j);
		json_kstr(j, "partner", as->oldest_gap_partner);
		json_kstr(j, "transaction_id", as->oldest_gap_tx);
		json_kint(j, "next_seq", as->oldest_gap_next_seq);
		json_ktime(j, "since", as->oldest_gap_since);
		json_kint(j, "age_seconds",
		    (c->now - as->oldest_gap_since) / 1000);
		json_object_end(j);
	} else
		json_null(j);
	json_object_end(j);
	json_key(j, "oldest_deferred");
	if (def != NULL) {
		json_object(j);
		json_kint(j, "id", def->id);
		json_kstr(j, "partner", def->partner);
		json_kstr(j, "transaction_id", def->transaction_id);
		if (def->has_seq)
			json_kint(j, "sender_seq", def->sender_seq);
		else
			json_knull(j, "sender_seq");
		json_kstr(j, "type", def->type);
		json_kint(j, "attempts", def->attempts);
		json_ktime(j, "received_at", def->received_at);
		json_ktime(j, "next_attempt_at", def->next_attempt_at);
		json_kstr(j, "reason", def->reason);
		json_object_end(j);
	} else
		json_null(j);
	json_key(j, "processed");
	json_object(j);
	json_kint(j, "last_minute", as->processed_last_minute);
	json_kint(j, "last_hour", as->processed_last_hour);
	json_object_end(j);
	json_key(j, "duplicates");
	json_object(j);
	json_kint(j, "last_minute", as->duplicates_last_minute);
	json_kint(j, "last_hour", as->duplicates_last_hour);
	json_object_end(j);
	json_object_end(j);
}

static void
status_text(struct ctl *c, const int64_t *counts, int64_t incoming,
    const struct store_admin_status *as, const struct store_admin_msg *def,
    bool alive)
{
	char t1[64], t2[64], b1[300], b2[300];
	int i;

	printf("spool     %s\n", c->conf.spool_dir);
	if (alive)
		printf("spoold    running, pid %" PRId64 ", since %s\n",
		    as->daemon_pid, tlocal(t1, sizeof(t1),
		    as->daemon_started_at, true));
	else if (as->daemon_known)
		printf("spoold    not running (pid %" PRId64 ", started %s, "
		    "is gone)\n", as->daemon_pid, tlocal(t1, sizeof(t1),
		    as->daemon_started_at, true));
	else
		printf("spoold    not running\n");
	printf("incoming  %" PRId64 "\n", incoming);
	for (i = 0; i < ST_NSTATES; i++)
		printf("%-9s %" PRId64 "\n", spool_state_name(i), counts[i]);
	if (as->oldest_gap_since > 0)
		printf("gaps      %" PRId64 " open; oldest since %s (%s): "
		    "%s %s "
		    "waits for sequence %" PRId64 "\n", as->gaps_open,
		    tlocal(t1, sizeof(t1), as->oldest_gap_since, false),
		    dur(t2, sizeof(t2), c->now - as->oldest_gap_since, true),
		    clean(b1, sizeof(b1), as->oldest_gap_partner, 0),
		    clean(b2, sizeof(b2), as->oldest_gap_tx, 0),
		    as->oldest_gap_next_seq);
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
	printf("processed %" PRId64 " in the last minute, %" PRId64
	    " in the last hour\n", as->processed_last_minute,
	    as->processed_last_hour);
	printf("duplicate %" PRId64 " in the last minute, %" PRId64
	    " in the last hour\n", as->duplicates_last_minute,
	    as->duplicates_last_hour);
}

static int
cmd_status(struct ctl *c, int argc, char **argv)
{
	struct store_admin_status as;
	struct store_admin_msg def;
	struct spool_error err;
	int64_t counts[ST_NSTATES], incoming;
	bool have_def = false, alive;
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
	alive = daemon_alive(&as);
	if (c->json)
		status_json(c, counts, incoming, &as, have_def ? &def : NULL,
		    alive);
	else
		status_text(c, counts, incoming, &as, have_def ? &def : NULL,
		    alive);
	store_admin_msg_free(&def);
	store_admin_status_free(&as);
	return c->json ? finish_json(c, EX_OK) : EX_OK;
}

static int
list_one(void *arg, struct store_admin_msg *m)
{
	struct ctl *c = arg;
	char partner[300], tx[600], type[300], reason[300], age[32], seq[24];

	if (c->json) {
		json_msg(c, m);
		return 0;
	}
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

static int
cmd_list(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "partner", required_argument, NULL, 'p' },
		{ "tx", required_argument, NULL, 't' },
		{ "limit", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	struct store_admin_filter f;
	struct spool_error err;
	struct json *j = &c->j;
	int64_t total;
	int ch, rc;

	memset(&f, 0, sizeof(f));
	f.state = -1;
	f.limit = LIST_LIMIT;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if ((f.state = spool_state_parse(optarg)) < 0)
				return fail(EX_USAGE, "list: unknown state %s "
				    "(queue, parked, deferred, failed, "
				    "rejected, done)", optarg);
			break;
		case 'p':
			f.partner = optarg;
			break;
		case 't':
			f.transaction_id = optarg;
			break;
		case 'n':
			if (parse_int(optarg, 0, &f.limit) == -1)
				return fail(EX_USAGE, "list: --limit wants a "
				    "number (0: no limit), not %s", optarg);
			break;
		default:
			return fail(EX_USAGE, "usage: spoolctl list [--state "
			    "S] [--partner P] [--tx ID] [--limit N]");
		}
	}
	if (optind != argc)
		return fail(EX_USAGE, "list: unexpected argument %s",
		    argv[optind]);
	spool_clearerr(&err);
	if (store_admin_read_begin(&c->store, &err) == -1)
		return store_fail(c, &err);
	if (store_admin_msg_count(&c->store, &f, &total, &err) == -1)
		goto sqlfail;
	if (c->json) {
		json_object(j);
		json_kint(j, "total", total);
		json_kint(j, "limit", f.limit);
		json_key(j, "messages");
		json_array(j);
	} else if (total > 0)
		printf("%-7s %-12s %-20s %5s %-20s %-8s %3s %-5s %s\n", "ID",
		    "PARTNER", "TRANSACTION", "SEQ", "TYPE", "STATE", "ATT",
		    "AGE", "REASON");
	if (store_admin_msg_list(&c->store, &f, list_one, c, &err) == -1)
		goto sqlfail;
	store_admin_read_end(&c->store);
	if (c->json) {
		json_array_end(j);
		json_object_end(j);
		return finish_json(c, EX_OK);
	}
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

/* The attempts of one message: a JSON array, or indented lines. */
struct attempts_out {
	struct ctl	*c;
	const char	*indent;
};

static int
attempt_one(void *arg, const struct store_admin_attempt *a)
{
	struct attempts_out *ao = arg;
	struct ctl *c = ao->c;
	struct json *j = &c->j;
	char t1[64], t2[64], b[2048];

	if (c->json) {
		json_object(j);
		json_kint(j, "attempt", a->attempt);
		json_ktime(j, "started_at", a->started_at);
		json_ktime(j, "finished_at", a->finished_at);
		json_kstr(j, "outcome", a->outcome);
		json_kstr(j, "error", a->error);
		json_object_end(j);
		return 0;
	}
	printf("%sattempt %" PRId64 "  %s -> %s  %s%s%s\n", ao->indent,
	    a->attempt, tlocal(t1, sizeof(t1), a->started_at, true),
	    a->finished_at > 0 ? tlocal(t2, sizeof(t2), a->finished_at,
	    true) : "(running)", a->outcome != NULL ? a->outcome : "-",
	    a->error != NULL ? ": " : "", a->error != NULL ?
	    first_line(b, sizeof(b), a->error, 0) : "");
	return 0;
}

static int
attempts_of(struct ctl *c, int64_t id, const char *indent,
    struct spool_error *err)
{
	struct attempts_out ao = { c, indent };
	int rc;

	if (c->json)
		json_array(&c->j);
	rc = store_admin_attempts(&c->store, id, attempt_one, &ao, err);
	if (c->json)
		json_array_end(&c->j);
	return rc;
}

/* The first line of a message's .reason sidecar, if it has one. */
static bool
reason_file(struct ctl *c, const struct store_admin_msg *m, char *line,
    size_t len)
{
	char name[SPOOLDIR_NAME_MAX + 32];
	ssize_t n;
	int fd;

	line[0] = '\0';
	if (!c->sd_open || m->state < 0 || m->state >= ST_NSTATES ||
	    m->file_name == NULL || m->file_name[0] == '\0' ||
	    m->file_name[0] == '.' || strchr(m->file_name, '/') != NULL ||
	    snprintf(name, sizeof(name), "%s.reason", m->file_name) >=
	    (int)sizeof(name))
		return false;
	fd = openat(c->sd.state_fd[m->state], name, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return false;
	do
		n = read(fd, line, len - 1);
	while (n == -1 && errno == EINTR);
	close(fd);
	if (n < 0)
		return false;
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	return true;
}

static int
show_msg(struct ctl *c, int64_t id)
{
	struct store_admin_msg m;
	struct spool_error err;
	struct json *j = &c->j;
	char b[2048], t[64], line[1024];
	bool has_reason;
	int rc, i;

	spool_clearerr(&err);
	if ((rc = need_spooldir(c)) != EX_OK)
		return rc;
	if (store_admin_read_begin(&c->store, &err) == -1)
		return store_fail(c, &err);
	if ((rc = store_admin_msg_get(&c->store, id, &m, &err)) != 1) {
		store_admin_read_end(&c->store);
		return rc == 0 ? fail(EX_DATAERR, "no message %" PRId64, id) :
		    store_fail(c, &err);
	}
	has_reason = reason_file(c, &m, line, sizeof(line));
	if (c->json) {
		json_object(j);
		json_key(j, "message");
		json_msg_open(c, &m);
		json_key(j, "attempt_log");
	} else {
		printf("id            %" PRId64 "\n", m.id);
		printf("state         %s\n", state_name(m.state));
		printf("partner       %s\n", clean(b, sizeof(b), m.partner, 0));
		printf("transaction   %s\n", clean(b, sizeof(b),
		    m.transaction_id, 0));
		if (m.has_seq) {
			printf("sequence      %" PRId64 "\n", m.sender_seq);
			printf("receiver seq  %" PRId64 "%s\n", m.receiver_seq,
			    m.stale ? " (stale)" : "");
		}
		printf("type          %s\n", clean(b, sizeof(b), m.type, 0));
		printf("message id    %s\n", clean(b, sizeof(b), m.message_id,
		    0));
		printf("sender        %s\n", clean(b, sizeof(b), m.sender, 0));
		printf("recipient     %s\n", clean(b, sizeof(b), m.recipient,
		    0));
		printf("file          %s/%s\n", state_name(m.state),
		    clean(b, sizeof(b), m.file_name, 0));
		printf("uploaded as   %s\n", clean(b, sizeof(b), m.orig_name,
		    0));
		printf("size          %" PRId64 "\n", m.size);
		if (m.has_sha256) {
			printf("sha256        ");
			for (i = 0; i < 32; i++)
				printf("%02x", m.sha256[i]);
			printf("\n");
		}
		if (m.duplicate_of != 0)
			printf("duplicate of  %" PRId64 "\n", m.duplicate_of);
		printf("received      %s\n", tlocal(t, sizeof(t),
		    m.received_at, true));
		printf("updated       %s\n", tlocal(t, sizeof(t), m.updated_at,
		    true));
		printf("attempts      %" PRId64 "\n", m.attempts);
		if (m.next_attempt_at > 0)
			printf("next attempt  %s\n", tlocal(t, sizeof(t),
			    m.next_attempt_at, true));
		if (m.reason != NULL)
			printf("reason        %s\n", first_line(b, sizeof(b),
			    m.reason, 0));
		if (has_reason)
			printf("reason file   %s\n", clean(b, sizeof(b), line,
			    0));
	}
	rc = attempts_of(c, m.id, "  ", &err);
	store_admin_read_end(&c->store);
	if (rc == -1) {
		store_admin_msg_free(&m);
		return store_fail(c, &err);
	}
	if (c->json) {
		json_object_end(j);	/* the message */
		json_key(j, "reason_file");
		if (has_reason) {
			json_object(j);
			snprintf(b, sizeof(b), "%s/%s.reason",
			    state_name(m.state), m.file_name);
			json_kstr(j, "file", b);
			json_kstr(j, "first_line", line);
			json_object_end(j);
		} else
			json_null(j);
		json_object_end(j);
		rc = finish_json(c, EX_OK);
	} else
		rc = EX_OK;
	store_admin_msg_free(&m);
	return rc;
}

/* A transaction's messages and skips, gathered for its timeline. */
struct txskip {
	int64_t		 seq;
	char		*reason;
	char		*user;
	int64_t		 at;
};

struct txview {
	struct store_admin_msg	*msgs;	/* by sender_seq, id */
	size_t			 nmsgs, capmsgs;
	struct txskip		*skips;		/* by seq */
	size_t			 nskips, capskips;
};

static int
tx_add_msg(void *arg, struct store_admin_msg *m)
{
	struct txview *v = arg;
	struct store_admin_msg *n;

	if (v->nmsgs == v->capmsgs) {
		size_t cap = v->capmsgs ? v->capmsgs * 2 : 16;

		if ((n = reallocarray(v->msgs, cap, sizeof(*n))) == NULL)
			return -1;
		v->msgs = n;
		v->capmsgs = cap;
	}
	v->msgs[v->nmsgs++] = *m;	/* take the strings over */
	memset(m, 0, sizeof(*m));
	return 0;
}

static int
tx_add_skip(void *arg, const struct store_admin_skip *k)
{
	struct txview *v = arg;
	struct txskip *n;

	if (v->nskips == v->capskips) {
		size_t cap = v->capskips ? v->capskips * 2 : 8;

		if ((n = reallocarray(v->skips, cap, sizeof(*n))) == NULL)
			return -1;
		v->skips = n;
		v->capskips = cap;
	}
	n = &v->skips[v->nskips];
	n->seq = k->seq;
	n->at = k->at;
	n->reason = strdup(k->reason != NULL ? k->reason : "");
	n->user = strdup(k->user != NULL ? k->user : "");
	if (n->reason == NULL || n->user == NULL) {
		free(n->reason);
		free(n->user);
		return -1;
	}
	v->nskips++;
	return 0;
}

static void
txview_free(struct txview *v)
{
	size_t i;

	for (i = 0; i < v->nmsgs; i++)
		store_admin_msg_free(&v->msgs[i]);
	for (i = 0; i < v->nskips; i++) {
		free(v->skips[i].reason);
		free(v->skips[i].user);
	}
	free(v->msgs);
	free(v->skips);
}

/* Not a duplicate, not rejected: the message that holds its number. */
static bool
live(const struct store_admin_msg *m)
{
	return m->has_seq && m->duplicate_of == 0 && m->state != ST_REJECTED;
}

static const struct txskip *
skip_of(const struct txview *v, int64_t seq)
{
	size_t i;

	for (i = 0; i < v->nskips; i++)
		if (v->skips[i].seq == seq)
			return &v->skips[i];
	return NULL;
}

static const struct store_admin_msg *
live_at(const struct txview *v, int64_t seq)
{
	size_t i;

	for (i = 0; i < v->nmsgs; i++)
		if (live(&v->msgs[i]) && v->msgs[i].sender_seq == seq)
			return &v->msgs[i];
	return NULL;
}

/*
 * The smallest number >= seq that has a skip or a message (only a live
 * one, with live_only), or max + 1.
 */
static int64_t
next_seen(const struct txview *v, int64_t seq, int64_t max, bool live_only)
{
	int64_t upto = max + 1;
	size_t i;

	for (i = 0; i < v->nmsgs; i++) {
		const struct store_admin_msg *m = &v->msgs[i];

		if (m->has_seq && (!live_only || live(m)) &&
		    m->sender_seq >= seq && m->sender_seq < upto)
			upto = m->sender_seq;
	}
	for (i = 0; i < v->nskips; i++)
		if (v->skips[i].seq >= seq && v->skips[i].seq < upto)
			upto = v->skips[i].seq;
	return upto;
}

/* What the transaction waits for, in one sentence; *word is a stable
 * one-word summary for JSON. */
static void
tx_waiting(const struct txview *v, const struct store_admin_tx *tx,
    int64_t parked, const char **word, char *buf, size_t len)
{
	const struct store_admin_msg *m = live_at(v, tx->next_seq);
	char t[64], behind[96], r[300];
	int64_t since = tx->gap_since;
	size_t i;

	behind[0] = '\0';
	if (parked > 0)
		snprintf(behind, sizeof(behind), ", %" PRId64 " message%s "
		    "parked behind it", parked, parked == 1 ? "" : "s");
	if (m == NULL) {
		for (i = 0; i < v->nmsgs; i++)
			if (live(&v->msgs[i]) && v->msgs[i].state ==
			    ST_PARKED && (since == 0 ||
			    v->msgs[i].received_at < since))
				since = v->msgs[i].received_at;
		if (parked > 0) {
			*word = "waiting";
			snprintf(buf, len, "waiting for sequence %" PRId64
			    " since %s%s", tx->next_seq, tlocal(t, sizeof(t),
			    since, false), behind);
		} else if (tx->next_seq > 1) {
			*word = "idle";
			snprintf(buf, len, "nothing waiting: sequences 1 to %"
			    PRId64 " are processed", tx->next_seq - 1);
		} else {
			*word = "idle";
			snprintf(buf, len, "nothing waiting: no message of "
			    "this transaction accepted yet");
		}
		return;
	}
	switch (m->state) {
	case ST_QUEUE:
		*word = "ready";
		snprintf(buf, len, "sequence %" PRId64 " (message %" PRId64
		    ") is queued for processing%s", m->sender_seq, m->id,
		    behind);
		break;
	case ST_DEFERRED:
		*word = "retrying";
		snprintf(buf, len, "sequence %" PRId64 " (message %" PRId64
		    ") failed %" PRId64 " time%s and is tried again at %s%s",
		    m->sender_seq, m->id, m->attempts, m->attempts == 1 ? "" :
		    "s", tlocal(t, sizeof(t), m->next_attempt_at, false),
		    behind);
		break;
	case ST_FAILED:
		*word = "blocked";
		snprintf(buf, len, "blocked by sequence %" PRId64 " (message %"
		    PRId64 "), which failed: %s; retry or skip it%s",
		    m->sender_seq, m->id, first_line(r, sizeof(r), m->reason,
		    SHORT_REASON), behind);
		break;
	default:
		*word = "ready";
		snprintf(buf, len, "sequence %" PRId64 " (message %" PRId64
		    ") is %s; spoold moves the transaction on in its next "
		    "cycle%s", m->sender_seq, m->id, state_name(m->state),
		    behind);
		break;
	}
}

/* A run of missing numbers, as a text line or a JSON {first, last}. */
static void
tx_range(struct ctl *c, int64_t first, int64_t last, bool gap)
{
	char r[64];

	if (first > last)
		return;
	if (c->json) {
		json_object(&c->j);
		json_kint(&c->j, "first", first);
		json_kint(&c->j, "last", last);
		json_object_end(&c->j);
		return;
	}
	if (first == last)
		snprintf(r, sizeof(r), "%" PRId64, first);
	else
		snprintf(r, sizeof(r), "%" PRId64 "-%" PRId64, first, last);
	printf("%10s  %s\n", r, gap ? "-- gap: not received" :
	    "-- processed, since purged");
}

/*
 * The runs of missing numbers in 1..max. Gaps: from next on, without a
 * live message or a skip. Purged: below next, without any row or skip.
 */
static void
tx_runs(struct ctl *c, const struct txview *v, int64_t next, int64_t max,
    bool gaps)
{
	int64_t seq = 1, upto;

	while (seq <= max) {
		upto = next_seen(v, seq, max, gaps);
		if (gaps)
			tx_range(c, seq > next ? seq : next, upto - 1, true);
		else
			tx_range(c, seq, upto - 1 < next - 1 ? upto - 1 :
			    next - 1, false);
		seq = upto + 1;
	}
}

/* One number of the timeline, with its messages, attempts and skip. */
static int
tx_seq(struct ctl *c, const struct txview *v, const struct store_admin_tx *tx,
    int64_t seq, struct spool_error *err)
{
	const struct store_admin_msg *lm = live_at(v, seq), *m;
	const struct txskip *k = skip_of(v, seq);
	struct json *j = &c->j;
	char num[24], b[600], b2[600], t[64];
	const char *status;
	size_t i;

	status = lm != NULL ? state_name(lm->state) : k != NULL ? "skipped" :
	    seq < tx->next_seq ? "processed" : "gap";
	snprintf(num, sizeof(num), "%" PRId64, seq);
	if (c->json) {
		json_object(j);
		json_kint(j, "seq", seq);
		json_kstr(j, "status", status);
		json_key(j, "skip");
		if (k != NULL) {
			json_object(j);
			json_kstr(j, "user", k->user);
			json_kstr(j, "reason", k->reason);
			json_ktime(j, "at", k->at);
			json_object_end(j);
		} else
			json_null(j);
		json_key(j, "messages");
		json_array(j);
	}
	for (i = 0; i < v->nmsgs; i++) {
		m = &v->msgs[i];
		if (!m->has_seq || m->sender_seq != seq)
			continue;
		if (c->json) {
			json_msg_open(c, m);
			json_key(j, "attempt_log");
		} else {
			printf("%10s  #%-7" PRId64 " %-9s %-20s %s\n", num,
			    m->id, state_name(m->state), clean(b, sizeof(b),
			    m->type, 0), m->duplicate_of != 0 ? "duplicate" :
			    first_line(b2, sizeof(b2), m->reason,
			    SHORT_REASON));
			num[0] = '\0';
		}
		if (attempts_of(c, m->id, "              ", err) == -1)
			return -1;
		if (c->json)
			json_object_end(j);
	}
	if (c->json) {
		json_array_end(j);
		json_object_end(j);
		return 0;
	}
	if (k != NULL)
		printf("%10s  skipped by %s at %s: %s\n", num, clean(b,
		    sizeof(b), k->user, 0), tlocal(t, sizeof(t), k->at, false),
		    clean(b2, sizeof(b2), k->reason, 0));
	else if (lm == NULL && seq >= tx->next_seq)
		printf("%10s  -- gap: no valid message with this number\n", "");
	return 0;
}

static int	tx_extra(struct ctl *, const char *, const char *,
		    struct spool_error *);

static int
show_tx(struct ctl *c, const char *partner, const char *txid)
{
	struct store_admin_filter f;
	struct store_admin_tx tx;
	struct spool_error err;
	struct txview v;
	struct json *j = &c->j;
	const char *word = "idle";
	char sentence[1024], t[64], b[600], b2[600];
	int64_t parked, max, seq, upto;
	size_t i;
	int known, rc = EX_OK;

	memset(&v, 0, sizeof(v));
	memset(&f, 0, sizeof(f));
	f.state = -1;
	f.partner = partner;
	f.transaction_id = txid;
	f.by_seq = true;
	spool_clearerr(&err);
	if (store_admin_read_begin(&c->store, &err) == -1)
		return store_fail(c, &err);
	if ((known = store_admin_tx_get(&c->store, partner, txid, &tx,
	    &err)) == -1 ||
	    store_admin_tx_parked(&c->store, partner, txid, &parked,
	    &err) == -1)
		goto sqlfail;
	if (store_admin_msg_list(&c->store, &f, tx_add_msg, &v, &err) == -1 ||
	    store_admin_skips(&c->store, partner, txid, tx_add_skip, &v,
	    &err) == -1) {
		if (err.msg[0] == '\0')
			spool_seterr(&err, "out of memory");
		goto sqlfail;
	}
	if (known == 0 && v.nmsgs == 0) {
		store_admin_read_end(&c->store);
		txview_free(&v);
		return fail(EX_DATAERR, "no transaction %s of partner %s",
		    clean(b, sizeof(b), txid, 0), clean(b2, sizeof(b2),
		    partner, 0));
	}
	max = tx.next_seq - 1;
	for (i = 0; i < v.nmsgs; i++)
		if (v.msgs[i].has_seq && v.msgs[i].sender_seq > max)
			max = v.msgs[i].sender_seq;
	for (i = 0; i < v.nskips; i++)
		if (v.skips[i].seq > max)
			max = v.skips[i].seq;
	tx_waiting(&v, &tx, parked, &word, sentence, sizeof(sentence));

	if (c->json) {
		json_object(j);
		json_kstr(j, "partner", partner);
		json_kstr(j, "transaction_id", txid);
		json_kbool(j, "known", known == 1);
		json_kint(j, "next_seq", tx.next_seq);
		json_kint(j, "out_seq", tx.out_seq);
		json_ktime(j, "gap_since", tx.gap_since);
		json_ktime(j, "created_at", tx.created_at);
		json_ktime(j, "updated_at", tx.updated_at);
		json_kint(j, "parked", parked);
		json_kstr(j, "status", word);
		json_kstr(j, "waiting_for", sentence);
		json_key(j, "sequences");
		json_array(j);
	} else {
		printf("transaction   %s %s\n", clean(b, sizeof(b), partner, 0),
		    clean(b2, sizeof(b2), txid, 0));
		printf("next          %" PRId64 "\n", tx.next_seq);
		printf("sent          %" PRId64 "\n", tx.out_seq);
		if (tx.gap_since > 0)
			printf("gap since     %s\n", tlocal(t, sizeof(t),
			    tx.gap_since, true));
		if (known == 1)
			printf("created       %s\n", tlocal(t, sizeof(t),
			    tx.created_at, true));
		printf("status        %s\n\n", sentence);
		if (max == 0)
			printf("%10s  (no sequence numbers seen)\n", "");
	}

	/* The numbers with messages or skips, in order; in text, the runs
	 * of missing numbers between them too. */
	for (seq = 1; seq <= max; seq = upto + 1) {
		upto = next_seen(&v, seq, max, false);
		if (!c->json) {
			tx_range(c, seq, upto - 1 < tx.next_seq - 1 ? upto - 1 :
			    tx.next_seq - 1, false);
			tx_range(c, seq > tx.next_seq ? seq : tx.next_seq,
			    upto - 1, true);
		}
		if (upto <= max && tx_seq(c, &v, &tx, upto, &err) == -1)
			goto sqlfail;
	}
	if (c->json) {
		json_array_end(j);
		json_key(j, "gaps");
		json_array(j);
		tx_runs(c, &v, tx.next_seq, max, true);
		json_array_end(j);
		json_key(j, "purged");
		json_array(j);
		tx_runs(c, &v, tx.next_seq, max, false);
		json_array_end(j);
		json_key(j, "skips");
		json_array(j);
		for (i = 0; i < v.nskips; i++) {
			json_object(j);
			json_kint(j, "seq", v.skips[i].seq);
			json_kstr(j, "user", v.skips[i].user);
			json_kstr(j, "reason", v.skips[i].reason);
			json_ktime(j, "at", v.skips[i].at);
			json_object_end(j);
		}
		json_array_end(j);
		if (tx_extra(c, partner, txid, &err) == -1)
			goto sqlfail;
		json_object_end(j);
		rc = finish_json(c, EX_OK);
	} else if (tx_extra(c, partner, txid, &err) == -1)
		goto sqlfail;
	store_admin_read_end(&c->store);
	txview_free(&v);
	return rc;
sqlfail:
	rc = store_fail(c, &err);
	store_admin_read_end(&c->store);
	txview_free(&v);
	return rc;
}

/* Order revisions and outbound messages of show --tx. */
struct txextra {
	struct ctl	*c;
	int		 n;
};

static int
tx_revision(void *arg, const struct store_admin_revision *r)
{
	struct txextra *x = arg;
	struct json *j = &x->c->j;
	char b[600], b2[64], cause[64], t[64];

	if (x->c->json) {
		json_object(j);
		json_kint(j, "revision", r->revision);
		json_kstr(j, "order_number", r->order_number);
		json_kstr(j, "state", r->state);
		json_kstr(j, "message_type", r->message_type);
		json_kopt(j, "message", r->message);
		json_kopt(j, "outbound", r->outbound);
		json_kopt(j, "compensates", r->compensates);
		json_ktime(j, "created_at", r->created_at);
		json_object_end(j);
		return 0;
	}
	if (x->n++ == 0)
		printf("\norder %s\n%10s  %-20s %-20s %-14s %s\n",
		    clean(b, sizeof(b), r->order_number, 0), "revision",
		    "state", "message", "cause", "at");
	if (r->outbound != 0)
		snprintf(cause, sizeof(cause), "outbound #%" PRId64,
		    r->outbound);
	else if (r->message != 0)
		snprintf(cause, sizeof(cause), "#%" PRId64, r->message);
	else
		snprintf(cause, sizeof(cause), "-");
	printf("%10" PRId64 "  %-20s %-20s %-14s %s", r->revision,
	    r->state != NULL ? r->state : "?", clean(b2, sizeof(b2),
	    r->message_type, 0), cause, tlocal(t, sizeof(t), r->created_at,
	    true));
	if (r->compensates != 0)
		printf("  (compensates revision %" PRId64 ")", r->compensates);
	printf("\n");
	return 0;
}

static int
tx_outbound(void *arg, const struct store_admin_outbound *o)
{
	struct txextra *x = arg;
	struct json *j = &x->c->j;
	char b[600], b2[64];

	if (x->c->json) {
		json_object(j);
		json_kint(j, "id", o->id);
		json_kstr(j, "type", o->type);
		json_kint(j, "sender_seq", o->sender_seq);
		json_kint(j, "receiver_seq", o->receiver_seq);
		json_kopt(j, "cause", o->cause);
		json_kstr(j, "file_name", o->file_name);
		json_ktime(j, "created_at", o->created_at);
		json_ktime(j, "written_at", o->written_at);
		json_object_end(j);
		return 0;
	}
	if (x->n++ == 0)
		printf("\noutbound\n");
	printf("%10" PRId64 "  out #%-6" PRId64 " %-20s answers %-5" PRId64
	    " %s %s\n", o->sender_seq, o->id, clean(b2, sizeof(b2), o->type,
	    0), o->receiver_seq, o->written_at > 0 ? "written" : "pending",
	    clean(b, sizeof(b), o->file_name, 0));
	return 0;
}

/* After the sequences: the order's revisions, the outbound messages. */
static int
tx_extra(struct ctl *c, const char *partner, const char *txid,
    struct spool_error *err)
{
	struct txextra x = { c, 0 };

	if (c->json) {
		json_key(&c->j, "revisions");
		json_array(&c->j);
	}
	if (store_admin_revisions(&c->store, partner, txid, tx_revision, &x,
	    err) == -1)
		return -1;
	if (c->json) {
		json_array_end(&c->j);
		json_key(&c->j, "outbound");
		json_array(&c->j);
	}
	x.n = 0;
	if (store_admin_outbound(&c->store, partner, txid, tx_outbound, &x,
	    err) == -1)
		return -1;
	if (c->json)
		json_array_end(&c->j);
	return 0;
}

static int
cmd_show(struct ctl *c, int argc, char **argv)
{
	int64_t id;

	if (argc == 4 && strcmp(argv[1], "--tx") == 0)
		return show_tx(c, argv[2], argv[3]);
	if (argc == 2 && argv[1][0] != '-') {
		if (parse_int(argv[1], 1, &id) == -1)
			return fail(EX_USAGE, "show: %s is not a message ID",
			    argv[1]);
		return show_msg(c, id);
	}
	return fail(EX_USAGE, "usage: spoolctl show MSGID | show --tx PARTNER "
	    "ID");
}

/* batch: one bundle and the fate of each of its entries (DESIGN 9). */
static int
batch_entry(void *arg, const struct store_batch_entry *e)
{
	struct ctl *c = arg;
	struct json *j = &c->j;
	char b[2048], r[1024], f[SPOOLDIR_NAME_MAX + 32];
	const char *fate = e->fate >= 0 ? batch_fate_name(e->fate) : "?";

	f[0] = '\0';
	if (e->message != 0 && e->msg_state >= 0 && e->msg_file != NULL)
		snprintf(f, sizeof(f), "%s/%s", state_name(e->msg_state),
		    e->msg_file);
	if (c->json) {
		json_object(j);
		json_kint(j, "index", e->index);
		json_kstr(j, "name", e->name);
		json_kstr(j, "fate", fate);
		json_kstr(j, "reason", e->reason);
		json_kopt(j, "message", e->message);
		json_kstr(j, "state", e->msg_state >= 0 ?
		    state_name(e->msg_state) : NULL);
		json_kstr(j, "file", f[0] != '\0' ? f : NULL);
		json_object_end(j);
		return 0;
	}
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

static int
cmd_batch(struct ctl *c, int argc, char **argv)
{
	struct store_batch b;
	struct spool_error err;
	struct json *j = &c->j;
	char buf[2048], t[64], f[SPOOLDIR_NAME_MAX + 32];
	int64_t id;
	int rc, i;

	if (argc != 2 || parse_int(argv[1], 1, &id) == -1)
		return fail(EX_USAGE, "usage: spoolctl batch ID");
	spool_clearerr(&err);
	if (store_admin_read_begin(&c->store, &err) == -1)
		return store_fail(c, &err);
	if ((rc = store_batch_get(&c->store, id, &b, &err)) != 1) {
		store_admin_read_end(&c->store);
		return rc == 0 ? fail(EX_DATAERR, "no batch %" PRId64, id) :
		    store_fail(c, &err);
	}
	/* An empty name: purged from done/. */
	f[0] = '\0';
	if (b.file_name[0] != '\0')
		snprintf(f, sizeof(f), "%s/%s", state_name(b.state),
		    b.file_name);
	if (c->json) {
		json_object(j);
		json_kint(j, "batch", b.id);
		json_kstr(j, "partner", b.partner);
		json_kstr(j, "bundle", b.orig_name);
		json_kstr(j, "state", state_name(b.state));
		json_kstr(j, "file", f[0] != '\0' ? f : NULL);
		json_kint(j, "size", b.size);
		json_kint(j, "entry_count", b.entries);
		json_ktime(j, "received_at", b.received_at);
		json_kstr(j, "reason", b.reason);
		json_key(j, "entries");
		json_array(j);
	} else {
		printf("batch         %" PRId64 "\n", b.id);
		printf("partner       %s\n", clean(buf, sizeof(buf), b.partner,
		    0));
		printf("bundle        %s\n", clean(buf, sizeof(buf),
		    b.orig_name, 0));
		printf("state         %s\n", state_name(b.state));
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
		if (b.entries > 0)
			printf("\n%6s  %-9s  %8s  %-9s  %s\n", "entry", "fate",
			    "message", "state", "name");
	}
	rc = store_batch_entries(&c->store, b.id, batch_entry, c, &err);
	store_admin_read_end(&c->store);
	store_batch_free(&b);
	if (rc == -1)
		return store_fail(c, &err);
	if (c->json) {
		json_array_end(j);
		json_object_end(j);
		return finish_json(c, EX_OK);
	}
	return EX_OK;
}

/* purge: the candidates of one chunk, taken over from the store. */
struct victims {
	struct ctl		*c;
	struct store_admin_msg	*v;
	size_t			 n, cap;
	bool			 dry_run;
	int64_t			 matched;
};

static void
purge_line(struct ctl *c, const struct store_admin_msg *m, const char *action,
    const char *why)
{
	struct json *j = &c->j;
	char b[600], t[64], w[600];

	if (c->json) {
		json_object(j);
		json_kint(j, "id", m->id);
		json_kstr(j, "file_name", m->file_name);
		json_kstr(j, "partner", m->partner);
		json_kstr(j, "transaction_id", m->transaction_id);
		if (m->has_seq)
			json_kint(j, "sender_seq", m->sender_seq);
		else
			json_knull(j, "sender_seq");
		json_kstr(j, "type", m->type);
		json_ktime(j, "done_at", m->updated_at);
		json_kstr(j, "action", action);
		json_kstr(j, "why", why);
		json_object_end(j);
		return;
	}
	printf("%-12s #%-7" PRId64 " done/%s (done %s)%s%s\n", action, m->id,
	    clean(b, sizeof(b), m->file_name, 0), tlocal(t, sizeof(t),
	    m->updated_at, false), why != NULL ? ": " : "", why != NULL ?
	    clean(w, sizeof(w), why, 0) : "");
}

static int
purge_collect(void *arg, struct store_admin_msg *m)
{
	struct victims *vs = arg;
	struct store_admin_msg *n;

	vs->matched++;
	if (vs->dry_run) {
		purge_line(vs->c, m, "would_remove", NULL);
		return 0;
	}
	if (vs->n == vs->cap) {
		size_t cap = vs->cap ? vs->cap * 2 : 64;

		if ((n = reallocarray(vs->v, cap, sizeof(*n))) == NULL)
			return -1;
		vs->v = n;
		vs->cap = cap;
	}
	vs->v[vs->n++] = *m;	/* take the strings over */
	memset(m, 0, sizeof(*m));
	return 0;
}

static void
victims_clear(struct victims *vs)
{
	size_t i;

	for (i = 0; i < vs->n; i++)
		store_admin_msg_free(&vs->v[i]);
	vs->n = 0;
}

/*
 * One chunk, in the caller's short write transaction: delete each row
 * (in a savepoint), remove its file, keep the deletion only if the file
 * is gone; then fsync done/. The caller commits. Files go before their
 * rows are committed: a crash in between leaves rows without files,
 * which the next purge finishes (a missing file counts as removed),
 * never files without rows.
 */
static int
purge_chunk(struct ctl *c, struct store_admin_purge *p, struct victims *vs,
    int64_t *removed, int64_t *kept, struct spool_error *err)
{
	struct store_admin_msg *m;
	char why[300];
	size_t i;
	int rc;

	for (i = 0; i < vs->n; i++) {
		m = &vs->v[i];
		if (m->file_name == NULL || m->file_name[0] == '\0' ||
		    m->file_name[0] == '.' || strchr(m->file_name, '/') !=
		    NULL) {
			purge_line(c, m, "kept", "the store holds no usable "
			    "file name");
			(*kept)++;
			continue;
		}
		if ((rc = store_admin_purge_row(p, m->id, err)) == -1)
			return -1;
		if (rc == 0) {
			purge_line(c, m, "kept", "another record still refers "
			    "to it");
			(*kept)++;
			continue;
		}
		if (unlinkat(c->sd.state_fd[ST_DONE], m->file_name, 0) == -1 &&
		    errno != ENOENT) {
			snprintf(why, sizeof(why), "cannot remove the file: %s",
			    strerror(errno));
			if (store_admin_purge_done(p, false, err) == -1)
				return -1;
			purge_line(c, m, "kept", why);
			(*kept)++;
			continue;
		}
		if (store_admin_purge_done(p, true, err) == -1)
			return -1;
		purge_line(c, m, "removed", NULL);
		(*removed)++;
	}
	return spooldir_fsync_fd(c->sd.state_fd[ST_DONE], "done", err);
}

/* purge: bundle files in done/ whose messages are all purged. */
struct bvictims {
	int64_t		*id;
	char		**name;
	size_t		 n, cap;
};

static int
bundle_collect(void *arg, int64_t id, const char *name)
{
	struct bvictims *b = arg;

	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		int64_t *ni;
		char **nn;

		if ((ni = reallocarray(b->id, cap, sizeof(*ni))) == NULL)
			return -1;
		b->id = ni;
		if ((nn = reallocarray(b->name, cap, sizeof(*nn))) == NULL)
			return -1;
		b->name = nn;
		b->cap = cap;
	}
	if ((b->name[b->n] = strdup(name)) == NULL)
		return -1;
	b->id[b->n++] = id;
	return 0;
}

/*
 * Remove each bundle file, then forget its name in the store: a crash
 * in between leaves a batch naming a file that is gone, which nothing
 * acts on. Returns the number removed (or that would be), or -1.
 */
static int64_t
purge_bundles(struct ctl *c, int64_t before, bool dry_run,
    struct spool_error *err)
{
	struct bvictims b;
	int64_t n = 0;
	size_t i;

	memset(&b, 0, sizeof(b));
	if (store_admin_read_begin(&c->store, err) == -1)
		return -1;
	if (store_batch_purge_candidates(&c->store, before, bundle_collect,
	    &b, err) == -1) {
		store_admin_read_end(&c->store);
		if (err->msg[0] == '\0')
			spool_seterr(err, "out of memory");
		n = -1;
		goto out;
	}
	store_admin_read_end(&c->store);
	for (i = 0; i < b.n; i++) {
		if (b.name[i][0] == '\0' || b.name[i][0] == '.' ||
		    strchr(b.name[i], '/') != NULL)
			continue;
		if (dry_run) {
			n++;
			continue;
		}
		if (unlinkat(c->sd.state_fd[ST_DONE], b.name[i], 0) == -1 &&
		    errno != ENOENT) {
			spool_seterr(err, "cannot remove done/%s: %s",
			    b.name[i], strerror(errno));
			n = -1;
			goto out;
		}
		if (store_begin(&c->store, err) == -1)
			goto fail;
		if (store_batch_forget_file(&c->store, b.id[i], err) == -1 ||
		    store_commit(&c->store, err) == -1) {
			store_rollback(&c->store);
			goto fail;
		}
		n++;
	}
	if (!dry_run && n > 0)
		spooldir_fsync_fd(c->sd.state_fd[ST_DONE], "done", NULL);
	goto out;
fail:
	n = -1;
out:
	for (i = 0; i < b.n; i++)
		free(b.name[i]);
	free(b.name);
	free(b.id);
	return n;
}

static int
cmd_purge(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "done-older-than", required_argument, NULL, 'o' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	struct store_admin_purge *p = NULL;
	struct victims vs;
	struct spool_error err;
	struct json *j = &c->j;
	const char *age = NULL;
	char t[64];
	uint64_t ms;
	int64_t before, below = INT64_MAX, removed = 0, kept = 0, bundles;
	int ch, rc;

	memset(&vs, 0, sizeof(vs));
	vs.c = c;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			age = optarg;
			break;
		case 'n':
			vs.dry_run = true;
			break;
		default:
			return fail(EX_USAGE, "usage: spoolctl purge "
			    "--done-older-than AGE [--dry-run]");
		}
	}
	if (optind != argc || age == NULL)
		return fail(EX_USAGE, "usage: spoolctl purge --done-older-than "
		    "AGE [--dry-run]");
	if (conf_parse_duration(age, &ms) == -1 || ms > (uint64_t)c->now)
		return fail(EX_USAGE, "purge: %s is not a duration (a number "
		    "with ms, s, m, h or d, such as 30d)", age);
	before = c->now - (int64_t)ms;
	if ((rc = need_spooldir(c)) != EX_OK)
		return rc;
	if (c->json) {
		json_object(j);
		json_kbool(j, "dry_run", vs.dry_run);
		json_kint(j, "older_than_seconds", (int64_t)(ms / 1000));
		json_ktime(j, "before", before);
		json_key(j, "messages");
		json_array(j);
	}
	spool_clearerr(&err);
	if (vs.dry_run) {
		if (store_admin_read_begin(&c->store, &err) == -1)
			return store_fail(c, &err);
		rc = store_admin_purge_candidates(&c->store, before, below, 0,
		    purge_collect, &vs, &err);
		store_admin_read_end(&c->store);
		if (rc == -1)
			return store_fail(c, &err);
	} else {
		if ((p = store_admin_purge_open(&c->store, &err)) == NULL)
			return store_fail(c, &err);
		for (;;) {
			if (store_begin(&c->store, &err) == -1) {
				rc = store_fail(c, &err);
				goto out;
			}
			if (store_admin_purge_candidates(&c->store, before,
			    below, PURGE_CHUNK, purge_collect, &vs, &err) ==
			    -1) {
				if (err.msg[0] == '\0')
					spool_seterr(&err, "out of memory");
				goto rollback;
			}
			if (vs.n == 0) {
				store_rollback(&c->store);
				break;
			}
			below = vs.v[vs.n - 1].id;
			if (purge_chunk(c, p, &vs, &removed, &kept, &err) ==
			    -1 || store_commit(&c->store, &err) == -1)
				goto rollback;
			victims_clear(&vs);
		}
		free(vs.v);
		store_admin_purge_close(p);
	}
	if ((bundles = purge_bundles(c, before, vs.dry_run, &err)) == -1)
		return store_fail(c, &err);
	if (c->json) {
		json_array_end(j);
		json_kint(j, "matched", vs.matched);
		json_kint(j, "removed", removed);
		json_kint(j, "kept", kept);
		json_kint(j, "bundles", bundles);
		json_object_end(j);
		return finish_json(c, EX_OK);
	}
	if (vs.dry_run)
		printf("purge: would remove %" PRId64 " message%s done before "
		    "%s (dry run: nothing removed)\n", vs.matched,
		    vs.matched == 1 ? "" : "s", tlocal(t, sizeof(t), before,
		    true));
	else
		printf("purge: removed %" PRId64 " message%s done before %s, "
		    "kept %" PRId64 "\n", removed, removed == 1 ? "" : "s",
		    tlocal(t, sizeof(t), before, true), kept);
	if (bundles > 0)
		printf("purge: %s %" PRId64 " bundle file%s from done/\n",
		    vs.dry_run ? "would remove" : "removed", bundles,
		    bundles == 1 ? "" : "s");
	return EX_OK;
rollback:
	rc = store_fail(c, &err);
	store_rollback(&c->store);
out:
	victims_clear(&vs);
	free(vs.v);
	store_admin_purge_close(p);
	if (removed > 0)
		fprintf(stderr, "spoolctl: purge: %" PRId64 " message%s "
		    "removed before the error\n", removed, removed == 1 ? "" :
		    "s");
	return rc;
}

static void
check_report(void *arg, const struct reconcile_finding *f)
{
	struct ctl *c = arg;
	struct json *j = &c->j;
	char b[600], e[600];
	const char *dir = f->found >= 0 ? state_name(f->found) : NULL;
	const char *exp = f->expected >= 0 ? state_name(f->expected) : NULL;

	if (c->json) {
		json_object(j);
		json_kstr(j, "kind", reconcile_kind_name(f->kind));
		json_kopt(j, "id", f->id);
		json_kstr(j, "file_name", f->file_name);
		json_kstr(j, "directory", dir);
		json_kstr(j, "expected_state", exp);
		json_kbool(j, "repaired", f->repaired);
		json_kstr(j, "error", f->error);
		json_object_end(j);
		return;
	}
	clean(b, sizeof(b), f->file_name, 0);
	switch (f->kind) {
	case RECONCILE_FILE_WITHOUT_ROW:
		printf("file without row: %s/%s (left where it is)\n", dir, b);
		break;
	case RECONCILE_WRONG_DIR:
		printf("file in the wrong state directory: %s/%s (store says "
		    "%s)", dir, b, exp);
		if (f->repaired)
			printf(": moved to %s/", exp);
		if (f->error != NULL)
			printf(": %s", clean(e, sizeof(e), f->error, 0));
		printf("\n");
		break;
	case RECONCILE_ROW_WITHOUT_FILE:
		printf("row without file: message %" PRId64 " (%s): %s/%s is "
		    "missing\n", f->id, exp, exp, b);
		break;
	}
}

static int
cmd_check(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "repair", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct reconcile_stats rs;
	struct spool_error err;
	struct json *j = &c->j;
	bool repair = false;
	int ch, rc, remain, lockfd = -1;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'r')
			return fail(EX_USAGE, "usage: spoolctl check "
			    "[--repair]");
		repair = true;
	}
	if (optind != argc)
		return fail(EX_USAGE, "usage: spoolctl check [--repair]");
	if ((rc = need_spooldir(c)) != EX_OK)
		return rc;
	/* A repair moves files: not under a running spoold's feet. */
	spool_clearerr(&err);
	if (repair && (lockfd = spool_lock(c->sd.root_fd, c->sd.root,
	    "spoolctl", &err)) < 0)
		return fail(lockfd == -2 ? EX_TEMPFAIL : EX_IOERR, "%s%s",
		    err.msg, lockfd == -2 ? "; stop it before check --repair" :
		    "");
	if (c->json) {
		json_object(j);
		json_kbool(j, "repair", repair);
		json_key(j, "findings");
		json_array(j);
	}
	spool_clearerr(&err);
	remain = reconcile_run(&c->sd, &c->store, repair, true, check_report,
	    c, &rs, &err);
	if (lockfd != -1)
		close(lockfd);
	if (remain == -1)
		return store_fail(c, &err);
	rc = remain == 0 ? EX_OK : EX_DATAERR;
	if (c->json) {
		json_array_end(j);
		json_kint(j, "files", rs.files);
		json_kint(j, "rows", rs.rows);
		json_kint(j, "disagreements", rs.findings);
		json_kint(j, "repaired", rs.repaired);
		json_kint(j, "remaining", remain);
		json_kbool(j, "agree", remain == 0);
		json_object_end(j);
		return finish_json(c, rc);
	}
	if (rs.findings == 0)
		printf("check: store and directories agree (%" PRId64 " files, "
		    "%" PRId64 " rows)\n", rs.files, rs.rows);
	else
		printf("check: %" PRId64 " disagreement%s, %" PRId64
		    " repaired, %d remain%s (%" PRId64 " files, %" PRId64
		    " rows)\n", rs.findings, rs.findings == 1 ? "" : "s",
		    rs.repaired, remain, remain == 1 ? "s" : "", rs.files,
		    rs.rows);
	return rc;
}

/*
 * Tell a running spoold that the store changed (SIGUSR1 wakes its loop,
 * which then runs a cycle). Not being able to is not an error: spoold
 * picks the change up at its next wake-up anyway; say so.
 */
static void
tell_daemon(struct ctl *c)
{
	struct store_admin_status st;
	struct spool_error err;

	memset(&st, 0, sizeof(st));
	spool_clearerr(&err);
	if (store_admin_status(&c->store, c->now, &st, &err) == -1)
		return;
	if (st.daemon_known && st.daemon_pid > 0 &&
	    kill((pid_t)st.daemon_pid, SIGUSR1) == -1 && errno != ESRCH)
		fprintf(stderr, "spoolctl: cannot tell spoold (pid %" PRId64
		    "): %s; it acts at its next wake-up\n", st.daemon_pid,
		    strerror(errno));
	store_admin_status_free(&st);
}

static int
parse_id(const char *s, int64_t *id)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v <= 0)
		return -1;
	*id = (int64_t)v;
	return 0;
}

static int
cmd_retry(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tx", no_argument, NULL, 't' },
		{ "all-failed", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	struct cycle_ctx ctx = { &c->conf, &c->store, &c->sd, NULL, NULL,
	    NULL, NULL, NULL };
	const char *usage_text = "usage: spoolctl retry MSGID | --tx PARTNER "
	    "ID | --all-failed";
	const char *partner = NULL, *tx = NULL;
	struct spool_error err;
	bool by_tx = false, all = false;
	int64_t id = 0, n;
	int ch, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 't')
			by_tx = true;
		else if (ch == 'a')
			all = true;
		else
			return fail(EX_USAGE, "%s", usage_text);
	}
	argc -= optind;
	argv += optind;
	if (all && (by_tx || argc != 0))
		return fail(EX_USAGE, "%s", usage_text);
	if (by_tx && argc == 2) {
		partner = argv[0];
		tx = argv[1];
	} else if (!by_tx && !all && argc == 1) {
		if (parse_id(argv[0], &id) == -1)
			return fail(EX_USAGE, "%s is not a message id", argv[0]);
	} else if (!all)
		return fail(EX_USAGE, "%s", usage_text);
	if ((rc = need_spooldir(c)) != EX_OK)
		return rc;
	spool_clearerr(&err);
	if (cycle_retry(&ctx, id, partner, tx, all, &n, &err) == -1)
		return store_fail(c, &err);
	if (n == 0 && !all)
		return fail(EX_DATAERR, "nothing to retry: no failed or deferred "
		    "message %s (or its exec call is still running)",
		    id ? "with that id" : "in that transaction");
	if (n > 0)
		tell_daemon(c);
	if (c->json) {
		json_object(&c->j);
		json_kint(&c->j, "retried", n);
		json_object_end(&c->j);
		return finish_json(c, EX_OK);
	}
	printf("retry: %" PRId64 " message%s back in queue/\n", n,
	    n == 1 ? "" : "s");
	return EX_OK;
}

static int
cmd_skip(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct cycle_ctx ctx = { &c->conf, &c->store, &c->sd, NULL, NULL,
	    NULL, NULL, NULL };
	const char *usage_text = "usage: spoolctl skip PARTNER ID SEQ "
	    "--reason TEXT";
	const char *reason = NULL, *user;
	struct spool_error err;
	struct passwd *pw;
	char uidbuf[32];
	int64_t seq;
	int ch, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'r')
			return fail(EX_USAGE, "%s", usage_text);
		reason = optarg;
	}
	argc -= optind;
	argv += optind;
	if (argc != 3 || reason == NULL || reason[0] == '\0')
		return fail(EX_USAGE, "%s", usage_text);
	if (parse_id(argv[2], &seq) == -1)
		return fail(EX_USAGE, "%s is not a sequence number", argv[2]);
	if ((pw = getpwuid(getuid())) != NULL)
		user = pw->pw_name;
	else {
		snprintf(uidbuf, sizeof(uidbuf), "uid %ld", (long)getuid());
		user = uidbuf;
	}
	if ((rc = need_spooldir(c)) != EX_OK)
		return rc;
	spool_clearerr(&err);
	if (cycle_skip(&ctx, argv[0], argv[1], seq, user, reason, &err) ==
	    -1) {
		if (store_admin_busy(&c->store))
			return fail(EX_TEMPFAIL, "%s", err.msg);
		return fail(EX_DATAERR, "%s", err.msg);
	}
	tell_daemon(c);
	if (c->json) {
		json_object(&c->j);
		json_kstr(&c->j, "partner", argv[0]);
		json_kstr(&c->j, "transaction_id", argv[1]);
		json_kint(&c->j, "seq", seq);
		json_kstr(&c->j, "user", user);
		json_kstr(&c->j, "reason", reason);
		json_object_end(&c->j);
		return finish_json(c, EX_OK);
	}
	printf("skip: sequence %" PRId64 " of %s %s declared done by %s\n",
	    seq, argv[0], argv[1], user);
	return EX_OK;
}

static const struct {
	const char	*name;
	int		(*fn)(struct ctl *, int, char **);
} commands[] = {
	{ "status", cmd_status },
	{ "list", cmd_list },
	{ "show", cmd_show },
	{ "retry", cmd_retry },
	{ "skip", cmd_skip },
	{ "batch", cmd_batch },
	{ "purge", cmd_purge },
	{ "check", cmd_check },
};

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "spool-dir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *conf_path = NULL, *spool_dir = NULL;
	struct spool_error err;
	struct ctl c;
	char *db, *jbuf = NULL;
	size_t i, jlen = 0;
	int ch, rc, j;

	memset(&c, 0, sizeof(c));
	log_init("spoolctl", LOG_TARGET_STDERR, LOG_WARNING);
	/* "+": options end at the command; its own options follow it. */
	while ((ch = getopt_long(argc, argv, "+c:d:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'd':
			spool_dir = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		case 'V':
			printf("spoolctl %s\n", PACKAGE_VERSION);
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return EX_USAGE;
	}
	/* --json may also follow the command. */
	for (j = 1; j < argc; j++) {
		if (strcmp(argv[j], "--json") == 0) {
			c.json = true;
			memmove(&argv[j], &argv[j + 1],
			    (size_t)(argc - j) * sizeof(*argv));
			argc--;
			j--;
		}
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, argv[0]) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		fprintf(stderr, "spoolctl: unknown command: %s\n", argv[0]);
		usage(stderr);
		return EX_USAGE;
	}
	if (commands[i].fn == NULL) {
		fprintf(stderr, "spoolctl: %s: not implemented yet\n",
		    argv[0]);
		return EX_UNAVAILABLE;
	}
	spool_clearerr(&err);
	if (conf_load_cmdline(&c.conf, conf_path, spool_dir, &err) == -1) {
		fprintf(stderr, "spoolctl: %s\n", err.msg);
		return EX_CONFIG;
	}
	if (asprintf(&db, "%s/spool.db", c.conf.spool_dir) == -1) {
		fprintf(stderr, "spoolctl: out of memory\n");
		conf_free(&c.conf);
		return EX_OSERR;
	}
	if (store_open(&c.store, db, 0, &err) == -1) {
		fprintf(stderr, "spoolctl: %s\n", err.msg);
		free(db);
		conf_free(&c.conf);
		return c.store.errclass == STORE_ERR_TOO_NEW ? EX_UNAVAILABLE :
		    EX_NOINPUT;
	}
	free(db);
	c.now = store_now_ms();
	c.out = stdout;
	if (c.json && (c.out = open_memstream(&jbuf, &jlen)) == NULL) {
		fprintf(stderr, "spoolctl: out of memory\n");
		store_close(&c.store);
		conf_free(&c.conf);
		return EX_OSERR;
	}
	json_init(&c.j, c.out);
	rc = commands[i].fn(&c, argc, argv);
	if (c.json) {
		if (fclose(c.out) == EOF && rc == EX_OK)
			rc = fail(EX_OSERR, "out of memory");
		else if (c.complete && jbuf != NULL)
			fwrite(jbuf, 1, jlen, stdout);
		free(jbuf);
	}
	if (c.sd_open)
		spooldir_close(&c.sd);
	store_close(&c.store);
	conf_free(&c.conf);
	if ((fflush(stdout) == EOF || ferror(stdout)) && rc == EX_OK)
		rc = fail(EX_IOERR, "cannot write the output: %s",
		    strerror(errno));
	return rc;
}
