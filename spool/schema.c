/*
 * schema.c - compile the XSD schemas of the message types once, and
 * validate messages against them.
 *
 * schema_set_load() compiles every DIR/<Type>.xsd into an array sorted by
 * type; each entry keeps its compiled schema and one validation context,
 * reused for every message of that type by one thread at a time (a
 * thread that finds it busy validates with a context of its own; the
 * compiled schema is only read, as libxml2 allows). schema_validate() finds the
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
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
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
	atomic_bool		 busy;	/* vctxt in use by a thread */
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
	char		 tname[64];	/* type named at the end of msg */
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
	"Long", "Quantity", "PositiveQuantity", "SignedQuantity", "Amount",
	"LineNumber", "SenderSequenceNumber", "ReceiverSequenceNumber",
	NULL
};

/*
 * Copy src into dst (size >= 8) as one line of printable ASCII: control
 * characters become blanks, bytes outside ASCII become \xNN (partner
 * values may hold bidi overrides or C1 controls), and what does not fit
 * is cut and ends in "...".
 */
static void
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
	schema_type_name(e->message, x->tname, sizeof(x->tname));
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
	struct schema_quiet q;
	struct schema_xerr x;
	xmlExternalEntityLoader oloader;
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

	xmlInitParser();
	oloader = xmlGetExternalEntityLoader();
	xmlSetExternalEntityLoader(xmlNoNetExternalEntityLoader);
	for (i = 0; i < set->n; i++) {
		free(path);
		if ((path = schema_join(dir, set->ent[i].type, ".xsd")) ==
		    NULL) {
			spool_seterr(err, "out of memory loading schemas "
			    "from %s", dir);
			break;
		}
		memset(&x, 0, sizeof(x));
		schema_quiet_begin(&q, &x);
		ret = schema_compile(&set->ent[i], path, &x, err);
		schema_quiet_end(&q);
		if (ret == -1)
			break;
	}
	xmlSetExternalEntityLoader(oloader);
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
	struct schema_entry *ent;
	struct schema_quiet q;
	struct schema_xerr x;
	xmlExternalEntityLoader oloader;
	int ret;

	if (schema_find(set, type) != NULL) {
		spool_seterr(err, "type %s has a schema already", type);
		return -1;
	}
	if (set == NULL && (set = *setp = calloc(1, sizeof(*set))) == NULL) {
		spool_seterr(err, "out of memory loading schema %s", path);
		return -1;
	}
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 4;

		if ((ent = reallocarray(set->ent, cap, sizeof(*ent))) ==
		    NULL) {
			spool_seterr(err, "out of memory loading schema %s",
			    path);
			return -1;
		}
		set->ent = ent;
		set->cap = cap;
	}
	ent = &set->ent[set->n];
	memset(ent, 0, sizeof(*ent));
	if ((ent->type = strdup(type)) == NULL) {
		spool_seterr(err, "out of memory loading schema %s", path);
		return -1;
	}
	xmlInitParser();
	oloader = xmlGetExternalEntityLoader();
	xmlSetExternalEntityLoader(xmlNoNetExternalEntityLoader);
	memset(&x, 0, sizeof(x));
	schema_quiet_begin(&q, &x);
	ret = schema_compile(ent, path, &x, err);
	schema_quiet_end(&q);
	xmlSetExternalEntityLoader(oloader);
	if (ret == -1) {
		if (ent->vctxt != NULL)
			xmlSchemaFreeValidCtxt(ent->vctxt);
		if (ent->schema != NULL)
			xmlSchemaFree(ent->schema);
		free(ent->type);
		return -1;
	}
	set->n++;
	qsort(set->ent, set->n, sizeof(set->ent[0]), schema_entry_cmp);
	return 0;
}

bool
schema_set_has(const struct schema_set *set, const char *type)
{
	return schema_find(set, type) != NULL;
}

/* Whether a is an element named like b, in the same namespace. */
static int
schema_same_name(xmlNodePtr a, xmlNodePtr b)
{
	if (a->type != XML_ELEMENT_NODE || !xmlStrEqual(a->name, b->name))
		return 0;
	if (a->ns == NULL || b->ns == NULL)
		return a->ns == b->ns;
	return xmlStrEqual(a->ns->href, b->ns->href);
}

