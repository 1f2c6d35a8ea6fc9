/*
 * store_control.h - our control numbers (DESIGN 16): per partner, per
 * syntax, per level (interchange, group, message) and optionally per
 * pair of identities, the next number we give out in an envelope of
 * ours (an acknowledgment, a stamped outbound interchange).
 *
 * A number is taken inside the caller's write transaction (store_begin)
 * and is ours once that transaction commits; a rollback gives it back,
 * together with whatever the caller wrote with it, so no number that
 * anyone has seen is ever given out twice. Numbers run from 1 to the
 * largest value the standard's field holds (ctl_max()) and then start
 * at 1 again: see the wrap rule in store_control.c.
 */
#ifndef SPOOL_STORE_CONTROL_H
#define SPOOL_STORE_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "edi.h"
#include "error.h"
#include "store.h"

enum ctl_level {
	CTL_INTERCHANGE,	/* UNB/UNZ 0020, ISA13/IEA02 */
	CTL_GROUP,		/* UNG/UNE 0048, GS06/GE02 */
	CTL_MESSAGE		/* UNH/UNT 0062, ST02/SE02 */
};

/* Which counter: strings are the caller's. pair is "" or NULL for one
 * counter per partner and syntax, else a text naming the identities
 * (our "QUAL:ID" and theirs), so that each pair counts on its own. */
struct ctl_key {
	const char	*partner;
	enum edi_syntax	 syntax;	/* EDI_EDIFACT or EDI_X12 */
	enum ctl_level	 level;
	const char	*pair;
};

/* The largest number the standard's field holds: 14 digits for
 * EDIFACT (an..14), 9 for X12 (ISA13 n9, GS06 n..9, ST02 an4..9). */
uint64_t ctl_max(enum edi_syntax, enum ctl_level);

/*
 * The number as it is written into the envelope: ISA13 as nine digits
 * with leading zeros, ST02 with at least four digits, every other one
 * without leading zeros. 0, or -1 if buf is too small or v is out of
 * range.
 */
int	ctl_format(enum edi_syntax, enum ctl_level, uint64_t v, char *buf,
	    size_t size);

/*
 * Take n consecutive numbers (1 <= n <= 1000): *first is the first of
 * them. Only inside the caller's write transaction; refused outside
 * one. When the n numbers would pass ctl_max(), the run starts at 1.
 */
int	store_control_take(struct store *, const struct ctl_key *,
	    uint64_t n, uint64_t *first, struct spool_error *);
/* The number the next take would give (1 for a counter not used yet). */
int	store_control_peek(struct store *, const struct ctl_key *,
	    uint64_t *next, struct spool_error *);
/*
 * Set the next number (an admin continuing another translator's
 * numbering): 1 <= next <= ctl_max(). Inside a write transaction.
 */
int	store_control_set(struct store *, const struct ctl_key *,
	    uint64_t next, struct spool_error *);

#endif
