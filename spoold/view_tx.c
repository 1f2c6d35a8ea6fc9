/*
 * view_tx.c - a transaction as spoolctl show --tx and GET
 * /api/transactions show it: its messages and skips gathered by
 * sequence number (struct jv_txview, which spoolctl's text output walks
 * too), what it waits for in one sentence, and its JSON timeline with
 * gaps, purged numbers, skips, order revisions and outbound messages.
 *
 * Everything is read inside one read transaction (jv_tx() opens it;
 * jv_txview_load() runs inside the caller's) and nothing is written.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "order_store.h"
#include "view.h"
#include "view_int.h"

static int
tx_add_msg(void *arg, struct store_admin_msg *m)
{
	struct jv_txview *v = arg;
	struct store_admin_msg *n;

	if (v->nmsgs == v->capmsgs) {
		size_t cap = v->capmsgs ? v->capmsgs * 2 : 16;

		if ((n = reallocarray(v->msgs, cap, sizeof(*n))) == NULL)
			return -1;
		v->msgs = n;
		v->capmsgs = cap;
	}
	v->msgs[v->nmsgs++] = *m;	/* take the strings over */
	memset(m, 0, sizeof(*m));
	return 0;
}

static int
tx_add_skip(void *arg, const struct store_admin_skip *k)
{
	struct jv_txview *v = arg;
	struct jv_skip *n;

	if (v->nskips == v->capskips) {
		size_t cap = v->capskips ? v->capskips * 2 : 8;

		if ((n = reallocarray(v->skips, cap, sizeof(*n))) == NULL)
			return -1;
		v->skips = n;
		v->capskips = cap;
	}
	n = &v->skips[v->nskips];
	n->seq = k->seq;
	n->at = k->at;
	n->reason = strdup(k->reason != NULL ? k->reason : "");
	n->user = strdup(k->user != NULL ? k->user : "");
	if (n->reason == NULL || n->user == NULL) {
		free(n->reason);
		free(n->user);
		return -1;
	}
	v->nskips++;
	return 0;
}

void
jv_txview_free(struct jv_txview *v)
{
	size_t i;

	for (i = 0; i < v->nmsgs; i++)
		store_admin_msg_free(&v->msgs[i]);
	for (i = 0; i < v->nskips; i++) {
		free(v->skips[i].reason);
		free(v->skips[i].user);
	}
	free(v->msgs);
	free(v->skips);
	memset(v, 0, sizeof(*v));
}

/* Not a duplicate, not rejected: the message that holds its number. */
static bool
live(const struct store_admin_msg *m)
{
	return m->has_seq && m->duplicate_of == 0 && m->state != ST_REJECTED;
}

const struct jv_skip *
jv_skip_of(const struct jv_txview *v, int64_t seq)
{
	size_t i;

	for (i = 0; i < v->nskips; i++)
		if (v->skips[i].seq == seq)
			return &v->skips[i];
	return NULL;
}

const struct store_admin_msg *
jv_live_at(const struct jv_txview *v, int64_t seq)
{
	size_t i;

	for (i = 0; i < v->nmsgs; i++)
		if (live(&v->msgs[i]) && v->msgs[i].sender_seq == seq)
			return &v->msgs[i];
	return NULL;
}

/*
 * The smallest number >= seq that has a skip or a message (only a live
 * one, with live_only), or max + 1.
 */
int64_t
jv_next_seen(const struct jv_txview *v, int64_t seq, bool live_only)
{
	int64_t upto = v->max + 1;
	size_t i;

	for (i = 0; i < v->nmsgs; i++) {
		const struct store_admin_msg *m = &v->msgs[i];

		if (m->has_seq && (!live_only || live(m)) &&
		    m->sender_seq >= seq && m->sender_seq < upto)
			upto = m->sender_seq;
	}
	for (i = 0; i < v->nskips; i++)
		if (v->skips[i].seq >= seq && v->skips[i].seq < upto)
			upto = v->skips[i].seq;
	return upto;
}

/* What the transaction waits for, in one sentence; v->word is a stable
 * one-word summary for JSON. */
