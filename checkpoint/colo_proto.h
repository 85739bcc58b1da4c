/*
 * colo_proto.h - the checkpoint stream between a primary and a secondary.
 *
 * One TCP connection, opened by the primary, carries records both ways.
 * Every record is a 12-byte header and a payload; every integer on the
 * wire is big-endian and every field is checked on receipt.
 *
 *   0       2       4               8              12
 *   +-------+-------+---------------+---------------+---------------...
 *   | type  | flags |    length     |     crc32     |  payload (length)
 *   +-------+-------+---------------+---------------+---------------...
 *
 * crc32 (zlib) covers the first 8 header bytes, then the payload; flags
 * is 0 (reserved). A record longer than COLO_RECORD_MAX, of an unknown
 * type, with a bad CRC or a malformed payload drops the connection with
 * the reason logged; it never takes a daemon down.
 *
 * The life of a pair, as in QEMU's COLO:
 *
 *   primary                                   secondary
 *   HELLO ----------------------------------> HELLO check (magic, version,
 *         <---------------------------------- HELLO   page size, guest hash)
 *   RAM_BLOCKS, PAGES ... (pre-copy, guest running) -> RAM cache
 *   -- checkpoint (the first one ends the initial sync) --
 *   [stop guest] CHECKPOINT_REQUEST(id) ----> [stop guest]
 *         <---------------------------------- CHECKPOINT_REPLY(id)
 *   VMSTATE_SEND(id)                -------->
 *   RAM_BLOCKS?, PAGES ..., LAYOUT  --------> RAM cache
 *   VMSTATE_SIZE(id, pages, bytes)  --------> all of it arrived?
 *         <---------------------------------- VMSTATE_RECEIVED(id)
 *                                             mirror layout, flush cache
 *                                             (received | own dirty)
 *         <---------------------------------- VMSTATE_LOADED(id)
 *   [resume guest]                            [resume guest]
 *         <---------------------------------- CHECKPOINT_READY (after the
 *                                             first: the pair is in COLO)
 *   RAM_BLOCKS, PAGES ... (between checkpoints, guest running)
 *   HEARTBEAT <-----------------------------> HEARTBEAT (both ways)
 *   GUEST_SHUTDOWN -------------------------> the pair stops
 *
 * A checkpoint that does not arrive whole is never applied: the
 * secondary's guest changes only after VMSTATE_SIZE matched.
 */
#ifndef COLO_PROTO_H
#define COLO_PROTO_H

#include <stdint.h>
#include <string.h>

#define COLO_PROTO_MAGIC	0x434f4c4fu	/* "COLO" */
#define COLO_PROTO_VERSION	2	/* 2: VMSTATE_SIZE carries the guest clock */
#define COLO_RECORD_HDR		12
#define COLO_RECORD_MAX		(8u << 20)	/* payload bytes */

enum colo_record_type {
	COLO_HELLO = 1,
	COLO_CHECKPOINT_READY = 2,
	COLO_CHECKPOINT_REQUEST = 3,
	COLO_CHECKPOINT_REPLY = 4,
	COLO_VMSTATE_SEND = 5,
	COLO_VMSTATE_SIZE = 6,
	COLO_VMSTATE_RECEIVED = 7,
	COLO_VMSTATE_LOADED = 8,
	COLO_GUEST_SHUTDOWN = 9,
	COLO_HEARTBEAT = 10,
	COLO_RAM_BLOCKS = 11,
	COLO_PAGES = 12,
	COLO_LAYOUT = 13,
	COLO_MEMHASH = 14,
	COLO_RECORD_TYPE_MAX = 14,
};

/* HELLO payload (both ways). */
#define COLO_HELLO_LEN		32
enum colo_role { COLO_ROLE_PRIMARY = 1, COLO_ROLE_SECONDARY = 2 };
struct colo_hello {
	uint32_t magic;			/* COLO_PROTO_MAGIC */
	uint32_t version;		/* COLO_PROTO_VERSION */
	uint32_t page_size;
	uint32_t role;			/* enum colo_role of the sender */
	uint32_t guest_hash;		/* crc32 of the guest binary and libs */
	uint32_t compress_level;	/* what the primary sends; 0 = none */
	uint64_t reserved;		/* 0 */
};

/* PAGES payload: entries back to back, each a header and its data. */
enum colo_page_encoding {
	COLO_PAGE_RAW = 0,		/* page_size bytes */
	COLO_PAGE_ZERO = 1,		/* no bytes: all zero */
	COLO_PAGE_ZLIB = 2,		/* zlib stream inflating to page_size */
};
#define COLO_PAGE_HDR		13	/* be64 addr, u8 encoding, be32 len */

/* RAM_BLOCKS payload: be32 count, then per block: be64 start, be64 len. */
#define COLO_RAM_BLOCK_LEN	16

/* CHECKPOINT_REQUEST, CHECKPOINT_REPLY, VMSTATE_SEND, VMSTATE_RECEIVED:
 * be64 checkpoint id. */
#define COLO_ID_LEN		8

/* VMSTATE_SIZE payload: be64 id, be64 pages and be64 bytes of the PAGES
 * records since VMSTATE_SEND, be64 flags, be64 the guest clock (ms) at
 * the primary guest's pause: the secondary resumes its guest at it, so
 * guest time is one clock on both hosts. Unknown flags are refused. */
#define COLO_VMSTATE_SIZE_LEN	40
#define COLO_VMSTATE_VERIFY	1	/* a MEMHASH came: compare after loading */
#define COLO_VMSTATE_HOLD	2	/* keep the guest stopped after loading */
#define COLO_VMSTATE_FLAGS	(COLO_VMSTATE_VERIFY | COLO_VMSTATE_HOLD)

/* MEMHASH payload: be32 crc32 of the primary guest's RAM (in address
 * order), be64 its bytes. */
#define COLO_MEMHASH_LEN	12

/* VMSTATE_LOADED payload: be64 id, be32 verify (COLO_VERIFY_*, checked
 * on receipt: it indexes tables). */
#define COLO_VMSTATE_LOADED_LEN	12
enum colo_verify {
	COLO_VERIFY_NONE = 0,		/* not asked */
	COLO_VERIFY_SAME = 1,		/* the secondary's guest is identical */
	COLO_VERIFY_DIFFERS = 2,
	COLO_VERIFY_MAX = 2,
};

/* HEARTBEAT payload: be64 the sender's monotonic milliseconds. */
#define COLO_HEARTBEAT_LEN	8

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get_be32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 8 | p[i];
	return v;
}

static inline uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Name of a record type for logs ("?" when unknown). */
const char *colo_record_name(unsigned type);

void colo_hello_encode(const struct colo_hello *h, uint8_t out[COLO_HELLO_LEN]);
void colo_hello_decode(const uint8_t in[COLO_HELLO_LEN], struct colo_hello *h);

#endif /* COLO_PROTO_H */
