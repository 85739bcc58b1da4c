/*
 * auth.h - the authenticated replication link: the pre-shared key, the
 * handshake that proves both ends hold it, and the tag every record
 * carries after it (the wire format is colo_proto.h's).
 *
 * Both ends live in auth.c, as colo_proto.c keeps both ends of its
 * records: the key file, the three handshake records' encoders and
 * decoders, the handshake itself (an initiator, the primary, and a
 * responder, the secondary) and the per-record tags. The channel
 * (channel.c) runs it; a daemon only hands the channel its key.
 *
 * Crypto is OpenSSL's libcrypto (3.0): RAND_bytes for nonces, HMAC-SHA256
 * for the proofs and the key id, HKDF-SHA256 for the session keys, and
 * AES-256-GCM with an empty plaintext (GMAC) for the tags, which runs at
 * several GB/s with AES-NI and (V)PCLMULQDQ: bench/bench_auth.c measures
 * it against the plain stream. Nothing is encrypted.
 */
#ifndef COLO_AUTH_H
#define COLO_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "colo_proto.h"

#define AUTH_KEY_LEN		32	/* the pre-shared key, bytes */
#define AUTH_KEY_ID_LEN		8	/* its id in logs */
#define AUTH_NONCE_LEN		32
#define AUTH_MAC_LEN		32	/* an HMAC-SHA256 proof */
#define AUTH_VERSION		1	/* of the handshake below */

/*
 * A key file is either 64 hex digits and an optional newline (what
 * coloctl genkey writes) or 32 raw bytes; a regular file, owned by this
 * user or root, that neither group nor others may read or write.
 */
#define AUTH_KEY_FILE_HEX	(2 * AUTH_KEY_LEN)

struct auth_key {
	uint8_t bytes[AUTH_KEY_LEN];
	/* HMAC-SHA256(key, "colo-auth-v1 key id"), its first bytes: names
	 * the key in logs (both nodes must show the same), proves nothing */
	uint8_t id[AUTH_KEY_ID_LEN];
	char path[256];			/* the file it came from, for logs */
};

/*
 * Read the key file at path into *key. 0, or a negative errno with the
 * reason logged, naming the file and the fix: missing or unreadable,
 * not a regular file, readable or writable by group or others, owned
 * by another user, or not a key (its size or its digits).
 */
int auth_key_load(const char *path, struct auth_key *key);

/*
 * A new random key in a new file at path, mode 0600, as 64 hex digits
 * and a newline; *key (may be NULL) gets it. An existing file is never
 * overwritten (-EEXIST). 0, or a negative errno, logged.
 */
int auth_key_generate(const char *path, struct auth_key *key);

/* The key's id as 16 hex digits and a NUL. */
void auth_key_id_hex(const struct auth_key *key, char out[2 * AUTH_KEY_ID_LEN + 1]);

/* --- the handshake records (payloads of colo_proto.h's AUTH_*) ------------- */

/* AUTH_HELLO (initiator -> responder): be32 version, key id, nonce. */
#define AUTH_HELLO_LEN		(4 + AUTH_KEY_ID_LEN + AUTH_NONCE_LEN)
struct auth_hello {
	uint32_t version;		/* AUTH_VERSION */
	uint8_t key_id[AUTH_KEY_ID_LEN];	/* the initiator's key's */
	uint8_t nonce[AUTH_NONCE_LEN];	/* Ni: not all zero */
};

/* AUTH_CHALLENGE (responder -> initiator): key id, nonce, proof. */
#define AUTH_CHALLENGE_LEN	(AUTH_KEY_ID_LEN + AUTH_NONCE_LEN + AUTH_MAC_LEN)
struct auth_challenge {
	uint8_t key_id[AUTH_KEY_ID_LEN];	/* the responder's key's */
	uint8_t nonce[AUTH_NONCE_LEN];	/* Nr: not all zero */
	uint8_t proof[AUTH_MAC_LEN];	/* Pr */
};

/* AUTH_PROOF (initiator -> responder): the proof. */
#define AUTH_PROOF_LEN		AUTH_MAC_LEN
struct auth_proof {
	uint8_t proof[AUTH_MAC_LEN];	/* Pi */
};

