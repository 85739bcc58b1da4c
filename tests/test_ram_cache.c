/*
 * test_ram_cache.c - the secondary's RAM cache as records arrive: which
 * blocks it keeps, what the image holds after each commit, and records it
 * refuses. No process: RAM_BLOCKS and PAGES payloads in, image out.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "colo_proto.h"
#include "log.h"
#include "ram_cache.h"

#define PAGE	4096u
#define BASE	0x7f0000000000ull

/* Announce blocks given as (first page, pages) pairs from BASE. */
static int announce(struct ram_cache *rc, const unsigned *blocks, unsigned n)
{
	uint8_t rec[4 + 8 * COLO_RAM_BLOCK_LEN];

	assert_true(n <= 8);
	put_be32(rec, n);
	for (unsigned i = 0; i < n; i++) {
		put_be64(rec + 4 + i * COLO_RAM_BLOCK_LEN,
			 BASE + (uint64_t)blocks[2 * i] * PAGE);
		put_be64(rec + 12 + i * COLO_RAM_BLOCK_LEN,
			 (uint64_t)blocks[2 * i + 1] * PAGE);
	}
	return ram_cache_set_blocks(rc, rec, 4 + n * COLO_RAM_BLOCK_LEN);
}

/* Send pages [first, first + n) from BASE, every byte of them = value. */
static int send(struct ram_cache *rc, unsigned first, unsigned n, uint8_t value)
{
	static uint8_t rec[16 * (COLO_PAGE_HDR + PAGE)];
	uint64_t got = 0;
	uint8_t *e = rec;

	assert_true(n <= 16);
	for (unsigned i = 0; i < n; i++) {
		put_be64(e, BASE + (uint64_t)(first + i) * PAGE);
		e[8] = COLO_PAGE_RAW;
		put_be32(e + 9, PAGE);
		memset(e + COLO_PAGE_HDR, value, PAGE);
		e += COLO_PAGE_HDR + PAGE;
	}
	return ram_cache_load_pages(rc, rec, (uint32_t)(e - rec), &got);
}

/* What the image holds at page p from BASE (its first byte), or -1. */
static int image_at(struct ram_cache *rc, unsigned p)
{
	uint64_t addr = BASE + (uint64_t)p * PAGE;
	struct ram_block *rb = ram_list_block_at_or_after(&rc->image, addr);

	if (!rb || rb->start > addr || !rb->colo_cache)
		return -1;
	return rb->colo_cache[addr - rb->start];
}

static void test_kept_block_keeps_content(void **state)
{
	static const unsigned one[] = { 0, 8 };
	struct ram_cache rc;

	(void)state;
	assert_int_equal(ram_cache_init(&rc, PAGE), 0);
	assert_int_equal(announce(&rc, one, 1), 0);
	assert_int_equal(send(&rc, 0, 8, 1), 0);
	assert_int_equal(ram_cache_commit(&rc), 0);
	assert_int_equal(image_at(&rc, 7), 1);
	/* the next epoch changes two pages; the other six stay */
	assert_int_equal(send(&rc, 2, 2, 2), 0);
	assert_int_equal(ram_cache_commit(&rc), 0);
	assert_int_equal(image_at(&rc, 1), 1);
	assert_int_equal(image_at(&rc, 2), 2);
	assert_int_equal(image_at(&rc, 3), 2);
	assert_int_equal(image_at(&rc, 4), 1);
	ram_cache_destroy(&rc);
}

/*
 * The primary replaced one block by two covering the same addresses,
 * sent both whole, then dropped one of them. The image must hold what it
 * sent for the one it kept: not a stale copy of the old block carried
 * over by coverage and then dropped with it.
 */
