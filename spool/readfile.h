/*
 * readfile.h - the one bounded whole-file reader (acceptance, the cycle,
 * exec), the check that bytes are the ones accepted, and their sealed
 * copy for a program.
 */
#ifndef SPOOL_READFILE_H
#define SPOOL_READFILE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/*
 * Read the open regular file fd whole, from offset 0, at most max bytes
 * (name is for messages only). 0: *buf (malloc'd, the caller frees it)
 * and *len hold it. 1: refused (not a regular file, larger than max or
 * grown past it while being read), a sentence in why. -1: system error
 * (err). fd stays open.
 */
int	readfile_fd(int fd, const char *name, uint64_t max, char **buf,
	    size_t *len, char *why, size_t whylen, struct spool_error *);

/*
 * Are buf[0..len) the bytes whose SHA-256 digest was recorded at
 * acceptance (sha, 32 bytes)? 0 yes; 1 no, and why says "file changed
 * after acceptance: digest <now> does not match <recorded>".
 */
int	readfile_verify(const char *buf, size_t len, const uint8_t *sha,
	    char *why, size_t whylen);

/*
 * Copy buf[0..len) into a memfd sealed against writing, shrinking and
 * growing, at offset 0 (name is for messages only): a file nobody can
 * change, to give a program as its stdin. 0 with *fdp open (close-on-
 * exec), or -1 with a sentence in why.
 */
int	readfile_sealed(const char *buf, size_t len, const char *name,
	    int *fdp, char *why, size_t whylen);

#endif
