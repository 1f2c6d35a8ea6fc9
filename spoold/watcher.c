/*
 * watcher.c - find the files that partners drop into incoming/, and hand
 * them out in the order they arrived, in bounded memory.
 *
 * inotify watches incoming/ (for new partner directories and stray
 * files) and every partner directory. A file announced by IN_CLOSE_WRITE
 * or IN_MOVED_TO is complete and taken at once. A file found any other
 * way (a scan, a hard link) may still be growing: it is taken once its
 * size and mtime have not changed for at least SETTLE_MIN_MS since it was
 * first seen (so that a file a writer has just created is not taken
 * empty, even with settle_time = 0) and, either, its mtime is
 * settle_time in the past, or spoold has seen it unchanged for
 * settle_time. The mtime is the partner's clock: it may only shorten the
 * wait (a file that has not changed for an hour before a restart is
 * taken at once), never lengthen it, so a file with an mtime in the
 * future settles like any other. Uploads in progress (DESIGN 12:
 * dot-files, .tmp, .part, .partial, .filepart, ~) are never taken;
 * their rename to the final name is an IN_MOVED_TO.
 *
 * Two lists, both bounded whatever the burst:
 *
 * Announced files, in the order their events came, which is the order
 * they arrived. At most WATCHER_EVENTS_MAX are held: one more is not
 * kept, and a scan is asked for instead, which finds it on disk. So
 * inotify's own queue length (fs.inotify.max_queued_events) bounds
 * nothing here.
 *
 * Scanned files. A scan (start-up, --once, IN_Q_OVERFLOW, a new partner
 * directory, too many events) is a drain: passes over incoming/ and each
 * partner directory, reading them with readdir (getdents, 32 KiB at a
 * time) and lstat-ing each name, never holding the list of names. A
 * file's key is (mtime, name, partner): arrival order. Each pass keeps,
 * in a max-heap of at most WATCHER_SCAN_CHUNK entries, the oldest files
 * whose key is above the cursor, the newest key an earlier pass of this
 * drain took; at its end the heap is sorted and appended to the scanned
 * list (whose older entries all have keys at or below the cursor), and
 * the cursor moves up to its newest key. A pass is made when an eighth
 * of a chunk is left to hand out, so the next files settle while the
 * last ones are taken.
 * - Order holds across passes: a pass sees every file present with a
 *   key above the cursor and keeps the smallest of them, so every file
 *   between the old cursor and the new one is in its chunk, and chunks
 *   follow each other in key order, as if one sort of them all had been
 *   made.
 * - Nothing is taken twice: a pass takes keys strictly above the
 *   cursor, the cursor only grows, and an entry is dropped once handed
 *   out. A file that stays in incoming/ after it was taken (its reason
 *   owed on a full disk, a move that failed) has a key at or below the
 *   cursor: this drain does not take it again. A file both announced
 *   and scanned goes out once per batch; if it comes up again in a
 *   later batch it has gone from incoming/ and is dropped as vanished.
 * - Nothing is starved: each pass that takes files moves the cursor up,
 *   and a drain ends only after a pass that held every file above the
 *   cursor, so each file present throughout a drain is taken in it. A
 *   file that arrives during a drain with an mtime already below the
 *   cursor (a copy that keeps its times) is announced by inotify; and a
 *   scan asked for during a drain (an overflow, a new partner
 *   directory) is a new drain, from the bottom, once this one ends.
 * The price: each pass reads and lstats every name left, so a drain of
 * N files costs about N^2 / (1.75 * WATCHER_SCAN_CHUNK) lstat calls
 * instead of N names in memory: nothing below a chunk; measured on
 * tmpfs against one pass holding every name, 0.16 s more CPU for
 * 100,000 files, 34 s more for a million (45 s in all, 8 MB instead of
 * 106 MB). A backlog of many millions would want the names sorted in
 * runs through a temporary file instead.
 *
 * Within a batch handed out the announced files come first, then the
 * scanned ones: an announced file is live, later than the backlog a scan
 * finds, and taking it first keeps its latency whatever the backlog; a
 * transaction spread over both parks its live part until the backlog's
 * earlier numbers are done, which is the order rule, not a loss.
 *
 * Nothing here is durable: the lists are rebuilt by the start-up scan,
 * so losing them loses nothing.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "watcher.h"

#define PARTNER_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | \
	IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
/* A scanned file must hold still at least this long, whatever settle_time. */
#define SETTLE_MIN_MS	50

