/*
 * secondary_int.h - the secondary daemon's state, shared by its link and
 * record table (secondary.c) and its side of the checkpoint transaction
 * (secondary_checkpoint.c).
 */
#ifndef COLO_SECONDARY_INT_H
#define COLO_SECONDARY_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "channel.h"
#include "colo_daemon.h"
#include "control.h"
#include "dirty_log.h"
#include "guest_writer.h"
#include "layout.h"
#include "peer_link.h"
#include "ram_cache.h"
#include "takeover.h"

#define TICK_MS			20
#define STOP_SLICE_MS		50	/* a stop waits this long, then the loop runs */
#define RESTORE_TRIES		2	/* a failed flush is retried once */
#define STOP_RETRY_MS		100	/* a busy guest's stops, this far apart */
#define RESTORE_RETRY_MS	500	/* a guest that would not stop, again, */
#define RESTORE_RETRY_MAX_MS	10000	/* backing off to this */
#define MAX_PENDING		4	/* connections in their handshake */
#define MAX_DEAD		(MAX_PENDING + 3)	/* + the primary's two */
#define HANDSHAKE_MAX_MS	2000	/* a peer's HELLO, at most this late */

enum secondary_state {
	S_WAITING, S_SYNC, S_COLO, S_CHECKPOINT, S_HELD, S_PEER_LOST,
	S_UNRESTORABLE, S_STOPPING, S_TAKING_OVER,
};

/*
 * The phases of a checkpoint as the secondary times them, in the order
 * they come (status: secondary_<name>_us_last and _us_p50;
 * docs/perf-checkpoint.md). Each runs from the end of the one before to
 * its own end; from SP_WAIT_SEND to SP_RESUME they are the time our
 * guest is stopped (guest_stopped_*), SP_STOP comes before it and
 * SP_LOADED and SP_COMMIT after. SP_RECV_CACHE is the part of SP_RECV spent in the
 * PAGES handlers (the RAM cache's writes), counted in SP_RECV too.
 */
enum secondary_phase {
	SP_STOP,		/* CHECKPOINT_REQUEST until our guest stopped */
	SP_WAIT_SEND,		/* CHECKPOINT_REPLY until VMSTATE_SEND */
	SP_RECV,		/* VMSTATE_SEND until VMSTATE_SIZE: the pause's
				 * pages, their CRCs, their staging */
	SP_RECV_CACHE,		/* of it, in ram_cache_load_pages */
	SP_CHECK,		/* Step 1: our layout read and checked */
	SP_LAYOUT,		/* Step 2: layout_mirror */
	SP_SYNC,		/* Step 2: our own log's sync */
	SP_FLUSH,		/* Step 2: ram_cache_flush_staged (the
				 * commit's plan, the writes) */
	SP_VERIFY,		/* Step 3 */
	SP_REARM,		/* Step 4: sync and forget */
	SP_RESUME,		/* Step 4: TID, guest_continue_at */
	SP_LOADED,		/* Step 5: VMSTATE_LOADED */
	SP_COMMIT,		/* Step 6: ram_cache_commit_staged, the
				 * guest running again */
	SP_PHASES
};

/* A connection that has not said HELLO yet. */
struct pending_peer {
	struct channel *ch;		/* NULL: a free slot */
	int64_t deadline_ms;		/* dropped if no HELLO by then */
};

