/*
 * test_ack.c - acknowledgments: the reasons table, the writers of
 * CONTRL, 997, 999 and TA1 (ack.c) and the reader of those a partner
 * sends (ack_read.c). Every acknowledgment written here is read back by
 * spoold's own tokenizer (edi_read) and by ack_read, and its control
 * references checked; the X12 ones also by an independent reader,
 * X12::Parser (Debian's libx12-parser-perl), through
 * tests/unit/x12ack-check.pl, when perl has it.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ack.h"
#include "ack_read.h"
#include "edi.h"
#include "x12check.h"

#define NOW	((time_t)1767268800)	/* 2026-01-01 12:00 UTC */

static struct edi_limits lim;

static const char edifact_in[] =
    "UNA:+.? '\n"
    "UNB+UNOC:3+SENDER1:14+RECEIVER1:14+260101:1200+IC?+0001'\n"
    "UNH+M1+ORDERS:D:96A:UN'\n"
    "BGM+220+PO?+1+9'\n"
    "UNT+3+M1'\n"
    "UNH+M2+ORDERS:D:96A:UN'\n"
    "BGM+220+PO2+9'\n"
    "UNT+9+M2'\n"
    "UNH+M3+ORDERS:D:96A:UN'\n"
    "BGM+220+PO3+9'\n"
    "UNT+3+MX'\n"
    "UNZ+3+IC?+0001'\n";

/* An ISA of 106 bytes with the given separators. */
static void
isa(char *out, size_t size, char elem, char rep, char comp, char seg,
    const char *ver, const char *ctl, char ackreq, char test)
{
	snprintf(out, size, "ISA%c00%c          %c00%c          %cZZ%cACME"
	    "           %cZZ%cERP            %c260101%c1200%c%c%c%s%c%s%c%c"
	    "%c%c%c%c%c", elem, elem, elem, elem, elem, elem, elem, elem, elem,
	    elem, elem, rep, elem, ver, elem, ctl, elem, ackreq, elem, test,
	    elem, comp, seg);
	assert_int_equal(strlen(out), 106);
}

static char *
x12_in(char elem, char rep, char comp, char seg, const char *nl)
{
	static char buf[2048];
	char h[128];
	int n;

	isa(h, sizeof(h), elem, rep, comp, seg, "00401", "000000017", '1',
	    'T');
	n = snprintf(buf, sizeof(buf),
	    "%s%s"
	    "GS*PO*ACMEAPP*ERPAPP*20260101*1200*17*X*004010~%s"
	    "ST*850*0001~%sBEG*00*SA*PO1**20260101~%sSE*3*0001~%s"
	    "ST*850*0002~%sBEG*00*SA*PO2**20260101~%sSE*9*0002~%s"
	    "GE*2*17~%s"
	    "GS*IN*ACMEAPP*ERPAPP*20260101*1200*18*X*004010~%s"
	    "ST*810*0003~%sBIG*20260101*INV1~%sSE*3*0003~%s"
	    "GE*1*18~%s"
	    "IEA*2*000000017~%s", h, nl, nl, nl, nl, nl, nl, nl, nl, nl, nl,
	    nl, nl, nl, nl, nl);
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	for (char *p = buf + 106; *p != '\0'; p++)
		if (*p == '*')
			*p = elem;
		else if (*p == '~')
			*p = seg;
	return buf;
}

static struct edi_interchange *
must_read(const char *buf, size_t len)
{
	struct edi_interchange *ic = NULL;
	struct spool_error err;

	spool_clearerr(&err);
	if (edi_read(buf, len, &lim, &ic, &err) == -1)
		fail_msg("edi_read: %s\n%.*s", err.msg, (int)len, buf);
	return ic;
}

static char *
must_write(enum ack_kind k, const struct ack_input *in, size_t *len)
{
	struct spool_error err;
	char *out = NULL;

	spool_clearerr(&err);
	if (ack_write(k, in, &out, len, &err) == -1)
		fail_msg("ack_write: %s", err.msg);
	assert_int_equal(strlen(out), *len);
	return out;
}

