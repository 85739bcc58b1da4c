/*
 * gen_corpus.c - the fuzz targets' binary seeds, written by the
 * project's own encoders (make fuzz-corpus): records for fuzz_proto,
 * streams framed by the channel itself for fuzz_channel, layouts for
 * fuzz_layout (this process's own among them), runtime records for
 * fuzz_guest_channel, operation sequences for fuzz_netcompare and
 * fuzz_ram_cache, HELLOs against ours for fuzz_hello, handshakes and
 * tagged records for fuzz_auth_peer. The text
 * seeds (colo.conf, control lines, RESP) are files written by hand.
 *
 *     gen_corpus DIR      writes DIR/proto/..., DIR/channel/..., ...
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <zlib.h>

#include "auth.h"
#include "channel.h"
#include "colo_proto.h"
#include "guest_abi.h"
#include "layout.h"

static const char *root;

struct buf {
	uint8_t b[65536];
	size_t len;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > sizeof(b->b)) {
		fprintf(stderr, "gen_corpus: a seed over %zu bytes\n", sizeof(b->b));
		exit(1);
	}
	memcpy(b->b + b->len, p, n);
	b->len += n;
}

static void put_u8(struct buf *b, uint8_t v)
{
	put(b, &v, 1);
}

static void put_u16(struct buf *b, uint16_t v)
{
	uint8_t p[2];

	put_be16(p, v);
	put(b, p, 2);
}

static void save(const char *target, const char *name, const struct buf *b)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, target);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(b->b, 1, b->len, f) != b->len || fclose(f)) {
		fprintf(stderr, "gen_corpus: cannot write %s: %s\n", path,
			strerror(errno));
		exit(1);
	}
}

/* --- records: a payload each, made by its encoder ----------------------- */

struct rec {
	const char *name;
	uint16_t type;
	unsigned page_shift;		/* page size HELLO agreed on */
	struct buf payload;
};

static struct rec recs[32];
static size_t nr_recs;

static struct buf *rec(const char *name, uint16_t type, unsigned shift)
{
	struct rec *r = &recs[nr_recs++];

	r->name = name;
	r->type = type;
	r->page_shift = shift;
	r->payload.len = 0;
	return &r->payload;
}

/* A page of page_size bytes that compresses: text, then zeros. */
static void make_page(uint8_t *page, size_t page_size, unsigned seed)
{
	memset(page, 0, page_size);
	for (size_t i = 0; i < page_size / 2; i++)
		page[i] = (uint8_t)("colo checkpoint "[(i + seed) % 16]);
}

static void page_entry(struct buf *b, uint64_t addr, uint8_t enc,
		       const uint8_t *data, uint32_t len)
{
	struct colo_page pg = { .addr = addr, .encoding = enc, .len = len,
				.data = data };
	uint8_t out[COLO_PAGE_HDR + 4096];

	put(b, out, colo_page_encode(&pg, out));
}

static void layout_payload(struct buf *b, const struct layout *l, uint64_t brk)
{
	uint8_t *p;
	size_t len;

	if (layout_encode(l, brk, &p, &len)) {
		fprintf(stderr, "gen_corpus: cannot encode a layout\n");
		exit(1);
	}
	put(b, p, len);
	free(p);
}

/* A small layout such as a guest has: its binary, heap, stack. */
static void small_layout(struct layout *l)
{
	static struct layout_map maps[] = {
		{ 0x555555554000, 0x555555556000, 0, 5, false, LAYOUT_FILE,
		  "/usr/lib/colo/memstress" },
		{ 0x555555556000, 0x555555557000, 0x2000, 3, false, LAYOUT_FILE,
		  "/usr/lib/colo/memstress" },
		{ 0x555555558000, 0x555555579000, 0, 3, false, LAYOUT_HEAP,
		  "[heap]" },
		{ 0x600000000000, 0x600000400000, 0, 3, false, LAYOUT_RUNTIME, "" },
		{ 0x7ffff7fc1000, 0x7ffff7fc5000, 0, 1, false, LAYOUT_SPECIAL,
		  "[vvar]" },
		{ 0x7ffffffde000, 0x7ffffffff000, 0, 3, false, LAYOUT_STACK,
		  "[stack]" },
	};

	memset(l, 0, sizeof(*l));
	l->maps = maps;
	l->nr = l->cap = sizeof(maps) / sizeof(maps[0]);
	for (int i = 0; i < LS_NR; i++)
		l->stat[i] = 0x555555554000 + 0x1000 * (uint64_t)i;
}

