/*
 * daemon.h - spoold's run loop: accept, process, until stopped.
 */
#ifndef SPOOLD_DAEMON_H
#define SPOOLD_DAEMON_H

#include <stdbool.h>

#include "conf.h"
#include "error.h"

/* Run in the foreground; returns a sysexits.h code. conf_path and
 * spool_dir are kept for reloading on SIGHUP. */
int	daemon_run(struct conf *, const char *conf_path,
	    const char *spool_dir, bool once, bool verbose);

#endif
