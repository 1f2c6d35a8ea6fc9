/*
 * edi_tree.c - one EDIFACT or X12 message as an XML tree (DESIGN 15),
 * for the XPath keys, routes and handlers that serve every syntax.
 *
 * The tree (spoold.conf(5), EDI TREE; the names are an interface):
 *
 *   <edifact>|<x12>
 *     <interchange syntax= version= charset= sender-qualifier= sender=
 *                  recipient-qualifier= recipient= date= time= control=
 *                  test= decimal-mark=>
 *       <segment tag="UNB"|"ISA">...</segment>
 *       <group id= control= version=>          (UNG or GS, when present)
 *         <segment tag="UNG"|"GS">...</segment>
 *         <message type= ref= version= pos=>
 *           <segment tag="UNH" pos="1">
 *             <element pos="1" [rep="2"]>
 *               <component pos="1">value</component>
 *
 * Empty elements and components are left out; positions say where each
 * value stood. Values are as sent, release characters removed, turned
 * into UTF-8 from the declared character set (which edi_read() has
 * already checked). The segments are read again from the caller's
 * buffer, with the separators edi_read() found.
 *
 * Two ways to own the nodes, the same tree either way (test_edi.c
 * compares every XPath value and the serialization of both):
 * edi_message_tree() malloc()s each node as libxml2 does, for any
 * caller; edi_message_tree_pooled(), for acceptance (a message of an
 * interchange is laid out, read by its dialect's XPath, then dropped),
 * carves nodes and texts out of 64 KiB blocks hung on doc->_private and
 * takes its names from the caller's dictionary, so a tree costs a few
 * allocations instead of about a thousand; edi_tree_free() frees the
 * document and its blocks at once. Such a tree is read only: a node
 * libxml2 unlinked and freed would be freed into a block.
 * edi_entry_tree_tags() is the pooled tree of an entry with the segments
 * whose tags its dialect's keys do not read left bare (the segment and
 * its attributes, no element: a fifth of the nodes) or left out (when
 * the keys find segments only by their tag), for those keys
 * only (dialect_edi_tags() says when they read the same; test_dialect.c
 * and the dialect fuzz target compare); the values of a bare segment are
 * converted all the same, so that it fails where the whole tree would,
 * unless the segment is plain (edi_lex_plain(): nothing in it to convert
 * or to release), which is then skipped after its tag, not tokenized.
 *
 * Crash safety: nothing to say; pure computation over the caller's
 * bytes.
 */
#include "config.h"

#include <errno.h>
#include <iconv.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parserInternals.h>	/* xmlStringText */
#include <libxml/tree.h>

#include "edi.h"
#include "edi_int.h"

/* The blocks of a pooled tree (edi_message_tree_pooled()). */
struct pool {
	struct pool	*next;
	size_t		 used, cap;
	max_align_t	 data[];
};
#define POOL_BLOCK	(64 * 1024)

struct tree {
	const struct edi_interchange	*ic;
	xmlDocPtr			 doc;
	int				 pooled;	/* 0: malloc'd nodes */
	struct pool			*pool;	/* the newest block first */
	const xmlChar			*n_segment, *n_element, *n_component,
					*n_tag, *n_pos, *n_rep;
	char *const			*tags;	/* NULL: every segment whole */
	int				 omit;	/* the others left out, not
						   bare */
	int				 conv_needed;	/* not UTF-8 */
	iconv_t				 cd;	/* (iconv_t)-1: not open yet */
	char				*conv;
	size_t				 convcap;
	struct spool_error		*err;
};

/*
 * The nodes are made here rather than by xmlNewChild() and xmlNewProp():
 * those allocate each value twice (its text node, then a copy of the
 * string), look every name up in the dictionary again and check each
 * attribute for an ID; that was half the cost of a tree. These nodes are
 * the ones libxml2's parser makes with XML_PARSE_COMPACT: names from the
 * document's dictionary, a text of up to 15 bytes inside its node (in
 * the properties and nsDef fields, where xmlFreeNode() and the
 * serializer expect it), a longer one in a string of its own.
 */
_Static_assert(offsetof(xmlNode, nsDef) == offsetof(xmlNode, properties) +
    sizeof(void *), "libxml2's compact text lives in properties and nsDef");
#define INLINE_MAX	(2 * sizeof(void *) - 1)

static void *
oom(struct tree *t)
{
	spool_seterr(t->err, "out of memory building the EDI tree");
	return NULL;
}

