/*
 * stamp.c - stamping our control numbers into outbound interchanges.
 *
 * The program's bytes are read by edi_read() first: what does not
 * tokenize, or holds a message whose own trailer is wrong, is refused
 * with that reason, so a partner never gets an envelope spoold would
 * itself reject. Then each header and its trailer get the same number
 * of ours, in the form the field takes (ctl_format(): ISA13 and IEA02
 * nine digits, the others without leading zeros), and every other byte
 * is copied as it was. Only the value of one element changes; where it
 * lies is found in the raw bytes of the segment, counting element
 * separators and stepping over released characters.
 *
 * Crash safety is the caller's: the numbers come from take (for the
 * daemon, store counters in the transaction that records the outbound
 * message, written after COMMIT as DESIGN 8 says), so a crash leaves
 * either no number taken and nothing recorded, or both.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edi_int.h"
#include "stamp.h"

struct patch {
	size_t	 a, b;		/* bytes of the old value */
	char	 v[24];		/* the new one */
};

struct patches {
	struct patch	*p;
	size_t		 n, cap;
};

/*
 * The bytes of element e, component 1, of the segment [start, end):
 * *a..*b. isa: the ISA, whose ISA11 and ISA16 are data, not separators.
 */
static int
elem_span(const struct edi_interchange *ic, const char *buf, size_t start,
    size_t end, unsigned e, int isa, size_t *a, size_t *b)
{
	size_t p = start;
	unsigned cur = 0;
	int c;

	while (p < end && cur < e) {
		c = (unsigned char)buf[p];
		if (ic->release != -1 && c == ic->release) {
			p += 2;
			continue;
		}
		if (c == ic->seg)
			return -1;
		if (c == ic->elem)
			cur++;
		p++;
	}
	if (cur != e)
		return -1;
	*a = p;
	while (p < end) {
		c = (unsigned char)buf[p];
		if (ic->release != -1 && c == ic->release) {
			p += 2;
			continue;
		}
		if (c == ic->elem || c == ic->seg ||
		    (!isa && (c == ic->comp || (ic->rep != -1 &&
		    c == ic->rep))))
			break;
		p++;
	}
	*b = p > end ? end : p;
	return 0;
}

static int
add(struct patches *ps, const struct edi_interchange *ic, const char *buf,
    size_t start, size_t end, unsigned e, int isa, enum ctl_level lvl,
    uint64_t num, struct spool_error *err)
{
	struct patch *p;
	size_t cap;

	if (ps->n == ps->cap) {
		cap = ps->cap ? ps->cap * 2 : 8;
		if ((p = reallocarray(ps->p, cap, sizeof(*p))) == NULL) {
			spool_seterr(err, "out of memory");
			return -1;
		}
		ps->p = p;
		ps->cap = cap;
	}
	p = &ps->p[ps->n];
	if (elem_span(ic, buf, start, end, e, isa, &p->a, &p->b) == -1) {
		spool_seterr(err, "outbound: no element %u in the segment at "
		    "byte %zu", e, start);
		return -1;
	}
	if (ctl_format(ic->syntax, lvl, num, p->v, sizeof(p->v)) == -1) {
		spool_seterr(err, "outbound: control number %llu does not fit "
		    "its field", (unsigned long long)num);
		return -1;
	}
	ps->n++;
	return 0;
}

static int
stamp_one(const struct edi_interchange *ic, const char *buf,
    const struct edi_limits *lim, stamp_take_fn take, void *arg,
    struct patches *ps, struct spool_error *err)
{
	int x12 = ic->syntax == EDI_X12, x, rc = -1;
	uint64_t icn, gn = 0;
	size_t g = 0;
	struct edi_lex lx;
	struct edi_seg s;

