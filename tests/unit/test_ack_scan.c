/*
 * test_ack_scan.c - a refused interchange read leniently (ack_scan.c)
 * and acknowledged: each envelope fault becomes the standard's code, in
 * hand-made cases and in the real samples' faults
 * (../shared/samples/real/SOURCES.md).
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_envelope_fault_gets_its_code),
		cmocka_unit_test(test_x12_faults_go_to_ta1_or_997),
		cmocka_unit_test(test_nothing_to_acknowledge_without_a_header),
		cmocka_unit_test(
		    test_real_samples_faults_get_the_matching_codes),
	};

	edi_limits_default(&lim);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
