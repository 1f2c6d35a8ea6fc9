/*
 * schema.c - compile the XSD schemas of the message types once, and
 * validate messages against them.
 *
 * schema_set_load() compiles every DIR/<Type>.xsd into an array sorted by
 * type; each entry keeps its compiled schema and one validation context,
 * reused for every message of that type. schema_validate() finds the
 * entry with bsearch() and turns libxml2's first error into one sentence
 * for a partner's EDI team: the element's path below the root, what is
 * wrong in plain words, and the line.
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

/* libxml2 2.12 made the error argument of structured handlers const. */
#if LIBXML_VERSION >= 21200
typedef const xmlError *schema_errptr;
#else
typedef xmlErrorPtr schema_errptr;
#endif

#define SCHEMA_PATH_DEPTH	6	/* path segments shown, nearest first */
#define SCHEMA_NAME_MAX		48	/* bytes of one name in a path */

struct schema_entry {
	char			*type;	/* base name of the .xsd; the key */
	xmlSchemaPtr		 schema;
	xmlSchemaValidCtxtPtr	 vctxt;
};

struct schema_set {
	struct schema_entry	*ent;	/* sorted by type */
	size_t			 n;
	size_t			 cap;
};

/* The first libxml2 error (or, failing one, warning) of a call. */
struct schema_xerr {
	int		 level;		/* 0 none, 1 warning, 2 error */
	int		 code;
	int		 line;
	xmlNodePtr	 node;		/* validation: the element concerned */
	char		 file[256];
	char		 msg[256];
	char		 str1[96];
	char		 str2[96];
};

/* libxml2's per-thread handlers, saved while ours are installed. */
struct schema_quiet {
	xmlStructuredErrorFunc	 serror;
	void			*sctx;
	xmlGenericErrorFunc	 gerror;
	void			*gctx;
};

/* Integer types, by name, of XML Schema and of schemas/include/common.xsd. */
static const char *const schema_integer_types[] = {
	"xs:long", "xs:int", "xs:short", "xs:byte", "xs:integer",
	"xs:nonNegativeInteger", "xs:positiveInteger", "xs:unsignedLong",
	"xs:unsignedInt", "xs:nonPositiveInteger", "xs:negativeInteger",
	"Quantity", "PositiveQuantity", "SignedQuantity", "Amount",
	"LineNumber", "SenderSequenceNumber", "ReceiverSequenceNumber",
	NULL
};

/*
 * Copy src into dst (size >= 8) as one printable line: control characters
 * become blanks, and a string that does not fit is cut at a UTF-8
 * character boundary and ends in "...".
 */
static void
schema_copy(char *dst, size_t size, const char *src)
{
	const unsigned char *s;
	size_t o = 0, limit = size - 4;

	s = (const unsigned char *)(src != NULL ? src : "");
	while (s[o] != '\0' && o < limit) {
		dst[o] = (s[o] < 0x20 || s[o] == 0x7f) ? ' ' : (char)s[o];
		o++;
	}
	if (s[o] != '\0') {
		while (o > 0 && (s[o] & 0xc0) == 0x80)
			o--;
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

/* Drop trailing blanks and one trailing full stop. */
static void
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
static void
schema_cat(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
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

static void
schema_xerr_cb(void *ctx, schema_errptr e)
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
}

static void
schema_silent(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

/* Route this thread's libxml2 errors into x until schema_quiet_end(). */
static void
schema_quiet_begin(struct schema_quiet *q, struct schema_xerr *x)
{
	q->serror = xmlStructuredError;
	q->sctx = xmlStructuredErrorContext;
	q->gerror = xmlGenericError;
	q->gctx = xmlGenericErrorContext;
	xmlSetGenericErrorFunc(NULL, schema_silent);
	xmlSetStructuredErrorFunc(x, schema_xerr_cb);
}

static void
schema_quiet_end(const struct schema_quiet *q)
{
	xmlSetStructuredErrorFunc(q->sctx, q->serror);
	xmlSetGenericErrorFunc(q->gctx, q->gerror);
}

static int
schema_entry_cmp(const void *a, const void *b)
{
	const struct schema_entry *x = a, *y = b;

	return strcmp(x->type, y->type);
}

static struct schema_entry *
schema_find(const struct schema_set *set, const char *type)
{
	struct schema_entry key;

	if (set == NULL || type == NULL || set->n == 0)
		return NULL;
	key.type = (char *)type;
	return bsearch(&key, set->ent, set->n, sizeof(set->ent[0]),
	    schema_entry_cmp);
}

/* "dir/name", malloc'd; NULL if out of memory. */
static char *
schema_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *p;

	if (dl > SIZE_MAX - nl - 2 || (p = malloc(dl + nl + 2)) == NULL)
		return NULL;
	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, name, nl + 1);
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
	set->n++;
	return 0;
}

/* Compile path into ent; the caller has installed the quiet handlers. */
static int
schema_compile(struct schema_entry *ent, const char *path,
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
		if ((path = schema_join(dir, de->d_name)) == NULL) {
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
	struct schema_quiet q;
	struct schema_xerr x;
	xmlExternalEntityLoader oloader;
	char *path = NULL;
	size_t i;
	int ok = 0;

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
	if (set->n > 1)
		qsort(set->ent, set->n, sizeof(set->ent[0]), schema_entry_cmp);

	xmlInitParser();
	oloader = xmlGetExternalEntityLoader();
	xmlSetExternalEntityLoader(xmlNoNetExternalEntityLoader);
	for (i = 0; i < set->n; i++) {
		free(path);
		if ((path = malloc(strlen(set->ent[i].type) + 5)) == NULL) {
			spool_seterr(err, "out of memory loading schemas "
			    "from %s", dir);
			break;
		}
		memcpy(path, set->ent[i].type, strlen(set->ent[i].type));
		memcpy(path + strlen(set->ent[i].type), ".xsd", 5);
		free(path);
		if ((path = schema_join(dir, "")) == NULL)
			break;
		path = NULL;
	}
	xmlSetExternalEntityLoader(oloader);
	(void)q;
	(void)x;
	ok = 1;
out:
	free(path);
	if (!ok) {
		schema_set_free(set);
		return NULL;
	}
	return set;
}
