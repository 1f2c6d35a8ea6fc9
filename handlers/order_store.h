/*
 * order_store.h - the orders handler's tables: insert-only revisions of
 * each purchase order, with a validity status (DESIGN 1, 7).
 *
 * An order is the purchase order of one (partner, transaction). Each
 * revision is a full snapshot (state and lines) with the message that
 * caused it. order_load() reads the latest *valid* revision: readers never
 * see pending or invalid ones. order_append() writes a new revision only
 * if the latest valid one is still the one the writer started from
 * (optimistic concurrency); otherwise the writer has lost a race and
 * gets ORDER_CONFLICT, and nothing is written.
 *
 * Ownership: order_load() fills a struct order whose lines, items and
 * units are malloc'd; order_free() releases them.
 */
#ifndef HANDLERS_ORDER_STORE_H
#define HANDLERS_ORDER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

enum order_state {
	OS_NONE = -1,		/* no order yet */
	OS_OPEN,
	OS_ACKNOWLEDGED,
	OS_ACCEPTED,
	OS_DECLINED,
	OS_PARTIALLY_DELIVERED,
	OS_DELIVERED,
	OS_INVOICED,
	OS_CANCELLED,
	OS_NSTATES
};

#define ORDER_CODE_MAX	513	/* 128 characters of up to 4 bytes, NUL */
#define ORDER_UNIT_MAX	65	/* 16 characters of up to 4 bytes, NUL */

struct order_line {
	int64_t		 line;		/* the number attribute */
	char		*item;
	int64_t		 quantity;	/* ordered */
	char		*unit;		/* NULL: none */
	bool		 has_price;
	int64_t		 price;		/* minor units */
	int64_t		 delivered;	/* 0 .. quantity */
};

struct order {
	int64_t			 revision;	/* 0: none loaded */
	char			*number;	/* OrderNumber */
	enum order_state	 state;
	struct order_line	*lines;
	size_t			 nlines;
};

/* What caused a revision. */
struct order_cause {
	const char	*type;		/* the message type */
	int64_t		 message;	/* inbound message ID, 0: none */
	int64_t		 outbound;	/* outbound message ID, 0: none */
	int64_t		 compensates;	/* revision reversed, 0: none */
	bool		 pending;	/* validity pending (else valid) */
};

#define ORDER_CONFLICT	(-2)

const char	*order_state_name(enum order_state);
int		 order_state_parse(const char *);	/* -1 if unknown */

void	order_free(struct order *);

/* The latest valid revision: 1 found, 0 no order, -1 error. */
int	order_load(struct store *, const char *partner, const char *tx,
	    struct order *, struct spool_error *);

/*
 * Append revision `o' of the order (its revision field is ignored) as
 * written by a writer that started from revision `base' (0: no order).
 * 0 ok (*rev_id is the new row, *revision its number), ORDER_CONFLICT
 * when a newer valid revision than base exists, -1 on error.
 */
int	order_append(struct store *, const char *partner, const char *tx,
	    int64_t base, const struct order *o, const struct order_cause *,
	    int64_t *rev_id, int64_t *revision, struct spool_error *);

/*
 * A pending revision becomes valid or invalid (once): valid only when
 * `valid' and no newer valid revision of its order exists meanwhile (a
 * writer that lost a race must not overwrite). 0 or -1.
 */
int	order_decide(struct store *, int64_t rev_id, bool valid,
	    struct spool_error *);
/*
 * The end of an external call decides, by the same rule, the revisions
 * its message wrote as pending: a revision that spans two systems is
 * valid only once the second one has said yes. 0 or -1.
 */
int	order_decide_call(struct store *, int64_t message, bool ok,
	    struct spool_error *);

/* A valid order revision, as spoolctl shows it; strings may be NULL. */
struct order_history_row {
	int64_t		 revision;
	const char	*order_number;
	const char	*state;
	const char	*message_type;
	int64_t		 message;	/* 0: none */
	int64_t		 outbound;	/* 0: none */
	int64_t		 compensates;	/* 0: none */
	int64_t		 created_at;
};

/*
 * A transaction's valid order revisions, in order, read through the view
 * v_order_history (for spoolctl: a read-only store will do). fn returns
 * 0 to go on; anything else stops the walk, and -1 is returned. A store
 * without the orders' tables (not migrated yet) has none. 0 or -1.
 */
int	order_history(struct store *, const char *partner, const char *tx,
	    int (*fn)(void *, const struct order_history_row *), void *arg,
	    struct spool_error *);

#endif
