/*
 * fuzz_auth_peer.c - the replication link's authentication, checkpoint/auth.c:
 * the handshake (auth_begin, auth_step) and the tags after it (auth_seal,
 * auth_open), one session under test against an honest peer session
 * that holds our key or another, with the fuzzer in between: it passes
 * the peer's records on, changes them, replays or drops them, or sends
 * its own. What we send the peer is passed on as it is.
 *
 * Input: a mode byte (bit 0: we are the responder, the secondary, else
 * the initiator; bit 1: the peer holds the other key), then steps until
 * the input ends, each an opcode byte (op % 8) and its arguments:
 *   0  the peer's next handshake record, as it is
 *   1  the same, one byte of its payload changed (a position byte and a
 *      xor byte)
 *   2  a record of the fuzzer's own: be16 type, a length byte, the bytes
 *   3  after the handshake: the peer's next record, tagged (a type byte,
 *      a length byte, the payload)
 *   4  the same, one byte of header, payload or tag changed (a position
 *      byte and a xor byte)
 *   5  the peer's last tagged record again (a replay)
 *   6  one tagged record of the peer's lost, then the next (as 3)
 *   7  our next record, tagged, to the peer (as 3)
 * A refusal drops the connection, as the channel does: the input ends.
 *
 * Checked beyond no crash: auth_step answers 0, -EPROTO or -EACCES, a
 * refusal with a reason (a C string, not empty) and at most the decoder's
 * one error line; our handshake completes only if every record we took
 * in it was the peer's, unchanged, and the peer holds our key, and then
 * the peer's is complete too (a forger cannot get in); with the peer's
 * records passed on unchanged and the same key it does complete, and
 * with the other key it is refused -EACCES at the first record that
 * names the key. After it: a record tagged by the peer opens (and one of
 * ours at the peer), and any change to its header, payload or tag, a
 * replay or a lost record before it, is -EBADMSG.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "auth.h"
#include "colo_proto.h"
#include "fuzz.h"

struct wire {				/* a record between the two */
	uint8_t hdr[COLO_RECORD_HDR];
	uint8_t payload[256];
	uint32_t len;
	uint8_t tag[COLO_TAG_LEN];
};

struct run {
	struct auth_session *us, *peer;
	bool same_key;
	struct auth_msg pending;	/* the peer's next record to us */
	bool tainted;			/* we took a record not the peer's */
	bool dead;			/* we refused: the link is gone */
	struct wire last;		/* the peer's last tagged record */
	bool have_last;
};

/* Our reply (may be none) to the peer, as the network carries it. */
static void to_peer(struct run *r, const struct auth_msg *m)
{
	char why[512];

	r->pending.type = 0;
	if (!m->type)
		return;
	if (auth_step(r->peer, m->type, m->payload, m->len, &r->pending, why,
		      sizeof(why)))
		r->pending.type = 0;	/* the peer dropped us */
}

/* A handshake record (type, p, len) to us. */
static void to_us(struct run *r, uint16_t type, const uint8_t *p, uint32_t len,
		  bool honest)
{
	struct auth_msg reply;
	char why[512];
	unsigned e0 = fuzz_log_count(LOG_ERROR);
	int ret;

	if (auth_done(r->us))
		return;			/* the channel checks tags now */
	/* the peer's very bytes, whoever passes them on */
	honest = honest || (r->pending.type && type == r->pending.type &&
			    len == r->pending.len &&
			    memcmp(p, r->pending.payload, len) == 0);
	if (!honest)
		r->tainted = true;
	why[0] = '\0';
	memset(why + 1, 'x', sizeof(why) - 1);
	ret = auth_step(r->us, type, p, len, &reply, why, sizeof(why));
	if (honest)
		r->pending.type = 0;	/* taken */
	if (ret) {
		FUZZ_CHECK(ret == -EPROTO || ret == -EACCES);
		FUZZ_CHECK(why[0] != '\0' && memchr(why, '\0', sizeof(why)));
		FUZZ_CHECK(fuzz_log_count(LOG_ERROR) - e0 <= 1);
		FUZZ_CHECK(fuzz_log_count(LOG_ERROR) == e0 || ret == -EPROTO);
		FUZZ_CHECK(reply.type == 0);
		/* the peer's own record with another key: its key id */
		if (honest && !r->tainted && !r->same_key)
			FUZZ_CHECK(ret == -EACCES);
		r->dead = true;
		return;
	}
	FUZZ_CHECK(fuzz_log_count(LOG_ERROR) == e0);
	FUZZ_CHECK(reply.type == 0 || auth_record_type(reply.type));
	FUZZ_CHECK(reply.len <= AUTH_MSG_MAX);
	if (auth_done(r->us)) {
		/* only the peer's own records, and our key, get us here */
		FUZZ_CHECK(!r->tainted && r->same_key);
	}
	to_peer(r, &reply);
	if (auth_done(r->us))
		FUZZ_CHECK(auth_done(r->peer));
	/* honest all along: the last record of the handshake ends it */
	if (!r->tainted && r->same_key &&
	    (type == COLO_AUTH_CHALLENGE || type == COLO_AUTH_PROOF))
		FUZZ_CHECK(auth_done(r->us));
}