static void make_records(void)
{
	struct colo_hello h = { COLO_PROTO_MAGIC, COLO_PROTO_VERSION, 4096,
				COLO_ROLE_PRIMARY, 0x1234abcd, 0, 0 };
	struct colo_vmstate_size vs = { 5, 3, 3 * COLO_PAGE_HDR + 4096,
					COLO_VMSTATE_VERIFY | COLO_VMSTATE_HOLD,
					123456 };
	struct colo_vmstate_loaded vl = { 5, COLO_VERIFY_SAME };
	struct colo_heartbeat hb = { 987654321 };
	struct colo_memhash mh = { 0xdeadbeef, 256ull << 20 };
	struct colo_ram_block blocks[] = {
		{ 0x555555558000, 0x21000 }, { 0x7ffff7d00000, 0x100000 },
		{ 0x7ffffffde000, 0x21000 },
	};
	uint8_t out[64], page[4096], z[4200];
	struct colo_id id;
	struct layout l;
	uLongf zlen;
	struct buf *b;

	colo_hello_encode(&h, out);
	put(rec("hello-primary", COLO_HELLO, 12), out, COLO_HELLO_LEN);
	h.role = COLO_ROLE_SECONDARY;
	h.compress_level = 6;
	colo_hello_encode(&h, out);
	put(rec("hello-secondary", COLO_HELLO, 12), out, COLO_HELLO_LEN);
	rec("checkpoint-ready", COLO_CHECKPOINT_READY, 12);
	rec("guest-shutdown", COLO_GUEST_SHUTDOWN, 12);
	id.id = 1;
	colo_id_encode(&id, out);
	put(rec("checkpoint-request", COLO_CHECKPOINT_REQUEST, 12), out, COLO_ID_LEN);
	id.id = 7;
	colo_id_encode(&id, out);
	put(rec("checkpoint-reply", COLO_CHECKPOINT_REPLY, 12), out, COLO_ID_LEN);
	put(rec("vmstate-send", COLO_VMSTATE_SEND, 12), out, COLO_ID_LEN);
	put(rec("vmstate-received", COLO_VMSTATE_RECEIVED, 12), out, COLO_ID_LEN);
	colo_vmstate_size_encode(&vs, out);
	put(rec("vmstate-size", COLO_VMSTATE_SIZE, 12), out, COLO_VMSTATE_SIZE_LEN);
	colo_vmstate_loaded_encode(&vl, out);
	put(rec("vmstate-loaded", COLO_VMSTATE_LOADED, 12), out,
	    COLO_VMSTATE_LOADED_LEN);
	colo_heartbeat_encode(&hb, out);
	put(rec("heartbeat", COLO_HEARTBEAT, 12), out, COLO_HEARTBEAT_LEN);
	colo_memhash_encode(&mh, out);
	put(rec("memhash", COLO_MEMHASH, 12), out, COLO_MEMHASH_LEN);

	b = rec("ram-blocks", COLO_RAM_BLOCKS, 12);
	colo_ram_blocks_encode(blocks, 3, b->b);
	b->len = COLO_RAM_BLOCKS_LEN(3);
	b = rec("ram-blocks-none", COLO_RAM_BLOCKS, 12);
	colo_ram_blocks_encode(blocks, 0, b->b);
	b->len = COLO_RAM_BLOCKS_LEN(0);

	/* PAGES: zero pages and a compressed one at 4 KiB pages; a raw one
	 * at 512-byte pages (a raw 4 KiB page is over the fuzzer's 4 KiB) */
	make_page(page, 4096, 0);
	zlen = sizeof(z);
	compress2(z, &zlen, page, 4096, 6);
	b = rec("pages-zero-zlib", COLO_PAGES, 12);
	page_entry(b, 0x555555558000, COLO_PAGE_ZERO, NULL, 0);
	page_entry(b, 0x555555559000, COLO_PAGE_ZLIB, z, (uint32_t)zlen);
	page_entry(b, 0x55555555a000, COLO_PAGE_ZERO, NULL, 0);
	make_page(page, 512, 3);
	b = rec("pages-raw-512", COLO_PAGES, 9);
	page_entry(b, 0x555555558000, COLO_PAGE_RAW, page, 512);
	page_entry(b, 0x555555558200, COLO_PAGE_ZERO, NULL, 0);
	rec("pages-none", COLO_PAGES, 12);

	/* the handshake's (auth.h): a key id and nonces anyone could send */
	{
		struct auth_hello ah = { .version = AUTH_VERSION };
		struct auth_challenge ac;
		struct auth_proof ap;

		for (int i = 0; i < AUTH_KEY_ID_LEN; i++)
			ah.key_id[i] = ac.key_id[i] = (uint8_t)(0x38 + i);
		for (int i = 0; i < AUTH_NONCE_LEN; i++)
			ah.nonce[i] = ac.nonce[i] = (uint8_t)(i + 1);
		for (int i = 0; i < AUTH_MAC_LEN; i++)
			ac.proof[i] = ap.proof[i] = (uint8_t)(0x64 + i);
		b = rec("auth-hello", COLO_AUTH_HELLO, 12);
		auth_hello_encode(&ah, b->b);
		b->len = AUTH_HELLO_LEN;
		b = rec("auth-challenge", COLO_AUTH_CHALLENGE, 12);
		auth_challenge_encode(&ac, b->b);
		b->len = AUTH_CHALLENGE_LEN;
		b = rec("auth-proof", COLO_AUTH_PROOF, 12);
		auth_proof_encode(&ap, b->b);
		b->len = AUTH_PROOF_LEN;
	}

	small_layout(&l);
	layout_payload(rec("layout-small", COLO_LAYOUT, 12), &l, 0x555555579000);
	l.nr = 0;
	layout_payload(rec("layout-none", COLO_LAYOUT, 12), &l, 0);
}

