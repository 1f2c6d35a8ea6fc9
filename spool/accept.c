/*
 * accept.c - acceptance: the only way into the spool.
 *
 * For each file: open it without following links and without blocking
 * (O_NOFOLLOW|O_NONBLOCK, so a FIFO cannot hang us), fstat the open file
 * and refuse anything but a regular file, refuse it unread when it is
 * larger than max_message_size, parse it (message.c: no DOCTYPE, no
 * entities, no network), check the sender against the partner directory,
 * validate it against its schema, classify it (sequencer.c) and record
 * it in the store. The first half, up to the schema, needs no store and
 * is accept_prep.c's (a struct accept_prep per file, made on a worker
 * thread by accept_pipe.c, or here when take is NULL); this file is the
 * second half, on the store thread: classify, record, COMMIT, move. An
 * upload whose head says EDI or not XML is split or read as a bundle
 * here (accept_special()), since both write. A whole batch is one transaction: one fsync for many
 * files. Only after COMMIT are the files renamed out of incoming/; a
 * rejected file's .reason sidecar is written before the file is moved,
 * so rejected/ never holds a file without its reason: when the sidecar
 * cannot be written (disk full), the file stays in incoming/ and the
 * reason is owed (spooldir_owe(); accept_settle_owed() writes it and
 * moves the file later, also for the cycle's failed/ files).
 *
 * The bytes processed are the bytes accepted. A partner may still reach
 * its upload after acceptance: through a descriptor it kept open, or a
 * hard link under a name spoold ignores (x.tmp) or outside its
 * directory. So: an upload with more than one link is refused unread
 * (copying it instead would let a link to a file outside the partner's
 * directory make spoold read that file; refusing costs an honest partner
 * nothing, since SFTP uploads have one link). The digest of the bytes
 * checked is recorded with the row; after COMMIT the upload is renamed
 * into its state directory, and when that name no longer holds the
 * inode that was read, or the inode has gained a link meanwhile, the
 * file there is replaced by spoold's own copy of the checked bytes. A
 * descriptor kept open can still write into the renamed inode; that is
 * why every later reader (the cycle, the exec runner) checks the digest
 * (readfile_verify) and fails the message, permanently, when it differs.
 *
 * An upload deleted between its read and the move (a partner that
 * removes what it has just closed) is written from the bytes held since
 * the read (spooldir_write_file: dot-file, fsync, rename), so no
 * committed row is left without its file. The bytes of a batch are held
 * up to HOLD_MAX; a file beyond that which vanishes too is settled as
 * failed with its reason (reconcile_settle_lost), never retried.
 *
 * Crash safety: killed before COMMIT, nothing was recorded and every file
 * is still in incoming/. Killed after COMMIT but before a rename, the
 * file is still in incoming/ while the store has its row: when it is
 * taken again, its row is found by (partner, original name, digest) with
 * no file in its state directory, and the file is moved there
 * ("restored") instead of being recorded twice. If the partner removed
 * it meanwhile, start-up settles the row as failed: the upload was removed
 * before spoold had its copy (reconcile_settle_lost).
 *
 * An upload spoold may not read (EACCES, EPERM) is our side's mistake,
 * not the partner's (DESIGN 18): it is recorded held, cause
 * "unreadable", and moved unread to hold/; released, it comes back to
 * incoming/ and is accepted from the start (lever_release()).
 *
 * With accept_files_apply(), a ready message routed to a handler that
 * works inside the transaction is applied in the batch's transaction
 * and its upload moved once, into done/ (or deferred/, failed/, hold/):
 * accept_apply.c, which also gives that path's crash argument.
 *
 * Nothing from a partner becomes a path: state-directory names are made
 * by spooldir_name() from escaped fields and the store's ID.
 *
 * Length: a little over the project's 800 lines; what could leave
 * (reading, the pipeline, the mover, restores, the one pass) already
 * did, and the rest is one transaction's recording and its crash
 * argument.
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
#include "message.h"
#include "outbound.h"
#include "readfile.h"
#include "reconcile.h"
#include "schema.h"
#include "sequencer.h"
#include "store_admin.h"
#include "store_batch.h"
#include "store_cycle.h"
#include "store_order.h"

/*
 * Bytes of checked uploads a batch holds until their move. Issue 20
 * bounds spoold's peak RSS at 48 MiB under any burst; a burst of small
 * files peaks at about 37 MiB (bench-burst: SQLite's 16 MiB cache, the
 * scan's chunk, libxml2), so what a batch holds besides must stay
 * under the 11 MiB left: 8 MiB, 4096 files of 2 KiB, more than a
 * batch takes (ACCEPT_BATCH_MAX). Larger files beyond it are let go
 * (see above) and go through queue/ (tests/integration/holdmax.sh).
 */
