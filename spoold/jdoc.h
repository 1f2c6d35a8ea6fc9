/*
 * jdoc.h - spoolctl's --json documents, built with jansson.
 *
 * A command adds values in document order (open an object, a key, a
 * value, ...), as it walks its query results; jdoc keeps the tree and
 * jd_end() serialises it with jansson on one line. Strings are made
 * valid UTF-8 first (bytes that are not become U+FFFD), so the document
 * is always valid JSON. Errors (nesting, memory) are sticky: jd_end()
 * reports them. The field names are view*.c's, stable for scripts, and
 * the HTTP API sends the same documents (jd_take()).
 */
#ifndef SPOOLD_JDOC_H
#define SPOOLD_JDOC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#define JDOC_MAXDEPTH	16

struct jdoc {
	FILE	*fp;
	json_t	*root;		/* the document, owned here */
	json_t	*stack[JDOC_MAXDEPTH];	/* open containers (borrowed) */
	int	 depth;
	char	*key;		/* a key waiting for its value, or NULL */
	bool	 failed;	/* nesting or memory went wrong */
};

void	jd_init(struct jdoc *, FILE *);
void	jd_object(struct jdoc *);	/* { */
void	jd_object_end(struct jdoc *);	/* } */
void	jd_array(struct jdoc *);	/* [ */
void	jd_array_end(struct jdoc *);	/* ] */
void	jd_key(struct jdoc *, const char *);
void	jd_str(struct jdoc *, const char *);	/* NULL adds null */
void	jd_int(struct jdoc *, int64_t);
void	jd_bool(struct jdoc *, bool);
void	jd_null(struct jdoc *);

/* key: value in one call. */
void	jd_kstr(struct jdoc *, const char *, const char *);
void	jd_kint(struct jdoc *, const char *, int64_t);
void	jd_kbool(struct jdoc *, const char *, bool);
void	jd_knull(struct jdoc *, const char *);

/* Write the document and a newline, free the tree; 0, or -1 if anything
 * failed (then nothing is written). */
int	jd_end(struct jdoc *);
/* The whole document, taken (the caller decrefs it), or NULL if anything
 * failed; the jdoc is freed either way (the HTTP API sends it). */
json_t	*jd_take(struct jdoc *);
/* Free the tree without writing it (a command that failed). */
void	jd_free(struct jdoc *);

#endif
