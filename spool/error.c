/*
 * error.c - fill a struct spool_error.
 *
 * A NULL error pointer is allowed everywhere and means "caller does not
 * care"; messages longer than the buffer are truncated, never overflowed.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "error.h"

void
spool_vseterr(struct spool_error *e, const char *fmt, va_list ap)
{
	if (e == NULL)
		return;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

void
spool_seterr(struct spool_error *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	spool_vseterr(e, fmt, ap);
	va_end(ap);
}

void
spool_vseterr_at(struct spool_error *e, const char *path, int line,
    const char *fmt, va_list ap)
{
	char msg[SPOOL_ERRLEN];

	if (e == NULL)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	spool_seterr(e, "%s:%d: %s", path, line, msg);
	e->line = line;
}

void
spool_clearerr(struct spool_error *e)
{
	if (e == NULL)
		return;
	e->msg[0] = '\0';
	e->line = 0;
}
