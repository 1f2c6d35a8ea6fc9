/*
 * ctl_show.c - spoolctl show: one message with its attempts and its
 * .reason sidecar, or (show --tx) one transaction: its timeline by
 * sequence number, what it waits for, its revisions and its outbound
 * files.
 *
 * Everything shown is read in one read transaction. Text output passes
 * partner data through clean().
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "ctl.h"
#include "order_store.h"

/* The attempts of one message: a JSON array, or indented lines. */
struct attempts_out {
	struct ctl	*c;
	const char	*indent;
};

static int
attempt_one(void *arg, const struct store_admin_attempt *a)
{
	struct attempts_out *ao = arg;
	struct ctl *c = ao->c;
	struct jdoc *j = &c->j;
	char t1[64], t2[64], b[2048];

	if (c->json) {
		jd_object(j);
		jd_kint(j, "attempt", a->attempt);
		jd_ktime(j, "started_at", a->started_at);
		jd_ktime(j, "finished_at", a->finished_at);
		jd_kstr(j, "outcome", a->outcome);
		jd_kstr(j, "error", a->error);
		jd_object_end(j);
		return 0;
	}
	printf("%sattempt %" PRId64 "  %s -> %s  %s%s%s\n", ao->indent,
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
	struct attempts_out ao = { c, indent };
	int rc;

	if (c->json)
		jd_array(&c->j);
	rc = store_admin_attempts(&c->store, id, attempt_one, &ao, err);
	if (c->json)
		jd_array_end(&c->j);
	return rc;
}

static int
action_one(void *arg, const struct store_admin_action *a)
{
	struct ctl *c = arg;
	struct jdoc *j = &c->j;
	char t[64], b1[256], b2[2048];

	if (c->json) {
		jd_object(j);
		jd_kstr(j, "act", a->act);
		jd_kstr(j, "user", a->user);
		jd_kstr(j, "reason", a->reason);
		jd_ktime(j, "at", a->at);
		jd_object_end(j);
		return 0;
	}
	printf("  %-8s %s by %s%s%s\n", a->act != NULL ? a->act : "-",
	    tlocal(t, sizeof(t), a->at, true), clean(b1, sizeof(b1), a->user,
	    0), a->reason != NULL ? ": " : "", a->reason != NULL ?
	    first_line(b2, sizeof(b2), a->reason, 0) : "");
	return 0;
}

/* The first line of a message's .reason sidecar, if it has one. */
static bool
reason_file(struct ctl *c, const struct store_admin_msg *m, char *line,
    size_t len)
{
	char name[SPOOLDIR_NAME_MAX + 32];
	ssize_t n;
	int fd;

	line[0] = '\0';
	if (!c->sd_open || m->state < 0 || m->state >= ST_NSTATES ||
	    m->file_name == NULL || m->file_name[0] == '\0' ||
	    m->file_name[0] == '.' || strchr(m->file_name, '/') != NULL ||
	    snprintf(name, sizeof(name), "%s.reason", m->file_name) >=
	    (int)sizeof(name))
		return false;
	fd = openat(c->sd.state_fd[m->state], name, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return false;
	do
		n = read(fd, line, len - 1);
	while (n == -1 && errno == EINTR);
	close(fd);
	if (n < 0)
		return false;
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	return true;
}

static int
show_msg(struct ctl *c, int64_t id)
{
	struct store_admin_msg m;
	struct spool_error err;
	struct jdoc *j = &c->j;
	char b[2048], t[64], line[1024];
	bool has_reason;
	int rc, i;

	spool_clearerr(&err);
	if ((rc = need_spooldir(c)) != EX_OK)
		return rc;
	if (store_admin_read_begin(&c->store, &err) == -1)
		return store_fail(c, &err);
	if ((rc = store_admin_msg_get(&c->store, id, &m, &err)) != 1) {
		store_admin_read_end(&c->store);
		return rc == 0 ? fail(EX_DATAERR, "no message %" PRId64, id) :
		    store_fail(c, &err);
	}
	has_reason = reason_file(c, &m, line, sizeof(line));
	if (c->json) {
		jd_object(j);
		jd_key(j, "message");
		jd_msg_open(c, &m);
		jd_key(j, "attempt_log");
	} else {
		printf("id            %" PRId64 "\n", m.id);
		printf("state         %s\n", state_name(m.state));
		printf("partner       %s\n", clean(b, sizeof(b), m.partner, 0));
		printf("transaction   %s\n", clean(b, sizeof(b),
		    m.transaction_id, 0));
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
			printf("reference     %s\n", clean(b, sizeof(b),
			    m.reference, 0));
		printf("message id    %s\n", clean(b, sizeof(b), m.message_id,
		    0));
		printf("sender        %s\n", clean(b, sizeof(b), m.sender, 0));
		printf("recipient     %s\n", clean(b, sizeof(b), m.recipient,
		    0));
		printf("file          %s/%s\n", spooldir_dir_name(m.state),
		    clean(b, sizeof(b), m.file_name, 0));
		printf("uploaded as   %s\n", clean(b, sizeof(b), m.orig_name,
		    0));
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
		printf("received      %s\n", tlocal(t, sizeof(t),
		    m.received_at, true));
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
			printf("reason file   %s\n", clean(b, sizeof(b), line,
			    0));
	}
	rc = attempts_of(c, m.id, "  ", &err);
	/* Hold, release, delete: who and why. */
	if (rc == 0) {
		if (c->json) {
			jd_key(j, "actions");
			jd_array(j);
		}
		rc = store_admin_actions(&c->store, m.id, action_one, c, &err);
		if (c->json)
			jd_array_end(j);
	}
	store_admin_read_end(&c->store);
	if (rc == -1) {
		store_admin_msg_free(&m);
		return store_fail(c, &err);
	}
	if (c->json) {
		jd_object_end(j);	/* the message */
		jd_key(j, "reason_file");
		if (has_reason) {
			jd_object(j);
			snprintf(b, sizeof(b), "%s/%s.reason",
			    spooldir_dir_name(m.state), m.file_name);
			jd_kstr(j, "file", b);
			jd_kstr(j, "first_line", line);
			jd_object_end(j);
		} else
			jd_null(j);
		jd_object_end(j);
		rc = finish_json(c, EX_OK);
	} else
		rc = EX_OK;
	store_admin_msg_free(&m);
	return rc;
}

/* A transaction's messages and skips, gathered for its timeline. */
struct txskip {
	int64_t		 seq;
	char		*reason;
	char		*user;
	int64_t		 at;
};

struct txview {
	struct store_admin_msg	*msgs;	/* by sender_seq, id */
	size_t			 nmsgs, capmsgs;
	struct txskip		*skips;		/* by seq */
	size_t			 nskips, capskips;
};

static int
tx_add_msg(void *arg, struct store_admin_msg *m)
{
	struct txview *v = arg;
	struct store_admin_msg *n;

	if (v->nmsgs == v->capmsgs) {
		size_t cap = v->capmsgs ? v->capmsgs * 2 : 16;

		if ((n = reallocarray(v->msgs, cap, sizeof(*n))) == NULL)
			return -1;
		v->msgs = n;
		v->capmsgs = cap;
	}
	v->msgs[v->nmsgs++] = *m;	/* take the strings over */
	memset(m, 0, sizeof(*m));
	return 0;
}

static int
tx_add_skip(void *arg, const struct store_admin_skip *k)
{
	struct txview *v = arg;
	struct txskip *n;

	if (v->nskips == v->capskips) {
		size_t cap = v->capskips ? v->capskips * 2 : 8;

		if ((n = reallocarray(v->skips, cap, sizeof(*n))) == NULL)
			return -1;
		v->skips = n;
		v->capskips = cap;
	}
	n = &v->skips[v->nskips];
	n->seq = k->seq;
	n->at = k->at;
	n->reason = strdup(k->reason != NULL ? k->reason : "");
	n->user = strdup(k->user != NULL ? k->user : "");
	if (n->reason == NULL || n->user == NULL) {
		free(n->reason);
		free(n->user);
		return -1;
	}
	v->nskips++;
	return 0;
}

static void
txview_free(struct txview *v)
{
	size_t i;

	for (i = 0; i < v->nmsgs; i++)
		store_admin_msg_free(&v->msgs[i]);
	for (i = 0; i < v->nskips; i++) {
		free(v->skips[i].reason);
		free(v->skips[i].user);
	}
	free(v->msgs);
	free(v->skips);
}

/* Not a duplicate, not rejected: the message that holds its number. */
static bool
live(const struct store_admin_msg *m)
{
	return m->has_seq && m->duplicate_of == 0 && m->state != ST_REJECTED;
}

static const struct txskip *
skip_of(const struct txview *v, int64_t seq)
{
	size_t i;

	for (i = 0; i < v->nskips; i++)
		if (v->skips[i].seq == seq)
			return &v->skips[i];
	return NULL;
}

static const struct store_admin_msg *
live_at(const struct txview *v, int64_t seq)
{
	size_t i;

	for (i = 0; i < v->nmsgs; i++)
		if (live(&v->msgs[i]) && v->msgs[i].sender_seq == seq)
			return &v->msgs[i];
	return NULL;
}

/*
 * The smallest number >= seq that has a skip or a message (only a live
 * one, with live_only), or max + 1.
 */
static int64_t
next_seen(const struct txview *v, int64_t seq, int64_t max, bool live_only)
{
	int64_t upto = max + 1;
	size_t i;

	for (i = 0; i < v->nmsgs; i++) {
		const struct store_admin_msg *m = &v->msgs[i];

		if (m->has_seq && (!live_only || live(m)) &&
		    m->sender_seq >= seq && m->sender_seq < upto)
			upto = m->sender_seq;
	}
	for (i = 0; i < v->nskips; i++)
		if (v->skips[i].seq >= seq && v->skips[i].seq < upto)
			upto = v->skips[i].seq;
	return upto;
}

/* What the transaction waits for, in one sentence; *word is a stable
 * one-word summary for JSON. */
static void
tx_waiting(const struct txview *v, const struct store_admin_tx *tx,
    int64_t parked, const char **word, char *buf, size_t len)
{
	const struct store_admin_msg *m = live_at(v, tx->next_seq);
	char t[64], behind[96], r[300];
	int64_t since = tx->gap_since;
	size_t i;

	behind[0] = '\0';
	if (parked > 0)
		snprintf(behind, sizeof(behind), ", %" PRId64 " message%s "
		    "parked behind it", parked, parked == 1 ? "" : "s");
	if (m == NULL) {
		for (i = 0; i < v->nmsgs; i++)
			if (live(&v->msgs[i]) && v->msgs[i].state ==
			    ST_PARKED && (since == 0 ||
			    v->msgs[i].received_at < since))
				since = v->msgs[i].received_at;
		if (parked > 0) {
			*word = "waiting";
			snprintf(buf, len, "waiting for sequence %" PRId64
			    " since %s%s", tx->next_seq, tlocal(t, sizeof(t),
			    since, false), behind);
		} else if (tx->next_seq > 1) {
			*word = "idle";
			snprintf(buf, len, "nothing waiting: sequences 1 to %"
			    PRId64 " are processed", tx->next_seq - 1);
		} else {
			*word = "idle";
			snprintf(buf, len, "nothing waiting: no message of "
			    "this transaction accepted yet");
		}
		return;
	}
	switch (m->state) {
	case ST_QUEUE:
		*word = "ready";
		snprintf(buf, len, "sequence %" PRId64 " (message %" PRId64
		    ") is queued for processing%s", m->sender_seq, m->id,
		    behind);
		break;
	case ST_DEFERRED:
		*word = "retrying";
		snprintf(buf, len, "sequence %" PRId64 " (message %" PRId64
		    ") failed %" PRId64 " time%s and is tried again at %s%s",
		    m->sender_seq, m->id, m->attempts, m->attempts == 1 ? "" :
		    "s", tlocal(t, sizeof(t), m->next_attempt_at, false),
		    behind);
		break;
	case ST_FAILED:
		*word = "blocked";
		snprintf(buf, len, "blocked by sequence %" PRId64 " (message %"
		    PRId64 "), which failed: %s; retry or skip it%s",
		    m->sender_seq, m->id, first_line(r, sizeof(r), m->reason,
		    SHORT_REASON), behind);
		break;
	default:
		*word = "ready";
		snprintf(buf, len, "sequence %" PRId64 " (message %" PRId64
		    ") is %s; spoold moves the transaction on in its next "
		    "cycle%s", m->sender_seq, m->id, state_name(m->state),
		    behind);
		break;
	}
}

/* A run of missing numbers, as a text line or a JSON {first, last}. */
static void
tx_range(struct ctl *c, int64_t first, int64_t last, bool gap)
{
	char r[64];

	if (first > last)
		return;
	if (c->json) {
		jd_object(&c->j);
		jd_kint(&c->j, "first", first);
		jd_kint(&c->j, "last", last);
		jd_object_end(&c->j);
		return;
	}
	if (first == last)
		snprintf(r, sizeof(r), "%" PRId64, first);
	else
		snprintf(r, sizeof(r), "%" PRId64 "-%" PRId64, first, last);
	printf("%10s  %s\n", r, gap ? "-- gap: not received" :
	    "-- processed, since purged");
}

/*
 * The runs of missing numbers in 1..max. Gaps: from next on, without a
 * live message or a skip. Purged: below next, without any row or skip.
 */
static void
tx_runs(struct ctl *c, const struct txview *v, int64_t next, int64_t max,
    bool gaps)
{
	int64_t seq = 1, upto;

	while (seq <= max) {
		upto = next_seen(v, seq, max, gaps);
		if (gaps)
			tx_range(c, seq > next ? seq : next, upto - 1, true);
		else
			tx_range(c, seq, upto - 1 < next - 1 ? upto - 1 :
			    next - 1, false);
		seq = upto + 1;
	}
}

/* One number of the timeline, with its messages, attempts and skip. */
static int
tx_seq(struct ctl *c, const struct txview *v, const struct store_admin_tx *tx,
    int64_t seq, struct spool_error *err)
{
	const struct store_admin_msg *lm = live_at(v, seq), *m;
	const struct txskip *k = skip_of(v, seq);
	struct jdoc *j = &c->j;
	char num[24], b[600], b2[600], t[64];
	const char *status;
	size_t i;

	status = lm != NULL ? state_name(lm->state) : k != NULL ? "skipped" :
	    seq < tx->next_seq ? "processed" : "gap";
	snprintf(num, sizeof(num), "%" PRId64, seq);
	if (c->json) {
		jd_object(j);
		jd_kint(j, "seq", seq);
		jd_kstr(j, "status", status);
		jd_key(j, "skip");
		if (k != NULL) {
			jd_object(j);
			jd_kstr(j, "user", k->user);
			jd_kstr(j, "reason", k->reason);
			jd_ktime(j, "at", k->at);
			jd_object_end(j);
		} else
			jd_null(j);
		jd_key(j, "messages");
		jd_array(j);
	}
	for (i = 0; i < v->nmsgs; i++) {
		m = &v->msgs[i];
		if (!m->has_seq || m->sender_seq != seq)
			continue;
		if (c->json) {
			jd_msg_open(c, m);
			jd_key(j, "attempt_log");
		} else {
			printf("%10s  #%-7" PRId64 " %-9s %-20s %s\n", num,
			    m->id, state_name(m->state), clean(b, sizeof(b),
			    m->type, 0), m->duplicate_of != 0 ? "duplicate" :
			    first_line(b2, sizeof(b2), m->reason,
			    SHORT_REASON));
			num[0] = '\0';
		}
		if (attempts_of(c, m->id, "              ", err) == -1)
			return -1;
		if (c->json)
			jd_object_end(j);
	}
	if (c->json) {
		jd_array_end(j);
		jd_object_end(j);
		return 0;
	}
	if (k != NULL)
		printf("%10s  skipped by %s at %s: %s\n", num, clean(b,
		    sizeof(b), k->user, 0), tlocal(t, sizeof(t), k->at, false),
		    clean(b2, sizeof(b2), k->reason, 0));
	else if (lm == NULL && seq >= tx->next_seq)
		printf("%10s  -- gap: no valid message with this number\n", "");
	return 0;
}

static int	tx_extra(struct ctl *, const char *, const char *,
		    struct spool_error *);

static int
show_tx(struct ctl *c, const char *partner, const char *txid)
{
	struct store_admin_filter f;
	struct store_admin_tx tx;
	struct spool_error err;
	struct txview v;
	struct jdoc *j = &c->j;
	const char *word = "idle";
	char sentence[1024], t[64], b[600], b2[600];
	int64_t parked, max, seq, upto;
	size_t i;
	int known, rc = EX_OK;

	memset(&v, 0, sizeof(v));
	memset(&f, 0, sizeof(f));
	f.state = -1;
	f.partner = partner;
	f.transaction_id = txid;
	f.by_seq = true;
	spool_clearerr(&err);
	if (store_admin_read_begin(&c->store, &err) == -1)
		return store_fail(c, &err);
	if ((known = store_admin_tx_get(&c->store, partner, txid, &tx,
	    &err)) == -1 ||
	    store_admin_tx_parked(&c->store, partner, txid, &parked,
	    &err) == -1)
		goto sqlfail;
	if (store_admin_msg_list(&c->store, &f, tx_add_msg, &v, &err) == -1 ||
	    store_admin_skips(&c->store, partner, txid, tx_add_skip, &v,
	    &err) == -1) {
		if (err.msg[0] == '\0')
			spool_seterr(&err, "out of memory");
		goto sqlfail;
	}
	if (known == 0 && v.nmsgs == 0) {
		store_admin_read_end(&c->store);
		txview_free(&v);
		return fail(EX_DATAERR, "no transaction %s of partner %s",
		    clean(b, sizeof(b), txid, 0), clean(b2, sizeof(b2),
		    partner, 0));
	}
	max = tx.next_seq - 1;
	for (i = 0; i < v.nmsgs; i++)
		if (v.msgs[i].has_seq && v.msgs[i].sender_seq > max)
			max = v.msgs[i].sender_seq;
	for (i = 0; i < v.nskips; i++)
		if (v.skips[i].seq > max)
			max = v.skips[i].seq;
	tx_waiting(&v, &tx, parked, &word, sentence, sizeof(sentence));

	if (c->json) {
		jd_object(j);
		jd_kstr(j, "partner", partner);
		jd_kstr(j, "transaction_id", txid);
		jd_kbool(j, "known", known == 1);
		jd_kint(j, "next_seq", tx.next_seq);
		jd_kint(j, "out_seq", tx.out_seq);
		jd_ktime(j, "gap_since", tx.gap_since);
		jd_ktime(j, "created_at", tx.created_at);
		jd_ktime(j, "updated_at", tx.updated_at);
		jd_kint(j, "parked", parked);
		jd_kstr(j, "status", word);
		jd_kstr(j, "waiting_for", sentence);
		jd_key(j, "sequences");
		jd_array(j);
	} else {
		printf("transaction   %s %s\n", clean(b, sizeof(b), partner, 0),
		    clean(b2, sizeof(b2), txid, 0));
		printf("next          %" PRId64 "\n", tx.next_seq);
		printf("sent          %" PRId64 "\n", tx.out_seq);
		if (tx.gap_since > 0)
			printf("gap since     %s\n", tlocal(t, sizeof(t),
			    tx.gap_since, true));
		if (known == 1)
			printf("created       %s\n", tlocal(t, sizeof(t),
			    tx.created_at, true));
		printf("status        %s\n\n", sentence);
		if (max == 0)
			printf("%10s  (no sequence numbers seen)\n", "");
	}

	/* The numbers with messages or skips, in order; in text, the runs
	 * of missing numbers between them too. */
	for (seq = 1; seq <= max; seq = upto + 1) {
		upto = next_seen(&v, seq, max, false);
		if (!c->json) {
			tx_range(c, seq, upto - 1 < tx.next_seq - 1 ? upto - 1 :
			    tx.next_seq - 1, false);
			tx_range(c, seq > tx.next_seq ? seq : tx.next_seq,
			    upto - 1, true);
		}
		if (upto <= max && tx_seq(c, &v, &tx, upto, &err) == -1)
			goto sqlfail;
	}
	if (c->json) {
		jd_array_end(j);
		jd_key(j, "gaps");
		jd_array(j);
		tx_runs(c, &v, tx.next_seq, max, true);
		jd_array_end(j);
		jd_key(j, "purged");
		jd_array(j);
		tx_runs(c, &v, tx.next_seq, max, false);
		jd_array_end(j);
		jd_key(j, "skips");
		jd_array(j);
		for (i = 0; i < v.nskips; i++) {
			jd_object(j);
			jd_kint(j, "seq", v.skips[i].seq);
			jd_kstr(j, "user", v.skips[i].user);
			jd_kstr(j, "reason", v.skips[i].reason);
			jd_ktime(j, "at", v.skips[i].at);
			jd_object_end(j);
		}
		jd_array_end(j);
		if (tx_extra(c, partner, txid, &err) == -1)
			goto sqlfail;
		jd_object_end(j);
		rc = finish_json(c, EX_OK);
	} else if (tx_extra(c, partner, txid, &err) == -1)
		goto sqlfail;
	store_admin_read_end(&c->store);
	txview_free(&v);
	return rc;
sqlfail:
	rc = store_fail(c, &err);
	store_admin_read_end(&c->store);
	txview_free(&v);
	return rc;
}

/* Order revisions and outbound messages of show --tx. */
struct txextra {
	struct ctl	*c;
	int		 n;
};

static int
tx_revision(void *arg, const struct order_history_row *r)
{
	struct txextra *x = arg;
	struct jdoc *j = &x->c->j;
	char b[600], b2[64], cause[64], t[64];

	if (x->c->json) {
		jd_object(j);
		jd_kint(j, "revision", r->revision);
		jd_kstr(j, "order_number", r->order_number);
		jd_kstr(j, "state", r->state);
		jd_kstr(j, "message_type", r->message_type);
		jd_kopt(j, "message", r->message);
		jd_kopt(j, "outbound", r->outbound);
		jd_kopt(j, "compensates", r->compensates);
		jd_ktime(j, "created_at", r->created_at);
		jd_object_end(j);
		return 0;
	}
	if (x->n++ == 0)
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
	struct txextra *x = arg;
	struct jdoc *j = &x->c->j;
	char b[600], b2[64];

	if (x->c->json) {
		jd_object(j);
		jd_kint(j, "id", o->id);
		jd_kstr(j, "type", o->type);
		jd_kint(j, "sender_seq", o->sender_seq);
		jd_kint(j, "receiver_seq", o->receiver_seq);
		jd_kopt(j, "cause", o->cause);
		jd_kstr(j, "file_name", o->file_name);
		jd_ktime(j, "created_at", o->created_at);
		jd_ktime(j, "written_at", o->written_at);
		jd_object_end(j);
		return 0;
	}
	if (x->n++ == 0)
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
	struct txextra x = { c, 0 };

	if (c->json) {
		jd_key(&c->j, "revisions");
		jd_array(&c->j);
	}
	if (order_history(&c->store, partner, txid, tx_revision, &x,
	    err) == -1)
		return -1;
	if (c->json) {
		jd_array_end(&c->j);
		jd_key(&c->j, "outbound");
		jd_array(&c->j);
	}
	x.n = 0;
	if (store_admin_outbound(&c->store, partner, txid, tx_outbound, &x,
	    err) == -1)
		return -1;
	if (c->json)
		jd_array_end(&c->j);
	return 0;
}

int
cmd_show(struct ctl *c, int argc, char **argv)
{
	int64_t id;

	if (argc == 4 && strcmp(argv[1], "--tx") == 0)
		return show_tx(c, argv[2], argv[3]);
	if (argc == 2 && argv[1][0] != '-') {
		if (parse_int(argv[1], 1, &id) == -1)
			return fail(EX_USAGE, "show: %s is not a message ID",
			    argv[1]);
		return show_msg(c, id);
	}
	return fail(EX_USAGE, "usage: spoolctl show MSGID | show --tx PARTNER "
	    "ID");
}