/* n bytes for a node or a string: from the pool, else xmlMalloc(). */
static void *
node_alloc(struct tree *t, size_t n)
{
	struct pool *b = t->pool;
	size_t a = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	void *p;

	if (!t->pooled)
		return xmlMalloc(n);
	if (b == NULL || b->cap - b->used < a) {
		if ((b = malloc(sizeof(*b) + (a > POOL_BLOCK ? a :
		    POOL_BLOCK))) == NULL)
			return NULL;
		b->used = 0;
		b->cap = a > POOL_BLOCK ? a : POOL_BLOCK;
		b->next = t->pool;
		t->pool = b;
	}
	p = (char *)b->data + b->used;
	b->used += a;
	return p;
}

/* Give back what node_alloc() gave, on a failure before it is linked. */
static void
node_unalloc(struct tree *t, void *p)
{
	if (!t->pooled)
		xmlFree(p);
}

/* A text node holding s[0, len), not yet linked. */
static xmlNodePtr
text(struct tree *t, const char *s, size_t len)
{
	xmlNodePtr n;

	if ((n = node_alloc(t, sizeof(*n))) == NULL)
		return oom(t);
	memset(n, 0, sizeof(*n));
	n->type = XML_TEXT_NODE;
	n->name = xmlStringText;
	n->doc = t->doc;
	if (len <= INLINE_MAX)
		n->content = (xmlChar *)n + offsetof(xmlNode, properties);
	else if ((n->content = t->pooled ? node_alloc(t, len + 1) :
	    xmlMallocAtomic(len + 1)) == NULL) {
		node_unalloc(t, n);
		return oom(t);
	}
	memcpy(n->content, s, len);
	n->content[len] = '\0';
	return n;
}

/* A new last child of parent named name (from the document's
 * dictionary; NULL: the lookup ran out of memory). */
static xmlNodePtr
child(xmlNodePtr parent, const xmlChar *name, struct tree *t)
{
	xmlNodePtr n;

	if (name == NULL || (n = node_alloc(t, sizeof(*n))) == NULL)
		return oom(t);
	memset(n, 0, sizeof(*n));
	n->type = XML_ELEMENT_NODE;
	n->name = name;
	n->doc = t->doc;
	n->parent = parent;
	if (parent->last == NULL)
		parent->children = n;
	else {
		parent->last->next = n;
		n->prev = parent->last;
	}
	parent->last = n;
	return n;
}

/* A text child of parent: the value of a component. */
static int
text_child(xmlNodePtr parent, const char *s, size_t len, struct tree *t)
{
	xmlNodePtr n;

	if ((n = text(t, s, len)) == NULL)
		return -1;
	n->parent = parent;
	parent->children = parent->last = n;
	return 0;
}

/* A new last attribute of n; nothing for an empty value. */
static int
prop_len(xmlNodePtr n, const xmlChar *name, const char *val, size_t len,
    struct tree *t)
{
	xmlAttrPtr a, p;
	xmlNodePtr v;

	if (len == 0)
		return 0;
	if ((a = node_alloc(t, sizeof(*a))) == NULL) {
		oom(t);
		return -1;
	}
	memset(a, 0, sizeof(*a));
	a->type = XML_ATTRIBUTE_NODE;
	a->name = name;
	a->doc = t->doc;
	a->parent = n;
	if ((v = text(t, val, len)) == NULL) {
		node_unalloc(t, a);
		return -1;
	}
	v->parent = (xmlNodePtr)a;
	a->children = a->last = v;
	if ((p = n->properties) == NULL)
		n->properties = a;
	else {
		while (p->next != NULL)
			p = p->next;
		p->next = a;
		a->prev = p;
	}
	return 0;
}

static int
prop(xmlNodePtr n, const char *name, const char *val, struct tree *t)
{
	const xmlChar *dn;

	if (val == NULL || val[0] == '\0')
		return 0;
	if ((dn = xmlDictLookup(t->doc->dict, (const xmlChar *)name, -1)) ==
	    NULL) {
		oom(t);
		return -1;
	}
	return prop_len(n, dn, val, strlen(val), t);
}

static int
propnum(xmlNodePtr n, const xmlChar *name, unsigned long v, struct tree *t)
{
	char buf[32], *p = buf + sizeof(buf);

	/* By hand: snprintf() was a tenth of building a tree. */
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	return prop_len(n, name, p, (size_t)(buf + sizeof(buf) - p), t);
}

