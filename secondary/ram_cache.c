/*
 * ram_cache.c - the secondary's shadow of the primary guest's RAM.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>

#define LOG_PREFIX "ram-cache: "
#include "log.h"
#include "bitmap.h"
#include "colo_proto.h"
#include "ram_cache.h"

int ram_cache_init(struct ram_cache *rc, size_t page_size)
{
	memset(rc, 0, sizeof(*rc));
	rc->page_size = page_size;
	ram_list_init(&rc->image, 0, page_size, CLEAR_BITMAP_SHIFT_DEFAULT);
	ram_list_init(&rc->next, 0, page_size, CLEAR_BITMAP_SHIFT_DEFAULT);
	if (inflateInit(&rc->z) != Z_OK) {
		pr_err("cannot set up zlib");
		return -ENOMEM;
	}
	rc->z_ready = 1;
	return 0;
}

void ram_cache_destroy(struct ram_cache *rc)
{
	ram_list_destroy(&rc->image);
	ram_list_destroy(&rc->next);
	if (rc->z_ready)
		inflateEnd(&rc->z);
	rc->z_ready = 0;
}

/* A zeroed buffer for a block; its pages cost memory once touched. */
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

int ram_cache_set_blocks(struct ram_cache *rc, const uint8_t *payload,
			 uint32_t len)
{
	struct ram_list *rl = &rc->next;
	uint64_t prev_end = 0;
	uint32_t n;
	int ret;

	if (len < 4 || (len - 4) % COLO_RAM_BLOCK_LEN ||
	    (n = get_be32(payload)) != (len - 4) / COLO_RAM_BLOCK_LEN) {
		pr_err("RAM_BLOCKS record of %u bytes does not hold whole "
		       "blocks", len);
		return -EPROTO;
	}
	rl->nr_areas = 0;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *b = payload + 4 + i * COLO_RAM_BLOCK_LEN;
		uint64_t start = get_be64(b), blen = get_be64(b + 8);

		if (!blen || start % rc->page_size || blen % rc->page_size ||
		    start + blen < start || start < prev_end) {
			pr_err("RAM_BLOCKS: block %u (%#" PRIx64 ", %" PRIu64
			       " bytes) is not page-aligned, empty, or out of "
			       "order", i, start, blen);
			return -EPROTO;
		}
		prev_end = start + blen;
		ret = ram_list_add_area(rl, start, start + blen, false, "cache");
		if (ret)
			return ret;
	}
	return ram_list_mirror(rl);
}

static int inflate_page(struct ram_cache *rc, const uint8_t *in, uint32_t len,
			uint8_t *out)
{
	if (inflateReset(&rc->z) != Z_OK)
		return -EPROTO;
	rc->z.next_in = (Bytef *)in;
	rc->z.avail_in = len;
	rc->z.next_out = out;
	rc->z.avail_out = (uInt)rc->page_size;
	if (inflate(&rc->z, Z_FINISH) != Z_STREAM_END || rc->z.avail_out)
		return -EPROTO;
	return 0;
}

