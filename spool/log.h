/*
 * log.h - one logfmt line per event, key=value, to stderr or syslog.
 */
#ifndef SPOOL_LOG_H
#define SPOOL_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

enum log_target {
	LOG_TARGET_STDERR,
	LOG_TARGET_SYSLOG
};

void	log_init(const char *ident, enum log_target, int level);
void	log_set_level(int level);
int	log_level(void);
int	log_level_parse(const char *name);	/* -1 if unknown */
const char *log_level_name(int level);
void	log_msg(int level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#define log_err(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)	log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

/*
 * A value for a key=value log line (or a name inside a reason), written
 * into buf and returned: bare if it holds no blank, '=', '"', '\\',
 * control character or invalid UTF-8 and is not empty; else in double
 * quotes with \" \\ \n \t \xNN escapes (UTF-8 kept), cut with a '~'
 * before the closing quote if buf is too short. NULL is written "".
 */
const char *log_quote(char *buf, size_t len, const char *value);

/* log_quote() into a buffer that lives until the end of the enclosing
 * block: log_info("event=x file=%s", LOG_Q(name)). */
#define LOG_QLEN	1024
#define LOG_Q(v)	log_quote((char[LOG_QLEN]){ 0 }, LOG_QLEN, (v))

/* Is stderr the stream systemd's journal gave us (JOURNAL_STREAM)? */
bool	log_under_journal(void);

#endif
