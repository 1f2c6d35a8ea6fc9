/*
 * store_mem.c - SQLite's memory, counted without a lock (issue 20, item
 * 4).
 *
 * SQLite counts what it holds (the high-water mark that spoold's exit
 * line reports as store_peak_kb) under one global mutex, taken by every
 * malloc and every free it does. Debian's libsqlite3 is built without
 * lookaside memory (SQLITE_OMIT_LOOKASIDE), so every record a statement
 * builds or reads is a malloc and a free: about a hundred of each per
 * message, and the mutex alone about 3% of what a message cost the
 * store thread. Here SQLite's own count is switched off
 * (SQLITE_CONFIG_MEMSTATUS) and its allocations go through the system
 * allocator by a thin layer that keeps the bytes held and their peak in
 * atomic counters instead; store_mem_peak() reads them. The layer is
 * installed once per process, before SQLite's first use (the first
 * store_open()); if SQLite was already in use, nothing changes and
 * SQLite's own count stays.
 *
 * Each block carries its size in 8 bytes before it, as SQLite's own
 * system allocator does (8-byte alignment, which is what SQLite needs).
 * Crash safety: nothing here is on disk.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "store.h"

static _Atomic int64_t	mem_held, mem_peak;
static atomic_bool	mem_ours;
static pthread_once_t	mem_once = PTHREAD_ONCE_INIT;

static void
held_add(int64_t n)
{
	int64_t now = atomic_fetch_add_explicit(&mem_held, n,
	    memory_order_relaxed) + n;
	int64_t peak = atomic_load_explicit(&mem_peak, memory_order_relaxed);

	while (now > peak && !atomic_compare_exchange_weak_explicit(
	    &mem_peak, &peak, now, memory_order_relaxed,
	    memory_order_relaxed))
		;
}

static void *
mem_malloc(int n)
{
	int64_t *p;

	if (n <= 0 || (p = malloc((size_t)n + sizeof(*p))) == NULL)
		return NULL;
	p[0] = n;
	held_add(n);
	return p + 1;
}

static void
mem_free(void *v)
{
	int64_t *p;

	if (v == NULL)
		return;
	p = (int64_t *)v - 1;
	atomic_fetch_sub_explicit(&mem_held, p[0], memory_order_relaxed);
	free(p);
}

static void *
mem_realloc(void *v, int n)
{
	int64_t *p, old;

	if (v == NULL)
		return mem_malloc(n);
	if (n <= 0)
		return NULL;
	p = (int64_t *)v - 1;
	old = p[0];
	if ((p = realloc(p, (size_t)n + sizeof(*p))) == NULL)
		return NULL;
	p[0] = n;
	held_add(n - old);
	return p + 1;
}

static int
mem_size(void *v)
{
	return v == NULL ? 0 : (int)((int64_t *)v)[-1];
}

static int
mem_roundup(int n)
{
	return (n + 7) & ~7;
}

static int
mem_init(void *arg)
{
	(void)arg;
	return SQLITE_OK;
}

static void
mem_shutdown(void *arg)
{
	(void)arg;
}

static void
mem_install(void)
{
	static const sqlite3_mem_methods m = {
		mem_malloc, mem_free, mem_realloc, mem_size, mem_roundup,
		mem_init, mem_shutdown, NULL
	};

	/* Refused (SQLITE_MISUSE) once SQLite is in use: then its own. */
	if (sqlite3_config(SQLITE_CONFIG_MALLOC, &m) != SQLITE_OK)
		return;
	if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
		return;
	atomic_store(&mem_ours, true);
}

void
store_mem_init(void)
{
	(void)pthread_once(&mem_once, mem_install);
}

bool
store_mem_ours(sqlite3_int64 *peak)
{
	if (!atomic_load(&mem_ours))
		return false;
	*peak = atomic_load_explicit(&mem_peak, memory_order_relaxed);
	return true;
}
