/*
 * test_fault_load.c - the pair under faults in a checkpoint's load on the
 * secondary, and the rule that a checkpoint counts once committed: a load
 * that fails or a commit out of memory before the commit, a failed flush
 * retried, an incomplete checkpoint, the primary dying after a
 * checkpoint's last record, a secondary's record out of place, flags we
 * do not know, a layout not compatible with our guest, and a committed
 * checkpoint our guest cannot be put back to.
 *
 * One test per scenario. Fault points are picked with the daemon's
 * environment (COLO_FAULT, COLO_FAULT_AT: checkpoint/fault.h); fake peers
 * (tests/lib/fake_peer.h) play a primary or a secondary record by record;
 * what the fault tests share is in tests/lib/fault_pair.h. Every figure a
 * test decides on is printed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "colo_proto.h"
#include "layout.h"
#include "fake_peer.h"
#include "fault_pair.h"
#include "pair_lib.h"

/* --- F1, F3: a load that fails before its commit ------------------------- */

/* The secondary's load of checkpoint 8 fails (fault) before it changed
 * anything: it is lost to the pair, with its guest at checkpoint 7. */
static void load_fault(const char *fault)
{
	char pri_conf[256], sec_prefix[128];
	struct pair_role pri = { .conf = pri_conf };
	struct pair_role sec = { .prefix = sec_prefix };

	hashes_conf(pri_conf, sizeof(pri_conf), "pri.hashes");
	snprintf(sec_prefix, sizeof(sec_prefix), "COLO_FAULT=%s COLO_FAULT_AT=8",
		 fault);
	pair_must(pair_configs_roles(GUEST_ARGS, &pri, &sec));
	pair_must(pair_start());
	pair_must(pair_wait_state("sec", "peer-lost", LOST_MS));
	assert_fell_back_to(7, "pri.hashes");
}

static void test_load_maps_eio(void **state)
{
	(void)state;
	load_fault("load-maps-eio");
}

static void test_commit_enomem(void **state)
{
	(void)state;
	load_fault("cache-commit-enomem");
}

/* --- F2: a failed flush is retried ----------------------------------------- */

static void test_flush_retried(void **state)
{
	struct pair_role sec = {
		.prefix = "COLO_FAULT=guest-writer-eio COLO_FAULT_AT=10",
	};
	double ckpts;

	(void)state;
	pair_must(pair_configs_roles(GUEST_ARGS, NULL, &sec));
	pair_must(pair_start());
	assert_pair_protects(20);
	/* the 10th batch of each writer fails: the initial sync's
	 * write-through stops, a checkpoint's flush is retried */
	pair_must(pair_log_has("sec", "writing the initial sync's pages into "
			       "our guest as they arrive failed"));
	pair_must(pair_log_has("sec", "retrying the flush"));
	ckpts = pair_status_num("pri", "checkpoints");
	print_message("after the failed flush, %.0f checkpoints\n", ckpts);
	assert_held_identical();
}

/* --- F10: an incomplete checkpoint ------------------------------------------ */