/* fuzz_proto: be16 type, page-size byte, payload. */
static void write_proto(void)
{
	for (size_t i = 0; i < nr_recs; i++) {
		struct buf b = { .len = 0 };

		put_u16(&b, recs[i].type);
		put_u8(&b, (uint8_t)recs[i].page_shift);
		put(&b, recs[i].payload.b, recs[i].payload.len);
		save("proto", recs[i].name, &b);
	}
}

/* --- fuzz_channel: streams framed by channel_send() -------------------- */

static int ignore_record(struct channel *ch, uint16_t type,
			 const uint8_t *payload, uint32_t len, void *opaque)
{
	(void)ch, (void)type, (void)payload, (void)len, (void)opaque;
	return 0;
}

static void ignore_closed(struct channel *ch, const char *why, void *opaque)
{
	(void)ch, (void)why, (void)opaque;
}

static const struct channel_ops gen_ops = {
	.record = ignore_record,
	.closed = ignore_closed,
};

/* The bytes channel_send() puts on the wire for records idx[0, n). */
static void frame(struct buf *out, const size_t *idx, size_t n)
{
	struct event_base *base = event_base_new();
	struct channel *ch;
	int sv[2];
	ssize_t r;

	if (!base || socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		perror("gen_corpus: socketpair");
		exit(1);
	}
	ch = channel_new(base, sv[0], &gen_ops, NULL, "gen");
	for (size_t i = 0; i < n; i++) {
		const struct rec *rc = &recs[idx[i]];

		channel_send(ch, rc->type, rc->payload.b, (uint32_t)rc->payload.len);
	}
	while (channel_pending(ch))
		event_base_loop(base, EVLOOP_ONCE);
	shutdown(sv[1], SHUT_WR);
	while ((r = recv(sv[1], out->b + out->len, sizeof(out->b) - out->len,
			 MSG_DONTWAIT)) > 0)
		out->len += (size_t)r;
	channel_free(ch);
	close(sv[1]);
	event_base_free(base);
}

static size_t find(const char *name)
{
	for (size_t i = 0; i < nr_recs; i++)
		if (strcmp(recs[i].name, name) == 0)
			return i;
	fprintf(stderr, "gen_corpus: no record %s\n", name);
	exit(1);
}

static void stream(const char *name, uint8_t mode, uint8_t split,
		   const char *const *names, void (*spoil)(struct buf *))
{
	size_t idx[32], n = 0;
	struct buf b = { .len = 0 };

	while (names[n]) {
		idx[n] = find(names[n]);
		n++;
	}
	put_u8(&b, mode);
	put_u8(&b, split);
	frame(&b, idx, n);
	if (spoil)
		spoil(&b);
	save("channel", name, &b);
}

static void cut_last_byte(struct buf *b)
{
	b->len--;
}

static void flip_a_crc(struct buf *b)
{
	b->b[2 + 8] ^= 0x01;		/* the first record's CRC */
}

static void write_channel(void)
{
	static const char *const handshake[] = { "hello-primary",
		"hello-secondary", "ram-blocks", NULL };
	static const char *const checkpoint[] = { "checkpoint-request",
		"checkpoint-reply", "vmstate-send", "ram-blocks",
		"pages-zero-zlib", "layout-small", "vmstate-size",
		"vmstate-received", "vmstate-loaded", "checkpoint-ready", NULL };
	static const char *const idle[] = { "heartbeat", "heartbeat",
		"memhash", "guest-shutdown", NULL };
	static const char *const auth[] = { "auth-hello", "auth-proof",
		"hello-primary", NULL };
	static const char *const auth_answer[] = { "auth-challenge",
		"hello-secondary", NULL };

	stream("handshake", 2, 128, handshake, NULL);
	stream("checkpoint-decoded", 2, 77, checkpoint, NULL);
	stream("checkpoint-raw", 0, 200, checkpoint, NULL);
	stream("idle", 3, 10, idle, NULL);
	stream("truncated", 0, 128, checkpoint, cut_last_byte);
	stream("bad-crc", 0, 0, handshake, flip_a_crc);
	stream("bad-crc-fixed", 1, 64, handshake, flip_a_crc);
	/* a plain link refuses the handshake's records; a keyed one takes
	 * nothing but them, and no record of a peer without the key */
	stream("plain-auth-hello", 2, 128, auth, NULL);
	stream("keyed-responder-plain-peer", 4 | 2, 128, handshake, NULL);
	stream("keyed-responder-auth", 4 | 2, 40, auth, NULL);
	stream("keyed-initiator-auth", 8 | 2, 90, auth_answer, NULL);
}

