/*
 * schema.c - compile the XSD schemas of the message types once, into a
 * set keyed by type.
 *
 * schema_set_load() compiles every DIR/<Type>.xsd into an array sorted by
 * type, schema_set_add() one XSD of a dialect's [schemas]; each entry
 * keeps its compiled schema and one validation context, reused for every
 * message of that type by one thread at a time (a thread that finds it
 * busy validates with a context of its own; the compiled schema is only
 * read, as libxml2 allows). schema_find() finds an entry with bsearch();
 * schema_validate.c validates with it and says why a document fails.
 * The first libxml2 error of a call is caught here (schema_xerr_cb())
 * for both.
 *
 * Invariants:
 * - libxml2 never prints. Errors go to structured handlers on the schema
 *   parser and validation contexts and, for errors raised outside them
 *   (the XML parser reading an .xsd or one of its includes), to
 *   per-thread handlers installed only for the duration of the call and
 *   restored afterwards. The first error is kept, later ones dropped.
 * - Nothing is fetched from the network while loading: libxml2's external
 *   entity loader is xmlNoNetExternalEntityLoader for the duration of
 *   schema_set_load() (then restored), so an http:// or ftp:// include
 *   fails instead of connecting. The swap also lets local includes load
 *   when the program has installed a loader that refuses everything.
 *   Validation loads nothing: with a schema given, libxml2 ignores
 *   xsi:schemaLocation hints in the instance.
 * - A type name is a key, never a path: only names read from the
 *   directory become paths, and they must be XML names.
 * - Every entry of a set is complete (type, schema, context); a failed
 *   load frees everything it made.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlIO.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include "error.h"
#include "schema.h"
#include "schema_int.h"
#include "xmlquiet.h"

/*
 * Copy src into dst (size >= 8) as one line of printable ASCII: control
 * characters become blanks, bytes outside ASCII become \xNN (partner
 * values may hold bidi overrides or C1 controls), and what does not fit
 * is cut and ends in "...".
 */
void
schema_copy(char *dst, size_t size, const char *src)
{
	const unsigned char *s;
	size_t o = 0, limit = size - 4;

	for (s = (const unsigned char *)(src != NULL ? src : "");
	    *s != '\0'; s++) {
		if (*s < 0x7f) {
			if (o + 1 > limit)
				break;
			dst[o++] = *s < 0x20 ? ' ' : (char)*s;
		} else {
			if (o + 4 > limit)
				break;
			(void)snprintf(dst + o, 5, "\\x%02x", *s);
			o += 4;
		}
	}
	if (*s != '\0') {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

/* Drop trailing blanks and one trailing full stop. */
void
schema_rtrim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == ' ')
		n--;
	if (n > 0 && s[n - 1] == '.')
		n--;
	s[n] = '\0';
}

/* Append to the NUL-terminated string in buf; output is cut to fit. */
void
schema_cat(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	size_t n = strlen(buf);

	if (n + 1 >= size)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
}

/*
 * The type a datatype error names: "'v' is not a valid value of the
 * atomic type 'T'." The value may be long and may itself hold "type '",
 * so the last occurrence in the whole message counts.
 */
static void
schema_type_name(const char *msg, char *buf, size_t size)
{
	const char *p, *last = NULL;
	size_t len;

	buf[0] = '\0';
	if (msg == NULL)
		return;
	for (p = msg; (p = strstr(p, " type '")) != NULL; p++)
		last = p + strlen(" type '");
	if (last == NULL || (len = strcspn(last, "'")) >= size)
		return;
	memcpy(buf, last, len);
	buf[len] = '\0';
}

void
schema_xerr_cb(void *ctx, xmlquiet_errptr e)
{
	struct schema_xerr *x = ctx;
	int level;

	if (x == NULL || e == NULL || e->level == XML_ERR_NONE)
		return;
	level = e->level >= XML_ERR_ERROR ? 2 : 1;
	if (level <= x->level)
		return;
	x->level = level;
	x->code = e->code;
	x->line = e->line;
	x->node = e->node;
	schema_copy(x->file, sizeof(x->file), e->file);
	schema_copy(x->msg, sizeof(x->msg), e->message);
	schema_rtrim(x->msg);
	schema_copy(x->str1, sizeof(x->str1), e->str1);
	schema_copy(x->str2, sizeof(x->str2), e->str2);
	schema_type_name(e->message, x->tname, sizeof(x->tname));
}

static int
schema_entry_cmp(const void *a, const void *b)
{
	const struct schema_entry *x = a, *y = b;

	return strcmp(x->type, y->type);
}

