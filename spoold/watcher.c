/*
 * watcher.c - find the files that partners drop into incoming/.
 *
 * inotify watches incoming/ (for new partner directories and stray
 * files) and every partner directory. A file announced by IN_CLOSE_WRITE
 * or IN_MOVED_TO is complete and taken at once. A file found any other
 * way (the start-up scan, the rescan after IN_Q_OVERFLOW, a new partner
 * directory, a hard link) may still be growing: it is taken once its size
 * and mtime have not changed for at least SETTLE_MIN_MS since it was
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
 * The list of waiting files is in memory only: it is rebuilt by the
 * start-up scan, so losing it loses nothing.
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

struct partner {
	char	*name;		/* NULL: incoming/ itself (stray files) */
	int	 fd;
	int	 wd;
};

struct pending {
	size_t		 partner;	/* index into partners */
	char		*name;
	bool		 settle;	/* found by a scan */
	off_t		 size;
	struct timespec	 mtime;
	int64_t		 seen_ms;	/* since when size and mtime held */
};

struct watcher {
	int		 incoming_fd;
	int		 ifd;
	uint64_t	 settle_ms;
	struct partner	*partners;
	size_t		 npartners;
	struct pending	*pend;
	size_t		 npend, cap;
	struct accept_file *out;	/* handed out by watcher_ready() */
	size_t		*out_idx;
	size_t		 nout;
};

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
	for (i = 0; i < w->npend; i++)
		free(w->pend[i].name);
	free(w->pend);
	free(w->out);
	free(w->out_idx);
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
	return w->npend;
}

static void
add_pending(struct watcher *w, size_t partner, const char *name, bool settle)
{
	struct pending *p;

	if (accept_name_skipped(name))
		return;
	if (w->npend == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 64;

		if ((p = realloc(w->pend, ncap * sizeof(*p))) == NULL) {
			log_err("event=watch status=failed reason=\"out of "
			    "memory\" file=%s", LOG_Q(name));
			return;	/* the next scan finds it again */
		}
		w->pend = p;
		w->cap = ncap;
	}
	p = &w->pend[w->npend];
	memset(p, 0, sizeof(*p));
	if ((p->name = strdup(name)) == NULL)
		return;
	p->partner = partner;
	p->settle = settle;
	p->size = -1;
	w->npend++;
}

static int
add_partner(struct watcher *w, const char *name, struct spool_error *err)
{
	struct partner *np;
	char path[64];
	size_t i;
	int fd, wd = -1;

	for (i = 1; i < w->npartners; i++)
		if (strcmp(w->partners[i].name, name) == 0)
			return (int)i;
	if (!conf_partner_name_ok(name)) {
		log_warn("event=partner status=ignored dir=%s reason=\"not a "
		    "valid partner name\"", LOG_Q(name));
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
	return (int)w->npartners++;
}

static int
scan_dir(struct watcher *w, size_t partner, struct spool_error *err)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = dup(w->partners[partner].fd)) == -1 ||
	    (d = fdopendir(fd)) == NULL) {
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
		    de->d_type == DT_UNKNOWN)) {
			struct stat st;

			if (fstatat(w->incoming_fd, de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
				int p = add_partner(w, de->d_name, err);

				if (p == -2) {
					closedir(d);
					return -1;
				}
				if (p > 0 &&
				    scan_dir(w, (size_t)p, err) == -1) {
					closedir(d);
					return -1;
				}
				continue;
			}
		}
		add_pending(w, partner, de->d_name, true);
	}
	closedir(d);
	return 0;
}

int
watcher_scan(struct watcher *w, struct spool_error *err)
{
	return scan_dir(w, 0, err);
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
	/* Keep the slot (indices in pend refer to it); forget its files. */
	for (j = 0; j < w->npend; j++)
		if (w->pend[j].partner == i)
			w->pend[j].partner = (size_t)-1;
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
				if (watcher_scan(w, err) == -1)
					return -1;
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
				int pi = add_partner(w, ev->name, err);

				if (pi == -2)
					return -1;
				if (pi > 0 &&
				    scan_dir(w, (size_t)pi, err) == -1)
					return -1;
				continue;
			}
			if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
				add_pending(w, i, ev->name, false);
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
					add_pending(w, i, ev->name, false);
				else if (st.st_nlink > 1)
					add_pending(w, i, ev->name, true);
			}
		}
	}
}

