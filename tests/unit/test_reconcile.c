/*
 * test_reconcile.c - the store and the state directories compared: each
 * kind of disagreement found, only misplaced files moved, nothing deleted.
 */
#include "config.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "reconcile.h"
#include "spooldir.h"
#include "store.h"
#include "store_batch.h"

#define MAXF 16

struct fixture {
	char			 root[64];
	struct spooldir		 sd;
	struct store		 store;
};

struct found {
	enum reconcile_kind	 kind;
	int64_t			 id;
	int			 found, expected;
	char			 name[256];
	bool			 batch;
	bool			 repaired;
};

struct findings {
	struct found	 f[MAXF];
	int		 n;
};

static void
collect(void *arg, const struct reconcile_finding *f)
{
	struct findings *fs = arg;

	assert_true(fs->n < MAXF);
	fs->f[fs->n].kind = f->kind;
	fs->f[fs->n].id = f->id;
	fs->f[fs->n].found = f->found;
	fs->f[fs->n].expected = f->expected;
	fs->f[fs->n].repaired = f->repaired;
	fs->f[fs->n].batch = f->batch;
	snprintf(fs->f[fs->n].name, sizeof(fs->f[fs->n].name), "%s",
	    f->file_name);
	fs->n++;
}

static const struct found *
find(const struct findings *fs, enum reconcile_kind kind, const char *name)
{
	int i;

	for (i = 0; i < fs->n; i++)
		if (fs->f[i].kind == kind && strcmp(fs->f[i].name, name) == 0)
			return &fs->f[i];
	return NULL;
}

static int
setup(void **state)
{
	struct spool_error err;
	struct fixture *fx;
	char db[128];

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	snprintf(fx->root, sizeof(fx->root), "/tmp/test_reconcile.XXXXXX");
	if (mkdtemp(fx->root) == NULL)
		return -1;
	snprintf(db, sizeof(db), "%s/spool.db", fx->root);
	if (spooldir_init(fx->root, &err) == -1 ||
	    spooldir_open(&fx->sd, fx->root, &err) == -1 ||
	    store_open(&fx->store, db, STORE_CREATE, &err) == -1) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];
	int rc;

	store_close(&fx->store);
	spooldir_close(&fx->sd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->root);
	rc = system(cmd) == 0 ? 0 : -1;
	free(fx);
	return rc;
}

/* Record a message in state st; its file name in name. */
static int64_t
add_row(struct fixture *fx, int st, char *name, size_t len)
{
	struct spool_error err;
	struct store_newmsg m;
	int64_t id;

	memset(&m, 0, sizeof(m));
	m.partner = "acme";
	m.orig_name = "upload.xml";
	m.state = st;
	m.type = "ProductInfo";
	m.sender = "acme";
	m.size = 10;
	assert_int_equal(store_insert(&fx->store, &m, &id, &err), 0);
	if (st == ST_REJECTED)
		assert_int_equal(spooldir_rejected_name(name, len, "acme",
		    "upload.xml", id), 0);
	else
		assert_int_equal(spooldir_name(name, len, "acme", NULL, 0,
		    "ProductInfo", id), 0);
	assert_int_equal(store_set_file_name(&fx->store, id, name, &err), 0);
	return id;
}

static void
put(struct fixture *fx, int st, const char *name)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s/%s", fx->root,
	    spooldir_dir_name(st), name);
	assert_non_null(fp = fopen(path, "w"));
	assert_true(fputs("<ProductInfo/>\n", fp) >= 0);
	assert_int_equal(fclose(fp), 0);
}

static bool
is_in(struct fixture *fx, int st, const char *name)
{
	char path[512];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s/%s", fx->root,
	    spooldir_dir_name(st), name);
	return lstat(path, &sb) == 0;
}

