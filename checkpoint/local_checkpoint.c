/*
 * local_checkpoint.c - guest A into guest B, on one host.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define LOG_PREFIX "local-checkpoint: "
#include "log.h"
#include "bitmap.h"
#include "fault.h"
#include "layout.h"
#include "local_checkpoint.h"

static int write_into_b(struct page_sink *sink, const struct ram_block *rb,
			uint64_t addr, const void *data, size_t len)
{
	struct b_sink *s = (struct b_sink *)sink;

	(void)rb;
	if (s->nr == RAM_SAVE_BATCH_PAGES)	/* cannot happen: one run a page at least */
		return -E2BIG;
	s->local[s->nr].iov_base = (void *)data;
	s->local[s->nr].iov_len = len;
	s->remote[s->nr].iov_base = (void *)(uintptr_t)addr;
	s->remote[s->nr].iov_len = len;
	s->nr++;
	return 0;
}

/*
 * Pages B may not write itself (A wrote them, then made them read-only)
 * are written through /proc/PID/mem, which may, as a debugger does.
 */
static int write_batch_forced(struct b_sink *s)
{
	if (s->mem_fd < 0) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/mem", (int)s->pid);
		s->mem_fd = open(path, O_RDWR | O_CLOEXEC);
		if (s->mem_fd < 0) {
			pr_err("cannot open %s: %s", path, strerror(errno));
			return -errno;
		}
	}
	for (size_t i = 0; i < s->nr; i++) {
		ssize_t n = pwrite(s->mem_fd, s->local[i].iov_base,
				   s->local[i].iov_len,
				   (off_t)(uintptr_t)s->remote[i].iov_base);

		if (n != (ssize_t)s->local[i].iov_len) {
			pr_err("writing %zu bytes at %p into pid %d: %s",
			       s->local[i].iov_len, s->remote[i].iov_base,
			       (int)s->pid,
			       n < 0 ? strerror(errno) : "short write (a page it lacks)");
			return n < 0 ? -errno : -EFAULT;
		}
	}
	return 0;
}

/* One process_vm_writev for the whole batch. */
static int write_batch(struct page_sink *sink)
{
	struct b_sink *s = (struct b_sink *)sink;
	size_t want = 0;
	ssize_t n;
	int ret = 0;

	for (size_t i = 0; i < s->nr; i++)
		want += s->local[i].iov_len;
	n = process_vm_writev(s->pid, s->local, s->nr, s->remote, s->nr, 0);
	if (n != (ssize_t)want)
		ret = write_batch_forced(s);	/* read-only pages among them */
	s->nr = 0;
	if (!ret)
		s->pages += want / s->page_size;
	return ret;
}

static const struct page_sink_ops b_sink_ops = {
	.save_pages = write_into_b,
	.end_batch = write_batch,
};

static int open_log(struct guest *g, const struct local_checkpoint_params *p,
		    struct dirty_log **dl)
{
	struct dirty_log_params dp = {
		.kind = p->kind,
		.clear_mode = p->clear_mode,
		.clear_bmap_shift = p->clear_bmap_shift,
		.guest_uffd = COLO_GUEST_UFFD_FD,
	};
	int ret = dirty_log_open(dl, g->pid, &dp);

	if (ret)
		return ret;
	/* the runtime's own mapping is not the guest's RAM */
	return ram_list_add_hole(&(*dl)->ram, g->hello.private_base,
				 g->hello.private_base + g->hello.private_len);
}

int local_checkpoint_init(struct local_checkpoint *lc, struct guest *a,
			  struct guest *b,
			  const struct local_checkpoint_params *p)
{
	int ret;

	memset(lc, 0, sizeof(*lc));
	lc->a = a;
	lc->b = b;
	lc->params = *p;
	lc->to_b.sink.ops = &b_sink_ops;
	lc->to_b.pid = b->pid;
	lc->to_b.page_size = (size_t)sysconf(_SC_PAGESIZE);
	lc->to_b.mem_fd = -1;
	ret = open_log(a, p, &lc->dla);
	if (!ret)
		ret = open_log(b, p, &lc->dlb);
	if (!ret)
		ret = ram_save_init(&lc->rs, lc->dla);
	if (ret)
		local_checkpoint_destroy(lc);
	return ret;
}

