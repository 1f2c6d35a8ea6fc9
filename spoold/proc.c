/*
 * proc.c - running a program, whatever it is for: posix_spawnp into a
 * process group of its own, signals to that group, and the tail of its
 * stderr, kept in a fixed buffer (a flood costs CPU, never memory) and
 * turned into a one-line reason. The caller (execq.c) watches the
 * program's end and its stderr pipe in the daemon's epoll.
 *
 * Crash safety: nothing here is durable; a program spawned here whose
 * spoold dies runs on, and its caller's records (a pending exec call)
 * make it run again after the restart.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

int
proc_above_stdio(int *fd)
{
	int nfd;

	if (*fd > 2)
		return 0;
	if ((nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 3)) == -1)
		return -1;
	(void)close(*fd);
	*fd = nfd;
	return 0;
}

int
proc_spawn(pid_t *pid, char *const argv[], char *const envp[], int in,
    int err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	int rc;

	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		return rc;
	if ((rc = posix_spawnattr_init(&at)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return rc;
	}
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGHUP);
	sigaddset(&dfl, SIGCHLD);
	if ((rc = posix_spawn_file_actions_adddup2(&fa, in, 0)) != 0 ||
	    (rc = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null",
	    O_WRONLY, 0)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, err, 2)) != 0)
		goto out;
#if defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 34)
	/* Whatever was inherited without FD_CLOEXEC stays with us. */
	if ((rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0)
		goto out;
#endif
#endif
	if ((rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) != 0 ||
	    (rc = posix_spawnattr_setpgroup(&at, 0)) != 0 ||
	    (rc = posix_spawnattr_setsigmask(&at, &none)) != 0 ||
	    (rc = posix_spawnattr_setsigdefault(&at, &dfl)) != 0)
		goto out;
	rc = posix_spawnp(pid, argv[0], &fa, &at, argv, envp);
out:
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

void
proc_signal_group(pid_t pid, int sig)
{
	if (kill(-pid, sig) == -1 && errno == ESRCH)
		(void)kill(pid, sig);
}

void
proc_tail_keep(struct proc_tail *j, const char *b, size_t n)
{
	size_t drop;

	if (n >= PROC_TAIL_MAX) {
		if (n > PROC_TAIL_MAX || j->len > 0)
			j->cut = true;
		memcpy(j->tail, b + n - PROC_TAIL_MAX, PROC_TAIL_MAX);
		j->len = PROC_TAIL_MAX;
		return;
	}
	if (j->len + n > PROC_TAIL_MAX) {
		drop = j->len + n - PROC_TAIL_MAX;
		memmove(j->tail, j->tail + drop, j->len - drop);
		j->len -= drop;
		j->cut = true;
	}
	memcpy(j->tail + j->len, b, n);
	j->len += n;
}

/* Append one byte of stderr to out, escaped if it is a control byte. */
static size_t
esc_byte(char *out, size_t o, size_t len, unsigned char c)
{
	if (c < ' ' || c == 0x7f) {
		if (o + 4 < len)
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", c);
	} else if (o + 1 < len)
		out[o++] = (char)c;
	return o;
}

/* out = prefix + src, cut to len - 1 bytes. */
static void
copy_out(char *out, size_t len, const char *prefix, const char *src)
{
	size_t p = strlen(prefix), n = strlen(src);

	if (len == 0)
		return;
	if (p > len - 1)
		p = len - 1;
	memcpy(out, prefix, p);
	if (n > len - 1 - p)
		n = len - 1 - p;
	memcpy(out + p, src, n);
	out[p + n] = '\0';
}

void
proc_tail_reason(const struct proc_tail *j, size_t most, char *out,
    size_t len)
{
	char esc[PROC_TAIL_MAX * 4 + PROC_TAIL_MAX / 2 * 3 + 1];
	const char *t = j->tail, *end = j->tail + j->len, *a, *b, *nl;
	size_t o = 0, start;

	out[0] = '\0';
	/* A line cut at the front is not one to quote, if there are others. */
	if (j->cut && (nl = memchr(t, '\n', j->len)) != NULL &&
	    nl + 1 < end)
		t = nl + 1;
	for (a = t; a < end; a = b + 1) {
		if ((b = memchr(a, '\n', (size_t)(end - a))) == NULL)
			b = end;
		nl = b;
		while (a < nl && (*a == ' ' || *a == '\t' || *a == '\r'))
			a++;
		while (nl > a && (nl[-1] == ' ' || nl[-1] == '\t' ||
		    nl[-1] == '\r'))
			nl--;
		if (a == nl)
			continue;
		if (o > 0 && o + 3 < sizeof(esc)) {
			memcpy(esc + o, " | ", 3);
			o += 3;
		}
		for (; a < nl; a++)
			o = esc_byte(esc, o, sizeof(esc), (unsigned char)*a);
	}
	esc[o] = '\0';
	if (o == 0)
		return;
	if (o <= most) {
		copy_out(out, len, "", esc);
		return;
	}
	/* Whole lines from the end, if the last ones fit. */
	start = o - most;
	if ((a = strstr(esc + start, " | ")) != NULL)
		copy_out(out, len, "", a + 3);
	else {
		/* Not inside a UTF-8 sequence. */
		while (((unsigned char)esc[start] & 0xc0) == 0x80)
			start++;
		copy_out(out, len, "...", esc + start);
	}
}
