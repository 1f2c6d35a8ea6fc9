/*
 * accept_ack.c - the acknowledgments of the interchanges a partner sends
 * (DESIGN 16): after an EDIFACT or X12 file has been read as a batch
 * (accept_bundle.c), its CONTRL, 997, 999 or TA1 is built and recorded
 * as an outbound row, inside the same store transaction as the batch.
 *
 * What is sent: [partner] ack (contrl, 997, 999) for every interchange
 * that is not itself made of acknowledgments; besides that a CONTRL when
 * UNB 0031 asks for one, a TA1 when ISA14 = 1 (before the 997/999's
 * group, or alone). An interchange refused whole is read again leniently
 * (ack_scan.c) and answered with a TA1 (X12) or a CONTRL rejecting it,
 * when the partner has acknowledgments on or the interchange asked.
 *
 * The verdicts are the batch entries' fates, in order: an accepted or
 * duplicate message is accepted; a rejected one is rejected with the
 * reason its tokenizer gave, or "reused" for a reference reused with
 * other content, else "content invalid". A redelivered interchange is a
 * new batch whose messages are duplicates: it gets a new acknowledgment
 * with new control numbers of ours and the same verdicts, also after
 * the first one's files were purged (the tombstones keep the keys).
 *
 * Acknowledgments in: a file holding a partner's CONTRL, 997, 999 or
 * TA1 is read by ack_read() and each report matched to the outbound
 * interchange of ours it names (store_ack_match()), in the same
 * transaction, when its messages were accepted (an interchange of TA1s
 * alone has no message and is refused as a batch: its TA1s still
 * count).
 *
 * Cost: a file is tokenized here only when there is something to do:
 * ack_due() (ack_scan.c), a pass over the bytes, tells whether an
 * interchange asks (UNB 0031, ISA14) or the file holds an
 * acknowledgment; without either, and without [partner] ack, nothing is
 * read. Otherwise edi_read() reads it once, for both directions.
 *
 * Crash safety: the acknowledgment and the control numbers it took are
 * in the acceptance's transaction, so a rollback takes back both and a
 * COMMIT keeps both. The file is written after COMMIT by
 * outbound_flush() (dot file, fsync, rename), which start-up runs again
 * for rows not yet written: a crash between COMMIT and the write writes
 * it at the next start, once. A batch taken again after a crash (its
 * upload still in incoming/) is only moved, never acknowledged again.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accept.h"
#include "accept_int.h"
#include "ack.h"
#include "ack_read.h"
#include "ack_scan.h"
#include "log.h"
#include "outbound.h"
#include "spooldir.h"
#include "store_ack.h"
#include "store_batch.h"
#include "store_control.h"
#include "store_outbound.h"

/* The entries of the batch, as the store has them. */
struct fates {
	struct ent {
		int	 fate;
		int	 reused;	/* reason: reused with other content */
		int	 env;		/* an envelope's reason, or ACK_OK */
		int64_t	 message;
	}		*e;
	size_t		 n, cap;
};

static int
fate_add(void *arg, const struct store_batch_entry *se)
{
	struct fates *f = arg;
	struct ent *ne;
	const char *r;

	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 16;
		if ((ne = realloc(f->e, f->cap * sizeof(*ne))) == NULL)
			return -1;
		f->e = ne;
	}
	r = se->reason != NULL ? se->reason : se->msg_reason;
	f->e[f->n].fate = se->fate;
	f->e[f->n].reused = r != NULL && strstr(r, "with different content") !=
	    NULL;
	f->e[f->n].message = se->message;
	f->e[f->n].env = ACK_OK;
	if (se->fate == FATE_REJECTED && r != NULL) {
		/* accept_read.c's reasons, after the entry's prefix. */
		if (strncmp(r, "spoofed:", 8) == 0 ||
		    strstr(r, ": spoofed:") != NULL)
			f->e[f->n].env = ACK_ENV_SENDER;
		else if (strncmp(r, "misdirected:", 12) == 0 ||
		    strstr(r, ": misdirected:") != NULL)
			f->e[f->n].env = ACK_ENV_RECIPIENT;
		else if (strncmp(r, "a test interchange (", 20) == 0 ||
		    strstr(r, ": a test interchange (") != NULL)
			f->e[f->n].env = ACK_ENV_TEST;
	}
	f->n++;
	return 0;
}

