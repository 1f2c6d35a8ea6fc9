/*
 * log.h - one line per event, key=value, to stderr or syslog.
 */
#ifndef SPOOL_LOG_H
#define SPOOL_LOG_H

#include <stdbool.h>
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

/* Quote a value for a key=value log line into buf: "..." with escapes. */
const char *log_quote(char *buf, size_t len, const char *value);

#endif
