/*
 * test_watcher.c - the watcher hands files out in arrival order (mtime,
 * then name), across the passes of a drain, each once, in bounded
 * memory. Built with a chunk of 8 scanned files and at most 16 announced
 * ones, so that a few dozen files take several passes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "watcher.h"

#define MAXN	64

/*
 * strdup, wrapped (the linker's --wrap, tests/Makefile.am): with
 * fail_empty_strdup set, a copy of "" fails as if memory ran out.
 */
char	*__real_strdup(const char *);
char	*__wrap_strdup(const char *);

static bool fail_empty_strdup;

char *
__wrap_strdup(const char *s)
{
	if (fail_empty_strdup && s[0] == '\0') {
		errno = ENOMEM;
		return NULL;
	}
	return __real_strdup(s);
}

struct fixture {
	char	 root[64];
	char	 in[128];	/* root/incoming */
	char	 away[128];	/* where "accepted" files go */
	int	 infd;
	/* What was handed out, in order: "partner/name". */
	char	 got[4 * MAXN][300];
	int	 ngot;
};

static int
setup(void **state)
{
	struct fixture *f;

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "/tmp/test_watcher.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->in, sizeof(f->in), "%s/incoming", f->root);
	snprintf(f->away, sizeof(f->away), "%s/away", f->root);
	assert_int_equal(mkdir(f->in, 0755), 0);
	assert_int_equal(mkdir(f->away, 0755), 0);
	f->infd = open(f->in, O_RDONLY | O_DIRECTORY);
	assert_true(f->infd != -1);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[200];

	close(f->infd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Write incoming/dir/name with its mtime `age' seconds in the past. */
static void
put(struct fixture *f, const char *dir, const char *name, int age)
{
	struct timespec ts[2];
	char path[300];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->in, dir);
	(void)mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", f->in, dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd != -1);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= age;
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static bool
exists(struct fixture *f, const char *partner, const char *name)
{
	char path[300];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s/%s", f->in, partner, name);
	return stat(path, &st) == 0;
}

/*
 * Take what the watcher hands out until it has nothing left, like the
 * daemon: each batch of at most `batch' is "accepted" (moved away),
 * except names starting with "stay" (left in incoming/, as a file whose
 * reason is owed). Each file handed out while it still exists is noted.
 * With inotify, events are read between batches.
 */
static void
drain(struct fixture *f, struct watcher *w, size_t batch)
{
	struct accept_file *files;
	struct spool_error err;
	char from[300], to[300];
	int64_t next;
	size_t n, i;
	int rounds = 0;

	for (;;) {
		assert_true(++rounds < 2000);
		if (watcher_fd(w) != -1)
			assert_int_equal(watcher_read_events(w, &err), 0);
		if (watcher_pending(w) == 0)
			break;
		n = watcher_ready(w, &files, batch, &next);
		if (n == 0) {
			if (next > 0)
				usleep((useconds_t)next * 1000);
			continue;
		}
		for (i = 0; i < n; i++) {
			assert_non_null(files[i].partner);
			if (!exists(f, files[i].partner, files[i].name))
				continue;	/* vanished: nothing done */
			assert_true(f->ngot < 4 * MAXN);
			snprintf(f->got[f->ngot++], sizeof(f->got[0]), "%s/%s",
			    files[i].partner, files[i].name);
			if (strncmp(files[i].name, "stay", 4) == 0)
				continue;
			snprintf(from, sizeof(from), "%s/%s/%s", f->in,
			    files[i].partner, files[i].name);
			snprintf(to, sizeof(to), "%s/%s-%s", f->away,
			    files[i].partner, files[i].name);
			assert_int_equal(rename(from, to), 0);
		}
		watcher_done(w, false);
	}
}

/* Backlog of 40 files, names in the reverse of their arrival order. */
static void
test_scan_takes_backlog_in_arrival_order_across_passes(void **state)
{
	struct fixture *f = *state;
	struct spool_error err;
	struct watcher *w;
	char name[64], want[300];
	int i;

	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "z%02d.xml", 40 - i);
		put(f, "acme", name, 1000 - i);	/* i = 0 is the oldest */
	}
	w = watcher_new(f->infd, false, 0, &err);
	assert_non_null(w);
	assert_int_equal(watcher_scan(w, &err), 0);
	drain(f, w, 3);
	assert_int_equal(f->ngot, 40);
	for (i = 0; i < 40; i++) {
		snprintf(want, sizeof(want), "acme/z%02d.xml", 40 - i);
		assert_string_equal(f->got[i], want);
	}
	watcher_free(w);
}

