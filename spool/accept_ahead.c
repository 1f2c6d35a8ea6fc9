/*
 * accept_ahead.c - pass 1 of an EDIFACT or X12 file over two threads
 * (DESIGN 9, 15; [processing] parse_threads above 1): a helper thread
 * goes through the file's messages from memory (bundle_edi_entries())
 * and checks each entry as accept_check() does on the pipeline's
 * workers (its tree, its keys, its schema; no store, no file), at most
 * AHEAD entries ahead; the store thread takes them in entry order and
 * records each (accept_bundle.c's pass 1, through the caller's
 * function). The helper frees each tree where it was made (its names
 * are in the helper's dictionary, its XPath context is the helper's),
 * so the store thread gets the keys, the hash and the verdict only.
 * The entries, the reasons and their order are those of pass 1 on one
 * thread (tests/integration/ediahead.sh compares them).
 *
 * Crash safety: the helper writes nothing, neither files nor rows; a
 * crash is pass 1's as before (nothing of the bundle is committed). A
 * failure of either side (the store, memory) stops both: the store
 * thread raises stop, wakes and joins the helper, and frees what was
 * checked and not recorded.
 */
#include "config.h"

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

#define AHEAD	64	/* entries checked ahead of the store thread */

struct checked {
	uint64_t		 index;
	char			*name;
	size_t			 len;
	uint8_t			 sha[DIGEST_LEN];
	bool			 checked;	/* k holds its check */
	struct accept_check	 k;
};

struct ahead {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct checked		 q[AHEAD];
	size_t			 head, n;
	bool			 done, stop;
	/* The helper's, read by the store thread once done. */
	int			 rc;
	uint64_t		 nentries;
	char			 why[SPOOL_ERRLEN];
	struct spool_error	 err;
	/* Read only, for the helper. */
	struct accept_ctx	*c;
	const struct accept_file *f;
	const struct bundle_edi	*edi;
	struct bundle_limits	 lim;
	struct dialect_xctx	*xctx;
};

static void
checked_free(struct checked *ch)
{
	free(ch->name);
	ch->name = NULL;
	if (ch->checked)
		accept_check_free(&ch->k);
	ch->checked = false;
}

static int
ahead_entry(void *arg, const struct bundle_entry *be, struct spool_error *err)
{
	struct ahead *a = arg;
	struct accept_src src;
	struct checked ch;
	struct msg *m;

	memset(&ch, 0, sizeof(ch));
	ch.index = be->index;
	ch.len = be->len;
	if ((ch.name = strdup(be->name)) == NULL) {
		spool_seterr(err, "out of memory");
		return -1;
	}
	digest_sha256(be->data, be->len, ch.sha);
	if (be->len <= a->c->conf->max_message_size) {
		memset(&src, 0, sizeof(src));
		src.partner = a->f->partner;
		src.orig_name = be->name;
		src.bundle = a->f->name;
		src.dict = be->dict;
		src.xctx = a->xctx;
		src.entry = be;
		(void)accept_check(a->c, &src, be->data, be->len, &ch.k);
		ch.checked = true;
		m = &ch.k.msg;
		if (m->doc != NULL) {
			if (m->doc_free != NULL)
				m->doc_free(m->doc);
			else
				xmlFreeDoc(m->doc);
			m->doc = NULL;
		}
	}
	pthread_mutex_lock(&a->mu);
	while (a->n == AHEAD && !a->stop)
		pthread_cond_wait(&a->cv, &a->mu);
	if (a->stop) {
		pthread_mutex_unlock(&a->mu);
		checked_free(&ch);
		spool_seterr(err, "stopped");
		return -1;
	}
	a->q[(a->head + a->n) % AHEAD] = ch;
	a->n++;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return 0;
}

static void *
ahead_run(void *arg)
{
	struct ahead *a = arg;
	struct spool_error err;
	char why[SPOOL_ERRLEN];
	uint64_t n = 0;
	int rc;

	spool_clearerr(&err);
	why[0] = '\0';
	rc = bundle_edi_entries(a->edi, &a->lim, ahead_entry, a, &n, why,
	    sizeof(why), &err);
	pthread_mutex_lock(&a->mu);
	a->rc = rc;
	a->nentries = n;
	memcpy(a->why, why, sizeof(why));
	a->err = err;
	a->done = true;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

int
accept_ahead(struct accept_ctx *c, const struct accept_file *f,
    const struct bundle_edi *edi, const struct bundle_limits *lim,
    accept_checked_fn record, void *arg, uint64_t *n, char *why,
    size_t whylen, struct spool_error *err)
{
	struct bundle_entry be;
	struct checked ch;
	struct ahead *a;
	pthread_t th;
	sigset_t all, old;
	int e, rc, ret = -1;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return 2;
	if ((a->xctx = dialect_xctx_new()) == NULL)
		goto nothread;
	a->c = c;
	a->f = f;
	a->edi = edi;
	a->lim = *lim;
	if (pthread_mutex_init(&a->mu, NULL) != 0)
		goto nothread;
	if (pthread_cond_init(&a->cv, NULL) != 0) {
		pthread_mutex_destroy(&a->mu);
		goto nothread;
	}
	/* Signals are the loop's, never the helper's. */
	sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&th, NULL, ahead_run, a);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e == 0)
		/* For top -H and perf. */
		(void)pthread_setname_np(th, "spoold-ahead");
	if (e != 0) {
		pthread_cond_destroy(&a->cv);
		pthread_mutex_destroy(&a->mu);
		goto nothread;
	}
	for (;;) {
		pthread_mutex_lock(&a->mu);
		while (a->n == 0 && !a->done)
			pthread_cond_wait(&a->cv, &a->mu);
		if (a->n == 0) {
			pthread_mutex_unlock(&a->mu);
			break;
		}
		ch = a->q[a->head];
		a->head = (a->head + 1) % AHEAD;
		a->n--;
		pthread_cond_broadcast(&a->cv);
		pthread_mutex_unlock(&a->mu);
		memset(&be, 0, sizeof(be));
		be.index = ch.index;
		be.name = ch.name;
		be.len = ch.len;
		rc = record(arg, &be, ch.checked ? &ch.k : NULL, ch.sha, err);
		checked_free(&ch);
		if (rc == -1)
			goto stop;
	}
	/* Every entry recorded: the helper's verdict on the file. */
	ret = a->rc;
	*n = a->nentries;
	snprintf(why, whylen, "%s", a->why);
	if (ret == -1)
		*err = a->err;
stop:
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	pthread_join(th, NULL);
	while (a->n > 0) {
		checked_free(&a->q[a->head]);
		a->head = (a->head + 1) % AHEAD;
		a->n--;
	}
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	dialect_xctx_free(a->xctx);
	free(a);
	return ret;
nothread:
	dialect_xctx_free(a->xctx);
	free(a);
	return 2;
}
