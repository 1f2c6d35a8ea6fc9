/*
 * accept_ahead.c - pass 1 of an EDIFACT or X12 file over several threads
 * (DESIGN 9, 15; [processing] parse_threads above 1): helper threads
 * (parse_threads - 1 of them) take the file's messages from memory in
 * order (bundle_edi_next(), bundle_edi_entry()) and check each entry as
 * accept_check() does on the pipeline's workers (its tree, its keys,
 * its schema; no store, no file), at most AHEAD entries ahead of the
 * store thread; the store thread takes them in entry order and records
 * each (accept_bundle.c's pass 1, through the caller's function).
 *
 * Work stealing: the entries form one queue, claimed in order by the
 * helpers and by the store thread. When the entry the store thread
 * needs next is not claimed yet, it checks it itself; when a helper is
 * still checking it, the store thread claims and checks the next
 * unclaimed entry rather than sleep (the helpers are behind: every core
 * checks), as accept_pipe.c's take() does for files. Each entry's check
 * lands in its slot of a ring (entry i in slot (i - 1) % AHEAD), so the
 * order in which they are recorded is the file's, whoever checked them.
 *
 * Threads: one mutex guards the claim cursor, the window and every
 * slot's state; a thread checks the entry it claimed outside the mutex,
 * and only it touches that slot until it marks it ready; the store
 * thread takes a slot only once it is ready. Each thread has its own
 * dictionary for the names of its trees and its own XPath context
 * (neither is safe to share), and frees each tree where it was made, so
 * a slot holds the keys, the hash and the verdict only. What the
 * threads share besides is read only while they run: the tokenized file
 * (struct bundle_edi), the configuration, the dialects and schemas (as
 * on the pipeline's workers). Helpers block every signal and never log.
 * The entries, the reasons and their order are those of pass 1 on one
 * thread (tests/integration/ediahead.sh compares them).
 *
 * Crash safety: the helpers write nothing, neither files nor rows; a
 * crash is pass 1's as before (nothing of the bundle is committed). A
 * failure of any side (the store, memory) stops all: the store thread
 * raises stop, wakes and joins the helpers, and frees what was checked
 * and not recorded.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "accept.h"
#include "accept_int.h"
#include "bundle.h"
#include "dialect.h"
#include "digest.h"
#include "log.h"

#define AHEAD		64	/* entries checked ahead of the store thread */
#define AHEAD_LOW	(AHEAD * 3 / 4)	/* a helper that found the window
					   full sleeps until no more are
					   ahead */
#define HELPERS_MAX	15	/* besides the store thread */

enum slot_state { SLOT_FREE, SLOT_BUSY, SLOT_READY };

struct checked {
	enum slot_state		 state;
	bool			 failed;	/* no entry made: out of
						   memory */
	char			*name;
	size_t			 len;
	uint8_t			 sha[DIGEST_LEN];
	bool			 checked;	/* k holds its check */
	struct accept_check	 k;
};

struct ahead;

/* One thread's means to check entries: a helper's, or the store
 * thread's own. */
struct checker {
	struct ahead		*a;
	pthread_t		 th;
	bool			 started;
	xmlDictPtr		 dict;
	struct dialect_xctx	*xctx;
	struct bundle_edi_buf	 buf;
	uint64_t		 nchecked;
};

struct ahead {
	pthread_mutex_t		 mu;
	pthread_cond_t		 ready;	/* for the store thread */
	pthread_cond_t		 work;	/* for helpers: room, or stop */
	struct checked		 q[AHEAD];
	struct bundle_edi_pos	 pos;	/* the last entry claimed */
	uint64_t		 next;	/* the entry the store thread needs */
	bool			 full;	/* a helper waits for room */
	bool			 end;	/* nothing more to claim */
	bool			 stop;
	uint64_t		 waits;	/* the store thread's, for a helper */
	uint64_t		 fulls;	/* helpers', for room */
	/* The file's verdict, once end: bundle_edi_entries()'s 0 or 1. */
	int			 rc;
	char			 why[SPOOL_ERRLEN];
	/* Read only, for the checkers. */
	struct accept_ctx	*c;
	const struct accept_file *f;
	const struct bundle_edi	*edi;
	struct bundle_limits	 lim;
};

static struct checked *
slot(struct ahead *a, uint64_t index)
{
	return &a->q[(index - 1) % AHEAD];
}

static void
checked_free(struct checked *ch)
{
	free(ch->name);
	ch->name = NULL;
	if (ch->checked)
		accept_check_free(&ch->k);
	ch->checked = false;
	ch->failed = false;
	ch->state = SLOT_FREE;
}

