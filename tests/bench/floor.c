/*
 * floor.c - the floor of DESIGN 14: the least work any spool must do to
 * take a file in durably, against which spoold's acceptance is measured.
 *
 * usage: floor SRCDIR DB DESTDIR
 *
 * For every file in SRCDIR (names starting with '.' skipped; anything
 * but a regular file is an error), in readdir order: open it, read it
 * whole, hash it (64-bit FNV-1a), and insert one row (id, name, size,
 * hash) into the table files of the SQLite database DB (created; WAL,
 * synchronous=FULL). Every 256 files: COMMIT, then rename the 256 files
 * from SRCDIR into DESTDIR, then fsync DESTDIR and SRCDIR once each. The
 * order is spoold's: record, commit, then move, then make the moves
 * durable.
 *
 * The row holds a hash of the body, not the body: spoold keeps a digest
 * of each message in its store and the message itself as a file, so
 * storing 2 KiB blobs would make the floor measure SQLite's write volume
 * instead of the spool's minimum. FNV-1a still touches every byte read,
 * at a cost far below spoold's SHA-256; the floor is meant to be low.
 *
 * On success prints "files=N bytes=B" on stdout and exits 0; on any
 * error prints what failed to stderr and exits 1. Plain C11 + sqlite3:
 *     cc -O2 -o floor floor.c $(pkg-config --cflags --libs sqlite3)
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#define BATCH	256

struct floor {
	int		 srcfd, dstfd;
	sqlite3		*db;
	sqlite3_stmt	*ins;
	const char	*batch[BATCH];	/* recorded, not yet moved */
	size_t		 nbatch;
	char		*buf;
	size_t		 bufcap;
	uint64_t	 files, bytes;
};

