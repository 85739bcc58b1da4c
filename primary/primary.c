/*
 * primary.c - the primary daemon's state machine.
 *
 *   CONNECTING -> HANDSHAKE -> SYNC -> (first checkpoint) -> COLO
 *       ^                                 ^                   |
 *       |                                 +--- CHECKPOINT <---+
 *       +-- the link lost before the first checkpoint completed
 *   any -> SOLO when the secondary is lost after that, or refuses the pair
 *
 * No wait is unbounded: a checkpoint must be loaded by a deadline that
 * grows with the pages it carries (else the secondary is dropped and the
 * guest resumes), a held pair and the gap need heartbeats, and no guest
 * command waits longer than a quarter of the heartbeat timeout.
 *
 * In SYNC and COLO dirty pages go out in the background, a step at a time
 * as the stream drains, while the guest runs. A checkpoint stops the
 * guest, asks the secondary to stop its own (CHECKPOINT_REQUEST /
 * CHECKPOINT_REPLY), sends what is still dirty and the guest's layout
 * between VMSTATE_SEND and VMSTATE_SIZE, and resumes the guest when the
 * secondary says VMSTATE_LOADED. The pause is from the stop to the resume.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#define LOG_PREFIX "primary: "
#include "log.h"
#include "channel.h"
#include "colo_daemon.h"
#include "guest_compare.h"
#include "control.h"
#include "dirty_log.h"
#include "fault.h"
#include "layout.h"
#include "page_stream.h"
#include "primary.h"
#include "primary_int.h"
#include "ram_save.h"

#define TICK_MS			5	/* the daemon's clock */
#define CONNECT_RETRY_MS	500
#define STEP_PAGES		256	/* pages per background step */
#define STEPS_PER_WAKE		16	/* steps before we let others run */
#define SYNC_PASSES		3	/* pre-copy passes before the first checkpoint */
#define CONNECT_BACKOFF_MAX_MS	8000	/* retries after a lost link, at most */
#define STOP_SLICE_MS		50	/* a stop waits this long, then the loop runs */
#define STOP_RETRY_MAX_MS	500	/* a busy guest's stops, at most this far apart */
/* What loading a page may take the secondary, for a checkpoint's deadline
 * (generous: a flush writes ~1 GB/s, i.e. ~4 us a page) */
#define LOAD_NS_PER_PAGE	50000

const char *primary_state_name(enum primary_state state)
{
	static const char *const names[] = {
		[P_CONNECTING] = "connecting", [P_HANDSHAKE] = "handshake",
		[P_SYNC] = "initial-sync", [P_COLO] = "colo",
		[P_CHECKPOINT] = "checkpoint", [P_HELD] = "held",
		[P_SOLO] = "solo", [P_STOPPING] = "stopping",
	};

	return names[state];
}

/*
 * Stop at the next ticks, once what is queued (a control answer, the
 * GUEST_SHUTDOWN for the secondary) is out, or after STOP_DRAIN_MS.
 */
#define STOP_DRAIN_MS	1000

void primary_stop(struct primary *p, int code)
{
	if (p->state != P_STOPPING)
		p->stop_deadline_ms = daemon_now_ms() + STOP_DRAIN_MS;
	p->state = P_STOPPING;
	p->exit_code = code;
}

/* --- the secondary goes away -------------------------------------------- */

/*
 * Before the first checkpoint completed nothing was protected yet: start
 * over with a new connection, all of the guest to send again (the next
 * secondary's cache is empty).
 */
