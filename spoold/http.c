/*
 * http.c - spoold's HTTP server (DESIGN 17), on libmicrohttpd.
 *
 * Threads. libmicrohttpd runs the server on one thread of its own
 * (MHD_USE_INTERNAL_POLLING_THREAD, epoll): it accepts, reads requests
 * and calls answer() there, one request at a time. That thread never
 * touches what the loop thread owns:
 *   - the loop's state comes through pulse.c (a mutex held for a copy);
 *   - the store is read through a connection of its own, opened
 *     read-only (store_stats.c): in WAL mode a reader neither waits for
 *     the store thread's writes nor makes them wait, so the store thread
 *     stays the only writer (STYLE.md, Threads) and a slow or busy
 *     client can never slow a cycle;
 *   - the configuration is copied at start (http_start) and the tokens
 *     again on reload (http_reload, under this module's mutex), so a
 *     SIGHUP that swaps the loop's struct conf races with nothing;
 *   - it does not log: log.c's level is the loop's to change.
 * The loop wakes at least every PULSE_EVERY_MS (daemon.c) to publish,
 * so that /health can tell a loop that turns from one that hangs.
 *
 * Clients that would pin the server: at most max_connections at once
 * (libmicrohttpd stops accepting until one closes: the rest wait in the
 * kernel's listen queue) and per_ip_limit from one address (one more is
 * closed as soon as it is accepted), and a connection idle for `timeout'
 * is closed (http.sh tests all three); a client that
 * sends one byte per second holds one connection slot, not the thread,
 * since libmicrohttpd reads without blocking. Bodies are bounded before
 * they are read (413).
 *
 * Authentication (auth.c): /health* and /metrics are open; every other
 * path needs a bearer token (401 without or with a wrong one, with
 * WWW-Authenticate). Every error answers {"error": ..., "reason": ...}.
 *
 * Writes (api.h). The API's reads use a read-only store connection of
 * this thread's own (http_store()); its writes never do: a retry, skip,
 * purge or configuration change is queued for the loop thread (a list
 * under wmu, and an eventfd in the loop's epoll), and the request is
 * suspended (MHD_suspend_connection) so that the server goes on with
 * other clients meanwhile; the loop runs it and resumes the request,
 * which then sends the answer. A submission (POST /api/messages,
 * /api/batches; http_submit.c) is a drop into incoming/<partner>/; the
 * request is suspended on the waiting list until the loop has committed
 * an acceptance batch (http_kick(), after every accept COMMIT and at
 * every turn of the loop), then looks for its file in the store and
 * either answers or waits again, up to submit_wait_ms. MHD_resume_
 * connection() may be called from any thread; wmu is held only to move
 * list links, never across I/O or SQL. http_stop() answers whatever is
 * still queued or waiting with 503 before the server stops.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "auth.h"
#include "http.h"
#include "http_int.h"
#include "store.h"
#include "store_stats.h"

#define HTTP_TLS_MAX	(1024 * 1024)	/* bytes of a cert or key file */
#define SUBMIT_WAIT_MS	60000	/* a submission waits for acceptance */
#define STOP_WAIT_MS	1000	/* at stop, for woken requests to answer */

/* Read a whole (small) file for libmicrohttpd's in-memory TLS options. */
static char *
slurp(const char *path, struct spool_error *err)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	size_t off = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		spool_seterr(err, "[http] %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > HTTP_TLS_MAX) {
		spool_seterr(err, "[http] %s: not a regular file of at most "
		    "1 MiB", path);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		spool_seterr(err, "out of memory");
		goto out;
	}
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			spool_seterr(err, "[http] %s: %s", path, n == 0 ?
			    "short read" : strerror(errno));
			free(buf);
			buf = NULL;
			goto out;
		}
		off += (size_t)n;
	}
	buf[off] = '\0';
out:
	if (fd != -1)
		close(fd);
	return buf;
}

/* "ADDR:PORT" or "[ADDR6]:PORT", numeric only, into ss. */
static int
parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len,
    bool *v6, struct spool_error *err)
{
	struct addrinfo hints, *res = NULL;
	char host[128];
	const char *port, *end;
	size_t hl;
	int rc;

	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':')
			goto bad;
		hl = (size_t)(end - s - 1);
		if (hl == 0 || hl >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, hl);
		port = end + 2;
	} else {
		if ((end = strrchr(s, ':')) == NULL)
			goto bad;
		hl = (size_t)(end - s);
		if (hl == 0 || hl >= sizeof(host))
			goto bad;
		memcpy(host, s, hl);
		port = end + 1;
	}
	host[hl] = '\0';
	if (*port == '\0' || strspn(port, "0123456789") != strlen(port) ||
	    strlen(port) > 5 || atoi(port) > 65535)
		goto bad;
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		spool_seterr(err, "[http] listen = %s: %s", s,
		    gai_strerror(rc));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	*v6 = res->ai_family == AF_INET6;
	freeaddrinfo(res);
	return 0;
bad:
	spool_seterr(err, "[http] listen = %s: not ADDR:PORT or [ADDR6]:PORT "
	    "with a numeric address", s);
	return -1;
}

