/*
 * edi_x12.c - one X12 interchange: ISA, GS..GE, ST..SE, IEA (and TA1
 * between groups).
 *
 * ISA is fixed-width: 106 bytes, the element separator at byte 4 and at
 * fifteen fixed places after it, the component separator (ISA16) at
 * byte 105 and the segment terminator at byte 106, whatever bytes they
 * are (0x15, a newline, '~', ...). ISA11 is the repetition separator
 * when it is not a letter, digit or blank (version 00402 on). A newline
 * terminator may come as CRLF, and then the last segment may lack it.
 * ISA13/IEA02, GS06/GE02 and the counts are compared as numbers (X12
 * gives them type N0), ST02/SE02 as strings (AN). X12 declares no
 * character set: its bytes are read as UTF-8, of which ASCII is part.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edi.h"
#include "edi_int.h"

/* The offsets of ISA's element separators, ISA01..ISA16. */
const unsigned short edi_isa_sep[16] = {
	3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103
};

static int
isa_seps(struct edi_lex *lx, struct edi_interchange *ic,
    struct spool_error *err)
{
	const unsigned char *u = (const unsigned char *)lx->buf + lx->pos;
	int i, r;

	if (lx->len - lx->pos < 106) {
		spool_seterr(err, "line %zu: ISA is cut short: it is 106 bytes "
		    "long, the data has %zu left", lx->line,
		    lx->len - lx->pos);
		return -1;
	}
	ic->elem = u[3];
	ic->comp = u[104];
	ic->seg = u[105];
	for (i = 1; i < 16; i++)
		if (u[edi_isa_sep[i]] != ic->elem) {
			spool_seterr(err, "line %zu: ISA is not fixed-width: "
			    "byte %u is not the element separator (0x%02x) "
			    "that byte 4 declares", lx->line,
			    edi_isa_sep[i] + 1u, ic->elem);
			return -1;
		}
	r = u[82];
	ic->rep = (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') ||
	    (r >= '0' && r <= '9') || r == ' ' ? -1 : r;
	if (ic->elem == ic->comp || ic->elem == ic->seg ||
	    ic->comp == ic->seg || ic->rep == ic->elem || ic->rep == ic->comp ||
	    ic->rep == ic->seg) {
		spool_seterr(err, "line %zu: ISA uses one byte for two "
		    "separators (element 0x%02x, component 0x%02x, "
		    "segment 0x%02x)", lx->line, ic->elem, ic->comp, ic->seg);
		return -1;
	}
	for (i = 0; i < 3; i++) {
		r = i == 0 ? ic->elem : i == 1 ? ic->comp : ic->seg;
		if ((r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') ||
		    r == ' ') {
			spool_seterr(err, "line %zu: ISA separator 0x%02x is a "
			    "letter, digit or blank", lx->line, r);
			return -1;
		}
	}
	ic->release = -1;
	ic->decimal = '.';
	/* ISA itself: ISA11 and ISA16 are data, not separators. */
	lx->elem = ic->elem;
	lx->seg = ic->seg;
	lx->comp = lx->rep = lx->release = -1;
	return 0;
}

static char *
trimmed(const struct edi_seg *s, unsigned e, struct spool_error *err)
{
	const char *v = edi_seg_val(s, e, 1);
	size_t n = strlen(v);
	char *p;

	while (n > 0 && v[n - 1] == ' ')
		n--;
	if ((p = strndup(v, n)) == NULL)
		spool_seterr(err, "out of memory");
	return p;
}

#define DUP(dst, expr) do {						\
	if (((dst) = (expr)) == NULL)					\
		goto out;						\
} while (0)

static int
read_isa(struct edi_interchange *ic, const struct edi_seg *s,
    struct spool_error *err)
{
	long long v;

