/*
 * fuzz_edi.h - the body that fuzz_edifact.c and fuzz_x12.c share: a
 * file as the EDIFACT and X12 tokenizer reads it (edi_read), then every
 * message laid out as its XML tree (edi_message_tree).
 *
 * Beyond "no crash, no leak, no undefined behaviour" it checks the
 * tokenizer's promises: a refusal has a reason; an accepted file's
 * interchanges lie in order inside the buffer, each message inside its
 * interchange, with a type, a reference, a valid group and a reason only
 * if rejected alone; and the tree of every message builds, with as many
 * segments as the message was counted to have. edi_split(), which
 * acceptance uses to make each interchange a file of its own, must agree:
 * its parts lie in order, only the last may be broken, each sound part
 * reads alone as one interchange, and a file
 * edi_read() accepts splits into exactly its interchanges, none broken;
 * what edi_split_read() keeps of them (acceptance's bundle reader takes
 * it instead of reading the file again) is what edi_read() gives.
 */
#ifndef FUZZ_EDI_H
#define FUZZ_EDI_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "bundle.h"
#include "edi.h"
#include "error.h"

static size_t
fuzz_edi_segments(xmlNodePtr n)
{
	xmlNodePtr c;
	size_t k = 0;

	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp((const char *)n->name, "message") == 0) {
			for (c = n->children; c != NULL; c = c->next)
				if (c->type == XML_ELEMENT_NODE)
					k++;
			return k;
		}
		if (strcmp((const char *)n->name, "group") == 0)
			return fuzz_edi_segments(n->children);
	}
	abort();	/* no message element */
}

static int
fuzz_edi_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* What edi_split_read() kept is what edi_read() gives, field by field. */
static void
fuzz_edi_same(const struct edi_interchange *a, const struct edi_interchange *b)
{
	const struct edi_message *m, *n;
	const struct edi_group *g, *h;
	size_t i;

	for (; a != NULL && b != NULL; a = a->next, b = b->next) {
		if (a->syntax != b->syntax || a->start != b->start ||
		    a->end != b->end || a->hdr_start != b->hdr_start ||
		    a->hdr_end != b->hdr_end || a->una != b->una ||
		    a->comp != b->comp || a->elem != b->elem ||
		    a->seg != b->seg || a->rep != b->rep ||
		    a->release != b->release || a->decimal != b->decimal ||
		    !fuzz_edi_streq(a->charset, b->charset) ||
		    !fuzz_edi_streq(a->syntax_id, b->syntax_id) ||
		    !fuzz_edi_streq(a->sender, b->sender) ||
		    !fuzz_edi_streq(a->recipient, b->recipient) ||
		    !fuzz_edi_streq(a->control, b->control) ||
		    !fuzz_edi_streq(a->warning, b->warning) ||
		    a->test != b->test || a->ack != b->ack ||
		    a->ngroups != b->ngroups || a->nmsgs != b->nmsgs)
			abort();
		for (i = 0; i < a->ngroups; i++) {
			g = &a->groups[i];
			h = &b->groups[i];
			if (g->hdr_start != h->hdr_start ||
			    g->hdr_end != h->hdr_end ||
			    g->messages != h->messages ||
			    !fuzz_edi_streq(g->control, h->control) ||
			    !fuzz_edi_streq(g->version, h->version))
				abort();
		}
		for (i = 0; i < a->nmsgs; i++) {
			m = &a->msgs[i];
			n = &b->msgs[i];
			if (m->start != n->start || m->end != n->end ||
			    m->line != n->line || m->segments != n->segments ||
			    m->group != n->group ||
			    !fuzz_edi_streq(m->type, n->type) ||
			    !fuzz_edi_streq(m->ref, n->ref) ||
			    !fuzz_edi_streq(m->version, n->version) ||
			    !fuzz_edi_streq(m->reason, n->reason))
				abort();
		}
	}
	if (a != NULL || b != NULL)
		abort();
}

/* The parts edi_split() finds; 1 if one is broken. *kept: the sound
   interchanges it read (edi_split_read()). */
