/*
 * dialect.c - a message's keys read with its dialect (DESIGN 15), at
 * acceptance: which dialect reads a document (recognition by the root
 * element, among the dialects a partner may send), and the evaluation
 * of its keys on the document into a struct msg_header with the
 * qualified type ("ubl.Invoice"), checked values and, under order =
 * sequence, the transaction and its sequence numbers (DESIGN 4, 16).
 * Also the read-only accessors of a loaded dialect.
 *
 * Loading lives beside this file: dialect_file.c reads a file and
 * dialect_section.c what its keys say, dialect_xpath.c compiles its
 * expressions, dialect_set.c holds the set (dialect_int.h).
 * A loaded dialect is only read here; each evaluation makes its own
 * XPath context, so threads share a set, or takes the caller's
 * (struct dialect_xctx, one thread's: the messages of an interchange
 * read in a row keep one context and its object cache instead of
 * making and freeing both per message).
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "dialect.h"
#include "dialect_int.h"
#include "message.h"
#include "message_int.h"
#include "xmlquiet.h"

const char *const dialect_key_names[DK_NKEYS] = {
	[DK_TYPE] = "type",
	[DK_SENDER] = "sender",
	[DK_RECIPIENT] = "recipient",
	[DK_TRANSACTION] = "transaction",
	[DK_SEQUENCE] = "sequence",
	[DK_RECEIVER_SEQUENCE] = "receiver_sequence",
	[DK_MESSAGE_ID] = "message_id",
	[DK_CREATED] = "created",
	[DK_CONTROL] = "control",
};

struct schema_set *
dialect_schemas(const struct dialect *d)
{
	return d->schemas;
}

const char *
dialect_name(const struct dialect *d)
{
	return d->name;
}

enum dialect_syntax
dialect_syntax(const struct dialect *d)
{
	return d->syntax;
}

bool
dialect_is_native(const struct dialect *d)
{
	return d->native;
}

const char *
dialect_order(const struct dialect *d)
{
	return conf_order_name(d->order);
}

enum conf_order
dialect_order_mode(const struct dialect *d)
{
	return d->order;
}

const char *
dialect_after(const struct dialect *d, const char *qtype)
{
	size_t i;

	for (i = 0; i < d->nafter; i++)
		if (strcmp(d->after_types[i], qtype) == 0)
			return d->after_waits[i];
	return NULL;
}

char *const *
dialect_edi_tags(const struct dialect *d, bool *omit)
{
	if (omit != NULL)
		*omit = d->edi_omit;
	return d->edi_tags;
}

bool
dialect_orders(const struct dialect *d)
{
	return d->ordered;
}

static bool
allowed_has(char *const *allowed, const char *name)
{
	size_t i;

	if (allowed == NULL)
		return true;
	for (i = 0; allowed[i] != NULL; i++)
		if (strcmp(allowed[i], name) == 0)
			return true;
	return false;
}

static bool
root_matches(const struct dialect *d, xmlNodePtr root)
{
	const char *ns;
	size_t i;

	ns = root->ns != NULL && root->ns->href != NULL ?
	    (const char *)root->ns->href : NULL;
	for (i = 0; i < d->nroots; i++) {
		const struct droot *r = &d->roots[i];

		if ((r->ns == NULL) != (ns == NULL))
			continue;
		if (r->ns != NULL && strcmp(r->ns, ns) != 0)
			continue;
		if (strcmp(r->local, "*") == 0 ||
		    strcmp(r->local, (const char *)root->name) == 0)
			return true;
	}
	return false;
}

static void
tried_add(char *tried, size_t len, const char *name)
{
	size_t o = strlen(tried);

	if (len == 0)
		return;
	snprintf(tried + o, len - o, "%s%s", o > 0 ? ", " : "", name);
}

const struct dialect *
dialect_recognise(const struct dialect_set *s, char *const *allowed,
    enum dialect_syntax syn, xmlDocPtr doc, char *tried, size_t triedlen)
{
	const struct dialect *native = NULL;
	xmlNodePtr root;
	size_t i;

	if (triedlen > 0)
		tried[0] = '\0';
	root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
	for (i = 0; s != NULL && i < s->n; i++) {
		const struct dialect *d = s->d[i];

		if (d->syntax != syn || !allowed_has(allowed, d->name))
			continue;
		tried_add(tried, triedlen, d->name);
		if (syn != DIALECT_XML)
			return d;
		if (d->native) {
			if (native == NULL)
				native = d;
			continue;
		}
		if (root != NULL && root_matches(d, root))
			return d;
	}
	return native;
}

/* One document's evaluation: the XPath context made only when an
 * expression is libxml2's (dialect_fast.c evaluates the others). */
