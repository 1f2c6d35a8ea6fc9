/*
 * exec_store.h - the exec handler's table: its calls (DESIGN 7), a
 * component of the store (exec_component).
 *
 * A call is written pending by the handler's apply (exec_call_start), in
 * the cycle's transaction that makes its message wait, and made valid or
 * invalid by exec_call_record, which cycle_complete() calls through
 * handler_external in the transaction that records the outcome. The
 * handler's exec_calls (exec.c) list the pending calls (exec_pending).
 */
#ifndef HANDLERS_EXEC_STORE_H
#define HANDLERS_EXEC_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

extern const struct store_component exec_component;

/* One pending call and its message. The strings live until fn returns. */
struct exec_pending_call {
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
	const char	*dialect;	/* DESIGN 15; NULL: native */
	bool		 test;		/* from a test interchange */
};

/*
 * Call fn for each pending call whose message is still in queue/ or
 * deferred/, oldest call first. fn returns 0 to go on, 1 to stop (not an
 * error) or -1 to stop with an error (in err). Returns 0 or -1. Runs
 * outside any transaction; fn must not write to the store.
 */
int	exec_pending(struct store *, int (*fn)(void *,
	    const struct exec_pending_call *), void *arg, struct spool_error *);

/* The call of this attempt of message id is pending. 0, -1. */
int	exec_call_start(struct store *, int64_t id, int attempt,
	    struct spool_error *);

/* cycle_record_fn (arg unused): the call's end, valid when ok. */
int	exec_call_record(void *arg, struct store *, int64_t id, int attempt,
	    bool ok, int exit_status, const char *error, struct spool_error *);

#endif
