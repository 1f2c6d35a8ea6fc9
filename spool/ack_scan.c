/*
 * ack_scan.c - reading a refused interchange leniently, to acknowledge
 * the refusal: the envelope's fields and the fault, as an ack_reason.
 *
 * edi_read() stops at the first envelope error and keeps nothing; an
 * acknowledgment needs the sender, the control number, the separators
 * and, for a group's fault, the group. So this reads on past faults:
 * the first fault at the interchange's own level wins (a UNZ/IEA count
 * or reference, a missing trailer, a segment out of place, a byte the
 * character set lacks), else the first of a group (UNE/GE count or
 * reference, a group without its trailer); a message whose UNT/SE
 * disagrees gets its reason as edi_read() gives it. The lexer and its
 * bounds are the tokenizer's (edi_int.h); when the lexer itself gives
 * up, the interchange is refused as unreadable (ACK_ENV_LIMIT) with
 * what was read so far.
 *
 * ack_due() decides, before any of that, whether a sound file needs
 * reading for acknowledgments at all: a pass over the bytes that finds
 * each segment's end (honouring the release character) and looks only
 * at UNB 0031, UNH 0065, ISA14, ST01 and TA1 tags. It errs towards
 * "maybe": a value ends at any byte that could end it, and anything it
 * does not follow (a header out of place, an ISA not fixed-width) makes
 * both answers 1.
 *
 * Nothing here touches a file or the store: no crash-safety concern.
 */
#include "config.h"

#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ack_scan.h"
#include "edi_int.h"


struct scan {
	struct edi_interchange	*ic;
	enum ack_reason		 env, grp;
	int			 group;
};

static void
fault(struct scan *sc, enum ack_reason r, int group)
{
	if (ack_code(r)->level == ACK_LVL_INTERCHANGE) {
		if (sc->env == ACK_OK)
			sc->env = r;
	} else if (sc->grp == ACK_OK) {
		sc->grp = r;
		sc->group = group;
	}
}

static char *
trimdup(const char *v, size_t n, struct spool_error *err)
{
	char *p;

	while (n > 0 && v[n - 1] == ' ')
		n--;
	if ((p = strndup(v, n)) == NULL)
		spool_seterr(err, "out of memory");
	return p;
}

#define DUPV(dst, s, e, c) do {						\
	if (((dst) = edi_seg_dup((s), (e), (c), err)) == NULL)		\
		return -1;						\
} while (0)

/* A letter, digit or blank cannot separate; nor, in what we write back,
   a byte outside ASCII, which a multi-byte set (UNOW, UNOY) does not
   allow alone. */
static int
sep_bad(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' ||
	    c >= 0x80;
}

/* The checks of edi_edifact.c's read_una(). */
static int
una_bad(const struct edi_interchange *ic)
{
	int c[4], i, j;

	c[0] = ic->comp;
	c[1] = ic->elem;
	c[2] = ic->seg;
	c[3] = ic->release;
	for (i = 0; i < 4; i++) {
		if (c[i] == -1)
			continue;
		if (sep_bad(c[i]))
			return 1;
		for (j = i + 1; j < 4; j++)
			if (c[i] == c[j] || c[i] == ic->rep)
				return 1;
	}
	if (ic->rep != -1 && sep_bad(ic->rep))
		return 1;
	return ic->decimal != '.' && ic->decimal != ',';
}

/* The bytes of a header against its character set: values written
   back in an acknowledgment must be ones the partner may send. */
static int
header_bytes(struct edi_interchange *ic, struct edi_lex *lx, size_t start,
    size_t end, const char *tag, struct spool_error *err)
{
	struct spool_error lerr;
	struct edi_seg s;

	memset(&s, 0, sizeof(s));
	s.start = start;
	s.end = end;
	s.line = 1;
	snprintf(s.tag, sizeof(s.tag), "%s", tag);
	spool_clearerr(&lerr);
	if (edi_check_bytes(ic, lx, &s, &lerr) == -1) {
		spool_seterr(err, "%s: %s: nothing to acknowledge", tag,
		    lerr.msg);
		return -1;
	}
	return 0;
}

