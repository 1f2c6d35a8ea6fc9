/*
 * test_dialect.c - dialects (spool/dialect.c, DESIGN 15): dialect files
 * and their errors with file:line, recognition, the built-in dialects'
 * keys, and acceptance's reading of a message (spool/accept_read.c):
 * spoofed senders, misdirected recipients, test interchanges, the
 * dialects a partner may send.
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
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "accept.h"
#include "accept_int.h"
#include "conf.h"
#include "dialect.h"
#include "edi.h"
#include "message.h"

static struct dialect_set builtin;

static int
setup(void **state)
{
	static char *dirs[] = { (char *)SRCDIR "/dialects", NULL };
	struct spool_error err;

	(void)state;
	xmlInitParser();
	if (dialect_set_load(&builtin, dirs, NULL, &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	dialect_set_free(&builtin);
	return 0;
}

static xmlDocPtr
xml_mem(const char *s, const char *url, const char *enc, int opts)
{
	return xmlReadMemory(s, (int)strlen(s), url, enc, opts);
}

/* A directory holding one dialect file; returns its path. */
static const char *
one_dialect(const char *name, const char *text)
{
	static char dir[64];
	char path[160];
	FILE *fp;

	snprintf(dir, sizeof(dir), "/tmp/test_dialect.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/%s.dialect", dir, name);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
	return dir;
}

static void
rm_dialect(const char *dir, const char *name)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s.dialect", dir, name);
	unlink(path);
	rmdir(dir);
}

/* Loading text as NAME.dialect fails at line with why. */
static void
load_fails(const char *name, const char *text, int line, const char *why)
{
	struct dialect_set s;
	struct spool_error err;
	char *dirs[2] = { NULL, NULL }, want[200];
	const char *dir = one_dialect(name, text);

	dirs[0] = (char *)dir;
	spool_clearerr(&err);
	assert_int_equal(dialect_set_load(&s, dirs, NULL, &err), -1);
	snprintf(want, sizeof(want), "%s/%s.dialect:%d: ", dir, name, line);
	if (strncmp(err.msg, want, strlen(want)) != 0 ||
	    strstr(err.msg, why) == NULL)
		fail_msg("got \"%s\", want \"%s...%s\"", err.msg, want, why);
	rm_dialect(dir, name);
}

#define HEAD	"[dialect]\nname = t\nsyntax = xml\nroot = urn:t T\n"

static void
test_bad_dialect_files_name_file_and_line(void **state)
{
	(void)state;
	load_fails("t", HEAD "[keys]\ntype = local-name(/*\nsender = 'a'\n",
	    6, "type: not a valid XPath 1.0 expression");
	load_fails("t", HEAD "[keys]\ntype = local-name(/*)\n"
	    "sender = /x:a\n", 7, "undeclared namespace prefix");
	load_fails("t", HEAD "[keys]\ntype = no-such-function()\n"
	    "sender = 'a'\n", 6, "type: ");
	load_fails("t", HEAD "[keys]\ntype = 'T'\nsender = 'a'\n"
	    "colour = 'red'\n", 8, "unknown key \"colour\"");
	load_fails("t", HEAD "[keys]\ntype = 'T'\n", 0,
	    "at least type and sender");
	load_fails("t", "[dialect]\nname = other\nsyntax = xml\n"
	    "root = - x\n[keys]\ntype = 'T'\nsender = 'a'\n", 0,
	    "the dialect is named other, but its file t.dialect");
	load_fails("t", "[dialect]\nname = t\nsyntax = json\n", 3,
	    "syntax must be xml, edifact or x12");
	load_fails("t", "[dialect]\nname = t\nsyntax = xml\n[x]\n", 4,
	    "unknown section [x]");
	load_fails("t", "[dialect]\nname = t\nsyntax = xml\norder = "
	    "later\n", 4, "order must be sequence, interchange, after or "
	    "none");
	load_fails("t", HEAD "after.Invoice = Order/x\n", 5,
	    "after.Invoice must list message types");
	load_fails("t", HEAD "after.Invoice = Order\nafter.Invoice = "
	    "Order\n", 6, "after.Invoice is given twice");
	/* A continuation joins lines: the error names the key's line. */
	load_fails("t", HEAD "[keys]\ntype = concat('a',\n\t'b'\n"
	    "sender = 'a'\n", 6, "type: not a valid XPath");
}

