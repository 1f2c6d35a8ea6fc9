/*
 * execq.c - the exec handler's runner: one child process per pending
 * call, watched through the daemon's event loop (loop.c; DESIGN 7).
 *
 * The exec handler records a pending call for a message's next attempt
 * (exec_call_start) in the cycle's transaction, which makes the message
 * wait; it stays in its directory and is not ready while it waits. This
 * module makes those calls: it lists them (exec_pending), oldest
 * first, and starts a program for each while fewer than `workers' calls
 * are in hand, never two for one (partner, transaction). (The sequencer
 * makes a transaction's next message ready only after this one is done;
 * the check keeps order even so.) Each outcome goes to cycle_complete(),
 * which makes the call valid or invalid and the message done (releasing
 * its successor), deferred or failed, and then moves its file.
 *
 * A program gets: argv from the route, started with posix_spawnp (fork
 * and execve in one, with execvp's PATH lookup; no shell); stdin a sealed
 * copy of the message (below); stdout /dev/null; stderr a pipe that is read
 * whenever epoll says so, keeping only the last PROC_TAIL_MAX bytes (a flood
 * costs CPU, never memory or a stall); a process group of its own, so
 * that a timeout reaches what it started; default signal dispositions and
 * an empty signal mask; our environment plus SPOOLD_* (the exec
 * handler's exec_env_build(), handlers/exec.c), among them
 * SPOOLD_OUTBOUND, an empty private file <spool>/.outbound.<id>.<attempt>
 * for the messages it wants sent (read only after exit 0, stamped and
 * recorded by cycle_complete() with the outcome, then removed). Its end is seen
 * through a signalfd for SIGCHLD in the same epoll (SIGCHLD is blocked
 * in the daemon; a SIGCHLD says that some child ended, so each running
 * call is asked with waitid; pidfd_open(2) would do too, but valgrind
 * and older kernels lack it). A timeout sends SIGTERM to the group, then
 * SIGKILL after KILL_GRACE_MS; the group is killed again before the
 * program is reaped, while its ID cannot be reused. What its end means
 * (exit 0 / 75 / other, a timeout) is the handler's exec_judge().
 *
 * The message a program gets is the message accepted. Its file is read
 * (readfile.c, bounded) and its digest compared with the one recorded at
 * acceptance; a difference (a partner wrote into its upload after it was
 * accepted) fails the call permanently, unstarted. The verified bytes go
 * into a memfd sealed against writing, shrinking and growing: still a
 * file, not a pipe (a program that never reads it blocks nothing, one
 * that seeks can), and nobody, the program included, can change it while
 * the program runs. SPOOLD_FILE is /dev/stdin, a name for that copy that
 * a program can open (it reopens from offset 0); spoold's own file is not
 * given out, since its path was never a promise of its bytes.
 *
 * Crash safety: the pending row is committed before the program starts
 * and turns valid or invalid only in cycle_complete()'s commit after the
 * program ended. A crash at any point in between leaves it pending, and
 * the next start lists it again and makes the call again, with the same
 * SPOOLD_MESSAGE_ID and SPOOLD_ATTEMPT: at least once, never lost. When
 * recording an outcome fails, the call stays in hand (its transaction
 * stays blocked) and recording is retried; this process does not run the
 * program again for it.
 *
 * (About 980 lines: spawning, signalling and the stderr tail are
 * proc.c's; reaping, timeouts and the driver of the exec handler's
 * calls -- which pending call starts, the sealed copy, the outcome to
 * cycle_complete() -- still share struct job. Issue 15 splits them: the
 * runner reports an exit status and a stderr tail through a callback,
 * the driver lives beside the exec handler. Not done yet.)
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cycle.h"
#include "execq.h"
#include "loop.h"
#include "exec.h"
#include "exec_store.h"
#include "handler.h"
#include "log.h"
#include "proc.h"
#include "readfile.h"

#define REASON_BYTES	500		/* of them, at most this in a reason */
#define REASON_MAX	(REASON_BYTES + 64)
#define KILL_GRACE_MS	2000		/* SIGTERM, then SIGKILL after this */
#define STORE_RETRY_MS	1000		/* after a store error */
#define READ_BUDGET	(256 * 1024)	/* stderr bytes read per event */
#define DRAIN_BUDGET	(1024 * 1024)	/* read at most at the program's end */
#define GEN_MASK	0x7fffffffU