static int
read_all(int fd, uint64_t max, char **out, size_t *len,
    struct spool_error *err)
{
	char *buf;
	size_t cap, n = 0;
	ssize_t got;

	cap = max < 1024 * 1024 * 1024 ? (size_t)max + 1 : 1024 * 1024 * 1024;
	if ((buf = malloc(cap + 1)) == NULL) {
		spool_seterr(err, "out of memory reading an interchange");
		return -1;
	}
	for (;;) {
		got = pread(fd, buf + n, cap - n, (off_t)n);
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1) {
			spool_seterr(err, "read: %s", strerror(errno));
			free(buf);
			return -1;
		}
		if (got == 0 || (n += (size_t)got) == cap)
			break;
	}
	*out = buf;
	*len = n;
	return 0;
}

static const char *
kind_type(enum ack_kind k)
{
	switch (k) {
	case ACK_CONTRL:
		return "edifact.CONTRL";
	case ACK_997:
		return "x12.997";
	case ACK_999:
		return "x12.999";
	case ACK_TA1:
		return "x12.TA1";
	default:
		return "ack";
	}
}

/* Which acknowledgment an interchange gets; ACK_NONE: none. */
static enum ack_kind
kind_of(const struct conf_partner *pa, const struct edi_interchange *ic,
    enum ack_reason envelope, int *with_ta1)
{
	int k = pa != NULL ? pa->ack : ACK_NONE;

	*with_ta1 = 0;
	if (ic->syntax == EDI_EDIFACT) {
		if (envelope == ACK_OK && !ack_answers(ic))
			return ACK_NONE;
		return k == ACK_CONTRL || ic->ack ? ACK_CONTRL : ACK_NONE;
	}
	if (k != ACK_997 && k != ACK_999)
		k = ACK_NONE;
	if (envelope != ACK_OK) {
		if (k == ACK_NONE && !ic->ack)
			return ACK_NONE;
		return ack_kind_for(k != ACK_NONE ? k : ACK_997, envelope);
	}
	if (k == ACK_NONE || !ack_answers(ic) || ic->ngroups == 0)
		return ic->ack ? ACK_TA1 : ACK_NONE;
	*with_ta1 = ic->ack;
	return k;
}

static int
take(struct store *s, const char *partner, enum edi_syntax syn,
    enum ctl_level lvl, uint64_t n, uint64_t *first, struct spool_error *err)
{
	struct ctl_key k;

	*first = 0;
	if (n == 0)
		return 0;
	memset(&k, 0, sizeof(k));
	k.partner = partner;
	k.syntax = syn;
	k.level = lvl;
	return store_control_take(s, &k, n, first, err);
}

/* Build and record the acknowledgment of one interchange. */
static int
ack_one(struct accept_ctx *c, const char *partner, const char *buf,
    size_t len, const struct edi_interchange *ic, enum ack_reason envelope,
    int env_group, const struct ack_verdict *v, int64_t cause,
    struct accept_stats *stats, struct spool_error *err)
{
	const struct conf_partner *pa = conf_partner(c->conf, partner);
	struct ack_input in;
	struct store_outmsg om;
	struct spool_error werr;
	enum ack_kind k;
	uint64_t ng, nm;
	int64_t id;
	char name[SPOOLDIR_NAME_MAX + 1], *out = NULL;
	size_t olen;
	int with_ta1, rc;

