/*
 * orders.c - the purchase-order life cycle (DESIGN 7), kept as
 * insert-only revisions (order_store.c).
 *
 * The order of a transaction is opened by PurchaseOrderCreate (alias
 * PurchaseOrderSubmit) and moved along by the messages of the same
 * (partner, transaction), whichever side sent them, in sequence order:
 *
 *   state                allowed messages -> new state
 *   (no order)           Create -> open
 *   open                 Ack -> acknowledged, Change, Cancel
 *   acknowledged         Ack (no change), Accept -> accepted,
 *                        Decline -> declined, Change, Cancel
 *   accepted             Ack (no change), Change, Cancel (compensating),
 *                        DeliveryNote -> partially_delivered | delivered
 *   partially_delivered  Ack (no change), DeliveryNote, Invoice -> invoiced
 *   delivered            Ack (no change), Invoice -> invoiced
 *   declined, invoiced, cancelled: nothing (final)
 *
 * Change replaces the lines and keeps the state; Cancel -> cancelled. A
 * Cancel after acceptance appends a compensating revision that names the
 * revision it reverses; nothing is ever deleted. A DeliveryNote line
 * refers to the order line with the same number and the same Item; the
 * delivered quantity of a line may never exceed the ordered one. Any
 * other message is a permanent failure naming the message, the order's
 * state and the messages that state allows.
 *
 * Stale messages (DESIGN 5; the cycle decides staleness): a stale message
 * that would change the order's state or lines is refused as a conflict
 * (permanent), naming its ReceiverSequence and our last SenderSequence; a
 * stale message that changes nothing (an Ack of an acknowledged order, a
 * Change to the same lines) is applied.
 *
 * auto_ack: a PurchaseOrderCreate is answered with a PurchaseOrderAck
 * (outbound.c) in the same transaction, and the Ack is recorded as the
 * order's next revision (open -> acknowledged), cause: the outbound
 * message. Order messages an exec program sends (SPOOLD_OUTBOUND) go
 * through the same life cycle (orders_outbound) when their transaction
 * has an order.
 *
 * Two systems (DESIGN 1): an order message routed to exec, in a
 * transaction that has an order, is checked here first (orders_external)
 * and appended as a *pending* revision in the cycle's transaction; the
 * end of the call makes it valid (exit 0) or invalid (orders_finish,
 * order_decide_call). Readers see it only once valid. A
 * transition the life cycle does not allow fails at once, and the
 * program is not called.
 *
 * Quantities and prices are int64_t; no floating point. Partner input is
 * read with the strict readers of xmlbody.c and checked again here.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "handler.h"
#include "order_store.h"
#include "outbound.h"
#include "xmlbody.h"

enum kind {
	K_CREATE,
	K_ACK,
	K_ACCEPT,
	K_DECLINE,
	K_CHANGE,
	K_CANCEL,
	K_DELIVERY,
	K_INVOICE,
	K_NKINDS
};

static const char *kind_names[K_NKINDS] = {
	"PurchaseOrderCreate", "PurchaseOrderAck", "PurchaseOrderAccept",
	"PurchaseOrderDecline", "PurchaseOrderChange", "PurchaseOrderCancel",
	"DeliveryNote", "Invoice"
};

#define B(k)	(1u << (k))

/* Allowed messages per state; index OS_NONE + 1 is "no order". */
static const unsigned allowed[OS_NSTATES + 1] = {
	[OS_NONE + 1] = B(K_CREATE),
	[OS_OPEN + 1] = B(K_ACK) | B(K_CHANGE) | B(K_CANCEL),
	[OS_ACKNOWLEDGED + 1] = B(K_ACK) | B(K_ACCEPT) | B(K_DECLINE) |
	    B(K_CHANGE) | B(K_CANCEL),
	[OS_ACCEPTED + 1] = B(K_ACK) | B(K_CHANGE) | B(K_CANCEL) |
	    B(K_DELIVERY),
	[OS_PARTIALLY_DELIVERED + 1] = B(K_ACK) | B(K_DELIVERY) | B(K_INVOICE),
	[OS_DELIVERED + 1] = B(K_ACK) | B(K_INVOICE),
	[OS_DECLINED + 1] = 0,
	[OS_INVOICED + 1] = 0,
	[OS_CANCELLED + 1] = 0,
};