/* One path segment: the name, and [k] if siblings share the name. */
static void
schema_segment(xmlNodePtr n, char *buf, size_t size)
{
	xmlNodePtr c;
	size_t k = 1, same = 0;
	char name[SCHEMA_NAME_MAX];

	schema_copy(name, sizeof(name), (const char *)n->name);
	if (n->parent != NULL && n->parent->type == XML_ELEMENT_NODE) {
		for (c = n->parent->children; c != NULL; c = c->next) {
			if (!schema_same_name(c, n))
				continue;
			same++;
			if (c == n)
				k = same;
		}
	}
	if (same > 1)
		schema_cat(buf, size, "%s[%zu]", name, k);
	else
		schema_cat(buf, size, "%s", name);
}

/*
 * The path of element n below the root ("Body/Line[2]/Quantity"), the
 * root's name for the root itself, with "/@attr" for an attribute. Only
 * the SCHEMA_PATH_DEPTH nearest segments are shown.
 */
static void
schema_path(xmlNodePtr n, const char *attr, char *buf, size_t size)
{
	xmlNodePtr seg[SCHEMA_PATH_DEPTH], p;
	size_t depth = 0, i;
	int more = 0;

	buf[0] = '\0';
	if (n == NULL || n->type != XML_ELEMENT_NODE)
		return;
	for (p = n; p != NULL && p->type == XML_ELEMENT_NODE; p = p->parent) {
		if (p != n && (p->parent == NULL ||
		    p->parent->type != XML_ELEMENT_NODE))
			break;		/* p is the root: not shown */
		if (depth == SCHEMA_PATH_DEPTH) {
			more = 1;
			break;
		}
		seg[depth++] = p;
	}
	if (more)
		schema_cat(buf, size, ".../");
	for (i = depth; i > 0; i--) {
		schema_segment(seg[i - 1], buf, size);
		if (i > 1)
			schema_cat(buf, size, "/");
	}
	if (attr != NULL && attr[0] != '\0')
		schema_cat(buf, size, "/@%s", attr);
}

/*
 * Split libxml2's "Element 'X', attribute 'a': text" into the attribute
 * name (copied into attr, "" if none) and the text (returned). XML names
 * hold no quote or blank, so the first "': " ends the prefix.
 */
static const char *
schema_strip_prefix(const char *msg, char *attr, size_t size)
{
	const char *end, *a;
	size_t len;

	attr[0] = '\0';
	if (strncmp(msg, "Element '", 9) != 0 ||
	    (end = strstr(msg, "': ")) == NULL)
		return msg;
	if ((a = strstr(msg, "', attribute '")) != NULL && a < end) {
		a += strlen("', attribute '");
		len = (size_t)(end - a);
		if (len >= size)
			len = size - 1;
		memcpy(attr, a, len);
		attr[len] = '\0';
	}
	return end + 3;
}

/* Copy what follows key in s up to the next stop character into buf. */
static int
schema_after(const char *s, const char *key, const char *stop, char *buf,
    size_t size)
{
	const char *p;
	size_t len;

	if ((p = strstr(s, key)) == NULL)
		return 0;
	p += strlen(key);
	len = strcspn(p, stop);
	if (len >= size)
		len = size - 1;
	memcpy(buf, p, len);
	buf[len] = '\0';
	return 1;
}

static int
schema_is_integer_type(const char *name)
{
	size_t i;

	for (i = 0; schema_integer_types[i] != NULL; i++)
		if (strcmp(name, schema_integer_types[i]) == 0)
			return 1;
	return 0;
}

/* Whether v is [+-]digits, i.e. an integer that is merely too large. */
static int
schema_looks_numeric(const char *v)
{
	if (*v == '+' || *v == '-')
		v++;
	if (*v == '\0')
		return 0;
	for (; *v != '\0'; v++)
		if (*v < '0' || *v > '9')
			return 0;
	return 1;
}

