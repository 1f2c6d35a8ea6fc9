/*
 * ack_read.h - acknowledgments partners send us (DESIGN 16): a CONTRL,
 * 997, 999 or TA1 read with spoold's own tokenizer into what it
 * acknowledges (the interchange's or group's control number), whether it
 * was accepted, and the verdict on each message, for matching to our
 * outbound interchanges.
 *
 * Ownership: the reports are malloc'd; ack_report_free() frees a list.
 */
#ifndef SPOOL_ACK_READ_H
#define SPOOL_ACK_READ_H

#include <stddef.h>

#include "ack.h"
#include "edi.h"
#include "error.h"

enum ack_status {
	ACKST_ACCEPTED,		/* CONTRL 7, AK5/AK9/TA1 A */
	ACKST_ERRORS,		/* accepted, errors noted: E */
	ACKST_PARTIAL,		/* AK9 P, or CONTRL 7 with a level below
				   rejected */
	ACKST_REJECTED,		/* CONTRL 4, R (M, W, X) */
	ACKST_RECEIVED		/* CONTRL 8: received, not checked */
};

struct ack_seen {			/* one acknowledged message */
	char		*ref;		/* UCM 0062, AK202 */
	char		*type;		/* UCM S009 0065, AK201 */
	char		*group;		/* UCF 0048, AK102, NULL */
	enum ack_status	 status;
	char		 code[4];	/* UCM 0085, AK502: first code */
};

struct ack_report {
	enum ack_kind	 kind;		/* CONTRL, 997, 999, TA1 */
	char		*sender_qual, *sender;	/* who sent the ack */
	char		*recipient_qual, *recipient;
	char		*ack_control;	/* its own UNB 0020 / ISA13 */
	char		*ack_ref;	/* UNH 0062 / ST02; NULL: TA1 */
	char		*control;	/* acknowledged interchange: UCI
					   0020, TA101; NULL: 997/999 */
	/* The acknowledged group: AK102, the UCF 0048 of a CONTRL
	   with one UCF. */
	char		*group;
	char		*group_id;	/* AK101 functional identifier */
	enum ack_status	 status;	/* of what it acknowledges */
	char		 code[4];	/* UCI 0085, AK905, TA105 */
	long long	 included, received, accepted;	/* AK902..904,
					   -1 when not given */
	struct ack_seen	*msgs;
	size_t		 nmsgs;
	struct ack_report	*next;
};

/*
 * Every acknowledgment in a file: 0 and *out the list (NULL when the
 * file holds no acknowledgment at all), or -1 and err set when the file
 * does not tokenize or an acknowledgment in it does not read.
 */
int	ack_read(const char *buf, size_t len, const struct edi_limits *,
	    struct ack_report **out, struct spool_error *);
/* The same, of the interchanges edi_read() read from buf. */
int	ack_read_ics(const struct edi_interchange *, const char *buf,
	    size_t len, const struct edi_limits *, struct ack_report **out,
	    struct spool_error *);
/* Message i of ic (a CONTRL, 997 or 999) alone; buf is what edi_read()
   read. */
int	ack_read_message(const struct edi_interchange *ic, size_t i,
	    const char *buf, size_t len, const struct edi_limits *,
	    struct ack_report **out, struct spool_error *);
/* The TA1 segments of an X12 interchange, one report each (0 and *out
   NULL when there are none). */
int	ack_read_ta1(const struct edi_interchange *ic, const char *buf,
	    size_t len, const struct edi_limits *, struct ack_report **out,
	    struct spool_error *);
void	ack_report_free(struct ack_report *);

#endif
