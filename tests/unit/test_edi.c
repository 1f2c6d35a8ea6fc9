/*
 * test_edi.c - the EDIFACT and X12 tokenizer (spool/edi.c, DESIGN 15):
 * separators, release characters, envelopes and their trailers,
 * character sets, bounds, and the XML tree of spoold.conf(5) EDI TREE.
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
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>

#include "edi.h"

#define UNB	"UNB+UNOC:3+SENDER:14+RECIP:ZZ+200101:1200+REF1'"
#define MSG1	"UNH+1+ORDERS:D:96A:UN'BGM+220+PO1'UNT+3+1'"
#define MSG2	"UNH+2+INVOIC:D:96A:UN'BGM+380+IN1'DTM+137:20200101:102'" \
		"UNT+4+2'"
#define UNZ2	"UNZ+2+REF1'"

/* X12 body: '*' elements, ':' components, '^' repetitions, '~' ends. */
#define GS	"GS*PO*SENDER*RECEIVER*20200101*1200*1*X*004010~"
#define ST1	"ST*850*0001~BEG*00*SA*PO1**20200101~SE*3*0001~"
#define GE1	"GE*1*1~"
#define IEA	"IEA*1*000000001~"

static struct edi_limits lim;
static struct spool_error err;

static struct edi_interchange *
ok(const char *s, size_t len)
{
	struct edi_interchange *ic = NULL;

	spool_clearerr(&err);
	if (edi_read(s, len, &lim, &ic, &err) == -1)
		fail_msg("refused: %s", err.msg);
	assert_non_null(ic);
	return ic;
}