/* The next entry to check, claimed (*pos); NULL if none may be: the end
 * of the file, stopped, or the window full. Locked. */
static struct checked *
claim(struct ahead *a, struct bundle_edi_pos *pos)
{
	struct checked *ch;
	int rc;

	if (a->end || a->stop || a->pos.index + 1 >= a->next + AHEAD)
		return NULL;
	if ((rc = bundle_edi_next(a->edi, &a->lim, &a->pos, a->why,
	    sizeof(a->why))) != 1) {
		a->end = true;
		a->rc = rc == 2 ? 1 : 0;
		(void)pthread_cond_broadcast(&a->work);
		return NULL;
	}
	*pos = a->pos;
	ch = slot(a, pos->index);
	ch->state = SLOT_BUSY;
	return ch;
}

/* Check the entry at pos (claimed as ch), unlocked, and mark it
 * ready. */
static void
check(struct checker *ck, struct checked *ch, const struct bundle_edi_pos *pos)
{
	struct ahead *a = ck->a;
	struct bundle_entry be;
	struct accept_src src;
	char name[160];
	struct msg *m;

	(void)pthread_mutex_unlock(&a->mu);
	if (bundle_edi_entry(a->edi, pos, &ck->buf, ck->dict, name,
	    sizeof(name), &be) == -1 || (ch->name = strdup(name)) == NULL) {
		ch->failed = true;
		goto done;
	}
	ch->len = be.len;
	digest_sha256(be.data, be.len, ch->sha);
	if (be.len <= a->c->conf->max_message_size) {
		memset(&src, 0, sizeof(src));
		src.partner = a->f->partner;
		src.orig_name = be.name;
		src.bundle = a->f->name;
		src.dict = ck->dict;
		src.xctx = ck->xctx;
		src.entry = &be;
		(void)accept_check(a->c, &src, be.data, be.len, &ch->k);
		ch->checked = true;
		m = &ch->k.msg;
		if (m->doc != NULL) {
			/* Where it was made: its names are in ck's
			 * dictionary. */
			if (m->doc_free != NULL)
				m->doc_free(m->doc);
			else
				xmlFreeDoc(m->doc);
			m->doc = NULL;
		}
	}
	ck->nchecked++;
done:
	(void)pthread_mutex_lock(&a->mu);
	ch->state = SLOT_READY;
	(void)pthread_cond_broadcast(&a->ready);
}

static void *
helper(void *arg)
{
	struct checker *ck = arg;
	struct ahead *a = ck->a;
	struct bundle_edi_pos pos;
	struct checked *ch;

	(void)pthread_mutex_lock(&a->mu);
	while (!a->stop && !a->end) {
		if ((ch = claim(a, &pos)) == NULL) {
			if (a->stop || a->end)
				break;
			a->full = true;
			a->fulls++;
			(void)pthread_cond_wait(&a->work, &a->mu);
			continue;
		}
		check(ck, ch, &pos);
	}
	(void)pthread_mutex_unlock(&a->mu);
	return NULL;
}

static int
checker_init(struct checker *ck, struct ahead *a)
{
	memset(ck, 0, sizeof(*ck));
	ck->a = a;
	/* A dictionary of names for this thread's trees (NULL: each
	 * makes its own). */
	ck->dict = xmlDictCreate();
	if ((ck->xctx = dialect_xctx_new()) == NULL)
		return -1;
	return 0;
}

static void
checker_free(struct checker *ck)
{
	if (ck->dict != NULL)
		xmlDictFree(ck->dict);
	dialect_xctx_free(ck->xctx);
	free(ck->buf.p);
	memset(ck, 0, sizeof(*ck));
}

/*
 * The store thread's: the check of entry a->next, ready, or NULL when
 * there is no such entry (the end of the file). It checks entries
 * itself rather than wait for a helper. Locked.
 */
static struct checked *
take(struct checker *own)
{
	struct ahead *a = own->a;
	struct checked *ch = slot(a, a->next), *oc;
	struct bundle_edi_pos pos;

	for (;;) {
		if (ch->state == SLOT_READY)
			return ch;
		/* Not claimed yet, it is the next to claim; else a helper
		 * has it, and a later one is checked meanwhile. */
		if ((oc = claim(a, &pos)) != NULL) {
			check(own, oc, &pos);
			continue;
		}
		if (ch->state == SLOT_FREE)
			return NULL;	/* the end, or stopped */
		a->waits++;
		(void)pthread_cond_wait(&a->ready, &a->mu);
	}
}