static struct ack_report *
must_report(const char *buf, size_t len)
{
	struct ack_report *r = NULL;
	struct spool_error err;

	spool_clearerr(&err);
	if (ack_read(buf, len, &lim, &r, &err) == -1)
		fail_msg("ack_read: %s\n%s", err.msg, buf);
	assert_non_null(r);
	return r;
}

static void
test_table_has_one_row_per_reason_in_order(void **state)
{
	const struct ack_code *c;
	enum ack_reason r;
	int i, j;

	(void)state;
	assert_int_equal(ack_reason_by_key("no-such-key", &r), -1);
	for (i = 0; i < ACK_REASON_COUNT; i++) {
		c = ack_code((enum ack_reason)i);
		assert_non_null(c);
		assert_int_equal(c->reason, i);
		assert_non_null(c->name);
		for (j = 0; j < i; j++) {
			assert_string_not_equal(c->name,
			    ack_code((enum ack_reason)j)->name);
			assert_string_not_equal(c->key,
			    ack_code((enum ack_reason)j)->key);
		}
		assert_int_equal(ack_reason_by_key(c->key, &r), 0);
		assert_int_equal(r, i);
		/* A rejection carries a code in each standard that has
		   the level. */
		if (c->rejects) {
			assert_non_null(c->contrl);
			if (c->level == ACK_LVL_MESSAGE)
				assert_non_null(c->x12_set);
			if (c->level == ACK_LVL_GROUP)
				assert_non_null(c->x12_group);
			if (c->level == ACK_LVL_INTERCHANGE)
				assert_non_null(c->ta1);
		}
	}
	assert_null(ack_code(ACK_REASON_COUNT));
	assert_string_equal(ack_code(ACK_REUSED)->contrl, "26");
	assert_string_equal(ack_code(ACK_ENV_DUPLICATE)->contrl, "26");
	assert_string_equal(ack_code(ACK_ENV_REF)->contrl, "28");
	assert_string_equal(ack_code(ACK_ENV_COUNT)->contrl, "29");
	assert_string_equal(ack_code(ACK_ENV_REF)->ta1, "001");
	assert_string_equal(ack_code(ACK_ENV_DUPLICATE)->ta1, "025");
	assert_false(ack_code(ACK_DUPLICATE)->rejects);
}

static void
test_message_reason_follows_the_tokenizer_sentences(void **state)
{
	struct edi_interchange *ic;
	char *x;

	(void)state;
	ic = must_read(edifact_in, strlen(edifact_in));
	assert_int_equal(ic->nmsgs, 3);
	assert_int_equal(ack_message_reason(&ic->msgs[0]), ACK_OK);
	assert_int_equal(ack_message_reason(&ic->msgs[1]), ACK_MSG_COUNT);
	assert_int_equal(ack_message_reason(&ic->msgs[2]), ACK_MSG_REF);
	edi_free(ic);
	x = x12_in('*', 'U', '>', '~', "\n");
	x = strdup(x);
	/* SE02 wrong on the first set. */
	memcpy(strstr(x, "SE*3*0001"), "SE*3*0009", 9);
	ic = must_read(x, strlen(x));
	assert_int_equal(ack_message_reason(&ic->msgs[0]), ACK_MSG_REF);
	assert_int_equal(ack_message_reason(&ic->msgs[1]), ACK_MSG_COUNT);
	assert_int_equal(ack_message_reason(&ic->msgs[2]), ACK_OK);
	edi_free(ic);
	free(x);
}

