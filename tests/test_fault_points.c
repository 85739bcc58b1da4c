/*
 * test_fault_points.c - the pair under the fault points of the checkpoint
 * transaction's error paths (issue 13, item 4): a record that cannot be
 * sent, a record that arrives short, the primary's guest that cannot be
 * read, a stage buffer that cannot be mapped, the debug hash file's disk
 * full, the secondary's guest killed while stopped. Each test shows the
 * rule: the secondary's guest stays at its last complete checkpoint
 * (byte-equal to the primary's recorded image of it), the primary's
 * guest keeps running, the daemons stay up, and status and log say why.
 * Three of them strike the initial sync's stop-and-copy too: the pair
 * starts over (or is protected again) and ends byte-identical.
 *
 * One test per point. Fault points are picked with the daemon's
 * environment (COLO_FAULT, COLO_FAULT_AT: checkpoint/fault.h); what the
 * fault tests share is in tests/lib/fault_pair.h. Every figure a test
 * decides on is printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fault_pair.h"
#include "pair_lib.h"

/* Checkpoint the faults strike in: the pair is in COLO well before. */
#define AT		8
#define AT_STR		"8"

/*
 * The primary lost its secondary: it runs solo, its status answers and
 * says why (solo_because has phrase), and its guest runs on (its memory
 * changes).
 */
static void assert_primary_solo_running(const char *phrase)
{
	char because[256] = "";
	uint32_t c1, c2;
	pid_t a;

	pair_must(pair_wait_state("pri", "solo", LOST_MS));
	pair_must(pair_status_str("pri", "solo_because", because,
				  sizeof(because)));
	a = pid_of("pri", "guest_pid");
	c1 = running_crc(a);
	pair_sleep_ms(300);
	c2 = running_crc(a);
	print_message("the primary is solo because '%s'; its guest hashed to "
		      "%08x, then %08x 300 ms later\n", because, c1, c2);
	if (!strstr(because, phrase))
		fail_msg("solo_because '%s' does not say '%s'", because, phrase);
	if (c1 == c2)
		fail_msg("the solo primary's guest does not run (its memory "
			 "hashes to %08x both times)", c1);
	assert_true(pid_of("pri", "pid") > 0);
}

/* --- FI_CHANNEL_SEND_FAIL: a PAGES record of a pause cannot be queued ----- */

static void test_channel_send_fail(void **state)
{
	char pri_conf[256];
	struct pair_role pri = {
		.prefix = "COLO_FAULT=channel-send-fail COLO_FAULT_AT=" AT_STR,
		.conf = pri_conf,
	};

	(void)state;
	hashes_conf(pri_conf, sizeof(pri_conf), "pri.hashes");
	pair_must(pair_configs_roles(GUEST_ARGS, &pri, NULL));
	pair_must(pair_start());
	assert_primary_solo_running("out of memory queueing a record");
	pair_must(pair_log_has("pri", "fault injected (channel-send-fail)"));
	pair_must(pair_log_has("pri", "out of memory queueing a record"));
	pair_must(pair_wait_state("sec", "peer-lost", LOST_MS));
	assert_fell_back_to(AT - 1, "pri.hashes");
}

/* --- FI_CHANNEL_RECV_SHORT: a PAGES record of a pause arrives short ------- */

static void test_channel_recv_short(void **state)
{
	char pri_conf[256];
	struct pair_role pri = { .conf = pri_conf };
	struct pair_role sec = {
		.prefix = "COLO_FAULT=channel-recv-short COLO_FAULT_AT=" AT_STR,
	};

	(void)state;
	hashes_conf(pri_conf, sizeof(pri_conf), "pri.hashes");
	pair_must(pair_configs_roles(GUEST_ARGS, &pri, &sec));
	pair_must(pair_start());
	pair_must(pair_wait_state("sec", "peer-lost", LOST_MS));
	pair_must(pair_log_has("sec", "fault injected (channel-recv-short)"));
	pair_must(pair_log_has("sec", "record refused"));
	assert_fell_back_to(AT - 1, "pri.hashes");
	assert_primary_solo_running("");
}

/* --- FI_GUEST_READ_FAIL: the primary cannot read its guest in a pause --- */

