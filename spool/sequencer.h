/*
 * sequencer.h - where an accepted message stands in its transaction.
 */
#ifndef SPOOL_SEQUENCER_H
#define SPOOL_SEQUENCER_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
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

/* How a message is ordered (DESIGN 16), from its dialect and partner. */
struct seq_mode {
	enum conf_order	 order;		/* DEFAULT: by the header alone */
	int64_t		 first_control;	/* interchange: 0 auto */
	const char	*after;		/* after: types waited for, or NULL */
	const char	*reference;	/* after: the business transaction */
	int64_t		 batch;		/* the batch being accepted, or 0 */
};

#define SEQ_PAIR_MAX	300

struct seq_result {
	enum seq_verdict	 verdict;
	char			 pair[SEQ_PAIR_MAX];	/* interchange: its
							   pair, else "" */
	int64_t			 control;	/* ... and number */
	const char		*after;		/* parked by after: what
						   for (mode's), else NULL */
	int64_t			 duplicate_of;	/* SEQ_DUPLICATE */
	bool			 purged;	/* ... of a purged message,
						 * known by its tombstone */
	int64_t			 next;		/* the transaction's next */
	bool			 tx_found;	/* its row was read into tx
						   (else it has none yet) */
	struct store_txrow	 tx;
	char			 reason[SPOOL_ERRLEN];	/* SEQ_CONFLICT; for
							   SEQ_PARKED what it
							   waits for */
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

/*
 * The same under an ordering mode: interchange (by h->control per
 * partner, h->sender, h->recipient), after (mode->after, by
 * mode->reference), none or sequence (the header decides, as
 * seq_classify()).
 */
int	seq_classify_mode(struct store *, const char *partner,
	    const struct msg_header *h, const uint8_t *sha,
	    const struct seq_mode *, struct seq_result *, struct spool_error *);

const char *seq_verdict_name(enum seq_verdict);

/* Is tx the key of an interchange pair ("interchange SENDER RECIPIENT")? */
bool	seq_is_pair(const char *tx);

/*
 * The key of the pair from sender to recipient (QUAL:ID each, as the
 * header has them; recipient NULL: "-") into buf: 0, or -1 when it does
 * not fit.
 */
int	seq_pair_name(char *buf, size_t size, const char *sender,
	    const char *recipient);

/*
 * Message id, outside any transaction, is done (processed or skipped):
 * what waited for it moves on. For a message of an interchange: the next
 * parked message of the same interchange, or when the interchange is
 * done, the pair's next moves on and the next interchange's first
 * message is released. For a business transaction (order = after): the
 * first parked message whose types waited for are done. 1: one released
 * into *next, 0: none, -1: error. Inside the caller's write transaction.
 */
int	seq_release_msg(struct store *, const char *partner, int64_t id,
	    struct store_work *next, struct spool_error *);

/*
 * Sequence number seq of partner's transaction tx is done (processed or
 * skipped): next moves on. 1: the parked successor seq + 1 is released
 * into *next (the caller owns it; the gap before it closed). 0: none
 * yet (a gap is noted open while later numbers are parked). -1: error.
 * Inside the caller's write transaction.
 */
int	seq_release(struct store *, const char *partner, const char *tx,
	    int64_t seq, struct store_work *next, struct spool_error *);
/* The same, the transaction's gap known (gap, as its row says now; NULL:
 * read it). */
int	seq_release_gap(struct store *, const char *partner, const char *tx,
	    int64_t seq, const struct store_gap *gap, struct store_work *next,
	    struct spool_error *);

#endif
