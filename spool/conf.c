/*
 * conf.c - read spoold.conf.
 *
 * The INI syntax is parsed by inih (Debian's libinih); this module gives
 * it a line reader, so that every error carries "file:line", and a
 * handler that hands each key to the part that owns its section:
 * conf_keys.c the fixed sections and their table of keys, conf_route.c
 * [route TYPE], conf_partner.c [partner NAME]; conf_value.c holds the
 * value syntax they share (conf_int.h). Everything that is wrong stops
 * start-up: an unknown section or key, a duplicate key, a value that
 * does not parse, a value out of range, a line too long. The first
 * error wins and later lines are not looked at.
 *
 * inih calls the handler only for keys, so the reader itself checks each
 * section header, which catches an unknown section that holds no keys.
 * Comments are whole lines starting with '#' or ';'.
 *
 * The file is opened without blocking and must be a regular file of at
 * most CONF_MAX_SIZE bytes (checked with fstat, and again while reading):
 * a FIFO would hang start-up or a SIGHUP reload, and /dev/zero would
 * never end. A symlink is followed, as for any config file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_int.h"

#ifndef SPOOLD_SYSCONFDIR
#define SPOOLD_SYSCONFDIR "/usr/local/etc"
#endif
#define CONF_DEFAULT_PATH SPOOLD_SYSCONFDIR "/spoold/spoold.conf"
#define CONF_MAX_SIZE	(1024 * 1024)	/* bytes in a config file */

int
conf_fail(struct conf_parse *p, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return 0;
	va_start(ap, fmt);
	spool_vseterr_at(p->err, p->path, p->line, fmt, ap);
	va_end(ap);
	p->failed = true;
	return 0;
}

void
conf_free(struct conf *c)
{
	size_t i;

	free(c->path);
	free(c->spool_dir);
	free(c->schema_dir);
	conf_free_strv(c->dialect_dirs);
	conf_free_strv(c->our_ids);
	free(c->http_listen);
	free(c->http_tls_cert);
	free(c->http_tls_key);
	free(c->http_admin_token_sha256);
	conf_free_strv(c->archive_argv);
	for (i = 0; i < c->nroutes; i++) {
		free(c->routes[i].type);
		free(c->routes[i].handler);
		conf_free_strv(c->routes[i].argv);
	}
	free(c->routes);
	for (i = 0; i < c->npartners; i++) {
		free(c->partners[i].name);
		conf_free_strv(c->partners[i].aliases);
		conf_free_strv(c->partners[i].ids);
		conf_free_strv(c->partners[i].dialects);
		conf_free_strv(c->partners[i].after_types);
		conf_free_strv(c->partners[i].after_waits);
		free(c->partners[i].token_sha256);
	}
	free(c->partners);
	memset(c, 0, sizeof(*c));
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct conf_parse *p = user;

	if (p->failed)
		return 0;
	if (strncmp(section, "route ", 6) == 0)
		return conf_route_key(p, section + 6, name, value);
	if (strncmp(section, "partner ", 8) == 0)
		return conf_partner_key(p, section + 8, name, value);
	return conf_keys_set(p, section, name, value);
}

/* Check a section header line; inih parses it again for its own use. */
static void
check_section(struct conf_parse *p, const char *line)
{
	char name[INI_MAX_LINE];
	const char *end;
	size_t len;

	while (*line == ' ' || *line == '\t')
		line++;
	if (*line != '[')
		return;
	if ((end = strchr(line, ']')) == NULL) {
		conf_fail(p, "section header without ']'");
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
		conf_route_open(p, name + 6);
		return;
	}
	if (strncmp(name, "partner ", 8) == 0) {
		conf_partner_open(p, name + 8);
		return;
	}
	conf_fail(p, "unknown section [%s]", name);
}

static char *
reader(char *str, int num, void *stream)
{
	struct conf_parse *p = stream;
	size_t len;

	if (p->failed || fgets(str, num, p->fp) == NULL)
		return NULL;
	p->line++;
	len = strlen(str);
	if ((p->bytes += len) > CONF_MAX_SIZE) {
		conf_fail(p, "the file is longer than %d bytes", CONF_MAX_SIZE);
		return NULL;
	}
	if (len > 0 && str[len - 1] != '\n' && !feof(p->fp)) {
		conf_fail(p, "line is longer than %d characters", num - 2);
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
static void
check_whole(struct conf_parse *p)
{
	if (conf_route_check(p) && conf_partner_check(p))
		conf_keys_check(p);
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
	struct conf_parse p;
	int rc;

	conf_defaults(c);
	if (path == NULL) {
		if (conf_defaults_strings(c) == -1) {
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
		conf_fail(&p, "read error");
	if (!p.failed && rc != 0) {
		p.line = rc > 0 ? rc : p.line;
		conf_fail(&p, "syntax error (expected [section] or key = "
		    "value)");

	}
	if (!p.failed)
		check_whole(&p);
	fclose(p.fp);
	free(p.route_seen);
	free(p.partner_seen);
	free(p.alias_line);
	if (!p.failed && ((c->path = strdup(path)) == NULL ||
	    conf_defaults_strings(c) == -1)) {
		spool_seterr(err, "out of memory");
		p.failed = true;
	}
	if (p.failed) {
		conf_free(c);
		return -1;
	}
	return 0;
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
