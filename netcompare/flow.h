/*
 * flow.h - netcompare's flows: the table they live in, and what each one
 * holds (compare.h says what a flow is).
 *
 * A flow holds the primary's frames in the guest's order, the
 * secondary's queued frames (packet flows) or its TCP stream of the
 * current epoch (TCP flows), and what has left on it (TCP: the released
 * sequence number and ACK, kept across checkpoints so retransmissions of
 * released data pass).
 *
 * The table is bounded (max flows). A flow is idle when it holds nothing
 * of either side (only what has left): idle flows sit on an LRU list, and
 * the least recently idle one is freed when a new flow needs room. A
 * table full of busy flows makes flow_get() fail: the caller treats that
 * like a full queue. Flows are malloc'ed one by one; the hash has a fixed
 * number of buckets (FLOW_BUCKETS), chained.
 *
 * Sequence numbers compare modulo 2^32: seq_before(a, b) when a lies in
 * the 2^31 numbers before b.
 */
#ifndef COLO_FLOW_H
#define COLO_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "packet.h"

/* Room for this many flows beyond one per frame of the hard cap, and a
 * ceiling on the table whatever the limits (memory: ~200 bytes a flow). */
#define FLOW_SPARE	64u
#define FLOW_MAX	65536u
#define FLOW_BUCKETS	16384u

static inline bool seq_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline bool seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(b - a) < 0;
}

/* What a flow is, as the guest sent it. Zeroed before it is filled:
 * compared and hashed as bytes. */
struct flow_key {
	uint32_t src, dst;	/* IPv4 addresses; 0 when not IPv4 */
	uint16_t sport, dport;	/* TCP/UDP ports; 0 otherwise */
	uint16_t ethertype;
	uint8_t proto;		/* IPv4 protocol; 0 when not IPv4 */
	uint8_t tcp;		/* 1: compared as a byte stream */
};

/* The secondary's TCP payload in the current epoch: bytes
 * [base, base + len) of sequence space, at buf + off. */
struct flow_run {
	uint8_t *buf;		/* malloc'ed; NULL while empty */
	uint32_t off, len, cap;
	uint32_t base;
	bool valid;		/* a run is begun (len may be 0) */
};

struct nc_frame;		/* compare_int.h */
TAILQ_HEAD(nc_frame_list, nc_frame);

struct flow {
	struct flow_key key;
	struct flow *hnext;		/* the bucket's chain */
	TAILQ_ENTRY(flow) all;		/* every flow, oldest first */
	TAILQ_ENTRY(flow) idle_link;	/* the idle list, while idle */
	bool on_idle;
	struct nc_frame_list pq;	/* primary frames held, guest order */
	struct nc_frame_list sq;	/* secondary frames queued (not TCP) */
	int64_t used_ms;		/* the last frame of either side */

	/* TCP, what has left (kept across checkpoints) */
	bool rel_valid;
	uint32_t rel;			/* the sequence number after it */
	bool rel_ack_valid;
	uint32_t rel_ack;		/* the highest ACK number emitted */
	bool rst_released;		/* the guest's RST left: a dead flow */

	/* TCP, what the secondary sent in the current epoch */
	struct flow_run run;
	bool s_syn, s_fin, s_rst, s_ack;
	uint32_t s_syn_seq;		/* its SYN's sequence number */
	uint32_t s_fin_seq;		/* where its FIN lies (after data) */
	uint32_t s_rst_seq;
	uint32_t s_ack_seq;		/* the highest ACK it sent */
};

TAILQ_HEAD(flow_list, flow);

struct flow_table {
	struct flow **buckets;		/* FLOW_BUCKETS chains */
	struct flow_list all;		/* every flow */
	struct flow_list idle;		/* idle flows, least recent first */
	uint32_t count;			/* flows now */
	uint32_t max;			/* at most */
};

/* The key of a parsed frame (a TCP flow for PACKET_TCP). */
void flow_key_of(const struct packet *pkt, struct flow_key *k);
/* "TCP 10.0.0.1:80 > 10.0.0.2:4000", "ethertype 0x0806", ... in buf. */
const char *flow_describe(const struct flow_key *k, char *buf, size_t size);

/* 0 or -ENOMEM (logged). */
int flow_table_init(struct flow_table *t, uint32_t max);
/* Every flow freed (their frames must be gone: the caller's). */
void flow_table_free(struct flow_table *t);
/* The flow of k, made if need be (an idle flow freed for its room):
 * NULL when the table is full of busy flows, or out of memory. */
struct flow *flow_get(struct flow_table *t, const struct flow_key *k,
		      int64_t now_ms);
/* f out of the table and freed: it holds no frame. */
void flow_free(struct flow_table *t, struct flow *f);
/* Nothing of either side is held on f. */
bool flow_idle(const struct flow *f);
/* After what f holds changed: on the idle list or off it. */
void flow_settle(struct flow_table *t, struct flow *f);
/* The secondary's state of the epoch forgotten (run, flags, ACK); the
 * bytes its run held, for the caller's count. */
uint32_t flow_reset_secondary(struct flow *f);

/* --- the run --- */

static inline uint32_t flow_run_end(const struct flow *f)
{
	return f->run.base + f->run.len;
}

/* The run's byte at sequence number seq, which must lie in it. */
static inline const uint8_t *flow_run_at(const struct flow *f, uint32_t seq)
{
	return f->run.buf + f->run.off + (uint32_t)(seq - f->run.base);
}

/* Bytes [seq, seq + n) added to the run: at its end (seq == end), or
 * before its start (seq + n == base), or as a new run (none begun).
 * 0 or -ENOMEM. */
int flow_run_put(struct flow *f, uint32_t seq, const uint8_t *data,
		 uint32_t n);
/* Bytes below seq forgotten; how many. */
uint32_t flow_run_trim(struct flow *f, uint32_t seq);

#endif /* COLO_FLOW_H */
