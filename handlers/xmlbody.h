/*
 * xmlbody.h - read a message's Body with libxml2, for handlers.
 */
#ifndef HANDLERS_XMLBODY_H
#define HANDLERS_XMLBODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

/* The Body element of a message, or NULL. */
xmlNodePtr	xb_body(xmlDocPtr);
/* The first element child of parent named name, or after `after'. */
xmlNodePtr	xb_child(xmlNodePtr parent, const char *name);
xmlNodePtr	xb_next(xmlNodePtr after, const char *name);
/*
 * The trimmed text of child `name' of parent into buf. 1: found, 0:
 * absent, -1: too long or holds elements (reason says which).
 */
int		xb_text(xmlNodePtr parent, const char *name, char *buf,
		    size_t len, char *reason, size_t reasonlen);
/* A required, non-empty text child: 0, or -1 with reason ("X is
 * missing", "X is empty", or xb_text()'s). */
int		xb_need_text(xmlNodePtr parent, const char *name, char *buf,
		    size_t len, char *reason, size_t reasonlen);
/* An integer child (decimal, optional sign): 1 found, 0 absent, -1 bad. */
int		xb_int64(xmlNodePtr parent, const char *name, int64_t *out,
		    char *reason, size_t reasonlen);
/*
 * The same on an element already found (name is for the reasons):
 * xb_node_text() sets *s, *slen to the trimmed text, not NUL-terminated,
 * in the document (valid while it is) or, when the element's text is
 * in pieces, copied into buf; 1, or -1 as xb_text() (too long when
 * *slen would be len or more). xb_node_int64(): 1, or -1 as xb_int64().
 */
int		xb_node_text(xmlNodePtr n, const char *name, char *buf,
		    size_t len, const char **s, size_t *slen, char *reason,
		    size_t reasonlen);
int		xb_node_int64(xmlNodePtr n, const char *name, int64_t *out,
		    char *reason, size_t reasonlen);

#endif
