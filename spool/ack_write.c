/*
 * ack_write.c - the writers of the acknowledgments we send (DESIGN 16):
 * EDIFACT CONTRL (UCI, UCF, UCM) and X12 997, 999 and TA1, for an
 * interchange a partner sent us; the codes they carry are ack.c's table
 * (ack_code()).
 *
 * An acknowledgment goes back the way the interchange came: its sender
 * is our id (the interchange's recipient unless the caller names
 * another), its recipient the interchange's sender; it has the
 * partner's syntax identifier and version (UNB 0001:0002, ISA12) and
 * separators (a UNA when the partner sent one, the ISA's bytes), and
 * marks itself a test when the interchange was one. Values that came
 * from the partner are written back escaped with the release character;
 * where the syntax has none (X12, EDIFACT level B, a UNA without one), a
 * value holding a separator cannot be written and the ack is refused
 * with the reason rather than written wrong.
 *
 * Nothing here touches a file or the store: the caller records the
 * bytes in the accept transaction and writes them after COMMIT
 * (outbound.c), so no crash-safety concern lives here.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ack.h"
#include "store_control.h"

/* The writer: one buffer, the partner's separators, a sticky error. */
struct w {
	char			*p;
	size_t			 len, cap;
	int			 comp, elem, seg, rep, release;
	const char		*eol;
	size_t			 nseg;	/* in this message */
	int			 failed;
	struct spool_error	*err;
};

static void
w_raw(struct w *w, const char *s, size_t n)
{
	size_t cap;
	char *np;

	if (w->failed)
		return;
	if (w->len + n + 1 > w->cap) {
		cap = w->cap ? w->cap : 512;
		while (w->len + n + 1 > cap)
			cap *= 2;
		if ((np = realloc(w->p, cap)) == NULL) {
			spool_seterr(w->err, "out of memory");
			w->failed = 1;
			return;
		}
		w->p = np;
		w->cap = cap;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
	w->p[w->len] = '\0';
}

static void
w_byte(struct w *w, int c)
{
	char b = (char)c;

	w_raw(w, &b, 1);
}

static int
is_sep(const struct w *w, int c)
{
	return c == w->comp || c == w->elem || c == w->seg ||
	    (w->rep != -1 && c == w->rep) ||
	    (w->release != -1 && c == w->release);
}

/* A value, escaped; refused when it holds a separator and there is no
   release character. */
static void
w_val(struct w *w, const char *v)
{
	const unsigned char *u = (const unsigned char *)v;

	for (; *u != '\0'; u++) {
		if (is_sep(w, *u)) {
			if (w->release == -1) {
				if (!w->failed)
					spool_seterr(w->err, "the value "
					    "'%.40s' holds the separator "
					    "0x%02x and the syntax has no "
					    "release character to escape it",
					    v, *u);
				w->failed = 1;
				return;
			}
			w_byte(w, w->release);
		}
		w_byte(w, *u);
	}
}

/* A value the acknowledgment cannot do without. */
static void
w_need(struct w *w, const char *v, const char *what)
{
	if (v != NULL && v[0] != '\0')
		return;
	if (!w->failed)
		spool_seterr(w->err, "the interchange gives no %s to "
		    "acknowledge", what);
	w->failed = 1;
}

static void
w_tag(struct w *w, const char *tag)
{
	w_raw(w, tag, strlen(tag));
	w->nseg++;
}

static void
w_el(struct w *w, const char *v)
{
	w_byte(w, w->elem);
	if (v != NULL)
		w_val(w, v);
}

static void
w_co(struct w *w, const char *v)
{
	w_byte(w, w->comp);
	if (v != NULL)
		w_val(w, v);
}

static void
w_end(struct w *w)
{
	w_byte(w, w->seg);
	w_raw(w, w->eol, strlen(w->eol));
}

static void
w_num(struct w *w, uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRIu64, v);
	w_el(w, b);
}

