/*
 * json.c - a small JSON writer (see json.h).
 *
 * Invariant: at each nesting level, first[depth] is true until the first
 * value or key of that level is written; a value after json_key() takes
 * no comma. Deeper nesting than JSON_MAXDEPTH, or a close without an
 * open, is a bug in the caller: the document is marked failed and
 * json_end() says so; first[] is never overrun.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "json.h"

void
json_init(struct json *j, FILE *fp)
{
	memset(j, 0, sizeof(*j));
	j->fp = fp;
	j->first[0] = true;
}

/* Before a value or key: the comma, unless first or after a key. */
static void
sep(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (!j->first[j->depth])
		fputc(',', j->fp);
	j->first[j->depth] = false;
}

static void
open_(struct json *j, int c)
{
	sep(j);
	fputc(c, j->fp);
	if (j->depth + 1 >= JSON_MAXDEPTH) {
		j->failed = true;
		return;
	}
	j->depth++;
	j->first[j->depth] = true;
}

static void
close_(struct json *j, int c)
{
	if (j->depth > 0)
		j->depth--;
	else
		j->failed = true;
	fputc(c, j->fp);
}

void
json_object(struct json *j)
{
	open_(j, '{');
}

void
json_object_end(struct json *j)
{
	close_(j, '}');
}

void
json_array(struct json *j)
{
	open_(j, '[');
}

void
json_array_end(struct json *j)
{
	close_(j, ']');
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

static void
str(struct json *j, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	fputc('"', j->fp);
	while (*p != '\0') {
		switch (*p) {
		case '"':
			fputs("\\\"", j->fp);
			break;
		case '\\':
			fputs("\\\\", j->fp);
			break;
		case '\n':
			fputs("\\n", j->fp);
			break;
		case '\r':
			fputs("\\r", j->fp);
			break;
		case '\t':
			fputs("\\t", j->fp);
			break;
		default:
			if (*p < 0x20) {
				fprintf(j->fp, "\\u%04x", *p);
				break;
			}
			if ((n = utf8_len(p)) == 0) {
				fputs("\\ufffd", j->fp);
				break;
			}
			fwrite(p, 1, n, j->fp);
			p += n;
			continue;
		}
		p++;
	}
	fputc('"', j->fp);
}

void
json_key(struct json *j, const char *k)
{
	sep(j);
	str(j, k);
	fputc(':', j->fp);
	j->after_key = true;
}

void
json_str(struct json *j, const char *s)
{
	if (s == NULL) {
		json_null(j);
		return;
	}
	sep(j);
	str(j, s);
}

void
json_int(struct json *j, int64_t v)
{
	sep(j);
	fprintf(j->fp, "%" PRId64, v);
}

void
json_bool(struct json *j, bool v)
{
	sep(j);
	fputs(v ? "true" : "false", j->fp);
}

void
json_null(struct json *j)
{
	sep(j);
	fputs("null", j->fp);
}

void
json_kstr(struct json *j, const char *k, const char *v)
{
	json_key(j, k);
	json_str(j, v);
}

void
json_kint(struct json *j, const char *k, int64_t v)
{
	json_key(j, k);
	json_int(j, v);
}

void
json_kbool(struct json *j, const char *k, bool v)
{
	json_key(j, k);
	json_bool(j, v);
}

void
json_knull(struct json *j, const char *k)
{
	json_key(j, k);
	json_null(j);
}

int
json_end(struct json *j)
{
	fputc('\n', j->fp);
	if (j->failed || j->depth != 0 || fflush(j->fp) == EOF ||
	    ferror(j->fp))
		return -1;
	return 0;
}
