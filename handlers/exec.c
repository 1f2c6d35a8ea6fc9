/*
 * exec.c - the exec handler: an external program per message (DESIGN 7).
 *
 * Inside the cycle's transaction the handler only decides that the
 * message goes out: an order message of an existing order is first
 * checked by the orders life cycle and written as a pending revision
 * (orders_external), then the call is written pending (exec_store.c),
 * the answer is CYCLE_EXTERNAL and the cycle makes the message wait; it
 * stays in its directory and is not ready while it waits.
 *
 * Outside it (exec_calls_*) the handler makes those calls: it lists them
 * (exec_pending), oldest first, and starts one while fewer than
 * `workers' are in hand, never two for one (partner, transaction). (The
 * sequencer makes a transaction's next message ready only after this
 * one is done; the check keeps order even so.) Running the process --
 * spawn, stderr tail, timeout, reap -- is the runner's that the program
 * hands in (spoold/execq.c). What the call means is here: its stdin,
 * its SPOOLD_* environment (ours minus SPOOLD_*, NOTIFY_SOCKET and
 * WATCHDOG_*), the exit-code policy (0 done, 75 temporary, a timeout
 * temporary, anything else permanent), and its end, told to the
 * cycle's generic end of an external call, cycle_complete(): it makes
 * the message done (releasing its successor), deferred or failed, and
 * calls back this handler's finish (the orders decide their pending
 * revision) and exec_call_record (valid or invalid) through
 * handler_external.
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
 * A route with input = xml gives an EDIFACT or X12 message as its XML
 * tree (edi_message_tree, made from the verified bytes) instead; an XML
 * message is its document either way.
 * SPOOLD_OUTBOUND is an empty private file <spool>/.outbound.<id>.<attempt>
 * for the messages the program wants sent: read only after exit 0,
 * stamped and recorded by cycle_complete() with the outcome, then
 * removed.
 *
 * Crash safety: the pending row is committed before the program starts
 * and turns valid or invalid only in cycle_complete()'s commit after the
 * program ended. A crash at any point in between leaves it pending, and
 * the next start lists it again and makes the call again, with the same
 * SPOOLD_MESSAGE_ID and SPOOLD_ATTEMPT: at least once, never lost (a
 * program keys its effects on them). When recording an outcome fails,
 * the call stays in hand (its transaction stays blocked) and recording
 * is retried; this process does not run the program again for it.
 *
 * Why one file of some 830 lines: it is one call's life -- listed,
 * given its input (the sealed copy, the XML form, the environment and
 * the outbound file), started, ended and recorded -- and every step
 * reads and writes struct call and struct exec_calls; the store's side
 * is exec_store.c, the process itself the runner's (spoold/execq.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <libxml/tree.h>

#include "edi.h"
#include "exec.h"
#include "exec_store.h"
#include "handler.h"
#include "log.h"
#include "readfile.h"

#define REASON_MAX	564		/* a reason: 500 bytes of stderr and
					 * what is said around them */
#define STORE_RETRY_MS	1000		/* after a store error */

extern char **environ;

/* A call in hand: its program runs, or its outcome is to be recorded. */
struct call {
	struct call	*next;
	struct exec_calls *q;
	bool		 picked;	/* listed, not started yet */
	bool		 ended;		/* the program ended (or never ran) */
	int64_t		 id;		/* SPOOLD_MESSAGE_ID */
	int		 attempt;	/* SPOOLD_ATTEMPT */
	char		*partner;
	char		*type;
	char		*tx;		/* NULL outside transactions */
	int64_t		 seq;
	char		*outpath;	/* SPOOLD_OUTBOUND, NULL: none yet */
	char		*dialect;	/* SPOOLD_DIALECT; NULL: native */
	bool		 test;		/* SPOOLD_TEST=1 */
	int		 state;		/* enum spool_state: where its file
					 * lies */
	char		*file_name;
	bool		 has_sha256;	/* digest recorded at acceptance */
	uint8_t		 sha256[32];
	uint64_t	 timeout_ms;
	int64_t		 started;	/* store_now_ms() */
	int64_t		 retry_at;	/* record again (store_now_ms()), -1 */
	bool		 unrecorded;	/* its store error was logged */
	enum cycle_result result;	/* once ended */
	int		 exit_status;
	char		 reason[REASON_MAX];
	char		 who[700];	/* its identity, for the log */
};

