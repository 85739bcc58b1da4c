/*
 * page_stream.h - the page sink that puts pages on the checkpoint stream.
 *
 * Pages go out in PAGES records (colo_proto.h), one per ram_save batch:
 * a page of zeros as a marker, others raw or, with a compression level,
 * zlib-compressed when that makes them smaller. The primary's RAM blocks
 * go out as a RAM_BLOCKS record whenever they changed, before any page of
 * a new block.
 *
 * Both records are decoded in page_stream.c too, next to their encoders
 * (declared in colo_proto.h with every other record): the secondary's
 * RAM cache reads PAGES with colo_pages_next() and RAM_BLOCKS with
 * colo_ram_blocks_decode(), and parses no byte of them itself.
 */
#ifndef COLO_PAGE_STREAM_H
#define COLO_PAGE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "channel.h"
#include "page_sink.h"
#include "ram_list.h"

struct z_stream_s;			/* zlib's; only page_stream.c sees it */

struct page_stream_stats {
	uint64_t pages;			/* pages put on the stream */
	uint64_t zero, raw, zlib;	/* by encoding */
	uint64_t bytes;			/* payload bytes of PAGES records */
	uint64_t records;
};

struct page_stream {
	struct page_sink sink;		/* first: the stream is a sink */
	struct channel *ch;
	size_t page_size;
	int level;			/* zlib level, 0 = no compression */
	struct z_stream_s *z;		/* deflate state, NULL until set up */
	uint8_t *rec;			/* the PAGES record being built */
	size_t rec_len, rec_cap;
	uint8_t *zbuf;			/* one compressed page */
	uint64_t blocks_gen;		/* RAM list generation last announced */
	struct page_stream_stats stats;
};

int page_stream_init(struct page_stream *ps, struct channel *ch,
		     size_t page_size, int level);
void page_stream_destroy(struct page_stream *ps);
/* 0..9; -EINVAL otherwise. */
int page_stream_set_level(struct page_stream *ps, int level);

/* Send RAM_BLOCKS if rl's blocks changed since the last call (or always
 * when force). 0 or a negative errno. */
int page_stream_blocks(struct page_stream *ps, const struct ram_list *rl,
		       bool force);

/* Put out what is built so far (ram_save does it at each batch end). */
int page_stream_flush(struct page_stream *ps);

#endif /* COLO_PAGE_STREAM_H */
