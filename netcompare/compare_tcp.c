/*
 * compare_tcp.c - TCP flows compared as byte streams (compare.h).
 *
 * The secondary's side of a flow is not kept as segments but as what
 * they add up to in the current epoch: one run of payload bytes
 * [base, end) in sequence space, where its SYN, FIN and RST lay, and the
 * highest ACK it sent. A primary segment, taken in the guest's order, is
 * then released once the run holds its bytes (the same ones), its flags
 * have their counterparts, and its ACK is covered:
 *
 *   primary:    [seq|SYN| payload .................. |FIN]   ack A
 *   secondary:  ....[base ...... run ...... end) FIN@F        ack >= A
 *   needs:       SYN@seq, bytes [max(seq + syn, rel), seq + syn + len)
 *                in the run, F == seq + syn + len
 *
 * rel, the flow's released sequence number, is what has left already:
 * bytes below it need no counterpart (a retransmission of them passes),
 * and the run forgets them. It is kept across checkpoints; the run and
 * the secondary's flags are not (the guests are one again).
 *
 * Bytes are compared as soon as both sides have them, so a difference is
 * found when it arrives, not when a timeout runs out. Every sequence
 * range is at most 2^31 long (a run is bounded by the hard cap, below
 * 2^31 bytes; a segment by 64 KiB): intersections are computed on
 * unsigned offsets, never by comparing ends, so no pair of ranges far
 * apart in sequence space can yield a wrong one.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define LOG_PREFIX "netcompare: "
#include "log.h"
#include "compare_int.h"

/* Where a primary segment lies in sequence space. */
struct tcp_seg {
	uint32_t seq;		/* its first number (the SYN's, if any) */
	uint32_t ds, de;	/* its payload [ds, de) */
	uint32_t from;		/* the payload not yet released: [from, de) */
	bool fresh_syn;		/* a SYN that starts the stream again */
};

/* [a, a + na) and [b, b + nb) overlap: *lo and *n, the overlap. */
static bool seq_overlap(uint32_t a, uint32_t na, uint32_t b, uint32_t nb,
			uint32_t *lo, uint32_t *n)
{
	uint32_t d = b - a;

	if (d < na) {			/* b inside a's range */
		*lo = b;
		*n = na - d < nb ? na - d : nb;
		return *n != 0;
	}
	d = a - b;
	if (d < nb) {			/* a inside b's range */
		*lo = a;
		*n = nb - d < na ? nb - d : na;
		return *n != 0;
	}
	return false;
}

/*
 * A SYN whose stream is new: not the retransmission of the SYN released
 * last (then rel is just after it). A new connection on the same ports
 * starts the released state again.
 */
static bool fresh_syn(const struct flow *f, const struct packet *pk)
{
	return (pk->flags & PACKET_SYN) &&
	       !(f->rel_valid && f->rel == pk->seq + 1);
}

static void seg_of(const struct flow *f, const struct packet *pk,
		   struct tcp_seg *s)
{
	s->seq = pk->seq;
	s->ds = pk->seq + !!(pk->flags & PACKET_SYN);
	s->de = s->ds + pk->payload_len;
	s->fresh_syn = fresh_syn(f, pk);
	s->from = s->ds;
	if (!s->fresh_syn && f->rel_valid && seq_before(s->ds, f->rel))
		s->from = seq_before(f->rel, s->de) ? f->rel : s->de;
}

static bool fin_released(const struct flow *f, uint32_t fin)
{
	return f->rel_valid && seq_after(f->rel, fin);
}

static bool run_covers(const struct flow *f, uint32_t from, uint32_t de)
{
	uint32_t off = from - f->run.base;

	return f->run.valid && off <= f->run.len &&
	       (uint32_t)(de - from) <= f->run.len - off;
}

static bool ack_covered(const struct flow *f, uint32_t ack)
{
	return (f->s_ack && !seq_after(ack, f->s_ack_seq)) ||
	       (f->rel_ack_valid && !seq_after(ack, f->rel_ack));
}

