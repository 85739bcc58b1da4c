/*
 * layout.c - read and compare guest address layouts, and carry them on
 * the wire (COLO_LAYOUT). layout_mirror.c makes one guest's RAM layout
 * another's.
 *
 * Layouts are compared by address coverage, not line by line: registering
 * memory with userfaultfd splits and merges the kernel's VMAs, so the same
 * memory may be listed in different pieces in two guests.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define LOG_PREFIX "layout: "
#include "log.h"
#include "colo_proto.h"
#include "layout.h"
#include "proc_maps.h"

#include <zlib.h>

static const char *const stat_names[LS_NR] = {
	"start_code", "end_code", "start_stack", "start_data", "end_data",
	"start_brk", "arg_start", "arg_end", "env_start", "env_end",
};
/* Their 1-based field numbers in /proc/PID/stat. */
static const int stat_fields[LS_NR] = { 26, 27, 28, 45, 46, 47, 48, 49, 50, 51 };

void layout_free(struct layout *l)
{
	free(l->maps);
	memset(l, 0, sizeof(*l));
}

/* A mapping's kind in a guest: as proc_maps.c tells it, but for the
 * runtime's private mapping, which is known by its address. */
static enum layout_kind kind_of(const struct proc_map *pm)
{
	if (pm->start >= COLO_GUEST_PRIVATE_BASE &&
	    pm->end <= COLO_GUEST_PRIVATE_BASE + COLO_GUEST_PRIVATE_SIZE)
		return LAYOUT_RUNTIME;
	switch (proc_map_kind(pm)) {
	case PROC_MAP_ANON:
		return LAYOUT_ANON;
	case PROC_MAP_HEAP:
		return LAYOUT_HEAP;
	case PROC_MAP_STACK:
		return LAYOUT_STACK;
	case PROC_MAP_FILE:
		return LAYOUT_FILE;
	case PROC_MAP_SHARED:
	case PROC_MAP_KERNEL:
		break;
	}
	return LAYOUT_SPECIAL;
}

static int push_map(struct layout *l, const struct layout_map *m)
{
	if (l->nr == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct layout_map *n = realloc(l->maps, cap * sizeof(*n));

		if (!n) {
			pr_err("out of memory reading a layout");
			return -ENOMEM;
		}
		l->maps = n;
		l->cap = cap;
	}
	l->maps[l->nr++] = *m;
	return 0;
}

static int read_maps(pid_t pid, struct layout *l)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	FILE *f;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		pr_err("cannot read %s: %s; is the guest running?", path,
		       strerror(errno));
		return ret;
	}
	while (!ret && getline(&line, &cap, f) > 0) {
		struct layout_map m = { 0 };
		struct proc_map pm;

		if (proc_map_parse(line, &pm)) {
			pr_err("cannot parse '%s' in %s", line, path);
			ret = -EINVAL;
			break;
		}
		/* the path, as long as it is (kept to what fits) */
		snprintf(m.path, sizeof(m.path), "%s", pm.path);
		m.start = pm.start;
		m.end = pm.end;
		m.offset = pm.offset;
		m.prot = pm.prot;
		m.shared = pm.shared;
		m.kind = kind_of(&pm);
		ret = push_map(l, &m);
	}
	free(line);
	fclose(f);
	return ret;
}

static int read_stat(pid_t pid, struct layout *l)
{
	char path[64], buf[2048], *p;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_err("cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		pr_err("cannot read %s", path);
		return -EIO;
	}
	buf[n] = '\0';
	/* the command name may hold anything: fields restart after ')' */
	p = strrchr(buf, ')');
	if (!p) {
		pr_err("cannot parse %s", path);
		return -EINVAL;
	}
	p += 2;
	for (field = 3; *p; field++) {
		char *end;
		unsigned long long v = strtoull(p, &end, 10);

		for (int i = 0; i < LS_NR; i++)
			if (stat_fields[i] == field)
				l->stat[i] = v;
		p = *end ? end + 1 : end;
	}
	return 0;
}

int layout_read(pid_t pid, struct layout *l)
{
	int ret;

	memset(l, 0, sizeof(*l));
	ret = read_maps(pid, l);
	if (!ret)
		ret = read_stat(pid, l);
	if (ret)
		layout_free(l);
	return ret;
}

bool layout_is_ram(const struct layout_map *m)
{
	const struct proc_map pm = {
		.start = m->start, .end = m->end, .offset = m->offset,
		.prot = m->prot, .shared = m->shared, .path = m->path,
	};

	return m->kind != LAYOUT_RUNTIME && proc_map_is_ram(&pm);
}

/*
 * The fixed part of a layout, normalised: file and special mappings, with
 * neighbours of the same file, protection and contiguous offsets merged.
 */
