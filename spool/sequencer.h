/*
 * sequencer.h - where an accepted message stands in its transaction.
 */
#ifndef SPOOL_SEQUENCER_H
#define SPOOL_SEQUENCER_H

#include <stdint.h>

#include "error.h"
#include "message.h"
#include "store.h"

enum seq_verdict {
	SEQ_READY,	/* its turn: queue/ */
	SEQ_PARKED,	/* an earlier number is missing: parked/ */
	SEQ_DUPLICATE,	/* already had it: done/, never processed */
	SEQ_CONFLICT	/* number reused with other content: rejected/ */
};

struct seq_result {
	enum seq_verdict	 verdict;
	int64_t			 duplicate_of;	/* SEQ_DUPLICATE */
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

#endif
