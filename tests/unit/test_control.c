/*
 * test_control.c - our control numbers (store_control.c): taken inside
 * a write transaction, consecutive, never twice, per key, within the
 * standards' ranges, wrapping to 1.
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

#include "store.h"
#include "store_control.h"

static char dir[64], db[96];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_control.XXXXXX");
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

static void
open_store(struct store *s)
{
	struct spool_error err;

	spool_clearerr(&err);
	if (store_open(s, db, STORE_CREATE, &err) == -1)
		fail_msg("%s", err.msg);
}

static uint64_t
take(struct store *s, const struct ctl_key *k, uint64_t n)
{
	struct spool_error err;
	uint64_t v = 0;

	spool_clearerr(&err);
	if (store_control_take(s, k, n, &v, &err) == -1)
		fail_msg("%s", err.msg);
	return v;
}

static void
test_take_outside_transaction_is_refused(void **state)
{
	struct ctl_key k = { "acme", EDI_X12, CTL_INTERCHANGE, NULL };
	struct spool_error err;
	struct store s;
	uint64_t v;

	(void)state;
	open_store(&s);
	spool_clearerr(&err);
	assert_int_equal(store_control_take(&s, &k, 1, &v, &err), -1);
	assert_non_null(strstr(err.msg, "outside a write transaction"));
	store_close(&s);
}

static void
test_numbers_are_consecutive_and_survive_reopen(void **state)
{
	struct ctl_key k = { "acme", EDI_X12, CTL_INTERCHANGE, NULL };
	struct spool_error err;
	struct store s;
	uint64_t v;

	(void)state;
	open_store(&s);
	assert_int_equal(store_begin(&s, &err), 0);
	assert_int_equal(take(&s, &k, 1), 1);
	assert_int_equal(take(&s, &k, 1), 2);
	assert_int_equal(take(&s, &k, 3), 3);	/* 3, 4, 5 */
	assert_int_equal(take(&s, &k, 1), 6);
	assert_int_equal(store_commit(&s, &err), 0);
	store_close(&s);
	open_store(&s);
	assert_int_equal(store_control_peek(&s, &k, &v, &err), 0);
	assert_int_equal(v, 7);
	assert_int_equal(store_begin(&s, &err), 0);
	assert_int_equal(take(&s, &k, 1), 7);
	assert_int_equal(store_commit(&s, &err), 0);
	store_close(&s);
}

static void
test_rollback_gives_the_number_back(void **state)
{
	struct ctl_key k = { "acme", EDI_EDIFACT, CTL_INTERCHANGE, NULL };
	struct spool_error err;
	struct store s;

	(void)state;
	open_store(&s);
	assert_int_equal(store_begin(&s, &err), 0);
	assert_int_equal(take(&s, &k, 1), 1);
	assert_int_equal(store_commit(&s, &err), 0);
	assert_int_equal(store_begin(&s, &err), 0);
	assert_int_equal(take(&s, &k, 1), 2);
	store_rollback(&s);	/* nobody saw 2 */
	assert_int_equal(store_begin(&s, &err), 0);
	assert_int_equal(take(&s, &k, 1), 2);
	assert_int_equal(store_commit(&s, &err), 0);
	store_close(&s);
}

static void
test_each_key_counts_on_its_own(void **state)
{
	struct ctl_key a = { "acme", EDI_X12, CTL_INTERCHANGE, NULL };
	struct ctl_key b = { "acme", EDI_X12, CTL_GROUP, NULL };
	struct ctl_key c = { "acme", EDI_EDIFACT, CTL_INTERCHANGE, NULL };
	struct ctl_key d = { "bolt", EDI_X12, CTL_INTERCHANGE, NULL };
	struct ctl_key e = { "acme", EDI_X12, CTL_INTERCHANGE,
	    "ZZ:ERP>ZZ:ACME2" };
	struct spool_error err;
	struct store s;

	(void)state;
	open_store(&s);
	assert_int_equal(store_begin(&s, &err), 0);
	assert_int_equal(take(&s, &a, 1), 1);
	assert_int_equal(take(&s, &a, 1), 2);
	assert_int_equal(take(&s, &b, 1), 1);
	assert_int_equal(take(&s, &c, 1), 1);
	assert_int_equal(take(&s, &d, 1), 1);
	assert_int_equal(take(&s, &e, 1), 1);
	assert_int_equal(take(&s, &a, 1), 3);
	assert_int_equal(store_commit(&s, &err), 0);
	store_close(&s);
}

