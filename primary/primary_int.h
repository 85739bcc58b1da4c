/*
 * primary_int.h - the primary daemon's state, shared by its state machine
 * and link (primary.c), its side of the checkpoint transaction
 * (primary_checkpoint.c) and its control commands (primary_control.c).
 */
#ifndef COLO_PRIMARY_INT_H
#define COLO_PRIMARY_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "channel.h"
#include "colo_daemon.h"
#include "control.h"
#include "announce.h"
#include "dirty_log.h"
#include "output_buffer.h"
#include "page_stream.h"
#include "peer_link.h"
#include "ram_save.h"

enum primary_state {
	P_CONNECTING, P_HANDSHAKE, P_SYNC, P_COLO, P_CHECKPOINT, P_HELD,
	P_SOLO, P_STOPPING,
};

/* Why a checkpoint was taken (status: checkpoints_<name>). */
enum ckpt_reason {
	CKPT_TIMER,		/* checkpoint_delay_ms since the last one */
	CKPT_MISMATCH,		/* netcompare: outputs differ (or malformed) */
	CKPT_TIMEOUT,		/* netcompare: an output unmatched too long */
	CKPT_QUEUE_FULL,	/* held or compared output at its limits */
	CKPT_REQUEST,		/* coloctl checkpoint */
	CKPT_SYNC,		/* the end of the initial sync */
	CKPT_REASONS
};

/*
 * The phases of a checkpoint as the primary times them, in the order
 * they come (status: primary_<name>_us_last and _us_p50;
 * docs/perf-checkpoint.md). Each runs from the end of the one before to
 * its own end, so together they are the pause from the PAUSE sent to
 * the guest to its CONTINUE answered: nothing of it is left out.
 */
enum primary_phase {
	PP_STOP,		/* guest_stop: PAUSE sent until PAUSED */
	PP_REPLY,		/* CHECKPOINT_REQUEST until CHECKPOINT_REPLY
				 * (the secondary stops its guest) */
	PP_SYNC,		/* VMSTATE_SEND, the final dirty_log_sync */
	PP_CLEAR,		/* the final pass's lazy chunk clears */
	PP_READ,		/* its process_vm_readv calls */
	PP_SEND,		/* the rest of the pass: RAM_BLOCKS, zero test,
				 * compression, CRC, copy into the output
				 * buffer (nothing reaches the socket before
				 * the loop runs again) */
	PP_LAYOUT,		/* guest_layout, /proc/PID/maps, LAYOUT */
	PP_MEMHASH,		/* checkpoint --verify's MEMHASH */
	PP_SIZE,		/* VMSTATE_SIZE */
	PP_RECEIVED,		/* until VMSTATE_RECEIVED: the stream out */
	PP_LOADED,		/* until VMSTATE_LOADED: the secondary loads */
	PP_RESUME,		/* the release of output, guest_continue */
	PP_PHASES
};

struct netcompare;

struct primary {
	struct colo_config cfg;		/* a copy: 'set' changes it */
	struct event_base *base;
	struct event *ev_tick, *ev_guest, *ev_sig_term, *ev_sig_int;
	struct control *ctl;
	enum primary_state state;
	int exit_code;

	struct guest g;			/* A */
	/* its network (primary_net.c): NULL without [net] bridge */
	struct uplink *uplink;
	struct output_buffer outbuf;	/* buffer mode's held output */
	bool outbuf_ready;
	struct event *ev_uplink_in, *ev_uplink_out;
	bool uplink_stalled;		/* not read while the guest is paused */
	uint8_t *frame_buf;		/* one frame from the uplink */
	struct announce announce;	/* after a takeover: gratuitous ARP */
	int64_t announce_first_ms;	/* its first round went then */
	/* compare mode (primary_net.c, primary_mirror.c): NULL in buffer
	 * mode; outbuf then only queues what netcompare released */
	struct netcompare *nc;
	uint64_t nc_loaded;		/* the last checkpoint it was told of */
	struct peer_connect mirror_conn;	/* the mirror link, */
	bool mirror_connecting;
	struct channel *mirror;		/* once connected */
	struct channel *dead_mirror;	/* closed, freed at the next tick */
	bool mirror_ready;		/* the secondary echoed MIRROR_HELLO */
	int64_t mirror_deadline_ms;	/* it must be ready by then */
	uint64_t mirror_inputs, mirror_ticks, mirror_outputs;
	uint64_t mirror_dropped;	/* inputs the link had no room for */
	/* the clock feed: the guest clock we give A (and B) */
	uint64_t feed_clock_ms;
	int64_t feed_host_ms;		/* our clock when it last moved */
	struct dirty_log *dl;
	struct ram_save rs;
	bool pass_start;		/* sync before the next step */
	/* the initial sync's pre-copy passes (primary_sync_converged) */
	unsigned sync_passes;		/* done */
	uint64_t sync_mark_ns, sync_mark_pages;	/* the pass's start */
	double sync_rate;		/* pages/s of the last pass */

