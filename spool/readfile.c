/*
 * readfile.c - read a file whole, bounded, and check it is what was
 * accepted.
 *
 * Acceptance, the processing cycle and the exec handler all read a
 * message file whole into memory. They do it here, one way: pread from
 * offset 0 (no shared file offset to trust), never more than max + 1
 * bytes (a file that grows while it is read is refused, never read
 * whole), EINTR retried. The size fstat reports is only a first guess
 * of the buffer: the file is read until end of file, since a file can
 * change under an open descriptor.
 *
 * What a partner uploaded is a file the partner may still reach (a
 * second descriptor, a hard link made before the upload was accepted).
 * Acceptance records the SHA-256 of the bytes it checked; whoever reads
 * the file again compares with readfile_verify() before acting on it,
 * so that only accepted bytes reach a handler or a program. A program
 * gets verified bytes as a sealed memfd (readfile_sealed()): a copy that
 * nobody, the program included, can change while it runs.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "readfile.h"

int
readfile_fd(int fd, const char *name, uint64_t max, char **buf, size_t *len,
    char *why, size_t whylen, struct spool_error *err)
{
	struct stat st;
	char *b = NULL, *nb;
	size_t off = 0, cap;
	ssize_t n;

	*buf = NULL;
	*len = 0;
	if (fstat(fd, &st) == -1) {
		spool_seterr(err, "fstat %s: %s", name, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s is not a regular file", name);
		return 1;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > max) {
		snprintf(why, whylen, "file is %jd bytes, more than "
		    "max_message_size (%" PRIu64 " bytes)",
		    (intmax_t)st.st_size, max);
		return 1;
	}
	/* One byte more than it says: its end is seen in the first pass. */
	cap = (size_t)st.st_size + 1;
	if ((b = malloc(cap)) == NULL) {
		spool_seterr(err, "out of memory reading %s", name);
		return -1;
	}
	for (;;) {
		if (off == cap) {
			if (cap > max) {
				snprintf(why, whylen, "file grew past "
				    "max_message_size (%" PRIu64 " bytes) "
				    "while being read", max);
				free(b);
				return 1;
			}
			cap = cap > (max + 1) / 2 ? (size_t)max + 1 : cap * 2;
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

static void
hex(char *out, const uint8_t *d)
{
	static const char x[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < DIGEST_LEN; i++) {
		out[2 * i] = x[d[i] >> 4];
		out[2 * i + 1] = x[d[i] & 15];
	}
	out[2 * DIGEST_LEN] = '\0';
}

int
readfile_verify(const char *buf, size_t len, const uint8_t *sha, char *why,
    size_t whylen)
{
	uint8_t now[DIGEST_LEN];
	char a[2 * DIGEST_LEN + 1], b[2 * DIGEST_LEN + 1];

	digest_sha256(buf, len, now);
	if (memcmp(now, sha, DIGEST_LEN) == 0)
		return 0;
	hex(a, now);
	hex(b, sha);
	snprintf(why, whylen, "file changed after acceptance: digest %s "
	    "does not match %s, recorded when it was accepted", a, b);
	return 1;
}

int
readfile_sealed(const char *buf, size_t len, const char *name, int *fdp,
    char *why, size_t whylen)
{
	size_t off = 0;
	ssize_t n;
	int mfd;

	*fdp = -1;
	if ((mfd = memfd_create("spoold-message", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1) {
		snprintf(why, whylen, "memfd_create: %s", strerror(errno));
		return -1;
	}
	while (off < len) {
		n = write(mfd, buf + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(why, whylen, "cannot copy %s: %s", name,
			    n == 0 ? "no progress" : strerror(errno));
			goto fail;
		}
		off += (size_t)n;
	}
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK |
	    F_SEAL_GROW | F_SEAL_SEAL) == -1 ||
	    lseek(mfd, 0, SEEK_SET) == -1) {
		snprintf(why, whylen, "cannot seal the copy of %s: %s", name,
		    strerror(errno));
		goto fail;
	}
	*fdp = mfd;
	return 0;
fail:
	(void)close(mfd);
	return -1;
}
