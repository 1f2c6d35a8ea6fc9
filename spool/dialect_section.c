/*
 * dialect_section.c - what the keys of a dialect file's sections mean
 * (spoold.conf(5), DIALECT FILES): [dialect] (name, syntax, order,
 * after.TYPE, header, root), [namespaces] (prefix = URI), [schemas]
 * (TYPE = an XSD path) and [keys] / [keys TYPE] (up to DIALECT_ALT_MAX
 * XPath expressions per key, tried in order). dialect_file.c reads the
 * lines and hands each key here with its section and line; an error
 * goes to dialect_fail() and names that line.
 *
 * Only what one key says is checked here; what needs the whole file
 * waits for dialect_file_load(), and the expressions and XSDs are
 * compiled after that. The types of after.TYPE are qualified with the
 * dialect's name once the whole file is read (dialect_dialect_qualify_after()),
 * since the name may come after them.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "dialect.h"
#include "dialect_int.h"

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

struct dkeys *
dialect_keys_get(struct dparse *p, const char *type)
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

/*
 * Append x and y to the parallel arrays *a and *b of n entries: 0, or
 * -1 out of memory (the arrays stay valid, n entries long).
 */
static int
pair_add(char ***a, char ***b, size_t n, const char *x, const char *y)
{
	char **na, **nb, *cx, *cy;

	if ((na = reallocarray(*a, n + 1, sizeof(*na))) == NULL)
		return -1;
	*a = na;
	if ((nb = reallocarray(*b, n + 1, sizeof(*nb))) == NULL)
		return -1;
	*b = nb;
	if ((cx = strdup(x)) == NULL)
		return -1;
	if ((cy = strdup(y)) == NULL) {
		free(cx);
		return -1;
	}
	na[n] = cx;
	nb[n] = cy;
	return 0;
}

