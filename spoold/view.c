/*
 * view.c - the JSON of messages, batches and transactions, shared by
 * spoolctl --json and the HTTP API (see view.h), and the text helpers
 * both programs use for what partners sent.
 *
 * One builder per document: spoolctl prints it, the API sends it, so a
 * field name changes in one place or nowhere. Each builder reads in one
 * read transaction (a consistent snapshot) and never holds it across
 * anything slow. Nothing here writes to the store or the disk; a
 * .reason sidecar is read with O_NOFOLLOW|O_NONBLOCK from its state
 * directory's descriptor, and a file name from the store that could
 * leave that directory is not read at all.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "order_store.h"
#include "store_batch.h"
#include "store_order.h"
#include "view.h"

/*
 * Text for a terminal: control characters (C0, DEL, C1 as UTF-8) and
 * bytes that cannot start a character are shown as '?'; s is cut after
 * max characters (0: no cut), or where buf ends, with "...". NULL or ""
 * is "-".
 */
const char *
clean(char *buf, size_t len, const char *s, size_t max)
{
	const unsigned char *p;
	size_t o = 0, chars = 0, n;

	if (s == NULL || *s == '\0')
		return "-";
	for (p = (const unsigned char *)s; *p != '\0'; p += n) {
		n = 1;
		if (*p >= 0xc0 && *p < 0xf8)
			while (n < 4 && (p[n] & 0xc0) == 0x80)
				n++;
		/* Room for this character, "..." and the NUL. */
		if ((max > 0 && chars == max) || o + n + 4 > len) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (*p < 0x20 || *p == 0x7f || (*p >= 0x80 && n == 1) ||
		    (*p == 0xc2 && n == 2 && p[1] <= 0x9f))
			buf[o++] = '?';
		else {
			memcpy(buf + o, p, n);
			o += n;
		}
		chars++;
	}
	buf[o] = '\0';
	return buf;
}

/* The first line of s, for a short reason. */
const char *
first_line(char *buf, size_t len, const char *s, size_t max)
{
	char line[1024];
	size_t n;

	if (s == NULL)
		return "-";
	n = strcspn(s, "\n");
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, s, n);
	line[n] = '\0';
	return clean(buf, len, line, max);
}

/* Local time, "2026-11-24 10:02:03" (or without seconds); 0 is "-". */
const char *
tlocal(char *buf, size_t len, int64_t ms, bool secs)
{
	struct tm tm;
	time_t t = (time_t)(ms / 1000);

	if (ms <= 0 || localtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, secs ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d %H:%M",
	    &tm) == 0)
		return "-";
	return buf;
}

/* UTC, RFC 3339: "2026-11-24T10:02:03Z". */
const char *
tiso(char *buf, size_t len, int64_t ms)
{
	struct tm tm;
	time_t t = (time_t)(ms / 1000);

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "?");
	return buf;
}

const char *
state_name(int st)
{
	return st >= 0 && st < ST_NSTATES ? spool_state_name(st) : "?";
}

void
jd_ktime(struct jdoc *j, const char *key, int64_t ms)
{
	char b[32];

	if (ms <= 0)
		jd_knull(j, key);
	else
		jd_kstr(j, key, tiso(b, sizeof(b), ms));
}

void
jd_kopt(struct jdoc *j, const char *key, int64_t v)
{
	if (v == 0)
		jd_knull(j, key);
	else
		jd_kint(j, key, v);
}

