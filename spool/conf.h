/*
 * conf.h - spoold.conf: the configuration of spoold and spoolctl.
 *
 * conf_load() fills a struct conf from an INI file on top of the
 * defaults; on any error it returns -1 and err says "file:line: reason".
 * The struct owns all its strings; conf_free() releases them.
 */
#ifndef SPOOL_CONF_H
#define SPOOL_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "log.h"
#include "msglimits.h"

#define CONF_PARTNER_MAX 64
#define CONF_MIN_FREE_AUTO UINT64_MAX	/* min_free_space not set */

struct conf_route {
	char		*type;		/* message type, or "*" */
	char		*handler;	/* orders, ledger, exec */
	char		**argv;		/* exec: NULL-terminated */
	uint64_t	 timeout_ms;	/* exec */
	bool		 input_xml;	/* exec: input = xml, the EDI tree
					   instead of the original bytes */
	bool		 auto_ack;	/* orders */
	int		 line;		/* where the section starts */
};

/* Ordering modes (DESIGN 16); CONF_ORDER_DEFAULT: the dialect's. */
enum conf_order {
	CONF_ORDER_DEFAULT = 0,
	CONF_ORDER_SEQUENCE,
	CONF_ORDER_INTERCHANGE,
	CONF_ORDER_AFTER,
	CONF_ORDER_NONE
};

/* "sequence", ... for a mode; -1 for a word that names none. */
int	conf_order_parse(const char *);
const char *conf_order_name(enum conf_order);
/* A list of message types (blanks or commas between) into out, one blank
 * between names: 0, or -1 when a name is not 1..64 of A-Z a-z 0-9 . _ -
 * or out is too small. */
int	conf_after_types(const char *v, char *out, size_t outlen);
/* after.TYPE = LIST (a partner's or a dialect's): TYPE into t (one
 * type) and LIST into list, as conf_after_types() gives them. 0, or -1
 * and why (a sentence to follow "file:line: "). */
int	conf_after_rule(const char *type, const char *v, char *t, size_t tlen,
	    char *list, size_t listlen, char *why, size_t whylen);

struct conf_partner {
	char		*name;
	char		**aliases;	/* NULL-terminated */
	char		*token_sha256;	/* [http]: 64 lowercase hex, or NULL */
	char		**ids;		/* QUAL:ID, NULL-terminated, or NULL */
	char		**dialects;	/* allowed; NULL: all */
	bool		 test_reject;	/* test_interchanges = reject */
	int		 ack;		/* ack =: enum ack_kind (ack.h),
					   0: none */
	enum conf_order	 order;		/* order =, or DEFAULT */
	int64_t		 first_control;	/* first_control = N; 0: auto */
	char		**after_types;	/* after.TYPE = ...: TYPE ... */
	char		**after_waits;	/* parallel: "T1 T2", blank-separated */
};

struct conf {
	char		*path;		/* file read, NULL for defaults */

	/* [spool] */
	char		*spool_dir;
	char		*schema_dir;
	char		**dialect_dirs;	/* NULL-terminated; defaults */
	bool		 dialect_dirs_set;	/* given: each must exist */
	char		**our_ids;	/* QUAL:ID, NULL-terminated, or NULL */

	/* [processing] */
	unsigned	 batch_size;
	unsigned	 chunk_size;
	unsigned	 workers;
	unsigned	 parse_threads;	/* 0: one per online core */
	uint64_t	 settle_time_ms;
	uint64_t	 max_message_size;
	bool		 require_schema;
	uint64_t	 gap_alert_after_ms;
	uint64_t	 retention_ms;
	uint64_t	 retention_interval_ms;	/* how often spoold looks */
	uint64_t	 dedup_window_ms;	/* tombstones kept; 0 ever */
	uint64_t	 ack_overdue_ms;	/* our interchanges unacked */
	uint64_t	 rejected_retention_ms;	/* 0: for ever */
	uint64_t	 failed_retention_ms;	/* 0: for ever (default) */
	char		**archive_argv;	/* archive_command, NULL-terminated;
					   NULL: none */
	uint64_t	 archive_timeout_ms;
	uint64_t	 min_free_space;	/* bytes; CONF_MIN_FREE_AUTO:
						   1 GiB or 5%, the smaller */
	struct msg_limits msg_limits;	/* max_attributes, ... */

	/* [retry] */
	uint64_t	 retry_initial_ms;
	double		 retry_multiplier;
	uint64_t	 retry_max_delay_ms;
	unsigned	 retry_max_attempts;
	unsigned	 retry_jitter_pct;

	/* [bundle] */
	uint64_t	 bundle_max_entries;
	uint64_t	 bundle_max_entry_size;
	uint64_t	 bundle_max_total_size;

	/* [route TYPE] and [partner NAME] */
	struct conf_route	*routes;
	size_t			 nroutes;
	struct conf_partner	*partners;
	size_t			 npartners;

	/* [http] (spoold/http.c): listen NULL or empty: no HTTP server */
	char		*http_listen;		/* ADDR:PORT, [ADDR6]:PORT */
	char		*http_tls_cert, *http_tls_key;	/* both or neither */
	char		*http_admin_token_sha256;	/* 64 hex, or NULL */
	unsigned	 http_max_connections;
	unsigned	 http_per_ip_limit;
	uint64_t	 http_timeout_ms;

	/* [log] */
	int		 log_level;
	enum log_target	 log_target;
};

void	conf_defaults(struct conf *);
int	conf_load(struct conf *, const char *path, struct spool_error *);
void	conf_free(struct conf *);

/*
 * What the programs' -c and -d mean: the file named (or the default
 * $(sysconfdir)/spoold/spoold.conf when it exists, else built-in
 * defaults), with spool_dir (if not NULL) in place of [spool] directory.
 */
int	conf_load_cmdline(struct conf *, const char *path,
	    const char *spool_dir, struct spool_error *);

/* The route for a message type: exact match, else "*", else NULL. */
const struct conf_route *conf_route(const struct conf *, const char *type);

/* May a file from partner directory `partner' carry Sender `sender'? */
bool	conf_sender_ok(const struct conf *, const char *partner,
	    const char *sender);

/* The [partner NAME] section of partner, or NULL. */
const struct conf_partner *conf_partner(const struct conf *,
	    const char *partner);

/* Is id one of the list's (NULL-terminated; NULL: an empty list)? */
bool	conf_id_in(char *const *list, const char *id);

/* Is name a valid partner name ([A-Za-z0-9][A-Za-z0-9._-]{0,63})? */
bool	conf_partner_name_ok(const char *name);

/* Value syntax, shared with spoolctl's options. 0 ok, -1 bad. */
int	conf_parse_size(const char *, uint64_t *bytes);
int	conf_parse_duration(const char *, uint64_t *ms);
int	conf_parse_bool(const char *, bool *);

#endif
