/*
 * test_spooldir.c - layout, safe and unique names, atomic moves.
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

#include "spooldir.h"

static void
assert_safe_name(const char *n)
{
	const unsigned char *p;

	assert_true(strlen(n) > 0);
	assert_true(strlen(n) <= SPOOLDIR_NAME_MAX);
	assert_true(n[0] != '.' && n[0] != '-');
	assert_null(strchr(n, '/'));
	for (p = (const unsigned char *)n; *p != '\0'; p++)
		assert_true(*p > ' ' && *p < 0x7f);
}

static void
test_name_shows_partner_tx_seq_type(void **state)
{
	char n[256];

	(void)state;
	assert_int_equal(spooldir_name(n, sizeof(n), "ACME", "PO-2026-000123",
	    2, "PurchaseOrderAccept", 17), 0);
	assert_string_equal(n,
	    "ACME,PO-2026-000123,2,PurchaseOrderAccept,17.xml");
	assert_int_equal(spooldir_name(n, sizeof(n), "ACME", NULL, 5,
	    "ProductInfo", 9), 0);
	assert_string_equal(n, "ACME,-,0,ProductInfo,9.xml");
}

static void
test_name_escapes_slashes_dots_and_controls(void **state)
{
	char n[256];

	(void)state;
	assert_int_equal(spooldir_name(n, sizeof(n), "acme", "../../etc/passwd",
	    1, "X", 1), 0);
	assert_safe_name(n);
	assert_string_equal(n, "acme,%2E.%2F..%2Fetc%2Fpasswd,1,X,1.xml");
	assert_int_equal(spooldir_name(n, sizeof(n), "acme", "a\tb\nc\x7f",
	    1, "X", 2), 0);
	assert_safe_name(n);
	assert_string_equal(n, "acme,a%09b%0Ac%7F,1,X,2.xml");
	assert_int_equal(spooldir_name(n, sizeof(n), "acme", "1,2%3 4",
	    1, "X", 3), 0);
	assert_string_equal(n, "acme,1%2C2%253%204,1,X,3.xml");
	assert_int_equal(spooldir_name(n, sizeof(n), "acme", "-", 1, "X", 4),
	    0);
	assert_string_equal(n, "acme,%2D,1,X,4.xml");
	assert_int_equal(spooldir_name(n, sizeof(n), "acme", "\xc3\xa4", 1,
	    ".Typ", 5), 0);
	assert_string_equal(n, "acme,%C3%A4,1,%2ETyp,5.xml");
}

static void
test_name_of_128_character_ids_is_bounded(void **state)
{
	char tx[129], ty[200], n[512];

	(void)state;
	memset(tx, 'T', 128);
	tx[128] = '\0';
	memset(ty, 'y', 199);
	ty[199] = '\0';
	assert_int_equal(spooldir_name(n, sizeof(n),
	    "p123456789012345678901234567890123456789012345678901234567890123",
	    tx, INT64_MAX, ty, INT64_MAX), 0);
	assert_safe_name(n);
	assert_non_null(strchr(n, '~'));	/* marked as cut */
	/* all control characters: every byte escaped, still bounded */
	memset(tx, '\x01', 128);
	assert_int_equal(spooldir_name(n, sizeof(n), "p", tx, 1, "X", 1), 0);
	assert_safe_name(n);
	/* a cut never splits an escape sequence */
	assert_null(strstr(n, "%0~"));
	assert_null(strstr(n, "%~"));
}

