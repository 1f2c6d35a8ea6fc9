/*
 * dialect.c - load dialect files and read a message's keys with them
 * (DESIGN 15; the file format is spoold.conf(5), DIALECT FILES).
 *
 * A dialect file is read line by line by the small parser here (not
 * inih: its lines end at 200 bytes and an XPath expression is often
 * longer): '#' comments, [section] headers, key = value, and a line that
 * starts with a blank continues the value above it (joined with one
 * blank). Sections: [dialect] (name, syntax, order, root, header),
 * [namespaces] (prefix = URI), [schemas] (TYPE = an XSD, compiled once
 * at load with schema_set_add()) and [keys] / [keys TYPE] (the XPath 1.0
 * expressions; a key given twice lists alternatives, the first that
 * yields a non-empty value wins; [keys TYPE] replaces [keys] for the
 * documents whose unqualified type is TYPE).
 *
 * Every expression is compiled once at load and tried once on an empty
 * document with the dialect's namespaces, so that a syntax error, an
 * unknown function or an undeclared prefix is reported at start-up (and
 * by spoold --check-config) with its file:line, never on a partner's
 * message. libxml2's own error printing is switched off by a structured
 * handler on each XPath context.
 *
 * The native dialect's header (DESIGN 4) keeps its own checks
 * (message.c): native.dialect says "header = native" and lists the
 * expressions those checks amount to, for the reader; they are compiled
 * and checked like any other, but message.c reads the header.
 *
 * No globals: a set is built by one call, read-only afterwards, and
 * shared by threads (each evaluation makes its own XPath context).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "dialect.h"
#include "message.h"
#include "message_int.h"
#include "schema.h"

#define DIALECT_LINE_MAX	4096	/* one physical line */
#define DIALECT_VALUE_MAX	16384	/* one value, continuations joined */
#define DIALECT_FILE_MAX	(256 * 1024)
#define DIALECT_ALT_MAX		8	/* alternatives per key */
#define DIALECT_VAL_MAX		128	/* bytes of an ID read */

static const char *const key_names[DK_NKEYS] = {
	[DK_TYPE] = "type",
	[DK_SENDER] = "sender",
	[DK_RECIPIENT] = "recipient",
	[DK_TRANSACTION] = "transaction",
	[DK_SEQUENCE] = "sequence",
	[DK_RECEIVER_SEQUENCE] = "receiver_sequence",
	[DK_MESSAGE_ID] = "message_id",
	[DK_CREATED] = "created",
	[DK_CONTROL] = "control",
};

struct dexpr {
	char			*src;
	int			 line;
	xmlXPathCompExprPtr	 comp;
};

struct dkeys {
	char		*type;		/* NULL: [keys] */
	struct dexpr	 alt[DK_NKEYS][DIALECT_ALT_MAX];
	size_t		 nalt[DK_NKEYS];
};

struct droot {
	char	*ns;			/* NULL: no namespace */
	char	*local;			/* "*": any */
};

struct dialect {
	char			*name;
	char			*path;
	enum dialect_syntax	 syntax;
	bool			 native;	/* header = native */
	bool			 ordered;	/* order = sequence */
	enum conf_order		 order;		/* DESIGN 16 */
	char			**after_types;	/* after.TYPE: qualified */
	char			**after_waits;	/* parallel: "T1 T2" */
	size_t			 nafter;
	struct droot		*roots;
	size_t			 nroots;
	char			**ns_prefix, **ns_uri;
	size_t			 nns;
	struct dkeys		*keys;		/* keys[0]: [keys] */
	size_t			 nkeys;
	char			**xsd_type, **xsd_path;	/* [schemas] */
	int			*xsd_line;
	size_t			 nxsd;
	struct schema_set	*schemas;	/* compiled, by qualified type;
						   NULL: none */
};

/* The parse of one file. */
struct dparse {
	struct dialect		*d;
	const char		*path;
	int			 line;
	char			 section[80];
	struct spool_error	*err;
	bool			 seen_name, seen_syntax, seen_order;
};

static int
dfail(struct dparse *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A type name as [schemas] takes it: letters, digits, '-', '_', '.'. */
static bool
type_name_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 200)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		    *s == '.'))
			return false;
	return true;
}

