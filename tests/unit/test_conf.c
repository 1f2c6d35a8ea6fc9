/*
 * test_conf.c - spoold.conf: defaults, value syntax, every error path.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ack.h"
#include "conf.h"

static char tmpl[] = "/tmp/test_conf.XXXXXX";
static char path[64];

static int
write_conf(const char *text)
{
	FILE *fp;

	snprintf(path, sizeof(path), "%s", tmpl);
	{
		int fd = mkstemp(path);

		if (fd == -1)
			return -1;
		close(fd);
	}
	if ((fp = fopen(path, "w")) == NULL)
		return -1;
	fputs(text, fp);
	fclose(fp);
	return 0;
}

/* Load text; expect failure whose message ends with ":line: why". */
static void
expect_error(const char *text, int line, const char *why)
{
	struct spool_error err;
	struct conf c;
	char want[256];

	assert_int_equal(write_conf(text), 0);
	spool_clearerr(&err);
	assert_int_equal(conf_load(&c, path, &err), -1);
	snprintf(want, sizeof(want), "%s:%d: ", path, line);
	if (strncmp(err.msg, want, strlen(want)) != 0 ||
	    strstr(err.msg, why) == NULL)
		fail_msg("got \"%s\", want \"%s...%s\"", err.msg, want, why);
	unlink(path);
}

static struct conf
load_ok(const char *text)
{
	struct spool_error err;
	struct conf c;

	assert_int_equal(write_conf(text), 0);
	spool_clearerr(&err);
	if (conf_load(&c, path, &err) == -1)
		fail_msg("unexpected error: %s", err.msg);
	unlink(path);
	return c;
}

static void
test_defaults_without_file(void **state)
{
	struct spool_error err;
	struct conf c;

	(void)state;
	assert_int_equal(conf_load(&c, NULL, &err), 0);
	assert_string_equal(c.spool_dir, "/var/spool/spoold");
	assert_non_null(c.schema_dir);
	assert_int_equal(c.batch_size, 1024);
	assert_int_equal(c.chunk_size, 64);
	assert_int_equal(c.workers, 4);
	assert_int_equal(c.settle_time_ms, 2000);
	assert_int_equal(c.max_message_size, 10 * 1024 * 1024);
	assert_false(c.require_schema);
	assert_int_equal(c.gap_alert_after_ms, 3600 * 1000);
	assert_int_equal(c.retention_ms, 7ULL * 86400 * 1000);
	assert_int_equal(c.retry_initial_ms, 30000);
	assert_true(c.retry_multiplier == 2.0);
	assert_int_equal(c.retry_max_delay_ms, 3600 * 1000);
	assert_int_equal(c.retry_max_attempts, 10);
	assert_int_equal(c.retry_jitter_pct, 10);
	assert_int_equal(c.bundle_max_entries, 10000);
	assert_int_equal(c.bundle_max_entry_size, 10 * 1024 * 1024);
	assert_int_equal(c.bundle_max_total_size, 1024ULL * 1024 * 1024);
	assert_int_equal(c.log_level, LOG_INFO);
	assert_int_equal(c.log_target, LOG_TARGET_STDERR);
	assert_int_equal(c.nroutes, 0);
	assert_null(conf_route(&c, "Anything"));
	conf_free(&c);
}

static void
test_empty_file_gives_defaults(void **state)
{
	struct conf c = load_ok("# nothing but a comment\n\n; another\n");

	(void)state;
	assert_int_equal(c.batch_size, 1024);
	assert_string_equal(c.spool_dir, "/var/spool/spoold");
	conf_free(&c);
}

