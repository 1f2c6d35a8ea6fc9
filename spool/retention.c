/*
 * retention.c - spoold's own purge of done/, rejected/ and failed/
 * (DESIGN 18).
 *
 * A processed message's file leaves done/ `retention' after it reached
 * done. spoold looks at least once a minute (retention_interval) and
 * takes at most a batch per look (RETENTION_BATCH), in one short write
 * transaction, so that a look never stalls acceptance or a cycle for
 * long; what is left waits for the next look, which comes at once when
 * a batch was full.
 *
 * Crash safety: as spoolctl purge. Each row is deleted (or, when the
 * books still name it, slimmed and marked purged, keeping its keys and
 * digest so that a redelivery is a duplicate) in a savepoint; the file is
 * removed before the transaction commits, and the deletion is undone if
 * the file cannot be removed. A crash in between leaves a row without a
 * file, which the next look finishes (a missing file counts as removed);
 * never a file without a row.
 *
 * rejected/ and failed/ follow rejected_retention and failed_retention
 * (retention_state()): the files (and .reason sidecars) go, the rows
 * stay marked purged. Here the file goes first and the row is marked in
 * the same transaction: a crash before the COMMIT leaves an unmarked
 * row without a file, which the next look marks (ENOENT counts as
 * removed).
 *
 * With archive_command set, only files it has archived are removed
 * (archived_only): spoold runs it on each candidate first, outside any
 * transaction (retention_archive_list(), retention_archive_mark(),
 * spoold/archive.c); a file whose archiving failed is kept, its
 * archive_error recorded and reported. Bundle files rejected whole are
 * archived the same way, recorded on their batch (store migration 24:
 * retention_archive_list_bundles(), retention_archive_mark_bundle()).
 * The lists come in two kinds, files never tried and files whose
 * archiving failed before, each from an ID on, so that spoold tries new
 * files first and the failed ones in turn (archive.c).
 *
 * Bundle files (retention_bundles()) go after their messages: one in
 * done/ once none of its messages is left unpurged, one rejected whole
 * from rejected/ (with its .reason) after rejected_retention; the file
 * goes first, then the batch forgets its name in a transaction of its
 * own, so a crash in between leaves a batch naming a gone file, which
 * the next look forgets (ENOENT counts as removed).
 *
 * A purged message that is not a duplicate leaves a tombstone (store
 * migration 11: partner, keys, digest, type, fate), so that a redelivery
 * is still a duplicate; retention_forget() drops tombstones older than
 * dedup_window.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "retention.h"
#include "store_admin.h"
#include "store_batch.h"

#define LOGID_LEN	1536	/* id=, partner=, tx=, seq= and type= */

/* A message's identity in the log, as the cycle's (cycle_logid()). */
struct ident {
	char		*partner;	/* NULL if unknown */
	char		*tx;		/* NULL outside transactions */
	int64_t		 seq;
	char		*type;		/* NULL if unknown */
};

struct cands {
	int64_t		*id;
	char		**name;
	struct ident	*who;		/* for the log */
	bool		*gone;		/* removed, logged after the COMMIT */
	size_t		 n, cap;
};

static int
collect(void *arg, struct store_admin_msg *m)
{
	struct cands *c = arg;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		int64_t *ni;
		char **nn;
		struct ident *nw;
		bool *ng;

		if ((ni = reallocarray(c->id, cap, sizeof(*ni))) == NULL)
			return -1;
		c->id = ni;
		if ((nn = reallocarray(c->name, cap, sizeof(*nn))) == NULL)
			return -1;
		c->name = nn;
		if ((nw = reallocarray(c->who, cap, sizeof(*nw))) == NULL)
			return -1;
		c->who = nw;
		if ((ng = reallocarray(c->gone, cap, sizeof(*ng))) == NULL)
			return -1;
		c->gone = ng;
		c->cap = cap;
	}
	c->id[c->n] = m->id;
	c->name[c->n] = m->file_name;	/* take it over */
	m->file_name = NULL;
	c->who[c->n].partner = m->partner;	/* take them over */
	m->partner = NULL;
	c->who[c->n].tx = m->transaction_id;
	m->transaction_id = NULL;
	c->who[c->n].seq = m->sender_seq;
	c->who[c->n].type = m->type;
	m->type = NULL;
	c->gone[c->n] = false;
	c->n++;
	return 0;
}