static int
sql_exec(struct floor *f, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(f->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "floor: %s: %s\n", sql,
		    msg != NULL ? msg : sqlite3_errmsg(f->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
fsync_dir(int fd, const char *what)
{
	while (fsync(fd) == -1) {
		if (errno != EINTR) {
			fprintf(stderr, "floor: fsync %s: %s\n", what,
			    strerror(errno));
			return -1;
		}
	}
	return 0;
}

static uint64_t
fnv1a64(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* Read SRCDIR/name whole into f->buf. Returns its length, or -1. */
static ssize_t
read_whole(struct floor *f, const char *name)
{
	struct stat st;
	size_t off = 0;
	ssize_t n;
	int fd;

	if ((fd = openat(f->srcfd, name, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		fprintf(stderr, "floor: open %s: %s\n", name, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		fprintf(stderr, "floor: fstat %s: %s\n", name, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "floor: %s: not a regular file\n", name);
		goto fail;
	}
	for (;;) {
		if (off + 1 >= f->bufcap ||
		    (size_t)st.st_size + 1 > f->bufcap) {
			size_t cap = f->bufcap * 2;
			char *nb;

			if (cap < (size_t)st.st_size + 1)
				cap = (size_t)st.st_size + 1;
			if ((nb = realloc(f->buf, cap)) == NULL) {
				fprintf(stderr, "floor: out of memory\n");
				goto fail;
			}
			f->buf = nb;
			f->bufcap = cap;
		}
		n = read(fd, f->buf + off, f->bufcap - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fprintf(stderr, "floor: read %s: %s\n", name,
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	if (close(fd) == -1) {
		fprintf(stderr, "floor: close %s: %s\n", name, strerror(errno));
		return -1;
	}
	return (ssize_t)off;
fail:
	close(fd);
	return -1;
}

/* Commit the batch, then move its files and fsync both directories. */
static int
flush(struct floor *f)
{
	size_t i;

	if (f->nbatch == 0)
		return 0;
	if (sql_exec(f, "COMMIT") == -1)
		return -1;
	for (i = 0; i < f->nbatch; i++) {
		if (renameat(f->srcfd, f->batch[i], f->dstfd,
		    f->batch[i]) == -1) {
			fprintf(stderr, "floor: rename %s: %s\n", f->batch[i],
			    strerror(errno));
			return -1;
		}
	}
	f->nbatch = 0;
	if (fsync_dir(f->dstfd, "target directory") == -1 ||
	    fsync_dir(f->srcfd, "source directory") == -1)
		return -1;
	return 0;
}

static int
take(struct floor *f, const char *name)
{
	ssize_t len;

	if (f->nbatch == 0 && sql_exec(f, "BEGIN") == -1)
		return -1;
	if ((len = read_whole(f, name)) == -1)
		return -1;
	if (sqlite3_bind_text(f->ins, 1, name, -1, SQLITE_STATIC) !=
	    SQLITE_OK ||
	    sqlite3_bind_int64(f->ins, 2, (sqlite3_int64)len) != SQLITE_OK ||
	    sqlite3_bind_int64(f->ins, 3,
	    (sqlite3_int64)fnv1a64(f->buf, (size_t)len)) != SQLITE_OK ||
	    sqlite3_step(f->ins) != SQLITE_DONE) {
		fprintf(stderr, "floor: insert %s: %s\n", name,
		    sqlite3_errmsg(f->db));
		sqlite3_reset(f->ins);
		return -1;
	}
	sqlite3_reset(f->ins);
	f->batch[f->nbatch++] = name;
	f->files++;
	f->bytes += (uint64_t)len;
	if (f->nbatch == BATCH)
		return flush(f);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct floor f;
	struct dirent *de;
	DIR *d = NULL;
	char **names = NULL;
	size_t nnames = 0, capnames = 0, i;
	int rc = 1, dfd;

	if (argc != 4) {
		fprintf(stderr, "usage: floor SRCDIR DB DESTDIR\n");
		return 2;
	}
	memset(&f, 0, sizeof(f));
	f.srcfd = f.dstfd = -1;
	if ((f.srcfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || (f.dstfd = open(argv[3], O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		fprintf(stderr, "floor: open %s: %s\n",
		    f.srcfd == -1 ? argv[1] : argv[3], strerror(errno));
		goto out;
	}
	if (sqlite3_open(argv[2], &f.db) != SQLITE_OK) {
		fprintf(stderr, "floor: open %s: %s\n", argv[2],
		    f.db != NULL ? sqlite3_errmsg(f.db) : "out of memory");
		goto out;
	}
	if (sql_exec(&f, "PRAGMA journal_mode=WAL") == -1 ||
	    sql_exec(&f, "PRAGMA synchronous=FULL") == -1 ||
	    sql_exec(&f, "CREATE TABLE IF NOT EXISTS files (id INTEGER "
	    "PRIMARY KEY, name TEXT NOT NULL, size INTEGER NOT NULL, "
	    "hash INTEGER NOT NULL)") == -1)
		goto out;
	if (sqlite3_prepare_v2(f.db, "INSERT INTO files (name, size, hash) "
	    "VALUES (?, ?, ?)", -1, &f.ins, NULL) != SQLITE_OK) {
		fprintf(stderr, "floor: prepare: %s\n", sqlite3_errmsg(f.db));
		goto out;
	}

	/*
	 * List the directory first, then work: renaming entries out of a
	 * directory that is being read may make readdir skip or repeat some.
	 */
	if ((dfd = dup(f.srcfd)) == -1 || (d = fdopendir(dfd)) == NULL) {
		fprintf(stderr, "floor: opendir %s: %s\n", argv[1],
		    strerror(errno));
		goto out;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (de->d_name[0] == '.')
			continue;
		if (nnames == capnames) {
			size_t cap = capnames ? capnames * 2 : 1024;
			char **nn;

			if ((nn = realloc(names,
			    cap * sizeof(*names))) == NULL) {
				fprintf(stderr, "floor: out of memory\n");
				goto out;
			}
			names = nn;
			capnames = cap;
		}
		if ((names[nnames] = strdup(de->d_name)) == NULL) {
			fprintf(stderr, "floor: out of memory\n");
			goto out;
		}
		nnames++;
	}
	if (errno != 0) {
		fprintf(stderr, "floor: readdir %s: %s\n", argv[1],
		    strerror(errno));
		goto out;
	}
	for (i = 0; i < nnames; i++)
		if (take(&f, names[i]) == -1)
			goto out;
	if (flush(&f) == -1)
		goto out;
	printf("files=%llu bytes=%llu\n", (unsigned long long)f.files,
	    (unsigned long long)f.bytes);
	rc = 0;
out:
	if (d != NULL)
		closedir(d);
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(f.buf);
	sqlite3_finalize(f.ins);
	if (f.db != NULL && sqlite3_close(f.db) != SQLITE_OK) {
		fprintf(stderr, "floor: close %s: %s\n", argv[2],
		    sqlite3_errmsg(f.db));
		rc = 1;
	}
	if (f.srcfd != -1)
		close(f.srcfd);
	if (f.dstfd != -1)
		close(f.dstfd);
	return rc;
}