	ic->hdr_start = s->start;
	ic->hdr_end = s->end;
	ic->charset = "UTF-8";
	DUP(ic->sender_qual, trimmed(s, 5, err));
	DUP(ic->sender, trimmed(s, 6, err));
	DUP(ic->recipient_qual, trimmed(s, 7, err));
	DUP(ic->recipient, trimmed(s, 8, err));
	DUP(ic->date, trimmed(s, 9, err));
	DUP(ic->time, trimmed(s, 10, err));
	DUP(ic->syntax_version, trimmed(s, 12, err));
	DUP(ic->syntax_id, trimmed(s, 12, err));
	DUP(ic->control, edi_seg_dup(s, 13, 1, err));
	ic->ack = strcmp(edi_seg_val(s, 14, 1), "1") == 0;
	ic->test = strcmp(edi_seg_val(s, 15, 1), "T") == 0;
	if (edi_number(ic->control, &v) == -1) {
		spool_seterr(err, "line %zu: ISA13 control number '%.20s' is "
		    "not a number", s->line, ic->control);
		goto out;
	}
	if (ic->sender[0] == '\0' || ic->recipient[0] == '\0') {
		spool_seterr(err, "line %zu: ISA lacks its %s", s->line,
		    ic->sender[0] == '\0' ? "sender (ISA06)" :
		    "recipient (ISA08)");
		goto out;
	}
	return 0;
out:
	return -1;
}

static int
read_gs(struct edi_group *g, const struct edi_seg *s, struct spool_error *err)
{
	long long v;

	g->hdr_start = s->start;
	g->hdr_end = s->end;
	DUP(g->id, edi_seg_dup(s, 1, 1, err));
	DUP(g->sender, edi_seg_dup(s, 2, 1, err));
	DUP(g->recipient, edi_seg_dup(s, 3, 1, err));
	DUP(g->date, edi_seg_dup(s, 4, 1, err));
	DUP(g->time, edi_seg_dup(s, 5, 1, err));
	DUP(g->control, edi_seg_dup(s, 6, 1, err));
	DUP(g->agency, edi_seg_dup(s, 7, 1, err));
	DUP(g->version, edi_seg_dup(s, 8, 1, err));
	if (edi_number(g->control, &v) == -1) {
		spool_seterr(err, "line %zu: GS06 control number '%.20s' is "
		    "not a number", s->line, g->control);
		goto out;
	}
	return 0;
out:
	return -1;
}

/* Element e of s, a number, against want: an envelope error if not. */
static int
num_ok(const struct edi_seg *s, unsigned e, unsigned long long want,
    const char *what, const char *other, const char *otherval,
    struct spool_error *err)
{
	const char *val = edi_seg_val(s, e, 1);
	long long v;

	if (edi_number(val, &v) == -1) {
		spool_seterr(err, "line %zu: %s%02u '%.20s' is not a number",
		    s->line, s->tag, e, val);
		return -1;
	}
	if ((unsigned long long)v == want)
		return 0;
	if (otherval != NULL)
		spool_seterr(err, "line %zu: %s %s %.20s does not match %s "
		    "%.20s", s->line, s->tag, what, val, other, otherval);
	else
		spool_seterr(err, "line %zu: %s %s %lld does not match the "
		    "%llu %s", s->line, s->tag, what, v, want, other);
	return -1;
}

static int
read_st(struct edi_message *m, const struct edi_seg *s, struct edi_group *g,
    struct spool_error *err)
{
	m->start = s->start;
	m->line = s->line;
	m->segments = 1;
	DUP(m->type, edi_seg_dup(s, 1, 1, err));
	DUP(m->ref, edi_seg_dup(s, 2, 1, err));
	DUP(m->version, strdup(edi_seg_val(s, 3, 1)[0] != '\0' ?
	    edi_seg_val(s, 3, 1) : g->version));
	if (m->type[0] == '\0' || m->ref[0] == '\0') {
		spool_seterr(err, "line %zu: ST lacks its %s", s->line,
		    m->type[0] == '\0' ? "transaction set identifier (ST01)" :
		    "control number (ST02)");
		goto out;
	}
	return 0;
out:
	if (err->msg[0] == '\0')
		spool_seterr(err, "out of memory");
	return -1;
}

static int
read_se(struct edi_message *m, const struct edi_seg *s,
    struct spool_error *err)
{
	const char *cnt = edi_seg_val(s, 1, 1), *ref = edi_seg_val(s, 2, 1);
	long long v;

