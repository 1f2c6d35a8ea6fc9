/*
 * error.h - the error buffer that library functions fill.
 *
 * Functions in libspool that can fail return -1 (or NULL) and write one
 * sentence into a caller-provided struct spool_error: what went wrong,
 * where (file:line, partner, transaction, sequence) and why, in words an
 * operator can act on. Library code never prints and never exits.
 */
#ifndef SPOOL_ERROR_H
#define SPOOL_ERROR_H

#include <stdarg.h>

#define SPOOL_ERRLEN 512

struct spool_error {
	char	msg[SPOOL_ERRLEN];
	int	line;		/* input line the error refers to, 0 if none */
};

void	spool_seterr(struct spool_error *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	spool_vseterr(struct spool_error *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
/* "path:line: message", and line in e->line: an error in a file read. */
void	spool_vseterr_at(struct spool_error *, const char *path, int line,
	    const char *, va_list)
	    __attribute__((format(printf, 4, 0)));
void	spool_clearerr(struct spool_error *);

#endif
