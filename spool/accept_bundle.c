/*
 * accept_bundle.c - acceptance of bundles: archives of many messages
 * (DESIGN 9).
 *
 * A file in incoming/<partner>/ that is not XML text and that libarchive
 * reads (bundle.c) is a bundle. Pass 1, inside the acceptance transaction
 * and a savepoint of its own: each regular entry goes through
 * accept_message(), exactly the checks of a single file, and becomes a
 * message row (queue, parked, a duplicate in done, or rejected) tied to
 * the bundle's batch; other entries (links, devices, directories) are
 * recorded as skipped. A bundle found corrupt, truncated or over a
 * [bundle] limit is rolled back to its savepoint (none of its entries
 * stays) and recorded as a rejected batch with the reason. Pass 2, after
 * COMMIT: the bundle is read again and each entry that became a message
 * is written as its own file into the directory of its state; then the
 * bundle itself goes to done/ (or rejected/) as
 * <partner>,<name>,<batch>.bundle.
 *
 * An EDIFACT or X12 file is tokenized once for both passes
 * (bundle_edi.c; by accept_split.c already when it looked for its
 * interchanges): pass 2 writes the entries from what pass 1 read, kept
 * in o->edi while the batch holds at most EDI_HOLD_MAX of them (the
 * rest, and a restore after a crash, read the file again). Those
 * entries are the very bytes pass 1 hashed for their rows, so pass 2
 * does not hash them again. With [processing] parse_threads above 1, a
 * helper thread checks its entries ahead of pass 1 (accept_ahead.c).
 *
 * Crash safety (DESIGN 13; the store is the truth):
 * - Killed before COMMIT: nothing of the bundle is recorded, no entry
 *   file was written (pass 2 comes after COMMIT), and the bundle is
 *   still in incoming/: it is taken again as if new.
 * - Killed after COMMIT, before the bundle's rename is durable: the
 *   batch and its messages are recorded; some entry files may be
 *   missing, or (after a power loss) empty, since they are not fsynced
 *   one by one (syncfs() below makes them durable together). The
 *   bundle is still in incoming/, and its batch is found again by
 *   (partner, name, SHA-256). At start-up (accept_bundles_restore(),
 *   before reconciliation and before any processing) and whenever the
 *   bundle is taken again, pass 2 runs again: each entry file that is
 *   missing, or whose content does not hash to its row's SHA-256, is
 *   written anew; the files that are right are left alone. Nothing
 *   processes an entry before this: the processing cycle runs after
 *   acceptance returns, and at start-up after the restore. Then the
 *   bundle is moved. Pass 2 is idempotent, so a crash inside it is no
 *   different.
 * - The bundle is renamed only after syncfs() has made every entry file
 *   durable, so once the bundle has left incoming/ for good, every
 *   entry file it held is on disk.
 * A rejected entry's .reason sidecar is written before its file, as for
 * single files, so rejected/ never holds a file without its reason.
 *
 * Disk full, I/O errors (ENOSPC, EDQUOT, EIO): each entry file is written
 * as a dot file (which nothing reads: reconciliation and the watcher
 * skip dot files) and renamed to its name only once whole, so no entry
 * file is ever cut short under its name; a failed write removes its dot
 * file. The bundle then stays in incoming/, accept_bundle_finish() says
 * so (1), and the caller retries accept_bundles_restore() on a timer,
 * without processing anything meanwhile (spoold/daemon.c): the store
 * has rows whose files are not all written yet. The failure is logged
 * once; retries (retrying) log only at debug level.
 *
 * Entry names are data: they are stored, escaped in reasons and logs,
 * and never used as paths. Entry files are named by spooldir_name() from
 * escaped header fields and the message's store ID.
 *
 * Length: a little over the project's 800 lines; both passes and the
 * restore share this file's crash argument, which a split would leave
 * in two places.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accept.h"
#include "accept_int.h"
#include "bundle.h"
#include "dialect.h"
#include "digest.h"
#include "edi.h"
#include "failpoint.h"
#include "log.h"
#include "store_batch.h"

/* Room per entry for archive headers and padding in an uncompressed
 * archive (tar: 512-byte header, padding, pax headers). */
