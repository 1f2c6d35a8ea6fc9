/*
 * test_orders.c - the orders handler and its revisions: every allowed and
 * forbidden transition of the purchase-order life cycle, over-delivery,
 * a cancel after acceptance as a compensating revision, the history after
 * every step, optimistic concurrency between two writers, pending and
 * invalid revisions, stale messages, auto_ack and the outbound file.
 *
 * Messages go through the real acceptance (with the source tree's
 * schemas), the real cycle and the real router on a temp spool.
 */
#include "config.h"

#include <fcntl.h>
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

#include "accept.h"
#include "conf.h"
#include "cycle.h"
#include "handler.h"
#include "order_store.h"
#include "outbound.h"
#include "schema.h"
#include "spooldir.h"
#include "store.h"
#include "store_outbound.h"

struct env {
	char			 root[64];
	struct conf		 conf;
	struct conf_route	 routes[3];
	char			 names[5][32];	/* the routes' strings */
	struct spooldir		 sd;
	struct store		 store;
	struct schema_set	*schemas;
	struct router		 router;
	int			 pdir;
};

static int
setup_with(void **state, bool auto_ack, bool exec_accept)
{
	struct spool_error err;
	struct env *e = calloc(1, sizeof(*e));
	char db[128];

	if (e == NULL)
		return -1;
	snprintf(e->root, sizeof(e->root), "/tmp/test_orders.XXXXXX");
	if (mkdtemp(e->root) == NULL)
		return -1;
	conf_defaults(&e->conf);
	e->conf.batch_size = 2000;
	e->conf.chunk_size = 16;
	e->conf.retry_jitter_pct = 0;
	snprintf(e->names[0], sizeof(e->names[0]), "PurchaseOrderCreate");
	snprintf(e->names[1], sizeof(e->names[1]), "orders");
	snprintf(e->names[2], sizeof(e->names[2]), "*");
	e->routes[0].type = e->names[0];
	e->routes[0].handler = e->names[1];
	e->routes[0].auto_ack = auto_ack;
	e->routes[1].type = e->names[2];
	e->routes[1].handler = e->names[1];
	e->conf.routes = e->routes;
	e->conf.nroutes = 2;
	if (exec_accept) {
		/* The ERP decides on acceptance: Accept goes to exec. */
		snprintf(e->names[3], sizeof(e->names[3]),
		    "PurchaseOrderAccept");
		snprintf(e->names[4], sizeof(e->names[4]), "exec");
		e->routes[2] = e->routes[1];
		e->routes[1].type = e->names[3];
		e->routes[1].handler = e->names[4];
		e->conf.nroutes = 3;
	}
	if (spooldir_init(e->root, &err) == -1 ||
	    spooldir_open(&e->sd, e->root, &err) == -1)
		return -1;
	snprintf(db, sizeof(db), "%s/spool.db", e->root);
	if (store_open_with(&e->store, db, STORE_CREATE, handler_components,
	    &err) == -1)
		return -1;
	if ((e->schemas = schema_set_load(SRCDIR "/schemas", &err)) == NULL) {
		fprintf(stderr, "schemas: %s\n", err.msg);
		return -1;
	}
	e->router.conf = &e->conf;
	e->router.schemas = e->schemas;
	if (mkdirat(e->sd.incoming_fd, "acme", 0755) == -1)
		return -1;
	e->pdir = openat(e->sd.incoming_fd, "acme", O_RDONLY | O_DIRECTORY);
	*state = e;
	return e->pdir == -1 ? -1 : 0;
}

static int
setup(void **state)
{
	return setup_with(state, false, false);
}

static int
setup_ack(void **state)
{
	return setup_with(state, true, false);
}

static int
setup_exec(void **state)
{
	return setup_with(state, false, true);
}

static int
teardown(void **state)
{
	struct env *e = *state;
	char cmd[128];

	close(e->pdir);
	store_close(&e->store);
	spooldir_close(&e->sd);
	schema_set_free(e->schemas);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->root);
	free(e);
	return system(cmd) == 0 ? 0 : -1;
}

/* Message kinds, with the bodies the tests use. */
enum { CREATE, ACK, ACCEPT, DECLINE, CHANGE, CANCEL, DELIVERY, INVOICE,
	FULL_DELIVERY, NKINDS };

static const char *types[NKINDS] = {
	"PurchaseOrderCreate", "PurchaseOrderAck", "PurchaseOrderAccept",
	"PurchaseOrderDecline", "PurchaseOrderChange", "PurchaseOrderCancel",
	"DeliveryNote", "Invoice", "DeliveryNote"
};

static const char *bodies[NKINDS] = {
	"<OrderNumber>PO-1</OrderNumber>"
	"<Line number=\"1\"><Item>SKU-A</Item><Quantity unit=\"PCE\">10"
	"</Quantity><Price>150</Price></Line>"
	"<Line number=\"2\"><Item>SKU-B</Item><Quantity>5</Quantity></Line>",
	"<OrderNumber>PO-1</OrderNumber>",
	"<OrderNumber>PO-1</OrderNumber>",
	"<OrderNumber>PO-1</OrderNumber>",
	"<OrderNumber>PO-1</OrderNumber>"
	"<Line number=\"1\"><Item>SKU-A</Item><Quantity>12</Quantity></Line>",
	"<OrderNumber>PO-1</OrderNumber>",
	"<DeliveryNumber>D-1</DeliveryNumber>"
	"<Line number=\"1\"><Item>SKU-A</Item><Quantity>4</Quantity></Line>",
	"<InvoiceNumber>I-1</InvoiceNumber><OrderNumber>PO-1</OrderNumber>"
	"<Line number=\"1\"><Item>SKU-A</Item><Quantity>10</Quantity>"
	"<Amount>1500</Amount></Line><Total>1500</Total>",
	"<DeliveryNumber>D-2</DeliveryNumber>"
	"<Line number=\"1\"><Item>SKU-A</Item><Quantity>10</Quantity></Line>"
	"<Line number=\"2\"><Item>SKU-B</Item><Quantity>5</Quantity></Line>",
};

