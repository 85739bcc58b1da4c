/*
 * fuzz_netcompare.c - netcompare's compare step (compare.h) driven by a
 * sequence of operations: frames of either side, ticks, checkpoints,
 * comparing on and off, release_all, new limits.
 *
 * Input: one byte of configuration (bits 0-4 max_frames - 4, bits 5-6
 * max_bytes 2 KiB << n, bit 7 port 5353 passes through), then
 * operations until the input ends, each an opcode byte (op % 10: 0-2 a
 * primary frame, 3-5 a secondary one, 6 a tick, 7 a checkpoint, 8
 * comparing on (bit 0x10) or off, 9 new limits (bit 0x10) or
 * release_all) and its arguments (gen_corpus.c writes seeds so). A frame is made from a template (a TCP segment of one of
 * four streams that cross 2^32, the same bytes on both sides so they
 * match and go deep; ARP; UDP; or raw input bytes), then maybe mutated
 * (bytes flipped, cut short). At the end everything is released.
 *
 * Checked beyond no crash and no leak: every emitted frame is a copy of
 * a primary frame given and not yet emitted, and leaves after every
 * frame of its flow given before it (flows as compare.h defines them;
 * frames that do not parse one flow, as do those of a passthrough
 * port's); dropped frames are never emitted; release_all emits all the
 * rest; held and queued frames stay within the hard cap, flows within
 * the table's bound; checkpoint() is called at most once an epoch; the
 * counters agree (released <= primary frames, matched <= released, the
 * emits counted).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "compare.h"
#include "flow.h"
#include "fuzz.h"
#include "packet.h"
#include "status.h"

#define MAX_GIVEN	384		/* primary frames per input */
#define FRAME_MAX	1600
#define PASS_PORT	5353

/* A frame's flow as the checks see it. */
enum cls { CLS_FLOW, CLS_MALFORMED };

struct given {
	uint8_t *data;
	size_t len;
	enum cls cls;
	struct flow_key key;
	int prev;		/* the frame given before it in its flow, or -1 */
	bool dropped;		/* never to be emitted */
	bool emitted;
};

struct run {
	struct netcompare *nc;
	struct given g[MAX_GIVEN];
	unsigned n;			/* given */
	uint64_t emits;
	unsigned asked;			/* checkpoint() calls this epoch */
	uint64_t epoch;			/* the model's: last checkpoint + 1 */
	uint64_t bound_frames, bound_bytes;	/* the hard cap (or more,
						 * after lower limits) */
	bool pass;			/* PASS_PORT passes through */
};

static void on_emit(const uint8_t *frame, size_t len, void *opaque)
{
	struct run *r = opaque;
	unsigned i;

	for (i = 0; i < r->n; i++) {
		struct given *g = &r->g[i];

		if (!g->emitted && !g->dropped && g->len == len &&
		    (!len || memcmp(g->data, frame, len) == 0))
			break;
	}
	FUZZ_CHECK(i < r->n);		/* a copy of one given, once */
	r->g[i].emitted = true;
	/* its flow's frames before it have left */
	FUZZ_CHECK(r->g[i].prev < 0 || r->g[r->g[i].prev].emitted);
	r->emits++;
}

static void on_checkpoint(enum compare_reason why, void *opaque)
{
	struct run *r = opaque;

	FUZZ_CHECK((unsigned)why < COMPARE_REASONS);
	r->asked++;
	FUZZ_CHECK(r->asked == 1);	/* once an epoch */
}

/* The class and key of a frame, as compare.h defines flows. */
static void classify(const struct run *r, struct given *g)
{
	struct packet pkt;
	const char *why;

	memset(&g->key, 0, sizeof(g->key));
	g->cls = CLS_FLOW;
	if (packet_parse(g->data, g->len, &pkt, &why)) {
		FUZZ_CHECK(why && *why);
		g->cls = CLS_MALFORMED;
		return;
	}
	FUZZ_CHECK(pkt.payload_len <= g->len);
	if (pkt.payload_len)
		FUZZ_CHECK(pkt.payload >= g->data &&
			   pkt.payload + pkt.payload_len <= g->data + g->len);
	flow_key_of(&pkt, &g->key);
	if (r->pass && (pkt.kind == PACKET_TCP || pkt.kind == PACKET_UDP) &&
	    (pkt.sport == PASS_PORT || pkt.dport == PASS_PORT)) {
		/* one flow of their own per key: held to their checkpoint */
		g->key.tcp = 2;
	}
}

static int prev_of(const struct run *r, const struct given *g)
{
	for (int j = (int)r->n - 1; j >= 0; j--) {
		const struct given *o = &r->g[j];

		if (o->dropped || o->cls != g->cls)
			continue;
		if (g->cls == CLS_MALFORMED ||
		    memcmp(&o->key, &g->key, sizeof(g->key)) == 0)
			return j;
	}
	return -1;
}

