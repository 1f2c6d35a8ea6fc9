/*
 * test_ack_scan.c - a refused interchange read leniently (ack_scan.c)
 * and acknowledged: each envelope fault becomes the standard's code, in
 * hand-made cases and in the real samples' faults
 * (../shared/samples/real/SOURCES.md); and ack_due(), which tells
 * without the tokenizer whether a file asks for or holds one.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ack.h"
#include "ack_read.h"
#include "ack_scan.h"
#include "edi.h"
#include "x12check.h"

static struct edi_limits lim;

static struct ack_scan *
scan(const char *buf, size_t len)
{
	struct ack_scan *a = NULL;
	struct spool_error err;

	spool_clearerr(&err);
	if (ack_scan(buf, len, &lim, &a, &err) == -1)
		fail_msg("ack_scan: %s", err.msg);
	return a;
}

/* The acknowledgment of a, read back by edi_read and ack_read, and an
   X12 one by X12::Parser against orig. */
static char *
ack_of(const struct ack_scan *a, enum ack_kind k, struct ack_report **rep,
    const char *orig, size_t olen)
{
	struct edi_interchange *back;
	struct spool_error err;
	struct ack_input in;
	char *out;
	size_t len;

	memset(&in, 0, sizeof(in));
	in.ic = a->ic;
	in.envelope = a->envelope;
	in.env_group = a->group;
	in.control = 9;
	in.group = 9;
	in.message = 1;
	in.now = 0;
	spool_clearerr(&err);
	k = ack_kind_for(k, a->envelope);
	if (ack_write(k, &in, &out, &len, &err) == -1)
		fail_msg("ack_write: %s", err.msg);
	assert_true(a->ic->end <= olen);
	if (a->ic->syntax == EDI_X12)
		independent(orig + a->ic->start, a->ic->end - a->ic->start,
		    out, len, k == ACK_TA1 ? "ta1" : k == ACK_999 ? "999" :
		    "997");
	if (edi_read(out, len, &lim, &back, &err) == -1)
		fail_msg("edi_read of the ack: %s\n%s", err.msg, out);
	assert_string_equal(back->recipient, a->ic->sender);
	edi_free(back);
	if (ack_read(out, len, &lim, rep, &err) == -1)
		fail_msg("ack_read of the ack: %s\n%s", err.msg, out);
	return out;
}

static const struct {
	const char	*in;
	enum ack_reason	 want;
	int		 group;
	const char	*seg;		/* in the CONTRL */
} cases[] = {
	{ "UNB+UNOA:3+S+R+260101:1200+5'UNH+1+O:D:96A:UN'UNT+2+1'UNZ+2+5'",
	    ACK_ENV_COUNT, -1, "UCI+5+S+R+4+29+UNZ'" },
	{ "UNB+UNOA:3+S+R+260101:1200+5'UNH+1+O:D:96A:UN'UNT+2+1'UNZ+1+6'",
	    ACK_ENV_REF, -1, "UCI+5+S+R+4+28+UNZ'" },
	{ "UNB+UNOA:3+S+R+260101:1200+5'UNH+1+O:D:96A:UN'UNT+2+1'",
	    ACK_ENV_TRAILER, -1, "UCI+5+S+R+4+13+UNZ'" },
	{ "UNB+UNOA:3+S+R+260101:1200+5'UNH+1+O:D:96A:UN'UNZ+1+5'",
	    ACK_ENV_STRUCTURE, -1, "UCI+5+S+R+4+33'" },
	{ "UNB+UNOA:3+S+R+260101:1200+5'BGM+1'UNZ+0+5'",
	    ACK_ENV_STRUCTURE, -1, "+4+33'" },
	{ "UNB+UNOA:9+S+R+260101:1200+5'UNZ+0+5'",
	    ACK_ENV_VERSION, -1, "+4+2+UNB'" },
	{ "UNB+UNOQ:3+S+R+260101:1200+5'UNZ+0+5'",
	    ACK_ENV_CHARSET, -1, "+4+2+UNB'" },
	{ "UNB+UNOA:3+S+R+260101:1200+5'UNH+1+O:D:96A:UN'BGM+\xe9'"
	    "UNT+3+1'UNZ+1+5'", ACK_ENV_CHARS, -1, "+4+21'" },
	{ "UNB+UNOA:3+S+R+260101:1200+5'UNG+O+S+R+260101:1200+G1+UN+D:96A'"
	    "UNH+1+O:D:96A:UN'UNT+2+1'UNE+2+G1'UNZ+1+5'",
	    ACK_GROUP_COUNT, 0, "UCF+G1+S+R+4+29+UNE'" },
	{ "UNB+UNOA:3+S+R+260101:1200+5'UNG+O+S+R+260101:1200+G1+UN+D:96A'"
	    "UNH+1+O:D:96A:UN'UNT+2+1'UNE+1+G2'UNZ+1+5'",
	    ACK_GROUP_REF, 0, "UCF+G1+S+R+4+28+UNE'" },
	/* A message's own trailer: the interchange stands. */
	{ "UNB+UNOA:3+S+R+260101:1200+5'UNH+1+O:D:96A:UN'UNT+3+1'UNZ+1+5'",
	    ACK_OK, -1, "UCM+1+O:D:96A:UN+4+29+UNT'" },
};