	struct peer_connect conn;	/* to the secondary, retried */
	int connect_backoff_ms;		/* after a link lost before protection */
	struct channel *ch;
	struct channel *dead_ch;	/* closed, freed at the next tick */
	struct colo_hello hello;	/* ours, sent on connecting */
	struct page_stream ps;
	bool ps_ready;
	struct peer_watch watch;	/* the secondary's heartbeats */
	char peer_why[256];		/* why we are solo, connect again,
					 * or stop */
	bool refused;			/* the secondary does not match: solo */

	uint64_t ckpt_id;		/* of the last checkpoint begun */
	uint64_t ckpt_done;		/* checkpoints completed */
	uint64_t ckpt_sent;		/* the last whose VMSTATE_SIZE went
					 * out: the secondary may hold it */
	int64_t stop_ms;		/* the guest stopped for ckpt_id */
	int64_t ckpt_deadline_ms;	/* ckpt_id must be loaded by then */
	int64_t stop_tries_since_ms;	/* a busy guest: stops tried since */
	int stop_retry_ms;		/* and the next try after this */
	int64_t next_ckpt_ms;
	bool ckpt_requested, verify_next, hold_next;
	enum ckpt_reason ckpt_reason;	/* of the one requested */
	uint64_t ckpt_by_reason[CKPT_REASONS];
	bool verify_this, hold_this;
	uint32_t this_crc;		/* A's memory at ckpt_id, when needed */
	uint64_t this_bytes;
	uint64_t this_clock_ms;		/* A's guest clock at its pause */
	uint64_t this_pages, this_bytes_sent, pages_at_send, bytes_at_send;
	uint64_t last_pages, last_bytes_sent, total_pages, total_bytes_sent;
	int last_verify;		/* COLO_VERIFY_* of the last checkpoint */
	uint64_t last_verify_id;
	struct pause_stats pauses;	/* aborted checkpoints included */
	double last_pause_ms;
	/* the same pause with the stop in it, at ns resolution: from the
	 * PAUSE of the successful guest_stop to the guest resumed */
	uint64_t stop_begin_ns;		/* that guest_stop began */
	struct pause_stats pauses_fine;	/* in ms with ns precision */
	double last_pause_us;
	/* per phase (enum primary_phase); COLO checkpoints only, as pauses */
	uint64_t phase_mark_ns;		/* the phase before ended then */
	uint64_t phase_ns[PP_PHASES];	/* of ckpt_id, so far */
	double phase_last_us[PP_PHASES];	/* of the last one done */
	struct pause_stats phase_stats[PP_PHASES];	/* ms; 8 KiB each */
	uint64_t ckpt_aborted;		/* checkpoints cut short by a lost peer */
	int64_t die_at_ms;		/* FI_PRIMARY_DIE_* */
	bool dying;			/* FI_PRIMARY_DIE_AFTER_SIZE: deaf */
	int64_t stop_deadline_ms;
	int stop_ticks;			/* ticks spent stopping */
	int64_t protected_since_ms;	/* end of the initial sync */
	double initial_pause_ms;	/* its stop-and-copy */
	int64_t sync_start_ms;		/* the initial sync began */
	uint64_t bytes_at_protect;	/* stream bytes and pages then */
	uint64_t pages_at_protect;

	/* HA: the LAN heartbeat path, the hooks, and a takeover's figures
	 * (primary_takeover.c) when this daemon was the secondary */
	struct lan_watch *lan;
	struct hooks *hooks;
	bool took_over;
	char took_over_from[64];
	uint64_t took_over_ckpt;	/* the checkpoint it ran from */
	bool took_over_rolled_back;
	double detect_ms, takeover_ms;	/* primary last heard -> lost ->
					 * guest running */
	double decide_ms;		/* lost -> the decision to take over */
	int64_t running_ms;		/* the guest ran again then */
};

const char *primary_state_name(enum primary_state state);

/* A primary on base (NULL: its own), with cfg; NULL when out of memory. */
struct primary *primary_new(const struct colo_config *cfg,
			    struct event_base *base);
/* Its tick, guest channel and signal events. 0 or -ENOMEM. */
int primary_setup_events(struct primary *p);
/* Run its loop (if run) until it stops; then free it all. The exit
 * status. */
int primary_serve(struct primary *p, bool run);

/* A takeover's figures, in status (nothing if this daemon began as the
 * primary). */
void primary_takeover_status(struct primary *p, struct status_out *so);

/* coloctl protect: a solo primary takes a new secondary, at
 * p->cfg.checkpoint.peer: connect, live pre-copy, COLO. */
void primary_protect(struct primary *p);

/* Stop once what is queued is out (code: the daemon's exit status). */
void primary_stop(struct primary *p, int code);

/* The control socket's commands: status, checkpoint, set, stop. */
int primary_on_control(void *opaque, int argc, char **argv,
		       struct evbuffer *reply);

/* Drop the secondary (why: for the log and status): connect again, or
 * run solo once the guest was protected. */
void primary_lose_secondary(struct primary *p, const char *why);

