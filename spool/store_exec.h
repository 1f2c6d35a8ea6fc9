/*
 * store_exec.h - the store's statements for the exec runner: which
 * pending calls (DESIGN 7) are waiting to be made.
 *
 * A pending call is written by the cycle (store_exec_start) and made
 * valid or invalid by cycle_complete (store_exec_finish); this module
 * only reads.
 */
#ifndef SPOOL_STORE_EXEC_H
#define SPOOL_STORE_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

/* One pending call and its message. The strings live until fn returns. */
struct store_exec_call {
	int64_t		 id;		/* the message's store ID */
	int		 attempt;	/* the attempt this call is */
	int		 state;		/* enum spool_state: where its
					 * file lies */
	const char	*partner;
	const char	*type;		/* "" if the store has none */
	const char	*transaction_id;	/* NULL outside transactions */
	int64_t		 sender_seq;	/* 0 outside transactions */
	const char	*file_name;
	bool		 has_sha256;	/* digest recorded at acceptance */
	uint8_t		 sha256[32];
};

/*
 * Call fn for each pending call whose message is still in queue/ or
 * deferred/, oldest call first. fn returns 0 to go on, 1 to stop (not an
 * error) or -1 to stop with an error (in err). Returns 0 or -1. Runs
 * outside any transaction; fn must not write to the store.
 */
int	store_exec_pending(struct store *, int (*fn)(void *,
	    const struct store_exec_call *), void *arg, struct spool_error *);

/* Has message id an exec call running? 1, 0, -1. */
int	store_exec_is_pending(struct store *, int64_t id, struct spool_error *);

#endif
