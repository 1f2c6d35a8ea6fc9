/*
 * accepting.c - spoold's acceptance turn: take the batches the watcher
 * has ready and accept them (accept.c), through the pipeline of parse
 * threads (accept_pipe.c) when [processing] parse_threads asks for more
 * than one thread, else on the loop's thread alone.
 *
 * With the pipeline, two batches are kept in it, so that the next is
 * prepared while one is recorded and committed; each is handed to the
 * pipe as a copy and forgotten by the watcher at once. Every batch in
 * the pipe is recorded, or given back to the watcher (watcher_return(),
 * in front of what it holds) before accept_ready() returns and before a
 * signal is read: SIGHUP reloads the configuration and the schemas the
 * workers read, and inotify events may close a directory they read
 * from. A batch that fails (the store) is given back with every batch
 * after it, so order holds: they are offered again first.
 *
 * Crash safety: accept.c's; nothing here is durable (a batch given back
 * or lost to a crash is still in incoming/, found again by the watcher
 * or the start-up scan).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "accept.h"
#include "cycle.h"
#include "daemon_int.h"
#include "handler.h"
#include "http.h"
#include "log.h"
#include "pulse.h"
#include "store.h"
#include "watcher.h"

/*
 * After a batch: totals, and the log. On failure (rc -1) the caller
 * gives its files back to the watcher; the return is then
 * STORE_RETRY_MS, else 0.
 */
static int64_t
accept_done(struct daemon *d, int rc, size_t n, const struct accept_stats *st,
    struct spool_error *err, int64_t t0)
{
	d->accept_ms += store_now_ms() - t0;
	d->accepted += st->ready + st->parked + st->duplicate + st->rejected;
	d->processed += st->done + st->deferred + st->failed;
	/* A batch that applied messages (the one pass) is a processing
	 * cycle too, for the histogram. */
	if (st->done + st->deferred + st->failed > 0)
		pulse_observe(&d->ps.cycle, (double)(store_now_ms() - t0) /
		    1000);
	if (rc == -1) {
		if (strcmp(err->msg, d->accept_err) != 0)
			log_err("event=accept status=failed files=%zu "
			    "reason=%s retry_in=%dms", n, LOG_Q(err->msg),
			    STORE_RETRY_MS);
		else
			log_debug("event=accept status=failed files=%zu "
			    "reason=%s retry_in=%dms", n, LOG_Q(err->msg),
			    STORE_RETRY_MS);
		snprintf(d->accept_err, sizeof(d->accept_err), "%s", err->msg);
		return STORE_RETRY_MS;
	}
	if (d->accept_err[0] != '\0') {
		log_notice("event=accept status=ok reason=\"the store takes "
		    "writes again\"");
		d->accept_err[0] = '\0';
	}
	d->unfinished += (int)st->unfinished;
	/* Interchanges split into files of their own: take them (a drain
	 * from the start: once the files before are moved). */
	if (st->split > 0)
		accept_mover_wait(accept_pipe_mover(d->pipe));
	if (st->split > 0 && watcher_scan(d->watcher, err) == -1)
		log_err("event=scan status=failed reason=%s", LOG_Q(err->msg));
	/* Committed: submissions over HTTP look for their files, once the
	 * files are where the store says. */
	if (http_landed(d->http))
		accept_mover_wait(accept_pipe_mover(d->pipe));
	http_kick(d->http);
	if (n > st->vanished)
		log_info("event=batch files=%zu ready=%u parked=%u "
		    "duplicate=%u rejected=%u restored=%u bundles=%u",
		    n - st->vanished, st->ready, st->parked, st->duplicate,
		    st->rejected, st->restored, st->bundles);
	return 0;
}

static int64_t accept_piped_run(struct daemon *, struct accept_ctx *,
    const struct accept_apply *);

static void
give_back(void *arg, const struct accept_file *files, size_t n)
{
	struct daemon *d = arg;

	watcher_return(d->watcher, files, n);
}

/*
 * Accept what is ready through the pipeline (accept_pipe.c): two
 * batches in it, so that the next is prepared while one is recorded.
 * Every batch is recorded or given back before this returns (or before
 * a signal is read, since SIGHUP reloads what the workers read).
 */
