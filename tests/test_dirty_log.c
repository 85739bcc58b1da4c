/*
 * test_dirty_log.c - the dirty log and lazy chunked clearing on a real,
 * running process.
 *
 * The copy end is tests/lib/image.c; the tracked process is tests/tracked_child.
 * Every test ends by comparing the copy with the process's memory, byte by
 * byte, after a final round with the process stopped.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>

#include "bitmap.h"
#include "child.h"
#include "dirty_log.h"
#include "fault.h"
#include "image.h"
#include "log.h"
#include "ram_save.h"

struct fixture {
	struct child child;
	struct dirty_log *dl;
	struct ram_save rs;
	struct image im;
	uint64_t region;	/* the child's working region */
	size_t region_bytes;
	size_t page_size;
};

/*
 * Fixtures still alive when a test fails (an assertion jumps out of it)
 * are freed by the teardown, so no tracked child outlives its test.
 */
#define MAX_LIVE	4
static struct fixture *live[MAX_LIVE];

static struct fixture *fixture_new(size_t region_bytes,
				   enum dirty_log_kind kind,
				   enum dirty_log_clear_mode mode,
				   unsigned shift)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct dirty_log_params p = {
		.kind = kind,
		.clear_mode = mode,
		.clear_bmap_shift = shift,
	};

	assert_non_null(f);
	for (int i = 0; i < MAX_LIVE; i++) {
		if (!live[i]) {
			live[i] = f;
			break;
		}
	}
	f->page_size = (size_t)sysconf(_SC_PAGESIZE);
	assert_int_equal(child_spawn(&f->child), 0);
	assert_int_equal(child_cmd(&f->child, "region %zu", region_bytes), 0);
	f->region = child_reply_addr(&f->child);
	f->region_bytes = region_bytes;
	p.guest_uffd = f->child.uffd;
	assert_int_equal(dirty_log_open(&f->dl, f->child.pid, &p), 0);
	assert_int_equal(ram_save_init(&f->rs, f->dl), 0);
	assert_int_equal(image_init(&f->im, f->page_size), 0);
	return f;
}

static void fixture_free(struct fixture *f)
{
	for (int i = 0; i < MAX_LIVE; i++)
		if (live[i] == f)
			live[i] = NULL;
	fault_inject(FI_NONE);
	image_destroy(&f->im);
	ram_save_destroy(&f->rs);
	dirty_log_close(f->dl);
	child_kill(&f->child);
	free(f);
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < MAX_LIVE; i++)
		if (live[i])
			fixture_free(live[i]);
	log_set_hook(NULL, NULL);
	log_set_quiet(0);
	return 0;
}

static void round_trip(struct fixture *f)
{
	assert_int_equal(dirty_log_sync(f->dl), 0);
	assert_int_equal(ram_save_pass(&f->rs, &f->im.sink), 0);
}

/* Final round with the child stopped, then compare; returns bad pages. */
static long final_compare(struct fixture *f, uint64_t *first_bad)
{
	long bad;

	assert_int_equal(child_freeze(&f->child), 0);
	round_trip(f);
	bad = image_compare(&f->im, f->child.pid, first_bad);
	assert_true(bad >= 0);
	assert_int_equal(child_thaw(&f->child), 0);
	return bad;
}

static struct ram_block *block_of(struct fixture *f, uint64_t addr,
				  size_t *page)
{
	for (size_t i = 0; i < f->dl->ram.nr_blocks; i++) {
		struct ram_block *rb = f->dl->ram.blocks[i];

		if (addr >= rb->start && addr < rb->start + rb->len) {
			*page = (addr - rb->start) / rb->page_size;
			return rb;
		}
	}
	return NULL;
}

/* Pages of the blocks that are not file mappings: a first copy takes
 * them all (of file mappings, only the pages the process wrote). */
static uint64_t anon_pages(const struct dirty_log *dl)
{
	uint64_t n = 0;

	for (size_t i = 0; i < dl->ram.nr_blocks; i++)
		if (!dl->ram.blocks[i]->file)
			n += dl->ram.blocks[i]->npages;
	return n;
}

/* A write into the child from outside, as a device or the kernel would. */
static void poke(struct fixture *f, uint64_t addr, uint64_t value)
{
	struct iovec local = { &value, sizeof(value) };
	struct iovec remote = { (void *)(uintptr_t)addr, sizeof(value) };

	assert_int_equal(process_vm_writev(f->child.pid, &local, 1, &remote, 1, 0),
			 sizeof(value));
}

