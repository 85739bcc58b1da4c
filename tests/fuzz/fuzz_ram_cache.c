/*
 * fuzz_ram_cache.c - the secondary's decode path of RAM_BLOCKS and PAGES
 * records, secondary/ram_cache.c: ram_cache_set_blocks() and
 * ram_cache_load_pages() (zlib's inflate of COLO_PAGE_ZLIB pages
 * included), as the secondary's record table hands them on, with
 * ram_cache_commit() and ram_cache_discard() between them, on 4 KiB
 * pages (HELLO makes the primary's page size the secondary's own), the
 * guest runtime's range reserved as the secondary reserves it.
 *
 * Input: operations until the input ends, each an opcode byte (op % 6)
 * and its arguments:
 *   0  RAM_BLOCKS payload: be16 length, the bytes
 *   1  PAGES payload: be16 length, the bytes
 *   2  RAM_BLOCKS built: a count byte (% 9 blocks), per block a gap byte
 *      (pages after the last one, % 16; 0xff: the block is put over the
 *      reserved range) and a length byte (% 64 + 1 pages)
 *   3  PAGES built (a raw 4 KiB page does not fit the fuzzer's inputs):
 *      a count byte (% 32 + 1 entries), per entry a block byte (% the
 *      blocks announced; 0xff: an address in no block), a page byte (%
 *      the block's pages), an encoding byte (% 5: raw, zero, zlib, zlib
 *      with a byte flipped, which two more bytes pick; 4: encoding
 *      byte / 5 with no data) and a seed byte for the content
 *   4  commit (the next checkpoint id)
 *   5  discard
 * A refused record drops the link, and what was staged with it, as the
 * secondary's fall back does: discard.
 *
 * Checked beyond no crash and no leak, against a model of what the
 * records say: RAM_BLOCKS is taken exactly when a plain reading of
 * colo_proto.h takes it and no block overlaps the reserved range, then
 * next (and next_zero) has exactly its blocks, the pages staged in a
 * block kept; refused, it is -EPROTO, one error line, and next as it
 * was. PAGES: every entry up to the first bad one is staged (a RAW page
 * as sent, ZERO as zeros, ZLIB as zlib's uncompress() makes it, which
 * must be exactly one page), the count of pages says so, and a bad entry
 * (malformed, in no block, not inflating to one page) is -EPROTO with
 * one error line, else 0 and nothing logged; the stage holds each page
 * received (and not marked zero) as the model has it, and next_zero's
 * marks are a subset of the received ones. A commit makes the image
 * next's blocks,
 * each page what the model says (the last page received, else the
 * image's own for a block kept, else zeros), marked to flush; next is
 * left empty of marks.
 *
 * Not reached: a RAM_BLOCKS announcing more than 64 MiB is skipped, not
 * fed (the cache's bitmaps grow with what is announced: a resource
 * limit, not a parse), and the flush into a guest (it needs one).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "bitmap.h"
#include "colo_proto.h"
#include "fuzz.h"
#include "layout.h"
#include "ram_cache.h"

#define PS		4096u
#define RES_START	0x600000000000ull	/* the runtime's private area */
#define RES_END		0x600000400000ull
#define MAX_RAM		(64ull << 20)
#define BUILT_BASE	0x555555554000ull
#define SMALL_PAGES	64	/* image blocks up to this many pages: every
				 * page checked; larger, the pages modelled */

/* --- the model: pages by address, content or NULL for zeros ------------ */

struct mpage {
	uint64_t addr;
	uint8_t *data;
};

struct model {
	struct mpage *v;
	size_t n, cap;
};

