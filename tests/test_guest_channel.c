/*
 * test_guest_channel.c - the daemon's end of a guest's runtime channel:
 * commands and their timeouts, late replies, and a guest that reads
 * nothing (stuck in a handler, or stopped by a signal), which must never
 * block the daemon nor fill its channel.
 *
 * Guests are real memstress processes on the guest runtime.
 */
#include <errno.h>
#include <linux/sockios.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "fault.h"
#include "guests.h"
#include "log.h"
#include "log_capture.h"

static struct test_guest ga;

static int teardown(void **state)
{
	(void)state;
	alarm(0);
	if (ga.g.pid > 0)
		kill(ga.g.pid, SIGCONT);
	fault_inject(FI_NONE);
	unsetenv("COLO_FAULT_AT");
	tg_destroy(&ga);
	log_capture_stop();
	log_set_quiet(0);
	return 0;
}

/* Bytes of ours the guest has not read. */
static int unread(const struct test_guest *t)
{
	int n = -1;

	assert_int_equal(ioctl(t->g.chan, SIOCOUTQ, &n), 0);
	return n;
}

static void launch_memstress(void)
{
	const char *args[] = { "--ram", "8", NULL };

	assert_int_equal(tg_launch(&ga, "A", "memstress", args, 0), 0);
	assert_int_equal(guest_start(&ga.g), 0);
	assert_int_equal(tg_ask(&ga, "hash", NULL, 0), 0);
}

/*
 * A guest stopped by a signal reads nothing. The first stop gives up
 * after its timeout and leaves a PAUSE and a CANCEL unread; a thousand
 * more tries each come back at once and send nothing more (each used to
 * queue another pair, until the channel was full and the daemon's loop
 * blocked in sendmsg for good). Continued, the guest takes the pair, and
 * stops and runs as ever.
 */
static void test_stuck_guest_is_sent_one_pause(void **state)
{
	int after_first, tries = 1000;
	long long t0, waited;
	char r[256];

	(void)state;
	launch_memstress();
	alarm(60);		/* the old code blocked here: fail, not hang */
	assert_int_equal(kill(ga.g.pid, SIGSTOP), 0);
	log_set_quiet(1);
	log_capture_start();
	assert_int_equal(guest_stop(&ga.g, 50), -ETIMEDOUT);
	after_first = unread(&ga);
	assert_true(after_first > 0);
	t0 = colo_now_ms();
	for (int i = 0; i < tries; i++) {
		assert_int_equal(guest_stop(&ga.g, 50), -ETIMEDOUT);
		if (unread(&ga) != after_first)
			fail_msg("try %d queued more for a guest that reads "
				 "nothing: %d bytes unread, %d after the first",
				 i + 2, unread(&ga), after_first);
	}
	waited = colo_now_ms() - t0;
	if (waited > 2000)
		fail_msg("%d stops of a stuck guest took %lld ms: they wait "
			 "for it again", tries, waited);
	if (strstr(strstr(log_captured(), "pause point") + 1, "pause point"))
		fail_msg("the stuck guest was reported more than once:\n%s",
			 log_captured());
	log_set_quiet(0);

	assert_int_equal(kill(ga.g.pid, SIGCONT), 0);
	assert_int_equal(tg_ask(&ga, "step 5", r, sizeof(r)), 0);
	assert_string_equal(r, "ok step 5");
	assert_int_equal(unread(&ga), 0);
	assert_int_equal(guest_stop(&ga.g, 2000), 0);
	assert_true(ga.g.paused);
	assert_int_equal(guest_continue(&ga.g), 0);
	assert_int_equal(tg_ask(&ga, "step 5", r, sizeof(r)), 0);
	assert_string_equal(r, "ok step 5");
}

/*
 * Frames for a guest that reads nothing fill its channel and are then
 * refused with -EAGAIN, said once; the daemon never blocks on it. (A
 * frame not for memstress is dropped by it unanswered.)
 */
