/*
 * ram_cache.c - the secondary's shadow of the primary guest's RAM.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <zlib.h>

#define LOG_PREFIX "ram-cache: "
#include "log.h"
#include "bitmap.h"
#include "colo_proto.h"
#include "fault.h"
#include "ram_cache.h"
#include "ram_cache_int.h"

/*
 * Staged pages are given back in ranges: runs of received pages fewer
 * than this many pages apart go in one madvise. The pages between them
 * hold nothing (given back at the last commit already) and cost the
 * kernel a look at their page table entries, far less than a call.
 */
#define RELEASE_GAP_PAGES	512

/*
 * ZERO pages over a block the image keeps: a run this long or longer is
 * given back (madvise); a shorter one is zero-filled. Measured here on
 * pages that held data: a call costs ~2 us plus ~0.3 us a page, a
 * zero-fill ~0.8 us a page. A page that turns zero mostly held data
 * until then, so a short run filled costs no more memory than it did.
 */
#define ZERO_RUN_UNBACK_PAGES	8

int ram_cache_init(struct ram_cache *rc, size_t page_size)
{
	z_stream *z;

	memset(rc, 0, sizeof(*rc));
	rc->page_size = page_size;
	ram_list_init(&rc->image, 0, page_size, CLEAR_BITMAP_SHIFT_DEFAULT);
	ram_list_init(&rc->next, 0, page_size, CLEAR_BITMAP_SHIFT_DEFAULT);
	ram_list_init(&rc->next_zero, 0, page_size, CLEAR_BITMAP_SHIFT_DEFAULT);
	ram_list_init(&rc->next_guest, 0, page_size, CLEAR_BITMAP_SHIFT_DEFAULT);
	z = calloc(1, sizeof(*z));
	if (!z || inflateInit(z) != Z_OK) {
		free(z);
		pr_err("cannot set up zlib");
		return -ENOMEM;
	}
	rc->z = z;
	return 0;
}

void ram_cache_destroy(struct ram_cache *rc)
{
	ram_list_destroy(&rc->image);
	ram_list_destroy(&rc->next);
	ram_list_destroy(&rc->next_zero);
	ram_list_destroy(&rc->next_guest);
	if (rc->planned)
		commit_plan_free(&rc->plan);
	layout_free(&rc->image_layout);
	if (rc->z) {
		inflateEnd(rc->z);
		free(rc->z);
	}
	rc->z = NULL;
}

/* A zeroed buffer for a block; its pages cost memory once written. */
static uint8_t *map_buffer(uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		pr_err("cannot map a %" PRIu64 " KiB RAM cache block: %s",
		       len >> 10, strerror(errno));
		return NULL;
	}
	return p;
}

/*
 * Make [p, p + len) of a buffer read as zeros and cost no memory. Cannot
 * fail: madvise of our own private anonymous mapping does not, and if it
 * ever did, the pages are zero-filled instead.
 */
static void buffer_zero(uint8_t *p, size_t len)
{
	if (madvise(p, len, MADV_DONTNEED) == 0)
		return;
	pr_warn("madvise(MADV_DONTNEED) of %zu KiB of the RAM cache: %s; "
		"zero-filling them instead", len >> 10, strerror(errno));
	memset(p, 0, len);
}

/*
 * Give [p, p + len) of a stage back lazily (MADV_FREE): the kernel takes
 * the pages when it needs memory, and until then the next checkpoint
 * writes into them without a page fault and a zero-fill each (those were
 * most of the stage's cost). What such a page reads is undefined: the
 * stage is never read where it holds no page of this checkpoint, or
 * where the page came as ZERO (see next_zero). Without MADV_FREE, the
 * pages are given back at once.
 */
static void stage_free(uint8_t *p, size_t len)
{
	if (madvise(p, len, MADV_FREE) == 0)
		return;
	buffer_zero(p, len);
}

/* Give back the staged pages of next block rb: the received ones, in runs
 * RELEASE_GAP_PAGES apart at most. Before its bmap is cleared. */
void stage_release(struct ram_cache *rc, struct ram_block *rb)
{
	size_t p = find_next_bit(rb->bmap, rb->npages, 0), q, n;

	if (!rb->colo_stage)
		return;
	while (p < rb->npages) {
		q = find_next_zero_bit(rb->bmap, rb->npages, p);
		while ((n = find_next_bit(rb->bmap, rb->npages, q)) < rb->npages &&
		       n - q <= RELEASE_GAP_PAGES)
			q = find_next_zero_bit(rb->bmap, rb->npages, n);
		stage_free(rb->colo_stage + p * rc->page_size,
			   (q - p) * rc->page_size);
		p = n;
	}
}

