/*
 * handler.c - route each message to the handler of its type.
 *
 * A type without a route, with no [route *] either, is our mistake, not
 * the partner's: the message is held (cause "route"), and a SIGHUP that
 * adds the route lets it go on (DESIGN 18).
 *
 * The exec handler (exec.c) answers CYCLE_EXTERNAL: the cycle records a
 * pending call, which exec.c makes outside the transaction (the process
 * run by spoold's runner); cycle_complete() then calls back the
 * handler's finish through handler_external, defined here.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "exec_store.h"
#include "handler.h"

static const struct handler *handlers[] = {
	&ledger_handler,
	&orders_handler,
	&exec_handler,
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
	.record = exec_call_record,
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
		    "(add [route %s] or [route *] to the configuration and "
		    "reload spoold)", type, type);
		snprintf(m->cause, m->causelen, "route");
		return CYCLE_HOLD;
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

bool
handler_in_tx(void *arg, const char *type)
{
	const struct router *r = arg;
	const struct conf_route *route;
	size_t i;

	if ((route = conf_route(r->conf, type)) == NULL)
		return false;
	for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (strcmp(handlers[i]->name, route->handler) == 0)
			return handlers[i]->finish == NULL;
	return false;
}

const struct store_component *const handler_components[] = {
	&ledger_component,
	&orders_component,
	&exec_component,
	NULL
};
