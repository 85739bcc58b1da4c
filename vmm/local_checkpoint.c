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
	return guest_writer_add(&s->w, addr, data, len);
}

static int write_batch(struct page_sink *sink)
{
	struct b_sink *s = (struct b_sink *)sink;

	return guest_writer_flush(&s->w);
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
	guest_writer_init(&lc->to_b.w, b->pid, (size_t)sysconf(_SC_PAGESIZE));
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
	guest_writer_destroy(&lc->to_b.w);
	if (lc->rs.buf)
		ram_save_destroy(&lc->rs);
	dirty_log_close(lc->dla);
	dirty_log_close(lc->dlb);
	lc->dla = lc->dlb = NULL;
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
	lc->a_clock_ms = gla.clock_ms;
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
	st->pages_dirty_a = ram_list_count_dirty(&lc->dla->ram);
	st->pages_dirty_b = ram_list_count_dirty(&lc->dlb->ram);
	/* B's own writes must be overwritten from A too. A is stopped and
	 * synced, so its log holds no unrecorded write, and the chunks these
	 * pages sit in need no clear on A's side for them. */
	if (!fault_injected(FI_LOCAL_NO_FOLD))
		ram_list_fold_dirty(&lc->dlb->ram, &lc->dla->ram);
	st->sync_ns = dirty_log_now_ns() - t;
	t = dirty_log_now_ns();

	/* Step 4 -- copy, clearing A's log lazily before each read */
	lc->to_b.w.pages = 0;
	ret = ram_save_pass(&lc->rs, &lc->to_b.sink);
	st->pages_copied = lc->to_b.w.pages;
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
	 *           and on from A's context at A's clock (A's context holds
	 *           deadlines on A's clock: its timers' next tick) */
	t = dirty_log_now_ns();
	ret = dirty_log_sync(lc->dlb);
	if (!ret)
		ret = dirty_log_forget(lc->dlb);
	if (!ret)
		ret = guest_cmd(lc->b, GUEST_CMD_SET_TID, NULL, NULL, NULL, 0);
	if (!ret)
		ret = guest_continue_at(lc->b, lc->a_clock_ms);
	st->rearm_ns = dirty_log_now_ns() - t;
	if (ret)
		return fail(lc, ret, true);
	st->checkpoints++;
	return 0;
}

int local_checkpoint_compare(struct local_checkpoint *lc,
			     struct guest_compare *out)
{
	return guest_compare(lc->a->pid, lc->b->pid, &lc->dla->ram, out);
}