/* The first entry at or after addr. */
static size_t model_lb(const struct model *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->v[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct mpage *model_get(const struct model *m, uint64_t addr)
{
	size_t i = model_lb(m, addr);

	return i < m->n && m->v[i].addr == addr ? &m->v[i] : NULL;
}

/* addr holds data (PS bytes, copied), or zeros when data is NULL; the
 * copy is taken over when own. */
static void model_set(struct model *m, uint64_t addr, uint8_t *data, bool own)
{
	size_t i = model_lb(m, addr);
	uint8_t *copy = data;

	if (data && !own) {
		copy = malloc(PS);
		FUZZ_CHECK(copy != NULL);
		memcpy(copy, data, PS);
	}
	if (i < m->n && m->v[i].addr == addr) {
		free(m->v[i].data);
		m->v[i].data = copy;
		return;
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 64;
		m->v = realloc(m->v, m->cap * sizeof(*m->v));
		FUZZ_CHECK(m->v != NULL);
	}
	memmove(m->v + i + 1, m->v + i, (m->n - i) * sizeof(*m->v));
	m->v[i] = (struct mpage){ addr, copy };
	m->n++;
}

static void model_clear(struct model *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].data);
	m->n = 0;
}

/* --- extents ------------------------------------------------------------ */

struct ext {
	uint64_t start, len;
};

#define MAX_BLOCKS	((4096 - 4) / COLO_RAM_BLOCK_LEN + 1)

struct exts {
	struct ext e[MAX_BLOCKS];
	size_t n;
};

static void exts_of(const struct ram_list *rl, struct exts *x)
{
	FUZZ_CHECK(rl->nr_blocks <= MAX_BLOCKS);
	x->n = rl->nr_blocks;
	for (size_t i = 0; i < x->n; i++)
		x->e[i] = (struct ext){ rl->blocks[i]->start, rl->blocks[i]->len };
}

static bool exts_same(const struct exts *a, const struct exts *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->e[i].start != b->e[i].start || a->e[i].len != b->e[i].len)
			return false;
	return true;
}

/* The extent of x holding addr, or NULL. */
static const struct ext *exts_at(const struct exts *x, uint64_t addr)
{
	for (size_t i = 0; i < x->n; i++)
		if (addr >= x->e[i].start && addr - x->e[i].start < x->e[i].len)
			return &x->e[i];
	return NULL;
}

static bool exts_has(const struct exts *x, const struct ext *e)
{
	for (size_t i = 0; i < x->n; i++)
		if (x->e[i].start == e->start && x->e[i].len == e->len)
			return true;
	return false;
}

/* --- the run ------------------------------------------------------------- */

struct run {
	struct ram_cache rc;
	struct exts next;		/* what next's blocks must be */
	struct exts image;		/* and the image's */
	struct model staged;		/* received since the last commit */
	struct model img;		/* the image's pages (others zero) */
	uint64_t id;
	uint8_t page[PS];		/* scratch */
};

static const uint8_t zeros[PS];

static void discard(struct run *r)
{
	ram_cache_discard(&r->rc);
	model_clear(&r->staged);
}

/* A page of p in buf: the content the model has, or zeros. */
static void check_page(const uint8_t *buf, const struct mpage *mp)
{
	FUZZ_CHECK(memcmp(buf, mp && mp->data ? mp->data : zeros, PS) == 0);
}

/* next and next_zero as the model has them, the stage reading so. */
static void check_next(struct run *r)
{
	const struct ram_list *next = &r->rc.next, *zero = &r->rc.next_zero;
	struct exts x;
	size_t received = 0;

	exts_of(next, &x);
	FUZZ_CHECK(exts_same(&x, &r->next));
	exts_of(zero, &x);
	FUZZ_CHECK(exts_same(&x, &r->next));
	for (size_t i = 0; i < next->nr_blocks; i++) {
		const struct ram_block *rb = next->blocks[i];
		const struct ram_block *zb = zero->blocks[i];

		for (size_t p = 0; p < rb->npages; p++) {
			uint64_t addr = rb->start + p * PS;
			bool got = test_bit(p, rb->bmap);
			bool z = test_bit(p, zb->bmap);
			const struct mpage *mp = got ? model_get(&r->staged, addr) :
						 NULL;

			FUZZ_CHECK(!z || got);
			FUZZ_CHECK(!got || mp != NULL);
			if (got) {
				received++;
				FUZZ_CHECK(z == (mp->data == NULL));
			}
			/* read only where received and not ZERO: elsewhere
			 * it may hold anything (given back lazily) */
			if (got && !z)
				check_page(rb->colo_stage + p * PS, mp);
		}
	}
	/* every page staged in the model is received there */
	FUZZ_CHECK(received == r->staged.n);
}

