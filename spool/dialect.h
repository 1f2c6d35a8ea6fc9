/*
 * dialect.h - dialects: how spoold reads one family of messages (DESIGN
 * 15): a syntax (xml, edifact, x12), a recognition rule and XPath 1.0
 * expressions for the header fields of DESIGN 4.
 *
 * dialect_set_load() reads every *.dialect file of a list of
 * directories (a later file of the same name replaces an earlier one)
 * and compiles each expression once; an error names file:line. The set
 * owns everything; dialect_set_free() releases it. A loaded set is only
 * read afterwards, from any thread.
 */
#ifndef SPOOL_DIALECT_H
#define SPOOL_DIALECT_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

#include "conf.h"
#include "error.h"
#include "message.h"

enum dialect_syntax {
	DIALECT_XML = 0,
	DIALECT_EDIFACT,
	DIALECT_X12
};

enum dialect_key {
	DK_TYPE = 0,
	DK_SENDER,
	DK_RECIPIENT,
	DK_TRANSACTION,
	DK_SEQUENCE,
	DK_RECEIVER_SEQUENCE,
	DK_MESSAGE_ID,
	DK_CREATED,
	DK_CONTROL,		/* the interchange control number */
	DK_NKEYS
};

#define DIALECT_NAME_MAX	32

struct dialect;

struct dialect_set {
	struct dialect	**d;
	size_t		  n;
};

/*
 * Load the dialects of dirs (a NULL-terminated list; a directory that
 * does not exist is skipped when its entry in optional is true). The
 * dialect native is always there: built in when no native.dialect was
 * found. 0, or -1 and err "file:line: reason".
 */
int	dialect_set_load(struct dialect_set *, char *const *dirs,
	    const bool *optional, struct spool_error *);
void	dialect_set_free(struct dialect_set *);
/* The directories of [spool] dialects (the defaults may be missing);
   every dialect a [partner] names must be found. */
int	dialect_set_load_conf(struct dialect_set *, const struct conf *,
	    struct spool_error *);

const struct dialect *dialect_find(const struct dialect_set *,
	    const char *name);
const char	*dialect_name(const struct dialect *);
enum dialect_syntax dialect_syntax(const struct dialect *);
/* Is this the native dialect (DESIGN 4's header, checked by message.c)? */
bool		 dialect_is_native(const struct dialect *);
/* Its ordering: "sequence" (native) or "none" (every other built-in). */
const char	*dialect_order(const struct dialect *);
/* Its ordering mode (DESIGN 16), and the types a qualified type waits
 * for under order = after ("T1 T2", qualified), or NULL. */
enum conf_order	 dialect_order_mode(const struct dialect *);
const char	*dialect_after(const struct dialect *, const char *qtype);
/* Does the dialect yield transactions in order (order = sequence)? */
bool		 dialect_orders(const struct dialect *);

/*
 * Which dialect of set, among those named in allowed (NULL: all), reads
 * doc (an XML document) or an EDI file of syntax syn? XML: the first
 * whose root rule matches the root element's namespace and local name,
 * else native (when allowed), which takes any other XML. NULL when none;
 * tried then lists the names tried, blank-separated.
 */
const struct dialect *dialect_recognise(const struct dialect_set *,
	    char *const *allowed, enum dialect_syntax syn, xmlDocPtr doc,
	    char *tried, size_t triedlen);

/*
 * Evaluate d's keys over doc into h (strings malloc'd; the caller frees
 * them with msg_free() or by hand). The type is qualified with the
 * dialect's name ("ubl.Invoice"). Without a transaction key, or with
 * order none, the message stands outside any transaction; h->transaction_id
 * is then NULL and *business_tx (if not NULL) gets the transaction key's
 * value for display. -1 and err: a key missing or malformed.
 */
int	dialect_extract(const struct dialect *, xmlDocPtr doc,
	    struct msg_header *h, char **business_tx, struct spool_error *);
/* The same under ordering mode order (a partner's order =): only
 * sequence puts the message in a transaction. A control key's value
 * that is a number sets h->control and h->has_control. */
int	dialect_extract_order(const struct dialect *, enum conf_order order,
	    xmlDocPtr doc, struct msg_header *h, char **business_tx,
	    struct spool_error *);
/*
 * An XPath context kept from document to document by a caller that
 * reads many in a row on one thread (the messages of an interchange):
 * making and freeing one per document (with its object cache) costs
 * more than the keys of a short message. dialect_xctx_new() gives an
 * empty one (NULL when out of memory, which dialect_extract_xctx()
 * takes as "none").
 */
struct dialect_xctx;
struct dialect_xctx *dialect_xctx_new(void);
void	dialect_xctx_free(struct dialect_xctx *);
/* dialect_extract_order() with xc's context (NULL: one of its own). */
int	dialect_extract_xctx(const struct dialect *, enum conf_order order,
	    xmlDocPtr doc, struct msg_header *h, char **business_tx,
	    struct dialect_xctx *xc, struct spool_error *);
/*
 * An EDI dialect whose keys read the values of some segments only (by
 * tag, [@tag = 'BGM']) and never the text of the others or of what holds
 * them: those tags, NULL-terminated, for a tree with the other segments
 * left bare (edi_entry_tree_tags()), which gives the same keys; *omit
 * (if not NULL) true when they may even be left out (every step that may
 * find such a segment tests its tag first). NULL: the keys need the
 * whole tree (an XML dialect, an expression dialect_fast.c does not
 * evaluate, a value that spans segments).
 */
char *const	*dialect_edi_tags(const struct dialect *, bool *omit);
/*
 * For tests and the fuzz target: every expression of d that
 * dialect_fast.c evaluates, evaluated on doc both ways (as a key is, from
 * its root element); 0 when each gives libxml2's string, -1 and why (the
 * expression, both values) when one does not, or out of memory.
 * *nfast (if not NULL): how many were compared.
 */
int	dialect_fast_selfcheck(const struct dialect *, xmlDocPtr doc,
	    size_t *nfast, char *why, size_t whylen);

/*
 * The XSDs of d's [schemas], keyed by qualified type ("ubl.Invoice"), for
 * schema_validate(); NULL: none. Validation uses their contexts: one
 * thread at a time, as acceptance is.
 */
struct schema_set;
struct schema_set *dialect_schemas(const struct dialect *);

#endif