/* Every entry of every state directory, "dir/name\n" sorted by dir. */
static void
listing(struct fixture *fx, char *out, size_t len)
{
	struct dirent **ents;
	char path[512];
	size_t off = 0;
	int st, n, i;

	out[0] = '\0';
	for (st = 0; st < ST_NSTATES; st++) {
		snprintf(path, sizeof(path), "%s/%s", fx->root,
		    spooldir_dir_name(st));
		assert_true((n = scandir(path, &ents, NULL, alphasort)) >= 0);
		for (i = 0; i < n; i++) {
			if (ents[i]->d_name[0] != '.' || (strcmp(
			    ents[i]->d_name, ".") != 0 && strcmp(
			    ents[i]->d_name, "..") != 0))
				off += (size_t)snprintf(out + off, len - off,
				    "%s/%s\n", spooldir_dir_name(st),
				    ents[i]->d_name);
			assert_true(off < len);
			free(ents[i]);
		}
		free(ents);
	}
}

static int
lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static bool
has_line(const char *list, const char *line)
{
	size_t len = strlen(line);
	const char *p;

	for (p = list; (p = strstr(p, line)) != NULL; p++)
		if ((p == list || p[-1] == '\n') && p[len] == '\n')
			return true;
	return false;
}

static void
test_name_id_is_last_field_before_extension(void **state)
{
	int64_t id;

	(void)state;
	assert_int_equal(reconcile_name_id("acme,PO-1,2,Invoice,17.xml", &id),
	    1);
	assert_int_equal(id, 17);
	assert_int_equal(reconcile_name_id("acme,up%2Cload.xml,9.rejected",
	    &id), 1);
	assert_int_equal(id, 9);
	assert_int_equal(reconcile_name_id("-,stray.xml,3.rejected", &id), 1);
	assert_int_equal(id, 3);
	assert_int_equal(reconcile_name_id("junk.xml", &id), 0);
	assert_int_equal(reconcile_name_id("a,b,1,T,.xml", &id), 0);
	assert_int_equal(reconcile_name_id("a,b,1,T,12.txt", &id), 0);
	assert_int_equal(reconcile_name_id("a,b,1,T,012.xml", &id), 0);
	assert_int_equal(reconcile_name_id("a,b,1,T,12x.xml", &id), 0);
	assert_int_equal(reconcile_name_id("a,99999999999999999999.xml", &id),
	    0);
}

static void
test_agreeing_spool_has_no_findings(void **state)
{
	struct fixture *fx = *state;
	struct reconcile_stats rs;
	struct spool_error err;
	struct findings fs;
	char name[256];
	int st;

	for (st = 0; st < ST_NSTATES; st++) {
		add_row(fx, st, name, sizeof(name));
		put(fx, st, name);
	}
	/* Sidecars and dot-files are not message files. */
	put(fx, ST_FAILED, "acme,-,0,ProductInfo,4.xml.reason");
	put(fx, ST_QUEUE, ".acme,-,0,ProductInfo,99.xml.tmp");
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(reconcile_run(&fx->sd, &fx->store, false, true,
	    collect, &fs, &rs, &err), 0);
	assert_int_equal(fs.n, 0);
	assert_int_equal(rs.files, ST_NSTATES);
	assert_int_equal(rs.rows, ST_NSTATES);
	assert_int_equal(rs.findings, 0);
}

