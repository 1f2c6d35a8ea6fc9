/*
 * test_accept_pipe.c - acceptance's pipeline (accept_pipe.c): batches
 * prepared by worker threads and recorded in order by the calling
 * thread, on a temp spool with the real acceptance.
 *
 * - Many files in several batches, two worker threads: recorded in the
 *   order submitted (IDs follow the sequence numbers), each once, every
 *   file moved.
 * - The same file in two batches in the pipe at once (announced and
 *   scanned): recorded once; the second batch finds it gone, as if the
 *   batches ran one after the other.
 * - The same with the mover moving each batch's files while the next is
 *   recorded: found gone all the same, every file where its row says.
 * - Batches dropped: their files given back newest batch first, nothing
 *   recorded, nothing moved.
 */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "accept.h"
#include "conf.h"
#include "spooldir.h"
#include "store.h"

#define NFILES	300

struct env {
	char		 root[64];
	struct conf	 conf;
	struct spooldir	 sd;
	struct store	 store;
	int		 pdir;		/* incoming/acme */
	char		 names[NFILES][32];
	struct accept_file files[NFILES];
};

static int
setup(void **state)
{
	struct spool_error err;
	struct env *e = calloc(1, sizeof(*e));
	char db[128];

	if (e == NULL)
		return -1;
	snprintf(e->root, sizeof(e->root), "/tmp/test_accept_pipe.XXXXXX");
	if (mkdtemp(e->root) == NULL)
		return -1;
	conf_defaults(&e->conf);
	if (spooldir_init(e->root, &err) == -1 ||
	    spooldir_open(&e->sd, e->root, &err) == -1)
		return -1;
	snprintf(db, sizeof(db), "%s/spool.db", e->root);
	if (store_open(&e->store, db, STORE_CREATE, &err) == -1)
		return -1;
	if (mkdirat(e->sd.incoming_fd, "acme", 0755) == -1)
		return -1;
	e->pdir = openat(e->sd.incoming_fd, "acme", O_RDONLY | O_DIRECTORY);
	*state = e;
	return e->pdir == -1 ? -1 : 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;
	char cmd[128];

	close(e->pdir);
	store_close(&e->store);
	spooldir_close(&e->sd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->root);
	free(e);
	return system(cmd) == 0 ? 0 : -1;
}

/* Write files 0..n-1 into incoming/acme: transaction T, seq i + 1. */
static void
make_files(struct env *e, int n)
{
	char buf[512];
	int i, fd, len;

	for (i = 0; i < n; i++) {
		snprintf(e->names[i], sizeof(e->names[i]), "m%04d.xml", i);
		len = snprintf(buf, sizeof(buf), "<InventoryMovement><Header>"
		    "<Sender>acme</Sender><TransactionId>T</TransactionId>"
		    "<SenderSequence>%d</SenderSequence><ReceiverSequence>0"
		    "</ReceiverSequence></Header><Body><Item>I</Item>"
		    "</Body></InventoryMovement>", i + 1);
		fd = openat(e->pdir, e->names[i], O_WRONLY | O_CREAT | O_EXCL,
		    0644);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, buf, (size_t)len), len);
		close(fd);
		e->files[i].dirfd = e->pdir;
		e->files[i].partner = "acme";
		e->files[i].name = e->names[i];
	}
}

