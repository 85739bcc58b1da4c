/*
 * bitmap.h - bitmaps of unsigned long words, as in QEMU and Linux.
 *
 * Bit n lives in word n / BITS_PER_LONG at position n % BITS_PER_LONG.
 * Bits past the size given at allocation are always zero, so counting and
 * searching whole words is safe. None of these functions is atomic: each
 * bitmap has one owner thread (documented at its declaration).
 */
#ifndef COLO_BITMAP_H
#define COLO_BITMAP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define BITS_PER_LONG		(sizeof(unsigned long) * CHAR_BIT)
#define BITS_TO_LONGS(nr)	(((nr) + BITS_PER_LONG - 1) / BITS_PER_LONG)
#define BIT_WORD(nr)		((nr) / BITS_PER_LONG)
#define BIT_MASK(nr)		(1UL << ((nr) % BITS_PER_LONG))

/* A zeroed bitmap of nbits bits, or NULL when out of memory. */
unsigned long *bitmap_new(size_t nbits);
void bitmap_free(unsigned long *map);

static inline void set_bit(size_t nr, unsigned long *map)
{
	map[BIT_WORD(nr)] |= BIT_MASK(nr);
}

static inline void clear_bit(size_t nr, unsigned long *map)
{
	map[BIT_WORD(nr)] &= ~BIT_MASK(nr);
}

static inline bool test_bit(size_t nr, const unsigned long *map)
{
	return map[BIT_WORD(nr)] & BIT_MASK(nr);
}

static inline bool test_and_clear_bit(size_t nr, unsigned long *map)
{
	unsigned long mask = BIT_MASK(nr);
	unsigned long *word = &map[BIT_WORD(nr)];
	bool was = *word & mask;

	*word &= ~mask;
	return was;
}

/* Set / clear bits [start, start + nr). O(nr / BITS_PER_LONG). */
void bitmap_set(unsigned long *map, size_t start, size_t nr);
void bitmap_clear(unsigned long *map, size_t start, size_t nr);

/* Number of set bits among the first nbits. */
size_t bitmap_count_one(const unsigned long *map, size_t nbits);

/*
 * First set (zero) bit at or after offset, below size; size if none.
 * Skips whole words, so a sparse bitmap is scanned at word speed.
 */
size_t find_next_bit(const unsigned long *map, size_t size, size_t offset);
size_t find_next_zero_bit(const unsigned long *map, size_t size,
			  size_t offset);

static inline size_t find_first_bit(const unsigned long *map, size_t size)
{
	return find_next_bit(map, size, 0);
}

#endif /* COLO_BITMAP_H */