static void
test_every_kind_of_disagreement_is_reported(void **state)
{
	struct fixture *fx = *state;
	struct spool_error err;
	struct findings fs;
	const struct found *f;
	char ok[256], wrong[256], gone[256], rej[256], before[4096],
	    after[4096];
	int64_t wrong_id, gone_id, rej_id;

	add_row(fx, ST_QUEUE, ok, sizeof(ok));
	put(fx, ST_QUEUE, ok);
	wrong_id = add_row(fx, ST_DONE, wrong, sizeof(wrong));
	put(fx, ST_QUEUE, wrong);		/* commit done, rename lost */
	gone_id = add_row(fx, ST_PARKED, gone, sizeof(gone));
	rej_id = add_row(fx, ST_REJECTED, rej, sizeof(rej));
	put(fx, ST_FAILED, rej);
	put(fx, ST_DEFERRED, "stray.xml");	/* no ID in its name */
	put(fx, ST_PARKED, "acme,-,0,ProductInfo,4242.xml");	/* no row */

	listing(fx, before, sizeof(before));
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(reconcile_run(&fx->sd, &fx->store, false, true,
	    collect, &fs, NULL, &err), 5);
	assert_int_equal(fs.n, 5);

	assert_non_null(f = find(&fs, RECONCILE_WRONG_DIR, wrong));
	assert_int_equal(f->id, wrong_id);
	assert_int_equal(f->found, ST_QUEUE);
	assert_int_equal(f->expected, ST_DONE);
	assert_false(f->repaired);

	assert_non_null(f = find(&fs, RECONCILE_WRONG_DIR, rej));
	assert_int_equal(f->id, rej_id);
	assert_int_equal(f->found, ST_FAILED);
	assert_int_equal(f->expected, ST_REJECTED);

	assert_non_null(f = find(&fs, RECONCILE_ROW_WITHOUT_FILE, gone));
	assert_int_equal(f->id, gone_id);
	assert_int_equal(f->found, -1);
	assert_int_equal(f->expected, ST_PARKED);

	assert_non_null(f = find(&fs, RECONCILE_FILE_WITHOUT_ROW,
	    "stray.xml"));
	assert_int_equal(f->id, 0);
	assert_int_equal(f->found, ST_DEFERRED);
	assert_int_equal(f->expected, -1);

	assert_non_null(f = find(&fs, RECONCILE_FILE_WITHOUT_ROW,
	    "acme,-,0,ProductInfo,4242.xml"));
	assert_int_equal(f->id, 4242);
	assert_int_equal(f->found, ST_PARKED);

	/* Without repair, nothing moves. */
	listing(fx, after, sizeof(after));
	assert_string_equal(before, after);
}

static void
test_repair_moves_exactly_the_misplaced_files(void **state)
{
	struct fixture *fx = *state;
	struct reconcile_stats rs;
	struct spool_error err;
	struct findings fs;
	const struct found *f;
	char ok[256], wrong[256], gone[256], before[4096], after[4096],
	    expect[4096];
	char *line;

	add_row(fx, ST_QUEUE, ok, sizeof(ok));
	put(fx, ST_QUEUE, ok);
	add_row(fx, ST_DONE, wrong, sizeof(wrong));
	put(fx, ST_QUEUE, wrong);
	add_row(fx, ST_PARKED, gone, sizeof(gone));
	put(fx, ST_DEFERRED, "stray.xml");
	put(fx, ST_FAILED, "acme,-,0,ProductInfo,4242.xml");

	listing(fx, before, sizeof(before));
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(reconcile_run(&fx->sd, &fx->store, true, true,
	    collect, &fs, &rs, &err), 3);
	assert_int_equal(rs.findings, 4);
	assert_int_equal(rs.repaired, 1);
	assert_non_null(f = find(&fs, RECONCILE_WRONG_DIR, wrong));
	assert_true(f->repaired);
	assert_non_null(f = find(&fs, RECONCILE_FILE_WITHOUT_ROW,
	    "stray.xml"));
	assert_false(f->repaired);
	assert_non_null(find(&fs, RECONCILE_FILE_WITHOUT_ROW,
	    "acme,-,0,ProductInfo,4242.xml"));
	assert_non_null(find(&fs, RECONCILE_ROW_WITHOUT_FILE, gone));

	/* The listing after is the one before with one line changed. */
	listing(fx, after, sizeof(after));
	assert_int_equal(lines(before), lines(after));
	for (line = strtok(before, "\n"); line != NULL;
	    line = strtok(NULL, "\n")) {
		snprintf(expect, sizeof(expect), "%s", line);
		if (strncmp(expect, "queue/", 6) == 0 &&
		    strcmp(expect + 6, wrong) == 0)
			snprintf(expect, sizeof(expect), "done/%s", wrong);
		assert_true(has_line(after, expect));
	}

	/* A second run finds what no repair can fix, and moves nothing. */
	memset(&fs, 0, sizeof(fs));
	listing(fx, before, sizeof(before));
	assert_int_equal(reconcile_run(&fx->sd, &fx->store, true, true,
	    collect, &fs, NULL, &err), 3);
	assert_null(find(&fs, RECONCILE_WRONG_DIR, wrong));
	listing(fx, after, sizeof(after));
	assert_string_equal(before, after);
}

