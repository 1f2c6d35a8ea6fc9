/*
 * http_submit.c - POST /api/messages and POST /api/batches: a submission
 * is a drop (DESIGN 17). Runs on libmicrohttpd's thread only.
 *
 * The body is written, as it arrives, to a dot file in
 * incoming/<partner>/ (which the watcher ignores), bounded by
 * max_message_size or [bundle] max_total_size (413 past it, the file
 * removed); once it is all in, the file is fsynced, renamed to its name
 * (http-<ms>-<pid>-<n>: made here, never from the request) and the
 * directory fsynced, exactly as an SFTP upload lands. From then on it is
 * an upload like any other: the loop accepts it (or rejects it) in its
 * next acceptance batch and moves it; nothing here writes the store.
 *
 * Waiting for the acceptance COMMIT: the request is suspended on the
 * server's waiting list (http.c); after every acceptance batch the loop
 * wakes every waiting request (http_kick()), and each looks its file up
 * in the store by (partner, upload name, SHA-256): a batch (a bundle or
 * an EDI interchange: 202 with the batch; 403 when every entry was
 * rejected as spoofed), or a message (201 with its id, state and
 * classification: accepted, parked or duplicate; 422 with the rejection
 * reason when it was rejected, 403 when it was rejected as spoofed: a
 * partner's token never speaks for another partner). POST /api/messages
 * of a body that became a batch of one message (an EDI interchange of
 * one message) is answered as that message: one message, any dialect,
 * is 201 (or 422, 403) whatever its envelope. A wake-up counter
 * read before each look closes the race between the look and going back
 * to sleep. The loop also wakes waiters at every turn (at least every 5
 * s while HTTP is on), so a request that waited submit_wait_ms (60 s;
 * the disk below min_free_space, say) gets 503, its file left in
 * incoming/ to be accepted when spoold can.
 *
 * A client that goes away: the dot file is removed (http_req_free());
 * once renamed the file is an upload and stays.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "http_int.h"
#include "jdoc.h"
#include "store_admin.h"
#include "store_batch.h"
#include "view.h"

struct submit {
	char		 partner[AUTH_NAME_MAX];
	int		 dirfd;		/* incoming/<partner>, or -1 */
	int		 fd;		/* the dot file, or -1 */
	char		 dot[128], name[96];
	struct sha256_ctx sha;
	uint8_t		 digest[SHA256_DIGEST_SIZE];
	bool		 renamed;
	bool		 bundle;	/* POST /api/batches */
	struct http	*landing;	/* counted in http_landed() */
	int64_t		 deadline;	/* ms */
	/* Refused before or while writing: the answer. */
	unsigned	 status;
	char		 error[32];
	char		 reason[512];
};

void
submit_free(struct submit *s)
{
	if (s == NULL)
		return;
	http_landing(s->landing, -1);
	if (s->fd != -1)
		close(s->fd);
	if (s->dirfd != -1) {
		if (!s->renamed && s->dot[0] != '\0')
			(void)unlinkat(s->dirfd, s->dot, 0);
		close(s->dirfd);
	}
	free(s);
}

static void
refuse(struct submit *s, unsigned status, const char *error,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
refuse(struct submit *s, unsigned status, const char *error,
    const char *fmt, ...)
{
	va_list ap;

	if (s->status != 0)
		return;
	s->status = status;
	snprintf(s->error, sizeof(s->error), "%s", error);
	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
	if (s->fd != -1) {
		close(s->fd);
		s->fd = -1;
	}
	if (s->dirfd != -1 && s->dot[0] != '\0' && !s->renamed) {
		(void)unlinkat(s->dirfd, s->dot, 0);
		s->dot[0] = '\0';
	}
}

/*
 * Which partner the request submits as: a partner token its own (403
 * for another), the admin token ?partner=NAME. 0, or -1 (refused in s).
 */
static int
whose(struct submit *s, struct MHD_Connection *c, const struct http_req *r)
{
	const char *p = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "partner");
	char b[128];

	if (!r->who.admin) {
		if (p != NULL && strcmp(p, r->who.partner) != 0) {
			refuse(s, MHD_HTTP_FORBIDDEN, "forbidden", "this token "
			    "submits as partner %s only", r->who.partner);
			return -1;
		}
		p = r->who.partner;
	}
	if (p == NULL) {
		refuse(s, MHD_HTTP_BAD_REQUEST, "bad request", "the admin "
		    "token submits for a partner: add ?partner=NAME");
		return -1;
	}
	if (!conf_partner_name_ok(p)) {
		refuse(s, MHD_HTTP_BAD_REQUEST, "bad request", "partner=%s is "
		    "not a partner name ([A-Za-z0-9][A-Za-z0-9._-]{0,63})",
		    clean(b, sizeof(b), p, 64));
		return -1;
	}
	snprintf(s->partner, sizeof(s->partner), "%s", p);
	return 0;
}

