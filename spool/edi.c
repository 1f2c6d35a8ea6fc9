/*
 * edi.c - the EDIFACT and X12 tokenizer (DESIGN 15): the segment lexer,
 * the character set checks and edi_read(), which reads every
 * interchange of a file. The envelopes themselves are edi_edifact.c's
 * and edi_x12.c's; the XML tree is edi_tree.c's.
 *
 * The lexer reads one segment at a time from the caller's buffer with
 * the separators the interchange declared (UNA, or the fixed-width ISA)
 * and never reads past len: a release character at the end of the data
 * is an error, not a read of the byte after. Every quantity a partner
 * controls is bounded by struct edi_limits and checked before memory is
 * given for it; a segment's values go into one buffer of at most twice
 * its length, reused from segment to segment.
 *
 * Character sets are declared, never guessed: the syntax identifier of
 * UNB names one, X12 declares none and is read as UTF-8 (ASCII being
 * part of it). Bytes the declared set does not have are a rejection
 * that names the byte and its line; the one leniency is UNOA, whose
 * repertoire has no lower case letters and few punctuation marks: other
 * printable ASCII is accepted with a warning, since many senders that
 * declare UNOA write lower case. C0 control characters other than CR,
 * LF, TAB and the separators are refused in every set.
 *
 * Nothing here touches a file or the store: no crash-safety concern.
 *
 * Length: a little over the project's 800 lines since the lexer's plain
 * runs were unrolled for speed (issue 17); the lexer and the character
 * set checks share the segment buffer's invariants stated above.
 */
#include "config.h"

#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edi.h"
#include "edi_int.h"

void
edi_limits_default(struct edi_limits *l)
{
	l->max_interchanges = 1000;
	l->max_messages = 100000;
	l->max_segments = 1000000;
	l->max_elements = 99;
	l->max_components = 99;
	l->max_repetitions = 99;
	l->max_value = 70000;
}

static size_t
skip_bom_ws(const char *buf, size_t len)
{
	size_t p = 0;

	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		p = 3;
	while (p < len && (buf[p] == ' ' || buf[p] == '\t' || buf[p] == '\r' ||
	    buf[p] == '\n'))
		p++;
	return p;
}

static enum edi_syntax
detect_at(const char *buf, size_t len)
{
	if (len >= 3 && (memcmp(buf, "UNA", 3) == 0 ||
	    memcmp(buf, "UNB", 3) == 0))
		return EDI_EDIFACT;
	if (len >= 3 && memcmp(buf, "ISA", 3) == 0)
		return EDI_X12;
	return EDI_NONE;
}

enum edi_syntax
edi_detect(const char *buf, size_t len)
{
	size_t p = skip_bom_ws(buf, len);

	return detect_at(buf + p, len - p);
}

void
edi_lex_skipws(struct edi_lex *lx)
{
	int c;

	while (lx->pos < lx->len) {
		c = (unsigned char)lx->buf[lx->pos];
		/* Blank lines; with a newline terminator, empty segments. */
		if ((c != '\r' && c != '\n') || c == lx->elem ||
		    c == lx->comp || c == lx->rep || c == lx->release)
			break;
		if (c == '\n')
			lx->line++;
		lx->pos++;
	}
}

static int
push_val(struct edi_seg *s, unsigned elem, unsigned rep, unsigned comp,
    size_t off, size_t len, struct spool_error *err)
{
	struct edi_val *v;
	size_t cap;

	s->text[off + len] = '\0';
	if (len == 0)
		return 0;
	if (s->nvals == s->valcap) {
		cap = s->valcap ? s->valcap * 2 : 32;
		if ((v = reallocarray(s->vals, cap, sizeof(*v))) == NULL) {
			spool_seterr(err, "out of memory");
			return -1;
		}
		s->vals = v;
		s->valcap = cap;
	}
	v = &s->vals[s->nvals++];
	v->elem = elem;
	v->rep = rep;
	v->comp = comp;
	v->off = off;
	v->len = len;
	return 0;
}

static int
tag_ok(const char *t, size_t n)
{
	size_t i;

	if (n < 2 || n > 3)
		return 0;
	for (i = 0; i < n; i++)
		if (!((t[i] >= 'A' && t[i] <= 'Z') ||
		    (t[i] >= '0' && t[i] <= '9')))
			return 0;
	return 1;
}

