/*
 * secondary_memory.c - what the secondary costs in memory, for status.
 *
 * Its footprint is its guest, the RAM cache's image (a copy of the
 * primary guest's RAM, only where it is not zero) and the stage (what
 * arrived since the last complete checkpoint), plus a small constant.
 * The stage is given back lazily after each commit (MADV_FREE,
 * ram_cache.h): resident until the kernel needs the memory, and counted
 * apart as LazyFree, which the kernel takes back before it runs short.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "secondary_int.h"
#include "status.h"

/* Resident bytes of [buf, buf + len), by mincore; 0 for none. */
static uint64_t resident_bytes(const uint8_t *buf, uint64_t len,
			       size_t page_size)
{
	unsigned char vec[4096];
	uint64_t n = 0;

	for (uint64_t off = 0; buf && off < len;
	     off += sizeof(vec) * page_size) {
		uint64_t chunk = len - off < sizeof(vec) * page_size ?
				 len - off : sizeof(vec) * page_size;

		if (mincore((void *)(buf + off), chunk, vec))
			return n;
		for (uint64_t i = 0; i < chunk / page_size; i++)
			n += (vec[i] & 1) * page_size;
	}
	return n;
}

/* A "Key: N kB" figure of a /proc file, in bytes; 0 when absent. */
static uint64_t proc_kb(const char *path, const char *key)
{
	char line[256];
	uint64_t kb = 0;
	size_t klen = strlen(key);
	FILE *f = fopen(path, "re");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) &&
		    sscanf(line + klen, " %" SCNu64, &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb << 10;
}

void secondary_memory_status(struct secondary *s, struct status_out *so)
{
	const struct ram_cache *rc = &s->cache;
	uint64_t ram = 0, cache = 0, stage = 0, self, guest, lazy;
	size_t ps = rc->page_size;
	char path[64];

	for (size_t i = 0; i < rc->image.nr_blocks; i++) {
		const struct ram_block *rb = rc->image.blocks[i];

		ram += rb->len;
		cache += resident_bytes(rb->colo_cache, rb->len, ps);
	}
	for (size_t i = 0; i < rc->next.nr_blocks; i++)
		stage += resident_bytes(rc->next.blocks[i]->colo_stage,
					rc->next.blocks[i]->len, ps);
	self = proc_kb("/proc/self/status", "VmRSS:");
	lazy = proc_kb("/proc/self/smaps_rollup", "LazyFree:");
	snprintf(path, sizeof(path), "/proc/%d/status", (int)s->g.pid);
	guest = proc_kb(path, "VmRSS:");
	status_num(so, "memory_guest_ram_bytes", (double)ram, 0);
	status_num(so, "memory_guest_rss_bytes", (double)guest, 0);
	status_num(so, "memory_daemon_rss_bytes", (double)self, 0);
	status_num(so, "memory_cache_bytes", (double)cache, 0);
	status_num(so, "memory_stage_bytes", (double)stage, 0);
	status_num(so, "memory_lazyfree_bytes", (double)lazy, 0);
	/* guest and daemon over guest RAM, what the kernel may take back
	 * (the stage given back lazily) left out: the bound is
	 * guest + cache + a small constant, 2.05x */
	status_num(so, "memory_over_guest_ram",
		   ram ? (double)(guest + self - (lazy < self ? lazy : 0)) /
			 (double)ram : 0, 2);
}