#define ENTRY_OVERHEAD	4096

/* At most this much memory of tokenized EDI files is kept by a batch
 * from pass 1 for pass 2 (bundle_edi_size()); the rest are read again. */
#define EDI_HOLD_MAX	(64 * 1024 * 1024)

/* Pass 1: the state of reading one bundle. */
struct pass1 {
	struct accept_ctx		*c;
	const struct accept_file	*f;
	const uint8_t			*sha;
	int64_t				 size;
	int64_t				 batch;	/* 0: none yet */
	int64_t				*next_id;
	struct accept_stats		*stats;
	struct dialect_xctx		*xctx;	/* for every entry's keys */
};

/* An entry that became a message, for pass 2. */
struct ment {
	int64_t		 index;
	int64_t		 id;
	int		 state;
	int		 fate;
	char		*file;
	char		*reason;	/* of a rejected message */
	bool		 has_sha;
	uint8_t		 sha[DIGEST_LEN];
	bool		 written;
};

/* Pass 2: the entries of one batch, in archive order. */
struct pass2 {
	struct accept_ctx	*c;
	const char		*partner;
	const char		*bundle;
	int64_t			 batch;
	bool			 restore;	/* look before writing */
	bool			 fresh;		/* the entries are the bytes
						   pass 1 hashed, in memory */
	struct ment		*e;
	size_t			 n, cap, cur;
	unsigned		 fates[FATE_SKIPPED + 1];
	int			 syserr;	/* errno of a failed write */
	struct spool_error	*err;
};

/* Would a later attempt succeed once the disk has room or heals? */
static bool
resource_error(int e)
{
	return e == ENOSPC || e == EDQUOT || e == EIO || e == ENOMEM ||
	    e == EROFS;
}

static struct bundle_limits
limits(const struct accept_ctx *c)
{
	struct bundle_limits l;

	l.max_entries = c->conf->bundle_max_entries;
	l.max_entry_size = c->conf->bundle_max_entry_size;
	l.max_total_size = c->conf->bundle_max_total_size;
	return l;
}

bool
accept_bundle_size_ok(struct accept_ctx *c, const struct stat *st)
{
	uint64_t max = c->conf->bundle_max_total_size +
	    (c->conf->bundle_max_entries + 2) * ENTRY_OVERHEAD;

	return (uint64_t)st->st_size <= max;
}

/* May a name from the store be used as a name in a state directory? */
static bool
name_ok(const char *name)
{
	return name != NULL && name[0] != '\0' && name[0] != '.' &&
	    strchr(name, '/') == NULL && strlen(name) <= SPOOLDIR_NAME_MAX;
}

static int
ensure_batch(struct pass1 *p, struct spool_error *err)
{
	struct store_batch b;

	if (p->batch != 0)
		return 0;
	memset(&b, 0, sizeof(b));
	b.state = ST_DONE;
	b.partner = (char *)p->f->partner;
	b.orig_name = (char *)p->f->name;
	b.file_name = (char *)"";
	memcpy(b.sha256, p->sha, DIGEST_LEN);
	b.size = p->size;
	return store_batch_insert(p->c->store, &b, &p->batch, err);
}

/*
 * Record one regular entry: checked here (be), or already (ksha its
 * SHA-256, k its check, NULL when it is too large to check; then only
 * the index, name and len of be count).
 */
static int
pass1_one(struct pass1 *p, const struct bundle_entry *be,
    struct accept_check *k, const uint8_t *ksha, struct spool_error *err)
{
	struct accept_src src;
	struct outcome o;
	enum batch_fate fate;
	uint8_t sha[DIGEST_LEN];
	char b[121], e[121];

