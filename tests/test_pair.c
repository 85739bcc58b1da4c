/*
 * test_pair.c - a primary and a secondary daemon on loopback, driven with
 * coloctl as an operator would: checkpoints keep the secondary's guest a
 * byte-identical copy; its own writes are undone; a primary killed in a
 * checkpoint leaves it at the last complete one; bad peers, bad records,
 * bad configuration and bad command lines are refused with the reason.
 * The pair helpers are tests/lib/pair_lib.c's.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>

#include "colo_proto.h"
#include "guest_compare.h"
#include "layout.h"
#include "fake_peer.h"
#include "pair_lib.h"

/* --- at least fifty checkpoints, then byte-identical --------------------- */

static void pids(pid_t *a, pid_t *b)
{
	*a = (pid_t)pair_status_num("pri", "guest_pid");
	*b = (pid_t)pair_status_num("sec", "guest_pid");
	assert_true(*a > 0 && *b > 0);
}

static void test_fifty_checkpoints(void **state)
{
	pid_t a, b;

	(void)state;
	pair_must(pair_configs("--ram 32 --rate 40 --tick 3 --churn", NULL));
	pair_must(pair_start());
	pair_must(pair_wait_num("pri", "checkpoints", 25, 60));
	/* the second half with the baseline clear, switched live */
	assert_int_equal(pair_run("$C -c $D/pri set clear_mode monolithic"), 0);
	pair_must(pair_expect("clear_mode = monolithic"));
	assert_true(pair_status_is("pri", "clear_mode", "monolithic"));
	pair_must(pair_wait_num("pri", "checkpoints", 50, 60));
	pair_must(pair_protecting("pri"));
	pair_must(pair_protecting("sec"));
	/* the secondary compares hashes itself ... */
	assert_int_equal(pair_run("$C -c $D/pri checkpoint --verify"), 0);
	pair_must(pair_expect("the secondary's guest is identical"));
	/* ... and with both held stopped, byte for byte */
	assert_int_equal(pair_run("$C -c $D/pri checkpoint --hold"), 0);
	pids(&a, &b);
	assert_int_equal(pair_run("$C guest compare %d %d", (int)a, (int)b), 0);
	pair_must(pair_expect("byte-identical"));
	assert_int_equal(pair_run("$C -c $D/pri set clear_mode eager"), 1);
	pair_must(pair_expect("clear_mode = 'eager' is not valid; allowed: lazy or monolithic"));
	print_message("%.0f checkpoints, pause p50 %.1f ms, p99 %.1f ms\n",
		      pair_status_num("pri", "checkpoints"),
		      pair_status_num("pri", "pause_p50_ms"),
		      pair_status_num("pri", "pause_p99_ms"));
}

/*
 * QEMU's anchor workload (issue 12): a 64 MiB region of a 256 MiB guest
 * rewritten sequentially at ~440 MiB/s, a checkpoint every 20 ms, 200
 * of them, every one loaded the way the pause does it (the guest written
 * from the stage, the image committed after); then both guests held and
 * compared byte for byte.
 */
static void test_anchor_workload(void **state)
{
	double first, over;
	pid_t a, b;

	(void)state;
	pair_must(pair_configs("--ram 256 --wss 64 --pattern seq --rate 563 "
			       "--tick 5", NULL));
	pair_must(pair_start());
	pair_must(pair_wait_num("pri", "checkpoints", 2, 120));
	assert_int_equal(pair_run("$C -c $D/pri set checkpoint_delay_ms 20"), 0);
	first = pair_status_num("pri", "checkpoints");
	pair_must(pair_wait_num("pri", "checkpoints", first + 200, 240));
	pair_must(pair_protecting("pri"));
	pair_must(pair_protecting("sec"));
	assert_int_equal(pair_run("$C -c $D/pri checkpoint --hold"), 0);
	pids(&a, &b);
	assert_int_equal(pair_run("$C guest compare %d %d", (int)a, (int)b), 0);
	pair_must(pair_expect("byte-identical"));
	print_message("%.0f checkpoints at 20 ms, pause p50 %.0f us, p99 %.0f "
		      "us\n", pair_status_num("pri", "checkpoints") - first,
		      pair_status_num("pri", "pause_p50_us"),
		      pair_status_num("pri", "pause_p99_us"));
	/* the secondary's memory: its guest, the cache, the stage given
	 * back lazily (not counted), a small constant */
	over = pair_status_num("sec", "memory_over_guest_ram");
	print_message("secondary: %.2fx guest RAM (guest %.0f MiB, daemon "
		      "%.0f MiB of which %.0f MiB lazily free; cache %.0f MiB, "
		      "stage %.0f MiB)\n", over,
		      pair_status_num("sec", "memory_guest_rss_bytes") / 1048576,
		      pair_status_num("sec", "memory_daemon_rss_bytes") / 1048576,
		      pair_status_num("sec", "memory_lazyfree_bytes") / 1048576,
		      pair_status_num("sec", "memory_cache_bytes") / 1048576,
		      pair_status_num("sec", "memory_stage_bytes") / 1048576);
	assert_true(over > 1.0);
}

