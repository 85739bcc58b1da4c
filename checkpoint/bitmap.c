/*
 * bitmap.c - range operations and searches over word bitmaps.
 */
#include <stdlib.h>

#include "bitmap.h"

/* Mask of the bits of a word from bit (start % BITS_PER_LONG) upward. */
#define FIRST_WORD_MASK(start)	(~0UL << ((start) % BITS_PER_LONG))
/* Mask of the bits of a word below bit (end % BITS_PER_LONG), all if 0. */
#define LAST_WORD_MASK(end)	(~0UL >> (-(end) % BITS_PER_LONG))

unsigned long *bitmap_new(size_t nbits)
{
	return calloc(BITS_TO_LONGS(nbits) ? BITS_TO_LONGS(nbits) : 1,
		      sizeof(unsigned long));
}

void bitmap_free(unsigned long *map)
{
	free(map);
}

void bitmap_set(unsigned long *map, size_t start, size_t nr)
{
	unsigned long *p = map + BIT_WORD(start);
	size_t end = start + nr;
	unsigned long mask = FIRST_WORD_MASK(start);

	if (nr == 0)
		return;
	if (BIT_WORD(start) == BIT_WORD(end - 1)) {
		*p |= mask & LAST_WORD_MASK(end);
		return;
	}
	*p++ |= mask;
	for (size_t w = BIT_WORD(start) + 1; w < BIT_WORD(end - 1); w++)
		*p++ = ~0UL;
	*p |= LAST_WORD_MASK(end);
}

void bitmap_clear(unsigned long *map, size_t start, size_t nr)
{
	unsigned long *p = map + BIT_WORD(start);
	size_t end = start + nr;
	unsigned long mask = FIRST_WORD_MASK(start);

	if (nr == 0)
		return;
	if (BIT_WORD(start) == BIT_WORD(end - 1)) {
		*p &= ~(mask & LAST_WORD_MASK(end));
		return;
	}
	*p++ &= ~mask;
	for (size_t w = BIT_WORD(start) + 1; w < BIT_WORD(end - 1); w++)
		*p++ = 0;
	*p &= ~LAST_WORD_MASK(end);
}

size_t bitmap_count_one(const unsigned long *map, size_t nbits)
{
	size_t count = 0;
	size_t w;

	for (w = 0; w < nbits / BITS_PER_LONG; w++)
		count += (size_t)__builtin_popcountl(map[w]);
	if (nbits % BITS_PER_LONG)
		count += (size_t)__builtin_popcountl(map[w] &
						     LAST_WORD_MASK(nbits));
	return count;
}

/* Shared search: invert = 0 finds set bits, ~0UL finds zero bits. */
static size_t find_next(const unsigned long *map, size_t size, size_t offset,
			unsigned long invert)
{
	size_t w;
	unsigned long word;

	if (offset >= size)
		return size;
	w = BIT_WORD(offset);
	word = (map[w] ^ invert) & FIRST_WORD_MASK(offset);
	while (!word) {
		if (++w >= BITS_TO_LONGS(size))
			return size;
		word = map[w] ^ invert;
	}
	offset = w * BITS_PER_LONG + (size_t)__builtin_ctzl(word);
	return offset < size ? offset : size;
}

size_t find_next_bit(const unsigned long *map, size_t size, size_t offset)
{
	return find_next(map, size, offset, 0);
}

size_t find_next_zero_bit(const unsigned long *map, size_t size,
			  size_t offset)
{
	return find_next(map, size, offset, ~0UL);
}