static void
test_done_is_looked_at_only_when_asked(void **state)
{
	struct fixture *fx = *state;
	struct reconcile_stats rs;
	struct spool_error err;
	struct findings fs;
	const struct found *f;
	char gone[256], back[256];

	add_row(fx, ST_DONE, gone, sizeof(gone));	/* row, no file */
	put(fx, ST_DONE, "junk.xml");			/* file, no row */
	add_row(fx, ST_QUEUE, back, sizeof(back));
	put(fx, ST_DONE, back);		/* queued, but its file is in done/ */

	memset(&fs, 0, sizeof(fs));
	assert_int_equal(reconcile_run(&fx->sd, &fx->store, true, false,
	    collect, &fs, &rs, &err), 0);
	assert_int_equal(fs.n, 1);
	assert_non_null(f = find(&fs, RECONCILE_WRONG_DIR, back));
	assert_int_equal(f->found, ST_DONE);
	assert_int_equal(f->expected, ST_QUEUE);
	assert_true(f->repaired);
	assert_true(is_in(fx, ST_QUEUE, back));
	assert_int_equal(rs.files, 0);
	assert_int_equal(rs.rows, 1);

	memset(&fs, 0, sizeof(fs));
	assert_int_equal(reconcile_run(&fx->sd, &fx->store, false, true,
	    collect, &fs, NULL, &err), 2);
	assert_non_null(find(&fs, RECONCILE_ROW_WITHOUT_FILE, gone));
	assert_non_null(find(&fs, RECONCILE_FILE_WITHOUT_ROW, "junk.xml"));
	assert_true(is_in(fx, ST_DONE, "junk.xml"));

	/*
	 * The full check's repair (spoolctl check --repair) settles the
	 * done row whose file was removed by hand; the file without a row
	 * stays, reported.
	 */
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(reconcile_run(&fx->sd, &fx->store, true, true,
	    collect, &fs, NULL, &err), 1);
	assert_non_null(f = find(&fs, RECONCILE_ROW_WITHOUT_FILE, gone));
	assert_true(f->repaired);
	assert_true(is_in(fx, ST_DONE, "junk.xml"));
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(reconcile_run(&fx->sd, &fx->store, false, true,
	    collect, &fs, NULL, &err), 1);
	assert_null(find(&fs, RECONCILE_ROW_WITHOUT_FILE, gone));
}

static void
test_reason_sidecar_follows_into_failed(void **state)
{
	struct fixture *fx = *state;
	struct spool_error err;
	struct findings fs;
	char name[256], reason[300];

	add_row(fx, ST_FAILED, name, sizeof(name));
	put(fx, ST_QUEUE, name);
	snprintf(reason, sizeof(reason), "%s.reason", name);
	put(fx, ST_QUEUE, reason);
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(reconcile_run(&fx->sd, &fx->store, true, false,
	    collect, &fs, NULL, &err), 0);
	assert_int_equal(fs.n, 1);
	assert_true(is_in(fx, ST_FAILED, name));
	assert_true(is_in(fx, ST_FAILED, reason));
	assert_false(is_in(fx, ST_QUEUE, reason));
}