static int64_t
accept_piped(struct daemon *d, struct accept_ctx *ctx,
    const struct accept_apply *ap)
{
	int64_t next;

	ctx->mover = accept_pipe_mover(d->pipe);
	next = accept_piped_run(d, ctx, ap);
	/* The last batch's files where the store says, before the loop
	 * scans, cycles or reloads. */
	accept_mover_wait(ctx->mover);
	return next;
}

static int64_t
accept_piped_run(struct daemon *d, struct accept_ctx *ctx,
    const struct accept_apply *ap)
{
	struct accept_file *files;
	struct accept_stats st;
	struct spool_error err;
	int64_t next = -1, t0;
	size_t n;
	int rc;

	for (;;) {
		if (daemon_stop_pending(d))
			accept_pipe_drop(d->pipe, give_back, d);
		if (daemon_stopping(d))
			return -1;
		while (accept_pipe_batches(d->pipe) < 2) {
			/* A drain from the start would find the files the
			 * mover still moves. */
			if (watcher_rescan_due(d->watcher))
				accept_mover_wait(ctx->mover);
			/* Below min_free_space: the files stay. */
			hk_space(d);
			if (d->low_space) {
				next = TROUBLE_RETRY_MS;
				break;
			}
			n = watcher_ready(d->watcher, &files, ACCEPT_BATCH_MAX,
			    &next);
			if (n == 0)
				break;
			spool_clearerr(&err);
			rc = accept_pipe_submit(d->pipe, ctx, files, n, &err);
			watcher_done(d->watcher, rc == -1);
			if (rc == -1) {
				log_err("event=accept status=failed reason=%s",
				    LOG_Q(err.msg));
				next = STORE_RETRY_MS;
				break;
			}
		}
		if (accept_pipe_batches(d->pipe) == 0)
			return next;
		spool_clearerr(&err);
		t0 = store_now_ms();
		rc = accept_pipe_record(d->pipe, ap, &n, &st, &err);
		if (accept_done(d, rc, n, &st, &err, t0) != 0) {
			accept_pipe_drop(d->pipe, give_back, d);
			return STORE_RETRY_MS;
		}
	}
}

/* Accept what is ready. Returns ms until the next look, or -1. */
int64_t
accept_ready(struct daemon *d)
{
	struct cycle_ctx cc = { d->conf, &d->store, &d->sd, handler_route,
	    &d->router, d->schemas, NULL, NULL, NULL, NULL };
	struct accept_ctx ctx = { d->conf, d->schemas, &d->store, &d->sd,
	    &d->dialects, NULL };
	struct accept_apply ap = { &cc, handler_in_tx };
	struct accept_file *files;
	struct accept_stats st;
	struct spool_error err;
	unsigned want;
	int64_t next, t0;
	int rc;
	size_t n;

	/* The pipeline [processing] parse_threads asks for (a reload may
	 * change it): none with one thread. */
	want = accept_parse_threads(d->conf->parse_threads) - 1;
	if (want != accept_pipe_threads(d->pipe) && (d->pipe != NULL ||
	    want != d->pipe_failed)) {
		accept_pipe_free(d->pipe);
		d->pipe = NULL;
		d->pipe_failed = 0;
		spool_clearerr(&err);
		if (want > 0 && (d->pipe = accept_pipe_new(want, &err)) ==
		    NULL) {
			log_err("event=accept status=failed reason=%s "
			    "note=\"parsing on the store thread\"",
			    LOG_Q(err.msg));
			d->pipe_failed = want;
		} else if (want > 0)
			log_info("event=accept status=pipeline "
			    "parse_threads=%u", want + 1);
	}
	if (d->pipe != NULL)
		return accept_piped(d, &ctx, &ap);
	for (;;) {
		if (daemon_stopping(d))
			return -1;
		/* Below min_free_space: the files stay where they are. */
		hk_space(d);
		if (d->low_space)
			return TROUBLE_RETRY_MS;
		n = watcher_ready(d->watcher, &files, ACCEPT_BATCH_MAX, &next);
		if (n == 0)
			return next;
		spool_clearerr(&err);
		t0 = store_now_ms();
		rc = accept_files_apply(&ctx, &ap, files, n, &st, &err);
		watcher_done(d->watcher, rc == -1);
		if (accept_done(d, rc, n, &st, &err, t0) != 0)
			return STORE_RETRY_MS;
	}
}
