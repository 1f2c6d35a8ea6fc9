/*
 * test_readfile.c - the bounded whole-file reader and the digest check.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "digest.h"
#include "readfile.h"

/* A temporary file holding len bytes of data, open for reading. */
static int
tmpfile_with(const char *data, size_t len)
{
	char path[] = "/tmp/test_readfile.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd != -1);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	return fd;
}

static void
test_reads_whole_file_from_offset_zero(void **state)
{
	struct spool_error err;
	char why[256], *buf;
	size_t len;
	int fd = tmpfile_with("<a>hello</a>", 12);

	(void)state;
	spool_clearerr(&err);
	/* The descriptor's offset is at the end: the reader ignores it. */
	assert_int_equal(readfile_fd(fd, "t", 12, &buf, &len, why,
	    sizeof(why), &err), 0);
	assert_int_equal(len, 12);
	assert_memory_equal(buf, "<a>hello</a>", 12);
	free(buf);
	close(fd);
}

static void
test_empty_file_reads_as_zero_bytes(void **state)
{
	struct spool_error err;
	char why[256], *buf;
	size_t len = 99;
	int fd = tmpfile_with("", 0);

	(void)state;
	assert_int_equal(readfile_fd(fd, "t", 10, &buf, &len, why,
	    sizeof(why), &err), 0);
	assert_int_equal(len, 0);
	free(buf);
	close(fd);
}

static void
test_file_over_max_is_refused_unread(void **state)
{
	struct spool_error err;
	char why[256], *buf = (char *)1;
	size_t len;
	int fd = tmpfile_with("0123456789", 10);

	(void)state;
	assert_int_equal(readfile_fd(fd, "t", 9, &buf, &len, why,
	    sizeof(why), &err), 1);
	assert_null(buf);
	assert_non_null(strstr(why, "more than max_message_size (9 bytes)"));
	close(fd);
}

static void
test_verify_accepts_same_bytes_and_names_both_digests(void **state)
{
	uint8_t sha[DIGEST_LEN];
	char why[300];

	(void)state;
	digest_sha256("accepted", 8, sha);
	assert_int_equal(readfile_verify("accepted", 8, sha, why,
	    sizeof(why)), 0);
	assert_int_equal(readfile_verify("accepteD", 8, sha, why,
	    sizeof(why)), 1);
	assert_non_null(strstr(why, "file changed after acceptance: digest "));
	assert_non_null(strstr(why, " does not match "));
	/* A longer file differs too. */
	assert_int_equal(readfile_verify("accepted!", 9, sha, why,
	    sizeof(why)), 1);
}

static void
test_sealed_copy_holds_the_bytes_and_cannot_change(void **state)
{
	char why[200], got[16];
	int fd;

	(void)state;
	assert_int_equal(readfile_sealed("hello", 5, "x", &fd, why,
	    sizeof(why)), 0);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 0);
	assert_int_equal(read(fd, got, sizeof(got)), 5);
	assert_memory_equal(got, "hello", 5);
	/* Sealed: no write, no truncation, no growth. */
	assert_int_equal(pwrite(fd, "J", 1, 0), -1);
	assert_int_equal(ftruncate(fd, 0), -1);
	assert_int_equal(ftruncate(fd, 100), -1);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_whole_file_from_offset_zero),
		cmocka_unit_test(
		    test_sealed_copy_holds_the_bytes_and_cannot_change),
		cmocka_unit_test(test_empty_file_reads_as_zero_bytes),
		cmocka_unit_test(test_file_over_max_is_refused_unread),
		cmocka_unit_test(
		    test_verify_accepts_same_bytes_and_names_both_digests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
