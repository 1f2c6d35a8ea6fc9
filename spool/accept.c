/*
 * accept.c - acceptance: the only way into the spool.
 *
 * For each file: open it without following links and without blocking
 * (O_NOFOLLOW|O_NONBLOCK, so a FIFO cannot hang us), fstat the open file
 * and refuse anything but a regular file, refuse it unread when it is
 * larger than max_message_size, parse it (message.c: no DOCTYPE, no
 * entities, no network), check the sender against the partner directory,
 * validate it against its schema, classify it (sequencer.c) and record
 * it in the store. A whole batch is one transaction: one fsync for many
 * files. Only after COMMIT are the files renamed out of incoming/; a
 * rejected file's .reason sidecar is written before the file is moved,
 * so rejected/ never holds a file without its reason.
 *
 * Crash safety: killed before COMMIT, nothing was recorded and every file
 * is still in incoming/. Killed after COMMIT but before a rename, the
 * file is still in incoming/ while the store has its row: when it is
 * taken again, its row is found by (partner, original name, digest) with
 * no file in its state directory, and the file is moved there
 * ("restored") instead of being recorded twice.
 *
 * Nothing from a partner becomes a path: state-directory names are made
 * by spooldir_name() from escaped fields and the store's ID.
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
#include "digest.h"
#include "failpoint.h"
#include "log.h"
#include "message.h"
#include "sequencer.h"
#include "store_batch.h"

int
accept_name_skipped(const char *name)
{
	static const char *suffixes[] = { ".tmp", ".part", ".partial",
	    ".filepart", "~" };
	size_t len = strlen(name), i, sl;

	if (name[0] == '.' || len == 0)
		return 1;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		sl = strlen(suffixes[i]);
		if (len >= sl && strcmp(name + len - sl, suffixes[i]) == 0)
			return 1;
	}
	return 0;
}

static const char *
file_kind(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISLNK(m))
		return "a symbolic link";
	return "not a regular file";
}

/*
 * Open an upload safely. 0: *fd is open and *st describes it. 1: refused,
 * reason in why. 2: it vanished (nothing to do). -1: system error.
 */