/* Refused whole, with a reason that holds want. */
static void
refused(const char *s, size_t len, const char *want)
{
	struct edi_interchange *ic = (void *)1;

	spool_clearerr(&err);
	assert_int_equal(edi_read(s, len, &lim, &ic, &err), -1);
	assert_null(ic);
	if (strstr(err.msg, want) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", err.msg, want);
}

#define OK(s)		ok((s), sizeof(s) - 1)
#define REFUSED(s, w)	refused((s), sizeof(s) - 1, (w))

static char *
eval(xmlDocPtr doc, const char *expr)
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

/* The string value of an XPath expression over message i's tree, the
 * same over its pooled tree (edi_message_tree_pooled, a dictionary of
 * the caller's, released before the tree), and both serialized alike. */
static char *
xp(const struct edi_interchange *ic, size_t i, const char *buf, size_t len,
    const char *expr)
{
	xmlDocPtr doc, pdoc;
	xmlDictPtr dict;
	xmlChar *d1, *d2;
	char *s, *ps;
	int n1, n2;

	spool_clearerr(&err);
	doc = edi_message_tree(ic, i, buf, len, &err);
	if (doc == NULL)
		fail_msg("tree: %s", err.msg);
	assert_non_null(dict = xmlDictCreate());
	pdoc = edi_message_tree_pooled(ic, i, buf, len, dict, &err);
	xmlDictFree(dict);
	if (pdoc == NULL)
		fail_msg("pooled tree: %s", err.msg);
	s = eval(doc, expr);
	ps = eval(pdoc, expr);
	assert_string_equal(ps, s);
	xmlDocDumpMemory(doc, &d1, &n1);
	xmlDocDumpMemory(pdoc, &d2, &n2);
	assert_non_null(d1);
	assert_non_null(d2);
	assert_string_equal((char *)d2, (char *)d1);
	xmlFree(d1);
	xmlFree(d2);
	xmlFree(ps);
	edi_tree_free(pdoc);
	xmlFreeDoc(doc);
	return s;
}

static void
xp_eq(const struct edi_interchange *ic, size_t i, const char *buf,
    size_t len, const char *expr, const char *want)
{
	char *s = xp(ic, i, buf, len, expr);

	if (strcmp(s, want) != 0)
		fail_msg("%s: \"%s\", want \"%s\"", expr, s, want);
	xmlFree(s);
}

#define XP(ic, i, s, e, w)	xp_eq((ic), (i), (s), sizeof(s) - 1, (e), (w))

/* X12 from a body written with * : ^ ~, with other separators. */
static char *
x12(char e, char c, char r, const char *seg, const char *ctl,
    const char *body)
{
	size_t n = strlen(body), i, sl = strlen(seg), o;
	char *p = malloc(110 + n * (sl + 1) + sl);

	assert_non_null(p);
	o = (size_t)sprintf(p, "ISA%c00%c%-10s%c00%c%-10s%cZZ%c%-15s%cZZ%c%-15s"
	    "%c200101%c1200%c%c%c00501%c%s%c0%cT%c%c",
	    e, e, "", e, e, "", e, e, "SENDER", e, e, "RECEIVER", e, e, e,
	    r, e, e, ctl, e, e, e, c);
	assert_int_equal(o, 105);
	memcpy(p + o, seg, sl);
	o += sl;
	for (i = 0; i < n; i++) {
		switch (body[i]) {
		case '*': p[o++] = e; break;
		case ':': p[o++] = c; break;
		case '^': p[o++] = r; break;
		case '~': memcpy(p + o, seg, sl); o += sl; break;
		default: p[o++] = body[i]; break;
		}
	}
	p[o] = '\0';
	return p;
}

static int
setup(void **state)
{
	(void)state;
	edi_limits_default(&lim);
	return 0;
}

static void
test_detect_after_bom_and_blanks(void **state)
{
	(void)state;
	assert_int_equal(edi_detect("\xef\xbb\xbf \r\nUNA:+.? '", 12),
	    EDI_EDIFACT);
	assert_int_equal(edi_detect("UNB+", 4), EDI_EDIFACT);
	assert_int_equal(edi_detect("\nISA*", 5), EDI_X12);
	assert_int_equal(edi_detect("<?xml", 5), EDI_NONE);
	assert_int_equal(edi_detect("UN", 2), EDI_NONE);
	REFUSED("<Order/>", "neither EDIFACT nor X12");
}

static void
test_edifact_without_una_takes_the_defaults(void **state)
{
	static const char s[] = UNB MSG1 MSG2 UNZ2;
	struct edi_interchange *ic;

	(void)state;
	ic = OK(s);
	assert_int_equal(ic->syntax, EDI_EDIFACT);
	assert_int_equal(ic->una, 0);
	assert_int_equal(ic->elem, '+');
	assert_int_equal(ic->comp, ':');
	assert_int_equal(ic->release, '?');
	assert_int_equal(ic->rep, -1);	/* version 3 */
	assert_string_equal(ic->syntax_id, "UNOC");
	assert_string_equal(ic->charset, "ISO-8859-1");
	assert_string_equal(ic->sender_qual, "14");
	assert_string_equal(ic->sender, "SENDER");
	assert_string_equal(ic->recipient_qual, "ZZ");
	assert_string_equal(ic->control, "REF1");
	assert_int_equal(ic->nmsgs, 2);
	assert_null(ic->next);
	assert_string_equal(ic->msgs[0].type, "ORDERS");
	assert_string_equal(ic->msgs[0].ref, "1");
	assert_string_equal(ic->msgs[0].version, "D:96A:UN");
	assert_null(ic->msgs[0].reason);
	assert_string_equal(ic->msgs[1].type, "INVOIC");
	/* The message's bytes: UNH to the end of UNT's terminator. */
	assert_int_equal(ic->msgs[1].end - ic->msgs[1].start,
	    sizeof(MSG2) - 1);
	assert_memory_equal(s + ic->msgs[1].start, MSG2, sizeof(MSG2) - 1);
	XP(ic, 1, s, "/edifact/interchange/message/segment[@tag='DTM']/"
	    "element[@pos=1]/component[@pos=2]", "20200101");
	XP(ic, 1, s, "/edifact/interchange/segment[@tag='UNB']/"
	    "element[@pos=2]/component[@pos=1]", "SENDER");
	XP(ic, 1, s, "/edifact/interchange/@sender", "SENDER");
	XP(ic, 1, s, "/edifact/interchange/message/@type", "INVOIC");
	XP(ic, 1, s, "/edifact/interchange/message/@pos", "2");
	XP(ic, 1, s, "count(//message/segment)", "4");
	XP(ic, 1, s, "//message/segment[3]/@pos", "3");
	edi_free(ic);
}

static void
test_una_sets_separators_and_decimal_comma(void **state)
{
	static const char s[] = "UNA|#,! ~UNB#UNOA|3#S|1#R|1#200101|1200#9~"
	    "UNH#1#ORDERS|D|96A|UN~MOA#203|12,50~UNT#3#1~UNZ#1#9~";
	struct edi_interchange *ic;

	(void)state;
	ic = OK(s);
	assert_int_equal(ic->una, 1);
	assert_int_equal(ic->comp, '|');
	assert_int_equal(ic->elem, '#');
	assert_int_equal(ic->decimal, ',');
	assert_int_equal(ic->release, '!');
	assert_int_equal(ic->rep, -1);
	assert_int_equal(ic->seg, '~');
	XP(ic, 0, s, "//segment[@tag='MOA']/element/component[2]", "12,50");
	XP(ic, 0, s, "//interchange/@decimal-mark", ",");
	edi_free(ic);
	REFUSED("UNA:+.?", "UNA is cut short");
	REFUSED("UNA:+.?:'UNB", "two separators");
	REFUSED("UNA:A.? 'UNB", "a letter, digit or blank");
	REFUSED("UNA:+;? 'UNB", "decimal mark");
	REFUSED("UNA:+.?A'UNB", "repetition separator is 'A'");
}

static void
test_release_character_before_every_separator(void **state)
{
	static const char s[] = "UNA:+.?*'UNB+UNOC:4+S+R+200101:1200+9'"
	    "UNH+1+ORDERS:D:96A:UN'FTX+AAA+++a?:b?+c?'d???*e*f'UNT+3+1'"
	    "UNZ+1+9'";
	struct edi_interchange *ic;

	(void)state;
	ic = OK(s);
	assert_int_equal(ic->rep, '*');
	XP(ic, 0, s, "//segment[@tag='FTX']/element[@pos=4][1]", "a:b+c'd?*e");
	XP(ic, 0, s, "//segment[@tag='FTX']/element[@pos=4][@rep=2]", "f");
	edi_free(ic);
	REFUSED("UNB+UNOC:3+S+R+200101:1200+9'UNH+1+X:D:96A:UN'FTX+?",
	    "release character '?' at the end of the data");
}

static void
test_empty_and_repeated_elements(void **state)
{
	/* Version 4 without UNA: '*' repeats. */
	static const char s[] = "UNB+UNOC:4+S+R+200101:1200+9'"
	    "UNH+1+ORDERS:D:96A:UN'NAD+BY++::x+A*B*:C+'UNT+3+1'UNZ+1+9'";
	struct edi_interchange *ic;

	(void)state;
	ic = OK(s);
	assert_int_equal(ic->rep, '*');
	XP(ic, 0, s, "count(//segment[@tag='NAD']/element)", "5");
	XP(ic, 0, s, "count(//segment[@tag='NAD']/element[@pos=2])", "0");
	XP(ic, 0, s, "//segment[@tag='NAD']/element[@pos=3]/component/@pos",
	    "3");
	XP(ic, 0, s, "//segment[@tag='NAD']/element[@pos=4][@rep=2]", "B");
	XP(ic, 0, s, "//segment[@tag='NAD']/element[@pos=4][@rep=3]/"
	    "component[@pos=2]", "C");
	edi_free(ic);
}

static void
test_crlf_and_blank_lines_between_segments(void **state)
{
	static const char s[] = "UNA:+.? '\r\n" UNB "\r\n"
	    "UNH+1+ORDERS:D:96A:UN'\r\nBGM+220+PO1'\r\n\r\nUNT+3+1'\n"
	    "UNZ+1+REF1'"
	    "\r\n";
	struct edi_interchange *ic;

	(void)state;
	ic = OK(s);
	assert_null(ic->msgs[0].reason);
	assert_int_equal(ic->msgs[0].line, 3);
	XP(ic, 0, s, "//segment[@tag='BGM']/element[@pos=2]", "PO1");
	edi_free(ic);
}

static void
test_edifact_groups(void **state)
{
	static const char s[] = UNB "UNG+ORDERS+GS:14+GR:14+200101:1200+G1+UN+"
	    "D:96A'" MSG1 "UNE+1+G1'UNZ+1+REF1'";
	struct edi_interchange *ic;

	(void)state;
	ic = OK(s);
	assert_int_equal(ic->ngroups, 1);
	assert_int_equal(ic->msgs[0].group, 0);
	assert_string_equal(ic->groups[0].control, "G1");
	XP(ic, 0, s, "/edifact/interchange/group/@control", "G1");
	XP(ic, 0, s, "/edifact/interchange/group/segment/@tag", "UNG");
	XP(ic, 0, s, "/edifact/interchange/group/message/segment[1]/@tag",
	    "UNH");
	edi_free(ic);
	REFUSED(UNB "UNG+ORDERS+GS+GR+200101:1200+G1+UN+D:96A'" MSG1
	    "UNE+1+G2'UNZ+1+REF1'", "UNE reference G2 does not match UNG "
	    "reference G1");
	REFUSED(UNB "UNG+ORDERS+GS+GR+200101:1200+G1+UN+D:96A'" MSG1
	    "UNE+2+G1'UNZ+1+REF1'", "UNE message count 2 does not match");
	REFUSED(UNB "UNG+ORDERS+GS+GR+200101:1200+G1+UN+D:96A'" MSG1
	    "UNZ+1+REF1'", "segment UNZ outside a message (group without "
	    "UNE?)");
	REFUSED(UNB "UNG+O+GS+GR+200101:1200+G1'UNG+O+GS+GR+200101:1200+G2'",
	    "UNG inside a group");
}

static void
test_edifact_trailer_mismatches(void **state)
{
	static const char cnt[] = UNB "UNH+1+ORDERS:D:96A:UN'BGM+220+PO1'"
	    "UNT+4+1'" MSG2 UNZ2;
	static const char ref[] = UNB "UNH+1+ORDERS:D:96A:UN'UNT+2+7'" MSG2
	    UNZ2;
	struct edi_interchange *ic;

	(void)state;
	/* A message whose UNT is wrong is rejected alone. */
	ic = OK(cnt);
	assert_string_equal(ic->msgs[0].reason, "line 1: UNT segment count 4 "
	    "does not match the 3 segments of message 1");
	assert_null(ic->msgs[1].reason);
	edi_free(ic);
	ic = OK(ref);
	assert_string_equal(ic->msgs[0].reason, "line 1: UNT reference 7 does "
	    "not match UNH reference 1");
	edi_free(ic);
	/* The envelope's are the interchange's. */
	REFUSED(UNB MSG1 MSG2 "UNZ+2+12115118'", "UNZ reference 12115118 "
	    "does not match UNB reference REF1");
	REFUSED(UNB MSG1 MSG2 "UNZ+3+REF1'", "UNZ control count 3 does not "
	    "match the 2 messages");
	REFUSED(UNB MSG1 MSG2, "the data ends before the UNZ of interchange "
	    "REF1");
	REFUSED(UNB "UNH+1+ORDERS:D:96A:UN'BGM+220+PO1'",
	    "message without UNT: 1");
	REFUSED(UNB "UNH+1+ORDERS:D:96A:UN'UNH+2+ORDERS:D:96A:UN'",
	    "UNH inside message 1, which has no UNT");
	REFUSED(UNB "BGM+220'" MSG1 "UNZ+1+REF1'", "segment BGM outside a "
	    "message");
	REFUSED(UNB MSG1 "UNZ+1+REF1'XYZ", "data that does not start an "
	    "EDIFACT interchange");
	REFUSED(UNB MSG1 "UNZ+1+REF1", "segment UNZ is not terminated");
	/* Found by valgrind over fuzz_edifact's corpus: the tag of an
	   unterminated last segment was taken from the segment before. */
	REFUSED(UNB MSG1 "UN", "segment UN is not terminated");
	REFUSED("UNB+UNOC:3+S+R+200101:1200'", "control reference (0020)");
	REFUSED("UNB+UNOC:9+S+R+200101:1200+1'", "syntax version '9'");
	REFUSED("UNA:+.? 'BGM+1'", "starts with BGM, not UNB");
	REFUSED(UNB "UNH+1'UNT+2+1'", "message type (S009 0065)");
}

static void
test_several_interchanges_in_one_file(void **state)
{
	static const char s[] = UNB MSG1 "UNZ+1+REF1'\r\n"
	    "UNA:+.? 'UNB+UNOA:2+S2+R2+200101:1200+REF2'" MSG2 "UNZ+1+REF2'\n";
	struct edi_interchange *ic;

	(void)state;
	ic = OK(s);
	assert_non_null(ic->next);
	assert_null(ic->next->next);
	assert_string_equal(ic->control, "REF1");
	assert_string_equal(ic->next->control, "REF2");
	assert_string_equal(ic->next->sender, "S2");
	assert_int_equal(ic->next->una, 1);
	assert_memory_equal(s + ic->next->msgs[0].start, MSG2,
	    sizeof(MSG2) - 1);
	edi_free(ic);
	lim.max_interchanges = 1;
	REFUSED(s, "more than 1 interchanges");
	lim.max_interchanges = 2;
	/* One syntax per file. */
	REFUSED(UNB MSG1 "UNZ+1+REF1'ISA*", "does not start an EDIFACT "
	    "interchange");
}

/*
 * What edi_split_read() keeps of one interchange is what edi_read()
 * gives (the bundle reader takes it instead of reading the file again):
 * also the lines, counted from the first line of the file, blank lines
 * before the interchange included (edi_split() once started at line 1
 * after them).
 */
static void
test_split_read_keeps_what_edi_read_gives(void **state)
{
	static const char one[] = "\r\n\n" UNB "\n" MSG1 "\n"
	    "UNH+2+INVOIC:D:96A:UN'BGM+380+IN1'UNT+9+2'\n" UNZ2 "\n\n";
	static const char two[] = UNB MSG1 MSG2 UNZ2 "\n"
	    "UNB+UNOC:3+S+R+200101:1200+REF2'" MSG1 "UNZ+1+REF2'";
	struct edi_interchange *ic, *kept;
	struct edi_part *parts;
	size_t n;

	(void)state;
	ic = OK(one);
	assert_int_equal(edi_split_read(one, sizeof(one) - 1, &lim, &parts,
	    &n, &kept), 0);
	assert_int_equal(n, 1);
	assert_false(parts[0].broken);
	assert_non_null(kept);
	assert_null(kept->next);
	assert_int_equal(kept->start, ic->start);
	assert_int_equal(kept->end, ic->end);
	assert_int_equal(kept->nmsgs, 2);
	assert_int_equal(kept->msgs[0].line, 4);
	assert_int_equal(kept->msgs[0].line, ic->msgs[0].line);
	assert_int_equal(kept->msgs[1].line, ic->msgs[1].line);
	assert_int_equal(kept->msgs[1].end, ic->msgs[1].end);
	assert_string_equal(kept->msgs[1].reason, ic->msgs[1].reason);
	assert_non_null(strstr(kept->msgs[1].reason, "line 5:"));
	assert_string_equal(kept->control, "REF1");
	edi_free(kept);
	edi_free(ic);
	free(parts);
	/* Two: each kept, in order. */
	assert_int_equal(edi_split_read(two, sizeof(two) - 1, &lim, &parts,
	    &n, &kept), 0);
	assert_int_equal(n, 2);
	assert_non_null(kept);
	assert_non_null(kept->next);
	assert_string_equal(kept->next->control, "REF2");
	assert_int_equal(kept->next->start, parts[1].start);
	edi_free(kept);
	free(parts);
	/* A broken one is not kept. */
	assert_int_equal(edi_split_read(UNB MSG1 "UNZ+2+REF1'",
	    sizeof(UNB MSG1 "UNZ+2+REF1'") - 1, &lim, &parts, &n, &kept), 0);
	assert_int_equal(n, 1);
	assert_true(parts[0].broken);
	assert_null(kept);
	free(parts);
}

static void
test_edifact_character_sets(void **state)
{
	static const char a[] = "UNB+UNOA:3+S+R+200101:1200+9'"
	    "UNH+1+ORDERS:D:96A:UN'FTX+AAA+++lower'UNT+3+1'UNZ+1+9'";
	static const char c[] = "UNB+UNOC:3+S+R+200101:1200+9'"
	    "UNH+1+ORDERS:D:96A:UN'FTX+AAA+++caf\xe9'UNT+3+1'UNZ+1+9'";
	static const char y[] = "UNB+UNOY:4+S+R+200101:1200+9'"
	    "UNH+1+ORDERS:D:96A:UN'FTX+AAA+++caf\xc3\xa9'UNT+3+1'UNZ+1+9'";
	struct edi_interchange *ic;

	(void)state;
	/* UNOA: lower case is accepted, with a warning. */
	ic = OK(a);
	assert_non_null(ic->warning);
	assert_non_null(strstr(ic->warning, "holds 'l', which UNOA does not "
	    "allow; accepted"));
	XP(ic, 0, a, "//segment[@tag='FTX']/element[@pos=4]", "lower");
	edi_free(ic);
	REFUSED("UNB+UNOA:3+S+R+200101:1200+9'UNH+1+ORDERS:D:96A:UN'"
	    "FTX+AAA+++caf\xe9'", "holds the byte 0xe9, which the character "
	    "set UNOA does not allow");
	REFUSED("UNB+UNOB:3+S+R+200101:1200+9'UNH+1+ORDERS:D:96A:UN'"
	    "FTX+AAA+++caf\xc3\xa9'", "0xc3, which the character set UNOB");
	/* UNOC: Latin-1, turned into UTF-8 in the tree. */
	ic = OK(c);
	assert_null(ic->warning);
	XP(ic, 0, c, "//segment[@tag='FTX']/element[@pos=4]", "caf\xc3\xa9");
	edi_free(ic);
	/* UNOY is UTF-8, and must be. */
	ic = OK(y);
	XP(ic, 0, y, "//segment[@tag='FTX']/element[@pos=4]", "caf\xc3\xa9");
	edi_free(ic);
	REFUSED("UNB+UNOY:4+S+R+200101:1200+9'UNH+1+ORDERS:D:96A:UN'"
	    "FTX+AAA+++caf\xe9'", "holds the byte 0xe9, which is not UTF-8 "
	    "as UNOY declares");
	/* ISO 8859-3 has no 0xa5. */
	REFUSED("UNB+UNOG:3+S+R+200101:1200+9'UNH+1+ORDERS:D:96A:UN'"
	    "FTX+AAA+++\xa5'", "0xa5, which is not ISO-8859-3");
	REFUSED("UNB+UNOC:3+S+R+200101:1200+9'UNH+1+ORDERS:D:96A:UN'"
	    "FTX+AAA+++a\x01'", "control character 0x01");
	REFUSED("UNB+UNOX:3+S+R+200101:1200+9'", "UNOX (ISO 2022 code "
	    "extension) is not supported");
	REFUSED("UNB+KECA:3+S+R+200101:1200+9'", "'KECA' is not a character "
	    "set spoold knows");
}

static void
test_x12_each_separator_set(void **state)
{
	static const struct {
		char		 e, c, r;
		const char	*seg;
	} sets[] = {
		{ '*', ':', '^', "~" },
		{ '*', '>', 'U', "~\r\n" },	/* 'U': no repetitions */
		{ '|', '>', '^', "\n" },
		{ '^', '\\', '!', "\r\n" },
		{ '*', '>', '{', "\x15" },
		{ 0x1d, 0x1f, 0x1e, "\x1c" },
	};
	struct edi_interchange *ic;
	size_t i;
	char *s, tag[8];

	(void)state;
	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		s = x12(sets[i].e, sets[i].c, sets[i].r, sets[i].seg,
		    "000000001", GS "ST*850*0001~REF*DP*A^B*x:y~SE*3*0001~"
		    GE1 IEA);
		ic = ok(s, strlen(s));
		assert_int_equal(ic->syntax, EDI_X12);
		assert_int_equal(ic->elem, (unsigned char)sets[i].e);
		assert_int_equal(ic->comp, (unsigned char)sets[i].c);
		assert_int_equal(ic->seg, (unsigned char)sets[i].seg[0]);
		assert_string_equal(ic->sender, "SENDER");
		assert_string_equal(ic->recipient_qual, "ZZ");
		assert_int_equal(ic->test, 1);
		assert_int_equal(ic->nmsgs, 1);
		assert_null(ic->msgs[0].reason);
		assert_string_equal(ic->msgs[0].type, "850");
		xp_eq(ic, 0, s, strlen(s), "/x12/interchange/group/message/"
		    "segment[@tag='REF']/element[@pos=3]/component[@pos=2]",
		    "y");
		xp_eq(ic, 0, s, strlen(s), "//segment[@tag='ISA']/"
		    "element[@pos=16]", (snprintf(tag, sizeof(tag), "%c",
		    sets[i].c), tag));
		if (sets[i].r == 'U') {
			assert_int_equal(ic->rep, -1);
			xp_eq(ic, 0, s, strlen(s), "//segment[@tag='REF']/"
			    "element[@pos=2]", "AUB");
		} else {
			assert_int_equal(ic->rep, (unsigned char)sets[i].r);
			xp_eq(ic, 0, s, strlen(s), "//segment[@tag='REF']/"
			    "element[@pos=2][@rep=2]", "B");
		}
		edi_free(ic);
		free(s);
	}
}

