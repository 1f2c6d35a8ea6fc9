/*
 * conf_keys.c - the fixed sections of spoold.conf: [spool],
 * [processing], [retry], [bundle], [http] and [log]. One table names
 * each key, its kind of value, where it goes in struct conf and its
 * range; conf_defaults() gives the values of the keys not set, and
 * conf_keys_check() the relations between keys that need the whole
 * file (chunk_size and batch_size, max_delay and initial_delay,
 * tls_cert and tls_key).
 *
 * A key may be set once; its line is kept in key_line[] for the
 * duplicate message and for the whole-file checks, which name the line
 * of whichever of the two keys was set. The lists of [spool] (our_ids,
 * dialects) are not in the table: they may continue on indented lines.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_int.h"

#ifndef SPOOLD_SYSCONFDIR
#define SPOOLD_SYSCONFDIR "/usr/local/etc"
#endif
#ifndef SPOOLD_DIALECTDIR
#define SPOOLD_DIALECTDIR "/usr/local/share/spoold/dialects"
#endif
#ifndef SPOOLD_SCHEMADIR
#define SPOOLD_SCHEMADIR "/usr/local/share/spoold/schemas"
#endif

enum kind {
	K_PATH,
	K_UINT,
	K_SIZE,
	K_DURATION,
	K_BOOL,
	K_DECIMAL,
	K_PERCENT,
	K_LEVEL,
	K_TARGET,
	K_STRING,
	K_SHA256,
	K_ARGV		/* a command line, split as a route's command */
};

struct key {
	const char	*section;
	const char	*name;
	enum kind	 kind;
	size_t		 off;
	uint64_t	 min, max;	/* bytes, ms, or plain numbers */
};