static void
test_every_key_is_read(void **state)
{
	struct conf c = load_ok(
	    "[spool]\ndirectory = /srv/spool\nschemas = /srv/schemas\n"
	    "[processing]\nbatch_size = 500\nchunk_size = 50\nworkers = 8\n"
	    "settle_time = 500ms\nmax_message_size = 2M\n"
	    "require_schema = yes\ngap_alert_after = 30m\nretention = 2d\n"
	    "[retry]\ninitial_delay = 5s\nmultiplier = 1.5\nmax_delay = 2h\n"
	    "max_attempts = 3\njitter = 25%\n"
	    "[bundle]\nmax_entries = 7\nmax_entry_size = 64K\n"
	    "max_total_size = 3G\n"
	    "[route Invoice]\nhandler = exec\n"
	    "command = /usr/bin/erp-import --mode \"two words\" x\n"
	    "timeout = 90s\n"
	    "[route PurchaseOrderCreate]\nhandler = orders\nauto_ack = on\n"
	    "[route *]\nhandler = ledger\n"
	    "[partner acme]\naliases = ACME, Acme-GmbH\n"
	    "[log]\nlevel = debug\ntarget = syslog\n");
	const struct conf_route *r;

	(void)state;
	assert_string_equal(c.spool_dir, "/srv/spool");
	assert_string_equal(c.schema_dir, "/srv/schemas");
	assert_int_equal(c.batch_size, 500);
	assert_int_equal(c.chunk_size, 50);
	assert_int_equal(c.workers, 8);
	assert_int_equal(c.settle_time_ms, 500);
	assert_int_equal(c.max_message_size, 2 * 1024 * 1024);
	assert_true(c.require_schema);
	assert_int_equal(c.gap_alert_after_ms, 30 * 60 * 1000);
	assert_int_equal(c.retention_ms, 2 * 86400 * 1000);
	assert_int_equal(c.retry_initial_ms, 5000);
	assert_true(c.retry_multiplier == 1.5);
	assert_int_equal(c.retry_max_delay_ms, 2 * 3600 * 1000);
	assert_int_equal(c.retry_max_attempts, 3);
	assert_int_equal(c.retry_jitter_pct, 25);
	assert_int_equal(c.bundle_max_entries, 7);
	assert_int_equal(c.bundle_max_entry_size, 64 * 1024);
	assert_int_equal(c.bundle_max_total_size, 3ULL * 1024 * 1024 * 1024);
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_int_equal(c.log_target, LOG_TARGET_SYSLOG);

	r = conf_route(&c, "Invoice");
	assert_non_null(r);
	assert_string_equal(r->handler, "exec");
	assert_string_equal(r->argv[0], "/usr/bin/erp-import");
	assert_string_equal(r->argv[1], "--mode");
	assert_string_equal(r->argv[2], "two words");
	assert_string_equal(r->argv[3], "x");
	assert_null(r->argv[4]);
	assert_int_equal(r->timeout_ms, 90000);
	r = conf_route(&c, "PurchaseOrderCreate");
	assert_true(r->auto_ack);
	r = conf_route(&c, "DeliveryNote");
	assert_string_equal(r->type, "*");
	assert_string_equal(r->handler, "ledger");

	assert_true(conf_sender_ok(&c, "acme", "acme"));
	assert_true(conf_sender_ok(&c, "acme", "ACME"));
	assert_true(conf_sender_ok(&c, "acme", "Acme-GmbH"));
	assert_false(conf_sender_ok(&c, "acme", "globex"));
	assert_false(conf_sender_ok(&c, "globex", "ACME"));
	conf_free(&c);
}

static void
test_unknown_key_is_an_error(void **state)
{
	(void)state;
	expect_error("[processing]\nbatch_size = 5\nbatchsize = 5\n", 3,
	    "unknown key \"batchsize\" in [processing]");
	expect_error("[route X]\nhandler = ledger\ncolour = red\n", 3,
	    "unknown key \"colour\" in [route X]");
	expect_error("[partner acme]\nalias = A\n", 2, "unknown key");
}

static void
test_unknown_section_is_an_error_even_if_empty(void **state)
{
	(void)state;
	expect_error("[spool]\n\n[frobnicate]\n", 3,
	    "unknown section [frobnicate]");
	expect_error("[processing]\nworkers = 2\n[Processing]\nworkers = 3\n",
	    3, "unknown section");
}

