/*
 * output_buffer.c - the output commit queue: frames of the primary's
 * guest held until the checkpoint after them is loaded.
 *
 * The layout of the arena (frames lie end to end, oldest at the head):
 *
 *   not wrapped:  [ free | oldest ... newest | free (end) ]
 *   wrapped:      [ ... newest | free | oldest ... | unused (end) ]
 *
 * A new frame goes after the newest. When it does not fit before the end
 * of the arena it starts at 0, leaving the end unused (less than one
 * frame, hence frame_max more than the cap) until the frames there are
 * released. Whether the queue is wrapped is read off the slots: the
 * newest frame lies before the oldest.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define LOG_PREFIX "output-buffer: "
#include "log.h"
#include "output_buffer.h"

int output_buffer_init(struct output_buffer *ob, uint32_t max_frames,
		       uint64_t max_bytes, size_t frame_max)
{
	uint64_t cap_bytes, arena;

	memset(ob, 0, sizeof(*ob));
	if (!max_frames || !max_bytes || !frame_max) {
		pr_err("limits of %" PRIu32 " frames, %" PRIu64 " bytes, frames "
		       "up to %zu bytes: each must be above 0 ([net] "
		       "max_held_frames, max_held_bytes)", max_frames, max_bytes,
		       frame_max);
		return -EINVAL;
	}
	cap_bytes = max_bytes * OUTPUT_BUFFER_HARD_FACTOR;
	arena = cap_bytes + frame_max;
	/* slot offsets are 32-bit */
	if (max_frames > UINT32_MAX / OUTPUT_BUFFER_HARD_FACTOR ||
	    max_bytes > UINT32_MAX / OUTPUT_BUFFER_HARD_FACTOR ||
	    arena > UINT32_MAX || arena > SIZE_MAX) {
		pr_err("limits of %" PRIu32 " frames and %" PRIu64 " bytes "
		       "are too large: the hard cap (%ux) must stay under 4 GiB "
		       "and 4294967295 frames; lower [net] max_held_bytes or "
		       "max_held_frames", max_frames, max_bytes,
		       OUTPUT_BUFFER_HARD_FACTOR);
		return -EINVAL;
	}
	ob->max_frames = max_frames;
	ob->max_bytes = max_bytes;
	ob->cap_frames = max_frames * OUTPUT_BUFFER_HARD_FACTOR;
	ob->cap_bytes = cap_bytes;
	ob->frame_max = frame_max;
	ob->arena_size = (size_t)arena;
	ob->slots = calloc(ob->cap_frames, sizeof(*ob->slots));
	ob->arena = malloc(ob->arena_size);
	if (!ob->slots || !ob->arena) {
		pr_err("out of memory for an output buffer of %" PRIu32
		       " frames and %zu bytes: lower [net] max_held_frames or "
		       "max_held_bytes", ob->cap_frames, ob->arena_size);
		output_buffer_free(ob);
		return -ENOMEM;
	}
	return 0;
}

void output_buffer_free(struct output_buffer *ob)
{
	free(ob->slots);
	free(ob->arena);
	ob->slots = NULL;
	ob->arena = NULL;
	ob->count = 0;
	ob->stats.depth_frames = 0;
	ob->stats.depth_bytes = 0;
}

static uint32_t slot_index(const struct output_buffer *ob, uint32_t i)
{
	uint32_t idx = ob->head + i;

	return idx >= ob->cap_frames ? idx - ob->cap_frames : idx;
}

static struct output_buffer_slot *newest(const struct output_buffer *ob)
{
	return &ob->slots[slot_index(ob, ob->count - 1)];
}

/*
 * Where a frame of len bytes goes in the arena, or -1 when it fits
 * nowhere. Within the hard cap it always fits: at most cap_bytes are
 * held, and what the end of a wrapped arena leaves unused is less than
 * the frame that wrapped (<= frame_max).
 */
static int64_t place(const struct output_buffer *ob, uint32_t len)
{
	const struct output_buffer_slot *old, *new;
	uint64_t tail;

	if (!ob->count)
		return 0;
	old = &ob->slots[ob->head];
	new = newest(ob);
	tail = (uint64_t)new->off + new->len;
	if (new->off >= old->off) {		/* not wrapped */
		if (tail + len <= ob->arena_size)
			return (int64_t)tail;
		return len <= old->off ? 0 : -1;
	}
	return tail + len <= old->off ? (int64_t)tail : -1;
}

static void count_drop(struct output_buffer *ob, size_t len)
{
	ob->stats.dropped_frames++;
	ob->stats.dropped_bytes += len;
}

