/*
 * sequencer.c - decide order: ready, parked, duplicate or conflict, and
 * release in order.
 *
 * Per (partner, TransactionId) the store keeps `next', the last processed
 * SenderSequence + 1. A message whose number is already recorded, or is
 * below next, is a duplicate when its content is the same (SHA-256) and
 * a conflict when it differs: never silently dropped. A number equal to
 * next is ready; a higher one is parked until the gap before it closes.
 *
 * Outside transactions the duplicate key is the message_id (same partner,
 * same qualified type), or without one the content digest. A message_id
 * seen before with other content, inside or outside transactions, is a
 * conflict: "reference reused with different content" (DESIGN 5 and
 * 15), never silently dropped.
 *
 * The release half of ordering is here too (seq_release): when a number
 * is done, next moves on; the parked successor, if it is there, is
 * released and the gap before it closes; if it is not, a gap is open
 * while later numbers wait.
 *
 * Ordering modes (DESIGN 16). `sequence' is the above; `none' is only
 * the duplicate rules. `interchange' and `after' reuse the parking
 * machinery (parked/, the cycle's release of one successor per message
 * done, gap alerts, skips) as follows.
 *
 * interchange: each (partner, sender id, recipient id) is a pair whose
 * key, "interchange SENDER RECIPIENT", names a synthetic row of
 * transactions: its next_seq is the next expected control number (UNB
 * 0020, ISA13, compared as integers), and gap_since/gap_alerted give
 * the same gap alerts as a transaction's; skips are recorded under the
 * key, so `spoolctl skip PARTNER "interchange S R" N' works as for a
 * sequence number. The messages themselves stay outside transactions
 * (transaction_id NULL): an interchange holds several messages under
 * one number, which the unique (partner, transaction_id, sender_seq)
 * index forbids; they carry the pair and number in ic_pair/ic_control.
 * A number is `seen' when a live message of it exists from another
 * batch (an interchange is one file's; the same interchange's other
 * messages come in the same batch) or a tombstone of the message's
 * reference is kept (DESIGN 18, within dedup_window): then each message
 * of the copy is a duplicate when a message with its message_id (or,
 * without one, its digest) has the same content, and rejected when not
 * ("interchange control number reused with different content"); the
 * same message twice in one file is such a copy too. A number equal to
 * next is ready, a higher one parked (all its messages: the first one
 * classified decides, the rest of its batch follows); one
 * below next never seen is refused (skipped, or purged beyond the
 * window). The first expected number is [partner] first_control, or,
 * with auto, the first interchange a pair sends. Release keeps the
 * cycle's rule of one successor per message done: a done message of
 * number N releases the next parked message of N; the last one done
 * moves next to N+1 and releases the first message of N+1 (so an
 * interchange's messages go through in order of arrival). Not guarded:
 * a native transaction that a partner itself names "interchange S R"
 * shares its row with that pair of the same partner, so such a partner
 * can only confuse the order of its own messages.
 *
 * after: a message whose type has an after.TYPE rule and a business
 * reference (the dialect's transaction key) is parked unless a message
 * of one of the named types with the same reference from the same
 * partner is done; its row names the types (after_types) and its reason
 * says what it waits for. A message done releases the first parked one
 * of its reference whose types are now done; that one, done, releases
 * the next (one successor per message again). Without a reference
 * there is nothing to wait for: ready.
 *
 * All state lives in the store: nothing here survives a call.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sequencer.h"
#include "store_cycle.h"
#include "store_order.h"

#define PAIR_PREFIX	"interchange "

static int release_pair(struct store *, const char *, const char *, int64_t,
    struct store_work *, struct spool_error *);

const char *
seq_verdict_name(enum seq_verdict v)
{
	switch (v) {
	case SEQ_READY:
		return "ready";
	case SEQ_PARKED:
		return "parked";
	case SEQ_DUPLICATE:
		return "duplicate";
	case SEQ_CONFLICT:
		return "conflict";
	}
	return "?";
}

static int
classify_tx(struct store *s, const char *partner, const struct msg_header *h,
    const uint8_t *sha, struct seq_result *r, struct spool_error *err)
{
	struct store_msgref ref;
	uint8_t psha[32];
	int rc;

	if ((rc = store_tx_read(s, partner, h->transaction_id, &r->tx,
	    err)) == -1)
		return -1;
	r->tx_found = rc == 1;
	r->next = r->tx.next_seq;
	rc = store_find_seq(s, partner, h->transaction_id, h->sender_seq,
	    &ref, err);
	if (rc == -1)
		return -1;
	if (rc == 1) {
		if (memcmp(ref.sha256, sha, 32) == 0) {
			r->verdict = SEQ_DUPLICATE;
			r->duplicate_of = ref.id;
		} else {
			r->verdict = SEQ_CONFLICT;
			snprintf(r->reason, sizeof(r->reason),
			    "sequence number reused with different content: "
			    "SenderSequence %" PRId64 " of transaction %s was "
			    "first accepted as message %" PRId64, h->sender_seq,
			    h->transaction_id, ref.id);
		}
		store_msgref_free(&ref);
		return 0;
	}
	if ((rc = store_find_purged(s, partner, h->transaction_id,
	    h->sender_seq, NULL, NULL, NULL, &r->duplicate_of, psha, err)) ==
	    -1)
		return -1;
	if (rc == 1) {
		/* Purged, its tombstone kept (DESIGN 18). */
		if (memcmp(psha, sha, 32) == 0) {
			r->verdict = SEQ_DUPLICATE;
			r->purged = true;
		} else {
			r->verdict = SEQ_CONFLICT;
			snprintf(r->reason, sizeof(r->reason),
			    "sequence number reused with different content: "
			    "SenderSequence %" PRId64 " of transaction %s was "
			    "first accepted as message %" PRId64 " (purged "
			    "since)", h->sender_seq, h->transaction_id,
			    r->duplicate_of);
			r->duplicate_of = 0;
		}
		return 0;
	}
	r->duplicate_of = 0;
	if (h->sender_seq < r->next) {
		/*
		 * Below next, not recorded and no tombstone: an admin
		 * skipped it, or it was processed and its record has been
		 * purged more than dedup_window ago. Either way it is not
		 * applied, and the reason says which.
		 */
		r->verdict = SEQ_CONFLICT;
		if ((rc = store_find_skip(s, partner, h->transaction_id,
		    h->sender_seq, err)) == -1)
			return -1;
		if (rc == 1)
			snprintf(r->reason, sizeof(r->reason), "SenderSequence "
			    "%" PRId64 " of transaction %s arrived after it "
			    "was skipped (the transaction expects %" PRId64
			    " next)", h->sender_seq, h->transaction_id,
			    r->next);
		else
			snprintf(r->reason, sizeof(r->reason), "SenderSequence "
			    "%" PRId64 " of transaction %s was processed "
			    "before and its record has been purged since, so "
			    "this copy cannot be compared with it and is not "
			    "applied (the transaction expects %" PRId64
			    " next)", h->sender_seq, h->transaction_id,
			    r->next);
		return 0;
	}
	r->verdict = h->sender_seq == r->next ? SEQ_READY : SEQ_PARKED;
	return 0;
}