/* Called by libmicrohttpd when a request ends: free its state. */
static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	http_req_free(*con_cls);
	*con_cls = NULL;
}

struct http *
http_start(const struct conf *conf, const char *db_path, struct pulse *pulse,
    struct spool_error *err)
{
	struct http *h;
	struct sockaddr_storage ss;
	socklen_t sslen;
	unsigned flags;
	bool v6;
	const union MHD_DaemonInfo *info;

	spool_clearerr(err);
	if (conf->http_listen == NULL || conf->http_listen[0] == '\0')
		return NULL;
	if (parse_listen(conf->http_listen, &ss, &sslen, &v6, err) == -1)
		return NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		spool_seterr(err, "out of memory");
		return NULL;
	}
	(void)pthread_mutex_init(&h->mu, NULL);
	(void)pthread_mutex_init(&h->wmu, NULL);
	h->efd = -1;
	h->submit_wait_ms = SUBMIT_WAIT_MS;
	h->pulse = pulse;
	h->max_message_size = conf->max_message_size;
	h->max_total_size = conf->bundle_max_total_size;
	h->archive = conf->archive_argv != NULL;
	if ((h->db_path = strdup(db_path)) == NULL ||
	    (h->spool_dir = strdup(conf->spool_dir)) == NULL ||
	    (h->names = metrics_names_new(conf)) == NULL ||
	    auth_table_build(&h->auth, conf) == -1) {
		spool_seterr(err, "out of memory");
		goto fail;
	}
	if ((h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		spool_seterr(err, "[http] eventfd: %s", strerror(errno));
		goto fail;
	}
	if (conf->http_tls_cert != NULL &&
	    ((h->tls_cert = slurp(conf->http_tls_cert, err)) == NULL ||
	    (h->tls_key = slurp(conf->http_tls_key, err)) == NULL))
		goto fail;
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_ALLOW_SUSPEND_RESUME;
	if (v6)
		flags |= MHD_USE_IPv6;
	if (h->tls_cert != NULL)
		flags |= MHD_USE_TLS;
	{
		/* The options both ways share; TLS adds its two. */
		struct MHD_OptionItem o[] = {
			{ MHD_OPTION_CONNECTION_LIMIT,
			    (intptr_t)conf->http_max_connections, NULL },
			{ MHD_OPTION_PER_IP_CONNECTION_LIMIT,
			    (intptr_t)conf->http_per_ip_limit, NULL },
			{ MHD_OPTION_CONNECTION_TIMEOUT,
			    (intptr_t)((conf->http_timeout_ms + 999) / 1000),
			    NULL },
			{ MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)h->tls_cert },
			{ MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)h->tls_key },
			{ MHD_OPTION_END, 0, NULL },
		};

		if (h->tls_cert == NULL)
			o[3].option = MHD_OPTION_END;
		h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, http_answer, h,
		    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		    MHD_OPTION_NOTIFY_COMPLETED, completed, h,
		    MHD_OPTION_ARRAY, o, MHD_OPTION_END);
	}
	if (h->mhd == NULL) {
		spool_seterr(err, "[http] listen = %s: cannot serve there "
		    "(address in use, not ours, or a bad TLS certificate or "
		    "key)", conf->http_listen);
		goto fail;
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info != NULL ? info->port : 0;
	return h;
fail:
	http_stop(h);
	return NULL;
}

unsigned
http_port(const struct http *h)
{
	return h != NULL ? h->port : 0;
}

int
http_reload(struct http *h, const struct conf *conf, struct spool_error *err)
{
	struct auth_table t;
	struct metrics_names *nm;

	if (h == NULL)
		return 0;
	if ((nm = metrics_names_new(conf)) == NULL) {
		spool_seterr(err, "out of memory");
		return -1;
	}
	if (auth_table_build(&t, conf) == -1) {
		metrics_names_free(nm);
		spool_seterr(err, "out of memory");
		return -1;
	}
	(void)pthread_mutex_lock(&h->mu);
	auth_table_free(&h->auth);
	h->auth = t;
	metrics_names_free(h->names_next);
	h->names_next = nm;
	(void)pthread_mutex_unlock(&h->mu);
	return 0;
}

int
http_cmd_push(struct http *h, struct http_req *r, struct api_cmd *c)
{
	static const uint64_t one = 1;

	(void)pthread_mutex_lock(&h->wmu);
	if (h->closing) {
		(void)pthread_mutex_unlock(&h->wmu);
		return -1;
	}
	MHD_suspend_connection(r->conn);
	r->suspended = true;
	h->suspended++;
	c->conn = r->conn;
	c->next = NULL;
	if (h->qtail != NULL)
		h->qtail->next = c;
	else
		h->qhead = c;
	h->qtail = c;
	r->cmd = c;
	(void)pthread_mutex_unlock(&h->wmu);
	/* A full counter still wakes the loop: nothing to handle. */
	(void)write(h->efd, &one, sizeof(one));
	return 0;
}

int
http_cmd_fd(const struct http *h)
{
	return h != NULL ? h->efd : -1;
}

