/*
 * dialect_xpath.c - XPath for dialects: the context an expression runs
 * in (the dialect's namespaces, no error printing) and the compile of
 * every expression of a dialect file at load.
 *
 * Each expression is compiled once and tried once on an empty document
 * with the dialect's namespaces, so that a syntax error, an unknown
 * function or an undeclared prefix is reported at start-up (and by
 * spoold --check-config) with its file:line, never on a partner's
 * message. libxml2's own error printing is switched off by a structured
 * handler on each XPath context, and, for the errors libxml2 prints
 * through the per-thread handlers instead, by xmlquiet_begin() until
 * xmlquiet_end(). Each evaluation makes its own context, so a compiled
 * dialect is shared by threads.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "dialect.h"
#include "dialect_int.h"
#include "xmlquiet.h"

xmlXPathContextPtr
dialect_xpath_context(const struct dialect *d, xmlDocPtr doc)
{
	xmlXPathContextPtr ctx;
	size_t i;

	if ((ctx = xmlXPathNewContext(doc)) == NULL)
		return NULL;
	ctx->error = xmlquiet_drop;
	ctx->userData = NULL;
	for (i = 0; i < d->nns; i++)
		if (xmlXPathRegisterNs(ctx, BAD_CAST d->ns_prefix[i],
		    BAD_CAST d->ns_uri[i]) != 0) {
			xmlXPathFreeContext(ctx);
			return NULL;
		}
	return ctx;
}

/* Compile e, an expression of key k, and try it on root: 0 or -1. */
static int
compile_one(struct dparse *p, xmlXPathContextPtr ctx, xmlNodePtr root,
    size_t k, struct dexpr *e)
{
	xmlXPathObjectPtr obj;

	p->line = e->line;
	if ((e->comp = xmlXPathCtxtCompile(ctx, BAD_CAST e->src)) == NULL)
		return dialect_fail(p, "%s: not a valid XPath 1.0 expression: "
		    "%.200s", dialect_key_names[k], e->src);
	ctx->node = root;
	if ((obj = xmlXPathCompiledEval(e->comp, ctx)) == NULL)
		return dialect_fail(p, "%s: the expression fails (an "
		    "undeclared namespace prefix or an unknown function?): "
		    "%.200s", dialect_key_names[k], e->src);
	xmlXPathFreeObject(obj);
	return 0;
}

/* Compile every expression and try each once on an empty document. */
int
dialect_xpath_compile(struct dparse *p)
{
	struct dialect *d = p->d;
	xmlXPathContextPtr ctx = NULL;
	xmlDocPtr doc;
	xmlNodePtr root;
	struct xmlquiet q;
	bool quieted = false;
	size_t i, k, a;
	int ret = -1;

	if ((doc = xmlNewDoc(BAD_CAST "1.0")) == NULL ||
	    (root = xmlNewNode(NULL, BAD_CAST "x")) == NULL)
		goto oom;
	xmlDocSetRootElement(doc, root);
	if ((ctx = dialect_xpath_context(d, doc)) == NULL)
		goto oom;
	xmlquiet_begin(&q, NULL, NULL);
	quieted = true;
	for (i = 0; i < d->nkeys; i++)
		for (k = 0; k < DK_NKEYS; k++)
			for (a = 0; a < d->keys[i].nalt[k]; a++)
				if (compile_one(p, ctx, root, k,
				    &d->keys[i].alt[k][a]) == -1)
					goto out;
	ret = 0;

	goto out;
oom:
	dialect_fail(p, "out of memory");
out:
	if (quieted)
		xmlquiet_end(&q);
	if (ctx != NULL)
		xmlXPathFreeContext(ctx);
	if (doc != NULL)
		xmlFreeDoc(doc);
	return ret;
}