static const struct key keys[] = {
	{ "spool", "directory", K_PATH,
	    offsetof(struct conf, spool_dir), 0, 0 },
	{ "spool", "schemas", K_PATH, offsetof(struct conf, schema_dir), 0, 0 },
	{ "processing", "batch_size", K_UINT,
	    offsetof(struct conf, batch_size), 1, 100000 },
	{ "processing", "chunk_size", K_UINT,
	    offsetof(struct conf, chunk_size), 1, 100000 },
	{ "processing", "workers", K_UINT, offsetof(struct conf, workers),
	    1, 256 },
	{ "processing", "parse_threads", K_UINT,
	    offsetof(struct conf, parse_threads), 0, 64 },
	{ "processing", "settle_time", K_DURATION,
	    offsetof(struct conf, settle_time_ms), 0, SEC(3600) },
	{ "processing", "max_message_size", K_SIZE,
	    offsetof(struct conf, max_message_size), KB, KB * KB * KB },
	{ "processing", "require_schema", K_BOOL,
	    offsetof(struct conf, require_schema), 0, 0 },
	{ "processing", "gap_alert_after", K_DURATION,
	    offsetof(struct conf, gap_alert_after_ms), SEC(1), 365 * DAY },
	{ "processing", "retention", K_DURATION,
	    offsetof(struct conf, retention_ms), 0, 3650 * DAY },
	{ "processing", "rejected_retention", K_DURATION,
	    offsetof(struct conf, rejected_retention_ms), 0, 3650 * DAY },
	{ "processing", "failed_retention", K_DURATION,
	    offsetof(struct conf, failed_retention_ms), 0, 3650 * DAY },
	{ "processing", "dedup_window", K_DURATION,
	    offsetof(struct conf, dedup_window_ms), 0, 3650 * DAY },
	{ "processing", "ack_overdue", K_DURATION,
	    offsetof(struct conf, ack_overdue_ms), SEC(1), 365 * DAY },
	{ "processing", "retention_interval", K_DURATION,
	    offsetof(struct conf, retention_interval_ms), SEC(1), SEC(60) },
	{ "processing", "archive_command", K_ARGV,
	    offsetof(struct conf, archive_argv), 0, 0 },
	{ "processing", "archive_timeout", K_DURATION,
	    offsetof(struct conf, archive_timeout_ms), SEC(1), DAY },
	{ "processing", "min_free_space", K_SIZE,
	    offsetof(struct conf, min_free_space), 0, KB * KB * KB * KB * KB },
	{ "processing", "max_attributes", K_UINT,
	    offsetof(struct conf, msg_limits.max_attributes), 1, 4096 },
	{ "processing", "max_depth", K_UINT,
	    offsetof(struct conf, msg_limits.max_depth), 1,
	    MSG_XML_DEPTH_CAP - 1 },
	{ "processing", "max_name_length", K_UINT,
	    offsetof(struct conf, msg_limits.max_name_length), 16,
	    MSG_XML_NAME_CAP - 1 },
	{ "processing", "max_text_length", K_SIZE,
	    offsetof(struct conf, msg_limits.max_text_length), KB,
	    9 * KB * KB },
	{ "processing", "max_namespaces", K_UINT,
	    offsetof(struct conf, msg_limits.max_namespaces), 1, 4096 },
	{ "retry", "initial_delay", K_DURATION,
	    offsetof(struct conf, retry_initial_ms), SEC(1), DAY },
	{ "retry", "multiplier", K_DECIMAL,
	    offsetof(struct conf, retry_multiplier), 1, 100 },
	{ "retry", "max_delay", K_DURATION,
	    offsetof(struct conf, retry_max_delay_ms), SEC(1), 30 * DAY },
	{ "retry", "max_attempts", K_UINT,
	    offsetof(struct conf, retry_max_attempts), 1, 1000 },
	{ "retry", "jitter", K_PERCENT,
	    offsetof(struct conf, retry_jitter_pct), 0, 100 },
	{ "bundle", "max_entries", K_UINT,
	    offsetof(struct conf, bundle_max_entries), 1, 1000000 },
	{ "bundle", "max_entry_size", K_SIZE,
	    offsetof(struct conf, bundle_max_entry_size), KB, KB * KB * KB },
	{ "bundle", "max_total_size", K_SIZE,
	    offsetof(struct conf, bundle_max_total_size), KB,
	    64 * KB * KB * KB },
	{ "http", "listen", K_STRING, offsetof(struct conf, http_listen),
	    0, 0 },
	{ "http", "tls_cert", K_PATH, offsetof(struct conf, http_tls_cert),
	    0, 0 },
	{ "http", "tls_key", K_PATH, offsetof(struct conf, http_tls_key),
	    0, 0 },
	{ "http", "admin_token_sha256", K_SHA256,
	    offsetof(struct conf, http_admin_token_sha256), 0, 0 },
	{ "http", "max_connections", K_UINT,
	    offsetof(struct conf, http_max_connections), 1, 100000 },
	{ "http", "per_ip_limit", K_UINT,
	    offsetof(struct conf, http_per_ip_limit), 1, 100000 },
	{ "http", "timeout", K_DURATION,
	    offsetof(struct conf, http_timeout_ms), SEC(1), SEC(3600) },
	{ "log", "level", K_LEVEL, offsetof(struct conf, log_level), 0, 0 },
	{ "log", "target", K_TARGET, offsetof(struct conf, log_target), 0, 0 },
};
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))
_Static_assert(NKEYS <= CONF_FIXED_KEYS_MAX, "key_line is too short");

void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->batch_size = 1024;
	c->chunk_size = 64;
	c->workers = 4;
	c->settle_time_ms = SEC(2);
	c->max_message_size = 10 * KB * KB;
	c->require_schema = false;
	c->gap_alert_after_ms = SEC(3600);
	c->retention_ms = 7 * DAY;
	c->retention_interval_ms = SEC(60);
	c->dedup_window_ms = 90 * DAY;
	c->ack_overdue_ms = DAY;
	c->rejected_retention_ms = 30 * DAY;
	c->failed_retention_ms = 0;	/* never */
	c->archive_timeout_ms = SEC(20);
	c->min_free_space = CONF_MIN_FREE_AUTO;
	c->msg_limits.max_attributes = MSG_MAX_ATTRIBUTES;
	c->msg_limits.max_depth = MSG_MAX_DEPTH;
	c->msg_limits.max_name_length = MSG_MAX_NAME_LENGTH;
	c->msg_limits.max_text_length = MSG_MAX_TEXT_LENGTH;
	c->msg_limits.max_namespaces = MSG_MAX_NAMESPACES;
	c->retry_initial_ms = SEC(30);
	c->retry_multiplier = 2.0;
	c->retry_max_delay_ms = SEC(3600);
	c->retry_max_attempts = 10;
	c->retry_jitter_pct = 10;
	c->bundle_max_entries = 10000;
	c->bundle_max_entry_size = 10 * KB * KB;
	c->bundle_max_total_size = KB * KB * KB;
	c->http_max_connections = 256;
	c->http_per_ip_limit = 32;
	c->http_timeout_ms = SEC(30);
	c->log_level = LOG_INFO;
	c->log_target = LOG_TARGET_STDERR;
}


