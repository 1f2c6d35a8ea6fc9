/*
 * failpoint.c - named crash points for the crash tests.
 *
 * The environment is read once; an unset SPOOLD_FAILPOINT costs one
 * pointer comparison per call.
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "failpoint.h"

void
failpoint(const char *name)
{
	static const char *armed;
	static int read_env;

	if (!read_env) {
		armed = getenv("SPOOLD_FAILPOINT");
		read_env = 1;
	}
	if (armed != NULL && strcmp(armed, name) == 0)
		kill(getpid(), SIGKILL);
}
