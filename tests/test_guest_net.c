/*
 * test_guest_net.c - the guest's TCP/IP stack (guest/net on lwIP), seen
 * from the host's own: netecho behind a TAP device, pumped by a thread
 * (tests/lib/tap_pump), and the host's sockets, ping and ip(8) on the
 * other side. The stack's basic service: addresses refused or taken from
 * the environment, ARP and ping, TCP echo of 1 byte to 1 MiB, its rate,
 * 20 clients at once, a client that sends without reading. Hostile
 * frames, retransmission and a checkpoint: test_guest_net_hostile.c.
 *
 * The program first moves into a network namespace of its own (it runs
 * as root): the TAP, its address and everything the tests do vanish with
 * the process, whatever way it ends. The setting (tests/lib/net_guest):
 *
 *   host 10.77.9.1/24 (tap0) <-- pump --> netecho 10.77.9.2 (guest A)
 *                                         netecho, same argv (guest B,
 *                                         the checkpoint's target)
 *
 * Data is a pseudo-random stream from a seed (printed; COLO_TEST_SEED
 * sets it), so every echo is checked byte for byte against its offset.
 * COLO_TEST_LOG=info shows the guests' log lines; their stdout (lwIP's
 * assertion messages) is ours.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "colo_net.h"
#include "guests.h"
#include "local_checkpoint.h"
#include "log.h"
#include "net_guest.h"
#include "shell.h"
#include "tap_pump.h"

/* VmRSS of pid in KiB. */
static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}


/* netecho's statistics line (its stats port). */
struct echo_stats {
	unsigned conns, holding;
	unsigned long accepted, enobufs;
	size_t queued_max;
};

static void echo_stats(struct echo_stats *st)
{
	char line[256];
	size_t got = 0;
	long long deadline = now_ms() + 5000;
	int fd = client_connect(STATS_PORT, 0, 0);

	if (fd < 0)
		fail_msg("cannot connect to the stats port: %s", strerror(-fd));
	while (got < sizeof(line) - 1 && now_ms() < deadline) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		poll(&pfd, 1, 100);
		n = recv(fd, line + got, sizeof(line) - 1 - got, MSG_DONTWAIT);
		if (n == 0)
			break;		/* closed after the line: the close works */
		if (n > 0)
			got += (size_t)n;
	}
	close(fd);
	line[got] = '\0';
	if (sscanf(line, "conns %u accepted %lu enobufs %lu holding %u queued_max %zu",
		   &st->conns, &st->accepted, &st->enobufs, &st->holding,
		   &st->queued_max) != 5)
		fail_msg("netecho's stats line is '%s'", line);
}

/* --- its address, from argv or the environment ---------------------------- */

/* What the code under test logs, at every level (the guest's own lines
 * come as info). Only while the pump is paused: it logs too. */
static char captured[8192];

static void capture_hook(enum log_level level, const char *line, void *opaque)
{
	size_t n = strlen(captured);

	(void)level;
	(void)opaque;
	snprintf(captured + n, sizeof(captured) - n, "%s\n", line);
}

/*
 * Launch netecho with no network under it and start it: it must say
 * expect in its log; with must_fail, then exit with status 1 (its start
 * handler failed). The pump must be paused.
 */
