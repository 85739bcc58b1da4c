/*
 * primary_mirror.c - the primary's end of the mirror link (compare mode,
 * netcompare/mirror_proto.h) and the clock feed.
 *
 * Once the secondary answered HELLO, a second connection goes to it with
 * MIRROR_HELLO(session); the initial sync does not end before the
 * secondary echoed it, so every input of the first COLO epoch reaches B.
 * From then on each frame A is given is sent on in the same order, with
 * the guest clock A got it at; each MIRROR_EPOCH(id) follows the last
 * input before A stopped for checkpoint id; B's output comes back to
 * netcompare.
 *
 * The clock feed ([net] clock_feed = yes): A's clock is ours to drive.
 * Every tick gives A a TICK at the guest clock, which runs with our
 * clock while A runs and stands still while it is paused, and B the
 * same TICK on the link; a frame carries the clock too. Both guests then
 * see one event sequence at one clock, and their timers fire alike.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "primary: "
#include "log.h"
#include "compare.h"
#include "mirror_proto.h"
#include "primary_int.h"

/* Output queued on the link beyond this: inputs are dropped (B then
 * diverges, and a mismatch checkpoint makes it A again). */
#define MIRROR_MAX_PENDING	(8u << 20)
#define MIRROR_RETRY_MS		100

static bool linked(const struct primary *p)
{
	return p->mirror && channel_is_open(p->mirror);
}

static void lost(struct primary *p, const char *why)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "the mirror link: %s", why);
	primary_lose_secondary(p, msg);
}

/* --- records from the secondary on the link ------------------------------- */

static int on_hello_echo(struct primary *p, const uint8_t *payload,
			 uint32_t len)
{
	uint64_t session;
	int ret = mirror_u64_decode(COLO_MIRROR_HELLO, payload, len, &session);

	if (ret)
		return ret;
	if (p->mirror_ready || session != p->hello.session) {
		pr_err("MIRROR_HELLO of session %#" PRIx64 " from the "
		       "secondary, expected one echo of %#" PRIx64, session,
		       p->hello.session);
		return -EPROTO;
	}
	p->mirror_ready = true;
	pr_info("mirror link up: inputs go to both guests, outputs are "
		"compared");
	return 0;
}

static int on_output(struct primary *p, const uint8_t *payload, uint32_t len)
{
	struct mirror_frame m;
	int ret = mirror_frame_decode(COLO_MIRROR_OUTPUT, payload, len, &m);

	if (ret)
		return ret;
	p->mirror_outputs++;
	compare_secondary(p->nc, m.frame, m.len, m.stamp, daemon_now_ms());
	primary_net_release(p);		/* what it matched goes out now */
	return 0;
}

static int on_record(struct channel *ch, uint16_t type, const uint8_t *payload,
		     uint32_t len, void *opaque)
{
	struct primary *p = opaque;

	(void)ch;
	switch (type) {
	case COLO_MIRROR_HELLO:
		return on_hello_echo(p, payload, len);
	case COLO_MIRROR_OUTPUT:
		if (p->mirror_ready)
			return on_output(p, payload, len);
		break;
	}
	pr_err("unexpected %s (%u bytes) on the mirror link",
	       colo_record_name(type), len);
	return -EPROTO;
}

static void on_closed(struct channel *ch, const char *why, void *opaque)
{
	struct primary *p = opaque;

	if (ch == p->mirror)	/* else we dropped it ourselves */
		lost(p, why);
}

static const struct channel_ops mirror_ops = {
	.record = on_record,
	.closed = on_closed,
};

/* --- connecting ----------------------------------------------------------- */

void primary_mirror_open(struct primary *p)
{
	if (!p->nc)
		return;
	peer_connect_init(&p->mirror_conn, p->cfg.checkpoint.peer,
			  MIRROR_RETRY_MS);
	p->mirror_connecting = true;
	p->mirror_ready = false;
	p->mirror_deadline_ms = daemon_now_ms() + p->cfg.ha.heartbeat_timeout_ms;
}

static void connected(struct primary *p, int fd)
{
	const struct auth_key *key = NULL;

	p->mirror_connecting = false;
	p->mirror = channel_new(p->base, fd, &mirror_ops, p,
				p->cfg.checkpoint.peer);
	if (!p->mirror) {
		close(fd);
		lost(p, "cannot set it up");
		return;
	}
	/* authenticated as the checkpoint link is: MIRROR_HELLO waits */
	if (config_link_key(&p->cfg, &key) ||
	    channel_auth(p->mirror, key, AUTH_INITIATOR,
			 config_handshake_ms(&p->cfg)) ||
	    channel_set_timeouts(p->mirror, p->cfg.ha.heartbeat_timeout_ms) ||
	    mirror_send_u64(p->mirror, COLO_MIRROR_HELLO, p->hello.session))
		lost(p, "cannot send MIRROR_HELLO");
}

