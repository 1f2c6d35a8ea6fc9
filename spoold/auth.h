/*
 * auth.h - who sends an HTTP request: bearer tokens checked against
 * the SHA-256 digests of the configuration ([http] admin_token_sha256,
 * [partner NAME] token_sha256).
 */
#ifndef SPOOLD_AUTH_H
#define SPOOLD_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"

#define AUTH_NAME_MAX	(CONF_PARTNER_MAX + 1)

struct auth_entry {
	uint8_t		 digest[32];
	bool		 admin;
	char		 partner[AUTH_NAME_MAX];	/* when not admin */
};

/* The digests in force; owned by whoever holds it (http.c). */
struct auth_table {
	struct auth_entry	*e;
	size_t			 n;
};

enum auth_result {
	AUTH_NONE,		/* no Authorization, or not Bearer: 401 */
	AUTH_BAD,		/* a token no digest matches: 401 */
	AUTH_OK
};

struct auth_who {
	bool	 admin;
	char	 partner[AUTH_NAME_MAX];	/* "" for admin */
};

/* Build the table from a configuration: 0, or -1 (out of memory). */
int	auth_table_build(struct auth_table *, const struct conf *);
void	auth_table_free(struct auth_table *);

/*
 * Check an Authorization header value (NULL: none). Every digest is
 * compared, in constant time, whatever matched before, so the time
 * taken tells nothing about which token came close.
 */
enum auth_result auth_check(const struct auth_table *, const char *header,
	    struct auth_who *);

#endif
