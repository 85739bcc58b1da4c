/*
 * secondary.c - the secondary daemon's state machine.
 *
 *   WAITING -> SYNC (the initial image into the cache) -> COLO
 *                        CHECKPOINT <-> COLO
 *   SYNC/COLO/CHECKPOINT -> PEER_LOST when the primary goes away
 *   PEER_LOST -> TAKING_OVER on coloctl failover or auto_failover: the
 *                loop ends, and the primary's code runs our guest
 *   any -> UNRESTORABLE when our guest cannot be put back to the image
 *
 * In WAITING any number of peers may connect; the first valid HELLO makes
 * one the primary, and a peer that says nothing valid within the
 * handshake timeout is dropped, alone.
 *
 * The primary's records go to their handlers through one table of the
 * states each may come in; the checkpoint transaction, the commit rule
 * and the fall back to the last complete checkpoint are
 * secondary_checkpoint.c's.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#define LOG_PREFIX "secondary: "
#include "log.h"
#include "hooks.h"
#include "lan_watch.h"
#include "secondary.h"
#include "secondary_int.h"

const char *secondary_state_name(enum secondary_state state)
{
	static const char *const names[] = {
		[S_WAITING] = "waiting", [S_SYNC] = "initial-sync",
		[S_COLO] = "colo", [S_CHECKPOINT] = "checkpoint",
		[S_HELD] = "held", [S_PEER_LOST] = "peer-lost",
		[S_UNRESTORABLE] = "unrestorable", [S_STOPPING] = "stopping",
		[S_TAKING_OVER] = "taking-over",
	};

	return names[state];
}

static void bury(struct secondary *s, struct channel *ch);
static void forget_pending(struct secondary *s, struct channel *ch);
static void drop_pending(struct secondary *s, const char *why);

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
	if (ch == s->mirror) {
		char lost[320];

		s->mirror = NULL;
		snprintf(lost, sizeof(lost), "the mirror link closed: %s", why);
		if (s->ch && channel_is_open(s->ch))
			channel_drop(s->ch, lost);	/* back here */
		return;
	}
	if (ch != s->ch) {
		forget_pending(s, ch);
		return;
	}
	s->ch = NULL;
	secondary_mirror_close(s);
	if (s->state == S_STOPPING || s->state == S_TAKING_OVER)
		return;
	if (s->refused_why[0])
		why = s->refused_why;	/* what "record refused" was */
	snprintf(s->lost_why, sizeof(s->lost_why), "%s", why);
	s->refused_why[0] = '\0';
	pr_warn("lost the primary: %s", s->lost_why);
	hooks_run(s->hooks, HOOK_PEER_EVENT, "secondary", "peer-lost",
		  s->primary_addr, why);
	secondary_takeover_lost(s);
	secondary_checkpoint_lost(s);
}

/* --- records from the primary --------------------------------------------- */

/*
 * A connection that has not said HELLO yet. Only a valid HELLO makes its
 * peer the primary, and ours goes back; anything else drops this
 * connection alone.
 */
static int on_pending_record(struct secondary *s, struct channel *ch,
			     uint16_t type, const uint8_t *payload, uint32_t len)
{
	struct colo_hello mine, theirs;
	int ret;

	if (type == COLO_MIRROR_HELLO) {
		ret = secondary_mirror_attach(s, ch, payload, len);
		if (!ret)
			forget_pending(s, ch);
		return ret;
	}
	if (type != COLO_HELLO) {
		pr_err("%s before HELLO from %s", colo_record_name(type),
		       channel_peer(ch));
		return -EPROTO;
	}
	if (s->ch || s->state != S_WAITING) {
		pr_warn("%s said HELLO, but the pair is %s", channel_peer(ch),
			secondary_state_name(s->state));
		return -EBUSY;
	}
	ret = peer_hello_ours(&mine, COLO_ROLE_SECONDARY, s->dl->ram.page_size,
			      &s->g, 0);
	if (!ret)
		ret = peer_hello_check(&mine, payload, len, &theirs);
	if (!ret) {
		mine.session = theirs.session;	/* echoed: it is ours now */
		s->session = theirs.session;
		ret = peer_hello_send(ch, &mine);
	}
	if (ret)
		return ret;
	forget_pending(s, ch);
	s->ch = ch;
	snprintf(s->primary_addr, sizeof(s->primary_addr), "%s",
		 channel_peer(ch));
	peer_watch_start(&s->watch, daemon_now_ms());
	channel_set_timeouts(ch, s->cfg.ha.heartbeat_timeout_ms);
	drop_pending(s, "another peer is the primary now");
	pr_info("%s is the primary: receiving the initial image",
		channel_peer(ch));
	hooks_run(s->hooks, HOOK_PEER_EVENT, "secondary", "peer-joined",
		  s->primary_addr, "the primary said HELLO");
	s->state = S_SYNC;
	return 0;
}