static void connect_again(struct primary *p, const char *why)
{
	p->connect_backoff_ms = p->connect_backoff_ms ?
		p->connect_backoff_ms * 2 : CONNECT_RETRY_MS;
	if (p->connect_backoff_ms > CONNECT_BACKOFF_MAX_MS)
		p->connect_backoff_ms = CONNECT_BACKOFF_MAX_MS;
	if (p->ps_ready)
		page_stream_destroy(&p->ps);
	p->ps_ready = false;
	dirty_log_mark_all(p->dl);
	p->rs.cursor = 0;
	p->sync_passes = 0;
	p->pass_start = true;
	p->ckpt_id = 0;
	p->ckpt_requested = p->verify_next = p->hold_next = false;
	p->next_connect_ms = daemon_now_ms() + p->connect_backoff_ms;
	pr_warn("lost the secondary before the guest was protected (%s); "
		"connecting again in %d ms", why, p->connect_backoff_ms);
	p->state = P_CONNECTING;
}

/* The link is gone (closed by either side): connect again or run solo.
 * A checkpoint cut short counts in the pauses: it is the worst of them. */
static void secondary_gone(struct primary *p, const char *why)
{
	enum primary_state was = p->state;

	if (was == P_STOPPING || was == P_SOLO || was == P_CONNECTING)
		return;
	snprintf(p->peer_why, sizeof(p->peer_why), "%s", why);
	if (p->ch) {
		channel_free(p->dead_ch);
		p->dead_ch = p->ch;	/* not freed from within its callback */
		p->ch = NULL;
	}
	if (p->g.paused && !p->g.exited) {
		int ret = guest_continue(&p->g);

		if (ret && ret != -ETIMEDOUT)
			pr_err("could not resume the guest after losing the "
			       "secondary: %s", strerror(-ret));
	}
	if (was == P_CHECKPOINT) {
		double pause = (double)(daemon_now_ms() - p->stop_ms);

		p->ckpt_aborted++;
		p->last_pause_ms = pause;
		if (p->ckpt_id > 1)
			pause_stats_add(&p->pauses, pause);
		pr_warn("checkpoint %" PRIu64 " aborted after %.0f ms with the "
			"guest stopped", p->ckpt_id, pause);
	}
	if (!p->ckpt_done && !p->refused) {
		connect_again(p, why);
		return;
	}
	pr_warn("the guest runs unprotected from now on: %s", why);
	p->state = P_SOLO;
}

/* Lose the secondary from anywhere: drop the link if it is still up. */
static void lose_secondary(struct primary *p, const char *why)
{
	if (p->ch && channel_is_open(p->ch)) {
		channel_drop(p->ch, why);	/* back through on_closed */
		return;
	}
	secondary_gone(p, why);
}

static void on_closed(struct channel *ch, const char *why, void *opaque)
{
	struct primary *p = opaque;

	(void)ch;
	secondary_gone(p, why);
}

/* --- the checkpoint ------------------------------------------------------ */

static int send_id(struct primary *p, uint16_t type)
{
	struct colo_id m = { .id = p->ckpt_id };
	uint8_t b[COLO_ID_LEN];

	colo_id_encode(&m, b);
	return channel_send(p->ch, type, b, sizeof(b));
}

/*
 * Stop the guest for a checkpoint. A guest busy in a handler gets
 * STOP_SLICE_MS now and more at the next ticks, so the loop (heartbeats,
 * control) never waits on it for long.
 */
static void begin_checkpoint(struct primary *p)
{
	int64_t now = daemon_now_ms();
	int ret = guest_stop(&p->g, STOP_SLICE_MS);

	if (ret) {		/* busy in a handler: try again soon */
		if (!p->stop_tries_since_ms)
			p->stop_tries_since_ms = now;
		else if (now - p->stop_tries_since_ms >=
			 (int64_t)p->cfg.guest.stop_timeout_ms) {
			pr_warn("the guest has not reached a pause point for %"
				PRId64 " ms (busy in a handler); the checkpoint "
				"waits for it", now - p->stop_tries_since_ms);
			p->stop_tries_since_ms = now;
		}
		/* each try queues a PAUSE and a CANCEL on its channel: back
		 * off, so a guest that reads none fills nothing */
		p->stop_retry_ms = p->stop_retry_ms ? p->stop_retry_ms * 2 : 10;
		if (p->stop_retry_ms > STOP_RETRY_MAX_MS)
			p->stop_retry_ms = STOP_RETRY_MAX_MS;
		p->next_ckpt_ms = daemon_now_ms() + p->stop_retry_ms;
		return;
	}
	p->stop_tries_since_ms = 0;
	p->stop_retry_ms = 0;
	p->stop_ms = daemon_now_ms();
	p->ckpt_deadline_ms = p->stop_ms + p->cfg.ha.heartbeat_timeout_ms;
	p->ckpt_id++;
	p->ckpt_requested = false;
	p->verify_this = p->verify_next;
	p->hold_this = p->hold_next;
	p->verify_next = p->hold_next = false;
	p->state = P_CHECKPOINT;
	if (send_id(p, COLO_CHECKPOINT_REQUEST))
		lose_secondary(p, "cannot send CHECKPOINT_REQUEST");
}

