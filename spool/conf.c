/*
 * conf.c - read spoold.conf.
 *
 * The INI syntax is parsed by inih (Debian's libinih); this module gives
 * it a line reader, so that every error carries "file:line", and a
 * handler that checks each key against the table below. Everything that
 * is wrong stops start-up: an unknown section or key, a duplicate key, a
 * value that does not parse, a value out of range, a line too long. The
 * first error wins and later lines are not looked at.
 *
 * inih calls the handler only for keys, so the reader itself checks each
 * section header, which catches an unknown section that holds no keys.
 * Comments are whole lines starting with '#' or ';'.
 *
 * The file is opened without blocking and must be a regular file of at
 * most CONF_MAX_SIZE bytes (checked with fstat, and again while reading):
 * a FIFO would hang start-up or a SIGHUP reload, and /dev/zero would
 * never end. A symlink is followed, as for any config file.
 *
 * Why one file of over 800 lines (issue 15): it is still one job, the
 * file read into struct conf, and its parts are short: the key table,
 * the value parsers (conf_parse_size, _duration, _bool), the [partner]
 * and [route] sections, the file reader and the whole-file checks. The
 * seam for a split is there (the table and value parsers apart from the
 * partner and route sections), but it waits until the work adding keys
 * and sections here in parallel (retention and hold, [http]) has been
 * merged, so that a move of code does not collide with it.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ack.h"
#include "conf.h"

#ifndef SPOOLD_SYSCONFDIR
#define SPOOLD_SYSCONFDIR "/usr/local/etc"
#endif
#define CONF_DEFAULT_PATH SPOOLD_SYSCONFDIR "/spoold/spoold.conf"
#define CONF_MAX_SIZE	(1024 * 1024)	/* bytes in a config file */

#ifndef SPOOLD_DIALECTDIR
#define SPOOLD_DIALECTDIR "/usr/local/share/spoold/dialects"
#endif
#define CONF_ITEM_MAX	128	/* one item of a list value */
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

#define SEC(x)	((uint64_t)(x) * 1000)
#define DAY	(SEC(86400))
#define KB	((uint64_t)1024)

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

/* Keys of [route TYPE] and [partner NAME]; bits in their `seen' masks. */
enum {
	RK_HANDLER = 1,
	RK_COMMAND = 2,
	RK_TIMEOUT = 4,
	RK_AUTO_ACK = 8,
	RK_INPUT = 16,
	PK_ALIASES = 1,
	PK_TOKEN = 2,
	PK_IDS = 4,
	PK_DIALECTS = 8,
	PK_TEST = 16,
	PK_ACK = 32,
	PK_ORDER = 64,
	PK_FIRST_CONTROL = 128
};

struct parse {
	struct conf		*conf;
	const char		*path;
	FILE			*fp;
	int			 line;
	size_t			 bytes;		/* read so far */
	bool			 failed;
	struct spool_error	*err;
	int			 key_line[NKEYS];
	unsigned		*route_seen;	/* parallel to conf->routes */
	unsigned		*partner_seen;	/* parallel to conf->partners */
	int			*alias_line;	/* parallel: line of aliases */
	bool			 cont;		/* the line read continues the
						   key above (indented) */
	const char		*last_list;	/* the list key set last */
	int			 our_ids_line, dialects_line;
};