static void
test_repair_never_replaces_a_file(void **state)
{
	struct fixture *fx = *state;
	struct spool_error err;
	struct findings fs;
	const struct found *f;
	char name[256];

	/* The same name in its own directory and in another one. */
	add_row(fx, ST_PARKED, name, sizeof(name));
	put(fx, ST_PARKED, name);
	put(fx, ST_QUEUE, name);
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(reconcile_run(&fx->sd, &fx->store, true, false,
	    collect, &fs, NULL, &err), 1);
	assert_non_null(f = find(&fs, RECONCILE_WRONG_DIR, name));
	assert_false(f->repaired);
	assert_true(is_in(fx, ST_PARKED, name));
	assert_true(is_in(fx, ST_QUEUE, name));
}

static void
test_lost_upload_fails_at_once_with_its_reason(void **state)
{
	struct fixture *fx = *state;
	struct spool_error err;
	struct findings fs;
	struct store_msgref ref;
	char lost[256], done[256], reason[300];
	int64_t id, did;

	id = add_row(fx, ST_QUEUE, lost, sizeof(lost));
	did = add_row(fx, ST_DONE, done, sizeof(done));
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(reconcile_run(&fx->sd, &fx->store, true, false,
	    collect, &fs, NULL, &err), 1);
	assert_non_null(find(&fs, RECONCILE_ROW_WITHOUT_FILE, lost));

	/* Only a message still to be processed is settled. */
	assert_int_equal(reconcile_settle_lost(&fx->sd, &fx->store, did,
	    &err), 0);
	assert_int_equal(reconcile_settle_lost(&fx->sd, &fx->store, id,
	    &err), 1);
	assert_int_equal(store_get(&fx->store, id, &ref, &err), 1);
	assert_int_equal(ref.state, ST_FAILED);
	store_msgref_free(&ref);
	snprintf(reason, sizeof(reason), "%s.reason", lost);
	assert_true(is_in(fx, ST_FAILED, reason));
	assert_false(is_in(fx, ST_FAILED, lost));
	/* Settled once: a second call has nothing to do. */
	assert_int_equal(reconcile_settle_lost(&fx->sd, &fx->store, id,
	    &err), 0);

	memset(&fs, 0, sizeof(fs));
	assert_int_equal(reconcile_run(&fx->sd, &fx->store, true, false,
	    collect, &fs, NULL, &err), 0);
	assert_int_equal(fs.n, 0);
}

/* Record a batch (bundle) in state st; its file name in name. */
static int64_t
add_batch(struct fixture *fx, int st, const char *orig, char *name,
    size_t len)
{
	struct spool_error err;
	struct store_batch b;
	int64_t id;

	memset(&b, 0, sizeof(b));
	b.partner = (char *)"acme";
	b.orig_name = (char *)orig;
	b.file_name = (char *)"";
	b.state = st;
	b.received_at = 1;
	assert_int_equal(store_begin(&fx->store, &err), 0);
	assert_int_equal(store_batch_insert(&fx->store, &b, &id, &err), 0);
	assert_int_equal(spooldir_bundle_name(name, len, "acme", orig, id),
	    0);
	assert_int_equal(store_batch_finish(&fx->store, id, st, name,
	    st == ST_REJECTED ? "bundle is corrupt" : NULL, 0, &err), 0);
	assert_int_equal(store_commit(&fx->store, &err), 0);
	return id;
}

/*
 * A batch whose bundle file was removed by hand: the full check reports
 * it (start-up does not look), its --repair settles it, recorded, and
 * the batch forgets the name (issue 16).
 */
