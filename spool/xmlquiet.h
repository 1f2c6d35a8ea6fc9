/*
 * xmlquiet.h - keep libxml2 from printing while a call parses, compiles
 * or validates: this thread's structured and generic error handlers are
 * replaced from xmlquiet_begin() to xmlquiet_end() and then restored.
 * The saved handlers live in the caller's struct xmlquiet.
 */
#ifndef SPOOL_XMLQUIET_H
#define SPOOL_XMLQUIET_H

#include <libxml/xmlerror.h>
#include <libxml/xmlversion.h>

/* libxml2 2.12 made the error argument of structured handlers const. */
#if LIBXML_VERSION >= 21200
typedef const xmlError *xmlquiet_errptr;
#else
typedef xmlErrorPtr xmlquiet_errptr;
#endif

struct xmlquiet {
	xmlStructuredErrorFunc	 structured;
	void			*structuredctx;
	xmlGenericErrorFunc	 generic;
	void			*genericctx;
};

/* Errors go to fn(ctx) (fn NULL: xmlquiet_drop), printing nowhere. */
void	xmlquiet_begin(struct xmlquiet *, xmlStructuredErrorFunc fn,
	    void *ctx);
void	xmlquiet_end(const struct xmlquiet *);

/* A structured error handler that drops the error. */
void	xmlquiet_drop(void *ctx, xmlquiet_errptr);

#endif
