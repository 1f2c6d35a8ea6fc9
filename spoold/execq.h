/*
 * execq.h - the exec handler's runner (DESIGN 7): makes the pending
 * calls the cycle records, as child processes watched by the daemon's
 * epoll loop.
 *
 * The event loop (loop.c) owns the epoll instance; the runner registers
 * its own file descriptors in it (a signalfd for SIGCHLD, which it
 * blocks, and the stderr pipes) with tags that have LOOP_EXECQ set, and
 * the daemon hands every such event back to execq_event().
 */
#ifndef SPOOLD_EXECQ_H
#define SPOOLD_EXECQ_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "loop.h"
#include "error.h"
#include "schema.h"
#include "spooldir.h"
#include "store.h"

struct execq;

/*
 * conf is the daemon's configuration object: read at each use, so a
 * reload (SIGHUP) that rewrites it in place takes effect for the next
 * call (workers, command, timeout); a call already running keeps what it
 * started with. The caller keeps conf, store and sd alive longer than
 * the runner. NULL on error (err says why).
 */
struct execq	*execq_new(const struct conf *, struct store *,
		    struct spooldir *, struct schema_set *const *schemas,
		    struct loop *, struct spool_error *);
/* Free the runner. Programs still running are left to run: their calls
 * stay pending and are made again at the next start. */
void		 execq_free(struct execq *);

/*
 * Start pending calls, oldest first, while fewer than conf->workers are
 * in hand, never two of one (partner, transaction) at once. Failures are
 * logged; a store error makes the runner look again a second later.
 */
void		 execq_start(struct execq *);
/* An event of the loop whose tag has LOOP_EXECQ. */
void		 execq_event(struct execq *, uint64_t data, uint32_t events);
/* Act on deadlines that have passed: timeouts, kills, store retries. */
void		 execq_tick(struct execq *);
/* Milliseconds until execq_tick() has work, or -1 if never. */
int64_t		 execq_next_timeout(struct execq *);

/*
 * execq_start() asks `asked' before each call it starts; once it says
 * true, no call starts any more (as after execq_stop()).
 */
void		 execq_stop_when(struct execq *, bool (*asked)(void *),
		    void *arg);
/* Start no new call from now on (shutdown). */
void		 execq_stop(struct execq *);
/* Programs running now. */
unsigned	 execq_running(const struct execq *);
/* No call in hand and nothing to look again for: true after a start
 * that found nothing to start. */
bool		 execq_idle(const struct execq *);
/* Calls completed since the last call (their messages may have released
 * successors: the daemon should run a cycle). */
unsigned	 execq_take_completed(struct execq *);

#endif