static void test_incomplete_checkpoint(void **state)
{
	uint8_t blocks[4 + COLO_RAM_BLOCK_LEN], size[COLO_VMSTATE_SIZE_LEN];
	uint32_t hash, before, stopped, after, stopped_ns, after_ns;
	uint64_t start, len;
	struct colo_hello h;
	struct fake_peer *f;
	uint8_t *lay = NULL;
	size_t lay_len;
	bool waiting;
	int ret;
	pid_t b;

	(void)state;
	pair_must(pair_configs(GUEST_ARGS, NULL));
	pair_must(pair_start_role("sec"));
	b = pid_of("sec", "guest_pid");
	pair_must(pair_guest_hash(b, &hash));
	pair_must(pair_largest_anon(b, &start, &len));
	pair_must(pair_layout_payload(b, &lay, &lay_len));
	pair_must(pair_guest_crc(b, &before));

	f = fake_primary(pair_port);
	if (!f) {
		free(lay);
		fail_msg("%s", pair_why);
	}
	pair_must(fake_send_hello(f, COLO_ROLE_PRIMARY, hash));
	pair_must(fake_until(f, COLO_HELLO, 5000));
	assert_int_equal(f->len, COLO_HELLO_LEN);
	assert_int_equal(colo_hello_decode(f->payload, f->len, &h), 0);
	assert_int_equal(h.role, COLO_ROLE_SECONDARY);
	assert_int_equal(h.guest_hash, hash);
	put_be32(blocks, 1);
	put_be64(blocks + 4, start);
	put_be64(blocks + 12, len);
	pair_must(fake_send(f, COLO_RAM_BLOCKS, blocks, sizeof(blocks)));
	pair_must(fake_send_id(f, COLO_CHECKPOINT_REQUEST, 1));
	pair_must(fake_until(f, COLO_CHECKPOINT_REPLY, 10000));
	assert_int_equal(fake_id(f), 1);
	/* stopped for checkpoint 1: what it must still be after it */
	pair_must(pair_guest_crc(b, &stopped));
	pair_must(pair_guest_crc_without(b, LAYOUT_STACK, &stopped_ns));
	pair_must(fake_send_id(f, COLO_VMSTATE_SEND, 1));
	ret = fake_send(f, COLO_LAYOUT, lay, (uint32_t)lay_len);
	free(lay);
	pair_must(ret);
	/* 5 pages and their 5 headers announced, none sent; every field
	 * after bytes (flags, a clock if there is one) is 0 */
	memset(size, 0, sizeof(size));
	put_be64(size, 1);
	put_be64(size + 8, 5);
	put_be64(size + 16, 5 * COLO_PAGE_HDR);
	pair_must(fake_send(f, COLO_VMSTATE_SIZE, size, sizeof(size)));

	ret = fake_pump(f, 2000);
	waiting = pair_wait_state("sec", "waiting", 2000) == 0;
	pair_must(pair_guest_crc(b, &after));
	pair_must(pair_guest_crc_without(b, LAYOUT_STACK, &after_ns));
	print_message("the secondary's guest hashed to %08x before, %08x "
		      "stopped for checkpoint 1 (%08x without its stack), "
		      "%08x after (%08x); the connection %s; the secondary %s "
		      "waiting\n", before, stopped, stopped_ns, after, after_ns,
		      ret == -EPIPE ? "was dropped" : "stayed open",
		      waiting ? "is" : "is NOT");
	if (ret != -EPIPE)
		fail_msg("the secondary kept the connection of an incomplete "
			 "checkpoint open");
	/* Its RAM but the stack is as when it stopped for checkpoint 1 (a
	 * pause writes the runtime's context and flushes stdio, and a guest
	 * continued writes its stack: neither is the checkpoint's doing) */
	assert_int_equal(after_ns, stopped_ns);
	pair_must(pair_wait_state("sec", "waiting", 0));
	pair_must(pair_log_has("sec", "is incomplete: 5 pages"));
}

/* --- F14: the primary dies after a checkpoint's VMSTATE_SIZE ----------------- */

static void test_primary_dies_after_size(void **state)
{
	char pri_conf[256], sec_conf[256], path[256];
	struct pair_role pri = {
		.prefix = "COLO_FAULT=primary-die-after-size COLO_FAULT_AT=10",
		.conf = pri_conf,
	};
	struct pair_role sec = { .conf = sec_conf };
	uint32_t pri_crc, sec_crc;

	(void)state;
	hashes_conf(pri_conf, sizeof(pri_conf), "pri.hashes");
	hashes_conf(sec_conf, sizeof(sec_conf), "sec.hashes");
	pair_must(pair_configs_roles(GUEST_ARGS, &pri, &sec));
	pair_must(pair_start());
	pair_must(pair_wait_state("sec", "peer-lost", LOST_MS));
	hashes_path(path, sizeof(path), "sec.hashes");
	pair_must(pair_hash_of(path, 10, &sec_crc));
	hashes_path(path, sizeof(path), "pri.hashes");
	pair_must(pair_hash_of(path, 10, &pri_crc));
	print_message("checkpoint 10: the primary recorded %08x, the secondary "
		      "loaded %08x\n", pri_crc, sec_crc);
	assert_int_equal(sec_crc, pri_crc);
	assert_fell_back_to(10, "pri.hashes");
}

/* --- F16b: a record out of place refuses the secondary ------------------------ */

/*
 * A secondary that sends a record the protocol does not allow where it
 * comes (a VMSTATE_RECEIVED in the initial sync) is broken: the primary
 * goes solo rather than connecting again, though nothing was protected
 * yet.
 */
