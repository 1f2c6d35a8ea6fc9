/*
 * stamp.h - our control numbers stamped into an outbound interchange
 * (DESIGN 16): an exec program's EDIFACT or X12 (SPOOLD_OUTBOUND) gets
 * UNB/UNZ 0020, UNG/UNE 0048, ISA13/IEA02 and GS06/GE02 from our
 * counters, whatever numbers the program wrote there.
 *
 * Ownership: stamp_envelopes() returns a malloc'd copy the caller
 * frees; the input is never modified.
 */
#ifndef SPOOL_STAMP_H
#define SPOOL_STAMP_H

#include <stddef.h>
#include <stdint.h>

#include "edi.h"
#include "error.h"
#include "store.h"
#include "store_control.h"

/* Our next number for one envelope of ic at level (CTL_INTERCHANGE or
   CTL_GROUP): 0, or -1 and err set. */
typedef int	(*stamp_take_fn)(void *arg, const struct edi_interchange *ic,
		    enum ctl_level, uint64_t *num, struct spool_error *);

/*
 * Stamp every interchange and group in buf. Refused (-1, err says why)
 * when the bytes do not tokenize (edi_read()'s reason: wrong counts,
 * trailers that do not match their headers, ...), when a message's own
 * trailer is wrong, or when take fails. Counts are never corrected:
 * outbound that is wrong is refused, not mended. Message references
 * (UNH 0062, ST02) stay the program's own.
 */
int	stamp_envelopes(const char *buf, size_t len,
	    const struct edi_limits *, stamp_take_fn take, void *arg,
	    char **out, size_t *outlen, struct spool_error *);

/*
 * A take that draws from the store's counters (store_control_take(),
 * inside the caller's write transaction): arg is a struct stamp_store.
 * With per_pair, each pair of identities (sender and recipient of the
 * interchange, "QUAL:ID>QUAL:ID") counts on its own.
 */
struct stamp_store {
	struct store	*store;
	const char	*partner;
	int		 per_pair;
};

int	stamp_take_store(void *arg, const struct edi_interchange *ic,
	    enum ctl_level, uint64_t *num, struct spool_error *);

#endif
