/*
 * records.c - one checkpoint record's payload through its decoder, with
 * what colo_proto.h promises of every decoder checked:
 *   - a payload taken holds every range the decoder claims to check, and
 *     its encoder writes the same bytes back (nothing is read loosely);
 *   - a payload refused is -EPROTO, exactly one error line, and the
 *     output left as it was;
 *   - nothing is logged for a payload taken.
 * Used by fuzz_proto (a payload and its type from the input) and
 * fuzz_channel (each record the channel hands on). The handshake's
 * records (AUTH_*, auth.h) go to their decoders too.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "colo_proto.h"
#include "fuzz.h"
#include "mirror_proto.h"

static int hello(const uint8_t *p, uint32_t len)
{
	struct colo_hello h, before;
	uint8_t back[COLO_HELLO_LEN];
	unsigned e0 = fuzz_log_count(LOG_ERROR);
	int ret;

	memset(&h, 0xa5, sizeof(h));
	before = h;
	ret = fuzz_verdict(colo_hello_decode(p, len, &h), e0, &h, &before,
		      sizeof(h));
	if (ret)
		return ret;
	FUZZ_CHECK(len == COLO_HELLO_LEN);
	FUZZ_CHECK(h.magic == COLO_PROTO_MAGIC);
	FUZZ_CHECK(h.role == COLO_ROLE_PRIMARY || h.role == COLO_ROLE_SECONDARY);
	FUZZ_CHECK(h.page_size && !(h.page_size & (h.page_size - 1)));
	FUZZ_CHECK(h.compress_level <= COLO_COMPRESS_MAX);
	colo_hello_encode(&h, back);
	FUZZ_CHECK(memcmp(back, p, len) == 0);
	return 0;
}

static int id(uint16_t type, const uint8_t *p, uint32_t len)
{
	struct colo_id m = { 0x5a5a5a5a5a5a5a5aull }, before = m;
	uint8_t back[COLO_ID_LEN];
	unsigned e0 = fuzz_log_count(LOG_ERROR);
	int ret;

	ret = fuzz_verdict(colo_id_decode(type, p, len, &m), e0, &m, &before,
		      sizeof(m));
	if (ret)
		return ret;
	FUZZ_CHECK(len == COLO_ID_LEN && m.id >= 1);
	colo_id_encode(&m, back);
	FUZZ_CHECK(memcmp(back, p, len) == 0);
	return 0;
}

static int vmstate_size(const uint8_t *p, uint32_t len)
{
	struct colo_vmstate_size m, before;
	uint8_t back[COLO_VMSTATE_SIZE_LEN];
	unsigned e0 = fuzz_log_count(LOG_ERROR);
	int ret;

	memset(&m, 0xa5, sizeof(m));
	before = m;
	ret = fuzz_verdict(colo_vmstate_size_decode(p, len, &m), e0, &m, &before,
		      sizeof(m));
	if (ret)
		return ret;
	FUZZ_CHECK(len == COLO_VMSTATE_SIZE_LEN && m.id >= 1);
	FUZZ_CHECK(!(m.flags & ~(uint64_t)COLO_VMSTATE_FLAGS));
	/* every page counted has at least its header's bytes */
	FUZZ_CHECK(m.pages <= m.bytes / COLO_PAGE_HDR);
	colo_vmstate_size_encode(&m, back);
	FUZZ_CHECK(memcmp(back, p, len) == 0);
	return 0;
}

static int vmstate_loaded(const uint8_t *p, uint32_t len)
{
	struct colo_vmstate_loaded m, before;
	uint8_t back[COLO_VMSTATE_LOADED_LEN];
	unsigned e0 = fuzz_log_count(LOG_ERROR);
	int ret;

	memset(&m, 0xa5, sizeof(m));
	before = m;
	ret = fuzz_verdict(colo_vmstate_loaded_decode(p, len, &m), e0, &m, &before,
		      sizeof(m));
	if (ret)
		return ret;
	FUZZ_CHECK(len == COLO_VMSTATE_LOADED_LEN && m.id >= 1);
	FUZZ_CHECK(m.verify <= COLO_VERIFY_MAX);	/* it indexes tables */
	colo_vmstate_loaded_encode(&m, back);
	FUZZ_CHECK(memcmp(back, p, len) == 0);
	return 0;
}

