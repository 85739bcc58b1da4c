/*
 * secondary_checkpoint.c - the secondary's side of the checkpoint
 * transaction, in the order of the protocol (QEMU's
 * colo_process_incoming_thread and its colo_incoming_process_checkpoint):
 *
 *   primary (A)                                        secondary (B)
 *   RAM_BLOCKS, PAGES ... (A runs) -------------------> RAM cache, staged
 *   CHECKPOINT_REQUEST(id) ---------------------------> stop B (bounded)
 *          <------------------------------------------- CHECKPOINT_REPLY(id)
 *   VMSTATE_SEND(id) ---------------------------------> count from here
 *   RAM_BLOCKS?, PAGES ... (A's last dirty pages) ----> staged, counted
 *   LAYOUT -------------------------------------------> kept for the commit
 *   MEMHASH (checkpoint --verify) --------------------> kept for the check
 *   VMSTATE_SIZE(id, pages, bytes, flags, A's clock) -> all of it arrived?
 *          <------------------------------------------- VMSTATE_RECEIVED(id)
 *                                                       load: the commit rule
 *          <------------------------------------------- VMSTATE_LOADED(id)
 *          <------------------------------------------- CHECKPOINT_READY (1st)
 *
 * Nothing of a checkpoint reaches our guest before VMSTATE_SIZE said all
 * of it arrived. The primary lost at any point: the fall back stops our
 * guest where a takeover runs it from (compare mode: its own state;
 * buffer mode: the last complete checkpoint), kept stopped there.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>

#define LOG_PREFIX "secondary: "
#include "log.h"
#include "clock.h"
#include "guest_compare.h"
#include "fault.h"
#include "secondary_int.h"

static int send_id(struct secondary *s, uint16_t type)
{
	struct colo_id m = { .id = s->ckpt_id };
	uint8_t b[COLO_ID_LEN];

	colo_id_encode(&m, b);
	return channel_send(s->ch, type, b, sizeof(b));
}

/* A record that names a checkpoint: it must be the one we expect. */
static int expect_id(uint16_t type, uint64_t id, uint64_t want)
{
	if (id == want)
		return 0;
	pr_err("unexpected %s for checkpoint %" PRIu64 " from the primary: "
	       "expected checkpoint %" PRIu64, colo_record_name(type), id, want);
	return -EPROTO;
}

/* --- the phases' clock ---------------------------------------------------- */

/* The phase that ends now ran since the end of the one before (enum
 * secondary_phase): tens of ns a call, a dozen calls a checkpoint. */
static uint64_t phase_end(struct secondary *s, enum secondary_phase ph)
{
	uint64_t now = colo_now_ns();

	s->phase_ns[ph] += now - s->phase_mark_ns;
	s->phase_mark_ns = now;
	return now;
}

/* Our guest runs again (now): how long it was stopped. */
static void stopped_count(struct secondary *s, uint64_t now)
{
	s->last_stopped_us = (double)(now - s->stop_ns) / 1e3;
	pause_stats_add(&s->stopped_fine, s->last_stopped_us / 1e3);
}

/* A COLO checkpoint is loaded: its phases into the figures. */
static void phases_count(struct secondary *s)
{
	for (int ph = 0; ph < SP_PHASES; ph++) {
		s->phase_last_us[ph] = (double)s->phase_ns[ph] / 1e3;
		pause_stats_add(&s->phase_stats[ph],
				(double)s->phase_ns[ph] / 1e6);
	}
}

/* --- RAM_BLOCKS, PAGES: into the RAM cache, never into our guest ---------- */

int secondary_checkpoint_ram_blocks(struct secondary *s, const uint8_t *payload,
				    uint32_t len)
{
	return ram_cache_set_blocks(&s->cache, payload, len);
}

/* Staged; counted between VMSTATE_SEND and VMSTATE_SIZE. */
int secondary_checkpoint_pages(struct secondary *s, const uint8_t *payload,
			       uint32_t len)
{
	uint64_t pages = 0, t0 = colo_now_ns();
	int ret;

	if (fault_injected(FI_STAGE_ENOMEM) && s->in_vmstate &&
	    s->ckpt_id == fault_at())
		fault_arm(FI_STAGE_ENOMEM);
	ret = ram_cache_load_pages(&s->cache, payload, len, &pages);
	if (s->in_vmstate) {
		s->vm_pages += pages;
		s->vm_bytes += len;
		s->phase_ns[SP_RECV_CACHE] += colo_now_ns() - t0;
	}
	return ret;
}

/* --- CHECKPOINT_REQUEST -> stop our guest -> CHECKPOINT_REPLY ------------- */