static void
w_ctl(struct w *w, enum edi_syntax syn, enum ctl_level lvl, uint64_t v)
{
	char b[24];

	if (ctl_format(syn, lvl, v, b, sizeof(b)) == -1) {
		if (!w->failed)
			spool_seterr(w->err, "our control number %" PRIu64
			    " does not fit its field", v);
		w->failed = 1;
		return;
	}
	w_el(w, b);
}

static const struct ack_verdict *
verdict(const struct ack_input *in, size_t i, struct ack_verdict *tmp)
{
	if (in->verdicts != NULL)
		return &in->verdicts[i];
	memset(tmp, 0, sizeof(*tmp));
	tmp->reason = ack_message_reason(&in->ic->msgs[i]);
	return tmp;
}

static int
rejected(const struct ack_verdict *v)
{
	const struct ack_code *c = ack_code(v->reason);

	return c != NULL && c->rejects;
}

static int
our_ids(const struct ack_input *in, const char **qual, const char **id,
    struct spool_error *err)
{
	*qual = in->our_id != NULL ? in->our_qual : in->ic->recipient_qual;
	*id = in->our_id != NULL ? in->our_id : in->ic->recipient;
	if (*qual == NULL)
		*qual = "";
	if (*id == NULL || (*id)[0] == '\0' || in->ic->sender == NULL ||
	    in->ic->sender[0] == '\0') {
		spool_seterr(err, "no id of ours to send the acknowledgment "
		    "from, or no sender to send it to");
		return -1;
	}
	return 0;
}

/* UTC date (YYMMDD, or CCYYMMDD when century) and time (HHMM). */
static void
fmt_date(time_t now, int century, char *date, size_t dsz, char *tm,
    size_t tsz)
{
	struct tm t;
	unsigned y, mo, d, h, mi;

	gmtime_r(&now, &t);
	y = (unsigned)(t.tm_year + 1900) % 10000;
	mo = (unsigned)t.tm_mon % 12 + 1;
	d = (unsigned)t.tm_mday % 32;
	h = (unsigned)t.tm_hour % 24;
	mi = (unsigned)t.tm_min % 60;
	if (century)
		snprintf(date, dsz, "%04u%02u%02u", y, mo, d);
	else
		snprintf(date, dsz, "%02u%02u%02u", y % 100, mo, d);
	snprintf(tm, tsz, "%02u%02u", h, mi);
}

/* ---- EDIFACT CONTRL ---- */

static void
contrl_action(struct w *w, int reject, const struct ack_code *c)
{
	w_el(w, reject ? "4" : "7");
	if (reject && c != NULL && c->contrl != NULL) {
		w_el(w, c->contrl);
		if (c->contrl_tag != NULL)
			w_el(w, c->contrl_tag);
	}
}

/* S009 from the message's type and "0052:0054:0051[:0057]". */
static void
contrl_s009(struct w *w, const struct edi_message *m)
{
	char ver[128], *p, *q;

	w_el(w, m->type);
	snprintf(ver, sizeof(ver), "%s", m->version != NULL ? m->version :
	    "");
	for (p = ver; p != NULL && *p != '\0'; p = q) {
		if ((q = strchr(p, ':')) != NULL)
			*q++ = '\0';
		w_co(w, p);
	}
}

static void
contrl_ucm(struct w *w, const struct ack_input *in, size_t i)
{
	const struct edi_message *m = &in->ic->msgs[i];
	const struct ack_verdict *v;
	struct ack_verdict tmp;
	char pos[24];

	v = verdict(in, i, &tmp);
	w_need(w, m->ref, "message reference (UNH 0062)");
	w_need(w, m->type, "message type (UNH S009)");
	w_tag(w, "UCM");
	w_el(w, m->ref);
	contrl_s009(w, m);
	contrl_action(w, rejected(v), ack_code(v->reason));
	w_end(w);
	if (rejected(v) && v->seg_pos > 0) {
		snprintf(pos, sizeof(pos), "%zu", v->seg_pos);
		w_tag(w, "UCS");
		w_el(w, pos);
		w_el(w, ack_code(v->reason)->contrl);
		w_end(w);
	}
}

