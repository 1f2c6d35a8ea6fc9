/*
 * accept_read.c - read one message in the dialect that recognises it
 * (DESIGN 15): which dialect, its keys, and the identity checks of the
 * EDI world (ids, our_ids, test interchanges).
 *
 * A message is EDIFACT or X12 when edi_detect() says so (UNA/UNB, ISA
 * after an optional BOM and white space), else XML. Of the dialects the
 * partner may send ([partner NAME] dialects, default all), the first of
 * that syntax whose rule matches reads it; for XML, native takes what no
 * other recognises. An EDI message here is one interchange with one
 * message: an upload of many is split first (bundle.c reads it as
 * entries, bundle_edi.c), and each entry comes here on its own; when
 * the file it came from was sound (no warning, no reason of its
 * message's own), its tree is made from the file as read
 * (edi_entry_tree_pooled()) instead of reading its bytes again. Its
 * tree is a pooled one (edi_message_tree_pooled(), names in the
 * entry's dictionary when it has one), which msg_free() frees through
 * msg->doc_free.
 *
 * Nothing here writes: the caller records the verdict. Every refusal is
 * a sentence in why; -1 only when memory runs out.
 *
 * Crash safety: nothing to say; pure computation over the caller's
 * bytes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accept_int.h"
#include "bundle.h"
#include "dialect.h"
#include "edi.h"
#include "message.h"
#include "message_int.h"

/* The types qtype waits for: the partner's after.TYPE, else the
 * dialect's (DESIGN 16). */
static const char *
after_of(const struct conf_partner *pc, const struct dialect *d,
    const char *qtype)
{
	size_t i;

	for (i = 0; pc != NULL && pc->after_types != NULL &&
	    pc->after_types[i] != NULL; i++)
		if (strcmp(pc->after_types[i], qtype) == 0)
			return pc->after_waits[i];
	return dialect_after(d, qtype);
}

static void
list_str(char *const *l, char *buf, size_t len)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; l != NULL && l[i] != NULL && o + 1 < len; i++) {
		snprintf(buf + o, len - o, "%s%s", i > 0 ? " " : "", l[i]);
		o += strlen(buf + o);
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "none");
}

int
accept_read(struct accept_ctx *c, const char *partner, const char *buf,
    size_t len, const struct accept_src *src, struct msg *msg,
    struct accept_readinfo *ri, char *why, size_t whylen)
{
	const struct bundle_entry *be = src != NULL ? src->entry : NULL;
	struct _xmlDict *dict = src != NULL ? src->dict : NULL;
	struct dialect_xctx *xctx = src != NULL ? src->xctx : NULL;
	const struct edi_interchange *ric;
	char *const *tags;
	bool omit;
	const struct conf_partner *pc = conf_partner(c->conf, partner);
	char *const *allowed = pc != NULL ? pc->dialects : NULL;
	const struct dialect *d;
	struct edi_interchange *ic = NULL;
	struct edi_limits lim;
	struct spool_error perr;
	enum edi_syntax es;
	char tried[256], q[MSG_QBUF], ids[400];
	int ret = 1;