static int	fail(struct parse *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static int
fail(struct parse *p, const char *fmt, ...)
{
	char msg[SPOOL_ERRLEN];
	va_list ap;

	if (p->failed)
		return 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	spool_seterr(p->err, "%s:%d: %s", p->path, p->line, msg);
	if (p->err != NULL)
		p->err->line = p->line;
	p->failed = true;
	return 0;
}

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

static void
free_strv(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void
conf_free(struct conf *c)
{
	size_t i;

	free(c->path);
	free(c->spool_dir);
	free(c->schema_dir);
	free_strv(c->dialect_dirs);
	free_strv(c->our_ids);
	free(c->http_listen);
	free(c->http_tls_cert);
	free(c->http_tls_key);
	free(c->http_admin_token_sha256);
	free_strv(c->archive_argv);
	for (i = 0; i < c->nroutes; i++) {
		free(c->routes[i].type);
		free(c->routes[i].handler);
		free_strv(c->routes[i].argv);
	}
	free(c->routes);
	for (i = 0; i < c->npartners; i++) {
		free(c->partners[i].name);
		free_strv(c->partners[i].aliases);
		free_strv(c->partners[i].ids);
		free_strv(c->partners[i].dialects);
		free_strv(c->partners[i].after_types);
		free_strv(c->partners[i].after_waits);
		free(c->partners[i].token_sha256);
	}
	free(c->partners);
	memset(c, 0, sizeof(*c));
}

/* Digits only, no sign, no blanks; value <= max. */
static int
parse_digits(const char **sp, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*sp = s;
	*out = v;
	return 0;
}

static int
mul_ok(uint64_t v, uint64_t m, uint64_t *out)
{
	if (m != 0 && v > UINT64_MAX / m)
		return -1;
	*out = v * m;
	return 0;
}

int
conf_parse_size(const char *s, uint64_t *bytes)
{
	uint64_t v, m = 1;

	if (parse_digits(&s, &v) == -1)
		return -1;
	switch (*s) {
	case '\0':
		break;
	case 'K': case 'k':
		m = KB;
		s++;
		break;
	case 'M': case 'm':
		m = KB * KB;
		s++;
		break;
	case 'G': case 'g':
		m = KB * KB * KB;
		s++;
		break;
	default:
		return -1;
	}
	if (*s != '\0')
		return -1;
	return mul_ok(v, m, bytes);
}

int
conf_parse_duration(const char *s, uint64_t *ms)
{
	uint64_t v, m;

	if (parse_digits(&s, &v) == -1)
		return -1;
	if (strcmp(s, "ms") == 0)
		m = 1;
	else if (*s == '\0' || strcmp(s, "s") == 0)
		m = SEC(1);
	else if (strcmp(s, "m") == 0)
		m = SEC(60);
	else if (strcmp(s, "h") == 0)
		m = SEC(3600);
	else if (strcmp(s, "d") == 0)
		m = DAY;
	else
		return -1;
	return mul_ok(v, m, ms);
}

int
conf_parse_bool(const char *s, bool *b)
{
	static const char *yes[] = { "yes", "true", "on", "1" };
	static const char *no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*b = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*b = false;
			return 0;
		}
	}
	return -1;
}

bool
conf_partner_name_ok(const char *name)
{
	size_t i;

	if (!isalnum((unsigned char)name[0]) || !isascii(name[0]))
		return false;
	for (i = 1; name[i] != '\0'; i++) {
		if (i >= CONF_PARTNER_MAX)
			return false;
		if (!isascii(name[i]) || !(isalnum((unsigned char)name[i]) ||
		    name[i] == '.' || name[i] == '_' || name[i] == '-'))
			return false;
	}
	return true;
}

/* A message type in [route TYPE]: an XML name without a colon, or "*". */
static bool
type_name_ok(const char *t)
{
	size_t i;

	if (strcmp(t, "*") == 0)
		return true;
	if (!(isalpha((unsigned char)t[0]) || t[0] == '_') || !isascii(t[0]))
		return false;
	for (i = 1; t[i] != '\0'; i++)
		if (!isascii(t[i]) || !(isalnum((unsigned char)t[i]) ||
		    t[i] == '_' || t[i] == '-' || t[i] == '.'))
			return false;
	return i <= 128;
}

/* A SHA-256 in hex, lowercased (a copy), or NULL if it is not one. */
static char *
sha256_hex(const char *v)
{
	char *h;
	size_t i;

	if (strlen(v) != 64)
		return NULL;
	for (i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)v[i]))
			return NULL;
	if ((h = strdup(v)) == NULL)
		return NULL;
	for (i = 0; i < 64; i++)
		h[i] = (char)tolower((unsigned char)h[i]);
	return h;
}

static char **split_words(const char *, const char **);

