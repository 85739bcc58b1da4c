/*
 * test_local_checkpoint.c - a running guest carried into another guest,
 * which then carries on as an exact replica.
 *
 * Guests are real memstress processes on the guest runtime. After every
 * checkpoint, with both still stopped, the RAM of A and B (all readable
 * private memory) is compared byte for byte over A's whole layout; after
 * they resume, both get the same commands and must answer alike.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "fault.h"
#include "guests.h"
#include "layout.h"
#include "local_checkpoint.h"
#include "log.h"
#include "log_capture.h"

static struct test_guest ga, gb;
static struct local_checkpoint lc;
static bool lc_open;

static int teardown(void **state)
{
	(void)state;
	if (lc_open)
		local_checkpoint_destroy(&lc);
	lc_open = false;
	fault_inject(FI_NONE);
	unsetenv("COLO_FAULT_AT");
	tg_destroy(&ga);
	tg_destroy(&gb);
	log_set_hook(NULL, NULL);
	log_set_quiet(0);
	return 0;
}

/* --- the comparison, made with both guests stopped ---------------------- */

struct compare {
	struct guest_compare result;
	int ret;
};

static int compare_guests(struct local_checkpoint *c, void *opaque)
{
	struct compare *cmp = opaque;

	cmp->ret = local_checkpoint_compare(c, &cmp->result);
	return 0;
}

static int read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };

	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ?
	       0 : -EIO;
}

static uint64_t anon_pages(const struct dirty_log *dl)
{
	uint64_t n = 0;

	for (size_t i = 0; i < dl->ram.nr_blocks; i++)
		if (!dl->ram.blocks[i]->file)
			n += dl->ram.blocks[i]->npages;
	return n;
}

/* The TID in a guest's TCB must be its own, whatever was copied in. */
static void check_tid(struct guest *g)
{
	int32_t tid = 0;

	assert_int_equal(read_mem(g->pid, g->hello.tid_addr, &tid, sizeof(tid)), 0);
	assert_int_equal(tid, g->pid);
}

static void checkpoint_and_compare(struct compare *cmp)
{
	lc.hook = compare_guests;
	lc.hook_opaque = cmp;
	assert_int_equal(local_checkpoint_run(&lc), 0);
	check_tid(lc.a);
	check_tid(lc.b);
	assert_int_equal(cmp->ret, 0);
	if (!cmp->result.layouts_same)
		fail_msg("A's and B's RAM layouts differ after the checkpoint, "
			 "first at %#llx", (unsigned long long)cmp->result.first_diff);
	if (cmp->result.bad_pages)
		fail_msg("%llu pages differ between A and B, the first at %#llx",
			 (unsigned long long)cmp->result.bad_pages,
			 (unsigned long long)cmp->result.first_diff);
	assert_true(cmp->result.bytes > (8u << 20));
}

/* Both answer cmd; the answers must be equal. */
static void same_answer(const char *cmd)
{
	char ra[256], rb[256];

	assert_int_equal(tg_ask(&ga, cmd, ra, sizeof(ra)), 0);
	assert_int_equal(tg_ask(&gb, cmd, rb, sizeof(rb)), 0);
	if (strcmp(ra, rb))
		fail_msg("'%s': A answers '%s', B answers '%s'", cmd, ra, rb);
}

static void launch_pair(const char *const *args_a, const char *const *args_b,
			const struct local_checkpoint_params *p)
{
	char r[256];

	assert_int_equal(tg_launch(&ga, "A", "memstress", args_a, 0), 0);
	assert_int_equal(tg_launch(&gb, "B", "memstress", args_b, 0), 0);
	assert_int_equal(guest_start(&ga.g), 0);
	assert_int_equal(tg_ask(&ga, "hash", r, sizeof(r)), 0);	/* started */
	assert_int_equal(local_checkpoint_init(&lc, &ga.g, &gb.g, p), 0);
	lc_open = true;
}

/* --- a replica through eleven checkpoints ------------------------------- */

struct pair_case {
	const char *name;
	enum dirty_log_kind kind;
	enum dirty_log_clear_mode mode;
	unsigned shift;
	bool churn;
};