	memset(&o, 0, sizeof(o));
	o.state = -1;
	o.fd = -1;
	o.id = (*p->next_id)++;
	snprintf(o.logid, sizeof(o.logid), "partner=%s bundle=%s entry=%"
	    PRIu64, LOG_Q(p->f->partner), LOG_Q(p->f->name), be->index);
	memset(&src, 0, sizeof(src));
	src.partner = p->f->partner;
	src.orig_name = be->name;
	src.bundle = p->f->name;
	src.batch = p->batch;
	src.dict = be->dict;
	src.xctx = p->xctx;
	src.entry = be;
	if (ksha != NULL)
		memcpy(sha, ksha, DIGEST_LEN);
	else
		digest_sha256(be->data, be->len, sha);
	spooldir_escape(b, 120, p->f->name);
	spooldir_escape(e, 120, be->name);
	if (be->len > p->c->conf->max_message_size) {
		/* As for a single file: processing reads no more. */
		snprintf(o.reason, sizeof(o.reason), "bundle %s, entry %s: "
		    "entry is %zu bytes, more than max_message_size (%" PRIu64
		    " bytes)", b, e, be->len, p->c->conf->max_message_size);
		if (accept_reject(p->c, &src, sha, (int64_t)be->len, NULL, &o,
		    err) == -1)
			return -1;
	} else if (be->nested) {
		snprintf(o.reason, sizeof(o.reason), "bundle %s, entry %s: is "
		    "an archive itself; nested archives are not unpacked", b,
		    e);
		if (accept_reject(p->c, &src, sha, (int64_t)be->len, NULL, &o,
		    err) == -1)
			return -1;
	} else if (k != NULL) {
		if (accept_record(p->c, &src, be->len, sha, k, &o, p->stats,
		    err) == -1)
			return -1;
	} else if (accept_message(p->c, &src, be->data, be->len, sha, &o,
	    p->stats, err) == -1)
		return -1;
	if (o.state == ST_REJECTED) {
		fate = FATE_REJECTED;
		p->stats->rejected++;
	} else
		fate = o.duplicate ? FATE_DUPLICATE : FATE_ACCEPTED;
	return store_batch_add_entry(p->c->store, p->batch, (int64_t)be->index,
	    be->name, fate, fate == FATE_REJECTED ? o.reason : NULL, o.id, err);
}

/* The store thread's start of every entry: its batch, the failpoint. */
static int
pass1_begin(struct pass1 *p, uint64_t index, struct spool_error *err)
{
	if (ensure_batch(p, err) == -1)
		return -1;
	if (index == 2)
		failpoint("bundle-entry");	/* inside the transaction */
	return 0;
}

static int
pass1_entry(void *arg, const struct bundle_entry *be, struct spool_error *err)
{
	struct pass1 *p = arg;

	if (pass1_begin(p, be->index, err) == -1)
		return -1;
	if (be->skip != NULL)
		return store_batch_add_entry(p->c->store, p->batch,
		    (int64_t)be->index, be->name, FATE_SKIPPED, be->skip, 0,
		    err);
	return pass1_one(p, be, NULL, NULL, err);
}

/* pass1_one() for an entry accept_ahead() checked on its helper. */
static int
pass1_checked(void *arg, const struct bundle_entry *be,
    struct accept_check *k, const uint8_t *sha, struct spool_error *err)
{
	struct pass1 *p = arg;

	if (pass1_begin(p, be->index, err) == -1)
		return -1;
	return pass1_one(p, be, k, sha, err);
}

/* Is the bundle of batch b in its directory already? */
static bool
bundle_in_place(struct accept_ctx *c, const struct store_batch *b)
{
	struct stat st;

	if (b->state != ST_DONE && b->state != ST_REJECTED)
		return true;	/* not ours to judge */
	if (!name_ok(b->file_name))
		return true;
	return fstatat(c->sd->state_fd[b->state], b->file_name, &st,
	    AT_SYMLINK_NOFOLLOW) == 0;
}

