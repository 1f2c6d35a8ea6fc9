/*
 * archive.c - archive_command: keep a copy elsewhere before retention
 * removes a file from done/, rejected/ or failed/ (DESIGN 18).
 *
 * Before each retention look removes anything, every file it would
 * remove now and that is not archived yet is given to archive_command:
 * argv from the configuration (no shell), the file on standard input,
 * and the SPOOLD_* environment of an exec call (SPOOLD_MESSAGE_ID,
 * SPOOLD_PARTNER, SPOOLD_TYPE, SPOOLD_TRANSACTION_ID, SPOOLD_SEQUENCE,
 * SPOOLD_FILE=/dev/stdin) plus SPOOLD_STATE (done, rejected, failed),
 * SPOOLD_NAME (the file's name in that directory) and SPOOLD_BATCH
 * (empty). A bundle file rejected whole (a batch, no message) gets
 * SPOOLD_BATCH, SPOOLD_PARTNER, SPOOLD_STATE=rejected, SPOOLD_NAME and
 * SPOOLD_FILE, and every message variable empty: exactly one of
 * SPOOLD_MESSAGE_ID and SPOOLD_BATCH is set, so a program tells the two
 * apart, and one written for messages alone never takes a bundle for
 * message "". Exit 0 marks it archived (retention_archive_mark(), _bundle()
 * for a batch), and only archived files are removed; any other end, or
 * archive_timeout, records the reason (archive_error), logged once at
 * warning level, shown by spoolctl status, and the file is kept; it is
 * tried again at the next look. In rejected/, the messages' files come
 * first, then the bundles', in the same budget. Files never tried come
 * before those that failed already, which are tried in turn from where
 * the last look stopped (struct archive_cursor, kept by the daemon):
 * files that keep failing never starve newer ones, nor one another.
 *
 * The calls run one at a time in the daemon's loop, outside any store
 * transaction, at most ARCHIVE_BATCH per look and none started after
 * ARCHIVE_BUDGET_MS: a slow archive delays acceptance by at most that
 * (plus one archive_timeout), and what is left waits for the next look.
 * A crash between the exit and the mark archives the file once more.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "log.h"
#include "proc.h"
#include "retention.h"

#define ARCHIVE_BATCH		64
#define ARCHIVE_BUDGET_MS	5000

extern char **environ;

struct afile {
	int64_t	 id;		/* the message, 0 for a bundle */
	int64_t	 batch;		/* the bundle, 0 for a message */
	int	 state;
	char	*partner, *type, *tx, *name;
	int64_t	 seq;
	bool	 failed_before;
};

struct alist {
	struct afile	*v;
	size_t		 n, cap;
};

/* The file's message in a log line, as the cycle's (cycle_logid()), or
 * its bundle as acceptance names it (batch=, partner=). */
static const char *
afile_logid(char *buf, size_t len, const struct afile *f)
{
	if (f->batch != 0)
		snprintf(buf, len, "batch=%" PRId64 " partner=%s", f->batch,
		    LOG_Q(f->partner));
	else if (f->tx != NULL)
		snprintf(buf, len, "id=%" PRId64 " partner=%s tx=%s seq=%"
		    PRId64 " type=%s", f->id, LOG_Q(f->partner), LOG_Q(f->tx),
		    f->seq, f->type != NULL ? LOG_Q(f->type) : "-");
	else
		snprintf(buf, len, "id=%" PRId64 " partner=%s type=%s", f->id,
		    LOG_Q(f->partner), f->type != NULL ? LOG_Q(f->type) : "-");
	return buf;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
afile_free(struct afile *f)
{
	free(f->partner);
	free(f->type);
	free(f->tx);
	free(f->name);
}

static char *
dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*oom = true;
	return d;
}