#define TOP_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR)

/* Scanned files held at once (each about 100 bytes with its name). */
#ifndef WATCHER_SCAN_CHUNK
#define WATCHER_SCAN_CHUNK	32768
#endif
/* Announced files held at once; beyond, a scan. */
#ifndef WATCHER_EVENTS_MAX
#define WATCHER_EVENTS_MAX	16384
#endif
/* The next pass of a drain when this few scanned files are left. */
#define SCAN_REFILL	(WATCHER_SCAN_CHUNK / 8)
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

#define OUT_SCAN	((size_t)1 << (sizeof(size_t) * CHAR_BIT - 1))

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct watcher *
watcher_new(int incoming_fd, bool use_inotify, uint64_t settle_ms,
    struct spool_error *err)
{
	struct watcher *w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		spool_seterr(err, "out of memory");
		return NULL;
	}
	w->incoming_fd = incoming_fd;
	w->settle_ms = settle_ms;
	w->ifd = -1;
	if ((w->partners = calloc(1, sizeof(*w->partners))) == NULL) {
		free(w);
		spool_seterr(err, "out of memory");
		return NULL;
	}
	w->npartners = 1;
	w->partners[0].fd = incoming_fd;
	w->partners[0].wd = -1;
	if (use_inotify) {
		w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (w->ifd == -1) {
			spool_seterr(err, "inotify_init1: %s", strerror(errno));
			watcher_free(w);
			return NULL;
		}
		{
			char path[64];

			snprintf(path, sizeof(path), "/proc/self/fd/%d",
			    incoming_fd);
			w->partners[0].wd = inotify_add_watch(w->ifd, path,
			    TOP_MASK);
		}
		if (w->partners[0].wd == -1) {
			spool_seterr(err, "inotify_add_watch incoming/: %s",
			    strerror(errno));
			watcher_free(w);
			return NULL;
		}
	}
	return w;
}

static void
free_scan(struct watcher *w)
{
	size_t i;

	for (i = w->shead; i < w->nscan; i++)
		free(w->scan[i].name);
	free(w->scan);
	w->scan = NULL;
	w->nscan = w->shead = 0;
}

void
watcher_free(struct watcher *w)
{
	size_t i;

	if (w == NULL)
		return;
	for (i = 1; i < w->npartners; i++) {
		free(w->partners[i].name);
		if (w->partners[i].fd != -1)
			close(w->partners[i].fd);
	}
	free(w->partners);
	for (i = 0; i < w->nev; i++)
		free(w->ev[i].name);
	free(w->ev);
	free_scan(w);
	free(w->out);
	free(w->out_src);
	free(w->dedup);
	if (w->ifd != -1)
		close(w->ifd);
	free(w);
}

void
watcher_set_settle(struct watcher *w, uint64_t settle_ms)
{
	w->settle_ms = settle_ms;
}

int
watcher_fd(const struct watcher *w)
{
	return w->ifd;
}

size_t
watcher_pending(const struct watcher *w)
{
	size_t i, n = 0;

	for (i = 0; i < w->nev; i++)
		if (!P_DEAD(&w->ev[i]))
			n++;
	for (i = w->shead; i < w->nscan; i++)
		if (!P_DEAD(&w->scan[i]))
			n++;
	/* A drain with passes to come, or one wanted: more may be there. */
	if (n == 0 && (w->drain != DRAIN_NONE || w->rescan))
		n = 1;
	return n;
}

