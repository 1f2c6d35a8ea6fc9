/*
 * ack_read.c - reading the acknowledgments partners send us: CONTRL
 * (UCI, UCF, UCM), 997 and 999 (AK1, AK2, AK5/IK5, AK9) and TA1.
 *
 * The file is first read by edi_read() like any partner file, so its
 * envelope is sound before a segment of it is looked at here; the
 * segments of one message are then read again with the tokenizer's own
 * lexer (edi_int.h), over the message's byte range and with the
 * interchange's separators. Everything here is partner input: a value
 * is copied, never trusted to be short or present, and an
 * acknowledgment that lacks what it must have (UCI, AK1, AK9, a TA1's
 * control number) is refused with the reason. Codes are kept as their
 * first three bytes.
 *
 * Nothing here touches a file or the store: no crash-safety concern.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ack_read.h"
#include "edi_int.h"

void
ack_report_free(struct ack_report *r)
{
	struct ack_report *next;
	size_t i;

	for (; r != NULL; r = next) {
		next = r->next;
		for (i = 0; i < r->nmsgs; i++) {
			free(r->msgs[i].ref);
			free(r->msgs[i].type);
			free(r->msgs[i].group);
		}
		free(r->msgs);
		free(r->sender_qual);
		free(r->sender);
		free(r->recipient_qual);
		free(r->recipient);
		free(r->ack_control);
		free(r->ack_ref);
		free(r->control);
		free(r->group);
		free(r->group_id);
		free(r);
	}
}

static int
dup(char **dst, const char *v, struct spool_error *err)
{
	free(*dst);
	if ((*dst = strdup(v)) == NULL) {
		spool_seterr(err, "out of memory");
		return -1;
	}
	return 0;
}

static void
code3(char *dst, const char *v)
{
	snprintf(dst, 4, "%s", v);
}

static struct ack_report *
new_report(const struct edi_interchange *ic, enum ack_kind k,
    struct spool_error *err)
{
	struct ack_report *r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		spool_seterr(err, "out of memory");
		return NULL;
	}
	r->kind = k;
	r->included = r->received = r->accepted = -1;
	if (dup(&r->sender_qual, ic->sender_qual, err) == -1 ||
	    dup(&r->sender, ic->sender, err) == -1 ||
	    dup(&r->recipient_qual, ic->recipient_qual, err) == -1 ||
	    dup(&r->recipient, ic->recipient, err) == -1 ||
	    dup(&r->ack_control, ic->control, err) == -1) {
		ack_report_free(r);
		return NULL;
	}
	return r;
}

static struct ack_seen *
new_seen(struct ack_report *r, const char *ref, const char *type,
    const char *group, struct spool_error *err)
{
	struct ack_seen *m;

	if ((m = reallocarray(r->msgs, r->nmsgs + 1, sizeof(*m))) == NULL) {
		spool_seterr(err, "out of memory");
		return NULL;
	}
	r->msgs = m;
	m = &r->msgs[r->nmsgs];
	memset(m, 0, sizeof(*m));
	if (dup(&m->ref, ref, err) == -1 || dup(&m->type, type, err) == -1 ||
	    (group != NULL && dup(&m->group, group, err) == -1)) {
		free(m->ref);
		free(m->type);
		return NULL;
	}
	r->nmsgs++;
	return m;
}

/* CONTRL 0083. */
static int
contrl_status(const char *v, enum ack_status *st)
{
	if (strcmp(v, "4") == 0)
		*st = ACKST_REJECTED;
	else if (strcmp(v, "7") == 0)
		*st = ACKST_ACCEPTED;
	else if (strcmp(v, "8") == 0)
		*st = ACKST_RECEIVED;
	else
		return -1;
	return 0;
}

