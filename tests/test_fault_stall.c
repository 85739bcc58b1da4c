/*
 * test_fault_stall.c - the pair with a daemon or a guest stopped, stuck
 * or late, and the deadlines that bound them: a secondary daemon stopped,
 * a secondary guest stuck in a handler, a guest's late reply, a daemon
 * stopped and continued, a checkpoint's deadline (not the heartbeats)
 * bounding its load, the primary daemon stopped in a checkpoint, and a
 * secondary guest that does not stop within its stop budget.
 *
 * One test per scenario. Daemons and guests are stopped with SIGSTOP;
 * fault points are picked with the daemon's environment (COLO_FAULT,
 * COLO_FAULT_AT: checkpoint/fault.h); fake peers (tests/lib/fake_peer.h)
 * play a secondary record by record; what the fault tests share is in
 * tests/lib/fault_pair.h. Every figure a test decides on is printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "colo_proto.h"
#include "fake_peer.h"
#include "fault_pair.h"
#include "pair_lib.h"

/* --- F4: a stopped secondary daemon --------------------------------------- */

static void test_secondary_daemon_stopped(void **state)
{
	char because[256];
	double aborted, last;
	uint32_t c1, c2;
	int64_t t0;
	pid_t a;

	(void)state;
	pair_must(pair_configs(GUEST_ARGS, NULL));
	pair_must(pair_start());
	assert_pair_protects(5);
	pair_must(pair_sigstop(pid_of("sec", "pid")));
	t0 = pair_now_ms();
	pair_must(pair_wait_state("pri", "solo", PAIR_HEARTBEAT_MS + 3000));
	pair_must(pair_status_str("pri", "solo_because", because, sizeof(because)));
	a = pid_of("pri", "guest_pid");
	/* the guest runs: its memory changes (a few tries, it is alive) */
	c1 = c2 = running_crc(a);
	for (int i = 0; i < 10 && c1 == c2; i++) {
		pair_sleep_ms(300);
		c2 = running_crc(a);
	}
	aborted = pair_status_num("pri", "checkpoints_aborted");
	last = pair_status_num("pri", "pause_last_ms");
	print_message("solo %lld ms after the secondary stopped, because '%s'; "
		      "its guest hashes to %08x, then %08x; %.0f checkpoint(s) "
		      "aborted, the last pause %.0f ms\n",
		      (long long)(pair_now_ms() - t0), because, c1, c2, aborted,
		      last);
	assert_true(because[0] != '\0');
	assert_true(c1 != c2);
	/* the checkpoint cut short is in the figures, not hidden */
	assert_true(aborted >= 1);
	assert_true(last >= PAIR_HEARTBEAT_MS * 0.9);
}

/* --- F5: a secondary guest stuck in a handler ------------------------------- */

#define STUCK_MS	6000	/* how long the guest stays stopped */
#define ANSWER_MS	2000	/* a status must answer within this */

static void test_secondary_guest_stuck(void **state)
{
	int64_t end, slowest = 0;
	unsigned calls = 0;
	pid_t b;

	(void)state;
	pair_must(pair_configs(GUEST_ARGS, NULL));
	pair_must(pair_start());
	assert_pair_protects(5);
	b = pid_of("sec", "guest_pid");
	pair_must(pair_sigstop(b));
	end = pair_now_ms() + STUCK_MS;
	while (pair_now_ms() < end) {
		int64_t t = pair_now_ms(), took;
		int ret = pair_run("$C -c $D/sec status");

		took = pair_now_ms() - t;
		calls++;
		if (took > slowest)
			slowest = took;
		if (ret != 0 || took >= ANSWER_MS)
			fail_msg("status %u, %lld ms after the guest stopped: "
				 "exit %d in %lld ms:\n%s", calls,
				 (long long)(t - (end - STUCK_MS)), ret,
				 (long long)took, pair_out);
		pair_sleep_ms(100);
	}
	pair_must(pair_sigcont(b));
	print_message("%u status calls with the secondary's guest stopped, the "
		      "slowest %lld ms\n", calls, (long long)slowest);
}

/* --- F5b: the primary's guest stopped by a signal ----------------------------- */