/* Ask for a scan: a drain starts at the next watcher_ready(). */
static void
want_scan(struct watcher *w)
{
	w->rescan = true;
}

static void
add_event(struct watcher *w, size_t partner, const char *name, bool settle)
{
	struct pending *p;

	if (accept_name_skipped(name))
		return;
	if (w->nev == WATCHER_EVENTS_MAX) {
		/* The scan finds it, and every other one. */
		if (!w->ev_full)
			log_notice("event=watch status=full files=%d "
			    "reason=\"more files announced than are held; "
			    "scanning incoming/ for the rest\"",
			    WATCHER_EVENTS_MAX);
		w->ev_full = true;
		want_scan(w);
		return;
	}
	if (w->nev == w->evcap) {
		size_t ncap = w->evcap ? w->evcap * 2 : 64;

		if (ncap > WATCHER_EVENTS_MAX)
			ncap = WATCHER_EVENTS_MAX;
		if ((p = realloc(w->ev, ncap * sizeof(*p))) == NULL) {
			log_err("event=watch status=failed reason=\"out of "
			    "memory\" file=%s", LOG_Q(name));
			want_scan(w);
			return;
		}
		w->ev = p;
		w->evcap = ncap;
	}
	p = &w->ev[w->nev];
	memset(p, 0, sizeof(*p));
	if ((p->name = strdup(name)) == NULL) {
		want_scan(w);
		return;
	}
	p->partner = partner;
	p->settle = settle;
	p->size = -1;
	w->nev++;
}

/*
 * The index of partner directory `name', watched from now on: >= 1, or
 * -1 when it is not one (logged unless quiet), -2 on a system error.
 * *added says whether it is new.
 */
static int
add_partner(struct watcher *w, const char *name, bool quiet, bool *added,
    struct spool_error *err)
{
	struct partner *np;
	char path[64];
	size_t i;
	int fd, wd = -1;

	*added = false;
	for (i = 1; i < w->npartners; i++)
		if (strcmp(w->partners[i].name, name) == 0)
			return (int)i;
	if (!conf_partner_name_ok(name)) {
		if (!quiet)
			log_warn("event=partner status=ignored dir=%s "
			    "reason=\"not a valid partner name\"",
			    LOG_Q(name));
		return -1;
	}
	fd = openat(w->incoming_fd, name, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		log_warn("event=partner status=ignored dir=%s reason=%s",
		    LOG_Q(name), LOG_Q(strerror(errno)));
		return -1;
	}
	if (w->ifd != -1) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if ((wd = inotify_add_watch(w->ifd, path, PARTNER_MASK)) ==
		    -1) {
			spool_seterr(err, "inotify_add_watch incoming/%s: %s",
			    name, strerror(errno));
			close(fd);
			return -2;
		}
	}
	if ((np = realloc(w->partners, (w->npartners + 1) *
	    sizeof(*np))) == NULL || (np[w->npartners].name =
	    strdup(name)) == NULL) {
		if (np != NULL)
			w->partners = np;
		close(fd);
		spool_seterr(err, "out of memory");
		return -2;
	}
	w->partners = np;
	np[w->npartners].fd = fd;
	np[w->npartners].wd = wd;
	log_info("event=partner dir=%s status=watched", LOG_Q(name));
	*added = true;
	return (int)w->npartners++;
}

/* Arrival order: mtime, then name, then partner directory. */
static int
key_cmp(const struct timespec *ma, const char *na, size_t pa,
    const struct timespec *mb, const char *nb, size_t pb)
{
	int c;

	if (ma->tv_sec != mb->tv_sec)
		return ma->tv_sec < mb->tv_sec ? -1 : 1;
	if (ma->tv_nsec != mb->tv_nsec)
		return ma->tv_nsec < mb->tv_nsec ? -1 : 1;
	if ((c = strcmp(na, nb)) != 0)
		return c;
	if (pa != pb)
		return pa < pb ? -1 : 1;
	return 0;
}