static int
take(void *arg, const struct retention_file *rf)
{
	struct alist *l = arg;
	struct afile *f;
	bool oom = false;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct afile *nv;

		if ((nv = reallocarray(l->v, cap, sizeof(*nv))) == NULL)
			return -1;
		l->v = nv;
		l->cap = cap;
	}
	f = &l->v[l->n];
	memset(f, 0, sizeof(*f));
	f->id = rf->id;
	f->batch = rf->batch;
	f->state = rf->state;
	f->seq = rf->sender_seq;
	f->failed_before = rf->failed_before;
	f->partner = dup_or_null(rf->partner, &oom);
	f->type = dup_or_null(rf->type, &oom);
	f->tx = dup_or_null(rf->transaction_id, &oom);
	f->name = dup_or_null(rf->file_name, &oom);
	if (oom) {
		afile_free(f);
		return -1;
	}
	l->n++;
	return 0;
}

/*
 * environ without SPOOLD_* and systemd's, then ours; NULL on no memory.
 * A message's ID or a bundle's batch, the other empty.
 */
static char **
make_env(const struct afile *f, char ***own)
{
	char **v, *e[9];
	size_t n, i, k = 0, m = 0;

	for (n = 0; environ[n] != NULL; n++)
		;
	memset(e, 0, sizeof(e));
	if ((f->batch != 0 ? asprintf(&e[m++], "SPOOLD_MESSAGE_ID=") :
	    asprintf(&e[m++], "SPOOLD_MESSAGE_ID=%" PRId64, f->id)) == -1 ||
	    (f->batch != 0 ? asprintf(&e[m++], "SPOOLD_BATCH=%" PRId64,
	    f->batch) : asprintf(&e[m++], "SPOOLD_BATCH=")) == -1 ||
	    asprintf(&e[m++], "SPOOLD_PARTNER=%s", f->partner) == -1 ||
	    asprintf(&e[m++], "SPOOLD_TYPE=%s", f->type != NULL ? f->type :
	    "") == -1 ||
	    asprintf(&e[m++], "SPOOLD_TRANSACTION_ID=%s", f->tx != NULL ?
	    f->tx : "") == -1 ||
	    (f->tx != NULL ? asprintf(&e[m++], "SPOOLD_SEQUENCE=%" PRId64,
	    f->seq) : asprintf(&e[m++], "SPOOLD_SEQUENCE=")) == -1 ||
	    asprintf(&e[m++], "SPOOLD_FILE=/dev/stdin") == -1 ||
	    asprintf(&e[m++], "SPOOLD_STATE=%s", spool_state_name(f->state)) ==
	    -1 ||
	    asprintf(&e[m++], "SPOOLD_NAME=%s", f->name) == -1)
		goto fail;
	if ((v = calloc(n + m + 1, sizeof(*v))) == NULL)
		goto fail;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "SPOOLD_", 7) != 0 &&
		    strncmp(environ[i], "NOTIFY_SOCKET=", 14) != 0 &&
		    strncmp(environ[i], "WATCHDOG_", 9) != 0)
			v[k++] = environ[i];
	if ((*own = calloc(m + 1, sizeof(**own))) == NULL) {
		free(v);
		goto fail;
	}
	for (i = 0; i < m; i++) {
		v[k++] = e[i];
		(*own)[i] = e[i];
	}
	return v;
fail:
	/* asprintf leaves a failed slot undefined: only those before it. */
	for (i = 0; i + 1 < m; i++)
		free(e[i]);
	return NULL;
}

/*
 * Run archive_command on one file: 0 archived, 1 not (why filled), -1
 * could not even try (why filled too).
 */
