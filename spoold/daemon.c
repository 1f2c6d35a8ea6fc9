/*
 * daemon.c - spoold's run loop: one epoll over inotify, signals and a
 * timer.
 *
 * Start-up opens the spool, the store (migrating it) and the schemas,
 * notes the daemon's pid in the store for spoolctl, puts right what a
 * crash left (startup.c: bundles, reconciliation, unwritten outbound
 * messages), and scans incoming/.
 * Then, until SIGTERM or SIGINT: take the files the watcher has ready,
 * accept them in one store transaction per batch, and sleep in
 * epoll_wait until inotify, a signal, or the timer (a settling file, a
 * retry after a store error) wakes us. No polling, no sleep loops.
 *
 * SIGTERM/SIGINT finish the chunk or batch in hand (it is committed and
 * moved) and exit 0: the signal stays pending on the signalfd until the
 * loop reads it, so sigpending() tells the cycle (between chunks), the
 * acceptance loop (between batches) and the exec calls (before each
 * call) that it has come, and nothing new starts after it. SIGHUP
 * reloads the config and the schemas; a bad new config or schema set is
 * refused and the old one kept.
 *
 * Between two turns the loop does its periodic jobs (housekeep.c):
 * every GUARD_MS it checks that spoold.lock and spool.db are still
 * the files it locked and opened (device and inode at their paths). A
 * removed or replaced lock file lets a second spoold start beside us
 * (exec calls twice); a removed store would be written on to its grave
 * and be gone at the next start. Either way spoold logs it at err and
 * exits at once with EX_OSFILE, writing nothing more to the store,
 * rather than fork the spool's history.
 *
 * The HTTP server (http.c) runs on a thread of its own and never writes
 * the store: the API's writes (retry, skip, purge, configuration; api.h)
 * come through an eventfd in the same epoll (LOOP_HTTP) and run here
 * between two steps of the loop (run_http()); after every acceptance
 * batch, and at every turn, submissions waiting for their accept COMMIT
 * are woken (http_kick()).
 *
 * With --once: scan, accept everything present (waiting for files that
 * are still settling), and exit when nothing is left in incoming/.
 *
 * Exec calls (the exec handler's exec_calls, handlers/exec.c) run as
 * child processes of the runner (execq.c); their ends (a signalfd for
 * SIGCHLD) and their stderr pipes are watched in the same epoll, and
 * the loop's tag tells the kinds apart (LOOP_*, loop.c, which owns the
 * epoll). After each cycle the handler starts the
 * calls the cycle left pending (at start-up also those a crash left); a
 * completed call may release a successor, so a cycle follows at once.
 * The timer also covers the calls' timeouts. On SIGTERM no new call
 * starts and spoold waits for the running ones to end (their timeouts
 * still apply) before it exits; --once waits for them too, and exits
 * when nothing is pending.
 *
 * Disk full and I/O errors (spoold(8), DISK FULL): before each round of
 * acceptance, statvfs() of the spool; below min_free_space nothing is
 * accepted (files stay in incoming/, the watcher keeps them) until there
 * is room again, looked at on the timer. A bundle whose entry files
 * could not all be written (ENOSPC, EIO) stays in incoming/ and is
 * finished on the timer (accept_bundles_restore()); until then no
 * processing cycle runs, since the store has rows whose files are not
 * there yet. Outbound files that could not be written are written on
 * the timer too. Each condition is logged when it begins and when it
 * ends, not on every retry (the retries are housekeep.c's), and
 * written to <spool>/spoold.status for spoolctl status (publish.c, which
 * also tells systemd and the HTTP thread).
 *
 * What is left here is the loop and its dispatch: start-up and its
 * order, signals and reload, the cycle, the exec calls' turn, and the
 * sleep until the soonest deadline; acceptance's turn is accepting.c's. The modules that do
 * its jobs share struct daemon through daemon_int.h.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sysexits.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "accept.h"
#include "api.h"
#include "autohold.h"
#include "cycle.h"
#include "cmdcheck.h"
#include "daemon.h"
#include "daemon_int.h"
#include "exec.h"
#include "execq.h"
#include "loop.h"
#include "handler.h"
#include "log.h"
#include "http.h"
#include "notify.h"
#include "pulse.h"
#include "schema.h"
#include "spooldir.h"
#include "spoollock.h"
#include "store.h"
#include "store_cycle.h"
#include "watcher.h"

static int
arm_timer(struct daemon *d, int64_t ms)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	if (ms >= 0) {
		if (ms == 0)
			ms = 1;
		its.it_value.tv_sec = ms / 1000;
		its.it_value.tv_nsec = (ms % 1000) * 1000000;
	}
	return timerfd_settime(d->timerfd, 0, &its, NULL);
}

/*
 * What spoold held for a mistake on our side that is fixed now goes on
 * (DESIGN 18): after a reload, and at start (a restart fixes as much).
 * The loop's next turn runs the cycle that takes it.
 */
