/*
 * log.c - the event log of spoold and spoolctl.
 *
 * Every event is one line: a level word, then key=value pairs written by
 * the caller (values that may hold blanks or partner data go through
 * log_quote()). Under systemd the line goes to stderr, where the journal
 * timestamps it; with target=syslog it goes to syslog(3) with the same
 * text. Nothing here allocates, so logging works when memory is short.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"

static enum log_target	log_tgt = LOG_TARGET_STDERR;
static int		log_lvl = LOG_INFO;
static const char	*log_ident = "spoold";

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

void
log_init(const char *ident, enum log_target target, int level)
{
	if (log_tgt == LOG_TARGET_SYSLOG)
		closelog();
	log_ident = ident;
	log_tgt = target;
	log_lvl = level;
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

void
log_msg(int level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	if (level > log_lvl)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_tgt == LOG_TARGET_SYSLOG)
		syslog(level, "%s", line);
	else
		fprintf(stderr, "%s: %s: %s\n", log_ident,
		    log_level_name(level), line);
}

const char *
log_quote(char *buf, size_t len, const char *value)
{
	size_t o = 0;
	const unsigned char *p;
	bool plain = true;

	if (len < 8)
		return "";
	if (value == NULL)
		return "-";
	for (p = (const unsigned char *)value; *p != '\0'; p++)
		if (*p <= ' ' || *p == '"' || *p == '\\' || *p >= 0x7f ||
		    *p == '=')
			plain = false;
	if (plain && *value != '\0') {
		snprintf(buf, len, "%s", value);
		return buf;
	}
	buf[o++] = '"';
	for (p = (const unsigned char *)value; *p != '\0' && o + 6 < len;
	    p++) {
		if (*p == '"' || *p == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)*p;
		} else if (*p < ' ' || *p >= 0x7f)
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", *p);
		else
			buf[o++] = (char)*p;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}
