/*
 * test_store_ack.c - our interchanges awaiting acknowledgment
 * (store_ack.c): an outbound interchange stamped with our numbers is
 * recorded, the partner's 997, CONTRL or TA1 (written here by
 * ack_write() as the partner would, read by ack_read()) is matched to it,
 * and one still pending after ack_overdue is reported once.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ack.h"
#include "ack_read.h"
#include "edi.h"
#include "stamp.h"
#include "store.h"
#include "store_ack.h"

static char dir[64], db[96];
static struct edi_limits lim;

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_store_ack.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(db, sizeof(db), "%s/spool.db", dir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char x12_out[] =
    "ISA*00*          *00*          *ZZ*ERP            *ZZ*ACME"
    "           *260101*1200*U*00401*000000001*0*P*>~"
    "GS*PO*ERPAPP*ACMEAPP*20260101*1200*1*X*004010~"
    "ST*850*0001~BEG*00*SA*PO1**20260101~SE*3*0001~"
    "ST*850*0002~BEG*00*SA*PO2**20260101~SE*3*0002~GE*2*1~"
    "GS*IN*ERPAPP*ACMEAPP*20260101*1200*1*X*004010~"
    "ST*810*0001~BIG*20260101*I1~SE*3*0001~GE*1*1~"
    "IEA*2*1~";

static const char edifact_out[] =
    "UNB+UNOC:3+ERP:ZZ+ACME:ZZ+260101:1200+X'"
    "UNH+1+ORDERS:D:96A:UN'BGM+220+PO1'UNT+3+1'UNZ+1+X'";

/* Stamp buf from the store's counters and record it as expecting an
   acknowledgment; *sent the stamped interchange, re-read. */
static int64_t
send_one(struct store *s, const char *buf, struct edi_interchange **sent,
    char **bytes, size_t *len)
{
	struct stamp_store ss = { s, "acme", 0 };
	const char *groups[8];
	struct spool_error err;
	int64_t id;
	size_t i;

	spool_clearerr(&err);
	if (stamp_envelopes(buf, strlen(buf), &lim, stamp_take_store, &ss,
	    bytes, len, &err) == -1 ||
	    edi_read(*bytes, *len, &lim, sent, &err) == -1)
		fail_msg("%s", err.msg);
	for (i = 0; i < (*sent)->ngroups && i < 8; i++)
		groups[i] = (*sent)->groups[i].control;
	if (store_ack_expect(s, "acme", (*sent)->syntax, (*sent)->control,
	    groups, i, 0, &id, &err) == -1)
		fail_msg("%s", err.msg);
	return id;
}

/* The partner's acknowledgment of ic, as its translator would write
   it, read by ack_read(). */
static struct ack_report *
partner_ack(enum ack_kind k, const struct edi_interchange *ic,
    const struct ack_verdict *v, enum ack_reason env)
{
	struct ack_report *r = NULL;
	struct spool_error err;
	struct ack_input in;
	char *out;
	size_t len;

	memset(&in, 0, sizeof(in));
	in.ic = ic;
	in.verdicts = v;
	in.envelope = env;
	in.control = 900;
	in.group = 900;
	in.message = 1;
	spool_clearerr(&err);
	if (ack_write(k, &in, &out, &len, &err) == -1 ||
	    ack_read(out, len, &lim, &r, &err) == -1)
		fail_msg("%s", err.msg);
	free(out);
	return r;
}

static void
open_tx(struct store *s)
{
	struct spool_error err;

	spool_clearerr(&err);
	if (store_open(s, db, STORE_CREATE, &err) == -1 ||
	    store_begin(s, &err) == -1)
		fail_msg("%s", err.msg);
}

static void
test_997s_settle_each_group_then_the_interchange(void **state)
{
	struct edi_interchange *ic;
	struct ack_verdict v[3];
	struct store_ack_row row;
	struct ack_report *r, *p;
	struct spool_error err;
	struct store s;
	int64_t id, got;
	char *bytes;
	size_t len;

	(void)state;
	open_tx(&s);
	id = send_one(&s, x12_out, &ic, &bytes, &len);
	assert_string_equal(ic->control, "000000001");
	assert_string_equal(ic->groups[0].control, "1");
	assert_string_equal(ic->groups[1].control, "2");
	memset(v, 0, sizeof(v));
	v[2].reason = ACK_MSG_INVALID;
	r = partner_ack(ACK_997, ic, v, ACK_OK);
	assert_non_null(r->next);
	/* The first group's 997: the interchange still waits. */
	assert_int_equal(store_ack_match(&s, "acme", r, 77, &got, &err), 0);
	assert_int_equal(got, id);
	assert_int_equal(store_ack_find(&s, "acme", "1", &row, &err), 1);
	assert_string_equal(row.state, "pending");
	store_ack_row_free(&row);
	/* The second one, rejecting its set: partial. */
	p = r->next;
	assert_int_equal(store_ack_match(&s, "acme", p, 78, &got, &err), 0);
	assert_int_equal(got, id);
	assert_int_equal(store_ack_find(&s, "acme", "000000001", &row, &err),
	    1);
	assert_string_equal(row.state, "partial");
	assert_true(row.acked_at > 0);
	store_ack_row_free(&row);
	/* Another partner's ack of the same number matches nothing. */
	assert_int_equal(store_ack_match(&s, "bolt", r, 79, &got, &err), 0);
	assert_int_equal(got, 0);
	ack_report_free(r);
	edi_free(ic);
	free(bytes);
	assert_int_equal(store_commit(&s, &err), 0);
	store_close(&s);
}