static void
test_long_expression_continues_over_lines(void **state)
{
	struct dialect_set s;
	struct spool_error err;
	struct msg_header h;
	char *dirs[2] = { NULL, NULL }, *btx = NULL;
	const char *dir;
	const struct dialect *d;
	xmlDocPtr doc;

	(void)state;
	dir = one_dialect("t", HEAD "order = none\n[namespaces]\nt = urn:t\n"
	    "[keys]\n# the type\ntype = local-name(/*)\n"
	    "sender = concat(/t:T/t:From/@scheme,\n\t':',\n"
	    "   /t:T/t:From)\nsender = 'fallback'\n"
	    "transaction = /t:T/t:Order\n");
	dirs[0] = (char *)dir;
	assert_int_equal(dialect_set_load(&s, dirs, NULL, &err), 0);
	assert_non_null(d = dialect_find(&s, "t"));
	assert_non_null(dialect_find(&s, "native"));	/* always there */
	doc = xml_mem("<T xmlns='urn:t'><From scheme='ZZ'> A B </From>"
	    "<Order>O1</Order></T>", NULL, NULL, XML_PARSE_NONET);
	assert_non_null(doc);
	assert_int_equal(dialect_extract(d, doc, &h, &btx, &err), 0);
	assert_string_equal(h.type, "t.T");
	assert_string_equal(h.sender, "ZZ: A B");
	assert_null(h.transaction_id);		/* order = none */
	assert_string_equal(btx, "O1");
	free(btx);
	free(h.type);
	free(h.sender);
	xmlFreeDoc(doc);
	/* No scheme: the leading ':' goes; nothing at all: the fallback. */
	doc = xml_mem("<T xmlns='urn:t'><From>A</From></T>", NULL,
	    NULL, XML_PARSE_NONET);
	assert_int_equal(dialect_extract(d, doc, &h, NULL, &err), 0);
	assert_string_equal(h.sender, "A");
	free(h.type);
	free(h.sender);
	xmlFreeDoc(doc);
	doc = xml_mem("<T xmlns='urn:t'/>", NULL, NULL,
	    XML_PARSE_NONET);
	assert_int_equal(dialect_extract(d, doc, &h, NULL, &err), 0);
	assert_string_equal(h.sender, "fallback");
	free(h.type);
	free(h.sender);
	xmlFreeDoc(doc);
	dialect_set_free(&s);
	rm_dialect(dir, "t");
}

/* Read text with the built-in dialects; the dialect must be want. */
static const struct dialect *
read_xml(const char *text, const char *want, struct msg_header *h,
    char **btx)
{
	const struct dialect *d;
	struct spool_error err;
	char tried[200];
	xmlDocPtr doc;

	doc = xmlReadMemory(text, (int)strlen(text), NULL, NULL,
	    XML_PARSE_NONET);
	assert_non_null(doc);
	d = dialect_recognise(&builtin, NULL, DIALECT_XML, doc, tried,
	    sizeof(tried));
	assert_non_null(d);
	assert_string_equal(dialect_name(d), want);
	spool_clearerr(&err);
	if (dialect_extract(d, doc, h, btx, &err) == -1)
		fail_msg("%s", err.msg);
	xmlFreeDoc(doc);
	return d;
}

static void
hdr_free(struct msg_header *h)
{
	free(h->type);
	free(h->sender);
	free(h->recipient);
	free(h->message_id);
	free(h->transaction_id);
	free(h->created);
}

#define UBL_NS(t) "xmlns='urn:oasis:names:specification:ubl:schema:xsd:" \
	t "-2' xmlns:cac='urn:oasis:names:specification:ubl:schema:xsd:" \
	"CommonAggregateComponents-2' xmlns:cbc='urn:oasis:names:" \
	"specification:ubl:schema:xsd:CommonBasicComponents-2'"
#define PARTY(role, inner) "<cac:" role "><cac:Party>" inner \
	"</cac:Party></cac:" role ">"

static void
test_ubl_keys_by_document_type(void **state)
{
	struct msg_header h;
	char *btx;

	(void)state;
	/* Invoice: the supplier sends; EndpointID before PartyIdentification. */
	read_xml("<Invoice " UBL_NS("Invoice") "><cbc:ID>INV-1</cbc:ID>"
	    "<cbc:IssueDate>2026-11-30</cbc:IssueDate>"
	    "<cac:OrderReference><cbc:ID>PO-7</cbc:ID></cac:OrderReference>"
	    PARTY("AccountingSupplierParty", "<cbc:EndpointID schemeID='0088'>"
	    "4000001000005</cbc:EndpointID><cac:PartyIdentification><cbc:ID>"
	    "S1</cbc:ID></cac:PartyIdentification>")
	    PARTY("AccountingCustomerParty", "<cac:PartyIdentification>"
	    "<cbc:ID>B1</cbc:ID></cac:PartyIdentification>")
	    "</Invoice>", "ubl", &h, &btx);
	assert_string_equal(h.type, "ubl.Invoice");
	assert_string_equal(h.sender, "0088:4000001000005");
	assert_string_equal(h.recipient, "B1");
	assert_string_equal(h.message_id, "INV-1");
	assert_string_equal(h.created, "2026-11-30");
	assert_string_equal(btx, "PO-7");
	assert_null(h.transaction_id);
	hdr_free(&h);
	free(btx);
	/* Order: the buyer sends; its transaction is its own ID. */
	read_xml("<Order " UBL_NS("Order") "><cbc:ID>PO-7</cbc:ID>"
	    PARTY("BuyerCustomerParty", "<cbc:EndpointID schemeID='GLN'>"
	    "4000001000012</cbc:EndpointID>")
	    PARTY("SellerSupplierParty", "<cbc:EndpointID schemeID='GLN'>"
	    "4000001000005</cbc:EndpointID>")
	    "</Order>", "ubl", &h, &btx);
	assert_string_equal(h.type, "ubl.Order");
	assert_string_equal(h.sender, "GLN:4000001000012");
	assert_string_equal(h.recipient, "GLN:4000001000005");
	assert_string_equal(btx, "PO-7");
	hdr_free(&h);
	free(btx);
}