static void test_layout_change_keeps_what_was_sent(void **state)
{
	static const unsigned one[] = { 0, 8 };
	static const unsigned two[] = { 0, 4, 4, 4 };
	static const unsigned first_half[] = { 0, 4 };
	struct ram_cache rc;

	(void)state;
	assert_int_equal(ram_cache_init(&rc, PAGE), 0);
	assert_int_equal(announce(&rc, one, 1), 0);
	assert_int_equal(send(&rc, 0, 8, 1), 0);
	assert_int_equal(ram_cache_commit(&rc), 0);

	assert_int_equal(announce(&rc, two, 2), 0);
	assert_int_equal(send(&rc, 0, 8, 2), 0);
	assert_int_equal(ram_cache_commit(&rc), 0);
	assert_int_equal(rc.image.nr_blocks, 2);
	for (unsigned p = 0; p < 8; p++)
		assert_int_equal(image_at(&rc, p), 2);

	/* nothing of the kept block changes in this epoch */
	assert_int_equal(announce(&rc, first_half, 1), 0);
	assert_int_equal(ram_cache_commit(&rc), 0);
	assert_int_equal(rc.image.nr_blocks, 1);
	for (unsigned p = 0; p < 4; p++)
		assert_int_equal(image_at(&rc, p), 2);
	assert_int_equal(image_at(&rc, 4), -1);
	ram_cache_destroy(&rc);
}

/* Pages staged for a block the primary drops before the checkpoint go
 * with it; a block it keeps keeps them. */
static void test_staged_pages_follow_their_block(void **state)
{
	static const unsigned two[] = { 0, 4, 8, 4 };
	static const unsigned second[] = { 8, 4 };
	static const unsigned again[] = { 0, 4, 8, 4 };
	struct ram_cache rc;

	(void)state;
	assert_int_equal(ram_cache_init(&rc, PAGE), 0);
	assert_int_equal(announce(&rc, two, 2), 0);
	assert_int_equal(send(&rc, 0, 4, 3), 0);
	assert_int_equal(send(&rc, 8, 4, 4), 0);
	assert_int_equal(announce(&rc, second, 1), 0);
	assert_int_equal(announce(&rc, again, 2), 0);
	assert_int_equal(send(&rc, 0, 4, 5), 0);	/* sent whole, anew */
	assert_int_equal(ram_cache_commit(&rc), 0);
	assert_int_equal(image_at(&rc, 0), 5);
	assert_int_equal(image_at(&rc, 8), 4);
	ram_cache_destroy(&rc);
}

static void test_bad_records(void **state)
{
	static const unsigned one[] = { 0, 4 };
	static const unsigned unordered[] = { 8, 4, 0, 4 };
	static const unsigned empty[] = { 0, 0 };
	struct ram_cache rc;
	uint8_t rec[4 + COLO_RAM_BLOCK_LEN];

	(void)state;
	log_set_quiet(1);
	assert_int_equal(ram_cache_init(&rc, PAGE), 0);
	assert_int_equal(announce(&rc, unordered, 2), -EPROTO);
	assert_int_equal(announce(&rc, empty, 1), -EPROTO);
	/* a count that does not match the length */
	put_be32(rec, 2);
	assert_int_equal(ram_cache_set_blocks(&rc, rec, sizeof(rec)), -EPROTO);
	/* not page aligned */
	put_be32(rec, 1);
	put_be64(rec + 4, BASE + 1);
	put_be64(rec + 12, PAGE);
	assert_int_equal(ram_cache_set_blocks(&rc, rec, sizeof(rec)), -EPROTO);

	assert_int_equal(announce(&rc, one, 1), 0);
	assert_int_equal(send(&rc, 4, 1, 1), -EPROTO);	/* in no block */
	assert_int_equal(send(&rc, 0, 4, 1), 0);
	assert_int_equal(ram_cache_commit(&rc), 0);
	assert_int_equal(image_at(&rc, 3), 1);
	ram_cache_destroy(&rc);
	log_set_quiet(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept_block_keeps_content),
		cmocka_unit_test(test_layout_change_keeps_what_was_sent),
		cmocka_unit_test(test_staged_pages_follow_their_block),
		cmocka_unit_test(test_bad_records),
	};

	return cmocka_run_group_tests_name("ram_cache", tests, NULL, NULL);
}