static int
write_contrl(const struct ack_input *in, struct w *w)
{
	const struct edi_interchange *ic = in->ic;
	const struct ack_code *env = ack_code(in->envelope);
	const char *oq, *oid, *sid;
	char date[16], tm[8], ref[24], verb[4];
	long ver;
	size_t i, g, top;
	int v4;

	if (env == NULL) {
		spool_seterr(w->err, "no such reason %d", (int)in->envelope);
		return -1;
	}
	/* A syntax we do not read ourselves (the reason, perhaps, for
	   this CONTRL) is answered in one we do: UNOB, version 3. */
	ver = strtol(ic->syntax_version, NULL, 10);
	if (ver < 1 || ver > 4 || strlen(ic->syntax_version) != 1)
		ver = 3;
	sid = ic->syntax_id;
	if (strlen(sid) != 4 || strncmp(sid, "UNO", 3) != 0 ||
	    strchr("ABCDEFGHIJKLWY", sid[3]) == NULL || sid[3] == '\0')
		sid = "UNOB";
	snprintf(verb, sizeof(verb), "%ld", ver);
	v4 = ver >= 4;
	if (our_ids(in, &oq, &oid, w->err) == -1)
		return -1;
	fmt_date(in->now, v4, date, sizeof(date), tm, sizeof(tm));
	if (ic->una) {
		w_raw(w, "UNA", 3);
		w_byte(w, ic->comp);
		w_byte(w, ic->elem);
		w_byte(w, ic->decimal);
		w_byte(w, ic->release == -1 ? ' ' : ic->release);
		w_byte(w, ic->rep == -1 ? ' ' : ic->rep);
		w_byte(w, ic->seg);
		w_raw(w, w->eol, strlen(w->eol));
	}
	w_tag(w, "UNB");
	w_el(w, sid);
	w_co(w, verb);
	w_el(w, oid);
	if (oq[0] != '\0')
		w_co(w, oq);
	w_el(w, ic->sender);
	if (ic->sender_qual[0] != '\0')
		w_co(w, ic->sender_qual);
	w_el(w, date);
	w_co(w, tm);
	w_ctl(w, EDI_EDIFACT, CTL_INTERCHANGE, in->control);
	if (ic->test) {		/* 0035 = 1, after five empty elements */
		for (i = 0; i < 5; i++)
			w_el(w, NULL);
		w_el(w, "1");
	}
	w_end(w);

	w->nseg = 0;
	if (ctl_format(EDI_EDIFACT, CTL_MESSAGE, in->message, ref,
	    sizeof(ref)) == -1) {
		spool_seterr(w->err, "our message reference %" PRIu64
		    " does not fit UNH 0062", in->message);
		return -1;
	}
	w_tag(w, "UNH");
	w_el(w, ref);
	w_el(w, "CONTRL");
	w_co(w, v4 ? "4" : "D");
	w_co(w, v4 ? "1" : "3");
	w_co(w, "UN");
	w_end(w);
	w_tag(w, "UCI");
	w_el(w, ic->control);
	w_el(w, ic->sender);
	if (ic->sender_qual[0] != '\0')
		w_co(w, ic->sender_qual);
	w_el(w, ic->recipient);
	if (ic->recipient_qual[0] != '\0')
		w_co(w, ic->recipient_qual);
	if (in->receipt_only && in->envelope == ACK_OK)
		w_el(w, "8");
	else if (env->level == ACK_LVL_INTERCHANGE)
		contrl_action(w, env->rejects, env);
	else
		contrl_action(w, env->rejects, NULL);
	w_end(w);
	if (!(in->receipt_only && in->envelope == ACK_OK) &&
	    env->level != ACK_LVL_INTERCHANGE) {
		/* Messages outside groups, then each group with its own. */
		for (top = 0, i = 0; i < ic->nmsgs; i++)
			if (ic->msgs[i].group == -1 && env->level ==
			    ACK_LVL_MESSAGE) {
				contrl_ucm(w, in, i);
				top++;
			}
		for (g = 0; g < ic->ngroups; g++) {
			const struct edi_group *gr = &ic->groups[g];
			int bad = env->level == ACK_LVL_GROUP &&
			    (int)g == in->env_group;

			if (env->level == ACK_LVL_GROUP && !bad)
				continue;
			w_need(w, gr->control, "group reference (UNG 0048)");
			w_tag(w, "UCF");
			w_el(w, gr->control);
			w_el(w, gr->sender);
			w_el(w, gr->recipient);
			contrl_action(w, bad, bad ? env : NULL);
			w_end(w);
			if (bad)
				continue;
			for (i = 0; i < ic->nmsgs; i++)
				if (ic->msgs[i].group == (int)g)
					contrl_ucm(w, in, i);
		}
	}
	w_tag(w, "UNT");
	w_num(w, w->nseg);
	w_el(w, ref);
	w_end(w);
	w_tag(w, "UNZ");
	w_el(w, "1");
	w_ctl(w, EDI_EDIFACT, CTL_INTERCHANGE, in->control);
	w_end(w);
	return w->failed ? -1 : 0;
}

