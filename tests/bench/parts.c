/*
 * parts.c - what each step spoold cannot skip costs per message, on its
 * own, with spoold's own code (libspool, libhandlers): the parts list
 * behind bench-parts' lower bound for `spoold --once'.
 *
 * usage: parts SRCDIR SCHEMADIR WORKDIR
 *
 * bench-process compares spoold end to end against the floor of DESIGN
 * 14. Whether the ratio it asks for can be reached at all depends on
 * what the design makes spoold do per message, whatever the code around
 * it. Since issue 20 a message that is ready when it arrives takes one
 * pass: read the file, SHA-256 it, parse it, validate it against its
 * XSD, record it, apply it (one ledger row per posting line), mark it
 * done, all in acceptance's transaction, and rename it once, incoming/
 * to done/. This program times those steps one by one, each over all
 * messages, so that their sum is a floor under spoold's own figure for
 * messages that arrive in order. Steps, in the order run:
 *
 *   read        open, fstat, read (to EOF), close each regular file of
 *               SRCDIR, sorted by name (as spoold takes them), into a
 *               buffer of its size + 1 (as spoold's read_upload), kept
 *               for the other steps. The listing, a stat of each file
 *               (spoold's scan does both) and the buffers' first touch
 *               (spoold reuses freed memory) come before, untimed;
 *   sha256      digest_sha256() of each buffer;
 *   parse       msg_parse() + msg_free() of each buffer;
 *   validate    schema_validate() with the schemas of SCHEMADIR, for
 *               the type in the message's header; each message is
 *               parsed just before (untimed) and freed just after;
 *   store       the message's rows in a store of spoold's own schema
 *               (store_open() of WORKDIR/spool.db: every core migration,
 *               WAL, synchronous=FULL), with spoold's functions, as the
 *               one pass makes them: per message in processing order
 *               the sequencer's look-ups (seq_classify()), its
 *               transaction (store_tx_ensure(), when it has no row
 *               yet), a savepoint, its row written once, done
 *               (store_insert(), processed), the transaction moved on
 *               (seq_release()), the savepoint released; COMMIT every
 *               1024 messages (with the totals /metrics reads), on a
 *               connection opened as spoold's (STORE_ACCEPTING). The
 *               headers were noted by the validate step;
 *   ledger rows a posting's lines (<Line> of the Body) by multi-row
 *               INSERTs as the ledger handler writes them (one
 *               statement a posting of up to 32 lines, a time shared
 *               by its lines), into a
 *               table shaped like spoold's ledger_postings (migration 2
 *               in spool/store_schema.c: same columns and CHECKs, WITHOUT
 *               ROWID, PRIMARY KEY (message, line); no foreign key) in
 *               WORKDIR/ledger.db (WAL, synchronous=FULL, spoold's cache
 *               size), the statements prepared once, COMMIT every 1024
 *               messages. A message
 *               is keyed by its position in name order (spoold's IDs are
 *               given in that order) but written in (TransactionId,
 *               SenderSequence) order, the order spoold processes them
 *               in, so the B-tree gets keys out of order as spoold's
 *               does. The lines are read with spoold's handler code
 *               (handlers/xmlbody.c) beforehand, untimed;
 *   rename      rename each file from WORKDIR/a into WORKDIR/b in
 *               processing order, fsync b and a after every 1024 and at
 *               the end: the one pass's one move (incoming/ to done/).
 *               The files in a are copies of SRCDIR's that this program
 *               writes and syncs (syncfs) before the clock starts;
 *               SRCDIR is left as it was.
 *
 * WORKDIR must exist; a, b, spool.db and ledger.db in it must not. They
 * are left there for the caller to remove.
 *
 * Prints one line per step (total seconds, microseconds per message,
 * messages per second) and their sum, spoold's unavoidable minimum for
 * a message that is ready when it arrives (each step once). It is a
 * lower bound: the foreign key checks of the ledger rows, the
 * checkpoints of a larger store, the handler's walk over the posting
 * lines and the directory scans are left out. (Before issue 20 a
 * message was read, parsed and renamed twice.) Exits 0, or 1 with a
 * message on any error. Not run by make check; see README.md beside it.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <sqlite3.h>

#include "digest.h"
#include "error.h"
#include "message.h"
#include "schema.h"
#include "sequencer.h"
#include "spooldir.h"
#include "store.h"
#include "store_cycle.h"
#include "xmlbody.h"

#define BATCH		1024	/* spoold's batch_size: messages per COMMIT */
#define ACCOUNT_MAX	129	/* as the ledger handler's NAME_MAX_LEN */
/* Rows of one INSERT in the ledger step (the handler's go to 64). */
#define LEDGER_ROWS_MAX	32

