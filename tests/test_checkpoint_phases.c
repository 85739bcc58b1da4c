/*
 * test_checkpoint_phases.c - coloctl status shows where a checkpoint's
 * pause goes: after twenty-odd checkpoints of a pair on loopback under
 * sequential writes, every phase of both daemons is there, in
 * microseconds, none negative; the primary's phases add up to its pause
 * and the secondary's to the time its guest was stopped (each
 * microsecond belongs to one phase, none is counted twice); and the
 * phases that move pages are not empty when pages were moved.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pair_lib.h"

/* The phases in status, in the daemons' order (primary_int.h's enum
 * primary_phase, secondary_int.h's enum secondary_phase). */
static const char *const primary_phases[] = {
	"stop", "reply", "sync", "clear", "read", "send", "layout", "memhash",
	"size", "received", "loaded", "resume",
};
/* SP_WAIT_SEND .. SP_RESUME but recv_cache: the guest stopped */
static const char *const secondary_stopped[] = {
	"wait_send", "recv", "check", "layout", "sync", "flush", "verify",
	"rearm", "resume",
};
/* and the rest */
static const char *const secondary_others[] = { "stop", "recv_cache", "loaded",
						"commit" };

#define NR(a)		(sizeof(a) / sizeof((a)[0]))
/* Each figure is printed rounded to the microsecond: a sum of n of them
 * is within n / 2 us of the sum of the exact ones; a little more for
 * the clock reads between two phases. */
#define ROUND_SLACK_US(n)	((double)(n) / 2 + 5)
#define CHECKPOINTS	22	/* p50 over 20 COLO checkpoints at least */

/* One status --json of role, all figures from the same moment. */
static void snapshot(const char *role, char *js, size_t len)
{
	if (pair_run("$C -c $D/%s status --json", role))
		fail_msg("the %s's status does not answer:\n%s", role, pair_out);
	if (strlen(pair_out) >= sizeof(pair_out) - 1)
		fail_msg("the %s's status is cut at %zu bytes", role,
			 sizeof(pair_out));
	snprintf(js, len, "%s", pair_out);
}

/* key's number in js: present, finite and not negative. */
static double field(const char *js, const char *role, const char *key)
{
	char pat[96], *end;
	const char *at;
	double v;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	at = strstr(js, pat);
	if (!at)
		fail_msg("the %s's status lacks %s:\n%s", role, key, js);
	v = strtod(at + strlen(pat), &end);
	if (end == at + strlen(pat) || !isfinite(v) || v < 0)
		fail_msg("the %s's %s is '%.20s', not a number >= 0", role, key,
			 at + strlen(pat));
	return v;
}

/* side's phase: its _us_last and _us_p50, checked; the last returned. */
static double phase(const char *js, const char *role, const char *side,
		    const char *name)
{
	char key[96];
	double last;

	snprintf(key, sizeof(key), "%s_%s_us_last", side, name);
	last = field(js, role, key);
	snprintf(key, sizeof(key), "%s_%s_us_p50", side, name);
	field(js, role, key);
	return last;
}

static void must_be_positive(const char *role, const char *key, double v)
{
	if (!(v > 0))
		fail_msg("the %s's %s is %.0f with pages moved in the pause",
			 role, key, v);
}

static void check_primary(const char *js)
{
	double pause = field(js, "primary", "pause_last_us"), sum = 0;
	double pause_ms = field(js, "primary", "pause_last_ms");
	double p50 = field(js, "primary", "pause_p50_us");
	double p99 = field(js, "primary", "pause_p99_us");
	double pages = field(js, "primary", "pages_last"), v[NR(primary_phases)];

	for (size_t i = 0; i < NR(primary_phases); i++) {
		v[i] = phase(js, "primary", "primary", primary_phases[i]);
		sum += v[i];
	}
	print_message("primary: pause %.0f us (%.1f ms), %.0f pages, phases "
		      "sum %.0f us; p50 %.0f p99 %.0f us\n", pause, pause_ms,
		      pages, sum, p50, p99);
	for (size_t i = 0; i < NR(primary_phases); i++)
		print_message("  primary_%-9s %8.0f us\n", primary_phases[i], v[i]);
	if (!(pause > 0) || !(p50 > 0) || p50 > p99)
		fail_msg("primary pause figures: last %.0f, p50 %.0f, p99 %.0f us",
			 pause, p50, p99);
	/* the us pause is the ms one (from PAUSED, whole ms) plus the stop */
	if (pause < pause_ms * 1e3 - 1e3 ||
	    pause > (pause_ms + 1) * 1e3 + v[0] + ROUND_SLACK_US(2))
		fail_msg("pause_last_us %.0f does not fit pause_last_ms %.1f "
			 "and a stop of %.0f us", pause, pause_ms, v[0]);
	/* every microsecond of the pause in one phase, none twice */
	if (sum > pause + ROUND_SLACK_US(NR(primary_phases)) ||
	    sum < pause - ROUND_SLACK_US(NR(primary_phases)))
		fail_msg("the primary's phases add up to %.0f us, its pause is "
			 "%.0f us", sum, pause);
	if (!(pages > 0))
		fail_msg("the last checkpoint carried no page: the workload "
			 "writes nothing?");
	/* what moves pages: stop .. send, the stream out, the resume */
	must_be_positive("primary", "primary_stop_us_last", v[0]);
	must_be_positive("primary", "primary_reply_us_last", v[1]);
	must_be_positive("primary", "primary_sync_us_last", v[2]);
	must_be_positive("primary", "primary_read_us_last", v[4]);
	must_be_positive("primary", "primary_send_us_last", v[5]);
	must_be_positive("primary", "primary_layout_us_last", v[6]);
	must_be_positive("primary", "primary_received_us_last", v[9]);
	must_be_positive("primary", "primary_resume_us_last", v[11]);
}

