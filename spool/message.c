/*
 * message.c - parse one partner message and check its native header.
 *
 * A message is one XML document; its type is the local name of the root
 * element, whose first child element is <Header> (DESIGN 4). msg_parse()
 * builds the libxml2 tree from memory and copies the header fields into
 * struct msg_header after checking each one; the tree is kept for schema
 * validation and the handlers.
 *
 * Invariants:
 * - libxml2 never reads a file, never opens a connection and never
 *   declares, loads or expands an entity for us. The parser runs with
 *   XML_PARSE_NONET and without NOENT, DTDLOAD, DTDATTR, HUGE and
 *   XINCLUDE, and a document with a DOCTYPE is refused as soon as the
 *   DOCTYPE is seen: the SAX callbacks for the internal subset, the
 *   external subset, entity declarations and entity resolution all stop
 *   the parser. No native message needs a DTD, and refusing every DOCTYPE
 *   is the only rule that defeats entity bombs (billion laughs, quadratic
 *   blow-up) and XXE (file://, http://) without trusting a libxml2 limit
 *   or option: the internal subset that would declare the entities is
 *   never parsed.
 * - libxml2 never reads what the pre-scan (xmlscan.c) did not: the bounds of
 *   struct msg_limits are checked on the bytes before libxml2 parses
 *   them, and the parse stops at libxml2's first error. A NUL character
 *   anywhere is refused (libxml2 takes it for the end of the input).
 * - libxml2 never prints. Its errors go to a structured handler on the
 *   parser context and, for errors raised outside the context (encoding
 *   conversion), to a per-thread handler installed only for the duration
 *   of the parse and restored afterwards. The first error becomes the
 *   reason, flattened to one line.
 * - On success every string in the header is a malloc'd, NUL-terminated,
 *   trimmed copy; on error nothing is left allocated and *out is zeroed.
 *
 * Decisions (where DESIGN 4 is silent):
 * - Header fields may come in any order here; a schema, where one exists,
 *   decides the order. A field given twice, an unknown element, text
 *   other than whitespace, or an element inside a field is refused.
 *   Comments and processing instructions are skipped everywhere.
 * - Header and its fields must be in the root element's namespace (no
 *   namespace for native messages); the type is the root's local name and
 *   is at most MSG_ID_MAX characters.
 * - Values are trimmed of XML whitespace (space, tab, CR, LF) at both
 *   ends, as xs:token would. Empty MessageId, TransactionId and Created
 *   mean absent; an empty Sender or Recipient is refused (IDs are 1..128
 *   printable ASCII characters). Created is printable ASCII of at most
 *   MSG_CREATED_MAX characters; its format is the schema's business.
 * - Sequence numbers: optional '+', decimal digits (leading zeros ok),
 *   nothing else; a '-' followed by digits is reported as "must be at
 *   least 1" / "must not be negative" rather than "not a number".
 * - With a TransactionId both SenderSequence and ReceiverSequence are
 *   required (ReceiverSequence is 0 when nothing was received yet);
 *   without one, either sequence is refused.
 * - A namespace error (undeclared prefix) is refused like any other
 *   well-formedness error: later stages look elements up by namespace.
 * - Errors about a missing field carry the line of <Header> (or of the
 *   TransactionId) in err->line; the texts stay short.
 * - A file of whitespace only is "empty". A UTF-16/UCS-4 file whose length
 *   is not a whole number of characters is refused before parsing, since
 *   libxml2 2.9.14 drops a truncated last character without an error.
 *
 * Why one file of some 800 lines (a fifth of them this comment): the
 * guarded parse and the header checks are one job, and they share the
 * parse state its callbacks fill, the table of header fields and the
 * line-numbered errors; the pre-scan is xmlscan.c's.
 */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "error.h"
#include "message.h"
#include "message_int.h"
#include "xmlquiet.h"
#include "xmlscan.h"

/*
 * COMPACT keeps short text inside its node instead of a malloc'd copy
 * (about 5% of acceptance): libxml2 then forbids changing the tree, and
 * nothing here does; trees are read, validated, dumped and freed.
 */
#define MSG_XML_OPTIONS	(XML_PARSE_NONET | XML_PARSE_NOERROR | \
	    XML_PARSE_NOWARNING | XML_PARSE_COMPACT)
#define MSG_TYPE_MAX	MSG_ID_MAX

