/*
 * primary_takeover.c - the secondary becomes the primary: the same
 * process goes on with the secondary's guest (takeover.h), as a solo
 * primary, until a new secondary protects it again (coloctl protect).
 *
 * The order is the takeover's, each step as soon as the one before:
 *   1. the control socket answers as the primary's;
 *   2. the guest's NIC goes on the local uplink (a TAP on [net] bridge);
 *   3. the guest runs again, its clock where it stood plus the time since
 *      (never back: it was fed the primary's clock);
 *   4. gratuitous ARP for its address, in rounds (announce.h), so the
 *      LAN finds it behind this host;
 *   5. the dirty log keeps the pages it writes from now on: all of it
 *      goes to the next secondary anyway.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define LOG_PREFIX "primary: "
#include "log.h"
#include "hooks.h"
#include "dirty_log.h"
#include "lan_watch.h"
#include "primary.h"
#include "primary_int.h"

/*
 * Step 3: the guest's own TID back (a rolled-back image has A's), and
 * its clock from where it stood plus the time since. A guest slow to
 * answer is resumed all the same; one that refuses the clock, at its
 * own: it must run, it is the service's only copy now.
 */
static int resume_guest(struct primary *p, uint64_t clock_ms)
{
	int ret = guest_cmd(&p->g, GUEST_CMD_SET_TID, NULL, NULL, NULL, 0);

	if (ret)
		pr_warn("the guest did not take its TID back (%s); resuming it "
			"all the same", strerror(-ret));
	ret = guest_continue_at(&p->g, clock_ms);
	if (ret == -EINVAL || ret == -EPROTO) {
		pr_err("the guest refused clock %" PRIu64 " ms; resuming it at "
		       "its own", clock_ms);
		ret = guest_continue(&p->g);
	}
	if (ret == -ETIMEDOUT) {
		pr_warn("the guest did not confirm it resumed; taken as running");
		ret = 0;
	}
	if (ret)
		return ret;
	/* the clock feed (compare mode) goes on from there */
	p->feed_clock_ms = clock_ms;
	p->feed_host_ms = daemon_now_ms();
	primary_net_guest_running(p);
	return 0;
}

static int adopt(struct primary *p, struct colo_takeover *t)
{
	int ret;

	p->ctl = t->ctl;
	control_set_handler(p->ctl, primary_on_control, p);
	p->hooks = t->hooks;
	p->lan = t->lan;
	lan_watch_set(p->lan, COLO_ROLE_PRIMARY, false);
	p->g = t->g;
	p->g.on_frame = primary_net_frame_fn();
	p->g.opaque = p;
	p->dl = t->dl;
	/* the next secondary's cache is empty, as at a first start */
	p->dl->whole_file_blocks = true;
	ret = dirty_log_set_clear(p->dl, p->cfg.ram.clear_mode,
				  p->cfg.ram.clear_bitmap_shift);
	if (!ret)
		ret = ram_save_init(&p->rs, p->dl);
	if (!ret)
		ret = primary_setup_events(p);
	if (ret)
		return ret;
	/* Step 2: a guest with no uplink still runs (its state is the
	 * service's only copy now); the error says what to fix */
	if (primary_net_open(p)) {
		primary_net_close(p);
		pr_err("the guest runs without its network: the uplink could "
		       "not be set up (see above)");
	}
	/* the time since the decision (this setup) counts too */
	return resume_guest(p, t->clock_ms +
			    (uint64_t)(daemon_now_ms() - t->decided_ms));
}

/* What the secondary's code handed over, when no primary takes it. */
static void drop_takeover(struct colo_takeover *t)
{
	control_answer(t->ctl, TAKEOVER_ANSWER_TAG, -ENOMEM, "out of memory "
		       "taking over: the guest is lost\n");
	guest_destroy(&t->g, 0);
	dirty_log_close(t->dl);
	lan_watch_close(t->lan);
	hooks_close(t->hooks);
	control_close(t->ctl);
	event_base_free(t->base);
}

int primary_run_takeover(const struct colo_config *cfg,
			 struct colo_takeover *t)
{
	struct primary *p = primary_new(cfg, t->base);
	int64_t now;

	if (!p) {
		pr_err("out of memory taking over: the guest is lost");
		drop_takeover(t);
		return 1;
	}
	p->state = P_SOLO;
	p->took_over = true;
	snprintf(p->took_over_from, sizeof(p->took_over_from), "%s", t->peer);
	p->took_over_ckpt = t->ckpt_done;
	p->took_over_rolled_back = t->rolled_back;
	snprintf(p->peer_why, sizeof(p->peer_why), "took over from %.60s: "
		 "%.160s", t->peer[0] ? t->peer : "the primary", t->reason);
	if (adopt(p, t)) {
		pr_err("taking over failed (see above): stopping");
		control_answer(p->ctl, TAKEOVER_ANSWER_TAG, -EIO, "taking over "
			       "failed: the guest could not be run as the "
			       "primary's (see the log)\n");
		p->exit_code = 1;
		return primary_serve(p, false);
	}
	now = daemon_now_ms();
	p->running_ms = now;
	p->detect_ms = t->last_heard_ms && t->lost_ms > t->last_heard_ms ?
		       (double)(t->lost_ms - t->last_heard_ms) : 0;
	p->decide_ms = (double)(t->decided_ms - t->lost_ms);
	p->takeover_ms = (double)(now - t->decided_ms);
	/* Step 4: the LAN learns where the guest is, and the guest makes
	 * its TCP peers go on now rather than at their next timeout */
	primary_net_announce(p);
	if (p->uplink && guest_announce(&p->g))
		pr_warn("the guest was not told it moved: its clients go on at "
			"their next retransmission");
	hooks_run(p->hooks, HOOK_ROLE_CHANGE, "primary", "takeover", t->peer,
		  t->reason);
	pr_warn("took over: the guest runs as the primary's, solo (primary "
		"last heard %.0f ms before it was found lost, the decision %.0f "
		"ms later, the guest running %.0f ms after that)",
		p->detect_ms, p->decide_ms, p->takeover_ms);
	{
		char msg[320];

		snprintf(msg, sizeof(msg), "took over: the guest runs from %s %"
			 PRIu64 "; this daemon is the primary now\n",
			 t->rolled_back ? "checkpoint" :
			 "its own state after checkpoint", t->ckpt_done);
		control_answer(p->ctl, TAKEOVER_ANSWER_TAG, 0, msg);
	}
	return primary_serve(p, true);
}

void primary_takeover_status(struct primary *p, struct status_out *so)
{
	if (!p->took_over)
		return;
	status_str(so, "took_over_from", p->took_over_from);
	status_str(so, "took_over_state", p->took_over_rolled_back ?
		   "last-checkpoint" : "own-state");
	status_num(so, "took_over_checkpoint", (double)p->took_over_ckpt, 0);
	status_num(so, "takeover_detect_ms", p->detect_ms, 0);
	status_num(so, "takeover_decide_ms", p->decide_ms, 0);
	status_num(so, "takeover_run_ms", p->takeover_ms, 0);
	status_num(so, "takeover_announce_ms", p->announce_first_ms ?
		   (double)(p->announce_first_ms - p->running_ms) : -1, 0);
}
