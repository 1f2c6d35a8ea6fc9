/*
 * reconcile.h - compare the store with the state directories, and put
 * misplaced files where the store says (DESIGN 3).
 */
#ifndef SPOOL_RECONCILE_H
#define SPOOL_RECONCILE_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "spooldir.h"
#include "store.h"

enum reconcile_kind {
	RECONCILE_FILE_WITHOUT_ROW,	/* a file the store does not know */
	RECONCILE_WRONG_DIR,		/* file in another state's directory */
	RECONCILE_ROW_WITHOUT_FILE	/* a row whose file is nowhere */
};

/* One disagreement, as handed to the report function; its strings live
 * until the function returns. */
struct reconcile_finding {
	enum reconcile_kind	 kind;
	int64_t			 id;	/* store ID; 0: the name has none */
	int			 found;	/* directory (enum spool_state) the
					 * file lies in, -1: none */
	int			 expected;	/* state the store names,
						 * -1: no row */
	const char		*file_name;
	bool			 batch;		/* id is a batch's,
						 * file_name its bundle's */
	bool			 repaired;	/* moved where the store says */
	const char		*error;		/* why a repair failed, or
						 * NULL */
};

struct reconcile_stats {
	int64_t		 files;		/* files looked at */
	int64_t		 rows;		/* rows looked at */
	int64_t		 findings;	/* disagreements reported */
	int64_t		 repaired;	/* of which repaired */
};

/* kind as a stable snake_case word: file_without_row, wrong_directory,
 * row_without_file. */
const char *reconcile_kind_name(enum reconcile_kind);

/*
 * Look at every file in queue/ parked/ deferred/ failed/ rejected/ and
 * (with include_done) done/, ignoring dot-files and *.reason sidecars,
 * and at every row of a state whose directory is looked at; call report
 * once per disagreement. A file's store ID is the last comma-separated
 * field of its name before the extension (spooldir_name(),
 * spooldir_rejected_name()).
 *
 * With repair, a file in the wrong state directory is moved to the one
 * its row names (with its .reason sidecar when it goes to failed/ or
 * rejected/), and the directories are fsynced. Nothing is ever deleted: a
 * file without a row is left where it is, a row without a file stays.
 *
 * What looks wrong is looked at twice, a moment apart, so that a message
 * spoold is just moving (it commits, then renames) is not reported.
 *
 * Returns the number of disagreements that remain (not repaired), or -1
 * on an error (err says which); stats, if not NULL, gets the counts.
 */
int	reconcile_run(struct spooldir *, struct store *, bool repair,
	    bool include_done,
	    void (*report)(void *arg, const struct reconcile_finding *),
	    void *arg, struct reconcile_stats *, struct spool_error *);

/* The reason of a message whose upload vanished before spoold had its
 * own copy of the bytes. */
#define RECONCILE_LOST_REASON	"the upload was removed before spoold " \
	"had its copy"

/*
 * Message id has no file anywhere and none can be restored: when it is
 * still to be processed (queue, parked, deferred), make it failed with
 * RECONCILE_LOST_REASON in its own transaction and write its .reason
 * sidecar in failed/ (no retries: its bytes are gone). Such a row is
 * not reported by reconcile_run() again. 1 settled, 0 nothing to do
 * (another state, or no row), -1 error.
 */
int	reconcile_settle_lost(struct spooldir *, struct store *, int64_t id,
	    struct spool_error *);

/* The store ID in a state-directory file name: 1 and *id, or 0. */
int	reconcile_name_id(const char *name, int64_t *id);

#endif