static void start_alone(const char *const *args, const char *const *genv,
			const char *expect, bool must_fail)
{
	char *argv[16] = { "netecho" };
	char *envp[8] = { NULL };
	struct guest g;
	long long deadline = now_ms() + 5000;
	int ret, n = 1;

	for (int i = 0; args && args[i] && n < 15; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	for (int i = 0; genv && genv[i] && i < 7; i++)
		envp[i] = (char *)genv[i];
	captured[0] = '\0';
	log_set_hook(capture_hook, NULL);
	log_set_level(LOG_INFO);
	log_set_quiet(1);
	ret = launch_netecho(&g, "alone", argv, envp, NULL, NULL);
	if (!ret)
		ret = guest_start(&g);
	while (!ret && now_ms() < deadline && !strstr(captured, expect))
		if (guest_poll(&g, 100) < 0)
			break;
	while (!ret && must_fail && !g.exited && now_ms() < deadline)
		if (guest_poll(&g, 100) < 0)
			break;
	if (!ret && !g.exited && must_fail)
		ret = -ETIMEDOUT;
	if (!ret && must_fail && (!WIFEXITED(g.exit_status) ||
				  WEXITSTATUS(g.exit_status) != 1))
		ret = -EPROTO;
	if (!ret && !must_fail && g.exited)
		ret = -EPIPE;
	guest_destroy(&g, 1000);
	log_set_hook(NULL, NULL);
	log_set_level(env.log_level);
	log_set_quiet(0);
	if (ret)
		fail_msg("netecho %s%s: %s; its log:\n%s", args && args[0] ? args[0] : "",
			 must_fail ? " did not fail as it should" : " did not run",
			 strerror(-ret), captured);
	if (!strstr(captured, expect))
		fail_msg("netecho's log does not say \"%s\":\n%s", expect, captured);
}

/* A bad or missing address stops the guest at start, and its log names
 * the option (or variable) and the value. */
static void test_bad_address_refused(void **state)
{
	static const struct {
		const char *args[6];
		const char *env[3];
		const char *says;
	} bad[] = {
		{ { "--ip", "300.1.2.3" }, { NULL },
		  "--ip '300.1.2.3' is not an IPv4 address" },
		{ { "--ip", "10.77.9.2", "--netmask", "255.0.255.0" }, { NULL },
		  "--netmask '255.0.255.0' is not a netmask" },
		{ { "--ip", "10.77.9.2", "--gateway", "10.99.0.1" }, { NULL },
		  "--gateway '10.99.0.1' is not another host of the guest's subnet" },
		{ { "--ip", "10.77.9.255" }, { NULL },
		  "--ip '10.77.9.255' is the network or broadcast address" },
		{ { "--ip", "224.0.0.5" }, { NULL },
		  "--ip '224.0.0.5' is not a unicast address" },
		{ { "--port", "7", "--ip" }, { NULL }, "--ip needs a value" },
		{ { NULL }, { NULL }, "the guest has no IPv4 address" },
		{ { NULL }, { "COLO_GUEST_IP=10.77.9.2", "COLO_GUEST_NETMASK=255.255.255.1" },
		  "COLO_GUEST_NETMASK '255.255.255.1' is not a netmask" },
		{ { NULL }, { "COLO_GUEST_IP=10.0.0.1.5" },
		  "COLO_GUEST_IP '10.0.0.1.5' is not an IPv4 address" },
	};

	(void)state;
	tap_pump_pause(&env.pump);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		start_alone(bad[i].args, bad[i].env, bad[i].says, true);
	tap_pump_resume(&env.pump);
}

/* The environment gives the address when argv does not; argv wins. */
static void test_address_from_environment(void **state)
{
	static const char *const genv[] = {
		"COLO_GUEST_IP=10.77.9.3", "COLO_GUEST_GATEWAY=10.77.9.1", NULL,
	};
	static const char *const args[] = { "--ip", "10.77.9.4", NULL };

	(void)state;
	tap_pump_pause(&env.pump);
	start_alone(NULL, genv, "interface up: 10.77.9.3 netmask 255.255.255.0 "
		    "gateway 10.77.9.1, MAC 52:54:00:c0:10:01", false);
	start_alone(args, genv, "interface up: 10.77.9.4 netmask 255.255.255.0 "
		    "gateway 10.77.9.1", false);
	tap_pump_resume(&env.pump);
}

/* --- ARP, ICMP, TCP echo ------------------------------------------------- */

/* The host resolves the guest's MAC by ARP, and ping gets its replies:
 * both answered by lwIP itself. */
static void test_arp_and_ping(void **state)
{
	char out[2048];
	int ret;

	(void)state;
	run("ip neigh flush dev %s", TAP_NAME);
	ret = shell_run(out, sizeof(out), NULL, "ping -c 3 -W 2 %s", GUEST_IP);
	if (ret || !strstr(out, "3 received"))
		fail_msg("ping %s: status %d:\n%s", GUEST_IP, ret, out);
	ret = shell_run(out, sizeof(out), NULL, "ip neigh show %s dev %s",
			GUEST_IP, TAP_NAME);
	if (ret || !strstr(out, "52:54:00:c0:10:01"))
		fail_msg("the host did not learn the guest's MAC by ARP: '%s'", out);
	check_guest_alive("answering ARP and ping");
}

/* Echo of 1 byte up to 1 MiB, byte for byte: each on its own connection
 * that the client half-closes, so the guest's close after its queued
 * output is checked too (the client must see all, then the end); then
 * all the sizes one after another on one connection. */
static void test_echo_sizes(void **state)
{
	static const size_t sizes[] = {
		1, 2, 100, 1459, 1460, 1461, 4096, 65535, 65536, 65537,
		300000, 1u << 20,
	};
	struct stream s, one;
	int ret;

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		stream_open(&s, env.seed + i);
		s.len = sizes[i];
		s.shut = true;
		ret = streams_run(&s, 1, IO_TIMEOUT_MS, 0);
		close(s.fd);
		if (ret == -EBADMSG)
			fail_msg("echo of %zu bytes differs at byte %zu", sizes[i],
				 s.bad_at);
		if (ret)
			fail_msg("echo of %zu bytes: %zu back (%zu sent, end %s): %s",
				 sizes[i], s.got, s.sent, s.eof ? "seen" : "not seen",
				 strerror(-ret));
	}
	stream_open(&one, env.seed + 100);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		stream_more(&one, sizes[i], "one connection, all sizes");
	close(one.fd);
	check_guest_alive("echoing");
}