static void
test_names_are_unique_by_id(void **state)
{
	char a[256], b[256], tx[129];

	(void)state;
	memset(tx, 'T', 128);
	tx[128] = '\0';
	assert_int_equal(spooldir_name(a, sizeof(a), "p", tx, 1, "X", 1), 0);
	tx[127] = 'U';	/* differs only past the cut */
	assert_int_equal(spooldir_name(b, sizeof(b), "p", tx, 1, "X", 2), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(spooldir_name(a, sizeof(a), "p", "a/b", 1, "X", 1),
	    0);
	assert_int_equal(spooldir_name(b, sizeof(b), "p", "a%2Fb", 1, "X", 1),
	    0);
	assert_string_not_equal(a, b);	/* '%' itself is escaped */
}

static void
test_rejected_name_is_safe(void **state)
{
	char n[256];

	(void)state;
	assert_int_equal(spooldir_rejected_name(n, sizeof(n), "acme",
	    ".hidden/../x,y", 42), 0);
	assert_safe_name(n);
	assert_string_equal(n, "acme,%2Ehidden%2F..%2Fx%2Cy,42.rejected");
}

static void
test_names_never_start_with_a_dash(void **state)
{
	char n[256];

	(void)state;
	assert_int_equal(spooldir_rejected_name(n, sizeof(n), NULL,
	    "stray.xml", 22), 0);
	assert_safe_name(n);
	assert_true(n[0] != '-');
	assert_string_equal(n, "%none,stray.xml,22.rejected");
	assert_int_equal(spooldir_rejected_name(n, sizeof(n), "-",
	    "stray.xml", 22), 0);
	assert_string_equal(n, "%none,stray.xml,22.rejected");
	assert_int_equal(spooldir_bundle_name(n, sizeof(n), NULL, "b.tgz", 3),
	    0);
	assert_true(n[0] != '-');
	assert_int_equal(spooldir_rejected_name(n, sizeof(n), "-rf",
	    "-x.xml", 5), 0);
	assert_string_equal(n, "%2Drf,%2Dx.xml,5.rejected");
	assert_int_equal(spooldir_name(n, sizeof(n), "-acme", "-T", 1, "-Y",
	    7), 0);
	assert_string_equal(n, "%2Dacme,%2DT,1,%2DY,7.xml");
}

static void
test_state_names_round_trip(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < ST_NSTATES; i++)
		assert_int_equal(spool_state_parse(spool_state_name(i)), i);
	assert_int_equal(spool_state_parse("nowhere"), -1);
}

static void
test_init_is_idempotent_and_moves_never_replace(void **state)
{
	char root[] = "/tmp/test_spooldir.XXXXXX", path[256], buf[64];
	struct spool_error err;
	struct spooldir sd;
	struct stat st;
	int fd;
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(root));
	assert_int_equal(spooldir_init(root, &err), 0);
	assert_int_equal(spooldir_init(root, &err), 0);
	snprintf(path, sizeof(path), "%s/queue", root);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(spooldir_open(&sd, root, &err), 0);

	fd = openat(sd.state_fd[ST_QUEUE], "a.xml", O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	fd = openat(sd.state_fd[ST_DONE], "a.xml", O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	/* the target exists: refused, both files still there */
	assert_int_equal(spooldir_move(&sd, -1, ST_QUEUE, "a.xml", ST_DONE,
	    "a.xml", &err), -1);
	assert_non_null(strstr(err.msg, "File exists"));
	assert_int_equal(spooldir_move(&sd, -1, ST_QUEUE, "a.xml", ST_DONE,
	    "b.xml", &err), 0);
	assert_true(sd.dirty[ST_QUEUE] && sd.dirty[ST_DONE]);
	assert_int_equal(spooldir_sync(&sd, &err), 0);
	assert_false(sd.dirty[ST_DONE]);

	assert_int_equal(spooldir_write_reason(&sd, ST_REJECTED, "x.rejected",
	    "Sender ACME does not match partner directory globex", &err), 0);
	snprintf(path, sizeof(path), "%s/rejected/x.rejected.reason", root);
	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	assert_string_equal(buf,
	    "Sender ACME does not match partner directory globex\n");

	spooldir_close(&sd);
	/* a spool that lost a directory cannot be opened */
	snprintf(path, sizeof(path), "%s/parked", root);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(spooldir_open(&sd, root, &err), -1);
	assert_non_null(strstr(err.msg, "parked"));
	assert_int_equal(spooldir_init(root, &err), 0);	/* repairs it */
	assert_int_equal(spooldir_open(&sd, root, &err), 0);
	spooldir_close(&sd);
	snprintf(path, sizeof(path), "rm -rf '%s'", root);
	assert_int_equal(system(path), 0);
}

static void
test_reason_first_line_has_no_control_characters(void **state)
{
	char root[] = "/tmp/test_spooldir.XXXXXX", path[256], buf[256];
	struct spool_error err;
	struct spooldir sd;
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(root));
	assert_int_equal(spooldir_init(root, &err), 0);
	assert_int_equal(spooldir_open(&sd, root, &err), 0);
	assert_int_equal(spooldir_write_reason(&sd, ST_FAILED, "y.xml",
	    "exit 1:\tbad\r\x1b[2Jinput\x7f\nattempt 1\tkept\n", &err), 0);
	snprintf(path, sizeof(path), "%s/failed/y.xml.reason", root);
	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(fgets(buf, sizeof(buf), fp));
	assert_string_equal(buf,
	    "exit 1:\\x09bad\\x0d\\x1b[2Jinput\\x7f\n");
	assert_non_null(fgets(buf, sizeof(buf), fp));
	assert_string_equal(buf, "attempt 1\tkept\n");	/* later lines as is */
	fclose(fp);
	spooldir_close(&sd);
	snprintf(path, sizeof(path), "rm -rf '%s'", root);
	assert_int_equal(system(path), 0);
}