static void
tx_waiting(struct jv_txview *v)
{
	const struct store_admin_msg *m = jv_live_at(v, v->tx.next_seq);
	char t[64], behind[96], r[300];
	int64_t since = v->tx.gap_since, parked = v->parked;
	char *buf = v->waiting;
	size_t i, len = sizeof(v->waiting);

	behind[0] = '\0';
	if (parked > 0)
		snprintf(behind, sizeof(behind), ", %" PRId64 " message%s "
		    "parked behind it", parked, parked == 1 ? "" : "s");
	if (m == NULL) {
		for (i = 0; i < v->nmsgs; i++)
			if (live(&v->msgs[i]) && v->msgs[i].state ==
			    ST_PARKED && (since == 0 ||
			    v->msgs[i].received_at < since))
				since = v->msgs[i].received_at;
		if (parked > 0) {
			v->word = "waiting";
			snprintf(buf, len, "waiting for sequence %" PRId64
			    " since %s%s", v->tx.next_seq, tlocal(t,
			    sizeof(t), since, false), behind);
		} else if (v->tx.next_seq > 1) {
			v->word = "idle";
			snprintf(buf, len, "nothing waiting: sequences 1 to %"
			    PRId64 " are processed", v->tx.next_seq - 1);
		} else {
			v->word = "idle";
			snprintf(buf, len, "nothing waiting: no message of "
			    "this transaction accepted yet");
		}
		return;
	}
	switch (m->state) {
	case ST_QUEUE:
		v->word = "ready";
		snprintf(buf, len, "sequence %" PRId64 " (message %" PRId64
		    ") is queued for processing%s", m->sender_seq, m->id,
		    behind);
		break;
	case ST_DEFERRED:
		v->word = "retrying";
		snprintf(buf, len, "sequence %" PRId64 " (message %" PRId64
		    ") failed %" PRId64 " time%s and is tried again at %s%s",
		    m->sender_seq, m->id, m->attempts, m->attempts == 1 ? "" :
		    "s", tlocal(t, sizeof(t), m->next_attempt_at, false),
		    behind);
		break;
	case ST_FAILED:
		v->word = "blocked";
		snprintf(buf, len, "blocked by sequence %" PRId64 " (message %"
		    PRId64 "), which failed: %s; retry or skip it%s",
		    m->sender_seq, m->id, first_line(r, sizeof(r), m->reason,
		    JV_SHORT_REASON), behind);
		break;
	default:
		v->word = "ready";
		snprintf(buf, len, "sequence %" PRId64 " (message %" PRId64
		    ") is %s; spoold moves the transaction on in its next "
		    "cycle%s", m->sender_seq, m->id, state_name(m->state),
		    behind);
		break;
	}
}

int
jv_txview_load(struct jv_txview *v, struct store *s, const char *partner,
    const char *txid, struct spool_error *err)
{
	struct store_admin_filter f;
	size_t i;

	memset(v, 0, sizeof(*v));
	memset(&f, 0, sizeof(f));
	f.state = -1;
	f.partner = partner;
	f.transaction_id = txid;
	f.by_seq = true;
	if ((v->known = store_admin_tx_get(s, partner, txid, &v->tx,
	    err)) == -1 ||
	    store_admin_tx_parked(s, partner, txid, &v->parked, err) == -1)
		return -1;
	if (store_admin_msg_list(s, &f, tx_add_msg, v, err) == -1 ||
	    store_admin_skips(s, partner, txid, tx_add_skip, v, err) == -1) {
		if (err->msg[0] == '\0')
			spool_seterr(err, "out of memory");
		return -1;
	}
	if (v->known == 0 && v->nmsgs == 0)
		return 0;
	v->max = v->tx.next_seq - 1;
	for (i = 0; i < v->nmsgs; i++)
		if (v->msgs[i].has_seq && v->msgs[i].sender_seq > v->max)
			v->max = v->msgs[i].sender_seq;
	for (i = 0; i < v->nskips; i++)
		if (v->skips[i].seq > v->max)
			v->max = v->skips[i].seq;
	tx_waiting(v);
	return 1;
}

static void
tx_range(struct jdoc *j, int64_t first, int64_t last)
{
	if (first > last)
		return;
	jd_object(j);
	jd_kint(j, "first", first);
	jd_kint(j, "last", last);
	jd_object_end(j);
}

/*
 * The runs of missing numbers in 1..max. Gaps: from next on, without a
 * live message or a skip. Purged: below next, without any row or skip.
 */
static void
tx_runs(struct jdoc *j, const struct jv_txview *v, bool gaps)
{
	int64_t seq = 1, upto, next = v->tx.next_seq;

	while (seq <= v->max) {
		upto = jv_next_seen(v, seq, gaps);
		if (gaps)
			tx_range(j, seq > next ? seq : next, upto - 1);
		else
			tx_range(j, seq, upto - 1 < next - 1 ? upto - 1 :
			    next - 1);
		seq = upto + 1;
	}
}