/* Round trips of small messages, one at a time, through the TAP, the
 * pump and the guest's channel: measured and printed. */
static void test_echo_rate(void **state)
{
	struct timeval tv = { .tv_sec = 5 };
	unsigned char msg[100], back[100];
	long long t0, elapsed;
	unsigned n = 0;
	int fd;

	(void)state;
	fd = client_connect(ECHO_PORT, 0, 0);
	assert_true(fd >= 0);
	fcntl(fd, F_SETFL, 0);			/* blocking, with a timeout */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	t0 = now_ms();
	while ((elapsed = now_ms() - t0) < 1500 && n < 100000) {
		stream_fill(msg, env.seed, (uint64_t)n * sizeof(msg), sizeof(msg));
		if (send(fd, msg, sizeof(msg), MSG_NOSIGNAL) != (ssize_t)sizeof(msg) ||
		    recv(fd, back, sizeof(back), MSG_WAITALL) != (ssize_t)sizeof(back))
			fail_msg("round trip %u: %s", n, strerror(errno));
		if (memcmp(msg, back, sizeof(msg)))
			fail_msg("round trip %u: the echo differs", n);
		n++;
	}
	close(fd);
	print_message("echo: %u round trips of %zu bytes in %lld ms: %.0f per "
		      "second\n", n, sizeof(msg), elapsed,
		      n * 1000.0 / (double)(elapsed ? elapsed : 1));
	/* one delayed ACK or timer tick per round trip would be < 100/s */
	assert_true(n * 1000 / (elapsed ? elapsed : 1) > 500);
}

/* Wait up to 3 s for netecho to have no echo connection open. */
static void wait_no_conns(const char *after)
{
	struct echo_stats st;
	long long deadline = now_ms() + 3000;

	do {
		echo_stats(&st);
		if (!st.conns)
			return;
		sleep_ms(50);
	} while (now_ms() < deadline);
	fail_msg("%u echo connections still open in the guest 3 s after %s",
		 st.conns, after);
}

#define CONCURRENT	20

/* Twenty clients at once, each its own stream, all echoed exactly; once
 * they are gone, so are their connections in the guest (closed()). */
