/*
 * api_exec.c - the HTTP API's writes, run on the loop thread (api.h).
 *
 * The HTTP thread never writes the store: retry, skip, purge and the
 * configuration changes come here through the command queue and run
 * between two steps of the loop, on the loop's own store connection,
 * exactly as spoolctl's levers do (lever.c: one write transaction, the
 * COMMIT, then the renames; retention.c for the purge of done/). The
 * crash-safety argument is theirs. The loop runs a cycle right after,
 * so a retried message is tried at once.
 *
 * A configuration change (batch_size, chunk_size, workers, the log
 * level) is made to the loop's struct conf in place and lasts until the
 * next reload (SIGHUP reads spoold.conf again). Values are checked
 * against the ranges of spoold.conf(5) first; nothing changes unless
 * all of them are good.
 *
 * Every answer is a JSON document; every refusal says why, with the
 * status a client can act on: 404 (no such message or transaction),
 * 409 (its state forbids it), 422 (a value out of range), 503 (the
 * store is busy or failing: try again).
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "lever.h"
#include "log.h"
#include "retention.h"
#include "store_admin.h"

#define PURGE_ROUNDS_MAX	100000	/* batches of RETENTION_BATCH */

struct api_cmd *
api_cmd_new(enum api_op op)
{
	struct api_cmd *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->op = op;
	c->batch_size = c->chunk_size = c->workers = -1;
	c->log_level = -1;
	return c;
}

void
api_cmd_free(struct api_cmd *c)
{
	if (c == NULL)
		return;
	free(c->partner);
	free(c->tx);
	free(c->reason);
	free(c->user);
	json_decref(c->doc);
	free(c);
}

static void
answer(struct api_cmd *c, unsigned status, json_t *doc)
{
	c->status = status;
	json_decref(c->doc);
	c->doc = doc;
}

