/*
 * accept_pipe.c - acceptance as a pipeline over the cores: worker
 * threads prepare the next files (accept_prep.c: open, read, hash,
 * parse, check) while the store thread records, commits and moves the
 * ones before them (accept.c).
 *
 * Why a pipeline and not batches in parallel: the store has one writer
 * and classification (sequencer.c) must see the files in the order the
 * watcher hands them out, so recording stays on one thread, in order;
 * what can go beside it is everything before the store, about half of
 * the work per message, and the wait for a COMMIT's fsync, during which
 * the store thread does nothing. So the caller keeps up to two batches
 * in the pipe: while the store thread records batch N, commits it and
 * renames its files, the workers prepare the rest of N and then N+1.
 *
 * The files of all batches in the pipe form one queue, claimed in order
 * by the workers and, when the file it needs next is not claimed yet,
 * by the store thread itself (so it never waits for a file nobody
 * prepares, and a pipe with few files costs no latency). The store
 * thread takes each file's preparation in order; when the one it needs
 * is still a worker's, it prepares the next unclaimed one rather than
 * sleep (the workers are behind: both cores parse).
 *
 * Bounded memory: workers stay at most PIPE_AHEAD files and
 * PIPE_AHEAD_BYTES bytes of uploads ahead of the store thread (a parsed
 * 2 KiB message costs about 35 KiB, so the window holds about 4.5 MiB of
 * them); a taken file's bytes then count against the batch's own
 * HOLD_MAX (accept.c). A worker that finds the window full sleeps until
 * it is half empty, rather than being woken for every file taken. The batches' file lists
 * are copies: the watcher forgets them when they go in (the caller gives
 * the files of batches never recorded back to it).
 *
 * Threads: one mutex guards the queue and every item's state; a worker
 * prepares an item outside the mutex, and only it touches that item
 * until it marks it ready; the store thread touches an item's
 * preparation only once it is ready. What workers read besides their
 * item (configuration, schemas, dialects, the partner directories'
 * descriptors, a batch's accept_ctx) must not change while a batch is in
 * the pipe: the caller records or drops every batch before it reloads,
 * reads inotify events (which may close a directory) or returns to its
 * loop. Workers block every signal (the daemon takes them through a
 * signalfd) and never log.
 *
 * Crash safety: nothing here writes; a batch is recorded by
 * accept_batch() exactly as without the pipe (one transaction, renames
 * after COMMIT). Killed with batches in the pipe, their files are still
 * in incoming/ and nothing of them is in the store. Order, exactly-once
 * and the restore of a file whose move a crash lost are accept.c's,
 * unchanged.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "accept.h"
#include "accept_int.h"
#include "message.h"

/* Threads that parse at most, when the number is the cores': beyond,
 * the store thread is the bottleneck. */
#define PIPE_THREADS_AUTO	4
/* How far workers may run ahead of the store thread. */
#define PIPE_AHEAD		128
#define PIPE_AHEAD_BYTES	(4 * 1024 * 1024)
/* Parsed documents waiting for a worker to free them. */
#define PIPE_GC			64
/* A worker that found the window full sleeps until it is this empty:
 * not woken for every file the store thread takes. */
#define PIPE_LOW		(PIPE_AHEAD / 2)
#define PIPE_LOW_BYTES		(PIPE_AHEAD_BYTES / 2)

enum item_state { ITEM_NEW, ITEM_BUSY, ITEM_READY, ITEM_TAKEN };

struct pipe_item {
	enum item_state		 state;
	bool			 late;	/* in an earlier batch too: prepared
					   by the store thread, at its turn */
	struct accept_prep	 prep;
};

struct pipe_batch {
	struct pipe_batch	*next;
	struct accept_ctx	*ctx;
	struct accept_file	*files;
	struct pipe_item	*items;
	size_t			 n;
	char			*names;	/* the files' partners and names */
	size_t			*hash;	/* of files: index + 1, 0 empty */
	size_t			 hcap;	/* a power of two */
};

struct accept_pipe {
	pthread_mutex_t		 mu;
	pthread_cond_t		 work;	/* for workers: a file, or quit */
	pthread_cond_t		 ready;	/* for the store thread */
	pthread_t		*threads;
	unsigned		 nthreads;
	bool			 quit;
	struct pipe_batch	*head, *tail;
	size_t			 nbatches;
	struct pipe_batch	*cb;	/* the next file to claim: batch */
	size_t			 ci;	/* and index */
	size_t			 ahead;	/* claimed and not taken */
	size_t			 ahead_bytes;
	size_t			 busy;	/* being prepared */
	unsigned		 idle;	/* workers waiting on work */
	bool			 full;	/* one waits for the window to empty */
	/* Recorded messages' documents, freed by a worker (a ring). */
	struct msg		 gc[PIPE_GC];
	size_t			 gchead, ngc;
	/* Moves a recorded batch's files (accept_move.c). */
	struct accept_mover	*mover;
};

