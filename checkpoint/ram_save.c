/*
 * ram_save.c - send the dirty pages of every block, clearing lazily.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define LOG_PREFIX "ram-save: "
#include "log.h"
#include "bitmap.h"
#include "fault.h"
#include "ram_save.h"

int ram_save_init(struct ram_save *rs, struct dirty_log *dl)
{
	size_t bytes = RAM_SAVE_BATCH_PAGES * dl->ram.page_size;

	memset(rs, 0, sizeof(*rs));
	rs->dl = dl;
	rs->buf = aligned_alloc(dl->ram.page_size, bytes);
	if (!rs->buf) {
		pr_err("out of memory for a %zu KiB read buffer", bytes >> 10);
		return -ENOMEM;
	}
	return 0;
}

void ram_save_destroy(struct ram_save *rs)
{
	free(rs->buf);
	rs->buf = NULL;
}

/* Bytes queued from run i (at byte offset off within it) to the end. */
static size_t queued_bytes_from(const struct ram_save *rs, size_t i,
				size_t off)
{
	size_t sum = 0;

	for (size_t k = i; k < rs->nr_remote; k++)
		sum += rs->remote[k].iov_len;
	return sum - off;
}

/*
 * FI_CLEAR_AFTER_READ: re-arm the pages just read. This is the wrong
 * order on purpose: a write between the read and this clear is lost.
 */
static void clear_after_read(struct ram_save *rs)
{
	for (size_t i = 0; i < rs->nr_remote; i++) {
		struct ram_block *rb = rs->remote_rb[i];
		uint64_t addr = (uintptr_t)rs->remote[i].iov_base;

		dirty_log_clear_pages(rs->dl, rb,
				      (addr - rb->start) / rb->page_size,
				      rs->remote[i].iov_len / rb->page_size);
	}
}

/* process_vm_readv of the queued runs from run i, byte off, into at. */
static ssize_t read_from(struct ram_save *rs, size_t i, size_t off,
			 unsigned char *at)
{
	struct iovec saved = rs->remote[i];
	struct iovec local = { at, queued_bytes_from(rs, i, off) };
	uint64_t t0 = dirty_log_now_ns();
	ssize_t n;

	rs->remote[i].iov_base = (char *)saved.iov_base + off;
	rs->remote[i].iov_len = saved.iov_len - off;
	if (fault_fire(FI_GUEST_READ_FAIL)) {
		errno = EIO;
		n = -1;
	} else {
		n = process_vm_readv(rs->dl->pid, &local, 1, &rs->remote[i],
				     rs->nr_remote - i, 0);
	}
	rs->remote[i] = saved;
	rs->stats.reads++;
	rs->stats.read_ns += dirty_log_now_ns() - t0;
	return n < 0 ? -errno : n;
}

/*
 * Put queued runs from run i, byte off, back into bmap: they were taken
 * out (and their chunks re-armed) but never reached the sink. Marked
 * lazily, so their chunks are cleared again before the next read.
 */
static void requeue(struct ram_save *rs, size_t i, size_t off)
{
	bool lazy = rs->dl->clear_mode == DIRTY_LOG_LAZY;

	for (; i < rs->nr_remote; i++, off = 0) {
		struct ram_block *rb = rs->remote_rb[i];
		uint64_t addr = (uintptr_t)rs->remote[i].iov_base + off;

		ram_block_mark_dirty(rb, (addr - rb->start) / rb->page_size,
				     (rs->remote[i].iov_len - off) / rb->page_size,
				     lazy);
	}
}

static void forget_queue(struct ram_save *rs)
{
	rs->nr_remote = 0;
	rs->queued_pages = 0;
}

/*
 * Read every queued run with as few process_vm_readv calls as the guest
 * allows, and hand each run to the sink. A read stops at the first page
 * the guest cannot be read at any more (unmapped, or made inaccessible,
 * while it ran after the sync): that page goes back into bmap, so it is
 * tried again next pass (or dropped with its block at the next sync), and
 * the read resumes after it. On an error, what was not handed on goes
 * back into bmap: an aborted pass loses no page.
 */
static int flush(struct ram_save *rs, struct page_sink *sink)
{
	size_t page_size = rs->dl->ram.page_size;
	unsigned char *at = rs->buf;	/* buffer offset == queue offset */
	size_t i = 0, off = 0;		/* read position: run i, byte off */
	int ret = 0;

	while (i < rs->nr_remote) {
		ssize_t n = read_from(rs, i, off, at);
		bool vanished = false;

		if (n == -EINTR)
			continue;
		if (n == -EFAULT || n == 0) {
			struct ram_block *rb = rs->remote_rb[i];
			uint64_t addr = (uintptr_t)rs->remote[i].iov_base + off;

			ram_block_mark_dirty(rb, (addr - rb->start) / page_size, 1,
					     rs->dl->clear_mode == DIRTY_LOG_LAZY);
			vanished = true;
			n = (ssize_t)page_size;
			rs->stats.pages_vanished++;
		} else if (n < 0) {
			ret = (int)n;
			pr_err("process_vm_readv of pid %d: %s; is the guest "
			       "still running?", (int)rs->dl->pid,
			       strerror((int)-n));
			goto out;
		} else {
			n -= n % (ssize_t)page_size;
		}
		while (n > 0) {
			size_t take = rs->remote[i].iov_len - off;

			if ((size_t)n < take)
				take = (size_t)n;
			if (!vanished) {
				ret = sink->ops->save_pages(sink, rs->remote_rb[i],
						(uintptr_t)rs->remote[i].iov_base + off,
						at, take);
				if (ret)
					goto out;
				rs->stats.pages_sent += take / page_size;
			}
			at += take;
			off += take;
			n -= (ssize_t)take;
			if (off == rs->remote[i].iov_len) {
				i++;
				off = 0;
			}
		}
	}
	if (sink->ops->end_batch) {
		ret = sink->ops->end_batch(sink);
		if (ret) {		/* the whole batch goes back */
			i = 0;
			off = 0;
		}
	}
out:
	if (ret)
		requeue(rs, i, off);
	if (fault_injected(FI_CLEAR_AFTER_READ))
		clear_after_read(rs);
	forget_queue(rs);
	return ret;
}

