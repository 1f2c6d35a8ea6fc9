/*
 * edi_edifact.c - one EDIFACT interchange: UNA, UNB, UNG..UNE, UNH..UNT,
 * UNZ (ISO 9735 versions 1 to 4, batch).
 *
 * The separators come from UNA when there is one, else from the
 * defaults of ISO 9735 (level A: ' + : ? and, from syntax version 4 on,
 * the repetition separator '*'; level B, recognised by the byte after
 * "UNB": IS4, IS3, IS1 with no release character). The syntax
 * identifier of UNB names the character set (edi_charset()); it is
 * never guessed. Control references are compared as the strings they
 * are (an..14), counts as numbers. An error of the envelope (UNA, UNB,
 * UNG/UNE, UNZ, a segment outside a message, a message without its UNT)
 * fails the interchange; a message whose UNT disagrees with it gets a
 * reason of its own and the interchange goes on.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edi.h"
#include "edi_int.h"

static const struct {
	const char	*id, *charset;
} charsets[] = {
	{ "UNOA", "ASCII" }, { "UNOB", "ASCII" },
	{ "UNOC", "ISO-8859-1" }, { "UNOD", "ISO-8859-2" },
	{ "UNOE", "ISO-8859-5" }, { "UNOF", "ISO-8859-7" },
	{ "UNOG", "ISO-8859-3" }, { "UNOH", "ISO-8859-4" },
	{ "UNOI", "ISO-8859-6" }, { "UNOJ", "ISO-8859-8" },
	{ "UNOK", "ISO-8859-9" }, { "UNOL", "ISO-8859-15" },
	{ "UNOW", "UTF-8" }, { "UNOY", "UTF-8" },
};

const char *
edi_charset_of(const char *syntax_id)
{
	size_t i;

	for (i = 0; i < sizeof(charsets) / sizeof(charsets[0]); i++)
		if (strcmp(syntax_id, charsets[i].id) == 0)
			return charsets[i].charset;
	return NULL;
}

static int
set_charset(struct edi_interchange *ic, size_t line, struct spool_error *err)
{
	if ((ic->charset = edi_charset_of(ic->syntax_id)) != NULL)
		return 0;
	if (strcmp(ic->syntax_id, "UNOX") == 0)
		spool_seterr(err, "line %zu: UNB syntax identifier UNOX (ISO "
		    "2022 code extension) is not supported; send UNOY or UNOW "
		    "(UTF-8) instead", line);
	else
		spool_seterr(err, "line %zu: UNB syntax identifier '%.20s' is "
		    "not a character set spoold knows (UNOA..UNOL, UNOW, "
		    "UNOY)", line, ic->syntax_id);
	return -1;
}

static int
read_una(struct edi_lex *lx, struct edi_interchange *ic,
    struct spool_error *err)
{
	const unsigned char *u = (const unsigned char *)lx->buf + lx->pos + 3;
	int i, j, c[4];

	if (lx->len - lx->pos < 9) {
		spool_seterr(err, "line %zu: UNA is cut short: it needs six "
		    "characters after \"UNA\"", lx->line);
		return -1;
	}
	ic->una = 1;
	ic->comp = u[0];
	ic->elem = u[1];
	ic->decimal = u[2];
	ic->release = u[3] == ' ' ? -1 : u[3];
	ic->rep = u[4] == ' ' ? -1 : u[4];
	ic->seg = u[5];
	c[0] = ic->comp;
	c[1] = ic->elem;
	c[2] = ic->seg;
	c[3] = ic->release;
	for (i = 0; i < 4; i++) {
		if (c[i] == -1)
			continue;
		if ((c[i] >= 'A' && c[i] <= 'Z') || (c[i] >= '0' &&
		    c[i] <= '9') || (c[i] == ' ' && i < 3)) {
			spool_seterr(err, "line %zu: UNA separator %d is '%c', "
			    "a letter, digit or blank", lx->line, i + 1, c[i]);
			return -1;
		}
		for (j = i + 1; j < 4; j++)
			if (c[i] == c[j] || c[i] == ic->rep) {
				spool_seterr(err, "line %zu: UNA uses '%c' for "
				    "two separators", lx->line, c[i]);
				return -1;
			}
	}
	if ((ic->rep >= 'A' && ic->rep <= 'Z') || (ic->rep >= '0' &&
	    ic->rep <= '9')) {
		spool_seterr(err, "line %zu: UNA repetition separator is '%c', "
		    "a letter or digit", lx->line, ic->rep);
		return -1;
	}
	if (ic->decimal != '.' && ic->decimal != ',') {
		spool_seterr(err, "line %zu: UNA decimal mark is '%c', not "
		    "'.' or ','", lx->line, ic->decimal);
		return -1;
	}
	lx->pos += 9;
	return 0;
}

#define DUP(dst, e, c) do {						\
	if (((dst) = edi_seg_dup(&s, (e), (c), err)) == NULL)		\
		goto out;						\
} while (0)

static int
read_unb(struct edi_lex *lx, struct edi_interchange *ic, struct edi_seg *sp,
    struct spool_error *err)
{
	struct edi_seg s = *sp;
	long long v;
	int rc = -1;

	ic->hdr_start = s.start;
	ic->hdr_end = s.end;
	DUP(ic->syntax_id, 1, 1);
	DUP(ic->syntax_version, 1, 2);
	DUP(ic->sender, 2, 1);
	DUP(ic->sender_qual, 2, 2);
	DUP(ic->recipient, 3, 1);
	DUP(ic->recipient_qual, 3, 2);
	DUP(ic->date, 4, 1);
	DUP(ic->time, 4, 2);
	DUP(ic->control, 5, 1);
	ic->ack = strcmp(edi_seg_val(&s, 9, 1), "1") == 0;
	ic->test = strcmp(edi_seg_val(&s, 11, 1), "1") == 0;
	if (ic->syntax_id[0] == '\0' || ic->sender[0] == '\0' ||
	    ic->recipient[0] == '\0' || ic->control[0] == '\0') {
		spool_seterr(err, "line %zu: UNB lacks its %s", s.line,
		    ic->syntax_id[0] == '\0' ? "syntax identifier (0001)" :
		    ic->sender[0] == '\0' ? "sender (S002 0004)" :
		    ic->recipient[0] == '\0' ? "recipient (S003 0010)" :
		    "control reference (0020)");
		goto out;
	}
	if (edi_number(ic->syntax_version, &v) == -1 || v < 1 || v > 4) {
		spool_seterr(err, "line %zu: UNB syntax version '%.20s' is not "
		    "1, 2, 3 or 4", s.line, ic->syntax_version);
		goto out;
	}
	if (set_charset(ic, s.line, err) == -1)
		goto out;
	/* Without UNA, version 4 has '*' for repetitions. */
	if (!ic->una && v == 4 && ic->elem == '+')
		ic->rep = '*';
	lx->rep = ic->rep;
	rc = edi_check_bytes(ic, lx, &s, err);
