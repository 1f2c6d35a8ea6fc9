/*
 * log.c - the event log of spoold and spoolctl.
 *
 * Every event is one logfmt line: time= (RFC 3339, UTC, milliseconds;
 * left out under journald or syslog, which stamp lines themselves),
 * level=, then the key=value pairs written by the caller. A value that
 * may hold partner or admin data goes through log_quote() (LOG_Q()): one
 * with a blank, '=', '"', '\\', a control character or bytes that are
 * not UTF-8 is written in double quotes with \" \\ \n \t \xNN escapes,
 * any other bare, so no file name or ID can add a key or a line. As a
 * last line of defence log_msg() escapes any control character left in
 * the formatted line. With target=syslog the line goes to syslog(3).
 * Nothing here allocates, so logging works when memory is short.
 */
#include "config.h"

#include <sys/stat.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_target	log_tgt = LOG_TARGET_STDERR;
static int		log_lvl = LOG_INFO;
static const char	*log_ident = "spoold";
static bool		 log_journal;	/* stderr is the journal's stream */

static const struct {
	const char	*name;
	int		 level;
} log_levels[] = {
	{ "err", LOG_ERR },
	{ "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE },
	{ "info", LOG_INFO },
	{ "debug", LOG_DEBUG },
};

/*
 * Under systemd, JOURNAL_STREAM holds "device:inode" of the stream that
 * stderr was connected to; if stderr still is that stream, the journal
 * stamps each line and a time= of our own would only repeat it.
 */
bool
log_under_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	uintmax_t dev, ino;
	struct stat st;
	char end;

	if (js == NULL || *js == '\0')
		return false;
	if (sscanf(js, "%ju:%ju%c", &dev, &ino, &end) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) == -1)
		return false;
	return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}

void
log_init(const char *ident, enum log_target target, int level)
{
	if (log_tgt == LOG_TARGET_SYSLOG)
		closelog();
	log_ident = ident;
	log_tgt = target;
	log_lvl = level;
	log_journal = log_under_journal();
	if (target == LOG_TARGET_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(int level)
{
	log_lvl = level;
}

int
log_level(void)
{
	return log_lvl;
}

int
log_level_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (strcasecmp(name, log_levels[i].name) == 0)
			return log_levels[i].level;
	return -1;
}

const char *
log_level_name(int level)
{
	size_t i;

	for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (log_levels[i].level == level)
			return log_levels[i].name;
	return "?";
}

/* The time now as RFC 3339 in UTC with milliseconds, or "" if unknown. */
static void
log_stamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	buf[0] = '\0';
	if (clock_gettime(CLOCK_REALTIME, &ts) == -1 ||
	    gmtime_r(&ts.tv_sec, &tm) == NULL)
		return;
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n == 0)
		return;
	snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000L);
}

/*
 * Copy line to out, every control character (a caller that forgot
 * log_quote()) written as \xNN, so that one event stays one line; a line
 * cut short inside a quoted value gets its closing quote back.
 */
static void
log_defang(char *out, size_t len, const char *line)
{
	const unsigned char *p;
	size_t o = 0;
	bool quoted = false;

	for (p = (const unsigned char *)line; *p != '\0' && o + 6 < len;
	    p++) {
		if (*p < 0x20 || *p == 0x7f) {
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", *p);
			continue;
		}
		if (quoted && *p == '\\' && p[1] == '\0')
			break;	/* cut after a backslash: drop it */
		if (quoted && *p == '\\' && p[1] >= 0x20 && p[1] != 0x7f)
			out[o++] = (char)*p++;
		else if (*p == '"')
			quoted = !quoted;
		out[o++] = (char)*p;
	}
	if (quoted)
		out[o++] = '"';
	out[o] = '\0';
}

void
log_msg(int level, const char *fmt, ...)
{
	char line[4096], safe[4096 + 8], stamp[40];
	va_list ap;

	if (level > log_lvl)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_defang(safe, sizeof(safe), line);
	if (log_tgt == LOG_TARGET_SYSLOG)
		syslog(level, "level=%s %s", log_level_name(level), safe);
	else if (log_journal)
		fprintf(stderr, "level=%s %s\n", log_level_name(level), safe);
	else {
		log_stamp(stamp, sizeof(stamp));
		fprintf(stderr, "time=%s level=%s %s\n", stamp,
		    log_level_name(level), safe);
	}
}

/* The length of the valid UTF-8 sequence at p (not a C1 control), or 0. */
static size_t
log_utf8(const unsigned char *p)
{
	size_t n, i;
	uint32_t c;

	if (*p >= 0xc2 && *p <= 0xdf) {
		n = 2;
		c = *p & 0x1f;
	} else if (*p >= 0xe0 && *p <= 0xef) {
		n = 3;
		c = *p & 0x0f;
	} else if (*p >= 0xf0 && *p <= 0xf4) {
		n = 4;
		c = *p & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff ||
	    (c >= 0x80 && c <= 0x9f))
		return 0;
	return n;
}

/* Does byte p (with what follows) need quoting? Sets *n to its length. */
static bool
log_special(const unsigned char *p, size_t *n)
{
	*n = 1;
	if (*p >= 0x80) {
		*n = log_utf8(p);
		if (*n != 0)
			return false;
		*n = 1;
		return true;
	}
	return *p <= ' ' || *p == '"' || *p == '\\' || *p == '=' ||
	    *p == 0x7f;
}

const char *
log_quote(char *buf, size_t len, const char *value)
{
	const unsigned char *p;
	size_t o = 0, n, i;
	bool plain = true;

	if (len < 8) {
		if (len > 0)
			buf[0] = '\0';
		return buf;
	}
	if (value == NULL)
		value = "";
	for (p = (const unsigned char *)value; *p != '\0'; p += n)
		if (log_special(p, &n))
			plain = false;
	if (plain && *value != '\0' && strlen(value) < len) {
		memcpy(buf, value, strlen(value) + 1);
		return buf;
	}
	/* Room is kept for the longest escape, "~" and the closing quote. */
	buf[o++] = '"';
	for (p = (const unsigned char *)value; *p != '\0'; p += n) {
		if (o + 4 + 3 > len) {
			buf[o++] = '~';
			break;
		}
		if (!log_special(p, &n) || *p == ' ') {
			for (i = 0; i < n; i++)
				buf[o++] = (char)p[i];
		} else if (*p == '"' || *p == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)*p;
		} else if (*p == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else if (*p == '\t') {
			buf[o++] = '\\';
			buf[o++] = 't';
		} else if (*p == '=')
			buf[o++] = '=';
		else
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", *p);
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}