static int
pend_cmp(const struct pending *a, const struct pending *b)
{
	return key_cmp(&a->mtime, a->name, a->partner, &b->mtime, b->name,
	    b->partner);
}

/* The max-heap of a pass: h[0] has the largest key. */
static void
heap_down(struct pending *h, size_t n, size_t i)
{
	struct pending t;
	size_t c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= n)
			return;
		if (c + 1 < n && pend_cmp(&h[c + 1], &h[c]) > 0)
			c++;
		if (pend_cmp(&h[c], &h[i]) <= 0)
			return;
		t = h[i];
		h[i] = h[c];
		h[c] = t;
		i = c;
	}
}

static void
heap_up(struct pending *h, size_t i)
{
	struct pending t;
	size_t parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (pend_cmp(&h[i], &h[parent]) <= 0)
			return;
		t = h[i];
		h[i] = h[parent];
		h[parent] = t;
		i = parent;
	}
}

struct pass {
	struct pending	*heap;
	size_t		 room, n;	/* capacity, entries */
	size_t		 above;		/* files seen above the cursor */
};

/* Offer one file to the pass's heap. -1: out of memory. */
static int
pass_offer(struct watcher *w, struct pass *ps, size_t partner,
    const char *name, const struct stat *st)
{
	struct pending p, *h = ps->heap;
	size_t len;
	char *np;

	if (w->cursor_set && key_cmp(&st->st_mtim, name, partner,
	    &w->cur_mtime, w->cur_name, w->cur_partner) <= 0)
		return 0;	/* taken by an earlier pass, or too late */
	ps->above++;
	memset(&p, 0, sizeof(p));
	if (ps->n == ps->room) {
		if (ps->room == 0 || key_cmp(&st->st_mtim, name, partner,
		    &h[0].mtime, h[0].name, h[0].partner) >= 0)
			return 0;	/* a later pass takes it */
		/* It replaces the newest, whose name buffer it reuses. */
		p.name = h[0].name;
		h[0] = h[--ps->n];
		heap_down(h, ps->n, 0);
	}
	len = strlen(name) + 1;
	if ((np = realloc(p.name, len)) == NULL) {
		free(p.name);
		return -1;
	}
	memcpy(np, name, len);
	p.name = np;
	p.partner = partner;
	p.mtime = st->st_mtim;
	p.settle = true;
	p.reg = S_ISREG(st->st_mode);
	p.size = st->st_size;
	h[ps->n] = p;
	heap_up(h, ps->n);
	ps->n++;
	return 0;
}

/* One directory's part of a pass. */
static int
pass_dir(struct watcher *w, struct pass *ps, size_t partner,
    struct spool_error *err)
{
	struct dirent *de;
	struct stat st;
	bool added;
	DIR *d;
	int fd, pfd = w->partners[partner].fd, p;

