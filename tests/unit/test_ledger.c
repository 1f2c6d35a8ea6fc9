/*
 * test_ledger.c - the ledger handler's FinancialPosting on documents
 * that no schema checked: the rows it writes (line numbers, both sides,
 * currency, postings of any number of lines, values in pieces), and the
 * permanent failures and their reasons for what is malformed (a line
 * with neither or both amounts, a negative, overflowing, empty or
 * non-integer amount, a missing, empty or too long Account, amounts
 * whose sum overflows, an unbalanced posting, no Line).
 *
 * The handler is called directly, in a store transaction, on a message
 * row of its own (the postings name it).
 */
#include "config.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libxml/parser.h>

#include "handler.h"
#include "message.h"
#include "store.h"
#include "store_cycle.h"

struct env {
	char		 root[64];
	struct store	 store;
};

static int
setup(void **state)
{
	struct spool_error err;
	struct env *e = calloc(1, sizeof(*e));
	char db[128];

	if (e == NULL)
		return -1;
	snprintf(e->root, sizeof(e->root), "/tmp/test_ledger.XXXXXX");
	if (mkdtemp(e->root) == NULL)
		return -1;
	snprintf(db, sizeof(db), "%s/spool.db", e->root);
	if (store_open_with(&e->store, db, STORE_CREATE, handler_components,
	    &err) == -1) {
		fprintf(stderr, "store: %s\n", err.msg);
		return -1;
	}
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;
	char cmd[128];
	int rc;

	store_close(&e->store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->root);
	rc = system(cmd) == 0 ? 0 : -1;
	free(e);
	return rc;
}

/* A message row for the postings to name. */
static int64_t
new_message(struct env *e)
{
	struct spool_error err;
	struct store_newmsg m;
	int64_t id;

	memset(&m, 0, sizeof(m));
	m.partner = "acme";
	m.orig_name = "upload.xml";
	m.state = ST_QUEUE;
	m.type = "FinancialPosting";
	m.sender = "acme";
	m.size = 10;
	assert_int_equal(store_insert(&e->store, &m, &id, &err), 0);
	return id;
}

/*
 * Apply a FinancialPosting whose Body holds body (as message id, or a
 * new message when id is 0) in a transaction of its own that commits
 * only when the handler answers CYCLE_OK; the reason into reason.
 */
static enum cycle_result
post_as(struct env *e, int64_t id, const char *body, char *reason,
    size_t len)
{
	struct spool_error err;
	struct store_work w;
	struct cycle_msg cm;
	struct msg msg;
	enum cycle_result r;
	char *doc;
	int n;

	n = asprintf(&doc, "<?xml version=\"1.0\"?>\n<FinancialPosting>"
	    "<Header/>\n<Body>%s</Body></FinancialPosting>\n", body);
	assert_true(n > 0);
	memset(&msg, 0, sizeof(msg));
	msg.doc = xmlReadMemory(doc, n, "posting.xml", NULL, XML_PARSE_NONET |
	    XML_PARSE_COMPACT);
	assert_non_null(msg.doc);
	assert_int_equal(store_begin(&e->store, &err), 0);
	memset(&w, 0, sizeof(w));
	w.id = id != 0 ? id : new_message(e);
	w.type = (char *)"FinancialPosting";
	memset(&cm, 0, sizeof(cm));
	cm.work = &w;
	cm.attempt = 1;
	cm.buf = doc;
	cm.len = (size_t)n;
	cm.msg = &msg;
	reason[0] = '\0';
	r = ledger_handler.apply(&e->store, NULL, NULL, &cm, reason, len);
	if (r == CYCLE_OK)
		assert_int_equal(store_commit(&e->store, &err), 0);
	else
		store_rollback(&e->store);
	xmlFreeDoc(msg.doc);
	free(doc);
	return r;
}

static enum cycle_result
post(struct env *e, const char *body, char *reason, size_t len)
{
	return post_as(e, 0, body, reason, len);
}

/* The last message's postings, one "line account debit credit currency"
 * per row, in line order, joined by '\n'. */