static void record_hash(struct primary *p);

/* Everything still dirty, the layout, and VMSTATE_SIZE: the guest is
 * stopped, so this pass is bounded by what it dirtied since the last. */
static int send_vmstate(struct primary *p)
{
	struct colo_guest_layout gl;
	struct colo_vmstate_size vs;
	uint8_t size[COLO_VMSTATE_SIZE_LEN], *buf = NULL;
	struct layout l;
	size_t len;
	int ret;

	ret = send_id(p, COLO_VMSTATE_SEND);
	p->pages_at_send = p->ps.stats.pages;
	p->bytes_at_send = p->ps.stats.bytes;
	if (!ret)
		ret = dirty_log_sync(p->dl);
	if (!ret)
		ret = page_stream_blocks(&p->ps, &p->dl->ram, false);
	if (!ret)
		ret = ram_save_pass(&p->rs, &p->ps.sink);
	p->pass_start = true;
	if (!ret)
		ret = guest_layout(&p->g, &gl);
	if (!ret)
		ret = layout_read(p->g.pid, &l);
	if (ret)
		return ret;
	p->this_clock_ms = gl.clock_ms;
	ret = layout_encode(&l, gl.brk, &buf, &len);
	layout_free(&l);
	if (!ret)
		ret = channel_send(p->ch, COLO_LAYOUT, buf, (uint32_t)len);
	free(buf);
	if (ret)
		return ret;
	if (p->verify_this || p->cfg.debug.record_hashes[0]) {
		struct colo_memhash m;
		uint8_t mh[COLO_MEMHASH_LEN];

		ret = guest_memory_crc(p->g.pid, &p->this_crc, &p->this_bytes);
		if (ret)
			return ret;
		m.crc = p->this_crc;
		m.bytes = p->this_bytes;
		colo_memhash_encode(&m, mh);
		if (p->verify_this)
			ret = channel_send(p->ch, COLO_MEMHASH, mh, sizeof(mh));
		if (ret)
			return ret;
	}
	p->this_pages = p->ps.stats.pages - p->pages_at_send;
	p->this_bytes_sent = p->ps.stats.bytes - p->bytes_at_send;
	p->ckpt_deadline_ms = daemon_now_ms() + p->cfg.ha.heartbeat_timeout_ms +
		(int64_t)(p->this_pages * LOAD_NS_PER_PAGE / 1000000);
	record_hash(p);		/* what A is now, whatever comes back */
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
	colo_vmstate_size_encode(&vs, size);
	ret = channel_send(p->ch, COLO_VMSTATE_SIZE, size, sizeof(size));
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

static void record_hash(struct primary *p)
{
	daemon_record_hash(p->cfg.debug.record_hashes, p->ckpt_id, p->this_crc,
			   p->this_bytes);
}

static void checkpoint_loaded(struct primary *p, int verify)
{
	double pause;
	int ret;

	p->ckpt_done = p->ckpt_id;
	p->connect_backoff_ms = 0;
	p->last_pages = p->this_pages;
	p->last_bytes_sent = p->this_bytes_sent;
	if (p->ckpt_id > 1) {		/* COLO checkpoints only */
		p->total_pages += p->this_pages;
		p->total_bytes_sent += p->this_bytes_sent;
	}
	if (p->verify_this) {
		p->last_verify = verify;
		p->last_verify_id = p->ckpt_id;
		if (verify != COLO_VERIFY_SAME)
			pr_err("checkpoint %" PRIu64 ": the secondary's guest is "
			       "NOT a copy of ours", p->ckpt_id);
	}
	if (p->hold_this) {
		p->state = P_HELD;
		pr_info("checkpoint %" PRIu64 " done; both guests held stopped",
			p->ckpt_id);
		return;
	}
	/* A late answer is no reason to touch the protected service: the
	 * guest is taken as running (a paused one answers the next PAUSE
	 * all the same), and a dead one is on_guest's to report. */
	ret = guest_continue(&p->g);
	if (ret == -ETIMEDOUT)
		pr_warn("the guest did not confirm it resumed after checkpoint %"
			PRIu64 "; taken as running", p->ckpt_id);
	else if (ret)
		pr_err("resuming the guest after checkpoint %" PRIu64
		       " failed: %s", p->ckpt_id, strerror(-ret));
	pause = (double)(daemon_now_ms() - p->stop_ms);
	p->last_pause_ms = pause;
	if (p->ckpt_id > 1) {
		pause_stats_add(&p->pauses, pause);
	} else {
		/* the initial sync's stop-and-copy is not a COLO
		 * checkpoint: its pause is reported on its own */
		p->initial_pause_ms = pause;
		pr_info("initial sync done: the guest is protected (first "
			"checkpoint: %" PRIu64 " pages, pause %.0f ms)",
			p->this_pages, pause);
		p->protected_since_ms = daemon_now_ms();
		p->bytes_at_protect = p->ps.stats.bytes;
		p->pages_at_protect = p->ps.stats.pages;
	}
	p->state = P_COLO;
	p->next_ckpt_ms = daemon_now_ms() + p->cfg.checkpoint.checkpoint_delay_ms;
}

/* --- records from the secondary ------------------------------------------ */

/* A decoded HELLO from the secondary: is it the peer we can pair with? */
static int check_hello(struct primary *p, const struct colo_hello *h)
{
	uint32_t ours;
	int ret;

	if (h->role != COLO_ROLE_SECONDARY) {
		pr_err("the peer is not a colo secondary: its HELLO says role "
		       "%u, expected %d", h->role, COLO_ROLE_SECONDARY);
		return -EPROTO;
	}
	if (h->version != COLO_PROTO_VERSION) {
		pr_err("the secondary speaks protocol %u, we speak %u: run the "
		       "same colo on both hosts", h->version, COLO_PROTO_VERSION);
		return -EPROTO;
	}
	if (h->page_size != p->dl->ram.page_size) {
		pr_err("the secondary's page size is %u, ours %zu", h->page_size,
		       p->dl->ram.page_size);
		return -EPROTO;
	}
	ret = daemon_guest_hash(&p->g, &ours);
	if (ret)
		return ret;
	if (h->guest_hash != ours) {
		pr_err("the secondary's guest (binary and libraries) hashes to "
		       "%08x, ours to %08x: install the same guest binary and "
		       "libraries on both hosts", h->guest_hash, ours);
		return -EPROTO;
	}
	return 0;
}

/*
 * Every record is decoded first (a malformed one is refused there, with
 * its reason logged), then judged against our state: a record we do not
 * expect now, or for another checkpoint, is refused here.
 */
static int on_record(struct channel *ch, uint16_t type, const uint8_t *payload,
		     uint32_t len, void *opaque)
{
	struct primary *p = opaque;
	struct colo_vmstate_loaded vl;
	struct colo_heartbeat hb;
	struct colo_hello h;
	struct colo_id m;
	int ret = 0;

	(void)ch;
	if (p->dying)
		return 0;
	p->last_rx_ms = daemon_now_ms();
	switch (type) {
	case COLO_HELLO:
		if (p->state != P_HANDSHAKE)
			goto unexpected;
		ret = colo_hello_decode(payload, len, &h);
		if (!ret)
			ret = check_hello(p, &h);
		if (ret) {
			p->refused = true;	/* an operator must fix this */
			lose_secondary(p, "the secondary does not match (see "
				       "the log)");
			return ret;
		}
		pr_info("the secondary answered: initial sync begins");
		p->state = P_SYNC;
		p->sync_start_ms = daemon_now_ms();
		p->pass_start = true;
		return 0;
	case COLO_HEARTBEAT:
		if (colo_heartbeat_decode(payload, len, &hb))
			goto malformed;
		return 0;
	case COLO_CHECKPOINT_READY:
		if (colo_empty_decode(type, len))
			goto malformed;
		pr_info("the secondary is in COLO state");
		return 0;
	case COLO_CHECKPOINT_REPLY:
		if (colo_id_decode(type, payload, len, &m))
			goto malformed;
		if (p->state != P_CHECKPOINT || m.id != p->ckpt_id)
			goto unexpected;
		ret = send_vmstate(p);
		if (ret) {
			lose_secondary(p, "cannot send the checkpoint");
			return ret;
		}
		return 0;
	case COLO_VMSTATE_RECEIVED:
		if (colo_id_decode(type, payload, len, &m))
			goto malformed;
		if (p->state != P_CHECKPOINT || m.id != p->ckpt_id)
			goto unexpected;
		return 0;
	case COLO_VMSTATE_LOADED:
		if (colo_vmstate_loaded_decode(payload, len, &vl))
			goto malformed;
		if (p->state != P_CHECKPOINT || vl.id != p->ckpt_id)
			goto unexpected;
		checkpoint_loaded(p, (int)vl.verify);
		return 0;
	default:
		goto unexpected;
	}
unexpected:
	pr_err("unexpected %s (%u bytes) from the secondary in state %s",
	       colo_record_name(type), len, primary_state_name(p->state));
malformed:		/* logged by its decoder */
	p->refused = true;	/* a broken secondary: no point connecting again */
	lose_secondary(p, "protocol error (see the log)");
	return -EPROTO;
}

static void send_some(struct primary *p);

/*
 * The stream drained below its low watermark: go on sending now rather
 * than at the next tick. Between checkpoints only a pass in progress goes
 * on; a new pass (a sync) waits for the tick, so a guest that dirties
 * little does not make us sync in a loop. A due checkpoint is the tick's.
 */
static void on_writable(struct channel *ch, void *opaque)
{
	struct primary *p = opaque;

	(void)ch;
	if (p->state == P_SYNC ||
	    (p->state == P_COLO && !p->pass_start && !p->ckpt_requested &&
	     daemon_now_ms() < p->next_ckpt_ms))
		send_some(p);
}

static const struct channel_ops channel_ops = {
	.record = on_record,
	.closed = on_closed,
	.writable = on_writable,
};

/* --- connecting ----------------------------------------------------------- */

static void start_connect(struct primary *p)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	char host[64];
	unsigned port;

	if (config_split_address(p->cfg.checkpoint.peer, host, sizeof(host),
				 &port) || inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return;		/* checked at load */
	sin.sin_port = htons((uint16_t)port);
	p->connect_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC |
			       SOCK_NONBLOCK, 0);
	if (p->connect_fd < 0)
		return;
	if (connect(p->connect_fd, (struct sockaddr *)&sin, sizeof(sin)) &&
	    errno != EINPROGRESS) {
		close(p->connect_fd);
		p->connect_fd = -1;
	}
}

