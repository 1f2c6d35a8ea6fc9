/*
 * message.h - parse one partner message and check its native header.
 *
 * msg_parse() turns the bytes of one file (or bundle entry) into a libxml2
 * document without ever touching the network, the file system or an
 * entity declaration (a DOCTYPE is refused), and extracts the header of
 * DESIGN 4. The caller owns the struct msg it passed in and releases what
 * msg_parse() put there with msg_free(); on error nothing needs freeing.
 */
#ifndef SPOOL_MESSAGE_H
#define SPOOL_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "error.h"
#include "msglimits.h"

/* MessageId, TransactionId, Sender, Recipient: 1..MSG_ID_MAX characters. */
#define MSG_ID_MAX	128
#define MSG_CREATED_MAX	64	/* Created: a timestamp, not free text */

struct msg_header {
	char	*type;		/* local name of the root element */
	char	*message_id;	/* NULL if absent or empty */
	char	*sender;	/* required */
	char	*recipient;	/* NULL if absent */
	char	*transaction_id; /* NULL if absent or empty: no transaction */
	int64_t	 sender_seq;	/* 1..INT64_MAX with a transaction, 0 without */
	int64_t	 receiver_seq;	/* >= 0 with a transaction, 0 without */
	char	*created;	/* NULL if absent or empty */
	bool	 has_control;	/* a dialect's control key gave a number */
	int64_t	 control;	/* the interchange control number */
};

struct msg {
	xmlDocPtr		 doc;	/* owned; for validation, handlers */
	void			(*doc_free)(xmlDocPtr);	/* how msg_free()
					   frees doc; NULL: xmlFreeDoc */
	struct msg_header	 hdr;	/* strings owned (malloc'd copies) */
};

/*
 * Parse len bytes (not NUL-terminated) as one message. Returns 0, or -1
 * with err set to one sentence a partner's EDI team understands and
 * err->line to the offending line when known (0 otherwise). On error *out
 * is zeroed and nothing needs freeing. Safe to call from several threads
 * at once once the program has called xmlInitParser(). A NUL character
 * is refused; after the root element only white space, comments and
 * processing instructions may follow.
 */
int	msg_parse(const char *buf, size_t len, struct msg *out,
	    struct spool_error *err);

/*
 * msg_parse() with the bounds of lim on what libxml2 is given: attributes
 * per start tag, element depth, name and text lengths, namespaces in
 * scope, checked by a linear pre-scan before libxml2 parses anything
 * (libxml2 2.9.14 checks attributes for duplicates in quadratic time). A
 * breach is an error that names the bound ("element Line has more than
 * 64 attributes (max_attributes, line 3)"). lim NULL means no bounds but
 * libxml2's own: for what we wrote or accepted ourselves. For partner
 * input, pass the [processing] bounds of spoold.conf(5).
 */
int	msg_parse_limits(const char *buf, size_t len,
	    const struct msg_limits *lim, struct msg *out,
	    struct spool_error *err);

/*
 * msg_parse_limits() with the native header read only when native is
 * true; else out->doc alone is set (out->hdr zeroed), for a dialect
 * (dialect.c) to read. msg_read_native() reads the native header of a
 * document parsed so.
 */
int	msg_parse_doc(const char *buf, size_t len,
	    const struct msg_limits *lim, bool native, struct msg *out,
	    struct spool_error *err);
int	msg_read_native(struct msg *m, struct spool_error *err);

/* Free what msg_parse() stored in *m and zero it; NULL and zeroed are ok. */
void	msg_free(struct msg *m);

#endif
