/*
 * msglimits.h - the bounds msg_parse_limits() puts on a partner's XML.
 *
 * Kept apart from message.h so that conf.h can hold them without pulling
 * in libxml2's headers. Every bound is checked by a linear pre-scan of
 * the bytes before libxml2 sees them (see xmlscan.c); 0 means "no bound
 * of ours" (libxml2's own limits still apply).
 */
#ifndef SPOOL_MSGLIMITS_H
#define SPOOL_MSGLIMITS_H

#include <stdint.h>

struct msg_limits {
	unsigned	 max_attributes;	/* per start tag */
	unsigned	 max_depth;		/* elements open at once */
	unsigned	 max_name_length;	/* element, attribute, PI */
	uint64_t	 max_text_length;	/* text run, CDATA, value */
	unsigned	 max_namespaces;	/* declarations in scope */
};

/* The defaults of spoold.conf(5), [processing]. */
#define MSG_MAX_ATTRIBUTES	64
#define MSG_MAX_DEPTH		32
#define MSG_MAX_NAME_LENGTH	256
#define MSG_MAX_TEXT_LENGTH	((uint64_t)4 * 1024 * 1024)
#define MSG_MAX_NAMESPACES	16

/* libxml2 2.9.14 without XML_PARSE_HUGE: what ours must stay below. */
#define MSG_XML_DEPTH_CAP	256
#define MSG_XML_NAME_CAP	50000
#define MSG_XML_TEXT_CAP	((uint64_t)10000000)

#endif