/* Same mtime: by name; older mtimes of another partner first. */
static void
test_scan_ties_go_by_name_and_partners_interleave(void **state)
{
	struct fixture *f = *state;
	struct spool_error err;
	struct watcher *w;
	struct timespec ts[2];
	char path[300], name[64];
	int i;

	for (i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "n%02d", 11 - i);
		put(f, "acme", name, 500);
	}
	/* One mtime for all twelve. */
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= 500;
	ts[1] = ts[0];
	for (i = 0; i < 12; i++) {
		snprintf(path, sizeof(path), "%s/acme/n%02d", f->in, i);
		assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	}
	put(f, "beta", "b-old", 600);
	put(f, "beta", "b-new", 400);
	w = watcher_new(f->infd, false, 0, &err);
	assert_non_null(w);
	assert_int_equal(watcher_scan(w, &err), 0);
	drain(f, w, 5);
	assert_int_equal(f->ngot, 14);
	assert_string_equal(f->got[0], "beta/b-old");
	for (i = 0; i < 12; i++) {
		snprintf(path, sizeof(path), "acme/n%02d", i);
		assert_string_equal(f->got[1 + i], path);
	}
	assert_string_equal(f->got[13], "beta/b-new");
	watcher_free(w);
}

/*
 * Files that stay in incoming/ after they were taken are not taken again
 * by the same drain (and the drain ends); a new scan takes them again.
 */
static void
test_scan_never_takes_a_file_twice_in_one_drain(void **state)
{
	struct fixture *f = *state;
	struct spool_error err;
	struct watcher *w;
	char name[64];
	int i, stays = 0;

	for (i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "%s%02d", i % 3 == 0 ? "stay" :
		    "m", i);
		put(f, "acme", name, 300 - i);
	}
	w = watcher_new(f->infd, false, 0, &err);
	assert_non_null(w);
	assert_int_equal(watcher_scan(w, &err), 0);
	drain(f, w, 4);
	assert_int_equal(f->ngot, 30);
	for (i = 0; i < 30; i++)
		assert_int_equal(strncmp(f->got[i], i % 3 == 0 ? "acme/stay" :
		    "acme/m", i % 3 == 0 ? 9 : 6), 0);
	/* A new scan: only the ten that stayed. */
	f->ngot = 0;
	assert_int_equal(watcher_scan(w, &err), 0);
	drain(f, w, 4);
	for (i = 0; i < f->ngot; i++)
		if (strncmp(f->got[i], "acme/stay", 9) == 0)
			stays++;
	assert_int_equal(f->ngot, 10);
	assert_int_equal(stays, 10);
	watcher_free(w);
}

/* A batch the store could not take is offered again, in order. */
static void
test_kept_batch_is_offered_again(void **state)
{
	struct fixture *f = *state;
	struct accept_file *files;
	struct spool_error err;
	struct watcher *w;
	char name[64], first[3][64];
	int64_t next;
	size_t n, i;
	int tries = 0;

	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "k%02zu", 19 - i);
		put(f, "acme", name, 100 - (int)i);
	}
	w = watcher_new(f->infd, false, 0, &err);
	assert_non_null(w);
	assert_int_equal(watcher_scan(w, &err), 0);
	while ((n = watcher_ready(w, &files, 3, &next)) == 0) {
		assert_true(++tries < 100);
		usleep((useconds_t)(next > 0 ? next : 1) * 1000);
	}
	assert_int_equal(n, 3);
	for (i = 0; i < 3; i++)
		snprintf(first[i], sizeof(first[i]), "%s", files[i].name);
	assert_string_equal(first[0], "k19");
	watcher_done(w, true);
	n = watcher_ready(w, &files, 3, &next);
	assert_int_equal(n, 3);
	for (i = 0; i < 3; i++)
		assert_string_equal(files[i].name, first[i]);
	watcher_done(w, true);
	drain(f, w, 3);
	assert_int_equal(f->ngot, 20);
	assert_string_equal(f->got[0], "acme/k19");
	assert_string_equal(f->got[19], "acme/k00");
	watcher_free(w);
}