static void test_unexpected_record_refused(void **state)
{
	char because[256] = "";
	struct fake_peer *f;
	uint32_t hash;

	(void)state;
	pair_must(pair_configs(GUEST_ARGS, NULL));
	f = fake_secondary_for_primary(&hash);
	pair_must(fake_send_hello(f, COLO_ROLE_SECONDARY, hash));
	pair_must(fake_until(f, COLO_RAM_BLOCKS, 5000));
	pair_must(fake_send_id(f, COLO_VMSTATE_RECEIVED, 99));
	serve_until_state(f, "pri", "solo", PAIR_HEARTBEAT_MS / 2);
	pair_must(pair_status_str("pri", "solo_because", because, sizeof(because)));
	print_message("a VMSTATE_RECEIVED in the initial sync: solo because "
		      "'%s'\n", because);
	pair_must(pair_log_has("pri", "unexpected VMSTATE_RECEIVED"));
}

/* --- F18: a fake primary's checkpoint 1, whole, of nothing but a layout ----- */

/* The secondary alone, a fake primary said HELLO; *b its guest. */
static struct fake_peer *fake_primary_for_secondary(pid_t *b)
{
	struct fake_peer *f;
	uint32_t hash;

	pair_must(pair_start_role("sec"));
	*b = pid_of("sec", "guest_pid");
	pair_must(pair_guest_hash(*b, &hash));
	f = fake_primary(pair_port);
	if (!f)
		fail_msg("%s", pair_why);
	pair_must(fake_send_hello(f, COLO_ROLE_PRIMARY, hash));
	pair_must(fake_until(f, COLO_HELLO, 5000));
	return f;
}

/* Checkpoint id up to its VMSTATE_SIZE: our guest stopped, layout lay,
 * pages announced, flags. */
static void fake_checkpoint(struct fake_peer *f, uint64_t id, const uint8_t *lay,
			    size_t lay_len, uint64_t pages, uint64_t bytes,
			    uint64_t flags)
{
	uint8_t size[COLO_VMSTATE_SIZE_LEN] = { 0 };

	pair_must(fake_send_id(f, COLO_CHECKPOINT_REQUEST, id));
	pair_must(fake_until(f, COLO_CHECKPOINT_REPLY, 10000));
	assert_int_equal(fake_id(f), id);
	pair_must(fake_send_id(f, COLO_VMSTATE_SEND, id));
	pair_must(fake_send(f, COLO_LAYOUT, lay, (uint32_t)lay_len));
	put_be64(size, id);
	put_be64(size + 8, pages);
	put_be64(size + 16, bytes);
	put_be64(size + 24, flags);
	pair_must(fake_send(f, COLO_VMSTATE_SIZE, size, sizeof(size)));
}

/* A VMSTATE_SIZE with a flag we do not know is refused, not loaded. */
static void test_unknown_flags_refused(void **state)
{
	struct fake_peer *f;
	uint8_t *lay = NULL;
	size_t lay_len;
	int ret;
	pid_t b;

	(void)state;
	pair_must(pair_configs("--ram 16", NULL));
	f = fake_primary_for_secondary(&b);
	pair_must(pair_layout_payload(b, &lay, &lay_len));
	fake_checkpoint(f, 1, lay, lay_len, 0, 0, 0x80);
	free(lay);
	ret = fake_pump(f, 2000);
	print_message("checkpoint 1 with flags 0x80: the connection %s, the "
		      "secondary has %.0f checkpoints\n", ret == -EPIPE ?
		      "was dropped" : "stayed open",
		      pair_status_num("sec", "checkpoints"));
	assert_int_equal(ret, -EPIPE);
	assert_int_equal(pair_status_num("sec", "checkpoints"), 0);
	pair_must(pair_log_has("sec", "with flags 0x80, expected only flags of 0x3"));
}

/*
 * Checkpoint 2's layout is not compatible with our guest: it is refused
 * before its commit, and the secondary falls back to checkpoint 1.
 */
