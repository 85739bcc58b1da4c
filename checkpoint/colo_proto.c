/*
 * colo_proto.c - both ends of every fixed-size record of colo_proto.h.
 *
 * An encoder writes a payload struct as its bytes; the decoder next to it
 * reads them back, checking the exact length and every range the payload
 * alone can show. A refusal is -EPROTO and one log line, here, naming the
 * record, what was expected and what came; the daemon then only drops
 * the connection.
 */
#include <errno.h>
#include <inttypes.h>

#define LOG_PREFIX "colo-proto: "
#include "log.h"
#include "colo_proto.h"
#include "crc32c.h"

#define LEN_VARIES	UINT32_MAX	/* checked by the record's decoder */

/* Per record type: its name for logs, and its payload length. */
static const struct {
	const char *name;
	uint32_t len;
} records[] = {
	[COLO_HELLO] = { "HELLO", COLO_HELLO_LEN },
	[COLO_CHECKPOINT_READY] = { "CHECKPOINT_READY", 0 },
	[COLO_CHECKPOINT_REQUEST] = { "CHECKPOINT_REQUEST", COLO_ID_LEN },
	[COLO_CHECKPOINT_REPLY] = { "CHECKPOINT_REPLY", COLO_ID_LEN },
	[COLO_VMSTATE_SEND] = { "VMSTATE_SEND", COLO_ID_LEN },
	[COLO_VMSTATE_SIZE] = { "VMSTATE_SIZE", COLO_VMSTATE_SIZE_LEN },
	[COLO_VMSTATE_RECEIVED] = { "VMSTATE_RECEIVED", COLO_ID_LEN },
	[COLO_VMSTATE_LOADED] = { "VMSTATE_LOADED", COLO_VMSTATE_LOADED_LEN },
	[COLO_GUEST_SHUTDOWN] = { "GUEST_SHUTDOWN", 0 },
	[COLO_HEARTBEAT] = { "HEARTBEAT", COLO_HEARTBEAT_LEN },
	[COLO_RAM_BLOCKS] = { "RAM_BLOCKS", LEN_VARIES },
	[COLO_PAGES] = { "PAGES", LEN_VARIES },
	[COLO_LAYOUT] = { "LAYOUT", LEN_VARIES },
	[COLO_MEMHASH] = { "MEMHASH", COLO_MEMHASH_LEN },
	[COLO_MIRROR_HELLO] = { "MIRROR_HELLO", LEN_VARIES },
	[COLO_MIRROR_INPUT] = { "MIRROR_INPUT", LEN_VARIES },
	[COLO_MIRROR_TICK] = { "MIRROR_TICK", LEN_VARIES },
	[COLO_MIRROR_EPOCH] = { "MIRROR_EPOCH", LEN_VARIES },
	[COLO_MIRROR_OUTPUT] = { "MIRROR_OUTPUT", LEN_VARIES },
	/* coded in auth.c */
	[COLO_AUTH_HELLO] = { "AUTH_HELLO", LEN_VARIES },
	[COLO_AUTH_CHALLENGE] = { "AUTH_CHALLENGE", LEN_VARIES },
	[COLO_AUTH_PROOF] = { "AUTH_PROOF", LEN_VARIES },
};

const char *colo_record_name(unsigned type)
{
	if (type == 0 || type > COLO_RECORD_TYPE_MAX)
		return "?";
	return records[type].name;
}

void colo_record_header(uint8_t hdr[COLO_RECORD_HDR], uint16_t type,
			const struct iovec *iov, int n)
{
	colo_record_header_flags(hdr, type, 0, iov, n);
}

void colo_record_header_flags(uint8_t hdr[COLO_RECORD_HDR], uint16_t type,
			      uint16_t flags, const struct iovec *iov, int n)
{
	uint32_t len = 0, crc;

	for (int i = 0; i < n; i++)
		len += (uint32_t)iov[i].iov_len;
	put_be16(hdr, type);
	put_be16(hdr + 2, flags);
	put_be32(hdr + 4, len);
	crc = crc32c(0, hdr, 8);
	for (int i = 0; i < n; i++)
		crc = crc32c(crc, iov[i].iov_base, iov[i].iov_len);
	put_be32(hdr + 8, crc);
}

