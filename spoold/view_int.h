/*
 * view_int.h - what view.c (a message's JSON) lends view_tx.c (a
 * transaction's, which shows each message with its attempts).
 */
#ifndef SPOOLD_VIEW_INT_H
#define SPOOLD_VIEW_INT_H

#include <stdint.h>

#include "error.h"
#include "jdoc.h"
#include "store.h"

/* "attempt_log": [...] of one message, into the open object. 0 or -1. */
int	jv_attempts(struct jdoc *, struct store *, int64_t id,
	    struct spool_error *);

#endif