#define HOLD_MAX	(8 * 1024 * 1024)

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

/*
 * An upload spoold may not read (open_upload() said 3): recorded held,
 * cause "unreadable", with nothing known of it but its partner and name;
 * its file goes to hold/. Released (SIGHUP, spoolctl release), it goes
 * back to incoming/ and is accepted from the start (lever_release()).
 */
static int
accept_hold(struct accept_ctx *c, const struct accept_src *src,
    struct outcome *o, struct spool_error *err)
{
	struct store_newmsg m;

	memset(&m, 0, sizeof(m));
	m.partner = src->partner;
	m.orig_name = src->orig_name;
	m.state = ST_HELD;
	m.reason = o->reason;
	if (spooldir_held_name(o->file_name, sizeof(o->file_name),
	    m.partner, src->orig_name, o->id) == -1) {
		spool_seterr(err, "file name too long");
		return -1;
	}
	m.id = o->id;
	m.file_name = o->file_name;
	if (store_insert(c->store, &m, &o->id, err) == -1 ||
	    store_mark_held(c->store, o->id, o->reason, "unreadable", 0,
	    err) == -1 ||
	    store_add_action(c->store, o->id, "hold", "spoold", o->reason,
	    err) == -1)
		return -1;
	o->state = ST_HELD;
	return 0;
}

int
accept_message(struct accept_ctx *c, const struct accept_src *src,
    const char *buf, size_t len, const uint8_t *sha, struct outcome *o,
    struct accept_stats *stats, struct spool_error *err)
{
	struct accept_check k;
	int ret;

	(void)accept_check(c, src, buf, len, &k);
	ret = accept_record(c, src, len, sha, &k, o, stats, err);
	accept_check_free(&k);
	return ret;
}

/*
 * The row just inserted from m, as store_work_get() would read it back
 * (store_insert() binds the numbers only in a transaction), and its
 * transaction's row tx as the sequencer read it (nothing changes it
 * before the one pass applies the message, right after); NULL when
 * memory runs out (then it is read back).
 */
static struct store_work *
work_of(const struct store_newmsg *m, int64_t id, const struct store_txrow *tx)
{
	struct store_work *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->id = id;
	w->state = m->state;
	if (m->transaction_id != NULL) {
		w->sender_seq = m->sender_seq;
		w->receiver_seq = m->receiver_seq;
		/* Its transaction's row as read (or just written). */
		w->tx_known = true;
		w->out_seq = tx->out_seq;
		w->gap.open = tx->gap_open;
		w->gap.since = tx->gap_since;
		w->gap.alerted = tx->gap_alerted;
	}
	if (m->sha256 != NULL) {
		memcpy(w->sha256, m->sha256, sizeof(w->sha256));
		w->has_sha256 = true;
	}
	w->test = m->test;
	if ((w->partner = strdup(m->partner)) == NULL ||
	    (w->file_name = strdup(m->file_name)) == NULL ||
	    (m->type != NULL && (w->type = strdup(m->type)) == NULL) ||
	    (m->transaction_id != NULL &&
	    (w->transaction_id = strdup(m->transaction_id)) == NULL) ||
	    (m->dialect != NULL && (w->dialect = strdup(m->dialect)) ==
	    NULL)) {
		store_work_free(w);
		free(w);
		return NULL;
	}
	return w;
}