static void
test_batch_without_bundle_file(void **state)
{
	struct fixture *fx = *state;
	struct spool_error err;
	struct store_batch b;
	struct findings fs;
	const struct found *f;
	char gone[256], kept[256], side[400];
	int64_t d, r;

	d = add_batch(fx, ST_DONE, "up.tgz", gone, sizeof(gone));
	r = add_batch(fx, ST_REJECTED, "bad.tgz", kept, sizeof(kept));
	put(fx, ST_REJECTED, kept);
	snprintf(side, sizeof(side), "%s.reason", kept);
	put(fx, ST_REJECTED, side);

	memset(&fs, 0, sizeof(fs));
	assert_int_equal(reconcile_run(&fx->sd, &fx->store, true, false,
	    collect, &fs, NULL, &err), 0);
	assert_int_equal(fs.n, 0);

	memset(&fs, 0, sizeof(fs));
	assert_int_equal(reconcile_run(&fx->sd, &fx->store, false, true,
	    collect, &fs, NULL, &err), 1);
	assert_int_equal(fs.n, 1);
	assert_non_null(f = find(&fs, RECONCILE_ROW_WITHOUT_FILE, gone));
	assert_true(f->batch);
	assert_int_equal(f->id, d);
	assert_int_equal(f->expected, ST_DONE);
	assert_false(f->repaired);

	memset(&fs, 0, sizeof(fs));
	assert_int_equal(reconcile_run(&fx->sd, &fx->store, true, true,
	    collect, &fs, NULL, &err), 0);
	assert_non_null(f = find(&fs, RECONCILE_ROW_WITHOUT_FILE, gone));
	assert_true(f->batch);
	assert_true(f->repaired);
	assert_int_equal(store_batch_get(&fx->store, d, &b, &err), 1);
	assert_string_equal(b.file_name, "");
	assert_non_null(b.reason);
	assert_non_null(strstr(b.reason, "file removed by hand; settled by "
	    "spoolctl check --repair as "));
	store_batch_free(&b);
	assert_true(is_in(fx, ST_REJECTED, kept));

	/* The rejected one removed by hand too: settled, its sidecar
	 * gone, its reason kept before the note. */
	snprintf(side, sizeof(side), "%s/rejected/%s", fx->root, kept);
	assert_int_equal(unlink(side), 0);
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(reconcile_run(&fx->sd, &fx->store, true, true,
	    collect, &fs, NULL, &err), 0);
	assert_int_equal(fs.n, 1);
	assert_non_null(f = find(&fs, RECONCILE_ROW_WITHOUT_FILE, kept));
	assert_int_equal(f->id, r);
	assert_true(f->repaired);
	snprintf(side, sizeof(side), "%s.reason", kept);
	assert_false(is_in(fx, ST_REJECTED, side));
	assert_int_equal(store_batch_get(&fx->store, r, &b, &err), 1);
	assert_string_equal(b.file_name, "");
	assert_non_null(b.reason);
	assert_true(strncmp(b.reason, "bundle is corrupt; file removed by "
	    "hand", 37) == 0);
	store_batch_free(&b);

	memset(&fs, 0, sizeof(fs));
	assert_int_equal(reconcile_run(&fx->sd, &fx->store, false, true,
	    collect, &fs, NULL, &err), 0);
	assert_int_equal(fs.n, 0);
}

static void
test_kind_names_are_stable(void **state)
{
	(void)state;
	assert_string_equal(reconcile_kind_name(RECONCILE_FILE_WITHOUT_ROW),
	    "file_without_row");
	assert_string_equal(reconcile_kind_name(RECONCILE_WRONG_DIR),
	    "wrong_directory");
	assert_string_equal(reconcile_kind_name(RECONCILE_ROW_WITHOUT_FILE),
	    "row_without_file");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_id_is_last_field_before_extension),
		cmocka_unit_test(test_kind_names_are_stable),
		cmocka_unit_test_setup_teardown(
		    test_agreeing_spool_has_no_findings, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_every_kind_of_disagreement_is_reported, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_repair_moves_exactly_the_misplaced_files, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_done_is_looked_at_only_when_asked, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_reason_sidecar_follows_into_failed, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_repair_never_replaces_a_file, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_lost_upload_fails_at_once_with_its_reason, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_batch_without_bundle_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