static void
test_cii_and_opentrans_keys(void **state)
{
	struct msg_header h;
	char *btx;

	(void)state;
	read_xml("<rsm:CrossIndustryInvoice xmlns:rsm='urn:un:unece:uncefact:"
	    "data:standard:CrossIndustryInvoice:100' xmlns:ram='urn:un:unece:"
	    "uncefact:data:standard:ReusableAggregateBusinessInformationEntity"
	    ":100'><rsm:ExchangedDocument><ram:ID>R-1</ram:ID>"
	    "</rsm:ExchangedDocument><rsm:SupplyChainTradeTransaction>"
	    "<ram:ApplicableHeaderTradeAgreement><ram:SellerTradeParty>"
	    "<ram:GlobalID schemeID='0088'>4000001000005</ram:GlobalID>"
	    "<ram:SpecifiedTaxRegistration><ram:ID schemeID='VA'>DE1</ram:ID>"
	    "</ram:SpecifiedTaxRegistration></ram:SellerTradeParty>"
	    "<ram:BuyerTradeParty><ram:SpecifiedTaxRegistration><ram:ID "
	    "schemeID='VA'>DE2</ram:ID></ram:SpecifiedTaxRegistration>"
	    "</ram:BuyerTradeParty></ram:ApplicableHeaderTradeAgreement>"
	    "</rsm:SupplyChainTradeTransaction></rsm:CrossIndustryInvoice>",
	    "cii", &h, &btx);
	assert_string_equal(h.type, "cii.CrossIndustryInvoice");
	assert_string_equal(h.sender, "0088:4000001000005");
	assert_string_equal(h.recipient, "VA:DE2");
	assert_string_equal(h.message_id, "R-1");
	assert_string_equal(btx, "R-1");
	hdr_free(&h);
	free(btx);
	read_xml("<INVOICE xmlns='http://www.opentrans.org/XMLSchema/2.1' "
	    "xmlns:bme='http://www.bmecat.org/bmecat/2005'><INVOICE_HEADER>"
	    "<INVOICE_INFO><INVOICE_ID>I-9</INVOICE_ID><INVOICE_DATE>2026-11-30"
	    "</INVOICE_DATE><PARTIES><PARTY><bme:PARTY_ID type='gln'>B"
	    "</bme:PARTY_ID><PARTY_ROLE>buyer</PARTY_ROLE></PARTY><PARTY>"
	    "<bme:PARTY_ID type='gln'>S</bme:PARTY_ID><PARTY_ROLE>supplier"
	    "</PARTY_ROLE></PARTY></PARTIES></INVOICE_INFO>"
	    "<ORDER_HISTORY><ORDER_ID>O-1</ORDER_ID></ORDER_HISTORY>"
	    "</INVOICE_HEADER></INVOICE>", "opentrans", &h, &btx);
	assert_string_equal(h.type, "opentrans.INVOICE");
	assert_string_equal(h.sender, "gln:S");
	assert_string_equal(h.recipient, "gln:B");
	assert_string_equal(h.message_id, "I-9");
	assert_string_equal(h.created, "2026-11-30");
	assert_string_equal(btx, "O-1");
	hdr_free(&h);
	free(btx);
}

static void
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

/* text's keys with xc's kept context are its keys with one of its own. */
static void
same_with_kept(struct dialect_xctx *xc, const char *text, const char *want)
{
	const struct dialect *d;
	struct spool_error err;
	struct msg_header a, b;
	char tried[200], *ta, *tb;
	xmlDocPtr doc;

	doc = xmlReadMemory(text, (int)strlen(text), NULL, NULL,
	    XML_PARSE_NONET);
	assert_non_null(doc);
	d = dialect_recognise(&builtin, NULL, DIALECT_XML, doc, tried,
	    sizeof(tried));
	assert_non_null(d);
	assert_string_equal(dialect_name(d), want);
	spool_clearerr(&err);
	if (dialect_extract_order(d, CONF_ORDER_NONE, doc, &a, &ta,
	    &err) == -1)
		fail_msg("%s", err.msg);
	if (dialect_extract_xctx(d, CONF_ORDER_NONE, doc, &b, &tb, xc,
	    &err) == -1)
		fail_msg("%s", err.msg);
	xmlFreeDoc(doc);
	same_str(a.type, b.type);
	same_str(a.sender, b.sender);
	same_str(a.recipient, b.recipient);
	same_str(a.message_id, b.message_id);
	same_str(a.created, b.created);
	same_str(a.transaction_id, b.transaction_id);
	same_str(ta, tb);
	assert_non_null(b.sender);
	hdr_free(&a);
	hdr_free(&b);
	free(ta);
	free(tb);
}

/*
 * One XPath context kept over many documents (the messages of an
 * interchange, dialect_extract_xctx()) reads the same keys as a context
 * per document, also when the dialect changes from one to the next
 * and after the document it last read is freed.
 */