static int on_heartbeat(struct secondary *s, const uint8_t *payload,
			uint32_t len)
{
	struct colo_heartbeat hb;

	(void)s;
	return colo_heartbeat_decode(payload, len, &hb);
}

static int on_guest_shutdown(struct secondary *s, const uint8_t *payload,
			     uint32_t len)
{
	(void)payload;
	if (colo_empty_decode(COLO_GUEST_SHUTDOWN, len))
		return -EPROTO;
	pr_info("the primary shuts the pair down");
	secondary_stop(s, 0);
	return 0;
}

#define IN(state)	(1u << (state))
#define ANY_STATE	(~0u)

/*
 * What the primary may send, in which of our states, and who takes it
 * (in the order of the protocol). A record not listed for the state we
 * are in is unexpected: the primary is broken, and dropped.
 */
static const struct secondary_record {
	unsigned states;		/* IN() of every state it may come in */
	uint16_t type;			/* enum colo_record_type */
	int (*handle)(struct secondary *s, const uint8_t *payload,
		      uint32_t len);
} secondary_records[] = {
	{ ANY_STATE, COLO_HEARTBEAT, on_heartbeat },
	{ ANY_STATE, COLO_RAM_BLOCKS, secondary_memory_admit },
	{ ANY_STATE, COLO_PAGES, secondary_checkpoint_pages },
	{ IN(S_SYNC) | IN(S_COLO), COLO_CHECKPOINT_REQUEST,
	  secondary_checkpoint_request },
	{ IN(S_CHECKPOINT), COLO_VMSTATE_SEND, secondary_checkpoint_vmstate_send },
	{ IN(S_SYNC), COLO_LAYOUT, secondary_checkpoint_sync_layout },
	{ IN(S_CHECKPOINT), COLO_LAYOUT, secondary_checkpoint_layout },
	{ IN(S_CHECKPOINT), COLO_MEMHASH, secondary_checkpoint_memhash },
	{ IN(S_CHECKPOINT), COLO_VMSTATE_SIZE, secondary_checkpoint_vmstate_size },
	{ ANY_STATE, COLO_GUEST_SHUTDOWN, on_guest_shutdown },
};

int secondary_unexpected(struct secondary *s, uint16_t type, uint32_t len)
{
	pr_err("unexpected %s (%u bytes) from the primary in state %s",
	       colo_record_name(type), len, secondary_state_name(s->state));
	return -EPROTO;
}

static const struct secondary_record *record_for(enum secondary_state state,
						 uint16_t type)
{
	for (size_t i = 0; i < sizeof(secondary_records) /
			       sizeof(secondary_records[0]); i++) {
		const struct secondary_record *r = &secondary_records[i];

		if (r->type == type && (r->states & IN(state)))
			return r;
	}
	return NULL;
}

/*
 * A record from the primary, to its handler for our state; from a
 * connection still in its handshake, to on_pending_record(). A refusal
 * is logged where it is found (the decoder, the handler, here for a
 * record out of place) and drops the connection.
 */
static int on_record(struct channel *ch, uint16_t type, const uint8_t *payload,
		     uint32_t len, void *opaque)
{
	struct secondary *s = opaque;
	const struct secondary_record *r;

	if (ch == s->mirror) {
		peer_watch_heard(&s->watch, daemon_now_ms());
		return secondary_mirror_record(s, type, payload, len);
	}
	if (ch != s->ch)
		return on_pending_record(s, ch, type, payload, len);
	peer_watch_heard(&s->watch, daemon_now_ms());
	r = record_for(s->state, type);
	return r ? r->handle(s, payload, len) : secondary_unexpected(s, type, len);
}

static const struct channel_ops channel_ops = {
	.record = on_record,
	.closed = on_closed,
};

/* --- connections: only a valid HELLO claims the primary's slot ------------ */

/*
 * Closed channels wait in s->dead to be freed outside their callbacks:
 * at the tick, and before a connection is accepted. Every channel is
 * accepted, so no more can die between two such frees than were open,
 * at most MAX_PENDING and the primary: s->dead never runs out, however
 * fast connections come and go.
 */
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
	pr_err("more than %d connections closed at once; one leaks",
	       MAX_DEAD);
}

