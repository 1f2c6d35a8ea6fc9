/*
 * spoollock.c - one spoold per spool, and who it is.
 *
 * Two daemons on one spool would each take the same ready messages
 * into their cycles, and exec handlers would be called twice; a repair
 * (spoolctl check --repair) beside a running spoold would move files
 * under it. So spoold holds a POSIX record lock (fcntl F_SETLK) on
 * <spool>/spoold.lock while it runs, and so does a repair: the second
 * one is refused with the pid of the first.
 *
 * Byte 0 of the file is the spool's lock; spoold locks byte 1 as well,
 * and nothing else does. So F_GETLK on byte 1 names the pid of the
 * spoold that runs on the spool, from the kernel, whatever the file
 * says: that is what spoolctl signals, never the pid a crashed spoold
 * left in the store or the file (it may by now be another process's).
 * A record lock goes with the process: a spoold killed with SIGKILL
 * leaves spoold.lock behind but not the lock, so a stale file never
 * needs clearing by hand. It is not inherited by the exec programs
 * spoold starts. The one trap of record locks, that closing any
 * descriptor of the file releases the process's lock, is avoided by
 * opening the file only here, once, in the process that locks it.
 *
 * The file holds the holder's pid alone ("1234\n"), for kill(1) and
 * scripts; nothing here trusts it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spoollock.h"

#define BYTE_SPOOL	0	/* the spool's lock */
#define BYTE_DAEMON	1	/* held by spoold only */

/*
 * Who holds a lock on byte `at'? 1: a process, *pid (0 when it is in a
 * pid namespace we cannot see); 0: nobody; -1: error (errno).
 */
static int
lock_holder(int fd, off_t at, pid_t *pid)
{
	struct flock fl;

	*pid = 0;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = at;
	fl.l_len = 1;
	if (fcntl(fd, F_GETLK, &fl) == -1)
		return -1;
	if (fl.l_type == F_UNLCK)
		return 0;
	*pid = fl.l_pid > 0 ? fl.l_pid : 0;
	return 1;
}

int
spool_lock(int root_fd, const char *root, const char *me,
    struct spool_error *err)
{
	struct flock fl;
	struct stat st;
	char buf[32];
	pid_t pid, dpid;
	int fd, n;

	fd = openat(root_fd, SPOOL_LOCK_NAME, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC, 0644);
	if (fd == -1) {
		spool_seterr(err, "%s/%s: %s", root, SPOOL_LOCK_NAME,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		spool_seterr(err, "%s/%s: %s", root, SPOOL_LOCK_NAME,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		spool_seterr(err, "%s/%s: not a regular file", root,
		    SPOOL_LOCK_NAME);
		close(fd);
		return -1;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = BYTE_SPOOL;
	fl.l_len = strcmp(me, "spoold") == 0 ? 2 : 1;
	while (fcntl(fd, F_SETLK, &fl) == -1) {
		if (errno == EINTR)
			continue;
		if (errno == EACCES || errno == EAGAIN) {
			if (lock_holder(fd, BYTE_SPOOL, &pid) == 1 &&
			    pid > 0)
				spool_seterr(err, "spool %s is in use by %s "
				    "(pid %ld)", root, lock_holder(fd,
				    BYTE_DAEMON, &dpid) == 1 && dpid == pid ?
				    "spoold" : "another process", (long)pid);
			else
				spool_seterr(err, "spool %s is in use by "
				    "another process", root);
			close(fd);
			return -2;
		}
		spool_seterr(err, "lock %s/%s: %s", root, SPOOL_LOCK_NAME,
		    strerror(errno));
		close(fd);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n) {
		spool_seterr(err, "%s/%s: %s", root, SPOOL_LOCK_NAME,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
spool_lock_daemon(const char *root, pid_t *pid, struct spool_error *err)
{
	char path[4096];
	int fd, rc, saved;

	*pid = 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", root,
	    SPOOL_LOCK_NAME) >= sizeof(path)) {
		spool_seterr(err, "%s: path too long", root);
		return -1;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	if (fd == -1 && errno == ENOENT)
		return 0;
	if (fd == -1) {
		spool_seterr(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = lock_holder(fd, BYTE_DAEMON, pid);
	saved = errno;
	close(fd);
	if (rc == -1)
		spool_seterr(err, "%s: %s", path, strerror(saved));
	return rc;
}
