/*
 * http_api.c - the HTTP API of DESIGN 17: routing, who may do what, the
 * reads, and the writes handed to the loop. Runs on libmicrohttpd's
 * thread only (http.c).
 *
 * Reads go through view.c, the builders spoolctl --json uses, on this
 * thread's read-only store connection (http_store()): the same
 * documents, the same field names. Writes (retry, skip, purge, the
 * configuration) are never made here: they become a struct api_cmd for
 * the loop thread (api.h), and the request is suspended until the loop
 * gives the answer back. Submissions are http_submit.c's.
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
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_int.h"
#include "jdoc.h"
#include "log.h"
#include "retention.h"
#include "store_admin.h"
#include "store_stats.h"
#include "store_summary.h"
#include "view.h"

#define ADMIN_BODY_MAX	(64 * 1024)	/* bytes of an admin JSON body */
#define LIST_DEFAULT	100
#define LIST_MAX	10000
#define SERIES_STEPS_MAX 10000		/* window / step */

/* A positive decimal integer (no sign, no blanks); -1 if s is not one. */
static int
parse_pos(const char *s, int64_t *v)
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

static const char *
arg(struct MHD_Connection *c, const char *key)
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
static const char *
unknown_arg(struct MHD_Connection *c, const char *const *known)
{
	struct argcheck a = { known, NULL };

	(void)MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, argcheck_one,
	    &a);
	return a.bad;
}

static enum MHD_Result
bad_arg(struct MHD_Connection *c, const char *key, const char *url)
{
	char b[128];

	return http_error(c, MHD_HTTP_BAD_REQUEST, "bad request", "unknown "
	    "query parameter %s for %s (see spoold-http(7))",
	    clean(b, sizeof(b), key, 60), url);
}

static enum MHD_Result
store_down(struct MHD_Connection *c, const struct spool_error *err)
{
	return http_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "store unavailable",
	    "%s", err->msg);
}

static enum MHD_Result
not_found(struct MHD_Connection *c, const char *what, const char *id)
{
	char b[300];

	return http_error(c, MHD_HTTP_NOT_FOUND, "not found", "no %s %s",
	    what, clean(b, sizeof(b), id, 128));
}

static enum MHD_Result
forbidden(struct MHD_Connection *c, const char *fmt, const char *a)
{
	char b[300];

	return http_error(c, MHD_HTTP_FORBIDDEN, "forbidden", fmt,
	    clean(b, sizeof(b), a, 64));
}

static enum MHD_Result
method_not_allowed(struct MHD_Connection *c, const char *allow)
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
static enum MHD_Result
send_doc(struct MHD_Connection *c, unsigned status, struct jdoc *j)
{
	json_t *doc = jd_take(j);

	if (doc == NULL)
		return http_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "internal error", "the answer could not be built (out "
		    "of memory?)");
	return http_json(c, status, doc);
}

/* The partner named in a document (a string at key, or at obj.key). */
static const char *
doc_partner(struct jdoc *j, const char *obj)
{
	json_t *o = j->root;

	if (obj != NULL)
		o = json_object_get(o, obj);
	return json_string_value(json_object_get(o, "partner"));
}

/* GET /api/messages/{id} */
static enum MHD_Result
get_message(struct http *h, struct MHD_Connection *c, struct http_req *r,
    const char *sid)
{
	struct spool_error err;
	struct store *s;
	struct jdoc j;
	const char *p;
	int64_t id;
	int rc;

	if (parse_pos(sid, &id) == -1)
		return not_found(c, "message", sid);
	spool_clearerr(&err);
	if ((s = http_store(h, &err)) == NULL)
		return store_down(c, &err);
	jd_init(&j, NULL);
	rc = jv_message(&j, s, http_spooldir(h, &err), id, store_now_ms(),
	    &err);
	if (rc == -1) {
		jd_free(&j);
		return store_down(c, &err);
	}
	/* Another partner's message is not there for this token. */
	if (rc == 0 || (!r->who.admin && ((p = doc_partner(&j, "message")) ==
	    NULL || strcmp(p, r->who.partner) != 0))) {
		jd_free(&j);
		return not_found(c, "message", sid);
	}
	return send_doc(c, MHD_HTTP_OK, &j);
}