static void
release_fixed(struct daemon *d)
{
	struct cycle_ctx ctx = { d->conf, &d->store, &d->sd, NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL };
	struct spool_error err;

	spool_clearerr(&err);
	if (autohold_release_fixed(&ctx, &err) == -1)
		log_err("event=release status=failed reason=%s",
		    LOG_Q(err.msg));
}

static void
reload(struct daemon *d)
{
	struct spool_error err;
	struct schema_set *ns;
	struct dialect_set nds;
	struct conf nc;

	spool_clearerr(&err);
	if (conf_load_cmdline(&nc, d->conf_path, d->spool_dir_opt, &err) ==
	    -1) {
		log_err("event=reload status=refused reason=%s",
		    LOG_Q(err.msg));
		return;
	}
	if ((ns = schema_set_load(nc.schema_dir, &err)) == NULL) {
		log_err("event=reload status=refused reason=%s",
		    LOG_Q(err.msg));
		conf_free(&nc);
		return;
	}
	if (dialect_set_load_conf(&nds, &nc, &err) == -1) {
		log_err("event=reload status=refused reason=%s",
		    LOG_Q(err.msg));
		schema_set_free(ns);
		conf_free(&nc);
		return;
	}
	dialect_set_free(&d->dialects);
	d->dialects = nds;
	if (strcmp(nc.spool_dir, d->conf->spool_dir) != 0)
		log_warn("event=reload spool=%s reason=\"a new spool directory "
		    "takes effect at restart\"", LOG_Q(nc.spool_dir));
	free(nc.spool_dir);
	nc.spool_dir = d->conf->spool_dir;
	d->conf->spool_dir = NULL;
	conf_free(d->conf);
	*d->conf = nc;
	schema_set_free(d->schemas);
	d->schemas = ns;
	d->router.schemas = ns;
	log_init("spoold", d->conf->log_target, d->verbose ? LOG_DEBUG :
	    d->conf->log_level);
	if (http_reload(d->http, d->conf, &err) == -1)
		log_err("event=reload status=failed reason=%s "
		    "tokens=unchanged", LOG_Q(err.msg));
	watcher_set_settle(d->watcher, d->conf->settle_time_ms);
	log_notice("event=reload status=ok schemas=%zu routes=%zu",
	    schema_set_count(ns), d->conf->nroutes);
	(void)cmdcheck_routes(d->conf, NULL);	/* warns, as at start */
	release_fixed(d);
}

/*
 * Has SIGTERM or SIGINT come? It is blocked and waits on the signalfd
 * until handle_signals() reads it, so sigpending() sees it at once. The
 * cycle and the exec calls ask this (they must not reload a config).
 */
static bool
stop_pending(void *arg)
{
	struct daemon *d = arg;
	sigset_t set;

	if (d->stop)
		return true;
	if (sigpending(&set) == -1)
		return false;
	return sigismember(&set, SIGTERM) == 1 ||
	    sigismember(&set, SIGINT) == 1;
}

