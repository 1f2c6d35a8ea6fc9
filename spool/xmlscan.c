/*
 * xmlscan.c - the pre-scan: a partner's XML bytes checked against struct
 * msg_limits before libxml2 parses them (DESIGN 4 leaves its bounds to
 * spoold.conf(5)), in the encoding libxml2 will read them in.
 *
 * libxml2 2.9.14 checks the attributes of a start tag for duplicates in
 * time quadratic in their number before any callback runs, so the bounds
 * are checked on the bytes before libxml2 sees them, in one linear pass.
 * The pass reads well-formed XML exactly as XML does (comments, PIs,
 * CDATA, quoted values holding '>', '/' or "-->") and, where it meets
 * something that is not well-formed, stops without a verdict: libxml2
 * then reports its own error at or before that point, and since the
 * parse stops at libxml2's first error (msg_xml_error in message.c),
 * libxml2 never reads what the pass did not. A NUL character ends
 * libxml2's input silently, so it is refused here, wherever it is.
 *
 * The pass reads UTF-8 or an ASCII-compatible encoding. A document in
 * UTF-16 or UCS-4, or declaring an encoding that is not a superset of
 * ASCII (UTF-7, ISO-2022-JP, EBCDIC, ...), is first converted to UTF-8
 * with libxml2's own converter and that is scanned; if it declares one
 * and starts like ASCII, its bytes are scanned too, whichever libxml2
 * ends up using. Lengths are counted in bytes of what is scanned.
 *
 * Invariants:
 * - The pass is linear in the size of what it scans (one counter of
 *   namespaces in scope, one entry per open element, up to libxml2's own
 *   depth cap), and it only reads: it never changes the buffer.
 * - A verdict is given only on well-formed input: a breach is -1 with
 *   err naming the bound ("(max_attributes, line 3)"); anything else is
 *   left to libxml2, which stops at its first error, before what the pass
 *   did not read.
 * - The converters are libxml2's own, so what is scanned is what libxml2
 *   will read; errors they raise go to the per-thread handler that
 *   msg_parse_limits() installs around the call.
 * - A UTF-16/UCS-4 file whose length is not a whole number of characters
 *   is refused before parsing (xmlscan_truncated_char), since libxml2
 *   2.9.14 drops a truncated last character without an error.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/encoding.h>
#include <libxml/tree.h>

#include "error.h"
#include "message_int.h"
#include "xmlscan.h"

#define XMLSCAN_NAME_QUOTE	64

struct xmlscan {
	const struct msg_limits	*lim;
	const unsigned char	*p;
	size_t			 n;
	int			 raw;	/* p is the file's own bytes */
	uint64_t		 nsdecl;	/* namespaces in scope */
	struct {
		size_t	 off, len;	/* name */
		unsigned ns;		/* namespaces it declares */
	} open[MSG_XML_DEPTH_CAP + 1];	/* open elements */
};

static int
xmlscan_line(const struct xmlscan *sc, size_t off)
{
	size_t i;
	int line = 1;

	for (i = 0; i < off && i < sc->n; i++)
		if (sc->p[i] == '\n' && line < INT_MAX)
			line++;
	return line;
}

/* The name at p[off..off+len) quoted for an error, into q (MSG_QBUF). */
static const char *
xmlscan_name(const struct xmlscan *sc, size_t off, size_t len, char *q)
{
	char name[XMLSCAN_NAME_QUOTE + 1];

	if (len > XMLSCAN_NAME_QUOTE)
		len = XMLSCAN_NAME_QUOTE;
	memcpy(name, sc->p + off, len);
	name[len] = '\0';
	return msg_quote(q, name);
}

/* Bytes that end a name: XML allows none of them in one. */
static int
xmlscan_name_byte(int c)
{
	return !(msg_is_space(c) || c == '/' || c == '>' || c == '=' ||
	    c == '"' || c == '\'' || c == '<' || c == '?' || c == '\0');
}

static size_t
xmlscan_name_len(const struct xmlscan *sc, size_t i)
{
	size_t j;

	for (j = i; j < sc->n && xmlscan_name_byte(sc->p[j]); j++)
		;
	return j - i;
}

static size_t
xmlscan_skip_blanks(const struct xmlscan *sc, size_t i)
{
	while (i < sc->n && msg_is_space(sc->p[i]))
		i++;
	return i;
}

static int
xmlscan_at(const struct xmlscan *sc, size_t i, const char *s)
{
	size_t l = strlen(s);

	return sc->n - i >= l && memcmp(sc->p + i, s, l) == 0;
}

