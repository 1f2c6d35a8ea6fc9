/*
 * accept_apply.c - one pass for what is ready (DESIGN 6, issue 20).
 *
 * A message that is ready when it is accepted (next in its transaction,
 * or outside any) and whose route's handler works inside the store
 * transaction (the program says which: struct accept_apply's in_tx; ledger and
 * orders, not exec) is applied in acceptance's own transaction: from
 * the bytes acceptance read and checked (its digest is the one recorded)
 * and the document it parsed, in a savepoint of its own, through the
 * cycle's code (cycle_apply_fresh(): the handler, done and its
 * successor, or the retry rules: deferred, failed, held). Its row is
 * written once, done (attempts 1), in that savepoint before the handler
 * runs (whose rows refer to it), instead of ready and then changed to
 * done: acceptance leaves it unwritten (o->pending) and
 * accept_pass_apply() writes it first thing. When the handler fails, the
 * savepoint takes back the row with the handler's work; the row is
 * written again, ready, and the failure recorded on it as a cycle's
 * would be: the same rows as the two writes gave. A message the pass
 * does not apply (no room, bytes let go, not a handler of the
 * transaction) has its row written ready there, before the next file
 * of its batch is taken. After COMMIT its upload is renamed once, from
 * incoming/ straight into done/ (or deferred/, failed/, hold/) by
 * accept.c's move, which writes the bytes held instead when the partner
 * removed or replaced its upload meanwhile: no committed row without its
 * file.
 *
 * Applying one releases its parked successor. One accepted earlier in
 * the same batch (it arrived before its predecessor) joins this pass
 * (the "acceptance cycle"): it is applied from its held bytes and
 * renamed once from incoming/ too. One parked by an earlier batch is
 * marked queued and moves parked/ -> queue/ (cycle_move_files()): the
 * next cycle applies it and the rest of its run, in chunks a SIGTERM
 * can stop between, so that an acceptance batch stays as short as its
 * files. A released bundle entry of this batch has no file yet
 * (accept_bundle.c writes it after COMMIT, where the store then says):
 * it is marked queued too. A message that arrives parked keeps today's
 * path (parked/, then the cycle).
 *
 * Not taken: bundle entries (their files are written from the bundle),
 * restored rows, rejected or duplicate ones, messages whose bytes the
 * batch no longer holds (HOLD_MAX), and types routed to exec (it runs
 * outside the transaction: queue/, as before).
 *
 * Crash safety (DESIGN 13). The acceptance and the application are one
 * transaction (whether the row is written done at once or ready first
 * changes nothing here: no statement outside it sees either). Killed
 * before COMMIT: nothing of either is recorded, the upload is still in
 * incoming/ and is accepted (and applied) afresh.
 * Killed between COMMIT and the rename (failpoint accept-commit): the row
 * says done (deferred, failed) with the handler's effects, the file
 * is still in incoming/. At start-up reconciliation (spoold/startup.c,
 * reconcile.c) finds the row without its file and restores the upload
 * from incoming/ when its name and digest match (accept_restore());
 * else a scan takes it again, store_find_upload() finds its row by
 * (partner, name, digest) and the file is moved, never recorded or
 * applied twice. Start-up does not scan done/ (DESIGN 13: too many);
 * only the rows of the last batch can be left without their file, so
 * accept_unrenamed() looks at the latest done rows of single files
 * (ACCEPT_BATCH_MAX of them) and start-up restores those without a file
 * in done/ (spoold/startup.c). An upload the partner removed between the
 * COMMIT and the crash is lost (spoold held the only other copy in
 * memory): its row, applied, stays done and is settled as removed
 * (purged_at, reason RECONCILE_LOST_REASON), logged event=lost; it is
 * never applied again. Deferred, failed and held rows are found by
 * reconcile_run() itself (their directories are scanned) and restored
 * or settled (reconcile_settle_lost) as before. Killed after some
 * renames: each file is in incoming/ or where its row says, the same
 * cases.
 * A failed/ file's .reason is written before its rename
 * (cycle_move_files); when it cannot be, the reason is owed and the file
 * stays in incoming/ until a scan restores it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "accept.h"
#include "accept_int.h"
#include "cycle_int.h"
#include "log.h"

struct accept_pass {
	bool			(*in_tx)(void *, const char *);
	struct accept_mover	*mover;	/* moves the batch before */
	struct cycle		 c;
	struct cycle_stats	 stats;
};

