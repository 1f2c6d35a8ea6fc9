/*
 * http_int.h - what http.c (the server), http_serve.c (requests, health)
 * and metrics.c (the exposition) share. Everything here runs on
 * libmicrohttpd's thread, except http_start/http_reload/http_stop.
 */
#ifndef SPOOLD_HTTP_INT_H
#define SPOOLD_HTTP_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <microhttpd.h>

#include "auth.h"
#include "error.h"
#include "pulse.h"

struct conf;
struct metrics_names;
struct store_stats;

struct http {
	struct MHD_Daemon	*mhd;
	pthread_mutex_t		 mu;	/* guards auth, names_next */
	struct auth_table	 auth;
	struct pulse		*pulse;	/* the loop's state */
	char			*db_path, *spool_dir;
	char			*tls_cert, *tls_key;
	uint64_t		 max_message_size, max_total_size;
	unsigned		 port;
	/* libmicrohttpd's thread only: */
	struct store_stats	*stats;	/* opened on first use */
	struct metrics_names	*names;	/* label values (metrics.c) */
	/* Under mu: */
	struct metrics_names	*names_next;	/* from http_reload */
};

/* One request's state, from its first call to completed(). */
struct http_req {
	bool		 started;
	bool		 too_big;
	size_t		 len;	/* body bytes seen */
};

enum MHD_Result http_answer(void *cls, struct MHD_Connection *,
	    const char *url, const char *method, const char *version,
	    const char *upload_data, size_t *upload_data_size,
	    void **con_cls);
void	http_req_free(struct http_req *);

/* The store's read-only connection, opened on first use; NULL (err). */
struct store_stats *http_stats(struct http *, struct spool_error *);

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