/* A connect() in progress that finished: begin the handshake. */
static void finish_connect(struct primary *p)
{
	struct colo_hello h = {
		.magic = COLO_PROTO_MAGIC,
		.version = COLO_PROTO_VERSION,
		.page_size = (uint32_t)p->dl->ram.page_size,
		.role = COLO_ROLE_PRIMARY,
		.compress_level = p->cfg.checkpoint.compress_level,
	};
	uint8_t hello[COLO_HELLO_LEN];
	socklen_t elen = sizeof(int);
	int err = 0;

	if (getsockopt(p->connect_fd, SOL_SOCKET, SO_ERROR, &err, &elen) ||
	    err) {
		close(p->connect_fd);
		p->connect_fd = -1;
		p->next_connect_ms = daemon_now_ms() + CONNECT_RETRY_MS;
		return;
	}
	p->ch = channel_new(p->base, p->connect_fd, &channel_ops, p,
			    p->cfg.checkpoint.peer);
	if (!p->ch)
		close(p->connect_fd);
	p->connect_fd = -1;
	p->state = P_HANDSHAKE;
	if (!p->ch || channel_set_timeouts(p->ch, p->cfg.ha.heartbeat_timeout_ms) ||
	    page_stream_init(&p->ps, p->ch, p->dl->ram.page_size,
			     (int)p->cfg.checkpoint.compress_level)) {
		lose_secondary(p, "cannot set up the stream");
		return;
	}
	p->ps_ready = true;
	if (daemon_guest_hash(&p->g, &h.guest_hash)) {
		lose_secondary(p, "cannot hash our guest");
		return;
	}
	colo_hello_encode(&h, hello);
	channel_send(p->ch, COLO_HELLO, hello, sizeof(hello));
	p->last_rx_ms = daemon_now_ms();
	pr_info("connected to the secondary at %s", p->cfg.checkpoint.peer);
}

