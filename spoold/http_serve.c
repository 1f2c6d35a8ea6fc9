/*
 * http_serve.c - one HTTP request: who sends it, where it goes, and the
 * health checks (DESIGN 17). Runs on libmicrohttpd's thread only.
 *
 * The answer to a request is decided once the whole request is in: a
 * body is counted as it arrives and never kept beyond the endpoint's
 * bound; once the bound is passed the rest is read and dropped and the
 * answer is 413. /health* and /metrics need no token; everything under
 * /api/ does, and is http_api.c's (the token is checked at the first
 * call, before the body, so that a submission is written as it comes).
 * Each health endpoint answers 200 when all its checks pass, else 503,
 * with a JSON body naming each check, whether it passed, and why.
 */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "http_int.h"
#include "store.h"
#include "store_stats.h"

#define ALIVE_MS	60000	/* /health: the loop turned this recently */
#define STUCK_MS	300000	/* a cycle running longer is stuck */
#define GET_BODY_MAX	4096	/* bytes a GET may carry (and are dropped) */

static const char *const spool_dirs[] = {
	"incoming", "queue", "parked", "deferred", "failed", "rejected",
	"done", "hold", "outgoing"
};

void
http_req_free(struct http_req *r)
{
	if (r == NULL)
		return;
	submit_free(r->sub);
	api_cmd_free(r->cmd);
	free(r->body);
	free(r);
}

struct store_stats *
http_stats(struct http *h, struct spool_error *err)
{
	if (h->stats == NULL)
		h->stats = store_stats_open(h->db_path, err);
	return h->stats;
}

struct store *
http_store(struct http *h, struct spool_error *err)
{
	if (!h->rd_open) {
		if (store_open_with(&h->rd, h->db_path, STORE_READER, NULL,
		    err) == -1)
			return NULL;
		h->rd_open = true;
	}
	return &h->rd;
}

struct spooldir *
http_spooldir(struct http *h, struct spool_error *err)
{
	if (!h->sd_open) {
		if (spooldir_open(&h->sd, h->spool_dir, err) == -1)
			return NULL;
		h->sd_open = true;
	}
	return &h->sd;
}

enum MHD_Result
http_json(struct MHD_Connection *c, unsigned status, json_t *doc)
{
	struct MHD_Response *r;
	enum MHD_Result rc;
	char *s;
	size_t len;

	s = doc != NULL ? json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS) :
	    NULL;
	json_decref(doc);
	if (s == NULL)
		return MHD_NO;
	len = strlen(s);
	s[len] = '\0';
	if ((r = MHD_create_response_from_buffer(len, s,
	    MHD_RESPMEM_MUST_FREE)) == NULL) {
		free(s);
		return MHD_NO;
	}
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/json");
	if (status == MHD_HTTP_UNAUTHORIZED)
		(void)MHD_add_response_header(r,
		    MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"spoold\"");
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

enum MHD_Result
http_error(struct MHD_Connection *c, unsigned status, const char *error,
    const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return http_json(c, status, json_pack("{s:s, s:s}", "error", error,
	    "reason", reason));
}

