/*
 * spooldir.c - layout, safe names and atomic moves of the spool.
 *
 * Every state change of a message file is one rename() inside the spool's
 * file system, made after the store commit that decided it, followed
 * (once per cycle, not per file) by an fsync() of each directory touched.
 * A crash between commit and rename leaves a file where the store does
 * not expect it; start-up reconciliation moves it. A crash between
 * rename and directory fsync can undo the rename; the same
 * reconciliation repairs it. Renames use RENAME_NOREPLACE, so no file is
 * ever overwritten by another.
 *
 * Names come from partner data (transaction IDs, types), so they are
 * escaped: no '/', no leading '.', no control characters, bounded length.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "spooldir.h"

static const char *state_names[ST_NSTATES] = {
	[ST_QUEUE] = "queue",
	[ST_PARKED] = "parked",
	[ST_DEFERRED] = "deferred",
	[ST_FAILED] = "failed",
	[ST_REJECTED] = "rejected",
	[ST_DONE] = "done",
	[ST_HELD] = "held",
};

static const char *dir_names[ST_NSTATES] = {
	[ST_QUEUE] = "queue",
	[ST_PARKED] = "parked",
	[ST_DEFERRED] = "deferred",
	[ST_FAILED] = "failed",
	[ST_REJECTED] = "rejected",
	[ST_DONE] = "done",
	[ST_HELD] = "hold",
};

const char *
spooldir_dir_name(enum spool_state s)
{
	if ((int)s < 0 || s >= ST_NSTATES)
		return "?";
	return dir_names[s];
}

const char *
spool_state_name(enum spool_state s)
{
	if ((int)s < 0 || s >= ST_NSTATES)
		return "?";
	return state_names[s];
}

int
spool_state_parse(const char *name)
{
	int i;

	for (i = 0; i < ST_NSTATES; i++)
		if (strcmp(state_names[i], name) == 0)
			return i;
	return -1;
}

static int
mkdir_p1(int dirfd, const char *root, const char *name, mode_t mode,
    struct spool_error *err)
{
	struct stat st;

	if (mkdirat(dirfd, name, mode) == 0)
		return 0;
	if (errno != EEXIST) {
		spool_seterr(err, "cannot create %s/%s: %s", root, name,
		    strerror(errno));
		return -1;
	}
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISDIR(st.st_mode)) {
		spool_seterr(err, "%s/%s exists and is not a directory", root,
		    name);
		return -1;
	}
	return 0;
}

int
spooldir_init(const char *root, struct spool_error *err)
{
	int fd, i, rc = -1;

	if (mkdir(root, 0750) == -1 && errno != EEXIST) {
		spool_seterr(err, "cannot create spool directory %s: %s", root,
		    strerror(errno));
		return -1;
	}
	if ((fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		spool_seterr(err, "cannot open spool directory %s: %s", root,
		    strerror(errno));
		return -1;
	}
	if (mkdir_p1(fd, root, "incoming", 0755, err) == -1 ||
	    mkdir_p1(fd, root, "outgoing", 0755, err) == -1)
		goto out;
	for (i = 0; i < ST_NSTATES; i++)
		if (mkdir_p1(fd, root, dir_names[i], 0750, err) == -1)
			goto out;
	rc = spooldir_fsync_fd(fd, root, err);
out:
	close(fd);
	return rc;
}

static int
open_sub(int rootfd, const char *root, const char *name,
    struct spool_error *err)
{
	int fd;

	fd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		spool_seterr(err, "cannot open %s/%s: %s (run spoold --init?)",
		    root, name, strerror(errno));
	return fd;
}

int
spooldir_open(struct spooldir *sd, const char *root, struct spool_error *err)
{
	int i;

	memset(sd, 0, sizeof(*sd));
	sd->root_fd = sd->incoming_fd = sd->outgoing_fd = -1;
	for (i = 0; i < ST_NSTATES; i++)
		sd->state_fd[i] = -1;
	if ((sd->root = strdup(root)) == NULL) {
		spool_seterr(err, "out of memory");
		return -1;
	}
	sd->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sd->root_fd == -1) {
		spool_seterr(err, "cannot open spool directory %s: %s", root,
		    strerror(errno));
		goto fail;
	}
	if ((sd->incoming_fd = open_sub(sd->root_fd, root, "incoming",
	    err)) == -1 ||
	    (sd->outgoing_fd = open_sub(sd->root_fd, root, "outgoing",
	    err)) == -1)
		goto fail;
	/*
	 * hold/ came after the others (DESIGN 18): a spool made before it
	 * gets it here, from whoever may create it (spoold at start).
	 */
	if (mkdirat(sd->root_fd, dir_names[ST_HELD], 0750) == 0) {
		struct stat rst;

		/* spoolctl run as root on spoold's spool: spoold's, too. */
		if (fstat(sd->root_fd, &rst) == 0)
			(void)fchownat(sd->root_fd, dir_names[ST_HELD],
			    rst.st_uid, rst.st_gid, AT_SYMLINK_NOFOLLOW);
		spooldir_fsync_fd(sd->root_fd, root, NULL);
	}
	for (i = 0; i < ST_NSTATES; i++)
		if ((sd->state_fd[i] = open_sub(sd->root_fd, root,
		    dir_names[i], err)) == -1)
			goto fail;
	return 0;