static int
set_value(struct parse *p, const struct key *k, const char *v)
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
			return fail(p, "%s must be an absolute path, "
			    "not \"%s\"", k->name, v);
		free(*(char **)dst);
		if ((*(char **)dst = strdup(v)) == NULL)
			return fail(p, "out of memory");
		return 1;
	case K_UINT:
		if (parse_digits(&v, &u) == -1 || *v != '\0')
			return fail(p, "%s must be a whole number", k->name);
		break;
	case K_SIZE:
		if (conf_parse_size(v, &u) == -1)
			return fail(p, "%s: \"%s\" is not a size (a number "
			    "with an optional K, M or G)", k->name, v);
		break;
	case K_DURATION:
		if (conf_parse_duration(v, &u) == -1)
			return fail(p, "%s: \"%s\" is not a duration (a number "
			    "with ms, s, m, h or d)", k->name, v);
		break;
	case K_PERCENT:
		if (parse_digits(&v, &u) == -1 || (*v == '%' && *++v != '\0') ||
		    *v != '\0')
			return fail(p, "%s must be a percentage such as 10%%",
			    k->name);
		break;
	case K_BOOL:
		if (conf_parse_bool(v, &b) == -1)
			return fail(p, "%s must be yes or no, not \"%s\"",
			    k->name, v);
		*(bool *)dst = b;
		return 1;
	case K_DECIMAL:
		errno = 0;
		d = strtod(v, &end);
		if (!isdigit((unsigned char)v[0]) || *end != '\0' ||
		    errno != 0 || !isfinite(d))
			return fail(p, "%s must be a number", k->name);
		if (d < (double)k->min || d > (double)k->max)
			return fail(p, "%s must be between %llu and %llu",
			    k->name, (unsigned long long)k->min,
			    (unsigned long long)k->max);
		*(double *)dst = d;
		return 1;
	case K_LEVEL:
		if ((lvl = log_level_parse(v)) == -1)
			return fail(p, "level must be one of err, warning, "
			    "notice, info, debug");
		*(int *)dst = lvl;
		return 1;
	case K_STRING:
		free(*(char **)dst);
		if ((*(char **)dst = strdup(v)) == NULL)
			return fail(p, "out of memory");
		return 1;
	case K_SHA256:
		free(*(char **)dst);
		if ((*(char **)dst = sha256_hex(v)) == NULL)
			return fail(p, "%s must be a SHA-256 in hex (64 "
			    "characters 0-9a-f, as sha256sum prints it)",
			    k->name);
		return 1;
	case K_ARGV: {
		const char *why;
		char **argv;

		if ((argv = split_words(v, &why)) == NULL)
			return fail(p, "%s: %s", k->name, why);
		free_strv(*(char ***)dst);
		*(char ***)dst = argv;
		return 1;
	}
	case K_TARGET:
		if (strcmp(v, "stderr") == 0)
			*(enum log_target *)dst = LOG_TARGET_STDERR;
		else if (strcmp(v, "syslog") == 0)
			*(enum log_target *)dst = LOG_TARGET_SYSLOG;
		else
			return fail(p, "target must be stderr or syslog");
		return 1;
	}
	if (u < k->min || u > k->max) {
		if (k->kind == K_UINT || k->kind == K_PERCENT)
			return fail(p, "%s must be between %llu and %llu",
			    k->name, (unsigned long long)k->min,
			    (unsigned long long)k->max);
		return fail(p, "%s is out of range", k->name);
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

/*
 * Split an exec command line into words: blanks separate, double quotes
 * group, and inside quotes a backslash escapes '"' or '\'. No shell.
 */
static char **
split_words(const char *s, const char **why)
{
	char **v = NULL, **nv, *w;
	size_t n = 0, len;
	const char *q;

	*why = "out of memory";
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		if ((w = malloc(strlen(s) + 1)) == NULL)
			goto bad;
		len = 0;
		while (*s != '\0' && *s != ' ' && *s != '\t') {
			if (*s != '"') {
				w[len++] = *s++;
				continue;
			}
			for (q = s + 1; *q != '"'; q++) {
				if (*q == '\0') {
					free(w);
					*why = "unterminated quote";
					goto bad;
				}
				if (*q == '\\' && (q[1] == '"' || q[1] == '\\'))
					q++;
				w[len++] = *q;
			}
			s = q + 1;
		}
		w[len] = '\0';
		if ((nv = realloc(v, (n + 2) * sizeof(*v))) == NULL) {
			free(w);
			goto bad;
		}
		v = nv;
		v[n++] = w;
		v[n] = NULL;
	}
	if (n == 0) {
		*why = "empty command";
		goto bad;
	}
	return v;
bad:
	free_strv(v);
	return NULL;
}

static struct conf_route *
route_get(struct parse *p, const char *type)
{
	struct conf *c = p->conf;
	struct conf_route *r;
	unsigned *seen;
	size_t i;

	for (i = 0; i < c->nroutes; i++)
		if (strcmp(c->routes[i].type, type) == 0)
			return &c->routes[i];
	if ((r = realloc(c->routes, (c->nroutes + 1) * sizeof(*r))) == NULL)
		return NULL;
	c->routes = r;
	if ((seen = realloc(p->route_seen,
	    (c->nroutes + 1) * sizeof(*seen))) == NULL)
		return NULL;
	p->route_seen = seen;
	r = &c->routes[c->nroutes];
	memset(r, 0, sizeof(*r));
	r->timeout_ms = SEC(60);
	r->line = p->line;
	if ((r->type = strdup(type)) == NULL)
		return NULL;
	seen[c->nroutes++] = 0;
	return r;
}

