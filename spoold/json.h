/*
 * json.h - a small JSON writer for spoolctl's --json output.
 *
 * Values are written as they come, on one line; the writer puts the
 * commas and quotes, escapes strings (RFC 8259; bytes that are not UTF-8
 * become U+FFFD, so the document is always valid) and tracks nesting.
 * Write errors are sticky: json_end() reports them.
 */
#ifndef SPOOLD_JSON_H
#define SPOOLD_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAXDEPTH	16

struct json {
	FILE	*fp;
	int	 depth;
	bool	 first[JSON_MAXDEPTH];	/* nothing written at this level */
	bool	 after_key;
	bool	 failed;	/* nesting went wrong */
};

void	json_init(struct json *, FILE *);
void	json_object(struct json *);	/* { */
void	json_object_end(struct json *);	/* } */
void	json_array(struct json *);	/* [ */
void	json_array_end(struct json *);	/* ] */
void	json_key(struct json *, const char *);
void	json_str(struct json *, const char *);	/* NULL writes null */
void	json_int(struct json *, int64_t);
void	json_bool(struct json *, bool);
void	json_null(struct json *);

/* key: value in one call. */
void	json_kstr(struct json *, const char *, const char *);
void	json_kint(struct json *, const char *, int64_t);
void	json_kbool(struct json *, const char *, bool);
void	json_knull(struct json *, const char *);

/* End the document with a newline; 0, or -1 if anything failed. */
int	json_end(struct json *);

#endif
