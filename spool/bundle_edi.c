/*
 * bundle_edi.c - an EDIFACT or X12 file split like a bundle (DESIGN 9 and
 * 15): each message (UNH..UNT, ST..SE) of each interchange is one entry.
 *
 * The file is read whole (at most max_total_size bytes) and tokenized
 * by edi_read() once (bundle_edi_load(), or bundle_edi_adopt() of what
 * accept_split.c tokenized already), and its messages are handed out as
 * entries as often as asked (bundle_edi_entries(): pass 1, then pass 2
 * of accept_bundle.c; or one at a time, bundle_edi_next() and
 * bundle_edi_entry(), to threads that share the file and read its
 * tokens only: accept_ahead.c). An envelope error (a trailer reference
 * or count that does not match, a missing trailer, a broken UNA or ISA)
 * refuses the file whole with the tokenizer's reason, as a corrupt
 * archive is. Else each message becomes an entry whose bytes are the
 * message's original bytes in their original envelope, cut down to
 * that one message:
 *
 *   EDIFACT: [UNA] UNB [UNG] UNH..UNT [UNE+1+ref'] UNZ+1+ref'
 *   X12:     ISA GS ST..SE GE*1*GS06~ IEA*1*ISA13~
 *
 * The header segments are copied byte for byte; the trailers are written
 * anew with the separators the interchange declared, a count of 1 and
 * the header's control reference (released where it holds a separator),
 * each followed by the line break the message's own trailer had. So an
 * entry is an interchange of its own that edi_read() reads again (a
 * message whose own trailer is wrong keeps its reason there, and is
 * rejected alone), a handler gets the message with its envelope, and the
 * same file always gives the same entries (pass 2 of accept_bundle.c
 * writes them again after a crash and compares their SHA-256).
 *
 * Each entry carries one dictionary of names (struct bundle_entry dict)
 * for the pooled tree acceptance lays its message out in
 * (edi_message_tree_pooled()): made once per file (once per thread,
 * by the caller of bundle_edi_entry()) instead of once per message, it
 * holds the tree's element and attribute names only.
 *
 * Entry names are "interchange-I-message-M-ref-R" (data, never a path).
 * A file of several interchanges comes here cut into one file each by
 * accept_split.c (one batch per interchange, DESIGN 15), so I is 1
 * unless that cut could not be written.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/tree.h>	/* xmlDict */

#include "bundle.h"
#include "bundle_int.h"
#include "edi.h"

static int
put(struct bundle_edi_buf *b, const char *s, size_t n)
{
	char *np;
	size_t cap;

	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL)
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

static int
putc1(struct bundle_edi_buf *b, char c)
{
	return put(b, &c, 1);
}

/* A value, with the release character before any separator in it. */
static int
put_value(struct bundle_edi_buf *b, const struct edi_interchange *ic,
    const char *v)
{
	unsigned char c;

	for (; v != NULL && *v != '\0'; v++) {
		c = (unsigned char)*v;
		if (ic->release >= 0 && (c == ic->comp || c == ic->elem ||
		    c == ic->seg || c == ic->release || (ic->rep >= 0 &&
		    c == (unsigned char)ic->rep)) &&
		    putc1(b, (char)ic->release) == -1)
			return -1;
		if (putc1(b, (char)c) == -1)
			return -1;
	}
	return 0;
}

/* TAG<e>1<e>ref<s>nl */
static int
put_trailer(struct bundle_edi_buf *b, const struct edi_interchange *ic,
    const char *tag, const char *ref, const char *nl)
{
	if (put(b, tag, strlen(tag)) == -1 || putc1(b, (char)ic->elem) ==
	    -1 || putc1(b, '1') == -1 || putc1(b, (char)ic->elem) == -1 ||
	    put_value(b, ic, ref) == -1 || putc1(b, (char)ic->seg) == -1 ||
	    put(b, nl, strlen(nl)) == -1)
		return -1;
	return 0;
}

/* The line break the message's trailer had, for the trailers we write. */
static const char *
line_break(const struct edi_interchange *ic, const char *buf, size_t len,
    size_t e)
{
	if (ic->seg == '\n' || ic->seg == '\r' || e == 0)
		return "";
	if (buf[e - 1] == '\n')
		return e >= 2 && buf[e - 2] == '\r' ? "\r\n" : "\n";
	if (e + 1 < len && buf[e] == '\r' && buf[e + 1] == '\n')
		return "\r\n";
	if (e < len && buf[e] == '\n')
		return "\n";
	return "";
}