/* How long our guest may take to stop for a checkpoint: the primary's
 * guest is stopped meanwhile, and it waits about a heartbeat timeout. */
static int64_t stop_budget_ms(const struct secondary *s)
{
	int64_t half = s->cfg.ha.heartbeat_timeout_ms / 2;

	return s->cfg.guest.stop_timeout_ms < half ?
	       s->cfg.guest.stop_timeout_ms : half;
}

/*
 * Stop our guest for checkpoint ckpt_id: STOP_SLICE_MS now, more at the
 * next ticks, until the stop deadline (the stop timeout, at most half the
 * heartbeat timeout: the primary waits with its guest stopped). Then
 * CHECKPOINT_REPLY. 0 while trying; a negative errno ends the pair.
 */
static int try_stop_guest(struct secondary *s)
{
	int64_t now = daemon_now_ms();
	int ret;

	/* compare mode: first every input A had before it stopped */
	secondary_mirror_deliver(s);
	if (!secondary_mirror_inputs_done(s, s->ckpt_id)) {
		s->next_stop_ms = now + 1;	/* or when they come */
		return 0;
	}
	ret = guest_stop(&s->g, STOP_SLICE_MS);

	if (ret == -ETIMEDOUT) {
		/* each try queues a PAUSE and a CANCEL: not every tick */
		s->next_stop_ms = now + STOP_RETRY_MS;
		if (now < s->stop_deadline_ms)
			return 0;
		pr_err("our guest did not reach a pause point within %" PRId64
		       " ms for checkpoint %" PRIu64, now - s->stop_begin_ms,
		       s->ckpt_id);
		return ret;
	}
	if (ret)
		return ret;
	s->stopping_guest = false;
	s->stop_ms = now;
	s->stop_ns = phase_end(s, SP_STOP);
	return send_id(s, COLO_CHECKPOINT_REPLY);
}

/* The next checkpoint, and only that one, begins. */
int secondary_checkpoint_request(struct secondary *s, const uint8_t *payload,
				 uint32_t len)
{
	struct colo_id m;
	int ret;

	ret = colo_id_decode(COLO_CHECKPOINT_REQUEST, payload, len, &m);
	if (!ret)
		ret = expect_id(COLO_CHECKPOINT_REQUEST, m.id, s->ckpt_done + 1);
	if (ret)
		return ret;
	s->ckpt_id = m.id;
	s->state = S_CHECKPOINT;
	s->stopping_guest = true;
	s->inputs_deadline_ms = 0;
	s->stop_begin_ms = daemon_now_ms();
	memset(s->phase_ns, 0, sizeof(s->phase_ns));
	s->phase_mark_ns = colo_now_ns();
	s->stop_deadline_ms = s->stop_begin_ms + stop_budget_ms(s);
	return try_stop_guest(s);
}

void secondary_checkpoint_tick(struct secondary *s, int64_t now)
{
	if (s->stopping_guest && now >= s->next_stop_ms && try_stop_guest(s))
		channel_drop(s->ch, "our guest did not stop for the checkpoint");
}

/* --- VMSTATE_SEND .. VMSTATE_SIZE -> VMSTATE_RECEIVED --------------------- */

/* Our guest is stopped: what comes from here on is checkpoint ckpt_id. */
int secondary_checkpoint_vmstate_send(struct secondary *s,
				      const uint8_t *payload, uint32_t len)
{
	struct colo_id m;
	int ret;

	ret = colo_id_decode(COLO_VMSTATE_SEND, payload, len, &m);
	if (ret)
		return ret;
	if (s->stopping_guest || s->in_vmstate)
		return secondary_unexpected(s, COLO_VMSTATE_SEND, len);
	ret = expect_id(COLO_VMSTATE_SEND, m.id, s->ckpt_id);
	if (ret)
		return ret;
	s->in_vmstate = true;
	s->have_layout = s->have_memhash = false;
	s->vm_pages = s->vm_bytes = 0;
	phase_end(s, SP_WAIT_SEND);
	return 0;
}

/* A's mappings and brk, one LAYOUT a checkpoint, kept for the commit. */
int secondary_checkpoint_layout(struct secondary *s, const uint8_t *payload,
				uint32_t len)
{
	int ret;

	if (!s->in_vmstate || s->have_layout)
		return secondary_unexpected(s, COLO_LAYOUT, len);
	layout_free(&s->layout);
	ret = layout_decode(payload, len, &s->layout, &s->layout_brk);
	s->have_layout = !ret;
	return ret;
}