static void
test_x12_newline_terminated_last_segment_may_lack_it(void **state)
{
	char *s = x12('*', ':', '^', "\n", "000000001", GS ST1 GE1
	    "IEA*1*000000001");
	struct edi_interchange *ic;

	(void)state;
	ic = ok(s, strlen(s));
	edi_free(ic);
	free(s);
	s = x12('*', ':', '^', "~", "000000001", GS ST1 GE1 "IEA*1*000000001");
	refused(s, strlen(s), "segment IEA is not terminated");
	free(s);
}

static void
test_x12_numbers_compared_as_integers(void **state)
{
	char *s = x12('*', ':', '^', "~", "000003438", "GS*PO*A*B*20200101*"
	    "1200*0001*X*004010~" ST1 "GE*1*1~IEA*1*3438~");
	struct edi_interchange *ic;

	(void)state;
	ic = ok(s, strlen(s));
	assert_string_equal(ic->control, "000003438");
	assert_string_equal(ic->groups[0].control, "0001");
	edi_free(ic);
	free(s);
	s = x12('*', ':', '^', "~", "000003438", GS ST1 GE1 "IEA*1*3439~");
	refused(s, strlen(s), "IEA control number 3439 does not match ISA13 "
	    "000003438");
	free(s);
}

static void
test_x12_groups_and_several_interchanges(void **state)
{
	char *a = x12('*', ':', '^', "~\n", "000000001", GS ST1
	    "ST*850*0002~SE*2*0002~" GE1 "GS*IN*A*B*20200101*1200*2*X*004010~"
	    "ST*810*0003~SE*2*0003~GE*1*2~IEA*2*000000001~");
	char *b = x12('*', ':', '^', "~\n", "000000002", GS ST1 GE1
	    "IEA*1*2~");
	char *s;
	struct edi_interchange *ic;

	(void)state;
	assert_non_null(s = malloc(strlen(a) + strlen(b) + 1));
	strcpy(s, a);
	strcat(s, b);
	/* GE01 says 1, but the first group holds 2: */
	refused(s, strlen(s), "GE count 1 does not match the 2 transaction "
	    "sets of the group");
	free(a);
	a = x12('*', ':', '^', "~\n", "000000001", GS ST1
	    "ST*850*0002~SE*2*0002~GE*2*1~GS*IN*A*B*20200101*1200*2*X*004010~"
	    "ST*810*0003~SE*2*0003~GE*1*2~IEA*2*000000001~");
	strcpy(s, a);
	strcat(s, b);
	ic = ok(s, strlen(s));
	assert_int_equal(ic->ngroups, 2);
	assert_int_equal(ic->nmsgs, 3);
	assert_int_equal(ic->msgs[2].group, 1);
	assert_string_equal(ic->groups[1].control, "2");
	assert_string_equal(ic->groups[1].id, "IN");
	assert_non_null(ic->next);
	assert_string_equal(ic->next->control, "000000002");
	xp_eq(ic, 2, s, strlen(s), "/x12/interchange/group/@control", "2");
	xp_eq(ic, 2, s, strlen(s), "/x12/interchange/group/segment/"
	    "element[@pos=1]", "IN");
	xp_eq(ic, 2, s, strlen(s), "/x12/interchange/group/message/@type",
	    "810");
	edi_free(ic);
	free(a);
	free(b);
	free(s);
}

