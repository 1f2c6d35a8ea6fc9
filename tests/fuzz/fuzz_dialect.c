/*
 * fuzz_dialect.c - libFuzzer target: the dialect key extraction (DESIGN
 * 15) over a partner's file, with the built-in dialects of dialects/.
 *
 * An EDIFACT or X12 file is split as acceptance splits it
 * (bundle_edi_read): every entry must be an interchange of one message
 * that edi_read() reads again, and its tree goes through the edifact or
 * x12 dialect. Anything else is parsed as XML (msg_parse_doc) and read by
 * the dialect that recognises it (native: msg_read_native). Checks: a
 * refusal has a reason; a read gives a type qualified with the dialect's
 * name (none for native), a sender, and keys of at most 128 bytes with no
 * control character. Every expression of the dialect that dialect_fast.c
 * evaluates by a walk gives libxml2's value on the document
 * (dialect_fast_selfcheck()), and an EDI entry's keys from the tree with
 * bare or left out segments (edi_entry_tree_tags()) are those from the
 * whole tree.
 *
 * Built two ways, like the others: with -fsanitize=fuzzer, and with
 * replay.c as a test program that runs corpus/dialect/ under make check.
 */
#define _GNU_SOURCE
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "bundle.h"
#include "bundle_int.h"
#include "dialect.h"
#include "edi.h"
#include "message.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct dialect_set	set;	/* loaded once, for the process */

