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
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "channel.h"
#include "colo_proto.h"
#include "guest_abi.h"
#include "layout.h"
#include "log.h"
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

/* A last checkpoint holds both guests; they are compared byte for byte. */
static void assert_held_identical(void)
{
	pid_t a, b;
	int ret;

	assert_int_equal(pair_run("$C -c $D/pri checkpoint --hold"), 0);
	pair_must(pair_wait_state("pri", "held", 5000));
	a = pid_of("pri", "guest_pid");
	b = pid_of("sec", "guest_pid");
	ret = pair_run("$C guest compare %d %d", (int)a, (int)b);
	print_message("held, guest compare exits %d: %s", ret, pair_out);
	assert_int_equal(ret, 0);
	pair_must(pair_expect("byte-identical"));
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

	(void)state;
	pair_must(pair_configs_roles(GUEST_ARGS, NULL, &sec));
	pair_must(pair_start());
	assert_pair_protects(20);
	pair_must(pair_log_has("sec", "retrying the flush"));
	ckpts = pair_status_num("pri", "checkpoints");
	print_message("after the failed flush, %.0f checkpoints\n", ckpts);
	assert_held_identical();
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

/*
 * The primary's guest exits by itself (status 0): an end it asked for,
 * so the primary tells the secondary (GUEST_SHUTDOWN) and both stop, and
 * says so once: the guest's EOF must not keep its event firing.
 */
static void test_primary_guest_exits(void **state)
{
	pid_t pd, sd;
	int64_t end;
	int lines;

	(void)state;
	pair_must(pair_configs(GUEST_ARGS " --exit-after 4000", NULL));
	pair_must(pair_start());
	pd = pid_of("pri", "pid");
	sd = pid_of("sec", "pid");
	end = pair_now_ms() + 15000;
	while ((pair_alive(pd) || pair_alive(sd)) && pair_now_ms() < end)
		pair_sleep_ms(50);
	lines = pair_log_count("pri", "the guest exited with status 0",
			       (const char *)NULL);
	print_message("the guest exited: primary %s, secondary %s, %d line(s) "
		      "about it in the primary's log\n",
		      pair_alive(pd) ? "RUNS" : "gone",
		      pair_alive(sd) ? "RUNS" : "gone", lines);
	assert_false(pair_alive(pd));
	assert_false(pair_alive(sd));
	assert_int_equal(lines, 1);
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

/* --- F9b: the link lost in the middle of the initial sync --------------------- */

/*
 * The first secondary takes part of the initial image and goes; the
 * next one must get all of the guest again, the pages the first one
 * took included: after a checkpoint, both guests are byte-identical.
 * (The guest writes little, so most pages are never sent again of
 * themselves.)
 */
static void test_link_lost_mid_sync(void **state)
{
	struct fake_peer *f;
	uint32_t hash;
	unsigned n = 0;

	(void)state;
	pair_must(pair_configs("--ram 32 --rate 1 --tick 100", NULL));
	f = fake_secondary_for_primary(&hash);
	pair_must(fake_send_hello(f, COLO_ROLE_SECONDARY, hash));
	/* the whole image, until the first checkpoint begins */
	for (;;) {
		if (fake_read(f, 5000) != 1)
			fail_msg("the primary went quiet or away in its sync");
		if (f->type == COLO_PAGES)
			n++;
		if (f->type == COLO_CHECKPOINT_REQUEST)
			break;
	}
	fake_close(f);
	pair_must(pair_wait_state("pri", "connecting", PAIR_HEARTBEAT_MS));
	pair_must(pair_start_role("sec"));
	pair_must(pair_wait_num("pri", "checkpoints", 3, FORM_SECS));
	print_message("the first secondary took %u PAGES records\n", n);
	assert_held_identical();
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
	pair_must(pair_log_has("sec", "could not be put back to checkpoint 1"));
}

/* --- F19: what a connection may send before HELLO ----------------------------- */

/* Wait up to ms for the secondary to close fd: 0 once it did, -1. */
static int wait_eof(int fd, int ms)
{
	int64_t end = pair_now_ms() + ms;
	char buf[256];

	while (pair_now_ms() < end) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN))
			return 0;
		pair_sleep_ms(20);
	}
	return -1;
}