static void
test_x12_trailer_mismatches(void **state)
{
	static const struct {
		const char	*body, *want;
	} bad[] = {
		{ GS ST1 "GE*1*2~" IEA, "GE control number 2 does not match "
		    "GS06 1" },
		{ GS ST1 GE1 "IEA*2*1~", "IEA count 2 does not match the 1 "
		    "groups" },
		{ GS ST1 GE1, "the data ends before the IEA of interchange "
		    "000000001" },
		{ GS "ST*850*0001~BEG*00~", "transaction set without SE: "
		    "0001" },
		{ GS "ST*850*0001~ST*850*0002~", "ST inside transaction set "
		    "0001, which has no SE" },
		{ "ST*850*0001~SE*2*0001~", "segment ST outside a functional "
		    "group" },
		{ GS "BEG*00~", "segment BEG outside a transaction set" },
		{ GS "GS*PO*A*B*1*1*2*X*1~", "segment GS outside a "
		    "transaction set" },
		{ "GS*PO*A*B*1*1*X*X*1~", "GS06 control number 'X' is not a "
		    "number" },
		{ GS ST1 "GE*1*1~IEA*1*x~", "IEA02 'x' is not a number" },
	};
	struct edi_interchange *ic;
	size_t i;
	char *s;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = x12('*', ':', '^', "~", "000000001", bad[i].body);
		refused(s, strlen(s), bad[i].want);
		free(s);
	}
	/* A transaction set whose own trailer is wrong: rejected alone. */
	s = x12('*', ':', '^', "~", "000000001", GS "ST*850*0001~SE*3*0001~"
	    "ST*850*0002~SE*2*0003~ST*850*0004~SE*2*0004~GE*3*1~" IEA);
	ic = ok(s, strlen(s));
	assert_string_equal(ic->msgs[0].reason, "line 1: SE segment count 3 "
	    "does not match the 2 segments of transaction set 0001");
	assert_string_equal(ic->msgs[1].reason, "line 1: SE control number "
	    "0003 does not match ST control number 0002");
	assert_null(ic->msgs[2].reason);
	edi_free(ic);
	free(s);
}

