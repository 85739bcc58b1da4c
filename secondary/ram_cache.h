/*
 * ram_cache.h - the secondary's RAM cache.
 *
 * A full shadow copy of the primary guest's memory, block by block, as
 * the primary announces its RAM blocks (RAM_BLOCKS) and sends its pages
 * (PAGES). Pages land here, never in the running secondary guest. At a
 * checkpoint the secondary flushes exactly the pages in (received |
 * dirtied by its own guest) from the cache into its stopped guest: its
 * guest is then what the primary's was (QEMU's colo_flush_ram_cache).
 *
 * Two lists of blocks keep a checkpoint cut short from leaving anything
 * behind:
 *   image  the primary's RAM at the last complete checkpoint
 *          (colo_cache of each block); its bmap marks the pages to flush;
 *   next   the primary's blocks as it announces them now, and the pages
 *          received since that checkpoint (colo_stage); bmap: received.
 * When a checkpoint has arrived whole, next is committed into image: all
 * or nothing, so a commit that fails leaves both as they were. If it
 * never arrives, next is dropped, and the guest is put back to the image
 * by flushing the pages it dirtied itself (rollback).
 *
 * Memory: both buffers of a block are private anonymous mappings, so a
 * page costs memory only once written. A ZERO page is not written: it is
 * marked in next_zero, and the commit leaves the image's page unbacked
 * (a new block), or makes it so (MADV_DONTNEED: it reads as zeros) for a
 * run of them; a few ZERO pages amid data are zero-filled, cheaper than
 * a call each. After a commit or a rollback the staged pages are given
 * back lazily (MADV_FREE): the kernel reclaims them when it needs the
 * memory, and until it does the next checkpoint writes into them
 * without a page fault each. So the cache costs about one copy of the
 * primary's RAM that is not zero, plus what arrives between two
 * checkpoints, the latter reclaimable (LazyFree in /proc/PID/smaps).
 */
#ifndef COLO_RAM_CACHE_H
#define COLO_RAM_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "dirty_log.h"
#include "guest_writer.h"
#include "layout.h"
#include "ram_list.h"

struct z_stream_s;			/* zlib's; only ram_cache.c sees it */

/* Ranges set aside with ram_cache_reserve(). */
#define RAM_CACHE_MAX_RESERVED	4

struct ram_cache_stats {
	uint64_t pages_received;
	uint64_t zero, raw, zlib;
	uint64_t flushes;
	uint64_t pages_flushed;		/* last flush */
	uint64_t pages_own_dirty;	/* last flush: dirtied by our guest */
	uint64_t pages_through;		/* written into the guest as they
					 * arrived, since write-through began */
};

/* What a commit needs, all of it allocated before the image changes. */
struct commit_plan {
	struct ram_block **blocks;	/* the image's blocks after it: one per
					 * block of next, in the same order */
	/*
	 * fresh: one bit per entry of blocks; set: blocks[i] is a new block,
	 * not one of the image's. A new block without a buffer takes next's
	 * staged one (every page of it arrived).
	 */
	unsigned long *fresh;
	size_t nr;
};

