/*
 * cmdcheck.c - is each exec route's command there and executable?
 *
 * A route whose command does not exist used to pass --check-config and
 * then fail every message permanently (issue 16): our mistake, not the
 * partner's. --check-config reports each such command and exits 78;
 * --init and a starting spoold only warn (DESIGN 18). The check is the
 * one posix_spawnp makes: a name with a '/' is looked at as it is, one
 * without is searched on $PATH; it must be a regular file we may
 * execute (access(X_OK) with the real IDs, as the daemon runs them).
 * Nothing is executed, and a check now says nothing about later: the
 * spawn's own ENOENT/EACCES stays the final word.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmdcheck.h"
#include "log.h"

/* 0: path is a regular file we may execute; else errno-like why. */
static int
usable(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return errno;
	if (!S_ISREG(st.st_mode))
		return EISDIR;
	if (access(path, X_OK) == -1)
		return errno;
	return 0;
}

static int
find(const char *cmd)
{
	const char *path, *p, *e;
	char buf[4096];
	int why = ENOENT, rc;
	size_t n;

	if (strchr(cmd, '/') != NULL)
		return usable(cmd);
	if ((path = getenv("PATH")) == NULL || *path == '\0')
		path = "/bin:/usr/bin";
	for (p = path; ; p = e + 1) {
		e = strchr(p, ':');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n + strlen(cmd) + 2 <= sizeof(buf)) {
			memcpy(buf, n > 0 ? p : ".", n > 0 ? n : 1);
			buf[n > 0 ? n : 1] = '\0';
			strcat(buf, "/");
			strcat(buf, cmd);
			if ((rc = usable(buf)) == 0)
				return 0;
			if (rc != ENOENT)
				why = rc;
		}
		if (e == NULL)
			break;
	}
	return why;
}

int
cmdcheck_command(const char *cmd)
{
	return find(cmd);
}

int
cmdcheck_routes(const struct conf *c, FILE *out)
{
	const struct conf_route *r;
	size_t i;
	int bad = 0, why;

	for (i = 0; i < c->nroutes; i++) {
		r = &c->routes[i];
		if (r->handler == NULL || strcmp(r->handler, "exec") != 0 ||
		    r->argv == NULL || r->argv[0] == NULL)
			continue;
		if ((why = find(r->argv[0])) == 0)
			continue;
		bad++;
		if (out != NULL)
			fprintf(out, "spoold: %s:%d: [route %s]: command %s: "
			    "%s\n", c->path != NULL ? c->path : "-", r->line,
			    r->type, r->argv[0], why == EISDIR ?
			    "not a regular file" : why == ENOENT ?
			    "not found" : strerror(why));
		else
			log_warn("event=config route=%s command=%s reason=%s",
			    LOG_Q(r->type), LOG_Q(r->argv[0]), LOG_Q(why ==
			    EISDIR ? "not a regular file" : why == ENOENT ?
			    "not found" : strerror(why)));
	}
	/* archive_command, looked at the same way. */
	if (c->archive_argv != NULL && c->archive_argv[0] != NULL &&
	    (why = find(c->archive_argv[0])) != 0) {
		bad++;
		if (out != NULL)
			fprintf(out, "spoold: %s: [processing]: archive_command "
			    "%s: %s\n", c->path != NULL ? c->path : "-",
			    c->archive_argv[0], why == EISDIR ?
			    "not a regular file" : why == ENOENT ?
			    "not found" : strerror(why));
		else
			log_warn("event=config archive_command=%s reason=%s",
			    LOG_Q(c->archive_argv[0]), LOG_Q(why == EISDIR ?
			    "not a regular file" : why == ENOENT ?
			    "not found" : strerror(why)));
	}
	return bad;
}
