/*
 * image.c - a sparse page image (open addressing by page address).
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
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

/* One RAM area of the process, from its own /proc/PID/maps. */
struct ram_area_text {
	uint64_t start, end, offset;
	char path[256];			/* "" for anonymous memory */
};

/*
 * The process's RAM by its own /proc/PID/maps, parsed here and not by the
 * RAM list under test, so an area the list lost shows as missing: private
 * readable mappings but the special ones.
 */
static int next_ram_area(FILE *maps, struct ram_area_text *a)
{
	char line[512];

	while (fgets(line, sizeof(line), maps)) {
		unsigned long long s, e, off;
		char perms[8];

		a->path[0] = '\0';
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %255s", &s, &e, perms,
			   &off, a->path) < 4)
			continue;
		if (perms[0] != 'r' || perms[3] != 'p')
			continue;
		if (a->path[0] == '[' && strcmp(a->path, "[heap]") &&
		    strcmp(a->path, "[stack]"))
			continue;	/* [vvar], [vdso], [vsyscall] */
		a->start = s;
		a->end = e;
		a->offset = off;
		return 1;
	}
	return 0;
}

/* A page of a file mapping that no copy holds must still be the file's. */
static bool same_as_file(const struct ram_area_text *a, uint64_t addr,
			 const unsigned char *page, size_t len)
{
	unsigned char buf[65536];
	int fd;
	bool same;

	if (a->path[0] != '/' || len > sizeof(buf))
		return false;
	fd = open(a->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	memset(buf, 0, len);	/* past the end of the file: zeros */
	same = pread(fd, buf, len, (off_t)(a->offset + addr - a->start)) >= 0 &&
	       memcmp(buf, page, len) == 0;
	close(fd);
	return same;
}

long image_compare(const struct image *im, pid_t pid, uint64_t *first_bad)
{
	size_t chunk = 256 * im->page_size;
	unsigned char *buf = malloc(chunk);
	struct ram_area_text a;
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
	while (next_ram_area(maps, &a)) {
		for (uint64_t at = a.start; at < a.end; at += chunk) {
			size_t len = a.end - at < chunk ? (size_t)(a.end - at) : chunk;
			struct iovec local = { buf, len };
			struct iovec remote = { (void *)(uintptr_t)at, len };

			if (process_vm_readv(pid, &local, 1, &remote, 1, 0) !=
			    (ssize_t)len) {
				bad = -EIO;
				goto out;
			}
			for (size_t off = 0; off < len; off += im->page_size) {
				const unsigned char *p = image_lookup(im, at + off);

				if (p ? memcmp(p, buf + off, im->page_size) == 0 :
					same_as_file(&a, at + off, buf + off,
						     im->page_size))
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
