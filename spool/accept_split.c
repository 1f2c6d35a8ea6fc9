/*
 * accept_split.c - a file of several EDIFACT or X12 interchanges made
 * into one file per interchange (DESIGN 15: one batch per interchange).
 *
 * Acceptance reads the upload whole (at most [bundle] max_total_size,
 * as a bundle) and asks edi_split_read() where its interchanges lie.
 * One interchange, or none: nothing to do, the file is accepted as it
 * is; one sound interchange, as tokenized here, goes on in o->edi to
 * the bundle reader (accept_bundle.c), which then reads it no more.
 * Several: each becomes a file of its own in the same partner
 * directory, named "<name>.interchange-<N>" (N from 1, in file order),
 * written by spooldir_write_at() (a dot-file, fsync, rename), and the
 * upload is then removed; the caller asks the watcher for a scan, which
 * takes the parts like any upload, each as its own batch (bundle_edi.c
 * splits it into its messages). An interchange whose envelope is broken
 * ends the list: its part runs to the end of the file (where it ends
 * cannot be trusted) and is rejected whole with edi_read()'s reason.
 * Only the bytes of each interchange go into its part: what lies
 * between interchanges (line breaks, blanks) is left out.
 *
 * Crash safety: the parts are complete files before they get their
 * names (rename), the directory is fsynced before the upload is
 * removed, and the removal is fsynced too. Killed before the removal,
 * the upload is still there and is split again: a part still in
 * incoming/ is replaced by the same bytes, a part already accepted comes
 * again and its messages are duplicates (the same references, the same
 * content). Killed after it, the parts are there. No file is lost; the
 * store is not touched. A part that cannot be written (no space, I/O
 * error) undoes the parts written so far and the upload is accepted
 * whole, as one batch, with a warning in the log.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accept.h"
#include "accept_int.h"
#include "bundle.h"
#include "conf.h"
#include "edi.h"
#include "log.h"
#include "readfile.h"
#include "spooldir.h"

int
accept_split(struct accept_ctx *c, const struct accept_file *f, int fd,
    struct outcome *o, struct spool_error *err)
{
	struct bundle_limits bl;
	struct edi_interchange *ics = NULL;
	struct edi_limits el;
	struct edi_part *parts = NULL;
	struct spool_error werr;
	char *buf = NULL, why[SPOOL_ERRLEN], name[SPOOLDIR_NAME_MAX + 1];
	size_t len = 0, n = 0, i;
	int rc, ret = -1, syserr = 0;

	rc = readfile_fd(fd, f->name, c->conf->bundle_max_total_size, &buf,
	    &len, why, sizeof(why), err);
	if (rc != 0) {
		free(buf);
		return rc == 1 ? 0 : -1;	/* refused later, as it is */
	}
	edi_limits_default(&el);
	if (edi_split_read(buf, len, &el, &parts, &n, &ics) == -1) {
		spool_seterr(err, "out of memory splitting %s", f->name);
		goto out;
	}
	ret = 0;
	if (n == 1 && !parts[0].broken) {
		/* One interchange, read: the bundle reader's two passes
		 * take it from here instead of reading it again. */
		bl.max_entries = c->conf->bundle_max_entries;
		bl.max_entry_size = c->conf->bundle_max_entry_size;
		bl.max_total_size = c->conf->bundle_max_total_size;
		if (bundle_edi_adopt(&bl, buf, len, ics, &o->edi) == 1) {
			buf = NULL;
			ics = NULL;
		}
		goto out;
	}
	if (n < 2)
		goto out;
	/* Every part's name must fit, else the file stays whole. */
	if (snprintf(name, sizeof(name), "%s.interchange-%zu", f->name, n) >=
	    (int)sizeof(name))
		goto out;
	spool_clearerr(&werr);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s.interchange-%zu", f->name,
		    i + 1);
		if (spooldir_write_at(f->dirfd, f->partner, name,
		    buf + parts[i].start, parts[i].end - parts[i].start,
		    SPOOLDIR_W_FSYNC, &syserr, &werr) == -1)
			goto unsplit;
	}
	if (spooldir_fsync_fd(f->dirfd, f->partner, &werr) == -1)
		goto unsplit;
	if (unlinkat(f->dirfd, f->name, 0) == -1 && errno != ENOENT) {
		spool_seterr(&werr, "cannot remove %s/%s: %s", f->partner,
		    f->name, strerror(errno));
		goto unsplit;
	}
	if (spooldir_fsync_fd(f->dirfd, f->partner, &werr) == -1)
		goto unsplit;
	log_notice("event=split partner=%s file=%s interchanges=%zu%s",
	    LOG_Q(f->partner), LOG_Q(f->name), n, parts[n - 1].broken ?
	    " note=\"the last part holds an interchange whose envelope is "
	    "broken, and what follows it\"" : "");
	ret = 1;
	goto out;
unsplit:
	/* The upload is still whole: accepted as one batch, as before. */
	while (i-- > 0) {
		snprintf(name, sizeof(name), "%s.interchange-%zu", f->name,
		    i + 1);
		(void)unlinkat(f->dirfd, name, 0);
	}
	log_warn("event=split partner=%s file=%s status=failed "
	    "reason=%s note=\"accepted whole, as one batch\"",
	    LOG_Q(f->partner), LOG_Q(f->name), LOG_Q(werr.msg));
out:
	edi_free(ics);
	free(parts);
	free(buf);
	return ret;
}