/* state=queue,parked (or the key repeated) into the filter's bits. */
struct states_arg {
	unsigned	 bits;
	const char	*bad;
};

static enum MHD_Result
states_one(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct states_arg *a = cls;
	char buf[256], *w, *save = NULL;
	int st;

	(void)kind;
	if (strcmp(key, "state") != 0 || value == NULL)
		return MHD_YES;
	snprintf(buf, sizeof(buf), "%s", value);
	for (w = strtok_r(buf, ",", &save); w != NULL;
	    w = strtok_r(NULL, ",", &save)) {
		if ((st = spool_state_parse(w)) < 0) {
			if (a->bad == NULL)
				a->bad = value;
			continue;
		}
		a->bits |= 1u << st;
	}
	return MHD_YES;
}

/* GET /api/messages?state=&partner=&type=&tx=&batch=&limit=&after= */
static enum MHD_Result
list_messages(struct http *h, struct MHD_Connection *c, struct http_req *r)
{
	static const char *const known[] = { "state", "partner", "type",
	    "tx", "batch", "limit", "after", NULL };
	struct store_admin_filter f;
	struct states_arg sa = { 0, NULL };
	struct spool_error err;
	struct store *s;
	struct jdoc j;
	const char *v, *bad;
	char b[128];

	if ((bad = unknown_arg(c, known)) != NULL)
		return bad_arg(c, bad, "GET /api/messages");
	memset(&f, 0, sizeof(f));
	f.state = -1;
	f.limit = LIST_DEFAULT;
	(void)MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, states_one,
	    &sa);
	if (sa.bad != NULL)
		return http_error(c, MHD_HTTP_BAD_REQUEST, "bad request",
		    "state=%s: a state is one of queue, parked, deferred, "
		    "failed, rejected, done (several: comma-separated)",
		    clean(b, sizeof(b), sa.bad, 60));
	f.states = sa.bits;
	f.partner = arg(c, "partner");
	if (!r->who.admin) {
		if (f.partner != NULL && strcmp(f.partner, r->who.partner) != 0)
			return forbidden(c, "this token reads partner %s's "
			    "messages only", r->who.partner);
		f.partner = r->who.partner;
	}
	f.type = arg(c, "type");
	f.transaction_id = arg(c, "tx");
	if ((v = arg(c, "limit")) != NULL && (parse_pos(v, &f.limit) == -1 ||
	    f.limit > LIST_MAX))
		return http_error(c, MHD_HTTP_BAD_REQUEST, "bad request",
		    "limit=%s: a number from 1 to %d", clean(b, sizeof(b), v,
		    30), LIST_MAX);
	if ((v = arg(c, "after")) != NULL && parse_pos(v, &f.after_id) == -1)
		return http_error(c, MHD_HTTP_BAD_REQUEST, "bad request",
		    "after=%s: a message ID (the last one of the page before)",
		    clean(b, sizeof(b), v, 30));
	if ((v = arg(c, "batch")) != NULL && parse_pos(v, &f.batch) == -1)
		return http_error(c, MHD_HTTP_BAD_REQUEST, "bad request",
		    "batch=%s: a batch ID", clean(b, sizeof(b), v, 30));
	spool_clearerr(&err);
	if ((s = http_store(h, &err)) == NULL)
		return store_down(c, &err);
	jd_init(&j, NULL);
	if (jv_list(&j, s, &f, store_now_ms(), &err) == -1) {
		jd_free(&j);
		return store_down(c, &err);
	}
	return send_doc(c, MHD_HTTP_OK, &j);
}

