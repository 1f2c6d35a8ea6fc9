/*
 * failpoint.h - crash on purpose at a named point, for crash tests.
 */
#ifndef SPOOL_FAILPOINT_H
#define SPOOL_FAILPOINT_H

/*
 * If the environment variable SPOOLD_FAILPOINT names this point, the
 * process kills itself with SIGKILL here, as a power cut would. Points:
 * "accept-commit" (after an acceptance batch commits, before its files
 * move) and "cycle-commit" (after a cycle commits, before its moves).
 */
void	failpoint(const char *name);

#endif
