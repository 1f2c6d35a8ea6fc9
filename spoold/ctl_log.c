/*
 * ctl_log.c - spoolctl log: the log lines about one message or one
 * transaction (issue 16).
 *
 * spoold writes one logfmt line per event (spool/log.c) to standard
 * error or to syslog; it writes no file of its own. So the lines come
 * from --file PATH (the file its standard error or syslog writes, or "-"
 * for standard input), or else from the journal: journalctl, found at a
 * fixed path and run with a fixed argv (no shell, no PATH search), with
 * -t spoold -o cat, which holds both targets' lines under systemd. Without
 * either, spoolctl says how to grep.
 *
 * A line matches by its logfmt keys, parsed and unquoted (log_quote()'s
 * \" \\ \n \t \xNN), never by a substring: for a message, id= equal to
 * its ID; for a transaction, partner= and tx= equal to the arguments, or
 * id= one of the transaction's messages in the store. Only spoold's event
 * lines (those with event=) are looked at, so another program's lines in
 * a syslog file are not; a prefix that is no key=value (syslog's "date
 * host spoold[pid]:") is skipped. The matching lines are printed as they
 * are.
 *
 * Crash safety: reads only (the store read-only, the log).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "ctl.h"

/* Where journalctl may be; the first executable one is run. */
static const char *const journalctl_paths[] = {
	"/usr/bin/journalctl",
	"/bin/journalctl",
};

struct want {
	char		 id[24];	/* a message: its ID as text, or "" */
	const char	*partner;	/* a transaction: partner and ID */
	const char	*tx;
	int64_t		*ids;		/* the transaction's messages */
	size_t		 nids, cap;
};

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int
keychar(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
}

/*
 * The value of key in a logfmt line, unquoted into val (at least as long
 * as the line plus one): its length, or -1 if the line has no such key.
 * The first occurrence counts. A word that is no key=value is skipped.
 */
static ssize_t
lf_get(const char *line, const char *key, char *val)
{
	const char *p = line, *k;
	size_t klen = strlen(key), o;
	int hi, lo;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		for (k = p; keychar((unsigned char)*p); p++)
			;
		if (p == k || *p != '=') {
			while (*p != '\0' && *p != ' ' && *p != '\t')
				p++;
			continue;
		}
		p++;
		o = 0;
		if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p != '\\' || p[1] == '\0') {
					val[o++] = *p;
					continue;
				}
				p++;
				if (*p == 'n')
					val[o++] = '\n';
				else if (*p == 't')
					val[o++] = '\t';
				else if (*p == 'x' &&
				    (hi = hexval((unsigned char)p[1])) != -1 &&
				    (lo = hexval((unsigned char)p[2])) != -1) {
					val[o++] = (char)(hi << 4 | lo);
					p += 2;
				} else
					val[o++] = *p;
			}
			if (*p == '"')
				p++;
		} else
			while (*p != '\0' && *p != ' ' && *p != '\t')
				val[o++] = *p++;
		val[o] = '\0';
		if ((size_t)(p - k) > klen && memcmp(k, key, klen) == 0 &&
		    k[klen] == '=')
			return (ssize_t)o;
	}
	return -1;
}

/* Is the line one of spoold's events about what we want? */
static int
matches(const struct want *w, const char *line, char *val)
{
	int64_t id;
	size_t i;
	char *end;

	if (lf_get(line, "event", val) == -1)
		return 0;
	if (w->id[0] != '\0')
		return lf_get(line, "id", val) != -1 &&
		    strcmp(val, w->id) == 0;
	if (lf_get(line, "partner", val) != -1 &&
	    strcmp(val, w->partner) == 0 &&
	    lf_get(line, "tx", val) != -1 && strcmp(val, w->tx) == 0)
		return 1;
	if (w->nids == 0 || lf_get(line, "id", val) == -1 ||
	    val[0] < '1' || val[0] > '9')
		return 0;
	errno = 0;
	id = strtoll(val, &end, 10);
	if (errno != 0 || *end != '\0')
		return 0;
	for (i = 0; i < w->nids; i++)
		if (w->ids[i] == id)
			return 1;
	return 0;
}

/* Print the matching lines of fp; the number printed, or -1. */
static int64_t
filter(const struct want *w, FILE *fp, FILE *out)
{
	char *line = NULL, *val = NULL;
	size_t len = 0, vcap = 0;
	ssize_t n;
	int64_t found = 0;

	while ((n = getline(&line, &len, fp)) != -1) {
		if ((size_t)n + 1 > vcap) {
			char *nv = realloc(val, (size_t)n + 1);

			if (nv == NULL) {
				found = -1;
				errno = ENOMEM;
				break;
			}
			val = nv;
			vcap = (size_t)n + 1;
		}
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (matches(w, line, val)) {
			fprintf(out, "%s\n", line);
			found++;
		}
	}
	if (found != -1 && ferror(fp))
		found = -1;
	free(line);
	free(val);
	return found;
}

static const char *
find_journalctl(void)
{
	size_t i;

	for (i = 0; i < sizeof(journalctl_paths) /
	    sizeof(journalctl_paths[0]); i++)
		if (access(journalctl_paths[i], X_OK) == 0)
			return journalctl_paths[i];
	return NULL;
}

