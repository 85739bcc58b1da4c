/*
 * secondary_memory.c - what the secondary costs in memory, for status.
 *
 * Its footprint is its guest, the RAM cache's image (a copy of the
 * primary guest's RAM, only where it is not zero) and the stage (what
 * arrived since the last complete checkpoint), plus a small constant.
 * The stage is given back lazily after each commit (MADV_FREE,
 * ram_cache.h): resident until the kernel needs the memory, and counted
 * apart as LazyFree, which the kernel takes back before it runs short.
 *
 * Before it takes the primary's RAM blocks the secondary checks it can
 * hold them: [guest] max_ram_mib, and the memory this host (or our
 * memory cgroup) can still give for the guest's RAM twice over.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define LOG_PREFIX "secondary: "
#include "log.h"
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

/* Our guest's resident set, bytes. */
static uint64_t guest_rss(const struct secondary *s)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/status", (int)s->g.pid);
	return proc_kb(path, "VmRSS:");
}

void secondary_memory_status(struct secondary *s, struct status_out *so)
{
	const struct ram_cache *rc = &s->cache;
	uint64_t ram = 0, cache = 0, stage = 0, self, guest, lazy;
	size_t ps = rc->page_size;

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
	guest = guest_rss(s);
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

/* --- admitting the primary's RAM ------------------------------------------ */

/* A number from the first line of a file (a cgroup's limit or usage);
 * false when absent or "max". */
static bool file_u64(const char *path, uint64_t *v)
{
	char line[64];
	FILE *f = fopen(path, "re");
	bool ok = f && fgets(line, sizeof(line), f) &&
		  sscanf(line, "%" SCNu64, v) == 1;

	if (f)
		fclose(f);
	return ok;
}

/*
 * What our memory cgroup still allows, or UINT64_MAX when it sets no
 * limit: v2's memory.max - memory.current, v1's memory.limit_in_bytes
 * - memory.usage_in_bytes (both found through /proc/self/cgroup).
 */
static uint64_t cgroup_room(char *what, size_t len)
{
	char line[512], path[700];
	uint64_t limit, used, room = UINT64_MAX;
	FILE *f = fopen("/proc/self/cgroup", "re");

	while (f && fgets(line, sizeof(line), f)) {
		char *ctl = strchr(line, ':'), *dir = ctl ? strchr(ctl + 1, ':') : NULL;
		bool v2 = ctl && ctl[1] == ':';

		if (!dir)
			continue;
		dir[strcspn(dir, "\n")] = '\0';
		if (!v2 && strncmp(ctl + 1, "memory:", 7))
			continue;
		snprintf(path, sizeof(path), v2 ? "/sys/fs/cgroup%s/memory.max" :
			 "/sys/fs/cgroup/memory%s/memory.limit_in_bytes", dir + 1);
		if (!file_u64(path, &limit))
			continue;
		snprintf(path, sizeof(path), v2 ? "/sys/fs/cgroup%s/memory.current" :
			 "/sys/fs/cgroup/memory%s/memory.usage_in_bytes", dir + 1);
		if (!file_u64(path, &used))
			continue;
		if (limit - (used < limit ? used : limit) < room) {
			room = limit - (used < limit ? used : limit);
			snprintf(what, len, "the limit of memory cgroup %s",
				 dir + 1);
		}
	}
	if (f)
		fclose(f);
	return room;
}

/* What this host can still give us, and which limit that is. */
static uint64_t memory_available(char *what, size_t len)
{
	uint64_t host = proc_kb("/proc/meminfo", "MemAvailable:");
	uint64_t room = cgroup_room(what, len);

	if (room < host)
		return room;
	snprintf(what, len, "MemAvailable in /proc/meminfo");
	return host;
}

#define MIB(b)	((unsigned long long)((b) >> 20))

int secondary_memory_admit(struct secondary *s, const uint8_t *payload,
			   uint32_t len)
{
	struct colo_ram_block *b = NULL;
	uint64_t total = 0, held, needed, avail;
	uint64_t max = s->cfg.guest.max_ram_mib << 20;
	char what[300] = "";
	uint32_t n = 0;
	int ret;

	ret = colo_ram_blocks_decode(payload, len, s->cache.page_size, &b, &n);
	if (ret)
		return ret;
	for (uint32_t i = 0; i < n; i++)
		total += b[i].len;
	free(b);
	if (max && total > max) {
		snprintf(s->refused_why, sizeof(s->refused_why), "the primary's "
			 "guest has %llu MiB of RAM, over [guest] max_ram_mib %llu "
			 "here: not protected; raise max_ram_mib or give the guest "
			 "less memory", MIB(total), MIB(max));
		pr_err("%s", s->refused_why);
		return -EFBIG;
	}
	if (total <= s->admitted_ram)	/* no more than we hold room for */
		return secondary_checkpoint_ram_blocks(s, payload, len);
	/* its RAM twice (our guest, the RAM cache), less what we hold of
	 * it already */
	held = proc_kb("/proc/self/status", "VmRSS:") + guest_rss(s);
	needed = 2 * total > held ? 2 * total - held : 0;
	avail = memory_available(what, sizeof(what));
	if (needed > avail) {
		snprintf(s->refused_why, sizeof(s->refused_why), "this node "
			 "lacks the memory for the primary's guest: %llu MiB more "
			 "are needed (its %llu MiB of RAM in our guest and in the "
			 "RAM cache, %llu MiB of which we hold), %llu MiB are "
			 "available (%s); free memory on this node or give the "
			 "guest less", MIB(needed), MIB(total), MIB(held),
			 MIB(avail), what);
		pr_err("%s", s->refused_why);
		return -ENOMEM;
	}
	ret = secondary_checkpoint_ram_blocks(s, payload, len);
	if (!ret)
		s->admitted_ram = total;
	return ret;
}
