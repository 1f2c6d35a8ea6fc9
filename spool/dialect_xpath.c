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
#include <stdio.h>
#include <string.h>

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
	/* The walk, when the expression is of its shapes; out of memory
	 * here only costs the speed. */
	e->fast = dialect_fast_compile(p->d, e->src);
	return 0;
}

/* An EDI dialect's segments whose values its keys read (dialect_fast.c),
 * when every expression is the walk's: d->edi_tags, else NULL (out of
 * memory too: only the speed is lost). */
static void
edi_tags(struct dialect *d)
{
	size_t i, k, a, j;
	int r = 1;

	if (d->syntax == DIALECT_XML ||
	    (d->edi_tags = calloc(1, sizeof(char *))) == NULL)
		return;
	d->edi_omit = true;
	for (i = 0; i < d->nkeys && r == 1; i++)
		for (k = 0; k < DK_NKEYS && r == 1; k++)
			for (a = 0; a < d->keys[i].nalt[k] && r == 1; a++)
				r = d->keys[i].alt[k][a].fast == NULL ? 0 :
				    dialect_fast_tags(d->keys[i].alt[k][a].fast,
				    &d->edi_tags, &d->nedi_tags, &d->edi_omit);
	if (r != 1) {
		for (j = 0; j < d->nedi_tags; j++)
			free(d->edi_tags[j]);
		free(d->edi_tags);
		d->edi_tags = NULL;
		d->nedi_tags = 0;
		d->edi_omit = false;
	}
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
	edi_tags(d);

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

/* One expression both ways: 0 the same, -1 and why not. */
static int
selfcheck_one(const struct dexpr *e, xmlXPathContextPtr ctx, xmlDocPtr doc,
    xmlNodePtr root, struct dialect_fbuf *out, struct dialect_fbuf *scr,
    size_t *n, char *why, size_t whylen)
{
	xmlXPathObjectPtr obj;
	xmlChar *v;
	int r, ret;

	if ((r = dialect_fast_eval(e->fast, doc, root, out, scr)) == -1) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (r == 0)
		return 0;	/* libxml2's to read anyway */
	ctx->node = root;
	if ((obj = xmlXPathCompiledEval(e->comp, ctx)) == NULL) {
		snprintf(why, whylen, "%.200s: libxml2 fails, the walk gives "
		    "\"%.200s\"", e->src, out->p);
		return -1;
	}
	v = xmlXPathCastToString(obj);
	xmlXPathFreeObject(obj);
	if (v == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	ret = strcmp((const char *)v, out->p) == 0 ? 0 : -1;
	if (ret == -1)
		snprintf(why, whylen, "%.200s: libxml2 gives \"%.200s\", the "
		    "walk \"%.200s\"", e->src, (const char *)v, out->p);
	xmlFree(v);
	(*n)++;
	return ret;
}

int
dialect_fast_selfcheck(const struct dialect *d, xmlDocPtr doc, size_t *nfast,
    char *why, size_t whylen)
{
	struct dialect_fbuf out = { NULL, 0, 0 }, scr = { NULL, 0, 0 };
	xmlXPathContextPtr ctx;
	xmlNodePtr root;
	struct xmlquiet q;
	size_t i, k, a, n = 0;
	int ret = 0;

	if (nfast != NULL)
		*nfast = 0;
	if ((root = xmlDocGetRootElement(doc)) == NULL)
		return 0;
	if ((ctx = dialect_xpath_context(d, doc)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	xmlquiet_begin(&q, NULL, NULL);
	for (i = 0; i < d->nkeys && ret == 0; i++)
		for (k = 0; k < DK_NKEYS && ret == 0; k++)
			for (a = 0; a < d->keys[i].nalt[k] && ret == 0; a++)
				if (d->keys[i].alt[k][a].fast != NULL)
					ret = selfcheck_one(
					    &d->keys[i].alt[k][a], ctx, doc,
					    root, &out, &scr, &n, why, whylen);
	xmlquiet_end(&q);
	xmlXPathFreeContext(ctx);
	dialect_fbuf_free(&out);
	dialect_fbuf_free(&scr);
	if (nfast != NULL)
		*nfast = n;
	return ret;
}
