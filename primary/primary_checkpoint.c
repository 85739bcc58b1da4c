/*
 * primary_checkpoint.c - the primary's side of the checkpoint
 * transaction, in the order of the protocol (QEMU's
 * colo_do_checkpoint_transaction):
 *
 *   primary (A)                                        secondary (B)
 *   [stop A] ........................................ the pause begins
 *   CHECKPOINT_REQUEST(id) ---------------------------> [stop B]
 *          <------------------------------------------- CHECKPOINT_REPLY(id)
 *   VMSTATE_SEND(id) ---------------------------------> RAM cache stages
 *   RAM_BLOCKS?, PAGES ... (A's last dirty pages) ----> ...
 *   LAYOUT (A's mappings, brk) -----------------------> ...
 *   MEMHASH (checkpoint --verify) --------------------> ...
 *   VMSTATE_SIZE(id, pages, bytes, flags, A's clock) -> all of it arrived?
 *          <------------------------------------------- VMSTATE_RECEIVED(id)
 *                                                       load: the commit rule
 *          <------------------------------------------- VMSTATE_LOADED(id)
 *   [resume A] ...................................... the pause ends
 *
 * Nothing waits unbounded: a guest busy in a handler is stopped in
 * slices at the ticks; from the stop, the secondary has a deadline of
 * the heartbeat timeout, restarted at VMSTATE_SIZE with more for each
 * page it must load. A checkpoint cut short (the secondary lost, or past
 * its deadline) resumes A and counts, its pause the longest of all.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_PREFIX "primary: "
#include "log.h"
#include "clock.h"
#include "hooks.h"
#include "fault.h"
#include "guest_compare.h"
#include "layout.h"
#include "primary_control.h"
#include "primary_int.h"

#define STOP_SLICE_MS		50	/* a stop waits this long, then the loop runs */
#define STOP_RETRY_MAX_MS	500	/* a busy guest's stops, at most this far apart */
/* What loading a page may take the secondary, for a checkpoint's deadline
 * (generous: a flush writes ~1 GB/s, i.e. ~4 us a page) */
#define LOAD_NS_PER_PAGE	50000

static int send_id(struct primary *p, uint16_t type)
{
	struct colo_id m = { .id = p->ckpt_id };
	uint8_t b[COLO_ID_LEN];

	colo_id_encode(&m, b);
	return channel_send(p->ch, type, b, sizeof(b));
}

/* A record of the secondary that names a checkpoint: it must be ours. */
static int expect_id(struct primary *p, uint16_t type, uint64_t id)
{
	if (id == p->ckpt_id)
		return 0;
	pr_err("unexpected %s for checkpoint %" PRIu64 " from the secondary: "
	       "checkpoint %" PRIu64 " is in progress", colo_record_name(type),
	       id, p->ckpt_id);
	return -EPROTO;
}

/* --- the phases' clock ---------------------------------------------------- */

/* The phase that ends now ran since the end of the one before: each
 * microsecond of the pause goes to exactly one phase. The clock's read
 * costs tens of ns, a dozen times a checkpoint. */
static uint64_t phase_end(struct primary *p, enum primary_phase ph)
{
	uint64_t now = colo_now_ns();

	p->phase_ns[ph] += now - p->phase_mark_ns;
	p->phase_mark_ns = now;
	return now;
}

/* The pause of a COLO checkpoint is over: its phases into the figures. */
static void phases_count(struct primary *p)
{
	for (int ph = 0; ph < PP_PHASES; ph++) {
		p->phase_last_us[ph] = (double)p->phase_ns[ph] / 1e3;
		pause_stats_add(&p->phase_stats[ph],
				(double)p->phase_ns[ph] / 1e6);
	}
}

/* The pause in microseconds, from the PAUSE of the stop to now. */
static void pause_fine_count(struct primary *p, uint64_t now)
{
	p->last_pause_us = (double)(now - p->stop_begin_ns) / 1e3;
	if (p->ckpt_id > 1)
		pause_stats_add(&p->pauses_fine, p->last_pause_us / 1e3);
}

/* --- begin: stop the guest, CHECKPOINT_REQUEST ---------------------------- */

/* The guest is in a handler: another try after a pause that doubles, so
 * a guest that reads none of its PAUSEs and CANCELs fills nothing. */