static void
test_each_envelope_fault_gets_its_code(void **state)
{
	struct ack_report *r;
	struct ack_scan *a;
	size_t i;
	char *out;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		a = scan(cases[i].in, strlen(cases[i].in));
		if (a->envelope != cases[i].want)
			fail_msg("case %zu: reason %d, want %d", i,
			    (int)a->envelope, (int)cases[i].want);
		assert_int_equal(a->group, cases[i].group);
		assert_null(a->next);
		out = ack_of(a, ACK_CONTRL, &r, cases[i].in,
		    strlen(cases[i].in));
		if (strstr(out, cases[i].seg) == NULL)
			fail_msg("case %zu: no %s in\n%s", i, cases[i].seg,
			    out);
		assert_int_equal(r->status, cases[i].want == ACK_OK ?
		    ACKST_PARTIAL : ACKST_REJECTED);
		ack_report_free(r);
		free(out);
		ack_scan_free(a);
	}
}

static void
test_x12_faults_go_to_ta1_or_997(void **state)
{
	static const char isa[] =
	    "ISA*00*          *00*          *ZZ*ACME           *ZZ*ERP"
	    "            *260101*1200*U*00401*000000017*1*P*>~";
	char buf[1024];
	struct ack_report *r;
	struct ack_scan *a;
	char *out;

	(void)state;
	/* IEA reference: TA1 R 001. */
	snprintf(buf, sizeof(buf), "%sGS*PO*A*B*20260101*1200*5*X*004010~"
	    "ST*850*0001~SE*2*0001~GE*1*5~IEA*1*000000018~", isa);
	a = scan(buf, strlen(buf));
	assert_int_equal(a->envelope, ACK_ENV_REF);
	out = ack_of(a, ACK_997, &r, buf, strlen(buf));
	assert_non_null(strstr(out, "TA1*000000017*260101*1200*R*001~"));
	assert_int_equal(r->kind, ACK_TA1);
	ack_report_free(r);
	free(out);
	ack_scan_free(a);
	/* GE count: a 997 with AK9 R 5; SE count: AK5 R 4. */
	snprintf(buf, sizeof(buf), "%sGS*PO*A*B*20260101*1200*5*X*004010~"
	    "ST*850*0001~SE*3*0001~GE*1*5~"
	    "GS*PO*A*B*20260101*1200*6*X*004010~"
	    "ST*850*0002~SE*2*0002~GE*3*6~IEA*2*000000017~", isa);
	a = scan(buf, strlen(buf));
	assert_int_equal(a->envelope, ACK_GROUP_COUNT);
	assert_int_equal(a->group, 1);
	assert_int_equal(ack_message_reason(&a->ic->msgs[0]), ACK_MSG_COUNT);
	out = ack_of(a, ACK_997, &r, buf, strlen(buf));
	assert_non_null(strstr(out, "AK2*850*0001~AK5*R*4~AK9*R*1*1*0~"));
	assert_non_null(strstr(out, "AK1*PO*6~AK9*R*1*1*0*5~"));
	ack_report_free(r);
	free(out);
	ack_scan_free(a);
	/* A set without SE. */
	snprintf(buf, sizeof(buf), "%sGS*PO*A*B*20260101*1200*5*X*004010~"
	    "ST*850*0001~BEG*00~GE*1*5~IEA*1*000000017~", isa);
	a = scan(buf, strlen(buf));
	assert_int_equal(a->envelope, ACK_ENV_STRUCTURE);
	assert_int_equal(ack_message_reason(&a->ic->msgs[0]),
	    ACK_MSG_TRAILER);
	ack_scan_free(a);
}