/* The value s[0, len) in UTF-8: as it is when it is already (a declared
 * UTF-8, or only bytes below 0x80, which are ASCII in every set spoold
 * reads), else through iconv, opened on the first such value. */
static const char *
utf8(struct tree *t, const char *s, size_t *len)
{
	char *ip = (char *)(uintptr_t)s, *op, *p;
	size_t i, left = *len, outleft, need = 4 * *len + 1;

	if (!t->conv_needed)
		return s;
	for (i = 0; i < *len && !((unsigned char)s[i] & 0x80); i++)
		;
	if (i == *len)
		return s;
	if (t->cd == (iconv_t)-1 &&
	    (t->cd = iconv_open("UTF-8", t->ic->charset)) == (iconv_t)-1) {
		spool_seterr(t->err, "character set %s: %s", t->ic->charset,
		    strerror(errno));
		return NULL;
	}
	if (t->convcap < need) {
		if ((p = realloc(t->conv, need)) == NULL) {
			spool_seterr(t->err, "out of memory");
			return NULL;
		}
		t->conv = p;
		t->convcap = need;
	}
	iconv(t->cd, NULL, NULL, NULL, NULL);
	op = t->conv;
	outleft = need - 1;
	if (iconv(t->cd, &ip, &left, &op, &outleft) == (size_t)-1) {
		spool_seterr(t->err, "a value is not %s: %s",
		    t->ic->charset, strerror(errno));
		return NULL;
	}
	*op = '\0';
	*len = (size_t)(op - t->conv);
	return t->conv;
}

static int
tag_in(char *const *tags, const char *tag)
{
	size_t i;

	for (i = 0; tags[i] != NULL; i++)
		if (strcmp(tags[i], tag) == 0)
			return 1;
	return 0;
}

/* A bare segment: the element and its attributes. */
static int
bare(xmlNodePtr parent, const char *tag, unsigned long pos, struct tree *t)
{
	xmlNodePtr sn;

	if ((sn = child(parent, t->n_segment, t)) == NULL ||
	    prop_len(sn, t->n_tag, tag, strlen(tag), t) == -1 ||
	    (pos > 0 && propnum(sn, t->n_pos, pos, t) == -1))
		return -1;
	return 0;
}

static int
segment(xmlNodePtr parent, const struct edi_seg *s, unsigned long pos,
    struct tree *t)
{
	xmlNodePtr sn, en = NULL, cn;
	const struct edi_val *v;
	unsigned elem = 0, rep = 0;
	const char *val;
	size_t i, len;

	if (t->tags != NULL && !tag_in(t->tags, s->tag)) {
		/* Bare, or left out; its values converted all the same, so
		 * that a value the whole tree would refuse is refused here
		 * too. */
		if (!t->omit && bare(parent, s->tag, pos, t) == -1)
			return -1;
		for (i = 0; i < s->nvals; i++) {
			v = &s->vals[i];
			len = v->len;
			if (v->elem != 0 && utf8(t, s->text + v->off,
			    &len) == NULL)
				return -1;
		}
		return 0;
	}
	if ((sn = child(parent, t->n_segment, t)) == NULL ||
	    prop_len(sn, t->n_tag, s->tag, strlen(s->tag), t) == -1 ||
	    (pos > 0 && propnum(sn, t->n_pos, pos, t) == -1))
		return -1;
	for (i = 0; i < s->nvals; i++) {
		v = &s->vals[i];
		if (v->elem == 0)
			continue;
		if (en == NULL || v->elem != elem || v->rep != rep) {
			elem = v->elem;
			rep = v->rep;
			if ((en = child(sn, t->n_element, t)) == NULL ||
			    propnum(en, t->n_pos, elem, t) == -1 ||
			    (rep > 1 && propnum(en, t->n_rep, rep, t) == -1))
				return -1;
		}
		len = v->len;
		if ((val = utf8(t, s->text + v->off, &len)) == NULL)
			return -1;
		len = strnlen(val, len);	/* a released NUL ends it */
		if ((cn = child(en, t->n_component, t)) == NULL ||
		    text_child(cn, val, len, t) == -1 ||
		    propnum(cn, t->n_pos, v->comp, t) == -1)
			return -1;
	}
	return 0;
}

/* The segments of buf[start, end) under parent; pos counts from 1 if
   number, else segments get no pos. */