static const struct pair_case lazy18 = { "uffd-wp lazy shift 18", DIRTY_LOG_UFFD_WP, DIRTY_LOG_LAZY, 18, false };
static const struct pair_case lazy6 = { "uffd-wp lazy shift 6", DIRTY_LOG_UFFD_WP, DIRTY_LOG_LAZY, 6, false };
static const struct pair_case mono = { "uffd-wp monolithic", DIRTY_LOG_UFFD_WP, DIRTY_LOG_MONOLITHIC, 18, false };
static const struct pair_case full = { "full", DIRTY_LOG_FULL, DIRTY_LOG_LAZY, 18, false };
static const struct pair_case churn6 = { "uffd-wp lazy shift 6, churn", DIRTY_LOG_UFFD_WP, DIRTY_LOG_LAZY, 6, true };
static const struct pair_case churn18 = { "uffd-wp lazy shift 18, churn", DIRTY_LOG_UFFD_WP, DIRTY_LOG_LAZY, 18, true };

#define ROUNDS	10

/*
 * Round r: A writes on alone, B writes something else (its own pages must
 * be overwritten too), checkpoint, compare memory; then both get the same
 * commands and must answer the same.
 */
static void test_replica(void **state)
{
	const struct pair_case *pc = *state;
	const char *plain[] = { "--ram", "32", "--wss", "24", "--seed", "7", NULL };
	const char *churn[] = { "--ram", "32", "--wss", "24", "--seed", "7", "--churn", NULL };
	const struct local_checkpoint_params p = {
		.kind = pc->kind, .clear_mode = pc->mode,
		.clear_bmap_shift = pc->shift, .stop_timeout_ms = 2000,
	};
	uint64_t ram_pages, incremental = 0;
	unsigned layout_moves = 0;
	struct compare cmp;
	char cmd[64];

	launch_pair(pc->churn ? churn : plain, pc->churn ? churn : plain, &p);
	checkpoint_and_compare(&cmp);		/* the whole copy */
	ram_pages = cmp.result.bytes / 4096;
	/* all of it but the file pages neither guest wrote */
	assert_true(lc.stats.pages_copied >= anon_pages(lc.dla));
	if (pc->kind == DIRTY_LOG_UFFD_WP)
		assert_true(lc.stats.pages_copied < ram_pages);
	same_answer("digest");
	same_answer("step 300");
	same_answer("hash");

	for (int r = 1; r <= ROUNDS; r++) {
		snprintf(cmd, sizeof(cmd), "step %d", 1000 + 397 * r);
		assert_int_equal(tg_ask(&ga, cmd, NULL, 0), 0);
		snprintf(cmd, sizeof(cmd), "step %d", 50 + 13 * r);
		assert_int_equal(tg_ask(&gb, cmd, NULL, 0), 0);
		/* memory A wrote and then made read-only goes over too */
		if (r == 2)
			assert_int_equal(tg_ask(&ga, "ro 1234", NULL, 0), 0);
		if (r == 5)
			assert_int_equal(tg_ask(&ga, "ro 777", NULL, 0), 0);
		/* stacks that grew: A's must be grown in B, B's trimmed */
		if (pc->churn && r == 3)
			assert_int_equal(tg_ask(&ga, "stack 600", NULL, 0), 0);
		if (pc->churn && r == 6)
			assert_int_equal(tg_ask(&gb, "stack 1200", NULL, 0), 0);

		checkpoint_and_compare(&cmp);
		incremental += lc.stats.pages_copied;
		/* dirty pages only (churn maps whole new blocks each round) */
		if (pc->kind == DIRTY_LOG_UFFD_WP && !pc->churn)
			assert_true(lc.stats.pages_copied < cmp.result.bytes / 4096 * 3 / 4);
		layout_moves += lc.stats.layout_commands;
		assert_true(lc.stats.pages_dirty_b > 0);

		same_answer("digest");
		same_answer("step 500");
		same_answer("hash");
		same_answer("roval");
		same_answer("tidcheck");
	}
	print_message("%s: first copy %llu pages, then %llu pages in %d "
		      "checkpoints, %u layout commands, last pause %.2f ms\n",
		      pc->name, (unsigned long long)ram_pages,
		      (unsigned long long)incremental, ROUNDS, layout_moves,
		      (double)lc.stats.pause_ns / 1e6);
	if (pc->kind == DIRTY_LOG_FULL)		/* everything, every time */
		assert_true(incremental >= ROUNDS * anon_pages(lc.dla));
	else if (!pc->churn)
		assert_true(incremental < ROUNDS * ram_pages / 2);
	if (pc->churn)				/* maps came and went */
		assert_true(layout_moves > 2 * ROUNDS);
	assert_int_equal(lc.stats.checkpoints, ROUNDS + 1);
}