static int heartbeat(const uint8_t *p, uint32_t len)
{
	struct colo_heartbeat m = { 0x5a5a5a5a5a5a5a5aull }, before = m;
	uint8_t back[COLO_HEARTBEAT_LEN];
	unsigned e0 = fuzz_log_count(LOG_ERROR);
	int ret;

	ret = fuzz_verdict(colo_heartbeat_decode(p, len, &m), e0, &m, &before,
		      sizeof(m));
	if (ret)
		return ret;
	FUZZ_CHECK(len == COLO_HEARTBEAT_LEN);
	colo_heartbeat_encode(&m, back);
	FUZZ_CHECK(memcmp(back, p, len) == 0);
	return 0;
}

static int memhash(const uint8_t *p, uint32_t len)
{
	struct colo_memhash m, before;
	uint8_t back[COLO_MEMHASH_LEN];
	unsigned e0 = fuzz_log_count(LOG_ERROR);
	int ret;

	memset(&m, 0xa5, sizeof(m));
	before = m;
	ret = fuzz_verdict(colo_memhash_decode(p, len, &m), e0, &m, &before,
		      sizeof(m));
	if (ret)
		return ret;
	FUZZ_CHECK(len == COLO_MEMHASH_LEN);
	colo_memhash_encode(&m, back);
	FUZZ_CHECK(memcmp(back, p, len) == 0);
	return 0;
}

static int ram_blocks(const uint8_t *p, uint32_t len, size_t page_size)
{
	static struct colo_ram_block sentinel;
	struct colo_ram_block *b = &sentinel;
	uint32_t n = 0xa5a5a5a5;
	unsigned e0 = fuzz_log_count(LOG_ERROR);
	uint8_t *back;
	int ret;

	ret = colo_ram_blocks_decode(p, len, page_size, &b, &n);
	if (ret) {
		/* -ENOMEM is logged too; the input cannot ask for more than
		 * its own length allows */
		FUZZ_CHECK(ret == -EPROTO);
		FUZZ_CHECK(fuzz_log_count(LOG_ERROR) - e0 == 1);
		FUZZ_CHECK(b == &sentinel && n == 0xa5a5a5a5);
		return ret;
	}
	FUZZ_CHECK(fuzz_log_count(LOG_ERROR) == e0);
	FUZZ_CHECK(len == COLO_RAM_BLOCKS_LEN(n));
	FUZZ_CHECK(n ? b != NULL : b == NULL);
	for (uint32_t i = 0; i < n; i++) {
		FUZZ_CHECK(b[i].len && b[i].start % page_size == 0 &&
			   b[i].len % page_size == 0);
		FUZZ_CHECK(b[i].start + b[i].len > b[i].start);
		if (i)
			FUZZ_CHECK(b[i].start >= b[i - 1].start + b[i - 1].len);
	}
	back = malloc(COLO_RAM_BLOCKS_LEN(n));
	FUZZ_CHECK(back != NULL);
	colo_ram_blocks_encode(b, n, back);
	FUZZ_CHECK(memcmp(back, p, len) == 0);
	free(back);
	free(b);
	return 0;
}

