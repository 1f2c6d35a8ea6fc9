/*
 * ack.h - acknowledgments we send (DESIGN 16): EDIFACT CONTRL, X12 997,
 * 999 and TA1, written for an interchange a partner sent us, in the
 * partner's syntax version and separators, with our control numbers.
 *
 * The verdicts are spoold's own reasons (enum ack_reason); the one table
 * ack_code() maps each to the standards' codes: ISO 9735 action codes
 * (0083) and syntax error codes (0085) for CONTRL, the X12 acknowledgment
 * and syntax error codes of AK5/IK5 (717, 718), AK9 (715, 716) and the
 * TA1 note codes (I18). spoold.conf(5), section ACKNOWLEDGMENTS, prints
 * the same table.
 *
 * Ownership: ack_write() returns a malloc'd buffer the caller frees.
 * Nothing here touches a file or the store.
 */
#ifndef SPOOL_ACK_H
#define SPOOL_ACK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "edi.h"
#include "error.h"

enum ack_kind {
	ACK_NONE = 0,
	ACK_CONTRL,		/* EDIFACT CONTRL (UCI, UCF, UCM) */
	ACK_997,		/* X12 997 (AK1, AK2, AK3/AK4, AK5, AK9) */
	ACK_999,		/* X12 999 (AK1, AK2, IK3/IK4, IK5, AK9) */
	ACK_TA1			/* X12 TA1, an interchange of its own */
};

/* What spoold decided about a message, a group or the interchange. */
enum ack_reason {
	ACK_OK = 0,		/* accepted */
	ACK_DUPLICATE,		/* had before, same content: accepted */
	ACK_REUSED,		/* reference or sequence number reused
				   with different content */
	ACK_MSG_COUNT,		/* UNT/SE segment count wrong */
	ACK_MSG_REF,		/* UNT/SE reference wrong */
	ACK_MSG_TRAILER,	/* UNT/SE missing */
	ACK_MSG_TYPE,		/* a type we take nothing of from this
				   partner (no route, no agreement) */
	ACK_MSG_INVALID,	/* content refused: schema, keys, syntax */
	ACK_GROUP_COUNT,	/* UNE/GE count wrong */
	ACK_GROUP_REF,		/* UNE/GE reference wrong */
	ACK_GROUP_TRAILER,	/* UNE/GE missing */
	ACK_ENV_COUNT,		/* UNZ/IEA count wrong */
	ACK_ENV_REF,		/* UNZ/IEA reference wrong */
	ACK_ENV_TRAILER,	/* UNZ/IEA missing */
	ACK_ENV_DUPLICATE,	/* interchange control number seen before
				   with different content */
	ACK_ENV_SENDER,		/* sender not one of the partner's ids */
	ACK_ENV_RECIPIENT,	/* recipient not one of our ids */
	ACK_ENV_TEST,		/* test interchange refused */
	ACK_ENV_VERSION,	/* syntax version not supported */
	ACK_ENV_CHARSET,	/* character set not supported */
	ACK_ENV_CHARS,		/* bytes outside the declared set */
	ACK_ENV_STRUCTURE,	/* a segment out of place */
	ACK_ENV_LIMIT,		/* over the limits, or anything else */
	ACK_REASON_COUNT
};

enum ack_level {
	ACK_LVL_MESSAGE,
	ACK_LVL_GROUP,
	ACK_LVL_INTERCHANGE
};

/* One row of the table: NULL where the standard has no code to give. */
struct ack_code {
	enum ack_reason	 reason;
	const char	*key;		/* stable: for the store, logs */
	const char	*name;		/* in words (spoold.conf(5)) */
	enum ack_level	 level;
	int		 rejects;	/* 1: that level is rejected */
	const char	*contrl;	/* 0085 syntax error, coded */
	const char	*contrl_tag;	/* 0013 service segment tag */
	const char	*x12_set;	/* AK502/IK502 (718) */
	const char	*x12_group;	/* AK905 (716) */
	const char	*ta1;		/* TA105 (I18) */
};

/* The table row of a reason; NULL if out of range. */
const struct ack_code *ack_code(enum ack_reason);
/* The reason whose key is key ("msg-count", ...): 0, or -1 if none. A
   verdict kept by its key repeats itself for a duplicate interchange. */
int	ack_reason_by_key(const char *key, enum ack_reason *);
/* The reason of a message the tokenizer rejected alone (m->reason set):
   ACK_MSG_COUNT, ACK_MSG_REF or ACK_MSG_INVALID; ACK_OK if none. */
enum ack_reason	ack_message_reason(const struct edi_message *);

/* A message's verdict; the detail is optional (NULL / 0: none). */
struct ack_verdict {
	enum ack_reason	 reason;
	const char	*seg_tag;	/* AK301/IK301: segment in error */
	size_t		 seg_pos;	/* its place in the message */
	const char	*seg_code;	/* AK304/IK304 */
	unsigned	 elem_pos;	/* AK401/IK401, UCD 0098 */
	const char	*elem_code;	/* AK403/IK403 */
};

struct ack_input {
	const struct edi_interchange	*ic;	/* acknowledged */
	const struct ack_verdict	*verdicts;	/* ic->nmsgs, or NULL:
					   from ack_message_reason() */
	/* ACK_OK, or why the interchange (or group env_group) is
	   refused. */
	enum ack_reason	 envelope;
	int		 env_group;	/* the group of a group reason */
	const char	*our_qual;	/* our id in the envelope; NULL: */
	const char	*our_id;	/* the interchange's recipient */
	uint64_t	 control;	/* our UNB 0020 / ISA13 */
	uint64_t	 group;		/* our first GS06 (X12) */
	uint64_t	 message;	/* our first UNH 0062 / ST02 */
	time_t		 now;		/* the date and time */
	const char	*eol;		/* after terminators; NULL: "" */
	int		 receipt_only;	/* CONTRL: action 8, no UCM */
	int		 with_ta1;	/* 997/999: TA1 before the group */
};

/*
 * How many of our numbers an acknowledgment takes: *groups GS06s and
 * *messages UNH 0062s / ST02s (the interchange number is always one;
 * none for a 997/999 of an interchange without groups: none is written).
 */
void	ack_numbers(enum ack_kind, const struct edi_interchange *,
	    uint64_t *groups, uint64_t *messages);

/*
 * 1 when the interchange holds a message other than an acknowledgment:
 * a CONTRL, 997 or 999 is never acknowledged (ISO 9735-1 says so of
 * CONTRL; X12 translators do the same), nor is an interchange of TA1s
 * alone. TA1 at ISA14 = 1 and a refusal of the envelope still go out.
 */
int	ack_answers(const struct edi_interchange *);

/* The acknowledgment for the partner's X12 interchange when it is
 * refused whole: TA1 for an interchange reason, else kind. */
enum ack_kind	ack_kind_for(enum ack_kind, enum ack_reason envelope);

/*
 * Write the acknowledgment of kind for in->ic into *out (malloc'd,
 * *len bytes). -1 and err set when it cannot be written: a kind that
 * does not fit the syntax, an identity too long for its field, a value
 * holding a separator that no release character can escape.
 */
int	ack_write(enum ack_kind, const struct ack_input *, char **out,
	    size_t *len, struct spool_error *);

/* The separator style the partner used after its header: "\r\n", "\n"
   or "" (static strings), for ack_input.eol. */
const char	*ack_eol_of(const struct edi_interchange *, const char *buf,
		    size_t len);

#endif
