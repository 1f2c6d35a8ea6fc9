/*
 * fuzz_ack.c - libFuzzer target: the acknowledgment modules on a
 * partner's EDIFACT or X12 file. ack_read() (a CONTRL, 997, 999 or TA1
 * a partner sends), ack_scan() (a refused interchange read leniently)
 * and, from what the scan found, ack_write() of every kind that fits;
 * stamp_envelopes() as if the file were an exec program's outbound.
 *
 * Beyond "no crash, no leak, no undefined behaviour" it checks their
 * promises: a refusal has a reason and returns nothing; every
 * acknowledgment written reads back through edi_read() and ack_read(),
 * addressed to the sender and naming the interchange it acknowledges;
 * stamped outbound reads back with our numbers in its headers. Its
 * corpus, corpus/ack/, holds acknowledgments and envelope faults; make
 * check also replays ../shared/samples.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "ack.h"
#include "ack_read.h"
#include "ack_scan.h"
#include "edi.h"
#include "stamp.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_reports(struct ack_report *r)
{
	size_t i;

	for (; r != NULL; r = r->next) {
		if (r->kind == ACK_NONE || r->ack_control == NULL ||
		    r->sender == NULL)
			abort();
		if ((r->kind == ACK_CONTRL || r->kind == ACK_TA1) &&
		    (r->control == NULL || r->control[0] == '\0'))
			abort();
		if ((r->kind == ACK_997 || r->kind == ACK_999) &&
		    r->group == NULL)
			abort();
		for (i = 0; i < r->nmsgs; i++)
			if (r->msgs[i].ref == NULL || r->msgs[i].type == NULL)
				abort();
	}
}

static void
write_one(const struct ack_scan *a, enum ack_kind k,
    const struct edi_limits *lim)
{
	struct edi_interchange *back;
	struct ack_report *r, *p;
	struct spool_error err;
	struct ack_input in;
	char *out;
	size_t len;
	int found = 0;

	memset(&in, 0, sizeof(in));
	in.ic = a->ic;
	in.envelope = a->envelope;
	in.env_group = a->group;
	in.control = 123456789;
	in.group = 5;
	in.message = 1;
	in.now = 1767268800;
	in.with_ta1 = a->ic->ack;
	spool_clearerr(&err);
	if (ack_write(k, &in, &out, &len, &err) == -1) {
		if (err.msg[0] == '\0' || out != NULL)
			abort();
		return;
	}
	if (edi_read(out, len, lim, &back, &err) == -1 || back->next != NULL ||
	    strcmp(back->recipient, a->ic->sender) != 0)
		abort();
	edi_free(back);
	if (ack_read(out, len, lim, &r, &err) == -1 || r == NULL)
		abort();
	check_reports(r);
	for (p = r; p != NULL; p = p->next)
		if (p->control != NULL && strcmp(p->control,
		    a->ic->control) == 0)
			found = 1;
		else if (p->kind == ACK_997 || p->kind == ACK_999)
			found = 1;
	if (!found)
		abort();
	ack_report_free(r);
	free(out);
}

static int
take(void *arg, const struct edi_interchange *ic, enum ctl_level lvl,
    uint64_t *num, struct spool_error *err)
{
	uint64_t *next = arg;

	(void)ic;
	(void)err;
	*num = next[lvl]++;
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xmlInitParser();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct edi_interchange *ic, *p;
	struct ack_scan *scans, *a;
	struct ack_report *r;
	struct edi_limits lim;
	struct spool_error err;
	uint64_t next[3] = { 1, 1, 1 };
	char *out, want[24];
	size_t len;
	uint64_t n;

	edi_limits_default(&lim);
	lim.max_interchanges = 20;
	lim.max_messages = 200;
	lim.max_segments = 5000;
	lim.max_value = 512;

	spool_clearerr(&err);
	if (ack_read(buf, size, &lim, &r, &err) == -1) {
		if (err.msg[0] == '\0' || r != NULL)
			abort();
	} else {
		check_reports(r);
		ack_report_free(r);
	}

	spool_clearerr(&err);
	if (ack_scan(buf, size, &lim, &scans, &err) == -1) {
		if (err.msg[0] == '\0' || scans != NULL)
			abort();
	} else {
		for (a = scans; a != NULL; a = a->next) {
			if (a->ic == NULL || a->ic->control == NULL ||
			    ack_code(a->envelope) == NULL)
				abort();
			if (a->ic->syntax == EDI_EDIFACT)
				write_one(a, ACK_CONTRL, &lim);
			else {
				write_one(a, ack_kind_for(ACK_997,
				    a->envelope), &lim);
				write_one(a, ack_kind_for(ACK_999,
				    a->envelope), &lim);
				write_one(a, ACK_TA1, &lim);
			}
		}
		ack_scan_free(scans);
	}

	spool_clearerr(&err);
	if (stamp_envelopes(buf, size, &lim, take, next, &out, &len,
	    &err) == -1) {
		if (err.msg[0] == '\0' || out != NULL)
			abort();
		return 0;
	}
	if (edi_read(out, len, &lim, &ic, &err) == -1)
		abort();
	for (n = 1, p = ic; p != NULL; p = p->next, n++) {
		if (ctl_format(p->syntax, CTL_INTERCHANGE, n, want,
		    sizeof(want)) == -1 || strcmp(p->control, want) != 0)
			abort();
	}
	edi_free(ic);
	free(out);
	return 0;
}
