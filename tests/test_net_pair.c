/*
 * test_net_pair.c - a protected kvstore on a network: real clients
 * (redis-cli, redis-benchmark) in the lab's client namespace talk to the
 * guest through the primary's TAP, the LAN switch and the guest's lwIP,
 * while the pair checkpoints over its own replication link
 * (tests/lab/colo-lab.sh). Output is in buffer mode here (compare mode
 * is test_net_compare.c's): no reply leaves before the secondary holds
 * the state that produced it.
 *
 * The lab is built for each test and removed after it, also when the
 * test fails; the daemons are stopped and killed by pid (pair_lib.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
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
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "guests.h"
#include "kv_pair.h"
#include "net_lab.h"
#include "pair_lib.h"
#include "resp_compare.h"
#include "shell.h"

static char out[16384];

/* Buffer mode: what this file is about. */
static void start_pair_with(unsigned delay_ms, const char *pri_net_extra)
{
	char net[256];

	snprintf(net, sizeof(net), "output = buffer\n%s", pri_net_extra);
	kv_pair_start(delay_ms, net, "output = buffer\n");
}

static void start_pair(unsigned delay_ms)
{
	start_pair_with(delay_ms, "");
}

/* --- round trips ----------------------------------------------------------- */

static void test_redis_cli_round_trips(void **state)
{
	(void)state;
	start_pair(20);
	kv_cli_expect("PONG\n", "PING");
	kv_cli_expect("OK\n", "SET greeting hello");
	kv_cli_expect("hello\n", "GET greeting");
	kv_cli_expect("1\n", "INCR visits");
	kv_cli_expect("2\n", "INCR visits");
	kv_cli_expect("3\n", "LPUSH queue a b c");
	kv_cli_expect("c\nb\na\n", "LRANGE queue 0 -1");
	kv_cli_expect("(integer) 3\n", "--no-raw DBSIZE");
	pair_must(pair_protecting("pri"));
	print_message("held output: %.0f frames held, %.0f released, high "
		      "water %.0f\n", pair_status_num("pri", "outbuf_held_frames"),
		      pair_status_num("pri", "outbuf_released_frames"),
		      pair_status_num("pri", "outbuf_high_frames"));
	assert_true(pair_status_num("pri", "outbuf_released_frames") > 10);
}

/* --- an acknowledged write is in the secondary's guest --------------------- */

/* Does the memory of process pid hold needle, anywhere it may write? */
static bool memory_holds(pid_t pid, const char *needle)
{
	char path[64], line[512];
	size_t n = strlen(needle);
	bool found = false;
	FILE *maps;
	int mem;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	maps = fopen(path, "re");
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	mem = open(path, O_RDONLY | O_CLOEXEC);
	if (!maps || mem < 0)
		fail_msg("cannot read the memory of pid %d", (int)pid);
	while (!found && fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi;
		char perms[8];
		char *buf;

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 ||
		    perms[1] != 'w' || hi - lo > (1ul << 30))
			continue;
		buf = malloc(hi - lo);
		if (buf && pread(mem, buf, hi - lo, (off_t)lo) == (ssize_t)(hi - lo))
			found = memmem(buf, hi - lo, needle, n) != NULL;
		free(buf);
	}
	fclose(maps);
	close(mem);
	return found;
}

/*
 * Each acknowledged SET is in the secondary's guest the moment the client
 * has its reply: the reply left only once the checkpoint after the SET
 * was loaded there (and the secondary's guest gets no input of its own in
 * buffer mode, so nothing there could have made it up).
 */
static void test_acknowledged_set_in_secondary(void **state)
{
	pid_t b;

	(void)state;
	start_pair(50);
	b = (pid_t)pair_status_num("sec", "guest_pid");
	for (int i = 0; i < 5; i++) {
		char value[64], cmd[128];

		snprintf(value, sizeof(value), "acked-%d-%ld-%d", (int)getpid(),
			 (long)time(NULL), i);
		snprintf(cmd, sizeof(cmd), "SET key%d %s", i, value);
		kv_cli_expect("OK\n", cmd);
		if (!memory_holds(b, value))
			fail_msg("the client had OK for '%s', but the secondary's "
				 "guest (pid %d) does not hold the value", cmd,
				 (int)b);
	}
	print_message("5 acknowledged SETs, each in the secondary's guest "
		      "when its OK arrived\n");
}

