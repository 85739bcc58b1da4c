/*
 * secondary_takeover.c - losing the primary, and becoming it.
 *
 * The primary is lost when the replication link closes or falls silent
 * for [ha] heartbeat_timeout_ms. Our guest is then stopped where a
 * takeover runs it from (secondary_checkpoint_fall_back()) and waits:
 *
 *   coloctl failover          takes over at once, unless the primary is
 *                             still connected and heard (--force: even
 *                             then; the HA manager has fenced it)
 *   [ha] auto_failover = yes  takes over once the primary has been silent
 *                             on both paths, the replication link and the
 *                             LAN path (lan_watch.h), for a heartbeat
 *                             timeout. A primary heard on the LAN after
 *                             the link went is alive: only the link is
 *                             down, the primary runs solo, and we never
 *                             take over by ourselves (two primaries).
 *                             Nor do we when the LAN path was silent
 *                             already while the link spoke (or never
 *                             heard the primary): it proves nothing.
 *
 * The takeover itself is the primary's code's: what we hand over is in
 * takeover.h. Here our guest is made ready (stopped, its clock read) and
 * everything that was only the secondary's goes with our loop.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define LOG_PREFIX "secondary: "
#include "log.h"
#include "lan_watch.h"
#include "secondary_int.h"

bool secondary_continues_own_state(const struct secondary *s)
{
	return secondary_mirror_expected(s);
}

/*
 * The primary is lost on the replication link. A LAN path silent for a
 * heartbeat timeout while the link still spoke (or never heard the
 * primary) was dead already: it proves nothing now, and auto_failover
 * holds back.
 */
void secondary_takeover_lost(struct secondary *s)
{
	int64_t heard = lan_watch_heard_ms(s->lan);

	s->lost_ms = daemon_now_ms();
	s->last_heard_ms = s->watch.last_rx_ms;
	s->primary_alive = false;
	s->lan_silent = s->lan && (!heard || heard +
		(int64_t)s->cfg.ha.heartbeat_timeout_ms < s->last_heard_ms);
	s->continues = secondary_continues_own_state(s);
}

/* Why our guest cannot be taken over now, or NULL. */
static const char *not_ready(const struct secondary *s)
{
	switch (s->state) {
	case S_WAITING:
	case S_SYNC:
		return "our guest is no copy of the primary's yet (the initial "
		       "sync never completed): there is nothing to take over";
	case S_UNRESTORABLE:
		return "our guest could not be put back to a complete "
		       "checkpoint: it must not run (see the log)";
	case S_STOPPING:
	case S_TAKING_OVER:
		return "the daemon is stopping or taking over already";
	default:
		break;
	}
	if (s->restore_pending)
		return "our guest has not stopped yet; try again in a moment";
	return NULL;
}

/*
 * Our guest is stopped where it runs from: its clock, and everything the
 * primary's code takes, into s->takeover; then our loop ends.
 */
static int hand_over(struct secondary *s, const char *reason)
{
	struct colo_takeover *t = s->takeover;
	struct colo_guest_layout l;
	int64_t now = daemon_now_ms();
	int ret;

	ret = guest_layout(&s->g, &l);
	if (ret) {
		pr_err("cannot read our stopped guest's clock: %s; not taking "
		       "over", strerror(-ret));
		return ret;
	}
	*t = (struct colo_takeover){
		.ready = true,
		.base = s->base,
		.ctl = s->ctl,
		.hooks = s->hooks,
		.lan = s->lan,
		.g = s->g,
		.dl = s->dl,
		/* as far as it stood when stopped, plus the time since: the
		 * guest's clock goes on, never back */
		.clock_ms = l.clock_ms + (uint64_t)(now - s->guest_stopped_ms),
		.ckpt_done = s->ckpt_done,
		.rolled_back = !s->continues,
		.last_heard_ms = s->last_heard_ms,
		.lost_ms = s->lost_ms,
		.decided_ms = now,
	};
	snprintf(t->peer, sizeof(t->peer), "%s", s->primary_addr);
	snprintf(t->reason, sizeof(t->reason), "%s", reason);
	/* the primary's code owns them now: our teardown leaves them */
	s->ctl = NULL;
	s->hooks = NULL;
	s->lan = NULL;
	s->dl = NULL;
	memset(&s->g, 0, sizeof(s->g));
	s->g.chan = -1;
	s->state = S_TAKING_OVER;
	pr_warn("taking over (%s): our guest runs from %s %" PRIu64
		", at guest clock %" PRIu64 " ms", reason,
		t->rolled_back ? "checkpoint" : "its own state after checkpoint",
		t->ckpt_done, t->clock_ms);
	event_base_loopbreak(s->base);
	return 0;
}