static int
set_value(struct conf_parse *p, const struct key *k, const char *v)
{
	void *dst = (char *)p->conf + k->off;
	uint64_t u = 0;
	double d;
	char *end;
	int lvl;
	bool b;

	switch (k->kind) {
	case K_PATH:
		if (v[0] != '/')
			return conf_fail(p, "%s must be an absolute path, "
			    "not \"%s\"", k->name, v);
		free(*(char **)dst);
		if ((*(char **)dst = strdup(v)) == NULL)
			return conf_fail(p, "out of memory");
		return 1;
	case K_UINT:
		if (conf_parse_digits(&v, &u) == -1 || *v != '\0')
			return conf_fail(p, "%s must be a whole number",
			    k->name);
		break;
	case K_SIZE:
		if (conf_parse_size(v, &u) == -1)
			return conf_fail(p, "%s: \"%s\" is not a size (a "
			    "number with an optional K, M or G)", k->name, v);
		break;
	case K_DURATION:
		if (conf_parse_duration(v, &u) == -1)
			return conf_fail(p, "%s: \"%s\" is not a duration (a "
			    "number with ms, s, m, h or d)", k->name, v);
		break;
	case K_PERCENT:
		if (conf_parse_digits(&v, &u) == -1 ||
		    (*v == '%' && *++v != '\0') || *v != '\0')
			return conf_fail(p, "%s must be a percentage such as "
			    "10%%", k->name);
		break;
	case K_BOOL:
		if (conf_parse_bool(v, &b) == -1)
			return conf_fail(p, "%s must be yes or no, not \"%s\"",
			    k->name, v);
		*(bool *)dst = b;
		return 1;
	case K_DECIMAL:
		errno = 0;
		d = strtod(v, &end);
		if (!isdigit((unsigned char)v[0]) || *end != '\0' ||
		    errno != 0 || !isfinite(d))
			return conf_fail(p, "%s must be a number", k->name);
		if (d < (double)k->min || d > (double)k->max)
			return conf_fail(p, "%s must be between %llu and %llu",
			    k->name, (unsigned long long)k->min,
			    (unsigned long long)k->max);
		*(double *)dst = d;
		return 1;
	case K_LEVEL:
		if ((lvl = log_level_parse(v)) == -1)
			return conf_fail(p, "level must be one of err, "
			    "warning, notice, info, debug");
		*(int *)dst = lvl;
		return 1;
	case K_STRING:
		free(*(char **)dst);
		if ((*(char **)dst = strdup(v)) == NULL)
			return conf_fail(p, "out of memory");
		return 1;
	case K_SHA256:
		free(*(char **)dst);
		if ((*(char **)dst = conf_sha256_hex(v)) == NULL)
			return conf_fail(p, "%s must be a SHA-256 in hex (64 "
			    "characters 0-9a-f, as sha256sum prints it)",
			    k->name);
		return 1;
	case K_ARGV: {
		const char *why;
		char **argv;

		if ((argv = conf_split_words(v, &why)) == NULL)
			return conf_fail(p, "%s: %s", k->name, why);
		conf_free_strv(*(char ***)dst);
		*(char ***)dst = argv;
		return 1;
	}
	case K_TARGET:
		if (strcmp(v, "stderr") == 0)
			*(enum log_target *)dst = LOG_TARGET_STDERR;
		else if (strcmp(v, "syslog") == 0)
			*(enum log_target *)dst = LOG_TARGET_SYSLOG;
		else
			return conf_fail(p, "target must be stderr or syslog");
		return 1;
	}
	if (u < k->min || u > k->max) {
		if (k->kind == K_UINT || k->kind == K_PERCENT)
			return conf_fail(p, "%s must be between %llu and %llu",
			    k->name, (unsigned long long)k->min,
			    (unsigned long long)k->max);
		return conf_fail(p, "%s is out of range", k->name);
	}
	switch (k->kind) {
	case K_UINT:
	case K_PERCENT:
		if (k->off == offsetof(struct conf, bundle_max_entries))
			*(uint64_t *)dst = u;
		else
			*(unsigned *)dst = (unsigned)u;
		break;
	default:
		*(uint64_t *)dst = u;
		break;
	}
	return 1;
}