/* EDIFACT: UNA (or the defaults) and UNB. */
static int
edifact_header(struct edi_lex *lx, struct edi_interchange *ic,
    struct scan *sc, struct spool_error *err)
{
	const unsigned char *u = (const unsigned char *)lx->buf + lx->pos;
	struct edi_seg s;
	long long v;
	int rc = -1;

	memset(&s, 0, sizeof(s));
	ic->comp = ':';
	ic->elem = '+';
	ic->seg = '\'';
	ic->release = '?';
	ic->rep = -1;
	ic->decimal = '.';
	if (lx->len - lx->pos >= 9 && memcmp(u, "UNA", 3) == 0) {
		ic->una = 1;
		ic->comp = u[3];
		ic->elem = u[4];
		ic->decimal = u[5];
		ic->release = u[6] == ' ' ? -1 : u[6];
		ic->rep = u[7] == ' ' ? -1 : u[7];
		ic->seg = u[8];
		if (una_bad(ic)) {
			spool_seterr(err, "UNA declares separators spoold "
			    "cannot use: nothing to acknowledge");
			return -1;
		}
		lx->pos += 9;
	} else if (lx->len - lx->pos > 3 && u[3] == 0x1d) {
		ic->comp = 0x1f;
		ic->elem = 0x1d;
		ic->seg = 0x1c;
		ic->release = -1;
	}
	lx->comp = ic->comp;
	lx->elem = ic->elem;
	lx->seg = ic->seg;
	lx->release = ic->release;
	lx->rep = -1;
	if (edi_lex_next(lx, &s, err) != 1 || strcmp(s.tag, "UNB") != 0) {
		if (err->msg[0] == '\0')
			spool_seterr(err, "no UNB to acknowledge");
		goto out;
	}
	ic->hdr_start = s.start;
	ic->hdr_end = s.end;
	if ((ic->syntax_id = edi_seg_dup(&s, 1, 1, err)) == NULL ||
	    (ic->syntax_version = edi_seg_dup(&s, 1, 2, err)) == NULL ||
	    (ic->sender = edi_seg_dup(&s, 2, 1, err)) == NULL ||
	    (ic->sender_qual = edi_seg_dup(&s, 2, 2, err)) == NULL ||
	    (ic->recipient = edi_seg_dup(&s, 3, 1, err)) == NULL ||
	    (ic->recipient_qual = edi_seg_dup(&s, 3, 2, err)) == NULL ||
	    (ic->date = edi_seg_dup(&s, 4, 1, err)) == NULL ||
	    (ic->time = edi_seg_dup(&s, 4, 2, err)) == NULL ||
	    (ic->control = edi_seg_dup(&s, 5, 1, err)) == NULL)
		goto out;
	ic->ack = strcmp(edi_seg_val(&s, 9, 1), "1") == 0;
	ic->test = strcmp(edi_seg_val(&s, 11, 1), "1") == 0;
	if (ic->sender[0] == '\0' || ic->control[0] == '\0') {
		spool_seterr(err, "line %zu: UNB lacks the sender or the "
		    "control reference: nothing to acknowledge", s.line);
		goto out;
	}
	if ((ic->charset = edi_charset_of(ic->syntax_id)) == NULL)
		ic->charset = "ASCII";
	if (ic->recipient[0] == '\0')
		fault(sc, ACK_ENV_STRUCTURE, -1);
	if (edi_number(ic->syntax_version, &v) == -1 || v < 1 || v > 4)
		fault(sc, ACK_ENV_VERSION, -1);
	else if (edi_charset_of(ic->syntax_id) == NULL)
		fault(sc, ACK_ENV_CHARSET, -1);
	if (!ic->una && v == 4 && ic->elem == '+')
		ic->rep = '*';
	lx->rep = ic->rep;
	if (header_bytes(ic, lx, s.start, s.end, "UNB", err) == -1)
		goto out;
	rc = 0;
out:
	edi_seg_free(&s);
	return rc;
}

