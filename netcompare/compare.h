/*
 * compare.h - netcompare's compare step for `[net] output = compare`:
 * the primary's guest's output frames are held until the secondary's
 * guest, run on the same inputs, has produced the same; a difference
 * asks for a checkpoint (QEMU's net/colo-compare.c is the model).
 *
 * Epochs. Every frame carries the epoch it was produced in: the id of the
 * checkpoint that ends it (the next checkpoint to begin, on either side).
 * Frames are compared only with frames of the same epoch: after
 * checkpoint N is loaded both guests are one, so epoch N + 1 starts from
 * the same state on both sides.
 *
 *   A:  ..p1..p2..|stop ckpt 7 .. loaded 7|..p3..
 *   B:  ..s1..s2..|stop ckpt 7 .. loaded 7|..s3..
 *   epoch   7                                 8
 *   p1, p2 leave once s1, s2 cover them, or at compare_checkpoint(7);
 *   s1, s2 are dropped at compare_checkpoint(7); p3 is compared with s3.
 *
 * Flows. A frame is parsed (packet.h) into a flow:
 *  - TCP (IPv4): one flow per 4-tuple, compared as a byte stream in
 *    sequence space, so different segmentation still matches. A primary
 *    segment is released once (1) every payload byte of it lies in the
 *    secondary's stream at the same sequence number with the same value,
 *    (2) its SYN, FIN and RST flags have a secondary counterpart at the
 *    same sequence number, and (3) its ACK number is not beyond the
 *    highest the secondary has acknowledged on the flow: a client is
 *    never told the guest has data the secondary's guest lacks. Windows,
 *    ACK numbers as such, options, IP ids and checksums do not count.
 *    Payload already released on the flow (a retransmission) needs no
 *    secondary counterpart again. Sequence numbers compare modulo 2^32.
 *  - anything else (ARP, ICMP, UDP, IPv4 other, non-IP): one flow per
 *    (ethertype, protocol, addresses, ports), compared packet by packet,
 *    whole frames byte for byte, in order.
 *  - TCP or UDP with either port in `passthrough`: not compared; held
 *    until its checkpoint as in buffer mode.
 *
 * Checkpoints. A mismatch (payload, length, flags), a frame that does not
 * parse (from either side), a primary frame unmatched for timeout_ms, or
 * a queue over max_frames or max_bytes calls checkpoint() once per epoch;
 * from then on nothing more of that epoch is released by comparing (the
 * checkpoint releases it). Queues are bounded at twice those limits:
 * past that a frame is dropped and counted (by then the guests are being
 * stopped for the checkpoint asked for).
 *
 * Released frames go to emit() in the order the primary's guest sent
 * them within their flow; flows are independent. emit() must take the
 * frame (copy it): netcompare does not keep it. Neither callback may call
 * netcompare back (it is walking its lists): such a call is refused and
 * logged.
 *
 * Flows are kept in a table of at most 2 * max_frames + 64 flows (65536
 * at most); one that holds nothing gives way to a new one. A table full
 * of flows holding frames is a full queue.
 *
 * One struct netcompare per primary daemon; single-threaded.
 */
#ifndef COLO_COMPARE_H
#define COLO_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Why a checkpoint is asked for. */
enum compare_reason {
	COMPARE_PAYLOAD = 0,	/* bytes differ at the same place */
	COMPARE_LENGTH,		/* one side's stream or packet ends elsewhere,
				 * or the other side skipped bytes */
	COMPARE_FLAGS,		/* SYN/FIN/RST differ, or its sequence number */
	COMPARE_MALFORMED,	/* a frame of either side does not parse */
	COMPARE_TIMEOUT,	/* a primary frame unmatched for timeout_ms */
	COMPARE_QUEUE_FULL,	/* held or queued frames at the limits */
	COMPARE_REASONS
};

/* "payload", "length", "flags", "malformed", "timeout", "queue-full". */
const char *compare_reason_name(enum compare_reason r);

/* A released primary frame: copy it; valid during the call only. */
typedef void (*compare_emit_fn)(const uint8_t *frame, size_t len,
				void *opaque);
