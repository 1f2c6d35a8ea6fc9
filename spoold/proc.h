/*
 * proc.h - running a program: spawn it, signal its process group, keep
 * the tail of its stderr and make a reason of it. Nothing here knows
 * what the program is for (execq.c, the runner, uses it).
 */
#ifndef SPOOLD_PROC_H
#define SPOOLD_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PROC_TAIL_MAX	4096		/* bytes of stderr kept */

/* The last PROC_TAIL_MAX bytes a program wrote to stderr. */
struct proc_tail {
	char		 tail[PROC_TAIL_MAX];
	size_t		 len;
	bool		 cut;		/* bytes were dropped before tail */
};

/* Keep fd clear of 0, 1 and 2, which the child's dup2s overwrite. 0,
 * -1 (errno). */
int	proc_above_stdio(int *fd);

/*
 * posix_spawnp: stdin `in', stdout /dev/null, stderr `err', a process
 * group of its own, no signal blocked, SIGPIPE and the daemon's signals
 * at their defaults. 0 or an errno value (from the exec too).
 */
int	proc_spawn(pid_t *pid, char *const argv[], char *const envp[],
	    int in, int err);

/* Signal the program's process group (or the program, if it left it). */
void	proc_signal_group(pid_t pid, int sig);

/* Append n bytes the program wrote to stderr, keeping the last ones. */
void	proc_tail_keep(struct proc_tail *, const char *b, size_t n);

/*
 * The reason from stderr's tail: its last lines, each trimmed, blank ones
 * left out, joined by " | ", control bytes escaped, at most `most' bytes
 * (the end of a longer last line, after "..."). Empty if nothing.
 */
void	proc_tail_reason(const struct proc_tail *, size_t most, char *out,
	    size_t len);

#endif