/* --- fuzz_layout ------------------------------------------------------- */

static void write_layout(void)
{
	struct layout l;
	struct buf b;

	b.len = 0;
	small_layout(&l);
	layout_payload(&b, &l, 0x555555579000);
	save("layout", "small", &b);
	b.len = 0;
	l.nr = 0;
	layout_payload(&b, &l, 0);
	save("layout", "none", &b);
	/* this process's own: real paths, [vdso], [vvar], libraries */
	if (layout_read(getpid(), &l) == 0) {
		b.len = 0;
		layout_payload(&b, &l, 0);
		save("layout", "gen-corpus-itself", &b);
		layout_free(&l);
	}
}

/* --- fuzz_guest_channel: the runtime's records -------------------------- */

static void guest_rec(struct buf *b, uint32_t type, uint64_t seq,
		      uint64_t arg0, const void *payload, uint32_t len)
{
	struct colo_guest_msg m = { .type = type, .len = len, .seq = seq,
				    .arg = { arg0 } };

	put_u16(b, (uint16_t)(sizeof(m) + len));
	put(b, &m, sizeof(m));
	put(b, payload, len);
}

static void write_guest_channel(void)
{
	static const uint8_t frame[60] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0xc0,
		0x10, 0x01, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04,
	};
	struct colo_guest_layout gl = { 0x555555579000, 0x600000001000,
					0x7fffffffe000, 0x7ffff7d8a9d0, 4242,
					0, 1234567 };
	struct buf b;

	b.len = 0;	/* poll: frames and log lines */
	put_u8(&b, 0);
	put_u8(&b, 0);
	guest_rec(&b, GUEST_MSG_FRAME_OUT, 0, 0, frame, sizeof(frame));
	guest_rec(&b, GUEST_MSG_LOG, 0, 0, "kvstore: listening on 6379", 26);
	guest_rec(&b, GUEST_MSG_FRAME_OUT, 0, 0, frame, 42);
	save("guest_channel", "poll-frames", &b);

	b.len = 0;	/* LAYOUT: a late reply, a frame, the reply */
	put_u8(&b, 1);
	put_u8(&b, 3);
	guest_rec(&b, GUEST_MSG_REPLY, 2, 0, NULL, 0);
	guest_rec(&b, GUEST_MSG_FRAME_OUT, 0, 0, frame, sizeof(frame));
	guest_rec(&b, GUEST_MSG_REPLY, 4, 0, &gl, sizeof(gl));
	save("guest_channel", "layout-reply", &b);

	b.len = 0;	/* stop: a frame, then PAUSED */
	put_u8(&b, 2);
	put_u8(&b, 0);
	guest_rec(&b, GUEST_MSG_FRAME_OUT, 0, 0, frame, sizeof(frame));
	guest_rec(&b, GUEST_MSG_PAUSED, 1, 0, NULL, 0);
	save("guest_channel", "stop-paused", &b);

	b.len = 0;	/* continue: taken */
	put_u8(&b, 3);
	put_u8(&b, 9);
	guest_rec(&b, GUEST_MSG_REPLY, 10, 0, NULL, 0);
	save("guest_channel", "continue-ok", &b);

	b.len = 0;	/* continue: refused, the clock is too far */
	put_u8(&b, 3);
	put_u8(&b, 9);
	guest_rec(&b, GUEST_MSG_REPLY, 10, (uint64_t)-EINVAL, NULL, 0);
	save("guest_channel", "continue-refused", &b);
}

/* --- fuzz_netcompare: operations (fuzz_netcompare.c's encoding) ------- */

/* opcodes: the operation is op % 10, bit 0x10 its variant */
enum { NC_P = 0, NC_S = 3, NC_TICK = 6, NC_CKPT = 7, NC_ON = 18, NC_OFF = 8,
       NC_LIMITS = 19, NC_RELEASE_ALL = 9 };

/* A segment of stream 0..3: off from the stream's start, 6 * len6 bytes
 * of it, ack byte ack; epoch byte: 0 the current, 6 the next. */