static int
entry_bytes(const struct edi_interchange *ic, size_t i, const char *buf,
    size_t len, struct bundle_edi_buf *b)
{
	const struct edi_message *m = &ic->msgs[i];
	const struct edi_group *g = m->group >= 0 ?
	    &ic->groups[m->group] : NULL;
	const char *nl = line_break(ic, buf, len, m->end);
	int x12 = ic->syntax == EDI_X12;

	b->len = 0;
	if (put(b, buf + ic->start, ic->hdr_end - ic->start) == -1)
		return -1;
	if (g != NULL && put(b, buf + g->hdr_start, g->hdr_end -
	    g->hdr_start) == -1)
		return -1;
	if (put(b, buf + m->start, m->end - m->start) == -1)
		return -1;
	if (m->end < len && buf[m->end - 1] != '\n' && nl[0] != '\0' &&
	    put(b, nl, strlen(nl)) == -1)
		return -1;
	if (g != NULL && put_trailer(b, ic, x12 ? "GE" : "UNE", g->control,
	    nl) == -1)
		return -1;
	if (put_trailer(b, ic, x12 ? "IEA" : "UNZ", ic->control, nl) == -1)
		return -1;
	return 0;
}

struct bundle_edi {
	char			*buf;
	size_t			 len;
	struct edi_interchange	*ics;
	size_t			 nmsgs;
};

/* The buffer bundle_edi_read() reads a file into: max_total_size + 1
   bytes (at most 1 GiB), one more for the caller's convenience. */
static size_t
read_cap(const struct bundle_limits *lim)
{
	size_t cap;

	cap = lim->max_total_size < (uint64_t)SIZE_MAX - 1 ?
	    (size_t)lim->max_total_size + 1 : SIZE_MAX - 1;
	if (cap > 1024 * 1024 * 1024)
		cap = 1024 * 1024 * 1024;
	return cap;
}

/* The tokenizer's limits for a file read as a bundle. */
static void
edi_limits_of(const struct bundle_limits *lim, struct edi_limits *el)
{
	edi_limits_default(el);
	if (lim->max_entries < el->max_messages)
		el->max_messages = (size_t)lim->max_entries;
}

static size_t
count_msgs(const struct edi_interchange *ics)
{
	size_t n = 0;

	for (; ics != NULL; ics = ics->next)
		n += ics->nmsgs;
	return n;
}

int
bundle_edi_adopt(const struct bundle_limits *lim, char *buf, size_t len,
    struct edi_interchange *ics, struct bundle_edi **out)
{
	struct edi_limits el;
	struct bundle_edi *be;

	*out = NULL;
	edi_limits_of(lim, &el);
	/* What edi_read() with the bundle's limits would say too: they are
	 * edi_split_read()'s (the defaults) but for a lower max_messages,
	 * which these messages are within; and a file bundle_edi_load()
	 * would read whole. */
	if (ics == NULL || len >= read_cap(lim) ||
	    count_msgs(ics) > el.max_messages)
		return 0;
	if ((be = calloc(1, sizeof(*be))) == NULL)
		return 0;
	be->buf = buf;
	be->len = len;
	be->ics = ics;
	be->nmsgs = count_msgs(ics);
	*out = be;
	return 1;
}

int
bundle_edi_load(int fd, const struct bundle_limits *lim,
    struct bundle_edi **out, char *why, size_t whylen,
    struct spool_error *err)
{
	struct edi_interchange *ics = NULL;
	struct edi_limits el;
	struct spool_error perr;
	struct bundle_edi *be;
	char *buf = NULL;
	size_t len = 0, cap;
	ssize_t got;
	int ret = -1;

