/*
 * crc32c.c - CRC-32C with the CPU's crc32 instruction, or a table.
 *
 * The instruction takes 8 bytes per step with a latency of 3 cycles and
 * a throughput of one a cycle, so one stream runs at a third of what the
 * unit can do. Long buffers are cut into blocks of three lanes, each
 * lane's CRC computed independently in the same loop; the lanes are then
 * joined: the CRC of lane A followed by lane B is A's register moved
 * past B's length, xor B's register (the CRC is linear). Moving a
 * register past n zero bytes is multiplying it by x^(8n) modulo the
 * polynomial, a linear map on 32 bits: four tables of 256 entries, one
 * per byte of the register, built once from the instruction itself.
 */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "crc32c.h"

#define CRC32C_POLY	0x82f63b78u	/* reflected Castagnoli */
#define LANE_LONG	4096		/* bytes a lane, long blocks */
#define LANE_SHORT	256		/* and short ones */

/* The register moved past LANE_LONG / LANE_SHORT zero bytes, by byte. */
struct crc32c_shift {
	uint32_t t[4][256];
};

static struct crc32c_tables {
	uint32_t byte[256];		/* the table implementation's */
	struct crc32c_shift lng, shrt;
	bool hw;
} tables;
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

/* --- without the instruction ------------------------------------------- */

static uint32_t crc_table(uint32_t r, const uint8_t *p, size_t len)
{
	while (len--)
		r = tables.byte[(r ^ *p++) & 0xff] ^ (r >> 8);
	return r;
}

/* --- with it ----------------------------------------------------------- */

__attribute__((target("sse4.2")))
static uint32_t crc_hw_one(uint32_t r, const uint8_t *p, size_t len)
{
	uint64_t r64 = r, v;

	for (; len >= 8; len -= 8, p += 8) {
		memcpy(&v, p, 8);
		r64 = __builtin_ia32_crc32di(r64, v);
	}
	r = (uint32_t)r64;
	while (len--)
		r = __builtin_ia32_crc32qi(r, *p++);
	return r;
}

static uint32_t shift(const struct crc32c_shift *s, uint32_t r)
{
	return s->t[0][r & 0xff] ^ s->t[1][(r >> 8) & 0xff] ^
	       s->t[2][(r >> 16) & 0xff] ^ s->t[3][r >> 24];
}

/* Three lanes of lane bytes each from p, joined into r. */
__attribute__((target("sse4.2")))
static uint32_t crc_hw_block(uint32_t r, const uint8_t *p, size_t lane,
			     const struct crc32c_shift *s)
{
	uint64_t r0 = r, r1 = 0, r2 = 0, v0, v1, v2;

	for (size_t i = 0; i < lane; i += 8) {
		memcpy(&v0, p + i, 8);
		memcpy(&v1, p + lane + i, 8);
		memcpy(&v2, p + 2 * lane + i, 8);
		r0 = __builtin_ia32_crc32di(r0, v0);
		r1 = __builtin_ia32_crc32di(r1, v1);
		r2 = __builtin_ia32_crc32di(r2, v2);
	}
	return shift(s, shift(s, (uint32_t)r0) ^ (uint32_t)r1) ^ (uint32_t)r2;
}

static uint32_t crc_hw(uint32_t r, const uint8_t *p, size_t len)
{
	for (; len >= 3 * LANE_LONG; len -= 3 * LANE_LONG, p += 3 * LANE_LONG)
		r = crc_hw_block(r, p, LANE_LONG, &tables.lng);
	for (; len >= 3 * LANE_SHORT; len -= 3 * LANE_SHORT, p += 3 * LANE_SHORT)
		r = crc_hw_block(r, p, LANE_SHORT, &tables.shrt);
	return crc_hw_one(r, p, len);
}

/* --- the tables ------------------------------------------------------- */

/* The map "move past n zero bytes", by byte of the register. */
static void build_shift(struct crc32c_shift *s, size_t n,
			uint32_t (*raw)(uint32_t, const uint8_t *, size_t))
{
	static const uint8_t zeros[LANE_LONG];
	uint32_t basis[32];

	for (int bit = 0; bit < 32; bit++)
		basis[bit] = raw(1u << bit, zeros, n);
	for (int k = 0; k < 4; k++)
		for (unsigned b = 0; b < 256; b++) {
			uint32_t v = 0;

			for (int bit = 0; bit < 8; bit++)
				if (b & (1u << bit))
					v ^= basis[8 * k + bit];
			s->t[k][b] = v;
		}
}

static void build_tables(void)
{
	for (uint32_t b = 0; b < 256; b++) {
		uint32_t r = b;

		for (int i = 0; i < 8; i++)
			r = (r >> 1) ^ (r & 1 ? CRC32C_POLY : 0);
		tables.byte[b] = r;
	}
	tables.hw = __builtin_cpu_supports("sse4.2");
	if (!tables.hw)
		return;
	build_shift(&tables.lng, LANE_LONG, crc_hw_one);
	build_shift(&tables.shrt, LANE_SHORT, crc_hw_one);
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	uint32_t r = ~crc;

	pthread_once(&tables_once, build_tables);
	r = tables.hw ? crc_hw(r, buf, len) : crc_table(r, buf, len);
	return ~r;
}

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&tables_once, build_tables);
	return ~crc_table(~crc, buf, len);
}

const char *crc32c_impl(void)
{
	pthread_once(&tables_once, build_tables);
	return tables.hw ? "sse4.2" : "table";
}
