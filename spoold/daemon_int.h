/*
 * daemon_int.h - what spoold's run loop (daemon.c) shares with the
 * modules that do its jobs beside the loop: start-up repair (startup.c),
 * the periodic housekeeping (housekeep.c) and telling others how the
 * loop is (publish.c). One struct daemon, owned by daemon_run(); the
 * modules read and update its fields, nothing else does.
 */
#ifndef SPOOLD_DAEMON_INT_H
#define SPOOLD_DAEMON_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "accept.h"
#include "archive.h"
#include "conf.h"
#include "dialect.h"
#include "error.h"
#include "exec.h"
#include "execq.h"
#include "handler.h"
#include "loop.h"
#include "notify.h"
#include "http.h"
#include "pulse.h"
#include "schema.h"
#include "spooldir.h"
#include "store.h"
#include "watcher.h"

#define ACCEPT_BATCH_MAX	1024	/* files per store transaction */
#define STORE_RETRY_MS		1000	/* after a failed batch or look */
#define GUARD_MS		2000	/* lock file and store still ours? */
#define STORE_NAME		"spool.db"
#define TROUBLE_RETRY_MS	2000	/* disk full: look again after */
#define STATUS_SIZE		1024	/* bytes of spoold.status */
#define PULSE_EVERY_MS		5000	/* the loop turns at least this often
					   with HTTP on (/health) */

struct daemon {
	struct conf		*conf;
	const char		*conf_path;
	const char		*spool_dir_opt;
	struct spooldir		 sd;
	struct store		 store;
	struct schema_set	*schemas;
	struct dialect_set	 dialects;
	struct watcher		*watcher;
	struct accept_pipe	*pipe;		/* parse threads, or NULL */
	unsigned		 pipe_failed;	/* workers that could not
						   start (0 none) */
	struct router		 router;
	struct execq		*execq;		/* the process runner */
	struct exec_calls	*calls;		/* the exec handler's */
	struct loop		 loop;		/* the one epoll */
	struct notify		 notify;	/* systemd, notify.c */
	struct http		*http;		/* [http], or NULL */
	struct pulse		 pulse;		/* for the HTTP thread */
	struct pulse_state	 ps;		/* what it is told */
	int			 sigfd, timerfd;
	int			 lockfd;	/* spoold.lock, held */
	bool			 once;
	bool			 verbose;	/* -v: debug, whatever
						 * [log] says */
	bool			 stop;
	bool			 lost;		/* lock file or store gone */
	struct stat		 lock_st, db_st;	/* what we hold */
	int64_t			 guard_at;	/* next check, store_now_ms */
	int64_t			 retention_at;	/* next look at done/ */
	struct archive_cursor	 archive_cur;	/* archive.c's turn */
	int64_t			 acks_at;	/* next look for overdue acks */
	/*
	 * Disk trouble (see the top of this file): spoold.status (or -1);
	 * below min_free_space; free bytes and the limit at the last look;
	 * bundles waiting for room; when to retry (ms); what spoold.status
	 * says; the last cycle and acceptance errors logged.
	 */
	int			 statusfd;
	bool			 present;	/* noted in the store */
	bool			 presence_tried;
	bool			 low_space;
	uint64_t		 avail, min_free;
	int			 unfinished;
	int64_t			 trouble_due;
	char			 status[STATUS_SIZE];
	char			 cycle_err[SPOOL_ERRLEN];
	char			 accept_err[SPOOL_ERRLEN];
	/* Totals of this run, logged at exit (and read by the benchmark). */
	uint64_t		 accepted, processed;
	int64_t			 accept_ms, process_ms;
};

/* daemon.c: has SIGTERM or SIGINT come (handled, so logged, by the
 * first; the second only looks and reads no signal)? */
bool	daemon_stopping(struct daemon *);
bool	daemon_stop_pending(struct daemon *);

/* accepting.c: accept what is ready. Returns ms until the next look, or
 * -1. */
int64_t	accept_ready(struct daemon *);

/* startup.c: put right what a crash left (bundles, files behind their
 * rows, rows without files, unwritten outbound messages). EX_OK, or an
 * exit code when spoold cannot start. */
int	startup_repair(struct daemon *);

/* housekeep.c: the loop's periodic jobs. Each hk_* that returns int64_t
 * returns ms until it is due again, or -1 (never). */
int	hk_presence(struct daemon *, bool running);
int64_t	hk_guard(struct daemon *);
int64_t	hk_gaps(struct daemon *);
int64_t	hk_acks(struct daemon *);
int64_t	hk_retention(struct daemon *);
void	hk_space(struct daemon *);
bool	hk_in_trouble(const struct daemon *);
void	hk_retry_writes(struct daemon *);

/* publish.c: how the loop is, for the HTTP thread (cycle_since: when the
 * cycle about to run started, 0 between cycles), for systemd and
 * spoolctl status (spoold.status, made at start by publish_open()). */
void	publish_pulse(struct daemon *, int64_t cycle_since);
void	publish_status(struct daemon *);
void	publish_open(struct daemon *);

#endif