enum step {
	S_READ,
	S_SHA256,
	S_PARSE,
	S_VALIDATE,
	S_STORE,
	S_LEDGER,
	S_RENAME,
	S_COUNT
};

static const char *step_name[S_COUNT] = {
	[S_READ] = "read",
	[S_SHA256] = "sha256",
	[S_PARSE] = "parse",
	[S_VALIDATE] = "validate",
	[S_STORE] = "store",
	[S_LEDGER] = "ledger rows",
	[S_RENAME] = "rename",
};

struct posting {
	char		*account;
	int64_t		 debit, credit;
};

struct file {
	char		*name;
	char		*buf;
	size_t		 cap, len;	/* of buf; of the file */
	char		*tx;		/* TransactionId; NULL: none */
	int64_t		 seq;		/* SenderSequence */
	char		*type;		/* the header's (store step) */
	char		*message_id;
	char		*sender;
	uint8_t		 sha[DIGEST_LEN];
	char		*currency;	/* NULL: none */
	size_t		 idx;		/* position in name order */
	size_t		 first, nlines;	/* in postings[] */
};

struct parts {
	struct file	 *files;	/* in name order */
	size_t		  nfiles;
	struct file	**order;	/* the same in processing order */
	struct posting	 *postings;	/* every message's, in name order */
	size_t		  npostings, cappostings;
	double		  secs[S_COUNT];	/* each step's total */
};

/* Say what failed and exit 1: a benchmark stops at its first error. */
static void
fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
fail(const char *fmt, ...)
{
	va_list ap;

	fputs("parts: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double
now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fail("clock_gettime: %s", strerror(errno));
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct file *)a)->name,
	    ((const struct file *)b)->name);
}

/* Messages with a transaction in (TransactionId, SenderSequence) order,
 * then those without one in name order. */
static int
by_tx_seq(const void *a, const void *b)
{
	const struct file *fa = *(const struct file *const *)a;
	const struct file *fb = *(const struct file *const *)b;
	int c;

	if (fa->tx == NULL || fb->tx == NULL) {
		if (fa->tx != NULL)
			return -1;
		if (fb->tx != NULL)
			return 1;
	} else {
		if ((c = strcmp(fa->tx, fb->tx)) != 0)
			return c;
		if (fa->seq != fb->seq)
			return fa->seq < fb->seq ? -1 : 1;
	}
	return fa->idx < fb->idx ? -1 : fa->idx > fb->idx;
}

static char *
xstrdup(const char *s)
{
	char *d;

	if ((d = strdup(s)) == NULL)
		fail("out of memory");
	return d;
}

static void
fsync_dir(int fd, const char *what)
{
	while (fsync(fd) == -1)
		if (errno != EINTR)
			fail("fsync %s: %s", what, strerror(errno));
}

