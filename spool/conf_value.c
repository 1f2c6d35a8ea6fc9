/*
 * conf_value.c - the value syntax of spoold.conf: sizes, durations,
 * booleans (shared with spoolctl's options), SHA-256s in hex, command
 * lines (an exec route's command, archive_command) and lists (items
 * separated by blanks or commas, continued on indented lines).
 *
 * Every parser takes the whole value or refuses it: digits only, no
 * sign, no blanks, overflow checked; a list item is 1..128 printable
 * ASCII characters. Nothing here keeps state: the results are malloc'd
 * and owned by the struct conf they are stored in.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "conf_int.h"

#define CONF_ITEM_MAX	128	/* one item of a list value */

void
conf_free_strv(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Digits only, no sign, no blanks; value <= max. */
int
conf_parse_digits(const char **sp, uint64_t *out)
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

	if (conf_parse_digits(&s, &v) == -1)
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

	if (conf_parse_digits(&s, &v) == -1)
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

/* A SHA-256 in hex, lowercased (a copy), or NULL if it is not one. */
char *
conf_sha256_hex(const char *v)
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

/*
 * Split an exec command line into words: blanks separate, double quotes
 * group, and inside quotes a backslash escapes '"' or '\'. No shell.
 */
char **
conf_split_words(const char *s, const char **why)
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
	conf_free_strv(v);
	return NULL;
}

/*
 * Append the items of a list value to *lp: items are separated by blanks
 * or commas; an item with blanks is written in double quotes. Each item
 * is 1..128 printable ASCII characters (blanks inside quotes). A list
 * may continue on indented lines (the reader marks them).
 *
 * list_item() reads the item at *sp into item (CONF_ITEM_MAX + 1 bytes)
 * and moves *sp past it: 1, or 0 after conf_fail().
 */
static int
list_item(struct conf_parse *p, const char *key, const char **sp, char *item)
{
	const char *s = *sp;
	bool quoted = *s == '"';
	size_t o = 0;

	for (s += quoted; *s != '\0'; s++) {
		if (quoted ? *s == '"' : (*s == ' ' || *s == '\t' || *s == ','))
			break;
		if (!quoted && *s == '"')
			return conf_fail(p, "%s: a quote inside an item", key);
		if (o == CONF_ITEM_MAX)
			return conf_fail(p, "%s: an item is longer than %d "
			    "characters", key, CONF_ITEM_MAX);
		item[o++] = *s;
	}
	if (quoted && *s++ != '"')
		return conf_fail(p, "%s: a quote is not closed", key);
	item[o] = '\0';
	*sp = s;
	return 1;
}

/* Append the items of v to *lp: 1, or 0 after conf_fail(). */
static int
list_append(struct conf_parse *p, const char *key, const char *v, char ***lp,
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
		if (!list_item(p, key, &s, item))
			return 0;
		for (o = 0; item[o] != '\0'; o++)
			if ((unsigned char)item[o] < 0x20 ||
			    (unsigned char)item[o] > 0x7e)
				return conf_fail(p, "%s: \"%s\" holds a "
				    "character that is not printable ASCII",
				    key, item);
		if (item[0] == '\0')
			return conf_fail(p, "%s: an empty item", key);
		if (dirs && item[0] != '/')
			return conf_fail(p, "%s: %s is not an absolute path",
			    key, item);
		if ((nl = realloc(l, (n + 2) * sizeof(*nl))) == NULL)
			return conf_fail(p, "out of memory");
		l = nl;
		*lp = l;
		if ((l[n] = strdup(item)) == NULL)
			return conf_fail(p, "out of memory");
		l[++n] = NULL;
	}
	return 1;
}

/* A list key set once, or continued on the lines below it; key is a
 * name that outlives the read (a literal, a table's). */
int
conf_list_key(struct conf_parse *p, const char *where, const char *key,
    bool seen, const char *v, char ***lp, bool dirs)

{
	if (seen && !(p->cont && p->last_list != NULL &&
	    strcmp(p->last_list, key) == 0))
		return conf_fail(p, "duplicate key \"%s\" in [%s] (a list "
		    "continues on indented lines)", key, where);
	p->last_list = key;
	return list_append(p, key, v, lp, dirs);
}