static void
test_broken_isa(void **state)
{
	char *s = x12('*', ':', '^', "~", "000000001", GS ST1 GE1 IEA);

	(void)state;
	refused(s, 60, "ISA is cut short");
	s[50] = '|';
	refused(s, strlen(s), "byte 51 is not the element separator");
	s[50] = '*';
	s[104] = '*';
	refused(s, strlen(s), "one byte for two separators");
	s[104] = 'A';
	refused(s, strlen(s), "a letter, digit or blank");
	s[104] = ':';
	s[90] = 'X';
	refused(s, strlen(s), "ISA13 control number 'X00000001'");
	free(s);
	s = x12('*', ':', '^', "~", "000000001", "GS*PO*A*B*20200101*1200*1*X*"
	    "004010~ST*850*0001~N1*ST*caf\xe9~SE*3*0001~" GE1 IEA);
	refused(s, strlen(s), "holds the byte 0xe9, which is not UTF-8 as "
	    "X12 declares");
	free(s);
}

/*
 * A value of exactly max_value bytes is read, one more is refused, also
 * when a release character stands inside it (the tokenizer copies a run
 * of plain bytes at once, up to the bound, and then byte by byte).
 */
static void
test_value_bound_is_exact(void **state)
{
	static const char s[] = UNB "UNH+1+ORDERS:D:96A:UN'"
	    "FTX+AAA+++0123456789'UNT+3+1'UNZ+1+REF1'";
	static const char r[] = UNB "UNH+1+ORDERS:D:96A:UN'"
	    "FTX+AAA+++0123?+56789'UNT+3+1'UNZ+1+REF1'";
	struct edi_limits save = lim;
	struct edi_interchange *ic;

	(void)state;
	lim.max_value = 10;
	ic = OK(s);
	edi_free(ic);
	ic = OK(r);
	edi_free(ic);
	lim.max_value = 9;
	REFUSED(s, "a value longer than 9 bytes");
	REFUSED(r, "a value longer than 9 bytes");
	lim.max_value = 4;
	REFUSED(r, "a value longer than 4 bytes");
	lim.max_value = 5;
	REFUSED(r, "a value longer than 5 bytes");
	lim = save;
}

