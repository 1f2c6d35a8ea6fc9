/*
 * test_schema.c - unit tests of spool/schema.c and of the schemas in
 * schemas/: every native sample validates against its type's schema, and
 * invalid messages are refused with one sentence naming the element's
 * path and line (DESIGN 4).
 *
 * Every test's name states the rule it checks. The set compiled from
 * SRCDIR/schemas is loaded once for the group. The program installs an
 * external entity loader that refuses everything (as spoold does for
 * partner messages), so loading the schemas also proves that the module
 * brings its own local-only loader and puts the program's back. Tests
 * built on the shared samples (../shared, outside the source tree) are
 * skipped where those are absent, as in a release tarball.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
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
#include <libxml/tree.h>

#include "error.h"
#include "schema.h"

#define SCHEMA_DIR	SRCDIR "/schemas"
#define NATIVE_DIR	SRCDIR "/../shared/samples/native"
#define SAMPLE_CREATE	NATIVE_DIR "/01-PurchaseOrderCreate.xml"
#define SAMPLE_POSTING	NATIVE_DIR "/07-FinancialPosting.xml"
#define SAMPLE_TRANSFER	NATIVE_DIR "/06-StockTransfer.xml"
#define SAMPLE_ACCEPT	NATIVE_DIR "/02-PurchaseOrderAccept.xml"

static struct schema_set	*set;
static xmlExternalEntityLoader	 saved_loader;
static int			 refused_loads;
static int			 have_samples;	/* ../shared is not in a
						 * tarball */

static xmlParserInputPtr
refusing_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	(void)url;
	(void)id;
	(void)ctxt;
	refused_loads++;
	return NULL;
}