static int
dfail(struct dparse *p, const char *fmt, ...)
{
	char msg[SPOOL_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	spool_seterr(p->err, "%s:%d: %s", p->path, p->line, msg);
	if (p->err != NULL)
		p->err->line = p->line;
	return -1;
}

static void
xpath_quiet(void *ctx, xmlErrorPtr e)
{
	(void)ctx;
	(void)e;
}

static void
xpath_silent(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

/* libxml2 prints some XPath errors through the per-thread generic
 * handler, not the context's: silenced while we compile or evaluate. */
struct quiet {
	xmlGenericErrorFunc	 generic;
	void			*genericctx;
	xmlStructuredErrorFunc	 structured;
	void			*structuredctx;
};

static void
quiet_on(struct quiet *q)
{
	q->generic = xmlGenericError;
	q->genericctx = xmlGenericErrorContext;
	q->structured = xmlStructuredError;
	q->structuredctx = xmlStructuredErrorContext;
	xmlSetGenericErrorFunc(NULL, xpath_silent);
	xmlSetStructuredErrorFunc(NULL, xpath_quiet);
}

static void
quiet_off(const struct quiet *q)
{
	xmlSetStructuredErrorFunc(q->structuredctx, q->structured);
	xmlSetGenericErrorFunc(q->genericctx, q->generic);
}

static void
dialect_free(struct dialect *d)
{
	size_t i, k, a;

	if (d == NULL)
		return;
	for (i = 0; i < d->nafter; i++) {
		free(d->after_types[i]);
		free(d->after_waits[i]);
	}
	free(d->after_types);
	free(d->after_waits);
	free(d->name);
	free(d->path);
	for (i = 0; i < d->nxsd; i++) {
		free(d->xsd_type[i]);
		free(d->xsd_path[i]);
	}
	free(d->xsd_type);
	free(d->xsd_path);
	free(d->xsd_line);
	schema_set_free(d->schemas);
	for (i = 0; i < d->nroots; i++) {
		free(d->roots[i].ns);
		free(d->roots[i].local);
	}
	free(d->roots);
	for (i = 0; i < d->nns; i++) {
		free(d->ns_prefix[i]);
		free(d->ns_uri[i]);
	}
	free(d->ns_prefix);
	free(d->ns_uri);
	for (i = 0; i < d->nkeys; i++) {
		free(d->keys[i].type);
		for (k = 0; k < DK_NKEYS; k++)
			for (a = 0; a < d->keys[i].nalt[k]; a++) {
				free(d->keys[i].alt[k][a].src);
				if (d->keys[i].alt[k][a].comp != NULL)
					xmlXPathFreeCompExpr(
					    d->keys[i].alt[k][a].comp);
			}
	}
	free(d->keys);
	free(d);
}

void
dialect_set_free(struct dialect_set *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		dialect_free(s->d[i]);
	free(s->d);
	s->d = NULL;
	s->n = 0;
}

static bool
name_ok(const char *s)
{
	size_t i;

	if (s[0] < 'a' || s[0] > 'z')
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' &&
		    s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return false;
	return i <= DIALECT_NAME_MAX;
}

static struct dkeys *
keys_get(struct dparse *p, const char *type)
{
	struct dialect *d = p->d;
	struct dkeys *k;
	size_t i;

	for (i = 0; i < d->nkeys; i++)
		if ((type == NULL && d->keys[i].type == NULL) ||
		    (type != NULL && d->keys[i].type != NULL &&
		    strcmp(type, d->keys[i].type) == 0))
			return &d->keys[i];
	if ((k = realloc(d->keys, (d->nkeys + 1) * sizeof(*k))) == NULL)
		return NULL;
	d->keys = k;
	k = &d->keys[d->nkeys];
	memset(k, 0, sizeof(*k));
	if (type != NULL && (k->type = strdup(type)) == NULL)
		return NULL;
	d->nkeys++;
	return k;
}

/* after.TYPE = TYPE ... in [dialect] (DESIGN 16). */
static int
after_rule(struct dparse *p, const char *type, const char *v)
{
	struct dialect *d = p->d;
	char t[80], list[1024], **nt, **nw;
	size_t i;

	if (conf_after_types(type, t, sizeof(t)) == -1 ||
	    strchr(t, ' ') != NULL)
		return dfail(p, "after.TYPE: \"%.80s\" is not a message type",
		    type);
	if (conf_after_types(v, list, sizeof(list)) == -1)
		return dfail(p, "after.%s must list message types (A-Z a-z "
		    "0-9 . _ -), blank-separated", t);
	for (i = 0; i < d->nafter; i++)
		if (strcmp(d->after_types[i], t) == 0)
			return dfail(p, "after.%s is given twice", t);
	if ((nt = realloc(d->after_types, (d->nafter + 1) *
	    sizeof(*nt))) == NULL)
		return dfail(p, "out of memory");
	d->after_types = nt;
	if ((nw = realloc(d->after_waits, (d->nafter + 1) *
	    sizeof(*nw))) == NULL)
		return dfail(p, "out of memory");
	d->after_waits = nw;
	if ((nt[d->nafter] = strdup(t)) == NULL)
		return dfail(p, "out of memory");
	if ((nw[d->nafter] = strdup(list)) == NULL) {
		free(nt[d->nafter]);
		return dfail(p, "out of memory");
	}
	d->nafter++;
	return 0;
}

/* Qualify a name without a dot with the dialect's: Invoice, ubl.Invoice. */
static char *
qualify(const char *dname, const char *t, size_t len)
{
	char *q;
	size_t n;

	if (memchr(t, '.', len) != NULL) {
		if ((q = malloc(len + 1)) == NULL)
			return NULL;
		memcpy(q, t, len);
		q[len] = '\0';
		return q;
	}
	n = strlen(dname) + 1 + len + 1;
	if ((q = malloc(n)) == NULL)
		return NULL;
	snprintf(q, n, "%s.%.*s", dname, (int)len, t);
	return q;
}

/* At the end of a file, when the name is known: qualified types. */
static int
qualify_after(struct dparse *p)
{
	struct dialect *d = p->d;
	char *q, *out, *w;
	const char *t, *e;
	size_t i, n;

	for (i = 0; i < d->nafter; i++) {
		if ((q = qualify(d->name, d->after_types[i],
		    strlen(d->after_types[i]))) == NULL)
			return dfail(p, "out of memory");
		free(d->after_types[i]);
		d->after_types[i] = q;
		n = 0;
		for (t = d->after_waits[i]; *t != '\0'; t++)
			n += *t == ' ' ? strlen(d->name) + 2 : 1;
		if ((out = malloc(n + strlen(d->name) + 2)) == NULL)
			return dfail(p, "out of memory");
		out[0] = '\0';
		for (t = d->after_waits[i]; *t != '\0'; t = *e ? e + 1 : e) {
			if ((e = strchr(t, ' ')) == NULL)
				e = t + strlen(t);
			if ((w = qualify(d->name, t, (size_t)(e - t))) ==
			    NULL) {
				free(out);
				return dfail(p, "out of memory");
			}
			if (out[0] != '\0')
				strcat(out, " ");
			strcat(out, w);
			free(w);
		}
		free(d->after_waits[i]);
		d->after_waits[i] = out;
	}
	return 0;
}

static int
key_value(struct dparse *p, const char *key, const char *v)
{
	struct dialect *d = p->d;
	struct droot *r;
	char **np, **nu, *sp;
	size_t k;
	int o;

	if (strcmp(p->section, "dialect") == 0) {
		if (strcmp(key, "name") == 0) {
			if (p->seen_name)
				return dfail(p, "name is given twice");
			p->seen_name = true;
			if (!name_ok(v))
				return dfail(p, "dialect name \"%.40s\" must be "
				    "a-z, 0-9, '_' or '-', starting with a "
				    "letter, at most %d characters", v,
				    DIALECT_NAME_MAX);
			if ((d->name = strdup(v)) == NULL)
				return dfail(p, "out of memory");
			return 0;
		}
		if (strcmp(key, "syntax") == 0) {
			if (p->seen_syntax)
				return dfail(p, "syntax is given twice");
			p->seen_syntax = true;
			if (strcmp(v, "xml") == 0)
				d->syntax = DIALECT_XML;
			else if (strcmp(v, "edifact") == 0)
				d->syntax = DIALECT_EDIFACT;
			else if (strcmp(v, "x12") == 0)
				d->syntax = DIALECT_X12;
			else
				return dfail(p, "syntax must be xml, edifact "
				    "or x12");
			return 0;
		}
		if (strcmp(key, "order") == 0) {
			if (p->seen_order)
				return dfail(p, "order is given twice");
			p->seen_order = true;
			if ((o = conf_order_parse(v)) == -1)
				return dfail(p, "order must be sequence, "
				    "interchange, after or none");
			d->order = (enum conf_order)o;
			d->ordered = d->order == CONF_ORDER_SEQUENCE;
			return 0;
		}
		if (strncmp(key, "after.", 6) == 0)
			return after_rule(p, key + 6, v);
		if (strcmp(key, "header") == 0) {
			if (strcmp(v, "native") != 0)
				return dfail(p, "header must be native");
			d->native = true;
			return 0;
		}
		if (strcmp(key, "root") == 0) {
			if ((r = realloc(d->roots, (d->nroots + 1) *
			    sizeof(*r))) == NULL)
				return dfail(p, "out of memory");
			d->roots = r;
			r = &d->roots[d->nroots];
			memset(r, 0, sizeof(*r));
			if ((sp = strchr(v, ' ')) == NULL || strchr(sp + 1,
			    ' ') != NULL || sp == v || sp[1] == '\0')
				return dfail(p, "root must be NAMESPACE "
				    "LOCALNAME (\"-\" for no namespace, \"*\" "
				    "for any local name)");
			if ((r->ns = strndup(v, (size_t)(sp - v))) == NULL ||
			    (r->local = strdup(sp + 1)) == NULL) {
				d->nroots++;
				return dfail(p, "out of memory");
			}
			d->nroots++;
			if (strcmp(r->ns, "-") == 0) {
				free(r->ns);
				r->ns = NULL;
			}
			return 0;
		}
		return dfail(p, "unknown key \"%.40s\" in [dialect]", key);
	}
	if (strcmp(p->section, "namespaces") == 0) {
		for (k = 0; k < d->nns; k++)
			if (strcmp(d->ns_prefix[k], key) == 0)
				return dfail(p, "prefix %.40s is declared twice",
				    key);
		if ((np = realloc(d->ns_prefix, (d->nns + 1) *
		    sizeof(*np))) == NULL)
			return dfail(p, "out of memory");
		d->ns_prefix = np;
		if ((nu = realloc(d->ns_uri, (d->nns + 1) * sizeof(*nu))) ==
		    NULL)
			return dfail(p, "out of memory");
		d->ns_uri = nu;
		np[d->nns] = strdup(key);
		nu[d->nns] = strdup(v);
		d->nns++;
		if (np[d->nns - 1] == NULL || nu[d->nns - 1] == NULL)
			return dfail(p, "out of memory");
		return 0;
	}
	if (strcmp(p->section, "schemas") == 0) {
		char **nt, **npth;
		int *nl;

		for (k = 0; k < d->nxsd; k++)
			if (strcmp(d->xsd_type[k], key) == 0)
				return dfail(p, "type %.40s has two schemas",
				    key);
		if (!type_name_ok(key))
			return dfail(p, "[schemas]: \"%.40s\" is not a type "
			    "name", key);
		if ((nt = reallocarray(d->xsd_type, d->nxsd + 1,
		    sizeof(*nt))) == NULL)
			return dfail(p, "out of memory");
		d->xsd_type = nt;
		if ((npth = reallocarray(d->xsd_path, d->nxsd + 1,
		    sizeof(*npth))) == NULL)
			return dfail(p, "out of memory");
		d->xsd_path = npth;
		if ((nl = reallocarray(d->xsd_line, d->nxsd + 1,
		    sizeof(*nl))) == NULL)
			return dfail(p, "out of memory");
		d->xsd_line = nl;
		nt[d->nxsd] = strdup(key);
		npth[d->nxsd] = strdup(v);
		nl[d->nxsd] = p->line;
		d->nxsd++;
		if (nt[d->nxsd - 1] == NULL || npth[d->nxsd - 1] == NULL)
			return dfail(p, "out of memory");
		return 0;
	}
	if (strcmp(p->section, "keys") == 0 ||
	    strncmp(p->section, "keys ", 5) == 0) {
		struct dkeys *ks;
		struct dexpr *e;

		for (k = 0; k < DK_NKEYS; k++)
			if (strcmp(key_names[k], key) == 0)
				break;
		if (k == DK_NKEYS)
			return dfail(p, "unknown key \"%.40s\" in [%s] (type, "
			    "sender, recipient, transaction, sequence, "
			    "receiver_sequence, message_id, created, control)",
			    key,
			    p->section);
		ks = keys_get(p, p->section[4] == ' ' ? p->section + 5 :
		    NULL);
		if (ks == NULL)
			return dfail(p, "out of memory");
		if (ks->nalt[k] == DIALECT_ALT_MAX)
			return dfail(p, "more than %d alternatives for %s",
			    DIALECT_ALT_MAX, key);
		e = &ks->alt[k][ks->nalt[k]++];
		e->line = p->line;
		if ((e->src = strdup(v)) == NULL)
			return dfail(p, "out of memory");
		return 0;
	}
	return dfail(p, "key \"%.40s\" outside of a known section", key);
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
		return dfail(p, "a section header must be [name]");
	*e = '\0';
	s = trim(s + 1);
	if (strcmp(s, "dialect") != 0 && strcmp(s, "namespaces") != 0 &&
	    strcmp(s, "schemas") != 0 &&
	    strcmp(s, "keys") != 0 && (strncmp(s, "keys ", 5) != 0 ||
	    s[5] == '\0' || strlen(s) >= sizeof(p->section)))
		return dfail(p, "unknown section [%.40s] (dialect, namespaces, "
		    "keys, keys TYPE, schemas)", s);
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
		return dfail(p, "out of memory");
	for (;;) {
		bool eof = fgets(line, sizeof(line), fp) == NULL;

		if (!eof) {
			p->line++;
			l = strlen(line);
			if (l > 0 && line[l - 1] != '\n' && !feof(fp)) {
				dfail(p, "line is longer than %d characters",
				    DIALECT_LINE_MAX);
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
				dfail(p, "an indented line continues nothing");
				goto out;
			}
			l = strlen(s);
			if (vlen + 1 + l > DIALECT_VALUE_MAX) {
				dfail(p, "value is longer than %d characters",
				    DIALECT_VALUE_MAX);
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
				dfail(p, "%s has no value", key);
				goto out;
			}
			if (key_value(p, key, val) == -1)
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
			dfail(p, "expected [section] or key = value");
			goto out;
		}
		*eq = '\0';
		if (p->section[0] == '\0') {
			dfail(p, "key \"%.40s\" outside of any section",
			    trim(s));
			goto out;
		}
		if ((key = strdup(trim(s))) == NULL) {
			dfail(p, "out of memory");
			goto out;
		}
		if (*key == '\0') {
			dfail(p, "a key has no name");
			goto out;
		}
		keyline = p->line;
		s = trim(eq + 1);
		vlen = strlen(s);
		memcpy(val, s, vlen + 1);
	}
	if (ferror(fp)) {
		dfail(p, "read error");
		goto out;
	}
	ret = 0;
out:
	free(key);
	free(val);
	return ret;
}

static xmlXPathContextPtr
new_context(const struct dialect *d, xmlDocPtr doc)
{
	xmlXPathContextPtr ctx;
	size_t i;

	if ((ctx = xmlXPathNewContext(doc)) == NULL)
		return NULL;
	ctx->error = xpath_quiet;
	ctx->userData = NULL;
	for (i = 0; i < d->nns; i++)
		if (xmlXPathRegisterNs(ctx, BAD_CAST d->ns_prefix[i],
		    BAD_CAST d->ns_uri[i]) != 0) {
			xmlXPathFreeContext(ctx);
			return NULL;
		}
	return ctx;
}

/* Compile every expression and try each once on an empty document. */
static int
compile_all(struct dparse *p)
{
	struct dialect *d = p->d;
	xmlXPathContextPtr ctx = NULL;
	xmlXPathObjectPtr obj;
	xmlDocPtr doc;
	xmlNodePtr root;
	struct quiet q;
	bool quieted = false;
	size_t i, k, a;
	int ret = -1;

	if ((doc = xmlNewDoc(BAD_CAST "1.0")) == NULL ||
	    (root = xmlNewNode(NULL, BAD_CAST "x")) == NULL)
		goto oom;
	xmlDocSetRootElement(doc, root);
	if ((ctx = new_context(d, doc)) == NULL)
		goto oom;
	quiet_on(&q);
	quieted = true;
	for (i = 0; i < d->nkeys; i++)
		for (k = 0; k < DK_NKEYS; k++)
			for (a = 0; a < d->keys[i].nalt[k]; a++) {
				struct dexpr *e = &d->keys[i].alt[k][a];

				p->line = e->line;
				e->comp = xmlXPathCtxtCompile(ctx,
				    BAD_CAST e->src);
				if (e->comp == NULL) {
					dfail(p, "%s: not a valid XPath 1.0 "
					    "expression: %.200s",
					    key_names[k], e->src);
					goto out;
				}
				ctx->node = root;
				obj = xmlXPathCompiledEval(e->comp, ctx);
				if (obj == NULL) {
					dfail(p, "%s: the expression fails "
					    "(an undeclared namespace prefix "
					    "or an unknown function?): "
					    "%.200s", key_names[k], e->src);
					goto out;
				}
				xmlXPathFreeObject(obj);
			}
	ret = 0;
	goto out;
oom:
	dfail(p, "out of memory");
out:
	if (quieted)
		quiet_off(&q);
	if (ctx != NULL)
		xmlXPathFreeContext(ctx);
	if (doc != NULL)
		xmlFreeDoc(doc);
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
		return dfail(p, "[schemas] is for xml dialects");
	}
	for (i = 0; i < d->nxsd; i++) {
		p->line = d->xsd_line[i];
		snprintf(type, sizeof(type), "%s.%s", d->name, d->xsd_type[i]);
		if (snprintf(path, sizeof(path), "%s%s%s", d->xsd_path[i][0] ==
		    '/' ? "" : dir, d->xsd_path[i][0] == '/' ? "" : "/",
		    d->xsd_path[i]) >= (int)sizeof(path))
			return dfail(p, "schema path too long");
		spool_clearerr(&serr);
		if (schema_set_add(&d->schemas, type, path, &serr) == -1)
			return dfail(p, "%s", serr.msg);
	}
	p->line = 0;
	return 0;
}

struct schema_set *
dialect_schemas(const struct dialect *d)
{
	return d->schemas;
}

static struct dialect *
load_file(int dirfd, const char *dir, const char *fname,
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
		dfail(&p, "[dialect] name is missing");
		goto fail;
	}
	if (strcmp(d->name, stem) != 0) {
		dfail(&p, "the dialect is named %s, but its file %s.dialect",
		    d->name, stem);
		goto fail;
	}
	if (!p.seen_syntax) {
		dfail(&p, "[dialect] syntax is missing");
		goto fail;
	}
	if (d->native && d->syntax != DIALECT_XML) {
		dfail(&p, "header = native needs syntax = xml");
		goto fail;
	}
	if (!p.seen_order) {
		d->ordered = d->native;
		d->order = d->native ? CONF_ORDER_SEQUENCE : CONF_ORDER_NONE;
	}
	if (qualify_after(&p) == -1)
		goto fail;
	if (d->nkeys == 0 || keys_get(&p, NULL) != &d->keys[0] ||
	    (!d->native && d->keys[0].nalt[DK_TYPE] == 0) ||
	    (!d->native && d->keys[0].nalt[DK_SENDER] == 0)) {
		dfail(&p, "[keys] must give at least type and sender");
		goto fail;
	}
	if (d->ordered && !d->native &&
	    (d->keys[0].nalt[DK_TRANSACTION] == 0 ||
	    d->keys[0].nalt[DK_SEQUENCE] == 0)) {
		dfail(&p, "order = sequence needs the keys transaction and "
		    "sequence");
		goto fail;
	}
	if (d->syntax == DIALECT_XML && !d->native && d->nroots == 0) {
		dfail(&p, "an xml dialect needs at least one root = NAMESPACE "
		    "LOCALNAME in [dialect]");
		goto fail;
	}
	if (compile_all(&p) == -1)
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

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
set_add(struct dialect_set *s, struct dialect *d)
{
	struct dialect **n;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->d[i]->name, d->name) == 0) {
			dialect_free(s->d[i]);
			s->d[i] = d;
			return 0;
		}
	if ((n = realloc(s->d, (s->n + 1) * sizeof(*n))) == NULL)
		return -1;
	s->d = n;
	s->d[s->n++] = d;
	return 0;
}

