/*
 * test_netcompare.c - netcompare's compare step (compare.h) on frames
 * built by hand (tests/lib/netcompare_test.h): TCP as a byte stream
 * whatever the segmentation (and across 2^32), each mismatch with its
 * reason and one checkpoint asked, the ACK rule, retransmissions of
 * released data, packet flows, the passthrough ports, timeouts, the
 * limits and the hard cap, epochs, release_all, the status fields.
 * Hostile frames, the parser and the flow table's bound:
 * test_netcompare_hostile.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "compare.h"
#include "netcompare_test.h"
#include "packet.h"
#include "status.h"

/* --- TCP as a byte stream ------------------------------------------------------- */

#define ISN	100000u
#define ACKN	5000u

/* 3 x 1000 bytes against 1 x 3000, either side first; then 1 x 3000
 * against 3 x 1000: the same stream, released whole, nothing asked. */
static void test_tcp_segmentation_matches(void **state)
{
	(void)state;
	nct_make_active();
	for (int i = 0; i < 3; i++)
		nct_seg(true, ISN + 1000 * i, 1000, PACKET_ACK, ACKN);
	assert_int_equal(nct.n, 0);
	nct_big_seg(false, ISN, 3000, ACKN);
	assert_int_equal(nct.n, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(nct_emitted_seq(i), ISN + 1000 * i);
	assert_int_equal(nct_stats()->matched_frames, 3);

	/* the secondary first this time, in pieces; the primary in one */
	for (int i = 0; i < 3; i++)
		nct_seg(false, ISN + 3000 + 1000 * i, 1000, PACKET_ACK, ACKN);
	assert_int_equal(nct.n, 3);
	nct_big_seg(true, ISN + 3000, 3000, ACKN);
	assert_int_equal(nct.n, 4);
	assert_int_equal(nct_emitted_seq(3), ISN + 3000);
	nct_no_mismatch();
	assert_int_equal(nct_stats()->released_frames, 4);
	assert_int_equal(nct_stats()->depth_bytes, 0);
}

/* The secondary one byte at a time against 1000-byte segments. */
static void test_tcp_byte_by_byte(void **state)
{
	(void)state;
	nct_make_active();
	nct_seg(true, ISN, 1000, PACKET_ACK, ACKN);
	nct_seg(true, ISN + 1000, 1000, PACKET_ACK, ACKN);
	for (uint32_t i = 0; i < 1999; i++)
		nct_seg(false, ISN + i, 1, PACKET_ACK, ACKN);
	assert_int_equal(nct.n, 1);		/* the second lacks a byte */
	nct_seg(false, ISN + 1999, 1, PACKET_ACK, ACKN);
	assert_int_equal(nct.n, 2);
	nct_no_mismatch();
	assert_int_equal(nct_stats()->depth_frames, 0);
}

/* A byte differs: PAYLOAD, found as soon as both sides have it (even on
 * a segment still waiting behind another), one checkpoint, one log
 * line; nothing leaves until the checkpoint, then all in order. */
static void test_tcp_payload_mismatch(void **state)
{
	uint8_t f[NCT_FRAME_MAX], data[1000];
	size_t n;

	(void)state;
	nct_make_active();
	nct_seg(true, ISN, 1000, PACKET_ACK, ACKN + 10);	/* waits for its ACK */
	nct_seg(true, ISN + 1000, 1000, PACKET_ACK, ACKN);
	nct_seg(false, ISN, 1000, PACKET_ACK, ACKN);
	assert_int_equal(nct.asked, 0);
	for (uint32_t i = 0; i < 1000; i++)
		data[i] = nct_stream_byte(ISN + 1000 + i);
	data[417] ^= 0x20;
	n = nct_tcp_frame(f, ISN + 1000, ACKN, PACKET_ACK, data, sizeof(data));
	compare_secondary(nct.nc, f, n, 1, 0);
	nct_one_checkpoint(COMPARE_PAYLOAD);
	assert_int_equal(nct.infos, 1);
	assert_int_equal(nct.n, 0);

	/* more of the epoch, matching or not: nothing leaves, no more asks */
	nct_big_seg(false, ISN, 2000, ACKN + 10);
	nct_seg(true, ISN + 2000, 500, PACKET_ACK, ACKN);
	nct_seg(false, ISN + 2000, 500, PACKET_ACK, ACKN + 10);
	assert_int_equal(nct.n, 0);
	assert_int_equal(nct.asked, 1);
	assert_int_equal(nct.infos, 1);

	compare_checkpoint(nct.nc, 1, 10);
	assert_int_equal(nct.n, 3);
	assert_int_equal(nct_emitted_seq(0), ISN);
	assert_int_equal(nct_emitted_seq(1), ISN + 1000);
	assert_int_equal(nct_emitted_seq(2), ISN + 2000);
	assert_int_equal(nct_stats()->matched_frames, 0);
	assert_int_equal(nct_stats()->depth_frames, 0);
	assert_int_equal(nct_stats()->depth_bytes, 0);
}

/* SYN at another ISN: FLAGS. The same ISN: released, data follows. */
static void test_tcp_syn(void **state)
{
	(void)state;
	nct_make_active();
	nct_seg(true, ISN, 0, PACKET_SYN | PACKET_ACK, ACKN);
	nct_seg(false, ISN, 0, PACKET_SYN | PACKET_ACK, ACKN);
	assert_int_equal(nct.n, 1);
	nct_seg(true, ISN + 1, 100, PACKET_ACK, ACKN);
	nct_seg(false, ISN + 1, 100, PACKET_ACK, ACKN);
	assert_int_equal(nct.n, 2);
	nct_no_mismatch();

	nct_make_active();
	nct_seg(true, ISN, 0, PACKET_SYN, 0);
	nct_seg(false, ISN + 77777, 0, PACKET_SYN, 0);
	nct_one_checkpoint(COMPARE_FLAGS);
	assert_int_equal(nct.n, 0);
}

/* FIN where the secondary's stream ends elsewhere: LENGTH, either way. */
static void test_tcp_fin(void **state)
{
	(void)state;
	nct_make_active();			/* the same place: released */
	nct_seg(true, ISN, 100, PACKET_ACK | PACKET_FIN, ACKN);
	nct_seg(false, ISN, 100, PACKET_ACK | PACKET_FIN, ACKN);
	assert_int_equal(nct.n, 1);
	nct_no_mismatch();

	nct_make_active();			/* the secondary ends earlier */
	nct_seg(true, ISN, 100, PACKET_ACK | PACKET_FIN, ACKN);
	nct_seg(false, ISN, 60, PACKET_ACK | PACKET_FIN, ACKN);
	nct_one_checkpoint(COMPARE_LENGTH);
	assert_int_equal(nct.n, 0);

	nct_make_active();			/* the secondary goes on past it */
	nct_seg(true, ISN, 100, PACKET_ACK | PACKET_FIN, ACKN);
	nct_seg(false, ISN, 200, PACKET_ACK, ACKN);
	nct_one_checkpoint(COMPARE_LENGTH);

	nct_make_active();			/* the primary goes on past its FIN */
	nct_seg(false, ISN, 50, PACKET_ACK | PACKET_FIN, ACKN);
	nct_seg(true, ISN, 100, PACKET_ACK, ACKN);
	nct_one_checkpoint(COMPARE_LENGTH);
}

/* RST: released against the secondary's at the same seq; FLAGS at
 * another, or when the secondary resets what the primary goes on with. */
static void test_tcp_rst(void **state)
{
	(void)state;
	nct_make_active();
	nct_seg(true, ISN, 0, PACKET_RST | PACKET_ACK, ACKN);
	assert_int_equal(nct.n, 0);
	nct_seg(false, ISN, 0, PACKET_RST | PACKET_ACK, ACKN);
	assert_int_equal(nct.n, 1);
	nct_no_mismatch();

	nct_make_active();
	nct_seg(true, ISN, 0, PACKET_RST, 0);
	nct_seg(false, ISN + 5, 0, PACKET_RST, 0);
	nct_one_checkpoint(COMPARE_FLAGS);

	nct_make_active();
	nct_seg(false, ISN, 0, PACKET_RST, 0);
	nct_seg(true, ISN, 100, PACKET_ACK, ACKN);
	nct_one_checkpoint(COMPARE_FLAGS);
}

/* The primary acknowledges beyond what the secondary has: held, never a
 * mismatch by itself; released once the secondary acknowledges. */
static void test_tcp_ack_waits(void **state)
{
	(void)state;
	nct_make_active();
	nct_seg(true, ISN, 500, PACKET_ACK, ACKN + 1000);
	nct_seg(false, ISN, 500, PACKET_ACK, ACKN);
	nct_seg(true, ISN + 500, 0, PACKET_ACK, ACKN + 1000);	/* behind it */
	assert_int_equal(nct.n, 0);
	compare_tick(nct.nc, 50);
	assert_int_equal(nct.asked, 0);
	nct_seg(false, ISN + 500, 0, PACKET_ACK, ACKN + 999);
	assert_int_equal(nct.n, 0);
	nct_seg(false, ISN + 500, 0, PACKET_ACK, ACKN + 1000);
	assert_int_equal(nct.n, 2);
	nct_no_mismatch();
}

/* A stream across 2^32, segmented differently on each side, segments
 * straddling 0; acknowledgements wrapping too. */
static void test_tcp_wraparound(void **state)
{
	const uint32_t isn = 0xfffff000u;	/* 4096 bytes before 0 */
	uint32_t off;

	(void)state;
	nct_make_active();
	nct_seg(true, isn - 1, 0, PACKET_SYN | PACKET_ACK, 0xffffff00u);
	nct_seg(false, isn - 1, 0, PACKET_SYN | PACKET_ACK, 0xffffff00u);
	for (off = 0; off < 8000; off += 1000)
		nct_seg(true, isn + off, 1000, PACKET_ACK, 0xffffff00u + off / 10);
	for (off = 0; off < 8000; off += 1400) {
		uint32_t n = 8000 - off < 1400 ? 8000 - off : 1400;

		nct_seg(false, isn + off, n, PACKET_ACK, 0xffffff00u + 800);
	}
	assert_int_equal(nct.n, 9);
	for (unsigned i = 1; i < 9; i++)
		assert_int_equal(nct_emitted_seq(i), isn + 1000 * (i - 1));
	nct_no_mismatch();
	assert_int_equal(nct_stats()->depth_bytes, 0);
}

/* Data released at a checkpoint, retransmitted in the next epoch with
 * an ACK already emitted: no secondary counterpart needed. */
static void test_tcp_retransmission_after_checkpoint(void **state)
{
	uint8_t f[NCT_FRAME_MAX], data[1000];
	size_t n;

	(void)state;
	nct_make_active();
	nct_seg(true, ISN, 1000, PACKET_ACK, ACKN);
	nct_seg(true, ISN + 1000, 1000, PACKET_ACK, ACKN);
	compare_checkpoint(nct.nc, 1, 10);
	assert_int_equal(nct.n, 2);
	/* epoch 2: the first again */
	for (uint32_t i = 0; i < 1000; i++)
		data[i] = nct_stream_byte(ISN + i);
	n = nct_tcp_frame(f, ISN, ACKN, PACKET_ACK, data, 1000);
	compare_primary(nct.nc, f, n, 2, 20);
	assert_int_equal(nct.n, 3);
	/* one straddling the released end: its new part needs the secondary */
	for (uint32_t i = 0; i < 1000; i++)
		data[i] = nct_stream_byte(ISN + 1500 + i);
	n = nct_tcp_frame(f, ISN + 1500, ACKN, PACKET_ACK, data, 1000);
	compare_primary(nct.nc, f, n, 2, 20);
	assert_int_equal(nct.n, 3);
	for (uint32_t i = 0; i < 500; i++)
		data[i] = nct_stream_byte(ISN + 2000 + i);
	n = nct_tcp_frame(f, ISN + 2000, ACKN, PACKET_ACK, data, 500);
	compare_secondary(nct.nc, f, n, 2, 20);
	assert_int_equal(nct.n, 4);
	nct_no_mismatch();
}

/* --- packet flows ------------------------------------------------------------- */

static void test_other_packets(void **state)
{
	uint8_t f[NCT_FRAME_MAX], g[NCT_FRAME_MAX], data[100];
	size_t n, m;

	(void)state;
	memset(data, 0x5a, sizeof(data));
	nct_make_active();
	/* ARP, the same: released; ICMP, the same: released */
	n = nct_arp_frame(f, 1);
	compare_primary(nct.nc, f, n, 1, 0);
	assert_int_equal(nct.n, 0);
	compare_secondary(nct.nc, f, n, 1, 0);
	assert_int_equal(nct.n, 1);
	n = nct_icmp_frame(f, data, 64);
	compare_secondary(nct.nc, f, n, 1, 0);
	compare_primary(nct.nc, f, n, 1, 0);
	assert_int_equal(nct.n, 2);
	/* UDP: FIFO, two in a row */
	n = nct_udp_frame(f, 53, 4000, data, 40);
	m = nct_udp_frame(g, 53, 4000, data, 41);
	compare_primary(nct.nc, f, n, 1, 0);
	compare_primary(nct.nc, g, m, 1, 0);
	compare_secondary(nct.nc, f, n, 1, 0);
	compare_secondary(nct.nc, g, m, 1, 0);
	assert_int_equal(nct.n, 4);
	assert_int_equal(nct.len[3], m);
	nct_no_mismatch();

	nct_make_active();			/* another length */
	n = nct_udp_frame(f, 53, 4000, data, 40);
	m = nct_udp_frame(g, 53, 4000, data, 44);
	compare_primary(nct.nc, f, n, 1, 0);
	compare_secondary(nct.nc, g, m, 1, 0);
	nct_one_checkpoint(COMPARE_LENGTH);

	nct_make_active();			/* a byte */
	n = nct_icmp_frame(f, data, 64);
	memcpy(g, f, n);
	g[n - 3] ^= 1;
	compare_primary(nct.nc, f, n, 1, 0);
	compare_secondary(nct.nc, g, n, 1, 0);
	nct_one_checkpoint(COMPARE_PAYLOAD);
	assert_int_equal(nct.n, 0);
	compare_checkpoint(nct.nc, 1, 0);
	assert_int_equal(nct.n, 1);
}

/* A passthrough port: held until the checkpoint, never compared. */
static void test_passthrough(void **state)
{
	static const uint16_t ports[] = { 22, 5353 };
	uint8_t f[NCT_FRAME_MAX], data[10] = { 1 };
	size_t n;

	(void)state;
	nct_make(100, 1u << 20, ports, 2);
	compare_set_active(nct.nc, true);
	compare_checkpoint(nct.nc, 0, 0);
	n = nct_udp_frame(f, 5353, 5353, data, sizeof(data));
	compare_primary(nct.nc, f, n, 1, 0);
	compare_secondary(nct.nc, f, n, 1, 0);
	compare_tick(nct.nc, 10000);
	assert_int_equal(nct.n, 0);
	assert_int_equal(nct.asked, 0);
	assert_int_equal(nct_stats()->passthrough_frames, 1);
	compare_checkpoint(nct.nc, 1, 10000);
	assert_int_equal(nct.n, 1);
	nct_no_mismatch();
}

/* --- time, limits, epochs ------------------------------------------------------ */

static void test_timeout(void **state)
{
	uint8_t f[NCT_FRAME_MAX], d[100] = { 0 };
	size_t n;

	(void)state;
	nct_make_active();
	nct_seg(true, ISN, 100, PACKET_ACK, ACKN);	/* at 0 ms */
	compare_tick(nct.nc, 99);
	assert_int_equal(nct.asked, 0);
	compare_tick(nct.nc, 100);
	nct_one_checkpoint(COMPARE_TIMEOUT);
	compare_tick(nct.nc, 1000);
	assert_int_equal(nct.asked, 1);
	/* a frame of the next epoch counts from when its epoch begins */
	nct_seg(true, ISN + 100, 100, PACKET_ACK, ACKN);	/* epoch 1 too */
	n = nct_tcp_frame(f, ISN + 200, ACKN, PACKET_ACK, d, 100);
	compare_primary(nct.nc, f, n, 2, 1000);
	compare_checkpoint(nct.nc, 1, 5000);
	assert_int_equal(nct.n, 2);
	compare_tick(nct.nc, 5099);
	assert_int_equal(nct.asked, 1);
	compare_tick(nct.nc, 5100);
	assert_int_equal(nct.asked, 2);
}

/* At max_frames: QUEUE_FULL asked once, frames still taken up to twice
 * the limit; past it dropped and counted. Bytes likewise. */
static void test_queue_full(void **state)
{
	(void)state;
	nct_make(16, 1u << 20, NULL, 0);
	compare_set_active(nct.nc, true);
	compare_checkpoint(nct.nc, 0, 0);
	for (uint32_t i = 0; i < 15; i++)
		nct_seg(true, ISN + 10 * i, 10, PACKET_ACK, ACKN);
	assert_int_equal(nct.asked, 0);
	nct_seg(true, ISN + 150, 10, PACKET_ACK, ACKN);
	nct_one_checkpoint(COMPARE_QUEUE_FULL);
	for (uint32_t i = 16; i < 32; i++)
		nct_seg(true, ISN + 10 * i, 10, PACKET_ACK, ACKN);
	assert_int_equal(nct_stats()->dropped_frames, 0);
	assert_int_equal(nct_stats()->depth_frames, 32);
	nct_seg(true, ISN + 320, 10, PACKET_ACK, ACKN);
	nct_seg(false, ISN + 330, 10, PACKET_ACK, ACKN);	/* its epoch is over */
	assert_int_equal(nct_stats()->dropped_frames, 1);
	assert_int_equal(nct_stats()->depth_frames, 32);
	assert_int_equal(nct.asked, 1);
	compare_checkpoint(nct.nc, 1, 0);
	assert_int_equal(nct.n, 32);
	for (unsigned i = 0; i < 32; i++)
		assert_int_equal(nct_emitted_seq(i), ISN + 10 * i);
	assert_int_equal(nct_stats()->high_frames, 32);

	nct_make(1000, 10000, NULL, 0);	/* bytes: 5 x 2054 >= 10000 */
	for (int i = 0; i < 9; i++)
		nct_big_seg(true, ISN + 2000 * i, 2000, ACKN);
	assert_int_equal(nct.asked, 1);
	assert_int_equal(nct.why, COMPARE_QUEUE_FULL);
	assert_int_equal(nct_stats()->dropped_frames, 0);
	nct_big_seg(true, ISN + 18000, 2000, ACKN);
	assert_int_equal(nct_stats()->dropped_frames, 1);
	assert_true(nct_stats()->depth_bytes <= 20000);
}

/* A secondary frame of a later epoch waits for it; of an earlier one,
 * or while comparing is off, or of an epoch begun off, is stale. */
static void test_epochs(void **state)
{
	uint8_t f[NCT_FRAME_MAX];
	size_t n = nct_arp_frame(f, 7);

	(void)state;
	nct_make(100, 1u << 20, NULL, 0);
	/* off: primary frames held, secondary frames stale */
	compare_primary(nct.nc, f, n, 1, 0);
	compare_secondary(nct.nc, f, n, 1, 0);
	assert_int_equal(nct_stats()->stale_frames, 1);
	compare_checkpoint(nct.nc, 0, 0);
	assert_int_equal(nct.n, 0);
	/* on during epoch 1, which began off: not compared */
	compare_set_active(nct.nc, true);
	compare_secondary(nct.nc, f, n, 1, 0);
	assert_int_equal(nct_stats()->stale_frames, 2);
	compare_primary(nct.nc, f, n, 2, 0);
	compare_secondary(nct.nc, f, n, 2, 0);	/* waits for epoch 2 */
	assert_int_equal(nct_stats()->depth_frames, 3);
	assert_int_equal(nct.n, 0);
	compare_checkpoint(nct.nc, 1, 0);
	assert_int_equal(nct.n, 2);		/* epoch 1's, then matched */
	assert_int_equal(nct_stats()->matched_frames, 1);
	compare_secondary(nct.nc, f, n, 1, 0);
	assert_int_equal(nct_stats()->stale_frames, 3);
	/* a waiting frame of epoch 4 goes with checkpoint 4 (3 skipped) */
	compare_secondary(nct.nc, f, n, 4, 0);
	assert_int_equal(nct_stats()->depth_frames, 1);
	compare_checkpoint(nct.nc, 4, 0);
	assert_int_equal(nct_stats()->depth_frames, 0);
	nct_no_mismatch();
}

/* Without a secondary: every held frame leaves, in order; flows go. */
static void test_release_all(void **state)
{
	(void)state;
	nct_make_active();
	nct_seg(true, ISN, 10, PACKET_ACK, ACKN);
	nct_seg(true, ISN + 10, 10, PACKET_ACK, ACKN);
	nct_seg(false, ISN + 100, 10, PACKET_ACK, ACKN);
	nct_seg(false, ISN + 5000, 10, PACKET_ACK, ACKN);	/* a hole: LENGTH */
	nct_one_checkpoint(COMPARE_LENGTH);
	compare_release_all(nct.nc);
	assert_int_equal(nct.n, 2);
	assert_int_equal(nct_emitted_seq(1), ISN + 10);
	assert_int_equal(nct_stats()->flows, 0);
	assert_int_equal(nct_stats()->depth_frames, 0);
	assert_int_equal(nct_stats()->depth_bytes, 0);
}

/* --- figures ---------------------------------------------------------------------- */

/* key's value in status text is value. */
static void has_field(const char *text, const char *key, const char *value)
{
	char line[128];
	const char *p = strstr(text, key);

	assert_non_null(p);
	p += strlen(key);
	assert_true(*p == ' ');
	while (*p == ' ')
		p++;
	snprintf(line, sizeof(line), "%s\n", value);
	assert_memory_equal(p, line, strlen(line));
}

static void test_status(void **state)
{
	struct evbuffer *buf = evbuffer_new();
	uint8_t f[NCT_FRAME_MAX], g[NCT_FRAME_MAX];
	struct status_out so;
	char text[8192];
	int n;

	(void)state;
	nct_make_active();
	compare_primary(nct.nc, f, nct_arp_frame(f, 1), 1, 0);
	compare_secondary(nct.nc, g, nct_arp_frame(g, 2), 1, 0);
	status_begin(&so, buf, false);
	compare_status(nct.nc, &so);
	status_end(&so);
	n = evbuffer_remove(buf, text, sizeof(text) - 1);
	evbuffer_free(buf);
	assert_true(n > 0);
	text[n] = '\0';
	has_field(text, "compare_mismatch_payload", "1");
	has_field(text, "compare_checkpoints_payload", "1");
	has_field(text, "compare_checkpoints_queue_full", "0");
	has_field(text, "compare_mismatch_queue_full", "0");
	has_field(text, "compare_primary_frames", "1");
	has_field(text, "compare_depth_frames", "2");
	has_field(text, "compare_last_mismatch", "payload");
	has_field(text, "compare_flows", "1");
	assert_string_equal(compare_reason_name(COMPARE_QUEUE_FULL),
			    "queue-full");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tcp_segmentation_matches, nct_setup, nct_teardown),
		cmocka_unit_test_setup_teardown(test_tcp_byte_by_byte, nct_setup, nct_teardown),
		cmocka_unit_test_setup_teardown(test_tcp_payload_mismatch, nct_setup, nct_teardown),
		cmocka_unit_test_setup_teardown(test_tcp_syn, nct_setup, nct_teardown),
		cmocka_unit_test_setup_teardown(test_tcp_fin, nct_setup, nct_teardown),
		cmocka_unit_test_setup_teardown(test_tcp_rst, nct_setup, nct_teardown),
		cmocka_unit_test_setup_teardown(test_tcp_ack_waits, nct_setup, nct_teardown),
		cmocka_unit_test_setup_teardown(test_tcp_wraparound, nct_setup, nct_teardown),
		cmocka_unit_test_setup_teardown(test_tcp_retransmission_after_checkpoint, nct_setup, nct_teardown),
		cmocka_unit_test_setup_teardown(test_other_packets, nct_setup, nct_teardown),
		cmocka_unit_test_setup_teardown(test_passthrough, nct_setup, nct_teardown),
		cmocka_unit_test_setup_teardown(test_timeout, nct_setup, nct_teardown),
		cmocka_unit_test_setup_teardown(test_queue_full, nct_setup, nct_teardown),
		cmocka_unit_test_setup_teardown(test_epochs, nct_setup, nct_teardown),
		cmocka_unit_test_setup_teardown(test_release_all, nct_setup, nct_teardown),
		cmocka_unit_test_setup_teardown(test_status, nct_setup, nct_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
