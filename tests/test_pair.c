/*
 * test_pair.c - a primary and a secondary daemon on loopback, driven with
 * coloctl as an operator would: checkpoints keep the secondary's guest a
 * byte-identical copy; its own writes are undone; a primary killed in a
 * checkpoint leaves it at the last complete one; bad peers, bad records,
 * bad configuration and bad command lines are refused with the reason.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "colo_proto.h"
#include "compare.h"
#include "guests.h"
#include "layout.h"
#include "shell.h"

static char dir[128], out[16384];
static char coloctl[PATH_MAX], memstress[PATH_MAX];
static int port;

/* Run a shell line (coloctl as $C, configs in $D); output in out. */
static int run(const char *fmt, ...)
{
	char prelude[PATH_MAX + 160];
	va_list ap;
	int ret;

	snprintf(prelude, sizeof(prelude), "C=%s; D=%s; ", coloctl, dir);
	va_start(ap, fmt);
	ret = shell_runv(out, sizeof(out), prelude, fmt, ap);
	va_end(ap);
	assert_true(ret >= 0);
	return ret;
}

static void expect(const char *needle)
{
	if (!strstr(out, needle))
		fail_msg("output lacks '%s':\n%s", needle, out);
}

static int free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	p = ntohs(sin.sin_port);
	close(fd);
	return p;
}

static void write_conf(const char *name, const char *role_lines,
		       const char *guest_args, const char *extra)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "[guest]\nprogram = %s\nargs = %s\nstop_timeout_ms = 2000\n"
		"[checkpoint]\n%s\n[ha]\nheartbeat_timeout_ms = 3000\n"
		"[control]\nsocket = %s/%s.sock\n[log]\nfile = %s/%s.log\n%s",
		memstress, guest_args, role_lines, dir, name, dir, name,
		extra ? extra : "");
	fclose(f);
}

/* Both configs for a pair on a fresh port. */
static void configs(const char *guest_args, const char *primary_extra)
{
	char lines[128];

	port = free_port();
	snprintf(lines, sizeof(lines), "listen = 127.0.0.1:%d", port);
	write_conf("sec", lines, guest_args, NULL);
	snprintf(lines, sizeof(lines), "peer = 127.0.0.1:%d\n"
		 "checkpoint_delay_ms = 20", port);
	write_conf("pri", lines, guest_args, primary_extra);
}

static double status_num(const char *role, const char *key)
{
	char pat[64];
	const char *at;

	if (run("$C -c $D/%s status --json", role))
		return -1;
	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	at = strstr(out, pat);
	return at ? strtod(at + strlen(pat), NULL) : -1;
}

static bool status_is(const char *role, const char *key, const char *value)
{
	char pat[128];

	if (run("$C -c $D/%s status --json", role))
		return false;
	snprintf(pat, sizeof(pat), "\"%s\": \"%s\"", key, value);
	return strstr(out, pat) != NULL;
}

