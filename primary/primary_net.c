/*
 * primary_net.c - the primary guest's network: the uplink (a TAP on
 * [net] bridge) and the output rules of [net] output.
 *
 * In: frames from the bridge go to the guest while it runs. While it is
 * paused the uplink is not read: the frames wait in the TAP's queue (a
 * paused guest refuses frames, and none may be lost in a pause).
 *
 * Out: while a secondary is attached (initial sync, COLO, checkpoints)
 * every frame of the guest is held, tagged with the checkpoint that must
 * be loaded before it leaves: the next one to begin, p->ckpt_id + 1 (a
 * frame read while a stop is under way was sent before the pause, so it
 * belongs to the checkpoint being begun, whose id is not taken yet). At
 * VMSTATE_LOADED(N) every frame up to epoch N goes out. A full queue asks
 * for a checkpoint at once. Without a secondary (connecting, solo) frames
 * pass straight through, and going solo lets every held frame go: there
 * is no checkpoint left to wait for.
 *
 * Out, compare mode (the default): the same epochs, but netcompare
 * (compare.h) holds the frames, and lets one go as soon as the
 * secondary's guest sent the same; what it lets go waits in outbuf only
 * for room on the TAP (epoch 0: at once). A difference asks for a
 * checkpoint, which lets the rest go. Inputs go to the secondary's guest
 * too, over the mirror link (primary_mirror.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define LOG_PREFIX "primary: "
#include "log.h"
#include "announce.h"
#include "compare.h"
#include "output_buffer.h"
#include "primary_int.h"
#include "uplink.h"

/* Frames from the bridge handed to the guest per wake of the uplink. */
#define UPLINK_BUDGET	64

static bool holding(const struct primary *p)
{
	return p->state == P_SYNC || p->state == P_COLO ||
	       p->state == P_CHECKPOINT || p->state == P_HELD;
}

/* To the bridge: a frame the TAP cannot take now stays held (-EAGAIN). */
static int emit(const uint8_t *frame, size_t len, void *opaque)
{
	struct primary *p = opaque;
	int ret = uplink_write_frame(p->uplink, frame, len);

	if (ret == -EAGAIN) {
		event_add(p->ev_uplink_out, NULL);
		return ret;
	}
	return 0;	/* sent, or dropped and counted by the uplink */
}

/* netcompare lets a frame go: to the TAP, behind what waits for room. */
static void compared(const uint8_t *frame, size_t len, void *opaque)
{
	struct primary *p = opaque;

	output_buffer_hold(&p->outbuf, frame, len, 0);
}

static void compare_wants(enum compare_reason why, void *opaque)
{
	struct primary *p = opaque;

	/* the checkpoint in progress ends the epoch anyway */
	if (p->state == P_CHECKPOINT || p->state == P_SYNC)
		return;
	primary_request_checkpoint(p, why == COMPARE_TIMEOUT ? CKPT_TIMEOUT :
				   why == COMPARE_QUEUE_FULL ? CKPT_QUEUE_FULL :
				   CKPT_MISMATCH);
}

/* netcompare hears of each checkpoint loaded, or that none will come. */
static void tell_compare(struct primary *p)
{
	if (!p->nc)
		return;
	if (!holding(p)) {
		compare_release_all(p->nc);
		compare_set_active(p->nc, false);
		p->nc_loaded = 0;
		return;
	}
	if (p->ckpt_done > p->nc_loaded) {
		compare_checkpoint(p->nc, p->ckpt_done, daemon_now_ms());
		p->nc_loaded = p->ckpt_done;
	}
}

/* The frames that may leave now, in order. */
void primary_net_release(struct primary *p)
{
	if (!p->uplink)
		return;
	tell_compare(p);
	if (holding(p))
		output_buffer_release(&p->outbuf, p->ckpt_done, emit, p);
	else
		output_buffer_release_all(&p->outbuf, emit, p);
}

void primary_net_checkpoint_begun(struct primary *p)
{
	if (!p->nc)
		return;
	primary_mirror_epoch(p, p->ckpt_id);
	/* from checkpoint 1 on the secondary's guest runs a copy: epoch 2
	 * is compared */
	if (p->ckpt_id == 1)
		compare_set_active(p->nc, true);
}