static void
test_contrl_and_ta1_settle_by_interchange_number(void **state)
{
	struct edi_interchange *ic, *ic2;
	struct store_ack_row row;
	struct ack_report *r, ta1;
	struct spool_error err;
	struct store s;
	int64_t id, id2, got;
	char *bytes, *bytes2;
	size_t len;

	(void)state;
	open_tx(&s);
	id = send_one(&s, edifact_out, &ic, &bytes, &len);
	assert_string_equal(ic->control, "1");
	r = partner_ack(ACK_CONTRL, ic, NULL, ACK_OK);
	assert_int_equal(store_ack_match(&s, "acme", r, 5, &got, &err), 0);
	assert_int_equal(got, id);
	assert_int_equal(store_ack_find(&s, "acme", "1", &row, &err), 1);
	assert_string_equal(row.state, "accepted");
	assert_string_equal(row.syntax, "edifact");
	store_ack_row_free(&row);
	ack_report_free(r);
	/* A CONTRL rejecting the interchange, with its code. */
	id2 = send_one(&s, edifact_out, &ic2, &bytes2, &len);
	r = partner_ack(ACK_CONTRL, ic2, NULL, ACK_ENV_COUNT);
	assert_int_equal(store_ack_match(&s, "acme", r, 6, &got, &err), 0);
	assert_int_equal(got, id2);
	assert_int_equal(store_ack_find(&s, "acme", "2", &row, &err), 1);
	assert_string_equal(row.state, "rejected");
	assert_string_equal(row.code, "29");
	store_ack_row_free(&row);
	ack_report_free(r);
	edi_free(ic);
	edi_free(ic2);
	free(bytes);
	free(bytes2);
	/* TA1: A tells of the envelope only; R rejects. */
	id = send_one(&s, x12_out, &ic, &bytes, &len);
	memset(&ta1, 0, sizeof(ta1));
	ta1.kind = ACK_TA1;
	ta1.control = (char *)"1";	/* TA101 as a number */
	ta1.status = ACKST_ACCEPTED;
	assert_int_equal(store_ack_match(&s, "acme", &ta1, 7, &got, &err), 0);
	assert_int_equal(got, id);
	assert_int_equal(store_ack_find(&s, "acme", "1", &row, &err), 1);
	assert_string_equal(row.syntax, "x12");
	assert_string_equal(row.state, "received");
	store_ack_row_free(&row);
	ta1.status = ACKST_REJECTED;
	snprintf(ta1.code, sizeof(ta1.code), "025");
	assert_int_equal(store_ack_match(&s, "acme", &ta1, 8, &got, &err), 0);
	assert_int_equal(store_ack_find(&s, "acme", "000000001", &row, &err),
	    1);
	assert_string_equal(row.state, "rejected");
	assert_string_equal(row.code, "025");
	store_ack_row_free(&row);
	edi_free(ic);
	free(bytes);
	assert_int_equal(store_commit(&s, &err), 0);
	store_close(&s);
}

struct seen {
	int	n;
	char	last[32];
};

static int
on_overdue(void *arg, const struct store_ack_row *row)
{
	struct seen *sn = arg;

	sn->n++;
	snprintf(sn->last, sizeof(sn->last), "%s", row->control);
	return 0;
}

static void
test_overdue_is_reported_once_and_never_when_settled(void **state)
{
	struct edi_interchange *ic, *ic2;
	struct seen sn = { 0, "" };
	struct ack_report *r;
	struct spool_error err;
	struct store s;
	int64_t got;
	char *b1, *b2;
	size_t len;

	(void)state;
	open_tx(&s);
	send_one(&s, edifact_out, &ic, &b1, &len);
	send_one(&s, edifact_out, &ic2, &b2, &len);
	r = partner_ack(ACK_CONTRL, ic, NULL, ACK_OK);
	assert_int_equal(store_ack_match(&s, "acme", r, 5, &got, &err), 0);
	ack_report_free(r);
	/* Nothing is overdue before its time. */
	assert_int_equal(store_ack_overdue(&s, 0, on_overdue, &sn, &err), 0);
	assert_int_equal(sn.n, 0);
	assert_int_equal(store_ack_overdue(&s, store_now_ms() + 1000,
	    on_overdue, &sn, &err), 0);
	assert_int_equal(sn.n, 1);
	assert_string_equal(sn.last, "2");
	assert_int_equal(store_ack_overdue(&s, store_now_ms() + 1000,
	    on_overdue, &sn, &err), 0);
	assert_int_equal(sn.n, 1);
	assert_int_equal(store_commit(&s, &err), 0);
	/* show --outbound PARTNER: the one not acknowledged, the other
	   counted; another partner has none. */
	{
		struct seen op = { 0, "" };
		int64_t settled;

		assert_int_equal(store_ack_open(&s, "acme", 0, on_overdue,
		    &op, &settled, &err), 0);
		assert_int_equal(op.n, 1);
		assert_string_equal(op.last, "2");
		assert_int_equal(settled, 1);
		op.n = 0;
		assert_int_equal(store_ack_open(&s, "other", 0, on_overdue,
		    &op, &settled, &err), 0);
		assert_int_equal(op.n + settled, 0);
	}
	/* Outside a transaction: refused. */
	assert_int_equal(store_ack_overdue(&s, store_now_ms() + 1000,
	    on_overdue, &sn, &err), -1);
	assert_non_null(strstr(err.msg, "outside a write transaction"));
	edi_free(ic);
	edi_free(ic2);
	free(b1);
	free(b2);
	store_close(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_997s_settle_each_group_then_the_interchange, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_contrl_and_ta1_settle_by_interchange_number, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_overdue_is_reported_once_and_never_when_settled, setup,
		    teardown),
	};

	edi_limits_default(&lim);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