/* "'abc' is not a valid integer", from a datatype error. */
static void
schema_what_value(const struct schema_xerr *x, char *buf, size_t size)
{
	const char *tname = x->tname;

	if (schema_is_integer_type(tname)) {
		if (schema_looks_numeric(x->str1))
			schema_cat(buf, size, "'%s' is out of range for a "
			    "64-bit integer", x->str1);
		else
			schema_cat(buf, size, "'%s' is not a valid integer",
			    x->str1);
	} else if (strcmp(tname, "xs:date") == 0)
		schema_cat(buf, size, "'%s' is not a valid date "
		    "(YYYY-MM-DD)", x->str1);
	else if (strcmp(tname, "xs:dateTime") == 0 ||
	    strcmp(tname, "Timestamp") == 0)
		schema_cat(buf, size, "'%s' is not a valid date and time "
		    "(YYYY-MM-DDThh:mm:ss, time zone optional)", x->str1);
	else if (tname[0] != '\0')
		schema_cat(buf, size, "'%s' is not a valid value of type %s",
		    x->str1, tname);
	else
		schema_cat(buf, size, "'%s' is not a valid value", x->str1);
}

/* "... not expected. Expected is one of ( A, B )." and the like. */
static void
schema_what_content(const char *text, char *buf, size_t size)
{
	char list[160];
	int one;

	one = schema_after(text, "Expected is ( ", ")", list, sizeof(list));
	if (!one && !schema_after(text, "Expected is one of ( ", ")", list,
	    sizeof(list)))
		list[0] = '\0';
	schema_rtrim(list);
	if (strstr(text, "Missing child element") != NULL)
		schema_cat(buf, size, "a required element is missing");
	else if (strstr(text, "not expected") != NULL)
		schema_cat(buf, size, "this element is not allowed here");
	else {
		schema_cat(buf, size, "%s", text);
		return;
	}
	if (list[0] != '\0')
		schema_cat(buf, size, "; expected %s%s", one ? "" : "one of ",
		    list);
}

/* The pattern facet, in words where the pattern is one of ours. */
static void
schema_what_pattern(const struct schema_xerr *x, char *buf, size_t size)
{
	if (x->str1[0] == '\0')
		schema_cat(buf, size, "must not be empty");
	else if (strncmp(x->str2, "[ -~]", 5) == 0)
		schema_cat(buf, size, "'%s' contains a character that is not "
		    "printable ASCII", x->str1);
	else if (strstr(x->str2, "\\p{Cc}") != NULL &&
	    strstr(x->str2, "\\s") != NULL)
		schema_cat(buf, size, "'%s' contains a blank, a control or a "
		    "format character", x->str1);
	else if (strstr(x->str2, "\\p{Cc}") != NULL)
		schema_cat(buf, size, "'%s' contains a control or format "
		    "character", x->str1);
	else
		schema_cat(buf, size, "'%s' does not match the pattern %s",
		    x->str1, x->str2);
}

/* What is wrong, in words, without the path or the line. */
static void
schema_what(const struct schema_xerr *x, const char *type, const char *text,
    char *buf, size_t size)
{
	char key[64];

	buf[0] = '\0';
	switch (x->code) {
	case XML_SCHEMAV_CVC_DATATYPE_VALID_1_2_1:
	case XML_SCHEMAV_CVC_DATATYPE_VALID_1_2_2:
	case XML_SCHEMAV_CVC_DATATYPE_VALID_1_2_3:
		schema_what_value(x, buf, size);
		break;
	case XML_SCHEMAV_CVC_MININCLUSIVE_VALID:
		schema_cat(buf, size, "'%s' is less than the minimum %s",
		    x->str1, x->str2);
		break;
	case XML_SCHEMAV_CVC_MAXINCLUSIVE_VALID:
		schema_cat(buf, size, "'%s' is greater than the maximum %s",
		    x->str1, x->str2);
		break;
	case XML_SCHEMAV_CVC_MINEXCLUSIVE_VALID:
		schema_cat(buf, size, "'%s' must be greater than %s",
		    x->str1, x->str2);
		break;
	case XML_SCHEMAV_CVC_MAXEXCLUSIVE_VALID:
		schema_cat(buf, size, "'%s' must be less than %s",
		    x->str1, x->str2);
		break;
	case XML_SCHEMAV_CVC_PATTERN_VALID:
		schema_what_pattern(x, buf, size);
		break;
	case XML_SCHEMAV_CVC_MINLENGTH_VALID:
		if (strcmp(x->str1, "0") == 0)
			schema_cat(buf, size, "must not be empty");
		else
			schema_cat(buf, size, "is %s characters long, shorter "
			    "than the minimum %s", x->str1, x->str2);
		break;
	case XML_SCHEMAV_CVC_MAXLENGTH_VALID:
		schema_cat(buf, size, "is %s characters long, longer than the "
		    "maximum %s", x->str1, x->str2);
		break;
	case XML_SCHEMAV_CVC_ENUMERATION_VALID:
		schema_cat(buf, size, "'%s' is not one of the allowed values",
		    x->str1);
		break;
	case XML_SCHEMAV_ELEMENT_CONTENT:
	case XML_SCHEMAV_CVC_COMPLEX_TYPE_2_4:
		schema_what_content(text, buf, size);
		break;
	case XML_SCHEMAV_CVC_COMPLEX_TYPE_2_3:
		schema_cat(buf, size, "text is not allowed here, only "
		    "elements");
		break;
	case XML_SCHEMAV_CVC_COMPLEX_TYPE_3_2_1:
	case XML_SCHEMAV_CVC_COMPLEX_TYPE_3_2_2:
		schema_cat(buf, size, "this attribute is not allowed here");
		break;
	case XML_SCHEMAV_CVC_COMPLEX_TYPE_4:
		schema_cat(buf, size, "the attribute '%s' is required but "
		    "missing", x->str1);
		break;
	case XML_SCHEMAV_CVC_IDC:
		if (strstr(x->str2, "'UniqueLineNumber'") != NULL &&
		    schema_after(x->str1, "['", "'", key, sizeof(key)))
			schema_cat(buf, size, "line number %s is used more "
			    "than once", key);
		else
			schema_cat(buf, size, "%s", text);
		break;
	case XML_SCHEMAV_CVC_ELT_1:
		schema_cat(buf, size, "a %s message must have the root "
		    "element %s, without a namespace", type, type);
		break;
	case XML_SCHEMAV_DOCUMENT_ELEMENT_MISSING:
		schema_cat(buf, size, "the document has no root element");
		break;
	default:
		schema_cat(buf, size, "%s", text);
		break;
	}
}