/* --- copying a process that keeps writing ------------------------------ */

struct copy_case {
	enum dirty_log_kind kind;
	enum dirty_log_clear_mode mode;
	unsigned shift;
	bool cycle;		/* change mode and chunk size every round */
	enum colo_fault fault;	/* a wrong ordering the test must catch */
	bool stepped;		/* send in small steps, as while a guest runs */
};

static const struct copy_case lazy6 = { DIRTY_LOG_UFFD_WP, DIRTY_LOG_LAZY, 6, false, FI_NONE, false };
static const struct copy_case lazy12 = { DIRTY_LOG_UFFD_WP, DIRTY_LOG_LAZY, 12, false, FI_NONE, false };
static const struct copy_case lazy18 = { DIRTY_LOG_UFFD_WP, DIRTY_LOG_LAZY, 18, false, FI_NONE, false };
static const struct copy_case mono = { DIRTY_LOG_UFFD_WP, DIRTY_LOG_MONOLITHIC, 18, false, FI_NONE, false };
static const struct copy_case full = { DIRTY_LOG_FULL, DIRTY_LOG_LAZY, 6, false, FI_NONE, false };
static const struct copy_case cycling = { DIRTY_LOG_UFFD_WP, DIRTY_LOG_LAZY, 6, true, FI_NONE, false };
static const struct copy_case after_read6 = { DIRTY_LOG_UFFD_WP, DIRTY_LOG_LAZY, 6, false, FI_CLEAR_AFTER_READ, false };
static const struct copy_case after_read18 = { DIRTY_LOG_UFFD_WP, DIRTY_LOG_LAZY, 18, false, FI_CLEAR_AFTER_READ, false };
static const struct copy_case unrecorded6 = { DIRTY_LOG_UFFD_WP, DIRTY_LOG_LAZY, 6, false, FI_CLEAR_UNRECORDED, false };
static const struct copy_case stepped6 = { DIRTY_LOG_UFFD_WP, DIRTY_LOG_LAZY, 6, false, FI_NONE, true };
static const struct copy_case unrecorded18 = { DIRTY_LOG_UFFD_WP, DIRTY_LOG_LAZY, 18, false, FI_CLEAR_UNRECORDED, false };

#define COPY_REGION	(16u << 20)
#define COPY_ROUNDS	25

/* End a run; the child's count of writes since it started. */
static unsigned long long child_stop(struct fixture *f)
{
	unsigned long long writes;

	assert_int_equal(child_cmd(&f->child, "stop"), 0);
	assert_int_equal(sscanf(f->child.reply, "ok %llu", &writes), 1);
	return writes;
}

/* Image hook: the first time pages of the region arrive, the child
 * writes many region pages, some of them in the batch just read. */
struct write_in_batch {
	struct fixture *f;
	int done;
};

static void child_writes_in_batch(struct image *im, uint64_t addr, size_t len,
				  void *opaque)
{
	struct write_in_batch *wb = opaque;
	struct fixture *f = wb->f;

	(void)im;
	(void)len;
	if (wb->done || addr < f->region || addr >= f->region + f->region_bytes)
		return;
	assert_int_equal(child_cmd(&f->child, "dirty 1000 7 rand"), 0);
	wb->done = 1;
}

/*
 * The child writes random pages of its region without pause, and maps,
 * unmaps and grows its heap, on the other core, while we run rounds of
 * sync + send. Writes land everywhere in the timeline: before a sync,
 * between a sync and the clear of their chunk, between the clear and the
 * read, after the read. After a last round with the child stopped, the
 * copy must equal the child's memory byte for byte.
 *
 * A lost write shows only if nothing rewrites the page before the end, and
 * the running writer rewrites every page every few milliseconds; where it
 * lands also depends on the scheduler. So after the running rounds the
 * child, now writing on command, writes exactly inside the two windows the
 * ordering rules protect:
 *   A  between the read of a batch and the next step (a late clear would
 *      re-protect the batch after the writes: FI_CLEAR_AFTER_READ);
 *   B  between a sync and the clears of the send that follows (a clear of
 *      the whole chunk would re-protect the unrecorded writes:
 *      FI_CLEAR_UNRECORDED).
 * With a fault injected the test must find bad pages; without, none.
 */