static int
kind_of(const char *type)
{
	int k;

	if (strcmp(type, "PurchaseOrderSubmit") == 0)
		return K_CREATE;
	for (k = 0; k < K_NKINDS; k++)
		if (strcmp(type, kind_names[k]) == 0)
			return k;
	return -1;
}

static void
allowed_list(enum order_state st, char *buf, size_t len)
{
	unsigned a = allowed[st + 1];
	size_t off = 0;
	int k, n = 0;

	buf[0] = '\0';
	for (k = 0; k < K_NKINDS; k++) {
		if (!(a & B(k)))
			continue;
		off += (size_t)snprintf(buf + off, off < len ? len - off : 0,
		    "%s%s%s", n ? ", " : "", kind_names[k],
		    k == K_CREATE ? " (or PurchaseOrderSubmit)" : "");
		if (off >= len)
			break;
		n++;
	}
	if (n == 0)
		snprintf(buf, len, "none, the order is closed");
}

/* Refuse a message the state does not allow; 0 if allowed. */
static int
check_allowed(const struct order *o, const char *tx, const char *type,
    int k, char *reason, size_t len)
{
	char list[256];

	if (allowed[o->state + 1] & B(k))
		return 0;
	allowed_list(o->state, list, sizeof(list));
	if (o->state == OS_NONE)
		snprintf(reason, len, "%s is not allowed: transaction %s has "
		    "no order yet (state none; allowed: %s)", type, tx, list);
	else
		snprintf(reason, len, "%s is not allowed for order %s in "
		    "state %s (allowed: %s)", type, o->number,
		    order_state_name(o->state), list);
	return -1;
}

/* An integer attribute: 1 found, 0 absent, -1 bad. */
static int
attr_int64(xmlNodePtr n, const char *name, int64_t *v, char *reason,
    size_t len)
{
	xmlChar *a = xmlGetProp(n, (const xmlChar *)name);
	const char *p;
	char *end;
	long long x;

	if (a == NULL)
		return 0;
	p = (const char *)a;
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	errno = 0;
	x = strtoll(p, &end, 10);
	while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
		end++;
	if (end == p || *end != '\0' || errno == ERANGE || (*p < '0' ||
	    *p > '9')) {
		snprintf(reason, len, "attribute %s=\"%.40s\" is not an "
		    "integer (line %ld)", name, (const char *)a,
		    xmlGetLineNo(n));
		xmlFree(a);
		return -1;
	}
	xmlFree(a);
	*v = (int64_t)x;
	return 1;
}

/* Read a line's number, Item and Quantity (quantity >= 0). */
static int
read_line(xmlNodePtr line, int64_t *num, char *item, int64_t *q,
    char *reason, size_t len)
{
	int rc;

	if ((rc = attr_int64(line, "number", num, reason, len)) != 1 ||
	    *num < 1) {
		if (rc != -1)
			snprintf(reason, len, "a Line needs a number of at "
			    "least 1 (line %ld)", xmlGetLineNo(line));
		return -1;
	}
	if (xb_need_text(line, "Item", item, ORDER_CODE_MAX, reason, len) == -1)
		return -1;
	if ((rc = xb_int64(line, "Quantity", q, reason, len)) != 1 ||
	    *q < 0) {
		if (rc != -1)
			snprintf(reason, len, "Line %" PRId64 " needs a "
			    "Quantity of at least 0", *num);
		return -1;
	}
	return 0;
}

