/*
 * outbound_edi.c - an exec program's EDIFACT or X12 outbound
 * (SPOOLD_OUTBOUND, DESIGN 16): our control numbers are stamped into
 * its envelopes (stamp.c) from the per-partner counters that our
 * acknowledgments draw from too (store_control.c), the stamped bytes are
 * recorded as one outbound message, and each interchange in it is
 * recorded as awaiting the partner's acknowledgment (store_ack.c) when
 * the partner sends acknowledgments ([partner] ack) or the interchange
 * asks for one (UNB 0031 = 1, ISA14 = 1).
 *
 * Everything happens in the caller's write transaction: the numbers,
 * the outbound row and the rows awaiting acknowledgment commit together
 * or not at all, so a number a partner has seen is never given out
 * again. The file is written after COMMIT by outbound_flush(), as
 * DESIGN 8 says. Outbound that does not tokenize, or whose counts or
 * trailers are wrong, is refused with the tokenizer's reason (the
 * caller rolls back), never mended.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbound.h"
#include "spooldir.h"
#include "stamp.h"
#include "store_ack.h"
#include "store_outbound.h"

void
outbound_edi_name(char *name)
{
	size_t n = strlen(name);

	if (n > 4 && strcmp(name + n - 4, ".xml") == 0)
		memcpy(name + n - 4, ".edi", 4);
}

int
outbound_emit_edi(struct store *s, const struct outbound_req *r,
    const char *buf, size_t len, unsigned *count, struct spool_error *err)
{
	struct stamp_store ss;
	struct edi_limits el;
	struct edi_interchange *ics = NULL, *ic;
	struct store_outmsg om;
	const char **groups = NULL;
	char *out = NULL, type[80], name[SPOOLDIR_NAME_MAX + 1];
	size_t olen, i;
	int64_t id, row;
	int ret = -1;

	*count = 0;
	edi_limits_default(&el);
	memset(&ss, 0, sizeof(ss));
	ss.store = s;
	ss.partner = r->partner;
	if (stamp_envelopes(buf, len, &el, stamp_take_store, &ss, &out, &olen,
	    err) == -1)
		return -1;
	if (edi_read(out, olen, &el, &ics, err) == -1)
		goto out;
	if (ics == NULL || ics->nmsgs == 0) {
		spool_seterr(err, "an interchange without messages");
		goto out;
	}
	snprintf(type, sizeof(type), "%s.%.60s", ics->syntax == EDI_X12 ?
	    "x12" : "edifact", ics->msgs[0].type);
	if (store_out_next_id(s, &id, err) == -1)
		goto out;
	if (spooldir_name(name, sizeof(name), r->partner, NULL, 0, type, id) ==
	    -1) {
		spool_seterr(err, "outbound %s to %s: no file name", type,
		    r->partner);
		goto out;
	}
	outbound_edi_name(name);
	memset(&om, 0, sizeof(om));
	om.partner = r->partner;
	om.type = type;
	om.cause = r->cause;
	om.file_name = name;
	om.content = out;
	om.len = olen;
	if (store_out_insert(s, id, &om, err) == -1)
		goto out;
	for (ic = ics; ic != NULL; ic = ic->next) {
		if (!r->expect_ack && !ic->ack)
			continue;
		free(groups);
		if ((groups = calloc(ic->ngroups + 1, sizeof(*groups))) ==
		    NULL) {
			spool_seterr(err, "out of memory");
			goto out;
		}
		for (i = 0; i < ic->ngroups; i++)
			groups[i] = ic->groups[i].control;
		if (store_ack_expect(s, r->partner, ic->syntax, ic->control,
		    groups, ic->ngroups, id, &row, err) == -1)
			goto out;
	}
	*count = 1;
	ret = 0;
out:
	free(groups);
	edi_free(ics);
	free(out);
	return ret;
}
