/*
 * api.h - the HTTP API's writes, handed from the HTTP thread to the
 * loop thread (DESIGN 17; STYLE.md, Threads: the store has one writer).
 *
 * The HTTP thread (http_api.c) parses and checks a request, fills a
 * struct api_cmd, queues it (http.c: a list under a mutex and an
 * eventfd in the loop's epoll, tag LOOP_HTTP) and suspends the request.
 * The loop thread takes it (http_cmd_take()), runs it on its own store
 * connection and spool (api_exec(), api_exec.c), fills status and doc,
 * and gives it back (http_cmd_done()), which resumes the request; the
 * HTTP thread sends doc. Between take and done the command is the
 * loop's alone; before and after, the HTTP thread's, which frees it.
 */
#ifndef SPOOLD_API_H
#define SPOOLD_API_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "conf.h"
#include "spooldir.h"
#include "store.h"

enum api_op {
	API_RETRY_MSG,		/* id */
	API_RETRY_TX,		/* partner, tx */
	API_SKIP,		/* partner, tx, seq, reason, user */
	API_PURGE,		/* before (ms): done/ before it */
	API_CONFIG_GET,
	API_CONFIG_SET		/* batch_size, ... (-1: unchanged) */
};

struct api_cmd {
	enum api_op	 op;
	int64_t		 id, seq, before;
	char		*partner, *tx, *reason, *user;
	int64_t		 batch_size, chunk_size, workers;
	int		 log_level;	/* -1: unchanged */
	/* Filled by the loop: the HTTP status and the document to send. */
	unsigned	 status;
	json_t		*doc;
	/* http.c's: the queue, the request to resume. */
	struct api_cmd	*next;
	void		*conn;
};

/* A new command (zeroed, unchanged values -1), or NULL. */
struct api_cmd *api_cmd_new(enum api_op);
void	api_cmd_free(struct api_cmd *);

/* What the loop lends api_exec(). */
struct api_ctx {
	struct conf	*conf;
	struct store	*store;
	struct spooldir	*sd;
	bool		 verbose;	/* -v: the log level stays debug */
};

/* Run a command on the loop thread; sets cmd->status and cmd->doc. */
void	api_exec(struct api_ctx *, struct api_cmd *);

/* The configuration in force as JSON (GET /api/admin/config). */
json_t	*api_conf_json(const struct conf *);

#endif
