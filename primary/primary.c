/*
 * primary.c - the primary daemon's state machine and its link to the
 * secondary (the checkpoint transaction itself: primary_checkpoint.c).
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
 * as the stream drains, while the guest runs; a checkpoint begins on the
 * cadence, on request, or when the initial sync's passes are done.
 * Records from the secondary go to their handlers through one table of
 * the states each may come in.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#define LOG_PREFIX "primary: "
#include "log.h"
#include "channel.h"
#include "hooks.h"
#include "lan_watch.h"
#include "colo_daemon.h"
#include "control.h"
#include "dirty_log.h"
#include "page_stream.h"
#include "peer_link.h"
#include "primary.h"
#include "primary_int.h"
#include "ram_save.h"

#define TICK_MS			5	/* the daemon's clock */
#define CONNECT_RETRY_MS	500
#define STEP_PAGES		256	/* pages per background step */
#define STEPS_PER_WAKE		16	/* steps before we let others run */
#define CONNECT_BACKOFF_MAX_MS	8000	/* retries after a lost link, at most */

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
	if (p->state != P_STOPPING) {
		p->stop_deadline_ms = daemon_now_ms() + STOP_DRAIN_MS;
		snprintf(p->peer_why, sizeof(p->peer_why), "the primary stops");
		primary_checkpoint_give_up(p);
	}
	p->state = P_STOPPING;
	p->exit_code = code;
}

/* --- the secondary goes away ---------------------------------------------- */

/*
 * Before the first checkpoint went out whole nothing was protected yet:
 * start over with a new connection, all of the guest to send again (the
 * next secondary's cache is empty).
 */
/* A new secondary's cache is empty: all of the guest goes again, from
 * checkpoint 1, once connected after delay_ms. */
static void start_over(struct primary *p, int delay_ms)
{
	if (p->ps_ready)
		page_stream_destroy(&p->ps);
	p->ps_ready = false;
	dirty_log_mark_all(p->dl);
	p->rs.cursor = 0;
	p->sync_passes = 0;
	p->pass_start = true;
	p->ckpt_id = 0;
	p->ckpt_requested = p->verify_next = p->hold_next = false;
	primary_mirror_close(p);
	p->conn.next_ms = daemon_now_ms() + delay_ms;
	p->state = P_CONNECTING;
}

static void connect_again(struct primary *p, const char *why)
{
	p->connect_backoff_ms = p->connect_backoff_ms ?
		p->connect_backoff_ms * 2 : CONNECT_RETRY_MS;
	if (p->connect_backoff_ms > CONNECT_BACKOFF_MAX_MS)
		p->connect_backoff_ms = CONNECT_BACKOFF_MAX_MS;
	start_over(p, p->connect_backoff_ms);
	pr_warn("lost the secondary before the guest was protected (%s); "
		"connecting again in %d ms", why, p->connect_backoff_ms);
	primary_net_release(p);
}

/*
 * Re-protection: the guest goes on serving while a new secondary gets
 * it by live pre-copy (the initial sync), then COLO as at the start.
 * Checkpoint ids begin at 1 again: they are the pair's, and this is a
 * new pair; netcompare starts afresh with it.
 */
void primary_protect(struct primary *p)
{
	peer_connect_close(&p->conn);
	peer_connect_init(&p->conn, p->cfg.checkpoint.peer, CONNECT_RETRY_MS);
	p->refused = false;
	p->ckpt_done = p->ckpt_sent = 0;
	p->connect_backoff_ms = 0;
	p->protected_since_ms = 0;
	p->peer_why[0] = '\0';
	primary_net_reprotect(p);
	start_over(p, 0);
	pr_info("protecting the guest again: connecting to the secondary at "
		"%s; it gets the guest by live pre-copy while the guest serves",
		p->cfg.checkpoint.peer);
}

