/*
 * secondary.c - the secondary daemon's state machine.
 *
 *   WAITING -> SYNC (the initial image into the cache) -> COLO
 *                        CHECKPOINT <-> COLO
 *   SYNC/COLO/CHECKPOINT -> PEER_LOST when the primary goes away
 *   any -> UNRESTORABLE when our guest cannot be put back to the image
 *
 * In WAITING any number of peers may connect; the first valid HELLO makes
 * one the primary, and a peer that says nothing valid within the
 * handshake timeout is dropped, alone.
 *
 * Pages go into the RAM cache, never into the running guest. At a
 * checkpoint: stop the guest (CHECKPOINT_REQUEST / CHECKPOINT_REPLY), take
 * the final pages and the layout, and once VMSTATE_SIZE says all of it
 * arrived, commit the cache, mirror the layout, flush (received | own
 * dirty) into the guest, re-arm its dirty log lazily, and resume it
 * (VMSTATE_LOADED). A checkpoint cut short is never applied: when the
 * primary is lost, the guest is put back to the last complete checkpoint
 * and kept stopped there. See load_checkpoint() for the commit rule.
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
#include "secondary.h"
#include "secondary_int.h"

static const char *const state_names[] = {
	[S_WAITING] = "waiting", [S_SYNC] = "initial-sync", [S_COLO] = "colo",
	[S_CHECKPOINT] = "checkpoint", [S_HELD] = "held",
	[S_PEER_LOST] = "peer-lost", [S_UNRESTORABLE] = "unrestorable",
	[S_STOPPING] = "stopping",
};

static void bury(struct secondary *s, struct channel *ch);
static void forget_pending(struct secondary *s, struct channel *ch);
static void drop_pending(struct secondary *s, const char *why);

/* How long our guest may take to stop for a checkpoint: the primary's
 * guest is stopped meanwhile, and it waits about a heartbeat timeout. */
static int64_t stop_budget_ms(const struct secondary *s)
{
	int64_t half = s->cfg.ha.heartbeat_timeout_ms / 2;

	return s->cfg.guest.stop_timeout_ms < half ?
	       s->cfg.guest.stop_timeout_ms : half;
}

static int handshake_timeout_ms(const struct secondary *s)
{
	unsigned hb = s->cfg.ha.heartbeat_timeout_ms;

	return (int)(hb < HANDSHAKE_MAX_MS ? hb : HANDSHAKE_MAX_MS);
}

/* Stop after a few ticks, so a control answer gets out first. */
static void secondary_stop(struct secondary *s, int code)
{
	struct timeval later = { 0, 100 * 1000 };

	s->state = S_STOPPING;
	s->exit_code = code;
	event_base_loopexit(s->base, &later);
}

static void on_closed(struct channel *ch, const char *why, void *opaque)
{
	struct secondary *s = opaque;

	bury(s, ch);
	if (ch != s->ch) {
		forget_pending(s, ch);
		return;
	}
	s->ch = NULL;
	if (s->state == S_STOPPING)
		return;
	snprintf(s->lost_why, sizeof(s->lost_why), "%s", why);
	pr_warn("lost the primary: %s", why);
	if (s->state == S_CHECKPOINT && !s->stopping_guest) {
		s->ckpt_aborted++;
		pause_stats_add(&s->pauses, (double)(daemon_now_ms() - s->stop_ms));
	}
	s->stopping_guest = false;
	s->in_vmstate = false;
	if (s->state == S_UNRESTORABLE)
		return;		/* nothing to put back: it stays stopped */
	secondary_fall_back(s);
}

/* --- a checkpoint, applied ----------------------------------------------- */

static int send_id(struct secondary *s, uint16_t type)
{
	struct colo_id m = { .id = s->ckpt_id };
	uint8_t b[COLO_ID_LEN];

	colo_id_encode(&m, b);
	return channel_send(s->ch, type, b, sizeof(b));
}

/*
 * Stop our guest for checkpoint ckpt_id: STOP_SLICE_MS now, more at the
 * next ticks, until the stop deadline (the stop timeout, at most half the
 * heartbeat timeout: the primary waits with its guest stopped). Then
 * CHECKPOINT_REPLY. 0 while trying; a negative errno ends the pair.
 */
