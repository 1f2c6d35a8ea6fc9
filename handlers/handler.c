/*
 * handler.c - route each message to the handler of its type.
 *
 * A type without a route, with no [route *] either, fails permanently:
 * retrying cannot help until an admin adds a route (and then retries it).
 *
 * The exec handler does not run here: it answers CYCLE_EXTERNAL, the
 * cycle records a pending call (attempt = attempts + 1) and leaves the
 * message where it is, and spoold's runner (spoold/execq.c) makes the
 * call outside the transaction and finishes it with cycle_complete(),
 * which calls back the handler's finish (handler_external). Before
 * that, an order message of an existing order is checked by the orders
 * life cycle and written as a pending revision (orders.c); the finish
 * decides it (orders_finish).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "handler.h"

static enum cycle_result
exec_apply(struct store *s, const struct router *r,
    const struct conf_route *route, const struct cycle_msg *m, char *reason,
    size_t reasonlen)
{
	/* An order message of an existing order: a pending revision. */
	return orders_external(s, r, route, m, reason, reasonlen);
}

static int
exec_finish(struct store *s, const struct store_work *w, bool ok,
    struct spool_error *err)
{
	/* Its pending order revision, if it wrote one. */
	return orders_finish(s, w, ok, err);
}

static const struct handler exec_handler = {
	.name = "exec",
	.apply = exec_apply,
	.finish = exec_finish,
};

/* The end of an external call: exec is the one handler that makes one. */
static int
handler_finish(void *arg, struct store *s, const struct store_work *w,
    bool ok, struct spool_error *err)
{
	(void)arg;
	return exec_handler.finish(s, w, ok, err);
}

const struct cycle_external handler_external = {
	.outbound = orders_outbound,
	.finish = handler_finish,
};

static const struct handler *handlers[] = {
	&ledger_handler,
	&orders_handler,
	&exec_handler,
};

enum cycle_result
handler_route(void *arg, struct store *s, const struct cycle_msg *m,
    char *reason, size_t reasonlen)
{
	const struct router *r = arg;
	const struct conf_route *route;
	const char *type = m->work->type != NULL ? m->work->type : "";
	size_t i;

	route = conf_route(r->conf, type);
	if (route == NULL) {
		snprintf(reason, reasonlen, "no route for message type %s "
		    "(add [route %s] or [route *] to the configuration)", type,
		    type);
		return CYCLE_PERMANENT;
	}
	for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (strcmp(handlers[i]->name, route->handler) == 0)
			return handlers[i]->apply(s, r, route, m, reason,
			    reasonlen);
	snprintf(reason, reasonlen, "the %s handler (route %s) is not "
	    "available in this version of spoold", route->handler,
	    route->type);
	return CYCLE_TEMPORARY;
}