	if ((fd = dup(pfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		spool_seterr(err, "cannot scan incoming/%s: %s",
		    w->partners[partner].name ? w->partners[partner].name : "",
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (partner == 0 && (de->d_type == DT_DIR ||
		    de->d_type == DT_UNKNOWN) && fstatat(pfd, de->d_name,
		    &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
			/* Its files are scanned in this pass (the caller
			 * goes on to the new index); files in it already
			 * below the cursor need a drain of their own. */
			p = add_partner(w, de->d_name, w->cursor_set, &added,
			    err);
			if (p == -2) {
				closedir(d);
				return -1;
			}
			if (added && w->cursor_set)
				want_scan(w);
			continue;
		}
		if (accept_name_skipped(de->d_name))
			continue;
		if (fstatat(pfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;	/* gone */
		if (pass_offer(w, ps, partner, de->d_name, &st) == -1) {
			spool_seterr(err, "out of memory");
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

/*
 * One pass of the drain: the oldest files above the cursor, up to a
 * chunk's room, appended in key order to the scanned list.
 */
static int
scan_pass(struct watcher *w, struct spool_error *err)
{
	struct pass ps;
	struct pending t, *h;
	size_t i, live = 0, k;
	int64_t now;

	/* Keep the live entries, at the front. */
	for (i = w->shead; i < w->nscan; i++) {
		if (P_DEAD(&w->scan[i]))
			free(w->scan[i].name);
		else
			w->scan[live++] = w->scan[i];
	}
	w->shead = 0;
	w->nscan = live;
	memset(&ps, 0, sizeof(ps));
	ps.heap = w->scan + live;
	ps.room = WATCHER_SCAN_CHUNK - live;
	for (i = 0; i < w->npartners; i++) {
		if (w->partners[i].fd == -1)
			continue;	/* gone */
		if (pass_dir(w, &ps, i, err) == -1)
			goto fail;
	}
	/* Heapsort: ascending keys. */
	h = ps.heap;
	for (k = ps.n; k > 1; k--) {
		t = h[0];
		h[0] = h[k - 1];
		h[k - 1] = t;
		heap_down(h, k - 1, 0);
	}
	/* Seen now, at the earliest: a file held still since its lstat,
	 * and SETTLE_MIN_MS from here, has held still that long. */
	now = now_ms();
	for (i = 0; i < ps.n; i++)
		h[i].seen_ms = now;
	w->nscan = live + ps.n;
	if (ps.n > 0) {
		w->cursor_set = true;
		w->cur_mtime = h[ps.n - 1].mtime;
		w->cur_partner = h[ps.n - 1].partner;
		snprintf(w->cur_name, sizeof(w->cur_name), "%s",
		    h[ps.n - 1].name);
	}
	if (ps.above <= ps.room)
		w->drain = DRAIN_LAST;	/* it held every one */
	log_debug("event=scan files=%zu left=%zu chunk=%d", ps.n,
	    ps.above - ps.n, WATCHER_SCAN_CHUNK);
	return 0;
fail:
	for (i = 0; i < ps.n; i++)
		free(ps.heap[i].name);
	return -1;
}

static int
drain_start(struct watcher *w, struct spool_error *err)
{
	if ((w->scan = calloc(WATCHER_SCAN_CHUNK, sizeof(*w->scan))) ==
	    NULL) {
		spool_seterr(err, "out of memory");
		return -1;
	}
	w->nscan = w->shead = 0;
	w->drain = DRAIN_MORE;
	w->rescan = false;
	w->ev_full = false;
	w->cursor_set = false;
	return 0;
}

/* Scanned files not yet taken (those waiting to settle count; a file
 * that keeps changing must not hold the drain back). */
static size_t
scan_live(const struct watcher *w)
{
	size_t i, n = 0;

	for (i = w->shead; i < w->nscan && n <= SCAN_REFILL; i++)
		if (!P_DEAD(&w->scan[i]))
			n++;
	return n;
}

/*
 * Make the passes due: end a drain that is done, start one that is
 * wanted, refill when few scanned files are left. Errors are logged;
 * the pass is tried again after PASS_RETRY_MS.
 */
static void
drain_step(struct watcher *w, int64_t now)
{
	struct spool_error err;

	while (w->shead < w->nscan && P_DEAD(&w->scan[w->shead]))
		free(w->scan[w->shead++].name);
	if (now < w->pass_retry)
		return;
	spool_clearerr(&err);
	if (w->drain == DRAIN_LAST && w->shead == w->nscan) {
		free_scan(w);
		w->drain = DRAIN_NONE;
	}
	if (w->drain == DRAIN_NONE) {
		if (!w->rescan)
			return;
		if (drain_start(w, &err) == -1)
			goto fail;
	}
	if (w->drain == DRAIN_MORE && scan_live(w) <= SCAN_REFILL &&
	    scan_pass(w, &err) == -1)
		goto fail;
	return;
fail:
	log_err("event=scan status=failed reason=%s retry_in=%dms",
	    LOG_Q(err.msg), PASS_RETRY_MS);
	w->pass_retry = now + PASS_RETRY_MS;
}

int
watcher_scan(struct watcher *w, struct spool_error *err)
{
	if (w->drain != DRAIN_NONE) {
		want_scan(w);	/* when this drain ends */
		return 0;
	}
	if (drain_start(w, err) == -1)
		return -1;
	if (scan_pass(w, err) == -1) {
		free_scan(w);
		w->drain = DRAIN_NONE;
		return -1;
	}
	return 0;
}

static void
drop_partner(struct watcher *w, size_t i)
{
	size_t j;

	log_notice("event=partner dir=%s status=gone",
	    LOG_Q(w->partners[i].name));
	close(w->partners[i].fd);
	w->partners[i].fd = -1;
	w->partners[i].wd = -1;
	/* Keep the slot (indices in the lists refer to it); forget its
	 * files. */
	for (j = 0; j < w->nev; j++)
		if (w->ev[j].partner == i)
			w->ev[j].partner = P_GONE;
	for (j = w->shead; j < w->nscan; j++)
		if (w->scan[j].partner == i)
			w->scan[j].partner = P_GONE;
	free(w->partners[i].name);
	w->partners[i].name = strdup("");
}

int
watcher_read_events(struct watcher *w, struct spool_error *err)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(
	    struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	bool added;
	char *p;
	size_t i;

	for (;;) {
		n = read(w->ifd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			spool_seterr(err, "read inotify: %s", strerror(errno));
			return -1;
		}
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW) {
				log_warn("event=watch status=overflow "
				    "reason=\"inotify queue overflowed; "
				    "rescanning incoming/\"");
				want_scan(w);
				continue;
			}
			for (i = 0; i < w->npartners; i++)
				if (w->partners[i].wd == ev->wd)
					break;
			if (i == w->npartners)
				continue;
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
				if (i > 0)
					drop_partner(w, i);
				continue;
			}
			if (ev->len == 0 || ev->name[0] == '.')
				continue;
			if (i == 0 && (ev->mask & IN_ISDIR)) {
				int pi = add_partner(w, ev->name, false,
				    &added, err);

				if (pi == -2)
					return -1;
				/* What it holds already: found by a scan. */
				if (pi > 0 && added)
					want_scan(w);
				continue;
			}
			if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
				add_event(w, i, ev->name, false);
			} else if (ev->mask & IN_CREATE) {
				struct stat st;

				/* A regular file being written announces
				 * itself with IN_CLOSE_WRITE; a hard link
				 * never does, so it settles. Links, FIFOs,
				 * devices and directories never close for
				 * writing: take (and reject) them now. */
				if (fstatat(w->partners[i].fd, ev->name, &st,
				    AT_SYMLINK_NOFOLLOW) == -1)
					continue;
				if (!S_ISREG(st.st_mode))
					add_event(w, i, ev->name, false);
				else if (st.st_nlink > 1)
					add_event(w, i, ev->name, true);
			}
		}
	}
}

/*
 * May p be taken now? 1: yes; 0: not yet, *wait set to the ms until it
 * may be; -1: it is gone.
 */
static int
settled(struct watcher *w, struct pending *p, int64_t now, int64_t *wait)
{
	struct stat st;
	int64_t mt, due, wt;

	if (!p->settle)
		return 1;
	if (p->size != -1 && p->reg) {
		/* What it was when last seen says "not yet": if it has
		 * changed since, the wait is only longer. No lstat. */
		mt = (int64_t)p->mtime.tv_sec * 1000 +
		    p->mtime.tv_nsec / 1000000;
		wt = p->seen_ms + SETTLE_MIN_MS - now;
		due = p->seen_ms + (int64_t)w->settle_ms;
		if (mt + (int64_t)w->settle_ms < due)
			due = mt + (int64_t)w->settle_ms;
		if (due - now > wt)
			wt = due - now;
		if (wt > 0) {
			*wait = wt;
			return 0;
		}
	}
	if (fstatat(w->partners[p->partner].fd, p->name, &st,
	    AT_SYMLINK_NOFOLLOW) == -1)
		return -1;	/* vanished */
	mt = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
	if (p->size != st.st_size || p->mtime.tv_sec != st.st_mtim.tv_sec ||
	    p->mtime.tv_nsec != st.st_mtim.tv_nsec) {
		/* First look, or it changed: look again. */
		p->size = st.st_size;
		p->mtime = st.st_mtim;
		p->seen_ms = now;
	}
	p->reg = S_ISREG(st.st_mode);
	if (!p->reg)
		return 1;	/* taken (and rejected) at once */
	/*
	 * Take it once it has held still since we first saw it for
	 * SETTLE_MIN_MS (even with settle_time = 0, a file just created by
	 * a writer is not taken empty) and for settle_time, by our clock
	 * or by its mtime, whichever says sooner (a future mtime never
	 * holds it back).
	 */
	wt = p->seen_ms + SETTLE_MIN_MS - now;
	due = p->seen_ms + (int64_t)w->settle_ms;
	if (mt + (int64_t)w->settle_ms < due)
		due = mt + (int64_t)w->settle_ms;
	if (due - now > wt)
		wt = due - now;
	if (wt > 0) {
		*wait = wt;
		return 0;
	}
	return 1;
}

static size_t
name_hash(size_t partner, const char *s)
{
	size_t h = 1469598103934665603ULL ^ partner;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* Room for max files in out and its hash. -1: out of memory. */
static int
out_room(struct watcher *w, size_t max)
{
	struct accept_file *o;
	size_t *s, cap;

	if (max <= w->outcap)
		return 0;
	if ((o = reallocarray(w->out, max, sizeof(*o))) == NULL)
		return -1;
	w->out = o;
	if ((s = reallocarray(w->out_src, max, sizeof(*s))) == NULL)
		return -1;
	w->out_src = s;
	for (cap = 16; cap < 2 * max; cap *= 2)
		;
	free(w->dedup);
	if ((w->dedup = calloc(cap, sizeof(*w->dedup))) == NULL) {
		w->dedupcap = 0;
		return -1;
	}
	w->dedupcap = cap;
	w->outcap = max;
	return 0;
}

/* Hand p out unless the same file is in this batch already (then it is
 * dropped: the batch takes it). */
static void
hand_out(struct watcher *w, struct pending *p, size_t src)
{
	size_t h = name_hash(p->partner, p->name) & (w->dedupcap - 1), k;

	while ((k = w->dedup[h]) != 0) {
		const struct accept_file *f = &w->out[k - 1];

		if (f->dirfd == w->partners[p->partner].fd &&
		    strcmp(f->name, p->name) == 0) {
			p->partner = P_GONE;
			return;
		}
		h = (h + 1) & (w->dedupcap - 1);
	}
	w->dedup[h] = w->nout + 1;
	w->out[w->nout].dirfd = w->partners[p->partner].fd;
	w->out[w->nout].partner = w->partners[p->partner].name;
	w->out[w->nout].name = p->name;
	w->out_src[w->nout] = src;
	w->nout++;
}

/* Take what is ready from list[from, n) into out, up to max. */
static void
take_ready(struct watcher *w, struct pending *list, size_t from, size_t n,
    size_t srcbit, size_t max, int64_t now, int64_t *next_ms)
{
	int64_t wait;
	size_t i;
	int r;

	for (i = from; i < n && w->nout < max; i++) {
		struct pending *p = &list[i];

		if (P_DEAD(p))
			continue;
		wait = 0;
		r = settled(w, p, now, &wait);
		if (r == -1) {
			p->partner = P_GONE;
			continue;
		}
		if (r == 0) {
			if (*next_ms == -1 || wait < *next_ms)
				*next_ms = wait;
			continue;
		}
		hand_out(w, p, srcbit | i);
	}
}

size_t
watcher_ready(struct watcher *w, struct accept_file **files, size_t max,
    int64_t *next_ms)
{
	int64_t now = now_ms();

	*next_ms = -1;
	*files = NULL;
	w->nout = 0;
	drain_step(w, now);
	if (now < w->pass_retry)
		*next_ms = w->pass_retry - now;
	if (max == 0)
		return 0;
	if (out_room(w, max) == -1) {
		log_err("event=watch status=failed reason=\"out of memory\"");
		*next_ms = PASS_RETRY_MS;
		return 0;
	}
	memset(w->dedup, 0, w->dedupcap * sizeof(*w->dedup));
	take_ready(w, w->ev, 0, w->nev, 0, max, now, next_ms);
	if (w->scan != NULL)
		take_ready(w, w->scan, w->shead, w->nscan, OUT_SCAN, max, now,
		    next_ms);
	if (w->nout == 0 && w->drain != DRAIN_NONE && w->shead < w->nscan) {
		/* Everything left vanished? Then a pass may be due. */
		drain_step(w, now);
		if (w->drain == DRAIN_MORE && *next_ms == -1)
			*next_ms = 0;
	} else if (w->nout == 0 && (w->rescan || (w->drain != DRAIN_NONE &&
	    w->shead == w->nscan)) && *next_ms == -1)
		*next_ms = 0;	/* a pass to make, or a drain to end */
	*files = w->out;
	return w->nout;
}

void
watcher_done(struct watcher *w, bool keep)
{
	size_t i, o = 0, k;

	if (!keep)
		for (k = 0; k < w->nout; k++) {
			i = w->out_src[k];
			if (i & OUT_SCAN)
				w->scan[i & ~OUT_SCAN].partner = P_TAKEN;
			else
				w->ev[i].partner = P_TAKEN;
		}
	w->nout = 0;
	/* Drop handed-out and vanished entries. */
	for (i = 0; i < w->nev; i++) {
		if (P_DEAD(&w->ev[i])) {
			free(w->ev[i].name);
			continue;
		}
		w->ev[o++] = w->ev[i];
	}
	w->nev = o;
	if (o == 0)
		w->ev_full = false;
	while (w->shead < w->nscan && P_DEAD(&w->scan[w->shead]))
		free(w->scan[w->shead++].name);
}

void
watcher_return(struct watcher *w, const struct accept_file *files, size_t n)
{
	struct pending *p;
	size_t i, k, room, m = 0;

	/* Within the bound of announced files; the rest a scan finds. */
	room = w->nev < WATCHER_EVENTS_MAX ? WATCHER_EVENTS_MAX - w->nev : 0;
	if (n > room) {
		want_scan(w);
		n = room;
	}
	if (n == 0)
		return;
	if (w->nev + n > w->evcap) {
		if ((p = reallocarray(w->ev, w->nev + n, sizeof(*p))) ==
		    NULL) {
			want_scan(w);
			return;
		}
		w->ev = p;
		w->evcap = w->nev + n;
	}
	memmove(w->ev + n, w->ev, w->nev * sizeof(*w->ev));
	for (i = 0; i < n; i++) {
		for (k = 0; k < w->npartners; k++)
			if (w->partners[k].fd != -1 &&
			    w->partners[k].fd == files[i].dirfd)
				break;
		p = &w->ev[m];
		memset(p, 0, sizeof(*p));
		if (k == w->npartners ||
		    (p->name = strdup(files[i].name)) == NULL) {
			want_scan(w);
			continue;
		}
		p->partner = k;
		p->size = -1;
		m++;
	}
	/* Close the gap left by files not kept. */
	if (m < n)
		memmove(w->ev + m, w->ev + n, w->nev * sizeof(*w->ev));
	w->nev += m;
}
