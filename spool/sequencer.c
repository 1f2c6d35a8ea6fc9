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
 * All state lives in the store: nothing here survives a call.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sequencer.h"
#include "store_cycle.h"

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

	if (store_tx_next(s, partner, h->transaction_id, &r->next, err) == -1)
		return -1;
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
	int rc;

	if (store_tx_advance(s, partner, tx, seq, err) == -1)
		return -1;
	rc = store_parked(s, partner, tx, seq + 1, next, err);
	if (rc == -1)
		return -1;
	if (rc == 0) {
		/* No successor yet: a gap is open while later ones wait. */
		rc = store_tx_has_parked(s, partner, tx, seq, err);
		if (rc == -1)
			return -1;
		return store_tx_set_gap(s, partner, tx, rc, err) == -1 ? -1 : 0;
	}
	/* The gap, if there was one, closes. */
	if (store_tx_set_gap(s, partner, tx, 0, err) == -1) {
		store_work_free(next);
		return -1;
	}
	return 1;
}