static void
test_write_file_is_whole_and_replaces_only_when_asked(void **state)
{
	char root[] = "/tmp/test_spooldir.XXXXXX", path[256], buf[16];
	struct spool_error err;
	struct spooldir sd;
	struct stat st;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(root));
	assert_int_equal(spooldir_init(root, &err), 0);
	assert_int_equal(spooldir_open(&sd, root, &err), 0);
	assert_int_equal(spooldir_write_file(&sd, ST_QUEUE, "m.xml", "first",
	    5, false, &err), 0);
	assert_true(sd.dirty[ST_QUEUE]);
	/* Never over an existing file, unless asked; no temporary left. */
	assert_int_equal(spooldir_write_file(&sd, ST_QUEUE, "m.xml", "other",
	    5, false, &err), -1);
	assert_int_equal(fstatat(sd.state_fd[ST_QUEUE], ".m.xml.tmp", &st,
	    0), -1);
	assert_int_equal(spooldir_write_file(&sd, ST_QUEUE, "m.xml", "second",
	    6, true, &err), 0);
	fd = openat(sd.state_fd[ST_QUEUE], "m.xml", O_RDONLY);
	assert_true(fd >= 0);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(read(fd, buf, sizeof(buf)), 6);
	assert_string_equal(buf, "second");
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_nlink, 1);
	close(fd);
	spooldir_close(&sd);
	snprintf(path, sizeof(path), "rm -rf '%s'", root);
	assert_int_equal(system(path), 0);
}

static void
test_write_file_replaces_a_trap_at_the_temporary_name(void **state)
{
	char root[] = "/tmp/test_spooldir.XXXXXX", path[256], buf[16];
	struct spool_error err;
	struct spooldir sd;
	struct stat st;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(root));
	assert_int_equal(spooldir_init(root, &err), 0);
	assert_int_equal(spooldir_open(&sd, root, &err), 0);
	/* A FIFO (an open would block) and a link to elsewhere at the
	 * temporary names: both go, the files are written whole. */
	assert_int_equal(mkfifoat(sd.state_fd[ST_QUEUE], ".f.xml.tmp", 0600),
	    0);
	snprintf(path, sizeof(path), "%s/outside", root);
	assert_int_equal(symlinkat(path, sd.state_fd[ST_QUEUE],
	    ".l.xml.tmp"), 0);
	assert_int_equal(spooldir_write_file(&sd, ST_QUEUE, "f.xml", "fifo",
	    4, false, &err), 0);
	assert_int_equal(spooldir_write_file(&sd, ST_QUEUE, "l.xml", "link",
	    4, false, &err), 0);
	assert_int_equal(fstatat(sd.state_fd[ST_QUEUE], ".f.xml.tmp", &st,
	    AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(fstatat(sd.state_fd[ST_QUEUE], ".l.xml.tmp", &st,
	    AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(stat(path, &st), -1);	/* nothing written outside */
	fd = openat(sd.state_fd[ST_QUEUE], "l.xml", O_RDONLY | O_NOFOLLOW);
	assert_true(fd >= 0);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(read(fd, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "link");
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	close(fd);
	fd = openat(sd.state_fd[ST_QUEUE], "f.xml", O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 4);
	close(fd);
	spooldir_close(&sd);
	snprintf(path, sizeof(path), "rm -rf '%s'", root);
	assert_int_equal(system(path), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_shows_partner_tx_seq_type),
		cmocka_unit_test(
		    test_write_file_replaces_a_trap_at_the_temporary_name),
		cmocka_unit_test(test_name_escapes_slashes_dots_and_controls),
		cmocka_unit_test(test_name_of_128_character_ids_is_bounded),
		cmocka_unit_test(test_names_are_unique_by_id),
		cmocka_unit_test(test_rejected_name_is_safe),
		cmocka_unit_test(test_names_never_start_with_a_dash),
		cmocka_unit_test(test_state_names_round_trip),
		cmocka_unit_test(
		    test_init_is_idempotent_and_moves_never_replace),
		cmocka_unit_test(
		    test_reason_first_line_has_no_control_characters),
		cmocka_unit_test(
		    test_write_file_is_whole_and_replaces_only_when_asked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