/* X12 715, 717, TA104. */
static int
x12_status(const char *v, enum ack_status *st)
{
	if (strcmp(v, "A") == 0)
		*st = ACKST_ACCEPTED;
	else if (strcmp(v, "E") == 0)
		*st = ACKST_ERRORS;
	else if (strcmp(v, "P") == 0)
		*st = ACKST_PARTIAL;
	else if (strcmp(v, "R") == 0 || strcmp(v, "M") == 0 ||
	    strcmp(v, "W") == 0 || strcmp(v, "X") == 0)
		*st = ACKST_REJECTED;
	else
		return -1;
	return 0;
}

static void
lex_init(struct edi_lex *lx, const struct edi_interchange *ic,
    const char *buf, size_t start, size_t end, const struct edi_limits *lim)
{
	memset(lx, 0, sizeof(*lx));
	lx->buf = buf;
	lx->pos = start;
	lx->len = end;
	lx->line = 1;
	lx->lim = lim;
	lx->elem = ic->elem;
	lx->seg = ic->seg;
	lx->comp = ic->comp;
	lx->rep = ic->rep;
	lx->release = ic->release;
}

static long long
count(const char *v)
{
	long long n;

	return edi_number(v, &n) == 0 ? n : -1;
}

static int
read_contrl(struct edi_lex *lx, struct ack_report *r, const char *what,
    struct spool_error *err)
{
	struct edi_seg s;
	struct ack_seen *m;
	char *group = NULL;
	int rc = -1, uci = 0, lower_rejected = 0, x;

	memset(&s, 0, sizeof(s));
	while ((x = edi_lex_next(lx, &s, err)) == 1) {
		if (strcmp(s.tag, "UCI") == 0) {
			if (uci++) {
				spool_seterr(err, "%s: a second UCI", what);
				goto out;
			}
			if (edi_seg_val(&s, 1, 1)[0] == '\0' ||
			    contrl_status(edi_seg_val(&s, 4, 1),
			    &r->status) == -1) {
				spool_seterr(err, "%s: UCI lacks the "
				    "interchange reference (0020) or a known "
				    "action (0083: 4, 7 or 8)", what);
				goto out;
			}
			if (dup(&r->control, edi_seg_val(&s, 1, 1), err) == -1)
				goto out;
			code3(r->code, edi_seg_val(&s, 5, 1));
		} else if (strcmp(s.tag, "UCF") == 0 && uci) {
			enum ack_status st;

			if (edi_seg_val(&s, 1, 1)[0] == '\0' ||
			    contrl_status(edi_seg_val(&s, 4, 1), &st) == -1) {
				spool_seterr(err, "%s: UCF lacks the group "
				    "reference (0048) or a known action "
				    "(0083)", what);
				goto out;
			}
			if (dup(&group, edi_seg_val(&s, 1, 1), err) == -1)
				goto out;
			if (r->group == NULL) {
				if (dup(&r->group, group, err) == -1)
					goto out;
			} else if (strcmp(r->group, group) != 0) {
				free(r->group);	/* more than one group */
				r->group = NULL;
			}
			if (st == ACKST_REJECTED)
				lower_rejected = 1;
		} else if (strcmp(s.tag, "UCM") == 0 && uci) {
			if (edi_seg_val(&s, 1, 1)[0] == '\0') {
				spool_seterr(err, "%s: UCM lacks the message "
				    "reference (0062)", what);
				goto out;
			}
			if ((m = new_seen(r, edi_seg_val(&s, 1, 1),
			    edi_seg_val(&s, 2, 1), group, err)) == NULL)
				goto out;
			if (contrl_status(edi_seg_val(&s, 3, 1),
			    &m->status) == -1) {
				spool_seterr(err, "%s: UCM %.35s has no known "
				    "action (0083: 4, 7 or 8)", what, m->ref);
				goto out;
			}
			code3(m->code, edi_seg_val(&s, 4, 1));
			if (m->status == ACKST_REJECTED)
				lower_rejected = 1;
		}
	}
	if (x == -1)
		goto out;
	if (!uci) {
		spool_seterr(err, "%s: a CONTRL without UCI", what);
		goto out;
	}
	if (lower_rejected && r->status == ACKST_ACCEPTED)
		r->status = ACKST_PARTIAL;
	rc = 0;
out:
	free(group);
	edi_seg_free(&s);
	return rc;
}

