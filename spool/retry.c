/*
 * retry.c - when to try a temporarily failed message again.
 *
 * The arithmetic is in double and clamped before converting back, so a
 * large attempt count or multiplier saturates at max_delay instead of
 * overflowing.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "retry.h"

uint64_t
retry_delay_ms(const struct conf *c, unsigned attempt, double u)
{
	double d, j;

	if (attempt < 1)
		attempt = 1;
	d = (double)c->retry_initial_ms *
	    pow(c->retry_multiplier, (double)(attempt - 1));
	if (!(d <= (double)c->retry_max_delay_ms))	/* also NaN, inf */
		d = (double)c->retry_max_delay_ms;
	j = (double)c->retry_jitter_pct / 100.0;
	if (u < 0.0)
		u = 0.0;
	if (u >= 1.0)
		u = 0.999999;
	d = d * (1.0 + j * (2.0 * u - 1.0));
	if (d < 0.0)
		d = 0.0;
	return (uint64_t)llround(d);
}

double
retry_random(void)
{
	return (double)(random() % 1000000) / 1000000.0;
}