static void
test_key_outside_section_is_an_error(void **state)
{
	(void)state;
	expect_error("workers = 2\n", 1, "outside of any section");
}

static void
test_duplicate_key_is_an_error(void **state)
{
	(void)state;
	expect_error("[processing]\nworkers = 2\n\nworkers = 3\n", 4,
	    "duplicate key \"workers\" in [processing] (first set on line 2)");
	expect_error("[processing]\nworkers = 2\n[spool]\n[processing]\n"
	    "workers = 3\n", 5, "duplicate key");
	expect_error("[route X]\nhandler = ledger\nhandler = exec\n", 3,
	    "duplicate key \"handler\"");
}

static void
test_missing_equals_is_an_error(void **state)
{
	(void)state;
	expect_error("[processing]\nworkers 2\n", 2, "syntax error");
	expect_error("[processing\nworkers = 2\n", 1, "without ']'");
}

static void
test_bad_units_are_errors(void **state)
{
	(void)state;
	expect_error("[processing]\nsettle_time = 5x\n", 2,
	    "settle_time: \"5x\" is not a duration");
	expect_error("[processing]\nsettle_time = s\n", 2, "not a duration");
	expect_error("[processing]\nsettle_time = -5s\n", 2, "not a duration");
	expect_error("[processing]\nmax_message_size = 10MB\n", 2,
	    "not a size");
	expect_error("[processing]\nmax_message_size = 1.5M\n", 2,
	    "not a size");
	expect_error("[processing]\nmax_message_size = 99999999999999999999\n",
	    2, "not a size");
	expect_error("[processing]\nbatch_size = 12k\n", 2,
	    "batch_size must be a whole number");
	expect_error("[processing]\nrequire_schema = maybe\n", 2,
	    "require_schema must be yes or no");
	expect_error("[retry]\nmultiplier = two\n", 2,
	    "multiplier must be a number");
	expect_error("[retry]\njitter = 10%%\n", 2, "percentage");
	expect_error("[log]\nlevel = loud\n", 2, "level must be one of");
	expect_error("[log]\ntarget = file\n", 2, "stderr or syslog");
	expect_error("[spool]\ndirectory = relative/path\n", 2,
	    "absolute path");
}

static void
test_out_of_range_values_are_errors(void **state)
{
	(void)state;
	expect_error("[processing]\nbatch_size = 0\n", 2,
	    "batch_size must be between 1 and 100000");
	expect_error("[processing]\nworkers = 257\n", 2,
	    "workers must be between 1 and 256");
	expect_error("[processing]\nmax_message_size = 100\n", 2,
	    "max_message_size is out of range");
	expect_error("[processing]\nmax_message_size = 2G\n", 2,
	    "out of range");
	expect_error("[retry]\njitter = 101%\n", 2,
	    "jitter must be between 0 and 100");
	expect_error("[retry]\nmultiplier = 0.5\n", 2,
	    "multiplier must be between 1 and 100");
	expect_error("[retry]\nmax_attempts = 0\n", 2, "between 1 and 1000");
	expect_error("[processing]\nbatch_size = 10\nchunk_size = 20\n", 3,
	    "chunk_size (20) must not exceed batch_size (10)");
	expect_error("[retry]\ninitial_delay = 1h\nmax_delay = 1m\n", 3,
	    "max_delay must not be shorter than initial_delay");
	/* One of a pair set alone: the line of the one that was set. */
	expect_error("[processing]\nbatch_size = 10\n", 2,
	    "chunk_size (64) must not exceed batch_size (10)");
	expect_error("[retry]\nmax_delay = 1s\n", 2,
	    "max_delay must not be shorter than initial_delay");
	expect_error("[route X]\nhandler = exec\ncommand = /bin/true\n"
	    "timeout = 0s\n", 4, "timeout must be between 1s and 1d");
}