/* Offset of s at or after i, or n. */
static size_t
xmlscan_find(const struct xmlscan *sc, size_t i, const char *s)
{
	const unsigned char *q;

	q = memmem(sc->p + i, sc->n - i, s, strlen(s));
	return q == NULL ? sc->n : (size_t)(q - sc->p);
}

static int
xmlscan_nul(const struct xmlscan *sc, struct spool_error *err)
{
	const unsigned char *q;
	size_t off;
	int line;

	if ((q = memchr(sc->p, '\0', sc->n)) == NULL)
		return 0;
	off = (size_t)(q - sc->p);
	line = xmlscan_line(sc, off);
	if (sc->raw)
		msg_err(err, line, "not well-formed XML: NUL byte at offset "
		    "%zu (line %d)", off, line);
	else
		msg_err(err, line, "not well-formed XML: NUL character "
		    "(U+0000) on line %d", line);
	return -1;
}

static int
xmlscan_too_long_name(const struct xmlscan *sc, size_t off, size_t len,
    const char *what, struct spool_error *err)
{
	char q[MSG_QBUF];
	int line = xmlscan_line(sc, off);

	msg_err(err, line, "%s %s is longer than %u bytes (max_name_length, "
	    "line %d)", what, xmlscan_name(sc, off, len, q),
	    sc->lim->max_name_length, line);
	return -1;
}

/*
 * One start tag at p[i] == '<'. Returns 1 with *next past it and *empty
 * set, 0 if it is not well-formed (stop), -1 on a breach.
 */
static int
xmlscan_tag(struct xmlscan *sc, size_t i, size_t *next, int *empty,
    unsigned *ns, struct spool_error *err)
{
	const struct msg_limits *lim = sc->lim;
	const unsigned char *q;
	size_t j, k, nlen, an, aoff, vlen;
	unsigned attrs = 0;
	char qn[MSG_QBUF], qa[MSG_QBUF];

	*ns = 0;
	int line;

	j = i + 1;
	if ((nlen = xmlscan_name_len(sc, j)) == 0)
		return 0;
	if (lim->max_name_length > 0 && nlen > lim->max_name_length)
		return xmlscan_too_long_name(sc, j, nlen, "element name", err);
	for (k = j + nlen;;) {
		j = xmlscan_skip_blanks(sc, k);
		if (j >= sc->n)
			return 0;
		if (sc->p[j] == '>' || (sc->p[j] == '/' && j + 1 < sc->n &&
		    sc->p[j + 1] == '>')) {
			*empty = sc->p[j] == '/';
			*next = j + (*empty ? 2 : 1);
			if (lim->max_namespaces > 0 &&
			    sc->nsdecl + *ns > lim->max_namespaces) {
				line = xmlscan_line(sc, i);
				msg_err(err, line, "element %s has more than "
				    "%u namespace declarations in scope "
				    "(max_namespaces, line %d)",
				    xmlscan_name(sc, i + 1, nlen, qn),
				    lim->max_namespaces, line);
				return -1;
			}
			return 1;
		}
		if (j == k || (an = xmlscan_name_len(sc, j)) == 0)
			return 0;
		aoff = j;
		if ((an == 5 || (an > 5 && sc->p[j + 5] == ':')) &&
		    memcmp(sc->p + j, "xmlns", 5) == 0)
			(*ns)++;
		if (lim->max_name_length > 0 && an > lim->max_name_length)
			return xmlscan_too_long_name(sc, j, an,
			    "attribute name", err);
		j = xmlscan_skip_blanks(sc, j + an);
		if (j >= sc->n || sc->p[j] != '=')
			return 0;
		j = xmlscan_skip_blanks(sc, j + 1);
		if (j >= sc->n || (sc->p[j] != '"' && sc->p[j] != '\''))
			return 0;
		if ((q = memchr(sc->p + j + 1, sc->p[j], sc->n - j - 1)) ==
		    NULL)
			return 0;
		vlen = (size_t)(q - (sc->p + j + 1));
		if (memchr(sc->p + j + 1, '<', vlen) != NULL)
			return 0;
		if (lim->max_text_length > 0 && vlen > lim->max_text_length) {
			line = xmlscan_line(sc, aoff);
			msg_err(err, line, "attribute %s of element %s is "
			    "longer than %llu bytes (max_text_length, line %d)",
			    xmlscan_name(sc, aoff, an, qa),
			    xmlscan_name(sc, i + 1, nlen, qn),
			    (unsigned long long)lim->max_text_length, line);
			return -1;
		}
		if (lim->max_attributes > 0 && ++attrs > lim->max_attributes) {
			line = xmlscan_line(sc, i);
			msg_err(err, line, "element %s has more than %u "
			    "attributes (max_attributes, line %d)",
			    xmlscan_name(sc, i + 1, nlen, qn),
			    lim->max_attributes, line);
			return -1;
		}
		k = (size_t)(q - sc->p) + 1;
	}
}

