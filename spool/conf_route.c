/*
 * conf_route.c - [route TYPE] of spoold.conf: which handler a message
 * type goes to (orders, ledger, exec) and the exec handler's command,
 * timeout and input; conf_route() finds the route of a type.
 *
 * A section is made when its header is read (conf_route_open()), so
 * that a route without keys is still seen; a TYPE given twice names one
 * route. The checks between keys (a handler is given, command only for
 * exec, auto_ack only for orders) wait for the whole file
 * (conf_route_check()) and report the line of the section header.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_int.h"

/* Keys of [route TYPE]; bits in route_seen. */
enum {
	RK_HANDLER = 1,
	RK_COMMAND = 2,
	RK_TIMEOUT = 4,
	RK_AUTO_ACK = 8,
	RK_INPUT = 16
};

/* A message type in [route TYPE]: an XML name without a colon, or "*". */
static bool
type_name_ok(const char *t)
{
	size_t i;

	if (strcmp(t, "*") == 0)
		return true;
	if (!(isalpha((unsigned char)t[0]) || t[0] == '_') || !isascii(t[0]))
		return false;
	for (i = 1; t[i] != '\0'; i++)
		if (!isascii(t[i]) || !(isalnum((unsigned char)t[i]) ||
		    t[i] == '_' || t[i] == '-' || t[i] == '.'))
			return false;
	return i <= 128;
}

static struct conf_route *
route_get(struct conf_parse *p, const char *type)
{
	struct conf *c = p->conf;
	struct conf_route *r;
	unsigned *seen;
	size_t i;

	for (i = 0; i < c->nroutes; i++)
		if (strcmp(c->routes[i].type, type) == 0)
			return &c->routes[i];
	if ((r = realloc(c->routes, (c->nroutes + 1) * sizeof(*r))) == NULL)
		return NULL;
	c->routes = r;
	if ((seen = realloc(p->route_seen,
	    (c->nroutes + 1) * sizeof(*seen))) == NULL)
		return NULL;
	p->route_seen = seen;
	r = &c->routes[c->nroutes];
	memset(r, 0, sizeof(*r));
	r->timeout_ms = SEC(60);
	r->line = p->line;
	if ((r->type = strdup(type)) == NULL)
		return NULL;
	seen[c->nroutes++] = 0;
	return r;
}

/* At a [route TYPE] header: TYPE must be a message type or "*". */
void
conf_route_open(struct conf_parse *p, const char *type)
{
	if (!type_name_ok(type))
		conf_fail(p, "[route %s]: \"%s\" is not a message type or *",
		    type, type);
	else if (route_get(p, type) == NULL)
		conf_fail(p, "out of memory");
}

int
conf_route_key(struct conf_parse *p, const char *type, const char *name,
    const char *v)
{
	struct conf_route *r;
	const char *why;
	unsigned bit, *seen;
	uint64_t ms;

	if ((r = route_get(p, type)) == NULL)
		return conf_fail(p, "out of memory");
	seen = &p->route_seen[r - p->conf->routes];
	if (strcmp(name, "handler") == 0)
		bit = RK_HANDLER;
	else if (strcmp(name, "command") == 0)
		bit = RK_COMMAND;
	else if (strcmp(name, "timeout") == 0)
		bit = RK_TIMEOUT;
	else if (strcmp(name, "auto_ack") == 0)
		bit = RK_AUTO_ACK;
	else if (strcmp(name, "input") == 0)
		bit = RK_INPUT;
	else
		return conf_fail(p, "unknown key \"%s\" in [route %s]", name,
		    type);
	if (*seen & bit)
		return conf_fail(p, "duplicate key \"%s\" in [route %s]", name,
		    type);
	*seen |= bit;
	switch (bit) {
	case RK_HANDLER:
		if (strcmp(v, "orders") != 0 && strcmp(v, "ledger") != 0 &&
		    strcmp(v, "exec") != 0)
			return conf_fail(p, "handler must be orders, ledger or "
			    "exec, not \"%s\"", v);
		if ((r->handler = strdup(v)) == NULL)
			return conf_fail(p, "out of memory");
		break;
	case RK_COMMAND:
		if ((r->argv = conf_split_words(v, &why)) == NULL)
			return conf_fail(p, "command: %s", why);
		break;
	case RK_TIMEOUT:
		if (conf_parse_duration(v, &ms) == -1)
			return conf_fail(p, "timeout: \"%s\" is not a duration "
			    "(a number with ms, s, m, h or d)", v);
		if (ms < SEC(1) || ms > DAY)
			return conf_fail(p, "timeout must be between 1s and "
			    "1d");
		r->timeout_ms = ms;
		break;
	case RK_INPUT:
		if (strcmp(v, "original") != 0 && strcmp(v, "xml") != 0)
			return conf_fail(p, "input must be original or xml, "
			    "not \"%s\"", v);
		r->input_xml = strcmp(v, "xml") == 0;
		break;
	case RK_AUTO_ACK:
		if (conf_parse_bool(v, &r->auto_ack) == -1)
			return conf_fail(p, "auto_ack must be yes or no, not "
			    "\"%s\"", v);
		break;
	}
	return 1;
}

/* Checks that need the whole section: relations between its keys. */
int
conf_route_check(struct conf_parse *p)
{
	struct conf *c = p->conf;
	size_t i;

	for (i = 0; i < c->nroutes; i++) {
		struct conf_route *r = &c->routes[i];

		p->line = r->line;
		if (r->handler == NULL)
			return conf_fail(p, "[route %s] has no handler",
			    r->type);
		if (strcmp(r->handler, "exec") == 0 && r->argv == NULL)
			return conf_fail(p, "[route %s]: the exec handler "
			    "needs a command", r->type);
		if (strcmp(r->handler, "exec") != 0 &&
		    (p->route_seen[i] & (RK_COMMAND | RK_TIMEOUT | RK_INPUT)))
			return conf_fail(p, "[route %s]: command, timeout and "
			    "input are for the exec handler only", r->type);
		if (strcmp(r->handler, "orders") != 0 &&
		    (p->route_seen[i] & RK_AUTO_ACK))
			return conf_fail(p, "[route %s]: auto_ack is for the "
			    "orders handler only", r->type);

	}
	return 1;
}

const struct conf_route *
conf_route(const struct conf *c, const char *type)
{
	const struct conf_route *star = NULL;
	size_t i;

	for (i = 0; i < c->nroutes; i++) {
		if (strcmp(c->routes[i].type, type) == 0)
			return &c->routes[i];
		if (strcmp(c->routes[i].type, "*") == 0)
			star = &c->routes[i];
	}
	return star;
}