struct exec_calls {
	const struct conf	*conf;
	struct schema_set *const *schemas;	/* the daemon's, reloaded */
	struct store		*store;
	struct spooldir		*sd;
	struct exec_runner	 runner;
	char			*root;		/* the spool, absolute */
	struct call		*calls;		/* in hand */
	unsigned		 inhand;
	unsigned		 workers;	/* conf's, at this start */
	unsigned		 completed;
	int64_t			 retry_at;	/* store_now_ms(), 0: none */
	bool			 stopping;
	bool			(*stop_asked)(void *);	/* NULL: never */
	void			*stop_arg;
};

/* The environment of one call: environ's entries, then our own. */
struct exec_env {
	char		**v;
	size_t		 own;		/* v[own..] are ours to free */
};

static enum cycle_result
exec_apply(struct store *s, const struct router *r,
    const struct conf_route *route, const struct cycle_msg *m, char *reason,
    size_t reasonlen)
{
	struct spool_error err;
	enum cycle_result res;

	/* An order message of an existing order: a pending revision. */
	res = orders_external(s, r, route, m, reason, reasonlen);
	if (res != CYCLE_EXTERNAL)
		return res;
	/* The call, pending; the cycle makes its message wait. */
	spool_clearerr(&err);
	if (exec_call_start(s, m->work->id, m->attempt, &err) == -1) {
		snprintf(reason, reasonlen, "%s", err.msg);
		return CYCLE_TEMPORARY;
	}
	return CYCLE_EXTERNAL;
}

static int
exec_finish(struct store *s, const struct store_work *w, bool ok,
    struct spool_error *err)
{
	/* Its pending order revision, if it wrote one. */
	return orders_finish(s, w, ok, err);
}

const struct handler exec_handler = {
	.name = "exec",
	.apply = exec_apply,
	.finish = exec_finish,
};


static void
exec_env_free(struct exec_env *e)
{
	size_t i;

	if (e->v == NULL)
		return;
	for (i = e->own; e->v[i] != NULL; i++)
		free(e->v[i]);
	free(e->v);
	e->v = NULL;
}

static int
exec_env_build(struct exec_env *e, const struct call *j)
{
	size_t n, i, k = 0;
	int rc = 0;

	for (n = 0; environ[n] != NULL; n++)
		;
	if ((e->v = calloc(n + 11, sizeof(*e->v))) == NULL)
		return -1;
	/* Ours, not the program's: SPOOLD_* (set below), and systemd's
	 * notify socket and watchdog, which speak for the main process. */
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "SPOOLD_", 7) != 0 &&
		    strncmp(environ[i], "NOTIFY_SOCKET=", 14) != 0 &&
		    strncmp(environ[i], "WATCHDOG_", 9) != 0)
			e->v[k++] = environ[i];
	e->own = k;
	if (asprintf(&e->v[k++], "SPOOLD_MESSAGE_ID=%" PRId64, j->id) == -1)
		rc = -1;
	else if (asprintf(&e->v[k++], "SPOOLD_PARTNER=%s", j->partner) == -1)
		rc = -1;
	else if (asprintf(&e->v[k++], "SPOOLD_TYPE=%s", j->type) == -1)
		rc = -1;
	else if (asprintf(&e->v[k++], "SPOOLD_TRANSACTION_ID=%s",
	    j->tx != NULL ? j->tx : "") == -1)
		rc = -1;
	else if (j->tx != NULL ? asprintf(&e->v[k++], "SPOOLD_SEQUENCE=%"
	    PRId64, j->seq) == -1 : asprintf(&e->v[k++],
	    "SPOOLD_SEQUENCE=") == -1)
		rc = -1;
	else if (asprintf(&e->v[k++], "SPOOLD_ATTEMPT=%d", j->attempt) == -1)
		rc = -1;
	else if ((e->v[k++] = strdup("SPOOLD_FILE=/dev/stdin")) == NULL)
		rc = -1;
	else if (asprintf(&e->v[k++], "SPOOLD_OUTBOUND=%s", j->outpath) == -1)
		rc = -1;
	else if (asprintf(&e->v[k++], "SPOOLD_DIALECT=%s", j->dialect !=
	    NULL ? j->dialect : "native") == -1)
		rc = -1;
	else if (asprintf(&e->v[k++], "SPOOLD_TEST=%d", j->test ? 1 : 0) ==
	    -1)
		rc = -1;
	if (rc == -1) {
		/* asprintf leaves the failed slot undefined. */
		e->v[k - 1] = NULL;
		exec_env_free(e);
	}
	return rc;
}

