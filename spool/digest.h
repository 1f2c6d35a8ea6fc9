/*
 * digest.h - content digests of messages (SHA-256, by nettle).
 */
#ifndef SPOOL_DIGEST_H
#define SPOOL_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define DIGEST_LEN	32

void	digest_sha256(const void *buf, size_t len, uint8_t out[DIGEST_LEN]);
/* Of a whole open file, read with pread from offset 0; 0, or -1 (errno). */
int	digest_sha256_fd(int fd, uint8_t out[DIGEST_LEN], int64_t *size);

#endif