struct ram_cache {
	struct ram_list image;		/* colo_cache: content; bmap: to flush */
	struct ram_list next;		/* colo_stage: content; bmap: received */
	/*
	 * next_zero: next's blocks, one for one (the same extents in the same
	 * order: every RAM_BLOCKS is mirrored into both, and a failure
	 * empties both). Its blocks carry no buffer, only bmap:
	 * one bit per page of the twin block in next, bit i covers
	 * [start + i * page_size, + page_size).
	 * Set: the page's latest record since the last complete checkpoint
	 * was ZERO; the commit does not copy it but zeroes the image's page
	 * (gives it back). Always a subset of next's received bits.
	 * Set by ram_cache_load_pages (cleared there when a RAW or ZLIB
	 * record of the page follows), cleared by commit and rollback. Owned
	 * by the secondary's event loop, like the rest of the cache; no lock.
	 *
	 * The staging buffer is read only at received pages not marked
	 * here: elsewhere it may hold anything (its pages are given back
	 * lazily, MADV_FREE, at each commit and rollback). A new block
	 * whose every page arrived takes its staged buffer as its image,
	 * zeroed at the marked pages first.
	 */
	struct ram_list next_zero;
	/*
	 * next_guest: next's twin like next_zero (bmap only). Set: the page's
	 * latest record since the last complete checkpoint was written into
	 * our guest as it arrived (ram_cache_write_through, the initial
	 * sync), so the flush need not write it. Set and cleared by
	 * ram_cache_load_pages; all cleared by a failed or stopped write
	 * through, a commit and a discard.
	 */
	struct ram_list next_guest;
	struct guest_writer *through;	/* writes pages into the guest as they
					 * arrive; NULL: off */
	bool wrote_through;		/* it ever did: our guest holds part of
					 * an initial sync */
	bool next_lost;			/* a RAM_BLOCKS could not be followed
					 * (out of memory): next and next_zero
					 * are empty, and commit refuses until
					 * a RAM_BLOCKS is followed */
	size_t page_size;
	bool committed;			/* image holds a complete checkpoint */
	uint64_t image_id;		/* the checkpoint the image holds (valid
					 * when committed) */
	struct layout image_layout;	/* the primary guest's layout at
					 * image_id, owned (zeroed until the
					 * first commit) */
	uint64_t image_brk;		/* its program break then */
	/* Ranges no RAM block may overlap (the guest runtime's private
	 * area): a RAM_BLOCKS record that does is refused. */
	struct ram_hole reserved[RAM_CACHE_MAX_RESERVED];
	size_t nr_reserved;
	struct z_stream_s *z;		/* inflate state, NULL until set up */
	/* ram_cache_flush_staged's commit, made before the guest is written
	 * and applied (ram_cache_commit_staged) after it runs again */
	struct commit_plan plan;
	bool planned;
	bool plan_flushed;		/* its flush succeeded */
	uint64_t plan_id;
	struct ram_cache_stats stats;
};

int ram_cache_init(struct ram_cache *rc, size_t page_size);
void ram_cache_destroy(struct ram_cache *rc);

/*
 * No RAM block may overlap [start, end) (page aligned, start < end):
 * ram_cache_set_blocks() refuses one that does. For the guest runtime's
 * private area, whose stack the pause loop runs on while the cache is
 * flushed. Before the first RAM_BLOCKS: blocks already announced are
 * not checked again. 0, -EINVAL (bad range) or -ENOSPC (more than
 * RAM_CACHE_MAX_RESERVED), logged.
 */
int ram_cache_reserve(struct ram_cache *rc, uint64_t start, uint64_t end);

/*
 * Follow a RAM_BLOCKS record (decoded by colo_ram_blocks_decode). -EPROTO
 * when it is malformed or a block overlaps a reserved range (logged with
 * what was wrong; next is then unchanged). -ENOMEM when out of memory (logged); next is then empty
 * (next_lost): what was staged is lost, and the checkpoint in progress
 * cannot be committed.
 */
int ram_cache_set_blocks(struct ram_cache *rc, const uint8_t *payload,
			 uint32_t len);

/* Stage the pages of a PAGES record (read with colo_pages_next). Adds
 * them to *pages. -EPROTO when malformed, a page is in no RAM block or
 * does not inflate (logged), -ENOMEM when no buffer could be mapped
 * (logged); the pages before the bad one are staged.
 * A ZERO page costs no memory; a data page lands in a page given back
 * lazily at the last commit (a plain copy while the kernel has not
 * reclaimed it). */
int ram_cache_load_pages(struct ram_cache *rc, const uint8_t *payload,
			 uint32_t len, uint64_t *pages);

