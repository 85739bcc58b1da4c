/*
 * test_net_compare.c - a protected kvstore in compare mode (the default):
 * the secondary's guest runs on the primary guest's inputs (the mirror
 * link), netcompare releases a reply once both guests sent the same, and
 * a difference costs a checkpoint. Real clients (redis-cli,
 * redis-benchmark) in the lab's client namespace (tests/lab/colo-lab.sh).
 *
 * The lab is built for each test and removed after it, also when the
 * test fails; the daemons are stopped and killed by pid (pair_lib.h).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kv_pair.h"
#include "net_lab.h"
#include "pair_lib.h"
#include "resp_compare.h"
#include "shell.h"

static char out[16384];

/* Mismatches found by netcompare, all reasons. */
static double mismatches(void)
{
	static const char *const reasons[] = {
		"payload", "length", "flags", "malformed",
	};
	double n = 0;

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		char key[64];

		snprintf(key, sizeof(key), "compare_mismatch_%s", reasons[i]);
		n += pair_status_num("pri", key);
	}
	return n;
}

static void print_compare(const char *when)
{
	print_message("%s: checkpoints %.0f (timer %.0f, mismatch %.0f, "
		      "timeout %.0f, queue full %.0f), compared %.0f primary "
		      "frames against %.0f, matched %.0f, mismatches %.0f\n",
		      when, pair_status_num("pri", "checkpoints"),
		      pair_status_num("pri", "checkpoints_timer"),
		      pair_status_num("pri", "checkpoints_mismatch"),
		      pair_status_num("pri", "checkpoints_timeout"),
		      pair_status_num("pri", "checkpoints_queue_full"),
		      pair_status_num("pri", "compare_primary_frames"),
		      pair_status_num("pri", "compare_secondary_frames"),
		      pair_status_num("pri", "compare_matched_frames"),
		      mismatches());
}

/* redis-benchmark in the client namespace; its summary lines in out. */
static int benchmark(const char *args)
{
	return lab_sh("client", out, sizeof(out), "redis-benchmark -h %s -p %d "
		      "%s -q 2>&1 | tr \"\\r\" \"\\n\" | grep -E \"requests "
		      "per second|ERR|rror\"", LAB_GUEST_IP, KV_PORT, args);
}

/* --- the pair matches ------------------------------------------------------ */

/*
 * redis-benchmark through the pair: the replies leave on a match, so
 * almost every frame is matched and next to no checkpoint is a
 * mismatch's; then the scripted command list gets the same bytes from
 * the protected guest as from Debian's redis-server (the unprotected
 * kvstore gives those too: test_kvstore_redis).
 */
static void test_benchmark_matches(void **state)
{
	double ckpts, matched, primary;
	int ret;

	(void)state;
	kv_pair_start(100, "", "");
	kv_cli_expect("PONG\n", "PING");
	ret = benchmark("-t set,get -n 20000 -c 50");
	print_message("redis-benchmark exited %d:\n%s", ret, out);
	assert_int_equal(ret, 0);
	if (strstr(out, "ERR") || strstr(out, "rror"))
		fail_msg("redis-benchmark printed errors:\n%s", out);
	print_compare("after 40000 requests from 50 clients");
	ckpts = pair_status_num("pri", "checkpoints");
	matched = pair_status_num("pri", "compare_matched_frames");
	primary = pair_status_num("pri", "compare_primary_frames");
	/* a reply leaves when it matches, not at a checkpoint */
	if (matched < 0.9 * primary)
		fail_msg("only %.0f of %.0f primary frames matched", matched,
			 primary);
	if (pair_status_num("pri", "checkpoints_mismatch") > 0.05 * ckpts)
		fail_msg("%.0f of %.0f checkpoints were a mismatch's",
			 pair_status_num("pri", "checkpoints_mismatch"), ckpts);
	pair_must(pair_protecting("pri"));
	pair_must(pair_protecting("sec"));
	kv_replies_equal_redis();
	print_compare("after the scripted commands");
}

/* A reply that lies in sequence space the same on both sides matches,
 * however each guest cut it into segments: the secondary's sends at most
 * 100 bytes a segment (its host's [net] tx_segment). */
static void test_other_segmentation_matches(void **state)
{
	double pf, sf;

	(void)state;
	kv_pair_start(100, "", "tx_segment = 100\n");
	kv_cli_expect("OK\n", "SET big "
		      "0123456789012345678901234567890123456789012345678901"
		      "2345678901234567890123456789012345678901234567890123"
		      "4567890123456789012345678901234567890123456789012345"
		      "6789012345678901234567890123456789012345678901234567");
	for (int i = 0; i < 4; i++)
		assert_int_equal(kv_cli("APPEND big %0500d", i), 0);
	assert_int_equal(benchmark("-t set,get -n 2000 -c 10 -d 3000"), 0);
	for (int i = 0; i < 20; i++)
		assert_int_equal(kv_cli("GETRANGE big 0 -1"), 0);
	print_compare("secondary at 100-byte segments");
	pf = pair_status_num("pri", "compare_primary_frames");
	sf = pair_status_num("pri", "compare_secondary_frames");
	/* the knob took: the secondary's guest sent more, smaller frames */
	if (sf < 1.5 * pf)
		fail_msg("the secondary sent %.0f frames to the primary's %.0f: "
			 "its segments were not smaller", sf, pf);
	assert_int_equal(mismatches(), 0);
	assert_int_equal(pair_status_num("pri", "checkpoints_mismatch"), 0);
}

/* --- a difference costs a checkpoint ----------------------------------------- */