static int
route_key(struct parse *p, const char *type, const char *name,
    const char *v)
{
	struct conf_route *r;
	const char *why;
	unsigned bit, *seen;
	uint64_t ms;

	if ((r = route_get(p, type)) == NULL)
		return fail(p, "out of memory");
	seen = &p->route_seen[r - p->conf->routes];
	if (strcmp(name, "handler") == 0)
		bit = RK_HANDLER;
	else if (strcmp(name, "command") == 0)
		bit = RK_COMMAND;
	else if (strcmp(name, "timeout") == 0)
		bit = RK_TIMEOUT;
	else if (strcmp(name, "auto_ack") == 0)
		bit = RK_AUTO_ACK;
	else if (strcmp(name, "input") == 0)
		bit = RK_INPUT;
	else
		return fail(p, "unknown key \"%s\" in [route %s]", name, type);
	if (*seen & bit)
		return fail(p, "duplicate key \"%s\" in [route %s]", name,
		    type);
	*seen |= bit;
	switch (bit) {
	case RK_HANDLER:
		if (strcmp(v, "orders") != 0 && strcmp(v, "ledger") != 0 &&
		    strcmp(v, "exec") != 0)
			return fail(p, "handler must be orders, ledger or "
			    "exec, not \"%s\"", v);
		if ((r->handler = strdup(v)) == NULL)
			return fail(p, "out of memory");
		break;
	case RK_COMMAND:
		if ((r->argv = split_words(v, &why)) == NULL)
			return fail(p, "command: %s", why);
		break;
	case RK_TIMEOUT:
		if (conf_parse_duration(v, &ms) == -1)
			return fail(p, "timeout: \"%s\" is not a duration "
			    "(a number with ms, s, m, h or d)", v);
		if (ms < SEC(1) || ms > DAY)
			return fail(p, "timeout must be between 1s and 1d");
		r->timeout_ms = ms;
		break;
	case RK_INPUT:
		if (strcmp(v, "original") != 0 && strcmp(v, "xml") != 0)
			return fail(p, "input must be original or xml, not "
			    "\"%s\"", v);
		r->input_xml = strcmp(v, "xml") == 0;
		break;
	case RK_AUTO_ACK:
		if (conf_parse_bool(v, &r->auto_ack) == -1)
			return fail(p, "auto_ack must be yes or no, not \"%s\"",
			    v);
		break;
	}
	return 1;
}

static struct conf_partner *
partner_get(struct parse *p, const char *name)
{
	struct conf *c = p->conf;
	struct conf_partner *pa;
	unsigned *seen;
	int *line;
	size_t i;

	for (i = 0; i < c->npartners; i++)
		if (strcmp(c->partners[i].name, name) == 0)
			return &c->partners[i];
	if ((pa = realloc(c->partners,
	    (c->npartners + 1) * sizeof(*pa))) == NULL)
		return NULL;
	c->partners = pa;
	if ((seen = realloc(p->partner_seen,
	    (c->npartners + 1) * sizeof(*seen))) == NULL)
		return NULL;
	p->partner_seen = seen;
	if ((line = realloc(p->alias_line,
	    (c->npartners + 1) * sizeof(*line))) == NULL)
		return NULL;
	p->alias_line = line;
	line[c->npartners] = 0;
	pa = &c->partners[c->npartners];
	memset(pa, 0, sizeof(*pa));
	if ((pa->name = strdup(name)) == NULL)
		return NULL;
	seen[c->npartners++] = 0;
	return pa;
}

/*
 * Append the items of a list value to *lp: items are separated by blanks
 * or commas; an item with blanks is written in double quotes. Each item
 * is 1..128 printable ASCII characters (blanks inside quotes). A list
 * may continue on indented lines (the reader marks them).
 */
static int
list_append(struct parse *p, const char *key, const char *v, char ***lp,
    bool dirs)
{
	char **l = *lp, **nl, item[CONF_ITEM_MAX + 1];
	size_t n = 0, o;
	const char *s = v;

	while (l != NULL && l[n] != NULL)
		n++;
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		if (*s == '\0')
			break;
		o = 0;
		if (*s == '"') {
			for (s++; *s != '"' && *s != '\0'; s++) {
				if (o == CONF_ITEM_MAX)
					return fail(p, "%s: an item is longer "
					    "than %d characters", key,
					    CONF_ITEM_MAX);
				item[o++] = *s;
			}
			if (*s != '"')
				return fail(p, "%s: a quote is not closed",
				    key);
			s++;
		} else {
			for (; *s != '\0' && *s != ' ' && *s != '\t' &&
			    *s != ','; s++) {
				if (*s == '"')
					return fail(p, "%s: a quote inside an "
					    "item", key);
				if (o == CONF_ITEM_MAX)
					return fail(p, "%s: an item is longer "
					    "than %d characters", key,
					    CONF_ITEM_MAX);
				item[o++] = *s;
			}
		}
		item[o] = '\0';
		for (o = 0; item[o] != '\0'; o++)
			if ((unsigned char)item[o] < 0x20 ||
			    (unsigned char)item[o] > 0x7e)
				return fail(p, "%s: \"%s\" holds a character "
				    "that is not printable ASCII", key, item);
		if (item[0] == '\0')
			return fail(p, "%s: an empty item", key);
		if (dirs && item[0] != '/')
			return fail(p, "%s: %s is not an absolute path", key,
			    item);
		if ((nl = realloc(l, (n + 2) * sizeof(*nl))) == NULL)
			return fail(p, "out of memory");
		l = nl;
		*lp = l;
		if ((l[n] = strdup(item)) == NULL)
			return fail(p, "out of memory");
		l[++n] = NULL;
	}
	return 1;
}

