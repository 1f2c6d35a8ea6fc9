/*
 * http_api_int.h - what the three parts of the HTTP API share: the
 * router and the shared answers (http_api.c), the read endpoints
 * (http_api_read.c) and the admin's (http_api_admin.c). libmicrohttpd's
 * thread only, like all of http_int.h.
 */
#ifndef SPOOLD_HTTP_API_INT_H
#define SPOOLD_HTTP_API_INT_H

#include <stddef.h>
#include <stdint.h>

#include "http_int.h"
#include "jdoc.h"

#define API_LIST_DEFAULT	100
#define API_LIST_MAX		10000

/* A positive decimal integer (no sign, no blanks); -1 if s is not one. */
int	api_parse_pos(const char *s, int64_t *v);
/* A query parameter, or NULL. */
const char *api_arg(struct MHD_Connection *, const char *key);
/* Unknown query parameters are refused, so a typo is never ignored:
 * NULL when every parameter is in known (NULL-ended), else the first
 * unknown one, which api_bad_arg() answers (400). */
const char *api_unknown_arg(struct MHD_Connection *,
	    const char *const *known);
enum MHD_Result api_bad_arg(struct MHD_Connection *, const char *key,
	    const char *url);

/* The answers: 503 (err's message), 404 no `what' `id', 403 (fmt takes
 * a as its one %s), 405 with an Allow header. */
enum MHD_Result api_store_down(struct MHD_Connection *,
	    const struct spool_error *);
enum MHD_Result api_not_found(struct MHD_Connection *, const char *what,
	    const char *id);
enum MHD_Result api_forbidden(struct MHD_Connection *, const char *fmt,
	    const char *a);
enum MHD_Result api_method_not_allowed(struct MHD_Connection *,
	    const char *allow);
/* Send what a view built (or 500 if it failed to); j is taken. */
enum MHD_Result api_send_doc(struct MHD_Connection *, unsigned status,
	    struct jdoc *);

/*
 * "{partner}/{id}[/{action}]" after a prefix, or the query form: the
 * partner and ID (pointers into buf or the query), the action (NULL if
 * the caller wants none). -1 when they are not there.
 */
int	api_tx_params(struct MHD_Connection *, const char *rest, char *buf,
	    size_t len, const char **partner, const char **txid,
	    const char **action);

/* Hand cmd (NULL: out of memory, 500) to the loop and suspend the
 * request until it answers; 503 when spoold is stopping. */
enum MHD_Result api_push(struct http *, struct MHD_Connection *,
	    struct http_req *, struct api_cmd *);

/* The read endpoints (http_api_read.c); sid, rest: the URL after the
 * endpoint's prefix (sid NULL: the list). */
enum MHD_Result api_get_message(struct http *, struct MHD_Connection *,
	    struct http_req *, const char *sid);
enum MHD_Result api_list_messages(struct http *, struct MHD_Connection *,
	    struct http_req *);
enum MHD_Result api_get_batches(struct http *, struct MHD_Connection *,
	    struct http_req *, const char *sid);
enum MHD_Result api_get_tx(struct http *, struct MHD_Connection *,
	    struct http_req *, const char *rest);
enum MHD_Result api_metrics_summary(struct http *, struct MHD_Connection *);
enum MHD_Result api_metrics_series(struct http *, struct MHD_Connection *);

/* /api/admin/... (http_api_admin.c): 403 for a partner's token. */
enum MHD_Result api_admin(struct http *, struct MHD_Connection *,
	    struct http_req *, const char *url, const char *method);

#endif