static int
isa_fields(const char *u, struct edi_interchange *ic, struct spool_error *err)
{
	const char *f[17];
	size_t n[17];
	int i;

	for (i = 1; i <= 16; i++) {
		f[i] = u + edi_isa_sep[i - 1] + 1;
		n[i] = (i < 16 ? edi_isa_sep[i] : 105) - edi_isa_sep[i - 1] -
		    1;
	}
	if ((ic->sender_qual = trimdup(f[5], n[5], err)) == NULL ||
	    (ic->sender = trimdup(f[6], n[6], err)) == NULL ||
	    (ic->recipient_qual = trimdup(f[7], n[7], err)) == NULL ||
	    (ic->recipient = trimdup(f[8], n[8], err)) == NULL ||
	    (ic->date = trimdup(f[9], n[9], err)) == NULL ||
	    (ic->time = trimdup(f[10], n[10], err)) == NULL ||
	    (ic->syntax_version = trimdup(f[12], n[12], err)) == NULL ||
	    (ic->syntax_id = trimdup(f[12], n[12], err)) == NULL ||
	    (ic->control = trimdup(f[13], n[13], err)) == NULL)
		return -1;
	ic->ack = n[14] == 1 && f[14][0] == '1';
	ic->test = n[15] == 1 && f[15][0] == 'T';
	return 0;
}

/* X12: the fixed-width ISA. */
static int
x12_header(struct edi_lex *lx, struct edi_interchange *ic, struct scan *sc,
    struct spool_error *err)
{
	const char *u = lx->buf + lx->pos;
	long long v;
	int i, r;