/* Open incoming/<partner>/ (made if missing) and the dot file. */
static int
open_drop(struct http *h, struct submit *s, bool bundle)
{
	struct spool_error err;
	struct spooldir *sd;
	int64_t now = store_now_ms();
	unsigned long long n;

	spool_clearerr(&err);
	if ((sd = http_spooldir(h, &err)) == NULL) {
		refuse(s, MHD_HTTP_SERVICE_UNAVAILABLE, "spool unavailable",
		    "%s", err.msg);
		return -1;
	}
	s->dirfd = openat(sd->incoming_fd, s->partner, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (s->dirfd == -1 && errno == ENOENT &&
	    mkdirat(sd->incoming_fd, s->partner, 0750) == 0)
		s->dirfd = openat(sd->incoming_fd, s->partner, O_RDONLY |
		    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->dirfd == -1) {
		refuse(s, MHD_HTTP_SERVICE_UNAVAILABLE, "spool unavailable",
		    "cannot open incoming/%s/: %s", s->partner,
		    strerror(errno));
		return -1;
	}
	s->bundle = bundle;
	n = (unsigned long long)++h->nsubmit;
	snprintf(s->name, sizeof(s->name), "http-%" PRId64 "-%ld-%llu.%s",
	    now, (long)getpid(), n, bundle ? "bundle" : "xml");
	snprintf(s->dot, sizeof(s->dot), ".%s", s->name);
	s->fd = openat(s->dirfd, s->dot, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0640);
	if (s->fd == -1) {
		s->dot[0] = '\0';
		refuse(s, MHD_HTTP_SERVICE_UNAVAILABLE, "spool unavailable",
		    "cannot write in incoming/%s/: %s", s->partner,
		    strerror(errno));
		return -1;
	}
	sha256_init(&s->sha);
	return 0;
}

void
submit_data(struct http *h, struct http_req *r, const char *url,
    const char *data, size_t len)
{
	struct submit *s = r->sub;
	ssize_t w;

	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL) {
			r->too_big = true;
			return;
		}
		s->dirfd = s->fd = -1;
		r->sub = s;
		if (whose(s, r->conn, r) == -1 ||
		    open_drop(h, s, strcmp(url, "/api/batches") == 0) == -1)
			return;
	}
	if (s->status != 0 || s->fd == -1)
		return;
	sha256_update(&s->sha, len, (const uint8_t *)data);
	while (len > 0) {
		w = write(s->fd, data, len);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			refuse(s, errno == ENOSPC || errno == EDQUOT ? 507 :
			    MHD_HTTP_SERVICE_UNAVAILABLE, "cannot write",
			    "writing incoming/%s/%s: %s (nothing kept)",
			    s->partner, s->dot, w == 0 ? "short write" :
			    strerror(errno));
			return;
		}
		data += w;
		len -= (size_t)w;
	}
}