static void
test_xml_bounds_are_read_with_defaults_and_ranges(void **state)
{
	struct conf d, c = load_ok("[processing]\nmax_attributes = 100\n"
	    "max_depth = 20\nmax_name_length = 64\nmax_text_length = 1M\n"
	    "max_namespaces = 8\n");
	struct spool_error err;

	(void)state;
	assert_int_equal(c.msg_limits.max_attributes, 100);
	assert_int_equal(c.msg_limits.max_depth, 20);
	assert_int_equal(c.msg_limits.max_name_length, 64);
	assert_int_equal(c.msg_limits.max_text_length, 1024 * 1024);
	assert_int_equal(c.msg_limits.max_namespaces, 8);
	conf_free(&c);
	assert_int_equal(conf_load(&d, NULL, &err), 0);
	assert_int_equal(d.msg_limits.max_attributes, 64);
	assert_int_equal(d.msg_limits.max_depth, 32);
	assert_int_equal(d.msg_limits.max_name_length, 256);
	assert_int_equal(d.msg_limits.max_text_length, 4 * 1024 * 1024);
	assert_int_equal(d.msg_limits.max_namespaces, 16);
	conf_free(&d);
	expect_error("[processing]\nmax_attributes = 0\n", 2,
	    "max_attributes must be between 1 and 4096");
	expect_error("[processing]\nmax_depth = 256\n", 2,
	    "max_depth must be between 1 and 255");
	expect_error("[processing]\nmax_name_length = 50000\n", 2,
	    "max_name_length must be between 16 and 49999");
	expect_error("[processing]\nmax_text_length = 10M\n", 2,
	    "max_text_length is out of range");
	expect_error("[processing]\nmax_namespaces = 4097\n", 2,
	    "max_namespaces must be between 1 and 4096");
}

static void
test_route_rules(void **state)
{
	(void)state;
	expect_error("[route X]\nhandler = magic\n", 2,
	    "handler must be orders, ledger or exec");
	expect_error("[spool]\n[route X]\ntimeout = 5s\n", 2,
	    "[route X] has no handler");
	expect_error("[route X]\nhandler = exec\n", 1,
	    "the exec handler needs a command");
	expect_error("[route X]\nhandler = ledger\ncommand = /bin/true\n", 1,
	    "for the exec handler only");
	expect_error("[route X]\nhandler = ledger\nauto_ack = yes\n", 1,
	    "for the orders handler only");
	expect_error("[route X]\nhandler = exec\ncommand = \"/bin/true\n", 3,
	    "unterminated quote");
	expect_error("[route a/b]\nhandler = ledger\n", 1,
	    "is not a message type");
}

static void
test_partner_rules(void **state)
{
	(void)state;
	expect_error("[partner ../etc]\naliases = x\n", 1,
	    "not a valid partner name");
	expect_error("[partner .hidden]\n", 1, "not a valid partner name");
	/* The line of the aliases key. */
	expect_error("[partner acme]\naliases = globex\n[partner globex]\n", 2,
	    "alias globex of partner acme is itself a partner");
}

static void
test_long_line_is_an_error(void **state)
{
	char text[400];

	(void)state;
	snprintf(text, sizeof(text), "[route X]\nhandler = exec\n"
	    "command = /bin/%0300d\n", 0);
	expect_error(text, 3, "line is longer than");
}

