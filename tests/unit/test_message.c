/*
 * test_message.c - unit tests of spool/message.c: safe parsing of one
 * partner message and the checks of its native header (DESIGN 4, 12).
 *
 * Every test's name states the rule it checks. An external entity loader
 * that counts its calls is installed for the whole run, so the tests of
 * hostile documents can assert that libxml2 never tried to load anything.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>

#include "error.h"
#include "message.h"

#define NATIVE_DIR	SRCDIR "/../shared/samples/native"
#define REAL_DIR	SRCDIR "/../shared/samples/real"

/* The shared samples sit beside the source tree in a checkout and in
 * CI, but not beside an unpacked release tarball (make distcheck). */
#define NEED_SAMPLES() do {						\
	if (access(NATIVE_DIR, R_OK | X_OK) != 0)			\
		skip();							\
} while (0)

static int				 loads;	/* external entity loads */
static xmlExternalEntityLoader		 saved_loader;

static xmlParserInputPtr
counting_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	(void)url;
	(void)id;
	(void)ctxt;
	loads++;
	return NULL;
}

static int
group_setup(void **state)
{
	(void)state;
	xmlInitParser();
	saved_loader = xmlGetExternalEntityLoader();
	xmlSetExternalEntityLoader(counting_loader);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	xmlSetExternalEntityLoader(saved_loader);
	xmlCleanupParser();
	return 0;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f;
	char *buf;
	long n;

	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	assert_int_equal(fseek(f, 0, SEEK_SET), 0);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	assert_int_equal(fclose(f), 0);
	*len = (size_t)n;
	return buf;
}

static void
assert_zeroed(const struct msg *m)
{
	assert_null(m->doc);
	assert_null(m->hdr.type);
	assert_null(m->hdr.message_id);
	assert_null(m->hdr.sender);
	assert_null(m->hdr.recipient);
	assert_null(m->hdr.transaction_id);
	assert_null(m->hdr.created);
	assert_true(m->hdr.sender_seq == 0);
	assert_true(m->hdr.receiver_seq == 0);
}

/* Parse and expect success; the caller frees m. */
static void
parse_ok(const char *xml, struct msg *m)
{
	struct spool_error e;

	if (msg_parse(xml, strlen(xml), m, &e) != 0)
		fail_msg("refused: %s (line %d)\n%s", e.msg, e.line, xml);
	assert_non_null(m->doc);
	assert_non_null(m->hdr.type);
	assert_non_null(m->hdr.sender);
}

/* Parse len bytes, expect refusal with want in the reason; return line. */
static int
refuse_buf(const char *buf, size_t len, const char *want)
{
	struct spool_error e;
	struct msg m;
	int before = loads;

	memset(&m, 0xa5, sizeof(m));
	if (msg_parse(buf, len, &m, &e) != -1)
		fail_msg("accepted, wanted \"%s\"", want);
	assert_zeroed(&m);
	if (strstr(e.msg, want) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", e.msg, want);
	assert_null(strchr(e.msg, '\n'));
	assert_int_equal(loads, before);
	return e.line;
}

static int
refuse(const char *xml, const char *want)
{
	return refuse_buf(xml, strlen(xml), want);
}

/*
 * A message with the given header fields: <Header> is on line 3, the
 * first field on line 4.
 */
static const char *
with_header(const char *fields)
{
	static char buf[16384];
	int n;

	n = snprintf(buf, sizeof(buf), "<?xml version=\"1.0\"?>\n"
	    "<Invoice>\n"
	    "  <Header>\n"
	    "%s"
	    "  </Header>\n"
	    "  <Body/>\n"
	    "</Invoice>\n", fields);
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	return buf;
}

/* A transaction header whose SenderSequence (line 6) is v. */
static const char *
with_sender_seq(const char *v)
{
	static char f[4096];

	snprintf(f, sizeof(f), "<Sender>ACME</Sender>\n"
	    "<TransactionId>PO-1</TransactionId>\n"
	    "<SenderSequence>%s</SenderSequence>\n"
	    "<ReceiverSequence>0</ReceiverSequence>\n", v);
	return with_header(f);
}

static const char *
with_receiver_seq(const char *v)
{
	static char f[4096];

	snprintf(f, sizeof(f), "<Sender>ACME</Sender>\n"
	    "<TransactionId>PO-1</TransactionId>\n"
	    "<SenderSequence>1</SenderSequence>\n"
	    "<ReceiverSequence>%s</ReceiverSequence>\n", v);
	return with_header(f);
}

static int64_t
sender_seq_of(const char *v)
{
	struct msg m;
	int64_t n;

	parse_ok(with_sender_seq(v), &m);
	n = m.hdr.sender_seq;
	msg_free(&m);
	return n;
}

static void
assert_str_or_null(const char *got, const char *want)
{
	if (want == NULL)
		assert_null(got);
	else {
		assert_non_null(got);
		assert_string_equal(got, want);
	}
}

/* --- the samples ---------------------------------------------------- */

static const struct sample {
	const char	*file;
	const char	*type, *message_id, *sender, *recipient, *tx;
	int64_t		 sseq, rseq;
	const char	*created;
} samples[] = {
	{ "01-PurchaseOrderCreate.xml", "PurchaseOrderCreate", "ACME-000917",
	    "ACME", "ERP", "PO-2026-000123", 1, 0, "2026-11-24T09:12:03Z" },
	{ "02-PurchaseOrderAccept.xml", "PurchaseOrderAccept", "ACME-000918",
	    "ACME", "ERP", "PO-2026-000123", 2, 1, NULL },
	{ "03-DeliveryNote.xml", "DeliveryNote", NULL, "ACME", NULL,
	    "PO-2026-000123", 3, 1, NULL },
	{ "04-ProductInfo.xml", "ProductInfo", "ACME-PI-20261124-01", "ACME",
	    NULL, NULL, 0, 0, NULL },
	{ "05-InventoryMovement.xml", "InventoryMovement", NULL, "WH-NORTH",
	    NULL, "GR-2026-5521", 1, 0, NULL },
	{ "06-StockTransfer.xml", "StockTransfer", NULL, "WH-NORTH", NULL,
	    "GR-2026-5521", 2, 0, NULL },
	{ "07-FinancialPosting.xml", "FinancialPosting", NULL, "ACME", NULL,
	    "PO-2026-000123", 4, 1, NULL },
	{ "08-PurchaseOrderAck.xml", "PurchaseOrderAck", "ERP-000401", "ERP",
	    "ACME", "PO-2026-000123", 1, 1, NULL },
	{ "09-PurchaseOrderDecline.xml", "PurchaseOrderDecline",
	    "GLOBEX-77120", "GLOBEX", NULL, "PO-2026-000124", 2, 1, NULL },
	{ "10-PurchaseOrderChange.xml", "PurchaseOrderChange", NULL, "ACME",
	    NULL, "PO-2026-000125", 2, 1, NULL },
	{ "11-PurchaseOrderCancel.xml", "PurchaseOrderCancel", NULL, "ACME",
	    NULL, "PO-2026-000125", 3, 1, NULL },
	{ "12-Invoice.xml", "Invoice", "ACME-INV-2026-3301", "ACME", NULL,
	    "PO-2026-000123", 5, 1, NULL },
};

static void
test_every_native_sample_parses_with_its_header(void **state)
{
	struct spool_error e;
	struct msg m;
	char path[4096];
	size_t i, len;
	char *buf;

	(void)state;
	NEED_SAMPLES();
	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", NATIVE_DIR,
		    samples[i].file);
		buf = slurp(path, &len);
		if (msg_parse(buf, len, &m, &e) != 0)
			fail_msg("%s refused: %s", samples[i].file, e.msg);
		free(buf);
		assert_non_null(m.doc);
		assert_string_equal(m.hdr.type, samples[i].type);
		assert_str_or_null(m.hdr.message_id, samples[i].message_id);
		assert_str_or_null(m.hdr.sender, samples[i].sender);
		assert_str_or_null(m.hdr.recipient, samples[i].recipient);
		assert_str_or_null(m.hdr.transaction_id, samples[i].tx);
		assert_true(m.hdr.sender_seq == samples[i].sseq);
		assert_true(m.hdr.receiver_seq == samples[i].rseq);
		assert_str_or_null(m.hdr.created, samples[i].created);
		msg_free(&m);
	}
}