/* The ZERO pages of a stage that becomes an image block, zeroed (their
 * stage may hold anything, see stage_free). */
static void stage_zero_marked(struct ram_cache *rc, struct ram_block *nb,
			      const struct ram_block *zb)
{
	size_t p = find_next_bit(zb->bmap, zb->npages, 0);

	while (p < zb->npages) {
		size_t q = find_next_zero_bit(zb->bmap, zb->npages, p);

		buffer_zero(nb->colo_stage + p * rc->page_size,
			    (q - p) * rc->page_size);
		p = find_next_bit(zb->bmap, zb->npages, q);
	}
}

int ram_cache_reserve(struct ram_cache *rc, uint64_t start, uint64_t end)
{
	if (start >= end || start % rc->page_size || end % rc->page_size) {
		pr_err("cannot reserve %#" PRIx64 "-%#" PRIx64 ": expected a "
		       "non-empty range of whole %zu-byte pages", start, end,
		       rc->page_size);
		return -EINVAL;
	}
	if (rc->nr_reserved == RAM_CACHE_MAX_RESERVED) {
		pr_err("cannot reserve %#" PRIx64 "-%#" PRIx64 ": %d ranges "
		       "are reserved already, the most there can be", start,
		       end, RAM_CACHE_MAX_RESERVED);
		return -ENOSPC;
	}
	rc->reserved[rc->nr_reserved].start = start;
	rc->reserved[rc->nr_reserved].end = end;
	rc->nr_reserved++;
	return 0;
}

/* The reserved range [start, end) overlaps, or NULL. */
static const struct ram_hole *reserved_overlap(const struct ram_cache *rc,
					       uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < rc->nr_reserved; i++)
		if (rc->reserved[i].start < end && start < rc->reserved[i].end)
			return &rc->reserved[i];
	return NULL;
}

/*
 * next, then next_zero, become the blocks of next.areas. If either
 * cannot (out of memory), both are emptied, so they stay one for one:
 * what was staged is lost, and next_lost keeps it from being committed.
 */
static int mirror_next(struct ram_cache *rc)
{
	struct ram_list *next = &rc->next, *twins[] = { &rc->next_zero,
							&rc->next_guest };
	int ret;

	ret = ram_list_mirror(next);
	for (size_t t = 0; t < 2 && !ret; t++) {
		twins[t]->nr_areas = 0;
		for (size_t i = 0; i < next->nr_areas && !ret; i++)
			ret = ram_list_add_area(twins[t], next->areas[i].start,
						next->areas[i].end, false,
						"twin");
		if (!ret)
			ret = ram_list_mirror(twins[t]);
	}
	rc->next_lost = ret != 0;
	if (!ret)
		return 0;
	/* with no areas, a mirror only drops blocks: it cannot fail */
	next->nr_areas = 0;
	ram_list_mirror(next);
	for (size_t t = 0; t < 2; t++) {
		twins[t]->nr_areas = 0;
		ram_list_mirror(twins[t]);
	}
	pr_err("RAM_BLOCKS not followed: the pages staged since checkpoint "
	       "%" PRIu64 " are dropped", rc->image_id);
	return ret;
}

int ram_cache_set_blocks(struct ram_cache *rc, const uint8_t *payload,
			 uint32_t len)
{
	struct ram_list *rl = &rc->next;
	struct colo_ram_block *b;
	uint32_t n;
	int ret;

	ret = colo_ram_blocks_decode(payload, len, rc->page_size, &b, &n);
	if (ret)
		return ret;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t end = b[i].start + b[i].len;
		const struct ram_hole *r = reserved_overlap(rc, b[i].start, end);

		if (r) {
			pr_err("RAM_BLOCKS: block %u (%#" PRIx64 "-%#" PRIx64
			       ") overlaps %#" PRIx64 "-%#" PRIx64 ", reserved "
			       "for the guest runtime; expected no block there",
			       i, b[i].start, end, r->start, r->end);
			free(b);
			return -EPROTO;
		}
	}
	rl->nr_areas = 0;
	for (uint32_t i = 0; i < n && !ret; i++)
		ret = ram_list_add_area(rl, b[i].start, b[i].start + b[i].len,
					false, "cache");
	free(b);
	if (ret)
		return ret;
	return mirror_next(rc);
}