static void test_records_before_hello(void **state)
{
	uint8_t hb[COLO_HEARTBEAT_LEN] = { 0 };
	uint8_t blocks[4 + COLO_RAM_BLOCK_LEN];
	uint32_t hash;
	pid_t b;
	int fd;

	(void)state;
	pair_must(pair_configs("--ram 16", NULL));
	pair_must(pair_start_role("sec"));
	b = pid_of("sec", "guest_pid");
	pair_must(pair_guest_hash(b, &hash));
	/* a valid record, but not a HELLO: that connection goes, at once */
	fd = pair_connect_secondary();
	assert_true(fd >= 0);
	pair_must(pair_send_record(fd, COLO_HEARTBEAT, hb, sizeof(hb), -1, 0));
	if (wait_eof(fd, 500))
		fail_msg("a connection that sent a HEARTBEAT before HELLO is "
			 "still open after 500 ms");
	pair_must(pair_expect_dropped(fd, "HEARTBEAT before HELLO"));
	assert_true(pair_status_is("sec", "state", "waiting"));
	/* a primary that announces a block over the guest runtime's area */
	fd = pair_connect_secondary();
	assert_true(fd >= 0);
	pair_must(pair_hello(fd, COLO_PROTO_VERSION, hash));
	put_be32(blocks, 1);
	put_be64(blocks + 4, COLO_GUEST_PRIVATE_BASE);
	put_be64(blocks + 12, COLO_GUEST_PRIVATE_SIZE);
	pair_must(pair_send_record(fd, COLO_RAM_BLOCKS, blocks, sizeof(blocks),
				   -1, 0));
	pair_must(pair_expect_dropped(fd, "reserved for the guest runtime"));
	pair_must(pair_wait_state("sec", "waiting", 2000));
}

/* --- F20: connections in their handshake: how many, how long ---------------- */

#define HANDSHAKE_CAP_MS	2000	/* HANDSHAKE_MAX_MS of the secondary */
#define MAX_HANDSHAKES		4	/* MAX_PENDING of the secondary */

static void test_handshake_limits(void **state)
{
	struct pair_role sec = { .heartbeat_timeout_ms = 10000 };
	int fd[MAX_HANDSHAKES + 1], gone;
	int64_t t0, took;

	(void)state;
	pair_must(pair_configs_roles("--ram 16", NULL, &sec));
	pair_must(pair_start_role("sec"));
	t0 = pair_now_ms();
	for (int i = 0; i <= MAX_HANDSHAKES; i++) {
		fd[i] = pair_connect_secondary();
		if (fd[i] < 0)
			fail_msg("%s", pair_why);
		pair_sleep_ms(50);
	}
	/* one too many: refused at once */
	gone = wait_eof(fd[MAX_HANDSHAKES], 1000);
	pair_must(pair_wait_log("sec", "too many connections in their "
				"handshake", 1000));
	/* the others, with a 10 s heartbeat timeout, go at the cap */
	for (int i = 0; i < MAX_HANDSHAKES; i++)
		if (wait_eof(fd[i], (int)(t0 + HANDSHAKE_CAP_MS + 1500 -
					  pair_now_ms())))
			fail_msg("silent connection %d still open %lld ms after "
				 "it connected", i,
				 (long long)(pair_now_ms() - t0 - 50 * i));
	took = pair_now_ms() - t0;
	print_message("the extra connection %s at once; the %d others were "
		      "dropped within %lld ms\n", gone ? "was NOT closed" :
		      "was closed", MAX_HANDSHAKES, (long long)took);
	assert_int_equal(gone, 0);
	pair_must(pair_wait_log("sec", "sent no HELLO within 2000 ms", 1000));
	for (int i = 0; i <= MAX_HANDSHAKES; i++)
		close(fd[i]);
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

/* --- F22: the links' timeouts ------------------------------------------------- */

/* The daemon pid's TCP connection with port pair_port (local if sec):
 * keepalive on, and its TCP_USER_TIMEOUT in *user. 1: no such socket, or
 * it cannot be looked at; 0; -1 (pair_why). */
static int link_timeouts(pid_t pid, bool sec, int *keep, unsigned *user)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), found = 1;
	char dir[64], path[300], link[64];

	if (pidfd < 0)
		return 1;
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	for (int n = 0; n < 256 && found == 1; n++) {
		struct sockaddr_in a, peer;
		socklen_t al = sizeof(a), pl = sizeof(peer), ol = sizeof(int);
		ssize_t k;
		int fd;

		snprintf(path, sizeof(path), "%s/%d", dir, n);
		k = readlink(path, link, sizeof(link) - 1);
		if (k <= 0)
			continue;
		link[k] = 0;
		if (strncmp(link, "socket:", 7))
			continue;
		fd = (int)syscall(SYS_pidfd_getfd, pidfd, n, 0);
		if (fd < 0)
			break;
		if (getsockname(fd, (struct sockaddr *)&a, &al) == 0 &&
		    getpeername(fd, (struct sockaddr *)&peer, &pl) == 0 &&
		    a.sin_family == AF_INET &&
		    ntohs(sec ? a.sin_port : peer.sin_port) == pair_port) {
			ol = sizeof(int);
			getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, keep, &ol);
			ol = sizeof(*user);
			getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, user, &ol);
			found = 0;
		}
		close(fd);
	}
	close(pidfd);
	return found;
}

