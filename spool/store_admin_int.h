/*
 * store_admin_int.h - what store_admin.c (the listings),
 * store_admin_status.c (the status figures) and store_admin_purge.c
 * (removing rows) share.
 */
#ifndef SPOOL_STORE_ADMIN_INT_H
#define SPOOL_STORE_ADMIN_INT_H

#include <sqlite3.h>

#include "error.h"
#include "store.h"
#include "store_admin.h"

/* The columns of a message row, in the order store_admin_each_msg()
 * reads them. */
#define MSG_COLS "id, state, partner, orig_name, file_name, " \
	"type, message_id, sender, recipient, transaction_id, sender_seq, " \
	"receiver_seq, stale, sha256, size, duplicate_of, attempts, " \
	"next_attempt_at, reason, received_at, updated_at, batch, " \
	"(SELECT orig_name FROM batches WHERE batches.id = messages.batch), " \
	"dialect, test, reference"

/* Prepare sql into *st for one use (the caller finalizes it): 0, or -1
 * (err; *st NULL). */
int	store_admin_prep(struct store *, const char *sql, sqlite3_stmt **st,
	    struct spool_error *);
/* Step st (selecting MSG_COLS) to its end, handing each message to fn
 * as store_admin.h says. 0 or -1. */
int	store_admin_each_msg(struct store *, sqlite3_stmt *,
	    int (*fn)(void *, struct store_admin_msg *), void *arg,
	    struct spool_error *);

#endif