/* Drop one message of transaction tx into incoming/acme and accept it. */
static void
drop(struct env *e, const char *tx, long seq, long rseq, const char *type,
    const char *body)
{
	struct accept_ctx ctx = { &e->conf, e->schemas, &e->store, &e->sd,
	    NULL, NULL };
	struct accept_file f;
	struct accept_stats st;
	struct spool_error err;
	char name[128], *buf;
	int fd, n;

	snprintf(name, sizeof(name), "m-%s-%ld-%d.xml", tx, seq, rand());
	n = asprintf(&buf, "<%s><Header><Sender>acme</Sender>"
	    "<Recipient>ERP</Recipient>"
	    "<TransactionId>%s</TransactionId><SenderSequence>%ld"
	    "</SenderSequence><ReceiverSequence>%ld</ReceiverSequence>"
	    "</Header><Body>%s</Body></%s>", type, tx, seq, rseq, body, type);
	assert_true(n > 0);
	fd = openat(e->pdir, name, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, (size_t)n), n);
	close(fd);
	free(buf);
	f.dirfd = e->pdir;
	f.partner = "acme";
	f.name = name;
	if (accept_files(&ctx, &f, 1, &st, &err) == -1)
		fail_msg("accept: %s", err.msg);
	if (st.rejected != 0)
		fail_msg("%s %s:%ld rejected", type, tx, seq);
}

static void
run(struct env *e)
{
	struct cycle_ctx ctx = { &e->conf, &e->store, &e->sd, handler_route,
	    &e->router, e->schemas, NULL, NULL, NULL, NULL };
	struct cycle_stats st;
	struct spool_error err;

	do {
		if (cycle_run(&ctx, &st, &err) == -1)
			fail_msg("cycle: %s", err.msg);
	} while (st.taken > 0);
}