/* ---- X12: ISA, TA1, 997 / 999 ---- */

static void
isa_field(struct w *w, const char *v, size_t width)
{
	size_t n = strlen(v);

	w_byte(w, w->elem);
	w_val(w, v);
	for (; n < width; n++)
		w_byte(w, ' ');
}

static int
write_isa(const struct ack_input *in, struct w *w)
{
	const struct edi_interchange *ic = in->ic;
	const char *oq, *oid;
	char date[8], tm[8];

	if (our_ids(in, &oq, &oid, w->err) == -1)
		return -1;
	if (strlen(oq) > 2 || strlen(oid) > 15 ||
	    strlen(ic->sender_qual) > 2 || strlen(ic->sender) > 15 ||
	    strlen(ic->syntax_version) != 5) {
		spool_seterr(w->err, "an identity or version does not fit "
		    "the ISA (qualifier 2, id 15, version 5 characters): "
		    "'%.20s:%.20s' or '%.20s:%.20s' or '%.20s'", oq, oid,
		    ic->sender_qual, ic->sender, ic->syntax_version);
		return -1;
	}
	fmt_date(in->now, 0, date, sizeof(date), tm, sizeof(tm));
	w_tag(w, "ISA");
	isa_field(w, "00", 2);
	isa_field(w, "", 10);
	isa_field(w, "00", 2);
	isa_field(w, "", 10);
	isa_field(w, oq, 2);
	isa_field(w, oid, 15);
	isa_field(w, ic->sender_qual, 2);
	isa_field(w, ic->sender, 15);
	isa_field(w, date, 6);
	isa_field(w, tm, 4);
	w_byte(w, w->elem);
	/* ISA11: the repetition separator from 00402 on, else "U". */
	if (ic->rep != -1 && strcmp(ic->syntax_version, "00402") >= 0)
		w_byte(w, ic->rep);
	else
		w_byte(w, 'U');
	isa_field(w, ic->syntax_version, 5);
	w_ctl(w, EDI_X12, CTL_INTERCHANGE, in->control);
	isa_field(w, "0", 1);
	isa_field(w, ic->test ? "T" : "P", 1);
	w_byte(w, w->elem);
	w_byte(w, ic->comp);
	w_end(w);
	return w->failed ? -1 : 0;
}

static void
write_ta1(const struct ack_input *in, struct w *w)
{
	const struct ack_code *env = ack_code(in->envelope);
	int rej = env->level == ACK_LVL_INTERCHANGE && env->rejects;

	w_tag(w, "TA1");
	w_el(w, in->ic->control);
	w_el(w, in->ic->date);
	w_el(w, in->ic->time);
	w_el(w, rej ? "R" : "A");
	w_el(w, rej && env->ta1 != NULL ? env->ta1 : "000");
	w_end(w);
}