static int
open_dir(int at, const char *path)
{
	int fd;

	if ((fd = openat(at, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		fail("open %s: %s", path, strerror(errno));
	return fd;
}

/*
 * The regular files of SRCDIR (dot files skipped), sorted by name, each
 * with a buffer of its size + 1, touched: spoold's scan stats every file
 * too, and reuses freed memory instead of faulting in new pages, so
 * neither belongs in "read". Untimed.
 */
static void
list_dir(struct parts *p, int dfd, const char *dir)
{
	struct dirent *de;
	struct file *f;
	struct stat st;
	size_t cap = 0, i;
	DIR *d;
	int fd;

	if ((fd = dup(dfd)) == -1 || (d = fdopendir(fd)) == NULL)
		fail("opendir %s: %s", dir, strerror(errno));
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			fail("stat %s/%s: %s", dir, de->d_name,
			    strerror(errno));
		if (!S_ISREG(st.st_mode))
			continue;
		if (p->nfiles == cap) {
			cap = cap != 0 ? cap * 2 : 1024;
			if ((f = realloc(p->files, cap * sizeof(*f))) == NULL)
				fail("out of memory");
			p->files = f;
		}
		f = &p->files[p->nfiles++];
		memset(f, 0, sizeof(*f));
		f->name = xstrdup(de->d_name);
		f->cap = (size_t)st.st_size + 1;
	}
	if (errno != 0)
		fail("readdir %s: %s", dir, strerror(errno));
	closedir(d);
	if (p->nfiles == 0)
		fail("%s holds no regular files", dir);
	qsort(p->files, p->nfiles, sizeof(*p->files), by_name);
	for (i = 0; i < p->nfiles; i++) {
		f = &p->files[i];
		f->idx = i;
		if ((f->buf = malloc(f->cap)) == NULL)
			fail("out of memory");
		memset(f->buf, 0, f->cap);
	}
}

/*
 * read: each file whole into its buffer, as spoold's read_upload reads an
 * upload: a buffer of its size + 1, read until EOF.
 */
static void
step_read(struct parts *p, int dfd, const char *dir)
{
	struct stat st;
	struct file *f;
	size_t i, off;
	ssize_t n;
	double t0;
	char *nb;
	int fd;

	t0 = now();
	for (i = 0; i < p->nfiles; i++) {
		f = &p->files[i];
		if ((fd = openat(dfd, f->name, O_RDONLY | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC)) == -1)
			fail("open %s/%s: %s", dir, f->name, strerror(errno));
		if (fstat(fd, &st) == -1)
			fail("fstat %s/%s: %s", dir, f->name, strerror(errno));
		if (!S_ISREG(st.st_mode))
			fail("%s/%s: not a regular file", dir, f->name);
		if ((size_t)st.st_size + 1 > f->cap) {
			f->cap = (size_t)st.st_size + 1;
			if ((nb = realloc(f->buf, f->cap)) == NULL)
				fail("out of memory");
			f->buf = nb;
		}
		off = 0;
		for (;;) {
			if (off == f->cap)
				fail("%s/%s grew while being read", dir,
				    f->name);
			n = read(fd, f->buf + off, f->cap - off);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1)
				fail("read %s/%s: %s", dir, f->name,
				    strerror(errno));
			if (n == 0)
				break;
			off += (size_t)n;
		}
		if (close(fd) == -1)
			fail("close %s/%s: %s", dir, f->name, strerror(errno));
		f->len = off;
	}
	p->secs[S_READ] = now() - t0;
}

static void
step_sha256(struct parts *p)
{
	uint8_t sha[DIGEST_LEN], sum = 0;
	size_t i;
	double t0;

	t0 = now();
	for (i = 0; i < p->nfiles; i++) {
		digest_sha256(p->files[i].buf, p->files[i].len, sha);
		sum ^= sha[0];
		memcpy(p->files[i].sha, sha, sizeof(sha));
	}
	p->secs[S_SHA256] = now() - t0;
	/* Use the digests, so that no compiler can drop the calls. */
	if (sum == 0 && p->nfiles == 0)
		fail("no digests");
}

static void
parse_or_fail(const struct file *f, struct msg *m)
{
	struct spool_error err;

	if (msg_parse(f->buf, f->len, m, &err) == -1)
		fail("%s: %s", f->name, err.msg);
}

static void
step_parse(struct parts *p)
{
	struct msg m;
	size_t i;
	double t0;

	t0 = now();
	for (i = 0; i < p->nfiles; i++) {
		parse_or_fail(&p->files[i], &m);
		msg_free(&m);
	}
	p->secs[S_PARSE] = now() - t0;
}

/* The posting lines of f's Body, with spoold's readers. Untimed. */
static void
extract_lines(struct parts *p, struct file *f, xmlDocPtr doc)
{
	char account[ACCOUNT_MAX], currency[16], reason[256];
	struct posting *ps;
	xmlNodePtr body, line;
	int64_t d, c;
	int hd, hc;

	if ((body = xb_body(doc)) == NULL)
		fail("%s: no Body", f->name);
	if (xb_text(body, "Currency", currency, sizeof(currency), reason,
	    sizeof(reason)) == -1)
		fail("%s: %s", f->name, reason);
	if (currency[0] != '\0')
		f->currency = xstrdup(currency);
	f->first = p->npostings;
	for (line = xb_child(body, "Line"); line != NULL;
	    line = xb_next(line, "Line")) {
		if (xb_text(line, "Account", account, sizeof(account), reason,
		    sizeof(reason)) != 1 || account[0] == '\0')
			fail("%s: posting line %zu has no Account", f->name,
			    p->npostings - f->first + 1);
		d = c = 0;
		if ((hd = xb_int64(line, "Debit", &d, reason,
		    sizeof(reason))) == -1 || (hc = xb_int64(line, "Credit",
		    &c, reason, sizeof(reason))) == -1)
			fail("%s: %s", f->name, reason);
		if (hd + hc != 1 || d < 0 || c < 0)
			fail("%s: posting line %zu needs one non-negative "
			    "Debit or Credit", f->name,
			    p->npostings - f->first + 1);
		if (p->npostings == p->cappostings) {
			p->cappostings = p->cappostings != 0 ?
			    p->cappostings * 2 : 65536;
			if ((ps = realloc(p->postings, p->cappostings *
			    sizeof(*ps))) == NULL)
				fail("out of memory");
			p->postings = ps;
		}
		ps = &p->postings[p->npostings++];
		ps->account = xstrdup(account);
		ps->debit = d;
		ps->credit = c;
	}
	f->nlines = p->npostings - f->first;
	if (f->nlines == 0)
		fail("%s: no posting Line", f->name);
}

/*
 * validate: each message parsed (untimed) right before, as at acceptance;
 * while its document is at hand its header and lines are noted for the
 * ledger step.
 */
static void
step_validate(struct parts *p, struct schema_set *set)
{
	struct spool_error err;
	struct file *f;
	struct msg m;
	size_t i;
	double t0, t = 0;

	for (i = 0; i < p->nfiles; i++) {
		f = &p->files[i];
		parse_or_fail(f, &m);
		if (!schema_set_has(set, m.hdr.type))
			fail("%s: no schema for type %s", f->name, m.hdr.type);
		t0 = now();
		if (schema_validate(set, m.hdr.type, m.doc, &err) == -1)
			fail("%s: %s", f->name, err.msg);
		t += now() - t0;
		if (m.hdr.transaction_id != NULL)
			f->tx = xstrdup(m.hdr.transaction_id);
		f->seq = m.hdr.sender_seq;
		f->type = xstrdup(m.hdr.type);
		f->sender = xstrdup(m.hdr.sender);
		if (m.hdr.message_id != NULL)
			f->message_id = xstrdup(m.hdr.message_id);
		extract_lines(p, f, m.doc);
		msg_free(&m);
	}
	p->secs[S_VALIDATE] = t;
}

/* The processing order: spoold takes a transaction's messages in
 * sequence order. */
static void
sort_order(struct parts *p)
{
	size_t i;

	if ((p->order = malloc(p->nfiles * sizeof(*p->order))) == NULL)
		fail("out of memory");
	for (i = 0; i < p->nfiles; i++)
		p->order[i] = &p->files[i];
	qsort(p->order, p->nfiles, sizeof(*p->order), by_tx_seq);
}

static void
sql_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail("%s: %s", sql, msg != NULL ? msg : sqlite3_errmsg(db));
}

