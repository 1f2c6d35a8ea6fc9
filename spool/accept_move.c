/*
 * accept_move.c - the mover: a committed batch's renames on a thread of
 * their own, while the store thread records the next batch (issue 20).
 *
 * After its COMMIT a batch's files go from incoming/ to where the store
 * now says they are: one rename each (two fstatat to be sure it is the
 * upload that was read), then an fsync of each directory touched. On
 * the store thread that was about a fifth of its time per message, and
 * the store thread is what the whole acceptance waits for. So when
 * every file of a batch is a plain move (accept_mover_can(): no bundle,
 * no restore, no rejection or hold whose reason is written beside it,
 * no acknowledgment to write after, the bytes held so that a vanished
 * upload can be written from them), the store thread hands the batch to
 * the mover and goes on with the next one.
 *
 * What keeps this as safe as the moves made inline (accept.c's header,
 * DESIGN 5 and 13):
 * - Nothing is moved before COMMIT: a batch is given only after it.
 * - Only the last batch can have committed rows without their files
 *   (what start-up's accept_unrenamed() looks at): accept_batch() waits
 *   for the mover before each COMMIT, so a batch's moves are done
 *   before the next batch commits. Killed meanwhile, the files still in
 *   incoming/ belong to the last batch committed and are restored at
 *   start-up as before.
 * - Whatever looks at the state directories or incoming/ waits for the
 *   mover first (accept_mover_wait()): a message released from parked/
 *   (accept_apply.c), an upload found recorded (accept.c), a drain of
 *   incoming/ from its start, the cycle, a reload, the exit (spoold's
 *   accepting.c waits before it returns to its loop).
 * - The mover never touches the store: the one case that needs it (an
 *   upload gone with no bytes held) is not given to it.
 * - It works on its own copy of the spool's directory handles (struct
 *   spooldir), so that the flags of what it dirtied are its own (it
 *   takes over those the store thread had set, and fsyncs them all);
 *   the descriptors are the store thread's and stay open until it
 *   waits.
 * - It logs (a failed move, a copy written) like the inline moves.
 *
 * One batch at a time: a batch given while one is moving waits for it.
 * The thread blocks every signal (the daemon takes them by signalfd).
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "accept.h"
#include "accept_int.h"
#include "log.h"
#include "spooldir.h"

struct accept_mover {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;		/* a batch given, or quit */
	pthread_cond_t	 idle;		/* the batch is moved */
	pthread_t	 thread;
	bool		 quit;
	bool		 have;		/* a batch given, not yet moved */
	/* The batch: */
	struct spooldir	 sd;		/* a copy: its own dirty flags */
	struct outcome	*out;
	int		*dirfd;
	char		**name;
	size_t		 n;
};

bool
accept_mover_can(const struct outcome *out, size_t n,
    const struct accept_stats *stats)
{
	size_t i;

	if (stats->acks > 0)
		return false;
	for (i = 0; i < n; i++) {
		if (out[i].state < 0)
			continue;
		if (out[i].bundle || out[i].restore || out[i].buf == NULL ||
		    out[i].state == ST_REJECTED || out[i].state == ST_HELD)
			return false;
	}
	return true;
}

static void
batch_clear(struct accept_mover *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		free(m->out[i].buf);
		free(m->name[i]);
	}
	free(m->out);
	free(m->dirfd);
	free(m->name);
	m->out = NULL;
	m->dirfd = NULL;
	m->name = NULL;
	m->n = 0;
}

/* The moves of the batch given, then the fsyncs (accept.c's order). */
static void
move_batch(struct accept_mover *m)
{
	struct spool_error err;
	size_t i, k;

	for (i = 0; i < m->n; i++)
		if (m->out[i].state >= 0)
			accept_move_upload(&m->sd, NULL, m->dirfd[i],
			    m->name[i], &m->out[i]);
	/* The incoming directories: fsync each distinct one once. */
	for (i = 0; i < m->n; i++) {
		if (m->out[i].state < 0)
			continue;
		for (k = 0; k < i; k++)
			if (m->out[k].state >= 0 &&
			    m->dirfd[k] == m->dirfd[i])
				break;
		if (k == i)
			spooldir_fsync_fd(m->dirfd[i], "incoming", NULL);
	}
	spool_clearerr(&err);
	if (spooldir_sync(&m->sd, &err) == -1)
		log_err("event=sync status=failed reason=%s", LOG_Q(err.msg));
}