/* One text column of the first row of sql with ?1 = a, ?2 = b (or ""). */
static void
q_text(struct env *e, const char *sql, const char *a, long b, char *out,
    size_t len)
{
	sqlite3_stmt *st;
	int rc;

	assert_int_equal(sqlite3_prepare_v2(e->store.db, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (a != NULL)
		sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, b);
	rc = sqlite3_step(st);
	assert_true(rc == SQLITE_ROW || rc == SQLITE_DONE);
	snprintf(out, len, "%s", rc == SQLITE_ROW &&
	    sqlite3_column_text(st, 0) != NULL ?
	    (const char *)sqlite3_column_text(st, 0) : "");
	sqlite3_finalize(st);
}

static long
q_int(struct env *e, const char *sql, const char *a, long b)
{
	char buf[64];

	q_text(e, sql, a, b, buf, sizeof(buf));
	return strtol(buf, NULL, 10);
}

static void
order_state(struct env *e, const char *tx, char *out, size_t len)
{
	q_text(e, "SELECT state FROM v_orders WHERE partner = 'acme' AND "
	    "transaction_id = ?1", tx, 0, out, len);
	if (out[0] == '\0')
		snprintf(out, len, "none");
}

static void
msg_state(struct env *e, const char *tx, long seq, char *out, size_t len)
{
	q_text(e, "SELECT state FROM messages WHERE partner = 'acme' AND "
	    "transaction_id = ?1 AND sender_seq = ?2 AND duplicate_of IS NULL",
	    tx, seq, out, len);
}

static void
msg_reason(struct env *e, const char *tx, long seq, char *out, size_t len)
{
	q_text(e, "SELECT reason FROM messages WHERE partner = 'acme' AND "
	    "transaction_id = ?1 AND sender_seq = ?2 AND duplicate_of IS NULL",
	    tx, seq, out, len);
}

static long
revisions(struct env *e, const char *tx)
{
	return q_int(e, "SELECT count(*) FROM v_order_history WHERE "
	    "partner = 'acme' AND transaction_id = ?1", tx, 0);
}

/* How each state is reached from nothing. */
enum { NSTATES = 9 };
static const char *state_names[NSTATES] = {
	"none", "open", "acknowledged", "accepted", "declined",
	"partially_delivered", "delivered", "invoiced", "cancelled"
};
static const int paths[NSTATES][6] = {
	{ -1 },
	{ CREATE, -1 },
	{ CREATE, ACK, -1 },
	{ CREATE, ACK, ACCEPT, -1 },
	{ CREATE, ACK, DECLINE, -1 },
	{ CREATE, ACK, ACCEPT, DELIVERY, -1 },
	{ CREATE, ACK, ACCEPT, FULL_DELIVERY, -1 },
	{ CREATE, ACK, ACCEPT, FULL_DELIVERY, INVOICE, -1 },
	{ CREATE, CANCEL, -1 },
};
/* The state after each kind (CREATE .. INVOICE) from each state; NULL:
 * the life cycle forbids it. */
#define X NULL
static const char *expect[NSTATES][8] = {
	/* none */ { "open", X, X, X, X, X, X, X },
	/* open */ { X, "acknowledged", X, X, "open", "cancelled", X, X },
	/* acknowledged */ { X, "acknowledged", "accepted", "declined",
	    "acknowledged", "cancelled", X, X },
	/* accepted */ { X, "accepted", X, X, "accepted", "cancelled",
	    "partially_delivered", X },
	/* declined */ { X, X, X, X, X, X, X, X },
	/* partially_delivered */ { X, "partially_delivered", X, X, X, X,
	    "partially_delivered", "invoiced" },
	/* delivered */ { X, "delivered", X, X, X, X, X, "invoiced" },
	/* invoiced */ { X, X, X, X, X, X, X, X },
	/* cancelled */ { X, X, X, X, X, X, X, X },
};
#undef X

static void
test_every_transition_allowed_or_refused_with_states_named(void **state)
{
	struct env *e = *state;
	char tx[64], got[1100], reason[1100];
	int s, k, i, n;
	long before;

	/* Bring one transaction per (state, kind) into the state. */
	for (s = 0; s < NSTATES; s++)
		for (k = 0; k < 8; k++) {
			snprintf(tx, sizeof(tx), "T-%d-%d", s, k);
			for (i = 0; paths[s][i] != -1; i++)
				drop(e, tx, i + 1, 0, types[paths[s][i]],
				    bodies[paths[s][i]]);
		}
	run(e);
	for (s = 0; s < NSTATES; s++)
		for (k = 0; k < 8; k++) {
			snprintf(tx, sizeof(tx), "T-%d-%d", s, k);
			order_state(e, tx, got, sizeof(got));
			if (strcmp(got, state_names[s]) != 0)
				fail_msg("%s: state %s, want %s", tx, got,
				    state_names[s]);
		}
	/* Then send each kind to its transaction. */
	for (s = 0; s < NSTATES; s++)
		for (k = 0; k < 8; k++) {
			snprintf(tx, sizeof(tx), "T-%d-%d", s, k);
			for (n = 0; paths[s][n] != -1; n++)
				;
			drop(e, tx, n + 1, 0, types[k], bodies[k]);
		}
	run(e);
	for (s = 0; s < NSTATES; s++)
		for (k = 0; k < 8; k++) {
			snprintf(tx, sizeof(tx), "T-%d-%d", s, k);
			for (n = 0; paths[s][n] != -1; n++)
				;
			before = n;
			msg_state(e, tx, n + 1, got, sizeof(got));
			if (expect[s][k] == NULL) {
				/* Refused: permanent, the state stays. */
				if (strcmp(got, "failed") != 0)
					fail_msg("%s from %s: message %s, want "
					    "failed", types[k], state_names[s],
					    got);
				msg_reason(e, tx, n + 1, reason,
				    sizeof(reason));
				if (strstr(reason, types[k]) == NULL ||
				    strstr(reason, state_names[s]) == NULL ||
				    strstr(reason, "allowed: ") == NULL)
					fail_msg("reason lacks message, state "
					    "or allowed messages: %s", reason);
				order_state(e, tx, got, sizeof(got));
				assert_string_equal(got, state_names[s]);
				assert_int_equal(revisions(e, tx), before);
			} else {
				if (strcmp(got, "done") != 0) {
					msg_reason(e, tx, n + 1, reason,
					    sizeof(reason));
					fail_msg("%s from %s: message %s (%s)",
					    types[k], state_names[s], got,
					    reason);
				}
				order_state(e, tx, got, sizeof(got));
				if (strcmp(got, expect[s][k]) != 0)
					fail_msg("%s from %s: state %s, want "
					    "%s", types[k], state_names[s], got,
					    expect[s][k]);
				assert_int_equal(revisions(e, tx), before + 1);
			}
		}
}

static void
test_submit_is_an_alias_of_create(void **state)
{
	struct env *e = *state;
	char got[64];

	drop(e, "S", 1, 0, "PurchaseOrderSubmit", bodies[CREATE]);
	run(e);
	order_state(e, "S", got, sizeof(got));
	assert_string_equal(got, "open");
}

static void
test_over_delivery_refused_and_nothing_delivered(void **state)
{
	struct env *e = *state;
	char got[1100];

	drop(e, "D", 1, 0, types[CREATE], bodies[CREATE]);
	drop(e, "D", 2, 0, types[ACK], bodies[ACK]);
	drop(e, "D", 3, 0, types[ACCEPT], bodies[ACCEPT]);
	drop(e, "D", 4, 0, "DeliveryNote", "<DeliveryNumber>D1"
	    "</DeliveryNumber><Line number=\"1\"><Item>SKU-A</Item>"
	    "<Quantity>7</Quantity></Line>");
	drop(e, "D", 5, 0, "DeliveryNote", "<DeliveryNumber>D2"
	    "</DeliveryNumber><Line number=\"2\"><Item>SKU-B</Item>"
	    "<Quantity>5</Quantity></Line><Line number=\"1\"><Item>SKU-A"
	    "</Item><Quantity>4</Quantity></Line>");
	run(e);
	msg_state(e, "D", 4, got, sizeof(got));
	assert_string_equal(got, "done");
	msg_state(e, "D", 5, got, sizeof(got));
	assert_string_equal(got, "failed");
	msg_reason(e, "D", 5, got, sizeof(got));
	assert_non_null(strstr(got, "over-delivery"));
	assert_non_null(strstr(got, "delivers 4 of SKU-A, but 7 of the 10"));
	order_state(e, "D", got, sizeof(got));
	assert_string_equal(got, "partially_delivered");
	/* Line 2 of the refused note was not half-applied. */
	assert_int_equal(q_int(e, "SELECT delivered FROM v_order_lines WHERE "
	    "transaction_id = ?1 AND line = 1", "D", 0), 7);
	assert_int_equal(q_int(e, "SELECT delivered FROM v_order_lines WHERE "
	    "transaction_id = ?1 AND line = 2", "D", 0), 0);

	/* A line the order does not have, or another item, is refused. */
	drop(e, "E", 1, 0, types[CREATE], bodies[CREATE]);
	drop(e, "E", 2, 0, types[ACK], bodies[ACK]);
	drop(e, "E", 3, 0, types[ACCEPT], bodies[ACCEPT]);
	drop(e, "E", 4, 0, "DeliveryNote", "<DeliveryNumber>D1"
	    "</DeliveryNumber><Line number=\"2\"><Item>SKU-A</Item>"
	    "<Quantity>1</Quantity></Line>");
	run(e);
	msg_reason(e, "E", 4, got, sizeof(got));
	assert_non_null(strstr(got, "delivers SKU-A, but line 2 of order "
	    "PO-1 is SKU-B"));
}

/* The valid history of tx as "state,state,..." in revision order. */
static void
history(struct env *e, const char *tx, char *out, size_t len)
{
	q_text(e, "SELECT group_concat(state || ':' || revision || ':' || "
	    "coalesce(compensates, '-'), ',') FROM (SELECT * FROM "
	    "v_order_history WHERE partner = 'acme' AND transaction_id = ?1 "
	    "ORDER BY revision)", tx, 0, out, len);
}

static void
test_cancel_after_acceptance_is_a_compensating_revision(void **state)
{
	struct env *e = *state;
	static const int steps[] = { CREATE, ACK, ACCEPT, CHANGE, CANCEL };
	static const char *want[] = {
		"open:1:-",
		"open:1:-,acknowledged:2:-",
		"open:1:-,acknowledged:2:-,accepted:3:-",
		"open:1:-,acknowledged:2:-,accepted:3:-,accepted:4:-",
		"open:1:-,acknowledged:2:-,accepted:3:-,accepted:4:-,"
		    "cancelled:5:4",
	};
	char got[512], err[256];
	size_t i;

	/* The history after every step holds every earlier revision. */
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		drop(e, "C", (long)i + 1, 0, types[steps[i]],
		    bodies[steps[i]]);
		run(e);
		history(e, "C", got, sizeof(got));
		assert_string_equal(got, want[i]);
	}
	/* The revision before the change still has both lines. */
	assert_int_equal(q_int(e, "SELECT count(*) FROM order_lines l JOIN "
	    "order_revisions r ON r.id = l.revision WHERE r.transaction_id = "
	    "?1 AND r.revision = 3", "C", 0), 2);
	assert_int_equal(q_int(e, "SELECT count(*) FROM v_order_lines WHERE "
	    "transaction_id = ?1", "C", 0), 1);
	/* Insert-only: the store refuses to rewrite or delete history. */
	{
		char *msg = NULL;

		assert_int_not_equal(sqlite3_exec(e->store.db, "DELETE FROM "
		    "order_revisions", NULL, NULL, &msg), SQLITE_OK);
		snprintf(err, sizeof(err), "%s", msg ? msg : "");
		sqlite3_free(msg);
		assert_non_null(strstr(err, "insert-only"));
		assert_int_not_equal(sqlite3_exec(e->store.db, "UPDATE "
		    "order_revisions SET state = 'open'", NULL, NULL, NULL),
		    SQLITE_OK);
		assert_int_not_equal(sqlite3_exec(e->store.db, "UPDATE "
		    "order_lines SET delivered = 0", NULL, NULL, NULL),
		    SQLITE_OK);
	}
	history(e, "C", got, sizeof(got));
	assert_string_equal(got, want[4]);
	/* A cancel before acceptance compensates nothing. */
	drop(e, "C2", 1, 0, types[CREATE], bodies[CREATE]);
	drop(e, "C2", 2, 0, types[CANCEL], bodies[CANCEL]);
	run(e);
	history(e, "C2", got, sizeof(got));
	assert_string_equal(got, "open:1:-,cancelled:2:-");
}