fail:
	spooldir_close(sd);
	return -1;
}

void
spooldir_close(struct spooldir *sd)
{
	int i;

	if (sd->root_fd != -1)
		close(sd->root_fd);
	if (sd->incoming_fd != -1)
		close(sd->incoming_fd);
	if (sd->outgoing_fd != -1)
		close(sd->outgoing_fd);
	for (i = 0; i < ST_NSTATES; i++)
		if (sd->state_fd[i] != -1)
			close(sd->state_fd[i]);
	free(sd->root);
	free(sd->owed);
	memset(sd, 0, sizeof(*sd));
	sd->root_fd = sd->incoming_fd = sd->outgoing_fd = -1;
	for (i = 0; i < ST_NSTATES; i++)
		sd->state_fd[i] = -1;
}

static int
must_escape(unsigned char c, size_t pos)
{
	if (c <= ' ' || c >= 0x7f || c == '%' || c == ',' || c == '/' ||
	    c == '\\' || c == '*' || c == '?' || c == '\'' || c == '"')
		return 1;
	/* Not hidden, and not an option to a program given the name. */
	return pos == 0 && (c == '.' || c == '-');
}

size_t
spooldir_escape(char *dst, size_t max, const char *src)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0, i, full = 0, limit;

	for (i = 0; s[i] != '\0'; i++)
		full += must_escape(s[i], i) ? 3 : 1;
	/* Too long: cut before an escape would straddle the end, mark it. */
	limit = full <= max ? max : max - 1;
	for (i = 0; s[i] != '\0'; i++) {
		size_t need = must_escape(s[i], i) ? 3 : 1;

		if (o + need > limit)
			break;
		if (need == 3) {
			dst[o++] = '%';
			dst[o++] = hex[s[i] >> 4];
			dst[o++] = hex[s[i] & 0xf];
		} else
			dst[o++] = (char)s[i];
	}
	if (full > max)
		dst[o++] = '~';
	dst[o] = '\0';
	return o;
}

int
spooldir_name(char *buf, size_t len, const char *partner,
    const char *transaction_id, int64_t seq, const char *type, int64_t id)
{
	char p[64 + 1], t[80 + 1], y[40 + 1];
	int n;

	spooldir_escape(p, 64, partner);
	if (transaction_id == NULL)
		snprintf(t, sizeof(t), "-");
	else if (strcmp(transaction_id, "-") == 0)
		snprintf(t, sizeof(t), "%%2D");
	else
		spooldir_escape(t, 80, transaction_id);
	spooldir_escape(y, 40, type != NULL ? type : "-");
	n = snprintf(buf, len, "%s,%s,%" PRId64 ",%s,%" PRId64 ".xml", p, t,
	    transaction_id == NULL ? (int64_t)0 : seq, y, id);
	if (n < 0 || (size_t)n >= len)
		return -1;
	return 0;
}

