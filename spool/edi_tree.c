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
 */
#include "config.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "edi.h"
#include "edi_int.h"

struct tree {
	const struct edi_interchange	*ic;
	iconv_t				 cd;	/* (iconv_t)-1: UTF-8 as is */
	char				*conv;
	size_t				 convcap;
	struct spool_error		*err;
};

static int
prop(xmlNodePtr n, const char *name, const char *val, struct tree *t)
{
	if (val == NULL || val[0] == '\0')
		return 0;
	if (xmlNewProp(n, (const xmlChar *)name, (const xmlChar *)val) ==
	    NULL) {
		spool_seterr(t->err, "out of memory building the EDI tree");
		return -1;
	}
	return 0;
}

static int
propnum(xmlNodePtr n, const char *name, unsigned long v, struct tree *t)
{
	char buf[32], *p = buf + sizeof(buf) - 1;

	/* By hand: snprintf() was a tenth of building a tree. */
	*p = '\0';
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	return prop(n, name, p, t);
}

static xmlNodePtr
child(xmlNodePtr parent, const char *name, struct tree *t)
{
	xmlNodePtr n;

	if ((n = xmlNewChild(parent, NULL, (const xmlChar *)name, NULL)) ==
	    NULL)
		spool_seterr(t->err, "out of memory building the EDI tree");
	return n;
}

static const char *
utf8(struct tree *t, const char *s, size_t len)
{
	char *ip = (char *)(uintptr_t)s, *op, *p;
	size_t left = len, outleft, need = 4 * len + 1;

	if (t->cd == (iconv_t)-1)
		return s;
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
	return t->conv;
}

static int
segment(xmlNodePtr parent, const struct edi_seg *s, unsigned long pos,
    struct tree *t)
{
	xmlNodePtr sn, en = NULL, cn;
	const struct edi_val *v;
	unsigned elem = 0, rep = 0;
	const char *val;
	size_t i;

	if ((sn = child(parent, "segment", t)) == NULL ||
	    prop(sn, "tag", s->tag, t) == -1 ||
	    (pos > 0 && propnum(sn, "pos", pos, t) == -1))
		return -1;
	for (i = 0; i < s->nvals; i++) {
		v = &s->vals[i];
		if (v->elem == 0)
			continue;
		if (en == NULL || v->elem != elem || v->rep != rep) {
			elem = v->elem;
			rep = v->rep;
			if ((en = child(sn, "element", t)) == NULL ||
			    propnum(en, "pos", elem, t) == -1 ||
			    (rep > 1 && propnum(en, "rep", rep, t) == -1))
				return -1;
		}
		if ((val = utf8(t, s->text + v->off, v->len)) == NULL)
			return -1;
		if ((cn = xmlNewTextChild(en, NULL,
		    (const xmlChar *)"component", (const xmlChar *)val)) ==
		    NULL) {
			spool_seterr(t->err, "out of memory building the "
			    "EDI tree");
			return -1;
		}
		if (propnum(cn, "pos", v->comp, t) == -1)
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
	while ((r = edi_lex_next(&lx, &s, t->err)) == 1)
		if (segment(parent, &s, number ? ++pos : 0, t) == -1)
			goto out;
	if (r == 0)
		rc = 0;
out:
	edi_seg_free(&s);
	return rc;
}

xmlDocPtr
edi_message_tree(const struct edi_interchange *ic, size_t i, const char *buf,
    size_t len, struct spool_error *err)
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
	if (strcmp(ic->charset, "UTF-8") != 0 &&
	    strcmp(ic->charset, "ASCII") != 0 &&
	    (t.cd = iconv_open("UTF-8", ic->charset)) == (iconv_t)-1) {
		spool_seterr(err, "character set %s: %s", ic->charset,
		    strerror(errno));
		return NULL;
	}
	/* Names (segment, element, pos, ...) interned in a dictionary of
	 * the document's: a third fewer allocations per tree. */
	if ((doc = xmlNewDoc((const xmlChar *)"1.0")) == NULL ||
	    (doc->dict = xmlDictCreate()) == NULL ||
	    (root = xmlNewDocNode(doc, NULL, (const xmlChar *)(ic->syntax ==
	    EDI_X12 ? "x12" : "edifact"), NULL)) == NULL) {
		spool_seterr(err, "out of memory building the EDI tree");
		goto fail;
	}
	xmlDocSetRootElement(doc, root);
	dm[0] = (char)ic->decimal;
	dm[1] = '\0';
	if ((in = child(root, "interchange", &t)) == NULL ||
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
	if (g != NULL && ((gn = child(in, "group", &t)) == NULL ||
	    prop(gn, "id", g->id, &t) == -1 ||
	    prop(gn, "control", g->control, &t) == -1 ||
	    prop(gn, "version", g->version, &t) == -1 ||
	    segments(gn, buf, g->hdr_start, g->hdr_end, 0, 0, &t) == -1))
		goto fail;
	if ((mn = child(gn, "message", &t)) == NULL ||
	    prop(mn, "type", m->type, &t) == -1 ||
	    prop(mn, "ref", m->ref, &t) == -1 ||
	    prop(mn, "version", m->version, &t) == -1 ||
	    propnum(mn, "pos", i + 1, &t) == -1 ||
	    segments(mn, buf, m->start, m->end, 0, 1, &t) == -1)
		goto fail;
	if (t.cd != (iconv_t)-1)
		iconv_close(t.cd);
	free(t.conv);
	return doc;
fail:
	if (t.cd != (iconv_t)-1)
		iconv_close(t.cd);
	free(t.conv);
	xmlFreeDoc(doc);
	return NULL;
}
