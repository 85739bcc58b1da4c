/*
 * compare_int.h - what compare.c (frames, epochs, packet flows, the API)
 * and compare_tcp.c (TCP flows as byte streams) share. Not for users of
 * netcompare: they have compare.h.
 */
#ifndef COLO_COMPARE_INT_H
#define COLO_COMPARE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "compare.h"
#include "flow.h"
#include "packet.h"

/* The hard cap is this many times the limits (as output_buffer.h's). */
#define COMPARE_HARD_FACTOR	2u
/* Limits beyond which sequence space would not hold a run (2^31). */
#define COMPARE_MAX_BYTES	(1ull << 30)
#define COMPARE_MAX_FRAMES	(1u << 24)
/* An idle TCP flow's released sequence number is kept this long (at
 * checkpoints older ones go): past lwIP's last retransmission (12 with
 * backoff, about 4 minutes at most), nothing of it comes again. */
#define COMPARE_FLOW_IDLE_MS	(5 * 60 * 1000)

/* A held primary frame, or a queued secondary one. */
struct nc_frame {
	TAILQ_ENTRY(nc_frame) all;	/* nc->held or nc->waiting */
	TAILQ_ENTRY(nc_frame) link;	/* its flow's pq or sq */
	struct flow *flow;		/* NULL: not compared */
	uint64_t epoch;
	int64_t since_ms;		/* when it came */
	struct packet pkt;		/* parsed (a primary frame with a flow,
					 * or a queued secondary one) */
	int poison;			/* -1, or a reason its epoch must ask a
					 * checkpoint for (it cannot be
					 * compared) */
	bool passthrough;
	size_t len;
	uint8_t data[];
};

struct netcompare {
	struct compare_params p;	/* limits and callbacks */
	uint64_t cap_frames, cap_bytes;	/* the hard cap */
	struct flow_table flows;
	struct nc_frame_list held;	/* primary frames, arrival order */
	struct nc_frame_list waiting;	/* secondary frames of later epochs */
	uint64_t epoch;			/* now: the last checkpoint + 1 */
	uint64_t primary_epoch;		/* the highest a primary frame had */
	int64_t epoch_start_ms;		/* when this epoch began */
	bool active;			/* compare_set_active */
	bool comparing;			/* this epoch began active: compared */
	bool asked;			/* checkpoint() called this epoch */
	bool logged;			/* a mismatch told this epoch */
	bool logged_malformed;		/* a frame that does not parse, too */
	bool dropping;			/* at the hard cap (told once) */
	bool busy;			/* in a call: re-entry refused */
	uint32_t n_poisoned;		/* held frames with a poison */
	int last_reason;		/* the last mismatch's, or -1 */
	const char *last_malformed;	/* the parser's last reason */
	struct compare_stats st;
};

/* Comparing may release frames now. */
static inline bool nc_can_compare(const struct netcompare *nc)
{
	return nc->comparing && !nc->asked;
}

/* checkpoint() for why, once per epoch. */
void nc_ask(struct netcompare *nc, enum compare_reason why);
/* A mismatch on f: counted, told once per epoch (what differs in
 * detail, may be NULL), checkpoint asked. */
void nc_mismatch(struct netcompare *nc, enum compare_reason why,
		 const struct flow *f, const char *detail);
/* The head of f's primary frames leaves, matched. */
void nc_release_matched(struct netcompare *nc, struct flow *f);
/* bytes more or fewer held (frames unchanged); false when over the cap */
bool nc_bytes_fit(const struct netcompare *nc, uint64_t bytes);
void nc_bytes_add(struct netcompare *nc, uint64_t bytes);
void nc_bytes_sub(struct netcompare *nc, uint64_t bytes);
/* A secondary frame dropped past the hard cap (counted, told once). */
void nc_drop(struct netcompare *nc, size_t len);

/* compare_tcp.c */
/* A secondary TCP segment of the current epoch on f. */
void tcp_secondary(struct netcompare *nc, struct flow *f,
		   const struct packet *pkt);
/* Release what f's primary frames may (fr: just added, checked against
 * what the secondary sent; NULL: every frame checked). */
void tcp_progress(struct netcompare *nc, struct flow *f, struct nc_frame *fr);
/* fr, of f, leaves (matched or at a checkpoint): f's released state. */
void tcp_released(struct netcompare *nc, struct flow *f,
		  const struct nc_frame *fr);

#endif /* COLO_COMPARE_INT_H */
