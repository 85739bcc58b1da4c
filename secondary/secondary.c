/*
 * secondary.c - the secondary daemon's state machine.
 *
 *   WAITING -> SYNC (the initial image into the cache) -> COLO
 *                        CHECKPOINT <-> COLO
 *   SYNC/COLO/CHECKPOINT -> PEER_LOST when the primary goes away
 *
 * Pages go into the RAM cache, never into the running guest. At a
 * checkpoint: stop the guest (CHECKPOINT_REQUEST / CHECKPOINT_REPLY), take
 * the final pages and the layout, and once VMSTATE_SIZE says all of it
 * arrived, commit the cache, mirror the layout, flush (received | own
 * dirty) into the guest, re-arm its dirty log lazily, and resume it
 * (VMSTATE_LOADED). A checkpoint cut short is never applied: when the
 * primary is lost, the guest is put back to the last complete checkpoint
 * and kept stopped there.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#define LOG_PREFIX "secondary: "
#include "log.h"
#include "channel.h"
#include "colo_daemon.h"
#include "compare.h"
#include "control.h"
#include "dirty_log.h"
#include "guest_writer.h"
#include "layout.h"
#include "ram_cache.h"
#include "secondary.h"

#define TICK_MS		20
#define STOP_TRIES	30	/* stop_timeout_ms each, for a busy guest */

enum secondary_state {
	S_WAITING, S_SYNC, S_COLO, S_CHECKPOINT, S_HELD, S_PEER_LOST,
	S_STOPPING,
};

static const char *const state_names[] = {
	[S_WAITING] = "waiting", [S_SYNC] = "initial-sync", [S_COLO] = "colo",
	[S_CHECKPOINT] = "checkpoint", [S_HELD] = "held",
	[S_PEER_LOST] = "peer-lost", [S_STOPPING] = "stopping",
};

struct secondary {
	struct colo_config cfg;
	struct event_base *base;
	struct event *ev_tick, *ev_guest, *ev_sig_term, *ev_sig_int;
	struct evconnlistener *listener;
	struct control *ctl;
	enum secondary_state state;
	int exit_code;

	struct guest g;			/* B */
	struct dirty_log *dl;
	struct ram_cache cache;
	struct guest_writer w;
	struct channel *ch;
	struct channel *dead_ch;	/* closed, freed at the next tick */
	int64_t last_rx_ms, last_hb_ms;
	char lost_why[256];

	uint64_t ckpt_id;		/* in progress */
	uint64_t ckpt_done;		/* last loaded */
	bool in_vmstate, have_layout, have_memhash;
	uint64_t vm_pages, vm_bytes;
	struct layout layout;		/* A's, for ckpt_id */
	uint64_t layout_brk;
	struct layout image_layout;	/* A's at ckpt_done */
	uint64_t image_brk;
	bool have_image;
	uint32_t expect_crc;
	uint64_t expect_bytes;
	int last_verify;
	int64_t stop_ms;
	struct pause_stats pauses;	/* our guest stopped, per checkpoint */
	double last_load_ms;
};

/* Stop after a few ticks, so a control answer gets out first. */
static void secondary_stop(struct secondary *s, int code)
{
	struct timeval later = { 0, 100 * 1000 };

	s->state = S_STOPPING;
	s->exit_code = code;
	event_base_loopexit(s->base, &later);
}

/* --- losing the primary ------------------------------------------------- */

/*
 * Put our guest back to the last complete checkpoint and keep it
 * stopped: its layout to the image's, then the pages it dirtied since,
 * from the cache's image. What arrived of a newer checkpoint is dropped.
 */
static void fall_back_to_image(struct secondary *s)
{
	unsigned commands = 0;
	int ret;

	if (!s->have_image) {
		pr_warn("no checkpoint was complete yet: our guest was never "
			"loaded; waiting for a primary");
		if (s->g.paused)
			guest_continue(&s->g);
		s->state = S_WAITING;
		return;
	}
	ret = guest_stop(&s->g, (int)s->cfg.guest.stop_timeout_ms);
	if (!ret)
		ret = layout_mirror(&s->image_layout, s->image_brk, &s->g, &commands);
	if (!ret)
		ret = dirty_log_sync(s->dl);
	if (!ret)
		ret = ram_cache_rollback(&s->cache, s->dl, &s->w);
	if (!ret)
		ret = dirty_log_sync(s->dl);
	if (!ret)
		ret = dirty_log_forget(s->dl);
	if (ret)
		pr_err("could not put the guest back to checkpoint %" PRIu64
		       ": %s", s->ckpt_done, strerror(-ret));
	else
		pr_warn("the guest is stopped at checkpoint %" PRIu64 ", the last "
			"complete one (take over: coloctl failover, when it "
			"exists)", s->ckpt_done);
	s->state = S_PEER_LOST;
}

