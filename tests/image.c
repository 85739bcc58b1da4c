/*
 * image.c - a sparse page image (open addressing by page address).
 */
#include <errno.h>
#include <stdio.h>
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
	size_t cap = old.cap ? old.cap * 2 : 4096;
	uint64_t *keys = calloc(cap, sizeof(*keys));
	unsigned char **pages = calloc(cap, sizeof(*pages));

	if (!keys || !pages) {
		free(keys);
		free(pages);
		return -ENOMEM;		/* the image stays as it was */
	}
	im->cap = cap;
	im->keys = keys;
	im->pages = pages;
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

/*
 * The process's RAM by its own /proc/PID/maps, parsed here and not by the
 * RAM list under test, so an area the list lost shows as missing.
 */
static int next_ram_area(FILE *maps, uint64_t *start, uint64_t *end)
{
	char line[512];

	while (fgets(line, sizeof(line), maps)) {
		unsigned long long s, e;
		char perms[8], path[256] = "";

		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %255s", &s, &e, perms,
			   path) < 3)
			continue;
		if (perms[0] != 'r' || perms[1] != 'w' || perms[3] != 'p' ||
		    strcmp(path, "[vvar]") == 0 || strcmp(path, "[vdso]") == 0)
			continue;
		*start = s;
		*end = e;
		return 1;
	}
	return 0;
}

long image_compare(const struct image *im, pid_t pid, uint64_t *first_bad)
{
	size_t chunk = 256 * im->page_size;
	unsigned char *buf = malloc(chunk);
	uint64_t start, end;
	char path[64];
	FILE *maps;
	long bad = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	maps = fopen(path, "re");
	if (!buf || !maps) {
		free(buf);
		if (maps)
			fclose(maps);
		return -ENOMEM;
	}
	*first_bad = 0;
	while (next_ram_area(maps, &start, &end)) {
		for (uint64_t at = start; at < end; at += chunk) {
			size_t len = end - at < chunk ? (size_t)(end - at) : chunk;
			struct iovec local = { buf, len };
			struct iovec remote = { (void *)(uintptr_t)at, len };

			if (process_vm_readv(pid, &local, 1, &remote, 1, 0) !=
			    (ssize_t)len) {
				bad = -EIO;
				goto out;
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
out:
	fclose(maps);
	free(buf);
	return bad;
}