static int
load_dir(struct dialect_set *s, const char *dir, bool optional,
    struct spool_error *err)
{
	struct dialect *d;
	struct dirent *de;
	char **names = NULL, **nn;
	size_t n = 0, i, l;
	DIR *dp;
	int dfd, ret = -1;

	if ((dp = opendir(dir)) == NULL) {
		if (optional && errno == ENOENT)
			return 0;
		spool_seterr(err, "dialect directory %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	dfd = dirfd(dp);
	while ((de = readdir(dp)) != NULL) {
		l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l <= 8 ||
		    strcmp(de->d_name + l - 8, ".dialect") != 0)
			continue;
		if ((nn = realloc(names, (n + 1) * sizeof(*nn))) == NULL ||
		    (nn[n] = strdup(de->d_name)) == NULL) {
			if (nn != NULL)
				names = nn;
			spool_seterr(err, "out of memory");
			goto out;
		}
		names = nn;
		n++;
	}
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		if ((d = load_file(dfd, dir, names[i], err)) == NULL)
			goto out;
		if (set_add(s, d) == -1) {
			dialect_free(d);
			spool_seterr(err, "out of memory");
			goto out;
		}
	}
	ret = 0;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(dp);
	return ret;
}

int
dialect_set_load(struct dialect_set *s, char *const *dirs,
    const bool *optional, struct spool_error *err)
{
	struct dialect *d;
	size_t i;

	memset(s, 0, sizeof(*s));
	xmlInitParser();
	for (i = 0; dirs != NULL && dirs[i] != NULL; i++)
		if (load_dir(s, dirs[i], optional != NULL && optional[i],
		    err) == -1) {
			dialect_set_free(s);
			return -1;
		}
	if (dialect_find(s, "native") == NULL) {
		if ((d = calloc(1, sizeof(*d))) == NULL ||
		    (d->name = strdup("native")) == NULL ||
		    (d->path = strdup("(built in)")) == NULL ||
		    set_add(s, d) == -1) {
			dialect_free(d);
			dialect_set_free(s);
			spool_seterr(err, "out of memory");
			return -1;
		}
		d->native = true;
		d->ordered = true;
		d->order = CONF_ORDER_SEQUENCE;
	}
	return 0;
}