static void
refuse(struct api_cmd *c, unsigned status, const char *error,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
refuse(struct api_cmd *c, unsigned status, const char *error,
    const char *fmt, ...)
{
	char reason[SPOOL_ERRLEN + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	answer(c, status, json_pack("{s:s, s:s}", "error", error, "reason",
	    reason));
}

/* A store error: 503 when busy (try again), else 500. */
static void
store_trouble(struct api_ctx *x, struct api_cmd *c,
    const struct spool_error *err)
{
	if (store_admin_busy(x->store))
		refuse(c, 503, "store busy", "%s; try again", err->msg);
	else
		refuse(c, 500, "store error", "%s", err->msg);
}

static void
retry_msg(struct api_ctx *x, struct api_cmd *c)
{
	struct cycle_ctx ctx = { x->conf, x->store, x->sd, NULL, NULL, NULL,
	    NULL, NULL, NULL, NULL };
	struct store_msgref ref;
	struct spool_error err;
	int64_t n = 0;
	int rc;

	spool_clearerr(&err);
	memset(&ref, 0, sizeof(ref));
	if ((rc = store_get(x->store, c->id, &ref, &err)) == -1) {
		store_trouble(x, c, &err);
		return;
	}
	if (rc == 0) {
		refuse(c, 404, "not found", "no message %" PRId64, c->id);
		return;
	}
	if (ref.state != ST_FAILED && ref.state != ST_DEFERRED) {
		refuse(c, 409, "conflict", "message %" PRId64 " is %s: only "
		    "failed or deferred messages can be retried", c->id,
		    spool_state_name(ref.state));
		store_msgref_free(&ref);
		return;
	}
	if (lever_retry(&ctx, c->id, NULL, NULL, false, &n, &err) == -1) {
		store_msgref_free(&ref);
		store_trouble(x, c, &err);
		return;
	}
	if (n == 0) {
		store_msgref_free(&ref);
		refuse(c, 409, "conflict", "message %" PRId64 " has an exec "
		    "call running; retry it once the call has ended", c->id);
		return;
	}
	if (ref.transaction_id != NULL)
		log_notice("event=retry id=%" PRId64 " partner=%s tx=%s seq=%"
		    PRId64 " by=http", c->id, LOG_Q(ref.partner),
		    LOG_Q(ref.transaction_id), ref.sender_seq);
	else
		log_notice("event=retry id=%" PRId64 " partner=%s by=http",
		    c->id, LOG_Q(ref.partner));
	store_msgref_free(&ref);
	answer(c, 200, json_pack("{s:I, s:[I]}", "retried", (json_int_t)n,
	    "ids", (json_int_t)c->id));
}

/* 1 the transaction is known, 0 not (answered 404), -1 (answered). */
static int
tx_known(struct api_ctx *x, struct api_cmd *c)
{
	struct store_admin_tx tx;
	struct spool_error err;
	int rc;

	spool_clearerr(&err);
	if ((rc = store_admin_tx_get(x->store, c->partner, c->tx, &tx,
	    &err)) == -1) {
		store_trouble(x, c, &err);
		return -1;
	}
	if (rc == 0)
		refuse(c, 404, "not found", "no transaction %s of partner %s",
		    c->tx, c->partner);
	return rc;
}

static void
retry_tx(struct api_ctx *x, struct api_cmd *c)
{
	struct cycle_ctx ctx = { x->conf, x->store, x->sd, NULL, NULL, NULL,
	    NULL, NULL, NULL, NULL };
	struct spool_error err;
	int64_t n = 0;

	if (tx_known(x, c) != 1)
		return;
	spool_clearerr(&err);
	if (lever_retry(&ctx, 0, c->partner, c->tx, false, &n, &err) == -1) {
		store_trouble(x, c, &err);
		return;
	}
	if (n == 0) {
		refuse(c, 409, "conflict", "nothing to retry: no failed or "
		    "deferred message in transaction %s of partner %s (or "
		    "its exec call is still running)", c->tx, c->partner);
		return;
	}
	log_notice("event=retry partner=%s tx=%s messages=%" PRId64
	    " by=http", LOG_Q(c->partner), LOG_Q(c->tx), n);
	answer(c, 200, json_pack("{s:I, s:s, s:s}", "retried", (json_int_t)n,
	    "partner", c->partner, "transaction_id", c->tx));
}

static void
skip(struct api_ctx *x, struct api_cmd *c)
{
	struct cycle_ctx ctx = { x->conf, x->store, x->sd, NULL, NULL, NULL,
	    NULL, NULL, NULL, NULL };
	struct spool_error err;

	if (tx_known(x, c) != 1)
		return;
	spool_clearerr(&err);
	if (lever_skip(&ctx, c->partner, c->tx, c->seq, c->user, c->reason,
	    &err) == -1) {
		if (store_admin_busy(x->store))
			refuse(c, 503, "store busy", "%s; try again",
			    err.msg);
		else
			refuse(c, 409, "conflict", "%s", err.msg);
		return;
	}
	log_notice("event=skip partner=%s tx=%s seq=%" PRId64 " by=http",
	    LOG_Q(c->partner), LOG_Q(c->tx), c->seq);
	answer(c, 200, json_pack("{s:s, s:s, s:I, s:I, s:s, s:s}", "partner",
	    c->partner, "transaction_id", c->tx, "seq", (json_int_t)c->seq,
	    "to", (json_int_t)c->seq, "user", c->user, "reason", c->reason));
}

/*
 * done/ before c->before, a batch (RETENTION_BATCH) per transaction, as
 * retention does; stops when a batch was not full or removed nothing
 * (what is kept is counted and stays).
 */
static void
purge(struct api_ctx *x, struct api_cmd *c)
{
	struct retention_counts rc;
	struct spool_error err;
	int64_t n, matched = 0, before_removed, bundles;
	int rounds = 0;

	memset(&rc, 0, sizeof(rc));
	spool_clearerr(&err);
	do {
		before_removed = rc.removed;
		if ((n = retention_done(x->store, x->sd, c->before,
		    RETENTION_BATCH, x->conf->archive_argv != NULL, &rc,
		    &err)) == -1) {
			store_trouble(x, c, &err);
			return;
		}
		matched += n;
	} while (n == RETENTION_BATCH && rc.removed > before_removed &&
	    ++rounds < PURGE_ROUNDS_MAX);
	if ((bundles = retention_bundles(x->store, x->sd, ST_DONE, c->before,
	    0, false, false, &err)) == -1) {
		store_trouble(x, c, &err);
		return;
	}
	if (rc.removed > 0 || bundles > 0)
		log_notice("event=purge removed=%" PRId64 " kept=%" PRId64
		    " bundles=%" PRId64 " by=http", rc.removed, rc.kept,
		    bundles);
	answer(c, 200, json_pack("{s:b, s:I, s:I, s:I, s:I}", "dry_run", 0,
	    "matched", (json_int_t)matched, "removed",
	    (json_int_t)rc.removed, "kept", (json_int_t)rc.kept, "bundles",
	    (json_int_t)bundles));
}

json_t *
api_conf_json(const struct conf *cf)
{
	json_t *routes = json_array(), *partners = json_array(), *a, *doc;
	size_t i, k;

	for (i = 0; i < cf->nroutes; i++) {
		a = json_array();
		for (k = 0; cf->routes[i].argv != NULL &&
		    cf->routes[i].argv[k] != NULL; k++)
			json_array_append_new(a,
			    json_string(cf->routes[i].argv[k]));
		json_array_append_new(routes, json_pack("{s:s, s:s, s:o, "
		    "s:I, s:b}", "type", cf->routes[i].type, "handler",
		    cf->routes[i].handler, "command", a, "timeout_ms",
		    (json_int_t)cf->routes[i].timeout_ms, "auto_ack",
		    cf->routes[i].auto_ack));
	}
	for (i = 0; i < cf->npartners; i++) {
		a = json_array();
		for (k = 0; cf->partners[i].aliases != NULL &&
		    cf->partners[i].aliases[k] != NULL; k++)
			json_array_append_new(a,
			    json_string(cf->partners[i].aliases[k]));
		json_array_append_new(partners, json_pack("{s:s, s:o, s:b}",
		    "name", cf->partners[i].name, "aliases", a, "token",
		    cf->partners[i].token_sha256 != NULL));
	}
	doc = json_pack("{s:{s:s?, s:s?}, "
	    "s:{s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I}, "
	    "s:{s:I, s:f, s:I, s:I, s:I}, "
	    "s:{s:I, s:I, s:I}, "
	    "s:{s:s?, s:b, s:b, s:I, s:I, s:I}, "
	    "s:{s:s, s:s}, s:o, s:o, s:s?}",
	    "spool", "spool_dir", cf->spool_dir, "schema_dir", cf->schema_dir,
	    "processing", "batch_size", (json_int_t)cf->batch_size,
	    "chunk_size", (json_int_t)cf->chunk_size,
	    "workers", (json_int_t)cf->workers,
	    "settle_time_ms", (json_int_t)cf->settle_time_ms,
	    "max_message_size", (json_int_t)cf->max_message_size,
	    "require_schema", cf->require_schema,
	    "gap_alert_after_ms", (json_int_t)cf->gap_alert_after_ms,
	    "retention_ms", (json_int_t)cf->retention_ms,
	    "retention_interval_ms", (json_int_t)cf->retention_interval_ms,
	    "dedup_window_ms", (json_int_t)cf->dedup_window_ms,
	    "rejected_retention_ms", (json_int_t)cf->rejected_retention_ms,
	    "failed_retention_ms", (json_int_t)cf->failed_retention_ms,
	    "min_free_space", cf->min_free_space == CONF_MIN_FREE_AUTO ?
	    (json_int_t)-1 : (json_int_t)cf->min_free_space,
	    "max_text_length", (json_int_t)cf->msg_limits.max_text_length,
	    "retry", "initial_ms", (json_int_t)cf->retry_initial_ms,
	    "multiplier", cf->retry_multiplier,
	    "max_delay_ms", (json_int_t)cf->retry_max_delay_ms,
	    "max_attempts", (json_int_t)cf->retry_max_attempts,
	    "jitter_pct", (json_int_t)cf->retry_jitter_pct,
	    "bundle", "max_entries", (json_int_t)cf->bundle_max_entries,
	    "max_entry_size", (json_int_t)cf->bundle_max_entry_size,
	    "max_total_size", (json_int_t)cf->bundle_max_total_size,
	    "http", "listen", cf->http_listen,
	    "tls", cf->http_tls_cert != NULL,
	    "admin_token", cf->http_admin_token_sha256 != NULL,
	    "max_connections", (json_int_t)cf->http_max_connections,
	    "per_ip_limit", (json_int_t)cf->http_per_ip_limit,
	    "timeout_ms", (json_int_t)cf->http_timeout_ms,
	    "log", "level", log_level_name(log_level()),
	    "target", cf->log_target == LOG_TARGET_SYSLOG ? "syslog" :
	    "stderr",
	    "routes", routes, "partners", partners,
	    "config_file", cf->path);
	return doc;
}

static void
config_set(struct api_ctx *x, struct api_cmd *c)
{
	struct conf *cf = x->conf;
	int64_t bs = c->batch_size >= 0 ? c->batch_size : cf->batch_size;
	int64_t cs = c->chunk_size >= 0 ? c->chunk_size : cf->chunk_size;
	int64_t w = c->workers >= 0 ? c->workers : cf->workers;

	/* The ranges of spoold.conf(5), [processing]. */
	if (bs < 1 || bs > 100000) {
		refuse(c, 422, "bad value", "batch_size must be 1 to 100000, "
		    "not %" PRId64, bs);
		return;
	}
	if (cs < 1 || cs > 100000 || cs > bs) {
		refuse(c, 422, "bad value", "chunk_size must be 1 to 100000 "
		    "and not exceed batch_size (%" PRId64 "), not %" PRId64,
		    bs, cs);
		return;
	}
	if (w < 1 || w > 256) {
		refuse(c, 422, "bad value", "workers must be 1 to 256, not %"
		    PRId64, w);
		return;
	}
	cf->batch_size = (unsigned)bs;
	cf->chunk_size = (unsigned)cs;
	cf->workers = (unsigned)w;
	if (c->log_level >= 0 && !x->verbose)
		log_set_level(c->log_level);
	log_notice("event=config batch_size=%u chunk_size=%u workers=%u "
	    "log_level=%s by=http reason=\"until the next reload\"",
	    cf->batch_size, cf->chunk_size, cf->workers,
	    log_level_name(log_level()));
	answer(c, 200, api_conf_json(cf));
}

void
api_exec(struct api_ctx *x, struct api_cmd *c)
{
	switch (c->op) {
	case API_RETRY_MSG:
		retry_msg(x, c);
		break;
	case API_RETRY_TX:
		retry_tx(x, c);
		break;
	case API_SKIP:
		skip(x, c);
		break;
	case API_PURGE:
		purge(x, c);
		break;
	case API_CONFIG_GET:
		answer(c, 200, api_conf_json(x->conf));
		break;
	case API_CONFIG_SET:
		config_set(x, c);
		break;
	}
	if (c->doc == NULL)
		refuse(c, 500, "out of memory", "spoold could not build the "
		    "answer");
}