/* GET /api/batches, /api/batches/{id} */
static enum MHD_Result
get_batches(struct http *h, struct MHD_Connection *c, struct http_req *r,
    const char *sid)
{
	static const char *const known[] = { "limit", NULL };
	struct spool_error err;
	struct store *s;
	struct jdoc j;
	const char *v, *bad, *p;
	int64_t id, limit = LIST_DEFAULT;
	char b[64];
	int rc;

	spool_clearerr(&err);
	if (sid == NULL && (bad = unknown_arg(c, known)) != NULL)
		return bad_arg(c, bad, "GET /api/batches");
	if (sid != NULL && parse_pos(sid, &id) == -1)
		return not_found(c, "batch", sid);
	if (sid == NULL && (v = arg(c, "limit")) != NULL &&
	    (parse_pos(v, &limit) == -1 || limit > LIST_MAX))
		return http_error(c, MHD_HTTP_BAD_REQUEST, "bad request",
		    "limit=%s: a number from 1 to %d", clean(b, sizeof(b), v,
		    30), LIST_MAX);
	if ((s = http_store(h, &err)) == NULL)
		return store_down(c, &err);
	jd_init(&j, NULL);
	if (sid == NULL) {
		if (jv_batches(&j, s, r->who.admin ? NULL : r->who.partner,
		    limit, &err) == -1) {
			jd_free(&j);
			return store_down(c, &err);
		}
		return send_doc(c, MHD_HTTP_OK, &j);
	}
	if ((rc = jv_batch(&j, s, id, &err)) == -1) {
		jd_free(&j);
		return store_down(c, &err);
	}
	if (rc == 0 || (!r->who.admin && ((p = doc_partner(&j, NULL)) ==
	    NULL || strcmp(p, r->who.partner) != 0))) {
		jd_free(&j);
		return not_found(c, "batch", sid);
	}
	return send_doc(c, MHD_HTTP_OK, &j);
}

/*
 * "{partner}/{id}[/{action}]" after a prefix, or the query form: the
 * partner and ID (pointers into buf or the query), the action (NULL if
 * the caller wants none). -1 when they are not there.
 */
