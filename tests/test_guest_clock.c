/*
 * test_guest_clock.c - the fed guest clock (guest_abi.h): a daemon drives
 * a guest's clock with TICKs and stamped frames (guest_send_tick(),
 * guest_send_frame_at()). The clock then reads what it was fed, never
 * goes back, stands still with the host's time, is what a pause reports
 * and what CONTINUE sets; the timer runs at the fed times only, as often
 * as the unfed loop would at them, and the guest never wakes by itself. An unfed guest is unchanged: its
 * clock and timer run with the host's time.
 *
 * Guests are real memstress processes: "clock" answers colo_clock_ms(),
 * and with --rate 1 each run of its timer is one write step, which moves
 * "hash" as "step 1" does. A fed guest's TCP retransmission (lwIP's
 * timers on the fed clock) is test_guest_net_hostile's.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "guests.h"
#include "log.h"
#include "log_capture.h"

#define ETH_TYPE_MEMSTRESS	0x88b5

static struct test_guest ga, gb;

static int teardown(void **state)
{
	(void)state;
	tg_destroy(&ga);
	tg_destroy(&gb);
	log_capture_stop();
	log_set_quiet(0);
	return 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* memstress's answer to cmd (r: NULL, not kept). */
static void ask(struct test_guest *t, const char *cmd, char *r, size_t len)
{
	assert_int_equal(tg_ask(t, cmd, r, len), 0);
}

static uint64_t clock_of(struct test_guest *t)
{
	unsigned long long ms = 0;
	char r[256];

	ask(t, "clock", r, sizeof(r));
	if (sscanf(r, "clock %llu", &ms) != 1)
		fail_msg("%s answers 'clock' with '%s'", t->g.name, r);
	return ms;
}

/* memstress's running hash, as text. */
static void hash_of(struct test_guest *t, char *h, size_t len)
{
	ask(t, "hash", h, len);
	assert_non_null(strstr(h, "hash "));
}

/* Command cmd in a frame stamped with guest clock clock_ms; wait for the
 * answer. */
static void ask_at(struct test_guest *t, const char *cmd, uint64_t clock_ms,
		   char *r, size_t len)
{
	static const unsigned char dst[6] = COLO_GUEST_MAC_DEFAULT;
	unsigned char frame[128] = { 0 };
	size_t n = strlen(cmd);

	memcpy(frame, dst, 6);
	frame[6] = 0x02;
	frame[11] = 0x01;
	frame[12] = ETH_TYPE_MEMSTRESS >> 8;
	frame[13] = ETH_TYPE_MEMSTRESS & 0xff;
	memcpy(frame + 14, cmd, n);
	assert_int_equal(guest_send_frame_at(&t->g, frame, 14 + n, clock_ms), 0);
	assert_int_equal(tg_wait(t, 10000, r, len), 0);
}

/* A TICK, then a round trip so that the guest has taken it. */
static void tick(struct test_guest *t, uint64_t clock_ms)
{
	assert_int_equal(guest_send_tick(&t->g, clock_ms), 0);
	assert_int_equal(tg_ask(t, "step 0", NULL, 0), 0);
}

static void launch(struct test_guest *t, const char *label, const char *rate)
{
	const char *args[] = { "--ram", "8", "--seed", "5", "--rate", rate, NULL };

	assert_int_equal(tg_launch(t, label, "memstress", args, 0), 0);
}

/*
 * Fed from before its start, a guest's clock reads what it was fed,
 * whatever the host's time does: 200 ms of sleep running or paused move
 * nothing, an earlier stamp leaves it, a later one (TICK or frame) moves
 * it; the pause reports it as its clock, CONTINUE(0) keeps it and
 * CONTINUE(clock) sets it, backwards too.
 */
