/*
 * netecho - a TCP echo server on guest/net: the test subject of the
 * guest's network stack.
 *
 *   netecho --ip A.B.C.D [--netmask M] [--gateway G] [--port N]
 *           [--stats-port N]
 *
 * (or the address in COLO_GUEST_IP, COLO_GUEST_NETMASK and
 * COLO_GUEST_GATEWAY). It echoes every byte received on --port (7) back
 * to its sender; ARP and ICMP echo are answered by lwIP itself.
 *
 * A client that sends without reading fills its connection's output
 * queue: when colo_tcp_send() refuses a piece (-ENOBUFS), netecho keeps
 * that one piece, holds the connection's input (the client's window
 * closes) and sends the piece and releases the input when writable()
 * says the queue drained. So it stays bounded and loses nothing.
 *
 * With --stats-port, a connection to that port is answered with one
 * line, and closed:
 *   conns N accepted N enobufs N holding N queued_max N
 * (connections open now, accepted in all, refused sends, connections
 * holding input now, the largest colo_tcp_queued() seen).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "colo_guest.h"
#include "colo_net.h"

#define ECHO_PORT_DEFAULT	7

/* One echo connection. */
struct echo_conn {
	struct colo_tcp_conn *c;
	unsigned char *stash;		/* a piece colo_tcp_send() refused */
	size_t stash_len;
};

/* All of it is guest memory: a checkpoint carries it to the copy. */
static struct netecho {
	uint16_t port;
	uint16_t stats_port;		/* 0: none */
	unsigned conns;			/* echo connections open */
	unsigned holding;		/* of them, holding their input */
	unsigned long accepted;
	unsigned long enobufs;		/* colo_tcp_send() said -ENOBUFS */
	size_t queued_max;		/* largest colo_tcp_queued() seen */
	int stats_token;		/* the stats connections' user pointer */
} ne;

static void note_queued(struct colo_tcp_conn *c)
{
	size_t q = colo_tcp_queued(c);

	if (q > ne.queued_max)
		ne.queued_max = q;
}

static void *echo_accept(struct colo_tcp_conn *c, void *opaque)
{
	struct echo_conn *e = calloc(1, sizeof(*e));

	(void)opaque;
	if (!e) {
		colo_log("netecho: no memory for a connection: refused");
		return NULL;
	}
	e->c = c;
	ne.conns++;
	ne.accepted++;
	return e;
}

static void echo_recv(struct colo_tcp_conn *c, const void *data, size_t len,
		      void *user)
{
	struct echo_conn *e = user;
	int ret = colo_tcp_send(c, data, len);

	if (ret == -ENOBUFS && !e->stash) {
		/* keep this piece, take no more until the queue drains */
		e->stash = malloc(len);
		if (e->stash) {
			memcpy(e->stash, data, len);
			e->stash_len = len;
			ne.enobufs++;
			ne.holding++;
			colo_tcp_hold_input(c, true);
			return;
		}
	}
	if (ret) {
		colo_log("netecho: cannot echo %zu bytes: %s; closing", len,
			 strerror(-ret));
		colo_tcp_close(c);
		return;
	}
	note_queued(c);
}

static void echo_writable(struct colo_tcp_conn *c, void *user)
{
	struct echo_conn *e = user;
	int ret;

	if (!e->stash)
		return;
	ret = colo_tcp_send(c, e->stash, e->stash_len);
	if (ret == -ENOBUFS) {
		ne.enobufs++;
		return;			/* writable() comes again */
	}
	free(e->stash);
	e->stash = NULL;
	e->stash_len = 0;
	ne.holding--;
	if (ret) {
		colo_tcp_close(c);
		return;
	}
	note_queued(c);
	colo_tcp_hold_input(c, false);
}

static void echo_closed(struct colo_tcp_conn *c, void *user)
{
	struct echo_conn *e = user;

	(void)c;
	if (e->stash)
		ne.holding--;
	free(e->stash);
	free(e);
	ne.conns--;
}

static const struct colo_tcp_server_ops echo_ops = {
	.accept = echo_accept,
	.recv = echo_recv,
	.writable = echo_writable,
	.closed = echo_closed,
};

static void *stats_accept(struct colo_tcp_conn *c, void *opaque)
{
	char line[160];
	int n;

	(void)opaque;
	n = snprintf(line, sizeof(line), "conns %u accepted %lu enobufs %lu "
		     "holding %u queued_max %zu\n", ne.conns, ne.accepted,
		     ne.enobufs, ne.holding, ne.queued_max);
	if (colo_tcp_send(c, line, (size_t)n))
		colo_log("netecho: the statistics line did not fit");
	colo_tcp_close(c);		/* once the line is sent */
	return &ne.stats_token;
}

static void stats_recv(struct colo_tcp_conn *c, const void *data, size_t len,
		       void *user)
{
	(void)c;
	(void)data;
	(void)len;
	(void)user;			/* input is ignored */
}

static void stats_closed(struct colo_tcp_conn *c, void *user)
{
	(void)c;
	(void)user;
}

static const struct colo_tcp_server_ops stats_ops = {
	.accept = stats_accept,
	.recv = stats_recv,
	.closed = stats_closed,
};

static int parse_port(const char *opt, const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > 65535) {
		colo_log("netecho: %s '%s' is not a TCP port (1-65535)", opt, s);
		return -EINVAL;
	}
	*port = (uint16_t)v;
	return 0;
}

static int on_start(int argc, char **argv, void *opaque)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "stats-port", required_argument, NULL, 's' },
		/* colo_net_start()'s: read there */
		{ "ip", required_argument, NULL, 'n' },
		{ "netmask", required_argument, NULL, 'n' },
		{ "gateway", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	int c, ret;

	(void)opaque;
	/* first: getopt_long() may reorder argv */
	ret = colo_net_start(argc, argv);
	if (ret)
		return ret;
	ne.port = ECHO_PORT_DEFAULT;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_port("--port", optarg, &ne.port))
				return -1;
			break;
		case 's':
			if (parse_port("--stats-port", optarg, &ne.stats_port))
				return -1;
			break;
		case 'n':
			break;
		default:
			colo_log("netecho: usage: netecho --ip A.B.C.D "
				 "[--netmask M] [--gateway G] [--port N] "
				 "[--stats-port N]");
			return -1;
		}
	}
	ret = colo_tcp_listen(ne.port, &echo_ops, NULL);
	if (!ret && ne.stats_port)
		ret = colo_tcp_listen(ne.stats_port, &stats_ops, NULL);
	if (ret)
		return ret;
	colo_log("netecho: echo on TCP port %u", ne.port);
	if (ne.stats_port)
		colo_log("netecho: statistics on TCP port %u", ne.stats_port);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct colo_guest_ops ops = {
		.start = on_start,
		.frame = colo_net_frame,
		.timer = colo_net_timer,
		.timer_ms = COLO_NET_TIMER_MS,
		.announce = colo_net_announce,
	};

	return colo_guest_main(argc, argv, &ops, NULL);
}