/* A list key set once, or continued on the lines below it. */
static int
list_key(struct parse *p, const char *where, const char *key, bool seen,
    const char *v, char ***lp, bool dirs)
{
	if (seen && !(p->cont && p->last_list == key))
		return fail(p, "duplicate key \"%s\" in [%s] (a list "
		    "continues on indented lines)", key, where);
	p->last_list = key;
	return list_append(p, key, v, lp, dirs);
}

int
conf_order_parse(const char *v)
{
	if (strcmp(v, "sequence") == 0)
		return CONF_ORDER_SEQUENCE;
	if (strcmp(v, "interchange") == 0)
		return CONF_ORDER_INTERCHANGE;
	if (strcmp(v, "after") == 0)
		return CONF_ORDER_AFTER;
	if (strcmp(v, "none") == 0)
		return CONF_ORDER_NONE;
	return -1;
}

const char *
conf_order_name(enum conf_order o)
{
	switch (o) {
	case CONF_ORDER_SEQUENCE:
		return "sequence";
	case CONF_ORDER_INTERCHANGE:
		return "interchange";
	case CONF_ORDER_AFTER:
		return "after";
	case CONF_ORDER_NONE:
		return "none";
	case CONF_ORDER_DEFAULT:
		break;
	}
	return "default";
}

/*
 * A type name of after.TYPE and its list: 1..64 of A-Z a-z 0-9 . _ -.
 * The list is kept blank-separated, one blank between names.
 */