/*
 * A LAYOUT in the initial sync, before any checkpoint: our guest (never
 * loaded, it runs nothing of the primary's yet) is stopped and given the
 * primary's layout, and from then on the RAM cache writes every page
 * that arrives into it as well (ram_cache_write_through), so the
 * initial checkpoint writes only what came since, with both guests
 * stopped. A later LAYOUT that takes memory away from our guest (an
 * unmapped range, a lower break) makes the flush write everything again. Nothing here is fatal: without it the
 * initial checkpoint writes every page.
 */
int secondary_checkpoint_sync_layout(struct secondary *s,
				     const uint8_t *payload, uint32_t len)
{
	struct ram_cache *rc = &s->cache;
	struct layout_mirror_count n = { 0 };
	struct layout l;
	uint64_t brk;
	int ret;

	if (rc->committed)
		return secondary_unexpected(s, COLO_LAYOUT, len);
	ret = layout_decode(payload, len, &l, &brk);
	if (ret)
		return ret;
	ret = guest_stop(&s->g, STOP_SLICE_MS);
	if (!ret)
		ret = layout_mirror_counted(&l, brk, &s->g, &n);
	layout_free(&l);
	if (ret) {
		if (rc->through)
			pr_warn("our guest could not follow the primary's layout "
				"in the initial sync (%s); the initial checkpoint "
				"writes every page", strerror(-ret));
		ram_cache_write_through(rc, NULL);
		return 0;
	}
	if (n.unmapped)
		ram_cache_guest_forget(rc);
	if (!rc->through)
		pr_info("initial sync: our guest is stopped in the primary's "
			"layout; pages go into it as they arrive");
	ram_cache_write_through(rc, &s->w_sync);
	return 0;
}

/* What A's memory hashed to, for checkpoint --verify. */
int secondary_checkpoint_memhash(struct secondary *s, const uint8_t *payload,
				 uint32_t len)
{
	struct colo_memhash mh;
	int ret;

	ret = colo_memhash_decode(payload, len, &mh);
	if (ret)
		return ret;
	if (!s->in_vmstate)
		return secondary_unexpected(s, COLO_MEMHASH, len);
	s->expect_crc = mh.crc;
	s->expect_bytes = mh.bytes;
	s->have_memhash = true;
	return 0;
}

static int load_checkpoint(struct secondary *s, uint64_t flags,
			   uint64_t clock_ms);

/*
 * The checkpoint is whole only if what arrived is what VMSTATE_SIZE
 * announces, layout included; then VMSTATE_RECEIVED, and it is loaded.
 */
int secondary_checkpoint_vmstate_size(struct secondary *s,
				      const uint8_t *payload, uint32_t len)
{
	struct colo_vmstate_size vs;
	int ret;

	ret = colo_vmstate_size_decode(payload, len, &vs);
	if (ret)
		return ret;
	if (!s->in_vmstate)
		return secondary_unexpected(s, COLO_VMSTATE_SIZE, len);
	ret = expect_id(COLO_VMSTATE_SIZE, vs.id, s->ckpt_id);
	if (ret)
		return ret;
	if (vs.pages != s->vm_pages || vs.bytes != s->vm_bytes ||
	    !s->have_layout) {
		pr_err("checkpoint %" PRIu64 " is incomplete: %" PRIu64
		       " pages and %" PRIu64 " bytes announced, %" PRIu64
		       " and %" PRIu64 " arrived%s; it is not applied",
		       vs.id, vs.pages, vs.bytes, s->vm_pages, s->vm_bytes,
		       s->have_layout ? "" : ", no layout");
		return -EPROTO;
	}
	s->in_vmstate = false;
	phase_end(s, SP_RECV);
	ret = send_id(s, COLO_VMSTATE_RECEIVED);
	channel_push(s->ch);	/* before the load, not after it */
	if (!ret)
		ret = load_checkpoint(s, vs.flags, vs.clock_ms);
	if (ret)
		pr_err("loading checkpoint %" PRIu64 " failed: %s", vs.id,
		       strerror(-ret));
	return ret;
}

/* --- load: the commit rule -> VMSTATE_LOADED ------------------------------ */

/*
 * Our guest, stopped, becomes checkpoint ckpt_id (staged: its layout to
 * the primary's, then every page received or dirtied by it, from where
 * each is, the commit planned first), or the image again (rollback: its
 * layout to the image's, what arrived of a newer checkpoint dropped,
 * every page it dirtied from the image). Retried once before our guest
 * is declared unrestorable: a half-flushed guest is never resumed or
 * taken for a checkpoint.
 */