static int
cmp_pending(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;

	if (x->partner != y->partner)
		return x->partner < y->partner ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Sort and drop repeated entries, keeping the one that needs no settle. */
static void
dedup(struct watcher *w)
{
	size_t i, o = 0;

	if (w->npend < 2)
		return;
	qsort(w->pend, w->npend, sizeof(*w->pend), cmp_pending);
	for (i = 0; i < w->npend; i++) {
		if (o > 0 && cmp_pending(&w->pend[o - 1], &w->pend[i]) == 0) {
			w->pend[o - 1].settle &= w->pend[i].settle;
			free(w->pend[i].name);
			continue;
		}
		w->pend[o++] = w->pend[i];
	}
	w->npend = o;
}

size_t
watcher_ready(struct watcher *w, struct accept_file **files, size_t max,
    int64_t *next_ms)
{
	struct stat st;
	int64_t now = now_ms(), wait;
	size_t i, o = 0;

	*next_ms = -1;
	dedup(w);
	free(w->out);
	free(w->out_idx);
	w->out = calloc(max ? max : 1, sizeof(*w->out));
	w->out_idx = calloc(max ? max : 1, sizeof(*w->out_idx));
	w->nout = 0;
	if (w->out == NULL || w->out_idx == NULL) {
		*files = NULL;
		return 0;
	}
	for (i = 0; i < w->npend && o < max; i++) {
		struct pending *p = &w->pend[i];

		if (p->partner == (size_t)-1)
			continue;	/* its directory is gone */
		if (p->settle) {
			int64_t mt, due;

			if (fstatat(w->partners[p->partner].fd, p->name, &st,
			    AT_SYMLINK_NOFOLLOW) == -1) {
				p->partner = (size_t)-1;	/* vanished */
				continue;
			}
			mt = (int64_t)st.st_mtim.tv_sec * 1000 +
			    st.st_mtim.tv_nsec / 1000000;
			if (p->size != st.st_size ||
			    p->mtime.tv_sec != st.st_mtim.tv_sec ||
			    p->mtime.tv_nsec != st.st_mtim.tv_nsec) {
				/* First look, or it changed: look again. */
				p->size = st.st_size;
				p->mtime = st.st_mtim;
				p->seen_ms = now;
			}
			/*
			 * Take it once it has held still since we first saw
			 * it for SETTLE_MIN_MS (even with settle_time = 0, a
			 * file just created by a writer is not taken empty)
			 * and for settle_time, by our clock or by its mtime,
			 * whichever says sooner (a future mtime never
			 * holds it back).
			 */
			wait = p->seen_ms + SETTLE_MIN_MS - now;
			due = p->seen_ms + (int64_t)w->settle_ms;
			if (mt + (int64_t)w->settle_ms < due)
				due = mt + (int64_t)w->settle_ms;
			if (S_ISREG(st.st_mode) && due - now > wait)
				wait = due - now;
			if (S_ISREG(st.st_mode) && wait > 0) {
				if (*next_ms == -1 || wait < *next_ms)
					*next_ms = wait;
				continue;
			}
		}
		w->out[o].dirfd = w->partners[p->partner].fd;
		w->out[o].partner = w->partners[p->partner].name;
		w->out[o].name = p->name;
		w->out_idx[o] = i;
		o++;
	}
	w->nout = o;
	*files = w->out;
	return o;
}

void
watcher_done(struct watcher *w, bool keep)
{
	size_t i, o = 0, k = 0;

	if (!keep)
		for (k = 0; k < w->nout; k++)
			w->pend[w->out_idx[k]].partner = (size_t)-2;
	/* Drop handed-out and vanished entries. */
	for (i = 0; i < w->npend; i++) {
		if (w->pend[i].partner >= (size_t)-2) {
			free(w->pend[i].name);
			continue;
		}
		w->pend[o++] = w->pend[i];
	}
	w->npend = o;
	w->nout = 0;
}
