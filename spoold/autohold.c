/*
 * autohold.c - after a reload, let go what spoold held for a mistake on
 * our side that the new configuration (or the admin meanwhile) fixed
 * (DESIGN 18).
 *
 * spoold holds a message by itself, with a cause, when it fails because
 * of our side rather than the partner's: "route" (no route for its type),
 * "external" (its exec command could not be started: missing, not
 * executable), "unreadable" (an upload spoold may not read). After a
 * SIGHUP each held message's cause is looked at again, as the cycle, the
 * exec runner and acceptance would meet it: a route for the type now, a
 * command that posix_spawnp would find and may execute (cmdcheck), a
 * file spoold can open. Those fixed are released through the lever
 * (lever_release()), in ID order, so each transaction goes on in order;
 * the others stay held, and nothing is logged again for them.
 */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "autohold.h"
#include "cmdcheck.h"
#include "lever.h"
#include "log.h"
#include "store_cycle.h"

/* Is the cause of w (held by spoold) gone? */
static bool
fixed(const struct cycle_ctx *ctx, const struct store_work *w)
{
	const struct conf_route *r;
	int fd;

	if (strcmp(w->hold_cause, "unreadable") == 0) {
		fd = openat(ctx->sd->state_fd[ST_HELD], w->file_name, O_RDONLY |
		    O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd == -1)
			return false;
		close(fd);
		return true;
	}
	r = conf_route(ctx->conf, w->type != NULL ? w->type : "");
	if (strcmp(w->hold_cause, "route") == 0)
		return r != NULL;
	if (strcmp(w->hold_cause, "external") == 0) {
		if (r == NULL)
			return false;
		if (r->handler == NULL || strcmp(r->handler, "exec") != 0)
			return true;
		return r->argv != NULL && r->argv[0] != NULL &&
		    cmdcheck_command(r->argv[0]) == 0;
	}
	return true;	/* a cause this spoold does not know: try again */
}

int
autohold_release_fixed(struct cycle_ctx *ctx, struct spool_error *err)
{
	struct store_work *v = NULL;
	size_t n, i;
	int64_t k, total = 0;
	int rc = 0;

	if (store_held(ctx->store, 0, NULL, NULL, "*", &v, &n, err) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (rc == 0 && fixed(ctx, &v[i])) {
			if (lever_release(ctx, v[i].id, NULL, NULL, "*",
			    "spoold", "the cause was fixed (reload)", &k,
			    err) == -1)
				rc = -1;
			else
				total += k;
		}
		store_work_free(&v[i]);
	}
	free(v);
	if (total > 0)
		log_notice("event=release cause=fixed messages=%" PRId64,
		    total);
	return rc == -1 ? -1 : (int)total;
}