/* What the SAX and error callbacks learn during one parse. */
struct msg_pstate {
	int	doctype;		/* a DOCTYPE (or entity) was seen */
	int	doctype_line;
	int	have_error;		/* errmsg holds libxml2's first error */
	int	error_line;
	char	errmsg[256];
};

enum msg_kind {
	MSG_K_ID,			/* 1..MSG_ID_MAX printable ASCII */
	MSG_K_TEXT,			/* Created: printable ASCII, short */
	MSG_K_SEQ			/* sequence number */
};

enum msg_field {
	MSG_F_MESSAGEID,
	MSG_F_SENDER,
	MSG_F_RECIPIENT,
	MSG_F_TRANSACTIONID,
	MSG_F_SENDERSEQ,
	MSG_F_RECEIVERSEQ,
	MSG_F_CREATED,
	MSG_F_COUNT
};

static const struct {
	const char	*name;
	enum msg_kind	 kind;
	int		 empty_is_absent;
	int64_t		 min;		/* MSG_K_SEQ */
} msg_fields[MSG_F_COUNT] = {
	[MSG_F_MESSAGEID] = { "MessageId", MSG_K_ID, 1, 0 },
	[MSG_F_SENDER] = { "Sender", MSG_K_ID, 0, 0 },
	[MSG_F_RECIPIENT] = { "Recipient", MSG_K_ID, 0, 0 },
	[MSG_F_TRANSACTIONID] = { "TransactionId", MSG_K_ID, 1, 0 },
	[MSG_F_SENDERSEQ] = { "SenderSequence", MSG_K_SEQ, 0, 1 },
	[MSG_F_RECEIVERSEQ] = { "ReceiverSequence", MSG_K_SEQ, 0, 0 },
	[MSG_F_CREATED] = { "Created", MSG_K_TEXT, 1, 0 },
};

/* One header field as found: its trimmed text and where it was. */
struct msg_raw {
	int	 seen;
	int	 line;
	char	*value;			/* NULL if empty and empty_is_absent */
	int64_t	 num;			/* MSG_K_SEQ */
};

void
msg_err(struct spool_error *err, int line, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	spool_vseterr(err, fmt, ap);
	va_end(ap);
	err->line = line;
}

/*
 * Write at most MSG_QUOTE_MAX bytes of s into buf (which holds at least
 * MSG_QUOTE_MAX * 4 + 4 bytes) with control characters, non-ASCII bytes,
 * '"' and '\' escaped, and "..." appended if s was cut.
 */
const char *
msg_quote(char *buf, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, o = 0;

	for (i = 0; p[i] != '\0' && i < MSG_QUOTE_MAX; i++) {
		if (p[i] == '\t') {
			buf[o++] = '\\';
			buf[o++] = 't';
		} else if (p[i] == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else if (p[i] == '\r') {
			buf[o++] = '\\';
			buf[o++] = 'r';
		} else if (p[i] == '"' || p[i] == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)p[i];
		} else if (p[i] < 0x20 || p[i] >= 0x7f) {
			snprintf(buf + o, 5, "\\x%02x", p[i]);
			o += 4;
		} else
			buf[o++] = (char)p[i];
	}
	if (p[i] != '\0') {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

static int
msg_lineno(xmlNodePtr n)
{
	long l;

	l = xmlGetLineNo(n);
	if (l < 0)
		return 0;
	return l > INT_MAX ? INT_MAX : (int)l;
}

/*
 * Parser callbacks. ctx is the parser context (its userData); our state
 * hangs off ctxt->_private.
 */
static void
msg_refuse_dtd(void *ctx)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct msg_pstate *st = ctxt->_private;

	if (!st->doctype) {
		st->doctype = 1;
		st->doctype_line = ctxt->input != NULL ? ctxt->input->line : 0;
	}
	xmlStopParser(ctxt);
}

static void
msg_sax_subset(void *ctx, const xmlChar *name, const xmlChar *publicid,
    const xmlChar *systemid)
{
	(void)name;
	(void)publicid;
	(void)systemid;
	msg_refuse_dtd(ctx);
}

static void
msg_sax_entitydecl(void *ctx, const xmlChar *name, int type,
    const xmlChar *publicid, const xmlChar *systemid, xmlChar *content)
{
	(void)name;
	(void)type;
	(void)publicid;
	(void)systemid;
	(void)content;
	msg_refuse_dtd(ctx);
}

static xmlParserInputPtr
msg_sax_resolve(void *ctx, const xmlChar *publicid, const xmlChar *systemid)
{
	(void)publicid;
	(void)systemid;
	msg_refuse_dtd(ctx);
	return NULL;
}

static void
msg_xml_error(void *ctx, xmlErrorPtr e)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct msg_pstate *st;
	const char *s;
	size_t o = 0;
	int space = 0;

	if (ctxt == NULL || e == NULL || e->level < XML_ERR_ERROR)
		return;
	st = ctxt->_private;
	if (st == NULL || st->doctype)
		return;
	if (!st->have_error) {
		st->have_error = 1;
		st->error_line = e->line;
		/* One line: control characters become one blank. */
		for (s = e->message != NULL ? e->message : "unknown error";
		    *s != '\0' && o < sizeof(st->errmsg) - 1; s++) {
			if ((unsigned char)*s < 0x20 || *s == ' ') {
				space = o > 0;
				continue;
			}
			if (space && o < sizeof(st->errmsg) - 2)
				st->errmsg[o++] = ' ';
			space = 0;
			st->errmsg[o++] = *s;
		}
		st->errmsg[o] = '\0';
	}
	/*
	 * Stop at the first parser error: libxml2 2.9.14 goes on parsing
	 * after a fatal error (with SAX off), and what it reads after a
	 * mistake is not what the pre-scan read. Only the first error is
	 * reported. Not at an encoding converter's error (XML_FROM_I18N,
	 * raised outside the context): xmlStopParser() frees the input
	 * buffer the encoding switch is still using; the parser's own
	 * error follows, and stops it.
	 */
	if (e->domain == XML_FROM_PARSER || e->domain == XML_FROM_NAMESPACE)
		xmlStopParser(ctxt);
}