static void mismatch(struct netcompare *nc, enum compare_reason why,
		     const struct flow *f, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void mismatch(struct netcompare *nc, enum compare_reason why,
		     const struct flow *f, const char *fmt, ...)
{
	char detail[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	nc_mismatch(nc, why, f, detail);
}

/* The bytes of pk's unreleased payload the run holds too are the same. */
static bool same_bytes(struct netcompare *nc, const struct flow *f,
		       const struct packet *pk, const struct tcp_seg *s)
{
	uint32_t lo, n;
	const uint8_t *p, *q;

	if (!f->run.len || !seq_overlap(s->from, s->de - s->from, f->run.base,
					f->run.len, &lo, &n))
		return true;
	p = pk->payload + (uint32_t)(lo - s->ds);
	q = flow_run_at(f, lo);
	if (memcmp(p, q, n) == 0)
		return true;
	while (*p == *q)
		p++, q++;
	mismatch(nc, COMPARE_PAYLOAD, f, "seq %" PRIu32 " (+%" PRIu32 " into "
		 "the segment at %" PRIu32 "): primary 0x%02x, secondary 0x%02x",
		 (uint32_t)(s->ds + (p - pk->payload)), (uint32_t)(p - pk->payload),
		 s->seq, *p, *q);
	return false;
}

/*
 * What can be told of fr before its turn: its bytes against the run, and
 * where the streams end. False when a mismatch was found.
 */
static bool tcp_check(struct netcompare *nc, const struct flow *f,
		      const struct nc_frame *fr)
{
	const struct packet *pk = &fr->pkt;
	struct tcp_seg s;

	seg_of(f, pk, &s);
	if (!same_bytes(nc, f, pk, &s))
		return false;
	if (f->s_fin && s.from != s.de && seq_after(s.de, f->s_fin_seq)) {
		mismatch(nc, COMPARE_LENGTH, f, "primary data up to seq %" PRIu32
			 " past the secondary's FIN at %" PRIu32, s.de,
			 f->s_fin_seq);
		return false;
	}
	if ((pk->flags & PACKET_FIN) && !fin_released(f, s.de) &&
	    f->run.valid && seq_after(flow_run_end(f), s.de)) {
		mismatch(nc, COMPARE_LENGTH, f, "secondary data up to seq %"
			 PRIu32 " past the primary's FIN at %" PRIu32,
			 flow_run_end(f), s.de);
		return false;
	}
	return true;
}

/* fr waits for the secondary: unless the secondary reset the flow, after
 * which nothing more of it comes. */
static int tcp_wait(struct netcompare *nc, const struct flow *f,
		    const struct packet *pk)
{
	if (f->s_rst && !(pk->flags & PACKET_RST)) {
		mismatch(nc, COMPARE_FLAGS, f, "the secondary sent RST at seq %"
			 PRIu32 ", the primary a segment at %" PRIu32,
			 f->s_rst_seq, pk->seq);
		return -1;
	}
	return 0;
}

/* The head fr of f: 1 it may leave, 0 it waits, -1 a mismatch. */
static int tcp_ready(struct netcompare *nc, const struct flow *f,
		     const struct nc_frame *fr)
{
	const struct packet *pk = &fr->pkt;
	struct tcp_seg s;

	if (!tcp_check(nc, f, fr))
		return -1;
	seg_of(f, pk, &s);
	if (s.fresh_syn) {
		if (!f->s_syn)
			return tcp_wait(nc, f, pk);
		if (f->s_syn_seq != s.seq) {
			mismatch(nc, COMPARE_FLAGS, f, "SYN at seq %" PRIu32
				 ", the secondary's at %" PRIu32, s.seq,
				 f->s_syn_seq);
			return -1;
		}
	}
	if (s.from != s.de && !run_covers(f, s.from, s.de))
		return tcp_wait(nc, f, pk);
	if ((pk->flags & PACKET_FIN) && !fin_released(f, s.de)) {
		if (!f->s_fin)
			return tcp_wait(nc, f, pk);
		if (f->s_fin_seq != s.de) {
			mismatch(nc, COMPARE_LENGTH, f, "FIN at seq %" PRIu32
				 ", the secondary's at %" PRIu32, s.de,
				 f->s_fin_seq);
			return -1;
		}
	}
	if (pk->flags & PACKET_RST) {
		if (!f->s_rst)
			return 0;
		if (f->s_rst_seq != s.seq) {
			mismatch(nc, COMPARE_FLAGS, f, "RST at seq %" PRIu32
				 ", the secondary's at %" PRIu32, s.seq,
				 f->s_rst_seq);
			return -1;
		}
	}
	/* a client is never acknowledged what the secondary's guest has
	 * not: after a takeover it would be lost */
	if ((pk->flags & PACKET_ACK) && !ack_covered(f, pk->ack))
		return tcp_wait(nc, f, pk);
	return 1;
}

void tcp_progress(struct netcompare *nc, struct flow *f, struct nc_frame *fr)
{
	struct nc_frame *x;

	if (!nc_can_compare(nc))
		return;
	if (fr) {
		if (!tcp_check(nc, f, fr))
			return;
	} else {
		TAILQ_FOREACH(x, &f->pq, link) {
			if (x->epoch != nc->epoch)
				break;
			if (!tcp_check(nc, f, x))
				return;
		}
	}
	while ((x = TAILQ_FIRST(&f->pq)) && x->epoch == nc->epoch &&
	       nc_can_compare(nc)) {
		if (tcp_ready(nc, f, x) != 1)
			return;
		nc_release_matched(nc, f);
	}
}

void tcp_released(struct netcompare *nc, struct flow *f,
		  const struct nc_frame *fr)
{
	const struct packet *pk = &fr->pkt;
	struct tcp_seg s;
	uint32_t end;

	seg_of(f, pk, &s);
	end = s.de + !!(pk->flags & PACKET_FIN);
	if (pk->flags & PACKET_RST) {
		/* its sequence number says nothing of the stream's end */
		f->rst_released = true;
	} else if (s.fresh_syn) {
		f->rel = end;
		f->rel_valid = true;
		f->rel_ack_valid = false;
		f->rst_released = false;
	} else if (!f->rel_valid || seq_after(end, f->rel)) {
		f->rel = end;
		f->rel_valid = true;
	}
	if ((pk->flags & PACKET_ACK) &&
	    (!f->rel_ack_valid || seq_after(pk->ack, f->rel_ack))) {
		f->rel_ack = pk->ack;
		f->rel_ack_valid = true;
	}
	if (f->rel_valid)
		nc_bytes_sub(nc, flow_run_trim(f, f->rel));
}

/* Bytes [s, s + n) added where the run has none; false: dropped, or a
 * mismatch. */
static bool run_add(struct netcompare *nc, struct flow *f, uint32_t s,
		    const uint8_t *d, uint32_t n)
{
	if (!nc_bytes_fit(nc, n)) {
		nc_drop(nc, n);
		return false;
	}
	if (flow_run_put(f, s, d, n)) {
		nc_drop(nc, n);
		return false;
	}
	nc_bytes_add(nc, n);
	return true;
}

/* The secondary's payload [s, s + n) into the run: false on a mismatch
 * (or when it could not be kept). */
static bool secondary_data(struct netcompare *nc, struct flow *f,
			   uint32_t s, const uint8_t *d, uint32_t n)
{
	uint32_t lo, k, base, end, e;

	if (f->rel_valid && seq_before(s, f->rel)) {
		uint32_t skip = f->rel - s;	/* left already */

		if (skip >= n)
			return true;
		s += skip, d += skip, n -= skip;
	}
	if (!n)
		return true;
	if (!f->run.valid)
		return run_add(nc, f, s, d, n);
	base = f->run.base;
	end = flow_run_end(f);
	e = s + n;
	if (f->run.len && seq_overlap(s, n, base, f->run.len, &lo, &k) &&
	    memcmp(d + (uint32_t)(lo - s), flow_run_at(f, lo), k)) {
		mismatch(nc, COMPARE_PAYLOAD, f, "the secondary sent bytes at "
			 "seq %" PRIu32 " again, different", lo);
		return false;
	}
	if (seq_after(s, end)) {
		/* lwIP never leaves a hole in its own output */
		mismatch(nc, COMPARE_LENGTH, f, "the secondary skipped seq %"
			 PRIu32 " to %" PRIu32, end, s);
		return false;
	}
	if (seq_after(e, end) &&
	    !run_add(nc, f, end, d + (uint32_t)(end - s), e - end))
		return false;
	/* before the run, touching it: a retransmission from before the
	 * epoch's first segment (one with a gap adds nothing) */
	if (seq_before(s, base) && !seq_before(e, base))
		return run_add(nc, f, s, d, base - s);
	return true;
}

void tcp_secondary(struct netcompare *nc, struct flow *f,
		   const struct packet *pk)
{
	uint32_t ds = pk->seq + !!(pk->flags & PACKET_SYN);
	uint32_t de = ds + pk->payload_len;

	if (pk->flags & PACKET_SYN) {
		/* another SYN: a new connection, its stream begins again */
		if (f->s_syn && f->s_syn_seq != pk->seq)
			nc_bytes_sub(nc, flow_reset_secondary(f));
		f->s_syn = true;
		f->s_syn_seq = pk->seq;
	}
	if ((pk->flags & PACKET_ACK) &&
	    (!f->s_ack || seq_after(pk->ack, f->s_ack_seq))) {
		f->s_ack = true;
		f->s_ack_seq = pk->ack;
	}
	if (pk->flags & PACKET_RST) {
		f->s_rst = true;
		f->s_rst_seq = pk->seq;
	}
	if (pk->payload_len &&
	    !secondary_data(nc, f, ds, pk->payload, pk->payload_len))
		return;
	if (pk->flags & PACKET_FIN) {
		if (f->s_fin && f->s_fin_seq != de) {
			mismatch(nc, COMPARE_LENGTH, f, "the secondary sent FIN "
				 "at seq %" PRIu32 " and at %" PRIu32,
				 f->s_fin_seq, de);
			return;
		}
		f->s_fin = true;
		f->s_fin_seq = de;
	}
	if (f->s_fin && f->run.valid &&
	    seq_after(flow_run_end(f), f->s_fin_seq)) {
		mismatch(nc, COMPARE_LENGTH, f, "the secondary sent data up to "
			 "seq %" PRIu32 " past its FIN at %" PRIu32,
			 flow_run_end(f), f->s_fin_seq);
		return;
	}
	tcp_progress(nc, f, NULL);
}
