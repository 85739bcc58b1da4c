/*
 * test_failover_clients.c - the demo's scenario as tests: kvstore
 * protected with auto_failover, kv_verify writing sequential keys over
 * one connection (and, for some, redis-benchmark as load), the primary
 * killed, the takeover, and on the same connection every acknowledged
 * key read back. Each in compare and in buffer mode, the kill in the gap
 * between checkpoints, during a checkpoint's transfer (the primary
 * SIGKILLs itself there: FI_PRIMARY_DIE_IN_CHECKPOINT) and under heavy
 * load.
 *
 * The lab is built for each test and removed after it, also when the
 * test fails; the daemons are stopped and killed by pid (pair_lib.h),
 * the clients with the lab.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kv_clients.h"
#include "kv_pair.h"
#include "net_lab.h"
#include "pair_lib.h"

#define HB_MS		500
#define LOAD_MS		2500	/* writes before the kill, and after it */
#define DIE_AT		"40"	/* the checkpoint the primary dies in */
#define PRI_LAN	"[ha]\nlan_listen = 10.77.1.1:9471\nlan_peer = 10.77.1.2:9471\n"
#define SEC_LAN	"[ha]\nauto_failover = yes\nlan_listen = 10.77.1.2:9471\n" \
		"lan_peer = 10.77.1.1:9471\n"
#define BUFFER	"output = buffer\n"

struct scenario {
	bool buffer;			/* else compare mode */
	bool in_transfer;		/* the primary dies in a checkpoint */
	const char *load;		/* redis-benchmark's arguments, or NULL */
};

static void kill_pid(pid_t pid)
{
	if (pid > 0 && pair_alive(pid))
		kill(pid, SIGKILL);
	for (int i = 0; i < 100 && pair_alive(pid); i++)
		pair_sleep_ms(20);
	assert_false(pair_alive(pid));
}

static void run(const struct scenario *sc)
{
	char pri_net[256], sec_net[256];
	struct kv_pair_opts o = {
		.delay_ms = 100, .pri_net = pri_net, .sec_net = sec_net,
		.heartbeat_ms = HB_MS,
		.pri_prefix = sc->in_transfer ? "env COLO_FAULT=primary-die-in-"
			      "checkpoint COLO_FAULT_AT=" DIE_AT : NULL,
	};
	struct kv_client verify = { 0 }, load = { 0 };
	struct kv_verify_result r;
	pid_t daemon, guest;
	int64_t kill_ms;

	snprintf(pri_net, sizeof(pri_net), "%s%s", sc->buffer ? BUFFER : "",
		 PRI_LAN);
	snprintf(sec_net, sizeof(sec_net), "bridge = br0\n%s%s",
		 sc->buffer ? BUFFER : "", SEC_LAN);
	kv_pair_start_opts(&o);
	daemon = (pid_t)pair_status_num("pri", "pid");
	guest = (pid_t)pair_status_num("pri", "guest_pid");
	pair_must(kv_verify_start(&verify));
	if (sc->load)
		pair_must(kv_benchmark_start(&load, sc->load));
	if (sc->in_transfer) {
		/* it dies by itself in checkpoint DIE_AT; its guest with it */
		for (int i = 0; i < 300 && pair_alive(daemon); i++)
			pair_sleep_ms(50);
		assert_false(pair_alive(daemon));
		kill_ms = kv_wall_ms();
		kill_pid(guest);
	} else {
		pair_sleep_ms(LOAD_MS);
		kill_ms = kv_wall_ms();
		kill_pid(daemon);
		kill_pid(guest);
	}
	assert_int_equal(pair_wait_state("sec", "solo", 20 * HB_MS), 0);
	assert_true(pair_status_is("sec", "role", "primary"));
	assert_true(pair_status_is("sec", "took_over_state", sc->buffer ?
				   "last-checkpoint" : "own-state"));
	pair_sleep_ms(LOAD_MS);
	kv_client_kill(&load);
	pair_must(kv_verify_finish(&verify, &r));
	print_message("%ld acknowledged of %ld sent, %ld lost, %ld wrong, "
		      "connection survived %s, longest gap %ld ms (%lld ms "
		      "after the kill to the first reply), %.0f/s before, %.0f/s "
		      "after\n", r.acked, r.sent, r.lost, r.wrong,
		      r.survived ? "yes" : "no", r.gap_ms,
		      (long long)(r.gap_to_ms - kill_ms), r.before, r.after);
	assert_int_equal(r.lost, 0);
	assert_int_equal(r.wrong, 0);
	assert_true(r.survived);
	assert_true(r.acked > 100);
	/* the connection carried writes after the takeover too */
	assert_true(r.gap_to_ms >= kill_ms);
	assert_true(r.after > 0);
}

static void test_compare_gap(void **state)
{
	(void)state;
	run(&(struct scenario){ .buffer = false });
}

static void test_compare_in_transfer(void **state)
{
	(void)state;
	run(&(struct scenario){ .buffer = false, .in_transfer = true,
				.load = "-t set -c 4 -n 100000" });
}

static void test_compare_heavy_load(void **state)
{
	(void)state;
	run(&(struct scenario){ .buffer = false,
				.load = "-t set,get,incr,lpush -c 50 -P 8 -n 1000000" });
}

static void test_buffer_gap(void **state)
{
	(void)state;
	run(&(struct scenario){ .buffer = true,
				.load = "-t set,get -c 10 -n 1000000" });
}

static void test_buffer_in_transfer(void **state)
{
	(void)state;
	run(&(struct scenario){ .buffer = true, .in_transfer = true });
}

int main(int argc, char **argv)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, kv_lab_setup, kv_lab_teardown)
	const struct CMUnitTest tests[] = {
		T(test_compare_gap),
		T(test_compare_in_transfer),
		T(test_compare_heavy_load),
		T(test_buffer_gap),
		T(test_buffer_in_transfer),
	};
#undef T

	if (pair_init("failover-clients"))
		return 1;
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("failover-clients", tests, NULL, NULL);
}