/* The body is in: fsync, rename, fsync the directory. 0, or -1. */
static int
land(struct http *h, struct submit *s)
{
	if (fsync(s->fd) == -1 || close(s->fd) == -1) {
		s->fd = -1;
		refuse(s, MHD_HTTP_SERVICE_UNAVAILABLE, "cannot write",
		    "incoming/%s/%s: %s (nothing kept)", s->partner, s->dot,
		    strerror(errno));
		return -1;
	}
	s->fd = -1;
	sha256_digest(&s->sha, sizeof(s->digest), s->digest);
	/* Counted before the file can be accepted: the loop then waits
	 * for its move before it wakes the waiting submissions. */
	http_landing(h, 1);
	s->landing = h;
	if (renameat(s->dirfd, s->dot, s->dirfd, s->name) == -1) {
		http_landing(h, -1);
		s->landing = NULL;
		refuse(s, MHD_HTTP_SERVICE_UNAVAILABLE, "cannot write",
		    "incoming/%s/%s: %s (nothing kept)", s->partner, s->name,
		    strerror(errno));
		return -1;
	}
	s->renamed = true;
	/* Renamed, it is an upload whatever comes next: a failed fsync of
	 * the directory is not reported (acceptance moves the file on and
	 * fsyncs both directories then). */
	(void)fsync(s->dirfd);
	s->deadline = store_now_ms() + (int64_t)h->submit_wait_ms;
	return 0;
}

/*
 * A rejection as spoofed, by its reason: a native message's Sender names
 * another partner (accept_prep.c), or a dialect's sender is none of the
 * partner's ids (accept_read.c); in a bundle or an interchange after the
 * entry's "bundle B, entry E: " (as accept_ack.c reads them).
 */
static bool
spoof_reason(const char *r)
{
	if (r == NULL)
		return false;
	if (strncmp(r, "spoofed: sender ", 16) == 0 ||
	    strstr(r, ": spoofed: sender ") != NULL)
		return true;
	return (strncmp(r, "Sender ", 7) == 0 || strstr(r, ": Sender ") !=
	    NULL) && (strstr(r, " does not match partner directory ") !=
	    NULL || strstr(r, " is a partner of its own ") != NULL);
}

/* Every entry of a batch document was rejected as spoofed. */
static bool
batch_spoofed(json_t *doc)
{
	json_t *es = json_object_get(doc, "entries"), *e;
	size_t i;

	if (json_array_size(es) == 0)
		return false;
	json_array_foreach(es, i, e)
		if (!spoof_reason(json_string_value(json_object_get(e,
		    "reason"))))
			return false;
	return true;
}

/* The one message of a batch document of one entry, or 0. */
static int64_t
batch_single(json_t *doc)
{
	json_t *es = json_object_get(doc, "entries"), *m;

	if (json_array_size(es) != 1)
		return 0;
	m = json_object_get(json_array_get(es, 0), "message");
	return json_is_integer(m) ? (int64_t)json_integer_value(m) : 0;
}

/* Answer with message id: 201, 422 or 403. 1, or -1 error (err). */
static int
answer_msg(struct MHD_Connection *c, struct store *st, int64_t id,
    enum MHD_Result *res, struct spool_error *err)
{
	struct store_admin_msg m;
	struct jdoc j;
	json_t *doc;
	const char *cls;
	unsigned status;

	if (store_admin_msg_get(st, id, &m, err) != 1) {
		if (err->msg[0] == '\0')
			spool_seterr(err, "message %" PRId64 " is gone", id);
		return -1;
	}
	if (m.state == ST_REJECTED) {
		status = spoof_reason(m.reason) ? MHD_HTTP_FORBIDDEN :
		    HTTP_UNPROCESSABLE;
		cls = "rejected";
	} else {
		status = MHD_HTTP_CREATED;
		cls = m.duplicate_of != 0 ? "duplicate" : m.state ==
		    ST_PARKED ? "parked" : "accepted";
	}
	jd_init(&j, NULL);
	jd_object(&j);
	if (status != MHD_HTTP_CREATED) {
		jd_kstr(&j, "error", status == MHD_HTTP_FORBIDDEN ?
		    "forbidden" : "rejected");
		jd_kstr(&j, "reason", m.reason);
	}
	jd_kint(&j, "id", m.id);
	jd_kstr(&j, "state", state_name(m.state));
	jd_kstr(&j, "classification", cls);
	jd_key(&j, "message");
	jv_msg(&j, &m, store_now_ms());
	jd_object_end(&j);
	store_admin_msg_free(&m);
	if ((doc = jd_take(&j)) == NULL) {
		spool_seterr(err, "out of memory");
		return -1;
	}
	*res = http_json(c, status, doc);
	return 1;
}

