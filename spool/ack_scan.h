/*
 * ack_scan.h - the envelope of an interchange that edi_read() refused,
 * read leniently, so that the refusal can be acknowledged (DESIGN 16):
 * who sent it, its control number, its groups and messages as far as
 * they read, and which envelope fault refused it, as an enum ack_reason
 * for ack_write(). Also works on a sound file (every fault ACK_OK).
 *
 * Ownership: ack_scan() allocates the list; ack_scan_free() frees it
 * with each interchange (edi_free() of one interchange).
 */
#ifndef SPOOL_ACK_SCAN_H
#define SPOOL_ACK_SCAN_H

#include <stddef.h>

#include "ack.h"
#include "edi.h"
#include "error.h"

struct ack_scan {
	struct edi_interchange	*ic;	/* as far as it reads */
	/* The fault that refuses it (interchange before group), or
	   ACK_OK. */
	enum ack_reason		 envelope;
	int			 group;	/* of a group fault */
	struct ack_scan		*next;
};

/*
 * 0 and *out: one entry per interchange whose header reads (a message
 * whose own trailer is wrong has its reason set, as edi_read() does).
 * -1 and err: not even the first header reads (no UNB or ISA with a
 * sender and a control number): nothing can be acknowledged.
 */
int	ack_scan(const char *buf, size_t len, const struct edi_limits *,
	    struct ack_scan **out, struct spool_error *);
void	ack_scan_free(struct ack_scan *);

/*
 * Whether a file that edi_read() reads may call for acknowledgment work,
 * found without the tokenizer (a pass over its bytes, nothing
 * allocated): *asks 1 when an interchange may ask for an acknowledgment
 * (UNB 0031, ISA14), *holds 1 when the file may hold one (a UNH of type
 * CONTRL, an ST of 997 or 999, a TA1). Never 0 where edi_read() and
 * ack_read() would find one; when in doubt, 1.
 */
void	ack_due(const char *buf, size_t len, int *asks, int *holds);

#endif