/* partner,orig_name,id.suffix, both names escaped. */
static int
upload_name(char *buf, size_t len, const char *partner,
    const char *orig_name, int64_t id, const char *suffix)
{
	char p[64 + 1], o[120 + 1];
	int n;

	if (partner != NULL && strcmp(partner, "-") != 0)
		spooldir_escape(p, 64, partner);
	else
		snprintf(p, sizeof(p), "%s", SPOOLDIR_NO_PARTNER);
	spooldir_escape(o, 120, orig_name);
	n = snprintf(buf, len, "%s,%s,%" PRId64 ".%s", p, o, id, suffix);
	if (n < 0 || (size_t)n >= len)
		return -1;
	return 0;
}

int
spooldir_rejected_name(char *buf, size_t len, const char *partner,
    const char *orig_name, int64_t id)
{
	return upload_name(buf, len, partner, orig_name, id, "rejected");
}

int
spooldir_held_name(char *buf, size_t len, const char *partner,
    const char *orig_name, int64_t id)
{
	return upload_name(buf, len, partner, orig_name, id, "held");
}

int
spooldir_bundle_name(char *buf, size_t len, const char *partner,
    const char *orig_name, int64_t batch)
{
	return upload_name(buf, len, partner, orig_name, batch, "bundle");
}

int
spooldir_move(struct spooldir *sd, int from_fd, int from_state,
    const char *from_name, enum spool_state to, const char *to_name,
    struct spool_error *err)
{
	if (from_fd == -1) {
		if (from_state < 0 || from_state >= ST_NSTATES) {
			spool_seterr(err, "bad source state %d", from_state);
			return -1;
		}
		from_fd = sd->state_fd[from_state];
	}
	if (renameat2(from_fd, from_name, sd->state_fd[to], to_name,
	    RENAME_NOREPLACE) == -1) {
		int e = errno;

		spool_seterr(err, "cannot move %s to %s/%s: %s", from_name,
		    dir_names[to], to_name, strerror(e));
		errno = e;	/* the caller may tell ENOENT apart */
		return -1;
	}
	sd->dirty[to] = true;
	if (from_state >= 0 && from_state < ST_NSTATES)
		sd->dirty[from_state] = true;
	else
		sd->incoming_dirty = true;
	return 0;
}

int
spooldir_unhold_upload(struct spooldir *sd, const char *name,
    const char *partner, const char *orig_name, int64_t id,
    struct spool_error *err)
{
	char alt[NAME_MAX + 1];
	int pfd, rc;

	if (orig_name[0] == '.' || orig_name[0] == '\0' ||
	    strchr(orig_name, '/') != NULL || strchr(partner, '/') != NULL ||
	    partner[0] == '.') {
		spool_seterr(err, "hold/%s: no name to put it back under",
		    name);
		return -1;
	}
	pfd = openat(sd->incoming_fd, partner, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (pfd == -1) {
		spool_seterr(err, "cannot open incoming/%s: %s", partner,
		    strerror(errno));
		return -1;
	}
	rc = renameat2(sd->state_fd[ST_HELD], name, pfd, orig_name,
	    RENAME_NOREPLACE);
	if (rc == -1 && errno == EEXIST) {
		snprintf(alt, sizeof(alt), "%.200s.%" PRId64, orig_name, id);
		rc = renameat2(sd->state_fd[ST_HELD], name, pfd, alt,
		    RENAME_NOREPLACE);
	}
	if (rc == -1)
		spool_seterr(err, "cannot move hold/%s to incoming/%s/: %s",
		    name, partner, strerror(errno));
	else {
		sd->dirty[ST_HELD] = true;
		(void)spooldir_fsync_fd(pfd, "incoming", NULL);
	}
	close(pfd);
	return rc;
}

/*
 * The reason's first line is what admins and scripts read: any control
 * character in it (from a handler's message, say) is written as \xNN.
 * *clean is a new copy (the caller frees it), or NULL if text is clean.
 */
static int
reason_clean(const char *text, char **clean)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;
	size_t n = 0, o = 0;
	char *c;

