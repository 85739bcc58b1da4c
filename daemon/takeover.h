/*
 * takeover.h - what the secondary daemon hands to the primary's code when
 * it takes over: the same process goes on as the primary, with the same
 * event loop, control socket, hooks and running guest.
 *
 * The secondary fills it in once its guest stands where it must run from
 * (compare mode: its own current state; buffer mode: the last complete
 * checkpoint, see docs/design.md "Takeover") and everything that was only
 * the secondary's (the RAM cache, the replication link, the listener) is
 * gone. Nothing in it is shared: the taker owns it all from then on.
 */
#ifndef COLO_TAKEOVER_H
#define COLO_TAKEOVER_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "control.h"
#include "dirty_log.h"
#include "guest.h"

struct hooks;
struct lan_watch;

/* The tag a `coloctl failover` waits under (control_reply_later()): it
 * is answered once the guest runs as the primary's, or why not. */
#define TAKEOVER_ANSWER_TAG	0

struct colo_takeover {
	bool ready;			/* filled in: run the primary from it */
	struct event_base *base;
	struct control *ctl;		/* answers go on: set its handler */
	struct hooks *hooks;
	struct lan_watch *lan;		/* the LAN heartbeat path, or NULL */
	struct guest g;			/* B, stopped, to be resumed */
	struct dirty_log *dl;		/* its log, open and armed */
	/* the guest clock to resume at: the primary guest's as it was
	 * last fed to ours, plus the time since, so it never goes back */
	uint64_t clock_ms;
	uint64_t ckpt_done;		/* the last checkpoint loaded */
	bool rolled_back;		/* buffer mode: at that checkpoint */
	char peer[64];			/* the primary that was */
	char reason[256];		/* why we took over */
	/* the figures of the takeover, CLOCK_MONOTONIC ms: the primary
	 * last heard, found lost, and the decision to take over */
	int64_t last_heard_ms, lost_ms, decided_ms;
};

#endif /* COLO_TAKEOVER_H */