/* Every entry of a PAGES payload, as the RAM cache walks them. */
static int pages(const uint8_t *p, uint32_t len, size_t page_size)
{
	uint8_t *back = malloc(len ? len : 1);
	size_t back_len = 0;
	uint32_t off = 0;
	int ret;

	FUZZ_CHECK(back != NULL);
	for (;;) {
		struct colo_page pg, before;
		uint32_t prev = off;
		unsigned e0 = fuzz_log_count(LOG_ERROR);

		memset(&pg, 0xa5, sizeof(pg));
		before = pg;
		ret = colo_pages_next(p, len, page_size, &off, &pg);
		if (ret == 0) {
			FUZZ_CHECK(fuzz_log_count(LOG_ERROR) == e0);
			FUZZ_CHECK(off == prev && off >= len);
			break;
		}
		if (ret < 0) {
			FUZZ_CHECK(ret == -EPROTO);
			FUZZ_CHECK(fuzz_log_count(LOG_ERROR) - e0 == 1);
			FUZZ_CHECK(off == prev);
			FUZZ_CHECK(memcmp(&pg, &before, sizeof(pg)) == 0);
			break;
		}
		FUZZ_CHECK(ret == 1 && fuzz_log_count(LOG_ERROR) == e0);
		FUZZ_CHECK(off == prev + COLO_PAGE_HDR + pg.len && off <= len);
		FUZZ_CHECK(pg.data == p + prev + COLO_PAGE_HDR);
		FUZZ_CHECK(pg.addr % page_size == 0);
		switch (pg.encoding) {
		case COLO_PAGE_RAW:
			FUZZ_CHECK(pg.len == page_size);
			break;
		case COLO_PAGE_ZERO:
			FUZZ_CHECK(pg.len == 0);
			break;
		case COLO_PAGE_ZLIB:
			FUZZ_CHECK(pg.len >= 1 && pg.len <= page_size);
			break;
		default:
			FUZZ_CHECK(!"an encoding colo_proto.h does not have");
		}
		back_len += colo_page_encode(&pg, back + back_len);
		FUZZ_CHECK(back_len == off);
	}
	/* the entries taken are the bytes they came from */
	FUZZ_CHECK(memcmp(back, p, back_len) == 0);
	free(back);
	return ret < 0 ? -EPROTO : 0;
}

/* MIRROR_HELLO, MIRROR_TICK, MIRROR_EPOCH: one be64. */
static int mirror_u64(uint16_t type, const uint8_t *p, uint32_t len)
{
	unsigned e0 = fuzz_log_count(LOG_ERROR);
	uint64_t v = 0x5a5a5a5a5a5a5a5aull, before = v;
	uint8_t back[8];
	int ret;

	ret = fuzz_verdict(mirror_u64_decode(type, p, len, &v), e0, &v, &before,
		      sizeof(v));
	if (ret)
		return ret;
	FUZZ_CHECK(len == 8);
	FUZZ_CHECK(type != COLO_MIRROR_EPOCH || v != 0);
	mirror_u64_encode(v, back);
	FUZZ_CHECK(memcmp(back, p, 8) == 0);
	return 0;
}

/* MIRROR_INPUT, MIRROR_OUTPUT: a stamp and a frame in bounds. */
static int mirror_frame(uint16_t type, const uint8_t *p, uint32_t len)
{
	unsigned e0 = fuzz_log_count(LOG_ERROR);
	struct mirror_frame m = { .stamp = 1 }, before = m;
	uint8_t back[MIRROR_FRAME_HDR];
	int ret;

	ret = fuzz_verdict(mirror_frame_decode(type, p, len, &m), e0, &m, &before,
		      sizeof(m));
	if (ret)
		return ret;
	FUZZ_CHECK(m.len >= MIRROR_FRAME_MIN && m.len <= MIRROR_FRAME_MAX);
	FUZZ_CHECK(m.frame == p + MIRROR_FRAME_HDR);
	FUZZ_CHECK(MIRROR_FRAME_HDR + m.len == len);
	FUZZ_CHECK(type != COLO_MIRROR_OUTPUT || m.stamp != 0);
	mirror_frame_hdr(m.stamp, back);
	FUZZ_CHECK(memcmp(back, p, sizeof(back)) == 0);
	return 0;
}

/* CHECKPOINT_READY, GUEST_SHUTDOWN; or a type that is no fixed-size
 * record, which is refused (a caller's bug, said) whatever its length. */
static int empty(uint16_t type, uint32_t len)
{
	unsigned e0 = fuzz_log_count(LOG_ERROR);
	int ret = fuzz_verdict(colo_empty_decode(type, len), e0, NULL, NULL, 0);

	if (!ret)
		FUZZ_CHECK(len == 0);
	return ret;
}