static int
msg_blank(const xmlChar *s)
{
	if (s == NULL)
		return 1;
	for (; *s != '\0'; s++)
		if (!msg_is_space(*s))
			return 0;
	return 1;
}

static int
msg_blank_buf(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!msg_is_space(buf[i]))
			return 0;
	return 1;
}

static int
msg_same_ns(xmlNodePtr a, xmlNodePtr b)
{
	if (a->ns == NULL || b->ns == NULL)
		return a->ns == b->ns;
	return xmlStrEqual(a->ns->href, b->ns->href);
}

/*
 * The trimmed text of header field n into *out (malloc'd). Only text,
 * CDATA, comments and processing instructions may be inside.
 */
static int
msg_field_text(xmlNodePtr n, const char *field, char **out,
    struct spool_error *err)
{
	xmlNodePtr c;
	size_t len = 0, l, b, e;
	char *v, q[MSG_QBUF];

	*out = NULL;
	for (c = n->children; c != NULL; c = c->next) {
		switch (c->type) {
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
			if (c->content == NULL)
				break;
			l = strlen((const char *)c->content);
			if (l > SIZE_MAX - len - 1) {
				msg_err(err, msg_lineno(n),
				    "%s is too long (line %d)", field,
				    msg_lineno(n));
				return -1;
			}
			len += l;
			break;
		case XML_COMMENT_NODE:
		case XML_PI_NODE:
			break;
		case XML_ELEMENT_NODE:
			msg_err(err, msg_lineno(c),
			    "%s must hold text only, not the element %s "
			    "(line %d)", field, msg_quote(q,
			    (const char *)c->name), msg_lineno(c));
			return -1;
		default:
			msg_err(err, msg_lineno(n),
			    "%s must hold text only (line %d)", field,
			    msg_lineno(n));
			return -1;
		}
	}
	if ((v = malloc(len + 1)) == NULL) {
		msg_err(err, 0, "out of memory reading %s", field);
		return -1;
	}
	len = 0;
	for (c = n->children; c != NULL; c = c->next) {
		if ((c->type != XML_TEXT_NODE &&
		    c->type != XML_CDATA_SECTION_NODE) || c->content == NULL)
			continue;
		l = strlen((const char *)c->content);
		memcpy(v + len, c->content, l);
		len += l;
	}
	v[len] = '\0';
	for (b = 0; b < len && msg_is_space(v[b]); b++)
		;
	for (e = len; e > b && msg_is_space(v[e - 1]); e--)
		;
	memmove(v, v + b, e - b);
	v[e - b] = '\0';
	*out = v;
	return 0;
}