/* after.TYPE = TYPE ... in [dialect] (DESIGN 16). */
static int
after_rule(struct dparse *p, const char *type, const char *v)
{
	struct dialect *d = p->d;
	char t[80], list[1024], why[256];
	size_t i;

	if (conf_after_rule(type, v, t, sizeof(t), list, sizeof(list), why,
	    sizeof(why)) == -1)
		return dialect_fail(p, "%s", why);
	for (i = 0; i < d->nafter; i++)
		if (strcmp(d->after_types[i], t) == 0)
			return dialect_fail(p, "after.%s is given twice", t);
	if (pair_add(&d->after_types, &d->after_waits, d->nafter, t, list) ==
	    -1)
		return dialect_fail(p, "out of memory");
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
int
dialect_qualify_after(struct dparse *p)
{
	struct dialect *d = p->d;
	char *q, *out, *w;
	const char *t, *e;
	size_t i, n;

	for (i = 0; i < d->nafter; i++) {
		if ((q = qualify(d->name, d->after_types[i],
		    strlen(d->after_types[i]))) == NULL)
			return dialect_fail(p, "out of memory");
		free(d->after_types[i]);
		d->after_types[i] = q;
		n = 0;
		for (t = d->after_waits[i]; *t != '\0'; t++)
			n += *t == ' ' ? strlen(d->name) + 2 : 1;
		if ((out = malloc(n + strlen(d->name) + 2)) == NULL)
			return dialect_fail(p, "out of memory");
		out[0] = '\0';
		for (t = d->after_waits[i]; *t != '\0'; t = *e ? e + 1 : e) {
			if ((e = strchr(t, ' ')) == NULL)
				e = t + strlen(t);
			if ((w = qualify(d->name, t, (size_t)(e - t))) ==
			    NULL) {
				free(out);
				return dialect_fail(p, "out of memory");
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

/* A key of [dialect]. */
static int
dialect_key(struct dparse *p, const char *key, const char *v)
{
	struct dialect *d = p->d;
	struct droot *r;
	char *sp;
	int o;

	if (strcmp(key, "name") == 0) {
		if (p->seen_name)
			return dialect_fail(p, "name is given twice");
		p->seen_name = true;
		if (!name_ok(v))
			return dialect_fail(p, "dialect name \"%.40s\" must be "
			    "a-z, 0-9, '_' or '-', starting with a "
			    "letter, at most %d characters", v,
			    DIALECT_NAME_MAX);
		if ((d->name = strdup(v)) == NULL)
			return dialect_fail(p, "out of memory");
		return 0;
	}
	if (strcmp(key, "syntax") == 0) {
		if (p->seen_syntax)
			return dialect_fail(p, "syntax is given twice");
		p->seen_syntax = true;
		if (strcmp(v, "xml") == 0)
			d->syntax = DIALECT_XML;
		else if (strcmp(v, "edifact") == 0)
			d->syntax = DIALECT_EDIFACT;
		else if (strcmp(v, "x12") == 0)
			d->syntax = DIALECT_X12;
		else
			return dialect_fail(p, "syntax must be xml, edifact "
			    "or x12");
		return 0;
	}
	if (strcmp(key, "order") == 0) {
		if (p->seen_order)
			return dialect_fail(p, "order is given twice");
		p->seen_order = true;
		if ((o = conf_order_parse(v)) == -1)
			return dialect_fail(p, "order must be sequence, "
			    "interchange, after or none");
		d->order = (enum conf_order)o;
		d->ordered = d->order == CONF_ORDER_SEQUENCE;
		return 0;
	}
	if (strncmp(key, "after.", 6) == 0)
		return after_rule(p, key + 6, v);
	if (strcmp(key, "header") == 0) {
		if (strcmp(v, "native") != 0)
			return dialect_fail(p, "header must be native");
		d->native = true;
		return 0;
	}
	if (strcmp(key, "root") == 0) {
		if ((r = realloc(d->roots, (d->nroots + 1) *
		    sizeof(*r))) == NULL)
			return dialect_fail(p, "out of memory");
		d->roots = r;
		r = &d->roots[d->nroots];
		memset(r, 0, sizeof(*r));
		if ((sp = strchr(v, ' ')) == NULL || strchr(sp + 1,
		    ' ') != NULL || sp == v || sp[1] == '\0')
			return dialect_fail(p, "root must be NAMESPACE "
			    "LOCALNAME (\"-\" for no namespace, \"*\" "
			    "for any local name)");
		if ((r->ns = strndup(v, (size_t)(sp - v))) == NULL ||
		    (r->local = strdup(sp + 1)) == NULL) {
			d->nroots++;
			return dialect_fail(p, "out of memory");
		}
		d->nroots++;
		if (strcmp(r->ns, "-") == 0) {
			free(r->ns);
			r->ns = NULL;
		}
		return 0;
	}
	return dialect_fail(p, "unknown key \"%.40s\" in [dialect]", key);
}

/* prefix = URI in [namespaces]. */
static int
namespace_key(struct dparse *p, const char *key, const char *v)
{
	struct dialect *d = p->d;
	size_t k;

	for (k = 0; k < d->nns; k++)
		if (strcmp(d->ns_prefix[k], key) == 0)
			return dialect_fail(p, "prefix %.40s is declared twice",
			    key);
	if (pair_add(&d->ns_prefix, &d->ns_uri, d->nns, key, v) == -1)
		return dialect_fail(p, "out of memory");
	d->nns++;
	return 0;
}

/* TYPE = XSD in [schemas]. */
static int
schema_key(struct dparse *p, const char *key, const char *v)
{
	struct dialect *d = p->d;
	size_t k;
	int *nl;

	for (k = 0; k < d->nxsd; k++)
		if (strcmp(d->xsd_type[k], key) == 0)
			return dialect_fail(p, "type %.40s has two schemas",
			    key);
	if (!type_name_ok(key))
		return dialect_fail(p, "[schemas]: \"%.40s\" is not a type "
		    "name", key);
	if ((nl = reallocarray(d->xsd_line, d->nxsd + 1,
	    sizeof(*nl))) == NULL)
		return dialect_fail(p, "out of memory");
	d->xsd_line = nl;
	if (pair_add(&d->xsd_type, &d->xsd_path, d->nxsd, key, v) == -1)
		return dialect_fail(p, "out of memory");
	nl[d->nxsd++] = p->line;
	return 0;
}

/* An expression of [keys] or [keys TYPE]. */
static int
expr_key(struct dparse *p, const char *key, const char *v)
{
	size_t k;
	struct dkeys *ks;
	struct dexpr *e;

	for (k = 0; k < DK_NKEYS; k++)
		if (strcmp(dialect_key_names[k], key) == 0)
			break;
	if (k == DK_NKEYS)
		return dialect_fail(p, "unknown key \"%.40s\" in [%s] (type, "
		    "sender, recipient, transaction, sequence, "
		    "receiver_sequence, message_id, created, control)",
		    key,
		    p->section);
	ks = dialect_keys_get(p, p->section[4] == ' ' ? p->section + 5 :
	    NULL);
	if (ks == NULL)
		return dialect_fail(p, "out of memory");
	if (ks->nalt[k] == DIALECT_ALT_MAX)
		return dialect_fail(p, "more than %d alternatives for %s",
		    DIALECT_ALT_MAX, key);
	e = &ks->alt[k][ks->nalt[k]++];
	e->line = p->line;
	if ((e->src = strdup(v)) == NULL)
		return dialect_fail(p, "out of memory");
	return 0;
}

int
dialect_section_key(struct dparse *p, const char *key, const char *v)
{
	if (strcmp(p->section, "dialect") == 0)
		return dialect_key(p, key, v);
	if (strcmp(p->section, "namespaces") == 0)
		return namespace_key(p, key, v);
	if (strcmp(p->section, "schemas") == 0)
		return schema_key(p, key, v);
	if (strcmp(p->section, "keys") == 0 ||
	    strncmp(p->section, "keys ", 5) == 0)
		return expr_key(p, key, v);
	return dialect_fail(p, "key \"%.40s\" outside of a known section",
	    key);
}
