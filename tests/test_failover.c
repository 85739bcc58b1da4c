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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "guests.h"
#include "kv_pair.h"
#include "net_lab.h"
#include "pair_lib.h"
#include "shell.h"

#define SEC_NET	"bridge = br0\n"
#define HB_MS	600	/* heartbeat_timeout_ms of the auto_failover tests */
/* the LAN heartbeat path between the hosts' br0 addresses */
#define PRI_LAN	"[ha]\nlan_listen = 10.77.1.1:9471\nlan_peer = 10.77.1.2:9471\n"
#define SEC_LAN	"[ha]\nlan_listen = 10.77.1.2:9471\nlan_peer = 10.77.1.1:9471\n"
#define SEC_AUTO SEC_NET SEC_LAN "auto_failover = yes\n"

/* The pair at a 100 ms cadence and HB_MS heartbeats. */
static void start_pair(const char *pri_net, const char *sec_net)
{
	struct kv_pair_opts o = {
		.delay_ms = 100, .pri_net = pri_net, .sec_net = sec_net,
		.heartbeat_ms = HB_MS,
	};

	kv_pair_start_opts(&o);
}

static void kill_pid(pid_t pid)
{
	assert_true(pid > 0);
	assert_int_equal(kill(pid, SIGKILL), 0);
	for (int i = 0; i < 100 && pair_alive(pid); i++)
		pair_sleep_ms(20);
	assert_false(pair_alive(pid));
}

/* SIGKILL a daemon and its guest, as a host dying would. */
static void kill_role(const char *role)
{
	pid_t daemon = (pid_t)pair_status_num(role, "pid");
	pid_t guest = (pid_t)pair_status_num(role, "guest_pid");

	kill_pid(daemon);
	kill_pid(guest);
}