/* The link is gone (closed by either side): connect again or run solo.
 * A checkpoint cut short is aborted, the guest resumed first. */
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
		primary_net_guest_running(p);
	}
	primary_checkpoint_abort(p);
	primary_mirror_close(p);
	hooks_run(p->hooks, HOOK_PEER_EVENT, "primary",
		  p->refused ? "peer-refused" : "peer-lost",
		  p->cfg.checkpoint.peer, why);
	if (!p->ckpt_sent && !p->refused) {
		connect_again(p, why);
		return;
	}
	/* Once a checkpoint went out whole the secondary may have committed
	 * it, and then waits for a failover, not for us: solo, as after any
	 * later checkpoint. */
	if (!p->ckpt_done && !p->refused)
		pr_warn("the guest runs unprotected from now on: %s; the "
			"secondary may hold checkpoint %" PRIu64 ", sent whole "
			"but not confirmed", why, p->ckpt_sent);
	else
		pr_warn("the guest runs unprotected from now on: %s", why);
	p->state = P_SOLO;
	hooks_run(p->hooks, HOOK_ROLE_CHANGE, "primary", "solo",
		  p->cfg.checkpoint.peer, why);
	primary_net_release(p);
}

void primary_request_checkpoint(struct primary *p, enum ckpt_reason why)
{
	if (!p->ckpt_requested)
		p->ckpt_reason = why;
	p->ckpt_requested = true;
	if (why != CKPT_REQUEST)
		p->next_ckpt_ms = 0;	/* output waits: now, not at the tick */
}

/* From anywhere: drop the link if it is still up. */
void primary_lose_secondary(struct primary *p, const char *why)
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

/* --- records from the secondary ------------------------------------------- */

/* The secondary's HELLO: it is the peer we pair with, or an operator
 * must fix this (no point connecting again). */
static int on_hello(struct primary *p, const uint8_t *payload, uint32_t len)
{
	int ret = peer_hello_check(&p->hello, payload, len, NULL);

	if (ret) {
		p->refused = true;
		primary_lose_secondary(p, "the secondary does not match (see "
				       "the log)");
		return ret;
	}
	pr_info("the secondary answered: initial sync begins");
	hooks_run(p->hooks, HOOK_PEER_EVENT, "primary", "peer-joined",
		  p->cfg.checkpoint.peer, "the secondary answered HELLO");
	p->state = P_SYNC;
	primary_mirror_open(p);
	p->sync_start_ms = daemon_now_ms();
	p->pass_start = true;
	return 0;
}

static int on_heartbeat(struct primary *p, const uint8_t *payload, uint32_t len)
{
	struct colo_heartbeat hb;

	(void)p;
	return colo_heartbeat_decode(payload, len, &hb);
}

static int on_ready(struct primary *p, const uint8_t *payload, uint32_t len)
{
	(void)p;
	(void)payload;
	if (colo_empty_decode(COLO_CHECKPOINT_READY, len))
		return -EPROTO;
	pr_info("the secondary is in COLO state");
	return 0;
}

#define IN(state)	(1u << (state))
#define ANY_STATE	(~0u)

/*
 * What the secondary may send, in which of our states, and who takes it
 * (in the order of the protocol). A record not listed for the state we
 * are in is unexpected: the secondary is broken.
 */
static const struct primary_record {
	unsigned states;		/* IN() of every state it may come in */
	uint16_t type;			/* enum colo_record_type */
	int (*handle)(struct primary *p, const uint8_t *payload, uint32_t len);
} primary_records[] = {
	{ IN(P_HANDSHAKE),	COLO_HELLO,		on_hello },
	{ ANY_STATE,		COLO_HEARTBEAT,		on_heartbeat },
	{ IN(P_CHECKPOINT),	COLO_CHECKPOINT_REPLY,	primary_checkpoint_reply },
	{ IN(P_CHECKPOINT),	COLO_VMSTATE_RECEIVED,	primary_checkpoint_received },
	{ IN(P_CHECKPOINT),	COLO_VMSTATE_LOADED,	primary_checkpoint_loaded },
	{ ANY_STATE,		COLO_CHECKPOINT_READY,	on_ready },
};