/* The role protects its guest: between checkpoints, or in one. */
static void assert_protecting(const char *role)
{
	/* one answer, both states: the state flips between checkpoints */
	if (run("$C -c $D/%s status --json", role) == 0 &&
	    (strstr(out, "\"state\": \"colo\"") ||
	     strstr(out, "\"state\": \"checkpoint\"")))
		return;
	run("$C -c $D/%s status; tail -n 20 $D/%s.log", role, role);
	fail_msg("the %s is not protecting its guest:\n%s", role, out);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait (up to secs) until the role's key reaches at least value. */
static void wait_num(const char *role, const char *key, double value, int secs)
{
	double v = -1;

	for (int i = 0; i < secs * 20; i++) {
		v = status_num(role, key);
		if (v >= value)
			return;
		sleep_ms(50);
	}
	fail_msg("%s %s stayed at %.0f, wanted %.0f", role, key, v, value);
}

static void start_pair(const char *env)
{
	assert_int_equal(run("$C -c $D/sec start-secondary"), 0);
	assert_int_equal(run("%s $C -c $D/pri start-primary", env ? env : ""), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/colo-pair-%d", (int)getpid());
	mkdir(dir, 0700);
	return 0;
}

/* Whatever happened: stop both, kill what is left, remove the files. */
static int teardown(void **state)
{
	char cmd[512];

	(void)state;
	run("$C -c $D/pri stop; $C -c $D/sec stop; sleep 0.3");
	/* [c]: the pattern must not match this very shell line */
	snprintf(cmd, sizeof(cmd), "pkill -9 -f '[c]oloctl -c %s/' ; "
		 "rm -rf %s", dir, dir);
	if (system(cmd) < 0)
		return -1;
	return 0;
}

/* --- at least fifty checkpoints, then byte-identical --------------------- */

static void pids(pid_t *a, pid_t *b)
{
	*a = (pid_t)status_num("pri", "guest_pid");
	*b = (pid_t)status_num("sec", "guest_pid");
	assert_true(*a > 0 && *b > 0);
}

static void test_fifty_checkpoints(void **state)
{
	pid_t a, b;

	(void)state;
	configs("--ram 32 --rate 40 --tick 3 --churn", NULL);
	start_pair(NULL);
	wait_num("pri", "checkpoints", 25, 60);
	/* the second half with the baseline clear, switched live */
	assert_int_equal(run("$C -c $D/pri set clear_mode monolithic"), 0);
	expect("clear_mode = monolithic");
	assert_true(status_is("pri", "clear_mode", "monolithic"));
	wait_num("pri", "checkpoints", 50, 60);
	assert_protecting("pri");
	assert_protecting("sec");
	/* the secondary compares hashes itself ... */
	assert_int_equal(run("$C -c $D/pri checkpoint --verify"), 0);
	expect("the secondary's guest is identical");
	/* ... and with both held stopped, byte for byte */
	assert_int_equal(run("$C -c $D/pri checkpoint --hold"), 0);
	pids(&a, &b);
	assert_int_equal(run("$C guest compare %d %d", (int)a, (int)b), 0);
	expect("byte-identical");
	assert_int_equal(run("$C -c $D/pri set clear_mode eager"), 1);
	expect("clear_mode: 'eager' is neither lazy nor monolithic");
	print_message("%.0f checkpoints, pause p50 %.1f ms, p99 %.1f ms\n",
		      status_num("pri", "checkpoints"),
		      status_num("pri", "pause_p50_ms"),
		      status_num("pri", "pause_p99_ms"));
}

/* --- the primary may come up first ---------------------------------------- */

/* An operator may start the primary before the secondary: it keeps
 * trying, and the pair forms once the secondary listens. */
static void test_primary_first(void **state)
{
	(void)state;
	configs("--ram 16 --rate 10 --tick 5", NULL);
	assert_int_equal(run("$C -c $D/pri start-primary"), 0);
	sleep_ms(1500);		/* a few refused attempts */
	assert_true(status_is("pri", "state", "connecting"));
	assert_int_equal(run("$C -c $D/sec start-secondary"), 0);
	wait_num("pri", "checkpoints", 3, 30);
	assert_int_equal(run("$C -c $D/pri checkpoint --verify"), 0);
	expect("the secondary's guest is identical");
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
	configs("--ram 32 --wss 4 --rate 20 --tick 5", NULL);
	start_pair(NULL);
	wait_num("pri", "checkpoints", 5, 30);
	pids(&a, &b);
	at = region_of(b) + (24u << 20);
	l = (struct iovec){ &marker, sizeof(marker) };
	r = (struct iovec){ (void *)(uintptr_t)at, sizeof(marker) };
	assert_int_equal(process_vm_writev(b, &l, 1, &r, 1, 0), sizeof(marker));
	if (run("$C -c $D/pri checkpoint --hold")) {
		run("$C -c $D/pri checkpoint --hold; $C -c $D/pri status; tail -n 30 $D/pri.log $D/sec.log");
		fail_msg("checkpoint --hold failed:\n%s", out);
	}
	l = (struct iovec){ &vb, sizeof(vb) };
	assert_int_equal(process_vm_readv(b, &l, 1, &r, 1, 0), sizeof(vb));
	l = (struct iovec){ &va, sizeof(va) };
	assert_int_equal(process_vm_readv(a, &l, 1, &r, 1, 0), sizeof(va));
	assert_true(va != marker);		/* A never wrote it */
	assert_true(vb == va);			/* B's own write undone */
	assert_int_equal(run("$C guest compare %d %d", (int)a, (int)b), 0);
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

	(void)state;
	snprintf(extra, sizeof(extra), "[debug]\nrecord_hashes = %s/hashes\n", dir);
	configs("--ram 32 --rate 40 --tick 3 --churn", extra);
	start_pair("COLO_FAULT=primary-die-in-checkpoint COLO_FAULT_AT=15");
	for (int i = 0; i < 600 && !status_is("sec", "state", "peer-lost"); i++)
		sleep_ms(50);
	assert_true(status_is("sec", "state", "peer-lost"));
	assert_int_equal(run("$C -c $D/pri status"), 2);	/* it is dead */
	/* the secondary's last complete checkpoint is the 14th */
	assert_int_equal(status_num("sec", "checkpoints"), 14);
	snprintf(path, sizeof(path), "%s/hashes", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lu %x %lu", &id, &crc, &bytes) == 3 && id == 14) {
			last_id = id;
			want = crc;
		}
	fclose(f);
	assert_int_equal(last_id, 14);
	b = (pid_t)status_num("sec", "guest_pid");
	assert_int_equal(guest_memory_crc(b, &bcrc, &bbytes), 0);
	if (bcrc != want)
		fail_msg("the secondary's guest hashes to %08x, checkpoint 14 of "
			 "the primary to %08x", bcrc, want);
}

/* --- bad peers and bad records ------------------------------------------- */

static int connect_secondary(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	for (int i = 0; i < 100; i++) {
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			return fd;
		sleep_ms(50);
	}
	fail_msg("cannot connect to the secondary on port %d", port);
	return -1;
}

static void send_record(int fd, uint16_t type, const uint8_t *payload,
			uint32_t len, int flip_bit, uint32_t cut)
{
	uint8_t buf[COLO_RECORD_HDR + 8192];
	uLong crc = crc32(0L, Z_NULL, 0);
	size_t n = COLO_RECORD_HDR + len;

	put_be16(buf, type);
	put_be16(buf + 2, 0);
	put_be32(buf + 4, len);
	crc = crc32(crc, buf, 8);
	crc = crc32(crc, payload, len);
	put_be32(buf + 8, (uint32_t)crc);
	memcpy(buf + COLO_RECORD_HDR, payload, len);
	if (flip_bit >= 0)
		buf[COLO_RECORD_HDR + flip_bit / 8] ^= (uint8_t)(1 << (flip_bit % 8));
	if (cut)
		n -= cut;
	assert_int_equal(write(fd, buf, n), (ssize_t)n);
}

static void hello(int fd, uint32_t version, uint32_t guest_hash)
{
	struct colo_hello h = { COLO_PROTO_MAGIC, version, 4096,
				COLO_ROLE_PRIMARY, guest_hash, 0, 0 };
	uint8_t b[COLO_HELLO_LEN];

	colo_hello_encode(&h, b);
	send_record(fd, COLO_HELLO, b, sizeof(b), -1, 0);
}

/* The connection is closed by the secondary, and its log says why. */
static void expect_dropped(int fd, const char *why)
{
	char buf[256], path[256], cmd[600];

	for (int i = 0; i < 100; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN))
			break;
		sleep_ms(20);
	}
	close(fd);
	snprintf(path, sizeof(path), "%s/sec.log", dir);
	snprintf(cmd, sizeof(cmd), "grep -qF -- '%s' %s", why, path);
	if (system(cmd) != 0)
		fail_msg("the secondary's log does not say '%s'", why);
}

