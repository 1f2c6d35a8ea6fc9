/*
 * ctl_ack.c - spoolctl's view of our outbound EDIFACT and X12
 * interchanges and the partners' acknowledgments of them (DESIGN 16):
 * the line of status (awaited, overdue after ack_overdue, acknowledged,
 * rejected), show --outbound PARTNER CONTROL, and show --outbound
 * PARTNER: those the partner has not acknowledged as accepted (pending,
 * overdue, rejected in whole or in part), oldest first.
 *
 * Read-only: the rows are spoold's (store_ack.c); an interchange is
 * overdue here when it is still pending ack_overdue after it was sent,
 * whether or not spoold has logged it yet.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "ctl.h"
#include "store_ack.h"

static int
tally(struct ctl *c, struct store_ack_tally *t)
{
	struct spool_error err;

	spool_clearerr(&err);
	return store_ack_tally(&c->store, c->now -
	    (int64_t)c->conf.ack_overdue_ms, t, &err);
}

void
ctl_ack_text(struct ctl *c)
{
	struct store_ack_tally t;

	if (tally(c, &t) == -1)
		return;
	if (t.pending + t.acknowledged + t.rejected == 0)
		return;
	printf("acks      %" PRId64 " awaited (%" PRId64 " overdue), %" PRId64
	    " acknowledged, %" PRId64 " rejected\n", t.pending, t.overdue,
	    t.acknowledged, t.rejected);
}

void
ctl_ack_json(struct ctl *c)
{
	struct store_ack_tally t;

	if (tally(c, &t) == -1)
		memset(&t, 0, sizeof(t));
	jd_key(&c->j, "acks");
	jd_object(&c->j);
	jd_kint(&c->j, "awaited", t.pending);
	jd_kint(&c->j, "overdue", t.overdue);
	jd_kint(&c->j, "acknowledged", t.acknowledged);
	jd_kint(&c->j, "rejected", t.rejected);
	jd_object_end(&c->j);
}

/* What show says of a row's state: acknowledged, rejected, ... */
static const char *
verdict(struct ctl *c, const struct store_ack_row *r)
{
	if (strcmp(r->state, "pending") != 0)
		return r->state;
	return r->sent_at < c->now - (int64_t)c->conf.ack_overdue_ms ?
	    "overdue" : "pending";
}

/* show --outbound PARTNER: the interchanges not acknowledged as accepted. */
#define OPEN_MAX	1000

struct open_walk {
	struct ctl	*c;
	int64_t		 n;
};

static void
row_json(struct ctl *c, const struct store_ack_row *r)
{
	jd_object(&c->j);
	jd_kstr(&c->j, "partner", r->partner);
	jd_kstr(&c->j, "syntax", r->syntax);
	jd_kstr(&c->j, "control", r->control);
	jd_ktime(&c->j, "sent_at", r->sent_at);
	jd_kstr(&c->j, "state", verdict(c, r));
	jd_kstr(&c->j, "code", r->code);
	if (r->acked_at > 0)
		jd_ktime(&c->j, "acked_at", r->acked_at);
	else
		jd_knull(&c->j, "acked_at");
	jd_object_end(&c->j);
}

static int
open_one(void *arg, const struct store_ack_row *r)
{
	struct open_walk *w = arg;
	char b[256], k[64], t[64];

	if (w->c->json) {
		row_json(w->c, r);
		w->n++;
		return 0;
	}
	if (w->n++ == 0)
		printf("%-14s %-7s %-19s %s\n", "control", "syntax", "sent",
		    "state");
	printf("%-14s %-7s %-19s %s%s%s\n", clean(b, sizeof(b), r->control,
	    0), r->syntax, tlocal(t, sizeof(t), r->sent_at, true),
	    verdict(w->c, r), r->code != NULL ? ", code " : "",
	    r->code != NULL ? clean(k, sizeof(k), r->code, 0) : "");
	return 0;
}

static int
show_open(struct ctl *c, const char *partner)
{
	struct open_walk w;
	struct spool_error err;
	int64_t settled;
	char b[256];

	memset(&w, 0, sizeof(w));
	w.c = c;
	spool_clearerr(&err);
	if (c->json) {
		jd_object(&c->j);
		jd_kstr(&c->j, "partner", partner);
		jd_key(&c->j, "interchanges");
		jd_array(&c->j);
	}
	if (store_ack_open(&c->store, partner, OPEN_MAX, open_one, &w,
	    &settled, &err) == -1)
		return store_fail(c, &err);
	if (c->json) {
		jd_array_end(&c->j);
		jd_kint(&c->j, "acknowledged", settled);
		jd_object_end(&c->j);
		return finish_json(c, w.n + settled > 0 ? EX_OK : EX_DATAERR);
	}
	if (w.n + settled == 0)
		return fail(EX_DATAERR, "no outbound interchange to %s",
		    clean(b, sizeof(b), partner, 0));
	if (w.n == OPEN_MAX)
		printf("(the oldest %d shown)\n", OPEN_MAX);
	printf("%" PRId64 " acknowledged (accepted or received), not "
	    "listed\n", settled);
	return EX_OK;
}

int
ctl_show_outbound(struct ctl *c, const char *partner, const char *control)
{
	struct store_ack_row r;
	struct spool_error err;
	char b[256], t[64];
	int rc;

	if (control == NULL)
		return show_open(c, partner);
	spool_clearerr(&err);
	if ((rc = store_ack_find(&c->store, partner, control, &r, &err)) ==
	    -1)
		return store_fail(c, &err);
	if (rc == 0)
		return fail(EX_DATAERR, "no outbound interchange %s to %s",
		    clean(b, sizeof(b), control, 0), clean(t, sizeof(t),
		    partner, 0));
	if (c->json) {
		row_json(c, &r);
		store_ack_row_free(&r);
		return finish_json(c, EX_OK);
	}
	printf("partner       %s\n", clean(b, sizeof(b), r.partner, 0));
	printf("interchange   %s %s\n", r.syntax, clean(b, sizeof(b),
	    r.control, 0));
	printf("sent          %s\n", tlocal(t, sizeof(t), r.sent_at, true));
	printf("state         %s%s%s\n", verdict(c, &r), r.code != NULL ?
	    ", code " : "", r.code != NULL ? clean(b, sizeof(b), r.code, 0) :
	    "");
	if (r.acked_at > 0)
		printf("acknowledged  %s\n", tlocal(t, sizeof(t), r.acked_at,
		    true));
	store_ack_row_free(&r);
	return EX_OK;
}
