/*
 * primary.c - the primary daemon's state machine.
 *
 *   CONNECTING -> HANDSHAKE -> SYNC -> (first checkpoint) -> COLO
 *                                         ^                   |
 *                                         +--- CHECKPOINT <---+
 *   any -> SOLO when the secondary is lost or refuses the pair
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
#include <unistd.h>

#include <event2/event.h>

#define LOG_PREFIX "primary: "
#include "log.h"
#include "channel.h"
#include "colo_daemon.h"
#include "compare.h"
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

static void go_solo(struct primary *p, const char *why)
{
	if (p->state == P_STOPPING || p->state == P_SOLO)
		return;
	snprintf(p->peer_why, sizeof(p->peer_why), "%s", why);
	if (p->g.paused && guest_continue(&p->g))
		pr_err("could not resume the guest after losing the secondary");
	pr_warn("the guest runs unprotected from now on: %s", why);
	p->state = P_SOLO;
}

static void on_closed(struct channel *ch, const char *why, void *opaque)
{
	struct primary *p = opaque;

	(void)ch;
	go_solo(p, why);
}

/* --- the checkpoint ------------------------------------------------------ */

static int send_id(struct primary *p, uint16_t type)
{
	uint8_t b[COLO_ID_LEN];

	put_be64(b, p->ckpt_id);
	return channel_send(p->ch, type, b, sizeof(b));
}

static void begin_checkpoint(struct primary *p)
{
	int ret = guest_stop(&p->g, (int)p->cfg.guest.stop_timeout_ms);

	if (ret) {		/* busy in a handler: try again soon */
		p->next_ckpt_ms = daemon_now_ms() + 10;
		return;
	}
	p->stop_ms = daemon_now_ms();
	p->ckpt_id++;
	p->ckpt_requested = false;
	p->verify_this = p->verify_next;
	p->hold_this = p->hold_next;
	p->verify_next = p->hold_next = false;
	p->state = P_CHECKPOINT;
	if (send_id(p, COLO_CHECKPOINT_REQUEST))
		go_solo(p, "cannot send CHECKPOINT_REQUEST");
}

/* Everything still dirty, the layout, and VMSTATE_SIZE: the guest is
 * stopped, so this pass is bounded by what it dirtied since the last. */
static int send_vmstate(struct primary *p)
{
	struct colo_guest_layout gl;
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
	ret = layout_encode(&l, gl.brk, &buf, &len);
	layout_free(&l);
	if (!ret)
		ret = channel_send(p->ch, COLO_LAYOUT, buf, (uint32_t)len);
	free(buf);
	if (ret)
		return ret;
	if (p->verify_this || p->cfg.debug.record_hashes[0]) {
		uint8_t mh[COLO_MEMHASH_LEN];

		ret = guest_memory_crc(p->g.pid, &p->this_crc, &p->this_bytes);
		if (ret)
			return ret;
		put_be32(mh, p->this_crc);
		put_be64(mh + 4, p->this_bytes);
		if (p->verify_this)
			ret = channel_send(p->ch, COLO_MEMHASH, mh, sizeof(mh));
		if (ret)
			return ret;
	}
	p->this_pages = p->ps.stats.pages - p->pages_at_send;
	p->this_bytes_sent = p->ps.stats.bytes - p->bytes_at_send;
	if (fault_injected(FI_PRIMARY_DIE_IN_CHECKPOINT) &&
	    p->ckpt_id == fault_at()) {
		/* die with the checkpoint on its way, never finished */
		pr_warn("fault injected: dying in checkpoint %" PRIu64, p->ckpt_id);
		p->die_at_ms = daemon_now_ms() + 50;
		return 0;
	}
	put_be64(size, p->ckpt_id);
	put_be64(size + 8, p->this_pages);
	put_be64(size + 16, p->this_bytes_sent);
	put_be64(size + 24, (p->verify_this ? COLO_VMSTATE_VERIFY : 0) |
			    (p->hold_this ? COLO_VMSTATE_HOLD : 0));
	return channel_send(p->ch, COLO_VMSTATE_SIZE, size, sizeof(size));
}

static void record_hash(struct primary *p)
{
	FILE *f;

	if (!p->cfg.debug.record_hashes[0])
		return;
	f = fopen(p->cfg.debug.record_hashes, "ae");
	if (!f) {
		pr_warn("cannot append to %s: %s", p->cfg.debug.record_hashes,
			strerror(errno));
		return;
	}
	fprintf(f, "%" PRIu64 " %08" PRIx32 " %" PRIu64 "\n", p->ckpt_id,
		p->this_crc, p->this_bytes);
	fclose(f);
}

