/*
 * test_stamp.c - our control numbers stamped into outbound EDIFACT and
 * X12 (stamp.c): headers and trailers get the same number in the form
 * of their field, nothing else changes, and outbound that spoold would
 * itself reject is refused with the reason.
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

#include "edi.h"
#include "stamp.h"
#include "store.h"
#include "store_control.h"

static struct edi_limits lim;

struct counter {
	uint64_t	next[3];
	int		fail_at;	/* fail the n-th take (1-based), 0 */
	int		calls;
};

static int
take_counter(void *arg, const struct edi_interchange *ic, enum ctl_level lvl,
    uint64_t *num, struct spool_error *err)
{
	struct counter *c = arg;

	(void)ic;
	if (++c->calls == c->fail_at) {
		spool_seterr(err, "counter says no");
		return -1;
	}
	*num = c->next[lvl]++;
	return 0;
}

static char *
must_stamp(const char *in, struct counter *c, size_t *len)
{
	struct spool_error err;
	char *out = NULL, *copy = strdup(in);

	spool_clearerr(&err);
	if (stamp_envelopes(in, strlen(in), &lim, take_counter, c, &out, len,
	    &err) == -1)
		fail_msg("stamp: %s", err.msg);
	assert_string_equal(in, copy);	/* the input is never touched */
	free(copy);
	assert_int_equal(strlen(out), *len);
	return out;
}

static void
test_edifact_headers_and_trailers_get_one_number(void **state)
{
	static const char in[] =
	    "UNA:+.? '\r\n"
	    "UNB+UNOC:3+US:ZZ+THEM:ZZ+260101:1200+PROG?+REF'\r\n"
	    "UNG+ORDERS+US+THEM+260101:1200+G?:1+UN+D:96A'\r\n"
	    "UNH+1+ORDERS:D:96A:UN'BGM+220+X?+Y'UNT+3+1'\r\n"
	    "UNE+1+G?:1'\r\n"
	    "UNZ+1+PROG?+REF'\r\n";
	struct counter c = { { 501, 7, 1 }, 0, 0 };
	struct edi_interchange *ic;
	struct spool_error err;
	size_t len;
	char *out;

	(void)state;
	out = must_stamp(in, &c, &len);
	assert_string_equal(out,
	    "UNA:+.? '\r\n"
	    "UNB+UNOC:3+US:ZZ+THEM:ZZ+260101:1200+501'\r\n"
	    "UNG+ORDERS+US+THEM+260101:1200+7+UN+D:96A'\r\n"
	    "UNH+1+ORDERS:D:96A:UN'BGM+220+X?+Y'UNT+3+1'\r\n"
	    "UNE+1+7'\r\n"
	    "UNZ+1+501'\r\n");
	spool_clearerr(&err);
	assert_int_equal(edi_read(out, len, &lim, &ic, &err), 0);
	assert_string_equal(ic->control, "501");
	assert_string_equal(ic->groups[0].control, "7");
	edi_free(ic);
	free(out);
}

static void
test_x12_isa13_keeps_nine_digits_over_two_interchanges(void **state)
{
	static const char in[] =
	    "ISA*00*          *00*          *ZZ*ERP            *ZZ*ACME"
	    "           *260101*1200*^*00501*000000001*0*P*:~\n"
	    "GS*PO*ERPAPP*ACMEAPP*20260101*1200*1*X*005010~\n"
	    "ST*850*0001~\nBEG*00*SA*PO1**20260101~\nSE*3*0001~\n"
	    "GE*1*1~\n"
	    "GS*IN*ERPAPP*ACMEAPP*20260101*1200*2*X*005010~\n"
	    "ST*810*0001~\nBIG*20260101*I1~\nSE*3*0001~\n"
	    "GE*1*2~\n"
	    "IEA*2*1~\n"
	    "ISA*00*          *00*          *ZZ*ERP            *ZZ*ACME"
	    "           *260101*1200*^*00501*000000002*0*P*:~\n"
	    "GS*PO*ERPAPP*ACMEAPP*20260101*1200*3*X*005010~\n"
	    "ST*850*0001~\nBEG*00*SA*PO2**20260101~\nSE*3*0001~\n"
	    "GE*1*3~\n"
	    "IEA*1*000000002~\n";
	struct counter c = { { 123456789, 40, 1 }, 0, 0 };
	struct edi_interchange *ic;
	struct spool_error err;
	size_t len;
	char *out;

	(void)state;
	out = must_stamp(in, &c, &len);
	assert_non_null(strstr(out, "*00501*123456789*0*P*:~\nGS*PO*ERPAPP*"
	    "ACMEAPP*20260101*1200*40*X*005010~\n"));
	assert_non_null(strstr(out, "GE*1*40~\nGS*IN*ERPAPP*ACMEAPP*20260101*"
	    "1200*41*X*005010~\n"));
	assert_non_null(strstr(out, "GE*1*41~\nIEA*2*123456789~\n"));
	assert_non_null(strstr(out, "*00501*123456790*0*P*:~\nGS*PO*ERPAPP*"
	    "ACMEAPP*20260101*1200*42*X*005010~\n"));
	assert_non_null(strstr(out, "GE*1*42~\nIEA*1*123456790~\n"));
	/* IEA02 "1" got nine digits; GS06 and GE02 one digit more in
	   each of the three groups. */
	assert_int_equal(len, strlen(in) + 8 + 3 * 2);
	spool_clearerr(&err);
	assert_int_equal(edi_read(out, len, &lim, &ic, &err), 0);
	assert_string_equal(ic->control, "123456789");
	assert_string_equal(ic->next->control, "123456790");
	assert_string_equal(ic->groups[1].control, "41");
	edi_free(ic);
	free(out);
}