int
accept_pass_new(const struct accept_apply *apply, struct accept_mover *mover,
    size_t nfiles, struct accept_pass **pp, struct spool_error *err)
{
	struct accept_pass *p;

	*pp = NULL;
	if (apply == NULL || apply->cycle == NULL || apply->in_tx == NULL)
		return 0;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto oom;
	p->in_tx = apply->in_tx;
	p->mover = mover;
	p->c.ctx = apply->cycle;
	p->c.stats = &p->stats;
	/*
	 * Each file is one item at most, and releases one at most. Not
	 * zeroed: an item is cleared when it is taken, a spilled one
	 * written whole.
	 */
	p->c.cap = 2 * nfiles;
	p->c.take = true;
	p->c.now = store_now_ms();
	if ((p->c.items = reallocarray(NULL, p->c.cap,
	    sizeof(*p->c.items))) == NULL ||
	    (p->c.spill = reallocarray(NULL, p->c.cap,
	    sizeof(*p->c.spill))) == NULL) {
		cycle_free(&p->c);
		free(p);
		goto oom;
	}
	*pp = p;
	return 0;
oom:
	spool_seterr(err, "out of memory");
	return -1;
}

void
accept_pass_free(struct accept_pass *p)
{
	if (p == NULL)
		return;
	cycle_free(&p->c);
	free(p);
}

/* The outcome of this batch with that ID (its file still in incoming/). */
static struct outcome *
batch_outcome(struct outcome *out, size_t n, int64_t id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (out[i].id == id && out[i].state >= 0 && !out[i].bundle &&
		    !out[i].restore)
			return &out[i];
	return NULL;
}

/* Is a released message's file missing from its state directory? (It
 * may be one of the batch the mover still moves: wait for it.) */
static bool
file_absent(struct accept_pass *p, const struct store_work *w)
{
	struct spooldir *sd = p->c.ctx->sd;
	struct stat st;

	accept_mover_wait(p->mover);

	if (w->state < 0 || w->state >= ST_NSTATES)
		return true;
	return fstatat(sd->state_fd[w->state], w->file_name, &st,
	    AT_SYMLINK_NOFOLLOW) == -1 && errno == ENOENT;
}

/* The row of a message acceptance left unwritten (o->pending). */
struct fresh {
	struct store	*store;
	struct outcome	*o;
};

/* cycle_apply_fresh()'s record: the row, done (processed) or ready. */
static int
record_row(void *arg, bool processed, struct spool_error *err)
{
	struct fresh *f = arg;

	f->o->m.state = processed ? ST_DONE : ST_QUEUE;
	f->o->m.processed = processed;
	return store_insert(f->store, &f->o->m, &f->o->id, err);
}

/*
 * Apply items from `from' on: the one just accepted (its row written
 * here when fresh is not NULL), then what it released (appended by the
 * cycle's code while there is room).
 */
static int
apply_from(struct accept_pass *p, struct outcome *out, size_t nout,
    size_t from, struct fresh *fresh, struct spool_error *err)
{
	struct cycle *c = &p->c;
	struct outcome *o;
	struct item *it;
	size_t i;

	for (i = from; i < c->n; i++) {
		it = &c->items[i];
		if (i > from && (o = batch_outcome(out, nout, it->w.id)) !=
		    NULL) {
			/* Accepted parked in this batch: its file is still
			 * in incoming/, its bytes held (or let go). */
			it->origin = (size_t)(o - out) + 1;
			it->held = o->buf;
			it->held_len = o->len;
			it->accepted = true;
			if (o->buf == NULL) {
				/* Let go (HOLD_MAX): the cycle takes it
				 * from queue/. */
				if (store_mark_queued(c->ctx->store,
				    it->w.id, err) == -1)
					return -1;
				it->to_state = ST_QUEUE;
				continue;
			}
		}
		else if (i > from) {
			/*
			 * Parked by an earlier batch (or a bundle entry of
			 * this one, whose file is written after COMMIT where
			 * the store then says): queue/, for the cycle, which
			 * applies the rest of its run in chunks that a
			 * SIGTERM can stop between. Acceptance stays short.
			 */
			if (store_mark_queued(c->ctx->store, it->w.id,
			    err) == -1)
				return -1;
			it->accepted = file_absent(p, &it->w);
			it->to_state = ST_QUEUE;
			continue;
		}
		if (i == from && fresh != NULL ?
		    cycle_apply_fresh(c, i, record_row, fresh, err) == -1 :
		    cycle_apply_item(c, i, err) == -1)
			return -1;
		c->items[i].held_msg = NULL;	/* freed by the caller */
		p->stats.taken++;
	}
	return 0;
}

