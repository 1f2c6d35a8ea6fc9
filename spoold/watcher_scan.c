/*
 * watcher_scan.c - the watcher's drain: finding the files in incoming/
 * that no event announced (start-up, --once, IN_Q_OVERFLOW, a new
 * partner directory, too many events), in arrival order and in bounded
 * memory. The watcher (watcher.c) asks for a drain, steps it
 * (watcher_drain_step()) and hands out what it finds.
 *
 * A drain is passes over incoming/ and each partner directory, reading
 * them with readdir (getdents, 32 KiB at a time) and lstat-ing each
 * name, never holding the list of names. A
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
 * Nothing here is durable: the scanned list is rebuilt by the start-up
 * scan, so losing it loses nothing.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "watcher.h"
#include "watcher_int.h"

/* The next pass of a drain when this few scanned files are left. */
#define SCAN_REFILL	(WATCHER_SCAN_CHUNK / 8)

void
watcher_free_scan(struct watcher *w)
{
	size_t i;

	for (i = w->shead; i < w->nscan; i++)
		free(w->scan[i].name);
	free(w->scan);
	w->scan = NULL;
	w->nscan = w->shead = 0;
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
			p = watcher_add_partner(w, de->d_name, w->cursor_set,
			    &added, err);
			if (p == -2) {
				closedir(d);
				return -1;
			}
			if (added && w->cursor_set)
				watcher_want_scan(w);
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
	now = watcher_now_ms();
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
void
watcher_drain_step(struct watcher *w, int64_t now)
{
	struct spool_error err;

	while (w->shead < w->nscan && P_DEAD(&w->scan[w->shead]))
		free(w->scan[w->shead++].name);
	if (now < w->pass_retry)
		return;
	spool_clearerr(&err);
	if (w->drain == DRAIN_LAST && w->shead == w->nscan) {
		watcher_free_scan(w);
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
		watcher_want_scan(w);	/* when this drain ends */
		return 0;
	}
	if (drain_start(w, err) == -1)
		return -1;
	if (scan_pass(w, err) == -1) {
		watcher_free_scan(w);
		w->drain = DRAIN_NONE;
		return -1;
	}
	return 0;
}
