/*
 * cmdcheck.h - is each exec route's command there and executable?
 */
#ifndef SPOOLD_CMDCHECK_H
#define SPOOLD_CMDCHECK_H

#include <stdbool.h>
#include <stdio.h>

#include "conf.h"

/*
 * Look at argv[0] of every exec route as posix_spawnp would find it
 * (a name without '/' on $PATH): report each one that is missing or not
 * executable, as "FILE:LINE: [route TYPE]: ..." to `out' (fatal) or as a
 * warning to the log; archive_command too. Returns how many are missing
 * or not executable.
 */
int	cmdcheck_routes(const struct conf *, FILE *out);

/* One command, looked at the same way: 0 usable, else an errno. */
int	cmdcheck_command(const char *cmd);

#endif
