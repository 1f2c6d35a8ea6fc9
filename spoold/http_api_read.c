/*
 * http_api_read.c - the read endpoints of the HTTP API (DESIGN 17):
 * GET /api/messages[/{id}], /api/batches[/{id}], /api/transactions/...
 * and the admin's /api/metrics/summary and /api/metrics/time-series.
 * Runs on libmicrohttpd's thread only; http_api.c routes here after the
 * token is checked.
 *
 * Every document is a view.c builder's (the one spoolctl --json prints)
 * read on this thread's read-only store connection (http_store()), or,
 * for the metrics, store_stats and store_summary figures. Nothing here
 * writes. A partner's token sees its own partner's rows only: another
 * partner's message or batch by ID is 404 (the document's partner is
 * compared after it is built), a list is filtered to it, another
 * partner by name is 403.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_api_int.h"
#include "jdoc.h"
#include "store_admin.h"
#include "store_stats.h"
#include "store_summary.h"
#include "view.h"

#define SERIES_STEPS_MAX 10000		/* window / step */

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
enum MHD_Result
api_get_message(struct http *h, struct MHD_Connection *c, struct http_req *r,
    const char *sid)
{
	struct spool_error err;
	struct store *s;
	struct jdoc j;
	const char *p;
	int64_t id;
	int rc;

	if (api_parse_pos(sid, &id) == -1)
		return api_not_found(c, "message", sid);
	spool_clearerr(&err);
	if ((s = http_store(h, &err)) == NULL)
		return api_store_down(c, &err);
	jd_init(&j, NULL);
	rc = jv_message(&j, s, http_spooldir(h, &err), id, store_now_ms(),
	    &err);
	if (rc == -1) {
		jd_free(&j);
		return api_store_down(c, &err);
	}
	/* Another partner's message is not there for this token. */
	if (rc == 0 || (!r->who.admin && ((p = doc_partner(&j, "message")) ==
	    NULL || strcmp(p, r->who.partner) != 0))) {
		jd_free(&j);
		return api_not_found(c, "message", sid);
	}
	return api_send_doc(c, MHD_HTTP_OK, &j);
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
enum MHD_Result
api_list_messages(struct http *h, struct MHD_Connection *c, struct http_req *r)
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

	if ((bad = api_unknown_arg(c, known)) != NULL)
		return api_bad_arg(c, bad, "GET /api/messages");
	memset(&f, 0, sizeof(f));
	f.state = -1;
	f.limit = API_LIST_DEFAULT;
	(void)MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, states_one,
	    &sa);
	if (sa.bad != NULL)
		return http_error(c, MHD_HTTP_BAD_REQUEST, "bad request",
		    "state=%s: a state is one of queue, parked, deferred, "
		    "failed, rejected, done (several: comma-separated)",
		    clean(b, sizeof(b), sa.bad, 60));
	f.states = sa.bits;
	f.partner = api_arg(c, "partner");
	if (!r->who.admin) {
		if (f.partner != NULL && strcmp(f.partner, r->who.partner) != 0)
			return api_forbidden(c, "this token reads partner %s's "
			    "messages only", r->who.partner);
		f.partner = r->who.partner;
	}
	f.type = api_arg(c, "type");
	f.transaction_id = api_arg(c, "tx");
	if ((v = api_arg(c, "limit")) != NULL &&
	    (api_parse_pos(v, &f.limit) == -1 || f.limit > API_LIST_MAX))
		return http_error(c, MHD_HTTP_BAD_REQUEST, "bad request",
		    "limit=%s: a number from 1 to %d", clean(b, sizeof(b), v,
		    30), API_LIST_MAX);
	if ((v = api_arg(c, "after")) != NULL &&
	    api_parse_pos(v, &f.after_id) == -1)
		return http_error(c, MHD_HTTP_BAD_REQUEST, "bad request",
		    "after=%s: a message ID (the last one of the page before)",
		    clean(b, sizeof(b), v, 30));
	if ((v = api_arg(c, "batch")) != NULL &&
	    api_parse_pos(v, &f.batch) == -1)
		return http_error(c, MHD_HTTP_BAD_REQUEST, "bad request",
		    "batch=%s: a batch ID", clean(b, sizeof(b), v, 30));
	spool_clearerr(&err);
	if ((s = http_store(h, &err)) == NULL)
		return api_store_down(c, &err);
	jd_init(&j, NULL);
	if (jv_list(&j, s, &f, store_now_ms(), &err) == -1) {
		jd_free(&j);
		return api_store_down(c, &err);
	}
	return api_send_doc(c, MHD_HTTP_OK, &j);
}

