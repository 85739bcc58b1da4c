/*
 * test_failover.c - the secondary takes over: a protected kvstore in the
 * lab, the primary daemon and its guest killed with SIGKILL, coloctl
 * failover (or auto_failover) on the secondary, and every acknowledged
 * write readable from the new primary.
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
#include "shell.h"

#define SEC_NET	"bridge = br0\n"

/* SIGKILL the primary daemon and its guest, as a host dying would. */
static void kill_primary(void)
{
	pid_t daemon = (pid_t)pair_status_num("pri", "pid");
	pid_t guest = (pid_t)pair_status_num("pri", "guest_pid");

	assert_true(daemon > 0 && guest > 0);
	assert_int_equal(kill(daemon, SIGKILL), 0);
	assert_int_equal(kill(guest, SIGKILL), 0);
	for (int i = 0; i < 100 && (pair_alive(daemon) || pair_alive(guest)); i++)
		pair_sleep_ms(20);
	assert_false(pair_alive(daemon));
}

/* Keys k1..kN with values v1..vN through redis-cli, each acknowledged. */
static void write_keys(int from, int to)
{
	for (int i = from; i <= to; i++) {
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "SET k%d v%d", i, i);
		kv_cli_expect("OK\n", cmd);
	}
}

static void read_keys(int from, int to)
{
	for (int i = from; i <= to; i++) {
		char cmd[64], want[64];

		snprintf(cmd, sizeof(cmd), "GET k%d", i);
		snprintf(want, sizeof(want), "v%d\n", i);
		kv_cli_expect(want, cmd);
	}
}

/* compare mode, coloctl failover: every acknowledged key is there. */
static void test_failover_compare(void **state)
{
	(void)state;
	kv_pair_start(100, "", SEC_NET);
	write_keys(1, 20);
	kill_primary();
	assert_int_equal(pair_wait_state("sec", "peer-lost", 5000), 0);
	assert_int_equal(pair_run("%s $C -c $D/sec failover", lab_ns("sec")), 0);
	print_message("failover: %s", pair_out);
	assert_int_equal(pair_wait_state("sec", "solo", 5000), 0);
	assert_true(pair_status_is("sec", "role", "primary"));
	read_keys(1, 20);
	write_keys(21, 30);
	read_keys(1, 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_failover_compare,
						kv_lab_setup, kv_lab_teardown),
	};

	pair_init("failover");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