struct keyev {
	const struct dialect	*d;
	xmlDocPtr		 doc;
	xmlNodePtr		 root;
	struct dialect_xctx	*xc;
	xmlXPathContextPtr	 ctx;
	struct xmlquiet		 qt;
	struct dialect_fbuf	*out, *scr;
};

static xmlXPathContextPtr	xctx_get(const struct dialect *, xmlDocPtr,
				    struct dialect_xctx *);

/* e's string value on the document, xmlFree()d by *fr when not NULL;
 * NULL: the expression failed, err set (or out of memory). */
static const char *
eval_expr(struct keyev *ev, const struct dexpr *e, enum dialect_key k,
    xmlChar **fr, struct spool_error *err)
{
	xmlXPathObjectPtr obj;
	int r;

	*fr = NULL;
	if (e->fast != NULL && (r = dialect_fast_eval(e->fast, ev->doc,
	    ev->root, ev->out, ev->scr)) != 0) {
		if (r == 1)
			return ev->out->p;
		spool_seterr(err, "out of memory reading %s",
		    dialect_key_names[k]);
		return NULL;
	}
	if (ev->ctx == NULL) {
		if ((ev->ctx = xctx_get(ev->d, ev->doc, ev->xc)) == NULL) {
			spool_seterr(err, "out of memory making an XPath "
			    "context");
			return NULL;
		}
		xmlquiet_begin(&ev->qt, NULL, NULL);
	}
	ev->ctx->node = ev->root;
	obj = xmlXPathCompiledEval(e->comp, ev->ctx);
	if (obj == NULL) {
		spool_seterr(err, "dialect %s: the expression for %s "
		    "(%s:%d) failed on this document", ev->d->name,
		    dialect_key_names[k], ev->d->path, e->line);
		return NULL;
	}
	*fr = xmlXPathCastToString(obj);
	xmlXPathFreeObject(obj);
	if (*fr == NULL)
		spool_seterr(err, "out of memory reading %s",
		    dialect_key_names[k]);
	return (const char *)*fr;
}

/* Evaluate the first alternative of key k that yields a non-empty value;
 * *out NULL when none does. */
static int
eval_key(struct keyev *ev, const struct dkeys *ks, const struct dkeys *base,
    enum dialect_key k, char **out, struct spool_error *err)
{
	const struct dkeys *use = ks != NULL && ks->nalt[k] > 0 ? ks : base;
	const char *v, *b, *e;
	xmlChar *fr;
	char *s;
	size_t a;

	*out = NULL;
	for (a = 0; use != NULL && a < use->nalt[k]; a++) {
		if ((v = eval_expr(ev, &use->alt[k][a], k, &fr, err)) == NULL)
			return -1;
		/* Trim XML white space; a leading ':' (no qualifier) goes;
		 * a trailing ':' (a qualifier and no value) is empty. */
		for (b = v; msg_is_space(*b); b++)
			;
		for (e = b + strlen(b); e > b && msg_is_space(e[-1]); e--)
			;
		if (*b == ':' && b < e) {
			for (b++; b < e && msg_is_space(*b); b++)
				;
		}
		if (b == e || e[-1] == ':') {
			xmlFree(fr);
			continue;
		}
		s = strndup(b, (size_t)(e - b));
		xmlFree(fr);
		if (s == NULL) {
			spool_seterr(err, "out of memory reading %s",
			    dialect_key_names[k]);
			return -1;
		}
		*out = s;
		return 0;
	}
	return 0;
}

/* Printable (no control character), at most max bytes. */
static int
check_value(const struct dialect *d, enum dialect_key k, const char *v,
    size_t max, struct spool_error *err)
{
	const unsigned char *p;
	char q[MSG_QBUF];

	for (p = (const unsigned char *)v; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f) {
			spool_seterr(err, "%s %s \"%s\" contains a control "
			    "character", d->name, dialect_key_names[k],
			    msg_quote(q, v));
			return -1;
		}
	if (strlen(v) > max) {
		spool_seterr(err, "%s %s \"%s\" is longer than %zu characters",
		    d->name, dialect_key_names[k], msg_quote(q, v), max);
		return -1;
	}
	return 0;
}

