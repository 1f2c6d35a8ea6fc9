/*
 * watcher_int.h - what watcher.c (events, settling, handing out) and
 * watcher_scan.c (the drain) share: the watcher's state and the lists
 * of pending files.
 */
#ifndef SPOOLD_WATCHER_INT_H
#define SPOOLD_WATCHER_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"
#include "watcher.h"

/* Scanned files held at once (each about 100 bytes with its name). */
#ifndef WATCHER_SCAN_CHUNK
#define WATCHER_SCAN_CHUNK	32768
#endif
/* Announced files held at once; beyond, a scan. */
#ifndef WATCHER_EVENTS_MAX
#define WATCHER_EVENTS_MAX	16384
#endif
/* After a pass that failed (out of memory, descriptors). */
#define PASS_RETRY_MS	1000

/* pending.partner, beyond any index: */
#define P_GONE	((size_t)-1)	/* its directory went, or it vanished */
#define P_TAKEN	((size_t)-2)	/* handed out and done */
#define P_DEAD(p)	((p)->partner >= P_TAKEN)

enum drain { DRAIN_NONE, DRAIN_MORE, DRAIN_LAST };

struct partner {
	char	*name;		/* NULL: incoming/ itself (stray files) */
	int	 fd;
	int	 wd;
};

struct pending {
	size_t		 partner;	/* index into partners, or P_* */
	char		*name;
	bool		 settle;	/* must hold still before it is taken */
	bool		 reg;		/* a regular file when last looked at */
	off_t		 size;		/* -1: not looked at yet */
	struct timespec	 mtime;
	int64_t		 seen_ms;	/* since when size and mtime held */
};

struct watcher {
	int		 incoming_fd;
	int		 ifd;
	uint64_t	 settle_ms;
	struct partner	*partners;
	size_t		 npartners;
	/* Announced files, in event order. */
	struct pending	*ev;
	size_t		 nev, evcap;
	bool		 ev_full;	/* one was not kept; said once */
	/* Scanned files: [shead, nscan) of scan, ascending keys. */
	struct pending	*scan;		/* WATCHER_SCAN_CHUNK, while draining */
	size_t		 nscan, shead;
	enum drain	 drain;
	bool		 rescan;	/* another drain after this one */
	int64_t		 pass_retry;	/* a failed pass: not before */
	bool		 cursor_set;
	struct timespec	 cur_mtime;
	size_t		 cur_partner;
	char		 cur_name[NAME_MAX + 1];
	/* Handed out by watcher_ready(): files and where each came from. */
	struct accept_file *out;
	size_t		*out_src;	/* index into ev, or OUT_SCAN | index */
	size_t		 nout, outcap;
	size_t		*dedup;		/* hash of out: index + 1, 0 empty */
	size_t		 dedupcap;
};

static inline int64_t
watcher_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Ask for a scan: a drain starts at the next watcher_ready(). */
static inline void
watcher_want_scan(struct watcher *w)
{
	w->rescan = true;
}

/*
 * The index of partner directory `name', watched from now on: >= 1, or
 * -1 when it is not one (logged unless quiet), -2 on a system error.
 * *added says whether it is new. (watcher.c)
 */
int	watcher_add_partner(struct watcher *, const char *name, bool quiet,
	    bool *added, struct spool_error *);

/* The drain (watcher_scan.c): free the scanned list; make the passes
 * due (end a drain that is done, start one that is wanted, refill when
 * few scanned files are left; errors are logged and the pass tried
 * again after PASS_RETRY_MS). */
void	watcher_free_scan(struct watcher *);
void	watcher_drain_step(struct watcher *, int64_t now);

#endif
