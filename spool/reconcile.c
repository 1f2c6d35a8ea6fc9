/*
 * reconcile.c - make the state directories tell the store's story.
 *
 * The store is the truth; each message file should lie in the directory
 * of its row's state (DESIGN 3). Three things can disagree: a file whose
 * name names no row (or a row that names another file), a file in the
 * wrong state directory, a row whose file is nowhere. The second is what
 * a crash between a commit and its renames leaves behind, and the only
 * one repaired: the file is renamed to where its row says. Nothing is
 * deleted here, ever: a file without a row and a row without a file are
 * reported for a person to judge. The one exception is a person's own
 * act: spoolctl check --repair (include_done) settles a done, rejected
 * or failed row whose file was removed by hand, recording who and when
 * (settle_removed()).
 *
 * How: pass 1 lists each state directory looked at and looks up each
 * file's row by the ID in its name (a primary-key lookup), then walks
 * the rows and stats each one's file in its directory. What disagrees is
 * only a candidate: spoold commits first and renames after, so a file
 * it is moving looks misplaced for a moment. Pass 2, a moment later,
 * looks at each candidate afresh, and only what still disagrees is
 * reported (and repaired). Memory grows with the candidates, not with
 * the spool.
 *
 * Bundle files (<partner>,<name>,<batch>.bundle in done/ or rejected/)
 * are judged against their batch row, as message files against theirs,
 * and (include_done) each batch that names a bundle file is looked for
 * it (check_batch()); one whose file an admin removed by hand is
 * settled by --repair as a message row is (settle_bundle_removed()): the
 * batch forgets the name, so that retention and archive_command stop
 * trying it.
 *
 * One row without a file is settled rather than reported: a message
 * still to be processed whose upload the partner removed after spoold's
 * COMMIT but before spoold had its own copy (a crash came between, or
 * the batch held too many bytes to keep them all). Its bytes are gone
 * for good, so retrying would only fail until it became a dead letter:
 * reconcile_settle_lost() makes it failed at once, with the reason
 * RECONCILE_LOST_REASON (in the store and in failed/<name>.reason),
 * and such a row is not reported again.
 *
 * Names come from the store or from the directory, never from partner
 * input; a name with '/' or a leading '.' is never used as a path.
 *
 * Length: a little over the project's 800 lines since batches are
 * checked too; messages and batches share the walk of the directories
 * and the settling notes, which a split would repeat.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "reconcile.h"
#include "store_admin.h"
#include "store_batch.h"
#include "store_cycle.h"

#define RECONCILE_SETTLE_MS	200

/* A file that disagreed in pass 1. */
struct file_cand {
	int64_t		 id;	/* from its name, 0 if none */
	int		 dir;		/* enum spool_state */
	char		*name;
	bool		 reported;	/* as misplaced, in pass 2 */
};

struct run {
	struct spooldir		*sd;
	struct store		*store;
	bool			 repair;
	bool			 include_done;
	void			(*report)(void *,
			    const struct reconcile_finding *);
	void			*arg;
	struct reconcile_stats	 stats;
	struct file_cand	*files;
	size_t			 nfiles, capfiles;
	int64_t			*rows;
	size_t			 nrows, caprows;
	int64_t			*batches;	/* without a file */
	size_t			 nbatches, capbatches;
	struct spool_error	*err;
};

const char *
reconcile_kind_name(enum reconcile_kind k)
{
	switch (k) {
	case RECONCILE_FILE_WITHOUT_ROW:
		return "file_without_row";
	case RECONCILE_WRONG_DIR:
		return "wrong_directory";
	case RECONCILE_ROW_WITHOUT_FILE:
		return "row_without_file";
	}
	return "?";
}

/* The ID in "...,<id><ext>": 1 and *id, or 0. */
/* A row's message in a log line, as the cycle's (cycle_logid()). */
static const char *
ref_logid(char *buf, size_t len, const struct store_msgref *ref)
{
	if (ref->transaction_id != NULL)
		snprintf(buf, len, "id=%" PRId64 " partner=%s tx=%s seq=%"
		    PRId64, ref->id, LOG_Q(ref->partner),
		    LOG_Q(ref->transaction_id), ref->sender_seq);
	else
		snprintf(buf, len, "id=%" PRId64 " partner=%s", ref->id,
		    LOG_Q(ref->partner));
	return buf;
}

