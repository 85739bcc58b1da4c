/*
 * channel.c - framing, checking and queueing colo_proto records.
 *
 * The frame (header, length bound, CRC, known type) is checked here; a
 * payload is the record's decoder's (colo_proto.c, page_stream.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#define LOG_PREFIX "channel: "
#include "log.h"
#include "channel.h"

struct channel {
	struct bufferevent *bev;
	const struct channel_ops *ops;
	void *opaque;
	char peer[64];
	int open;
	int in_callback;		/* a record() is running */
	uint64_t bytes_in, bytes_out;
};

static void close_channel(struct channel *ch, const char *why)
{
	if (!ch->open)
		return;
	ch->open = 0;
	bufferevent_disable(ch->bev, EV_READ | EV_WRITE);
	shutdown(bufferevent_getfd(ch->bev), SHUT_RDWR);
	if (ch->ops->closed)
		ch->ops->closed(ch, why, ch->opaque);
}

void channel_drop(struct channel *ch, const char *why)
{
	pr_warn("dropping the connection with %s: %s", ch->peer, why);
	close_channel(ch, why);
}

/* Take every whole record in the input; a bad one drops the connection. */
static void on_read(struct bufferevent *bev, void *arg)
{
	struct channel *ch = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char why[160];

	while (ch->open && evbuffer_get_length(in) >= COLO_RECORD_HDR) {
		uint8_t hdr[COLO_RECORD_HDR], *payload;
		uint16_t type, flags;
		uint32_t len, crc, want;
		int ret;

		evbuffer_copyout(in, hdr, sizeof(hdr));
		type = get_be16(hdr);
		flags = get_be16(hdr + 2);
		len = get_be32(hdr + 4);
		crc = get_be32(hdr + 8);
		if (type == 0 || type > COLO_RECORD_TYPE_MAX || flags) {
			snprintf(why, sizeof(why), "bad record header (type %u, "
				 "flags %#x): not a colo stream, or a corrupt one",
				 type, flags);
			channel_drop(ch, why);
			return;
		}
		if (len > COLO_RECORD_MAX) {
			snprintf(why, sizeof(why), "%s record of %" PRIu32 " bytes "
				 "is over the %u-byte limit", colo_record_name(type),
				 len, COLO_RECORD_MAX);
			channel_drop(ch, why);
			return;
		}
		if (evbuffer_get_length(in) < COLO_RECORD_HDR + (size_t)len)
			return;		/* the rest is still on its way */
		payload = evbuffer_pullup(in, COLO_RECORD_HDR + (ssize_t)len);
		if (!payload) {
			channel_drop(ch, "out of memory reading a record");
			return;
		}
		payload += COLO_RECORD_HDR;
		want = colo_record_crc(hdr, payload, len);
		if (crc != want) {
			snprintf(why, sizeof(why), "%s record of %" PRIu32 " bytes "
				 "has crc %08" PRIx32 ", expected %08" PRIx32
				 " (corrupt stream)", colo_record_name(type), len,
				 crc, want);
			channel_drop(ch, why);
			return;
		}
		ch->bytes_in += COLO_RECORD_HDR + (uint64_t)len;
		ch->in_callback = 1;
		ret = ch->ops->record(ch, type, payload, len, ch->opaque);
		ch->in_callback = 0;
		if (ret) {
			close_channel(ch, "record refused");
			return;
		}
		evbuffer_drain(in, COLO_RECORD_HDR + (size_t)len);
	}
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct channel *ch = arg;

	(void)bev;
	if (ch->open && ch->ops->writable)
		ch->ops->writable(ch, ch->opaque);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct channel *ch = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char why[160];

	if (what & BEV_EVENT_EOF) {
		if (evbuffer_get_length(in))
			snprintf(why, sizeof(why), "%s closed the connection in "
				 "the middle of a record (%zu bytes of it "
				 "arrived): truncated stream", ch->peer,
				 evbuffer_get_length(in));
		else
			snprintf(why, sizeof(why), "%s closed the connection",
				 ch->peer);
	} else if (what & BEV_EVENT_ERROR) {
		snprintf(why, sizeof(why), "connection with %s failed: %s",
			 ch->peer, strerror(EVUTIL_SOCKET_ERROR()));
	} else {
		return;
	}
	pr_info("%s", why);
	close_channel(ch, why);
}

/*
 * Small records go out at once: without TCP_NODELAY each one waits for a
 * delayed ACK (~40 ms), and a checkpoint is several (design.md, section
 * 4). A local socket has no Nagle to turn off: the tests' socketpairs.
 */
