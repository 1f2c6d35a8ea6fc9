/*
 * store_admin_status.c - the figures of spoolctl status beyond the
 * counts per state (struct store_admin_status): open gaps and the
 * oldest one with what blocks it, the oldest deferred message, what was
 * processed in the last minute and hour, the files archive_command
 * failed on (messages', and bundles' rejected whole), and the daemon's
 * row.
 *
 * Each figure is one constant query of at most one row, prepared per
 * call (spoolctl status runs them once) inside the caller's read
 * transaction (store_admin_read_begin()). Nothing here writes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store_admin.h"
#include "store_admin_int.h"

void
store_admin_status_free(struct store_admin_status *st)
{
	free(st->oldest_gap_partner);
	free(st->oldest_gap_tx);
	free(st->oldest_gap_next_state);
	free(st->daemon_version);
	free(st->archive_failed_error);
	free(st->archive_failed_bundle_error);
	memset(st, 0, sizeof(*st));
}

/* Run a query of at most one row, binding p1 and p2 to ?1 and ?2 where
 * it has them; fn reads the row. No row is fine. */
static int
one_row(struct store *s, const char *sql, int64_t p1, int64_t p2,
    int (*fn)(sqlite3_stmt *, struct store_admin_status *),
    struct store_admin_status *out, struct spool_error *err)
{
	sqlite3_stmt *st;
	int rc, ret = -1;

	if (store_admin_prep(s, sql, &st, err) == -1)
		return -1;
	if (sqlite3_bind_parameter_count(st) >= 1)
		sqlite3_bind_int64(st, 1, p1);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, p2);
	if ((rc = store_row(s, st, err)) == 1 && fn(st, out) == -1)
		spool_seterr(err, "out of memory");
	else if (rc != -1)
		ret = 0;
	sqlite3_finalize(st);
	return ret;
}

static int
row_gaps(sqlite3_stmt *st, struct store_admin_status *o)
{
	o->gaps_open = sqlite3_column_int64(st, 0);
	return 0;
}

static int
row_oldest_gap(sqlite3_stmt *st, struct store_admin_status *o)
{
	o->oldest_gap_since = sqlite3_column_int64(st, 2);
	o->oldest_gap_next_seq = sqlite3_column_int64(st, 3);
	o->oldest_gap_next_id = sqlite3_column_int64(st, 4);
	if (store_col_dup(st, 0, &o->oldest_gap_partner) == -1 ||
	    store_col_dup(st, 1, &o->oldest_gap_tx) == -1 ||
	    store_col_dup(st, 5, &o->oldest_gap_next_state) == -1)
		return -1;
	return 0;
}

static int
row_deferred(sqlite3_stmt *st, struct store_admin_status *o)
{
	o->oldest_deferred_id = sqlite3_column_int64(st, 0);
	o->oldest_deferred_received_at = sqlite3_column_int64(st, 1);
	o->oldest_deferred_next_at = sqlite3_column_int64(st, 2);
	o->oldest_deferred_attempts = sqlite3_column_int64(st, 3);
	return 0;
}

static int
row_rates(sqlite3_stmt *st, struct store_admin_status *o)
{
	o->processed_last_minute = sqlite3_column_int64(st, 0);
	o->processed_last_hour = sqlite3_column_int64(st, 1);
	o->duplicates_last_minute = sqlite3_column_int64(st, 2);
	o->duplicates_last_hour = sqlite3_column_int64(st, 3);
	return 0;
}

static int
row_archive(sqlite3_stmt *st, struct store_admin_status *o)
{
	o->archive_failed = sqlite3_column_int64(st, 0);
	o->archive_failed_id = sqlite3_column_int64(st, 1);
	return store_col_dup(st, 2, &o->archive_failed_error);
}

static int
row_archive_bundles(sqlite3_stmt *st, struct store_admin_status *o)
{
	o->archive_failed_bundles = sqlite3_column_int64(st, 0);
	o->archive_failed_batch = sqlite3_column_int64(st, 1);
	return store_col_dup(st, 2, &o->archive_failed_bundle_error);
}

static int
row_daemon(sqlite3_stmt *st, struct store_admin_status *o)
{
	o->daemon_known = true;
	o->daemon_pid = sqlite3_column_int64(st, 0);
	o->daemon_started_at = sqlite3_column_int64(st, 1);
	return store_col_dup(st, 2, &o->daemon_version);
}

int
store_admin_status(struct store *s, int64_t now, struct store_admin_status *o,
    struct spool_error *err)
{
	memset(o, 0, sizeof(*o));
	if (one_row(s, "SELECT count(*) FROM transactions "
	    "WHERE gap_since IS NOT NULL", 0, 0, row_gaps, o, err) == -1 ||
	    one_row(s, "SELECT t.partner, t.transaction_id, t.gap_since, "
	    "t.next_seq, m.id, m.state FROM transactions t "
	    "LEFT JOIN messages m ON m.id = (SELECT b.id FROM messages b "
	    "WHERE b.partner = t.partner AND "
	    "b.transaction_id = t.transaction_id AND "
	    "b.sender_seq = t.next_seq AND b.duplicate_of IS NULL AND "
	    "b.state NOT IN ('rejected', 'done') ORDER BY b.id DESC LIMIT 1) "
	    "WHERE t.gap_since IS NOT NULL "
	    "ORDER BY t.gap_since LIMIT 1", 0, 0, row_oldest_gap, o, err) == -1 ||
	    one_row(s, "SELECT id, received_at, next_attempt_at, attempts "
	    "FROM messages WHERE state = 'deferred' "
	    "ORDER BY received_at, id LIMIT 1", 0, 0, row_deferred, o,
	    err) == -1 ||
	    one_row(s, "SELECT "
	    "coalesce(sum(updated_at >= ?1 AND duplicate_of IS NULL), 0), "
	    "coalesce(sum(duplicate_of IS NULL), 0), "
	    "coalesce(sum(updated_at >= ?1 AND duplicate_of IS NOT NULL), 0), "
	    "coalesce(sum(duplicate_of IS NOT NULL), 0) "
	    "FROM messages WHERE state = 'done' AND updated_at >= ?2",
	    now - 60 * 1000, now - 3600 * 1000, row_rates, o, err) == -1 ||
	    one_row(s, "SELECT pid, started_at, version FROM daemon "
	    "WHERE id = 1", 0, 0, row_daemon, o, err) == -1 ||
	    one_row(s, "SELECT count(*), min(id), (SELECT archive_error FROM "
	    "messages WHERE archive_error IS NOT NULL AND purged_at IS NULL "
	    "ORDER BY id LIMIT 1) FROM messages WHERE archive_error IS NOT "
	    "NULL AND purged_at IS NULL", 0, 0, row_archive, o, err) == -1 ||
	    one_row(s, "SELECT count(*), min(id), (SELECT archive_error FROM "
	    "batches WHERE archive_error IS NOT NULL AND file_name <> '' "
	    "ORDER BY id LIMIT 1) FROM batches WHERE archive_error IS NOT "
	    "NULL AND file_name <> ''", 0, 0, row_archive_bundles, o,
	    err) == -1) {
		store_admin_status_free(o);
		return -1;
	}
	return 0;
}
