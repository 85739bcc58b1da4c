/*
 * lan_watch.c - the second heartbeat path (lan_watch.h): one UDP socket,
 * bound to [ha] lan_listen, that beats to lan_peer and hears its beats.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define LOG_PREFIX "lan-path: "
#include "log.h"
#include "clock.h"
#include "colo_proto.h"
#include "config.h"
#include "lan_watch.h"

struct lan_watch {
	int fd;
	struct event *ev_read, *ev_beat;
	struct sockaddr_in peer;
	char listen_s[64], peer_s[64];
	struct lan_beat ours, theirs;
	int64_t heard_ms;		/* the peer's last valid beat */
	uint64_t sent, received, dropped, send_errors;
};

/* --- the record ----------------------------------------------------------- */

void lan_beat_encode(const struct lan_beat *b, uint8_t out[LAN_BEAT_LEN])
{
	put_be32(out, LAN_BEAT_MAGIC);
	put_be16(out + 4, LAN_BEAT_VERSION);
	out[6] = b->role;
	out[7] = b->flags;
	put_be64(out + 8, b->incarnation);
	put_be64(out + 16, b->seq);
}

int lan_beat_decode(const uint8_t *buf, size_t len, struct lan_beat *b)
{
	if (len != LAN_BEAT_LEN || get_be32(buf) != LAN_BEAT_MAGIC ||
	    get_be16(buf + 4) != LAN_BEAT_VERSION ||
	    (buf[6] != COLO_ROLE_PRIMARY && buf[6] != COLO_ROLE_SECONDARY) ||
	    (buf[7] & ~LAN_BEAT_PROTECTING))
		return -EPROTO;
	b->role = buf[6];
	b->flags = buf[7];
	b->incarnation = get_be64(buf + 8);
	b->seq = get_be64(buf + 16);
	return 0;
}

/* --- the socket ----------------------------------------------------------- */

static int resolve(const char *address, struct sockaddr_in *sin)
{
	char host[64];
	unsigned port;

	if (config_split_address(address, host, sizeof(host), &port)) {
		pr_err("'%s' is no IPV4-ADDRESS:PORT", address);
		return -EINVAL;
	}
	*sin = (struct sockaddr_in){ .sin_family = AF_INET,
				     .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, host, &sin->sin_addr);
	return 0;
}

static void on_beat_due(evutil_socket_t fd, short what, void *arg)
{
	struct lan_watch *lw = arg;
	uint8_t b[LAN_BEAT_LEN];

	(void)fd;
	(void)what;
	lw->ours.seq++;
	lan_beat_encode(&lw->ours, b);
	if (sendto(lw->fd, b, sizeof(b), MSG_DONTWAIT,
		   (struct sockaddr *)&lw->peer, sizeof(lw->peer)) < 0) {
		/* unreachable for now: the peer's silence is what counts */
		if (!lw->send_errors++)
			pr_warn("cannot send to %s: %s (counted from now on)",
				lw->peer_s, strerror(errno));
		return;
	}
	lw->sent++;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct lan_watch *lw = arg;
	uint8_t buf[LAN_BEAT_LEN + 1];
	struct sockaddr_in from;
	socklen_t fromlen;
	struct lan_beat b;
	ssize_t n;

	(void)what;
	for (;;) {
		fromlen = sizeof(from);
		n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fromlen);
		if (n < 0)
			return;		/* drained (or an ICMP error: no matter) */
		if (fromlen != sizeof(from) || from.sin_family != AF_INET ||
		    from.sin_addr.s_addr != lw->peer.sin_addr.s_addr ||
		    lan_beat_decode(buf, (size_t)n, &b)) {
			lw->dropped++;
			continue;
		}
		lw->theirs = b;
		lw->heard_ms = colo_now_ms();
		lw->received++;
	}
}