static void nc_tcp(struct buf *b, uint8_t op, uint8_t stream, uint8_t flags,
		   uint16_t off, uint8_t len6, uint8_t ack, uint8_t epoch)
{
	put_u8(b, op);
	put_u8(b, 0);			/* TCP template, no mutation */
	put_u8(b, stream);
	put_u8(b, flags);
	put_u16(b, off);
	put_u8(b, len6);
	put_u8(b, ack);
	put_u8(b, epoch);
}

static void nc_both(struct buf *b, uint8_t stream, uint8_t flags, uint16_t off,
		    uint8_t len6, uint8_t ack)
{
	nc_tcp(b, NC_P, stream, flags, off, len6, ack, 0);
	nc_tcp(b, NC_S, stream, flags, off, len6, ack, 0);
}

static void nc_begin(struct buf *b, uint8_t cfg)
{
	b->len = 0;
	put_u8(b, cfg);
	put_u8(b, NC_ON);
	put_u8(b, NC_CKPT);
	put_u8(b, 1);			/* checkpoint 0: epoch 1, compared */
}

static void write_netcompare(void)
{
	static const uint8_t raw[] = { 0x45, 0x00, 0xff, 0xff, 0, 0, 0x40, 0,
				       64, 6, 0, 0, 10, 0, 0, 100, 10, 0, 0, 10 };
	struct buf b;

	/* a stream in 3 segments on one side, 2 on the other, across 0 */
	nc_begin(&b, 0x7f);
	nc_both(&b, 0, 0x12, 0, 0, 0x10);		/* SYN|ACK */
	nc_tcp(&b, NC_P, 0, 0x10, 1, 100, 0x10, 0);
	nc_tcp(&b, NC_P, 0, 0x10, 601, 100, 0x10, 0);
	nc_tcp(&b, NC_S, 0, 0x10, 1, 150, 0x10, 0);
	nc_tcp(&b, NC_P, 0, 0x10, 1201, 100, 0x10, 0);
	nc_tcp(&b, NC_S, 0, 0x10, 901, 50, 0x10, 0);
	nc_both(&b, 0, 0x11, 1501, 10, 0x20);		/* FIN|ACK */
	save("netcompare", "tcp-resegmented", &b);

	/* the ACK rule: the primary acknowledges more, then the secondary */
	nc_begin(&b, 0x7f);
	nc_tcp(&b, NC_P, 1, 0x10, 100, 20, 0x40, 0);
	nc_tcp(&b, NC_S, 1, 0x10, 100, 20, 0x30, 0);
	nc_tcp(&b, NC_S, 1, 0x10, 220, 0, 0x40, 0);
	nc_tcp(&b, NC_P, 2, 0x04, 0, 0, 0, 0);		/* RST */
	nc_tcp(&b, NC_S, 2, 0x04, 0, 0, 0, 0);
	save("netcompare", "tcp-ack-rst", &b);

	/* packets: ARP, UDP, a byte flipped; a tick past the timeout */
	nc_begin(&b, 0x7f);
	put_u8(&b, NC_P); put_u8(&b, 3); put_u8(&b, 1); put_u8(&b, 0);
	put_u8(&b, NC_S); put_u8(&b, 3); put_u8(&b, 1); put_u8(&b, 0);
	put_u8(&b, NC_P); put_u8(&b, 4); put_u8(&b, 0x4a); put_u8(&b, 0);
	put_u8(&b, NC_S); put_u8(&b, 0xa0); put_u8(&b, 0x4a);	/* UDP, 1 flip */
	put_u16(&b, 50); put_u8(&b, 0x01); put_u8(&b, 0);
	put_u8(&b, NC_TICK); put_u8(&b, 200);
	put_u8(&b, NC_CKPT); put_u8(&b, 1);
	save("netcompare", "packets-mismatch", &b);

	/* epochs: frames of the next one wait for its checkpoint */
	nc_begin(&b, 0x7f);
	nc_tcp(&b, NC_P, 0, 0x10, 0, 50, 0, 0);
	nc_tcp(&b, NC_P, 0, 0x10, 300, 50, 0, 6);
	nc_tcp(&b, NC_S, 0, 0x10, 300, 50, 0, 6);
	nc_tcp(&b, NC_S, 0, 0x10, 0, 50, 0, 7);		/* stale */
	put_u8(&b, NC_CKPT); put_u8(&b, 1);
	nc_tcp(&b, NC_P, 0, 0x10, 0, 50, 0, 0);		/* retransmitted */
	put_u8(&b, NC_OFF);
	put_u8(&b, NC_RELEASE_ALL);
	save("netcompare", "epochs", &b);

	/* passthrough, and the limits: many frames the secondary lacks */
	nc_begin(&b, 0x80);
	for (uint16_t i = 0; i < 24; i++)
		nc_tcp(&b, NC_P, (uint8_t)(i & 3), 0x10, (uint16_t)(i * 60),
		       10, 0, 0);
	put_u8(&b, NC_LIMITS); put_u8(&b, 3); put_u16(&b, 100); put_u8(&b, 9);
	nc_tcp(&b, NC_P, 0, 0x10, 2000, 200, 0, 0);
	save("netcompare", "passthrough-queue-full", &b);

	/* hostile: raw bytes, an IPv4 header that claims 65535 bytes */
	nc_begin(&b, 0x7f);
	for (int side = 0; side < 2; side++) {
		put_u8(&b, side ? NC_S : NC_P);
		put_u8(&b, 5);			/* raw */
		put_u8(&b, 14 + sizeof(raw));
		put(&b, "\xff\xff\xff\xff\xff\xff\x02\0\0\0\0\x0a\x08\0", 14);
		put(&b, raw, sizeof(raw));
		put_u8(&b, 0);
	}
	save("netcompare", "hostile-total-length", &b);
}