static void	handle_signals(struct daemon *);

/* Between two steps of the loop: stop now if told to (logged). */
static bool
stopping(struct daemon *d)
{
	if (!d->stop && stop_pending(d))
		handle_signals(d);
	return d->stop;
}

bool
daemon_stopping(struct daemon *d)
{
	return stopping(d);
}

bool
daemon_stop_pending(struct daemon *d)
{
	return stop_pending(d);
}

static void
handle_signals(struct daemon *d)
{
	struct signalfd_siginfo si;
	ssize_t n;

	while ((n = read(d->sigfd, &si, sizeof(si))) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_notice("event=stop signal=%s",
			    si.ssi_signo == SIGTERM ? "TERM" : "INT");
			d->stop = true;
			break;
		case SIGHUP:
			reload(d);
			break;
		case SIGUSR1:
			/* Nothing to do here: waking up runs a cycle. */
			log_debug("event=wakeup signal=USR1");
			break;
		}
	}
}

/*
 * Run one processing cycle. Returns 0 when more may be ready (loop at
 * once), else ms until the next deferred message is due, or -1.
 */
static int64_t
process_ready(struct daemon *d)
{
	struct cycle_ctx ctx = { d->conf, &d->store, &d->sd, handler_route,
	    &d->router, d->schemas, NULL, NULL, stop_pending, d };
	struct cycle_stats st;
	struct spool_error err;
	int64_t t0;
	int rc;

	spool_clearerr(&err);
	t0 = store_now_ms();
	publish_pulse(d, t0);
	rc = cycle_run(&ctx, &st, &err);
	d->process_ms += store_now_ms() - t0;
	if (st.taken > 0)
		pulse_observe(&d->ps.cycle, (double)(store_now_ms() - t0) /
		    1000);
	d->processed += st.done + st.deferred + st.failed;
	if (rc == -1) {
		/* Logged once, not once a second (a full disk lasts). */
		if (strcmp(err.msg, d->cycle_err) != 0)
			log_err("event=cycle status=failed reason=%s "
			    "retry_in=%dms", LOG_Q(err.msg), STORE_RETRY_MS);
		else
			log_debug("event=cycle status=failed reason=%s "
			    "retry_in=%dms", LOG_Q(err.msg), STORE_RETRY_MS);
		snprintf(d->cycle_err, sizeof(d->cycle_err), "%s", err.msg);
		return STORE_RETRY_MS;
	}
	if (d->cycle_err[0] != '\0') {
		log_notice("event=cycle status=ok reason=\"cycles commit "
		    "again\"");
		d->cycle_err[0] = '\0';
	}
	if (st.taken > 0 || st.stopped) {
		log_info("event=cycle messages=%u done=%u deferred=%u "
		    "failed=%u released=%u external=%u chunks_replayed=%u%s",
		    st.taken, st.done, st.deferred, st.failed, st.released,
		    st.external, st.chunks_failed, st.stopped ?
		    " status=stopped" : "");
		return 0;
	}
	spool_clearerr(&err);
	return cycle_next_due_in(&d->store, &err);
}

static int64_t
min_wait(int64_t a, int64_t b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

static int
setup_fds(struct daemon *d)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);	/* spoolctl: the store changed */
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	if ((d->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) ==
	    -1)
		return -1;
	if ((d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1)
		return -1;
	if (loop_open(&d->loop, NULL) == -1 ||
	    loop_add(&d->loop, d->sigfd, LOOP_SIGNAL) == -1 ||
	    loop_add(&d->loop, d->timerfd, LOOP_TIMER) == -1)
		return -1;
	if (watcher_fd(d->watcher) != -1 &&
	    loop_add(&d->loop, watcher_fd(d->watcher), LOOP_WATCH) == -1)
		return -1;
	return 0;
}

/*
 * The HTTP API's writes (api.h): each queued command runs here, on the
 * loop's store connection, and goes back to the HTTP thread with its
 * answer. A retry or skip is followed by a cycle in the same turn.
 */