static void
test_bounds_each_fail_with_a_reason(void **state)
{
	static const char s[] = UNB "UNH+1+ORDERS:D:96A:UN'"
	    "FTX+AAA+++0123456789:a:b:c:d+x+y'UNT+3+1'UNZ+1+REF1'";
	struct edi_limits save = lim;
	char *x;

	(void)state;
	lim.max_value = 9;
	REFUSED(s, "a value longer than 9 bytes");
	lim = save;
	lim.max_segments = 3;
	REFUSED(s, "more than 3 segments");
	lim = save;
	lim.max_elements = 5;
	REFUSED(s, "segment FTX has more than 5 elements");
	lim = save;
	lim.max_components = 4;
	REFUSED(s, "element 4 has more than 4 components");
	lim = save;
	lim.max_messages = 1;
	REFUSED(UNB MSG1 MSG2 UNZ2, "more than 1 messages");
	lim = save;
	lim.max_repetitions = 2;
	x = x12('*', ':', '^', "~", "000000001", GS "ST*850*0001~REF*A^B^C~"
	    "SE*3*0001~" GE1 IEA);
	refused(x, strlen(x), "element 1 has more than 2 repetitions");
	free(x);
	lim = save;
	REFUSED(UNB "UNH+1+ORDERS:D:96A:UN'ABCD+1'", "'ABCD' is not a "
	    "segment tag");
	REFUSED(UNB "UNH+1+ORDERS:D:96A:UN'+1'", "'' is not a segment tag");
	/* Found by fuzz_edifact: a NUL in a tag overran the tag buffer. */
	REFUSED(UNB "UNH+1+ORDERS:D:96A:UN'UN\0AAAAAAAAAAAAAAAAAAAAAA+1'",
	    "'UN\\x00AAAAAAAAAAAAAAAAAAAAAA' is not a segment tag");
}

