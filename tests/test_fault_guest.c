/*
 * test_fault_guest.c - the pair when the guest's own end comes, or its
 * clock differs: the primary's guest killed by a signal, the primary's
 * guest exiting by itself, and hosts whose clocks are 600 s apart.
 *
 * One test per scenario, on real daemons: the guest is killed with
 * SIGKILL or told to exit (memstress --exit-after), and the primary is
 * started in a time namespace of its own (unshare --time); no fault
 * point (COLO_FAULT) or fake peer is needed. What the fault tests share
 * is in tests/lib/fault_pair.h. Every figure a test decides on is
 * printed.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "fault_pair.h"
#include "pair_lib.h"

/* --- F11: the primary's guest killed by a signal ----------------------------- */

static void test_primary_guest_killed(void **state)
{
	pid_t a, b, pd;
	int64_t end;
	bool lost = false;
	int lines;

	(void)state;
	pair_must(pair_configs(GUEST_ARGS, NULL));
	pair_must(pair_start());
	assert_pair_protects(5);
	a = pid_of("pri", "guest_pid");
	b = pid_of("sec", "guest_pid");
	pd = pid_of("pri", "pid");
	assert_int_equal(kill(a, SIGKILL), 0);
	end = pair_now_ms() + LOST_MS;
	while (!(lost = pair_status_is("sec", "state", "peer-lost")) &&
	       pair_now_ms() < end)
		pair_sleep_ms(50);
	/* the primary has had its say: it exited, or a second went by */
	end = pair_now_ms() + 1000;
	while (pair_alive(pd) && pair_now_ms() < end)
		pair_sleep_ms(50);
	lines = pair_log_count("pri", "exited", "killed by signal",
			       (const char *)NULL);
	pair_run("$C -c $D/sec status --json");
	print_message("secondary %s; the primary's log has %d lines about its "
		      "guest's end; secondary: %s", lost ? "peer-lost" :
		      "NOT peer-lost", lines, pair_out);
	assert_true(lost);
	assert_true(pair_alive(b));
	assert_int_equal(pid_of("sec", "guest_pid"), b);
	assert_in_range(lines, 0, 3);
}

/*
 * The primary's guest exits by itself (status 0): an end it asked for,
 * so the primary tells the secondary (GUEST_SHUTDOWN) and both stop, and
 * says so once: the guest's EOF must not keep its event firing.
 */
static void test_primary_guest_exits(void **state)
{
	pid_t pd, sd;
	int64_t end;
	int lines;

	(void)state;
	pair_must(pair_configs(GUEST_ARGS " --exit-after 4000", NULL));
	pair_must(pair_start());
	pd = pid_of("pri", "pid");
	sd = pid_of("sec", "pid");
	end = pair_now_ms() + 15000;
	while ((pair_alive(pd) || pair_alive(sd)) && pair_now_ms() < end)
		pair_sleep_ms(50);
	lines = pair_log_count("pri", "the guest exited with status 0",
			       (const char *)NULL);
	print_message("the guest exited: primary %s, secondary %s, %d line(s) "
		      "about it in the primary's log\n",
		      pair_alive(pd) ? "RUNS" : "gone",
		      pair_alive(sd) ? "RUNS" : "gone", lines);
	assert_false(pair_alive(pd));
	assert_false(pair_alive(sd));
	assert_int_equal(lines, 1);
}

/* --- F15: clock skew between the hosts ---------------------------------------- */

#define SKEW_S		600

static void test_clock_skew(void **state)
{
	char prefix[64], path[64], line[128];
	struct pair_role pri = { .prefix = prefix };
	long long offset = 0;
	double top = 0;
	FILE *f;

	(void)state;
	/* a time namespace SKEW_S ahead, its first process the starter */
	snprintf(prefix, sizeof(prefix), "unshare --time --monotonic %d --fork",
		 SKEW_S);
	pair_must(pair_configs_roles("--ram 32 --rate 40 --tick 3", &pri, NULL));
	pair_must(pair_start());
	/* the primary really lives SKEW_S seconds ahead */
	snprintf(path, sizeof(path), "/proc/%d/timens_offsets",
		 (int)pid_of("pri", "pid"));
	f = fopen(path, "re");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		sscanf(line, "monotonic %lld", &offset);
	fclose(f);
	assert_int_equal(offset, SKEW_S);
	pair_must(pair_wait_num("pri", "checkpoints", 10, FORM_SECS));
	for (int i = 0; i < 10; i++) {
		double v = pair_status_num("sec", "pages_own_dirty_last");

		print_message("pages_own_dirty_last %.0f\n", v);
		if (v > top)
			top = v;
		pair_sleep_ms(100);
	}
	print_message("the secondary's guest, %d s behind, dirtied at most "
		      "%.0f pages between checkpoints\n", SKEW_S, top);
	assert_true(top >= 20);
}

/* A test name pattern (cmocka's filter, '*' allowed) runs just those. */
int main(int argc, char **argv)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, pair_setup, pair_teardown)
	const struct CMUnitTest tests[] = {
		T(test_primary_guest_killed),
		T(test_primary_guest_exits),
		T(test_clock_skew),
	};
#undef T

	if (pair_init("fault-guest"))
		return 1;
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("fault-guest", tests, NULL, NULL);
}
