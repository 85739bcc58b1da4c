/*
 * ramblock.c - RAM block allocation and the clear_bmap rules.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bitmap.h"
#include "ramblock.h"

bool clear_bmap_shift_clamp(unsigned long shift, unsigned *out)
{
	if (shift < CLEAR_BITMAP_SHIFT_MIN) {
		*out = CLEAR_BITMAP_SHIFT_MIN;
		return true;
	}
	if (shift > CLEAR_BITMAP_SHIFT_MAX) {
		*out = CLEAR_BITMAP_SHIFT_MAX;
		return true;
	}
	*out = (unsigned)shift;
	return false;
}

struct ram_block *ram_block_new(uint64_t start, uint64_t len,
				size_t page_size, unsigned clear_bmap_shift,
				const char *name)
{
	struct ram_block *rb = calloc(1, sizeof(*rb));

	if (!rb)
		return NULL;
	clear_bmap_shift_clamp(clear_bmap_shift, &rb->clear_bmap_shift);
	rb->start = start;
	rb->len = len;
	rb->page_size = page_size;
	rb->npages = len / page_size;
	snprintf(rb->name, sizeof(rb->name), "%s", name && *name ? name : "anon");
	rb->bmap = bitmap_new(rb->npages);
	rb->clear_bmap = bitmap_new(ram_block_nchunks(rb));
	if (!rb->bmap || !rb->clear_bmap) {
		ram_block_free(rb);
		return NULL;
	}
	return rb;
}

void ram_block_free(struct ram_block *rb)
{
	if (!rb)
		return;
	if (rb->colo_cache)
		munmap(rb->colo_cache, rb->len);
	if (rb->colo_stage)
		munmap(rb->colo_stage, rb->len);
	bitmap_free(rb->bmap);
	bitmap_free(rb->clear_bmap);
	free(rb);
}

void ram_block_chunk_range(const struct ram_block *rb, size_t chunk,
			   size_t *first, size_t *npages)
{
	size_t chunk_pages = (size_t)1 << rb->clear_bmap_shift;
	size_t start = chunk * chunk_pages;

	*first = start;
	*npages = start >= rb->npages ? 0 :
		  (rb->npages - start < chunk_pages ? rb->npages - start :
						      chunk_pages);
}

void ram_block_mark_dirty(struct ram_block *rb, size_t first, size_t npages,
			  bool lazy)
{
	size_t c0, c1;

	if (npages == 0)
		return;
	bitmap_set(rb->bmap, first, npages);
	if (!lazy)
		return;
	c0 = ram_block_chunk_of(rb, first);
	c1 = ram_block_chunk_of(rb, first + npages - 1);
	bitmap_set(rb->clear_bmap, c0, c1 - c0 + 1);
}

bool clear_bmap_test_and_clear(struct ram_block *rb, size_t page)
{
	return test_and_clear_bit(ram_block_chunk_of(rb, page), rb->clear_bmap);
}

int ram_block_set_clear_shift(struct ram_block *rb, unsigned shift)
{
	unsigned long *map;
	size_t chunk_pages, page;

	clear_bmap_shift_clamp(shift, &shift);
	chunk_pages = (size_t)1 << shift;
	map = bitmap_new((rb->npages + chunk_pages - 1) / chunk_pages);
	if (!map)
		return -ENOMEM;
	bitmap_free(rb->clear_bmap);
	rb->clear_bmap = map;
	rb->clear_bmap_shift = shift;
	for (page = find_next_bit(rb->bmap, rb->npages, 0); page < rb->npages;
	     page = find_next_bit(rb->bmap, rb->npages, page + 1))
		set_bit(ram_block_chunk_of(rb, page), rb->clear_bmap);
	return 0;
}
