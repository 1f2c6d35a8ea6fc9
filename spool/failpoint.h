/*
 * failpoint.h - crash on purpose at a named point, for crash tests.
 */
#ifndef SPOOL_FAILPOINT_H
#define SPOOL_FAILPOINT_H

/*
 * If the environment variable SPOOLD_FAILPOINT names this point, the
 * process kills itself with SIGKILL here, as a power cut would. Points:
 * "accept-commit" (after an acceptance batch commits, before its files
 * move), "cycle-commit" (after a cycle commits, before its moves),
 * "outbound-write" (after the commit that recorded outbound messages,
 * before any is written), "ack-write" (after an acceptance batch that
 * recorded acknowledgments committed and moved its files, before the
 * acknowledgments are written), "outbound-mark" (after they are renamed
 * into outgoing/, before the store notes it) and "cycle-chunk" (before
 * each chunk of a cycle). SPOOLD_FAILPOINT=NAME@N fires at the Nth pass;
 * NAME:TERM (or NAME@N:TERM) sends SIGTERM instead of SIGKILL.
 */
void	failpoint(const char *name);

#endif