static void test_bad_peer(void **state)
{
	uint8_t page_rec[4200] = { 0 };
	uint32_t before, after, hash;
	uint64_t bytes;
	struct layout l;
	pid_t b;
	int fd;

	(void)state;
	configs("--ram 16", NULL);
	assert_int_equal(run("$C -c $D/sec start-secondary"), 0);
	b = (pid_t)status_num("sec", "guest_pid");
	assert_int_equal(layout_read(b, &l), 0);
	assert_int_equal(layout_files_crc(&l, &hash), 0);
	layout_free(&l);
	assert_int_equal(guest_memory_crc(b, &before, &bytes), 0);

	/* a wrong protocol version */
	fd = connect_secondary();
	hello(fd, 99, hash);
	expect_dropped(fd, "the primary speaks protocol 99, we speak 1");
	/* another guest binary */
	fd = connect_secondary();
	hello(fd, COLO_PROTO_VERSION, hash ^ 1);
	expect_dropped(fd, "install the same guest binary");
	/* flipped bits in a record */
	fd = connect_secondary();
	hello(fd, COLO_PROTO_VERSION, hash);
	put_be64(page_rec, 0x10000);
	page_rec[8] = COLO_PAGE_RAW;
	put_be32(page_rec + 9, 4096);
	send_record(fd, COLO_PAGES, page_rec, 13 + 4096, 1000, 0);
	expect_dropped(fd, "(corrupt stream)");
	/* a record cut short */
	fd = connect_secondary();
	hello(fd, COLO_PROTO_VERSION, hash);
	send_record(fd, COLO_PAGES, page_rec, 13 + 4096, -1, 2000);
	shutdown(fd, SHUT_WR);
	expect_dropped(fd, "truncated stream");
	/* pages for memory nobody announced */
	fd = connect_secondary();
	hello(fd, COLO_PROTO_VERSION, hash);
	send_record(fd, COLO_PAGES, page_rec, 13 + 4096, -1, 0);
	expect_dropped(fd, "is in no RAM block the primary announced");

	/* the secondary lives on, waiting, its guest untouched */
	assert_true(status_is("sec", "state", "waiting"));
	assert_int_equal(guest_memory_crc(b, &after, &bytes), 0);
	assert_int_equal(after, before);
}

