/*
 * test_ram_cache.c - the secondary's RAM cache as records arrive: which
 * blocks it keeps, what the image holds after each commit, what memory
 * it costs, a commit that fails, and records it refuses. RAM_BLOCKS and
 * PAGES payloads in, image out; where a flush matters, the "guest" is a
 * mapping of this very process at the cache's addresses.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "bitmap.h"
#include "colo_proto.h"
#include "fault.h"
#include "guest_abi.h"
#include "log.h"
#include "ram_cache.h"

#define PAGE	4096u
#define BASE	0x7f0000000000ull

/* Announce blocks given as (first page, pages) pairs from BASE. */
static int announce(struct ram_cache *rc, const unsigned *blocks, unsigned n)
{
	uint8_t rec[COLO_RAM_BLOCKS_LEN(8)];
	struct colo_ram_block b[8];

	assert_true(n <= 8);
	for (unsigned i = 0; i < n; i++) {
		b[i].start = BASE + (uint64_t)blocks[2 * i] * PAGE;
		b[i].len = (uint64_t)blocks[2 * i + 1] * PAGE;
	}
	colo_ram_blocks_encode(b, n, rec);
	return ram_cache_set_blocks(rc, rec, (uint32_t)COLO_RAM_BLOCKS_LEN(n));
}

/* Send pages [first, first + n) from BASE, every byte of them = value. */
static int send(struct ram_cache *rc, unsigned first, unsigned n, uint8_t value)
{
	static uint8_t rec[16 * (COLO_PAGE_HDR + PAGE)], data[PAGE];
	uint64_t got = 0;
	size_t len = 0;

	assert_true(n <= 16);
	memset(data, value, PAGE);
	for (unsigned i = 0; i < n; i++) {
		struct colo_page pg = {
			.addr = BASE + (uint64_t)(first + i) * PAGE,
			.encoding = COLO_PAGE_RAW, .len = PAGE, .data = data,
		};

		len += colo_page_encode(&pg, rec + len);
	}
	return ram_cache_load_pages(rc, rec, (uint32_t)len, &got);
}

/* send() for any number of pages. */
static void send_many(struct ram_cache *rc, unsigned first, unsigned n,
		      uint8_t value)
{
	for (unsigned i = 0; i < n; i += 16)
		assert_int_equal(send(rc, first + i, n - i < 16 ? n - i : 16,
				      value), 0);
}

/* Send pages [first, first + n) as ZERO markers, in one record. */
static int send_zero(struct ram_cache *rc, unsigned first, unsigned n)
{
	uint8_t *rec = malloc((size_t)n * COLO_PAGE_HDR);
	uint64_t got = 0;
	size_t len = 0;
	int ret;

	assert_non_null(rec);
	for (unsigned i = 0; i < n; i++) {
		struct colo_page pg = {
			.addr = BASE + (uint64_t)(first + i) * PAGE,
			.encoding = COLO_PAGE_ZERO,
		};

		len += colo_page_encode(&pg, rec + len);
	}
	ret = ram_cache_load_pages(rc, rec, (uint32_t)len, &got);
	assert_int_equal(got, ret ? got : n);
	free(rec);
	return ret;
}

