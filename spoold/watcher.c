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
 * Scanned files: a scan (start-up, --once, IN_Q_OVERFLOW, a new partner
 * directory, too many events) is a drain over incoming/ in passes of at
 * most WATCHER_SCAN_CHUNK files, in arrival order; watcher_scan.c does
 * it, and its header gives the argument for order, for nothing taken
 * twice and for nothing starved.
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

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "watcher.h"
#include "watcher_int.h"

#define PARTNER_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | \
	IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
/* A scanned file must hold still at least this long, whatever settle_time. */
#define SETTLE_MIN_MS	50

#define TOP_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR)

#define OUT_SCAN	((size_t)1 << (sizeof(size_t) * CHAR_BIT - 1))

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
	watcher_free_scan(w);
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

bool
watcher_rescan_due(const struct watcher *w)
{
	return w->rescan;
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
		watcher_want_scan(w);
		return;
	}
	if (w->nev == w->evcap) {
		size_t ncap = w->evcap ? w->evcap * 2 : 64;

		if (ncap > WATCHER_EVENTS_MAX)
			ncap = WATCHER_EVENTS_MAX;
		if ((p = realloc(w->ev, ncap * sizeof(*p))) == NULL) {
			log_err("event=watch status=failed reason=\"out of "
			    "memory\" file=%s", LOG_Q(name));
			watcher_want_scan(w);
			return;
		}
		w->ev = p;
		w->evcap = ncap;
	}
	p = &w->ev[w->nev];
	memset(p, 0, sizeof(*p));
	if ((p->name = strdup(name)) == NULL) {
		watcher_want_scan(w);
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
int
watcher_add_partner(struct watcher *w, const char *name, bool quiet,
    bool *added, struct spool_error *err)
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
	/* Its name is emptied in place (no allocation that could fail and
	 * leave NULL where add_partner() compares names): "" matches no
	 * partner, so a directory of that name made again gets a new slot. */
	w->partners[i].name[0] = '\0';
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
				watcher_want_scan(w);
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
				int pi = watcher_add_partner(w, ev->name, false,
				    &added, err);

				if (pi == -2)
					return -1;
				/* What it holds already: found by a scan. */
				if (pi > 0 && added)
					watcher_want_scan(w);
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
 * The ms until p, last changed at mt (its mtime, ms) and unchanged
 * since p->seen_ms, has held still for SETTLE_MIN_MS by our clock and
 * for settle_time by our clock or its mtime, whichever says sooner; 0
 * or less: now.
 */
static int64_t
settle_wait(const struct watcher *w, const struct pending *p, int64_t mt,
    int64_t now)
{
	int64_t wt, due;

	wt = p->seen_ms + SETTLE_MIN_MS - now;
	due = p->seen_ms + (int64_t)w->settle_ms;
	if (mt + (int64_t)w->settle_ms < due)
		due = mt + (int64_t)w->settle_ms;
	if (due - now > wt)
		wt = due - now;
	return wt;
}

/*
 * May p be taken now? 1: yes; 0: not yet, *wait set to the ms until it
 * may be; -1: it is gone.
 */
static int
settled(struct watcher *w, struct pending *p, int64_t now, int64_t *wait)
{
	struct stat st;
	int64_t mt, wt;

	if (!p->settle)
		return 1;
	if (p->size != -1 && p->reg) {
		/* What it was when last seen says "not yet": if it has
		 * changed since, the wait is only longer. No lstat. */
		mt = (int64_t)p->mtime.tv_sec * 1000 +
		    p->mtime.tv_nsec / 1000000;
		if ((wt = settle_wait(w, p, mt, now)) > 0) {
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
	if ((wt = settle_wait(w, p, mt, now)) > 0) {
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
	int64_t now = watcher_now_ms();

	*next_ms = -1;
	*files = NULL;
	w->nout = 0;
	watcher_drain_step(w, now);
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
		watcher_drain_step(w, now);
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
		watcher_want_scan(w);
		n = room;
	}
	if (n == 0)
		return;
	if (w->nev + n > w->evcap) {
		if ((p = reallocarray(w->ev, w->nev + n, sizeof(*p))) ==
		    NULL) {
			watcher_want_scan(w);
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
			watcher_want_scan(w);
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