/* --- configuration and command-line errors ------------------------------- */

static void test_bad_config_and_commands(void **state)
{
	(void)state;
	assert_int_equal(run("printf '[checkpoint]\\npeer = localhost:99999\\n' > "
			     "$D/bad.conf; $C -c $D/bad.conf status"), 2);
	expect("bad.conf:2: [checkpoint] peer = 'localhost:99999' is not valid");
	expect("IPV4-ADDRESS:PORT");
	assert_int_equal(run("printf '[checkpoint]\\ncompress_level = 12\\n' > "
			     "$D/bad.conf; $C -c $D/bad.conf status"), 2);
	expect("compress_level = 12 is out of range");
	assert_int_equal(run("$C start-primary"), 2);
	expect("needs a configuration");
	assert_int_equal(run("$C checkpoint --bogus"), 2);
	expect("unknown argument '--bogus'");
	assert_int_equal(run("$C set compress_level"), 2);
	expect("usage: coloctl set KEY VALUE");
	assert_int_equal(run("$C -s $D/nobody.sock status"), 2);
	expect("no daemon answers on");

	/* and what the running primary refuses */
	configs("--ram 8 --rate 5 --tick 10", NULL);
	start_pair(NULL);
	wait_num("pri", "checkpoints", 2, 30);
	assert_int_equal(run("$C -c $D/pri set nope 1"), 1);
	expect("unknown key 'nope'");
	assert_int_equal(run("$C -c $D/pri set compress_level 12"), 1);
	expect("out of range");
	assert_int_equal(run("$C -c $D/pri set compress_level 6"), 0);
	assert_int_equal(status_num("pri", "compress_level"), 6);
	assert_int_equal(run("$C -c $D/sec checkpoint"), 1);
	expect("unknown command 'checkpoint'");
	/* a second primary for the same secondary is turned away */
	assert_int_equal(run("$C -c $D/pri -s $D/pri2.sock start-primary"), 0);
	sleep_ms(1500);
	assert_protecting("pri");
	run("$C -s $D/pri2.sock status");
	expect("solo");
	run("$C -s $D/pri2.sock stop");
}

/* --- make demo's script, short --------------------------------------- */

/* The pid after "label" in out, or 0. */
static pid_t pid_after(const char *label)
{
	const char *at = strstr(out, label);

	return at ? (pid_t)strtol(at + strlen(label), NULL, 10) : 0;
}

/*
 * The script `make demo` runs: it must end with the two guests compared
 * byte for byte and say so, and leave no daemon behind.
 */
static void test_demo_script(void **state)
{
	char guest_dir[PATH_MAX], *slash;
	pid_t daemons[2];

	(void)state;
	snprintf(guest_dir, sizeof(guest_dir), "%s", memstress);
	slash = strrchr(guest_dir, '/');
	assert_non_null(slash);
	*slash = '\0';
	assert_int_equal(run("DEMO_SECONDS=3 DEMO_RAM_MIB=32 DEMO_DELAY_MS=20 "
			     "./mk/demo.sh $C %s $D/demo", guest_dir), 0);
	expect("last checkpoint, both guests held");
	expect("byte-identical to the primary's");
	expect("both daemons and guests stopped");
	daemons[0] = pid_after("secondary started: pid ");
	daemons[1] = pid_after("primary started: pid ");
	for (int i = 0; i < 2; i++) {
		int tries = 0;

		assert_true(daemons[i] > 0);
		while (kill(daemons[i], 0) == 0 && tries++ < 40)
			sleep_ms(50);
		if (kill(daemons[i], 0) == 0)
			fail_msg("daemon %d still runs after the demo:\n%s",
				 (int)daemons[i], out);
	}
	/* a bad figure is refused before anything starts */
	assert_int_equal(run("DEMO_SECONDS=x ./mk/demo.sh $C %s $D/demo",
			     guest_dir), 1);
	expect("DEMO_SECONDS=x: give a whole number above 0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fifty_checkpoints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_primary_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secondary_own_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_primary_killed_in_checkpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_peer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_config_and_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_demo_script, setup, teardown),
	};

	if (!getenv("COLOCTL")) {
		fprintf(stderr, "set COLOCTL (make check does)\n");
		return 1;
	}
	snprintf(coloctl, sizeof(coloctl), "%s", getenv("COLOCTL"));
	guest_binary("memstress", memstress, sizeof(memstress));
	return cmocka_run_group_tests_name("pair", tests, NULL, NULL);
}