	if (lx->len - lx->pos < 106) {
		spool_seterr(err, "ISA cut short: nothing to acknowledge");
		return -1;
	}
	ic->elem = (unsigned char)u[3];
	ic->comp = (unsigned char)u[104];
	ic->seg = (unsigned char)u[105];
	for (i = 1; i < 16; i++)
		if ((unsigned char)u[edi_isa_sep[i]] != ic->elem) {
			spool_seterr(err, "ISA is not fixed-width: nothing to "
			    "acknowledge");
			return -1;
		}
	r = (unsigned char)u[82];
	ic->rep = (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') ||
	    (r >= '0' && r <= '9') || r == ' ' ? -1 : r;
	if (ic->elem == ic->comp || ic->elem == ic->seg ||
	    ic->comp == ic->seg || ic->rep == ic->elem ||
	    ic->rep == ic->comp || ic->rep == ic->seg ||
	    sep_bad(ic->elem) || sep_bad(ic->comp) || sep_bad(ic->seg)) {
		spool_seterr(err, "ISA uses one byte for two separators, "
		    "or a letter, digit or blank for one: nothing to "
		    "acknowledge");
		return -1;
	}
	ic->release = -1;
	ic->decimal = '.';
	ic->charset = "UTF-8";
	ic->hdr_start = lx->pos;
	ic->hdr_end = lx->pos + 106;
	if (isa_fields(u, ic, err) == -1)
		return -1;
	if (ic->sender[0] == '\0' || edi_number(ic->control, &v) == -1) {
		spool_seterr(err, "ISA lacks the sender or a numeric control "
		    "number: nothing to acknowledge");
		return -1;
	}
	if (ic->recipient[0] == '\0')
		fault(sc, ACK_ENV_STRUCTURE, -1);
	if (header_bytes(ic, lx, lx->pos, lx->pos + 106, "ISA", err) == -1)
		return -1;
	lx->pos += 106;
	lx->elem = ic->elem;
	lx->seg = ic->seg;
	lx->comp = ic->comp;
	lx->rep = ic->rep;
	lx->release = -1;
	return 0;
}

/* A number in element e of s against want (X12 N0, EDIFACT counts). */
static int
num_eq(const struct edi_seg *s, unsigned e, unsigned long long want)
{
	long long v;

	return edi_number(edi_seg_val(s, e, 1), &v) == 0 &&
	    (unsigned long long)v == want;
}

/* Control numbers: X12 as numbers, EDIFACT as strings. */
static int
ref_eq(const struct edi_interchange *ic, const char *a, const char *b)
{
	long long x, y;

	if (ic->syntax == EDI_X12)
		return edi_number(a, &x) == 0 && edi_number(b, &y) == 0 &&
		    x == y;
	return strcmp(a, b) == 0;
}

/* UNH S009 0052:0054:0051[:0057], as edi_edifact.c writes it. */
static const char *
unh_version(const struct edi_seg *s, char *buf, size_t size)
{
	snprintf(buf, size, "%.20s:%.20s:%.20s%s%.20s", edi_seg_val(s, 2, 2),
	    edi_seg_val(s, 2, 3), edi_seg_val(s, 2, 4),
	    edi_seg_val(s, 2, 5)[0] ? ":" : "", edi_seg_val(s, 2, 5));
	return buf;
}

static int
read_body(struct edi_lex *lx, struct scan *sc, struct spool_error *err)
{
	struct edi_interchange *ic = sc->ic;
	int x12 = ic->syntax == EDI_X12, r, rc = -1;
	const char *th = x12 ? "ST" : "UNH", *tt = x12 ? "SE" : "UNT";
	const char *gh = x12 ? "GS" : "UNG", *gt = x12 ? "GE" : "UNE";
	const char *ih = x12 ? "ISA" : "UNB", *it = x12 ? "IEA" : "UNZ";
	struct edi_message *m = NULL;
	struct edi_group *g = NULL;
	size_t ingroup = 0, top = 0;
	struct spool_error lerr;
	struct edi_seg s;
	char ver[128];
	long long v;

	memset(&s, 0, sizeof(s));
	for (;;) {
		spool_clearerr(&lerr);
		if ((r = edi_lex_next(lx, &s, &lerr)) == -1) {
			fault(sc, ACK_ENV_LIMIT, -1);
			break;
		}
		if (r == 0) {
			if (m != NULL)
				fault(sc, ACK_ENV_STRUCTURE, -1);
			else if (g != NULL)
				fault(sc, ACK_GROUP_TRAILER,
				    (int)(g - ic->groups));
			fault(sc, ACK_ENV_TRAILER, -1);
			break;
		}
		if (edi_check_bytes(ic, lx, &s, &lerr) == -1)
			fault(sc, ACK_ENV_CHARS, -1);
		if (m != NULL) {
			int head = strcmp(s.tag, th) == 0 ||
			    strcmp(s.tag, gh) == 0 || strcmp(s.tag, gt) == 0 ||
			    strcmp(s.tag, ih) == 0 || strcmp(s.tag, it) == 0;

			if (!head) {
				m->segments++;
				if (strcmp(s.tag, tt) != 0)
					continue;
				m->end = s.end;
				if (!num_eq(&s, 1, m->segments)) {
					if (edi_msg_reject(m, err, "line %zu: "
					    "%s segment count does not match",
					    s.line, tt) == -1)
						goto out;
				} else if (strcmp(edi_seg_val(&s, 2, 1),
				    m->ref) != 0 && edi_msg_reject(m, err,
				    "line %zu: %s reference does not match",
				    s.line, tt) == -1)
					goto out;
				m = NULL;
				continue;
			}
			/* A message without its trailer. */
			m->end = s.start;
			if (edi_msg_reject(m, err, "line %zu: message trailer "
			    "missing: no %s before %s", s.line, tt,
			    s.tag) == -1)
				goto out;
			fault(sc, ACK_ENV_STRUCTURE, -1);
			m = NULL;
		}
		if (strcmp(s.tag, th) == 0) {
			if (x12 && g == NULL)
				fault(sc, ACK_ENV_STRUCTURE, -1);
			if (!x12 && ic->ngroups > 0 && g == NULL)
				fault(sc, ACK_ENV_STRUCTURE, -1);
			if ((m = edi_add_message(ic, lx, &lerr)) == NULL) {
				/* Over the limit, or out of memory. */
				fault(sc, ACK_ENV_LIMIT, -1);
				break;
			}
			m->group = g ? (int)(g - ic->groups) : -1;
			m->start = s.start;
			m->line = s.line;
			m->segments = 1;
			if ((m->ref = edi_seg_dup(&s, x12 ? 2 : 1, 1,
			    err)) == NULL || (m->type = edi_seg_dup(&s,
			    x12 ? 1 : 2, 1, err)) == NULL ||
			    (m->version = strdup(x12 ? (edi_seg_val(&s, 3,
			    1)[0] ? edi_seg_val(&s, 3, 1) : g ? g->version :
			    "") : unh_version(&s, ver, sizeof(ver)))) == NULL)
				goto oom;
			/* edi_read() refuses the interchange for these. */
			if (m->ref[0] == '\0' || m->type[0] == '\0')
				fault(sc, ACK_ENV_STRUCTURE, -1);
			if (g != NULL)
				ingroup++;
			else
				top++;
		} else if (strcmp(s.tag, gh) == 0) {
			if (g != NULL) {
				fault(sc, ACK_GROUP_TRAILER,
				    (int)(g - ic->groups));
				g->messages = ingroup;
			}
			if (top > 0)
				fault(sc, ACK_ENV_STRUCTURE, -1);
			if ((g = edi_add_group(ic, &lerr)) == NULL) {
				fault(sc, ACK_ENV_LIMIT, -1);
				break;
			}
			g->hdr_start = s.start;
			g->hdr_end = s.end;
			if ((g->id = edi_seg_dup(&s, 1, 1, err)) == NULL ||
			    (g->sender = edi_seg_dup(&s, 2, 1, err)) == NULL ||
			    (g->recipient = edi_seg_dup(&s, 3, 1,
			    err)) == NULL ||
			    (g->date = edi_seg_dup(&s, 4, 1, err)) == NULL ||
			    (g->time = edi_seg_dup(&s, x12 ? 5 : 4,
			    x12 ? 1 : 2, err)) == NULL ||
			    (g->control = edi_seg_dup(&s, x12 ? 6 : 5, 1,
			    err)) == NULL ||
			    (g->agency = edi_seg_dup(&s, x12 ? 7 : 6, 1,
			    err)) == NULL ||
			    (g->version = edi_seg_dup(&s, x12 ? 8 : 7, 1,
			    err)) == NULL)
				goto out;
			if (g->control[0] == '\0' || (x12 &&
			    edi_number(g->control, &v) == -1))
				fault(sc, ACK_ENV_STRUCTURE, -1);
			ingroup = 0;
		} else if (strcmp(s.tag, gt) == 0 && g != NULL) {
			if (!num_eq(&s, 1, ingroup))
				fault(sc, ACK_GROUP_COUNT,
				    (int)(g - ic->groups));
			else if (!ref_eq(ic, edi_seg_val(&s, 2, 1),
			    g->control))
				fault(sc, ACK_GROUP_REF,
				    (int)(g - ic->groups));
			g->messages = ingroup;
			g = NULL;
		} else if (strcmp(s.tag, it) == 0) {
			if (g != NULL) {
				fault(sc, ACK_GROUP_TRAILER,
				    (int)(g - ic->groups));
				g->messages = ingroup;
				g = NULL;
			}
			if (!num_eq(&s, 1, ic->ngroups ? ic->ngroups : top))
				fault(sc, ACK_ENV_COUNT, -1);
			else if (!ref_eq(ic, edi_seg_val(&s, 2, 1),
			    ic->control))
				fault(sc, ACK_ENV_REF, -1);
			break;
		} else if (!(x12 && strcmp(s.tag, "TA1") == 0 && g == NULL))
			fault(sc, ACK_ENV_STRUCTURE, -1);
	}
	if (g != NULL)
		g->messages = ingroup;
	rc = 0;
	goto out;
oom:
	spool_seterr(err, "out of memory");
out:
	edi_seg_free(&s);
	return rc;
}

void
ack_scan_free(struct ack_scan *a)
{
	struct ack_scan *next;

	for (; a != NULL; a = next) {
		next = a->next;
		edi_free(a->ic);
		free(a);
	}
}

int
ack_scan(const char *buf, size_t len, const struct edi_limits *lim,
    struct ack_scan **out, struct spool_error *err)
{
	struct ack_scan *head = NULL, **tail = &head, *a;
	struct edi_lex lx;
	struct scan sc;
	enum edi_syntax syn;
	size_t n = 0;
	int rc = -1;

