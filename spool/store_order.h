/*
 * store_order.h - the store's side of the ordering modes interchange and
 * after (DESIGN 16): which messages belong to which interchange control
 * number of a (partner, sender, recipient) pair, and which wait for which
 * types of their business transaction.
 */
#ifndef SPOOL_STORE_ORDER_H
#define SPOOL_STORE_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

/* The pair's row in transactions, next_seq = first when it is new. */
int	store_ic_ensure(struct store *, const char *partner, const char *pair,
	    int64_t first, struct spool_error *);
/* A live message of control number n: 1 (*id, *batch), 0 none, -1. */
int	store_ic_find(struct store *, const char *partner, const char *pair,
	    int64_t n, int64_t *id, int64_t *batch, struct spool_error *);
/* Record a message's pair and number, and the types it waits for. */
int	store_order_set(struct store *, int64_t id, const char *pair,
	    int64_t n, const char *after, struct spool_error *);
/* What ordering a message is under: 1 (strings malloc'd or NULL), 0 no
 * such message, -1. */
int	store_order_of(struct store *, int64_t id, char **pair, int64_t *n,
	    char **reference, char **type, struct spool_error *);
/* The first parked message of number n: 1 (*id), 0 none, -1. */
int	store_ic_parked(struct store *, const char *partner, const char *pair,
	    int64_t n, int64_t *id, struct spool_error *);
/* Live messages of number n not done yet (queued, deferred, failed,
 * held, parked): their count, or -1. */
int64_t	store_ic_open(struct store *, const char *partner, const char *pair,
	    int64_t n, struct spool_error *);
/* Parked messages after number n: 1, 0, -1. */
int	store_ic_parked_after(struct store *, const char *partner,
	    const char *pair, int64_t n, struct spool_error *);
/* Is a live message of partner of type `type' with this reference done?
 * 1, 0, -1. */
int	store_after_done(struct store *, const char *partner,
	    const char *reference, const char *type, struct spool_error *);
/* The first parked message of partner with this reference that waits
 * for type, or for a type of which one is done: 1 (*id), 0 none, -1. */
int	store_after_waiting(struct store *, const char *partner,
	    const char *reference, const char *type, int64_t *id,
	    struct spool_error *);

/* A pair ordered by interchange control number, for spoolctl. */
struct store_ic_pair {
	const char	*partner;
	const char	*pair;		/* "interchange SENDER RECIPIENT" */
	int64_t		 next;		/* the next expected number */
	int64_t		 gap_since;	/* 0: no gap open */
	bool		 gap_alerted;
	int64_t		*parked;	/* numbers parked, ascending */
	size_t		 nparked;
	int64_t		 nskipped;	/* numbers skipped */
};
typedef int (*store_ic_pair_fn)(void *, const struct store_ic_pair *);
/* Every pair (of partner, or all when NULL), by partner and pair. */
int	store_ic_pairs(struct store *, const char *partner, store_ic_pair_fn,
	    void *, struct spool_error *);

/* A message under an interchange control number, for spoolctl. */
struct store_ic_msg {
	int64_t		 id;
	const char	*pair;
	int		 state;		/* enum spool_state */
	const char	*type;
	int64_t		 duplicate_of;
	const char	*reason;
	const char	*orig_name;
	int64_t		 batch;
};
typedef int (*store_ic_msg_fn)(void *, const struct store_ic_msg *);
/* The messages of partner under number n (any pair), by ID: copies and
 * refused ones too. 0, -1. */
int	store_ic_msgs(struct store *, const char *partner, int64_t n,
	    store_ic_msg_fn, void *, struct spool_error *);

#endif