static void test_copy_running_process(void **state)
{
	const struct copy_case *cc = *state;
	struct fixture *f = fixture_new(COPY_REGION, cc->kind, cc->mode, cc->shift);
	struct write_in_batch wb = { f, 0 };
	uint64_t ram_pages, incremental = 0, first_bad;
	unsigned long long writes;
	long bad;

	round_trip(f);		/* the first copy: all but unwritten file pages */
	ram_pages = anon_pages(f->dl);
	assert_true(f->rs.stats.pages_sent >= ram_pages);
	fault_inject(cc->fault);

	assert_int_equal(child_cmd(&f->child, "run 42 churn"), 0);
	for (int r = 0; r < COPY_ROUNDS; r++) {
		static const unsigned shifts[] = { 6, 12, 18, 9 };
		uint64_t before = f->rs.stats.pages_sent;

		/* A gap, as between checkpoints: the child, woken by our
		 * pipe write, may sit on our core until we block. */
		usleep(2000);
		if (cc->cycle)
			assert_int_equal(dirty_log_set_clear(f->dl,
				r % 5 == 4 ? DIRTY_LOG_MONOLITHIC : DIRTY_LOG_LAZY,
				shifts[r % 4]), 0);
		if (cc->stepped) {	/* a pass in steps of 97 pages */
			bool done = false;

			assert_int_equal(dirty_log_sync(f->dl), 0);
			while (!done)
				assert_int_equal(ram_save_step(&f->rs, &f->im.sink,
							       97, &done), 0);
		} else {
			round_trip(f);
		}
		incremental += f->rs.stats.pages_sent - before;
	}
	writes = child_stop(f);

	/* window A: every region page dirty, then writes during the send */
	assert_int_equal(child_cmd(&f->child, "dirty %zu 1 seq",
				   f->region_bytes / f->page_size), 0);
	f->im.hook = child_writes_in_batch;
	f->im.hook_opaque = &wb;
	round_trip(f);
	f->im.hook = NULL;
	assert_true(wb.done);

	/* window B: writes recorded by a sync, then writes after it */
	assert_int_equal(child_cmd(&f->child, "dirty 200 8 rand"), 0);
	assert_int_equal(dirty_log_sync(f->dl), 0);
	assert_int_equal(child_cmd(&f->child, "dirty 2000 9 rand"), 0);
	assert_int_equal(ram_save_pass(&f->rs, &f->im.sink), 0);
	fault_inject(FI_NONE);
	bad = final_compare(f, &first_bad);

	print_message("%s/%s%s shift %u%s%s: %llu writes, %llu pages sent "
		      "after the first copy (RAM %llu pages), %llu chunk "
		      "clears, %llu blocks added, %lu bad pages\n",
		      dirty_log_backend(f->dl),
		      cc->mode == DIRTY_LOG_LAZY ? "lazy" : "monolithic",
		      cc->cycle ? " (mode and shift changed every round)" : "",
		      f->dl->ram.clear_bmap_shift,
		      cc->fault ? ", fault " : "", cc->fault ? fault_name(cc->fault) : "",
		      writes, (unsigned long long)incremental,
		      (unsigned long long)ram_pages,
		      (unsigned long long)f->dl->stats.chunks_cleared,
		      (unsigned long long)f->dl->ram.blocks_added, bad);
	assert_true(writes > 10000);		/* it really ran meanwhile */
	assert_true(f->dl->ram.blocks_added > 10);	/* and changed layout */
	if (cc->fault != FI_NONE) {
		if (bad == 0)
			fail_msg("fault %s lost no write: the test cannot see it",
				 fault_name(cc->fault));
		fixture_free(f);
		return;
	}
	if (bad)
		fail_msg("%ld pages differ, the first at %llx", bad,
			 (unsigned long long)first_bad);
	if (cc->kind == DIRTY_LOG_FULL)	/* every round copies everything */
		assert_true(incremental >= COPY_ROUNDS * (ram_pages / 2));
	if (cc->kind == DIRTY_LOG_UFFD_WP && cc->mode == DIRTY_LOG_LAZY)
		assert_true(f->dl->stats.chunks_cleared > 0);
	fixture_free(f);
}

/* --- the ordering rules, shown on single pages -------------------------- */

/* Region pages used below: two in chunk 0, with shift 6. */
#define PAGE_X	5
#define PAGE_Y	9

struct after_read {
	struct fixture *f;
	uint64_t addr;		/* write here right after it was read */
	int done;
};

