/*
 * channel.h - records of colo_proto.h over one TCP connection, on
 * libevent.
 *
 * Records are framed, checked (length bound, CRC, known type) and handed
 * to the owner one at a time; output is queued in the bufferevent and the
 * owner is told when it drains below a low watermark, so a sender of many
 * pages never queues more than it must. A bad record closes the
 * connection with the reason logged once; the owner hears it through
 * closed().
 *
 * With a key (channel_auth()) the connection first runs the handshake
 * of auth.h, and every record after it carries a tag: the owner hears
 * only records of a peer that proved the key, each one checked, and
 * what it sends before the handshake is done waits and goes out after.
 */
#ifndef COLO_CHANNEL_H
#define COLO_CHANNEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <event2/event.h>

#include "auth.h"
#include "colo_proto.h"

struct channel;

struct channel_ops {
	/* A checked record; payload is valid during the call. 0, or a
	 * negative errno to drop the connection (log the reason first). */
	int (*record)(struct channel *ch, uint16_t type, const uint8_t *payload,
		      uint32_t len, void *opaque);
	/* The connection is gone; why says how. The channel is still
	 * valid and must be freed by the owner (not from within). */
	void (*closed)(struct channel *ch, const char *why, void *opaque);
	/* Optional: queued output fell to the low watermark or below. */
	void (*writable)(struct channel *ch, void *opaque);
};

/* Default low watermark of queued output for writable(). */
#define CHANNEL_LOW_WATERMARK	(2u << 20)

/*
 * Take over connected socket fd: TCP_NODELAY is set, and a socket that
 * refuses it is refused (logged), but for a local (AF_UNIX) one, which
 * has no Nagle. NULL on failure; fd is then still the caller's.
 */
struct channel *channel_new(struct event_base *base, int fd,
			    const struct channel_ops *ops, void *opaque,
			    const char *peer);
void channel_free(struct channel *ch);

/*
 * Authenticate this connection with key as role (the primary connects:
 * AUTH_INITIATOR; the secondary accepts: AUTH_RESPONDER), right after
 * channel_new() and before any send; key NULL: a plain link ([security]
 * insecure = yes), nothing changes. Until both ends proved the key, no
 * record reaches record() and what the owner sends is held; a peer
 * that sends anything else, has another key, or is not done within
 * timeout_ms (0: no limit) is dropped, the reason logged and given to
 * closed(). 0, or a negative errno (logged): then drop the channel.
 */
int channel_auth(struct channel *ch, const struct auth_key *key,
		 enum auth_role role, unsigned timeout_ms);
/* The handshake runs still (a key, and not both proofs yet). */
bool channel_auth_pending(const struct channel *ch);
/* Both ends proved the key: every record is tagged. */
bool channel_authenticated(const struct channel *ch);

/*
 * Let the kernel give up on a peer that stopped acknowledging: keepalive
 * probes after timeout_ms/2 of silence and TCP_USER_TIMEOUT of timeout_ms
 * for unacknowledged data, so a dead host is noticed even while this end
 * only writes. 0 or a negative errno (logged).
 */
int channel_set_timeouts(struct channel *ch, unsigned timeout_ms);

/* Queue a record made of iov[0..n). 0, -EMSGSIZE, or -EPIPE if closed. */
int channel_sendv(struct channel *ch, uint16_t type, const struct iovec *iov,
		  int n);
int channel_send(struct channel *ch, uint16_t type, const void *payload,
		 uint32_t len);

/* Write as much of the queued output as the socket takes now (it never
 * blocks): for a handler that queues many records in one run. */
void channel_push(struct channel *ch);

/* Bytes queued for output and not yet written to the socket (with those
 * held in the handshake). */
size_t channel_pending(const struct channel *ch);
/* Records and bytes received / sent, for status. */
uint64_t channel_bytes_out(const struct channel *ch);
uint64_t channel_bytes_in(const struct channel *ch);

/* Close the connection now (closed() is called with why). */
void channel_drop(struct channel *ch, const char *why);
int channel_is_open(const struct channel *ch);
const char *channel_peer(const struct channel *ch);

#endif /* COLO_CHANNEL_H */