const struct dialect *
dialect_find(const struct dialect_set *s, const char *name)
{
	size_t i;

	for (i = 0; s != NULL && i < s->n; i++)
		if (strcmp(s->d[i]->name, name) == 0)
			return s->d[i];
	return NULL;
}

const char *
dialect_name(const struct dialect *d)
{
	return d->name;
}

enum dialect_syntax
dialect_syntax(const struct dialect *d)
{
	return d->syntax;
}

bool
dialect_is_native(const struct dialect *d)
{
	return d->native;
}

const char *
dialect_order(const struct dialect *d)
{
	return conf_order_name(d->order);
}

enum conf_order
dialect_order_mode(const struct dialect *d)
{
	return d->order;
}

const char *
dialect_after(const struct dialect *d, const char *qtype)
{
	size_t i;

	for (i = 0; i < d->nafter; i++)
		if (strcmp(d->after_types[i], qtype) == 0)
			return d->after_waits[i];
	return NULL;
}

bool
dialect_orders(const struct dialect *d)
{
	return d->ordered;
}

static bool
allowed_has(char *const *allowed, const char *name)
{
	size_t i;

	if (allowed == NULL)
		return true;
	for (i = 0; allowed[i] != NULL; i++)
		if (strcmp(allowed[i], name) == 0)
			return true;
	return false;
}