static void
test_value_parsers(void **state)
{
	uint64_t v;
	bool b;

	(void)state;
	assert_int_equal(conf_parse_size("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(conf_parse_size("1k", &v), 0);
	assert_int_equal(v, 1024);
	assert_int_equal(conf_parse_size("3G", &v), 0);
	assert_int_equal(v, 3ULL << 30);
	assert_int_equal(conf_parse_size("", &v), -1);
	assert_int_equal(conf_parse_size("1 K", &v), -1);
	assert_int_equal(conf_parse_size("18446744073709551615G", &v), -1);
	assert_int_equal(conf_parse_duration("250ms", &v), 0);
	assert_int_equal(v, 250);
	assert_int_equal(conf_parse_duration("7", &v), 0);
	assert_int_equal(v, 7000);
	assert_int_equal(conf_parse_duration("2m", &v), 0);
	assert_int_equal(v, 120000);
	assert_int_equal(conf_parse_duration("1d", &v), 0);
	assert_int_equal(v, 86400000);
	assert_int_equal(conf_parse_duration("1w", &v), -1);
	assert_int_equal(conf_parse_duration("1.5h", &v), -1);
	assert_int_equal(conf_parse_bool("Yes", &b), 0);
	assert_true(b);
	assert_int_equal(conf_parse_bool("off", &b), 0);
	assert_false(b);
	assert_int_equal(conf_parse_bool("y", &b), -1);
	assert_true(conf_partner_name_ok("acme"));
	assert_true(conf_partner_name_ok("A1._-z"));
	assert_false(conf_partner_name_ok(""));
	assert_false(conf_partner_name_ok("-acme"));
	assert_false(conf_partner_name_ok("ac/me"));
	assert_false(conf_partner_name_ok("ac me"));
	{
		char name[80];

		memset(name, 'x', sizeof(name));
		name[64] = '\0';
		assert_true(conf_partner_name_ok(name));
		name[64] = 'x';
		name[65] = '\0';
		assert_false(conf_partner_name_ok(name));
	}
}

static void
test_missing_file_is_an_error(void **state)
{
	struct spool_error err;
	struct conf c;

	(void)state;
	assert_int_equal(conf_load(&c, "/nonexistent/spoold.conf", &err), -1);
	assert_non_null(strstr(err.msg, "No such file"));
}

#define HEX64	"0123456789abcdef0123456789abcdef" \
		"0123456789ABCDEF0123456789ABCDEF"
#define HEX64B	"BA9876543210FEDCBA9876543210FEDC" \
		"ba9876543210fedcba9876543210fedc"

/* [http]: keys read, digests lowercased, bad digests and half TLS
 * refused with file:line. */
static void
test_http_keys_and_tokens(void **state)
{
	struct conf c;

	(void)state;
	c = load_ok("[http]\nlisten = 127.0.0.1:8025\n"
	    "admin_token_sha256 = " HEX64 "\nmax_connections = 10\n"
	    "per_ip_limit = 2\ntimeout = 5s\n"
	    "[partner acme]\ntoken_sha256 = " HEX64B "\n");
	assert_string_equal(c.http_listen, "127.0.0.1:8025");
	assert_string_equal(c.http_admin_token_sha256,
	    "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef");
	assert_int_equal(c.http_max_connections, 10);
	assert_int_equal(c.http_per_ip_limit, 2);
	assert_int_equal(c.http_timeout_ms, 5000);
	assert_non_null(c.partners[0].token_sha256);
	assert_string_equal(c.partners[0].token_sha256,
	    "ba9876543210fedcba9876543210fedc"
	    "ba9876543210fedcba9876543210fedc");
	conf_free(&c);
	c = load_ok("");
	assert_null(c.http_listen);
	assert_null(c.http_admin_token_sha256);
	conf_free(&c);
	expect_error("[http]\nadmin_token_sha256 = secret\n", 2,
	    "must be a SHA-256 in hex");
	expect_error("[partner acme]\ntoken_sha256 = " HEX64 "0\n", 2,
	    "must be a SHA-256 in hex");
	expect_error("[partner acme]\ntoken_sha256 = " HEX64 "\n"
	    "token_sha256 = " HEX64 "\n", 3, "duplicate key");
	expect_error("[http]\ntls_cert = /etc/c.pem\n", 2,
	    "tls_cert and tls_key go together");
	expect_error("[http]\ntimeout = 0s\n", 2, "out of range");
	/* A token names one identity: two partners, or a partner and the
	 * admin, never share one (either way round in the file). */
	expect_error("[partner acme]\ntoken_sha256 = " HEX64 "\n"
	    "[partner globex]\ntoken_sha256 = " HEX64 "\n", 4,
	    "token_sha256 is also [partner acme]'s");
	expect_error("[partner acme]\ntoken_sha256 = " HEX64 "\n"
	    "[http]\nadmin_token_sha256 = " HEX64 "\n", 4,
	    "admin_token_sha256 is also [partner acme]'s");
	expect_error("[http]\nadmin_token_sha256 = " HEX64 "\n"
	    "[partner acme]\ntoken_sha256 = " HEX64 "\n", 2,
	    "admin_token_sha256 is also [partner acme]'s");
}

static void
test_example_config_parses(void **state)
{
	struct spool_error err;
	struct conf c;

	(void)state;
	if (conf_load(&c, SRCDIR "/contrib/spoold.conf.example", &err) == -1)
		fail_msg("%s", err.msg);
	conf_free(&c);
}

/* Not a regular file: refused before reading, with what it is. */
static void
test_fifo_device_and_directory_are_refused(void **state)
{
	struct spool_error err;
	struct conf c;
	char fifo[64];

	(void)state;
	snprintf(fifo, sizeof(fifo), "%s", tmpl);
	assert_non_null(mkdtemp(fifo));
	assert_int_equal(rmdir(fifo), 0);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	spool_clearerr(&err);
	assert_int_equal(conf_load(&c, fifo, &err), -1);
	assert_non_null(strstr(err.msg, "is a FIFO, not a regular file"));
	unlink(fifo);
	spool_clearerr(&err);
	assert_int_equal(conf_load(&c, "/dev/zero", &err), -1);
	assert_non_null(strstr(err.msg, "is a character device"));
	spool_clearerr(&err);
	assert_int_equal(conf_load(&c, "/tmp", &err), -1);
	assert_non_null(strstr(err.msg, "is a directory"));
}

/* A file over 1 MiB is refused whole, not read. */
static void
test_oversized_file_is_refused(void **state)
{
	struct spool_error err;
	struct conf c;
	char *big;

	(void)state;
	assert_non_null(big = malloc(1024 * 1024 + 2));
	memset(big, '#', 1024 * 1024 + 1);
	big[1024 * 1024 + 1] = '\0';
	assert_int_equal(write_conf(big), 0);
	free(big);
	spool_clearerr(&err);
	assert_int_equal(conf_load(&c, path, &err), -1);
	assert_non_null(strstr(err.msg, "more than the 1048576"));
	unlink(path);
}


/* ids, our_ids, dialects: lists over several lines, IDs with blanks
 * quoted, nothing cut (DESIGN 10 and 15). */
static void
test_id_lists_continue_and_quote(void **state)
{
	struct conf c;
	const struct conf_partner *p;

	(void)state;
	c = load_ok("[spool]\n"
	    "our_ids = ZZ:US, 14:4012345000009\n"
	    "\t\"ZZ:SPOOLD HUB\"\n"
	    "# a comment between continuation lines\n"
	    "\tGLN:4012345000016\n"
	    "[partner acme]\n"
	    "ids = ZZ:ACME \"ZZ:ACME CORP     \"\n"
	    "   GLN:4000001000005\n"
	    "dialects = ubl x12\n"
	    "test_interchanges = reject\n"
	    "order = interchange\n"
	    "first_control = 17\n"
	    "after.ubl.Invoice = ubl.Order, ubl.OrderResponse\n");
	assert_string_equal(c.our_ids[0], "ZZ:US");
	assert_string_equal(c.our_ids[1], "14:4012345000009");
	assert_string_equal(c.our_ids[2], "ZZ:SPOOLD HUB");
	assert_string_equal(c.our_ids[3], "GLN:4012345000016");
	assert_null(c.our_ids[4]);
	p = conf_partner(&c, "acme");
	assert_non_null(p);
	assert_string_equal(p->ids[1], "ZZ:ACME CORP     ");
	assert_string_equal(p->ids[2], "GLN:4000001000005");
	assert_null(p->ids[3]);
	assert_true(conf_id_in(p->ids, "GLN:4000001000005"));
	assert_false(conf_id_in(p->ids, "GLN:4000001000006"));
	assert_string_equal(p->dialects[1], "x12");
	assert_true(p->test_reject);
	assert_int_equal(p->order, CONF_ORDER_INTERCHANGE);
	assert_int_equal(p->first_control, 17);
	assert_string_equal(p->after_types[0], "ubl.Invoice");
	assert_string_equal(p->after_waits[0], "ubl.Order ubl.OrderResponse");
	assert_null(p->after_types[1]);
	conf_free(&c);
}

static void
test_id_lists_refuse_what_they_cannot_hold(void **state)
{
	(void)state;
	expect_error("[partner a]\nids = \"ZZ:OPEN\n", 2,
	    "a quote is not closed");
	expect_error("[partner a]\nids = A\nids = B\n", 3,
	    "duplicate key \"ids\"");
	expect_error("[partner a]\ntest_interchanges = maybe\n", 2,
	    "process or reject");
	expect_error("[partner a]\norder = random\n", 2,
	    "order must be sequence, interchange, after or none");
	expect_error("[partner a]\nfirst_control = 0\n", 2,
	    "first_control must be auto or a number from 1");
	expect_error("[partner a]\nafter.ubl.Invoice = a;b\n", 2,
	    "after.ubl.Invoice must list message types");
	expect_error("[partner a]\nafter.x = y\nafter.x = z\n", 3,
	    "duplicate key \"after.x\"");
	expect_error("[spool]\ndialects = relative/dir\n", 2,
	    "not an absolute path");
	/* Other keys still refuse an indented continuation. */
	expect_error("[processing]\nbatch_size = 10\n  20\n", 3,
	    "duplicate key \"batch_size\"");
}

static void
test_partner_ack_and_ack_overdue(void **state)
{
	struct conf c;

	(void)state;
	c = load_ok("[processing]\nack_overdue = 2h\n"
	    "[partner a]\nack = 997\n[partner b]\nack = contrl\n"
	    "[partner c]\n");
	assert_int_equal(c.ack_overdue_ms, 2 * 3600 * 1000);
	assert_int_equal(conf_partner(&c, "a")->ack, ACK_997);
	assert_int_equal(conf_partner(&c, "b")->ack, ACK_CONTRL);
	assert_int_equal(conf_partner(&c, "c")->ack, ACK_NONE);
	conf_free(&c);
	conf_defaults(&c);
	assert_int_equal(c.ack_overdue_ms, 24 * 3600 * 1000);
	conf_free(&c);
	expect_error("[partner a]\nack = 998\n", 2,
	    "none, contrl, 997 or 999");
	expect_error("[partner a]\nack = none\nack = 999\n", 3,
	    "duplicate key \"ack\"");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_without_file),
		cmocka_unit_test(test_empty_file_gives_defaults),
		cmocka_unit_test(test_every_key_is_read),
		cmocka_unit_test(test_unknown_key_is_an_error),
		cmocka_unit_test(
		    test_unknown_section_is_an_error_even_if_empty),
		cmocka_unit_test(test_key_outside_section_is_an_error),
		cmocka_unit_test(test_duplicate_key_is_an_error),
		cmocka_unit_test(test_missing_equals_is_an_error),
		cmocka_unit_test(test_bad_units_are_errors),
		cmocka_unit_test(test_out_of_range_values_are_errors),
		cmocka_unit_test(
		    test_xml_bounds_are_read_with_defaults_and_ranges),
		cmocka_unit_test(test_route_rules),
		cmocka_unit_test(test_partner_rules),
		cmocka_unit_test(test_long_line_is_an_error),
		cmocka_unit_test(test_value_parsers),
		cmocka_unit_test(test_missing_file_is_an_error),
		cmocka_unit_test(test_http_keys_and_tokens),
		cmocka_unit_test(test_example_config_parses),
		cmocka_unit_test(test_fifo_device_and_directory_are_refused),
		cmocka_unit_test(test_oversized_file_is_refused),
		cmocka_unit_test(test_id_lists_continue_and_quote),
		cmocka_unit_test(test_id_lists_refuse_what_they_cannot_hold),
		cmocka_unit_test(test_partner_ack_and_ack_overdue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