	*out = NULL;
	cap = read_cap(lim);
	if ((buf = malloc(cap + 1)) == NULL) {
		spool_seterr(err, "out of memory reading an interchange");
		return -1;
	}
	for (;;) {
		got = read(fd, buf + len, cap - len);
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1) {
			spool_seterr(err, "read: %s", strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		len += (size_t)got;
		if (len == cap) {
			snprintf(why, whylen, "interchange file is larger "
			    "than max_total_size ([bundle])");
			ret = 1;
			goto out;
		}
	}
	edi_limits_of(lim, &el);
	spool_clearerr(&perr);
	if (edi_read(buf, len, &el, &ics, &perr) == -1) {
		snprintf(why, whylen, "interchange refused whole: %s",
		    perr.msg);
		ret = 1;
		goto out;
	}
	if ((be = calloc(1, sizeof(*be))) == NULL) {
		spool_seterr(err, "out of memory reading an interchange");
		goto out;
	}
	be->buf = buf;
	be->len = len;
	be->ics = ics;
	be->nmsgs = count_msgs(ics);
	*out = be;
	return 0;
out:
	edi_free(ics);
	free(buf);
	return ret;
}

size_t
bundle_edi_size(const struct bundle_edi *be)
{
	/* The bytes, and each message's struct and strings. */
	return be == NULL ? 0 : be->len + be->nmsgs * 256;
}

const char *
bundle_edi_data(const struct bundle_edi *be, size_t *len)
{
	*len = be->len;
	return be->buf;
}

void
bundle_edi_free(struct bundle_edi *be)
{
	if (be == NULL)
		return;
	edi_free(be->ics);
	free(be->buf);
	free(be);
}

int
bundle_edi_next(const struct bundle_edi *bedi,
    const struct bundle_limits *lim, struct bundle_edi_pos *pos, char *why,
    size_t whylen)
{
	const struct edi_interchange *ic = pos->ic;
	size_t icn = pos->icn, i = pos->msg + 1;

	if (ic == NULL) {
		ic = bedi->ics;
		icn = 1;
		i = 0;
	}
	while (ic != NULL && i >= ic->nmsgs) {
		ic = ic->next;
		icn++;
		i = 0;
	}
	if (ic == NULL)
		return 0;
	if (pos->index + 1 > lim->max_entries) {
		snprintf(why, whylen, "more than %llu messages ([bundle] "
		    "max_entries)", (unsigned long long)lim->max_entries);
		return 2;
	}
	pos->ic = ic;
	pos->icn = icn;
	pos->msg = i;
	pos->index++;
	return 1;
}

int
bundle_edi_entry(const struct bundle_edi *bedi,
    const struct bundle_edi_pos *pos, struct bundle_edi_buf *buf,
    struct _xmlDict *dict, char *name, size_t namelen,
    struct bundle_entry *be)
{
	const struct edi_interchange *ic = pos->ic;

	if (entry_bytes(ic, pos->msg, bedi->buf, bedi->len, buf) == -1)
		return -1;
	snprintf(name, namelen, "interchange-%zu-message-%zu-ref-%.60s",
	    pos->icn, pos->msg + 1, ic->msgs[pos->msg].ref != NULL ?
	    ic->msgs[pos->msg].ref : "-");
	memset(be, 0, sizeof(*be));
	be->index = pos->index;
	be->name = name;
	be->data = buf->p;
	be->len = buf->len;
	be->dict = dict;
	be->ic = ic;
	be->msg = pos->msg;
	be->file = bedi->buf;
	be->filelen = bedi->len;
	return 0;
}

int
bundle_edi_entries(const struct bundle_edi *bedi,
    const struct bundle_limits *lim, bundle_entry_fn fn, void *arg,
    uint64_t *nentries, char *why, size_t whylen, struct spool_error *err)
{
	struct bundle_edi_pos pos;
	struct bundle_edi_buf b = { NULL, 0, 0 };
	struct bundle_entry be;
	xmlDictPtr dict = NULL;
	char name[160];
	int ret = -1, rc;

	*nentries = 0;
	memset(&pos, 0, sizeof(pos));
	/* One dictionary of names for every entry's tree (NULL: each
	 * makes its own). */
	dict = xmlDictCreate();
	while ((rc = bundle_edi_next(bedi, lim, &pos, why, whylen)) == 1) {
		if (bundle_edi_entry(bedi, &pos, &b, dict, name, sizeof(name),
		    &be) == -1) {
			spool_seterr(err, "out of memory splitting an "
			    "interchange");
			goto out;
		}
		if (fn(arg, &be, err) == -1)
			goto out;
	}
	if (rc == 2) {
		ret = 1;
		goto out;
	}
	*nentries = pos.index;
	ret = 0;
out:
	if (dict != NULL)
		xmlDictFree(dict);
	free(b.p);
	return ret;
}

int
bundle_edi_read(int fd, const struct bundle_limits *lim, bundle_entry_fn fn,
    void *arg, uint64_t *nentries, char *why, size_t whylen,
    struct spool_error *err)
{
	struct bundle_edi *be;
	int rc;

	*nentries = 0;
	if ((rc = bundle_edi_load(fd, lim, &be, why, whylen, err)) != 0)
		return rc;
	rc = bundle_edi_entries(be, lim, fn, arg, nentries, why, whylen, err);
	bundle_edi_free(be);
	return rc;
}
