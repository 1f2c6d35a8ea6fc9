/*
 * spoolctl.c - the admin's view of a spool and the levers to steer it.
 *
 * Reads the store (SQLite WAL: never blocks spoold for long) and the
 * spool directories. Output is terse text, or with --json one JSON
 * document per call. Errors go to stderr in one line; exit codes follow
 * sysexits.h. See spoolctl(8).
 *
 * Invariants: each reading command opens the store read-only (so that
 * the spool's group may read it) and runs its queries in one read
 * transaction, so its figures agree with each other; writes (purge) are
 * short write transactions of at most PURGE_CHUNK messages. A --json
 * document is built in memory and printed only when complete, so a
 * script gets one whole document or, with an error on stderr, nothing.
 * Text output never passes control characters from partner data to the
 * terminal.
 *
 * This file has main(), the global options, the command table and the
 * helpers every command shares (ctl.h); the commands are in
 * ctl_status.c (status, list, batch, batches), ctl_show.c (show) and
 * ctl_lever.c (retry, skip, purge, check); jdoc.c builds --json output.
 *
 * The running spoold is the process that holds spoold's lock (the kernel
 * names it, see spoollock.c); the pid in the store's daemon table is
 * only what the last one wrote, and after a crash it may be another
 * process's. spoolctl signals spoold through a pidfd opened on the pid
 * the lock names, checked again after the open, so that neither a stale
 * pid nor a pid reused in between gets the signal.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"
#include "handler.h"
#include "jdoc.h"
#include "log.h"
#include "spooldir.h"
#include "spoollock.h"
#include "store.h"
#include "store_admin.h"

/* Each command's synopsis and what it does: spoolctl help COMMAND. */
static const struct {
	const char	*name;
	const char	*synopsis;
	const char	*text;
} help[] = {
	{ "status", "status",
	    "counts per state, the oldest gap and what blocks it, the oldest\n"
	    "deferred message, rates; exits 3 when spoold is not running" },
	{ "list", "list [--state S]... [--partner P] [--tx PARTNER ID] "
	    "[--type T]\n"
	    "     [--batch N] [--older-than AGE] [--limit N]\n"
	    "     | list --control [--partner P]",
	    "the messages, oldest first; by default every one not done,\n"
	    "at most 100 (--limit 0: all); --control: each pair ordered by\n"
	    "interchange control number, its next number, parked ones, gaps" },
	{ "show", "show MSGID | show --tx PARTNER ID | show --interchange "
	    "PARTNER N | show --outbound PARTNER [CONTROL]",
	    "one message, a transaction's timeline, the messages and fates\n"
	    "of one interchange control number, or one of our outbound EDI\n"
	    "interchanges and its acknowledgment (without CONTROL: those\n"
	    "not acknowledged as accepted: pending, overdue, rejected)" },
	{ "retry", "retry MSGID... | retry - | retry --tx PARTNER ID | "
	    "retry --all-failed",
	    "queue failed or deferred messages again (-: IDs from standard\n"
	    "input, one a line)" },
	{ "skip", "skip --tx PARTNER ID SEQ --reason TEXT\n"
	    "     (or skip PARTNER ID SEQ --reason TEXT)\n"
	    "     skip --control PARTNER SENDER RECIPIENT NUMBER --reason TEXT",
	    "declare a missing or failed sequence number done without\n"
	    "applying it; an interchange control number: by the pair's\n"
	    "ids (QUAL:ID, see list --control) with --control, or ID the\n"
	    "pair, \"interchange SENDER RECIPIENT\"" },
	{ "hold", "hold MSGID... | hold - | hold --tx PARTNER ID "
	    "--reason TEXT",
	    "stop messages not done yet (and their transaction's later\n"
	    "ones) until released; who and why are recorded" },
	{ "release", "release MSGID... | release - | release --tx PARTNER ID "
	    "[--reason TEXT]",
	    "let held messages go on, in their transaction's order" },
	{ "delete", "delete MSGID... | delete - --reason TEXT",
	    "remove rejected, failed or held messages for good (a\n"
	    "tombstone stays, so a redelivery is a duplicate)" },
	{ "batch", "batch ID",
	    "one bundle and the fate of each entry; done only when every\n"
	    "entry's message is done" },
	{ "batches", "batches [--limit N]",
	    "the bundles, newest first, with their entries' states" },
	{ "purge", "purge --done-older-than AGE [--dry-run]",
	    "delete processed messages older than AGE" },
	{ "check", "check [--repair]",
	    "reconcile the store and the directories; --repair fixes" },
	{ "log", "log [--file PATH] MSGID | log [--file PATH] --tx PARTNER ID",
	    "spoold's log lines about a message or a transaction, from\n"
	    "PATH (- for standard input) or else the journal (journalctl)" },
	{ "help", "help [COMMAND]", "this text, or one command's" },
};