static int inflate_page(struct ram_cache *rc, const uint8_t *in, uint32_t len,
			uint8_t *out)
{
	z_stream *z = rc->z;

	if (inflateReset(z) != Z_OK)
		return -EPROTO;
	z->next_in = (Bytef *)in;
	z->avail_in = len;
	z->next_out = out;
	z->avail_out = (uInt)rc->page_size;
	if (inflate(z, Z_FINISH) != Z_STREAM_END || z->avail_out)
		return -EPROTO;
	return 0;
}

/* Where page p of next block rb is staged; its buffer is mapped on first
 * use. NULL when out of memory (logged). */
static uint8_t *stage_page(struct ram_cache *rc, struct ram_block *rb,
			   size_t p)
{
	if (fault_fire(FI_STAGE_ENOMEM)) {	/* mapped yet or not */
		pr_err("cannot map a %" PRIu64 " KiB RAM cache block: %s",
		       rb->len >> 10, strerror(ENOMEM));
		return NULL;
	}
	if (!rb->colo_stage && !(rb->colo_stage = map_buffer(rb->len)))
		return NULL;
	return rb->colo_stage + p * rc->page_size;
}

const uint8_t flush_zeros[FLUSH_ZEROS_BYTES];

/* The guest written through failed: it has nothing of the stage we can
 * count on any more, and is written no more until the next sync. */
static void through_fail(struct ram_cache *rc, int err)
{
	pr_warn("writing the initial sync's pages into our guest as they "
		"arrive failed (%s); the initial checkpoint writes them all",
		strerror(-err));
	ram_cache_write_through(rc, NULL);
}

int ram_cache_load_pages(struct ram_cache *rc, const uint8_t *payload,
			 uint32_t len, uint64_t *pages)
{
	struct ram_block *rb = NULL, *zb = NULL, *gb = NULL;
	struct colo_page pg;
	uint32_t off = 0;
	int ret, err;

	while ((ret = colo_pages_next(payload, len, rc->page_size, &off,
				      &pg)) > 0) {
		struct ram_block *at;
		uint8_t *dst = NULL;
		size_t p;

		at = ram_list_block_at_or_after(&rc->next, pg.addr);
		if (!at || pg.addr < at->start) {
			pr_err("page %#" PRIx64 " is in no RAM block the primary "
			       "announced", pg.addr);
			ret = -EPROTO;
			break;
		}
		if (at != rb) {		/* its twins: the same extent */
			rb = at;
			zb = ram_list_block_at_or_after(&rc->next_zero, rb->start);
			gb = ram_list_block_at_or_after(&rc->next_guest, rb->start);
		}
		p = (pg.addr - rb->start) / rc->page_size;
		switch (pg.encoding) {
		case COLO_PAGE_RAW:
			if (!(dst = stage_page(rc, rb, p))) {
				ret = -ENOMEM;
				break;
			}
			memcpy(dst, pg.data, pg.len);
			clear_bit(p, zb->bmap);
			rc->stats.raw++;
			break;
		case COLO_PAGE_ZERO:
			/* the stage is not touched: the mark says it */
			set_bit(p, zb->bmap);
			rc->stats.zero++;
			break;
		default:	/* COLO_PAGE_ZLIB: colo_pages_next knows no other */
			if (!(dst = stage_page(rc, rb, p))) {
				ret = -ENOMEM;
				break;
			}
			if (inflate_page(rc, pg.data, pg.len, dst)) {
				memset(dst, 0, rc->page_size);	/* see next_zero */
				pr_err("page %#" PRIx64 ": %u bytes of zlib data "
				       "that do not inflate to a %zu-byte page",
				       pg.addr, pg.len, rc->page_size);
				ret = -EPROTO;
				break;
			}
			clear_bit(p, zb->bmap);
			rc->stats.zlib++;
			break;
		}
		if (ret < 0)
			break;
		set_bit(p, rb->bmap);
		rc->stats.pages_received++;
		(*pages)++;
		/* the guest has this content once the writer's batch is out
		 * (a failure forgets every mark); without it, not any more */
		clear_bit(p, gb->bmap);
		if (rc->through) {
			err = guest_writer_add(rc->through, pg.addr,
					       dst ? dst : flush_zeros,
					       rc->page_size);
			if (err)
				through_fail(rc, err);
			else
				set_bit(p, gb->bmap);
		}
	}
	if (rc->through && (err = guest_writer_flush(rc->through))) {
		through_fail(rc, err);
		return ret;
	}
	if (rc->through)
		rc->stats.pages_through = rc->through->pages;
	return ret;
}

/* Every mark of the written-through guest cleared. */
static void guest_marks_clear(struct ram_cache *rc)
{
	struct ram_list *gl = &rc->next_guest;

	for (size_t i = 0; i < gl->nr_blocks; i++)
		bitmap_clear(gl->blocks[i]->bmap, 0, gl->blocks[i]->npages);
}

