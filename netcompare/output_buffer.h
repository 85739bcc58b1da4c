/*
 * output_buffer.h - the output commit queue of `[net] output = buffer`.
 *
 * Every frame the primary's guest sends is held here, tagged with the
 * checkpoint that must be loaded by the secondary before the frame may
 * leave: the epoch, the id of the next checkpoint to begin when the guest
 * produced it. Once the secondary reports checkpoint N loaded
 * (VMSTATE_LOADED(N)), every frame with epoch <= N goes to the uplink, in
 * the order the guest sent it; a client then never sees an answer whose
 * state the secondary lacks (design.md, sections 5 and 6).
 *
 *   guest A: ..f1..f2..|stop  checkpoint 7  resume|..f3..|stop  checkpoint 8
 *   epoch:      7   7                                 8
 *   uplink:               release(7): f1 f2 ----^            release(8): f3
 *
 * Bounded: at max_frames or max_bytes held, hold() still takes the frame
 * but answers OUTPUT_BUFFER_FULL, for the caller to ask for a checkpoint
 * at once (a checkpoint, not a drop, is what empties the queue). Past
 * the hard cap (twice the limits) frames are dropped and counted: by then
 * the guest is being stopped for that checkpoint.
 *
 * Memory is taken once, at init, and bounded by the hard cap: a ring of
 * slots (one per frame) and one byte arena in which frames lie end to
 * end, wrapping at its end. hold() and the release of a frame are O(1);
 * nothing is allocated per frame.
 */
#ifndef COLO_OUTPUT_BUFFER_H
#define COLO_OUTPUT_BUFFER_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* hold()'s answer when the frame was taken but the queue is at its limit:
 * ask for a checkpoint now. */
#define OUTPUT_BUFFER_FULL	1

/* The hard cap is this many times the limits. */
#define OUTPUT_BUFFER_HARD_FACTOR	2u

/* What the buffer did, for `coloctl status`. */
struct output_buffer_stats {
	uint64_t held_frames;		/* taken by hold() */
	uint64_t held_bytes;
	uint64_t released_frames;	/* handed to the emit callback */
	uint64_t released_bytes;
	uint64_t depth_frames;		/* in the queue now */
	uint64_t depth_bytes;
	uint64_t high_frames;		/* the most ever in the queue at once */
	uint64_t high_bytes;
	/* times the queue reached its limit and hold() asked for a
	 * checkpoint (once per episode: until a release empties part of
	 * the queue, the further FULL answers are not counted again) */
	uint64_t full_requests;
	uint64_t dropped_frames;	/* refused past the hard cap, or too big */
	uint64_t dropped_bytes;
	/* hold() calls whose epoch was below the newest held frame's; the
	 * frame was held to the newer epoch (it cannot leave before the
	 * frames ahead of it anyway) */
	uint64_t epoch_raised;
};

/*
 * Takes one released frame (the uplink's writer). 0: the frame is gone
 * from the buffer. A negative errno stops the release with this frame
 * still at the head of the queue (e.g. -EAGAIN from a full uplink; call
 * release again when it can take more); a callback that cannot ever send
 * a frame should count it as lost and return 0, or the queue never
 * drains. It must not call hold() or release on the same buffer.
 */
typedef int (*output_buffer_emit_fn)(const uint8_t *frame, size_t len,
				     void *opaque);

/* One held frame. */
struct output_buffer_slot {
	uint64_t epoch;			/* its checkpoint must be loaded first */
	uint32_t off;			/* where it lies in the arena */
	uint32_t len;			/* its length in bytes, > 0 */
};

struct output_buffer {
	/* the limits: at them hold() answers OUTPUT_BUFFER_FULL */
	uint32_t max_frames;
	uint64_t max_bytes;
	/* the hard cap (OUTPUT_BUFFER_HARD_FACTOR times the limits) */
	uint32_t cap_frames;
	uint64_t cap_bytes;
	size_t frame_max;		/* the largest frame hold() takes */

	/* the ring of cap_frames slots: the oldest frame at head, count
	 * of them in order */
	struct output_buffer_slot *slots;
	uint32_t head, count;

	/* cap_bytes + frame_max bytes: the frames lie end to end from the
	 * head's offset on; a frame that does not fit before the end of
	 * the arena starts at 0 (what it leaves at the end, less than
	 * frame_max, is why the arena is that much larger than the cap) */
	uint8_t *arena;
	size_t arena_size;

	int asked;			/* FULL told since the last release */
	int dropping;			/* over the hard cap: drops being told */
	int epoch_warned;		/* the backward epoch was told */
	int size_warned;		/* an oversized frame was told */
	int in_emit;			/* a release is calling emit */
	struct output_buffer_stats stats;
};

/*
 * Prepare ob for at most max_frames frames or max_bytes bytes before it
 * asks for a checkpoint, each frame up to frame_max bytes (the largest
 * Ethernet frame the guest can send). Takes the memory of the hard cap
 * at once (malloc: untouched pages cost nothing). 0, -EINVAL (a zero
 * limit, or a cap past 4 GiB; logged) or -ENOMEM (logged).
 */
int output_buffer_init(struct output_buffer *ob, uint32_t max_frames,
		       uint64_t max_bytes, size_t frame_max);

/* Free the memory; the frames still held are dropped (not counted). */
void output_buffer_free(struct output_buffer *ob);

/*
 * Hold frame[0..len) until checkpoint epoch is loaded: the id of the next
 * checkpoint to begin when the guest sent it. Epochs must not go down (a
 * lower one is held to the newest frame's epoch, warned once). The frame
 * is copied.
 *
 * 0: held. OUTPUT_BUFFER_FULL: held, and the queue is at max_frames or
 * max_bytes: ask for a checkpoint now (answered for every frame while it
 * stays there). -ENOBUFS: not held, the hard cap is reached (counted in
 * dropped_*; warned once per episode). -EMSGSIZE: len is 0 or above
 * frame_max (counted as dropped; warned once). -EBUSY: called from emit. O(1).
 */
int output_buffer_hold(struct output_buffer *ob, const uint8_t *frame,
		       size_t len, uint64_t epoch);

/*
 * Checkpoint loaded_id is loaded by the secondary: hand every held frame
 * with epoch <= loaded_id to emit, oldest first, and forget it. Returns
 * how many were handed on, or the negative errno emit stopped with (the
 * frames handed on before it are gone; the rest stay, in order). O(1)
 * per frame.
 */
int output_buffer_release(struct output_buffer *ob, uint64_t loaded_id,
			  output_buffer_emit_fn emit, void *opaque);

/*
 * Solo mode (no secondary, nothing to wait for): hand every held frame to
 * emit, in order. Returns as output_buffer_release().
 */
int output_buffer_release_all(struct output_buffer *ob,
			      output_buffer_emit_fn emit, void *opaque);

/* Frames held now; the epoch of the oldest (0 when empty). */
uint32_t output_buffer_depth(const struct output_buffer *ob);
uint64_t output_buffer_oldest_epoch(const struct output_buffer *ob);

/* The counters and limits as status fields, each key prefixed "outbuf_"
 * (outbuf_depth_frames, outbuf_dropped_frames, ...). */
void output_buffer_status(const struct output_buffer *ob,
			  struct status_out *so);

#endif /* COLO_OUTPUT_BUFFER_H */
