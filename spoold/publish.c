/*
 * publish.c - how the loop is, told to those who ask without asking the
 * loop: the HTTP thread (a pulse_state published through pulse.c, read
 * by /health and /metrics), systemd (STATUS= through notify.c) and
 * spoolctl status (<spool>/spoold.status).
 *
 * spoold.status is made and preallocated at start-up (publish_open()),
 * while there is room, and then rewritten in place, only when it
 * changes: writing it needs no free block, so a full disk can still be
 * told. It holds three lines (accepting, processing, reason) padded
 * with newlines to STATUS_SIZE bytes.
 *
 * Crash safety: nothing here is durable state; spoold.status is made
 * anew at each start.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon_int.h"
#include "log.h"

/*
 * Tell the HTTP thread how the loop is (pulse.h): cycle_since is when
 * the cycle about to run started, or 0 between cycles.
 */
void
publish_pulse(struct daemon *d, int64_t cycle_since)
{
	struct pulse_state *ps = &d->ps;

	if (d->http == NULL)
		return;
	ps->turned_at = store_now_ms();
	ps->cycle_since = cycle_since;
	ps->ready = true;
	ps->low_space = d->low_space;
	ps->paused = d->unfinished > 0;
	ps->store_ok = d->cycle_err[0] == '\0' && d->accept_err[0] == '\0';
	snprintf(ps->store_err, sizeof(ps->store_err), "%.250s",
	    d->cycle_err[0] != '\0' ? d->cycle_err : d->accept_err);
	ps->avail = d->avail;
	ps->min_free = d->min_free;
	ps->accepted = d->accepted;
	ps->processed = d->processed;
	ps->exec_running = execq_running(d->execq);
	pulse_publish(&d->pulse, ps);
}

/* Tell systemd (STATUS=, when it changed): this run's counts. */
static void
notify_say(struct daemon *d)
{
	char buf[sizeof(d->notify.status)];

	snprintf(buf, sizeof(buf), "%s; accepted %" PRIu64 ", processed %"
	    PRIu64 " since start%s", d->low_space ? "not accepting: free "
	    "space below min_free_space" : "accepting", d->accepted,
	    d->processed, d->unfinished > 0 ? "; processing paused" : "");
	notify_status(&d->notify, buf);
}

/*
 * Tell spoolctl status how we are: spoold.status, rewritten in place
 * (it was preallocated, so even a full disk takes it), only when it
 * changes.
 */
void
publish_status(struct daemon *d)
{
	char buf[STATUS_SIZE], why[STATUS_SIZE - 128];
	size_t len;
	ssize_t n;

	notify_say(d);
	if (d->statusfd == -1)
		return;
	why[0] = '\0';
	if (d->low_space)
		snprintf(why, sizeof(why), "free space is below "
		    "min_free_space (%" PRIu64 " bytes): new files stay in "
		    "incoming/", d->min_free);
	len = strlen(why);
	if (d->unfinished > 0)
		snprintf(why + len, sizeof(why) - len, "%s%d bundle%s could "
		    "not be written whole (disk full or I/O error): "
		    "processing waits until %s finished", len > 0 ? "; " : "",
		    d->unfinished, d->unfinished == 1 ? "" : "s",
		    d->unfinished == 1 ? "it is" : "they are");
	len = strlen(why);
	if (d->store.outbound_new > 0 && (d->low_space || d->unfinished > 0 ||
	    d->cycle_err[0] != '\0'))
		snprintf(why + len, sizeof(why) - len, "%soutbound messages "
		    "wait to be written", len > 0 ? "; " : "");
	len = strlen(why);
	if (d->sd.nowed > 0)
		snprintf(why + len, sizeof(why) - len, "%s%zu .reason "
		    "sidecar%s wait%s to be written", len > 0 ? "; " : "",
		    d->sd.nowed, d->sd.nowed == 1 ? "" : "s",
		    d->sd.nowed == 1 ? "s" : "");
	len = strlen(why);
	if (d->cycle_err[0] != '\0')
		snprintf(why + len, sizeof(why) - len, "%scycles fail: %.300s",
		    len > 0 ? "; " : "", d->cycle_err);
	memset(buf, '\n', sizeof(buf));
	snprintf(buf, sizeof(buf), "accepting=%s\nprocessing=%s\n"
	    "reason=%s\n", d->low_space ? "no" : "yes", d->unfinished > 0 ?
	    "paused" : "running", why);
	len = strlen(buf);
	memset(buf + len, '\n', sizeof(buf) - len);
	if (memcmp(buf, d->status, sizeof(buf)) == 0)
		return;
	do
		n = pwrite(d->statusfd, buf, sizeof(buf), 0);
	while (n == -1 && errno == EINTR);
	if (n == (ssize_t)sizeof(buf))
		memcpy(d->status, buf, sizeof(buf));
}

/* spoold.status: made and filled now, while there is room. */
void
publish_open(struct daemon *d)
{
	struct stat st;
	int fd, e = 0;

	(void)unlinkat(d->sd.root_fd, SPOOLDIR_STATUS_FILE, 0);
	fd = openat(d->sd.root_fd, SPOOLDIR_STATUS_FILE, O_RDWR | O_CREAT |
	    O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
	if (fd == -1 || fstat(fd, &st) == -1)
		e = errno;
	else if (!S_ISREG(st.st_mode))
		e = EINVAL;
	else
		e = posix_fallocate(fd, 0, STATUS_SIZE);
	if (e != 0) {
		log_warn("event=start file=%s reason=\"cannot make it: %s; "
		    "spoolctl status will not show a full disk\"",
		    SPOOLDIR_STATUS_FILE, strerror(e));
		if (fd != -1)
			close(fd);
		return;
	}
	d->statusfd = fd;
	publish_status(d);
}
