/*
 * ctl_lever.c - spoolctl's levers, the commands that change the spool:
 * retry and skip (through the processing cycle, then a SIGUSR1 to wake
 * spoold), purge (old messages and bundle files in done/) and check
 * (store against directories, with --repair under the spool lock).
 *
 * purge writes in short write transactions of at most PURGE_CHUNK
 * messages; the order of file and row removal is argued at
 * purge_chunk() and retention_bundles() (retention.c).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "ctl.h"
#include "lever.h"
#include "reconcile.h"
#include "retention.h"
#include "sequencer.h"
#include "spoollock.h"
#include "store_batch.h"

#define PURGE_CHUNK	256	/* messages per purge transaction */

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
	struct jdoc *j = &c->j;
	char b[600], t[64], w[600];

	if (c->json) {
		jd_object(j);
		jd_kint(j, "id", m->id);
		jd_kstr(j, "file_name", m->file_name);
		jd_kstr(j, "partner", m->partner);
		jd_kstr(j, "transaction_id", m->transaction_id);
		if (m->has_seq)
			jd_kint(j, "sender_seq", m->sender_seq);
		else
			jd_knull(j, "sender_seq");
		jd_kstr(j, "type", m->type);
		jd_ktime(j, "done_at", m->updated_at);
		jd_kstr(j, "action", action);
		jd_kstr(j, "why", why);
		jd_object_end(j);
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

int
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
	struct jdoc *j = &c->j;
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
		jd_object(j);
		jd_kbool(j, "dry_run", vs.dry_run);
		jd_kint(j, "older_than_seconds", (int64_t)(ms / 1000));
		jd_ktime(j, "before", before);
		jd_key(j, "messages");
		jd_array(j);
	}
	spool_clearerr(&err);
	if (vs.dry_run) {
		if (store_admin_read_begin(&c->store, &err) == -1)
			return store_fail(c, &err);
		rc = store_admin_purge_candidates(&c->store, before, below, 0,
		    c->conf.archive_argv != NULL, purge_collect, &vs, &err);
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
			    below, PURGE_CHUNK, c->conf.archive_argv != NULL,
			    purge_collect, &vs, &err) == -1) {
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
	if ((bundles = retention_bundles(&c->store, &c->sd, ST_DONE, before, 0,
	    vs.dry_run, c->conf.archive_argv != NULL, &err)) == -1)
		return store_fail(c, &err);
	if (c->json) {
		jd_array_end(j);
		jd_kint(j, "matched", vs.matched);
		jd_kint(j, "removed", removed);
		jd_kint(j, "kept", kept);
		jd_kint(j, "bundles", bundles);
		jd_object_end(j);
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
	struct jdoc *j = &c->j;
	char b[600], e[600];
	const char *dir = f->found >= 0 ? state_name(f->found) : NULL;
	const char *exp = f->expected >= 0 ? state_name(f->expected) : NULL;

	if (c->json) {
		jd_object(j);
		jd_kstr(j, "kind", reconcile_kind_name(f->kind));
		jd_kopt(j, "id", f->id);
		jd_kbool(j, "batch", f->batch);
		jd_kstr(j, "file_name", f->file_name);
		jd_kstr(j, "directory", dir);
		jd_kstr(j, "expected_state", exp);
		jd_kbool(j, "repaired", f->repaired);
		jd_kstr(j, "error", f->error);
		jd_object_end(j);
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
		printf("row without file: %s %" PRId64 " (%s): %s/%s is "
		    "missing%s\n", f->batch ? "batch" : "message", f->id, exp,
		    exp, b, f->repaired ? ": settled, recorded as removed by "
		    "hand" : "");
		break;
	}
}

int
cmd_check(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "repair", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct reconcile_stats rs;
	struct spool_error err;
	struct jdoc *j = &c->j;
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
		jd_object(j);
		jd_kbool(j, "repair", repair);
		jd_key(j, "findings");
		jd_array(j);
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
		jd_array_end(j);
		jd_kint(j, "files", rs.files);
		jd_kint(j, "rows", rs.rows);
		jd_kint(j, "disagreements", rs.findings);
		jd_kint(j, "repaired", rs.repaired);
		jd_kint(j, "remaining", remain);
		jd_kbool(j, "agree", remain == 0);
		jd_object_end(j);
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
 * which then runs a cycle): the one spoold's lock names, never the pid
 * the store remembers (ctl_signal_daemon()). Not being able to is not an
 * error: spoold picks the change up at its next wake-up anyway; say so.
 */
static void
tell_daemon(struct ctl *c)
{
	pid_t pid = 0;

	if (ctl_signal_daemon(c, SIGUSR1, &pid) == -1)
		fprintf(stderr, "spoolctl: cannot tell spoold (pid %ld): %s; "
		    "it acts at its next wake-up\n", (long)pid,
		    strerror(errno));
}

#define SKIP_RANGE_MAX	10000	/* numbers in one skip FROM-TO */

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

int
cmd_retry(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tx", no_argument, NULL, 't' },
		{ "all-failed", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	struct cycle_ctx ctx = { &c->conf, &c->store, &c->sd, NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL };
	const char *usage_text = "usage: spoolctl retry MSGID... | retry - | "
	    "retry --tx PARTNER ID | retry --all-failed";
	const char *partner = NULL, *tx = NULL;
	struct spool_error err;
	bool by_tx = false, all = false;
	int64_t *ids = NULL, n, total = 0;
	size_t nids = 0, i, missed = 0;
	int ch, rc;

	optind = 0;
	/* "+": "-" (IDs on standard input) is an argument, not an option. */
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
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
	} else if (!by_tx && !all && argc >= 1) {
		if ((rc = ctl_read_ids("retry", argc, argv, &ids, &nids)) !=
		    EX_OK)
			return rc;
	} else if (!all)
		return fail(EX_USAGE, "%s", usage_text);
	if ((rc = need_spooldir(c)) != EX_OK) {
		free(ids);
		return rc;
	}
	spool_clearerr(&err);
	if (c->json) {
		jd_object(&c->j);
		jd_key(&c->j, "not_retried");
		jd_array(&c->j);
	}
	if (nids == 0) {
		if (lever_retry(&ctx, 0, partner, tx, all, &total, &err) == -1)
			return store_fail(c, &err);
		if (total == 0 && !all)
			return fail(EX_DATAERR, "nothing to retry: no failed "
			    "or deferred message in that transaction (or its "
			    "exec call is still running)");
	}
	/* One ID after the other, each in its own transaction. */
	for (i = 0; i < nids; i++) {
		if (lever_retry(&ctx, ids[i], NULL, NULL, false, &n, &err) ==
		    -1) {
			free(ids);
			if (total > 0)
				tell_daemon(c);
			return store_fail(c, &err);
		}
		total += n;
		if (n == 0) {
			missed++;
			fprintf(stderr, "spoolctl: nothing to retry: no failed "
			    "or deferred message %" PRId64 " (or its exec "
			    "call is still running)\n", ids[i]);
			if (c->json)
				jd_int(&c->j, ids[i]);
		}
	}
	free(ids);
	if (total > 0)
		tell_daemon(c);
	rc = missed > 0 ? EX_DATAERR : EX_OK;
	if (c->json) {
		jd_array_end(&c->j);
		jd_kint(&c->j, "retried", total);
		jd_object_end(&c->j);
		return finish_json(c, rc);
	}
	printf("retry: %" PRId64 " message%s back in queue/\n", total,
	    total == 1 ? "" : "s");
	return rc;
}

/* "FROM" or "FROM-TO" of sequence numbers; -1 if it is neither. */
static int
parse_range(const char *s, int64_t *from, int64_t *to)
{
	char buf[64];
	char *dash;

	if (strlen(s) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", s);
	if ((dash = strchr(buf, '-')) != NULL)
		*dash = '\0';
	if (parse_id(buf, from) == -1)
		return -1;
	*to = *from;
	if (dash != NULL && (parse_id(dash + 1, to) == -1 || *to < *from ||
	    *to - *from >= SKIP_RANGE_MAX))
		return -1;
	return 0;
}

/* Is s an id as a pair names it: QUAL:ID, no blank? */
static bool
ctl_pair_id(const char *s)
{
	const char *colon;

	if ((colon = strchr(s, ':')) == NULL || colon == s ||
	    colon[1] == '\0')
		return false;
	return strpbrk(s, " \t\n") == NULL;
}

int
cmd_skip(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ "tx", no_argument, NULL, 't' },
		{ "control", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	struct cycle_ctx ctx = { &c->conf, &c->store, &c->sd, NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL };
	const char *usage_text = "usage: spoolctl skip --tx PARTNER ID "
	    "FROM[-TO] --reason TEXT\n"
	    "       spoolctl skip --control PARTNER SENDER RECIPIENT "
	    "FROM[-TO] --reason TEXT";
	const char *reason = NULL, *user, *tx, *range;
	char pair[SEQ_PAIR_MAX];
	int control = 0;
	struct spool_error err;
	struct passwd *pw;
	char uidbuf[32];
	int64_t seq, from, to;
	int ch, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'r')
			reason = optarg;
		else if (ch == 'c')
			control = 1;
		else if (ch != 't')	/* --tx, or the older form without */
			return fail(EX_USAGE, "%s", usage_text);
	}
	argc -= optind;
	argv += optind;
	if (argc != (control ? 4 : 3) || reason == NULL || reason[0] == '\0')
		return fail(EX_USAGE, "%s", usage_text);
	if (control) {
		/* The pair by its ids, QUAL:ID as list --control prints
		 * them: its key as the sequencer names it. */
		if (!ctl_pair_id(argv[1]) || !ctl_pair_id(argv[2]))
			return fail(EX_USAGE, "sender and recipient are "
			    "QUAL:ID, as list --control prints them");
		if (seq_pair_name(pair, sizeof(pair), argv[1], argv[2]) == -1)
			return fail(EX_USAGE, "sender and recipient ids are "
			    "too long");
		tx = pair;
		range = argv[3];
	} else {
		tx = argv[1];
		range = argv[2];
	}
	if (parse_range(range, &from, &to) == -1)
		return fail(EX_USAGE, "%s is not a %s number or a range "
		    "FROM-TO (of at most %d)", range, control ? "control" :
		    "sequence", SKIP_RANGE_MAX);
	if ((pw = getpwuid(getuid())) != NULL)
		user = pw->pw_name;
	else {
		snprintf(uidbuf, sizeof(uidbuf), "uid %ld", (long)getuid());
		user = uidbuf;
	}
	if ((rc = need_spooldir(c)) != EX_OK)
		return rc;
	spool_clearerr(&err);
	/* In order, each number in its own transaction: a refusal stops
	 * the range, and the numbers before it stay skipped. */
	for (seq = from; seq <= to; seq++)
		if (lever_skip(&ctx, argv[0], tx, seq, user, reason,
		    &err) == -1)
			break;
	if (seq > from)
		tell_daemon(c);
	if (seq <= to) {
		if (seq > from)
			fprintf(stderr, "spoolctl: skip: sequences %" PRId64
			    " to %" PRId64 " of %s %s declared done; %" PRId64
			    " not:\n", from, seq - 1, argv[0], tx, seq);
		if (store_admin_busy(&c->store))
			return fail(EX_TEMPFAIL, "%s", err.msg);
		return fail(EX_DATAERR, "%s", err.msg);
	}
	if (c->json) {
		jd_object(&c->j);
		jd_kstr(&c->j, "partner", argv[0]);
		jd_kstr(&c->j, "transaction_id", tx);
		jd_kint(&c->j, "seq", from);
		jd_kint(&c->j, "to", to);
		jd_kstr(&c->j, "user", user);
		jd_kstr(&c->j, "reason", reason);
		jd_object_end(&c->j);
		return finish_json(c, EX_OK);
	}
	if (from == to)
		printf("skip: sequence %" PRId64 " of %s %s declared done by "
		    "%s\n", from, argv[0], tx, user);
	else
		printf("skip: sequences %" PRId64 " to %" PRId64 " of %s %s "
		    "declared done by %s\n", from, to, argv[0], tx, user);
	return EX_OK;
}
