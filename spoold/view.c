/*
 * view.c - the JSON of one message and of a list of messages, shared by
 * spoolctl --json and the HTTP API (see view.h), and the text and time
 * helpers both programs use for what partners sent. A batch's and an
 * interchange's JSON are view_batch.c's, a transaction's view_tx.c's.
 *
 * One builder per document: spoolctl prints it, the API sends it, so a
 * field name changes in one place or nowhere. Each builder reads in one
 * read transaction (a consistent snapshot) and never holds it across
 * anything slow. Nothing here writes to the store or the disk; a
 * .reason sidecar is read with O_NOFOLLOW|O_NONBLOCK from its state
 * directory's descriptor, and a file name from the store that could
 * leave that directory is not read at all.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "view.h"
#include "view_int.h"

/*
 * Text for a terminal: control characters (C0, DEL, C1 as UTF-8) and
 * bytes that cannot start a character are shown as '?'; s is cut after
 * max characters (0: no cut), or where buf ends, with "...". NULL or ""
 * is "-".
 */
const char *
clean(char *buf, size_t len, const char *s, size_t max)
{
	const unsigned char *p;
	size_t o = 0, chars = 0, n;

	if (s == NULL || *s == '\0')
		return "-";
	for (p = (const unsigned char *)s; *p != '\0'; p += n) {
		n = 1;
		if (*p >= 0xc0 && *p < 0xf8)
			while (n < 4 && (p[n] & 0xc0) == 0x80)
				n++;
		/* Room for this character, "..." and the NUL. */
		if ((max > 0 && chars == max) || o + n + 4 > len) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (*p < 0x20 || *p == 0x7f || (*p >= 0x80 && n == 1) ||
		    (*p == 0xc2 && n == 2 && p[1] <= 0x9f))
			buf[o++] = '?';
		else {
			memcpy(buf + o, p, n);
			o += n;
		}
		chars++;
	}
	buf[o] = '\0';
	return buf;
}

/* The first line of s, for a short reason. */
const char *
first_line(char *buf, size_t len, const char *s, size_t max)
{
	char line[1024];
	size_t n;

	if (s == NULL)
		return "-";
	n = strcspn(s, "\n");
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, s, n);
	line[n] = '\0';
	return clean(buf, len, line, max);
}

/* Local time, "2026-11-24 10:02:03" (or without seconds); 0 is "-". */
const char *
tlocal(char *buf, size_t len, int64_t ms, bool secs)
{
	struct tm tm;
	time_t t = (time_t)(ms / 1000);

	if (ms <= 0 || localtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, secs ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d %H:%M",
	    &tm) == 0)
		return "-";
	return buf;
}

/* UTC, RFC 3339: "2026-11-24T10:02:03Z". */
const char *
tiso(char *buf, size_t len, int64_t ms)
{
	struct tm tm;
	time_t t = (time_t)(ms / 1000);

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "?");
	return buf;
}

const char *
state_name(int st)
{
	return st >= 0 && st < ST_NSTATES ? spool_state_name(st) : "?";
}

void
jd_ktime(struct jdoc *j, const char *key, int64_t ms)
{
	char b[32];

	if (ms <= 0)
		jd_knull(j, key);
	else
		jd_kstr(j, key, tiso(b, sizeof(b), ms));
}

void
jd_kopt(struct jdoc *j, const char *key, int64_t v)
{
	if (v == 0)
		jd_knull(j, key);
	else
		jd_kint(j, key, v);
}