static void test_fed_clock_reads_what_it_is_fed(void **state)
{
	struct colo_guest_layout l;
	char r[256];

	(void)state;
	launch(&ga, "A", "0");
	assert_int_equal(guest_send_tick(&ga.g, 1000), 0);
	assert_int_equal(guest_start(&ga.g), 0);
	assert_int_equal(clock_of(&ga), 1000);
	sleep_ms(200);
	assert_int_equal(clock_of(&ga), 1000);
	tick(&ga, 5000);
	assert_int_equal(clock_of(&ga), 5000);
	tick(&ga, 3000);			/* earlier: left */
	assert_int_equal(clock_of(&ga), 5000);
	ask_at(&ga, "clock", 4000, r, sizeof(r));
	assert_string_equal(r, "clock 5000");
	ask_at(&ga, "clock", 7000, r, sizeof(r));	/* the handler's time */
	assert_string_equal(r, "clock 7000");

	/* paused: the pause's clock is the fed one, 200 ms later too */
	assert_int_equal(guest_stop(&ga.g, 2000), 0);
	sleep_ms(200);
	assert_int_equal(guest_layout(&ga.g, &l), 0);
	assert_int_equal(l.clock_ms, 7000);
	assert_int_equal(guest_send_tick(&ga.g, 8000), -EBUSY);
	assert_int_equal(guest_continue(&ga.g), 0);
	assert_int_equal(clock_of(&ga), 7000);
	assert_int_equal(guest_stop(&ga.g, 2000), 0);
	assert_int_equal(guest_continue_at(&ga.g, 20000), 0);
	assert_int_equal(clock_of(&ga), 20000);
	assert_int_equal(guest_stop(&ga.g, 2000), 0);
	assert_int_equal(guest_continue_at(&ga.g, 9000), 0); /* a replica's */
	assert_int_equal(clock_of(&ga), 9000);
	tick(&ga, 8999);
	assert_int_equal(clock_of(&ga), 9000);
	tick(&ga, 9001);
	assert_int_equal(clock_of(&ga), 9001);
	sleep_ms(200);
	assert_int_equal(guest_stop(&ga.g, 2000), 0);
	assert_int_equal(guest_layout(&ga.g, &l), 0);
	assert_int_equal(l.clock_ms, 9001);
	assert_int_equal(guest_continue(&ga.g), 0);
}

/* Clocks the runtime could not keep, and 0 (no clock) for a TICK, are
 * refused by the daemon's side, said, and nothing is sent. */
static void test_fed_clock_limits(void **state)
{
	unsigned char frame[64] = { [12] = 0x08 };

	(void)state;
	launch(&ga, "A", "0");
	assert_int_equal(guest_start(&ga.g), 0);
	log_capture_start();
	log_set_quiet(1);
	assert_int_equal(guest_send_tick(&ga.g, COLO_GUEST_CLOCK_MAX_MS + 1),
			 -EINVAL);
	assert_int_equal(guest_send_tick(&ga.g, UINT64_MAX), -EINVAL);
	assert_int_equal(guest_send_tick(&ga.g, 0), -EINVAL);
	assert_int_equal(guest_send_frame_at(&ga.g, frame, sizeof(frame),
					     COLO_GUEST_CLOCK_MAX_MS + 1), -EINVAL);
	log_set_quiet(0);
	assert_non_null(strstr(log_captured(), "a tick at guest clock"));
	assert_non_null(strstr(log_captured(), "a frame at guest clock"));
	/* none of them reached it: its clock is still its own, running */
	{
		uint64_t c1 = clock_of(&ga), c2;

		sleep_ms(100);
		c2 = clock_of(&ga);
		assert_true(c2 >= c1 + 80);
	}
	/* the largest one is taken */
	tick(&ga, COLO_GUEST_CLOCK_MAX_MS);
	assert_int_equal(clock_of(&ga), COLO_GUEST_CLOCK_MAX_MS);
}

/*
 * An unfed guest is as before: its clock runs with the host's and its
 * timer ticks by itself (memstress --rate 1 writes on every tick).
 */
static void test_unfed_clock_runs_with_host(void **state)
{
	char h1[256], h2[256];
	uint64_t c1, c2;

	(void)state;
	launch(&ga, "A", "1");
	assert_int_equal(guest_start(&ga.g), 0);
	c1 = clock_of(&ga);
	hash_of(&ga, h1, sizeof(h1));
	sleep_ms(200);
	c2 = clock_of(&ga);
	hash_of(&ga, h2, sizeof(h2));
	if (c2 < c1 + 180 || c2 > c1 + 2000)
		fail_msg("an unfed guest's clock went from %llu to %llu ms in "
			 "200 ms of host time", (unsigned long long)c1,
			 (unsigned long long)c2);
	if (!strcmp(h1, h2))
		fail_msg("an unfed guest's timer did not run in 200 ms (%s)", h1);
}

/*
 * The timer of a fed guest (memstress, timer_ms 10, --rate 1: one write
 * step a run) runs at fed times only, once per clock move that reaches
 * its tick, the next tick one period on or, late, one period from the
 * clock (the unfed loop's rule). Fed from 1000, ticks at 1005 (none),
 * 1010 (run; next 1020), 1050 (one run, late; next 1060), 1059 (none),
 * 1060 (run), 1500 (one run) and a frame stamped 1510 (run, after the
 * frame's handler): 5 runs, so its hash is B's after "step 5". 300 ms of
 * host time in between add none.
 */