static int
tx_params(struct MHD_Connection *c, const char *rest, char *buf, size_t len,
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
		*partner = arg(c, "partner");
		*txid = arg(c, "id");
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

/* GET /api/transactions/{partner}/{id}, /api/transactions?partner=&id= */
static enum MHD_Result
get_tx(struct http *h, struct MHD_Connection *c, struct http_req *r,
    const char *rest)
{
	static const char *const known[] = { "partner", "id", NULL };
	struct spool_error err;
	struct store *s;
	struct jdoc j;
	const char *partner, *txid, *bad;
	char buf[1024];
	int rc;

	if ((bad = unknown_arg(c, known)) != NULL)
		return bad_arg(c, bad, "GET /api/transactions");
	if (tx_params(c, rest, buf, sizeof(buf), &partner, &txid, NULL) == -1)
		return http_error(c, MHD_HTTP_BAD_REQUEST, "bad request",
		    "name the transaction: /api/transactions/PARTNER/ID, or "
		    "/api/transactions?partner=PARTNER&id=ID "
		    "(percent-encoded)");
	if (!r->who.admin && strcmp(partner, r->who.partner) != 0)
		return forbidden(c, "this token reads partner %s's "
		    "transactions only", r->who.partner);
	spool_clearerr(&err);
	if ((s = http_store(h, &err)) == NULL)
		return store_down(c, &err);
	jd_init(&j, NULL);
	if ((rc = jv_tx(&j, s, partner, txid, store_now_ms(), &err)) == -1) {
		jd_free(&j);
		return store_down(c, &err);
	}
	if (rc == 0) {
		jd_free(&j);
		return not_found(c, "transaction", txid);
	}
	return send_doc(c, MHD_HTTP_OK, &j);
}

/* The admin's JSON body: an object, or NULL (answered 422 in *res). */
static json_t *
json_body(struct MHD_Connection *c, struct http_req *r, bool required,
    enum MHD_Result *res)
{
	json_error_t je;
	json_t *doc;

	if (r->blen == 0 && !required)
		return json_object();
	if (r->blen == 0) {
		*res = http_error(c, HTTP_UNPROCESSABLE, "bad JSON",
		    "the body is empty: send a JSON object (see "
		    "spoold-http(7))");
		return NULL;
	}
	if ((doc = json_loadb(r->body, r->blen, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL) {
		*res = http_error(c, HTTP_UNPROCESSABLE, "bad JSON",
		    "the body is not JSON: %s (line %d, column %d)", je.text,
		    je.line, je.column);
		return NULL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		*res = http_error(c, HTTP_UNPROCESSABLE, "bad JSON",
		    "the body must be a JSON object");
		return NULL;
	}
	return doc;
}

/* A field of the body nobody asked for: true, answered 422 in *res. */
static bool
unknown_field(struct MHD_Connection *c, json_t *doc,
    const char *const *known, enum MHD_Result *res)
{
	const char *key;
	json_t *v;
	size_t i;
	char b[128];

	json_object_foreach(doc, key, v) {
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (known[i] == NULL) {
			*res = http_error(c, HTTP_UNPROCESSABLE, "bad JSON",
			    "unknown field \"%s\" (see spoold-http(7))",
			    clean(b, sizeof(b), key, 60));
			return true;
		}
	}
	return false;
}

static enum MHD_Result
push(struct http *h, struct MHD_Connection *c, struct http_req *r,
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

/* POST /api/admin/transactions/{partner}/{id}/retry|skip */
static enum MHD_Result
admin_tx(struct http *h, struct MHD_Connection *c, struct http_req *r,
    const char *rest)
{
	static const char *const known_skip[] = { "seq", "reason", NULL };
	struct api_cmd *cmd;
	const char *partner, *txid, *action, *reason;
	enum MHD_Result res = MHD_NO;
	json_t *doc, *seq;
	char buf[1024];
	bool is_skip;

	if (tx_params(c, rest, buf, sizeof(buf), &partner, &txid, &action) ==
	    -1 || (strcmp(action, "retry") != 0 && strcmp(action, "skip") != 0))
		return http_error(c, MHD_HTTP_NOT_FOUND, "not found", "no "
		    "endpoint: POST /api/admin/transactions/PARTNER/ID/retry "
		    "or /skip (or .../retry?partner=PARTNER&id=ID)");
	is_skip = strcmp(action, "skip") == 0;
	if ((doc = json_body(c, r, is_skip, &res)) == NULL)
		return res;
	if (!is_skip && json_object_size(doc) > 0) {
		json_decref(doc);
		return http_error(c, HTTP_UNPROCESSABLE, "bad JSON",
		    "retry takes no fields (send no body, or {})");
	}
	if (is_skip && unknown_field(c, doc, known_skip, &res)) {
		json_decref(doc);
		return res;
	}
	cmd = api_cmd_new(is_skip ? API_SKIP : API_RETRY_TX);
	if (cmd != NULL && is_skip) {
		seq = json_object_get(doc, "seq");
		reason = json_string_value(json_object_get(doc, "reason"));
		if (!json_is_integer(seq) || json_integer_value(seq) < 1 ||
		    reason == NULL || reason[0] == '\0' ||
		    strlen(reason) > 1000) {
			json_decref(doc);
			api_cmd_free(cmd);
			return http_error(c, HTTP_UNPROCESSABLE,
			    "bad JSON", "skip wants {\"seq\": N (the number "
			    "the transaction waits for, >= 1), \"reason\": "
			    "\"why\" (1 to 1000 characters)}");
		}
		cmd->seq = json_integer_value(seq);
		cmd->reason = strdup(reason);
		cmd->user = strdup("http:admin");
		if (cmd->reason == NULL || cmd->user == NULL) {
			api_cmd_free(cmd);
			cmd = NULL;
		}
	}
	json_decref(doc);
	if (cmd != NULL && ((cmd->partner = strdup(partner)) == NULL ||
	    (cmd->tx = strdup(txid)) == NULL)) {
		api_cmd_free(cmd);
		cmd = NULL;
	}
	return push(h, c, r, cmd);
}

/* POST /api/admin/purge {"older_than": "30d", "dry_run": true} */
struct dry {
	int64_t		 matched;
	json_t		*ids;
};

static int
dry_one(void *arg, struct store_admin_msg *m)
{
	struct dry *d = arg;

	if (d->matched++ < LIST_MAX)
		json_array_append_new(d->ids, json_integer(m->id));
	return 0;
}

static enum MHD_Result
admin_purge(struct http *h, struct MHD_Connection *c, struct http_req *r)
{
	static const char *const known[] = { "older_than", "dry_run", NULL };
	struct spool_error err;
	struct api_cmd *cmd;
	enum MHD_Result res = MHD_NO;
	struct dry d;
	struct store *s;
	struct spooldir *sd;
	int64_t bundles;
	json_t *doc, *dr;
	const char *age;
	uint64_t ms;
	int64_t now = store_now_ms(), before;
	char t[32];
	bool dry_run;
	int rc;

	if ((doc = json_body(c, r, true, &res)) == NULL)
		return res;
	if (unknown_field(c, doc, known, &res)) {
		json_decref(doc);
		return res;
	}
	age = json_string_value(json_object_get(doc, "older_than"));
	dr = json_object_get(doc, "dry_run");
	if (age == NULL || conf_parse_duration(age, &ms) == -1 || ms == 0 ||
	    ms > (uint64_t)now || (dr != NULL && !json_is_boolean(dr))) {
		json_decref(doc);
		return http_error(c, HTTP_UNPROCESSABLE, "bad JSON",
		    "purge wants {\"older_than\": \"30d\" (a duration with "
		    "ms, s, m, h or d), \"dry_run\": true or false}");
	}
	dry_run = dr != NULL && json_is_true(dr);
	json_decref(doc);
	before = now - (int64_t)ms;
	if (!dry_run) {
		if ((cmd = api_cmd_new(API_PURGE)) != NULL)
			cmd->before = before;
		return push(h, c, r, cmd);
	}
	/* A dry run only reads: here. */
	spool_clearerr(&err);
	if ((s = http_store(h, &err)) == NULL)
		return store_down(c, &err);
	d.matched = 0;
	if ((d.ids = json_array()) == NULL)
		return MHD_NO;
	if (store_admin_read_begin(s, &err) == -1) {
		json_decref(d.ids);
		return store_down(c, &err);
	}
	rc = store_admin_purge_candidates(s, before, INT64_MAX, 0, h->archive,
	    dry_one, &d, &err);
	store_admin_read_end(s);
	if (rc == -1 || (sd = http_spooldir(h, &err)) == NULL ||
	    (bundles = retention_bundles(s, sd, before, true, &err)) == -1) {
		json_decref(d.ids);
		return store_down(c, &err);
	}
	return http_json(c, MHD_HTTP_OK, json_pack("{s:b, s:I, s:s, s:I, "
	    "s:o, s:I}", "dry_run", 1, "older_than_seconds", (json_int_t)(ms /
	    1000), "before", tiso(t, sizeof(t), before), "matched",
	    (json_int_t)d.matched, "ids", d.ids, "bundles",
	    (json_int_t)bundles));
}

/* A positive integer field, or -1 absent; -2 when it is not one. */
static int64_t
int_field(json_t *doc, const char *key)
{
	json_t *v = json_object_get(doc, key);

	if (v == NULL)
		return -1;
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		return -2;
	return json_integer_value(v);
}

/* GET or POST /api/admin/config */
static enum MHD_Result
admin_config(struct http *h, struct MHD_Connection *c, struct http_req *r,
    const char *method)
{
	static const char *const known[] = { "batch_size", "chunk_size",
	    "workers", "log_level", NULL };
	struct api_cmd *cmd;
	enum MHD_Result res = MHD_NO;
	json_t *doc, *lv;
	const char *level;

	if (strcmp(method, "GET") == 0)
		return push(h, c, r, api_cmd_new(API_CONFIG_GET));
	if ((doc = json_body(c, r, true, &res)) == NULL)
		return res;
	if (unknown_field(c, doc, known, &res)) {
		json_decref(doc);
		return res;
	}
	if ((cmd = api_cmd_new(API_CONFIG_SET)) == NULL) {
		json_decref(doc);
		return push(h, c, r, NULL);
	}
	cmd->batch_size = int_field(doc, "batch_size");
	cmd->chunk_size = int_field(doc, "chunk_size");
	cmd->workers = int_field(doc, "workers");
	lv = json_object_get(doc, "log_level");
	level = json_string_value(lv);
	if (level != NULL)
		cmd->log_level = log_level_parse(level);
	if (cmd->batch_size == -2 || cmd->chunk_size == -2 ||
	    cmd->workers == -2 || (lv != NULL && (level == NULL ||
	    cmd->log_level < 0)) || json_object_size(doc) == 0) {
		json_decref(doc);
		api_cmd_free(cmd);
		return http_error(c, HTTP_UNPROCESSABLE, "bad JSON",
		    "config wants one or more of {\"batch_size\": N, "
		    "\"chunk_size\": N, \"workers\": N, \"log_level\": "
		    "\"err|warning|notice|info|debug\"} (integers >= 1)");
	}
	json_decref(doc);
	return push(h, c, r, cmd);
}

/* GET /api/metrics/summary */
struct counts_arg {
	json_t	*by_state, *by_partner;
};

static void
count_one(void *arg, const char *state, const char *partner, int64_t n)
{
	struct counts_arg *a = arg;
	json_t *p, *v;

	if (state == NULL || partner == NULL)
		return;
	v = json_object_get(a->by_state, state);
	json_object_set_new(a->by_state, state, json_integer(
	    (v != NULL ? json_integer_value(v) : 0) + n));
	if ((p = json_object_get(a->by_partner, partner)) == NULL) {
		p = json_object();
		json_object_set_new(a->by_partner, partner, p);
	}
	json_object_set_new(p, state, json_integer(n));
}

static int64_t
quantile(const int64_t *v, size_t n, double q)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static enum MHD_Result
metrics_summary(struct http *h, struct MHD_Connection *c)
{
	static const int mins[] = { 1, 5, 15 };
	struct counts_arg ca;
	struct spool_error err;
	struct store_stats *ss;
	struct store *s;
	json_t *rates, *lat;
	int64_t now = store_now_ms(), p, f, *v = NULL;
	size_t i, n = 0;
	char key[32];

	spool_clearerr(&err);
	if ((ss = http_stats(h, &err)) == NULL ||
	    (s = http_store(h, &err)) == NULL)
		return store_down(c, &err);
	ca.by_state = json_object();
	ca.by_partner = json_object();
	rates = json_object();
	if (store_stats_counts(ss, count_one, &ca, &err) == -1 ||
	    store_admin_read_begin(s, &err) == -1)
		goto fail;
	for (i = 0; i < 3; i++) {
		if (store_summary_since(s, now - mins[i] * 60000, &p, &f,
		    &err) == -1)
			goto fail_read;
		snprintf(key, sizeof(key), "%dm", mins[i]);
		json_object_set_new(rates, key, json_pack("{s:I, s:I, s:f, "
		    "s:f}", "processed", (json_int_t)p, "failed",
		    (json_int_t)f, "processed_per_second", (double)p /
		    (mins[i] * 60.0), "failed_per_second", (double)f /
		    (mins[i] * 60.0)));
	}
	if (store_summary_latencies(s, now - 15 * 60000, &v, &n, &err) == -1)
		goto fail_read;
	store_admin_read_end(s);
	lat = json_pack("{s:s, s:I, s:f, s:f, s:f, s:f}", "window", "15m",
	    "count", (json_int_t)n, "p50_seconds", quantile(v, n, 0.5) /
	    1000.0, "p90_seconds", quantile(v, n, 0.9) / 1000.0,
	    "p99_seconds", quantile(v, n, 0.99) / 1000.0, "max_seconds",
	    n > 0 ? v[n - 1] / 1000.0 : 0.0);
	free(v);
	return http_json(c, MHD_HTTP_OK, json_pack("{s:o, s:o, s:o, s:o}",
	    "messages", ca.by_state, "by_partner", ca.by_partner, "rates",
	    rates, "latency", lat));
fail_read:
	store_admin_read_end(s);
fail:
	json_decref(ca.by_state);
	json_decref(ca.by_partner);
	json_decref(rates);
	return store_down(c, &err);
}

/* GET /api/metrics/time-series?window=1h&step=1m */
struct series_arg {
	json_t	*points;
	int64_t	 from, step;
};

static void
series_one(void *arg, int64_t idx, int64_t processed, int64_t failed)
{
	struct series_arg *a = arg;
	json_t *pt = json_array_get(a->points, (size_t)idx);

	if (pt == NULL)
		return;
	json_object_set_new(pt, "processed", json_integer(processed));
	json_object_set_new(pt, "failed", json_integer(failed));
}

static enum MHD_Result
metrics_series(struct http *h, struct MHD_Connection *c)
{
	static const char *const known[] = { "window", "step", NULL };
	struct series_arg sa;
	struct spool_error err;
	struct store *s;
	const char *w = arg(c, "window"), *st = arg(c, "step"), *bad;
	uint64_t wms = 3600000, sms = 60000;
	int64_t now = store_now_ms(), i, nsteps;
	char t[32];
	int rc;

	if ((bad = unknown_arg(c, known)) != NULL)
		return bad_arg(c, bad, "GET /api/metrics/time-series");
	if ((w != NULL && conf_parse_duration(w, &wms) == -1) ||
	    (st != NULL && conf_parse_duration(st, &sms) == -1) ||
	    sms < 1000 || wms < sms || wms > (uint64_t)now ||
	    wms / sms > SERIES_STEPS_MAX)
		return http_error(c, MHD_HTTP_BAD_REQUEST, "bad request",
		    "window and step are durations (ms, s, m, h, d; default "
		    "1h and 1m), step at least 1s, window at least a step "
		    "and at most %d steps", SERIES_STEPS_MAX);
	nsteps = (int64_t)((wms + sms - 1) / sms);
	sa.step = (int64_t)sms;
	sa.from = now - nsteps * sa.step;
	sa.points = json_array();
	for (i = 0; i < nsteps; i++)
		json_array_append_new(sa.points, json_pack("{s:s, s:I, s:I}",
		    "start", tiso(t, sizeof(t), sa.from + i * sa.step),
		    "processed", (json_int_t)0, "failed", (json_int_t)0));
	spool_clearerr(&err);
	if ((s = http_store(h, &err)) == NULL) {
		json_decref(sa.points);
		return store_down(c, &err);
	}
	rc = store_summary_series(s, sa.from, sa.step, series_one, &sa, &err);
	if (rc == -1) {
		json_decref(sa.points);
		return store_down(c, &err);
	}
	return http_json(c, MHD_HTTP_OK, json_pack("{s:I, s:I, s:s, s:o}",
	    "window_seconds", (json_int_t)(nsteps * sa.step / 1000),
	    "step_seconds", (json_int_t)(sa.step / 1000), "from",
	    tiso(t, sizeof(t), sa.from), "points", sa.points));
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

/* /api/admin/... (the admin's alone). */
static enum MHD_Result
admin(struct http *h, struct MHD_Connection *c, struct http_req *r,
    const char *url, const char *method)
{
	const char *rest = url + 11, *end;
	int64_t id;
	struct api_cmd *cmd;
	bool post = strcmp(method, "POST") == 0;

	if (!r->who.admin)
		return forbidden(c, "%s: only the admin token may use "
		    "/api/admin/", r->who.partner);
	if (strcmp(rest, "config") == 0) {
		if (!post && strcmp(method, "GET") != 0)
			return method_not_allowed(c, "GET, POST");
		return admin_config(h, c, r, method);
	}
	if (!post)
		return method_not_allowed(c, "POST");
	if (strcmp(rest, "purge") == 0)
		return admin_purge(h, c, r);
	if (strncmp(rest, "transactions/", 13) == 0)
		return admin_tx(h, c, r, rest + 13);
	if (strncmp(rest, "messages/", 9) == 0 &&
	    (end = strrchr(rest, '/')) != NULL && strcmp(end, "/retry") == 0) {
		char sid[32];
		size_t n = (size_t)(end - (rest + 9));

		if (n == 0 || n >= sizeof(sid))
			return not_found(c, "message", "");
		memcpy(sid, rest + 9, n);
		sid[n] = '\0';
		if (parse_pos(sid, &id) == -1)
			return not_found(c, "message", sid);
		if (r->blen > 0 && strspn(r->body, " \t\r\n{}") != r->blen)
			return http_error(c, HTTP_UNPROCESSABLE,
			    "bad JSON", "retry takes no fields (send no "
			    "body, or {})");
		if ((cmd = api_cmd_new(API_RETRY_MSG)) != NULL)
			cmd->id = id;
		return push(h, c, r, cmd);
	}
	return http_error(c, MHD_HTTP_NOT_FOUND, "not found", "no endpoint "
	    "POST %s (see spoold-http(7))", url);
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
		return admin(h, c, r, url, method);
	if (strcmp(url, "/api/messages") == 0 ||
	    strcmp(url, "/api/batches") == 0) {
		if (post)
			return submit_answer(h, c, r);
		if (!get)
			return method_not_allowed(c, "GET, POST");
		if (url[5] == 'm')
			return list_messages(h, c, r);
		return get_batches(h, c, r, NULL);
	}
	if (!get && (strncmp(url, "/api/messages/", 14) == 0 ||
	    strncmp(url, "/api/batches/", 13) == 0 ||
	    strncmp(url, "/api/transactions", 17) == 0 ||
	    strncmp(url, "/api/metrics/", 13) == 0))
		return method_not_allowed(c, "GET");
	if (strncmp(url, "/api/messages/", 14) == 0)
		return get_message(h, c, r, url + 14);
	if (strncmp(url, "/api/batches/", 13) == 0)
		return get_batches(h, c, r, url + 13);
	if (strcmp(url, "/api/transactions") == 0)
		return get_tx(h, c, r, "");
	if (strncmp(url, "/api/transactions/", 18) == 0)
		return get_tx(h, c, r, url + 18);
	if (strcmp(url, "/api/metrics/summary") == 0 ||
	    strcmp(url, "/api/metrics/time-series") == 0) {
		if (!r->who.admin)
			return forbidden(c, "%s: the metrics are the admin "
			    "token's", r->who.partner);
		return url[13] == 's' ? metrics_summary(h, c) :
		    metrics_series(h, c);
	}
	return http_error(c, MHD_HTTP_NOT_FOUND, "not found", "no endpoint "
	    "%s %s (see spoold-http(7))", method, url);
}