/*
 * The initial sync under heavy writing: the secondary's guest takes the
 * primary's layout at the first pass and every page as it arrives, so
 * the stop-and-copy writes only what was written since; both guests are
 * then the same byte for byte.
 */
static void test_initial_sync_into_guest(void **state)
{
	unsigned long through = 0, at_stop = 0;
	const char *line;
	pid_t a, b;

	(void)state;
	pair_must(pair_configs("--ram 64 --rate 300 --tick 5", NULL));
	pair_must(pair_start());
	pair_must(pair_wait_num("pri", "checkpoints", 1, 60));
	pair_must(pair_log_has("sec", "pages go into it as they arrive"));
	assert_int_equal(pair_run("$C -c $D/pri checkpoint --hold"), 0);
	pids(&a, &b);
	assert_int_equal(pair_run("$C guest compare %d %d", (int)a, (int)b), 0);
	pair_must(pair_expect("byte-identical"));
	pair_run("grep -h 'initial sync done' $D/sec.log");
	line = strstr(pair_out, "(");
	if (!line || sscanf(line, "(%lu pages written into it as they arrived, "
			    "%lu at the stop", &through, &at_stop) != 2)
		fail_msg("the secondary did not say how its initial sync went:\n%s",
			 pair_out);
	print_message("initial sync: %lu pages written as they arrived, %lu at "
		      "the stop; pause %.1f ms\n", through, at_stop,
		      pair_status_num("pri", "initial_sync_pause_ms"));
	assert_true(through >= 16384);		/* the 64 MiB went in early */
	assert_true(at_stop < through / 2);
}

/*
 * Pre-copy ends by max_downtime_ms: an idle guest after its first pass;
 * a guest that rewrites all of its memory faster than any pass after 30
 * passes, with the figures, and the pair protects it all the same.
 */
static void test_sync_downtime(void **state)
{
	(void)state;
	pair_must(pair_configs("--ram 16 --rate 0 --tick 5", NULL));
	pair_must(pair_start());
	pair_must(pair_wait_num("pri", "checkpoints", 1, 60));
	pair_must(pair_log_has("pri", "after 1 pass(es)"));
	pair_run("$C -c $D/pri stop; $C -c $D/sec stop");
	pair_sleep_ms(500);

	pair_must(pair_configs("--ram 16 --rate 2000 --tick 1",
			       "[checkpoint]\nmax_downtime_ms = 1\n"));
	pair_must(pair_start());
	pair_must(pair_wait_num("pri", "checkpoints", 2, 120));
	pair_must(pair_log_has("pri", "dirties memory faster than the link "
			       "moves it: after 30 passes"));
	assert_int_equal(pair_run("$C -c $D/pri checkpoint --verify"), 0);
	pair_must(pair_expect("the secondary's guest is identical"));
}

/* --- the primary may come up first ---------------------------------------- */

/* An operator may start the primary before the secondary: it keeps
 * trying, and the pair forms once the secondary listens. */
static void test_primary_first(void **state)
{
	(void)state;
	pair_must(pair_configs("--ram 16 --rate 10 --tick 5", NULL));
	assert_int_equal(pair_run("$C -c $D/pri start-primary"), 0);
	pair_sleep_ms(1500);		/* a few refused attempts */
	assert_true(pair_status_is("pri", "state", "connecting"));
	assert_int_equal(pair_run("$C -c $D/sec start-secondary"), 0);
	pair_must(pair_wait_num("pri", "checkpoints", 3, 30));
	assert_int_equal(pair_run("$C -c $D/pri checkpoint --verify"), 0);
	pair_must(pair_expect("the secondary's guest is identical"));
}

/* --- pages only the secondary's guest wrote are put back ---------------- */

static uint64_t region_of(pid_t pid)
{
	struct layout l;
	uint64_t addr = 0;

	assert_int_equal(layout_read(pid, &l), 0);
	for (size_t i = 0; i < l.nr && !addr; i++)
		if (l.maps[i].kind == LAYOUT_ANON && l.maps[i].end -
		    l.maps[i].start >= (32u << 20))
			addr = l.maps[i].start;
	layout_free(&l);
	assert_true(addr != 0);
	return addr;
}

