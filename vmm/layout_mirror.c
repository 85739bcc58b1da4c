/*
 * layout_mirror.c - make the RAM layout of a paused guest that of another
 * (program break, stack depth, anonymous mappings, protections), by
 * commands to its pause loop.
 *
 * It works segment by segment over the boundaries of both layouts, not
 * line by line: registering memory with userfaultfd splits and merges the
 * kernel's VMAs, so the same memory may be listed in different pieces.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define LOG_PREFIX "layout: "
#include "log.h"
#include "layout.h"

static const struct layout_map *find_kind(const struct layout *l,
					  enum layout_kind kind)
{
	for (size_t i = 0; i < l->nr; i++)
		if (l->maps[i].kind == kind)
			return &l->maps[i];
	return NULL;
}

static int command(struct guest *b, uint32_t cmd, uint64_t a0, uint64_t a1,
		   uint64_t a2, uint64_t a3, int64_t *result, struct layout_mirror_count *count)
{
	const uint64_t arg[4] = { a0, a1, a2, a3 };
	int ret = guest_cmd(b, cmd, arg, result, NULL, 0);

	count->commands++;
	if (cmd == GUEST_CMD_MUNMAP)
		count->unmapped++;
	return ret;
}

/*
 * *lb is B's layout as of the last read; a command since (count moved
 * past *seen) makes it stale: read it again. B's maps are read only when
 * something changed them.
 */
static int fresh_layout(struct guest *b, struct layout *lb, unsigned *seen,
			const struct layout_mirror_count *count)
{
	if (*seen == count->commands)
		return 0;
	layout_free(lb);
	*seen = count->commands;
	return layout_read(b->pid, lb);
}

static int mirror_brk_and_stack(const struct layout *la, uint64_t brk_a,
				struct guest *b, struct layout *lb,
				unsigned *seen, struct layout_mirror_count *count)
{
	const struct layout_map *sa = find_kind(la, LAYOUT_STACK), *sb;
	struct colo_guest_layout gl;
	int64_t res;
	int ret;

	ret = guest_layout(b, &gl);
	if (ret)
		return ret;
	if (gl.brk != brk_a) {
		/* down past a page boundary: the pages above are gone */
		if ((brk_a + LAYOUT_PAGE - 1) / LAYOUT_PAGE <
		    (gl.brk + LAYOUT_PAGE - 1) / LAYOUT_PAGE)
			count->unmapped++;
		ret = command(b, GUEST_CMD_BRK, brk_a, 0, 0, 0, &res, count);
		if (ret)
			return ret;
		if ((uint64_t)res != brk_a) {
			pr_err("guest %s: cannot move its program break from %#"
			       PRIx64 " to %#" PRIx64, b->name, gl.brk, brk_a);
			return -ENOMEM;
		}
	}
	ret = fresh_layout(b, lb, seen, count);
	if (ret)
		return ret;
	sb = find_kind(lb, LAYOUT_STACK);
	if (sa && sb && sa->start < sb->start) {
		ret = command(b, GUEST_CMD_GROW_STACK, sa->start, 0, 0, 0, &res,
			      count);
	} else if (sa && sb && sa->start > sb->start) {
		ret = command(b, GUEST_CMD_MUNMAP, sb->start,
			      sa->start - sb->start, 0, 0, &res, count);
		if (!ret && res) {
			ret = guest_result_errno(res);
			pr_err("guest %s: cannot trim its stack to %#" PRIx64 ": %s",
			       b->name, sa->start, strerror(-ret));
		}
	}
	return ret;
}

/* One pending command, grown while neighbouring segments need the same. */
struct pending {
	uint32_t cmd;		/* 0: none */
	uint64_t start, end;
	int prot;
};

static int flush_pending(struct guest *b, struct pending *p, struct layout_mirror_count *count)
{
	int64_t res = 0;
	int ret = 0;

	switch (p->cmd) {
	case 0:
		return 0;
	case GUEST_CMD_MMAP:
		ret = command(b, p->cmd, p->start, p->end - p->start,
			      (uint64_t)p->prot, MAP_PRIVATE | MAP_ANONYMOUS,
			      &res, count);
		if (!ret && (uint64_t)res != p->start)
			ret = -ENOMEM;
		break;
	case GUEST_CMD_MUNMAP:
		ret = command(b, p->cmd, p->start, p->end - p->start, 0, 0,
			      &res, count);
		break;
	case GUEST_CMD_MPROTECT:
		ret = command(b, p->cmd, p->start, p->end - p->start,
			      (uint64_t)p->prot, 0, &res, count);
		break;
	}
	if (!ret && p->cmd != GUEST_CMD_MMAP && res)
		ret = guest_result_errno(res);
	if (ret)
		pr_err("guest %s: command %u on %#" PRIx64 "-%#" PRIx64
		       " failed: %s", b->name, p->cmd, p->start, p->end,
		       strerror(-ret));
	p->cmd = 0;
	return ret;
}

