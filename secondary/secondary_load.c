/*
 * secondary_load.c - the secondary's side of the checkpoint transaction:
 * a checkpoint that arrived whole becomes the RAM cache's image and our
 * guest; a lost primary puts our guest back to the image.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define LOG_PREFIX "secondary: "
#include "log.h"
#include "guest_compare.h"
#include "fault.h"
#include "secondary_int.h"

/* --- restoring our guest to the image ------------------------------------ */

/*
 * Our guest, stopped, becomes the image again: its layout to the image's,
 * then every page it dirtied (and, after a commit, every page received)
 * from the image. rollback drops what arrived of a newer checkpoint
 * first. Retried once, from the same image, before our guest is declared
 * unrestorable: a half-flushed guest is never resumed or taken for a
 * checkpoint.
 */
static int restore_image(struct secondary *s, bool rollback)
{
	struct ram_cache *rc = &s->cache;
	unsigned commands = 0;
	int ret = 0;

	for (int attempt = 0; attempt < RESTORE_TRIES; attempt++) {
		if (attempt)
			pr_warn("retrying the flush of checkpoint %" PRIu64
				" from the image", rc->image_id);
		ret = layout_mirror(&rc->image_layout, rc->image_brk, &s->g,
				    &commands);
		if (!ret)
			ret = dirty_log_sync(s->dl);
		if (!ret)
			ret = rollback ? ram_cache_rollback(rc, s->dl, &s->w) :
					 ram_cache_flush(rc, s->dl, &s->w);
		if (!ret)
			return 0;
	}
	pr_err("our guest is not restorable: it could not be put back to "
	       "checkpoint %" PRIu64 " (%s); it stays stopped and must not be "
	       "taken over", rc->image_id, strerror(-ret));
	s->state = S_UNRESTORABLE;
	return ret;
}

/* --- losing the primary ------------------------------------------------- */

/*
 * Put our guest back to the last complete checkpoint and keep it
 * stopped. What arrived of a newer checkpoint is dropped. A guest that
 * does not stop now (busy, or stopped by someone) is tried again at the
 * ticks.
 */
void secondary_fall_back(struct secondary *s)
{
	int ret;

	s->state = S_PEER_LOST;
	if (!s->cache.committed) {
		pr_warn("no checkpoint was complete yet: our guest was never "
			"loaded; waiting for a primary");
		if (s->g.paused)
			guest_continue(&s->g);
		s->state = S_WAITING;
		return;
	}
	ret = guest_stop(&s->g, STOP_SLICE_MS);
	if (ret == -ETIMEDOUT) {
		if (!s->restore_pending)
			pr_warn("our guest does not stop; putting it back to "
				"checkpoint %" PRIu64 " as soon as it does",
				s->cache.image_id);
		s->restore_pending = true;
		return;
	}
	s->restore_pending = false;
	s->restore_retry_ms = 0;
	if (!ret)
		ret = restore_image(s, true);
	if (!ret)
		ret = dirty_log_sync(s->dl);
	if (!ret)
		ret = dirty_log_forget(s->dl);
	if (ret) {
		if (s->state != S_UNRESTORABLE)
			pr_err("could not put the guest back to checkpoint %"
			       PRIu64 ": %s", s->cache.image_id, strerror(-ret));
		s->state = S_UNRESTORABLE;
		return;
	}
	pr_warn("the guest is stopped at checkpoint %" PRIu64 ", the last "
		"complete one (take over: coloctl failover, when it exists)",
		s->cache.image_id);
}

static int verify_image(struct secondary *s, uint64_t flags)
{
	uint32_t crc;
	uint64_t bytes;
	int ret;

	if (!(flags & COLO_VMSTATE_VERIFY) && !s->cfg.debug.record_hashes[0])
		return COLO_VERIFY_NONE;
	ret = guest_memory_crc(s->g.pid, &crc, &bytes);
	if (ret)
		return ret;
	daemon_record_hash(s->cfg.debug.record_hashes, s->ckpt_id, crc, bytes);
	if (!(flags & COLO_VMSTATE_VERIFY))
		return COLO_VERIFY_NONE;
	if (s->have_memhash && crc == s->expect_crc && bytes == s->expect_bytes) {
		pr_info("checkpoint %" PRIu64 ": verified, our guest is "
			"identical (%" PRIu64 " bytes)", s->ckpt_id, bytes);
		return COLO_VERIFY_SAME;
	}
	pr_err("checkpoint %" PRIu64 ": our guest's memory hashes to %08x over "
	       "%" PRIu64 " bytes, the primary's to %08x over %" PRIu64,
	       s->ckpt_id, crc, bytes, s->expect_crc, s->expect_bytes);
	return COLO_VERIFY_DIFFERS;
}