/* AUTH_HELLO, AUTH_CHALLENGE, AUTH_PROOF (auth.h): the fields taken are
 * the bytes, the version known, nonces not all zero. */
static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static int auth_rec(uint16_t type, const uint8_t *p, uint32_t len)
{
	unsigned e0 = fuzz_log_count(LOG_ERROR);
	uint8_t back[AUTH_MSG_MAX];
	int ret;

	if (type == COLO_AUTH_HELLO) {
		struct auth_hello m, before;

		memset(&m, 0xa5, sizeof(m));
		before = m;
		ret = fuzz_verdict(auth_hello_decode(p, len, &m), e0, &m, &before,
			      sizeof(m));
		if (ret)
			return ret;
		FUZZ_CHECK(len == AUTH_HELLO_LEN && m.version == AUTH_VERSION);
		FUZZ_CHECK(!all_zero(m.nonce, sizeof(m.nonce)));
		auth_hello_encode(&m, back);
	} else if (type == COLO_AUTH_CHALLENGE) {
		struct auth_challenge m, before;

		memset(&m, 0xa5, sizeof(m));
		before = m;
		ret = fuzz_verdict(auth_challenge_decode(p, len, &m), e0, &m,
			      &before, sizeof(m));
		if (ret)
			return ret;
		FUZZ_CHECK(len == AUTH_CHALLENGE_LEN);
		FUZZ_CHECK(!all_zero(m.nonce, sizeof(m.nonce)));
		auth_challenge_encode(&m, back);
	} else {
		struct auth_proof m, before;

		memset(&m, 0xa5, sizeof(m));
		before = m;
		ret = fuzz_verdict(auth_proof_decode(p, len, &m), e0, &m, &before,
			      sizeof(m));
		if (ret)
			return ret;
		FUZZ_CHECK(len == AUTH_PROOF_LEN);
		auth_proof_encode(&m, back);
	}
	FUZZ_CHECK(memcmp(back, p, len) == 0);
	return 0;
}

int fuzz_record(uint16_t type, const uint8_t *payload, uint32_t len,
		size_t page_size)
{
	const char *name = colo_record_name(type);

	FUZZ_CHECK(name != NULL);
	FUZZ_CHECK((type >= 1 && type <= COLO_RECORD_TYPE_MAX) ==
		   (strcmp(name, "?") != 0));
	switch (type) {
	case COLO_HELLO:
		return hello(payload, len);
	case COLO_CHECKPOINT_READY:
	case COLO_GUEST_SHUTDOWN:
		return empty(type, len);
	case COLO_CHECKPOINT_REQUEST:
	case COLO_CHECKPOINT_REPLY:
	case COLO_VMSTATE_SEND:
	case COLO_VMSTATE_RECEIVED:
		return id(type, payload, len);
	case COLO_VMSTATE_SIZE:
		return vmstate_size(payload, len);
	case COLO_VMSTATE_LOADED:
		return vmstate_loaded(payload, len);
	case COLO_HEARTBEAT:
		return heartbeat(payload, len);
	case COLO_RAM_BLOCKS:
		return ram_blocks(payload, len, page_size);
	case COLO_PAGES:
		return pages(payload, len, page_size);
	case COLO_LAYOUT:
		return fuzz_layout_payload(payload, len);
	case COLO_MEMHASH:
		return memhash(payload, len);
	case COLO_MIRROR_HELLO:
	case COLO_MIRROR_TICK:
	case COLO_MIRROR_EPOCH:
		return mirror_u64(type, payload, len);
	case COLO_MIRROR_INPUT:
	case COLO_MIRROR_OUTPUT:
		return mirror_frame(type, payload, len);
	case COLO_AUTH_HELLO:
	case COLO_AUTH_CHALLENGE:
	case COLO_AUTH_PROOF:
		return auth_rec(type, payload, len);
	default:
		/* no type of the stream: the decoders that take a type
		 * refuse it, whatever its length */
		FUZZ_CHECK(empty(type, len) == -EPROTO);
		FUZZ_CHECK(id(type, payload, len) == -EPROTO);
		return -EPROTO;
	}
}