static void
batch_free(struct pipe_batch *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; b->items != NULL && i < b->n; i++)
		if (b->items[i].state == ITEM_READY)
			accept_prep_free(&b->items[i].prep);
	free(b->items);
	free(b->files);
	free(b->names);
	free(b->hash);
	free(b);
}

static size_t
file_hash(const struct accept_file *f)
{
	size_t h = 1469598103934665603ULL ^ (size_t)f->dirfd;
	const char *s;

	for (s = f->name; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Is f among b's files? */
static bool
batch_has(const struct pipe_batch *b, const struct accept_file *f)
{
	size_t h = file_hash(f) & (b->hcap - 1), k;

	while ((k = b->hash[h]) != 0) {
		if (b->files[k - 1].dirfd == f->dirfd &&
		    strcmp(b->files[k - 1].name, f->name) == 0)
			return true;
		h = (h + 1) & (b->hcap - 1);
	}
	return false;
}

static void
batch_hash_add(struct pipe_batch *b, size_t i)
{
	size_t h = file_hash(&b->files[i]) & (b->hcap - 1);

	while (b->hash[h] != 0)
		h = (h + 1) & (b->hcap - 1);
	b->hash[h] = i + 1;
}

/* Move the claim cursor past batches done and late files. Locked. */
static void
cursor_next(struct accept_pipe *p)
{
	for (;;) {
		while (p->cb != NULL && p->ci == p->cb->n) {
			p->cb = p->cb->next;
			p->ci = 0;
		}
		if (p->cb == NULL || !p->cb->items[p->ci].late)
			return;
		p->ci++;	/* the store thread's */
	}
}

/* The next file to prepare, claimed; NULL if none may be. Locked. */
static struct pipe_item *
claim(struct accept_pipe *p, struct pipe_batch **bp)
{
	struct pipe_item *it;

	cursor_next(p);
	if (p->cb == NULL || p->ahead >= PIPE_AHEAD ||
	    p->ahead_bytes >= PIPE_AHEAD_BYTES)
		return NULL;
	*bp = p->cb;
	it = &p->cb->items[p->ci++];
	it->state = ITEM_BUSY;
	p->ahead++;
	p->busy++;
	return it;
}

/* Prepare a claimed item, unlocked, and mark it ready. */
static void
prepare(struct accept_pipe *p, struct pipe_batch *b, struct pipe_item *it)
{
	(void)pthread_mutex_unlock(&p->mu);
	accept_prepare(b->ctx, &b->files[it - b->items], &it->prep);
	(void)pthread_mutex_lock(&p->mu);
	it->state = ITEM_READY;
	p->busy--;
	p->ahead_bytes += it->prep.len;
	(void)pthread_cond_broadcast(&p->ready);
}

static void *
worker(void *arg)
{
	struct accept_pipe *p = arg;
	struct pipe_batch *b;
	struct pipe_item *it;

	struct msg m;

	(void)pthread_mutex_lock(&p->mu);
	while (!p->quit) {
		if (p->ngc > 0) {
			m = p->gc[p->gchead];
			p->gchead = (p->gchead + 1) % PIPE_GC;
			p->ngc--;
			(void)pthread_mutex_unlock(&p->mu);
			msg_free(&m);
			(void)pthread_mutex_lock(&p->mu);
			continue;
		}
		if ((it = claim(p, &b)) == NULL) {
			if (p->cb != NULL)
				p->full = true;
			p->idle++;
			(void)pthread_cond_wait(&p->work, &p->mu);
			p->idle--;
			continue;
		}
		prepare(p, b, it);
	}
	(void)pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct accept_pipe *
accept_pipe_new(unsigned nthreads, struct spool_error *err)
{
	struct accept_pipe *p;
	sigset_t all, old;
	int e = 0;

	if (nthreads == 0) {
		spool_seterr(err, "a pipeline needs a worker thread");
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->threads = calloc(nthreads, sizeof(*p->threads))) == NULL) {
		free(p);
		spool_seterr(err, "out of memory");
		return NULL;
	}
	/* Before any thread: libxml2's global state (its documentation). */
	xmlInitParser();
	(void)pthread_mutex_init(&p->mu, NULL);
	(void)pthread_cond_init(&p->work, NULL);
	(void)pthread_cond_init(&p->ready, NULL);
	/* Workers take no signal: the daemon's go to its signalfd. */
	sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	for (; p->nthreads < nthreads; p->nthreads++) {
		if ((e = pthread_create(&p->threads[p->nthreads], NULL,
		    worker, p)) != 0)
			break;
		/* For top -H and perf. */
		(void)pthread_setname_np(p->threads[p->nthreads], "spoold-parse");
	}
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (p->nthreads < nthreads) {
		spool_seterr(err, "cannot start a parse thread: %s",
		    strerror(e));
		accept_pipe_free(p);
		return NULL;
	}
	if ((p->mover = accept_mover_new(err)) == NULL) {
		accept_pipe_free(p);
		return NULL;
	}
	return p;
}

struct accept_mover *
accept_pipe_mover(struct accept_pipe *p)
{
	return p != NULL ? p->mover : NULL;
}

void
accept_pipe_free(struct accept_pipe *p)
{
	unsigned i;

	if (p == NULL)
		return;
	accept_pipe_drop(p, NULL, NULL);
	(void)pthread_mutex_lock(&p->mu);
	p->quit = true;
	(void)pthread_cond_broadcast(&p->work);
	(void)pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->nthreads; i++)
		(void)pthread_join(p->threads[i], NULL);
	accept_mover_free(p->mover);	/* its last batch moved */
	for (; p->ngc > 0; p->ngc--) {
		msg_free(&p->gc[p->gchead]);
		p->gchead = (p->gchead + 1) % PIPE_GC;
	}
	(void)pthread_cond_destroy(&p->ready);
	(void)pthread_cond_destroy(&p->work);
	(void)pthread_mutex_destroy(&p->mu);
	free(p->threads);
	free(p);
}

unsigned
accept_pipe_threads(const struct accept_pipe *p)
{
	return p != NULL ? p->nthreads : 0;
}

size_t
accept_pipe_batches(const struct accept_pipe *p)
{
	return p->nbatches;	/* only the store thread changes it */
}

int
accept_pipe_submit(struct accept_pipe *p, struct accept_ctx *ctx,
    const struct accept_file *files, size_t n, struct spool_error *err)
{
	struct pipe_batch *b, *o;
	size_t i, len = 0, pl, nl, cap;
	char *s;

	for (i = 0; i < n; i++)
		len += (files[i].partner != NULL ?
		    strlen(files[i].partner) + 1 : 0) +
		    strlen(files[i].name) + 1;
	for (cap = 16; cap < 2 * n; cap *= 2)
		;
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->files = calloc(n, sizeof(*b->files))) == NULL ||
	    (b->items = calloc(n, sizeof(*b->items))) == NULL ||
	    (b->hash = calloc(cap, sizeof(*b->hash))) == NULL ||
	    (b->names = malloc(len)) == NULL) {
		batch_free(b);
		spool_seterr(err, "out of memory");
		return -1;
	}
	b->ctx = ctx;
	b->n = n;
	s = b->names;
	for (i = 0; i < n; i++) {
		b->files[i].dirfd = files[i].dirfd;
		if (files[i].partner != NULL) {
			pl = strlen(files[i].partner) + 1;
			memcpy(s, files[i].partner, pl);
			b->files[i].partner = s;
			s += pl;
		}
		nl = strlen(files[i].name) + 1;
		memcpy(s, files[i].name, nl);
		b->files[i].name = s;
		s += nl;
		/*
		 * In a batch before it too (announced and scanned, or
		 * uploaded again): read only once that batch has moved
		 * its files, as if the batches ran one after the other.
		 * Only the store thread adds and removes batches.
		 */
		for (o = p->head; o != NULL; o = o->next)
			if (batch_has(o, &b->files[i]))
				b->items[i].late = true;
	}
	b->hcap = cap;
	for (i = 0; i < n; i++)
		batch_hash_add(b, i);
	(void)pthread_mutex_lock(&p->mu);
	if (p->tail != NULL)
		p->tail->next = b;
	else
		p->head = b;
	p->tail = b;
	p->nbatches++;
	if (p->cb == NULL) {
		p->cb = b;
		p->ci = 0;
	}
	(void)pthread_cond_broadcast(&p->work);
	(void)pthread_mutex_unlock(&p->mu);
	return 0;
}

