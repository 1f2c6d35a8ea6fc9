/*
 * dialect_file.c - read one dialect file (DESIGN 15; the format is
 * spoold.conf(5), DIALECT FILES) into a struct dialect.
 *
 * A dialect file is read line by line by the small parser here (not
 * inih: its lines end at 200 bytes and an XPath expression is often
 * longer): '#' comments, [section] headers, key = value, and a line that
 * starts with a blank continues the value above it (joined with one
 * blank). Sections: [dialect] (name, syntax, order, after.TYPE, root,
 * header), [namespaces] (prefix = URI), [schemas] (TYPE = an XSD,
 * compiled once at load with schema_set_add()) and [keys] / [keys TYPE]
 * (the XPath 1.0 expressions; a key given twice lists alternatives, the
 * first that yields a non-empty value wins; [keys TYPE] replaces [keys]
 * for the documents whose unqualified type is TYPE).
 *
 * Every error names file:line. After the last line come the checks of
 * the whole file (the name is the file's, syntax given, [keys] gives
 * type and sender, ...), then the compile of each expression
 * (dialect_xpath.c) and of each XSD; a dialect that fails any of them
 * is not loaded.
 *
 * The native dialect's header (DESIGN 4) keeps its own checks
 * (message.c): native.dialect says "header = native" and lists the
 * expressions those checks amount to, for the reader; they are compiled
 * and checked like any other, but message.c reads the header.
 *
 * The file is opened without blocking and must be a regular file of at
 * most DIALECT_FILE_MAX bytes, so that a FIFO or a device in a dialect
 * directory cannot hang start-up.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "dialect.h"
#include "dialect_int.h"
#include "schema.h"

#define DIALECT_LINE_MAX	4096	/* one physical line */
#define DIALECT_VALUE_MAX	16384	/* one value, continuations joined */
#define DIALECT_FILE_MAX	(256 * 1024)

int
dialect_fail(struct dparse *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	spool_vseterr_at(p->err, p->path, p->line, fmt, ap);
	va_end(ap);
	return -1;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static int
section_line(struct dparse *p, char *s)
{
	char *e = strchr(s, ']');

	if (e == NULL || e[1] != '\0')
		return dialect_fail(p, "a section header must be [name]");
	*e = '\0';
	s = trim(s + 1);
	if (strcmp(s, "dialect") != 0 && strcmp(s, "namespaces") != 0 &&
	    strcmp(s, "schemas") != 0 &&
	    strcmp(s, "keys") != 0 && (strncmp(s, "keys ", 5) != 0 ||
	    s[5] == '\0' || strlen(s) >= sizeof(p->section)))
		return dialect_fail(p, "unknown section [%.40s] (dialect, "
		    "namespaces, keys, keys TYPE, schemas)", s);
	snprintf(p->section, sizeof(p->section), "%s", s);
	return 0;
}

/* Read the file's lines; keys are handed over with their continuations. */
static int
parse_file(struct dparse *p, FILE *fp)
{
	char line[DIALECT_LINE_MAX + 2], *val = NULL, *key = NULL, *s, *eq;
	size_t vlen = 0, l;
	int keyline = 0, ret = -1;

	if ((val = malloc(DIALECT_VALUE_MAX + 1)) == NULL)
		return dialect_fail(p, "out of memory");
	for (;;) {
		bool eof = fgets(line, sizeof(line), fp) == NULL;

		if (!eof) {
			p->line++;
			l = strlen(line);
			if (l > 0 && line[l - 1] != '\n' && !feof(fp)) {
				dialect_fail(p, "line is longer than %d "
				    "characters", DIALECT_LINE_MAX);
				goto out;
			}
		}
		/* A continuation line: starts with a blank, not empty. */
		if (!eof && (line[0] == ' ' || line[0] == '\t') &&
		    *trim(line) != '\0') {
			s = trim(line);
			if (*s == '#')
				continue;
			if (key == NULL) {
				dialect_fail(p, "an indented line continues "
				    "nothing");
				goto out;
			}
			l = strlen(s);
			if (vlen + 1 + l > DIALECT_VALUE_MAX) {
				dialect_fail(p, "value is longer than %d "
				    "characters", DIALECT_VALUE_MAX);
				goto out;
			}
			if (vlen > 0)
				val[vlen++] = ' ';
			memcpy(val + vlen, s, l + 1);
			vlen += l;
			continue;
		}
		if (key != NULL) {
			int save = p->line;

			p->line = keyline;
			if (vlen == 0) {
				dialect_fail(p, "%s has no value", key);
				goto out;
			}
			if (dialect_section_key(p, key, val) == -1)
				goto out;
			p->line = save;
			free(key);
			key = NULL;
		}
		if (eof)
			break;
		s = trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			if (section_line(p, s) == -1)
				goto out;
			continue;
		}
		if ((eq = strchr(s, '=')) == NULL) {
			dialect_fail(p, "expected [section] or key = value");
			goto out;
		}
		*eq = '\0';
		if (p->section[0] == '\0') {
			dialect_fail(p, "key \"%.40s\" outside of any section",
			    trim(s));
			goto out;
		}
		if ((key = strdup(trim(s))) == NULL) {
			dialect_fail(p, "out of memory");
			goto out;
		}
		if (*key == '\0') {
			dialect_fail(p, "a key has no name");
			goto out;
		}
		keyline = p->line;
		s = trim(eq + 1);
		vlen = strlen(s);
		memcpy(val, s, vlen + 1);
	}
	if (ferror(fp)) {
		dialect_fail(p, "read error");
		goto out;
	}
	ret = 0;
out:
	free(key);
	free(val);
	return ret;
}

