/*
 * xmlbody.c - small, strict readers of a message's Body for handlers.
 *
 * The message was schema-validated at acceptance when its type has a
 * schema; these readers check again what they rely on (presence, length,
 * integer syntax and range), so a handler is safe for types without one.
 * They read a value where the parser left it (one text node) instead of
 * copying it out with xmlNodeGetContent(): a handler's per-line reads
 * run on the store thread, for every line of every message.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
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

/*
 * The trimmed text of element n (named name, for reasons): in place when
 * n holds one text or CDATA node or nothing, which is how the parser
 * leaves a value; else (comments, entity references between pieces)
 * xmlNodeGetContent()'s concatenation, copied into buf.
 */
int
xb_node_text(xmlNodePtr n, const char *name, char *buf, size_t len,
    const char **sp, size_t *lp, char *reason, size_t reasonlen)
{
	xmlNodePtr c = n->children;
	const char *s, *e;
	xmlChar *t = NULL;
	size_t l;

	if (c == NULL)
		s = "";
	else if (c->next == NULL && (c->type == XML_TEXT_NODE ||
	    c->type == XML_CDATA_SECTION_NODE))
		s = c->content != NULL ? (const char *)c->content : "";
	else {
		for (; c != NULL; c = c->next)
			if (c->type == XML_ELEMENT_NODE) {
				snprintf(reason, reasonlen, "%s holds "
				    "elements, not text (line %ld)", name,
				    xmlGetLineNo(n));
				return -1;
			}
		if ((t = xmlNodeGetContent(n)) == NULL) {
			snprintf(reason, reasonlen, "out of memory");
			return -1;
		}
		s = (const char *)t;
	}
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
	if (t != NULL) {
		memcpy(buf, s, l);
		buf[l] = '\0';
		s = buf;
		xmlFree(t);
	}
	*sp = s;
	*lp = l;
	return 1;
}

int
xb_text(xmlNodePtr parent, const char *name, char *buf, size_t len,
    char *reason, size_t reasonlen)
{
	xmlNodePtr n = xb_child(parent, name);
	const char *s;
	size_t l;

	buf[0] = '\0';
	if (n == NULL)
		return 0;
	if (xb_node_text(n, name, buf, len, &s, &l, reason, reasonlen) == -1)
		return -1;
	if (s != buf)
		memcpy(buf, s, l);
	buf[l] = '\0';
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

/*
 * A decimal integer with an optional sign, all of s[0..l): as strtoll()
 * on the trimmed text, which the readers took before: 0, or -1 when no
 * digit follows the sign, -2 when something else follows the digits or
 * the value is out of range.
 */
static int
parse_int64(const char *s, size_t l, int64_t *out)
{
	uint64_t v = 0, lim = INT64_MAX;
	size_t i = 0;
	bool neg = false;
	unsigned d;

	if (l > 0 && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		i++;
	}
	if (i == l || s[i] < '0' || s[i] > '9')
		return -1;
	if (neg)
		lim++;
	for (; i < l; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -2;
		d = (unsigned)(s[i] - '0');
		if (v > (lim - d) / 10)
			return -2;
		v = v * 10 + d;
	}
	if (neg)
		*out = v == lim ? INT64_MIN : -(int64_t)v;
	else
		*out = (int64_t)v;
	return 0;
}

int
xb_node_int64(xmlNodePtr n, const char *name, int64_t *out, char *reason,
    size_t reasonlen)
{
	char buf[32];
	const char *s;
	size_t l;
	int rc;

	if (xb_node_text(n, name, buf, sizeof(buf), &s, &l, reason,
	    reasonlen) == -1)
		return -1;
	if ((rc = parse_int64(s, l, out)) == 0)
		return 1;
	if (rc == -1)
		snprintf(reason, reasonlen, "%s \"%.*s\" is not an integer",
		    name, (int)l, s);
	else
		snprintf(reason, reasonlen, "%s \"%.*s\" is not an integer "
		    "in range", name, (int)l, s);
	return -1;
}

int
xb_int64(xmlNodePtr parent, const char *name, int64_t *out, char *reason,
    size_t reasonlen)
{
	xmlNodePtr n = xb_child(parent, name);

	return n != NULL ? xb_node_int64(n, name, out, reason, reasonlen) : 0;
}