int lan_watch_open(struct lan_watch **out, struct event_base *base,
		   const char *listen, const char *peer, unsigned timeout_ms,
		   uint8_t role)
{
	struct timeval every = { 0, (long)(timeout_ms / 4) * 1000 };
	struct sockaddr_in local;
	struct lan_watch *lw;
	int ret;

	every.tv_sec = every.tv_usec / 1000000;
	every.tv_usec %= 1000000;
	lw = calloc(1, sizeof(*lw));
	if (!lw)
		return -ENOMEM;
	lw->fd = -1;
	snprintf(lw->listen_s, sizeof(lw->listen_s), "%s", listen);
	snprintf(lw->peer_s, sizeof(lw->peer_s), "%s", peer);
	ret = resolve(listen, &local);
	if (!ret)
		ret = resolve(peer, &lw->peer);
	if (ret)
		goto fail;
	lw->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lw->fd < 0 ||
	    bind(lw->fd, (struct sockaddr *)&local, sizeof(local))) {
		ret = -errno;
		pr_err("cannot listen on [ha] lan_listen %s: %s (an address of "
		       "this host on the client LAN, and a free port)", listen,
		       strerror(errno));
		goto fail;
	}
	if (getrandom(&lw->ours.incarnation, sizeof(lw->ours.incarnation), 0) !=
	    sizeof(lw->ours.incarnation)) {
		ret = -errno;
		pr_err("cannot draw an incarnation: %s", strerror(errno));
		goto fail;
	}
	lw->ours.role = role;
	lw->ev_read = event_new(base, lw->fd, EV_READ | EV_PERSIST,
				on_readable, lw);
	lw->ev_beat = event_new(base, -1, EV_PERSIST, on_beat_due, lw);
	if (!lw->ev_read || !lw->ev_beat) {
		ret = -ENOMEM;
		goto fail;
	}
	event_add(lw->ev_read, NULL);
	event_add(lw->ev_beat, &every);
	pr_info("beating on %s to %s every %u ms", listen, peer, timeout_ms / 4);
	*out = lw;
	return 0;
fail:
	lan_watch_close(lw);
	return ret;
}

int lan_watch_from_config(struct lan_watch **out, struct event_base *base,
			  const struct colo_config *cfg, uint8_t role)
{
	*out = NULL;
	if (!cfg->ha.lan_listen[0] || !cfg->ha.lan_peer[0])
		return 0;
	return lan_watch_open(out, base, cfg->ha.lan_listen, cfg->ha.lan_peer,
			      cfg->ha.heartbeat_timeout_ms, role);
}

void lan_watch_set(struct lan_watch *lw, uint8_t role, bool protecting)
{
	if (!lw)
		return;
	lw->ours.role = role;
	lw->ours.flags = protecting ? LAN_BEAT_PROTECTING : 0;
}

int64_t lan_watch_heard_ms(const struct lan_watch *lw)
{
	return lw ? lw->heard_ms : 0;
}

const struct lan_beat *lan_watch_last(const struct lan_watch *lw)
{
	static const struct lan_beat none;

	return lw ? &lw->theirs : &none;
}

void lan_watch_status(const struct lan_watch *lw, struct status_out *so)
{
	if (!lw)
		return;
	status_str(so, "lan_listen", lw->listen_s);
	status_str(so, "lan_peer", lw->peer_s);
	status_num(so, "lan_heartbeat_age_ms", lw->heard_ms ?
		   (double)(colo_now_ms() - lw->heard_ms) : -1, 0);
	status_str(so, "lan_peer_role", !lw->heard_ms ? "none" :
		   lw->theirs.role == COLO_ROLE_PRIMARY ? "primary" : "secondary");
	status_num(so, "lan_beats_sent", (double)lw->sent, 0);
	status_num(so, "lan_beats_received", (double)lw->received, 0);
	status_num(so, "lan_beats_dropped", (double)lw->dropped, 0);
}

void lan_watch_close(struct lan_watch *lw)
{
	if (!lw)
		return;
	if (lw->ev_read)
		event_free(lw->ev_read);
	if (lw->ev_beat)
		event_free(lw->ev_beat);
	if (lw->fd >= 0)
		close(lw->fd);
	free(lw);
}