static void checkpoint_loaded(struct primary *p, int verify)
{
	double pause;

	record_hash(p);
	p->ckpt_done = p->ckpt_id;
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
	if (guest_continue(&p->g)) {
		primary_stop(p, 1);
		return;
	}
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

static int check_hello(struct primary *p, const uint8_t *payload, uint32_t len)
{
	struct colo_hello h;
	uint32_t ours;
	int ret;

	if (len != COLO_HELLO_LEN) {
		pr_err("HELLO of %u bytes, expected %d", len, COLO_HELLO_LEN);
		return -EPROTO;
	}
	colo_hello_decode(payload, &h);
	if (h.magic != COLO_PROTO_MAGIC || h.role != COLO_ROLE_SECONDARY) {
		pr_err("the peer is not a colo secondary (magic %#x, role %u)",
		       h.magic, h.role);
		return -EPROTO;
	}
	if (h.version != COLO_PROTO_VERSION) {
		pr_err("the secondary speaks protocol %u, we speak %u: run the "
		       "same colo on both hosts", h.version, COLO_PROTO_VERSION);
		return -EPROTO;
	}
	if (h.page_size != p->dl->ram.page_size) {
		pr_err("the secondary's page size is %u, ours %zu", h.page_size,
		       p->dl->ram.page_size);
		return -EPROTO;
	}
	ret = daemon_guest_hash(&p->g, &ours);
	if (ret)
		return ret;
	if (h.guest_hash != ours) {
		pr_err("the secondary's guest (binary and libraries) hashes to "
		       "%08x, ours to %08x: install the same guest binary and "
		       "libraries on both hosts", h.guest_hash, ours);
		return -EPROTO;
	}
	return 0;
}

static uint64_t id_of(const uint8_t *payload, uint32_t len)
{
	return len >= 8 ? get_be64(payload) : 0;
}

static int on_record(struct channel *ch, uint16_t type, const uint8_t *payload,
		     uint32_t len, void *opaque)
{
	struct primary *p = opaque;
	int ret = 0;

	(void)ch;
	p->last_rx_ms = daemon_now_ms();
	switch (type) {
	case COLO_HELLO:
		if (p->state != P_HANDSHAKE)
			goto unexpected;
		ret = check_hello(p, payload, len);
		if (ret) {
			go_solo(p, "the secondary does not match (see the log)");
			return ret;
		}
		pr_info("the secondary answered: initial sync begins");
		p->state = P_SYNC;
		p->sync_start_ms = daemon_now_ms();
		p->pass_start = true;
		return 0;
	case COLO_HEARTBEAT:
		return 0;
	case COLO_CHECKPOINT_READY:
		pr_info("the secondary is in COLO state");
		return 0;
	case COLO_CHECKPOINT_REPLY:
		if (p->state != P_CHECKPOINT || id_of(payload, len) != p->ckpt_id)
			goto unexpected;
		ret = send_vmstate(p);
		if (ret) {
			go_solo(p, "cannot send the checkpoint");
			return ret;
		}
		return 0;
	case COLO_VMSTATE_RECEIVED:
		if (p->state != P_CHECKPOINT || id_of(payload, len) != p->ckpt_id)
			goto unexpected;
		return 0;
	case COLO_VMSTATE_LOADED:
		if (p->state != P_CHECKPOINT || len != COLO_VMSTATE_LOADED_LEN ||
		    id_of(payload, len) != p->ckpt_id)
			goto unexpected;
		checkpoint_loaded(p, (int)get_be32(payload + 8));
		return 0;
	default:
		goto unexpected;
	}
unexpected:
	pr_err("unexpected %s (%u bytes) from the secondary in state %s",
	       colo_record_name(type), len, primary_state_name(p->state));
	go_solo(p, "protocol error (see the log)");
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
	p->connect_fd = -1;
	if (!p->ch || page_stream_init(&p->ps, p->ch, p->dl->ram.page_size,
				       (int)p->cfg.checkpoint.compress_level)) {
		go_solo(p, "cannot set up the stream");
		return;
	}
	p->ps_ready = true;
	if (daemon_guest_hash(&p->g, &h.guest_hash)) {
		go_solo(p, "cannot hash our guest");
		return;
	}
	colo_hello_encode(&h, hello);
	channel_send(p->ch, COLO_HELLO, hello, sizeof(hello));
	p->last_rx_ms = daemon_now_ms();
	p->state = P_HANDSHAKE;
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
				go_solo(p, "the dirty log failed (see the log)");
				return;
			}
			p->pass_start = false;
		}
		if (ram_save_step(&p->rs, &p->ps.sink, STEP_PAGES, &done)) {
			go_solo(p, "sending pages failed (see the log)");
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
		put_be64(b, (uint64_t)now);
		channel_send(p->ch, COLO_HEARTBEAT, b, sizeof(b));
		p->last_hb_ms = now;
	}
	/* the secondary may be busy loading a checkpoint: only the link
	 * tells then */
	if (p->state != P_CHECKPOINT && p->state != P_HELD &&
	    now - p->last_rx_ms > p->cfg.ha.heartbeat_timeout_ms) {
		char why[128];

		snprintf(why, sizeof(why), "no word from the secondary for %"
			 PRId64 " ms", now - p->last_rx_ms);
		if (p->ch)
			channel_drop(p->ch, why);
	}
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct primary *p = arg;
	int64_t now = daemon_now_ms();

	(void)fd;
	(void)what;
	if (p->die_at_ms && now >= p->die_at_ms)
		raise(SIGKILL);
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
	    p->state != P_STOPPING)
		heartbeat(p, now);
}

static void on_guest(evutil_socket_t fd, short what, void *arg)
{
	struct primary *p = arg;

	(void)fd;
	(void)what;
	if (guest_poll(&p->g, 0) == -EPIPE) {
		pr_err("the guest exited; stopping");
		if (p->ch && channel_is_open(p->ch))
			channel_send(p->ch, COLO_GUEST_SHUTDOWN, NULL, 0);
		primary_stop(p, 1);
	}
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
