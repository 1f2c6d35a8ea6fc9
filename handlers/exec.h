/*
 * exec.h - the exec handler (DESIGN 7): what a call of an external
 * program means, apart from running it (spoold/execq.c runs it).
 *
 * The handler answers CYCLE_EXTERNAL from apply (after the orders life
 * cycle has written an order message's pending revision); the cycle
 * records the pending call. The runner gives the program the environment
 * exec_env_build() makes, and turns how it ended into an outcome with
 * exec_judge(); cycle_complete() then calls the handler's finish
 * (handler_external, handler.h).
 */
#ifndef HANDLERS_EXEC_H
#define HANDLERS_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cycle.h"

/* One call, as the program is told of it. Strings are the caller's. */
struct exec_call {
	int64_t		 id;		/* SPOOLD_MESSAGE_ID */
	int		 attempt;	/* SPOOLD_ATTEMPT */
	const char	*partner;
	const char	*type;
	const char	*tx;		/* NULL outside transactions */
	int64_t		 seq;
	const char	*outpath;	/* SPOOLD_OUTBOUND */
	const char	*dialect;	/* SPOOLD_DIALECT; NULL: native */
	bool		 test;		/* SPOOLD_TEST=1 */
};

/* The environment of one call: environ's entries, then our own. */
struct exec_env {
	char		**v;
	size_t		 own;		/* v[own..] are ours to free */
};

/*
 * The daemon's environment, without SPOOLD_*, plus the call's SPOOLD_*
 * (MESSAGE_ID, PARTNER, TYPE, TRANSACTION_ID, SEQUENCE, ATTEMPT, FILE,
 * OUTBOUND, DIALECT, TEST). 0, or -1 when memory runs out (nothing to free then).
 * exec_env_free() frees what is ours.
 */
int	exec_env_build(struct exec_env *, const struct exec_call *);
void	exec_env_free(struct exec_env *);

/*
 * The exit-code policy: a program that ended with wait status `status'
 * (timed_out: it was killed after timeout_ms) -- exit 0 is done, 75
 * (EX_TEMPFAIL) and a timeout are temporary, anything else permanent.
 * *exit_status gets the exit code (128 + signal when killed, -1 when
 * neither); reason one sentence, from tail (the end of its stderr,
 * escaped; may be empty) when there is one. Returns the outcome.
 */
enum cycle_result exec_judge(int status, bool timed_out,
	    uint64_t timeout_ms, const char *tail, int *exit_status,
	    char *reason, size_t len);

/* A timeout as the reasons and logs say it: "30 s", or "1500 ms". */
void	exec_fmt_duration(char *buf, size_t len, uint64_t ms);

#endif