static void
test_nothing_to_acknowledge_without_a_header(void **state)
{
	static const char *bad[] = {
		"hello",
		"UNB+UNOA:3+S+R+260101:1200'UNZ+0+5'",	/* no 0020 */
		"UNH+1+O:D:96A:UN'",
		"ISA*00*short~",
		"ISA*00*          *00*          *ZZ*ACME           *ZZ*ERP"
		"            *260101*1200*U*00401*00000001X*1*P*>~",
	};
	struct ack_scan *a;
	struct spool_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		spool_clearerr(&err);
		assert_int_equal(ack_scan(bad[i], strlen(bad[i]), &lim, &a,
		    &err), -1);
		assert_null(a);
		assert_non_null(strstr(err.msg, "acknowledge"));
	}
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp;
	char *buf;

	assert_non_null(fp = fopen(path, "rb"));
	assert_non_null(buf = malloc(1 << 20));
	*len = fread(buf, 1, (1 << 20) - 1, fp);
	fclose(fp);
	buf[*len] = '\0';
	return buf;
}

static void
test_real_samples_faults_get_the_matching_codes(void **state)
{
	static const struct {
		const char	*file;
		enum ack_reason	 want;
		enum ack_kind	 kind;
		const char	*seg;
	} samples[] = {
		{ "edifact-en16931/EDIFACT_EXAMPLE1.TXT", ACK_ENV_REF,
		    ACK_CONTRL, "UCI+87846595+" },
		{ "edifact-en16931/EDIFACT_EXAMPLE0.TXT", ACK_OK,
		    ACK_CONTRL, "+4+29+UNT'" },
		{ "edifact-pydifact/order.edi", ACK_ENV_TRAILER,
		    ACK_CONTRL, "+4+13+UNZ'" },
		{ "x12-ediengine/ControlNumbersMismatch.edi", ACK_ENV_REF,
		    ACK_997, "TA1*000003438*101127*1719*R*001" },
		{ "x12-ediengine/MultipleInterchangesAndGroups.edi", ACK_OK,
		    ACK_997, "AK9*A*" },
	};
	const char *dir = getenv("SPOOLD_SAMPLES");
	struct ack_report *r;
	struct ack_scan *a;
	char path[1024], *buf, *out;
	size_t i, len;

	(void)state;
	if (dir == NULL)
		dir = SRCDIR "/../shared/samples";
	snprintf(path, sizeof(path), "%s/real", dir);
	if (access(path, X_OK) != 0)
		skip();
	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		snprintf(path, sizeof(path), "%s/real/%s", dir,
		    samples[i].file);
		buf = slurp(path, &len);
		a = scan(buf, len);
		if (a->envelope != samples[i].want)
			fail_msg("%s: reason %d, want %d", samples[i].file,
			    (int)a->envelope, (int)samples[i].want);
		out = ack_of(a, samples[i].kind, &r, buf, len);
		if (strstr(out, samples[i].seg) == NULL)
			fail_msg("%s: no %s in\n%s", samples[i].file,
			    samples[i].seg, out);
		ack_report_free(r);
		free(out);
		ack_scan_free(a);
		free(buf);
	}
}

