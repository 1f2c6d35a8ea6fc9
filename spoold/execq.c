/*
 * execq.c - spoold's process runner: one child process per program it
 * is asked to run, watched through the daemon's event loop (loop.c).
 * What a program is for, which one runs when, and what its end means
 * are the caller's (the exec handler, handlers/exec.c): the runner
 * spawns, watches, times out and reaps, and tells how it ended.
 *
 * A program is started with posix_spawnp (proc.c: fork and execve in
 * one, with execvp's PATH lookup; no shell), stdin the caller's
 * descriptor, stdout /dev/null, stderr a pipe that is read whenever
 * epoll says so, keeping only the last PROC_TAIL_MAX bytes (a flood
 * costs CPU, never memory or a stall), a process group of its own, so
 * that a timeout reaches what it started, default signal dispositions
 * and an empty signal mask. Its end is seen through a signalfd for
 * SIGCHLD in the same epoll (SIGCHLD is blocked in the daemon; a SIGCHLD
 * says that some child ended, so each running program is asked with
 * waitid; pidfd_open(2) would do too, but valgrind and older kernels
 * lack it). A timeout sends SIGTERM to the group, then SIGKILL after
 * KILL_GRACE_MS; the group is killed again before the program is
 * reaped, while its ID cannot be reused.
 *
 * The caller's callback is called once per program, after its slot is
 * free again, from execq_event() or execq_tick() (never from
 * execq_spawn(), so a caller need not guard against re-entry there).
 *
 * Crash safety: the runner keeps nothing. A program running when spoold
 * dies is the caller's to start again (the exec handler's calls stay
 * pending in the store until their outcome is recorded).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "execq.h"
#include "log.h"
#include "proc.h"

#define REASON_BYTES	500		/* of stderr, at most this in a tail */
#define KILL_GRACE_MS	2000		/* SIGTERM, then SIGKILL after this */
#define READ_BUDGET	(256 * 1024)	/* stderr bytes read per event */
#define DRAIN_BUDGET	(1024 * 1024)	/* read at most at the program's end */
#define GEN_MASK	0x7fffffffU

struct job {
	bool		 used;
	uint32_t	 gen;		/* tells stale epoll events apart */
	char		*who;		/* for the log */
	pid_t		 pid;		/* also the process group */
	int		 errfd;		/* -1 once at EOF */
	int64_t		 deadline;	/* monotonic ms, -1: none */
	uint64_t	 timeout_ms;
	int		 kills;		/* 0; 1 SIGTERM sent; 2 SIGKILL sent */
	struct proc_tail err;		/* the end of stderr */
	execq_ended_fn	 ended;
	void		*arg;
};

struct execq {
	struct loop	*loop;		/* the daemon's */
	int		 chldfd;	/* signalfd for SIGCHLD */
	struct job	*jobs;
	size_t		 njobs;		/* slots allocated */
	unsigned	 running;
	uint32_t	 gen;
};

enum { EV_ERR = 1, EV_CHLD = 2 };

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

static void
close_fd(struct execq *q, int *fd, const char *who)
{
	if (*fd == -1)
		return;
	/* Not registered yet is fine: the close is what matters. */
	loop_del(q->loop, *fd);
	if (close(*fd) == -1 && errno != EINTR)
		log_warn("event=exec %s status=close reason=%s", who,
		    LOG_Q(strerror(errno)));
	*fd = -1;
}

static void
job_clear(struct execq *q, struct job *j)
{
	close_fd(q, &j->errfd, j->who);
	free(j->who);
	memset(j, 0, sizeof(*j));
	j->errfd = -1;
	j->pid = -1;
}

/* A free slot, growing the table if needed; NULL when out of memory. */
static struct job *
job_alloc(struct execq *q, size_t *slot)
{
	struct job *v;
	size_t i, n;

	for (i = 0; i < q->njobs; i++)
		if (!q->jobs[i].used)
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
	q->jobs[i].used = true;
	q->jobs[i].deadline = -1;
	q->jobs[i].gen = ++q->gen & GEN_MASK;
	return &q->jobs[i];
}

/* Read stderr until it is empty, at EOF (then closed), or budget bytes. */
static void
read_err(struct execq *q, struct job *j, size_t budget)
{
	char buf[16384];
	size_t got = 0;
	ssize_t n;

	while (j->errfd != -1 && got < budget) {
		n = read(j->errfd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n == -1)
			log_warn("event=exec %s status=stderr reason=%s",
			    j->who, LOG_Q(strerror(errno)));
		if (n <= 0) {
			close_fd(q, &j->errfd, j->who);
			return;
		}
		proc_tail_keep(&j->err, buf, (size_t)n);
		got += (size_t)n;
	}
}

/* Kill and reap a program we cannot watch (it ran for no time). */
static void
abandon(pid_t pid)
{
	int st;

	proc_signal_group(pid, SIGKILL);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
}