static int
group_setup(void **state)
{
	struct spool_error err;

	(void)state;
	have_samples = access(NATIVE_DIR, R_OK | X_OK) == 0;
	xmlInitParser();
	saved_loader = xmlGetExternalEntityLoader();
	xmlSetExternalEntityLoader(refusing_loader);
	if ((set = schema_set_load(SCHEMA_DIR, &err)) == NULL) {
		fprintf(stderr, "schema_set_load: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	schema_set_free(set);
	xmlSetExternalEntityLoader(saved_loader);
	xmlCleanupParser();
	return 0;
}

static char *
slurp(const char *path)
{
	FILE *f;
	char *buf;
	long n;

	if (!have_samples)
		skip();
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
	buf[n] = '\0';
	return buf;
}

/* s with every occurrence of from replaced by to (at least one). */
static char *
replace(const char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0, o = 0;
	const char *p;
	char *out;

	for (p = s; (p = strstr(p, from)) != NULL; p += fl)
		n++;
	if (n == 0)
		fail_msg("\"%s\" not found in the sample", from);
	out = malloc(strlen(s) + n * tl + 1);
	assert_non_null(out);
	while ((p = strstr(s, from)) != NULL) {
		memcpy(out + o, s, (size_t)(p - s));
		o += (size_t)(p - s);
		memcpy(out + o, to, tl);
		o += tl;
		s = p + fl;
	}
	strcpy(out + o, s);
	return out;
}

static xmlDocPtr
parse(const char *text)
{
	xmlDocPtr doc;

	doc = xmlReadMemory(text, (int)strlen(text), "test.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	assert_non_null(doc);
	return doc;
}

static const char *
root_name(xmlDocPtr doc)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);

	assert_non_null(root);
	return (const char *)root->name;
}

/* Validate text as its root's type; return the result, fill err. */
static int
validate_text(const char *text, struct spool_error *err)
{
	xmlDocPtr doc = parse(text);
	int rc;

	rc = schema_validate(set, root_name(doc), doc, err);
	xmlFreeDoc(doc);
	return rc;
}

/* The sample at path, edited (from -> to), must be refused. */
static void
expect_refused(const char *path, const char *from, const char *to,
    const char *want, int line)
{
	struct spool_error err;
	char *text, *bad, suffix[32];

	text = slurp(path);
	bad = replace(text, from, to);
	memset(&err, 0, sizeof(err));
	assert_int_equal(validate_text(bad, &err), -1);
	if (strstr(err.msg, want) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", err.msg, want);
	snprintf(suffix, sizeof(suffix), "(line %d)", line);
	if (strstr(err.msg, suffix) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", err.msg, suffix);
	assert_int_equal(err.line, line);
	assert_null(strchr(err.msg, '\n'));
	free(bad);
	free(text);
}

static void
expect_valid(const char *path, const char *from, const char *to)
{
	struct spool_error err;
	char *text, *edited;

	text = slurp(path);
	edited = replace(text, from, to);
	memset(&err, 0, sizeof(err));
	if (validate_text(edited, &err) != 0)
		fail_msg("refused: %s", err.msg);
	free(edited);
	free(text);
}

/* A fresh temporary directory; the caller removes it with rmtmpdir(). */
static char *
make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *dir;

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	/* abort(), not assert_non_null(): GCC at -O2 with sanitizers sees
	 * no end in cmocka's failure and warns of a NULL sprintf target. */
	if ((dir = malloc(strlen(base) + 32)) == NULL)
		abort();
	sprintf(dir, "%s/test_schema.XXXXXX", base);
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Remove dir, its files and its subdirectories' files (two levels). */
static void
rmtree(const char *dir)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	char path[1024];

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		assert_int_equal(lstat(path, &st), 0);
		if (S_ISDIR(st.st_mode))
			rmtree(path);
		else
			assert_int_equal(unlink(path), 0);
	}
	assert_int_equal(closedir(d), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* Remove a directory from make_tmpdir() and free its name. */
static void
rmtmpdir(char *dir)
{
	rmtree(dir);
	free(dir);
}

/* Load dir with stderr captured; fail if libxml2 printed anything. */
static struct schema_set *
load_quietly(const char *dir, struct spool_error *err)
{
	struct schema_set *s;
	FILE *tmp;
	int saved;

	fflush(stderr);
	assert_non_null(tmp = tmpfile());
	assert_true((saved = dup(STDERR_FILENO)) >= 0);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	s = schema_set_load(dir, err);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	assert_int_equal(close(saved), 0);
	assert_int_equal(fseek(tmp, 0, SEEK_END), 0);
	if (ftell(tmp) != 0)
		fail_msg("libxml2 printed to stderr while loading %s", dir);
	assert_int_equal(fclose(tmp), 0);
	return s;
}

static const char minimal_xsd[] =
    "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n"
    "  <xs:element name=\"Ping\" type=\"xs:string\"/>\n"
    "</xs:schema>\n";

/* ---- the schemas in schemas/ ---- */

static void
test_every_native_type_has_a_schema(void **state)
{
	static const char *const types[] = {
		"PurchaseOrderCreate", "PurchaseOrderSubmit",
		"PurchaseOrderAck", "PurchaseOrderAccept",
		"PurchaseOrderDecline", "PurchaseOrderChange",
		"PurchaseOrderCancel", "DeliveryNote", "Invoice",
		"ProductInfo", "InventoryMovement", "StockTransfer",
		"FinancialPosting", NULL
	};
	size_t i;

	(void)state;
	for (i = 0; types[i] != NULL; i++)
		if (!schema_set_has(set, types[i]))
			fail_msg("no schema for %s", types[i]);
	assert_int_equal(schema_set_count(set), i);
	assert_false(schema_set_has(set, "common"));
	assert_false(schema_set_has(set, "include"));
}

static void
test_every_native_sample_validates(void **state)
{
	struct spool_error err;
	struct dirent *de;
	char path[1024], *text;
	size_t len, n = 0;
	xmlDocPtr doc;
	DIR *d;

	(void)state;
	if (!have_samples)
		skip();
	assert_non_null(d = opendir(NATIVE_DIR));
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 4 || strcmp(de->d_name + len - 4, ".xml") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", NATIVE_DIR, de->d_name);
		text = slurp(path);
		doc = parse(text);
		if (!schema_set_has(set, root_name(doc)))
			fail_msg("%s: no schema for %s", de->d_name,
			    root_name(doc));
		if (schema_validate(set, root_name(doc), doc, &err) != 0)
			fail_msg("%s: %s", de->d_name, err.msg);
		assert_string_equal(err.msg, "");
		assert_int_equal(err.line, 0);
		xmlFreeDoc(doc);
		free(text);
		n++;
	}
	assert_int_equal(closedir(d), 0);
	assert_true(n >= 12);
}

static void
test_submit_validates_like_create(void **state)
{
	(void)state;
	expect_valid(SAMPLE_CREATE, "PurchaseOrderCreate",
	    "PurchaseOrderSubmit");
}

static void
test_root_element_must_match_the_type(void **state)
{
	struct spool_error err;
	char *text;
	xmlDocPtr doc;

	(void)state;
	text = slurp(SAMPLE_CREATE);
	doc = parse(text);
	assert_int_equal(schema_validate(set, "PurchaseOrderSubmit", doc,
	    &err), -1);
	assert_string_equal(err.msg, "PurchaseOrderCreate: a "
	    "PurchaseOrderSubmit message must have the root element "
	    "PurchaseOrderSubmit, without a namespace (line 2)");
	xmlFreeDoc(doc);
	free(text);
}

static void
test_submit_refuses_what_create_refuses(void **state)
{
	struct spool_error err;
	char *text, *submit, *bad;

	(void)state;
	text = slurp(SAMPLE_CREATE);
	submit = replace(text, "PurchaseOrderCreate", "PurchaseOrderSubmit");
	bad = replace(submit, ">5<", ">abc<");
	assert_int_equal(validate_text(bad, &err), -1);
	assert_string_equal(err.msg,
	    "Body/Line[2]/Quantity: 'abc' is not a valid integer (line 17)");
	free(bad);
	free(submit);
	free(text);
}

static void
test_type_without_schema_passes(void **state)
{
	struct spool_error err;
	xmlDocPtr doc;

	(void)state;
	doc = parse("<ShipmentStatus><Anything goes=\"1\"/></ShipmentStatus>");
	assert_false(schema_set_has(set, "ShipmentStatus"));
	assert_int_equal(schema_validate(set, "ShipmentStatus", doc, &err), 0);
	assert_int_equal(schema_validate(set, "../schemas/Invoice", doc, &err),
	    0);
	xmlFreeDoc(doc);
}

static void
test_non_integer_quantity_is_refused_with_path_and_line(void **state)
{
	struct spool_error err;
	char *text, *bad;

	(void)state;
	text = slurp(SAMPLE_CREATE);
	bad = replace(text, ">5<", ">abc<");
	assert_int_equal(validate_text(bad, &err), -1);
	assert_string_equal(err.msg,
	    "Body/Line[2]/Quantity: 'abc' is not a valid integer (line 17)");
	assert_int_equal(err.line, 17);
	free(bad);
	free(text);
}

static void
test_missing_order_number_is_refused(void **state)
{
	(void)state;
	expect_refused(SAMPLE_CREATE,
	    "<OrderNumber>4500012345</OrderNumber>", "",
	    "Body/OrderDate: this element is not allowed here; expected "
	    "OrderNumber", 14);
}

static void
test_debit_and_credit_in_one_line_are_refused(void **state)
{
	(void)state;
	expect_refused(SAMPLE_POSTING, "<Debit>9500</Debit>",
	    "<Debit>9500</Debit><Credit>9500</Credit>",
	    "Body/Line[2]/Credit: this element is not allowed here", 12);
}

static void
test_posting_line_needs_debit_or_credit(void **state)
{
	(void)state;
	expect_refused(SAMPLE_POSTING, "<Debit>9500</Debit>", "",
	    "Body/Line[2]: a required element is missing; expected one of "
	    "Debit, Credit", 12);
	expect_refused(SAMPLE_POSTING, "<Debit>9500</Debit>",
	    "<Debit>-9500</Debit>", "Body/Line[2]/Debit: '-9500' is less than "
	    "the minimum 0", 12);
}

static void
test_negative_stock_transfer_quantity_is_refused(void **state)
{
	(void)state;
	expect_refused(SAMPLE_TRANSFER, ">15<", ">-15<",
	    "Body/Quantity: '-15' is less than the minimum 1", 9);
	expect_refused(SAMPLE_TRANSFER, ">15<", ">0<",
	    "Body/Quantity: '0' is less than the minimum 1", 9);
}

static void
test_unknown_element_in_body_is_refused(void **state)
{
	(void)state;
	expect_refused(SAMPLE_CREATE, "<Currency>EUR</Currency>",
	    "<Currency>EUR</Currency>\n    <Discount>5</Discount>",
	    "Body/Discount: this element is not allowed here", 16);
}

static void
test_other_invalid_variants_are_refused_in_plain_words(void **state)
{
	(void)state;
	expect_refused(SAMPLE_CREATE, " number=\"2\"", " number=\"1\"",
	    "Body/Line[2]: line number 1 is used more than once", 17);
	expect_refused(SAMPLE_CREATE, " number=\"2\"", "",
	    "Body/Line[2]: the attribute 'number' is required but missing",
	    17);
	expect_refused(SAMPLE_CREATE, " number=\"2\"", " number=\"two\"",
	    "Body/Line[2]/@number: 'two' is not a valid integer", 17);
	expect_refused(SAMPLE_CREATE, " number=\"2\"",
	    " number=\"2\" colour=\"red\"",
	    "Body/Line[2]/@colour: this attribute is not allowed here", 17);
	expect_refused(SAMPLE_CREATE, ">5<", ">9223372036854775808<",
	    "Body/Line[2]/Quantity: '9223372036854775808' is greater than "
	    "the maximum 9223372036854775807", 17);
	expect_refused(SAMPLE_CREATE, ">5<", ">2.5<",
	    "Body/Line[2]/Quantity: '2.5' is not a valid integer", 17);
	expect_refused(SAMPLE_CREATE, ">EUR<", ">euro<",
	    "Body/Currency: 'euro' does not match the pattern [A-Z]{3}", 15);
	expect_refused(SAMPLE_CREATE, ">2026-11-24<", ">24.11.2026<",
	    "Body/OrderDate: '24.11.2026' is not a valid date (YYYY-MM-DD)",
	    14);
	expect_refused(SAMPLE_CREATE, ">2026-11-24T09:12:03Z<", ">today<",
	    "Header/Created: 'today' is not a valid date and time", 10);
	expect_refused(SAMPLE_CREATE, "<Sender>ACME</Sender>", "",
	    "Header/Recipient: this element is not allowed here; expected "
	    "Sender", 6);
	expect_refused(SAMPLE_CREATE, "<Sender>ACME</Sender>",
	    "<Sender></Sender>", "Header/Sender: must not be empty", 5);
	expect_refused(SAMPLE_CREATE, ">1</SenderSequence>",
	    ">0</SenderSequence>",
	    "Header/SenderSequence: '0' is less than the minimum 1", 8);
	expect_refused(SAMPLE_CREATE, ">0</ReceiverSequence>",
	    ">-1</ReceiverSequence>",
	    "Header/ReceiverSequence: '-1' is less than the minimum 0", 9);
	expect_refused(SAMPLE_CREATE, "<Body>", "<Body>oops",
	    "Body: text is not allowed here, only elements", 12);
	expect_refused(SAMPLE_ACCEPT, "<Body><OrderNumber>4500012345"
	    "</OrderNumber><DeliveryDate>2026-12-01</DeliveryDate></Body>", "",
	    "PurchaseOrderAccept: a required element is missing; expected "
	    "Body", 2);
	expect_refused(SAMPLE_ACCEPT, "<PurchaseOrderAccept>",
	    "<PurchaseOrderAccept xmlns=\"urn:example\">",
	    "must have the root element PurchaseOrderAccept, without a "
	    "namespace", 2);
}

static void
test_whitespace_comments_and_empty_transaction_id_are_accepted(void **state)
{
	(void)state;
	expect_valid(SAMPLE_CREATE, "<Line number=\"2\">",
	    "<!-- second line -->\n    <Line number=\"2\">\n      ");
	expect_valid(SAMPLE_CREATE, ">5<", "> 5 <");
	expect_valid(SAMPLE_CREATE, ">ACME<", ">\n      ACME\n    <");
	expect_valid(SAMPLE_CREATE, ">5<", ">5<!-- five --><");
	expect_valid(SAMPLE_ACCEPT, ">PO-2026-000123<", "><");
	expect_valid(SAMPLE_ACCEPT, "<SenderSequence>2</SenderSequence>\n"
	    "    <ReceiverSequence>1</ReceiverSequence>\n", "");
}

static void
test_schema_location_hints_in_messages_are_ignored(void **state)
{
	int before = refused_loads;

	(void)state;
	expect_valid(SAMPLE_ACCEPT, "<PurchaseOrderAccept>",
	    "<PurchaseOrderAccept "
	    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
	    "xsi:noNamespaceSchemaLocation=\"http://127.0.0.1:9/evil.xsd\">");
	assert_int_equal(refused_loads, before);
}

static void
test_validation_context_is_reusable_after_an_error(void **state)
{
	(void)state;
	expect_refused(SAMPLE_CREATE, ">5<", ">abc<", "Quantity", 17);
	expect_valid(SAMPLE_CREATE, ">5<", ">6<");
	expect_refused(SAMPLE_CREATE, ">40<", ">-40<",
	    "Body/Line[1]/Quantity: '-40' is less than the minimum 0", 16);
}

static void
test_unsafe_values_stay_on_one_line(void **state)
{
	struct spool_error err;
	char *text, *bad, big[400];

	(void)state;
	text = slurp(SAMPLE_CREATE);
	memset(big, '7', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[0] = '>';
	big[1] = 'x';
	big[sizeof(big) - 2] = '<';
	bad = replace(text, ">5<", big);
	assert_int_equal(validate_text(bad, &err), -1);
	assert_non_null(strstr(err.msg, "Body/Line[2]/Quantity: 'x777"));
	if (strstr(err.msg, "...' is not a valid integer (line 17)") == NULL)
		fail_msg("not cut: %s", err.msg);
	assert_true(strlen(err.msg) < 200);
	free(bad);
	bad = replace(text, ">5<", ">a&#10;b&#13;c<");
	assert_int_equal(validate_text(bad, &err), -1);
	assert_null(strchr(err.msg, '\n'));
	assert_null(strchr(err.msg, '\r'));
	assert_non_null(strstr(err.msg, "(line 17)"));
	free(bad);
	bad = replace(text, "<Item>SKU-2002</Item>", "<Item></Item>");
	assert_int_equal(validate_text(bad, &err), -1);
	assert_string_equal(err.msg,
	    "Body/Line[2]/Item: must not be empty (line 17)");
	free(bad);
	free(text);
}

/* ---- loading ---- */

static void
test_missing_directory_is_an_error(void **state)
{
	struct spool_error err;

	(void)state;
	assert_null(schema_set_load(SRCDIR "/no/such/dir", &err));
	assert_non_null(strstr(err.msg, SRCDIR "/no/such/dir"));
	assert_null(schema_set_load("", &err));
	assert_true(err.msg[0] != '\0');
}

static void
test_empty_directory_is_an_empty_set(void **state)
{
	struct spool_error err;
	struct schema_set *s;
	xmlDocPtr doc;
	char *dir;

	(void)state;
	dir = make_tmpdir();
	assert_non_null(s = schema_set_load(dir, &err));
	assert_int_equal(schema_set_count(s), 0);
	assert_false(schema_set_has(s, "Invoice"));
	doc = parse("<Invoice/>");
	assert_int_equal(schema_validate(s, "Invoice", doc, &err), 0);
	xmlFreeDoc(doc);
	schema_set_free(s);
	rmtmpdir(dir);
}

static void
test_broken_xsd_is_an_error_naming_the_file(void **state)
{
	struct spool_error err;
	char *dir;

	(void)state;
	dir = make_tmpdir();
	write_file(dir, "Good.xsd", minimal_xsd);
	write_file(dir, "Broken.xsd", "<xs:schema xmlns:xs=\""
	    "http://www.w3.org/2001/XMLSchema\">\n  <xs:element name=\"X\">\n");
	assert_null(load_quietly(dir, &err));
	assert_non_null(strstr(err.msg, "Broken.xsd"));
	assert_non_null(strstr(err.msg, dir));
	rmtmpdir(dir);

	/* Well-formed, but not a schema that compiles. */
	dir = make_tmpdir();
	write_file(dir, "Bad.xsd", "<xs:schema xmlns:xs=\""
	    "http://www.w3.org/2001/XMLSchema\">\n"
	    "  <xs:element name=\"Bad\" type=\"NoSuchType\"/>\n"
	    "</xs:schema>\n");
	assert_null(load_quietly(dir, &err));
	assert_non_null(strstr(err.msg, "Bad.xsd"));
	assert_non_null(strstr(err.msg, "NoSuchType"));
	assert_non_null(strstr(err.msg, "(line 2)"));
	rmtmpdir(dir);
}

static void
test_broken_include_names_both_files(void **state)
{
	struct spool_error err;
	char *dir, sub[1024];

	(void)state;
	dir = make_tmpdir();
	snprintf(sub, sizeof(sub), "%s/include", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	write_file(sub, "common.xsd", "<xs:schema xmlns:xs=\""
	    "http://www.w3.org/2001/XMLSchema\">\n<oops>\n</xs:schema>\n");
	write_file(dir, "Ping.xsd", "<xs:schema xmlns:xs=\""
	    "http://www.w3.org/2001/XMLSchema\">\n"
	    "  <xs:include schemaLocation=\"include/common.xsd\"/>\n"
	    "</xs:schema>\n");
	assert_null(load_quietly(dir, &err));
	assert_non_null(strstr(err.msg, "Ping.xsd"));
	assert_non_null(strstr(err.msg, "include/common.xsd"));
	rmtmpdir(dir);
}

static void
test_network_include_is_refused_without_connecting(void **state)
{
	struct spool_error err;
	char *dir;

	(void)state;
	dir = make_tmpdir();
	write_file(dir, "Remote.xsd", "<xs:schema xmlns:xs=\""
	    "http://www.w3.org/2001/XMLSchema\">\n"
	    "  <xs:include schemaLocation=\"http://127.0.0.1:9/common.xsd\"/>\n"
	    "  <xs:element name=\"Remote\" type=\"Missing\"/>\n"
	    "</xs:schema>\n");
	assert_null(load_quietly(dir, &err));
	assert_non_null(strstr(err.msg, "Remote.xsd"));
	rmtmpdir(dir);
}

static void
test_only_xsd_files_directly_in_the_directory_are_types(void **state)
{
	struct spool_error err;
	struct schema_set *s;
	char *dir, sub[1024];

	(void)state;
	dir = make_tmpdir();
	snprintf(sub, sizeof(sub), "%s/include", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	write_file(sub, "Hidden.xsd", "not even XML");
	write_file(dir, ".Editor.xsd", "not even XML");
	write_file(dir, "Ping.xsd~", "not even XML");
	write_file(dir, "README", "not even XML");
	write_file(dir, "Ping.xsd", minimal_xsd);
	assert_non_null(s = load_quietly(dir, &err));
	assert_int_equal(schema_set_count(s), 1);
	assert_true(schema_set_has(s, "Ping"));
	assert_false(schema_set_has(s, "Hidden"));
	assert_false(schema_set_has(s, ".Editor"));
	schema_set_free(s);
	rmtmpdir(dir);
}

static void
test_file_name_that_is_no_element_name_is_an_error(void **state)
{
	struct spool_error err;
	char *dir;

	(void)state;
	dir = make_tmpdir();
	write_file(dir, "9 lives.xsd", minimal_xsd);
	assert_null(load_quietly(dir, &err));
	assert_non_null(strstr(err.msg, "9 lives.xsd"));
	rmtmpdir(dir);
}

static void
test_load_restores_the_programs_entity_loader(void **state)
{
	(void)state;
	/* group_setup loaded the set with refusing_loader installed. */
	assert_ptr_equal(xmlGetExternalEntityLoader(), refusing_loader);
	assert_int_equal(refused_loads, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_native_type_has_a_schema),
		cmocka_unit_test(test_every_native_sample_validates),
		cmocka_unit_test(test_submit_validates_like_create),
		cmocka_unit_test(test_submit_refuses_what_create_refuses),
		cmocka_unit_test(test_root_element_must_match_the_type),
		cmocka_unit_test(test_type_without_schema_passes),
		cmocka_unit_test(
		    test_non_integer_quantity_is_refused_with_path_and_line),
		cmocka_unit_test(test_missing_order_number_is_refused),
		cmocka_unit_test(test_debit_and_credit_in_one_line_are_refused),
		cmocka_unit_test(test_posting_line_needs_debit_or_credit),
		cmocka_unit_test(
		    test_negative_stock_transfer_quantity_is_refused),
		cmocka_unit_test(test_unknown_element_in_body_is_refused),
		cmocka_unit_test(
		    test_other_invalid_variants_are_refused_in_plain_words),
		cmocka_unit_test(
		test_whitespace_comments_and_empty_transaction_id_are_accepted),
		cmocka_unit_test(
		    test_schema_location_hints_in_messages_are_ignored),
		cmocka_unit_test(
		    test_validation_context_is_reusable_after_an_error),
		cmocka_unit_test(test_unsafe_values_stay_on_one_line),
		cmocka_unit_test(test_missing_directory_is_an_error),
		cmocka_unit_test(test_empty_directory_is_an_empty_set),
		cmocka_unit_test(test_broken_xsd_is_an_error_naming_the_file),
		cmocka_unit_test(test_broken_include_names_both_files),
		cmocka_unit_test(
		    test_network_include_is_refused_without_connecting),
		cmocka_unit_test(
		    test_only_xsd_files_directly_in_the_directory_are_types),
		cmocka_unit_test(
		    test_file_name_that_is_no_element_name_is_an_error),
		cmocka_unit_test(test_load_restores_the_programs_entity_loader),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
