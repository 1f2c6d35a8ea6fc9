/*
 * ctl_show.c - spoolctl show: one message with its attempts and its
 * .reason sidecar, or (show --tx) one transaction: its timeline by
 * sequence number, what it waits for, its revisions and its outbound
 * files.
 *
 * Everything shown is read in one read transaction. Text output passes
 * partner data through clean(); the JSON is view.c's (jv_message,
 * jv_tx), the same the HTTP API sends.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "ctl.h"
#include "order_store.h"

/* The attempts of one message, as indented lines. */
static int
attempt_one(void *arg, const struct store_admin_attempt *a)
{
	const char *indent = arg;
	char t1[64], t2[64], b[2048];

	printf("%sattempt %" PRId64 "  %s -> %s  %s%s%s\n", indent,
	    a->attempt, tlocal(t1, sizeof(t1), a->started_at, true),
	    a->finished_at > 0 ? tlocal(t2, sizeof(t2), a->finished_at,
	    true) : "(running)", a->outcome != NULL ? a->outcome : "-",
	    a->error != NULL ? ": " : "", a->error != NULL ?
	    first_line(b, sizeof(b), a->error, 0) : "");
	return 0;
}

static int
attempts_of(struct ctl *c, int64_t id, const char *indent,
    struct spool_error *err)
{
	return store_admin_attempts(&c->store, id, attempt_one,
	    (void *)indent, err);
}

static int
action_one(void *arg, const struct store_admin_action *a)
{
	char t[64], b1[256], b2[2048];

	(void)arg;
	printf("  %-8s %s by %s%s%s\n", a->act != NULL ? a->act : "-",
	    tlocal(t, sizeof(t), a->at, true), clean(b1, sizeof(b1), a->user,
	    0), a->reason != NULL ? ": " : "", a->reason != NULL ?
	    first_line(b2, sizeof(b2), a->reason, 0) : "");
	return 0;
}

static int
show_msg(struct ctl *c, int64_t id)
{
	struct store_admin_msg m;
	struct spool_error err;
	char b[2048], t[64], line[1024];
	bool has_reason;
	int rc, i;

	spool_clearerr(&err);
	if ((rc = need_spooldir(c)) != EX_OK)
		return rc;
	if (c->json) {
		if ((rc = jv_message(&c->j, &c->store, &c->sd, id, c->now,
		    &err)) == 0)
			return fail(EX_DATAERR, "no message %" PRId64, id);
		if (rc == -1)
			return store_fail(c, &err);
		return finish_json(c, EX_OK);
	}
	if (store_admin_read_begin(&c->store, &err) == -1)
		return store_fail(c, &err);
	if ((rc = store_admin_msg_get(&c->store, id, &m, &err)) != 1) {
		store_admin_read_end(&c->store);
		return rc == 0 ? fail(EX_DATAERR, "no message %" PRId64, id) :
		    store_fail(c, &err);
	}
	has_reason = jv_reason_file(c->sd_open ? &c->sd : NULL, &m, line,
	    sizeof(line));
	printf("id            %" PRId64 "\n", m.id);
	printf("state         %s\n", state_name(m.state));
	printf("partner       %s\n", clean(b, sizeof(b), m.partner, 0));
	printf("transaction   %s\n", clean(b, sizeof(b), m.transaction_id,
	    0));
	if (m.has_seq) {
		printf("sequence      %" PRId64 "\n", m.sender_seq);
		printf("receiver seq  %" PRId64 "%s\n", m.receiver_seq,
		    m.stale ? " (stale)" : "");
	}
	printf("type          %s\n", clean(b, sizeof(b), m.type, 0));
	printf("dialect       %s%s\n", m.dialect != NULL ?
	    clean(b, sizeof(b), m.dialect, 0) : "native",
	    m.test ? " (test interchange)" : "");
	if (m.reference != NULL)
		printf("reference     %s\n", clean(b, sizeof(b), m.reference,
		    0));
	printf("message id    %s\n", clean(b, sizeof(b), m.message_id, 0));
	printf("sender        %s\n", clean(b, sizeof(b), m.sender, 0));
	printf("recipient     %s\n", clean(b, sizeof(b), m.recipient, 0));
	printf("file          %s/%s\n", spooldir_dir_name(m.state),
	    clean(b, sizeof(b), m.file_name, 0));
	printf("uploaded as   %s\n", clean(b, sizeof(b), m.orig_name, 0));
	if (m.batch != 0)
		printf("bundle        %s (batch %" PRId64 ")\n",
		    clean(b, sizeof(b), m.bundle, 0), m.batch);
	printf("size          %" PRId64 "\n", m.size);
	if (m.has_sha256) {
		printf("sha256        ");
		for (i = 0; i < 32; i++)
			printf("%02x", m.sha256[i]);
		printf("\n");
	}
	if (m.duplicate_of != 0)
		printf("duplicate of  %" PRId64 "\n", m.duplicate_of);
	printf("received      %s\n", tlocal(t, sizeof(t), m.received_at,
	    true));
	printf("updated       %s\n", tlocal(t, sizeof(t), m.updated_at,
	    true));
	printf("attempts      %" PRId64 "\n", m.attempts);
	if (m.next_attempt_at > 0)
		printf("next attempt  %s\n", tlocal(t, sizeof(t),
		    m.next_attempt_at, true));
	if (m.reason != NULL)
		printf("reason        %s\n", first_line(b, sizeof(b),
		    m.reason, 0));
	if (has_reason)
		printf("reason file   %s\n", clean(b, sizeof(b), line, 0));
	rc = attempts_of(c, m.id, "  ", &err);
	/* Hold, release, delete: who and why. */
	if (rc == 0)
		rc = store_admin_actions(&c->store, m.id, action_one, NULL,
		    &err);
	store_admin_read_end(&c->store);
	store_admin_msg_free(&m);
	if (rc == -1)
		return store_fail(c, &err);
	return EX_OK;
}