static int restore_guest(struct secondary *s, bool rollback)
{
	struct ram_cache *rc = &s->cache;
	const struct layout *l = rollback ? &rc->image_layout : &s->layout;
	uint64_t brk = rollback ? rc->image_brk : s->layout_brk;
	uint64_t id = rollback ? rc->image_id : s->ckpt_id;
	struct layout_mirror_count n = { 0 };
	int ret = 0;

	for (int attempt = 0; attempt < RESTORE_TRIES; attempt++) {
		if (attempt)
			pr_warn("retrying the flush of checkpoint %" PRIu64, id);
		ret = layout_mirror_counted(l, brk, &s->g, &n);
		if (n.unmapped)
			ram_cache_guest_forget(rc);	/* written there: gone */
		phase_end(s, SP_LAYOUT);
		if (!ret)
			ret = dirty_log_sync(s->dl);
		phase_end(s, SP_SYNC);
		if (!ret)
			ret = rollback ? ram_cache_rollback(rc, s->dl, &s->w) :
				ram_cache_flush_staged(rc, id, s->dl, &s->w);
		phase_end(s, SP_FLUSH);
		if (!ret)
			return 0;
		if (!rollback && !rc->planned)
			return ret;	/* no plan: our guest is untouched */
		if (ret == -ETIMEDOUT)
			break;	/* it does not answer: a retry would only
				 * keep the loop waiting on it again */
	}
	pr_err("our guest is not restorable: it could not be put %s checkpoint "
	       "%" PRIu64 " (%s); it stays stopped and must not be taken over",
	       rollback ? "back to" : "at", id, strerror(-ret));
	s->state = S_UNRESTORABLE;
	return ret;
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
	if (!ret) {
		s->state = S_COLO;
		secondary_mirror_deliver(s);	/* the next epoch's inputs */
	}
	return ret;
}

/*
 * The commit rule: our guest is written with a checkpoint only once all
 * of it arrived and its commit is planned (all it allocates); from the
 * first page written, the checkpoint is committed whatever follows (a
 * flush that fails leaves our guest unrestorable, and checkpoint id its
 * last complete one), so the image and our guest are never of two
 * checkpoints. The copies into the image wait until the primary has its
 * VMSTATE_LOADED: each page is written once in the pause, into our
 * guest, from where it was staged.
 *
 * Step 1 -- check, changing nothing: our layout, compatible with A's;
 * Step 2 -- restore: mirror A's layout, plan the commit (-ENOMEM leaves
 *           all as it was), flush (received | own dirty);
 * Step 3 -- verify, when asked (and record the hash, when debugging);
 * Step 4 -- re-arm our log, our TID back, resume at A's clock;
 * Step 5 -- VMSTATE_LOADED (and CHECKPOINT_READY after the first);
 * Step 6 -- commit: the image becomes checkpoint id, content, layout and
 *           brk at once (out of the pause; it cannot fail).
 */
static int load_resume(struct secondary *s, uint64_t flags, uint64_t clock_ms,
		       uint64_t t0);

static int load_checkpoint(struct secondary *s, uint64_t flags,
			   uint64_t clock_ms)
{
	uint64_t t0 = colo_now_ns();
	struct layout mine;
	int ret;

	/* Step 1 */
	if (fault_injected(FI_GUEST_DIES_STOPPED) && s->ckpt_id == fault_at()) {
		pr_warn("fault injected: our guest (pid %d) is killed, stopped "
			"for checkpoint %" PRIu64 " before its load",
			(int)s->g.pid, s->ckpt_id);
		if (kill(s->g.pid, SIGKILL))
			pr_err("kill(%d, SIGKILL): %s", (int)s->g.pid,
			       strerror(errno));
	}
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
	phase_end(s, SP_CHECK);
	if (ret)
		return ret;
	/* Step 2 */
	ret = restore_guest(s, false);
	if (ret && !s->cache.planned)
		return ret;
	s->ckpt_done = s->ckpt_id;	/* our guest holds it, or part of it */
	/* Steps 3 to 5 */
	if (!ret)
		ret = load_resume(s, flags, clock_ms, t0);
	/* Step 6, whatever happened from the first page written */
	ram_cache_commit_staged(&s->cache, &s->layout, s->layout_brk);
	phase_end(s, SP_COMMIT);
	if (!ret && s->ckpt_done > 1)
		phases_count(s);
	return ret;
}