/* A checkpoint is wanted, for this reason (once per epoch). */
typedef void (*compare_checkpoint_fn)(enum compare_reason why, void *opaque);

#define COMPARE_MAX_PASSTHROUGH	16

struct compare_params {
	uint32_t max_frames;		/* primary frames held plus secondary
					 * frames queued, over all flows */
	uint64_t max_bytes;		/* and their bytes */
	uint32_t timeout_ms;		/* a primary frame unmatched this long */
	uint16_t passthrough[COMPARE_MAX_PASSTHROUGH];	/* TCP/UDP ports */
	unsigned n_passthrough;
	compare_emit_fn emit;
	compare_checkpoint_fn checkpoint;
	void *opaque;			/* handed to both */
};

struct compare_stats {
	uint64_t primary_frames, primary_bytes;	/* given by the primary */
	uint64_t secondary_frames, secondary_bytes;
	uint64_t matched_frames, matched_bytes;	/* primary frames released
						 * because the secondary's
						 * output covered them */
	uint64_t released_frames, released_bytes;	/* emitted, all causes */
	uint64_t passthrough_frames;	/* primary frames not compared */
	uint64_t mismatches[COMPARE_REASONS];	/* every one found */
	uint64_t checkpoints_asked[COMPARE_REASONS];	/* checkpoint() calls */
	uint64_t dropped_frames, dropped_bytes;	/* past the hard cap */
	uint64_t stale_frames;		/* secondary frames of a past epoch */
	uint64_t depth_frames, depth_bytes;	/* held and queued now */
	uint64_t high_frames, high_bytes;	/* the most ever at once */
	uint64_t flows, flows_high;	/* flows now, and the most at once */
};

struct netcompare;

/* 0, or -ENOMEM / -EINVAL (logged). */
int compare_new(struct netcompare **ncp, const struct compare_params *p);
void compare_free(struct netcompare *nc);

/*
 * Compare or not. Off (the initial sync: the secondary's guest is no copy
 * yet), primary frames wait for their checkpoint and secondary frames
 * are dropped. Starts off. An epoch is compared only if comparing was on
 * when it began (at compare_checkpoint): one begun off did not start
 * from a copy, and its frames wait for their checkpoint.
 */
void compare_set_active(struct netcompare *nc, bool on);

/* A frame of the primary's guest, of epoch epoch, at now_ms. An epoch
 * below one given before is raised to it (a frame cannot overtake those
 * before it); one whose checkpoint is loaded already leaves at once. */
void compare_primary(struct netcompare *nc, const uint8_t *frame, size_t len,
		     uint64_t epoch, int64_t now_ms);

/* A frame of the secondary's guest, of epoch epoch. One of a later epoch
 * than the current one waits for it; of an earlier one, is dropped. */
void compare_secondary(struct netcompare *nc, const uint8_t *frame,
		       size_t len, uint64_t epoch, int64_t now_ms);

/*
 * Checkpoint id is loaded on the secondary: every primary frame of epoch
 * <= id is released (in order), every secondary frame of epoch <= id is
 * dropped, and epoch id + 1 begins (the secondary frames that waited for
 * it are compared now). What was released on each TCP flow counts as
 * released for its retransmissions.
 */
void compare_checkpoint(struct netcompare *nc, uint64_t id, int64_t now_ms);

/* Release every held primary frame and drop the rest: no secondary
 * (solo, or connecting again). Flows are forgotten, and epochs begin
 * again from 0 (a new secondary may count checkpoints from 1). */
void compare_release_all(struct netcompare *nc);

/* At each tick: a primary frame unmatched past timeout_ms asks for a
 * checkpoint. */
void compare_tick(struct netcompare *nc, int64_t now_ms);

/* Change the limits and timeout (coloctl set); the callbacks stay. */
void compare_set_limits(struct netcompare *nc, uint32_t max_frames,
			uint64_t max_bytes, uint32_t timeout_ms);

const struct compare_stats *compare_stats(const struct netcompare *nc);

/* compare_* keys for coloctl status: the figures above, mismatches and
 * checkpoints asked by reason (compare_mismatch_payload, ...). */
void compare_status(const struct netcompare *nc, struct status_out *so);

#endif /* COLO_COMPARE_H */