static int try_stop_guest(struct secondary *s)
{
	int64_t now = daemon_now_ms();
	int ret = guest_stop(&s->g, STOP_SLICE_MS);

	if (ret == -ETIMEDOUT) {
		/* each try queues a PAUSE and a CANCEL: not every tick */
		s->next_stop_ms = now + STOP_RETRY_MS;
		if (now < s->stop_deadline_ms)
			return 0;
		pr_err("our guest did not reach a pause point within %" PRId64
		       " ms for checkpoint %" PRIu64, now - s->stop_begin_ms,
		       s->ckpt_id);
		return ret;
	}
	if (ret)
		return ret;
	s->stopping_guest = false;
	s->stop_ms = now;
	return send_id(s, COLO_CHECKPOINT_REPLY);
}

/* --- records from the primary --------------------------------------------- */

/* A HELLO from a peer: is it the primary we can pair with? Then ours
 * goes back. */
static int check_hello(struct secondary *s, struct channel *ch,
		       const uint8_t *payload, uint32_t len)
{
	struct colo_hello h, mine = {
		.magic = COLO_PROTO_MAGIC,
		.version = COLO_PROTO_VERSION,
		.page_size = (uint32_t)s->dl->ram.page_size,
		.role = COLO_ROLE_SECONDARY,
	};
	uint8_t out[COLO_HELLO_LEN];
	int ret;

	ret = colo_hello_decode(payload, len, &h);
	if (ret)
		return ret;
	if (h.role != COLO_ROLE_PRIMARY) {
		pr_err("the peer is not a colo primary: its HELLO says role %u, "
		       "expected %d", h.role, COLO_ROLE_PRIMARY);
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
	return channel_send(ch, COLO_HELLO, out, sizeof(out));
}

/*
 * A connection that has not said HELLO yet. Only a valid HELLO makes its
 * peer the primary; anything else drops this connection alone.
 */
static int on_pending_record(struct secondary *s, struct channel *ch,
			     uint16_t type, const uint8_t *payload, uint32_t len)
{
	int ret;

	if (type != COLO_HELLO) {
		pr_err("%s before HELLO from %s", colo_record_name(type),
		       channel_peer(ch));
		return -EPROTO;
	}
	if (s->ch || s->state != S_WAITING) {
		pr_warn("%s said HELLO, but the pair is %s", channel_peer(ch),
			state_names[s->state]);
		return -EBUSY;
	}
	ret = check_hello(s, ch, payload, len);
	if (ret)
		return ret;
	forget_pending(s, ch);
	s->ch = ch;
	s->last_rx_ms = s->last_hb_ms = daemon_now_ms();
	channel_set_timeouts(ch, s->cfg.ha.heartbeat_timeout_ms);
	drop_pending(s, "another peer is the primary now");
	pr_info("%s is the primary: receiving the initial image",
		channel_peer(ch));
	s->state = S_SYNC;
	return 0;
}

/* -EAGAIN: not the checkpoint in progress (the caller says unexpected). */
static int on_vmstate_size(struct secondary *s, const uint8_t *payload,
			   uint32_t len)
{
	struct colo_vmstate_size vs;
	int ret;

	ret = colo_vmstate_size_decode(payload, len, &vs);
	if (ret)
		return ret;
	if (!s->in_vmstate || vs.id != s->ckpt_id)
		return -EAGAIN;
	if (vs.pages != s->vm_pages || vs.bytes != s->vm_bytes ||
	    !s->have_layout) {
		pr_err("checkpoint %" PRIu64 " is incomplete: %" PRIu64
		       " pages and %" PRIu64 " bytes announced, %" PRIu64
		       " and %" PRIu64 " arrived%s; it is not applied",
		       vs.id, vs.pages, vs.bytes, s->vm_pages, s->vm_bytes,
		       s->have_layout ? "" : ", no layout");
		return -EPROTO;
	}
	s->in_vmstate = false;
	ret = send_id(s, COLO_VMSTATE_RECEIVED);
	if (!ret)
		ret = secondary_load_checkpoint(s, vs.flags, vs.clock_ms);
	if (ret)
		pr_err("loading checkpoint %" PRIu64 " failed: %s", vs.id,
		       strerror(-ret));
	return ret;
}

/*
 * Every record is decoded first (a malformed one is refused there, with
 * its reason logged), then judged against our state: a record we do not
 * expect now, or for another checkpoint, is refused here.
 */
static int on_record(struct channel *ch, uint16_t type, const uint8_t *payload,
		     uint32_t len, void *opaque)
{
	struct secondary *s = opaque;
	struct colo_heartbeat hb;
	struct colo_memhash mh;
	struct colo_id m;
	int ret;

	if (ch != s->ch)
		return on_pending_record(s, ch, type, payload, len);
	s->last_rx_ms = daemon_now_ms();
	switch (type) {
	case COLO_HEARTBEAT:
		return colo_heartbeat_decode(payload, len, &hb);
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
		ret = colo_id_decode(type, payload, len, &m);
		if (ret)
			return ret;
		if ((s->state != S_SYNC && s->state != S_COLO) ||
		    m.id != s->ckpt_done + 1)
			break;
		s->ckpt_id = m.id;
		s->state = S_CHECKPOINT;
		s->stopping_guest = true;
		s->stop_begin_ms = daemon_now_ms();
		s->stop_deadline_ms = s->stop_begin_ms + stop_budget_ms(s);
		return try_stop_guest(s);
	case COLO_VMSTATE_SEND:
		ret = colo_id_decode(type, payload, len, &m);
		if (ret)
			return ret;
		if (s->state != S_CHECKPOINT || s->stopping_guest ||
		    m.id != s->ckpt_id || s->in_vmstate)
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
		ret = colo_memhash_decode(payload, len, &mh);
		if (ret)
			return ret;
		if (!s->in_vmstate)
			break;
		s->expect_crc = mh.crc;
		s->expect_bytes = mh.bytes;
		s->have_memhash = true;
		return 0;
	case COLO_VMSTATE_SIZE:
		ret = on_vmstate_size(s, payload, len);
		if (ret != -EAGAIN)
			return ret;
		break;
	case COLO_GUEST_SHUTDOWN:
		ret = colo_empty_decode(type, len);
		if (ret)
			return ret;
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

/* --- connections: only a valid HELLO claims the primary's slot ------------ */

/* Closed channels, freed at the next tick (never within a callback). */
static void bury(struct secondary *s, struct channel *ch)
{
	for (int i = 0; i < MAX_DEAD; i++)
		if (s->dead[i] == ch)
			return;
	for (int i = 0; i < MAX_DEAD; i++)
		if (!s->dead[i]) {
			s->dead[i] = ch;
			return;
		}
	pr_err("no room to free a closed connection; it leaks");
}

static void forget_pending(struct secondary *s, struct channel *ch)
{
	for (int i = 0; i < MAX_PENDING; i++)
		if (s->pending[i].ch == ch)
			s->pending[i].ch = NULL;
}

/* Drop every connection still in its handshake. */
static void drop_pending(struct secondary *s, const char *why)
{
	for (int i = 0; i < MAX_PENDING; i++) {
		struct channel *ch = s->pending[i].ch;

		if (ch && channel_is_open(ch))
			channel_drop(ch, why);	/* forgets it */
		s->pending[i].ch = NULL;
	}
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
		      struct sockaddr *sa, int socklen, void *arg)
{
	struct secondary *s = arg;
	struct sockaddr_in *sin = (struct sockaddr_in *)sa;
	struct pending_peer *slot = NULL;
	char peer[64];

	(void)l;
	(void)socklen;
	snprintf(peer, sizeof(peer), "%s:%u", inet_ntoa(sin->sin_addr),
		 ntohs(sin->sin_port));
	for (int i = 0; i < MAX_PENDING && !slot; i++)
		if (!s->pending[i].ch)
			slot = &s->pending[i];
	if (s->ch || s->state != S_WAITING || !slot) {
		pr_warn("refusing a connection from %s: %s", peer,
			s->state == S_PEER_LOST || s->state == S_UNRESTORABLE ?
			"the pair was broken; its guest waits for a failover" :
			s->ch ? "a primary is connected already" :
			"too many connections in their handshake");
		close(fd);
		return;
	}
	slot->ch = channel_new(s->base, fd, &channel_ops, s, peer);
	if (!slot->ch) {
		close(fd);
		return;
	}
	slot->deadline_ms = daemon_now_ms() + handshake_timeout_ms(s);
	pr_info("connection from %s: waiting for its HELLO", peer);
}

/* --- the tick: heartbeats, deadlines, retries, cleanup -------------------- */

/* A connection that said nothing valid in time goes; others stay. */
static void expire_pending(struct secondary *s, int64_t now)
{
	for (int i = 0; i < MAX_PENDING; i++) {
		struct channel *ch = s->pending[i].ch;
		char why[96];

		if (!ch || now < s->pending[i].deadline_ms)
			continue;
		snprintf(why, sizeof(why), "sent no HELLO within %d ms",
			 handshake_timeout_ms(s));
		channel_drop(ch, why);
		s->pending[i].ch = NULL;
	}
}

/*
 * A tick much later than due: this daemon did not run (stopped, or the
 * host starved it), so the primary's silence is ours to excuse; what it
 * sent is queued and read next. It gets a fresh heartbeat window.
 */
static void excuse_own_stall(struct secondary *s, int64_t now)
{
	int64_t late = now - s->last_tick_ms;

	if (s->last_tick_ms && late > s->cfg.ha.heartbeat_timeout_ms / 2) {
		pr_warn("our loop did not run for %" PRId64 " ms (stopped or "
			"starved); the primary gets a fresh heartbeat window",
			late);
		s->last_rx_ms = now;
	}
	s->last_tick_ms = now;
}

static void heartbeat(struct secondary *s, int64_t now)
{
	if (now - s->last_hb_ms >= s->cfg.ha.heartbeat_timeout_ms / 4) {
		struct colo_heartbeat hb = { .ms = (uint64_t)now };
		uint8_t b[COLO_HEARTBEAT_LEN];

		colo_heartbeat_encode(&hb, b);
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

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct secondary *s = arg;
	int64_t now = daemon_now_ms();

	(void)fd;
	(void)what;
	excuse_own_stall(s, now);
	for (int i = 0; i < MAX_DEAD; i++) {
		channel_free(s->dead[i]);
		s->dead[i] = NULL;
	}
	expire_pending(s, now);
	if (s->restore_pending && now >= s->next_restore_ms) {
		s->restore_retry_ms = s->restore_retry_ms ?
			s->restore_retry_ms * 2 : RESTORE_RETRY_MS;
		if (s->restore_retry_ms > RESTORE_RETRY_MAX_MS)
			s->restore_retry_ms = RESTORE_RETRY_MAX_MS;
		s->next_restore_ms = now + s->restore_retry_ms;
		secondary_fall_back(s);
	}
	if (!s->ch || !channel_is_open(s->ch))
		return;
	if (s->stopping_guest && now >= s->next_stop_ms && try_stop_guest(s)) {
		channel_drop(s->ch, "our guest did not stop for the checkpoint");
		return;
	}
	heartbeat(s, now);
}

static void on_guest(evutil_socket_t fd, short what, void *arg)
{
	struct secondary *s = arg;

	(void)fd;
	(void)what;
	if (guest_poll(&s->g, 0) == -EPIPE) {
		event_del(s->ev_guest);		/* its EOF stays readable */
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
	if (s->state == S_PEER_LOST || s->state == S_UNRESTORABLE)
		status_str(&so, "lost_because", s->lost_why);
	status_str(&so, "guest_restorable",
		   s->state == S_UNRESTORABLE ? "no" :
		   s->restore_pending ? "pending" : "yes");
	status_num(&so, "checkpoints", (double)s->ckpt_done, 0);
	status_num(&so, "checkpoints_aborted", (double)s->ckpt_aborted, 0);
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
	if (!ret)	/* no RAM block may cover the runtime's own area */
		ret = ram_cache_reserve(&s->cache, s->g.hello.private_base,
					s->g.hello.private_base +
					s->g.hello.private_len);
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
	for (int i = 0; i < MAX_PENDING; i++)
		channel_free(s->pending[i].ch);
	for (int i = 0; i < MAX_DEAD; i++)
		channel_free(s->dead[i]);
	layout_free(&s->layout);
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
