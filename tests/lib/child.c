/*
 * child.c - spawn tests/tracked_child and talk to it line by line.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "paths.h"

static int read_reply(struct child *c)
{
	size_t n = 0;

	while (n + 1 < sizeof(c->reply)) {
		ssize_t r = read(c->from, c->reply + n, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			c->reply[n] = '\0';
			return -EPIPE;
		}
		if (c->reply[n] == '\n')
			break;
		n++;
	}
	c->reply[n] = '\0';
	return 0;
}

int child_spawn(struct child *c)
{
	const char *path = test_tracked_child();
	int in[2], out[2];

	memset(c, 0, sizeof(*c));
	c->to = c->from = -1;
	if (pipe2(in, O_CLOEXEC))
		return -errno;
	if (pipe2(out, O_CLOEXEC)) {
		close(in[0]);
		close(in[1]);
		return -errno;
	}
	c->pid = fork();
	if (c->pid < 0) {
		int ret = -errno;

		for (int i = 0; i < 2; i++) {
			close(in[i]);
			close(out[i]);
		}
		return ret;
	}
	if (c->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(in[0], 0);
		dup2(out[1], 1);
		execl(path, path, (char *)NULL);
		fprintf(stderr, "cannot run %s: %s (build it with make, or set "
			"COLO_TRACKED_CHILD)\n", path, strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->to = in[1];
	c->from = out[0];
	if (read_reply(c) || strncmp(c->reply, "ready ", 6) != 0) {
		fprintf(stderr, "tracked child did not start: '%s'\n", c->reply);
		child_kill(c);
		return -EIO;
	}
	c->uffd = atoi(c->reply + 6);
	return 0;
}

int child_cmd(struct child *c, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 1)
		return -EINVAL;
	line[n++] = '\n';
	if (write(c->to, line, (size_t)n) != n)
		return -EPIPE;
	if (read_reply(c))
		return -EPIPE;
	return strncmp(c->reply, "ok", 2) == 0 ? 0 : -EIO;
}

uint64_t child_reply_addr(const struct child *c)
{
	return strtoull(c->reply + 2, NULL, 16);
}

int child_freeze(struct child *c)
{
	int status;

	if (c->frozen)
		return 0;
	if (kill(c->pid, SIGSTOP))
		return -errno;
	if (waitpid(c->pid, &status, WUNTRACED) != c->pid)
		return -errno;
	if (!WIFSTOPPED(status))
		return -ECHILD;
	c->frozen = 1;
	return 0;
}

int child_thaw(struct child *c)
{
	if (kill(c->pid, SIGCONT))
		return -errno;
	c->frozen = 0;
	return 0;
}

void child_kill(struct child *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		c->pid = 0;
	}
	if (c->to >= 0)
		close(c->to);
	if (c->from >= 0)
		close(c->from);
	c->to = c->from = -1;
}
