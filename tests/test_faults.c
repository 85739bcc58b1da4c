/*
 * test_faults.c - the pair under faults: a load or a flush that fails, a
 * commit out of memory, a daemon or a guest stopped, a peer that lies or
 * goes away, stray connections, an incomplete checkpoint, a guest killed
 * or answering late, a daemon stopped and continued, the primary dying
 * after a checkpoint's last record, and clocks that differ between hosts.
 *
 * One test per scenario. Fault points are picked with the daemon's
 * environment (COLO_FAULT, COLO_FAULT_AT: checkpoint/fault.h); fake peers
 * (tests/lib/pair_lib.h) play a primary or a secondary record by record.
 * Every figure a test decides on is printed.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "colo_proto.h"
#include "layout.h"
#include "fake_peer.h"
#include "pair_lib.h"

/* The guest of most scenarios: 32 MiB, busy, mapping and unmapping. */
#define GUEST_ARGS	"--ram 32 --rate 40 --tick 3 --churn"
/* A pair reaches COLO in a second or two here; this is plenty. */
#define FORM_SECS	20
/* A peer-lost secondary: the heartbeat timeout and a load in progress. */
#define LOST_MS		(PAIR_HEARTBEAT_MS + 10000)

static pid_t pid_of(const char *role, const char *key)
{
	pid_t pid = (pid_t)pair_status_num(role, key);

	if (pid <= 0)
		fail_msg("the %s's status has no %s:\n%s", role, key, pair_out);
	return pid;
}

/* The crc of a running guest's memory: one that maps and unmaps as it
 * goes may unmap what is being read, so it takes a few tries. */
static uint32_t running_crc(pid_t pid)
{
	uint32_t crc;

	for (int i = 0; i < 20; i++)
		if (pair_guest_crc(pid, &crc) == 0)
			return crc;
	fail_msg("%s", pair_why);
	return 0;
}

/* "[debug] record_hashes = pair_dir/name" */
static void hashes_conf(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "[debug]\nrecord_hashes = %s/%s\n", pair_dir, name);
}

static void hashes_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", pair_dir, name);
}

/* Which checkpoint of a record_hashes file has crc (0: none). */
static unsigned long checkpoint_with(const char *path, uint32_t crc)
{
	unsigned long id, bytes, found = 0;
	unsigned int c;
	char line[128];
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lu %x %lu", &id, &c, &bytes) == 3 && c == crc)
			found = id;
	fclose(f);
	return found;
}

/*
 * The secondary fell back to checkpoint id: its last complete one is
 * id, and its guest's memory is what the primary recorded for id.
 */
static void assert_fell_back_to(unsigned long id, const char *hashes)
{
	double done = pair_status_num("sec", "checkpoints");
	pid_t b = pid_of("sec", "guest_pid");
	char path[256];
	uint32_t want, got;

	hashes_path(path, sizeof(path), hashes);
	pair_must(pair_guest_crc(b, &got));
	pair_must(pair_hash_of(path, id, &want));
	print_message("secondary: last complete checkpoint %.0f, its guest "
		      "hashes to %08x; checkpoint %lu of the primary hashed to "
		      "%08x (%08x is checkpoint %lu's, 0: none)\n", done, got,
		      id, want, got, checkpoint_with(path, got));
	assert_int_equal(done, id);
	if (got != want)
		fail_msg("the secondary's guest is not at checkpoint %lu: it "
			 "hashes to %08x, checkpoint %lu to %08x", id, got, id,
			 want);
}

/* Both daemons protect; the primary went on to at least ckpts. */
static void assert_pair_protects(double ckpts)
{
	pair_must(pair_wait_num("pri", "checkpoints", ckpts, FORM_SECS));
	pair_must(pair_protecting("pri"));
	pair_must(pair_protecting("sec"));
}

/*
 * Keep fake peer f going (heartbeats out, records read), if it is still
 * connected, until role's state is state; the test fails if that takes
 * over ms, or if a status does not answer.
 */