/* Whether the command line changes the store (else: open it read-only). */
static bool
writes(int argc, char **argv)
{
	int i;
	bool dry = false, repair = false;

	for (i = 1; i < argc; i++) {
		dry |= strcmp(argv[i], "--dry-run") == 0;
		repair |= strcmp(argv[i], "--repair") == 0;
	}
	if (strcmp(argv[0], "check") == 0)
		return repair;
	if (strcmp(argv[0], "purge") == 0)
		return !dry;
	return strcmp(argv[0], "retry") == 0 || strcmp(argv[0], "skip") == 0 ||
	    strcmp(argv[0], "hold") == 0 || strcmp(argv[0], "release") == 0 ||
	    strcmp(argv[0], "delete") == 0;
}

static void
usage(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: spoolctl [-c FILE] [-d SPOOLDIR] [--json] COMMAND "
	    "[ARGS]\n"
	    "       spoolctl help [COMMAND] | COMMAND --help | --version\n"
	    "commands:");
	for (i = 0; i < sizeof(help) / sizeof(help[0]); i++)
		fprintf(fp, " %s", help[i].name);
	fputc('\n', fp);
}

/* help [COMMAND]: 0, or -1 for an unknown command. */
static int
print_help(FILE *fp, const char *cmd)
{
	size_t i;

	if (cmd == NULL) {
		usage(fp);
		fputc('\n', fp);
		for (i = 0; i < sizeof(help) / sizeof(help[0]); i++)
			fprintf(fp, "  %s\n", help[i].synopsis);
		fprintf(fp, "\nspoolctl help COMMAND tells more; see "
		    "spoolctl(8).\n");
		return 0;
	}
	for (i = 0; i < sizeof(help) / sizeof(help[0]); i++)
		if (strcmp(help[i].name, cmd) == 0) {
			fprintf(fp, "usage: spoolctl %s\n\n%s\n",
			    help[i].synopsis, help[i].text);
			return 0;
		}
	return -1;
}

int
fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("spoolctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

/* A store error: busy means try again later, anything else is I/O. */
int
store_fail(struct ctl *c, const struct spool_error *err)
{
	return fail(store_admin_busy(&c->store) ? EX_TEMPFAIL : EX_IOERR, "%s",
	    err->msg);
}

int
ctl_daemon(struct ctl *c, pid_t *pid)
{
	struct spool_error err;
	int rc;

	spool_clearerr(&err);
	if ((rc = spool_lock_daemon(c->conf.spool_dir, pid, &err)) == -1)
		fprintf(stderr, "spoolctl: cannot tell whether spoold runs: "
		    "%s\n", err.msg);
	return rc;
}

int
ctl_signal_daemon(struct ctl *c, int sig, pid_t *pid)
{
	pid_t again;
	int pidfd, rc, saved;

	if ((rc = ctl_daemon(c, pid)) != 1)
		return rc;
	if (*pid <= 0) {
		errno = ESRCH;
		return -1;
	}
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_send_signal)
	pidfd = (int)syscall(SYS_pidfd_open, *pid, 0);
	if (pidfd == -1 && errno == ESRCH)
		return 0;
	if (pidfd == -1 && errno != ENOSYS)
		return -1;
#else
	pidfd = -1;
#endif
	/* The pidfd is of the process that had *pid when it was opened: if
	 * the lock still names *pid, that is spoold. */
	if ((rc = ctl_daemon(c, &again)) != 1 || again != *pid) {
		if (pidfd != -1)
			close(pidfd);
		return rc == -1 ? -1 : 0;
	}
	if (pidfd == -1)	/* no pidfds: a window of a few syscalls */
		return kill(*pid, sig) == 0 ? 1 : errno == ESRCH ? 0 : -1;
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_send_signal)
	rc = (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
	saved = errno;
	close(pidfd);
	errno = saved;
	if (rc == -1)
		return errno == ESRCH ? 0 : -1;
#endif
	(void)saved;
	return 1;
}