static void
test_real_samples(void **state)
{
	static const struct {
		const char	*file, *want;	/* want NULL: accepted */
		size_t		 nmsgs;
		const char	*reason0;
	} samples[] = {
		{ "edifact-en16931/EDIFACT_EXAMPLE1.TXT", "UNZ reference "
		    "12115118 does not match UNB reference 87846595", 0, NULL },
		{ "edifact-en16931/EDIFACT_EXAMPLE0.TXT", NULL, 1, "UNT "
		    "segment count 171 does not match the 37 segments" },
		{ "edifact-pydifact/order.edi", "the data ends before the UNZ "
		    "of interchange 807", 0, NULL },
		{ "edifact-php-edifact/D96ADESADV.edi", NULL, 1, NULL },
		{ "x12-ediengine/ControlNumbersMismatch.edi", "GE control "
		    "number 3315 does not match GS06 3314", 0, NULL },
		{ "x12-ediengine/MultipleInterchangesAndGroups.edi", NULL, 3,
		    NULL },
		{ "x12-node-x12/850.edi", NULL, 1, NULL },
		{ "x12-node-x12/855.edi", NULL, 1, NULL },
		{ "x12-node-x12/856.edi", NULL, 1, NULL },
		{ "x12-bots-plugins-GPL2/810-004010-01.x12", NULL, 2, NULL },
		{ "x12-bots-plugins-GPL2/997-004010VICS-01.x12", NULL, 1,
		    NULL },
	};
	struct edi_interchange *ic;
	char path[1024], buf[8192];
	const char *dir = getenv("SPOOLD_SAMPLES");
	size_t i, n;
	FILE *fp;

	(void)state;
	/* The shared samples beside the source tree, or where told. */
	if (dir == NULL)
		dir = SRCDIR "/../shared/samples";
	snprintf(path, sizeof(path), "%s/real", dir);
	if (access(path, X_OK) != 0)
		skip();
	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		snprintf(path, sizeof(path), "%s/real/%s", dir,
		    samples[i].file);
		assert_non_null(fp = fopen(path, "rb"));
		n = fread(buf, 1, sizeof(buf), fp);
		fclose(fp);
		if (samples[i].want != NULL) {
			refused(buf, n, samples[i].want);
			continue;
		}
		ic = ok(buf, n);
		assert_int_equal(ic->nmsgs, samples[i].nmsgs);
		if (samples[i].reason0 == NULL)
			assert_null(ic->msgs[0].reason);
		else
			assert_non_null(strstr(ic->msgs[0].reason,
			    samples[i].reason0));
		free(xp(ic, 0, buf, n, "//message/@type"));
		edi_free(ic);
	}
}

static size_t
cat(char *buf, size_t at, const char *s)
{
	memcpy(buf + at, s, strlen(s));
	return at + strlen(s);
}

/* Texts of every length in a pooled tree: inside their nodes (up to 15
 * bytes), in its blocks, and one larger than a block (64 KiB); in
 * Latin-1, which the tree turns into UTF-8 (longer than it was). */