/* The image: next's blocks at the last commit, its pages the model's. */
static void check_image(struct run *r)
{
	const struct ram_list *img = &r->rc.image;
	struct exts x;

	exts_of(img, &x);
	FUZZ_CHECK(exts_same(&x, &r->image));
	for (size_t i = 0; i < img->nr_blocks; i++) {
		const struct ram_block *ib = img->blocks[i];

		FUZZ_CHECK(ib->colo_cache != NULL);
		if (ib->npages <= SMALL_PAGES) {
			for (size_t p = 0; p < ib->npages; p++)
				check_page(ib->colo_cache + p * PS,
					   model_get(&r->img, ib->start + p * PS));
			continue;
		}
		check_page(ib->colo_cache, model_get(&r->img, ib->start));
		check_page(ib->colo_cache + (ib->npages - 1) * PS,
			   model_get(&r->img, ib->start + ib->len - PS));
		for (size_t k = model_lb(&r->img, ib->start);
		     k < r->img.n && r->img.v[k].addr < ib->start + ib->len; k++)
			check_page(ib->colo_cache + (r->img.v[k].addr - ib->start),
				   &r->img.v[k]);
	}
}

/* A plain reading of a RAM_BLOCKS payload: taken or not, its blocks in
 * *x, their bytes in *total. */
static bool blocks_reading(const uint8_t *p, uint32_t len, struct exts *x,
			   uint64_t *total)
{
	uint64_t prev_end = 0;

	*total = 0;
	x->n = 0;
	if (len < 4 || (len - 4) % COLO_RAM_BLOCK_LEN ||
	    get_be32(p) != (len - 4) / COLO_RAM_BLOCK_LEN)
		return false;
	for (uint32_t i = 0; i < get_be32(p); i++) {
		uint64_t start = get_be64(p + 4 + 16 * (size_t)i);
		uint64_t blen = get_be64(p + 12 + 16 * (size_t)i);

		if (!blen || start % PS || blen % PS || start + blen < start ||
		    start < prev_end)
			return false;
		x->e[x->n++] = (struct ext){ start, blen };
		prev_end = start + blen;
		*total += blen;
		if (*total < blen)
			*total = UINT64_MAX;
	}
	return true;
}

static void op_blocks(struct run *r, const uint8_t *p, uint32_t len)
{
	struct exts want, before;
	uint64_t total;
	bool take = blocks_reading(p, len, &want, &total);
	unsigned e0;
	int ret;

	if (take && total > MAX_RAM)
		return;			/* see the top */
	for (size_t i = 0; take && i < want.n; i++)
		if (want.e[i].start < RES_END &&
		    RES_START < want.e[i].start + want.e[i].len)
			take = false;
	exts_of(&r->rc.next, &before);
	e0 = fuzz_log_count(LOG_ERROR);
	ret = ram_cache_set_blocks(&r->rc, p, len);
	if (!take) {
		FUZZ_CHECK(ret == -EPROTO);
		FUZZ_CHECK(fuzz_log_count(LOG_ERROR) - e0 == 1);
		check_next(r);		/* as it was */
		discard(r);
		return;
	}
	FUZZ_CHECK(ret == 0);
	FUZZ_CHECK(fuzz_log_count(LOG_ERROR) == e0);
	/* a block of the same extent keeps its staged pages, others go */
	for (size_t i = 0; i < r->staged.n;) {
		const struct ext *e = exts_at(&before, r->staged.v[i].addr);

		if (e && exts_has(&want, e)) {
			i++;
			continue;
		}
		free(r->staged.v[i].data);
		memmove(r->staged.v + i, r->staged.v + i + 1,
			(r->staged.n - i - 1) * sizeof(*r->staged.v));
		r->staged.n--;
	}
	r->next = want;
	check_next(r);
}