static int fixed_part(const struct layout *l, struct layout *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < l->nr; i++) {
		const struct layout_map *m = &l->maps[i];
		struct layout_map *last = out->nr ? &out->maps[out->nr - 1] : NULL;
		int ret;

		if (m->kind != LAYOUT_FILE && m->kind != LAYOUT_SPECIAL)
			continue;
		if (last && last->end == m->start && last->prot == m->prot &&
		    last->kind == m->kind && strcmp(last->path, m->path) == 0 &&
		    (m->kind != LAYOUT_FILE ||
		     last->offset + (last->end - last->start) == m->offset)) {
			last->end = m->end;
			continue;
		}
		ret = push_map(out, m);
		if (ret) {
			layout_free(out);
			return ret;
		}
	}
	return 0;
}

void layout_describe(const struct layout_map *m, char *buf, size_t len)
{
	if (!m) {
		snprintf(buf, len, "nothing");
		return;
	}
	snprintf(buf, len, "%" PRIx64 "-%" PRIx64 " %c%c%c %s", m->start, m->end,
		 m->prot & PROT_READ ? 'r' : '-', m->prot & PROT_WRITE ? 'w' : '-',
		 m->prot & PROT_EXEC ? 'x' : '-', *m->path ? m->path : "anon");
}

int layout_compatible(const char *name_a, const struct layout *a,
		      const char *name_b, const struct layout *b)
{
	static const char fix[] = "start both guests from the same binary "
				  "path with the same argv, environment and "
				  "stack limit";
	struct layout fa, fb;
	int ret = 0;

	for (int i = 0; i < LS_NR; i++) {
		if (a->stat[i] != b->stat[i]) {
			pr_err("guest layouts differ: %s is %#" PRIx64 " in %s, %#"
			       PRIx64 " in %s; %s", stat_names[i], a->stat[i],
			       name_a, b->stat[i], name_b, fix);
			return -EINVAL;
		}
	}
	ret = fixed_part(a, &fa);
	if (ret)
		return ret;
	ret = fixed_part(b, &fb);
	if (ret) {
		layout_free(&fa);
		return ret;
	}
	for (size_t i = 0; i < fa.nr || i < fb.nr; i++) {
		const struct layout_map *x = i < fa.nr ? &fa.maps[i] : NULL;
		const struct layout_map *y = i < fb.nr ? &fb.maps[i] : NULL;
		char dx[600], dy[600];

		if (x && y && x->start == y->start && x->end == y->end &&
		    x->prot == y->prot && x->offset == y->offset &&
		    strcmp(x->path, y->path) == 0)
			continue;
		layout_describe(x, dx, sizeof(dx));
		layout_describe(y, dy, sizeof(dy));
		pr_err("guest layouts differ: %s maps %s where %s maps %s; %s",
		       name_a, dx, name_b, dy, fix);
		ret = -EINVAL;
		break;
	}
	layout_free(&fa);
	layout_free(&fb);
	return ret;
}

const struct layout_map *layout_covering(const struct layout *l,
					 uint64_t addr)
{
	size_t lo = 0, hi = l->nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (l->maps[mid].end <= addr)
			lo = mid + 1;
		else if (l->maps[mid].start > addr)
			hi = mid;
		else
			return &l->maps[mid];
	}
	return NULL;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

uint64_t *layout_boundaries(const struct layout *a, const struct layout *b,
			   size_t *n)
{
	uint64_t *v = malloc((a->nr + b->nr) * 2 * sizeof(*v) + 1);
	size_t k = 0, u = 0;

	if (!v)
		return NULL;
	for (size_t i = 0; i < a->nr; i++) {
		v[k++] = a->maps[i].start;
		v[k++] = a->maps[i].end;
	}
	for (size_t i = 0; i < b->nr; i++) {
		v[k++] = b->maps[i].start;
		v[k++] = b->maps[i].end;
	}
	qsort(v, k, sizeof(*v), cmp_u64);
	for (size_t i = 0; i < k; i++)
		if (!u || v[u - 1] != v[i])
			v[u++] = v[i];
	*n = u;
	return v;
}

/* Do two mappings make the same kind of RAM (or the same non-RAM)? */
static bool same_ram(const struct layout_map *x, const struct layout_map *y)
{
	bool rx = x && layout_is_ram(x), ry = y && layout_is_ram(y);

	if (!rx && !ry)
		return true;
	return rx && ry && x->prot == y->prot &&
	       (x->kind == LAYOUT_FILE) == (y->kind == LAYOUT_FILE);
}

bool layout_same_ram(const struct layout *a, const struct layout *b,
		     uint64_t *first_diff)
{
	size_t n;
	uint64_t *v = layout_boundaries(a, b, &n);
	bool same = true;

	if (!v)
		return false;
	for (size_t i = 0; i + 1 < n && same; i++) {
		if (!same_ram(layout_covering(a, v[i]),
			      layout_covering(b, v[i]))) {
			*first_diff = v[i];
			same = false;
		}
	}
	free(v);
	return same;
}

