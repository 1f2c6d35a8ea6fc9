/*
 * xmlquiet.c - libxml2 kept from printing for the length of a call.
 *
 * libxml2 reports most errors through the structured handler of the
 * context in use, but some (the XML parser reading an XSD's include, an
 * XPath expression that does not compile) through this thread's global
 * handlers, whose default prints to stderr. xmlquiet_begin() saves both
 * and installs the caller's structured handler and a generic one that
 * prints nothing; xmlquiet_end() puts the saved ones back, so a program
 * that set its own handlers keeps them.
 */
#include "config.h"

#include <stddef.h>

#include <libxml/xmlerror.h>

#include "xmlquiet.h"

static void
xmlquiet_silent(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

void
xmlquiet_drop(void *ctx, xmlquiet_errptr e)
{
	(void)ctx;
	(void)e;
}

void
xmlquiet_begin(struct xmlquiet *q, xmlStructuredErrorFunc fn, void *ctx)
{
	q->structured = xmlStructuredError;
	q->structuredctx = xmlStructuredErrorContext;
	q->generic = xmlGenericError;
	q->genericctx = xmlGenericErrorContext;
	xmlSetGenericErrorFunc(NULL, xmlquiet_silent);
	xmlSetStructuredErrorFunc(ctx, fn != NULL ? fn : xmlquiet_drop);
}

void
xmlquiet_end(const struct xmlquiet *q)
{
	xmlSetStructuredErrorFunc(q->structuredctx, q->structured);
	xmlSetGenericErrorFunc(q->genericctx, q->generic);
}