static void on_closed(struct channel *ch, const char *why, void *opaque)
{
	struct secondary *s = opaque;

	if (s->state == S_STOPPING)
		return;
	snprintf(s->lost_why, sizeof(s->lost_why), "%s", why);
	pr_warn("lost the primary: %s", why);
	s->dead_ch = ch;		/* not freed from within its callback */
	s->ch = NULL;
	s->in_vmstate = false;
	fall_back_to_image(s);
}

/* --- a checkpoint, applied ----------------------------------------------- */

static int send_id(struct secondary *s, uint16_t type)
{
	uint8_t b[COLO_ID_LEN];

	put_be64(b, s->ckpt_id);
	return channel_send(s->ch, type, b, sizeof(b));
}

static int stop_guest(struct secondary *s)
{
	for (int i = 0; i < STOP_TRIES; i++)
		if (guest_stop(&s->g, (int)s->cfg.guest.stop_timeout_ms) == 0)
			return 0;
	pr_err("our guest did not reach a pause point in %d tries of %u ms",
	       STOP_TRIES, s->cfg.guest.stop_timeout_ms);
	return -ETIMEDOUT;
}

/* Step 1 -- commit; Step 2 -- layout; Step 3 -- flush; Step 4 -- verify;
 * Step 5 -- re-arm our log, our TID back, resume (unless held). */
static int load_checkpoint(struct secondary *s, uint64_t flags)
{
	int64_t t0 = daemon_now_ms();
	unsigned commands = 0;
	uint8_t loaded[COLO_VMSTATE_LOADED_LEN];
	int verify = COLO_VERIFY_NONE, ret;
	int64_t t_commit, t_flush, t_rearm;
	struct layout mine;

	ret = ram_cache_commit(&s->cache);
	if (ret)
		return ret;
	t_commit = daemon_now_ms();
	ret = layout_read(s->g.pid, &mine);
	if (ret)
		return ret;
	ret = layout_compatible("the primary's guest", &s->layout, "ours", &mine);
	layout_free(&mine);
	if (ret)
		return ret;
	ret = layout_mirror(&s->layout, s->layout_brk, &s->g, &commands);
	if (!ret)
		ret = dirty_log_sync(s->dl);
	if (!ret)
		ret = ram_cache_flush(&s->cache, s->dl, &s->w);
	if (ret)
		return ret;
	t_flush = daemon_now_ms();
	if (flags & COLO_VMSTATE_VERIFY) {
		uint32_t crc;
		uint64_t bytes;

		ret = guest_memory_crc(s->g.pid, &crc, &bytes);
		if (ret)
			return ret;
		verify = s->have_memhash && crc == s->expect_crc &&
			 bytes == s->expect_bytes ? COLO_VERIFY_SAME :
						    COLO_VERIFY_DIFFERS;
		s->last_verify = verify;
		if (verify == COLO_VERIFY_SAME)
			pr_info("checkpoint %" PRIu64 ": verified, our guest is "
				"identical (%" PRIu64 " bytes)", s->ckpt_id, bytes);
		else
			pr_err("checkpoint %" PRIu64 ": our guest's memory hashes "
			       "to %08x over %" PRIu64 " bytes, the primary's to "
			       "%08x over %" PRIu64, s->ckpt_id, crc, bytes,
			       s->expect_crc, s->expect_bytes);
	}
	t_rearm = daemon_now_ms();
	ret = dirty_log_sync(s->dl);
	if (!ret)
		ret = dirty_log_forget(s->dl);
	if (ret)
		return ret;
	pr_debug("checkpoint %" PRIu64 " loaded: commit %" PRId64 " ms, layout "
		 "and flush of %" PRIu64 " pages %" PRId64 " ms, re-arm %" PRId64
		 " ms", s->ckpt_id, t_commit - t0, s->cache.stats.pages_flushed,
		 t_flush - t_commit, daemon_now_ms() - t_rearm);
	/* the image of this checkpoint, for a fall back */
	layout_free(&s->image_layout);
	s->image_layout = s->layout;
	memset(&s->layout, 0, sizeof(s->layout));
	s->image_brk = s->layout_brk;
	s->have_image = true;
	s->ckpt_done = s->ckpt_id;
	if (flags & COLO_VMSTATE_HOLD) {
		s->state = S_HELD;
	} else {
		ret = guest_cmd(&s->g, GUEST_CMD_SET_TID, NULL, NULL, NULL, 0);
		if (!ret)
			ret = guest_continue(&s->g);
		if (ret)
			return ret;
		s->state = S_COLO;
	}
	s->last_load_ms = (double)(daemon_now_ms() - t0);
	/* the initial sync's stop-and-copy is not a COLO checkpoint */
	if (s->ckpt_done > 1)
		pause_stats_add(&s->pauses, (double)(daemon_now_ms() - s->stop_ms));
	put_be64(loaded, s->ckpt_id);
	put_be32(loaded + 8, (uint32_t)verify);
	ret = channel_send(s->ch, COLO_VMSTATE_LOADED, loaded, sizeof(loaded));
	if (!ret && s->ckpt_done == 1) {
		pr_info("initial sync done: our guest is a copy of the "
			"primary's (%" PRIu64 " pages written into it in %.0f ms)",
			s->cache.stats.pages_flushed, s->last_load_ms);
		ret = channel_send(s->ch, COLO_CHECKPOINT_READY, NULL, 0);
	}
	return ret;
}

