/*
 * test_local_checkpoint.c - a running guest carried into another guest,
 * which then carries on as an exact replica.
 *
 * Guests are real memstress processes on the guest runtime. After every
 * checkpoint, with both still stopped, the writable memory of A and B is
 * compared byte for byte over A's whole layout; after they resume, both
 * get the same commands and must answer alike.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fault.h"
#include "guests.h"
#include "layout.h"
#include "local_checkpoint.h"
#include "log.h"

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

static char errors[2048];

static void keep_errors(enum log_level level, const char *line, void *opaque)
{
	(void)opaque;
	if (level <= LOG_WARN && strlen(errors) + strlen(line) + 2 < sizeof(errors)) {
		strcat(errors, line);
		strcat(errors, "\n");
	}
}

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
	errors[0] = '\0';
	log_set_hook(keep_errors, NULL);
	log_set_quiet(1);
	assert_int_equal(local_checkpoint_run(&lc), -EINVAL);
	log_set_quiet(0);
	assert_non_null(strstr(errors, "guest layouts differ"));
	if (!strstr(errors, "arg_") && !strstr(errors, "start_stack"))
		fail_msg("the refusal does not name the argv difference: %s", errors);
	assert_non_null(strstr(errors, "same argv"));
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
	errors[0] = '\0';
	log_set_hook(keep_errors, NULL);
	log_set_quiet(1);
	assert_int_equal(local_checkpoint_run(&lc), -EINVAL);
	log_set_quiet(0);
	assert_non_null(strstr(errors, "guest layouts differ"));
	assert_non_null(strstr(errors, "libgcc_s"));
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
	errors[0] = '\0';
	log_set_hook(keep_errors, NULL);
	log_set_quiet(1);
	assert_int_equal(local_checkpoint_run(&lc), -ETIMEDOUT);
	log_set_quiet(0);
	assert_non_null(strstr(errors, "did not reach a pause point within 300 ms"));
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

/* A command reaching a running guest is answered "busy" at once, so a
 * daemon that lost track of the guest's state does not hang. */
static void test_command_while_running(void **state)
{
	const char *args[] = { "--ram", "8", NULL };
	const uint64_t arg[4] = { 0 };
	int64_t res = 0;

	(void)state;
	assert_int_equal(tg_launch(&ga, "A", "memstress", args, 0), 0);
	assert_int_equal(guest_start(&ga.g), 0);
	ga.g.paused = true;		/* what a confused daemon might think */
	assert_int_equal(guest_cmd(&ga.g, GUEST_CMD_BRK, arg, &res, NULL, 0), 0);
	assert_int_equal(res, -EBUSY);
	ga.g.paused = false;
	assert_int_equal(tg_ask(&ga, "hash", NULL, 0), 0);
}

/* What the launcher and the runtime refuse, and how they say it. */
static void test_launch_refusals(void **state)
{
	const char *args[] = { NULL };
	struct guest_params p = { .name = "X", .stdout_fd = -1, .stderr_fd = -1 };
	char *argv[] = { "true", NULL };
	struct guest g;

	(void)state;
	errors[0] = '\0';
	log_set_hook(keep_errors, NULL);
	log_set_quiet(1);
	/* an unlimited stack would give the legacy layout */
	assert_int_equal(tg_launch(&ga, "A", "memstress", args, RLIM_INFINITY), -EINVAL);
	assert_non_null(strstr(errors, "unlimited RLIMIT_STACK"));
	/* a program that is not a colo guest */
	p.path = "/bin/true";
	p.argv = argv;
	assert_int_equal(guest_launch(&g, &p), -EPROTO);
	assert_non_null(strstr(errors, "exited before its runtime said hello"));
	/* a relative path */
	p.path = "bin/true";
	assert_int_equal(guest_launch(&g, &p), -EINVAL);
	assert_non_null(strstr(errors, "must be absolute"));
	/* a bad MAC is refused by the runtime itself, with its reason */
	{
		char path[4096];
		char *mav[] = { "memstress", NULL };

		p.path = guest_binary("memstress", path, sizeof(path));
		p.argv = mav;
		p.mac = "52:54:zz";
		assert_true(guest_launch(&g, &p) < 0);
		assert_non_null(strstr(errors, "refused to start"));
		assert_non_null(strstr(errors, "is not a MAC address"));
	}
	log_set_quiet(0);
}

/* Run directly, without the launcher, a guest says what is missing. */
static void test_runtime_needs_launcher(void **state)
{
	char path[4096], cmd[4200], line[512] = "";
	FILE *f;
	int status;

	(void)state;
	snprintf(cmd, sizeof(cmd), "%s 2>&1", guest_binary("memstress", path, sizeof(path)));
	f = popen(cmd, "r");
	assert_non_null(f);
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	status = pclose(f);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	assert_non_null(strstr(line, "no runtime channel"));
}

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
		cmocka_unit_test_teardown(test_command_while_running, teardown),
		cmocka_unit_test_teardown(test_launch_refusals, teardown),
		cmocka_unit_test_teardown(test_runtime_needs_launcher, teardown),
	};

	log_set_level(LOG_WARN);
	return cmocka_run_group_tests_name("local_checkpoint", tests, NULL, NULL);
}
