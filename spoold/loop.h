/*
 * loop.h - spoold's one event loop: the epoll instance and its tags.
 *
 * Every file descriptor spoold waits on is registered here with a tag
 * (epoll_event.data.u64) that says whose it is: the daemon's own
 * (LOOP_SIGNAL, LOOP_TIMER, LOOP_WATCH, LOOP_HTTP), or the exec
 * runner's (any tag with LOOP_EXECQ set; the rest of the bits are the
 * runner's). The daemon
 * waits (loop_wait) and hands each event to its owner.
 */
#ifndef SPOOLD_LOOP_H
#define SPOOLD_LOOP_H

#include <stdint.h>

#include "error.h"

/* The daemon's tags, and the runner's bit. */
enum {
	LOOP_SIGNAL = 1,	/* signalfd: TERM, INT, HUP, USR1 */
	LOOP_TIMER,		/* timerfd: the next deadline */
	LOOP_WATCH,		/* inotify: the watcher */
	LOOP_HTTP		/* eventfd: the HTTP API's commands */
};
#define LOOP_EXECQ	((uint64_t)1 << 63)

struct loop {
	int	 epfd;		/* -1: closed */
};

struct loop_event {
	uint64_t	 tag;
	uint32_t	 events;	/* EPOLLIN, EPOLLHUP, ... */
};

/* Open the loop: 0, or -1 (err). loop_close() is safe on a closed one. */
int	loop_open(struct loop *, struct spool_error *);
void	loop_close(struct loop *);

/* Watch fd for input under tag: 0, or -1 with errno set. */
int	loop_add(struct loop *, int fd, uint64_t tag);
/* Stop watching fd (not watched is fine; closing it also does). */
void	loop_del(struct loop *, int fd);

/*
 * Wait, without a time limit (deadlines come through the timerfd), for
 * up to max events: their number, 0 when a signal interrupted the wait,
 * or -1 with errno set.
 */
int	loop_wait(struct loop *, struct loop_event *, int max);

#endif