int
seq_classify(struct store *s, const char *partner, const struct msg_header *h,
    const uint8_t *sha, struct seq_result *r, struct spool_error *err)
{
	struct store_msgref ref;
	uint8_t psha[32];
	int rc;

	memset(r, 0, sizeof(*r));
	/* In a transaction its number decides first (DESIGN 5). */
	if (h->transaction_id != NULL) {
		if (classify_tx(s, partner, h, sha, r, err) == -1)
			return -1;
		if (r->verdict == SEQ_CONFLICT || r->verdict == SEQ_DUPLICATE ||
		    h->message_id == NULL)
			return 0;
	}
	if (h->message_id != NULL) {
		rc = store_find_msgid(s, partner, h->type, h->message_id,
		    h->transaction_id != NULL, &ref, err);
		if (rc == -1)
			return -1;
		if (rc == 1 && memcmp(ref.sha256, sha, 32) != 0) {
			/* DESIGN 5 and 15: never silently dropped. */
			r->verdict = SEQ_CONFLICT;
			r->duplicate_of = 0;
			snprintf(r->reason, sizeof(r->reason), "reference "
			    "reused with different content: message_id %.200s "
			    "(%.100s) was first accepted as message %" PRId64,
			    h->message_id, h->type, ref.id);
			store_msgref_free(&ref);
			return 0;
		}
		if (rc == 1 && h->transaction_id == NULL) {
			r->verdict = SEQ_DUPLICATE;
			r->duplicate_of = ref.id;
			store_msgref_free(&ref);
			return 0;
		}
		if (rc == 1)
			store_msgref_free(&ref);
	}
	if (h->transaction_id != NULL)
		return 0;	/* classify_tx()'s verdict */
	if (h->message_id == NULL) {
		rc = store_find_hash(s, partner, sha, &ref, err);
		if (rc == -1)
			return -1;
		if (rc == 1) {
			r->verdict = SEQ_DUPLICATE;
			r->duplicate_of = ref.id;
			store_msgref_free(&ref);
			return 0;
		}
	}
	/*
	 * A purged one, known by its tombstone (DESIGN 18). The same
	 * MessageId with other content would be a conflict; a tombstone
	 * keeps the digest, so that stays true after the purge.
	 */
	if ((rc = store_find_purged(s, partner, NULL, 0, h->message_id,
	    h->type, sha, &r->duplicate_of, psha, err)) == -1)
		return -1;
	if (rc == 1 && memcmp(psha, sha, 32) != 0) {
		r->verdict = SEQ_CONFLICT;
		snprintf(r->reason, sizeof(r->reason), "reference reused "
		    "with different content: MessageId %s was first accepted "
		    "as message %" PRId64 " (purged since)", h->message_id,
		    r->duplicate_of);
		r->duplicate_of = 0;
	} else if (rc == 1) {
		r->verdict = SEQ_DUPLICATE;
		r->purged = true;
	} else
		r->verdict = SEQ_READY;
	return 0;
}