static int
run_one(const struct conf *conf, struct spooldir *sd, const struct afile *f,
    char *why, size_t whylen)
{
	struct proc_tail tail;
	char **env = NULL, **own = NULL, buf[512], reason[600];
	struct pollfd pfd;
	int in = -1, p[2] = { -1, -1 }, status = 0, rc, ret = 1;
	int64_t deadline;
	pid_t pid = -1, w;
	bool timed_out = false;
	ssize_t got;
	size_t i;

	memset(&tail, 0, sizeof(tail));
	in = openat(sd->state_fd[f->state], f->name, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC);
	if (in == -1) {
		snprintf(why, whylen, "cannot open %s/%s: %s",
		    spooldir_dir_name(f->state), f->name, strerror(errno));
		return 1;
	}
	if (proc_above_stdio(&in) == -1 || pipe2(p, O_CLOEXEC) == -1 ||
	    proc_above_stdio(&p[0]) == -1 || proc_above_stdio(&p[1]) == -1 ||
	    fcntl(p[0], F_SETFL, O_NONBLOCK) == -1) {
		snprintf(why, whylen, "cannot set up the call: %s",
		    strerror(errno));
		ret = -1;
		goto out;
	}
	if ((env = make_env(f, &own)) == NULL) {
		snprintf(why, whylen, "out of memory");
		ret = -1;
		goto out;
	}
	if ((rc = proc_spawn(&pid, conf->archive_argv, env, in, p[1])) != 0) {
		pid = -1;
		snprintf(why, whylen, "cannot execute %s: %s",
		    conf->archive_argv[0], strerror(rc));
		goto out;
	}
	close(p[1]);
	p[1] = -1;
	deadline = mono_ms() + (int64_t)conf->archive_timeout_ms;
	/* Its stderr until it closes, then its exit; killed at the end of
	 * archive_timeout. */
	for (;;) {
		int64_t left = deadline - mono_ms();

		if (left <= 0) {
			timed_out = true;
			proc_signal_group(pid, SIGKILL);
			break;
		}
		if (p[0] == -1) {
			w = waitpid(pid, &status, WNOHANG);
			if (w == pid) {
				pid = -1;
				break;
			}
			pfd.fd = -1;
			pfd.events = 0;
			(void)poll(NULL, 0, left < 20 ? (int)left : 20);
			continue;
		}
		pfd.fd = p[0];
		pfd.events = POLLIN;
		if (poll(&pfd, 1, left < 1000 ? (int)left : 1000) <= 0)
			continue;
		got = read(p[0], buf, sizeof(buf));
		if (got > 0)
			proc_tail_keep(&tail, buf, (size_t)got);
		else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
			close(p[0]);
			p[0] = -1;
		}
	}
	if (pid != -1) {
		while ((w = waitpid(pid, &status, 0)) == -1 && errno == EINTR)
			;
		pid = -1;
	}
	if (!timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		ret = 0;
		goto out;
	}
	proc_tail_reason(&tail, 400, reason, sizeof(reason));
	if (timed_out)
		snprintf(why, whylen, "archive_command did not end within "
		    "archive_timeout%s%s", reason[0] != '\0' ? ": " : "",
		    reason);
	else if (WIFEXITED(status))
		snprintf(why, whylen, "archive_command exited %d%s%s",
		    WEXITSTATUS(status), reason[0] != '\0' ? ": " : "", reason);
	else
		snprintf(why, whylen, "archive_command was killed by signal "
		    "%d%s%s", WIFSIGNALED(status) ? WTERMSIG(status) : 0,
		    reason[0] != '\0' ? ": " : "", reason);
out:
	if (in != -1)
		close(in);
	if (p[0] != -1)
		close(p[0]);
	if (p[1] != -1)
		close(p[1]);
	if (own != NULL) {
		for (i = 0; own[i] != NULL; i++)
			free(own[i]);
		free(own);
	}
	free(env);
	return ret;
}