static void test_guest_read_fail(void **state)
{
	char pri_conf[256];
	struct pair_role pri = {
		.prefix = "COLO_FAULT=guest-read-fail COLO_FAULT_AT=" AT_STR,
		.conf = pri_conf,
	};

	(void)state;
	hashes_conf(pri_conf, sizeof(pri_conf), "pri.hashes");
	pair_must(pair_configs_roles(GUEST_ARGS, &pri, NULL));
	pair_must(pair_start());
	assert_primary_solo_running("cannot send the checkpoint");
	pair_must(pair_log_has("pri", "fault injected: guest-read-fail"));
	pair_must(pair_log_has("pri", "Input/output error"));
	pair_must(pair_wait_state("sec", "peer-lost", LOST_MS));
	assert_fell_back_to(AT - 1, "pri.hashes");
}

/* --- FI_STAGE_ENOMEM: the secondary cannot map a stage buffer ------------ */

static void test_stage_enomem(void **state)
{
	char pri_conf[256];
	struct pair_role pri = { .conf = pri_conf };
	struct pair_role sec = {
		.prefix = "COLO_FAULT=stage-enomem COLO_FAULT_AT=" AT_STR,
	};

	(void)state;
	hashes_conf(pri_conf, sizeof(pri_conf), "pri.hashes");
	pair_must(pair_configs_roles(GUEST_ARGS, &pri, &sec));
	pair_must(pair_start());
	pair_must(pair_wait_state("sec", "peer-lost", LOST_MS));
	pair_must(pair_log_has("sec", "fault injected: stage-enomem"));
	pair_must(pair_log_has("sec", "Cannot allocate memory"));
	assert_fell_back_to(AT - 1, "pri.hashes");
	assert_primary_solo_running("");
}

/* --- FI_HASH_FILE_ENOSPC: the debug hash file's disk is full ------------- */

static void test_hash_file_enospc(void **state)
{
	char pri_conf[256], path[256];
	struct pair_role pri = {
		.prefix = "COLO_FAULT=hash-file-enospc COLO_FAULT_AT=" AT_STR,
		.conf = pri_conf,
	};
	uint32_t crc;
	int said;

	(void)state;
	hashes_conf(pri_conf, sizeof(pri_conf), "pri.hashes");
	hashes_path(path, sizeof(path), "pri.hashes");
	pair_must(pair_configs_roles(GUEST_ARGS, &pri, NULL));
	pair_must(pair_start());
	assert_pair_protects(3 * AT);
	said = pair_log_count("pri", "hash to", NULL);
	print_message("the hash file full from checkpoint %d: %.0f checkpoints "
		      "made, the failure logged %d times, checkpoint %d %s "
		      "recorded, checkpoint %d %s\n", AT,
		      pair_status_num("pri", "checkpoints"), said, AT - 1,
		      pair_hash_of(path, AT - 1, &crc) == 0 ? "is" : "is NOT",
		      AT, pair_hash_of(path, AT, &crc) == 0 ? "is" : "is not");
	assert_int_equal(said, 1);
	pair_must(pair_log_has("pri", "cannot append checkpoint " AT_STR
			       "'s hash to"));
	pair_must(pair_log_has("pri", "No space left on device; free space "
			       "there or point [debug] record_hashes elsewhere"));
	pair_must(pair_hash_of(path, AT - 1, &crc));
	assert_int_not_equal(pair_hash_of(path, AT, &crc), 0);
	assert_held_identical();
}

/* --- FI_GUEST_DIES_STOPPED: the secondary's guest dies before a load ----- */

/*
 * The load of checkpoint AT fails on the dead guest; the fall-back to
 * AT - 1 cannot put a dead guest back. The daemon stays up, unrestorable,
 * with the guest's end in status (lost_because): it never records
 * checkpoint AT as loaded, never answers as protecting a dead guest, and
 * refuses a failover. The primary goes on solo.
 */