/* Every CONNECT_RETRY_MS a new attempt, until the secondary listens. */
static void poll_connect(struct primary *p)
{
	struct pollfd pfd = { .fd = p->connect_fd, .events = POLLOUT };

	if (p->connect_fd < 0) {
		if (daemon_now_ms() < p->next_connect_ms)
			return;
		start_connect(p);
		if (p->connect_fd < 0) {	/* refused at once */
			p->next_connect_ms = daemon_now_ms() + CONNECT_RETRY_MS;
			return;
		}
	}
	pfd.fd = p->connect_fd;
	if (poll(&pfd, 1, 0) > 0)
		finish_connect(p);
}

/* --- the tick: background sending, cadence, heartbeats -------------------- */

static void send_some(struct primary *p)
{
	for (int i = 0; i < STEPS_PER_WAKE; i++) {
		bool done = false;

		if (channel_pending(p->ch) >= CHANNEL_LOW_WATERMARK)
			return;
		if (p->pass_start) {
			if (dirty_log_sync(p->dl) ||
			    page_stream_blocks(&p->ps, &p->dl->ram, false)) {
				lose_secondary(p, "the dirty log failed (see the "
					       "log)");
				return;
			}
			p->pass_start = false;
		}
		if (ram_save_step(&p->rs, &p->ps.sink, STEP_PAGES, &done)) {
			lose_secondary(p, "sending pages failed (see the log)");
			return;
		}
		if (done) {
			p->pass_start = true;
			if (p->state == P_SYNC && ++p->sync_passes >= SYNC_PASSES) {
				begin_checkpoint(p);
				return;
			}
			if (p->state == P_COLO)
				return;	/* all sent: wait for new dirt */
		}
	}
}

