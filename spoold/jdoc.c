/*
 * jdoc.c - spoolctl's --json documents on jansson (see jdoc.h).
 *
 * Invariant: stack[0..depth-1] are the open containers, stack[0] the
 * root; a value goes into stack[depth-1], under key when that is an
 * object. A value with nowhere to go, a close without an open, deeper
 * nesting than JDOC_MAXDEPTH or a failed allocation marks the document
 * failed, and jd_end() writes nothing: a script gets a whole document or
 * none. Nothing here touches the disk or the store.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "jdoc.h"

void
jd_init(struct jdoc *d, FILE *fp)
{
	memset(d, 0, sizeof(*d));
	d->fp = fp;
}

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates, beyond U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* A jansson string of s, each byte that is not UTF-8 as U+FFFD. */
static json_t *
utf8_string(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), o = 0, n;
	json_t *v;
	char *buf;

	if (len > (SIZE_MAX - 1) / 3 || (buf = malloc(len * 3 + 1)) == NULL)
		return NULL;
	while (*p != '\0') {
		if ((n = utf8_len(p)) == 0) {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
			continue;
		}
		memcpy(buf + o, p, n);
		o += n;
		p += n;
	}
	v = json_stringn(buf, o);
	free(buf);
	return v;
}

/* Put v (a new reference, or NULL: out of memory) where it belongs. */
static void
add(struct jdoc *d, json_t *v)
{
	json_t *top;
	int rc;

	if (v == NULL || d->failed) {
		d->failed = true;
		json_decref(v);
		goto out;
	}
	if (d->depth == 0) {
		/* Only the root goes at depth 0, once. */
		if (d->root != NULL || (!json_is_object(v) &&
		    !json_is_array(v))) {
			d->failed = true;
			json_decref(v);
		} else
			d->root = v;
		goto out;
	}
	top = d->stack[d->depth - 1];
	if (json_is_object(top)) {
		rc = d->key != NULL ? json_object_set_new(top, d->key, v) :
		    (json_decref(v), -1);
	} else
		rc = d->key == NULL ? json_array_append_new(top, v) :
		    (json_decref(v), -1);
	if (rc == -1)
		d->failed = true;
out:
	free(d->key);
	d->key = NULL;
}

static void
open_(struct jdoc *d, json_t *v)
{
	if (v == NULL || d->depth >= JDOC_MAXDEPTH) {
		json_decref(v);
		d->failed = true;
		return;
	}
	json_incref(v);		/* one for the parent, one for the stack */
	add(d, v);
	if (d->failed) {
		json_decref(v);
		return;
	}
	d->stack[d->depth++] = v;
	json_decref(v);		/* the parent (or root) holds it */
}

static void
close_(struct jdoc *d, bool object)
{
	if (d->depth == 0 || d->key != NULL ||
	    json_is_object(d->stack[d->depth - 1]) != object) {
		d->failed = true;
		return;
	}
	d->depth--;
}

void
jd_object(struct jdoc *d)
{
	open_(d, json_object());
}

void
jd_object_end(struct jdoc *d)
{
	close_(d, true);
}

void
jd_array(struct jdoc *d)
{
	open_(d, json_array());
}

void
jd_array_end(struct jdoc *d)
{
	close_(d, false);
}

void
jd_key(struct jdoc *d, const char *k)
{
	if (d->key != NULL || d->depth == 0 ||
	    !json_is_object(d->stack[d->depth - 1]) ||
	    (d->key = strdup(k)) == NULL)
		d->failed = true;
}

void
jd_str(struct jdoc *d, const char *s)
{
	add(d, s != NULL ? utf8_string(s) : json_null());
}

void
jd_int(struct jdoc *d, int64_t v)
{
	add(d, json_integer((json_int_t)v));
}

void
jd_bool(struct jdoc *d, bool v)
{
	add(d, json_boolean(v));
}

void
jd_null(struct jdoc *d)
{
	add(d, json_null());
}

void
jd_kstr(struct jdoc *d, const char *k, const char *v)
{
	jd_key(d, k);
	jd_str(d, v);
}

void
jd_kint(struct jdoc *d, const char *k, int64_t v)
{
	jd_key(d, k);
	jd_int(d, v);
}

void
jd_kbool(struct jdoc *d, const char *k, bool v)
{
	jd_key(d, k);
	jd_bool(d, v);
}

void
jd_knull(struct jdoc *d, const char *k)
{
	jd_key(d, k);
	jd_null(d);
}

int
jd_end(struct jdoc *d)
{
	int rc = -1;

	/* Compact: "," and ":" without blanks, keys in the order added. */
	if (!d->failed && d->depth == 0 && d->root != NULL &&
	    json_dumpf(d->root, d->fp, JSON_COMPACT) == 0 &&
	    fputc('\n', d->fp) != EOF && fflush(d->fp) != EOF &&
	    !ferror(d->fp))
		rc = 0;
	jd_free(d);
	return rc;
}

json_t *
jd_take(struct jdoc *d)
{
	json_t *root = NULL;

	if (!d->failed && d->depth == 0 && d->root != NULL) {
		root = d->root;
		d->root = NULL;
	}
	jd_free(d);
	return root;
}

void
jd_free(struct jdoc *d)
{
	json_decref(d->root);
	d->root = NULL;
	free(d->key);
	d->key = NULL;
	d->depth = 0;
}