static void stop_later(struct primary *p, int64_t now)
{
	if (!p->stop_tries_since_ms) {
		p->stop_tries_since_ms = now;
	} else if (now - p->stop_tries_since_ms >=
		   (int64_t)p->cfg.guest.stop_timeout_ms) {
		pr_warn("the guest has not reached a pause point for %" PRId64
			" ms (busy in a handler); the checkpoint waits for it",
			now - p->stop_tries_since_ms);
		p->stop_tries_since_ms = now;
	}
	p->stop_retry_ms = p->stop_retry_ms ? p->stop_retry_ms * 2 : 10;
	if (p->stop_retry_ms > STOP_RETRY_MAX_MS)
		p->stop_retry_ms = STOP_RETRY_MAX_MS;
	p->next_ckpt_ms = daemon_now_ms() + p->stop_retry_ms;
}

/*
 * Step 1 -- stop the guest: STOP_SLICE_MS now, more at the next ticks, so
 * the loop (heartbeats, control) never waits on it for long. The pause
 * begins; the checkpoint takes the flags asked for until now.
 * Step 2 -- CHECKPOINT_REQUEST: the secondary stops its guest.
 */
void primary_checkpoint_begin(struct primary *p)
{
	int64_t now = daemon_now_ms();
	uint64_t t0 = colo_now_ns();

	if (guest_stop(&p->g, STOP_SLICE_MS)) {
		stop_later(p, now);
		return;
	}
	/* a busy guest's earlier tries are not timed: it ran meanwhile */
	memset(p->phase_ns, 0, sizeof(p->phase_ns));
	p->stop_begin_ns = p->phase_mark_ns = t0;
	phase_end(p, PP_STOP);
	p->stop_tries_since_ms = 0;
	p->stop_retry_ms = 0;
	p->stop_ms = daemon_now_ms();
	p->ckpt_deadline_ms = p->stop_ms + p->cfg.ha.heartbeat_timeout_ms;
	p->ckpt_id++;
	p->ckpt_by_reason[p->state == P_SYNC ? CKPT_SYNC :
			  p->ckpt_requested ? p->ckpt_reason : CKPT_TIMER]++;
	p->ckpt_requested = false;
	p->verify_this = p->verify_next;
	p->hold_this = p->hold_next;
	p->verify_next = p->hold_next = false;
	p->state = P_CHECKPOINT;
	primary_net_checkpoint_begun(p);	/* the epoch's inputs are out */
	if (send_id(p, COLO_CHECKPOINT_REQUEST))
		primary_lose_secondary(p, "cannot send CHECKPOINT_REQUEST");
}

/* --- CHECKPOINT_REPLY: VMSTATE_SEND .. VMSTATE_SIZE ----------------------- */

/* VMSTATE_SEND and what is still dirty: the guest is stopped, so this
 * pass is bounded by what it dirtied since the last one. */
static int send_final_pages(struct primary *p)
{
	int ret = send_id(p, COLO_VMSTATE_SEND);
	uint64_t clear0, read0, t0, pass, clear, read;

	p->pages_at_send = p->ps.stats.pages;
	p->bytes_at_send = p->ps.stats.bytes;
	if (!ret)
		ret = dirty_log_sync(p->dl);
	t0 = phase_end(p, PP_SYNC);
	clear0 = p->dl->stats.clear_ns;
	read0 = p->rs.stats.read_ns;
	if (!ret)
		ret = page_stream_blocks(&p->ps, &p->dl->ram, false);
	if (fault_injected(FI_GUEST_READ_FAIL) && p->ckpt_id == fault_at())
		fault_arm(FI_GUEST_READ_FAIL);
	if (!ret)
		ret = ram_save_pass(&p->rs, &p->ps.sink);
	p->pass_start = true;		/* the next gap syncs first */
	/* the pass in three: its clears and reads, timed where they are
	 * made, and the rest */
	pass = colo_now_ns() - t0;
	clear = p->dl->stats.clear_ns - clear0;
	read = p->rs.stats.read_ns - read0;
	if (clear > pass)
		clear = pass;
	if (read > pass - clear)
		read = pass - clear;
	p->phase_ns[PP_CLEAR] += clear;
	p->phase_ns[PP_READ] += read;
	p->phase_mark_ns += clear + read;
	phase_end(p, PP_SEND);
	return ret;
}

/* LAYOUT of l (freed here) with break brk. */
static int send_layout_of(struct primary *p, struct layout *l, uint64_t brk)
{
	uint8_t *buf = NULL;
	size_t len;
	int ret = layout_encode(l, brk, &buf, &len);

	layout_free(l);
	if (!ret)
		ret = channel_send(p->ch, COLO_LAYOUT, buf, (uint32_t)len);
	free(buf);
	return ret;
}