/* The largest handshake payload. */
#define AUTH_MSG_MAX		AUTH_CHALLENGE_LEN

/*
 * Encoders, and decoders that check the exact length and every value
 * the payload alone can show (a known version, nonces not all zero);
 * a refusal is -EPROTO and one log line naming the record, what was
 * expected and what came, with the output left as it was.
 */
void auth_hello_encode(const struct auth_hello *m, uint8_t out[AUTH_HELLO_LEN]);
int auth_hello_decode(const uint8_t *payload, uint32_t len,
		      struct auth_hello *m);
void auth_challenge_encode(const struct auth_challenge *m,
			   uint8_t out[AUTH_CHALLENGE_LEN]);
int auth_challenge_decode(const uint8_t *payload, uint32_t len,
			  struct auth_challenge *m);
void auth_proof_encode(const struct auth_proof *m, uint8_t out[AUTH_PROOF_LEN]);
int auth_proof_decode(const uint8_t *payload, uint32_t len,
		      struct auth_proof *m);

/* Is type one of the handshake's records? */
bool auth_record_type(uint16_t type);

/* --- the handshake and the tags -------------------------------------------- */

enum auth_role {
	AUTH_INITIATOR,			/* the primary: it connects */
	AUTH_RESPONDER,			/* the secondary: it accepts */
};

struct auth_session;

/* A handshake record to send: type 0 when there is none. */
struct auth_msg {
	uint16_t type;			/* COLO_AUTH_* or 0 */
	uint32_t len;
	uint8_t payload[AUTH_MSG_MAX];
};

/* A session of one connection with peer ("IPV4:PORT", for messages).
 * NULL when out of memory or the cipher cannot be set up (logged). */
struct auth_session *auth_session_new(const struct auth_key *key,
				      enum auth_role role, const char *peer);
/* Wipes the keys. NULL is fine. */
void auth_session_free(struct auth_session *a);

/* The first record: an initiator's AUTH_HELLO (a fresh nonce), nothing
 * for a responder. 0, or a negative errno (logged) when there is no
 * randomness. */
int auth_begin(struct auth_session *a, struct auth_msg *out);

/*
 * A record came while the handshake runs (its CRC checked). 0 when it
 * is the one expected and right, with *reply to send (type 0: none);
 * auth_done() then says whether the link is authenticated. Else -EPROTO
 * (another record, or a malformed one) or -EACCES (a wrong key), with
 * why (len bytes) saying what was expected, what came and what to fix,
 * naming the peer and the key file; nothing logged here but a
 * decoder's line.
 */
int auth_step(struct auth_session *a, uint16_t type, const uint8_t *payload,
	      uint32_t len, struct auth_msg *reply, char *why, size_t wlen);

/* Both ends proved the key: every record from now on carries a tag. */
bool auth_done(const struct auth_session *a);

/* The record the handshake waits for ("AUTH_CHALLENGE"), for messages;
 * "" once done. */
const char *auth_expecting(const struct auth_session *a);

/*
 * The tag of our next record (header hdr, payload iov[0, n)), at tag;
 * our record number advances. 0, or -EIO (logged: the cipher failed).
 * Costs one pass of GHASH over the record (see bench_auth).
 */
int auth_seal(struct auth_session *a, const uint8_t hdr[COLO_RECORD_HDR],
	      const struct iovec *iov, int n, uint8_t tag[COLO_TAG_LEN]);

/*
 * Does tag belong to the peer's next record (hdr, payload)? 0, and the
 * peer's record number advances; -EBADMSG when it does not (forged,
 * altered, dropped, reordered or replayed); -EIO (logged) when the
 * cipher failed. Compared in constant time.
 */
int auth_open(struct auth_session *a, const uint8_t hdr[COLO_RECORD_HDR],
	      const uint8_t *payload, uint32_t len,
	      const uint8_t tag[COLO_TAG_LEN]);

/* The number the peer's next record has (records since the handshake). */
uint64_t auth_rx_seq(const struct auth_session *a);

#endif /* COLO_AUTH_H */