static void
test_every_xml_file_in_native_samples_is_accepted(void **state)
{
	struct spool_error e;
	struct dirent *de;
	struct msg m;
	char path[4096];
	size_t len, n;
	char *buf;
	DIR *d;
	int count = 0;

	(void)state;
	NEED_SAMPLES();
	d = opendir(NATIVE_DIR);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n < 4 || strcmp(de->d_name + n - 4, ".xml") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", NATIVE_DIR, de->d_name);
		buf = slurp(path, &len);
		if (msg_parse(buf, len, &m, &e) != 0)
			fail_msg("%s refused: %s", de->d_name, e.msg);
		free(buf);
		msg_free(&m);
		count++;
	}
	assert_int_equal(closedir(d), 0);
	assert_true(count >= 12);
	assert_int_equal(loads, 0);
}

/* --- SenderSequence / ReceiverSequence ------------------------------- */

static void
test_sender_sequence_0_is_refused_must_be_at_least_1(void **state)
{
	(void)state;
	refuse(with_sender_seq("0"), "SenderSequence \"0\" must be at "
	    "least 1 (line 6)");
}

static void
test_sender_sequence_1_is_accepted(void **state)
{
	(void)state;
	assert_true(sender_seq_of("1") == 1);
}

static void
test_sender_sequence_int64_max_is_accepted(void **state)
{
	(void)state;
	assert_true(sender_seq_of("9223372036854775807") == INT64_MAX);
}

static void
test_sender_sequence_int64_max_plus_1_is_out_of_range(void **state)
{
	(void)state;
	refuse(with_sender_seq("9223372036854775808"),
	    "SenderSequence \"9223372036854775808\" is out of range "
	    "(line 6)");
	refuse(with_sender_seq("99999999999999999999999999"),
	    "is out of range");
}

static void
test_sender_sequence_word_is_not_a_number(void **state)
{
	(void)state;
	refuse(with_sender_seq("two"),
	    "SenderSequence \"two\" is not a number (line 6)");
}

static void
test_sender_sequence_surrounding_whitespace_is_trimmed(void **state)
{
	(void)state;
	assert_true(sender_seq_of(" 7") == 7);
	assert_true(sender_seq_of("\n\t7 \r\n") == 7);
}

static void
test_sender_sequence_trailing_garbage_is_not_a_number(void **state)
{
	(void)state;
	refuse(with_sender_seq("7x"), "SenderSequence \"7x\" is not a "
	    "number");
	refuse(with_sender_seq("1 2"), "\"1 2\" is not a number");
	refuse(with_sender_seq("0x10"), "is not a number");
	refuse(with_sender_seq("7.0"), "is not a number");
	refuse(with_sender_seq("++7"), "is not a number");
	refuse(with_sender_seq("+"), "is not a number");
}

static void
test_sender_sequence_negative_is_refused(void **state)
{
	(void)state;
	refuse(with_sender_seq("-1"), "SenderSequence \"-1\" must be at "
	    "least 1");
	refuse(with_sender_seq("-99999999999999999999"),
	    "must be at least 1");
}

static void
test_sender_sequence_plus_and_leading_zeros_are_accepted(void **state)
{
	(void)state;
	assert_true(sender_seq_of("+7") == 7);
	assert_true(sender_seq_of("007") == 7);
	assert_true(sender_seq_of("00000000000000000000000000042") == 42);
}

static void
test_sender_sequence_empty_is_not_a_number(void **state)
{
	(void)state;
	refuse(with_sender_seq(""), "SenderSequence \"\" is not a number");
	refuse(with_sender_seq("  "), "SenderSequence \"\" is not a number");
}

static void
test_bad_sender_sequence_sets_err_line(void **state)
{
	(void)state;
	assert_int_equal(refuse(with_sender_seq("two"), "two"), 6);
}

static void
test_receiver_sequence_0_is_accepted(void **state)
{
	struct msg m;

	(void)state;
	parse_ok(with_receiver_seq("0"), &m);
	assert_true(m.hdr.receiver_seq == 0);
	assert_true(m.hdr.sender_seq == 1);
	msg_free(&m);
	parse_ok(with_receiver_seq("9223372036854775807"), &m);
	assert_true(m.hdr.receiver_seq == INT64_MAX);
	msg_free(&m);
}

static void
test_receiver_sequence_negative_is_refused(void **state)
{
	(void)state;
	assert_int_equal(refuse(with_receiver_seq("-1"),
	    "ReceiverSequence \"-1\" must not be negative (line 7)"), 7);
	refuse(with_receiver_seq("9223372036854775808"), "out of range");
	refuse(with_receiver_seq("x"), "not a number");
}

static void
test_transaction_without_receiver_sequence_is_refused(void **state)
{
	(void)state;
	refuse(with_header("<Sender>ACME</Sender>\n"
	    "<TransactionId>PO-1</TransactionId>\n"
	    "<SenderSequence>1</SenderSequence>\n"),
	    "TransactionId given without ReceiverSequence");
}

/* --- IDs ------------------------------------------------------------- */

