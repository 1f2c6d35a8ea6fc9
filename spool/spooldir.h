/*
 * spooldir.h - the spool's directory tree: layout, file names, moves.
 *
 * The store says which state a message is in; the directory a file lies
 * in says the same to an admin with ls. This module owns every rename()
 * and every directory fsync() of the spool: the others write through
 * spooldir_write_at() and sync through spooldir_sync() and
 * spooldir_fsync_fd(). (One exception, by design: a bundle's entries are
 * made durable all at once by accept_bundle.c's syncfs().)
 */
#ifndef SPOOL_SPOOLDIR_H
#define SPOOL_SPOOLDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum spool_state {
	ST_QUEUE,
	ST_PARKED,
	ST_DEFERRED,
	ST_FAILED,
	ST_REJECTED,
	ST_DONE,
	ST_HELD,	/* held by an admin or for our own mistake (hold/) */
	ST_NSTATES
};

/* Longest name spooldir_name() makes (without the NUL); below NAME_MAX
 * with room for the ".reason" suffix and a temporary prefix. */
#define SPOOLDIR_NAME_MAX	230

struct spooldir {
	char	*root;
	int	 root_fd;
	int	 incoming_fd;
	int	 outgoing_fd;
	int	 state_fd[ST_NSTATES];
	bool	 dirty[ST_NSTATES];
	bool	 incoming_dirty;
	/* Messages whose .reason sidecar could not be written (disk full):
	 * their files wait where they were; accept_settle_owed(). */
	int64_t	*owed;
	size_t	 nowed, owedcap;
};

/* A state's name in the store and in spoolctl ("held"), and the name of
 * its directory (the same, except hold/ for held). */
const char *spool_state_name(enum spool_state);
const char *spooldir_dir_name(enum spool_state);
int	spool_state_parse(const char *);	/* -1 if unknown */

/* Create the layout under root (mode 0750, incoming/ 0755); idempotent. */
int	spooldir_init(const char *root, struct spool_error *);

/* Open the directories of an existing spool. */
int	spooldir_open(struct spooldir *, const char *root,
	    struct spool_error *);
void	spooldir_close(struct spooldir *);

/*
 * The name of a message file in a state directory:
 *   <partner>,<transaction>,<seq>,<type>,<id>.xml
 * Each field is escaped (%XX for '%', ',', '/', blanks, control
 * characters, non-ASCII bytes and a leading '.'), long fields are cut at
 * a character boundary and marked with '~', and <id> (the store's ID)
 * makes the name unique. Messages outside transactions have "-" and 0.
 */
int	spooldir_name(char *buf, size_t len, const char *partner,
	    const char *transaction_id, int64_t seq, const char *type,
	    int64_t id);

/*
 * The partner part of a name for a file that has no partner (a stray
 * file in incoming/ itself; NULL or "-" as partner): '%' followed by a letter is no escape
 * spooldir_escape() makes, so no partner's name can look like it, and a
 * name never starts with '-' (an option to ls, rm, ...) or '.'.
 */
#define SPOOLDIR_NO_PARTNER	"%none"

/* The name of a rejected file: <partner>,<original name>,<id>.rejected */
int	spooldir_rejected_name(char *buf, size_t len, const char *partner,
	    const char *orig_name, int64_t id);

/* The name of an upload spoold could not read, held before acceptance:
 * <partner>,<original name>,<id>.held */
int	spooldir_held_name(char *buf, size_t len, const char *partner,
	    const char *orig_name, int64_t id);

/*
 * Put such an upload back: hold/<name> to incoming/<partner>/<orig_name>
 * (never replacing a file; when the name is taken, <orig_name>.<id>),
 * for acceptance to read again. orig_name comes from a directory entry
 * of incoming/ and must hold no '/' and not start with '.'.
 */
int	spooldir_unhold_upload(struct spooldir *, const char *name,
	    const char *partner, const char *orig_name, int64_t id,
	    struct spool_error *);

/* The name of a bundle file in done/ or rejected/, showing its batch
 * ID: <partner>,<original name>,<batch>.bundle */
int	spooldir_bundle_name(char *buf, size_t len, const char *partner,
	    const char *orig_name, int64_t batch);

/* Escape src into dst (at most max bytes of output, plus NUL). */
size_t	spooldir_escape(char *dst, size_t max, const char *src);

/*
 * Move from_name in directory from_fd into state directory `to' as
 * to_name. Never replaces an existing file. The directories touched are
 * marked for spooldir_sync(). Pass from_fd = -1 to move between state
 * directories: from_state names the source then. On failure errno is
 * rename's.
 */
int	spooldir_move(struct spooldir *, int from_fd, int from_state,
	    const char *from_name, enum spool_state to, const char *to_name,
	    struct spool_error *);

/*
 * The one way a file of spoold's own is written (state directories,
 * bundle entries, outgoing/): in directory dfd (called dir in errors),
 * into the dot file .<name>.tmp -- whatever lay there is removed first,
 * the file created anew, exclusively, without following links or
 * blocking -- then renamed to name once whole (replacing a file of that
 * name unless SPOOLDIR_W_NOREPLACE). With SPOOLDIR_W_FSYNC the file is
 * fsynced before the rename (callers that sync many at once, as a
 * bundle does with syncfs(), leave it out); mode 0640, or 0644 with
 * SPOOLDIR_W_PUBLIC. On failure no partial file stays under either name
 * and *syserr (unless NULL) gets the errno. The directory is not
 * fsynced: the caller does (spooldir_sync(), spooldir_fsync_fd()).
 */
#define SPOOLDIR_W_FSYNC	1
#define SPOOLDIR_W_NOREPLACE	2
#define SPOOLDIR_W_PUBLIC	4
int	spooldir_write_at(int dfd, const char *dir, const char *name,
	    const char *data, size_t len, int flags, int *syserr,
	    struct spool_error *);

/*
 * Write a file of spoold's own, name in state directory `st': a
 * temporary dot-file, write, fsync, rename (replacing a file of that
 * name only with replace). The directory is marked for spooldir_sync().
 */
int	spooldir_write_file(struct spooldir *, enum spool_state st,
	    const char *name, const char *data, size_t len, bool replace,
	    struct spool_error *);

/* Write <name>.reason in state directory `st' (temporary file, fsync,
 * rename); the first line of text is the reason in one sentence (any
 * control character in it written as \xNN). */
int	spooldir_write_reason(struct spooldir *, enum spool_state st,
	    const char *name, const char *text, struct spool_error *);

/* fsync every directory marked by spooldir_move(); clears the marks. */
int	spooldir_sync(struct spooldir *, struct spool_error *);

/* Note that message id's .reason sidecar is owed (see struct spooldir).
 * Out of memory: not noted (reconciliation at start-up finds it). */
void	spooldir_owe(struct spooldir *, int64_t id);

/* fsync one directory by descriptor. */
int	spooldir_fsync_fd(int fd, const char *what, struct spool_error *);

/*
 * Space on the file system of fd (the spool): *avail the bytes free for
 * an unprivileged process, *limit the min_free_space that applies: the
 * configured one, or for UINT64_MAX (not set) 1 GiB or 5% of the file
 * system, whichever is smaller. 0, or -1 with errno set.
 */
int	spooldir_space(int fd, uint64_t min_free, uint64_t *avail,
	    uint64_t *limit);

/* In the spool's root: what spoold says about its own condition (disk
 * full, below min_free_space) for spoolctl status. Written in place. */
#define SPOOLDIR_STATUS_FILE	"spoold.status"

#endif
