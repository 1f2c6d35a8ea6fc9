/*
 * ctl.h - what spoolctl's modules share: the one state object of a run
 * (struct ctl), the helpers that print, format and fail in the same way
 * for every command, and the commands themselves.
 *
 * spoolctl.c has main(), the helpers and the command table;
 * ctl_status.c the overviews (status, list, batch, batches); ctl_show.c one
 * message or one transaction (show); ctl_lever.c the commands that
 * change the spool (retry, skip, purge, check); ctl_hold.c hold and
 * release; ctl_log.c the log lines about a message (log).
 *
 * Each command takes the argv from its own name on and returns a
 * sysexits.h code. With --json it builds its document in c->j and ends
 * with finish_json(); main() prints the document only when it is whole.
 */
#ifndef SPOOLD_CTL_H
#define SPOOLD_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "conf.h"
#include "error.h"
#include "jdoc.h"
#include "spooldir.h"
#include "store.h"
#include "store_admin.h"
#include "view.h"

/* status: spoold is not running (as systemctl status, LSB "not running"). */
#define CTL_EXIT_NOT_RUNNING	3

#define SHORT_REASON	JV_SHORT_REASON

struct ctl {
	struct conf	 conf;
	struct store	 store;
	struct spooldir	 sd;
	bool		 sd_open;
	bool		 json;
	FILE		*out;		/* stdout, or a JSON buffer */
	struct jdoc	 j;
	bool		 complete;	/* the JSON document is whole */
	int64_t		 now;		/* ms since the epoch */
};

/* Errors: one line on stderr; each returns code (or its own). */
int		 fail(int code, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
int		 store_fail(struct ctl *, const struct spool_error *);
int		 finish_json(struct ctl *, int rc);
int		 need_spooldir(struct ctl *);

/*
 * The spoold running on the spool: the one its lock names (the store's
 * daemon row may name a pid that is gone, or reused). 1 with *pid (0
 * when not visible from here), 0: none, -1: error (said on stderr).
 */
int		 ctl_daemon(struct ctl *, pid_t *pid);
/* Signal that spoold, and only it: 1 sent, 0 none runs, -1 error (errno). */
int		 ctl_signal_daemon(struct ctl *, int sig, pid_t *pid);

/* Text for a terminal and times; each returns buf (or a constant). */
/* (clean, first_line, tlocal, tiso, state_name: view.h) */
const char	*dur(char *buf, size_t len, int64_t ms, bool two);
int		 parse_int(const char *s, int64_t min, int64_t *v);

/*
 * The message IDs a lever acts on (retry; hold, release and delete use
 * the same reader): the arguments, or with the one argument "-", standard
 * input, one ID a line (blank lines and surrounding blanks ignored).
 * EX_OK with *ids (the caller frees it) and *n >= 1, or a sysexits code
 * said on stderr (a word that is no ID names its line).
 */
int		 ctl_read_ids(const char *cmd, int argc, char **argv,
		    int64_t **ids, size_t *n);

/* JSON pieces and documents: view.h (shared with the HTTP API). */

/* The commands. */
int		 cmd_status(struct ctl *, int argc, char **argv);
int		 cmd_list(struct ctl *, int argc, char **argv);
int		 cmd_batch(struct ctl *, int argc, char **argv);
int		 cmd_batches(struct ctl *, int argc, char **argv);
int		 cmd_show(struct ctl *, int argc, char **argv);
/* list --control [--partner P], show --interchange PARTNER N
 * (ctl_control.c). */
int		 cmd_list_control(struct ctl *, const char *partner);
int		 cmd_show_interchange(struct ctl *, const char *partner,
		    const char *n);
int		 cmd_retry(struct ctl *, int argc, char **argv);
int		 cmd_skip(struct ctl *, int argc, char **argv);
int		 cmd_purge(struct ctl *, int argc, char **argv);
int		 cmd_check(struct ctl *, int argc, char **argv);
int		 cmd_hold(struct ctl *, int argc, char **argv);
int		 cmd_release(struct ctl *, int argc, char **argv);
int		 cmd_delete(struct ctl *, int argc, char **argv);
int		 cmd_log(struct ctl *, int argc, char **argv);

/* Our outbound interchanges and their acknowledgments (ctl_ack.c): the
   status line, its JSON object "acks", and show --outbound (control
   NULL: the partner's interchanges not acknowledged as accepted). */
void		 ctl_ack_text(struct ctl *);
void		 ctl_ack_json(struct ctl *);
int		 ctl_show_outbound(struct ctl *, const char *partner,
		    const char *control);

/* The user who runs spoolctl, for the record: a name or "uid N". */
const char	*ctl_user(char *buf, size_t len);
/* Wake spoold after a lever (SIGUSR1); a failure is said, not fatal. */
void		 ctl_tell_daemon(struct ctl *);

#endif
