/*
 * schema.h - compiled XSD schemas of the message types.
 *
 * A schema set holds one compiled schema per file DIR/<Type>.xsd; a
 * message whose type (root element's local name) is <Type> must validate
 * against it (DESIGN 4). The caller owns the set it got from
 * schema_set_load() and frees it with schema_set_free(); documents stay
 * the caller's. Loading and freeing a set are for one thread;
 * schema_validate() may be called on one set from several threads at
 * once (each validation has a libxml2 validation context to itself).
 */
#ifndef SPOOL_SCHEMA_H
#define SPOOL_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

#include "error.h"

struct schema_set;

/*
 * Compile every DIR/<Type>.xsd (regular files directly in dir; hidden
 * files and subdirectories such as include/ are not message types).
 * Returns the set, or NULL with err naming the file and libxml2's reason.
 * A directory that does not exist is an error; an empty one gives an
 * empty set. Nothing is fetched from the network: includes and imports
 * must be local files. Call from one thread while no other thread uses
 * libxml2's external entity loader (the loader is swapped for the call).
 */
struct schema_set *schema_set_load(const char *dir, struct spool_error *err);

/* Free the set and every compiled schema in it; NULL is ok. */
void	schema_set_free(struct schema_set *);

/* The number of message types with a schema. */
size_t	schema_set_count(const struct schema_set *);

/*
 * Compile the XSD at path (with its includes and imports, from files
 * only: nothing is fetched from the network) as the schema of type, in
 * *setp (made when NULL). A dialect's XSDs (DESIGN 15). 0, or -1 with
 * err naming the file, the reason and the line.
 */
int	schema_set_add(struct schema_set **setp, const char *type,
	    const char *path, struct spool_error *err);

/* Whether type has a schema. Type names are only looked up. */
bool	schema_set_has(const struct schema_set *, const char *type);

/*
 * Validate doc as a message of the given type. Returns 0 if it is valid
 * or if no schema exists for the type (require_schema is the caller's
 * business), -1 if it is invalid: err->msg then says why in one sentence
 * with the element's path and line, e.g. "Body/Line[2]/Quantity: 'abc'
 * is not a valid integer (line 17)", and err->line holds the line (0 if
 * unknown). Type names are only looked up, never used as paths.
 */
int	schema_validate(struct schema_set *, const char *type, xmlDocPtr doc,
	    struct spool_error *err);

#endif