void
jv_msg_open(struct jdoc *j, const struct store_admin_msg *m, int64_t now)
{
	char hex[65], path[SPOOLDIR_NAME_MAX + 32];
	int i;

	jd_object(j);
	jd_kint(j, "id", m->id);
	jd_kstr(j, "state", state_name(m->state));
	jd_kstr(j, "partner", m->partner);
	jd_kstr(j, "transaction_id", m->transaction_id);
	if (m->has_seq) {
		jd_kint(j, "sender_seq", m->sender_seq);
		jd_kint(j, "receiver_seq", m->receiver_seq);
	} else {
		jd_knull(j, "sender_seq");
		jd_knull(j, "receiver_seq");
	}
	jd_kstr(j, "type", m->type);
	jd_kstr(j, "message_id", m->message_id);
	jd_kstr(j, "sender", m->sender);
	jd_kstr(j, "recipient", m->recipient);
	jd_kstr(j, "dialect", m->dialect != NULL ? m->dialect : "native");
	jd_kbool(j, "test", m->test);
	jd_kstr(j, "reference", m->reference);
	jd_kstr(j, "orig_name", m->orig_name);
	jd_kstr(j, "file_name", m->file_name);
	snprintf(path, sizeof(path), "%s/%s", spooldir_dir_name(m->state),
	    m->file_name != NULL ? m->file_name : "");
	jd_kstr(j, "file", path);
	jd_kbool(j, "stale", m->stale);
	if (m->has_sha256) {
		for (i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", m->sha256[i]);
		jd_kstr(j, "sha256", hex);
	} else
		jd_knull(j, "sha256");
	jd_kint(j, "size", m->size);
	jd_kopt(j, "duplicate_of", m->duplicate_of);
	jd_kopt(j, "batch", m->batch);
	jd_kstr(j, "bundle", m->bundle);
	jd_kint(j, "attempts", m->attempts);
	jd_ktime(j, "next_attempt_at", m->next_attempt_at);
	jd_kstr(j, "reason", m->reason);
	jd_ktime(j, "received_at", m->received_at);
	jd_ktime(j, "updated_at", m->updated_at);
	jd_kint(j, "age_seconds", (now - m->received_at) / 1000);
}

void
jv_msg(struct jdoc *j, const struct store_admin_msg *m, int64_t now)
{
	jv_msg_open(j, m, now);
	jd_object_end(j);
}

static int
attempt_one(void *arg, const struct store_admin_attempt *a)
{
	struct jdoc *j = arg;

	jd_object(j);
	jd_kint(j, "attempt", a->attempt);
	jd_ktime(j, "started_at", a->started_at);
	jd_ktime(j, "finished_at", a->finished_at);
	jd_kstr(j, "outcome", a->outcome);
	jd_kstr(j, "error", a->error);
	jd_object_end(j);
	return 0;
}

static int
action_one(void *arg, const struct store_admin_action *a)
{
	struct jdoc *j = arg;

	jd_object(j);
	jd_kstr(j, "act", a->act);
	jd_kstr(j, "user", a->user);
	jd_kstr(j, "reason", a->reason);
	jd_ktime(j, "at", a->at);
	jd_object_end(j);
	return 0;
}

/* "attempt_log": [...] of one message. */
int
jv_attempts(struct jdoc *j, struct store *s, int64_t id,
    struct spool_error *err)
{
	int rc;

	jd_key(j, "attempt_log");
	jd_array(j);
	rc = store_admin_attempts(s, id, attempt_one, j, err);
	jd_array_end(j);
	return rc;
}

bool
jv_reason_file(const struct spooldir *sd, const struct store_admin_msg *m,
    char *line, size_t len)
{
	char name[SPOOLDIR_NAME_MAX + 32];
	ssize_t n;
	int fd;

	line[0] = '\0';
	if (sd == NULL || m->state < 0 || m->state >= ST_NSTATES ||
	    m->file_name == NULL || m->file_name[0] == '\0' ||
	    m->file_name[0] == '.' || strchr(m->file_name, '/') != NULL ||
	    snprintf(name, sizeof(name), "%s.reason", m->file_name) >=
	    (int)sizeof(name))
		return false;
	fd = openat(sd->state_fd[m->state], name, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return false;
	do
		n = read(fd, line, len - 1);
	while (n == -1 && errno == EINTR);
	close(fd);
	if (n < 0)
		return false;
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	return true;
}

int
jv_message(struct jdoc *j, struct store *s, const struct spooldir *sd,
    int64_t id, int64_t now, struct spool_error *err)
{
	struct store_admin_msg m;
	char line[1024], b[SPOOLDIR_NAME_MAX + 48];
	bool has_reason;
	int rc;

	if (store_admin_read_begin(s, err) == -1)
		return -1;
	if ((rc = store_admin_msg_get(s, id, &m, err)) != 1) {
		store_admin_read_end(s);
		return rc;
	}
	has_reason = jv_reason_file(sd, &m, line, sizeof(line));
	jd_object(j);
	jd_key(j, "message");
	jv_msg_open(j, &m, now);
	rc = jv_attempts(j, s, m.id, err);
	/* Hold, release, delete: who and why. */
	if (rc == 0) {
		jd_key(j, "actions");
		jd_array(j);
		rc = store_admin_actions(s, m.id, action_one, j, err);
		jd_array_end(j);
	}
	store_admin_read_end(s);
	if (rc == -1) {
		store_admin_msg_free(&m);
		return -1;
	}
	jd_object_end(j);	/* the message */
	jd_key(j, "reason_file");
	if (has_reason) {
		jd_object(j);
		snprintf(b, sizeof(b), "%s/%s.reason",
		    spooldir_dir_name(m.state), m.file_name);
		jd_kstr(j, "file", b);
		jd_kstr(j, "first_line", line);
		jd_object_end(j);
	} else
		jd_null(j);
	jd_object_end(j);
	store_admin_msg_free(&m);
	return 1;
}

struct list_arg {
	struct jdoc	*j;
	int64_t		 now;
};

static int
list_one(void *arg, struct store_admin_msg *m)
{
	struct list_arg *a = arg;

	jv_msg(a->j, m, a->now);
	return 0;
}

int
jv_list(struct jdoc *j, struct store *s, const struct store_admin_filter *f,
    int64_t now, struct spool_error *err)
{
	struct list_arg a = { j, now };
	int64_t total;

	if (store_admin_read_begin(s, err) == -1)
		return -1;
	if (store_admin_msg_count(s, f, &total, err) == -1)
		goto fail;
	jd_object(j);
	jd_kint(j, "total", total);
	jd_kint(j, "limit", f->limit);
	jd_key(j, "messages");
	jd_array(j);
	if (store_admin_msg_list(s, f, list_one, &a, err) == -1)
		goto fail;
	store_admin_read_end(s);
	jd_array_end(j);
	jd_object_end(j);
	return 0;
fail:
	store_admin_read_end(s);
	return -1;
}
