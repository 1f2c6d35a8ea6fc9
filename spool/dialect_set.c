/*
 * dialect_set.c - the set of dialects (DESIGN 15): every *.dialect file
 * of a list of directories, read in name order, a later file of the
 * same name replacing an earlier one; the native dialect built in when
 * no native.dialect was found; the directories of spoold.conf's [spool]
 * dialects, checked against the dialects each [partner] names; and the
 * look-up of a dialect by name.
 *
 * A set owns its dialects; dialect_set_free() releases them. A failed
 * load frees all it made and leaves an empty set.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "dialect.h"
#include "dialect_int.h"
#include "schema.h"

void
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
				dialect_fast_free(d->keys[i].alt[k][a].fast);
			}
	}
	free(d->keys);
	for (i = 0; i < d->nedi_tags; i++)
		free(d->edi_tags[i]);
	free(d->edi_tags);
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
		if ((d = dialect_file_load(dfd, dir, names[i], err)) == NULL)
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