/* --- no reply before its checkpoint ----------------------------------------- */

/*
 * With a second between checkpoints, a reply must wait for the next one:
 * the primary's count of loaded checkpoints read after each reply is past
 * the one read before the request, every time, and the round trip takes
 * a good part of the gap. (Released at once, a reply takes a millisecond
 * and would straddle a checkpoint only now and then.)
 */
static void test_no_reply_before_its_checkpoint(void **state)
{
	(void)state;
	start_pair(1000);
	kv_cli_expect("PONG\n", "PING");	/* ARP and the first connection done */
	for (int i = 0; i < 4; i++) {
		double before = pair_status_num("pri", "checkpoints"), after;
		struct timespec t0, t1;
		double ms;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		kv_cli_expect("OK\n", "SET slow 1");
		clock_gettime(CLOCK_MONOTONIC, &t1);
		after = pair_status_num("pri", "checkpoints");
		ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		print_message("round %d: checkpoints %.0f before the request, "
			      "%.0f after its reply, %.0f ms\n", i, before,
			      after, ms);
		if (after <= before)
			fail_msg("a reply came back with no checkpoint loaded "
				 "since its request (%.0f before, %.0f after)",
				 before, after);
	}
}

/* --- solo, a full queue, a missing bridge ------------------------------------ */

/*
 * The secondary gone, the primary runs solo and its output passes
 * straight through: a reply no longer waits for a checkpoint (a second
 * apart here).
 */
static void test_solo_output_passes(void **state)
{
	struct timespec t0, t1;
	double ms;
	pid_t s;

	(void)state;
	start_pair(1000);
	kv_cli_expect("PONG\n", "PING");
	s = (pid_t)pair_status_num("sec", "pid");
	assert_true(s > 0);
	assert_int_equal(kill(s, SIGKILL), 0);
	pair_must(pair_wait_state("pri", "solo", PAIR_HEARTBEAT_MS + 3000));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 5; i++)
		kv_cli_expect("OK\n", "SET solo 1");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	print_message("solo: 5 redis-cli SETs in %.0f ms (protected, each "
		      "waited up to a second)\n", ms);
	if (ms > 2500)
		fail_msg("solo replies took %.0f ms for 5: still held", ms);
	assert_int_equal(pair_status_num("pri", "outbuf_depth_frames"), 0);
}

/*
 * Held output at its limit asks for a checkpoint at once: with a second
 * between checkpoints and room for 64 KiB, the clients make the primary
 * checkpoint far more often than once a second, and nothing is dropped.
 */
static void test_full_queue_asks_for_checkpoint(void **state)
{
	double before, after, asked;
	int ret;

	(void)state;
	start_pair_with(1000, "max_held_bytes = 65536\n");
	before = pair_status_num("pri", "checkpoints");
	/* 20 clients with 4 requests each in flight: 80 KB of GET replies
	 * a round, over the 64 KiB limit and under the cap of twice that */
	ret = lab_sh("client", out, sizeof(out), "redis-benchmark -h %s -p %d "
		     "-t set,get -d 1000 -n 4000 -c 20 -P 4 -q 2>&1 | "
		     "tr \"\\r\" \"\\n\" | grep -E \"requests per second|"
		     "ERR|rror\"", LAB_GUEST_IP, KV_PORT);
	assert_int_equal(ret, 0);
	after = pair_status_num("pri", "checkpoints");
	asked = pair_status_num("pri", "outbuf_full_requests");
	print_message("4000 SETs and GETs of 1 KB from 20 clients, 4 in "
		      "flight each: %.0f checkpoints (%.0f asked "
		      "by a full queue), %.0f frames dropped: %s", after - before,
		      asked, pair_status_num("pri", "outbuf_dropped_frames"), out);
	assert_true(asked > 0);
	assert_true(after - before > 20);
	assert_int_equal(pair_status_num("pri", "outbuf_dropped_frames"), 0);
}