static int64_t
sql_int(struct env *e, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(sqlite3_prepare_v2(e->store.db, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int
left_in_incoming(struct env *e, int n)
{
	struct stat st;
	int i, left = 0;

	for (i = 0; i < n; i++)
		if (fstatat(e->pdir, e->names[i], &st, 0) == 0)
			left++;
	return left;
}

static void
test_order(void **state)
{
	struct env *e = *state;
	struct accept_ctx ctx = { &e->conf, NULL, &e->store, &e->sd, NULL,
	    NULL };
	struct accept_pipe *p;
	struct accept_stats st;
	struct spool_error err;
	size_t nf, at = 0, sizes[] = { 100, 1, 120, 79 }, i;
	unsigned ready = 0, parked = 0;

	make_files(e, NFILES);
	p = accept_pipe_new(2, &err);
	assert_non_null(p);
	assert_int_equal(accept_pipe_threads(p), 2);
	/* Two batches in the pipe at a time, as spoold keeps them. */
	for (i = 0; i < 4; i++) {
		assert_int_equal(accept_pipe_submit(p, &ctx, e->files + at,
		    sizes[i], &err), 0);
		at += sizes[i];
		if (accept_pipe_batches(p) < 2 && i < 3)
			continue;
		assert_int_equal(accept_pipe_record(p, NULL, &nf, &st, &err),
		    0);
		ready += st.ready;
		parked += st.parked;
	}
	while (accept_pipe_batches(p) > 0) {
		assert_int_equal(accept_pipe_record(p, NULL, &nf, &st, &err),
		    0);
		ready += st.ready;
		parked += st.parked;
	}
	accept_pipe_free(p);
	assert_int_equal(at, NFILES);
	/* Recorded in order (the first ready, its successors parked until
	 * it is done: no cycle runs here), IDs in sequence order. */
	assert_int_equal(ready, 1);
	assert_int_equal(parked, NFILES - 1);
	assert_int_equal(sql_int(e, "SELECT count(*) FROM messages"), NFILES);
	assert_int_equal(sql_int(e, "SELECT count(*) FROM messages a JOIN "
	    "messages b ON b.id > a.id AND b.sender_seq < a.sender_seq"), 0);
	assert_int_equal(left_in_incoming(e, NFILES), 0);
}

static void
test_same_file_twice(void **state)
{
	struct env *e = *state;
	struct accept_ctx ctx = { &e->conf, NULL, &e->store, &e->sd, NULL,
	    NULL };
	struct accept_pipe *p;
	struct accept_stats st;
	struct spool_error err;
	struct accept_file twice[3];
	size_t nf;

	make_files(e, 4);
	p = accept_pipe_new(1, &err);
	assert_non_null(p);
	/* File 1 announced in the first batch and scanned into the second,
	 * both in the pipe before either is recorded. */
	assert_int_equal(accept_pipe_submit(p, &ctx, e->files, 2, &err), 0);
	twice[0] = e->files[2];
	twice[1] = e->files[1];
	twice[2] = e->files[3];
	assert_int_equal(accept_pipe_submit(p, &ctx, twice, 3, &err), 0);
	assert_int_equal(accept_pipe_record(p, NULL, &nf, &st, &err), 0);
	assert_int_equal(nf, 2);
	assert_int_equal(st.ready + st.parked, 2);
	assert_int_equal(accept_pipe_record(p, NULL, &nf, &st, &err), 0);
	assert_int_equal(nf, 3);
	assert_int_equal(st.ready + st.parked, 2);
	assert_int_equal(st.vanished, 1);
	assert_int_equal(st.duplicate, 0);
	accept_pipe_free(p);
	assert_int_equal(sql_int(e, "SELECT count(*) FROM messages"), 4);
	assert_int_equal(left_in_incoming(e, 4), 0);
}

/*
 * The same with the mover (accept_move.c) making each batch's moves
 * while the next is recorded: the file in both batches is still found
 * gone (the late one waits for the move), nothing is left in incoming/,
 * every file is where its row says.
 */
static void
test_mover(void **state)
{
	struct env *e = *state;
	struct accept_ctx ctx = { &e->conf, NULL, &e->store, &e->sd, NULL,
	    NULL };
	struct accept_pipe *p;
	struct accept_stats st;
	struct spool_error err;
	struct accept_file twice[3];
	struct stat sb;
	sqlite3_stmt *sq;
	size_t nf;
	int sti, rows = 0;

	/* The first batch long, the file in both the last it moves: the
	 * second batch takes it while the mover is still at work. */
	make_files(e, 202);
	p = accept_pipe_new(1, &err);
	assert_non_null(p);
	ctx.mover = accept_pipe_mover(p);
	assert_non_null(ctx.mover);
	assert_int_equal(accept_pipe_submit(p, &ctx, e->files, 200, &err), 0);
	twice[0] = e->files[199];
	twice[1] = e->files[200];
	twice[2] = e->files[201];
	assert_int_equal(accept_pipe_submit(p, &ctx, twice, 3, &err), 0);
	assert_int_equal(accept_pipe_record(p, NULL, &nf, &st, &err), 0);
	assert_int_equal(st.ready + st.parked, 200);
	assert_int_equal(accept_pipe_record(p, NULL, &nf, &st, &err), 0);
	assert_int_equal(st.ready + st.parked, 2);
	assert_int_equal(st.vanished, 1);
	assert_int_equal(st.duplicate, 0);
	accept_mover_wait(ctx.mover);
	assert_int_equal(left_in_incoming(e, 202), 0);
	/* Each row's file in its state directory. */
	assert_int_equal(sqlite3_prepare_v2(e->store.db, "SELECT file_name, "
	    "state FROM messages", -1, &sq, NULL), SQLITE_OK);
	while (sqlite3_step(sq) == SQLITE_ROW) {
		sti = spool_state_parse(
		    (const char *)sqlite3_column_text(sq, 1));
		assert_true(sti >= 0);
		assert_int_equal(fstatat(e->sd.state_fd[sti],
		    (const char *)sqlite3_column_text(sq, 0), &sb, 0), 0);
		rows++;
	}
	sqlite3_finalize(sq);
	assert_int_equal(rows, 202);
	accept_pipe_free(p);
}

struct given {
	char	 names[8][32];
	int	 n;
};

static void
back(void *arg, const struct accept_file *f, size_t n)
{
	struct given *g = arg;
	size_t i;

	for (i = 0; i < n && g->n < 8; i++)
		snprintf(g->names[g->n++], sizeof(g->names[0]), "%s",
		    f[i].name);
}

static void
test_drop(void **state)
{
	struct env *e = *state;
	struct accept_ctx ctx = { &e->conf, NULL, &e->store, &e->sd, NULL,
	    NULL };
	struct accept_pipe *p;
	struct spool_error err;
	struct given g;

	memset(&g, 0, sizeof(g));
	make_files(e, 5);
	p = accept_pipe_new(2, &err);
	assert_non_null(p);
	assert_int_equal(accept_pipe_submit(p, &ctx, e->files, 3, &err), 0);
	assert_int_equal(accept_pipe_submit(p, &ctx, e->files + 3, 2, &err),
	    0);
	accept_pipe_drop(p, back, &g);
	assert_int_equal(accept_pipe_batches(p), 0);
	/* The newest batch first: a caller that puts each call's files in
	 * front of its list gets them back in their order. */
	assert_int_equal(g.n, 5);
	assert_string_equal(g.names[0], "m0003.xml");
	assert_string_equal(g.names[1], "m0004.xml");
	assert_string_equal(g.names[2], "m0000.xml");
	assert_string_equal(g.names[4], "m0002.xml");
	accept_pipe_free(p);
	assert_int_equal(sql_int(e, "SELECT count(*) FROM messages"), 0);
	assert_int_equal(left_in_incoming(e, 5), 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_file_twice, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
