/*
 * http_api_admin.c - the admin's endpoints of the HTTP API (DESIGN 17),
 * /api/admin/...: retry and skip of a transaction, retry of a message,
 * purge (a dry run, or the real one), and the configuration's GET and
 * POST. The admin token's alone (403 for a partner's). Runs on
 * libmicrohttpd's thread only; http_api.c routes here.
 *
 * A body is a JSON object with only the fields asked for (an unknown
 * one is 422, so a typo is never ignored). Nothing is changed on this
 * thread: each write becomes a struct api_cmd for the loop thread
 * (api_push()), which answers; only a purge's dry run, which reads, is
 * answered here, from the read-only store connection.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_api_int.h"
#include "log.h"
#include "retention.h"
#include "store_admin.h"
#include "view.h"

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

	if (api_tx_params(c, rest, buf, sizeof(buf), &partner, &txid,
	    &action) == -1 || (strcmp(action, "retry") != 0 &&
	    strcmp(action, "skip") != 0))
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
	return api_push(h, c, r, cmd);
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

	if (d->matched++ < API_LIST_MAX)
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
		return api_push(h, c, r, cmd);
	}
	/* A dry run only reads: here. */
	spool_clearerr(&err);
	if ((s = http_store(h, &err)) == NULL)
		return api_store_down(c, &err);
	d.matched = 0;
	if ((d.ids = json_array()) == NULL)
		return MHD_NO;
	if (store_admin_read_begin(s, &err) == -1) {
		json_decref(d.ids);
		return api_store_down(c, &err);
	}
	rc = store_admin_purge_candidates(s, before, INT64_MAX, 0, h->archive,
	    dry_one, &d, &err);
	store_admin_read_end(s);
	if (rc == -1 || (sd = http_spooldir(h, &err)) == NULL ||
	    (bundles = retention_bundles(s, sd, ST_DONE, before, 0, true,
	    h->archive, &err)) == -1) {
		json_decref(d.ids);
		return api_store_down(c, &err);
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
		return api_push(h, c, r, api_cmd_new(API_CONFIG_GET));
	if ((doc = json_body(c, r, true, &res)) == NULL)
		return res;
	if (unknown_field(c, doc, known, &res)) {
		json_decref(doc);
		return res;
	}
	if ((cmd = api_cmd_new(API_CONFIG_SET)) == NULL) {
		json_decref(doc);
		return api_push(h, c, r, NULL);
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
	return api_push(h, c, r, cmd);
}

/* /api/admin/... (the admin's alone). */
enum MHD_Result
api_admin(struct http *h, struct MHD_Connection *c, struct http_req *r,
    const char *url, const char *method)
{
	const char *rest = url + 11, *end;
	int64_t id;
	struct api_cmd *cmd;
	bool post = strcmp(method, "POST") == 0;

	if (!r->who.admin)
		return api_forbidden(c, "%s: only the admin token may use "
		    "/api/admin/", r->who.partner);
	if (strcmp(rest, "config") == 0) {
		if (!post && strcmp(method, "GET") != 0)
			return api_method_not_allowed(c, "GET, POST");
		return admin_config(h, c, r, method);
	}
	if (!post)
		return api_method_not_allowed(c, "POST");
	if (strcmp(rest, "purge") == 0)
		return admin_purge(h, c, r);
	if (strncmp(rest, "transactions/", 13) == 0)
		return admin_tx(h, c, r, rest + 13);
	if (strncmp(rest, "messages/", 9) == 0 &&
	    (end = strrchr(rest, '/')) != NULL && strcmp(end, "/retry") == 0) {
		char sid[32];
		size_t n = (size_t)(end - (rest + 9));

		if (n == 0 || n >= sizeof(sid))
			return api_not_found(c, "message", "");
		memcpy(sid, rest + 9, n);
		sid[n] = '\0';
		if (api_parse_pos(sid, &id) == -1)
			return api_not_found(c, "message", sid);
		if (r->blen > 0 && strspn(r->body, " \t\r\n{}") != r->blen)
			return http_error(c, HTTP_UNPROCESSABLE,
			    "bad JSON", "retry takes no fields (send no "
			    "body, or {})");
		if ((cmd = api_cmd_new(API_RETRY_MSG)) != NULL)
			cmd->id = id;
		return api_push(h, c, r, cmd);
	}
	return http_error(c, MHD_HTTP_NOT_FOUND, "not found", "no endpoint "
	    "POST %s (see spoold-http(7))", url);
}
