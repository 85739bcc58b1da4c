/*
 * kv_host.c - the engine's loopback server and redis-server, for the
 * kvstore tests (see kv_host.h).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kv_host.h"

#define HOST_MAX_CONNS	512		/* the server's table */
#define HOST_READ	(16u << 10)	/* one read, as Redis's PROTO_IOBUF_LEN */
#define REDIS_WAIT_MS	10000		/* redis-server answers in ms; far more */
#define REDIS_TRIES	5		/* ports tried, a race lost each time */

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int kv_host_connect(uint16_t port)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* A listening socket on a free loopback port; its fd, port in *port. */
static int listen_any(uint16_t *port)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t salen = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &salen) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* --- the engine's server (in the child) ---------------------------------- */

struct host_conn {
	int fd;				/* -1: free slot */
	void *conn;
};

struct host_loop {
	const struct kv_host_ops *ops;
	void *arg;
	int lfd;
	struct host_conn conns[HOST_MAX_CONNS];
	unsigned char buf[HOST_READ];
};

static void host_drop(struct host_loop *l, struct host_conn *hc)
{
	l->ops->close(hc->conn);
	close(hc->fd);
	hc->fd = -1;
	hc->conn = NULL;
}

static void host_accept(struct host_loop *l)
{
	int fd = accept4(l->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int one = 1;
	void *conn;

	if (fd < 0)
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (int i = 0; i < HOST_MAX_CONNS; i++) {
		if (l->conns[i].fd >= 0)
			continue;
		conn = l->ops->open(l->arg);
		if (!conn)
			break;
		l->conns[i].fd = fd;
		l->conns[i].conn = conn;
		return;
	}
	close(fd);
}

/* Send what the engine has; false when the connection died. */
static bool host_write(struct host_loop *l, struct host_conn *hc)
{
	for (;;) {
		size_t len;
		const void *out = l->ops->output(hc->conn, &len);
		ssize_t n;

		if (len == 0)
			return true;
		n = send(hc->fd, out, len, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		l->ops->sent(hc->conn, (size_t)n);
	}
}

/* Read once; false when the connection is to go. */
static bool host_read(struct host_loop *l, struct host_conn *hc)
{
	ssize_t n = recv(hc->fd, l->buf, sizeof(l->buf), 0);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false;		/* the peer closed: as Redis, go */
	return l->ops->input(hc->conn, l->buf, (size_t)n) >= 0;
}

/* One connection's turn after poll(): read, write, maybe close. */
static void host_serve(struct host_loop *l, struct host_conn *hc, short rev)
{
	size_t len;

	if ((rev & POLLIN) && !host_read(l, hc)) {
		host_drop(l, hc);
		return;
	}
	if ((rev & (POLLERR | POLLHUP)) && !(rev & POLLIN)) {
		host_drop(l, hc);
		return;
	}
	if (!host_write(l, hc)) {
		host_drop(l, hc);
		return;
	}
	l->ops->output(hc->conn, &len);
	if (len == 0 && l->ops->closing(hc->conn))
		host_drop(l, hc);
}

static __attribute__((noreturn)) void host_run(struct host_loop *l)
{
	struct pollfd pfd[HOST_MAX_CONNS + 1];
	int map[HOST_MAX_CONNS + 1];
	long long next_tick = mono_ms() + l->ops->tick_ms;

	for (;;) {
		int n = 0, timeout = -1;

		pfd[n].fd = l->lfd;
		pfd[n].events = POLLIN;
		map[n++] = -1;
		for (int i = 0; i < HOST_MAX_CONNS; i++) {
			struct host_conn *hc = &l->conns[i];
			size_t len;

			if (hc->fd < 0)
				continue;
			l->ops->output(hc->conn, &len);
			pfd[n].fd = hc->fd;
			pfd[n].events = (l->ops->wants_input(hc->conn) ? POLLIN : 0) |
					(len ? POLLOUT : 0);
			map[n++] = i;
		}
		if (l->ops->tick_ms) {
			long long left = next_tick - mono_ms();

			timeout = left > 0 ? (int)left : 0;
		}
		if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR)
			_exit(1);
		for (int k = 0; k < n; k++) {
			if (!pfd[k].revents)
				continue;
			if (map[k] < 0)
				host_accept(l);
			else
				host_serve(l, &l->conns[map[k]], pfd[k].revents);
		}
		if (l->ops->tick_ms && mono_ms() >= next_tick) {
			l->ops->tick(l->arg);
			next_tick = mono_ms() + l->ops->tick_ms;
		}
	}
}

int kv_host_start(struct kv_host *h, const struct kv_host_ops *ops, void *arg)
{
	pid_t parent = getpid(), pid;
	uint16_t port;
	int lfd = listen_any(&port);

	h->pid = 0;
	if (lfd < 0)
		return lfd;
	pid = fork();
	if (pid < 0) {
		int err = errno;

		close(lfd);
		return -err;
	}
	if (pid == 0) {
		static struct host_loop loop;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		loop.ops = ops;
		loop.arg = arg;
		loop.lfd = lfd;
		for (int i = 0; i < HOST_MAX_CONNS; i++)
			loop.conns[i].fd = -1;
		fcntl(lfd, F_SETFL, O_NONBLOCK);
		host_run(&loop);
	}
	close(lfd);
	h->pid = pid;
	h->port = port;
	return 0;
}

static void reap(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGKILL);
	while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
		;
	*pid = 0;
}

