/*
 * test_crc32c.c - CRC-32C: the published check value, the instruction's
 * three-lane path against the table on every length and alignment that
 * crosses its block sizes, incremental use, and a record's crc changing
 * with any bit of its header or payload.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "colo_proto.h"
#include "crc32c.h"

static void test_check_values(void **state)
{
	static const uint8_t zeros[32];
	uint8_t ones[32];

	(void)state;
	memset(ones, 0xff, sizeof(ones));
	/* the catalogue's check value, and RFC 3720's B.4 vectors */
	assert_int_equal(crc32c(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(crc32c_sw(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(crc32c(0, zeros, 32), 0x8a9136aau);
	assert_int_equal(crc32c(0, ones, 32), 0x62a8ab43u);
	assert_int_equal(crc32c(0, NULL, 0), 0);
	print_message("crc32c runs the %s implementation\n", crc32c_impl());
}

/* Lengths around the lane blocks (3 x 256, 3 x 4096) at odd offsets:
 * the fast path and the table agree, whole and in two pieces. */
static void test_lanes_match_table(void **state)
{
	size_t max = 3 * 4096 * 3 + 64;
	uint8_t *buf = malloc(max + 8);
	static const size_t lens[] = { 0, 1, 7, 8, 9, 767, 768, 769, 1536,
				       4095, 4096, 12287, 12288, 12289,
				       12288 + 768, 24576 + 5, 3 * 12288 + 63 };

	(void)state;
	assert_non_null(buf);
	srand(12);
	for (size_t i = 0; i < max + 8; i++)
		buf[i] = (uint8_t)rand();
	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
		for (size_t off = 0; off < 8; off += 3) {
			const uint8_t *p = buf + off;
			size_t len = lens[l], cut = len / 3;
			uint32_t want = crc32c_sw(0, p, len);

			assert_int_equal(crc32c(0, p, len), want);
			assert_int_equal(crc32c(crc32c(0, p, cut), p + cut,
						len - cut), want);
		}
	free(buf);
}

/* Any single bit of a record, header or payload, changes its crc. */
static void test_record_crc_bits(void **state)
{
	uint8_t payload[64], hdr[COLO_RECORD_HDR];
	struct iovec iov = { payload, sizeof(payload) };
	uint32_t crc;

	(void)state;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	colo_record_header(hdr, COLO_PAGES, &iov, 1);
	crc = get_be32(hdr + 8);
	assert_int_equal(get_be32(hdr + 4), sizeof(payload));
	assert_int_equal(colo_record_crc(hdr, payload, sizeof(payload)), crc);
	for (size_t bit = 0; bit < 8 * (8 + sizeof(payload)); bit++) {
		uint8_t *at = bit < 64 ? hdr + bit / 8 : payload + bit / 8 - 8;

		*at ^= (uint8_t)(1u << (bit % 8));
		assert_int_not_equal(colo_record_crc(hdr, payload,
						     sizeof(payload)), crc);
		*at ^= (uint8_t)(1u << (bit % 8));
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_values),
		cmocka_unit_test(test_lanes_match_table),
		cmocka_unit_test(test_record_crc_bits),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
