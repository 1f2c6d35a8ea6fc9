/*
 * loop.c - spoold's one event loop: owns the epoll instance.
 *
 * The daemon and the exec runner register their descriptors through
 * loop_add() with the tags of loop.h, and the daemon alone waits. Level
 * triggered: an event not fully handled (a stderr pipe read within a
 * budget) comes back at the next wait, so no owner has to drain.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop.h"

int
loop_open(struct loop *l, struct spool_error *err)
{
	if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		spool_seterr(err, "epoll: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void
loop_close(struct loop *l)
{
	if (l->epfd != -1)
		(void)close(l->epfd);
	l->epfd = -1;
}

int
loop_add(struct loop *l, int fd, uint64_t tag)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = tag;
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev);
}

void
loop_del(struct loop *l, int fd)
{
	(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
}

int
loop_wait(struct loop *l, struct loop_event *out, int max)
{
	struct epoll_event evs[16];
	int i, n;

	if (max > 16)
		max = 16;
	n = epoll_wait(l->epfd, evs, max, -1);
	if (n == -1 && errno == EINTR)
		return 0;
	for (i = 0; i < n; i++) {
		out[i].tag = evs[i].data.u64;
		out[i].events = evs[i].events;
	}
	return n;
}