/* Printable ASCII only, at most max bytes. */
static int
msg_check_chars(const char *field, const char *v, size_t max, int line,
    struct spool_error *err)
{
	const unsigned char *p;
	char q[MSG_QBUF];

	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			msg_err(err, line, "%s \"%s\" contains a control "
			    "character (line %d)", field, msg_quote(q, v),
			    line);
			return -1;
		}
		if (*p > 0x7f) {
			msg_err(err, line, "%s \"%s\" contains a character "
			    "that is not printable ASCII (line %d)", field,
			    msg_quote(q, v), line);
			return -1;
		}
	}
	if ((size_t)(p - (const unsigned char *)v) > max) {
		msg_err(err, line, "%s is longer than %zu characters "
		    "(line %d)", field, max, line);
		return -1;
	}
	return 0;
}

/*
 * A sequence number: optional '+', decimal digits, min..INT64_MAX. Done
 * by hand so that no locale, base prefix or blank is accepted.
 */
static int
msg_parse_seq(const char *field, const char *v, int64_t min, int line,
    int64_t *out, struct spool_error *err)
{
	const char *p = v;
	char q[MSG_QBUF];
	int64_t n = 0;
	int d, neg = 0;

	if (*p == '+')
		p++;
	else if (*p == '-') {
		neg = 1;
		p++;
	}
	if (*p == '\0')
		goto nan;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			goto nan;
		d = *p - '0';
		if (n > (INT64_MAX - d) / 10) {
			if (neg)
				goto small;
			msg_err(err, line, "%s \"%s\" is out of range "
			    "(line %d)", field, msg_quote(q, v), line);
			return -1;
		}
		n = n * 10 + d;
	}
	if (neg || n < min)
		goto small;
	*out = n;
	return 0;
nan:
	msg_err(err, line, "%s \"%s\" is not a number (line %d)", field,
	    msg_quote(q, v), line);
	return -1;
small:
	if (min == 0)
		msg_err(err, line, "%s \"%s\" must not be negative (line %d)",
		    field, msg_quote(q, v), line);
	else
		msg_err(err, line, "%s \"%s\" must be at least %lld "
		    "(line %d)", field, msg_quote(q, v), (long long)min, line);
	return -1;
}

/* Read, check and store one header field. */
static int
msg_read_field(xmlNodePtr n, enum msg_field f, struct msg_raw *raw,
    struct spool_error *err)
{
	const char *name = msg_fields[f].name;
	int line = msg_lineno(n);
	char *v;

	if (raw->seen) {
		msg_err(err, line, "%s is given twice in Header (lines %d "
		    "and %d)", name, raw->line, line);
		return -1;
	}
	raw->seen = 1;
	raw->line = line;
	if (msg_field_text(n, name, &v, err) == -1)
		return -1;
	raw->value = v;
	switch (msg_fields[f].kind) {
	case MSG_K_ID:
	case MSG_K_TEXT:
		if (*v == '\0') {
			if (msg_fields[f].empty_is_absent) {
				free(v);
				raw->value = NULL;
				return 0;
			}
			msg_err(err, line, "%s is empty (line %d)", name, line);
			return -1;
		}
		return msg_check_chars(name, v,
		    msg_fields[f].kind == MSG_K_ID ? MSG_ID_MAX :
		    MSG_CREATED_MAX, line, err);
	case MSG_K_SEQ:
		return msg_parse_seq(name, v, msg_fields[f].min, line,
		    &raw->num, err);
	}
	return 0;
}

/* The first child element of root, which must be <Header>. */
static xmlNodePtr
msg_find_header(xmlNodePtr root, const char *type, struct spool_error *err)
{
	xmlNodePtr c;
	char q[MSG_QBUF];

	for (c = root->children; c != NULL; c = c->next) {
		if (c->type == XML_ELEMENT_NODE)
			break;
		if ((c->type == XML_TEXT_NODE ||
		    c->type == XML_CDATA_SECTION_NODE) &&
		    !msg_blank(c->content)) {
			msg_err(err, msg_lineno(c), "unexpected text before "
			    "Header in %s (line %d)", type, msg_lineno(c));
			return NULL;
		}
	}
	if (c == NULL) {
		msg_err(err, msg_lineno(root), "Header is missing in %s",
		    type);
		return NULL;
	}
	if (xmlStrEqual(c->name, BAD_CAST "Header") && !msg_same_ns(c, root)) {
		msg_err(err, msg_lineno(c), "Header is not in the namespace "
		    "of %s (line %d)", type, msg_lineno(c));
		return NULL;
	}
	if (!xmlStrEqual(c->name, BAD_CAST "Header")) {
		msg_err(err, msg_lineno(c), "Header is missing: the first "
		    "element in %s is %s (line %d)", type,
		    msg_quote(q, (const char *)c->name), msg_lineno(c));
		return NULL;
	}
	return c;
}

