/*
 * exec.c - the exec handler: an external program per message (DESIGN 7).
 *
 * Inside the cycle's transaction the handler only decides that the
 * message goes out: an order message of an existing order is first
 * checked by the orders life cycle and written as a pending revision
 * (orders_external), then the call is written pending (exec_store.c),
 * the answer is CYCLE_EXTERNAL and the cycle makes the message wait.
 * spoold's runner (spoold/execq.c) spawns, reaps and times the
 * program; what the call means is here: the SPOOLD_* environment it is
 * given, the exit-code policy (0 done, 75 temporary, a timeout
 * temporary, anything else permanent), and the end of the call
 * (exec_finish and exec_call_record, through cycle_complete() and
 * handler_external), which lets the orders decide their pending
 * revision and records the call valid or invalid.
 *
 * At least once: a pending call found at start-up is made again with the
 * same SPOOLD_MESSAGE_ID and SPOOLD_ATTEMPT, so a program keys its
 * effects on them.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>

#include "exec.h"
#include "exec_store.h"
#include "handler.h"

extern char **environ;

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


void
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

int
exec_env_build(struct exec_env *e, const struct exec_call *j)
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

void
exec_fmt_duration(char *buf, size_t len, uint64_t ms)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%" PRIu64 " s", ms / 1000);
	else
		snprintf(buf, len, "%" PRIu64 " ms", ms);
}


enum cycle_result
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