/* A record the secondary must not send now: logged, -EPROTO. */
static int unexpected(struct primary *p, uint16_t type, uint32_t len)
{
	pr_err("unexpected %s (%u bytes) from the secondary in state %s",
	       colo_record_name(type), len, primary_state_name(p->state));
	return -EPROTO;
}

static const struct primary_record *record_for(enum primary_state state,
					       uint16_t type)
{
	for (size_t i = 0; i < sizeof(primary_records) /
			       sizeof(primary_records[0]); i++) {
		const struct primary_record *r = &primary_records[i];

		if (r->type == type && (r->states & IN(state)))
			return r;
	}
	return NULL;
}

/*
 * A record from the secondary, to its handler for our state. A refusal
 * is logged where it is found (the decoder, the handler, here for a
 * record out of place); one that left the link up is a protocol error.
 */
static int on_record(struct channel *ch, uint16_t type, const uint8_t *payload,
		     uint32_t len, void *opaque)
{
	struct primary *p = opaque;
	const struct primary_record *r;
	int ret;

	if (p->dying)
		return 0;
	peer_watch_heard(&p->watch, daemon_now_ms());
	r = record_for(p->state, type);
	ret = r ? r->handle(p, payload, len) : unexpected(p, type, len);
	if (ret && channel_is_open(ch)) {
		p->refused = true;	/* a broken secondary: no point connecting again */
		primary_lose_secondary(p, "protocol error (see the log)");
	}
	return ret;
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

/* Connected: the channel (authenticated first, unless [security]
 * insecure: our HELLO waits for that), the stream, and our HELLO. */
static void connected(struct primary *p, int fd)
{
	const struct auth_key *key = NULL;

	p->ch = channel_new(p->base, fd, &channel_ops, p, p->cfg.checkpoint.peer);
	if (!p->ch)
		close(fd);
	p->state = P_HANDSHAKE;
	if (!p->ch || config_link_key(&p->cfg, &key) ||
	    channel_auth(p->ch, key, AUTH_INITIATOR,
			 config_handshake_ms(&p->cfg)) ||
	    channel_set_timeouts(p->ch, p->cfg.ha.heartbeat_timeout_ms) ||
	    page_stream_init(&p->ps, p->ch, p->dl->ram.page_size,
			     (int)p->cfg.checkpoint.compress_level)) {
		primary_lose_secondary(p, "cannot set up the stream");
		return;
	}
	p->ps_ready = true;
	if (peer_hello_ours(&p->hello, COLO_ROLE_PRIMARY, p->dl->ram.page_size,
			    &p->g, p->cfg.checkpoint.compress_level) ||
	    getrandom(&p->hello.session, sizeof(p->hello.session), 0) !=
	    sizeof(p->hello.session)) {
		primary_lose_secondary(p, "cannot hash our guest or draw a "
				       "session id");
		return;
	}
	peer_hello_send(p->ch, &p->hello);
	peer_watch_start(&p->watch, daemon_now_ms());
	pr_info("connected to the secondary at %s", p->cfg.checkpoint.peer);
}

/* Every CONNECT_RETRY_MS a new attempt, until the secondary listens;
 * while it does not, status says why (connecting_because). */
static void poll_connect(struct primary *p, int64_t now)
{
	int fd = peer_connect_step(&p->conn, now, p->peer_why,
				   sizeof(p->peer_why));

	if (fd >= 0)
		connected(p, fd);
}

/* --- the tick: background sending, cadence, heartbeats -------------------- */

/*
 * [guest] max_ram_mib: the guest's RAM, as its dirty log tracks it, over
 * the limit ends the protection (the pair degrades to a solo primary
 * before the hosts run short). false when within it.
 */
static bool guest_over_limit(struct primary *p, char *why, size_t len)
{
	uint64_t max = p->cfg.guest.max_ram_mib << 20, total = 0;

	for (size_t i = 0; max && i < p->dl->ram.nr_blocks; i++)
		total += p->dl->ram.blocks[i]->len;
	if (!max || total <= max)
		return false;
	snprintf(why, len, "the guest's RAM grew to %llu MiB, past [guest] "
		 "max_ram_mib %llu: it runs unprotected; raise max_ram_mib on "
		 "both nodes, then coloctl protect",
		 (unsigned long long)(total >> 20),
		 (unsigned long long)(max >> 20));
	return true;
}

static void send_some(struct primary *p)
{
	char why[256];

	for (int i = 0; i < STEPS_PER_WAKE; i++) {
		bool done = false;

		if (channel_pending(p->ch) >= CHANNEL_LOW_WATERMARK)
			return;
		if (p->pass_start) {
			if (dirty_log_sync(p->dl) ||
			    page_stream_blocks(&p->ps, &p->dl->ram, false) ||
			    (p->state == P_SYNC && primary_send_sync_layout(p))) {
				primary_lose_secondary(p, "the dirty log or the "
						       "guest's layout failed "
						       "(see the log)");
				return;
			}
			p->pass_start = false;
			if (guest_over_limit(p, why, sizeof(why))) {
				pr_err("%s", why);
				primary_lose_secondary(p, why);
				return;
			}
			if (p->state == P_SYNC && primary_sync_converged(p)) {
				primary_checkpoint_begin(p);
				return;
			}
		}
		if (ram_save_step(&p->rs, &p->ps.sink, STEP_PAGES, &done)) {
			primary_lose_secondary(p, "sending pages failed (see "
					       "the log)");
			return;
		}
		if (done) {
			p->pass_start = true;
			if (p->state == P_SYNC)
				primary_sync_pass_done(p);
			if (p->state == P_COLO)
				return;	/* all sent: wait for new dirt */
		}
	}
}

/* Heartbeats out, and the secondary's in: in a checkpoint its deadline
 * bounds it instead. */
static void watch_secondary(struct primary *p, int64_t now, int64_t late)
{
	char why[128];

	peer_watch_beat(&p->watch, p->ch, now);
	if (p->state == P_CHECKPOINT)
		primary_checkpoint_deadline(p, now, late);
	else if (peer_watch_lost(&p->watch, now, "the secondary", why,
				 sizeof(why)))
		primary_lose_secondary(p, why);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct primary *p = arg;
	int64_t now = daemon_now_ms(), late;

	(void)fd;
	(void)what;
	if (p->die_at_ms && now >= p->die_at_ms)
		raise(SIGKILL);
	late = peer_watch_tick(&p->watch, now, "the secondary");
	if (p->state != P_CHECKPOINT)
		late = 0;	/* only a checkpoint begun has a deadline to move */
	if (p->dead_ch) {
		channel_free(p->dead_ch);
		p->dead_ch = NULL;
	}
	primary_net_guest_running(p);	/* if a resume did not say so */
	primary_net_tick(p, now);
	lan_watch_set(p->lan, COLO_ROLE_PRIMARY, p->state == P_COLO ||
		      p->state == P_CHECKPOINT || p->state == P_HELD);
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
		poll_connect(p, now);
		return;
	case P_SYNC:
		send_some(p);
		break;
	case P_COLO:
		if (p->ckpt_requested || now >= p->next_ckpt_ms)
			primary_checkpoint_begin(p);
		else
			send_some(p);
		break;
	default:
		break;
	}
	if (p->ch && channel_is_open(p->ch) && p->state != P_SOLO &&
	    p->state != P_STOPPING && p->state != P_CONNECTING)
		watch_secondary(p, now, late);
}