static void test_concurrent_connections(void **state)
{
	struct stream s[CONCURRENT];
	int ret;

	(void)state;
	for (int i = 0; i < CONCURRENT; i++) {
		stream_open(&s[i], env.seed * 31 + (uint64_t)i);
		s[i].len = 256u << 10;
		s[i].shut = true;
	}
	ret = streams_run(s, CONCURRENT, 2 * IO_TIMEOUT_MS, 0);
	for (int i = 0; i < CONCURRENT; i++) {
		close(s[i].fd);
		if (s[i].err == -EBADMSG)
			fail_msg("client %d: the echo differs at byte %zu", i,
				 s[i].bad_at);
		if (s[i].err || !stream_done(&s[i]))
			fail_msg("client %d: %zu of %zu bytes back: %s", i,
				 s[i].got, s[i].len, strerror(-(s[i].err ? s[i].err : ret)));
	}
	assert_int_equal(ret, 0);
	wait_no_conns("20 clients closed");
}

/* --- a client that sends and does not read -------------------------------- */

/*
 * It sends until its socket takes no more for a second. The guest's
 * output queue for it must have filled to its bound and no further
 * (colo_tcp_send said -ENOBUFS; netecho held the input, so the client's
 * window closed): what the client got rid of is about the bound, the
 * guest's memory grew by about as much, and another client is served
 * meanwhile. Then the client reads, and gets every byte back.
 */
static void test_slow_reader_bounded(void **state)
{
	struct echo_stats st0, st1, st2;
	struct stream s, other;
	long rss0, rss1;
	long long idle_since;
	unsigned char buf[65536];
	int ret;

	(void)state;
	echo_stats(&st0);
	rss0 = rss_kib(env.cur->pid);
	memset(&s, 0, sizeof(s));
	s.seed = env.seed ^ 0x5eed;
	s.fd = client_connect(ECHO_PORT, 16384, 16384);
	assert_true(s.fd >= 0);
	idle_since = now_ms();
	while (now_ms() - idle_since < 1000 && s.sent < (64u << 20)) {
		struct pollfd pfd = { .fd = s.fd, .events = POLLOUT };
		ssize_t n;

		if (poll(&pfd, 1, 100) != 1)
			continue;
		stream_fill(buf, s.seed, s.sent, sizeof(buf));
		n = send(s.fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN)
			fail_msg("send: %s", strerror(errno));
		if (n > 0) {
			s.sent += (size_t)n;
			idle_since = now_ms();
		}
	}
	s.len = s.sent;
	echo_stats(&st1);
	rss1 = rss_kib(env.cur->pid);
	print_message("a client that does not read got %zu KiB out before it "
		      "stalled; the guest queued at most %zu KiB for it, its "
		      "RSS %ld -> %ld KiB\n", s.sent >> 10, st1.queued_max >> 10,
		      rss0, rss1);
	if (st1.enobufs <= st0.enobufs || st1.holding < 1)
		fail_msg("the guest's output queue never said -ENOBUFS (%lu -> "
			 "%lu) or no connection holds its input (%u)",
			 st0.enobufs, st1.enobufs, st1.holding);
	assert_true(st1.queued_max <= COLO_TCP_MAX_QUEUED);
	assert_true(s.sent > COLO_TCP_MAX_QUEUED);
	if (s.sent > (6u << 20))
		fail_msg("the client sent %zu KiB without reading: the guest "
			 "took far more than its %u KiB bound", s.sent >> 10,
			 COLO_TCP_MAX_QUEUED >> 10);
	if (rss0 > 0 && rss1 - rss0 > 8 * 1024)
		fail_msg("the guest grew by %ld KiB for a client that does not "
			 "read", rss1 - rss0);

	/* another client is served meanwhile */
	stream_open(&other, env.seed + 77);
	stream_more(&other, 20000, "a second client while the first stalls");
	close(other.fd);

	/* the first reads at last: everything comes back */
	ret = streams_run(&s, 1, IO_TIMEOUT_MS, 0);
	if (ret == -EBADMSG)
		fail_msg("the stalled client's echo differs at byte %zu", s.bad_at);
	if (ret)
		fail_msg("the stalled client got %zu of %zu bytes back: %s",
			 s.got, s.len, strerror(-ret));
	echo_stats(&st2);
	assert_int_equal(st2.holding, 0);
	close(s.fd);
	wait_no_conns("the stalled client closed");
}