/* The Lines of a Create or Change into o (replacing o's lines). */
static int
read_order_lines(xmlNodePtr body, struct order *o, char *reason, size_t len)
{
	char item[ORDER_CODE_MAX];
	struct order_line *l, *nl;
	xmlNodePtr line, qn;
	xmlChar *unit;
	size_t cap = 0, i;
	int64_t num, q, price;
	int rc;

	for (i = 0; i < o->nlines; i++) {
		free(o->lines[i].item);
		free(o->lines[i].unit);
	}
	free(o->lines);
	o->lines = NULL;
	o->nlines = 0;
	for (line = xb_child(body, "Line"); line != NULL;
	    line = xb_next(line, "Line")) {
		if (read_line(line, &num, item, &q, reason, len) == -1)
			return -1;
		for (i = 0; i < o->nlines; i++)
			if (o->lines[i].line == num) {
				snprintf(reason, len, "Line number %" PRId64
				    " appears twice", num);
				return -1;
			}
		if ((rc = xb_int64(line, "Price", &price, reason, len)) ==
		    -1)
			return -1;
		if (rc == 1 && price < 0) {
			snprintf(reason, len, "Line %" PRId64 ": Price must "
			    "not be negative", num);
			return -1;
		}
		if (o->nlines == cap) {
			cap = cap ? cap * 2 : 8;
			if ((nl = realloc(o->lines, cap * sizeof(*nl))) ==
			    NULL) {
				snprintf(reason, len, "out of memory");
				return -1;
			}
			o->lines = nl;
		}
		l = &o->lines[o->nlines];
		memset(l, 0, sizeof(*l));
		l->line = num;
		l->quantity = q;
		l->has_price = rc == 1;
		l->price = rc == 1 ? price : 0;
		if ((l->item = strdup(item)) == NULL) {
			snprintf(reason, len, "out of memory");
			return -1;
		}
		o->nlines++;
		qn = xb_child(line, "Quantity");
		unit = qn != NULL ? xmlGetProp(qn, (const xmlChar *)"unit") :
		    NULL;
		if (unit != NULL) {
			if (strlen((const char *)unit) >= ORDER_UNIT_MAX)
				l->unit = NULL;
			else
				l->unit = strdup((const char *)unit);
			xmlFree(unit);
			if (l->unit == NULL) {
				snprintf(reason, len, "Line %" PRId64 ": bad "
				    "unit", num);
				return -1;
			}
		}
	}
	if (o->nlines == 0) {
		snprintf(reason, len, "the order has no Line");
		return -1;
	}
	return 0;
}

/* Deliver the Lines of a DeliveryNote into o. */
static int
deliver(xmlNodePtr body, struct order *o, char *reason, size_t len)
{
	char item[ORDER_CODE_MAX], num_s[32];
	xmlNodePtr line;
	int64_t num, q, now;
	size_t i;
	int n = 0;

	for (line = xb_child(body, "Line"); line != NULL;
	    line = xb_next(line, "Line")) {
		n++;
		if (read_line(line, &num, item, &q, reason, len) == -1)
			return -1;
		snprintf(num_s, sizeof(num_s), "%" PRId64, num);
		for (i = 0; i < o->nlines; i++)
			if (o->lines[i].line == num)
				break;
		if (i == o->nlines) {
			snprintf(reason, len, "DeliveryNote line %s: order %s "
			    "has no line %s", num_s, o->number, num_s);
			return -1;
		}
		if (strcmp(o->lines[i].item, item) != 0) {
			snprintf(reason, len, "DeliveryNote line %s delivers "
			    "%s, but line %s of order %s is %s", num_s, item,
			    num_s, o->number, o->lines[i].item);
			return -1;
		}
		if (__builtin_add_overflow(o->lines[i].delivered, q, &now) ||
		    now > o->lines[i].quantity) {
			snprintf(reason, len, "over-delivery: DeliveryNote "
			    "line %s delivers %" PRId64 " of %s, but %"
			    PRId64 " of the %" PRId64 " ordered on line %s "
			    "of order %s are delivered already", num_s, q, item,
			    o->lines[i].delivered, o->lines[i].quantity,
			    num_s, o->number);
			return -1;
		}
		o->lines[i].delivered = now;
	}
	if (n == 0) {
		snprintf(reason, len, "DeliveryNote has no Line");
		return -1;
	}
	return 0;
}