static void
test_pooled_tree_texts_of_every_length(void **state)
{
	static char buf[200000];
	struct edi_interchange *ic;
	char want[32];
	size_t n, k;

	(void)state;
	n = cat(buf, 0, UNB "UNH+1+ORDERS:D:96A:UN'");
	for (k = 0; k < 40; k++) {
		n = cat(buf, n, "FTX+AAA+++");
		memset(buf + n, k % 2 ? 'x' : '\xe9', k);
		n = cat(buf, n + k, "'");
	}
	n = cat(buf, n, "FTX+ZZZ+++");
	memset(buf + n, 'y', 66000);
	n = cat(buf, n + 66000, "'UNT+43+1'UNZ+1+REF1'");
	lim.max_value = 70000;
	ic = ok(buf, n);
	assert_null(ic->msgs[0].reason);
	xp_eq(ic, 0, buf, n, "count(//segment[@tag='FTX'])", "41");
	xp_eq(ic, 0, buf, n, "string-length(//segment[@tag='FTX'][@pos=17]"
	    "/element[@pos=4])", "15");
	snprintf(want, sizeof(want), "%d", 66000);
	xp_eq(ic, 0, buf, n, "string-length(//segment[@tag='FTX'][last()]"
	    "/element[@pos=4])", want);
	xp_eq(ic, 0, buf, n, "//segment[@tag='FTX'][@pos=4]/element[@pos=4]",
	    "\xc3\xa9\xc3\xa9");
	edi_free(ic);
}

/* A pooled tree validated against an XSD (a dialect may name one): an
 * xs:ID attribute puts the attribute in the document's ID table, whose
 * entries edi_tree_free() frees with the document, the attributes with
 * their blocks; the tree is read, never changed. */
static void
test_pooled_tree_validates(void **state)
{
	static const char xsd[] =
	    "<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'>"
	    "<xs:element name='edifact'><xs:complexType><xs:sequence>"
	    "<xs:element name='interchange'><xs:complexType><xs:sequence>"
	    "<xs:any processContents='skip' maxOccurs='unbounded'/>"
	    "</xs:sequence><xs:attribute name='control' type='xs:ID'/>"
	    "<xs:anyAttribute processContents='skip'/></xs:complexType>"
	    "</xs:element></xs:sequence></xs:complexType></xs:element>"
	    "</xs:schema>";
	static const char s[] = UNB MSG1 MSG2 UNZ2;
	struct edi_interchange *ic;
	xmlSchemaParserCtxtPtr pc;
	xmlSchemaValidCtxtPtr vc;
	xmlSchemaPtr schema;
	xmlDocPtr doc;
	xmlChar *before, *after;
	int n1, n2;
	size_t i;

	(void)state;
	ic = OK(s);
	assert_non_null(pc = xmlSchemaNewMemParserCtxt(xsd, sizeof(xsd) - 1));
	assert_non_null(schema = xmlSchemaParse(pc));
	for (i = 0; i < ic->nmsgs; i++) {
		spool_clearerr(&err);
		doc = edi_message_tree_pooled(ic, i, s, sizeof(s) - 1, NULL,
		    &err);
		assert_non_null(doc);
		xmlDocDumpMemory(doc, &before, &n1);
		assert_non_null(vc = xmlSchemaNewValidCtxt(schema));
		assert_int_equal(xmlSchemaValidateDoc(vc, doc), 0);
		xmlSchemaFreeValidCtxt(vc);
		xmlDocDumpMemory(doc, &after, &n2);
		assert_string_equal((char *)after, (char *)before);
		xmlFree(before);
		xmlFree(after);
		edi_tree_free(doc);
	}
	xmlSchemaFree(schema);
	xmlSchemaFreeParserCtxt(pc);
	edi_free(ic);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_detect_after_bom_and_blanks, setup),
		cmocka_unit_test_setup(
		    test_edifact_without_una_takes_the_defaults, setup),
		cmocka_unit_test_setup(
		    test_una_sets_separators_and_decimal_comma, setup),
		cmocka_unit_test_setup(
		    test_release_character_before_every_separator, setup),
		cmocka_unit_test_setup(test_empty_and_repeated_elements,
		    setup),
		cmocka_unit_test_setup(
		    test_crlf_and_blank_lines_between_segments, setup),
		cmocka_unit_test_setup(test_edifact_groups, setup),
		cmocka_unit_test_setup(test_edifact_trailer_mismatches, setup),
		cmocka_unit_test_setup(test_several_interchanges_in_one_file,
		    setup),
		cmocka_unit_test_setup(
		    test_split_read_keeps_what_edi_read_gives, setup),
		cmocka_unit_test_setup(test_edifact_character_sets, setup),
		cmocka_unit_test_setup(test_x12_each_separator_set, setup),
		cmocka_unit_test_setup(
		    test_x12_newline_terminated_last_segment_may_lack_it,
		    setup),
		cmocka_unit_test_setup(test_x12_numbers_compared_as_integers,
		    setup),
		cmocka_unit_test_setup(
		    test_x12_groups_and_several_interchanges, setup),
		cmocka_unit_test_setup(test_x12_trailer_mismatches, setup),
		cmocka_unit_test_setup(test_broken_isa, setup),
		cmocka_unit_test_setup(test_pooled_tree_texts_of_every_length,
		    setup),
		cmocka_unit_test_setup(test_pooled_tree_validates, setup),
		cmocka_unit_test_setup(test_value_bound_is_exact, setup),
		cmocka_unit_test_setup(test_bounds_each_fail_with_a_reason,
		    setup),
		cmocka_unit_test_setup(test_real_samples, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