/* Both ends of the pair's link have keepalives and a user timeout of
 * the heartbeat timeout: a peer host that vanishes without a word is
 * noticed by the kernel too. */
static void test_link_timeouts(void **state)
{
	const char *roles[] = { "pri", "sec" };

	(void)state;
	pair_must(pair_configs(GUEST_ARGS, NULL));
	pair_must(pair_start());
	assert_pair_protects(3);
	for (int i = 0; i < 2; i++) {
		int keep = -1, ret;
		unsigned user = 0;

		ret = link_timeouts(pid_of(roles[i], "pid"), i == 1, &keep, &user);
		if (ret == 1) {
			print_message("cannot look at the %s's sockets "
				      "(pidfd_getfd): skipped\n", roles[i]);
			skip();
		}
		print_message("the %s's link: keepalive %d, user timeout %u ms\n",
			      roles[i], keep, user);
		assert_int_equal(keep, 1);
		assert_int_equal(user, PAIR_HEARTBEAT_MS);
	}
}

/* --- F23: a link without TCP_NODELAY is refused ------------------------------ */

static char nodelay_err[512];		/* the error channel_new logged */

static void nodelay_hook(enum log_level level, const char *line, void *opaque)
{
	(void)opaque;
	if (level == LOG_ERROR)
		snprintf(nodelay_err, sizeof(nodelay_err), "%s", line);
}

static int nodelay_record(struct channel *ch, uint16_t type,
			  const uint8_t *payload, uint32_t len, void *opaque)
{
	(void)ch;
	(void)type;
	(void)payload;
	(void)len;
	(void)opaque;
	return 0;
}

static void nodelay_closed(struct channel *ch, const char *why, void *opaque)
{
	(void)ch;
	(void)why;
	(void)opaque;
}

/*
 * Without TCP_NODELAY every small record of a checkpoint waits for a
 * delayed ACK (~40 ms a pause): a socket that refuses it makes no
 * channel, and the log says why. A TCP socket never refuses it, so a
 * connected UDP socket stands in for one that does; a socketpair (the
 * stream tests' link) has no Nagle to turn off and is taken.
 */