int
conf_after_types(const char *v, char *out, size_t outlen)
{
	size_t n = 0, w;
	const char *q;

	for (;;) {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		if (*v == '\0')
			break;
		for (q = v; *q != '\0' && *q != ' ' && *q != '\t' &&
		    *q != ','; q++)
			if (!isalnum((unsigned char)*q) && *q != '.' &&
			    *q != '_' && *q != '-')
				return -1;
		w = (size_t)(q - v);
		if (w > 64 || n + w + 2 > outlen)
			return -1;
		if (n > 0)
			out[n++] = ' ';
		memcpy(out + n, v, w);
		n += w;
		v = q;
	}
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

static int
after_key(struct parse *p, struct conf_partner *pa, const char *type,
    const char *v)
{
	char t[80], list[1024], **nt, **nw;
	size_t n = 0;

	if (conf_after_types(type, t, sizeof(t)) == -1 ||
	    strchr(t, ' ') != NULL)
		return fail(p, "after.TYPE: \"%.80s\" is not a message type",
		    type);
	if (conf_after_types(v, list, sizeof(list)) == -1)
		return fail(p, "after.%s must list message types (A-Z a-z 0-9 "
		    ". _ -), blank-separated", t);
	while (pa->after_types != NULL && pa->after_types[n] != NULL) {
		if (strcmp(pa->after_types[n], t) == 0)
			return fail(p, "duplicate key \"after.%s\" in "
			    "[partner %s]", t, pa->name);
		n++;
	}
	if ((nt = realloc(pa->after_types, (n + 2) * sizeof(*nt))) == NULL)
		return fail(p, "out of memory");
	pa->after_types = nt;
	nt[n] = NULL;
	if ((nw = realloc(pa->after_waits, (n + 2) * sizeof(*nw))) == NULL)
		return fail(p, "out of memory");
	pa->after_waits = nw;
	nw[n] = NULL;
	if ((nt[n] = strdup(t)) == NULL)
		return fail(p, "out of memory");
	if ((nw[n] = strdup(list)) == NULL) {
		free(nt[n]);
		nt[n] = NULL;
		return fail(p, "out of memory");
	}
	nt[n + 1] = NULL;
	nw[n + 1] = NULL;
	return 1;
}

static int
partner_key(struct parse *p, const char *name, const char *key,
    const char *v)
{
	struct conf_partner *pa;
	char **al = NULL, **nal, *dup, *tok, *save = NULL;
	size_t n = 0, i;
	unsigned *seen;

	if ((pa = partner_get(p, name)) == NULL)
		return fail(p, "out of memory");
	seen = &p->partner_seen[pa - p->conf->partners];
	if (strcmp(key, "token_sha256") == 0) {
		if (*seen & PK_TOKEN)
			return fail(p, "duplicate key \"token_sha256\" in "
			    "[partner %s]", name);
		*seen |= PK_TOKEN;
		if ((pa->token_sha256 = sha256_hex(v)) == NULL)
			return fail(p, "token_sha256 must be a SHA-256 in hex "
			    "(64 characters 0-9a-f, as sha256sum prints it)");
		return 1;
	}
	if (strcmp(key, "ids") == 0) {
		int r = list_key(p, "partner", "ids", *seen & PK_IDS, v,
		    &pa->ids, false);

		*seen |= PK_IDS;
		return r;
	}
	if (strcmp(key, "dialects") == 0) {
		int r = list_key(p, "partner", "dialects", *seen & PK_DIALECTS,
		    v, &pa->dialects, false);

		*seen |= PK_DIALECTS;
		return r;
	}
	if (strcmp(key, "test_interchanges") == 0) {
		if (*seen & PK_TEST)
			return fail(p, "duplicate key \"test_interchanges\" "
			    "in [partner %s]", name);
		*seen |= PK_TEST;
		if (strcmp(v, "process") == 0)
			pa->test_reject = false;
		else if (strcmp(v, "reject") == 0)
			pa->test_reject = true;
		else
			return fail(p, "test_interchanges must be process or "
			    "reject");
		return 1;
	}
	if (strcmp(key, "ack") == 0) {
		if (*seen & PK_ACK)
			return fail(p, "duplicate key \"ack\" in [partner %s]",
			    name);
		*seen |= PK_ACK;
		if (strcmp(v, "none") == 0)
			pa->ack = ACK_NONE;
		else if (strcmp(v, "contrl") == 0)
			pa->ack = ACK_CONTRL;
		else if (strcmp(v, "997") == 0)
			pa->ack = ACK_997;
		else if (strcmp(v, "999") == 0)
			pa->ack = ACK_999;
		else
			return fail(p, "ack must be none, contrl, 997 or 999");
		return 1;
	}
	if (strcmp(key, "order") == 0) {
		int o;

		if (*seen & PK_ORDER)
			return fail(p, "duplicate key \"order\" in [partner "
			    "%s]", name);
		*seen |= PK_ORDER;
		if ((o = conf_order_parse(v)) == -1)
			return fail(p, "order must be sequence, interchange, "
			    "after or none");
		pa->order = (enum conf_order)o;
		return 1;
	}
	if (strcmp(key, "first_control") == 0) {
		char *end;
		long long fc;

		if (*seen & PK_FIRST_CONTROL)
			return fail(p, "duplicate key \"first_control\" in "
			    "[partner %s]", name);
		*seen |= PK_FIRST_CONTROL;
		if (strcmp(v, "auto") == 0) {
			pa->first_control = 0;
			return 1;
		}
		errno = 0;
		fc = strtoll(v, &end, 10);
		if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 ||
		    fc < 1)
			return fail(p, "first_control must be auto or a number "
			    "from 1");
		pa->first_control = fc;
		return 1;
	}
	if (strncmp(key, "after.", 6) == 0)
		return after_key(p, pa, key + 6, v);
	if (strcmp(key, "aliases") != 0)
		return fail(p, "unknown key \"%s\" in [partner %s]", key, name);
	if (*seen & PK_ALIASES)
		return fail(p, "duplicate key \"aliases\" in [partner %s]",
		    name);
	*seen |= PK_ALIASES;
	p->alias_line[pa - p->conf->partners] = p->line;
	if ((dup = strdup(v)) == NULL)
		return fail(p, "out of memory");
	for (tok = strtok_r(dup, " \t,", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t,", &save)) {
		for (i = 0; tok[i] != '\0'; i++)
			if ((unsigned char)tok[i] < 0x21 ||
			    (unsigned char)tok[i] > 0x7e)
				break;
		if (tok[i] != '\0' || i > 128) {
			free(dup);
			free_strv(al);
			return fail(p, "alias \"%s\" is not a valid Sender",
			    tok);
		}
		if ((nal = realloc(al, (n + 2) * sizeof(*al))) == NULL ||
		    (nal[n] = strdup(tok)) == NULL) {
			free(dup);
			free_strv(nal != NULL ? nal : al);
			return fail(p, "out of memory");
		}
		al = nal;
		al[++n] = NULL;
	}
	free(dup);
	pa->aliases = al;
	return 1;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	size_t i;

	if (p->failed)
		return 0;
	if (strncmp(section, "route ", 6) == 0)
		return route_key(p, section + 6, name, value);
	if (strncmp(section, "partner ", 8) == 0)
		return partner_key(p, section + 8, name, value);
	if (section[0] == '\0')
		return fail(p, "key \"%s\" outside of any section", name);
	if (strcmp(section, "spool") == 0 && strcmp(name, "our_ids") == 0) {
		int r = list_key(p, "spool", "our_ids", p->our_ids_line != 0,
		    value, &p->conf->our_ids, false);

		if (p->our_ids_line == 0)
			p->our_ids_line = p->line;
		return r;
	}
	if (strcmp(section, "spool") == 0 && strcmp(name, "dialects") == 0) {
		int r = list_key(p, "spool", "dialects", p->dialects_line != 0,
		    value, &p->conf->dialect_dirs, true);

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
			return fail(p, "duplicate key \"%s\" in [%s] (first "
			    "set on line %d)", name, section, p->key_line[i]);
		p->key_line[i] = p->line;
		return set_value(p, &keys[i], value);
	}
	return fail(p, "unknown key \"%s\" in [%s]", name, section);
}

/* Check a section header line; inih parses it again for its own use. */
static void
check_section(struct parse *p, const char *line)
{
	char name[INI_MAX_LINE];
	const char *end;
	size_t len;

	while (*line == ' ' || *line == '\t')
		line++;
	if (*line != '[')
		return;
	if ((end = strchr(line, ']')) == NULL) {
		fail(p, "section header without ']'");
		return;
	}
	len = (size_t)(end - line - 1);
	memcpy(name, line + 1, len);
	name[len] = '\0';
	if (strcmp(name, "spool") == 0 || strcmp(name, "processing") == 0 ||
	    strcmp(name, "retry") == 0 || strcmp(name, "bundle") == 0 ||
	    strcmp(name, "log") == 0 || strcmp(name, "http") == 0)
		return;
	if (strncmp(name, "route ", 6) == 0) {
		if (!type_name_ok(name + 6))
			fail(p, "[%s]: \"%s\" is not a message type or *",
			    name, name + 6);
		else if (route_get(p, name + 6) == NULL)
			fail(p, "out of memory");
		return;
	}
	if (strncmp(name, "partner ", 8) == 0) {
		if (!conf_partner_name_ok(name + 8))
			fail(p, "[%s]: \"%s\" is not a valid partner name",
			    name, name + 8);
		else if (partner_get(p, name + 8) == NULL)
			fail(p, "out of memory");
		return;
	}
	fail(p, "unknown section [%s]", name);
}

static char *
reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	size_t len;

	if (p->failed || fgets(str, num, p->fp) == NULL)
		return NULL;
	p->line++;
	len = strlen(str);
	if ((p->bytes += len) > CONF_MAX_SIZE) {
		fail(p, "the file is longer than %d bytes", CONF_MAX_SIZE);
		return NULL;
	}
	if (len > 0 && str[len - 1] != '\n' && !feof(p->fp)) {
		fail(p, "line is longer than %d characters", num - 2);
		return NULL;
	}
	p->cont = (str[0] == ' ' || str[0] == '\t') &&
	    str[strspn(str, " \t\r\n")] != '\0' &&
	    str[strspn(str, " \t")] != '#' && str[strspn(str, " \t")] != ';';
	if (!p->cont && str[strspn(str, " \t\r\n")] != '\0' &&
	    str[strspn(str, " \t")] != '#' && str[strspn(str, " \t")] != ';')
		p->last_list = NULL;
	check_section(p, str);
	return p->failed ? NULL : str;
}