void ram_cache_write_through(struct ram_cache *rc, struct guest_writer *w)
{
	if (!w)
		guest_marks_clear(rc);
	else if (!rc->through)
		w->pages = 0;
	rc->through = w;
	rc->wrote_through |= w != NULL;
}

void ram_cache_guest_forget(struct ram_cache *rc)
{
	guest_marks_clear(rc);
}

/* Undo a plan that is not applied: the new blocks and their buffers. */
void commit_plan_free(struct commit_plan *pl)
{
	for (size_t i = 0; pl->blocks && pl->fresh && i < pl->nr; i++)
		if (test_bit(i, pl->fresh))
			ram_block_free(pl->blocks[i]);
	free(pl->blocks);
	bitmap_free(pl->fresh);
	memset(pl, 0, sizeof(*pl));
}

/*
 * Pair next's blocks with the image's, one for one: a block the primary
 * kept (same start and length) is the image's own, with its content; any
 * other is new, with a fresh buffer unless every page of it arrived.
 * Changes nothing but *pl. 0 or -ENOMEM (logged).
 */
static int commit_plan(struct ram_cache *rc, struct commit_plan *pl)
{
	const struct ram_list *img = &rc->image, *next = &rc->next;
	size_t j = 0;

	pl->nr = next->nr_blocks;
	pl->blocks = calloc(pl->nr ? pl->nr : 1, sizeof(*pl->blocks));
	pl->fresh = bitmap_new(pl->nr);
	if (!pl->blocks || !pl->fresh) {
		pr_err("out of memory for the image's list of %zu blocks",
		       pl->nr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < pl->nr; i++) {
		const struct ram_block *nb = next->blocks[i];
		struct ram_block *ib;

		while (j < img->nr_blocks && img->blocks[j]->start < nb->start)
			j++;
		if (j < img->nr_blocks && img->blocks[j]->start == nb->start &&
		    img->blocks[j]->len == nb->len) {
			pl->blocks[i] = img->blocks[j];
			continue;
		}
		ib = ram_block_new(nb->start, nb->len, rc->page_size,
				   img->clear_bmap_shift, "image");
		if (!ib) {
			pr_err("out of memory for the bitmaps of image block "
			       "%#" PRIx64 "-%#" PRIx64, nb->start,
			       nb->start + nb->len);
			return -ENOMEM;
		}
		pl->blocks[i] = ib;
		set_bit(i, pl->fresh);
		if (nb->colo_stage &&
		    bitmap_count_one(nb->bmap, nb->npages) == nb->npages)
			continue;	/* it takes the stage */
		ib->colo_cache = map_buffer(ib->len);
		if (!ib->colo_cache)
			return -ENOMEM;
	}
	return 0;
}

/* Zero n pages at buf of an image block the primary kept. */
static void image_zero(struct ram_cache *rc, uint8_t *buf, size_t n)
{
	if (n >= ZERO_RUN_UNBACK_PAGES)
		buffer_zero(buf, n * rc->page_size);
	else
		memset(buf, 0, n * rc->page_size);
}

/* Received pages [p, q) of nb into ib: the ones that came as data are
 * copied; ZERO ones are zeroed, unless ib's buffer is fresh (zero). */
static void commit_run(struct ram_cache *rc, struct ram_block *ib,
		       const struct ram_block *nb, const unsigned long *zmap,
		       size_t p, size_t q, bool fresh)
{
	size_t ps = rc->page_size;

	while (p < q) {
		size_t z = find_next_bit(zmap, q, p), e;

		if (z > p)
			memcpy(ib->colo_cache + p * ps, nb->colo_stage + p * ps,
			       (z - p) * ps);
		if (z == q)
			return;
		e = find_next_zero_bit(zmap, q, z);
		if (!fresh)
			image_zero(rc, ib->colo_cache + z * ps, e - z);
		p = e;
	}
}

/* Next block nb (ZERO marks in zb) into image block ib; cannot fail.
 * mark: the received pages are marked to flush (not when the guest has
 * them already: ram_cache_flush_staged). */
static void commit_block(struct ram_cache *rc, struct ram_block *ib,
			 struct ram_block *nb, struct ram_block *zb, bool fresh,
			 bool mark)
{
	size_t got = bitmap_count_one(nb->bmap, nb->npages);

	if (fresh && !ib->colo_cache) {
		/* every page arrived: the staged buffer is the image, once
		 * zero where a ZERO page came */
		stage_zero_marked(rc, nb, zb);
		ib->colo_cache = nb->colo_stage;
		nb->colo_stage = NULL;
		if (mark)
			bitmap_set(ib->bmap, 0, ib->npages);
	} else {
		/* the primary sends a new block whole; a page it could not
		 * read (beyond the end of a file, say) stays zero */
		if (fresh && got != nb->npages)
			pr_warn("new RAM block %" PRIx64 "-%" PRIx64 " arrived "
				"with %zu of its %zu pages; the rest is zero",
				nb->start, nb->start + nb->len, got, nb->npages);
		for (size_t p = find_next_bit(nb->bmap, nb->npages, 0);
		     p < nb->npages;) {
			size_t q = find_next_zero_bit(nb->bmap, nb->npages, p);

			commit_run(rc, ib, nb, zb->bmap, p, q, fresh);
			if (mark)
				bitmap_set(ib->bmap, p, q - p);
			p = find_next_bit(nb->bmap, nb->npages, q);
		}
		stage_release(rc, nb);
	}
	bitmap_clear(nb->bmap, 0, nb->npages);
	bitmap_clear(zb->bmap, 0, zb->npages);
}

/*
 * Step 1 -- every block of next into its image block (copies, zeroes,
 *           hand-overs of staged buffers; staged memory given back);
 * Step 2 -- the image's blocks that next no longer has are freed;
 * Step 3 -- the plan's list becomes the image's.
 * Nothing here can fail.
 */
void commit_apply(struct ram_cache *rc, struct commit_plan *pl, bool mark)
{
	struct ram_list *img = &rc->image;
	size_t k = 0;

	for (size_t i = 0; i < pl->nr; i++)
		commit_block(rc, pl->blocks[i], rc->next.blocks[i],
			     rc->next_zero.blocks[i], test_bit(i, pl->fresh),
			     mark);
	for (size_t j = 0; j < img->nr_blocks; j++) {
		struct ram_block *ob = img->blocks[j];

		while (k < pl->nr && pl->blocks[k]->start < ob->start)
			k++;
		if (k < pl->nr && pl->blocks[k] == ob)
			continue;	/* kept */
		ram_block_free(ob);
		img->blocks_removed++;
	}
	img->blocks_added += bitmap_count_one(pl->fresh, pl->nr);
	free(img->blocks);
	img->blocks = pl->blocks;
	img->nr_blocks = pl->nr;
	img->cap_blocks = pl->nr ? pl->nr : 1;
	bitmap_free(pl->fresh);
	memset(pl, 0, sizeof(*pl));
}

/* Step 1 of a commit: the plan, or -ENOMEM with nothing changed. */
int commit_prepare(struct ram_cache *rc, uint64_t id, struct commit_plan *pl)
{
	int ret;

	if (rc->next_lost) {
		pr_err("checkpoint %" PRIu64 " cannot be committed: its pages "
		       "were dropped with a RAM_BLOCKS there was no memory "
		       "for", id);
		return -ENOMEM;
	}
	ret = commit_plan(rc, pl);
	if (!ret && fault_injected(FI_CACHE_COMMIT_ENOMEM) && id == fault_at()) {
		pr_err("checkpoint %" PRIu64 ": no memory for its commit "
		       "(fault %s)", id, fault_name(FI_CACHE_COMMIT_ENOMEM));
		ret = -ENOMEM;
	}
	if (ret)
		commit_plan_free(pl);
	return ret;
}

/* Step 3 of a commit: the image is checkpoint id, with its layout. */
void commit_name(struct ram_cache *rc, uint64_t id, struct layout *layout,
		 uint64_t brk)
{
	layout_free(&rc->image_layout);
	rc->image_layout = *layout;
	memset(layout, 0, sizeof(*layout));
	rc->image_id = id;
	rc->image_brk = brk;
	rc->committed = true;
	ram_cache_write_through(rc, NULL);	/* the guest runs from here */
}

/*
 * Step 1 -- plan: allocate the image's new list of blocks, the new
 *           blocks and their buffers (the only step that can fail);
 * Step 2 -- apply: copy, zero, hand over, free what is dropped;
 * Step 3 -- the image is checkpoint id, with its layout.
 */
int ram_cache_commit(struct ram_cache *rc, uint64_t id, struct layout *layout,
		     uint64_t brk)
{
	struct commit_plan pl = { 0 };
	int ret = commit_prepare(rc, id, &pl);

	if (ret)
		return ret;
	commit_apply(rc, &pl, true);
	commit_name(rc, id, layout, brk);
	return 0;
}
