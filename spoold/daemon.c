/*
 * daemon.c - spoold's run loop.
 *
 * Not yet written: the watcher, acceptance and processing land with the
 * acceptance and processing issues. Until then running the daemon says
 * so and exits EX_UNAVAILABLE rather than pretending to work.
 */
#include "config.h"

#include <sysexits.h>

#include "daemon.h"
#include "log.h"

int
daemon_run(struct conf *conf, const char *conf_path, const char *spool_dir,
    bool once, bool verbose)
{
	(void)conf;
	(void)conf_path;
	(void)spool_dir;
	(void)once;
	(void)verbose;
	log_err("event=start status=failed reason=\"the daemon loop is not "
	    "implemented yet\"");
	return EX_UNAVAILABLE;
}