/* Without B's own dirty pages in the copy, the comparison must see B's
 * writes left behind: the check above can fail. */
static void test_missing_b_pages_detected(void **state)
{
	const char *args[] = { "--ram", "16", "--seed", "7", NULL };
	const struct local_checkpoint_params p = {
		.kind = DIRTY_LOG_UFFD_WP, .clear_mode = DIRTY_LOG_LAZY,
		.clear_bmap_shift = 18, .stop_timeout_ms = 2000,
	};
	struct compare cmp;

	(void)state;
	launch_pair(args, args, &p);
	checkpoint_and_compare(&cmp);
	assert_int_equal(tg_ask(&gb, "step 200", NULL, 0), 0);
	fault_inject(FI_LOCAL_NO_FOLD);
	lc.hook = compare_guests;
	lc.hook_opaque = &cmp;
	assert_int_equal(local_checkpoint_run(&lc), 0);
	fault_inject(FI_NONE);
	assert_int_equal(cmp.ret, 0);
	assert_true(cmp.result.bad_pages > 100);
}

/* --- refusals and timeouts ---------------------------------------------- */

/* A guest started with a longer argv has its argv, environment and stack
 * elsewhere: it is refused, nothing is copied, both run on. */
static void test_layout_refused(void **state)
{
	const char *args_a[] = { "--ram", "16", "--seed", "7", NULL };
	const char *args_b[] = { "--ram", "16", "--seed", "0007", NULL };
	const struct local_checkpoint_params p = {
		.kind = DIRTY_LOG_UFFD_WP, .clear_mode = DIRTY_LOG_LAZY,
		.clear_bmap_shift = 18, .stop_timeout_ms = 2000,
	};
	char r[256];

	(void)state;
	launch_pair(args_a, args_b, &p);
	log_capture_start();
	log_set_quiet(1);
	assert_int_equal(local_checkpoint_run(&lc), -EINVAL);
	log_set_quiet(0);
	assert_non_null(strstr(log_captured(), "guest layouts differ"));
	if (!strstr(log_captured(), "arg_") && !strstr(log_captured(), "start_stack"))
		fail_msg("the refusal does not name the argv difference: %s", log_captured());
	assert_non_null(strstr(log_captured(), "same argv"));
	assert_int_equal(lc.stats.pages_copied, 0);
	assert_false(ga.g.paused);
	assert_false(gb.g.paused);
	/* both run on: A answers, B (never started) is still its own */
	assert_int_equal(tg_ask(&ga, "step 10", r, sizeof(r)), 0);
	assert_string_equal(r, "ok step 10");
	assert_int_equal(guest_start(&gb.g), 0);
	assert_int_equal(tg_ask(&gb, "step 10", r, sizeof(r)), 0);
	assert_string_equal(r, "ok step 10");
}

/* A guest that maps a new file after its start (here glibc loading
 * libgcc_s for a backtrace) can no longer be copied into its replica: the
 * checkpoint is refused before anything of B is changed. */