void
jv_msg_open(struct jdoc *j, const struct store_admin_msg *m, int64_t now)
{
	char hex[65], path[SPOOLDIR_NAME_MAX + 32];
	int i;

	jd_object(j);
	jd_kint(j, "id", m->id);
	jd_kstr(j, "state", state_name(m->state));
	jd_kstr(j, "partner", m->partner);
	jd_kstr(j, "transaction_id", m->transaction_id);
	if (m->has_seq) {
		jd_kint(j, "sender_seq", m->sender_seq);
		jd_kint(j, "receiver_seq", m->receiver_seq);
	} else {
		jd_knull(j, "sender_seq");
		jd_knull(j, "receiver_seq");
	}
	jd_kstr(j, "type", m->type);
	jd_kstr(j, "message_id", m->message_id);
	jd_kstr(j, "sender", m->sender);
	jd_kstr(j, "recipient", m->recipient);
	jd_kstr(j, "dialect", m->dialect != NULL ? m->dialect : "native");
	jd_kbool(j, "test", m->test);
	jd_kstr(j, "reference", m->reference);
	jd_kstr(j, "orig_name", m->orig_name);
	jd_kstr(j, "file_name", m->file_name);
	snprintf(path, sizeof(path), "%s/%s", spooldir_dir_name(m->state),
	    m->file_name != NULL ? m->file_name : "");
	jd_kstr(j, "file", path);
	jd_kbool(j, "stale", m->stale);
	if (m->has_sha256) {
		for (i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", m->sha256[i]);
		jd_kstr(j, "sha256", hex);
	} else
		jd_knull(j, "sha256");
	jd_kint(j, "size", m->size);
	jd_kopt(j, "duplicate_of", m->duplicate_of);
	jd_kopt(j, "batch", m->batch);
	jd_kstr(j, "bundle", m->bundle);
	jd_kint(j, "attempts", m->attempts);
	jd_ktime(j, "next_attempt_at", m->next_attempt_at);
	jd_kstr(j, "reason", m->reason);
	jd_ktime(j, "received_at", m->received_at);
	jd_ktime(j, "updated_at", m->updated_at);
	jd_kint(j, "age_seconds", (now - m->received_at) / 1000);
}

void
jv_msg(struct jdoc *j, const struct store_admin_msg *m, int64_t now)
{
	jv_msg_open(j, m, now);
	jd_object_end(j);
}

static int
attempt_one(void *arg, const struct store_admin_attempt *a)
{
	struct jdoc *j = arg;

	jd_object(j);
	jd_kint(j, "attempt", a->attempt);
	jd_ktime(j, "started_at", a->started_at);
	jd_ktime(j, "finished_at", a->finished_at);
	jd_kstr(j, "outcome", a->outcome);
	jd_kstr(j, "error", a->error);
	jd_object_end(j);
	return 0;
}

static int
action_one(void *arg, const struct store_admin_action *a)
{
	struct jdoc *j = arg;

	jd_object(j);
	jd_kstr(j, "act", a->act);
	jd_kstr(j, "user", a->user);
	jd_kstr(j, "reason", a->reason);
	jd_ktime(j, "at", a->at);
	jd_object_end(j);
	return 0;
}

/* "attempt_log": [...] of one message. */
static int
attempts_of(struct jdoc *j, struct store *s, int64_t id,
    struct spool_error *err)
{
	int rc;

	jd_key(j, "attempt_log");
	jd_array(j);
	rc = store_admin_attempts(s, id, attempt_one, j, err);
	jd_array_end(j);
	return rc;
}

/* The first line of a message's .reason sidecar, if it has one. */
static bool
reason_file(const struct spooldir *sd, const struct store_admin_msg *m,
    char *line, size_t len)
{
	char name[SPOOLDIR_NAME_MAX + 32];
	ssize_t n;
	int fd;

	line[0] = '\0';
	if (sd == NULL || m->state < 0 || m->state >= ST_NSTATES ||
	    m->file_name == NULL || m->file_name[0] == '\0' ||
	    m->file_name[0] == '.' || strchr(m->file_name, '/') != NULL ||
	    snprintf(name, sizeof(name), "%s.reason", m->file_name) >=
	    (int)sizeof(name))
		return false;
	fd = openat(sd->state_fd[m->state], name, O_RDONLY | O_NOFOLLOW |
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

int
jv_message(struct jdoc *j, struct store *s, const struct spooldir *sd,
    int64_t id, int64_t now, struct spool_error *err)
{
	struct store_admin_msg m;
	char line[1024], b[SPOOLDIR_NAME_MAX + 48];
	bool has_reason;
	int rc;

	if (store_admin_read_begin(s, err) == -1)
		return -1;
	if ((rc = store_admin_msg_get(s, id, &m, err)) != 1) {
		store_admin_read_end(s);
		return rc;
	}
	has_reason = reason_file(sd, &m, line, sizeof(line));
	jd_object(j);
	jd_key(j, "message");
	jv_msg_open(j, &m, now);
	rc = attempts_of(j, s, m.id, err);
	/* Hold, release, delete: who and why. */
	if (rc == 0) {
		jd_key(j, "actions");
		jd_array(j);
		rc = store_admin_actions(s, m.id, action_one, j, err);
		jd_array_end(j);
	}
	store_admin_read_end(s);
	if (rc == -1) {
		store_admin_msg_free(&m);
		return -1;
	}
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
	store_admin_msg_free(&m);
	return 1;
}

struct list_arg {
	struct jdoc	*j;
	int64_t		 now;
};

static int
list_one(void *arg, struct store_admin_msg *m)
{
	struct list_arg *a = arg;

	jv_msg(a->j, m, a->now);
	return 0;
}

int
jv_list(struct jdoc *j, struct store *s, const struct store_admin_filter *f,
    int64_t now, struct spool_error *err)
{
	struct list_arg a = { j, now };
	int64_t total;

	if (store_admin_read_begin(s, err) == -1)
		return -1;
	if (store_admin_msg_count(s, f, &total, err) == -1)
		goto fail;
	jd_object(j);
	jd_kint(j, "total", total);
	jd_kint(j, "limit", f->limit);
	jd_key(j, "messages");
	jd_array(j);
	if (store_admin_msg_list(s, f, list_one, &a, err) == -1)
		goto fail;
	store_admin_read_end(s);
	jd_array_end(j);
	jd_object_end(j);
	return 0;
fail:
	store_admin_read_end(s);
	return -1;
}

/*
 * A batch's state: rejected (the bundle was refused), done (every entry's
 * message is done or was rejected: nothing left to happen), or pending
 * (some are queued, parked, deferred, failed or held).
 */
const char *
jv_batch_state(int bundle_state, const int64_t *counts)
{
	if (bundle_state == ST_REJECTED)
		return "rejected";
	if (counts[ST_QUEUE] + counts[ST_PARKED] + counts[ST_DEFERRED] +
	    counts[ST_FAILED] + counts[ST_HELD] > 0)
		return "pending";
	return "done";
}

static void
jd_counts(struct jdoc *j, const int64_t *counts)
{
	int i;

	jd_object(j);
	for (i = 0; i < ST_NSTATES; i++)
		jd_kint(j, spool_state_name(i), counts[i]);
	jd_object_end(j);
}

static int
batch_entry(void *arg, const struct store_batch_entry *e)
{
	struct jdoc *j = arg;
	char f[SPOOLDIR_NAME_MAX + 32];

	f[0] = '\0';
	if (e->message != 0 && e->msg_state >= 0 && e->msg_file != NULL)
		snprintf(f, sizeof(f), "%s/%s",
		    spooldir_dir_name(e->msg_state), e->msg_file);
	jd_object(j);
	jd_kint(j, "index", e->index);
	jd_kstr(j, "name", e->name);
	jd_kstr(j, "fate", e->fate >= 0 ? batch_fate_name(e->fate) : "?");
	jd_kstr(j, "reason", e->reason);
	jd_kopt(j, "message", e->message);
	jd_kstr(j, "state", e->msg_state >= 0 ? state_name(e->msg_state) :
	    NULL);
	jd_kstr(j, "file", f[0] != '\0' ? f : NULL);
	jd_object_end(j);
	return 0;
}

int
jv_batch(struct jdoc *j, struct store *s, int64_t id,
    struct spool_error *err)
{
	int64_t counts[ST_NSTATES];
	struct store_batch b;
	char f[SPOOLDIR_NAME_MAX + 32];
	int rc;

	if (store_admin_read_begin(s, err) == -1)
		return -1;
	if ((rc = store_batch_get(s, id, &b, err)) != 1) {
		store_admin_read_end(s);
		return rc;
	}
	if (store_admin_batch_counts(s, b.id, counts, err) == -1) {
		store_admin_read_end(s);
		store_batch_free(&b);
		return -1;
	}
	/* An empty name: purged from done/. */
	f[0] = '\0';
	if (b.file_name[0] != '\0')
		snprintf(f, sizeof(f), "%s/%s", state_name(b.state),
		    b.file_name);
	jd_object(j);
	jd_kint(j, "batch", b.id);
	jd_kstr(j, "partner", b.partner);
	jd_kstr(j, "bundle", b.orig_name);
	jd_kstr(j, "state", jv_batch_state(b.state, counts));
	jd_key(j, "counts");
	jd_counts(j, counts);
	jd_kstr(j, "file", f[0] != '\0' ? f : NULL);
	jd_kint(j, "size", b.size);
	jd_kint(j, "entry_count", b.entries);
	jd_ktime(j, "received_at", b.received_at);
	jd_kstr(j, "reason", b.reason);
	jd_key(j, "entries");
	jd_array(j);
	rc = store_batch_entries(s, b.id, batch_entry, j, err);
	store_admin_read_end(s);
	store_batch_free(&b);
	if (rc == -1)
		return -1;
	jd_array_end(j);
	jd_object_end(j);
	return 1;
}

struct batches_arg {
	struct jdoc	*j;
	const char	*partner;	/* NULL: any */
	int64_t		 limit, shown, total;
};

static int
batches_one(void *arg, const struct store_admin_batch_row *r)
{
	struct batches_arg *a = arg;
	struct jdoc *j = a->j;

	if (a->partner != NULL) {
		if (strcmp(r->partner, a->partner) != 0)
			return 0;
		a->total++;
		if (a->limit > 0 && a->shown >= a->limit)
			return 0;
	}
	a->shown++;
	jd_object(j);
	jd_kint(j, "batch", r->id);
	jd_kstr(j, "partner", r->partner);
	jd_kstr(j, "bundle", r->orig_name);
	jd_kstr(j, "state", jv_batch_state(r->state, r->counts));
	jd_kint(j, "entry_count", r->entries);
	jd_ktime(j, "received_at", r->received_at);
	jd_key(j, "counts");
	jd_counts(j, r->counts);
	jd_object_end(j);
	return 0;
}

int
jv_batches(struct jdoc *j, struct store *s, const char *partner,
    int64_t limit, struct spool_error *err)
{
	struct batches_arg a = { j, partner, limit, 0, 0 };
	int64_t total;
	int rc;

	if (store_admin_read_begin(s, err) == -1)
		return -1;
	jd_object(j);
	jd_key(j, "batches");
	jd_array(j);
	/* One partner's: all of them walked, the limit applied here. */
	rc = store_admin_batches(s, partner != NULL ? 0 : limit, batches_one,
	    &a, &total, err);
	if (partner != NULL)
		total = a.total;
	store_admin_read_end(s);
	if (rc == -1)
		return -1;
	jd_array_end(j);
	jd_kint(j, "total", total);
	jd_kint(j, "limit", limit);
	jd_object_end(j);
	return 0;
}

/* Transactions. */

static int
tx_add_msg(void *arg, struct store_admin_msg *m)
{
	struct jv_txview *v = arg;
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
	struct jv_txview *v = arg;
	struct jv_skip *n;

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

void
jv_txview_free(struct jv_txview *v)
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
	memset(v, 0, sizeof(*v));
}

/* Not a duplicate, not rejected: the message that holds its number. */
static bool
live(const struct store_admin_msg *m)
{
	return m->has_seq && m->duplicate_of == 0 && m->state != ST_REJECTED;
}

const struct jv_skip *
jv_skip_of(const struct jv_txview *v, int64_t seq)
{
	size_t i;

	for (i = 0; i < v->nskips; i++)
		if (v->skips[i].seq == seq)
			return &v->skips[i];
	return NULL;
}

const struct store_admin_msg *
jv_live_at(const struct jv_txview *v, int64_t seq)
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
int64_t
jv_next_seen(const struct jv_txview *v, int64_t seq, bool live_only)
{
	int64_t upto = v->max + 1;
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

/* What the transaction waits for, in one sentence; v->word is a stable
 * one-word summary for JSON. */
static void
tx_waiting(struct jv_txview *v)
{
	const struct store_admin_msg *m = jv_live_at(v, v->tx.next_seq);
	char t[64], behind[96], r[300];
	int64_t since = v->tx.gap_since, parked = v->parked;
	char *buf = v->waiting;
	size_t i, len = sizeof(v->waiting);

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
			v->word = "waiting";
			snprintf(buf, len, "waiting for sequence %" PRId64
			    " since %s%s", v->tx.next_seq, tlocal(t,
			    sizeof(t), since, false), behind);
		} else if (v->tx.next_seq > 1) {
			v->word = "idle";
			snprintf(buf, len, "nothing waiting: sequences 1 to %"
			    PRId64 " are processed", v->tx.next_seq - 1);
		} else {
			v->word = "idle";
			snprintf(buf, len, "nothing waiting: no message of "
			    "this transaction accepted yet");
		}
		return;
	}
	switch (m->state) {
	case ST_QUEUE:
		v->word = "ready";
		snprintf(buf, len, "sequence %" PRId64 " (message %" PRId64
		    ") is queued for processing%s", m->sender_seq, m->id,
		    behind);
		break;
	case ST_DEFERRED:
		v->word = "retrying";
		snprintf(buf, len, "sequence %" PRId64 " (message %" PRId64
		    ") failed %" PRId64 " time%s and is tried again at %s%s",
		    m->sender_seq, m->id, m->attempts, m->attempts == 1 ? "" :
		    "s", tlocal(t, sizeof(t), m->next_attempt_at, false),
		    behind);
		break;
	case ST_FAILED:
		v->word = "blocked";
		snprintf(buf, len, "blocked by sequence %" PRId64 " (message %"
		    PRId64 "), which failed: %s; retry or skip it%s",
		    m->sender_seq, m->id, first_line(r, sizeof(r), m->reason,
		    JV_SHORT_REASON), behind);
		break;
	default:
		v->word = "ready";
		snprintf(buf, len, "sequence %" PRId64 " (message %" PRId64
		    ") is %s; spoold moves the transaction on in its next "
		    "cycle%s", m->sender_seq, m->id, state_name(m->state),
		    behind);
		break;
	}
}

int
jv_txview_load(struct jv_txview *v, struct store *s, const char *partner,
    const char *txid, struct spool_error *err)
{
	struct store_admin_filter f;
	size_t i;

	memset(v, 0, sizeof(*v));
	memset(&f, 0, sizeof(f));
	f.state = -1;
	f.partner = partner;
	f.transaction_id = txid;
	f.by_seq = true;
	if ((v->known = store_admin_tx_get(s, partner, txid, &v->tx,
	    err)) == -1 ||
	    store_admin_tx_parked(s, partner, txid, &v->parked, err) == -1)
		return -1;
	if (store_admin_msg_list(s, &f, tx_add_msg, v, err) == -1 ||
	    store_admin_skips(s, partner, txid, tx_add_skip, v, err) == -1) {
		if (err->msg[0] == '\0')
			spool_seterr(err, "out of memory");
		return -1;
	}
	if (v->known == 0 && v->nmsgs == 0)
		return 0;
	v->max = v->tx.next_seq - 1;
	for (i = 0; i < v->nmsgs; i++)
		if (v->msgs[i].has_seq && v->msgs[i].sender_seq > v->max)
			v->max = v->msgs[i].sender_seq;
	for (i = 0; i < v->nskips; i++)
		if (v->skips[i].seq > v->max)
			v->max = v->skips[i].seq;
	tx_waiting(v);
	return 1;
}

static void
tx_range(struct jdoc *j, int64_t first, int64_t last)
{
	if (first > last)
		return;
	jd_object(j);
	jd_kint(j, "first", first);
	jd_kint(j, "last", last);
	jd_object_end(j);
}

/*
 * The runs of missing numbers in 1..max. Gaps: from next on, without a
 * live message or a skip. Purged: below next, without any row or skip.
 */
static void
tx_runs(struct jdoc *j, const struct jv_txview *v, bool gaps)
{
	int64_t seq = 1, upto, next = v->tx.next_seq;

	while (seq <= v->max) {
		upto = jv_next_seen(v, seq, gaps);
		if (gaps)
			tx_range(j, seq > next ? seq : next, upto - 1);
		else
			tx_range(j, seq, upto - 1 < next - 1 ? upto - 1 :
			    next - 1);
		seq = upto + 1;
	}
}

/* One number of the timeline, with its messages, attempts and skip. */
static int
tx_seq(struct jdoc *j, struct store *s, const struct jv_txview *v,
    int64_t seq, int64_t now, struct spool_error *err)
{
	const struct store_admin_msg *lm = jv_live_at(v, seq), *m;
	const struct jv_skip *k = jv_skip_of(v, seq);
	size_t i;

	jd_object(j);
	jd_kint(j, "seq", seq);
	jd_kstr(j, "status", lm != NULL ? state_name(lm->state) : k != NULL ?
	    "skipped" : seq < v->tx.next_seq ? "processed" : "gap");
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
	for (i = 0; i < v->nmsgs; i++) {
		m = &v->msgs[i];
		if (!m->has_seq || m->sender_seq != seq)
			continue;
		jv_msg_open(j, m, now);
		if (attempts_of(j, s, m->id, err) == -1)
			return -1;
		jd_object_end(j);
	}
	jd_array_end(j);
	jd_object_end(j);
	return 0;
}

static int
tx_revision(void *arg, const struct order_history_row *r)
{
	struct jdoc *j = arg;

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

static int
tx_outbound(void *arg, const struct store_admin_outbound *o)
{
	struct jdoc *j = arg;

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

static int
tx_doc(struct jdoc *j, struct store *s, const struct jv_txview *v,
    const char *partner, const char *txid, int64_t now,
    struct spool_error *err)
{
	int64_t seq, upto;
	size_t i;

	jd_object(j);
	jd_kstr(j, "partner", partner);
	jd_kstr(j, "transaction_id", txid);
	jd_kbool(j, "known", v->known == 1);
	jd_kint(j, "next_seq", v->tx.next_seq);
	jd_kint(j, "out_seq", v->tx.out_seq);
	jd_ktime(j, "gap_since", v->tx.gap_since);
	jd_ktime(j, "created_at", v->tx.created_at);
	jd_ktime(j, "updated_at", v->tx.updated_at);
	jd_kint(j, "parked", v->parked);
	jd_kstr(j, "status", v->word);
	jd_kstr(j, "waiting_for", v->waiting);
	jd_key(j, "sequences");
	jd_array(j);
	/* The numbers with messages or skips, in order. */
	for (seq = 1; seq <= v->max; seq = upto + 1) {
		upto = jv_next_seen(v, seq, false);
		if (upto <= v->max && tx_seq(j, s, v, upto, now, err) == -1)
			return -1;
	}
	jd_array_end(j);
	jd_key(j, "gaps");
	jd_array(j);
	tx_runs(j, v, true);
	jd_array_end(j);
	jd_key(j, "purged");
	jd_array(j);
	tx_runs(j, v, false);
	jd_array_end(j);
	jd_key(j, "skips");
	jd_array(j);
	for (i = 0; i < v->nskips; i++) {
		jd_object(j);
		jd_kint(j, "seq", v->skips[i].seq);
		jd_kstr(j, "user", v->skips[i].user);
		jd_kstr(j, "reason", v->skips[i].reason);
		jd_ktime(j, "at", v->skips[i].at);
		jd_object_end(j);
	}
	jd_array_end(j);
	jd_key(j, "revisions");
	jd_array(j);
	if (order_history(s, partner, txid, tx_revision, j, err) == -1)
		return -1;
	jd_array_end(j);
	jd_key(j, "outbound");
	jd_array(j);
	if (store_admin_outbound(s, partner, txid, tx_outbound, j, err) == -1)
		return -1;
	jd_array_end(j);
	jd_object_end(j);
	return 0;
}

int
jv_tx(struct jdoc *j, struct store *s, const char *partner, const char *txid,
    int64_t now, struct spool_error *err)
{
	struct jv_txview v;
	int rc;

	if (store_admin_read_begin(s, err) == -1)
		return -1;
	if ((rc = jv_txview_load(&v, s, partner, txid, err)) == 1 &&
	    tx_doc(j, s, &v, partner, txid, now, err) == -1)
		rc = -1;
	store_admin_read_end(s);
	jv_txview_free(&v);
	return rc;
}

/* list --control: one pair. */
static int
control_one(void *arg, const struct store_ic_pair *p)
{
	struct jdoc *j = arg;
	int64_t from;
	size_t i;

	jd_object(j);
	jd_kstr(j, "partner", p->partner);
	jd_kstr(j, "pair", p->pair);
	jd_kint(j, "next", p->next);
	jd_key(j, "parked");
	jd_array(j);
	for (i = 0; i < p->nparked; i++)
		jd_int(j, p->parked[i]);
	jd_array_end(j);
	/* The numbers missing before the parked ones. */
	jd_key(j, "gaps");
	jd_array(j);
	for (i = 0, from = p->next; i < p->nparked; i++) {
		if (p->parked[i] > from) {
			jd_object(j);
			jd_kint(j, "from", from);
			jd_kint(j, "to", p->parked[i] - 1);
			jd_object_end(j);
		}
		if (p->parked[i] >= from)
			from = p->parked[i] + 1;
	}
	jd_array_end(j);
	if (p->gap_since > 0)
		jd_ktime(j, "gap_since", p->gap_since);
	else
		jd_knull(j, "gap_since");
	jd_kbool(j, "gap_alerted", p->gap_alerted);
	jd_kint(j, "skipped", p->nskipped);
	jd_object_end(j);
	return 0;
}

int
jv_controls(struct jdoc *j, struct store *s, const char *partner,
    struct spool_error *err)
{
	if (store_admin_read_begin(s, err) == -1)
		return -1;
	jd_object(j);
	jd_key(j, "pairs");
	jd_array(j);
	if (store_ic_pairs(s, partner, control_one, j, err) == -1) {
		store_admin_read_end(s);
		return -1;
	}
	store_admin_read_end(s);
	jd_array_end(j);
	jd_object_end(j);
	return 0;
}

/* show --interchange: one message. */
static int
interchange_one(void *arg, const struct store_ic_msg *m)
{
	struct jdoc *j = arg;

	jd_object(j);
	jd_kint(j, "id", m->id);
	jd_kstr(j, "pair", m->pair);
	jd_kstr(j, "state", m->state >= 0 ? state_name(m->state) : NULL);
	jd_kstr(j, "type", m->type);
	jd_kopt(j, "duplicate_of", m->duplicate_of);
	jd_kstr(j, "reason", m->reason);
	jd_kstr(j, "file", m->orig_name);
	jd_kopt(j, "batch", m->batch);
	jd_object_end(j);
	return 0;
}

int
jv_interchange(struct jdoc *j, struct store *s, const char *partner,
    int64_t n, struct spool_error *err)
{
	if (store_admin_read_begin(s, err) == -1)
		return -1;
	jd_object(j);
	jd_kstr(j, "partner", partner);
	jd_kint(j, "control", n);
	jd_key(j, "messages");
	jd_array(j);
	if (store_ic_msgs(s, partner, n, interchange_one, j, err) == -1) {
		store_admin_read_end(s);
		return -1;
	}
	store_admin_read_end(s);
	jd_array_end(j);
	jd_object_end(j);
	return 0;
}
