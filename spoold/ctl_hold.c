/*
 * ctl_hold.c - spoolctl hold, release and delete (DESIGN 18): an admin
 * stops messages (one by one, IDs from the arguments or standard input,
 * or a whole transaction), lets them go on, or removes rejected, failed
 * and held ones for good, recording who and why.
 *
 * Each runs through the levers (lever_hold(), lever_release()): one
 * write transaction per message or transaction, COMMIT, then the
 * renames; a crash in between is finished by start-up reconciliation.
 * spoold is woken (SIGUSR1) when something moved.
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

const char *
ctl_user(char *buf, size_t len)
{
	struct passwd *pw;

	if ((pw = getpwuid(getuid())) != NULL)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %ld", (long)getuid());
	return buf;
}

void
ctl_tell_daemon(struct ctl *c)
{
	pid_t pid = 0;

	if (ctl_signal_daemon(c, SIGUSR1, &pid) == -1)
		fprintf(stderr, "spoolctl: cannot tell spoold (pid %ld): %s; "
		    "it acts at its next wake-up\n", (long)pid,
		    strerror(errno));
}

/* hold and release share their command line and their course. */
struct holdcmd {
	const char	*name;		/* "hold", "release" */
	const char	*usage;
	const char	*past;		/* "held", "released" */
	const char	*none;		/* what "nothing to do" means */
	bool		 need_reason;
};

static int
lever(struct ctl *c, const struct holdcmd *hc, int64_t id,
    const char *partner, const char *tx, const char *user, const char *why,
    int64_t *n, struct spool_error *err)
{
	struct cycle_ctx ctx = { &c->conf, &c->store, &c->sd, NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL };

	if (hc->need_reason)
		return lever_hold(&ctx, id, partner, tx, user, why, NULL, n,
		    err);
	return lever_release(&ctx, id, partner, tx, NULL, user, why, n, err);
}

static int
run(struct ctl *c, const struct holdcmd *hc, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tx", no_argument, NULL, 't' },
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	const char *partner = NULL, *tx = NULL, *why = NULL;
	struct spool_error err;
	char user[128];
	bool by_tx = false;
	int64_t *ids = NULL, n, total = 0;
	size_t nids = 0, i, missed = 0;
	int ch, rc;

	optind = 0;
	/* Options may follow the arguments; a lone "-" (IDs on standard
	 * input) is an argument to getopt too. */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 't')
			by_tx = true;
		else if (ch == 'r')
			why = optarg;
		else
			return fail(EX_USAGE, "%s", hc->usage);
	}
	argc -= optind;
	argv += optind;
	if (hc->need_reason && (why == NULL || why[0] == '\0'))
		return fail(EX_USAGE, "%s", hc->usage);
	if (by_tx && argc == 2) {
		partner = argv[0];
		tx = argv[1];
	} else if (!by_tx && argc >= 1) {
		if ((rc = ctl_read_ids(hc->name, argc, argv, &ids, &nids)) !=
		    EX_OK)
			return rc;
	} else
		return fail(EX_USAGE, "%s", hc->usage);
	if ((rc = need_spooldir(c)) != EX_OK) {
		free(ids);
		return rc;
	}
	ctl_user(user, sizeof(user));
	spool_clearerr(&err);
	if (c->json) {
		jd_object(&c->j);
		jd_key(&c->j, "not_done");
		jd_array(&c->j);
	}
	if (nids == 0) {
		if (lever(c, hc, 0, partner, tx, user, why, &total, &err) == -1)
			return store_fail(c, &err);
		if (total == 0)
			return fail(EX_DATAERR, "nothing to %s: %s in "
			    "transaction %s of %s", hc->name, hc->none, tx,
			    partner);
	}
	/* One ID after the other, each in its own transaction. */
	for (i = 0; i < nids; i++) {
		if (lever(c, hc, ids[i], NULL, NULL, user, why, &n, &err) ==
		    -1) {
			free(ids);
			if (total > 0)
				ctl_tell_daemon(c);
			return store_fail(c, &err);
		}
		total += n;
		if (n == 0) {
			missed++;
			fprintf(stderr, "spoolctl: nothing to %s: message %"
			    PRId64 " is not one %s\n", hc->name, ids[i],
			    hc->none);
			if (c->json)
				jd_int(&c->j, ids[i]);
		}
	}
	free(ids);
	if (total > 0)
		ctl_tell_daemon(c);
	rc = missed > 0 ? EX_DATAERR : EX_OK;
	if (c->json) {
		jd_array_end(&c->j);
		jd_kint(&c->j, hc->past, total);
		jd_kstr(&c->j, "user", user);
		jd_kstr(&c->j, "reason", why);
		jd_object_end(&c->j);
		return finish_json(c, rc);
	}
	printf("%s: %" PRId64 " message%s %s by %s\n", hc->name, total,
	    total == 1 ? "" : "s", hc->past, user);
	return rc;
}