static void write_after_read(struct image *im, uint64_t addr, size_t len,
			     void *opaque)
{
	struct after_read *ar = opaque;

	(void)im;
	if (!ar->done && ar->addr >= addr && ar->addr < addr + len) {
		poke(ar->f, ar->addr, 0xabad1dea);
		ar->done = 1;
	}
}

/*
 * A write that lands after page X was read for sending. With the clear
 * before the read (the rule), the write is recorded for the next sync.
 * With FI_CLEAR_AFTER_READ the clear re-protects X after the write: lost.
 */
static long scenario_write_after_read(enum colo_fault fault, uint64_t *bad_at)
{
	struct fixture *f = fixture_new(1u << 20, DIRTY_LOG_UFFD_WP,
					DIRTY_LOG_LAZY, 6);
	struct after_read ar = { f, f->region + PAGE_X * f->page_size, 0 };
	long bad;

	assert_int_equal(child_freeze(&f->child), 0);
	round_trip(f);
	fault_inject(fault);
	poke(f, ar.addr, 1);
	assert_int_equal(dirty_log_sync(f->dl), 0);
	f->im.hook = write_after_read;
	f->im.hook_opaque = &ar;
	assert_int_equal(ram_save_pass(&f->rs, &f->im.sink), 0);
	f->im.hook = NULL;
	assert_true(ar.done);
	fault_inject(FI_NONE);
	bad = final_compare(f, bad_at);
	fixture_free(f);
	return bad;
}

static void test_clear_before_read_keeps_write(void **state)
{
	uint64_t bad_at;

	(void)state;
	assert_int_equal(scenario_write_after_read(FI_NONE, &bad_at), 0);
}

static void test_clear_after_read_detected(void **state)
{
	uint64_t bad_at;
	long bad;

	(void)state;
	bad = scenario_write_after_read(FI_CLEAR_AFTER_READ, &bad_at);
	assert_int_equal(bad, 1);
	assert_int_equal(bad_at % 4096, 0);
}

/*
 * Page X is recorded by a sync; page Y of the same chunk is written after
 * the sync. The clear must re-protect X only: Y stays visible to the next
 * sync. FI_CLEAR_UNRECORDED re-protects the whole chunk and loses Y.
 */
static long scenario_unrecorded_write(enum colo_fault fault, uint64_t *bad_at,
				      uint64_t *y)
{
	struct fixture *f = fixture_new(1u << 20, DIRTY_LOG_UFFD_WP,
					DIRTY_LOG_LAZY, 6);
	long bad;

	*y = f->region + PAGE_Y * f->page_size;
	assert_int_equal(child_freeze(&f->child), 0);
	round_trip(f);
	fault_inject(fault);
	poke(f, f->region + PAGE_X * f->page_size, 2);
	assert_int_equal(dirty_log_sync(f->dl), 0);
	poke(f, *y, 3);		/* between the sync and the clear */
	assert_int_equal(ram_save_pass(&f->rs, &f->im.sink), 0);
	fault_inject(FI_NONE);
	bad = final_compare(f, bad_at);
	fixture_free(f);
	return bad;
}

static void test_clear_only_recorded_keeps_write(void **state)
{
	uint64_t bad_at, y;

	(void)state;
	assert_int_equal(scenario_unrecorded_write(FI_NONE, &bad_at, &y), 0);
}

static void test_clear_unrecorded_detected(void **state)
{
	uint64_t bad_at, y;

	(void)state;
	assert_int_equal(scenario_unrecorded_write(FI_CLEAR_UNRECORDED, &bad_at, &y), 1);
	assert_int_equal(bad_at, y);
}

/*
 * Two recorded runs close together are cleared with one WP_MATCHING walk
 * of their span. A page written between them after the sync is then
 * re-protected too, so the walk must hand it to bmap: it goes out in the
 * same pass instead of being lost.
 */