static bool
root_matches(const struct dialect *d, xmlNodePtr root)
{
	const char *ns;
	size_t i;

	ns = root->ns != NULL && root->ns->href != NULL ?
	    (const char *)root->ns->href : NULL;
	for (i = 0; i < d->nroots; i++) {
		const struct droot *r = &d->roots[i];

		if ((r->ns == NULL) != (ns == NULL))
			continue;
		if (r->ns != NULL && strcmp(r->ns, ns) != 0)
			continue;
		if (strcmp(r->local, "*") == 0 ||
		    strcmp(r->local, (const char *)root->name) == 0)
			return true;
	}
	return false;
}

static void
tried_add(char *tried, size_t len, const char *name)
{
	size_t o = strlen(tried);

	if (len == 0)
		return;
	snprintf(tried + o, len - o, "%s%s", o > 0 ? ", " : "", name);
}

const struct dialect *
dialect_recognise(const struct dialect_set *s, char *const *allowed,
    enum dialect_syntax syn, xmlDocPtr doc, char *tried, size_t triedlen)
{
	const struct dialect *native = NULL;
	xmlNodePtr root;
	size_t i;

	if (triedlen > 0)
		tried[0] = '\0';
	root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
	for (i = 0; s != NULL && i < s->n; i++) {
		const struct dialect *d = s->d[i];

		if (d->syntax != syn || !allowed_has(allowed, d->name))
			continue;
		tried_add(tried, triedlen, d->name);
		if (syn != DIALECT_XML)
			return d;
		if (d->native) {
			if (native == NULL)
				native = d;
			continue;
		}
		if (root != NULL && root_matches(d, root))
			return d;
	}
	return native;
}