static int
segments(xmlNodePtr parent, const char *buf, size_t start, size_t end,
    int header, int number, struct tree *t)
{
	const struct edi_interchange *ic = t->ic;
	struct edi_limits lim;
	struct edi_lex lx;
	struct edi_seg s;
	unsigned long pos = 0;
	size_t skip;
	char tag[4];
	int r, rc = -1;

	memset(&lim, 0xff, sizeof(lim));	/* edi_read() bounded it */
	memset(&lx, 0, sizeof(lx));
	memset(&s, 0, sizeof(s));
	lx.buf = buf;
	lx.len = end;
	lx.pos = start;
	lx.line = 1;
	lx.lim = &lim;
	lx.elem = ic->elem;
	lx.seg = ic->seg;
	lx.release = ic->release;
	/* ISA11 and ISA16 are data in ISA; UNB has no repetitions. */
	lx.comp = header && ic->syntax == EDI_X12 ? -1 : ic->comp;
	lx.rep = header ? -1 : ic->rep;
	for (;;) {
		/* A plain segment the keys do not read: its tag is enough
		 * (its values need no conversion to be checked). */
		if (t->tags != NULL && (r = edi_lex_plain(&lx, tag,
		    &skip)) != 2) {
			if (r == 0)
				break;
			if (!tag_in(t->tags, tag)) {
				edi_lex_skip(&lx, skip);
				if (number)
					pos++;
				if (!t->omit && bare(parent, tag, number ? pos :
				    0, t) == -1)
					goto out;
				continue;
			}
		}
		if ((r = edi_lex_next(&lx, &s, t->err)) != 1)
			break;
		if (segment(parent, &s, number ? ++pos : 0, t) == -1)
			goto out;
	}
	if (r == 0)
		rc = 0;
out:
	edi_seg_free(&s);
	return rc;
}

/* The names every segment uses, looked up once per tree. */
static int
names(struct tree *t)
{
	xmlDictPtr d = t->doc->dict;

	return (t->n_segment = xmlDictLookup(d, BAD_CAST "segment", -1)) ==
	    NULL || (t->n_element = xmlDictLookup(d, BAD_CAST "element",
	    -1)) == NULL || (t->n_component = xmlDictLookup(d,
	    BAD_CAST "component", -1)) == NULL || (t->n_tag = xmlDictLookup(d,
	    BAD_CAST "tag", -1)) == NULL || (t->n_pos = xmlDictLookup(d,
	    BAD_CAST "pos", -1)) == NULL || (t->n_rep = xmlDictLookup(d,
	    BAD_CAST "rep", -1)) == NULL ? -1 : 0;
}

