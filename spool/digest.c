/*
 * digest.c - SHA-256 of a message's bytes.
 *
 * Duplicates without a MessageId are found by content; a cryptographic
 * hash makes a match proof enough (DESIGN 5), so no byte-for-byte
 * comparison is needed. nettle is used because Debian's libarchive
 * already depends on it.
 */
#include "config.h"

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