/*
 * [schemas]: each XSD compiled once, with its includes (files only), as
 * the schema of the qualified type; a relative path is the dialect
 * file's directory's.
 */
static int
compile_schemas(struct dparse *p, const char *dir)
{
	struct dialect *d = p->d;
	struct spool_error serr;
	char type[DIALECT_NAME_MAX + 260], path[4096];
	size_t i;

	if (d->syntax != DIALECT_XML && d->nxsd > 0) {
		p->line = d->xsd_line[0];
		return dialect_fail(p, "[schemas] is for xml dialects");
	}
	for (i = 0; i < d->nxsd; i++) {
		p->line = d->xsd_line[i];
		snprintf(type, sizeof(type), "%s.%s", d->name, d->xsd_type[i]);
		if (snprintf(path, sizeof(path), "%s%s%s", d->xsd_path[i][0] ==
		    '/' ? "" : dir, d->xsd_path[i][0] == '/' ? "" : "/",
		    d->xsd_path[i]) >= (int)sizeof(path))
			return dialect_fail(p, "schema path too long");
		spool_clearerr(&serr);
		if (schema_set_add(&d->schemas, type, path, &serr) == -1)
			return dialect_fail(p, "%s", serr.msg);
	}
	p->line = 0;
	return 0;
}

struct dialect *
dialect_file_load(int dirfd, const char *dir, const char *fname,
    struct spool_error *err)
{
	struct dparse p;
	struct dialect *d;
	struct stat st;
	char path[4096], stem[DIALECT_NAME_MAX + 16];
	FILE *fp = NULL;
	size_t l;
	int fd;

	memset(&p, 0, sizeof(p));
	snprintf(path, sizeof(path), "%s/%s", dir, fname);
	p.path = path;
	p.err = err;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		spool_seterr(err, "out of memory");
		return NULL;
	}
	p.d = d;
	fd = openat(dirfd, fname, O_RDONLY | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY);
	if (fd == -1 || fstat(fd, &st) == -1) {
		spool_seterr(err, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > DIALECT_FILE_MAX) {
		spool_seterr(err, "%s: not a regular file of at most %d bytes",
		    path, DIALECT_FILE_MAX);
		goto fail;
	}
	if ((fp = fdopen(fd, "r")) == NULL) {
		spool_seterr(err, "%s: %s", path, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (parse_file(&p, fp) == -1)
		goto fail;
	p.line = 0;
	l = strlen(fname) - strlen(".dialect");
	snprintf(stem, sizeof(stem), "%.*s", (int)(l < DIALECT_NAME_MAX + 1 ?
	    l : DIALECT_NAME_MAX + 1), fname);
	if (d->name == NULL) {
		dialect_fail(&p, "[dialect] name is missing");
		goto fail;
	}
	if (strcmp(d->name, stem) != 0) {
		dialect_fail(&p, "the dialect is named %s, but its file "
		    "%s.dialect", d->name, stem);
		goto fail;
	}
	if (!p.seen_syntax) {
		dialect_fail(&p, "[dialect] syntax is missing");
		goto fail;
	}
	if (d->native && d->syntax != DIALECT_XML) {
		dialect_fail(&p, "header = native needs syntax = xml");
		goto fail;
	}
	if (!p.seen_order) {
		d->ordered = d->native;
		d->order = d->native ? CONF_ORDER_SEQUENCE : CONF_ORDER_NONE;
	}
	if (dialect_qualify_after(&p) == -1)
		goto fail;
	if (d->nkeys == 0 || dialect_keys_get(&p, NULL) != &d->keys[0] ||
	    (!d->native && d->keys[0].nalt[DK_TYPE] == 0) ||
	    (!d->native && d->keys[0].nalt[DK_SENDER] == 0)) {
		dialect_fail(&p, "[keys] must give at least type and sender");
		goto fail;
	}
	if (d->ordered && !d->native &&
	    (d->keys[0].nalt[DK_TRANSACTION] == 0 ||
	    d->keys[0].nalt[DK_SEQUENCE] == 0)) {
		dialect_fail(&p, "order = sequence needs the keys transaction "
		    "and sequence");
		goto fail;
	}
	if (d->syntax == DIALECT_XML && !d->native && d->nroots == 0) {
		dialect_fail(&p, "an xml dialect needs at least one root = "
		    "NAMESPACE LOCALNAME in [dialect]");

		goto fail;
	}
	if (dialect_xpath_compile(&p) == -1)
		goto fail;
	if (compile_schemas(&p, dir) == -1)
		goto fail;
	if ((d->path = strdup(path)) == NULL) {
		spool_seterr(err, "out of memory");
		goto fail;
	}
	fclose(fp);
	return d;
fail:
	if (fp != NULL)
		fclose(fp);
	if (fd != -1)
		close(fd);
	dialect_free(d);
	return NULL;
}