/*
 * An EDIFACT or X12 file not yet read (o->edi NULL): read and tokenized
 * into o->edi, once for both passes. 0 (o->edi NULL: not EDI, for
 * bundle_read()), 1 refused whole (why), -1 error.
 */
static int
read_edi(int fd, const struct bundle_limits *lim, struct outcome *o,
    char *why, size_t whylen, struct spool_error *err)
{
	char head[512];
	ssize_t got;
	off_t at;

	if (o->edi != NULL)
		return 0;
	if ((at = lseek(fd, 0, SEEK_CUR)) == -1) {
		spool_seterr(err, "lseek: %s", strerror(errno));
		return -1;
	}
	do
		got = pread(fd, head, sizeof(head), at);
	while (got == -1 && errno == EINTR);
	if (got <= 0 || edi_detect(head, (size_t)got) == EDI_NONE)
		return 0;
	return bundle_edi_load(fd, lim, &o->edi, why, whylen, err);
}

int
accept_bundle(struct accept_ctx *c, const struct accept_file *f, int fd,
    const struct stat *st, struct outcome *o, int64_t *next_id,
    struct accept_stats *stats, struct spool_error *err)
{
	struct bundle_limits lim = limits(c);
	struct accept_stats snap = *stats;
	struct store_batch old;
	struct pass1 p;
	uint8_t sha[DIGEST_LEN];
	const char *data;
	char why[SPOOL_ERRLEN];
	int64_t id0 = *next_id, size;
	uint64_t n = 0;
	size_t len;
	int rc, state;

	(void)st;
	if (o->edi != NULL) {
		/* Read whole by accept_split() already. */
		data = bundle_edi_data(o->edi, &len);
		digest_sha256(data, len, sha);
		size = (int64_t)len;
	} else if (digest_sha256_fd(fd, sha, &size) == -1) {
		spool_seterr(err, "read %s: %s", f->name, strerror(errno));
		return -1;
	}
	/* Recorded already, but not moved: a crash came after COMMIT. */
	rc = store_batch_find_upload(c->store, f->partner, f->name, sha, &old,
	    err);
	if (rc == -1)
		return -1;
	if (rc == 1) {
		if (!bundle_in_place(c, &old)) {
			o->bundle = true;
			o->restore = true;
			o->fd = fd;
			o->batch = old.id;
			o->state = old.state;
			o->id = 0;
			snprintf(o->file_name, sizeof(o->file_name), "%s",
			    old.file_name);
			snprintf(o->reason, sizeof(o->reason), "%s",
			    old.reason != NULL ? old.reason : "");
			store_batch_free(&old);
			return 0;
		}
		store_batch_free(&old);
	}