out:
	return rc;
}

static int
read_unh(struct edi_message *m, struct edi_seg *sp, struct spool_error *err)
{
	struct edi_seg s = *sp;
	char ver[128];

	m->start = s.start;
	m->line = s.line;
	m->segments = 1;
	DUP(m->ref, 1, 1);
	DUP(m->type, 2, 1);
	snprintf(ver, sizeof(ver), "%.20s:%.20s:%.20s%s%.20s",
	    edi_seg_val(&s, 2, 2), edi_seg_val(&s, 2, 3),
	    edi_seg_val(&s, 2, 4), edi_seg_val(&s, 2, 5)[0] ? ":" : "",
	    edi_seg_val(&s, 2, 5));
	if ((m->version = strdup(ver)) == NULL) {
		spool_seterr(err, "out of memory");
		goto out;
	}
	if (m->ref[0] == '\0' || m->type[0] == '\0') {
		spool_seterr(err, "line %zu: UNH lacks its %s", s.line,
		    m->ref[0] == '\0' ? "message reference (0062)" :
		    "message type (S009 0065)");
		goto out;
	}
	return 0;
out:
	return -1;
}

static int
read_unt(struct edi_message *m, const struct edi_seg *s,
    struct spool_error *err)
{
	const char *cnt = edi_seg_val(s, 1, 1), *ref = edi_seg_val(s, 2, 1);
	long long v;