static void
rows(struct env *e, char *out, size_t len)
{
	sqlite3_stmt *st;
	size_t off = 0;

	assert_int_equal(sqlite3_prepare_v2(e->store.db, "SELECT line, "
	    "account, debit, credit, coalesce(currency, '-') FROM "
	    "ledger_postings WHERE message = (SELECT max(message) FROM "
	    "ledger_postings) ORDER BY line", -1, &st, NULL), SQLITE_OK);
	out[0] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW) {
		off += (size_t)snprintf(out + off, len - off, "%s%d %s %"
		    PRId64 " %" PRId64 " %s", off > 0 ? "\n" : "",
		    sqlite3_column_int(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    (int64_t)sqlite3_column_int64(st, 2),
		    (int64_t)sqlite3_column_int64(st, 3),
		    (const char *)sqlite3_column_text(st, 4));
		assert_true(off < len);
	}
	sqlite3_finalize(st);
}

static int
count_rows(struct env *e)
{
	sqlite3_stmt *st;
	int n;

	assert_int_equal(sqlite3_prepare_v2(e->store.db, "SELECT count(*) "
	    "FROM ledger_postings", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* The times (at) of the last message's lines: how many different. */
static int
count_times(struct env *e)
{
	sqlite3_stmt *st;
	int n;

	assert_int_equal(sqlite3_prepare_v2(e->store.db, "SELECT count("
	    "DISTINCT at) FROM ledger_postings WHERE message = (SELECT "
	    "max(message) FROM ledger_postings) AND at > 0", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* The posting is applied, its rows are want, all of one time. */
static void
expect_ok(struct env *e, const char *body, const char *want)
{
	char reason[1024], got[8192];

	assert_int_equal(post(e, body, reason, sizeof(reason)), CYCLE_OK);
	rows(e, got, sizeof(got));
	assert_string_equal(got, want);
	assert_int_equal(count_times(e), 1);
}

static void
expect_fail(struct env *e, const char *body, const char *want)
{
	char reason[1024];
	int before = count_rows(e);

	assert_int_equal(post(e, body, reason, sizeof(reason)),
	    CYCLE_PERMANENT);
	assert_string_equal(reason, want);
	assert_int_equal(count_rows(e), before);
}

#define L(acct, amount)	"<Line><Account>" acct "</Account>" amount "</Line>"
#define D(v)		"<Debit>" v "</Debit>"
#define C(v)		"<Credit>" v "</Credit>"

static void
test_rows(void **state)
{
	struct env *e = *state;

	expect_ok(e, "<Currency>EUR</Currency>" L("4000", D("150"))
	    L("4010", D("50")) L("1200", C("200")),
	    "1 4000 150 0 EUR\n2 4010 50 0 EUR\n3 1200 0 200 EUR");
	/* No Currency: NULL, also right after a posting that had one. */
	expect_ok(e, L("4000", D("7")) L("1200", C("7")),
	    "1 4000 7 0 -\n2 1200 0 7 -");
	/* One line of 0 balances. */
	expect_ok(e, L("9999", C("0")), "1 9999 0 0 -");
	/* Space around values, a sign, the amount before the Account,
	 * other elements beside them, the first of two Accounts. */
	expect_ok(e, "<Currency> USD </Currency><Line><Account>\n 4000\t"
	    "</Account><Debit> +42 </Debit><Note>x</Note></Line>"
	    "<Line><Credit>42</Credit><Account>1200</Account><Account>X"
	    "</Account></Line>", "1 4000 42 0 USD\n2 1200 0 42 USD");
	/* The largest amount. */
	expect_ok(e, L("4000", D("9223372036854775807"))
	    L("1200", C("9223372036854775807")),
	    "1 4000 9223372036854775807 0 -\n"
	    "2 1200 0 9223372036854775807 -");
	/* Values in pieces (a comment, CDATA) are read whole. */
	expect_ok(e, "<Line><Account>40<!-- c -->00</Account><Debit>1<!--x-->"
	    "00</Debit></Line><Line><Account><![CDATA[12]]>00</Account>"
	    "<Credit><![CDATA[100]]></Credit></Line>",
	    "1 4000 100 0 -\n2 1200 0 100 -");
}

/*
 * A balanced posting of n lines (n - 1 debits A1.. of 1.., a credit B of
 * their sum) and the rows it should give; line 35's Account in pieces.
 */
static void
posting_of(int n, char *body, size_t blen, char *want, size_t wlen)
{
	char acct[64];
	size_t bo = 0, wo = 0;
	int i;

	for (i = 1; i < n; i++) {
		if (i == 35)
			snprintf(acct, sizeof(acct), "A<!-- -->%d", i);
		else
			snprintf(acct, sizeof(acct), "A%d", i);
		bo += (size_t)snprintf(body + bo, blen - bo, "<Line><Account>%s"
		    "</Account><Debit>%d</Debit></Line>", acct, i);
		wo += (size_t)snprintf(want + wo, wlen - wo, "%d A%d %d 0 -\n",
		    i, i, i);
	}
	bo += (size_t)snprintf(body + bo, blen - bo, "<Line><Account>B"
	    "</Account><Credit>%d</Credit></Line>", n * (n - 1) / 2);
	wo += (size_t)snprintf(want + wo, wlen - wo, "%d B 0 %d -", n,
	    n * (n - 1) / 2);
	assert_true(bo < blen && wo < wlen);
}

/* Postings of 2 to 70 lines: every split into INSERTs, and more lines
 * than are kept on the stack, one Account in pieces on the heap. */
static void
test_many_lines(void **state)
{
	struct env *e = *state;
	char body[16384], want[8192];
	int n;

	for (n = 2; n <= 70; n++) {
		posting_of(n, body, sizeof(body), want, sizeof(want));
		expect_ok(e, body, want);
	}
}

/*
 * Many postings in a row with the same count get an INSERT of their own
 * (after 32): the rows are the same before, with and after it, and when
 * the count changes, and for counts it is not made for.
 */
static void
test_same_counts(void **state)
{
	static const struct { int n, times; } runs[] = {
		{ 26, 40 }, { 32, 40 }, { 26, 3 }, { 70, 40 }, { 16, 35 },
		{ 3, 40 }, { 32, 2 }, { 3, 1 },
	};
	struct env *e = *state;
	char body[16384], want[8192];
	size_t i;
	int t;

	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		posting_of(runs[i].n, body, sizeof(body), want, sizeof(want));
		for (t = 0; t < runs[i].times; t++)
			expect_ok(e, body, want);
	}
}

static void
test_bad_amounts(void **state)
{
	struct env *e = *state;

	expect_fail(e, L("4000", D("10") C("10")),
	    "posting line 1 (account 4000) needs one non-negative Debit or "
	    "Credit");
	expect_fail(e, L("4000", D("10")) L("1200", ""),
	    "posting line 2 (account 1200) needs one non-negative Debit or "
	    "Credit");
	expect_fail(e, L("4000", D("-5")) L("1200", C("-5")),
	    "posting line 1 (account 4000) needs one non-negative Debit or "
	    "Credit");
	expect_fail(e, L("4000", D("5")) L("1200", C("-9223372036854775808")),
	    "posting line 2 (account 1200) needs one non-negative Debit or "
	    "Credit");
	expect_fail(e, L("4000", D("9223372036854775808")),
	    "Debit \"9223372036854775808\" is not an integer in range");
	expect_fail(e, L("4000", C("-9223372036854775809")),
	    "Credit \"-9223372036854775809\" is not an integer in range");
	expect_fail(e, L("4000", D("99999999999999999999999")),
	    "Debit \"99999999999999999999999\" is not an integer in range");
	expect_fail(e, L("4000", D("")), "Debit \"\" is not an integer");
	expect_fail(e, L("4000", "<Debit/>"), "Debit \"\" is not an integer");
	expect_fail(e, L("4000", D(" \n ")), "Debit \"\" is not an integer");
	expect_fail(e, L("4000", D("+")), "Debit \"+\" is not an integer");
	expect_fail(e, L("4000", D("-x")), "Debit \"-x\" is not an integer");
	expect_fail(e, L("4000", D("1.5")),
	    "Debit \"1.5\" is not an integer in range");
	expect_fail(e, L("4000", D("1 2")),
	    "Debit \"1 2\" is not an integer in range");
	expect_fail(e, L("4000", D("12a")),
	    "Debit \"12a\" is not an integer in range");
	expect_fail(e, L("4000", D("0x10")),
	    "Debit \"0x10\" is not an integer in range");
	expect_fail(e, L("4000", D("00000000000000000000000000000001")),
	    "Debit is longer than 31 characters (line 3)");
	expect_fail(e, L("4000", D("<X>1</X>")),
	    "Debit holds elements, not text (line 3)");
	/* The first bad line is the one named, checked in order. */
	expect_fail(e, L("4000", D("x")) L("", D("1")),
	    "Debit \"x\" is not an integer");
	expect_fail(e, L("4000", D("1")) L("1200", C("y")),
	    "Credit \"y\" is not an integer");
}

static void
test_bad_accounts(void **state)
{
	struct env *e = *state;
	char body[512], want[256];

	expect_fail(e, "<Line><Debit>1</Debit></Line>", "Account is missing");
	expect_fail(e, L("", D("1")), "Account is empty");
	expect_fail(e, L(" \t ", D("1")), "Account is empty");
	expect_fail(e, L("<!-- -->", D("1")), "Account is empty");
	expect_fail(e, L("<Sub>1</Sub>", D("1")),
	    "Account holds elements, not text (line 3)");
	snprintf(body, sizeof(body), "<Line><Account>%0129d</Account>"
	    "<Debit>0</Debit></Line>", 0);
	expect_fail(e, body, "Account is longer than 128 characters (line 3)");
	/* 128 characters is the most. */
	snprintf(body, sizeof(body), "<Line><Account>%0128d</Account>"
	    "<Debit>0</Debit></Line>", 7);
	snprintf(want, sizeof(want), "1 %0128d 0 0 -", 7);
	expect_ok(e, body, want);
	snprintf(body, sizeof(body), "<Currency>%s</Currency>%s",
	    "ABCDEFGHIJKLMNOP", L("4000", D("0")));
	expect_fail(e, body, "Currency is longer than 15 characters (line 3)");
}

static void
test_balance(void **state)
{
	struct env *e = *state;

	expect_fail(e, L("4000", D("100")) L("1200", C("99")),
	    "posting does not balance: debits 100 != credits 99");
	expect_fail(e, L("4000", C("1")),
	    "posting does not balance: debits 0 != credits 1");
	expect_fail(e, L("4000", D("9223372036854775807")) L("4010", D("1"))
	    L("1200", C("1")), "posting amounts overflow");
	expect_fail(e, L("4000", C("9223372036854775807")) L("4010", C("1")),
	    "posting amounts overflow");
	expect_fail(e, "", "FinancialPosting has no Line");
	expect_fail(e, "<Currency>EUR</Currency><Lines/>",
	    "FinancialPosting has no Line");
}

/* A second application of a message's posting is refused by the store
 * (the books are the oracle of exactly-once); the first stays. */
static void
test_twice(void **state)
{
	struct env *e = *state;
	char reason[1024], got[256];
	int64_t id = new_message(e);

	assert_int_equal(post_as(e, id, L("4000", D("3")) L("1200", C("3")),
	    reason, sizeof(reason)), CYCLE_OK);
	assert_int_equal(post_as(e, id, L("4000", D("3")) L("1200", C("3")),
	    reason, sizeof(reason)), CYCLE_TEMPORARY);
	assert_non_null(strstr(reason, "ledger store error: UNIQUE "
	    "constraint failed"));
	rows(e, got, sizeof(got));
	assert_string_equal(got, "1 4000 3 0 -\n2 1200 0 3 -");
	/* And postings naming no message are refused too. */
	assert_int_equal(post_as(e, id + 1000, L("4000", D("3"))
	    L("1200", C("3")), reason, sizeof(reason)), CYCLE_TEMPORARY);
	assert_string_equal(reason,
	    "ledger store error: FOREIGN KEY constraint failed");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_lines, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_same_counts, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_amounts, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_accounts, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_balance, setup, teardown),
		cmocka_unit_test_setup_teardown(test_twice, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