#define STOPPED_GUEST_MS	15000

/*
 * The primary's guest, stopped by a signal, reads nothing and reaches no
 * pause point: no checkpoint begins, but the primary answers status and
 * the secondary keeps hearing it all along. (Each stop tried used to
 * queue another PAUSE and CANCEL until the guest's channel was full and
 * the primary's loop blocked in sendmsg for good, 77 s in here; the
 * guest channel test shows it in a second.) Continued, the guest is
 * checkpointed again.
 */
static void test_primary_guest_sigstopped(void **state)
{
	double before, after;
	int64_t end;
	pid_t a;

	(void)state;
	pair_must(pair_configs(GUEST_ARGS, NULL));
	pair_must(pair_start());
	assert_pair_protects(3);
	a = pid_of("pri", "guest_pid");
	/* stopped between checkpoints (in one, its command timeout would
	 * end the checkpoint and the pair): a long gap, begun just now */
	assert_int_equal(pair_run("$C -c $D/pri set checkpoint_delay_ms 3000"), 0);
	before = pair_status_num("pri", "checkpoints");
	pair_must(pair_wait_num("pri", "checkpoints", before + 1, FORM_SECS));
	pair_must(pair_sigstop(a));
	before = pair_status_num("pri", "checkpoints");
	end = pair_now_ms() + STOPPED_GUEST_MS;
	while (pair_now_ms() < end) {
		int ret = pair_run("$C -c $D/pri status");

		if (ret != 0)
			fail_msg("the primary's status exited with %d while its "
				 "guest was stopped:\n%s", ret, pair_out);
		pair_must(pair_protecting("sec"));
		pair_sleep_ms(500);
	}
	after = pair_status_num("pri", "checkpoints");
	print_message("guest stopped for %d ms: checkpoints %.0f, then %.0f; "
		      "status answered throughout\n", STOPPED_GUEST_MS, before,
		      after);
	assert_true(after <= before + 1);
	pair_must(pair_log_has("pri", "has not reached a pause point"));
	pair_must(pair_sigcont(a));
	assert_int_equal(pair_run("$C -c $D/pri set checkpoint_delay_ms %d",
				  PAIR_DELAY_MS), 0);
	pair_must(pair_wait_num("pri", "checkpoints", after + 3, FORM_SECS));
	pair_must(pair_protecting("pri"));
	assert_held_identical();
}

/* --- F12: a late reply from the guest ------------------------------------------ */

static void test_guest_late_reply(void **state)
{
	struct pair_role pri = {
		.prefix = "COLO_FAULT=guest-late-reply COLO_FAULT_AT=5",
	};
	pid_t a;

	(void)state;
	pair_must(pair_configs_roles(GUEST_ARGS, &pri, NULL));
	pair_must(pair_start());
	a = pid_of("pri", "guest_pid");
	pair_must(pair_wait_num("pri", "checkpoints", 15, 30));
	print_message("after the late reply: %.0f checkpoints, guest pid %d "
		      "then %d\n", pair_status_num("pri", "checkpoints"),
		      (int)a, (int)pid_of("pri", "guest_pid"));
	assert_int_equal(pid_of("pri", "guest_pid"), a);
	assert_true(pair_alive(a));
	pair_must(pair_protecting("pri"));
	pair_must(pair_protecting("sec"));
	assert_int_equal(pair_log_count("sec", "lost the primary",
					(const char *)NULL), 0);
}

/* --- F13: a daemon stopped and continued ------------------------------------ */

static void test_daemon_stopped_and_continued(void **state)
{
	struct pair_role pri = { .heartbeat_timeout_ms = 10000 };
	struct pair_role sec = { .heartbeat_timeout_ms = 1000 };
	pid_t sd;

	(void)state;
	pair_must(pair_configs_roles(GUEST_ARGS, &pri, &sec));
	pair_must(pair_start());
	assert_pair_protects(5);
	sd = pid_of("sec", "pid");
	pair_must(pair_sigstop(sd));
	pair_sleep_ms(2500);
	pair_must(pair_sigcont(sd));
	pair_sleep_ms(1500);
	pair_must(pair_protecting("sec"));
	assert_int_equal(pair_log_count("sec", "lost the primary",
					(const char *)NULL), 0);
	print_message("stopped 2.5 s with a 1 s heartbeat timeout: still "
		      "protecting, %.0f checkpoints\n",
		      pair_status_num("sec", "checkpoints"));
}