static void
cands_free(struct cands *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->name[i]);
		free(c->who[i].partner);
		free(c->who[i].tx);
		free(c->who[i].type);
	}
	free(c->id);
	free(c->name);
	free(c->who);
	free(c->gone);
}

/* id=, partner=, tx= and seq= in a transaction, type=: candidate i. */
static void
cand_logid(char *buf, size_t len, const struct cands *c, size_t i)
{
	const struct ident *w = &c->who[i];

	if (w->tx != NULL)
		snprintf(buf, len, "id=%" PRId64 " partner=%s tx=%s seq=%"
		    PRId64 " type=%s", c->id[i], LOG_Q(w->partner),
		    LOG_Q(w->tx), w->seq, w->type != NULL ? LOG_Q(w->type) :
		    "-");
	else
		snprintf(buf, len, "id=%" PRId64 " partner=%s type=%s",
		    c->id[i], LOG_Q(w->partner), w->type != NULL ?
		    LOG_Q(w->type) : "-");
}

/* One line for each message whose file went, once it is committed. */
static void
log_removed(const struct cands *c, int state)
{
	char who[LOGID_LEN];
	size_t i;

	if (log_level() < LOG_DEBUG)
		return;
	for (i = 0; i < c->n; i++)
		if (c->gone[i]) {
			cand_logid(who, sizeof(who), c, i);
			log_debug("event=retention %s file=%s state=%s "
			    "status=removed", who, LOG_Q(c->name[i]),
			    spool_state_name(state));
		}
}

static bool
usable_name(const char *name)
{
	return name != NULL && name[0] != '\0' && name[0] != '.' &&
	    strchr(name, '/') == NULL;
}

int64_t
retention_state(struct store *s, struct spooldir *sd, int state,
    int64_t before, int64_t limit, bool archived_only,
    struct retention_counts *rc, struct spool_error *err)
{
	sqlite3_stmt *sel = NULL, *mark = NULL;
	struct cands c;
	char side[SPOOLDIR_NAME_MAX + 16], who[LOGID_LEN];
	size_t i;
	int r, fd = sd->state_fd[state];