int
cmd_hold(struct ctl *c, int argc, char **argv)
{
	static const struct holdcmd hc = {
		"hold",
		"usage: spoolctl hold MSGID... | hold - | hold --tx PARTNER ID"
		" (each with --reason TEXT)",
		"held",
		"not done yet (queued, parked, deferred or failed; no exec "
		"call running)",
		true
	};

	return run(c, &hc, argc, argv);
}

int
cmd_release(struct ctl *c, int argc, char **argv)
{
	static const struct holdcmd hc = {
		"release",
		"usage: spoolctl release MSGID... | release - | release --tx "
		"PARTNER ID [--reason TEXT]",
		"released",
		"held",
		false
	};

	return run(c, &hc, argc, argv);
}

int
cmd_delete(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct cycle_ctx ctx = { &c->conf, &c->store, &c->sd, NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL };
	const char *usage_text = "usage: spoolctl delete MSGID... | delete - "
	    "(each with --reason TEXT)";
	const char *why = NULL;
	struct spool_error err;
	char user[128];
	int64_t *ids = NULL, total = 0;
	size_t nids = 0, i, missed = 0;
	int ch, rc, done;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'r')
			why = optarg;
		else
			return fail(EX_USAGE, "%s", usage_text);
	}
	argc -= optind;
	argv += optind;
	if (why == NULL || why[0] == '\0' || argc < 1)
		return fail(EX_USAGE, "%s", usage_text);
	if ((rc = ctl_read_ids("delete", argc, argv, &ids, &nids)) != EX_OK)
		return rc;
	if ((rc = need_spooldir(c)) != EX_OK) {
		free(ids);
		return rc;
	}
	ctl_user(user, sizeof(user));
	spool_clearerr(&err);
	if (c->json) {
		jd_object(&c->j);
		jd_key(&c->j, "not_deleted");
		jd_array(&c->j);
	}
	for (i = 0; i < nids; i++) {
		if (lever_delete(&ctx, ids[i], user, why, &done, &err) == -1) {
			free(ids);
			if (total > 0)
				ctl_tell_daemon(c);
			return store_fail(c, &err);
		}
		total += done;
		if (!done) {
			missed++;
			fprintf(stderr, "spoolctl: nothing to delete: message %"
			    PRId64 " is not rejected, failed or held (or its "
			    "exec call is running)\n", ids[i]);
			if (c->json)
				jd_int(&c->j, ids[i]);
		}
	}
	free(ids);
	if (total > 0)
		ctl_tell_daemon(c);
	rc = missed > 0 ? EX_DATAERR : EX_OK;
	if (c->json) {
		jd_array_end(&c->j);
		jd_kint(&c->j, "deleted", total);
		jd_kstr(&c->j, "user", user);
		jd_kstr(&c->j, "reason", why);
		jd_object_end(&c->j);
		return finish_json(c, rc);
	}
	printf("delete: %" PRId64 " message%s deleted by %s\n", total,
	    total == 1 ? "" : "s", user);
	return rc;
}