	memset(&s, 0, sizeof(s));
	if (take(arg, ic, CTL_INTERCHANGE, &icn, err) == -1)
		return -1;
	if (add(ps, ic, buf, ic->hdr_start, ic->hdr_end, x12 ? 13 : 5, x12,
	    CTL_INTERCHANGE, icn, err) == -1)
		return -1;
	memset(&lx, 0, sizeof(lx));
	lx.buf = buf;
	lx.pos = ic->hdr_end;
	lx.len = ic->end;
	lx.line = 1;
	lx.lim = lim;
	lx.elem = ic->elem;
	lx.seg = ic->seg;
	lx.comp = ic->comp;
	lx.rep = ic->rep;
	lx.release = ic->release;
	while ((x = edi_lex_next(&lx, &s, err)) == 1) {
		if (strcmp(s.tag, x12 ? "GS" : "UNG") == 0) {
			if (g >= ic->ngroups || take(arg, ic, CTL_GROUP, &gn,
			    err) == -1)
				goto out;
			g++;
			if (add(ps, ic, buf, s.start, s.end, x12 ? 6 : 5, 0,
			    CTL_GROUP, gn, err) == -1)
				goto out;
		} else if (strcmp(s.tag, x12 ? "GE" : "UNE") == 0) {
			if (add(ps, ic, buf, s.start, s.end, 2, 0, CTL_GROUP,
			    gn, err) == -1)
				goto out;
		} else if (strcmp(s.tag, x12 ? "IEA" : "UNZ") == 0) {
			if (add(ps, ic, buf, s.start, s.end, 2, 0,
			    CTL_INTERCHANGE, icn, err) == -1)
				goto out;
		}
	}
	if (x == 0)
		rc = 0;
out:
	edi_seg_free(&s);
	return rc;
}

int
stamp_envelopes(const char *buf, size_t len, const struct edi_limits *lim,
    stamp_take_fn take, void *arg, char **out, size_t *outlen,
    struct spool_error *err)
{
	struct edi_interchange *head = NULL, *ic;
	struct patches ps;
	struct spool_error rerr;
	size_t i, pos, o, n, vl;
	char *res = NULL;
	int rc = -1;

	*out = NULL;
	*outlen = 0;
	memset(&ps, 0, sizeof(ps));
	spool_clearerr(&rerr);
	if (edi_read(buf, len, lim, &head, &rerr) == -1) {
		spool_seterr(err, "outbound EDI refused, it does not "
		    "tokenize: %s", rerr.msg);
		return -1;
	}
	for (ic = head; ic != NULL; ic = ic->next)
		for (i = 0; i < ic->nmsgs; i++)
			if (ic->msgs[i].reason != NULL) {
				spool_seterr(err, "outbound EDI refused: "
				    "message %.35s: %s", ic->msgs[i].ref,
				    ic->msgs[i].reason);
				goto out;
			}
	for (ic = head; ic != NULL; ic = ic->next)
		if (stamp_one(ic, buf, lim, take, arg, &ps, err) == -1)
			goto out;
	n = len;
	for (i = 0; i < ps.n; i++)
		n += strlen(ps.p[i].v);
	if ((res = malloc(n + 1)) == NULL) {
		spool_seterr(err, "out of memory");
		goto out;
	}
	for (pos = 0, o = 0, i = 0; i < ps.n; i++) {
		memcpy(res + o, buf + pos, ps.p[i].a - pos);
		o += ps.p[i].a - pos;
		vl = strlen(ps.p[i].v);
		memcpy(res + o, ps.p[i].v, vl);
		o += vl;
		pos = ps.p[i].b;
	}
	memcpy(res + o, buf + pos, len - pos);
	o += len - pos;
	res[o] = '\0';
	*out = res;
	*outlen = o;
	res = NULL;
	rc = 0;
out:
	free(res);
	free(ps.p);
	edi_free(head);
	return rc;
}

int
stamp_take_store(void *arg, const struct edi_interchange *ic,
    enum ctl_level lvl, uint64_t *num, struct spool_error *err)
{
	struct stamp_store *ss = arg;
	struct ctl_key k;
	char pair[256];

	memset(&k, 0, sizeof(k));
	k.partner = ss->partner;
	k.syntax = ic->syntax;
	k.level = lvl;
	if (ss->per_pair) {
		snprintf(pair, sizeof(pair), "%.60s:%.60s>%.60s:%.60s",
		    ic->sender_qual, ic->sender, ic->recipient_qual,
		    ic->recipient);
		k.pair = pair;
	}
	return store_control_take(ss->store, &k, 1, num, err);
}
