/*
 * store_ack.h - our outbound interchanges and the partners'
 * acknowledgments of them (DESIGN 16): record an interchange we send
 * (with its groups), match a CONTRL, 997, 999 or TA1 a partner sends to
 * it, and find those still unacknowledged after ack_overdue, each
 * reported once.
 *
 * All of it runs inside the caller's write transaction (store_begin),
 * so a match commits with the acceptance of the acknowledgment that made
 * it, and an overdue report with the mark that it was made.
 */
#ifndef SPOOL_STORE_ACK_H
#define SPOOL_STORE_ACK_H

#include <stddef.h>
#include <stdint.h>

#include "ack_read.h"
#include "edi.h"
#include "error.h"
#include "store.h"

/* Record an interchange of ours: its control number and its groups'
   (as written). *id its row. */
int	store_ack_expect(struct store *, const char *partner,
	    enum edi_syntax, const char *control, const char *const *groups,
	    size_t ngroups, int64_t outbound_id, int64_t *id,
	    struct spool_error *);

/*
 * Match a partner's acknowledgment (one report of ack_read()) to the
 * newest of our interchanges that it names: CONTRL and TA1 by the
 * interchange's control number, 997 and 999 by a group's; control
 * numbers compared as numbers in X12, as strings in EDIFACT. *id the
 * interchange's row, 0 when none matched (an acknowledgment of
 * something we never sent: the caller reports it). ack_message is the
 * acknowledgment's own message ID, for show.
 */
int	store_ack_match(struct store *, const char *partner,
	    const struct ack_report *, int64_t ack_message, int64_t *id,
	    struct spool_error *);

/* One of our interchanges, as show and status tell it; the strings are
   the row's own (store_ack_row_free()). */
struct store_ack_row {
	int64_t		 id;
	char		*partner;
	char		*syntax;	/* edifact, x12 */
	char		*control;
	int64_t		 sent_at;
	/* pending, accepted, partial, rejected or received */
	char		*state;
	char		*code;		/* the error code, or NULL */
	int64_t		 acked_at;	/* 0: not yet */
};

void	store_ack_row_free(struct store_ack_row *);

/*
 * Every interchange still pending that was sent before `before' (ms
 * since the epoch) and not yet reported: fn is called once for each,
 * and it is marked reported (overdue_at = now), so that the next call
 * does not report it again. fn returning -1 stops with that error.
 */
int	store_ack_overdue(struct store *, int64_t before,
	    int (*fn)(void *, const struct store_ack_row *), void *arg,
	    struct spool_error *);

/* Our interchange with this control number to partner (the newest), for
   show: 1 found, 0 not, -1 error. */
int	store_ack_find(struct store *, const char *partner,
	    const char *control, struct store_ack_row *, struct spool_error *);

/*
 * For show --outbound PARTNER: fn is called for each of our interchanges
 * to partner that the partner has not acknowledged as accepted or
 * received (pending, partial, rejected), oldest first, at most limit of
 * them (0: all); *settled counts the others. fn returning -1 stops with
 * that error.
 */
int	store_ack_open(struct store *, const char *partner, int64_t limit,
	    int (*fn)(void *, const struct store_ack_row *), void *arg,
	    int64_t *settled, struct spool_error *);

/* Our interchanges by their acknowledgment, for status and metrics:
   overdue = pending and sent before `before'. */
struct store_ack_tally {
	int64_t	 pending, overdue, acknowledged, rejected;
};

int	store_ack_tally(struct store *, int64_t before,
	    struct store_ack_tally *, struct spool_error *);

#endif