/* Checks that need the whole file: relations between keys. */
/* The line where a fixed key was set, 0 if it was not. */
static int
line_of(const struct parse *p, const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return p->key_line[i];
	return 0;
}

static int
check_whole(struct parse *p)
{
	struct conf *c = p->conf;
	size_t i, j, k;

	for (i = 0; i < c->nroutes; i++) {
		struct conf_route *r = &c->routes[i];

		p->line = r->line;
		if (r->handler == NULL)
			return fail(p, "[route %s] has no handler", r->type);
		if (strcmp(r->handler, "exec") == 0 && r->argv == NULL)
			return fail(p, "[route %s]: the exec handler needs a "
			    "command", r->type);
		if (strcmp(r->handler, "exec") != 0 &&
		    (p->route_seen[i] & (RK_COMMAND | RK_TIMEOUT | RK_INPUT)))
			return fail(p, "[route %s]: command, timeout and input "
			    "are for the exec handler only", r->type);
		if (strcmp(r->handler, "orders") != 0 &&
		    (p->route_seen[i] & RK_AUTO_ACK))
			return fail(p, "[route %s]: auto_ack is for the orders "
			    "handler only", r->type);
	}
	for (i = 0; i < c->npartners; i++) {
		for (j = 0; c->partners[i].aliases != NULL &&
		    c->partners[i].aliases[j] != NULL; j++) {
			const char *a = c->partners[i].aliases[j];

			for (k = 0; k < c->npartners; k++) {
				if (k != i &&
				    strcmp(c->partners[k].name, a) == 0) {
					p->line = p->alias_line[i];
					return fail(p, "alias %s of partner "
					    "%s is itself a partner", a,
					    c->partners[i].name);
				}
			}
		}
	}
	for (i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].name, "chunk_size") == 0 &&
		    c->chunk_size > c->batch_size) {
			/* The line of whichever of the two was set. */
			p->line = p->key_line[i] ? p->key_line[i] :
			    line_of(p, "batch_size");
			return fail(p, "chunk_size (%u) must not exceed "
			    "batch_size (%u)", c->chunk_size, c->batch_size);
		}
		if (strcmp(keys[i].name, "max_delay") == 0 &&
		    c->retry_max_delay_ms < c->retry_initial_ms) {
			p->line = p->key_line[i] ? p->key_line[i] :
			    line_of(p, "initial_delay");
			return fail(p, "max_delay must not be shorter than "
			    "initial_delay");
		}
		if (strcmp(keys[i].name, "tls_key") == 0 &&
		    (c->http_tls_cert == NULL) != (c->http_tls_key == NULL)) {
			p->line = p->key_line[i] ? p->key_line[i] :
			    line_of(p, "tls_cert");
			return fail(p, "tls_cert and tls_key go together: set "
			    "both (HTTPS) or neither (plain HTTP)");
		}
	}
	return 1;
}