static void
test_kept_xpath_context_reads_the_same(void **state)
{
	static const char *inv = "<Invoice " UBL_NS("Invoice") ">"
	    "<cbc:ID>INV-1</cbc:ID><cbc:IssueDate>2026-11-30</cbc:IssueDate>"
	    "<cac:OrderReference><cbc:ID>PO-7</cbc:ID></cac:OrderReference>"
	    PARTY("AccountingSupplierParty", "<cbc:EndpointID schemeID='0088'>"
	    "4000001000005</cbc:EndpointID>")
	    PARTY("AccountingCustomerParty", "<cac:PartyIdentification>"
	    "<cbc:ID>B1</cbc:ID></cac:PartyIdentification>") "</Invoice>";
	static const char *ord = "<Order " UBL_NS("Order") "><cbc:ID>PO-8"
	    "</cbc:ID>" PARTY("BuyerCustomerParty", "<cbc:EndpointID "
	    "schemeID='GLN'>4000001000012</cbc:EndpointID>")
	    PARTY("SellerSupplierParty", "<cbc:EndpointID schemeID='GLN'>"
	    "4000001000005</cbc:EndpointID>") "</Order>";
	static const char *ot = "<INVOICE xmlns='http://www.opentrans.org/"
	    "XMLSchema/2.1' xmlns:bme='http://www.bmecat.org/bmecat/2005'>"
	    "<INVOICE_HEADER><INVOICE_INFO><INVOICE_ID>I-9</INVOICE_ID>"
	    "<PARTIES><PARTY><bme:PARTY_ID type='gln'>B</bme:PARTY_ID>"
	    "<PARTY_ROLE>buyer</PARTY_ROLE></PARTY><PARTY><bme:PARTY_ID "
	    "type='gln'>S</bme:PARTY_ID><PARTY_ROLE>supplier</PARTY_ROLE>"
	    "</PARTY></PARTIES></INVOICE_INFO></INVOICE_HEADER></INVOICE>";
	struct dialect_xctx *xc;
	int i;

	(void)state;
	assert_non_null(xc = dialect_xctx_new());
	for (i = 0; i < 3; i++) {
		same_with_kept(xc, inv, "ubl");
		same_with_kept(xc, ord, "ubl");
		same_with_kept(xc, ot, "opentrans");
	}
	dialect_xctx_free(xc);
	dialect_xctx_free(NULL);
}

/* The string value of expr on doc, by libxml2. */
static char *
eval_str(xmlDocPtr doc, const char *expr)
{
	xmlXPathContextPtr ctx;
	xmlXPathObjectPtr o;
	char *s;

	assert_non_null(ctx = xmlXPathNewContext(doc));
	assert_non_null(o = xmlXPathEvalExpression((const xmlChar *)expr,
	    ctx));
	s = (char *)xmlXPathCastToString(o);
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	return s;
}

/* Every expression of d the walk takes gives libxml2's value on doc;
 * returns how many it took. */
static size_t
fast_same(const struct dialect *d, xmlDocPtr doc)
{
	char why[1024];
	size_t n;

	if (dialect_fast_selfcheck(d, doc, &n, why, sizeof(why)) == -1)
		fail_msg("%s", why);
	return n;
}

/* The EDI interchange s's message i through d (the built-in name). */
static size_t
fast_same_edi(const char *dname, const char *s, size_t i)
{
	struct edi_interchange *ic = NULL;
	struct edi_limits lim;
	struct spool_error err;
	const struct dialect *d;
	xmlDictPtr dict;
	xmlDocPtr doc;
	size_t n;

	edi_limits_default(&lim);
	if (edi_read(s, strlen(s), &lim, &ic, &err) == -1)
		fail_msg("%s", err.msg);
	assert_non_null(d = dialect_find(&builtin, dname));
	/* Both kinds of tree, the pooled one in a dictionary. */
	doc = edi_message_tree(ic, i, s, strlen(s), &err);
	assert_non_null(doc);
	n = fast_same(d, doc);
	xmlFreeDoc(doc);
	assert_non_null(dict = xmlDictCreate());
	doc = edi_message_tree_pooled(ic, i, s, strlen(s), dict, &err);
	assert_non_null(doc);
	assert_int_equal(fast_same(d, doc), n);
	edi_tree_free(doc);
	xmlDictFree(dict);
	edi_free(ic);
	return n;
}

/*
 * The walk of dialect_fast.c reads what libxml2's XPath reads: every
 * expression of the built-in edifact and x12 dialects is the walk's, on
 * messages with and without groups, RFF+ON and DTM+137, and every
 * expression of a dialect written for the walk's corners (document
 * order across a union, positions before and after a test, values made
 * of several texts, namespaces, white space) gives libxml2's value on
 * documents made to trip it.
 */