static void
test_outbound_that_does_not_tokenize_is_refused(void **state)
{
	static const char *bad[] = {
		"UNB+UNOC:3+US+THEM+260101:1200+1'UNH+1+ORDERS:D:96A:UN'"
		"UNT+2+1'UNZ+2+1'",		/* UNZ count */
		"UNB+UNOC:3+US+THEM+260101:1200+1'UNH+1+ORDERS:D:96A:UN'"
		"UNT+2+1'UNZ+1+2'",		/* UNZ reference */
		"UNB+UNOC:3+US+THEM+260101:1200+1'UNH+1+ORDERS:D:96A:UN'"
		"UNT+2+1'",			/* no UNZ */
		"<xml/>",
	};
	static const char own[] =
	    "UNB+UNOC:3+US+THEM+260101:1200+1'UNH+1+ORDERS:D:96A:UN'"
	    "UNT+5+1'UNZ+1+1'";
	struct counter c = { { 1, 1, 1 }, 0, 0 };
	struct spool_error err;
	size_t i, len;
	char *out;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		spool_clearerr(&err);
		assert_int_equal(stamp_envelopes(bad[i], strlen(bad[i]), &lim,
		    take_counter, &c, &out, &len, &err), -1);
		assert_null(out);
		assert_non_null(strstr(err.msg, "does not tokenize"));
	}
	spool_clearerr(&err);
	assert_int_equal(stamp_envelopes(own, strlen(own), &lim, take_counter,
	    &c, &out, &len, &err), -1);
	assert_non_null(strstr(err.msg, "UNT segment count"));
	assert_int_equal(c.calls, 0);	/* nothing taken for refusals */
	c.fail_at = 1;
	spool_clearerr(&err);
	assert_int_equal(stamp_envelopes(bad[0], strlen(bad[0]) - 5, &lim,
	    take_counter, &c, &out, &len, &err), -1);
	{
		static const char ok[] =
		    "UNB+UNOC:3+US+THEM+260101:1200+1'UNH+1+ORDERS:D:96A:UN'"
		    "UNT+2+1'UNZ+1+1'";

		c.calls = 0;
		spool_clearerr(&err);
		assert_int_equal(stamp_envelopes(ok, strlen(ok), &lim,
		    take_counter, &c, &out, &len, &err), -1);
		assert_string_equal(err.msg, "counter says no");
		assert_null(out);
	}
}

static void
test_numbers_come_from_the_store_never_twice(void **state)
{
	static const char in[] =
	    "UNB+UNOC:3+US:ZZ+THEM:ZZ+260101:1200+X'UNH+1+ORDERS:D:96A:UN'"
	    "UNT+2+1'UNZ+1+X'";
	static const char in2[] =
	    "UNB+UNOC:3+US:ZZ+OTHER:ZZ+260101:1200+X'UNH+1+ORDERS:D:96A:UN'"
	    "UNT+2+1'UNZ+1+X'";
	char dir[] = "/tmp/test_stamp.XXXXXX", db[64], cmd[96];
	struct stamp_store ss;
	struct spool_error err;
	struct store s;
	size_t len;
	char *out;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/spool.db", dir);
	spool_clearerr(&err);
	assert_int_equal(store_open(&s, db, STORE_CREATE, &err), 0);
	ss.store = &s;
	ss.partner = "them";
	ss.per_pair = 0;
	/* Outside a transaction: refused. */
	assert_int_equal(stamp_envelopes(in, strlen(in), &lim,
	    stamp_take_store, &ss, &out, &len, &err), -1);
	assert_non_null(strstr(err.msg, "outside a write transaction"));
	assert_int_equal(store_begin(&s, &err), 0);
	assert_int_equal(stamp_envelopes(in, strlen(in), &lim,
	    stamp_take_store, &ss, &out, &len, &err), 0);
	assert_non_null(strstr(out, "+1'UNH"));
	assert_non_null(strstr(out, "UNZ+1+1'"));
	free(out);
	assert_int_equal(stamp_envelopes(in, strlen(in), &lim,
	    stamp_take_store, &ss, &out, &len, &err), 0);
	assert_non_null(strstr(out, "UNZ+1+2'"));
	free(out);
	ss.per_pair = 1;
	assert_int_equal(stamp_envelopes(in2, strlen(in2), &lim,
	    stamp_take_store, &ss, &out, &len, &err), 0);
	assert_non_null(strstr(out, "UNZ+1+1'"));	/* its own pair */
	free(out);
	assert_int_equal(store_commit(&s, &err), 0);
	store_close(&s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_edifact_headers_and_trailers_get_one_number),
		cmocka_unit_test(
		    test_x12_isa13_keeps_nine_digits_over_two_interchanges),
		cmocka_unit_test(
		    test_outbound_that_does_not_tokenize_is_refused),
		cmocka_unit_test(test_numbers_come_from_the_store_never_twice),
	};

	edi_limits_default(&lim);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
