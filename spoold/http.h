/*
 * http.h - spoold's HTTP server ([http], DESIGN 17): health, metrics,
 * and the API, served by libmicrohttpd on a thread of its own.
 */
#ifndef SPOOLD_HTTP_H
#define SPOOLD_HTTP_H

#include "api.h"
#include "conf.h"
#include "error.h"
#include "pulse.h"

struct http;

/*
 * Start the server when [http] listen is set (else return NULL with
 * err empty). The server reads the store at db_path read-only, the
 * spool at spool_dir, and the loop's state through pulse (which must
 * outlive it). NULL with err set: it could not start.
 */
struct http *http_start(const struct conf *, const char *db_path,
	    struct pulse *, struct spool_error *);
/* A reloaded configuration: the tokens in force (the rest needs a
 * restart). 0, or -1 (err; the old tokens stay). */
int	http_reload(struct http *, const struct conf *, struct spool_error *);
/* The TCP port it listens on (useful with port 0). */
unsigned	http_port(const struct http *);
/*
 * The loop's side of the API (api.h): the eventfd to watch (-1: none),
 * the next queued command (NULL: none left; the eventfd is drained),
 * and giving a command back once api_exec() has run it.
 */
int	http_cmd_fd(const struct http *);
struct api_cmd *http_cmd_take(struct http *);
void	http_cmd_done(struct http *, struct api_cmd *);
/* An acceptance batch has committed: submissions waiting for it look
 * for their file again. NULL is fine. */
void	http_kick(struct http *);
/* Are submissions waiting for their acceptance (landed in incoming/,
 * not yet answered)? The loop moves a batch's files before it wakes
 * them (http_kick()), so that an answer finds the file where the store
 * says. */
bool	http_landed(struct http *);

/* Stop the server and wait for its thread. NULL is fine. */
void	http_stop(struct http *);

#endif
