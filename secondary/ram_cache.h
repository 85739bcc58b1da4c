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
 * When a checkpoint has arrived whole, next is committed into image. If
 * it never arrives, next is dropped, and the guest is put back to the
 * image by flushing the pages it dirtied itself (rollback).
 */
#ifndef COLO_RAM_CACHE_H
#define COLO_RAM_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include <zlib.h>

#include "dirty_log.h"
#include "guest_writer.h"
#include "ram_list.h"

struct ram_cache_stats {
	uint64_t pages_received;
	uint64_t zero, raw, zlib;
	uint64_t flushes;
	uint64_t pages_flushed;		/* last flush */
	uint64_t pages_own_dirty;	/* last flush: dirtied by our guest */
};

struct ram_cache {
	struct ram_list image;		/* colo_cache: content; bmap: to flush */
	struct ram_list next;		/* colo_stage: content; bmap: received */
	size_t page_size;
	bool committed;			/* image holds a complete checkpoint */
	z_stream z;
	int z_ready;
	struct ram_cache_stats stats;
};

int ram_cache_init(struct ram_cache *rc, size_t page_size);
void ram_cache_destroy(struct ram_cache *rc);

/*
 * Follow a RAM_BLOCKS record. -EPROTO when it is malformed (logged with
 * what was wrong).
 */
int ram_cache_set_blocks(struct ram_cache *rc, const uint8_t *payload,
			 uint32_t len);

/* Stage the pages of a PAGES record. Adds them to *pages. -EPROTO when
 * malformed (logged). */
int ram_cache_load_pages(struct ram_cache *rc, const uint8_t *payload,
			 uint32_t len, uint64_t *pages);

/* The checkpoint arrived whole: what was received becomes the image, and
 * is marked to flush. 0 or -ENOMEM. */
int ram_cache_commit(struct ram_cache *rc);

/*
 * With the guest stopped and its dirty log synced: fold the pages it
 * dirtied into the pages to flush, write them from the image into the
 * guest, and clear the marks. After a commit.
 */
int ram_cache_flush(struct ram_cache *rc, const struct dirty_log *guest_log,
		    struct guest_writer *w);

/*
 * The checkpoint in progress will not come: drop what was received since
 * the last complete one and put the stopped guest (its layout already the
 * image's, its dirty log synced) back to the image. Does nothing before
 * the first complete checkpoint.
 */
int ram_cache_rollback(struct ram_cache *rc, const struct dirty_log *guest_log,
		       struct guest_writer *w);

#endif /* COLO_RAM_CACHE_H */