int
conf_keys_set(struct conf_parse *p, const char *section, const char *name,
    const char *value)
{
	size_t i;

	if (section[0] == '\0')
		return conf_fail(p, "key \"%s\" outside of any section", name);
	if (strcmp(section, "spool") == 0 && strcmp(name, "our_ids") == 0) {
		int r = conf_list_key(p, "spool", "our_ids",
		    p->our_ids_line != 0, value, &p->conf->our_ids, false);

		if (p->our_ids_line == 0)
			p->our_ids_line = p->line;
		return r;
	}
	if (strcmp(section, "spool") == 0 && strcmp(name, "dialects") == 0) {
		int r = conf_list_key(p, "spool", "dialects",
		    p->dialects_line != 0, value, &p->conf->dialect_dirs,
		    true);

		if (p->dialects_line == 0)
			p->dialects_line = p->line;
		p->conf->dialect_dirs_set = true;
		return r;
	}
	for (i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].section, section) != 0 ||
		    strcmp(keys[i].name, name) != 0)
			continue;
		if (p->key_line[i] != 0)
			return conf_fail(p, "duplicate key \"%s\" in [%s] "
			    "(first set on line %d)", name, section,
			    p->key_line[i]);
		p->key_line[i] = p->line;
		return set_value(p, &keys[i], value);
	}
	return conf_fail(p, "unknown key \"%s\" in [%s]", name, section);
}

/* The line where a fixed key was set, 0 if it was not. */
static int
line_of(const struct conf_parse *p, const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return p->key_line[i];
	return 0;
}

/* The partner whose token is the admin's, or npartners: none. */
static size_t
admin_token_shared(const struct conf *c)
{
	size_t j;

	for (j = 0; c->http_admin_token_sha256 != NULL && j < c->npartners;
	    j++)
		if (c->partners[j].token_sha256 != NULL &&
		    strcmp(c->partners[j].token_sha256,
		    c->http_admin_token_sha256) == 0)
			return j;
	return c->npartners;
}

int
conf_keys_check(struct conf_parse *p)
{
	struct conf *c = p->conf;
	size_t i, j;

	for (i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].name, "chunk_size") == 0 &&
		    c->chunk_size > c->batch_size) {
			/* The line of whichever of the two was set. */
			p->line = p->key_line[i] ? p->key_line[i] :
			    line_of(p, "batch_size");
			return conf_fail(p, "chunk_size (%u) must not exceed "
			    "batch_size (%u)", c->chunk_size, c->batch_size);
		}
		if (strcmp(keys[i].name, "max_delay") == 0 &&
		    c->retry_max_delay_ms < c->retry_initial_ms) {
			p->line = p->key_line[i] ? p->key_line[i] :
			    line_of(p, "initial_delay");
			return conf_fail(p, "max_delay must not be shorter "
			    "than initial_delay");
		}
		if (strcmp(keys[i].name, "admin_token_sha256") == 0 &&
		    (j = admin_token_shared(c)) < c->npartners) {
			p->line = p->key_line[i];
			return conf_fail(p, "admin_token_sha256 is also "
			    "[partner %s]'s token_sha256: the admin needs a "
			    "token of its own", c->partners[j].name);
		}
		if (strcmp(keys[i].name, "tls_key") == 0 &&
		    (c->http_tls_cert == NULL) != (c->http_tls_key == NULL)) {
			p->line = p->key_line[i] ? p->key_line[i] :
			    line_of(p, "tls_cert");
			return conf_fail(p, "tls_cert and tls_key go together: "
			    "set both (HTTPS) or neither (plain HTTP)");

		}
	}
	return 1;
}

int
conf_defaults_strings(struct conf *c)
{
	if (c->spool_dir == NULL &&
	    (c->spool_dir = strdup("/var/spool/spoold")) == NULL)
		return -1;
	if (c->schema_dir == NULL &&
	    (c->schema_dir = strdup(SPOOLD_SCHEMADIR)) == NULL)
		return -1;
	if (c->dialect_dirs == NULL) {
		if ((c->dialect_dirs = calloc(3, sizeof(char *))) == NULL ||
		    (c->dialect_dirs[0] = strdup(SPOOLD_DIALECTDIR)) == NULL ||
		    (c->dialect_dirs[1] = strdup(SPOOLD_SYSCONFDIR
		    "/spoold/dialects")) == NULL)
			return -1;
		c->dialect_dirs_set = false;
	}
	return 0;
}
