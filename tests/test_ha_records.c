/*
 * test_ha_records.c - the small records of failover, without a network:
 * the LAN path's beat (daemon/lan_watch.h), both ends, and every refusal;
 * the gratuitous ARP of a takeover and the spacing of its rounds
 * (netcompare/announce.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "announce.h"
#include "colo_proto.h"
#include "lan_watch.h"

static void test_lan_beat_round_trip(void **state)
{
	struct lan_beat b = {
		.role = COLO_ROLE_PRIMARY, .flags = LAN_BEAT_PROTECTING,
		.incarnation = 0x0123456789abcdefull, .seq = 42,
	}, out;
	uint8_t buf[LAN_BEAT_LEN];

	(void)state;
	lan_beat_encode(&b, buf);
	/* network byte order, as the checkpoint link */
	assert_memory_equal(buf, "CLAN", 4);
	assert_int_equal(buf[5], LAN_BEAT_VERSION);
	assert_int_equal(buf[8], 0x01);
	assert_int_equal(buf[23], 42);
	assert_int_equal(lan_beat_decode(buf, sizeof(buf), &out), 0);
	assert_int_equal(out.role, b.role);
	assert_int_equal(out.flags, b.flags);
	assert_true(out.incarnation == b.incarnation);
	assert_true(out.seq == b.seq);
}

static void test_lan_beat_refusals(void **state)
{
	struct lan_beat b = { .role = COLO_ROLE_SECONDARY, .seq = 1 }, out;
	uint8_t good[LAN_BEAT_LEN], bad[LAN_BEAT_LEN + 1];

	(void)state;
	lan_beat_encode(&b, good);
	/* every length but the one */
	for (size_t len = 0; len <= sizeof(bad); len++) {
		memcpy(bad, good, sizeof(good));
		bad[LAN_BEAT_LEN] = 0;
		if (len != LAN_BEAT_LEN)
			assert_int_equal(lan_beat_decode(bad, len, &out), -EPROTO);
	}
	/* each field out of range */
	memcpy(bad, good, sizeof(good));
	bad[0] ^= 1;				/* magic */
	assert_int_equal(lan_beat_decode(bad, LAN_BEAT_LEN, &out), -EPROTO);
	memcpy(bad, good, sizeof(good));
	bad[5] = LAN_BEAT_VERSION + 1;		/* version */
	assert_int_equal(lan_beat_decode(bad, LAN_BEAT_LEN, &out), -EPROTO);
	memcpy(bad, good, sizeof(good));
	bad[6] = 3;				/* role */
	assert_int_equal(lan_beat_decode(bad, LAN_BEAT_LEN, &out), -EPROTO);
	bad[6] = 0;
	assert_int_equal(lan_beat_decode(bad, LAN_BEAT_LEN, &out), -EPROTO);
	memcpy(bad, good, sizeof(good));
	bad[7] = 0x02;				/* an unknown flag */
	assert_int_equal(lan_beat_decode(bad, LAN_BEAT_LEN, &out), -EPROTO);
}

static void test_announce_frame(void **state)
{
	const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xc0, 0x10, 0x01 };
	uint8_t f[ANNOUNCE_FRAME_LEN], zero[ANNOUNCE_FRAME_LEN] = { 0 };
	uint32_t ip;

	(void)state;
	inet_pton(AF_INET, "10.77.1.100", &ip);
	memset(f, 0xaa, sizeof(f));
	announce_arp_frame(f, mac, ip);
	assert_memory_equal(f, "\xff\xff\xff\xff\xff\xff", 6);	/* to all */
	assert_memory_equal(f + 6, mac, 6);
	assert_memory_equal(f + 12, "\x08\x06", 2);		/* ARP */
	assert_memory_equal(f + 14, "\x00\x01\x08\x00\x06\x04\x00\x01", 8);
	assert_memory_equal(f + 22, mac, 6);			/* sender */
	assert_memory_equal(f + 28, &ip, 4);
	assert_memory_equal(f + 32, zero, 6);			/* target MAC */
	assert_memory_equal(f + 38, &ip, 4);			/* itself */
	assert_memory_equal(f + 42, zero, ANNOUNCE_FRAME_LEN - 42);	/* pad */
}

static void test_announce_rounds(void **state)
{
	struct announce a = { 0 };
	int64_t sent[ANNOUNCE_ROUNDS + 1];
	int n = 0;

	(void)state;
	assert_false(announce_due(&a, 1000));	/* none started */
	announce_start(&a, 1000);
	for (int64_t t = 1000; t < 5000; t++)
		if (announce_due(&a, t))
			sent[n++] = t - 1000;
	assert_int_equal(n, ANNOUNCE_ROUNDS);
	/* gaps of 50 ms growing by 100, as QEMU's announce */
	assert_int_equal(sent[0], 0);
	assert_int_equal(sent[1], 50);
	assert_int_equal(sent[2], 200);
	assert_int_equal(sent[3], 450);
	assert_int_equal(sent[4], 800);
	assert_true(a.first_ms == 1000);
	assert_false(announce_due(&a, 100000));	/* and no more */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lan_beat_round_trip),
		cmocka_unit_test(test_lan_beat_refusals),
		cmocka_unit_test(test_announce_frame),
		cmocka_unit_test(test_announce_rounds),
	};

	return cmocka_run_group_tests_name("ha_records", tests, NULL, NULL);
}
