/*
 * outbound.h - messages spoold sends to a partner (DESIGN 8).
 *
 * outbound_emit() stamps a message (transaction ID, our next
 * SenderSequence, as ReceiverSequence the partner's last processed
 * number), checks it against its schema and records it in the caller's
 * store transaction. outbound_flush(), after COMMIT, writes every
 * recorded message not yet written to outgoing/<partner>/.
 */
#ifndef SPOOL_OUTBOUND_H
#define SPOOL_OUTBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "error.h"
#include "schema.h"
#include "spooldir.h"
#include "store.h"

struct outbound_req {
	const char	*partner;	/* the partner it goes to */
	const char	*transaction_id;	/* NULL: outside transactions */
	int64_t		 receiver_seq;	/* the partner's last processed */
	const char	*type;		/* root element: a native type name */
	const char	*sender;	/* our name in the header */
	const char	*recipient;	/* the partner's, or NULL */
	const char	*body;		/* the Body's content, as XML */
	int64_t		 cause;		/* inbound message, 0: none */
	bool		 expect_ack;	/* EDI: the partner acknowledges
					   ([partner] ack set) */
};

/*
 * Stamp, build, validate (schemas may be NULL: no check) and record one
 * outbound message inside the caller's write transaction. *id and *seq
 * get its outbound ID and SenderSequence. 0, or -1 (err says why; a
 * message that does not validate is an error, never sent).
 */
int	outbound_emit(struct store *, struct schema_set *,
	    const struct outbound_req *, int64_t *id, int64_t *seq,
	    struct spool_error *);

/*
 * The messages an external program wrote (exec, SPOOLD_OUTBOUND): buf
 * holds one or more complete XML documents one after another. Each one's
 * root element is its type and its Body is taken as it is; its Header may
 * give Sender (default def_sender) and Recipient (default the partner),
 * and everything else in it is replaced by the stamps of `r' (whose type,
 * sender, recipient and body are ignored). All are recorded, or none: on
 * error the caller rolls back. After each is recorded, fn (if not NULL)
 * is called with its type, its parsed Body and its outbound ID, and may
 * refuse it (-1, with a reason in why). *count says how many. 0 or -1.
 * EDIFACT or X12 in buf goes to outbound_emit_edi() instead.
 */
typedef int (*outbound_fn)(void *arg, struct store *, const char *type,
    xmlNodePtr body, int64_t id, char *why, size_t whylen);

int	outbound_emit_file(struct store *, struct schema_set *,
	    const struct outbound_req *r, const char *def_sender,
	    const char *buf, size_t len, outbound_fn fn, void *arg,
	    unsigned *count, struct spool_error *);

/*
 * EDIFACT or X12 outbound (outbound_edi.c): our control numbers stamped
 * into its envelopes, recorded as one outbound message, each interchange
 * awaiting the partner's acknowledgment (store_ack_expect()) when
 * r->expect_ack says the partner sends them or the interchange asks for
 * one (UNB 0031, ISA14). Inside the
 * caller's write transaction; outbound_emit_file() hands it what
 * edi_detect() recognises. 0, or -1 (err says why: the caller rolls
 * back).
 */
int	outbound_emit_edi(struct store *, const struct outbound_req *r,
	    const char *buf, size_t len, unsigned *count,
	    struct spool_error *);

/* A spooldir_name() for EDIFACT or X12: ".edi" in place of ".xml". */
void	outbound_edi_name(char *name);

/*
 * Write every outbound message the store has not marked written into
 * outgoing/<partner>/ (dot-file, fsync, rename, directory fsync), then
 * mark them written in one transaction. Outside any transaction. 0 or -1;
 * *written (may be NULL) counts the files.
 */
int	outbound_flush(struct spooldir *, struct store *, unsigned *written,
	    struct spool_error *);

/* XML-escape src into a malloc'd string; NULL when out of memory. */
char	*outbound_xml_escape(const char *src);

#endif