/* Evaluate the first alternative of key k that yields a non-empty value;
 * *out NULL when none does. */
static int
eval_key(const struct dialect *d, const struct dkeys *ks,
    const struct dkeys *base, enum dialect_key k, xmlXPathContextPtr ctx,
    xmlNodePtr root, char **out, struct spool_error *err)
{
	const struct dkeys *use = ks != NULL && ks->nalt[k] > 0 ? ks : base;
	xmlXPathObjectPtr obj;
	xmlChar *v;
	char *s, *e, *b;
	size_t a;

	*out = NULL;
	for (a = 0; use != NULL && a < use->nalt[k]; a++) {
		ctx->node = root;
		obj = xmlXPathCompiledEval(use->alt[k][a].comp, ctx);
		if (obj == NULL) {
			spool_seterr(err, "dialect %s: the expression for %s "
			    "(%s:%d) failed on this document", d->name,
			    key_names[k], d->path, use->alt[k][a].line);
			return -1;
		}
		v = xmlXPathCastToString(obj);
		xmlXPathFreeObject(obj);
		if (v == NULL) {
			spool_seterr(err, "out of memory reading %s",
			    key_names[k]);
			return -1;
		}
		/* Trim XML white space; a leading ':' (no qualifier) goes;
		 * a trailing ':' (a qualifier and no value) is empty. */
		for (b = (char *)v; msg_is_space(*b); b++)
			;
		for (e = b + strlen(b); e > b && msg_is_space(e[-1]); e--)
			;
		*e = '\0';
		if (*b == ':') {
			for (b++; msg_is_space(*b); b++)
				;
		}
		if (*b == '\0' || e[-1] == ':') {
			xmlFree(v);
			continue;
		}
		s = strdup(b);
		xmlFree(v);
		if (s == NULL) {
			spool_seterr(err, "out of memory reading %s",
			    key_names[k]);
			return -1;
		}
		*out = s;
		return 0;
	}
	return 0;
}

