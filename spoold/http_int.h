/*
 * http_int.h - what http.c (the server), http_serve.c (requests, health),
 * http_api.c (the API), http_submit.c (submissions) and metrics.c (the
 * exposition) share. Everything here runs on libmicrohttpd's thread,
 * except http_start/http_reload/http_stop and the loop's side of the
 * command queue and of the waiting submissions (http.h).
 */
#ifndef SPOOLD_HTTP_INT_H
#define SPOOLD_HTTP_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <microhttpd.h>

#include "api.h"
#include "auth.h"
#include "error.h"
#include "pulse.h"
#include "spooldir.h"
#include "store.h"

/* 422 under its older and newer libmicrohttpd names alike. */
#define HTTP_UNPROCESSABLE	422

struct conf;
struct metrics_names;
struct store_stats;
struct submit;

struct http {
	struct MHD_Daemon	*mhd;
	pthread_mutex_t		 mu;	/* guards auth, names_next */
	struct auth_table	 auth;
	struct pulse		*pulse;	/* the loop's state */
	char			*db_path, *spool_dir;
	char			*tls_cert, *tls_key;
	uint64_t		 max_message_size, max_total_size;
	bool			 archive;	/* archive_command set: a purge
						 * takes archived files only */
	unsigned		 port;
	uint64_t		 submit_wait_ms; /* POST: for acceptance */
	/*
	 * The loop's side (http.h): wmu guards the command queue, the
	 * waiting submissions and closing; efd (an eventfd in the loop's
	 * epoll) says the queue is not empty.
	 */
	pthread_mutex_t		 wmu;
	int			 efd;
	struct api_cmd		*qhead, *qtail;	/* for the loop */
	struct http_req		*waiting;	/* suspended submissions */
	bool			 closing;	/* http_stop() has begun */
	uint64_t		 gen;		/* wake-ups (http_kick) */
	unsigned		 suspended;	/* requests suspended now */
	unsigned		 landed;	/* http_landing() */
	/* libmicrohttpd's thread only: */
	struct store_stats	*stats;	/* opened on first use */
	struct metrics_names	*names;	/* label values (metrics.c) */
	struct store		 rd;	/* the API's reads (STORE_READER) */
	bool			 rd_open;
	struct spooldir		 sd;	/* .reason sidecars, incoming/ */
	bool			 sd_open;
	uint64_t		 nsubmit;	/* names of submissions */
	/* Under mu: */
	struct metrics_names	*names_next;	/* from http_reload */
};

/* One request's state, from its first call to completed(). */
struct http_req {
	bool		 started;
	bool		 too_big;
	size_t		 len;	/* body bytes seen */
	/* Set at the first call of an /api/ request. */
	bool		 authed;	/* a good token */
	int		 auth;		/* enum auth_result */
	struct auth_who	 who;
	char		*body;		/* admin POSTs: the JSON, kept */
	size_t		 blen;
	struct submit	*sub;		/* POST /api/messages, /api/batches */
	struct api_cmd	*cmd;		/* handed to the loop, or NULL */
	struct MHD_Connection *conn;
	struct http_req	*wnext;		/* h->waiting (under wmu) */
	bool		 suspended;	/* counted in h->suspended (wmu) */
};

enum MHD_Result http_answer(void *cls, struct MHD_Connection *,
	    const char *url, const char *method, const char *version,
	    const char *upload_data, size_t *upload_data_size,
	    void **con_cls);
void	http_req_free(struct http_req *);

/* The store's read-only connection, opened on first use; NULL (err). */
struct store_stats *http_stats(struct http *, struct spool_error *);
/* The API's read-only struct store (STORE_READER), and the spool's
 * directories, opened on first use; NULL (err). */
struct store	*http_store(struct http *, struct spool_error *);
struct spooldir	*http_spooldir(struct http *, struct spool_error *);

/* The API (http_api.c): a request under /api/ whose body is in. */
enum MHD_Result http_api(struct http *, struct MHD_Connection *,
	    struct http_req *, const char *url, const char *method);
/* The bound of an API request's body (413 beyond it). */
uint64_t http_api_body_limit(const struct http *, const char *method,
	    const char *url);
/* Take a body chunk of an API request: kept, streamed or dropped. */
void	http_api_body(struct http *, struct http_req *, const char *url,
	    const char *method, const char *data, size_t len);

/*
 * Hand cmd to the loop and suspend the request (http.c): 0, or -1 when
 * spoold is stopping (cmd stays the caller's).
 */
int	http_cmd_push(struct http *, struct http_req *, struct api_cmd *);
/* The request runs again after a suspension: uncount it. */
void	http_resumed(struct http *, struct http_req *);
/* Has the loop given the request's command back? */
bool	http_cmd_back(struct http *, const struct api_cmd *);
/*
 * The wake-up counter (http_kick() adds one), and: suspend a submission
 * until the next wake-up, unless one came since gen was read (1: look
 * again now); 0 suspended, -1 stopping.
 */
uint64_t http_gen(struct http *);
/* Submissions landed in incoming/ and not yet answered: add n (1, -1);
 * h NULL: nothing. */
void	http_landing(struct http *, int n);
int	http_wait(struct http *, struct http_req *, uint64_t gen);

/* Submissions (http_submit.c). */
void	submit_data(struct http *, struct http_req *, const char *url,
	    const char *data, size_t len);
enum MHD_Result submit_answer(struct http *, struct MHD_Connection *,
	    struct http_req *);
void	submit_free(struct submit *);

/* Send a JSON document (taken: decref'd) or an error. MHD_YES/NO. */
enum MHD_Result http_json(struct MHD_Connection *, unsigned status,
	    json_t *);
enum MHD_Result http_error(struct MHD_Connection *, unsigned status,
	    const char *error, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

/* The Prometheus text exposition into fp (metrics.c). */
void	metrics_write(struct http *, FILE *fp);
/* The label values the configuration allows (metrics.c); NULL: no memory. */
struct metrics_names *metrics_names_new(const struct conf *);
void	metrics_names_free(struct metrics_names *);

#endif