static void test_guest_dies_stopped(void **state)
{
	char sec_conf[256], path[256];
	struct pair_role sec = {
		.prefix = "COLO_FAULT=guest-dies-stopped COLO_FAULT_AT=" AT_STR,
		.conf = sec_conf,
	};
	uint32_t crc;
	int answers;

	(void)state;
	hashes_conf(sec_conf, sizeof(sec_conf), "sec.hashes");
	hashes_path(path, sizeof(path), "sec.hashes");
	pair_must(pair_configs_roles(GUEST_ARGS, NULL, &sec));
	pair_must(pair_start());
	assert_primary_solo_running("");
	pair_must(pair_wait_log("sec", "was killed by signal 9", LOST_MS));
	pair_must(pair_log_has("sec", "fault injected: our guest"));
	pair_must(pair_log_has("sec", "loading checkpoint " AT_STR " failed"));
	pair_sleep_ms(500);
	answers = pair_run("$C -c $D/sec status --json") == 0;
	print_message("the secondary's guest killed in checkpoint %d: the "
		      "secondary %s; it recorded checkpoint %d %s, checkpoint "
		      "%d %s\n", AT, answers ? "answers status" :
		      "stopped (its guest exited)", AT - 1,
		      pair_hash_of(path, AT - 1, &crc) == 0 ? "loaded" :
		      "NOT loaded", AT, pair_hash_of(path, AT, &crc) == 0 ?
		      "LOADED" : "not loaded");
	pair_must(pair_hash_of(path, AT - 1, &crc));
	assert_int_not_equal(pair_hash_of(path, AT, &crc), 0);
	/* the daemon stays up and says why; nothing to take over */
	assert_true(answers);
	assert_true(pair_status_num("sec", "checkpoints") < AT);
	assert_int_not_equal(pair_protecting("sec"), 0);
	assert_true(pair_status_is("sec", "state", "unrestorable"));
	pair_run("$C -c $D/sec status");
	pair_must(pair_expect("was killed by signal 9"));
	assert_int_not_equal(pair_run("$C -c $D/sec failover"), 0);
}

/* --- the same faults in the initial sync's stop-and-copy ------------------- */

/*
 * A fault in checkpoint 1 (the initial sync's stop-and-copy) of role
 * ("pri" or "sec"). Nothing was protected yet: a primary that failed
 * before its VMSTATE_SIZE went out starts over; one whose checkpoint 1
 * went out whole (the secondary failed loading it) goes solo, as it does
 * when it cannot know whether the secondary committed it, and coloctl
 * protect pairs it again. Its guest runs throughout; the secondary keeps
 * its guest, half written by the sync, stopped and waiting; once
 * protected, both are the same byte for byte.
 */
static void initial_sync_survives(const char *role, const char *fault)
{
	char prefix[96];
	struct pair_role r = { .prefix = prefix };
	bool pri = strcmp(role, "pri") == 0;
	uint32_t c1, c2;

	snprintf(prefix, sizeof(prefix), "COLO_FAULT=%s COLO_FAULT_AT=1", fault);
	pair_must(pair_configs_roles(GUEST_ARGS, pri ? &r : NULL,
				     pri ? NULL : &r));
	pair_must(pair_start());
	pair_must(pair_wait_log(role, "fault injected", 30000));
	if (pri) {
		pair_must(pair_wait_log("pri", "before the guest was protected",
					LOST_MS));
	} else {
		pair_must(pair_wait_state("pri", "solo", LOST_MS));
		pair_must(pair_wait_state("sec", "waiting", LOST_MS));
		assert_int_equal(pair_run("$C -c $D/pri protect"), 0);
	}
	c1 = running_crc(pid_of("pri", "guest_pid"));
	pair_sleep_ms(300);
	c2 = running_crc(pid_of("pri", "guest_pid"));
	assert_int_not_equal(c1, c2);
	pair_must(pair_wait_num("pri", "checkpoints", 3, 60));
	assert_int_equal(pair_run("$C -c $D/pri checkpoint --verify"), 0);
	pair_must(pair_expect("the secondary's guest is identical"));
	print_message("%s in the initial sync: the primary %s, its guest "
		      "running; protected after, identical\n", fault,
		      pri ? "started over" : "went solo and was protected again");
}

static void test_initial_sync_send_fail(void **state)
{
	(void)state;
	initial_sync_survives("pri", "channel-send-fail");
}

static void test_initial_sync_read_fail(void **state)
{
	(void)state;
	initial_sync_survives("pri", "guest-read-fail");
}

static void test_initial_sync_stage_enomem(void **state)
{
	(void)state;
	initial_sync_survives("sec", "stage-enomem");
}

/* A test name pattern (cmocka's filter, '*' allowed) runs just those. */
int main(int argc, char **argv)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, pair_setup, pair_teardown)
	const struct CMUnitTest tests[] = {
		T(test_channel_send_fail),
		T(test_channel_recv_short),
		T(test_guest_read_fail),
		T(test_stage_enomem),
		T(test_initial_sync_send_fail),
		T(test_initial_sync_read_fail),
		T(test_initial_sync_stage_enomem),
		T(test_hash_file_enospc),
		T(test_guest_dies_stopped),
	};
#undef T

	if (pair_init("fault-points"))
		return 1;
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("fault-points", tests, NULL, NULL);
}