static int
copy_order(const struct order *from, struct order *to)
{
	size_t i;

	memset(to, 0, sizeof(*to));
	to->state = from->state;
	to->revision = from->revision;
	if (from->number != NULL && (to->number = strdup(from->number)) ==
	    NULL)
		return -1;
	if (from->nlines == 0)
		return 0;
	if ((to->lines = calloc(from->nlines, sizeof(*to->lines))) == NULL)
		return -1;
	for (i = 0; i < from->nlines; i++) {
		to->lines[i] = from->lines[i];
		to->lines[i].item = NULL;
		to->lines[i].unit = NULL;
		to->nlines = i + 1;
		if ((to->lines[i].item = strdup(from->lines[i].item)) == NULL ||
		    (from->lines[i].unit != NULL && (to->lines[i].unit =
		    strdup(from->lines[i].unit)) == NULL))
			return -1;
	}
	return 0;
}

static bool
same_lines(const struct order *a, const struct order *b)
{
	size_t i;

	if (a->nlines != b->nlines)
		return false;
	for (i = 0; i < a->nlines; i++) {
		const struct order_line *x = &a->lines[i], *y = &b->lines[i];

		if (x->line != y->line || x->quantity != y->quantity ||
		    x->delivered != y->delivered ||
		    x->has_price != y->has_price || x->price != y->price ||
		    strcmp(x->item, y->item) != 0 ||
		    (x->unit == NULL) != (y->unit == NULL) ||
		    (x->unit != NULL && strcmp(x->unit, y->unit) != 0))
			return false;
	}
	return true;
}

static int
line_cmp(const void *a, const void *b)
{
	const struct order_line *x = a, *y = b;

	return x->line < y->line ? -1 : x->line > y->line;
}

/*
 * The new revision `next' of cur for message kind k. 0, or -1 with a
 * reason (permanent: the message is wrong for this order).
 */
static int
transition(const struct order *cur, int k, xmlNodePtr body,
    struct order *next, int64_t *compensates, char *reason, size_t len)
{
	char num[ORDER_CODE_MAX];
	size_t i;
	int rc;

	*compensates = 0;
	rc = xb_text(body, "OrderNumber", num, sizeof(num), reason, len);
	if (rc == -1)
		return -1;
	if (k == K_CREATE) {
		if (rc == 0 || num[0] == '\0') {
			snprintf(reason, len, "OrderNumber is missing");
			return -1;
		}
		if ((next->number = strdup(num)) == NULL) {
			snprintf(reason, len, "out of memory");
			return -1;
		}
		next->state = OS_OPEN;
		if (read_order_lines(body, next, reason, len) == -1)
			return -1;
		qsort(next->lines, next->nlines, sizeof(*next->lines),
		    line_cmp);
		return 0;
	}
	if (rc == 1 && strcmp(num, cur->number) != 0) {
		snprintf(reason, len, "OrderNumber %s does not match order %s "
		    "of this transaction", num, cur->number);
		return -1;
	}
	switch (k) {
	case K_ACK:
		if (cur->state == OS_OPEN)
			next->state = OS_ACKNOWLEDGED;
		break;
	case K_ACCEPT:
		next->state = OS_ACCEPTED;
		break;
	case K_DECLINE:
		next->state = OS_DECLINED;
		break;
	case K_CHANGE:
		if (read_order_lines(body, next, reason, len) == -1)
			return -1;
		qsort(next->lines, next->nlines, sizeof(*next->lines),
		    line_cmp);
		break;
	case K_CANCEL:
		next->state = OS_CANCELLED;
		if (cur->state == OS_ACCEPTED)
			*compensates = cur->revision;
		break;
	case K_DELIVERY:
		if (deliver(body, next, reason, len) == -1)
			return -1;
		next->state = OS_DELIVERED;
		for (i = 0; i < next->nlines; i++)
			if (next->lines[i].delivered < next->lines[i].quantity)
				next->state = OS_PARTIALLY_DELIVERED;
		if (next->state == OS_PARTIALLY_DELIVERED &&
		    cur->state == OS_ACCEPTED && same_lines(cur, next))
			next->state = OS_ACCEPTED; /* nothing delivered */
		break;
	case K_INVOICE:
		next->state = OS_INVOICED;
		break;
	}
	return 0;
}

static enum cycle_result
append(struct store *s, const struct cycle_msg *m, int64_t base,
    const struct order *o, const struct order_cause *c, int64_t *revision,
    char *reason, size_t len)
{
	struct spool_error err;
	int64_t rev_id;
	int rc;

	spool_clearerr(&err);
	rc = order_append(s, m->work->partner, m->work->transaction_id, base,
	    o, c, &rev_id, revision, &err);
	if (rc == 0)
		return CYCLE_OK;
	/* Lost a race (or the store failed): read again and retry. */
	snprintf(reason, len, "%s", err.msg);
	return CYCLE_TEMPORARY;
}