static void
test_contrl_in_partners_separators_reads_back(void **state)
{
	struct edi_interchange *ic, *back;
	struct ack_report *r;
	struct ack_input in;
	char *out;
	size_t len;

	(void)state;
	ic = must_read(edifact_in, strlen(edifact_in));
	memset(&in, 0, sizeof(in));
	in.ic = ic;
	in.control = 501;
	in.message = 1;
	in.now = NOW;
	in.eol = ack_eol_of(ic, edifact_in, strlen(edifact_in));
	assert_string_equal(in.eol, "\n");
	out = must_write(ACK_CONTRL, &in, &len);
	assert_non_null(strstr(out, "UNA:+.? '\n"));
	assert_non_null(strstr(out, "UNB+UNOC:3+RECEIVER1:14+SENDER1:14+"
	    "260101:1200+501'\n"));
	assert_non_null(strstr(out, "UNH+1+CONTRL:D:3:UN'\n"));
	assert_non_null(strstr(out, "UCI+IC?+0001+SENDER1:14+RECEIVER1:14+"
	    "7'\n"));
	assert_non_null(strstr(out, "UCM+M1+ORDERS:D:96A:UN+7'\n"));
	assert_non_null(strstr(out, "UCM+M2+ORDERS:D:96A:UN+4+29+UNT'\n"));
	assert_non_null(strstr(out, "UCM+M3+ORDERS:D:96A:UN+4+28+UNT'\n"));
	assert_non_null(strstr(out, "UNT+6+1'\n"));
	assert_non_null(strstr(out, "UNZ+1+501'\n"));
	back = must_read(out, len);
	assert_null(back->next);
	assert_string_equal(back->sender, "RECEIVER1");
	assert_string_equal(back->recipient, "SENDER1");
	assert_string_equal(back->control, "501");
	assert_int_equal(back->nmsgs, 1);
	assert_string_equal(back->msgs[0].type, "CONTRL");
	assert_null(back->msgs[0].reason);
	r = must_report(out, len);
	assert_int_equal(r->kind, ACK_CONTRL);
	assert_string_equal(r->control, "IC+0001");
	assert_string_equal(r->ack_control, "501");
	assert_int_equal(r->status, ACKST_PARTIAL);
	assert_int_equal(r->nmsgs, 3);
	assert_string_equal(r->msgs[0].ref, "M1");
	assert_int_equal(r->msgs[0].status, ACKST_ACCEPTED);
	assert_int_equal(r->msgs[1].status, ACKST_REJECTED);
	assert_string_equal(r->msgs[1].code, "29");
	assert_string_equal(r->msgs[2].code, "28");
	assert_null(r->next);
	ack_report_free(r);
	edi_free(back);
	free(out);
	edi_free(ic);
}

static void
test_contrl_refusing_the_envelope_has_no_ucm(void **state)
{
	struct edi_interchange *ic;
	struct ack_report *r;
	struct ack_input in;
	char *out;
	size_t len;

	(void)state;
	ic = must_read(edifact_in, strlen(edifact_in));
	memset(&in, 0, sizeof(in));
	in.ic = ic;
	in.envelope = ACK_ENV_REF;
	in.our_qual = "ZZ";
	in.our_id = "US";
	in.control = 7;
	in.message = 3;
	in.now = NOW;
	out = must_write(ACK_CONTRL, &in, &len);
	assert_non_null(strstr(out, "UNB+UNOC:3+US:ZZ+SENDER1:14+"));
	assert_non_null(strstr(out, "UCI+IC?+0001+SENDER1:14+RECEIVER1:14+"
	    "4+28+UNZ'"));
	assert_null(strstr(out, "UCM"));
	assert_non_null(strstr(out, "UNT+3+3'UNZ+1+7'"));
	r = must_report(out, len);
	assert_int_equal(r->status, ACKST_REJECTED);
	assert_string_equal(r->code, "28");
	assert_int_equal(r->nmsgs, 0);
	ack_report_free(r);
	free(out);
	/* Receipt only: action 8, nothing below. */
	in.envelope = ACK_OK;
	in.receipt_only = 1;
	out = must_write(ACK_CONTRL, &in, &len);
	assert_non_null(strstr(out, "+8'"));
	assert_null(strstr(out, "UCM"));
	r = must_report(out, len);
	assert_int_equal(r->status, ACKST_RECEIVED);
	ack_report_free(r);
	free(out);
	edi_free(ic);
}