static void
write_iea(const struct ack_input *in, struct w *w, int groups)
{
	w_tag(w, "IEA");
	w_num(w, (uint64_t)groups);
	w_ctl(w, EDI_X12, CTL_INTERCHANGE, in->control);
	w_end(w);
}

static void
x12_detail(struct w *w, int is999, const struct ack_verdict *v)
{
	char pos[24];

	if (v->seg_tag == NULL || v->seg_pos == 0)
		return;
	snprintf(pos, sizeof(pos), "%zu", v->seg_pos);
	w_tag(w, is999 ? "IK3" : "AK3");
	w_el(w, v->seg_tag);
	w_el(w, pos);
	w_el(w, NULL);
	w_el(w, v->seg_code != NULL ? v->seg_code : v->elem_pos ? "8" : NULL);
	w_end(w);
	if (v->elem_pos > 0) {
		snprintf(pos, sizeof(pos), "%u", v->elem_pos);
		w_tag(w, is999 ? "IK4" : "AK4");
		w_el(w, pos);
		w_el(w, NULL);
		w_el(w, v->elem_code != NULL ? v->elem_code : "7");
		w_end(w);
	}
}

/* One 997/999 for group g. */
static void
write_set(const struct ack_input *in, struct w *w, int is999, int g,
    uint64_t stnum)
{
	const struct edi_interchange *ic = in->ic;
	const struct edi_group *gr = g >= 0 ? &ic->groups[g] : NULL;
	const struct ack_code *env = ack_code(in->envelope);
	const struct ack_verdict *v;
	struct ack_verdict tmp;
	const struct ack_code *c;
	size_t i, n = 0, ok = 0;
	char ref[24];
	int bad = env->level == ACK_LVL_GROUP && g == in->env_group &&
	    env->rejects;

	ctl_format(EDI_X12, CTL_MESSAGE, stnum, ref, sizeof(ref));
	w->nseg = 0;
	w_tag(w, "ST");
	w_el(w, is999 ? "999" : "997");
	w_el(w, ref);
	if (is999)
		w_el(w, "005010X231A1");
	w_end(w);
	w_need(w, gr != NULL ? gr->control : NULL, "group control number "
	    "(GS06)");
	w_tag(w, "AK1");
	w_el(w, gr != NULL ? gr->id : "");
	w_el(w, gr != NULL ? gr->control : "");
	if (is999 && gr != NULL)
		w_el(w, gr->version);
	w_end(w);
	for (i = 0; i < ic->nmsgs; i++) {
		if (ic->msgs[i].group != g)
			continue;
		n++;
		v = verdict(in, i, &tmp);
		if (!rejected(v) && !bad)
			ok++;
		if (bad)
			continue;
		w_need(w, ic->msgs[i].ref, "transaction set control number "
		    "(ST02)");
		w_tag(w, "AK2");
		w_el(w, ic->msgs[i].type);
		w_el(w, ic->msgs[i].ref);
		if (is999 && ic->msgs[i].version != NULL &&
		    ic->msgs[i].version[0] != '\0')
			w_el(w, ic->msgs[i].version);
		w_end(w);
		if (rejected(v))
			x12_detail(w, is999, v);
		c = ack_code(v->reason);
		w_tag(w, is999 ? "IK5" : "AK5");
		w_el(w, rejected(v) ? "R" : "A");
		if (rejected(v) && c->x12_set != NULL)
			w_el(w, c->x12_set);
		w_end(w);
	}
	w_tag(w, "AK9");
	w_el(w, bad || (n > 0 && ok == 0) ? "R" : ok < n ? "P" : "A");
	w_num(w, gr != NULL && gr->messages > 0 ? gr->messages : n);
	w_num(w, n);
	w_num(w, ok);
	if (bad && env->x12_group != NULL)
		w_el(w, env->x12_group);
	w_end(w);
	w_tag(w, "SE");
	w_num(w, w->nseg);
	w_el(w, ref);
	w_end(w);
}

