/*
 * ctl_control.c - spoolctl list --control and show --interchange: the
 * state of ordering by interchange control number (DESIGN 16) per
 * (partner, sender id, recipient id) pair, and the messages and fates of
 * one interchange number.
 *
 * Read-only, in one read transaction each. Text output passes partner
 * data through clean(); the JSON is view.c's (jv_controls,
 * jv_interchange).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "ctl.h"
#include "store_order.h"

static int
pair_line(void *arg, const struct store_ic_pair *p)
{
	int *n = arg;
	char b[600], b2[300], gaps[256], parked[256];
	size_t i, o = 0, g = 0;
	int64_t from;

	if ((*n)++ == 0)
		printf("%-12s %-44s %8s  %-20s %s\n", "PARTNER", "PAIR", "NEXT",
		    "PARKED", "GAPS");
	parked[0] = gaps[0] = '\0';
	for (i = 0; i < p->nparked && o < sizeof(parked) - 24; i++)
		o += (size_t)snprintf(parked + o, sizeof(parked) - o, "%s%"
		    PRId64, i ? "," : "", p->parked[i]);
	for (i = 0, from = p->next; i < p->nparked &&
	    g < sizeof(gaps) - 48; i++) {
		if (p->parked[i] == from + 1)
			g += (size_t)snprintf(gaps + g, sizeof(gaps) - g,
			    "%s%" PRId64, g ? "," : "", from);
		else if (p->parked[i] > from)
			g += (size_t)snprintf(gaps + g, sizeof(gaps) - g,
			    "%s%" PRId64 "-%" PRId64, g ? "," : "", from,
			    p->parked[i] - 1);
		if (p->parked[i] >= from)
			from = p->parked[i] + 1;
	}
	printf("%-12s %-44s %8" PRId64 "  %-20s %s%s\n",
	    clean(b2, sizeof(b2), p->partner, 0),
	    clean(b, sizeof(b), p->pair, 0), p->next,
	    parked[0] != '\0' ? parked : "-", gaps[0] != '\0' ? gaps : "-",
	    p->gap_alerted ? " (alerted)" : "");
	return 0;
}

int
cmd_list_control(struct ctl *c, const char *partner)
{
	struct spool_error err;
	int n = 0, rc;

	spool_clearerr(&err);
	if (c->json) {
		if (jv_controls(&c->j, &c->store, partner, &err) == -1)
			return store_fail(c, &err);
		return finish_json(c, EX_OK);
	}
	if (store_admin_read_begin(&c->store, &err) == -1)
		return store_fail(c, &err);
	rc = store_ic_pairs(&c->store, partner, pair_line, &n, &err);
	store_admin_read_end(&c->store);
	if (rc == -1)
		return store_fail(c, &err);
	if (n == 0)
		printf("no pair is ordered by interchange control number\n");
	return EX_OK;
}

static int
msg_line(void *arg, const struct store_ic_msg *m)
{
	int *n = arg;
	char b[600], b2[300], b3[300], r[1024];

	if ((*n)++ == 0)
		printf("%-7s %-40s %-9s %-16s %s\n", "ID", "PAIR", "STATE",
		    "TYPE", "FILE / FATE");
	printf("%-7" PRId64 " %-40s %-9s %-16s %s\n", m->id,
	    clean(b, sizeof(b), m->pair, 0), m->duplicate_of != 0 ?
	    "duplicate" : m->state >= 0 ? state_name(m->state) : "?",
	    clean(b2, sizeof(b2), m->type, 0), clean(b3, sizeof(b3),
	    m->orig_name, 0));
	if (m->duplicate_of != 0)
		printf("%-7s duplicate of %" PRId64 "\n", "", m->duplicate_of);
	else if (m->reason != NULL)
		printf("%-7s %s\n", "", first_line(r, sizeof(r), m->reason,
		    0));
	return 0;
}

int
cmd_show_interchange(struct ctl *c, const char *partner, const char *num)
{
	struct spool_error err;
	int64_t n;
	int k = 0, rc;

	if (parse_int(num, 0, &n) == -1)
		return fail(EX_USAGE, "show: %s is not an interchange control "
		    "number", num);
	spool_clearerr(&err);
	if (c->json) {
		if (jv_interchange(&c->j, &c->store, partner, n, &err) == -1)
			return store_fail(c, &err);
		return finish_json(c, EX_OK);
	}
	if (store_admin_read_begin(&c->store, &err) == -1)
		return store_fail(c, &err);
	rc = store_ic_msgs(&c->store, partner, n, msg_line, &k, &err);
	store_admin_read_end(&c->store);
	if (rc == -1)
		return store_fail(c, &err);
	if (k == 0) {
		char b[300];

		printf("partner %s has no message under interchange control "
		    "number %" PRId64 "\n", clean(b, sizeof(b), partner, 0), n);
		return EX_DATAERR;
	}
	return EX_OK;
}
