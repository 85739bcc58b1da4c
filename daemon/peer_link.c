/*
 * peer_link.c - the HELLO, the heartbeats and the connect/listen of the
 * checkpoint link, one copy for both daemons.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LOG_PREFIX "link: "
#include "log.h"
#include "config.h"
#include "layout.h"
#include "peer_link.h"

/* --- HELLO ---------------------------------------------------------------- */

static const char *role_name(uint32_t role)
{
	return role == COLO_ROLE_PRIMARY ? "primary" : "secondary";
}

/* The hash of the guest's binary and libraries: both hosts must run the
 * same ones, or the same addresses mean different code. */
static int guest_hash(const struct guest *g, uint32_t *hash)
{
	struct layout l;
	int ret = layout_read(g->pid, &l);

	if (ret)
		return ret;
	ret = layout_files_crc(&l, hash);
	layout_free(&l);
	return ret;
}

int peer_hello_ours(struct colo_hello *h, enum colo_role role, size_t page_size,
		    const struct guest *g, unsigned compress_level)
{
	*h = (struct colo_hello){
		.magic = COLO_PROTO_MAGIC,
		.version = COLO_PROTO_VERSION,
		.page_size = (uint32_t)page_size,
		.role = role,
		.compress_level = compress_level,
	};
	return guest_hash(g, &h->guest_hash);
}

int peer_hello_send(struct channel *ch, const struct colo_hello *ours)
{
	uint8_t b[COLO_HELLO_LEN];

	colo_hello_encode(ours, b);
	return channel_send(ch, COLO_HELLO, b, sizeof(b));
}

int peer_hello_check(const struct colo_hello *ours, const uint8_t *payload,
		     uint32_t len, struct colo_hello *theirs)
{
	uint32_t want = ours->role == COLO_ROLE_PRIMARY ? COLO_ROLE_SECONDARY :
			COLO_ROLE_PRIMARY;
	const char *peer = role_name(want);
	struct colo_hello h;
	int ret;

	ret = colo_hello_decode(payload, len, &h);	/* magic, ranges */
	if (ret)
		return ret;
	if (h.role != want) {
		pr_err("the peer is not a colo %s: its HELLO says role %u, "
		       "expected %u", peer, h.role, want);
		return -EPROTO;
	}
	if (h.version != ours->version) {
		pr_err("the %s speaks protocol %u, we speak %u: run the same "
		       "colo on both hosts", peer, h.version, ours->version);
		return -EPROTO;
	}
	if (h.page_size != ours->page_size) {
		pr_err("the %s's page size is %u, ours %u", peer, h.page_size,
		       ours->page_size);
		return -EPROTO;
	}
	if (h.guest_hash != ours->guest_hash) {
		pr_err("the %s's guest (binary and libraries) hashes to %08x, "
		       "ours to %08x: install the same guest binary and "
		       "libraries on both hosts", peer, h.guest_hash,
		       ours->guest_hash);
		return -EPROTO;
	}
	if (ours->role == COLO_ROLE_PRIMARY && h.session != ours->session) {
		pr_err("the secondary answered session %#" PRIx64 ", ours is "
		       "%#" PRIx64 ": it answers another primary", h.session,
		       ours->session);
		return -EPROTO;
	}
	if (theirs)
		*theirs = h;
	return 0;
}

/* --- heartbeats ----------------------------------------------------------- */

void peer_watch_init(struct peer_watch *w, unsigned timeout_ms)
{
	*w = (struct peer_watch){ .timeout_ms = timeout_ms };
}

void peer_watch_start(struct peer_watch *w, int64_t now)
{
	w->last_rx_ms = now;
	w->last_hb_ms = now;
}

void peer_watch_heard(struct peer_watch *w, int64_t now)
{
	w->last_rx_ms = now;
}

int64_t peer_watch_silence_ms(const struct peer_watch *w, int64_t now)
{
	return now - w->last_rx_ms;
}

int64_t peer_watch_tick(struct peer_watch *w, int64_t now, const char *peer)
{
	int64_t late = now - w->last_tick_ms;
	bool stalled = w->last_tick_ms && late > w->timeout_ms / 2;

	w->last_tick_ms = now;
	if (!stalled)
		return 0;
	pr_warn("our loop did not run for %" PRId64 " ms (stopped or "
		"starved); %s gets a fresh heartbeat window", late, peer);
	w->last_rx_ms = now;
	return late;
}

void peer_watch_beat(struct peer_watch *w, struct channel *ch, int64_t now)
{
	struct colo_heartbeat hb = { .ms = (uint64_t)now };
	uint8_t b[COLO_HEARTBEAT_LEN];

	if (now - w->last_hb_ms < w->timeout_ms / 4)
		return;
	colo_heartbeat_encode(&hb, b);
	channel_send(ch, COLO_HEARTBEAT, b, sizeof(b));
	w->last_hb_ms = now;
}

