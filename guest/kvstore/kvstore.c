/*
 * kvstore - a key-value server speaking RESP2 (the Redis protocol) on
 * guest/net: the demo guest, and the failover test's subject.
 *
 *   kvstore --ip A.B.C.D [--netmask M] [--gateway G] [--port N]
 *
 * (or the address in COLO_GUEST_IP, COLO_GUEST_NETMASK and
 * COLO_GUEST_GATEWAY). It listens on --port (6379) and answers what
 * redis-cli and redis-benchmark send, byte for byte as Redis 7.0 does:
 * PING ECHO SET GET GETSET DEL EXISTS INCR INCRBY DECR DECRBY APPEND
 * STRLEN MSET MGET LPUSH RPUSH LPOP RPOP LLEN LRANGE SADD SREM SCARD
 * SISMEMBER SPOP HSET HGET HDEL HLEN ZADD ZPOPMIN ZCARD DBSIZE FLUSHALL
 * SELECT INFO CONFIG COMMAND QUIT, as RESP arrays or inline commands,
 * pipelined or not. Expiry runs on the guest clock (colo_clock_ms()):
 * lazily when a key is touched, and a sweep every KV_CRON_MS.
 *
 * This file is the transport only: the engine (guest/kvstore/kv_*.c,
 * resp.c) knows nothing of lwIP, and the host test runs the same engine
 * behind a socket.
 *
 * Limits, each defined where it applies:
 *   resp.h      RESP_INLINE_MAX 64 KiB   a line with no end in sight
 *               RESP_BULK_MAX   8 MiB    one bulk string (and APPEND's
 *                                        result)
 *               RESP_ARGS_MAX   1 Mi     elements of one request
 *   kv_client.h KV_QUERY_MAX    16 MiB   input a client holds
 *               KV_REPLY_PAUSE  64 KiB   output at which a client's
 *                                        commands wait
 *   kv_reply.h  KV_REPLY_MAX    32 MiB   output a client may have waiting
 *   kv_server.h KV_MAX_CLIENTS  128      connections at once
 *   here        KV_HOLD_QUEUED  256 KiB  TCP output queued at which a
 *                                        connection's input is held
 * Past a parser limit the client gets Redis's protocol error and is
 * closed; past a memory limit it is closed; past KV_MAX_CLIENTS it gets
 * "max number of clients reached" and is closed.
 *
 * Backpressure: output goes to colo_tcp_send() as far as its queue takes
 * it (COLO_TCP_MAX_QUEUED). While a connection has output the queue did
 * not take, or more than KV_HOLD_QUEUED queued, its input is held
 * (colo_tcp_hold_input(): the client's TCP window closes) and its
 * commands wait; writable() resumes both. A client that floods without
 * reading so costs at most its queue plus the limits above.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "colo_guest.h"
#include "colo_net.h"
#include "kv_client.h"
#include "kv_server.h"

#define KV_PORT_DEFAULT		6379
#define KV_HOLD_QUEUED		(256u << 10)
#define KV_SEND_CHUNK		(64u << 10)	/* most handed to
						 * colo_tcp_send() at once */

static const char max_clients_err[] = "-ERR max number of clients reached\r\n";

/* One TCP connection. */
struct kv_conn {
	struct colo_tcp_conn *c;
	struct kv_client *cl;		/* NULL: refused, being closed */
	bool held;			/* colo_tcp_hold_input(c, true) */
	bool closing;			/* colo_tcp_close() called */
};

/* All of it is guest memory: a checkpoint carries it to the copy. */
static struct kvstore {
	struct kv_server srv;		/* the keyspace */
	uint16_t port;
	uint64_t next_cron_ms;
} kv;

static uint64_t guest_clock(void *arg)
{
	(void)arg;
	return colo_clock_ms();
}

static void conn_close(struct kv_conn *k)
{
	if (!k->closing) {
		k->closing = true;
		colo_tcp_close(k->c);
	}
}

static void conn_hold(struct kv_conn *k, bool hold)
{
	if (k->held != hold) {
		k->held = hold;
		colo_tcp_hold_input(k->c, hold);
	}
}

/* Hand the client's output to TCP, as much as its queue takes. */
static void conn_flush(struct kv_conn *k)
{
	size_t len, queued, n;
	const char *out;

	for (;;) {
		out = kv_client_output(k->cl, &len);
		queued = colo_tcp_queued(k->c);
		if (len == 0 || queued >= COLO_TCP_MAX_QUEUED)
			return;
		n = COLO_TCP_MAX_QUEUED - queued;
		n = n < len ? n : len;
		n = n < KV_SEND_CHUNK ? n : KV_SEND_CHUNK;
		if (colo_tcp_send(k->c, out, n))
			return;		/* full (-ENOBUFS) or closing */
		kv_client_consume(k->cl, n);
	}
}

/*
 * Move output to TCP and run waiting commands, until TCP holds enough or
 * there is nothing left to run; then hold or release the input and close
 * when the client is done.
 */
