/*
 * watcher.h - what is waiting in incoming/: inotify, scans, settling.
 */
#ifndef SPOOLD_WATCHER_H
#define SPOOLD_WATCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "accept.h"

struct watcher;

/* Watch root/incoming (fd incoming_fd, not owned). With use_inotify false
 * (spoold --once) only scans are made. NULL on error. */
struct watcher *watcher_new(int incoming_fd, bool use_inotify,
	    uint64_t settle_ms, struct spool_error *);
void	watcher_free(struct watcher *);
void	watcher_set_settle(struct watcher *, uint64_t settle_ms);

/* The inotify descriptor to poll, or -1. */
int	watcher_fd(const struct watcher *);

/* Scan incoming/ and every partner directory (start-up, overflow). */
int	watcher_scan(struct watcher *, struct spool_error *);

/* Read and handle the pending inotify events. */
int	watcher_read_events(struct watcher *, struct spool_error *);

/*
 * Files ready to be taken now, at most max of them, each once; the array
 * and names stay valid until the next call or watcher_done(). Sets
 * *next_ms to the milliseconds until a settling file may be ready (or
 * -1 if none waits).
 */
size_t	watcher_ready(struct watcher *, struct accept_file **, size_t max,
	    int64_t *next_ms);

/* The files returned by watcher_ready() were handled; forget them. With
 * keep true (the store failed) they are offered again later. */
void	watcher_done(struct watcher *, bool keep);

/*
 * Files handed out and forgotten (watcher_done()) that were not taken
 * after all (a batch in acceptance's pipeline that was never recorded):
 * offered again before any other, in the order given. A file whose
 * directory is no longer watched is left to a scan.
 */
void	watcher_return(struct watcher *, const struct accept_file *,
	    size_t n);

/* Files known to be waiting (ready or settling). */
size_t	watcher_pending(const struct watcher *);
/* Is a drain from the start of incoming/ wanted (the next
 * watcher_ready() may begin one)? */
bool	watcher_rescan_due(const struct watcher *);

#endif
