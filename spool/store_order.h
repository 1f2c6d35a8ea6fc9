/*
 * store_order.h - the store's side of the ordering modes interchange and
 * after (DESIGN 16): which messages belong to which interchange control
 * number of a (partner, sender, recipient) pair, and which wait for which
 * types of their business transaction.
 */
#ifndef SPOOL_STORE_ORDER_H
#define SPOOL_STORE_ORDER_H

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

#endif
