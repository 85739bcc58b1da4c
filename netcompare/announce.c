/*
 * announce.c - gratuitous ARP after a takeover (announce.h).
 */
#include <string.h>

#include "announce.h"

void announce_arp_frame(uint8_t frame[ANNOUNCE_FRAME_LEN],
			const uint8_t mac[6], uint32_t ip)
{
	uint8_t *arp = frame + 14;

	memset(frame, 0, ANNOUNCE_FRAME_LEN);
	memset(frame, 0xff, 6);			/* to everyone */
	memcpy(frame + 6, mac, 6);
	frame[12] = 0x08;			/* ARP */
	frame[13] = 0x06;
	arp[1] = 1;				/* Ethernet */
	arp[2] = 0x08;				/* IPv4 */
	arp[4] = 6;
	arp[5] = 4;
	arp[7] = 1;				/* request */
	memcpy(arp + 8, mac, 6);		/* sender: the guest */
	memcpy(arp + 14, &ip, 4);
	memcpy(arp + 24, &ip, 4);		/* target: itself */
}

void announce_start(struct announce *a, int64_t now)
{
	*a = (struct announce){ .next_ms = now };
}

bool announce_due(struct announce *a, int64_t now)
{
	if (!a->next_ms || a->round >= ANNOUNCE_ROUNDS || now < a->next_ms)
		return false;
	if (!a->round)
		a->first_ms = now;
	a->next_ms = now + ANNOUNCE_INITIAL_MS +
		     (int64_t)a->round * ANNOUNCE_STEP_MS;
	a->round++;
	return true;
}
