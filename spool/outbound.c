/*
 * outbound.c - stamp, record and write the messages spoold sends.
 *
 * Recording: outbound_emit() runs inside the write transaction of the
 * inbound message that caused the reply. It takes our next SenderSequence
 * of the transaction (transactions.out_seq + 1), builds the complete
 * document, checks that it parses as a native message and validates
 * against schemas/<Type>.xsd, and stores it whole. A rolled-back
 * savepoint or transaction takes the reply and its sequence number with
 * it: no reply exists without the state change that caused it.
 *
 * Writing (after COMMIT): outbound_flush() writes each stored message not
 * yet marked written to outgoing/<partner>/.<name>.tmp, fsyncs it,
 * renames it to <name>, fsyncs the directory, and then marks it written
 * in the store. The name is deterministic (<partner>,<tx>,<seq>,<type>,
 * <outbound id>.xml), so:
 * - crash before the rename: the row is unwritten; the next flush (at
 *   start-up at the latest) truncates and rewrites the dot-file and
 *   renames it: written once, never a partial file under the final name;
 * - crash after the rename and the directory fsync, before the mark: the
 *   next flush finds the final file with the stored size and only marks
 *   it (no second copy). If the partner took the file in that window, it
 *   is written again under the same name with the same sequence number,
 *   which the partner ignores as a duplicate (at-least-once, DESIGN 1).
 * A write that fails (disk full, I/O error) removes its dot-file and
 * leaves the row unwritten; store.outbound_new stays set, so the next
 * flush tries again (spoold retries on a timer, not only after the next
 * cycle). The temporary name lies in a directory the partner may write
 * in: whatever is found there is removed and the file created anew
 * (O_EXCL, O_NOFOLLOW, O_NONBLOCK: a FIFO or a link cannot divert or
 * block us).
 * Failpoints: "outbound-write" (after COMMIT, before any file is
 * written), "outbound-mark" (after the files, before they are marked).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "conf.h"
#include "failpoint.h"
#include "log.h"
#include "message.h"
#include "edi.h"
#include "outbound.h"
#include "store_outbound.h"

char *
outbound_xml_escape(const char *src)
{
	size_t n = 0;
	const char *p;
	char *out, *o;

	for (p = src; *p != '\0'; p++)
		n += *p == '&' ? 5 : (*p == '<' || *p == '>') ? 4 :
		    (*p == '"' || *p == '\'') ? 6 : 1;
	if ((out = malloc(n + 1)) == NULL)
		return NULL;
	for (p = src, o = out; *p != '\0'; p++) {
		const char *ent = NULL;

		switch (*p) {
		case '&':
			ent = "&amp;";
			break;
		case '<':
			ent = "&lt;";
			break;
		case '>':
			ent = "&gt;";
			break;
		case '"':
			ent = "&quot;";
			break;
		case '\'':
			ent = "&apos;";
			break;
		}
		if (ent == NULL)
			*o++ = *p;
		else {
			memcpy(o, ent, strlen(ent));
			o += strlen(ent);
		}
	}
	*o = '\0';
	return out;
}

/* Build the document; a malloc'd string, or NULL. */
static char *
build(const struct outbound_req *r, int64_t id, int64_t seq, size_t *len)
{
	char *sender, *rcpt = NULL, *tx = NULL, *doc = NULL;
	char created[32], msgid[160], seqs[128];
	struct tm tm;
	time_t now = time(NULL);
	int n;

	sender = outbound_xml_escape(r->sender);
	if (r->recipient != NULL)
		rcpt = outbound_xml_escape(r->recipient);
	if (r->transaction_id != NULL)
		tx = outbound_xml_escape(r->transaction_id);
	if (sender == NULL || (r->recipient != NULL && rcpt == NULL) ||
	    (r->transaction_id != NULL && tx == NULL))
		goto out;
	gmtime_r(&now, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (strlen(sender) <= 100)
		snprintf(msgid, sizeof(msgid), "%s-OUT-%" PRId64, sender, id);
	else
		snprintf(msgid, sizeof(msgid), "OUT-%" PRId64, id);
	seqs[0] = '\0';
	if (tx != NULL)
		snprintf(seqs, sizeof(seqs), "    <SenderSequence>%" PRId64
		    "</SenderSequence>\n    <ReceiverSequence>%" PRId64
		    "</ReceiverSequence>\n", seq, r->receiver_seq);
	n = asprintf(&doc, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<%s>\n  <Header>\n    <MessageId>%s</MessageId>\n"
	    "    <Sender>%s</Sender>\n%s%s%s%s%s%s%s"
	    "    <Created>%s</Created>\n  </Header>\n"
	    "  <Body>%s</Body>\n</%s>\n", r->type, msgid, sender,
	    rcpt != NULL ? "    <Recipient>" : "", rcpt != NULL ? rcpt : "",
	    rcpt != NULL ? "</Recipient>\n" : "",
	    tx != NULL ? "    <TransactionId>" : "", tx != NULL ? tx : "",
	    tx != NULL ? "</TransactionId>\n" : "", seqs, created, r->body,
	    r->type);
	if (n < 0)
		doc = NULL;
	else
		*len = (size_t)n;
out:
	free(sender);
	free(rcpt);
	free(tx);
	return doc;
}

int
outbound_emit(struct store *s, struct schema_set *schemas,
    const struct outbound_req *r, int64_t *id, int64_t *seq,
    struct spool_error *err)
{
	struct store_outmsg om;
	struct spool_error perr;
	struct msg msg;
	char name[SPOOLDIR_NAME_MAX + 1];
	char *doc;
	size_t len = 0;
	int rc;

	*seq = 0;
	if (r->transaction_id != NULL && store_out_take_seq(s, r->partner,
	    r->transaction_id, seq, err) == -1)
		return -1;
	if (store_out_next_id(s, id, err) == -1)
		return -1;
	if ((doc = build(r, *id, *seq, &len)) == NULL) {
		spool_seterr(err, "out of memory");
		return -1;
	}
	/* What we send must pass the checks we apply to what we receive. */
	spool_clearerr(&perr);
	if (msg_parse(doc, len, &msg, &perr) == -1) {
		spool_seterr(err, "outbound %s to %s does not parse: %s",
		    r->type, r->partner, perr.msg);
		free(doc);
		return -1;
	}
	rc = schemas != NULL ? schema_validate(schemas, r->type, msg.doc,
	    &perr) : 0;
	msg_free(&msg);
	if (rc == -1) {
		spool_seterr(err, "outbound %s to %s does not validate: %s",
		    r->type, r->partner, perr.msg);
		free(doc);
		return -1;
	}
	if (spooldir_name(name, sizeof(name), r->partner, r->transaction_id,
	    *seq, r->type, *id) == -1) {
		spool_seterr(err, "outbound %s to %s: no file name", r->type,
		    r->partner);
		free(doc);
		return -1;
	}
	memset(&om, 0, sizeof(om));
	om.partner = r->partner;
	om.transaction_id = r->transaction_id;
	om.sender_seq = *seq;
	om.receiver_seq = r->receiver_seq;
	om.type = r->type;
	om.cause = r->cause;
	om.file_name = name;
	om.content = doc;
	om.len = len;
	rc = store_out_insert(s, *id, &om, err);
	free(doc);
	return rc;
}

/*
 * The end of the XML document that starts at buf[from] (after its
 * prolog, the end of its root element), or 0 when there is none: a
 * scanner of tags that knows comments, processing instructions, CDATA
 * and quoted attribute values, enough to find where one document ends
 * and the next begins. The parser checks each piece properly.
 */
static size_t
doc_end(const char *buf, size_t len, size_t from)
{
	size_t i = from;
	long depth = 0;
	const char *e;
	char q;

	while (i < len) {
		if (buf[i] != '<') {
			i++;
			continue;
		}
#define AT(s)	(len - i >= sizeof(s) - 1 && memcmp(buf + i, s, \
		    sizeof(s) - 1) == 0)
#define SKIP_TO(s) do {							\
		e = memmem(buf + i, len - i, s, sizeof(s) - 1);		\
		if (e == NULL)						\
			return 0;					\
		i = (size_t)(e - buf) + sizeof(s) - 1;			\
	} while (0)
		if (AT("<!--"))
			SKIP_TO("-->");
		else if (AT("<![CDATA["))
			SKIP_TO("]]>");
		else if (AT("<?"))
			SKIP_TO("?>");
		else if (AT("<!"))
			return 0;	/* a DOCTYPE: refused */
		else {
			bool end_tag = AT("</"), empty = false;

			for (i++, q = 0; i < len; i++) {
				if (q != 0) {
					if (buf[i] == q)
						q = 0;
				} else if (buf[i] == '"' || buf[i] == '\'')
					q = buf[i];
				else if (buf[i] == '>')
					break;
			}
			if (i >= len)
				return 0;
			empty = buf[i - 1] == '/';
			i++;
			if (end_tag)
				depth--;
			else if (!empty)
				depth++;
			if (depth <= 0)
				return depth == 0 ? i : 0;
		}
