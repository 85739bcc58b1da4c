/*
 * colo_proto.h - the checkpoint stream between a primary and a secondary.
 *
 * One TCP connection, opened by the primary, carries records both ways.
 * Every record is a 12-byte header, a payload and, once the link is
 * authenticated, a 16-byte tag; every integer on the wire is big-endian
 * and every field is checked on receipt.
 *
 *   0       2       4               8              12
 *   +-------+-------+---------------+---------------+------------------+----------+
 *   | type  | flags |    length     |    crc32c     | payload (length) | tag (16) |
 *   +-------+-------+---------------+---------------+------------------+----------+
 *
 * crc32c (crc32c.h) covers the first 8 header bytes, then the payload.
 * flags: bit 0 (COLO_FLAG_TAG) says a tag follows the payload (length
 * does not count it); the other bits are reserved (0). A record longer
 * than COLO_RECORD_MAX, of an unknown type, with other flags than the
 * link's state calls for, a bad CRC, a bad tag or a malformed payload
 * drops the connection with the reason logged; it never takes a daemon
 * down.
 *
 * Authentication (auth.h, both ends in auth.c; protocol 5). Every
 * connection (the checkpoint link and the mirror link) begins with a
 * handshake that proves both ends hold the pre-shared key K ([security]
 * psk_file), in records without a tag (flags 0):
 *
 *   primary (initiator)                       secondary (responder)
 *   AUTH_HELLO(v1, id(K), Ni) --------------> same key id?
 *         <---------------------------------- AUTH_CHALLENGE(id(K), Nr, Pr)
 *   Pr right?
 *   AUTH_PROOF(Pi) -------------------------> Pi right?
 *   -- from here every record carries a tag, both ways --
 *   HELLO ...
 *
 *   Ni, Nr  32 random bytes each (RAND_bytes), fresh per connection
 *   Pr      HMAC-SHA256(K, "colo-auth-v1 responder" || Ni || Nr)
 *   Pi      HMAC-SHA256(K, "colo-auth-v1 initiator" || Ni || Nr)
 *   id(K)   the first 8 bytes of HMAC-SHA256(K, "colo-auth-v1 key id"):
 *           names a key in logs, proves nothing
 *   keys    HKDF-SHA256(K, salt Ni || Nr, info "colo-auth-v1
 *           initiator->responder" or "... responder->initiator"): one
 *           AES-256 key per direction, new on every connection
 *   tag     AES-256-GCM with an empty plaintext (GMAC): the 12-byte
 *           header and the payload are its additional data, its 96-bit
 *           nonce is be32 0 || be64 n, n the record's number in its
 *           direction after the handshake (0, 1, ...; never on the wire)
 *
 * Anything but the record the handshake expects next, a wrong key or a
 * handshake not done within its time drops the connection before a
 * record reaches the daemon. A record forged, altered (its CRC fixed
 * up), dropped, reordered or replayed from this or another connection
 * carries a tag that does not match its number and key: refused. With
 * [security] insecure = yes there is no handshake and no tag (flags 0),
 * as in protocol 4. Nothing is encrypted.
 *
 * The life of a pair, as in QEMU's COLO:
 *
 *   primary                                   secondary
 *   (AUTH_HELLO, AUTH_CHALLENGE, AUTH_PROOF: above)
 *   HELLO ----------------------------------> HELLO check (magic, version,
 *         <---------------------------------- HELLO   page size, guest hash)
 *   RAM_BLOCKS, LAYOUT, PAGES ... (pre-copy, guest    -> RAM cache, and
 *     running; a LAYOUT at each pass)                  our stopped guest
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
 *
 * Each payload below has a struct, and its encoder and decoder, declared
 * here and defined side by side in one file, as CRIU's page-xfer.c keeps
 * both ends of its protocol: colo_proto.c for the fixed-size records,
 * page_stream.c for PAGES and RAM_BLOCKS (it encodes them), vmm/layout.c
 * for LAYOUT (declared in layout.h). A decoder checks the
 * exact length and every range the payload alone can show, and refuses
 * with -EPROTO and one log line naming the record, the value expected
 * and the value received; on refusal its output is left as it was.
 * Checks that need the daemon's state (this id is the checkpoint in
 * progress, this role and page size are the ones we want) stay in the
 * daemons.
 */
#ifndef COLO_PROTO_H
#define COLO_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#define COLO_PROTO_MAGIC	0x434f4c4fu	/* "COLO" */
#define COLO_PROTO_VERSION	5	/* 2: VMSTATE_SIZE carries the guest
					 * clock; 3: the mirror link; 4: CRC-32C
					 * instead of zlib's CRC-32; 5: the
					 * authenticated link (AUTH_*, tags) */