static void serve_until_state(struct fake_peer *f, const char *role,
			     const char *state, int ms)
{
	int64_t end = pair_now_ms() + ms;
	char pat[64];
	bool open = true;

	snprintf(pat, sizeof(pat), "\"state\": \"%s\"", state);
	for (;;) {
		int ret = pair_run("$C -c $D/%s status --json", role);

		if (ret != 0)
			fail_msg("the %s's status exited with %d:\n%s", role,
				 ret, pair_out);
		if (strstr(pair_out, pat))
			return;
		if (pair_now_ms() >= end)
			fail_msg("the %s did not reach state %s within %d ms:\n%s",
				 role, state, ms, pair_out);
		if (open)
			open = fake_pump(f, 100) == 0;
		else
			pair_sleep_ms(100);
	}
}

/* A fake secondary on pair_port that the primary (started here) has
 * connected to, its HELLO read; *hash: the primary guest's. */
static struct fake_peer *fake_secondary_for_primary(uint32_t *hash)
{
	struct fake_peer *f = fake_secondary(pair_port);
	struct colo_hello h;

	if (!f)
		fail_msg("%s", pair_why);
	pair_must(pair_start_role("pri"));
	pair_must(pair_guest_hash(pid_of("pri", "guest_pid"), hash));
	pair_must(fake_accept(f, 5000));
	pair_must(fake_until(f, COLO_HELLO, 5000));
	assert_int_equal(f->len, COLO_HELLO_LEN);
	assert_int_equal(colo_hello_decode(f->payload, f->len, &h), 0);
	assert_int_equal(h.magic, COLO_PROTO_MAGIC);
	assert_int_equal(h.role, COLO_ROLE_PRIMARY);
	assert_int_equal(h.guest_hash, *hash);
	return f;
}

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
	pid_t a, b;
	int ret;

	(void)state;
	pair_must(pair_configs_roles(GUEST_ARGS, NULL, &sec));
	pair_must(pair_start());
	assert_pair_protects(20);
	pair_must(pair_log_has("sec", "retrying the flush"));
	assert_int_equal(pair_run("$C -c $D/pri checkpoint --hold"), 0);
	a = pid_of("pri", "guest_pid");
	b = pid_of("sec", "guest_pid");
	ckpts = pair_status_num("pri", "checkpoints");
	ret = pair_run("$C guest compare %d %d", (int)a, (int)b);
	print_message("after the failed flush, %.0f checkpoints; guest compare "
		      "exits %d: %s", ckpts, ret, pair_out);
	assert_int_equal(ret, 0);
	pair_must(pair_expect("byte-identical"));
}

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

/* --- F6: an out-of-range verify value ---------------------------------------- */

#define BAD_VERIFY	0x7fff0000u

static void test_bad_verify_value(void **state)
{
	uint8_t loaded[COLO_VMSTATE_LOADED_LEN];
	struct fake_peer *f;
	char because[256] = "";
	uint32_t hash;
	uint64_t id;

	(void)state;
	pair_must(pair_configs(GUEST_ARGS, NULL));
	f = fake_secondary_for_primary(&hash);
	pair_must(fake_send_hello(f, COLO_ROLE_SECONDARY, hash));
	/* the first checkpoint ends the initial sync */
	pair_must(fake_until(f, COLO_CHECKPOINT_REQUEST, 20000));
	id = fake_id(f);
	pair_must(fake_send_id(f, COLO_CHECKPOINT_REPLY, id));
	pair_must(fake_until(f, COLO_VMSTATE_SIZE, 20000));
	assert_int_equal(fake_id(f), id);
	pair_must(fake_send_id(f, COLO_VMSTATE_RECEIVED, id));
	put_be64(loaded, id);
	put_be32(loaded + 8, BAD_VERIFY);
	pair_must(fake_send(f, COLO_VMSTATE_LOADED, loaded, sizeof(loaded)));
	/* well within the heartbeat timeout, the fake never silent */
	serve_until_state(f, "pri", "solo", PAIR_HEARTBEAT_MS / 2);
	pair_must(pair_status_str("pri", "solo_because", because, sizeof(because)));
	print_message("checkpoint %llu LOADED with verify %u: the primary is "
		      "solo because '%s'\n", (unsigned long long)id, BAD_VERIFY,
		      because);
	pair_must(pair_log_has("pri", "says verify 2147418112"));
}