/* --- records from the primary --------------------------------------------- */

static int check_hello(struct secondary *s, const uint8_t *payload,
		       uint32_t len)
{
	struct colo_hello h, mine = {
		.magic = COLO_PROTO_MAGIC,
		.version = COLO_PROTO_VERSION,
		.page_size = (uint32_t)s->dl->ram.page_size,
		.role = COLO_ROLE_SECONDARY,
	};
	uint8_t out[COLO_HELLO_LEN];
	int ret;

	if (len != COLO_HELLO_LEN) {
		pr_err("HELLO of %u bytes, expected %d", len, COLO_HELLO_LEN);
		return -EPROTO;
	}
	colo_hello_decode(payload, &h);
	if (h.magic != COLO_PROTO_MAGIC || h.role != COLO_ROLE_PRIMARY) {
		pr_err("the peer is not a colo primary (magic %#x, expected %#x; "
		       "role %u)", h.magic, COLO_PROTO_MAGIC, h.role);
		return -EPROTO;
	}
	if (h.version != COLO_PROTO_VERSION) {
		pr_err("the primary speaks protocol %u, we speak %u: run the "
		       "same colo on both hosts", h.version, COLO_PROTO_VERSION);
		return -EPROTO;
	}
	if (h.page_size != mine.page_size) {
		pr_err("the primary's page size is %u, ours %u", h.page_size,
		       mine.page_size);
		return -EPROTO;
	}
	ret = daemon_guest_hash(&s->g, &mine.guest_hash);
	if (ret)
		return ret;
	if (h.guest_hash != mine.guest_hash) {
		pr_err("the primary's guest (binary and libraries) hashes to "
		       "%08x, ours to %08x: install the same guest binary and "
		       "libraries on both hosts", h.guest_hash, mine.guest_hash);
		return -EPROTO;
	}
	colo_hello_encode(&mine, out);
	return channel_send(s->ch, COLO_HELLO, out, sizeof(out));
}

