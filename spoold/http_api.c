/*
 * http_api.c - the HTTP API of DESIGN 17: routing, who may do what, the
 * bodies' bounds, and the answers and parameter checks every endpoint
 * shares (http_api_int.h). Runs on libmicrohttpd's thread only (http.c).
 *
 * The read endpoints are http_api_read.c's: they go through view.c, the
 * builders spoolctl --json uses, on this thread's read-only store
 * connection (http_store()): the same documents, the same field names.
 * The admin's endpoints are http_api_admin.c's: writes (retry, skip,
 * purge, the configuration) are never made on this thread; they become a
 * struct api_cmd for the loop thread (api.h), and the request is
 * suspended until the loop gives the answer back (api_push()).
 * Submissions are http_submit.c's.
 *
 * Who may do what: the admin token everything; a partner's token reads
 * only its own partner's messages, batches and transactions (another
 * partner's by ID is 404, as if it did not exist; asking for another
 * partner by name is 403) and submits only as that partner; /api/admin/
 * is the admin's (403). Path parameters arrive percent-decoded (by
 * libmicrohttpd, before routing); a partner name never holds '/', so a
 * transaction ID is everything between the partner and the end (or the
 * action), '/' included, and the query form (?partner=&id=) takes any
 * ID. IDs are only ever bound as SQL values: never a path, never SQL
 * text.
 *
 * Status codes: 400 a bad query parameter, 401 no or a wrong token, 403
 * not this token's to do, 404 nothing there, 405 wrong method, 409 the
 * state forbids it, 413 too large (http_serve.c), 422 a body that is not
 * the JSON asked for (bad syntax, a wrong type, an unknown field), 503
 * the store is busy or spoold is stopping. Every error is {"error":
 * WORD, "reason": SENTENCE}.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_api_int.h"
#include "view.h"

#define ADMIN_BODY_MAX	(64 * 1024)	/* bytes of an admin JSON body */

/* A positive decimal integer (no sign, no blanks); -1 if s is not one. */
int
api_parse_pos(const char *s, int64_t *v)
{
	char *end;
	long long n;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < 1)
		return -1;
	*v = n;
	return 0;
}

const char *
api_arg(struct MHD_Connection *c, const char *key)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

/* Unknown query parameters are refused, so a typo is never ignored. */
struct argcheck {
	const char *const *known;
	const char	*bad;
};

static enum MHD_Result
argcheck_one(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct argcheck *a = cls;
	size_t i;

	(void)kind;
	(void)value;
	for (i = 0; a->known[i] != NULL; i++)
		if (strcmp(key, a->known[i]) == 0)
			return MHD_YES;
	if (a->bad == NULL)
		a->bad = key;
	return MHD_YES;
}

/* NULL when every parameter is known, else the first unknown one. */
const char *
api_unknown_arg(struct MHD_Connection *c, const char *const *known)
{
	struct argcheck a = { known, NULL };

	(void)MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, argcheck_one,
	    &a);
	return a.bad;
}

enum MHD_Result
api_bad_arg(struct MHD_Connection *c, const char *key, const char *url)
{
	char b[128];

	return http_error(c, MHD_HTTP_BAD_REQUEST, "bad request", "unknown "
	    "query parameter %s for %s (see spoold-http(7))",
	    clean(b, sizeof(b), key, 60), url);
}

enum MHD_Result
api_store_down(struct MHD_Connection *c, const struct spool_error *err)
{
	return http_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "store unavailable",
	    "%s", err->msg);
}

enum MHD_Result
api_not_found(struct MHD_Connection *c, const char *what, const char *id)
{
	char b[300];

	return http_error(c, MHD_HTTP_NOT_FOUND, "not found", "no %s %s",
	    what, clean(b, sizeof(b), id, 128));
}

enum MHD_Result
api_forbidden(struct MHD_Connection *c, const char *fmt, const char *a)
{
	char b[300];

	return http_error(c, MHD_HTTP_FORBIDDEN, "forbidden", fmt,
	    clean(b, sizeof(b), a, 64));
}

enum MHD_Result
api_method_not_allowed(struct MHD_Connection *c, const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result rc;
	json_t *doc;
	char *s;

	doc = json_pack("{s:s, s:s+}", "error", "method not allowed",
	    "reason", "this path takes ", allow);
	s = doc != NULL ? json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS) :
	    NULL;
	json_decref(doc);
	if (s == NULL)
		return MHD_NO;
	if ((r = MHD_create_response_from_buffer(strlen(s), s,
	    MHD_RESPMEM_MUST_FREE)) == NULL) {
		free(s);
		return MHD_NO;
	}
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/json");
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	rc = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
	MHD_destroy_response(r);
	return rc;
}

/* Send what a view built (or 500 if it failed to). */
enum MHD_Result
api_send_doc(struct MHD_Connection *c, unsigned status, struct jdoc *j)
{
	json_t *doc = jd_take(j);

	if (doc == NULL)
		return http_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "internal error", "the answer could not be built (out "
		    "of memory?)");
	return http_json(c, status, doc);
}

/*
 * "{partner}/{id}[/{action}]" after a prefix, or the query form: the
 * partner and ID (pointers into buf or the query), the action (NULL if
 * the caller wants none). -1 when they are not there.
 */
