/*
 * test_log.c - log lines are logfmt: values quoted and escaped so that no
 * value adds a key or a line; a time stamp unless under the journal.
 */
#include "config.h"

#include <sys/stat.h>

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

#include "log.h"

static const char *
q(const char *v)
{
	static char buf[LOG_QLEN];

	return log_quote(buf, sizeof(buf), v);
}

static void
test_plain_value_stays_bare(void **state)
{
	(void)state;
	assert_string_equal(q("acme"), "acme");
	assert_string_equal(q("PO-2026-000123"), "PO-2026-000123");
	assert_string_equal(q("a,b,1,Type,7.xml"), "a,b,1,Type,7.xml");
	assert_string_equal(q("-starts-with-dash"), "-starts-with-dash");
}

static void
test_empty_and_null_are_empty_quotes(void **state)
{
	(void)state;
	assert_string_equal(q(""), "\"\"");
	assert_string_equal(q(NULL), "\"\"");
}

static void
test_blank_is_quoted(void **state)
{
	(void)state;
	assert_string_equal(q("a b"), "\"a b\"");
	assert_string_equal(q(" "), "\" \"");
}

static void
test_equals_sign_is_quoted(void **state)
{
	(void)state;
	assert_string_equal(q("a=b"), "\"a=b\"");
	assert_string_equal(q("x event=fail"), "\"x event=fail\"");
}

static void
test_quote_and_backslash_are_escaped(void **state)
{
	(void)state;
	assert_string_equal(q("say \"hi\""), "\"say \\\"hi\\\"\"");
	assert_string_equal(q("a\\b"), "\"a\\\\b\"");
	assert_string_equal(q("\""), "\"\\\"\"");
}

static void
test_newline_and_tab_are_escaped(void **state)
{
	(void)state;
	assert_string_equal(q("a\nspoold: err: event=fail reason=x"),
	    "\"a\\nspoold: err: event=fail reason=x\"");
	assert_string_equal(q("a\tb"), "\"a\\tb\"");
}

static void
test_carriage_return_and_controls_are_hex(void **state)
{
	(void)state;
	assert_string_equal(q("a\rb"), "\"a\\x0db\"");
	assert_string_equal(q("\x1b[2J"), "\"\\x1b[2J\"");
	assert_string_equal(q("a\x7f"), "\"a\\x7f\"");
	assert_string_equal(q("\x01"), "\"\\x01\"");
}

static void
test_utf8_is_kept(void **state)
{
	(void)state;
	assert_string_equal(q("M\xc3\xbcller"), "M\xc3\xbcller");
	assert_string_equal(q("\xe2\x82\xac 5"), "\"\xe2\x82\xac 5\"");
	assert_string_equal(q("\xf0\x9f\x93\xa6"), "\xf0\x9f\x93\xa6");
}

static void
test_invalid_utf8_and_c1_controls_are_hex(void **state)
{
	(void)state;
	assert_string_equal(q("a\xff"), "\"a\\xff\"");
	assert_string_equal(q("\xc3"), "\"\\xc3\"");
	assert_string_equal(q("\xc2\x85"), "\"\\xc2\\x85\"");	/* NEL */
	assert_string_equal(q("\xc0\xaf"), "\"\\xc0\\xaf\"");	/* overlong */
}

