/*
 * accept_restore.c - acceptance's repairs: a recorded upload whose move
 * a crash lost, and the .reason sidecars a full disk kept back.
 *
 * accept_restore(): a recorded message whose file is missing from its
 * state directory. When its upload is still in incoming/<partner>/ under
 * its original name, with the digest recorded (so it is the upload
 * that was accepted, not a new one under the same name), it is moved
 * where the store says; when that name no longer holds the inode read,
 * or the inode has more than one link, spoold's own copy of the bytes
 * checked is written instead (accept.c's header says why). A bundle
 * entry's file is written again from its bundle (accept_bundle.c).
 *
 * accept_settle_owed(): each owed sidecar is written, then its file
 * moved (failed/ from the state directory it is in, rejected/ from
 * incoming/ through accept_restore()); what cannot be written yet stays
 * owed.
 *
 * Crash safety: the store is only read; the moves are renames, and a
 * copy is written as a dot-file, fsynced and renamed (spooldir.c).
 * Killed at any point, the next start finds the row without its file
 * again and does the same.
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
#include "digest.h"
#include "log.h"
#include "readfile.h"
#include "store_admin.h"
#include "store_batch.h"
#include "store_cycle.h"

/* Is the file of a recorded message missing from its state directory? */
bool
accept_file_missing(struct spooldir *sd, const struct store_msgref *r)
{
	struct stat st;

	if (r->state < 0 || r->state >= ST_NSTATES || r->file_name[0] == '\0')
		return false;
	return fstatat(sd->state_fd[r->state], r->file_name, &st,
	    AT_SYMLINK_NOFOLLOW) == -1 && errno == ENOENT;
}

int
accept_restore(struct accept_ctx *c, int64_t id, struct spool_error *err)
{
	struct store_msgref ref;
	struct accept_file f;
	struct stat st, st2;
	uint8_t sha[DIGEST_LEN];
	char why[SPOOL_ERRLEN], *buf = NULL;
	size_t len;
	int64_t batch;
	int rc, fd = -1, dirfd = -1, ret = 0;

	/* A bundle entry: its bytes are in the bundle, and its name is
	 * never a path. */
	if ((rc = store_message_batch(c->store, id, &batch, err)) == -1)
		return -1;
	if (rc == 1 && accept_bundle_restore(c, batch, false, err) == -1)
		return -1;
	if ((rc = store_get(c->store, id, &ref, err)) != 1)
		return rc == 0 ? 0 : -1;
	if (rc == 1 && batch != 0) {
		/* Written from its bundle, now or by an earlier call? */
		rc = accept_file_missing(c->sd, &ref) ? 0 : 1;
		store_msgref_free(&ref);
		return rc;
	}
	if (ref.state < 0 || !conf_partner_name_ok(ref.partner) ||
	    !accept_file_missing(c->sd, &ref))
		goto out;
	dirfd = openat(c->sd->incoming_fd, ref.partner, O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd == -1)
		goto out;
	f.dirfd = dirfd;
	f.partner = ref.partner;
	f.name = ref.orig_name;
	if (accept_open_upload(&f, &fd, &st, why, sizeof(why), err) != 0 ||
	    readfile_fd(fd, f.name, c->conf->max_message_size, &buf, &len,
	    why, sizeof(why), err) != 0)
		goto out;	/* not there, or not the file it was */
	digest_sha256(buf, len, sha);
	if (memcmp(sha, ref.sha256, DIGEST_LEN) != 0)
		goto out;	/* another upload under the same name */
	if (spooldir_move(c->sd, dirfd, -1, ref.orig_name, ref.state,
	    ref.file_name, err) == -1) {
		ret = -1;
		goto out;
	}
	/* Still the inode read, with one link? Else our own copy. */
	if (fstatat(c->sd->state_fd[ref.state], ref.file_name, &st2,
	    AT_SYMLINK_NOFOLLOW) == -1 || st2.st_dev != st.st_dev ||
	    st2.st_ino != st.st_ino || st2.st_nlink != 1) {
		if (spooldir_write_file(c->sd, ref.state, ref.file_name, buf,
		    len, true, err) == -1) {
			ret = -1;
			goto out;
		}
	}
	spooldir_fsync_fd(dirfd, "incoming", NULL);
	if (ref.transaction_id != NULL)
		log_notice("event=restore partner=%s tx=%s seq=%" PRId64
		    " file=%s id=%" PRId64 " state=%s", LOG_Q(ref.partner),
		    LOG_Q(ref.transaction_id), ref.sender_seq,
		    LOG_Q(ref.orig_name), id, spool_state_name(ref.state));
	else
		log_notice("event=restore partner=%s file=%s id=%" PRId64
		    " state=%s", LOG_Q(ref.partner), LOG_Q(ref.orig_name), id,
		    spool_state_name(ref.state));
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

int
accept_settle_owed(struct accept_ctx *c, struct spool_error *err)
{
	struct spooldir *sd = c->sd;
	struct store_admin_msg m;
	struct spool_error e;
	struct stat st;
	char text[SPOOL_ERRLEN + 4096 + 512], log[4096];
	size_t i, keep = 0;
	int64_t id;
	int rc, from;

	for (i = 0; i < sd->nowed; i++) {
		id = sd->owed[i];
		spool_clearerr(&e);
		memset(&m, 0, sizeof(m));
		if ((rc = store_admin_msg_get(c->store, id, &m, err)) == -1) {
			memmove(sd->owed + keep, sd->owed + i,
			    (sd->nowed - i) * sizeof(*sd->owed));
			sd->nowed = keep + (sd->nowed - i);
			return -1;
		}
		if (rc == 0 || (m.state != ST_FAILED && m.state !=
		    ST_REJECTED) || m.file_name == NULL ||
		    m.file_name[0] == '\0' || m.file_name[0] == '.' ||
		    strchr(m.file_name, '/') != NULL)
			goto next;	/* moved on: no longer owed */
		if (m.state == ST_FAILED) {
			log[0] = '\0';
			store_attempt_log(c->store, id, log, sizeof(log),
			    NULL);
			snprintf(text, sizeof(text), "%s\n%s", m.reason !=
			    NULL ? m.reason : "failed", log);
		} else
			snprintf(text, sizeof(text), "%s\npartner: %s\nfile: "
			    "%s\nid: %" PRId64 "\n", m.reason != NULL ?
			    m.reason : "rejected", m.partner != NULL ?
			    m.partner : "-", m.orig_name != NULL ?
			    m.orig_name : "-", id);
		if (spooldir_write_reason(sd, m.state, m.file_name, text,
		    &e) == -1) {
			sd->owed[keep++] = id;
			goto next;
		}
		if (m.state == ST_FAILED) {
			for (from = 0; from < ST_NSTATES; from++)
				if (from != ST_FAILED && fstatat(
				    sd->state_fd[from], m.file_name, &st,
				    AT_SYMLINK_NOFOLLOW) == 0)
					break;
			if (from < ST_NSTATES && spooldir_move(sd, -1, from,
			    m.file_name, ST_FAILED, m.file_name, &e) == -1) {
				sd->owed[keep++] = id;
				goto next;
			}
		} else if (accept_restore(c, id, &e) == -1) {
			sd->owed[keep++] = id;
			goto next;
		}
		log_notice("event=reason id=%" PRId64 " partner=%s state=%s "
		    "status=written", id, LOG_Q(m.partner),
		    spool_state_name(m.state));
next:
		store_admin_msg_free(&m);
	}
	sd->nowed = keep;
	if (spooldir_sync(sd, err) == -1)
		return -1;
	return (int)keep;
}