/* accept_batch()'s take: file i of the oldest batch, prepared. */
static struct accept_prep *
take(void *arg, size_t i)
{
	struct accept_pipe *p = arg;
	struct pipe_batch *b = p->head;
	struct pipe_item *it = &b->items[i];

	struct pipe_batch *ob;
	struct pipe_item *ot;

	(void)pthread_mutex_lock(&p->mu);
	if (it->state == ITEM_NEW) {
		/* Nobody has it yet: a late file, or the next to claim;
		 * either way ours. */
		if (!it->late) {
			cursor_next(p);
			assert(p->cb == b && p->ci == i);
			p->ci++;
		} else
			/* Its earlier batch's move may be under way. */
			accept_mover_wait(p->mover);
		it->state = ITEM_BUSY;
		p->ahead++;
		p->busy++;
		prepare(p, b, it);
	}
	while (it->state == ITEM_BUSY) {
		/* A worker has it: rather than sleep, prepare a later
		 * one (the workers are behind). */
		if ((ot = claim(p, &ob)) != NULL)
			prepare(p, ob, ot);
		else
			(void)pthread_cond_wait(&p->ready, &p->mu);
	}
	it->state = ITEM_TAKEN;
	p->ahead--;
	p->ahead_bytes -= it->prep.len;
	if (p->full && p->ahead <= PIPE_LOW &&
	    p->ahead_bytes <= PIPE_LOW_BYTES) {
		p->full = false;
		(void)pthread_cond_broadcast(&p->work);
	}
	(void)pthread_mutex_unlock(&p->mu);
	return &it->prep;
}

