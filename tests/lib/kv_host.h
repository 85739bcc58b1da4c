/*
 * kv_host.h - servers on the host for the kvstore tests, each a child
 * process known by its pid (killed by that pid, never by name):
 *
 *  - a loopback TCP server, in a forked child, that serves a byte-stream
 *    engine given as a table of functions (the test passes the kvstore
 *    engine's; this file links none of it, so every test program may
 *    link it), one poll() loop, 16 KiB reads like Redis's;
 *  - Debian's redis-server, on a free 127.0.0.1 port, in a temporary
 *    directory of its own, without persistence.
 *
 * Both children get SIGKILL if the test process dies (PR_SET_PDEATHSIG),
 * so a crashed test leaves no server behind.
 */
#ifndef COLO_TEST_KV_HOST_H
#define COLO_TEST_KV_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What the server does with a connection; called in the child only. */
struct kv_host_ops {
	/* A client connected: its state, or NULL to refuse it. */
	void *(*open)(void *arg);
	/* Bytes arrived; < 0: close the connection now. */
	int (*input)(void *conn, const void *data, size_t len);
	/* Bytes to send (len 0: none), and how many were sent. */
	const void *(*output)(void *conn, size_t *len);
	void (*sent)(void *conn, size_t n);
	/* Read more now? (false: backpressure, the socket is not read) */
	bool (*wants_input)(void *conn);
	/* Close once the output is sent? */
	bool (*closing)(void *conn);
	/* The connection is gone: free conn. */
	void (*close)(void *conn);
	/* Every tick_ms (0: never), with arg. */
	void (*tick)(void *arg);
	unsigned tick_ms;
};

struct kv_host {
	pid_t pid;		/* the serving child; 0: none */
	uint16_t port;		/* on 127.0.0.1 */
};

/* Listen on a free 127.0.0.1 port, fork the server. 0 or -errno. */
int kv_host_start(struct kv_host *h, const struct kv_host_ops *ops, void *arg);
/* Kill (SIGKILL) and reap the child; safe to call twice. */
void kv_host_stop(struct kv_host *h);

struct kv_redis {
	pid_t pid;		/* redis-server; 0: none */
	uint16_t port;
	char dir[64];		/* its --dir, removed by kv_redis_stop() */
};

/* Start redis-server (path, e.g. /usr/bin/redis-server) with --port P
 * --bind 127.0.0.1 --save '' --appendonly no --daemonize no --dir D
 * --databases 1, and wait until it answers. 0, or -errno (-ENOENT: no
 * such program). */
int kv_redis_start(struct kv_redis *r, const char *path);
/* Kill (SIGKILL) that pid, reap it, remove its directory; safe twice. */
void kv_redis_stop(struct kv_redis *r);

/* A TCP connection to 127.0.0.1:port, or -errno. */
int kv_host_connect(uint16_t port);

#endif /* COLO_TEST_KV_HOST_H */
