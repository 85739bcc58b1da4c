/*
 * netcompare_test.c - frames built by hand and a harness around one
 * struct netcompare, for test_netcompare*.c (netcompare_test.h).
 * Without cmocka: it is linked into every test and benchmark.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netcompare_test.h"
#include "packet.h"

/* A harness that cannot go on: a bug in the test. */
static void must(bool ok, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "netcompare_test: %s\n", what);
	abort();
}

/* --- frames --------------------------------------------------------------- */

void nct_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void nct_be32(uint8_t *p, uint32_t v)
{
	nct_be16(p, (uint16_t)(v >> 16));
	nct_be16(p + 2, (uint16_t)v);
}

/* Ethernet, then IPv4 with proto and a transport header of thl bytes and
 * len bytes of data from payload; returns the frame's length. */
size_t nct_ip_frame(uint8_t *f, uint8_t proto, uint32_t src, uint32_t dst,
		    size_t thl, const uint8_t *payload, size_t len)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 10, 0xfe, 0, 0, 0, 0,
					  100 };
	uint8_t *ip = f + 14;

	memcpy(f, macs, 12);
	nct_be16(f + 12, 0x0800);
	memset(ip, 0, 20 + thl);
	ip[0] = 0x45;
	nct_be16(ip + 2, (uint16_t)(20 + thl + len));
	nct_be16(ip + 6, 0x4000);		/* DF */
	ip[8] = 64;
	ip[9] = proto;
	nct_be32(ip + 12, src);
	nct_be32(ip + 16, dst);
	if (len)
		memcpy(ip + 20 + thl, payload, len);
	return 14 + 20 + thl + len;
}

size_t nct_tcp_frame(uint8_t *f, uint32_t seq, uint32_t ack, uint8_t flags,
			const uint8_t *payload, size_t len)
{
	size_t n = nct_ip_frame(f, 6, NCT_GUEST_IP, NCT_CLIENT_IP, 20, payload, len);
	uint8_t *t = f + 34;

	nct_be16(t, NCT_GUEST_PORT);
	nct_be16(t + 2, NCT_CLIENT_PORT);
	nct_be32(t + 4, seq);
	nct_be32(t + 8, ack);
	t[12] = 5 << 4;
	t[13] = flags;
	nct_be16(t + 14, 65535);
	return n;
}

size_t nct_udp_frame(uint8_t *f, uint16_t sport, uint16_t dport,
			const uint8_t *payload, size_t len)
{
	size_t n = nct_ip_frame(f, 17, NCT_GUEST_IP, NCT_CLIENT_IP, 8, payload, len);

	nct_be16(f + 34, sport);
	nct_be16(f + 36, dport);
	nct_be16(f + 38, (uint16_t)(8 + len));
	return n;
}

size_t nct_icmp_frame(uint8_t *f, const uint8_t *payload, size_t len)
{
	size_t n = nct_ip_frame(f, 1, NCT_GUEST_IP, NCT_CLIENT_IP, 8, payload, len);

	f[34] = 0;			/* echo reply */
	return n;
}

size_t nct_arp_frame(uint8_t *f, uint8_t last)
{
	memset(f, 0, 42);
	memset(f, 0xff, 6);
	nct_be16(f + 12, 0x0806);
	nct_be16(f + 14, 1);
	nct_be16(f + 16, 0x0800);
	f[18] = 6;
	f[19] = 4;
	nct_be16(f + 20, 2);
	f[41] = last;
	return 42;
}

/* The guest's stream: the byte at sequence number s (the same on both
 * sides, whatever the segmentation). */
uint8_t nct_stream_byte(uint32_t s)
{
	return (uint8_t)(s * 7u + (s >> 9) + 1);
}

/* --- the harness ----------------------------------------------------------- */

struct nct_harness nct;

static void on_emit(const uint8_t *frame, size_t len, void *opaque)
{
	struct nct_harness *t = opaque;

	if (t->keep && t->n < NCT_SEEN_MAX) {
		t->frame[t->n] = malloc(len ? len : 1);
		must(t->frame[t->n] != NULL, "out of memory");
		memcpy(t->frame[t->n], frame, len);
		t->len[t->n] = len;
	}
	t->n++;
}

