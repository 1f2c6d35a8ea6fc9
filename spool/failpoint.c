/*
 * failpoint.c - named crash points for the crash tests.
 *
 * SPOOLD_FAILPOINT is NAME[@N][:TERM]: at the Nth pass through the point
 * NAME (the first when @N is left out) the process sends itself SIGKILL,
 * as a power cut would, or with :TERM a SIGTERM, as an admin would at
 * exactly that moment. The environment is read once; an unset
 * SPOOLD_FAILPOINT costs one pointer comparison per call.
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "failpoint.h"

static struct {
	int		 read;
	char		 name[64];
	unsigned long	 at;		/* fire at this pass */
	unsigned long	 seen;
	int		 sig;
} fp;

static void
failpoint_env(void)
{
	const char *e, *p;
	char *end;
	size_t n;

	fp.read = 1;
	if ((e = getenv("SPOOLD_FAILPOINT")) == NULL)
		return;
	n = strcspn(e, "@:");
	if (n == 0 || n >= sizeof(fp.name))
		return;
	memcpy(fp.name, e, n);
	fp.name[n] = '\0';
	fp.at = 1;
	fp.sig = SIGKILL;
	p = e + n;
	if (*p == '@') {
		fp.at = strtoul(p + 1, &end, 10);
		if (end == p + 1 || fp.at == 0) {
			fp.name[0] = '\0';
			return;
		}
		p = end;
	}
	if (strcmp(p, ":TERM") == 0)
		fp.sig = SIGTERM;
	else if (*p != '\0')
		fp.name[0] = '\0';	/* not understood: never fires */
}

void
failpoint(const char *name)
{
	if (!fp.read)
		failpoint_env();
	if (fp.name[0] == '\0' || strcmp(fp.name, name) != 0)
		return;
	if (++fp.seen == fp.at)
		kill(getpid(), fp.sig);
}
