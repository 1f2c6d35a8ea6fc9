/*
 * accept_prep.c - the half of acceptance that needs no store: open,
 * fstat, read and hash an upload, parse it in its dialect and check it
 * (sender, partner directory, schema). What it learns goes into a
 * struct accept_prep; accept.c records it, in the store thread.
 *
 * Thread safety: everything here may run on a worker thread
 * (accept_pipe.c) while the store thread records an earlier file. It
 * reads the configuration, the dialects, the schemas and the spool's
 * directories, never writes any of them, never logs and never touches
 * the store. libxml2 is used as its documentation says is thread-safe:
 * xmlInitParser() ran in the main thread before any worker started
 * (accept_pipe_new()); each parse has its own parser context
 * (message.c); each XPath evaluation its own context (dialect.c: the
 * compiled expressions are only read); each validation a validation
 * context no other thread uses at the time (schema.c), while the
 * compiled xmlSchema is shared read-only; and the error handlers
 * message.c, dialect.c and schema.c install are libxml2's per-thread
 * ones.
 *
 * Crash safety: nothing here changes anything on disk or in the store;
 * killed at any point, every upload is still in incoming/.
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
#include "log.h"
#include "message.h"
#include "readfile.h"
#include "schema.h"

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

int
accept_open_upload(const struct accept_file *f, int *fdp, struct stat *stp,
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
			    "regular files are accepted", LOG_Q(f->name));
			return 1;
		}
		if (errno == EACCES || errno == EPERM) {
			snprintf(why, whylen, "%s cannot be read by spoold "
			    "(%s): held until it can (fix its mode or "
			    "spoold's rights, then reload spoold or run "
			    "spoolctl release)", LOG_Q(f->name),
			    strerror(errno));
			return 3;
		}
		if (errno == ENXIO) {
			snprintf(why, whylen, "%s cannot be opened (%s)",
			    LOG_Q(f->name), strerror(errno));
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
		    "accepted", LOG_Q(f->name), file_kind(stp->st_mode));
		close(fd);
		return 1;
	}
	if (stp->st_nlink > 1) {
		snprintf(why, whylen, "%s has %ju hard links; an upload must "
		    "have one, so that nobody can change it after it is "
		    "accepted (refused unread)", f->name,
		    (uintmax_t)stp->st_nlink);
		close(fd);
		return 1;
	}
	*fdp = fd;
	return 0;
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

void
accept_set_reason(char *reason, size_t len, const struct accept_src *src,
    const char *text)
{
	char b[121], e[121];

	if (src->bundle == NULL) {
		snprintf(reason, len, "%s", text);
		return;
	}
	spooldir_escape(b, 120, src->bundle);
	spooldir_escape(e, 120, src->orig_name);
	snprintf(reason, len, "bundle %s, entry %s: %s", b, e, text);
}

/* Refused: the reason, and whether the header read so far is worth
 * recording with the rejected row. */
static int
refuse(struct accept_check *k, const struct accept_src *src,
    const char *why, bool hdr)
{
	accept_set_reason(k->reason, sizeof(k->reason), src, why);
	k->refused = true;
	k->hdr = hdr;
	return 1;
}