enum job_state {
	JOB_FREE,
	JOB_ENDED,		/* no program runs: the outcome is to be
				 * recorded (again at deadline, if that
				 * failed) */
	JOB_RUNNING		/* the program runs */
};

struct job {
	enum job_state	 state;
	uint32_t	 gen;		/* tells stale epoll events apart */
	int64_t		 id;
	int		 attempt;
	char		*partner;
	char		*tx;		/* NULL outside transactions */
	char		*type;
	char		*dialect;	/* NULL: native */
	bool		 test;
	int64_t		 seq;
	pid_t		 pid;		/* also the process group */
	int		 errfd;		/* -1 once at EOF */
	int64_t		 started;	/* monotonic ms */
	int64_t		 deadline;	/* monotonic ms, -1: none */
	uint64_t	 timeout_ms;
	int		 kills;		/* 0; 1 SIGTERM sent; 2 SIGKILL sent */
	struct proc_tail err;		/* the end of stderr */
	enum cycle_result result;	/* once the program ended */
	int		 exit_status;
	char		 reason[REASON_MAX];
	char		*outpath;	/* SPOOLD_OUTBOUND, NULL: none */
	bool		 unrecorded;	/* its store error was logged */
};

struct execq {
	const struct conf	*conf;
	struct schema_set *const *schemas;	/* the daemon's, reloaded */
	struct store		*store;
	struct spooldir		*sd;
	struct loop		*loop;		/* the daemon's */
	int			 chldfd;	/* signalfd for SIGCHLD */
	char			*root;		/* the spool, absolute */
	struct job		*jobs;
	size_t			 njobs;		/* slots allocated */
	unsigned		 inhand;	/* slots in use */
	unsigned		 running;	/* of which a program runs */
	unsigned		 completed;
	uint32_t		 gen;
	int64_t			 retry_at;	/* monotonic ms, 0: none */
	bool			 stopping;
	bool			(*stop_asked)(void *);	/* NULL: never */
	void			*stop_arg;
};

/* A pending call picked to start; strings owned. */
struct pend {
	int64_t		 id;
	int		 attempt;
	int		 state;
	int64_t		 seq;
	char		*partner, *type, *tx, *file_name;
	char		*dialect;	/* DESIGN 15; NULL: native */
	bool		 test, has_sha256;
	uint8_t		 sha256[32];
};