	if (lseek(fd, 0, SEEK_SET) == -1) {
		spool_seterr(err, "lseek %s: %s", f->name, strerror(errno));
		return -1;
	}
	memset(&p, 0, sizeof(p));
	p.c = c;
	p.f = f;
	p.sha = sha;
	p.size = size;
	p.next_id = next_id;
	p.stats = stats;
	if (store_batch_savepoint(c->store, err) == -1)
		return -1;
	why[0] = '\0';
	p.xctx = dialect_xctx_new();	/* NULL: one per entry */
	rc = read_edi(fd, &lim, o, why, sizeof(why), err);
	if (rc == 0 && o->edi != NULL) {
		rc = 2;
		if (accept_parse_threads(c->conf->parse_threads) > 1)
			rc = accept_ahead(c, f, o->edi, &lim, pass1_checked,
			    &p, &n, why, sizeof(why), err);
		if (rc == 2)
			rc = bundle_edi_entries(o->edi, &lim, pass1_entry, &p,
			    &n, why, sizeof(why), err);
	} else if (rc == 0)
		rc = bundle_read(fd, &lim, pass1_entry, &p, &n, why,
		    sizeof(why), err);
	dialect_xctx_free(p.xctx);
	if (rc == -1)
		return -1;	/* the caller rolls everything back */
	if (rc == 1 || rc == 2 || n == 0) {
		/* Refused whole, or not a bundle: none of its entries stays. */
		if (store_batch_rollback(c->store, err) == -1)
			return -1;
		*stats = snap;
		*next_id = id0;
		p.batch = 0;
		if (rc == 2)
			return 2;
	}
	if (rc == 0 && n == 0)
		snprintf(why, sizeof(why), "bundle holds no entries");
	state = rc == 0 && n > 0 ? ST_DONE : ST_REJECTED;
	if (ensure_batch(&p, err) == -1)
		return -1;
	if (spooldir_bundle_name(o->file_name, sizeof(o->file_name),
	    f->partner, f->name, p.batch) == -1) {
		spool_seterr(err, "file name too long");
		return -1;
	}
	if (store_batch_finish(c->store, p.batch, state, o->file_name,
	    state == ST_REJECTED ? why : NULL, state == ST_DONE ? (int64_t)n :
	    0, err) == -1)
		return -1;
	if (state == ST_DONE && store_batch_release(c->store, err) == -1)
		return -1;
	if (accept_ack(c, f->partner, fd, p.batch, state, stats, err) == -1)
		return -1;
	/* Kept for pass 2 while the batch holds little enough. */
	if (o->edi != NULL && (state != ST_DONE || bundle_edi_size(o->edi) >
	    EDI_HOLD_MAX - stats->edi_held)) {
		bundle_edi_free(o->edi);
		o->edi = NULL;
	}
	stats->edi_held += bundle_edi_size(o->edi);
	o->bundle = true;
	o->fd = fd;
	o->batch = p.batch;
	o->state = state;
	o->id = 0;
	snprintf(o->reason, sizeof(o->reason), "%s", why);
	return 0;
}

static int
load_entry(void *arg, const struct store_batch_entry *se)
{
	struct pass2 *p = arg;
	struct ment *m;

	if (se->fate >= 0 && se->fate <= FATE_SKIPPED)
		p->fates[se->fate]++;
	if (se->message == 0 || se->msg_state < 0)
		return 0;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;

		if ((m = reallocarray(p->e, cap, sizeof(*m))) == NULL)
			goto oom;
		p->e = m;
		p->cap = cap;
	}
	m = &p->e[p->n];
	memset(m, 0, sizeof(*m));
	m->index = se->index;
	m->id = se->message;
	m->state = se->msg_state;
	m->fate = se->fate;
	if ((m->file = strdup(se->msg_file != NULL ? se->msg_file : "")) ==
	    NULL)
		goto oom;
	if (se->msg_state == ST_REJECTED && (m->reason = strdup(
	    se->msg_reason != NULL ? se->msg_reason : "rejected")) == NULL) {
		free(m->file);
		goto oom;
	}
	if (se->msg_sha256 != NULL) {
		m->has_sha = true;
		memcpy(m->sha, se->msg_sha256, DIGEST_LEN);
	}
	p->n++;
	return 0;
oom:
	spool_seterr(p->err, "out of memory");
	return -1;
}

/* Does file name in dfd hold exactly the bytes that hash to sha? */
static bool
file_matches(int dfd, const char *name, const uint8_t *sha)
{
	uint8_t got[DIGEST_LEN];
	int64_t size;
	bool ok;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1)
		return false;
	ok = digest_sha256_fd(fd, got, &size) == 0 &&
	    memcmp(got, sha, DIGEST_LEN) == 0;
	close(fd);
	return ok;
}