/*
 * During a drain: a new file newer than the cursor is taken by this
 * drain; one whose mtime is already below the cursor waits for the next
 * scan; neither is lost.
 */
static void
test_files_arriving_during_a_drain(void **state)
{
	struct fixture *f = *state;
	struct accept_file *files;
	struct spool_error err;
	struct watcher *w;
	char name[64], from[300], to[300];
	int64_t next;
	size_t n, i;
	int k, tries = 0;
	bool late_new = false, late_old = false;

	for (k = 0; k < 24; k++) {
		snprintf(name, sizeof(name), "d%02d", k);
		put(f, "acme", name, 1000 - k);
	}
	w = watcher_new(f->infd, false, 0, &err);
	assert_non_null(w);
	assert_int_equal(watcher_scan(w, &err), 0);
	/* Take the first batch by hand, then drop two more. */
	while ((n = watcher_ready(w, &files, 4, &next)) == 0) {
		assert_true(++tries < 100);
		usleep((useconds_t)(next > 0 ? next : 1) * 1000);
	}
	for (i = 0; i < n; i++) {
		snprintf(from, sizeof(from), "%s/acme/%s", f->in,
		    files[i].name);
		snprintf(to, sizeof(to), "%s/%s", f->away, files[i].name);
		assert_int_equal(rename(from, to), 0);
		snprintf(f->got[f->ngot++], sizeof(f->got[0]), "acme/%s",
		    files[i].name);
	}
	watcher_done(w, false);
	put(f, "acme", "late-new", 0);
	put(f, "acme", "late-old", 2000);
	drain(f, w, 4);
	for (k = 0; k < f->ngot; k++) {
		late_new |= strcmp(f->got[k], "acme/late-new") == 0;
		late_old |= strcmp(f->got[k], "acme/late-old") == 0;
	}
	assert_int_equal(f->ngot, 25);
	assert_true(late_new);
	assert_false(late_old);
	assert_true(exists(f, "acme", "late-old"));
	assert_int_equal(watcher_scan(w, &err), 0);
	drain(f, w, 4);
	assert_int_equal(f->ngot, 26);
	assert_string_equal(f->got[25], "acme/late-old");
	watcher_free(w);
}

/*
 * A scanned file that keeps changing (an upload in place, still being
 * written) waits, but does not hold back the files after it: the drain
 * goes on past it, and takes it once it holds still.
 */
static void
test_a_growing_file_does_not_hold_the_drain_back(void **state)
{
	struct fixture *f = *state;
	struct accept_file *files;
	struct spool_error err;
	struct watcher *w;
	char name[64], from[300], to[300];
	int64_t next;
	size_t n, i;
	int k, fd, rounds = 0, others = 0;
	bool grow_taken = false;

	put(f, "acme", "grow", 5000);	/* the oldest */
	for (k = 0; k < 30; k++) {
		snprintf(name, sizeof(name), "o%02d", k);
		put(f, "acme", name, 1000 - k);
	}
	snprintf(from, sizeof(from), "%s/acme/grow", f->in);
	w = watcher_new(f->infd, false, 0, &err);
	assert_non_null(w);
	assert_int_equal(watcher_scan(w, &err), 0);
	while (watcher_pending(w) > 0) {
		assert_true(++rounds < 2000);
		if (others < 30) {
			/* Still being written. */
			fd = open(from, O_WRONLY | O_APPEND);
			assert_true(fd != -1);
			assert_int_equal(write(fd, "y", 1), 1);
			close(fd);
		}
		n = watcher_ready(w, &files, 4, &next);
		if (n == 0) {
			if (next > 0)
				usleep((useconds_t)next * 1000);
			continue;
		}
		for (i = 0; i < n; i++) {
			snprintf(from, sizeof(from), "%s/acme/%s", f->in,
			    files[i].name);
			if (strcmp(files[i].name, "grow") == 0) {
				assert_int_equal(others, 30);
				grow_taken = true;
			} else
				others++;
			snprintf(to, sizeof(to), "%s/%s", f->away,
			    files[i].name);
			assert_int_equal(rename(from, to), 0);
		}
		snprintf(from, sizeof(from), "%s/acme/grow", f->in);
		watcher_done(w, false);
	}
	assert_int_equal(others, 30);
	assert_true(grow_taken);
	watcher_free(w);
}