static void test_new_file_mapping_refused(void **state)
{
	const char *args[] = { "--ram", "16", "--seed", "7", "--churn", NULL };
	const struct local_checkpoint_params p = {
		.kind = DIRTY_LOG_UFFD_WP, .clear_mode = DIRTY_LOG_LAZY,
		.clear_bmap_shift = 18, .stop_timeout_ms = 2000,
	};
	struct compare cmp;
	char r[256];

	(void)state;
	launch_pair(args, args, &p);
	checkpoint_and_compare(&cmp);
	assert_int_equal(tg_ask(&gb, "step 60000", NULL, 0), 0);	/* B's heap grows */
	assert_int_equal(tg_ask(&ga, "bt", r, sizeof(r)), 0);
	log_capture_start();
	log_set_quiet(1);
	assert_int_equal(local_checkpoint_run(&lc), -EINVAL);
	log_set_quiet(0);
	assert_non_null(strstr(log_captured(), "guest layouts differ"));
	assert_non_null(strstr(log_captured(), "libgcc_s"));
	assert_false(lc.b_lost);
	assert_int_equal(lc.stats.layout_commands, 0);
	/* both run on, B as itself */
	assert_int_equal(tg_ask(&ga, "digest", r, sizeof(r)), 0);
	assert_int_equal(tg_ask(&gb, "digest", r, sizeof(r)), 0);
}

/* A checkpoint that fails once B has been written leaves B paused, and
 * the pair refuses to go on until B is discarded; A runs on. */
static int failing_hook(struct local_checkpoint *c, void *opaque)
{
	(void)c;
	(void)opaque;
	return -EIO;
}

static void test_failure_after_b_changed(void **state)
{
	const char *args[] = { "--ram", "16", "--seed", "7", NULL };
	const struct local_checkpoint_params p = {
		.kind = DIRTY_LOG_UFFD_WP, .clear_mode = DIRTY_LOG_LAZY,
		.clear_bmap_shift = 18, .stop_timeout_ms = 2000,
	};
	char r[256];

	(void)state;
	launch_pair(args, args, &p);
	log_set_quiet(1);
	lc.hook = failing_hook;
	assert_int_equal(local_checkpoint_run(&lc), -EIO);
	lc.hook = NULL;
	assert_true(lc.b_lost);
	assert_true(gb.g.paused);
	assert_false(ga.g.paused);
	assert_int_equal(local_checkpoint_run(&lc), -ESTALE);
	log_set_quiet(0);
	assert_int_equal(tg_ask(&ga, "step 10", r, sizeof(r)), 0);
	assert_string_equal(r, "ok step 10");
}

/* A guest busy in a long handler is not stopped: the stop gives up after
 * its bound, and both guests keep running. */
static void test_stop_timeout(void **state)
{
	const char *args[] = { "--ram", "16", "--seed", "7", NULL };
	const struct local_checkpoint_params p = {
		.kind = DIRTY_LOG_UFFD_WP, .clear_mode = DIRTY_LOG_LAZY,
		.clear_bmap_shift = 18, .stop_timeout_ms = 300,
	};
	struct compare cmp;
	char r[256];

	(void)state;
	launch_pair(args, args, &p);
	assert_int_equal(tg_send(&ga, "busy 1500"), 0);
	log_capture_start();
	log_set_quiet(1);
	assert_int_equal(local_checkpoint_run(&lc), -ETIMEDOUT);
	log_set_quiet(0);
	assert_non_null(strstr(log_captured(), "did not reach a pause point within 300 ms"));
	assert_false(ga.g.paused);
	assert_false(gb.g.paused);
	/* A finishes its handler and goes on serving; it did not stay stopped */
	assert_int_equal(tg_wait(&ga, 5000, r, sizeof(r)), 0);
	assert_string_equal(r, "ok busy 1500");
	assert_int_equal(tg_ask(&ga, "step 5", r, sizeof(r)), 0);
	assert_string_equal(r, "ok step 5");
	/* and a checkpoint now works */
	checkpoint_and_compare(&cmp);
	same_answer("digest");
}

/* --- the guest clock ----------------------------------------------------- */

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A running memstress's guest clock. */
static uint64_t clock_of(struct test_guest *t)
{
	unsigned long long ms = 0;
	char r[256];

	assert_int_equal(tg_ask(t, "clock", r, sizeof(r)), 0);
	if (sscanf(r, "clock %llu", &ms) != 1)
		fail_msg("%s answers 'clock' with '%s'", t->g.name, r);
	return ms;
}