static void
test_fast_walk_reads_as_libxml2(void **state)
{
	static const char *edifact[] = {
		"UNA:+.? 'UNB+UNOC:3+SENDER:ZZ+RECEIVER:ZZ+260101:1200+R1'"
		"UNH+1+ORDERS:D:96A:UN'BGM+220+PO1+9'DTM+137:20260101:102'"
		"RFF+ON:X1'RFF+ON:X2'UNT+6+1'UNZ+1+R1'",
		"UNB+UNOC:3+SENDER+RECEIVER:ZZ+260101:1200+R2'"
		"UNG+ORDERS+S+R+260101:1200+G1+UN+D:96A'"
		"UNH+1+ORDERS:D:96A:UN'BGM+220'DTM+2:1'RFF+VN:Y'"
		"DTM+137:20260102:102'UNT+6+1'UNE+1+G1'UNZ+1+R2'",
		"UNB+UNOC:3+SENDER:ZZ+RECEIVER+260101:1200+R3'"
		"UNH+7+INVOIC:D:96A:UN'BGM++DOC 9'RFF+ON'RFF+ON: Z '"
		"UNT+4+7'UNZ+1+R3'",
	};
	static const char *x12 =
	    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER"
	    "       *260101*1200*^*00501*000000001*0*P*:~"
	    "GS*PO*SENDER*RECEIVER*20260101*1200*1*X*005010~"
	    "ST*850*0001~BEG*00*SA*PO1**20260101~SE*3*0001~"
	    "ST*855*0002~BAK*00*AC*PO2*20260101~BIG*X*Y~SE*4*0002~"
	    "ST*810*0003~BIG*20260101*INV1**PO3~SE*3*0003~"
	    "GE*3*1~IEA*1*000000001~";
	static const char *docs[] = {
		"<r xmlns:p='urn:p'><b x='b1'/><a x='a1' k='1'><c>x</c>"
		"<d>d1</d></a><a k='2'><c>y</c><d>d2</d></a><a k='1'>"
		"<c>x</c><d>d3</d></a><p:e p:y='py'>pe</p:e><e>e0</e>"
		"<m>  one \n\t two  </m><v>t1<!-- c --><![CDATA[t2]]><w>t3"
		"</w><?pi z?>t4</v><c/><z k=''/></r>",
		"<r><a><c></c><d>only</d></a><b><c>q</c></b></r>",
		"<r xmlns='urn:p'><a>in the default namespace</a></r>",
		"<!DOCTYPE r [<!ENTITY e 'ent'>]><r><a>&e;</a><b x='&e;'/></r>",
		"<r/>",
	};
	static const char *fd = HEAD
	    "[namespaces]\np = urn:p\n[keys]\n"
	    "type = local-name(/*)\n"
	    "type = local-name((/r/b | /r/a))\n"
	    "type = local-name(/r/*[3])\n"
	    "sender = (/r/b | /r/a)/@x\n"
	    "sender = (/r/a | /r/b)/c\n"
	    "sender = /r/a[2]/d\n"
	    "sender = /r/a[@k = '1'][2]/d\n"
	    "sender = /r/a[2][@k = '1']/d\n"
	    "sender = /r/a[c = 'x']/d\n"
	    "sender = /r/a['y' = c]/d\n"
	    "sender = concat(/r/a/@k, '-', /r/nothing, '-', /r/a[3]/d)\n"
	    "recipient = string(/r/v)\n"
	    "recipient = /r/p:e/@p:y\n"
	    "recipient = concat(/r/p:e, /r/e, /*/p:e, /*/e)\n"
	    "recipient = /r/a[c = '']/d\n"
	    "recipient = /r/z[@k = '']/@k\n"
	    "recipient = (/r/a)[1]/@k\n"
	    "recipient = ((/r/b | /r/a)/c)[1]\n"
	    "recipient = a/d | b/c\n"
	    "message_id = */c\n"
	    "message_id = /r/a[c][1]\n"
	    "message_id = /r/*[2]/@k\n"
	    "message_id = /r/a/@x | /r/b/@x\n"
	    "message_id = normalize-space(concat(' a ', /r/m, ' '))\n"
	    "message_id = /r/a\n"
	    "message_id = /r/b/@x\n"
	    "message_id = string(/r)\n"
	    "created = /r/a[d = 'd3'][1]/@k\n"
	    "created = /r/a[@k = '1'][c = 'x'][2]/d\n"
	    "created = /r/a[3][c = 'x']/d\n"
	    "created = /r/a[4]/d\n"
	    "created = local-name(/r/p:e/@p:y)\n"
	    "created = normalize-space(/r/m)\n";
	struct dialect_set s;
	struct spool_error err;
	char *dirs[2] = { NULL, NULL };
	const struct dialect *d;
	const char *dir;
	xmlDocPtr doc;
	size_t i, n;

	(void)state;
	/* The built-in EDI dialects: all their expressions are the walk's
	 * (edifact 9, x12 13). */
	for (i = 0; i < sizeof(edifact) / sizeof(edifact[0]); i++)
		assert_int_equal(fast_same_edi("edifact", edifact[i], 0), 9);
	for (i = 0; i < 3; i++)
		assert_int_equal(fast_same_edi("x12", x12, i), 13);
	/* A dialect of corners, on documents made to trip the walk. */
	dir = one_dialect("t", fd);
	dirs[0] = (char *)dir;
	spool_clearerr(&err);
	if (dialect_set_load(&s, dirs, NULL, &err) == -1)
		fail_msg("%s", err.msg);
	assert_non_null(d = dialect_find(&s, "t"));
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		doc = xml_mem(docs[i], NULL, NULL, XML_PARSE_NONET);
		assert_non_null(doc);
		n = fast_same(d, doc);
		/* All but /r/a[c][1] (a test without '=') and
		 * (/r/a)[1]/@k (steps after [1]), which libxml2 reads;
		 * an entity reference (docs[3]) is libxml2's too. */
		if (i != 3)
			assert_int_equal(n, 31);
		xmlFreeDoc(doc);
	}
	dialect_set_free(&s);
	rm_dialect(dir, "t");
}

/* The tags of dname's segments its keys read are want (in any order);
 * whether the others may be left out, omit. */