/* An input of the mirror link waiting for our guest. */
struct mirror_input {
	struct mirror_input *next;
	uint64_t epoch;			/* delivered in this epoch only */
	uint64_t clock_ms;		/* the primary guest's clock at it */
	bool tick;			/* a TICK, else a frame */
	uint32_t len;
	uint8_t frame[];
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
	struct guest_writer w_sync;	/* the initial sync's write-through */
	struct channel *ch;		/* the primary's, once it said HELLO */
	uint64_t session;		/* of its HELLO */
	/* the mirror link (secondary_mirror.c): compare mode */
	struct channel *mirror;
	struct mirror_input *in_head, *in_tail;	/* inputs for our guest */
	uint64_t in_frames, in_bytes;		/* queued */
	uint64_t in_epoch;		/* of the next input: last MIRROR_EPOCH + 1 */
	struct event *ev_guest_out;	/* our guest's channel has room again */
	int64_t inputs_deadline_ms;	/* a stop waits for the epoch's inputs */
	uint64_t mirror_inputs, mirror_delivered, mirror_dropped;
	uint64_t mirror_outputs, mirror_stops_early;
	/* losing the primary, and taking over (secondary_takeover.c) */
	struct colo_takeover *takeover;	/* filled in for the caller */
	struct lan_watch *lan;		/* [ha] lan_listen: the second path */
	struct hooks *hooks;
	char primary_addr[64];		/* the primary that was connected */
	int64_t last_heard_ms;		/* it was last heard then */
	int64_t lost_ms;		/* and found lost then */
	int64_t guest_stopped_ms;	/* ours stopped for the takeover then */
	bool primary_alive;		/* heard on the LAN after the loss */
	bool lan_silent;		/* the LAN path was dead at the loss */
	bool lan_held;			/* so auto_failover holds back */
	bool continues;			/* a takeover runs from our guest's own
					 * state (compare mode), not the image */
	struct pending_peer pending[MAX_PENDING];
	struct channel *dead[MAX_DEAD];	/* closed, freed at the next tick */
	struct peer_watch watch;	/* the primary's heartbeats */
	char lost_why[512];
	char refused_why[512];		/* a handler refused the primary:
					 * why, for lost_because */
	uint64_t admitted_ram;		/* the most guest RAM (bytes) a
					 * RAM_BLOCKS brought that we found
					 * room for: less or as much again is
					 * not checked again */

	uint64_t ckpt_id;		/* in progress */
	uint64_t ckpt_done;		/* last committed: the cache's image_id */
	uint64_t ckpt_aborted;		/* cut short by a lost primary */
	bool stopping_guest;		/* CHECKPOINT_REQUEST, guest not yet */
	int64_t stop_begin_ms, stop_deadline_ms;
	int64_t next_stop_ms;		/* the next try to stop it */
	bool restore_pending;		/* lost: our guest would not stop yet */
	int64_t next_restore_ms;
	int restore_retry_ms;		/* backing off */
	bool in_vmstate, have_layout, have_memhash;
	uint64_t vm_pages, vm_bytes;
	struct layout layout;		/* A's, for ckpt_id (until the commit) */
	uint64_t layout_brk;
	uint32_t expect_crc;
	uint64_t expect_bytes;
	int last_verify;
	int64_t stop_ms;		/* our guest stopped for ckpt_id */
	struct pause_stats pauses;	/* our guest stopped, per checkpoint */
	double last_load_ms;
	/* the same at ns resolution, and per phase (enum secondary_phase);
	 * COLO checkpoints only */
	uint64_t stop_ns;		/* our guest stopped for ckpt_id */
	struct pause_stats stopped_fine;	/* ms with ns precision */
	double last_stopped_us;
	uint64_t phase_mark_ns;		/* the phase before ended then */
	uint64_t phase_ns[SP_PHASES];	/* of ckpt_id, so far */
	double phase_last_us[SP_PHASES];	/* of the last one loaded */
	struct pause_stats phase_stats[SP_PHASES];	/* ms; 8 KiB each */
};

const char *secondary_state_name(enum secondary_state state);

/* A record the primary must not send now: logged, -EPROTO. */
int secondary_unexpected(struct secondary *s, uint16_t type, uint32_t len);

/* The memory figures of status (secondary_memory.c): guest RAM, the
 * guest's and our resident sets, the RAM cache and stage, LazyFree. */
struct status_out;
void secondary_memory_status(struct secondary *s, struct status_out *so);
/* RAM_BLOCKS: refused (-EFBIG over [guest] max_ram_mib, -ENOMEM when
 * this host lacks the memory for the guest's RAM twice over; the
 * figures logged and kept for status), else taken. */
int secondary_memory_admit(struct secondary *s, const uint8_t *payload,
			   uint32_t len);

/* --- the mirror link (secondary_mirror.c) --------------------------------- */