/*
 * store: what the one pass writes in the store for a message that is
 * ready when it arrives, with spoold's own functions.
 */
static void
step_store(struct parts *p, const char *path)
{
	struct spool_error err;
	struct store_newmsg nm;
	struct store_work next;
	struct seq_result r;
	struct msg_header h;
	struct store s;
	const struct file *f;
	char name[64];
	int64_t id;
	size_t i;
	double t0;
	int rc;

	/* As spoold's own connection (no check or count triggers). */
	if (store_open(&s, path, STORE_CREATE | STORE_ACCEPTING, &err) == -1)
		fail("%s", err.msg);
	t0 = now();
	for (i = 0; i < p->nfiles; i++) {
		f = p->order[i];
		if (i % BATCH == 0 && store_begin(&s, &err) == -1)
			fail("%s", err.msg);
		memset(&h, 0, sizeof(h));
		h.type = f->type;
		h.message_id = f->message_id;
		h.sender = f->sender;
		h.transaction_id = f->tx;
		h.sender_seq = f->seq;
		if (seq_classify(&s, "acme", &h, f->sha, &r, &err) == -1)
			fail("%s: %s", f->name, err.msg);
		if (f->tx != NULL && !r.tx_found && store_tx_ensure(&s,
		    "acme", f->tx, &err) == -1)
			fail("%s: %s", f->name, err.msg);
		memset(&nm, 0, sizeof(nm));
		snprintf(name, sizeof(name), "m%zu.xml", f->idx + 1);
		nm.partner = "acme";
		nm.orig_name = f->name;
		nm.file_name = name;
		/* Applied as it is accepted: written once, done. */
		nm.state = ST_DONE;
		nm.processed = true;
		nm.type = f->type;
		nm.message_id = f->message_id;
		nm.sender = f->sender;
		nm.recipient = "ERP";
		nm.transaction_id = f->tx;
		nm.sender_seq = f->seq;
		nm.sha256 = f->sha;
		nm.size = (int64_t)f->len;
		rc = 0;
		if (store_savepoint(&s, "spoold_msg", &err) == -1 ||
		    store_insert(&s, &nm, &id, &err) == -1 ||
		    (f->tx != NULL && (rc = seq_release(&s, "acme", f->tx,
		    f->seq, &next, &err)) == -1) ||
		    store_release(&s, "spoold_msg", &err) == -1)
			fail("%s: %s", f->name, err.msg);
		if (rc == 1)
			store_work_free(&next);
		if ((i % BATCH == BATCH - 1 || i == p->nfiles - 1) &&
		    store_commit(&s, &err) == -1)
			fail("%s", err.msg);
	}
	p->secs[S_STORE] = now() - t0;
	store_close(&s);
}