static void
tags_are(const struct dialect_set *s, const char *dname, const char *want,
    bool omit)
{
	const struct dialect *d;
	char *const *t;
	size_t i, o = 0;
	bool may;

	assert_non_null(d = dialect_find(s, dname));
	if ((t = dialect_edi_tags(d, &may)) == NULL) {
		if (want != NULL)
			fail_msg("%s: no tags, want \"%s\"", dname, want);
		return;
	}
	if (want == NULL)
		fail_msg("%s: tags, want none", dname);
	for (i = 0; t[i] != NULL; i++) {
		assert_non_null(strstr(want, t[i]));
		o += strlen(t[i]) + 1;
	}
	assert_int_equal(o, want[0] != '\0' ? strlen(want) + 1 : 0);
	if (may != omit)
		fail_msg("%s: may omit %d, want %d", dname, may, omit);
}

/* The keys of the interchange s's message i through the built-in dname
 * from a tree with bare (omit 0) or left out segments are those from
 * the whole tree; the bare segments have no element, the others theirs. */
static void
bare_same(const char *dname, const char *s, size_t i, int omit)
{
	struct edi_interchange *ic = NULL;
	struct edi_limits lim;
	struct spool_error err;
	struct msg_header a, b;
	const struct dialect *d;
	xmlDocPtr whole, bare;
	char *ta, *tb, *n;

	edi_limits_default(&lim);
	if (edi_read(s, strlen(s), &lim, &ic, &err) == -1)
		fail_msg("%s", err.msg);
	assert_non_null(d = dialect_find(&builtin, dname));
	assert_non_null(dialect_edi_tags(d, NULL));
	whole = edi_entry_tree_pooled(ic, i, s, strlen(s), NULL, &err);
	bare = edi_entry_tree_tags(ic, i, s, strlen(s), NULL,
	    dialect_edi_tags(d, NULL), omit, &err);
	assert_non_null(whole);
	assert_non_null(bare);
	if (dialect_extract(d, whole, &a, &ta, &err) == -1)
		fail_msg("%s", err.msg);
	if (dialect_extract(d, bare, &b, &tb, &err) == -1)
		fail_msg("%s", err.msg);
	same_str(a.type, b.type);
	same_str(a.sender, b.sender);
	same_str(a.recipient, b.recipient);
	same_str(a.message_id, b.message_id);
	same_str(a.created, b.created);
	same_str(ta, tb);
	assert_int_equal(a.has_control, b.has_control);
	assert_true(a.control == b.control);
	/* Whole: every segment has its elements; bare: only the tags';
	 * left out: only the tags' segments, with their positions. */
	n = eval_str(whole, "count(//segment[not(element)])");
	assert_string_equal(n, "0");
	free(n);
	n = eval_str(bare, omit ? "count(//segment[not(element)]) = 0 and "
	    "count(//segment[@tag = 'UNH' or @tag = 'ST' or @tag = 'UNB' or "
	    "@tag = 'ISA']) = 0 and count(//segment[@tag = 'BGM' or "
	    "@tag = 'BEG' or @tag = 'BAK'][@pos = '2']) = 1" :
	    "count(//segment[not(element)]) > 0 and "
	    "count(//segment[@tag = 'UNH' or @tag = 'ST' or @tag = 'UNB' or "
	    "@tag = 'ISA'][element]) = 0 and count(//segment[@tag = 'BGM' or "
	    "@tag = 'BEG' or @tag = 'BAK' or @tag = 'BIG'][not(element)]) = 0");
	assert_string_equal(n, "true");
	free(n);
	hdr_free(&a);
	hdr_free(&b);
	free(ta);
	free(tb);
	edi_tree_free(whole);
	edi_tree_free(bare);
	edi_free(ic);
}

#define EDI_HEAD "[dialect]\nname = e\nsyntax = edifact\n[keys]\n" \
	"type = /edifact/interchange/message/@type\n" \
	"sender = /edifact/interchange/@sender\n"

/*
 * An EDI dialect's keys that read some segments' values by their tag
 * and nothing else spanning segments may have the others left bare (the
 * built-in edifact and x12 dialects): the same keys from either tree. A
 * key that reads a value across segments, or below a segment not chosen
 * by its tag, or that libxml2 evaluates, needs the whole tree.
 */