/* Does the primary open a mirror link to us (compare mode, a network)? */
bool secondary_mirror_expected(const struct secondary *s);
/* MIRROR_HELLO on a connection still in its handshake: the primary's
 * mirror link, if the session is ours. 0, or -EPROTO (logged). */
int secondary_mirror_attach(struct secondary *s, struct channel *ch,
			    const uint8_t *payload, uint32_t len);
/* A record on the mirror link. */
int secondary_mirror_record(struct secondary *s, uint16_t type,
			    const uint8_t *payload, uint32_t len);
/* The link and what waits on it go (the primary is lost). */
void secondary_mirror_close(struct secondary *s);
/* Inputs of the epoch our guest is in, to it while it runs. */
void secondary_mirror_deliver(struct secondary *s);
/* Has our guest had every input of epoch id? (true without a link) */
bool secondary_mirror_inputs_done(struct secondary *s, uint64_t id);
/* Our guest's frames (daemon_launch_guest's on_frame). */
guest_frame_fn secondary_mirror_frame_fn(void);
int secondary_mirror_setup(struct secondary *s);
void secondary_mirror_status(struct secondary *s, struct status_out *so);

/* --- the checkpoint transaction (secondary_checkpoint.c) ------------------ */

/*
 * The primary's records of the transaction, in the order they come:
 * decoded and checked here against the checkpoint in progress. 0, or a
 * negative errno (logged) that drops the primary.
 */
int secondary_checkpoint_ram_blocks(struct secondary *s, const uint8_t *payload,
				    uint32_t len);
int secondary_checkpoint_pages(struct secondary *s, const uint8_t *payload,
			       uint32_t len);
int secondary_checkpoint_request(struct secondary *s, const uint8_t *payload,
				 uint32_t len);
int secondary_checkpoint_vmstate_send(struct secondary *s,
				      const uint8_t *payload, uint32_t len);
/* LAYOUT in the initial sync: our guest takes it, and the pages as they
 * come (ram_cache_write_through). */
int secondary_checkpoint_sync_layout(struct secondary *s,
				     const uint8_t *payload, uint32_t len);
int secondary_checkpoint_layout(struct secondary *s, const uint8_t *payload,
				uint32_t len);
int secondary_checkpoint_memhash(struct secondary *s, const uint8_t *payload,
				 uint32_t len);
int secondary_checkpoint_vmstate_size(struct secondary *s,
				      const uint8_t *payload, uint32_t len);

/* At each tick with the primary connected: go on stopping our guest for
 * the checkpoint requested; drops the primary when it will not stop. */
void secondary_checkpoint_tick(struct secondary *s, int64_t now);

/* The primary is gone: a checkpoint in progress is dropped, and our guest
 * falls back to the last complete one. */
void secondary_checkpoint_lost(struct secondary *s);

/* Our guest stopped where a takeover runs it from (the primary is lost):
 * compare mode, its own current state (what arrived of a checkpoint is
 * dropped); else the last complete checkpoint. Tried again at the ticks
 * while it will not stop. */
void secondary_checkpoint_fall_back(struct secondary *s);

/* --- losing the primary, taking over (secondary_takeover.c) --------------- */

/* Does a takeover run from our guest's own state? Compare mode with a
 * network: it ran on every input the primary's did, and every frame a
 * client got matched its own. */
bool secondary_continues_own_state(const struct secondary *s);

/* The primary is lost: the figures, and what the LAN path said till now. */
void secondary_takeover_lost(struct secondary *s);

/* coloctl failover [--force]: 0 when the takeover begins (the loop ends
 * and the caller runs the primary from s->takeover, which answers the
 * held request), else a negative errno with the reason in msg. */
int secondary_failover(struct secondary *s, bool force, char *msg, size_t len);

/* At each tick: auto_failover's decision, once the primary was lost. */
void secondary_takeover_tick(struct secondary *s, int64_t now);

/* At start: auto_failover's needs, and the LAN path. */
int secondary_takeover_setup(struct secondary *s);
void secondary_takeover_status(struct secondary *s, struct status_out *so);

#endif /* COLO_SECONDARY_INT_H */