struct schema_entry *
schema_find(const struct schema_set *set, const char *type)
{
	struct schema_entry key;

	if (set == NULL || type == NULL || set->n == 0)
		return NULL;
	key.type = (char *)type;
	return bsearch(&key, set->ent, set->n, sizeof(set->ent[0]),
	    schema_entry_cmp);
}

/* "dir/name" followed by suffix, malloc'd; NULL if out of memory. */
static char *
schema_join(const char *dir, const char *name, const char *suffix)
{
	size_t dl = strlen(dir), nl = strlen(name), sl = strlen(suffix);
	char *p;

	if (nl > SIZE_MAX / 2 - dl || sl > SIZE_MAX / 2 - 2 ||
	    (p = malloc(dl + nl + sl + 2)) == NULL)
		return NULL;
	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, name, nl);
	memcpy(p + dl + 1 + nl, suffix, sl + 1);
	return p;
}

/* Add an entry for type (len bytes of name) without a schema yet. */
static int
schema_add(struct schema_set *set, const char *name, size_t len)
{
	struct schema_entry *ent;
	size_t cap;
	char *type;

	if (set->n == set->cap) {
		cap = set->cap == 0 ? 16 : set->cap * 2;
		if (cap > SIZE_MAX / sizeof(*ent))
			return -1;
		if ((ent = realloc(set->ent, cap * sizeof(*ent))) == NULL)
			return -1;
		set->ent = ent;
		set->cap = cap;
	}
	if ((type = malloc(len + 1)) == NULL)
		return -1;
	memcpy(type, name, len);
	type[len] = '\0';
	set->ent[set->n].type = type;
	set->ent[set->n].schema = NULL;
	set->ent[set->n].vctxt = NULL;
	atomic_init(&set->ent[set->n].busy, false);
	set->n++;
	return 0;
}

/* Compile path into ent; the caller has installed the quiet handlers. */
static int
schema_parse(struct schema_entry *ent, const char *path,
    struct schema_xerr *x, struct spool_error *err)
{
	xmlSchemaParserCtxtPtr pctxt = NULL;
	int ret = -1;

	if ((pctxt = xmlSchemaNewParserCtxt(path)) == NULL) {
		spool_seterr(err, "cannot load schema %s: out of memory", path);
		goto out;
	}
	xmlSchemaSetParserStructuredErrors(pctxt, schema_xerr_cb, x);
	ent->schema = xmlSchemaParse(pctxt);
	if (ent->schema == NULL || x->level == 2) {
		if (x->level == 0)
			spool_seterr(err, "cannot load schema %s: libxml2 gave "
			    "no reason", path);
		else if (x->file[0] == '\0' || strcmp(x->file, path) == 0)
			spool_seterr(err, "cannot load schema %s: %s (line %d)",
			    path, x->msg, x->line);
		else
			spool_seterr(err, "cannot load schema %s: %s (%s, "
			    "line %d)", path, x->msg, x->file, x->line);
		if (err != NULL)
			err->line = x->line;
		goto out;
	}
	if ((ent->vctxt = xmlSchemaNewValidCtxt(ent->schema)) == NULL) {
		spool_seterr(err, "cannot load schema %s: out of memory "
		    "creating its validation context", path);
		goto out;
	}
	ret = 0;
out:
	xmlSchemaFreeParserCtxt(pctxt);
	return ret;
}

/*
 * Compile path into ent with libxml2 quiet (xmlquiet.c: its errors go
 * to schema_xerr_cb()) and no network: the external
 * entity loader is xmlNoNetExternalEntityLoader for the call, then the
 * program's again. On failure ent keeps no schema or context.
 */
static int
schema_compile(struct schema_entry *ent, const char *path,
    struct spool_error *err)
{
	xmlExternalEntityLoader oloader;
	struct xmlquiet q;
	struct schema_xerr x;
	int ret;

	xmlInitParser();
	oloader = xmlGetExternalEntityLoader();
	xmlSetExternalEntityLoader(xmlNoNetExternalEntityLoader);
	memset(&x, 0, sizeof(x));
	xmlquiet_begin(&q, schema_xerr_cb, &x);
	ret = schema_parse(ent, path, &x, err);
	xmlquiet_end(&q);
	xmlSetExternalEntityLoader(oloader);
	if (ret == -1) {
		if (ent->vctxt != NULL)
			xmlSchemaFreeValidCtxt(ent->vctxt);
		if (ent->schema != NULL)
			xmlSchemaFree(ent->schema);
		ent->vctxt = NULL;
		ent->schema = NULL;
	}
	return ret;
}