static void heartbeat(struct primary *p, int64_t now)
{
	uint8_t b[COLO_HEARTBEAT_LEN];

	if (now - p->last_hb_ms >= p->cfg.ha.heartbeat_timeout_ms / 4) {
		struct colo_heartbeat hb = { .ms = (uint64_t)now };

		colo_heartbeat_encode(&hb, b);
		channel_send(p->ch, COLO_HEARTBEAT, b, sizeof(b));
		p->last_hb_ms = now;
	}
	/* a secondary loading a checkpoint is silent: its deadline, which
	 * grows with the pages, bounds it instead of the heartbeats */
	if (p->state == P_CHECKPOINT) {
		if (now > p->ckpt_deadline_ms) {
			char why[160];

			snprintf(why, sizeof(why), "the secondary did not load "
				 "checkpoint %" PRIu64 " within %" PRId64 " ms",
				 p->ckpt_id, now - p->stop_ms);
			lose_secondary(p, why);
		}
	} else if (now - p->last_rx_ms > p->cfg.ha.heartbeat_timeout_ms) {
		char why[128];

		snprintf(why, sizeof(why), "no word from the secondary for %"
			 PRId64 " ms", now - p->last_rx_ms);
		lose_secondary(p, why);
	}
}

/*
 * A tick much later than due: this daemon did not run (stopped, or the
 * host starved it), so the peer's silence is ours to excuse, not its
 * fault; what it sent is queued and read next. The peer gets a fresh
 * window.
 */