/* --- fuzz_hello: mode, our page size, hash, session, their HELLO ------- */

static void hello_seed(const char *name, uint8_t mode, uint32_t hash,
		       uint64_t session, const struct colo_hello *theirs,
		       size_t cut)
{
	uint8_t p[COLO_HELLO_LEN];
	struct buf b = { .len = 0 };

	put_u8(&b, mode);
	put_u8(&b, 12);				/* 4 KiB pages */
	put_u16(&b, (uint16_t)(hash >> 16));
	put_u16(&b, (uint16_t)hash);
	put_u16(&b, (uint16_t)(session >> 48));
	put_u16(&b, (uint16_t)(session >> 32));
	put_u16(&b, (uint16_t)(session >> 16));
	put_u16(&b, (uint16_t)session);
	colo_hello_encode(theirs, p);
	put(&b, p, COLO_HELLO_LEN - cut);
	save("hello", name, &b);
}

static void write_hello(void)
{
	static const char *const apart[] = { "agree", "agree-but-role",
		"agree-but-version", "agree-but-page-size",
		"agree-but-guest-hash", "agree-but-session" };
	struct colo_hello pri = { COLO_PROTO_MAGIC, COLO_PROTO_VERSION, 4096,
				  COLO_ROLE_PRIMARY, 0x1234abcd, 6,
				  0x0123456789abcdefull };
	struct colo_hello sec = pri;
	struct colo_hello bad = pri;

	sec.role = COLO_ROLE_SECONDARY;
	sec.compress_level = 0;
	/* we are the secondary: the primary's HELLO */
	hello_seed("secondary-takes-primary", 0, 0x1234abcd, 0, &pri, 0);
	hello_seed("secondary-other-guest", 0, 0x1234abce, 0, &pri, 0);
	/* we are the primary: the secondary's answer, our session echoed */
	hello_seed("primary-takes-answer", 1, 0x1234abcd, pri.session, &sec, 0);
	hello_seed("primary-other-session", 3, 0x1234abcd, 1, &sec, 0);
	for (unsigned k = 0; k < 6; k++)
		hello_seed(apart[k], (uint8_t)(4 | k << 3 | (k == 5)), 0, 0,
			   k == 5 ? &sec : &pri, 0);
	bad.magic ^= 0x01000000;
	hello_seed("bad-magic", 0, 0x1234abcd, 0, &bad, 0);
	bad = pri;
	bad.page_size = 4095;
	hello_seed("bad-page-size", 4, 0, 0, &bad, 0);
	bad = pri;
	bad.compress_level = 10;
	hello_seed("bad-compress-level", 4, 0, 0, &bad, 0);
	hello_seed("short", 0, 0x1234abcd, 0, &pri, 1);
}

/* --- fuzz_ram_cache: operations (fuzz_ram_cache.c's encoding) ---------- */

enum { RC_BLOCKS, RC_PAGES, RC_BUILT_BLOCKS, RC_BUILT_PAGES, RC_COMMIT,
       RC_DISCARD };
enum { RC_RAW, RC_ZERO, RC_ZLIB, RC_ZLIB_FLIPPED };

#define RC_BASE	0x555555554000ull	/* fuzz_ram_cache.c's BUILT_BASE */

/* Built blocks: (gap, pages) pairs; pages 1..64. */
static void rc_blocks(struct buf *b, const uint8_t (*bl)[2], uint8_t n)
{
	put_u8(b, RC_BUILT_BLOCKS);
	put_u8(b, n);
	for (uint8_t i = 0; i < n; i++) {
		put_u8(b, bl[i][0]);
		put_u8(b, (uint8_t)(bl[i][1] - 1));
	}
}