/* A multi-row INSERT of n rows into ledger_postings, as the ledger's. */
static sqlite3_stmt *
ledger_stmt(sqlite3 *db, sqlite3_stmt **cache, size_t n)
{
	char sql[64 + LEDGER_ROWS_MAX * 48];
	size_t k, off;

	if (cache[n] != NULL)
		return cache[n];
	off = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO ledger_postings "
	    "(message, line, account, debit, credit, currency, at) VALUES ");
	for (k = 0; k < n; k++)
		off += (size_t)snprintf(sql + off, sizeof(sql) - off,
		    "%s(?%zu, ?%zu, ?%zu, ?%zu, ?%zu, ?%zu, ?%zu)",
		    k > 0 ? ", " : "", 7 * k + 1, 7 * k + 2, 7 * k + 3,
		    7 * k + 4, 7 * k + 5, 7 * k + 6, 7 * k + 7);
	if (sqlite3_prepare_v2(db, sql, -1, &cache[n], NULL) != SQLITE_OK)
		fail("prepare: %s", sqlite3_errmsg(db));
	return cache[n];
}

/*
 * ledger rows: as the ledger handler writes a FinancialPosting: a
 * posting's lines by multi-row INSERTs (at most LEDGER_ROWS_MAX rows a
 * statement, one statement a posting below that), bound without copies,
 * one time for all its lines.
 */
