/*
 * fuzz_channel.c - the checkpoint channel's record framing
 * (checkpoint/channel.c on_read()), driven through a real channel on an
 * AF_UNIX socketpair and a libevent loop, the way the daemons run it.
 *
 * Input: one mode byte, one split byte, then the byte stream the peer
 * sends. Mode bit 0: the CRC of every header whose record is all there
 * is made right first (else the fuzzer would rarely get past the CRC);
 * bit 1: the owner hands each record to its decoder (records.c) and
 * refuses those the decoder refuses, as a daemon's record table does;
 * bits 2-3: 1 the channel has a key and is the responder (the
 * secondary, channel_auth()), 2 it has one and is the initiator (the
 * primary), 0 and 3 a plain link ([security] insecure). The stream is
 * written in two parts, the first split/256 of it, the loop run, then
 * the rest and EOF, so records arrive cut.
 *
 * Checked beyond no crash: on a plain link, the records handed on are
 * exactly those a plain reading of the format (colo_proto.h) finds, in
 * order, with their payload bytes, up to the first bad header, over-long
 * length, bad CRC, handshake record (AUTH_*, refused without a key),
 * refused record or the end; the bytes counted in are the records handed
 * on. With a key, whatever the stream (the fuzzer holds no key, and the
 * nonces are fresh), no record reaches the owner and the link is never
 * authenticated. Either way closed() comes exactly once, after the last
 * record, and never a record after it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "auth.h"
#include "channel.h"
#include "colo_proto.h"
#include "fuzz.h"

struct expect {
	size_t *off;			/* each record's header in the stream */
	size_t n;
};

struct run {
	const uint8_t *stream;
	const struct expect *want;
	bool decode;			/* mode bit 1 */
	bool keyed;			/* mode bits 2-3: 1 or 2 */
	bool refused;			/* the last record was refused */
	size_t got;			/* records handed on so far */
	uint64_t bytes;			/* and their bytes, headers included */
	unsigned closed;		/* closed() calls */
};

static uint32_t crc_of(const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
	return colo_record_crc(hdr, payload, len);
}

/*
 * The records a reader of colo_proto.h finds in s[0, n), into *e; with
 * fix, the CRC of each whole record is made right first (in s).
 * e->off has room for n / COLO_RECORD_HDR records.
 */
static void plain_reading(uint8_t *s, size_t n, bool fix, struct expect *e)
{
	size_t off = 0;

	e->n = 0;
	while (n - off >= COLO_RECORD_HDR) {
		uint8_t *h = s + off;
		uint16_t type = get_be16(h), flags = get_be16(h + 2);
		uint32_t len = get_be32(h + 4);

		if (type < 1 || type > COLO_RECORD_TYPE_MAX || flags ||
		    len > COLO_RECORD_MAX ||
		    n - off - COLO_RECORD_HDR < len)
			return;
		if (fix)
			put_be32(h + 8, crc_of(h, h + COLO_RECORD_HDR, len));
		if (get_be32(h + 8) != crc_of(h, h + COLO_RECORD_HDR, len))
			return;
		if (auth_record_type(type))
			return;		/* a plain link has no handshake */
		e->off[e->n++] = off;
		off += COLO_RECORD_HDR + (size_t)len;
	}
}

static int on_record(struct channel *ch, uint16_t type, const uint8_t *payload,
		     uint32_t len, void *opaque)
{
	struct run *r = opaque;
	const uint8_t *h;

	(void)ch;
	FUZZ_CHECK(!r->keyed);		/* no key, no record */
	FUZZ_CHECK(!r->closed);
	FUZZ_CHECK(r->got < r->want->n);
	h = r->stream + r->want->off[r->got];
	FUZZ_CHECK(type == get_be16(h) && len == get_be32(h + 4));
	FUZZ_CHECK(len == 0 || memcmp(payload, h + COLO_RECORD_HDR, len) == 0);
	r->got++;
	r->bytes += COLO_RECORD_HDR + (uint64_t)len;
	if (r->decode && fuzz_record(type, payload, len, 4096)) {
		r->refused = true;
		return -EPROTO;
	}
	return 0;
}

static void on_closed(struct channel *ch, const char *why, void *opaque)
{
	struct run *r = opaque;

	(void)ch;
	FUZZ_CHECK(why != NULL);
	r->closed++;
}

static const struct channel_ops ops = {
	.record = on_record,
	.closed = on_closed,
};

/* Write s[0, n) to fd, running the loop while the socket is full. */
static void feed(struct event_base *base, int fd, const uint8_t *s, size_t n,
		 const struct run *r)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			if (r->closed)
				return;		/* nobody reads any more */
			event_base_loop(base, EVLOOP_ONCE);
			continue;
		}
		if (w < 0)
			return;			/* EPIPE: it dropped us */
		s += w;
		n -= (size_t)w;
	}
}

int fuzz_channel(const uint8_t *data, size_t size)
{
	static struct event_base *base;
	struct expect want;
	struct fuzz_in in = { data, size };
	uint8_t mode = fuzz_u8(&in), split = fuzz_u8(&in);
	const uint8_t *src;
	size_t n = fuzz_take(&in, size, &src), first;
	uint8_t *s = malloc(n ? n : 1);
	struct run r = { 0 };
	struct channel *ch;
	unsigned role;
	int sv[2];

	want.off = malloc((n / COLO_RECORD_HDR + 1) * sizeof(*want.off));
	FUZZ_CHECK(s != NULL && want.off != NULL);
	if (!base)
		base = event_base_new();
	FUZZ_CHECK(base != NULL);
	fuzz_log_reset();
	memcpy(s, src, n);
	plain_reading(s, n, mode & 1, &want);
	r.stream = s;
	r.want = &want;
	r.decode = mode & 2;
	role = (mode >> 2) & 3;
	r.keyed = role == 1 || role == 2;

	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	ch = channel_new(base, sv[0], &ops, &r, "fuzz peer");
	FUZZ_CHECK(ch != NULL);
	if (r.keyed)
		FUZZ_CHECK(channel_auth(ch, fuzz_key(0), role == 1 ?
					AUTH_RESPONDER : AUTH_INITIATOR, 0) == 0);

	first = n * split / 256;
	feed(base, sv[1], s, first, &r);
	event_base_loop(base, EVLOOP_NONBLOCK);	/* what came so far */
	feed(base, sv[1], s + first, n - first, &r);
	shutdown(sv[1], SHUT_WR);
	/* the EOF, at the latest, closes it: the loop cannot run dry */
	while (!r.closed)
		FUZZ_CHECK(event_base_loop(base, EVLOOP_ONCE) == 0);

	FUZZ_CHECK(r.closed == 1);
	if (r.keyed) {
		/* the handshake's records are counted, none handed on */
		FUZZ_CHECK(r.got == 0 && !channel_authenticated(ch));
		FUZZ_CHECK(channel_bytes_in(ch) <= n);
	} else {
		FUZZ_CHECK(channel_bytes_in(ch) == r.bytes);
		/* every record a reading finds comes, up to a refused one */
		FUZZ_CHECK(r.refused || r.got == want.n);
	}
	FUZZ_CHECK(!channel_is_open(ch));
	channel_free(ch);
	close(sv[1]);
	free(want.off);
	free(s);
	return 0;
}