static void
printable(char *out, size_t outlen, const char *s, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 5 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x",
			    c);
	}
	out[o] = '\0';
}

int
edi_lex_plain(struct edi_lex *lx, char tag[4], size_t *end)
{
	const struct edi_limits *lim = lx->lim;
	const unsigned char *b = (const unsigned char *)lx->buf;
	size_t i, p;
	int c;

	edi_lex_skipws(lx);
	if (lx->pos >= lx->len)
		return 0;
	if (lim->max_segments != SIZE_MAX || lim->max_elements != SIZE_MAX ||
	    lim->max_components != SIZE_MAX ||
	    lim->max_repetitions != SIZE_MAX || lim->max_value != SIZE_MAX)
		return 2;
	p = lx->pos;
	/* The tag: up to the first separator (no repetition in it). */
	for (i = p; i < lx->len; i++) {
		c = b[i];
		if (c == lx->release || c == '\r' || c == '\n' || c >= 0x80)
			break;
		if (c == lx->seg || c == lx->elem || c == lx->comp)
			break;
	}
	if (i == lx->len || (b[i] != lx->seg && b[i] != lx->elem &&
	    b[i] != lx->comp) || !tag_ok((const char *)b + p, i - p))
		return 2;
	memcpy(tag, b + p, i - p);
	tag[i - p] = '\0';
	/* The rest: to the terminator. */
	for (; i < lx->len; i++) {
		c = b[i];
		if (c == lx->release || c >= 0x80)
			return 2;
		if (c == lx->seg)
			break;
		if (c == '\r' || c == '\n')
			return 2;
	}
	if (i == lx->len)
		return 2;
	*end = i + 1;
	return 1;
}

void
edi_lex_skip(struct edi_lex *lx, size_t end)
{
	lx->nsegs++;
	lx->unterminated = 0;
	if (lx->seg == '\n')
		lx->line++;
	lx->pos = end;
}

/* c (a separator, -1 none) into the set sp of 256 bits. */
static void
special(unsigned char sp[32], int c)
{
	if (c >= 0 && c < 256)
		sp[c >> 3] |= (unsigned char)(1 << (c & 7));
}

