/*
 * ram_cache_flush.c - the RAM cache written into the stopped guest: the
 * pause's flush from the stage (the commit planned before and applied
 * after), the flush from the image, and the rollback.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define LOG_PREFIX "ram-cache: "
#include "log.h"
#include "bitmap.h"
#include "ram_cache.h"
#include "ram_cache_int.h"

/* Where the guest's page p of plan block i comes from: its stage when
 * received (zeros where it came as ZERO), else the image
 * (own dirty; a new block's buffer reads zero). NULL: zeros. */
static const uint8_t *flush_source(const struct ram_cache *rc,
				   const struct ram_block *ib,
				   const struct ram_block *nb,
				   const struct ram_block *zb, size_t p)
{
	if (test_bit(p, nb->bmap))
		return nb->colo_stage && !test_bit(p, zb->bmap) ?
		       nb->colo_stage + p * rc->page_size : NULL;
	return ib->colo_cache ? ib->colo_cache + p * rc->page_size : NULL;
}

/* Pages [p, q) of the guest, all from one kind of source at src. */
static int flush_run(struct ram_cache *rc, struct guest_writer *w,
		     const struct ram_block *ib, size_t p, size_t q,
		     const uint8_t *src)
{
	size_t ps = rc->page_size, step = FLUSH_ZEROS_BYTES / ps;
	int ret = 0;

	if (src)
		return guest_writer_add(w, ram_block_page_addr(ib, p), src,
					(q - p) * ps);
	for (; p < q && !ret; p += step) {
		size_t n = q - p < step ? q - p : step;

		ret = guest_writer_add(w, ram_block_page_addr(ib, p),
				       flush_zeros, n * ps);
	}
	return ret;
}

/* Is page p of plan block ib to be written: received or marked (own
 * dirty), and not in the guest already (written through, gb)? */
static bool flush_wants(const struct ram_block *ib, const struct ram_block *nb,
			const struct ram_block *gb, size_t p)
{
	return (test_bit(p, nb->bmap) || test_bit(p, ib->bmap)) &&
	       !test_bit(p, gb->bmap);
}

/* The first page from p on that flush_wants(), or npages. */
static size_t flush_next(const struct ram_block *ib, const struct ram_block *nb,
			 const struct ram_block *gb, size_t p)
{
	size_t n = ib->npages;

	while (p < n) {
		size_t r = find_next_bit(nb->bmap, n, p), o = find_next_bit(ib->bmap, n, p);

		p = r < o ? r : o;
		if (p >= n || !test_bit(p, gb->bmap))
			return p;
		p++;
	}
	return n;
}

/* Every page of plan block ib to write into the guest, in runs of one
 * source (nb: next's twin, zb and gb its ZERO and written-through marks). */
static int flush_block(struct ram_cache *rc, struct guest_writer *w,
		       const struct ram_block *ib, const struct ram_block *nb,
		       const struct ram_block *zb, const struct ram_block *gb)
{
	size_t n = ib->npages, ps = rc->page_size;
	size_t p = flush_next(ib, nb, gb, 0);

	while (p < n) {
		const uint8_t *src = flush_source(rc, ib, nb, zb, p), *at;
		size_t q = p + 1;
		int ret;

		/* extend while the next page is to write and follows on in
		 * the same buffer (or is zeros again) */
		while (q < n && flush_wants(ib, nb, gb, q)) {
			at = flush_source(rc, ib, nb, zb, q);
			if (src ? at != src + (q - p) * ps : at != NULL)
				break;
			q++;
		}
		ret = flush_run(rc, w, ib, p, q, src);
		if (ret)
			return ret;
		p = flush_next(ib, nb, gb, q);
	}
	return 0;
}

int ram_cache_flush_staged(struct ram_cache *rc, uint64_t id,
			   const struct dirty_log *guest_log,
			   struct guest_writer *w)
{
	struct ram_list view;
	uint64_t before = w->pages;
	int ret;