void primary_mirror_tick(struct primary *p, int64_t now)
{
	char why[192];
	int fd;

	if (p->dead_mirror) {
		channel_free(p->dead_mirror);
		p->dead_mirror = NULL;
	}
	if (!p->nc || p->mirror_ready ||
	    (!p->mirror_connecting && !p->mirror))
		return;
	if (now >= p->mirror_deadline_ms) {
		snprintf(why, sizeof(why), "not up within %u ms of the "
			 "secondary's HELLO", p->cfg.ha.heartbeat_timeout_ms);
		lost(p, why);
		return;
	}
	if (!p->mirror_connecting)
		return;
	fd = peer_connect_step(&p->mirror_conn, now, why, sizeof(why));
	if (fd >= 0)
		connected(p, fd);
}

void primary_mirror_close(struct primary *p)
{
	if (p->mirror_connecting)
		peer_connect_close(&p->mirror_conn);
	p->mirror_connecting = false;
	p->mirror_ready = false;
	if (!p->mirror)
		return;
	/* freed at the next tick: this may run from its own callback */
	channel_free(p->dead_mirror);
	p->dead_mirror = p->mirror;
	p->mirror = NULL;
	if (channel_is_open(p->dead_mirror))
		channel_drop(p->dead_mirror, "the secondary is dropped");
}

/* --- inputs, ticks, epochs ------------------------------------------------ */

/* The feed runs with our clock while A runs, and stands still while A is
 * paused; it never goes back. */
static uint64_t feed_advance(struct primary *p, int64_t now)
{
	if (!p->feed_host_ms) {
		/* A's own clock until now: CLOCK_MONOTONIC, as ours */
		p->feed_clock_ms = (uint64_t)now;
		p->feed_host_ms = now;
	}
	if (!p->g.paused && now > p->feed_host_ms)
		p->feed_clock_ms += (uint64_t)(now - p->feed_host_ms);
	p->feed_host_ms = now;
	return p->feed_clock_ms;
}

uint64_t primary_mirror_clock(struct primary *p, int64_t now)
{
	if (!p->cfg.net.clock_feed || !p->nc)
		return 0;
	return feed_advance(p, now);
}

/* Output queued on the link is bounded: past it an input is dropped. */
static bool room(const struct primary *p)
{
	return channel_pending(p->mirror) <= MIRROR_MAX_PENDING;
}

void primary_mirror_input(struct primary *p, const uint8_t *frame, size_t len,
			  uint64_t clock_ms)
{
	if (!linked(p))
		return;
	if (len < MIRROR_FRAME_MIN || len > MIRROR_FRAME_MAX) {
		p->mirror_dropped++;
		return;
	}
	p->mirror_inputs++;
	if (!room(p) || mirror_send_frame(p->mirror, COLO_MIRROR_INPUT,
					  clock_ms, frame, len))
		p->mirror_dropped++;
}

void primary_mirror_feed(struct primary *p, int64_t now)
{
	uint64_t clock;

	if (!p->cfg.net.clock_feed || !p->nc || p->g.paused || p->g.exited)
		return;
	clock = feed_advance(p, now);
	if (guest_send_tick(&p->g, clock))
		return;		/* a full channel: the next tick says it */
	if (!linked(p))
		return;
	if (!room(p) || mirror_send_u64(p->mirror, COLO_MIRROR_TICK, clock))
		p->mirror_dropped++;
	else
		p->mirror_ticks++;
}

void primary_mirror_epoch(struct primary *p, uint64_t id)
{
	if (!linked(p))
		return;
	/* never dropped: without it the secondary's guest waits for inputs
	 * until its stop deadline */
	if (mirror_send_u64(p->mirror, COLO_MIRROR_EPOCH, id))
		lost(p, "cannot send MIRROR_EPOCH");
}

void primary_mirror_status(struct primary *p, struct status_out *so)
{
	status_str(so, "mirror_link", p->mirror_ready ? "up" :
		   p->mirror_connecting || p->mirror ? "connecting" : "down");
	status_str(so, "clock_feed", p->cfg.net.clock_feed ? "yes" : "no");
	status_num(so, "mirror_inputs", (double)p->mirror_inputs, 0);
	status_num(so, "mirror_ticks", (double)p->mirror_ticks, 0);
	status_num(so, "mirror_outputs", (double)p->mirror_outputs, 0);
	status_num(so, "mirror_dropped", (double)p->mirror_dropped, 0);
	status_num(so, "mirror_queued_bytes",
		   linked(p) ? (double)channel_pending(p->mirror) : 0, 0);
}