#undef AT
#undef SKIP_TO
	}
	return 0;
}

/* The serialized children of node (its content as XML); malloc'd. */
static char *
inner_xml(xmlNodePtr node)
{
	xmlBufferPtr b = xmlBufferCreate();
	xmlNodePtr c;
	char *out = NULL;

	if (b == NULL)
		return NULL;
	for (c = node->children; c != NULL; c = c->next)
		if (xmlNodeDump(b, node->doc, c, 0, 0) == -1)
			goto out;
	out = strdup((const char *)xmlBufferContent(b));
out:
	xmlBufferFree(b);
	return out;
}

static xmlNodePtr
child(xmlNodePtr parent, const char *name)
{
	xmlNodePtr n;

	for (n = parent != NULL ? parent->children : NULL; n != NULL;
	    n = n->next)
		if (n->type == XML_ELEMENT_NODE && n->ns == NULL &&
		    strcmp((const char *)n->name, name) == 0)
			return n;
	return NULL;
}

/* A header field's trimmed text, malloc'd, or NULL if absent/empty. */
static char *
header_text(xmlNodePtr header, const char *name)
{
	xmlNodePtr n = child(header, name);
	xmlChar *t;
	char *s, *p, *e;

	if (n == NULL || (t = xmlNodeGetContent(n)) == NULL)
		return NULL;
	s = (char *)t;
	for (p = s; *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'; p++)
		;
	e = p + strlen(p);
	while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		e--;
	*e = '\0';
	p = *p != '\0' ? strdup(p) : NULL;
	xmlFree(t);
	return p;
}

static int
emit_doc(struct store *s, struct schema_set *schemas,
    const struct outbound_req *r, const char *def_sender, const char *buf,
    size_t len, int n, outbound_fn fn, void *arg, struct spool_error *err)
{
	char why[1024];
	struct outbound_req req = *r;
	xmlDocPtr doc;
	xmlNodePtr root, header, body;
	char *sender = NULL, *rcpt = NULL, *inner = NULL;
	int64_t id, seq;
	int rc = -1;

	if (len > INT32_MAX) {
		spool_seterr(err, "message %d is too large", n);
		return -1;
	}
	doc = xmlReadMemory(buf, (int)len, NULL, NULL, XML_PARSE_NONET |
	    XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL) {
		spool_seterr(err, "message %d is not well-formed XML", n);
		return -1;
	}
	root = xmlDocGetRootElement(doc);
	if (doc->intSubset != NULL || root == NULL || root->ns != NULL) {
		spool_seterr(err, "message %d has a DOCTYPE, no root element "
		    "or a namespace", n);
		goto out;
	}
	header = child(root, "Header");
	if ((body = child(root, "Body")) == NULL) {
		spool_seterr(err, "message %d (%.64s) has no Body", n,
		    (const char *)root->name);
		goto out;
	}
	sender = header_text(header, "Sender");
	rcpt = header_text(header, "Recipient");
	if ((inner = inner_xml(body)) == NULL) {
		spool_seterr(err, "out of memory");
		goto out;
	}
	req.type = (const char *)root->name;
	req.sender = sender != NULL ? sender : def_sender;
	req.recipient = rcpt != NULL ? rcpt : r->partner;
	req.body = inner;
	rc = outbound_emit(s, schemas, &req, &id, &seq, err);
	if (rc == 0 && fn != NULL) {
		why[0] = '\0';
		if ((rc = fn(arg, s, req.type, body, id, why, sizeof(why))) !=
		    0)
			spool_seterr(err, "message %d (%s): %s", n, req.type,
			    why[0] != '\0' ? why : "refused");
	}
out:
	free(sender);
	free(rcpt);
	free(inner);
	xmlFreeDoc(doc);
	return rc;
}

int
outbound_emit_file(struct store *s, struct schema_set *schemas,
    const struct outbound_req *r, const char *def_sender, const char *buf,
    size_t len, outbound_fn fn, void *arg, unsigned *count,
    struct spool_error *err)
{
	size_t from = 0, end;
	int n = 0;

	*count = 0;
	if (edi_detect(buf, len) != EDI_NONE)
		return outbound_emit_edi(s, r, buf, len, count, err);
	for (;;) {
		while (from < len && (buf[from] == ' ' || buf[from] == '\t' ||
		    buf[from] == '\r' || buf[from] == '\n'))
			from++;
		if (from >= len)
			break;
		n++;
		if ((end = doc_end(buf, len, from)) == 0) {
			spool_seterr(err, "message %d is incomplete or not XML "
			    "(or has a DOCTYPE)", n);
			return -1;
		}
		if (emit_doc(s, schemas, r, def_sender, buf + from,
		    end - from, n, fn, arg, err) == -1)
			return -1;
		from = end;
		(*count)++;
	}
	return 0;
}

/* outgoing/<partner>/, created if need be. */
static int
partner_dir(struct spooldir *sd, const char *partner, struct spool_error *err)
{
	int fd;

	if (!conf_partner_name_ok(partner)) {
		spool_seterr(err, "outbound: bad partner name \"%s\"", partner);
		return -1;
	}
	fd = openat(sd->outgoing_fd, partner, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT) {
		if (mkdirat(sd->outgoing_fd, partner, 0755) == -1 &&
		    errno != EEXIST) {
			spool_seterr(err, "cannot create %s/outgoing/%s: %s",
			    sd->root, partner, strerror(errno));
			return -1;
		}
		if (spooldir_fsync_fd(sd->outgoing_fd, "outgoing", err) == -1)
			return -1;
		fd = openat(sd->outgoing_fd, partner, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd == -1)
		spool_seterr(err, "cannot open %s/outgoing/%s: %s", sd->root,
		    partner, strerror(errno));
	return fd;
}

static int
write_one(struct spooldir *sd, const struct store_outfile *f,
    struct spool_error *err)
{
	char dir[300];
	struct stat st;
	int dfd, rc = -1;

	if ((dfd = partner_dir(sd, f->partner, err)) == -1)
		return -1;
	/* Renamed before a crash that came before the mark: done. */
	if (fstatat(dfd, f->file_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && (size_t)st.st_size == f->len) {
		close(dfd);
		return 0;
	}
	/*
	 * outgoing/<partner>/ may be the partner's to write in (its SFTP
	 * chroot): spooldir_write_at() removes whatever lies at the
	 * temporary name and creates the file anew, without blocking.
	 */
	snprintf(dir, sizeof(dir), "outgoing/%s", f->partner);
	if (spooldir_write_at(dfd, dir, f->file_name, f->content, f->len,
	    SPOOLDIR_W_FSYNC | SPOOLDIR_W_PUBLIC, NULL, err) == 0)
		rc = spooldir_fsync_fd(dfd, "outgoing partner directory", err);
	close(dfd);
	return rc;
}

int
outbound_flush(struct spooldir *sd, struct store *s, unsigned *written,
    struct spool_error *err)
{
	struct store_outfile *v;
	struct spool_error merr;
	size_t n, i, ok = 0;
	int rc = 0;

	if (written != NULL)
		*written = 0;
	if (store_out_unwritten(s, &v, &n, err) == -1)
		return -1;
	s->outbound_new = 0;
	if (n == 0) {
		free(v);
		return 0;
	}
	failpoint("outbound-write");
	for (i = 0; i < n; i++) {
		/* The first failure is the caller's to log (once: a disk
		 * that is full fails every file alike). */
		if (write_one(sd, &v[i], rc == -1 ? &merr : err) == -1) {
			log_debug("event=outbound outbound_id=%" PRId64
			    " partner=%s file=%s status=failed reason=%s",
			    v[i].id, LOG_Q(v[i].partner),
			    LOG_Q(v[i].file_name),
			    LOG_Q(rc == -1 ? merr.msg : err->msg));
			rc = -1;
			v[i].id = 0;	/* not marked: tried again */
			continue;
		}
		ok++;
	}
	failpoint("outbound-mark");
	if (ok > 0) {
		spool_clearerr(&merr);
		if (store_begin(s, &merr) == -1)
			goto markfail;
		for (i = 0; i < n; i++)
			if (v[i].id != 0 && store_out_mark_written(s, v[i].id,
			    &merr) == -1)
				break;
		if (i < n || store_commit(s, &merr) == -1) {
			store_rollback(s);
			goto markfail;
		}
		for (i = 0; i < n; i++)
			if (v[i].id != 0)
				log_info("event=outbound outbound_id=%" PRId64
				    " partner=%s file=%s status=written",
				    v[i].id, LOG_Q(v[i].partner),
				    LOG_Q(v[i].file_name));
	}
	if (written != NULL)
		*written = (unsigned)ok;
	if (rc == -1)
		s->outbound_new = 1;	/* the next flush tries again */
	store_outfiles_free(v, n);
	return rc;
markfail:
	/* The files are in place; the next flush finds and marks them. */
	spool_seterr(err, "outbound files written but not marked: %s",
	    merr.msg);
	s->outbound_new = 1;
	store_outfiles_free(v, n);
	return -1;
}