static void test_span_scan_marks_unrecorded(void **state)
{
	struct fixture *f = fixture_new(1u << 20, DIRTY_LOG_UFFD_WP,
					DIRTY_LOG_LAZY, 6);
	uint64_t y = f->region + 4 * f->page_size, first_bad, calls;
	const unsigned char *copy;
	uint64_t value;

	(void)state;
	assert_int_equal(child_freeze(&f->child), 0);
	round_trip(f);
	poke(f, f->region + 2 * f->page_size, 21);
	poke(f, f->region + 6 * f->page_size, 22);
	assert_int_equal(dirty_log_sync(f->dl), 0);
	poke(f, y, 23);			/* unrecorded, inside the span */
	calls = f->dl->stats.clear_calls;
	assert_int_equal(ram_save_pass(&f->rs, &f->im.sink), 0);
	copy = image_lookup(&f->im, y);
	assert_non_null(copy);
	memcpy(&value, copy, sizeof(value));
	assert_int_equal(value, 23);	/* sent in this very pass */
	assert_true(f->dl->stats.clear_calls - calls <= 2);
	assert_int_equal(final_compare(f, &first_bad), 0);
	fixture_free(f);
}

/* --- passes that go wrong part way -------------------------------------- */

/*
 * The guest maps new memory over part of a recorded span between the sync
 * and the send: the span's clear meets an area it cannot re-arm. The pass
 * goes on; nothing recorded before (a heap page sent earlier in the same
 * pass, the rest of the region) is lost.
 */
static void test_remap_between_sync_and_send(void **state)
{
	struct fixture *f = fixture_new(1u << 20, DIRTY_LOG_UFFD_WP,
					DIRTY_LOG_LAZY, 6);
	uint64_t heap, first_bad;

	(void)state;
	assert_int_equal(child_cmd(&f->child, "sbrk %u", 64u << 10), 0);
	heap = child_reply_addr(&f->child);
	assert_true(heap < f->region);
	assert_int_equal(child_freeze(&f->child), 0);
	round_trip(f);
	assert_int_equal(child_thaw(&f->child), 0);
	poke(f, heap + 3 * f->page_size, 31);
	poke(f, f->region + 2 * f->page_size, 32);
	poke(f, f->region + 6 * f->page_size, 33);
	assert_int_equal(dirty_log_sync(f->dl), 0);
	assert_int_equal(child_cmd(&f->child, "remap %llx %zu",
				   (unsigned long long)(f->region + 4 * f->page_size),
				   f->page_size), 0);
	assert_int_equal(ram_save_pass(&f->rs, &f->im.sink), 0);
	assert_int_equal(final_compare(f, &first_bad), 0);
	fixture_free(f);
}

/* A recorded page made inaccessible before its read, and accessible
 * again before the next sync: it is read then, not forgotten. */
static void test_prot_none_round_trip(void **state)
{
	struct fixture *f = fixture_new(1u << 20, DIRTY_LOG_UFFD_WP,
					DIRTY_LOG_LAZY, 6);
	uint64_t x = f->region + 10 * f->page_size, first_bad;

	(void)state;
	round_trip(f);
	poke(f, x, 41);
	assert_int_equal(dirty_log_sync(f->dl), 0);
	assert_int_equal(child_cmd(&f->child, "mprotect %llx %zu none",
				   (unsigned long long)x, f->page_size), 0);
	assert_int_equal(ram_save_pass(&f->rs, &f->im.sink), 0);
	assert_true(f->rs.stats.pages_vanished >= 1);
	assert_int_equal(child_cmd(&f->child, "mprotect %llx %zu rw",
				   (unsigned long long)x, f->page_size), 0);
	assert_int_equal(final_compare(f, &first_bad), 0);
	fixture_free(f);
}

/* A page written and then made read-only is still the guest's data: it
 * goes out like any other (it was RAM while writable and stays RAM). */
static void test_written_then_read_only(void **state)
{
	struct fixture *f = fixture_new(1u << 20, DIRTY_LOG_UFFD_WP,
					DIRTY_LOG_LAZY, 6);
	uint64_t x = f->region + 20 * f->page_size, first_bad;
	const unsigned char *copy;
	uint64_t value;

	(void)state;
	round_trip(f);
	poke(f, x, 0x5eed);
	assert_int_equal(child_cmd(&f->child, "mprotect %llx %zu ro",
				   (unsigned long long)x, f->page_size), 0);
	round_trip(f);
	copy = image_lookup(&f->im, x);
	assert_non_null(copy);
	memcpy(&value, copy, sizeof(value));
	assert_int_equal(value, 0x5eed);
	assert_int_equal(final_compare(f, &first_bad), 0);
	fixture_free(f);
}

/* A sink that fails on its third batch: the pass stops with the error, and
 * every page taken but not delivered goes out with the next pass. */
struct failing_sink {
	struct page_sink sink;
	struct image *im;
	int calls;
};

