/*
 * view_batch.c - the JSON of what arrived together: a batch (a bundle,
 * its counts and its entries' fates), the list of batches, and an EDI
 * interchange's control numbers (list --control) and messages (show
 * --interchange). Shared by spoolctl --json and the HTTP API (view.h).
 *
 * Like view.c: each builder reads in one read transaction of its own
 * and writes nothing.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "store_batch.h"
#include "store_order.h"
#include "view.h"

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
jv_batch(struct jdoc *j, struct store *s, int64_t id, bool admin,
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
	/* archive_command on a bundle rejected whole (DESIGN 18). */
	if (admin) {
		if (b.archived_at > 0)
			jd_ktime(j, "archived_at", b.archived_at);
		else
			jd_knull(j, "archived_at");
		jd_kstr(j, "archive_error", b.archive_error);
	}
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

/*
 * The end of a document whose last key is an array of rows: the read
 * transaction ends; unless the walk (rc) failed, the array and the
 * object around it are closed. 0, or -1 as rc.
 */
static int
rows_end(struct jdoc *j, struct store *s, int rc)
{
	store_admin_read_end(s);
	if (rc == -1)
		return -1;
	jd_array_end(j);
	jd_object_end(j);
	return 0;
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
	return rows_end(j, s, store_ic_pairs(s, partner, control_one, j, err));
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
	return rows_end(j, s, store_ic_msgs(s, partner, n, interchange_one, j,
	    err));
}