static void test_secondary_own_writes(void **state)
{
	uint64_t marker = 0x5ec0dd1e5ec0dd1eull, va = 0, vb = 0, at;
	struct iovec l, r;
	pid_t a, b;

	(void)state;
	/* A writes only the first 4 MiB of its 32 */
	pair_must(pair_configs("--ram 32 --wss 4 --rate 20 --tick 5", NULL));
	pair_must(pair_start());
	pair_must(pair_wait_num("pri", "checkpoints", 5, 30));
	pids(&a, &b);
	at = region_of(b) + (24u << 20);
	l = (struct iovec){ &marker, sizeof(marker) };
	r = (struct iovec){ (void *)(uintptr_t)at, sizeof(marker) };
	assert_int_equal(process_vm_writev(b, &l, 1, &r, 1, 0), sizeof(marker));
	if (pair_run("$C -c $D/pri checkpoint --hold")) {
		pair_run("$C -c $D/pri checkpoint --hold; $C -c $D/pri status; tail -n 30 $D/pri.log $D/sec.log");
		fail_msg("checkpoint --hold failed:\n%s", pair_out);
	}
	l = (struct iovec){ &vb, sizeof(vb) };
	assert_int_equal(process_vm_readv(b, &l, 1, &r, 1, 0), sizeof(vb));
	l = (struct iovec){ &va, sizeof(va) };
	assert_int_equal(process_vm_readv(a, &l, 1, &r, 1, 0), sizeof(va));
	assert_true(va != marker);		/* A never wrote it */
	assert_true(vb == va);			/* B's own write undone */
	assert_int_equal(pair_run("$C guest compare %d %d", (int)a, (int)b), 0);
}

/* --- the primary dies in the middle of a checkpoint --------------------- */

static void test_primary_killed_in_checkpoint(void **state)
{
	char extra[256], path[256], line[128];
	unsigned long id = 0, last_id = 0;
	uint32_t crc = 0, want = 0, bcrc;
	uint64_t bytes, bbytes;
	pid_t b;
	FILE *f;
	struct pair_role pri = {
		.prefix = "COLO_FAULT=primary-die-in-checkpoint COLO_FAULT_AT=15",
		.conf = extra,
	};

	(void)state;
	snprintf(extra, sizeof(extra), "[debug]\nrecord_hashes = %s/hashes\n", pair_dir);
	pair_must(pair_configs_roles("--ram 32 --rate 40 --tick 3 --churn", &pri, NULL));
	pair_must(pair_start());
	for (int i = 0; i < 600 && !pair_status_is("sec", "state", "peer-lost"); i++)
		pair_sleep_ms(50);
	assert_true(pair_status_is("sec", "state", "peer-lost"));
	assert_int_equal(pair_run("$C -c $D/pri status"), 2);	/* it is dead */
	/* the secondary's last complete checkpoint is the 14th */
	assert_int_equal(pair_status_num("sec", "checkpoints"), 14);
	snprintf(path, sizeof(path), "%s/hashes", pair_dir);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lu %x %lu", &id, &crc, &bytes) == 3 && id == 14) {
			last_id = id;
			want = crc;
		}
	fclose(f);
	assert_int_equal(last_id, 14);
	b = (pid_t)pair_status_num("sec", "guest_pid");
	assert_int_equal(guest_memory_crc(b, &bcrc, &bbytes), 0);
	if (bcrc != want)
		fail_msg("the secondary's guest hashes to %08x, checkpoint 14 of "
			 "the primary to %08x", bcrc, want);
}

/* --- bad peers and bad records ------------------------------------------- */

/* A connection to the secondary: the test fails without one. */
static int connect_secondary(void)
{
	int fd = pair_connect_secondary();

	if (fd < 0)
		fail_msg("%s", pair_why);
	return fd;
}

