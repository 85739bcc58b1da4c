/*
 * test_netcompare_hostile.c - netcompare's compare step against what a
 * broken or hostile guest may send: frames cut short or lying about
 * their lengths, from either side (MALFORMED, no crash, nothing read
 * out of bounds under ASan); packet.h's parser on its own; a flood of
 * 100,000 flows against the flow table's bound; parameters refused.
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

#include "compare.h"
#include "flow.h"
#include "log_capture.h"
#include "netcompare_test.h"
#include "packet.h"

#define ISN	100000u
#define ACKN	5000u

/* --- hostile frames --------------------------------------------------------------- */

struct hostile {
	const char *name;
	void (*spoil)(uint8_t *f, size_t *n);
};

static void cut_eth(uint8_t *f, size_t *n) { (void)f; *n = 10; }
static void cut_ip(uint8_t *f, size_t *n) { (void)f; *n = 14 + 12; }
static void cut_tcp(uint8_t *f, size_t *n) { (void)f; *n = 34 + 12; }
static void ihl_4(uint8_t *f, size_t *n) { (void)n; f[14] = 0x44; }
static void ihl_15(uint8_t *f, size_t *n) { f[14] = 0x4f; *n = 14 + 40; nct_be16(f + 16, 40); }
static void doff_over(uint8_t *f, size_t *n)
{
	f[34 + 12] = 0xf0;		/* 60 bytes of a 40-byte segment */
	nct_be16(f + 16, 60);
	*n = 14 + 60;
}
static void doff_4(uint8_t *f, size_t *n) { (void)n; f[34 + 12] = 0x40; }
static void total_65535(uint8_t *f, size_t *n) { (void)n; nct_be16(f + 16, 65535); }
static void total_below_ihl(uint8_t *f, size_t *n) { (void)n; nct_be16(f + 16, 19); }
static void version_6(uint8_t *f, size_t *n) { (void)n; f[14] = 0x65; }
static void empty(uint8_t *f, size_t *n) { (void)f; *n = 0; }

static const struct hostile hostiles[] = {
	{ "truncated Ethernet", cut_eth },
	{ "truncated IPv4", cut_ip },
	{ "truncated TCP", cut_tcp },
	{ "ihl 4", ihl_4 },
	{ "ihl past the frame", ihl_15 },
	{ "TCP data offset past the segment", doff_over },
	{ "TCP data offset 4", doff_4 },
	{ "total length 65535", total_65535 },
	{ "total length below ihl", total_below_ihl },
	{ "IPv4 version 6", version_6 },
	{ "empty frame", empty },
};

/* From either side: MALFORMED, one checkpoint, no crash; the primary's
 * frame is held and leaves with its checkpoint. */
static void test_hostile_frames(void **state)
{
	uint8_t f[NCT_FRAME_MAX], data[100] = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(hostiles) / sizeof(hostiles[0]); i++) {
		for (int side = 0; side < 2; side++) {
			size_t n = nct_tcp_frame(f, ISN, ACKN, PACKET_ACK, data, 100);

			hostiles[i].spoil(f, &n);
			nct_make_active();
			if (side == 0)
				compare_primary(nct.nc, f, n, 1, 0);
			else
				compare_secondary(nct.nc, f, n, 1, 0);
			print_message("%s (%s)\n", hostiles[i].name,
				      side ? "secondary" : "primary");
			nct_one_checkpoint(COMPARE_MALFORMED);
			compare_checkpoint(nct.nc, 1, 0);
			assert_int_equal(nct.n, side == 0 ? 1 : 0);
			assert_int_equal(nct_stats()->depth_frames, 0);
		}
	}
}

/* The parser alone: reasons, padding past the total length ignored,
 * VLAN and fragments as others. */