	*out = NULL;
	memset(&lx, 0, sizeof(lx));
	lx.buf = buf;
	lx.len = len;
	lx.lim = lim;
	lx.line = 1;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		lx.pos = 3;
	for (;;) {
		while (lx.pos < len && strchr(" \t\r\n\032", buf[lx.pos]) !=
		    NULL && buf[lx.pos] != '\0')
			lx.pos++;
		if (lx.pos >= len || len - lx.pos < 3)
			break;
		if (memcmp(buf + lx.pos, "UNA", 3) == 0 ||
		    memcmp(buf + lx.pos, "UNB", 3) == 0)
			syn = EDI_EDIFACT;
		else if (memcmp(buf + lx.pos, "ISA", 3) == 0)
			syn = EDI_X12;
		else
			break;
		if (++n > lim->max_interchanges)
			break;
		if ((a = calloc(1, sizeof(*a))) == NULL ||
		    (a->ic = calloc(1, sizeof(*a->ic))) == NULL) {
			free(a);
			spool_seterr(err, "out of memory");
			goto out;
		}
		*tail = a;
		tail = &a->next;
		memset(&sc, 0, sizeof(sc));
		sc.ic = a->ic;
		sc.group = -1;
		a->ic->syntax = syn;
		a->ic->start = lx.pos;
		if ((syn == EDI_EDIFACT ? edifact_header(&lx, a->ic, &sc,
		    err) : x12_header(&lx, a->ic, &sc, err)) == -1) {
			if (head == a)
				goto out;
			/* A later interchange without a header: keep what
			   is acknowledgeable. */
			*tail = NULL;
			for (tail = &head; *tail != a; tail = &(*tail)->next)
				;
			*tail = NULL;
			ack_scan_free(a);
			break;
		}
		if (read_body(&lx, &sc, err) == -1)
			goto out;
		a->ic->end = lx.pos;
		a->envelope = sc.env != ACK_OK ? sc.env : sc.grp;
		a->group = sc.env != ACK_OK ? -1 : sc.group;
		if (sc.env == ACK_ENV_LIMIT || sc.env == ACK_ENV_TRAILER)
			break;
	}
	if (head == NULL) {
		spool_seterr(err, "no UNB or ISA header: nothing to "
		    "acknowledge");
		goto out;
	}
	*out = head;
	head = NULL;
	rc = 0;
out:
	if (lx.cdset != NULL)
		iconv_close(lx.cd);
	ack_scan_free(head);
	return rc;
}

/* The separators ack_due() follows; term: the bytes that end a value. */
struct due {
	const char	*buf;
	size_t		 len, pos;
	int		 seg, release;
	unsigned char	 term[256];
};

/* The end of the segment at d->pos: one past its terminator. */
static size_t
due_seg_end(const struct due *d)
{
	const char *p;
	size_t i;

	if (d->release == -1) {
		p = memchr(d->buf + d->pos, d->seg, d->len - d->pos);
		return p == NULL ? d->len : (size_t)(p - d->buf) + 1;
	}
	for (i = d->pos; i < d->len; i++) {
		if ((unsigned char)d->buf[i] == d->release)
			i++;
		else if ((unsigned char)d->buf[i] == d->seg)
			return i + 1;
	}
	return d->len;
}

/*
 * Whether element e (1 is the first after the tag), first component,
 * of the segment [start, end) may be want (release characters taken
 * out); with want NULL, whether it may be other than empty or "0".
 */
static int
due_val(const struct due *d, size_t start, size_t end, unsigned e,
    const char *want)
{
	char v[8];
	size_t i, n = 0;
	unsigned at = 0;
	int c;

	for (i = start; i < end && at < e; i++) {
		c = (unsigned char)d->buf[i];
		if (c == d->release)
			i++;
		else if (c == d->seg)
			break;
		else if (d->term[c] == 2)
			at++;
	}
	if (at < e)
		return 0;	/* absent: empty */
	for (; i < end; i++) {
		c = (unsigned char)d->buf[i];
		if (c == d->release && i + 1 < end)
			c = (unsigned char)d->buf[++i];
		else if (d->term[c])
			break;
		if (n == sizeof(v) - 1)	/* longer than any want */
			return want == NULL;
		v[n++] = (char)c;
	}
	v[n] = '\0';
	if (want == NULL)
		return n > 0 && strcmp(v, "0") != 0;
	return strcmp(v, want) == 0;
}

/* The segments of one interchange from d->pos, to its UNZ or IEA. */
static void
due_body(struct due *d, const char *trailer, int *asks, int *holds)
{
	size_t end;
	const char *t;

	for (;;) {
		while (d->pos < d->len && (d->buf[d->pos] == '\r' ||
		    d->buf[d->pos] == '\n'))
			d->pos++;
		if (d->pos >= d->len)
			return;
		end = due_seg_end(d);
		t = d->buf + d->pos;
		if (end - d->pos > 3 && d->term[(unsigned char)t[3]] &&
		    memcmp(t, "UNB", 3) == 0)
			*asks |= due_val(d, d->pos, end, 9, NULL);
		else if (end - d->pos > 3 && d->term[(unsigned char)t[3]] &&
		    memcmp(t, "UNH", 3) == 0)
			*holds |= due_val(d, d->pos, end, 2, "CONTRL");
		else if (end - d->pos > 2 && d->term[(unsigned char)t[2]] &&
		    memcmp(t, "ST", 2) == 0)
			*holds |= due_val(d, d->pos, end, 1, "997") ||
			    due_val(d, d->pos, end, 1, "999");
		else if (end - d->pos >= 3 && memcmp(t, "TA1", 3) == 0)
			*holds = 1;
		d->pos = end;
		if ((size_t)(t - d->buf) + 3 <= d->len &&
		    memcmp(t, trailer, 3) == 0 &&
		    (end - (size_t)(t - d->buf) == 3 ||
		    d->term[(unsigned char)t[3]]))
			return;
	}
}

/* c ends a value (how 2: and starts the next element); a letter, digit
   or blank never does (the tokenizer refuses it as a separator, and ISA11
   is then a value). */
static void
due_sep(struct due *d, int c, int how)
{
	if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == ' '))
		d->term[c & 0xff] = (unsigned char)how;
}

