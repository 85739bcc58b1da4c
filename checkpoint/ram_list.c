/*
 * ram_list.c - read the guest's mappings and reconcile its RAM blocks.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "ram-list: "
#include "log.h"
#include "bitmap.h"
#include "proc_maps.h"
#include "ram_list.h"

int ram_list_init(struct ram_list *rl, pid_t pid, size_t page_size,
		  unsigned clear_bmap_shift)
{
	memset(rl, 0, sizeof(*rl));
	rl->pid = pid;
	rl->page_size = page_size;
	clear_bmap_shift_clamp(clear_bmap_shift, &rl->clear_bmap_shift);
	return 0;
}

void ram_list_destroy(struct ram_list *rl)
{
	for (size_t i = 0; i < rl->nr_blocks; i++)
		ram_block_free(rl->blocks[i]);
	free(rl->blocks);
	free(rl->areas);
	free(rl->maps_buf);
	memset(rl, 0, sizeof(*rl));
}

int ram_list_add_hole(struct ram_list *rl, uint64_t start, uint64_t end)
{
	if (rl->nr_holes == RAM_LIST_MAX_HOLES) {
		pr_err("more than %d untracked ranges requested", RAM_LIST_MAX_HOLES);
		return -ENOSPC;
	}
	rl->holes[rl->nr_holes].start = start;
	rl->holes[rl->nr_holes].end = end;
	rl->nr_holes++;
	return 0;
}

uint64_t ram_list_bytes(const struct ram_list *rl)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < rl->nr_blocks; i++)
		sum += rl->blocks[i]->len;
	return sum;
}

uint64_t ram_list_count_dirty(const struct ram_list *rl)
{
	uint64_t n = 0;

	for (size_t i = 0; i < rl->nr_blocks; i++)
		n += bitmap_count_one(rl->blocks[i]->bmap, rl->blocks[i]->npages);
	return n;
}

struct ram_block *ram_list_block_at_or_after(const struct ram_list *rl,
					     uint64_t addr)
{
	size_t lo = 0, hi = rl->nr_blocks;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct ram_block *rb = rl->blocks[mid];

		if (rb->start + rb->len <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < rl->nr_blocks ? rl->blocks[lo] : NULL;
}

/* Mark [s, e) in into's blocks (lazy: their chunks to re-arm too). */
static void fold_range(struct ram_list *into, uint64_t s, uint64_t e,
		       bool lazy)
{
	while (s < e) {
		struct ram_block *rb = ram_list_block_at_or_after(into, s);
		uint64_t end;

		if (!rb || rb->start >= e)
			return;
		if (rb->start > s)
			s = rb->start;
		end = rb->start + rb->len < e ? rb->start + rb->len : e;
		ram_block_mark_dirty(rb, (s - rb->start) / rb->page_size,
				     (end - s) / rb->page_size, lazy);
		s = end;
	}
}

void ram_list_fold_marked(const struct ram_list *from, struct ram_list *into,
			  bool lazy)
{
	for (size_t i = 0; i < from->nr_blocks; i++) {
		const struct ram_block *fb = from->blocks[i];
		size_t p = find_next_bit(fb->bmap, fb->npages, 0);

		while (p < fb->npages) {
			size_t q = find_next_zero_bit(fb->bmap, fb->npages, p);

			fold_range(into, ram_block_page_addr(fb, p),
				   ram_block_page_addr(fb, q), lazy);
			p = find_next_bit(fb->bmap, fb->npages, q);
		}
	}
}

void ram_list_fold_dirty(const struct ram_list *from, struct ram_list *into)
{
	ram_list_fold_marked(from, into, false);
}

int ram_list_add_area(struct ram_list *rl, uint64_t start, uint64_t end,
		      bool file, const char *name)
{
	struct ram_area *a;

	if (start >= end)
		return 0;
	if (rl->nr_areas == rl->cap_areas) {
		size_t cap = rl->cap_areas ? rl->cap_areas * 2 : 64;
		struct ram_area *n = realloc(rl->areas, cap * sizeof(*n));

		if (!n) {
			pr_err("out of memory for %zu mappings", cap);
			return -ENOMEM;
		}
		rl->areas = n;
		rl->cap_areas = cap;
	}
	a = &rl->areas[rl->nr_areas++];
	a->start = start;
	a->end = end;
	a->file = file;
	snprintf(a->name, sizeof(a->name), "%s", name);
	return 0;
}