/* Fill h from the tree; on error the caller frees h. */
static int
msg_read_header(xmlDocPtr doc, struct msg_header *h, struct spool_error *err)
{
	struct msg_raw raw[MSG_F_COUNT];
	xmlNodePtr root, hdr, c;
	char **dst[MSG_F_COUNT] = {
		[MSG_F_MESSAGEID] = &h->message_id,
		[MSG_F_SENDER] = &h->sender,
		[MSG_F_RECIPIENT] = &h->recipient,
		[MSG_F_TRANSACTIONID] = &h->transaction_id,
		[MSG_F_CREATED] = &h->created,
	};
	char q[MSG_QBUF];
	const char *type;
	int f, hline, ret = -1;

	memset(raw, 0, sizeof(raw));
	if ((root = xmlDocGetRootElement(doc)) == NULL) {
		msg_err(err, 0, "the document has no root element");
		goto out;
	}
	type = (const char *)root->name;
	if (strlen(type) > MSG_TYPE_MAX) {
		msg_err(err, msg_lineno(root), "the root element's name (the "
		    "message type) is longer than %d characters (line %d)",
		    MSG_TYPE_MAX, msg_lineno(root));
		goto out;
	}
	if ((h->type = strdup(type)) == NULL) {
		msg_err(err, 0, "out of memory copying the header");
		goto out;
	}
	if ((hdr = msg_find_header(root, type, err)) == NULL)
		goto out;
	hline = msg_lineno(hdr);

	for (c = hdr->children; c != NULL; c = c->next) {
		if (c->type == XML_COMMENT_NODE || c->type == XML_PI_NODE)
			continue;
		if (c->type == XML_TEXT_NODE ||
		    c->type == XML_CDATA_SECTION_NODE) {
			if (msg_blank(c->content))
				continue;
			msg_err(err, msg_lineno(c), "unexpected text in Header "
			    "(line %d)", msg_lineno(c));
			goto out;
		}
		if (c->type != XML_ELEMENT_NODE) {
			msg_err(err, msg_lineno(c), "unexpected content in "
			    "Header (line %d)", msg_lineno(c));
			goto out;
		}
		for (f = 0; f < MSG_F_COUNT; f++)
			if (xmlStrEqual(c->name, BAD_CAST msg_fields[f].name))
				break;
		if (f == MSG_F_COUNT || !msg_same_ns(c, hdr)) {
			msg_err(err, msg_lineno(c), "unexpected element %s in "
			    "Header (line %d)", msg_quote(q,
			    (const char *)c->name), msg_lineno(c));
			goto out;
		}
		if (msg_read_field(c, f, &raw[f], err) == -1)
			goto out;
	}

	if (!raw[MSG_F_SENDER].seen) {
		msg_err(err, hline, "Sender is missing in Header");
		goto out;
	}
	if (raw[MSG_F_TRANSACTIONID].value != NULL) {
		if (!raw[MSG_F_SENDERSEQ].seen) {
			msg_err(err, raw[MSG_F_TRANSACTIONID].line,
			    "TransactionId given without SenderSequence");
			goto out;
		}
		if (!raw[MSG_F_RECEIVERSEQ].seen) {
			msg_err(err, raw[MSG_F_TRANSACTIONID].line,
			    "TransactionId given without ReceiverSequence "
			    "(0 if nothing was received yet)");
			goto out;
		}
		h->sender_seq = raw[MSG_F_SENDERSEQ].num;
		h->receiver_seq = raw[MSG_F_RECEIVERSEQ].num;
	} else {
		for (f = MSG_F_SENDERSEQ; f <= MSG_F_RECEIVERSEQ; f++) {
			if (!raw[f].seen)
				continue;
			msg_err(err, raw[f].line, "%s given without "
			    "TransactionId", msg_fields[f].name);
			goto out;
		}
	}

	/* Hand the strings over; raw keeps what stays unused. */
	for (f = 0; f < MSG_F_COUNT; f++) {
		if (dst[f] == NULL)
			continue;
		*dst[f] = raw[f].value;
		raw[f].value = NULL;
	}
	ret = 0;
out:
	for (f = 0; f < MSG_F_COUNT; f++)
		free(raw[f].value);
	return ret;
}