static void
test_x12_wraps_after_nine_digits_to_one(void **state)
{
	struct ctl_key k = { "acme", EDI_X12, CTL_INTERCHANGE, NULL };
	struct spool_error err;
	struct store s;

	(void)state;
	open_store(&s);
	assert_int_equal(store_begin(&s, &err), 0);
	assert_int_equal(store_control_set(&s, &k, 999999998, &err), 0);
	assert_int_equal(take(&s, &k, 1), 999999998);
	assert_int_equal(take(&s, &k, 1), 999999999);
	assert_int_equal(take(&s, &k, 1), 1);
	/* A run never straddles the top. */
	assert_int_equal(store_control_set(&s, &k, 999999998, &err), 0);
	assert_int_equal(take(&s, &k, 3), 1);
	assert_int_equal(take(&s, &k, 1), 4);
	assert_int_equal(store_commit(&s, &err), 0);
	store_close(&s);
}

static void
test_edifact_runs_to_fourteen_digits(void **state)
{
	struct ctl_key k = { "acme", EDI_EDIFACT, CTL_INTERCHANGE, NULL };
	struct spool_error err;
	struct store s;

	(void)state;
	open_store(&s);
	assert_int_equal(store_begin(&s, &err), 0);
	assert_int_equal(store_control_set(&s, &k, 1000000000, &err), 0);
	assert_int_equal(take(&s, &k, 1), 1000000000);
	assert_int_equal(store_control_set(&s, &k, UINT64_C(99999999999999),
	    &err), 0);
	assert_true(take(&s, &k, 1) == UINT64_C(99999999999999));
	assert_int_equal(take(&s, &k, 1), 1);
	assert_int_equal(store_control_set(&s, &k, UINT64_C(100000000000000),
	    &err), -1);
	assert_int_equal(store_control_set(&s, &k, 0, &err), -1);
	assert_int_equal(store_commit(&s, &err), 0);
	store_close(&s);
}

static void
test_take_refuses_silly_runs(void **state)
{
	struct ctl_key k = { "acme", EDI_X12, CTL_MESSAGE, NULL };
	struct ctl_key bad = { "acme", EDI_NONE, CTL_MESSAGE, NULL };
	struct spool_error err;
	struct store s;
	uint64_t v;

	(void)state;
	open_store(&s);
	assert_int_equal(store_begin(&s, &err), 0);
	assert_int_equal(store_control_take(&s, &k, 0, &v, &err), -1);
	assert_int_equal(store_control_take(&s, &k, 1001, &v, &err), -1);
	assert_int_equal(store_control_take(&s, &bad, 1, &v, &err), -1);
	assert_int_equal(store_commit(&s, &err), 0);
	store_close(&s);
}

static void
test_format_follows_each_field(void **state)
{
	char b[32];

	(void)state;
	assert_int_equal(ctl_format(EDI_X12, CTL_INTERCHANGE, 42, b,
	    sizeof(b)), 0);
	assert_string_equal(b, "000000042");
	assert_int_equal(ctl_format(EDI_X12, CTL_GROUP, 42, b, sizeof(b)), 0);
	assert_string_equal(b, "42");
	assert_int_equal(ctl_format(EDI_X12, CTL_MESSAGE, 42, b, sizeof(b)),
	    0);
	assert_string_equal(b, "0042");
	assert_int_equal(ctl_format(EDI_X12, CTL_MESSAGE, 123456789, b,
	    sizeof(b)), 0);
	assert_string_equal(b, "123456789");
	assert_int_equal(ctl_format(EDI_EDIFACT, CTL_INTERCHANGE,
	    UINT64_C(99999999999999), b, sizeof(b)), 0);
	assert_string_equal(b, "99999999999999");
	assert_int_equal(ctl_format(EDI_X12, CTL_INTERCHANGE, 1000000000, b,
	    sizeof(b)), -1);
	assert_int_equal(ctl_format(EDI_X12, CTL_INTERCHANGE, 0, b,
	    sizeof(b)), -1);
	assert_int_equal(ctl_format(EDI_X12, CTL_INTERCHANGE, 1, b, 9), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_take_outside_transaction_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_numbers_are_consecutive_and_survive_reopen, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_rollback_gives_the_number_back, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_each_key_counts_on_its_own, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_x12_wraps_after_nine_digits_to_one, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_edifact_runs_to_fourteen_digits, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_take_refuses_silly_runs, setup, teardown),
		cmocka_unit_test(test_format_follows_each_field),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