static void
test_two_writers_the_second_loses_the_race(void **state)
{
	struct env *e = *state;
	struct spool_error err;
	struct store a, b;
	struct order oa, ob;
	struct order_cause c = { "PurchaseOrderAck", 0, 0, 0, false };
	char db[128], got[256];
	int64_t rev_id, revision;

	drop(e, "R", 1, 0, types[CREATE], bodies[CREATE]);
	run(e);
	snprintf(db, sizeof(db), "%s/spool.db", e->root);
	assert_int_equal(store_open_with(&a, db, 0,
	    handler_components, &err), 0);
	assert_int_equal(store_open_with(&b, db, 0,
	    handler_components, &err), 0);
	/* Both read revision 1. */
	assert_int_equal(order_load(&a, "acme", "R", &oa, &err), 1);
	assert_int_equal(order_load(&b, "acme", "R", &ob, &err), 1);
	assert_int_equal(oa.revision, 1);
	assert_int_equal(ob.revision, 1);
	/* B writes first: acknowledged, revision 2. */
	ob.state = OS_ACKNOWLEDGED;
	assert_int_equal(store_begin(&b, &err), 0);
	assert_int_equal(order_append(&b, "acme", "R", ob.revision, &ob, &c,
	    &rev_id, &revision, &err), 0);
	assert_int_equal(revision, 2);
	assert_int_equal(store_commit(&b, &err), 0);
	/* A, still at revision 1, must not overwrite B's decision. */
	oa.state = OS_CANCELLED;
	c.type = "PurchaseOrderCancel";
	assert_int_equal(store_begin(&a, &err), 0);
	assert_int_equal(order_append(&a, "acme", "R", oa.revision, &oa, &c,
	    &rev_id, &revision, &err), ORDER_CONFLICT);
	assert_non_null(strstr(err.msg, "revision 2 is the latest valid one, "
	    "not 1"));
	store_rollback(&a);
	history(e, "R", got, sizeof(got));
	assert_string_equal(got, "open:1:-,acknowledged:2:-");
	/* Read again, and A may write. */
	order_free(&oa);
	assert_int_equal(order_load(&a, "acme", "R", &oa, &err), 1);
	assert_int_equal(oa.revision, 2);
	oa.state = OS_CANCELLED;
	assert_int_equal(store_begin(&a, &err), 0);
	assert_int_equal(order_append(&a, "acme", "R", oa.revision, &oa, &c,
	    &rev_id, &revision, &err), 0);
	assert_int_equal(store_commit(&a, &err), 0);
	history(e, "R", got, sizeof(got));
	assert_string_equal(got, "open:1:-,acknowledged:2:-,cancelled:3:-");
	order_free(&oa);
	order_free(&ob);
	store_close(&a);
	store_close(&b);
}