/* A record, tagged by from, into w: a type byte, a length byte, the
 * payload. */
static void seal(struct auth_session *from, struct fuzz_in *in, struct wire *w)
{
	uint16_t type = fuzz_u8(in);
	const uint8_t *p;
	struct iovec iov;

	w->len = (uint32_t)fuzz_take(in, fuzz_u8(in), &p);
	memcpy(w->payload, p, w->len);
	iov = (struct iovec){ w->payload, w->len };
	colo_record_header_flags(w->hdr, type, COLO_FLAG_TAG, &iov, 1);
	FUZZ_CHECK(auth_seal(from, w->hdr, &iov, 1, w->tag) == 0);
}

static int open_at(struct auth_session *at, const struct wire *w)
{
	int ret = auth_open(at, w->hdr, w->payload, w->len, w->tag);

	FUZZ_CHECK(ret == 0 || ret == -EBADMSG);
	return ret;
}

/* One byte of w's header, payload or tag changed. */
static void spoil(struct wire *w, uint8_t pos, uint8_t x)
{
	size_t n = COLO_RECORD_HDR + w->len + COLO_TAG_LEN, i = pos % n;

	x |= 1;
	if (i < COLO_RECORD_HDR)
		w->hdr[i] ^= x;
	else if (i < COLO_RECORD_HDR + w->len)
		w->payload[i - COLO_RECORD_HDR] ^= x;
	else
		w->tag[i - COLO_RECORD_HDR - w->len] ^= x;
}

static void step(struct run *r, struct fuzz_in *in)
{
	uint8_t op = fuzz_u8(in) % 8;
	bool done = auth_done(r->us);
	struct wire w;

	switch (op) {
	case 0:
	case 1:
		if (!r->pending.type || done)
			return;
		if (op == 1) {
			struct auth_msg m = r->pending;
			uint8_t pos = fuzz_u8(in), x = fuzz_u8(in);

			if (m.len)
				m.payload[pos % m.len] ^= x | 1;
			to_us(r, m.type, m.payload, m.len, false);
		} else {
			to_us(r, r->pending.type, r->pending.payload,
			      r->pending.len, true);
		}
		return;
	case 2: {
		uint16_t type = fuzz_be16(in);
		const uint8_t *p;
		uint32_t len = (uint32_t)fuzz_take(in, fuzz_u8(in), &p);

		if (!done)
			to_us(r, type, p, len, false);
		return;
	}
	}
	if (!done)
		return;
	switch (op) {
	case 3:
	case 4:
		seal(r->peer, in, &w);
		r->last = w;
		r->have_last = true;
		if (op == 4) {
			uint8_t pos = fuzz_u8(in), x = fuzz_u8(in);

			spoil(&w, pos, x);
			FUZZ_CHECK(open_at(r->us, &w) == -EBADMSG);
			r->dead = true;
			return;
		}
		FUZZ_CHECK(open_at(r->us, &w) == 0);
		return;
	case 5:
		if (!r->have_last)
			return;
		FUZZ_CHECK(open_at(r->us, &r->last) == -EBADMSG);
		r->dead = true;
		return;
	case 6:
		seal(r->peer, in, &w);		/* lost on the way */
		seal(r->peer, in, &w);
		FUZZ_CHECK(open_at(r->us, &w) == -EBADMSG);
		r->dead = true;
		return;
	default:
		seal(r->us, in, &w);
		FUZZ_CHECK(open_at(r->peer, &w) == 0);
		return;
	}
}

int fuzz_auth_peer(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t mode = fuzz_u8(&in);
	bool responder = mode & 1;
	struct run r = { .same_key = !(mode & 2) };
	struct auth_msg first;

	fuzz_log_reset();
	r.us = auth_session_new(fuzz_key(0), responder ? AUTH_RESPONDER :
				AUTH_INITIATOR, "198.51.100.7:7070");
	r.peer = auth_session_new(fuzz_key(r.same_key ? 0 : 1), responder ?
				  AUTH_INITIATOR : AUTH_RESPONDER,
				  "198.51.100.8:7070");
	FUZZ_CHECK(r.us && r.peer);
	FUZZ_CHECK(!auth_done(r.us) && !auth_done(r.peer));
	if (responder) {
		FUZZ_CHECK(auth_begin(r.us, &first) == 0 && first.type == 0);
		FUZZ_CHECK(auth_begin(r.peer, &r.pending) == 0);
		FUZZ_CHECK(r.pending.type == COLO_AUTH_HELLO);
	} else {
		FUZZ_CHECK(auth_begin(r.peer, &first) == 0 && first.type == 0);
		FUZZ_CHECK(auth_begin(r.us, &first) == 0);
		FUZZ_CHECK(first.type == COLO_AUTH_HELLO);
		to_peer(&r, &first);
		/* the peer answers our HELLO with its key's id: the other
		 * key's peer refuses it, and there is nothing to pass on */
		FUZZ_CHECK((r.pending.type == COLO_AUTH_CHALLENGE) == r.same_key);
	}
	while (in.left && !r.dead)
		step(&r, &in);
	auth_session_free(r.us);
	auth_session_free(r.peer);
	return 0;
}
