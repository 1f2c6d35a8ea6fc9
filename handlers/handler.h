/*
 * handler.h - the handler interface and the router (DESIGN 7).
 *
 * A handler applies one message inside the cycle's store transaction and
 * answers ok, temporary or permanent failure with a reason. The router
 * picks the handler of a message's type from [route TYPE] / [route *].
 */
#ifndef HANDLERS_HANDLER_H
#define HANDLERS_HANDLER_H

#include "conf.h"
#include "cycle.h"
#include "schema.h"

struct router {
	const struct conf	*conf;	/* routes; reread after SIGHUP */
	struct schema_set	*schemas;	/* for outbound messages; NULL:
						 * not checked */
};

struct handler {
	const char	*name;
	enum cycle_result (*apply)(struct store *, const struct router *,
			    const struct conf_route *,
			    const struct cycle_msg *, char *reason,
			    size_t reasonlen);
	/* A handler whose apply answers CYCLE_EXTERNAL: the end of its
	 * call (ok or not), in cycle_complete()'s transaction. */
	int		(*finish)(struct store *, const struct store_work *,
			    bool ok, struct spool_error *);
};

/* The cycle's callback: arg is a struct router. */
enum cycle_result handler_route(void *arg, struct store *,
	    const struct cycle_msg *, char *reason, size_t reasonlen);

/*
 * Does the handler routed for type work inside the store transaction (no
 * call outside: ledger, orders; not exec)? No route: false. arg is a
 * struct router. For acceptance's one pass (accept_ctx's in_tx).
 */
bool	handler_in_tx(void *arg, const char *type);

/*
 * What the program gives cycle_complete() (struct cycle_ctx's external,
 * arg unused): the handler's finish, and the orders life cycle for the
 * outbound messages a call sent.
 */
extern const struct cycle_external handler_external;

/*
 * The handler modules' own tables, as store components: the program
 * opens its store with store_open_with(..., handler_components, ...).
 */
extern const struct store_component ledger_component;
extern const struct store_component orders_component;
extern const struct store_component *const handler_components[];

/* Built-in handlers. */
extern const struct handler ledger_handler;
extern const struct handler orders_handler;
extern const struct handler exec_handler;

/*
 * The exec handler's first step: an order message in a transaction that
 * has an order is checked by the life cycle and appended as a pending
 * revision (the call's end decides it). CYCLE_EXTERNAL, or the failure.
 */
enum cycle_result orders_external(struct store *, const struct router *,
	    const struct conf_route *, const struct cycle_msg *, char *reason,
	    size_t reasonlen);

/*
 * The end of that call: the order revisions its message wrote as pending
 * become valid (ok, and no newer valid one meanwhile) or invalid. 0, -1.
 */
int	orders_finish(struct store *, const struct store_work *, bool ok,
	    struct spool_error *);

/*
 * The orders life cycle for spoold's own outbound messages (those an exec
 * program sends, see cycle_outbound_fn): an order message in a
 * transaction that has an order is checked and appended as a revision,
 * caused by the outbound message; a transition the life cycle does not
 * allow refuses it (-1). Other messages pass (0). arg is unused.
 */
int	orders_outbound(void *arg, struct store *, const struct store_work *,
	    const char *type, xmlNodePtr body, int64_t outbound_id, char *why,
	    size_t whylen);

#endif
