/*
 * digest.c - SHA-256 of a message's bytes.
 *
 * Duplicates without a MessageId are found by content; a cryptographic
 * hash makes a match proof enough (DESIGN 5), so no byte-for-byte
 * comparison is needed. nettle is used because Debian's libarchive
 * already depends on it.
 */
#include "config.h"

#include <errno.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "digest.h"

void
digest_sha256(const void *buf, size_t len, uint8_t out[DIGEST_LEN])
{
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, len, buf);
	sha256_digest(&ctx, DIGEST_LEN, out);
}

int
digest_sha256_fd(int fd, uint8_t out[DIGEST_LEN], int64_t *size)
{
	struct sha256_ctx ctx;
	uint8_t buf[65536];
	off_t off = 0;
	ssize_t n;

	sha256_init(&ctx);
	for (;;) {
		n = pread(fd, buf, sizeof(buf), off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		sha256_update(&ctx, (size_t)n, buf);
		off += n;
	}
	sha256_digest(&ctx, DIGEST_LEN, out);
	*size = (int64_t)off;
	return 0;
}