/* GET /api/batches, /api/batches/{id} */
enum MHD_Result
api_get_batches(struct http *h, struct MHD_Connection *c, struct http_req *r,
    const char *sid)
{
	static const char *const known[] = { "limit", NULL };
	struct spool_error err;
	struct store *s;
	struct jdoc j;
	const char *v, *bad, *p;
	int64_t id, limit = API_LIST_DEFAULT;
	char b[64];
	int rc;

	spool_clearerr(&err);
	if (sid == NULL && (bad = api_unknown_arg(c, known)) != NULL)
		return api_bad_arg(c, bad, "GET /api/batches");
	if (sid != NULL && api_parse_pos(sid, &id) == -1)
		return api_not_found(c, "batch", sid);
	if (sid == NULL && (v = api_arg(c, "limit")) != NULL &&
	    (api_parse_pos(v, &limit) == -1 || limit > API_LIST_MAX))
		return http_error(c, MHD_HTTP_BAD_REQUEST, "bad request",
		    "limit=%s: a number from 1 to %d", clean(b, sizeof(b), v,
		    30), API_LIST_MAX);
	if ((s = http_store(h, &err)) == NULL)
		return api_store_down(c, &err);
	jd_init(&j, NULL);
	if (sid == NULL) {
		if (jv_batches(&j, s, r->who.admin ? NULL : r->who.partner,
		    limit, &err) == -1) {
			jd_free(&j);
			return api_store_down(c, &err);
		}
		return api_send_doc(c, MHD_HTTP_OK, &j);
	}
	if ((rc = jv_batch(&j, s, id, r->who.admin, &err)) == -1) {
		jd_free(&j);
		return api_store_down(c, &err);
	}
	if (rc == 0 || (!r->who.admin && ((p = doc_partner(&j, NULL)) ==
	    NULL || strcmp(p, r->who.partner) != 0))) {
		jd_free(&j);
		return api_not_found(c, "batch", sid);
	}
	return api_send_doc(c, MHD_HTTP_OK, &j);
}

/* GET /api/transactions/{partner}/{id}, /api/transactions?partner=&id= */
enum MHD_Result
api_get_tx(struct http *h, struct MHD_Connection *c, struct http_req *r,
    const char *rest)
{
	static const char *const known[] = { "partner", "id", NULL };
	struct spool_error err;
	struct store *s;
	struct jdoc j;
	const char *partner, *txid, *bad;
	char buf[1024];
	int rc;

	if ((bad = api_unknown_arg(c, known)) != NULL)
		return api_bad_arg(c, bad, "GET /api/transactions");
	if (api_tx_params(c, rest, buf, sizeof(buf), &partner, &txid,
	    NULL) == -1)
		return http_error(c, MHD_HTTP_BAD_REQUEST, "bad request",
		    "name the transaction: /api/transactions/PARTNER/ID, or "
		    "/api/transactions?partner=PARTNER&id=ID "
		    "(percent-encoded)");
	if (!r->who.admin && strcmp(partner, r->who.partner) != 0)
		return api_forbidden(c, "this token reads partner %s's "
		    "transactions only", r->who.partner);
	spool_clearerr(&err);
	if ((s = http_store(h, &err)) == NULL)
		return api_store_down(c, &err);
	jd_init(&j, NULL);
	if ((rc = jv_tx(&j, s, partner, txid, store_now_ms(), &err)) == -1) {
		jd_free(&j);
		return api_store_down(c, &err);
	}
	if (rc == 0) {
		jd_free(&j);
		return api_not_found(c, "transaction", txid);
	}
	return api_send_doc(c, MHD_HTTP_OK, &j);
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

enum MHD_Result
api_metrics_summary(struct http *h, struct MHD_Connection *c)
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
		return api_store_down(c, &err);
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
	return api_store_down(c, &err);
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

enum MHD_Result
api_metrics_series(struct http *h, struct MHD_Connection *c)
{
	static const char *const known[] = { "window", "step", NULL };
	struct series_arg sa;
	struct spool_error err;
	struct store *s;
	const char *w = api_arg(c, "window"), *st = api_arg(c, "step"), *bad;
	uint64_t wms = 3600000, sms = 60000;
	int64_t now = store_now_ms(), i, nsteps;
	char t[32];
	int rc;

	if ((bad = api_unknown_arg(c, known)) != NULL)
		return api_bad_arg(c, bad, "GET /api/metrics/time-series");
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
		return api_store_down(c, &err);
	}
	rc = store_summary_series(s, sa.from, sa.step, series_one, &sa, &err);
	if (rc == -1) {
		json_decref(sa.points);
		return api_store_down(c, &err);
	}
	return http_json(c, MHD_HTTP_OK, json_pack("{s:I, s:I, s:s, s:o}",
	    "window_seconds", (json_int_t)(nsteps * sa.step / 1000),
	    "step_seconds", (json_int_t)(sa.step / 1000), "from",
	    tiso(t, sizeof(t), sa.from), "points", sa.points));
}
