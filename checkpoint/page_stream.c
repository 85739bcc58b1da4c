/*
 * page_stream.c - encode pages into PAGES records.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_PREFIX "page-stream: "
#include "log.h"
#include "colo_proto.h"
#include "page_stream.h"
#include "ram_save.h"
#include "ramblock.h"

/* A record holds at most a ram_save batch of raw pages and their headers. */
#define REC_PAGES	RAM_SAVE_BATCH_PAGES

static bool all_zero(const uint8_t *p, size_t len)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;

	for (size_t i = 0; i < len / sizeof(*w); i++)
		if (w[i])
			return false;
	return true;
}

int page_stream_flush(struct page_stream *ps)
{
	int ret;

	if (!ps->rec_len)
		return 0;
	ret = channel_send(ps->ch, COLO_PAGES, ps->rec, (uint32_t)ps->rec_len);
	if (!ret) {
		ps->stats.bytes += ps->rec_len;
		ps->stats.records++;
	}
	ps->rec_len = 0;
	return ret;
}

/* Deflate one page into zbuf; its size, or 0 when it does not shrink. */
static size_t deflate_page(struct page_stream *ps, const uint8_t *page)
{
	if (deflateReset(&ps->z) != Z_OK)
		return 0;
	ps->z.next_in = (Bytef *)page;
	ps->z.avail_in = (uInt)ps->page_size;
	ps->z.next_out = ps->zbuf;
	ps->z.avail_out = (uInt)ps->page_size;
	if (deflate(&ps->z, Z_FINISH) != Z_STREAM_END)
		return 0;		/* did not fit: not worth it */
	return ps->page_size - ps->z.avail_out;
}

static void put_entry(struct page_stream *ps, uint64_t addr, uint8_t enc,
		      const uint8_t *data, uint32_t len)
{
	uint8_t *e = ps->rec + ps->rec_len;

	put_be64(e, addr);
	e[8] = enc;
	put_be32(e + 9, len);
	if (len)
		memcpy(e + COLO_PAGE_HDR, data, len);
	ps->rec_len += COLO_PAGE_HDR + len;
}

static int stream_save_pages(struct page_sink *sink, const struct ram_block *rb,
			     uint64_t addr, const void *data, size_t len)
{
	struct page_stream *ps = (struct page_stream *)sink;
	const uint8_t *p = data;

	(void)rb;
	for (size_t off = 0; off < len; off += ps->page_size) {
		const uint8_t *page = p + off;
		size_t zlen;
		int ret;

		if (ps->rec_cap - ps->rec_len < COLO_PAGE_HDR + ps->page_size) {
			ret = page_stream_flush(ps);
			if (ret)
				return ret;
		}
		if (all_zero(page, ps->page_size)) {
			put_entry(ps, addr + off, COLO_PAGE_ZERO, NULL, 0);
			ps->stats.zero++;
		} else if (ps->level && (zlen = deflate_page(ps, page))) {
			put_entry(ps, addr + off, COLO_PAGE_ZLIB, ps->zbuf,
				  (uint32_t)zlen);
			ps->stats.zlib++;
		} else {
			put_entry(ps, addr + off, COLO_PAGE_RAW, page,
				  (uint32_t)ps->page_size);
			ps->stats.raw++;
		}
		ps->stats.pages++;
	}
	return 0;
}

static int stream_end_batch(struct page_sink *sink)
{
	return page_stream_flush((struct page_stream *)sink);
}

static const struct page_sink_ops stream_ops = {
	.save_pages = stream_save_pages,
	.end_batch = stream_end_batch,
};

int page_stream_set_level(struct page_stream *ps, int level)
{
	if (level < 0 || level > 9) {
		pr_err("compress_level %d is out of range 0..9", level);
		return -EINVAL;
	}
	if (ps->z_ready && deflateParams(&ps->z, level ? level : 1,
					 Z_DEFAULT_STRATEGY) != Z_OK) {
		pr_err("cannot set zlib level %d", level);
		return -EINVAL;
	}
	ps->level = level;
	return 0;
}

int page_stream_init(struct page_stream *ps, struct channel *ch,
		     size_t page_size, int level)
{
	memset(ps, 0, sizeof(*ps));
	ps->sink.ops = &stream_ops;
	ps->ch = ch;
	ps->page_size = page_size;
	ps->blocks_gen = UINT64_MAX;
	ps->rec_cap = REC_PAGES * (COLO_PAGE_HDR + page_size);
	ps->rec = malloc(ps->rec_cap);
	ps->zbuf = malloc(page_size);
	if (!ps->rec || !ps->zbuf) {
		page_stream_destroy(ps);
		pr_err("out of memory for the page stream");
		return -ENOMEM;
	}
	if (deflateInit(&ps->z, level ? level : 1) != Z_OK) {
		page_stream_destroy(ps);
		pr_err("cannot set up zlib");
		return -ENOMEM;
	}
	ps->z_ready = true;
	return page_stream_set_level(ps, level);
}

void page_stream_destroy(struct page_stream *ps)
{
	if (ps->z_ready)
		deflateEnd(&ps->z);
	ps->z_ready = false;
	free(ps->rec);
	free(ps->zbuf);
	ps->rec = ps->zbuf = NULL;
}

int page_stream_blocks(struct page_stream *ps, const struct ram_list *rl,
		       bool force)
{
	uint64_t gen = rl->blocks_added + rl->blocks_removed;
	size_t len = 4 + rl->nr_blocks * COLO_RAM_BLOCK_LEN;
	uint8_t *p;
	int ret;

	if (!force && gen == ps->blocks_gen)
		return 0;
	ret = page_stream_flush(ps);	/* pages before the change go first */
	if (ret)
		return ret;
	if (len > COLO_RECORD_MAX) {
		pr_err("%zu RAM blocks do not fit in one record", rl->nr_blocks);
		return -EMSGSIZE;
	}
	p = malloc(len);
	if (!p) {
		pr_err("out of memory announcing RAM blocks");
		return -ENOMEM;
	}
	put_be32(p, (uint32_t)rl->nr_blocks);
	for (size_t i = 0; i < rl->nr_blocks; i++) {
		put_be64(p + 4 + i * COLO_RAM_BLOCK_LEN, rl->blocks[i]->start);
		put_be64(p + 12 + i * COLO_RAM_BLOCK_LEN, rl->blocks[i]->len);
	}
	ret = channel_send(ps->ch, COLO_RAM_BLOCKS, p, (uint32_t)len);
	free(p);
	if (!ret)
		ps->blocks_gen = gen;
	return ret;
}