/* One number of the timeline, with its messages, attempts and skip. */
static int
tx_seq(struct jdoc *j, struct store *s, const struct jv_txview *v,
    int64_t seq, int64_t now, struct spool_error *err)
{
	const struct store_admin_msg *lm = jv_live_at(v, seq), *m;
	const struct jv_skip *k = jv_skip_of(v, seq);
	size_t i;

	jd_object(j);
	jd_kint(j, "seq", seq);
	jd_kstr(j, "status", lm != NULL ? state_name(lm->state) : k != NULL ?
	    "skipped" : seq < v->tx.next_seq ? "processed" : "gap");
	jd_key(j, "skip");
	if (k != NULL) {
		jd_object(j);
		jd_kstr(j, "user", k->user);
		jd_kstr(j, "reason", k->reason);
		jd_ktime(j, "at", k->at);
		jd_object_end(j);
	} else
		jd_null(j);
	jd_key(j, "messages");
	jd_array(j);
	for (i = 0; i < v->nmsgs; i++) {
		m = &v->msgs[i];
		if (!m->has_seq || m->sender_seq != seq)
			continue;
		jv_msg_open(j, m, now);
		if (jv_attempts(j, s, m->id, err) == -1)
			return -1;
		jd_object_end(j);
	}
	jd_array_end(j);
	jd_object_end(j);
	return 0;
}

static int
tx_revision(void *arg, const struct order_history_row *r)
{
	struct jdoc *j = arg;

	jd_object(j);
	jd_kint(j, "revision", r->revision);
	jd_kstr(j, "order_number", r->order_number);
	jd_kstr(j, "state", r->state);
	jd_kstr(j, "message_type", r->message_type);
	jd_kopt(j, "message", r->message);
	jd_kopt(j, "outbound", r->outbound);
	jd_kopt(j, "compensates", r->compensates);
	jd_ktime(j, "created_at", r->created_at);
	jd_object_end(j);
	return 0;
}

static int
tx_outbound(void *arg, const struct store_admin_outbound *o)
{
	struct jdoc *j = arg;

	jd_object(j);
	jd_kint(j, "id", o->id);
	jd_kstr(j, "type", o->type);
	jd_kint(j, "sender_seq", o->sender_seq);
	jd_kint(j, "receiver_seq", o->receiver_seq);
	jd_kopt(j, "cause", o->cause);
	jd_kstr(j, "file_name", o->file_name);
	jd_ktime(j, "created_at", o->created_at);
	jd_ktime(j, "written_at", o->written_at);
	jd_object_end(j);
	return 0;
}

static int
tx_doc(struct jdoc *j, struct store *s, const struct jv_txview *v,
    const char *partner, const char *txid, int64_t now,
    struct spool_error *err)
{
	int64_t seq, upto;
	size_t i;

	jd_object(j);
	jd_kstr(j, "partner", partner);
	jd_kstr(j, "transaction_id", txid);
	jd_kbool(j, "known", v->known == 1);
	jd_kint(j, "next_seq", v->tx.next_seq);
	jd_kint(j, "out_seq", v->tx.out_seq);
	jd_ktime(j, "gap_since", v->tx.gap_since);
	jd_ktime(j, "created_at", v->tx.created_at);
	jd_ktime(j, "updated_at", v->tx.updated_at);
	jd_kint(j, "parked", v->parked);
	jd_kstr(j, "status", v->word);
	jd_kstr(j, "waiting_for", v->waiting);
	jd_key(j, "sequences");
	jd_array(j);
	/* The numbers with messages or skips, in order. */
	for (seq = 1; seq <= v->max; seq = upto + 1) {
		upto = jv_next_seen(v, seq, false);
		if (upto <= v->max && tx_seq(j, s, v, upto, now, err) == -1)
			return -1;
	}
	jd_array_end(j);
	jd_key(j, "gaps");
	jd_array(j);
	tx_runs(j, v, true);
	jd_array_end(j);
	jd_key(j, "purged");
	jd_array(j);
	tx_runs(j, v, false);
	jd_array_end(j);
	jd_key(j, "skips");
	jd_array(j);
	for (i = 0; i < v->nskips; i++) {
		jd_object(j);
		jd_kint(j, "seq", v->skips[i].seq);
		jd_kstr(j, "user", v->skips[i].user);
		jd_kstr(j, "reason", v->skips[i].reason);
		jd_ktime(j, "at", v->skips[i].at);
		jd_object_end(j);
	}
	jd_array_end(j);
	jd_key(j, "revisions");
	jd_array(j);
	if (order_history(s, partner, txid, tx_revision, j, err) == -1)
		return -1;
	jd_array_end(j);
	jd_key(j, "outbound");
	jd_array(j);
	if (store_admin_outbound(s, partner, txid, tx_outbound, j, err) == -1)
		return -1;
	jd_array_end(j);
	jd_object_end(j);
	return 0;
}

int
jv_tx(struct jdoc *j, struct store *s, const char *partner, const char *txid,
    int64_t now, struct spool_error *err)
{
	struct jv_txview v;
	int rc;

	if (store_admin_read_begin(s, err) == -1)
		return -1;
	if ((rc = jv_txview_load(&v, s, partner, txid, err)) == 1 &&
	    tx_doc(j, s, &v, partner, txid, now, err) == -1)
		rc = -1;
	store_admin_read_end(s);
	jv_txview_free(&v);
	return rc;
}