static void
test_contrl_syntax_4_level_b_and_test_flag(void **state)
{
	static const char v4[] =
	    "UNB+UNOY:4+S+R+20260101:1200+9++++++1'"
	    "UNG+INVOIC+GS+GR+20260101:1200+G1+UN+D:01B'"
	    "UNH+1+INVOIC:D:01B:UN'BGM+380'UNT+3+1'"
	    "UNE+1+G1'UNZ+1+9'";
	struct edi_interchange *ic, *back;
	struct ack_report *r;
	struct ack_input in;
	char *out, lb[256];
	size_t len;
	int n;

	(void)state;
	ic = must_read(v4, strlen(v4));
	assert_int_equal(ic->test, 1);
	assert_int_equal(ic->rep, '*');
	memset(&in, 0, sizeof(in));
	in.ic = ic;
	in.control = 12345678901234ULL;
	in.message = 2;
	in.now = NOW;
	out = must_write(ACK_CONTRL, &in, &len);
	assert_null(strstr(out, "UNA"));
	assert_non_null(strstr(out, "UNB+UNOY:4+R+S+20260101:1200+"
	    "12345678901234++++++1'"));
	assert_non_null(strstr(out, "UNH+2+CONTRL:4:1:UN'"));
	assert_non_null(strstr(out, "UCF+G1+GS+GR+7'UCM+1+INVOIC:D:01B:UN+"
	    "7'"));
	back = must_read(out, len);
	assert_int_equal(back->test, 1);
	edi_free(back);
	r = must_report(out, len);
	assert_string_equal(r->group, "G1");
	assert_string_equal(r->msgs[0].group, "G1");
	ack_report_free(r);
	free(out);
	/* The group refused: UCI 4, UCF 4 29 UNE. */
	in.envelope = ACK_GROUP_COUNT;
	in.env_group = 0;
	out = must_write(ACK_CONTRL, &in, &len);
	assert_non_null(strstr(out, "+4'UCF+G1+GS+GR+4+29+UNE'UNT+4+2'"));
	r = must_report(out, len);
	assert_int_equal(r->status, ACKST_REJECTED);
	ack_report_free(r);
	free(out);
	edi_free(ic);
	/* Level B: IS4, IS3, IS1 and no release character. */
	n = snprintf(lb, sizeof(lb), "UNB\x1dUNOB\x1f" "3\x1dS\x1dR\x1d"
	    "260101\x1f" "1200\x1d" "5\x1c" "UNH\x1d" "1\x1dORDERS\x1f" "D\x1f"
	    "96A\x1fUN\x1c" "UNT\x1d" "2\x1d" "1\x1cUNZ\x1d" "1\x1d" "5\x1c");
	ic = must_read(lb, (size_t)n);
	assert_int_equal(ic->release, -1);
	in.ic = ic;
	in.envelope = ACK_OK;
	out = must_write(ACK_CONTRL, &in, &len);
	assert_non_null(strstr(out, "UCI\x1d" "5\x1dS\x1dR\x1d" "7\x1c"));
	r = must_report(out, len);
	assert_string_equal(r->control, "5");
	ack_report_free(r);
	free(out);
	edi_free(ic);
}