uint32_t colo_record_crc(const uint8_t *hdr, const uint8_t *payload,
			 uint32_t len)
{
	return crc32c(crc32c(0, hdr, 8), payload, len);
}

/* A payload of the length its record type has? Logs why not. */
static int check_len(uint16_t type, uint32_t len)
{
	uint32_t want = type && type <= COLO_RECORD_TYPE_MAX ?
			records[type].len : LEN_VARIES;

	if (want == LEN_VARIES) {
		pr_err("%s is not a fixed-size record (a caller's bug)",
		       colo_record_name(type));
		return -EPROTO;
	}
	if (len != want) {
		pr_err("%s record of %" PRIu32 " bytes, expected %" PRIu32,
		       colo_record_name(type), len, want);
		return -EPROTO;
	}
	return 0;
}

/* An id on the wire, of record type: 1 or more. */
static int check_id(uint16_t type, uint64_t id)
{
	if (id)
		return 0;
	pr_err("%s of checkpoint 0, expected an id of 1 or more",
	       colo_record_name(type));
	return -EPROTO;
}

/* --- HELLO --------------------------------------------------------------- */

void colo_hello_encode(const struct colo_hello *h, uint8_t out[COLO_HELLO_LEN])
{
	put_be32(out, h->magic);
	put_be32(out + 4, h->version);
	put_be32(out + 8, h->page_size);
	put_be32(out + 12, h->role);
	put_be32(out + 16, h->guest_hash);
	put_be32(out + 20, h->compress_level);
	put_be64(out + 24, h->session);
}

int colo_hello_decode(const uint8_t *payload, uint32_t len,
		      struct colo_hello *out)
{
	struct colo_hello h;

	if (check_len(COLO_HELLO, len))
		return -EPROTO;
	h.magic = get_be32(payload);
	h.version = get_be32(payload + 4);
	h.page_size = get_be32(payload + 8);
	h.role = get_be32(payload + 12);
	h.guest_hash = get_be32(payload + 16);
	h.compress_level = get_be32(payload + 20);
	h.session = get_be64(payload + 24);
	if (h.magic != COLO_PROTO_MAGIC) {
		pr_err("HELLO with magic %#" PRIx32 ", expected %#x: the peer "
		       "does not speak colo", h.magic, COLO_PROTO_MAGIC);
		return -EPROTO;
	}
	if (h.role != COLO_ROLE_PRIMARY && h.role != COLO_ROLE_SECONDARY) {
		pr_err("HELLO with role %" PRIu32 ", expected %d (primary) or "
		       "%d (secondary)", h.role, COLO_ROLE_PRIMARY,
		       COLO_ROLE_SECONDARY);
		return -EPROTO;
	}
	if (!h.page_size || (h.page_size & (h.page_size - 1))) {
		pr_err("HELLO with page size %" PRIu32 ", expected a power "
		       "of two", h.page_size);
		return -EPROTO;
	}
	if (h.compress_level > COLO_COMPRESS_MAX) {
		pr_err("HELLO with compress level %" PRIu32 ", expected 0..%d",
		       h.compress_level, COLO_COMPRESS_MAX);
		return -EPROTO;
	}
	*out = h;
	return 0;
}

/* --- CHECKPOINT_READY, GUEST_SHUTDOWN ------------------------------------ */

int colo_empty_decode(uint16_t type, uint32_t len)
{
	return check_len(type, len);
}

/* --- CHECKPOINT_REQUEST, CHECKPOINT_REPLY, VMSTATE_SEND, VMSTATE_RECEIVED */

void colo_id_encode(const struct colo_id *m, uint8_t out[COLO_ID_LEN])
{
	put_be64(out, m->id);
}

int colo_id_decode(uint16_t type, const uint8_t *payload, uint32_t len,
		   struct colo_id *out)
{
	struct colo_id m;

	if (check_len(type, len))
		return -EPROTO;
	m.id = get_be64(payload);
	if (check_id(type, m.id))
		return -EPROTO;
	*out = m;
	return 0;
}