	m->end = s->end;
	if (edi_number(cnt, &v) == -1)
		return edi_msg_reject(m, err, "line %zu: UNT segment count "
		    "'%.20s' is not a number", s->line, cnt);
	if ((unsigned long long)v != m->segments)
		return edi_msg_reject(m, err, "line %zu: UNT segment count "
		    "%lld does not match the %zu segments of message %.35s",
		    s->line, v, m->segments, m->ref);
	if (strcmp(ref, m->ref) != 0)
		return edi_msg_reject(m, err, "line %zu: UNT reference %.35s "
		    "does not match UNH reference %.35s", s->line, ref,
		    m->ref);
	return 0;
}

static int
read_ung(struct edi_group *g, struct edi_seg *sp, struct spool_error *err)
{
	struct edi_seg s = *sp;
	char ver[64];

	g->hdr_start = s.start;
	g->hdr_end = s.end;
	DUP(g->id, 1, 1);
	DUP(g->sender, 2, 1);
	DUP(g->recipient, 3, 1);
	DUP(g->date, 4, 1);
	DUP(g->time, 4, 2);
	DUP(g->control, 5, 1);
	DUP(g->agency, 6, 1);
	snprintf(ver, sizeof(ver), "%.20s:%.20s", edi_seg_val(&s, 7, 1),
	    edi_seg_val(&s, 7, 2));
	if ((g->version = strdup(ver)) == NULL) {
		spool_seterr(err, "out of memory");
		goto out;
	}
	if (g->control[0] == '\0') {
		spool_seterr(err, "line %zu: UNG lacks its group reference "
		    "(0048)", s.line);
		goto out;
	}
	return 0;
out:
	return -1;
}

/* A count in a trailer against what was counted: an envelope error. */
static int
count_ok(const struct edi_seg *s, const char *what, size_t counted,
    const char *of, struct spool_error *err)
{
	const char *cnt = edi_seg_val(s, 1, 1);
	long long v;

	if (edi_number(cnt, &v) == -1) {
		spool_seterr(err, "line %zu: %s %s '%.20s' is not a number",
		    s->line, s->tag, what, cnt);
		return -1;
	}
	if ((unsigned long long)v != counted) {
		spool_seterr(err, "line %zu: %s %s %lld does not match the %zu "
		    "%s in the interchange", s->line, s->tag, what, v, counted,
		    of);
		return -1;
	}
	return 0;
}

int
edi_edifact_read(struct edi_lex *lx, struct edi_interchange *ic,
    struct spool_error *err)
{
	struct edi_seg s;
	struct edi_message *m = NULL;
	struct edi_group *g = NULL;
	size_t ingroup = 0, top = 0;
	int r, rc = -1;