static void
due(const char *buf, int want_asks, int want_holds)
{
	int asks, holds;

	ack_due(buf, strlen(buf), &asks, &holds);
	if (asks != want_asks || holds != want_holds)
		fail_msg("ack_due(%s): asks %d holds %d, want %d %d", buf,
		    asks, holds, want_asks, want_holds);
}

#define UNB	"UNB+UNOC:3+ACME:ZZ+SPOOLD:ZZ+261130:1000+9"
#define ISA(ack) "ISA*00*          *00*          *ZZ*ACME           *ZZ*" \
	"SPOOLD         *261130*1000*U*00401*000000007*" ack "*P*>~"
#define GS	"GS*PO*ACME*SPOOLD*20261130*1000*7*X*004010~"

static void
test_due_asks_and_holds_without_the_tokenizer(void **state)
{
	(void)state;
	/* Neither: an ORDERS, 0031 absent, 0 or empty; an 850, ISA14 0. */
	due(UNB "'UNH+1+ORDERS:D:96A:UN'BGM+220+PO1'UNT+3+1'UNZ+1+9'", 0, 0);
	due(UNB "++++0'UNH+1+ORDERS:D:96A:UN'UNT+2+1'UNZ+1+9'", 0, 0);
	due("\xef\xbb\xbf" UNB "+++++'\r\nUNH+1+ORDERS:D:96A:UN'\r\n"
	    "UNT+2+1'\r\nUNZ+1+9'\r\n", 0, 0);
	due(ISA("0") GS "ST*850*0001~BEG*00*SA*PO-9**20261130~SE*3*0001~"
	    "GE*1*7~IEA*1*000000007~", 0, 0);
	/* Asks: UNB 0031 = 1 (also released), ISA14 = 1. */
	due(UNB "++++1'UNH+1+ORDERS:D:96A:UN'UNT+2+1'UNZ+1+9'", 1, 0);
	due(UNB "++++?1'UNH+1+ORDERS:D:96A:UN'UNT+2+1'UNZ+1+9'", 1, 0);
	due(ISA("1") GS "ST*850*0001~SE*2*0001~GE*1*7~IEA*1*000000007~", 1,
	    0);
	/* Holds: a CONTRL (after a released + in the reference, released
	   inside its type, with UNA separators), a 997, a 999, a TA1. */
	due(UNB "'UNH+1?+2+CONTRL:D:3:UN'UCI+7+A+B+7'UNT+3+1?+2'UNZ+1+9'",
	    0, 1);
	due(UNB "'UNH+1+CONT?RL:D:3:UN'UCI+7+A+B+7'UNT+3+1'UNZ+1+9'", 0, 1);
	due("UNA:|.? !UNB|UNOC:3|ACME:ZZ|SPOOLD:ZZ|261130:1000|9!"
	    "UNH|1+2|CONTRL:D:3:UN!UNT|2|1+2!UNZ|1|9!", 0, 1);
	due("UNA:|.? !UNB|UNOC:3|ACME:ZZ|SPOOLD:ZZ|261130:1000|9!"
	    "UNH|1|ORDERS+CONTRL:D:3:UN!UNT|2|1!UNZ|1|9!", 0, 0);
	due(ISA("0") "GS*FA*ACME*SPOOLD*20261130*1000*7*X*004010~"
	    "ST*997*0001~AK1*PO*5~AK9*A*1*1*1~SE*4*0001~GE*1*7~"
	    "IEA*1*000000007~", 0, 1);
	due(ISA("0") "\nGS*FA*ACME*SPOOLD*20261130*1000*7*X*005010X231A1~\n"
	    "ST*999*0001*005010X231A1~\nAK1*PO*5~\nAK9*A*1*1*1~\n"
	    "SE*4*0001~\nGE*1*7~\nIEA*1*000000007~\n", 0, 1);
	due(ISA("0") "TA1*000000005*261130*1000*A*000~IEA*0*000000007~", 0,
	    1);
	/* The second interchange of a file, with separators of its own. */
	due(UNB "'UNH+1+ORDERS:D:96A:UN'UNT+2+1'UNZ+1+9'\n"
	    "UNA:|.? !UNB|UNOC:3|ACME:ZZ|SPOOLD:ZZ|261130:1000|10!"
	    "UNH|1|CONTRL:D:3:UN!UNT|2|1!UNZ|1|10!", 0, 1);
	due(ISA("0") GS "ST*850*0001~SE*2*0001~GE*1*7~IEA*1*000000007~\n"
	    "ISA|00|          |00|          |ZZ|ACME           |ZZ|SPOOLD"
	    "         |261130|1000|U|00401|000000008|1|P|>~", 1, 0);
	/* What it does not follow: both, to be safe. */
	due(UNB "'UNH+1+ORDERS:D:96A:UN'UNT+2+1'UNZ+1+9'garbage", 1, 1);
	due("ISA*00*short~", 1, 1);
}