/* 0: within the bounds as far as well-formed; -1: a breach, err set. */
static int
xmlscan_pass(struct xmlscan *sc, struct spool_error *err)
{
	const struct msg_limits *lim = sc->lim;
	size_t i = 0, j = 0, run;
	unsigned depth = 0;
	char q[MSG_QBUF];
	unsigned ns = 0;
	int rc, empty = 0, line, root_done = 0;

	if (xmlscan_nul(sc, err) == -1)
		return -1;
	if (sc->n >= 3 && memcmp(sc->p, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < sc->n) {
		if (sc->p[i] != '<') {
			j = xmlscan_find(sc, i, "<");
			if (depth > 0 && lim->max_text_length > 0 &&
			    j - i > lim->max_text_length)
				goto text;
			i = j;
			continue;
		}
		if (xmlscan_at(sc, i, "<?")) {
			run = xmlscan_name_len(sc, i + 2);
			if (lim->max_name_length > 0 &&
			    run > lim->max_name_length)
				return xmlscan_too_long_name(sc, i + 2, run,
				    "processing instruction", err);
			if ((j = xmlscan_find(sc, i + 2, "?>")) == sc->n)
				return 0;
			i = j + 2;
		} else if (xmlscan_at(sc, i, "<!--")) {
			if ((j = xmlscan_find(sc, i + 4, "-->")) == sc->n)
				return 0;
			i = j + 3;
		} else if (xmlscan_at(sc, i, "<![CDATA[")) {
			if (depth == 0 ||
			    (j = xmlscan_find(sc, i + 9, "]]>")) == sc->n)
				return 0;
			if (lim->max_text_length > 0 &&
			    j - i - 9 > lim->max_text_length)
				goto text;
			i = j + 3;
		} else if (xmlscan_at(sc, i, "<!")) {
			return 0;	/* a DOCTYPE: refused by the parser */
		} else if (xmlscan_at(sc, i, "</")) {
			if (depth == 0 ||
			    (j = xmlscan_find(sc, i, ">")) == sc->n)
				return 0;
			sc->nsdecl -= sc->open[depth].ns;
			if (--depth == 0)
				root_done = 1;
			i = j + 1;
		} else {
			if (root_done)
				return 0;	/* "Extra content" */
			if ((rc = xmlscan_tag(sc, i, &j, &empty, &ns,
			    err)) <= 0)
				return rc;
			if (!empty) {
				if (depth >= MSG_XML_DEPTH_CAP)
					return 0;  /* libxml2 stops */
				depth++;
				sc->open[depth].off = i + 1;
				sc->open[depth].len =
				    xmlscan_name_len(sc, i + 1);
				sc->open[depth].ns = ns;
				sc->nsdecl += ns;
				if (lim->max_depth > 0 &&
				    depth > lim->max_depth) {
					line = xmlscan_line(sc, i);
					msg_err(err, line, "element %s is "
					    "nested deeper than %u elements "
					    "(max_depth, line %d)",
					    xmlscan_name(sc, i + 1,
					    sc->open[depth].len, q),
					    lim->max_depth, line);
					return -1;
				}
			} else if (depth == 0)
				root_done = 1;
			i = j;
		}
	}
	return 0;
text:
	line = xmlscan_line(sc, i);
	msg_err(err, line, "element %s holds text longer than %llu bytes "
	    "(max_text_length, line %d)", xmlscan_name(sc,
	    sc->open[depth].off, sc->open[depth].len, q),
	    (unsigned long long)lim->max_text_length, line);
	return -1;
}

/*
 * Encodings libxml2 2.9.14 does not switch to when a document declares
 * them (it keeps what it detected), and those whose bytes the pass may
 * read as they are (ASCII is ASCII in them, one byte a character).
 */
static int
xmlscan_enc_in(const char *enc, const char *const *names, size_t n, int prefix)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (prefix ? strncasecmp(enc, names[i],
		    strlen(names[i])) == 0 : strcasecmp(enc, names[i]) == 0)
			return 1;
	return 0;
}

static int
xmlscan_enc_kept(const char *enc)
{
	static const char *const kept[] = { "UTF-8", "UTF8", "UTF-16",
	    "UTF16" };

	return xmlscan_enc_in(enc, kept, 4, 0);
}