/* Printable (no control character), at most max bytes. */
static int
check_value(const struct dialect *d, enum dialect_key k, const char *v,
    size_t max, struct spool_error *err)
{
	const unsigned char *p;
	char q[MSG_QBUF];

	for (p = (const unsigned char *)v; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f) {
			spool_seterr(err, "%s %s \"%s\" contains a control "
			    "character", d->name, key_names[k],
			    msg_quote(q, v));
			return -1;
		}
	if (strlen(v) > max) {
		spool_seterr(err, "%s %s \"%s\" is longer than %zu characters",
		    d->name, key_names[k], msg_quote(q, v), max);
		return -1;
	}
	return 0;
}

static int
parse_num(const struct dialect *d, enum dialect_key k, const char *v,
    int64_t min, int64_t *out, struct spool_error *err)
{
	const char *p = v;
	char q[MSG_QBUF];
	int64_t n = 0;

	if (*p == '+')
		p++;
	if (*p == '\0')
		goto bad;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || n > (INT64_MAX - (*p - '0')) / 10)
			goto bad;
		n = n * 10 + (*p - '0');
	}
	if (n < min)
		goto bad;
	*out = n;
	return 0;
bad:
	spool_seterr(err, "%s %s \"%s\" is not a number from %lld to "
	    "2^63-1", d->name, key_names[k], msg_quote(q, v),
	    (long long)min);
	return -1;
}