int
edi_lex_next(struct edi_lex *lx, struct edi_seg *s, struct spool_error *err)
{
	const struct edi_limits *lim = lx->lim;
	unsigned elem = 0, rep = 1, comp = 1;
	size_t vstart = 0, t = 0, need;
	char *nt, show[64];
	unsigned char sp[32];
	int c;

	edi_lex_skipws(lx);
	if (lx->pos >= lx->len)
		return 0;
	if (++lx->nsegs > lim->max_segments) {
		spool_seterr(err, "line %zu: more than %zu segments",
		    lx->line, lim->max_segments);
		return -1;
	}
	s->start = lx->pos;
	s->line = lx->line;
	s->nvals = 0;
	s->nelems = 0;
	s->tag[0] = '\0';
	lx->unterminated = 0;
	/*
	 * Each byte read adds at most one byte to text (a separator ends a
	 * value with a NUL), and the end of the data one more: the rest of
	 * the data plus two is enough for any segment.
	 */
	need = (lx->len - lx->pos) + 2;
	if (s->textcap < need) {
		if ((nt = realloc(s->text, need)) == NULL) {
			spool_seterr(err, "out of memory");
			return -1;
		}
		s->text = nt;
		s->textcap = need;
	}
	/* The bytes the loop below does more with than copy: separators,
	 * the release character, CR and LF. */
	memset(sp, 0, sizeof(sp));
	special(sp, lx->seg);
	special(sp, lx->elem);
	special(sp, lx->comp);
	special(sp, lx->rep);
	special(sp, lx->release);
	special(sp, '\r');
	special(sp, '\n');
	for (;;) {
		/* A run of other bytes, copied as the loop copies each, up
		 * to where a limit stops the loop (which says why). */
		if (lx->pos < lx->len && t - vstart < lim->max_value &&
		    t + 2 < s->textcap) {
			const unsigned char *b = (const unsigned char *)
			    lx->buf + lx->pos;
			size_t n = lx->len - lx->pos, i;

			if (n > lim->max_value - (t - vstart))
				n = lim->max_value - (t - vstart);
			if (n > s->textcap - 2 - t)
				n = s->textcap - 2 - t;
			for (i = 0; i < n && (sp[b[i] >> 3] &
			    (1 << (b[i] & 7))) == 0; i++)
				;
			memcpy(s->text + t, b, i);
			t += i;
			lx->pos += i;
		}
		if (lx->pos >= lx->len) {
			if (lx->seg != '\n' && lx->seg != '\r') {
				printable(show, sizeof(show), s->text,
				    t < 3 ? t : 3);
				spool_seterr(err, "line %zu: segment %s is not "
				    "terminated: the data ends before its "
				    "terminator", s->line, s->tag[0] ?
				    s->tag : show);
				return -1;
			}
			lx->unterminated = 1;
			c = lx->seg;
		} else
			c = (unsigned char)lx->buf[lx->pos++];
		if (c == lx->release) {
			if (lx->pos >= lx->len) {
				spool_seterr(err, "line %zu: release character "
				    "'%c' at the end of the data", lx->line, c);
				return -1;
			}
			c = (unsigned char)lx->buf[lx->pos++];
			if (c == '\n')
				lx->line++;
			goto plain;
		}
		if (c == lx->seg || c == lx->elem || c == lx->comp ||
		    (c == lx->rep && elem > 0)) {
			if (push_val(s, elem, rep, comp, vstart, t - vstart,
			    err) == -1)
				return -1;
			if (elem == 0 && comp == 1 && rep == 1) {
				if (!tag_ok(s->text + vstart, t - vstart)) {
					printable(show, sizeof(show),
					    s->text + vstart, t - vstart);
					spool_seterr(err, "line %zu: '%s' is "
					    "not a segment tag", s->line, show);
					return -1;
				}
				memcpy(s->tag, s->text + vstart,
				    t - vstart + 1);
			}
			if (++t >= s->textcap) {	/* see need */
				spool_seterr(err, "line %zu: segment too long",
				    s->line);
				return -1;
			}
			vstart = t;
			if (c == '\n' && c == lx->seg)
				lx->line++;
			if (c == lx->seg)
				break;
			if (c == lx->elem) {
				elem++;
				rep = comp = 1;
				s->nelems = elem;
				if (elem > lim->max_elements) {
					spool_seterr(err, "line %zu: "
					    "segment %s has more than %zu "
					    "elements", s->line, s->tag,
					    lim->max_elements);
					return -1;
				}
			} else if (c == lx->comp) {
				if (++comp > lim->max_components) {
					spool_seterr(err, "line %zu: "
					    "segment %s element %u has more "
					    "than %zu components", s->line,
					    s->tag, elem, lim->max_components);
					return -1;
				}
			} else {
				comp = 1;
				if (++rep > lim->max_repetitions) {
					spool_seterr(err, "line %zu: "
					    "segment %s element %u has more "
					    "than %zu repetitions", s->line,
					    s->tag, elem, lim->max_repetitions);
					return -1;
				}
			}
			continue;
		}
		/* CRLF where the terminator is LF: the CR is not data. */
		if (c == '\r' && lx->seg == '\n' && lx->pos < lx->len &&
		    lx->buf[lx->pos] == '\n')
			continue;
		if (c == '\n')
			lx->line++;
plain:
		if (t - vstart >= lim->max_value) {
			spool_seterr(err, "line %zu: segment %s element %u: a "
			    "value longer than %zu bytes", s->line,
			    s->tag[0] ? s->tag : "(tag)", elem, lim->max_value);
			return -1;
		}
		if (t + 2 >= s->textcap) {
			spool_seterr(err, "line %zu: segment too long",
			    s->line);
			return -1;
		}
		s->text[t++] = (char)c;
	}
	if (s->tag[0] == '\0') {
		spool_seterr(err, "line %zu: a segment without a tag", s->line);
		return -1;
	}
	s->end = lx->pos;
	return 1;
}

void
edi_seg_free(struct edi_seg *s)
{
	free(s->text);
	free(s->vals);
	memset(s, 0, sizeof(*s));
}

const char *
edi_seg_val(const struct edi_seg *s, unsigned elem, unsigned comp)
{
	size_t i;

	for (i = 0; i < s->nvals; i++)
		if (s->vals[i].elem == elem && s->vals[i].comp == comp &&
		    s->vals[i].rep == 1)
			return s->text + s->vals[i].off;
	return "";
}

