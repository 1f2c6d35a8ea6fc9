/*
 * view.h - what spoolctl and the HTTP API show of the store: the JSON
 * of a message, a list of messages, a batch, the batches and a
 * transaction's timeline (one builder each, so that `spoolctl --json'
 * and /api/... say the same thing under the same field names), and the
 * small text helpers spoolctl's text output shares with them. Messages
 * and the helpers are view.c's, batches and interchanges view_batch.c's,
 * transactions view_tx.c's.
 *
 * The jv_*() builders add one whole value to a jdoc (jdoc.h) and read
 * in one read transaction of their own (store_admin_read_begin()).
 * Lookups return 1 (found), 0 (not found: nothing added) or -1 (err);
 * the others 0 or -1. The caller owns the jdoc and the store; `now' is
 * ms since the epoch.
 */
#ifndef SPOOLD_VIEW_H
#define SPOOLD_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "jdoc.h"
#include "spooldir.h"
#include "store.h"
#include "store_admin.h"

/* Text for a terminal and times; each returns buf (or a constant). */
const char	*clean(char *buf, size_t len, const char *s, size_t max);
const char	*first_line(char *buf, size_t len, const char *s,
		    size_t max);
const char	*tlocal(char *buf, size_t len, int64_t ms, bool secs);
const char	*tiso(char *buf, size_t len, int64_t ms);
const char	*state_name(int st);

/* JSON pieces: a time (RFC 3339, UTC; 0 is null); an integer, 0 null. */
void		 jd_ktime(struct jdoc *, const char *key, int64_t ms);
void		 jd_kopt(struct jdoc *, const char *key, int64_t v);

/* A message's fields, the object left open (jv_msg closes it). */
void		 jv_msg_open(struct jdoc *, const struct store_admin_msg *,
		    int64_t now);
void		 jv_msg(struct jdoc *, const struct store_admin_msg *,
		    int64_t now);

/*
 * The first line of a message's .reason sidecar into line (len bytes),
 * read from its state directory in sd; false when there is none (or sd
 * is NULL, or the stored name could leave that directory).
 */
bool		 jv_reason_file(const struct spooldir *sd,
		    const struct store_admin_msg *, char *line, size_t len);

/*
 * show MSGID: {"message": {..., "attempt_log": [...]}, "reason_file":
 * {...} or null}. sd (NULL: none) is where the .reason sidecar is read.
 */
int		 jv_message(struct jdoc *, struct store *,
		    const struct spooldir *, int64_t id, int64_t now,
		    struct spool_error *);
/* list: {"total", "limit", "messages": [...]}. */
int		 jv_list(struct jdoc *, struct store *,
		    const struct store_admin_filter *, int64_t now,
		    struct spool_error *);
/* batch ID: the bundle, its counts and its entries' fates; with admin,
 * its archive_command outcome too (ours, not the partner's business). */
int		 jv_batch(struct jdoc *, struct store *, int64_t id,
		    bool admin, struct spool_error *);
/* batches: {"batches": [...] newest first, "total", "limit"}; only
 * partner's (NULL: every partner's). */
int		 jv_batches(struct jdoc *, struct store *, const char *partner,
		    int64_t limit, struct spool_error *);
/* show --tx PARTNER ID: the timeline, gaps, skips, revisions, outbound. */
int		 jv_tx(struct jdoc *, struct store *, const char *partner,
		    const char *txid, int64_t now, struct spool_error *);

/* list --control: {"pairs": [{"partner", "pair", "next", "parked": [...],
 * "gaps": [{"from", "to"}], "gap_since", "gap_alerted", "skipped"}]}. */
int		 jv_controls(struct jdoc *, struct store *, const char *partner,
		    struct spool_error *);
/* show --interchange PARTNER N: {"partner", "control", "messages":
 * [{"id", "pair", "state", "type", "duplicate_of", "reason", "file",
 * "batch"}]}. */
int		 jv_interchange(struct jdoc *, struct store *,
		    const char *partner, int64_t n, struct spool_error *);

/* A batch's state word: rejected, pending or done. */
const char	*jv_batch_state(int bundle_state, const int64_t *counts);

/*
 * A transaction's messages and skips, gathered for its timeline (the
 * text of spoolctl show --tx walks the same).
 */
struct jv_skip {
	int64_t		 seq;
	char		*reason;
	char		*user;
	int64_t		 at;
};

struct jv_txview {
	struct store_admin_tx	 tx;
	int			 known;	/* the transaction row exists */
	int64_t			 parked;
	int64_t			 max;	/* the highest number seen */
	struct store_admin_msg	*msgs;	/* by sender_seq, id */
	size_t			 nmsgs, capmsgs;
	struct jv_skip		*skips;		/* by seq */
	size_t			 nskips, capskips;
	const char		*word;	/* idle, waiting, ready, ... */
	char			 waiting[1024];	/* in one sentence */
};

/* Load it, inside the caller's read transaction: 1, 0 (unknown), -1. */
int		 jv_txview_load(struct jv_txview *, struct store *,
		    const char *partner, const char *txid,
		    struct spool_error *);
void		 jv_txview_free(struct jv_txview *);
const struct store_admin_msg *jv_live_at(const struct jv_txview *,
		    int64_t seq);
const struct jv_skip *jv_skip_of(const struct jv_txview *, int64_t seq);
int64_t		 jv_next_seen(const struct jv_txview *, int64_t seq,
		    bool live_only);

#define JV_SHORT_REASON	60	/* characters of a reason, shortened */

#endif
