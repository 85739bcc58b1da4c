/*
 * mirror_proto.h - the records of the mirror link: the second connection
 * of a pair in `[net] output = compare`, which carries the primary's
 * guest inputs to the secondary's guest and that guest's output back.
 *
 * Why a connection of its own: the checkpoint stream moves megabytes of
 * pages between checkpoints, and a frame queued behind them (in our
 * buffer and in the kernel's socket buffer, several MiB on loopback)
 * would wait milliseconds. On its own connection, with TCP_NODELAY, a
 * frame waits only for the frames before it.
 *
 *   primary                                     secondary
 *   (main link: HELLO with session S, answered)
 *   connect, MIRROR_HELLO(S) -----------------> it is the primary's:
 *                                               the mirror link
 *   MIRROR_INPUT(clock, frame) ---------------> to B, in this order
 *   MIRROR_TICK(clock) -----------------------> to B (the clock feed)
 *   MIRROR_EPOCH(id) -------------------------> A stopped for checkpoint
 *                                               id: every input of epoch
 *                                               id came before this
 *          <----------------------------------- MIRROR_OUTPUT(epoch, frame)
 *
 * Epochs: the inputs after MIRROR_EPOCH(id - 1) and before
 * MIRROR_EPOCH(id) are epoch id. B gets them after it loaded checkpoint
 * id - 1, and stops for checkpoint id only after the last of them: so it
 * runs on exactly A's inputs between the same two checkpoints. An output
 * frame carries the epoch B produced it in (its last loaded checkpoint +
 * 1), compare.h's epoch.
 *
 * The records use colo_proto.h's framing and channel; integers are
 * big-endian; each decoder checks the exact length or the frame's bounds
 * and refuses with -EPROTO and one log line, leaving its output as it
 * was. Both ends of every record are coded in mirror_proto.c.
 */
#ifndef COLO_MIRROR_PROTO_H
#define COLO_MIRROR_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "channel.h"
#include "colo_proto.h"

/* The largest frame either way (the guest channel's payload bound). */
#define MIRROR_FRAME_MAX	(16u << 10)
/* Ethernet header: no frame is shorter. */
#define MIRROR_FRAME_MIN	14u

/* MIRROR_HELLO: be64 session (the main link's HELLO). */
#define MIRROR_HELLO_LEN	8
/* MIRROR_TICK: be64 guest clock in ms. */
#define MIRROR_TICK_LEN		8
/* MIRROR_EPOCH: be64 checkpoint id, >= 1. */
#define MIRROR_EPOCH_LEN	8
/* MIRROR_INPUT: be64 guest clock in ms (0: none), then the frame.
 * MIRROR_OUTPUT: be64 epoch (>= 1), then the frame. */
#define MIRROR_FRAME_HDR	8

void mirror_u64_encode(uint64_t v, uint8_t out[8]);

/* MIRROR_HELLO, MIRROR_TICK, MIRROR_EPOCH: the one be64; an epoch must
 * be 1 or more. type names the record in the log. */
int mirror_u64_decode(uint16_t type, const uint8_t *payload, uint32_t len,
		      uint64_t *v);

/* A frame record: the be64 (clock or epoch), then the frame. */
struct mirror_frame {
	uint64_t stamp;			/* INPUT: clock ms; OUTPUT: epoch */
	const uint8_t *frame;		/* points into the payload */
	uint32_t len;			/* MIRROR_FRAME_MIN..MIRROR_FRAME_MAX */
};

/* The header for a frame record, sent as iov[0] before the frame. */
void mirror_frame_hdr(uint64_t stamp, uint8_t out[MIRROR_FRAME_HDR]);

/* MIRROR_INPUT or MIRROR_OUTPUT: the frame's length in bounds, an
 * OUTPUT's epoch 1 or more. */
int mirror_frame_decode(uint16_t type, const uint8_t *payload, uint32_t len,
			struct mirror_frame *m);

/* Encode and queue on ch: a be64 record, or a frame record (the frame
 * is not copied twice: it goes as the second iov). channel_sendv()'s
 * answer. */
int mirror_send_u64(struct channel *ch, uint16_t type, uint64_t v);
int mirror_send_frame(struct channel *ch, uint16_t type, uint64_t stamp,
		      const uint8_t *frame, size_t len);

#endif /* COLO_MIRROR_PROTO_H */