static void
run_http(struct daemon *d)
{
	struct api_ctx x = { d->conf, &d->store, &d->sd, d->verbose };
	struct api_cmd *c;

	while ((c = http_cmd_take(d->http)) != NULL) {
		api_exec(&x, c);
		http_cmd_done(d->http, c);
	}
}

/*
 * Sleep in epoll_wait until an event or `next' ms (-1: no limit), then
 * hand out what came. EX_OK, or an exit code when the loop must end.
 */
static int
wait_events(struct daemon *d, int64_t next)
{
	struct loop_event evs[16];
	struct spool_error err;
	uint64_t expirations, tag;
	int i, n;

	if (arm_timer(d, next) == -1) {
		log_err("event=timer status=failed reason=%s",
		    LOG_Q(strerror(errno)));
		return EX_OSERR;
	}
	n = loop_wait(&d->loop, evs, 16);
	if (n == -1) {
		log_err("event=epoll status=failed reason=%s",
		    LOG_Q(strerror(errno)));
		return EX_OSERR;
	}
	for (i = 0; i < n; i++) {
		tag = evs[i].tag;
		if (tag & LOOP_EXECQ)
			execq_event(d->execq, tag, evs[i].events);
		else if (tag == LOOP_SIGNAL)
			handle_signals(d);
		else if (tag == LOOP_TIMER) {
			if (read(d->timerfd, &expirations,
			    sizeof(expirations)) == -1 && errno != EAGAIN)
				log_warn("event=timer reason=%s",
				    LOG_Q(strerror(errno)));
		} else if (tag == LOOP_HTTP)
			run_http(d);
		else if (tag == LOOP_WATCH) {
			spool_clearerr(&err);
			if (watcher_read_events(d->watcher, &err) == -1) {
				log_err("event=watch status=failed "
				    "reason=%s", LOG_Q(err.msg));
				return EX_OSERR;
			}
		}
	}
	return EX_OK;
}

static int
run(struct daemon *d)
{
	int64_t next, pnext;
	unsigned done;
	int rc;

	while (!stopping(d)) {
		(void)hk_guard(d);
		if (d->lost)
			return EX_OSFILE;
		next = accept_ready(d);
		if (stopping(d))
			break;
		if (hk_in_trouble(d) && store_now_ms() >= d->trouble_due) {
			hk_retry_writes(d);
			d->trouble_due = store_now_ms() + TROUBLE_RETRY_MS;
		}
		/* Rows whose files are not all written: nothing is processed
		 * until the bundle is finished. */
		pnext = d->unfinished == 0 ? process_ready(d) : -1;
		publish_status(d);
		publish_pulse(d, 0);
		/* Submissions that wait too long give up (every turn). */
		http_kick(d->http);
		if (stopping(d))
			break;
		/* Exec calls: deadlines, then what cycles left pending. */
		execq_tick(d->execq);
		exec_calls_tick(d->calls);
		exec_calls_start(d->calls);
		if ((done = exec_calls_take_completed(d->calls)) > 0) {
			d->processed += done;
			pnext = 0;	/* a successor may be ready */
		}
		if (d->once && (watcher_pending(d->watcher) == 0 ||
		    d->low_space) && pnext != 0 && exec_calls_idle(d->calls))
			return EX_OK;
		next = min_wait(min_wait(next, pnext),
		    min_wait(execq_next_timeout(d->execq),
		    exec_calls_next_timeout(d->calls)));
		if (hk_in_trouble(d))
			next = min_wait(next, d->trouble_due > store_now_ms() ?
			    d->trouble_due - store_now_ms() : 1);
		next = min_wait(next, hk_gaps(d));
		next = min_wait(next, hk_acks(d));
		next = min_wait(next, hk_retention(d));
		next = min_wait(next, hk_guard(d));
		next = min_wait(next, notify_watchdog(&d->notify,
		    store_now_ms()));
		if (d->http != NULL)	/* /health: the loop turns */
			next = min_wait(next, PULSE_EVERY_MS);
		if (d->lost)
			return EX_OSFILE;
		if ((rc = wait_events(d, next)) != EX_OK)
			return rc;
	}
	/* Stopping: no new call; the running ones end (or time out). */
	notify_stopping(&d->notify);
	exec_calls_stop(d->calls);
	if (execq_running(d->execq) > 0)
		log_notice("event=stop exec_running=%u reason=\"waiting for "
		    "exec calls to end\"", execq_running(d->execq));
	while (execq_running(d->execq) > 0) {
		execq_tick(d->execq);
		exec_calls_tick(d->calls);
		if ((rc = wait_events(d, min_wait(min_wait(
		    execq_next_timeout(d->execq),
		    exec_calls_next_timeout(d->calls)),
		    notify_watchdog(&d->notify, store_now_ms())))) != EX_OK)
			return rc;
	}
	return EX_OK;
}

