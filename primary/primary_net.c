/*
 * primary_net.c - the primary guest's network: the uplink (a TAP on
 * [net] bridge) and the output rule of [net] output = buffer.
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
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define LOG_PREFIX "primary: "
#include "log.h"
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

/* The frames that may leave now, in order. */
void primary_net_release(struct primary *p)
{
	if (!p->uplink)
		return;
	if (holding(p))
		output_buffer_release(&p->outbuf, p->ckpt_done, emit, p);
	else
		output_buffer_release_all(&p->outbuf, emit, p);
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
	/* held even when it may leave at once: the order is the queue's */
	ret = output_buffer_hold(&p->outbuf, frame, len, p->ckpt_id + 1);
	if (ret == OUTPUT_BUFFER_FULL && holding(p) && !p->ckpt_requested) {
		pr_debug("held output is at its limit: a checkpoint now");
		p->ckpt_requested = true;
		p->next_ckpt_ms = 0;
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
		n = uplink_read_frame(p->uplink, buf, uplink_frame_max(p->uplink));
		if (n < 0)
			return;		/* -EAGAIN, or said by the uplink */
		/* a guest whose channel is full drops it, as a NIC would */
		guest_send_frame(&p->g, buf, (size_t)n);
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
	pr_info("uplink %s on bridge %s, output held until its checkpoint "
		"is loaded (buffer mode)", uplink_name(p->uplink),
		c->net.bridge);
	return 0;
}

void primary_net_status(struct primary *p, struct status_out *so)
{
	status_str(so, "net_output", p->uplink ? "buffer" : "none");
	if (!p->uplink)
		return;
	uplink_status(p->uplink, so);
	output_buffer_status(&p->outbuf, so);
}

void primary_net_close(struct primary *p)
{
	if (p->ev_uplink_in)
		event_free(p->ev_uplink_in);
	if (p->ev_uplink_out)
		event_free(p->ev_uplink_out);
	p->ev_uplink_in = p->ev_uplink_out = NULL;
	if (p->outbuf_ready)
		output_buffer_free(&p->outbuf);
	p->outbuf_ready = false;
	uplink_close(p->uplink);	/* the TAP goes */
	p->uplink = NULL;
	free(p->frame_buf);
	p->frame_buf = NULL;
}