	memset(&c, 0, sizeof(c));
	if (store_begin(s, err) == -1)
		return -1;
	if (store_prepare(s, &sel, "SELECT id, file_name, partner, "
	    "transaction_id, sender_seq, type FROM messages WHERE state = ?1 AND purged_at IS NULL AND updated_at < ?2 "
	    "AND (?4 = 0 OR archived_at IS NOT NULL) ORDER BY id LIMIT ?3",
	    err) == NULL ||
	    store_prepare(s, &mark, "UPDATE messages SET purged_at = ?2 "
	    "WHERE id = ?1", err) == NULL)
		goto fail;
	sqlite3_bind_text(sel, 1, spool_state_name(state), -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(sel, 2, before);
	sqlite3_bind_int64(sel, 3, limit);
	sqlite3_bind_int(sel, 4, archived_only);
	while ((r = sqlite3_step(sel)) == SQLITE_ROW) {
		struct store_admin_msg m;

		memset(&m, 0, sizeof(m));
		m.id = sqlite3_column_int64(sel, 0);
		m.sender_seq = sqlite3_column_int64(sel, 4);
		if ((m.file_name = store_col_strdup(sel, 1)) == NULL ||
		    (sqlite3_column_type(sel, 2) != SQLITE_NULL &&
		    (m.partner = store_col_strdup(sel, 2)) == NULL) ||
		    (sqlite3_column_type(sel, 3) != SQLITE_NULL &&
		    (m.transaction_id = store_col_strdup(sel, 3)) == NULL) ||
		    (sqlite3_column_type(sel, 5) != SQLITE_NULL &&
		    (m.type = store_col_strdup(sel, 5)) == NULL) ||
		    collect(&c, &m) == -1) {
			free(m.file_name);
			free(m.partner);
			free(m.transaction_id);
			free(m.type);
			spool_seterr(err, "out of memory");
			goto fail;
		}
	}
	if (r != SQLITE_DONE) {
		store_stmt_err(s, sel, err);
		goto fail;
	}
	for (i = 0; i < c.n; i++) {
		if (!usable_name(c.name[i]) || snprintf(side, sizeof(side),
		    "%s.reason", c.name[i]) >= (int)sizeof(side)) {
			rc->kept++;
			continue;
		}
		if (unlinkat(fd, c.name[i], 0) == -1 && errno != ENOENT) {
			cand_logid(who, sizeof(who), &c, i);
			log_warn("event=retention %s file=%s status=kept "
			    "reason=%s", who, LOG_Q(c.name[i]),
			    LOG_Q(strerror(errno)));
			rc->kept++;
			continue;
		}
		(void)unlinkat(fd, side, 0);
		sqlite3_reset(mark);
		sqlite3_bind_int64(mark, 1, c.id[i]);
		sqlite3_bind_int64(mark, 2, store_now_ms());
		if (sqlite3_step(mark) != SQLITE_DONE) {
			store_stmt_err(s, mark, err);
			goto fail;
		}
		rc->removed++;
		c.gone[i] = true;
	}
	if (c.n > 0 && spooldir_fsync_fd(fd, spooldir_dir_name(state),
	    err) == -1)
		goto fail;
	if (store_commit(s, err) == -1)
		goto fail;
	log_removed(&c, state);
	sqlite3_finalize(sel);
	sqlite3_finalize(mark);
	r = (int)c.n;
	cands_free(&c);
	return r;
fail:
	sqlite3_finalize(sel);
	sqlite3_finalize(mark);
	store_rollback(s);
	cands_free(&c);
	return -1;
}

int64_t
retention_forget(struct store *s, int64_t before, struct spool_error *err)
{
	sqlite3_stmt *st = NULL;
	int64_t n;

	if (store_begin(s, err) == -1)
		return -1;
	if (store_prepare(s, &st, "DELETE FROM tombstones WHERE "
	    "purged_at < ?1", err) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, before);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_stmt_err(s, st, err);
		goto fail;
	}
	n = sqlite3_changes(s->db);
	sqlite3_finalize(st);
	st = NULL;
	if (store_commit(s, err) == -1)
		goto fail;
	return n;
fail:
	sqlite3_finalize(st);
	store_rollback(s);
	return -1;
}

int64_t
retention_done(struct store *s, struct spooldir *sd, int64_t before,
    int64_t limit, bool archived_only, struct retention_counts *rc,
    struct spool_error *err)
{
	struct store_admin_purge *p = NULL;
	struct cands c;
	char who[LOGID_LEN];
	size_t i;
	int r;

	memset(&c, 0, sizeof(c));
	if ((p = store_admin_purge_open(s, err)) == NULL)
		return -1;
	if (store_begin(s, err) == -1)
		goto fail;
	if (store_admin_purge_candidates(s, before, INT64_MAX, limit,
	    archived_only, collect, &c, err) == -1) {
		if (err->msg[0] == '\0')
			spool_seterr(err, "out of memory");
		goto rollback;
	}
	for (i = 0; i < c.n; i++) {
		if (!usable_name(c.name[i])) {
			rc->kept++;
			continue;
		}
		if ((r = store_admin_purge_row(p, c.id[i], err)) == -1)
			goto rollback;
		if (r == 0) {
			rc->kept++;
			continue;
		}
		if (unlinkat(sd->state_fd[ST_DONE], c.name[i], 0) == -1 &&
		    errno != ENOENT) {
			cand_logid(who, sizeof(who), &c, i);
			log_warn("event=retention %s file=%s status=kept "
			    "reason=%s", who, LOG_Q(c.name[i]),
			    LOG_Q(strerror(errno)));
			if (store_admin_purge_done(p, false, err) == -1)
				goto rollback;
			rc->kept++;
			continue;
		}
		if (store_admin_purge_done(p, true, err) == -1)
			goto rollback;
		rc->removed++;
		c.gone[i] = true;
	}
	if (c.n > 0 && spooldir_fsync_fd(sd->state_fd[ST_DONE], "done",
	    err) == -1)
		goto rollback;
	if (store_commit(s, err) == -1)
		goto rollback;
	log_removed(&c, ST_DONE);
	store_admin_purge_close(p);
	r = (int)c.n;
	cands_free(&c);
	return r;
rollback:
	store_rollback(s);
fail:
	store_admin_purge_close(p);
	cands_free(&c);
	return -1;
}