static int load_resume(struct secondary *s, uint64_t flags, uint64_t clock_ms,
		       uint64_t t0)
{
	uint8_t loaded[COLO_VMSTATE_LOADED_LEN];
	struct colo_vmstate_loaded vl;
	int verify, ret;
	uint64_t now;

	/* Step 3 */
	verify = verify_image(s, flags);
	phase_end(s, SP_VERIFY);
	if (verify < 0)
		return verify;
	if (flags & COLO_VMSTATE_VERIFY)
		s->last_verify = verify;
	/* Step 4: what the flush wrote is re-armed, no second walk (its own
	 * dirty pages are in the log since the sync, the received in next) */
	ret = dirty_log_forget_written(s->dl, &s->cache.next);
	phase_end(s, SP_REARM);
	if (!ret)
		ret = resume_guest(s, flags, clock_ms);
	now = phase_end(s, SP_RESUME);
	if (ret)
		return ret;
	pr_debug("checkpoint %" PRIu64 " loaded: layout %.0f us, flush of %"
		 PRIu64 " pages %.0f us, re-arm %.0f us", s->ckpt_id,
		 (double)s->phase_ns[SP_LAYOUT] / 1e3,
		 s->cache.stats.pages_flushed,
		 (double)s->phase_ns[SP_FLUSH] / 1e3,
		 (double)s->phase_ns[SP_REARM] / 1e3);
	s->last_load_ms = (double)(now - t0) / 1e6;
	/* the initial sync's stop-and-copy is not a COLO checkpoint */
	if (s->ckpt_done > 1) {
		pause_stats_add(&s->pauses, (double)(daemon_now_ms() - s->stop_ms));
		stopped_count(s, now);
	}
	/* Step 5 */
	vl = (struct colo_vmstate_loaded){
		.id = s->ckpt_id, .verify = (uint32_t)verify,
	};
	colo_vmstate_loaded_encode(&vl, loaded);
	ret = channel_send(s->ch, COLO_VMSTATE_LOADED, loaded, sizeof(loaded));
	if (!ret && s->ckpt_done == 1) {
		pr_info("initial sync done: our guest is a copy of the "
			"primary's (%" PRIu64 " pages written into it as they "
			"arrived, %" PRIu64 " at the stop, in %.0f ms)",
			s->cache.stats.pages_through,
			s->cache.stats.pages_flushed, s->last_load_ms);
		ret = channel_send(s->ch, COLO_CHECKPOINT_READY, NULL, 0);
	}
	channel_push(s->ch);	/* the primary resumes while we commit */
	phase_end(s, SP_LOADED);
	return ret;
}

/* --- the fall back -------------------------------------------------------- */

void secondary_checkpoint_lost(struct secondary *s)
{
	if (s->state == S_CHECKPOINT && !s->stopping_guest) {
		s->ckpt_aborted++;
		pause_stats_add(&s->pauses, (double)(daemon_now_ms() - s->stop_ms));
		stopped_count(s, colo_now_ns());
	}
	s->stopping_guest = false;
	s->in_vmstate = false;
	if (s->state == S_UNRESTORABLE)
		return;		/* nothing to put back: it stays stopped */
	secondary_checkpoint_fall_back(s);
}

/*
 * Stop our guest where a takeover runs it from, and keep it there:
 * compare mode, its own state (what arrived of a newer checkpoint is
 * dropped, nothing is rolled back); buffer mode, the last complete
 * checkpoint. A guest that does not stop now (busy, or stopped by
 * someone) is tried again at the ticks.
 */
void secondary_checkpoint_fall_back(struct secondary *s)
{
	int ret;

	s->state = S_PEER_LOST;
	if (!s->cache.committed) {
		ram_cache_discard(&s->cache);
		s->state = S_WAITING;
		if (s->cache.wrote_through) {
			pr_warn("no checkpoint was complete yet: our guest holds "
				"part of an initial sync and stays stopped until "
				"a primary syncs it again");
			return;
		}
		pr_warn("no checkpoint was complete yet: our guest was never "
			"loaded; waiting for a primary");
		if (s->g.paused)
			guest_continue(&s->g);
		return;
	}
	ret = guest_stop(&s->g, STOP_SLICE_MS);
	if (ret == -ETIMEDOUT) {
		if (!s->restore_pending)
			pr_warn("our guest does not stop; stopping it for a "
				"takeover as soon as it does");
		s->restore_pending = true;
		return;
	}
	s->restore_pending = false;
	s->restore_retry_ms = 0;
	s->guest_stopped_ms = daemon_now_ms();
	if (!ret && s->continues) {
		ram_cache_discard(&s->cache);
		pr_warn("our guest is stopped at its own state after checkpoint %"
			PRIu64 " (compare mode: a takeover continues from there; "
			"what arrived of a newer checkpoint is dropped)",
			s->cache.image_id);
		return;
	}
	if (!ret)
		ret = restore_guest(s, true);
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
		"complete one (buffer mode: a takeover resumes it from there)",
		s->cache.image_id);
}