static void
test_values_are_escaped_or_refused(void **state)
{
	static const char noesc[] =
	    "UNA:+. *'UNB+UNOA:3+S+R+260101:1200+5'"
	    "UNH+1+ORDERS:D:96A:UN'UNT+2+1'UNZ+1+5'";
	struct edi_interchange *ic;
	struct spool_error err;
	struct ack_input in;
	char *out;
	size_t len;

	(void)state;
	ic = must_read(noesc, strlen(noesc));
	assert_int_equal(ic->release, -1);
	memset(&in, 0, sizeof(in));
	in.ic = ic;
	in.control = 1;
	in.message = 1;
	in.now = NOW;
	in.our_id = "US+THEM";
	spool_clearerr(&err);
	assert_int_equal(ack_write(ACK_CONTRL, &in, &out, &len, &err), -1);
	assert_non_null(strstr(err.msg, "no release character"));
	assert_null(out);
	/* A kind that does not fit the syntax. */
	in.our_id = NULL;
	assert_int_equal(ack_write(ACK_997, &in, &out, &len, &err), -1);
	assert_non_null(strstr(err.msg, "no 997 acknowledgment for an "
	    "EDIFACT"));
	edi_free(ic);
}

static void
test_997_per_group_with_verdicts(void **state)
{
	struct edi_interchange *ic, *back;
	struct ack_report *r, *r2;
	struct ack_verdict v[3];
	struct ack_input in;
	uint64_t ng, nm;
	char *x, *out;
	size_t len;

	(void)state;
	x = x12_in('*', 'U', '>', '~', "\n");
	ic = must_read(x, strlen(x));
	assert_int_equal(ic->ngroups, 2);
	ack_numbers(ACK_997, ic, &ng, &nm);
	assert_int_equal(ng, 1);
	assert_int_equal(nm, 2);
	memset(v, 0, sizeof(v));
	v[0].reason = ACK_OK;
	v[1].reason = ACK_MSG_COUNT;
	v[2].reason = ACK_REUSED;
	v[2].seg_tag = "BIG";
	v[2].seg_pos = 2;
	v[2].elem_pos = 2;
	memset(&in, 0, sizeof(in));
	in.ic = ic;
	in.verdicts = v;
	in.control = 42;
	in.group = 9;
	in.message = 1;
	in.now = NOW;
	in.eol = ack_eol_of(ic, x, strlen(x));
	out = must_write(ACK_997, &in, &len);
	assert_non_null(strstr(out, "*ZZ*ERP            *ZZ*ACME           *"
	    "260101*1200*U*00401*000000042*0*T*>~\n"));
	assert_non_null(strstr(out, "GS*FA*ERPAPP*ACMEAPP*20260101*1200*9*X*"
	    "004010~\n"));
	assert_non_null(strstr(out, "ST*997*0001~\nAK1*PO*17~\n"
	    "AK2*850*0001~\nAK5*A~\nAK2*850*0002~\nAK5*R*4~\n"
	    "AK9*P*2*2*1~\nSE*8*0001~\n"));
	assert_non_null(strstr(out, "ST*997*0002~\nAK1*IN*18~\n"
	    "AK2*810*0003~\nAK3*BIG*2**8~\nAK4*2**7~\nAK5*R*23~\n"
	    "AK9*R*1*1*0~\nSE*8*0002~\n"));
	assert_non_null(strstr(out, "GE*2*9~\nIEA*1*000000042~\n"));
	back = must_read(out, len);
	assert_int_equal(back->nmsgs, 2);
	assert_string_equal(back->control, "000000042");
	assert_string_equal(back->sender, "ERP");
	assert_string_equal(back->recipient, "ACME");
	assert_int_equal(back->test, 1);
	edi_free(back);
	r = must_report(out, len);
	assert_int_equal(r->kind, ACK_997);
	assert_null(r->control);
	assert_string_equal(r->group, "17");
	assert_string_equal(r->group_id, "PO");
	assert_int_equal(r->status, ACKST_PARTIAL);
	assert_int_equal(r->included, 2);
	assert_int_equal(r->accepted, 1);
	assert_int_equal(r->nmsgs, 2);
	assert_int_equal(r->msgs[1].status, ACKST_REJECTED);
	assert_string_equal(r->msgs[1].code, "4");
	r2 = r->next;
	assert_non_null(r2);
	assert_string_equal(r2->group, "18");
	assert_int_equal(r2->status, ACKST_REJECTED);
	assert_string_equal(r2->msgs[0].code, "23");
	ack_report_free(r);
	independent(x, strlen(x), out, len, "997");
	free(out);
	edi_free(ic);
}

