/*
 * secondary_mirror.c - the secondary's end of the mirror link (compare
 * mode, netcompare/mirror_proto.h): the primary guest's inputs to ours,
 * in the epoch they belong to, and our guest's output back.
 *
 * An input of epoch E (after MIRROR_EPOCH(E - 1), before MIRROR_EPOCH(E))
 * reached A after checkpoint E - 1 and before A stopped for checkpoint
 * E. So ours gets it only once it runs from checkpoint E - 1 (loaded),
 * and stops for checkpoint E only after the last of them: one with an
 * older epoch is in the image already and is dropped, a newer one waits.
 * A stop that waits longer than INPUTS_WAIT_MS for MIRROR_EPOCH goes on
 * without (counted): the checkpoint makes our guest A's again anyway.
 *
 * Our guest's frames go back stamped with the epoch they were made in
 * (our last loaded checkpoint + 1). Queued inputs are bounded by [net]
 * max_queue_frames and max_queue_bytes; past that an input is dropped
 * (counted), and the difference it makes is netcompare's to find.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define LOG_PREFIX "secondary: "
#include "log.h"
#include "mirror_proto.h"
#include "secondary_int.h"

#define INPUTS_WAIT_MS	100

static bool linked(const struct secondary *s)
{
	return s->mirror && channel_is_open(s->mirror);
}

/* --- attach --------------------------------------------------------------- */

/* A guest with a network (its address in [net]) in compare mode: the
 * primary opens a mirror link to us. */
bool secondary_mirror_expected(const struct secondary *s)
{
	return s->cfg.net.output == NET_OUTPUT_COMPARE && s->cfg.net.guest_ip[0];
}

int secondary_mirror_attach(struct secondary *s, struct channel *ch,
			    const uint8_t *payload, uint32_t len)
{
	uint64_t session;
	int ret;

	ret = mirror_u64_decode(COLO_MIRROR_HELLO, payload, len, &session);
	if (ret)
		return ret;
	if (!s->ch || s->mirror || session != s->session ||
	    (s->state != S_SYNC && s->state != S_COLO &&
	     s->state != S_CHECKPOINT)) {
		pr_err("MIRROR_HELLO of session %#" PRIx64 " from %s refused: "
		       "%s", session, channel_peer(ch),
		       !s->ch ? "no primary is connected" :
		       s->mirror ? "the primary's mirror link is up already" :
		       session != s->session ? "not the connected primary's "
		       "session" : "the pair is not being protected");
		return -EPROTO;
	}
	s->mirror = ch;
	s->in_epoch = s->ckpt_done + 1;
	ret = channel_set_timeouts(ch, s->cfg.ha.heartbeat_timeout_ms);
	if (!ret)
		ret = mirror_send_u64(ch, COLO_MIRROR_HELLO, session);
	if (!ret)
		pr_info("mirror link from %s: our guest gets the primary "
			"guest's inputs", channel_peer(ch));
	return ret;
}

/* --- inputs --------------------------------------------------------------- */

static void pop(struct secondary *s)
{
	struct mirror_input *in = s->in_head;

	s->in_head = in->next;
	if (!s->in_head)
		s->in_tail = NULL;
	s->in_frames--;
	s->in_bytes -= in->len;
	free(in);
}

static int queue(struct secondary *s, bool tick, uint64_t clock_ms,
		 const uint8_t *frame, uint32_t len)
{
	struct mirror_input *in;

	/* our guest never runs epoch 1 (checkpoint 1 is the state after
	 * it), nor one whose checkpoint it has loaded */
	if (s->in_epoch <= 1 || s->in_epoch <= s->ckpt_done)
		return 0;
	if (s->in_frames >= s->cfg.net.max_queue_frames ||
	    s->in_bytes + len > s->cfg.net.max_queue_bytes ||
	    !(in = malloc(sizeof(*in) + len))) {
		s->mirror_dropped++;
		return 0;
	}
	*in = (struct mirror_input){
		.epoch = s->in_epoch, .clock_ms = clock_ms, .tick = tick,
		.len = len,
	};
	if (len)
		memcpy(in->frame, frame, len);
	if (s->in_tail)
		s->in_tail->next = in;
	else
		s->in_head = in;
	s->in_tail = in;
	s->in_frames++;
	s->in_bytes += len;
	return 0;
}

/* Our guest runs a copy of A, in the epoch after its last checkpoint. */
static bool guest_runs_copy(const struct secondary *s)
{
	return s->ckpt_done && !s->g.paused && !s->g.exited &&
	       (s->state == S_COLO ||
		(s->state == S_CHECKPOINT && s->stopping_guest));
}

void secondary_mirror_deliver(struct secondary *s)
{
	struct mirror_input *in;

	while ((in = s->in_head)) {
		int ret;

		if (in->epoch <= s->ckpt_done) {
			pop(s);		/* in the image already */
			continue;
		}
		if (in->epoch != s->ckpt_done + 1 || !guest_runs_copy(s))
			return;		/* its epoch, or our guest, comes later */
		ret = in->tick ? guest_send_tick(&s->g, in->clock_ms) :
			guest_send_frame_at(&s->g, in->frame, in->len,
					    in->clock_ms);
		if (ret == -EAGAIN) {
			event_add(s->ev_guest_out, NULL);
			return;
		}
		if (ret == -EBUSY)
			return;
		if (ret)
			s->mirror_dropped++;
		else
			s->mirror_delivered++;
		pop(s);
	}
}