	*clean = NULL;
	for (p = (const unsigned char *)text; *p != '\0' && *p != '\n'; p++)
		if (*p < 0x20 || *p == 0x7f)
			n++;
	if (n == 0)
		return 0;
	if ((c = malloc(strlen(text) + 3 * n + 1)) == NULL)
		return -1;
	for (p = (const unsigned char *)text; *p != '\0' && *p != '\n'; p++)
		if (*p < 0x20 || *p == 0x7f) {
			c[o++] = '\\';
			c[o++] = 'x';
			c[o++] = hex[*p >> 4];
			c[o++] = hex[*p & 0xf];
		} else
			c[o++] = (char)*p;
	memcpy(c + o, p, strlen((const char *)p) + 1);
	*clean = c;
	return 0;
}

int
spooldir_write_at(int dfd, const char *dir, const char *name,
    const char *data, size_t len, int flags, int *syserr,
    struct spool_error *err)
{
	char tmp[SPOOLDIR_NAME_MAX + 24];
	size_t off = 0;
	ssize_t n;
	int fd, e = 0, tries;

	if (snprintf(tmp, sizeof(tmp), ".%s.tmp", name) >= (int)sizeof(tmp)) {
		if (syserr != NULL)
			*syserr = ENAMETOOLONG;
		spool_seterr(err, "file name too long: %s", name);
		return -1;
	}
	/* Whatever lies at the temporary name is ours, or a partner's trap
	 * (a FIFO would block an open, a link lead elsewhere): it goes, and
	 * the file is created anew, without blocking. O_EXCL with
	 * O_NOFOLLOW fails on anything there (EEXIST), FIFO or link
	 * included, without opening it, so the removal is tried only then:
	 * one system call less per file in the usual case. */
	for (tries = 0;; tries++) {
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
		    (flags & SPOOLDIR_W_PUBLIC) ? 0644 : 0640);
		if (fd != -1)
			break;
		if (errno != EEXIST || tries > 0) {
			if (syserr != NULL)
				*syserr = errno;
			spool_seterr(err, "cannot create %s/%s: %s", dir, tmp,
			    strerror(errno));
			return -1;
		}
		if (unlinkat(dfd, tmp, 0) == -1 && errno != ENOENT) {
			if (syserr != NULL)
				*syserr = errno;
			spool_seterr(err, "cannot remove %s/%s: %s", dir, tmp,
			    strerror(errno));
			return -1;
		}
	}
	while (off < len) {
		n = write(fd, data + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n == 0 ? EIO : errno;
			spool_seterr(err, "cannot write %s/%s: %s", dir, tmp,
			    n == 0 ? "no progress" : strerror(e));
			goto fail;
		}
		off += (size_t)n;
	}
	if ((flags & SPOOLDIR_W_FSYNC) && fsync(fd) == -1) {
		e = errno;
		spool_seterr(err, "cannot fsync %s/%s: %s", dir, tmp,
		    strerror(e));
		goto fail;
	}
	n = close(fd);
	fd = -1;
	if (n == -1) {
		e = errno;
		spool_seterr(err, "cannot close %s/%s: %s", dir, tmp,
		    strerror(e));
		goto fail;
	}
	if (renameat2(dfd, tmp, dfd, name, (flags & SPOOLDIR_W_NOREPLACE) ?
	    RENAME_NOREPLACE : 0) == -1) {
		e = errno;
		spool_seterr(err, "cannot rename %s/%s: %s", dir, tmp,
		    strerror(e));
		goto fail;
	}
	return 0;
fail:
	if (syserr != NULL)
		*syserr = e;
	if (fd != -1)
		close(fd);
	(void)unlinkat(dfd, tmp, 0);
	return -1;
}

