/*
 * schema_int.h - what schema.c (the sets: XSDs loaded and compiled)
 * and schema_validate.c (a document validated, the first error said in
 * one sentence) share; private to spool/schema*.c.
 */
#ifndef SPOOL_SCHEMA_INT_H
#define SPOOL_SCHEMA_INT_H

#include <stdatomic.h>
#include <stddef.h>

#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include "schema.h"
#include "xmlquiet.h"

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

/* Copy src into dst (size >= 8) as one line of printable ASCII. */
void	schema_copy(char *dst, size_t size, const char *src);
/* Drop trailing blanks and one trailing full stop. */
void	schema_rtrim(char *);
/* Append to the NUL-terminated string in buf; output is cut to fit. */
void	schema_cat(char *buf, size_t size, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* libxml2's structured error handler: keeps the first error in ctx, a
 * struct schema_xerr. */
void	schema_xerr_cb(void *ctx, xmlquiet_errptr);
/* The entry of type, or NULL. */
struct schema_entry *schema_find(const struct schema_set *,
	    const char *type);

#endif
