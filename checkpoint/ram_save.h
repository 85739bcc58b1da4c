/*
 * ram_save.h - one pass over the dirty pages: clear lazily, read, hand on.
 *
 * For every page set in a block's bmap, in address order:
 *   1. if the clear_bmap bit of the page's chunk is set, clear it and
 *      re-arm the chunk (dirty_log_clear_chunk) -- before any read;
 *   2. clear the page's bmap bit and queue the page;
 *   3. read queued pages with process_vm_readv, a batch of up to
 *      RAM_SAVE_BATCH_PAGES pages in one call, and give them to the sink.
 * Chunks with nothing to send are never cleared.
 */
#ifndef COLO_RAM_SAVE_H
#define COLO_RAM_SAVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "dirty_log.h"
#include "page_sink.h"

#define RAM_SAVE_BATCH_PAGES	256	/* 1 MiB of 4 KiB pages per read */

struct ram_save_stats {
	uint64_t passes;
	uint64_t pages_sent;
	uint64_t reads;			/* process_vm_readv calls */
	uint64_t read_ns;
	uint64_t pages_vanished;	/* unmapped between sync and read */
};

struct ram_save {
	struct dirty_log *dl;
	unsigned char *buf;		/* RAM_SAVE_BATCH_PAGES pages */
	struct iovec remote[RAM_SAVE_BATCH_PAGES];
	struct ram_block *remote_rb[RAM_SAVE_BATCH_PAGES];
	size_t nr_remote;		/* queued runs */
	size_t queued_pages;
	uint64_t cursor;		/* where the next step goes on */
	struct ram_save_stats stats;
};

int ram_save_init(struct ram_save *rs, struct dirty_log *dl);
void ram_save_destroy(struct ram_save *rs);

/* Send every page the bmaps hold, in address order, into sink. */
int ram_save_pass(struct ram_save *rs, struct page_sink *sink);

/*
 * Send at most max_pages, going on from where the last step stopped; at
 * the end of the blocks the pass is done (*pass_done) and the next step
 * starts again at the first block. For sending while the guest runs, a
 * little at a time, as the stream drains.
 */
int ram_save_step(struct ram_save *rs, struct page_sink *sink,
		  size_t max_pages, bool *pass_done);

#endif /* COLO_RAM_SAVE_H */