/* The page a zlib entry must inflate to, into out: true if it does. */
static bool inflates(const uint8_t *z, uint32_t len, uint8_t *out)
{
	uLongf n = PS;

	return uncompress(out, &n, z, len) == Z_OK && n == PS;
}

static void op_pages(struct run *r, const uint8_t *p, uint32_t len)
{
	struct colo_page pg;
	uint32_t off = 0;
	uint64_t pages = 0, want_pages = 0;
	bool bad = false;
	unsigned e0;
	int ret;

	/* the model first: what each entry up to the first bad one stages */
	struct model got = { 0 };

	while ((ret = colo_pages_next(p, len, PS, &off, &pg)) > 0) {
		uint8_t *data = NULL;

		if (!exts_at(&r->next, pg.addr)) {
			bad = true;
			break;
		}
		if (pg.encoding == COLO_PAGE_RAW) {
			data = malloc(PS);
			FUZZ_CHECK(data != NULL);
			memcpy(data, pg.data, PS);
		} else if (pg.encoding == COLO_PAGE_ZLIB) {
			data = malloc(PS);
			FUZZ_CHECK(data != NULL);
			if (!inflates(pg.data, pg.len, data)) {
				free(data);
				bad = true;
				break;
			}
		}
		/* in order: a later entry of the same page wins */
		model_set(&got, pg.addr, data, true);
		want_pages++;
	}
	if (ret < 0)
		bad = true;

	e0 = fuzz_log_count(LOG_ERROR);
	ret = ram_cache_load_pages(&r->rc, p, len, &pages);
	FUZZ_CHECK(ret == (bad ? -EPROTO : 0));
	FUZZ_CHECK(fuzz_log_count(LOG_ERROR) - e0 == (bad ? 1u : 0u));
	FUZZ_CHECK(pages == want_pages);
	for (size_t i = 0; i < got.n; i++) {
		model_set(&r->staged, got.v[i].addr, got.v[i].data, true);
		got.v[i].data = NULL;
	}
	model_clear(&got);
	free(got.v);
	if (!bad) {
		check_next(r);
		return;
	}
	discard(r);
	check_next(r);
}

static void op_commit(struct run *r)
{
	struct layout l;
	int ret;

	memset(&l, 0, sizeof(l));
	r->id++;
	ret = ram_cache_commit(&r->rc, r->id, &l, 0x555555579000ull);
	FUZZ_CHECK(ret == 0);
	FUZZ_CHECK(r->rc.committed && r->rc.image_id == r->id);
	/* the image's pages survive in the blocks next kept as they were */
	for (size_t i = 0; i < r->img.n;) {
		const struct ext *e = exts_at(&r->image, r->img.v[i].addr);

		if (e && exts_has(&r->next, e)) {
			i++;
			continue;
		}
		free(r->img.v[i].data);
		memmove(r->img.v + i, r->img.v + i + 1,
			(r->img.n - i - 1) * sizeof(*r->img.v));
		r->img.n--;
	}
	/* what was received is marked to flush, and is the image's now */
	for (size_t i = 0; i < r->staged.n; i++) {
		uint64_t addr = r->staged.v[i].addr;
		struct ram_block *ib = ram_list_block_at_or_after(&r->rc.image,
								   addr);

		FUZZ_CHECK(ib && addr >= ib->start);
		FUZZ_CHECK(test_bit((addr - ib->start) / PS, ib->bmap));
		model_set(&r->img, addr, r->staged.v[i].data, true);
		r->staged.v[i].data = NULL;
	}
	model_clear(&r->staged);
	r->image = r->next;
	check_image(r);
	check_next(r);
}

/* --- built records -------------------------------------------------------- */

