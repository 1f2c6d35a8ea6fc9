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

/* Where the turn of the files whose archiving failed before stands,
 * per state (and for the bundles rejected whole): the last one tried. A
 * zeroed one starts from the lowest ID. */
struct archive_cursor {
	int64_t		 failed[ST_NSTATES];
	int64_t		 failed_bundles;
};

/*
 * Archive the files of state st (done, rejected, failed) last updated
 * before `before' that are not archived yet: one call of archive_command
 * each, the outcome recorded. Files never tried come first (in ID
 * order), then those whose archiving failed before, in turn from the one
 * after cur's, so that neither starves the other. *more is set when some
 * are left for the next look. 0, or -1 when the store failed (err).
 */
int	archive_look(const struct conf *, struct store *, struct spooldir *,
	    int st, int64_t before, struct archive_cursor *cur, bool *more,
	    struct spool_error *);

#endif