/*
 * accept_batch()'s put: a recorded file's preparation. Its document
 * (a tree of many small blocks from the worker's malloc arena) is freed
 * by a worker: freeing it here would take that arena's lock against the
 * worker for every block, on the thread everything waits for.
 */
static void
put(void *arg, struct accept_prep *pr)
{
	struct accept_pipe *p = arg;

	if (pr->chk.msg.doc != NULL) {
		(void)pthread_mutex_lock(&p->mu);
		if (p->ngc < PIPE_GC) {
			p->gc[(p->gchead + p->ngc++) % PIPE_GC] = pr->chk.msg;
			memset(&pr->chk.msg, 0, sizeof(pr->chk.msg));
			if (p->idle > 0 && p->ngc == PIPE_GC / 2)
				(void)pthread_cond_signal(&p->work);
		}
		(void)pthread_mutex_unlock(&p->mu);
	}
	accept_prep_free(pr);
}

int
accept_pipe_record(struct accept_pipe *p, const struct accept_apply *apply,
    size_t *nfiles, struct accept_stats *stats, struct spool_error *err)
{
	struct accept_source src = { take, put, p };
	struct pipe_batch *b = p->head;

	*nfiles = 0;
	if (b == NULL) {
		memset(stats, 0, sizeof(*stats));
		return 0;
	}
	*nfiles = b->n;
	if (accept_batch(b->ctx, apply, b->files, b->n, &src, stats,
	    err) == -1)
		return -1;	/* the caller drops the pipe */
	(void)pthread_mutex_lock(&p->mu);
	if (p->cb == b) {
		p->cb = b->next;
		p->ci = 0;
	}
	p->head = b->next;
	if (p->head == NULL)
		p->tail = NULL;
	p->nbatches--;
	(void)pthread_mutex_unlock(&p->mu);
	batch_free(b);
	return 0;
}

/* Give the batches' files back, the oldest first. */
static void
give_back(struct pipe_batch *b, void (*back)(void *,
    const struct accept_file *, size_t), void *arg)
{
	if (b == NULL)
		return;
	/* back() puts files in front of those it has: the newest first. */
	give_back(b->next, back, arg);
	back(arg, b->files, b->n);
}

void
accept_pipe_drop(struct accept_pipe *p, void (*back)(void *,
    const struct accept_file *, size_t), void *arg)
{
	struct pipe_batch *b, *next;

	(void)pthread_mutex_lock(&p->mu);
	p->cb = NULL;		/* nothing more is claimed */
	while (p->busy > 0)
		(void)pthread_cond_wait(&p->ready, &p->mu);
	b = p->head;
	p->head = p->tail = NULL;
	p->nbatches = 0;
	p->ahead = p->ahead_bytes = 0;
	(void)pthread_mutex_unlock(&p->mu);
	if (back != NULL)
		give_back(b, back, arg);
	for (; b != NULL; b = next) {
		next = b->next;
		batch_free(b);
	}
}

unsigned
accept_parse_threads(unsigned configured)
{
	long n;

	if (configured > 0)
		return configured;
	if ((n = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		return 1;
	return n > PIPE_THREADS_AUTO ? PIPE_THREADS_AUTO : (unsigned)n;
}