/*
 * Checkpoint id arrived whole: what was received becomes the image, and
 * is marked to flush; the image is then checkpoint id, with the primary
 * guest's layout *layout and program break brk. The cache takes *layout
 * (the caller's struct is zeroed) and frees the layout it had. The staged
 * memory is given back.
 *
 * All or nothing: everything the commit needs is allocated first, and only
 * then is anything changed. On failure (-ENOMEM, logged) the image
 * (content, blocks, marks, id, layout), next (staged pages and marks) and
 * *layout are exactly as before: the caller may roll back to the old
 * image or commit again. Fault point FI_CACHE_COMMIT_ENOMEM fails the
 * commit of checkpoint fault_at() after its allocations.
 *
 * Cost: a copy of each received page into the image, and the release of
 * its staged page (measured here: 0.15-0.3 us more on a ~0.9 us copy); a
 * ZERO page costs a zero-fill, or its share of one madvise per run, and
 * nothing in a new block.
 */
int ram_cache_commit(struct ram_cache *rc, uint64_t id, struct layout *layout,
		     uint64_t brk);

/*
 * The pause's load with one write a page, in two calls, for a checkpoint
 * id that arrived whole:
 *
 * ram_cache_flush_staged, with the guest stopped, its dirty log synced
 * and its layout already next's: the commit is planned (everything it
 * allocates; -ENOMEM, logged, changes nothing), then (received | own
 * dirty) is written into the guest, a received page from where it is
 * staged, any other from the image. 0 or a negative errno (logged); on
 * failure the plan stays for a retry (ram_cache_plan_drop drops it).
 *
 * ram_cache_commit_staged, after the guest runs again: the plan applied
 * (the copies into the image, out of the pause), the image is checkpoint
 * id with *layout and brk, as ram_cache_commit; nothing to flush is left
 * marked (after a failed flush, what ram_cache_commit marks). Cannot
 * fail; does nothing without a plan.
 *
 * Between the two the image is still the checkpoint before; a guest
 * written by a successful flush must be committed before anything else
 * uses the cache.
 */
int ram_cache_flush_staged(struct ram_cache *rc, uint64_t id,
			   const struct dirty_log *guest_log,
			   struct guest_writer *w);
void ram_cache_commit_staged(struct ram_cache *rc, struct layout *layout,
			     uint64_t brk);
/* A plan that will not be applied is dropped; what a failed flush may
 * have written into the guest is marked in the image for a rollback.
 * ram_cache_discard() drops it too. */
void ram_cache_plan_drop(struct ram_cache *rc);

/*
 * With the guest stopped and its dirty log synced: fold the pages it
 * dirtied into the pages to flush, write them from the image into the
 * guest, and clear the marks. After a commit.
 */
int ram_cache_flush(struct ram_cache *rc, const struct dirty_log *guest_log,
		    struct guest_writer *w);

/*
 * The initial sync, with our guest stopped (it was never loaded) and
 * already in the primary's layout: from now on every page that arrives
 * is written into it as well as staged (w: the writer; NULL stops it and
 * forgets what was written), so the initial checkpoint's flush writes
 * only what the guest does not have. A write that fails stops it
 * (logged); the flush then writes every page. It stops by itself at the
 * first commit and at a discard.
 */
void ram_cache_write_through(struct ram_cache *rc, struct guest_writer *w);
/* What was written through may be gone (our guest's layout changed):
 * the flush writes those pages again. */
void ram_cache_guest_forget(struct ram_cache *rc);

/* What was received since the last complete checkpoint is dropped (its
 * memory given back); the image and the guest stay as they are. */
void ram_cache_discard(struct ram_cache *rc);

/*
 * The checkpoint in progress will not come: drop what was received since
 * the last complete one (its memory given back) and put the stopped guest
 * (its layout already the image's, its dirty log synced) back to the
 * image. Does nothing before the first complete checkpoint.
 */
int ram_cache_rollback(struct ram_cache *rc, const struct dirty_log *guest_log,
		       struct guest_writer *w);

#endif /* COLO_RAM_CACHE_H */