static int
defaults_strings(struct conf *c)
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

static const char *
file_kind(mode_t m)
{
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

/*
 * Open a config file for reading: never blocking (a FIFO without a
 * writer, a device), only a regular file, at most CONF_MAX_SIZE bytes.
 * stat() first so that a device is not even opened, fstat() after the
 * open for what was opened.
 */
static FILE *
open_conf(const char *path, struct spool_error *err)
{
	struct stat st;
	FILE *fp;
	int fd;

	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		spool_seterr(err, "%s: is %s, not a regular file; refused",
		    path, file_kind(st.st_mode));
		return NULL;
	}
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) ==
	    -1) {
		spool_seterr(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		spool_seterr(err, "%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		spool_seterr(err, "%s: is %s, not a regular file; refused",
		    path, file_kind(st.st_mode));
		close(fd);
		return NULL;
	}
	if (st.st_size > CONF_MAX_SIZE) {
		spool_seterr(err, "%s: %jd bytes, more than the %d a config "
		    "file may have; refused", path, (intmax_t)st.st_size,
		    CONF_MAX_SIZE);
		close(fd);
		return NULL;
	}
	if ((fp = fdopen(fd, "r")) == NULL) {
		spool_seterr(err, "%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	return fp;
}

int
conf_load(struct conf *c, const char *path, struct spool_error *err)
{
	struct parse p;
	int rc;

	conf_defaults(c);
	if (path == NULL) {
		if (defaults_strings(c) == -1) {
			spool_seterr(err, "out of memory");
			return -1;
		}
		return 0;
	}
	memset(&p, 0, sizeof(p));
	p.conf = c;
	p.path = path;
	p.err = err;
	if ((p.fp = open_conf(path, err)) == NULL)
		return -1;
	rc = ini_parse_stream(reader, &p, handler, &p);
	if (!p.failed && ferror(p.fp))
		fail(&p, "read error");
	if (!p.failed && rc != 0) {
		p.line = rc > 0 ? rc : p.line;
		fail(&p, "syntax error (expected [section] or key = value)");
	}
	if (!p.failed)
		check_whole(&p);
	fclose(p.fp);
	free(p.route_seen);
	free(p.partner_seen);
	free(p.alias_line);
	if (!p.failed && ((c->path = strdup(path)) == NULL ||
	    defaults_strings(c) == -1)) {
		spool_seterr(err, "out of memory");
		p.failed = true;
	}
	if (p.failed) {
		conf_free(c);
		return -1;
	}
	return 0;
}

const struct conf_route *
conf_route(const struct conf *c, const char *type)
{
	const struct conf_route *star = NULL;
	size_t i;

	for (i = 0; i < c->nroutes; i++) {
		if (strcmp(c->routes[i].type, type) == 0)
			return &c->routes[i];
		if (strcmp(c->routes[i].type, "*") == 0)
			star = &c->routes[i];
	}
	return star;
}

bool
conf_sender_ok(const struct conf *c, const char *partner, const char *sender)
{
	size_t i, j;

	if (strcmp(partner, sender) == 0)
		return true;
	for (i = 0; i < c->npartners; i++) {
		if (strcmp(c->partners[i].name, partner) != 0)
			continue;
		for (j = 0; c->partners[i].aliases != NULL &&
		    c->partners[i].aliases[j] != NULL; j++)
			if (strcmp(c->partners[i].aliases[j], sender) == 0)
				return true;
	}
	return false;
}

const struct conf_partner *
conf_partner(const struct conf *c, const char *partner)
{
	size_t i;

	for (i = 0; partner != NULL && i < c->npartners; i++)
		if (strcmp(c->partners[i].name, partner) == 0)
			return &c->partners[i];
	return NULL;
}

bool
conf_id_in(char *const *list, const char *id)
{
	size_t i;

	for (i = 0; list != NULL && list[i] != NULL; i++)
		if (strcmp(list[i], id) == 0)
			return true;
	return false;
}

int
conf_load_cmdline(struct conf *c, const char *path, const char *spool_dir,
    struct spool_error *err)
{
	char *d;

	if (path == NULL && access(CONF_DEFAULT_PATH, F_OK) == 0)
		path = CONF_DEFAULT_PATH;
	if (conf_load(c, path, err) == -1)
		return -1;
	if (spool_dir == NULL)
		return 0;
	if ((d = strdup(spool_dir)) == NULL) {
		spool_seterr(err, "out of memory");
		conf_free(c);
		return -1;
	}
	free(c->spool_dir);
	c->spool_dir = d;
	return 0;
}
