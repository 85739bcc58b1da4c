/*
 * channel.c - framing, checking and queueing colo_proto records.
 *
 * The frame (header, length bound, CRC, known type, and on an
 * authenticated link the tag) is checked here; a payload is the record's
 * decoder's (colo_proto.c, page_stream.c). The authentication handshake
 * runs here too, before the owner hears of any record (auth.c has both
 * of its ends): what the owner sends meanwhile waits in held, and goes
 * out, tagged, once both ends proved the key.
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
#include "fault.h"

/* A record held in the handshake: be16 type, be32 length, payload. */
#define HELD_HDR	6

struct channel {
	struct bufferevent *bev;
	const struct channel_ops *ops;
	void *opaque;
	char peer[64];
	int open;
	int in_callback;		/* a record() is running */
	uint64_t bytes_in, bytes_out;
	/* channel_auth(): NULL on a plain link ([security] insecure) */
	struct auth_session *auth;
	struct evbuffer *held;		/* the owner's records until auth_done */
	struct event *auth_timer;	/* the handshake's deadline */
	unsigned auth_timeout_ms;
};

static int queue_record(struct channel *ch, uint16_t type,
			const struct iovec *iov, int n, bool tagged);

/*
 * FI_CHANNEL_SEND_FAIL, FI_CHANNEL_RECV_SHORT (fault.h): true, once, for
 * the first PAGES record in the pause of checkpoint COLO_FAULT_AT or a
 * later one. A pause runs from a VMSTATE_SEND to its VMSTATE_SIZE; each
 * record of the direction fault f watches (sent, received) passes here.
 */
static bool fault_pages_in_pause(enum colo_fault f, uint16_t type)
{
	static unsigned long pauses;
	static bool in_pause, struck;

	if (!fault_injected(f) || struck)
		return false;
	if (type == COLO_VMSTATE_SEND)
		in_pause = ++pauses >= fault_at();
	else if (type == COLO_VMSTATE_SIZE)
		in_pause = false;
	else if (type == COLO_PAGES && in_pause) {
		struck = true;
		pr_warn("fault injected (%s): a PAGES record in the pause of "
			"checkpoint %lu (VMSTATE_SEND %lu of this daemon)",
			fault_name(f), pauses, pauses);
		return true;
	}
	return false;
}

static bool authenticating(const struct channel *ch)
{
	return ch->auth && !auth_done(ch->auth);
}

static void close_channel(struct channel *ch, const char *why)
{
	if (!ch->open)
		return;
	ch->open = 0;
	if (ch->auth_timer)
		evtimer_del(ch->auth_timer);
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

/* A peer that failed authentication: why names it and the fix. */
static void refuse(struct channel *ch, const char *why)
{
	pr_err("%s; dropping the connection", why);
	close_channel(ch, why);
}

/* --- the handshake ----------------------------------------------------------- */

/* The owner's records held in the handshake go out, tagged, in order. */
static void send_held(struct channel *ch)
{
	while (ch->open && evbuffer_get_length(ch->held) >= HELD_HDR) {
		uint8_t h[HELD_HDR], *rec;
		struct iovec iov;
		uint32_t len;

		evbuffer_copyout(ch->held, h, sizeof(h));
		len = get_be32(h + 2);
		rec = evbuffer_pullup(ch->held, HELD_HDR + (ssize_t)len);
		if (!rec) {
			channel_drop(ch, "out of memory sending held records");
			return;
		}
		iov = (struct iovec){ rec + HELD_HDR, len };
		if (queue_record(ch, get_be16(h), &iov, len ? 1 : 0, true))
			return;
		evbuffer_drain(ch->held, HELD_HDR + (size_t)len);
	}
}

/* A record of the handshake (its CRC checked): answered, or refused. */
static void handshake_record(struct channel *ch, uint16_t type,
			     const uint8_t *payload, uint32_t len)
{
	struct auth_msg reply;
	char why[480];
	int ret = auth_step(ch->auth, type, payload, len, &reply, why,
			    sizeof(why));

	if (ret) {
		refuse(ch, why);
		return;
	}
	if (reply.type) {
		struct iovec iov = { reply.payload, reply.len };

		/* the last one (the initiator's AUTH_PROOF) untagged too */
		if (queue_record(ch, reply.type, &iov, 1, false))
			return;
	}
	if (!auth_done(ch->auth))
		return;
	evtimer_del(ch->auth_timer);
	pr_info("the connection with %s is authenticated", ch->peer);
	send_held(ch);
}

static void on_auth_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct channel *ch = arg;
	char why[256];

	(void)fd;
	(void)what;
	if (!ch->open || !authenticating(ch))
		return;
	snprintf(why, sizeof(why), "the peer at %s did not complete the "
		 "authentication handshake within %u ms (we wait for its %s)",
		 ch->peer, ch->auth_timeout_ms, auth_expecting(ch->auth));
	refuse(ch, why);
}