static int
read_997(struct edi_lex *lx, struct ack_report *r, const char *what,
    struct spool_error *err)
{
	struct edi_seg s;
	struct ack_seen *m = NULL;
	int rc = -1, ak1 = 0, ak9 = 0, x;

	memset(&s, 0, sizeof(s));
	while ((x = edi_lex_next(lx, &s, err)) == 1) {
		if (strcmp(s.tag, "AK1") == 0) {
			if (ak1++ || edi_seg_val(&s, 2, 1)[0] == '\0') {
				spool_seterr(err, "%s: a second AK1, or one "
				    "without the group control number", what);
				goto out;
			}
			if (dup(&r->group_id, edi_seg_val(&s, 1, 1),
			    err) == -1 || dup(&r->group, edi_seg_val(&s, 2, 1),
			    err) == -1)
				goto out;
		} else if (strcmp(s.tag, "AK2") == 0 && ak1 && !ak9) {
			if (edi_seg_val(&s, 2, 1)[0] == '\0') {
				spool_seterr(err, "%s: AK2 without the "
				    "transaction set control number", what);
				goto out;
			}
			if ((m = new_seen(r, edi_seg_val(&s, 2, 1),
			    edi_seg_val(&s, 1, 1), r->group, err)) == NULL)
				goto out;
			m->status = ACKST_ACCEPTED;
		} else if ((strcmp(s.tag, "AK5") == 0 ||
		    strcmp(s.tag, "IK5") == 0) && m != NULL) {
			if (x12_status(edi_seg_val(&s, 1, 1),
			    &m->status) == -1) {
				spool_seterr(err, "%s: %s for %.20s has no "
				    "known code (A, E, R, M, W, X)", what,
				    s.tag, m->ref);
				goto out;
			}
			code3(m->code, edi_seg_val(&s, 2, 1));
			m = NULL;
		} else if (strcmp(s.tag, "AK9") == 0 && ak1) {
			if (ak9++ || x12_status(edi_seg_val(&s, 1, 1),
			    &r->status) == -1) {
				spool_seterr(err, "%s: a second AK9, or one "
				    "with no known code", what);
				goto out;
			}
			r->included = count(edi_seg_val(&s, 2, 1));
			r->received = count(edi_seg_val(&s, 3, 1));
			r->accepted = count(edi_seg_val(&s, 4, 1));
			code3(r->code, edi_seg_val(&s, 5, 1));
		}
	}
	if (x == -1)
		goto out;
	if (!ak1 || !ak9) {
		spool_seterr(err, "%s: no %s", what, ak1 ? "AK9" : "AK1");
		goto out;
	}
	rc = 0;
out:
	edi_seg_free(&s);
	return rc;
}

int
ack_read_message(const struct edi_interchange *ic, size_t i,
    const char *buf, size_t len, const struct edi_limits *lim,
    struct ack_report **out, struct spool_error *err)
{
	const struct edi_message *m;
	struct ack_report *r;
	struct edi_lex lx;
	enum ack_kind k;
	char what[96];
	int rc;

	*out = NULL;
	if (i >= ic->nmsgs || ic->msgs[i].end > len ||
	    ic->msgs[i].start >= ic->msgs[i].end) {
		spool_seterr(err, "no message %zu in the interchange", i);
		return -1;
	}
	m = &ic->msgs[i];
	if (ic->syntax == EDI_EDIFACT && strcmp(m->type, "CONTRL") == 0)
		k = ACK_CONTRL;
	else if (ic->syntax == EDI_X12 && strcmp(m->type, "997") == 0)
		k = ACK_997;
	else if (ic->syntax == EDI_X12 && strcmp(m->type, "999") == 0)
		k = ACK_999;
	else {
		spool_seterr(err, "message %.35s is a %.20s, not an "
		    "acknowledgment", m->ref, m->type);
		return -1;
	}
	snprintf(what, sizeof(what), "line %zu: %s %.35s", m->line, m->type,
	    m->ref);
	if (m->reason != NULL) {
		spool_seterr(err, "%s: %s", what, m->reason);
		return -1;
	}
	if ((r = new_report(ic, k, err)) == NULL)
		return -1;
	if (dup(&r->ack_ref, m->ref, err) == -1) {
		ack_report_free(r);
		return -1;
	}
	lex_init(&lx, ic, buf, m->start, m->end, lim);
	rc = k == ACK_CONTRL ? read_contrl(&lx, r, what, err) :
	    read_997(&lx, r, what, err);
	if (rc == -1) {
		ack_report_free(r);
		return -1;
	}
	*out = r;
	return 0;
}