/* auto_ack: answer the Create with a PurchaseOrderAck, revision base+1. */
static enum cycle_result
auto_ack(struct store *s, const struct router *r, const struct cycle_msg *m,
    struct order *o, int64_t base, char *reason, size_t len)
{
	struct outbound_req req;
	struct order_cause c;
	struct spool_error err;
	enum cycle_result res;
	char *num, *body = NULL;
	int64_t id, seq, revision;

	if (check_allowed(o, m->work->transaction_id, kind_names[K_ACK],
	    K_ACK, reason, len) == -1)
		return CYCLE_PERMANENT;
	if ((num = outbound_xml_escape(o->number)) == NULL ||
	    asprintf(&body, "<OrderNumber>%s</OrderNumber>", num) == -1) {
		free(num);
		snprintf(reason, len, "out of memory");
		return CYCLE_TEMPORARY;
	}
	free(num);
	memset(&req, 0, sizeof(req));
	req.partner = m->work->partner;
	req.transaction_id = m->work->transaction_id;
	/* The partner's last processed number: this message's, which is
	 * processed in this very transaction. */
	req.receiver_seq = m->work->sender_seq;
	req.type = kind_names[K_ACK];
	req.sender = m->msg->hdr.recipient != NULL ? m->msg->hdr.recipient :
	    "spoold";
	req.recipient = m->msg->hdr.sender;
	req.body = body;
	req.cause = m->work->id;
	spool_clearerr(&err);
	if (outbound_emit(s, r->schemas, &req, &id, &seq, &err) == -1) {
		free(body);
		snprintf(reason, len, "auto_ack: %s", err.msg);
		return CYCLE_PERMANENT;
	}
	free(body);
	o->state = OS_ACKNOWLEDGED;
	memset(&c, 0, sizeof(c));
	c.type = kind_names[K_ACK];
	c.message = m->work->id;
	c.outbound = id;
	res = append(s, m, base, o, &c, &revision, reason, len);
	return res;
}

/*
 * Apply message m to its order: a valid revision (the orders handler), or
 * a pending one (external: an exec call decides; only when the order
 * exists, and never a Create). *skip says that external found nothing to
 * do (not an order message, or no order).
 */
