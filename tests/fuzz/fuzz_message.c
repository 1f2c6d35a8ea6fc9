/*
 * fuzz_message.c - libFuzzer target: a partner's file as acceptance
 * parses and checks it (msg_parse: well-formedness without DTDs,
 * entities or network, then the header's rules), then validates it
 * against its type's schema from the source tree's schemas/.
 *
 * Beyond "no crash, no leak, no undefined behaviour" it checks the
 * promise acceptance makes: a file is either a message with a type and
 * a Sender, or refused with a reason a person can read. It parses each
 * input twice, with small bounds (msg_parse_limits, so that short
 * inputs reach them) and with none (msg_parse): a bound may only refuse
 * what is otherwise accepted, and then with a reason naming the bound.
 *
 * Built two ways: with clang's -fsanitize=fuzzer (configure
 * --enable-fuzzers) to fuzz, and with replay.c as a plain test program
 * that runs the corpus under make check (and so under ASan and valgrind
 * in CI).
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "error.h"
#include "message.h"
#include "schema.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct schema_set *schemas;

/* Small, so that a fuzzer's short inputs cross them. */
static const struct msg_limits small = {
	.max_attributes = 8,
	.max_depth = 8,
	.max_name_length = 32,
	.max_text_length = 256,
	.max_namespaces = 4,
};

static void
free_schemas(void)
{
	schema_set_free(schemas);
	schemas = NULL;
	xmlCleanupParser();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct spool_error err;

	(void)argc;
	(void)argv;
	xmlInitParser();
	spool_clearerr(&err);
	if ((schemas = schema_set_load(SRCDIR "/schemas", &err)) == NULL) {
		fprintf(stderr, "fuzz_message: %s\n", err.msg);
		abort();
	}
	atexit(free_schemas);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spool_error err, berr;
	struct msg m, b;
	int bounded;

	spool_clearerr(&berr);
	bounded = msg_parse_limits((const char *)data, size, &small, &b,
	    &berr);
	if (bounded == -1 && berr.msg[0] == '\0')
		abort();
	spool_clearerr(&err);
	if (msg_parse((const char *)data, size, &m, &err) == -1) {
		/* Refused: always with a reason, and bounds add nothing. */
		if (err.msg[0] == '\0' || bounded == 0)
			abort();
		return 0;
	}
	if (bounded == -1 && strstr(berr.msg, "(max_") == NULL)
		abort();
	if (bounded == 0) {
		if (strcmp(b.hdr.type, m.hdr.type) != 0 ||
		    strcmp(b.hdr.sender, m.hdr.sender) != 0)
			abort();
		msg_free(&b);
	}
	if (m.hdr.type == NULL || m.hdr.type[0] == '\0' ||
	    m.hdr.sender == NULL || m.hdr.sender[0] == '\0' || m.doc == NULL)
		abort();
	/* A transaction's message has a sequence number 1..2^63-1. */
	if (m.hdr.transaction_id != NULL && m.hdr.sender_seq < 1)
		abort();
	spool_clearerr(&err);
	if (schema_validate(schemas, m.hdr.type, m.doc, &err) == -1 &&
	    err.msg[0] == '\0')
		abort();
	msg_free(&m);
	return 0;
}