struct api_cmd *
http_cmd_take(struct http *h)
{
	struct api_cmd *c;
	uint64_t n;

	if (h == NULL)
		return NULL;
	(void)pthread_mutex_lock(&h->wmu);
	if ((c = h->qhead) != NULL) {
		h->qhead = c->next;
		if (h->qhead == NULL)
			h->qtail = NULL;
		c->next = NULL;
	} else
		(void)read(h->efd, &n, sizeof(n));	/* drained */
	(void)pthread_mutex_unlock(&h->wmu);
	return c;
}

void
http_cmd_done(struct http *h, struct api_cmd *c)
{
	(void)pthread_mutex_lock(&h->wmu);
	c->next = c;	/* back: the HTTP thread looks at this */
	MHD_resume_connection(c->conn);
	(void)pthread_mutex_unlock(&h->wmu);
}

bool
http_cmd_back(struct http *h, const struct api_cmd *c)
{
	bool back;

	(void)pthread_mutex_lock(&h->wmu);
	back = c->next == c;
	(void)pthread_mutex_unlock(&h->wmu);
	return back;
}

void
http_resumed(struct http *h, struct http_req *r)
{
	(void)pthread_mutex_lock(&h->wmu);
	if (r->suspended) {
		r->suspended = false;
		h->suspended--;
	}
	(void)pthread_mutex_unlock(&h->wmu);
}

void
http_landing(struct http *h, int n)
{
	if (h == NULL)
		return;
	(void)pthread_mutex_lock(&h->wmu);
	h->landed = (unsigned)((int)h->landed + n);
	(void)pthread_mutex_unlock(&h->wmu);
}

bool
http_landed(struct http *h)
{
	bool any;

	if (h == NULL)
		return false;
	(void)pthread_mutex_lock(&h->wmu);
	any = h->landed > 0;
	(void)pthread_mutex_unlock(&h->wmu);
	return any;
}

uint64_t
http_gen(struct http *h)
{
	uint64_t g;

	(void)pthread_mutex_lock(&h->wmu);
	g = h->gen;
	(void)pthread_mutex_unlock(&h->wmu);
	return g;
}

int
http_wait(struct http *h, struct http_req *r, uint64_t gen)
{
	int rc = 0;

	(void)pthread_mutex_lock(&h->wmu);
	if (h->closing)
		rc = -1;
	else if (h->gen != gen)
		rc = 1;
	else {
		MHD_suspend_connection(r->conn);
		r->suspended = true;
		h->suspended++;
		r->wnext = h->waiting;
		h->waiting = r;
	}
	(void)pthread_mutex_unlock(&h->wmu);
	return rc;
}

void
http_kick(struct http *h)
{
	struct http_req *r, *next;

	if (h == NULL)
		return;
	(void)pthread_mutex_lock(&h->wmu);
	h->gen++;
	for (r = h->waiting; r != NULL; r = next) {
		next = r->wnext;
		r->wnext = NULL;
		MHD_resume_connection(r->conn);
	}
	h->waiting = NULL;
	(void)pthread_mutex_unlock(&h->wmu);
}

/* Stopping: what is queued is answered 503, what waits is woken. */
static void
drain(struct http *h)
{
	struct api_cmd *c, *next;

	(void)pthread_mutex_lock(&h->wmu);
	h->closing = true;
	for (c = h->qhead; c != NULL; c = next) {
		next = c->next;
		json_decref(c->doc);
		c->status = MHD_HTTP_SERVICE_UNAVAILABLE;
		c->doc = json_pack("{s:s, s:s}", "error", "stopping",
		    "reason", "spoold is stopping; nothing was done, try "
		    "again once it runs");
		c->next = c;
		MHD_resume_connection(c->conn);
	}
	h->qhead = h->qtail = NULL;
	(void)pthread_mutex_unlock(&h->wmu);
	http_kick(h);
}

/* After drain(): give the requests it woke a moment to answer. */
static void
settle(struct http *h)
{
	unsigned left = 1;
	int i;

	for (i = 0; i < STOP_WAIT_MS / 10 && left > 0; i++) {
		(void)pthread_mutex_lock(&h->wmu);
		left = h->suspended;
		(void)pthread_mutex_unlock(&h->wmu);
		if (left > 0)
			(void)usleep(10000);
	}
	(void)usleep(20000);	/* the last answers on their way out */
}

void
http_stop(struct http *h)
{
	if (h == NULL)
		return;
	if (h->mhd != NULL) {
		drain(h);
		settle(h);
		MHD_stop_daemon(h->mhd);
	}
	if (h->efd != -1)
		close(h->efd);
	if (h->rd_open)
		store_close(&h->rd);
	if (h->sd_open)
		spooldir_close(&h->sd);
	store_stats_close(h->stats);
	auth_table_free(&h->auth);
	metrics_names_free(h->names);
	metrics_names_free(h->names_next);
	free(h->db_path);
	free(h->spool_dir);
	if (h->tls_key != NULL)
		explicit_bzero(h->tls_key, strlen(h->tls_key));
	free(h->tls_key);
	free(h->tls_cert);
	(void)pthread_mutex_destroy(&h->mu);
	(void)pthread_mutex_destroy(&h->wmu);
	free(h);
}