/*
 * DEBUG PID answers each guest's own pid: the two replies differ, the
 * primary's leaves once, at the checkpoint the mismatch asked for, and
 * the secondary's never.
 */
static void test_different_reply_checkpoints(void **state)
{
	char want[32];
	double before;
	pid_t a, b;

	(void)state;
	kv_pair_start(5000, "", "");
	a = (pid_t)pair_status_num("pri", "guest_pid");
	b = (pid_t)pair_status_num("sec", "guest_pid");
	assert_true(a > 0 && b > 0 && a != b);
	kv_cli_expect("PONG\n", "PING");
	before = pair_status_num("pri", "checkpoints_mismatch");
	/* B's copy of the guest sees its own pid: a different reply */
	snprintf(want, sizeof(want), "%d\n", (int)a);
	kv_cli_expect(want, "DEBUG PID");
	print_compare("after DEBUG PID");
	assert_true(pair_status_num("pri", "checkpoints_mismatch") >= before + 1);
	assert_true(pair_status_num("pri", "compare_mismatch_payload") +
		    pair_status_num("pri", "compare_mismatch_length") >= 1);
	/* and the pair goes on matching */
	kv_cli_expect("OK\n", "SET after pid");
	kv_cli_expect("pid\n", "GET after");
	pair_must(pair_protecting("pri"));
}

/*
 * A secondary guest that stops answering: the primary's replies wait for
 * it compare_timeout_ms, then the timeout asks for a checkpoint, which
 * lets them go once the secondary's guest can be stopped.
 */
static void test_stalled_secondary_times_out(void **state)
{
	pid_t b;
	int ret;

	(void)state;
	kv_pair_start(5000, "compare_timeout_ms = 100\n", "");
	kv_cli_expect("PONG\n", "PING");
	b = (pid_t)pair_status_num("sec", "guest_pid");
	pair_must(pair_sigstop(b));
	ret = lab_sh("client", out, sizeof(out), "(sleep 0.4; kill -CONT %d) & "
		     "redis-cli -h %s -p %d SET stalled 1; wait", (int)b,
		     LAB_GUEST_IP, KV_PORT);
	pair_sigcont(b);
	print_message("SET with the secondary's guest stopped: %s", out);
	assert_int_equal(ret, 0);
	assert_string_equal(out, "OK\n");
	print_compare("after the stall");
	assert_true(pair_status_num("pri", "checkpoints_timeout") >= 1);
	assert_true(pair_status_num("pri", "compare_checkpoints_timeout") >= 1);
	kv_cli_expect("1\n", "GET stalled");
	pair_must(pair_protecting("pri"));
	pair_must(pair_protecting("sec"));
}

/*
 * Output not compared (passthrough) waits for its checkpoint; with room
 * for 32 frames and 5 s between checkpoints, 20 clients fill the queue:
 * it asks for checkpoints, and nothing is dropped.
 */
static void test_full_queue_checkpoints(void **state)
{
	double asked;
	int ret;

	(void)state;
	kv_pair_start(5000, "passthrough = 6379\nmax_queue_frames = 32\n", "");
	ret = benchmark("-t set -n 400 -c 20");
	print_message("redis-benchmark exited %d: %s", ret, out);
	assert_int_equal(ret, 0);
	print_compare("passthrough, 32 frames of room");
	asked = pair_status_num("pri", "checkpoints_queue_full");
	assert_true(asked >= 5);
	assert_true(pair_status_num("pri", "compare_passthrough_frames") > 400);
	assert_int_equal(pair_status_num("pri", "compare_dropped_frames"), 0);
}

/* --- the clock feed ------------------------------------------------------- */

/* Keys that expire on guest time, on both sides: run with the feed on and
 * off; the counts are reported, not judged (a difference is rare). */
static double expiry_run(bool feed)
{
	kv_pair_start(100, feed ? "clock_feed = yes\n" : "clock_feed = no\n",
		      "");
	for (int i = 0; i < 30; i++) {
		assert_int_equal(kv_cli("SET exp%d v PX %d", i, 5 + i % 20), 0);
		pair_sleep_ms(10);
	}
	assert_int_equal(benchmark("-t set,get -n 5000 -c 20"), 0);
	print_compare(feed ? "clock feed on" : "clock feed off");
	if (feed) {
		/* the secondary's guest got the ticks too */
		assert_true(pair_status_num("pri", "mirror_ticks") > 10);
		assert_true(pair_status_num("sec", "mirror_delivered") >
			    pair_status_num("sec", "mirror_inputs"));
	} else {
		assert_int_equal(pair_status_num("pri", "mirror_ticks"), 0);
	}
	return mismatches();
}

static void test_clock_feed_on_and_off(void **state)
{
	double on, off;

	(void)state;
	on = expiry_run(true);
	pair_teardown(state);
	pair_must(pair_setup(state) ? (pair_set_why("setup again"), -1) : 0);
	off = expiry_run(false);
	print_message("mismatches with the clock feed: %.0f, without: %.0f\n",
		      on, off);
}

int main(int argc, char **argv)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, kv_lab_setup, kv_lab_teardown)
	const struct CMUnitTest tests[] = {
		T(test_benchmark_matches),
		T(test_other_segmentation_matches),
		T(test_different_reply_checkpoints),
		T(test_stalled_secondary_times_out),
		T(test_full_queue_checkpoints),
		T(test_clock_feed_on_and_off),
	};
#undef T

	if (pair_init("net-compare"))
		return 1;
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("net-compare", tests, NULL, NULL);
}