static void test_incompatible_layout_not_committed(void **state)
{
	uint8_t *lay = NULL;
	struct fake_peer *f;
	struct layout l;
	uint64_t brk;
	size_t lay_len;
	int ret;
	pid_t b;

	(void)state;
	pair_must(pair_configs("--ram 16", NULL));
	f = fake_primary_for_secondary(&b);
	pair_must(pair_layout_payload(b, &lay, &lay_len));
	fake_checkpoint(f, 1, lay, lay_len, 0, 0, 0);
	free(lay);
	lay = NULL;
	pair_must(fake_until(f, COLO_VMSTATE_LOADED, 10000));
	assert_int_equal(fake_id(f), 1);
	assert_int_equal(pair_status_num("sec", "checkpoints"), 1);

	/* checkpoint 2: a guest whose code starts a page further */
	assert_int_equal(layout_read(b, &l), 0);
	brk = l.stat[LS_START_BRK];
	for (size_t i = 0; i < l.nr; i++)
		if (l.maps[i].kind == LAYOUT_HEAP)
			brk = l.maps[i].end;
	l.stat[0] += 4096;
	assert_int_equal(layout_encode(&l, brk, &lay, &lay_len), 0);
	layout_free(&l);
	fake_checkpoint(f, 2, lay, lay_len, 0, 0, 0);
	free(lay);
	ret = fake_pump(f, 2000);
	pair_must(pair_wait_state("sec", "peer-lost", 2000));
	print_message("checkpoint 2 with another layout: the connection %s; "
		      "the secondary has %.0f checkpoints\n", ret == -EPIPE ?
		      "was dropped" : "stayed open",
		      pair_status_num("sec", "checkpoints"));
	assert_int_equal(ret, -EPIPE);
	assert_int_equal(pair_status_num("sec", "checkpoints"), 1);
	pair_must(pair_log_has("sec", "guest layouts differ"));
	pair_must(pair_log_has("sec", "stopped at checkpoint 1"));
}

/*
 * Checkpoint 1 is committed, but our guest cannot be put there (its one
 * page is where our guest has no memory): the secondary is unrestorable,
 * and checkpoint 1 is its last complete one all the same.
 */
static void test_unrestorable_after_commit(void **state)
{
	uint8_t blocks[4 + COLO_RAM_BLOCK_LEN], page[COLO_PAGE_HDR + 4096];
	uint64_t nowhere = 0x500000000000ull;
	struct fake_peer *f;
	uint8_t *lay = NULL;
	size_t lay_len;
	pid_t b;

	(void)state;
	pair_must(pair_configs("--ram 16", NULL));
	f = fake_primary_for_secondary(&b);
	pair_must(pair_layout_payload(b, &lay, &lay_len));
	put_be32(blocks, 1);
	put_be64(blocks + 4, nowhere);
	put_be64(blocks + 12, 4096);
	pair_must(fake_send(f, COLO_RAM_BLOCKS, blocks, sizeof(blocks)));
	pair_must(fake_send_id(f, COLO_CHECKPOINT_REQUEST, 1));
	pair_must(fake_until(f, COLO_CHECKPOINT_REPLY, 10000));
	pair_must(fake_send_id(f, COLO_VMSTATE_SEND, 1));
	memset(page, 0x5a, sizeof(page));
	put_be64(page, nowhere);
	page[8] = COLO_PAGE_RAW;
	put_be32(page + 9, 4096);
	pair_must(fake_send(f, COLO_PAGES, page, sizeof(page)));
	{
		uint8_t size[COLO_VMSTATE_SIZE_LEN] = { 0 };

		pair_must(fake_send(f, COLO_LAYOUT, lay, (uint32_t)lay_len));
		put_be64(size, 1);
		put_be64(size + 8, 1);
		put_be64(size + 16, sizeof(page));
		pair_must(fake_send(f, COLO_VMSTATE_SIZE, size, sizeof(size)));
	}
	free(lay);
	fake_pump(f, 2000);
	pair_must(pair_wait_state("sec", "unrestorable", 3000));
	print_message("checkpoint 1 committed, its page not writable into our "
		      "guest: %.0f checkpoints\n",
		      pair_status_num("sec", "checkpoints"));
	assert_int_equal(pair_status_num("sec", "checkpoints"), 1);
	pair_must(pair_log_has("sec", "could not be put at checkpoint 1"));
}

/* A test name pattern (cmocka's filter, '*' allowed) runs just those. */
int main(int argc, char **argv)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, pair_setup, pair_teardown)
	const struct CMUnitTest tests[] = {
		T(test_load_maps_eio),
		T(test_flush_retried),
		T(test_commit_enomem),
		T(test_incomplete_checkpoint),
		T(test_primary_dies_after_size),
		T(test_unexpected_record_refused),
		T(test_unknown_flags_refused),
		T(test_incompatible_layout_not_committed),
		T(test_unrestorable_after_commit),
	};
#undef T

	if (pair_init("fault-load"))
		return 1;
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("fault-load", tests, NULL, NULL);
}
