/*
 * replay.c - run a fuzz target over files, without libFuzzer.
 *
 * With arguments, every regular file under each named file or directory
 * is one input. Without, the target's corpus in the source tree
 * (tests/fuzz/corpus/<name>/) and the shared samples beside the source
 * tree (../shared/samples, when present) are. Files over 4 MiB are left
 * out. Exits 0 when every input ran (a failed check aborts), 1 when an
 * input could not be read or no input was found.
 */
#define _XOPEN_SOURCE 700
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FUZZ_NAME
#error "FUZZ_NAME: the target's name, for its corpus directory"
#endif

#define REPLAY_MAX	(4 * 1024 * 1024)

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static unsigned	 ran, unreadable;

static int
one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	FILE *fp;
	uint8_t *buf;
	size_t n;

	(void)ftw;
	if (flag != FTW_F || !S_ISREG(st->st_mode) || st->st_size > REPLAY_MAX)
		return 0;
	if ((fp = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		unreadable++;
		return 0;
	}
	/* One byte more than needed: the target must not read past size. */
	if ((buf = malloc((size_t)st->st_size + 1)) == NULL) {
		fclose(fp);
		fprintf(stderr, "replay: out of memory\n");
		exit(1);
	}
	n = fread(buf, 1, (size_t)st->st_size, fp);
	fclose(fp);
	if (n != (size_t)st->st_size) {
		fprintf(stderr, "replay: %s: short read\n", path);
		unreadable++;
		free(buf);
		return 0;
	}
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	ran++;
	return 0;
}

static void
walk(const char *path)
{
	if (nftw(path, one, 16, FTW_PHYS) == -1 && errno != ENOENT)
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
}

int
main(int argc, char **argv)
{
	int i;

	LLVMFuzzerInitialize(&argc, &argv);
	if (argc > 1) {
		for (i = 1; i < argc; i++)
			walk(argv[i]);
	} else {
		walk(SRCDIR "/tests/fuzz/corpus/" FUZZ_NAME);
		if (access(SRCDIR "/../shared/samples", X_OK) == 0)
			walk(SRCDIR "/../shared/samples");
	}
	printf("replay %s: %u inputs%s\n", FUZZ_NAME, ran,
	    unreadable ? ", some unreadable" : "");
	return ran > 0 && unreadable == 0 ? 0 : 1;
}
