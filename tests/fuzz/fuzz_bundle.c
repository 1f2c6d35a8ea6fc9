/*
 * fuzz_bundle.c - libFuzzer target: a partner's upload as bundle.c reads
 * it, with small limits, each regular entry then parsed as a message
 * the way acceptance does.
 *
 * Checks, beyond "no crash, no leak, no undefined behaviour": the limits
 * hold (no entry over max_entry_size, no more than max_entries entries,
 * the total within max_total_size), entries are numbered 1, 2, ... in
 * order, a refusal always says why, and an entry that is not a regular
 * file comes without content.
 *
 * Built like fuzz_message.c: for libFuzzer with configure
 * --enable-fuzzers, and with replay.c as a test program over its corpus.
 */
#define _GNU_SOURCE
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "bundle.h"
#include "error.h"
#include "message.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const struct bundle_limits limits = {
	.max_entries = 64,
	.max_entry_size = 64 * 1024,
	.max_total_size = 256 * 1024,
};

struct seen {
	uint64_t	 n, total;
};

static int
entry(void *arg, const struct bundle_entry *e, struct spool_error *err)
{
	struct seen *s = arg;
	struct spool_error perr;
	struct msg m;

	(void)err;
	if (e->index != s->n + 1 || e->name == NULL)
		abort();
	s->n++;
	if (s->n > limits.max_entries)
		abort();
	if (e->skip != NULL) {
		if (e->len != 0)
			abort();
		return 0;
	}
	if (e->len > limits.max_entry_size)
		abort();
	s->total += e->len;
	if (s->total > limits.max_total_size)
		abort();
	if (e->nested || e->len == 0)
		return 0;
	spool_clearerr(&perr);
	if (msg_parse(e->data, e->len, &m, &perr) == 0)
		msg_free(&m);
	else if (perr.msg[0] == '\0')
		abort();
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xmlInitParser();
	atexit(xmlCleanupParser);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spool_error err;
	struct seen s = { 0, 0 };
	char why[512];
	uint64_t n = 0;
	int fd, rc;

	if ((fd = memfd_create("fuzz_bundle", MFD_CLOEXEC)) == -1)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	if (lseek(fd, 0, SEEK_SET) == -1)
		abort();
	why[0] = '\0';
	spool_clearerr(&err);
	rc = bundle_read(fd, &limits, entry, &s, &n, why, sizeof(why), &err);
	close(fd);
	if (rc == 1 && why[0] == '\0')
		abort();
	if (rc == -1 && err.msg[0] == '\0')
		abort();
	if (rc == 0 && n != s.n)
		abort();
	return 0;
}