int primary_send_layout(struct primary *p, uint64_t *clock_ms)
{
	struct colo_guest_layout gl;
	struct layout l;
	int ret;

	ret = guest_layout(&p->g, &gl);
	if (!ret)
		ret = layout_read(p->g.pid, &l);
	if (ret)
		return ret;
	if (clock_ms)
		*clock_ms = gl.clock_ms;
	return send_layout_of(p, &l, gl.brk);
}

/*
 * LAYOUT at a pass of the initial sync, the guest running: its mappings
 * as /proc says, its break as the end of its [heap], or where the heap
 * would start when it has none (the runtime tells the exact break only
 * when paused; the checkpoint's LAYOUT has it, within the same page).
 */
int primary_send_sync_layout(struct primary *p)
{
	struct layout l;
	uint64_t brk;
	int ret;

	ret = layout_read(p->g.pid, &l);
	if (ret)
		return ret;
	brk = l.stat[LS_START_BRK];
	for (size_t i = 0; i < l.nr; i++)
		if (l.maps[i].kind == LAYOUT_HEAP)
			brk = l.maps[i].end;
	return send_layout_of(p, &l, brk);
}

/* --- the initial sync's end ---------------------------------------------- */

void primary_sync_pass_done(struct primary *p)
{
	uint64_t now = colo_now_ns();
	double s = (double)(now - p->sync_mark_ns) / 1e9;

	p->sync_passes++;
	p->sync_rate = s > 0 ? (double)(p->ps.stats.pages -
					p->sync_mark_pages) / s : 0;
	p->sync_mark_ns = now;
	p->sync_mark_pages = p->ps.stats.pages;
}

/*
 * As QEMU's downtime-limit: the stop-and-copy begins when the pages the
 * sync just found dirty would cross within [checkpoint] max_downtime_ms
 * at the rate (pages a second) the last pass went; a guest that dirties faster than that
 * is stopped after SYNC_PASSES_MAX passes all the same, with the figures
 * in the log. Not before the guest's network is ready to be compared.
 */
bool primary_sync_converged(struct primary *p)
{
	uint64_t dirty = ram_list_count_dirty(&p->dl->ram);
	double ps = (double)p->dl->ram.page_size;
	double ms = p->sync_rate > 0 ? (double)dirty / p->sync_rate * 1e3 : 0;
	double mbs = p->sync_rate * ps / 1e6;
	unsigned limit = p->cfg.checkpoint.max_downtime_ms;

	if (!p->sync_passes) {		/* the first pass begins */
		p->sync_mark_ns = colo_now_ns();
		p->sync_mark_pages = p->ps.stats.pages;
		return false;
	}
	if (!primary_net_ready(p))
		return false;
	if (p->sync_rate > 0 && ms <= limit) {
		pr_info("initial sync: after %u pass(es), %" PRIu64 " pages "
			"dirty, ~%.1f ms at %.0f MB/s: the stop-and-copy begins",
			p->sync_passes, dirty, ms, mbs);
		return true;
	}
	if (p->sync_passes < SYNC_PASSES_MAX)
		return false;
	pr_warn("initial sync: the guest dirties memory faster than the link "
		"moves it: after %u passes %" PRIu64 " pages (%.0f MiB) are "
		"still dirty, ~%.0f ms at %.0f MB/s against max_downtime_ms %u; "
		"stopping it for the copy all the same", p->sync_passes, dirty,
		(double)dirty * ps / (1 << 20), ms, mbs, limit);
	return true;
}

/* MEMHASH, when this checkpoint is verified: the guest's memory as it
 * is sent. [debug] record_hashes wants the hash too, sent or not. */
static int send_memhash(struct primary *p)
{
	uint8_t b[COLO_MEMHASH_LEN];
	struct colo_memhash m;
	int ret;

	if (!p->verify_this && !p->cfg.debug.record_hashes[0])
		return 0;
	ret = guest_memory_crc(p->g.pid, &p->this_crc, &p->this_bytes);
	if (ret)
		return ret;
	daemon_record_hash(p->cfg.debug.record_hashes, p->ckpt_id, p->this_crc,
			   p->this_bytes);
	if (!p->verify_this)
		return 0;
	m = (struct colo_memhash){ .crc = p->this_crc, .bytes = p->this_bytes };
	colo_memhash_encode(&m, b);
	return channel_send(p->ch, COLO_MEMHASH, b, sizeof(b));
}

/*
 * VMSTATE_SIZE: what went out since VMSTATE_SEND, the flags and the
 * guest's clock. The secondary's deadline starts again here, with
 * LOAD_NS_PER_PAGE more for each page it has to load.
 */