static int set_nodelay(int fd, const char *peer)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int one = 1, err;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0)
		return 0;
	err = errno;
	if (err == EOPNOTSUPP && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    ss.ss_family == AF_UNIX)
		return 0;
	pr_err("cannot set TCP_NODELAY on the connection with %s: %s; "
	       "without it every record waits for a delayed ACK", peer,
	       strerror(err));
	return -err;
}

struct channel *channel_new(struct event_base *base, int fd,
			    const struct channel_ops *ops, void *opaque,
			    const char *peer)
{
	struct channel *ch;

	if (set_nodelay(fd, peer))
		return NULL;
	ch = calloc(1, sizeof(*ch));
	if (!ch) {
		pr_err("out of memory for a channel to %s", peer);
		return NULL;
	}
	evutil_make_socket_nonblocking(fd);
	ch->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!ch->bev) {
		pr_err("cannot set up the connection with %s", peer);
		free(ch);
		return NULL;
	}
	ch->ops = ops;
	ch->opaque = opaque;
	ch->open = 1;
	snprintf(ch->peer, sizeof(ch->peer), "%s", peer);
	bufferevent_setcb(ch->bev, on_read, on_write, on_event, ch);
	bufferevent_setwatermark(ch->bev, EV_WRITE, CHANNEL_LOW_WATERMARK, 0);
	bufferevent_enable(ch->bev, EV_READ | EV_WRITE);
	return ch;
}

int channel_set_timeouts(struct channel *ch, unsigned timeout_ms)
{
	int fd = (int)bufferevent_getfd(ch->bev), one = 1;
	int idle = timeout_ms / 2000 ? (int)(timeout_ms / 2000) : 1;
	int intvl = idle, cnt = 2;
	unsigned user = timeout_ms;

	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user, sizeof(user))) {
		int ret = -errno;

		pr_err("cannot set keepalive and a %u ms user timeout on the "
		       "connection with %s: %s", timeout_ms, ch->peer,
		       strerror(errno));
		return ret;
	}
	return 0;
}

void channel_free(struct channel *ch)
{
	if (!ch)
		return;
	bufferevent_free(ch->bev);
	free(ch);
}

int channel_sendv(struct channel *ch, uint16_t type, const struct iovec *iov,
		  int n)
{
	struct evbuffer *out = bufferevent_get_output(ch->bev);
	uint8_t hdr[COLO_RECORD_HDR];
	uint32_t len = 0;

	if (!ch->open)
		return -EPIPE;
	for (int i = 0; i < n; i++)
		len += (uint32_t)iov[i].iov_len;
	if (len > COLO_RECORD_MAX) {
		pr_err("a %s record of %" PRIu32 " bytes is over the limit",
		       colo_record_name(type), len);
		return -EMSGSIZE;
	}
	colo_record_header(hdr, type, iov, n);
	if (evbuffer_add(out, hdr, sizeof(hdr)))
		goto nomem;
	for (int i = 0; i < n; i++)
		if (iov[i].iov_len && evbuffer_add(out, iov[i].iov_base,
						   iov[i].iov_len))
			goto nomem;
	ch->bytes_out += sizeof(hdr) + len;
	return 0;
nomem:
	channel_drop(ch, "out of memory queueing a record");
	return -ENOMEM;
}

int channel_send(struct channel *ch, uint16_t type, const void *payload,
		 uint32_t len)
{
	struct iovec iov = { (void *)payload, len };

	return channel_sendv(ch, type, &iov, len ? 1 : 0);
}

size_t channel_pending(const struct channel *ch)
{
	return evbuffer_get_length(bufferevent_get_output(ch->bev));
}

uint64_t channel_bytes_out(const struct channel *ch)
{
	return ch->bytes_out;
}

uint64_t channel_bytes_in(const struct channel *ch)
{
	return ch->bytes_in;
}

int channel_is_open(const struct channel *ch)
{
	return ch->open;
}

const char *channel_peer(const struct channel *ch)
{
	return ch->peer;
}

/*
 * Write what the socket takes now, without waiting for the loop: a
 * handler that queues much (a checkpoint's final pass) lets its first
 * records cross while it builds the rest. Never blocks; a socket that
 * fails is left for the bufferevent to report. A socket bufferevent
 * keeps the start of its output frozen but in its own write callback,
 * which does what this does.
 */
void channel_push(struct channel *ch)
{
	struct evbuffer *out = bufferevent_get_output(ch->bev);

	if (!ch->open || !evbuffer_get_length(out))
		return;
	evbuffer_unfreeze(out, 1);
	evbuffer_write(out, bufferevent_getfd(ch->bev));
	evbuffer_freeze(out, 1);
}
