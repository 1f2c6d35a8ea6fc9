/*
 * pulse.c - the loop's state, handed to the HTTP thread (see pulse.h).
 *
 * A plain mutex around a struct copy: the loop publishes once per turn
 * (a few hundred bytes), readers copy out. Nothing else is shared
 * between the two threads through this module.
 */
#include "config.h"

#include <string.h>

#include "pulse.h"

const double pulse_bucket_le[PULSE_NBUCKETS] = {
	0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};

void
pulse_init(struct pulse *p)
{
	memset(&p->s, 0, sizeof(p->s));
	(void)pthread_mutex_init(&p->mu, NULL);
}

void
pulse_destroy(struct pulse *p)
{
	(void)pthread_mutex_destroy(&p->mu);
}

void
pulse_publish(struct pulse *p, const struct pulse_state *s)
{
	(void)pthread_mutex_lock(&p->mu);
	memcpy(&p->s, s, sizeof(*s));
	(void)pthread_mutex_unlock(&p->mu);
}

void
pulse_read(struct pulse *p, struct pulse_state *s)
{
	(void)pthread_mutex_lock(&p->mu);
	memcpy(s, &p->s, sizeof(*s));
	(void)pthread_mutex_unlock(&p->mu);
}

void
pulse_observe(struct pulse_hist *h, double seconds)
{
	size_t i;

	for (i = 0; i < PULSE_NBUCKETS; i++)
		if (seconds <= pulse_bucket_le[i])
			break;
	h->count[i]++;
	h->n++;
	h->sum += seconds;
}