/* A run of missing numbers, as a text line. */
static void
tx_range(int64_t first, int64_t last, bool gap)
{
	char r[64];

	if (first > last)
		return;
	if (first == last)
		snprintf(r, sizeof(r), "%" PRId64, first);
	else
		snprintf(r, sizeof(r), "%" PRId64 "-%" PRId64, first, last);
	printf("%10s  %s\n", r, gap ? "-- gap: not received" :
	    "-- processed, since purged");
}

/* One number of the timeline, with its messages, attempts and skip. */
static int
tx_seq(struct ctl *c, const struct jv_txview *v, int64_t seq,
    struct spool_error *err)
{
	const struct store_admin_msg *lm = jv_live_at(v, seq), *m;
	const struct jv_skip *k = jv_skip_of(v, seq);
	char num[24], b[600], b2[600], t[64];
	size_t i;

	snprintf(num, sizeof(num), "%" PRId64, seq);
	for (i = 0; i < v->nmsgs; i++) {
		m = &v->msgs[i];
		if (!m->has_seq || m->sender_seq != seq)
			continue;
		printf("%10s  #%-7" PRId64 " %-9s %-20s %s\n", num, m->id,
		    state_name(m->state), clean(b, sizeof(b), m->type, 0),
		    m->duplicate_of != 0 ? "duplicate" : first_line(b2,
		    sizeof(b2), m->reason, SHORT_REASON));
		num[0] = '\0';
		if (attempts_of(c, m->id, "              ", err) == -1)
			return -1;
	}
	if (k != NULL)
		printf("%10s  skipped by %s at %s: %s\n", num, clean(b,
		    sizeof(b), k->user, 0), tlocal(t, sizeof(t), k->at, false),
		    clean(b2, sizeof(b2), k->reason, 0));
	else if (lm == NULL && seq >= v->tx.next_seq)
		printf("%10s  -- gap: no valid message with this number\n", "");
	return 0;
}

static int	tx_extra(struct ctl *, const char *, const char *,
		    struct spool_error *);