static void
exec_fmt_duration(char *buf, size_t len, uint64_t ms)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%" PRIu64 " s", ms / 1000);
	else
		snprintf(buf, len, "%" PRIu64 " ms", ms);
}


static enum cycle_result
exec_judge(int status, bool timed_out, uint64_t timeout_ms, const char *tail,
    int *exit_status, char *reason, size_t len)
{
	char dur[32];

	if (WIFEXITED(status))
		*exit_status = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		*exit_status = 128 + WTERMSIG(status);
	else
		*exit_status = -1;
	if (timed_out) {
		exec_fmt_duration(dur, sizeof(dur), timeout_ms);
		snprintf(reason, len, "timed out after %s%s%s", dur,
		    tail[0] != '\0' ? ": " : "", tail);
		return CYCLE_TEMPORARY;
	}
	if (WIFEXITED(status)) {
		if (tail[0] != '\0')
			snprintf(reason, len, "%s", tail);
		else
			snprintf(reason, len, "exited with status %d",
			    *exit_status);
		return *exit_status == 0 ? CYCLE_OK :
		    *exit_status == EX_TEMPFAIL ? CYCLE_TEMPORARY :
		    CYCLE_PERMANENT;
	}
	if (tail[0] != '\0')
		snprintf(reason, len, "%s", tail);
	else
		snprintf(reason, len, "killed by signal %d",
		    WIFSIGNALED(status) ? WTERMSIG(status) : -1);
	return CYCLE_PERMANENT;
}


/* The call's identity in a log line, as the cycle's (cycle.c). */
static void
logid(struct call *c)
{
	if (c->tx != NULL)
		snprintf(c->who, sizeof(c->who), "id=%" PRId64 " partner=%s "
		    "tx=%s seq=%" PRId64 " type=%s attempt=%d", c->id,
		    LOG_Q(c->partner), LOG_Q(c->tx), c->seq, LOG_Q(c->type),
		    c->attempt);
	else
		snprintf(c->who, sizeof(c->who), "id=%" PRId64 " partner=%s "
		    "type=%s attempt=%d", c->id, LOG_Q(c->partner),
		    LOG_Q(c->type), c->attempt);
}

static void
call_free(struct exec_calls *q, struct call *c)
{
	struct call **pp;

	for (pp = &q->calls; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			q->inhand--;
			break;
		}
	free(c->partner);
	free(c->tx);
	free(c->type);
	free(c->outpath);
	free(c->file_name);
	free(c->dialect);
	free(c);
}

/* Is this message, or another of its transaction, in hand already? */
static bool
busy(const struct exec_calls *q, int64_t id, const char *partner,
    const char *tx)
{
	const struct call *c;

	for (c = q->calls; c != NULL; c = c->next) {
		if (c->id == id)
			return true;
		if (tx != NULL && c->tx != NULL && strcmp(c->tx, tx) == 0 &&
		    strcmp(c->partner, partner) == 0)
			return true;
	}
	return false;
}

/* exec_pending's callback: take calls that may start now, in hand. */
static int
pick_one(void *arg, const struct exec_pending_call *p)
{
	struct exec_calls *q = arg;
	struct call *c;

	if (busy(q, p->id, p->partner, p->transaction_id))
		return 0;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	c->next = q->calls;
	q->calls = c;
	q->inhand++;
	c->q = q;
	c->picked = true;
	c->id = p->id;
	c->attempt = p->attempt;
	c->state = p->state;
	c->seq = p->sender_seq;
	c->retry_at = -1;
	c->has_sha256 = p->has_sha256;
	memcpy(c->sha256, p->sha256, sizeof(c->sha256));
	c->partner = strdup(p->partner);
	c->type = strdup(p->type);
	c->file_name = strdup(p->file_name);
	if (p->transaction_id != NULL)
		c->tx = strdup(p->transaction_id);
	if (p->dialect != NULL)
		c->dialect = strdup(p->dialect);
	c->test = p->test;
	if (c->partner == NULL || c->type == NULL || c->file_name == NULL ||
	    (p->transaction_id != NULL && c->tx == NULL) ||
	    (p->dialect != NULL && c->dialect == NULL)) {
		call_free(q, c);
		return -1;
	}
	logid(c);
	return q->inhand >= q->workers ? 1 : 0;
}

/*
 * What the program wrote to SPOOLD_OUTBOUND: 0 (*buf malloc'd, or NULL
 * when empty), or -1 with c's outcome made a permanent failure.
 */
