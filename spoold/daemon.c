/*
 * daemon.c - spoold's run loop: one epoll over inotify, signals and a
 * timer.
 *
 * Start-up opens the spool, the store (migrating it) and the schemas,
 * notes the daemon's pid in the store for spoolctl, reconciles, writes
 * the outbound messages a crash left unwritten (outbound.c), and scans
 * incoming/.
 * Then, until SIGTERM or SIGINT: take the files the watcher has ready,
 * accept them in one store transaction per batch, and sleep in
 * epoll_wait until inotify, a signal, or the timer (a settling file, a
 * retry after a store error) wakes us. No polling, no sleep loops.
 *
 * SIGTERM/SIGINT finish the chunk or batch in hand (it is committed and
 * moved) and exit 0: the signal stays pending on the signalfd until the
 * loop reads it, so sigpending() tells the cycle (between chunks), the
 * acceptance loop (between batches) and the exec runner (before each
 * call) that it has come, and nothing new starts after it. SIGHUP
 * reloads the config and the schemas; a bad new config or schema set is
 * refused and the old one kept.
 *
 * Every GUARD_MS the loop checks that spoold.lock and spool.db are still
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
 * Exec calls (execq.c) run as child processes; their ends (a signalfd
 * for SIGCHLD) and their stderr pipes are watched in the same epoll, and
 * the loop's tag tells the kinds apart (LOOP_*, loop.c, which owns the
 * epoll). After each cycle the runner starts the
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
 * ends, not on every retry, and written to <spool>/spoold.status (a
 * file preallocated at start-up and rewritten in place, so that writing
 * it needs no free block) for spoolctl status.
 *
 * (About 1000 lines: start-up, the loop's dispatch, disk-full and the
 * guard each lean on struct daemon's state; the epoll is loop.c's, the
 * calls execq.c's. Splitting start-up into a file of its own is next.)
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
#include "cycle.h"
#include "cmdcheck.h"
#include "daemon.h"
#include "execq.h"
#include "loop.h"
#include "handler.h"
#include "log.h"
#include "outbound.h"
#include "http.h"
#include "notify.h"
#include "pulse.h"
#include "reconcile.h"
#include "retention.h"
#include "schema.h"
#include "spooldir.h"
#include "spoollock.h"
#include "store.h"
#include "store_cycle.h"
#include "watcher.h"

#define ACCEPT_BATCH_MAX	1024	/* files per store transaction */
#define STORE_RETRY_MS		1000	/* after a failed batch */
#define GUARD_MS		2000	/* lock file and store still ours? */
#define STORE_NAME		"spool.db"
#define TROUBLE_RETRY_MS	2000	/* disk full: look again after */
#define STATUS_SIZE		1024	/* bytes of spoold.status */
#define PULSE_EVERY_MS		5000	/* the loop turns at least this often
					   with HTTP on (/health) */

struct daemon {
	struct conf		*conf;
	const char		*conf_path;
	const char		*spool_dir_opt;
	struct spooldir		 sd;
	struct store		 store;
	struct schema_set	*schemas;
	struct watcher		*watcher;
	struct router		 router;
	struct execq		*execq;
	struct loop		 loop;		/* the one epoll */
	struct notify		 notify;	/* systemd, notify.c */
	struct http		*http;		/* [http], or NULL */
	struct pulse		 pulse;		/* for the HTTP thread */
	struct pulse_state	 ps;		/* what it is told */
	int			 sigfd, timerfd;
	int			 lockfd;	/* spoold.lock, held */
	bool			 once;
	bool			 verbose;	/* -v: debug, whatever
						 * [log] says */
	bool			 stop;
	bool			 lost;		/* lock file or store gone */
	struct stat		 lock_st, db_st;	/* what we hold */
	int64_t			 guard_at;	/* next check, store_now_ms */
	int64_t			 retention_at;	/* next look at done/ */
	/*
	 * Disk trouble (see the top of this file): spoold.status (or -1);
	 * below min_free_space; free bytes and the limit at the last look;
	 * bundles waiting for room; when to retry (ms); what spoold.status
	 * says; the last cycle and acceptance errors logged.
	 */
	int			 statusfd;
	bool			 present;	/* noted in the store */
	bool			 presence_tried;
	bool			 low_space;
	uint64_t		 avail, min_free;
	int			 unfinished;
	int64_t			 trouble_due;
	char			 status[STATUS_SIZE];
	char			 cycle_err[SPOOL_ERRLEN];
	char			 accept_err[SPOOL_ERRLEN];
	/* Totals of this run, logged at exit (and read by the benchmark). */
	uint64_t		 accepted, processed;
	int64_t			 accept_ms, process_ms;
};

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