static int
show_tx(struct ctl *c, const char *partner, const char *txid)
{
	struct spool_error err;
	struct jv_txview v;
	char t[64], b[600], b2[600];
	int64_t seq, upto;
	int known, rc = EX_OK;

	spool_clearerr(&err);
	if (c->json) {
		if ((rc = jv_tx(&c->j, &c->store, partner, txid, c->now,
		    &err)) == 0)
			return fail(EX_DATAERR, "no transaction %s of partner "
			    "%s", clean(b, sizeof(b), txid, 0), clean(b2,
			    sizeof(b2), partner, 0));
		if (rc == -1)
			return store_fail(c, &err);
		return finish_json(c, EX_OK);
	}
	if (store_admin_read_begin(&c->store, &err) == -1)
		return store_fail(c, &err);
	if ((known = jv_txview_load(&v, &c->store, partner, txid, &err)) ==
	    -1)
		goto sqlfail;
	if (known == 0) {
		store_admin_read_end(&c->store);
		jv_txview_free(&v);
		return fail(EX_DATAERR, "no transaction %s of partner %s",
		    clean(b, sizeof(b), txid, 0), clean(b2, sizeof(b2),
		    partner, 0));
	}
	printf("transaction   %s %s\n", clean(b, sizeof(b), partner, 0),
	    clean(b2, sizeof(b2), txid, 0));
	printf("next          %" PRId64 "\n", v.tx.next_seq);
	printf("sent          %" PRId64 "\n", v.tx.out_seq);
	if (v.tx.gap_since > 0)
		printf("gap since     %s\n", tlocal(t, sizeof(t),
		    v.tx.gap_since, true));
	if (v.known == 1)
		printf("created       %s\n", tlocal(t, sizeof(t),
		    v.tx.created_at, true));
	printf("status        %s\n\n", v.waiting);
	if (v.max == 0)
		printf("%10s  (no sequence numbers seen)\n", "");

	/* The numbers with messages or skips, in order, and the runs of
	 * missing numbers between them. */
	for (seq = 1; seq <= v.max; seq = upto + 1) {
		upto = jv_next_seen(&v, seq, false);
		tx_range(seq, upto - 1 < v.tx.next_seq - 1 ? upto - 1 :
		    v.tx.next_seq - 1, false);
		tx_range(seq > v.tx.next_seq ? seq : v.tx.next_seq, upto - 1,
		    true);
		if (upto <= v.max && tx_seq(c, &v, upto, &err) == -1)
			goto sqlfail;
	}
	if (tx_extra(c, partner, txid, &err) == -1)
		goto sqlfail;
	store_admin_read_end(&c->store);
	jv_txview_free(&v);
	return rc;
sqlfail:
	rc = store_fail(c, &err);
	store_admin_read_end(&c->store);
	jv_txview_free(&v);
	return rc;
}

/* Order revisions and outbound messages of show --tx. */
static int
tx_revision(void *arg, const struct order_history_row *r)
{
	int *n = arg;
	char b[600], b2[64], cause[64], t[64];

	if ((*n)++ == 0)
		printf("\norder %s\n%10s  %-20s %-20s %-14s %s\n",
		    clean(b, sizeof(b), r->order_number, 0), "revision",
		    "state", "message", "cause", "at");
	if (r->outbound != 0)
		snprintf(cause, sizeof(cause), "outbound #%" PRId64,
		    r->outbound);
	else if (r->message != 0)
		snprintf(cause, sizeof(cause), "#%" PRId64, r->message);
	else
		snprintf(cause, sizeof(cause), "-");
	printf("%10" PRId64 "  %-20s %-20s %-14s %s", r->revision,
	    r->state != NULL ? r->state : "?", clean(b2, sizeof(b2),
	    r->message_type, 0), cause, tlocal(t, sizeof(t), r->created_at,
	    true));
	if (r->compensates != 0)
		printf("  (compensates revision %" PRId64 ")", r->compensates);
	printf("\n");
	return 0;
}

static int
tx_outbound(void *arg, const struct store_admin_outbound *o)
{
	int *n = arg;
	char b[600], b2[64];

	if ((*n)++ == 0)
		printf("\noutbound\n");
	printf("%10" PRId64 "  out #%-6" PRId64 " %-20s answers %-5" PRId64
	    " %s %s\n", o->sender_seq, o->id, clean(b2, sizeof(b2), o->type,
	    0), o->receiver_seq, o->written_at > 0 ? "written" : "pending",
	    clean(b, sizeof(b), o->file_name, 0));
	return 0;
}

/* After the sequences: the order's revisions, the outbound messages. */
static int
tx_extra(struct ctl *c, const char *partner, const char *txid,
    struct spool_error *err)
{
	int n = 0;

	if (order_history(&c->store, partner, txid, tx_revision, &n,
	    err) == -1)
		return -1;
	n = 0;
	return store_admin_outbound(&c->store, partner, txid, tx_outbound,
	    &n, err);
}

int
cmd_show(struct ctl *c, int argc, char **argv)
{
	int64_t id;

	if (argc == 4 && strcmp(argv[1], "--tx") == 0)
		return show_tx(c, argv[2], argv[3]);
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "--outbound") == 0)
		return ctl_show_outbound(c, argv[2], argc == 4 ? argv[3] :
		    NULL);
	if (argc == 4 && strcmp(argv[1], "--interchange") == 0)
		return cmd_show_interchange(c, argv[2], argv[3]);
	if (argc == 2 && argv[1][0] != '-') {
		if (parse_int(argv[1], 1, &id) == -1)
			return fail(EX_USAGE, "show: %s is not a message ID",
			    argv[1]);
		return show_msg(c, id);
	}
	return fail(EX_USAGE, "usage: spoolctl show MSGID | show --tx PARTNER "
	    "ID | show --interchange PARTNER NUMBER | show --outbound PARTNER "
	    "[CONTROL]");
}