bool primary_net_ready(struct primary *p)
{
	return !p->nc || p->mirror_ready;
}

/* A round of the announcement after a takeover, when due. */
static void announce_tick(struct primary *p, int64_t now)
{
	uint8_t frame[ANNOUNCE_FRAME_LEN];
	uint8_t mac[6] = COLO_GUEST_MAC_DEFAULT;
	struct in_addr ip;
	int ret;

	if (!announce_due(&p->announce, now))
		return;
	if (p->cfg.net.guest_mac[0])
		colo_mac_parse(p->cfg.net.guest_mac, mac);
	inet_pton(AF_INET, p->cfg.net.guest_ip, &ip);
	announce_arp_frame(frame, mac, ip.s_addr);
	ret = uplink_write_frame(p->uplink, frame, sizeof(frame));
	if (ret)
		pr_warn("gratuitous ARP %u of %d for %s not sent: %s",
			p->announce.round, ANNOUNCE_ROUNDS, p->cfg.net.guest_ip,
			strerror(-ret));
	else if (!p->announce_first_ms)
		p->announce_first_ms = now;
}

void primary_net_announce(struct primary *p)
{
	if (!p->uplink || !p->cfg.net.guest_ip[0])
		return;
	announce_start(&p->announce, daemon_now_ms());
	announce_tick(p, daemon_now_ms());
	pr_info("announcing %s at its new place: %d gratuitous ARPs on %s",
		p->cfg.net.guest_ip, ANNOUNCE_ROUNDS, uplink_name(p->uplink));
}

void primary_net_tick(struct primary *p, int64_t now)
{
	if (p->uplink)
		announce_tick(p, now);
	if (!p->nc)
		return;
	primary_mirror_tick(p, now);
	primary_mirror_feed(p, now);
	if (holding(p))
		compare_tick(p->nc, now);
}

/* A frame of the guest (guest_poll's callback). */
static void on_guest_frame(struct guest *g, const void *frame, size_t len,
			   void *opaque)
{
	struct primary *p = opaque;
	int ret;

	(void)g;
	if (!p->uplink)
		return;
	if (p->nc && holding(p)) {
		compare_primary(p->nc, frame, len, p->ckpt_id + 1,
				daemon_now_ms());
		primary_net_release(p);
		return;
	}
	/* held even when it may leave at once: the order is the queue's */
	ret = output_buffer_hold(&p->outbuf, frame, len, p->ckpt_id + 1);
	if (ret == OUTPUT_BUFFER_FULL && holding(p) && !p->nc &&
	    !p->ckpt_requested) {
		pr_debug("held output is at its limit: a checkpoint now");
		primary_request_checkpoint(p, CKPT_QUEUE_FULL);
	}
	if (!holding(p))
		primary_net_release(p);
}

/* Frames from the bridge for the guest, while it runs. */
static void on_uplink_in(evutil_socket_t fd, short what, void *arg)
{
	struct primary *p = arg;
	uint8_t *buf = p->frame_buf;

	(void)fd;
	(void)what;
	for (int i = 0; i < UPLINK_BUDGET; i++) {
		ssize_t n;

		if (p->g.paused || p->g.exited) {
			event_del(p->ev_uplink_in);	/* back at the resume */
			p->uplink_stalled = true;
			return;
		}
		uint64_t clock;

		n = uplink_read_frame(p->uplink, buf, uplink_frame_max(p->uplink));
		if (n < 0)
			return;		/* -EAGAIN, or said by the uplink */
		/* a guest whose channel is full drops it, as a NIC would;
		 * the secondary's guest gets what ours got, no more */
		clock = primary_mirror_clock(p, daemon_now_ms());
		if (!guest_send_frame_at(&p->g, buf, (size_t)n, clock))
			primary_mirror_input(p, buf, (size_t)n, clock);
	}
}

/* The TAP has room again: what waited may go. */
static void on_uplink_out(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	primary_net_release(arg);
}

void primary_net_guest_running(struct primary *p)
{
	if (p->uplink && p->uplink_stalled && !p->g.paused) {
		p->uplink_stalled = false;
		event_add(p->ev_uplink_in, NULL);
		event_active(p->ev_uplink_in, EV_READ, 0);
	}
}


