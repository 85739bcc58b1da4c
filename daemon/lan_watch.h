/*
 * lan_watch.h - the second heartbeat path: UDP datagrams over the
 * client-facing LAN, each way, a few per heartbeat timeout ([ha]
 * lan_listen, lan_peer).
 *
 * It exists for one decision: may the secondary take over by itself
 * (auto_failover)? Losing the replication link says only that the link
 * is gone. The primary is gone when it is silent on both paths; a primary
 * still heard on the LAN after the link went (or saying it runs solo) is
 * alive, and taking over would make two primaries.
 *
 * A LAN_BEAT datagram (both ends of it are here, lan_beat_encode and
 * lan_beat_decode), in network byte order as the checkpoint link,
 * 24 bytes:
 *
 *   0  u32 magic   "CLAN" (0x434c414e)
 *   4  u16 version LAN_BEAT_VERSION
 *   6  u8  role    COLO_ROLE_PRIMARY or COLO_ROLE_SECONDARY (colo_proto.h)
 *   7  u8  flags   LAN_BEAT_PROTECTING: a primary with its secondary
 *   8  u64 incarnation  random, drawn when the sender started
 *  16  u64 seq     1, 2, 3 ... from that sender
 *
 * Anything else (another length, magic, version or role, or a datagram
 * from another address than lan_peer's) is dropped and counted.
 */
#ifndef COLO_LAN_WATCH_H
#define COLO_LAN_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "status.h"

#define LAN_BEAT_MAGIC		0x434c414eu
#define LAN_BEAT_VERSION	1
#define LAN_BEAT_LEN		24
#define LAN_BEAT_PROTECTING	0x01

struct lan_beat {
	uint8_t role;
	uint8_t flags;
	uint64_t incarnation;
	uint64_t seq;
};

void lan_beat_encode(const struct lan_beat *b, uint8_t out[LAN_BEAT_LEN]);
/* 0, or -EPROTO for anything but a LAN_BEAT (nothing logged: the caller
 * counts it). */
int lan_beat_decode(const uint8_t *buf, size_t len, struct lan_beat *b);

struct lan_watch;

/*
 * Bind listen (ADDRESS:PORT) and beat to peer every timeout_ms / 4.
 * 0, or a negative errno logged with the address that failed.
 */
int lan_watch_open(struct lan_watch **out, struct event_base *base,
		   const char *listen, const char *peer, unsigned timeout_ms,
		   uint8_t role);

/* The LAN path of cfg's [ha] lan_listen and lan_peer: 0 with *out NULL
 * when either is empty (no second path), else as lan_watch_open(). */
struct colo_config;
int lan_watch_from_config(struct lan_watch **out, struct event_base *base,
			  const struct colo_config *cfg, uint8_t role);

/* What our beats say from now on (the secondary becomes the primary; a
 * primary gains or loses its secondary). */
void lan_watch_set(struct lan_watch *lw, uint8_t role, bool protecting);

/* CLOCK_MONOTONIC ms of the peer's last beat (0: none yet), and what it
 * said then. */
int64_t lan_watch_heard_ms(const struct lan_watch *lw);
const struct lan_beat *lan_watch_last(const struct lan_watch *lw);

/* lan_listen, lan_peer, the peer's last beat age and the counters. */
void lan_watch_status(const struct lan_watch *lw, struct status_out *so);

/* NULL is ignored. */
void lan_watch_close(struct lan_watch *lw);

#endif /* COLO_LAN_WATCH_H */