	if ((k = kind_of(pa, ic, envelope, &with_ta1)) == ACK_NONE)
		return 0;
	memset(&in, 0, sizeof(in));
	in.ic = ic;
	in.verdicts = v;
	in.envelope = envelope;
	in.env_group = env_group;
	in.now = time(NULL);
	in.eol = ack_eol_of(ic, buf, len);
	in.with_ta1 = with_ta1;
	ack_numbers(k, ic, &ng, &nm);
	if (take(c->store, partner, ic->syntax, CTL_INTERCHANGE, 1,
	    &in.control, err) == -1 || take(c->store, partner, ic->syntax,
	    CTL_GROUP, ng, &in.group, err) == -1 || take(c->store, partner,
	    ic->syntax, CTL_MESSAGE, nm, &in.message, err) == -1)
		return -1;
	spool_clearerr(&werr);
	if (ack_write(k, &in, &out, &olen, &werr) == -1) {
		/* Not sent (logged); the numbers taken stay taken: a gap
		 * in our numbering, never a number used twice. */
		log_warn("event=ack partner=%s control=%s status=failed "
		    "reason=%s", LOG_Q(partner), LOG_Q(ic->control),
		    LOG_Q(werr.msg));
		return 0;
	}
	if (store_out_next_id(c->store, &id, err) == -1)
		goto fail;
	if (spooldir_name(name, sizeof(name), partner, NULL, 0, kind_type(k),
	    id) == -1) {
		spool_seterr(err, "acknowledgment to %s: no file name",
		    partner);
		goto fail;
	}
	outbound_edi_name(name);
	memset(&om, 0, sizeof(om));
	om.partner = partner;
	om.type = kind_type(k);
	om.cause = cause;
	om.file_name = name;
	om.content = out;
	om.len = olen;
	rc = store_out_insert(c->store, id, &om, err);
	free(out);
	if (rc == -1)
		return -1;
	stats->acks++;
	log_info("event=ack partner=%s control=%s kind=%s our_control=%"
	    PRIu64 " outbound=%" PRId64, LOG_Q(partner), LOG_Q(ic->control),
	    kind_type(k), in.control, id);
	return 0;
fail:
	free(out);
	return -1;
}

/* The verdict of a rejected entry of message m. */
static enum ack_reason
rejected_reason(const struct ent *e, const struct edi_message *m)
{
	enum ack_reason r;

	if ((r = ack_message_reason(m)) != ACK_OK)
		return r;
	return e->reused ? ACK_REUSED : ACK_MSG_INVALID;
}

/*
 * The partner's acknowledgments in the file (CONTRL, 997, 999, TA1):
 * each matched to our interchange it names (store_ack_match()). ics:
 * the file as edi_read() read it, or NULL to read it here. ta1_only:
 * the file was refused as a batch (an interchange of TA1s has no
 * message), so only its TA1s count.
 */
static int
match_acks(struct accept_ctx *c, const char *partner, const char *buf,
    size_t len, const struct edi_interchange *ics, int64_t message,
    int ta1_only, struct spool_error *err)
{
	struct ack_report *reps = NULL, *r;
	struct edi_limits el;
	struct spool_error perr;
	int64_t id;

	edi_limits_default(&el);
	spool_clearerr(&perr);
	if ((ics != NULL ? ack_read_ics(ics, buf, len, &el, &reps, &perr) :
	    ack_read(buf, len, &el, &reps, &perr)) == -1)
		return 0;	/* not one we can read: a message as any */
	for (r = reps; r != NULL; r = r->next) {
		if (ta1_only && r->kind != ACK_TA1)
			continue;
		if (store_ack_match(c->store, partner, r, message, &id,
		    err) == -1) {
			ack_report_free(reps);
			return -1;
		}
		if (id == 0)
			log_warn("event=ack-in partner=%s control=%s group=%s "
			    "status=unmatched note=\"acknowledges nothing we "
			    "sent\"", LOG_Q(partner), LOG_Q(r->control != NULL ?
			    r->control : "-"), LOG_Q(r->group != NULL ?
			    r->group : "-"));
		else
			log_info("event=ack-in partner=%s control=%s group=%s "
			    "interchange=%" PRId64, LOG_Q(partner),
			    LOG_Q(r->control != NULL ? r->control : "-"),
			    LOG_Q(r->group != NULL ? r->group : "-"), id);
	}
	ack_report_free(reps);
	return 0;
}