struct pick {
	struct execq	*q;
	struct pend	*v;
	size_t		 n, max;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t
ev_data(const struct job *j, size_t slot, int kind)
{
	return LOOP_EXECQ | (uint64_t)(j->gen & GEN_MASK) << 32 |
	    (uint64_t)slot << 2 | (uint64_t)kind;
}

enum { EV_ERR = 1, EV_CHLD = 2 };

static void
pend_free(struct pend *p)
{
	free(p->partner);
	free(p->type);
	free(p->tx);
	free(p->file_name);
	free(p->dialect);
	memset(p, 0, sizeof(*p));
}

static void
logid(char *buf, size_t len, const struct job *j)
{
	char tx[300], type[300];

	if (j->tx != NULL)
		snprintf(buf, len, "id=%" PRId64 " partner=%s tx=%s seq=%"
		    PRId64 " type=%s attempt=%d", j->id, LOG_Q(j->partner),
		    log_quote(tx, sizeof(tx), j->tx), j->seq,
		    log_quote(type, sizeof(type), j->type), j->attempt);
	else
		snprintf(buf, len, "id=%" PRId64 " partner=%s type=%s "
		    "attempt=%d", j->id, LOG_Q(j->partner),
		    log_quote(type, sizeof(type), j->type), j->attempt);
}

static void
close_fd(struct execq *q, int *fd)
{
	if (*fd == -1)
		return;
	/* Not registered yet is fine: the close is what matters. */
	loop_del(q->loop, *fd);
	if (close(*fd) == -1 && errno != EINTR)
		log_warn("event=exec status=close reason=%s",
		    LOG_Q(strerror(errno)));
	*fd = -1;
}

static void
job_clear(struct execq *q, struct job *j)
{
	close_fd(q, &j->errfd);
	free(j->partner);
	free(j->tx);
	free(j->type);
	free(j->dialect);
	free(j->outpath);
	memset(j, 0, sizeof(*j));
	j->state = JOB_FREE;
	j->errfd = -1;
	q->inhand--;
}

/* A free slot, growing the table if needed; NULL when out of memory. */
static struct job *
job_alloc(struct execq *q, size_t *slot)
{
	struct job *v;
	size_t i, n;

	for (i = 0; i < q->njobs; i++)
		if (q->jobs[i].state == JOB_FREE)
			goto found;
	n = q->njobs > 0 ? q->njobs * 2 : 4;
	if ((v = reallocarray(q->jobs, n, sizeof(*v))) == NULL)
		return NULL;
	memset(v + q->njobs, 0, (n - q->njobs) * sizeof(*v));
	for (i = q->njobs; i < n; i++)
		v[i].errfd = -1;
	i = q->njobs;
	q->jobs = v;
	q->njobs = n;
found:
	*slot = i;
	q->jobs[i].state = JOB_ENDED;
	q->jobs[i].deadline = -1;
	q->jobs[i].gen = ++q->gen & GEN_MASK;
	q->inhand++;
	return &q->jobs[i];
}

/* Is this message, or another of its transaction, in hand already? */
static bool
busy(const struct execq *q, int64_t id, const char *partner, const char *tx)
{
	const struct job *j;
	size_t i;

	for (i = 0; i < q->njobs; i++) {
		j = &q->jobs[i];
		if (j->state == JOB_FREE)
			continue;
		if (j->id == id)
			return true;
		if (tx != NULL && j->tx != NULL && strcmp(j->tx, tx) == 0 &&
		    strcmp(j->partner, partner) == 0)
			return true;
	}
	return false;
}

/* exec_pending's callback: take calls that may start now. */
static int
pick_one(void *arg, const struct exec_pending_call *c)
{
	struct pick *pk = arg;
	struct pend *p;
	size_t i;

	if (busy(pk->q, c->id, c->partner, c->transaction_id))
		return 0;
	for (i = 0; i < pk->n; i++) {
		p = &pk->v[i];
		if (p->id == c->id || (c->transaction_id != NULL &&
		    p->tx != NULL && strcmp(p->tx, c->transaction_id) == 0 &&
		    strcmp(p->partner, c->partner) == 0))
			return 0;
	}
	p = &pk->v[pk->n];
	p->id = c->id;
	p->attempt = c->attempt;
	p->state = c->state;
	p->seq = c->sender_seq;
	p->partner = strdup(c->partner);
	p->type = strdup(c->type);
	p->file_name = strdup(c->file_name);
	p->has_sha256 = c->has_sha256;
	memcpy(p->sha256, c->sha256, sizeof(p->sha256));
	if (c->transaction_id != NULL)
		p->tx = strdup(c->transaction_id);
	p->dialect = c->dialect != NULL ? strdup(c->dialect) : NULL;
	p->test = c->test;
	if (p->partner == NULL || p->type == NULL || p->file_name == NULL ||
	    (c->dialect != NULL && p->dialect == NULL) ||
	    (c->transaction_id != NULL && p->tx == NULL)) {
		pend_free(p);
		return -1;
	}
	return ++pk->n == pk->max ? 1 : 0;
}

/* Read stderr until it is empty, at EOF (then closed), or budget bytes. */
static void
read_err(struct execq *q, struct job *j, size_t budget)
{
	char buf[16384], id[700];
	size_t got = 0;
	ssize_t n;

	while (j->errfd != -1 && got < budget) {
		n = read(j->errfd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n == -1) {
			logid(id, sizeof(id), j);
			log_warn("event=exec %s status=stderr reason=%s",
			    id, LOG_Q(strerror(errno)));
		}
		if (n <= 0) {
			close_fd(q, &j->errfd);
			return;
		}
		proc_tail_keep(&j->err, buf, (size_t)n);
		got += (size_t)n;
	}
}

/* Decide the outcome of a program that ended with `status'. */
static void
judge(struct job *j, int status)
{
	char tail[REASON_BYTES + 8];

	proc_tail_reason(&j->err, REASON_BYTES, tail, sizeof(tail));
	j->result = exec_judge(status, j->kills > 0, j->timeout_ms, tail,
	    &j->exit_status, j->reason, sizeof(j->reason));
}

/*
 * What the program wrote to SPOOLD_OUTBOUND: 0 (*buf malloc'd, or NULL
 * when empty), or -1 with j's outcome made a permanent failure.
 */
static int
read_outbound(struct execq *q, struct job *j, char **buf, size_t *len)
{
	struct spool_error err;
	struct stat st;
	char why[200];
	int fd, rc;

	*buf = NULL;
	*len = 0;
	memset(&st, 0, sizeof(st));
	/* The program controls this path: never block, never follow. */
	fd = open(j->outpath, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	if (fd == -1 && errno == ENOENT)
		return 0;	/* the program removed it: nothing to send */
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(j->reason, sizeof(j->reason), "the program exited 0, "
		    "but its SPOOLD_OUTBOUND file %s", fd == -1 && errno ==
		    ELOOP ? "was replaced by a symbolic link" : fd == -1 ?
		    "cannot be read" : !S_ISREG(st.st_mode) ? "was replaced "
		    "by something that is not a regular file (a FIFO, a "
		    "device, a socket or a directory)" : "cannot be "
		    "examined (fstat failed)");
		goto refuse;
	}
	spool_clearerr(&err);
	rc = readfile_fd(fd, "the SPOOLD_OUTBOUND file",
	    q->conf->max_message_size, buf, len, why, sizeof(why), &err);
	if (rc != 0) {
		snprintf(j->reason, sizeof(j->reason), "the program exited 0, "
		    "but its SPOOLD_OUTBOUND file cannot be read: %.200s",
		    rc == 1 ? why : err.msg);
		goto refuse;
	}
	close(fd);
	if (*len == 0) {
		free(*buf);
		*buf = NULL;
	}
	return 0;
refuse:
	if (fd != -1)
		close(fd);
	j->result = CYCLE_PERMANENT;
	return -1;
}

/* Record the outcome in the store; on failure keep it and retry later. */
static void
record(struct execq *q, struct job *j)
{
	struct cycle_ctx ctx = { q->conf, q->store, q->sd, NULL, NULL,
	    q->schemas != NULL ? *q->schemas : NULL, &handler_external, NULL,
	    NULL, NULL };
	struct spool_error err;
	char id[700], why[REASON_MAX + 16], *out = NULL;
	size_t outlen = 0;
	int rc;