void
ack_due(const char *buf, size_t len, int *asks, int *holds)
{
	struct due d;
	const unsigned char *u;
	int i;

	*asks = *holds = 0;
	memset(&d, 0, sizeof(d));
	d.buf = buf;
	d.len = len;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		d.pos = 3;
	for (;;) {
		while (d.pos < len && strchr(" \t\r\n\032", buf[d.pos]) !=
		    NULL && buf[d.pos] != '\0')
			d.pos++;
		if (d.pos >= len)
			return;
		u = (const unsigned char *)buf + d.pos;
		memset(d.term, 0, sizeof(d.term));
		d.term['\r'] = d.term['\n'] = 1;
		if (len - d.pos >= 3 && (memcmp(u, "UNA", 3) == 0 ||
		    memcmp(u, "UNB", 3) == 0)) {
			d.seg = '\'';
			d.release = '?';
			d.term[':'] = 1;
			d.term['+'] = 2;
			d.term['*'] = 1;	/* syntax 4 repetition */
			if (memcmp(u, "UNA", 3) == 0) {
				if (len - d.pos < 9)
					goto maybe;
				memset(d.term, 0, sizeof(d.term));
				d.term['\r'] = d.term['\n'] = 1;
				due_sep(&d, u[3], 1);
				due_sep(&d, u[7], 1);
				d.release = u[6] == ' ' ? -1 : u[6];
				d.seg = u[8];
				due_sep(&d, u[4], 2);
				d.pos += 9;
			} else if (len - d.pos > 3 && u[3] == 0x1d) {
				memset(d.term, 0, sizeof(d.term));
				d.term['\r'] = d.term['\n'] = 1;
				d.term[0x1f] = 1;
				d.term[0x1d] = 2;
				d.seg = 0x1c;
				d.release = -1;
			}
			if (d.release != -1 && d.term[d.release] != 0)
				goto maybe;
			due_sep(&d, d.seg, 1);
			due_body(&d, "UNZ", asks, holds);
		} else if (len - d.pos >= 106 && memcmp(u, "ISA", 3) == 0) {
			for (i = 1; i < 16; i++)
				if (u[edi_isa_sep[i]] != u[3])
					goto maybe;
			if (edi_isa_sep[14] - edi_isa_sep[13] != 2 ||
			    u[edi_isa_sep[13] + 1] != '0')
				*asks = 1;
			d.seg = u[105];
			d.release = -1;
			due_sep(&d, u[104], 1);
			due_sep(&d, u[82], 1);	/* ISA11, if a separator */
			due_sep(&d, u[3], 2);
			due_sep(&d, d.seg, 1);
			d.pos += 106;
			due_body(&d, "IEA", asks, holds);
		} else
			goto maybe;
	}
maybe:
	*asks = *holds = 1;
}
