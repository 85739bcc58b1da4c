/*
 * control.c - the control socket: one command line in, one answer out.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/listener.h>

#define LOG_PREFIX "control: "
#include "log.h"
#include "clock.h"
#include "control.h"

#define CONTROL_MAX_LINE	4096

struct control {
	struct evconnlistener *listener;
	char path[108];
	control_handler_fn fn;
	void *opaque;
};

static void client_written(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);		/* answer sent: done */
}

static void client_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	bufferevent_free(bev);
}

static void client_read(struct bufferevent *bev, void *arg)
{
	struct control *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *reply = evbuffer_new();
	char *line = evbuffer_readln(in, NULL, EVBUFFER_EOL_LF);
	char *argv[CONTROL_MAX_ARGS + 1], *save, *w;
	int argc = 0, ret;

	if (!line) {
		if (evbuffer_get_length(in) > CONTROL_MAX_LINE) {
			pr_warn("dropping a control client: no command line in "
				"%d bytes", CONTROL_MAX_LINE);
			bufferevent_free(bev);
		}
		evbuffer_free(reply);
		return;
	}
	for (w = strtok_r(line, " \t\r", &save); w && argc < CONTROL_MAX_ARGS;
	     w = strtok_r(NULL, " \t\r", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	if (!reply) {
		free(line);
		bufferevent_free(bev);
		return;
	}
	ret = argc ? c->fn(c->opaque, argc, argv, reply) : -EINVAL;
	if (!argc)
		evbuffer_add_printf(reply, "empty command; try 'status'\n");
	evbuffer_add_printf(bufferevent_get_output(bev), "%s\n",
			    ret ? "error" : "ok");
	evbuffer_add_buffer(bufferevent_get_output(bev), reply);
	evbuffer_free(reply);
	free(line);
	bufferevent_disable(bev, EV_READ);
	bufferevent_setcb(bev, NULL, client_written, client_event, c);
	bufferevent_enable(bev, EV_WRITE);
}

static void accepted(struct evconnlistener *l, evutil_socket_t fd,
		     struct sockaddr *sa, int socklen, void *arg)
{
	struct event_base *base = evconnlistener_get_base(l);
	struct bufferevent *bev = bufferevent_socket_new(base, fd,
							 BEV_OPT_CLOSE_ON_FREE);
	struct timeval tv = { 10, 0 };

	(void)sa;
	(void)socklen;
	if (!bev) {
		close(fd);
		return;
	}
	bufferevent_setcb(bev, client_read, NULL, client_event, arg);
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ);
}

static int make_dir(const char *path)
{
	char dir[108], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(dir, 0755);
		*p = '/';
	}
	if (mkdir(dir, 0755) && errno != EEXIST) {
		pr_err("cannot create %s for the control socket: %s", dir,
		       strerror(errno));
		return -errno;
	}
	return 0;
}

/* Is a daemon listening on path? */
static int socket_alive(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int alive;

	if (fd < 0)
		return 0;
	alive = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return alive;
}

int control_open(struct control **out, struct event_base *base,
		 const char *path, control_handler_fn fn, void *opaque)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct control *c;
	int ret;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		pr_err("control socket path %s is too long", path);
		return -ENAMETOOLONG;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ret = make_dir(path);
	if (ret)
		return ret;
	if (socket_alive(&sun)) {
		pr_err("another daemon listens on %s; stop it, or give this "
		       "one another [control] socket", path);
		return -EADDRINUSE;
	}
	unlink(path);		/* a stale one, from a daemon that died */
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->listener = evconnlistener_new_bind(base, accepted, c,
			LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
			(struct sockaddr *)&sun, sizeof(sun));
	if (!c->listener) {
		ret = -errno;
		pr_err("cannot listen on %s: %s", path, strerror(errno));
		free(c);
		return ret ? ret : -EIO;
	}
	chmod(path, 0600);
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->fn = fn;
	c->opaque = opaque;
	*out = c;
	return 0;
}

void control_close(struct control *c)
{
	if (!c)
		return;
	evconnlistener_free(c->listener);
	unlink(c->path);
	free(c);
}

int control_request(const char *path, const char *line, int timeout_ms,
		    char **reply)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int64_t deadline = colo_now_ms() + timeout_ms;
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *nl;
	int fd, ret = 0;

	*reply = NULL;
	if (!buf)
		return -ENOMEM;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		ret = -errno;
		pr_err("no daemon answers on %s: %s; is it running (coloctl "
		       "start-primary / start-secondary), and is this the "
		       "[control] socket of its colo.conf?", path,
		       strerror(errno));
		goto out;
	}
	/* MSG_NOSIGNAL: a daemon that just went away is an answer (no
	 * daemon), not a SIGPIPE */
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) != (ssize_t)strlen(line) ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		ret = -errno;
		pr_err("no daemon answers on %s: it closed the connection (%s)",
		       path, strerror(errno));
		goto out;
	}
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - colo_now_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
			ret = -ETIMEDOUT;
			pr_err("the daemon on %s did not answer '%s' within %d ms",
			       path, line, timeout_ms);
			goto out;
		}
		if (cap - len < 1024) {
			char *b = realloc(buf, cap * 2);

			if (!b) {
				ret = -ENOMEM;
				goto out;
			}
			buf = b;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	nl = strchr(buf, '\n');
	if (!nl) {
		ret = -EPROTO;
		pr_err("the daemon on %s closed without answering", path);
		goto out;
	}
	*nl = '\0';
	ret = strcmp(buf, "ok") == 0 ? 0 : -EREMOTEIO;
	*reply = strdup(nl + 1);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}