/* --- F7: a secondary with another guest -------------------------------------- */

static void test_other_guest_refused(void **state)
{
	struct fake_peer *f;
	uint32_t hash;

	(void)state;
	pair_must(pair_configs(GUEST_ARGS, NULL));
	f = fake_secondary_for_primary(&hash);
	pair_must(fake_send_hello(f, COLO_ROLE_SECONDARY, hash ^ 1));
	/* the fake keeps talking: only the HELLO can make the primary solo */
	serve_until_state(f, "pri", "solo", PAIR_HEARTBEAT_MS / 2);
	pair_must(pair_log_has("pri", "install the same guest binary"));
	print_message("the primary (guest hash %08x) refused a secondary "
		      "saying %08x\n", hash, hash ^ 1);
}

/* --- F8: stray connections ------------------------------------------------------ */

static void test_stray_connections(void **state)
{
	static const char junk[] = "GET / HTTP/1.0\r\nHost: colo\r\n\r\n";
	struct fake_peer *silent, *garbage, *bad;
	double before, after;

	(void)state;
	pair_must(pair_configs(GUEST_ARGS, NULL));
	pair_must(pair_start_role("sec"));
	/* alone, a silent connection goes after the handshake timeout (the
	 * heartbeat timeout here); a primary's HELLO would end it sooner */
	silent = fake_primary(pair_port);
	if (!silent)
		fail_msg("%s", pair_why);
	pair_must(pair_wait_log("sec", "sent no HELLO within",
				PAIR_HEARTBEAT_MS + 2000));
	if (fake_pump(silent, 1000) != -EPIPE)
		fail_msg("the silent connection is still open");
	fake_close(silent);
	/* another one, open while the primary comes: the pair forms */
	silent = fake_primary(pair_port);
	if (!silent)
		fail_msg("%s", pair_why);
	pair_must(pair_start_role("pri"));
	pair_must(pair_wait_num("pri", "checkpoints", 3, FORM_SECS));

	/* while the pair runs: garbage, and a HELLO of another protocol */
	before = pair_status_num("pri", "checkpoints");
	garbage = fake_primary(pair_port);
	bad = fake_primary(pair_port);
	if (!garbage || !bad)
		fail_msg("%s", pair_why);
	/* the secondary may have refused them at once: sent or not, they
	 * must not disturb the pair */
	if (send(garbage->fd, junk, sizeof(junk) - 1, MSG_NOSIGNAL) < 0)
		print_message("garbage not sent: %s\n", strerror(errno));
	if (pair_hello(bad->fd, 99, 0))
		print_message("bad HELLO not sent: %s\n", pair_why);
	for (int i = 0; i < 5; i++) {
		pair_sleep_ms(300);
		pair_must(pair_protecting("sec"));
		pair_must(pair_protecting("pri"));
	}
	after = pair_status_num("pri", "checkpoints");
	print_message("checkpoints %.0f before the garbage, %.0f 1.5 s after\n",
		      before, after);
	assert_true(after > before);
	fake_close(silent);
	fake_close(garbage);
	fake_close(bad);
}

/* --- F9: the link lost before the first checkpoint ---------------------------- */

