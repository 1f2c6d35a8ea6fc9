/*
 * retry.h - the exponential backoff of DESIGN 6.
 */
#ifndef SPOOL_RETRY_H
#define SPOOL_RETRY_H

#include <stdint.h>

#include "conf.h"

/*
 * Delay before attempt `attempt'+1 after `attempt' failed attempts
 * (attempt >= 1): min(max_delay, initial_delay * multiplier^(attempt-1)),
 * spread by +-jitter: u in [0, 1) picks the point in that range (0.5 is
 * the middle, no spread). Never negative, never above max_delay * (1 +
 * jitter).
 */
uint64_t	retry_delay_ms(const struct conf *, unsigned attempt, double u);

/* A uniform number in [0, 1) for retry_delay_ms(). */
double		retry_random(void);

#endif