char *
edi_seg_dup(const struct edi_seg *s, unsigned elem, unsigned comp,
    struct spool_error *err)
{
	char *p;

	if ((p = strdup(edi_seg_val(s, elem, comp))) == NULL)
		spool_seterr(err, "out of memory");
	return p;
}

int
edi_number(const char *s, long long *v)
{
	long long n = 0;
	size_t i;

	if (s[0] == '\0' || strlen(s) > 18)
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (s[i] - '0');
	}
	*v = n;
	return 0;
}

static int
unoa_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    strchr(" .,-()/='+:?!\"%&*;<>", c) != NULL;
}

int
edi_check_bytes(struct edi_interchange *ic, struct edi_lex *lx,
    const struct edi_seg *s, struct spool_error *err)
{
	const unsigned char *p = (const unsigned char *)lx->buf + s->start;
	size_t i, n = s->end - s->start, line = s->line, left, outleft;
	char out[256], *ip, *op;
	int c, ascii, unoa, high = 0;

	ascii = strcmp(ic->charset, "ASCII") == 0;
	unoa = ascii && ic->syntax_id != NULL &&
	    strcmp(ic->syntax_id, "UNOA") == 0;
	for (i = 0; i < n; i++) {
		c = p[i];
		/* Printable ASCII: nothing to check but UNOA's set. */
		if (c >= 0x20 && c < 0x7f && !unoa)
			continue;
		high |= c & 0x80;
		if (c == '\n')
			line++;
		if (c == ic->seg || c == ic->elem || c == ic->comp ||
		    c == ic->rep || c == ic->release)
			continue;
		if (c < 0x20 && c != '\r' && c != '\n' && c != '\t') {
			spool_seterr(err, "line %zu: segment %s holds the "
			    "control character 0x%02x", line, s->tag, c);
			return -1;
		}
		if (ascii && c >= 0x7f) {
			spool_seterr(err, "line %zu: segment %s holds the byte "
			    "0x%02x, which the character set %s does not "
			    "allow", line, s->tag, c, ic->syntax_id);
			return -1;
		}
		if (unoa && !unoa_char(c) &&
		    ic->warning == NULL && edi_warn(ic, err, "line %zu: "
		    "segment %s holds '%c', which UNOA does not allow; "
		    "accepted", line, s->tag, c) == -1)
			return -1;
	}
	/* Bytes below 0x80 are ASCII in every set spoold reads (ISO 8859,
	 * UTF-8): only a segment with others needs iconv's check. */
	if (ascii || !high)
		return 0;
	if (lx->cdset != ic->charset) {
		if (lx->cdset != NULL)
			iconv_close(lx->cd);
		lx->cdset = NULL;
		if ((lx->cd = iconv_open("UTF-8", ic->charset)) ==
		    (iconv_t)-1) {
			spool_seterr(err, "character set %s (%s) is not "
			    "available here: %s", ic->syntax_id ?
			    ic->syntax_id : "", ic->charset, strerror(errno));
			return -1;
		}
		lx->cdset = ic->charset;
	}
	iconv(lx->cd, NULL, NULL, NULL, NULL);
	ip = (char *)(uintptr_t)p;
	left = n;
	while (left > 0) {
		op = out;
		outleft = sizeof(out);
		if (iconv(lx->cd, &ip, &left, &op, &outleft) == (size_t)-1 &&
		    errno != E2BIG) {
			line = s->line;
			for (i = 0; i < (size_t)(ip - (const char *)p); i++)
				if (p[i] == '\n')
					line++;
			spool_seterr(err, "line %zu: segment %s holds the byte "
			    "0x%02x, which is not %s as %s declares",
			    line, s->tag, (unsigned char)*ip, ic->charset,
			    ic->syntax == EDI_X12 ? "X12" : ic->syntax_id);
			return -1;
		}
	}
	return 0;
}

/* *slot, when still NULL, gets the sentence fmt makes; the first wins. */
static int
say_once(char **slot, struct spool_error *err, const char *fmt, va_list ap)
{
	char buf[SPOOL_ERRLEN];

	if (*slot != NULL)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if ((*slot = strdup(buf)) == NULL) {
		spool_seterr(err, "out of memory");
		return -1;
	}
	return 0;
}