int channel_auth(struct channel *ch, const struct auth_key *key,
		 enum auth_role role, unsigned timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	struct auth_msg first;
	int ret;

	if (!key)
		return 0;
	ch->auth = auth_session_new(key, role, ch->peer);
	if (!ch->auth)
		return -ENOMEM;
	ch->held = evbuffer_new();
	ch->auth_timer = evtimer_new(bufferevent_get_base(ch->bev),
				     on_auth_timeout, ch);
	if (!ch->held || !ch->auth_timer) {
		pr_err("out of memory for the handshake with %s", ch->peer);
		return -ENOMEM;
	}
	ch->auth_timeout_ms = timeout_ms;
	if (timeout_ms)
		evtimer_add(ch->auth_timer, &tv);
	ret = auth_begin(ch->auth, &first);
	if (!ret && first.type) {
		struct iovec iov = { first.payload, first.len };

		ret = queue_record(ch, first.type, &iov, 1, false);
	}
	return ret;
}

bool channel_auth_pending(const struct channel *ch)
{
	return authenticating(ch);
}

bool channel_authenticated(const struct channel *ch)
{
	return ch->auth && auth_done(ch->auth);
}

/* --- reading ----------------------------------------------------------------- */

/*
 * A whole record after its CRC, on a link that has a key: the handshake's
 * while it runs; after it, the tag must be this record's. 0 to hand it
 * on, -1 when it is taken or refused.
 */
static int check_auth(struct channel *ch, const uint8_t *hdr, uint16_t type,
		      const uint8_t *payload, uint32_t len)
{
	char why[320];
	int ret;

	if (authenticating(ch)) {
		handshake_record(ch, type, payload, len);
		return -1;
	}
	ret = auth_open(ch->auth, hdr, payload, len, payload + len);
	if (ret == -EBADMSG) {
		snprintf(why, sizeof(why), "record %" PRIu64 " (%s, %" PRIu32
			 " bytes) from the peer at %s fails authentication: "
			 "its tag does not match (forged, altered, dropped, "
			 "reordered or replayed)", auth_rx_seq(ch->auth),
			 colo_record_name(type), len, ch->peer);
		refuse(ch, why);
		return -1;
	}
	if (ret) {
		channel_drop(ch, "the tag of a record cannot be checked "
			     "(libcrypto failed)");
		return -1;
	}
	return 0;
}