static void test_channel_needs_nodelay(void **state)
{
	static const struct channel_ops ops = {
		.record = nodelay_record,
		.closed = nodelay_closed,
	};
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(9),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct event_base *base = event_base_new();
	struct channel *ch;
	int fd, sv[2];

	(void)state;
	assert_non_null(base);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	nodelay_err[0] = '\0';
	log_set_quiet(1);
	log_set_hook(nodelay_hook, NULL);
	ch = channel_new(base, fd, &ops, NULL, "a UDP peer");
	log_set_hook(NULL, NULL);
	log_set_quiet(0);
	print_message("channel_new on a UDP socket: %s; logged '%s'\n",
		      ch ? "a channel" : "refused", nodelay_err);
	if (ch) {
		channel_free(ch);	/* closes fd */
		fail_msg("channel_new took a socket that refuses TCP_NODELAY");
	}
	close(fd);
	assert_non_null(strstr(nodelay_err, "TCP_NODELAY"));
	assert_non_null(strstr(nodelay_err, strerror(ENOPROTOOPT)));

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ch = channel_new(base, sv[0], &ops, NULL, "a socketpair");
	assert_non_null(ch);
	channel_free(ch);
	close(sv[1]);
	event_base_free(base);
}

/* --- F24: a primary that cannot connect says why, once a reason ------------- */

/* Wait up to ms for the role's log to hold phrase on n lines: the count. */
static int wait_log_lines(const char *role, const char *phrase, int n, int ms)
{
	int64_t end = pair_now_ms() + ms;
	int lines;

	while ((lines = pair_log_count(role, phrase, (const char *)NULL)) < n &&
	       pair_now_ms() < end)
		pair_sleep_ms(50);
	return lines;
}

/*
 * The primary alone: its attempts every 500 ms are refused, and it says
 * so once, not once a try, and its status names the reason. A secondary
 * that came and went in between makes the next refusal news again.
 */
static void test_connect_refusal_reported(void **state)
{
	char phrase[160], because[256] = "";
	struct fake_peer *f;
	int first, again;

	(void)state;
	pair_must(pair_configs(GUEST_ARGS, NULL));
	pair_must(pair_start_role("pri"));
	snprintf(phrase, sizeof(phrase), "cannot connect to the secondary at "
		 "127.0.0.1:%d: %s", pair_port, strerror(ECONNREFUSED));
	if (wait_log_lines("pri", phrase, 1, 3000) < 1) {
		pair_log_has("pri", phrase);	/* the log's tail in pair_why */
		fail_msg("the primary never said '%s': %s", phrase, pair_why);
	}
	pair_sleep_ms(1500);		/* three more refused attempts */
	first = pair_log_count("pri", phrase, (const char *)NULL);
	pair_must(pair_status_str("pri", "connecting_because", because,
				  sizeof(because)));
	print_message("alone for 1.5 s after its first refusal: %d log line(s) "
		      "about it; connecting_because '%s'\n", first, because);
	assert_int_equal(first, 1);
	assert_string_equal(because, phrase);

	f = fake_secondary(pair_port);
	if (!f)
		fail_msg("%s", pair_why);
	pair_must(fake_accept(f, 5000));
	fake_close(f);
	pair_must(pair_wait_log("pri", "lost the secondary before the guest "
				"was protected", 3000));
	again = wait_log_lines("pri", phrase, 2, 5000);
	print_message("after a secondary came and went: %d line(s)\n", again);
	assert_int_equal(again, 2);
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
		T(test_primary_guest_exits),
		T(test_guest_late_reply),
		T(test_daemon_stopped_and_continued),
		T(test_primary_dies_after_size),
		T(test_clock_skew),
		T(test_checkpoint_deadline),
		T(test_unexpected_record_refused),
		T(test_link_lost_mid_sync),
		T(test_primary_stopped_in_checkpoint),
		T(test_unknown_flags_refused),
		T(test_incompatible_layout_not_committed),
		T(test_unrestorable_after_commit),
		T(test_records_before_hello),
		T(test_handshake_limits),
		T(test_secondary_stop_budget),
		T(test_link_timeouts),
		cmocka_unit_test(test_channel_needs_nodelay),
		T(test_connect_refusal_reported),
	};
#undef T

	if (pair_init("faults"))
		return 1;
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("faults", tests, NULL, NULL);
}