static int on_record(struct channel *ch, uint16_t type, const uint8_t *payload,
		     uint32_t len, void *opaque)
{
	struct secondary *s = opaque;
	uint64_t id = len >= 8 ? get_be64(payload) : 0;
	int ret;

	(void)ch;
	s->last_rx_ms = daemon_now_ms();
	if (s->state == S_WAITING && type != COLO_HELLO) {
		pr_err("%s before HELLO", colo_record_name(type));
		return -EPROTO;
	}
	switch (type) {
	case COLO_HELLO:
		if (s->state != S_WAITING)
			break;
		ret = check_hello(s, payload, len);
		if (ret)
			return ret;
		pr_info("a primary connected: receiving the initial image");
		s->state = S_SYNC;
		return 0;
	case COLO_HEARTBEAT:
		return 0;
	case COLO_RAM_BLOCKS:
		return ram_cache_set_blocks(&s->cache, payload, len);
	case COLO_PAGES: {
		uint64_t pages = 0;

		ret = ram_cache_load_pages(&s->cache, payload, len, &pages);
		if (s->in_vmstate) {
			s->vm_pages += pages;
			s->vm_bytes += len;
		}
		return ret;
	}
	case COLO_CHECKPOINT_REQUEST:
		if ((s->state != S_SYNC && s->state != S_COLO) ||
		    len != COLO_ID_LEN || id != s->ckpt_done + 1)
			break;
		s->ckpt_id = id;
		ret = stop_guest(s);
		if (ret)
			return ret;
		s->stop_ms = daemon_now_ms();
		s->state = S_CHECKPOINT;
		return send_id(s, COLO_CHECKPOINT_REPLY);
	case COLO_VMSTATE_SEND:
		if (s->state != S_CHECKPOINT || id != s->ckpt_id || s->in_vmstate)
			break;
		s->in_vmstate = true;
		s->have_layout = s->have_memhash = false;
		s->vm_pages = s->vm_bytes = 0;
		return 0;
	case COLO_LAYOUT:
		if (!s->in_vmstate || s->have_layout)
			break;
		layout_free(&s->layout);
		ret = layout_decode(payload, len, &s->layout, &s->layout_brk);
		s->have_layout = !ret;
		return ret;
	case COLO_MEMHASH:
		if (!s->in_vmstate || len != COLO_MEMHASH_LEN)
			break;
		s->expect_crc = get_be32(payload);
		s->expect_bytes = get_be64(payload + 4);
		s->have_memhash = true;
		return 0;
	case COLO_VMSTATE_SIZE: {
		uint64_t pages, bytes, flags;

		if (!s->in_vmstate || len != COLO_VMSTATE_SIZE_LEN ||
		    id != s->ckpt_id)
			break;
		pages = get_be64(payload + 8);
		bytes = get_be64(payload + 16);
		flags = get_be64(payload + 24);
		if (pages != s->vm_pages || bytes != s->vm_bytes ||
		    !s->have_layout) {
			pr_err("checkpoint %" PRIu64 " is incomplete: %" PRIu64
			       " pages and %" PRIu64 " bytes announced, %" PRIu64
			       " and %" PRIu64 " arrived%s; it is not applied",
			       id, pages, bytes, s->vm_pages, s->vm_bytes,
			       s->have_layout ? "" : ", no layout");
			return -EPROTO;
		}
		s->in_vmstate = false;
		ret = send_id(s, COLO_VMSTATE_RECEIVED);
		if (!ret)
			ret = load_checkpoint(s, flags);
		if (ret)
			pr_err("loading checkpoint %" PRIu64 " failed: %s", id,
			       strerror(-ret));
		return ret;
	}
	case COLO_GUEST_SHUTDOWN:
		pr_info("the primary shuts the pair down");
		secondary_stop(s, 0);
		return 0;
	default:
		break;
	}
	pr_err("unexpected %s (%u bytes) from the primary in state %s",
	       colo_record_name(type), len, state_names[s->state]);
	return -EPROTO;
}

static const struct channel_ops channel_ops = {
	.record = on_record,
	.closed = on_closed,
};

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
		      struct sockaddr *sa, int socklen, void *arg)
{
	struct secondary *s = arg;
	struct sockaddr_in *sin = (struct sockaddr_in *)sa;
	char peer[64];

	(void)l;
	(void)socklen;
	snprintf(peer, sizeof(peer), "%s:%u", inet_ntoa(sin->sin_addr),
		 ntohs(sin->sin_port));
	if (s->ch || s->state != S_WAITING) {
		pr_warn("refusing a connection from %s: %s", peer,
			s->state == S_PEER_LOST ?
			"the pair was broken; its guest waits for a failover" :
			"a primary is connected already");
		close(fd);
		return;
	}
	s->ch = channel_new(s->base, fd, &channel_ops, s, peer);
	if (!s->ch) {
		close(fd);
		return;
	}
	s->last_rx_ms = daemon_now_ms();
	pr_info("connection from %s", peer);
}