int
accept_record(struct accept_ctx *c, const struct accept_src *src,
    size_t len, const uint8_t *sha, struct accept_check *k,
    struct outcome *o, struct accept_stats *stats, struct spool_error *err)
{
	struct seq_result sr;
	struct seq_mode mode;
	struct store_newmsg m;
	struct accept_readinfo *ri = &k->ri;
	struct msg *msg = &k->msg;
	int ret = -1;

	if (k->refused) {
		snprintf(o->reason, sizeof(o->reason), "%s", k->reason);
		return accept_reject(c, src, sha, (int64_t)len, k->hdr ?
		    &msg->hdr : NULL, o, err);
	}
	memset(&mode, 0, sizeof(mode));
	mode.order = ri->native ? CONF_ORDER_DEFAULT : ri->order;
	mode.first_control = ri->first_control;
	mode.after = ri->after;
	mode.reference = ri->business_tx;
	mode.batch = src->batch;
	if (seq_classify_mode(c->store, src->partner, &msg->hdr, sha, &mode,
	    &sr, err) == -1)
		goto out;
	if (sr.pair[0] != '\0')
		snprintf(o->logid, sizeof(o->logid), "partner=%s pair=%s "
		    "control=%" PRId64 " file=%s", LOG_Q(src->partner),
		    LOG_Q(sr.pair), sr.control, LOG_Q(src->orig_name));
	if (msg->hdr.transaction_id != NULL)
		snprintf(o->logid, sizeof(o->logid), "partner=%s tx=%s seq=%"
		    PRId64 " file=%s", LOG_Q(src->partner),
		    LOG_Q(msg->hdr.transaction_id), msg->hdr.sender_seq,
		    LOG_Q(src->orig_name));
	if (sr.verdict == SEQ_CONFLICT) {
		accept_set_reason(o->reason, sizeof(o->reason), src, sr.reason);
		ret = accept_reject(c, src, sha, (int64_t)len, &msg->hdr, o,
		    err);
		/* Refused under its interchange number: shown with it. */
		if (ret == 0 && sr.pair[0] != '\0' && store_order_set(c->store,
		    o->id, sr.pair, sr.control, NULL, err) == -1)
			ret = -1;
		goto out;
	}