/* --- F16: a checkpoint's deadline, not the heartbeats, bounds its load ------ */

/* What the primary allows a secondary for loading a page (primary_checkpoint.c). */
#define LOAD_US_PER_PAGE	50

/*
 * A fake secondary answers checkpoint 1 after the heartbeat timeout, but
 * within what its pages add to the deadline: the primary takes it. It
 * never answers checkpoint 2, heartbeats going on: the primary drops it
 * at that checkpoint's deadline, whatever the heartbeats say.
 */
static void test_checkpoint_deadline(void **state)
{
	uint8_t loaded[COLO_VMSTATE_LOADED_LEN] = { 0 };
	char because[256] = "";
	struct fake_peer *f;
	uint64_t id, pages;
	int64_t allow_ms, t0, took;
	uint32_t hash;

	(void)state;
	/* a guest that dirties its whole 64 MiB as fast as it can: the
	 * checkpoints carry thousands of pages */
	pair_must(pair_configs("--ram 64 --wss 64 --rate 2000 --tick 1", NULL));
	f = fake_secondary_for_primary(&hash);
	pair_must(fake_send_hello(f, COLO_ROLE_SECONDARY, hash));
	pair_must(fake_until(f, COLO_CHECKPOINT_REQUEST, 20000));
	id = fake_id(f);
	pair_must(fake_send_id(f, COLO_CHECKPOINT_REPLY, id));
	pair_must(fake_until(f, COLO_VMSTATE_SIZE, 20000));
	pages = get_be64(f->payload + 8);
	allow_ms = (int64_t)(pages * LOAD_US_PER_PAGE / 1000);
	print_message("checkpoint %llu carries %llu pages: %lld ms more than "
		      "the heartbeat timeout to load it\n",
		      (unsigned long long)id, (unsigned long long)pages,
		      (long long)allow_ms);
	if (allow_ms < 200)
		fail_msg("checkpoint %llu carries only %llu pages",
			 (unsigned long long)id, (unsigned long long)pages);
	pair_must(fake_send_id(f, COLO_VMSTATE_RECEIVED, id));
	/* late for the heartbeats, in time for the deadline */
	if (fake_pump(f, PAIR_HEARTBEAT_MS + (int)allow_ms / 2))
		fail_msg("the primary dropped a secondary loading checkpoint "
			 "%llu within its deadline", (unsigned long long)id);
	put_be64(loaded, id);
	pair_must(fake_send(f, COLO_VMSTATE_LOADED, loaded, sizeof(loaded)));
	pair_must(pair_wait_num("pri", "checkpoints", (double)id, 5));

	/* checkpoint 2: heartbeats, but never LOADED */
	pair_must(fake_until(f, COLO_CHECKPOINT_REQUEST, 5000));
	id = fake_id(f);
	pair_must(fake_send_id(f, COLO_CHECKPOINT_REPLY, id));
	pair_must(fake_until(f, COLO_VMSTATE_SIZE, 10000));
	t0 = pair_now_ms();
	pages = get_be64(f->payload + 8);
	allow_ms = (int64_t)(pages * LOAD_US_PER_PAGE / 1000);
	serve_until_state(f, "pri", "solo", PAIR_HEARTBEAT_MS + (int)allow_ms +
			  2000);
	took = pair_now_ms() - t0;
	pair_must(pair_status_str("pri", "solo_because", because, sizeof(because)));
	print_message("checkpoint %llu (%llu pages) never loaded: solo %lld ms "
		      "after its VMSTATE_SIZE, because '%s'\n",
		      (unsigned long long)id, (unsigned long long)pages,
		      (long long)took, because);
	if (!strstr(because, "did not load checkpoint"))
		fail_msg("solo because '%s', not the checkpoint's deadline",
			 because);
	/* the checkpoint cut short counts, its pause the longest */
	assert_int_equal(pair_status_num("pri", "checkpoints_aborted"), 1);
	assert_true(pair_status_num("pri", "pause_last_ms") >= PAIR_HEARTBEAT_MS);
}