static void test_packet_parse(void **state)
{
	uint8_t f[NCT_FRAME_MAX], data[10] = "0123456789";
	struct packet pkt;
	const char *why;
	size_t n;

	(void)state;
	n = nct_tcp_frame(f, 7, 9, PACKET_ACK | PACKET_FIN, data, 10);
	memset(f + n, 0xee, 20);	/* Ethernet padding */
	assert_int_equal(packet_parse(f, n + 20, &pkt, &why), 0);
	assert_int_equal(pkt.kind, PACKET_TCP);
	assert_int_equal(pkt.payload_len, 10);
	assert_memory_equal(pkt.payload, data, 10);
	assert_int_equal(pkt.seq, 7);
	assert_int_equal(pkt.ack, 9);
	assert_int_equal(pkt.flags, PACKET_ACK | PACKET_FIN);
	assert_int_equal(pkt.sport, NCT_GUEST_PORT);
	assert_int_equal(pkt.src, NCT_GUEST_IP);

	f[14 + 6] = 0x20;		/* MF: a fragment */
	assert_int_equal(packet_parse(f, n, &pkt, &why), 0);
	assert_int_equal(pkt.kind, PACKET_OTHER);
	assert_int_equal(pkt.sport, 0);
	assert_int_equal(pkt.proto, 6);

	nct_be16(f + 12, 0x8100);		/* VLAN */
	assert_int_equal(packet_parse(f, n, &pkt, &why), 0);
	assert_int_equal(pkt.kind, PACKET_OTHER);

	n = nct_udp_frame(f, 1, 2, data, 10);
	nct_be16(f + 38, 30);
	assert_int_equal(packet_parse(f, n, &pkt, &why), -EPROTO);
	assert_string_equal(why, "UDP length past the packet");
	n = nct_tcp_frame(f, 7, 9, 0, data, 10);
	nct_be16(f + 16, 65535);
	assert_int_equal(packet_parse(f, n, &pkt, &why), -EPROTO);
	assert_string_equal(why, "IPv4 total length past the frame");
}

/* --- memory ---------------------------------------------------------------------- */

/* 100,000 flows, each matched at once: the table stays at its bound
 * (idle flows give way); then secondary-only flows, which stay busy:
 * the table full asks QUEUE_FULL, and does not grow. */
static void test_flow_flood(void **state)
{
	uint8_t f[NCT_FRAME_MAX], data[8] = { 0 };
	const uint64_t bound = 2 * 64 + FLOW_SPARE;
	size_t n;

	(void)state;
	nct_make(64, 1u << 20, NULL, 0);
	nct.keep = false;
	compare_set_active(nct.nc, true);
	compare_checkpoint(nct.nc, 0, 0);
	for (uint32_t i = 0; i < 100000; i++) {
		n = nct_udp_frame(f, (uint16_t)(i % 60000 + 1),
			      (uint16_t)(i / 60000 + 1), data, sizeof(data));
		compare_primary(nct.nc, f, n, 1, 0);
		compare_secondary(nct.nc, f, n, 1, 0);
	}
	assert_int_equal(nct.n, 100000);
	nct_no_mismatch();
	assert_true(nct_stats()->flows_high <= bound);
	assert_int_equal(nct_stats()->depth_frames, 0);

	for (uint32_t i = 0; i < 100000; i++) {
		n = nct_tcp_frame(f, i, i, PACKET_ACK, NULL, 0);
		nct_be16(f + 36, (uint16_t)(i % 60000 + 1));
		nct_be16(f + 34, (uint16_t)(i / 60000 + 100));
		compare_secondary(nct.nc, f, n, 1, 0);
	}
	assert_true(nct_stats()->flows_high <= bound);
	nct_one_checkpoint(COMPARE_QUEUE_FULL);
	compare_checkpoint(nct.nc, 1, 0);
	/* the UDP flows and the secondary's are gone at the checkpoint */
	assert_int_equal(nct_stats()->flows, 0);
}

static void ignore_frame(const uint8_t *frame, size_t len, void *opaque)
{
	(void)frame, (void)len, (void)opaque;
}

static void ignore_checkpoint(enum compare_reason why, void *opaque)
{
	(void)why, (void)opaque;
}

static void test_bad_params(void **state)
{
	struct compare_params p = { .max_frames = 10, .max_bytes = 1000,
				    .timeout_ms = 10, .emit = ignore_frame,
				    .checkpoint = ignore_checkpoint };
	struct netcompare *nc;

	(void)state;
	log_capture_start();
	p.max_frames = 0;
	assert_int_equal(compare_new(&nc, &p), -EINVAL);
	assert_null(nc);
	p.max_frames = 10;
	p.max_bytes = 2ull << 30;
	assert_int_equal(compare_new(&nc, &p), -EINVAL);
	p.max_bytes = 1000;
	p.emit = NULL;
	assert_int_equal(compare_new(&nc, &p), -EINVAL);
	assert_non_null(strstr(log_captured(), "callbacks"));
	log_capture_stop();
	log_set_hook(nct_on_log, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hostile_frames, nct_setup, nct_teardown),
		cmocka_unit_test_setup_teardown(test_packet_parse, nct_setup, nct_teardown),
		cmocka_unit_test_setup_teardown(test_flow_flood, nct_setup, nct_teardown),
		cmocka_unit_test_setup_teardown(test_bad_params, nct_setup, nct_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