int
api_tx_params(struct MHD_Connection *c, const char *rest, char *buf, size_t len,
    const char **partner, const char **txid, const char **action)
{
	char *slash, *last;

	*partner = *txid = NULL;
	if (action != NULL)
		*action = NULL;
	if (snprintf(buf, len, "%s", rest) >= (int)len)
		return -1;
	if (action != NULL) {
		/* The action is the last component. */
		if ((last = strrchr(buf, '/')) == NULL) {
			*action = buf;
			buf = NULL;
		} else {
			*last = '\0';
			*action = last + 1;
		}
	}
	if (buf == NULL || buf[0] == '\0') {
		/* The query form. */
		*partner = api_arg(c, "partner");
		*txid = api_arg(c, "id");
	} else {
		if ((slash = strchr(buf, '/')) == NULL)
			return -1;
		*slash = '\0';
		*partner = buf;
		*txid = slash + 1;
	}
	if (*partner == NULL || *txid == NULL || **partner == '\0' ||
	    **txid == '\0')
		return -1;
	return 0;
}

enum MHD_Result
api_push(struct http *h, struct MHD_Connection *c, struct http_req *r,
    struct api_cmd *cmd)
{
	if (cmd == NULL)
		return http_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "internal error", "out of memory");
	if (http_cmd_push(h, r, cmd) == -1) {
		api_cmd_free(cmd);
		return http_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "stopping",
		    "spoold is stopping; nothing was done, try again once it "
		    "runs");
	}
	return MHD_YES;
}

uint64_t
http_api_body_limit(const struct http *h, const char *method,
    const char *url)
{
	if (strcmp(method, "POST") != 0)
		return 4096;
	if (strcmp(url, "/api/batches") == 0)
		return h->max_total_size;
	if (strcmp(url, "/api/messages") == 0)
		return h->max_message_size;
	return ADMIN_BODY_MAX;
}

void
http_api_body(struct http *h, struct http_req *r, const char *url,
    const char *method, const char *data, size_t len)
{
	char *n;

	if (!r->authed || strcmp(method, "POST") != 0)
		return;
	if (strcmp(url, "/api/messages") == 0 ||
	    strcmp(url, "/api/batches") == 0) {
		submit_data(h, r, url, data, len);
		return;
	}
	if (strncmp(url, "/api/admin/", 11) != 0 || !r->who.admin)
		return;
	if ((n = realloc(r->body, r->blen + len + 1)) == NULL) {
		r->too_big = true;	/* no room: refuse it whole */
		return;
	}
	r->body = n;
	memcpy(r->body + r->blen, data, len);
	r->blen += len;
	r->body[r->blen] = '\0';
}

enum MHD_Result
http_api(struct http *h, struct MHD_Connection *c, struct http_req *r,
    const char *url, const char *method)
{
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool post = strcmp(method, "POST") == 0;
	struct api_cmd *cmd;
	json_t *doc;

	http_resumed(h, r);
	/* Back from the loop: its answer. */
	if ((cmd = r->cmd) != NULL) {
		if (!http_cmd_back(h, cmd))
			return http_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
			    "internal error", "resumed before the answer");
		doc = cmd->doc;
		cmd->doc = NULL;
		return http_json(c, cmd->status, doc);
	}
	if (r->sub != NULL)
		return submit_answer(h, c, r);
	if (r->auth == AUTH_NONE)
		return http_error(c, MHD_HTTP_UNAUTHORIZED, "unauthorized",
		    "send Authorization: Bearer TOKEN (a token whose SHA-256 "
		    "is [http] admin_token_sha256 or a partner's "
		    "token_sha256)");
	if (r->auth == AUTH_BAD)
		return http_error(c, MHD_HTTP_UNAUTHORIZED, "unauthorized",
		    "the bearer token matches no configured token_sha256");
	if (strncmp(url, "/api/admin/", 11) == 0)
		return api_admin(h, c, r, url, method);
	if (strcmp(url, "/api/messages") == 0 ||
	    strcmp(url, "/api/batches") == 0) {
		if (post)
			return submit_answer(h, c, r);
		if (!get)
			return api_method_not_allowed(c, "GET, POST");
		if (url[5] == 'm')
			return api_list_messages(h, c, r);
		return api_get_batches(h, c, r, NULL);
	}
	if (!get && (strncmp(url, "/api/messages/", 14) == 0 ||
	    strncmp(url, "/api/batches/", 13) == 0 ||
	    strncmp(url, "/api/transactions", 17) == 0 ||
	    strncmp(url, "/api/metrics/", 13) == 0))
		return api_method_not_allowed(c, "GET");
	if (strncmp(url, "/api/messages/", 14) == 0)
		return api_get_message(h, c, r, url + 14);
	if (strncmp(url, "/api/batches/", 13) == 0)
		return api_get_batches(h, c, r, url + 13);
	if (strcmp(url, "/api/transactions") == 0)
		return api_get_tx(h, c, r, "");
	if (strncmp(url, "/api/transactions/", 18) == 0)
		return api_get_tx(h, c, r, url + 18);
	if (strcmp(url, "/api/metrics/summary") == 0 ||
	    strcmp(url, "/api/metrics/time-series") == 0) {
		if (!r->who.admin)
			return api_forbidden(c, "%s: the metrics are the admin "
			    "token's", r->who.partner);
		return url[13] == 's' ? api_metrics_summary(h, c) :
		    api_metrics_series(h, c);
	}
	return http_error(c, MHD_HTTP_NOT_FOUND, "not found", "no endpoint "
	    "%s %s (see spoold-http(7))", method, url);
}