static char *
repeat(char c, size_t n)
{
	char *s;

	s = malloc(n + 1);
	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
test_message_id_of_128_is_accepted_129_refused(void **state)
{
	char f[1024], *id128 = repeat('M', 128), *id129 = repeat('M', 129);
	struct msg m;

	(void)state;
	snprintf(f, sizeof(f), "<MessageId>%s</MessageId>\n"
	    "<Sender>ACME</Sender>\n", id128);
	parse_ok(with_header(f), &m);
	assert_string_equal(m.hdr.message_id, id128);
	msg_free(&m);
	snprintf(f, sizeof(f), "<MessageId>%s</MessageId>\n"
	    "<Sender>ACME</Sender>\n", id129);
	assert_int_equal(refuse(with_header(f),
	    "MessageId is longer than 128 characters (line 4)"), 4);
	free(id128);
	free(id129);
}

static void
test_transaction_id_of_128_is_accepted_129_refused(void **state)
{
	char f[1024], *id128 = repeat('T', 128), *id129 = repeat('T', 129);
	struct msg m;

	(void)state;
	snprintf(f, sizeof(f), "<Sender>ACME</Sender>\n"
	    "<TransactionId> %s </TransactionId>\n"
	    "<SenderSequence>1</SenderSequence>\n"
	    "<ReceiverSequence>0</ReceiverSequence>\n", id128);
	parse_ok(with_header(f), &m);
	assert_string_equal(m.hdr.transaction_id, id128);
	msg_free(&m);
	snprintf(f, sizeof(f), "<Sender>ACME</Sender>\n"
	    "<TransactionId>%s</TransactionId>\n"
	    "<SenderSequence>1</SenderSequence>\n"
	    "<ReceiverSequence>0</ReceiverSequence>\n", id129);
	assert_int_equal(refuse(with_header(f),
	    "TransactionId is longer than 128 characters (line 5)"), 5);
	free(id128);
	free(id129);
}

static void
test_sender_and_recipient_of_129_are_refused(void **state)
{
	char f[1024], *id129 = repeat('S', 129);

	(void)state;
	snprintf(f, sizeof(f), "<Sender>%s</Sender>\n", id129);
	refuse(with_header(f), "Sender is longer than 128 characters");
	snprintf(f, sizeof(f), "<Sender>ACME</Sender>\n"
	    "<Recipient>%s</Recipient>\n", id129);
	refuse(with_header(f), "Recipient is longer than 128 characters");
	free(id129);
}

static const char *
with_tx(const char *tx)
{
	static char f[4096];

	snprintf(f, sizeof(f), "<Sender>ACME</Sender>\n"
	    "<TransactionId>%s</TransactionId>\n"
	    "<SenderSequence>1</SenderSequence>\n"
	    "<ReceiverSequence>0</ReceiverSequence>\n", tx);
	return with_header(f);
}

static void
test_control_character_in_transaction_id_is_refused(void **state)
{
	(void)state;
	/* XML 1.0 forbids &#x1; itself: refused by the parser. */
	assert_int_equal(refuse(with_tx("PO&#x1;1"), "not well-formed XML"),
	    5);
	/* A raw tab inside (not at the ends) is a control character. */
	assert_int_equal(refuse(with_tx("PO\t1"),
	    "TransactionId \"PO\\t1\" contains a control character "
	    "(line 5)"), 5);
	refuse(with_tx("PO&#9;1"), "TransactionId \"PO\\t1\" contains a "
	    "control character");
	refuse(with_tx("PO&#x7f;1"), "TransactionId \"PO\\x7f1\" contains "
	    "a control character");
	refuse(with_tx("PO\n1"), "\"PO\\n1\" contains a control character");
}

static void
test_raw_control_byte_in_document_is_not_well_formed(void **state)
{
	(void)state;
	refuse(with_tx("PO\001"), "not well-formed XML");
}

static void
test_non_ascii_in_ids_is_refused(void **state)
{
	(void)state;
	refuse(with_tx("PO-\xc3\xa9"), "TransactionId \"PO-\\xc3\\xa9\" "
	    "contains a character that is not printable ASCII (line 5)");
	refuse(with_header("<Sender>AC&#xE9;ME</Sender>\n"),
	    "Sender \"AC\\xc3\\xa9ME\" contains a character that is not "
	    "printable ASCII");
}

static void
test_whitespace_at_the_ends_of_ids_is_trimmed(void **state)
{
	struct msg m;

	(void)state;
	parse_ok(with_header("<MessageId>\n\t M-1 \r\n</MessageId>\n"
	    "<Sender>  ACME\t</Sender>\n"
	    "<Recipient><![CDATA[ ERP ]]></Recipient>\n"
	    "<Created> 2026-11-24T10:00:00Z </Created>\n"), &m);
	assert_string_equal(m.hdr.message_id, "M-1");
	assert_string_equal(m.hdr.sender, "ACME");
	assert_string_equal(m.hdr.recipient, "ERP");
	assert_string_equal(m.hdr.created, "2026-11-24T10:00:00Z");
	msg_free(&m);
}

static void
test_quoted_value_in_error_is_escaped_and_cut(void **state)
{
	char *v = repeat('x', 100);
	char f[1024], want[128];

	(void)state;
	snprintf(f, sizeof(f), "<Sender>ACME</Sender>\n"
	    "<TransactionId>T</TransactionId>\n"
	    "<SenderSequence>\"%s</SenderSequence>\n"
	    "<ReceiverSequence>0</ReceiverSequence>\n", v);
	snprintf(want, sizeof(want), "SenderSequence \"\\\"%.39s...\" is not "
	    "a number (line 6)", v);
	refuse(with_header(f), want);
	free(v);
}

/* --- Header structure ------------------------------------------------ */

static void
test_missing_sender_is_refused(void **state)
{
	(void)state;
	assert_int_equal(refuse(with_header("<MessageId>M</MessageId>\n"),
	    "Sender is missing in Header"), 3);
}

static void
test_empty_sender_is_refused(void **state)
{
	(void)state;
	refuse(with_header("<Sender> </Sender>\n"), "Sender is empty "
	    "(line 4)");
}

static void
test_missing_header_is_refused(void **state)
{
	(void)state;
	refuse("<Invoice><Body/></Invoice>", "Header is missing: the first "
	    "element in Invoice is Body (line 1)");
	refuse("<Invoice/>", "Header is missing in Invoice");
	refuse("<Invoice>\n  <!-- no header -->\n</Invoice>",
	    "Header is missing in Invoice");
	refuse("<Invoice><Body/><Header><Sender>A</Sender></Header>"
	    "</Invoice>", "Header is missing");
}

static void
test_text_before_header_is_refused(void **state)
{
	(void)state;
	refuse("<Invoice>hello<Header><Sender>A</Sender></Header></Invoice>",
	    "unexpected text before Header in Invoice");
}

static void
test_comments_and_whitespace_before_header_are_allowed(void **state)
{
	struct msg m;

	(void)state;
	parse_ok("<?xml version=\"1.0\"?>\n<!-- c -->\n<Invoice>\n"
	    "  <!-- before -->\n  <?pi x?>\n  <Header>\n"
	    "    <!-- inside --><Sender>A<!-- x -->CME</Sender>\n"
	    "  </Header>\n</Invoice>\n", &m);
	assert_string_equal(m.hdr.type, "Invoice");
	assert_string_equal(m.hdr.sender, "ACME");
	msg_free(&m);
}

static void
test_transaction_id_without_sender_sequence_is_refused(void **state)
{
	(void)state;
	assert_int_equal(refuse(with_header("<Sender>ACME</Sender>\n"
	    "<TransactionId>PO-1</TransactionId>\n"
	    "<ReceiverSequence>0</ReceiverSequence>\n"),
	    "TransactionId given without SenderSequence"), 5);
}

static void
test_sender_sequence_without_transaction_id_is_refused(void **state)
{
	(void)state;
	assert_int_equal(refuse(with_header("<Sender>ACME</Sender>\n"
	    "<SenderSequence>1</SenderSequence>\n"),
	    "SenderSequence given without TransactionId"), 5);
	refuse(with_header("<Sender>ACME</Sender>\n"
	    "<ReceiverSequence>1</ReceiverSequence>\n"),
	    "ReceiverSequence given without TransactionId");
	refuse(with_header("<Sender>ACME</Sender>\n"
	    "<TransactionId> </TransactionId>\n"
	    "<SenderSequence>1</SenderSequence>\n"
	    "<ReceiverSequence>0</ReceiverSequence>\n"),
	    "SenderSequence given without TransactionId");
}

static void
test_empty_transaction_id_means_outside_transaction(void **state)
{
	struct msg m;

	(void)state;
	parse_ok(with_header("<MessageId></MessageId>\n"
	    "<Sender>ACME</Sender>\n"
	    "<TransactionId>  </TransactionId>\n"
	    "<Created/>\n"), &m);
	assert_null(m.hdr.transaction_id);
	assert_null(m.hdr.message_id);
	assert_null(m.hdr.created);
	assert_null(m.hdr.recipient);
	assert_true(m.hdr.sender_seq == 0);
	assert_true(m.hdr.receiver_seq == 0);
	msg_free(&m);
}

static void
test_field_given_twice_is_refused(void **state)
{
	(void)state;
	assert_int_equal(refuse(with_header("<Sender>ACME</Sender>\n"
	    "<Sender>ACME</Sender>\n"),
	    "Sender is given twice in Header (lines 4 and 5)"), 5);
	refuse(with_header("<Sender>ACME</Sender>\n<MessageId/>\n"
	    "<MessageId>M</MessageId>\n"), "MessageId is given twice");
}

static void
test_unknown_header_field_is_refused(void **state)
{
	(void)state;
	assert_int_equal(refuse(with_header("<Sender>ACME</Sender>\n"
	    "<Priority>high</Priority>\n"),
	    "unexpected element Priority in Header (line 5)"), 5);
	refuse(with_header("<Sender>ACME</Sender>\n"
	    "<x:Sender xmlns:x=\"urn:x\">B</x:Sender>\n"),
	    "unexpected element Sender in Header");
}

static void
test_text_in_header_is_refused(void **state)
{
	(void)state;
	refuse(with_header("<Sender>ACME</Sender>\nstray\n"),
	    "unexpected text in Header");
}

static void
test_element_inside_header_field_is_refused(void **state)
{
	(void)state;
	assert_int_equal(refuse(with_header("<Sender><x/></Sender>\n"),
	    "Sender must hold text only, not the element x (line 4)"), 4);
	refuse(with_header("<Sender>ACME</Sender>\n<TransactionId>T"
	    "</TransactionId>\n<SenderSequence><b>1</b></SenderSequence>\n"
	    "<ReceiverSequence>0</ReceiverSequence>\n"),
	    "SenderSequence must hold text only");
}

static void
test_header_must_be_in_the_namespace_of_the_root(void **state)
{
	struct msg m;

	(void)state;
	parse_ok("<Invoice xmlns=\"urn:example\"><Header><Sender>A</Sender>"
	    "</Header></Invoice>", &m);
	assert_string_equal(m.hdr.type, "Invoice");
	msg_free(&m);
	parse_ok("<p:Invoice xmlns:p=\"urn:example\"><p:Header><p:Sender>A"
	    "</p:Sender></p:Header></p:Invoice>", &m);
	assert_string_equal(m.hdr.type, "Invoice");
	msg_free(&m);
	refuse("<p:Invoice xmlns:p=\"urn:example\"><Header><Sender>A"
	    "</Sender></Header></p:Invoice>", "Header is not in the "
	    "namespace of Invoice (line 1)");
}

static void
test_undeclared_namespace_prefix_is_refused(void **state)
{
	(void)state;
	refuse("<x:Invoice><Header><Sender>A</Sender></Header></x:Invoice>",
	    "not well-formed XML: Namespace prefix x");
}

static void
test_overlong_type_is_refused(void **state)
{
	char *name = repeat('T', 129);
	char buf[1024];

	(void)state;
	snprintf(buf, sizeof(buf), "<%s><Header><Sender>A</Sender></Header>"
	    "</%s>", name, name);
	refuse(buf, "longer than 128 characters");
	free(name);
}

/* --- Well-formedness ------------------------------------------------- */

static void
test_not_well_formed_is_refused_with_libxml2_reason_and_line(void **state)
{
	(void)state;
	assert_int_equal(refuse("<?xml version=\"1.0\"?>\n<Invoice>\n"
	    "  <Header>\n    <Sender>ACME</Header>\n</Invoice>\n",
	    "not well-formed XML: Opening and ending tag mismatch: Sender "
	    "line 4 and Header (line 4)"), 4);
	refuse("<Invoice><Header>", "not well-formed XML");
	refuse("<Invoice/><Invoice/>", "not well-formed XML: Extra content");
	refuse("just text", "not well-formed XML");
	refuse("<Invoice>&undeclared;</Invoice>", "not well-formed XML");
	refuse("<Invoice>\xff\xfe</Invoice>", "not well-formed XML");
}

static void
test_empty_input_is_refused(void **state)
{
	(void)state;
	assert_int_equal(refuse_buf("", 0, "file is empty"), 0);
	refuse("  \r\n\t", "file is empty (whitespace only)");
}

static void
test_embedded_nul_is_refused(void **state)
{
	static const char buf[] = "<Invoice><Header><Sender>A\0B</Sender>"
	    "</Header></Invoice>";

	(void)state;
	refuse_buf(buf, sizeof(buf) - 1, "not well-formed XML");
}

static void
test_buffer_need_not_be_nul_terminated(void **state)
{
	static const char xml[] = "<Invoice><Header><Sender>A</Sender>"
	    "</Header></Invoice>GARBAGE";
	struct spool_error e;
	struct msg m;

	(void)state;
	assert_int_equal(msg_parse(xml, sizeof(xml) - 1 - 7, &m, &e), 0);
	assert_string_equal(m.hdr.sender, "A");
	msg_free(&m);
}

/* --- DOCTYPE, entity bombs, XXE -------------------------------------- */

static void
refuse_file(const char *rel, const char *want)
{
	char path[4096];
	size_t len;
	char *buf;

	NEED_SAMPLES();
	snprintf(path, sizeof(path), "%s/%s", REAL_DIR, rel);
	buf = slurp(path, &len);
	refuse_buf(buf, len, want);
	free(buf);
}

static void
test_adversarial_samples_are_refused_at_the_doctype(void **state)
{
	(void)state;
	NEED_SAMPLES();
	refuse_file("xml-adversarial-defusedxml/xmlbomb.xml",
	    "DOCTYPE declarations are not allowed (line 1)");
	refuse_file("xml-adversarial-defusedxml/cyclic.xml",
	    "DOCTYPE declarations are not allowed");
	refuse_file("xml-adversarial-defusedxml/quadratic.xml",
	    "DOCTYPE declarations are not allowed");
	refuse_file("xml-adversarial-defusedxml/external.xml",
	    "DOCTYPE declarations are not allowed");
	refuse_file("xml-adversarial-libxml2/lol_classic.xml",
	    "DOCTYPE declarations are not allowed");
	assert_int_equal(loads, 0);
}

static void
test_broken_adversarial_samples_are_not_well_formed(void **state)
{
	(void)state;
	refuse_file("xml-adversarial-libxml2/truncated-utf16.xml",
	    "not well-formed XML: the file ends in the middle of a UTF-16");
	refuse_file("xml-adversarial-libxml2/unclosed-element.xml",
	    "not well-formed XML: Premature end of data in tag d line 1");
}

static void
test_xxe_file_and_http_are_refused_without_loading(void **state)
{
	(void)state;
	refuse("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
	    "<x>&e;</x>", "DOCTYPE declarations are not allowed (line 1)");
	refuse("<!DOCTYPE x [<!ENTITY e SYSTEM \"http://127.0.0.1:9/x\">]>"
	    "<x>&e;</x>", "DOCTYPE declarations are not allowed");
	refuse("<!DOCTYPE x SYSTEM \"file:///etc/passwd\"><x/>",
	    "DOCTYPE declarations are not allowed");
	refuse("<!DOCTYPE x PUBLIC \"-//x//y\" \"http://127.0.0.1:9/x.dtd\">"
	    "<x/>", "DOCTYPE declarations are not allowed");
	refuse("<!DOCTYPE x [<!ENTITY % p SYSTEM \"file:///etc/passwd\">"
	    "%p;]><x/>", "DOCTYPE declarations are not allowed");
	refuse("<?xml version=\"1.0\"?>\n<!DOCTYPE Invoice>\n<Invoice>"
	    "<Header><Sender>A</Sender></Header></Invoice>",
	    "DOCTYPE declarations are not allowed (line 2)");
	assert_int_equal(loads, 0);
}

static void
test_doctype_sets_err_line(void **state)
{
	(void)state;
	assert_int_equal(refuse("<?xml version=\"1.0\"?>\n\n<!DOCTYPE x "
	    "[<!ENTITY a \"b\">]>\n<x>&a;</x>", "DOCTYPE"), 3);
}

static void
test_libxml2_never_writes_to_stderr(void **state)
{
	static const char *bad[] = {
		"<a><b></a>",
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>\xe9</a>",
		"<?xml version=\"1.0\" encoding=\"no-such-enc\"?><a/>",
		"<?xml version=\"1.0\" encoding=\"US-ASCII\"?><a>\xe9</a>",
		"\xff\xfe<\0d\0/\0>\0a",
		"\xfe\xff\0<\0d\0>\0",
		"<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///nonexistent\">]>"
		    "<x>&e;</x>",
		"<a xmlns:p=\"relative\"><p:Header/></a>",
		"<a xmlns:p=\"\"/>",
		"<a b=\"1\" b=\"2\"/>",
		"<a>&#0;</a>",
	};
	char path[] = "/tmp/test_message.XXXXXX", out[512];
	size_t i, lens[] = { 0, 0, 0, 0, 11, 9, 0, 0, 0, 0, 0 };
	struct spool_error e;
	struct msg m;
	int fd, saved, refused = 0;
	ssize_t n;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(fflush(stderr), 0);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_true(dup2(fd, 2) == 2);
	/* No cmocka assertion while stderr is redirected. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (msg_parse(bad[i], lens[i] ? lens[i] : strlen(bad[i]), &m,
		    &e) == -1)
			refused++;
		else
			msg_free(&m);
	}
	fflush(stderr);
	dup2(saved, 2);
	assert_int_equal(close(saved), 0);
	assert_true(lseek(fd, 0, SEEK_SET) == 0);
	n = read(fd, out, sizeof(out) - 1);
	assert_int_equal(close(fd), 0);
	assert_true(n >= 0);
	out[n] = '\0';
	if (n > 0)
		fail_msg("libxml2 wrote to stderr: %s", out);
	assert_int_equal(refused, (int)(sizeof(bad) / sizeof(bad[0])));
}

/* --- bounds on what libxml2 is given (spoold.conf(5) [processing]) ---- */

static const struct msg_limits deflim = {
	.max_attributes = MSG_MAX_ATTRIBUTES,
	.max_depth = MSG_MAX_DEPTH,
	.max_name_length = MSG_MAX_NAME_LENGTH,
	.max_text_length = MSG_MAX_TEXT_LENGTH,
	.max_namespaces = MSG_MAX_NAMESPACES,
};

#define DOC_HEAD	"<Invoice><Header><Sender>A</Sender></Header>\n"
#define DOC_TAIL	"</Invoice>\n"

/* A growing string; every append checks for memory. */
struct sbuf {
	char	*s;
	size_t	 len, cap;
};

static void sb_add(struct sbuf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s != NULL ? b->s + b->len : NULL,
		    b->s != NULL ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if (b->s != NULL && b->len + (size_t)n < b->cap)
			break;
		b->cap = (b->cap + (size_t)n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		assert_non_null(b->s);
	}
	b->len += (size_t)n;
}

/* <Line a0="1" ... a(n-1)="1"/> inside a message. */
static struct sbuf
doc_with_attrs(const char *elem, unsigned n)
{
	struct sbuf b = { NULL, 0, 0 };
	unsigned i;

	sb_add(&b, DOC_HEAD "<%s", elem);
	for (i = 0; i < n; i++)
		sb_add(&b, " a%u=\"1\"", i);
	sb_add(&b, "/>\n" DOC_TAIL);
	return b;
}

/* Parse with lim and expect success. */
static void
lim_ok(const char *buf, size_t len, const struct msg_limits *lim)
{
	struct spool_error e;
	struct msg m;

	if (msg_parse_limits(buf, len, lim, &m, &e) != 0)
		fail_msg("refused: %s (line %d)", e.msg, e.line);
	assert_string_equal(m.hdr.sender, "A");
	msg_free(&m);
}

/* Parse with lim, expect refusal with want in the reason; return line. */
static int
lim_refuse(const char *buf, size_t len, const struct msg_limits *lim,
    const char *want)
{
	struct spool_error e;
	struct msg m;

	memset(&m, 0xa5, sizeof(m));
	if (msg_parse_limits(buf, len, lim, &m, &e) != -1)
		fail_msg("accepted, wanted \"%s\"", want);
	assert_zeroed(&m);
	if (strstr(e.msg, want) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", e.msg, want);
	assert_null(strchr(e.msg, '\n'));
	return e.line;
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_attributes_up_to_max_are_accepted_one_more_refused(void **state)
{
	struct sbuf b;

	(void)state;
	b = doc_with_attrs("Line", MSG_MAX_ATTRIBUTES);
	lim_ok(b.s, b.len, &deflim);
	free(b.s);
	b = doc_with_attrs("Line", MSG_MAX_ATTRIBUTES + 1);
	assert_int_equal(lim_refuse(b.s, b.len, &deflim, "element Line has "
	    "more than 64 attributes (max_attributes, line 2)"), 2);
	free(b.s);
}

static void
test_200000_attributes_are_refused_at_once(void **state)
{
	struct sbuf b;
	double t;

	(void)state;
	b = doc_with_attrs("Line", 200000);
	assert_true(b.len > 2000000);
	t = mono();
	lim_refuse(b.s, b.len, &deflim, "more than 64 attributes "
	    "(max_attributes");
	t = mono() - t;
	/* libxml2 alone takes minutes; the pre-scan stops at the 65th. */
	if (t > 1.0)
		fail_msg("took %.2f s", t);
	free(b.s);
}

static void
test_attribute_bound_is_configurable(void **state)
{
	struct msg_limits lim = deflim;
	struct sbuf b;

	(void)state;
	lim.max_attributes = 3;
	b = doc_with_attrs("Item", 3);
	lim_ok(b.s, b.len, &lim);
	free(b.s);
	b = doc_with_attrs("Item", 4);
	lim_refuse(b.s, b.len, &lim, "element Item has more than 3 "
	    "attributes (max_attributes");
	free(b.s);
}

static void
test_lt_in_an_attribute_value_is_left_to_libxml2(void **state)
{
	struct msg_limits lim = deflim;
	static const char xml[] = DOC_HEAD
	    "<!-- <x a=\"1\" b=\"2\" c=\"3\"> -- -->\n"
	    "<?pi <x a=\"1\" b=\"2\" c=\"3\"> ?>\n"
	    "<Line a='x>\"/> b=\"c' b=\"<!--\" c=\"?>\">"
	    "<![CDATA[<x a=\"1\" b=\"2\" c=\"3\"/>]]></Line>\n"
	    DOC_TAIL "<!-- after -->\n<?after x?>\n";

	(void)state;
	lim.max_attributes = 3;
	/* "<!--" inside a value holds no '<' for XML: not well-formed */
	lim_refuse(xml, sizeof(xml) - 1, &lim, "not well-formed XML");
	lim.max_attributes = 2;
	lim_refuse(xml, sizeof(xml) - 1, &lim, "not well-formed XML");
}

static void
test_quoted_values_holding_gt_and_slash_do_not_end_the_tag(void **state)
{
	struct msg_limits lim = deflim;
	static const char xml[] = DOC_HEAD
	    "<!-- <x a=\"1\" b=\"2\" c=\"3\"> -->\n"
	    "<?pi <x a=\"1\" b=\"2\" c=\"3\"> ?>\n"
	    "<Line a='x>\"/> b=\"c' b=\"-->\" c=\"?>\">"
	    "<![CDATA[<x a=\"1\" b=\"2\" c=\"3\" d=\"4\"/>]]></Line>\n"
	    DOC_TAIL "<!-- after -->\n<?after x?>\n";
	static const char more[] = DOC_HEAD
	    "<Line a='x>' b=\"/>\" c=\"1\" d=\"2\"/>\n" DOC_TAIL;

	(void)state;
	lim.max_attributes = 3;
	lim_ok(xml, sizeof(xml) - 1, &lim);
	lim_refuse(more, sizeof(more) - 1, &lim, "element Line has more "
	    "than 3 attributes");
}

static void
test_nesting_up_to_max_depth_is_accepted_one_more_refused(void **state)
{
	struct sbuf b = { NULL, 0, 0 };
	unsigned i;

	(void)state;
	/* Invoice is level 1: MSG_MAX_DEPTH levels in all. */
	sb_add(&b, DOC_HEAD);
	for (i = 1; i < MSG_MAX_DEPTH; i++)
		sb_add(&b, "<L%u>", i);
	for (i = MSG_MAX_DEPTH - 1; i >= 1; i--)
		sb_add(&b, "</L%u>", i);
	sb_add(&b, DOC_TAIL);
	lim_ok(b.s, b.len, &deflim);
	b.len = 0;
	sb_add(&b, DOC_HEAD);
	for (i = 1; i <= MSG_MAX_DEPTH; i++)
		sb_add(&b, "<L%u>", i);
	for (i = MSG_MAX_DEPTH; i >= 1; i--)
		sb_add(&b, "</L%u>", i);
	sb_add(&b, DOC_TAIL);
	assert_int_equal(lim_refuse(b.s, b.len, &deflim, "element L32 is "
	    "nested deeper than 32 elements (max_depth, line 2)"), 2);
	free(b.s);
}

static void
test_long_names_are_refused_naming_max_name_length(void **state)
{
	struct sbuf b = { NULL, 0, 0 };
	char name[MSG_MAX_NAME_LENGTH + 2];

	(void)state;
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	sb_add(&b, DOC_HEAD "<%s/>" DOC_TAIL, name);
	lim_refuse(b.s, b.len, &deflim, "element name nnnn");
	lim_refuse(b.s, b.len, &deflim, "is longer than 256 bytes "
	    "(max_name_length, line 2)");
	b.len = 0;
	sb_add(&b, DOC_HEAD "<Line %s=\"1\"/>" DOC_TAIL, name);
	lim_refuse(b.s, b.len, &deflim, "attribute name nnnn");
	b.len = 0;
	sb_add(&b, DOC_HEAD "<?%s x?>" DOC_TAIL, name);
	lim_refuse(b.s, b.len, &deflim, "processing instruction nnnn");
	b.len = 0;
	name[MSG_MAX_NAME_LENGTH] = '\0';
	sb_add(&b, DOC_HEAD "<%s %s=\"1\"/><?%s?>" DOC_TAIL, name, name,
	    name);
	lim_ok(b.s, b.len, &deflim);
	free(b.s);
}

static void
test_long_text_cdata_and_values_are_refused(void **state)
{
	struct msg_limits lim = deflim;
	struct sbuf b = { NULL, 0, 0 };
	char text[1026];

	(void)state;
	lim.max_text_length = 1024;
	memset(text, 'x', sizeof(text) - 1);
	text[1024] = '\0';
	sb_add(&b, DOC_HEAD "<Note>%s</Note><N a=\"%s\"/>"
	    "<C><![CDATA[%s]]></C>" DOC_TAIL, text, text, text);
	lim_ok(b.s, b.len, &lim);
	text[1024] = 'x';
	text[1025] = '\0';
	b.len = 0;
	sb_add(&b, DOC_HEAD "<Note>%s</Note>" DOC_TAIL, text);
	lim_refuse(b.s, b.len, &lim, "element Note holds text longer than "
	    "1024 bytes (max_text_length, line 2)");
	b.len = 0;
	sb_add(&b, DOC_HEAD "<C><![CDATA[%s]]></C>" DOC_TAIL, text);
	lim_refuse(b.s, b.len, &lim, "element C holds text longer than "
	    "1024 bytes (max_text_length");
	b.len = 0;
	sb_add(&b, DOC_HEAD "<N a=\"%s\"/>" DOC_TAIL, text);
	lim_refuse(b.s, b.len, &lim, "attribute a of element N is longer "
	    "than 1024 bytes (max_text_length");
	free(b.s);
}

static void
test_namespaces_in_scope_are_bounded(void **state)
{
	struct sbuf b = { NULL, 0, 0 };
	unsigned i;

	(void)state;
	/* 16 in scope at once, in sibling elements many more. */
	sb_add(&b, DOC_HEAD "<A xmlns=\"urn:a\"");
	for (i = 1; i < MSG_MAX_NAMESPACES; i++)
		sb_add(&b, " xmlns:p%u=\"urn:p%u\"", i, i);
	sb_add(&b, ">");
	for (i = 0; i < 100; i++)
		sb_add(&b, "<q:B xmlns:q=\"urn:q%u\"/>", i);
	sb_add(&b, "</A>" DOC_TAIL);
	b.len -= strlen("</A>" DOC_TAIL);
	sb_add(&b, "</A><C xmlns:z=\"urn:z\"/>" DOC_TAIL);
	b.s[b.len] = '\0';
	{
		struct spool_error e;
		struct msg m;

		/* the 100 siblings each make 17 in scope: refused */
		assert_int_equal(msg_parse_limits(b.s, b.len, &deflim, &m,
		    &e), -1);
		assert_non_null(strstr(e.msg, "element q:B has more than 16 "
		    "namespace declarations in scope (max_namespaces"));
	}
	b.len = 0;
	sb_add(&b, DOC_HEAD "<A xmlns=\"urn:a\"");
	for (i = 1; i < MSG_MAX_NAMESPACES - 1; i++)
		sb_add(&b, " xmlns:p%u=\"urn:p%u\"", i, i);
	sb_add(&b, ">");
	for (i = 0; i < 100; i++)
		sb_add(&b, "<q:B xmlns:q=\"urn:q%u\"/>", i);
	sb_add(&b, "</A>" DOC_TAIL);
	lim_ok(b.s, b.len, &deflim);
	free(b.s);
}

static void
test_utf16_document_is_bounded_too(void **state)
{
	struct sbuf b;
	char *u;
	size_t i;

	(void)state;
	b = doc_with_attrs("Line", MSG_MAX_ATTRIBUTES + 1);
	u = malloc(2 * b.len + 2);
	assert_non_null(u);
	u[0] = '\xff';
	u[1] = '\xfe';
	for (i = 0; i < b.len; i++) {
		u[2 + 2 * i] = b.s[i];
		u[3 + 2 * i] = '\0';
	}
	lim_refuse(u, 2 * b.len + 2, &deflim, "element Line has more than 64 "
	    "attributes (max_attributes, line 2)");
	free(u);
	free(b.s);
}

/* xml in UTF-16LE with a BOM, into a malloc'd buffer of *len bytes. */
static char *
utf16le(const char *xml, size_t *len)
{
	size_t i, n = strlen(xml);
	char *u;

	u = malloc(2 * n + 2);
	assert_non_null(u);
	u[0] = '\xff';
	u[1] = '\xfe';
	for (i = 0; i < n; i++) {
		u[2 + 2 * i] = xml[i];
		u[3 + 2 * i] = '\0';
	}
	*len = 2 * n + 2;
	return u;
}

static void
test_utf16_may_declare_utf16_not_another_encoding(void **state)
{
	char *u;
	size_t len;

	(void)state;
	u = utf16le("<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n"
	    DOC_HEAD DOC_TAIL, &len);
	lim_ok(u, len, &deflim);
	free(u);
	u = utf16le("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
	    DOC_HEAD DOC_TAIL, &len);
	assert_int_equal(lim_refuse(u, len, &deflim, "not well-formed XML: "
	    "a document written in UTF-16LE declares encoding ISO-8859-1 "
	    "(line 1)"), 1);
	free(u);
}

static void
test_attributes_hidden_by_a_declared_encoding_are_counted(void **state)
{
	/* UTF-7: the start tag's '<' is "+ADw-", invisible as bytes. */
	struct sbuf b = { NULL, 0, 0 };
	unsigned i;

	(void)state;
	sb_add(&b, "<?xml version=\"1.0\" encoding=\"UTF-7\"?>\n" DOC_HEAD
	    "+ADw-Line");
	for (i = 0; i < 100; i++)
		sb_add(&b, " a%u=+ACI-1+ACI-", i);
	sb_add(&b, "/+AD4-\n" DOC_TAIL);
	lim_refuse(b.s, b.len, &deflim, "element Line has more than 64 "
	    "attributes");
	free(b.s);
}

static void
test_tag_after_an_error_in_a_comment_is_refused_quickly(void **state)
{
	/*
	 * A bad character in a comment: libxml2 would go on and parse the
	 * rest of the comment as content, tags the pre-scan skipped.
	 */
	struct sbuf b = { NULL, 0, 0 };
	double t;
	unsigned i;

	(void)state;
	sb_add(&b, DOC_HEAD "<!-- \x01 <Line");
	for (i = 0; i < 100000; i++)
		sb_add(&b, " a%u=\"1\"", i);
	sb_add(&b, "/> -->" DOC_TAIL);
	t = mono();
	lim_refuse(b.s, b.len, &deflim, "not well-formed XML");
	t = mono() - t;
	if (t > 1.0)
		fail_msg("took %.2f s", t);
	free(b.s);
}

static void
test_unbounded_parse_still_checks_well_formedness(void **state)
{
	struct sbuf b;

	(void)state;
	b = doc_with_attrs("Line", 1000);
	lim_ok(b.s, b.len, NULL);
	free(b.s);
}

/* --- after the root element ------------------------------------------ */

static void
test_nul_and_junk_after_the_document_are_refused(void **state)
{
	static const char xml[] = "<Invoice><Header><Sender>A</Sender>"
	    "</Header></Invoice>\0junk";

	(void)state;
	assert_int_equal(refuse_buf(xml, sizeof(xml) - 1,
	    "not well-formed XML: NUL byte at offset 54 (line 1)"), 1);
}

static void
test_second_document_after_nul_is_refused(void **state)
{
	static const char xml[] = "<Invoice><Header><Sender>A</Sender>"
	    "</Header></Invoice>\n\0\n<Invoice><Header><Sender>B</Sender>"
	    "</Header></Invoice>";

	(void)state;
	assert_int_equal(refuse_buf(xml, sizeof(xml) - 1,
	    "NUL byte at offset 55 (line 2)"), 2);
	lim_refuse(xml, sizeof(xml) - 1, &deflim, "NUL byte at offset 55");
}

static void
test_second_document_is_refused(void **state)
{
	(void)state;
	refuse("<Invoice><Header><Sender>A</Sender></Header></Invoice>\n"
	    "<Invoice><Header><Sender>B</Sender></Header></Invoice>",
	    "not well-formed XML: Extra content at the end of the document");
	refuse("<Invoice><Header><Sender>A</Sender></Header></Invoice>junk",
	    "Extra content at the end of the document");
}

static void
test_comments_pis_and_blanks_after_the_root_are_accepted(void **state)
{
	static const char xml[] = "<Invoice><Header><Sender>A</Sender>"
	    "</Header></Invoice>\n<!-- c -->\n<?pi x?>\n \t\r\n";

	(void)state;
	lim_ok(xml, sizeof(xml) - 1, &deflim);
}

static void
test_nul_character_in_utf16_is_refused(void **state)
{
	static const char xml[] = "<Invoice><Header><Sender>A</Sender>"
	    "</Header></Invoice>";
	char u[2 * sizeof(xml) + 6];
	size_t i, n = 0;

	(void)state;
	u[n++] = '\xff';
	u[n++] = '\xfe';
	for (i = 0; i < sizeof(xml) - 1; i++) {
		u[n++] = xml[i];
		u[n++] = '\0';
	}
	u[n++] = '\0';
	u[n++] = '\0';
	u[n++] = 'x';
	u[n++] = '\0';
	refuse_buf(u, n, "NUL character (U+0000) on line 1");
}

/* --- API ------------------------------------------------------------- */

static void
test_msg_free_is_safe_on_null_zeroed_and_freed_messages(void **state)
{
	struct msg m;

	(void)state;
	msg_free(NULL);
	memset(&m, 0, sizeof(m));
	msg_free(&m);
	parse_ok(with_header("<Sender>A</Sender>\n"), &m);
	msg_free(&m);
	assert_zeroed(&m);
	msg_free(&m);
}

static void
test_null_error_pointer_is_allowed(void **state)
{
	struct msg m;

	(void)state;
	assert_int_equal(msg_parse("<x/>", 4, &m, NULL), -1);
	assert_int_equal(msg_parse("", 0, &m, NULL), -1);
	assert_int_equal(msg_parse("<x", 2, &m, NULL), -1);
	assert_int_equal(msg_parse(with_header("<Sender>A</Sender>\n"),
	    strlen(with_header("<Sender>A</Sender>\n")), &m, NULL), 0);
	msg_free(&m);
}

int
main(void)
{
#define T(f)	cmocka_unit_test(f)
	const struct CMUnitTest tests[] = {
		T(test_every_native_sample_parses_with_its_header),
		T(test_every_xml_file_in_native_samples_is_accepted),
		T(test_sender_sequence_0_is_refused_must_be_at_least_1),
		T(test_sender_sequence_1_is_accepted),
		T(test_sender_sequence_int64_max_is_accepted),
		T(test_sender_sequence_int64_max_plus_1_is_out_of_range),
		T(test_sender_sequence_word_is_not_a_number),
		T(test_sender_sequence_surrounding_whitespace_is_trimmed),
		T(test_sender_sequence_trailing_garbage_is_not_a_number),
		T(test_sender_sequence_negative_is_refused),
		T(test_sender_sequence_plus_and_leading_zeros_are_accepted),
		T(test_sender_sequence_empty_is_not_a_number),
		T(test_bad_sender_sequence_sets_err_line),
		T(test_receiver_sequence_0_is_accepted),
		T(test_receiver_sequence_negative_is_refused),
		T(test_transaction_without_receiver_sequence_is_refused),
		T(test_message_id_of_128_is_accepted_129_refused),
		T(test_transaction_id_of_128_is_accepted_129_refused),
		T(test_sender_and_recipient_of_129_are_refused),
		T(test_control_character_in_transaction_id_is_refused),
		T(test_raw_control_byte_in_document_is_not_well_formed),
		T(test_non_ascii_in_ids_is_refused),
		T(test_whitespace_at_the_ends_of_ids_is_trimmed),
		T(test_quoted_value_in_error_is_escaped_and_cut),
		T(test_missing_sender_is_refused),
		T(test_empty_sender_is_refused),
		T(test_missing_header_is_refused),
		T(test_text_before_header_is_refused),
		T(test_comments_and_whitespace_before_header_are_allowed),
		T(test_transaction_id_without_sender_sequence_is_refused),
		T(test_sender_sequence_without_transaction_id_is_refused),
		T(test_empty_transaction_id_means_outside_transaction),
		T(test_field_given_twice_is_refused),
		T(test_unknown_header_field_is_refused),
		T(test_text_in_header_is_refused),
		T(test_element_inside_header_field_is_refused),
		T(test_header_must_be_in_the_namespace_of_the_root),
		T(test_undeclared_namespace_prefix_is_refused),
		T(test_overlong_type_is_refused),
		T(test_not_well_formed_is_refused_with_libxml2_reason_and_line),
		T(test_empty_input_is_refused),
		T(test_embedded_nul_is_refused),
		T(test_buffer_need_not_be_nul_terminated),
		T(test_adversarial_samples_are_refused_at_the_doctype),
		T(test_broken_adversarial_samples_are_not_well_formed),
		T(test_xxe_file_and_http_are_refused_without_loading),
		T(test_doctype_sets_err_line),
		T(test_libxml2_never_writes_to_stderr),
		T(test_attributes_up_to_max_are_accepted_one_more_refused),
		T(test_200000_attributes_are_refused_at_once),
		T(test_attribute_bound_is_configurable),
		T(test_lt_in_an_attribute_value_is_left_to_libxml2),
		T(test_quoted_values_holding_gt_and_slash_do_not_end_the_tag),
		T(test_nesting_up_to_max_depth_is_accepted_one_more_refused),
		T(test_long_names_are_refused_naming_max_name_length),
		T(test_long_text_cdata_and_values_are_refused),
		T(test_namespaces_in_scope_are_bounded),
		T(test_utf16_document_is_bounded_too),
		T(test_utf16_may_declare_utf16_not_another_encoding),
		T(test_attributes_hidden_by_a_declared_encoding_are_counted),
		T(test_tag_after_an_error_in_a_comment_is_refused_quickly),
		T(test_unbounded_parse_still_checks_well_formedness),
		T(test_nul_and_junk_after_the_document_are_refused),
		T(test_second_document_after_nul_is_refused),
		T(test_second_document_is_refused),
		T(test_comments_pis_and_blanks_after_the_root_are_accepted),
		T(test_nul_character_in_utf16_is_refused),
		T(test_msg_free_is_safe_on_null_zeroed_and_freed_messages),
		T(test_null_error_pointer_is_allowed),
	};
#undef T

	return cmocka_run_group_tests_name("message", tests, group_setup,
	    group_teardown);
}