int
retention_archive_list(struct store *s, int state, int64_t before,
    int64_t limit, bool failed, int64_t after, int64_t upto,
    int (*fn)(void *, const struct retention_file *), void *arg,
    struct spool_error *err)
{
	sqlite3_stmt *st = NULL;
	struct retention_file f;
	int r, ret = 0;

	/* Two texts, so that the failed ones are found through the partial
	 * index messages_archive_error. */
	if (store_prepare(s, &st, failed ? "SELECT id, partner, type, "
	    "transaction_id, sender_seq, file_name, 1 FROM messages "
	    "WHERE archive_error IS NOT NULL AND state = ?1 AND purged_at IS "
	    "NULL AND updated_at < ?2 AND archived_at IS NULL AND id > ?4 AND "
	    "id <= ?5 ORDER BY id LIMIT ?3" : "SELECT id, partner, type, "
	    "transaction_id, sender_seq, file_name, 0 FROM messages "
	    "WHERE state = ?1 AND purged_at IS NULL AND updated_at < ?2 AND "
	    "archived_at IS NULL AND archive_error IS NULL AND id > ?4 AND "
	    "id <= ?5 ORDER BY id LIMIT ?3", err) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, spool_state_name(state), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, before);
	sqlite3_bind_int64(st, 3, limit);
	sqlite3_bind_int64(st, 4, after);
	sqlite3_bind_int64(st, 5, upto);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&f, 0, sizeof(f));
		f.id = sqlite3_column_int64(st, 0);
		f.state = state;
		f.partner = (const char *)sqlite3_column_text(st, 1);
		f.type = (const char *)sqlite3_column_text(st, 2);
		f.transaction_id = (const char *)sqlite3_column_text(st, 3);
		f.sender_seq = sqlite3_column_int64(st, 4);
		f.file_name = (const char *)sqlite3_column_text(st, 5);
		f.failed_before = sqlite3_column_int(st, 6) != 0;
		if (f.partner == NULL || f.file_name == NULL)
			continue;
		if (fn(arg, &f) == -1) {
			ret = -1;
			break;
		}
	}
	if (ret == 0 && r != SQLITE_DONE) {
		store_stmt_err(s, st, err);
		ret = -1;
	}
	sqlite3_finalize(st);
	return ret;
}

/* Record an archiving's outcome on a message's row (sql names messages)
 * or a bundle's (batches): archived now, or the error. */
static int
archive_mark(struct store *s, const char *sql, int64_t id, const char *error,
    struct spool_error *err)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (store_prepare(s, &st, sql, err) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (error != NULL)
		sqlite3_bind_text(st, 2, error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, store_now_ms());
	r = sqlite3_step(st);
	if (r != SQLITE_DONE)
		store_stmt_err(s, st, err);
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? 0 : -1;
}

int
retention_archive_mark(struct store *s, int64_t id, const char *error,
    struct spool_error *err)
{
	return archive_mark(s, "UPDATE messages SET archived_at = CASE WHEN "
	    "?2 IS NULL THEN ?3 END, archive_error = ?2 WHERE id = ?1", id,
	    error, err);
}

int
retention_archive_list_bundles(struct store *s, int64_t before,
    int64_t limit, bool failed, int64_t after, int64_t upto,
    int (*fn)(void *, const struct retention_file *), void *arg,
    struct spool_error *err)
{
	sqlite3_stmt *st = NULL;
	struct retention_file f;
	int r, ret = 0;