static void
step_ledger(struct parts *p, const char *path)
{
	const struct file *f;
	const struct posting *ps;
	sqlite3_stmt *cache[LEDGER_ROWS_MAX + 1] = { NULL }, *st;
	sqlite3 *db = NULL;
	size_t i, l, k, n;
	sqlite3_int64 at;
	double t0;
	int c;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
		fail("open %s: %s", path, db != NULL ? sqlite3_errmsg(db) :
		    "out of memory");
	/* spoold's settings (spool/store.c), but no foreign keys. */
	sql_exec(db, "PRAGMA journal_mode=WAL");
	sql_exec(db, "PRAGMA synchronous=FULL; PRAGMA cache_size=-16384; "
	    "PRAGMA temp_store=MEMORY");
	sql_exec(db, "CREATE TABLE ledger_postings ("
	    "  message INTEGER NOT NULL,"
	    "  line INTEGER NOT NULL,"
	    "  account TEXT NOT NULL,"
	    "  debit INTEGER NOT NULL DEFAULT 0 CHECK (debit >= 0),"
	    "  credit INTEGER NOT NULL DEFAULT 0 CHECK (credit >= 0),"
	    "  currency TEXT,"
	    "  at INTEGER NOT NULL,"
	    "  PRIMARY KEY (message, line)"
	    ") WITHOUT ROWID");

	t0 = now();
	for (i = 0; i < p->nfiles; i++) {
		if (i % BATCH == 0)
			sql_exec(db, "BEGIN");
		f = p->order[i];
		at = store_now_ms();
		for (l = 0; l < f->nlines; l += n) {
			n = f->nlines - l;
			if (n > LEDGER_ROWS_MAX)
				n = LEDGER_ROWS_MAX;
			st = ledger_stmt(db, cache, n);
			for (k = 0; k < n; k++) {
				ps = &p->postings[f->first + l + k];
				c = (int)(7 * k);
				sqlite3_bind_int64(st, c + 1,
				    (sqlite3_int64)f->idx + 1);
				sqlite3_bind_int(st, c + 2, (int)(l + k) + 1);
				sqlite3_bind_text(st, c + 3, ps->account, -1,
				    SQLITE_STATIC);
				sqlite3_bind_int64(st, c + 4, ps->debit);
				sqlite3_bind_int64(st, c + 5, ps->credit);
				if (f->currency != NULL)
					sqlite3_bind_text(st, c + 6,
					    f->currency, -1, SQLITE_STATIC);
				sqlite3_bind_int64(st, c + 7, at);
			}
			if (sqlite3_step(st) != SQLITE_DONE)
				fail("insert lines of %s: %s", f->name,
				    sqlite3_errmsg(db));
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
		}
		if (i % BATCH == BATCH - 1 || i == p->nfiles - 1)
			sql_exec(db, "COMMIT");
	}
	p->secs[S_LEDGER] = now() - t0;

	for (n = 0; n <= LEDGER_ROWS_MAX; n++)
		sqlite3_finalize(cache[n]);
	if (sqlite3_close(db) != SQLITE_OK)
		fail("close %s: %s", path, sqlite3_errmsg(db));
}

/* The copies in WORKDIR/a that the renames move, on disk. Untimed. */
static void
write_copies(struct parts *p, int wfd, int afd)
{
	const struct file *f;
	size_t i, off;
	ssize_t n;
	int fd;

	for (i = 0; i < p->nfiles; i++) {
		f = &p->files[i];
		if ((fd = openat(afd, f->name, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0644)) == -1)
			fail("create a/%s: %s", f->name, strerror(errno));
		for (off = 0; off < f->len; off += (size_t)n) {
			n = write(fd, f->buf + off, f->len - off);
			if (n == -1 && errno == EINTR) {
				n = 0;
				continue;
			}
			if (n == -1)
				fail("write a/%s: %s", f->name,
				    strerror(errno));
		}
		if (close(fd) == -1)
			fail("close a/%s: %s", f->name, strerror(errno));
	}
#ifdef HAVE_SYNCFS
	if (syncfs(wfd) == -1)
		fail("syncfs: %s", strerror(errno));
#else
	(void)wfd;
	sync();
#endif
}

/* Move every file from fromfd to tofd in name order, or in processing
 * order, fsyncing both directories after every BATCH and at the end. */
static void
move_all(struct parts *p, int fromfd, int tofd, const char *from,
    const char *to, int processing)
{
	const char *name;
	size_t i;

	for (i = 0; i < p->nfiles; i++) {
		name = processing ? p->order[i]->name : p->files[i].name;
		if (renameat(fromfd, name, tofd, name) == -1)
			fail("rename %s/%s to %s/: %s", from, name, to,
			    strerror(errno));
		if (i % BATCH == BATCH - 1 || i == p->nfiles - 1) {
			fsync_dir(tofd, to);
			fsync_dir(fromfd, from);
		}
	}
}