/* --- a host parameter: TX segmentation ----------------------------------- */

/* The guest's TCP data segments from its echo port, as they reach the
 * TAP. Runs in the pump. */
struct seg_watch {
	unsigned segments;		/* with data */
	size_t bytes;			/* of data, in all */
	size_t largest;			/* data bytes of the largest */
};

static bool seg_filter(enum tap_dir dir, const unsigned char *f, size_t len,
		       void *opaque)
{
	struct seg_watch *w = opaque;
	const unsigned char *ip = f + 14, *tcp;
	size_t ihl, doff, tot, data;

	if (dir != GUEST_TO_TAP || len < 14 + 40 || f[12] != 0x08 ||
	    f[13] != 0x00 || ip[9] != 6)
		return false;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	tot = (size_t)ip[2] << 8 | ip[3];
	tcp = ip + ihl;
	doff = (size_t)(tcp[12] >> 4) * 4;
	if (((unsigned)tcp[0] << 8 | tcp[1]) != ECHO_PORT || tot <= ihl + doff)
		return false;
	data = tot - ihl - doff;
	w->segments++;
	w->bytes += data;
	if (data > w->largest)
		w->largest = data;
	return false;
}

/* Echo 10,000 bytes of stream seed through the pumped guest, watching
 * its segments. */
static void echo_watched(uint64_t seed, struct seg_watch *w, const char *what)
{
	struct stream s;

	memset(w, 0, sizeof(*w));
	stream_open(&s, seed);
	tap_pump_set_filter(&env.pump, seg_filter, w);
	stream_more(&s, 10000, what);
	tap_pump_set_filter(&env.pump, NULL, NULL);	/* w is ours again */
	close(s.fd);
	print_message("%s: 10000 bytes echoed in %u segments, the largest "
		      "%zu bytes\n", what, w->segments, w->largest);
}

/*
 * COLO_HOST_TX_SEGMENT=100 (this host's, not replicated): the guest
 * sends the same 10,000 bytes back in segments of at most 100 bytes;
 * without it, in segments as large as the client's (up to the MSS).
 */
static void test_tx_segment_host_param(void **state)
{
	char *genv[] = { "COLO_HOST_TX_SEGMENT=100", NULL };
	struct seg_watch cut, whole;
	struct guest g;
	int ret;

	(void)state;
	ret = swap_in_netecho(&g, "C", genv, 0);
	if (ret)
		fail_msg("netecho with COLO_HOST_TX_SEGMENT=100: %s", strerror(-ret));
	echo_watched(env.seed + 500, &cut, "COLO_HOST_TX_SEGMENT=100");
	check_guest_alive("sending in 100-byte segments");
	swap_out_netecho(&g);
	echo_watched(env.seed + 500, &whole, "no TX_SEGMENT");

	if (cut.bytes < 10000 || whole.bytes < 10000)
		fail_msg("the watch saw %zu and %zu bytes of the 10000 echoed",
			 cut.bytes, whole.bytes);
	if (cut.largest > 100)
		fail_msg("with COLO_HOST_TX_SEGMENT=100 a segment of %zu bytes "
			 "went out", cut.largest);
	if (cut.segments < 100)
		fail_msg("10000 bytes in %u segments of at most 100 bytes?",
			 cut.segments);
	if (whole.largest <= 100)
		fail_msg("without TX_SEGMENT the largest segment is %zu bytes: "
			 "the default changed", whole.largest);
}

/* What the runtime logs a malformed host parameter with (it refuses to
 * start, before any network). */
