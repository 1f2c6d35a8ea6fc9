/*
 * ack.c - the acknowledgments we send (DESIGN 16): the table of
 * spoold's reasons against the standards' codes, and the decisions made
 * from it (which kind answers, how many groups and messages it counts,
 * which line end it copies). The writers of CONTRL, 997, 999 and TA1
 * are ack_write.c's.
 *
 * Nothing here touches a file or the store, so no crash-safety concern
 * lives here.
 */
#include "config.h"

#include <string.h>

#include "ack.h"

/*
 * The table. CONTRL: 0083 is 4 (rejected) where `rejects', else 7;
 * 0085 and 0013 as given. X12: AK5/IK5 R with the 718 code, AK9 R with
 * the 716 code, TA1 R with the I18 note code. spoold.conf(5) prints it.
 */
static const struct ack_code table[ACK_REASON_COUNT] = {
	{ ACK_OK, "ok", "accepted",
	    ACK_LVL_MESSAGE, 0, NULL, NULL, NULL, NULL, "000" },
	{ ACK_DUPLICATE, "duplicate", "duplicate",
	    ACK_LVL_MESSAGE, 0, NULL, NULL, NULL, NULL, "000" },
	{ ACK_REUSED, "reused", "reference reused with different content",
	    ACK_LVL_MESSAGE, 1, "26", NULL, "23", NULL, NULL },
	{ ACK_MSG_COUNT, "msg-count", "message trailer count wrong",
	    ACK_LVL_MESSAGE, 1, "29", "UNT", "4", NULL, NULL },
	{ ACK_MSG_REF, "msg-ref", "message trailer reference wrong",
	    ACK_LVL_MESSAGE, 1, "28", "UNT", "3", NULL, NULL },
	{ ACK_MSG_TRAILER, "msg-trailer", "message trailer missing",
	    ACK_LVL_MESSAGE, 1, "13", "UNT", "2", NULL, NULL },
	{ ACK_MSG_TYPE, "msg-type", "message type not taken from this partner",
	    ACK_LVL_MESSAGE, 1, "17", NULL, "1", NULL, NULL },
	{ ACK_MSG_INVALID, "msg-invalid", "message content invalid",
	    ACK_LVL_MESSAGE, 1, "18", NULL, "5", NULL, NULL },
	{ ACK_GROUP_COUNT, "group-count", "group trailer count wrong",
	    ACK_LVL_GROUP, 1, "29", "UNE", NULL, "5", NULL },
	{ ACK_GROUP_REF, "group-ref", "group trailer reference wrong",
	    ACK_LVL_GROUP, 1, "28", "UNE", NULL, "4", NULL },
	{ ACK_GROUP_TRAILER, "group-trailer", "group trailer missing",
	    ACK_LVL_GROUP, 1, "13", "UNE", NULL, "3", NULL },
	{ ACK_ENV_COUNT, "env-count", "interchange trailer count wrong",
	    ACK_LVL_INTERCHANGE, 1, "29", "UNZ", NULL, NULL, "021" },
	{ ACK_ENV_REF, "env-ref", "interchange trailer reference wrong",
	    ACK_LVL_INTERCHANGE, 1, "28", "UNZ", NULL, NULL, "001" },
	{ ACK_ENV_TRAILER, "env-trailer", "interchange trailer missing",
	    ACK_LVL_INTERCHANGE, 1, "13", "UNZ", NULL, NULL, "023" },
	{ ACK_ENV_DUPLICATE, "env-duplicate",
	    "interchange control number reused",
	    ACK_LVL_INTERCHANGE, 1, "26", "UNB", NULL, NULL, "025" },
	{ ACK_ENV_SENDER, "env-sender", "sender unknown (spoofed)",
	    ACK_LVL_INTERCHANGE, 1, "23", "UNB", NULL, NULL, "006" },
	{ ACK_ENV_RECIPIENT, "env-recipient",
	    "recipient not ours (misdirected)",
	    ACK_LVL_INTERCHANGE, 1, "7", "UNB", NULL, NULL, "009" },
	{ ACK_ENV_TEST, "env-test", "test interchange refused",
	    ACK_LVL_INTERCHANGE, 1, "25", "UNB", NULL, NULL, "020" },
	{ ACK_ENV_VERSION, "env-version", "syntax version not supported",
	    ACK_LVL_INTERCHANGE, 1, "2", "UNB", NULL, NULL, "017" },
	{ ACK_ENV_CHARSET, "env-charset", "character set not supported",
	    ACK_LVL_INTERCHANGE, 1, "2", "UNB", NULL, NULL, "024" },
	{ ACK_ENV_CHARS, "env-chars", "bytes outside the character set",
	    ACK_LVL_INTERCHANGE, 1, "21", NULL, NULL, NULL, "024" },
	{ ACK_ENV_STRUCTURE, "env-structure", "segment out of place",
	    ACK_LVL_INTERCHANGE, 1, "33", NULL, NULL, NULL, "024" },
	{ ACK_ENV_LIMIT, "env-limit", "over spoold's limits, or unreadable",
	    ACK_LVL_INTERCHANGE, 1, "18", NULL, NULL, NULL, "024" },
};