/* Push [start, end) minus the holes (holes are few: a linear pass each). */
static int areas_push_outside_holes(struct ram_list *rl, uint64_t start,
				    uint64_t end, bool file, const char *name)
{
	if (start >= end)
		return 0;
	for (size_t i = 0; i < rl->nr_holes; i++) {
		const struct ram_hole *h = &rl->holes[i];
		int ret;

		if (h->end <= start || h->start >= end)
			continue;
		ret = areas_push_outside_holes(rl, start,
					       h->start > start ? h->start : start,
					       file, name);
		if (ret)
			return ret;
		return areas_push_outside_holes(rl, h->end < end ? h->end : end,
						end, file, name);
	}
	return ram_list_add_area(rl, start, end, file, name);
}

/* What a block of this mapping is called in logs and status. */
static const char *area_name(const char *path)
{
	const char *slash;

	if (!*path)
		return "anon";
	if (path[0] == '[')
		return path;
	slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/*
 * A maps text, line by line: the RAM in it (proc_maps.h says what that
 * is), minus the holes, becomes rl->areas.
 */
int ram_list_parse_maps(struct ram_list *rl, const char *text)
{
	const char *line = text;

	rl->nr_areas = 0;
	while (*line) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		char buf[PROC_MAPS_LINE_MAX];
		struct proc_map m;
		int ret;

		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, line, len);
		buf[len] = '\0';
		line = eol ? eol + 1 : line + strlen(line);

		if (proc_map_parse(buf, &m)) {
			pr_err("cannot parse maps line '%s' of pid %d", buf,
			       (int)rl->pid);
			return -EINVAL;
		}
		if (!proc_map_is_ram(&m))
			continue;
		ret = areas_push_outside_holes(rl, m.start, m.end,
					       proc_map_kind(&m) == PROC_MAP_FILE,
					       area_name(m.path));
		if (ret)
			return ret;
	}
	return 0;
}