/* --- the layout on the wire --------------------------------------------- */

#define MAP_WIRE	(8 + 8 + 8 + 1 + 1 + 1 + 2)	/* then the path */

int layout_encode(const struct layout *l, uint64_t brk, uint8_t **out,
		  size_t *len)
{
	size_t n = 8 + 4 + LS_NR * 8 + 4;
	uint8_t *p, *q;

	for (size_t i = 0; i < l->nr; i++)
		n += MAP_WIRE + strlen(l->maps[i].path);
	p = malloc(n);
	if (!p) {
		pr_err("out of memory encoding a layout");
		return -ENOMEM;
	}
	q = p;
	put_be64(q, brk);
	put_be32(q + 8, LS_NR);
	q += 12;
	for (int i = 0; i < LS_NR; i++, q += 8)
		put_be64(q, l->stat[i]);
	put_be32(q, (uint32_t)l->nr);
	q += 4;
	for (size_t i = 0; i < l->nr; i++) {
		const struct layout_map *m = &l->maps[i];
		size_t plen = strlen(m->path);

		put_be64(q, m->start);
		put_be64(q + 8, m->end);
		put_be64(q + 16, m->offset);
		q[24] = (uint8_t)m->prot;
		q[25] = m->shared;
		q[26] = (uint8_t)m->kind;
		put_be16(q + 27, (uint16_t)plen);
		memcpy(q + MAP_WIRE, m->path, plen);
		q += MAP_WIRE + plen;
	}
	*out = p;
	*len = n;
	return 0;
}

int layout_decode(const uint8_t *p, size_t len, struct layout *l,
		  uint64_t *brk)
{
	const uint8_t *end = p + len;
	uint64_t prev_end = 0;
	uint32_t nr;
	int ret;

	memset(l, 0, sizeof(*l));
	if (len < 12 + LS_NR * 8 + 4 || get_be32(p + 8) != LS_NR) {
		pr_err("LAYOUT record of %zu bytes is malformed (header)", len);
		return -EPROTO;
	}
	*brk = get_be64(p);
	p += 12;
	for (int i = 0; i < LS_NR; i++, p += 8)
		l->stat[i] = get_be64(p);
	nr = get_be32(p);
	p += 4;
	for (uint32_t i = 0; i < nr; i++) {
		struct layout_map m = { 0 };
		size_t plen;

		if ((size_t)(end - p) < MAP_WIRE)
			goto bad;
		plen = get_be16(p + 27);
		if (plen >= sizeof(m.path) || (size_t)(end - p) < MAP_WIRE + plen)
			goto bad;
		m.start = get_be64(p);
		m.end = get_be64(p + 8);
		m.offset = get_be64(p + 16);
		m.prot = p[24];
		m.shared = p[25] != 0;
		m.kind = (enum layout_kind)p[26];
		memcpy(m.path, p + MAP_WIRE, plen);
		m.path[plen] = '\0';
		if (m.start >= m.end || m.start < prev_end ||
		    (m.start | m.end) & 4095 || m.prot & ~7 || p[25] > 1 ||
		    m.kind > LAYOUT_RUNTIME)
			goto bad;
		prev_end = m.end;
		ret = push_map(l, &m);
		if (ret) {
			layout_free(l);	/* nothing half-read is left */
			return ret;
		}
		p += MAP_WIRE + plen;
	}
	if (p != end)
		goto bad;
	return 0;
bad:
	pr_err("LAYOUT record: mapping %zu of %u is malformed", l->nr, nr);
	layout_free(l);
	return -EPROTO;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int layout_files_crc(const struct layout *l, uint32_t *crc_out)
{
	const char **paths = calloc(l->nr ? l->nr : 1, sizeof(*paths));
	size_t n = 0;
	uLong crc = crc32(0L, Z_NULL, 0);
	uint8_t buf[65536];
	int ret = 0;

	if (!paths)
		return -ENOMEM;
	for (size_t i = 0; i < l->nr; i++)
		if (l->maps[i].kind == LAYOUT_FILE)
			paths[n++] = l->maps[i].path;
	qsort(paths, n, sizeof(*paths), cmp_str);
	for (size_t i = 0; i < n && !ret; i++) {
		int fd;
		ssize_t r;

		if (i && strcmp(paths[i], paths[i - 1]) == 0)
			continue;
		crc = crc32(crc, (const Bytef *)paths[i], (uInt)strlen(paths[i]));
		fd = open(paths[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			ret = -errno;
			pr_err("cannot read %s to hash the guest: %s", paths[i],
			       strerror(errno));
			break;
		}
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			crc = crc32(crc, buf, (uInt)r);
		if (r < 0)
			ret = -errno;
		close(fd);
	}
	free(paths);
	*crc_out = (uint32_t)crc;
	return ret;
}