/* Pass 2, one entry that became a message: make its file right. */
static int
put_entry(struct pass2 *p, struct ment *m, const struct bundle_entry *be)
{
	struct accept_ctx *c = p->c;
	struct stat st;
	uint8_t sha[DIGEST_LEN];
	char text[SPOOL_ERRLEN + 512], b[121], e[121];
	int dfd, s;

	m->written = true;
	if (m->state < 0 || m->state >= ST_NSTATES || !name_ok(m->file)) {
		spool_seterr(p->err, "message %" PRId64 " has no usable file "
		    "name", m->id);
		return -1;
	}
	/* Fresh from pass 1: the very bytes its row's SHA-256 is of. */
	if (!p->fresh)
		digest_sha256(be->data, be->len, sha);
	if (!p->fresh && m->has_sha && memcmp(sha, m->sha, DIGEST_LEN) != 0) {
		spool_seterr(p->err, "entry %" PRIu64 " changed since it was "
		    "accepted (message %" PRId64 ")", be->index, m->id);
		return -1;
	}
	dfd = c->sd->state_fd[m->state];
	if (p->restore) {
		if (fstatat(dfd, m->file, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && file_matches(dfd, m->file, sha))
			return 0;
		/* Moved on already (reconciliation puts it right)? */
		for (s = 0; s < ST_NSTATES; s++)
			if (s != m->state && fstatat(c->sd->state_fd[s],
			    m->file, &st, AT_SYMLINK_NOFOLLOW) == 0)
				return 0;
	}
	if (m->state == ST_REJECTED) {
		spooldir_escape(b, 120, p->bundle);
		spooldir_escape(e, 120, be->name);
		snprintf(text, sizeof(text), "%s\npartner: %s\nbundle: %s\n"
		    "entry: %s\nbatch: %" PRId64 "\nid: %" PRId64 "\n",
		    m->reason, p->partner, b, e, p->batch, m->id);
		if (spooldir_write_reason(c->sd, ST_REJECTED, m->file, text,
		    p->err) == -1) {
			p->syserr = errno;
			return -1;
		}
		log_notice("event=reject partner=%s bundle=%s entry=%" PRIu64
		    " batch=%" PRId64 " id=%" PRId64 " reason=%s",
		    LOG_Q(p->partner), LOG_Q(b), be->index, p->batch, m->id,
		    LOG_Q(m->reason));
	}
	/* Not fsynced one by one: materialise() makes them all durable
	 * with one syncfs() before the bundle moves, and a copy that a power
	 * loss left empty is found by its content and written again (see
	 * the top of this file). */
	if (spooldir_write_at(dfd, spooldir_dir_name(m->state), m->file,
	    be->data, be->len, 0, &p->syserr, p->err) == -1)
		return -1;
	c->sd->dirty[m->state] = true;
	return 0;
}

static int
pass2_entry(void *arg, const struct bundle_entry *be, struct spool_error *err)
{
	struct pass2 *p = arg;

	(void)err;
	while (p->cur < p->n && p->e[p->cur].index < (int64_t)be->index)
		p->cur++;
	if (p->cur == p->n || p->e[p->cur].index != (int64_t)be->index)
		return 0;
	if (be->skip != NULL) {
		spool_seterr(p->err, "entry %" PRIu64 " is no longer a regular "
		    "file", be->index);
		return -1;
	}
	return put_entry(p, &p->e[p->cur], be);
}

/* Pass 2: write the files of the batch's messages from the bundle. */
static int
materialise(struct accept_ctx *c, const struct accept_file *f, int fd,
    const struct bundle_edi *edi, int64_t batch, bool restore,
    struct pass2 *p, struct spool_error *err)
{
	struct bundle_limits lim = limits(c);
	char why[SPOOL_ERRLEN];
	uint64_t n;
	size_t i;
	int rc;

	memset(p, 0, sizeof(*p));
	p->c = c;
	p->partner = f->partner;
	p->bundle = f->name;
	p->batch = batch;
	p->restore = restore;
	p->fresh = edi != NULL && !restore;
	p->err = err;
	if (store_batch_entries(c->store, batch, load_entry, p, err) == -1)
		return -1;
	if (p->n == 0)
		return 0;
	if (lseek(fd, 0, SEEK_SET) == -1) {
		spool_seterr(err, "lseek: %s", strerror(errno));
		return -1;
	}
	why[0] = '\0';
	if (edi != NULL)
		rc = bundle_edi_entries(edi, &lim, pass2_entry, p, &n, why,
		    sizeof(why), err);
	else
		rc = bundle_read(fd, &lim, pass2_entry, p, &n, why,
		    sizeof(why), err);
	if (rc == -1)
		return -1;
	if (rc != 0) {
		spool_seterr(err, "bundle changed since it was accepted: %s",
		    rc == 2 ? "no longer an archive" : why);
		return -1;
	}
	for (i = 0; i < p->n; i++)
		if (!p->e[i].written) {
			spool_seterr(err, "bundle changed since it was "
			    "accepted: entry %" PRId64 " is missing",
			    p->e[i].index);
			return -1;
		}
	/* Every entry file and rename durable before the bundle moves. */
	if (syncfs(c->sd->root_fd) == -1) {
		p->syserr = errno;
		spool_seterr(err, "syncfs %s: %s", c->sd->root,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static void
pass2_free(struct pass2 *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->e[i].file);
		free(p->e[i].reason);
	}
	free(p->e);
	p->e = NULL;
	p->n = p->cap = 0;
}

static int	finish(struct accept_ctx *, const struct accept_file *,
		    struct outcome *, bool, struct accept_stats *);

int
accept_bundle_finish(struct accept_ctx *c, const struct accept_file *f,
    struct outcome *o, bool retrying, struct accept_stats *stats)
{
	size_t held = bundle_edi_size(o->edi);
	int rc;

	rc = finish(c, f, o, retrying, stats);
	stats->edi_held -= held < stats->edi_held ? held : stats->edi_held;
	accept_bundle_release(o);
	return rc;
}

void
accept_bundle_release(struct outcome *o)
{
	bundle_edi_free(o->edi);
	o->edi = NULL;
}

static int
finish(struct accept_ctx *c, const struct accept_file *f, struct outcome *o,
    bool retrying, struct accept_stats *stats)
{
	struct spool_error err;
	struct pass2 p;
	char text[SPOOL_ERRLEN + 512];
	int64_t t0;
	int rc = -1;

	spool_clearerr(&err);
	memset(&p, 0, sizeof(p));
	t0 = store_now_ms();
	if (o->state == ST_DONE) {
		if (materialise(c, f, o->fd, o->edi, o->batch, o->restore,
		    &p, &err) == -1)
			goto unfinished;
	} else {
		snprintf(text, sizeof(text), "%s\npartner: %s\nfile: %s\n"
		    "batch: %" PRId64 "\n", o->reason, LOG_Q(f->partner),
		    LOG_Q(f->name), o->batch);
		if (spooldir_write_reason(c->sd, ST_REJECTED, o->file_name,
		    text, &err) == -1) {
			/* No file in rejected/ without its reason. */
			p.syserr = errno;
			goto unfinished;
		}
	}
	failpoint("bundle-entries");
	if (spooldir_move(c->sd, f->dirfd, -1, f->name, o->state,
	    o->file_name, &err) == -1) {
		log_err("event=move partner=%s file=%s batch=%" PRId64
		    " status=failed reason=%s", LOG_Q(f->partner),
		    LOG_Q(f->name), o->batch, LOG_Q(err.msg));
		pass2_free(&p);
		return -1;
	}
	stats->bundles++;
	if (o->restore)
		stats->restored++;
	if (o->state == ST_DONE)
		log_notice("event=bundle partner=%s file=%s batch=%" PRId64
		    " accepted=%u duplicate=%u rejected=%u skipped=%u "
		    "write_ms=%" PRId64 "%s", LOG_Q(f->partner),
		    LOG_Q(f->name), o->batch,
		    p.fates[FATE_ACCEPTED], p.fates[FATE_DUPLICATE],
		    p.fates[FATE_REJECTED], p.fates[FATE_SKIPPED],
		    store_now_ms() - t0, o->restore ? " restored=yes" : "");
	else
		log_notice("event=bundle partner=%s file=%s batch=%" PRId64
		    " status=rejected reason=%s", LOG_Q(f->partner),
		    LOG_Q(f->name), o->batch, LOG_Q(o->reason));
	pass2_free(&p);
	return 0;
unfinished:
	if (resource_error(p.syserr)) {
		rc = 1;
		stats->unfinished++;
	}
	if (rc == 1 && retrying)
		log_debug("event=bundle partner=%s file=%s batch=%" PRId64
		    " status=unfinished reason=%s", LOG_Q(f->partner),
		    LOG_Q(f->name), o->batch, LOG_Q(err.msg));
	else
		log_err("event=bundle partner=%s file=%s batch=%" PRId64
		    " status=%s reason=%s note=\"the bundle stays in "
		    "incoming/%s\"", LOG_Q(f->partner), LOG_Q(f->name),
		    o->batch, rc == 1 ? "unfinished" : "failed",
		    LOG_Q(err.msg), rc == 1 ? "; it is finished when the "
		    "disk has room again, and nothing is processed until "
		    "then" : "");
	pass2_free(&p);
	return rc;
}

int
accept_bundle_restore(struct accept_ctx *c, int64_t batch, bool retrying,
    struct spool_error *err)
{
	struct accept_stats stats;
	struct accept_file f;
	struct store_batch b;
	struct outcome o;
	struct stat st;
	uint8_t sha[DIGEST_LEN];
	int64_t size;
	int rc, dirfd = -1, fd = -1, ret = 0;

	if ((rc = store_batch_get(c->store, batch, &b, err)) != 1)
		return rc;
	if (bundle_in_place(c, &b) || !conf_partner_name_ok(b.partner) ||
	    !name_ok(b.orig_name))
		goto out;
	dirfd = openat(c->sd->incoming_fd, b.partner, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (dirfd == -1)
		goto out;
	fd = openat(dirfd, b.orig_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		goto out;
	if (digest_sha256_fd(fd, sha, &size) == -1 ||
	    memcmp(sha, b.sha256, DIGEST_LEN) != 0)
		goto out;	/* another upload under the same name */
	memset(&o, 0, sizeof(o));
	o.bundle = true;
	o.restore = true;
	o.fd = fd;
	o.batch = b.id;
	o.state = b.state;
	snprintf(o.file_name, sizeof(o.file_name), "%s", b.file_name);
	snprintf(o.reason, sizeof(o.reason), "%s", b.reason != NULL ?
	    b.reason : "");
	f.dirfd = dirfd;
	f.partner = b.partner;
	f.name = b.orig_name;
	memset(&stats, 0, sizeof(stats));
	rc = accept_bundle_finish(c, &f, &o, retrying, &stats);
	spooldir_fsync_fd(dirfd, "incoming", NULL);
	if (rc == 1)
		ret = 2;
	else if (spooldir_sync(c->sd, err) == -1)
		ret = -1;
	else
		ret = stats.bundles > 0 ? 1 : 0;
out:
	if (fd != -1)
		close(fd);
	if (dirfd != -1)
		close(dirfd);
	store_batch_free(&b);
	return ret;
}

struct restore_all {
	struct accept_ctx	*c;
	bool			 retrying;
	int			 unfinished;
};

static int
restore_one(void *arg, int64_t id)
{
	struct restore_all *r = arg;
	struct spool_error err;
	int rc;

	spool_clearerr(&err);
	if ((rc = accept_bundle_restore(r->c, id, r->retrying, &err)) == -1)
		log_err("event=restore batch=%" PRId64 " status=failed "
		    "reason=%s", id, LOG_Q(err.msg));
	else if (rc == 2)
		r->unfinished++;
	return 0;
}

int
accept_bundles_restore(struct accept_ctx *c, bool retrying,
    struct spool_error *err)
{
	struct restore_all r = { c, retrying, 0 };

	if (store_batch_ids(c->store, restore_one, &r, err) == -1)
		return -1;
	return r.unfinished;
}
