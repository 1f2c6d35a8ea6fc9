/*
 * autohold.h - release, after a reload, what spoold held for a cause
 * that is fixed now (autohold.c).
 */
#ifndef SPOOLD_AUTOHOLD_H
#define SPOOLD_AUTOHOLD_H

#include "cycle.h"

/* How many messages went on, or -1 (err). */
int	autohold_release_fixed(struct cycle_ctx *, struct spool_error *);

#endif
