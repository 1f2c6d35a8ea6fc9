/*
 * execq.h - spoold's process runner: child processes watched by the
 * daemon's epoll loop, with a timeout each and the tail of their stderr.
 * It knows nothing of what a program is for: the exec handler
 * (handlers/exec.c) decides what to run and what its end means, and
 * reaches the runner through its struct exec_runner, which the daemon
 * fills with execq_spawn() and the runner.
 *
 * The event loop (loop.c) owns the epoll instance; the runner registers
 * its own file descriptors in it (a signalfd for SIGCHLD, which it
 * blocks, and the stderr pipes) with tags that have LOOP_EXECQ set, and
 * the daemon hands every such event back to execq_event().
 */
#ifndef SPOOLD_EXECQ_H
#define SPOOLD_EXECQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "loop.h"

struct execq;

/* The runner, registered in loop (kept alive longer than the runner).
 * NULL on error (err says why). */
struct execq	*execq_new(struct loop *, struct spool_error *);
/* Free the runner. Programs still running are left to run, unwatched:
 * their ends are never told. */
void		 execq_free(struct execq *);

/*
 * How a program ended: its wait status, whether it was killed for its
 * timeout, the end of its stderr as a reason (escaped; may be empty),
 * and `lost', NULL unless the runner could not learn how it ended (then
 * one sentence; status means nothing).
 */
typedef void (*execq_ended_fn)(void *arg, int status, bool timed_out,
    const char *tail, const char *lost);

/*
 * Start argv (PATH lookup, no shell) with envp, stdin `in' (the caller
 * keeps and closes its own descriptor), stdout /dev/null, stderr a pipe
 * whose tail is kept, in a process group of its own; SIGTERM to the
 * group after timeout_ms, SIGKILL KILL_GRACE later. `who' names the
 * program's purpose in the runner's log lines (copied). `ended' is
 * called once, from execq_event() or execq_tick() and never from here.
 * 0; an errno value when the program cannot be executed (from the exec
 * too); -1 when the runner cannot start it now (why says why). q is
 * a struct execq (void, so that it fits struct exec_runner).
 */
int		 execq_spawn(void *q, char *const argv[],
		    char *const envp[], int in, uint64_t timeout_ms,
		    const char *who, execq_ended_fn ended, void *arg,
		    char *why, size_t whylen);

/* An event of the loop whose tag has LOOP_EXECQ. */
void		 execq_event(struct execq *, uint64_t data, uint32_t events);
/* Act on deadlines that have passed: SIGTERM, then SIGKILL. */
void		 execq_tick(struct execq *);
/* Milliseconds until execq_tick() has work, or -1 if never. */
int64_t		 execq_next_timeout(struct execq *);
/* Programs running now. */
unsigned	 execq_running(const struct execq *);

#endif