static int
name_id(const char *name, const char *ext, int64_t *id)
{
	const char *comma, *p;
	int64_t v = 0;

	*id = 0;
	if ((comma = strrchr(name, ',')) == NULL)
		return 0;
	for (p = comma + 1; *p >= '0' && *p <= '9'; p++) {
		if (v > (INT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (*p - '0');
	}
	if (p == comma + 1 || comma[1] == '0' || strcmp(p, ext) != 0)
		return 0;
	*id = v;
	return 1;
}

int
reconcile_name_id(const char *name, int64_t *id)
{
	return name_id(name, ".xml", id) || name_id(name, ".rejected", id) ||
	    name_id(name, ".held", id);
}

/* The batch ID in a bundle file's name (spooldir_bundle_name()). */
static int
bundle_name_id(const char *name, int64_t *id)
{
	return name_id(name, ".bundle", id);
}

/* May a name from the store or a directory be used as a name in a state
 * directory? */
static bool
name_ok(const char *name)
{
	return name[0] != '\0' && name[0] != '.' && strchr(name, '/') ==
	    NULL && strlen(name) <= SPOOLDIR_NAME_MAX + 16;
}

static bool
looked_at(const struct run *r, int st)
{
	return st != ST_DONE || r->include_done;
}

/* Is name in state directory st? 1 yes, 0 no, -1 error. */
static int
present(struct run *r, int st, const char *name)
{
	struct stat sb;

	if (fstatat(r->sd->state_fd[st], name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	spool_seterr(r->err, "%s/%s: %s", spooldir_dir_name(st), LOG_Q(name),
	    strerror(errno));
	return -1;
}

/* Where is a row's file, other than in its own directory? -1: nowhere. */
static int
find_elsewhere(struct run *r, int own, const char *name, int *where)
{
	int st, rc;

	*where = -1;
	for (st = 0; st < ST_NSTATES; st++) {
		if (st == own)
			continue;
		if ((rc = present(r, st, name)) == -1)
			return -1;
		if (rc == 1) {
			*where = st;
			return 0;
		}
	}
	return 0;
}

/* A bundle file: does its batch name it, in this directory? */
static int
judge_bundle(struct run *r, int dir, const char *name, int64_t id,
    enum reconcile_kind *kind, int *expected)
{
	struct store_batch b;
	int rc;

	if ((rc = store_batch_get(r->store, id, &b, r->err)) == -1)
		return -1;
	if (rc == 0)
		return 1;
	rc = 1;
	if (strcmp(b.file_name, name) == 0 && b.state >= 0 &&
	    b.state < ST_NSTATES) {
		if (b.state == dir)
			rc = 0;
		else {
			*kind = RECONCILE_WRONG_DIR;
			*expected = b.state;
		}
	}
	store_batch_free(&b);
	return rc;
}

/*
 * What the store says of file name in directory dir: 0 it agrees, 1 it
 * does not (kind and expected filled), -1 error.
 */
static int
judge_file(struct run *r, int dir, const char *name, int64_t *id,
    enum reconcile_kind *kind, int *expected)
{
	struct store_msgref ref;
	int rc;

	*expected = -1;
	*kind = RECONCILE_FILE_WITHOUT_ROW;
	if (bundle_name_id(name, id))
		return judge_bundle(r, dir, name, *id, kind, expected);
	if (!reconcile_name_id(name, id))
		return 1;
	if ((rc = store_get(r->store, *id, &ref, r->err)) == -1)
		return -1;
	if (rc == 0)
		return 1;
	/* A row that names another file does not own this one. */
	rc = 1;
	if (strcmp(ref.file_name, name) == 0 && ref.state >= 0 &&
	    ref.state < ST_NSTATES) {
		if (ref.state == dir)
			rc = 0;
		else {
			*kind = RECONCILE_WRONG_DIR;
			*expected = ref.state;
		}
	}
	store_msgref_free(&ref);
	return rc;
}

static int
add_file(struct run *r, int64_t id, int dir, const char *name)
{
	struct file_cand *nf;

	if (r->nfiles == r->capfiles) {
		size_t cap = r->capfiles ? r->capfiles * 2 : 16;

		if ((nf = reallocarray(r->files, cap, sizeof(*nf))) == NULL)
			goto oom;
		r->files = nf;
		r->capfiles = cap;
	}
	if ((r->files[r->nfiles].name = strdup(name)) == NULL)
		goto oom;
	r->files[r->nfiles].id = id;
	r->files[r->nfiles].dir = dir;
	r->files[r->nfiles].reported = false;
	r->nfiles++;
	return 0;
oom:
	spool_seterr(r->err, "out of memory");
	return -1;
}

static int
add_id(struct run *r, int64_t **v, size_t *n, size_t *capp, int64_t id)
{
	int64_t *nr;

	if (*n == *capp) {
		size_t cap = *capp ? *capp * 2 : 16;

		if ((nr = reallocarray(*v, cap, sizeof(*nr))) == NULL) {
			spool_seterr(r->err, "out of memory");
			return -1;
		}
		*v = nr;
		*capp = cap;
	}
	(*v)[(*n)++] = id;
	return 0;
}

static int
add_row(struct run *r, int64_t id)
{
	return add_id(r, &r->rows, &r->nrows, &r->caprows, id);
}

/* Pass 1, files: list one state directory. */
static int
scan_dir(struct run *r, int dir)
{
	enum reconcile_kind kind;
	struct dirent *de;
	int64_t id;
	size_t len;
	DIR *d;
	int fd, expected, rc = -1;

	fd = openat(r->sd->state_fd[dir], ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		spool_seterr(r->err, "cannot list %s/%s: %s", r->sd->root,
		    spooldir_dir_name(dir), strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				spool_seterr(r->err, "cannot list %s/%s: %s",
				    r->sd->root, spooldir_dir_name(dir),
				    strerror(errno));
				goto out;
			}
			break;
		}
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || (len >= 7 &&
		    strcmp(de->d_name + len - 7, ".reason") == 0))
			continue;
		r->stats.files++;
		switch (judge_file(r, dir, de->d_name, &id, &kind,
		    &expected)) {
		case -1:
			goto out;
		case 1:
			if (add_file(r, id, dir, de->d_name) == -1)
				goto out;
			break;
		}
	}
	rc = 0;
out:
	closedir(d);
	return rc;
}

/* Pass 1, rows: is each row's file in its directory? */
static int
check_row(void *arg, int64_t id, int state, const char *name)
{
	struct run *r = arg;
	int rc, where;

	r->stats.rows++;
	if (state < 0 || state >= ST_NSTATES)
		return 0;
	if (!name_ok(name))
		return add_row(r, id);
	if ((rc = present(r, state, name)) == -1)
		return -1;
	if (rc == 1)
		return 0;
	if (find_elsewhere(r, state, name, &where) == -1)
		return -1;
	/* A misplaced file in a directory listed above is a candidate
	 * already. */
	if (where >= 0 && looked_at(r, where))
		return 0;
	return add_row(r, id);
}

/* Pass 1, batch rows (include_done): is each bundle file where its
 * batch says? One lying in another state directory is a file candidate
 * already. */
static int
check_batch(void *arg, int64_t id, int state, const char *name)
{
	struct run *r = arg;
	int rc, where;

	r->stats.rows++;
	if (state != ST_DONE && state != ST_REJECTED)
		return 0;
	if (!name_ok(name))
		return add_id(r, &r->batches, &r->nbatches, &r->capbatches,
		    id);
	if ((rc = present(r, state, name)) == -1)
		return -1;
	if (rc == 1)
		return 0;
	if (find_elsewhere(r, state, name, &where) == -1)
		return -1;
	if (where >= 0)
		return 0;
	return add_id(r, &r->batches, &r->nbatches, &r->capbatches, id);
}

static void
emit_f(struct run *r, enum reconcile_kind kind, int64_t id, bool batch,
    int found, int expected, const char *name, bool repaired,
    const char *error)
{
	struct reconcile_finding f;

	f.kind = kind;
	f.id = id;
	f.batch = batch;
	f.found = found;
	f.expected = expected;
	f.file_name = name;
	f.repaired = repaired;
	f.error = error;
	r->stats.findings++;
	if (repaired)
		r->stats.repaired++;
	if (r->report != NULL)
		r->report(r->arg, &f);
}

static void
emit(struct run *r, enum reconcile_kind kind, int64_t id, int found,
    int expected, const char *name, bool repaired, const char *error)
{
	emit_f(r, kind, id, false, found, expected, name, repaired, error);
}

/* Move a misplaced file (and, to failed/ or rejected/, its sidecar). */
static void
repair_move(struct run *r, int64_t id, int from, int to, const char *name)
{
	struct spool_error merr;
	char reason[SPOOLDIR_NAME_MAX + 32], why[SPOOL_ERRLEN + 64];

	spool_clearerr(&merr);
	if (spooldir_move(r->sd, -1, from, name, to, name, &merr) == -1) {
		emit(r, RECONCILE_WRONG_DIR, id, from, to, name, false,
		    merr.msg);
		return;
	}
	why[0] = '\0';
	if ((to == ST_FAILED || to == ST_REJECTED) &&
	    snprintf(reason, sizeof(reason), "%s.reason", name) <
	    (int)sizeof(reason) && present(r, from, reason) == 1 &&
	    present(r, to, reason) == 0 && spooldir_move(r->sd, -1, from,
	    reason, to, reason, &merr) == -1)
		snprintf(why, sizeof(why), "moved, but its .reason sidecar "
		    "stayed behind: %s", merr.msg);
	emit(r, RECONCILE_WRONG_DIR, id, from, to, name, true,
	    why[0] != '\0' ? why : NULL);
}

static int
cmp_cand(const void *a, const void *b)
{
	const struct file_cand *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Was message id's file in directory dir reported as misplaced already?
 * (r->files is sorted by ID.) */
static bool
reported_as_file(const struct run *r, int64_t id, int dir)
{
	struct file_cand key;
	const struct file_cand *hit;
	size_t i, lo;

	if (r->nfiles == 0)
		return false;
	key.id = id;
	if ((hit = bsearch(&key, r->files, r->nfiles, sizeof(*r->files),
	    cmp_cand)) == NULL)
		return false;
	for (lo = (size_t)(hit - r->files); lo > 0 && r->files[lo - 1].id ==
	    id; lo--)
		;
	for (i = lo; i < r->nfiles && r->files[i].id == id; i++)
		if (r->files[i].dir == dir && r->files[i].reported)
			return true;
	return false;
}

/* Pass 2, a file candidate: still there, still wrong? */
static int
confirm_file(struct run *r, struct file_cand *c)
{
	enum reconcile_kind kind;
	int64_t id;
	int rc, expected;

	if ((rc = present(r, c->dir, c->name)) <= 0)
		return rc;
	if ((rc = judge_file(r, c->dir, c->name, &id, &kind, &expected)) <= 0)
		return rc;
	if (kind == RECONCILE_WRONG_DIR && r->repair) {
		repair_move(r, id, c->dir, expected, c->name);
		c->reported = true;
	} else {
		emit(r, kind, id, c->dir, expected, c->name, false, NULL);
		c->reported = kind == RECONCILE_WRONG_DIR;
	}
	return 0;
}

/* A row settled by reconcile_settle_lost(): failed, and its sidecar
 * says why. */
static bool
settled_lost(struct run *r, const struct store_msgref *ref)
{
	char name[SPOOLDIR_NAME_MAX + 16], line[sizeof(RECONCILE_LOST_REASON)];
	size_t want = sizeof(line) - 1, off = 0;
	ssize_t n;
	int fd;

	if (ref->state != ST_FAILED || snprintf(name, sizeof(name),
	    "%s.reason", ref->file_name) >= (int)sizeof(name))
		return false;
	fd = openat(r->sd->state_fd[ST_FAILED], name, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return false;
	while (off < want) {
		n = read(fd, line + off, want - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	return off == want && memcmp(line, RECONCILE_LOST_REASON, want) == 0;
}

int
reconcile_settle_lost(struct spooldir *sd, struct store *store, int64_t id,
    struct spool_error *err)
{
	struct store_msgref ref;
	char text[SPOOLDIR_NAME_MAX + 256], who[1536];
	int rc, ret = -1;

	memset(&ref, 0, sizeof(ref));
	if (store_begin(store, err) == -1)
		return -1;
	if ((rc = store_get(store, id, &ref, err)) == -1)
		goto rollback;
	if (rc == 0 || (ref.state != ST_QUEUE && ref.state != ST_PARKED &&
	    ref.state != ST_DEFERRED) || !name_ok(ref.file_name)) {
		store_rollback(store);
		ret = 0;
		goto out;
	}
	if (store_mark_failed(store, id, RECONCILE_LOST_REASON, err) == -1)
		goto rollback;
	if (store_commit(store, err) == -1)
		goto rollback;
	/* After COMMIT: a crash before the sidecar leaves a failed row
	 * without one, which is reported as a row without a file. */
	snprintf(text, sizeof(text), "%s\npartner: %s\nfile: %s\nid: %"
	    PRId64 "\n", RECONCILE_LOST_REASON, ref.partner,
	    ref.orig_name != NULL ? ref.orig_name : "-", id);
	if (spooldir_write_reason(sd, ST_FAILED, ref.file_name, text, err) ==
	    -1)
		goto out;
	log_warn("event=lost %s file=%s state=failed reason=%s",
	    ref_logid(who, sizeof(who), &ref), ref.orig_name != NULL ?
	    LOG_Q(ref.orig_name) : "-", LOG_Q(RECONCILE_LOST_REASON));
	ret = 1;
	goto out;
rollback:
	store_rollback(store);
out:
	store_msgref_free(&ref);
	return ret;
}

/*
 * A row of a final state (done, rejected, failed) whose file an admin
 * removed by hand: with the full check's --repair (include_done: an
 * admin's act, never spoold's start-up), record it as removed, by whom
 * and when, and stop reporting it (store_admin_settle_removed()); a
 * .reason sidecar the admin left is removed.
 */
/* The record of a settled row: who and when. */
static void
settle_note(char *note, size_t len)
{
	struct passwd *pw;
	struct tm tm;
	time_t now = time(NULL);
	char t[32];

	pw = getpwuid(geteuid());
	gmtime_r(&now, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(note, len, "file removed by hand; settled by "
	    "spoolctl check --repair as %s (uid %ld) at %s",
	    pw != NULL ? pw->pw_name : "?", (long)geteuid(), t);
}

static void
settle_removed(struct run *r, const struct store_msgref *ref)
{
	struct spool_error err;
	char note[256], who[1536], side[SPOOLDIR_NAME_MAX + 16];
	int rc;

	settle_note(note, sizeof(note));
	spool_clearerr(&err);
	rc = store_admin_settle_removed(r->store, ref->id, note, &err);
	if (rc == 1)
		log_notice("event=settle %s file=%s reason=%s",
		    ref_logid(who, sizeof(who), ref), LOG_Q(ref->file_name),
		    LOG_Q(note));
	/* A .reason sidecar left behind goes too: nothing else would
	 * remove it (retention skips a row marked purged). */
	if (rc == 1 && (ref->state == ST_REJECTED || ref->state ==
	    ST_FAILED) && snprintf(side, sizeof(side), "%s.reason",
	    ref->file_name) < (int)sizeof(side))
		(void)unlinkat(r->sd->state_fd[ref->state], side, 0);
	emit(r, RECONCILE_ROW_WITHOUT_FILE, ref->id, -1, ref->state,
	    ref->file_name, rc == 1, rc == -1 ? err.msg : NULL);
}

/* Pass 2, a row candidate: still without its file? */
static int
confirm_row(struct run *r, int64_t id)
{
	struct store_msgref ref;
	int rc, where, ret = -1;

	if ((rc = store_get(r->store, id, &ref, r->err)) <= 0)
		return rc;
	if (ref.state < 0 || ref.state >= ST_NSTATES ||
	    !looked_at(r, ref.state)) {
		ret = 0;
		goto out;
	}
	if (!name_ok(ref.file_name)) {
		emit(r, RECONCILE_ROW_WITHOUT_FILE, id, -1, ref.state,
		    ref.file_name, false, NULL);
		ret = 0;
		goto out;
	}
	if ((rc = present(r, ref.state, ref.file_name)) == -1)
		goto out;
	if (rc == 1) {
		ret = 0;
		goto out;
	}
	if (find_elsewhere(r, ref.state, ref.file_name, &where) == -1)
		goto out;
	if (where < 0 && settled_lost(r, &ref)) {
		ret = 0;
		goto out;
	}
	if (where < 0 && r->repair && r->include_done &&
	    (ref.state == ST_DONE || ref.state == ST_REJECTED ||
	    ref.state == ST_FAILED)) {
		settle_removed(r, &ref);
		ret = 0;
		goto out;
	}
	if (where < 0)
		emit(r, RECONCILE_ROW_WITHOUT_FILE, id, -1, ref.state,
		    ref.file_name, false, NULL);
	else if (!reported_as_file(r, id, where)) {
		if (r->repair)
			repair_move(r, id, where, ref.state, ref.file_name);
		else
			emit(r, RECONCILE_WRONG_DIR, id, where, ref.state,
			    ref.file_name, false, NULL);
	}
	ret = 0;
out:
	store_msgref_free(&ref);
	return ret;
}

/*
 * A batch whose bundle file an admin removed by hand (--repair of the
 * full check): the batch forgets the name, the note says who and when
 * (store_admin_settle_bundle_removed()); a .reason sidecar of a bundle
 * rejected whole goes too.
 */
static void
settle_bundle_removed(struct run *r, const struct store_batch *b)
{
	struct spool_error err;
	char note[256], side[SPOOLDIR_NAME_MAX + 16];
	int rc;

	settle_note(note, sizeof(note));
	spool_clearerr(&err);
	rc = store_admin_settle_bundle_removed(r->store, b->id, b->file_name,
	    note, &err);
	if (rc == 1)
		log_notice("event=settle batch=%" PRId64 " partner=%s file=%s "
		    "reason=%s", b->id, LOG_Q(b->partner),
		    LOG_Q(b->file_name), LOG_Q(note));
	if (rc == 1 && b->state == ST_REJECTED && snprintf(side,
	    sizeof(side), "%s.reason", b->file_name) < (int)sizeof(side))
		(void)unlinkat(r->sd->state_fd[ST_REJECTED], side, 0);
	emit_f(r, RECONCILE_ROW_WITHOUT_FILE, b->id, true, -1, b->state,
	    b->file_name, rc == 1, rc == -1 ? err.msg : NULL);
}

/* Pass 2, a batch candidate: does it still name a file that is
 * nowhere? */
static int
confirm_batch(struct run *r, int64_t id)
{
	struct store_batch b;
	int rc, where, ret = -1;

	if ((rc = store_batch_get(r->store, id, &b, r->err)) <= 0)
		return rc;
	if (b.file_name == NULL || b.file_name[0] == '\0' ||
	    (b.state != ST_DONE && b.state != ST_REJECTED)) {
		ret = 0;
		goto out;
	}
	if (!name_ok(b.file_name)) {
		emit_f(r, RECONCILE_ROW_WITHOUT_FILE, id, true, -1, b.state,
		    b.file_name, false, NULL);
		ret = 0;
		goto out;
	}
	if ((rc = present(r, b.state, b.file_name)) == -1)
		goto out;
	if (rc == 1) {
		ret = 0;
		goto out;
	}
	if (find_elsewhere(r, b.state, b.file_name, &where) == -1)
		goto out;
	if (where < 0 && r->repair)
		settle_bundle_removed(r, &b);
	else if (where < 0)
		emit_f(r, RECONCILE_ROW_WITHOUT_FILE, id, true, -1, b.state,
		    b.file_name, false, NULL);
	ret = 0;
out:
	store_batch_free(&b);
	return ret;
}

static void
settle(void)
{
	struct timespec ts = { 0, RECONCILE_SETTLE_MS * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int
reconcile_run(struct spooldir *sd, struct store *store, bool repair,
    bool include_done,
    void (*report)(void *, const struct reconcile_finding *), void *arg,
    struct reconcile_stats *stats, struct spool_error *err)
{
	struct run r;
	size_t i;
	int st, ret = -1;

	memset(&r, 0, sizeof(r));
	r.sd = sd;
	r.store = store;
	r.repair = repair;
	r.include_done = include_done;
	r.report = report;
	r.arg = arg;
	r.err = err;

	/* Pass 1: candidates. */
	for (st = 0; st < ST_NSTATES; st++)
		if (looked_at(&r, st) && scan_dir(&r, st) == -1)
			goto out;
	if (store_admin_rows(store, include_done, check_row, &r, err) == -1)
		goto out;
	if (include_done && store_admin_batch_rows(store, check_batch, &r,
	    err) == -1)
		goto out;

	/* Pass 2: what still disagrees a moment later. */
	if (r.nfiles > 0 || r.nrows > 0 || r.nbatches > 0)
		settle();
	if (r.nfiles > 0)
		qsort(r.files, r.nfiles, sizeof(*r.files), cmp_cand);
	for (i = 0; i < r.nfiles; i++)
		if (confirm_file(&r, &r.files[i]) == -1)
			goto out;
	for (i = 0; i < r.nrows; i++)
		if (confirm_row(&r, r.rows[i]) == -1)
			goto out;
	for (i = 0; i < r.nbatches; i++)
		if (confirm_batch(&r, r.batches[i]) == -1)
			goto out;
	if (spooldir_sync(sd, err) == -1)
		goto out;
	ret = (int)(r.stats.findings - r.stats.repaired);
out:
	if (stats != NULL)
		*stats = r.stats;
	for (i = 0; i < r.nfiles; i++)
		free(r.files[i].name);
	free(r.files);
	free(r.rows);
	free(r.batches);
	return ret;
}