int
accept_pass_apply(struct accept_pass *p, struct outcome *out, size_t nout,
    size_t i, struct spool_error *err)
{
	struct outcome *o = &out[i];
	struct fresh fresh;
	struct cycle *c;
	struct item *it;
	int rc;

	if (o->pending) {
		/*
		 * Its row is not written yet (accept_record()): written
		 * done with its application below, or here, ready, when it
		 * is not applied now (no room, bytes let go, not a handler
		 * of the transaction).
		 */
		if (p == NULL) {
			spool_seterr(err, "message %" PRId64 " has no row",
			    o->id);
			return -1;
		}
		fresh.store = p->c.ctx->store;
		fresh.o = o;
		if (o->buf == NULL || o->work == NULL || p->c.n >= p->c.cap ||
		    o->work->type == NULL ||
		    !p->in_tx(p->c.ctx->arg, o->work->type)) {
			o->pending = false;
			return record_row(&fresh, false, err);
		}
	}
	if (p == NULL || o->state != ST_QUEUE || o->restore || o->bundle ||
	    o->duplicate || o->buf == NULL)
		return 0;
	c = &p->c;
	if (c->n >= c->cap)
		return 0;
	it = &c->items[c->n];
	memset(it, 0, sizeof(*it));
	if (o->work != NULL) {
		/* Its row as acceptance wrote it: not read back. */
		it->w = *o->work;
		free(o->work);
		o->work = NULL;
	} else if ((rc = store_work_get(c->ctx->store, o->id, &it->w,
	    err)) != 1) {
		if (rc == 0)
			spool_seterr(err, "message %" PRId64 " is gone",
			    o->id);
		return -1;
	}
	if (it->w.type == NULL || !p->in_tx(c->ctx->arg, it->w.type)) {
		store_work_free(&it->w);
		return 0;
	}
	it->to_state = -1;
	it->held = o->buf;
	it->held_len = o->len;
	it->held_msg = o->parsed;
	it->accepted = true;
	it->origin = i + 1;
	c->n++;
	if (!o->pending)
		return apply_from(p, out, nout, c->n - 1, NULL, err);
	o->pending = false;
	return apply_from(p, out, nout, c->n - 1, &fresh, err);
}

void
accept_pass_settle(struct accept_pass *p, struct outcome *out, size_t n,
    struct accept_stats *stats)
{
	struct cycle *c;
	struct outcome *o;
	struct item *it;
	size_t i, keep = 0;

	if (p == NULL || p->c.n == 0)
		return;
	c = &p->c;
	/* Released without room: queue/, from incoming/ for this batch's. */
	for (i = 0; i < c->nspill; i++) {
		if ((o = batch_outcome(out, n, c->spill[i].id)) != NULL) {
			o->state = ST_QUEUE;
			store_work_free(&c->spill[i]);
		} else if (file_absent(p, &c->spill[i]))
			/* A bundle entry of this batch (see above). */
			store_work_free(&c->spill[i]);
		else
			c->spill[keep++] = c->spill[i];
	}
	c->nspill = keep;
	/* Logs, .reason sidecars, and the moves of files not in incoming/. */
	cycle_log_done(c);
	cycle_move_files(c);
	for (i = 0; i < c->n; i++) {
		it = &c->items[i];
		/* Its outcome, if accepted in this batch (not a bundle
		 * entry's, whose file is not in incoming/). */
		if (!it->accepted || it->origin == 0)
			continue;
		o = &out[it->origin - 1];
		if (it->kept)
			o->state = -1;	/* its reason is owed */
		else if (it->to_state >= 0)
			o->state = it->to_state;
		o->applied = it->to_state >= 0 && it->to_state != ST_QUEUE;
	}
	for (i = 0; i < c->n; i++)
		if (c->items[i].to_state == ST_DONE)
			stats->done++;
	stats->deferred += p->stats.deferred;
	stats->failed += p->stats.failed;
	cycle_flush_outbound(c->ctx);
}

int
accept_unrenamed(struct accept_ctx *c, size_t limit,
    void (*found)(void *, int64_t), void *arg, struct spool_error *err)
{
	sqlite3_stmt *st = NULL;
	struct stat sb;
	const char *name;
	int r, n = 0;

	if (store_prepare(c->store, &st, "SELECT id, file_name FROM messages "
	    "WHERE state = 'done' AND batch IS NULL AND purged_at IS NULL "
	    "ORDER BY id DESC LIMIT ?1", err) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)limit);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(st, 1);
		if (name == NULL || name[0] == '\0' || name[0] == '.' ||
		    strchr(name, '/') != NULL)
			continue;
		if (fstatat(c->sd->state_fd[ST_DONE], name, &sb,
		    AT_SYMLINK_NOFOLLOW) == -1 && errno == ENOENT) {
			found(arg, sqlite3_column_int64(st, 0));
			n++;
		}
	}
	if (r != SQLITE_DONE) {
		store_stmt_err(c->store, st, err);
		n = -1;
	}
	sqlite3_finalize(st);
	return n;
}
