/*
 * page_stream.c - encode pages into PAGES records, the RAM blocks into
 * RAM_BLOCKS; and both ends of those two records' format.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

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
		channel_push(ps->ch);	/* it crosses while the next is built */
	}
	ps->rec_len = 0;
	return ret;
}

/* Deflate one page into zbuf; its size, or 0 when it does not shrink. */
static size_t deflate_page(struct page_stream *ps, const uint8_t *page)
{
	z_stream *z = ps->z;

	if (deflateReset(z) != Z_OK)
		return 0;
	z->next_in = (Bytef *)page;
	z->avail_in = (uInt)ps->page_size;
	z->next_out = ps->zbuf;
	z->avail_out = (uInt)ps->page_size;
	if (deflate(z, Z_FINISH) != Z_STREAM_END)
		return 0;		/* did not fit: not worth it */
	return ps->page_size - z->avail_out;
}

static void put_entry(struct page_stream *ps, uint64_t addr, uint8_t enc,
		      const uint8_t *data, uint32_t len)
{
	struct colo_page pg = {
		.addr = addr, .encoding = enc, .len = len, .data = data,
	};

	ps->rec_len += colo_page_encode(&pg, ps->rec + ps->rec_len);
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
	if (ps->z && deflateParams(ps->z, level ? level : 1,
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
	z_stream *z;

	memset(ps, 0, sizeof(*ps));
	ps->sink.ops = &stream_ops;
	ps->ch = ch;
	ps->page_size = page_size;
	ps->blocks_gen = UINT64_MAX;
	ps->rec_cap = REC_PAGES * (COLO_PAGE_HDR + page_size);
	ps->rec = malloc(ps->rec_cap);
	ps->zbuf = malloc(page_size);
	z = calloc(1, sizeof(*z));
	if (!ps->rec || !ps->zbuf || !z) {
		free(z);
		page_stream_destroy(ps);
		pr_err("out of memory for the page stream");
		return -ENOMEM;
	}
	if (deflateInit(z, level ? level : 1) != Z_OK) {
		free(z);
		page_stream_destroy(ps);
		pr_err("cannot set up zlib");
		return -ENOMEM;
	}
	ps->z = z;
	return page_stream_set_level(ps, level);
}

void page_stream_destroy(struct page_stream *ps)
{
	if (ps->z) {
		deflateEnd(ps->z);
		free(ps->z);
	}
	ps->z = NULL;
	free(ps->rec);
	free(ps->zbuf);
	ps->rec = ps->zbuf = NULL;
}

int page_stream_blocks(struct page_stream *ps, const struct ram_list *rl,
		       bool force)
{
	uint64_t gen = rl->blocks_added + rl->blocks_removed;
	size_t len = COLO_RAM_BLOCKS_LEN(rl->nr_blocks);
	struct colo_ram_block *b;
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
	b = calloc(rl->nr_blocks ? rl->nr_blocks : 1, sizeof(*b));
	p = malloc(len);
	if (!b || !p) {
		free(b);
		free(p);
		pr_err("out of memory announcing RAM blocks");
		return -ENOMEM;
	}
	for (size_t i = 0; i < rl->nr_blocks; i++) {
		b[i].start = rl->blocks[i]->start;
		b[i].len = rl->blocks[i]->len;
	}
	colo_ram_blocks_encode(b, (uint32_t)rl->nr_blocks, p);
	free(b);
	ret = channel_send(ps->ch, COLO_RAM_BLOCKS, p, (uint32_t)len);
	free(p);
	if (!ret)
		ps->blocks_gen = gen;
	return ret;
}

/* --- PAGES: both ends ---------------------------------------------------- */

size_t colo_page_encode(const struct colo_page *pg, uint8_t *out)
{
	put_be64(out, pg->addr);
	out[8] = pg->encoding;
	put_be32(out + 9, pg->len);
	if (pg->len)
		memcpy(out + COLO_PAGE_HDR, pg->data, pg->len);
	return COLO_PAGE_HDR + (size_t)pg->len;
}

int colo_pages_next(const uint8_t *payload, uint32_t len, size_t page_size,
		    uint32_t *off, struct colo_page *out)
{
	const uint8_t *e = payload + *off;
	struct colo_page pg;
	size_t lo, hi;			/* the data lengths its encoding has */

	if (*off >= len)
		return 0;
	if (len - *off < COLO_PAGE_HDR) {
		pr_err("PAGES record of %" PRIu32 " bytes ends inside a page "
		       "header at byte %" PRIu32 ", expected %d bytes of it",
		       len, *off, COLO_PAGE_HDR);
		return -EPROTO;
	}
	pg.addr = get_be64(e);
	pg.encoding = e[8];
	pg.len = get_be32(e + 9);
	pg.data = e + COLO_PAGE_HDR;
	if (pg.len > len - *off - COLO_PAGE_HDR) {
		pr_err("PAGES: page %#" PRIx64 " claims %" PRIu32 " bytes, "
		       "expected at most the %" PRIu32 " left in its record",
		       pg.addr, pg.len, len - *off - COLO_PAGE_HDR);
		return -EPROTO;
	}
	switch (pg.encoding) {
	case COLO_PAGE_RAW:
		lo = hi = page_size;
		break;
	case COLO_PAGE_ZERO:
		lo = hi = 0;
		break;
	case COLO_PAGE_ZLIB:
		lo = 1;
		hi = page_size;
		break;
	default:
		pr_err("PAGES: page %#" PRIx64 " has encoding %u, expected %d "
		       "(raw), %d (zero) or %d (zlib)", pg.addr, pg.encoding,
		       COLO_PAGE_RAW, COLO_PAGE_ZERO, COLO_PAGE_ZLIB);
		return -EPROTO;
	}
	if (pg.len < lo || pg.len > hi) {
		if (lo == hi)
			pr_err("PAGES: page %#" PRIx64 " of encoding %u has %"
			       PRIu32 " bytes, expected %zu", pg.addr,
			       pg.encoding, pg.len, lo);
		else
			pr_err("PAGES: page %#" PRIx64 " of encoding %u has %"
			       PRIu32 " bytes, expected %zu..%zu", pg.addr,
			       pg.encoding, pg.len, lo, hi);
		return -EPROTO;
	}
	if (pg.addr % page_size) {
		pr_err("PAGES: page %#" PRIx64 " is not aligned to the "
		       "%zu-byte page size", pg.addr, page_size);
		return -EPROTO;
	}
	*off += COLO_PAGE_HDR + pg.len;
	*out = pg;
	return 1;
}

/* --- RAM_BLOCKS: both ends ----------------------------------------------- */

void colo_ram_blocks_encode(const struct colo_ram_block *blocks, uint32_t n,
			    uint8_t *out)
{
	put_be32(out, n);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *b = out + COLO_RAM_BLOCKS_LEN(i);

		put_be64(b, blocks[i].start);
		put_be64(b + 8, blocks[i].len);
	}
}

int colo_ram_blocks_decode(const uint8_t *payload, uint32_t len,
			   size_t page_size, struct colo_ram_block **blocks,
			   uint32_t *n)
{
	struct colo_ram_block *b = NULL;
	uint64_t prev_end = 0;
	uint32_t count;

	if (len < COLO_RAM_BLOCKS_LEN(0) ||
	    (len - COLO_RAM_BLOCKS_LEN(0)) % COLO_RAM_BLOCK_LEN) {
		pr_err("RAM_BLOCKS record of %" PRIu32 " bytes, expected 4 and "
		       "%d a block", len, COLO_RAM_BLOCK_LEN);
		return -EPROTO;
	}
	count = get_be32(payload);
	if (COLO_RAM_BLOCKS_LEN(count) != len) {
		pr_err("RAM_BLOCKS record of %" PRIu32 " bytes counts %" PRIu32
		       " blocks, expected %zu", len, count,
		       (len - COLO_RAM_BLOCKS_LEN(0)) / COLO_RAM_BLOCK_LEN);
		return -EPROTO;
	}
	if (count && !(b = calloc(count, sizeof(*b)))) {
		pr_err("out of memory for %" PRIu32 " RAM blocks", count);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *e = payload + COLO_RAM_BLOCKS_LEN(i);
		uint64_t start = get_be64(e), blen = get_be64(e + 8);

		if (!blen || start % page_size || blen % page_size ||
		    start + blen < start || start < prev_end) {
			pr_err("RAM_BLOCKS: block %" PRIu32 " (%#" PRIx64 ", %"
			       PRIu64 " bytes) is not page-aligned, empty, or "
			       "out of order; expected whole %zu-byte pages "
			       "from %#" PRIx64 " on", i, start, blen,
			       page_size, prev_end);
			free(b);
			return -EPROTO;
		}
		b[i].start = start;
		b[i].len = blen;
		prev_end = start + blen;
	}
	*blocks = b;
	*n = count;
	return 0;
}