/* A bridge that is not there: the primary refuses to start, saying what
 * to create, and leaves no TAP behind. */
static void test_missing_bridge_refused(void **state)
{
	char kv[PATH_MAX];
	struct pair_role pri = { .program = kv,
				 .conf = "[net]\nbridge = nosuchbr\n" };
	int ret;

	(void)state;
	guest_binary("kvstore", kv, sizeof(kv));
	pair_must(pair_write_conf("pri", "peer = 10.77.2.2:9470", "", &pri));
	ret = pair_run("%s $C -c $D/pri start-primary", lab_ns("pri"));
	print_message("start-primary exited %d:\n%s", ret, pair_out);
	assert_int_not_equal(ret, 0);
	pair_must(pair_expect("no bridge nosuchbr"));
	assert_int_equal(lab_sh("pri", out, sizeof(out), "ip -o link show type tun"), 0);
	if (strstr(out, "colo"))
		fail_msg("a TAP was left behind: %s", out);
}

/* --- redis-benchmark ------------------------------------------------------- */

static void test_redis_benchmark(void **state)
{
	static const char *const tests[] = {
		"SET", "GET", "INCR", "LPUSH", "RPUSH", "LPOP", "RPOP",
		"LRANGE_100", "MSET",
	};
	int ret;

	(void)state;
	start_pair(20);
	ret = lab_sh("client", out, sizeof(out), "redis-benchmark -h %s -p %d "
		     "-t set,get,incr,lpush,rpush,lpop,rpop,lrange_100,mset "
		     "-n 2000 -c 20 -q 2>&1 | tr \"\\r\" \"\\n\" | "
		     "grep -E \"requests per second|ERR|rror\"", LAB_GUEST_IP,
		     KV_PORT);
	print_message("redis-benchmark exited %d:\n%s", ret, out);
	assert_int_equal(ret, 0);
	out[sizeof(out) - 2] = '\0';
	memmove(out + 1, out, strlen(out) + 1);	/* every line after a \n */
	out[0] = '\n';
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		char line[64], detail[64];

		/* "SET: 809.06 requests per second", or with a detail:
		 * "MSET (10 keys): ..." */
		snprintf(line, sizeof(line), "\n%s: ", tests[i]);
		snprintf(detail, sizeof(detail), "\n%s (", tests[i]);
		if (!strstr(out, line) && !strstr(out, detail))
			fail_msg("redis-benchmark reported no %s line", tests[i]);
	}
	if (strstr(out, "ERR") || strstr(out, "rror"))
		fail_msg("redis-benchmark printed errors:\n%s", out);
	pair_must(pair_protecting("pri"));
	pair_must(pair_protecting("sec"));
}

/* --- hostile input ----------------------------------------------------------- */

/* In the client's namespace: frames no stack should choke on, at the
 * guest's MAC, through a packet socket on eth0. */
