/*
 * archive.h - archive_command before retention removes a file
 * (archive.c, DESIGN 18).
 */
#ifndef SPOOLD_ARCHIVE_H
#define SPOOLD_ARCHIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "error.h"
#include "spooldir.h"
#include "store.h"

/*
 * Archive the files of state st (done, rejected, failed) last updated
 * before `before' that are not archived yet: one call of archive_command
 * each, the outcome recorded. *more is set when some are left for the
 * next look. 0, or -1 when the store failed (err).
 */
int	archive_look(const struct conf *, struct store *, struct spooldir *,
	    int st, int64_t before, bool *more, struct spool_error *);

#endif
