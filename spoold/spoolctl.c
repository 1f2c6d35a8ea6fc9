/*
 * spoolctl.c - the admin's view of a spool and the levers to steer it.
 *
 * Reads the store (SQLite WAL: never blocks spoold for long) and the
 * spool directories. Output is terse text, or with --json one JSON
 * document per call. Errors go to stderr in one line; exit codes follow
 * sysexits.h. See spoolctl(8).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "spooldir.h"
#include "store.h"

#ifndef SPOOLD_SYSCONFDIR
#define SPOOLD_SYSCONFDIR "/usr/local/etc"
#endif
#define DEFAULT_CONF SPOOLD_SYSCONFDIR "/spoold/spoold.conf"

struct ctl {
	struct conf	 conf;
	struct store	 store;
	bool		 json;
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: spoolctl [-c FILE] [-d SPOOLDIR] [--json] COMMAND "
	    "[ARGS]\n"
	    "commands: status, list, show, retry, skip, batch, purge, "
	    "check\n");
}

static void
json_string(FILE *fp, const char *s)
{
	const unsigned char *p;

	fputc('"', fp);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(fp, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(fp, "\\u%04x", *p);
		else
			fputc(*p, fp);
	}
	fputc('"', fp);
}

/* Files waiting in incoming/<partner>/ (and stray ones at its top). */
static int64_t
count_incoming(const char *root)
{
	char path[4096];
	struct dirent *de, *pe;
	DIR *d, *pd;
	int64_t n = 0;

	snprintf(path, sizeof(path), "%s/incoming", root);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (de->d_type != DT_DIR) {
			n++;
			continue;
		}
		snprintf(path, sizeof(path), "%s/incoming/%s", root,
		    de->d_name);
		if ((pd = opendir(path)) == NULL)
			continue;
		while ((pe = readdir(pd)) != NULL)
			if (pe->d_name[0] != '.')
				n++;
		closedir(pd);
	}
	closedir(d);
	return n;
}

static int
cmd_status(struct ctl *c, int argc, char **argv)
{
	struct spool_error err;
	int64_t counts[ST_NSTATES], incoming;
	int i;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "spoolctl: status takes no arguments\n");
		return EX_USAGE;
	}
	spool_clearerr(&err);
	if (store_state_counts(&c->store, counts, ST_NSTATES, &err) == -1) {
		fprintf(stderr, "spoolctl: %s\n", err.msg);
		return EX_IOERR;
	}
	incoming = count_incoming(c->conf.spool_dir);
	if (c->json) {
		printf("{\"spool\":");
		json_string(stdout, c->conf.spool_dir);
		printf(",\"schema_version\":%d,\"counts\":{\"incoming\":%"
		    PRId64, c->store.version, incoming);
		for (i = 0; i < ST_NSTATES; i++)
			printf(",\"%s\":%" PRId64, spool_state_name(i),
			    counts[i]);
		printf("}}\n");
	} else {
		printf("spool     %s\n", c->conf.spool_dir);
		printf("incoming  %" PRId64 "\n", incoming);
		for (i = 0; i < ST_NSTATES; i++)
			printf("%-9s %" PRId64 "\n", spool_state_name(i),
			    counts[i]);
	}
	return EX_OK;
}

static const struct {
	const char	*name;
	int		(*fn)(struct ctl *, int, char **);
} commands[] = {
	{ "status", cmd_status },
	{ "list", NULL },
	{ "show", NULL },
	{ "retry", NULL },
	{ "skip", NULL },
	{ "batch", NULL },
	{ "purge", NULL },
	{ "check", NULL },
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
	char *db;
	size_t i;
	int ch, rc, j;

	memset(&c, 0, sizeof(c));
	log_init("spoolctl", LOG_TARGET_STDERR, LOG_WARNING);
	/* "+": options end at the command; its own options follow it. */
	while ((ch = getopt_long(argc, argv, "+c:d:h", longopts, NULL)) != -1) {
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
	if (conf_path == NULL && access(DEFAULT_CONF, F_OK) == 0)
		conf_path = DEFAULT_CONF;
	spool_clearerr(&err);
	if (conf_load(&c.conf, conf_path, &err) == -1) {
		fprintf(stderr, "spoolctl: %s\n", err.msg);
		return EX_CONFIG;
	}
	if (spool_dir != NULL) {
		free(c.conf.spool_dir);
		if ((c.conf.spool_dir = strdup(spool_dir)) == NULL) {
			fprintf(stderr, "spoolctl: out of memory\n");
			conf_free(&c.conf);
			return EX_OSERR;
		}
	}
	if (asprintf(&db, "%s/spool.db", c.conf.spool_dir) == -1) {
		fprintf(stderr, "spoolctl: out of memory\n");
		conf_free(&c.conf);
		return EX_OSERR;
	}
	if (store_open(&c.store, db, 0, &err) == -1) {
		fprintf(stderr, "spoolctl: %s\n", err.msg);
		free(db);
		conf_free(&c.conf);
		return c.store.errclass == STORE_ERR_TOO_NEW ? EX_UNAVAILABLE :
		    EX_NOINPUT;
	}
	free(db);
	rc = commands[i].fn(&c, argc, argv);
	store_close(&c.store);
	conf_free(&c.conf);
	return rc;
}