int
accept_check(struct accept_ctx *c, const struct accept_src *src,
    const char *buf, size_t len, struct accept_check *k)
{
	struct spool_error perr;
	struct msg *msg = &k->msg;
	struct accept_readinfo *ri = &k->ri;
	char why[SPOOL_ERRLEN];

	memset(k, 0, sizeof(*k));
	spool_clearerr(&perr);
	if (accept_read(c, src->partner, buf, len, src, msg, ri, why,
	    sizeof(why)) != 0)
		return refuse(k, src, why, msg->hdr.type != NULL &&
		    msg->hdr.sender != NULL);
	/* A dialect's identities were checked by accept_read(). */
	if (ri->native && !conf_sender_ok(c->conf, src->partner,
	    msg->hdr.sender)) {
		snprintf(why, sizeof(why), "Sender %s does not match partner "
		    "directory %s", msg->hdr.sender, src->partner);
		return refuse(k, src, why, true);
	}
	if (ri->native && strcmp(msg->hdr.sender, src->partner) != 0 &&
	    is_partner_dir(c->sd, msg->hdr.sender)) {
		/* An alias that names another partner's directory: a
		 * partner can never speak for another. */
		snprintf(why, sizeof(why), "Sender %s is a partner of its own "
		    "(incoming/%s exists): partner %s cannot send in its "
		    "name", msg->hdr.sender, msg->hdr.sender, src->partner);
		return refuse(k, src, why, true);
	}
	/* A dialect's own XSD for the type ([schemas], DESIGN 15). */
	if (!ri->native && ri->dialect != NULL && schema_set_has(
	    dialect_schemas(ri->dialect), msg->hdr.type)) {
		if (accept_read_whole(src, msg, ri, why, sizeof(why)) == -1)
			return refuse(k, src, why, true);
		if (schema_validate(dialect_schemas(ri->dialect),
		    msg->hdr.type, msg->doc, &perr) == -1) {
			snprintf(why, sizeof(why), "%.100s does not match its "
			    "schema (dialect %.32s): %.300s", msg->hdr.type,
			    dialect_name(ri->dialect), perr.msg);
			return refuse(k, src, why, true);
		}
	} else if (c->schemas != NULL &&
	    schema_set_has(c->schemas, msg->hdr.type)) {
		if (accept_read_whole(src, msg, ri, why, sizeof(why)) == -1)
			return refuse(k, src, why, true);
		if (schema_validate(c->schemas, msg->hdr.type, msg->doc,
		    &perr) == -1) {
			snprintf(why, sizeof(why), "%.100s does not match its "
			    "schema: %.380s", msg->hdr.type, perr.msg);
			return refuse(k, src, why, true);
		}
	} else if (c->conf->require_schema) {
		snprintf(why, sizeof(why), "message type %s has no schema, "
		    "and require_schema is set", msg->hdr.type);
		return refuse(k, src, why, true);
	}
	return 0;
}

void
accept_check_free(struct accept_check *k)
{
	msg_free(&k->msg);
	free(k->ri.business_tx);
	k->ri.business_tx = NULL;
}

void
accept_prepare(struct accept_ctx *c, const struct accept_file *f,
    struct accept_prep *p)
{
	struct spool_error err;
	char head[512];
	ssize_t hn;
	int rc, fd;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	spool_clearerr(&err);
	if (f->partner == NULL) {
		p->kind = PREP_STRAY;
		return;
	}
	rc = accept_open_upload(f, &fd, &p->st, p->chk.reason,
	    sizeof(p->chk.reason), &err);
	switch (rc) {
	case 2:
		p->kind = PREP_VANISHED;
		return;
	case 1:
		p->kind = PREP_REFUSED;
		return;
	case 3:
		p->kind = PREP_UNREADABLE;
		return;
	case -1:
		goto error;
	}
	/* Not XML text (a bundle, if libarchive reads it: DESIGN 9), or
	 * EDI (maybe several interchanges): the store thread's. */
	do
		hn = pread(fd, head, sizeof(head), 0);
	while (hn == -1 && errno == EINTR);
	if (hn == -1) {
		spool_seterr(&err, "read %s: %s", f->name, strerror(errno));
		close(fd);
		goto error;
	}
	if (hn > 0 && accept_bundle_size_ok(c, &p->st)) {
		p->edi = edi_detect(head, (size_t)hn) != EDI_NONE;
		p->xml = bundle_looks_like_xml(head, (size_t)hn);
		if (p->edi || !p->xml) {
			p->kind = PREP_SPECIAL;
			p->fd = fd;
			return;
		}
	}
	rc = readfile_fd(fd, f->name, c->conf->max_message_size, &p->buf,
	    &p->len, p->chk.reason, sizeof(p->chk.reason), &err);
	close(fd);
	if (rc == -1)
		goto error;
	if (rc == 1) {
		p->kind = PREP_REFUSED;
		return;
	}
	p->kind = PREP_READ;
	accept_prep_check(c, f, p);
	return;
error:
	p->kind = PREP_ERROR;
	snprintf(p->chk.reason, sizeof(p->chk.reason), "%s", err.msg);
}

void
accept_prep_check(struct accept_ctx *c, const struct accept_file *f,
    struct accept_prep *p)
{
	struct accept_src src;

	digest_sha256(p->buf, p->len, p->sha);
	memset(&src, 0, sizeof(src));
	src.partner = f->partner;
	src.orig_name = f->name;
	(void)accept_check(c, &src, p->buf, p->len, &p->chk);
}

void
accept_prep_free(struct accept_prep *p)
{
	if (p->fd != -1) {
		close(p->fd);
		p->fd = -1;
	}
	free(p->buf);
	p->buf = NULL;
	accept_check_free(&p->chk);
}