static void conn_pump(struct kv_conn *k)
{
	size_t len;

	for (;;) {
		conn_flush(k);
		if (kv_client_dead(k->cl)) {
			colo_log("kvstore: a client passed a memory limit: closed");
			conn_close(k);
			return;
		}
		kv_client_output(k->cl, &len);
		if (len || colo_tcp_queued(k->c) > KV_HOLD_QUEUED)
			break;
		if (kv_client_done(k->cl)) {
			conn_close(k);	/* after what is queued */
			return;
		}
		kv_client_run(k->cl);
		kv_client_output(k->cl, &len);
		if (len == 0)
			break;		/* nothing more to run now */
	}
	kv_client_output(k->cl, &len);
	conn_hold(k, len || colo_tcp_queued(k->c) > KV_HOLD_QUEUED ||
		     !kv_client_wants_input(k->cl));
}

static void *kv_accept(struct colo_tcp_conn *c, void *opaque)
{
	struct kv_conn *k = calloc(1, sizeof(*k));

	(void)opaque;
	if (!k) {
		colo_log("kvstore: no memory for a connection: refused");
		return NULL;
	}
	k->c = c;
	if (kv_server_admit(&kv.srv)) {
		/* Redis's answer, then the door */
		colo_tcp_send(c, max_clients_err, sizeof(max_clients_err) - 1);
		conn_close(k);
		return k;
	}
	k->cl = kv_client_new(&kv.srv);
	return k;
}

static void kv_recv(struct colo_tcp_conn *c, const void *data, size_t len,
		    void *user)
{
	struct kv_conn *k = user;

	(void)c;
	if (k->closing || !k->cl)
		return;
	if (kv_client_feed(k->cl, data, len) == -ENOBUFS) {
		colo_log("kvstore: a client passed the query buffer limit "
			 "(%u bytes): closed", KV_QUERY_MAX);
		conn_close(k);
		return;
	}
	conn_pump(k);
}

static void kv_writable(struct colo_tcp_conn *c, void *user)
{
	struct kv_conn *k = user;

	(void)c;
	if (!k->closing && k->cl)
		conn_pump(k);
}

static void kv_closed(struct colo_tcp_conn *c, void *user)
{
	struct kv_conn *k = user;

	(void)c;
	kv_client_free(k->cl);
	free(k);
}

static const struct colo_tcp_server_ops kv_ops = {
	.accept = kv_accept,
	.recv = kv_recv,
	.writable = kv_writable,
	.closed = kv_closed,
};

static void kv_timer(void *opaque)
{
	uint64_t now = colo_clock_ms();

	colo_net_timer(opaque);
	if (now >= kv.next_cron_ms) {
		kv_server_cron(&kv.srv);
		kv.next_cron_ms = now + KV_CRON_MS;
	}
}

/* The hash key of every table: random, so no client can aim collisions
 * at one bucket; it is in guest memory, so the copy has the same. */
static void kv_seed(uint64_t seed[2])
{
	if (getrandom(seed, 2 * sizeof(seed[0]), GRND_NONBLOCK) !=
	    (ssize_t)(2 * sizeof(seed[0]))) {
		seed[0] = colo_clock_ms() * 0x9e3779b97f4a7c15ull;
		seed[1] = (uint64_t)(uintptr_t)&kv ^ 0xc2b2ae3d27d4eb4full;
	}
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > 65535) {
		colo_log("kvstore: --port '%s' is not a TCP port (1-65535)", s);
		return -EINVAL;
	}
	*port = (uint16_t)v;
	return 0;
}

static int kv_start(int argc, char **argv, void *opaque)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		/* colo_net_start()'s: read there */
		{ "ip", required_argument, NULL, 'n' },
		{ "netmask", required_argument, NULL, 'n' },
		{ "gateway", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t seed[2];
	int c, ret;

	(void)opaque;
	/* first: getopt_long() may reorder argv */
	ret = colo_net_start(argc, argv);
	if (ret)
		return ret;
	kv.port = KV_PORT_DEFAULT;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_port(optarg, &kv.port))
				return -EINVAL;
			break;
		case 'n':
			break;
		default:
			colo_log("kvstore: usage: kvstore --ip A.B.C.D "
				 "[--netmask M] [--gateway G] [--port N]");
			return -EINVAL;
		}
	}
	kv_seed(seed);
	kv_server_init(&kv.srv, guest_clock, NULL, seed, kv.port);
	kv.next_cron_ms = colo_clock_ms() + KV_CRON_MS;
	ret = colo_tcp_listen(kv.port, &kv_ops, NULL);
	if (ret) {
		colo_log("kvstore: cannot listen on TCP port %u: %s", kv.port,
			 strerror(-ret));
		return ret;
	}
	colo_log("kvstore: RESP on TCP port %u", kv.port);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct colo_guest_ops ops = {
		.start = kv_start,
		.frame = colo_net_frame,
		.timer = kv_timer,
		.timer_ms = COLO_NET_TIMER_MS,
		.announce = colo_net_announce,
	};

	return colo_guest_main(argc, argv, &ops, NULL);
}