static void
test_long_value_is_cut_inside_its_quotes(void **state)
{
	char buf[32], v[200];
	size_t n;

	(void)state;
	memset(v, '\n', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';
	log_quote(buf, sizeof(buf), v);
	n = strlen(buf);
	assert_true(n < sizeof(buf));
	assert_int_equal(buf[0], '"');
	assert_int_equal(buf[n - 1], '"');
	assert_int_equal(buf[n - 2], '~');
	assert_null(strchr(buf, '\n'));
	memset(v, 'a', sizeof(v) - 1);
	log_quote(buf, sizeof(buf), v);
	n = strlen(buf);
	assert_true(n < sizeof(buf));
	assert_int_equal(buf[0], '"');
	assert_int_equal(buf[n - 1], '"');
}

/* Run log_msg with stderr into a file; return what it wrote. */
static char *
capture(const char *fmt, const char *arg)
{
	static char out[8192];
	FILE *f;
	size_t n;
	int saved;

	f = tmpfile();
	assert_non_null(f);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
	log_init("test", LOG_TARGET_STDERR, LOG_DEBUG);
	log_info(fmt, arg);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
	return out;
}

static void
test_line_starts_with_rfc3339_time_and_level(void **state)
{
	char *l;

	(void)state;
	unsetenv("JOURNAL_STREAM");
	l = capture("event=x file=%s", "a.xml");
	/* time=2026-11-30T01:23:45.123Z level=info event=x file=a.xml */
	assert_true(strlen(l) > 30);
	assert_memory_equal(l, "time=", 5);
	assert_int_equal(l[9], '-');
	assert_int_equal(l[12], '-');
	assert_int_equal(l[15], 'T');
	assert_int_equal(l[18], ':');
	assert_int_equal(l[21], ':');
	assert_int_equal(l[24], '.');
	assert_int_equal(l[28], 'Z');
	assert_string_equal(l + 29, " level=info event=x file=a.xml\n");
}

static void
test_journal_stream_drops_time(void **state)
{
	struct stat st;
	char js[64], *l;
	FILE *f;
	int saved;

	(void)state;
	/* JOURNAL_STREAM names the device and inode of stderr. */
	f = tmpfile();
	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	snprintf(js, sizeof(js), "%ju:%ju", (uintmax_t)st.st_dev,
	    (uintmax_t)st.st_ino);
	setenv("JOURNAL_STREAM", js, 1);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
	assert_true(log_under_journal());
	log_init("test", LOG_TARGET_STDERR, LOG_DEBUG);
	log_notice("event=y");
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	assert_false(log_under_journal());	/* stderr is not that stream */
	unsetenv("JOURNAL_STREAM");
	rewind(f);
	l = fgets(js, sizeof(js), f);
	fclose(f);
	assert_non_null(l);
	assert_string_equal(js, "level=notice event=y\n");
}

static void
test_unquoted_control_character_adds_no_line(void **state)
{
	char *l, *nl;

	(void)state;
	unsetenv("JOURNAL_STREAM");
	/* A caller that forgot LOG_Q(): the line stays one line. */
	l = capture("event=x file=%s", "a\nspoold: err: event=fail\r");
	nl = strchr(l, '\n');
	assert_non_null(nl);
	assert_int_equal(nl[1], '\0');
	assert_null(strchr(l, '\r'));
	assert_non_null(strstr(l, "file=a\\x0aspoold: err: event=fail\\x0d\n"));
}

static void
test_line_cut_inside_quotes_is_closed(void **state)
{
	static char big[6000];
	char *l;
	size_t n;

	(void)state;
	unsetenv("JOURNAL_STREAM");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	l = capture("event=x reason=\"%s\"", big);
	n = strlen(l);
	assert_true(n > 3);
	assert_int_equal(l[n - 1], '\n');
	assert_int_equal(l[n - 2], '"');
}

static void
test_lq_macro_quotes_in_place(void **state)
{
	char line[256];

	(void)state;
	snprintf(line, sizeof(line), "tx=%s msg=%s", LOG_Q("PO 1 x=\"y\""),
	    LOG_Q("M-1"));
	assert_string_equal(line, "tx=\"PO 1 x=\\\"y\\\"\" msg=M-1");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_value_stays_bare),
		cmocka_unit_test(test_empty_and_null_are_empty_quotes),
		cmocka_unit_test(test_blank_is_quoted),
		cmocka_unit_test(test_equals_sign_is_quoted),
		cmocka_unit_test(test_quote_and_backslash_are_escaped),
		cmocka_unit_test(test_newline_and_tab_are_escaped),
		cmocka_unit_test(test_carriage_return_and_controls_are_hex),
		cmocka_unit_test(test_utf8_is_kept),
		cmocka_unit_test(test_invalid_utf8_and_c1_controls_are_hex),
		cmocka_unit_test(test_long_value_is_cut_inside_its_quotes),
		cmocka_unit_test(test_line_starts_with_rfc3339_time_and_level),
		cmocka_unit_test(test_journal_stream_drops_time),
		cmocka_unit_test(test_unquoted_control_character_adds_no_line),
		cmocka_unit_test(test_line_cut_inside_quotes_is_closed),
		cmocka_unit_test(test_lq_macro_quotes_in_place),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