/* --- F17: the primary daemon stopped in a checkpoint -------------------------- */

/*
 * The primary daemon is stopped (SIGSTOP) while it waits for checkpoint
 * 1 to be loaded, past its deadline; continued, it gives the secondary
 * a fresh deadline: a LOADED that comes soon after is taken.
 */
static void test_primary_stopped_in_checkpoint(void **state)
{
	uint8_t loaded[COLO_VMSTATE_LOADED_LEN] = { 0 };
	struct fake_peer *f;
	uint32_t hash;
	uint64_t id;
	pid_t pd;

	(void)state;
	pair_must(pair_configs(GUEST_ARGS, NULL));
	f = fake_secondary_for_primary(&hash);
	pd = pid_of("pri", "pid");
	pair_must(fake_send_hello(f, COLO_ROLE_SECONDARY, hash));
	pair_must(fake_until(f, COLO_CHECKPOINT_REQUEST, 20000));
	id = fake_id(f);
	pair_must(fake_send_id(f, COLO_CHECKPOINT_REPLY, id));
	pair_must(fake_until(f, COLO_VMSTATE_SIZE, 20000));
	pair_must(fake_send_id(f, COLO_VMSTATE_RECEIVED, id));
	pair_must(pair_sigstop(pd));
	pair_sleep_ms(PAIR_HEARTBEAT_MS + 2000);
	pair_must(pair_sigcont(pd));
	if (fake_pump(f, 300))
		fail_msg("the primary dropped its secondary when continued");
	put_be64(loaded, id);
	pair_must(fake_send(f, COLO_VMSTATE_LOADED, loaded, sizeof(loaded)));
	pair_must(pair_wait_num("pri", "checkpoints", (double)id, 5));
	print_message("stopped %d ms in checkpoint %llu, the primary took its "
		      "LOADED: state %s\n", PAIR_HEARTBEAT_MS + 2000,
		      (unsigned long long)id,
		      pair_status_is("pri", "state", "colo") ? "colo" : "?");
}

/* --- F21: a secondary guest that does not stop, with a short heartbeat ------ */

/*
 * The secondary's stop budget is its stop timeout, at most half its
 * heartbeat timeout: with a 1 s heartbeat timeout, a guest that does
 * not stop is given up after 0.5 s, before the heartbeats could end the
 * pair (the primary, 10 s, is patient).
 */
static void test_secondary_stop_budget(void **state)
{
	struct pair_role pri = { .heartbeat_timeout_ms = 10000 };
	struct pair_role sec = { .heartbeat_timeout_ms = 1000 };

	(void)state;
	pair_must(pair_configs_roles(GUEST_ARGS, &pri, &sec));
	pair_must(pair_start());
	assert_pair_protects(5);
	/* stop B while it runs, not while it is paused in a checkpoint
	 * (a paused B answers nothing either, but that is another fault):
	 * long gaps make the pause a rare moment, and we wait for one */
	assert_int_equal(pair_run("$C -c $D/pri set checkpoint_delay_ms 1500"), 0);
	pair_sleep_ms(300);
	pair_must(pair_wait_state("sec", "colo", 3000));
	pair_must(pair_sigstop(pid_of("sec", "guest_pid")));
	pair_must(pair_wait_log("sec", "our guest did not reach a pause point "
				"within", 5000));
	pair_must(pair_wait_state("sec", "peer-lost", 3000));
}

/* A test name pattern (cmocka's filter, '*' allowed) runs just those. */
int main(int argc, char **argv)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, pair_setup, pair_teardown)
	const struct CMUnitTest tests[] = {
		T(test_secondary_daemon_stopped),
		T(test_secondary_guest_stuck),
		T(test_primary_guest_sigstopped),
		T(test_guest_late_reply),
		T(test_daemon_stopped_and_continued),
		T(test_checkpoint_deadline),
		T(test_primary_stopped_in_checkpoint),
		T(test_secondary_stop_budget),
	};
#undef T

	if (pair_init("fault-stall"))
		return 1;
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("fault-stall", tests, NULL, NULL);
}