static void test_frames_to_stuck_guest_refused(void **state)
{
	unsigned char frame[1024] = { [12] = 0x08, [13] = 0x00 };
	int ret = 0, sent = 0;
	char r[256];

	(void)state;
	launch_memstress();
	alarm(60);
	assert_int_equal(kill(ga.g.pid, SIGSTOP), 0);
	log_set_quiet(1);
	log_capture_start();
	while (sent < 100000 &&
	       !(ret = guest_send_frame(&ga.g, frame, sizeof(frame))))
		sent++;
	log_set_quiet(0);
	assert_int_equal(ret, -EAGAIN);
	assert_true(sent > 0);
	assert_int_equal(guest_send_frame(&ga.g, frame, sizeof(frame)), -EAGAIN);
	assert_non_null(strstr(log_captured(), "channel is full"));
	if (strstr(strstr(log_captured(), "channel is full") + 1,
		   "channel is full"))
		fail_msg("a full channel was reported for every frame");

	assert_int_equal(kill(ga.g.pid, SIGCONT), 0);
	for (long long end = colo_now_ms() + 10000;
	     unread(&ga) > 0 && colo_now_ms() < end;)
		assert_int_equal(guest_poll(&ga.g, 10), 0);	/* it drains */
	assert_int_equal(tg_ask(&ga, "step 5", r, sizeof(r)), 0);
	assert_string_equal(r, "ok step 5");
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

/*
 * A command is bounded by the guest's cmd_timeout_ms, not the 5 s
 * default; the reply that comes after that is dropped quietly and the
 * next command gets its own.
 */
static void test_command_timeout(void **state)
{
	const char *args[] = { "--ram", "8", NULL };
	const struct guest_params gp = { .cmd_timeout_ms = 300 };
	struct colo_guest_layout l;
	long long t0, waited;
	int ret;

	(void)state;
	assert_int_equal(tg_launch_params(&ga, "A", "memstress", args, &gp), 0);
	assert_int_equal(guest_start(&ga.g), 0);
	assert_int_equal(tg_ask(&ga, "hash", NULL, 0), 0);
	assert_int_equal(guest_stop(&ga.g, 2000), 0);
	assert_int_equal(kill(ga.g.pid, SIGSTOP), 0);	/* it cannot answer */
	log_set_quiet(1);
	t0 = colo_now_ms();
	ret = guest_layout(&ga.g, &l);
	waited = colo_now_ms() - t0;
	log_set_quiet(0);
	assert_int_equal(kill(ga.g.pid, SIGCONT), 0);
	assert_int_equal(ret, -ETIMEDOUT);
	if (waited < 250 || waited > 2000)
		fail_msg("a command with a 300 ms timeout waited %lld ms", waited);

	log_capture_start();
	assert_int_equal(guest_layout(&ga.g, &l), 0);	/* the late one first */
	assert_int_equal(l.tid, ga.g.pid);
	assert_int_equal(guest_continue(&ga.g), 0);
	assert_int_equal(tg_ask(&ga, "step 10", NULL, 0), 0);
	if (log_captured()[0])
		fail_msg("the late reply was not dropped quietly: %s", log_captured());
}

/*
 * FI_GUEST_LATE_REPLY: the COLO_FAULT_AT-th CONTINUE waits out the whole
 * command timeout and fails with -ETIMEDOUT; the guest is taken as
 * running (it is), and the reply that comes later is dropped quietly
 * wherever it turns up.
 */
static void test_late_continue_reply(void **state)
{
	const char *args[] = { "--ram", "8", NULL };
	const struct guest_params gp = { .cmd_timeout_ms = 300 };
	long long t0, waited;
	char r[256];
	int ret;

	(void)state;
	assert_int_equal(tg_launch_params(&ga, "A", "memstress", args, &gp), 0);
	assert_int_equal(guest_start(&ga.g), 0);
	assert_int_equal(tg_ask(&ga, "hash", NULL, 0), 0);
	setenv("COLO_FAULT_AT", "2", 1);
	log_set_quiet(1);
	fault_inject(FI_GUEST_LATE_REPLY);
	assert_int_equal(guest_stop(&ga.g, 2000), 0);
	assert_int_equal(guest_continue(&ga.g), 0);	/* the first is fine */
	assert_int_equal(guest_stop(&ga.g, 2000), 0);
	t0 = colo_now_ms();
	ret = guest_continue(&ga.g);			/* the second is late */
	waited = colo_now_ms() - t0;
	fault_inject(FI_NONE);
	log_set_quiet(0);
	assert_int_equal(ret, -ETIMEDOUT);
	if (waited < 250 || waited > 2000)
		fail_msg("the late CONTINUE waited %lld ms, not its 300 ms timeout",
			 waited);
	assert_false(ga.g.paused);

	log_capture_start();
	assert_int_equal(tg_ask(&ga, "step 10", r, sizeof(r)), 0);
	assert_string_equal(r, "ok step 10");
	assert_int_equal(guest_stop(&ga.g, 2000), 0);
	assert_int_equal(guest_continue(&ga.g), 0);
	assert_int_equal(tg_ask(&ga, "hash", NULL, 0), 0);
	if (log_captured()[0])
		fail_msg("the late reply was not dropped quietly: %s", log_captured());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_stuck_guest_is_sent_one_pause, teardown),
		cmocka_unit_test_teardown(test_frames_to_stuck_guest_refused, teardown),
		cmocka_unit_test_teardown(test_command_while_running, teardown),
		cmocka_unit_test_teardown(test_command_timeout, teardown),
		cmocka_unit_test_teardown(test_late_continue_reply, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
