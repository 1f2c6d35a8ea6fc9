/*
 * store_outbound.h - the store's statements for outbound messages
 * (DESIGN 8) and our side of a transaction's counters (DESIGN 5).
 *
 * transactions.out_seq is the last SenderSequence we sent in a
 * transaction; next_seq - 1 is the partner's last processed number.
 */
#ifndef SPOOL_STORE_OUTBOUND_H
#define SPOOL_STORE_OUTBOUND_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

/* An outbound message to record; strings are the caller's. */
struct store_outmsg {
	const char	*partner;
	const char	*transaction_id;	/* NULL: outside transactions */
	int64_t		 sender_seq;
	int64_t		 receiver_seq;
	const char	*type;
	int64_t		 cause;		/* inbound message ID, 0: none */
	const char	*file_name;
	const char	*content;
	size_t		 len;
};

/* An outbound message not yet written (store_out_unwritten()); owned. */
struct store_outfile {
	int64_t		 id;
	char		*partner;
	char		*file_name;
	char		*content;
	size_t		 len;
};

/* The last SenderSequence we sent in a transaction (0: none). 0 / -1. */
int	store_out_last_seq(struct store *, const char *partner,
	    const char *tx, int64_t *seq, struct spool_error *);
/* Take our next SenderSequence of a transaction (out_seq + 1). */
int	store_out_take_seq(struct store *, const char *partner,
	    const char *tx, int64_t *seq, struct spool_error *);
/* The ID the next outbound message gets (inside a write transaction). */
int	store_out_next_id(struct store *, int64_t *id, struct spool_error *);
/* Record an outbound message with ID id. */
int	store_out_insert(struct store *, int64_t id,
	    const struct store_outmsg *, struct spool_error *);
/* Every outbound message not yet written, oldest first. The caller
 * frees the array with store_outfiles_free(). */
int	store_out_unwritten(struct store *, struct store_outfile **,
	    size_t *n, struct spool_error *);
void	store_outfiles_free(struct store_outfile *, size_t n);
/* Note that the file of outbound message id is in outgoing/. */
int	store_out_mark_written(struct store *, int64_t id,
	    struct spool_error *);
/* Mark a message stale (DESIGN 5). */
int	store_msg_mark_stale(struct store *, int64_t id, struct spool_error *);

#endif
