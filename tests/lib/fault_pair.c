/*
 * fault_pair.c - what the fault tests share (fault_pair.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "colo_proto.h"
#include "fake_peer.h"
#include "fault_pair.h"
#include "pair_lib.h"

pid_t pid_of(const char *role, const char *key)
{
	pid_t pid = (pid_t)pair_status_num(role, key);

	if (pid <= 0)
		fail_msg("the %s's status has no %s:\n%s", role, key, pair_out);
	return pid;
}

uint32_t running_crc(pid_t pid)
{
	uint32_t crc;

	for (int i = 0; i < 20; i++)
		if (pair_guest_crc(pid, &crc) == 0)
			return crc;
	fail_msg("%s", pair_why);
	return 0;
}

void assert_held_identical(void)
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

void hashes_conf(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "[debug]\nrecord_hashes = %s/%s\n", pair_dir, name);
}

void hashes_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", pair_dir, name);
}

unsigned long checkpoint_with(const char *path, uint32_t crc)
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

void assert_fell_back_to(unsigned long id, const char *hashes)
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

void assert_pair_protects(double ckpts)
{
	pair_must(pair_wait_num("pri", "checkpoints", ckpts, FORM_SECS));
	pair_must(pair_protecting("pri"));
	pair_must(pair_protecting("sec"));
}

void serve_until_state(struct fake_peer *f, const char *role,
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

struct fake_peer *fake_secondary_for_primary(uint32_t *hash)
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