static int send_hostile_frames(void *arg)
{
	static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0xc0, 0x10, 0x01 };
	struct sockaddr_ll to = { .sll_family = AF_PACKET };
	uint8_t f[1514];
	int fd, sent = 0;

	(void)arg;
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (fd < 0)
		return 1;
	to.sll_ifindex = (int)if_nametoindex("eth0");
	to.sll_halen = 6;
	memcpy(to.sll_addr, guest_mac, 6);
	for (int i = 0; i < 3000; i++) {
		size_t len;

		memset(f, 0, sizeof(f));
		memcpy(f, guest_mac, 6);
		memcpy(f + 6, "\x02\x77\x01\x00\x00\x0a", 6);
		switch (i % 5) {
		case 0:		/* an Ethernet header and nothing after */
			f[12] = 0x08;
			len = 14;
			break;
		case 1:		/* IPv4 with a header length of 2 words */
			f[12] = 0x08;
			f[14] = 0x42;
			len = 60;
			break;
		case 2:		/* IPv4 claiming 65535 bytes in 60 */
			f[12] = 0x08;
			f[14] = 0x45;
			f[16] = 0xff;
			f[17] = 0xff;
			f[23] = 6;	/* TCP */
			len = 60;
			break;
		case 3:		/* TCP with its offset past the frame */
			f[12] = 0x08;
			f[14] = 0x45;
			f[17] = 40;
			f[22] = 64;
			f[23] = 6;
			memcpy(f + 26, "\x0a\x4d\x01\x0a\x0a\x4d\x01\x64", 8);
			f[36] = KV_PORT >> 8;
			f[37] = KV_PORT & 0xff;
			f[46] = 0xf0;	/* 60 bytes of header */
			len = 54;
			break;
		default:	/* an ARP request for the guest, over and over */
			memset(f, 0xff, 6);
			f[12] = 0x08;
			f[13] = 0x06;
			memcpy(f + 14, "\x00\x01\x08\x00\x06\x04\x00\x01", 8);
			memcpy(f + 22, "\x02\x77\x01\x00\x00\x0a\x0a\x4d\x01\x0a", 10);
			memcpy(f + 38, "\x0a\x4d\x01\x64", 4);
			len = 60;
			break;
		}
		if (sendto(fd, f, len, 0, (struct sockaddr *)&to, sizeof(to)) ==
		    (ssize_t)len)
			sent++;
	}
	close(fd);
	return sent == 3000 ? 0 : 2;
}

/* In the client's namespace: RESP no server should choke on. */
static int send_hostile_resp(void *arg)
{
	static const char *const bad[] = {
		"*1\r\n$1073741824\r\n",	/* a 1 GiB bulk */
		"*1\r\n$-5\r\n",		/* a negative bulk length */
		"*3\r\n$3\r\nSET\r\n$x\r\n",
		"$5\r\nhello\r\n",
		"\x01\x02\x03\xff\r\n",
		"*2147483647\r\n",
	};
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(KV_PORT) };
	struct timeval tv = { 5, 0 };
	int answered = 0;

	(void)arg;
	inet_pton(AF_INET, LAB_GUEST_IP, &sa.sin_addr);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		char r[256];

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
		    send(fd, bad[i], strlen(bad[i]), MSG_NOSIGNAL) < 0) {
			close(fd);
			return 1;
		}
		/* an error reply, or the connection closed: never silence */
		if (recv(fd, r, sizeof(r), 0) >= 0)
			answered++;
		close(fd);
	}
	return answered == (int)(sizeof(bad) / sizeof(bad[0])) ? 0 : 2;
}

static void test_hostile_input(void **state)
{
	(void)state;
	start_pair(20);
	assert_int_equal(lab_in("client", send_hostile_frames, NULL), 0);
	assert_int_equal(lab_in("client", send_hostile_resp, NULL), 0);
	kv_cli_expect("PONG\n", "PING");
	kv_cli_expect("OK\n", "SET after hostile");
	kv_cli_expect("hostile\n", "GET after");
	pair_must(pair_protecting("pri"));
	pair_must(pair_protecting("sec"));
}

/* --- replies byte-equal to redis-server's ------------------------------------ */

/*
 * The scripted command list, against Debian's redis-server in the client
 * namespace and against the protected guest across the lab: the replies
 * are the same bytes.
 */
static void test_replies_equal_redis_server(void **state)
{
	(void)state;
	start_pair(20);
	kv_replies_equal_redis();
}

int main(int argc, char **argv)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, kv_lab_setup, kv_lab_teardown)
	const struct CMUnitTest tests[] = {
		T(test_redis_cli_round_trips),
		T(test_acknowledged_set_in_secondary),
		T(test_no_reply_before_its_checkpoint),
		T(test_redis_benchmark),
		T(test_hostile_input),
		T(test_solo_output_passes),
		T(test_full_queue_asks_for_checkpoint),
		T(test_missing_bridge_refused),
		T(test_replies_equal_redis_server),
	};
#undef T

	if (pair_init("net-pair"))
		return 1;
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("net-pair", tests, NULL, NULL);
}
