/*
 * cycle.c - the processing cycle of DESIGN 6.
 *
 * One cycle holds up to batch_size messages (ready ones from queue/, and
 * deferred/ ones whose time has come), in one write transaction, applied
 * in chunks of chunk_size, each inside a SAVEPOINT. It takes half its
 * room in ready messages first; the successors they release join it,
 * and when they are applied the rest of the room is filled the same way
 * (all of it, once nothing more is released). So a run behind a closed
 * gap goes parked -> done in one cycle, without a round trip through
 * queue/, and a cycle without transactions still fills up. When every
 * message of a chunk succeeds the chunk is released as a whole. When one
 * fails, the chunk is rolled back to its savepoint and its messages are
 * applied again one by one, each in a savepoint of its own: exactly the
 * failing ones are singled out, everything else of the chunk commits.
 *
 * A message that succeeds moves its transaction's `next' on; when the
 * next number is parked it is released and appended to this cycle's work
 * (while there is room), so a gap that closes lets the whole run behind
 * it through in one cycle, in order. A failing message releases nothing:
 * later messages of its transaction stay parked until it succeeds, is
 * retried or skipped (DESIGN 5).
 *
 * Before each chunk the cycle asks the program whether to stop
 * (SIGTERM): then it commits what it applied; the messages it took but
 * did not apply are still ready in the store (a released successor is
 * marked queued and moves parked -> queue like a spilled one), so the
 * next start goes on from there.
 *
 * A message file is read (readfile.c, bounded) and its digest compared
 * with the one recorded at acceptance before any handler sees it: bytes
 * a partner changed after acceptance fail the message permanently
 * ("file changed after acceptance"), they are never applied.
 *
 * One COMMIT ends the cycle; only then are files renamed into the
 * directory of their new state (failed/ ones after their .reason
 * sidecar; a sidecar that cannot be written leaves the file where it
 * was, owed: accept_settle_owed()), and each directory touched is
 * fsynced once. A crash before COMMIT undoes the whole cycle; a crash
 * after it leaves files in their old directories, which start-up
 * reconciliation moves.
 *
 * An external call (exec) ends in cycle_complete(), a cycle of one
 * message: the handler side decides what the call left pending through
 * struct cycle_external (finish, the outbound messages it sent, and
 * record, the call's own books); the message stops waiting and is done,
 * deferred or failed like any other. The rules of order (which number
 * is next, which parked one is released, gaps) are the sequencer's
 * (seq_release()); the admin's levers, which reuse this file's insides
 * (cycle_int.h), are lever.c's. (About 1000 lines: the chunked apply,
 * its replay, the refill and the held outcome belong together; the one
 * pass of accept_apply.c reuses them through cycle_int.h. Splitting the
 * external outcome into a file of its own is issue 15's next step.)
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cycle.h"
#include "edi.h"
#include "cycle_int.h"
#include "failpoint.h"
#include "log.h"
#include "outbound.h"
#include "readfile.h"
#include "retry.h"
#include "sequencer.h"
#include "store_outbound.h"

static int advance(struct cycle *, const char *, const char *, int64_t,
    const struct store_gap *, struct spool_error *);

/*
 * Read a message file, bounded by max_message_size, and check it is the
 * file accepted: its digest must be the one recorded at acceptance (a
 * partner may have kept a way to write into its upload; accept.c). 0:
 * *buf and *len hold it. -1: not now (cannot open, cannot read), a
 * temporary failure. 1: the bytes are not the ones accepted, a permanent
 * failure. why says which.
 */