int
edi_warn(struct edi_interchange *ic, struct spool_error *err,
    const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = say_once(&ic->warning, err, fmt, ap);
	va_end(ap);
	return rc;
}

int
edi_msg_reject(struct edi_message *m, struct spool_error *err,
    const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = say_once(&m->reason, err, fmt, ap);
	va_end(ap);
	return rc;
}

struct edi_message *
edi_add_message(struct edi_interchange *ic, struct edi_lex *lx,
    struct spool_error *err)
{
	struct edi_message *m;

	if (++lx->nmsgs > lx->lim->max_messages) {
		spool_seterr(err, "line %zu: more than %zu messages",
		    lx->line, lx->lim->max_messages);
		return NULL;
	}
	/* Room doubles: an interchange of 10,000 messages is common. */
	if ((ic->nmsgs & (ic->nmsgs - 1)) == 0) {
		if ((m = reallocarray(ic->msgs, ic->nmsgs ? ic->nmsgs * 2 : 1,
		    sizeof(*m))) == NULL) {
			spool_seterr(err, "out of memory");
			return NULL;
		}
		ic->msgs = m;
	}
	m = &ic->msgs[ic->nmsgs++];
	memset(m, 0, sizeof(*m));
	m->group = -1;
	return m;
}

struct edi_group *
edi_add_group(struct edi_interchange *ic, struct spool_error *err)
{
	struct edi_group *g;

	g = reallocarray(ic->groups, ic->ngroups + 1, sizeof(*g));
	if (g == NULL) {
		spool_seterr(err, "out of memory");
		return NULL;
	}
	ic->groups = g;
	g = &ic->groups[ic->ngroups++];
	memset(g, 0, sizeof(*g));
	return g;
}

static void
free_one(struct edi_interchange *ic)
{
	size_t i;

	for (i = 0; i < ic->nmsgs; i++) {
		free(ic->msgs[i].type);
		free(ic->msgs[i].ref);
		free(ic->msgs[i].version);
		free(ic->msgs[i].reason);
	}
	for (i = 0; i < ic->ngroups; i++) {
		free(ic->groups[i].id);
		free(ic->groups[i].sender);
		free(ic->groups[i].recipient);
		free(ic->groups[i].date);
		free(ic->groups[i].time);
		free(ic->groups[i].control);
		free(ic->groups[i].agency);
		free(ic->groups[i].version);
	}
	free(ic->msgs);
	free(ic->groups);
	free(ic->syntax_id);
	free(ic->syntax_version);
	free(ic->sender_qual);
	free(ic->sender);
	free(ic->recipient_qual);
	free(ic->recipient);
	free(ic->date);
	free(ic->time);
	free(ic->control);
	free(ic->warning);
	free(ic);
}

void
edi_free(struct edi_interchange *ic)
{
	struct edi_interchange *next;

	for (; ic != NULL; ic = next) {
		next = ic->next;
		free_one(ic);
	}
}

/*
 * After an interchange's trailer: its separators are forgotten, and the
 * blank lines and trailing blanks (NUL and SUB padding too) before the
 * next interchange are skipped.
 */
static void
skip_between(struct edi_lex *lx)
{
	char c;

	lx->comp = lx->elem = lx->seg = lx->rep = lx->release = -1;
	while (lx->pos < lx->len) {
		c = lx->buf[lx->pos];
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n' &&
		    c != '\0' && c != 0x1a)
			break;
		if (c == '\n')
			lx->line++;
		lx->pos++;
	}
}

/*
 * A lexer at the first interchange of buf: after the BOM and the blanks
 * before it, their lines counted. Its syntax, or EDI_NONE.
 */
static enum edi_syntax
lex_start(struct edi_lex *lx, const char *buf, size_t len,
    const struct edi_limits *lim)
{
	size_t i;

	memset(lx, 0, sizeof(*lx));
	lx->buf = buf;
	lx->len = len;
	lx->lim = lim;
	lx->line = 1;
	lx->pos = skip_bom_ws(buf, len);
	for (i = 0; i < lx->pos; i++)
		if (buf[i] == '\n')
			lx->line++;
	return detect_at(buf + lx->pos, len - lx->pos);
}

int
edi_read(const char *buf, size_t len, const struct edi_limits *lim,
    struct edi_interchange **out, struct spool_error *err)
{
	struct edi_interchange *head = NULL, **tail = &head, *ic;
	struct edi_lex lx;
	enum edi_syntax syn, first;
	size_t n = 0;
	char show[64];