/* --- the tick: heartbeats, cleanup ---------------------------------------- */

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct secondary *s = arg;
	int64_t now = daemon_now_ms();

	(void)fd;
	(void)what;
	if (s->dead_ch) {
		channel_free(s->dead_ch);
		s->dead_ch = NULL;
	}
	if (!s->ch || !channel_is_open(s->ch))
		return;
	if (now - s->last_hb_ms >= s->cfg.ha.heartbeat_timeout_ms / 4) {
		uint8_t b[COLO_HEARTBEAT_LEN];

		put_be64(b, (uint64_t)now);
		channel_send(s->ch, COLO_HEARTBEAT, b, sizeof(b));
		s->last_hb_ms = now;
	}
	if (now - s->last_rx_ms > s->cfg.ha.heartbeat_timeout_ms) {
		char why[128];

		snprintf(why, sizeof(why), "no word from the primary for %" PRId64
			 " ms", now - s->last_rx_ms);
		channel_drop(s->ch, why);
	}
}

static void on_guest(evutil_socket_t fd, short what, void *arg)
{
	struct secondary *s = arg;

	(void)fd;
	(void)what;
	if (guest_poll(&s->g, 0) == -EPIPE) {
		pr_err("our guest exited; stopping");
		secondary_stop(s, 1);
	}
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct secondary *s = arg;

	(void)what;
	pr_info("signal %d: stopping", (int)sig);
	secondary_stop(s, 0);
}

/* --- control ---------------------------------------------------------------- */

static void status(struct secondary *s, bool json, struct evbuffer *reply)
{
	static const char *const verify_names[] = { "none", "identical", "DIFFERS" };
	struct status_out so;

	status_begin(&so, reply, json);
	status_str(&so, "role", "secondary");
	status_str(&so, "state", state_names[s->state]);
	status_num(&so, "pid", getpid(), 0);
	status_num(&so, "guest_pid", s->g.pid, 0);
	status_str(&so, "listen", s->cfg.checkpoint.listen);
	status_str(&so, "peer", s->ch ? channel_peer(s->ch) : "none");
	if (s->state == S_PEER_LOST)
		status_str(&so, "lost_because", s->lost_why);
	status_num(&so, "checkpoints", (double)s->ckpt_done, 0);
	status_num(&so, "guest_stopped_p50_ms",
		   pause_stats_quantile(&s->pauses, 0.5), 1);
	status_num(&so, "guest_stopped_p99_ms",
		   pause_stats_quantile(&s->pauses, 0.99), 1);
	status_num(&so, "load_last_ms", s->last_load_ms, 1);
	status_num(&so, "pages_received", (double)s->cache.stats.pages_received, 0);
	status_num(&so, "pages_flushed_last", (double)s->cache.stats.pages_flushed, 0);
	status_num(&so, "pages_own_dirty_last",
		   (double)s->cache.stats.pages_own_dirty, 0);
	status_str(&so, "dirty_log", dirty_log_backend(s->dl));
	status_num(&so, "heartbeat_age_ms", s->ch ?
		   (double)(daemon_now_ms() - s->last_rx_ms) : -1, 0);
	status_str(&so, "last_verify", verify_names[s->last_verify]);
	status_end(&so);
}

static int on_control(void *opaque, int argc, char **argv,
		      struct evbuffer *reply)
{
	struct secondary *s = opaque;

	if (strcmp(argv[0], "status") == 0) {
		status(s, argc > 1 && strcmp(argv[1], "json") == 0, reply);
		return 0;
	}
	if (strcmp(argv[0], "stop") == 0) {
		evbuffer_add_printf(reply, "stopping the secondary and its guest\n");
		secondary_stop(s, 0);
		return 0;
	}
	evbuffer_add_printf(reply, "unknown command '%s'; the secondary takes "
			    "status, stop (checkpoint and set go to the "
			    "primary)\n", argv[0]);
	return -EINVAL;
}

/* --- setup and teardown ----------------------------------------------------- */

static int listen_tcp(struct secondary *s)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	char host[64];
	unsigned port;

	if (config_split_address(s->cfg.checkpoint.listen, host, sizeof(host),
				 &port) || inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return -EINVAL;
	sin.sin_port = htons((uint16_t)port);
	s->listener = evconnlistener_new_bind(s->base, on_accept, s,
			LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
			LEV_OPT_CLOSE_ON_EXEC, 4, (struct sockaddr *)&sin,
			sizeof(sin));
	if (!s->listener) {
		int ret = -errno;

		pr_err("cannot listen on %s: %s; is another secondary there? "
		       "set [checkpoint] listen", s->cfg.checkpoint.listen,
		       strerror(errno));
		return ret ? ret : -EADDRINUSE;
	}
	return 0;
}