	memset(&s, 0, sizeof(s));
	ic->comp = ':';
	ic->elem = '+';
	ic->seg = '\'';
	ic->release = '?';
	ic->rep = -1;
	ic->decimal = '.';
	if (memcmp(lx->buf + lx->pos, "UNA", 3) == 0) {
		if (read_una(lx, ic, err) == -1)
			goto out;
	} else if (lx->len - lx->pos > 3 && lx->buf[lx->pos + 3] == 0x1d) {
		ic->comp = 0x1f;	/* level B defaults */
		ic->elem = 0x1d;
		ic->seg = 0x1c;
		ic->release = -1;
	}
	lx->comp = ic->comp;
	lx->elem = ic->elem;
	lx->seg = ic->seg;
	lx->release = ic->release;
	lx->rep = -1;
	if ((r = edi_lex_next(lx, &s, err)) == -1)
		goto out;
	if (r == 0 || strcmp(s.tag, "UNB") != 0) {
		spool_seterr(err, "line %zu: the interchange starts with %s, "
		    "not UNB", lx->line, r == 0 ? "nothing" : s.tag);
		goto out;
	}
	if (read_unb(lx, ic, &s, err) == -1)
		goto out;
	for (;;) {
		if ((r = edi_lex_next(lx, &s, err)) == -1)
			goto out;
		if (r == 0) {
			spool_seterr(err, "line %zu: the data ends before the "
			    "UNZ of interchange %.35s%s%.35s", lx->line,
			    ic->control, m ? ": message without UNT: " :
			    g ? ": group without UNE: " : "", m ? m->ref :
			    g ? g->control : "");
			goto out;
		}
		if (edi_check_bytes(ic, lx, &s, err) == -1)
			goto out;
		if (m != NULL) {
			m->segments++;
			if (strcmp(s.tag, "UNT") == 0) {
				if (read_unt(m, &s, err) == -1)
					goto out;
				m = NULL;
			} else if (s.tag[0] == 'U' && s.tag[1] == 'N' &&
			    strcmp(s.tag, "UNS") != 0) {
				spool_seterr(err, "line %zu: %s inside message "
				    "%.35s, which has no UNT", s.line, s.tag,
				    m->ref);
				goto out;
			}
			continue;
		}
		if (strcmp(s.tag, "UNH") == 0) {
			if (ic->ngroups > 0 && g == NULL) {
				spool_seterr(err, "line %zu: UNH outside a "
				    "group in an interchange with groups",
				    s.line);
				goto out;
			}
			if ((m = edi_add_message(ic, lx, err)) == NULL)
				goto out;
			m->group = g ? (int)(g - ic->groups) : -1;
			if (read_unh(m, &s, err) == -1)
				goto out;
			if (g != NULL)
				ingroup++;
			else
				top++;
		} else if (strcmp(s.tag, "UNG") == 0) {
			if (g != NULL || top > 0) {
				spool_seterr(err, "line %zu: UNG %s", s.line,
				    g ? "inside a group (no UNE before it)" :
				    "after messages outside groups");
				goto out;
			}
			if ((g = edi_add_group(ic, err)) == NULL ||
			    read_ung(g, &s, err) == -1)
				goto out;
			ingroup = 0;
		} else if (strcmp(s.tag, "UNE") == 0 && g != NULL) {
			if (count_ok(&s, "message count", ingroup, "messages "
			    "of the group", err) == -1)
				goto out;
			if (strcmp(edi_seg_val(&s, 2, 1), g->control) != 0) {
				spool_seterr(err, "line %zu: UNE reference "
				    "%.35s does not match UNG reference %.35s",
				    s.line, edi_seg_val(&s, 2, 1), g->control);
				goto out;
			}
			g->messages = ingroup;
			g = NULL;
		} else if (strcmp(s.tag, "UNZ") == 0 && g == NULL) {
			if (count_ok(&s, "control count", ic->ngroups ?
			    ic->ngroups : top, ic->ngroups ? "groups" :
			    "messages", err) == -1)
				goto out;
			if (strcmp(edi_seg_val(&s, 2, 1), ic->control) != 0) {
				spool_seterr(err, "line %zu: UNZ reference "
				    "%.35s does not match UNB reference %.35s",
				    s.line, edi_seg_val(&s, 2, 1), ic->control);
				goto out;
			}
			break;
		} else {
			spool_seterr(err, "line %zu: segment %s outside a "
			    "message%s", s.line, s.tag, g ? " (group without "
			    "UNE?)" : "");
			goto out;
		}
	}
	rc = 0;
out:
	edi_seg_free(&s);
	return rc;
}