/*
 * Launch memstress as t in a new time namespace whose CLOCK_MONOTONIC is
 * ahead_s seconds ahead of ours: a host whose clock is that far ahead.
 * Only t goes there; this process and its later children stay here.
 * (The kernel refuses offsets that would make a clock negative, so the
 * guest that must differ is put ahead, not behind.)
 */
static void launch_ahead(struct test_guest *t, const char *label,
			 const char *const *args, int ahead_s)
{
	int own = open("/proc/self/ns/time", O_RDONLY | O_CLOEXEC);
	char offsets[64];
	int fd, n, ret;

	if (own < 0 || unshare(CLONE_NEWTIME)) {
		print_message("no time namespaces here (%s): skipped\n",
			      strerror(errno));
		skip();
	}
	n = snprintf(offsets, sizeof(offsets), "monotonic %d 0", ahead_s);
	fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	ret = fd >= 0 && write(fd, offsets, (size_t)n) == n ? 0 : -errno;
	if (fd >= 0)
		close(fd);
	if (!ret)
		ret = tg_launch(t, label, "memstress", args, 0);
	/* our children are born in our own namespace again */
	assert_int_equal(setns(own, CLONE_NEWTIME), 0);
	close(own);
	assert_int_equal(ret, 0);
}

/*
 * A's host clock is 600 s ahead of B's. B, resumed from A's context, has
 * A's timer deadlines on its stack: on its host's raw clock it would wait
 * 600 s for its next tick. It must resume at A's guest clock instead, and
 * its timers (memstress's writes every tick) run on.
 */
static void test_replica_runs_on_its_source_clock(void **state)
{
	const char *args[] = { "--ram", "16", "--seed", "7", "--rate", "4", NULL };
	const struct local_checkpoint_params p = {
		.kind = DIRTY_LOG_UFFD_WP, .clear_mode = DIRTY_LOG_LAZY,
		.clear_bmap_shift = 18, .stop_timeout_ms = 2000,
	};
	char h1[256], h2[256];
	struct compare cmp;
	uint64_t ca, cb;
	long long off;

	(void)state;
	assert_int_equal(tg_launch(&gb, "B", "memstress", args, 0), 0);
	launch_ahead(&ga, "A", args, 600);
	assert_int_equal(guest_start(&ga.g), 0);
	assert_int_equal(guest_start(&gb.g), 0);
	ca = clock_of(&ga);
	cb = clock_of(&gb);
	if (ca < cb + 590000)
		fail_msg("A's clock %llu ms is not 600 s ahead of B's %llu ms: "
			 "the time namespace did not take", (unsigned long long)ca,
			 (unsigned long long)cb);
	assert_int_equal(local_checkpoint_init(&lc, &ga.g, &gb.g, &p), 0);
	lc_open = true;
	checkpoint_and_compare(&cmp);

	ca = clock_of(&ga);
	cb = clock_of(&gb);
	off = (long long)cb - (long long)ca;
	if (off < -1000 || off > 1000)
		fail_msg("after the checkpoint B's guest clock is %lld ms off A's "
			 "(A %llu, B %llu): B did not resume at A's clock", off,
			 (unsigned long long)ca, (unsigned long long)cb);
	/* B's timers tick: its writes go on (nothing else moves its hash) */
	assert_int_equal(tg_ask(&gb, "hash", h1, sizeof(h1)), 0);
	sleep_ms(300);
	assert_int_equal(tg_ask(&gb, "hash", h2, sizeof(h2)), 0);
	if (strcmp(h1, h2) == 0)
		fail_msg("B wrote nothing in 300 ms after the checkpoint (%s): "
			 "its timers stopped", h1);
	/* and a second checkpoint makes B a copy again */
	checkpoint_and_compare(&cmp);
}

/* Guest time stands still while the guest is paused, and CONTINUE sets
 * it; a clock the runtime cannot keep is refused and the guest stays
 * paused. */
