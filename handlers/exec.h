/*
 * exec.h - the exec handler (DESIGN 7): an external program per message.
 *
 * The handler answers CYCLE_EXTERNAL from apply (after the orders life
 * cycle has written an order message's pending revision); its call is
 * written pending and the cycle makes the message wait. The program
 * (spoold) then makes the pending calls through exec_calls: which call
 * starts, with what stdin and environment, what its end means, and its
 * outcome to cycle_complete() are the handler's; the process itself is
 * run by the runner the program hands in (struct exec_runner; spoold's
 * is spoold/execq.c).
 */
#ifndef HANDLERS_EXEC_H
#define HANDLERS_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "error.h"
#include "schema.h"
#include "spooldir.h"
#include "store.h"

/*
 * How a program ended, told by the runner once: its wait status, whether
 * it was killed for its timeout, the end of its stderr as a reason
 * (escaped; may be empty), and `lost', NULL unless the runner could not
 * learn how it ended (one sentence; status means nothing then).
 */
typedef void (*exec_ended_fn)(void *arg, int status, bool timed_out,
    const char *tail, const char *lost);

/*
 * A process runner: spawn starts argv with envp, stdin `in' (the caller
 * keeps its descriptor), and a timeout; `who' names the call in the
 * runner's log lines; ended is called later, never from spawn. It returns
 * 0, an errno value when the program cannot be executed, or -1 when the
 * runner cannot start it now (why says why).
 */
struct exec_runner {
	int	(*spawn)(void *runner, char *const argv[],
		    char *const envp[], int in, uint64_t timeout_ms,
		    const char *who, exec_ended_fn ended, void *arg,
		    char *why, size_t whylen);
	void	*runner;
};

struct exec_calls;

/*
 * The calls of a store. conf is the daemon's configuration object: read
 * at each use, so a reload (SIGHUP) that rewrites it in place takes
 * effect for the next call (workers, command, timeout); a call already
 * running keeps what it started with. schemas points at the daemon's
 * current set (checks the outbound messages a program sends). The caller
 * keeps conf, store, sd and the runner alive longer. NULL on error.
 */
struct exec_calls *exec_calls_new(const struct conf *, struct store *,
	    struct spooldir *, struct schema_set *const *schemas,
	    const struct exec_runner *, struct spool_error *);
/* Free them. Calls in hand stay pending and are made again at the next
 * start (logged); their programs are left to run. */
void	exec_calls_free(struct exec_calls *);

/*
 * Start pending calls, oldest first, while fewer than conf->workers are
 * in hand, never two of one (partner, transaction) at once. Failures are
 * logged; a store error makes it look again a second later.
 */
void	exec_calls_start(struct exec_calls *);
/* Record again the outcomes whose recording failed, when due. */
void	exec_calls_tick(struct exec_calls *);
/* Milliseconds until exec_calls_tick() or _start() has work, -1 never. */
int64_t	exec_calls_next_timeout(struct exec_calls *);

/* exec_calls_start() asks `asked' before each call it starts; once it
 * says true, no call starts any more (as after exec_calls_stop()). */
void	exec_calls_stop_when(struct exec_calls *, bool (*asked)(void *),
	    void *arg);
/* Start no new call from now on (shutdown). */
void	exec_calls_stop(struct exec_calls *);
/* No call in hand and nothing to look again for: true after a start
 * that found nothing to start. */
bool	exec_calls_idle(const struct exec_calls *);
/* Calls completed since the last call (their messages may have released
 * successors: the program should run a cycle). */
unsigned exec_calls_take_completed(struct exec_calls *);

#endif