int
schema_validate(struct schema_set *set, const char *type, xmlDocPtr doc,
    struct spool_error *err)
{
	struct schema_entry *ent;
	struct schema_quiet q;
	struct schema_xerr x;
	xmlSchemaValidCtxtPtr vctxt;
	const char *text;
	char attr[SCHEMA_NAME_MAX], where[384], what[320];
	long line;
	int rc;

	spool_clearerr(err);
	if ((ent = schema_find(set, type)) == NULL)
		return 0;
	if (doc == NULL) {
		spool_seterr(err, "no document to validate as %s", type);
		return -1;
	}
	/* The entry's context, unless another thread has it: then one of
	 * this call's own (the compiled schema is shared read-only). */
	vctxt = ent->vctxt;
	if (atomic_exchange(&ent->busy, true) &&
	    (vctxt = xmlSchemaNewValidCtxt(ent->schema)) == NULL) {
		spool_seterr(err, "%s message could not be validated: out of "
		    "memory", type);
		return -1;
	}
	memset(&x, 0, sizeof(x));
	xmlSchemaSetValidStructuredErrors(vctxt, schema_xerr_cb, &x);
	schema_quiet_begin(&q, &x);
	rc = xmlSchemaValidateDoc(vctxt, doc);
	schema_quiet_end(&q);
	xmlSchemaSetValidStructuredErrors(vctxt, schema_xerr_cb, NULL);
	if (vctxt != ent->vctxt)
		xmlSchemaFreeValidCtxt(vctxt);
	else
		atomic_store(&ent->busy, false);
	if (rc == 0)
		return 0;
	if (rc < 0 || x.level == 0) {
		spool_seterr(err, "%s message could not be validated: "
		    "libxml2 internal error %d", type, rc);
		return -1;
	}

	text = schema_strip_prefix(x.msg, attr, sizeof(attr));
	schema_path(x.node, attr, where, sizeof(where));
	schema_what(&x, type, text, what, sizeof(what));
	line = x.node != NULL ? xmlGetLineNo(x.node) : -1;
	if (line <= 0 || line > INT_MAX)
		line = x.line > 0 ? x.line : 0;
	if (err != NULL)
		err->line = (int)line;
	if (where[0] != '\0' && line > 0)
		spool_seterr(err, "%s: %s (line %ld)", where, what, line);
	else if (where[0] != '\0')
		spool_seterr(err, "%s: %s", where, what);
	else if (line > 0)
		spool_seterr(err, "%s (line %ld)", what, line);
	else
		spool_seterr(err, "%s", what);
	return -1;
}