static int
parse_num(const struct dialect *d, enum dialect_key k, const char *v,
    int64_t min, int64_t *out, struct spool_error *err)
{
	const char *p = v;
	char q[MSG_QBUF];
	int64_t n = 0;

	if (*p == '+')
		p++;
	if (*p == '\0')
		goto bad;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || n > (INT64_MAX - (*p - '0')) / 10)
			goto bad;
		n = n * 10 + (*p - '0');
	}
	if (n < min)
		goto bad;
	*out = n;
	return 0;
bad:
	spool_seterr(err, "%s %s \"%s\" is not a number from %lld to "
	    "2^63-1", d->name, dialect_key_names[k], msg_quote(q, v),
	    (long long)min);
	return -1;
}

static bool
type_ok(const char *t)
{
	size_t i;

	for (i = 0; t[i] != '\0'; i++)
		if (!((t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' &&
		    t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') ||
		    t[i] == '_' || t[i] == '-' || t[i] == '.'))
			return false;
	return i > 0;
}

int
dialect_extract(const struct dialect *d, xmlDocPtr doc, struct msg_header *h,
    char **business_tx, struct spool_error *err)
{
	return dialect_extract_order(d, d->order, doc, h, business_tx, err);
}

struct dialect_xctx {
	const struct dialect	*d;	/* whose namespaces ctx knows */
	xmlXPathContextPtr	 ctx;
	struct dialect_fbuf	 out, scr;	/* dialect_fast.c's */
};

struct dialect_xctx *
dialect_xctx_new(void)
{
	return calloc(1, sizeof(struct dialect_xctx));
}

void
dialect_xctx_free(struct dialect_xctx *xc)
{
	if (xc == NULL)
		return;
	xmlXPathFreeContext(xc->ctx);
	dialect_fbuf_free(&xc->out);
	dialect_fbuf_free(&xc->scr);
	free(xc);
}

/* A context for d on doc: xc's, made anew when it was another
 * dialect's, or (xc NULL) one of its own for the caller to free. */
static xmlXPathContextPtr
xctx_get(const struct dialect *d, xmlDocPtr doc, struct dialect_xctx *xc)
{
	if (xc == NULL)
		return dialect_xpath_context(d, doc);
	if (xc->ctx == NULL || xc->d != d) {
		xmlXPathFreeContext(xc->ctx);
		xc->d = NULL;
		if ((xc->ctx = dialect_xpath_context(d, doc)) == NULL)
			return NULL;
		/* Kept: its objects are worth caching from one document to
		 * the next (a cache made and freed per document is not). */
		(void)xmlXPathContextSetCache(xc->ctx, 1, -1, 0);
		xc->d = d;
	}
	xc->ctx->doc = doc;
	return xc->ctx;
}

int
dialect_extract_order(const struct dialect *d, enum conf_order order,
    xmlDocPtr doc, struct msg_header *h, char **business_tx,
    struct spool_error *err)
{
	return dialect_extract_xctx(d, order, doc, h, business_tx, NULL, err);
}

int
dialect_extract_xctx(const struct dialect *d, enum conf_order order,
    xmlDocPtr doc, struct msg_header *h, char **business_tx,
    struct dialect_xctx *xc, struct spool_error *err)
{
	struct spool_error cerr;
	struct dialect_fbuf out = { NULL, 0, 0 }, scr = { NULL, 0, 0 };
	const struct dkeys *ks = NULL;
	struct keyev ev;
	xmlNodePtr root;
	char *v[DK_NKEYS], q[MSG_QBUF], *t;
	size_t i, tl;
	int k, ret = -1;

	memset(h, 0, sizeof(*h));
	memset(v, 0, sizeof(v));
	if (business_tx != NULL)
		*business_tx = NULL;
	if ((root = xmlDocGetRootElement(doc)) == NULL) {
		spool_seterr(err, "the document has no root element");
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.d = d;
	ev.doc = doc;
	ev.root = root;
	ev.xc = xc;
	ev.out = xc != NULL ? &xc->out : &out;
	ev.scr = xc != NULL ? &xc->scr : &scr;
	if (eval_key(&ev, NULL, &d->keys[0], DK_TYPE, &v[DK_TYPE], err) == -1)
		goto out;
	if (v[DK_TYPE] == NULL) {
		spool_seterr(err, "dialect %s finds no message type in this "
		    "document", d->name);
		goto out;
	}
	if (!type_ok(v[DK_TYPE]) || strlen(v[DK_TYPE]) > 64) {
		spool_seterr(err, "dialect %s: message type \"%s\" is not "
		    "1..64 of A-Z a-z 0-9 . _ -", d->name,
		    msg_quote(q, v[DK_TYPE]));
		goto out;
	}
	for (i = 1; i < d->nkeys; i++)
		if (strcmp(d->keys[i].type, v[DK_TYPE]) == 0)
			ks = &d->keys[i];
	for (k = DK_SENDER; k < DK_NKEYS; k++) {
		if (eval_key(&ev, ks, &d->keys[0], (enum dialect_key)k, &v[k],
		    err) == -1)
			goto out;
		if (v[k] != NULL && check_value(d, (enum dialect_key)k, v[k],
		    k == DK_CREATED ? MSG_CREATED_MAX : MSG_ID_MAX, err) == -1)
			goto out;
	}
	if (v[DK_SENDER] == NULL) {
		spool_seterr(err, "dialect %s finds no sender in this %s",
		    d->name, v[DK_TYPE]);
		goto out;
	}
	/* Interchange: its control number, when it is one (DESIGN 16). */
	if (v[DK_CONTROL] != NULL && parse_num(d, DK_CONTROL, v[DK_CONTROL],
	    0, &h->control, &cerr) == 0)
		h->has_control = true;
	/* Ordered: transaction and sequence as DESIGN 4 wants them. */
	if (order == CONF_ORDER_SEQUENCE && v[DK_TRANSACTION] != NULL) {
		if (v[DK_SEQUENCE] == NULL) {
			spool_seterr(err, "%s: a transaction without a "
			    "sequence number", d->name);
			goto out;
		}
		if (parse_num(d, DK_SEQUENCE, v[DK_SEQUENCE], 1,
		    &h->sender_seq, err) == -1)
			goto out;
		if (v[DK_RECEIVER_SEQUENCE] != NULL && parse_num(d,
		    DK_RECEIVER_SEQUENCE, v[DK_RECEIVER_SEQUENCE], 0,
		    &h->receiver_seq, err) == -1)
			goto out;
		h->transaction_id = v[DK_TRANSACTION];
		v[DK_TRANSACTION] = NULL;
	} else if (business_tx != NULL) {
		*business_tx = v[DK_TRANSACTION];
		v[DK_TRANSACTION] = NULL;
	}
	/* The qualified type. */
	tl = strlen(d->name) + 1 + strlen(v[DK_TYPE]) + 1;
	if ((t = malloc(tl)) == NULL) {
		spool_seterr(err, "out of memory");
		goto out;
	}
	snprintf(t, tl, "%s.%s", d->name, v[DK_TYPE]);
	h->type = t;
	h->sender = v[DK_SENDER];
	v[DK_SENDER] = NULL;
	h->recipient = v[DK_RECIPIENT];
	v[DK_RECIPIENT] = NULL;
	h->message_id = v[DK_MESSAGE_ID];
	v[DK_MESSAGE_ID] = NULL;
	h->created = v[DK_CREATED];
	v[DK_CREATED] = NULL;
	ret = 0;
out:
	for (k = 0; k < DK_NKEYS; k++)
		free(v[k]);
	if (ret == -1) {
		free(h->type);
		free(h->sender);
		free(h->recipient);
		free(h->message_id);
		free(h->created);
		free(h->transaction_id);
		memset(h, 0, sizeof(*h));
	}
	if (ev.ctx != NULL) {
		xmlquiet_end(&ev.qt);
		if (xc == NULL)
			xmlXPathFreeContext(ev.ctx);
		else {
			ev.ctx->doc = NULL;	/* the caller frees it */
			ev.ctx->node = NULL;
		}
	}
	dialect_fbuf_free(&out);
	dialect_fbuf_free(&scr);
	return ret;
}