int
msg_parse(const char *buf, size_t len, struct msg *out,
    struct spool_error *err)
{
	return msg_parse_limits(buf, len, NULL, out, err);
}

int
msg_parse_limits(const char *buf, size_t len, const struct msg_limits *lim,
    struct msg *out, struct spool_error *err)
{
	return msg_parse_doc(buf, len, lim, true, out, err);
}

int
msg_read_native(struct msg *m, struct spool_error *err)
{
	return msg_read_header(m->doc, &m->hdr, err);
}

int
msg_parse_doc(const char *buf, size_t len, const struct msg_limits *lim,
    bool native, struct msg *out, struct spool_error *err)
{
	xmlParserCtxtPtr ctxt = NULL;
	xmlDocPtr doc = NULL;
	struct xmlquiet q;
	struct msg_pstate st;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	spool_clearerr(err);
	memset(&st, 0, sizeof(st));
	if (len == 0) {
		msg_err(err, 0, "file is empty");
		return -1;
	}
	if (msg_blank_buf(buf, len)) {
		msg_err(err, 0, "file is empty (whitespace only)");
		return -1;
	}
	if (len > INT_MAX) {
		msg_err(err, 0, "file is too large to be parsed as XML");
		return -1;
	}

	xmlInitParser();
	if (xmlscan_truncated_char(buf, len)) {
		msg_err(err, 0, "not well-formed XML: the file ends in the "
		    "middle of a UTF-16 or UCS-4 character");
		goto out;
	}
	if ((ctxt = xmlNewParserCtxt()) == NULL || ctxt->sax == NULL) {
		msg_err(err, 0, "out of memory creating the XML parser");
		goto out;
	}
	ctxt->_private = &st;
	ctxt->sax->internalSubset = msg_sax_subset;
	ctxt->sax->externalSubset = msg_sax_subset;
	ctxt->sax->entityDecl = msg_sax_entitydecl;
	ctxt->sax->resolveEntity = msg_sax_resolve;
	ctxt->sax->serror = msg_xml_error;

	/* Per-thread handlers, for errors raised outside the context. */
	xmlquiet_begin(&q, NULL, NULL);
	if (xmlscan_check(buf, len, lim, err) == -1) {
		xmlquiet_end(&q);
		goto out;
	}
	xmlSetStructuredErrorFunc(ctxt, msg_xml_error);

	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, NULL,
	    MSG_XML_OPTIONS);

	xmlquiet_end(&q);

	if (st.doctype) {
		msg_err(err, st.doctype_line, "DOCTYPE declarations are not "
		    "allowed (line %d)", st.doctype_line);
		goto out;
	}
	if (doc == NULL || !ctxt->wellFormed || st.have_error) {
		if (!st.have_error)
			msg_err(err, 0, "not well-formed XML");
		else if (st.error_line > 0)
			msg_err(err, st.error_line, "not well-formed XML: %s "
			    "(line %d)", st.errmsg, st.error_line);
		else
			msg_err(err, 0, "not well-formed XML: %s", st.errmsg);
		goto out;
	}
	if (native && msg_read_header(doc, &out->hdr, err) == -1)
		goto out;
	out->doc = doc;
	doc = NULL;
	ret = 0;
out:
	if (doc != NULL)
		xmlFreeDoc(doc);
	if (ctxt != NULL) {
		ctxt->_private = NULL;
		xmlFreeParserCtxt(ctxt);
	}
	if (ret == -1)
		msg_free(out);
	return ret;
}

void
msg_free(struct msg *m)
{
	if (m == NULL)
		return;
	if (m->doc != NULL && m->doc_free != NULL)
		m->doc_free(m->doc);
	else if (m->doc != NULL)
		xmlFreeDoc(m->doc);
	free(m->hdr.type);
	free(m->hdr.message_id);
	free(m->hdr.sender);
	free(m->hdr.recipient);
	free(m->hdr.transaction_id);
	free(m->hdr.created);
	memset(m, 0, sizeof(*m));
}