static int read_maps(struct ram_list *rl)
{
	char path[64];
	size_t used = 0;
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)rl->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = errno == ENOENT ? -ESRCH : -errno;
		pr_err("cannot open %s: %s; is the guest still running?", path,
		       strerror(errno));
		return ret;
	}
	for (;;) {
		ssize_t n;

		if (rl->cap_maps_buf - used < 4096) {
			size_t cap = rl->cap_maps_buf ? rl->cap_maps_buf * 2 : 65536;
			char *b = realloc(rl->maps_buf, cap);

			if (!b) {
				pr_err("out of memory reading %s", path);
				ret = -ENOMEM;
				break;
			}
			rl->maps_buf = b;
			rl->cap_maps_buf = cap;
		}
		n = read(fd, rl->maps_buf + used, rl->cap_maps_buf - used - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = errno == ESRCH ? -ESRCH : -errno;
			pr_err("cannot read %s: %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	if (!ret)
		rl->maps_buf[used] = '\0';
	return ret;
}

/* Is [start, end) inside RAM, i.e. inside the areas (sorted)? */
static bool areas_cover(const struct ram_list *rl, size_t *cursor,
			uint64_t start, uint64_t end)
{
	size_t i = *cursor;
	uint64_t at = start;

	while (i < rl->nr_areas && rl->areas[i].end <= start)
		i++;
	*cursor = i;
	for (; i < rl->nr_areas && at < end; i++) {
		if (rl->areas[i].start > at)
			return false;
		at = rl->areas[i].end;
	}
	return at >= end;
}

static int blocks_reserve(struct ram_list *rl, size_t want)
{
	struct ram_block **n;
	size_t cap;

	if (want <= rl->cap_blocks)
		return 0;
	cap = rl->cap_blocks ? rl->cap_blocks : 32;
	while (cap < want)
		cap *= 2;
	n = realloc(rl->blocks, cap * sizeof(*n));
	if (!n) {
		pr_err("out of memory for %zu RAM blocks", cap);
		return -ENOMEM;
	}
	rl->blocks = n;
	rl->cap_blocks = cap;
	return 0;
}

static int cmp_block(const void *a, const void *b)
{
	const struct ram_block *x = *(struct ram_block *const *)a;
	const struct ram_block *y = *(struct ram_block *const *)b;

	return x->start < y->start ? -1 : x->start > y->start;
}

void ram_list_remove(struct ram_list *rl, size_t i)
{
	pr_debug("pid %d: block %s %" PRIx64 "-%" PRIx64 " gone", (int)rl->pid,
		 rl->blocks[i]->name, rl->blocks[i]->start,
		 rl->blocks[i]->start + rl->blocks[i]->len);
	ram_block_free(rl->blocks[i]);
	memmove(&rl->blocks[i], &rl->blocks[i + 1],
		(rl->nr_blocks - i - 1) * sizeof(rl->blocks[0]));
	rl->nr_blocks--;
	rl->blocks_removed++;
}

static int block_add(struct ram_list *rl, uint64_t start, uint64_t end,
		     const struct ram_area *a)
{
	struct ram_block *rb;
	int ret;

	ret = blocks_reserve(rl, rl->nr_blocks + 1);
	if (ret)
		return ret;
	rb = ram_block_new(start, end - start, rl->page_size,
			   rl->clear_bmap_shift, a->name);
	if (!rb) {
		pr_err("out of memory for the bitmaps of a %" PRIu64
		       " KiB block", (end - start) >> 10);
		return -ENOMEM;
	}
	rb->file = a->file;
	rl->blocks[rl->nr_blocks++] = rb;
	rl->blocks_added++;
	pr_debug("pid %d: block %s %" PRIx64 "-%" PRIx64 " new", (int)rl->pid,
		 a->name, start, end);
	return 0;
}

/*
 * Step 1 -- drop every block that is no longer wholly RAM (unmapped,
 *           made unreadable, replaced by a shared mapping).
 * Step 2 -- for every area, the addresses no surviving block covers
 *           become new blocks, named after the area.
 * Step 3 -- sort, so blocks stay in address order.
 */
int ram_list_update(struct ram_list *rl)
{
	size_t cursor = 0, nr_kept, b;
	int ret;

	for (size_t i = 0; i < rl->nr_blocks;) {
		struct ram_block *rb = rl->blocks[i];

		if (areas_cover(rl, &cursor, rb->start, rb->start + rb->len))
			i++;
		else
			ram_list_remove(rl, i);
	}

	nr_kept = rl->nr_blocks;
	b = 0;
	ret = 0;
	for (size_t i = 0; i < rl->nr_areas && !ret; i++) {
		const struct ram_area *a = &rl->areas[i];
		uint64_t at = a->start;

		while (b < nr_kept && rl->blocks[b]->start + rl->blocks[b]->len <= at)
			b++;
		for (size_t k = b; k < nr_kept && at < a->end; k++) {
			const struct ram_block *rb = rl->blocks[k];

			if (rb->start >= a->end)
				break;
			if (rb->start > at) {
				ret = block_add(rl, at, rb->start, a);
				if (ret)
					break;
			}
			at = rb->start + rb->len;
		}
		if (!ret && at < a->end)
			ret = block_add(rl, at, a->end, a);
	}
	/* even after a failure: the list must stay in address order */
	if (rl->nr_blocks != nr_kept)
		qsort(rl->blocks, rl->nr_blocks, sizeof(rl->blocks[0]), cmp_block);
	return ret;
}

/*
 * Step 1 -- drop every block no area matches exactly (same start, same
 *           end);
 * Step 2 -- every area no block matches becomes a new block;
 * Step 3 -- sort.
 * Both lists are in address order, so one merge walk does each step.
 */
int ram_list_mirror(struct ram_list *rl)
{
	size_t a = 0, nr_kept, b;
	int ret = 0;

	for (size_t i = 0; i < rl->nr_blocks;) {
		const struct ram_block *rb = rl->blocks[i];

		while (a < rl->nr_areas && rl->areas[a].start < rb->start)
			a++;
		if (a < rl->nr_areas && rl->areas[a].start == rb->start &&
		    rl->areas[a].end == rb->start + rb->len)
			i++;
		else
			ram_list_remove(rl, i);
	}
	nr_kept = rl->nr_blocks;
	b = 0;
	for (size_t i = 0; i < rl->nr_areas && !ret; i++) {
		const struct ram_area *ar = &rl->areas[i];

		while (b < nr_kept && rl->blocks[b]->start < ar->start)
			b++;
		if (b < nr_kept && rl->blocks[b]->start == ar->start)
			continue;	/* kept above: the same extent */
		ret = block_add(rl, ar->start, ar->end, ar);
	}
	if (rl->nr_blocks != nr_kept)
		qsort(rl->blocks, rl->nr_blocks, sizeof(rl->blocks[0]), cmp_block);
	return ret;
}

int ram_list_refresh(struct ram_list *rl)
{
	int ret;

	ret = read_maps(rl);
	if (ret)
		return ret;
	ret = ram_list_parse_maps(rl, rl->maps_buf);
	if (ret)
		return ret;
	return ram_list_update(rl);
}