#define COLO_RECORD_HDR		12
#define COLO_RECORD_MAX		(8u << 20)	/* payload bytes */
#define COLO_FLAG_TAG		0x0001	/* a tag (COLO_TAG_LEN) follows */
#define COLO_TAG_LEN		16	/* GMAC of header and payload */

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
	/* the mirror link (netcompare/mirror_proto.h codes them) */
	COLO_MIRROR_HELLO = 15,
	COLO_MIRROR_INPUT = 16,
	COLO_MIRROR_TICK = 17,
	COLO_MIRROR_EPOCH = 18,
	COLO_MIRROR_OUTPUT = 19,
	/* the authentication handshake (auth.h codes them) */
	COLO_AUTH_HELLO = 20,
	COLO_AUTH_CHALLENGE = 21,
	COLO_AUTH_PROOF = 22,
	COLO_RECORD_TYPE_MAX = 22,
};

/* Name of a record type for logs ("?" when unknown). */
const char *colo_record_name(unsigned type);

/* The header of a record of type whose payload is iov[0, n), at hdr. */
void colo_record_header(uint8_t hdr[COLO_RECORD_HDR], uint16_t type,
			const struct iovec *iov, int n);
/* The same with these flags (COLO_FLAG_TAG on an authenticated link). */
void colo_record_header_flags(uint8_t hdr[COLO_RECORD_HDR], uint16_t type,
			      uint16_t flags, const struct iovec *iov, int n);
/* The crc a record with this header (its first 8 bytes) and payload
 * must carry. */
uint32_t colo_record_crc(const uint8_t *hdr, const uint8_t *payload,
			 uint32_t len);

/* HELLO payload (both ways): be32 each field but session, be64 that. */
#define COLO_HELLO_LEN		32
#define COLO_COMPRESS_MAX	9	/* zlib's highest level */
enum colo_role { COLO_ROLE_PRIMARY = 1, COLO_ROLE_SECONDARY = 2 };
struct colo_hello {
	uint32_t magic;			/* COLO_PROTO_MAGIC */
	uint32_t version;		/* COLO_PROTO_VERSION */
	uint32_t page_size;		/* a power of two */
	uint32_t role;			/* enum colo_role of the sender */
	uint32_t guest_hash;		/* crc32 of the guest binary and libs */
	uint32_t compress_level;	/* what the primary sends; 0 = none,
					 * at most COLO_COMPRESS_MAX */
	/* the primary's random id of this pairing, which its mirror
	 * link's MIRROR_HELLO repeats; the secondary answers with it */
	uint64_t session;
};

void colo_hello_encode(const struct colo_hello *h, uint8_t out[COLO_HELLO_LEN]);
/* Checks magic, role (either one), page size, compress level;
 * the version, which role and which page size are the daemon's call. */
int colo_hello_decode(const uint8_t *payload, uint32_t len,
		      struct colo_hello *h);

/* CHECKPOINT_READY, GUEST_SHUTDOWN: no payload. 0, or -EPROTO (logged)
 * when len is not 0. */
int colo_empty_decode(uint16_t type, uint32_t len);

/* CHECKPOINT_REQUEST, CHECKPOINT_REPLY, VMSTATE_SEND, VMSTATE_RECEIVED:
 * be64 checkpoint id. Ids count from 1 (every id on the wire is). */
#define COLO_ID_LEN		8
struct colo_id {
	uint64_t id;			/* >= 1 */
};

void colo_id_encode(const struct colo_id *m, uint8_t out[COLO_ID_LEN]);
/* type names the record in the log. */
int colo_id_decode(uint16_t type, const uint8_t *payload, uint32_t len,
		   struct colo_id *m);

/* VMSTATE_SIZE payload: be64 each field, in this order. Unknown flags
 * are refused. */
#define COLO_VMSTATE_SIZE_LEN	40
#define COLO_VMSTATE_VERIFY	1	/* a MEMHASH came: compare after loading */
#define COLO_VMSTATE_HOLD	2	/* keep the guest stopped after loading */
#define COLO_VMSTATE_FLAGS	(COLO_VMSTATE_VERIFY | COLO_VMSTATE_HOLD)
struct colo_vmstate_size {
	uint64_t id;			/* >= 1 */
	uint64_t pages;			/* page entries of the PAGES records
					 * since VMSTATE_SEND */
	uint64_t bytes;			/* and their payload bytes: at least
					 * COLO_PAGE_HDR a page */
	uint64_t flags;			/* COLO_VMSTATE_* */
	/* The guest clock (ms) at the primary guest's pause: the secondary
	 * resumes its guest at it, so guest time is one clock on both. */
	uint64_t clock_ms;
};

void colo_vmstate_size_encode(const struct colo_vmstate_size *m,
			      uint8_t out[COLO_VMSTATE_SIZE_LEN]);
int colo_vmstate_size_decode(const uint8_t *payload, uint32_t len,
			     struct colo_vmstate_size *m);