static enum cycle_result
apply_msg(struct store *s, const struct router *r,
    const struct conf_route *route, const struct cycle_msg *m, bool external,
    bool *skip, char *reason, size_t len)
{
	const char *type = m->work->type != NULL ? m->work->type : "";
	const char *tx = m->work->transaction_id;
	struct spool_error err;
	struct order cur, next;
	struct order_cause c;
	enum cycle_result res;
	xmlNodePtr body;
	int64_t compensates, revision;
	int k, rc;
	bool changed;

	*skip = false;
	if (external && ((k = kind_of(type)) == -1 || k == K_CREATE ||
	    tx == NULL)) {
		*skip = true;
		return CYCLE_OK;
	}
	if ((k = kind_of(type)) == -1) {
		snprintf(reason, len, "the orders handler does not handle "
		    "message type %s (it takes PurchaseOrderCreate, "
		    "PurchaseOrderSubmit, PurchaseOrderAck, "
		    "PurchaseOrderAccept, PurchaseOrderDecline, "
		    "PurchaseOrderChange, "
		    "PurchaseOrderCancel, DeliveryNote and Invoice)", type);
		return CYCLE_PERMANENT;
	}
	if (tx == NULL) {
		snprintf(reason, len, "%s has no TransactionId: the orders "
		    "handler keeps one order per transaction", type);
		return CYCLE_PERMANENT;
	}
	if ((body = xb_body(m->msg->doc)) == NULL) {
		snprintf(reason, len, "%s has no Body", type);
		return CYCLE_PERMANENT;
	}
	spool_clearerr(&err);
	rc = order_load(s, m->work->partner, tx, &cur, &err);
	if (rc == -1) {
		snprintf(reason, len, "%s", err.msg);
		return CYCLE_TEMPORARY;
	}
	if (rc == 0 && external) {
		*skip = true;
		order_free(&cur);
		return CYCLE_OK;
	}
	if (check_allowed(&cur, tx, type, k, reason, len) == -1) {
		order_free(&cur);
		return CYCLE_PERMANENT;
	}
	if (copy_order(&cur, &next) == -1) {
		order_free(&next);
		order_free(&cur);
		snprintf(reason, len, "out of memory");
		return CYCLE_TEMPORARY;
	}
	if (transition(&cur, k, body, &next, &compensates, reason, len) ==
	    -1) {
		res = CYCLE_PERMANENT;
		goto out;
	}
	changed = next.state != cur.state || !same_lines(&cur, &next);
	if (m->stale && changed) {
		snprintf(reason, len, "conflict: stale %s refused: its "
		    "ReceiverSequence %" PRId64 " is lower than %" PRId64 ", "
		    "the last sequence number we sent in transaction %s, so it "
		    "was written without knowledge of our message (order %s "
		    "is %s)", type, m->work->receiver_seq, m->out_seq, tx,
		    cur.number, order_state_name(cur.state));
		res = CYCLE_PERMANENT;
		goto out;
	}
	memset(&c, 0, sizeof(c));
	c.type = type;
	c.message = m->work->id;
	c.compensates = compensates;
	c.pending = external;
	res = append(s, m, cur.revision, &next, &c, &revision, reason, len);
	if (res == CYCLE_OK && k == K_CREATE && route->auto_ack)
		res = auto_ack(s, r, m, &next, revision, reason, len);
out:
	order_free(&next);
	order_free(&cur);
	return res;
}

static enum cycle_result
orders_apply(struct store *s, const struct router *r,
    const struct conf_route *route, const struct cycle_msg *m, char *reason,
    size_t len)
{
	bool skip;

	return apply_msg(s, r, route, m, false, &skip, reason, len);
}

enum cycle_result
orders_external(struct store *s, const struct router *r,
    const struct conf_route *route, const struct cycle_msg *m, char *reason,
    size_t len)
{
	enum cycle_result res;
	bool skip;

	res = apply_msg(s, r, route, m, true, &skip, reason, len);
	return res == CYCLE_OK ? CYCLE_EXTERNAL : res;
}

int
orders_finish(struct store *s, const struct store_work *w, bool ok,
    struct spool_error *err)
{
	return order_decide_call(s, w->id, ok, err);
}

int
orders_outbound(void *arg, struct store *s, const struct store_work *w,
    const char *type, xmlNodePtr body, int64_t outbound_id, char *why,
    size_t len)
{
	struct spool_error err;
	struct order cur, next;
	struct order_cause c;
	int64_t compensates, revision, rev_id;
	int k, rc = -1;

	(void)arg;
	if ((k = kind_of(type)) == -1 || w->transaction_id == NULL)
		return 0;
	spool_clearerr(&err);
	if ((rc = order_load(s, w->partner, w->transaction_id, &cur, &err)) !=
	    1) {
		if (rc == -1)
			snprintf(why, len, "%s", err.msg);
		return rc == 0 ? 0 : -1;
	}
	rc = -1;
	if (check_allowed(&cur, w->transaction_id, type, k, why, len) == -1) {
		order_free(&cur);
		return -1;
	}
	if (copy_order(&cur, &next) == -1) {
		snprintf(why, len, "out of memory");
		goto out;
	}
	if (transition(&cur, k, body, &next, &compensates, why, len) == -1)
		goto out;
	memset(&c, 0, sizeof(c));
	c.type = type;
	c.message = w->id;
	c.outbound = outbound_id;
	c.compensates = compensates;
	if (order_append(s, w->partner, w->transaction_id, cur.revision,
	    &next, &c, &rev_id, &revision, &err) != 0) {
		snprintf(why, len, "%s", err.msg);
		goto out;
	}
	rc = 0;
out:
	order_free(&next);
	order_free(&cur);
	return rc;
}

const struct handler orders_handler = {
	.name = "orders",
	.apply = orders_apply,
};