static int
read_outbound(struct exec_calls *q, struct call *c, char **buf, size_t *len)
{
	struct spool_error err;
	struct stat st;
	char why[200];
	int fd, rc;

	*buf = NULL;
	*len = 0;
	memset(&st, 0, sizeof(st));
	/* The program controls this path: never block, never follow. */
	fd = open(c->outpath, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	if (fd == -1 && errno == ENOENT)
		return 0;	/* the program removed it: nothing to send */
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(c->reason, sizeof(c->reason), "the program exited 0, "
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
		snprintf(c->reason, sizeof(c->reason), "the program exited 0, "
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
	c->result = CYCLE_PERMANENT;
	return -1;
}

/*
 * Record the outcome through the cycle's generic end of an external call
 * (cycle_complete(), which calls this handler's finish back through
 * handler_external); on failure keep it and retry later.
 */
static void
record(struct exec_calls *q, struct call *c)
{
	struct cycle_ctx ctx = { q->conf, q->store, q->sd, NULL, NULL,
	    q->schemas != NULL ? *q->schemas : NULL, &handler_external, NULL,
	    NULL, NULL };
	struct spool_error err;
	char why[REASON_MAX + 16], *out = NULL;
	size_t outlen = 0;
	int rc;

	c->ended = true;
	spool_clearerr(&err);
	/* Its messages are sent only if it exits 0. */
	if (c->result == CYCLE_OK && c->outpath != NULL)
		(void)read_outbound(q, c, &out, &outlen);
	rc = cycle_complete(&ctx, c->id, c->attempt, c->result,
	    c->exit_status, c->result == CYCLE_OK ? NULL : c->reason, out,
	    outlen, &err);
	free(out);
	if (rc == -1) {
		/* Once, not once a second (a full disk lasts). */
		if (!c->unrecorded)
			log_err("event=exec %s status=unrecorded reason=%s "
			    "retry_in=%dms", c->who, LOG_Q(err.msg),
			    STORE_RETRY_MS);
		c->unrecorded = true;
		c->retry_at = store_now_ms() + STORE_RETRY_MS;
		return;
	}
	if (c->outpath != NULL)
		(void)unlink(c->outpath);
	if (c->result == CYCLE_OK)
		log_info("event=exec %s status=ok duration=%" PRId64 "ms",
		    c->who, store_now_ms() - c->started);
	else	/* What became of the message: deferred, failed or held. */
		log_debug("event=exec %s status=%s exit=%d duration=%" PRId64
		    "ms reason=%s", c->who, c->result == CYCLE_TEMPORARY ?
		    "temporary" : c->result == CYCLE_HOLD ? "held" :
		    "permanent", c->exit_status, store_now_ms() - c->started,
		    log_quote(why, sizeof(why), c->reason));
	q->completed++;
	call_free(q, c);
}

/* The runner's news: the program of call arg ended. */
static void
ended(void *arg, int status, bool timed_out, const char *tail,
    const char *lost)
{
	struct call *c = arg;

	if (lost != NULL) {
		c->result = CYCLE_TEMPORARY;
		c->exit_status = -1;
		snprintf(c->reason, sizeof(c->reason), "%s", lost);
	} else
		c->result = exec_judge(status, timed_out, c->timeout_ms, tail,
		    &c->exit_status, c->reason, sizeof(c->reason));
	record(c->q, c);
}

/* A call that could not run: record r with the reason at once. */
static void
no_run(struct exec_calls *q, struct call *c, enum cycle_result r,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
no_run(struct exec_calls *q, struct call *c, enum cycle_result r,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	c->result = r;
	c->exit_status = -1;
	log_warn("event=exec %s status=not_started reason=%s", c->who,
	    LOG_Q(c->reason));
	record(q, c);
}

/*
 * input = xml: an EDIFACT or X12 message as the XML tree of the EDI TREE
 * of spoold.conf(5) (edi_message_tree), into *out (xmlFree it); an XML
 * message stays as it is (*out NULL). 0, or 1 with why (permanent: the
 * file read is the one accepted, so it will not read better later).
 */
static int
xml_form(const char *buf, size_t len, xmlChar **out, int *outlen, char *why,
    size_t whylen)
{
	struct edi_interchange *ic = NULL;
	struct edi_limits lim;
	struct spool_error err;
	xmlDocPtr doc;

	*out = NULL;
	*outlen = 0;
	if (edi_detect(buf, len) == EDI_NONE)
		return 0;
	edi_limits_default(&lim);
	spool_clearerr(&err);
	if (edi_read(buf, len, &lim, &ic, &err) == -1 || ic->nmsgs == 0 ||
	    (doc = edi_message_tree(ic, 0, buf, len, &err)) == NULL) {
		snprintf(why, whylen, "input = xml: the message cannot be laid "
		    "out as its tree: %.300s", err.msg[0] != '\0' ? err.msg :
		    "no message in the interchange");
		edi_free(ic);
		return 1;
	}
	edi_free(ic);
	xmlDocDumpFormatMemoryEnc(doc, out, outlen, "UTF-8", 1);
	xmlFreeDoc(doc);
	if (*out == NULL) {
		snprintf(why, whylen, "input = xml: out of memory");
		return 1;
	}
	return 0;
}

/*
 * The program's stdin: the message file, read and checked against its
 * digest, copied into a sealed memfd at offset 0 (see the header); with
 * xml (the route's input = xml), an EDI message's tree instead. 0: *fdp
 * is open. 1: the file is not the one accepted (permanent). -1: cannot
 * now (temporary). why says what.
 */
static int
sealed_copy(struct exec_calls *q, const struct call *p, bool xml, int *fdp,
    char *why, size_t whylen)
{
	struct spool_error err;
	char name[SPOOLDIR_NAME_MAX + 16], *buf = NULL;
	xmlChar *tree = NULL;
	size_t len = 0;
	int fd, rc, ret, treelen;

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
	    whylen) != 0)
		ret = 1;
	else if (xml && (ret = xml_form(buf, len, &tree, &treelen, why,
	    whylen)) != 0)
		;
	else if (tree != NULL)
		ret = readfile_sealed((const char *)tree, (size_t)treelen, name,
		    fdp, why, whylen);
	else
		ret = readfile_sealed(buf, len, name, fdp, why, whylen);
	xmlFree(tree);
	free(buf);
	return ret;
}

/* SPOOLD_OUTBOUND: empty, private, the same name on a repeat. 0, -1. */
static int
outbound_file(struct exec_calls *q, struct call *c)
{
	int fd;

	if (asprintf(&c->outpath, "%s/.outbound.%" PRId64 ".%d", q->root,
	    c->id, c->attempt) == -1) {
		c->outpath = NULL;
		no_run(q, c, CYCLE_TEMPORARY, "out of memory");
		return -1;
	}
	/* A leftover of an earlier run may be anything the program made of
	 * it (a FIFO would block an open): remove it, create anew. */
	if (unlink(c->outpath) == -1 && errno != ENOENT && errno != EISDIR)
		log_warn("event=exec %s file=%s reason=\"cannot remove a "
		    "leftover: %s\"", c->who, LOG_Q(c->outpath),
		    strerror(errno));
	if ((fd = open(c->outpath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC, 0600)) == -1 || close(fd) == -1) {
		no_run(q, c, CYCLE_TEMPORARY, "cannot create %s: %s",
		    c->outpath, strerror(errno));
		return -1;
	}
	return 0;
}

/* Start the call c, picked; its outcome is recorded if it cannot. */
static void
start_call(struct exec_calls *q, struct call *c)
{
	const struct conf_route *route;
	struct exec_env env = { NULL, 0 };
	char why[REASON_MAX];
	int in = -1, rc;

	c->picked = false;
	c->started = store_now_ms();
	route = conf_route(q->conf, c->type);
	if (route == NULL || strcmp(route->handler, "exec") != 0 ||
	    route->argv == NULL || route->argv[0] == NULL) {
		no_run(q, c, CYCLE_TEMPORARY, "the route of type %s is no "
		    "longer exec; the next attempt follows the current "
		    "configuration", c->type);
		return;
	}
	c->timeout_ms = route->timeout_ms;
	if ((rc = sealed_copy(q, c, route->input_xml, &in, why,
	    sizeof(why))) != 0) {
		no_run(q, c, rc == 1 ? CYCLE_PERMANENT : CYCLE_TEMPORARY, "%s",
		    why);
		goto out;
	}
	if (outbound_file(q, c) == -1)
		goto out;
	if (exec_env_build(&env, c) == -1) {
		no_run(q, c, CYCLE_TEMPORARY, "out of memory");
		goto out;
	}
	rc = q->runner.spawn(q->runner.runner, route->argv, env.v, in,
	    c->timeout_ms, c->who, ended, c, why, sizeof(why));
	exec_env_free(&env);
	/*
	 * The outcome of a call that cannot start. A command missing or
	 * not executable is our mistake: held (DESIGN 18) until a SIGHUP
	 * finds it fixed, or release; told through cycle_complete() as any
	 * other outcome.
	 */
	if (rc > 0)
		no_run(q, c, rc == ENOENT || rc == EACCES || rc == ENOEXEC ||
		    rc == ENOTDIR || rc == ELOOP ? CYCLE_HOLD :
		    CYCLE_PERMANENT, "cannot execute %s: %s",
		    route->argv[0], strerror(rc));
	else if (rc == -1)
		no_run(q, c, CYCLE_TEMPORARY, "%s", why);
out:
	if (in != -1)
		(void)close(in);
}

struct exec_calls *
exec_calls_new(const struct conf *conf, struct store *store,
    struct spooldir *sd, struct schema_set *const *schemas,
    const struct exec_runner *runner, struct spool_error *err)
{
	struct exec_calls *q;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		spool_seterr(err, "out of memory");
		return NULL;
	}
	q->conf = conf;
	q->store = store;
	q->sd = sd;
	q->schemas = schemas;
	q->runner = *runner;
	if ((q->root = realpath(sd->root, NULL)) == NULL) {
		spool_seterr(err, "%s: %s", sd->root, strerror(errno));
		free(q);
		return NULL;
	}
	return q;
}

void
exec_calls_free(struct exec_calls *q)
{
	if (q == NULL)
		return;
	while (q->calls != NULL) {
		log_warn("event=exec %s status=abandoned reason=\"the call "
		    "stays pending and is made again at the next start\"",
		    q->calls->who);
		call_free(q, q->calls);
	}
	free(q->root);
	free(q);
}

/* The first call picked and not started yet, or NULL. */
static struct call *
first_picked(struct exec_calls *q)
{
	struct call *c;

	for (c = q->calls; c != NULL && !c->picked; c = c->next)
		;
	return c;
}

void
exec_calls_start(struct exec_calls *q)
{
	struct spool_error err;
	struct call *c;
	int64_t now;

	q->workers = q->conf->workers > 0 ? q->conf->workers : 1;
	if (q->stopping || q->inhand >= q->workers)
		return;
	now = store_now_ms();
	if (q->retry_at != 0 && q->retry_at > now)
		return;
	q->retry_at = 0;
	spool_clearerr(&err);
	if (exec_pending(q->store, pick_one, q, &err) == -1) {
		log_err("event=exec status=failed reason=%s retry_in=%dms",
		    LOG_Q(err.msg[0] != '\0' ? err.msg : "out of memory"),
		    STORE_RETRY_MS);
		q->retry_at = now + STORE_RETRY_MS;
	}
	/* What was picked before an error still starts; nothing once the
	 * daemon is told to stop (SIGTERM may come while we start them). */
	while ((c = first_picked(q)) != NULL) {
		if (!q->stopping && q->stop_asked != NULL &&
		    q->stop_asked(q->stop_arg))
			q->stopping = true;
		if (q->stopping)
			call_free(q, c);
		else
			start_call(q, c);
	}
}

void
exec_calls_tick(struct exec_calls *q)
{
	struct call *c, *next;
	int64_t now = store_now_ms();

	for (c = q->calls; c != NULL; c = next) {
		next = c->next;
		if (c->ended && c->retry_at >= 0 && c->retry_at <= now)
			record(q, c);
	}
}

int64_t
exec_calls_next_timeout(struct exec_calls *q)
{
	const struct call *c;
	int64_t at = -1, now;

	for (c = q->calls; c != NULL; c = c->next)
		if (c->ended && c->retry_at >= 0 && (at < 0 ||
		    c->retry_at < at))
			at = c->retry_at;
	if (!q->stopping && q->retry_at != 0 && (at < 0 || q->retry_at < at))
		at = q->retry_at;
	if (at < 0)
		return -1;
	now = store_now_ms();
	return at > now ? at - now : 0;
}

void
exec_calls_stop_when(struct exec_calls *q, bool (*asked)(void *), void *arg)
{
	q->stop_asked = asked;
	q->stop_arg = arg;
}

void
exec_calls_stop(struct exec_calls *q)
{
	q->stopping = true;
}

bool
exec_calls_idle(const struct exec_calls *q)
{
	return q->inhand == 0 && q->retry_at == 0;
}

unsigned
exec_calls_take_completed(struct exec_calls *q)
{
	unsigned n = q->completed;

	q->completed = 0;
	return n;
}