static void test_fed_timer_runs_at_fed_times(void **state)
{
	static const uint64_t ticks[] = { 1005, 1010, 1050, 1059, 1060, 1500 };
	static const unsigned runs_after[] = { 0, 1, 2, 2, 3, 4 };
	char ha[256], hb[256], r[256], want[32];
	unsigned runs = 0;

	(void)state;
	launch(&ga, "A", "1");
	launch(&gb, "B", "0");
	assert_int_equal(guest_send_tick(&ga.g, 1000), 0);
	assert_int_equal(guest_start(&ga.g), 0);
	assert_int_equal(guest_start(&gb.g), 0);
	hash_of(&ga, ha, sizeof(ha));
	hash_of(&gb, hb, sizeof(hb));
	assert_string_equal(ha, hb);		/* no run yet */
	sleep_ms(300);
	hash_of(&ga, ha, sizeof(ha));
	if (strcmp(ha, hb))
		fail_msg("a fed guest's timer ran on the host's time");

	for (size_t i = 0; i < sizeof(ticks) / sizeof(ticks[0]); i++) {
		tick(&ga, ticks[i]);
		for (; runs < runs_after[i]; runs++)
			ask(&gb, "step 1", NULL, 0);
		hash_of(&ga, ha, sizeof(ha));
		hash_of(&gb, hb, sizeof(hb));
		if (strcmp(ha, hb))
			fail_msg("after a tick at %llu the timer should have run "
				 "%u times: A is at %s, B after %u steps at %s",
				 (unsigned long long)ticks[i], runs_after[i], ha,
				 runs, hb);
	}
	/* a stamped frame: its handler first, at its clock; then the run */
	ask_at(&ga, "hash", 1510, r, sizeof(r));
	assert_string_equal(r, hb);
	ask(&gb, "step 1", NULL, 0);
	hash_of(&ga, ha, sizeof(ha));
	hash_of(&gb, hb, sizeof(hb));
	assert_string_equal(ha, hb);
	snprintf(want, sizeof(want), "clock %d", 1510);
	ask(&ga, "clock", r, sizeof(r));
	assert_string_equal(r, want);
	sleep_ms(300);
	hash_of(&ga, ha, sizeof(ha));
	assert_string_equal(ha, hb);
}

/* Voluntary context switches of a process: how often it went to sleep. */
static unsigned long sleeps_of(pid_t pid)
{
	unsigned long n = guest_sleeps(pid);

	assert_true(n != ULONG_MAX);
	return n;
}

/*
 * A fed guest sleeps until the daemon sends it something: no wake-up of
 * its own for its timer (memstress's ticks every 10 ms), which an unfed
 * one has about 50 of in 500 ms.
 */
static void test_fed_guest_sleeps(void **state)
{
	unsigned long fed0, fed1, own0, own1;

	(void)state;
	launch(&ga, "A", "0");
	launch(&gb, "B", "0");
	assert_int_equal(guest_send_tick(&ga.g, 1000), 0);
	assert_int_equal(guest_start(&ga.g), 0);
	assert_int_equal(guest_start(&gb.g), 0);
	tick(&ga, 1005);		/* its next tick 5 ms away */
	assert_int_equal(tg_ask(&gb, "step 0", NULL, 0), 0);
	sleep_ms(50);
	fed0 = sleeps_of(ga.g.pid);
	own0 = sleeps_of(gb.g.pid);
	sleep_ms(500);
	fed1 = sleeps_of(ga.g.pid);
	own1 = sleeps_of(gb.g.pid);
	if (fed1 != fed0)
		fail_msg("a fed guest woke %lu times in 500 ms with nothing sent",
			 fed1 - fed0);
	if (own1 - own0 < 20)
		fail_msg("an unfed guest woke only %lu times in 500 ms for its "
			 "10 ms timer", own1 - own0);
}

/*
 * A guest that ran on its own clock is switched to the fed one by its
 * first TICK, which it takes whatever its own clock read (here far
 * below it: a host's uptime). Its next tick was set on its own clock,
 * so its timer waits until the fed clock gets there.
 */
static void test_switch_to_fed_clock(void **state)
{
	char h1[256], h2[256];
	uint64_t own;

	(void)state;
	launch(&ga, "A", "1");
	assert_int_equal(guest_start(&ga.g), 0);
	own = clock_of(&ga);
	if (own < 10000)
		skip();				/* a host up for under 10 s */
	tick(&ga, 5000);
	assert_int_equal(clock_of(&ga), 5000);
	hash_of(&ga, h1, sizeof(h1));
	sleep_ms(100);
	tick(&ga, 6000);			/* its tick is near own */
	hash_of(&ga, h2, sizeof(h2));
	assert_string_equal(h1, h2);
	tick(&ga, own + 1000);			/* past it: runs */
	hash_of(&ga, h2, sizeof(h2));
	assert_string_not_equal(h1, h2);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_fed_clock_reads_what_it_is_fed, teardown),
		cmocka_unit_test_teardown(test_fed_clock_limits, teardown),
		cmocka_unit_test_teardown(test_unfed_clock_runs_with_host, teardown),
		cmocka_unit_test_teardown(test_fed_timer_runs_at_fed_times, teardown),
		cmocka_unit_test_teardown(test_fed_guest_sleeps, teardown),
		cmocka_unit_test_teardown(test_switch_to_fed_clock, teardown),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