static int
read_message(struct spooldir *sd, struct store_work *w, uint64_t max,
    char **buf, size_t *len, char *why, size_t whylen)
{
	struct spool_error err;
	char name[SPOOLDIR_NAME_MAX + 16];
	int fd, pass, st_try, rc;

	*buf = NULL;
	fd = openat(sd->state_fd[w->state], w->file_name, O_RDONLY |
	    O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	/*
	 * Another process (spoolctl retry or skip) commits, then moves the
	 * file: between the two it is still in its old directory. Look
	 * there (twice, in case it moves while we look) and take the file
	 * from where it is; the move after our COMMIT starts from there.
	 */
	for (pass = 0; fd == -1 && errno == ENOENT && pass < 2; pass++) {
		for (st_try = 0; st_try < ST_NSTATES; st_try++) {
			if (st_try == w->state)
				continue;
			fd = openat(sd->state_fd[st_try], w->file_name,
			    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
			if (fd != -1) {
				w->state = st_try;
				break;
			}
		}
		if (fd == -1)
			fd = openat(sd->state_fd[w->state], w->file_name,
			    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	}
	if (fd == -1) {
		snprintf(why, whylen, "cannot open %s/%s: %s",
		    spooldir_dir_name(w->state), w->file_name, strerror(errno));
		return -1;
	}
	snprintf(name, sizeof(name), "%s/%s", spooldir_dir_name(w->state),
	    w->file_name);
	spool_clearerr(&err);
	rc = readfile_fd(fd, name, max, buf, len, why, whylen, &err);
	close(fd);
	if (rc == -1)
		snprintf(why, whylen, "%s", err.msg);
	if (rc != 0)
		return -1;
	if (w->has_sha256 && readfile_verify(*buf, *len, w->sha256, why,
	    whylen) != 0) {
		free(*buf);
		*buf = NULL;
		return 1;
	}
	return 0;
}

void
cycle_logid(char *buf, size_t len, const struct store_work *w)
{
	if (w->transaction_id != NULL)
		snprintf(buf, len, "id=%" PRId64 " partner=%s tx=%s seq=%"
		    PRId64 " type=%s", w->id, LOG_Q(w->partner),
		    LOG_Q(w->transaction_id), w->sender_seq,
		    w->type != NULL ? LOG_Q(w->type) : "-");
	else
		snprintf(buf, len, "id=%" PRId64 " partner=%s type=%s", w->id,
		    LOG_Q(w->partner), w->type != NULL ? LOG_Q(w->type) : "-");
}

/*
 * A message a dialect read (DESIGN 15): its tree (XML as it is, EDI as
 * the EDI tree of spoold.conf(5)), with the keys acceptance recorded.
 */
static int
cycle_parse_dialect(const struct store_work *w, const char *buf, size_t len,
    struct msg *msg, struct spool_error *err)
{
	struct edi_interchange *ic = NULL;
	struct edi_limits lim;

	memset(msg, 0, sizeof(*msg));
	if (edi_detect(buf, len) != EDI_NONE) {
		edi_limits_default(&lim);
		if (edi_read(buf, len, &lim, &ic, err) == -1)
			return -1;
		msg->doc = ic->nmsgs == 1 ? edi_message_tree(ic, 0, buf, len,
		    err) : NULL;
		if (ic->nmsgs != 1)
			spool_seterr(err, "not one EDI message");
		edi_free(ic);
		if (msg->doc == NULL)
			return -1;
	} else if (msg_parse_doc(buf, len, NULL, false, msg, err) == -1)
		return -1;
	if ((msg->hdr.type = strdup(w->type != NULL ? w->type : "")) ==
	    NULL || (w->transaction_id != NULL &&
	    (msg->hdr.transaction_id = strdup(w->transaction_id)) == NULL)) {
		msg_free(msg);
		spool_seterr(err, "out of memory");
		return -1;
	}
	msg->hdr.sender_seq = w->sender_seq;
	msg->hdr.receiver_seq = w->receiver_seq;
	return 0;
}

/* Call the handler for item i. */
static enum cycle_result
call_handler(struct cycle *c, struct item *it)
{
	struct spool_error perr;
	struct cycle_msg cm;
	struct msg msg;
	char *buf;
	size_t len;
	enum cycle_result r;
	int rc;

	it->reason[0] = '\0';
	it->cause[0] = '\0';
	if (it->held != NULL) {
		/* Acceptance's bytes, checked by it (accept_apply.c). */
		buf = (char *)it->held;
		len = it->held_len;
	} else if ((rc = read_message(c->ctx->sd, &it->w,
	    c->ctx->conf->max_message_size, &buf, &len, it->reason,
	    sizeof(it->reason))) != 0)
		return rc == 1 ? CYCLE_PERMANENT : CYCLE_TEMPORARY;
	spool_clearerr(&perr);
	if (it->held_msg != NULL)
		msg = *it->held_msg;
	else if ((it->w.dialect == NULL ? msg_parse(buf, len, &msg, &perr) :
	    cycle_parse_dialect(&it->w, buf, len, &msg, &perr)) == -1) {
		snprintf(it->reason, sizeof(it->reason), "the message no "
		    "longer parses: %s", perr.msg);
		if (it->held == NULL)
			free(buf);
		return CYCLE_PERMANENT;
	}
	memset(&cm, 0, sizeof(cm));
	cm.work = &it->w;
	cm.attempt = it->w.attempts + 1;
	cm.buf = buf;
	cm.len = len;
	cm.msg = &msg;
	cm.cause = it->cause;
	cm.causelen = sizeof(it->cause);
	/*
	 * Stale (DESIGN 5): written without knowledge of our latest message
	 * in the transaction. Decided here, at processing time, because only
	 * now is our counter final: an earlier message of the same
	 * transaction in this very cycle may have caused a reply.
	 */
	it->stale = false;
	if (it->w.transaction_id != NULL && it->w.tx_known)
		/* As acceptance read it, just before (accept_apply.c). */
		cm.out_seq = it->w.out_seq;
	if (it->w.transaction_id != NULL && !it->w.tx_known) {
		if (store_out_last_seq(c->ctx->store, it->w.partner,
		    it->w.transaction_id, &cm.out_seq, &perr) == -1) {
			snprintf(it->reason, sizeof(it->reason), "%s",
			    perr.msg);
			r = CYCLE_TEMPORARY;
			goto out;
		}
	}
	if (it->w.transaction_id != NULL) {
		cm.stale = it->w.receiver_seq < cm.out_seq;
		it->stale = cm.stale;
	}
	r = c->ctx->apply(c->ctx->arg, c->ctx->store, &cm, it->reason,
	    sizeof(it->reason));
	if (r != CYCLE_OK && it->reason[0] == '\0')
		snprintf(it->reason, sizeof(it->reason), "the handler failed "
		    "without a reason");
out:
	if (it->held_msg == NULL)
		msg_free(&msg);
	if (it->held == NULL)
		free(buf);
	return r;
}

/*
 * Take a released message into this processing cycle's work if there is
 * room: its row stays 'parked' until its outcome (done, deferred,
 * failed, or queue when an exec call takes it), one UPDATE instead of
 * two, and refill() cannot take it twice. Else (no room, or a lever's
 * cycle, which applies nothing: skip, an exec call's end) keep it aside:
 * its row becomes 'queue' now and its file moves parked -> queue after
 * COMMIT.
 */
static int
take_released(struct cycle *c, struct store_work *w, struct spool_error *err)
{
	if (c->take && c->n < c->cap) {
		memset(&c->items[c->n], 0, sizeof(c->items[c->n]));
		c->items[c->n].w = *w;
		c->items[c->n].to_state = -1;
		c->items[c->n].parked_row = true;
		c->n++;
		return 0;
	}
	if (store_mark_queued(c->ctx->store, w->id, err) == -1)
		return -1;
	c->spill[c->nspill++] = *w;
	return 0;
}

/*
 * Sequence number seq of a transaction is done (processed or skipped):
 * the sequencer moves next on (seq_release()), and a parked successor it
 * releases joins this cycle.
 */
int
cycle_advance(struct cycle *c, const char *partner, const char *tx,
    int64_t seq, struct spool_error *err)
{
	return advance(c, partner, tx, seq, NULL, err);
}

/* The same, the transaction's gap known (NULL: read). */
static int
advance(struct cycle *c, const char *partner, const char *tx, int64_t seq,
    const struct store_gap *gap, struct spool_error *err)
{
	struct store_work next;
	int rc;

	rc = seq_release_gap(c->ctx->store, partner, tx, seq, gap, &next,
	    err);
	if (rc != 1)
		return rc;
	if (take_released(c, &next, err) == -1) {
		store_work_free(&next);
		return -1;
	}
	c->stats->released++;
	return 0;
}

/*
 * Message id, outside transactions, is done: what waited for it under
 * order = interchange or after (seq_release_msg()) joins this cycle.
 */
int
cycle_advance_msg(struct cycle *c, const char *partner, int64_t id,
    struct spool_error *err)
{
	struct store_work next;
	int rc;

	rc = seq_release_msg(c->ctx->store, partner, id, &next, err);
	if (rc != 1)
		return rc;
	if (take_released(c, &next, err) == -1) {
		store_work_free(&next);
		return -1;
	}
	c->stats->released++;
	return 0;
}

/*
 * Record success of item i: done, its transaction's next moves on, and a
 * parked successor is released (and taken into this cycle if it fits).
 */
static int
succeed(struct cycle *c, struct item *it, struct spool_error *err)
{
	struct store *s = c->ctx->store;

	/* The success is the row's (done, attempts, updated_at): only a
	 * failed attempt has a row of its own (v_attempts shows both). A
	 * row written done already (cycle_apply_fresh()) needs no more. */
	if (!it->fresh && store_mark_done(s, it->w.id, err) == -1)
		return -1;
	if (it->stale && store_msg_mark_stale(s, it->w.id, err) == -1)
		return -1;
	it->to_state = ST_DONE;
	if (it->w.transaction_id == NULL)
		return cycle_advance_msg(c, it->w.partner, it->w.id, err);
	/* Its gap as acceptance read it: the handler does not change it. */
	return advance(c, it->w.partner, it->w.transaction_id,
	    it->w.sender_seq, it->w.tx_known ? &it->w.gap : NULL, err);
}

/*
 * Hold item i for a mistake on our side (CYCLE_HOLD, after its savepoint
 * was rolled back): hold/, with the cause, recorded as spoold's own act.
 * An external call that could not be made counts as an attempt (the
 * handler recorded it as one); a missing route does not.
 */
static int
hold_item(struct cycle *c, struct item *it, bool attempted,
    struct spool_error *err)
{
	struct store *s = c->ctx->store;
	char why[REASON_MAX];
	int attempt = it->w.attempts + 1;

	if (attempted && store_add_attempt(s, it->w.id, attempt, c->now,
	    "temporary", it->reason, err) == -1)
		return -1;
	snprintf(why, sizeof(why), "held by spoold: %.990s", it->reason);
	if (store_mark_held(s, it->w.id, why, it->cause[0] != '\0' ?
	    it->cause : "spoold", attempted ? attempt : 0, err) == -1 ||
	    store_add_action(s, it->w.id, "hold", "spoold", it->reason,
	    err) == -1)
		return -1;
	snprintf(it->reason, sizeof(it->reason), "%s", why);
	it->to_state = ST_HELD;
	c->stats->held++;
	return 0;
}

/* Record failure of item i (after its savepoint was rolled back). */
static int
fail_item(struct cycle *c, struct item *it, enum cycle_result r,
    struct spool_error *err)
{
	const struct conf *conf = c->ctx->conf;
	struct store *s = c->ctx->store;
	int attempt = it->w.attempts + 1;

	if (r == CYCLE_HOLD)
		return hold_item(c, it, false, err);

	if (store_add_attempt(s, it->w.id, attempt, c->now,
	    r == CYCLE_PERMANENT ? "permanent" : "temporary", it->reason,
	    err) == -1)
		return -1;
	if (it->stale && store_msg_mark_stale(s, it->w.id, err) == -1)
		return -1;
	/* Attempts count from the last spoolctl retry. */
	int tries = attempt - it->w.retry_base;

	if (r == CYCLE_TEMPORARY && (unsigned)tries <
	    conf->retry_max_attempts) {
		uint64_t delay = retry_delay_ms(conf, (unsigned)tries,
		    retry_random());

		if (store_mark_deferred(s, it->w.id, store_now_ms() +
		    (int64_t)delay, it->reason, err) == -1)
			return -1;
		it->to_state = ST_DEFERRED;
		it->attempt = attempt;
		it->retry_in = delay;
		c->stats->deferred++;
		return 0;
	}
	if (r == CYCLE_TEMPORARY) {
		char why[REASON_MAX];

		snprintf(why, sizeof(why), "gave up after %d attempts: %.960s",
		    tries, it->reason);
		snprintf(it->reason, sizeof(it->reason), "%s", why);
	}
	if (store_mark_failed(s, it->w.id, it->reason, err) == -1)
		return -1;
	it->to_state = ST_FAILED;
	it->attempt = attempt;
	c->stats->failed++;
	return 0;
}

/*
 * The handler runs outside: the message waits for the outcome (the
 * handler noted what the call is, in its own tables); the file stays, except
 * that a message released from parked/ in this cycle goes to queue/,
 * where the store now says it is (marked here) and where the runner
 * opens it.
 */
static int
go_external(struct cycle *c, struct item *it, struct spool_error *err)
{
	c->stats->external++;
	if (it->parked_row &&
	    store_mark_queued(c->ctx->store, it->w.id, err) == -1)
		return -1;
	if (it->w.state == ST_PARKED)
		it->to_state = ST_QUEUE;
	return store_set_waiting(c->ctx->store, it->w.id, true, err);
}

/* Apply items [from, to) in one savepoint. 1: all ok, 0: one failed. */
static int
chunk_try(struct cycle *c, size_t from, size_t to, struct spool_error *err)
{
	size_t j;

	enum cycle_result r;

	for (j = from; j < to; j++) {
		r = call_handler(c, &c->items[j]);
		if (r == CYCLE_EXTERNAL) {
			if (go_external(c, &c->items[j], err) == -1)
				return -1;
			continue;
		}
		if (r != CYCLE_OK)
			return 0;
		if (succeed(c, &c->items[j], err) == -1)
			return -1;
	}
	return 1;
}

/* Apply items [from, to) one by one, each in its own savepoint. */
static int
chunk_replay(struct cycle *c, size_t from, size_t to, struct spool_error *err)
{
	struct store *s = c->ctx->store;
	enum cycle_result r;
	size_t j;

	for (j = from; j < to; j++) {
		struct item *it = &c->items[j];

		if (store_savepoint(s, "spoold_msg", err) == -1)
			return -1;
		r = call_handler(c, it);
		if (r == CYCLE_EXTERNAL) {
			if (go_external(c, it, err) == -1 ||
			    store_release(s, "spoold_msg", err) == -1)
				return -1;
			continue;
		}
		if (r == CYCLE_OK) {
			if (succeed(c, it, err) == -1)
				return -1;
			if (store_release(s, "spoold_msg", err) == -1)
				return -1;
			continue;
		}
		if (store_rollback_to(s, "spoold_msg", err) == -1 ||
		    store_release(s, "spoold_msg", err) == -1)
			return -1;
		if (fail_item(c, it, r, err) == -1)
			return -1;
	}
	return 0;
}

/* A line for each message the cycle (not a lever) has done: debug. */
void
cycle_log_done(const struct cycle *c)
{
	char id[1024];
	size_t i;

	if (log_level() < LOG_DEBUG)
		return;
	for (i = 0; i < c->n; i++)
		if (c->items[i].to_state == ST_DONE) {
			cycle_logid(id, sizeof(id), &c->items[i].w);
			log_debug("event=done %s attempt=%d", id,
			    c->items[i].w.attempts + 1);
		}
}

int
cycle_apply_item(struct cycle *c, size_t i, struct spool_error *err)
{
	return chunk_replay(c, i, i + 1, err);
}

int
cycle_apply_fresh(struct cycle *c, size_t i,
    int (*record)(void *, bool, struct spool_error *), void *arg,
    struct spool_error *err)
{
	struct store *s = c->ctx->store;
	struct item *it = &c->items[i];
	enum cycle_result r;

	if (store_savepoint(s, "spoold_msg", err) == -1)
		return -1;
	/* Its row, done: what succeed() would make of it. */
	it->fresh = true;
	if (record(arg, true, err) == -1)
		return -1;
	r = call_handler(c, it);
	if (r == CYCLE_OK) {
		if (succeed(c, it, err) == -1 ||
		    store_release(s, "spoold_msg", err) == -1)
			return -1;
		return 0;
	}
	/* The row goes with the handler's work; written again ready, the
	 * message fails as in chunk_replay(). */
	it->fresh = false;
	if (store_rollback_to(s, "spoold_msg", err) == -1 ||
	    store_release(s, "spoold_msg", err) == -1 ||
	    record(arg, false, err) == -1)
		return -1;
	if (r == CYCLE_EXTERNAL) {
		/* Not a handler of the transaction after all: the cycle
		 * takes it from queue/ (and calls it again). */
		it->to_state = ST_QUEUE;
		return 0;
	}
	return fail_item(c, it, r, err);
}

void
cycle_move_files(struct cycle *c)
{
	struct spool_error err;
	char text[REASON_MAX + 4096], id[1024];
	size_t i;

	for (i = 0; i < c->n; i++) {
		struct item *it = &c->items[i];

		/* Logged after the COMMIT, so once: a cycle whose COMMIT
		 * fails (a full disk) is run again and says nothing twice. */
		if (it->to_state == ST_DEFERRED || it->to_state == ST_FAILED) {
			cycle_logid(id, sizeof(id), &it->w);
			if (it->to_state == ST_DEFERRED)
				log_warn("event=defer %s attempt=%d retry_in=%"
				    PRIu64 "ms reason=%s", id, it->attempt,
				    it->retry_in, LOG_Q(it->reason));
			else
				log_err("event=fail %s attempt=%d reason=%s",
				    id, it->attempt, LOG_Q(it->reason));
		}
		/*
		 * Held by spoold for a mistake on our side (a cause): a
		 * warning. Held by an admin (lever_hold(), no cause): what
		 * was asked for, a notice, as a release is; spoolctl,
		 * which shows warnings on stderr, prints its own line.
		 */
		if (it->to_state == ST_HELD && it->w.state != ST_HELD) {
			cycle_logid(id, sizeof(id), &it->w);
			if (it->cause[0] != '\0')
				log_warn("event=hold %s cause=%s reason=%s", id,
				    LOG_Q(it->cause), LOG_Q(it->reason));
			else
				log_notice("event=hold %s reason=%s", id,
				    LOG_Q(it->reason));
		}
		if (it->to_state < 0 || it->to_state == it->w.state)
			continue;
		spool_clearerr(&err);
		/* hold/'s .reason is for ls only: the store has the reason. */
		if (it->to_state == ST_HELD && spooldir_write_reason(c->ctx->sd,
		    ST_HELD, it->w.file_name, it->reason, &err) == -1) {
			cycle_logid(id, sizeof(id), &it->w);
			log_warn("event=reason %s status=failed reason=%s", id,
			    LOG_Q(err.msg));
			spool_clearerr(&err);
		}
		if (it->to_state == ST_FAILED) {
			char log[4096];

			store_attempt_log(c->ctx->store, it->w.id, log,
			    sizeof(log), NULL);
			snprintf(text, sizeof(text), "%s\n%s", it->reason, log);
			/* No file in failed/ without its reason: the file
			 * waits where it is, the reason is owed. */
			if (spooldir_write_reason(c->ctx->sd, ST_FAILED,
			    it->w.file_name, text, &err) == -1) {
				cycle_logid(id, sizeof(id), &it->w);
				log_err("event=reason %s status=failed "
				    "reason=%s note=\"the file stays in %s/ "
				    "until its reason is written\"", id,
				    LOG_Q(err.msg),
				    spool_state_name(it->w.state));
				spooldir_owe(c->ctx->sd, it->w.id);
				it->kept = true;
				continue;
			}
		}
		if (it->accepted)
			continue;	/* still in incoming/: acceptance's */
		if (spooldir_move(c->ctx->sd, -1, it->w.state,
		    it->w.file_name, it->to_state, it->w.file_name,
		    &err) == -1) {
			cycle_logid(id, sizeof(id), &it->w);
			log_err("event=move %s status=failed reason=%s",
			    id, LOG_Q(err.msg));
		}
	}
	for (i = 0; i < c->nspill; i++) {
		spool_clearerr(&err);
		if (spooldir_move(c->ctx->sd, -1, ST_PARKED,
		    c->spill[i].file_name, ST_QUEUE, c->spill[i].file_name,
		    &err) == -1) {
			cycle_logid(id, sizeof(id), &c->spill[i]);
			log_err("event=move %s status=failed reason=%s",
			    id, LOG_Q(err.msg));
		}
	}
	spool_clearerr(&err);
	if (spooldir_sync(c->ctx->sd, &err) == -1)
		log_err("event=sync status=failed reason=%s", LOG_Q(err.msg));
}

/*
 * After COMMIT: write the outbound messages the cycle recorded. A failure
 * is logged and left for the next flush (every cycle that records one,
 * and start-up): the messages are safe in the store.
 */
void
cycle_flush_outbound(struct cycle_ctx *ctx)
{
	struct spool_error err;

	if (ctx->store->outbound_new == 0)
		return;
	spool_clearerr(&err);
	if (outbound_flush(ctx->sd, ctx->store, NULL, &err) == -1)
		log_err("event=outbound status=failed reason=%s",
		    LOG_Q(err.msg));
}

void
cycle_free(struct cycle *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		store_work_free(&c->items[i].w);
	for (i = 0; i < c->nspill; i++)
		store_work_free(&c->spill[i]);
	free(c->items);
	free(c->spill);
}

/*
 * Take up to want more ready messages into the cycle. Every message
 * already in it has been applied (or handed out) by now, so the store no
 * longer calls it ready, with one exception that is skipped here: a
 * message deferred by this cycle with no delay.
 */
static int
refill(struct cycle *c, size_t want, struct spool_error *err)
{
	struct store_work *ready = NULL;
	size_t nready, i, j;

	if (want > c->cap - c->n)
		want = c->cap - c->n;
	if (want == 0)
		return 0;
	if (store_ready(c->ctx->store, c->now, want, &ready, &nready,
	    err) == -1)
		return -1;
	for (i = 0; i < nready; i++) {
		for (j = 0; j < c->n; j++)
			if (c->items[j].w.id == ready[i].id)
				break;
		if (j < c->n) {
			store_work_free(&ready[i]);
			continue;
		}
		memset(&c->items[c->n], 0, sizeof(c->items[c->n]));
		c->items[c->n].w = ready[i];
		c->items[c->n].to_state = -1;
		c->n++;
	}
	free(ready);
	return 0;
}

/*
 * Told to stop: the items from `from' on are not applied. Those that
 * came from queue/ or deferred/ are untouched in the store; a successor
 * released in this cycle still says 'parked': it becomes 'queue' and its
 * file moves after COMMIT, as a spilled one (spill has room: every
 * release is in items or in spill, at most cap of them).
 */
static int
drop_unapplied(struct cycle *c, size_t from, struct spool_error *err)
{
	size_t j;

	for (j = from; j < c->n; j++) {
		if (!c->items[j].parked_row) {
			store_work_free(&c->items[j].w);
			continue;
		}
		if (store_mark_queued(c->ctx->store, c->items[j].w.id,
		    err) == -1) {
			/* The rest is freed by cycle_free(). */
			memmove(&c->items[from], &c->items[j],
			    (c->n - j) * sizeof(*c->items));
			c->n = from + (c->n - j);
			return -1;
		}
		c->spill[c->nspill++] = c->items[j].w;
	}
	c->n = from;
	return 0;
}

/*
 * Everything taken so far is applied and there is room left: take more
 * ready messages. While the last ones released successors, take half the
 * room again (the rest is for what they release); when they released
 * none, fill it. 1: more were taken, 0: none, -1: error.
 */
static int
refill_more(struct cycle *c, unsigned *mark, struct spool_error *err)
{
	size_t before = c->n, room = c->cap - c->n, want;

	if (room == 0)
		return 0;
	want = c->stats->released > *mark ? (room + 1) / 2 : room;
	*mark = c->stats->released;
	if (refill(c, want, err) == -1)
		return -1;
	return c->n > before;
}

int
cycle_run(struct cycle_ctx *ctx, struct cycle_stats *stats,
    struct spool_error *err)
{
	struct store *s = ctx->store;
	struct cycle c;
	size_t i, from, to, j, base, base_spill;
	unsigned base_released, mark_released;
	int rc;

	memset(stats, 0, sizeof(*stats));
	memset(&c, 0, sizeof(c));
	c.ctx = ctx;
	c.stats = stats;
	c.cap = ctx->conf->batch_size;
	c.take = true;
	/* Each item releases at most one successor: spill <= cap. */
	if ((c.items = calloc(c.cap, sizeof(*c.items))) == NULL ||
	    (c.spill = calloc(c.cap, sizeof(*c.spill))) == NULL) {
		spool_seterr(err, "out of memory");
		cycle_free(&c);
		return -1;
	}
	if (store_begin(s, err) == -1) {
		cycle_free(&c);
		return -1;
	}
	c.now = store_now_ms();
	/* Half the room first: the successors they release fill the rest. */
	if (refill(&c, c.cap / 2 ? c.cap / 2 : 1, err) == -1)
		goto rollback;
	if (c.n == 0) {
		store_rollback(s);
		cycle_free(&c);
		return 0;
	}

	mark_released = 0;
	for (from = 0;; from = to) {
		failpoint("cycle-chunk");
		if (ctx->should_stop != NULL &&
		    ctx->should_stop(ctx->stop_arg)) {
			stats->stopped = true;
			if (drop_unapplied(&c, from, err) == -1)
				goto rollback;
			break;
		}
		if (from == c.n) {
			rc = refill_more(&c, &mark_released, err);
			if (rc == -1)
				goto rollback;
			if (rc == 0)
				break;
		}
		to = from + ctx->conf->chunk_size;
		if (to > c.n)
			to = c.n;
		base = c.n;
		base_spill = c.nspill;
		base_released = stats->released;
		if (store_savepoint(s, "spoold_chunk", err) == -1)
			goto rollback;
		rc = chunk_try(&c, from, to, err);
		if (rc == -1)
			goto rollback;
		if (rc == 0) {
			/* Undo the chunk and forget what it released. */
			if (store_rollback_to(s, "spoold_chunk", err) == -1)
				goto rollback;
			for (j = base; j < c.n; j++)
				store_work_free(&c.items[j].w);
			for (j = base_spill; j < c.nspill; j++)
				store_work_free(&c.spill[j]);
			c.n = base;
			c.nspill = base_spill;
			stats->released = base_released;
			for (j = from; j < to; j++)
				c.items[j].to_state = -1;
			stats->chunks_failed++;
			if (chunk_replay(&c, from, to, err) == -1)
				goto rollback;
		}
		if (store_release(s, "spoold_chunk", err) == -1)
			goto rollback;
	}
	if (store_commit(s, err) == -1)
		goto rollback;
	failpoint("cycle-commit");
	stats->taken = (unsigned)c.n;
	for (i = 0; i < c.n; i++)
		if (c.items[i].to_state == ST_DONE)
			stats->done++;
	cycle_log_done(&c);
	cycle_move_files(&c);
	cycle_free(&c);
	cycle_flush_outbound(ctx);
	return 0;
rollback:
	store_rollback(s);
	cycle_free(&c);
	memset(stats, 0, sizeof(*stats));
	return -1;
}

struct out_hook {
	struct cycle_ctx	*ctx;
	const struct store_work	*w;
};

static int
out_hook(void *arg, struct store *s, const char *type, xmlNodePtr body,
    int64_t id, char *why, size_t whylen)
{
	struct out_hook *h = arg;

	return h->ctx->external->outbound(h->ctx->external_arg, s, h->w,
	    type, body, id, why, whylen);
}

/* The handler's end of an external call (cycle_finish_fn). */
static int
finish(struct cycle_ctx *ctx, const struct store_work *w, bool ok,
    struct spool_error *err)
{
	if (ctx->external == NULL || ctx->external->finish == NULL)
		return 0;
	return ctx->external->finish(ctx->external_arg, ctx->store, w, ok,
	    err);
}

/*
 * An exec call that exited 0, in a savepoint: what its message left
 * pending is decided by the handler (first: what the program sends
 * builds on them), then the outbound messages it wrote are recorded.
 * 0 done, 1 refused (why says why; nothing of it kept), -1 store error.
 */
static int
exec_outbound(struct cycle_ctx *ctx, const struct store_work *w,
    const char *out, size_t outlen, char *why, size_t whylen,
    struct spool_error *err)
{
	struct outbound_req req;
	struct spool_error oerr;
	struct out_hook h = { ctx, w };
	const struct conf_partner *pa;
	unsigned n;

	if (store_savepoint(ctx->store, "spoold_out", err) == -1)
		return -1;
	if (finish(ctx, w, true, err) == -1)
		return -1;
	if (out == NULL || outlen == 0)
		return store_release(ctx->store, "spoold_out", err);
	memset(&req, 0, sizeof(req));
	req.partner = w->partner;
	req.transaction_id = w->transaction_id;
	req.receiver_seq = w->transaction_id != NULL ? w->sender_seq : 0;
	req.cause = w->id;
	pa = conf_partner(ctx->conf, w->partner);
	req.expect_ack = pa != NULL && pa->ack != 0;
	spool_clearerr(&oerr);
	if (outbound_emit_file(ctx->store, ctx->schemas, &req, "spoold", out,
	    outlen, ctx->external != NULL && ctx->external->outbound != NULL ?
	    out_hook : NULL, &h, &n,
	    &oerr) == 0)
		return store_release(ctx->store, "spoold_out", err);
	snprintf(why, whylen, "the program exited 0, but what it wrote to "
	    "SPOOLD_OUTBOUND is refused: %s", oerr.msg);
	if (store_rollback_to(ctx->store, "spoold_out", err) == -1 ||
	    store_release(ctx->store, "spoold_out", err) == -1)
		return -1;
	return 1;
}

int
cycle_complete(struct cycle_ctx *ctx, int64_t id, int attempt,
    enum cycle_result r, int exit_status, const char *reason,
    const char *out, size_t outlen, struct spool_error *err)
{
	struct cycle_stats stats;
	struct cycle c;
	char why[REASON_MAX];
	int rc;

	memset(&c, 0, sizeof(c));
	memset(&stats, 0, sizeof(stats));
	c.ctx = ctx;
	c.stats = &stats;
	c.cap = 1;
	if ((c.items = calloc(1, sizeof(*c.items))) == NULL ||
	    (c.spill = calloc(1, sizeof(*c.spill))) == NULL) {
		spool_seterr(err, "out of memory");
		cycle_free(&c);
		return -1;
	}
	if (store_begin(ctx->store, err) == -1) {
		cycle_free(&c);
		return -1;
	}
	c.now = store_now_ms();
	rc = store_work_get(ctx->store, id, &c.items[0].w, err);
	if (rc != 1) {
		if (rc == 0)
			spool_seterr(err, "message %" PRId64 " is gone", id);
		goto rollback;
	}
	c.n = 1;
	c.items[0].to_state = -1;
	/* The store's attempt count is the one before this call. */
	c.items[0].w.attempts = attempt - 1;
	if (r == CYCLE_OK) {
		rc = exec_outbound(ctx, &c.items[0].w, out, outlen, why,
		    sizeof(why), err);
		if (rc == -1)
			goto rollback;
		if (rc == 1) {
			r = CYCLE_PERMANENT;
			reason = why;
		}
	}
	if (r != CYCLE_OK && finish(ctx, &c.items[0].w, false, err) == -1)
		goto rollback;
	if (store_set_waiting(ctx->store, id, false, err) == -1 ||
	    (ctx->external != NULL && ctx->external->record != NULL &&
	    ctx->external->record(ctx->external_arg, ctx->store, id, attempt,
	    r == CYCLE_OK, exit_status, r == CYCLE_OK ? NULL : reason,
	    err) == -1))
		goto rollback;
	if (r == CYCLE_OK)
		rc = succeed(&c, &c.items[0], err);
	else {
		snprintf(c.items[0].reason, sizeof(c.items[0].reason), "%s",
		    reason != NULL && reason[0] != '\0' ? reason :
		    "the handler failed without a reason");
		if (r == CYCLE_HOLD) {
			snprintf(c.items[0].cause, sizeof(c.items[0].cause),
			    "external");
			rc = hold_item(&c, &c.items[0], true, err);
		} else
			rc = fail_item(&c, &c.items[0], r == CYCLE_PERMANENT ?
			    CYCLE_PERMANENT : CYCLE_TEMPORARY, err);
	}
	if (rc == -1 || store_commit(ctx->store, err) == -1)
		goto rollback;
	cycle_log_done(&c);
	cycle_move_files(&c);
	cycle_free(&c);
	cycle_flush_outbound(ctx);
	return 0;
rollback:
	store_rollback(ctx->store);
	cycle_free(&c);
	return -1;
}

int64_t
cycle_next_due_in(struct store *s, struct spool_error *err)
{
	int64_t at, now;
	int rc;

	rc = store_next_due(s, &at, err);
	if (rc != 1)
		return -1;
	now = store_now_ms();
	return at > now ? at - now : 0;
}
