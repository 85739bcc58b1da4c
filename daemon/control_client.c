/*
 * control_client.c - coloctl's side of the control socket: one request
 * line, one answer ("ok" or "error", then text), within a timeout.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define LOG_PREFIX "control: "
#include "log.h"
#include "clock.h"
#include "control.h"

/* A connected socket to the daemon at path, or a negative errno (said).
 * A connect waits while the daemon's queue of connections is full (a
 * flood of clients, or a stalled daemon): not past the timeout. */
static int connect_daemon(const char *path, int timeout_ms)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval wait = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	int fd, ret = control_socket_address(path, &sun);

	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && timeout_ms > 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof(wait));
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	ret = -errno;
	if (ret == -EAGAIN)
		pr_err("the daemon on %s took no connection within %d ms: its "
		       "queue of connections is full (a flood of clients? a "
		       "stalled daemon?); see its log", path, timeout_ms);
	else
		pr_err("no daemon answers on %s: %s; is it running (coloctl "
		       "start-primary / start-secondary), and is this the "
		       "[control] socket of its colo.conf?", path,
		       strerror(-ret));
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Everything the daemon writes until it closes, by the deadline, into
 * *buf (malloc'ed, NUL-terminated). 0 or a negative errno (said). */
static int read_answer(int fd, const char *path, const char *line,
		       int timeout_ms, char **buf)
{
	int64_t deadline = colo_now_ms() + timeout_ms;
	size_t len = 0, cap = 4096;
	char *b = malloc(cap);

	*buf = NULL;
	if (!b)
		return -ENOMEM;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - colo_now_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
			pr_err("the daemon on %s did not answer '%s' within %d ms",
			       path, line, timeout_ms);
			free(b);
			return -ETIMEDOUT;
		}
		if (cap - len < 1024) {
			char *more = realloc(b, cap * 2);

			if (!more) {
				free(b);
				return -ENOMEM;
			}
			b = more;
			cap *= 2;
		}
		n = read(fd, b + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != ECONNRESET) {
			int ret = -errno;

			pr_err("cannot read the answer of the daemon on %s: %s",
			       path, strerror(errno));
			free(b);
			return ret;
		}
		if (n <= 0)
			break;		/* the answer is whole */
		len += (size_t)n;
	}
	b[len] = '\0';
	*buf = b;
	return 0;
}

int control_request(const char *path, const char *line, int timeout_ms,
		    char **reply)
{
	int fd, ret, send_err = 0;
	char *buf = NULL, *nl;

	*reply = NULL;
	fd = connect_daemon(path, timeout_ms);
	if (fd < 0)
		return fd;
	/* MSG_NOSIGNAL: a daemon that just went away is an answer (no
	 * daemon), not a SIGPIPE. One that closed at once may have said
	 * why (too many clients): its answer is read all the same. */
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) != (ssize_t)strlen(line) ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) != 1)
		send_err = errno ? errno : EIO;
	ret = read_answer(fd, path, line, timeout_ms, &buf);
	close(fd);
	if (ret)
		return ret;
	nl = strchr(buf, '\n');
	if (!nl && send_err) {
		ret = -send_err;
		pr_err("no daemon answers on %s: it closed the connection (%s)",
		       path, strerror(send_err));
	} else if (!nl) {
		/* it stopped or died with our request: no daemon now */
		ret = -ECONNRESET;
		pr_err("no daemon answers on %s: it closed the connection "
		       "before answering '%s' (did it stop? see its log)", path,
		       line);
	} else {
		*nl = '\0';
		ret = strcmp(buf, "ok") == 0 ? 0 : -EREMOTEIO;
		*reply = strdup(nl + 1);
	}
	free(buf);
	return ret;
}