int
execq_spawn(void *arg, char *const argv[], char *const envp[], int in,
    uint64_t timeout_ms, const char *who, execq_ended_fn ended, void *carg,
    char *why, size_t whylen)
{
	struct execq *q = arg;
	struct job *j;
	size_t slot;
	int pfd[2] = { -1, -1 }, dupin = -1, rc = -1, e;

	if ((j = job_alloc(q, &slot)) == NULL || (j->who = strdup(who)) ==
	    NULL) {
		snprintf(why, whylen, "out of memory");
		if (j != NULL)
			job_clear(q, j);
		return -1;
	}
	j->ended = ended;
	j->arg = carg;
	j->timeout_ms = timeout_ms;
	/* A copy of in clear of 0-2, which the child's dup2s overwrite. */
	if ((dupin = fcntl(in, F_DUPFD_CLOEXEC, 3)) == -1 ||
	    pipe2(pfd, O_CLOEXEC) == -1 || proc_above_stdio(&pfd[0]) == -1 ||
	    proc_above_stdio(&pfd[1]) == -1 ||
	    fcntl(pfd[0], F_SETFL, O_NONBLOCK) == -1) {
		snprintf(why, whylen, "cannot make a pipe for stderr: %s",
		    strerror(errno));
		goto fail;
	}
	if ((rc = proc_spawn(&j->pid, argv, envp, dupin, pfd[1])) != 0) {
		j->pid = -1;
		goto fail;
	}
	(void)close(pfd[1]);
	pfd[1] = -1;
	j->errfd = pfd[0];
	pfd[0] = -1;
	if (loop_add(q->loop, j->errfd, ev_data(j, slot, EV_ERR)) == -1) {
		e = errno;
		abandon(j->pid);
		snprintf(why, whylen, "cannot watch the program's stderr: %s",
		    strerror(e));
		rc = -1;
		goto fail;
	}
	q->running++;
	/* An end before this point is noted by the pending SIGCHLD. */
	j->deadline = mono_ms() + (int64_t)timeout_ms;
	log_debug("event=exec %s status=started pid=%ld", j->who,
	    (long)j->pid);
	(void)close(dupin);
	return 0;
fail:
	if (dupin != -1)
		(void)close(dupin);
	if (pfd[0] != -1)
		(void)close(pfd[0]);
	if (pfd[1] != -1)
		(void)close(pfd[1]);
	job_clear(q, j);
	return rc;
}

/* Has the program of j ended? Then reap it and tell its caller. */
static void
reap(struct execq *q, struct job *j)
{
	siginfo_t si;
	char tail[REASON_BYTES + 8], lost[200];
	execq_ended_fn ended;
	void *arg;
	pid_t r;
	int status = 0, e;
	bool timed_out;

	/* Look first, leaving a zombie: its group ID stays ours. */
	memset(&si, 0, sizeof(si));
	while ((r = waitid(P_PID, (id_t)j->pid, &si, WEXITED | WNOHANG |
	    WNOWAIT)) == -1 && errno == EINTR)
		;
	if (r == 0 && si.si_pid == 0)
		return;		/* still running */
	/* A timed-out program: what it started goes with it. */
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
	if (r == -1) {
		log_err("event=exec %s status=wait reason=%s", j->who,
		    LOG_Q(strerror(e)));
		snprintf(lost, sizeof(lost), "cannot learn how the program "
		    "ended: %s", strerror(e));
	}
	proc_tail_reason(&j->err, REASON_BYTES, tail, sizeof(tail));
	ended = j->ended;
	arg = j->arg;
	timed_out = j->kills > 0;
	job_clear(q, j);
	ended(arg, status, timed_out, tail, r == -1 ? lost : NULL);
}

/* SIGCHLD: some child ended. Empty the signalfd, then ask each one. */
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
	/* A callback may spawn and grow the table: index, not pointer. */
	for (i = 0; i < q->njobs; i++)
		if (q->jobs[i].used && q->jobs[i].pid > 0)
			reap(q, &q->jobs[i]);
}

struct execq *
execq_new(struct loop *loop, struct spool_error *err)
{
	struct sigaction sa;
	struct execq *q;
	sigset_t mask;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		spool_seterr(err, "out of memory");
		return NULL;
	}
	q->loop = loop;
	q->chldfd = -1;
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
	free(q);
	return NULL;
}

void
execq_free(struct execq *q)
{
	size_t i;

	if (q == NULL)
		return;
	for (i = 0; i < q->njobs; i++)
		if (q->jobs[i].used)
			job_clear(q, &q->jobs[i]);
	close_fd(q, &q->chldfd, "fd=sigchld");
	free(q->jobs);
	free(q);
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
	if (!j->used || j->gen != gen)
		return;		/* an event of a program that ended */
	read_err(q, j, READ_BUDGET);
}

void
execq_tick(struct execq *q)
{
	struct job *j;
	char dur[32];
	int64_t now = mono_ms();
	size_t i;

	for (i = 0; i < q->njobs; i++) {
		j = &q->jobs[i];
		if (!j->used || j->deadline < 0 || j->deadline > now)
			continue;
		if (j->kills == 0) {
			if (j->timeout_ms % 1000 == 0)
				snprintf(dur, sizeof(dur), "%" PRIu64 " s",
				    j->timeout_ms / 1000);
			else
				snprintf(dur, sizeof(dur), "%" PRIu64 " ms",
				    j->timeout_ms);
			log_warn("event=exec %s status=timeout pid=%ld "
			    "timeout=%s signal=TERM", j->who, (long)j->pid,
			    LOG_Q(dur));
			proc_signal_group(j->pid, SIGTERM);
			j->kills = 1;
			j->deadline = now + KILL_GRACE_MS;
		} else {
			log_warn("event=exec %s status=timeout pid=%ld "
			    "signal=KILL", j->who, (long)j->pid);
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
		if (q->jobs[i].used && q->jobs[i].deadline >= 0 &&
		    (at < 0 || q->jobs[i].deadline < at))
			at = q->jobs[i].deadline;
	if (at < 0)
		return -1;
	now = mono_ms();
	return at > now ? at - now : 0;
}

unsigned
execq_running(const struct execq *q)
{
	return q->running;
}
