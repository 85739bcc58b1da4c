/*
 * page_sink.h - where ram_save puts the pages it reads.
 *
 * A transport table, as in CRIU's page-xfer: the same save loop fills a
 * local image (tests, local checkpoints) or a stream to the secondary.
 */
#ifndef COLO_PAGE_SINK_H
#define COLO_PAGE_SINK_H

#include <stddef.h>
#include <stdint.h>

struct ram_block;
struct page_sink;

struct page_sink_ops {
	/*
	 * Take len bytes (whole pages, contiguous in the guest) read from
	 * guest address addr, inside block rb. data stays valid until the
	 * batch ends (end_batch), so a sink may gather runs and write them
	 * in one go. 0 or a negative errno, which aborts the pass.
	 */
	int (*save_pages)(struct page_sink *sink, const struct ram_block *rb,
			  uint64_t addr, const void *data, size_t len);
	/*
	 * Optional: the batch is complete; after this, data given to
	 * save_pages is reused. A failure means no page of the batch was
	 * taken: ram_save puts them all back into bmap.
	 */
	int (*end_batch)(struct page_sink *sink);
};

/* Embed as the first member of a concrete sink. */
struct page_sink {
	const struct page_sink_ops *ops;
};

#endif /* COLO_PAGE_SINK_H */