	memset(&m, 0, sizeof(m));
	m.partner = src->partner;
	m.orig_name = src->orig_name;
	m.batch = src->batch;
	m.type = msg->hdr.type;
	m.message_id = msg->hdr.message_id;
	m.sender = msg->hdr.sender;
	m.recipient = msg->hdr.recipient;
	m.transaction_id = msg->hdr.transaction_id;
	m.sender_seq = msg->hdr.sender_seq;
	m.receiver_seq = msg->hdr.receiver_seq;
	m.sha256 = sha;
	m.size = (int64_t)len;
	m.dialect = ri->dialect != NULL && !ri->native ?
	    dialect_name(ri->dialect) : NULL;
	m.test = ri->test;
	m.reference = ri->business_tx;
	switch (sr.verdict) {
	case SEQ_READY:
		m.state = ST_QUEUE;
		stats->ready++;
		break;
	case SEQ_PARKED:
		m.state = ST_PARKED;
		if (sr.reason[0] != '\0')
			m.reason = sr.reason;
		stats->parked++;
		break;
	default:
		m.state = ST_DONE;
		/*
		 * A duplicate of a purged message (its tombstone) names
		 * itself: duplicate_of is a foreign key, and the purged
		 * row is gone; the log and the reason name the purged ID.
		 */
		m.duplicate_of = sr.purged ? o->id : sr.duplicate_of;
		m.reason = sr.purged ? "duplicate of a purged message" :
		    "duplicate";
		stats->duplicate++;
		break;
	}
	if (m.transaction_id != NULL && m.duplicate_of == 0) {
		/* Its row, unless the sequencer just read it. */
		if (!sr.tx_found && store_tx_ensure(c->store, src->partner,
		    m.transaction_id, err) == -1)
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
	if (o->may_defer && m.state == ST_QUEUE && src->bundle == NULL &&
	    ri->native && sr.pair[0] == '\0' && sr.after == NULL) {
		/* Ready: the one pass writes its row, done at once when it
		 * applies it (accept_pass_apply()), before anything else. */
		o->m = m;
		o->pending = true;
	} else if (store_insert(c->store, &m, &o->id, err) == -1)
		goto out;
	if ((sr.pair[0] != '\0' || sr.after != NULL) &&
	    store_order_set(c->store, o->id, sr.pair[0] != '\0' ? sr.pair :
	    NULL, sr.control, sr.after, err) == -1)
		goto out;
	if (sr.pair[0] != '\0' && m.state == ST_PARKED &&
	    store_tx_note_gap(c->store, src->partner, sr.pair, err) == -1)
		goto out;
	/* Accepted despite its bytes (UNOA's lower case): said once. */
	if (ri->warning[0] != '\0')
		log_warn("event=charset %s id=%" PRId64 " warning=%s",
		    o->logid, o->id, LOG_Q(ri->warning));
	o->state = m.state;
	o->duplicate = m.duplicate_of != 0;
	if (m.duplicate_of != 0)
		log_info("event=duplicate %s id=%" PRId64 " type=%s "
		    "duplicate_of=%" PRId64 "%s", o->logid, o->id,
		    LOG_Q(m.type), sr.duplicate_of,
		    sr.purged ? " purged=yes" : "");
	else
		log_debug("event=accept %s id=%" PRId64 " type=%s state=%s",
		    o->logid, o->id, LOG_Q(m.type), spool_state_name(m.state));
	ret = 0;
	/* Ready: its document and its row for the one pass
	 * (accept_apply.c), which then reads neither back. */
	if (m.state == ST_QUEUE && src->bundle == NULL && ri->native &&
	    (o->parsed = malloc(sizeof(*o->parsed))) != NULL) {
		o->work = work_of(&m, o->id, &sr.tx);
		*o->parsed = *msg;
		memset(msg, 0, sizeof(*msg));
	}
out:
	return ret;
}

/*
 * An upload whose head is EDI or not XML (PREP_SPECIAL), on the store
 * thread: several interchanges are split into files of their own, a
 * bundle is read entry by entry in this transaction. 2: neither, and p
 * is now read and checked as a single message (PREP_READ); else 0 or -1
 * as accept_one().
 */
static int
accept_special(struct accept_ctx *c, const struct accept_file *f,
    const struct accept_src *src, struct accept_prep *p, struct outcome *o,
    int64_t *next_id, struct accept_stats *stats, struct spool_error *err)
{
	int rc;

	/* Several EDI interchanges: a file each, taken by the next scan. */
	if (p->edi) {
		if ((rc = accept_split(c, f, p->fd, o, err)) == -1)
			return -1;
		if (rc == 1) {
			stats->split++;
			stats->vanished++;
			return 0;
		}
	}
	if (!p->xml) {
		rc = accept_bundle(c, f, p->fd, &p->st, o, next_id, stats,
		    err);
		if (rc == -1)
			return -1;
		if (rc == 0) {
			p->fd = -1;	/* o->fd owns it now */
			return 0;
		}
		/* Not an archive: a (bad) single message after all. */
	}
	rc = readfile_fd(p->fd, f->name, c->conf->max_message_size, &p->buf,
	    &p->len, o->reason, sizeof(o->reason), err);
	close(p->fd);
	p->fd = -1;
	if (rc == -1)
		return -1;
	if (rc == 1)
		return accept_reject(c, src, NULL, 0, NULL, o, err);
	p->kind = PREP_READ;
	accept_prep_check(c, f, p);
	return 2;
}

/* Is nothing at the upload's name any more? (Another file there is a
 * new upload of the same bytes: not gone.) */
static bool
upload_gone(const struct accept_file *f)
{
	struct stat now;

	return fstatat(f->dirfd, f->name, &now, AT_SYMLINK_NOFOLLOW) == -1 &&
	    errno == ENOENT;
}

/*
 * Record one file from its preparation p (accept_prep.c), taking over
 * what p holds. -1 only on store or system errors.
 */
static int
accept_one(struct accept_ctx *c, const struct accept_file *f,
    struct accept_prep *p, struct outcome *o, int64_t *next_id,
    bool may_defer, struct accept_stats *stats, struct spool_error *err)
{
	struct accept_src src;
	struct store_msgref ref;
	int rc;

	memset(o, 0, sizeof(*o));
	o->may_defer = may_defer;
	o->state = -1;
	o->fd = -1;
	o->id = (*next_id)++;
	snprintf(o->logid, sizeof(o->logid), "partner=%s file=%s",
	    f->partner != NULL ? LOG_Q(f->partner) : "-", LOG_Q(f->name));
	memset(&src, 0, sizeof(src));
	src.partner = f->partner;
	src.orig_name = f->name;

	switch (p->kind) {
	case PREP_STRAY:
		snprintf(o->reason, sizeof(o->reason), "%s was dropped at the "
		    "top of incoming/, not in a partner directory",
		    LOG_Q(f->name));
		return accept_reject(c, &src, NULL, 0, NULL, o, err);
	case PREP_VANISHED:
		stats->vanished++;
		return 0;
	case PREP_ERROR:
		spool_seterr(err, "%s", p->chk.reason);
		return -1;
	case PREP_REFUSED:
		snprintf(o->reason, sizeof(o->reason), "%s", p->chk.reason);
		return accept_reject(c, &src, NULL, 0, NULL, o, err);
	case PREP_UNREADABLE:
		snprintf(o->reason, sizeof(o->reason), "%s", p->chk.reason);
		return accept_hold(c, &src, o, err);
	case PREP_SPECIAL:
		if ((rc = accept_special(c, f, &src, p, o, next_id, stats,
		    err)) != 2)
			return rc;
		break;
	case PREP_READ:
		break;
	}

	/* Already recorded, but its move was lost to a crash? */
	rc = store_find_upload(c->store, f->partner, f->name, p->sha, &ref,
	    err);
	if (rc == -1)
		return -1;
	if (rc == 1) {
		/* Its file may be one the mover still moves. */
		accept_mover_wait(c->mover);
		if (accept_file_missing(c->sd, &ref)) {
			o->id = ref.id;
			o->state = ref.state;
			o->restore = true;
			snprintf(o->file_name, sizeof(o->file_name), "%s",
			    ref.file_name);
			store_msgref_free(&ref);
			goto hold;
		}
		store_msgref_free(&ref);
		/*
		 * Recorded, its file where the row says, and the upload read
		 * no longer at its name: this was that upload, offered twice
		 * (announced and scanned), read before the mover moved it.
		 * Gone, as if read after the move.
		 */
		if (upload_gone(f)) {
			stats->vanished++;
			return 0;
		}
	}
	if (accept_record(c, &src, p->len, p->sha, &p->chk, o, stats,
	    err) == -1)
		return -1;
hold:
	/* Held until the move (accept_files() may drop them). */
	o->buf = p->buf;
	o->len = p->len;
	o->dev = p->st.st_dev;
	o->ino = p->st.st_ino;
	p->buf = NULL;
	return 0;
}

/* Replace what lies at o's name by spoold's own copy of the bytes. */
static int
write_copy(struct spooldir *sd, struct outcome *o, bool replace,
    const char *why)
{
	struct spool_error err;

	spool_clearerr(&err);
	if (spooldir_write_file(sd, o->state, o->file_name, o->buf, o->len,
	    replace, &err) == -1) {
		log_err("event=move %s id=%" PRId64 " status=failed "
		    "reason=%s", o->logid, o->id, LOG_Q(err.msg));
		return -1;
	}
	log_notice("event=copy %s id=%" PRId64 " reason=%s", o->logid,
	    o->id, LOG_Q(why));
	return 0;
}

void
accept_move_upload(struct spooldir *sd, struct store *store, int dirfd,
    const char *name, struct outcome *o)
{
	struct spool_error err;
	struct stat st;
	bool same;

	spool_clearerr(&err);
	if (o->buf != NULL && fstatat(dirfd, name, &st,
	    AT_SYMLINK_NOFOLLOW) == 0 && (st.st_dev != o->dev ||
	    st.st_ino != o->ino)) {
		/* Another file under its name: a new upload, left for its
		 * own turn. */
		write_copy(sd, o, false, "another file took the upload's "
		    "name before its move; the bytes checked were written");
		return;
	}
	if (spooldir_move(sd, dirfd, -1, name, o->state, o->file_name,
	    &err) == -1) {
		if (errno != ENOENT) {
			log_err("event=move %s id=%" PRId64 " status=failed "
			    "reason=%s", o->logid, o->id, LOG_Q(err.msg));
			return;
		}
		if (o->buf != NULL) {
			write_copy(sd, o, false, "the upload was removed "
			    "before its move; the bytes checked were "
			    "written");
			return;
		}
		spool_clearerr(&err);
		if (store == NULL || reconcile_settle_lost(sd, store, o->id,
		    &err) == -1)
			log_err("event=move %s id=%" PRId64 " status=failed "
			    "reason=%s", o->logid, o->id, store == NULL ?
			    "\"no store to settle it\"" : LOG_Q(err.msg));
		return;
	}
	if (o->buf == NULL)
		return;
	same = fstatat(sd->state_fd[o->state], o->file_name, &st,
	    AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == o->dev &&
	    st.st_ino == o->ino && st.st_nlink == 1;
	if (!same)
		write_copy(sd, o, true, "the upload gained a link or was "
		    "replaced before its move; the bytes checked were "
		    "written");
}

static void
move_upload(struct accept_ctx *c, const struct accept_file *f,
    struct outcome *o)
{
	accept_move_upload(c->sd, c->store, f->dirfd, f->name, o);
}

/* After COMMIT: move one file to where the store says it is. */
static void
move_one(struct accept_ctx *c, const struct accept_file *f,
    struct outcome *o, struct accept_stats *stats)
{
	struct spool_error err;
	char text[SPOOL_ERRLEN + 512];

	spool_clearerr(&err);
	if (o->applied) {
		move_upload(c, f, o);	/* logged by the one pass */
		return;
	}
	if (o->state == ST_REJECTED && !o->restore) {
		snprintf(text, sizeof(text), "%s\npartner: %s\nfile: %s\n"
		    "id: %" PRId64 "\n", o->reason,
		    f->partner != NULL ? LOG_Q(f->partner) : "-",
		    LOG_Q(f->name), o->id);
		if (spooldir_write_reason(c->sd, ST_REJECTED, o->file_name,
		    text, &err) == -1) {
			/* No file in rejected/ without its reason: it
			 * stays in incoming/, the reason is owed. */
			log_err("event=reject %s id=%" PRId64 " status=failed "
			    "reason=%s note=\"the file stays in incoming/ "
			    "until its reason is written\"", o->logid, o->id,
			    LOG_Q(err.msg));
			spooldir_owe(c->sd, o->id);
			stats->rejected++;
			return;
		}
		stats->rejected++;
		log_notice("event=reject %s id=%" PRId64 " reason=%s",
		    o->logid, o->id, LOG_Q(o->reason));
	}
	if (o->state == ST_HELD) {
		/* The .reason beside it is for ls; the store has it. */
		if (spooldir_write_reason(c->sd, ST_HELD, o->file_name,
		    o->reason, &err) == -1) {
			log_warn("event=reason %s id=%" PRId64 " status=failed "
			    "reason=%s", o->logid, o->id, LOG_Q(err.msg));
			spool_clearerr(&err);
		}
		log_warn("event=hold %s id=%" PRId64 " cause=unreadable "
		    "reason=%s", o->logid, o->id, LOG_Q(o->reason));
	}
	if (o->restore) {
		stats->restored++;
		log_notice("event=restore %s id=%" PRId64 " state=%s",
		    o->logid, o->id, spool_state_name(o->state));
	}
	move_upload(c, f, o);
}

static void
free_parsed(struct outcome *o)
{
	if (o->work != NULL) {
		store_work_free(o->work);
		free(o->work);
		o->work = NULL;
	}
	if (o->parsed == NULL)
		return;
	msg_free(o->parsed);
	free(o->parsed);
	o->parsed = NULL;
}

static void
close_bundles(struct outcome *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (out[i].fd != -1) {
			close(out[i].fd);
			out[i].fd = -1;
		}
		free(out[i].buf);
		out[i].buf = NULL;
		free_parsed(&out[i]);
		accept_bundle_release(&out[i]);
	}
}

int
accept_files(struct accept_ctx *c, const struct accept_file *files, size_t n,
    struct accept_stats *stats, struct spool_error *err)
{
	return accept_files_apply(c, NULL, files, n, stats, err);
}

int
accept_files_apply(struct accept_ctx *c, const struct accept_apply *apply,
    const struct accept_file *files, size_t n, struct accept_stats *stats,
    struct spool_error *err)
{
	return accept_batch(c, apply, files, n, NULL, stats, err);
}

int
accept_batch(struct accept_ctx *c, const struct accept_apply *apply,
    const struct accept_file *files, size_t n,
    const struct accept_source *src, struct accept_stats *stats,
    struct spool_error *err)
{
	struct accept_pass *pass = NULL;
	struct accept_prep local, *p;
	struct outcome *out;
	int64_t next_id;
	size_t i, held = 0;
	int dirfd = -1, rc;

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
	if (store_next_message_id(c->store, &next_id, err) == -1 ||
	    accept_pass_new(apply, c->mover, n, &pass, err) == -1)
		goto rollback;
	for (i = 0; i < n; i++) {
		if (src != NULL)
			p = src->take(src->arg, i);
		else {
			p = &local;
			accept_prepare(c, &files[i], p);
		}
		rc = accept_one(c, &files[i], p, &out[i], &next_id,
		    pass != NULL, stats, err);
		if (rc == 0) {
			if (out[i].buf != NULL &&
			    out[i].len > HOLD_MAX - held) {
				free(out[i].buf);
				out[i].buf = NULL;
			} else
				held += out[i].len;
			/* Ready: applied now, in this transaction (one
			 * pass). */
			rc = accept_pass_apply(pass, out, i + 1, i, err);
		}
		/* Its document goes back with its preparation: the pipe
		 * frees it on a worker, where it was made. */
		if (out[i].parsed != NULL) {
			p->chk.msg = *out[i].parsed;
			free(out[i].parsed);
			out[i].parsed = NULL;
		}
		free_parsed(&out[i]);	/* its work record, if not taken */
		if (src != NULL)
			src->put(src->arg, p);
		else
			accept_prep_free(p);
		if (rc == -1)
			goto rollback;
	}
	/* Only the last batch committed may have rows without their files
	 * (accept_unrenamed()): the one before is moved first. */
	accept_mover_wait(c->mover);
	if (store_commit(c->store, err) == -1)
		goto rollback;
	failpoint("accept-commit");
	accept_pass_settle(pass, out, n, stats);
	if (c->mover != NULL && accept_mover_can(out, n, stats) &&
	    accept_mover_give(c->mover, c->sd, files, out, n) == 0) {
		/* The mover has out and its bytes now. */
		accept_pass_free(pass);
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (out[i].state < 0)
			continue;
		if (out[i].bundle)
			/* Taken again (restore): its failure was logged by
			 * the start-up restore already. */
			(void)accept_bundle_finish(c, &files[i], &out[i],
			    out[i].restore, stats);
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
		log_err("event=sync status=failed reason=%s", LOG_Q(err->msg));
	if (stats->acks > 0) {
		/* The acknowledgments recorded with the batch (accept_ack.c):
		 * a crash before this writes them at the next start. */
		failpoint("ack-write");
		spool_clearerr(err);
		if (outbound_flush(c->sd, c->store, NULL, err) == -1)
			log_err("event=ack status=failed reason=%s",
			    LOG_Q(err->msg));
		spool_clearerr(err);
	}
	close_bundles(out, n);
	accept_pass_free(pass);
	free(out);
	return 0;
rollback:
	store_rollback(c->store);
fail:
	memset(stats, 0, sizeof(*stats));
	close_bundles(out, n);
	accept_pass_free(pass);
	free(out);
	return -1;
}
