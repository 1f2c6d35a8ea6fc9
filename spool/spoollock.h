/*
 * spoollock.h - one spoold per spool, and who it is.
 */
#ifndef SPOOL_SPOOLLOCK_H
#define SPOOL_SPOOLLOCK_H

#include <sys/types.h>

#include "error.h"

/* The lock file's name in the spool's root directory. */
#define SPOOL_LOCK_NAME	"spoold.lock"

/*
 * Take the spool's lock: a POSIX record lock (fcntl F_SETLK) on
 * <root>/spoold.lock, held for as long as the returned descriptor is
 * open (the caller closes it when done; exit closes it too). The process
 * must open no other descriptor of the file meanwhile: closing it would
 * drop the lock. me is the program ("spoold" also marks the holder as
 * the daemon, see spool_lock_daemon()). Writes the pid alone into the
 * file. Returns the descriptor; -2 when another process holds the lock
 * (err names it and its pid); -1 on any other error.
 */
int	spool_lock(int root_fd, const char *root, const char *me,
	    struct spool_error *);

/*
 * Is a spoold running on the spool at root? Asks the kernel who holds
 * spoold's lock (F_GETLK), not the pid the file or the store says.
 * 1: yes, *pid is its pid (0 if it is not visible from here); 0: no;
 * -1: error. Opens and closes the lock file: not to be called by a
 * process that holds the lock (see spool_lock()).
 */
int	spool_lock_daemon(const char *root, pid_t *pid,
	    struct spool_error *);

#endif
