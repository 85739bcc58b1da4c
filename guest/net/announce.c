/*
 * announce.c - after a takeover: every TCP connection of the guest makes
 * its peer go on at once, instead of at the peer's next retransmission
 * timeout (which backs off, and can be seconds after the takeover).
 *
 * The guest's TCP state is the one its clients saw (it is in replicated
 * memory), but segments in flight to the old host were lost. For each
 * connection, one of two was lost:
 *   - our data the peer has not acknowledged: retransmit it now;
 *   - else, maybe the peer's data to us: three duplicate ACKs, which make
 *     the peer's TCP retransmit what we lack at once (fast retransmit,
 *     RFC 5681); with nothing outstanding they are harmless.
 */
#include <lwip/priv/tcp_priv.h>
#include <lwip/tcp.h>

#include "colo_net.h"
#include "colo_net_int.h"

#define DUP_ACKS	3

void colo_net_announce(void *opaque)
{
	(void)opaque;
	for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb; pcb = pcb->next) {
		if (pcb->state != ESTABLISHED && pcb->state != CLOSE_WAIT)
			continue;
		if (pcb->unacked) {
			tcp_rexmit_rto(pcb);
			continue;
		}
		for (int i = 0; i < DUP_ACKS; i++) {
			tcp_ack_now(pcb);
			tcp_output(pcb);
		}
	}
}