static void
check_key(const char *v, size_t max)
{
	const unsigned char *p;

	if (v == NULL)
		return;
	if (strlen(v) > max || v[0] == '\0')
		abort();
	for (p = (const unsigned char *)v; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			abort();
}

static void
check_hdr(const struct dialect *d, const struct msg_header *h)
{
	size_t l = strlen(dialect_name(d));

	if (h->type == NULL || h->sender == NULL)
		abort();
	if (!dialect_is_native(d) && (strncmp(h->type, dialect_name(d), l) !=
	    0 || h->type[l] != '.'))
		abort();
	check_key(h->sender, 128);
	check_key(h->recipient, 128);
	check_key(h->message_id, 128);
	check_key(h->transaction_id, 128);
	check_key(h->created, 64);
}

static void
read_doc(enum dialect_syntax syn, struct msg *m)
{
	const struct dialect *d;
	struct spool_error err;
	char tried[256], why[1024], *btx = NULL;

	d = dialect_recognise(&set, NULL, syn, m->doc, tried, sizeof(tried));
	if (d == NULL)
		abort();	/* native takes any XML; EDI has its own */
	if (dialect_fast_selfcheck(d, m->doc, NULL, why, sizeof(why)) == -1) {
		fprintf(stderr, "dialect %s: %s\n", dialect_name(d), why);
		abort();
	}
	spool_clearerr(&err);
	if (dialect_is_native(d)) {
		if (msg_read_native(m, &err) == 0)
			check_hdr(d, &m->hdr);
		else if (err.msg[0] == '\0')
			abort();
		return;
	}
	if (dialect_extract(d, m->doc, &m->hdr, &btx, &err) == 0) {
		check_hdr(d, &m->hdr);
		check_key(btx, 128);
	} else if (err.msg[0] == '\0')
		abort();
	free(btx);
}

static void
hdr_free(struct msg_header *h)
{
	free(h->type);
	free(h->sender);
	free(h->recipient);
	free(h->message_id);
	free(h->transaction_id);
	free(h->created);
}

static bool
same(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* The keys of entry be from its tree with bare (omit 0) or left out
 * segments are those from its whole tree (doc). */
static void
same_bare(const struct bundle_entry *be, const struct edi_interchange *ic,
    enum dialect_syntax syn, xmlDocPtr doc, int omit)
{
	struct spool_error e1, e2;
	struct msg_header h1, h2;
	const struct dialect *d;
	char tried[256], *b1 = NULL, *b2 = NULL;
	xmlDocPtr bare;
	bool may;
	int r1, r2;

	d = dialect_recognise(&set, NULL, syn, doc, tried, sizeof(tried));
	if (d == NULL || dialect_edi_tags(d, &may) == NULL || (omit && !may))
		return;
	spool_clearerr(&e1);
	spool_clearerr(&e2);
	if ((bare = edi_entry_tree_tags(ic, 0, be->data, be->len, be->dict,
	    dialect_edi_tags(d, NULL), omit, &e2)) == NULL)
		abort();
	r1 = dialect_extract(d, doc, &h1, &b1, &e1);
	r2 = dialect_extract(d, bare, &h2, &b2, &e2);
	if (r1 != r2 || strcmp(e1.msg, e2.msg) != 0 ||
	    (r1 == 0 && (!same(h1.type, h2.type) ||
	    !same(h1.sender, h2.sender) || !same(h1.recipient, h2.recipient) ||
	    !same(h1.message_id, h2.message_id) ||
	    !same(h1.created, h2.created) ||
	    !same(h1.transaction_id, h2.transaction_id) || !same(b1, b2) ||
	    h1.has_control != h2.has_control || h1.control != h2.control)))
		abort();
	hdr_free(&h1);
	hdr_free(&h2);
	free(b1);
	free(b2);
	edi_tree_free(bare);
}

static int
entry(void *arg, const struct bundle_entry *be, struct spool_error *err)
{
	struct edi_interchange *ic = NULL;
	struct edi_limits lim;
	struct spool_error e;
	struct msg m;
	enum edi_syntax syn;

	(void)arg;
	(void)err;
	syn = edi_detect(be->data, be->len);
	edi_limits_default(&lim);
	spool_clearerr(&e);
	/* An entry is an interchange of one message, read again. */
	if (syn == EDI_NONE || edi_read(be->data, be->len, &lim, &ic,
	    &e) == -1 || ic->next != NULL || ic->nmsgs != 1)
		abort();
	memset(&m, 0, sizeof(m));
	if (ic->msgs[0].reason == NULL) {
		/* The bundle's dictionary, as acceptance uses it. */
		m.doc = edi_message_tree_pooled(ic, 0, be->data, be->len,
		    be->dict, &e);
		m.doc_free = edi_tree_free;
		if (m.doc == NULL)
			abort();
		same_bare(be, ic, syn == EDI_EDIFACT ? DIALECT_EDIFACT :
		    DIALECT_X12, m.doc, 0);
		same_bare(be, ic, syn == EDI_EDIFACT ? DIALECT_EDIFACT :
		    DIALECT_X12, m.doc, 1);
		read_doc(syn == EDI_EDIFACT ? DIALECT_EDIFACT : DIALECT_X12,
		    &m);
	}
	msg_free(&m);
	edi_free(ic);
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char *dirs[] = { (char *)SRCDIR "/dialects", NULL };
	struct spool_error err;

	(void)argc;
	(void)argv;
	xmlInitParser();
	if (dialect_set_load(&set, dirs, NULL, &err) == -1)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bundle_limits lim = { 200, 1 << 20, 4 << 20 };
	struct spool_error err;
	struct msg_limits ml;
	struct msg m;
	char why[512];
	uint64_t n;
	int fd, rc;

	spool_clearerr(&err);
	if (edi_detect((const char *)data, size) != EDI_NONE) {
		if ((fd = memfd_create("fuzz", 0)) == -1)
			return 0;
		if (write(fd, data, size) == (ssize_t)size &&
		    lseek(fd, 0, SEEK_SET) == 0) {
			why[0] = '\0';
			rc = bundle_edi_read(fd, &lim, entry, NULL, &n, why,
			    sizeof(why), &err);
			if (rc == 1 && why[0] == '\0')
				abort();
		}
		close(fd);
		return 0;
	}
	ml.max_attributes = MSG_MAX_ATTRIBUTES;
	ml.max_depth = MSG_MAX_DEPTH;
	ml.max_name_length = MSG_MAX_NAME_LENGTH;
	ml.max_text_length = MSG_MAX_TEXT_LENGTH;
	ml.max_namespaces = MSG_MAX_NAMESPACES;
	if (msg_parse_doc((const char *)data, size, &ml, false, &m,
	    &err) == 0) {
		read_doc(DIALECT_XML, &m);
		msg_free(&m);
	} else if (err.msg[0] == '\0')
		abort();
	return 0;
}
