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
#include "digest.h"
#include "failpoint.h"
#include "log.h"
#include "message.h"
#include "sequencer.h"

/* What became of one file, between COMMIT and the move. */
struct outcome {
	int64_t		 id;
	int		 state;		/* enum spool_state, or -1: leave it */
	bool		 restore;	/* row existed; only move the file */
	char		 file_name[SPOOLDIR_NAME_MAX + 1];
	char		 reason[SPOOL_ERRLEN];
	char		 logid[300];	/* partner/tx/seq for log lines */
};

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
 * Read the file safely. 0: *buf and *len hold it. 1: refused, reason in why.
 * 2: it vanished (nothing to do). -1: system error, in err.
 */
static int
read_file(const struct accept_file *f, uint64_t max, char **buf, size_t *len,
    char *why, size_t whylen, struct spool_error *err)
{
	struct stat st;
	char *b = NULL;
	size_t off = 0, cap;
	ssize_t n;
	int fd;

	*buf = NULL;
	*len = 0;
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
	if (fstat(fd, &st) == -1) {
		spool_seterr(err, "fstat %s: %s", f->name, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s is %s; only regular files are "
		    "accepted", f->name, file_kind(st.st_mode));
		close(fd);
		return 1;
	}
	if ((uint64_t)st.st_size > max) {
		snprintf(why, whylen, "file is %jd bytes, more than "
		    "max_message_size (%" PRIu64 " bytes)",
		    (intmax_t)st.st_size, max);
		close(fd);
		return 1;
	}
	/* Read at most max+1 bytes: a file that grew past the limit is
	 * refused too, never read whole. */
	cap = (size_t)st.st_size + 1;
	if ((b = malloc(cap)) == NULL) {
		spool_seterr(err, "out of memory reading %s", f->name);
		close(fd);
		return -1;
	}
	for (;;) {
		if (off == cap) {
			char *nb;

			if (cap > max) {
				snprintf(why, whylen, "file grew past "
				    "max_message_size (%" PRIu64 " bytes) while "
				    "being read", max);
				free(b);
				close(fd);
				return 1;
			}
			cap = cap * 2 > max + 1 ? (size_t)max + 1 : cap * 2;
			if ((nb = realloc(b, cap)) == NULL) {
				spool_seterr(err, "out of memory reading %s",
				    f->name);
				free(b);
				close(fd);
				return -1;
			}
			b = nb;
		}
		n = read(fd, b + off, cap - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			spool_seterr(err, "read %s: %s", f->name,
			    strerror(errno));
			free(b);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	close(fd);
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

static int
record_rejection(struct accept_ctx *c, const struct accept_file *f,
    const uint8_t *sha, int64_t size, const struct msg_header *h,
    struct outcome *o, struct spool_error *err)
{
	struct store_newmsg m;

	memset(&m, 0, sizeof(m));
	m.partner = f->partner != NULL ? f->partner : "-";
	m.orig_name = f->name;
	m.state = ST_REJECTED;
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
	    m.partner, f->name, o->id) == -1) {
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

/* Decide and record one file. -1 only on store or system errors. */
static int
accept_one(struct accept_ctx *c, const struct accept_file *f,
    struct outcome *o, int64_t id, struct accept_stats *stats,
    struct spool_error *err)
{
	struct spool_error perr;
	struct store_msgref ref;
	struct seq_result sr;
	struct store_newmsg m;
	struct msg msg;
	uint8_t sha[DIGEST_LEN];
	char *buf = NULL;
	size_t len;
	int rc, ret = -1;
	bool parsed = false;

	memset(o, 0, sizeof(*o));
	o->state = -1;
	o->id = id;
	snprintf(o->logid, sizeof(o->logid), "partner=%s file=%s",
	    f->partner != NULL ? f->partner : "-", f->name);
	spool_clearerr(&perr);

	if (f->partner == NULL) {
		snprintf(o->reason, sizeof(o->reason), "%s was dropped at the "
		    "top of incoming/, not in a partner directory", f->name);
		return record_rejection(c, f, NULL, 0, NULL, o, err);
	}
	rc = read_file(f, c->conf->max_message_size, &buf, &len, o->reason,
	    sizeof(o->reason), err);
	if (rc == 2) {
		stats->vanished++;
		return 0;
	}
	if (rc == -1)
		return -1;
	if (rc == 1)
		return record_rejection(c, f, NULL, 0, NULL, o, err);
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

	if (msg_parse(buf, len, &msg, &perr) == -1) {
		snprintf(o->reason, sizeof(o->reason), "%s", perr.msg);
		ret = record_rejection(c, f, sha, (int64_t)len, NULL, o, err);
		goto out;
	}
	parsed = true;
	if (!conf_sender_ok(c->conf, f->partner, msg.hdr.sender)) {
		snprintf(o->reason, sizeof(o->reason), "Sender %s does not "
		    "match partner directory %s", msg.hdr.sender, f->partner);
		ret = record_rejection(c, f, sha, (int64_t)len, &msg.hdr, o,
		    err);
		goto out;
	}
	if (strcmp(msg.hdr.sender, f->partner) != 0 &&
	    is_partner_dir(c->sd, msg.hdr.sender)) {
		/* An alias that names another partner's directory: a
		 * partner can never speak for another. */
		snprintf(o->reason, sizeof(o->reason), "Sender %s is a partner "
		    "of its own (incoming/%s exists): partner %s cannot send "
		    "in its name", msg.hdr.sender, msg.hdr.sender, f->partner);
		ret = record_rejection(c, f, sha, (int64_t)len, &msg.hdr, o,
		    err);
		goto out;
	}
	if (c->schemas != NULL && schema_set_has(c->schemas, msg.hdr.type)) {
		if (schema_validate(c->schemas, msg.hdr.type, msg.doc,
		    &perr) == -1) {
			snprintf(o->reason, sizeof(o->reason), "%.100s does not "
			    "match its schema: %.380s", msg.hdr.type, perr.msg);
			ret = record_rejection(c, f, sha, (int64_t)len,
			    &msg.hdr, o, err);
			goto out;
		}
	} else if (c->conf->require_schema) {
		snprintf(o->reason, sizeof(o->reason), "message type %s has "
		    "no schema, and require_schema is set", msg.hdr.type);
		ret = record_rejection(c, f, sha, (int64_t)len, &msg.hdr, o,
		    err);
		goto out;
	}

	if (seq_classify(c->store, f->partner, &msg.hdr, sha, &sr, err) == -1)
		goto out;
	if (msg.hdr.transaction_id != NULL)
		snprintf(o->logid, sizeof(o->logid), "partner=%s tx=%s seq=%"
		    PRId64 " file=%s", f->partner, msg.hdr.transaction_id,
		    msg.hdr.sender_seq, f->name);
	if (sr.verdict == SEQ_CONFLICT) {
		snprintf(o->reason, sizeof(o->reason), "%s", sr.reason);
		ret = record_rejection(c, f, sha, (int64_t)len, &msg.hdr, o,
		    err);
		goto out;
	}

	memset(&m, 0, sizeof(m));
	m.partner = f->partner;
	m.orig_name = f->name;
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
		if (store_tx_ensure(c->store, f->partner, m.transaction_id,
		    err) == -1)
			goto out;
		if (m.state == ST_PARKED && store_tx_note_gap(c->store,
		    f->partner, m.transaction_id, err) == -1)
			goto out;
	}
	if (spooldir_name(o->file_name, sizeof(o->file_name), f->partner,
	    m.transaction_id, m.sender_seq, m.type, o->id) == -1) {
		spool_seterr(err, "file name too long");
		goto out;
	}
	m.id = o->id;
	m.file_name = o->file_name;
	if (store_insert(c->store, &m, &o->id, err) == -1)
		goto out;
	o->state = m.state;
	if (m.duplicate_of != 0)
		log_info("event=duplicate %s id=%" PRId64 " duplicate_of=%"
		    PRId64, o->logid, o->id, m.duplicate_of);
	else
		log_debug("event=accept %s id=%" PRId64 " type=%s state=%s",
		    o->logid, o->id, m.type, spool_state_name(m.state));
	ret = 0;
out:
	if (parsed)
		msg_free(&msg);
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
	if (store_begin(c->store, err) == -1)
		goto fail;
	/*
	 * IDs are handed out here, so that each file's name is known before
	 * its row is written (one INSERT, no UPDATE). The write transaction
	 * keeps every other writer out; a file that vanishes leaves a gap.
	 */
	if (store_next_message_id(c->store, &next_id, err) == -1)
		goto rollback;
	for (i = 0; i < n; i++)
		if (accept_one(c, &files[i], &out[i], next_id + (int64_t)i,
		    stats, err) == -1)
			goto rollback;
	if (store_commit(c->store, err) == -1)
		goto rollback;
	failpoint("accept-commit");
	for (i = 0; i < n; i++) {
		if (out[i].state < 0)
			continue;
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
	free(out);
	return 0;
rollback:
	store_rollback(c->store);
fail:
	memset(stats, 0, sizeof(*stats));
	free(out);
	return -1;
}

int
accept_restore(struct accept_ctx *c, int64_t id, struct spool_error *err)
{
	struct store_msgref ref;
	struct accept_file f;
	uint8_t sha[DIGEST_LEN];
	char why[SPOOL_ERRLEN], *buf = NULL;
	size_t len;
	int rc, dirfd = -1, ret = 0;

	if ((rc = store_get(c->store, id, &ref, err)) != 1)
		return rc == 0 ? 0 : -1;
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
	if (read_file(&f, c->conf->max_message_size, &buf, &len, why,
	    sizeof(why), err) != 0)
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
	if (dirfd != -1)
		close(dirfd);
	store_msgref_free(&ref);
	return ret;
}
