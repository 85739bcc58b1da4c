/*
 * guest_compare.c - is one guest a byte-for-byte copy of another?
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define LOG_PREFIX "compare: "
#include "log.h"
#include "guest_compare.h"
#include "layout.h"
#include "ram_save.h"

#include <zlib.h>

static int read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };

	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ?
	       0 : -EIO;
}

int guest_compare(pid_t a, pid_t b, const struct ram_list *ram_a,
		  struct guest_compare *out)
{
	size_t chunk = RAM_SAVE_BATCH_PAGES * ram_a->page_size;
	struct layout la, lb;
	unsigned char *ba, *bb;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = layout_read(a, &la);
	if (ret)
		return ret;
	ret = layout_read(b, &lb);
	if (ret) {
		layout_free(&la);
		return ret;
	}
	out->layouts_same = layout_same_ram(&la, &lb, &out->first_diff);
	layout_free(&la);
	layout_free(&lb);
	ba = malloc(chunk);
	bb = malloc(chunk);
	if (!ba || !bb) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < ram_a->nr_blocks; i++) {
		const struct ram_block *rb = ram_a->blocks[i];
		size_t ps = rb->page_size;

		for (uint64_t at = rb->start; at < rb->start + rb->len; at += chunk) {
			size_t len = rb->start + rb->len - at < chunk ?
				     (size_t)(rb->start + rb->len - at) : chunk;
			bool b_ok;

			ret = read_mem(a, at, ba, len);
			if (ret) {
				pr_err("cannot read pid %d at %#" PRIx64, (int)a, at);
				goto out;
			}
			b_ok = read_mem(b, at, bb, len) == 0;
			for (size_t off = 0; off < len; off += ps) {
				if (b_ok && memcmp(ba + off, bb + off, ps) == 0)
					continue;
				if (!out->bad_pages && out->layouts_same)
					out->first_diff = at + off;
				out->bad_pages++;
			}
			out->bytes += len;
		}
	}
out:
	free(ba);
	free(bb);
	return ret;
}

int guest_memory_crc(pid_t pid, uint32_t *crc_out, uint64_t *bytes)
{
	size_t chunk = 1u << 20;
	uLong crc = crc32(0L, Z_NULL, 0);
	unsigned char *buf = malloc(chunk);
	struct layout l;
	int ret;

	*bytes = 0;
	if (!buf)
		return -ENOMEM;
	ret = layout_read(pid, &l);
	if (ret) {
		free(buf);
		return ret;
	}
	for (size_t i = 0; i < l.nr && !ret; i++) {
		const struct layout_map *m = &l.maps[i];

		if (!layout_is_ram(m))
			continue;
		for (uint64_t at = m->start; at < m->end && !ret; at += chunk) {
			size_t len = m->end - at < chunk ? (size_t)(m->end - at) : chunk;

			ret = read_mem(pid, at, buf, len);
			if (ret)
				pr_err("cannot read pid %d at %#" PRIx64, (int)pid, at);
			else
				crc = crc32(crc, buf, (uInt)len);
			*bytes += len;
		}
	}
	layout_free(&l);
	free(buf);
	*crc_out = (uint32_t)crc;
	return ret;
}
