/*
 * startup.c - what spoold puts right at start-up, before the loop takes
 * its first file: bundles a crash left in incoming/ after their COMMIT
 * (their entry files are written first), files that lie behind their
 * store state (reconcile.c moves them where the store says, DESIGN 3),
 * rows without their file (also the latest done ones, which the one pass
 * may have left unrenamed: accept_unrenamed()) (the upload may still be in incoming/:
 * accept_restore(), else the row is settled as lost), and outbound
 * messages whose files were not written after their commit.
 *
 * Crash safety: each step is one of libspool's (accept, reconcile,
 * outbound), each safe to repeat; a crash in the middle is put right by
 * the next start the same way.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <sysexits.h>

#include "accept.h"
#include "daemon_int.h"
#include "log.h"
#include "outbound.h"
#include "reconcile.h"
#include "store_admin.h"

/* Rows without a file, collected at start-up for accept_restore(). */
struct missing {
	int64_t		*ids;
	size_t		 n, cap;
};

static void
missing_add(void *arg, int64_t id)
{
	struct missing *m = arg;
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->ids[i] == id)
			return;
	if (m->n == m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		int64_t *n = realloc(m->ids, ncap * sizeof(*n));

		if (n == NULL)
			return;
		m->ids = n;
		m->cap = ncap;
	}
	m->ids[m->n++] = id;
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

/* Bundles a crash left in incoming/ after their COMMIT: their entry
 * files first, before reconciliation looks for rows without files and
 * before anything is processed. */
static void
restore_bundles(struct daemon *d, struct accept_ctx *ac)
{
	struct spool_error err;
	int left;

	spool_clearerr(&err);
	if ((left = accept_bundles_restore(ac, false, &err)) == -1)
		log_err("event=restore status=failed reason=%s",
		    LOG_Q(err.msg));
	else
		d->unfinished = left;
}

/* A row without its file: the upload may still be in incoming/. */
static void
restore_rows(struct daemon *d, struct accept_ctx *ac, struct missing *m)
{
	struct spool_error err;
	size_t i;
	int r;

	/* A bundle the disk has no room for yet: its rows without files
	 * are its entries, written on the timer; reading the bundle again
	 * for each of them would only fail again. The scan of incoming/
	 * that follows start-up takes single files still there. */
	if (d->unfinished > 0 && m->n > 0) {
		log_warn("event=reconcile rows_without_file=%zu reason=\"left "
		    "to the %d unfinished bundle%s and to the scan of "
		    "incoming/\"", m->n, d->unfinished, d->unfinished == 1 ?
		    "" : "s");
		m->n = 0;
	}
	for (i = 0; i < m->n; i++) {
		spool_clearerr(&err);
		if ((r = accept_restore(ac, m->ids[i], &err)) == 0)
			/* Gone for good: a final state, no retries. */
			r = reconcile_settle_lost(&d->sd, &d->store, m->ids[i],
			    &err);
		if (r == 0)
			log_warn("event=reconcile id=%" PRId64
			    " kind=row_without_file", m->ids[i]);
		else if (err.msg[0] != '\0')
			log_err("event=restore id=%" PRId64 " status=failed "
			    "reason=%s", m->ids[i], LOG_Q(err.msg));
	}
	spooldir_sync(&d->sd, NULL);
}

/*
 * Done rows of the one pass (accept_apply.c) killed between their COMMIT
 * and their rename: the upload is moved from incoming/ to done/ when it
 * is still there; else its bytes are gone, and the row, applied, stays
 * done, settled as removed (purged_at, the reason says why), so that it
 * is not reported again.
 */
static void
restore_unrenamed(struct daemon *d, struct accept_ctx *ac)
{
	struct missing m = { NULL, 0, 0 };
	struct spool_error err;
	size_t i;
	int r;

	spool_clearerr(&err);
	if (accept_unrenamed(ac, ACCEPT_BATCH_MAX, missing_add, &m,
	    &err) == -1)
		log_err("event=reconcile status=failed reason=%s",
		    LOG_Q(err.msg));
	for (i = 0; i < m.n; i++) {
		spool_clearerr(&err);
		if ((r = accept_restore(ac, m.ids[i], &err)) == 0 &&
		    (r = store_admin_settle_removed(&d->store, m.ids[i],
		    RECONCILE_LOST_REASON " (it was applied; killed between "
		    "its COMMIT and its rename)", &err)) == 1)
			log_warn("event=lost id=%" PRId64 " state=done "
			    "reason=%s", m.ids[i],
			    LOG_Q(RECONCILE_LOST_REASON));
		if (r == -1)
			log_err("event=restore id=%" PRId64 " status=failed "
			    "reason=%s", m.ids[i], LOG_Q(err.msg));
	}
	free(m.ids);
	spooldir_sync(&d->sd, NULL);
}

int
startup_repair(struct daemon *d)
{
	struct accept_ctx ac = { d->conf, d->schemas, &d->store, &d->sd,
	    &d->dialects, NULL };
	struct missing missing = { NULL, 0, 0 };
	struct spool_error err;
	unsigned n = 0;

	restore_bundles(d, &ac);
	/* Files a crash left behind their store state go where the store
	 * says (DESIGN 3); done/ is not scanned at start-up. */
	spool_clearerr(&err);
	if (reconcile_run(&d->sd, &d->store, true, false, report_finding,
	    &missing, NULL, &err) == -1) {
		log_err("event=start status=failed reason=%s", LOG_Q(err.msg));
		free(missing.ids);
		return EX_IOERR;
	}
	restore_rows(d, &ac, &missing);
	restore_unrenamed(d, &ac);
	free(missing.ids);
	/* Outbound messages a crash left unwritten after their commit. */
	spool_clearerr(&err);
	if (outbound_flush(&d->sd, &d->store, &n, &err) == -1)
		log_err("event=outbound status=failed reason=%s",
		    LOG_Q(err.msg));
	else if (n > 0)
		log_notice("event=outbound written=%u reason=\"left unwritten "
		    "by an earlier run\"", n);
	return EX_OK;
}