/* --- VMSTATE_SIZE -------------------------------------------------------- */

void colo_vmstate_size_encode(const struct colo_vmstate_size *m,
			      uint8_t out[COLO_VMSTATE_SIZE_LEN])
{
	put_be64(out, m->id);
	put_be64(out + 8, m->pages);
	put_be64(out + 16, m->bytes);
	put_be64(out + 24, m->flags);
	put_be64(out + 32, m->clock_ms);
}

int colo_vmstate_size_decode(const uint8_t *payload, uint32_t len,
			     struct colo_vmstate_size *out)
{
	struct colo_vmstate_size m;

	if (check_len(COLO_VMSTATE_SIZE, len))
		return -EPROTO;
	m.id = get_be64(payload);
	m.pages = get_be64(payload + 8);
	m.bytes = get_be64(payload + 16);
	m.flags = get_be64(payload + 24);
	m.clock_ms = get_be64(payload + 32);
	if (check_id(COLO_VMSTATE_SIZE, m.id))
		return -EPROTO;
	if (m.flags & ~(uint64_t)COLO_VMSTATE_FLAGS) {
		pr_err("VMSTATE_SIZE of checkpoint %" PRIu64 " with flags %#"
		       PRIx64 ", expected only flags of %#x (unknown flags)",
		       m.id, m.flags, COLO_VMSTATE_FLAGS);
		return -EPROTO;
	}
	if (m.pages > m.bytes / COLO_PAGE_HDR) {
		pr_err("VMSTATE_SIZE of checkpoint %" PRIu64 " counts %" PRIu64
		       " pages in %" PRIu64 " bytes, expected at least %d "
		       "bytes a page", m.id, m.pages, m.bytes, COLO_PAGE_HDR);
		return -EPROTO;
	}
	*out = m;
	return 0;
}

/* --- VMSTATE_LOADED ------------------------------------------------------ */

void colo_vmstate_loaded_encode(const struct colo_vmstate_loaded *m,
				uint8_t out[COLO_VMSTATE_LOADED_LEN])
{
	put_be64(out, m->id);
	put_be32(out + 8, m->verify);
}

int colo_vmstate_loaded_decode(const uint8_t *payload, uint32_t len,
			       struct colo_vmstate_loaded *out)
{
	struct colo_vmstate_loaded m;

	if (check_len(COLO_VMSTATE_LOADED, len))
		return -EPROTO;
	m.id = get_be64(payload);
	m.verify = get_be32(payload + 8);
	if (check_id(COLO_VMSTATE_LOADED, m.id))
		return -EPROTO;
	if (m.verify > COLO_VERIFY_MAX) {
		pr_err("VMSTATE_LOADED of checkpoint %" PRIu64 " says verify %"
		       PRIu32 ", expected 0..%d", m.id, m.verify,
		       COLO_VERIFY_MAX);
		return -EPROTO;
	}
	*out = m;
	return 0;
}

/* --- HEARTBEAT ----------------------------------------------------------- */

void colo_heartbeat_encode(const struct colo_heartbeat *m,
			   uint8_t out[COLO_HEARTBEAT_LEN])
{
	put_be64(out, m->ms);
}

int colo_heartbeat_decode(const uint8_t *payload, uint32_t len,
			  struct colo_heartbeat *out)
{
	if (check_len(COLO_HEARTBEAT, len))
		return -EPROTO;
	out->ms = get_be64(payload);
	return 0;
}

/* --- MEMHASH ------------------------------------------------------------- */

void colo_memhash_encode(const struct colo_memhash *m,
			 uint8_t out[COLO_MEMHASH_LEN])
{
	put_be32(out, m->crc);
	put_be64(out + 4, m->bytes);
}

int colo_memhash_decode(const uint8_t *payload, uint32_t len,
			struct colo_memhash *out)
{
	if (check_len(COLO_MEMHASH, len))
		return -EPROTO;
	out->crc = get_be32(payload);
	out->bytes = get_be64(payload + 4);
	return 0;
}
