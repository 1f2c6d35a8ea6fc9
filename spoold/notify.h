/*
 * notify.h - spoold's word to systemd (Type=notify): READY=1, WATCHDOG=1,
 * STATUS= and STOPPING=1 through sd_notify(3).
 *
 * Without NOTIFY_SOCKET in the environment every call is a no-op, so
 * spoold outside systemd (or under Type=simple) behaves as before.
 */
#ifndef SPOOLD_NOTIFY_H
#define SPOOLD_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

struct notify {
	bool	 on;		/* NOTIFY_SOCKET was set */
	int64_t	 wd_ms;		/* watchdog ping interval, 0: none */
	int64_t	 wd_due;	/* next ping, store_now_ms() */
	char	 status[256];	/* the last STATUS= sent */
};

/* Look at the environment (NOTIFY_SOCKET, WATCHDOG_USEC). */
void	notify_init(struct notify *);
/* READY=1 with a first STATUS= line. */
void	notify_ready(struct notify *, const char *status);
/* STATUS=text, sent only when it changed. */
void	notify_status(struct notify *, const char *status);
/*
 * WATCHDOG=1 when due (at half of WatchdogSec). Returns the ms until the
 * next ping is due (for the loop's timer), or -1 when there is no
 * watchdog.
 */
int64_t	notify_watchdog(struct notify *, int64_t now_ms);
/* STOPPING=1. */
void	notify_stopping(struct notify *);

#endif