static void free_dead(struct secondary *s)
{
	for (int i = 0; i < MAX_DEAD; i++) {
		channel_free(s->dead[i]);
		s->dead[i] = NULL;
	}
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
	struct pending_peer *slot = NULL;
	const struct auth_key *key = NULL;
	char peer[64];

	(void)l;
	(void)socklen;
	free_dead(s);		/* room for this one when it dies */
	peer_name(sa, peer, sizeof(peer));
	for (int i = 0; i < MAX_PENDING && !slot; i++)
		if (!s->pending[i].ch)
			slot = &s->pending[i];
	/* with a primary, one more may come: its mirror link */
	if (!slot || (s->state != S_WAITING &&
		      !(s->ch && !s->mirror && secondary_mirror_expected(s)))) {
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
	/* it proves the key first ([security]); nothing reaches us before */
	if (config_link_key(&s->cfg, &key) ||
	    channel_auth(slot->ch, key, AUTH_RESPONDER,
			 (unsigned)handshake_timeout_ms(s))) {
		channel_free(slot->ch);		/* and fd */
		slot->ch = NULL;
		return;
	}
	slot->deadline_ms = daemon_now_ms() + handshake_timeout_ms(s);
	pr_info("connection from %s: waiting for its %s", peer,
		key ? "proof of the key, then its HELLO" : "HELLO");
}

/* --- the tick: heartbeats, deadlines, retries, cleanup -------------------- */

/* A connection that said nothing valid in time goes; others stay. */
static void expire_pending(struct secondary *s, int64_t now)
{
	for (int i = 0; i < MAX_PENDING; i++) {
		struct channel *ch = s->pending[i].ch;
		char why[96];

		/* one still in its handshake has the channel's own deadline */
		if (!ch || now < s->pending[i].deadline_ms ||
		    channel_auth_pending(ch))
			continue;
		snprintf(why, sizeof(why), "sent no HELLO within %d ms",
			 handshake_timeout_ms(s));
		channel_drop(ch, why);
		s->pending[i].ch = NULL;
	}
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct secondary *s = arg;
	int64_t now = daemon_now_ms();
	char why[128];

	(void)fd;
	(void)what;
	peer_watch_tick(&s->watch, now, "the primary");
	free_dead(s);
	expire_pending(s, now);
	if (s->state == S_TAKING_OVER)
		return;
	if (s->restore_pending && now >= s->next_restore_ms &&
	    s->state != S_STOPPING) {
		s->restore_retry_ms = s->restore_retry_ms ?
			s->restore_retry_ms * 2 : RESTORE_RETRY_MS;
		if (s->restore_retry_ms > RESTORE_RETRY_MAX_MS)
			s->restore_retry_ms = RESTORE_RETRY_MAX_MS;
		s->next_restore_ms = now + s->restore_retry_ms;
		secondary_checkpoint_fall_back(s);
	}
	secondary_takeover_tick(s, now);
	if (!s->ch || !channel_is_open(s->ch))
		return;
	secondary_checkpoint_tick(s, now);
	if (!s->ch)
		return;		/* dropped: our guest would not stop */
	peer_watch_beat(&s->watch, s->ch, now);
	if (peer_watch_lost(&s->watch, now, "the primary", why, sizeof(why)))
		channel_drop(s->ch, why);
}

static void on_guest(evutil_socket_t fd, short what, void *arg)
{
	struct secondary *s = arg;
	char why[512];

	(void)fd;
	(void)what;
	if (guest_poll(&s->g, 0) != -EPIPE)
		return;
	event_del(s->ev_guest);		/* its EOF stays readable */
	if (s->state == S_STOPPING || (WIFEXITED(s->g.exit_status) &&
				       WEXITSTATUS(s->g.exit_status) == 0)) {
		pr_err("our guest exited; stopping");
		secondary_stop(s, 1);
		return;
	}
	/* killed, or failed: nothing here is a copy any more; the daemon
	 * stays up to say so (status, the HA agent's monitor) */
	if (WIFSIGNALED(s->g.exit_status))
		snprintf(s->lost_why, sizeof(s->lost_why), "our guest (pid %d) "
			 "was killed by signal %d (%s): there is no copy here "
			 "to take over; coloctl stop, then start-secondary",
			 (int)s->g.pid, WTERMSIG(s->g.exit_status),
			 strsignal(WTERMSIG(s->g.exit_status)));
	else
		snprintf(s->lost_why, sizeof(s->lost_why), "our guest (pid %d) "
			 "exited with status %d: there is no copy here to take "
			 "over; coloctl stop, then start-secondary",
			 (int)s->g.pid, WEXITSTATUS(s->g.exit_status));
	pr_err("%s", s->lost_why);
	snprintf(why, sizeof(why), "%s", s->lost_why);
	s->state = S_UNRESTORABLE;
	if (s->ch && channel_is_open(s->ch))
		channel_drop(s->ch, why);	/* the primary goes solo */
	/* whatever the drop's fall back made of it */
	s->state = S_UNRESTORABLE;
	s->restore_pending = false;
	snprintf(s->lost_why, sizeof(s->lost_why), "%s", why);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct secondary *s = arg;

	(void)what;
	pr_info("signal %d: stopping", (int)sig);
	secondary_stop(s, 0);
}

/* --- control -------------------------------------------------------------- */

static void status(struct secondary *s, bool json, struct evbuffer *reply)
{
	static const char *const verify_names[] = { "none", "identical", "DIFFERS" };
	/* the checkpoint's phases (enum secondary_phase) */
	static const char *const phase_names[SP_PHASES] = {
		[SP_STOP] = "stop", [SP_WAIT_SEND] = "wait_send",
		[SP_RECV] = "recv", [SP_RECV_CACHE] = "recv_cache",
		[SP_CHECK] = "check", [SP_COMMIT] = "commit",
		[SP_LAYOUT] = "layout", [SP_SYNC] = "sync", [SP_FLUSH] = "flush",
		[SP_VERIFY] = "verify", [SP_REARM] = "rearm",
		[SP_RESUME] = "resume", [SP_LOADED] = "loaded",
	};
	struct status_out so;
	char key[64];

	status_begin(&so, reply, json);
	status_str(&so, "role", "secondary");
	status_str(&so, "state", secondary_state_name(s->state));
	status_num(&so, "pid", getpid(), 0);
	status_num(&so, "guest_pid", s->g.pid, 0);
	status_str(&so, "listen", s->cfg.checkpoint.listen);
	status_str(&so, "peer", s->ch ? channel_peer(s->ch) : "none");
	status_str(&so, "security", config_security_name(&s->cfg));
	if (s->state == S_PEER_LOST || s->state == S_UNRESTORABLE ||
	    (s->state == S_WAITING && s->lost_why[0]))
		status_str(&so, "lost_because", s->lost_why);
	status_str(&so, "guest_restorable",
		   s->state == S_UNRESTORABLE ? "no" :
		   s->restore_pending ? "pending" : "yes");
	secondary_memory_status(s, &so);
	status_num(&so, "checkpoints", (double)s->ckpt_done, 0);
	status_num(&so, "checkpoints_aborted", (double)s->ckpt_aborted, 0);
	status_num(&so, "guest_stopped_p50_ms",
		   pause_stats_quantile(&s->pauses, 0.5), 1);
	status_num(&so, "guest_stopped_p99_ms",
		   pause_stats_quantile(&s->pauses, 0.99), 1);
	status_num(&so, "guest_stopped_last_us", s->last_stopped_us, 0);
	status_num(&so, "guest_stopped_p50_us",
		   pause_stats_quantile(&s->stopped_fine, 0.5) * 1e3, 0);
	status_num(&so, "guest_stopped_p99_us",
		   pause_stats_quantile(&s->stopped_fine, 0.99) * 1e3, 0);
	/* last, and p50 over the last PAUSE_RING COLO checkpoints */
	for (int ph = 0; ph < SP_PHASES; ph++) {
		snprintf(key, sizeof(key), "secondary_%s_us_last",
			 phase_names[ph]);
		status_num(&so, key, s->phase_last_us[ph], 0);
		snprintf(key, sizeof(key), "secondary_%s_us_p50",
			 phase_names[ph]);
		status_num(&so, key, pause_stats_quantile(&s->phase_stats[ph],
							  0.5) * 1e3, 0);
	}
	status_num(&so, "load_last_ms", s->last_load_ms, 1);
	status_num(&so, "pages_received", (double)s->cache.stats.pages_received, 0);
	status_num(&so, "pages_flushed_last", (double)s->cache.stats.pages_flushed, 0);
	status_num(&so, "pages_own_dirty_last",
		   (double)s->cache.stats.pages_own_dirty, 0);
	status_str(&so, "dirty_log", dirty_log_backend(s->dl));
	status_num(&so, "heartbeat_age_ms", s->ch ? (double)
		   peer_watch_silence_ms(&s->watch, daemon_now_ms()) : -1, 0);
	status_str(&so, "last_verify", verify_names[s->last_verify]);
	if (secondary_mirror_expected(s))
		secondary_mirror_status(s, &so);
	secondary_takeover_status(s, &so);
	hooks_status(s->hooks, &so);
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
	if (strcmp(argv[0], "failover") == 0) {
		bool force = argc > 1 && strcmp(argv[1], "--force") == 0;
		struct control *ctl = s->ctl;	/* handed over on success */
		char msg[320];
		int ret;

		if (argc > 2 || (argc == 2 && !force)) {
			evbuffer_add_printf(reply, "usage: failover [--force]\n");
			return -EINVAL;
		}
		ret = secondary_failover(s, force, msg, sizeof(msg));
		if (!ret)	/* answered once the guest runs as the primary's */
			return control_reply_later(ctl, TAKEOVER_ANSWER_TAG);
		evbuffer_add_printf(reply, "cannot take over: %s\n", msg);
		return ret;
	}
	evbuffer_add_printf(reply, "unknown command '%s'; the secondary takes "
			    "status, failover, stop (checkpoint, set and protect "
			    "go to the primary)\n", argv[0]);
	return -EINVAL;
}

/* --- setup and teardown --------------------------------------------------- */

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

	ret = config_security_load(&s->cfg);	/* a key, or insecure = yes */
	if (!ret)
		ret = control_open(&s->ctl, s->base, s->cfg.control.socket,
				   s->cfg.control.group, on_control, s);
	if (!ret)
		ret = peer_listen(s->base, s->cfg.checkpoint.listen, on_accept, s,
				  &s->listener);
	if (!ret)
		ret = daemon_launch_guest(&s->cfg, "B", &s->g,
					  secondary_mirror_frame_fn(), s);
	if (!ret)
		ret = secondary_mirror_setup(s);
	if (!ret)
		ret = hooks_open(&s->hooks, s->base, &s->cfg);
	if (!ret)
		ret = secondary_takeover_setup(s);
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
	guest_writer_init(&s->w_sync, s->g.pid, s->dl->ram.page_size);
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
	secondary_mirror_close(s);
	if (s->ev_guest_out)
		event_free(s->ev_guest_out);
	if (s->listener)
		evconnlistener_free(s->listener);
	if (s->ch)
		channel_free(s->ch);
	for (int i = 0; i < MAX_PENDING; i++)
		channel_free(s->pending[i].ch);
	free_dead(s);
	layout_free(&s->layout);
	guest_writer_destroy(&s->w);
	guest_writer_destroy(&s->w_sync);
	ram_cache_destroy(&s->cache);
	/* after a takeover these are the primary's (NULL here) */
	if (s->dl)
		dirty_log_close(s->dl);
	if (s->g.pid)
		guest_destroy(&s->g, 2000);
	lan_watch_close(s->lan);
	hooks_close(s->hooks);
	if (s->ctl)
		control_close(s->ctl);
}