/* Commit checkpoint id with an empty layout. */
static int commit(struct ram_cache *rc, uint64_t id)
{
	struct layout none = { 0 };

	return ram_cache_commit(rc, id, &none, 0);
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

/* Is page p of the image zero, every byte? */
static bool image_page_zero(struct ram_cache *rc, unsigned p)
{
	uint64_t addr = BASE + (uint64_t)p * PAGE;
	struct ram_block *rb = ram_list_block_at_or_after(&rc->image, addr);
	const uint8_t *at;

	assert_non_null(rb);
	assert_true(rb->start <= addr);
	at = rb->colo_cache + (addr - rb->start);
	for (unsigned i = 0; i < PAGE; i++)
		if (at[i])
			return false;
	return true;
}

/* The block of list rl that starts at page p from BASE. */
static struct ram_block *block_of(struct ram_list *rl, unsigned p)
{
	struct ram_block *rb = ram_list_block_at_or_after(rl,
							  BASE + (uint64_t)p * PAGE);

	assert_non_null(rb);
	assert_int_equal(rb->start, BASE + (uint64_t)p * PAGE);
	return rb;
}

/* Pages of buf (len bytes, or none) that cost memory: mincore. */
static size_t resident(const uint8_t *buf, size_t len)
{
	unsigned char vec[4096];
	size_t n = 0;

	for (size_t off = 0; buf && off < len; off += sizeof(vec) * PAGE) {
		size_t chunk = len - off < sizeof(vec) * PAGE ? len - off :
							       sizeof(vec) * PAGE;

		assert_int_equal(mincore((void *)(buf + off), chunk, vec), 0);
		for (size_t i = 0; i < chunk / PAGE; i++)
			n += vec[i] & 1;
	}
	return n;
}

/*
 * Pages given back lazily (MADV_FREE, not written since) in the mapping
 * that holds buf: its LazyFree in /proc/self/smaps. Only a stage's
 * release makes any, so the mapping's figure is the stage's even when
 * the kernel merged it with a neighbour.
 */
static size_t lazyfree(const uint8_t *buf)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	uintptr_t at = (uintptr_t)buf;
	char line[256];
	bool in = false;
	size_t kb = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			in = at >= lo && at < hi;
		else if (in && sscanf(line, "LazyFree: %zu kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb * 1024 / PAGE;
}

/*
 * lazyfree() of buf is want, less the pages still in this CPU's batch:
 * the kernel marks pages lazily free a folio batch (31) at a time.
 */
#define LAZY_BATCH	31
static void assert_lazyfree(const uint8_t *buf, size_t want)
{
	size_t got = lazyfree(buf);

	if (got > want || got + LAZY_BATCH < want)
		fail_msg("%zu pages lazily free, expected %zu (less at most %d "
			 "in the kernel's batch)", got, want, LAZY_BATCH);
}

/* This process's resident set, in pages (/proc/self/statm). */
static long rss_pages(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size, rss;

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld %ld", &size, &rss), 2);
	fclose(f);
	return rss * (sysconf(_SC_PAGESIZE) / (long)PAGE);
}

/*
 * A "guest" for the flush: this process, with a mapping at the cache's
 * addresses, and a dirty log that is only its list of blocks (what the
 * flush reads of it).
 */
struct self_guest {
	uint8_t *mem;
	size_t len;
	struct dirty_log dl;
	struct guest_writer w;
};

/* The test guest's mapping, if a test that failed left it behind. */
static size_t self_guest_left;

static void self_guest_init(struct self_guest *sg, unsigned pages)
{
	if (self_guest_left)
		munmap((void *)(uintptr_t)BASE, self_guest_left);
	memset(sg, 0, sizeof(*sg));
	sg->len = self_guest_left = (size_t)pages * PAGE;
	sg->mem = mmap((void *)(uintptr_t)BASE, sg->len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (sg->mem == MAP_FAILED || sg->mem != (uint8_t *)(uintptr_t)BASE)
		fail_msg("cannot map the test guest at %#llx",
			 (unsigned long long)BASE);
	ram_list_init(&sg->dl.ram, getpid(), PAGE, CLEAR_BITMAP_SHIFT_DEFAULT);
	assert_int_equal(ram_list_add_area(&sg->dl.ram, BASE, BASE + sg->len,
					   false, "guest"), 0);
	assert_int_equal(ram_list_mirror(&sg->dl.ram), 0);
	guest_writer_init(&sg->w, getpid(), PAGE);
}

static void self_guest_destroy(struct self_guest *sg)
{
	guest_writer_destroy(&sg->w);
	ram_list_destroy(&sg->dl.ram);
	munmap(sg->mem, sg->len);
	self_guest_left = 0;
}

/* Our guest writes value over page p, as its dirty log would record. */
static void self_guest_dirty(struct self_guest *sg, unsigned p, uint8_t value)
{
	memset(sg->mem + (size_t)p * PAGE, value, PAGE);
	set_bit(p, sg->dl.ram.blocks[0]->bmap);
}

/* Flush (or roll back) into the guest; its own marks are then taken. */
static void self_guest_flush(struct self_guest *sg, struct ram_cache *rc,
			     bool rollback)
{
	assert_int_equal(rollback ? ram_cache_rollback(rc, &sg->dl, &sg->w) :
				    ram_cache_flush(rc, &sg->dl, &sg->w), 0);
	bitmap_clear(sg->dl.ram.blocks[0]->bmap, 0, sg->dl.ram.blocks[0]->npages);
}

/* Is every byte of page p of the guest value? */
static bool self_guest_page_is(const struct self_guest *sg, unsigned p,
			       uint8_t value)
{
	const uint8_t *at = sg->mem + (size_t)p * PAGE;

	for (unsigned i = 0; i < PAGE; i++)
		if (at[i] != value)
			return false;
	return true;
}

static void test_kept_block_keeps_content(void **state)
{
	static const unsigned one[] = { 0, 8 };
	struct ram_cache rc;

	(void)state;
	assert_int_equal(ram_cache_init(&rc, PAGE), 0);
	assert_int_equal(announce(&rc, one, 1), 0);
	assert_int_equal(send(&rc, 0, 8, 1), 0);
	assert_int_equal(commit(&rc, 1), 0);
	assert_int_equal(image_at(&rc, 7), 1);
	/* the next epoch changes two pages; the other six stay */
	assert_int_equal(send(&rc, 2, 2, 2), 0);
	assert_int_equal(commit(&rc, 2), 0);
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
	assert_int_equal(commit(&rc, 1), 0);

	assert_int_equal(announce(&rc, two, 2), 0);
	assert_int_equal(send(&rc, 0, 8, 2), 0);
	assert_int_equal(commit(&rc, 2), 0);
	assert_int_equal(rc.image.nr_blocks, 2);
	for (unsigned p = 0; p < 8; p++)
		assert_int_equal(image_at(&rc, p), 2);

	/* nothing of the kept block changes in this epoch */
	assert_int_equal(announce(&rc, first_half, 1), 0);
	assert_int_equal(commit(&rc, 3), 0);
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
	assert_int_equal(commit(&rc, 1), 0);
	assert_int_equal(image_at(&rc, 0), 5);
	assert_int_equal(image_at(&rc, 8), 4);
	ram_cache_destroy(&rc);
}

/*
 * The pause's load as the secondary does it: our guest written from the
 * stage (received pages, ZERO ones as zeros) and from the image (its own
 * dirty pages) before the image changes; then the commit, which leaves
 * nothing marked. A plan dropped after a flush (the checkpoint discarded)
 * leaves what it wrote marked, and a rollback puts it back.
 */
static void test_flush_staged(void **state)
{
	static const unsigned blocks[] = { 0, 32, 32, 8 };
	struct layout none = { 0 };
	struct self_guest sg;
	struct ram_cache rc;

	(void)state;
	self_guest_init(&sg, 40);
	assert_int_equal(ram_cache_init(&rc, PAGE), 0);
	assert_int_equal(announce(&rc, blocks, 1), 0);
	send_many(&rc, 0, 16, 1);
	assert_int_equal(commit(&rc, 1), 0);
	self_guest_flush(&sg, &rc, false);
	assert_true(self_guest_page_is(&sg, 15, 1));

	/* checkpoint 2: four pages, two ZERO ones, a new block sent whole;
	 * our guest wrote two pages of its own */
	assert_int_equal(announce(&rc, blocks, 2), 0);
	assert_int_equal(send(&rc, 4, 4, 2), 0);
	assert_int_equal(send_zero(&rc, 8, 2), 0);
	send_many(&rc, 32, 8, 7);
	self_guest_dirty(&sg, 10, 9);
	self_guest_dirty(&sg, 20, 9);
	assert_int_equal(ram_cache_flush_staged(&rc, 2, &sg.dl, &sg.w), 0);
	bitmap_clear(sg.dl.ram.blocks[0]->bmap, 0, sg.dl.ram.blocks[0]->npages);
	for (unsigned p = 0; p < 40; p++) {
		uint8_t want = p < 4 ? 1 : p < 8 ? 2 : p < 10 ? 0 :
			       p < 16 ? 1 : p < 32 ? 0 : 7;

		if (!self_guest_page_is(&sg, p, want))
			fail_msg("page %u of the guest is not %u", p, want);
	}
	assert_int_equal(rc.stats.pages_flushed, 4 + 2 + 8 + 2);
	assert_int_equal(image_at(&rc, 4), 1);	/* not committed yet */
	assert_int_equal(rc.image_id, 1);
	ram_cache_commit_staged(&rc, &none, 0);
	assert_int_equal(rc.image_id, 2);
	assert_false(rc.planned);
	assert_int_equal(image_at(&rc, 4), 2);
	assert_true(image_page_zero(&rc, 8));
	assert_int_equal(image_at(&rc, 35), 7);
	for (size_t i = 0; i < rc.image.nr_blocks; i++)
		assert_int_equal(bitmap_count_one(rc.image.blocks[i]->bmap,
						  rc.image.blocks[i]->npages), 0);

	/* checkpoint 3 written into the guest, then given up: rolled back */
	assert_int_equal(send(&rc, 0, 2, 3), 0);
	assert_int_equal(ram_cache_flush_staged(&rc, 3, &sg.dl, &sg.w), 0);
	assert_true(self_guest_page_is(&sg, 0, 3));
	ram_cache_discard(&rc);
	assert_false(rc.planned);
	self_guest_flush(&sg, &rc, true);
	assert_true(self_guest_page_is(&sg, 0, 1));
	assert_true(self_guest_page_is(&sg, 1, 1));
	assert_true(self_guest_page_is(&sg, 4, 2));
	assert_int_equal(rc.image_id, 2);
	ram_cache_destroy(&rc);
	self_guest_destroy(&sg);
}

/* A layout the test can tell apart: one mapping at tag. */
static void tagged_layout(struct layout *l, uint64_t tag)
{
	memset(l, 0, sizeof(*l));
	l->maps = calloc(1, sizeof(*l->maps));
	assert_non_null(l->maps);
	l->nr = l->cap = 1;
	l->maps[0].start = tag;
	l->maps[0].end = tag + PAGE;
}

/*
 * Image: A = pages [0, 8) at checkpoint 2 (pages 2, 3 marked to flush)
 * and C = [32, 36). Next: A with pages 1 (data) and 4 (ZERO) staged, a
 * new block B = [16, 20) with two of its pages (so it needs a buffer of
 * its own), and no C.
 */
static void three_epochs(struct ram_cache *rc)
{
	static const unsigned a_c[] = { 0, 8, 32, 4 };
	static const unsigned a_b[] = { 0, 8, 16, 4 };
	struct layout l;

	assert_int_equal(ram_cache_init(rc, PAGE), 0);
	assert_int_equal(announce(rc, a_c, 2), 0);
	send_many(rc, 0, 8, 1);
	send_many(rc, 32, 4, 7);
	tagged_layout(&l, 0x1000);
	assert_int_equal(ram_cache_commit(rc, 1, &l, 0x111), 0);
	/* as a flush would leave them */
	bitmap_clear(block_of(&rc->image, 0)->bmap, 0, 8);
	bitmap_clear(block_of(&rc->image, 32)->bmap, 0, 4);
	assert_int_equal(send(rc, 2, 2, 2), 0);
	tagged_layout(&l, 0x2000);
	assert_int_equal(ram_cache_commit(rc, 2, &l, 0x222), 0);

	assert_int_equal(announce(rc, a_b, 2), 0);
	assert_int_equal(send(rc, 1, 1, 9), 0);
	assert_int_equal(send_zero(rc, 4, 1), 0);
	assert_int_equal(send(rc, 16, 2, 5), 0);
}

/*
 * A commit that fails (here: no memory, after it mapped the new block's
 * buffer) changes nothing: not the image's blocks, content, marks, id or
 * layout, not what is staged, not the caller's layout. Committed again,
 * it succeeds as if it had never failed.
 */
static void test_failed_commit_changes_nothing(void **state)
{
	struct ram_cache rc;
	struct ram_block *a, *c;
	struct layout l;

	(void)state;
	three_epochs(&rc);
	a = block_of(&rc.image, 0);
	c = block_of(&rc.image, 32);

	log_set_quiet(1);
	setenv("COLO_FAULT_AT", "3", 1);
	fault_inject(FI_CACHE_COMMIT_ENOMEM);
	tagged_layout(&l, 0x3000);
	assert_int_equal(ram_cache_commit(&rc, 3, &l, 0x333), -ENOMEM);
	fault_inject(FI_NONE);

	/* the image: the same two blocks, content and marks */
	assert_int_equal(rc.image.nr_blocks, 2);
	assert_ptr_equal(rc.image.blocks[0], a);
	assert_ptr_equal(rc.image.blocks[1], c);
	assert_int_equal(c->start, BASE + 32 * PAGE);
	assert_non_null(c->colo_cache);
	assert_int_equal(image_at(&rc, 1), 1);
	assert_int_equal(image_at(&rc, 2), 2);
	assert_int_equal(image_at(&rc, 4), 1);
	assert_int_equal(image_at(&rc, 33), 7);
	assert_int_equal(image_at(&rc, 16), -1);
	assert_int_equal(bitmap_count_one(a->bmap, 8), 2);
	assert_true(test_bit(2, a->bmap) && test_bit(3, a->bmap));
	assert_int_equal(bitmap_count_one(c->bmap, 4), 0);
	assert_int_equal(rc.image_id, 2);
	assert_int_equal(rc.image_brk, 0x222);
	assert_int_equal(rc.image_layout.maps[0].start, 0x2000);
	/* the caller's layout is still the caller's */
	assert_non_null(l.maps);
	assert_int_equal(l.maps[0].start, 0x3000);
	/* next: the same staged pages */
	assert_int_equal(bitmap_count_one(block_of(&rc.next, 0)->bmap, 8), 2);
	assert_true(test_bit(1, block_of(&rc.next, 0)->bmap));
	assert_true(test_bit(4, block_of(&rc.next, 0)->bmap));
	assert_int_equal(bitmap_count_one(block_of(&rc.next, 16)->bmap, 4), 2);

	/* again, with memory: as if it had never failed (B arrived in part:
	 * the commit warns) */
	assert_int_equal(ram_cache_commit(&rc, 3, &l, 0x333), 0);
	log_set_quiet(0);
	assert_null(l.maps);
	assert_int_equal(rc.image_id, 3);
	assert_int_equal(rc.image_brk, 0x333);
	assert_int_equal(rc.image_layout.maps[0].start, 0x3000);
	assert_int_equal(rc.image.nr_blocks, 2);
	assert_ptr_equal(rc.image.blocks[0], a);
	assert_int_equal(image_at(&rc, 0), 1);
	assert_int_equal(image_at(&rc, 1), 9);
	assert_int_equal(image_at(&rc, 2), 2);
	assert_true(image_page_zero(&rc, 4));
	assert_int_equal(image_at(&rc, 16), 5);
	assert_int_equal(image_at(&rc, 17), 5);
	assert_int_equal(image_at(&rc, 18), 0);
	assert_int_equal(image_at(&rc, 32), -1);
	assert_int_equal(bitmap_count_one(a->bmap, 8), 4);	/* 1, 2, 3, 4 */
	assert_int_equal(bitmap_count_one(block_of(&rc.next, 0)->bmap, 8), 0);
	ram_cache_destroy(&rc);
}

/* After a commit that failed, the guest can still be put back to the
 * image it had: every block of it, the one the commit would drop too. */
static void test_failed_commit_can_roll_back(void **state)
{
	struct self_guest sg;
	struct ram_cache rc;

	(void)state;
	self_guest_init(&sg, 36);
	three_epochs(&rc);
	self_guest_flush(&sg, &rc, false);
	assert_true(self_guest_page_is(&sg, 2, 2));
	/* our guest runs on and writes, over A and over C */
	self_guest_dirty(&sg, 1, 0x55);
	self_guest_dirty(&sg, 4, 0x55);
	self_guest_dirty(&sg, 33, 0x55);

	log_set_quiet(1);
	setenv("COLO_FAULT_AT", "3", 1);
	fault_inject(FI_CACHE_COMMIT_ENOMEM);
	assert_int_equal(commit(&rc, 3), -ENOMEM);
	fault_inject(FI_NONE);
	log_set_quiet(0);

	self_guest_flush(&sg, &rc, true);
	assert_true(self_guest_page_is(&sg, 1, 1));
	assert_true(self_guest_page_is(&sg, 2, 2));
	assert_true(self_guest_page_is(&sg, 4, 1));
	assert_true(self_guest_page_is(&sg, 33, 7));
	/* what was staged is gone with the checkpoint that failed */
	assert_int_equal(bitmap_count_one(block_of(&rc.next, 0)->bmap, 8), 0);
	ram_cache_destroy(&rc);
	self_guest_destroy(&sg);
}

/*
 * A ZERO record replaces what the page held: data of an earlier
 * checkpoint (page 2, last sent through the staging buffer of a block
 * the primary kept), or data staged earlier in the same checkpoint (page
 * 5; page 3 of the initial image, whose staging buffer becomes the
 * image). ZERO then data is data (page 6). Image and guest read zeros.
 */
static void test_zero_page_replaces_data(void **state)
{
	static const unsigned one[] = { 0, 8 };
	struct self_guest sg;
	struct ram_cache rc;

	(void)state;
	self_guest_init(&sg, 8);
	assert_int_equal(ram_cache_init(&rc, PAGE), 0);
	assert_int_equal(announce(&rc, one, 1), 0);
	send_many(&rc, 0, 8, 0xa5);
	assert_int_equal(send_zero(&rc, 3, 1), 0);
	assert_int_equal(commit(&rc, 1), 0);
	assert_true(image_page_zero(&rc, 3));
	assert_int_equal(send(&rc, 2, 1, 0x5a), 0);
	assert_int_equal(commit(&rc, 2), 0);
	self_guest_flush(&sg, &rc, false);
	assert_true(self_guest_page_is(&sg, 2, 0x5a));

	assert_int_equal(send_zero(&rc, 2, 1), 0);
	assert_int_equal(send(&rc, 5, 1, 0x3c), 0);
	assert_int_equal(send_zero(&rc, 5, 2), 0);
	assert_int_equal(send(&rc, 6, 1, 0x77), 0);
	assert_int_equal(commit(&rc, 3), 0);
	assert_true(image_page_zero(&rc, 2));
	assert_true(image_page_zero(&rc, 5));
	assert_int_equal(image_at(&rc, 6), 0x77);
	self_guest_flush(&sg, &rc, false);
	assert_true(self_guest_page_is(&sg, 1, 0xa5));
	assert_true(self_guest_page_is(&sg, 2, 0));
	assert_true(self_guest_page_is(&sg, 3, 0));
	assert_true(self_guest_page_is(&sg, 5, 0));
	assert_true(self_guest_page_is(&sg, 6, 0x77));
	ram_cache_destroy(&rc);
	self_guest_destroy(&sg);
}

#define BIG_PAGES	4096u		/* 16 MiB */

/*
 * ZERO pages cost no memory, staged or in the image: a whole block of
 * them (the initial image, where the staged buffer becomes the image),
 * and again over a block that held data (the image gives its pages back).
 */
static void test_zero_pages_cost_no_memory(void **state)
{
	static const unsigned big[] = { 0, BIG_PAGES };
	struct ram_cache rc;
	struct ram_block *ib, *nb;
	long rss0;

	(void)state;
	assert_int_equal(ram_cache_init(&rc, PAGE), 0);
	assert_int_equal(announce(&rc, big, 1), 0);
	rss0 = rss_pages();
	assert_int_equal(send_zero(&rc, 0, BIG_PAGES), 0);
	nb = block_of(&rc.next, 0);
	assert_int_equal(resident(nb->colo_stage, nb->len), 0);
	assert_int_equal(commit(&rc, 1), 0);
	ib = block_of(&rc.image, 0);
	assert_int_equal(resident(ib->colo_cache, ib->len), 0);
	assert_true(image_page_zero(&rc, BIG_PAGES - 1));
	/* far less than the 16 MiB the markers stand for */
	assert_true(rss_pages() - rss0 < (long)BIG_PAGES / 8);

	send_many(&rc, 0, BIG_PAGES, 1);
	assert_int_equal(commit(&rc, 2), 0);
	assert_int_equal(resident(ib->colo_cache, ib->len), BIG_PAGES);
	assert_int_equal(send_zero(&rc, 0, BIG_PAGES), 0);
	assert_int_equal(commit(&rc, 3), 0);
	assert_int_equal(resident(ib->colo_cache, ib->len), 0);
	/* the stage of checkpoint 2, given back lazily, is not written */
	assert_lazyfree(nb->colo_stage, BIG_PAGES);
	assert_true(image_page_zero(&rc, 7));
	ram_cache_destroy(&rc);
}

/*
 * A ZERO record never touches the staging buffer (mapped, but given
 * back lazily at the last commit): marking a block's pages zero costs no
 * memory until it is committed either.
 */
static void test_zero_marks_leave_stage_alone(void **state)
{
	static const unsigned big[] = { 0, BIG_PAGES };
	struct ram_cache rc;
	struct ram_block *nb;

	(void)state;
	assert_int_equal(ram_cache_init(&rc, PAGE), 0);
	assert_int_equal(announce(&rc, big, 1), 0);
	send_many(&rc, 0, BIG_PAGES, 1);
	assert_int_equal(commit(&rc, 1), 0);		/* the initial image */
	send_many(&rc, 0, BIG_PAGES, 2);
	assert_int_equal(commit(&rc, 2), 0);		/* a kept block */
	nb = block_of(&rc.next, 0);
	assert_non_null(nb->colo_stage);
	assert_lazyfree(nb->colo_stage, BIG_PAGES);
	assert_int_equal(send_zero(&rc, 0, BIG_PAGES), 0);
	/* not written: still all given back */
	assert_lazyfree(nb->colo_stage, BIG_PAGES);
	/* data, then ZERO, in one checkpoint: that page is zeroed */
	assert_int_equal(send(&rc, 5, 1, 0x3c), 0);
	assert_int_equal(send_zero(&rc, 5, 1), 0);
	assert_int_equal(commit(&rc, 3), 0);
	assert_true(image_page_zero(&rc, 5));
	assert_true(image_page_zero(&rc, BIG_PAGES - 1));
	ram_cache_destroy(&rc);
}

/*
 * Once committed (or rolled back), staged pages are given back, lazily
 * (MADV_FREE: the kernel's to take when it needs memory, written again
 * without a fault while it has not): the cache does not hold a second
 * copy of what it received.
 */
static void test_staged_memory_released(void **state)
{
	static const unsigned big[] = { 0, BIG_PAGES };
	struct self_guest sg;
	struct ram_cache rc;
	struct ram_block *nb;

	(void)state;
	self_guest_init(&sg, BIG_PAGES);
	assert_int_equal(ram_cache_init(&rc, PAGE), 0);
	assert_int_equal(announce(&rc, big, 1), 0);
	send_many(&rc, 0, BIG_PAGES, 1);
	assert_int_equal(commit(&rc, 1), 0);		/* the initial image */

	/* a kept block: every other page, then all of them */
	for (unsigned p = 0; p < BIG_PAGES; p += 2)
		assert_int_equal(send(&rc, p, 1, 2), 0);
	nb = block_of(&rc.next, 0);
	assert_int_equal(resident(nb->colo_stage, nb->len), BIG_PAGES / 2);
	assert_lazyfree(nb->colo_stage, 0);
	assert_int_equal(commit(&rc, 2), 0);
	assert_lazyfree(nb->colo_stage, BIG_PAGES / 2);
	send_many(&rc, 0, BIG_PAGES, 3);
	/* written again: taken back from the lazy free, no fault */
	assert_lazyfree(nb->colo_stage, 0);
	assert_int_equal(commit(&rc, 3), 0);
	assert_lazyfree(nb->colo_stage, BIG_PAGES);
	assert_int_equal(image_at(&rc, 0), 3);
	assert_int_equal(image_at(&rc, BIG_PAGES - 1), 3);

	/* and a checkpoint that never comes */
	self_guest_flush(&sg, &rc, false);
	send_many(&rc, 0, 64, 4);
	assert_lazyfree(nb->colo_stage, BIG_PAGES - 64);
	self_guest_flush(&sg, &rc, true);
	assert_lazyfree(nb->colo_stage, BIG_PAGES);
	assert_true(self_guest_page_is(&sg, 0, 3));
	ram_cache_destroy(&rc);
	self_guest_destroy(&sg);
}

/*
 * No block over the guest runtime's private area: a primary that
 * announces one is refused, and the blocks stay what they were.
 */
static void test_reserved_range_refused(void **state)
{
	const uint64_t base = COLO_GUEST_PRIVATE_BASE;
	const uint64_t end = base + COLO_GUEST_PRIVATE_SIZE;
	struct ram_cache rc;
	struct colo_ram_block b[2] = {
		{ base - 4 * PAGE, 4 * PAGE }, { end, 4 * PAGE },
	};
	uint8_t rec[COLO_RAM_BLOCKS_LEN(2)];

	(void)state;
	assert_int_equal(ram_cache_init(&rc, PAGE), 0);
	log_set_quiet(1);
	assert_int_equal(ram_cache_reserve(&rc, end, base), -EINVAL);
	assert_int_equal(ram_cache_reserve(&rc, base + 1, end), -EINVAL);
	log_set_quiet(0);
	assert_int_equal(ram_cache_reserve(&rc, base, end), 0);

	/* right below and right above: fine */
	colo_ram_blocks_encode(b, 2, rec);
	assert_int_equal(ram_cache_set_blocks(&rc, rec, sizeof(rec)), 0);
	assert_int_equal(rc.next.nr_blocks, 2);

	log_set_quiet(1);
	/* the last page of the area, and one that holds all of it */
	b[1].start = end - PAGE;
	colo_ram_blocks_encode(b, 2, rec);
	assert_int_equal(ram_cache_set_blocks(&rc, rec, sizeof(rec)), -EPROTO);
	b[0] = (struct colo_ram_block){ base - PAGE,
					COLO_GUEST_PRIVATE_SIZE + 2 * PAGE };
	colo_ram_blocks_encode(b, 1, rec);
	assert_int_equal(ram_cache_set_blocks(&rc, rec, (uint32_t)
					      COLO_RAM_BLOCKS_LEN(1)), -EPROTO);
	log_set_quiet(0);
	assert_int_equal(rc.next.nr_blocks, 2);
	assert_int_equal(rc.next.blocks[0]->start, base - 4 * PAGE);
	assert_int_equal(rc.next.blocks[1]->start, end);
	ram_cache_destroy(&rc);
}

static void test_bad_records(void **state)
{
	static const unsigned one[] = { 0, 4 };
	static const unsigned unordered[] = { 8, 4, 0, 4 };
	static const unsigned empty[] = { 0, 0 };
	struct colo_ram_block odd = { BASE + 1, PAGE };
	static uint8_t junk[64], zrec[COLO_PAGE_HDR + sizeof(junk)];
	const struct colo_page bad_zlib = {
		.addr = BASE + PAGE, .encoding = COLO_PAGE_ZLIB,
		.len = sizeof(junk), .data = junk,
	};
	struct ram_cache rc;
	uint8_t rec[COLO_RAM_BLOCKS_LEN(1)];
	uint64_t got = 0;

	(void)state;
	log_set_quiet(1);
	assert_int_equal(ram_cache_init(&rc, PAGE), 0);
	assert_int_equal(announce(&rc, unordered, 2), -EPROTO);
	assert_int_equal(announce(&rc, empty, 1), -EPROTO);
	/* a count that does not match the length (by hand: the encoder
	 * writes only good records) */
	memset(rec, 0, sizeof(rec));
	put_be32(rec, 2);
	assert_int_equal(ram_cache_set_blocks(&rc, rec, sizeof(rec)), -EPROTO);
	/* not page aligned */
	colo_ram_blocks_encode(&odd, 1, rec);
	assert_int_equal(ram_cache_set_blocks(&rc, rec, sizeof(rec)), -EPROTO);

	assert_int_equal(announce(&rc, one, 1), 0);
	assert_int_equal(send(&rc, 4, 1, 1), -EPROTO);	/* in no block */
	/* a ZLIB page that does not inflate: well formed, but refused */
	memset(junk, 0xff, sizeof(junk));
	colo_page_encode(&bad_zlib, zrec);
	assert_int_equal(ram_cache_load_pages(&rc, zrec, sizeof(zrec), &got),
			 -EPROTO);
	assert_int_equal(got, 0);
	assert_int_equal(send(&rc, 0, 4, 1), 0);
	assert_int_equal(commit(&rc, 1), 0);
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
		cmocka_unit_test(test_flush_staged),
		cmocka_unit_test(test_failed_commit_changes_nothing),
		cmocka_unit_test(test_failed_commit_can_roll_back),
		cmocka_unit_test(test_zero_page_replaces_data),
		cmocka_unit_test(test_zero_pages_cost_no_memory),
		cmocka_unit_test(test_zero_marks_leave_stage_alone),
		cmocka_unit_test(test_staged_memory_released),
		cmocka_unit_test(test_reserved_range_refused),
		cmocka_unit_test(test_bad_records),
	};

	return cmocka_run_group_tests_name("ram_cache", tests, NULL, NULL);
}