static bool
type_ok(const char *t)
{
	size_t i;

	for (i = 0; t[i] != '\0'; i++)
		if (!((t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' &&
		    t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') ||
		    t[i] == '_' || t[i] == '-' || t[i] == '.'))
			return false;
	return i > 0;
}

int
dialect_extract(const struct dialect *d, xmlDocPtr doc, struct msg_header *h,
    char **business_tx, struct spool_error *err)
{
	return dialect_extract_order(d, d->order, doc, h, business_tx, err);
}

int
dialect_extract_order(const struct dialect *d, enum conf_order order,
    xmlDocPtr doc, struct msg_header *h, char **business_tx,
    struct spool_error *err)
{
	struct spool_error cerr;
	xmlXPathContextPtr ctx = NULL;
	const struct dkeys *ks = NULL;
	struct quiet qt;
	xmlNodePtr root;
	char *v[DK_NKEYS], q[MSG_QBUF], *t;
	size_t i, tl;
	int k, ret = -1;

	memset(h, 0, sizeof(*h));
	memset(v, 0, sizeof(v));
	if (business_tx != NULL)
		*business_tx = NULL;
	if ((root = xmlDocGetRootElement(doc)) == NULL) {
		spool_seterr(err, "the document has no root element");
		return -1;
	}
	if ((ctx = new_context(d, doc)) == NULL) {
		spool_seterr(err, "out of memory making an XPath context");
		return -1;
	}
	quiet_on(&qt);
	if (eval_key(d, NULL, &d->keys[0], DK_TYPE, ctx, root, &v[DK_TYPE],
	    err) == -1)
		goto out;
	if (v[DK_TYPE] == NULL) {
		spool_seterr(err, "dialect %s finds no message type in this "
		    "document", d->name);
		goto out;
	}
	if (!type_ok(v[DK_TYPE]) || strlen(v[DK_TYPE]) > 64) {
		spool_seterr(err, "dialect %s: message type \"%s\" is not "
		    "1..64 of A-Z a-z 0-9 . _ -", d->name,
		    msg_quote(q, v[DK_TYPE]));
		goto out;
	}
	for (i = 1; i < d->nkeys; i++)
		if (strcmp(d->keys[i].type, v[DK_TYPE]) == 0)
			ks = &d->keys[i];
	for (k = DK_SENDER; k < DK_NKEYS; k++) {
		if (eval_key(d, ks, &d->keys[0], (enum dialect_key)k, ctx,
		    root, &v[k], err) == -1)
			goto out;
		if (v[k] != NULL && check_value(d, (enum dialect_key)k, v[k],
		    k == DK_CREATED ? MSG_CREATED_MAX : MSG_ID_MAX, err) == -1)
			goto out;
	}
	if (v[DK_SENDER] == NULL) {
		spool_seterr(err, "dialect %s finds no sender in this %s",
		    d->name, v[DK_TYPE]);
		goto out;
	}
	/* Interchange: its control number, when it is one (DESIGN 16). */
	if (v[DK_CONTROL] != NULL && parse_num(d, DK_CONTROL, v[DK_CONTROL],
	    0, &h->control, &cerr) == 0)
		h->has_control = true;
	/* Ordered: transaction and sequence as DESIGN 4 wants them. */
	if (order == CONF_ORDER_SEQUENCE && v[DK_TRANSACTION] != NULL) {
		if (v[DK_SEQUENCE] == NULL) {
			spool_seterr(err, "%s: a transaction without a "
			    "sequence number", d->name);
			goto out;
		}
		if (parse_num(d, DK_SEQUENCE, v[DK_SEQUENCE], 1,
		    &h->sender_seq, err) == -1)
			goto out;
		if (v[DK_RECEIVER_SEQUENCE] != NULL && parse_num(d,
		    DK_RECEIVER_SEQUENCE, v[DK_RECEIVER_SEQUENCE], 0,
		    &h->receiver_seq, err) == -1)
			goto out;
		h->transaction_id = v[DK_TRANSACTION];
		v[DK_TRANSACTION] = NULL;
	} else if (business_tx != NULL) {
		*business_tx = v[DK_TRANSACTION];
		v[DK_TRANSACTION] = NULL;
	}
	/* The qualified type. */
	tl = strlen(d->name) + 1 + strlen(v[DK_TYPE]) + 1;
	if ((t = malloc(tl)) == NULL) {
		spool_seterr(err, "out of memory");
		goto out;
	}
	snprintf(t, tl, "%s.%s", d->name, v[DK_TYPE]);
	h->type = t;
	h->sender = v[DK_SENDER];
	v[DK_SENDER] = NULL;
	h->recipient = v[DK_RECIPIENT];
	v[DK_RECIPIENT] = NULL;
	h->message_id = v[DK_MESSAGE_ID];
	v[DK_MESSAGE_ID] = NULL;
	h->created = v[DK_CREATED];
	v[DK_CREATED] = NULL;
	ret = 0;
out:
	for (k = 0; k < DK_NKEYS; k++)
		free(v[k]);
	if (ret == -1) {
		free(h->type);
		free(h->sender);
		free(h->recipient);
		free(h->message_id);
		free(h->created);
		free(h->transaction_id);
		memset(h, 0, sizeof(*h));
	}
	quiet_off(&qt);
	xmlXPathFreeContext(ctx);
	return ret;
}

int
dialect_set_load_conf(struct dialect_set *s, const struct conf *c,
    struct spool_error *err)
{
	bool opt[16];
	size_t i, j;

	for (i = 0; c->dialect_dirs != NULL && c->dialect_dirs[i] != NULL;
	    i++) {
		if (i == sizeof(opt) / sizeof(opt[0])) {
			spool_seterr(err, "[spool] dialects: more than %zu "
			    "directories", i);
			return -1;
		}
		opt[i] = !c->dialect_dirs_set;
	}
	if (dialect_set_load(s, c->dialect_dirs, opt, err) == -1)
		return -1;
	for (i = 0; i < c->npartners; i++)
		for (j = 0; c->partners[i].dialects != NULL &&
		    c->partners[i].dialects[j] != NULL; j++)
			if (dialect_find(s, c->partners[i].dialects[j]) ==
			    NULL) {
				spool_seterr(err, "%s: [partner %s] dialects: "
				    "no dialect %s (not found in [spool] "
				    "dialects)", c->path != NULL ? c->path :
				    "spoold.conf", c->partners[i].name,
				    c->partners[i].dialects[j]);
				dialect_set_free(s);
				return -1;
			}
	return 0;
}
