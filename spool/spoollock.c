/*
 * spoollock.c - one spoold per spool.
 *
 * Two daemons on one spool would each take the same ready messages
 * into their cycles, and exec handlers would be called twice; a repair
 * (spoolctl check --repair) beside a running spoold would move files
 * under it. So spoold holds an exclusive flock(2) on <spool>/spoold.lock
 * while it runs, and so does a repair: the second one is refused with
 * the pid of the first.
 *
 * A flock goes with the open file, not with the file: a spoold killed
 * with SIGKILL leaves spoold.lock behind but not the lock, so a stale
 * lock never needs clearing by hand. The pid in the file is for the
 * message only; nothing trusts it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "spoollock.h"

/*
 * The holder written in the lock file ("<pid> <program>"): its pid, or 0
 * when the file does not say; its program's name into who.
 */
static long
holder(int fd, char *who, size_t wholen)
{
	char buf[64];
	ssize_t n;
	long pid;
	char *end;
	size_t i;

	snprintf(who, wholen, "another process");
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || pid <= 0 || *end != ' ')
		return 0;
	end++;
	for (i = 0; end[i] >= 'a' && end[i] <= 'z' && i + 1 < wholen; i++)
		who[i] = end[i];
	if (i > 0)
		who[i] = '\0';
	return pid;
}

int
spool_lock(int root_fd, const char *root, const char *me,
    struct spool_error *err)
{
	char buf[64], who[16];
	long pid;
	int fd, n;

	fd = openat(root_fd, SPOOL_LOCK_NAME, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	if (fd == -1) {
		spool_seterr(err, "%s/%s: %s", root, SPOOL_LOCK_NAME,
		    strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK) {
			pid = holder(fd, who, sizeof(who));
			if (pid > 0)
				spool_seterr(err, "spool %s is in use by %s "
				    "(pid %ld)", root, who, pid);
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
	n = snprintf(buf, sizeof(buf), "%ld %s\n", (long)getpid(), me);
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n) {
		spool_seterr(err, "%s/%s: %s", root, SPOOL_LOCK_NAME,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