/* ack_due() on every real sample edi_read() reads: never 0 where the
   tokenizer finds an interchange asking or an acknowledgment. */
static void
test_due_never_misses_in_the_real_samples(void **state)
{
	const char *dir = getenv("SPOOLD_SAMPLES");
	struct edi_interchange *ics, *ic;
	struct ack_report *r;
	struct spool_error err;
	struct dirent *de, *fe;
	DIR *d, *sub;
	char path[1024], file[2048], *buf;
	size_t len, nread = 0;
	int asks, holds, want_asks;

	(void)state;
	if (dir == NULL)
		dir = SRCDIR "/../shared/samples";
	snprintf(path, sizeof(path), "%s/real", dir);
	if ((d = opendir(path)) == NULL)
		skip();
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "edifact-", 8) != 0 &&
		    strncmp(de->d_name, "x12-", 4) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/real/%s", dir, de->d_name);
		if ((sub = opendir(path)) == NULL)
			continue;
		while ((fe = readdir(sub)) != NULL) {
			if (fe->d_name[0] == '.')
				continue;
			snprintf(file, sizeof(file), "%s/%s", path,
			    fe->d_name);
			buf = slurp(file, &len);
			spool_clearerr(&err);
			if (edi_read(buf, len, &lim, &ics, &err) == -1) {
				free(buf);
				continue;
			}
			nread++;
			want_asks = 0;
			for (ic = ics; ic != NULL; ic = ic->next)
				want_asks |= ic->ack;
			r = NULL;
			spool_clearerr(&err);
			(void)ack_read(buf, len, &lim, &r, &err);
			ack_due(buf, len, &asks, &holds);
			if ((want_asks && !asks) || (r != NULL && !holds))
				fail_msg("%s: ack_due asks %d holds %d, the "
				    "tokenizer %d %d", file, asks, holds,
				    want_asks, r != NULL);
			ack_report_free(r);
			edi_free(ics);
			free(buf);
		}
		closedir(sub);
	}
	closedir(d);
	assert_true(nread > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_envelope_fault_gets_its_code),
		cmocka_unit_test(test_x12_faults_go_to_ta1_or_997),
		cmocka_unit_test(test_nothing_to_acknowledge_without_a_header),
		cmocka_unit_test(
		    test_real_samples_faults_get_the_matching_codes),
		cmocka_unit_test(test_due_asks_and_holds_without_the_tokenizer),
		cmocka_unit_test(test_due_never_misses_in_the_real_samples),
	};

	edi_limits_default(&lim);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
