/*
 * test_sequencer.c - the ordering rules of DESIGN 16 over a real store:
 * interchange control numbers per (partner, sender, recipient) (ready,
 * parked, duplicate, refused, first_control and auto, several messages
 * under one number, tombstones after a purge, release in order) and
 * order = after.
 */
#include "config.h"

#include <setjmp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sequencer.h"
#include "spooldir.h"
#include "store.h"
#include "store_cycle.h"
#include "store_order.h"

struct fx {
	char		dir[64], db[96];
	struct store	s;
};

static int
setup(void **state)
{
	struct fx *fx;
	struct spool_error err;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_sequencer.XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->db, sizeof(fx->db), "%s/spool.db", fx->dir);
	if (store_open(&fx->s, fx->db, STORE_CREATE, &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	if (store_exec(&fx->s, "INSERT INTO batches (id, partner, orig_name, "
	    "file_name, state, received_at) VALUES (1, 'acme', 'a', 'a', "
	    "'done', 1), (2, 'acme', 'b', 'b', 'done', 1), (3, 'acme', 'c', "
	    "'c', 'done', 1), (4, 'acme', 'd', 'd', 'done', 1)", &err) == -1)
		return -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[128];
	int rc;

	store_close(&fx->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	rc = system(cmd) == 0 ? 0 : -1;
	free(fx);
	return rc;
}

static int64_t
query_int(struct store *s, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(sqlite3_prepare_v2(s->db, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* An X12 850 of interchange n from ZZ:ACME: its header and digest. */
static char t850[] = "x12.850", tinv[] = "ubl.Invoice", acme[] = "ZZ:ACME",
    us[] = "ZZ:US", gln[] = "GLN:1", minv1[] = "INV-1", inv3[] = "INV-3",
    inv4[] = "INV-4";

static void
hdr(struct msg_header *h, int64_t n, int ref, char *mid, size_t len)
{
	memset(h, 0, sizeof(*h));
	snprintf(mid, len, "ACME/%" PRId64 "/%" PRId64 "/%04d", n, n, ref);
	h->type = t850;
	h->sender = acme;
	h->recipient = us;
	h->message_id = mid;
	h->has_control = true;
	h->control = n;
}

static void
digest(uint8_t *sha, int64_t n, int ref, int variant)
{
	memset(sha, 0, 32);
	sha[0] = (uint8_t)n;
	sha[1] = (uint8_t)ref;
	sha[2] = (uint8_t)variant;
}

/* Classify and record the way accept.c does; returns the verdict. */
static enum seq_verdict
take(struct fx *fx, const struct seq_mode *mode, int64_t n, int ref,
    int variant, int64_t *id, char *reason, size_t rlen)
{
	struct msg_header h;
	struct store_newmsg m;
	struct seq_result r;
	struct spool_error err;
	uint8_t sha[32];
	char mid[64], name[64];
	static int files;

	hdr(&h, n, ref, mid, sizeof(mid));
	digest(sha, n, ref, variant);
	assert_int_equal(seq_classify_mode(&fx->s, "acme", &h, sha, mode, &r,
	    &err), 0);
	memset(&m, 0, sizeof(m));
	snprintf(name, sizeof(name), "f%d", ++files);
	m.partner = "acme";
	m.orig_name = name;
	m.file_name = name;
	m.type = h.type;
	m.message_id = h.message_id;
	m.sender = h.sender;
	m.sha256 = sha;
	m.batch = mode->batch;
	switch (r.verdict) {
	case SEQ_READY:
		m.state = ST_QUEUE;
		break;
	case SEQ_PARKED:
		m.state = ST_PARKED;
		m.reason = r.reason;
		break;
	case SEQ_DUPLICATE:
		m.state = ST_DONE;
		m.duplicate_of = r.duplicate_of;
		if (r.purged) {
			/* As accept.c: a duplicate of a purged message
			 * names itself. */
			m.id = 1000 + files;
			m.duplicate_of = m.id;
		}
		break;
	case SEQ_CONFLICT:
		m.state = ST_REJECTED;
		m.reason = r.reason;
		break;
	}
	assert_int_equal(store_insert(&fx->s, &m, id, &err), 0);
	if (r.pair[0] != '\0')
		assert_int_equal(store_order_set(&fx->s, *id, r.pair,
		    r.control, NULL, &err), 0);
	if (r.pair[0] != '\0' && r.verdict == SEQ_PARKED)
		assert_int_equal(store_tx_note_gap(&fx->s, "acme", r.pair,
		    &err), 0);
	if (reason != NULL)
		snprintf(reason, rlen, "%s", r.reason);
	return r.verdict;
}

/* Message id done: the released one's ID, or 0. */
static int64_t
done(struct fx *fx, int64_t id)
{
	struct store_work w;
	struct spool_error err;
	int64_t rid = 0;
	int rc;

	assert_int_equal(store_mark_done(&fx->s, id, &err), 0);
	rc = seq_release_msg(&fx->s, "acme", id, &w, &err);
	assert_int_not_equal(rc, -1);
	if (rc == 1) {
		rid = w.id;
		assert_int_equal(store_mark_queued(&fx->s, w.id, &err), 0);
		store_work_free(&w);
	}
	return rid;
}

#define PAIR	"interchange ZZ:ACME ZZ:US"

static void
test_interchange_numbers_in_order(void **state)
{
	struct fx *fx = *state;
	struct seq_mode mode;
	char reason[SPOOL_ERRLEN];
	int64_t id3, id1, id2, id1b, x;

	memset(&mode, 0, sizeof(mode));
	mode.order = CONF_ORDER_INTERCHANGE;
	mode.first_control = 1;
	/* 3 first: parked, saying it waits for 1. */
	mode.batch = 1;
	assert_int_equal(take(fx, &mode, 3, 1, 0, &id3, reason,
	    sizeof(reason)), SEQ_PARKED);
	assert_non_null(strstr(reason, "waits for interchange control number "
	    "1"));
	assert_int_equal(query_int(&fx->s, "SELECT next_seq FROM transactions "
	    "WHERE transaction_id = '" PAIR "'"), 1);
	/* 1, with two messages in its file: both ready. */
	mode.batch = 2;
	assert_int_equal(take(fx, &mode, 1, 1, 0, &id1, NULL, 0), SEQ_READY);
	assert_int_equal(take(fx, &mode, 1, 2, 0, &id1b, NULL, 0), SEQ_READY);
	/* The same message twice in that file: a copy, not a second row. */
	assert_int_equal(take(fx, &mode, 1, 2, 0, &x, NULL, 0),
	    SEQ_DUPLICATE);
	/* 1 again, the same: a duplicate; changed: refused. */
	mode.batch = 3;
	assert_int_equal(take(fx, &mode, 1, 1, 0, &x, NULL, 0),
	    SEQ_DUPLICATE);
	assert_int_equal(take(fx, &mode, 1, 2, 1, &x, reason, sizeof(reason)),
	    SEQ_CONFLICT);
	assert_non_null(strstr(reason, "reused with different content"));
	/* One of 1's messages done: the number stays until both are. */
	assert_int_equal(done(fx, id1), 0);
	assert_int_equal(query_int(&fx->s, "SELECT next_seq FROM transactions "
	    "WHERE transaction_id = '" PAIR "'"), 1);
	assert_int_equal(done(fx, id1b), 0);
	assert_int_equal(query_int(&fx->s, "SELECT next_seq FROM transactions "
	    "WHERE transaction_id = '" PAIR "'"), 2);
	/* 2 missing, 3 parked: a gap is open. */
	assert_int_equal(query_int(&fx->s, "SELECT gap_since IS NOT NULL FROM "
	    "transactions WHERE transaction_id = '" PAIR "'"), 1);
	/* 2 arrives: ready; done, it releases 3 and closes the gap. */
	mode.batch = 4;
	assert_int_equal(take(fx, &mode, 2, 1, 0, &id2, NULL, 0), SEQ_READY);
	assert_int_equal(done(fx, id2), id3);
	assert_int_equal(query_int(&fx->s, "SELECT gap_since IS NULL FROM "
	    "transactions WHERE transaction_id = '" PAIR "'"), 1);
	assert_int_equal(done(fx, id3), 0);
	assert_int_equal(query_int(&fx->s, "SELECT next_seq FROM transactions "
	    "WHERE transaction_id = '" PAIR "'"), 4);
	/* Below next, never seen: refused. */
	mode.batch = 0;
	assert_int_equal(query_int(&fx->s, "SELECT count(*) FROM messages "
	    "WHERE ic_control = 0"), 0);
	assert_int_equal(take(fx, &mode, 0, 1, 0, &x, reason, sizeof(reason)),
	    SEQ_CONFLICT);
	assert_non_null(strstr(reason, "below the next expected"));
}

static void
test_parked_interchange_goes_message_by_message(void **state)
{
	struct fx *fx = *state;
	struct seq_mode mode;
	int64_t a, b, one;

	memset(&mode, 0, sizeof(mode));
	mode.order = CONF_ORDER_INTERCHANGE;
	mode.first_control = 1;
	mode.batch = 1;
	/* 2 with two messages, parked together. */
	assert_int_equal(take(fx, &mode, 2, 1, 0, &a, NULL, 0), SEQ_PARKED);
	assert_int_equal(take(fx, &mode, 2, 2, 0, &b, NULL, 0), SEQ_PARKED);
	mode.batch = 2;
	assert_int_equal(take(fx, &mode, 1, 1, 0, &one, NULL, 0), SEQ_READY);
	/* 1 done releases 2's first; that one done, 2's second. */
	assert_int_equal(done(fx, one), a);
	assert_int_equal(done(fx, a), b);
	assert_int_equal(done(fx, b), 0);
	assert_int_equal(query_int(&fx->s, "SELECT next_seq FROM transactions "
	    "WHERE transaction_id = '" PAIR "'"), 3);
}

static void
test_first_control_auto_and_tombstones(void **state)
{
	struct fx *fx = *state;
	struct spool_error err;
	struct seq_mode mode;
	char reason[SPOOL_ERRLEN];
	int64_t id, x;

	memset(&mode, 0, sizeof(mode));
	mode.order = CONF_ORDER_INTERCHANGE;
	/* auto: the first number a pair sends is expected. */
	mode.batch = 1;
	assert_int_equal(take(fx, &mode, 7, 1, 0, &id, NULL, 0), SEQ_READY);
	assert_int_equal(done(fx, id), 0);
	/* Purged, its tombstone kept: a copy is still a duplicate, a changed
	 * copy still refused. */
	assert_int_equal(store_exec(&fx->s, "INSERT INTO tombstones (partner, "
	    "message_id, sha256, type, fate, purged_at) SELECT partner, "
	    "message_id, sha256, type, 'done', 1 FROM messages WHERE "
	    "ic_control = 7; DELETE FROM messages WHERE ic_control = 7",
	    &err), 0);
	mode.batch = 2;
	assert_int_equal(take(fx, &mode, 7, 1, 0, &x, NULL, 0), SEQ_DUPLICATE);
	mode.batch = 3;
	assert_int_equal(take(fx, &mode, 7, 1, 1, &x, reason, sizeof(reason)),
	    SEQ_CONFLICT);
	assert_non_null(strstr(reason, "purged since"));
}

static void
test_after_waits_for_its_order(void **state)
{
	struct fx *fx = *state;
	struct spool_error err;
	struct msg_header h;
	struct seq_result r;
	struct seq_mode mode;
	struct store_newmsg m;
	uint8_t sha[32];
	int64_t inv1, inv2, ord;

	memset(&mode, 0, sizeof(mode));
	mode.order = CONF_ORDER_AFTER;
	mode.after = "ubl.Order";
	mode.reference = "PO-1";
	memset(&h, 0, sizeof(h));
	h.type = tinv;
	h.sender = gln;
	h.message_id = minv1;
	digest(sha, 1, 1, 0);
	assert_int_equal(seq_classify_mode(&fx->s, "acme", &h, sha, &mode, &r,
	    &err), 0);
	assert_int_equal(r.verdict, SEQ_PARKED);
	assert_string_equal(r.after, "ubl.Order");
	assert_non_null(strstr(r.reason, "waits for ubl.Order of transaction "
	    "PO-1"));
	memset(&m, 0, sizeof(m));
	m.partner = "acme";
	m.orig_name = m.file_name = "i1";
	m.type = "ubl.Invoice";
	m.message_id = "INV-1";
	m.reference = "PO-1";
	m.sha256 = sha;
	m.state = ST_PARKED;
	assert_int_equal(store_insert(&fx->s, &m, &inv1, &err), 0);
	assert_int_equal(store_order_set(&fx->s, inv1, NULL, 0, r.after,
	    &err), 0);
	m.orig_name = m.file_name = "i2";
	m.message_id = "INV-2";
	digest(sha, 1, 2, 0);
	assert_int_equal(store_insert(&fx->s, &m, &inv2, &err), 0);
	assert_int_equal(store_order_set(&fx->s, inv2, NULL, 0, r.after,
	    &err), 0);
	/* Without a reference there is nothing to wait for. */
	mode.reference = NULL;
	h.message_id = inv3;
	digest(sha, 1, 3, 0);
	assert_int_equal(seq_classify_mode(&fx->s, "acme", &h, sha, &mode, &r,
	    &err), 0);
	assert_int_equal(r.verdict, SEQ_READY);
	/* The Order done releases the first Invoice, that one the next. */
	m.orig_name = m.file_name = "o";
	m.type = "ubl.Order";
	m.message_id = "PO-1";
	digest(sha, 2, 1, 0);
	m.state = ST_QUEUE;
	assert_int_equal(store_insert(&fx->s, &m, &ord, &err), 0);
	assert_int_equal(done(fx, ord), inv1);
	assert_int_equal(done(fx, inv1), inv2);
	assert_int_equal(done(fx, inv2), 0);
	/* Once the Order is done, a new Invoice is ready at once. */
	mode.reference = "PO-1";
	h.message_id = inv4;
	digest(sha, 1, 4, 0);
	assert_int_equal(seq_classify_mode(&fx->s, "acme", &h, sha, &mode, &r,
	    &err), 0);
	assert_int_equal(r.verdict, SEQ_READY);
}

/* A transaction's message n, recorded in state st. */
static int64_t
tx_msg(struct fx *fx, int64_t n, int st)
{
	struct store_newmsg m;
	struct spool_error err;
	uint8_t sha[32];
	char name[32];
	int64_t id;

	digest(sha, n, 9, 0);
	snprintf(name, sizeof(name), "t%" PRId64, n);
	memset(&m, 0, sizeof(m));
	m.partner = "acme";
	m.orig_name = m.file_name = name;
	m.type = "T";
	m.transaction_id = "TX";
	m.sender_seq = n;
	m.sha256 = sha;
	m.state = st;
	assert_int_equal(store_insert(&fx->s, &m, &id, &err), 0);
	return id;
}

/* seq_release() of number n: the ID it released, or 0. */
static int64_t
release(struct fx *fx, int64_t n)
{
	struct store_work w;
	struct spool_error err;
	int64_t id = 0;
	int rc;

	rc = seq_release(&fx->s, "acme", "TX", n, &w, &err);
	assert_true(rc == 0 || rc == 1);
	if (rc == 1) {
		id = w.id;
		assert_int_equal(w.sender_seq, n + 1);
		store_work_free(&w);
	}
	return id;
}

#define TXQ(q) query_int(&fx->s, "SELECT " q " FROM transactions WHERE " \
	"partner = 'acme' AND transaction_id = 'TX'")

static void
test_release_successor_and_gap(void **state)
{
	struct fx *fx = *state;
	struct spool_error err;
	int64_t id3, id4;

	assert_int_equal(store_tx_ensure(&fx->s, "acme", "TX", &err), 0);
	(void)tx_msg(fx, 1, ST_QUEUE);
	id3 = tx_msg(fx, 3, ST_PARKED);
	id4 = tx_msg(fx, 4, ST_PARKED);
	(void)tx_msg(fx, 6, ST_QUEUE);	/* not parked: releases nothing */
	/* 1 done, 2 missing, 3 and 4 parked: nothing released, a gap. */
	assert_int_equal(release(fx, 1), 0);
	assert_int_equal(TXQ("next_seq"), 2);
	assert_int_equal(TXQ("gap_since IS NOT NULL"), 1);
	/* Reported, then 2 arrives and is done: 3 released, the gap shut
	 * (and its report cleared, so the next gap is reported again). */
	assert_int_equal(store_exec(&fx->s, "UPDATE transactions SET "
	    "gap_alerted = 1", &err), 0);
	(void)tx_msg(fx, 2, ST_QUEUE);
	assert_int_equal(release(fx, 2), id3);
	assert_int_equal(TXQ("gap_since IS NULL AND gap_alerted = 0"), 1);
	assert_int_equal(store_mark_done(&fx->s, id3, &err), 0);
	assert_int_equal(release(fx, 3), id4);
	assert_int_equal(store_mark_done(&fx->s, id4, &err), 0);
	/* 4 done: 5 missing, but nothing parked after it: no gap. */
	assert_int_equal(release(fx, 4), 0);
	assert_int_equal(TXQ("next_seq"), 5);
	assert_int_equal(TXQ("gap_since IS NULL"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_interchange_numbers_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_parked_interchange_goes_message_by_message, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_first_control_auto_and_tombstones, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_after_waits_for_its_order, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_release_successor_and_gap, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