static void
alist_free(struct alist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		afile_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/*
 * archive_command on each file of l, until the look's budget (from t0)
 * is spent, each outcome recorded; *ok counts the archived ones, *out
 * is set when the budget ended the list early. 0, or -1 when the store
 * failed (err).
 */
static int
archive_list(const struct conf *conf, struct store *store,
    struct spooldir *sd, const struct alist *l, int64_t t0, size_t *ok,
    int64_t *cursor, bool *out, struct spool_error *err)
{
	struct spool_error merr;
	char why[1024], who[1536];
	size_t i;
	int rc, mr;

	for (i = 0; i < l->n; i++) {
		struct afile *f = &l->v[i];

		if (mono_ms() - t0 >= ARCHIVE_BUDGET_MS) {
			*out = true;
			break;
		}
		why[0] = '\0';
		rc = run_one(conf, sd, f, why, sizeof(why));
		spool_clearerr(&merr);
		mr = f->batch != 0 ? retention_archive_mark_bundle(store,
		    f->batch, rc == 0 ? NULL : why, &merr) :
		    retention_archive_mark(store, f->id, rc == 0 ? NULL : why,
		    &merr);
		if (mr == -1) {
			log_err("event=archive %s status=failed reason=%s",
			    afile_logid(who, sizeof(who), f), LOG_Q(merr.msg));
			if (err != NULL)
				*err = merr;
			return -1;
		}
		if (f->failed_before)
			*cursor = f->batch != 0 ? f->batch : f->id;
		if (rc == 0)
			(*ok)++;
		if (rc == 0)
			log_info("event=archive %s file=%s/%s status=ok",
			    afile_logid(who, sizeof(who), f),
			    spooldir_dir_name(f->state), LOG_Q(f->name));
		else if (!f->failed_before)
			log_warn("event=archive %s file=%s/%s status=failed "
			    "reason=%s note=\"the file is kept and tried "
			    "again\"", afile_logid(who, sizeof(who), f),
			    spooldir_dir_name(f->state), LOG_Q(f->name),
			    LOG_Q(why));
		else
			log_debug("event=archive %s status=failed reason=%s",
			    afile_logid(who, sizeof(who), f), LOG_Q(why));
	}
	return 0;
}

/*
 * The list of one look: the files never tried, then those that failed
 * before after *cursor, then (wrapping round) those up to it, at most
 * ARCHIVE_BATCH in all.
 */
static int
gather(struct store *store, int st, bool bundles, int64_t before,
    int64_t cursor, struct alist *l, struct spool_error *err)
{
	int pass, r;
	int64_t after, upto;

	for (pass = 0; pass < 3 && l->n < ARCHIVE_BATCH; pass++) {
		if (pass == 2 && cursor <= 0)
			break;
		after = pass == 1 ? cursor : 0;
		upto = pass == 2 ? cursor : INT64_MAX;
		r = bundles ? retention_archive_list_bundles(store, before,
		    ARCHIVE_BATCH - (int64_t)l->n, pass > 0, after, upto,
		    take, l, err) : retention_archive_list(store, st, before,
		    ARCHIVE_BATCH - (int64_t)l->n, pass > 0, after, upto,
		    take, l, err);
		if (r == -1) {
			if (err != NULL && err->msg[0] == '\0')
				spool_seterr(err, "out of memory");
			return -1;
		}
	}
	return 0;
}

int
archive_look(const struct conf *conf, struct store *store,
    struct spooldir *sd, int st, int64_t before, struct archive_cursor *cur,
    bool *more, struct spool_error *err)
{
	struct alist l;
	int64_t t0 = mono_ms();
	size_t ok = 0, okb = 0;
	bool out = false;
	int ret = 0;

	memset(&l, 0, sizeof(l));
	if (gather(store, st, false, before, cur->failed[st], &l, err) ==
	    -1) {
		ret = -1;
		goto out;
	}
	if (archive_list(conf, store, sd, &l, t0, &ok, &cur->failed[st], &out,
	    err) == -1) {
		ret = -1;
		goto out;
	}
	/* A full batch that made progress: more at once (one that only
	 * failed again waits for the next look). */
	if ((out || l.n == ARCHIVE_BATCH) && ok > 0)
		*more = true;
	if (out || st != ST_REJECTED)
		goto out;
	/* Then the bundle files rejected whole, in what is left of it. */
	alist_free(&l);
	if (gather(store, st, true, before, cur->failed_bundles, &l, err) ==
	    -1) {
		ret = -1;
		goto out;
	}
	if (archive_list(conf, store, sd, &l, t0, &okb, &cur->failed_bundles,
	    &out, err) == -1) {
		ret = -1;
		goto out;
	}
	if ((out || l.n == ARCHIVE_BATCH) && okb > 0)
		*more = true;
out:
	alist_free(&l);
	return ret;
}