static enum MHD_Result
send_text(struct MHD_Connection *c, unsigned status, char *buf, size_t len,
    const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result rc;

	if ((r = MHD_create_response_from_buffer(len, buf,
	    MHD_RESPMEM_MUST_FREE)) == NULL) {
		free(buf);
		return MHD_NO;
	}
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

/* Add one check to a health document; false when it failed. */
static bool
check(json_t *checks, const char *name, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool
check(json_t *checks, const char *name, bool ok, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	json_object_set_new(checks, name, json_pack("{s:b, s:s}", "ok", ok,
	    "detail", detail));
	return ok;
}

static bool
check_alive(json_t *cs, const struct pulse_state *ps, int64_t now)
{
	if (!ps->ready)
		return check(cs, "loop", false, "spoold is still starting "
		    "(reconciling the spool)");
	return check(cs, "loop", now - ps->turned_at < ALIVE_MS,
	    "the loop last turned %" PRId64 " ms ago (limit %d ms)",
	    now - ps->turned_at, ALIVE_MS);
}

static bool
check_cycle(json_t *cs, const struct pulse_state *ps, int64_t now)
{
	if (ps->cycle_since == 0)
		return check(cs, "cycle", true, "no cycle is running");
	return check(cs, "cycle", now - ps->cycle_since < STUCK_MS,
	    "a cycle has run for %" PRId64 " ms (stuck after %d ms)",
	    now - ps->cycle_since, STUCK_MS);
}

static bool
check_store_writes(json_t *cs, const struct pulse_state *ps)
{
	return check(cs, "store_writable", ps->store_ok, "%s",
	    ps->store_ok ? "the store's last write committed" :
	    ps->store_err);
}

static bool
check_spool_dirs(json_t *cs, const struct http *h)
{
	char bad[256];
	size_t i, len = 0;
	int fd;

	bad[0] = '\0';
	if ((fd = open(h->spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return check(cs, "spool_writable", false, "%s: cannot open",
		    h->spool_dir);
	for (i = 0; i < sizeof(spool_dirs) / sizeof(spool_dirs[0]); i++)
		if (faccessat(fd, spool_dirs[i], W_OK | X_OK, AT_EACCESS) ==
		    -1 && len < sizeof(bad) - 16)
			len += (size_t)snprintf(bad + len, sizeof(bad) - len,
			    "%s%s/", len > 0 ? ", " : "", spool_dirs[i]);
	close(fd);
	if (len > 0)
		return check(cs, "spool_writable", false, "not writable "
		    "(or missing) in %s: %s", h->spool_dir, bad);
	return check(cs, "spool_writable", true, "every spool directory is "
	    "writable");
}

static bool
check_disk(json_t *cs, const struct pulse_state *ps)
{
	return check(cs, "disk", !ps->low_space, "%" PRIu64 " bytes free, "
	    "min_free_space %" PRIu64 "%s", ps->avail, ps->min_free,
	    ps->low_space ? ": not accepting, new files stay in incoming/" :
	    "");
}

static bool
check_store_reads(json_t *cs, struct http *h)
{
	struct spool_error err;
	struct store_stats *st;

	spool_clearerr(&err);
	if ((st = http_stats(h, &err)) == NULL ||
	    store_stats_ping(st, &err) == -1)
		return check(cs, "store_readable", false, "%s", err.msg);
	return check(cs, "store_readable", true, "the store answers reads");
}

static enum MHD_Result
health(struct http *h, struct MHD_Connection *c, const char *what)
{
	struct pulse_state ps;
	json_t *cs = json_object();
	int64_t now = store_now_ms();
	bool ok = true;

	pulse_read(h->pulse, &ps);
	if (strcmp(what, "") == 0)
		ok &= check_alive(cs, &ps, now);
	else if (strcmp(what, "/ready") == 0) {
		ok &= check_alive(cs, &ps, now);
		ok &= check_store_writes(cs, &ps);
		ok &= check_spool_dirs(cs, h);
		ok &= check_disk(cs, &ps);
		ok &= check_cycle(cs, &ps, now);
	} else if (strcmp(what, "/store") == 0) {
		ok &= check_store_reads(cs, h);
		ok &= check_store_writes(cs, &ps);
	} else if (strcmp(what, "/processor") == 0) {
		ok &= check_alive(cs, &ps, now);
		ok &= check_cycle(cs, &ps, now);
		ok &= check(cs, "processing", !ps.paused, "%s", ps.paused ?
		    "paused: bundles wait to be written whole (disk full?)" :
		    "running");
	} else {
		json_decref(cs);
		return http_error(c, MHD_HTTP_NOT_FOUND, "not found", "no "
		    "health check /health%s: try /health, /health/ready, "
		    "/health/store or /health/processor", what);
	}
	return http_json(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
	    json_pack("{s:s, s:o}", "status", ok ? "ok" : "fail", "checks",
	    cs));
}

static enum MHD_Result
metrics(struct http *h, struct MHD_Connection *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		return MHD_NO;
	metrics_write(h, fp);
	if (fclose(fp) != 0) {
		free(buf);
		return MHD_NO;
	}
	return send_text(c, MHD_HTTP_OK, buf, len,
	    "text/plain; version=0.0.4; charset=utf-8");
}

/* The bound of a request's body (413 beyond it). */
static uint64_t
body_limit(const struct http *h, const char *method, const char *url)
{
	if (strncmp(url, "/api/", 5) == 0)
		return http_api_body_limit(h, method, url);
	return GET_BODY_MAX;
}

enum MHD_Result
http_answer(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct http *h = cls;
	struct http_req *r = *con_cls;
	uint64_t limit;

	(void)version;
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return MHD_NO;
		r->conn = c;
		/* Who asks, before the body: a submission is written as it
		 * comes, for a good token only. */
		if (strncmp(url, "/api/", 5) == 0) {
			(void)pthread_mutex_lock(&h->mu);
			r->auth = auth_check(&h->auth,
			    MHD_lookup_connection_value(c, MHD_HEADER_KIND,
			    MHD_HTTP_HEADER_AUTHORIZATION), &r->who);
			(void)pthread_mutex_unlock(&h->mu);
			r->authed = r->auth == AUTH_OK;
		}
		*con_cls = r;
		return MHD_YES;
	}
	limit = body_limit(h, method, url);
	if (*upload_data_size > 0) {
		/* Counted, not kept, past the bound: the client may still
		 * be sending; the answer (413) goes once it is all in. */
		if (r->len + *upload_data_size > limit)
			r->too_big = true;
		else if (!r->too_big && strncmp(url, "/api/", 5) == 0)
			http_api_body(h, r, url, method, upload_data,
			    *upload_data_size);
		r->len += *upload_data_size;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->too_big) {
		/* Nothing kept: a submission's dot file goes now. */
		submit_free(r->sub);
		r->sub = NULL;
		return http_error(c, MHD_HTTP_CONTENT_TOO_LARGE,
		    "request body too large", "the body of %s %s may hold at "
		    "most %" PRIu64 " bytes (%s)", method, url, limit,
		    strcmp(url, "/api/batches") == 0 ?
		    "[bundle] max_total_size" : strcmp(url,
		    "/api/messages") == 0 ? "[processing] max_message_size" :
		    "the bound of this endpoint");
	}
	if (strcmp(url, "/metrics") == 0 || strncmp(url, "/health", 7) == 0) {
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
			return http_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "method not allowed", "%s takes GET only", url);
		if (strcmp(url, "/metrics") == 0)
			return metrics(h, c);
		if (url[7] == '\0' || url[7] == '/')
			return health(h, c, url + 7);
	}
	if (strncmp(url, "/api/", 5) == 0)
		return http_api(h, c, r, url, method);
	return http_error(c, MHD_HTTP_NOT_FOUND, "not found", "no endpoint "
	    "%s %s: the API is under /api/, health under /health, metrics "
	    "at /metrics (see spoold-http(7))", method, url);
}
