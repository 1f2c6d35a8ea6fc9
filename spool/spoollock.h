/*
 * spoollock.h - one spoold per spool.
 */
#ifndef SPOOL_SPOOLLOCK_H
#define SPOOL_SPOOLLOCK_H

#include "error.h"

/* The lock file's name in the spool's root directory. */
#define SPOOL_LOCK_NAME	"spoold.lock"

/*
 * Take the spool's lock: an exclusive flock(2) on <root>/spoold.lock,
 * held for as long as the returned descriptor is open (the caller closes
 * it when done; exit closes it too). Writes "<pid> <me>" into the file
 * for the next one to name ("me": the program, lower-case letters).
 * Returns the descriptor; -2 when another process holds the lock (err
 * names it and its pid); -1 on any other error.
 */
int	spool_lock(int root_fd, const char *root, const char *me,
	    struct spool_error *);

#endif