/* Our guest runs again (unless held), at the primary guest's clock. */
static int resume_guest(struct secondary *s, uint64_t flags, uint64_t clock_ms)
{
	int ret;

	if (flags & COLO_VMSTATE_HOLD) {
		s->state = S_HELD;
		return 0;
	}
	ret = guest_cmd(&s->g, GUEST_CMD_SET_TID, NULL, NULL, NULL, 0);
	if (!ret)
		ret = guest_continue_at(&s->g, clock_ms);
	if (ret == -ETIMEDOUT) {
		pr_warn("our guest did not confirm it resumed after checkpoint %"
			PRIu64 "; taken as running", s->ckpt_id);
		ret = 0;
	}
	if (!ret)
		s->state = S_COLO;
	return ret;
}

/*
 * The commit rule: nothing that can fail comes between the commit and the
 * record of which checkpoint the image is -- they are one step. Before
 * it, a failure leaves the last complete checkpoint as it was; after it,
 * this checkpoint is the last complete one, and a failure to put our
 * guest there is retried from it or reported, never mixed with another.
 *
 * Step 1 -- check, changing nothing: our layout, compatible with A's;
 * Step 2 -- commit: the image becomes checkpoint id, content, layout and
 *           brk at once (-ENOMEM leaves the old image whole);
 * Step 3 -- restore: mirror the layout, flush (received | own dirty);
 * Step 4 -- verify, when asked (and record the hash, when debugging);
 * Step 5 -- re-arm our log, our TID back, resume at A's clock;
 * Step 6 -- VMSTATE_LOADED (and CHECKPOINT_READY after the first).
 */
int secondary_load_checkpoint(struct secondary *s, uint64_t flags,
			      uint64_t clock_ms)
{
	int64_t t0 = daemon_now_ms(), t_commit, t_flush, t_rearm;
	uint8_t loaded[COLO_VMSTATE_LOADED_LEN];
	struct colo_vmstate_loaded vl;
	struct layout mine;
	int verify, ret;

	/* Step 1 */
	if (fault_injected(FI_LOAD_MAPS_EIO) && s->ckpt_id == fault_at()) {
		pr_warn("fault injected: reading our guest's maps fails in "
			"checkpoint %" PRIu64, s->ckpt_id);
		return -EIO;
	}
	ret = layout_read(s->g.pid, &mine);
	if (ret)
		return ret;
	ret = layout_compatible("the primary's guest", &s->layout, "ours", &mine);
	layout_free(&mine);
	if (ret)
		return ret;
	/* Step 2 */
	ret = ram_cache_commit(&s->cache, s->ckpt_id, &s->layout, s->layout_brk);
	if (ret)
		return ret;
	s->ckpt_done = s->cache.image_id;
	t_commit = daemon_now_ms();
	/* Step 3 */
	ret = restore_image(s, false);
	if (ret)
		return ret;
	t_flush = daemon_now_ms();
	/* Step 4 */
	verify = verify_image(s, flags);
	if (verify < 0)
		return verify;
	if (flags & COLO_VMSTATE_VERIFY)
		s->last_verify = verify;
	/* Step 5 */
	t_rearm = daemon_now_ms();
	ret = dirty_log_sync(s->dl);
	if (!ret)
		ret = dirty_log_forget(s->dl);
	if (!ret)
		ret = resume_guest(s, flags, clock_ms);
	if (ret)
		return ret;
	pr_debug("checkpoint %" PRIu64 " loaded: commit %" PRId64 " ms, layout "
		 "and flush of %" PRIu64 " pages %" PRId64 " ms, re-arm %" PRId64
		 " ms", s->ckpt_id, t_commit - t0, s->cache.stats.pages_flushed,
		 t_flush - t_commit, daemon_now_ms() - t_rearm);
	s->last_load_ms = (double)(daemon_now_ms() - t0);
	/* the initial sync's stop-and-copy is not a COLO checkpoint */
	if (s->ckpt_done > 1)
		pause_stats_add(&s->pauses, (double)(daemon_now_ms() - s->stop_ms));
	/* Step 6 */
	vl = (struct colo_vmstate_loaded){
		.id = s->ckpt_id, .verify = (uint32_t)verify,
	};
	colo_vmstate_loaded_encode(&vl, loaded);
	ret = channel_send(s->ch, COLO_VMSTATE_LOADED, loaded, sizeof(loaded));
	if (!ret && s->ckpt_done == 1) {
		pr_info("initial sync done: our guest is a copy of the "
			"primary's (%" PRIu64 " pages written into it in %.0f ms)",
			s->cache.stats.pages_flushed, s->last_load_ms);
		ret = channel_send(s->ch, COLO_CHECKPOINT_READY, NULL, 0);
	}
	return ret;
}