static void
step_rename(struct parts *p, int wfd)
{
	int afd, bfd;
	double t0;

	if (mkdirat(wfd, "a", 0755) == -1 || mkdirat(wfd, "b", 0755) == -1)
		fail("mkdir in WORKDIR: %s (a and b must not exist)",
		    strerror(errno));
	afd = open_dir(wfd, "a");
	bfd = open_dir(wfd, "b");
	write_copies(p, wfd, afd);
	fsync_dir(wfd, "WORKDIR");

	t0 = now();
	move_all(p, afd, bfd, "a", "b", 1);
	p->secs[S_RENAME] = now() - t0;

	close(afd);
	close(bfd);
}

static void
print_line(const char *name, double total, double us)
{
	printf("%-12s %10.3f %10.2f %10.0f\n", name, total, us,
	    us > 0 ? 1e6 / us : 0);
}

static void
report(const struct parts *p)
{
	double us, n = (double)p->nfiles, sum = 0;
	size_t i, bytes = 0;
	int s;

	for (i = 0; i < p->nfiles; i++)
		bytes += p->files[i].len;
	printf("parts: %zu messages, %zu bytes, %zu posting lines\n",
	    p->nfiles, bytes, p->npostings);
	printf("%-12s %10s %10s %10s\n", "step", "total_s", "us/msg",
	    "msgs/s");
	for (s = 0; s < S_COUNT; s++) {
		us = p->secs[s] * 1e6 / n;
		sum += us;
		print_line(step_name[s], p->secs[s], us);
	}
	print_line("minimum", sum * n / 1e6, sum);
	printf("(minimum: each step once, the one pass of a message ready "
	    "when it arrives)\n");
	if (fflush(stdout) == EOF || ferror(stdout))
		fail("stdout: %s", strerror(errno));
}

static void
parts_free(struct parts *p)
{
	size_t i;

	for (i = 0; i < p->nfiles; i++) {
		free(p->files[i].name);
		free(p->files[i].buf);
		free(p->files[i].tx);
		free(p->files[i].currency);
		free(p->files[i].type);
		free(p->files[i].message_id);
		free(p->files[i].sender);
	}
	for (i = 0; i < p->npostings; i++)
		free(p->postings[i].account);
	free(p->files);
	free(p->postings);
	free(p->order);
}

int
main(int argc, char *argv[])
{
	struct spool_error err;
	struct schema_set *set;
	struct parts p;
	char path[4096], spath[4096];
	int sfd, wfd;

	if (argc != 4) {
		fprintf(stderr, "usage: parts SRCDIR SCHEMADIR WORKDIR\n");
		return 1;
	}
	memset(&p, 0, sizeof(p));
	xmlInitParser();
	if ((set = schema_set_load(argv[2], &err)) == NULL)
		fail("%s", err.msg);
	sfd = open_dir(AT_FDCWD, argv[1]);
	wfd = open_dir(AT_FDCWD, argv[3]);
	if ((size_t)snprintf(path, sizeof(path), "%s/ledger.db", argv[3]) >=
	    sizeof(path))
		fail("%s: path too long", argv[3]);
	if (access(path, F_OK) == 0)
		fail("%s exists", path);
	if ((size_t)snprintf(spath, sizeof(spath), "%s/spool.db", argv[3]) >=
	    sizeof(spath))
		fail("%s: path too long", argv[3]);
	if (access(spath, F_OK) == 0)
		fail("%s exists", spath);

	list_dir(&p, sfd, argv[1]);
	step_read(&p, sfd, argv[1]);
	step_sha256(&p);
	step_parse(&p);
	step_validate(&p, set);
	sort_order(&p);
	step_store(&p, spath);
	step_ledger(&p, path);
	step_rename(&p, wfd);
	report(&p);

	parts_free(&p);
	schema_set_free(set);
	close(sfd);
	close(wfd);
	return 0;
}