/* The lines of journalctl -t spoold -o cat; EX_OK with *found set. */
static int
from_journal(const struct want *w, const char *path, int64_t *found)
{
	char a0[] = "journalctl", a1[] = "--no-pager", a2[] = "-q",
	    a3[] = "-o", a4[] = "cat", a5[] = "-t", a6[] = "spoold";
	char *const argv[] = { a0, a1, a2, a3, a4, a5, a6, NULL };
	int fds[2], status, devnull;
	pid_t pid;
	FILE *fp;

	if (pipe2(fds, O_CLOEXEC) == -1)
		return fail(EX_OSERR, "log: pipe: %s", strerror(errno));
	fflush(stdout);
	if ((pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		return fail(EX_OSERR, "log: fork: %s", strerror(errno));
	}
	if (pid == 0) {
		if ((devnull = open("/dev/null", O_RDONLY)) != -1)
			(void)dup2(devnull, STDIN_FILENO);
		if (dup2(fds[1], STDOUT_FILENO) == -1)
			_exit(127);
		execv(path, argv);
		fprintf(stderr, "spoolctl: log: cannot run %s: %s\n", path,
		    strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	if ((fp = fdopen(fds[0], "r")) == NULL) {
		close(fds[0]);
		(void)waitpid(pid, &status, 0);
		return fail(EX_OSERR, "log: out of memory");
	}
	*found = filter(w, fp, stdout);
	fclose(fp);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (*found == -1)
		return fail(EX_IOERR, "log: cannot read from %s: %s", path,
		    strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return fail(EX_UNAVAILABLE, "log: %s failed (exit %d); give "
		    "the log with --file PATH", path, WIFEXITED(status) ?
		    WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return EX_OK;
}

static int
add_tx_id(void *arg, struct store_admin_msg *m)
{
	struct want *w = arg;
	int64_t *p;

	if (w->nids == w->cap) {
		w->cap = w->cap == 0 ? 16 : w->cap * 2;
		if ((p = reallocarray(w->ids, w->cap, sizeof(*p))) == NULL)
			return -1;
		w->ids = p;
	}
	w->ids[w->nids++] = m->id;
	return 0;
}

/* The transaction's messages in the store, for lines that name only id=. */
static int
tx_ids(struct ctl *c, struct want *w)
{
	struct store_admin_filter f;
	struct spool_error err;

	memset(&f, 0, sizeof(f));
	f.state = -1;
	f.partner = w->partner;
	f.transaction_id = w->tx;
	spool_clearerr(&err);
	if (store_admin_msg_list(&c->store, &f, add_tx_id, w, &err) == -1) {
		if (err.msg[0] == '\0')
			return fail(EX_OSERR, "log: out of memory");
		return store_fail(c, &err);
	}
	return EX_OK;
}

int
cmd_log(struct ctl *c, int argc, char **argv)
{
	struct want w;
	const char *file = NULL, *jc = NULL, *what;
	char whatbuf[64];
	int64_t id, found = 0;
	int i, rc;
	FILE *fp;

	memset(&w, 0, sizeof(w));
	if (c->json)
		return fail(EX_USAGE, "log: no --json: the lines are logfmt "
		    "as spoold wrote them");
	for (i = 1; i + 1 < argc && strcmp(argv[i], "--file") == 0; i += 2)
		file = argv[i + 1];
	if (argc - i == 3 && strcmp(argv[i], "--tx") == 0) {
		w.partner = argv[i + 1];
		w.tx = argv[i + 2];
		what = "transaction";
	} else if (argc - i == 1 && argv[i][0] != '-') {
		if (parse_int(argv[i], 1, &id) == -1)
			return fail(EX_USAGE, "log: %s is not a message ID",
			    argv[i]);
		snprintf(w.id, sizeof(w.id), "%" PRId64, id);
		snprintf(whatbuf, sizeof(whatbuf), "message %" PRId64, id);
		what = whatbuf;
	} else
		return fail(EX_USAGE, "usage: spoolctl log [--file PATH] MSGID "
		    "| log [--file PATH] --tx PARTNER ID");
	if (w.tx != NULL && (rc = tx_ids(c, &w)) != EX_OK) {
		free(w.ids);
		return rc;
	}
	if (file == NULL && (jc = find_journalctl()) == NULL) {
		free(w.ids);
		if (w.tx != NULL)
			return fail(EX_UNAVAILABLE, "log: no journalctl here: "
			    "give spoold's log with --file PATH (the file its "
			    "standard error or syslog writes)");
		return fail(EX_UNAVAILABLE, "log: no journalctl here: give "
		    "spoold's log with --file PATH (the file its standard "
		    "error or syslog writes), or: grep -E '(^| )id=%s( |$)' "
		    "FILE", w.id);
	}
	if (jc != NULL)
		rc = from_journal(&w, jc, &found);
	else {
		rc = EX_OK;
		if (strcmp(file, "-") == 0)
			fp = stdin;
		else if ((fp = fopen(file, "re")) == NULL) {
			free(w.ids);
			return fail(EX_NOINPUT, "log: %s: %s", file,
			    strerror(errno));
		}
		if ((found = filter(&w, fp, stdout)) == -1)
			rc = fail(EX_IOERR, "log: cannot read %s: %s", file,
			    strerror(errno));
		if (fp != stdin)
			fclose(fp);
	}
	free(w.ids);
	if (rc == EX_OK && found == 0)
		rc = fail(EX_DATAERR, "log: no line about %s in %s", w.tx !=
		    NULL ? "that transaction" : what, jc != NULL ?
		    "the journal (journalctl -t spoold); if its standard error "
		    "goes to a file, give it with --file PATH" : file);
	return rc;
}