int
accept_ahead(struct accept_ctx *c, const struct accept_file *f,
    const struct bundle_edi *edi, const struct bundle_limits *lim,
    accept_checked_fn record, void *arg, uint64_t *n, char *why,
    size_t whylen, struct spool_error *err)
{
	struct checker *cks = NULL, *own;
	struct bundle_entry be;
	struct checked ch, *sl;
	struct ahead *a;
	sigset_t all, old;
	unsigned nhelpers, started = 0, i;
	uint64_t index;
	int e, rc, ret = -1;

	nhelpers = accept_parse_threads(c->conf->parse_threads) - 1;
	if (nhelpers < 1)
		nhelpers = 1;
	if (nhelpers > HELPERS_MAX)
		nhelpers = HELPERS_MAX;
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (cks = calloc(nhelpers + 1, sizeof(*cks))) == NULL) {
		free(a);
		return 2;
	}
	own = &cks[nhelpers];
	a->c = c;
	a->f = f;
	a->edi = edi;
	a->lim = *lim;
	a->next = 1;
	for (i = 0; i <= nhelpers; i++)
		if (checker_init(&cks[i], a) == -1)
			goto nothread;
	if (pthread_mutex_init(&a->mu, NULL) != 0)
		goto nothread;
	if (pthread_cond_init(&a->ready, NULL) != 0) {
		pthread_mutex_destroy(&a->mu);
		goto nothread;
	}
	if (pthread_cond_init(&a->work, NULL) != 0) {
		pthread_cond_destroy(&a->ready);
		pthread_mutex_destroy(&a->mu);
		goto nothread;
	}
	/* Signals are the loop's, never a helper's. */
	sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	for (; started < nhelpers; started++) {
		if ((e = pthread_create(&cks[started].th, NULL, helper,
		    &cks[started])) != 0)
			break;
		cks[started].started = true;
		/* For top -H and perf. */
		(void)pthread_setname_np(cks[started].th, "spoold-ahead");
	}
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (started == 0) {
		pthread_cond_destroy(&a->work);
		pthread_cond_destroy(&a->ready);
		pthread_mutex_destroy(&a->mu);
		goto nothread;
	}
	for (;;) {
		pthread_mutex_lock(&a->mu);
		if ((sl = take(own)) == NULL) {
			pthread_mutex_unlock(&a->mu);
			break;
		}
		ch = *sl;
		memset(sl, 0, sizeof(*sl));	/* SLOT_FREE */
		index = a->next++;
		if (a->full && a->pos.index + 1 <= a->next + AHEAD_LOW) {
			a->full = false;
			pthread_cond_broadcast(&a->work);
		}
		pthread_mutex_unlock(&a->mu);
		if (ch.failed) {
			spool_seterr(err, "out of memory splitting an "
			    "interchange");
			checked_free(&ch);
			goto stop;
		}
		memset(&be, 0, sizeof(be));
		be.index = index;
		be.name = ch.name;
		be.len = ch.len;
		rc = record(arg, &be, ch.checked ? &ch.k : NULL, ch.sha, err);
		checked_free(&ch);
		if (rc == -1)
			goto stop;
	}
	/* Every entry recorded: the file's verdict. */
	ret = a->rc;
	*n = ret == 0 ? a->pos.index : 0;
	if (ret == 1)
		snprintf(why, whylen, "%s", a->why);
stop:
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	pthread_cond_broadcast(&a->work);
	pthread_mutex_unlock(&a->mu);
	for (i = 0; i < started; i++)
		pthread_join(cks[i].th, NULL);
	for (i = 0; i < AHEAD; i++)
		if (a->q[i].state == SLOT_READY)
			checked_free(&a->q[i]);
	log_debug("event=ahead partner=%s file=%s recorded=%" PRIu64
	    " helpers=%u stolen=%" PRIu64 " waits=%" PRIu64 " fulls=%" PRIu64,
	    LOG_Q(f->partner), LOG_Q(f->name), a->next - 1, started,
	    own->nchecked, a->waits, a->fulls);
	pthread_cond_destroy(&a->work);
	pthread_cond_destroy(&a->ready);
	pthread_mutex_destroy(&a->mu);
	for (i = 0; i <= nhelpers; i++)
		checker_free(&cks[i]);
	free(cks);
	free(a);
	return ret;
nothread:
	for (i = 0; i <= nhelpers; i++)
		checker_free(&cks[i]);
	free(cks);
	free(a);
	return 2;
}