int
ack_reason_by_key(const char *key, enum ack_reason *r)
{
	int i;

	for (i = 0; i < ACK_REASON_COUNT; i++)
		if (strcmp(table[i].key, key) == 0) {
			*r = table[i].reason;
			return 0;
		}
	return -1;
}

const struct ack_code *
ack_code(enum ack_reason r)
{
	if ((int)r < 0 || r >= ACK_REASON_COUNT)
		return NULL;
	return &table[r];
}

enum ack_reason
ack_message_reason(const struct edi_message *m)
{
	/* The sentences of edi_edifact.c's read_unt(), edi_x12.c's
	   read_se() and ack_scan.c; test_ack.c holds them to this. */
	if (m->reason == NULL)
		return ACK_OK;
	if (strstr(m->reason, "trailer missing") != NULL)
		return ACK_MSG_TRAILER;	/* ack_scan.c's */
	if (strstr(m->reason, "segment count") != NULL)
		return ACK_MSG_COUNT;
	if (strstr(m->reason, "does not match") != NULL)
		return ACK_MSG_REF;
	return ACK_MSG_INVALID;
}

enum ack_kind
ack_kind_for(enum ack_kind k, enum ack_reason env)
{
	const struct ack_code *c = ack_code(env);

	if ((k == ACK_997 || k == ACK_999) && c != NULL &&
	    c->level == ACK_LVL_INTERCHANGE && c->rejects)
		return ACK_TA1;
	return k;
}

void
ack_numbers(enum ack_kind k, const struct edi_interchange *ic,
    uint64_t *groups, uint64_t *messages)
{
	*groups = *messages = 0;
	if (k == ACK_CONTRL)
		*messages = 1;
	else if ((k == ACK_997 || k == ACK_999) && ic->ngroups > 0) {
		*groups = 1;
		*messages = ic->ngroups;
	}
}

int
ack_answers(const struct edi_interchange *ic)
{
	size_t i;

	for (i = 0; i < ic->nmsgs; i++)
		if (strcmp(ic->msgs[i].type, "CONTRL") != 0 &&
		    strcmp(ic->msgs[i].type, "997") != 0 &&
		    strcmp(ic->msgs[i].type, "999") != 0)
			return 1;
	return 0;
}

const char *
ack_eol_of(const struct edi_interchange *ic, const char *buf, size_t len)
{
	size_t p = ic->hdr_end;

	if (p < len && buf[p] == '\r' && p + 1 < len && buf[p + 1] == '\n' &&
	    ic->seg != '\r')
		return "\r\n";
	if (p < len && buf[p] == '\n' && ic->seg != '\n')
		return "\n";
	return "";
}
