/*
 * announce.h - telling the LAN where the guest is now: after a takeover
 * the guest's MAC sits behind another host's bridge port, and the
 * switches (and the clients' ARP caches) learn it from gratuitous ARP.
 *
 * As QEMU's announce does after a migration, several rounds go out,
 * spaced ever wider (ANNOUNCE_ROUNDS, the first at once, then
 * ANNOUNCE_INITIAL_MS, + ANNOUNCE_STEP_MS each round): one lost frame or a
 * port still learning does not leave the guest unreachable.
 *
 * The frame is an ARP request (opcode 1) from the guest's MAC for its own
 * address, to the broadcast MAC: sender and target IP the guest's, target
 * MAC zero (RFC 5227's announcement), padded to the 60 bytes of a minimal
 * Ethernet frame.
 */
#ifndef COLO_ANNOUNCE_H
#define COLO_ANNOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ANNOUNCE_FRAME_LEN	60
#define ANNOUNCE_ROUNDS		5
#define ANNOUNCE_INITIAL_MS	50
#define ANNOUNCE_STEP_MS	100

/* The announcement of ip (network byte order) at mac. */
void announce_arp_frame(uint8_t frame[ANNOUNCE_FRAME_LEN],
			const uint8_t mac[6], uint32_t ip);

/* The rounds of one announcement. */
struct announce {
	unsigned round;			/* rounds sent */
	int64_t next_ms;		/* the next one is due then */
	int64_t first_ms;		/* the first went then (0: none yet) */
};

/* Begin: the first round is due at now. */
void announce_start(struct announce *a, int64_t now);

/* Is a round due at now? If so it counts as sent and the next is
 * scheduled; false once ANNOUNCE_ROUNDS went (or none was started). */
bool announce_due(struct announce *a, int64_t now);

#endif /* COLO_ANNOUNCE_H */