static int
write_x12(enum ack_kind k, const struct ack_input *in, struct w *w)
{
	const struct edi_interchange *ic = in->ic;
	const struct edi_group *g0 = ic->ngroups > 0 ? &ic->groups[0] : NULL;
	const struct ack_code *env = ack_code(in->envelope);
	char date[16], tm[8];
	int is999 = k == ACK_999, g, nsets;

	if (env == NULL) {
		spool_seterr(w->err, "no such reason %d", (int)in->envelope);
		return -1;
	}
	if (write_isa(in, w) == -1)
		return -1;
	if (k == ACK_TA1) {
		write_ta1(in, w);
		write_iea(in, w, 0);
		return w->failed ? -1 : 0;
	}
	if (env->level == ACK_LVL_INTERCHANGE && env->rejects) {
		spool_seterr(w->err, "an interchange refused whole (%s) is "
		    "acknowledged by TA1, not by %s", env->name,
		    is999 ? "999" : "997");
		return -1;
	}
	if (ic->ngroups == 0) {
		spool_seterr(w->err, "a %s acknowledges functional groups, "
		    "and the interchange has none", is999 ? "999" : "997");
		return -1;
	}
	if (in->with_ta1)
		write_ta1(in, w);
	fmt_date(in->now, strcmp(ic->syntax_version, "00401") >= 0, date,
	    sizeof(date), tm, sizeof(tm));
	w->nseg = 0;
	w_tag(w, "GS");
	w_el(w, "FA");
	w_el(w, in->our_id != NULL ? in->our_id : g0 != NULL ?
	    g0->recipient : ic->recipient);
	w_el(w, g0 != NULL ? g0->sender : ic->sender);
	w_el(w, date);
	w_el(w, tm);
	w_ctl(w, EDI_X12, CTL_GROUP, in->group);
	w_el(w, "X");
	w_el(w, is999 ? "005010X231A1" : g0 != NULL && g0->version[0] != '\0' ?
	    g0->version : "004010");
	w_end(w);
	nsets = (int)ic->ngroups;
	for (g = 0; g < nsets; g++) {
		if (in->message + (uint64_t)g > ctl_max(EDI_X12, CTL_MESSAGE)) {
			spool_seterr(w->err, "our ST02 %" PRIu64 " does not "
			    "fit its field", in->message + (uint64_t)g);
			return -1;
		}
		write_set(in, w, is999, g, in->message + (uint64_t)g);
	}
	w_tag(w, "GE");
	w_num(w, (uint64_t)nsets);
	w_ctl(w, EDI_X12, CTL_GROUP, in->group);
	w_end(w);
	write_iea(in, w, 1);
	return w->failed ? -1 : 0;
}

int
ack_write(enum ack_kind k, const struct ack_input *in, char **out,
    size_t *len, struct spool_error *err)
{
	const struct edi_interchange *ic = in->ic;
	struct w w;
	int rc;

	*out = NULL;
	*len = 0;
	memset(&w, 0, sizeof(w));
	w.err = err;
	w.eol = in->eol != NULL ? in->eol : "";
	w.comp = ic->comp;
	w.elem = ic->elem;
	w.seg = ic->seg;
	w.rep = ic->rep;
	w.release = ic->release;
	if (k == ACK_CONTRL && ic->syntax == EDI_EDIFACT)
		rc = write_contrl(in, &w);
	else if ((k == ACK_997 || k == ACK_999 || k == ACK_TA1) &&
	    ic->syntax == EDI_X12)
		rc = write_x12(k, in, &w);
	else {
		spool_seterr(err, "no %s acknowledgment for an %s interchange",
		    k == ACK_CONTRL ? "CONTRL" : k == ACK_997 ? "997" :
		    k == ACK_999 ? "999" : k == ACK_TA1 ? "TA1" : "such",
		    ic->syntax == EDI_X12 ? "X12" : "EDIFACT");
		rc = -1;
	}
	if (rc == -1 || w.failed) {
		if (err->msg[0] == '\0')
			spool_seterr(err, "cannot write the acknowledgment");
		free(w.p);
		return -1;
	}
	*out = w.p;
	*len = w.len;
	return 0;
}
