/*
 * xmlbody.c - small, strict readers of a message's Body for handlers.
 *
 * The message was schema-validated at acceptance when its type has a
 * schema; these readers check again what they rely on (presence, length,
 * integer syntax and range), so a handler is safe for types without one.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmlbody.h"

static bool
is_named(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE &&
	    strcmp((const char *)n->name, name) == 0;
}

xmlNodePtr
xb_body(xmlDocPtr doc)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);

	return root != NULL ? xb_child(root, "Body") : NULL;
}

/* The first element named name from n on, or NULL. */
static xmlNodePtr
first_named(xmlNodePtr n, const char *name)
{
	for (; n != NULL; n = n->next)
		if (is_named(n, name))
			return n;
	return NULL;
}

xmlNodePtr
xb_child(xmlNodePtr parent, const char *name)
{
	return first_named(parent->children, name);
}

xmlNodePtr
xb_next(xmlNodePtr after, const char *name)
{
	return first_named(after->next, name);
}

int
xb_text(xmlNodePtr parent, const char *name, char *buf, size_t len,
    char *reason, size_t reasonlen)
{
	xmlNodePtr n = xb_child(parent, name), c;
	const char *s, *e;
	size_t l;
	xmlChar *t;

	buf[0] = '\0';
	if (n == NULL)
		return 0;
	for (c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE) {
			snprintf(reason, reasonlen, "%s holds elements, not "
			    "text (line %ld)", name, xmlGetLineNo(n));
			return -1;
		}
	if ((t = xmlNodeGetContent(n)) == NULL) {
		snprintf(reason, reasonlen, "out of memory");
		return -1;
	}
	s = (const char *)t;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		e--;
	l = (size_t)(e - s);
	if (l >= len) {
		snprintf(reason, reasonlen, "%s is longer than %zu characters "
		    "(line %ld)", name, len - 1, xmlGetLineNo(n));
		xmlFree(t);
		return -1;
	}
	memcpy(buf, s, l);
	buf[l] = '\0';
	xmlFree(t);
	return 1;
}

int
xb_need_text(xmlNodePtr parent, const char *name, char *buf, size_t len,
    char *reason, size_t rlen)
{
	int rc = xb_text(parent, name, buf, len, reason, rlen);

	if (rc == 0)
		snprintf(reason, rlen, "%s is missing", name);
	else if (rc == 1 && buf[0] == '\0')
		snprintf(reason, rlen, "%s is empty", name);
	return rc == 1 && buf[0] != '\0' ? 0 : -1;
}

int
xb_int64(xmlNodePtr parent, const char *name, int64_t *out, char *reason,
    size_t reasonlen)
{
	char buf[32], *end;
	const char *p;
	long long v;
	int rc;

	rc = xb_text(parent, name, buf, sizeof(buf), reason, reasonlen);
	if (rc != 1)
		return rc;
	p = buf;
	if (*p == '+' || *p == '-')
		p++;
	if (*p < '0' || *p > '9') {
		snprintf(reason, reasonlen, "%s \"%s\" is not an integer", name,
		    buf);
		return -1;
	}
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (*end != '\0' || errno == ERANGE) {
		snprintf(reason, reasonlen, "%s \"%s\" is not an integer in "
		    "range", name, buf);
		return -1;
	}
	*out = (int64_t)v;
	return 1;
}