static void excuse_own_stall(struct primary *p, int64_t now)
{
	int64_t late = now - p->last_tick_ms;

	if (p->last_tick_ms && late > p->cfg.ha.heartbeat_timeout_ms / 2) {
		pr_warn("our loop did not run for %" PRId64 " ms (stopped or "
			"starved); the secondary gets a fresh heartbeat window",
			late);
		p->last_rx_ms = now;
		if (p->state == P_CHECKPOINT)
			p->ckpt_deadline_ms += late;
	}
	p->last_tick_ms = now;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct primary *p = arg;
	int64_t now = daemon_now_ms();

	(void)fd;
	(void)what;
	if (p->die_at_ms && now >= p->die_at_ms)
		raise(SIGKILL);
	excuse_own_stall(p, now);
	if (p->dead_ch) {
		channel_free(p->dead_ch);
		p->dead_ch = NULL;
	}
	if (p->state == P_STOPPING) {
		/* a few ticks for control answers; then the stream drained */
		if (++p->stop_ticks > 4 &&
		    (!p->ch || !channel_is_open(p->ch) ||
		     channel_pending(p->ch) == 0 || now >= p->stop_deadline_ms))
			event_base_loopexit(p->base, NULL);
		return;
	}
	switch (p->state) {
	case P_CONNECTING:
		poll_connect(p);
		return;
	case P_SYNC:
		send_some(p);
		break;
	case P_COLO:
		if (p->ckpt_requested || now >= p->next_ckpt_ms)
			begin_checkpoint(p);
		else
			send_some(p);
		break;
	default:
		break;
	}
	if (p->ch && channel_is_open(p->ch) && p->state != P_SOLO &&
	    p->state != P_STOPPING && p->state != P_CONNECTING)
		heartbeat(p, now);
}

static void on_guest(evutil_socket_t fd, short what, void *arg)
{
	struct primary *p = arg;

	(void)fd;
	(void)what;
	if (guest_poll(&p->g, 0) != -EPIPE)
		return;
	event_del(p->ev_guest);		/* its EOF stays readable */
	if (p->g.exited && WIFEXITED(p->g.exit_status)) {
		/* it asked to: the pair has nothing left to protect */
		pr_err("the guest exited with status %d; stopping the pair",
		       WEXITSTATUS(p->g.exit_status));
		if (p->ch && channel_is_open(p->ch))
			channel_send(p->ch, COLO_GUEST_SHUTDOWN, NULL, 0);
	} else if (p->ch && channel_is_open(p->ch)) {
		/* killed (OOM, SIGKILL): the secondary's copy is the service
		 * now; losing us is what tells it, never a shutdown */
		pr_err("the guest died; dropping the secondary, which keeps "
		       "its copy");
		channel_drop(p->ch, "our guest died");
	}
	primary_stop(p, 1);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct primary *p = arg;

	(void)what;
	pr_info("signal %d: stopping", (int)sig);
	primary_stop(p, 0);
}

/* --- setup and teardown ----------------------------------------------------- */