static void check_secondary(const char *js)
{
	double stopped = field(js, "secondary", "guest_stopped_last_us"), sum = 0;
	double p50 = field(js, "secondary", "guest_stopped_p50_us");
	double p99 = field(js, "secondary", "guest_stopped_p99_us");
	double flushed = field(js, "secondary", "pages_flushed_last");
	double v[NR(secondary_stopped)], recv_cache, stop, commit;

	for (size_t i = 0; i < NR(secondary_stopped); i++) {
		v[i] = phase(js, "secondary", "secondary", secondary_stopped[i]);
		sum += v[i];
	}
	stop = phase(js, "secondary", "secondary", secondary_others[0]);
	recv_cache = phase(js, "secondary", "secondary", secondary_others[1]);
	phase(js, "secondary", "secondary", secondary_others[2]);
	commit = phase(js, "secondary", "secondary", secondary_others[3]);
	print_message("secondary: stopped %.0f us, %.0f pages flushed, phases "
		      "sum %.0f us (stop %.0f, recv_cache %.0f us)\n", stopped,
		      flushed, sum, stop, recv_cache);
	for (size_t i = 0; i < NR(secondary_stopped); i++)
		print_message("  secondary_%-9s %8.0f us\n", secondary_stopped[i],
			      v[i]);
	if (!(stopped > 0) || !(p50 > 0) || p50 > p99)
		fail_msg("secondary stopped figures: last %.0f, p50 %.0f, p99 "
			 "%.0f us", stopped, p50, p99);
	if (sum > stopped + ROUND_SLACK_US(NR(secondary_stopped)) ||
	    sum < stopped - ROUND_SLACK_US(NR(secondary_stopped)))
		fail_msg("the secondary's phases add up to %.0f us, its guest "
			 "was stopped %.0f us", sum, stopped);
	if (recv_cache > v[1] + ROUND_SLACK_US(2))
		fail_msg("secondary_recv_cache %.0f us is more than the receive "
			 "it is part of, %.0f us", recv_cache, v[1]);
	if (!(flushed > 0))
		fail_msg("the secondary flushed no page in the last checkpoint");
	must_be_positive("secondary", "secondary_stop_us_last", stop);
	must_be_positive("secondary", "secondary_recv_us_last", v[1]);
	must_be_positive("secondary", "secondary_recv_cache_us_last", recv_cache);
	/* the commit's copies come after the guest runs again */
	must_be_positive("secondary", "secondary_commit_us_last", commit);
	must_be_positive("secondary", "secondary_sync_us_last", v[4]);
	must_be_positive("secondary", "secondary_flush_us_last", v[5]);
	must_be_positive("secondary", "secondary_rearm_us_last", v[7]);
	must_be_positive("secondary", "secondary_resume_us_last", v[8]);
}

static void test_phases(void **state)
{
	static char js[sizeof(pair_out)];

	(void)state;
	/* the anchor workload's shape, smaller: a region rewritten in
	 * sequence, ~40 MB/s, so that each pause carries pages */
	pair_must(pair_configs("--ram 64 --wss 16 --pattern seq --rate 50 "
			       "--tick 5", NULL));
	pair_must(pair_start());
	pair_must(pair_wait_num("pri", "checkpoints", CHECKPOINTS, 60));
	pair_must(pair_wait_num("sec", "checkpoints", CHECKPOINTS, 10));
	pair_must(pair_protecting("pri"));
	snapshot("pri", js, sizeof(js));
	check_primary(js);
	snapshot("sec", js, sizeof(js));
	check_secondary(js);
	/* and the copy is still a copy */
	assert_int_equal(pair_run("$C -c $D/pri checkpoint --verify"), 0);
	pair_must(pair_expect("the secondary's guest is identical"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_phases, pair_setup,
						pair_teardown),
	};

	if (pair_init("ckpt-phases"))
		return 1;
	return cmocka_run_group_tests_name("checkpoint_phases", tests, NULL,
					   NULL);
}