int
ack_read_ta1(const struct edi_interchange *ic, const char *buf, size_t len,
    const struct edi_limits *lim, struct ack_report **out,
    struct spool_error *err)
{
	struct ack_report *head = NULL, **tail = &head, *r;
	struct edi_lex lx;
	struct edi_seg s;
	int depth = 0, x, rc = -1;

	*out = NULL;
	if (ic->syntax != EDI_X12 || ic->end > len)
		return 0;
	memset(&s, 0, sizeof(s));
	lex_init(&lx, ic, buf, ic->hdr_end, ic->end, lim);
	while ((x = edi_lex_next(&lx, &s, err)) == 1) {
		if (strcmp(s.tag, "GS") == 0)
			depth++;
		else if (strcmp(s.tag, "GE") == 0)
			depth--;
		if (strcmp(s.tag, "TA1") != 0 || depth != 0)
			continue;
		if ((r = new_report(ic, ACK_TA1, err)) == NULL)
			goto out;
		*tail = r;
		tail = &r->next;
		if (edi_seg_val(&s, 1, 1)[0] == '\0' ||
		    x12_status(edi_seg_val(&s, 4, 1), &r->status) == -1) {
			spool_seterr(err, "TA1 without the interchange control "
			    "number (TA101) or a known code (TA104: A, E, "
			    "R)");
			goto out;
		}
		if (dup(&r->control, edi_seg_val(&s, 1, 1), err) == -1)
			goto out;
		code3(r->code, edi_seg_val(&s, 5, 1));
	}
	if (x == -1)
		goto out;
	*out = head;
	head = NULL;
	rc = 0;
out:
	ack_report_free(head);
	edi_seg_free(&s);
	return rc;
}

int
ack_read(const char *buf, size_t len, const struct edi_limits *lim,
    struct ack_report **out, struct spool_error *err)
{
	struct edi_interchange *head = NULL;
	int rc;

	*out = NULL;
	if (edi_read(buf, len, lim, &head, err) == -1)
		return -1;
	rc = ack_read_ics(head, buf, len, lim, out, err);
	edi_free(head);
	return rc;
}

int
ack_read_ics(const struct edi_interchange *head, const char *buf,
    size_t len, const struct edi_limits *lim, struct ack_report **out,
    struct spool_error *err)
{
	const struct edi_interchange *ic;
	struct ack_report *list = NULL, **tail = &list, *r;
	size_t i;
	int rc = -1;

	*out = NULL;
	for (ic = head; ic != NULL; ic = ic->next) {
		if (ack_read_ta1(ic, buf, len, lim, &r, err) == -1)
			goto out;
		*tail = r;
		while (*tail != NULL)
			tail = &(*tail)->next;
		for (i = 0; i < ic->nmsgs; i++) {
			const char *t = ic->msgs[i].type;

			if (strcmp(t, ic->syntax == EDI_X12 ? "997" :
			    "CONTRL") != 0 && (ic->syntax != EDI_X12 ||
			    strcmp(t, "999") != 0))
				continue;
			if (ack_read_message(ic, i, buf, len, lim, &r,
			    err) == -1)
				goto out;
			*tail = r;
			tail = &r->next;
		}
	}
	*out = list;
	list = NULL;
	rc = 0;
out:
	ack_report_free(list);
	return rc;
}