static void
pool_free(struct pool *b)
{
	struct pool *next;

	for (; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
}

/* The tree, its nodes malloc'd (pooled 0) or in t's pool (1). */
static xmlDocPtr
tree(const struct edi_interchange *ic, size_t i, size_t pos, const char *buf,
    size_t len, xmlDictPtr dict, int pooled, char *const *tags, int omit,
    struct spool_error *err)
{
	const struct edi_message *m;
	const struct edi_group *g = NULL;
	struct tree t;
	xmlDocPtr doc = NULL;
	xmlNodePtr root, in, gn, mn;
	char dm[2];

	memset(&t, 0, sizeof(t));
	t.ic = ic;
	t.err = err;
	t.cd = (iconv_t)-1;
	if (i >= ic->nmsgs || ic->end > len) {
		spool_seterr(err, "no message %zu in the interchange", i + 1);
		return NULL;
	}
	m = &ic->msgs[i];
	if (m->group >= 0)
		g = &ic->groups[m->group];
	t.conv_needed = strcmp(ic->charset, "UTF-8") != 0 &&
	    strcmp(ic->charset, "ASCII") != 0;
	t.pooled = pooled;
	t.tags = tags;
	t.omit = omit;
	/* Names (segment, element, pos, ...) interned in a dictionary,
	 * the caller's or the document's: a third fewer allocations. */
	if ((doc = xmlNewDoc((const xmlChar *)"1.0")) == NULL ||
	    (doc->dict = dict != NULL && xmlDictReference(dict) == 0 ? dict :
	    xmlDictCreate()) == NULL) {
		spool_seterr(err, "out of memory building the EDI tree");
		goto fail;
	}
	t.doc = doc;
	if (names(&t) == -1) {
		oom(&t);
		goto fail;
	}
	dm[0] = (char)ic->decimal;
	dm[1] = '\0';
	if ((root = child((xmlNodePtr)doc, xmlDictLookup(doc->dict,
	    BAD_CAST (ic->syntax == EDI_X12 ? "x12" : "edifact"), -1),
	    &t)) == NULL ||
	    (in = child(root, xmlDictLookup(doc->dict, BAD_CAST "interchange",
	    -1), &t)) == NULL ||
	    prop(in, "syntax", ic->syntax_id, &t) == -1 ||
	    prop(in, "version", ic->syntax_version, &t) == -1 ||
	    prop(in, "charset", ic->charset, &t) == -1 ||
	    prop(in, "sender-qualifier", ic->sender_qual, &t) == -1 ||
	    prop(in, "sender", ic->sender, &t) == -1 ||
	    prop(in, "recipient-qualifier", ic->recipient_qual, &t) == -1 ||
	    prop(in, "recipient", ic->recipient, &t) == -1 ||
	    prop(in, "date", ic->date, &t) == -1 ||
	    prop(in, "time", ic->time, &t) == -1 ||
	    prop(in, "control", ic->control, &t) == -1 ||
	    prop(in, "test", ic->test ? "1" : "0", &t) == -1 ||
	    prop(in, "decimal-mark", dm, &t) == -1 ||
	    segments(in, buf, ic->hdr_start, ic->hdr_end, 1, 0, &t) == -1)
		goto fail;
	gn = in;
	if (g != NULL && ((gn = child(in, xmlDictLookup(doc->dict,
	    BAD_CAST "group", -1), &t)) == NULL ||
	    prop(gn, "id", g->id, &t) == -1 ||
	    prop(gn, "control", g->control, &t) == -1 ||
	    prop(gn, "version", g->version, &t) == -1 ||
	    segments(gn, buf, g->hdr_start, g->hdr_end, 0, 0, &t) == -1))
		goto fail;
	if ((mn = child(gn, xmlDictLookup(doc->dict, BAD_CAST "message", -1),
	    &t)) == NULL ||
	    prop(mn, "type", m->type, &t) == -1 ||
	    prop(mn, "ref", m->ref, &t) == -1 ||
	    prop(mn, "version", m->version, &t) == -1 ||
	    propnum(mn, t.n_pos, pos, &t) == -1 ||
	    segments(mn, buf, m->start, m->end, 0, 1, &t) == -1)
		goto fail;
	if (t.cd != (iconv_t)-1)
		iconv_close(t.cd);
	free(t.conv);
	if (pooled)
		doc->_private = t.pool;	/* the blocks, for edi_tree_free() */
	return doc;
fail:
	if (t.cd != (iconv_t)-1)
		iconv_close(t.cd);
	free(t.conv);
	if (pooled && doc != NULL)
		doc->children = doc->last = NULL;
	xmlFreeDoc(doc);
	pool_free(t.pool);
	return NULL;
}

xmlDocPtr
edi_message_tree(const struct edi_interchange *ic, size_t i, const char *buf,
    size_t len, struct spool_error *err)
{
	return tree(ic, i, i + 1, buf, len, NULL, 0, NULL, 0, err);
}

xmlDocPtr
edi_message_tree_pooled(const struct edi_interchange *ic, size_t i,
    const char *buf, size_t len, xmlDictPtr dict, struct spool_error *err)
{
	return tree(ic, i, i + 1, buf, len, dict, 1, NULL, 0, err);
}

xmlDocPtr
edi_entry_tree_pooled(const struct edi_interchange *ic, size_t i,
    const char *buf, size_t len, xmlDictPtr dict, struct spool_error *err)
{
	return tree(ic, i, 1, buf, len, dict, 1, NULL, 0, err);
}

xmlDocPtr
edi_entry_tree_tags(const struct edi_interchange *ic, size_t i,
    const char *buf, size_t len, xmlDictPtr dict, char *const *tags,
    int omit, struct spool_error *err)
{
	return tree(ic, i, 1, buf, len, dict, 1, tags, omit, err);
}

void
edi_tree_free(xmlDocPtr doc)
{
	struct pool *b;

	if (doc == NULL)
		return;
	b = doc->_private;
	doc->_private = NULL;
	doc->children = doc->last = NULL;	/* in the blocks */
	xmlFreeDoc(doc);
	pool_free(b);
}