int
spooldir_write_file(struct spooldir *sd, enum spool_state st,
    const char *name, const char *data, size_t len, bool replace,
    struct spool_error *err)
{
	if (spooldir_write_at(sd->state_fd[st], dir_names[st], name, data,
	    len, SPOOLDIR_W_FSYNC | (replace ? 0 : SPOOLDIR_W_NOREPLACE), NULL,
	    err) == -1)
		return -1;
	sd->dirty[st] = true;
	return 0;
}

int
spooldir_write_reason(struct spooldir *sd, enum spool_state st,
    const char *name, const char *text, struct spool_error *err)
{
	char final[SPOOLDIR_NAME_MAX + 16], tmp[SPOOLDIR_NAME_MAX + 24];
	size_t len = strlen(text), off = 0;
	ssize_t n;
	int fd, dfd = sd->state_fd[st], saved;
	char *clean;

	if (reason_clean(text, &clean) == -1) {
		spool_seterr(err, "out of memory writing %s/%s.reason",
		    dir_names[st], name);
		return -1;
	}
	if (clean != NULL) {
		text = clean;
		len = strlen(text);
	}
	snprintf(final, sizeof(final), "%s.reason", name);
	snprintf(tmp, sizeof(tmp), ".%s.reason.tmp", name);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0640);
	if (fd == -1) {
		spool_seterr(err, "cannot create %s/%s: %s", dir_names[st],
		    tmp, strerror(errno));
		free(clean);
		return -1;
	}
	while (off < len || off == len) {
		if (off == len) {
			if (len == 0 || text[len - 1] != '\n') {
				n = write(fd, "\n", 1);
				if (n == 1)
					break;
			} else
				break;
		} else
			n = write(fd, text + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			spool_seterr(err, "cannot write %s/%s: %s",
			    dir_names[st], tmp, strerror(errno));
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) == -1) {
		spool_seterr(err, "fsync %s/%s: %s", dir_names[st], tmp,
		    strerror(errno));
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		spool_seterr(err, "close %s/%s: %s", dir_names[st], tmp,
		    strerror(errno));
		goto fail;
	}
	fd = -1;
	if (renameat(dfd, tmp, dfd, final) == -1) {
		spool_seterr(err, "cannot rename %s/%s: %s", dir_names[st],
		    tmp, strerror(errno));
		goto fail;
	}
	sd->dirty[st] = true;
	free(clean);
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlinkat(dfd, tmp, 0);
	free(clean);
	errno = saved;	/* the caller tells ENOSPC and EIO apart */
	return -1;
}

int
spooldir_fsync_fd(int fd, const char *what, struct spool_error *err)
{
	if (fsync(fd) == -1) {
		spool_seterr(err, "fsync of directory %s: %s", what,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
spooldir_sync(struct spooldir *sd, struct spool_error *err)
{
	int i, rc = 0;

	for (i = 0; i < ST_NSTATES; i++) {
		if (!sd->dirty[i])
			continue;
		if (spooldir_fsync_fd(sd->state_fd[i], dir_names[i], err) ==
		    -1)
			rc = -1;
		else
			sd->dirty[i] = false;
	}
	return rc;
}

void
spooldir_owe(struct spooldir *sd, int64_t id)
{
	int64_t *n;
	size_t i, cap;

	for (i = 0; i < sd->nowed; i++)
		if (sd->owed[i] == id)
			return;
	if (sd->nowed == sd->owedcap) {
		cap = sd->owedcap ? sd->owedcap * 2 : 16;
		if ((n = reallocarray(sd->owed, cap, sizeof(*n))) == NULL)
			return;
		sd->owed = n;
		sd->owedcap = cap;
	}
	sd->owed[sd->nowed++] = id;
}

int
spooldir_space(int fd, uint64_t min_free, uint64_t *avail, uint64_t *limit)
{
	struct statvfs vfs;
	uint64_t size, five;

	if (fstatvfs(fd, &vfs) == -1)
		return -1;
	/* f_bavail: what an unprivileged spoold may still use. */
	*avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (min_free != UINT64_MAX) {
		*limit = min_free;
		return 0;
	}
	size = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	five = size / 20;
	*limit = five < ((uint64_t)1 << 30) ? five : (uint64_t)1 << 30;
	return 0;
}