/* Built pages: (block, page, encoding, seed) each. */
static void rc_pages(struct buf *b, const uint8_t (*pg)[4], uint8_t n)
{
	put_u8(b, RC_BUILT_PAGES);
	put_u8(b, (uint8_t)(n - 1));
	for (uint8_t i = 0; i < n; i++) {
		put(b, pg[i], 4);
		if (pg[i][2] == RC_ZLIB_FLIPPED) {
			put_u8(b, 20);		/* in the deflate data */
			put_u8(b, 0x40);
		}
	}
}

static void rc_raw(struct buf *b, uint8_t op, const struct buf *payload)
{
	put_u8(b, op);
	put_u16(b, (uint16_t)payload->len);
	put(b, payload->b, payload->len);
}

static void write_ram_cache(void)
{
	static const uint8_t three[][2] = { { 0, 4 }, { 2, 16 }, { 5, 64 } };
	static const uint8_t moved[][2] = { { 0, 4 }, { 3, 16 }, { 4, 64 } };
	static const uint8_t over[][2] = { { 0, 4 }, { 0xff, 8 } };
	static const uint8_t sync[][4] = {
		{ 0, 0, RC_RAW, 7 }, { 0, 1, RC_ZERO, 0 }, { 0, 2, RC_ZLIB, 9 },
		{ 0, 3, RC_ZLIB, 200 }, { 1, 0, RC_RAW, 0 }, { 1, 15, RC_ZLIB, 1 },
		{ 2, 63, RC_RAW, 255 }, { 2, 10, RC_ZERO, 0 },
	};
	static const uint8_t again[][4] = {
		{ 0, 0, RC_ZERO, 0 }, { 0, 2, RC_RAW, 3 }, { 0, 2, RC_ZERO, 0 },
		{ 1, 4, RC_ZLIB, 44 }, { 2, 63, RC_ZLIB, 0 },
	};
	static const uint8_t corrupt[][4] = {
		{ 0, 0, RC_RAW, 7 }, { 1, 3, RC_ZLIB_FLIPPED, 100 },
		{ 2, 0, RC_RAW, 8 },
	};
	static const uint8_t nowhere[][4] = {
		{ 0, 1, RC_ZLIB, 5 }, { 0xff, 0, RC_RAW, 5 },
	};
	struct colo_ram_block blocks[] = {
		{ RC_BASE, 4 * 4096 }, { RC_BASE + 6 * 4096, 16 * 4096 },
	};
	uint8_t page[4096], z[4200];
	struct buf b, payload;
	uLongf zlen;

	/* an initial sync: blocks, raw, zero and zlib pages, a commit */
	b.len = 0;
	rc_blocks(&b, three, 3);
	rc_pages(&b, sync, sizeof(sync) / sizeof(sync[0]));
	put_u8(&b, RC_COMMIT);
	save("ram_cache", "sync", &b);

	/* then a checkpoint over it, a block moved, another commit */
	rc_pages(&b, again, sizeof(again) / sizeof(again[0]));
	put_u8(&b, RC_COMMIT);
	rc_blocks(&b, moved, 3);
	rc_pages(&b, again, sizeof(again) / sizeof(again[0]));
	put_u8(&b, RC_COMMIT);
	save("ram_cache", "sync-checkpoints-moved", &b);

	/* zlib data that does not inflate: refused, the rest dropped */
	b.len = 0;
	rc_blocks(&b, three, 3);
	rc_pages(&b, sync, 3);
	put_u8(&b, RC_COMMIT);
	rc_pages(&b, corrupt, sizeof(corrupt) / sizeof(corrupt[0]));
	put_u8(&b, RC_COMMIT);
	save("ram_cache", "zlib-corrupt", &b);

	/* a page in no block; staged pages discarded */
	b.len = 0;
	rc_blocks(&b, three, 3);
	rc_pages(&b, sync, 4);
	put_u8(&b, RC_DISCARD);
	rc_pages(&b, nowhere, 2);
	put_u8(&b, RC_COMMIT);
	save("ram_cache", "no-block-discard", &b);

	/* a block over the runtime's reserved range */
	b.len = 0;
	rc_blocks(&b, over, 2);
	rc_blocks(&b, three, 1);
	put_u8(&b, RC_COMMIT);
	save("ram_cache", "reserved-overlap", &b);

	/* the records' own bytes: RAM_BLOCKS, then PAGES of zero and zlib
	 * pages as page_stream.c writes them */
	b.len = 0;
	payload.len = COLO_RAM_BLOCKS_LEN(2);
	colo_ram_blocks_encode(blocks, 2, payload.b);
	rc_raw(&b, RC_BLOCKS, &payload);
	make_page(page, 4096, 1);
	zlen = sizeof(z);
	compress2(z, &zlen, page, 4096, 6);
	payload.len = 0;
	page_entry(&payload, RC_BASE, COLO_PAGE_ZERO, NULL, 0);
	page_entry(&payload, RC_BASE + 4096, COLO_PAGE_ZLIB, z, (uint32_t)zlen);
	page_entry(&payload, RC_BASE + 6 * 4096, COLO_PAGE_ZLIB, z,
		   (uint32_t)zlen);
	page_entry(&payload, RC_BASE + 21 * 4096, COLO_PAGE_ZERO, NULL, 0);
	rc_raw(&b, RC_PAGES, &payload);
	put_u8(&b, RC_COMMIT);
	save("ram_cache", "records-zlib", &b);
}