static void on_checkpoint(enum compare_reason why, void *opaque)
{
	struct nct_harness *t = opaque;

	t->asked++;
	t->why = why;
}

void nct_on_log(enum log_level level, const char *line, void *opaque)
{
	(void)opaque;
	if (level == LOG_INFO && strstr(line, "mismatch"))
		nct.infos++;
}

void nct_free(void)
{
	compare_free(nct.nc);
	for (unsigned i = 0; i < nct.n && i < NCT_SEEN_MAX; i++)
		free(nct.frame[i]);
	memset(&nct, 0, sizeof(nct));
}

/* A netcompare with these limits; ports passed through. */
void nct_make(uint32_t max_frames, uint64_t max_bytes, const uint16_t *ports,
	      unsigned n_ports)
{
	struct compare_params p = {
		.max_frames = max_frames,
		.max_bytes = max_bytes,
		.timeout_ms = 100,
		.n_passthrough = n_ports,
		.emit = on_emit,
		.checkpoint = on_checkpoint,
		.opaque = &nct,
	};

	nct_free();
	nct.keep = true;
	if (n_ports)
		memcpy(p.passthrough, ports, n_ports * sizeof(*ports));
	must(compare_new(&nct.nc, &p) == 0, "compare_new refused the limits");
}

/* Compared from epoch 1 on (checkpoint 0 loaded while active). */
void nct_make_active(void)
{
	nct_make(4096, 16u << 20, NULL, 0);
	compare_set_active(nct.nc, true);
	compare_checkpoint(nct.nc, 0, 0);
}

const struct compare_stats *nct_stats(void)
{
	return compare_stats(nct.nc);
}

/* A segment of the guest's stream from one side, epoch 1. */
void nct_seg(bool primary, uint32_t seq, uint32_t len, uint8_t flags,
	     uint32_t ack)
{
	uint8_t f[NCT_FRAME_MAX], data[NCT_FRAME_MAX];
	uint32_t ds = seq + !!(flags & PACKET_SYN);
	size_t n;

	must(len <= 1460, "nct_seg: over one frame");
	for (uint32_t i = 0; i < len; i++)
		data[i] = nct_stream_byte(ds + i);
	n = nct_tcp_frame(f, seq, ack, flags, data, len);
	if (primary)
		compare_primary(nct.nc, f, n, 1, 0);
	else
		compare_secondary(nct.nc, f, n, 1, 0);
}

/* A segment as nct_seg(), bigger than one frame: one piece of up to
 * 64 KiB, as a TSO frame would be. */
void nct_big_seg(bool primary, uint32_t seq, uint32_t len, uint32_t ack)
{
	uint8_t *f = malloc(64 + len), *data = malloc(len + 1);
	size_t n;

	must(f && data, "out of memory");
	for (uint32_t i = 0; i < len; i++)
		data[i] = nct_stream_byte(seq + i);
	n = nct_tcp_frame(f, seq, ack, PACKET_ACK, data, len);
	if (primary)
		compare_primary(nct.nc, f, n, 1, 0);
	else
		compare_secondary(nct.nc, f, n, 1, 0);
	free(f);
	free(data);
}

int64_t nct_emitted_seq(unsigned i)
{
	struct packet pkt;
	const char *why;

	if (i >= nct.n || i >= NCT_SEEN_MAX || !nct.frame[i] ||
	    packet_parse(nct.frame[i], nct.len[i], &pkt, &why) ||
	    pkt.kind != PACKET_TCP)
		return -1;
	return pkt.seq;
}

int nct_setup(void **state)
{
	(void)state;
	log_set_quiet(1);
	log_set_level(LOG_INFO);
	log_set_hook(nct_on_log, NULL);
	memset(&nct, 0, sizeof(nct));
	return 0;
}

int nct_teardown(void **state)
{
	(void)state;
	nct_free();
	log_set_hook(NULL, NULL);
	log_set_quiet(0);
	return 0;
}