static void
test_pending_and_invalid_revisions_are_not_seen(void **state)
{
	struct env *e = *state;
	struct spool_error err;
	struct order o;
	struct order_cause c = { "PurchaseOrderAck", 0, 0, 0, true };
	char got[256];
	int64_t id1, id2, revision;

	drop(e, "P", 1, 0, types[CREATE], bodies[CREATE]);
	run(e);
	assert_int_equal(order_load(&e->store, "acme", "P", &o, &err), 1);
	o.state = OS_ACKNOWLEDGED;
	assert_int_equal(store_begin(&e->store, &err), 0);
	assert_int_equal(order_append(&e->store, "acme", "P", 1, &o, &c, &id1,
	    &revision, &err), 0);
	assert_int_equal(store_commit(&e->store, &err), 0);
	/* Pending: readers still see revision 1. */
	order_state(e, "P", got, sizeof(got));
	assert_string_equal(got, "open");
	order_free(&o);
	assert_int_equal(order_load(&e->store, "acme", "P", &o, &err), 1);
	assert_int_equal(o.revision, 1);
	/* Valid: now it is seen. */
	assert_int_equal(order_decide(&e->store, id1, true, &err), 0);
	order_state(e, "P", got, sizeof(got));
	assert_string_equal(got, "acknowledged");
	/* Decided once only. */
	assert_int_equal(order_decide(&e->store, id1, false, &err), -1);
	/* Another pending one turns invalid: never seen, number kept. */
	order_free(&o);
	assert_int_equal(order_load(&e->store, "acme", "P", &o, &err), 1);
	o.state = OS_CANCELLED;
	assert_int_equal(store_begin(&e->store, &err), 0);
	assert_int_equal(order_append(&e->store, "acme", "P", 2, &o, &c, &id2,
	    &revision, &err), 0);
	assert_int_equal(revision, 3);
	assert_int_equal(store_commit(&e->store, &err), 0);
	assert_int_equal(order_decide(&e->store, id2, false, &err), 0);
	order_state(e, "P", got, sizeof(got));
	assert_string_equal(got, "acknowledged");
	history(e, "P", got, sizeof(got));
	assert_string_equal(got, "open:1:-,acknowledged:2:-");
	order_free(&o);
	/* The next message gets revision 4, after the invalid 3. */
	drop(e, "P", 2, 0, types[ACCEPT], bodies[ACCEPT]);
	run(e);
	history(e, "P", got, sizeof(got));
	assert_string_equal(got, "open:1:-,acknowledged:2:-,accepted:4:-");
}