guest_frame_fn primary_net_frame_fn(void)
{
	return on_guest_frame;
}

static int open_compare(struct primary *p)
{
	const struct colo_config *c = &p->cfg;
	struct compare_params cp = {
		.max_frames = c->net.max_queue_frames,
		.max_bytes = c->net.max_queue_bytes,
		.timeout_ms = c->net.compare_timeout_ms,
		.n_passthrough = c->net.passthrough.n,
		.emit = compared,
		.checkpoint = compare_wants,
		.opaque = p,
	};

	memcpy(cp.passthrough, c->net.passthrough.port, sizeof(cp.passthrough));
	return compare_new(&p->nc, &cp);
}

void primary_net_reprotect(struct primary *p)
{
	if (!p->nc)
		return;
	compare_release_all(p->nc);
	primary_net_release(p);		/* what it let go, out first */
	compare_free(p->nc);
	p->nc = NULL;
	p->nc_loaded = 0;
	if (open_compare(p))
		pr_err("out of memory for netcompare: the guest's output waits "
		       "for its checkpoints (as in buffer mode) from now on");
}

int primary_net_open(struct primary *p)
{
	const struct colo_config *c = &p->cfg;
	int ret;

	if (!c->net.bridge[0])
		return 0;		/* a guest without a network */
	ret = uplink_open(&p->uplink, c->net.bridge, c->net.tap);
	if (ret)
		return ret;
	ret = output_buffer_init(&p->outbuf, c->net.max_held_frames,
				 c->net.max_held_bytes,
				 uplink_frame_max(p->uplink));
	if (ret)
		return ret;
	p->outbuf_ready = true;
	if (c->net.output == NET_OUTPUT_COMPARE) {
		ret = open_compare(p);
		if (ret)
			return ret;
	}
	p->frame_buf = malloc(uplink_frame_max(p->uplink));
	p->ev_uplink_in = event_new(p->base, uplink_fd(p->uplink),
				    EV_READ | EV_PERSIST, on_uplink_in, p);
	p->ev_uplink_out = event_new(p->base, uplink_fd(p->uplink), EV_WRITE,
				     on_uplink_out, p);
	if (!p->frame_buf || !p->ev_uplink_in || !p->ev_uplink_out) {
		pr_err("out of memory setting up the uplink");
		return -ENOMEM;
	}
	event_add(p->ev_uplink_in, NULL);
	if (p->nc)
		pr_info("uplink %s on bridge %s, output compared with the "
			"secondary's (compare mode, clock feed %s)",
			uplink_name(p->uplink), c->net.bridge,
			c->net.clock_feed ? "on" : "off");
	else
		pr_info("uplink %s on bridge %s, output held until its "
			"checkpoint is loaded (buffer mode)",
			uplink_name(p->uplink), c->net.bridge);
	return 0;
}

void primary_net_status(struct primary *p, struct status_out *so)
{
	status_str(so, "net_output", !p->uplink ? "none" :
		   p->nc ? "compare" : "buffer");
	if (!p->uplink)
		return;
	uplink_status(p->uplink, so);
	output_buffer_status(&p->outbuf, so);
	if (!p->nc)
		return;
	primary_mirror_status(p, so);
	compare_status(p->nc, so);
}

void primary_net_close(struct primary *p)
{
	if (p->ev_uplink_in)
		event_free(p->ev_uplink_in);
	if (p->ev_uplink_out)
		event_free(p->ev_uplink_out);
	p->ev_uplink_in = p->ev_uplink_out = NULL;
	primary_mirror_close(p);
	if (p->dead_mirror)
		channel_free(p->dead_mirror);
	p->dead_mirror = NULL;
	if (p->nc)
		compare_free(p->nc);
	p->nc = NULL;
	if (p->outbuf_ready)
		output_buffer_free(&p->outbuf);
	p->outbuf_ready = false;
	uplink_close(p->uplink);	/* the TAP goes */
	p->uplink = NULL;
	free(p->frame_buf);
	p->frame_buf = NULL;
}