/* 1 answered (in *res), 0 not in the store yet, -1 error (answered). */
static int
look(struct http *h, struct MHD_Connection *c, struct submit *s,
    enum MHD_Result *res)
{
	struct store_msgref ref;
	struct store_batch b;
	struct spool_error err;
	struct store *st;
	struct jdoc j;
	json_t *doc;
	int64_t one;
	int rc;

	spool_clearerr(&err);
	if ((st = http_store(h, &err)) == NULL)
		goto down;
	if ((rc = store_batch_find_upload(st, s->partner, s->name, s->digest,
	    &b, &err)) == -1)
		goto down;
	if (rc == 1) {
		int64_t id = b.id;

		if (b.state == ST_REJECTED) {
			*res = http_json(c, HTTP_UNPROCESSABLE,
			    json_pack("{s:s, s:s?, s:I, s:s}", "error",
			    "rejected", "reason", b.reason, "batch",
			    (json_int_t)id, "file", s->name));
			store_batch_free(&b);
			return 1;
		}
		store_batch_free(&b);
		jd_init(&j, NULL);
		if ((rc = jv_batch(&j, st, id, false, &err)) != 1) {
			jd_free(&j);
			goto down;
		}
		if ((doc = jd_take(&j)) == NULL)
			return -1;
		/* One message, any dialect: answered as a message. */
		if (!s->bundle && (one = batch_single(doc)) > 0) {
			json_decref(doc);
			if (answer_msg(c, st, one, res, &err) == -1)
				goto down;
			return 1;
		}
		if (batch_spoofed(doc)) {
			json_object_set_new(doc, "error",
			    json_string("forbidden"));
			json_object_set(doc, "reason", json_object_get(
			    json_array_get(json_object_get(doc, "entries"),
			    0), "reason"));
			*res = http_json(c, MHD_HTTP_FORBIDDEN, doc);
			return 1;
		}
		*res = http_json(c, MHD_HTTP_ACCEPTED, doc);
		return 1;
	}
	memset(&ref, 0, sizeof(ref));
	if ((rc = store_find_upload(st, s->partner, s->name, s->digest, &ref,
	    &err)) == -1)
		goto down;
	if (rc == 0)
		return 0;
	one = ref.id;
	store_msgref_free(&ref);
	if (answer_msg(c, st, one, res, &err) == -1)
		goto down;
	return 1;
down:
	*res = http_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "store unavailable",
	    "%s; the file is incoming/%s/%s", err.msg, s->partner, s->name);
	return 1;
}

enum MHD_Result
submit_answer(struct http *h, struct MHD_Connection *c, struct http_req *r)
{
	struct submit *s = r->sub, tmp;
	enum MHD_Result res = MHD_NO;
	uint64_t gen;
	int rc;

	if (s == NULL) {
		/* No body: say what is wrong with the rest first. */
		memset(&tmp, 0, sizeof(tmp));
		tmp.dirfd = tmp.fd = -1;
		if (whose(&tmp, c, r) == -1)
			return http_error(c, tmp.status, tmp.error, "%s",
			    tmp.reason);
		return http_error(c, MHD_HTTP_BAD_REQUEST, "bad request", "the "
		    "body is empty: send the message (or the bundle) as the "
		    "body");
	}
	if (s->status == 0 && !s->renamed)
		(void)land(h, s);
	if (s->status != 0)
		return http_error(c, s->status, s->error, "%s", s->reason);
	for (;;) {
		gen = http_gen(h);
		if ((rc = look(h, c, s, &res)) != 0)
			return rc == 1 ? res : MHD_NO;
		if (store_now_ms() >= s->deadline)
			return http_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "not accepted yet", "spoold has not accepted "
			    "incoming/%s/%s within %" PRIu64 " s (below "
			    "min_free_space?); it stays there and is accepted "
			    "when spoold can: look for it with GET "
			    "/api/messages?partner=%s", s->partner, s->name,
			    h->submit_wait_ms / 1000, s->partner);
		if ((rc = http_wait(h, r, gen)) == 0)
			return MHD_YES;		/* suspended */
		if (rc == -1)
			return http_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "stopping", "spoold is stopping; incoming/%s/%s "
			    "is accepted when it runs again", s->partner,
			    s->name);
		/* An acceptance committed since the look: look again. */
	}
}