int
finish_json(struct ctl *c, int rc)
{
	if (jd_end(&c->j) == -1)
		return fail(EX_SOFTWARE, "cannot build the JSON document");
	c->complete = true;
	return rc;
}

int
need_spooldir(struct ctl *c)
{
	struct spool_error err;

	if (c->sd_open)
		return EX_OK;
	spool_clearerr(&err);
	if (spooldir_open(&c->sd, c->conf.spool_dir, &err) == -1)
		return fail(EX_NOINPUT, "%s", err.msg);
	c->sd_open = true;
	return EX_OK;
}

/* A duration: "40s", "12m", "5h", "3d"; with two, "5h 12m". */
const char *
dur(char *buf, size_t len, int64_t ms, bool two)
{
	static const struct {
		int64_t	 s;
		char	 u;
	} units[] = { { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' } };
	int64_t s = ms / 1000;
	size_t i;

	if (s < 0)
		s = 0;
	for (i = 0; i < 3 && s < units[i].s; i++)
		;
	if (two && i < 3 && s % units[i].s / units[i + 1].s > 0)
		snprintf(buf, len, "%" PRId64 "%c %" PRId64 "%c",
		    s / units[i].s, units[i].u, s % units[i].s / units[i + 1].s,
		    units[i + 1].u);
	else
		snprintf(buf, len, "%" PRId64 "%c", s / units[i].s, units[i].u);
	return buf;
}

/* A positive integer argument; -1 if it is not one. */
int
parse_int(const char *s, int64_t min, int64_t *v)
{
	char *end;
	long long n;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < min)
		return -1;
	*v = n;
	return 0;
}

static int
add_id(const char *cmd, const char *s, const char *where, int64_t **ids,
    size_t *n, size_t *cap)
{
	int64_t id, *p;

	if (parse_int(s, 1, &id) == -1)
		return fail(EX_USAGE, "%s: %s%s is not a message ID", cmd,
		    where, s);
	if (*n == *cap) {
		*cap = *cap == 0 ? 16 : *cap * 2;
		if ((p = reallocarray(*ids, *cap, sizeof(*p))) == NULL)
			return fail(EX_OSERR, "out of memory");
		*ids = p;
	}
	(*ids)[(*n)++] = id;
	return EX_OK;
}

int
ctl_read_ids(const char *cmd, int argc, char **argv, int64_t **ids,
    size_t *n)
{
	char *line = NULL, *b, *e, where[64];
	size_t cap = 0, len = 0;
	ssize_t got;
	int64_t lineno = 0;
	int i, rc = EX_OK;

	*ids = NULL;
	*n = 0;
	if (argc == 1 && strcmp(argv[0], "-") == 0) {
		while (rc == EX_OK && (got = getline(&line, &len, stdin)) !=
		    -1) {
			lineno++;
			for (b = line; *b == ' ' || *b == '\t'; b++)
				;
			for (e = b + strlen(b); e > b && (e[-1] == '\n' ||
			    e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t');
			    e--)
				;
			*e = '\0';
			if (*b == '\0')
				continue;
			snprintf(where, sizeof(where), "line %" PRId64 ": ",
			    lineno);
			rc = add_id(cmd, b, where, ids, n, &cap);
		}
		if (rc == EX_OK && ferror(stdin))
			rc = fail(EX_IOERR, "%s: cannot read standard input: "
			    "%s", cmd, strerror(errno));
		free(line);
	} else
		for (i = 0; i < argc && rc == EX_OK; i++)
			rc = add_id(cmd, argv[i], "", ids, n, &cap);
	if (rc == EX_OK && *n == 0)
		rc = fail(EX_USAGE, "%s: no message IDs", cmd);
	if (rc != EX_OK) {
		free(*ids);
		*ids = NULL;
		*n = 0;
	}
	return rc;
}

/* Every column of a message, as a JSON object left open for more. */
static const struct {
	const char	*name;
	int		(*fn)(struct ctl *, int, char **);
} commands[] = {
	{ "status", cmd_status },
	{ "list", cmd_list },
	{ "show", cmd_show },
	{ "retry", cmd_retry },
	{ "skip", cmd_skip },
	{ "hold", cmd_hold },
	{ "release", cmd_release },
	{ "delete", cmd_delete },
	{ "batch", cmd_batch },
	{ "batches", cmd_batches },
	{ "purge", cmd_purge },
	{ "check", cmd_check },
	{ "log", cmd_log },
};

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "spool-dir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *conf_path = NULL, *spool_dir = NULL;
	struct spool_error err;
	struct ctl c;
	char *db, *jbuf = NULL;
	size_t i, jlen = 0;
	int ch, rc, j;

	memset(&c, 0, sizeof(c));
	log_init("spoolctl", LOG_TARGET_STDERR, LOG_WARNING);
	/* "+": options end at the command; its own options follow it. */
	while ((ch = getopt_long(argc, argv, "+c:d:hV", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'd':
			spool_dir = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		case 'V':
			printf("spoolctl %s\n", PACKAGE_VERSION);
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return EX_USAGE;
	}
	/* help needs no spool. */
	if (strcmp(argv[0], "help") == 0) {
		if (argc > 2 || print_help(stdout, argv[1]) == -1) {
			if (argc == 2)
				fprintf(stderr, "spoolctl: unknown command: "
				    "%s\n", argv[1]);
			usage(stderr);
			return EX_USAGE;
		}
		return fflush(stdout) == EOF ? EX_IOERR : EX_OK;
	}
	for (j = 1; j < argc; j++)
		if (strcmp(argv[j], "--help") == 0 ||
		    strcmp(argv[j], "-h") == 0) {
			if (print_help(stdout, argv[0]) == -1)
				break;
			return fflush(stdout) == EOF ? EX_IOERR : EX_OK;
		}
	/* --json may also follow the command. */
	for (j = 1; j < argc; j++) {
		if (strcmp(argv[j], "--json") == 0) {
			c.json = true;
			memmove(&argv[j], &argv[j + 1],
			    (size_t)(argc - j) * sizeof(*argv));
			argc--;
			j--;
		}
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, argv[0]) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		fprintf(stderr, "spoolctl: unknown command: %s\n", argv[0]);
		usage(stderr);
		return EX_USAGE;
	}
	if (commands[i].fn == NULL) {
		fprintf(stderr, "spoolctl: %s: not implemented yet\n",
		    argv[0]);
		return EX_UNAVAILABLE;
	}
	spool_clearerr(&err);
	if (conf_load_cmdline(&c.conf, conf_path, spool_dir, &err) == -1) {
		fprintf(stderr, "spoolctl: %s\n", err.msg);
		return EX_CONFIG;
	}
	if (asprintf(&db, "%s/spool.db", c.conf.spool_dir) == -1) {
		fprintf(stderr, "spoolctl: out of memory\n");
		conf_free(&c.conf);
		return EX_OSERR;
	}
	/*
	 * A reading command opens the store read-only, so that a member of
	 * the spool's group who may not write it can read; a store older
	 * than this program is opened for writing, which migrates it.
	 */
	rc = store_open_with(&c.store, db, writes(argc, argv) ? 0 :
	    STORE_READER, handler_components, &err);
	if (rc == 0 && c.store.version < store_schema_version()) {
		store_close(&c.store);
		rc = store_open_with(&c.store, db, 0, handler_components,
		    &err);
	}
	if (rc == -1) {
		fprintf(stderr, "spoolctl: %s\n", err.msg);
		free(db);
		conf_free(&c.conf);
		return c.store.errclass == STORE_ERR_TOO_NEW ? EX_UNAVAILABLE :
		    EX_NOINPUT;
	}
	free(db);
	c.now = store_now_ms();
	c.out = stdout;
	if (c.json && (c.out = open_memstream(&jbuf, &jlen)) == NULL) {
		fprintf(stderr, "spoolctl: out of memory\n");
		store_close(&c.store);
		conf_free(&c.conf);
		return EX_OSERR;
	}
	jd_init(&c.j, c.out);
	rc = commands[i].fn(&c, argc, argv);
	jd_free(&c.j);		/* a command that failed left its tree */
	if (c.json) {
		if (fclose(c.out) == EOF && rc == EX_OK)
			rc = fail(EX_OSERR, "out of memory");
		else if (c.complete && jbuf != NULL)
			fwrite(jbuf, 1, jlen, stdout);
		free(jbuf);
	}
	if (c.sd_open)
		spooldir_close(&c.sd);
	store_close(&c.store);
	conf_free(&c.conf);
	if ((fflush(stdout) == EOF || ferror(stdout)) && rc == EX_OK)
		rc = fail(EX_IOERR, "cannot write the output: %s",
		    strerror(errno));
	return rc;
}