	m->end = s->end;
	if (edi_number(cnt, &v) == -1)
		return edi_msg_reject(m, err, "line %zu: SE01 segment count "
		    "'%.20s' is not a number", s->line, cnt);
	if ((unsigned long long)v != m->segments)
		return edi_msg_reject(m, err, "line %zu: SE segment count "
		    "%lld does not match the %zu segments of transaction set "
		    "%.20s", s->line, v, m->segments, m->ref);
	if (strcmp(ref, m->ref) != 0)
		return edi_msg_reject(m, err, "line %zu: SE control number "
		    "%.20s does not match ST control number %.20s", s->line,
		    ref, m->ref);
	return 0;
}

int
edi_x12_read(struct edi_lex *lx, struct edi_interchange *ic,
    struct spool_error *err)
{
	struct edi_seg s;
	struct edi_message *m = NULL;
	struct edi_group *g = NULL;
	size_t ingroup = 0;
	int r, rc = -1;

	memset(&s, 0, sizeof(s));
	if (isa_seps(lx, ic, err) == -1)
		goto out;
	if ((r = edi_lex_next(lx, &s, err)) == -1)
		goto out;
	if (r == 0 || strcmp(s.tag, "ISA") != 0 || s.end - s.start != 106 ||
	    s.nelems != 16) {
		spool_seterr(err, "line %zu: ISA is not 16 elements in 106 "
		    "bytes", s.line);
		goto out;
	}
	if (read_isa(ic, &s, err) == -1 || edi_check_bytes(ic, lx, &s,
	    err) == -1)
		goto out;
	lx->comp = ic->comp;
	lx->rep = ic->rep;
	for (;;) {
		if ((r = edi_lex_next(lx, &s, err)) == -1)
			goto out;
		if (r == 0) {
			spool_seterr(err, "line %zu: the data ends before the "
			    "IEA of interchange %.20s%s%.20s", lx->line,
			    ic->control, m ? ": transaction set without SE: " :
			    g ? ": group without GE: " : "", m ? m->ref :
			    g ? g->control : "");
			goto out;
		}
		if (edi_check_bytes(ic, lx, &s, err) == -1)
			goto out;
		if (m != NULL) {
			m->segments++;
			if (strcmp(s.tag, "SE") == 0) {
				if (read_se(m, &s, err) == -1)
					goto out;
				m = NULL;
			} else if (strcmp(s.tag, "ST") == 0 ||
			    strcmp(s.tag, "GS") == 0 ||
			    strcmp(s.tag, "GE") == 0 ||
			    strcmp(s.tag, "ISA") == 0 ||
			    strcmp(s.tag, "IEA") == 0) {
				spool_seterr(err, "line %zu: %s inside "
				    "transaction set %.20s, which has no SE",
				    s.line, s.tag, m->ref);
				goto out;
			}
			continue;
		}
		if (strcmp(s.tag, "ST") == 0 && g != NULL) {
			if ((m = edi_add_message(ic, lx, err)) == NULL)
				goto out;
			m->group = (int)(g - ic->groups);
			if (read_st(m, &s, g, err) == -1)
				goto out;
			ingroup++;
		} else if (strcmp(s.tag, "GS") == 0 && g == NULL) {
			if ((g = edi_add_group(ic, err)) == NULL ||
			    read_gs(g, &s, err) == -1)
				goto out;
			ingroup = 0;
		} else if (strcmp(s.tag, "GE") == 0 && g != NULL) {
			if (num_ok(&s, 1, ingroup, "count", "transaction sets "
			    "of the group", NULL, err) == -1)
				goto out;
			if (num_ok(&s, 2, strtoull(g->control, NULL, 10),
			    "control number", "GS06", g->control, err) == -1)
				goto out;
			g->messages = ingroup;
			g = NULL;
		} else if (strcmp(s.tag, "IEA") == 0 && g == NULL) {
			if (num_ok(&s, 1, ic->ngroups, "count", "groups of "
			    "the interchange", NULL, err) == -1)
				goto out;
			if (num_ok(&s, 2, strtoull(ic->control, NULL, 10),
			    "control number", "ISA13", ic->control,
			    err) == -1)
				goto out;
			break;
		} else if (strcmp(s.tag, "TA1") == 0 && g == NULL) {
			continue;
		} else {
			spool_seterr(err, "line %zu: segment %s outside a %s",
			    s.line, s.tag, g ? "transaction set (ST..SE)" :
			    "functional group (GS..GE)");
			goto out;
		}
	}
	rc = 0;
out:
	edi_seg_free(&s);
	return rc;
}
