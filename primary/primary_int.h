/*
 * primary_int.h - the primary daemon's state, shared by its state machine
 * (primary.c) and its control commands (primary_control.c).
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
#include "dirty_log.h"
#include "page_stream.h"
#include "ram_save.h"

enum primary_state {
	P_CONNECTING, P_HANDSHAKE, P_SYNC, P_COLO, P_CHECKPOINT, P_HELD,
	P_SOLO, P_STOPPING,
};

struct primary {
	struct colo_config cfg;		/* a copy: 'set' changes it */
	struct event_base *base;
	struct event *ev_tick, *ev_guest, *ev_sig_term, *ev_sig_int;
	struct control *ctl;
	enum primary_state state;
	int exit_code;

	struct guest g;			/* A */
	struct dirty_log *dl;
	struct ram_save rs;
	bool pass_start;		/* sync before the next step */
	unsigned sync_passes;

	int connect_fd;			/* a connect() in progress */
	int64_t next_connect_ms;
	int connect_backoff_ms;		/* after a link lost before protection */
	struct channel *ch;
	struct channel *dead_ch;	/* closed, freed at the next tick */
	struct page_stream ps;
	bool ps_ready;
	int64_t last_rx_ms, last_hb_ms;
	int64_t last_tick_ms;		/* our loop's last tick */
	char peer_why[256];		/* why we are solo, or connect again */
	bool refused;			/* the secondary does not match: solo */

	uint64_t ckpt_id;		/* of the last checkpoint begun */
	uint64_t ckpt_done;		/* checkpoints completed */
	int64_t stop_ms;		/* the guest stopped for ckpt_id */
	int64_t ckpt_deadline_ms;	/* ckpt_id must be loaded by then */
	int64_t stop_tries_since_ms;	/* a busy guest: stops tried since */
	int stop_retry_ms;		/* and the next try after this */
	int64_t next_ckpt_ms;
	bool ckpt_requested, verify_next, hold_next;
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
};

const char *primary_state_name(enum primary_state state);

/* Stop once what is queued is out (code: the daemon's exit status). */
void primary_stop(struct primary *p, int code);

/* The control socket's commands: status, checkpoint, set, stop. */
int primary_on_control(void *opaque, int argc, char **argv,
		       struct evbuffer *reply);

#endif /* COLO_PRIMARY_INT_H */