	memset(msg, 0, sizeof(*msg));
	memset(ri, 0, sizeof(*ri));
	spool_clearerr(&perr);
	es = edi_detect(buf, len);
	if (c->dialects == NULL && es == EDI_NONE) {
		/* No dialects loaded (tests, tools): native, as always. */
		if (msg_parse_limits(buf, len, &c->conf->msg_limits, msg,
		    &perr) == -1) {
			snprintf(why, whylen, "%s", perr.msg);
			return 1;
		}
		ri->native = true;
		return 0;
	}
	if (es != EDI_NONE) {
		d = dialect_recognise(c->dialects, allowed, es == EDI_EDIFACT ?
		    DIALECT_EDIFACT : DIALECT_X12, NULL, tried, sizeof(tried));
		if (d == NULL) {
			snprintf(why, whylen, "the file is %s, and no dialect "
			    "partner %s may send reads it (allowed: %s)",
			    es == EDI_EDIFACT ? "EDIFACT" : "X12", partner,
			    allowed != NULL ? (list_str(allowed, ids,
			    sizeof(ids)), ids) : "all");
			return 1;
		}
		if (be != NULL && be->ic != NULL && be->ic->warning == NULL &&
		    be->ic->msgs[be->msg].reason == NULL) {
			/* An entry of an interchange read whole, sound: its
			 * own bytes would read the same (entry_bytes() in
			 * bundle_edi.c), so they are not read again. Its
			 * tree serves its keys (and a schema, which
			 * accept_read_whole() gives a whole tree): the
			 * segments the keys do not read are left bare. */
			ric = be->ic;
			tags = dialect_edi_tags(d, &omit);
			ri->bare = tags != NULL;
			msg->doc = edi_entry_tree_tags(ric, be->msg,
			    be->file, be->filelen, dict, tags, omit, &perr);
		} else {
			edi_limits_default(&lim);
			if (edi_read(buf, len, &lim, &ic, &perr) == -1) {
				snprintf(why, whylen, "%s", perr.msg);
				return 1;
			}
			if (ic->next != NULL || ic->nmsgs != 1) {
				snprintf(why, whylen, "an interchange of %zu "
				    "messages that could not be split (larger "
				    "than [bundle] allows?)", ic->nmsgs);
				goto out;
			}
			if (ic->msgs[0].reason != NULL) {
				snprintf(why, whylen, "%s", ic->msgs[0].reason);
				goto out;
			}
			ric = ic;
			msg->doc = edi_message_tree_pooled(ic, 0, buf, len,
			    dict, &perr);
		}
		if (msg->doc == NULL) {
			snprintf(why, whylen, "%s", perr.msg);
			goto out;
		}
		msg->doc_free = edi_tree_free;
		if (ric->warning != NULL)
			snprintf(ri->warning, sizeof(ri->warning), "%s",
			    ric->warning);
		ri->test = ric->test;
		ri->test_what = es == EDI_EDIFACT ? "UNB 0035 = 1" :
		    "ISA15 = T";
	} else {
		if (msg_parse_doc(buf, len, &c->conf->msg_limits, false, msg,
		    &perr) == -1) {
			snprintf(why, whylen, "%s", perr.msg);
			return 1;
		}
		d = dialect_recognise(c->dialects, allowed, DIALECT_XML,
		    msg->doc, tried, sizeof(tried));
		if (d == NULL) {
			xmlNodePtr r = xmlDocGetRootElement(msg->doc);

			snprintf(why, whylen, "no dialect partner %s may send "
			    "recognises the root element %s%s%s%s (tried: %s)",
			    partner, r != NULL && r->ns != NULL ? "{" : "",
			    r != NULL && r->ns != NULL ? msg_quote(q,
			    (const char *)r->ns->href) : "",
			    r != NULL && r->ns != NULL ? "}" : "",
			    r != NULL ? (const char *)r->name : "?",
			    tried[0] != '\0' ? tried : "none");
			goto out;
		}
	}
	ri->dialect = d;
	if (dialect_is_native(d)) {
		ri->native = true;
		if (msg_read_native(msg, &perr) == -1) {
			snprintf(why, whylen, "%s", perr.msg);
			goto out;
		}
		ret = 0;
		goto out;
	}
	ri->order = pc != NULL && pc->order != CONF_ORDER_DEFAULT ?
	    pc->order : dialect_order_mode(d);
	if (dialect_extract_xctx(d, ri->order, msg->doc, &msg->hdr,
	    &ri->business_tx, xctx, &perr) == -1) {
		snprintf(why, whylen, "%s", perr.msg);
		goto out;
	}
	/* Identities: the sender is the partner, the recipient is us. */
	if (!conf_sender_ok(c->conf, partner, msg->hdr.sender) &&
	    (pc == NULL || !conf_id_in(pc->ids, msg->hdr.sender))) {
		list_str(pc != NULL ? pc->ids : NULL, ids, sizeof(ids));
		snprintf(why, whylen, "spoofed: sender %s is not partner %s "
		    "nor one of its ids (%s)", msg_quote(q, msg->hdr.sender),
		    partner, ids);
		goto out;
	}
	if (msg->hdr.recipient != NULL && c->conf->our_ids != NULL &&
	    !conf_id_in(c->conf->our_ids, msg->hdr.recipient)) {
		list_str(c->conf->our_ids, ids, sizeof(ids));
		snprintf(why, whylen, "misdirected: recipient %s is not one of "
		    "our_ids (%s)", msg_quote(q, msg->hdr.recipient), ids);
		goto out;
	}
	if (ri->test && pc != NULL && pc->test_reject) {
		snprintf(why, whylen, "a test interchange (%s), and [partner "
		    "%s] test_interchanges = reject", ri->test_what, partner);
		goto out;
	}
	if (ri->order == CONF_ORDER_INTERCHANGE && !msg->hdr.has_control) {
		snprintf(why, whylen, "order = interchange, but dialect %s "
		    "yields no interchange control number that is a number",
		    dialect_name(d));
		goto out;
	}
	if (ri->order == CONF_ORDER_AFTER)
		ri->after = after_of(pc, d, msg->hdr.type);
	ri->first_control = pc != NULL ? pc->first_control : 0;
	ret = 0;
out:
	edi_free(ic);
	if (ret != 0) {
		free(ri->business_tx);
		ri->business_tx = NULL;
		/* The keys read so far stay, for the rejected row. */
	}
	return ret;
}

int
accept_read_whole(const struct accept_src *src, struct msg *msg,
    struct accept_readinfo *ri, char *why, size_t whylen)
{
	const struct bundle_entry *be = src->entry;
	struct spool_error perr;
	xmlDocPtr doc;

	if (!ri->bare)
		return 0;
	spool_clearerr(&perr);
	if ((doc = edi_entry_tree_pooled(be->ic, be->msg, be->file,
	    be->filelen, src->dict, &perr)) == NULL) {
		snprintf(why, whylen, "%s", perr.msg);
		return -1;
	}
	edi_tree_free(msg->doc);
	msg->doc = doc;
	ri->bare = false;
	return 0;
}
