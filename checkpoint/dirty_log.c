/*
 * dirty_log.c - backend selection, sync and the chunk clear rule.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "dirty-log: "
#include "log.h"
#include "bitmap.h"
#include "clock.h"
#include "dirty_log.h"
#include "dirty_log_int.h"
#include "fault.h"

/* Pages a WP_MATCHING walk covers in the time of one UFFDIO_WRITEPROTECT. */
#define CLEAR_SCAN_PAGES_PER_CALL	512

/* Failed registrations of one block in a row before we warn about it. */
#define TRACK_WARN_AFTER	3

static const char *const kind_names[] = {
	[DIRTY_LOG_AUTO] = "auto",
	[DIRTY_LOG_UFFD_WP] = "uffd-wp",
	[DIRTY_LOG_FULL] = "full",
};

const char *dirty_log_kind_name(enum dirty_log_kind kind)
{
	return (unsigned)kind <= DIRTY_LOG_FULL ? kind_names[kind] : "?";
}

/* The index of name in names[0..n), or -EINVAL. */
static int name_index(const char *const *names, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

int dirty_log_kind_parse(const char *name, enum dirty_log_kind *kind)
{
	int i = name_index(kind_names, DIRTY_LOG_FULL + 1, name);

	if (i < 0)
		return i;
	*kind = (enum dirty_log_kind)i;
	return 0;
}

static const char *const clear_mode_names[] = {
	[DIRTY_LOG_LAZY] = "lazy",
	[DIRTY_LOG_MONOLITHIC] = "monolithic",
};

const char *dirty_log_clear_mode_name(enum dirty_log_clear_mode mode)
{
	return (unsigned)mode <= DIRTY_LOG_MONOLITHIC ? clear_mode_names[mode] : "?";
}

int dirty_log_clear_mode_parse(const char *name, enum dirty_log_clear_mode *mode)
{
	int i = name_index(clear_mode_names, DIRTY_LOG_MONOLITHIC + 1, name);

	if (i < 0)
		return i;
	*mode = (enum dirty_log_clear_mode)i;
	return 0;
}

uint64_t dirty_log_now_ns(void)
{
	return colo_now_ns();
}

static int probe_uffd(const char **missing)
{
	if (fault_injected(FI_NO_UFFD_WP)) {
		*missing = "the PAGEMAP_SCAN ioctl (fault injected)";
		return -ENOTTY;
	}
	return dirty_log_uffd_ops.probe(missing);
}

int dirty_log_probe(enum dirty_log_kind kind, enum dirty_log_kind *chosen)
{
	const char *missing = NULL;
	int ret;

	switch (kind) {
	case DIRTY_LOG_FULL:
		*chosen = DIRTY_LOG_FULL;
		return 0;
	case DIRTY_LOG_UFFD_WP:
		ret = probe_uffd(&missing);
		if (ret) {
			pr_err("dirty_log = uffd-wp, but this kernel lacks %s; "
			       "use Linux 6.7 or later, or set [ram] dirty_log "
			       "= auto to fall back to full copies", missing);
			return ret;
		}
		*chosen = DIRTY_LOG_UFFD_WP;
		return 0;
	case DIRTY_LOG_AUTO:
		ret = probe_uffd(&missing);
		if (ret) {
			pr_warn("uffd-wp dirty log unavailable: this kernel lacks "
				"%s; falling back to 'full' (every page is copied "
				"at every checkpoint; use Linux 6.7+ to avoid it)",
				missing);
			*chosen = DIRTY_LOG_FULL;
			return 0;
		}
		*chosen = DIRTY_LOG_UFFD_WP;
		return 0;
	}
	pr_err("unknown dirty log kind %d", (int)kind);
	return -EINVAL;
}

int dirty_log_open(struct dirty_log **out, pid_t pid,
		   const struct dirty_log_params *params)
{
	enum dirty_log_kind chosen;
	struct dirty_log *dl;
	long page_size = sysconf(_SC_PAGESIZE);
	int ret;

	ret = dirty_log_probe(params->kind, &chosen);
	if (ret)
		return ret;
	dl = calloc(1, sizeof(*dl));
	if (!dl) {
		pr_err("out of memory opening the dirty log of pid %d", (int)pid);
		return -ENOMEM;
	}
	dl->ops = chosen == DIRTY_LOG_FULL ? &dirty_log_full_ops :
					     &dirty_log_uffd_ops;
	dl->pid = pid;
	dl->clear_mode = params->clear_mode;
	dl->whole_file_blocks = params->whole_file_blocks;
	ram_list_init(&dl->ram, pid, (size_t)page_size,
		      params->clear_bmap_shift);
	ret = dl->ops->attach(dl, params->guest_uffd);
	if (ret) {
		ram_list_destroy(&dl->ram);
		free(dl);
		return ret;
	}
	pr_info("tracking pid %d with the %s dirty log, %s clear, "
		"clear_bitmap_shift %u", (int)pid, dl->ops->name,
		dl->clear_mode == DIRTY_LOG_LAZY ? "lazy chunked" : "monolithic",
		dl->ram.clear_bmap_shift);
	*out = dl;
	return 0;
}

void dirty_log_close(struct dirty_log *dl)
{
	if (!dl)
		return;
	dl->ops->detach(dl);
	ram_list_destroy(&dl->ram);
	free(dl);
}

const char *dirty_log_backend(const struct dirty_log *dl)
{
	return dl->ops->name;
}

/*
 * A block seen for the first time, or whose mapping was replaced: record
 * its writes from now on and send it all once. Lazy mode leaves the
 * re-arming to the chunk clears.
 *
 * A register fails when the guest changed that part of its layout after
 * we read it (it runs while we sync). The block then stays untracked and
 * wholly dirty, so it is copied whole and nothing written to it is lost;
 * the next sync tries again. With the guest stopped the layout holds
 * still, so a failure that persists is a mapping the log cannot track.
 */
static int track_block(struct dirty_log *dl, struct ram_block *rb,
		       uint64_t *in_clear)
{
	bool lazy = dl->clear_mode == DIRTY_LOG_LAZY;
	int ret;

	ret = dl->ops->track(dl, rb);
	if (ret == -ENOMEM || ret == -EINVAL || ret == -EPERM ||
	    ret == -ENOENT) {
		ram_block_mark_dirty(rb, 0, rb->npages, lazy);
		if (++rb->track_failures == TRACK_WARN_AFTER)
			pr_warn("block %s %" PRIx64 "-%" PRIx64 " of pid %d "
				"cannot be tracked (%s); it is copied whole at "
				"every sync until it can", rb->name, rb->start,
				rb->start + rb->len, (int)dl->pid,
				strerror(-ret));
		return 0;
	}
	if (ret)
		return ret;
	rb->tracked = true;
	rb->track_failures = 0;
	ret = dl->ops->mark_new(dl, rb, lazy);
	if (ret)
		return ret;
	if (!lazy) {
		uint64_t t0 = colo_now_ns();

		ret = dl->ops->sync_clear(dl, rb);
		*in_clear += colo_now_ns() - t0;
	}
	return ret == -EPERM ? 0 : ret;
}

void dirty_log_mark_all(struct dirty_log *dl)
{
	bool lazy = dl->clear_mode == DIRTY_LOG_LAZY;

	for (size_t i = 0; i < dl->ram.nr_blocks; i++)
		ram_block_mark_dirty(dl->ram.blocks[i], 0,
				     dl->ram.blocks[i]->npages, lazy);
}

int dirty_log_sync(struct dirty_log *dl)
{
	bool lazy = dl->clear_mode == DIRTY_LOG_LAZY;
	uint64_t t0 = colo_now_ns(), in_clear = 0;
	int ret;

	ret = ram_list_refresh(&dl->ram);
	if (ret)
		return ret;
	for (size_t i = 0; i < dl->ram.nr_blocks; i++) {
		struct ram_block *rb = dl->ram.blocks[i];

		if (rb->tracked) {
			if (lazy) {
				ret = dl->ops->sync(dl, rb, true);
			} else {
				uint64_t tc = colo_now_ns();

				ret = dl->ops->sync_clear(dl, rb);
				in_clear += colo_now_ns() - tc;
			}
			if (ret != -EPERM) {
				if (ret)
					return ret;
				continue;
			}
			/* Part of the block was replaced by a mapping the log
			 * does not track: track and send it all again. */
			pr_debug("pid %d: block %s %" PRIx64 " was remapped; "
				 "resending it", (int)dl->pid, rb->name, rb->start);
			rb->tracked = false;
		}
		ret = track_block(dl, rb, &in_clear);
		if (ret)
			return ret;
	}
	dl->stats.syncs++;
	dl->stats.clear_ns += in_clear;
	dl->stats.sync_ns += colo_now_ns() - t0 - in_clear;
	return 0;
}

int dirty_log_forget(struct dirty_log *dl)
{
	for (size_t i = 0; i < dl->ram.nr_blocks; i++) {
		struct ram_block *rb = dl->ram.blocks[i];
		size_t nchunks = ram_block_nchunks(rb);

		if (dl->clear_mode == DIRTY_LOG_LAZY) {
			for (size_t c = find_next_bit(rb->clear_bmap, nchunks, 0);
			     c < nchunks;
			     c = find_next_bit(rb->clear_bmap, nchunks, c + 1)) {
				int ret = dirty_log_clear_chunk(dl, rb, c);

				if (ret)
					return ret;
			}
		}
		bitmap_clear(rb->bmap, 0, rb->npages);
		bitmap_clear(rb->clear_bmap, 0, nchunks);
	}
	return 0;
}

int dirty_log_forget_written(struct dirty_log *dl,
			     const struct ram_list *written)
{
	int ret;

	if (dl->clear_mode != DIRTY_LOG_LAZY) {
		ret = dirty_log_sync(dl);
		return ret ? ret : dirty_log_forget(dl);
	}
	ram_list_fold_marked(written, &dl->ram, true);
	return dirty_log_forget(dl);
}

int dirty_log_set_clear(struct dirty_log *dl, enum dirty_log_clear_mode mode,
			unsigned clear_bmap_shift)
{
	unsigned shift;

	if (clear_bmap_shift_clamp(clear_bmap_shift, &shift))
		pr_warn("clear_bitmap_shift %u is out of range %d..%d; using %u",
			clear_bmap_shift, CLEAR_BITMAP_SHIFT_MIN,
			CLEAR_BITMAP_SHIFT_MAX, shift);
	for (size_t i = 0; i < dl->ram.nr_blocks; i++) {
		struct ram_block *rb = dl->ram.blocks[i];
		int ret = ram_block_set_clear_shift(rb, shift);

		if (ret) {
			pr_err("out of memory resizing the clear_bmap of %s",
			       rb->name);
			return ret;
		}
		/* monolithic: pending pages were re-armed when synced */
		if (mode == DIRTY_LOG_MONOLITHIC)
			bitmap_clear(rb->clear_bmap, 0, ram_block_nchunks(rb));
	}
	dl->ram.clear_bmap_shift = shift;
	dl->clear_mode = mode;
	return 0;
}

/*
 * A clear that finds part of its range no longer tracked (the guest put a
 * new mapping there: -ENOENT per run, -EPERM for a walk) leaves those
 * pages in bmap and unprotected; the next sync re-tracks the block and
 * sends it whole. Nothing is lost, so the pass goes on.
 */
static int clear_result(struct dirty_log *dl, struct ram_block *rb, int ret)
{
	if (ret == -ENOENT || ret == -EPERM) {
		pr_debug("pid %d: clear of %s %" PRIx64 ": part of it is no longer "
			 "tracked; it is resent whole after the next sync",
			 (int)dl->pid, rb->name, rb->start);
		return 0;
	}
	(void)dl;
	return ret;
}

int dirty_log_clear_pages(struct dirty_log *dl, struct ram_block *rb,
			  size_t first, size_t npages)
{
	uint64_t t0 = colo_now_ns();
	int ret;

	ret = dl->ops->clear(dl, rb, first, npages);
	dl->stats.clear_calls++;
	dl->stats.clear_ns += colo_now_ns() - t0;
	return clear_result(dl, rb, ret);
}

/*
 * Re-arm the chunk without dropping a write no bitmap recorded. Two ways:
 *
 *   per run   one UFFDIO_WRITEPROTECT per run of pages bmap holds (the
 *             analogue of KVM_CLEAR_DIRTY_LOG, which takes a bitmap): a
 *             page written after the sync but not recorded stays visible
 *             to the next sync. Costs one kernel call per run.
 *   span scan one WP_MATCHING walk from the first to the last pending page:
 *             re-protects every written page there, recorded or not, and
 *             reports them; they are marked in bmap before anything is
 *             read, so none is lost. Costs a walk of the span.
 *
 * The cheaper is picked per chunk: a call costs about as much as walking
 * CLEAR_SCAN_PAGES_PER_CALL pages (measured with the dirty-log benchmark
 * on this machine kind: ~1 us per call, ~2 ns per page walked).
 * FI_CLEAR_UNRECORDED re-protects the whole chunk per run instead: wrong.
 */
int dirty_log_clear_chunk(struct dirty_log *dl, struct ram_block *rb,
			  size_t chunk)
{
	size_t first, npages, end, p, span_first, span_end = 0, runs = 0;
	uint64_t t0;
	int ret = 0;

	ram_block_chunk_range(rb, chunk, &first, &npages);
	end = first + npages;
	span_first = find_next_bit(rb->bmap, end, first);
	if (span_first >= end)
		return 0;		/* nothing recorded: nothing to re-arm */
	dl->stats.chunks_cleared++;
	if (fault_injected(FI_CLEAR_UNRECORDED))
		return dirty_log_clear_pages(dl, rb, first, npages);

	for (p = span_first; p < end; p = find_next_bit(rb->bmap, end, p)) {
		p = find_next_zero_bit(rb->bmap, end, p);
		span_end = p;
		runs++;
	}
	if (runs > 1 && span_end - span_first <= runs * CLEAR_SCAN_PAGES_PER_CALL) {
		t0 = colo_now_ns();
		ret = dl->ops->clear_scan(dl, rb, span_first, span_end - span_first);
		dl->stats.clear_calls++;
		dl->stats.clear_ns += colo_now_ns() - t0;
		return clear_result(dl, rb, ret);
	}
	for (p = span_first; p < end; p = find_next_bit(rb->bmap, end, p)) {
		size_t q = find_next_zero_bit(rb->bmap, end, p);

		ret = dirty_log_clear_pages(dl, rb, p, q - p);
		if (ret)
			return ret;
		p = q;
	}
	return 0;
}