static void
test_keys_from_bare_segments_are_the_same(void **state)
{
	static const char *edifact =
	    "UNA:+.? 'UNB+UNOC:3+SENDER:ZZ+RECEIVER:ZZ+260101:1200+R1'"
	    "UNH+1+ORDERS:D:96A:UN'BGM+220+PO1+9'NAD+BY+1::9'"
	    "FTX+AAI+++A?'B'FTX+AAI+++A\rB'\r\nNAD+SU+\xe9T'"
	    "DTM+137:20260101:102'RFF+ON:X1'UNT+9+1'"
	    "UNH+2+ORDERS:D:96A:UN'BGM+220+PO2+9'DTM+2:1'UNT+4+2'UNZ+2+R1'";
	static const char *x12 =
	    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER"
	    "       *260101*1200*^*00501*000000001*0*P*:~"
	    "GS*PO*SENDER*RECEIVER*20260101*1200*1*X*005010~"
	    "ST*850*0001~BEG*00*SA*PO1**20260101~N1*BY*B~SE*4*0001~"
	    "ST*855*0002~BAK*00*AC*PO2*20260101~SE*3*0002~"
	    "GE*2*1~IEA*1*000000001~";
	static const struct {
		const char	*keys;
		const char	*tags;	/* NULL: a whole tree */
		bool		 omit;	/* the others may be left out */
	} c[] = {
		{ "", "", true },
		{ "transaction = /edifact/interchange/message/segment[@tag = "
		    "'BGM']/element[@pos = '2']\n", "BGM", true },
		{ "transaction = (/edifact/interchange/message/segment[2]"
		    "[@tag = 'BGM'] | /edifact/interchange/message/segment"
		    "[@tag = 'RFF'][1])/element\n", "BGM RFF", false },
		{ "transaction = /edifact/interchange/message/segment[2]/@tag"
		    "\n", "", false },
		{ "transaction = local-name(/edifact/interchange/message/"
		    "segment/element)\n", NULL, false },
		{ "transaction = /edifact/interchange/message/segment[2]/"
		    "element\n", NULL, false },
		{ "transaction = /edifact/interchange/message/segment[element"
		    " = 'X']/@tag\n", NULL, false },
		{ "transaction = string(/edifact/interchange/message)\n",
		    NULL, false },
		{ "transaction = /edifact/interchange/message/*[@tag = 'BGM']"
		    "/element\n", "BGM", true },
		{ "transaction = /edifact/interchange/*[1]/@tag\n", "",
		    false },
		{ "transaction = /edifact/interchange/message/segment[@tag = "
		    "'BGM']\n", "BGM", true },
		{ "transaction = /edifact/interchange/message/segment[@tag = "
		    "'BGM'][element/component = 'x']/@tag\n", "BGM", true },
		{ "transaction = /edifact/interchange/message[segment/@tag = "
		    "'BGM']/@ref\n", "", false },
		{ "transaction = (//segment[@tag = 'BGM'])[1]\n", NULL, false },
	};
	struct dialect_set s;
	struct spool_error err;
	char *dirs[2] = { NULL, NULL }, text[1024];
	const char *dir;
	size_t i;

	(void)state;
	tags_are(&builtin, "edifact", "RFF BGM DTM", true);
	tags_are(&builtin, "x12", "BEG BAK BIG PRF BSN GS", true);
	tags_are(&builtin, "ubl", NULL, false);
	for (i = 0; i < 2; i++) {
		bare_same("edifact", edifact, i, 0);
		bare_same("edifact", edifact, i, 1);
		bare_same("x12", x12, i, 0);
		bare_same("x12", x12, i, 1);
	}
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", EDI_HEAD, c[i].keys);
		dir = one_dialect("e", text);
		dirs[0] = (char *)dir;
		spool_clearerr(&err);
		if (dialect_set_load(&s, dirs, NULL, &err) == -1)
			fail_msg("%s", err.msg);
		print_message("case %zu\n", i);
		tags_are(&s, "e", c[i].tags, c[i].omit);
		dialect_set_free(&s);
		rm_dialect(dir, "e");
	}
}

/* Native is the catch-all for XML, and not recognised when not allowed. */
static void
test_recognition_and_allowed_dialects(void **state)
{
	char *only_ubl[] = { (char *)"ubl", NULL }, tried[200];
	const struct dialect *d;
	xmlDocPtr doc;

	(void)state;
	doc = xml_mem("<x:Foo xmlns:x='urn:nobody'/>", NULL, NULL,
	    XML_PARSE_NONET);
	d = dialect_recognise(&builtin, NULL, DIALECT_XML, doc, tried,
	    sizeof(tried));
	assert_true(dialect_is_native(d));
	assert_string_equal(dialect_order(d), "sequence");
	assert_null(dialect_recognise(&builtin, only_ubl, DIALECT_XML, doc,
	    tried, sizeof(tried)));
	assert_string_equal(tried, "ubl");
	xmlFreeDoc(doc);
	d = dialect_recognise(&builtin, NULL, DIALECT_X12, NULL, tried,
	    sizeof(tried));
	assert_string_equal(dialect_name(d), "x12");
	assert_string_equal(dialect_order(d), "none");
	/* ubl's after rules, qualified with its name. */
	d = dialect_find(&builtin, "ubl");
	assert_non_null(d);
	assert_string_equal(dialect_after(d, "ubl.Invoice"), "ubl.Order");
	assert_string_equal(dialect_after(d, "ubl.CreditNote"),
	    "ubl.Invoice");
	assert_null(dialect_after(d, "ubl.Order"));
	assert_null(dialect_recognise(&builtin, only_ubl, DIALECT_EDIFACT,
	    NULL, tried, sizeof(tried)));
}

/* accept_read() with a config: identities and test interchanges. */
#define ISA(snd, test) "ISA*00*          *00*          *ZZ*" snd \
	"*ZZ*SPOOLD         *261130*1000*U*00401*000000007*0*" test "*>~" \
	"GS*PO*A*B*20261130*1000*7*X*004010~ST*850*0001~" \
	"BEG*00*SA*PO-9**20261130~SE*3*0001~GE*1*7~IEA*1*000000007~"

static int
read_with(const char *conftext, const char *buf, struct msg *m,
    struct accept_readinfo *ri, char *why, size_t whylen)
{
	struct accept_ctx c;
	struct spool_error err;
	struct conf conf;
	char path[] = "/tmp/test_dialect_conf.XXXXXX";
	FILE *fp;
	int fd, rc;

