/*
 * spoold.c - the spool daemon's command line.
 *
 * Parses the options, loads the configuration and then does one of:
 * check the config (--check-config), create the spool (--init), or run
 * the daemon in the foreground (daemon.c), once (--once) or until told
 * to stop. Exit codes follow sysexits.h; see spoold(8).
 *
 * Capabilities: the unit gives spoold CAP_DAC_READ_SEARCH as an ambient
 * capability, so that it can read uploads an SFTP client wrote with mode
 * 0600. spoold keeps it in its own effective set but clears the ambient
 * set first thing, so that no program it starts (exec handlers,
 * archive_command) inherits it: they run with the plain rights of the
 * spoold user.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmdcheck.h"
#include "conf.h"
#include "dialect.h"
#include "daemon.h"
#include "handler.h"
#include "log.h"
#include "spooldir.h"
#include "store.h"


static void
usage(FILE *fp)
{
	fprintf(fp, "usage: spoold [-c FILE] [-d SPOOLDIR] [--init] [--once] "
	    "[--check-config] [-v] [--version]\n");
}

static int
do_init(const struct conf *conf)
{
	struct spool_error err;
	struct store st;
	char *db;

	spool_clearerr(&err);
	if (spooldir_init(conf->spool_dir, &err) == -1) {
		log_err("event=init status=failed reason=%s", LOG_Q(err.msg));
		return EX_CANTCREAT;
	}
	if (asprintf(&db, "%s/spool.db", conf->spool_dir) == -1) {
		log_err("event=init status=failed reason=\"out of memory\"");
		return EX_OSERR;
	}
	if (store_open_with(&st, db, STORE_CREATE, handler_components,
	    &err) == -1) {
		free(db);
		log_err("event=init status=failed reason=%s", LOG_Q(err.msg));
		return st.errclass == STORE_ERR_TOO_NEW ? EX_UNAVAILABLE :
		    EX_CANTCREAT;
	}
	log_notice("event=init spool=%s store_version=%d",
	    LOG_Q(conf->spool_dir), st.version);
	store_close(&st);
	free(db);
	return EX_OK;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "spool-dir", required_argument, NULL, 'd' },
		{ "init", no_argument, NULL, 'I' },
		{ "once", no_argument, NULL, 'O' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *conf_path = NULL, *spool_dir = NULL;
	bool init = false, once = false, check = false, verbose = false;
	struct dialect_set ds;
	struct spool_error err;
	struct conf conf;
	int ch, rc;

	log_init("spoold", LOG_TARGET_STDERR, LOG_INFO);
	while ((ch = getopt_long(argc, argv, "c:d:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'd':
			spool_dir = optarg;
			break;
		case 'I':
			init = true;
			break;
		case 'O':
			once = true;
			break;
		case 'C':
			check = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'V':
			printf("spoold %s\n", PACKAGE_VERSION);
			return EX_OK;
		case 'h':
			usage(stdout);
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "spoold: unexpected argument: %s\n",
		    argv[optind]);
		usage(stderr);
		return EX_USAGE;
	}
	if ((init && (once || check)) || (once && check)) {
		fprintf(stderr, "spoold: --init, --once and --check-config "
		    "exclude each other\n");
		usage(stderr);
		return EX_USAGE;
	}

	spool_clearerr(&err);
	if (conf_load_cmdline(&conf, conf_path, spool_dir, &err) == -1) {
		fprintf(stderr, "spoold: %s\n", err.msg);
		return EX_CONFIG;
	}
	if (check) {
		/* A missing or non-executable exec command is our own
		 * mistake: refused here, only warned about below. */
		if (cmdcheck_routes(&conf, stderr) > 0) {
			conf_free(&conf);
			return EX_CONFIG;
		}
		/* Every dialect file, every expression compiled. */
		if (dialect_set_load_conf(&ds, &conf, &err) == -1) {
			fprintf(stderr, "spoold: %s\n", err.msg);
			conf_free(&conf);
			return EX_CONFIG;
		}
		dialect_set_free(&ds);
		printf("%s: configuration ok\n", conf.path != NULL ?
		    conf.path : "(built-in defaults)");
		conf_free(&conf);
		return EX_OK;
	}
	log_init("spoold", conf.log_target, verbose ? LOG_DEBUG :
	    conf.log_level);
	(void)cmdcheck_routes(&conf, NULL);
	if (init)
		rc = do_init(&conf);
	else {
		/* Ours alone, never our children's (see the top). EINVAL:
		 * a kernel without ambient capabilities, nothing to clear. */
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) ==
		    -1 && errno != EINVAL)
			log_warn("event=start reason=%s",
			    LOG_Q("cannot clear the ambient capabilities"));
		rc = daemon_run(&conf, conf_path, spool_dir, once, verbose);
	}
	conf_free(&conf);
	return rc;
}