static void queue(struct ram_save *rs, struct ram_block *rb,
		  size_t page, size_t npages)
{
	uint64_t addr = ram_block_page_addr(rb, page);
	size_t len = npages * rb->page_size;
	struct iovec *last = rs->nr_remote ? &rs->remote[rs->nr_remote - 1] :
					     NULL;

	rs->queued_pages += npages;
	if (last && rs->remote_rb[rs->nr_remote - 1] == rb &&
	    (uintptr_t)last->iov_base + last->iov_len == addr) {
		last->iov_len += len;
		return;
	}
	rs->remote[rs->nr_remote].iov_base = (void *)(uintptr_t)addr;
	rs->remote[rs->nr_remote].iov_len = len;
	rs->remote_rb[rs->nr_remote] = rb;
	rs->nr_remote++;
}

/*
 * Take the pages of one block from page first on, at most *budget of
 * them: for each run of set bits, within one chunk at a time, clear the
 * chunk first (if its clear_bmap bit is set), then take the pages out of
 * bmap and queue them for reading. Returns the page it stopped at
 * (npages when the block is done), or a negative errno.
 */
static ssize_t save_block(struct ram_save *rs, struct ram_block *rb,
			  struct page_sink *sink, size_t first, size_t *budget)
{
	bool lazy = rs->dl->clear_mode == DIRTY_LOG_LAZY;
	size_t page = find_next_bit(rb->bmap, rb->npages, first);
	int ret;

	while (page < rb->npages && *budget) {
		size_t chunk = ram_block_chunk_of(rb, page);
		size_t chunk_first, chunk_pages, run_end, n;

		/* an untracked block has no log to re-arm */
		if (lazy && clear_bmap_test_and_clear(rb, page) && rb->tracked &&
		    !fault_injected(FI_CLEAR_AFTER_READ)) {
			ret = dirty_log_clear_chunk(rs->dl, rb, chunk);
			if (ret) {
				set_bit(chunk, rb->clear_bmap);
				return ret;
			}
		}
		ram_block_chunk_range(rb, chunk, &chunk_first, &chunk_pages);
		run_end = find_next_zero_bit(rb->bmap, chunk_first + chunk_pages,
					     page);
		n = run_end - page;
		if (n > RAM_SAVE_BATCH_PAGES - rs->queued_pages)
			n = RAM_SAVE_BATCH_PAGES - rs->queued_pages;
		if (n > *budget)
			n = *budget;
		bitmap_clear(rb->bmap, page, n);
		queue(rs, rb, page, n);
		*budget -= n;
		if (rs->queued_pages == RAM_SAVE_BATCH_PAGES ||
		    rs->nr_remote == RAM_SAVE_BATCH_PAGES) {
			ret = flush(rs, sink);
			if (ret)
				return ret;
		}
		page = find_next_bit(rb->bmap, rb->npages, page + n);
	}
	return (ssize_t)page;
}

/* From the cursor on, at most max_pages; a full walk ends the pass. */
static int save_from_cursor(struct ram_save *rs, struct page_sink *sink,
			    size_t max_pages, bool *pass_done)
{
	struct ram_list *rl = &rs->dl->ram;
	size_t budget = max_pages;
	int ret = 0;

	*pass_done = false;
	while (budget) {
		struct ram_block *rb = ram_list_block_at_or_after(rl, rs->cursor);
		size_t first;
		ssize_t stop;

		if (!rb) {
			*pass_done = true;
			rs->cursor = 0;
			rs->stats.passes++;
			break;
		}
		first = rs->cursor > rb->start ?
			(rs->cursor - rb->start) / rb->page_size : 0;
		stop = save_block(rs, rb, sink, first, &budget);
		if (stop < 0) {
			ret = (int)stop;
			break;
		}
		rs->cursor = ram_block_page_addr(rb, (size_t)stop);
	}
	if (!ret) {
		ret = flush(rs, sink);
	} else {
		requeue(rs, 0, 0);	/* queued, never read */
		forget_queue(rs);
	}
	return ret;
}

int ram_save_step(struct ram_save *rs, struct page_sink *sink,
		  size_t max_pages, bool *pass_done)
{
	return save_from_cursor(rs, sink, max_pages, pass_done);
}

int ram_save_pass(struct ram_save *rs, struct page_sink *sink)
{
	bool done;

	rs->cursor = 0;
	return save_from_cursor(rs, sink, SIZE_MAX, &done);
}
