/*
 * dialect_int.h - what the parts of the dialect module share; private to
 * spool/dialect*.c.
 *
 * dialect_file.c reads one dialect file into a struct dialect (the
 * meaning of each section's keys in dialect_section.c),
 * dialect_xpath.c compiles its expressions and makes the XPath contexts
 * they run in, dialect_set.c loads the directories into a set (and the
 * built-in native dialect), dialect.c recognises a document's dialect
 * and extracts its keys. A struct dialect is built by one load and only
 * read afterwards, from any thread.
 */
#ifndef SPOOL_DIALECT_INT_H
#define SPOOL_DIALECT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "conf.h"
#include "dialect.h"
#include "error.h"

#define DIALECT_ALT_MAX		8	/* alternatives per key */

/* "type", "sender", ...: the names of the keys in a file and in errors. */
extern const char *const dialect_key_names[DK_NKEYS];

struct dialect_fast;

struct dexpr {
	char			*src;
	int			 line;
	xmlXPathCompExprPtr	 comp;
	struct dialect_fast	*fast;	/* NULL: libxml2 evaluates it */
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
	char			**edi_tags;	/* EDI: the segments whose
						   values the keys read
						   (NULL-terminated); NULL:
						   any, a whole tree */
	size_t			 nedi_tags;
	bool			 edi_omit;	/* the other segments may be
						   left out */
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

/* "file:line: reason" of the parse into p->err; returns -1. */
int	dialect_fail(struct dparse *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* dialect_file.c: read dir/fname (dirfd open on dir) into a dialect,
 * compiled; NULL and err "file:line: reason". */
struct dialect *dialect_file_load(int dirfd, const char *dir,
	    const char *fname, struct spool_error *);

/* dialect_section.c: key = value of the section p->section, 0 or -1;
 * the keys of [keys TYPE] (type NULL: [keys]), made when new, NULL: out
 * of memory; after.TYPE qualified once the name is known, 0 or -1. */
int	dialect_section_key(struct dparse *, const char *key, const char *v);
struct dkeys *dialect_keys_get(struct dparse *, const char *type);
int	dialect_qualify_after(struct dparse *);

/* dialect_set.c */
void	dialect_free(struct dialect *);

/* dialect_xpath.c */
/* An XPath context on doc with d's namespaces and no error printing;
 * NULL: out of memory. */
xmlXPathContextPtr dialect_xpath_context(const struct dialect *,
	    xmlDocPtr doc);
/* Compile every expression of p->d and try each once on an empty
 * document: 0, or -1 with the expression's file:line. */
int	dialect_xpath_compile(struct dparse *);

/* dialect_fast.c: the simple expressions, evaluated by a walk. */
/* A growing string: p NUL-terminated, len bytes, cap allocated. */
struct dialect_fbuf {
	char	*p;
	size_t	 len, cap;
};
void	dialect_fbuf_free(struct dialect_fbuf *);
/* src compiled for d's namespaces; NULL: not one of the shapes of
 * dialect_fast.c (or out of memory), libxml2's to evaluate. */
struct dialect_fast *dialect_fast_compile(const struct dialect *,
	    const char *src);
void	dialect_fast_free(struct dialect_fast *);
/* The segment tags f reads the values of, added to the NULL-terminated
 * *tags (*ntags of them; realloc'd): 1, and *omit cleared unless the
 * other segments may be left out; 0: f may read any segment's (or what
 * holds segments), the tree must be whole; -1: out of memory. */
int	dialect_fast_tags(const struct dialect_fast *, char ***tags,
	    size_t *ntags, bool *omit);
/* f's string value on doc, ctx the context node, into out (scratch for
 * comparisons): 1; 0: this document is libxml2's to read (nothing in
 * out); -1: out of memory. */
int	dialect_fast_eval(const struct dialect_fast *, xmlDocPtr doc,
	    xmlNodePtr ctx, struct dialect_fbuf *out,
	    struct dialect_fbuf *scratch);

#endif
