/*
 * ramblock.h - one tracked mapping of the guest and its bitmaps.
 *
 * A RAM block is a range of the guest's private readable memory that the
 * dirty log tracks as a unit: a library's .data, the heap, an anonymous
 * mmap, the stack. Pages are numbered from the block's start.
 */
#ifndef COLO_RAMBLOCK_H
#define COLO_RAMBLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The dirty log is cleared in chunks of (page_size << clear_bmap_shift)
 * bytes. 18 gives 1 GiB chunks with 4 KiB pages, as in QEMU. The minimum
 * of 6 makes a chunk exactly one word of bmap (64 pages), so a chunk's
 * pages are found with whole-word operations.
 */
#define CLEAR_BITMAP_SHIFT_MIN		6
#define CLEAR_BITMAP_SHIFT_MAX		31
#define CLEAR_BITMAP_SHIFT_DEFAULT	18

struct ram_block {
	uint64_t start;		/* first guest virtual address */
	uint64_t len;		/* bytes, a multiple of page_size */
	size_t page_size;	/* bytes per page (tracking granularity) */
	size_t npages;		/* len / page_size */
	char name[64];		/* what backs it: [heap], [stack], libc.so.6, anon */
	bool file;		/* a private mapping of a file: pages it never
				 * wrote are the file's, the same in every guest */

	/*
	 * bmap: the migration bitmap.
	 * One bit per page: bit i covers [start + i * page_size, + page_size).
	 * Set: the page was written (or the block is new) since its content
	 * was last taken for sending; it must go out in the next pass.
	 * Set by the dirty log's sync; cleared by ram_save at the moment the
	 * page is taken for sending, before its content is read. Owned by the
	 * single thread that syncs and sends; no lock.
	 */
	unsigned long *bmap;

	/*
	 * clear_bmap: chunks whose dirty log must be re-armed before a read.
	 * One bit per chunk of (1 << clear_bmap_shift) pages: bit c covers
	 * pages [c << shift, (c + 1) << shift) of the block (the last chunk
	 * may be shorter).
	 * Set: a sync recorded written pages of this chunk into bmap and the
	 * chunk's write tracking has not been re-armed since. ram_save tests
	 * and clears the bit the first time it is about to send a page of the
	 * chunk, re-arms the chunk (dirty_log_clear_chunk), and only then
	 * reads the page. A chunk with nothing to send is never cleared.
	 * Set by sync, cleared by ram_save; same owner as bmap. Stays zero in
	 * monolithic mode, where every sync re-arms the whole block itself.
	 */
	unsigned long *clear_bmap;
	unsigned clear_bmap_shift;

	/*
	 * colo_cache: on the secondary, the RAM cache of this block: a copy
	 * of the primary guest's memory of these addresses, filled by the
	 * stream while both guests run and flushed into the secondary's
	 * guest at a checkpoint (QEMU's RAMBlock.colo_cache). There, bmap is
	 * the received bitmap: a set bit is a page that arrived since the
	 * last flush. NULL on the primary and in local checkpoints.
	 */
	uint8_t *colo_cache;
	/*
	 * colo_stage: on the secondary, pages received since the last
	 * complete checkpoint, kept apart from colo_cache until that
	 * checkpoint arrives whole, so a checkpoint cut short leaves the
	 * cache at the last complete one. Then bmap marks the staged pages.
	 */
	uint8_t *colo_stage;

	/* Registered with the dirty log backend; false until the first sync
	 * that sees the block, which then marks it wholly dirty. A block
	 * whose registration fails stays untracked and wholly dirty. */
	bool tracked;
	unsigned track_failures;	/* failed registrations in a row */
};

/* Clamp a configured shift into [MIN, MAX]; true when it had to move. */
bool clear_bmap_shift_clamp(unsigned long shift, unsigned *out);

/* A new block with zeroed bitmaps, or NULL when out of memory. */
struct ram_block *ram_block_new(uint64_t start, uint64_t len,
				size_t page_size, unsigned clear_bmap_shift,
				const char *name);
void ram_block_free(struct ram_block *rb);

static inline uint64_t ram_block_page_addr(const struct ram_block *rb,
					   size_t page)
{
	return rb->start + (uint64_t)page * rb->page_size;
}

static inline size_t ram_block_nchunks(const struct ram_block *rb)
{
	size_t chunk_pages = (size_t)1 << rb->clear_bmap_shift;

	return (rb->npages + chunk_pages - 1) / chunk_pages;
}

static inline size_t ram_block_chunk_of(const struct ram_block *rb,
					size_t page)
{
	return page >> rb->clear_bmap_shift;
}

/* Pages [*first, *first + *npages) of chunk c, clipped at the block end. */
void ram_block_chunk_range(const struct ram_block *rb, size_t chunk,
			   size_t *first, size_t *npages);

/*
 * Record that pages [first, first + npages) were written: set them in
 * bmap and, when lazy, set the clear_bmap bit of every chunk they touch.
 */
void ram_block_mark_dirty(struct ram_block *rb, size_t first, size_t npages,
			  bool lazy);

/*
 * Re-chunk clear_bmap with a new shift. Every chunk that holds a page
 * pending in bmap is marked, so no pending page is read before a clear.
 * 0 or -ENOMEM (the block is then unchanged).
 */
int ram_block_set_clear_shift(struct ram_block *rb, unsigned shift);

/* Test-and-clear the clear_bmap bit of the chunk holding page. */
bool clear_bmap_test_and_clear(struct ram_block *rb, size_t page);

#endif /* COLO_RAMBLOCK_H */
