/*
 * image.c - a sparse page image (open addressing by page address).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "image.h"
#include "ramblock.h"

static size_t slot_of(const struct image *im, uint64_t addr)
{
	uint64_t h = (addr / im->page_size) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 20) & (im->cap - 1);
}

static int grow(struct image *im)
{
	struct image old = *im;

	im->cap = old.cap ? old.cap * 2 : 4096;
	im->keys = calloc(im->cap, sizeof(*im->keys));
	im->pages = calloc(im->cap, sizeof(*im->pages));
	if (!im->keys || !im->pages)
		return -ENOMEM;
	for (size_t i = 0; i < old.cap; i++) {
		size_t s;

		if (!old.keys[i])
			continue;
		for (s = slot_of(im, old.keys[i]); im->keys[s];
		     s = (s + 1) & (im->cap - 1))
			;
		im->keys[s] = old.keys[i];
		im->pages[s] = old.pages[i];
	}
	free(old.keys);
	free(old.pages);
	return 0;
}

static unsigned char **slot(struct image *im, uint64_t addr, bool create)
{
	size_t s;

	if (create && (im->used + 1) * 2 > im->cap && grow(im))
		return NULL;
	for (s = slot_of(im, addr); im->keys[s]; s = (s + 1) & (im->cap - 1))
		if (im->keys[s] == addr)
			return &im->pages[s];
	if (!create)
		return NULL;
	im->keys[s] = addr;
	im->used++;
	return &im->pages[s];
}

const unsigned char *image_lookup(const struct image *im, uint64_t addr)
{
	unsigned char **p;

	if (!im->cap)
		return NULL;
	p = slot((struct image *)im, addr, false);
	return p ? *p : NULL;
}

static int image_save_pages(struct page_sink *sink, const struct ram_block *rb,
			    uint64_t addr, const void *data, size_t len)
{
	struct image *im = (struct image *)sink;

	(void)rb;
	for (size_t off = 0; off < len; off += im->page_size) {
		unsigned char **p = slot(im, addr + off, true);

		if (!p)
			return -ENOMEM;
		if (!*p && !(*p = malloc(im->page_size)))
			return -ENOMEM;
		memcpy(*p, (const unsigned char *)data + off, im->page_size);
		im->pages_saved++;
	}
	if (im->hook)
		im->hook(im, addr, len, im->hook_opaque);
	return 0;
}

static const struct page_sink_ops image_ops = {
	.save_pages = image_save_pages,
};

int image_init(struct image *im, size_t page_size)
{
	memset(im, 0, sizeof(*im));
	im->sink.ops = &image_ops;
	im->page_size = page_size;
	return grow(im);
}

void image_destroy(struct image *im)
{
	for (size_t i = 0; i < im->cap; i++)
		free(im->pages[i]);
	free(im->keys);
	free(im->pages);
	memset(im, 0, sizeof(*im));
}

long image_compare(const struct image *im, pid_t pid,
		   const struct ram_list *rl, uint64_t *first_bad)
{
	size_t chunk = 256 * im->page_size;
	unsigned char *buf = malloc(chunk);
	long bad = 0;

	if (!buf)
		return -ENOMEM;
	*first_bad = 0;
	for (size_t b = 0; b < rl->nr_blocks; b++) {
		const struct ram_block *rb = rl->blocks[b];

		for (uint64_t at = rb->start; at < rb->start + rb->len; at += chunk) {
			size_t len = rb->start + rb->len - at < chunk ?
				     (size_t)(rb->start + rb->len - at) : chunk;
			struct iovec local = { buf, len };
			struct iovec remote = { (void *)(uintptr_t)at, len };

			if (process_vm_readv(pid, &local, 1, &remote, 1, 0) !=
			    (ssize_t)len) {
				free(buf);
				return -EIO;
			}
			for (size_t off = 0; off < len; off += im->page_size) {
				const unsigned char *p = image_lookup(im, at + off);

				if (p && memcmp(p, buf + off, im->page_size) == 0)
					continue;
				if (!bad)
					*first_bad = at + off;
				bad++;
			}
		}
	}
	free(buf);
	return bad;
}