static int
fuzz_edi_split(const char *buf, size_t size, const struct edi_limits *lim,
    struct edi_part **parts, size_t *n, struct edi_interchange **kept)
{
	struct edi_interchange *one, *k;
	struct edi_part *p2;
	struct spool_error err;
	size_t i, n2, prev = 0;
	int broken = 0;

	if (edi_split_read(buf, size, lim, parts, n, kept) == -1)
		abort();
	/* edi_split() finds the same parts. */
	if (edi_split(buf, size, lim, &p2, &n2) == -1 || n2 != *n)
		abort();
	for (i = 0; i < n2; i++)
		if (p2[i].start != (*parts)[i].start ||
		    p2[i].end != (*parts)[i].end ||
		    p2[i].broken != (*parts)[i].broken)
			abort();
	free(p2);
	for (i = 0, k = *kept; k != NULL; k = k->next, i++)
		if (i >= *n || (*parts)[i].broken ||
		    k->start != (*parts)[i].start || k->end != (*parts)[i].end)
			abort();
	if (i + (*n > 0 && (*parts)[*n - 1].broken) != *n)
		abort();
	if ((*n == 0) != (edi_detect(buf, size) == EDI_NONE))
		abort();
	for (i = 0; i < *n; i++) {
		if ((*parts)[i].start < prev || (*parts)[i].end <=
		    (*parts)[i].start || (*parts)[i].end > size ||
		    ((*parts)[i].broken && i + 1 != *n))
			abort();
		prev = (*parts)[i].end;
		if ((*parts)[i].broken) {
			broken = 1;
			continue;
		}
		spool_clearerr(&err);
		if (edi_read(buf + (*parts)[i].start, (*parts)[i].end -
		    (*parts)[i].start, lim, &one, &err) == -1 ||
		    one->next != NULL)
			abort();
		edi_free(one);
	}
	return broken;
}

/* The tree's bytes (NULL when out of memory: a failure here). */
static char *
fuzz_edi_dump(xmlDocPtr doc, int *n)
{
	xmlChar *s = NULL;

	xmlDocDumpMemory(doc, &s, n);
	if (s == NULL)
		abort();
	return (char *)s;
}

/*
 * An entry as the bundle reader hands it out: its bytes read alone give
 * one sound message, and when acceptance takes its tree from the whole
 * file instead (edi_entry_tree_pooled(): a message without a reason in
 * an interchange without a warning), that tree is the one its bytes
 * give, byte for byte.
 */
static int
fuzz_edi_entry(void *arg, const struct bundle_entry *be,
    struct spool_error *err)
{
	const struct edi_limits *lim = arg;
	struct edi_interchange *one = NULL;
	struct spool_error e;
	xmlDocPtr a, b;
	char *sa, *sb;
	int na, nb;

	(void)err;
	spool_clearerr(&e);
	if (be->ic == NULL || edi_read(be->data, be->len, lim, &one, &e) ==
	    -1 || one->next != NULL || one->nmsgs != 1)
		abort();
	if (be->ic->warning == NULL && be->ic->msgs[be->msg].reason == NULL) {
		if (one->warning != NULL || one->msgs[0].reason != NULL)
			abort();
		if ((a = edi_message_tree_pooled(one, 0, be->data, be->len,
		    NULL, &e)) == NULL || (b = edi_entry_tree_pooled(be->ic,
		    be->msg, be->file, be->filelen, NULL, &e)) == NULL)
			abort();
		sa = fuzz_edi_dump(a, &na);
		sb = fuzz_edi_dump(b, &nb);
		if (na != nb || memcmp(sa, sb, (size_t)na) != 0)
			abort();
		xmlFree(sa);
		xmlFree(sb);
		edi_tree_free(a);
		edi_tree_free(b);
	}
	edi_free(one);
	return 0;
}