static int send_vmstate_size(struct primary *p)
{
	uint8_t b[COLO_VMSTATE_SIZE_LEN];
	struct colo_vmstate_size vs;
	int ret;

	p->this_pages = p->ps.stats.pages - p->pages_at_send;
	p->this_bytes_sent = p->ps.stats.bytes - p->bytes_at_send;
	p->ckpt_deadline_ms = daemon_now_ms() + p->cfg.ha.heartbeat_timeout_ms +
		(int64_t)(p->this_pages * LOAD_NS_PER_PAGE / 1000000);
	if (fault_injected(FI_PRIMARY_DIE_IN_CHECKPOINT) &&
	    p->ckpt_id == fault_at()) {
		/* die with the checkpoint on its way, never finished */
		pr_warn("fault injected: dying in checkpoint %" PRIu64, p->ckpt_id);
		p->die_at_ms = daemon_now_ms() + 50;
		return 0;
	}
	vs = (struct colo_vmstate_size){
		.id = p->ckpt_id,
		.pages = p->this_pages,
		.bytes = p->this_bytes_sent,
		.flags = (p->verify_this ? COLO_VMSTATE_VERIFY : 0) |
			 (p->hold_this ? COLO_VMSTATE_HOLD : 0),
		.clock_ms = p->this_clock_ms,
	};
	colo_vmstate_size_encode(&vs, b);
	ret = channel_send(p->ch, COLO_VMSTATE_SIZE, b, sizeof(b));
	if (!ret)
		p->ckpt_sent = p->ckpt_id;
	if (!ret && fault_injected(FI_PRIMARY_DIE_AFTER_SIZE) &&
	    p->ckpt_id == fault_at()) {
		/* die with the checkpoint sent whole, deaf to its answer */
		pr_warn("fault injected: dying after checkpoint %" PRIu64
			" was sent", p->ckpt_id);
		p->die_at_ms = daemon_now_ms() + 50;
		p->dying = true;
	}
	return ret;
}

/*
 * The secondary's guest is stopped too: Step 3 -- VMSTATE_SEND and the
 * final pages; Step 4 -- LAYOUT; Step 5 -- MEMHASH; Step 6 --
 * VMSTATE_SIZE.
 */
int primary_checkpoint_reply(struct primary *p, const uint8_t *payload,
			     uint32_t len)
{
	struct colo_id m;
	int ret;

	ret = colo_id_decode(COLO_CHECKPOINT_REPLY, payload, len, &m);
	if (!ret)
		ret = expect_id(p, COLO_CHECKPOINT_REPLY, m.id);
	if (ret)
		return ret;
	phase_end(p, PP_REPLY);
	ret = send_final_pages(p);
	if (!ret)	/* its clock at the pause goes in VMSTATE_SIZE */
		ret = primary_send_layout(p, &p->this_clock_ms);
	phase_end(p, PP_LAYOUT);
	if (!ret)
		ret = send_memhash(p);
	phase_end(p, PP_MEMHASH);
	if (!ret)
		ret = send_vmstate_size(p);
	phase_end(p, PP_SIZE);
	if (ret)
		primary_lose_secondary(p, "cannot send the checkpoint");
	return ret;
}

/* --- VMSTATE_RECEIVED: the secondary loads -------------------------------- */

/* All of it arrived; the deadline set at VMSTATE_SIZE bounds the load. */
int primary_checkpoint_received(struct primary *p, const uint8_t *payload,
				uint32_t len)
{
	struct colo_id m;
	int ret;

	ret = colo_id_decode(COLO_VMSTATE_RECEIVED, payload, len, &m);
	if (!ret)
		ret = expect_id(p, COLO_VMSTATE_RECEIVED, m.id);
	if (!ret)
		phase_end(p, PP_RECEIVED);
	return ret;
}

/* --- VMSTATE_LOADED: resume, figures -------------------------------------- */

/* What checkpoint --verify asked: the secondary's answer. */
static void note_verify(struct primary *p, int verify)
{
	if (!p->verify_this)
		return;
	p->last_verify = verify;
	p->last_verify_id = p->ckpt_id;
	if (verify != COLO_VERIFY_SAME)
		pr_err("checkpoint %" PRIu64 ": the secondary's guest is NOT a "
		       "copy of ours", p->ckpt_id);
}

/*
 * The guest runs again. A late answer is no reason to touch the
 * protected service: the guest is taken as running (a paused one answers
 * the next PAUSE all the same), and a dead one is on_guest's to report.
 */
static void resume_guest(struct primary *p)
{
	int ret = guest_continue(&p->g);

	if (ret == -ETIMEDOUT)
		pr_warn("the guest did not confirm it resumed after checkpoint %"
			PRIu64 "; taken as running", p->ckpt_id);
	else if (ret)
		pr_err("resuming the guest after checkpoint %" PRIu64
		       " failed: %s", p->ckpt_id, strerror(-ret));
	primary_net_guest_running(p);
}