static void test_bad_peer(void **state)
{
	uint8_t page_rec[4200] = { 0 };
	uint32_t before, after, hash;
	uint64_t bytes;
	struct layout l;
	pid_t b;
	char speaks[96];
	int fd;

	(void)state;
	pair_must(pair_configs("--ram 16", NULL));
	assert_int_equal(pair_run("$C -c $D/sec start-secondary"), 0);
	b = (pid_t)pair_status_num("sec", "guest_pid");
	assert_int_equal(layout_read(b, &l), 0);
	assert_int_equal(layout_files_crc(&l, &hash), 0);
	layout_free(&l);
	assert_int_equal(guest_memory_crc(b, &before, &bytes), 0);

	/* a wrong protocol version */
	fd = connect_secondary();
	pair_must(pair_hello(fd, 99, hash));
	snprintf(speaks, sizeof(speaks), "the primary speaks protocol 99, we "
		 "speak %d", COLO_PROTO_VERSION);
	pair_must(pair_expect_dropped(fd, speaks));
	/* another guest binary */
	fd = connect_secondary();
	pair_must(pair_hello(fd, COLO_PROTO_VERSION, hash ^ 1));
	pair_must(pair_expect_dropped(fd, "install the same guest binary"));
	/* flipped bits in a record */
	fd = connect_secondary();
	pair_must(pair_hello(fd, COLO_PROTO_VERSION, hash));
	put_be64(page_rec, 0x10000);
	page_rec[8] = COLO_PAGE_RAW;
	put_be32(page_rec + 9, 4096);
	pair_must(pair_send_record(fd, COLO_PAGES, page_rec, 13 + 4096, 1000, 0));
	pair_must(pair_expect_dropped(fd, "(corrupt stream)"));
	/* a record cut short */
	fd = connect_secondary();
	pair_must(pair_hello(fd, COLO_PROTO_VERSION, hash));
	pair_must(pair_send_record(fd, COLO_PAGES, page_rec, 13 + 4096, -1, 2000));
	shutdown(fd, SHUT_WR);
	pair_must(pair_expect_dropped(fd, "truncated stream"));
	/* pages for memory nobody announced */
	fd = connect_secondary();
	pair_must(pair_hello(fd, COLO_PROTO_VERSION, hash));
	pair_must(pair_send_record(fd, COLO_PAGES, page_rec, 13 + 4096, -1, 0));
	pair_must(pair_expect_dropped(fd, "is in no RAM block the primary announced"));

	/* the secondary lives on, waiting, its guest untouched */
	assert_true(pair_status_is("sec", "state", "waiting"));
	assert_int_equal(guest_memory_crc(b, &after, &bytes), 0);
	assert_int_equal(after, before);
}

/* --- configuration and command-line errors ------------------------------- */

static void test_bad_config_and_commands(void **state)
{
	(void)state;
	assert_int_equal(pair_run("printf '[checkpoint]\\npeer = localhost:99999\\n' > "
			     "$D/bad.conf; $C -c $D/bad.conf status"), 2);
	pair_must(pair_expect("bad.conf:2: [checkpoint] peer = 'localhost:99999' is not valid"));
	pair_must(pair_expect("IPV4-ADDRESS:PORT"));
	assert_int_equal(pair_run("printf '[checkpoint]\\ncompress_level = 12\\n' > "
			     "$D/bad.conf; $C -c $D/bad.conf status"), 2);
	pair_must(pair_expect("compress_level = 12 is out of range"));
	assert_int_equal(pair_run("$C start-primary"), 2);
	pair_must(pair_expect("needs a configuration"));
	assert_int_equal(pair_run("$C checkpoint --bogus"), 2);
	pair_must(pair_expect("unknown argument '--bogus'"));
	assert_int_equal(pair_run("$C set compress_level"), 2);
	pair_must(pair_expect("usage: coloctl set KEY VALUE"));
	assert_int_equal(pair_run("$C -s $D/nobody.sock status"), 2);
	pair_must(pair_expect("no daemon answers on"));

	/* and what the running primary refuses */
	pair_must(pair_configs("--ram 8 --rate 5 --tick 10", NULL));
	pair_must(pair_start());
	pair_must(pair_wait_num("pri", "checkpoints", 2, 30));
	assert_int_equal(pair_run("$C -c $D/pri set nope 1"), 1);
	pair_must(pair_expect("unknown key 'nope'"));
	assert_int_equal(pair_run("$C -c $D/pri set compress_level 12"), 1);
	pair_must(pair_expect("out of range"));
	assert_int_equal(pair_run("$C -c $D/pri set compress_level 6"), 0);
	assert_int_equal(pair_status_num("pri", "compress_level"), 6);
	assert_int_equal(pair_run("$C -c $D/sec checkpoint"), 1);
	pair_must(pair_expect("unknown command 'checkpoint'"));
	/* a second primary for the same secondary is turned away; never
	 * protected, it keeps trying (the first may go) */
	assert_int_equal(pair_run("$C -c $D/pri -s $D/pri2.sock start-primary"), 0);
	pair_sleep_ms(1500);
	pair_must(pair_protecting("pri"));
	/* between its tries it is connecting (with the reason); in one, in
	 * its handshake for a moment */
	for (int i = 0; i < 50; i++) {
		pair_run("$C -s $D/pri2.sock status");
		if (strstr(pair_out, "connecting_because"))
			break;
		pair_sleep_ms(100);
	}
	pair_must(pair_expect("connecting"));
	pair_must(pair_expect("connecting_because"));
	pair_must(pair_log_has("sec", "a primary is connected already"));
	pair_run("$C -s $D/pri2.sock stop");
}