static void
test_999_and_ta1_in_odd_separators(void **state)
{
	struct edi_interchange *ic, *back;
	struct ack_report *r;
	struct ack_input in;
	char *x, *out, h[128];
	size_t len;

	(void)state;
	/* '|' elements, '^' repetitions (00501), ':' components, 0x15
	   terminator, no line breaks. */
	x = strdup(x12_in('|', '^', ':', 0x15, ""));
	isa(h, sizeof(h), '|', '^', ':', 0x15, "00501", "000000017", '1',
	    'P');
	memcpy(x, h, 106);
	ic = must_read(x, strlen(x));
	assert_int_equal(ic->rep, '^');
	memset(&in, 0, sizeof(in));
	in.ic = ic;
	in.control = 1;
	in.group = 1;
	in.message = 77;
	in.now = NOW;
	in.with_ta1 = 1;
	in.eol = ack_eol_of(ic, x, strlen(x));
	assert_string_equal(in.eol, "");
	out = must_write(ACK_999, &in, &len);
	assert_non_null(strstr(out, "|^|00501|000000001|0|P|:\x15"
	    "TA1|000000017|260101|1200|A|000\x15GS|FA|"));
	assert_non_null(strstr(out, "|X|005010X231A1\x15ST|999|0077|"
	    "005010X231A1\x15" "AK1|PO|17|004010\x15" "AK2|850|0001|004010\x15"
	    "IK5|A\x15" "AK2|850|0002|004010\x15IK5|R|4\x15"));
	assert_non_null(strstr(out, "ST|999|0078|"));
	back = must_read(out, len);
	assert_int_equal(back->nmsgs, 2);
	edi_free(back);
	r = must_report(out, len);
	assert_int_equal(r->kind, ACK_TA1);
	assert_string_equal(r->control, "000000017");
	assert_int_equal(r->status, ACKST_ACCEPTED);
	assert_string_equal(r->code, "000");
	assert_int_equal(r->next->kind, ACK_999);
	assert_int_equal(r->next->msgs[1].status, ACKST_REJECTED);
	assert_int_equal(r->next->next->kind, ACK_999);
	ack_report_free(r);
	free(out);

	/* A refused envelope: TA1 alone, R with the note code. */
	in.envelope = ACK_ENV_DUPLICATE;
	assert_int_equal(ack_kind_for(ACK_999, in.envelope), ACK_TA1);
	assert_int_equal(ack_kind_for(ACK_997, ACK_GROUP_REF), ACK_997);
	assert_int_equal(ack_kind_for(ACK_CONTRL, ACK_ENV_REF), ACK_CONTRL);
	{
		struct spool_error err;

		spool_clearerr(&err);
		assert_int_equal(ack_write(ACK_999, &in, &out, &len, &err),
		    -1);
		assert_non_null(strstr(err.msg, "acknowledged by TA1"));
	}
	out = must_write(ACK_TA1, &in, &len);
	assert_non_null(strstr(out, "\x15TA1|000000017|260101|1200|R|025\x15"
	    "IEA|0|000000001\x15"));
	back = must_read(out, len);
	assert_int_equal(back->nmsgs, 0);
	assert_int_equal(back->ngroups, 0);
	edi_free(back);
	r = must_report(out, len);
	assert_int_equal(r->status, ACKST_REJECTED);
	assert_string_equal(r->code, "025");
	assert_null(r->next);
	ack_report_free(r);
	independent(x, strlen(x), out, len, "ta1");
	free(out);
	edi_free(ic);
	free(x);
}