static int setup(struct primary *p, int *ready_fd)
{
	struct dirty_log_params dp = {
		.kind = p->cfg.ram.dirty_log,
		.clear_mode = p->cfg.ram.clear_mode,
		.clear_bmap_shift = p->cfg.ram.clear_bitmap_shift,
		.guest_uffd = COLO_GUEST_UFFD_FD,
		.whole_file_blocks = true,	/* the secondary's cache starts empty */
	};
	struct timeval tick = { 0, TICK_MS * 1000 };
	int ret;

	ret = control_open(&p->ctl, p->base, p->cfg.control.socket,
			   primary_on_control, p);
	if (ret)
		return ret;
	ret = daemon_launch_guest(&p->cfg, "A", &p->g, NULL, NULL);
	if (ret)
		return ret;
	ret = guest_start(&p->g);
	if (!ret)
		ret = dirty_log_open(&p->dl, p->g.pid, &dp);
	if (!ret)
		ret = ram_list_add_hole(&p->dl->ram, p->g.hello.private_base,
					p->g.hello.private_base + p->g.hello.private_len);
	if (!ret)
		ret = ram_save_init(&p->rs, p->dl);
	if (ret)
		return ret;
	p->ev_tick = event_new(p->base, -1, EV_PERSIST, on_tick, p);
	p->ev_guest = event_new(p->base, p->g.chan, EV_READ | EV_PERSIST,
				on_guest, p);
	p->ev_sig_term = evsignal_new(p->base, SIGTERM, on_signal, p);
	p->ev_sig_int = evsignal_new(p->base, SIGINT, on_signal, p);
	if (!p->ev_tick || !p->ev_guest || !p->ev_sig_term || !p->ev_sig_int)
		return -ENOMEM;
	event_add(p->ev_tick, &tick);
	event_add(p->ev_guest, NULL);
	event_add(p->ev_sig_term, NULL);
	event_add(p->ev_sig_int, NULL);
	pr_info("primary up: guest pid %d, secondary expected at %s, control "
		"socket %s", (int)p->g.pid, p->cfg.checkpoint.peer,
		p->cfg.control.socket);
	daemon_ready(ready_fd, 0, NULL);
	return 0;
}

static void teardown(struct primary *p)
{
	if (p->ev_tick)
		event_free(p->ev_tick);
	if (p->ev_guest)
		event_free(p->ev_guest);
	if (p->ev_sig_term)
		event_free(p->ev_sig_term);
	if (p->ev_sig_int)
		event_free(p->ev_sig_int);
	if (p->ps_ready)
		page_stream_destroy(&p->ps);
	if (p->ch)
		channel_free(p->ch);
	if (p->dead_ch)
		channel_free(p->dead_ch);
	if (p->connect_fd >= 0)
		close(p->connect_fd);
	if (p->rs.buf)
		ram_save_destroy(&p->rs);
	dirty_log_close(p->dl);
	guest_destroy(&p->g, 2000);
	control_close(p->ctl);
}

int primary_run(const struct colo_config *cfg, int ready_fd)
{
	struct primary *p = calloc(1, sizeof(*p));
	int ret, code;

	if (!p) {
		daemon_ready(&ready_fd, -ENOMEM, "out of memory");
		return 1;
	}
	p->cfg = *cfg;
	p->connect_fd = -1;
	p->g.chan = -1;
	p->base = event_base_new();
	if (!p->base) {
		free(p);
		daemon_ready(&ready_fd, -ENOMEM, "cannot create an event loop");
		return 1;
	}
	ret = setup(p, &ready_fd);
	if (ret) {
		char why[128];

		snprintf(why, sizeof(why), "the primary could not start: %s "
			 "(see the log above)", strerror(-ret));
		daemon_ready(&ready_fd, ret, why);
		p->exit_code = 1;
	} else {
		event_base_dispatch(p->base);
	}
	code = p->exit_code;
	teardown(p);
	event_base_free(p->base);
	free(p);
	return code;
}