static int
xmlscan_enc_bytes(const char *enc)
{
	static const char *const same[] = { "US-ASCII", "ASCII", "LATIN1",
	    "ISO-LATIN-1" };
	static const char *const family[] = { "ISO-8859-", "ISO8859-",
	    "WINDOWS-125", "CP125" };

	return xmlscan_enc_kept(enc) || xmlscan_enc_in(enc, same, 4, 0) ||
	    xmlscan_enc_in(enc, family, 4, 1);
}

/*
 * The encoding the XML declaration at the start of sc names, into enc
 * (empty if none or unreadable: the parser then refuses the
 * declaration), and in *after the offset just past its closing quote,
 * where libxml2 switches to it.
 */
static void
xmlscan_declared_encoding(const struct xmlscan *sc, char *enc, size_t size,
    size_t *after)
{
	size_t i = 0, end, j, k;

	enc[0] = '\0';
	*after = 0;
	if (xmlscan_at(sc, 0, "\xef\xbb\xbf"))
		i = 3;
	if (!xmlscan_at(sc, i, "<?xml") || i + 5 >= sc->n ||
	    !msg_is_space(sc->p[i + 5]))
		return;
	end = xmlscan_find(sc, i, "?>");
	for (j = i + 5; j + 8 <= end; j++)
		if (memcmp(sc->p + j, "encoding", 8) == 0)
			break;
	if (j + 8 > end)
		return;
	j = xmlscan_skip_blanks(sc, j + 8);
	if (j >= end || sc->p[j] != '=')
		return;
	j = xmlscan_skip_blanks(sc, j + 1);
	if (j >= end || (sc->p[j] != '"' && sc->p[j] != '\''))
		return;
	for (k = j + 1; k < end && sc->p[k] != sc->p[j]; k++)
		;
	if (k >= end || k - j - 1 >= size)
		return;
	memcpy(enc, sc->p + j + 1, k - j - 1);
	enc[k - j - 1] = '\0';
	*after = k + 1;
}

/*
 * buf[0..keep) as it is, then what h makes of the rest, as UTF-8, into
 * a new buffer (NULL: out of memory).
 */
static xmlBufferPtr
xmlscan_decode(xmlCharEncodingHandlerPtr h, const char *buf, size_t len,
    size_t keep)
{
	xmlBufferPtr in, out;
	int left;

	in = xmlBufferCreateSize(len - keep + 1);
	out = xmlBufferCreateSize(2 * len + 64);
	if (in == NULL || out == NULL ||
	    xmlBufferAdd(out, (const xmlChar *)buf, (int)keep) != 0 ||
	    xmlBufferAdd(in, (const xmlChar *)buf + keep,
	    (int)(len - keep)) != 0) {
		if (out != NULL)
			xmlBufferFree(out);
		out = NULL;
		goto out;
	}
	/*
	 * -3 is "output full" or a character cut at the end: go on while
	 * input is consumed. -2, a bad sequence, ends it: the parser stops
	 * there too.
	 */
	do {
		left = xmlBufferLength(in);
	} while (xmlCharEncInFunc(h, out, in) != -2 &&
	    xmlBufferLength(in) > 0 && xmlBufferLength(in) < left);
out:
	if (in != NULL)
		xmlBufferFree(in);
	return out;
}

/* Scan what h makes of buf after its first keep bytes. */
static int
xmlscan_decoded(struct xmlscan *sc, xmlCharEncodingHandlerPtr h,
    const char *buf, size_t len, size_t keep, struct spool_error *err)
{
	xmlBufferPtr out;
	int rc;

	if ((out = xmlscan_decode(h, buf, len, keep)) == NULL) {
		msg_err(err, 0, "out of memory converting the document");
		return -1;
	}
	sc->p = xmlBufferContent(out);
	sc->n = (size_t)xmlBufferLength(out);
	sc->raw = 0;
	sc->nsdecl = 0;
	rc = xmlscan_pass(sc, err);
	xmlBufferFree(out);
	return rc;
}

/*
 * Check buf against lim (NUL characters only if lim is NULL), in the
 * encoding libxml2 will read it in:
 * - detected as ASCII-like (UTF-8, no BOM or a UTF-8 one): its bytes;
 *   and if it declares an encoding libxml2 switches to, also its bytes
 *   up to the declaration's closing quote followed by the rest decoded;
 * - UTF-16 or UCS-4 (by BOM or by "<?"): decoded; a declaration of
 *   another encoding is refused, since libxml2 would switch to it
 *   somewhere after the part it has already decoded;
 * - EBCDIC: decoded with the encoding it declares, which is what
 *   libxml2 reads it with from the start (none: libxml2 refuses it).
 */
