/*
 * message_int.h - what message.c and xmlscan.c share: the error helper
 * and the quoting of a partner's text in a reason; not for other modules.
 * Defined in message.c (msg_is_space here).
 */
#ifndef SPOOL_MESSAGE_INT_H
#define SPOOL_MESSAGE_INT_H

#include "error.h"

#define MSG_QUOTE_MAX	40	/* bytes of a value quoted in an error */
#define MSG_QBUF	(MSG_QUOTE_MAX * 4 + 4)	/* what msg_quote() needs */

/* Set err (if not NULL) to the formatted text and err->line to line. */
void		msg_err(struct spool_error *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/*
 * Write at most MSG_QUOTE_MAX bytes of s into buf (which holds at least
 * MSG_QBUF bytes) with control characters, non-ASCII bytes, '"' and '\'
 * escaped, and "..." appended if s was cut. Returns buf.
 */
const char	*msg_quote(char *buf, const char *s);

/* XML white space: space, tab, CR, LF. */
static inline int
msg_is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

#endif