	if (!rc->planned) {
		ret = commit_prepare(rc, id, &rc->plan);
		if (ret)
			return ret;
		rc->planned = true;
		rc->plan_flushed = false;
		rc->plan_id = id;
	}
	/* own dirty pages marked in the plan's blocks: the image's kept
	 * ones (their marks are clear after the last flush) and the new */
	view = (struct ram_list){ .page_size = rc->page_size,
				  .blocks = rc->plan.blocks,
				  .nr_blocks = rc->plan.nr };
	rc->stats.pages_own_dirty = ram_list_count_dirty(&guest_log->ram);
	ram_list_fold_dirty(&guest_log->ram, &view);
	ret = 0;
	for (size_t i = 0; i < rc->plan.nr && !ret; i++)
		ret = flush_block(rc, w, rc->plan.blocks[i], rc->next.blocks[i],
				  rc->next_zero.blocks[i],
				  rc->next_guest.blocks[i]);
	if (!ret)
		ret = guest_writer_flush(w);
	if (ret)
		return ret;	/* the plan stays: a retry flushes again */
	for (size_t i = 0; i < rc->plan.nr; i++)
		bitmap_clear(rc->plan.blocks[i]->bmap, 0,
			     rc->plan.blocks[i]->npages);
	rc->plan_flushed = true;
	rc->stats.flushes++;
	rc->stats.pages_flushed = w->pages - before;
	return 0;
}

void ram_cache_commit_staged(struct ram_cache *rc, struct layout *layout,
			     uint64_t brk)
{
	if (!rc->planned)
		return;
	/* after a failed flush its pages stay marked, as ram_cache_commit
	 * leaves them */
	commit_apply(rc, &rc->plan, !rc->plan_flushed);
	commit_name(rc, rc->plan_id, layout, brk);
	rc->planned = false;
}

void ram_cache_plan_drop(struct ram_cache *rc)
{
	if (!rc->planned)
		return;
	/* a flush may have written received pages into our guest: marked
	 * in the image, a rollback writes them back (so do own dirty marks
	 * folded into its kept blocks) */
	ram_list_fold_dirty(&rc->next, &rc->image);
	commit_plan_free(&rc->plan);
	rc->planned = false;
}

void ram_cache_discard(struct ram_cache *rc)
{
	struct ram_list *next = &rc->next, *zero = &rc->next_zero;

	ram_cache_plan_drop(rc);
	ram_cache_write_through(rc, NULL);
	for (size_t i = 0; i < next->nr_blocks; i++) {
		stage_release(rc, next->blocks[i]);
		bitmap_clear(next->blocks[i]->bmap, 0, next->blocks[i]->npages);
		bitmap_clear(zero->blocks[i]->bmap, 0, zero->blocks[i]->npages);
	}
}

int ram_cache_rollback(struct ram_cache *rc, const struct dirty_log *guest_log,
		       struct guest_writer *w)
{
	if (!rc->committed)
		return 0;	/* no image yet: the guest never had one */
	ram_cache_discard(rc);
	return ram_cache_flush(rc, guest_log, w);
}

int ram_cache_flush(struct ram_cache *rc, const struct dirty_log *guest_log,
		    struct guest_writer *w)
{
	struct ram_list *rl = &rc->image;
	uint64_t before = w->pages;
	int ret = 0;

	rc->stats.pages_own_dirty = ram_list_count_dirty(&guest_log->ram);
	ram_list_fold_dirty(&guest_log->ram, rl);
	for (size_t i = 0; i < rl->nr_blocks && !ret; i++) {
		struct ram_block *rb = rl->blocks[i];
		size_t p = find_next_bit(rb->bmap, rb->npages, 0);

		while (p < rb->npages && !ret) {
			size_t q = find_next_zero_bit(rb->bmap, rb->npages, p);

			ret = guest_writer_add(w, ram_block_page_addr(rb, p),
					       rb->colo_cache + p * rc->page_size,
					       (q - p) * rc->page_size);
			p = find_next_bit(rb->bmap, rb->npages, q);
		}
	}
	if (!ret)
		ret = guest_writer_flush(w);
	if (ret)
		return ret;
	for (size_t i = 0; i < rl->nr_blocks; i++)
		bitmap_clear(rl->blocks[i]->bmap, 0, rl->blocks[i]->npages);
	rc->stats.flushes++;
	rc->stats.pages_flushed = w->pages - before;
	return 0;
}
