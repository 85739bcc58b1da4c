/*
 * fake_peer.h - raw records and scripted fake peers for the pair tests;
 * their errors go to pair_why, as pair_lib's do.
 */
#ifndef COLO_TEST_FAKE_PEER_H
#define COLO_TEST_FAKE_PEER_H

#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "colo_proto.h"

/* --- raw records to the secondary ---------------------------------------- */

/* A TCP connection to the secondary on pair_port (tries for 5 s), or -1;
 * authenticated when the pair has a key (pair_key()): its records then
 * carry their tags. One the daemon refused at once (closed in the
 * handshake) comes back unauthenticated. */
int pair_connect_secondary(void);
/* The same, never authenticated: a peer without the key. */
int pair_connect_plain(void);

/*
 * One record (payload up to 8 KiB) on fd: flip_bit >= 0 flips that bit
 * of the payload after the CRC was computed; cut bytes are left off its
 * end. 0, or -1.
 */
int pair_send_record(int fd, uint16_t type, const uint8_t *payload,
		     uint32_t len, int flip_bit, uint32_t cut);

/* A primary's HELLO with this version and guest hash. */
int pair_hello(int fd, uint32_t version, uint32_t guest_hash);

/*
 * The authentication handshake on a connected fd as role (the daemon
 * has the other), with key (NULL: the pair's): the session, which the
 * caller frees (auth_session_free), or NULL with pair_why (a daemon
 * that refused says why in its log).
 */
struct auth_session *pair_handshake(int fd, enum auth_role role,
				    const struct auth_key *key);

/* A whole record (header, payload and, with session a, its tag; a
 * NULL: untagged) at buf, which has room for COLO_RECORD_HDR + len +
 * COLO_TAG_LEN: its length, or 0 (pair_why). The record gets a's next
 * number: sending the same bytes twice is a replay. */
size_t pair_record_bytes(struct auth_session *a, uint16_t type,
			 const uint8_t *payload, uint32_t len, uint8_t *buf);
/* Bytes on fd as they are: 0, or -1. */
int pair_send_bytes(int fd, const uint8_t *buf, size_t len);
/* An untagged record from fd (the handshake's) within timeout_ms: 0,
 * or -1 (pair_why: closed, late, bad). */
int pair_read_plain(int fd, uint16_t *type, uint8_t *payload, uint32_t max,
		    uint32_t *len, int timeout_ms);

/* The secondary closes fd (which is closed here, its session forgotten),
 * and its log says why: 0, or -1. */
int pair_expect_dropped(int fd, const char *why);

/* --- scripted fake peers -------------------------------------------------- */

/*
 * One connection to a real daemon, records read and written by the test
 * step by step. While a fake waits for a record (fake_until, fake_pump)
 * it sends a HEARTBEAT every FAKE_HEARTBEAT_MS, so the daemon never takes
 * it for silent; everything else it is sent is ignored unless asked for.
 */
#define FAKE_HEARTBEAT_MS	250

struct fake_peer {
	bool used;		/* a slot of the pool */
	int fd;			/* the connection; -1 before accept, after close */
	int listen_fd;		/* a fake secondary's, until it accepted */
	uint16_t type;		/* the last record read */
	uint32_t len;		/* its payload length */
	uint8_t *payload;	/* its payload (COLO_RECORD_MAX bytes) */
	uint64_t records;	/* records read */
	int64_t next_hb_ms;	/* when to send the next HEARTBEAT */
	uint64_t session;	/* of the last HELLO read: a secondary's echoes it */
	/* the link's session when the pair has a key (records tagged) */
	struct auth_session *auth;
};

/* A fake secondary listening on 127.0.0.1:port (NULL, pair_why). */
struct fake_peer *fake_secondary(int port);
/* Take the first connection (then stop listening), and with the pair's
 * key answer its handshake: 0, or -1. */
int fake_accept(struct fake_peer *f, int timeout_ms);
/* A fake primary connected to the secondary on port, with the pair's
 * key authenticated (NULL, pair_why); as pair_connect_secondary(), one
 * refused at once is unauthenticated, its connection closed. */
struct fake_peer *fake_primary(int port);

int fake_send(struct fake_peer *f, uint16_t type, const void *payload,
	      uint32_t len);
/* CHECKPOINT_REQUEST and the others whose payload is a be64 id. */
int fake_send_id(struct fake_peer *f, uint16_t type, uint64_t id);
/* A HELLO of role (enum colo_role) with this guest hash. */
int fake_send_hello(struct fake_peer *f, uint32_t role, uint32_t guest_hash);

/* The next record, waiting up to timeout_ms: 1 (in f->type, f->payload),
 * 0 (none in time), -EPIPE (closed), -EPROTO (a bad record). */
int fake_read(struct fake_peer *f, int timeout_ms);
/* Read (and send heartbeats) until a record of type comes: 0, or -1. */
int fake_until(struct fake_peer *f, uint16_t type, int timeout_ms);
/* Read and ignore for ms: 0 if still open at the end, -EPIPE once the
 * daemon closed the connection (returns at once then). */
int fake_pump(struct fake_peer *f, int ms);
/* The be64 id at the start of the last record's payload (0 if shorter). */
uint64_t fake_id(const struct fake_peer *f);
void fake_close(struct fake_peer *f);
/* Every fake still open (teardown). */
void fake_close_all(void);

#endif /* COLO_TEST_FAKE_PEER_H */