static void *
mover(void *arg)
{
	struct accept_mover *m = arg;

	(void)pthread_mutex_lock(&m->mu);
	for (;;) {
		while (!m->have && !m->quit)
			(void)pthread_cond_wait(&m->cv, &m->mu);
		if (!m->have)
			break;
		/* The batch is the mover's alone until have is cleared. */
		(void)pthread_mutex_unlock(&m->mu);
		move_batch(m);
		batch_clear(m);
		(void)pthread_mutex_lock(&m->mu);
		m->have = false;
		(void)pthread_cond_broadcast(&m->idle);
	}
	(void)pthread_mutex_unlock(&m->mu);
	return NULL;
}

struct accept_mover *
accept_mover_new(struct spool_error *err)
{
	struct accept_mover *m;
	sigset_t all, old;
	int e;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		spool_seterr(err, "out of memory");
		return NULL;
	}
	(void)pthread_mutex_init(&m->mu, NULL);
	(void)pthread_cond_init(&m->cv, NULL);
	(void)pthread_cond_init(&m->idle, NULL);
	sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&m->thread, NULL, mover, m);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		spool_seterr(err, "cannot start the mover thread: %s",
		    strerror(e));
		(void)pthread_cond_destroy(&m->idle);
		(void)pthread_cond_destroy(&m->cv);
		(void)pthread_mutex_destroy(&m->mu);
		free(m);
		return NULL;
	}
	(void)pthread_setname_np(m->thread, "spoold-move");
	return m;
}

void
accept_mover_wait(struct accept_mover *m)
{
	if (m == NULL)
		return;
	(void)pthread_mutex_lock(&m->mu);
	while (m->have)
		(void)pthread_cond_wait(&m->idle, &m->mu);
	(void)pthread_mutex_unlock(&m->mu);
}

void
accept_mover_free(struct accept_mover *m)
{
	if (m == NULL)
		return;
	(void)pthread_mutex_lock(&m->mu);
	m->quit = true;
	(void)pthread_cond_broadcast(&m->cv);
	(void)pthread_mutex_unlock(&m->mu);
	(void)pthread_join(m->thread, NULL);	/* after its last batch */
	(void)pthread_cond_destroy(&m->idle);
	(void)pthread_cond_destroy(&m->cv);
	(void)pthread_mutex_destroy(&m->mu);
	free(m);
}

int
accept_mover_give(struct accept_mover *m, struct spooldir *sd,
    const struct accept_file *files, struct outcome *out, size_t n)
{
	size_t i;

	accept_mover_wait(m);
	/* Not moving: the batch fields are the store thread's. */
	if ((m->dirfd = calloc(n, sizeof(*m->dirfd))) == NULL ||
	    (m->name = calloc(n, sizeof(*m->name))) == NULL)
		goto oom;
	for (i = 0; i < n; i++) {
		m->dirfd[i] = files[i].dirfd;
		if ((m->name[i] = strdup(files[i].name)) == NULL)
			goto oom;
	}
	/* The directories dirtied so far (accept_pass_settle()'s moves)
	 * are fsynced by the mover after its own moves. */
	m->sd = *sd;
	memset(sd->dirty, 0, sizeof(sd->dirty));
	m->sd.owed = NULL;
	m->sd.nowed = m->sd.owedcap = 0;
	m->out = out;
	m->n = n;
	(void)pthread_mutex_lock(&m->mu);
	m->have = true;
	(void)pthread_cond_signal(&m->cv);
	(void)pthread_mutex_unlock(&m->mu);
	return 0;
oom:
	for (i = 0; m->name != NULL && i < n; i++)
		free(m->name[i]);
	free(m->name);
	free(m->dirfd);
	m->name = NULL;
	m->dirfd = NULL;
	return -1;
}
