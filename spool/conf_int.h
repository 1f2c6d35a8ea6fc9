/*
 * conf_int.h - what the parts of the spoold.conf reader share; private
 * to spool/conf*.c.
 *
 * conf.c reads the file and hands each key to the part that owns its
 * section: conf_keys.c the fixed sections ([spool], [processing],
 * [retry], [bundle], [http], [log]), conf_route.c [route TYPE],
 * conf_partner.c [partner NAME]; conf_value.c holds the value syntax
 * they all use. Each part reports its first error with conf_fail(),
 * which gives it the file:line of the key being read.
 */
#ifndef SPOOL_CONF_INT_H
#define SPOOL_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"
#include "error.h"

#define SEC(x)	((uint64_t)(x) * 1000)
#define DAY	(SEC(86400))
#define KB	((uint64_t)1024)

#define CONF_FIXED_KEYS_MAX	64	/* keys of the fixed sections */

/* The state of one read of a file. */
struct conf_parse {
	struct conf		*conf;
	const char		*path;
	FILE			*fp;
	int			 line;
	size_t			 bytes;		/* read so far */
	bool			 failed;
	struct spool_error	*err;
	int			 key_line[CONF_FIXED_KEYS_MAX];
	unsigned		*route_seen;	/* parallel to conf->routes */
	unsigned		*partner_seen;	/* parallel to conf->partners */
	int			*alias_line;	/* parallel: line of aliases */
	bool			 cont;		/* the line read continues the
						   key above (indented) */
	const char		*last_list;	/* the list key set last (a
						   static name) */
	int			 our_ids_line, dialects_line;
};

/*
 * The first error of a read, as "file:line: reason" (the line read
 * last, or p->line as the caller set it); later ones are dropped.
 * Returns 0, which tells inih to stop.
 */
int	conf_fail(struct conf_parse *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* conf_keys.c: the fixed sections. */
int	conf_keys_set(struct conf_parse *, const char *section,
	    const char *name, const char *value);
int	conf_keys_check(struct conf_parse *);
int	conf_defaults_strings(struct conf *);

/* conf_route.c: [route TYPE]. */
void	conf_route_open(struct conf_parse *, const char *type);
int	conf_route_key(struct conf_parse *, const char *type,
	    const char *name, const char *value);
int	conf_route_check(struct conf_parse *);

/* conf_partner.c: [partner NAME]. */
void	conf_partner_open(struct conf_parse *, const char *name);
int	conf_partner_key(struct conf_parse *, const char *name,
	    const char *key, const char *value);
int	conf_partner_check(struct conf_parse *);

/* conf_value.c: value syntax. */
void	conf_free_strv(char **);
int	conf_parse_digits(const char **, uint64_t *);
char	*conf_sha256_hex(const char *);
char	**conf_split_words(const char *, const char **why);
int	conf_list_key(struct conf_parse *, const char *where,
	    const char *key, bool seen, const char *v, char ***lp, bool dirs);

#endif
