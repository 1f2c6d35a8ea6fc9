/*
 * notify.c - spoold under systemd's Type=notify: the sd_notify(3) calls.
 *
 * READY=1 goes out once start-up reconciliation is over and the first
 * scan of incoming/ is done (daemon.c), so `systemctl start` returns
 * when spoold really accepts. WATCHDOG=1 is sent from the loop itself at
 * half of WatchdogSec (the loop's timer is armed for it through
 * notify_watchdog()'s answer), so a loop that hangs is killed and
 * restarted by systemd; a ping from another thread would prove nothing.
 * STATUS= carries this run's counts and whether spoold accepts, sent
 * when it changes. STOPPING=1 when SIGTERM has come.
 *
 * sd_notify() is a datagram to NOTIFY_SOCKET: it never blocks the loop,
 * and a failure is ignored (systemd may be gone; spoold goes on).
 * WATCHDOG_USEC and WATCHDOG_PID are read once and removed from the
 * environment; NOTIFY_SOCKET stays (sd_notify reads it at each call),
 * so exec programs inherit it, and systemd's default NotifyAccess=main
 * ignores whatever they might send there.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "notify.h"

void
notify_init(struct notify *n)
{
	uint64_t usec = 0;

	memset(n, 0, sizeof(*n));
	n->on = getenv("NOTIFY_SOCKET") != NULL;
	if (n->on && sd_watchdog_enabled(1, &usec) > 0 && usec > 0) {
		n->wd_ms = (int64_t)(usec / 2000);
		if (n->wd_ms < 1)
			n->wd_ms = 1;
	}
}

void
notify_ready(struct notify *n, const char *status)
{
	if (!n->on)
		return;
	snprintf(n->status, sizeof(n->status), "%s", status);
	(void)sd_notifyf(0, "READY=1\nSTATUS=%s", n->status);
}

void
notify_status(struct notify *n, const char *status)
{
	if (!n->on || strcmp(n->status, status) == 0)
		return;
	snprintf(n->status, sizeof(n->status), "%s", status);
	(void)sd_notifyf(0, "STATUS=%s", n->status);
}

int64_t
notify_watchdog(struct notify *n, int64_t now_ms)
{
	if (!n->on || n->wd_ms == 0)
		return -1;
	if (now_ms >= n->wd_due) {
		(void)sd_notify(0, "WATCHDOG=1");
		n->wd_due = now_ms + n->wd_ms;
	}
	return n->wd_due - now_ms;
}

void
notify_stopping(struct notify *n)
{
	if (!n->on)
		return;
	(void)sd_notify(0, "STOPPING=1");
}