static void
test_auto_ack_outbound_recorded_numbered_and_written(void **state)
{
	struct env *e = *state;
	char got[4096], path[4700];
	FILE *f;
	size_t n;

	drop(e, "A1", 1, 0, types[CREATE], bodies[CREATE]);
	drop(e, "A2", 1, 0, types[CREATE], bodies[CREATE]);
	run(e);
	order_state(e, "A1", got, sizeof(got));
	assert_string_equal(got, "acknowledged");
	history(e, "A1", got, sizeof(got));
	assert_string_equal(got, "open:1:-,acknowledged:2:-");
	/* One Ack per transaction, each our SenderSequence 1, echoing 1. */
	assert_int_equal(q_int(e, "SELECT count(*) FROM outbound WHERE "
	    "written_at IS NOT NULL AND type = 'PurchaseOrderAck' AND "
	    "sender_seq = 1 AND receiver_seq = 1", NULL, 0), 2);
	assert_int_equal(q_int(e, "SELECT out_seq FROM transactions WHERE "
	    "transaction_id = ?1", "A1", 0), 1);
	/* The revision names the outbound message and the cause. */
	assert_int_equal(q_int(e, "SELECT count(*) FROM v_order_history h "
	    "JOIN outbound o ON o.id = h.outbound WHERE h.transaction_id = "
	    "?1 AND h.revision = 2 AND o.cause = h.message", "A1", 0), 1);
	/* The file is in outgoing/acme/, complete, with no temp file. */
	q_text(e, "SELECT file_name FROM outbound WHERE transaction_id = ?1",
	    "A1", 0, got, sizeof(got));
	snprintf(path, sizeof(path), "%s/outgoing/acme/%s", e->root, got);
	assert_non_null(f = fopen(path, "r"));
	n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = '\0';
	fclose(f);
	assert_non_null(strstr(got, "<PurchaseOrderAck>"));
	assert_non_null(strstr(got, "<Sender>ERP</Sender>"));
	assert_non_null(strstr(got, "<Recipient>acme</Recipient>"));
	assert_non_null(strstr(got, "<TransactionId>A1</TransactionId>"));
	assert_non_null(strstr(got, "<SenderSequence>1</SenderSequence>"));
	assert_non_null(strstr(got, "<ReceiverSequence>1</ReceiverSequence>"));
	assert_non_null(strstr(got, "<OrderNumber>PO-1</OrderNumber>"));
	snprintf(path, sizeof(path), "ls -a '%s/outgoing/acme' | grep -c "
	    "'^\\.[^.]'", e->root);
	assert_non_null(f = popen(path, "r"));
	assert_int_equal(fscanf(f, "%zu", &n), 1);
	pclose(f);
	assert_int_equal(n, 0);
}

static void
test_stale_cancel_refused_stale_informational_accepted(void **state)
{
	struct env *e = *state;
	char got[1100];

	/* Create (ReceiverSequence 0): we answer with our number 1. */
	drop(e, "ST", 1, 0, types[CREATE], bodies[CREATE]);
	run(e);
	order_state(e, "ST", got, sizeof(got));
	assert_string_equal(got, "acknowledged");
	assert_int_equal(q_int(e, "SELECT stale FROM messages WHERE "
	    "transaction_id = ?1 AND sender_seq = 1", "ST", 0), 0);
	/* An Ack that has not seen ours changes nothing: accepted. */
	drop(e, "ST", 2, 0, types[ACK], bodies[ACK]);
	run(e);
	msg_state(e, "ST", 2, got, sizeof(got));
	assert_string_equal(got, "done");
	assert_int_equal(q_int(e, "SELECT stale FROM messages WHERE "
	    "transaction_id = ?1 AND sender_seq = 2", "ST", 0), 1);
	/* A Cancel that has not seen it is a conflict. */
	drop(e, "ST", 3, 0, types[CANCEL], bodies[CANCEL]);
	run(e);
	msg_state(e, "ST", 3, got, sizeof(got));
	assert_string_equal(got, "failed");
	assert_int_equal(q_int(e, "SELECT stale FROM messages WHERE "
	    "transaction_id = ?1 AND sender_seq = 3", "ST", 0), 1);
	msg_reason(e, "ST", 3, got, sizeof(got));
	assert_non_null(strstr(got, "conflict"));
	assert_non_null(strstr(got, "ReceiverSequence 0 is lower than 1"));
	order_state(e, "ST", got, sizeof(got));
	assert_string_equal(got, "acknowledged");
	/* One that has seen it is not stale and is applied. */
	drop(e, "ST2", 1, 0, types[CREATE], bodies[CREATE]);
	drop(e, "ST2", 2, 1, types[CANCEL], bodies[CANCEL]);
	run(e);
	order_state(e, "ST2", got, sizeof(got));
	assert_string_equal(got, "cancelled");
	assert_int_equal(q_int(e, "SELECT stale FROM messages WHERE "
	    "transaction_id = ?1 AND sender_seq = 2", "ST2", 0), 0);
}