static void built_blocks(struct run *r, struct fuzz_in *in)
{
	struct colo_ram_block b[8];
	uint8_t out[COLO_RAM_BLOCKS_LEN(8)];
	uint32_t n = fuzz_u8(in) % 9;
	uint64_t at = BUILT_BASE;

	for (uint32_t i = 0; i < n; i++) {
		uint8_t gap = fuzz_u8(in), len = fuzz_u8(in);

		b[i].start = gap == 0xff ? RES_START : at + (gap % 16) * PS;
		b[i].len = (uint64_t)(len % 64 + 1) * PS;
		at = b[i].start + b[i].len;
	}
	colo_ram_blocks_encode(b, n, out);
	op_blocks(r, out, COLO_RAM_BLOCKS_LEN(n));
}

/* A page from seed: text, then zeros; seed 0 all zeros. */
static void make_page(uint8_t *page, uint8_t seed)
{
	memset(page, 0, PS);
	for (size_t i = 0; seed && i < (size_t)seed * 16; i++)
		page[i] = (uint8_t)("colo checkpoint "[(i + seed) % 16] ^ (i >> 8));
}

static void built_pages(struct run *r, struct fuzz_in *in)
{
	size_t n = fuzz_u8(in) % 32 + 1, len = 0;
	uint8_t *rec = malloc(n * (COLO_PAGE_HDR + PS));
	uLongf zlen;
	uint8_t z[PS + 64];

	FUZZ_CHECK(rec != NULL);
	for (size_t i = 0; i < n; i++) {
		uint8_t sel = fuzz_u8(in), pidx = fuzz_u8(in), enc = fuzz_u8(in);
		uint8_t seed = fuzz_u8(in);
		struct colo_page pg = { 0 };

		if (sel == 0xff || !r->next.n) {
			pg.addr = RES_START + (uint64_t)pidx * PS;
		} else {
			const struct ext *e = &r->next.e[sel % r->next.n];

			pg.addr = e->start + (pidx % (e->len / PS)) * PS;
		}
		make_page(r->page, seed);
		switch (enc % 5) {
		case 0:
			pg.encoding = COLO_PAGE_RAW;
			pg.data = r->page;
			pg.len = PS;
			break;
		case 1:
			pg.encoding = COLO_PAGE_ZERO;
			break;
		case 2:
		case 3:
			zlen = sizeof(z);
			FUZZ_CHECK(compress2(z, &zlen, r->page, PS,
					     seed % 10) == Z_OK);
			if (enc % 5 == 3) {
				uint8_t pos = fuzz_u8(in), x = fuzz_u8(in);

				z[pos % zlen] ^= x | 1;
			}
			if (zlen > PS)
				zlen = PS;	/* the most a ZLIB entry holds */
			pg.encoding = COLO_PAGE_ZLIB;
			pg.data = z;
			pg.len = (uint32_t)zlen;
			break;
		default:
			pg.encoding = enc / 5;
			break;
		}
		len += colo_page_encode(&pg, rec + len);
	}
	op_pages(r, rec, (uint32_t)len);
	free(rec);
}

int fuzz_ram_cache(const uint8_t *data, size_t size)
{
	static struct run r;
	struct fuzz_in in = { data, size };

	fuzz_log_reset();
	memset(&r, 0, sizeof(r));
	FUZZ_CHECK(ram_cache_init(&r.rc, PS) == 0);
	FUZZ_CHECK(ram_cache_reserve(&r.rc, RES_START, RES_END) == 0);
	while (in.left) {
		uint8_t op = fuzz_u8(&in);
		const uint8_t *p;
		uint32_t len;

		switch (op % 6) {
		case 0:
			len = (uint32_t)fuzz_take(&in, fuzz_be16(&in), &p);
			op_blocks(&r, p, len);
			break;
		case 1:
			len = (uint32_t)fuzz_take(&in, fuzz_be16(&in), &p);
			op_pages(&r, p, len);
			break;
		case 2:
			built_blocks(&r, &in);
			break;
		case 3:
			built_pages(&r, &in);
			break;
		case 4:
			op_commit(&r);
			break;
		default:
			discard(&r);
			check_next(&r);
			break;
		}
	}
	ram_cache_destroy(&r.rc);
	model_clear(&r.staged);
	model_clear(&r.img);
	free(r.staged.v);
	free(r.img.v);
	return 0;
}