int
seq_release(struct store *s, const char *partner, const char *tx,
    int64_t seq, struct store_work *next, struct spool_error *err)
{
	return seq_release_gap(s, partner, tx, seq, NULL, next, err);
}

int
seq_release_gap(struct store *s, const char *partner, const char *tx,
    int64_t seq, const struct store_gap *gap, struct store_work *next,
    struct spool_error *err)
{
	int rc;

	if (seq_is_pair(tx)) {
		/* A control number skipped (spoolctl skip). */
		return release_pair(s, partner, tx, seq, next, err);
	}
	if (store_tx_advance(s, partner, tx, seq, err) == -1)
		return -1;
	/* One look-up finds the successor, or a later one parked. */
	rc = store_parked_after(s, partner, tx, seq, next, err);
	if (rc == -1)
		return -1;
	if (rc == 0 || next->sender_seq != seq + 1) {
		/* No successor yet: a gap is open while later ones wait. */
		if (rc == 1)
			store_work_free(next);
		return store_tx_set_gap_known(s, partner, tx, rc, gap, err) ==
		    -1 ? -1 : 0;
	}
	/* The gap, if there was one, closes. */
	if (store_tx_set_gap_known(s, partner, tx, 0, gap, err) == -1) {
		store_work_free(next);
		return -1;
	}
	return 1;
}

bool
seq_is_pair(const char *tx)
{
	return strncmp(tx, PAIR_PREFIX, sizeof(PAIR_PREFIX) - 1) == 0;
}