/* Every entry of a file edi_read() accepts, through bundle_edi.c. */
static void
fuzz_edi_entries(const char *buf, size_t size, const struct edi_limits *lim)
{
	struct bundle_limits bl = { UINT64_MAX / 2, UINT64_MAX / 2,
	    (uint64_t)size + 1 };
	struct edi_interchange *ics;
	struct edi_limits dl;
	struct bundle_edi *bedi;
	struct edi_part *parts;
	struct spool_error err;
	char *copy, why[SPOOL_ERRLEN];
	uint64_t n;
	size_t np;

	/* bundle_edi_adopt() takes what edi_split_read() read with the
	 * default limits. */
	edi_limits_default(&dl);
	if ((copy = malloc(size + 1)) == NULL)
		abort();
	memcpy(copy, buf, size);
	if (edi_split_read(copy, size, &dl, &parts, &np, &ics) == -1)
		abort();
	free(parts);
	if (bundle_edi_adopt(&bl, copy, size, ics, &bedi) != 1) {
		edi_free(ics);
		free(copy);
		return;	/* more messages than the limits take */
	}
	spool_clearerr(&err);
	if (bundle_edi_entries(bedi, &bl, fuzz_edi_entry, (void *)lim, &n,
	    why, sizeof(why), &err) != 0)
		abort();
	bundle_edi_free(bedi);
}

static int
fuzz_edi(const uint8_t *data, size_t size)
{
	struct edi_part *parts;
	size_t nparts, k;
	int broken;
	const char *buf = (const char *)data;
	struct edi_interchange *head, *ic, *kept;
	const struct edi_message *m;
	struct edi_limits lim;
	struct spool_error err;
	size_t i, prev = 0;
	xmlDocPtr doc;
	xmlNodePtr root;

	edi_limits_default(&lim);
	lim.max_interchanges = 20;
	lim.max_messages = 200;
	lim.max_segments = 5000;
	lim.max_value = 512;
	broken = fuzz_edi_split(buf, size, &lim, &parts, &nparts, &kept);
	spool_clearerr(&err);
	if (edi_read(buf, size, &lim, &head, &err) == -1) {
		/* Sound parts, yet refused: only by a bound on the whole
		 * file (messages, segments), which each part keeps alone. */
		if (err.msg[0] == '\0' || head != NULL ||
		    (nparts > 0 && !broken && strstr(err.msg, "more than") ==
		    NULL))
			abort();
		edi_free(kept);
		free(parts);
		return 0;
	}
	fuzz_edi_same(kept, head);
	edi_free(kept);
	if (broken)
		abort();
	for (ic = head, k = 0; ic != NULL; ic = ic->next, k++)
		if (k >= nparts || parts[k].start != ic->start ||
		    parts[k].end != ic->end)
			abort();
	if (k != nparts)
		abort();
	free(parts);
	if (head == NULL || edi_detect(buf, size) == EDI_NONE)
		abort();
	for (ic = head; ic != NULL; ic = ic->next) {
		if (ic->start < prev || ic->end <= ic->start ||
		    ic->end > size || ic->charset == NULL ||
		    ic->syntax != head->syntax)
			abort();
		prev = ic->end;
		for (i = 0; i < ic->nmsgs; i++) {
			m = &ic->msgs[i];
			if (m->start < ic->start || m->end <= m->start ||
			    m->end > ic->end || m->type[0] == '\0' ||
			    m->ref[0] == '\0' || m->group >= (int)ic->ngroups ||
			    (m->reason != NULL && m->reason[0] == '\0'))
				abort();
			spool_clearerr(&err);
			if ((doc = edi_message_tree(ic, i, buf, size,
			    &err)) == NULL)
				abort();
			root = xmlDocGetRootElement(doc);
			if (strcmp((const char *)root->name, ic->syntax ==
			    EDI_X12 ? "x12" : "edifact") != 0 ||
			    fuzz_edi_segments(root->children->children) !=
			    m->segments)
				abort();
			xmlFreeDoc(doc);
		}
	}
	edi_free(head);
	fuzz_edi_entries(buf, size, &lim);
	return 0;
}

#endif