/* VMSTATE_LOADED payload: be64 id, be32 verify (checked on receipt: it
 * indexes tables). */
#define COLO_VMSTATE_LOADED_LEN	12
enum colo_verify {
	COLO_VERIFY_NONE = 0,		/* not asked */
	COLO_VERIFY_SAME = 1,		/* the secondary's guest is identical */
	COLO_VERIFY_DIFFERS = 2,
	COLO_VERIFY_MAX = 2,
};
struct colo_vmstate_loaded {
	uint64_t id;			/* >= 1 */
	uint32_t verify;		/* enum colo_verify */
};

void colo_vmstate_loaded_encode(const struct colo_vmstate_loaded *m,
				uint8_t out[COLO_VMSTATE_LOADED_LEN]);
int colo_vmstate_loaded_decode(const uint8_t *payload, uint32_t len,
			       struct colo_vmstate_loaded *m);

/* HEARTBEAT payload: be64 the sender's monotonic milliseconds. */
#define COLO_HEARTBEAT_LEN	8
struct colo_heartbeat {
	uint64_t ms;
};

void colo_heartbeat_encode(const struct colo_heartbeat *m,
			   uint8_t out[COLO_HEARTBEAT_LEN]);
int colo_heartbeat_decode(const uint8_t *payload, uint32_t len,
			  struct colo_heartbeat *m);

/* MEMHASH payload: be32 crc32 of the primary guest's RAM (in address
 * order), be64 its bytes. */
#define COLO_MEMHASH_LEN	12
struct colo_memhash {
	uint32_t crc;
	uint64_t bytes;
};

void colo_memhash_encode(const struct colo_memhash *m,
			 uint8_t out[COLO_MEMHASH_LEN]);
int colo_memhash_decode(const uint8_t *payload, uint32_t len,
			struct colo_memhash *m);

/*
 * PAGES payload: entries back to back, each a header (be64 addr, u8
 * encoding, be32 len) and len bytes of data. Coded in page_stream.c,
 * the encoder's file.
 */
enum colo_page_encoding {
	COLO_PAGE_RAW = 0,		/* page_size bytes */
	COLO_PAGE_ZERO = 1,		/* no bytes: all zero */
	COLO_PAGE_ZLIB = 2,		/* zlib stream inflating to page_size */
};
#define COLO_PAGE_HDR		13	/* be64 addr, u8 encoding, be32 len */
struct colo_page {
	uint64_t addr;			/* guest address, page aligned */
	uint8_t encoding;		/* enum colo_page_encoding */
	uint32_t len;			/* bytes at data: page_size (RAW), 0
					 * (ZERO), 1..page_size (ZLIB) */
	const uint8_t *data;		/* decoded: points into the payload */
};

/* Write pg at out, which has room for COLO_PAGE_HDR + pg->len bytes;
 * the bytes written. */
size_t colo_page_encode(const struct colo_page *pg, uint8_t *out);

/*
 * The entry of PAGES payload [payload, payload + len) at *off, into *pg;
 * *off moves past it. Start with *off = 0. 1: an entry; 0: the end;
 * -EPROTO (logged): a header or data past the end, an unknown encoding,
 * a length its encoding does not have for page_size, an address that is
 * not page aligned. Whether the page is in a RAM block is the caller's.
 */
int colo_pages_next(const uint8_t *payload, uint32_t len, size_t page_size,
		    uint32_t *off, struct colo_page *pg);

/* RAM_BLOCKS payload: be32 count, then per block: be64 start, be64 len.
 * Coded in page_stream.c, the encoder's file. */
#define COLO_RAM_BLOCK_LEN	16
#define COLO_RAM_BLOCKS_LEN(n)	(4 + (size_t)(n) * COLO_RAM_BLOCK_LEN)
struct colo_ram_block {
	uint64_t start;			/* page aligned */
	uint64_t len;			/* bytes, page aligned, not 0 */
};

/* n blocks at out, which has room for COLO_RAM_BLOCKS_LEN(n) bytes. */
void colo_ram_blocks_encode(const struct colo_ram_block *blocks, uint32_t n,
			    uint8_t *out);

/*
 * RAM_BLOCKS payload into *blocks (malloc'ed, the caller frees it; NULL
 * when *n is 0) and *n. -EPROTO (logged) when the count does not match
 * the length or a block is empty, not page aligned, wraps around, or is
 * not above the one before it; -ENOMEM (logged). On failure *blocks and
 * *n are left as they were. Reserved ranges are the caller's to check.
 */
int colo_ram_blocks_decode(const uint8_t *payload, uint32_t len,
			   size_t page_size, struct colo_ram_block **blocks,
			   uint32_t *n);

/* LAYOUT payload: coded in vmm/layout.c (layout_encode, layout_decode). */

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

#endif /* COLO_PROTO_H */
