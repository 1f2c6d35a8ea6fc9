/*
 * xmlscan.h - the pre-scan of a partner's XML bytes against struct
 * msg_limits, before libxml2 parses them (xmlscan.c); for message.c.
 */
#ifndef SPOOL_XMLSCAN_H
#define SPOOL_XMLSCAN_H

#include <stddef.h>

#include "error.h"
#include "msglimits.h"

/*
 * Check len bytes of buf against lim (NUL characters only if lim is
 * NULL), in the encoding libxml2 will read them in:
 * - detected as ASCII-like (UTF-8, no BOM or a UTF-8 one): its bytes;
 *   and if it declares an encoding libxml2 switches to, also its bytes
 *   up to the declaration's closing quote followed by the rest decoded;
 * - UTF-16 or UCS-4 (by BOM or by "<?"): decoded; a declaration of
 *   another encoding is refused, since libxml2 would switch to it
 *   somewhere after the part it has already decoded;
 * - EBCDIC: decoded with the encoding it declares, which is what
 *   libxml2 reads it with from the start (none: libxml2 refuses it).
 * Returns 0 (within the bounds as far as the bytes are well-formed: the
 * rest is libxml2's to refuse) or -1 with err set (a breach, a NUL, an
 * encoding refused, out of memory). Call with libxml2's per-thread
 * error handlers silenced: the converters may report.
 */
int	xmlscan_check(const char *buf, size_t len,
	    const struct msg_limits *lim, struct spool_error *err);

/*
 * 1 if buf is UTF-16 or UCS-4 (as libxml2 detects it) and len is not a
 * whole number of its characters: libxml2 2.9.14 silently drops an
 * incomplete character at the end of such a document (its own test
 * truncated-utf16.xml). 0 otherwise.
 */
int	xmlscan_truncated_char(const char *buf, size_t len);

#endif