int output_buffer_hold(struct output_buffer *ob, const uint8_t *frame,
		       size_t len, uint64_t epoch)
{
	struct output_buffer_slot *s;
	int64_t off;

	if (ob->in_emit) {
		pr_err("hold() called from the emit callback of a release: "
		       "a bug in the caller; the frame is refused");
		return -EBUSY;
	}
	if (!len || len > ob->frame_max) {
		count_drop(ob, len);
		if (!ob->size_warned)
			pr_warn("a guest frame of %zu bytes dropped: frames of 1 "
				"to %zu bytes are held (told once; the rest are "
				"counted in outbuf_dropped_frames)", len,
				ob->frame_max);
		ob->size_warned = 1;
		return -EMSGSIZE;
	}
	if (ob->count && epoch < newest(ob)->epoch) {
		ob->stats.epoch_raised++;
		if (!ob->epoch_warned)
			pr_warn("a frame for checkpoint %" PRIu64 " came after "
				"one for checkpoint %" PRIu64 ": held to the "
				"later one (the caller's epochs went back; "
				"told once)", epoch, newest(ob)->epoch);
		ob->epoch_warned = 1;
		epoch = newest(ob)->epoch;
	}
	if (ob->count >= ob->cap_frames ||
	    ob->stats.depth_bytes + len > ob->cap_bytes ||
	    (off = place(ob, (uint32_t)len)) < 0) {
		count_drop(ob, len);
		if (!ob->dropping)
			pr_warn("held output is at its hard cap (%" PRIu32
				" frames, %" PRIu64 " bytes; %" PRIu64 " frames, %"
				PRIu64 " bytes held): dropping the guest's frames "
				"until a checkpoint is loaded; raise [net] "
				"max_held_frames or max_held_bytes if this recurs",
				ob->cap_frames, ob->cap_bytes,
				ob->stats.depth_frames, ob->stats.depth_bytes);
		ob->dropping = 1;
		return -ENOBUFS;
	}

	s = &ob->slots[slot_index(ob, ob->count)];
	s->epoch = epoch;
	s->off = (uint32_t)off;
	s->len = (uint32_t)len;
	memcpy(ob->arena + off, frame, len);
	ob->count++;

	ob->stats.held_frames++;
	ob->stats.held_bytes += len;
	ob->stats.depth_frames = ob->count;
	ob->stats.depth_bytes += len;
	if (ob->stats.depth_frames > ob->stats.high_frames)
		ob->stats.high_frames = ob->stats.depth_frames;
	if (ob->stats.depth_bytes > ob->stats.high_bytes)
		ob->stats.high_bytes = ob->stats.depth_bytes;

	if (ob->count >= ob->max_frames || ob->stats.depth_bytes >= ob->max_bytes) {
		if (!ob->asked)
			ob->stats.full_requests++;
		ob->asked = 1;
		return OUTPUT_BUFFER_FULL;
	}
	return 0;
}

/* Hand on the frames from the head while all or their epoch <= loaded. */
static int release(struct output_buffer *ob, bool all, uint64_t loaded,
		   output_buffer_emit_fn emit, void *opaque)
{
	int n = 0, ret = 0;

	if (ob->in_emit) {
		pr_err("a release called from the emit callback of a release: "
		       "a bug in the caller; nothing released");
		return -EBUSY;
	}
	while (ob->count) {
		struct output_buffer_slot *s = &ob->slots[ob->head];

		if (!all && s->epoch > loaded)
			break;
		ob->in_emit = 1;
		ret = emit(ob->arena + s->off, s->len, opaque);
		ob->in_emit = 0;
		if (ret < 0)
			break;
		ob->stats.released_frames++;
		ob->stats.released_bytes += s->len;
		ob->stats.depth_bytes -= s->len;
		ob->head = slot_index(ob, 1);
		ob->count--;
		n++;
	}
	ob->stats.depth_frames = ob->count;
	if (!ob->count)
		ob->head = 0;
	if (n) {
		/* room was made: a new limit or cap episode may begin */
		ob->asked = 0;
		ob->dropping = 0;
	}
	return ret < 0 ? ret : n;
}

int output_buffer_release(struct output_buffer *ob, uint64_t loaded_id,
			  output_buffer_emit_fn emit, void *opaque)
{
	return release(ob, false, loaded_id, emit, opaque);
}

int output_buffer_release_all(struct output_buffer *ob,
			      output_buffer_emit_fn emit, void *opaque)
{
	return release(ob, true, 0, emit, opaque);
}

uint32_t output_buffer_depth(const struct output_buffer *ob)
{
	return ob->count;
}

uint64_t output_buffer_oldest_epoch(const struct output_buffer *ob)
{
	return ob->count ? ob->slots[ob->head].epoch : 0;
}

void output_buffer_status(const struct output_buffer *ob,
			  struct status_out *so)
{
	const struct output_buffer_stats *st = &ob->stats;

	status_num(so, "outbuf_depth_frames", (double)st->depth_frames, 0);
	status_num(so, "outbuf_depth_bytes", (double)st->depth_bytes, 0);
	status_num(so, "outbuf_high_frames", (double)st->high_frames, 0);
	status_num(so, "outbuf_high_bytes", (double)st->high_bytes, 0);
	status_num(so, "outbuf_max_frames", ob->max_frames, 0);
	status_num(so, "outbuf_max_bytes", (double)ob->max_bytes, 0);
	status_num(so, "outbuf_held_frames", (double)st->held_frames, 0);
	status_num(so, "outbuf_held_bytes", (double)st->held_bytes, 0);
	status_num(so, "outbuf_released_frames", (double)st->released_frames, 0);
	status_num(so, "outbuf_released_bytes", (double)st->released_bytes, 0);
	status_num(so, "outbuf_full_requests", (double)st->full_requests, 0);
	status_num(so, "outbuf_dropped_frames", (double)st->dropped_frames, 0);
	status_num(so, "outbuf_dropped_bytes", (double)st->dropped_bytes, 0);
	status_num(so, "outbuf_epoch_raised", (double)st->epoch_raised, 0);
}