/*
 * Announced files go out in the order their events came, not by name;
 * more than the watcher holds (16 here) are found by the scan it asks
 * for instead: every file taken, none twice, none left.
 */
static void
test_events_in_order_and_overflow_to_a_scan(void **state)
{
	struct fixture *f = *state;
	struct spool_error err;
	struct watcher *w;
	char name[64], path[300];
	int i, j;

	snprintf(path, sizeof(path), "%s/acme", f->in);
	assert_int_equal(mkdir(path, 0755), 0);
	w = watcher_new(f->infd, true, 0, &err);
	assert_non_null(w);
	assert_int_equal(watcher_scan(w, &err), 0);
	drain(f, w, 4);
	assert_int_equal(watcher_read_events(w, &err), 0);
	/* Ten announced files, names in reverse order. */
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "e%02d", 9 - i);
		put(f, "acme", name, 0);
	}
	drain(f, w, 4);
	assert_int_equal(f->ngot, 10);
	for (i = 0; i < 10; i++) {
		snprintf(path, sizeof(path), "acme/e%02d", 9 - i);
		assert_string_equal(f->got[i], path);
	}
	/* Fifty at once: more than the watcher holds. */
	f->ngot = 0;
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "f%02d", i);
		put(f, "acme", name, 0);
	}
	drain(f, w, 4);
	assert_int_equal(f->ngot, 50);
	for (i = 0; i < 50; i++)
		for (j = i + 1; j < 50; j++)
			assert_string_not_equal(f->got[i], f->got[j]);
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "f%02d", i);
		assert_false(exists(f, "acme", name));
	}
	watcher_free(w);
}

/*
 * A partner directory moved away while watched, when memory runs out, and
 * made again: the watcher goes on and takes the new directory's files
 * (its slot's name was once set from a strdup("") whose failure was not
 * checked, and the next look-up by name read through NULL).
 */
static void
test_partner_removed_when_memory_runs_out(void **state)
{
	struct fixture *f = *state;
	struct spool_error err;
	struct watcher *w;
	char path[300], gone[300];

	snprintf(path, sizeof(path), "%s/acme", f->in);
	snprintf(gone, sizeof(gone), "%s/acme", f->away);
	assert_int_equal(mkdir(path, 0755), 0);
	w = watcher_new(f->infd, true, 0, &err);
	assert_non_null(w);
	assert_int_equal(watcher_scan(w, &err), 0);
	drain(f, w, 4);
	/* Moved away (IN_MOVE_SELF; a removal waits for spoold's
	 * descriptor to close). */
	assert_int_equal(rename(path, gone), 0);
	fail_empty_strdup = true;
	assert_int_equal(watcher_read_events(w, &err), 0);
	fail_empty_strdup = false;
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(watcher_read_events(w, &err), 0);
	put(f, "acme", "after", 0);
	drain(f, w, 4);
	assert_int_equal(f->ngot, 1);
	assert_string_equal(f->got[0], "acme/after");
	watcher_free(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_scan_takes_backlog_in_arrival_order_across_passes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_scan_ties_go_by_name_and_partners_interleave,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_scan_never_takes_a_file_twice_in_one_drain,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_kept_batch_is_offered_again, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_partner_removed_when_memory_runs_out, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_files_arriving_during_a_drain, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_growing_file_does_not_hold_the_drain_back, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_events_in_order_and_overflow_to_a_scan, setup,
		    teardown),
	};

	log_init("test_watcher", LOG_TARGET_STDERR, LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