	*out = NULL;
	if ((first = lex_start(&lx, buf, len, lim)) == EDI_NONE) {
		spool_seterr(err, "neither EDIFACT nor X12: the data does not "
		    "start with UNA, UNB or ISA");
		return -1;
	}
	while (lx.pos < len) {
		syn = detect_at(buf + lx.pos, len - lx.pos);
		if (syn != first) {
			printable(show, sizeof(show), buf + lx.pos,
			    len - lx.pos < 12 ? len - lx.pos : 12);
			spool_seterr(err, "line %zu: after the %s trailer, "
			    "data that does not start an %s interchange: '%s'",
			    lx.line, first == EDI_EDIFACT ? "UNZ" : "IEA",
			    first == EDI_EDIFACT ? "EDIFACT" : "X12", show);
			goto fail;
		}
		if (++n > lim->max_interchanges) {
			spool_seterr(err, "line %zu: more than %zu "
			    "interchanges in one file", lx.line,
			    lim->max_interchanges);
			goto fail;
		}
		if ((ic = calloc(1, sizeof(*ic))) == NULL) {
			spool_seterr(err, "out of memory");
			goto fail;
		}
		*tail = ic;
		tail = &ic->next;
		ic->syntax = syn;
		ic->start = lx.pos;
		if ((syn == EDI_EDIFACT ? edi_edifact_read(&lx, ic, err) :
		    edi_x12_read(&lx, ic, err)) == -1)
			goto fail;
		ic->end = lx.pos;
		skip_between(&lx);
	}
	if (lx.cdset != NULL)
		iconv_close(lx.cd);
	*out = head;
	return 0;
fail:
	if (lx.cdset != NULL)
		iconv_close(lx.cd);
	edi_free(head);
	return -1;
}

int
edi_split(const char *buf, size_t len, const struct edi_limits *lim,
    struct edi_part **out, size_t *nout)
{
	return edi_split_read(buf, len, lim, out, nout, NULL);
}

int
edi_split_read(const char *buf, size_t len, const struct edi_limits *lim,
    struct edi_part **out, size_t *nout, struct edi_interchange **ics)
{
	struct edi_interchange *ic, *head = NULL, **tail = &head;
	struct edi_part *parts = NULL, *np;
	struct spool_error perr;
	struct edi_lex lx;
	enum edi_syntax first;
	size_t n = 0, cap = 0;
	int ok;

	*out = NULL;
	*nout = 0;
	if (ics != NULL)
		*ics = NULL;
	if ((first = lex_start(&lx, buf, len, lim)) == EDI_NONE)
		return 0;
	while (lx.pos < len) {
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((np = reallocarray(parts, cap, sizeof(*np))) ==
			    NULL)
				goto nomem;
			parts = np;
		}
		parts[n].start = lx.pos;
		parts[n].end = len;
		parts[n].broken = 1;
		n++;
		/* Not an interchange of the file's syntax, or one too many:
		 * the rest is one part, which edi_read() refuses. */
		if (detect_at(buf + lx.pos, len - lx.pos) != first ||
		    n > lim->max_interchanges)
			break;
		if ((ic = calloc(1, sizeof(*ic))) == NULL)
			goto nomem;
		ic->syntax = first;
		ic->start = lx.pos;
		spool_clearerr(&perr);
		ok = (first == EDI_EDIFACT ? edi_edifact_read(&lx, ic, &perr) :
		    edi_x12_read(&lx, ic, &perr)) == 0;
		if (!ok || ics == NULL)
			free_one(ic);
		if (!ok)
			break;	/* where it ends cannot be trusted */
		if (ics != NULL) {
			/* Kept as edi_read() would give it. */
			ic->end = lx.pos;
			*tail = ic;
			tail = &ic->next;
		}
		parts[n - 1].end = lx.pos;
		parts[n - 1].broken = 0;
		skip_between(&lx);
	}
	if (lx.cdset != NULL)
		iconv_close(lx.cd);
	*out = parts;
	*nout = n;
	if (ics != NULL)
		*ics = head;
	return 0;
nomem:
	if (lx.cdset != NULL)
		iconv_close(lx.cd);
	edi_free(head);
	free(parts);
	return -1;
}