int
daemon_run(struct conf *conf, const char *conf_path, const char *spool_dir,
    bool once, bool verbose)
{
	struct spool_error err;
	struct daemon d;
	char *db = NULL;
	int rc = EX_OK;

	memset(&d, 0, sizeof(d));
	d.verbose = verbose;
	d.conf = conf;
	d.conf_path = conf_path;
	d.spool_dir_opt = spool_dir;
	d.once = once;
	d.router.conf = conf;
	d.loop.epfd = d.sigfd = d.timerfd = d.lockfd = d.statusfd = -1;
	notify_init(&d.notify);
	pulse_init(&d.pulse);
	spool_clearerr(&err);
	xmlInitParser();

	if (spooldir_open(&d.sd, conf->spool_dir, &err) == -1) {
		log_err("event=start status=failed reason=%s", LOG_Q(err.msg));
		return EX_NOINPUT;
	}
	/* One spoold per spool; before the store, so that nothing (not
	 * even a migration) runs beside another one. */
	if ((d.lockfd = spool_lock(d.sd.root_fd, conf->spool_dir, "spoold",
	    &err)) < 0) {
		log_err("event=start status=failed reason=%s", LOG_Q(err.msg));
		spooldir_close(&d.sd);
		return d.lockfd == -2 ? EX_TEMPFAIL : EX_IOERR;
	}
	if (fstat(d.lockfd, &d.lock_st) == -1) {
		log_err("event=start status=failed reason=%s",
		    LOG_Q(strerror(errno)));
		close(d.lockfd);
		spooldir_close(&d.sd);
		return EX_IOERR;
	}
	if (asprintf(&db, "%s/" STORE_NAME, conf->spool_dir) == -1) {
		close(d.lockfd);
		spooldir_close(&d.sd);
		return EX_OSERR;
	}
	if (store_open_with(&d.store, db, STORE_ACCEPTING, handler_components,
	    &err) == -1) {
		log_err("event=start status=failed reason=%s", LOG_Q(err.msg));
		rc = d.store.errclass == STORE_ERR_TOO_NEW ? EX_UNAVAILABLE :
		    d.store.errclass == STORE_ERR_CORRUPT ? EX_DATAERR :
		    EX_NOINPUT;
		goto out;
	}
	if (fstatat(d.sd.root_fd, STORE_NAME, &d.db_st, AT_SYMLINK_NOFOLLOW) ==
	    -1) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s", conf->spool_dir,
		    STORE_NAME);
		log_err("event=start status=failed file=%s reason=%s",
		    LOG_Q(path), LOG_Q(strerror(errno)));
		rc = EX_NOINPUT;
		goto out;
	}
	if ((d.schemas = schema_set_load(conf->schema_dir, &err)) == NULL) {
		log_err("event=start status=failed reason=%s", LOG_Q(err.msg));
		rc = EX_CONFIG;
		goto out;
	}
	if (dialect_set_load_conf(&d.dialects, conf, &err) == -1) {
		log_err("event=start status=failed reason=%s", LOG_Q(err.msg));
		rc = EX_CONFIG;
		goto out;
	}
	d.router.schemas = d.schemas;
	if ((d.watcher = watcher_new(d.sd.incoming_fd, !once,
	    conf->settle_time_ms, &err)) == NULL) {
		log_err("event=start status=failed reason=%s", LOG_Q(err.msg));
		rc = EX_OSERR;
		goto out;
	}
	if (setup_fds(&d) == -1) {
		log_err("event=start status=failed reason=%s",
		    LOG_Q(strerror(errno)));
		rc = EX_OSERR;
		goto out;
	}
	if ((d.execq = execq_new(&d.loop, &err)) == NULL ||
	    (d.calls = exec_calls_new(conf, &d.store, &d.sd, &d.schemas,
	    &(struct exec_runner){ execq_spawn, d.execq }, &err)) == NULL) {
		log_err("event=start status=failed reason=%s", LOG_Q(err.msg));
		rc = EX_OSERR;
		goto out;
	}
	exec_calls_stop_when(d.calls, stop_pending, &d);
	d.present = hk_presence(&d, true) == 0;
	publish_open(&d);
	if ((rc = startup_repair(&d)) != EX_OK)
		goto out;
	release_fixed(&d);
	/* Scan after the watches are set: nothing falls between the two. */
	if (watcher_scan(d.watcher, &err) == -1) {
		log_err("event=start status=failed reason=%s", LOG_Q(err.msg));
		rc = EX_IOERR;
		goto out;
	}
	log_notice("event=start spool=%s pid=%ld version=%s schemas=%zu "
	    "mode=%s", LOG_Q(conf->spool_dir), (long)getpid(), PACKAGE_VERSION,
	    schema_set_count(d.schemas), once ? "once" : "daemon");
	/* The HTTP server, once the spool is reconciled (not in --once). */
	if (!once && conf->http_listen != NULL &&
	    conf->http_listen[0] != '\0') {
		d.ps.started_at = store_now_ms();
		if ((d.http = http_start(conf, db, &d.pulse, &err)) == NULL) {
			log_err("event=start status=failed reason=%s",
			    LOG_Q(err.msg));
			rc = EX_OSERR;
			goto out;
		}
		if (loop_add(&d.loop, http_cmd_fd(d.http), LOOP_HTTP) == -1) {
			log_err("event=start status=failed reason=%s",
			    LOG_Q(strerror(errno)));
			rc = EX_OSERR;
			goto out;
		}
		publish_pulse(&d, 0);
		log_notice("event=http status=listening listen=%s port=%u "
		    "tls=%s", LOG_Q(conf->http_listen), http_port(d.http),
		    conf->http_tls_cert != NULL ? "yes" : "no");
	}
	notify_ready(&d.notify, "accepting");
	(void)notify_watchdog(&d.notify, store_now_ms());
	rc = run(&d);
	log_notice("event=exit status=%d accepted=%" PRIu64 " accept_ms=%"
	    PRId64 " processed=%" PRIu64 " process_ms=%" PRId64
	    " store_peak_kb=%" PRId64, rc, d.accepted, d.accept_ms,
	    d.processed, d.process_ms, store_mem_peak() / 1024);
out:
	http_stop(d.http);
	pulse_destroy(&d.pulse);
	execq_free(d.execq);
	exec_calls_free(d.calls);
	if (d.store.db != NULL) {
		if (!d.lost)	/* else it may be another spoold's */
			hk_presence(&d, false);
		store_close(&d.store);
	}
	accept_pipe_free(d.pipe);
	watcher_free(d.watcher);
	schema_set_free(d.schemas);
	dialect_set_free(&d.dialects);
	loop_close(&d.loop);
	if (d.sigfd != -1)
		close(d.sigfd);
	if (d.timerfd != -1)
		close(d.timerfd);
	if (d.statusfd != -1)
		close(d.statusfd);
	spooldir_close(&d.sd);
	close(d.lockfd);
	free(db);
	xmlCleanupParser();
	return rc;
}