static void test_link_lost_before_first_checkpoint(void **state)
{
	struct fake_peer *f;
	uint32_t hash;
	int64_t end;

	(void)state;
	pair_must(pair_configs(GUEST_ARGS, NULL));
	f = fake_secondary_for_primary(&hash);
	pair_must(fake_send_hello(f, COLO_ROLE_SECONDARY, hash));
	fake_close(f);
	/* back to connecting, never solo: nothing was protected yet */
	end = pair_now_ms() + PAIR_HEARTBEAT_MS;
	for (;;) {
		if (pair_status_is("pri", "state", "connecting"))
			break;
		if (strstr(pair_out, "\"state\": \"solo\""))
			fail_msg("the primary went solo:\n%s", pair_out);
		if (pair_now_ms() >= end)
			fail_msg("the primary did not go back to connecting:\n%s",
				 pair_out);
		pair_sleep_ms(50);
	}
	pair_must(pair_start_role("sec"));
	pair_must(pair_wait_num("pri", "checkpoints", 2, FORM_SECS));
	print_message("after the lost link the pair formed: %.0f checkpoints\n",
		      pair_status_num("pri", "checkpoints"));
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

/* --- F11: the primary's guest killed by a signal ----------------------------- */

static void test_primary_guest_killed(void **state)
{
	pid_t a, b, pd;
	int64_t end;
	bool lost = false;
	int lines;

	(void)state;
	pair_must(pair_configs(GUEST_ARGS, NULL));
	pair_must(pair_start());
	assert_pair_protects(5);
	a = pid_of("pri", "guest_pid");
	b = pid_of("sec", "guest_pid");
	pd = pid_of("pri", "pid");
	assert_int_equal(kill(a, SIGKILL), 0);
	end = pair_now_ms() + LOST_MS;
	while (!(lost = pair_status_is("sec", "state", "peer-lost")) &&
	       pair_now_ms() < end)
		pair_sleep_ms(50);
	/* the primary has had its say: it exited, or a second went by */
	end = pair_now_ms() + 1000;
	while (pair_alive(pd) && pair_now_ms() < end)
		pair_sleep_ms(50);
	lines = pair_log_count("pri", "exited", "killed by signal",
			       (const char *)NULL);
	pair_run("$C -c $D/sec status --json");
	print_message("secondary %s; the primary's log has %d lines about its "
		      "guest's end; secondary: %s", lost ? "peer-lost" :
		      "NOT peer-lost", lines, pair_out);
	assert_true(lost);
	assert_true(pair_alive(b));
	assert_int_equal(pid_of("sec", "guest_pid"), b);
	assert_in_range(lines, 0, 3);
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

/* --- F15: clock skew between the hosts ---------------------------------------- */

#define SKEW_S		600

static void test_clock_skew(void **state)
{
	char prefix[64], path[64], line[128];
	struct pair_role pri = { .prefix = prefix };
	long long offset = 0;
	double top = 0;
	FILE *f;

	(void)state;
	/* a time namespace SKEW_S ahead, its first process the starter */
	snprintf(prefix, sizeof(prefix), "unshare --time --monotonic %d --fork",
		 SKEW_S);
	pair_must(pair_configs_roles("--ram 32 --rate 40 --tick 3", &pri, NULL));
	pair_must(pair_start());
	/* the primary really lives SKEW_S seconds ahead */
	snprintf(path, sizeof(path), "/proc/%d/timens_offsets",
		 (int)pid_of("pri", "pid"));
	f = fopen(path, "re");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		sscanf(line, "monotonic %lld", &offset);
	fclose(f);
	assert_int_equal(offset, SKEW_S);
	pair_must(pair_wait_num("pri", "checkpoints", 10, FORM_SECS));
	for (int i = 0; i < 10; i++) {
		double v = pair_status_num("sec", "pages_own_dirty_last");

		print_message("pages_own_dirty_last %.0f\n", v);
		if (v > top)
			top = v;
		pair_sleep_ms(100);
	}
	print_message("the secondary's guest, %d s behind, dirtied at most "
		      "%.0f pages between checkpoints\n", SKEW_S, top);
	assert_true(top >= 20);
}

/* A test name pattern (cmocka's filter, '*' allowed) runs just those. */
int main(int argc, char **argv)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, pair_setup, pair_teardown)
	const struct CMUnitTest tests[] = {
		T(test_load_maps_eio),
		T(test_flush_retried),
		T(test_commit_enomem),
		T(test_secondary_daemon_stopped),
		T(test_secondary_guest_stuck),
		T(test_bad_verify_value),
		T(test_other_guest_refused),
		T(test_stray_connections),
		T(test_link_lost_before_first_checkpoint),
		T(test_incomplete_checkpoint),
		T(test_primary_guest_killed),
		T(test_guest_late_reply),
		T(test_daemon_stopped_and_continued),
		T(test_primary_dies_after_size),
		T(test_clock_skew),
	};
#undef T

	if (pair_init("faults"))
		return 1;
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("faults", tests, NULL, NULL);
}