static void kill_primary(void)
{
	kill_role("pri");
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

/* A switchover: the primary stopped with --keep-secondary leaves the
 * secondary its copy (no shutdown), and it takes over. */
static void test_switchover(void **state)
{
	(void)state;
	kv_pair_start(100, "", SEC_NET);
	write_keys(1, 10);
	assert_int_equal(pair_run("$C -c $D/pri stop --keep-secondary"), 0);
	assert_int_equal(pair_wait_state("sec", "peer-lost", 5000), 0);
	assert_int_equal(pair_run("%s $C -c $D/sec failover", lab_ns("sec")), 0);
	assert_int_equal(pair_wait_state("sec", "solo", 5000), 0);
	read_keys(1, 10);
}

/* buffer mode, coloctl failover: from the last complete checkpoint,
 * which holds every write a client was told of. */
static void test_failover_buffer(void **state)
{
	(void)state;
	kv_pair_start(100, "output = buffer\n", SEC_NET "output = buffer\n");
	write_keys(1, 20);
	kill_primary();
	assert_int_equal(pair_wait_state("sec", "peer-lost", 5000), 0);
	assert_true(pair_status_is("sec", "takeover_from", "last-checkpoint"));
	assert_int_equal(pair_run("%s $C -c $D/sec failover", lab_ns("sec")), 0);
	assert_int_equal(pair_wait_state("sec", "solo", 5000), 0);
	assert_true(pair_status_is("sec", "took_over_state", "last-checkpoint"));
	read_keys(1, 20);
	write_keys(21, 25);
	read_keys(21, 25);
}

/* auto_failover: the primary silent on both paths, and the secondary
 * takes over by itself, with the figures in status. */
static void test_auto_failover(void **state)
{
	(void)state;
	start_pair(PRI_LAN, SEC_AUTO);
	write_keys(1, 10);
	assert_true(pair_status_num("sec", "lan_beats_received") > 0);
	kill_primary();
	assert_int_equal(pair_wait_state("sec", "solo", 10 * HB_MS), 0);
	assert_true(pair_status_is("sec", "role", "primary"));
	print_message("takeover: detect %.0f ms, decide %.0f ms, run %.0f ms, "
		      "announce %.0f ms\n",
		      pair_status_num("sec", "takeover_detect_ms"),
		      pair_status_num("sec", "takeover_decide_ms"),
		      pair_status_num("sec", "takeover_run_ms"),
		      pair_status_num("sec", "takeover_announce_ms"));
	assert_true(pair_status_num("sec", "takeover_decide_ms") <= 3 * HB_MS);
	read_keys(1, 10);
	write_keys(11, 15);
}

/* auto_failover off: a dead primary leaves the secondary waiting for
 * the command, however long. */
static void test_no_takeover_without_command(void **state)
{
	(void)state;
	start_pair(PRI_LAN, SEC_NET SEC_LAN);
	write_keys(1, 5);
	kill_primary();
	assert_int_equal(pair_wait_state("sec", "peer-lost", 5000), 0);
	pair_sleep_ms(4 * HB_MS);
	assert_true(pair_status_is("sec", "role", "secondary"));
	assert_true(pair_status_is("sec", "state", "peer-lost"));
	assert_int_not_equal(kv_cli("PING"), 0);	/* nobody serves */
	assert_int_equal(pair_run("%s $C -c $D/sec failover", lab_ns("sec")), 0);
	assert_int_equal(pair_wait_state("sec", "solo", 5000), 0);
	read_keys(1, 5);
}

/* A LAN path that never heard the primary (its side is not set up)
 * proves nothing: auto_failover holds back, the command decides. */
static void test_silent_lan_path_holds_back(void **state)
{
	(void)state;
	start_pair("", SEC_AUTO);
	write_keys(1, 3);
	kill_primary();
	assert_int_equal(pair_wait_state("sec", "peer-lost", 5000), 0);
	pair_sleep_ms(4 * HB_MS);
	assert_true(pair_status_is("sec", "role", "secondary"));
	assert_true(pair_run("$C -c $D/sec status") == 0 &&
		    strstr(pair_out, "auto_failover_held"));
	assert_int_equal(pair_run("%s $C -c $D/sec failover", lab_ns("sec")), 0);
	assert_int_equal(pair_wait_state("sec", "solo", 5000), 0);
	read_keys(1, 3);
}

/* Only the replication link goes: the primary runs solo and serves,
 * the secondary hears it on the LAN and never takes over. One primary. */
static void test_replication_partition(void **state)
{
	char out[256];

	(void)state;
	start_pair(PRI_LAN, SEC_AUTO);
	write_keys(1, 5);
	assert_int_equal(lab_sh("pri", out, sizeof(out),
				"ip link set repl0 down"), 0);
	assert_int_equal(pair_wait_state("pri", "solo", 10 * HB_MS), 0);
	assert_int_equal(pair_wait_state("sec", "peer-lost", 10 * HB_MS), 0);
	pair_sleep_ms(4 * HB_MS);
	assert_true(pair_status_is("sec", "role", "secondary"));
	assert_true(pair_status_is("sec", "primary_alive_on_lan", "yes"));
	assert_true(pair_status_is("pri", "role", "primary"));
	write_keys(6, 10);
	read_keys(1, 10);
	/* and the operator is told why, on asking */
	assert_int_not_equal(pair_run("%s $C -c $D/sec failover",
				      lab_ns("sec")), 0);
	pair_must(pair_expect("served solo since"));
	/* the primary dies later: the secondary's copy lacks what it
	 * acknowledged while solo, so no plain failover from it either */
	kill_primary();
	pair_sleep_ms(2 * HB_MS);
	assert_true(pair_status_is("sec", "role", "secondary"));
	assert_int_not_equal(pair_run("%s $C -c $D/sec failover",
				      lab_ns("sec")), 0);
	pair_must(pair_expect("our copy lacks what it acknowledged"));
}

/* The secondary dies: the primary goes solo, saying why, and serves. */
static void test_secondary_killed(void **state)
{
	(void)state;
	start_pair("", "");
	write_keys(1, 5);
	kill_role("sec");
	assert_int_equal(pair_wait_state("pri", "solo", 10 * HB_MS), 0);
	assert_true(pair_run("$C -c $D/pri status") == 0 &&
		    strstr(pair_out, "solo_because"));
	write_keys(6, 10);
	read_keys(1, 10);
}

#define SKEW_S	100000	/* the primary host's clock ahead of the other's */

/*
 * The guest's clock goes on across the takeover: the primary's host
 * lives SKEW_S ahead, so a guest that fell back to the secondary host's
 * clock would keep a key set to expire in 3 s for a day more; one that
 * jumped ahead would lose the key that has ten minutes to live.
 */
static void test_takeover_clock(void **state)
{
	char prefix[64];
	struct kv_pair_opts o = {
		.delay_ms = 100, .sec_net = SEC_NET, .heartbeat_ms = HB_MS,
		.pri_prefix = prefix,
	};
	int64_t set_ms;

	(void)state;
	snprintf(prefix, sizeof(prefix), "unshare --time --monotonic %d --fork",
		 SKEW_S);
	kv_pair_start_opts(&o);
	kv_cli_expect("OK\n", "SET soon x PX 3000");
	set_ms = pair_now_ms();
	kv_cli_expect("OK\n", "SET later y PX 600000");
	kill_primary();
	assert_int_equal(pair_wait_state("sec", "peer-lost", 5000), 0);
	assert_int_equal(pair_run("%s $C -c $D/sec failover", lab_ns("sec")), 0);
	assert_int_equal(pair_wait_state("sec", "solo", 5000), 0);
	kv_cli_expect("x\n", "GET soon");	/* not yet */
	pair_sleep_ms((int)(set_ms + 3500 - pair_now_ms()));
	kv_cli_expect("\n", "GET soon");	/* expired on time */
	kv_cli_expect("y\n", "GET later");	/* and no sooner */
}

/* A hook that appends its environment to DIR/hooks.NAME. */
static void write_hook(const char *name)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/hook-%s", pair_dir, name);
	f = fopen(path, "we");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\necho \"$COLO_ROLE $COLO_EVENT $COLO_PEER $1 "
		"[$COLO_REASON]\" >> %s/hooks.%s\n", pair_dir, name);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
}