int secondary_failover(struct secondary *s, bool force, char *msg, size_t len)
{
	const char *why;
	int64_t now = daemon_now_ms();

	if (s->ch && channel_is_open(s->ch)) {
		if (!force) {
			snprintf(msg, len, "the primary at %s is alive (heard %"
				 PRId64 " ms ago); stop it first, or coloctl "
				 "failover --force if it is fenced",
				 channel_peer(s->ch),
				 peer_watch_silence_ms(&s->watch, now));
			return -EBUSY;
		}
		if (s->ckpt_done < 1) {
			snprintf(msg, len, "our guest is no copy of the "
				 "primary's yet (the initial sync is not "
				 "complete): there is nothing to take over");
			return -EAGAIN;
		}
		/* told to: the link goes, and our guest stops where it
		 * runs from, as on any loss */
		channel_drop(s->ch, "coloctl failover --force");
	}
	why = not_ready(s);
	if (why) {
		snprintf(msg, len, "%s", why);
		return -EAGAIN;
	}
	if (!force && s->primary_alive) {
		snprintf(msg, len, "the primary was heard on the LAN path after "
			 "the replication link went: it served solo since, and "
			 "our copy lacks what it acknowledged then; taking over "
			 "would lose those writes (coloctl failover --force "
			 "takes over anyway)");
		return -ESTALE;
	}
	if (!force && lan_watch_heard_ms(s->lan) > s->lost_ms &&
	    lan_watch_last(s->lan)->role == COLO_ROLE_PRIMARY) {
		snprintf(msg, len, "the primary was heard on the LAN path %"
			 PRId64 " ms ago, after the replication link went: it "
			 "may be alive and serving solo, and taking over would "
			 "make two primaries; wait a heartbeat timeout to tell a "
			 "dead primary from a cut link (coloctl failover --force "
			 "once it is fenced)", now - lan_watch_heard_ms(s->lan));
		return -EBUSY;
	}
	if (hand_over(s, force ? "coloctl failover --force" :
			 "coloctl failover")) {
		snprintf(msg, len, "our guest does not answer (see the log)");
		return -EIO;
	}
	return 0;	/* the primary's code answers, once the guest runs */
}

/*
 * After the loss, what the LAN path says: a beat of the primary heard
 * well after it (a heartbeat period: one in flight at the loss has landed
 * by then), or one saying it runs solo, means it lives: from then on our
 * copy is stale. Latched, whatever auto_failover says.
 */
static void watch_lan(struct secondary *s, int64_t now)
{
	int64_t heard = lan_watch_heard_ms(s->lan);
	int64_t timeout = s->cfg.ha.heartbeat_timeout_ms;
	const struct lan_beat *b = lan_watch_last(s->lan);

	if (s->primary_alive || b->role != COLO_ROLE_PRIMARY ||
	    heard <= s->lost_ms)
		return;
	if (heard <= s->lost_ms + timeout / 4 &&
	    (b->flags & LAN_BEAT_PROTECTING))
		return;		/* maybe in flight at the loss */
	s->primary_alive = true;
	pr_warn("the primary is alive on the LAN path (heard %" PRId64 " ms "
		"ago): only the replication link is down, and it runs solo; "
		"not taking over (coloctl failover --force would make two "
		"primaries unless it is fenced)", now - heard);
}

/*
 * auto_failover: the primary lost on the replication link is gone only
 * when the LAN path is silent too, for a heartbeat timeout; a LAN path
 * that was silent already while the link spoke proves nothing.
 */
void secondary_takeover_tick(struct secondary *s, int64_t now)
{
	int64_t heard, last, timeout = s->cfg.ha.heartbeat_timeout_ms;
	char why[192];

	if (s->state != S_PEER_LOST || s->restore_pending || !s->lan)
		return;
	watch_lan(s, now);
	if (!s->cfg.ha.auto_failover || s->primary_alive || s->lan_held)
		return;
	if (s->lan_silent) {
		s->lan_held = true;
		pr_warn("the LAN path was silent before the replication link "
			"went (check [ha] lan_listen and lan_peer on both hosts): "
			"not taking over by myself; coloctl failover decides");
		return;
	}
	heard = lan_watch_heard_ms(s->lan);
	last = heard > s->last_heard_ms ? heard : s->last_heard_ms;
	if (now - last < timeout)
		return;		/* the LAN path may still speak */
	snprintf(why, sizeof(why), "auto_failover: the primary is silent on "
		 "the replication link and the LAN path for %" PRId64 " ms",
		 now - last);
	hand_over(s, why);
}

int secondary_takeover_setup(struct secondary *s)
{
	const struct colo_config *c = &s->cfg;

	if (c->ha.auto_failover && (!c->ha.lan_listen[0] || !c->ha.lan_peer[0])) {
		pr_err("[ha] auto_failover = yes needs [ha] lan_listen and "
		       "lan_peer: a second heartbeat path over the client LAN, "
		       "so that losing only the replication link never makes "
		       "two primaries");
		return -EINVAL;
	}
	return lan_watch_from_config(&s->lan, s->base, c, COLO_ROLE_SECONDARY);
}

void secondary_takeover_status(struct secondary *s, struct status_out *so)
{
	status_str(so, "auto_failover", s->cfg.ha.auto_failover ? "yes" : "no");
	status_str(so, "takeover_from",
		   secondary_continues_own_state(s) ? "own-state" :
		   "last-checkpoint");
	if (s->state == S_PEER_LOST && s->primary_alive)
		status_str(so, "primary_alive_on_lan", "yes");
	if (s->state == S_PEER_LOST && s->lan_held)
		status_str(so, "auto_failover_held", "the LAN path was silent "
			   "before the replication link went");
	lan_watch_status(s->lan, so);
}