/* Take every whole record in the input; a bad one drops the connection. */
static void on_read(struct bufferevent *bev, void *arg)
{
	struct channel *ch = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char why[320];

	while (ch->open && evbuffer_get_length(in) >= COLO_RECORD_HDR) {
		uint8_t hdr[COLO_RECORD_HDR], *payload;
		uint16_t type, flags, want_flags;
		uint32_t len, crc, want;
		size_t whole;
		int ret;

		evbuffer_copyout(in, hdr, sizeof(hdr));
		type = get_be16(hdr);
		flags = get_be16(hdr + 2);
		len = get_be32(hdr + 4);
		crc = get_be32(hdr + 8);
		want_flags = channel_authenticated(ch) ? COLO_FLAG_TAG : 0;
		if (type == 0 || type > COLO_RECORD_TYPE_MAX ||
		    flags != want_flags) {
			if (want_flags)
				snprintf(why, sizeof(why), "bad record header "
					 "(type %u, flags %#x, expected flags %#x "
					 "on an authenticated link): not a colo "
					 "stream, or a corrupt one", type, flags,
					 want_flags);
			else
				snprintf(why, sizeof(why), "bad record header "
					 "(type %u, flags %#x): not a colo stream, "
					 "or a corrupt one", type, flags);
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
		whole = COLO_RECORD_HDR + (size_t)len + (flags ? COLO_TAG_LEN : 0);
		if (evbuffer_get_length(in) < whole)
			return;		/* the rest is still on its way */
		payload = evbuffer_pullup(in, (ssize_t)whole);
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
		if (ch->auth && check_auth(ch, hdr, type, payload, len)) {
			if (!ch->open)
				return;
			ch->bytes_in += whole;	/* the handshake's */
			evbuffer_drain(in, whole);
			continue;
		}
		if (auth_record_type(type)) {
			if (ch->auth)
				snprintf(why, sizeof(why), "%s from the peer at "
					 "%s after the handshake: not colo's "
					 "protocol", colo_record_name(type),
					 ch->peer);
			else
				snprintf(why, sizeof(why), "the peer at %s "
					 "authenticates the link (it sent %s), "
					 "but this daemon has no key ([security] "
					 "insecure = yes): give both nodes the "
					 "same [security] psk_file",
					 ch->peer, colo_record_name(type));
			refuse(ch, why);
			return;
		}
		ch->bytes_in += whole;
		if (fault_pages_in_pause(FI_CHANNEL_RECV_SHORT, type) && len)
			len--;		/* as if cut in the middle */
		ch->in_callback = 1;
		ret = ch->ops->record(ch, type, payload, len, ch->opaque);
		ch->in_callback = 0;
		if (ret) {
			close_channel(ch, "record refused");
			return;
		}
		evbuffer_drain(in, whole);
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
	char why[320];

	if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) && authenticating(ch)) {
		const char *wait = auth_expecting(ch->auth);

		snprintf(why, sizeof(why), "the peer at %s closed the connection "
			 "during the authentication handshake (we wait for its "
			 "%s): %s", ch->peer, wait,
			 strcmp(wait, "AUTH_CHALLENGE") == 0 ?
			 "it refused our key, has none or is not colo (its log "
			 "says why); check both nodes use the same psk_file" :
			 strcmp(wait, "AUTH_PROOF") == 0 ?
			 "it does not know our key, or has none" :
			 "it sent nothing");
	} else if (what & BEV_EVENT_EOF) {
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
	if (ch->auth_timer)
		event_free(ch->auth_timer);
	if (ch->held)
		evbuffer_free(ch->held);
	auth_session_free(ch->auth);
	bufferevent_free(ch->bev);
	free(ch);
}

/* Into the output now: tagged once authenticated, untagged in the
 * handshake (its own records) and on a plain link. */
static int queue_record(struct channel *ch, uint16_t type,
			const struct iovec *iov, int n, bool tagged)
{
	struct evbuffer *out = bufferevent_get_output(ch->bev);
	uint8_t hdr[COLO_RECORD_HDR], tag[COLO_TAG_LEN];
	uint32_t len = 0;

	if (!ch->open)
		return -EPIPE;
	for (int i = 0; i < n; i++)
		len += (uint32_t)iov[i].iov_len;
	colo_record_header_flags(hdr, type, tagged ? COLO_FLAG_TAG : 0, iov, n);
	if (tagged && auth_seal(ch->auth, hdr, iov, n, tag)) {
		channel_drop(ch, "cannot tag a record (libcrypto failed)");
		return -EIO;
	}
	if (fault_pages_in_pause(FI_CHANNEL_SEND_FAIL, type))
		goto nomem;
	if (evbuffer_add(out, hdr, sizeof(hdr)))
		goto nomem;
	for (int i = 0; i < n; i++)
		if (iov[i].iov_len && evbuffer_add(out, iov[i].iov_base,
						   iov[i].iov_len))
			goto nomem;
	if (tagged && evbuffer_add(out, tag, sizeof(tag)))
		goto nomem;
	ch->bytes_out += sizeof(hdr) + len + (tagged ? sizeof(tag) : 0);
	return 0;
nomem:
	channel_drop(ch, "out of memory queueing a record");
	return -ENOMEM;
}

/* The owner's record in the handshake: held, untagged, for later. */
static int hold_record(struct channel *ch, uint16_t type,
		       const struct iovec *iov, int n, uint32_t len)
{
	uint8_t h[HELD_HDR];

	put_be16(h, type);
	put_be32(h + 2, len);
	if (evbuffer_add(ch->held, h, sizeof(h)))
		goto nomem;
	for (int i = 0; i < n; i++)
		if (iov[i].iov_len && evbuffer_add(ch->held, iov[i].iov_base,
						   iov[i].iov_len))
			goto nomem;
	return 0;
nomem:
	channel_drop(ch, "out of memory holding a record");
	return -ENOMEM;
}

int channel_sendv(struct channel *ch, uint16_t type, const struct iovec *iov,
		  int n)
{
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
	if (authenticating(ch))
		return hold_record(ch, type, iov, n, len);
	return queue_record(ch, type, iov, n, ch->auth != NULL);
}

int channel_send(struct channel *ch, uint16_t type, const void *payload,
		 uint32_t len)
{
	struct iovec iov = { (void *)payload, len };

	return channel_sendv(ch, type, &iov, len ? 1 : 0);
}

size_t channel_pending(const struct channel *ch)
{
	return evbuffer_get_length(bufferevent_get_output(ch->bev)) +
	       (ch->held ? evbuffer_get_length(ch->held) : 0);
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