/* --- fuzz_auth_peer: a mode byte and steps (fuzz_auth_peer.c's) ------- */

enum { AP_PASS, AP_FLIP, AP_OWN, AP_TAGGED, AP_TAGGED_FLIP, AP_REPLAY,
       AP_LOST, AP_OURS };

/* A tagged record's arguments: type, length, payload. */
static void ap_rec(struct buf *b, uint8_t op, uint8_t type, const char *text)
{
	put_u8(b, op);
	put_u8(b, type);
	put_u8(b, (uint8_t)strlen(text));
	put(b, text, strlen(text));
}

static void write_auth_peer(void)
{
	struct buf b;
	uint8_t hello[COLO_HELLO_LEN] = { 0 };

	b.len = 0;	/* we are the secondary: the peer's HELLO, PROOF */
	put_u8(&b, 1);
	put_u8(&b, AP_PASS);
	put_u8(&b, AP_PASS);
	ap_rec(&b, AP_TAGGED, COLO_HEARTBEAT, "\x01\x02\x03\x04\x05\x06\x07\x08");
	ap_rec(&b, AP_OURS, COLO_HELLO, "our HELLO, tagged");
	ap_rec(&b, AP_TAGGED, COLO_PAGES, "pages");
	put_u8(&b, AP_REPLAY);
	save("auth_peer", "responder-replay", &b);

	b.len = 0;	/* we are the primary: the peer's CHALLENGE */
	put_u8(&b, 0);
	put_u8(&b, AP_PASS);
	ap_rec(&b, AP_OURS, COLO_HELLO, "hello");
	ap_rec(&b, AP_TAGGED, COLO_HELLO, "hello back");
	ap_rec(&b, AP_TAGGED_FLIP, COLO_CHECKPOINT_REPLY, "12345678");
	put_u8(&b, 3);			/* a byte of the payload */
	put_u8(&b, 0x80);
	save("auth_peer", "initiator-altered", &b);

	b.len = 0;	/* a record lost after the handshake */
	put_u8(&b, 1);
	put_u8(&b, AP_PASS);
	put_u8(&b, AP_PASS);
	ap_rec(&b, AP_LOST, COLO_PAGES, "lost");
	put_u8(&b, COLO_PAGES);
	put_u8(&b, 4);
	put(&b, "next", 4);
	save("auth_peer", "responder-lost", &b);

	b.len = 0;	/* the peer holds another key */
	put_u8(&b, 3);
	put_u8(&b, AP_PASS);
	save("auth_peer", "responder-other-key", &b);
	b.len = 0;
	put_u8(&b, 2);
	put_u8(&b, AP_OWN);
	put_u16(&b, COLO_AUTH_CHALLENGE);
	put_u8(&b, AUTH_CHALLENGE_LEN);
	for (int i = 0; i < AUTH_CHALLENGE_LEN; i++)
		put_u8(&b, (uint8_t)(i + 1));
	save("auth_peer", "initiator-other-key-forged", &b);

	b.len = 0;	/* the peer's HELLO changed: its key id, its nonce */
	put_u8(&b, 1);
	put_u8(&b, AP_FLIP);
	put_u8(&b, 5);
	put_u8(&b, 0x01);
	save("auth_peer", "responder-key-id-changed", &b);
	b.len = 0;
	put_u8(&b, 1);
	put_u8(&b, AP_FLIP);
	put_u8(&b, 20);
	put_u8(&b, 0x01);
	put_u8(&b, AP_PASS);
	save("auth_peer", "responder-nonce-changed", &b);

	b.len = 0;	/* a peer without a key: HELLO first */
	put_u8(&b, 1);
	put_u8(&b, AP_OWN);
	put_u16(&b, COLO_HELLO);
	put_u8(&b, COLO_HELLO_LEN);
	put(&b, hello, sizeof(hello));
	save("auth_peer", "responder-plain-hello", &b);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR\n");
		return 2;
	}
	root = argv[1];
	mkdir(root, 0755);
	make_records();
	write_proto();
	write_channel();
	write_layout();
	write_guest_channel();
	write_netcompare();
	write_hello();
	write_ram_cache();
	write_auth_peer();
	printf("gen_corpus: seeds written in %s\n", root);
	return 0;
}