static int want(struct guest *b, struct pending *p, uint32_t cmd,
		uint64_t start, uint64_t end, int prot, struct layout_mirror_count *count)
{
	if (p->cmd == cmd && p->end == start && p->prot == prot) {
		p->end = end;
		return 0;
	}
	if (flush_pending(b, p, count))
		return -EIO;
	p->cmd = cmd;
	p->start = start;
	p->end = end;
	p->prot = prot;
	return 0;
}

enum mirror_pass {
	MIRROR_UNMAP,		/* only drop what B has and A has not */
	MIRROR_ALL,		/* map, unmap and protect */
};

/* Mappings and protections, segment by segment over both layouts. */
static int mirror_maps(const struct layout *la, struct guest *b,
		       const struct layout *lb, enum mirror_pass pass,
		       struct layout_mirror_count *count)
{
	struct pending p = { 0 };
	size_t n;
	uint64_t *v = layout_boundaries(la, lb, &n);
	int ret = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i + 1 < n && !ret; i++) {
		const struct layout_map *x = layout_covering(la, v[i]);
		const struct layout_map *y = layout_covering(lb, v[i]);
		char dx[600], dy[600];

		if ((x && (x->kind == LAYOUT_RUNTIME || x->kind == LAYOUT_SPECIAL)) ||
		    (y && (y->kind == LAYOUT_RUNTIME || y->kind == LAYOUT_SPECIAL)))
			continue;
		if ((x && x->kind == LAYOUT_FILE) || (y && y->kind == LAYOUT_FILE)) {
			if (x && y && x->kind == y->kind &&
			    strcmp(x->path, y->path) == 0 &&
			    x->offset - x->start == y->offset - y->start) {
				if (x->prot != y->prot)
					ret = want(b, &p, GUEST_CMD_MPROTECT, v[i],
						   v[i + 1], x->prot, count);
				continue;
			}
			layout_describe(x, dx, sizeof(dx));
			layout_describe(y, dy, sizeof(dy));
			pr_err("cannot mirror a file mapping: %s has %s where %s "
			       "has %s", "the source", dx, b->name, dy);
			ret = -EINVAL;
			break;
		}
		if (pass == MIRROR_UNMAP) {
			/* B's heap and stack follow brk and the stack step */
			if (!x && y && y->kind == LAYOUT_ANON)
				ret = want(b, &p, GUEST_CMD_MUNMAP, v[i], v[i + 1],
					   0, count);
			continue;
		}
		if (x && !y)
			ret = want(b, &p, GUEST_CMD_MMAP, v[i], v[i + 1], x->prot,
				   count);
		else if (!x && y)
			ret = want(b, &p, GUEST_CMD_MUNMAP, v[i], v[i + 1], 0, count);
		else if (x && y && x->prot != y->prot)
			ret = want(b, &p, GUEST_CMD_MPROTECT, v[i], v[i + 1],
				   x->prot, count);
	}
	if (!ret)
		ret = flush_pending(b, &p, count);
	free(v);
	return ret;
}

/*
 * Step 1 -- drop B's anonymous mappings A does not have, so nothing of
 *           B's is in the way of the steps after;
 * Step 2 -- B's program break to A's, and its stack as deep as A's;
 * Step 3 -- map what A has and B has not, match protections;
 * Step 4 -- check that B's RAM layout is now A's.
 * B's maps are read again only after a command changed them: a guest
 * already in A's layout costs one read.
 */
int layout_mirror_counted(const struct layout *la, uint64_t brk_a,
			  struct guest *b, struct layout_mirror_count *commands)
{
	unsigned seen = commands->commands;
	struct layout lb;
	uint64_t diff = 0;
	int ret;

	ret = layout_read(b->pid, &lb);
	if (ret)
		return ret;
	ret = mirror_maps(la, b, &lb, MIRROR_UNMAP, commands);
	if (!ret)
		ret = mirror_brk_and_stack(la, brk_a, b, &lb, &seen, commands);
	if (!ret)
		ret = fresh_layout(b, &lb, &seen, commands);
	if (!ret)
		ret = mirror_maps(la, b, &lb, MIRROR_ALL, commands);
	if (!ret)
		ret = fresh_layout(b, &lb, &seen, commands);
	if (!ret && !layout_same_ram(la, &lb, &diff)) {
		pr_err("guest %s: its RAM layout still differs at %#" PRIx64
		       " after mirroring", b->name, diff);
		ret = -EIO;
	}
	layout_free(&lb);
	return ret;
}

int layout_mirror(const struct layout *la, uint64_t brk_a, struct guest *b,
		  unsigned *commands)
{
	struct layout_mirror_count n = { 0 };
	int ret = layout_mirror_counted(la, brk_a, b, &n);

	*commands += n.commands;
	return ret;
}