static int fail_third(struct page_sink *sink, const struct ram_block *rb,
		      uint64_t addr, const void *data, size_t len)
{
	struct failing_sink *fs = (struct failing_sink *)sink;

	if (++fs->calls == 3)
		return -EIO;
	return fs->im->sink.ops->save_pages(&fs->im->sink, rb, addr, data, len);
}

static const struct page_sink_ops fail_third_ops = { .save_pages = fail_third };

static void test_failed_pass_loses_nothing(void **state)
{
	struct fixture *f = fixture_new(1u << 20, DIRTY_LOG_UFFD_WP,
					DIRTY_LOG_LAZY, 6);
	struct failing_sink fs = { { &fail_third_ops }, &f->im, 0 };
	uint64_t first_bad;

	(void)state;
	assert_int_equal(child_freeze(&f->child), 0);
	round_trip(f);
	for (int i = 0; i < 40; i++)
		poke(f, f->region + (size_t)(i * 5) * f->page_size, 50 + (uint64_t)i);
	assert_int_equal(dirty_log_sync(f->dl), 0);
	assert_int_equal(ram_save_pass(&f->rs, &fs.sink), -EIO);
	assert_int_equal(fs.calls, 3);
	assert_int_equal(final_compare(f, &first_bad), 0);
	fixture_free(f);
}

/* --- what sync and clear do to the kernel's log ------------------------- */

/* Sync reads without re-arming; only the clear of a send re-arms. */
static void test_sync_rearms_nothing(void **state)
{
	struct fixture *f = fixture_new(1u << 20, DIRTY_LOG_UFFD_WP,
					DIRTY_LOG_LAZY, 6);
	uint64_t x = f->region + 3 * f->page_size;
	struct ram_block *rb;
	size_t page;

	(void)state;
	assert_int_equal(child_freeze(&f->child), 0);
	round_trip(f);
	poke(f, x, 7);
	assert_int_equal(dirty_log_sync(f->dl), 0);
	rb = block_of(f, x, &page);
	assert_non_null(rb);
	assert_true(test_bit(page, rb->bmap));
	assert_true(test_bit(ram_block_chunk_of(rb, page), rb->clear_bmap));

	/* forget it without clearing: the log still has it */
	bitmap_clear(rb->bmap, 0, rb->npages);
	bitmap_clear(rb->clear_bmap, 0, ram_block_nchunks(rb));
	assert_int_equal(dirty_log_sync(f->dl), 0);
	rb = block_of(f, x, &page);
	assert_true(test_bit(page, rb->bmap));

	/* a send clears its chunk: the next sync sees nothing there */
	assert_int_equal(ram_save_pass(&f->rs, &f->im.sink), 0);
	assert_int_equal(dirty_log_sync(f->dl), 0);
	rb = block_of(f, x, &page);
	assert_false(test_bit(page, rb->bmap));
	assert_int_equal(bitmap_count_one(rb->bmap, rb->npages), 0);
	fixture_free(f);
}

/* A send clears exactly the chunks a sync marked, each once. */
static void test_untouched_chunks_never_cleared(void **state)
{
	struct fixture *f = fixture_new(4u << 20, DIRTY_LOG_UFFD_WP,
					DIRTY_LOG_LAZY, 6);
	const size_t pages[] = { 5, 64 * 7 + 1, 64 * 7 + 2, 64 * 12 + 63 };
	uint64_t marked = 0, before;
	struct ram_block *rb = NULL;
	size_t first = 0;

	(void)state;
	assert_int_equal(child_freeze(&f->child), 0);
	round_trip(f);
	for (size_t i = 0; i < 4; i++)
		poke(f, f->region + pages[i] * f->page_size, 100 + i);
	assert_int_equal(dirty_log_sync(f->dl), 0);

	rb = block_of(f, f->region, &first);
	assert_non_null(rb);
	/* the region's chunks marked are exactly those with written pages */
	for (size_t c = ram_block_chunk_of(rb, first);
	     c <= ram_block_chunk_of(rb, first + 1023); c++) {
		bool want = false;

		for (size_t i = 0; i < 4; i++)
			want |= ram_block_chunk_of(rb, first + pages[i]) == c;
		assert_int_equal(test_bit(c, rb->clear_bmap), want);
	}
	for (size_t i = 0; i < f->dl->ram.nr_blocks; i++) {
		struct ram_block *b = f->dl->ram.blocks[i];

		marked += bitmap_count_one(b->clear_bmap, ram_block_nchunks(b));
	}
	before = f->dl->stats.chunks_cleared;
	assert_int_equal(ram_save_pass(&f->rs, &f->im.sink), 0);
	assert_int_equal(f->dl->stats.chunks_cleared - before, marked);
	for (size_t i = 0; i < f->dl->ram.nr_blocks; i++) {
		struct ram_block *b = f->dl->ram.blocks[i];

		assert_int_equal(bitmap_count_one(b->clear_bmap,
						  ram_block_nchunks(b)), 0);
	}
	fixture_free(f);
}