	assert_true((fd = mkstemp(path)) >= 0);
	assert_non_null(fp = fdopen(fd, "w"));
	fputs(conftext, fp);
	fclose(fp);
	if (conf_load(&conf, path, &err) == -1)
		fail_msg("%s", err.msg);
	unlink(path);
	memset(&c, 0, sizeof(c));
	c.conf = &conf;
	c.dialects = &builtin;
	rc = accept_read(&c, "acme", buf, strlen(buf), NULL, m, ri, why,
	    whylen);
	conf_free(&conf);
	return rc;
}

static void
test_spoofed_misdirected_and_test_interchanges(void **state)
{
	struct accept_readinfo ri;
	struct msg m;
	char why[512];

	(void)state;
	/* ISA06 with a blank in it, quoted in ids; recipient ours. */
	assert_int_equal(read_with("[spool]\nour_ids = ZZ:SPOOLD\n"
	    "[partner acme]\nids = \"ZZ:ACME CORP\"\n",
	    ISA("ACME CORP      ", "P"), &m, &ri, why, sizeof(why)), 0);
	assert_string_equal(m.hdr.type, "x12.850");
	assert_string_equal(m.hdr.sender, "ZZ:ACME CORP");
	assert_string_equal(m.hdr.recipient, "ZZ:SPOOLD");
	assert_string_equal(m.hdr.message_id, "ACME CORP/000000007/7/0001");
	assert_string_equal(ri.business_tx, "PO-9");
	assert_false(ri.test);
	free(ri.business_tx);
	msg_free(&m);
	/* A spoofed ISA06. */
	assert_int_equal(read_with("[partner acme]\nids = ZZ:ACME\n",
	    ISA("EVIL           ", "P"), &m, &ri, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "spoofed: sender ZZ:EVIL is not partner "
	    "acme nor one of its ids (ZZ:ACME)"));
	msg_free(&m);
	/* A misdirected recipient. */
	assert_int_equal(read_with("[spool]\nour_ids = ZZ:OTHER 01:1\n"
	    "[partner acme]\nids = ZZ:ACME\n", ISA("ACME           ", "P"),
	    &m, &ri, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "misdirected: recipient ZZ:SPOOLD is not "
	    "one of our_ids (ZZ:OTHER 01:1)"));
	msg_free(&m);
	/* A test interchange: marked, or refused when the partner says. */
	assert_int_equal(read_with("[partner acme]\nids = ZZ:ACME\n",
	    ISA("ACME           ", "T"), &m, &ri, why, sizeof(why)), 0);
	assert_true(ri.test);
	free(ri.business_tx);
	msg_free(&m);
	assert_int_equal(read_with("[partner acme]\nids = ZZ:ACME\n"
	    "test_interchanges = reject\n", ISA("ACME           ", "T"), &m,
	    &ri, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "a test interchange (ISA15 = T)"));
	msg_free(&m);
	/* An EDIFACT test interchange (UNB 0035 = 1). */
	assert_int_equal(read_with("[partner acme]\nids = 14:4000001000005\n",
	    "UNB+UNOC:3+4000001000005:14+4000001000012:14+261130:1000+9++++"
	    "++1'UNH+1+ORDERS:D:96A:UN'BGM+220+PO1'UNT+3+1'UNZ+1+9'", &m, &ri,
	    why, sizeof(why)), 0);
	assert_true(ri.test);
	assert_string_equal(m.hdr.type, "edifact.ORDERS");
	assert_string_equal(m.hdr.sender, "14:4000001000005");
	assert_string_equal(m.hdr.message_id, "4000001000005/9/1");
	free(ri.business_tx);
	msg_free(&m);
	/* A message in a UNG group: the keys' absolute paths reach it. */
	assert_int_equal(read_with("[partner acme]\nids = 14:4000001000005\n",
	    "UNB+UNOC:3+4000001000005:14+4000001000012:14+261130:1000+9'"
	    "UNG+ORDERS+4000001000005:14+4000001000012:14+261130:1000+5+UN+"
	    "D:96A'UNH+1+ORDERS:D:96A:UN'BGM+220+PO1'RFF+ON:PO77'"
	    "DTM+137:20261130:102'UNT+5+1'UNE+1+5'UNZ+1+9'", &m, &ri, why,
	    sizeof(why)), 0);
	assert_string_equal(m.hdr.type, "edifact.ORDERS");
	assert_string_equal(m.hdr.message_id, "4000001000005/9/1");
	assert_string_equal(ri.business_tx, "PO77");
	free(ri.business_tx);
	msg_free(&m);
	/* Not among the partner's dialects. */
	assert_int_equal(read_with("[partner acme]\ndialects = ubl native\n",
	    ISA("ACME           ", "P"), &m, &ri, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "the file is X12, and no dialect partner "
	    "acme may send reads it (allowed: ubl native)"));
	msg_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_dialect_files_name_file_and_line),
		cmocka_unit_test(test_long_expression_continues_over_lines),
		cmocka_unit_test(test_ubl_keys_by_document_type),
		cmocka_unit_test(test_cii_and_opentrans_keys),
		cmocka_unit_test(test_kept_xpath_context_reads_the_same),
		cmocka_unit_test(test_fast_walk_reads_as_libxml2),
		cmocka_unit_test(test_keys_from_bare_segments_are_the_same),
		cmocka_unit_test(test_recognition_and_allowed_dialects),
		cmocka_unit_test(test_spoofed_misdirected_and_test_interchanges),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