static int
note_presence(struct daemon *d, bool running)
{
	struct spool_error err;
	char sql[256];

	if (running)
		snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO daemon (id, "
		    "pid, started_at, version) VALUES (1, %ld, %" PRId64
		    ", '%s')", (long)getpid(), store_now_ms(),
		    PACKAGE_VERSION);
	else
		snprintf(sql, sizeof(sql), "DELETE FROM daemon WHERE pid = %ld",
		    (long)getpid());
	if (store_exec(&d->store, sql, &err) == -1) {
		if (running && d->presence_tried)	/* a retry: quiet */
			log_debug("event=presence status=failed reason=%s",
			    LOG_Q(err.msg));
		else
			log_warn("event=presence status=failed reason=%s",
			    LOG_Q(err.msg));
		d->presence_tried = true;
		return -1;
	}
	return 0;
}

/* Rows without a file, collected at start-up for accept_restore(). */
struct missing {
	int64_t		*ids;
	size_t		 n, cap;
};

/*
 * Is the file at name in the spool's root still the one of `was'? Says
 * why not at err. A stat error other than ENOENT is not taken for a
 * loss (it says nothing about the file); it is logged.
 */
static bool
still_ours(struct daemon *d, const char *name, const struct stat *was,
    const char *what)
{
	struct stat st;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", d->conf->spool_dir, name);
	if (fstatat(d->sd.root_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (st.st_dev == was->st_dev && st.st_ino == was->st_ino)
			return true;
		log_err("event=guard file=%s status=replaced reason=\"%s "
		    "was replaced under the running spoold; stopping\"",
		    LOG_Q(path), what);
		return false;
	}
	if (errno != ENOENT) {
		log_warn("event=guard file=%s reason=%s", LOG_Q(path),
		    LOG_Q(strerror(errno)));
		return true;
	}
	log_err("event=guard file=%s status=removed reason=\"%s was "
	    "removed under the running spoold; stopping\"", LOG_Q(path),
	    what);
	return false;
}

/*
 * Every GUARD_MS: are spoold.lock and the store still ours? Sets d->lost
 * when not. Returns ms until the next check.
 */
static int64_t
guard(struct daemon *d)
{
	int64_t now = store_now_ms();

	if (now < d->guard_at)
		return d->guard_at - now;
	if (!still_ours(d, SPOOL_LOCK_NAME, &d->lock_st, "the lock file "
	    "(another spoold could take the spool)") ||
	    !still_ours(d, STORE_NAME, &d->db_st, "the store (its history "
	    "would fork)"))
		d->lost = true;
	d->guard_at = now + GUARD_MS;
	return GUARD_MS;
}

static void
report_finding(void *arg, const struct reconcile_finding *f)
{
	struct missing *m = arg;

	if (f->kind == RECONCILE_ROW_WITHOUT_FILE && m != NULL) {
		if (m->n == m->cap) {
			size_t ncap = m->cap ? m->cap * 2 : 64;
			int64_t *n = realloc(m->ids, ncap * sizeof(*n));

			if (n != NULL) {
				m->ids = n;
				m->cap = ncap;
			}
		}
		if (m->n < m->cap) {
			m->ids[m->n++] = f->id;
			return;	/* reported after the restore attempt */
		}
	}
	if (f->repaired)
		log_notice("event=reconcile id=%" PRId64 " file=%s from=%s "
		    "to=%s status=moved", f->id, LOG_Q(f->file_name),
		    f->found >= 0 ? spool_state_name(f->found) : "-",
		    f->expected >= 0 ? spool_state_name(f->expected) : "-");
	else
		log_warn("event=reconcile id=%" PRId64 " file=%s kind=%s "
		    "found=%s expected=%s%s%s", f->id, LOG_Q(f->file_name),
		    reconcile_kind_name(f->kind),
		    f->found >= 0 ? spool_state_name(f->found) : "-",
		    f->expected >= 0 ? spool_state_name(f->expected) : "-",
		    f->error != NULL ? " reason=" : "",
		    f->error != NULL ? LOG_Q(f->error) : "");
}

static void
reload(struct daemon *d)
{
	struct spool_error err;
	struct schema_set *ns;
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
}

/*
 * Has SIGTERM or SIGINT come? It is blocked and waits on the signalfd
 * until handle_signals() reads it, so sigpending() sees it at once. The
 * cycle and the exec runner ask this (they must not reload a config).
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
static void	publish(struct daemon *, int64_t);

/* Between two steps of the loop: stop now if told to (logged). */
static bool
stopping(struct daemon *d)
{
	if (!d->stop && stop_pending(d))
		handle_signals(d);
	return d->stop;
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
	publish(d, t0);
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

static void
gap_alert(void *arg, const char *partner, const char *tx, int64_t since,
    int64_t next)
{
	(void)arg;
	log_warn("event=gap partner=%s tx=%s waiting_for=%" PRId64
	    " waited_s=%" PRId64 " reason=\"sequence %" PRId64 " has not "
	    "arrived; later messages are parked behind it\"", LOG_Q(partner),
	    LOG_Q(tx),
	    next, (store_now_ms() - since) / 1000, next);
}

/*
 * Report gaps older than gap_alert_after, once each (they are reported
 * again when they close, by the cycle). Returns ms until the next one is
 * due, or -1.
 */
static int64_t
check_gaps(struct daemon *d)
{
	struct spool_error err;
	int64_t since, now = store_now_ms(), after;
	int rc;

	after = (int64_t)d->conf->gap_alert_after_ms;
	spool_clearerr(&err);
	rc = store_next_gap(&d->store, &since, &err);
	if (rc != 1)
		return -1;
	if (since + after > now)
		return since + after - now;
	if (store_begin(&d->store, &err) == -1)
		return STORE_RETRY_MS;
	if (store_gaps_alert(&d->store, now - after, gap_alert, d, &err) ==
	    -1 || store_commit(&d->store, &err) == -1) {
		store_rollback(&d->store);
		log_err("event=gap status=failed reason=%s", LOG_Q(err.msg));
		return STORE_RETRY_MS;
	}
	rc = store_next_gap(&d->store, &since, &err);
	if (rc != 1)
		return -1;
	return since + after > now ? since + after - now : STORE_RETRY_MS;
}

/*
 * Retention (DESIGN 18, spool/retention.c): at most one batch of each of
 * done/, rejected/ and failed/ per look, a look every retention_interval,
 * the next one at once when a batch was full; tombstones older than
 * dedup_window are forgotten. Returns ms until the next look, or -1
 * (nothing is ever removed).
 */
static int
retention_one(struct daemon *d, int st, uint64_t keep, int64_t now,
    bool *more)
{
	struct retention_counts rc;
	struct spool_error err;
	int64_t n;

	if (keep == 0)
		return 0;
	memset(&rc, 0, sizeof(rc));
	spool_clearerr(&err);
	n = st == ST_DONE ? retention_done(&d->store, &d->sd, now -
	    (int64_t)keep, RETENTION_BATCH, &rc, &err) :
	    retention_state(&d->store, &d->sd, st, now - (int64_t)keep,
	    RETENTION_BATCH, &rc, &err);
	if (n == -1) {
		log_err("event=retention dir=%s status=failed reason=%s",
		    spool_state_name(st), LOG_Q(err.msg));
		return -1;
	}
	if (rc.removed > 0 || rc.kept > 0)
		log_info("event=retention dir=%s removed=%" PRId64
		    " kept=%" PRId64, spool_state_name(st), rc.removed,
		    rc.kept);
	if (n == RETENTION_BATCH && rc.removed > 0)
		*more = true;
	return 0;
}

static int64_t
check_retention(struct daemon *d)
{
	struct spool_error err;
	int64_t now = store_now_ms();
	bool more = false;
	int bad = 0;

	if (d->conf->retention_ms == 0 && d->conf->dedup_window_ms == 0 &&
	    d->conf->rejected_retention_ms == 0 &&
	    d->conf->failed_retention_ms == 0)
		return -1;
	if (now < d->retention_at)
		return d->retention_at - now;
	spool_clearerr(&err);
	if (d->conf->dedup_window_ms > 0 && retention_forget(&d->store, now -
	    (int64_t)d->conf->dedup_window_ms, &err) == -1)
		log_err("event=retention what=tombstones status=failed "
		    "reason=%s", LOG_Q(err.msg));
	bad |= retention_one(d, ST_DONE, d->conf->retention_ms, now, &more);
	bad |= retention_one(d, ST_REJECTED, d->conf->rejected_retention_ms,
	    now, &more);
	bad |= retention_one(d, ST_FAILED, d->conf->failed_retention_ms, now,
	    &more);
	if (bad != 0) {
		d->retention_at = now + STORE_RETRY_MS;
		return STORE_RETRY_MS;
	}
	if (more)
		return 0;
	d->retention_at = now + (int64_t)d->conf->retention_interval_ms;
	return (int64_t)d->conf->retention_interval_ms;
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

/*
 * Is the spool's file system below min_free_space? Logged when it
 * becomes so and when it ends.
 */
static void
check_space(struct daemon *d)
{
	uint64_t avail, limit;
	bool low;

	if (spooldir_space(d->sd.root_fd, d->conf->min_free_space, &avail,
	    &limit) == -1)
		return;
	low = avail < limit;
	if (low && !d->low_space)
		log_warn("event=disk status=low free=%" PRIu64
		    " min_free_space=%" PRIu64 " reason=\"free space on the "
		    "spool's file system is below min_free_space; new files "
		    "stay in incoming/ until there is room again\"", avail,
		    limit);
	else if (!low && d->low_space)
		log_notice("event=disk status=ok free=%" PRIu64
		    " min_free_space=%" PRIu64 " reason=\"there is room "
		    "again; accepting\"", avail, limit);
	d->low_space = low;
	d->avail = avail;
	d->min_free = limit;
}

/* Is anything waiting for room on the disk (or for the disk to heal)? */
static bool
in_trouble(const struct daemon *d)
{
	return d->low_space || d->unfinished > 0 ||
	    d->store.outbound_new > 0 || d->sd.nowed > 0 || !d->present;
}

/*
 * Tell the HTTP thread how the loop is (pulse.h): cycle_since is when
 * the cycle about to run started, or 0 between cycles.
 */
static void
publish(struct daemon *d, int64_t cycle_since)
{
	struct pulse_state *ps = &d->ps;

	if (d->http == NULL)
		return;
	ps->turned_at = store_now_ms();
	ps->cycle_since = cycle_since;
	ps->ready = true;
	ps->low_space = d->low_space;
	ps->paused = d->unfinished > 0;
	ps->store_ok = d->cycle_err[0] == '\0' && d->accept_err[0] == '\0';
	snprintf(ps->store_err, sizeof(ps->store_err), "%.250s",
	    d->cycle_err[0] != '\0' ? d->cycle_err : d->accept_err);
	ps->avail = d->avail;
	ps->min_free = d->min_free;
	ps->accepted = d->accepted;
	ps->processed = d->processed;
	ps->exec_running = execq_running(d->execq);
	pulse_publish(&d->pulse, ps);
}

/* Tell systemd (STATUS=, when it changed): this run's counts. */
static void
notify_say(struct daemon *d)
{
	char buf[sizeof(d->notify.status)];

	snprintf(buf, sizeof(buf), "%s; accepted %" PRIu64 ", processed %"
	    PRIu64 " since start%s", d->low_space ? "not accepting: free "
	    "space below min_free_space" : "accepting", d->accepted,
	    d->processed, d->unfinished > 0 ? "; processing paused" : "");
	notify_status(&d->notify, buf);
}

/*
 * Tell spoolctl status how we are: spoold.status, rewritten in place
 * (it was preallocated, so even a full disk takes it), only when it
 * changes.
 */
static void
status_update(struct daemon *d)
{
	char buf[STATUS_SIZE], why[STATUS_SIZE - 128];
	size_t len;
	ssize_t n;

	notify_say(d);
	if (d->statusfd == -1)
		return;
	why[0] = '\0';
	if (d->low_space)
		snprintf(why, sizeof(why), "free space is below "
		    "min_free_space (%" PRIu64 " bytes): new files stay in "
		    "incoming/", d->min_free);
	len = strlen(why);
	if (d->unfinished > 0)
		snprintf(why + len, sizeof(why) - len, "%s%d bundle%s could "
		    "not be written whole (disk full or I/O error): "
		    "processing waits until %s finished", len > 0 ? "; " : "",
		    d->unfinished, d->unfinished == 1 ? "" : "s",
		    d->unfinished == 1 ? "it is" : "they are");
	len = strlen(why);
	if (d->store.outbound_new > 0 && (d->low_space || d->unfinished > 0 ||
	    d->cycle_err[0] != '\0'))
		snprintf(why + len, sizeof(why) - len, "%soutbound messages "
		    "wait to be written", len > 0 ? "; " : "");
	len = strlen(why);
	if (d->sd.nowed > 0)
		snprintf(why + len, sizeof(why) - len, "%s%zu .reason "
		    "sidecar%s wait%s to be written", len > 0 ? "; " : "",
		    d->sd.nowed, d->sd.nowed == 1 ? "" : "s",
		    d->sd.nowed == 1 ? "s" : "");
	len = strlen(why);
	if (d->cycle_err[0] != '\0')
		snprintf(why + len, sizeof(why) - len, "%scycles fail: %.300s",
		    len > 0 ? "; " : "", d->cycle_err);
	memset(buf, '\n', sizeof(buf));
	snprintf(buf, sizeof(buf), "accepting=%s\nprocessing=%s\n"
	    "reason=%s\n", d->low_space ? "no" : "yes", d->unfinished > 0 ?
	    "paused" : "running", why);
	len = strlen(buf);
	memset(buf + len, '\n', sizeof(buf) - len);
	if (memcmp(buf, d->status, sizeof(buf)) == 0)
		return;
	do
		n = pwrite(d->statusfd, buf, sizeof(buf), 0);
	while (n == -1 && errno == EINTR);
	if (n == (ssize_t)sizeof(buf))
		memcpy(d->status, buf, sizeof(buf));
}

/*
 * On the timer while in trouble: finish the bundles a full disk left
 * unfinished, write the outbound files it kept back. Quiet: each
 * failure was logged when it first happened; the end is logged.
 */
static void
retry_writes(struct daemon *d)
{
	struct accept_ctx ac = { d->conf, d->schemas, &d->store, &d->sd };
	struct spool_error err;
	unsigned n = 0;
	int rc;

	/* Started on a full disk: spoolctl learns our pid now. */
	if (!d->present && note_presence(d, true) == 0)
		d->present = true;
	if (d->unfinished > 0) {
		spool_clearerr(&err);
		rc = accept_bundles_restore(&ac, true, &err);
		if (rc == -1)
			log_debug("event=bundle status=unfinished "
			    "reason=%s", LOG_Q(err.msg));
		else {
			if (rc == 0)
				log_notice("event=bundle status=finished "
				    "reason=\"the bundles left unfinished "
				    "are written; processing goes on\"");
			d->unfinished = rc;
		}
	}
	if (d->sd.nowed > 0) {
		spool_clearerr(&err);
		if (accept_settle_owed(&ac, &err) == -1)
			log_debug("event=reason status=failed reason=%s",
			    LOG_Q(err.msg));
	}
	if (d->store.outbound_new > 0) {
		spool_clearerr(&err);
		if (outbound_flush(&d->sd, &d->store, &n, &err) == 0 && n > 0)
			log_notice("event=outbound written=%u reason=\""
			    "written after an earlier failure\"", n);
		else if (d->store.outbound_new > 0)
			log_debug("event=outbound status=failed "
			    "reason=%s", LOG_Q(err.msg));
	}
}

/* Accept what is ready. Returns ms until the next look, or -1. */
static int64_t
accept_ready(struct daemon *d)
{
	struct accept_ctx ctx = { d->conf, d->schemas, &d->store, &d->sd };
	struct accept_file *files;
	struct accept_stats st;
	struct spool_error err;
	int64_t next, t0;
	int rc;
	size_t n;

	for (;;) {
		if (stopping(d))
			return -1;
		/* Below min_free_space: the files stay where they are. */
		check_space(d);
		if (d->low_space)
			return TROUBLE_RETRY_MS;
		n = watcher_ready(d->watcher, &files, ACCEPT_BATCH_MAX, &next);
		if (n == 0)
			return next;
		spool_clearerr(&err);
		t0 = store_now_ms();
		rc = accept_files(&ctx, files, n, &st, &err);
		d->accept_ms += store_now_ms() - t0;
		d->accepted += st.ready + st.parked + st.duplicate +
		    st.rejected;
		if (rc == -1) {
			if (strcmp(err.msg, d->accept_err) != 0)
				log_err("event=accept status=failed files=%zu "
				    "reason=%s retry_in=%dms", n,
				    LOG_Q(err.msg), STORE_RETRY_MS);
			else
				log_debug("event=accept status=failed "
				    "files=%zu reason=%s retry_in=%dms", n,
				    LOG_Q(err.msg), STORE_RETRY_MS);
			snprintf(d->accept_err, sizeof(d->accept_err), "%s",
			    err.msg);
			watcher_done(d->watcher, true);
			return STORE_RETRY_MS;
		}
		if (d->accept_err[0] != '\0') {
			log_notice("event=accept status=ok reason=\"the store "
			    "takes writes again\"");
			d->accept_err[0] = '\0';
		}
		d->unfinished += (int)st.unfinished;
		watcher_done(d->watcher, false);
		/* Committed: submissions over HTTP look for their files. */
		http_kick(d->http);
		if (n > st.vanished)
			log_info("event=batch files=%zu ready=%u parked=%u "
			    "duplicate=%u rejected=%u restored=%u bundles=%u",
			    n - st.vanished, st.ready, st.parked, st.duplicate,
			    st.rejected, st.restored, st.bundles);
	}
}

/* spoold.status: made and filled now, while there is room. */
static void
status_open(struct daemon *d)
{
	struct stat st;
	int fd, e = 0;

	(void)unlinkat(d->sd.root_fd, SPOOLDIR_STATUS_FILE, 0);
	fd = openat(d->sd.root_fd, SPOOLDIR_STATUS_FILE, O_RDWR | O_CREAT |
	    O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
	if (fd == -1 || fstat(fd, &st) == -1)
		e = errno;
	else if (!S_ISREG(st.st_mode))
		e = EINVAL;
	else
		e = posix_fallocate(fd, 0, STATUS_SIZE);
	if (e != 0) {
		log_warn("event=start file=%s reason=\"cannot make it: %s; "
		    "spoolctl status will not show a full disk\"",
		    SPOOLDIR_STATUS_FILE, strerror(e));
		if (fd != -1)
			close(fd);
		return;
	}
	d->statusfd = fd;
	status_update(d);
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
		(void)guard(d);
		if (d->lost)
			return EX_OSFILE;
		next = accept_ready(d);
		if (stopping(d))
			break;
		if (in_trouble(d) && store_now_ms() >= d->trouble_due) {
			retry_writes(d);
			d->trouble_due = store_now_ms() + TROUBLE_RETRY_MS;
		}
		/* Rows whose files are not all written: nothing is processed
		 * until the bundle is finished. */
		pnext = d->unfinished == 0 ? process_ready(d) : -1;
		status_update(d);
		publish(d, 0);
		/* Submissions that wait too long give up (every turn). */
		http_kick(d->http);
		if (stopping(d))
			break;
		/* Exec calls: deadlines, then what cycles left pending. */
		execq_tick(d->execq);
		execq_start(d->execq);
		if ((done = execq_take_completed(d->execq)) > 0) {
			d->processed += done;
			pnext = 0;	/* a successor may be ready */
		}
		if (d->once && (watcher_pending(d->watcher) == 0 ||
		    d->low_space) && pnext != 0 && execq_idle(d->execq))
			return EX_OK;
		next = min_wait(min_wait(next, pnext),
		    execq_next_timeout(d->execq));
		if (in_trouble(d))
			next = min_wait(next, d->trouble_due > store_now_ms() ?
			    d->trouble_due - store_now_ms() : 1);
		next = min_wait(next, check_gaps(d));
		next = min_wait(next, check_retention(d));
		next = min_wait(next, guard(d));
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
	execq_stop(d->execq);
	if (execq_running(d->execq) > 0)
		log_notice("event=stop exec_running=%u reason=\"waiting for "
		    "exec calls to end\"", execq_running(d->execq));
	while (execq_running(d->execq) > 0) {
		execq_tick(d->execq);
		if ((rc = wait_events(d, min_wait(execq_next_timeout(d->execq),
		    notify_watchdog(&d->notify, store_now_ms())))) !=
		    EX_OK)
			return rc;
	}
	return EX_OK;
}

int
daemon_run(struct conf *conf, const char *conf_path, const char *spool_dir,
    bool once, bool verbose)
{
	struct spool_error err;
	struct missing missing = { NULL, 0, 0 };
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
	if (store_open_with(&d.store, db, 0, handler_components, &err) ==
	    -1) {
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
	if ((d.execq = execq_new(conf, &d.store, &d.sd, &d.schemas,
	    &d.loop, &err)) ==
	    NULL) {
		log_err("event=start status=failed reason=%s", LOG_Q(err.msg));
		rc = EX_OSERR;
		goto out;
	}
	execq_stop_when(d.execq, stop_pending, &d);
	d.present = note_presence(&d, true) == 0;
	status_open(&d);
	/* Bundles a crash left in incoming/ after their COMMIT: their entry
	 * files first, before reconciliation looks for rows without files
	 * and before anything is processed. */
	{
		struct accept_ctx ac = { d.conf, d.schemas, &d.store, &d.sd };

		int left = accept_bundles_restore(&ac, false, &err);

		if (left == -1)
			log_err("event=restore status=failed reason=%s",
			    LOG_Q(err.msg));
		else
			d.unfinished = left;
	}
	/* Files a crash left behind their store state go where the store
	 * says (DESIGN 3); done/ is not scanned at start-up. */
	if (reconcile_run(&d.sd, &d.store, true, false, report_finding,
	    &missing, NULL, &err) == -1) {
		log_err("event=start status=failed reason=%s", LOG_Q(err.msg));
		free(missing.ids);
		rc = EX_IOERR;
		goto out;
	}
	/* A row without its file: the upload may still be in incoming/. */
	{
		struct accept_ctx ac = { d.conf, d.schemas, &d.store, &d.sd };
		size_t i;
		int r;

		/* A bundle the disk has no room for yet: its rows without
		 * files are its entries, written on the timer; reading the
		 * bundle again for each of them would only fail again. The
		 * scan below takes single files still in incoming/. */
		if (d.unfinished > 0 && missing.n > 0) {
			log_warn("event=reconcile rows_without_file=%zu "
			    "reason=\"left to the %d unfinished bundle%s and "
			    "to the scan of incoming/\"", missing.n,
			    d.unfinished, d.unfinished == 1 ? "" : "s");
			missing.n = 0;
		}
		for (i = 0; i < missing.n; i++) {
			spool_clearerr(&err);
			if ((r = accept_restore(&ac, missing.ids[i],
			    &err)) == 0)
				/* Gone for good: a final state, no retries. */
				r = reconcile_settle_lost(&d.sd, &d.store,
				    missing.ids[i], &err);
			if (r == 0)
				log_warn("event=reconcile id=%" PRId64
				    " kind=row_without_file", missing.ids[i]);
			else if (err.msg[0] != '\0')
				log_err("event=restore id=%" PRId64
				    " status=failed reason=%s",
				    missing.ids[i], LOG_Q(err.msg));
		}
		free(missing.ids);
		spooldir_sync(&d.sd, NULL);
	}
	/* Outbound messages a crash left unwritten after their commit. */
	{
		unsigned n = 0;

		spool_clearerr(&err);
		if (outbound_flush(&d.sd, &d.store, &n, &err) == -1)
			log_err("event=outbound status=failed reason=%s",
			    LOG_Q(err.msg));
		else if (n > 0)
			log_notice("event=outbound written=%u reason=\"left "
			    "unwritten by an earlier run\"", n);
	}
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
		publish(&d, 0);
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
	if (d.store.db != NULL) {
		if (!d.lost)	/* else it may be another spoold's */
			note_presence(&d, false);
		store_close(&d.store);
	}
	watcher_free(d.watcher);
	schema_set_free(d.schemas);
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