/* Ask for a checkpoint: at once for netcompare's reasons, at the next
 * tick for a request. The first reason asked for is the one counted. */
void primary_request_checkpoint(struct primary *p, enum ckpt_reason why);

/* --- the guest's network (primary_net.c) ---------------------------------- */

/* The uplink and the output buffer of [net] (nothing without a bridge).
 * 0, or a negative errno with what to fix logged. */
int primary_net_open(struct primary *p);
void primary_net_close(struct primary *p);
/* After a takeover: gratuitous ARP for the guest's address, in rounds
 * (announce.h) sent from the tick. */
void primary_net_announce(struct primary *p);
/* Re-protection: netcompare starts afresh (0, or -ENOMEM logged: the
 * guest is then protected with output held to its checkpoints). */
void primary_net_reprotect(struct primary *p);
/* The guest's frames go here (daemon_launch_guest's on_frame). */
guest_frame_fn primary_net_frame_fn(void);
/* The guest runs again: frames from the uplink go to it again. */
void primary_net_guest_running(struct primary *p);
/* What may leave now goes: up to checkpoint p->ckpt_done while a
 * secondary is attached (call it at VMSTATE_LOADED), all of it once none
 * is (solo, connecting). */
void primary_net_release(struct primary *p);
void primary_net_status(struct primary *p, struct status_out *so);
/* At each tick: netcompare's timeouts, the mirror link, the clock feed. */
void primary_net_tick(struct primary *p, int64_t now);
/* The guest is stopped for checkpoint p->ckpt_id (compare mode: the
 * mirror link says the epoch's inputs are all sent). */
void primary_net_checkpoint_begun(struct primary *p);
/* May checkpoint 1 begin? Compare mode needs the mirror link first. */
bool primary_net_ready(struct primary *p);

/* --- the mirror link and the clock feed (primary_mirror.c) ---------------- */

/* The secondary answered HELLO: connect the mirror link (compare mode). */
void primary_mirror_open(struct primary *p);
/* The secondary is gone: the mirror link too. */
void primary_mirror_close(struct primary *p);
/* Step the connect, free a closed link; drop the secondary whose link
 * is not ready by its deadline. */
void primary_mirror_tick(struct primary *p, int64_t now);
/* The guest clock to stamp an input with: 0 without the clock feed. */
uint64_t primary_mirror_clock(struct primary *p, int64_t now);
/* A's input (given to A at clock_ms), to B; and a tick of the feed. */
void primary_mirror_input(struct primary *p, const uint8_t *frame, size_t len,
			  uint64_t clock_ms);
void primary_mirror_feed(struct primary *p, int64_t now);
/* MIRROR_EPOCH(id): every input of epoch id has been sent. */
void primary_mirror_epoch(struct primary *p, uint64_t id);
void primary_mirror_status(struct primary *p, struct status_out *so);

/* --- the checkpoint transaction (primary_checkpoint.c) -------------------- */

/* Stop the guest and send CHECKPOINT_REQUEST; a guest busy in a handler
 * is tried again at the next ticks. */
void primary_checkpoint_begin(struct primary *p);

/* LAYOUT: the guest's mappings and brk, and (when clock_ms) its clock
 * read with them, the guest paused. 0 or a negative errno (logged). */
int primary_send_layout(struct primary *p, uint64_t *clock_ms);
/* The same at a pass of the initial sync, the guest running. */
int primary_send_sync_layout(struct primary *p);

/*
 * The initial sync's pre-copy: at each pass's start, after its sync,
 * primary_sync_converged() says whether the stop-and-copy begins now
 * (what is dirty would move within max_downtime_ms at the last pass's
 * rate, or SYNC_PASSES_MAX passes are done); primary_sync_pass_done()
 * counts a pass and its rate.
 */
#define SYNC_PASSES_MAX		30
bool primary_sync_converged(struct primary *p);
void primary_sync_pass_done(struct primary *p);

/*
 * The secondary's records of the checkpoint in progress, decoded and
 * checked here: 0, or a negative errno, logged. A handler that fails for
 * another reason than a broken secondary has dropped it itself.
 */
int primary_checkpoint_reply(struct primary *p, const uint8_t *payload,
			     uint32_t len);
int primary_checkpoint_received(struct primary *p, const uint8_t *payload,
				uint32_t len);
int primary_checkpoint_loaded(struct primary *p, const uint8_t *payload,
			      uint32_t len);

/* At each tick of a checkpoint: drop a secondary past its deadline,
 * which moves by late (our own stall, peer_watch_tick()). */
void primary_checkpoint_deadline(struct primary *p, int64_t now, int64_t late);

/* The secondary is gone with a checkpoint in progress, or asked for:
 * the aborted one counts in the figures; whoever waits hears. */
void primary_checkpoint_abort(struct primary *p);

/* We stop: the checkpoint in progress, or asked for, never completes. */
void primary_checkpoint_give_up(struct primary *p);

#endif /* COLO_PRIMARY_INT_H */