static void
test_997_group_refused_and_too_long_ids(void **state)
{
	struct edi_interchange *ic;
	struct spool_error err;
	struct ack_report *r;
	struct ack_input in;
	char *x, *out;
	size_t len;

	(void)state;
	x = x12_in('*', 'U', '>', '~', "\r\n");
	ic = must_read(x, strlen(x));
	memset(&in, 0, sizeof(in));
	in.ic = ic;
	in.envelope = ACK_GROUP_REF;
	in.env_group = 1;
	in.control = 3;
	in.group = 3;
	in.message = 3;
	in.now = NOW;
	in.eol = ack_eol_of(ic, x, strlen(x));
	assert_string_equal(in.eol, "\r\n");
	out = must_write(ACK_997, &in, &len);
	assert_non_null(strstr(out, "AK1*IN*18~\r\nAK9*R*1*1*0*4~\r\n"));
	r = must_report(out, len);
	assert_int_equal(r->next->status, ACKST_REJECTED);
	assert_string_equal(r->next->code, "4");
	assert_int_equal(r->next->nmsgs, 0);
	ack_report_free(r);
	independent(x, strlen(x), out, len, "997");
	free(out);
	in.our_id = "AN-ID-FAR-TOO-LONG-FOR-ISA";
	in.our_qual = "ZZ";
	spool_clearerr(&err);
	assert_int_equal(ack_write(ACK_997, &in, &out, &len, &err), -1);
	assert_non_null(strstr(err.msg, "does not fit the ISA"));
	in.our_id = "ME*YOU";
	assert_int_equal(ack_write(ACK_997, &in, &out, &len, &err), -1);
	assert_non_null(strstr(err.msg, "separator"));
	/* Our numbers must fit. */
	in.our_id = NULL;
	in.control = 1000000000;
	assert_int_equal(ack_write(ACK_997, &in, &out, &len, &err), -1);
	edi_free(ic);
}

static void
test_reader_refuses_broken_acks(void **state)
{
	static const char *bad[] = {
		/* CONTRL without UCI */
		"UNB+UNOA:3+S+R+260101:1200+5'UNH+1+CONTRL:D:3:UN'"
		"UNT+2+1'UNZ+1+5'",
		/* UCI with an unknown action */
		"UNB+UNOA:3+S+R+260101:1200+5'UNH+1+CONTRL:D:3:UN'"
		"UCI+9+S+R+5'UNT+3+1'UNZ+1+5'",
		/* UCM without reference */
		"UNB+UNOA:3+S+R+260101:1200+5'UNH+1+CONTRL:D:3:UN'"
		"UCI+9+S+R+7'UCM++ORDERS+4'UNT+4+1'UNZ+1+5'",
		/* CONTRL whose trailer is wrong */
		"UNB+UNOA:3+S+R+260101:1200+5'UNH+1+CONTRL:D:3:UN'"
		"UCI+9+S+R+7'UNT+9+1'UNZ+1+5'",
		/* not EDI */
		"hello",
	};
	struct ack_report *r;
	struct spool_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		spool_clearerr(&err);
		r = (struct ack_report *)1;
		assert_int_equal(ack_read(bad[i], strlen(bad[i]), &lim, &r,
		    &err), -1);
		assert_null(r);
		assert_true(err.msg[0] != '\0');
	}
}