/* Read the names of dir's .xsd files into set (unsorted, uncompiled). */
static int
schema_scan(struct schema_set *set, const char *dir, struct spool_error *err)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	char *path = NULL;
	size_t len;
	int ret = -1;

	if ((d = opendir(dir)) == NULL) {
		spool_seterr(err, "cannot open schema directory %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				spool_seterr(err, "cannot read schema "
				    "directory %s: %s", dir, strerror(errno));
				goto out;
			}
			break;
		}
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= 4 ||
		    strcmp(de->d_name + len - 4, ".xsd") != 0)
			continue;
		free(path);
		if ((path = schema_join(dir, de->d_name, "")) == NULL) {
			spool_seterr(err, "out of memory reading schema "
			    "directory %s", dir);
			goto out;
		}
		if (stat(path, &st) == -1) {
			spool_seterr(err, "cannot load schema %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			spool_seterr(err, "cannot load schema %s: not a "
			    "regular file", path);
			goto out;
		}
		if (schema_add(set, de->d_name, len - 4) == -1) {
			spool_seterr(err, "out of memory reading schema "
			    "directory %s", dir);
			goto out;
		}
		if (xmlValidateNCName(
		    (const xmlChar *)set->ent[set->n - 1].type, 0) != 0) {
			spool_seterr(err, "cannot load schema %s: \"%s\" is "
			    "not a message type (an XML element name)", path,
			    set->ent[set->n - 1].type);
			goto out;
		}
	}
	ret = 0;
out:
	free(path);
	if (closedir(d) == -1 && ret == 0) {
		spool_seterr(err, "cannot close schema directory %s: %s", dir,
		    strerror(errno));
		ret = -1;
	}
	return ret;
}

struct schema_set *
schema_set_load(const char *dir, struct spool_error *err)
{
	struct schema_set *set = NULL;
	char *path = NULL;
	size_t i;
	int ret = -1;

	spool_clearerr(err);
	if (dir == NULL || dir[0] == '\0') {
		spool_seterr(err, "no schema directory given");
		return NULL;
	}
	if ((set = calloc(1, sizeof(*set))) == NULL) {
		spool_seterr(err, "out of memory loading schemas from %s", dir);
		return NULL;
	}
	if (schema_scan(set, dir, err) == -1)
		goto out;
	/* Sorted before compiling: the same broken file is reported first. */
	if (set->n > 1)
		qsort(set->ent, set->n, sizeof(set->ent[0]), schema_entry_cmp);

	for (i = 0; i < set->n; i++) {
		free(path);
		if ((path = schema_join(dir, set->ent[i].type, ".xsd")) ==
		    NULL) {
			spool_seterr(err, "out of memory loading schemas "
			    "from %s", dir);
			break;
		}
		if (schema_compile(&set->ent[i], path, err) == -1)
			break;
	}
	ret = i < set->n ? -1 : 0;
out:
	free(path);
	if (ret == -1) {
		schema_set_free(set);
		return NULL;
	}
	return set;
}

void
schema_set_free(struct schema_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++) {
		if (set->ent[i].vctxt != NULL)
			xmlSchemaFreeValidCtxt(set->ent[i].vctxt);
		if (set->ent[i].schema != NULL)
			xmlSchemaFree(set->ent[i].schema);
		free(set->ent[i].type);
	}
	free(set->ent);
	free(set);
}

size_t
schema_set_count(const struct schema_set *set)
{
	return set != NULL ? set->n : 0;
}

int
schema_set_add(struct schema_set **setp, const char *type, const char *path,
    struct spool_error *err)
{
	struct schema_set *set = *setp;

	if (schema_find(set, type) != NULL) {
		spool_seterr(err, "type %s has a schema already", type);
		return -1;
	}
	if ((set == NULL && (set = *setp = calloc(1, sizeof(*set))) == NULL) ||
	    schema_add(set, type, strlen(type)) == -1) {
		spool_seterr(err, "out of memory loading schema %s", path);
		return -1;
	}
	if (schema_compile(&set->ent[set->n - 1], path, err) == -1) {
		free(set->ent[--set->n].type);
		return -1;
	}
	qsort(set->ent, set->n, sizeof(set->ent[0]), schema_entry_cmp);
	return 0;
}

bool
schema_set_has(const struct schema_set *set, const char *type)
{
	return schema_find(set, type) != NULL;
}

