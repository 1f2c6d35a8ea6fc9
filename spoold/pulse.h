/*
 * pulse.h - what the loop thread tells the HTTP thread about itself.
 *
 * The loop (daemon.c) owns a struct pulse_state and fills it as it
 * goes; once per turn it publishes a copy with pulse_publish(). The
 * HTTP thread (http.c) takes a copy with pulse_read(). One mutex guards
 * the copy and is held for a memcpy only: never across I/O or SQL, so
 * a slow scrape can never slow the loop, nor a busy loop a scrape.
 */
#ifndef SPOOLD_PULSE_H
#define SPOOLD_PULSE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Upper bounds (seconds) of the cycle duration histogram's buckets. */
#define PULSE_NBUCKETS	12
extern const double pulse_bucket_le[PULSE_NBUCKETS];

struct pulse_hist {
	uint64_t	 count[PULSE_NBUCKETS + 1];	/* last: +Inf */
	uint64_t	 n;
	double		 sum;		/* seconds */
};

struct pulse_state {
	int64_t		 started_at;	/* ms, store_now_ms() */
	int64_t		 turned_at;	/* the loop's last turn, ms */
	int64_t		 cycle_since;	/* a cycle runs since (ms), or 0 */
	bool		 ready;		/* start-up is over */
	bool		 low_space;	/* below min_free_space */
	bool		 paused;	/* processing waits for bundles */
	bool		 store_ok;	/* the last cycle/accept committed */
	uint64_t	 avail, min_free;	/* bytes, at the last look */
	uint64_t	 accepted, processed;	/* this run */
	unsigned	 exec_running;
	struct pulse_hist cycle;	/* processing cycles' durations */
	char		 store_err[256];	/* the last store error */
};

struct pulse {
	pthread_mutex_t	 mu;
	struct pulse_state s;
};

void	pulse_init(struct pulse *);
void	pulse_destroy(struct pulse *);
void	pulse_publish(struct pulse *, const struct pulse_state *);
void	pulse_read(struct pulse *, struct pulse_state *);
/* Count one observation (seconds) in a histogram. */
void	pulse_observe(struct pulse_hist *, double seconds);

#endif