static void
test_reader_takes_a_partners_997_and_skips_the_rest(void **state)
{
	char h[128], buf[1024];
	struct ack_report *r;
	struct spool_error err;

	(void)state;
	isa(h, sizeof(h), '*', 'U', '>', '~', "00401", "000000555", '0', 'P');
	snprintf(buf, sizeof(buf), "%s"
	    "GS*FA*ACMEAPP*ERPAPP*20260101*1200*555*X*004010~"
	    "ST*997*1234~AK1*PO*9~AK2*850*0001~AK3*N1*4*0100*8~AK4*1**7~"
	    "AK5*E*5~AK2*850*0002~AK5*R*5~AK9*P*2*2*1~SE*10*1234~"
	    "ST*850*1235~BEG*00*SA*X**20260101~SE*3*1235~"
	    "GE*2*555~IEA*1*000000555~", h);
	spool_clearerr(&err);
	assert_int_equal(ack_read(buf, strlen(buf), &lim, &r, &err), 0);
	assert_non_null(r);
	assert_null(r->next);
	assert_string_equal(r->ack_control, "000000555");
	assert_string_equal(r->ack_ref, "1234");
	assert_string_equal(r->sender, "ACME");
	assert_string_equal(r->group, "9");
	assert_int_equal(r->status, ACKST_PARTIAL);
	assert_int_equal(r->nmsgs, 2);
	assert_int_equal(r->msgs[0].status, ACKST_ERRORS);
	assert_string_equal(r->msgs[0].code, "5");
	assert_int_equal(r->msgs[1].status, ACKST_REJECTED);
	ack_report_free(r);
	/* No acknowledgment in the file: 0 and NULL. */
	snprintf(buf, sizeof(buf), "%s"
	    "GS*PO*ACMEAPP*ERPAPP*20260101*1200*555*X*004010~"
	    "ST*850*1235~BEG*00*SA*X**20260101~SE*3*1235~"
	    "GE*1*555~IEA*1*000000555~", h);
	assert_int_equal(ack_read(buf, strlen(buf), &lim, &r, &err), 0);
	assert_null(r);
}

static void
test_acknowledgments_are_not_acknowledged(void **state)
{
	static const char contrl[] =
	    "UNB+UNOA:3+S+R+260101:1200+5'UNH+1+CONTRL:D:3:UN'"
	    "UCI+9+R+S+7'UNT+3+1'UNZ+1+5'";
	struct edi_interchange *ic;
	struct spool_error err;
	struct ack_input in;
	char h[128], buf[512], *out;
	uint64_t ng, nm;
	size_t len;

	(void)state;
	ic = must_read(contrl, strlen(contrl));
	assert_int_equal(ack_answers(ic), 0);
	edi_free(ic);
	ic = must_read(edifact_in, strlen(edifact_in));
	assert_int_equal(ack_answers(ic), 1);
	edi_free(ic);
	/* An interchange of TA1s alone: no 997 (no group to name), a TA1
	   is still possible. */
	isa(h, sizeof(h), '*', 'U', '>', '~', "00401", "000000003", '0', 'P');
	snprintf(buf, sizeof(buf), "%sTA1*000000017*260101*1200*A*000~"
	    "IEA*0*000000003~", h);
	ic = must_read(buf, strlen(buf));
	assert_int_equal(ack_answers(ic), 0);
	ack_numbers(ACK_997, ic, &ng, &nm);
	assert_int_equal(ng + nm, 0);
	memset(&in, 0, sizeof(in));
	in.ic = ic;
	in.control = 1;
	in.group = 1;
	in.message = 1;
	spool_clearerr(&err);
	assert_int_equal(ack_write(ACK_997, &in, &out, &len, &err), -1);
	assert_non_null(strstr(err.msg, "has none"));
	out = must_write(ACK_TA1, &in, &len);
	free(out);
	edi_free(ic);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_has_one_row_per_reason_in_order),
		cmocka_unit_test(
		    test_message_reason_follows_the_tokenizer_sentences),
		cmocka_unit_test(test_contrl_in_partners_separators_reads_back),
		cmocka_unit_test(test_contrl_refusing_the_envelope_has_no_ucm),
		cmocka_unit_test(test_contrl_syntax_4_level_b_and_test_flag),
		cmocka_unit_test(test_values_are_escaped_or_refused),
		cmocka_unit_test(test_997_per_group_with_verdicts),
		cmocka_unit_test(test_999_and_ta1_in_odd_separators),
		cmocka_unit_test(test_997_group_refused_and_too_long_ids),
		cmocka_unit_test(test_reader_refuses_broken_acks),
		cmocka_unit_test(
		    test_reader_takes_a_partners_997_and_skips_the_rest),
		cmocka_unit_test(test_acknowledgments_are_not_acknowledged),
	};

	edi_limits_default(&lim);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