/* --- make demo's script, short --------------------------------------- */

/* The pid after "label" in pair_out, or 0. */
static pid_t pid_after(const char *label)
{
	const char *at = strstr(pair_out, label);

	return at ? (pid_t)strtol(at + strlen(label), NULL, 10) : 0;
}

/* The value after a summary line's label in pair_out ("  LABEL   VALUE"),
 * up to the end of the line, in buf; "" when the line is missing. */
static const char *summary(const char *label, char *buf, size_t len)
{
	const char *at = strstr(pair_out, label), *end;

	buf[0] = '\0';
	if (!at)
		return buf;
	at += strlen(label);
	while (*at == ' ')
		at++;
	end = strchr(at, '\n');
	snprintf(buf, len, "%.*s", end ? (int)(end - at) : (int)strlen(at), at);
	return buf;
}

/*
 * The script `make demo` runs: kvstore protected in the lab, the
 * primary killed mid-run, the takeover; it must end with nothing
 * acknowledged lost on a connection that survived, say so, and leave no
 * daemon and no namespace behind.
 */
static void test_demo_script(void **state)
{
	char guest_dir[PATH_MAX], kv_verify[PATH_MAX], v[256], *slash;
	pid_t daemons[2];

	(void)state;
	snprintf(guest_dir, sizeof(guest_dir), "%s", pair_memstress);
	slash = strrchr(guest_dir, '/');
	assert_non_null(slash);
	*slash = '\0';
	snprintf(kv_verify, sizeof(kv_verify), "%s", pair_coloctl);
	slash = strrchr(kv_verify, '/');
	assert_non_null(slash);
	snprintf(slash + 1, sizeof(kv_verify) - (size_t)(slash + 1 - kv_verify),
		 "bench/kv_verify");
	assert_int_equal(pair_run("DEMO_SECONDS=2 ./mk/demo.sh $C %s %s $D/demo",
				  guest_dir, kv_verify), 0);
	print_message("%s", pair_out);
	pair_must(pair_expect("redis-cli SET/GET/INCR: answered right"));
	pair_must(pair_expect("SIGKILL to the primary daemon"));
	pair_must(pair_expect("the secondary took over"));
	assert_string_equal(summary("acknowledged writes lost", v, sizeof(v)), "0");
	assert_string_equal(summary("acknowledged writes wrong", v, sizeof(v)), "0");
	assert_string_equal(summary("client connection survived", v, sizeof(v)),
			    "yes");
	assert_true(atol(summary("writes acknowledged", v, sizeof(v))) > 0);
	assert_true(atol(summary("failover time (detect + take over)", v,
				 sizeof(v))) > 0);
	pair_must(pair_expect("the lab, the daemons, guests and clients removed"));
	if (strstr(pair_out, "command not found") || strstr(pair_out, "syntax error"))
		fail_msg("the demo script has an error:\n%s", pair_out);
	daemons[0] = pid_after("secondary started: pid ");
	daemons[1] = pid_after("primary started: pid ");
	assert_int_equal(pair_run("ip netns list | grep colodemo || true"), 0);
	if (pair_out[0])
		fail_msg("the demo left namespaces behind:\n%s", pair_out);
	for (int i = 0; i < 2; i++) {
		int tries = 0;

		assert_true(daemons[i] > 0);
		while (kill(daemons[i], 0) == 0 && tries++ < 40)
			pair_sleep_ms(50);
		if (kill(daemons[i], 0) == 0)
			fail_msg("daemon %d still runs after the demo:\n%s",
				 (int)daemons[i], pair_out);
	}
	/* a bad figure is refused before anything starts */
	assert_int_equal(pair_run("DEMO_SECONDS=x ./mk/demo.sh $C %s %s $D/demo",
			     guest_dir, kv_verify), 1);
	pair_must(pair_expect("DEMO_SECONDS=x: give a whole number above 0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fifty_checkpoints, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_anchor_workload, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_initial_sync_into_guest, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_sync_downtime, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_primary_first, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_secondary_own_writes, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_primary_killed_in_checkpoint, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_bad_peer, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_bad_config_and_commands, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_demo_script, pair_setup, pair_teardown),
	};

	if (pair_init("pair"))
		return 1;
	return cmocka_run_group_tests_name("pair", tests, NULL, NULL);
}