/* Does DIR/hooks.NAME hold a line beginning with want? */
static bool hook_ran(const char *name, const char *want)
{
	char path[256], line[1024];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/hooks.%s", pair_dir, name);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strncmp(line, want, strlen(want)) == 0;
	fclose(f);
	return found;
}

static bool wait_hook(const char *name, const char *want)
{
	for (int i = 0; i < 100 && !hook_ran(name, want); i++)
		pair_sleep_ms(50);
	return hook_ran(name, want);
}

/* The hooks of both sides run on every role change and peer event, with
 * the role, event, peer and reason in their environment. */
static void test_hooks_on_takeover(void **state)
{
	char pri[512], sec[512];

	(void)state;
	write_hook("pri");
	write_hook("sec");
	snprintf(pri, sizeof(pri), "[hooks]\nrole_change = %s/hook-pri\n"
		 "peer_event = %s/hook-pri\n", pair_dir, pair_dir);
	snprintf(sec, sizeof(sec), SEC_NET "[hooks]\nrole_change = %s/hook-sec\n"
		 "peer_event = %s/hook-sec\ntimeout_ms = 2000\n", pair_dir,
		 pair_dir);
	start_pair(pri, sec);
	assert_true(wait_hook("pri", "primary peer-joined 10.77.2.2:9470 "
			      "peer-joined"));
	assert_true(wait_hook("pri", "primary protected 10.77.2.2:9470 "
			      "protected [the initial sync is done"));
	assert_true(wait_hook("sec", "secondary peer-joined 10.77.2.1:"));
	kill_primary();
	assert_true(wait_hook("sec", "secondary peer-lost 10.77.2.1:"));
	assert_int_equal(pair_run("%s $C -c $D/sec failover", lab_ns("sec")), 0);
	assert_true(wait_hook("sec", "primary takeover 10.77.2.1:"));
	assert_true(hook_ran("sec", "primary takeover 10.77.2.1:") &&
		    pair_run("grep -c 'takeover.*\\[coloctl failover\\]' "
			     "$D/hooks.sec") == 0);
	assert_true(pair_status_num("sec", "hooks_ok") >= 3);
	assert_int_equal(pair_status_num("sec", "hooks_failed"), 0);
}

/* A secondary on the old primary's host, for the way back. */
static void start_secondary_on_pri(void)
{
	char kv[4096], conf[512];
	struct pair_role r = { .program = kv, .conf = conf };

	guest_binary("kvstore", kv, sizeof(kv));
	snprintf(conf, sizeof(conf), "[net]\nguest_ip = %s\nguest_gateway = "
		 "%s\nbridge = br0\n", LAB_GUEST_IP, LAB_GATEWAY);
	pair_must(pair_write_conf("pri2", "listen = 10.77.2.1:9470",
				  "--port 6379", &r));
	assert_int_equal(pair_run("%s $C -c $D/pri2 start-secondary",
				  lab_ns("pri")), 0);
	pair_track((pid_t)pair_status_num("pri2", "pid"));
	pair_track((pid_t)pair_status_num("pri2", "guest_pid"));
}

/* Take over, protect the new primary with a secondary on the old
 * primary's host, take over back: nothing acknowledged is lost. */
static void test_reprotect_and_back(void **state)
{
	(void)state;
	kv_pair_start(100, "", SEC_NET);
	write_keys(1, 10);
	kill_primary();
	assert_int_equal(pair_wait_state("sec", "peer-lost", 5000), 0);
	assert_int_equal(pair_run("%s $C -c $D/sec failover", lab_ns("sec")), 0);
	assert_int_equal(pair_wait_state("sec", "solo", 5000), 0);
	write_keys(11, 20);
	start_secondary_on_pri();
	assert_int_equal(pair_run("%s $C -c $D/sec protect 10.77.2.1:9470",
				  lab_ns("sec")), 0);
	pair_must(pair_wait_num("sec", "checkpoints", 3, 30));
	assert_true(pair_status_is("sec", "state", "colo") ||
		    pair_status_is("sec", "state", "checkpoint"));
	write_keys(21, 30);		/* protected again, compared */
	kill_role("sec");
	assert_int_equal(pair_wait_state("pri2", "peer-lost", 5000), 0);
	assert_int_equal(pair_run("%s $C -c $D/pri2 failover", lab_ns("pri")), 0);
	assert_int_equal(pair_wait_state("pri2", "solo", 5000), 0);
	read_keys(1, 30);
}

int main(int argc, char **argv)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, kv_lab_setup, kv_lab_teardown)
	const struct CMUnitTest tests[] = {
		T(test_failover_compare),
		T(test_failover_buffer),
		T(test_switchover),
		T(test_auto_failover),
		T(test_no_takeover_without_command),
		T(test_replication_partition),
		T(test_silent_lan_path_holds_back),
		T(test_secondary_killed),
		T(test_reprotect_and_back),
		T(test_takeover_clock),
		T(test_hooks_on_takeover),
	};
#undef T

	if (pair_init("failover"))
		return 1;
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("failover", tests, NULL, NULL);
}
