/*
 * fuzz_hello.c - the handshake: the peer's HELLO payload through
 * daemon/peer_link.c peer_hello_check(), which decodes it
 * (colo_hello_decode) and checks it against our own HELLO, as the
 * secondary does with the first record of a new connection and the
 * primary with the secondary's answer.
 *
 * Input: a mode byte (bit 0: we are the primary, else the secondary;
 * bit 1: the caller passes no struct for theirs; bit 2: our HELLO is
 * made to agree with the payload, the role the other one, but for the
 * one field that bits 3-5 pick: 0 none, 1 role, 2 version, 3 page size,
 * 4 guest hash, 5 session, 6-7 none), then our HELLO's page size
 * (1 << (byte % 17)), guest hash (be32) and session (two be32), used
 * when bit 2 is clear, then the peer's HELLO payload: the rest.
 *
 * Checked beyond no crash: the answer is 0 or -EPROTO, and 0 exactly
 * when a plain reading of colo_proto.h and peer_link.h takes it (a valid
 * HELLO of the other role, our version, page size and guest hash, and
 * our session when we are the primary); a refusal logs exactly one
 * error line and leaves theirs untouched; a HELLO taken logs nothing
 * and is handed on as decoded, every field.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "colo_proto.h"
#include "fuzz.h"
#include "peer_link.h"

/* What a reader of the format takes: decode's checks and ours. */
static bool plain_reading(const struct colo_hello *ours, const uint8_t *p,
			  uint32_t len, struct colo_hello *h)
{
	uint32_t want = ours->role == COLO_ROLE_PRIMARY ? COLO_ROLE_SECONDARY :
			COLO_ROLE_PRIMARY;

	if (len != COLO_HELLO_LEN)
		return false;
	h->magic = get_be32(p);
	h->version = get_be32(p + 4);
	h->page_size = get_be32(p + 8);
	h->role = get_be32(p + 12);
	h->guest_hash = get_be32(p + 16);
	h->compress_level = get_be32(p + 20);
	h->session = get_be64(p + 24);
	return h->magic == COLO_PROTO_MAGIC && h->role == want &&
	       h->page_size && !(h->page_size & (h->page_size - 1)) &&
	       h->compress_level <= COLO_COMPRESS_MAX &&
	       h->version == ours->version &&
	       h->page_size == ours->page_size &&
	       h->guest_hash == ours->guest_hash &&
	       (ours->role != COLO_ROLE_PRIMARY || h->session == ours->session);
}

static bool same_hello(const struct colo_hello *a, const struct colo_hello *b)
{
	return a->magic == b->magic && a->version == b->version &&
	       a->page_size == b->page_size && a->role == b->role &&
	       a->guest_hash == b->guest_hash &&
	       a->compress_level == b->compress_level &&
	       a->session == b->session;
}

int fuzz_hello(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t mode = fuzz_u8(&in);
	bool primary = mode & 1, no_theirs = mode & 2, agree = mode & 4;
	unsigned differ = (mode >> 3) & 7;
	struct colo_hello ours = {
		.magic = COLO_PROTO_MAGIC,
		.version = COLO_PROTO_VERSION,
		.role = primary ? COLO_ROLE_PRIMARY : COLO_ROLE_SECONDARY,
	};
	struct colo_hello theirs, before, want = { 0 };
	const uint8_t *p;
	uint32_t len;
	unsigned e0;
	bool take;
	int ret;

	ours.page_size = (uint32_t)1 << (fuzz_u8(&in) % 17);
	ours.guest_hash = fuzz_be32(&in);
	ours.session = (uint64_t)fuzz_be32(&in) << 32;
	ours.session |= fuzz_be32(&in);
	len = (uint32_t)fuzz_take(&in, size, &p);
	if (agree && len >= COLO_HELLO_LEN) {
		/* ours as the payload says, then one field apart */
		ours.version = get_be32(p + 4);
		ours.page_size = get_be32(p + 8);
		ours.guest_hash = get_be32(p + 16);
		ours.session = get_be64(p + 24);
		ours.role = get_be32(p + 12) == COLO_ROLE_PRIMARY ?
			    COLO_ROLE_SECONDARY : COLO_ROLE_PRIMARY;
		switch (differ) {
		case 1:
			ours.role = ours.role == COLO_ROLE_PRIMARY ?
				    COLO_ROLE_SECONDARY : COLO_ROLE_PRIMARY;
			break;
		case 2:
			ours.version++;
			break;
		case 3:
			ours.page_size = ours.page_size << 1 ? ours.page_size << 1 : 1;
			break;
		case 4:
			ours.guest_hash ^= 1;
			break;
		case 5:
			ours.session ^= 1;
			break;
		}
	}

	fuzz_log_reset();
	memset(&theirs, 0xa5, sizeof(theirs));
	before = theirs;
	take = plain_reading(&ours, p, len, &want);
	e0 = fuzz_log_count(LOG_ERROR);
	ret = peer_hello_check(&ours, p, len, no_theirs ? NULL : &theirs);
	FUZZ_CHECK(ret == 0 || ret == -EPROTO);
	FUZZ_CHECK((ret == 0) == take);
	if (ret) {
		FUZZ_CHECK(fuzz_log_count(LOG_ERROR) - e0 == 1);
		FUZZ_CHECK(memcmp(&theirs, &before, sizeof(theirs)) == 0);
	} else {
		FUZZ_CHECK(fuzz_log_count(LOG_ERROR) == e0);
		if (!no_theirs)
			FUZZ_CHECK(same_hello(&theirs, &want));
	}
	/* one field apart from a HELLO that agrees: refused, but for the
	 * session, which only the primary checks */
	if (agree && len == COLO_HELLO_LEN && differ >= 1 && differ <= 5 &&
	    !(differ == 5 && ours.role != COLO_ROLE_PRIMARY))
		FUZZ_CHECK(ret == -EPROTO);
	return 0;
}