static void test_clock_stands_still_while_paused(void **state)
{
	const char *args[] = { "--ram", "8", NULL };
	struct colo_guest_layout l1, l2;
	uint64_t c0, c1, c2, at;

	(void)state;
	assert_int_equal(tg_launch(&ga, "A", "memstress", args, 0), 0);
	assert_int_equal(guest_start(&ga.g), 0);
	c0 = clock_of(&ga);
	assert_int_equal(guest_stop(&ga.g, 2000), 0);
	assert_int_equal(guest_layout(&ga.g, &l1), 0);
	sleep_ms(400);
	assert_int_equal(guest_layout(&ga.g, &l2), 0);
	assert_true(l1.clock_ms >= c0);
	assert_int_equal(l2.clock_ms, l1.clock_ms);
	assert_int_equal(guest_continue(&ga.g), 0);
	c1 = clock_of(&ga);
	if (c1 < l1.clock_ms || c1 > l1.clock_ms + 200)
		fail_msg("resumed at its own clock %llu ms, it reads %llu ms: "
			 "the 400 ms paused counted", (unsigned long long)l1.clock_ms,
			 (unsigned long long)c1);

	/* resumed at a clock it is given: an hour later */
	at = c1 + 3600 * 1000;
	assert_int_equal(guest_stop(&ga.g, 2000), 0);
	assert_int_equal(guest_continue_at(&ga.g, at), 0);
	c2 = clock_of(&ga);
	if (c2 < at || c2 > at + 200)
		fail_msg("continued at %llu ms, it reads %llu ms",
			 (unsigned long long)at, (unsigned long long)c2);

	log_capture_start();
	log_set_quiet(1);
	assert_int_equal(guest_stop(&ga.g, 2000), 0);
	assert_int_equal(guest_continue_at(&ga.g, UINT64_MAX), -EINVAL);
	log_set_quiet(0);
	assert_non_null(strstr(log_captured(), "refused to continue at guest clock"));
	assert_true(ga.g.paused);
	assert_int_equal(guest_continue(&ga.g), 0);
	assert_true(clock_of(&ga) >= c2);
}

/* Voluntary context switches of a process: how often it went to sleep. */
static unsigned long sleeps_of(pid_t pid)
{
	unsigned long n = guest_sleeps(pid);

	assert_true(n != ULONG_MAX);
	return n;
}

/*
 * A timer deadline more than 2^31 ms (24.8 days) away is a poll() timeout
 * that must not wrap: here the next tick is 2^32 + 300 ms away, which
 * wraps to a 300 ms wake-up. The guest must sleep instead.
 */
static void test_far_timer_deadline_sleeps(void **state)
{
	const char *args[] = { "--ram", "8", NULL };
	struct colo_guest_layout l;
	unsigned long before, after;

	(void)state;
	assert_int_equal(tg_launch(&ga, "A", "memstress", args, 0), 0);
	assert_int_equal(guest_start(&ga.g), 0);
	assert_int_equal(tg_ask(&ga, "hash", NULL, 0), 0);
	/* far enough along that 2^32 ms can be taken off its clock */
	assert_int_equal(guest_stop(&ga.g, 2000), 0);
	assert_int_equal(guest_continue_at(&ga.g, 1ull << 33), 0);
	assert_true(clock_of(&ga) >= 1ull << 33);
	sleep_ms(100);				/* its next tick is due again */
	assert_int_equal(guest_stop(&ga.g, 2000), 0);
	assert_int_equal(guest_layout(&ga.g, &l), 0);
	assert_int_equal(guest_continue_at(&ga.g, l.clock_ms - (1ull << 32) - 300), 0);
	sleep_ms(50);
	before = sleeps_of(ga.g.pid);
	sleep_ms(700);
	after = sleeps_of(ga.g.pid);
	if (after != before)
		fail_msg("with its next tick 2^32 + 300 ms away the guest woke "
			 "%lu times in 700 ms: its poll timeout wrapped",
			 after - before);
	assert_int_equal(tg_ask(&ga, "hash", NULL, 0), 0);	/* still serves */
}