static void on_guest(evutil_socket_t fd, short what, void *arg)
{
	struct primary *p = arg;

	(void)fd;
	(void)what;
	if (guest_poll(&p->g, 0) != -EPIPE) {
		/* held output at its limit: the checkpoint now, not at the
		 * tick, before the guest sends much more */
		if (p->state == P_COLO && p->ckpt_requested &&
		    daemon_now_ms() >= p->next_ckpt_ms)
			primary_checkpoint_begin(p);
		return;
	}
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

/* --- setup and teardown --------------------------------------------------- */

/* The tick, the guest's channel and the signals. */
int primary_setup_events(struct primary *p)
{
	struct timeval tick = { 0, TICK_MS * 1000 };

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
	return 0;
}

static int setup(struct primary *p, int *ready_fd)
{
	struct dirty_log_params dp = {
		.kind = p->cfg.ram.dirty_log,
		.clear_mode = p->cfg.ram.clear_mode,
		.clear_bmap_shift = p->cfg.ram.clear_bitmap_shift,
		.guest_uffd = COLO_GUEST_UFFD_FD,
		.whole_file_blocks = true,	/* the secondary's cache starts empty */
	};
	int ret;

	ret = config_security_load(&p->cfg);	/* a key, or insecure = yes */
	if (ret)
		return ret;
	ret = control_open(&p->ctl, p->base, p->cfg.control.socket,
			   p->cfg.control.group, primary_on_control, p);
	if (ret)
		return ret;
	ret = primary_net_open(p);	/* refused before a guest starts */
	if (ret)
		return ret;
	ret = daemon_launch_guest(&p->cfg, "A", &p->g, primary_net_frame_fn(),
				  p);
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
	if (!ret)
		ret = primary_setup_events(p);
	if (!ret)
		ret = hooks_open(&p->hooks, p->base, &p->cfg);
	if (!ret)
		ret = lan_watch_from_config(&p->lan, p->base, &p->cfg,
					    COLO_ROLE_PRIMARY);
	if (ret)
		return ret;
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
	peer_connect_close(&p->conn);
	if (p->rs.buf)
		ram_save_destroy(&p->rs);
	dirty_log_close(p->dl);
	guest_destroy(&p->g, 2000);
	primary_net_close(p);
	lan_watch_close(p->lan);
	hooks_close(p->hooks);
	control_close(p->ctl);
}

struct primary *primary_new(const struct colo_config *cfg,
			    struct event_base *base)
{
	struct primary *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->cfg = *cfg;
	peer_connect_init(&p->conn, p->cfg.checkpoint.peer, CONNECT_RETRY_MS);
	peer_watch_init(&p->watch, p->cfg.ha.heartbeat_timeout_ms);
	p->g.chan = -1;
	p->base = base ? base : event_base_new();
	if (!p->base) {
		free(p);
		return NULL;
	}
	return p;
}

int primary_serve(struct primary *p, bool run)
{
	int code;

	if (run)
		event_base_dispatch(p->base);
	code = p->exit_code;
	teardown(p);
	event_base_free(p->base);
	free(p);
	return code;
}

int primary_run(const struct colo_config *cfg, int ready_fd)
{
	struct primary *p;
	int ret;

	/* a peer or a control client that resets its connection is an
	 * error to handle where it happens, never a signal that kills us */
	signal(SIGPIPE, SIG_IGN);
	p = primary_new(cfg, NULL);
	if (!p) {
		daemon_ready(&ready_fd, -ENOMEM, "out of memory");
		return 1;
	}
	ret = setup(p, &ready_fd);
	if (ret) {
		char why[480];

		/* the reason was logged where it was found: say it again */
		snprintf(why, sizeof(why), "the primary could not start: %s",
			 log_last_error()[0] ? log_last_error() : strerror(-ret));
		daemon_ready(&ready_fd, ret, why);
		p->exit_code = 1;
	}
	return primary_serve(p, !ret);
}