static void
test_unwritten_outbound_written_once_by_flush(void **state)
{
	struct env *e = *state;
	struct spool_error err;
	char name[512], path[700], tmp[700], cmd[800];
	struct stat st1, st2;
	unsigned n;
	FILE *f;
	int fd;

	drop(e, "F", 1, 0, types[CREATE], bodies[CREATE]);
	run(e);
	q_text(e, "SELECT file_name FROM outbound WHERE transaction_id = ?1",
	    "F", 0, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/outgoing/acme/%s", e->root, name);
	snprintf(tmp, sizeof(tmp), "%s/outgoing/acme/.%s.tmp", e->root, name);
	/* As if a crash came after COMMIT, in the middle of the write. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(sqlite3_exec(e->store.db, "UPDATE outbound SET "
	    "written_at = NULL", NULL, NULL, NULL), SQLITE_OK);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "<Purch", 6), 6);
	close(fd);
	assert_int_equal(outbound_flush(&e->sd, &e->store, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(st1.st_size, q_int(e, "SELECT length(content) FROM "
	    "outbound WHERE transaction_id = ?1", "F", 0));
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(q_int(e, "SELECT count(*) FROM outbound WHERE "
	    "written_at IS NULL", NULL, 0), 0);
	/* Nothing left to write: a second flush writes nothing. */
	assert_int_equal(outbound_flush(&e->sd, &e->store, &n, &err), 0);
	assert_int_equal(n, 0);
	/* Renamed but not marked: only marked, the file is not rewritten. */
	assert_int_equal(sqlite3_exec(e->store.db, "UPDATE outbound SET "
	    "written_at = NULL", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(outbound_flush(&e->sd, &e->store, &n, &err), 0);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	snprintf(cmd, sizeof(cmd), "ls -a '%s/outgoing/acme' | grep -vc "
	    "'^\\.\\.\\?$'", e->root);
	assert_non_null(f = popen(cmd, "r"));
	assert_int_equal(fscanf(f, "%u", &n), 1);
	pclose(f);
	assert_int_equal(n, 1);
}

static void
test_outbound_that_does_not_validate_is_refused(void **state)
{
	struct env *e = *state;
	struct outbound_req r;
	struct spool_error err;
	int64_t id, seq;

	drop(e, "V", 1, 0, types[CREATE], bodies[CREATE]);
	run(e);
	memset(&r, 0, sizeof(r));
	r.partner = "acme";
	r.transaction_id = "V";
	r.receiver_seq = 1;
	r.type = "PurchaseOrderAck";
	r.sender = "ERP";
	r.body = "<Nonsense/>";
	assert_int_equal(store_begin(&e->store, &err), 0);
	assert_int_equal(outbound_emit(&e->store, e->schemas, &r, &id, &seq,
	    &err), -1);
	assert_non_null(strstr(err.msg, "does not validate"));
	store_rollback(&e->store);
}

static void
test_outbound_file_split_into_messages_and_stamped(void **state)
{
	struct env *e = *state;
	struct outbound_req r;
	struct spool_error err;
	unsigned n;
	char got[64];
	static const char two[] =
	    "<?xml version=\"1.0\"?>\n<!-- a comment with > and </x> -->\n"
	    "<PurchaseOrderAck note='a>b'><Header><Sender>E</Sender>"
	    "<SenderSequence>99</SenderSequence></Header><Body><OrderNumber>"
	    "<![CDATA[A<B>]]></OrderNumber></Body></PurchaseOrderAck>\n"
	    "<?xml version=\"1.0\"?><PurchaseOrderAck><Header/><Body>"
	    "<OrderNumber>C</OrderNumber></Body></PurchaseOrderAck>\n";
	static const char cut[] = "<PurchaseOrderAck><Header/><Body>";
	static const char dtd[] = "<!DOCTYPE x [<!ENTITY a \"b\">]>"
	    "<PurchaseOrderAck><Header/><Body><OrderNumber>&a;</OrderNumber>"
	    "</Body></PurchaseOrderAck>";

	drop(e, "X", 1, 0, "PurchaseOrderCreate", bodies[CREATE]);
	run(e);
	memset(&r, 0, sizeof(r));
	r.partner = "acme";
	r.transaction_id = "X";
	r.receiver_seq = 1;
	assert_int_equal(store_begin(&e->store, &err), 0);
	assert_int_equal(outbound_emit_file(&e->store, e->schemas, &r, "ERP",
	    two, sizeof(two) - 1, NULL, NULL, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(outbound_emit_file(&e->store, e->schemas, &r, "ERP",
	    cut, sizeof(cut) - 1, NULL, NULL, &n, &err), -1);
	assert_int_equal(outbound_emit_file(&e->store, e->schemas, &r, "ERP",
	    dtd, sizeof(dtd) - 1, NULL, NULL, &n, &err), -1);
	assert_int_equal(store_commit(&e->store, &err), 0);
	/* After the auto Ack (1): 2 and 3, answering 1. */
	q_text(e, "SELECT group_concat(sender_seq || ':' || receiver_seq, ' ') "
	    "FROM (SELECT * FROM outbound WHERE transaction_id = ?1 ORDER BY "
	    "id)", "X", 0, got, sizeof(got));
	assert_string_equal(got, "1:1 2:1 3:1");
	assert_int_equal(q_int(e, "SELECT count(*) FROM outbound WHERE "
	    "instr(content, '<![CDATA[A<B>]]>') > 0 AND "
	    "instr(content, '<Sender>E</Sender>') > 0", NULL, 0), 1);
	assert_int_equal(q_int(e, "SELECT count(*) FROM outbound WHERE "
	    "instr(content, '<Sender>ERP</Sender>') > 0 AND instr(content, "
	    "'<Recipient>acme</Recipient>') > 0", NULL, 0), 2);
}

/* The exec call's end, as spoold's runner reports it. */
static void
complete(struct env *e, const char *tx, long seq, enum cycle_result r)
{
	struct cycle_ctx ctx = { &e->conf, &e->store, &e->sd, handler_route,
	    &e->router, e->schemas, &handler_external, NULL, NULL, NULL };
	struct spool_error err;
	long id;

	id = q_int(e, "SELECT id FROM messages WHERE transaction_id = ?1 AND "
	    "sender_seq = ?2", tx, seq);
	if (cycle_complete(&ctx, id, 1, r, r == CYCLE_OK ? 0 : 75,
	    r == CYCLE_OK ? NULL : "ERP busy", NULL, 0, &err) == -1)
		fail_msg("complete: %s", err.msg);
}

static void
test_exec_decision_pending_then_valid_or_invalid(void **state)
{
	struct env *e = *state;
	char got[1100];

	/* The ERP says yes: pending while it runs, then valid. */
	drop(e, "Y", 1, 0, types[CREATE], bodies[CREATE]);
	drop(e, "Y", 2, 0, types[ACK], bodies[ACK]);
	drop(e, "Y", 3, 0, types[ACCEPT], bodies[ACCEPT]);
	/* The ERP says not now: invalid, and the order stays. */
	drop(e, "N", 1, 0, types[CREATE], bodies[CREATE]);
	drop(e, "N", 2, 0, types[ACK], bodies[ACK]);
	drop(e, "N", 3, 0, types[ACCEPT], bodies[ACCEPT]);
	/* Not allowed by the life cycle: fails, the ERP is never asked. */
	drop(e, "F", 1, 0, types[CREATE], bodies[CREATE]);
	drop(e, "F", 2, 0, types[ACCEPT], bodies[ACCEPT]);
	run(e);
	assert_int_equal(q_int(e, "SELECT count(*) FROM exec_calls WHERE "
	    "status = 'pending'", NULL, 0), 2);
	assert_int_equal(q_int(e, "SELECT count(*) FROM order_revisions WHERE "
	    "validity = 'pending' AND state = 'accepted'", NULL, 0), 2);
	order_state(e, "Y", got, sizeof(got));
	assert_string_equal(got, "acknowledged");
	history(e, "Y", got, sizeof(got));
	assert_string_equal(got, "open:1:-,acknowledged:2:-");
	msg_state(e, "F", 2, got, sizeof(got));
	assert_string_equal(got, "failed");
	msg_reason(e, "F", 2, got, sizeof(got));
	assert_non_null(strstr(got, "PurchaseOrderAccept is not allowed for "
	    "order PO-1 in state open"));

	complete(e, "Y", 3, CYCLE_OK);
	order_state(e, "Y", got, sizeof(got));
	assert_string_equal(got, "accepted");
	history(e, "Y", got, sizeof(got));
	assert_string_equal(got, "open:1:-,acknowledged:2:-,accepted:3:-");

	complete(e, "N", 3, CYCLE_TEMPORARY);
	order_state(e, "N", got, sizeof(got));
	assert_string_equal(got, "acknowledged");
	assert_int_equal(q_int(e, "SELECT count(*) FROM order_revisions WHERE "
	    "transaction_id = ?1 AND validity = 'invalid'", "N", 0), 1);
	msg_state(e, "N", 3, got, sizeof(got));
	assert_string_equal(got, "deferred");

	/* Another writer made a newer valid revision while the ERP was
	 * asked: the pending one lost the race and is invalid. */
	{
		struct spool_error err;
		struct order o;
		struct order_cause c = { "PurchaseOrderCancel", 0, 0, 0,
		    false };
		int64_t rev_id, revision;

		drop(e, "Z", 1, 0, types[CREATE], bodies[CREATE]);
		drop(e, "Z", 2, 0, types[ACK], bodies[ACK]);
		drop(e, "Z", 3, 0, types[ACCEPT], bodies[ACCEPT]);
		run(e);
		assert_int_equal(order_load(&e->store, "acme", "Z", &o, &err),
		    1);
		o.state = OS_CANCELLED;
		assert_int_equal(store_begin(&e->store, &err), 0);
		assert_int_equal(order_append(&e->store, "acme", "Z",
		    o.revision, &o, &c, &rev_id, &revision, &err), 0);
		assert_int_equal(revision, 4);
		assert_int_equal(store_commit(&e->store, &err), 0);
		order_free(&o);
		complete(e, "Z", 3, CYCLE_OK);
		history(e, "Z", got, sizeof(got));
		assert_string_equal(got, "open:1:-,acknowledged:2:-,"
		    "cancelled:4:-");
		assert_int_equal(q_int(e, "SELECT count(*) FROM "
		    "order_revisions WHERE transaction_id = ?1 AND "
		    "revision = 3 AND validity = 'invalid'", "Z", 0), 1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_every_transition_allowed_or_refused_with_states_named,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_submit_is_an_alias_of_create, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_over_delivery_refused_and_nothing_delivered, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_cancel_after_acceptance_is_a_compensating_revision,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_two_writers_the_second_loses_the_race, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_pending_and_invalid_revisions_are_not_seen, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_auto_ack_outbound_recorded_numbered_and_written,
		    setup_ack, teardown),
		cmocka_unit_test_setup_teardown(
		    test_stale_cancel_refused_stale_informational_accepted,
		    setup_ack, teardown),
		cmocka_unit_test_setup_teardown(
		    test_unwritten_outbound_written_once_by_flush, setup_ack,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_outbound_that_does_not_validate_is_refused, setup_ack,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_outbound_file_split_into_messages_and_stamped,
		    setup_ack, teardown),
		cmocka_unit_test_setup_teardown(
		    test_exec_decision_pending_then_valid_or_invalid,
		    setup_exec, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