void local_checkpoint_destroy(struct local_checkpoint *lc)
{
	if (lc->to_b.mem_fd >= 0)
		close(lc->to_b.mem_fd);
	lc->to_b.mem_fd = -1;
	if (lc->rs.buf)
		ram_save_destroy(&lc->rs);
	dirty_log_close(lc->dla);
	dirty_log_close(lc->dlb);
	lc->dla = lc->dlb = NULL;
}

static uint64_t count_dirty(const struct dirty_log *dl)
{
	uint64_t n = 0;

	for (size_t i = 0; i < dl->ram.nr_blocks; i++)
		n += bitmap_count_one(dl->ram.blocks[i]->bmap,
				      dl->ram.blocks[i]->npages);
	return n;
}

/* The block of rl holding addr, or the first one after it (or NULL). */
static struct ram_block *block_at_or_after(const struct ram_list *rl,
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

/*
 * Pages B wrote must be overwritten from A too: mark them in A's bmap.
 * A is stopped and synced, so A's log holds no unrecorded write, and the
 * chunks these pages sit in need no clear on A's side for them.
 */
static void fold_dirty(const struct dirty_log *from, struct dirty_log *into)
{
	for (size_t i = 0; i < from->ram.nr_blocks; i++) {
		const struct ram_block *fb = from->ram.blocks[i];
		size_t p = find_next_bit(fb->bmap, fb->npages, 0);

		while (p < fb->npages) {
			size_t q = find_next_zero_bit(fb->bmap, fb->npages, p);
			uint64_t s = ram_block_page_addr(fb, p);
			uint64_t e = ram_block_page_addr(fb, q);

			while (s < e) {
				struct ram_block *rb = block_at_or_after(&into->ram, s);
				uint64_t end;

				if (!rb || rb->start >= e)
					break;
				if (rb->start > s)
					s = rb->start;
				end = rb->start + rb->len < e ? rb->start + rb->len : e;
				ram_block_mark_dirty(rb, (s - rb->start) / rb->page_size,
						     (end - s) / rb->page_size, false);
				s = end;
			}
			p = find_next_bit(fb->bmap, fb->npages, q);
		}
	}
}

/* Undo a stop: A (and B if asked) run on from where they stopped. */
static void resume_after_failure(struct local_checkpoint *lc, bool b_too)
{
	if (guest_continue(lc->a))
		pr_err("%s could not be resumed after a failed checkpoint",
		       lc->a->name);
	if (b_too && guest_continue(lc->b))
		pr_err("%s could not be resumed after a failed checkpoint",
		       lc->b->name);
}

/* Step 2 -- refuse guests that are not (or no longer) copies of each
 *           other, before anything is changed; then make B's RAM layout
 *           A's. Checked at every checkpoint: a guest that maps a new
 *           file or shared memory after its start leaves its replica
 *           behind for good. */
static int mirror(struct local_checkpoint *lc)
{
	struct colo_guest_layout gla;
	struct layout la, lb;
	int ret;

	ret = guest_layout(lc->a, &gla);
	if (ret)
		return ret;
	ret = layout_read(lc->a->pid, &la);
	if (ret)
		return ret;
	ret = layout_read(lc->b->pid, &lb);
	if (!ret) {
		ret = layout_compatible(lc->a->name, &la, lc->b->name, &lb);
		layout_free(&lb);
	}
	if (!ret)
		ret = layout_mirror(&la, gla.brk, lc->b,
				    &lc->stats.layout_commands);
	layout_free(&la);
	return ret;
}

/*
 * A failure once B has been changed (its layout mirrored, pages written)
 * leaves B neither its old self nor a copy of A: it stays paused, and the
 * pair is broken until the caller discards B.
 */
static int fail(struct local_checkpoint *lc, int ret, bool b_changed)
{
	resume_after_failure(lc, !b_changed);
	if (b_changed) {
		lc->b_lost = true;
		pr_err("%s was changed by a checkpoint that failed (%s); it stays "
		       "paused and must be discarded", lc->b->name,
		       strerror(-ret));
	}
	return ret;
}

int local_checkpoint_run(struct local_checkpoint *lc)
{
	struct local_checkpoint_stats *st = &lc->stats;
	uint64_t t0 = dirty_log_now_ns(), t;
	int ret;

	if (lc->b_lost) {
		pr_err("%s was left half-changed by a failed checkpoint; discard "
		       "it and start a new replica", lc->b->name);
		return -ESTALE;
	}
	/* Step 1 -- stop both at an event boundary */
	ret = guest_stop(lc->a, lc->params.stop_timeout_ms);
	if (ret)
		return ret;
	ret = guest_stop(lc->b, lc->params.stop_timeout_ms);
	if (ret) {
		resume_after_failure(lc, false);
		return ret;
	}
	t = dirty_log_now_ns();
	st->stop_ns = t - t0;

	/* Step 2 -- B's layout becomes A's */
	st->layout_commands = 0;
	ret = mirror(lc);
	if (ret)
		return fail(lc, ret, st->layout_commands > 0);
	st->mirror_ns = dirty_log_now_ns() - t;
	t = dirty_log_now_ns();

	/* Step 3 -- what to copy: pages dirty in A or in B */
	ret = dirty_log_sync(lc->dlb);
	if (!ret)
		ret = dirty_log_sync(lc->dla);
	if (ret)
		return fail(lc, ret, st->layout_commands > 0);
	st->pages_dirty_a = count_dirty(lc->dla);
	st->pages_dirty_b = count_dirty(lc->dlb);
	if (!fault_injected(FI_LOCAL_NO_FOLD))
		fold_dirty(lc->dlb, lc->dla);
	st->sync_ns = dirty_log_now_ns() - t;
	t = dirty_log_now_ns();

	/* Step 4 -- copy, clearing A's log lazily before each read */
	lc->to_b.pages = 0;
	ret = ram_save_pass(&lc->rs, &lc->to_b.sink);
	st->pages_copied = lc->to_b.pages;
	st->copy_ns = dirty_log_now_ns() - t;
	if (!ret && lc->hook)
		ret = lc->hook(lc, lc->hook_opaque);
	if (ret)
		return fail(lc, ret, true);

	/* Step 5 -- A runs on */
	t = dirty_log_now_ns();
	ret = guest_continue(lc->a);
	st->resume_ns = dirty_log_now_ns() - t;
	st->pause_ns = dirty_log_now_ns() - t0;
	if (ret)
		return fail(lc, ret, true);
	lc->copied_once = true;

	/* Step 6 -- B: re-arm its log over what we wrote, its own TID back,
	 *           and on from A's context */
	t = dirty_log_now_ns();
	ret = dirty_log_sync(lc->dlb);
	if (!ret)
		ret = dirty_log_forget(lc->dlb);
	if (!ret)
		ret = guest_cmd(lc->b, GUEST_CMD_SET_TID, NULL, NULL, NULL, 0);
	if (!ret)
		ret = guest_continue(lc->b);
	st->rearm_ns = dirty_log_now_ns() - t;
	if (ret)
		return fail(lc, ret, true);
	st->checkpoints++;
	return 0;
}

static int read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };

	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ?
	       0 : -EIO;
}

int local_checkpoint_compare(struct local_checkpoint *lc,
			     struct local_checkpoint_compare *out)
{
	size_t chunk = RAM_SAVE_BATCH_PAGES * lc->dla->ram.page_size;
	struct layout la, lb;
	unsigned char *ba, *bb;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = layout_read(lc->a->pid, &la);
	if (ret)
		return ret;
	ret = layout_read(lc->b->pid, &lb);
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
	for (size_t i = 0; i < lc->dla->ram.nr_blocks; i++) {
		const struct ram_block *rb = lc->dla->ram.blocks[i];
		size_t ps = rb->page_size;

		for (uint64_t at = rb->start; at < rb->start + rb->len; at += chunk) {
			size_t len = rb->start + rb->len - at < chunk ?
				     (size_t)(rb->start + rb->len - at) : chunk;
			bool b_ok;

			ret = read_mem(lc->a->pid, at, ba, len);
			if (ret) {
				pr_err("cannot read %s at %#" PRIx64, lc->a->name, at);
				goto out;
			}
			b_ok = read_mem(lc->b->pid, at, bb, len) == 0;
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