static int setup(struct secondary *s, int *ready_fd)
{
	struct dirty_log_params dp = {
		.kind = s->cfg.ram.dirty_log,
		.clear_mode = DIRTY_LOG_LAZY,
		.clear_bmap_shift = s->cfg.ram.clear_bitmap_shift,
		.guest_uffd = COLO_GUEST_UFFD_FD,
	};
	struct timeval tick = { 0, TICK_MS * 1000 };
	int ret;

	ret = control_open(&s->ctl, s->base, s->cfg.control.socket, on_control, s);
	if (!ret)
		ret = listen_tcp(s);
	if (!ret)
		ret = daemon_launch_guest(&s->cfg, "B", &s->g, NULL, NULL);
	if (!ret)
		ret = dirty_log_open(&s->dl, s->g.pid, &dp);
	if (!ret)
		ret = ram_list_add_hole(&s->dl->ram, s->g.hello.private_base,
					s->g.hello.private_base + s->g.hello.private_len);
	if (!ret)
		ret = ram_cache_init(&s->cache, s->dl->ram.page_size);
	if (ret)
		return ret;
	guest_writer_init(&s->w, s->g.pid, s->dl->ram.page_size);
	s->ev_tick = event_new(s->base, -1, EV_PERSIST, on_tick, s);
	s->ev_guest = event_new(s->base, s->g.chan, EV_READ | EV_PERSIST,
				on_guest, s);
	s->ev_sig_term = evsignal_new(s->base, SIGTERM, on_signal, s);
	s->ev_sig_int = evsignal_new(s->base, SIGINT, on_signal, s);
	if (!s->ev_tick || !s->ev_guest || !s->ev_sig_term || !s->ev_sig_int)
		return -ENOMEM;
	event_add(s->ev_tick, &tick);
	event_add(s->ev_guest, NULL);
	event_add(s->ev_sig_term, NULL);
	event_add(s->ev_sig_int, NULL);
	pr_info("secondary up: guest pid %d (not started: it will be the "
		"primary's copy), listening on %s, control socket %s",
		(int)s->g.pid, s->cfg.checkpoint.listen, s->cfg.control.socket);
	daemon_ready(ready_fd, 0, NULL);
	return 0;
}

static void teardown(struct secondary *s)
{
	if (s->ev_tick)
		event_free(s->ev_tick);
	if (s->ev_guest)
		event_free(s->ev_guest);
	if (s->ev_sig_term)
		event_free(s->ev_sig_term);
	if (s->ev_sig_int)
		event_free(s->ev_sig_int);
	if (s->listener)
		evconnlistener_free(s->listener);
	if (s->ch)
		channel_free(s->ch);
	if (s->dead_ch)
		channel_free(s->dead_ch);
	layout_free(&s->layout);
	layout_free(&s->image_layout);
	guest_writer_destroy(&s->w);
	ram_cache_destroy(&s->cache);
	dirty_log_close(s->dl);
	guest_destroy(&s->g, 2000);
	control_close(s->ctl);
}

int secondary_run(const struct colo_config *cfg, int ready_fd)
{
	struct secondary *s = calloc(1, sizeof(*s));
	int ret, code;

	if (!s) {
		daemon_ready(&ready_fd, -ENOMEM, "out of memory");
		return 1;
	}
	s->cfg = *cfg;
	s->g.chan = -1;
	s->base = event_base_new();
	if (!s->base) {
		free(s);
		daemon_ready(&ready_fd, -ENOMEM, "cannot create an event loop");
		return 1;
	}
	ret = setup(s, &ready_fd);
	if (ret) {
		char why[128];

		snprintf(why, sizeof(why), "the secondary could not start: %s "
			 "(see the log above)", strerror(-ret));
		daemon_ready(&ready_fd, ret, why);
		s->exit_code = 1;
	} else {
		event_base_dispatch(s->base);
	}
	code = s->exit_code;
	teardown(s);
	event_base_free(s->base);
	free(s);
	return code;
}
