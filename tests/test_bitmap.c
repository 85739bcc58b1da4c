/*
 * test_bitmap.c - word bitmaps against a one-bool-per-bit model, swept
 * across word boundaries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bitmap.h"

#define NBITS	(3 * 64 + 17)	/* four words, the last one partial */

static void model_check(const unsigned long *map, const bool *model,
			size_t nbits)
{
	size_t count = 0;

	for (size_t i = 0; i < nbits; i++) {
		assert_int_equal(test_bit(i, map), model[i]);
		count += model[i];
	}
	assert_int_equal(bitmap_count_one(map, nbits), count);
	/* bits past the end stay zero */
	for (size_t i = nbits; i < BITS_TO_LONGS(nbits) * BITS_PER_LONG; i++)
		assert_false(test_bit(i, map));
}

static void test_set_clear_sweep(void **state)
{
	unsigned long *map = bitmap_new(NBITS);
	bool model[NBITS];

	(void)state;
	assert_non_null(map);
	for (size_t start = 0; start < NBITS; start++) {
		for (size_t nr = 0; start + nr <= NBITS; nr++) {
			/* set on an empty map */
			memset(map, 0, BITS_TO_LONGS(NBITS) * sizeof(*map));
			memset(model, 0, sizeof(model));
			bitmap_set(map, start, nr);
			for (size_t i = start; i < start + nr; i++)
				model[i] = true;
			model_check(map, model, NBITS);

			/* clear on a full map */
			bitmap_set(map, 0, NBITS);
			for (size_t i = 0; i < NBITS; i++)
				model[i] = true;
			bitmap_clear(map, start, nr);
			for (size_t i = start; i < start + nr; i++)
				model[i] = false;
			model_check(map, model, NBITS);
		}
	}
	bitmap_free(map);
}

static size_t model_next(const bool *model, size_t size, size_t off, bool v)
{
	while (off < size && model[off] != v)
		off++;
	return off < size ? off : size;
}

static void test_find_sweep(void **state)
{
	unsigned long *map = bitmap_new(NBITS);
	bool model[NBITS];
	unsigned seed = 12345;

	(void)state;
	/* patterns: empty, full, single bits at word edges, random */
	for (int pattern = 0; pattern < 40; pattern++) {
		memset(map, 0, BITS_TO_LONGS(NBITS) * sizeof(*map));
		for (size_t i = 0; i < NBITS; i++) {
			bool v;

			if (pattern == 0)
				v = false;
			else if (pattern == 1)
				v = true;
			else if (pattern < 10)
				v = i == (size_t)(pattern - 2) * 32 + 31 ||
				    i == (size_t)(pattern - 2) * 32 + 32;
			else
				v = (rand_r(&seed) % (pattern - 8)) == 0;
			model[i] = v;
			if (v)
				set_bit(i, map);
		}
		model_check(map, model, NBITS);
		for (size_t size = 0; size <= NBITS; size += 13) {
			for (size_t off = 0; off <= size + 2; off++) {
				assert_int_equal(find_next_bit(map, size, off),
						 model_next(model, size, off, true));
				assert_int_equal(find_next_zero_bit(map, size, off),
						 model_next(model, size, off, false));
			}
		}
	}
	bitmap_free(map);
}

static void test_test_and_clear(void **state)
{
	unsigned long *map = bitmap_new(130);

	(void)state;
	set_bit(63, map);
	set_bit(64, map);
	assert_true(test_and_clear_bit(63, map));
	assert_false(test_and_clear_bit(63, map));
	assert_true(test_bit(64, map));
	assert_true(test_and_clear_bit(64, map));
	assert_int_equal(bitmap_count_one(map, 130), 0);
	bitmap_free(map);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_clear_sweep),
		cmocka_unit_test(test_find_sweep),
		cmocka_unit_test(test_test_and_clear),
	};

	return cmocka_run_group_tests_name("bitmap", tests, NULL, NULL);
}