int
seq_pair_name(char *buf, size_t size, const char *sender,
    const char *recipient)
{
	int n;

	n = snprintf(buf, size, PAIR_PREFIX "%s %s", sender,
	    recipient != NULL ? recipient : "-");
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/*
 * Interchange number seen before: this message of the copy is the same
 * (a duplicate) or not (refused). The message is found by its reference,
 * else by its digest, among live rows and then tombstones. 1: found,
 * 2: found neither (refused), -1.
 */
static int
seen_copy(struct store *s, const char *partner, const struct msg_header *h,
    const uint8_t *sha, struct seq_result *r, struct spool_error *err)
{
	struct store_msgref ref;
	uint8_t psha[32];
	int rc;

	if (h->message_id != NULL)
		rc = store_find_msgid(s, partner, h->type, h->message_id,
		    false, &ref, err);
	else
		rc = store_find_hash(s, partner, sha, &ref, err);
	if (rc == -1)
		return -1;
	if (rc == 1) {
		if (memcmp(ref.sha256, sha, 32) == 0) {
			r->verdict = SEQ_DUPLICATE;
			r->duplicate_of = ref.id;
		} else {
			r->verdict = SEQ_CONFLICT;
			snprintf(r->reason, sizeof(r->reason), "interchange "
			    "control number %" PRId64 " (%.280s) reused with "
			    "different content: this message differs from "
			    "message %" PRId64 " accepted under it",
			    r->control, r->pair, ref.id);
		}
		store_msgref_free(&ref);
		return 1;
	}
	if ((rc = store_find_purged(s, partner, NULL, 0, h->message_id,
	    h->type, sha, &r->duplicate_of, psha, err)) == -1)
		return -1;
	if (rc == 1 && memcmp(psha, sha, 32) == 0) {
		r->verdict = SEQ_DUPLICATE;
		r->purged = true;
		return 1;
	}
	r->verdict = SEQ_CONFLICT;
	snprintf(r->reason, sizeof(r->reason), "interchange control number "
	    "%" PRId64 " (%.280s) reused with different content: %s",
	    r->control, r->pair, rc == 1 ? "this message differs from the "
	    "one accepted under it (purged since)" : "this message was not "
	    "in the interchange accepted under it");
	r->duplicate_of = 0;
	return rc == 1 ? 1 : 2;
}

static int
classify_ic(struct store *s, const char *partner, const struct msg_header *h,
    const uint8_t *sha, const struct seq_mode *mode, struct seq_result *r,
    struct spool_error *err)
{
	int64_t id, batch;
	int rc;

	if (seq_pair_name(r->pair, sizeof(r->pair), h->sender,
	    h->recipient) == -1) {
		r->pair[0] = '\0';
		r->verdict = SEQ_CONFLICT;
		snprintf(r->reason, sizeof(r->reason), "order = interchange: "
		    "sender and recipient ids are too long");
		return 0;
	}
	r->control = h->control;
	if ((rc = store_tx_next(s, partner, r->pair, &r->next, err)) == -1)
		return -1;
	if (rc == 0) {
		/* A new pair: first_control, or auto: this one. */
		r->next = mode->first_control > 0 ? mode->first_control :
		    h->control;
		if (store_ic_ensure(s, partner, r->pair, r->next, err) == -1)
			return -1;
	}
	if ((rc = store_ic_find(s, partner, r->pair, h->control, &id, &batch,
	    err)) == -1)
		return -1;
	if (rc == 1 && (batch == 0 || batch != mode->batch))
		return seen_copy(s, partner, h, sha, r, err) == -1 ? -1 : 0;
	if (rc == 1) {
		/* The same file: the same message twice in it (a file may
		 * hold two interchanges of one number) is a copy too. */
		struct store_msgref ref;

		rc = h->message_id != NULL ? store_find_msgid(s, partner,
		    h->type, h->message_id, false, &ref, err) :
		    store_find_hash(s, partner, sha, &ref, err);
		if (rc == -1)
			return -1;
		if (rc == 1) {
			store_msgref_free(&ref);
			return seen_copy(s, partner, h, sha, r, err) == -1 ?
			    -1 : 0;
		}
	}
	if (rc == 0 && h->control < r->next) {
		/* Not live: a tombstone, a skip, or older than the window. */
		rc = seen_copy(s, partner, h, sha, r, err);
		if (rc != 2)
			return rc == -1 ? -1 : 0;
		r->verdict = SEQ_CONFLICT;
		r->duplicate_of = 0;
		if ((rc = store_find_skip(s, partner, r->pair, h->control,
		    err)) == -1)
			return -1;
		snprintf(r->reason, sizeof(r->reason), "interchange control "
		    "number %" PRId64 " (%.280s) %s (the pair expects %" PRId64
		    " next)", h->control, r->pair, rc == 1 ? "arrived after "
		    "it was skipped" : "is below the next expected number and "
		    "was not seen within dedup_window, so it cannot be "
		    "compared and is not applied", r->next);
		return 0;
	}
	if (h->control > r->next) {
		r->verdict = SEQ_PARKED;
		snprintf(r->reason, sizeof(r->reason), "waits for interchange "
		    "control number %" PRId64 " (%.280s): a gap before %"
		    PRId64, r->next, r->pair, h->control);
	} else
		r->verdict = SEQ_READY;
	return 0;
}

/* order = after: parked unless one of the types waited for is done. */
static int
classify_after(struct store *s, const char *partner,
    const struct seq_mode *mode, struct seq_result *r,
    struct spool_error *err)
{
	char t[80];
	const char *p, *e;
	size_t n;
	int rc;

	for (p = mode->after; *p != '\0'; p = *e != '\0' ? e + 1 : e) {
		if ((e = strchr(p, ' ')) == NULL)
			e = p + strlen(p);
		n = (size_t)(e - p);
		if (n >= sizeof(t))
			continue;
		memcpy(t, p, n);
		t[n] = '\0';
		rc = store_after_done(s, partner, mode->reference, t, err);
		if (rc == -1)
			return -1;
		if (rc == 1)
			return 0;
	}
	r->verdict = SEQ_PARKED;
	r->after = mode->after;
	snprintf(r->reason, sizeof(r->reason), "waits for %.200s of "
	    "transaction %.200s to be done (order = after)", mode->after,
	    mode->reference);
	return 0;
}

int
seq_classify_mode(struct store *s, const char *partner,
    const struct msg_header *h, const uint8_t *sha,
    const struct seq_mode *mode, struct seq_result *r,
    struct spool_error *err)
{
	if (mode->order == CONF_ORDER_INTERCHANGE && h->transaction_id ==
	    NULL && h->has_control) {
		memset(r, 0, sizeof(*r));
		return classify_ic(s, partner, h, sha, mode, r, err);
	}
	if (seq_classify(s, partner, h, sha, r, err) == -1)
		return -1;
	if (mode->order == CONF_ORDER_AFTER && r->verdict == SEQ_READY &&
	    h->transaction_id == NULL && mode->after != NULL &&
	    mode->reference != NULL)
		return classify_after(s, partner, mode, r, err);
	return 0;
}

/* Release message id from parked/: 1 with *next filled. */
static int
release_id(struct store *s, int64_t id, struct store_work *next,
    struct spool_error *err)
{
	int rc;

	rc = store_work_get(s, id, next, err);
	if (rc == 0)
		spool_seterr(err, "message %" PRId64 " vanished", id);
	return rc == 1 ? 1 : -1;
}

/* A pair's number n is done: next moves on, the next one's first goes. */
static int
release_pair(struct store *s, const char *partner, const char *pair,
    int64_t n, struct store_work *next, struct spool_error *err)
{
	int64_t id;
	int rc;

	if (store_tx_advance(s, partner, pair, n, err) == -1)
		return -1;
	if ((rc = store_ic_parked(s, partner, pair, n + 1, &id, err)) == -1)
		return -1;
	if (rc == 1) {
		if (store_tx_set_gap(s, partner, pair, 0, err) == -1)
			return -1;
		return release_id(s, id, next, err);
	}
	if ((rc = store_ic_parked_after(s, partner, pair, n, err)) == -1)
		return -1;
	return store_tx_set_gap(s, partner, pair, rc, err) == -1 ? -1 : 0;
}

int
seq_release_msg(struct store *s, const char *partner, int64_t id,
    struct store_work *next, struct spool_error *err)
{
	char *pair, *ref, *type;
	int64_t n, pid, open = 0;
	int rc, ret = -1;

	if ((rc = store_order_of(s, id, &pair, &n, &ref, &type, err)) != 1)
		return rc == 0 ? 0 : -1;
	if (pair != NULL) {
		/* The rest of the same interchange first. */
		rc = store_ic_parked(s, partner, pair, n, &pid, err);
		if (rc == 1)
			ret = release_id(s, pid, next, err);
		else if (rc == 0 && (open = store_ic_open(s, partner, pair, n,
		    err)) == 0)
			ret = release_pair(s, partner, pair, n, next, err);
		else
			ret = rc == -1 || open == -1 ? -1 : 0;
	} else if (ref != NULL && type != NULL) {
		rc = store_after_waiting(s, partner, ref, type, &pid, err);
		if (rc == 1)
			ret = release_id(s, pid, next, err);
		else
			ret = rc;
	} else
		ret = 0;
	free(pair);
	free(ref);
	free(type);
	return ret;
}
