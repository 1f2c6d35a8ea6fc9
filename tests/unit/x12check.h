/*
 * x12check.h - for the unit tests: an X12 acknowledgment checked
 * against the interchange it acknowledges by a reader that is not
 * spoold's, tests/unit/x12ack-check.pl (X12::Parser, Debian's
 * libx12-parser-perl). Skipped quietly where perl or X12::Parser is
 * missing, unless SPOOLD_REQUIRE_X12PARSER is set.
 */
#ifndef X12CHECK_H
#define X12CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* The independent reader: 0 ok, 77 not installed, else the failure. */
static int
x12_check(const char *orig, size_t olen, const char *ack, size_t alen,
    const char *mode)
{
	char dir[] = "/tmp/test_ack.XXXXXX", o[64], a[64], script[512];
	FILE *f;
	pid_t pid;
	int st;

	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(o, sizeof(o), "%s/orig", dir);
	snprintf(a, sizeof(a), "%s/ack", dir);
	if ((f = fopen(o, "w")) == NULL || fwrite(orig, 1, olen, f) != olen ||
	    fclose(f) != 0)
		return -1;
	if ((f = fopen(a, "w")) == NULL || fwrite(ack, 1, alen, f) != alen ||
	    fclose(f) != 0)
		return -1;
	snprintf(script, sizeof(script), "%s/tests/unit/x12ack-check.pl",
	    SRCDIR);
	if ((pid = fork()) == 0) {
		execlp("perl", "perl", script, mode, o, a, (char *)NULL);
		_exit(77);
	}
	if (pid == -1 || waitpid(pid, &st, 0) == -1)
		return -1;
	unlink(o);
	unlink(a);
	rmdir(dir);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
independent(const char *orig, size_t olen, const char *ack, size_t alen,
    const char *mode)
{
	int rc = x12_check(orig, olen, ack, alen, mode);

	if (rc == 77 && getenv("SPOOLD_REQUIRE_X12PARSER") == NULL)
		return;		/* perl or X12::Parser not installed */
	if (rc != 0)
		fail_msg("x12ack-check.pl %s failed (%d) on\n%s", mode, rc,
		    ack);
}

#endif
