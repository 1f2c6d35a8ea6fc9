/*
 * sequencer.h - where an accepted message stands in its transaction.
 */
#ifndef SPOOL_SEQUENCER_H
#define SPOOL_SEQUENCER_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "message.h"
#include "store.h"
#include "store_cycle.h"

enum seq_verdict {
	SEQ_READY,	/* its turn: queue/ */
	SEQ_PARKED,	/* an earlier number is missing: parked/ */
	SEQ_DUPLICATE,	/* already had it: done/, never processed */
	SEQ_CONFLICT	/* number reused with other content: rejected/ */
};

struct seq_result {
	enum seq_verdict	 verdict;
	int64_t			 duplicate_of;	/* SEQ_DUPLICATE */
	bool			 purged;	/* ... of a purged message,
						 * known by its tombstone */
	int64_t			 next;		/* the transaction's next */
	char			 reason[SPOOL_ERRLEN];	/* SEQ_CONFLICT */
};

/*
 * Classify a message of `partner' with header h and content digest sha
 * against the store (DESIGN 5). Runs inside the caller's transaction,
 * so messages recorded earlier in the same batch count. 0 ok, -1 on a
 * store error.
 */
int	seq_classify(struct store *, const char *partner,
	    const struct msg_header *h, const uint8_t *sha,
	    struct seq_result *, struct spool_error *);

const char *seq_verdict_name(enum seq_verdict);

/*
 * Sequence number seq of partner's transaction tx is done (processed or
 * skipped): next moves on. 1: the parked successor seq + 1 is released
 * into *next (the caller owns it; the gap before it closed). 0: none
 * yet (a gap is noted open while later numbers are parked). -1: error.
 * Inside the caller's write transaction.
 */
int	seq_release(struct store *, const char *partner, const char *tx,
	    int64_t seq, struct store_work *next, struct spool_error *);

#endif