int ram_cache_load_pages(struct ram_cache *rc, const uint8_t *payload,
			 uint32_t len, uint64_t *pages)
{
	uint32_t off = 0;

	while (off < len) {
		const uint8_t *e = payload + off;
		uint64_t addr;
		uint32_t dlen;
		uint8_t enc;
		struct ram_block *rb;
		uint8_t *dst;

		if (len - off < COLO_PAGE_HDR) {
			pr_err("PAGES record ends inside a page header");
			return -EPROTO;
		}
		addr = get_be64(e);
		enc = e[8];
		dlen = get_be32(e + 9);
		if (dlen > len - off - COLO_PAGE_HDR) {
			pr_err("page %#" PRIx64 " claims %u bytes past the end of "
			       "its record", addr, dlen);
			return -EPROTO;
		}
		rb = ram_list_block_at_or_after(&rc->next, addr);
		if (!rb || addr < rb->start || addr % rc->page_size) {
			pr_err("page %#" PRIx64 " is in no RAM block the primary "
			       "announced", addr);
			return -EPROTO;
		}
		if (!rb->colo_stage && !(rb->colo_stage = map_buffer(rb->len)))
			return -ENOMEM;
		dst = rb->colo_stage + (addr - rb->start);
		switch (enc) {
		case COLO_PAGE_RAW:
			if (dlen != rc->page_size)
				goto bad_len;
			memcpy(dst, e + COLO_PAGE_HDR, dlen);
			rc->stats.raw++;
			break;
		case COLO_PAGE_ZERO:
			if (dlen)
				goto bad_len;
			memset(dst, 0, rc->page_size);
			rc->stats.zero++;
			break;
		case COLO_PAGE_ZLIB:
			if (!dlen || dlen > rc->page_size ||
			    inflate_page(rc, e + COLO_PAGE_HDR, dlen, dst)) {
				pr_err("page %#" PRIx64 ": bad zlib data (%u bytes)",
				       addr, dlen);
				return -EPROTO;
			}
			rc->stats.zlib++;
			break;
		default:
			pr_err("page %#" PRIx64 ": unknown encoding %u", addr, enc);
			return -EPROTO;
		}
		set_bit((addr - rb->start) / rc->page_size, rb->bmap);
		rc->stats.pages_received++;
		(*pages)++;
		off += COLO_PAGE_HDR + dlen;
		continue;
bad_len:
		pr_err("page %#" PRIx64 ": %u bytes for encoding %u", addr, dlen,
		       enc);
		return -EPROTO;
	}
	return 0;
}

/*
 * Step 1 -- the image takes next's blocks (the blocks the primary kept
 *           keep their content; new ones start empty, and the primary
 *           sent every page of them);
 * Step 2 -- every received page is copied into the image and marked to
 *           flush. A new image block whose every page was received takes
 *           the staged buffer itself instead (the initial image).
 */
int ram_cache_commit(struct ram_cache *rc)
{
	struct ram_list *img = &rc->image, *next = &rc->next;
	int ret;

	img->nr_areas = 0;
	for (size_t i = 0; i < next->nr_blocks; i++) {
		ret = ram_list_add_area(img, next->blocks[i]->start,
					next->blocks[i]->start + next->blocks[i]->len,
					false, "image");
		if (ret)
			return ret;
	}
	ret = ram_list_mirror(img);
	if (ret)
		return ret;
	/* the image's blocks are now next's, one for one, in order */
	for (size_t i = 0; i < next->nr_blocks; i++) {
		struct ram_block *nb = next->blocks[i], *ib = img->blocks[i];
		size_t got = bitmap_count_one(nb->bmap, nb->npages);

		if (!ib->colo_cache) {		/* a new block */
			if (got == nb->npages) {
				ib->colo_cache = nb->colo_stage;
				nb->colo_stage = NULL;
				bitmap_set(ib->bmap, 0, ib->npages);
				bitmap_clear(nb->bmap, 0, nb->npages);
				continue;
			}
			/* the primary sends a new block whole; a page it could
			 * not read (beyond the end of a file, say) stays zero */
			pr_warn("new RAM block %" PRIx64 "-%" PRIx64 " arrived "
				"with %zu of its %zu pages; the rest is zero",
				nb->start, nb->start + nb->len, got, nb->npages);
			ib->colo_cache = map_buffer(ib->len);
			if (!ib->colo_cache)
				return -ENOMEM;
		}
		for (size_t p = find_next_bit(nb->bmap, nb->npages, 0);
		     p < nb->npages;) {
			size_t q = find_next_zero_bit(nb->bmap, nb->npages, p);

			memcpy(ib->colo_cache + p * rc->page_size,
			       nb->colo_stage + p * rc->page_size,
			       (q - p) * rc->page_size);
			bitmap_set(ib->bmap, p, q - p);
			p = find_next_bit(nb->bmap, nb->npages, q);
		}
		bitmap_clear(nb->bmap, 0, nb->npages);
	}
	rc->committed = true;
	return 0;
}

int ram_cache_rollback(struct ram_cache *rc, const struct dirty_log *guest_log,
		       struct guest_writer *w)
{
	struct ram_list *next = &rc->next;

	if (!rc->committed)
		return 0;	/* no image yet: the guest never had one */
	for (size_t i = 0; i < next->nr_blocks; i++)
		bitmap_clear(next->blocks[i]->bmap, 0, next->blocks[i]->npages);
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
