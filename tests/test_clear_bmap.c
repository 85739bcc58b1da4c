/*
 * test_clear_bmap.c - clear_bmap sizes, chunk alignment, clamping and the
 * marking rule of a sync.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bitmap.h"
#include "ramblock.h"

#define PAGE 4096ul

static void test_clamp(void **state)
{
	unsigned out;

	(void)state;
	assert_true(clear_bmap_shift_clamp(0, &out));
	assert_int_equal(out, CLEAR_BITMAP_SHIFT_MIN);
	assert_true(clear_bmap_shift_clamp(5, &out));
	assert_int_equal(out, 6);
	assert_false(clear_bmap_shift_clamp(6, &out));
	assert_int_equal(out, 6);
	assert_false(clear_bmap_shift_clamp(18, &out));
	assert_int_equal(out, 18);
	assert_false(clear_bmap_shift_clamp(31, &out));
	assert_int_equal(out, 31);
	assert_true(clear_bmap_shift_clamp(32, &out));
	assert_int_equal(out, 31);
	assert_true(clear_bmap_shift_clamp(~0ul, &out));
	assert_int_equal(out, 31);
	/* a block built with a bad shift gets the clamped one */
	struct ram_block *rb = ram_block_new(0x10000, 64 * PAGE, PAGE, 2, "x");
	assert_non_null(rb);
	assert_int_equal(rb->clear_bmap_shift, 6);
	ram_block_free(rb);
}

/* Number of chunks and each chunk's range, for many block sizes. */
static void test_sizes_and_alignment(void **state)
{
	(void)state;
	for (unsigned shift = 6; shift <= 12; shift += 3) {
		size_t chunk = (size_t)1 << shift;

		for (size_t npages = 1; npages <= 5 * chunk + 3;
		     npages += (npages < 3 * chunk ? 1 : 7)) {
			struct ram_block *rb = ram_block_new(0x7f0000000000ul,
					npages * PAGE, PAGE, shift, "anon");
			size_t covered = 0;

			assert_non_null(rb);
			assert_int_equal(rb->npages, npages);
			assert_int_equal(ram_block_nchunks(rb),
					 (npages + chunk - 1) / chunk);
			for (size_t c = 0; c < ram_block_nchunks(rb); c++) {
				size_t first, n;

				ram_block_chunk_range(rb, c, &first, &n);
				assert_int_equal(first, c * chunk);
				assert_int_equal(first % chunk, 0);
				assert_true(n >= 1 && n <= chunk);
				assert_int_equal(first, covered);
				covered += n;
				/* every page of the chunk maps back to it */
				assert_int_equal(ram_block_chunk_of(rb, first), c);
				assert_int_equal(ram_block_chunk_of(rb, first + n - 1), c);
			}
			assert_int_equal(covered, npages);
			/* past the end: empty */
			size_t first, n;
			ram_block_chunk_range(rb, ram_block_nchunks(rb), &first, &n);
			assert_int_equal(n, 0);
			ram_block_free(rb);
		}
	}
}

/* A sync marks pages in bmap and the chunks that hold them, nothing else. */
static void test_mark_dirty(void **state)
{
	struct ram_block *rb = ram_block_new(0x400000, 1000 * PAGE, PAGE, 6, "a");

	(void)state;
	assert_non_null(rb);
	/* pages 60..70 straddle chunks 0 and 1 */
	ram_block_mark_dirty(rb, 60, 11, true);
	assert_int_equal(bitmap_count_one(rb->bmap, rb->npages), 11);
	assert_int_equal(bitmap_count_one(rb->clear_bmap, ram_block_nchunks(rb)), 2);
	assert_true(test_bit(0, rb->clear_bmap));
	assert_true(test_bit(1, rb->clear_bmap));
	/* the last, partial chunk: pages 960..999 are chunk 15 */
	ram_block_mark_dirty(rb, 999, 1, true);
	assert_true(test_bit(15, rb->clear_bmap));
	assert_int_equal(ram_block_nchunks(rb), 16);
	/* monolithic marking leaves clear_bmap alone */
	ram_block_mark_dirty(rb, 500, 3, false);
	assert_true(test_bit(501, rb->bmap));
	assert_false(test_bit(500 >> 6, rb->clear_bmap));
	/* test-and-clear is per chunk, once */
	assert_true(clear_bmap_test_and_clear(rb, 65));
	assert_false(clear_bmap_test_and_clear(rb, 127));
	assert_true(clear_bmap_test_and_clear(rb, 0));
	assert_false(clear_bmap_test_and_clear(rb, 63));
	ram_block_free(rb);
}

/* The largest shift with a block smaller than one chunk: one chunk. */
static void test_one_big_chunk(void **state)
{
	struct ram_block *rb = ram_block_new(0, 12345 * PAGE, PAGE, 31, "big");
	size_t first, n;

	(void)state;
	assert_non_null(rb);
	assert_int_equal(ram_block_nchunks(rb), 1);
	ram_block_chunk_range(rb, 0, &first, &n);
	assert_int_equal(first, 0);
	assert_int_equal(n, 12345);
	ram_block_mark_dirty(rb, 12344, 1, true);
	assert_true(clear_bmap_test_and_clear(rb, 7));
	ram_block_free(rb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clamp),
		cmocka_unit_test(test_sizes_and_alignment),
		cmocka_unit_test(test_mark_dirty),
		cmocka_unit_test(test_one_big_chunk),
	};

	return cmocka_run_group_tests_name("clear_bmap", tests, NULL, NULL);
}