void kv_host_stop(struct kv_host *h)
{
	reap(&h->pid);
}

/* --- redis-server -------------------------------------------------------- */

static void rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[512];

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static pid_t redis_spawn(const char *path, const char *dir, uint16_t port)
{
	pid_t parent = getpid(), pid = fork();
	char portstr[8], log[128];
	int fd;

	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
	snprintf(log, sizeof(log), "%s/redis.log", dir);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	execl(path, "redis-server", "--port", portstr, "--bind", "127.0.0.1",
	      "--save", "", "--appendonly", "no", "--daemonize", "no",
	      "--dir", dir, "--databases", "1", (char *)NULL);
	_exit(127);
}

/* Wait until port answers or the child exits: 0, or -errno. */
static int redis_wait(struct kv_redis *r)
{
	long long deadline = mono_ms() + REDIS_WAIT_MS;

	while (mono_ms() < deadline) {
		int fd = kv_host_connect(r->port), status;
		struct timespec ts = { 0, 20 * 1000000 };

		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
			r->pid = 0;
			return WIFEXITED(status) && WEXITSTATUS(status) == 127 ?
			       -ENOENT : -EADDRINUSE;
		}
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

int kv_redis_start(struct kv_redis *r, const char *path)
{
	int ret = -EADDRINUSE;

	memset(r, 0, sizeof(*r));
	if (access(path, X_OK) < 0)
		return -ENOENT;
	snprintf(r->dir, sizeof(r->dir), "/tmp/kvtest-redis.XXXXXX");
	if (!mkdtemp(r->dir)) {
		r->dir[0] = '\0';
		return -errno;
	}
	for (int i = 0; i < REDIS_TRIES && ret == -EADDRINUSE; i++) {
		/* a port free now; someone may take it before redis does,
		 * then the next try picks another */
		int lfd = listen_any(&r->port);

		if (lfd < 0)
			return lfd;
		close(lfd);
		r->pid = redis_spawn(path, r->dir, r->port);
		if (r->pid < 0) {
			r->pid = 0;
			return -errno;
		}
		ret = redis_wait(r);
		if (ret)
			reap(&r->pid);
	}
	return ret;
}

void kv_redis_stop(struct kv_redis *r)
{
	reap(&r->pid);
	if (r->dir[0]) {
		rm_tree(r->dir);
		r->dir[0] = '\0';
	}
}