	j->state = JOB_ENDED;
	spool_clearerr(&err);
	logid(id, sizeof(id), j);
	/* Its messages are sent only if it exits 0. */
	if (j->result == CYCLE_OK && j->outpath != NULL)
		(void)read_outbound(q, j, &out, &outlen);
	rc = cycle_complete(&ctx, j->id, j->attempt, j->result,
	    j->exit_status, j->result == CYCLE_OK ? NULL : j->reason, out,
	    outlen, &err);
	free(out);
	if (rc == -1) {
		/* Once, not once a second (a full disk lasts). */
		if (!j->unrecorded)
			log_err("event=exec %s status=unrecorded reason=%s "
			    "retry_in=%dms", id, LOG_Q(err.msg),
			    STORE_RETRY_MS);
		j->unrecorded = true;
		j->deadline = mono_ms() + STORE_RETRY_MS;
		return;
	}
	if (j->outpath != NULL)
		(void)unlink(j->outpath);
	if (j->result == CYCLE_OK)
		log_info("event=exec %s status=ok duration=%" PRId64 "ms", id,
		    mono_ms() - j->started);
	else
		log_debug("event=exec %s status=%s exit=%d duration=%" PRId64
		    "ms reason=%s", id, j->result == CYCLE_TEMPORARY ?
		    "temporary" : "permanent", j->exit_status,
		    mono_ms() - j->started, log_quote(why, sizeof(why),
		    j->reason));
	q->completed++;
	job_clear(q, j);
}

/* A call that could not run: record r with the reason at once. */
static void
no_run(struct execq *q, struct job *j, enum cycle_result r, int status,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
no_run(struct execq *q, struct job *j, enum cycle_result r, int status,
    const char *fmt, ...)
{
	char id[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->reason, sizeof(j->reason), fmt, ap);
	va_end(ap);
	j->result = r;
	j->exit_status = status;
	logid(id, sizeof(id), j);
	log_warn("event=exec %s status=not_started reason=%s", id,
	    LOG_Q(j->reason));
	record(q, j);
}

/* Kill and reap a program we cannot watch (it ran for no time). */
static void
abandon(struct job *j)
{
	int st;

	proc_signal_group(j->pid, SIGKILL);
	while (waitpid(j->pid, &st, 0) == -1 && errno == EINTR)
		;
}

/*
 * The program's stdin: the message file, read and checked against its
 * digest, copied into a sealed memfd at offset 0 (see the header). 0:
 * *fdp is open. 1: the file is not the one accepted (permanent). -1:
 * cannot now (temporary). why says what.
 */
static int
sealed_copy(struct execq *q, const struct pend *p, int *fdp, char *why,
    size_t whylen)
{
	struct spool_error err;
	char name[SPOOLDIR_NAME_MAX + 16], *buf = NULL;
	size_t len = 0, off = 0;
	ssize_t n;
	int fd, mfd = -1, rc, ret = -1;

	*fdp = -1;
	snprintf(name, sizeof(name), "%s/%s", spool_state_name(p->state),
	    p->file_name);
	fd = openat(q->sd->state_fd[p->state], p->file_name, O_RDONLY |
	    O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1) {
		snprintf(why, whylen, "cannot open %s: %s", name,
		    strerror(errno));
		return -1;
	}
	spool_clearerr(&err);
	rc = readfile_fd(fd, name, q->conf->max_message_size, &buf, &len,
	    why, whylen, &err);
	(void)close(fd);
	if (rc == -1)
		snprintf(why, whylen, "%s", err.msg);
	if (rc != 0)
		return -1;
	if (p->has_sha256 && readfile_verify(buf, len, p->sha256, why,
	    whylen) != 0) {
		ret = 1;
		goto out;
	}
	if ((mfd = memfd_create("spoold-message", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1) {
		snprintf(why, whylen, "memfd_create: %s", strerror(errno));
		goto out;
	}
	while (off < len) {
		n = write(mfd, buf + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(why, whylen, "cannot copy %s: %s", name,
			    n == 0 ? "no progress" : strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK |
	    F_SEAL_GROW | F_SEAL_SEAL) == -1 ||
	    lseek(mfd, 0, SEEK_SET) == -1) {
		snprintf(why, whylen, "cannot seal the copy of %s: %s", name,
		    strerror(errno));
		goto out;
	}
	*fdp = mfd;
	mfd = -1;
	ret = 0;
out:
	if (mfd != -1)
		(void)close(mfd);
	free(buf);
	return ret;
}

/* Start the call p (its strings move into the job, p is emptied). */
static void
start_call(struct execq *q, struct pend *p)
{
	const struct conf_route *route;
	struct exec_env env = { NULL, 0 };
	struct exec_call call;
	struct job *j;
	size_t slot;
	char id[700], why[REASON_MAX];
	int in = -1, pfd[2] = { -1, -1 }, rc, e;

	if ((j = job_alloc(q, &slot)) == NULL) {
		log_err("event=exec id=%" PRId64 " status=not_started "
		    "reason=\"out of memory\"", p->id);
		pend_free(p);
		q->retry_at = mono_ms() + STORE_RETRY_MS;
		return;
	}
	j->id = p->id;
	j->attempt = p->attempt;
	j->seq = p->seq;
	j->partner = p->partner;
	j->type = p->type;
	j->tx = p->tx;
	j->dialect = p->dialect;
	j->test = p->test;
	p->partner = p->type = p->tx = p->dialect = NULL;
	j->pid = -1;
	j->deadline = -1;
	j->started = mono_ms();

	route = conf_route(q->conf, j->type);
	if (route == NULL || strcmp(route->handler, "exec") != 0 ||
	    route->argv == NULL || route->argv[0] == NULL) {
		no_run(q, j, CYCLE_TEMPORARY, -1, "the route of type %s is no "
		    "longer exec; the next attempt follows the current "
		    "configuration", j->type);
		goto out;
	}
	j->timeout_ms = route->timeout_ms;
	if ((rc = sealed_copy(q, p, &in, why, sizeof(why))) != 0) {
		no_run(q, j, rc == 1 ? CYCLE_PERMANENT : CYCLE_TEMPORARY, -1,
		    "%s", why);
		goto out;
	}
	if (proc_above_stdio(&in) == -1) {
		no_run(q, j, CYCLE_TEMPORARY, -1, "cannot move a descriptor: "
		    "%s", strerror(errno));
		goto out;
	}
	/* SPOOLD_OUTBOUND: empty, private, the same name on a repeat. */
	if (asprintf(&j->outpath, "%s/.outbound.%" PRId64 ".%d", q->root,
	    j->id, j->attempt) == -1) {
		j->outpath = NULL;
		no_run(q, j, CYCLE_TEMPORARY, -1, "out of memory");
		goto out;
	}
	/* A leftover of an earlier run may be anything the program made of
	 * it (a FIFO would block an open): remove it, create anew. */
	if (unlink(j->outpath) == -1 && errno != ENOENT && errno != EISDIR)
		log_warn("event=exec id=%" PRId64 " file=%s reason=\"cannot "
		    "remove a leftover: %s\"", j->id, j->outpath,
		    strerror(errno));
	if ((e = open(j->outpath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC, 0600)) == -1 || close(e) == -1) {
		no_run(q, j, CYCLE_TEMPORARY, -1, "cannot create %s: %s",
		    j->outpath, strerror(errno));
		goto out;
	}
	if (pipe2(pfd, O_CLOEXEC) == -1 || proc_above_stdio(&pfd[0]) == -1 ||
	    proc_above_stdio(&pfd[1]) == -1 ||
	    fcntl(pfd[0], F_SETFL, O_NONBLOCK) == -1) {
		no_run(q, j, CYCLE_TEMPORARY, -1, "cannot make a pipe for "
		    "stderr: %s", strerror(errno));
		goto out;
	}
	call.id = j->id;
	call.attempt = j->attempt;
	call.partner = j->partner;
	call.type = j->type;
	call.tx = j->tx;
	call.seq = j->seq;
	call.dialect = j->dialect;
	call.test = j->test;
	call.outpath = j->outpath;
	if (exec_env_build(&env, &call) == -1) {
		no_run(q, j, CYCLE_TEMPORARY, -1, "out of memory");
		goto out;
	}
	rc = proc_spawn(&j->pid, route->argv, env.v, in, pfd[1]);
	exec_env_free(&env);
	if (rc != 0) {
		j->pid = -1;
		no_run(q, j, CYCLE_PERMANENT, -1, "cannot execute %s: %s",
		    route->argv[0], strerror(rc));
		goto out;
	}
	(void)close(pfd[1]);
	pfd[1] = -1;
	j->errfd = pfd[0];
	pfd[0] = -1;
	j->state = JOB_RUNNING;
	q->running++;
	if (loop_add(q->loop, j->errfd, ev_data(j, slot, EV_ERR)) == -1) {
		e = errno;
		abandon(j);
		q->running--;
		close_fd(q, &j->errfd);
		no_run(q, j, CYCLE_TEMPORARY, -1, "cannot watch the program's "
		    "stderr: %s", strerror(e));
		goto out;
	}
	/* An end before this point is noted by the pending SIGCHLD. */
	j->deadline = j->started + (int64_t)j->timeout_ms;
	logid(id, sizeof(id), j);
	log_debug("event=exec %s status=started pid=%ld", id, (long)j->pid);
out:
	if (in != -1)
		(void)close(in);
	if (pfd[0] != -1)
		(void)close(pfd[0]);
	if (pfd[1] != -1)
		(void)close(pfd[1]);
	pend_free(p);
}

/* Has the program of j ended? Then reap it and record the outcome. */
static void
reap(struct execq *q, struct job *j)
{
	siginfo_t si;
	char id[700];
	pid_t r;
	int status = 0, e;

	/* Look first, leaving a zombie: its group ID stays ours. */
	memset(&si, 0, sizeof(si));
	while ((r = waitid(P_PID, (id_t)j->pid, &si, WEXITED | WNOHANG |
	    WNOWAIT)) == -1 && errno == EINTR)
		;
	if (r == 0 && si.si_pid == 0)
		return;		/* still running */
	/* A timed-out call: what it started goes with it. */
	if (r == 0 && j->kills > 0)
		(void)kill(-j->pid, SIGKILL);
	while ((r = waitpid(j->pid, &status, WNOHANG)) == -1 &&
	    errno == EINTR)
		;
	e = errno;
	if (r == 0)
		return;		/* not yet, after all */
	q->running--;
	read_err(q, j, DRAIN_BUDGET);
	close_fd(q, &j->errfd);
	if (r == -1) {
		logid(id, sizeof(id), j);
		log_err("event=exec %s status=wait reason=%s", id,
		    LOG_Q(strerror(e)));
		j->result = CYCLE_TEMPORARY;
		j->exit_status = -1;
		snprintf(j->reason, sizeof(j->reason), "cannot learn how the "
		    "program ended: %s", strerror(e));
	} else
		judge(j, status);
	j->deadline = -1;
	record(q, j);
}

/* SIGCHLD: some child ended. Empty the signalfd, then ask each call. */
static void
children_ended(struct execq *q)
{
	struct signalfd_siginfo si;
	ssize_t n;
	size_t i;

	for (;;) {
		n = read(q->chldfd, &si, sizeof(si));
		if (n == -1 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si)) {
			if (n == -1 && errno != EAGAIN)
				log_warn("event=exec status=sigchld "
				    "reason=%s", LOG_Q(strerror(errno)));
			break;
		}
	}
	for (i = 0; i < q->njobs; i++)
		if (q->jobs[i].state == JOB_RUNNING)
			reap(q, &q->jobs[i]);
}

struct execq *
execq_new(const struct conf *conf, struct store *store, struct spooldir *sd,
    struct schema_set *const *schemas, struct loop *loop,
    struct spool_error *err)
{
	struct sigaction sa;
	struct execq *q;
	sigset_t mask;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		spool_seterr(err, "out of memory");
		return NULL;
	}
	q->conf = conf;
	q->store = store;
	q->sd = sd;
	q->schemas = schemas;
	q->loop = loop;
	q->chldfd = -1;
	if ((q->root = realpath(sd->root, NULL)) == NULL) {
		spool_seterr(err, "%s: %s", sd->root, strerror(errno));
		goto fail;
	}
	/* Our children must stay waitable: an inherited SIG_IGN for
	 * SIGCHLD would reap them behind our back. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	if (sigaction(SIGCHLD, &sa, NULL) == -1 ||
	    sigprocmask(SIG_BLOCK, &mask, NULL) == -1 ||
	    (q->chldfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) ==
	    -1) {
		spool_seterr(err, "SIGCHLD: %s", strerror(errno));
		goto fail;
	}
	if (loop_add(loop, q->chldfd, LOOP_EXECQ | EV_CHLD) == -1) {
		spool_seterr(err, "epoll: %s", strerror(errno));
		goto fail;
	}
	return q;
fail:
	if (q->chldfd != -1)
		(void)close(q->chldfd);
	free(q->root);
	free(q);
	return NULL;
}

void
execq_free(struct execq *q)
{
	struct job *j;
	char id[700];
	size_t i;

	if (q == NULL)
		return;
	for (i = 0; i < q->njobs; i++) {
		j = &q->jobs[i];
		if (j->state == JOB_FREE)
			continue;
		logid(id, sizeof(id), j);
		log_warn("event=exec %s status=abandoned pid=%ld reason=\"the "
		    "call stays pending and is made again at the next "
		    "start\"", id, (long)j->pid);
		job_clear(q, j);
	}
	close_fd(q, &q->chldfd);
	free(q->jobs);
	free(q->root);
	free(q);
}

void
execq_start(struct execq *q)
{
	struct spool_error err;
	struct pick pk;
	unsigned workers = q->conf->workers > 0 ? q->conf->workers : 1;
	int64_t now;
	size_t i;

	if (q->stopping || q->inhand >= workers)
		return;
	now = mono_ms();
	if (q->retry_at != 0 && q->retry_at > now)
		return;
	q->retry_at = 0;
	memset(&pk, 0, sizeof(pk));
	pk.q = q;
	pk.max = workers - q->inhand;
	if ((pk.v = calloc(pk.max, sizeof(*pk.v))) == NULL) {
		log_err("event=exec status=failed reason=\"out of memory\" "
		    "retry_in=%dms", STORE_RETRY_MS);
		q->retry_at = now + STORE_RETRY_MS;
		return;
	}
	spool_clearerr(&err);
	if (exec_pending(q->store, pick_one, &pk, &err) == -1) {
		log_err("event=exec status=failed reason=%s retry_in=%dms",
		    LOG_Q(err.msg[0] != '\0' ? err.msg : "out of memory"),
		    STORE_RETRY_MS);
		q->retry_at = now + STORE_RETRY_MS;
	}
	/* What was picked before an error still starts; nothing once the
	 * daemon is told to stop (SIGTERM may come while we start them). */
	for (i = 0; i < pk.n; i++) {
		if (!q->stopping && q->stop_asked != NULL &&
		    q->stop_asked(q->stop_arg))
			q->stopping = true;
		if (q->stopping)
			pend_free(&pk.v[i]);
		else
			start_call(q, &pk.v[i]);
	}
	free(pk.v);
}

void
execq_event(struct execq *q, uint64_t data, uint32_t events)
{
	struct job *j;
	size_t slot = (size_t)((data & 0xffffffffU) >> 2);
	uint32_t gen = (uint32_t)(data >> 32) & GEN_MASK;

	(void)events;
	if ((data & 3) == EV_CHLD) {
		children_ended(q);
		return;
	}
	if (slot >= q->njobs)
		return;
	j = &q->jobs[slot];
	if (j->state != JOB_RUNNING || j->gen != gen)
		return;		/* an event of a call that ended */
	read_err(q, j, READ_BUDGET);
}

void
execq_tick(struct execq *q)
{
	struct job *j;
	char id[700], dur[32];
	int64_t now = mono_ms();
	size_t i;

	for (i = 0; i < q->njobs; i++) {
		j = &q->jobs[i];
		if (j->state == JOB_FREE || j->deadline < 0 ||
		    j->deadline > now)
			continue;
		if (j->state == JOB_ENDED) {
			record(q, j);
			continue;
		}
		logid(id, sizeof(id), j);
		if (j->kills == 0) {
			exec_fmt_duration(dur, sizeof(dur), j->timeout_ms);
			log_warn("event=exec %s status=timeout pid=%ld "
			    "timeout=%s signal=TERM", id, (long)j->pid,
			    LOG_Q(dur));
			proc_signal_group(j->pid, SIGTERM);
			j->kills = 1;
			j->deadline = now + KILL_GRACE_MS;
		} else {
			log_warn("event=exec %s status=timeout pid=%ld "
			    "signal=KILL", id, (long)j->pid);
			proc_signal_group(j->pid, SIGKILL);
			j->kills = 2;
			j->deadline = -1;
		}
	}
}

int64_t
execq_next_timeout(struct execq *q)
{
	int64_t at = -1, now;
	size_t i;

	for (i = 0; i < q->njobs; i++)
		if (q->jobs[i].state != JOB_FREE && q->jobs[i].deadline >= 0 &&
		    (at < 0 || q->jobs[i].deadline < at))
			at = q->jobs[i].deadline;
	if (!q->stopping && q->retry_at != 0 && (at < 0 || q->retry_at < at))
		at = q->retry_at;
	if (at < 0)
		return -1;
	now = mono_ms();
	return at > now ? at - now : 0;
}

void
execq_stop_when(struct execq *q, bool (*asked)(void *), void *arg)
{
	q->stop_asked = asked;
	q->stop_arg = arg;
}

void
execq_stop(struct execq *q)
{
	q->stopping = true;
}

unsigned
execq_running(const struct execq *q)
{
	return q->running;
}

bool
execq_idle(const struct execq *q)
{
	return q->inhand == 0 && q->retry_at == 0;
}

unsigned
execq_take_completed(struct execq *q)
{
	unsigned n = q->completed;

	q->completed = 0;
	return n;
}