/* The pause is over: into the figures. The initial sync's stop-and-copy
 * (checkpoint 1) is not a COLO checkpoint: its pause is reported apart. */
static void count_pause(struct primary *p)
{
	double pause = (double)(daemon_now_ms() - p->stop_ms);

	pause_fine_count(p, phase_end(p, PP_RESUME));
	p->last_pause_ms = pause;
	if (p->ckpt_id > 1) {
		pause_stats_add(&p->pauses, pause);
		phases_count(p);
		return;
	}
	p->initial_pause_ms = pause;
	pr_info("initial sync done: the guest is protected (first checkpoint: %"
		PRIu64 " pages, pause %.0f ms)", p->this_pages, pause);
	p->protected_since_ms = daemon_now_ms();
	hooks_run(p->hooks, HOOK_ROLE_CHANGE, "primary", "protected",
		  p->cfg.checkpoint.peer, "the initial sync is done: the guest "
		  "is protected");
	p->bytes_at_protect = p->ps.stats.bytes;
	p->pages_at_protect = p->ps.stats.pages;
}

/*
 * Step 7 -- the checkpoint is the secondary's: its figures; then either
 * both guests stay held (checkpoint --hold), or ours resumes and the gap
 * until the next checkpoint begins.
 */
int primary_checkpoint_loaded(struct primary *p, const uint8_t *payload,
			      uint32_t len)
{
	struct colo_vmstate_loaded vl;
	int ret;

	ret = colo_vmstate_loaded_decode(payload, len, &vl);
	if (!ret)
		ret = expect_id(p, COLO_VMSTATE_LOADED, vl.id);
	if (ret)
		return ret;
	phase_end(p, PP_LOADED);
	p->ckpt_done = p->ckpt_id;
	primary_net_release(p);		/* its output may leave now */
	p->connect_backoff_ms = 0;
	p->last_pages = p->this_pages;
	p->last_bytes_sent = p->this_bytes_sent;
	if (p->ckpt_id > 1) {		/* COLO checkpoints only */
		p->total_pages += p->this_pages;
		p->total_bytes_sent += p->this_bytes_sent;
	}
	note_verify(p, (int)vl.verify);
	if (p->hold_this) {
		p->state = P_HELD;
		pr_info("checkpoint %" PRIu64 " done; both guests held stopped",
			p->ckpt_id);
	} else {
		resume_guest(p);
		count_pause(p);
		p->state = P_COLO;
		p->next_ckpt_ms = daemon_now_ms() +
			p->cfg.checkpoint.checkpoint_delay_ms;
	}
	primary_control_checkpoint_done(p, p->ckpt_id, true);
	return 0;
}

/* --- the deadline --------------------------------------------------------- */

/* A secondary stopping its guest or loading is silent: its deadline, not
 * the heartbeats, bounds it. */
void primary_checkpoint_deadline(struct primary *p, int64_t now, int64_t late)
{
	char why[160];

	p->ckpt_deadline_ms += late;	/* we did not run: not its fault */
	if (now <= p->ckpt_deadline_ms)
		return;
	snprintf(why, sizeof(why), "the secondary did not load checkpoint %"
		 PRIu64 " within %" PRId64 " ms", p->ckpt_id, now - p->stop_ms);
	primary_lose_secondary(p, why);
}

/* --- the aborted checkpoint ----------------------------------------------- */

void primary_checkpoint_give_up(struct primary *p)
{
	if (p->state == P_CHECKPOINT)
		primary_control_checkpoint_done(p, p->ckpt_id, false);
	if (p->ckpt_requested)
		primary_control_checkpoint_done(p, p->ckpt_id + 1, false);
	p->ckpt_requested = p->verify_next = p->hold_next = false;
}

/* Called with the guest resumed: the pause cut short counts in the
 * figures, the worst of them, never hidden. */
void primary_checkpoint_abort(struct primary *p)
{
	if (p->state == P_CHECKPOINT) {
		double pause = (double)(daemon_now_ms() - p->stop_ms);

		p->ckpt_aborted++;
		p->last_pause_ms = pause;
		if (p->ckpt_id > 1)
			pause_stats_add(&p->pauses, pause);
		pause_fine_count(p, colo_now_ns());
		pr_warn("checkpoint %" PRIu64 " aborted after %.0f ms with the "
			"guest stopped", p->ckpt_id, pause);
	}
	primary_checkpoint_give_up(p);
}