/* --- layout mirroring ---------------------------------------------------- */

static uint64_t stack_start(pid_t pid)
{
	struct layout l;
	uint64_t start = 0;

	assert_int_equal(layout_read(pid, &l), 0);
	for (size_t i = 0; i < l.nr; i++)
		if (l.maps[i].kind == LAYOUT_STACK)
			start = l.maps[i].start;
	layout_free(&l);
	assert_true(start != 0);
	return start;
}

/*
 * B has a mapping of its own right below where A's stack now reaches:
 * inside the gap the kernel keeps free below a stack, so B's stack cannot
 * grow to A's depth while it is there. The mirror must drop B's extra
 * mappings before it grows the stack.
 */
static void test_extra_mapping_below_stack(void **state)
{
	const char *args[] = { "--ram", "16", "--seed", "7", NULL };
	const struct local_checkpoint_params p = {
		.kind = DIRTY_LOG_UFFD_WP, .clear_mode = DIRTY_LOG_LAZY,
		.clear_bmap_shift = 18, .stop_timeout_ms = 2000,
	};
	struct compare cmp;
	uint64_t sa, sb, arg[4];
	int64_t res = 0;

	(void)state;
	launch_pair(args, args, &p);
	checkpoint_and_compare(&cmp);
	assert_int_equal(tg_ask(&ga, "stack 600", NULL, 0), 0);
	sa = stack_start(ga.g.pid);
	sb = stack_start(gb.g.pid);
	if (sa >= sb)
		fail_msg("A's stack (from %#llx) did not grow below B's (from "
			 "%#llx) with 'stack 600'", (unsigned long long)sa,
			 (unsigned long long)sb);
	arg[0] = sa - (64u << 10);
	arg[1] = 64u << 10;
	arg[2] = PROT_READ | PROT_WRITE;
	arg[3] = MAP_PRIVATE | MAP_ANONYMOUS;
	assert_int_equal(guest_stop(&gb.g, 2000), 0);
	assert_int_equal(guest_cmd(&gb.g, GUEST_CMD_MMAP, arg, &res, NULL, 0), 0);
	assert_int_equal(res, arg[0]);
	assert_int_equal(guest_continue(&gb.g), 0);

	checkpoint_and_compare(&cmp);
	assert_int_equal(stack_start(gb.g.pid), sa);
	same_answer("digest");
	same_answer("step 300");
	same_answer("hash");
}

/* --- command timeouts and late replies ----------------------------------- */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate_setup_teardown(test_replica, NULL, teardown, (void *)&lazy18),
		cmocka_unit_test_prestate_setup_teardown(test_replica, NULL, teardown, (void *)&lazy6),
		cmocka_unit_test_prestate_setup_teardown(test_replica, NULL, teardown, (void *)&mono),
		cmocka_unit_test_prestate_setup_teardown(test_replica, NULL, teardown, (void *)&full),
		cmocka_unit_test_prestate_setup_teardown(test_replica, NULL, teardown, (void *)&churn6),
		cmocka_unit_test_prestate_setup_teardown(test_replica, NULL, teardown, (void *)&churn18),
		cmocka_unit_test_teardown(test_missing_b_pages_detected, teardown),
		cmocka_unit_test_teardown(test_layout_refused, teardown),
		cmocka_unit_test_teardown(test_stop_timeout, teardown),
		cmocka_unit_test_teardown(test_new_file_mapping_refused, teardown),
		cmocka_unit_test_teardown(test_failure_after_b_changed, teardown),
		cmocka_unit_test_teardown(test_replica_runs_on_its_source_clock, teardown),
		cmocka_unit_test_teardown(test_clock_stands_still_while_paused, teardown),
		cmocka_unit_test_teardown(test_far_timer_deadline_sleeps, teardown),
		cmocka_unit_test_teardown(test_extra_mapping_below_stack, teardown),
	};

	log_set_level(LOG_WARN);
	return cmocka_run_group_tests_name("local_checkpoint", tests, NULL, NULL);
}