/* An interchange refused whole: read leniently and answer each. */
static int
ack_refused(struct accept_ctx *c, const char *partner, const char *buf,
    size_t len, struct accept_stats *stats, struct spool_error *err)
{
	struct ack_scan *sc = NULL, *p;
	struct edi_limits el;
	struct spool_error perr;
	int ret = 0;

	edi_limits_default(&el);
	spool_clearerr(&perr);
	if (ack_scan(buf, len, &el, &sc, &perr) == -1)
		return 0;	/* nothing to acknowledge */
	for (p = sc; p != NULL && ret == 0; p = p->next) {
		/* Sound, but refused as a batch: an interchange of TA1s
		 * (no message) is never answered. */
		if (p->envelope == ACK_OK && (p->ic->nmsgs == 0 ||
		    !ack_answers(p->ic)))
			continue;
		ret = ack_one(c, partner, buf, len, p->ic, p->envelope ==
		    ACK_OK ? ACK_ENV_LIMIT : p->envelope, p->group, NULL, 0,
		    stats, err);
	}
	ack_scan_free(sc);
	return ret;
}

int
accept_ack(struct accept_ctx *c, const char *partner, int fd, int64_t batch,
    int state, struct accept_stats *stats, struct spool_error *err)
{
	struct fates f = { NULL, 0, 0 };
	const struct conf_partner *pa;
	struct edi_interchange *ics = NULL, *ic;
	struct edi_limits el;
	struct spool_error perr;
	struct ack_verdict *v = NULL;
	char head[512], *buf = NULL;
	size_t len, i, at = 0;
	ssize_t got;
	int ret = -1, env, asks, holds;

	if (partner == NULL)
		return 0;
	do
		got = pread(fd, head, sizeof(head), 0);
	while (got == -1 && errno == EINTR);
	if (got <= 0 || edi_detect(head, (size_t)got) == EDI_NONE)
		return 0;
	if (read_all(fd, c->conf->bundle_max_total_size, &buf, &len, err) ==
	    -1)
		return -1;
	if (state == ST_REJECTED) {
		if (match_acks(c, partner, buf, len, NULL, 0, 1, err) == -1)
			goto out;
		ret = ack_refused(c, partner, buf, len, stats, err);
		goto out;
	}
	/*
	 * Nothing to send (the partner has no ack =, no interchange asks)
	 * and nothing to read (no acknowledgment in the file): the file is
	 * not tokenized again.
	 */
	ack_due(buf, len, &asks, &holds);
	pa = conf_partner(c->conf, partner);
	if (!asks && !holds && (pa == NULL || pa->ack == ACK_NONE)) {
		ret = 0;
		goto out;
	}
	if (store_batch_entries(c->store, batch, fate_add, &f, err) == -1)
		goto out;
	edi_limits_default(&el);
	spool_clearerr(&perr);
	if (edi_read(buf, len, &el, &ics, &perr) == -1) {
		ret = 0;	/* read before; not now: leave it */
		goto out;
	}
	for (i = 0; i < f.n; i++)
		if (f.e[i].fate == FATE_ACCEPTED)
			break;
	/* Acknowledgments in: matched when accepted as messages. */
	if (holds && i < f.n && match_acks(c, partner, buf, len, ics,
	    f.e[i].message, 0, err) == -1)
		goto out;
	if (!asks && (pa == NULL || pa->ack == ACK_NONE)) {
		ret = 0;	/* none to send */
		goto out;
	}
	for (ic = ics; ic != NULL; ic = ic->next) {
		/* The sender, recipient or test refused: the envelope. */
		env = ic->nmsgs > 0 && at < f.n ? f.e[at].env : ACK_OK;
		if ((v = calloc(ic->nmsgs + 1, sizeof(*v))) == NULL) {
			spool_seterr(err, "out of memory");
			goto out;
		}
		for (i = 0; i < ic->nmsgs; i++, at++) {
			if (at >= f.n)
				v[i].reason = ACK_MSG_INVALID;
			else if (f.e[at].fate == FATE_REJECTED)
				v[i].reason = rejected_reason(&f.e[at],
				    &ic->msgs[i]);
			else if (f.e[at].fate == FATE_DUPLICATE)
				v[i].reason = ACK_DUPLICATE;
			else
				v[i].reason = ACK_OK;
		}
		if (ack_one(c, partner, buf, len, ic, env, 0, v,
		    at > 0 && at - 1 < f.n ? f.e[at - 1].message : 0, stats,
		    err) == -1)
			goto out;
		free(v);
		v = NULL;
	}
	ret = 0;
out:
	free(v);
	edi_free(ics);
	free(f.e);
	free(buf);
	return ret;
}