bool peer_watch_lost(const struct peer_watch *w, int64_t now, const char *peer,
		     char *why, size_t len)
{
	int64_t silent = now - w->last_rx_ms;

	if (silent <= w->timeout_ms)
		return false;
	snprintf(why, len, "no word from %s for %" PRId64 " ms", peer, silent);
	return true;
}

/* --- the primary connects ------------------------------------------------- */

void peer_connect_init(struct peer_connect *pc, const char *addr, int retry_ms)
{
	*pc = (struct peer_connect){
		.addr = addr, .retry_ms = retry_ms, .fd = -1,
	};
}

/* A TCP address of colo.conf (checked when it was loaded). */
static int parse_addr(const char *addr, struct sockaddr_in *sin)
{
	char host[64];
	unsigned port;

	*sin = (struct sockaddr_in){ .sin_family = AF_INET };
	if (config_split_address(addr, host, sizeof(host), &port) ||
	    inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return -EINVAL;
	sin->sin_port = htons((uint16_t)port);
	return 0;
}

/* Begin a non-blocking connect() to pc->addr: 0 (pc->fd in progress),
 * or a positive errno. */
static int connect_begin(struct peer_connect *pc)
{
	struct sockaddr_in sin;
	int err;

	if (parse_addr(pc->addr, &sin))
		return EINVAL;
	pc->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (pc->fd < 0)
		return errno;
	if (connect(pc->fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 ||
	    errno == EINPROGRESS)
		return 0;
	err = errno;
	close(pc->fd);
	pc->fd = -1;
	return err;
}

/* The connect() in progress is over: 0 (connected) or its errno. */
static int connect_result(int fd)
{
	socklen_t elen = sizeof(int);
	int err = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen))
		return errno;
	return err;
}

/* Said once per reason: the same refusal every retry_ms is no news. */
static int connect_failed(struct peer_connect *pc, int64_t now, int err,
			  char *why, size_t len)
{
	snprintf(why, len, "cannot connect to the secondary at %s: %s",
		 pc->addr, strerror(err));
	if (err != pc->last_err)
		pr_warn("%s; retrying every %d ms", why, pc->retry_ms);
	pc->last_err = err;
	pc->next_ms = now + pc->retry_ms;
	return -err;
}

int peer_connect_step(struct peer_connect *pc, int64_t now, char *why,
		      size_t len)
{
	struct pollfd pfd = { .fd = pc->fd, .events = POLLOUT };
	int err, fd;

	if (pc->fd < 0) {
		if (now < pc->next_ms)
			return -EINPROGRESS;
		err = connect_begin(pc);
		if (err)
			return connect_failed(pc, now, err, why, len);
		pfd.fd = pc->fd;
	}
	if (poll(&pfd, 1, 0) <= 0)
		return -EINPROGRESS;
	fd = pc->fd;
	pc->fd = -1;
	err = connect_result(fd);
	if (err) {
		close(fd);
		return connect_failed(pc, now, err, why, len);
	}
	pc->last_err = 0;
	return fd;
}

void peer_connect_close(struct peer_connect *pc)
{
	if (pc->fd >= 0)
		close(pc->fd);
	pc->fd = -1;
}

/* --- the secondary listens ------------------------------------------------ */

/*
 * What the kernel may hold of the stream for the secondary, not yet
 * read: the gap's backlog that a CHECKPOINT_REQUEST queues behind. On
 * loopback the receive queue is where a sent record waits (autotuned up
 * to tcp_rmem's 6 MiB, ~10 ms of the secondary's work at the stop);
 * 1 MiB (the kernel doubles it for its overhead) still keeps a stream of
 * several GB/s going. Set on the listening socket, so the window scale
 * of each connection is the one for it.
 */
#define PEER_RCVBUF	(1 << 20)

int peer_listen(struct event_base *base, const char *addr, evconnlistener_cb cb,
		void *arg, struct evconnlistener **out)
{
	struct sockaddr_in sin;
	int ret;

	if (parse_addr(addr, &sin)) {
		pr_err("cannot listen on '%s': not IPV4-ADDRESS:PORT; set "
		       "[checkpoint] listen", addr);
		return -EINVAL;
	}
	*out = evconnlistener_new_bind(base, cb, arg, LEV_OPT_CLOSE_ON_FREE |
				       LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
				       4, (struct sockaddr *)&sin, sizeof(sin));
	if (*out) {
		int fd = evconnlistener_get_fd(*out), sz = PEER_RCVBUF;

		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)))
			pr_warn("cannot bound the receive buffer on %s to %d "
				"KiB: %s; checkpoints may wait behind a longer "
				"backlog", addr, sz >> 10, strerror(errno));
		return 0;
	}
	ret = errno ? -errno : -EADDRINUSE;
	pr_err("cannot listen on %s: %s; is another secondary there? set "
	       "[checkpoint] listen", addr, strerror(-ret));
	return ret;
}

void peer_name(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	char host[INET_ADDRSTRLEN] = "?";

	inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
	snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
}