int
xmlscan_check(const char *buf, size_t len, const struct msg_limits *lim,
    struct spool_error *err)
{
	static const struct msg_limits none;
	struct xmlscan *sc;
	xmlCharEncodingHandlerPtr h = NULL;
	xmlCharEncoding enc;
	xmlBufferPtr head;
	char name[64], q[MSG_QBUF];
	size_t after;
	int rc = 0;

	if ((sc = calloc(1, sizeof(*sc))) == NULL) {
		msg_err(err, 0, "out of memory scanning the document");
		return -1;
	}
	sc->lim = lim != NULL ? lim : &none;
	sc->p = (const unsigned char *)buf;
	sc->n = len;
	sc->raw = 1;
	enc = xmlDetectCharEncoding((const unsigned char *)buf,
	    len < 4 ? (int)len : 4);
	switch (enc) {
	case XML_CHAR_ENCODING_UTF16LE:
	case XML_CHAR_ENCODING_UTF16BE:
	case XML_CHAR_ENCODING_UCS4LE:
	case XML_CHAR_ENCODING_UCS4BE:
	case XML_CHAR_ENCODING_UCS4_2143:
	case XML_CHAR_ENCODING_UCS4_3412:
		if ((h = xmlGetCharEncodingHandler(enc)) == NULL) {
			msg_err(err, 0, "not well-formed XML: the document's "
			    "encoding is not supported");
			rc = -1;
			break;
		}
		/* The declaration, if any, is in the first line. */
		if ((head = xmlscan_decode(h, buf, len < 1024 ? len : 1024,
		    0)) == NULL) {
			msg_err(err, 0, "out of memory converting the "
			    "document");
			rc = -1;
			break;
		}
		sc->p = xmlBufferContent(head);
		sc->n = (size_t)xmlBufferLength(head);
		xmlscan_declared_encoding(sc, name, sizeof(name), &after);
		xmlBufferFree(head);
		if (name[0] != '\0' && !xmlscan_enc_kept(name) &&
		    (h->name == NULL || strcasecmp(name, h->name) != 0)) {
			msg_err(err, 1, "not well-formed XML: a document "
			    "written in %s declares encoding %s (line 1)",
			    h->name != NULL ? h->name : "UTF-16 or UCS-4",
			    msg_quote(q, name));
			rc = -1;
			break;
		}
		rc = xmlscan_decoded(sc, h, buf, len, 0, err);
		break;
	case XML_CHAR_ENCODING_EBCDIC:
		if ((h = xmlGetCharEncodingHandler(enc)) == NULL ||
		    (head = xmlscan_decode(h, buf, len < 1024 ? len : 1024,
		    0)) == NULL)
			break;		/* libxml2 cannot read it either */
		sc->p = xmlBufferContent(head);
		sc->n = (size_t)xmlBufferLength(head);
		xmlscan_declared_encoding(sc, name, sizeof(name), &after);
		xmlBufferFree(head);
		xmlCharEncCloseFunc(h);
		if (name[0] == '\0' ||
		    (h = xmlFindCharEncodingHandler(name)) == NULL)
			break;		/* libxml2 refuses it */
		rc = xmlscan_decoded(sc, h, buf, len, 0, err);
		break;
	default:
		if ((rc = xmlscan_pass(sc, err)) == -1)
			break;
		xmlscan_declared_encoding(sc, name, sizeof(name), &after);
		if (name[0] == '\0' || xmlscan_enc_bytes(name) ||
		    (h = xmlFindCharEncodingHandler(name)) == NULL)
			break;		/* bytes it is, or libxml2 refuses */
		rc = xmlscan_decoded(sc, h, buf, len, after, err);
		break;
	}
	if (h != NULL)
		xmlCharEncCloseFunc(h);
	free(sc);
	return rc;
}

/*
 * libxml2 2.9.14 silently drops an incomplete character at the end of a
 * UTF-16 or UCS-4 document (its own test truncated-utf16.xml): catch it.
 */
int
xmlscan_truncated_char(const char *buf, size_t len)
{
	switch (xmlDetectCharEncoding((const unsigned char *)buf,
	    len < 4 ? (int)len : 4)) {
	case XML_CHAR_ENCODING_UTF16LE:
	case XML_CHAR_ENCODING_UTF16BE:
		return len % 2 != 0;
	case XML_CHAR_ENCODING_UCS4LE:
	case XML_CHAR_ENCODING_UCS4BE:
	case XML_CHAR_ENCODING_UCS4_2143:
	case XML_CHAR_ENCODING_UCS4_3412:
		return len % 4 != 0;
	default:
		return 0;
	}
}