int secondary_run(const struct colo_config *cfg, int ready_fd,
		  struct colo_takeover *takeover)
{
	struct secondary *s = calloc(1, sizeof(*s));
	int ret, code;

	/* a peer or a control client that resets its connection is an
	 * error to handle where it happens, never a signal that kills us */
	signal(SIGPIPE, SIG_IGN);
	if (!s) {
		daemon_ready(&ready_fd, -ENOMEM, "out of memory");
		return 1;
	}
	s->cfg = *cfg;
	s->g.chan = -1;
	s->takeover = takeover;
	takeover->ready = false;
	peer_watch_init(&s->watch, s->cfg.ha.heartbeat_timeout_ms);
	s->base = event_base_new();
	if (!s->base) {
		free(s);
		daemon_ready(&ready_fd, -ENOMEM, "cannot create an event loop");
		return 1;
	}
	ret = setup(s, &ready_fd);
	if (ret) {
		char why[480];

		/* the reason was logged where it was found: say it again */
		snprintf(why, sizeof(why), "the secondary could not start: %s",
			 log_last_error()[0] ? log_last_error() : strerror(-ret));
		daemon_ready(&ready_fd, ret, why);
		s->exit_code = 1;
	} else {
		event_base_dispatch(s->base);
	}
	code = s->exit_code;
	teardown(s);
	if (!takeover->ready)
		event_base_free(s->base);	/* else the primary's now */
	free(s);
	return code;
}