bool secondary_mirror_inputs_done(struct secondary *s, uint64_t id)
{
	int64_t now = daemon_now_ms();

	if (!linked(s))
		return true;
	if (s->in_epoch > id && (!s->in_head || s->in_head->epoch > id))
		return true;
	if (!s->inputs_deadline_ms)
		s->inputs_deadline_ms = now + INPUTS_WAIT_MS;
	if (now < s->inputs_deadline_ms)
		return false;
	s->mirror_stops_early++;
	pr_warn("checkpoint %" PRIu64 ": our guest stops without all of the "
		"primary guest's inputs (MIRROR_EPOCH %s after %d ms)", id,
		s->in_epoch > id ? "came, inputs not delivered" : "missing",
		INPUTS_WAIT_MS);
	return true;
}

static void on_guest_writable(evutil_socket_t fd, short what, void *arg)
{
	struct secondary *s = arg;

	(void)fd;
	(void)what;
	secondary_mirror_deliver(s);
	secondary_checkpoint_tick(s, daemon_now_ms());
}

/* --- records -------------------------------------------------------------- */

static int on_input(struct secondary *s, uint16_t type, const uint8_t *payload,
		    uint32_t len)
{
	struct mirror_frame m;
	uint64_t clock;
	int ret;

	if (type == COLO_MIRROR_TICK) {
		ret = mirror_u64_decode(type, payload, len, &clock);
		return ret ? ret : queue(s, true, clock, NULL, 0);
	}
	ret = mirror_frame_decode(type, payload, len, &m);
	if (ret)
		return ret;
	s->mirror_inputs++;
	return queue(s, false, m.stamp, m.frame, m.len);
}

static int on_epoch(struct secondary *s, const uint8_t *payload, uint32_t len)
{
	uint64_t id;
	int ret = mirror_u64_decode(COLO_MIRROR_EPOCH, payload, len, &id);

	if (ret)
		return ret;
	if (id != s->in_epoch) {
		pr_err("MIRROR_EPOCH %" PRIu64 " from the primary, expected %"
		       PRIu64, id, s->in_epoch);
		return -EPROTO;
	}
	s->in_epoch = id + 1;
	return 0;
}

int secondary_mirror_record(struct secondary *s, uint16_t type,
			    const uint8_t *payload, uint32_t len)
{
	int ret;

	switch (type) {
	case COLO_MIRROR_INPUT:
	case COLO_MIRROR_TICK:
		ret = on_input(s, type, payload, len);
		break;
	case COLO_MIRROR_EPOCH:
		ret = on_epoch(s, payload, len);
		break;
	default:
		pr_err("unexpected %s (%u bytes) on the mirror link",
		       colo_record_name(type), len);
		return -EPROTO;
	}
	if (ret)
		return ret;
	secondary_mirror_deliver(s);
	/* a stop for a checkpoint may have waited for these */
	secondary_checkpoint_tick(s, daemon_now_ms());
	return 0;
}

/* --- our guest's output --------------------------------------------------- */

static void on_guest_frame(struct guest *g, const void *frame, size_t len,
			   void *opaque)
{
	struct secondary *s = opaque;

	(void)g;
	if (!linked(s) || len < MIRROR_FRAME_MIN || len > MIRROR_FRAME_MAX)
		return;
	if (!mirror_send_frame(s->mirror, COLO_MIRROR_OUTPUT, s->ckpt_done + 1,
			       frame, len))
		s->mirror_outputs++;
}

guest_frame_fn secondary_mirror_frame_fn(void)
{
	return on_guest_frame;
}

/* --- setup, teardown, status ---------------------------------------------- */

int secondary_mirror_setup(struct secondary *s)
{
	s->ev_guest_out = event_new(s->base, s->g.chan, EV_WRITE,
				    on_guest_writable, s);
	return s->ev_guest_out ? 0 : -ENOMEM;
}

void secondary_mirror_close(struct secondary *s)
{
	struct channel *ch;

	while (s->in_head)
		pop(s);
	if (s->ev_guest_out)
		event_del(s->ev_guest_out);
	s->inputs_deadline_ms = 0;
	if (!s->mirror)
		return;
	ch = s->mirror;
	s->mirror = NULL;	/* its closed() buries it as any other */
	if (channel_is_open(ch))
		channel_drop(ch, "the primary is lost");
}

void secondary_mirror_status(struct secondary *s, struct status_out *so)
{
	status_str(so, "mirror_link", linked(s) ? "up" : "down");
	status_num(so, "mirror_inputs", (double)s->mirror_inputs, 0);
	status_num(so, "mirror_delivered", (double)s->mirror_delivered, 0);
	status_num(so, "mirror_dropped", (double)s->mirror_dropped, 0);
	status_num(so, "mirror_queued", (double)s->in_frames, 0);
	status_num(so, "mirror_outputs", (double)s->mirror_outputs, 0);
	status_num(so, "mirror_stops_early", (double)s->mirror_stops_early, 0);
}