static void check_stats(const struct run *r)
{
	const struct compare_stats *st = compare_stats(r->nc);

	FUZZ_CHECK(st->released_frames == r->emits);
	FUZZ_CHECK(st->released_frames <= st->primary_frames);
	FUZZ_CHECK(st->matched_frames <= st->released_frames);
	FUZZ_CHECK(st->depth_frames <= r->bound_frames);
	FUZZ_CHECK(st->depth_bytes <= r->bound_bytes);
	FUZZ_CHECK(st->high_frames >= st->depth_frames);
	FUZZ_CHECK(st->flows <= FLOW_MAX && st->flows <= st->flows_high);
}

/* --- frames ------------------------------------------------------------------ */

static uint8_t stream_byte(uint32_t s)
{
	return (uint8_t)(s * 7u + (s >> 9) + 1);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static size_t ipv4(uint8_t *f, uint8_t proto, size_t l4)
{
	memset(f, 0, 34);
	f[5] = 10;
	f[11] = 100;
	put16(f + 12, 0x0800);
	f[14] = 0x45;
	put16(f + 16, (uint16_t)(20 + l4));
	f[23] = proto;
	put32(f + 26, 0x0a000064);
	put32(f + 30, 0x0a00000a);
	return 34 + l4;
}

/* A segment of stream s (4 of them, beginning shortly before 2^32). */
static size_t tcp_template(struct fuzz_in *in, uint8_t *f, bool pass)
{
	uint8_t a = fuzz_u8(in), flags = fuzz_u8(in);
	unsigned s = a & 3;
	uint32_t isn = 0xffffe000u + 0x800u * s;
	uint32_t seq = isn + fuzz_be16(in) % 8192;
	uint32_t len = (uint32_t)fuzz_u8(in) * 6 % 1461;
	uint32_t ack = 0xfffffff0u + fuzz_u8(in);
	uint32_t ds;
	uint8_t fl = flags & (PACKET_SYN | PACKET_FIN | PACKET_RST | PACKET_ACK);

	if (fl & PACKET_SYN) {
		seq = isn - 1;
		len = 0;
	}
	ds = seq + !!(fl & PACKET_SYN);
	ipv4(f, 6, 20 + len);
	put16(f + 34, (uint16_t)(s == 3 && pass ? PASS_PORT : 6379 + s));
	put16(f + 36, 40000);
	put32(f + 38, seq);
	put32(f + 42, ack);
	f[46] = 5 << 4;
	f[47] = fl;
	put16(f + 48, 65535);
	memset(f + 50, 0, 4);
	for (uint32_t i = 0; i < len; i++)
		f[54 + i] = stream_byte(ds + i);
	return 54 + len;
}

static size_t arp_template(struct fuzz_in *in, uint8_t *f)
{
	memset(f, 0, 42);
	memset(f, 0xff, 6);
	put16(f + 12, 0x0806);
	put16(f + 14, 1);
	put16(f + 16, 0x0800);
	f[18] = 6;
	f[19] = 4;
	f[41] = fuzz_u8(in) & 3;
	return 42;
}

static size_t udp_template(struct fuzz_in *in, uint8_t *f, bool pass)
{
	uint8_t a = fuzz_u8(in);
	size_t len = a & 63;
	size_t n = ipv4(f, 17, 8 + len);

	put16(f + 34, (uint16_t)(a & 0x80 && pass ? PASS_PORT : 53));
	put16(f + 36, 4000);
	put16(f + 38, (uint16_t)(8 + len));
	put16(f + 40, 0);
	memset(f + 42, a >> 6, len);
	return n;
}

static size_t make_frame(struct fuzz_in *in, uint8_t *f, bool pass)
{
	uint8_t kind = fuzz_u8(in), muts;
	const uint8_t *raw;
	size_t n;

	switch (kind % 6) {
	case 0: case 1: case 2:
		n = tcp_template(in, f, pass);
		break;
	case 3:
		n = arp_template(in, f);
		break;
	case 4:
		n = udp_template(in, f, pass);
		break;
	default:
		n = fuzz_take(in, fuzz_u8(in), &raw);
		if (n)
			memcpy(f, raw, n);
		return n;
	}
	muts = kind >> 5;		/* 0 to 7; mostly none */
	for (unsigned i = 0; i < (muts > 4 ? muts - 4u : 0u) && n; i++) {
		size_t pos = fuzz_be16(in) % n;
		uint8_t v = fuzz_u8(in);

		if (v == 0)
			n = pos;	/* cut short */
		else
			f[pos] ^= v;
	}
	return n;
}

/* An epoch near the model's: mostly it, sometimes the next, or a past. */
static uint64_t pick_epoch(struct fuzz_in *in, const struct run *r)
{
	uint8_t d = fuzz_u8(in) % 8;

	if (d == 6)
		return r->epoch + 1;
	if (d == 7)
		return r->epoch ? r->epoch - 1 : 0;
	return r->epoch;
}

/* --- operations -------------------------------------------------------------- */

static void op_primary(struct fuzz_in *in, struct run *r, int64_t now)
{
	uint8_t f[FRAME_MAX];
	size_t n = make_frame(in, f, r->pass);
	uint64_t epoch = pick_epoch(in, r);
	const struct compare_stats *st = compare_stats(r->nc);
	uint64_t dropped = st->dropped_frames;
	struct given *g;

	if (r->n == MAX_GIVEN)
		return;
	g = &r->g[r->n];
	g->data = malloc(n ? n : 1);
	FUZZ_CHECK(g->data);
	if (n)
		memcpy(g->data, f, n);
	g->len = n;
	g->emitted = g->dropped = false;
	classify(r, g);
	g->prev = prev_of(r, g);
	r->n++;
	compare_primary(r->nc, f, n, epoch, now);
	if (st->dropped_frames != dropped) {
		FUZZ_CHECK(st->dropped_frames == dropped + 1);
		FUZZ_CHECK(!g->emitted);
		g->dropped = true;
	}
}

static void op_checkpoint(struct fuzz_in *in, struct run *r, int64_t now)
{
	uint64_t id = r->epoch + fuzz_u8(in) % 3;

	id = id ? id - 1 : 0;
	if (id >= r->epoch) {
		/* epoch id + 1 begins: it may ask at once (queues still full) */
		r->epoch = id + 1;
		r->asked = 0;
	}
	compare_checkpoint(r->nc, id, now);
}

static void op_release_all(struct run *r)
{
	r->epoch = 0;
	r->asked = 0;
	compare_release_all(r->nc);
	for (unsigned i = 0; i < r->n; i++)
		FUZZ_CHECK(r->g[i].emitted || r->g[i].dropped);
	FUZZ_CHECK(compare_stats(r->nc)->depth_frames == 0);
	FUZZ_CHECK(compare_stats(r->nc)->depth_bytes == 0);
	FUZZ_CHECK(compare_stats(r->nc)->flows == 0);
}

static void op_limits(struct fuzz_in *in, struct run *r)
{
	const struct compare_stats *st = compare_stats(r->nc);
	uint32_t frames = 1 + fuzz_u8(in) % 64;
	uint64_t bytes = 1 + (uint64_t)fuzz_be16(in) * 4;

	compare_set_limits(r->nc, frames, bytes, 1 + fuzz_u8(in));
	/* what is held may stay; nothing more past the new cap */
	r->bound_frames = 2ull * frames > st->depth_frames ? 2ull * frames :
							    st->depth_frames;
	r->bound_bytes = 2 * bytes > st->depth_bytes ? 2 * bytes :
						       st->depth_bytes;
}

static void status_once(struct run *r)
{
	struct evbuffer *buf = evbuffer_new();
	struct status_out so;

	FUZZ_CHECK(buf);
	status_begin(&so, buf, true);
	compare_status(r->nc, &so);
	status_end(&so);
	FUZZ_CHECK(evbuffer_get_length(buf) > 0);
	evbuffer_free(buf);
}

int fuzz_netcompare(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t cfg = fuzz_u8(&in);
	struct run *r = calloc(1, sizeof(*r));
	struct compare_params p = {
		.max_frames = 4 + (cfg & 31),
		.max_bytes = 2048u << ((cfg >> 5) & 3),
		.timeout_ms = 50,
		.emit = on_emit,
		.checkpoint = on_checkpoint,
	};
	int64_t now = 0;

	FUZZ_CHECK(r);
	r->pass = cfg & 0x80;
	if (r->pass) {
		p.passthrough[0] = PASS_PORT;
		p.n_passthrough = 1;
	}
	p.opaque = r;
	FUZZ_CHECK(compare_new(&r->nc, &p) == 0);
	r->bound_frames = 2ull * p.max_frames;
	r->bound_bytes = 2 * p.max_bytes;
	while (in.left) {
		uint8_t f[FRAME_MAX], op = fuzz_u8(&in);
		size_t n;

		switch (op % 10) {
		case 0: case 1: case 2:
			op_primary(&in, r, now);
			break;
		case 3: case 4: case 5:
			n = make_frame(&in, f, r->pass);
			compare_secondary(r->nc, f, n, pick_epoch(&in, r), now);
			break;
		case 6:
			now += fuzz_u8(&in);
			compare_tick(r->nc, now);
			break;
		case 7:
			op_checkpoint(&in, r, now);
			break;
		case 8:
			compare_set_active(r->nc, op & 0x10);
			break;
		default:
			if (op & 0x10)
				op_limits(&in, r);
			else
				op_release_all(r);
			break;
		}
		check_stats(r);
	}
	status_once(r);
	op_release_all(r);
	check_stats(r);
	compare_free(r->nc);
	for (unsigned i = 0; i < r->n; i++)
		free(r->g[i].data);
	free(r);
	return 0;
}