	/* The candidates of retention_bundles(ST_REJECTED) not archived. */
	if (store_prepare(s, &st, failed ? "SELECT id, partner, file_name, 1 "
	    "FROM batches WHERE archive_error IS NOT NULL AND state = "
	    "'rejected' AND file_name <> '' AND received_at < ?1 AND "
	    "archived_at IS NULL AND id > ?3 AND id <= ?4 ORDER BY id "
	    "LIMIT ?2" :
	    "SELECT id, partner, file_name, 0 FROM batches WHERE state = "
	    "'rejected' AND file_name <> '' AND received_at < ?1 AND "
	    "archived_at IS NULL AND archive_error IS NULL AND id > ?3 AND "
	    "id <= ?4 ORDER BY id LIMIT ?2", err) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int64(st, 2, limit);
	sqlite3_bind_int64(st, 3, after);
	sqlite3_bind_int64(st, 4, upto);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&f, 0, sizeof(f));
		f.batch = sqlite3_column_int64(st, 0);
		f.state = ST_REJECTED;
		f.partner = (const char *)sqlite3_column_text(st, 1);
		f.file_name = (const char *)sqlite3_column_text(st, 2);
		f.failed_before = sqlite3_column_int(st, 3) != 0;
		if (f.partner == NULL || f.file_name == NULL)
			continue;
		if (fn(arg, &f) == -1) {
			ret = -1;
			break;
		}
	}
	if (ret == 0 && r != SQLITE_DONE) {
		store_stmt_err(s, st, err);
		ret = -1;
	}
	sqlite3_finalize(st);
	return ret;
}

int
retention_archive_mark_bundle(struct store *s, int64_t id, const char *error,
    struct spool_error *err)
{
	return archive_mark(s, "UPDATE batches SET archived_at = CASE WHEN "
	    "?2 IS NULL THEN ?3 END, archive_error = ?2 WHERE id = ?1", id,
	    error, err);
}

static int
bundle_collect(void *arg, int64_t id, const char *name)
{
	struct store_admin_msg m;

	memset(&m, 0, sizeof(m));
	m.id = id;
	if ((m.file_name = strdup(name)) == NULL)
		return -1;
	if (collect(arg, &m) == -1) {
		free(m.file_name);
		return -1;
	}
	return 0;
}

int64_t
retention_bundles(struct store *s, struct spooldir *sd, int state,
    int64_t before, int64_t limit, bool dry_run, bool archived_only,
    struct spool_error *err)
{
	struct cands c;
	char side[SPOOLDIR_NAME_MAX + 16];
	int64_t n = 0;
	size_t i;
	int fd = sd->state_fd[state];

	memset(&c, 0, sizeof(c));
	if (store_admin_read_begin(s, err) == -1)
		return -1;
	if (store_batch_purge_candidates(s, state == ST_REJECTED ?
	    SBP_REJECTED : dry_run ? SBP_DONE_DRY : SBP_DONE, before,
	    archived_only, limit, bundle_collect, &c, err) == -1) {
		store_admin_read_end(s);
		if (err->msg[0] == '\0')
			spool_seterr(err, "out of memory");
		n = -1;
		goto out;
	}
	store_admin_read_end(s);
	for (i = 0; i < c.n; i++) {
		if (!usable_name(c.name[i]) || snprintf(side, sizeof(side),
		    "%s.reason", c.name[i]) >= (int)sizeof(side))
			continue;
		if (dry_run) {
			n++;
			continue;
		}
		if (unlinkat(fd, c.name[i], 0) == -1 && errno != ENOENT) {
			spool_seterr(err, "cannot remove %s/%s: %s",
			    spooldir_dir_name(state), c.name[i],
			    strerror(errno));
			n = -1;
			goto out;
		}
		if (state == ST_REJECTED)
			(void)unlinkat(fd, side, 0);
		if (store_begin(s, err) == -1) {
			n = -1;
			goto out;
		}
		if (store_batch_forget_file(s, c.id[i], err) == -1 ||
		    store_commit(s, err) == -1) {
			store_rollback(s);
			n = -1;
			goto out;
		}
		n++;
	}
	if (!dry_run && n > 0)
		spooldir_fsync_fd(fd, spooldir_dir_name(state), NULL);
out:
	cands_free(&c);
	return n;
}
