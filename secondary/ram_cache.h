/*
 * ram_cache.h - the secondary's RAM cache.
 *
 * A full shadow copy of the primary guest's memory, block by block, as
 * the primary announces its RAM blocks (RAM_BLOCKS) and sends its pages
 * (PAGES). Pages land here, never in the running secondary guest, and are
 * marked in the received bitmap (the blocks' bmap). At a checkpoint the
 * secondary flushes exactly the pages in (received | dirtied by its own
 * guest) from the cache into its stopped guest, then forgets them: its
 * guest is then what the primary's was (QEMU's colo_flush_ram_cache).
 */
#ifndef COLO_RAM_CACHE_H
#define COLO_RAM_CACHE_H

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
	struct ram_list blocks;		/* colo_cache: content; bmap: received */
	size_t page_size;
	z_stream z;
	int z_ready;
	struct ram_cache_stats stats;
};

int ram_cache_init(struct ram_cache *rc, size_t page_size);
void ram_cache_destroy(struct ram_cache *rc);

/*
 * Follow a RAM_BLOCKS record: blocks the primary still has keep their
 * cache; others are freed; new ones get a zeroed cache. -EPROTO when the
 * record is malformed (logged with what was wrong).
 */
int ram_cache_set_blocks(struct ram_cache *rc, const uint8_t *payload,
			 uint32_t len);

/* Put the pages of a PAGES record into the cache and mark them received.
 * Adds the pages to *pages. -EPROTO when malformed (logged). */
int ram_cache_load_pages(struct ram_cache *rc, const uint8_t *payload,
			 uint32_t len, uint64_t *pages);

/*
 * With the guest stopped and its dirty log synced: fold the pages it
 * dirtied into the received bitmap, write every marked page from the
 * cache into the guest, and clear the bitmap.
 */
int ram_cache_flush(struct ram_cache *rc, const struct dirty_log *guest_log,
		    struct guest_writer *w);

#endif /* COLO_RAM_CACHE_H */