static void expect_refused(char **genv, const char *says)
{
	struct guest g;
	int ret;

	captured[0] = '\0';
	log_set_hook(capture_hook, NULL);
	log_set_quiet(1);
	ret = launch_netecho(&g, "bad", netecho_argv, genv, NULL, NULL);
	if (!ret)
		guest_destroy(&g, 1000);
	log_set_hook(NULL, NULL);
	log_set_quiet(0);
	if (ret != -EINVAL && ret != -E2BIG)
		fail_msg("netecho with %s: launch says %d, not a refusal", genv[0],
			 ret);
	if (!strstr(captured, "refused to start") || !strstr(captured, says))
		fail_msg("netecho with %s: its refusal does not say \"%s\":\n%s",
			 genv[0], says, captured);
}

/* A host parameter the runtime cannot take stops the guest at start,
 * saying which and why. */
static void test_host_param_refused(void **state)
{
	static char *many[] = {
		"COLO_HOST_A=1", "COLO_HOST_B=2", "COLO_HOST_C=3",
		"COLO_HOST_D=4", "COLO_HOST_E=5", "COLO_HOST_F=6",
		"COLO_HOST_G=7", "COLO_HOST_H=8", "COLO_HOST_I=9", NULL,
	};
	static const struct {
		char *env[3];
		const char *says;
	} bad[] = {
		{ { "COLO_HOST_TX_SEGMENT=10x" },
		  "COLO_HOST_TX_SEGMENT='10x' is not a number" },
		{ { "COLO_HOST_TX_SEGMENT=-5" },
		  "COLO_HOST_TX_SEGMENT='-5' is not a number" },
		{ { "COLO_HOST_TX_SEGMENT= 5" },
		  "COLO_HOST_TX_SEGMENT=' 5' is not a number" },
		{ { "COLO_HOST_TX_SEGMENT=" },
		  "COLO_HOST_TX_SEGMENT='' is not a number" },
		{ { "COLO_HOST_TX_SEGMENT=99999999999999999999" },
		  "is not a number" },
		{ { "COLO_HOST_=5" }, "its name after COLO_HOST_ must be 1 to 31" },
		{ { "COLO_HOST_ABCDEFGHIJKLMNOPQRSTUVWXYZ012345=1" },
		  "must be 1 to 31 letters" },
		{ { "COLO_HOST_TX-SEG=1" }, "must be 1 to 31 letters" },
		{ { "COLO_HOST_X=1", "COLO_HOST_X=2" },
		  "COLO_HOST_X is given twice" },
	};

	(void)state;
	tap_pump_pause(&env.pump);	/* no fork beside its thread */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_refused((char **)bad[i].env, bad[i].says);
	expect_refused(many, "more than 8 host parameters");
	tap_pump_resume(&env.pump);
}

/* A test name pattern (cmocka's filter, '*' allowed) runs just those;
 * COLO_TEST_LOG=info shows the guests' own log lines. */
int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_address_refused),
		cmocka_unit_test(test_address_from_environment),
		cmocka_unit_test(test_arp_and_ping),
		cmocka_unit_test(test_echo_sizes),
		cmocka_unit_test(test_echo_rate),
		cmocka_unit_test(test_concurrent_connections),
		cmocka_unit_test(test_slow_reader_bounded),
		cmocka_unit_test(test_tx_segment_host_param),
		cmocka_unit_test(test_host_param_refused),
	};
	const char *seed = getenv("COLO_TEST_SEED");
	const char *level = getenv("COLO_TEST_LOG");
	enum log_level l = LOG_WARN;

	/* first, while this is the only thread: a namespace of our own */
	if (unshare(CLONE_NEWNET))
		env.no_netns = strerror(errno);
	signal(SIGPIPE, SIG_IGN);
	env.seed = seed ? strtoull(seed, NULL, 0) : (uint64_t)time(NULL);
	print_message("seed %llu (COLO_TEST_SEED)\n", (unsigned long long)env.seed);
	if (level && log_level_parse(level, &l))
		l = LOG_WARN;
	log_set_level(l);
	env.log_level = l;
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("guest_net", tests, group_setup,
					   group_teardown);
}