/* New mappings and heap growth become blocks, are sent whole, and go. */
static void test_new_areas(void **state)
{
	struct fixture *f = fixture_new(1u << 20, DIRTY_LOG_UFFD_WP,
					DIRTY_LOG_LAZY, 6);
	uint64_t area, heap, first_bad;
	size_t page;

	(void)state;
	round_trip(f);
	assert_int_equal(child_cmd(&f->child, "mmap %u", 256u << 10), 0);
	area = child_reply_addr(&f->child);
	assert_int_equal(child_cmd(&f->child, "sbrk %u", 64u << 10), 0);
	heap = child_reply_addr(&f->child);
	assert_null(block_of(f, area, &page));
	round_trip(f);
	assert_non_null(block_of(f, area, &page));
	assert_non_null(block_of(f, area + (256u << 10) - 1, &page));
	assert_non_null(block_of(f, heap, &page));
	assert_non_null(image_lookup(&f->im, area + 17 * f->page_size));
	assert_int_equal(final_compare(f, &first_bad), 0);

	assert_int_equal(child_cmd(&f->child, "munmap %llx %u",
				   (unsigned long long)area, 256u << 10), 0);
	round_trip(f);
	assert_null(block_of(f, area, &page));
	assert_int_equal(final_compare(f, &first_bad), 0);
	fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate_setup_teardown(test_copy_running_process, NULL, teardown, (void *)&lazy6),
		cmocka_unit_test_prestate_setup_teardown(test_copy_running_process, NULL, teardown, (void *)&lazy12),
		cmocka_unit_test_prestate_setup_teardown(test_copy_running_process, NULL, teardown, (void *)&lazy18),
		cmocka_unit_test_prestate_setup_teardown(test_copy_running_process, NULL, teardown, (void *)&mono),
		cmocka_unit_test_prestate_setup_teardown(test_copy_running_process, NULL, teardown, (void *)&full),
		cmocka_unit_test_prestate_setup_teardown(test_copy_running_process, NULL, teardown, (void *)&cycling),
		cmocka_unit_test_prestate_setup_teardown(test_copy_running_process, NULL, teardown, (void *)&stepped6),
		cmocka_unit_test_prestate_setup_teardown(test_copy_running_process, NULL, teardown, (void *)&after_read6),
		cmocka_unit_test_prestate_setup_teardown(test_copy_running_process, NULL, teardown, (void *)&after_read18),
		cmocka_unit_test_prestate_setup_teardown(test_copy_running_process, NULL, teardown, (void *)&unrecorded6),
		cmocka_unit_test_prestate_setup_teardown(test_copy_running_process, NULL, teardown, (void *)&unrecorded18),
		cmocka_unit_test_teardown(test_clear_before_read_keeps_write, teardown),
		cmocka_unit_test_teardown(test_clear_after_read_detected, teardown),
		cmocka_unit_test_teardown(test_clear_only_recorded_keeps_write, teardown),
		cmocka_unit_test_teardown(test_clear_unrecorded_detected, teardown),
		cmocka_unit_test_teardown(test_span_scan_marks_unrecorded, teardown),
		cmocka_unit_test_teardown(test_remap_between_sync_and_send, teardown),
		cmocka_unit_test_teardown(test_prot_none_round_trip, teardown),
		cmocka_unit_test_teardown(test_failed_pass_loses_nothing, teardown),
		cmocka_unit_test_teardown(test_written_then_read_only, teardown),
		cmocka_unit_test_teardown(test_sync_rearms_nothing, teardown),
		cmocka_unit_test_teardown(test_untouched_chunks_never_cleared, teardown),
		cmocka_unit_test_teardown(test_new_areas, teardown),
	};

	log_set_level(LOG_WARN);
	return cmocka_run_group_tests_name("dirty_log", tests, NULL, NULL);
}
