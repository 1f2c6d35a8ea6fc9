/*
 * fuzz_edifact.c - libFuzzer target: a partner's EDIFACT file as the EDI
 * tokenizer reads it (edi_read, DESIGN 15) and every message's XML tree
 * (edi_message_tree); the checks are fuzz_edi.h's. Its corpus,
 * corpus/edifact/, is seeded from real samples and edge cases.
 *
 * Built two ways: with clang's -fsanitize=fuzzer (configure
 * --enable-fuzzers) to fuzz, and with replay.c as a plain test program
 * that runs the corpus under make check.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "fuzz_edi.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xmlInitParser();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_edi(data, size);
}
