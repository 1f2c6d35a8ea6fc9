/*
 * housekeep.c - spoold's periodic jobs beside accepting and processing:
 * the guard (are spoold.lock and the store still the files we hold?),
 * open gaps reported once they are older than gap_alert_after, our
 * outbound interchanges still unacknowledged after ack_overdue (logged
 * once each),
 * retention (spool/retention.c), the free-space check, and the retries
 * of writes a full disk kept back (bundles, .reason sidecars, outbound
 * files, the daemon's row for spoolctl).
 *
 * The loop (daemon.c) calls each when it is due and sleeps until the
 * soonest of their answers. Nothing here holds state of its own: the
 * deadlines and conditions are struct daemon's (daemon_int.h).
 *
 * Crash safety: each job is a store transaction or a rename of its own
 * (retention removes a file only after its row says so, see
 * retention.c); a crash between two looks loses nothing but the look.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accept.h"
#include "archive.h"
#include "daemon_int.h"
#include "log.h"
#include "outbound.h"
#include "retention.h"
#include "sequencer.h"
#include "spoollock.h"
#include "store_ack.h"
#include "store_cycle.h"

int
hk_presence(struct daemon *d, bool running)
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
int64_t
hk_guard(struct daemon *d)
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
gap_alert(void *arg, const char *partner, const char *tx, int64_t since,
    int64_t next)
{
	(void)arg;
	/* A pair of order = interchange waits for a control number. */
	log_warn("event=gap partner=%s tx=%s waiting_for=%" PRId64
	    " waited_s=%" PRId64 " reason=\"%s %" PRId64 " has not "
	    "arrived; later %s are parked behind it\"", LOG_Q(partner),
	    LOG_Q(tx), next, (store_now_ms() - since) / 1000,
	    seq_is_pair(tx) ? "interchange control number" : "sequence", next,
	    seq_is_pair(tx) ? "interchanges" : "messages");
}

/*
 * Report gaps older than gap_alert_after, once each (they are reported
 * again when they close, by the cycle). Returns ms until the next one is
 * due, or -1.
 */
int64_t
hk_gaps(struct daemon *d)
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

static int
ack_overdue(void *arg, const struct store_ack_row *r)
{
	(void)arg;
	log_warn("event=ack-overdue partner=%s syntax=%s control=%s "
	    "sent_ms=%" PRId64 " reason=\"no acknowledgment from the partner "
	    "for our interchange\"", LOG_Q(r->partner), r->syntax,
	    LOG_Q(r->control), r->sent_at);
	return 0;
}

/*
 * Our outbound interchanges (DESIGN 16) still pending after ack_overdue:
 * logged once each (store_ack_overdue() marks them in the same
 * transaction). A look every ack_overdue / 2, between 1 s and 60 s.
 * Returns ms until the next look.
 */
int64_t
hk_acks(struct daemon *d)
{
	struct spool_error err;
	int64_t now = store_now_ms(), every;

	every = (int64_t)d->conf->ack_overdue_ms / 2;
	if (every < 1000)
		every = 1000;
	if (every > 60000)
		every = 60000;
	if (d->acks_at > now && d->acks_at - now <= every)
		return d->acks_at - now;
	d->acks_at = now + every;
	spool_clearerr(&err);
	if (store_begin(&d->store, &err) == -1)
		return every;
	if (store_ack_overdue(&d->store, now -
	    (int64_t)d->conf->ack_overdue_ms, ack_overdue, d, &err) == -1 ||
	    store_commit(&d->store, &err) == -1) {
		store_rollback(&d->store);
		log_err("event=ack-overdue status=failed reason=%s",
		    LOG_Q(err.msg));
	}
	return every;
}

/*
 * Retention (DESIGN 18, spool/retention.c): at most one batch of each of
 * done/, rejected/ and failed/ per look (and one of bundle files in done/
 * and rejected/), a look every retention_interval,
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
	/* archive_command first: only what it archived is removed. */
	if (d->conf->archive_argv != NULL && archive_look(d->conf, &d->store,
	    &d->sd, st, now - (int64_t)keep, &d->archive_cur, more,
	    &err) == -1) {
		log_err("event=archive dir=%s status=failed reason=%s",
		    spooldir_dir_name(st), LOG_Q(err.msg));
		return -1;
	}
	n = st == ST_DONE ? retention_done(&d->store, &d->sd, now -
	    (int64_t)keep, RETENTION_BATCH, d->conf->archive_argv != NULL, &rc,
	    &err) : retention_state(&d->store, &d->sd, st, now -
	    (int64_t)keep, RETENTION_BATCH, d->conf->archive_argv != NULL, &rc,
	    &err);
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
	/*
	 * Then the bundle files: in done/ those whose messages are all
	 * purged (the messages were archived), in rejected/ those rejected
	 * whole (with archive_command set, once archived: archive_look()
	 * did those too).
	 */
	if (st == ST_FAILED)
		return 0;
	n = retention_bundles(&d->store, &d->sd, st, now - (int64_t)keep,
	    RETENTION_BATCH, false, st == ST_REJECTED &&
	    d->conf->archive_argv != NULL, &err);
	if (n == -1) {
		log_err("event=retention dir=%s what=bundles status=failed "
		    "reason=%s", spool_state_name(st), LOG_Q(err.msg));
		return -1;
	}
	if (n > 0)
		log_info("event=retention dir=%s bundles=%" PRId64,
		    spool_state_name(st), n);
	if (n == RETENTION_BATCH)
		*more = true;
	return 0;
}

int64_t
hk_retention(struct daemon *d)
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

/*
 * Is the spool's file system below min_free_space? Logged when it
 * becomes so and when it ends.
 */
void
hk_space(struct daemon *d)
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
bool
hk_in_trouble(const struct daemon *d)
{
	return d->low_space || d->unfinished > 0 ||
	    d->store.outbound_new > 0 || d->sd.nowed > 0 || !d->present;
}

/*
 * On the timer while in trouble: finish the bundles a full disk left
 * unfinished, write the outbound files it kept back. Quiet: each
 * failure was logged when it first happened; the end is logged.
 */
void
hk_retry_writes(struct daemon *d)
{
	struct accept_ctx ac = { d->conf, d->schemas, &d->store, &d->sd,
	    &d->dialects, NULL };
	struct spool_error err;
	unsigned n = 0;
	int rc;

	/* Started on a full disk: spoolctl learns our pid now. */
	if (!d->present && hk_presence(d, true) == 0)
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
