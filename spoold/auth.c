/*
 * auth.c - bearer tokens for the HTTP API.
 *
 * The configuration holds only SHA-256 digests of tokens, so a leaked
 * spoold.conf gives no token away. A request's token is hashed with
 * nettle's sha256 and compared with every configured digest by
 * nettle's memeql_sec() (constant time); the loop does not stop at the
 * first match. The token itself is never copied out of the request
 * and never logged.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <nettle/memops.h>
#include <nettle/sha2.h>

#include "auth.h"

static int
unhex(const char *hex, uint8_t out[32])
{
	size_t i;
	int hi, lo;

	for (i = 0; i < 32; i++) {
		hi = hex[2 * i];
		lo = hex[2 * i + 1];
		hi = hi >= 'a' ? hi - 'a' + 10 : hi - '0';
		lo = lo >= 'a' ? lo - 'a' + 10 : lo - '0';
		if (hi < 0 || hi > 15 || lo < 0 || lo > 15)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int
auth_table_build(struct auth_table *t, const struct conf *c)
{
	size_t i, n = 0;

	memset(t, 0, sizeof(*t));
	if ((t->e = calloc(c->npartners + 1, sizeof(*t->e))) == NULL)
		return -1;
	if (c->http_admin_token_sha256 != NULL &&
	    unhex(c->http_admin_token_sha256, t->e[n].digest) == 0)
		t->e[n++].admin = true;
	for (i = 0; i < c->npartners; i++) {
		if (c->partners[i].token_sha256 == NULL ||
		    unhex(c->partners[i].token_sha256, t->e[n].digest) == -1)
			continue;
		snprintf(t->e[n].partner, sizeof(t->e[n].partner), "%s",
		    c->partners[i].name);
		n++;
	}
	t->n = n;
	return 0;
}

void
auth_table_free(struct auth_table *t)
{
	if (t->e != NULL)
		explicit_bzero(t->e, t->n * sizeof(*t->e));
	free(t->e);
	memset(t, 0, sizeof(*t));
}

enum auth_result
auth_check(const struct auth_table *t, const char *header,
    struct auth_who *who)
{
	struct sha256_ctx ctx;
	uint8_t digest[SHA256_DIGEST_SIZE];
	const struct auth_entry *hit = NULL;
	size_t i;

	memset(who, 0, sizeof(*who));
	if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
		return AUTH_NONE;
	header += 7;
	while (*header == ' ')
		header++;
	if (*header == '\0')
		return AUTH_NONE;
	sha256_init(&ctx);
	sha256_update(&ctx, strlen(header), (const uint8_t *)header);
	sha256_digest(&ctx, sizeof(digest), digest);
	for (i = 0; i < t->n; i++)
		if (memeql_sec(digest, t->e[i].digest, sizeof(digest)) &&
		    hit == NULL)
			hit = &t->e[i];
	explicit_bzero(digest, sizeof(digest));
	if (hit == NULL)
		return AUTH_BAD;
	who->admin = hit->admin;
	memcpy(who->partner, hit->partner, sizeof(who->partner));
	return AUTH_OK;
}