static int
open_upload(const struct accept_file *f, int *fdp, struct stat *stp,
    char *why, size_t whylen, struct spool_error *err)
{
	int fd;

	*fdp = -1;
	fd = openat(f->dirfd, f->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			return 2;
		if (errno == ELOOP) {
			snprintf(why, whylen, "%s is a symbolic link; only "
			    "regular files are accepted", f->name);
			return 1;
		}
		if (errno == ENXIO || errno == EACCES || errno == EPERM) {
			snprintf(why, whylen, "%s cannot be opened (%s)",
			    f->name, strerror(errno));
			return 1;
		}
		spool_seterr(err, "cannot open %s: %s", f->name,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, stp) == -1) {
		spool_seterr(err, "fstat %s: %s", f->name, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(stp->st_mode)) {
		snprintf(why, whylen, "%s is %s; only regular files are "
		    "accepted", f->name, file_kind(stp->st_mode));
		close(fd);
		return 1;
	}
	*fdp = fd;
	return 0;
}

/*
 * Read an open upload whole, from offset 0, at most max bytes. 0: *buf
 * and *len hold it. 1: refused, reason in why. -1: system error. The
 * descriptor stays open.
 */
static int
read_upload(int fd, const struct stat *stp, const char *name, uint64_t max,
    char **buf, size_t *len, char *why, size_t whylen,
    struct spool_error *err)
{
	struct stat st = *stp;
	char *b = NULL;
	size_t off = 0, cap;
	ssize_t n;

	*buf = NULL;
	*len = 0;
	if ((uint64_t)st.st_size > max) {
		snprintf(why, whylen, "file is %jd bytes, more than "
		    "max_message_size (%" PRIu64 " bytes)",
		    (intmax_t)st.st_size, max);
		return 1;
	}
	/* Read at most max+1 bytes: a file that grew past the limit is
	 * refused too, never read whole. */
	cap = (size_t)st.st_size + 1;
	if ((b = malloc(cap)) == NULL) {
		spool_seterr(err, "out of memory reading %s", name);
		return -1;
	}
	for (;;) {
		if (off == cap) {
			char *nb;

			if (cap > max) {
				snprintf(why, whylen, "file grew past "
				    "max_message_size (%" PRIu64 " bytes) "
				    "while being read", max);
				free(b);
				return 1;
			}
			cap = cap * 2 > max + 1 ? (size_t)max + 1 : cap * 2;
			if ((nb = realloc(b, cap)) == NULL) {
				spool_seterr(err, "out of memory reading %s",
				    name);
				free(b);
				return -1;
			}
			b = nb;
		}
		n = pread(fd, b + off, cap - off, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			spool_seterr(err, "read %s: %s", name,
			    strerror(errno));
			free(b);
			return -1;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	*buf = b;
	*len = off;
	return 0;
}

/* Is the file of a recorded message missing from its state directory? */
static bool
file_missing(struct spooldir *sd, const struct store_msgref *r)
{
	struct stat st;

	if (r->state < 0 || r->state >= ST_NSTATES || r->file_name[0] == '\0')
		return false;
	return fstatat(sd->state_fd[r->state], r->file_name, &st,
	    AT_SYMLINK_NOFOLLOW) == -1 && errno == ENOENT;
}

/* Does incoming/<name>/ exist as a directory (a partner of its own)? */
static bool
is_partner_dir(struct spooldir *sd, const char *name)
{
	struct stat st;

	if (!conf_partner_name_ok(name))
		return false;
	return fstatat(sd->incoming_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode);
}

int
accept_reject(struct accept_ctx *c, const struct accept_src *src,
    const uint8_t *sha, int64_t size, const struct msg_header *h,
    struct outcome *o, struct spool_error *err)
{
	struct store_newmsg m;

	memset(&m, 0, sizeof(m));
	m.partner = src->partner != NULL ? src->partner : "-";
	m.orig_name = src->orig_name;
	m.state = ST_REJECTED;
	m.batch = src->batch;
	if (h != NULL) {
		m.type = h->type;
		m.message_id = h->message_id;
		m.sender = h->sender;
		m.recipient = h->recipient;
		m.transaction_id = h->transaction_id;
		m.sender_seq = h->sender_seq;
		m.receiver_seq = h->receiver_seq;
	}
	m.sha256 = sha;
	m.size = size;
	m.reason = o->reason;
	if (spooldir_rejected_name(o->file_name, sizeof(o->file_name),
	    m.partner, src->orig_name, o->id) == -1) {
		spool_seterr(err, "file name too long");
		return -1;
	}
	m.id = o->id;
	m.file_name = o->file_name;
	if (store_insert(c->store, &m, &o->id, err) == -1)
		return -1;
	o->state = ST_REJECTED;
	return 0;
}

/* A reason about a bundle entry names the bundle and the entry. */
static void
set_reason(struct outcome *o, const struct accept_src *src, const char *text)
{
	char b[121], e[121];

	if (src->bundle == NULL) {
		snprintf(o->reason, sizeof(o->reason), "%s", text);
		return;
	}
	spooldir_escape(b, 120, src->bundle);
	spooldir_escape(e, 120, src->orig_name);
	snprintf(o->reason, sizeof(o->reason), "bundle %s, entry %s: %s", b,
	    e, text);
}

int
accept_message(struct accept_ctx *c, const struct accept_src *src,
    const char *buf, size_t len, const uint8_t *sha, struct outcome *o,
    struct accept_stats *stats, struct spool_error *err)
{
	struct spool_error perr;
	struct seq_result sr;
	struct store_newmsg m;
	struct msg msg;
	char why[SPOOL_ERRLEN];
	int ret = -1;

	spool_clearerr(&perr);
	if (msg_parse_limits(buf, len, &c->conf->msg_limits, &msg,
	    &perr) == -1) {
		set_reason(o, src, perr.msg);
		return accept_reject(c, src, sha, (int64_t)len, NULL, o, err);
	}
	if (!conf_sender_ok(c->conf, src->partner, msg.hdr.sender)) {
		snprintf(why, sizeof(why), "Sender %s does not match partner "
		    "directory %s", msg.hdr.sender, src->partner);
		set_reason(o, src, why);
		ret = accept_reject(c, src, sha, (int64_t)len, &msg.hdr, o,
		    err);
		goto out;
	}
	if (strcmp(msg.hdr.sender, src->partner) != 0 &&
	    is_partner_dir(c->sd, msg.hdr.sender)) {
		/* An alias that names another partner's directory: a
		 * partner can never speak for another. */
		snprintf(why, sizeof(why), "Sender %s is a partner of its own "
		    "(incoming/%s exists): partner %s cannot send in its "
		    "name", msg.hdr.sender, msg.hdr.sender, src->partner);
		set_reason(o, src, why);
		ret = accept_reject(c, src, sha, (int64_t)len, &msg.hdr, o,
		    err);
		goto out;
	}
	if (c->schemas != NULL && schema_set_has(c->schemas, msg.hdr.type)) {
		if (schema_validate(c->schemas, msg.hdr.type, msg.doc,
		    &perr) == -1) {
			snprintf(why, sizeof(why), "%.100s does not match its "
			    "schema: %.380s", msg.hdr.type, perr.msg);
			set_reason(o, src, why);
			ret = accept_reject(c, src, sha, (int64_t)len,
			    &msg.hdr, o, err);
			goto out;
		}
	} else if (c->conf->require_schema) {
		snprintf(why, sizeof(why), "message type %s has no schema, "
		    "and require_schema is set", msg.hdr.type);
		set_reason(o, src, why);
		ret = accept_reject(c, src, sha, (int64_t)len, &msg.hdr, o,
		    err);
		goto out;
	}

	if (seq_classify(c->store, src->partner, &msg.hdr, sha, &sr, err) ==
	    -1)
		goto out;
	if (msg.hdr.transaction_id != NULL)
		snprintf(o->logid, sizeof(o->logid), "partner=%s tx=%s seq=%"
		    PRId64 " file=%s", src->partner, msg.hdr.transaction_id,
		    msg.hdr.sender_seq, src->orig_name);
	if (sr.verdict == SEQ_CONFLICT) {
		set_reason(o, src, sr.reason);
		ret = accept_reject(c, src, sha, (int64_t)len, &msg.hdr, o,
		    err);
		goto out;
	}

	memset(&m, 0, sizeof(m));
	m.partner = src->partner;
	m.orig_name = src->orig_name;
	m.batch = src->batch;
	m.type = msg.hdr.type;
	m.message_id = msg.hdr.message_id;
	m.sender = msg.hdr.sender;
	m.recipient = msg.hdr.recipient;
	m.transaction_id = msg.hdr.transaction_id;
	m.sender_seq = msg.hdr.sender_seq;
	m.receiver_seq = msg.hdr.receiver_seq;
	m.sha256 = sha;
	m.size = (int64_t)len;
	switch (sr.verdict) {
	case SEQ_READY:
		m.state = ST_QUEUE;
		stats->ready++;
		break;
	case SEQ_PARKED:
		m.state = ST_PARKED;
		stats->parked++;
		break;
	default:
		m.state = ST_DONE;
		m.duplicate_of = sr.duplicate_of;
		m.reason = "duplicate";
		stats->duplicate++;
		break;
	}
	if (m.transaction_id != NULL && m.duplicate_of == 0) {
		if (store_tx_ensure(c->store, src->partner, m.transaction_id,
		    err) == -1)
			goto out;
		if (m.state == ST_PARKED && store_tx_note_gap(c->store,
		    src->partner, m.transaction_id, err) == -1)
			goto out;
	}
	if (spooldir_name(o->file_name, sizeof(o->file_name), src->partner,
	    m.transaction_id, m.sender_seq, m.type, o->id) == -1) {
		spool_seterr(err, "file name too long");
		goto out;
	}
	m.id = o->id;
	m.file_name = o->file_name;
	if (store_insert(c->store, &m, &o->id, err) == -1)
		goto out;
	o->state = m.state;
	o->duplicate = m.duplicate_of != 0;
	if (m.duplicate_of != 0)
		log_info("event=duplicate %s id=%" PRId64 " duplicate_of=%"
		    PRId64, o->logid, o->id, m.duplicate_of);
	else
		log_debug("event=accept %s id=%" PRId64 " type=%s state=%s",
		    o->logid, o->id, m.type, spool_state_name(m.state));
	ret = 0;
out:
	msg_free(&msg);
	return ret;
}

/* Decide and record one file. -1 only on store or system errors. */
static int
accept_one(struct accept_ctx *c, const struct accept_file *f,
    struct outcome *o, int64_t *next_id, struct accept_stats *stats,
    struct spool_error *err)
{
	struct accept_src src;
	struct store_msgref ref;
	struct stat st;
	uint8_t sha[DIGEST_LEN];
	char *buf = NULL, head[512];
	size_t len;
	ssize_t hn;
	int rc, fd = -1, ret = -1;

	memset(o, 0, sizeof(*o));
	o->state = -1;
	o->fd = -1;
	o->id = (*next_id)++;
	snprintf(o->logid, sizeof(o->logid), "partner=%s file=%s",
	    f->partner != NULL ? f->partner : "-", f->name);
	memset(&src, 0, sizeof(src));
	src.partner = f->partner;
	src.orig_name = f->name;

	if (f->partner == NULL) {
		snprintf(o->reason, sizeof(o->reason), "%s was dropped at the "
		    "top of incoming/, not in a partner directory", f->name);
		return accept_reject(c, &src, NULL, 0, NULL, o, err);
	}
	rc = open_upload(f, &fd, &st, o->reason, sizeof(o->reason), err);
	if (rc == 2) {
		stats->vanished++;
		return 0;
	}
	if (rc == -1)
		return -1;
	if (rc == 1)
		return accept_reject(c, &src, NULL, 0, NULL, o, err);

	/* Not XML text: a bundle, if libarchive reads it (DESIGN 9). */
	do
		hn = pread(fd, head, sizeof(head), 0);
	while (hn == -1 && errno == EINTR);
	if (hn == -1) {
		spool_seterr(err, "read %s: %s", f->name, strerror(errno));
		goto out;
	}
	if (hn > 0 && !bundle_looks_like_xml(head, (size_t)hn) &&
	    accept_bundle_size_ok(c, &st)) {
		rc = accept_bundle(c, f, fd, &st, o, next_id, stats, err);
		if (rc == -1)
			goto out;
		if (rc == 0) {
			fd = -1;	/* o->fd owns it now */
			ret = 0;
			goto out;
		}
		/* Not an archive: a (bad) single message after all. */
	}

	rc = read_upload(fd, &st, f->name, c->conf->max_message_size, &buf,
	    &len, o->reason, sizeof(o->reason), err);
	if (rc == -1)
		goto out;
	if (rc == 1) {
		ret = accept_reject(c, &src, NULL, 0, NULL, o, err);
		goto out;
	}
	digest_sha256(buf, len, sha);

	/* Already recorded, but its move was lost to a crash? */
	rc = store_find_upload(c->store, f->partner, f->name, sha, &ref, err);
	if (rc == -1)
		goto out;
	if (rc == 1) {
		if (file_missing(c->sd, &ref)) {
			o->id = ref.id;
			o->state = ref.state;
			o->restore = true;
			snprintf(o->file_name, sizeof(o->file_name), "%s",
			    ref.file_name);
			store_msgref_free(&ref);
			ret = 0;
			goto out;
		}
		store_msgref_free(&ref);
	}
	ret = accept_message(c, &src, buf, len, sha, o, stats, err);
out:
	if (fd != -1)
		close(fd);
	free(buf);
	return ret;
}

/* After COMMIT: move one file to where the store says it is. */
static void
move_one(struct accept_ctx *c, const struct accept_file *f,
    struct outcome *o, struct accept_stats *stats)
{
	struct spool_error err;
	char text[SPOOL_ERRLEN + 512];

	spool_clearerr(&err);
	if (o->state == ST_REJECTED && !o->restore) {
		snprintf(text, sizeof(text), "%s\npartner: %s\nfile: %s\n"
		    "id: %" PRId64 "\n", o->reason,
		    f->partner != NULL ? f->partner : "-", f->name, o->id);
		if (spooldir_write_reason(c->sd, ST_REJECTED, o->file_name,
		    text, &err) == -1)
			log_err("event=reject %s status=failed reason=\"%s\"",
			    o->logid, err.msg);
		stats->rejected++;
		log_notice("event=reject %s id=%" PRId64 " reason=\"%s\"",
		    o->logid, o->id, o->reason);
	}
	if (o->restore) {
		stats->restored++;
		log_notice("event=restore %s id=%" PRId64 " state=%s",
		    o->logid, o->id, spool_state_name(o->state));
	}
	if (spooldir_move(c->sd, f->dirfd, -1, f->name, o->state,
	    o->file_name, &err) == -1)
		log_err("event=move %s id=%" PRId64 " status=failed "
		    "reason=\"%s\"", o->logid, o->id, err.msg);
}

static void
close_bundles(struct outcome *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (out[i].fd != -1) {
			close(out[i].fd);
			out[i].fd = -1;
		}
}

int
accept_files(struct accept_ctx *c, const struct accept_file *files, size_t n,
    struct accept_stats *stats, struct spool_error *err)
{
	struct outcome *out;
	int64_t next_id;
	size_t i;
	int dirfd = -1;

	memset(stats, 0, sizeof(*stats));
	if (n == 0)
		return 0;
	if ((out = calloc(n, sizeof(*out))) == NULL) {
		spool_seterr(err, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++)
		out[i].fd = -1;
	if (store_begin(c->store, err) == -1)
		goto fail;
	/*
	 * IDs are handed out here, so that each file's name is known before
	 * its row is written (one INSERT, no UPDATE). The write transaction
	 * keeps every other writer out; a file that vanishes leaves a gap.
	 * A bundle takes one ID per entry.
	 */
	if (store_next_message_id(c->store, &next_id, err) == -1)
		goto rollback;
	for (i = 0; i < n; i++)
		if (accept_one(c, &files[i], &out[i], &next_id, stats,
		    err) == -1)
			goto rollback;
	if (store_commit(c->store, err) == -1)
		goto rollback;
	failpoint("accept-commit");
	for (i = 0; i < n; i++) {
		if (out[i].state < 0)
			continue;
		if (out[i].bundle)
			accept_bundle_finish(c, &files[i], &out[i], stats);
		else
			move_one(c, &files[i], &out[i], stats);
	}
	/* The incoming directories: fsync each distinct one once. */
	for (i = 0; i < n; i++) {
		if (out[i].state < 0 || files[i].dirfd == dirfd)
			continue;
		dirfd = files[i].dirfd;
		spooldir_fsync_fd(dirfd, "incoming", NULL);
	}
	if (spooldir_sync(c->sd, err) == -1)
		log_err("event=sync status=failed reason=\"%s\"", err->msg);
	close_bundles(out, n);
	free(out);
	return 0;
rollback:
	store_rollback(c->store);
fail:
	memset(stats, 0, sizeof(*stats));
	close_bundles(out, n);
	free(out);
	return -1;
}

int
accept_restore(struct accept_ctx *c, int64_t id, struct spool_error *err)
{
	struct store_msgref ref;
	struct accept_file f;
	struct stat st;
	uint8_t sha[DIGEST_LEN];
	char why[SPOOL_ERRLEN], *buf = NULL;
	size_t len;
	int64_t batch;
	int rc, fd = -1, dirfd = -1, ret = 0;

	/* A bundle entry: its bytes are in the bundle, and its name is
	 * never a path. */
	if ((rc = store_message_batch(c->store, id, &batch, err)) == -1)
		return -1;
	if (rc == 1 && accept_bundle_restore(c, batch, err) == -1)
		return -1;
	if ((rc = store_get(c->store, id, &ref, err)) != 1)
		return rc == 0 ? 0 : -1;
	if (rc == 1 && batch != 0) {
		/* Written from its bundle, now or by an earlier call? */
		rc = file_missing(c->sd, &ref) ? 0 : 1;
		store_msgref_free(&ref);
		return rc;
	}
	if (ref.state < 0 || !conf_partner_name_ok(ref.partner) ||
	    !file_missing(c->sd, &ref))
		goto out;
	dirfd = openat(c->sd->incoming_fd, ref.partner, O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd == -1)
		goto out;
	f.dirfd = dirfd;
	f.partner = ref.partner;
	f.name = ref.orig_name;
	if (open_upload(&f, &fd, &st, why, sizeof(why), err) != 0 ||
	    read_upload(fd, &st, f.name, c->conf->max_message_size, &buf,
	    &len, why, sizeof(why), err) != 0)
		goto out;	/* not there, or not the file it was */
	digest_sha256(buf, len, sha);
	if (memcmp(sha, ref.sha256, DIGEST_LEN) != 0)
		goto out;	/* another upload under the same name */
	if (spooldir_move(c->sd, dirfd, -1, ref.orig_name, ref.state,
	    ref.file_name, err) == -1) {
		ret = -1;
		goto out;
	}
	spooldir_fsync_fd(dirfd, "incoming", NULL);
	log_notice("event=restore partner=%s file=%s id=%" PRId64 " state=%s",
	    ref.partner, ref.orig_name, id, spool_state_name(ref.state));
	ret = 1;
out:
	free(buf);
	if (fd != -1)
		close(fd);
	if (dirfd != -1)
		close(dirfd);
	store_msgref_free(&ref);
	return ret;
}
