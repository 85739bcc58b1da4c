/*
 * test_guest_net.c - the guest's TCP/IP stack (guest/net on lwIP), seen
 * from the host's own: netecho behind a TAP device, pumped by a thread
 * (tests/lib/tap_pump), and the host's sockets, ping and ip(8) on the
 * other side.
 *
 * The program first moves into a network namespace of its own (it runs
 * as root): the TAP, its address and everything the tests do vanish with
 * the process, whatever way it ends.
 *
 *   host 10.77.9.1/24 (tap0) <-- pump --> netecho 10.77.9.2 (guest A)
 *                                         netecho, same argv (guest B,
 *                                         the checkpoint's target)
 *
 * Data is a pseudo-random stream from a seed (printed; COLO_TEST_SEED
 * sets it), so every echo is checked byte for byte against its offset;
 * the random frames of the hostile test come from it too (30,000 of
 * them; COLO_TEST_FUZZ=N for more). COLO_TEST_LOG=info shows the
 * guests' log lines; their stdout (lwIP's assertion messages) is ours.
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
#include "shell.h"
#include "tap_pump.h"

#define TAP_NAME	"tap0"
#define HOST_IP		"10.77.9.1"
#define GUEST_IP	"10.77.9.2"
#define ECHO_PORT	7
#define STATS_PORT	8
#define IO_TIMEOUT_MS	10000	/* any one transfer; far above its need */
#define ETH_HLEN	14
#define A_AHEAD_S	600	/* A's host clock ahead of B's */

static const unsigned char guest_mac[6] = COLO_GUEST_MAC_DEFAULT;

/* A and B are launched alike (same path, argv, environment): B's layout
 * is A's, so A can be checkpointed into it. */
static char *netecho_argv[] = {
	"netecho", "--ip", GUEST_IP, "--netmask", "255.255.255.0",
	"--gateway", HOST_IP, "--stats-port", "8", NULL,
};

static struct {
	const char *no_netns;		/* why the namespace is missing */
	struct tap_pump pump;
	bool pump_open;
	struct guest ga, gb;
	bool ga_up, gb_up;		/* launched, not yet destroyed */
	struct guest *cur;		/* the guest pumped: A, or B after the
					 * checkpoint */
	bool b_taken;			/* B is the copy of A now */
	unsigned char host_mac[6];
	uint64_t seed;
	enum log_level log_level;	/* COLO_TEST_LOG, else warn */
	bool a_ahead;			/* A's host clock is A_AHEAD_S ahead */
} env;

/* --- small helpers ------------------------------------------------------- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Byte off of stream seed: cheap, and any one byte can be checked. */
static unsigned char stream_byte(uint64_t seed, uint64_t off)
{
	uint64_t x = seed ^ ((off >> 3) * 0x9e3779b97f4a7c15ull);

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return (unsigned char)(x >> ((off & 7) * 8));
}

static void stream_fill(unsigned char *buf, uint64_t seed, uint64_t off,
			size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = stream_byte(seed, off + i);
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char out[2048];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = shell_runv(out, sizeof(out), NULL, fmt, ap);
	va_end(ap);
	if (ret)
		print_message("command failed (%d): %s\n", ret, out);
	return ret;
}

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

/* --- client sockets ------------------------------------------------------ */

/* A non-blocking TCP client of the guest; buffers 0: the kernel's. */
static int client_connect(uint16_t port, int rcvbuf, int sndbuf)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct pollfd pfd;
	int fd, one = 1, err = 0;
	socklen_t elen = sizeof(err);

	inet_pton(AF_INET, GUEST_IP, &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (sndbuf)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS)
		goto fail;
	pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
	if (poll(&pfd, 1, 5000) != 1) {
		errno = ETIMEDOUT;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) || err) {
		errno = err ? err : errno;
		goto fail;
	}
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

/*
 * One client's echo stream: it sends the first len bytes of stream seed
 * (half-closing after them if shut) and checks that the same bytes come
 * back, in order, and then (shut) the end of the stream.
 */
struct stream {
	int fd;
	uint64_t seed;
	size_t len;			/* bytes to send in all */
	size_t sent, got;
	bool shut;			/* shutdown(SHUT_WR) after len */
	bool shut_done, eof;
	int err;			/* first failure, negative errno;
					 * -EBADMSG: a wrong byte, at bad_at */
	size_t bad_at;
};

static bool stream_done(const struct stream *s)
{
	return s->err || (s->got == s->len && (!s->shut || s->eof));
}

static void stream_io(struct stream *s, short revents)
{
	unsigned char buf[65536], want[sizeof(buf)];
	ssize_t n;

	if ((revents & POLLOUT) && s->sent < s->len) {
		size_t k = s->len - s->sent < sizeof(buf) ? s->len - s->sent : sizeof(buf);

		stream_fill(buf, s->seed, s->sent, k);
		n = send(s->fd, buf, k, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0)
			s->sent += (size_t)n;
		else if (n < 0 && errno != EAGAIN)
			s->err = -errno;
	}
	if (s->shut && !s->shut_done && s->sent == s->len) {
		shutdown(s->fd, SHUT_WR);
		s->shut_done = true;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0) {
			s->eof = true;
			if (s->got < s->len && !s->err)
				s->err = -ECONNRESET;	/* ended early */
		} else if (n < 0 && errno != EAGAIN) {
			s->err = -errno;
		} else if (n > 0) {
			if (s->got + (size_t)n > s->sent) {
				s->err = -EPROTO;	/* more than was sent */
				return;
			}
			stream_fill(want, s->seed, s->got, (size_t)n);
			for (ssize_t i = 0; i < n; i++) {
				if (buf[i] != want[i]) {
					s->err = -EBADMSG;
					s->bad_at = s->got + (size_t)i;
					return;
				}
			}
			s->got += (size_t)n;
		}
	}
}

/*
 * Run streams until all are done or, with until_got, until they got that
 * many bytes back in all. 0, -ETIMEDOUT after timeout_ms, or the first
 * stream's error.
 */
static int streams_run(struct stream *s, int n, int timeout_ms, size_t until_got)
{
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd pfd[64];
		size_t total = 0;
		int live = 0;

		for (int i = 0; i < n; i++) {
			if (s[i].err)
				return s[i].err;
			total += s[i].got;
			pfd[i] = (struct pollfd){ .fd = stream_done(&s[i]) ? -1 : s[i].fd,
				.events = (short)(POLLIN | (s[i].sent < s[i].len ? POLLOUT : 0)) };
			live += !stream_done(&s[i]);
		}
		if (!live || (until_got && total >= until_got))
			return 0;
		if (now_ms() > deadline)
			return -ETIMEDOUT;
		if (poll(pfd, (nfds_t)n, 100) < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++)
			if (pfd[i].fd >= 0 && pfd[i].revents)
				stream_io(&s[i], pfd[i].revents);
	}
}

static void stream_open(struct stream *s, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->seed = seed;
	s->fd = client_connect(ECHO_PORT, 0, 0);
	if (s->fd < 0)
		fail_msg("cannot connect to %s:%d: %s", GUEST_IP, ECHO_PORT,
			 strerror(-s->fd));
}

/* Echo len more bytes on s, within timeout. */
static void stream_more(struct stream *s, size_t len, const char *what)
{
	int ret;

	s->len += len;
	ret = streams_run(s, 1, IO_TIMEOUT_MS, 0);
	if (ret == -EBADMSG)
		fail_msg("%s: the echo differs at byte %zu", what, s->bad_at);
	if (ret)
		fail_msg("%s: %zu of %zu bytes echoed (%zu sent): %s", what,
			 s->got, s->len, s->sent, strerror(-ret));
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

/* --- the setting: namespace, TAP, guests --------------------------------- */

static int launch_netecho(struct guest *g, const char *name, char **argv,
			  char **genv, guest_frame_fn on_frame, void *opaque)
{
	char path[PATH_MAX];
	struct guest_params p = {
		.name = name,
		.path = guest_binary("netecho", path, sizeof(path)),
		.argv = argv,
		.env = genv,
		.stdout_fd = 2,		/* lwIP's assertions print there */
		.stderr_fd = 2,
		.on_frame = on_frame,
		.opaque = opaque,
	};

	return guest_launch(g, &p);
}

/*
 * Launch A in a time namespace whose CLOCK_MONOTONIC is ahead_s seconds
 * ahead of ours (and of B's): A's host clock is that far from B's, as on
 * two hosts. A replica whose lwIP read the host's clock would find all
 * of A's timeouts that far in its future: its timers would stop. Without
 * time namespaces A is launched here, and the checkpoint test cannot
 * tell the clocks apart.
 */
static int launch_ahead(struct guest *g, const char *name, int ahead_s)
{
	int own = open("/proc/self/ns/time", O_RDONLY | O_CLOEXEC);
	char offsets[64];
	int fd, n, ret;

	if (own < 0 || unshare(CLONE_NEWTIME)) {
		print_message("no time namespaces here (%s): A runs on B's "
			      "clock\n", strerror(errno));
		if (own >= 0)
			close(own);
		return launch_netecho(g, name, netecho_argv, NULL,
				      tap_pump_guest_frame, &env.pump);
	}
	n = snprintf(offsets, sizeof(offsets), "monotonic %d 0", ahead_s);
	fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	ret = fd >= 0 && write(fd, offsets, (size_t)n) == n ? 0 : -errno;
	if (fd >= 0)
		close(fd);
	if (!ret)
		ret = launch_netecho(g, name, netecho_argv, NULL,
				     tap_pump_guest_frame, &env.pump);
	/* our later children are born in our own namespace again */
	if (setns(own, CLONE_NEWTIME))
		ret = ret ? ret : -errno;
	close(own);
	env.a_ahead = !ret;
	return ret;
}

static int group_setup(void **state)
{
	struct ifreq ifr;
	long long deadline;
	int fd;

	(void)state;
	if (env.no_netns) {
		print_message("no network namespace of our own (%s): these "
			      "tests need root\n", env.no_netns);
		return -1;
	}
	if (run("ip link set lo up") || tap_pump_open(&env.pump, TAP_NAME))
		return -1;
	env.pump_open = true;
	/* no IPv6 chatter (router solicitations, DAD) on the link */
	run("echo 1 > /proc/sys/net/ipv6/conf/%s/disable_ipv6", TAP_NAME);
	if (run("ip addr add %s/24 dev %s && ip link set %s up", HOST_IP,
		TAP_NAME, TAP_NAME))
		return -1;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", TAP_NAME);
	if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		return -1;
	memcpy(env.host_mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);

	/* both before the pump's thread: no fork beside it */
	if (launch_ahead(&env.ga, "A", A_AHEAD_S))
		return -1;
	env.ga_up = true;
	if (launch_netecho(&env.gb, "B", netecho_argv, NULL,
			   tap_pump_guest_frame, &env.pump))
		return -1;
	env.gb_up = true;
	if (guest_start(&env.ga) || tap_pump_start(&env.pump, &env.ga))
		return -1;
	env.cur = &env.ga;

	/* serving: the first connection that works */
	deadline = now_ms() + 10000;
	while (now_ms() < deadline) {
		fd = client_connect(ECHO_PORT, 0, 0);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		sleep_ms(100);
	}
	print_message("netecho did not accept a connection within 10 s\n");
	return -1;
}

static int group_teardown(void **state)
{
	(void)state;
	if (env.pump_open)
		tap_pump_pause(&env.pump);
	if (env.ga_up)
		guest_destroy(&env.ga, 1000);
	if (env.gb_up)
		guest_destroy(&env.gb, 1000);
	if (env.pump_open)
		tap_pump_close(&env.pump);
	return 0;
}

/* The pumped guest is alive and its channel open. */
static void check_guest_alive(const char *after)
{
	struct tap_pump_stats st;

	tap_pump_get_stats(&env.pump, &st);
	if (st.guest_gone || kill(env.cur->pid, 0))
		fail_msg("the guest died %s", after);
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

/* --- hostile frames ------------------------------------------------------ */

static void put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static uint32_t sum16(const unsigned char *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* An Ethernet header to the guest from the host; 14. */
static size_t eth_hdr(unsigned char *f, unsigned type)
{
	memcpy(f, guest_mac, 6);
	memcpy(f + 6, env.host_mac, 6);
	put16(f + 12, type);
	return ETH_HLEN;
}

/* An IPv4 header host -> guest: ihl words, total length tot; its checksum
 * over csum_len bytes (a valid one: ihl * 4). */
static void ip4_hdr(unsigned char *ip, unsigned ihl, unsigned tot,
		    unsigned proto, unsigned frag, size_t csum_len)
{
	memset(ip, 0, 20);
	ip[0] = (unsigned char)(0x40 | (ihl & 0xf));
	put16(ip + 2, tot);
	put16(ip + 4, 0x4242);
	put16(ip + 6, frag);
	ip[8] = 64;
	ip[9] = (unsigned char)proto;
	inet_pton(AF_INET, HOST_IP, ip + 12);
	inet_pton(AF_INET, GUEST_IP, ip + 16);
	put16(ip + 10, fold(sum16(ip, csum_len, 0)));
}

/* A TCP header (doff words, options zero) over a seg_len-byte segment
 * already in place after it; its checksum valid. */
static void tcp_hdr(unsigned char *tcp, size_t seg_len, unsigned sport,
		    unsigned dport, uint32_t seq, uint32_t ack, unsigned doff,
		    unsigned flags)
{
	unsigned char pseudo[12];

	memset(tcp, 0, 20);
	put16(tcp, sport);
	put16(tcp + 2, dport);
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = (unsigned char)(doff << 4);
	tcp[13] = (unsigned char)flags;
	put16(tcp + 14, 65535);
	inet_pton(AF_INET, HOST_IP, pseudo);
	inet_pton(AF_INET, GUEST_IP, pseudo + 4);
	pseudo[8] = 0;
	pseudo[9] = 6;
	put16(pseudo + 10, (unsigned)seg_len);
	put16(tcp + 16, fold(sum16(tcp, seg_len, sum16(pseudo, 12, 0))));
}

#define TCP_SYN 0x02
#define TCP_ACK 0x10

static void inject(const unsigned char *f, size_t len, int copies)
{
	for (int i = 0; i < copies; i++)
		assert_int_equal(tap_pump_inject(&env.pump, f, len), 0);
}

/* IPv4 host -> guest of proto: the IP header and payload, tot bytes long
 * by its header, in a frame of len bytes. */
static size_t ip4_frame(unsigned char *f, unsigned ihl, unsigned tot,
			unsigned proto, unsigned frag, size_t len)
{
	memset(f, 0, len);
	eth_hdr(f, 0x0800);
	ip4_hdr(f + ETH_HLEN, ihl, tot, proto, frag, 20);
	return len;
}

/* The malformed frames, a few copies of each. */
static void inject_malformed(uint16_t est_port)
{
	unsigned char f[9100];
	unsigned char *ip = f + ETH_HLEN, *tcp = ip + 20;
	size_t n;

	/* truncated Ethernet: nothing, a partial header, a bare header */
	memset(f, 0, 64);
	eth_hdr(f, 0x0800);
	for (size_t len = 0; len <= ETH_HLEN; len++)
		inject(f, len, 2);
	/* an IPv4 header cut short */
	inject(f, ip4_frame(f, 5, 40, 6, 0, ETH_HLEN + 10), 3);
	/* bad header lengths: 16 bytes (< 20), 60 bytes (> the packet) */
	n = ip4_frame(f, 4, 40, 6, 0, ETH_HLEN + 40);
	ip4_hdr(ip, 4, 40, 6, 0, 16);
	inject(f, n, 3);
	n = ip4_frame(f, 15, 40, 6, 0, ETH_HLEN + 40);
	inject(f, n, 3);
	/* total length beyond the frame; below the header */
	inject(f, ip4_frame(f, 5, 1500, 6, 0, ETH_HLEN + 40), 3);
	inject(f, ip4_frame(f, 5, 10, 6, 0, ETH_HLEN + 40), 3);
	/* version 6 in an IPv4 frame */
	n = ip4_frame(f, 5, 40, 6, 0, ETH_HLEN + 40);
	ip[0] = 0x65;
	inject(f, n, 3);
	/* TCP header offsets beyond the segment (with valid checksums),
	 * below the minimum, to the listener and to a live connection */
	n = ip4_frame(f, 5, 40, 6, 0, ETH_HLEN + 40);
	tcp_hdr(tcp, 20, 40000, ECHO_PORT, 1000, 0, 15, TCP_SYN);
	inject(f, n, 3);
	tcp_hdr(tcp, 20, 40000, ECHO_PORT, 1000, 0, 2, TCP_SYN);
	inject(f, n, 3);
	tcp_hdr(tcp, 20, est_port, ECHO_PORT, 1000, 1000, 15, TCP_ACK);
	inject(f, n, 3);
	/* a segment shorter than a TCP header */
	n = ip4_frame(f, 5, 30, 6, 0, ETH_HLEN + 30);
	inject(f, n, 3);
	/* TCP options: an option kind as the last byte (its length would
	 * be read past the header), lengths 0, 1 and 255 */
	n = ip4_frame(f, 5, 44, 6, 0, ETH_HLEN + 44);
	memcpy(tcp + 20, (const unsigned char[]){ 1, 1, 1, 2 }, 4);
	tcp_hdr(tcp, 24, 40001, ECHO_PORT, 2000, 0, 6, TCP_SYN);
	inject(f, n, 2);
	for (int i = 0; i < 3; i++) {
		static const unsigned char optlen[] = { 0, 1, 255 };

		n = ip4_frame(f, 5, 44, 6, 0, ETH_HLEN + 44);
		memcpy(tcp + 20, (const unsigned char[]){ 8, optlen[i], 0, 0 }, 4);
		tcp_hdr(tcp, 24, 40002 + (unsigned)i, ECHO_PORT, 3000, 0, 6, TCP_SYN);
		inject(f, n, 2);
	}
	/* UDP claiming more than it has; to a closed port (ICMP
	 * unreachable); an unknown protocol with no payload (ICMP protocol
	 * unreachable quotes past it) */
	n = ip4_frame(f, 5, 28, 17, 0, ETH_HLEN + 28);
	put16(ip + 20, 5000);
	put16(ip + 22, 9);
	put16(ip + 24, 1000);
	inject(f, n, 3);
	put16(ip + 24, 8);
	inject(f, n, 3);
	inject(f, ip4_frame(f, 5, 20, 253, 0, ETH_HLEN + 20), 3);
	/* UDP-Lite whose checksum coverage is far beyond the datagram: an
	 * assertion in lwIP 2.1.3's checksum aborted the guest on it */
	n = ip4_frame(f, 5, 28, 136, 0, ETH_HLEN + 28);
	put16(ip + 20, 5000);
	put16(ip + 22, ECHO_PORT);
	put16(ip + 24, 0xffff);
	inject(f, n, 3);
	/* an ICMP echo request cut to 4 bytes */
	n = ip4_frame(f, 5, 24, 1, 0, ETH_HLEN + 24);
	ip[20] = 8;
	inject(f, n, 3);
	/* fragments: many datagrams' first pieces, and a last piece at the
	 * largest offset (a datagram of more than 64 KiB) */
	for (unsigned id = 0; id < 40; id++) {
		n = ip4_frame(f, 5, 28, 17, 0x2000, ETH_HLEN + 28);
		put16(ip + 4, 0x1000 + id);
		put16(ip + 10, 0);
		put16(ip + 10, fold(sum16(ip, 20, 0)));
		inject(f, n, 1);
		n = ip4_frame(f, 5, 28, 17, 8191, ETH_HLEN + 28);
		put16(ip + 4, 0x1000 + id);
		put16(ip + 10, 0);
		put16(ip + 10, fold(sum16(ip, 20, 0)));
		inject(f, n, 1);
	}
	/* an oversized frame: a 9000-byte IPv4 packet */
	inject(f, ip4_frame(f, 5, 9000 - ETH_HLEN, 1, 0, 9000), 2);
	/* IPv6 junk, a VLAN tag, a cut ARP, an ARP with absurd lengths */
	memset(f, 0xa5, 200);
	eth_hdr(f, 0x86dd);
	inject(f, 200, 2);
	eth_hdr(f, 0x8100);
	inject(f, 64, 2);
	eth_hdr(f, 0x0806);
	inject(f, ETH_HLEN + 10, 2);
	memset(f + ETH_HLEN, 0xff, 28);
	inject(f, ETH_HLEN + 28, 2);
}

static uint64_t fuzz_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/*
 * n random frames from seed, three kinds in turn: TCP segments to the
 * listener (random flags, options, data, sequence numbers; checksums
 * valid, so they get past the checks into TCP itself), IPv4 packets with
 * random header fields and options (header checksum valid), and random
 * bytes behind an IPv4 or ARP Ethernet header.
 */
static void inject_fuzz(uint64_t seed, unsigned n)
{
	unsigned char f[ETH_HLEN + 200];
	unsigned char *ip = f + ETH_HLEN;
	uint64_t x = seed | 1;

	for (unsigned i = 0; i < n; i++) {
		size_t len, ihl, seg;
		unsigned kind = i % 3;

		for (size_t k = 0; k < sizeof(f); k++)
			f[k] = (unsigned char)fuzz_next(&x);
		if (kind == 0) {
			unsigned doff = 5 + (unsigned)(fuzz_next(&x) % 11);

			seg = doff * 4 + fuzz_next(&x) % 64;
			len = ETH_HLEN + 20 + seg;
			eth_hdr(f, 0x0800);
			ip4_hdr(ip, 5, (unsigned)(20 + seg), 6, 0, 20);
			/* options: random bytes, kept by tcp_hdr */
			tcp_hdr(ip + 20, seg, 1024 + (unsigned)(fuzz_next(&x) % 60000),
				ECHO_PORT, (uint32_t)fuzz_next(&x),
				(uint32_t)fuzz_next(&x), doff,
				(unsigned)(fuzz_next(&x) & 0x3f));
		} else if (kind == 1) {
			unsigned char opts[40];

			ihl = 5 + fuzz_next(&x) % 11;
			len = ETH_HLEN + ihl * 4 + fuzz_next(&x) % 64;
			memcpy(opts, ip + 20, sizeof(opts));
			eth_hdr(f, 0x0800);
			ip4_hdr(ip, (unsigned)ihl, (unsigned)(len - ETH_HLEN -
				fuzz_next(&x) % 4), (unsigned)(fuzz_next(&x) % 4 == 0 ?
				fuzz_next(&x) & 0xff : (unsigned[]){ 1, 6, 17 }[fuzz_next(&x) % 3]),
				(unsigned)(fuzz_next(&x) % 4 ? 0 : fuzz_next(&x) & 0xffff), 20);
			memcpy(ip + 20, opts, (ihl - 5) * 4);
			put16(ip + 10, 0);
			put16(ip + 10, fold(sum16(ip, ihl * 4, 0)));
		} else {
			len = ETH_HLEN + fuzz_next(&x) % (sizeof(f) - ETH_HLEN);
			eth_hdr(f, fuzz_next(&x) & 1 ? 0x0806 : 0x0800);
		}
		assert_int_equal(tap_pump_inject(&env.pump, f, len), 0);
	}
}

/* ARP requests for the guest, n of them, each from another (made-up)
 * host of the subnet: lwIP answers and learns every sender. */
static void inject_arp_storm(unsigned n)
{
	unsigned char f[ETH_HLEN + 28];

	for (unsigned i = 0; i < n; i++) {
		unsigned char *a = f + ETH_HLEN;
		unsigned char mac[6] = { 0x02, 0x77, 0, 0, (unsigned char)(i >> 8),
					 (unsigned char)i };

		memset(f, 0xff, 6);
		memcpy(f + 6, mac, 6);
		put16(f + 12, 0x0806);
		put16(a, 1);			/* Ethernet */
		put16(a + 2, 0x0800);		/* IPv4 */
		a[4] = 6;
		a[5] = 4;
		put16(a + 6, 1);		/* request */
		memcpy(a + 8, mac, 6);
		a[14] = 10;
		a[15] = 77;
		a[16] = 9;
		a[17] = (unsigned char)(100 + i % 150);
		memset(a + 18, 0, 6);
		inet_pton(AF_INET, GUEST_IP, a + 24);
		assert_int_equal(tap_pump_inject(&env.pump, f, sizeof(f)), 0);
	}
}

/* Malformed frames of every layer, random ones, then an ARP storm of
 * 10,000 requests: the guest lives, its connection goes on, new ones
 * work, and ARP and ping still do. */
static void test_hostile_frames(void **state)
{
	struct sockaddr_in sa;
	socklen_t slen = sizeof(sa);
	struct tap_pump_stats st0, st1;
	struct stream s, fresh;
	const char *fuzz;
	char out[2048];
	int ret;

	(void)state;
	stream_open(&s, env.seed + 500);
	stream_more(&s, 1000, "before the hostile frames");
	assert_int_equal(getsockname(s.fd, (struct sockaddr *)&sa, &slen), 0);
	tap_pump_get_stats(&env.pump, &st0);

	inject_malformed(ntohs(sa.sin_port));
	assert_int_equal(tap_pump_wait_injected(&env.pump, 10000), 0);
	stream_more(&s, 1000, "after the malformed frames");
	check_guest_alive("on the malformed frames");

	fuzz = getenv("COLO_TEST_FUZZ");
	inject_fuzz(env.seed, fuzz ? (unsigned)strtoul(fuzz, NULL, 0) : 30000);
	assert_int_equal(tap_pump_wait_injected(&env.pump, 60000), 0);
	stream_more(&s, 1000, "after the random frames");
	check_guest_alive("on the random frames");

	inject_arp_storm(10000);
	assert_int_equal(tap_pump_wait_injected(&env.pump, 20000), 0);
	tap_pump_get_stats(&env.pump, &st1);
	print_message("%llu frames injected\n",
		      (unsigned long long)(st1.injected - st0.injected));
	assert_true(st1.injected - st0.injected > 10000);
	check_guest_alive("in the ARP storm");
	stream_more(&s, 100000, "after the ARP storm");
	close(s.fd);
	stream_open(&fresh, env.seed + 501);
	stream_more(&fresh, 100000, "a new connection after the ARP storm");
	close(fresh.fd);
	run("ip neigh flush dev %s", TAP_NAME);
	ret = shell_run(out, sizeof(out), NULL, "ping -c 1 -W 2 %s", GUEST_IP);
	if (ret)
		fail_msg("ping after the hostile frames: %s", out);
}

/* --- timers: a retransmission -------------------------------------------- */

/* Drops the guest's first data segment to a client port, and watches
 * for its retransmission (the same sequence number). Runs in the pump. */
struct rtx_watch {
	unsigned port;			/* the client's */
	bool dropped;
	uint32_t seq;
	long long dropped_ms, again_ms;
	unsigned again;			/* retransmissions seen */
};

static bool rtx_filter(enum tap_dir dir, const unsigned char *f, size_t len,
		       void *opaque)
{
	struct rtx_watch *w = opaque;
	const unsigned char *ip = f + ETH_HLEN, *tcp;
	size_t ihl, doff, tot;
	uint32_t seq;

	if (dir != GUEST_TO_TAP || len < ETH_HLEN + 40 || f[12] != 0x08 ||
	    f[13] != 0x00 || ip[9] != 6)
		return false;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	tot = (size_t)ip[2] << 8 | ip[3];
	tcp = ip + ihl;
	doff = (size_t)(tcp[12] >> 4) * 4;
	if (((unsigned)tcp[2] << 8 | tcp[3]) != w->port || tot <= ihl + doff)
		return false;		/* another port, or no data */
	seq = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 |
	      (uint32_t)tcp[6] << 8 | tcp[7];
	if (!w->dropped) {
		w->dropped = true;
		w->seq = seq;
		w->dropped_ms = now_ms();
		return true;
	}
	if (seq == w->seq && !w->again++)
		w->again_ms = now_ms();
	return false;
}

/*
 * Lose the guest's next data segment to s's client; the echo of len
 * more bytes must still complete: the guest sends it again from its
 * retransmission timer (lwIP's slow timer, run by colo_net_timer() on
 * the guest clock). The delay, in ms.
 */
static long long echo_with_loss(struct stream *s, size_t len, const char *what)
{
	struct rtx_watch w = { 0 };
	struct sockaddr_in sa;
	socklen_t slen = sizeof(sa);

	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&sa, &slen), 0);
	w.port = ntohs(sa.sin_port);
	tap_pump_set_filter(&env.pump, rtx_filter, &w);
	s->len += len;
	streams_run(s, 1, IO_TIMEOUT_MS, 0);
	tap_pump_set_filter(&env.pump, NULL, NULL);	/* and w is ours again */
	if (!w.dropped || !w.again || s->got != s->len)
		fail_msg("%s: segment dropped %s, sent again %u times; %zu of "
			 "%zu bytes echoed (%s)", what, w.dropped ? "yes" : "no",
			 w.again, s->got, s->len, strerror(-s->err));
	print_message("%s: the lost segment came again after %lld ms\n", what,
		      w.again_ms - w.dropped_ms);
	return w.again_ms - w.dropped_ms;
}

/* A segment the guest sent is lost on the way, and sent again. */
static void test_retransmission_on_guest_clock(void **state)
{
	struct stream s;
	long long delay;

	(void)state;
	stream_open(&s, env.seed + 900);
	for (int i = 0; i < 20; i++)		/* some round trip samples */
		stream_more(&s, 100, "before the loss");
	delay = echo_with_loss(&s, 500, "retransmission");
	close(s.fd);
	/* a timer's doing: lwIP's retransmission timeout is whole 500 ms
	 * ticks, at least one */
	assert_true(delay >= 250);
}

/* --- a connection carried into another guest ------------------------------ */

/*
 * A client converses with A; in the middle of a transfer (data in
 * flight both ways) the pump stops, A is stopped and copied into B
 * (vmm/local_checkpoint), the pump switches to B and A is gone. The same
 * client socket goes on: the rest of the transfer and new data are
 * echoed byte for byte by B, which never saw the connection open.
 */
static void test_connection_survives_checkpoint(void **state)
{
	const struct local_checkpoint_params p = {
		.kind = DIRTY_LOG_UFFD_WP, .clear_mode = DIRTY_LOG_LAZY,
		.clear_bmap_shift = 18, .stop_timeout_ms = 2000,
	};
	struct local_checkpoint lc;
	struct stream s;
	pid_t a_pid = env.ga.pid;
	int ret;

	(void)state;
	if (env.b_taken)
		skip();				/* B is the guest already */
	stream_open(&s, env.seed + 1234);
	stream_more(&s, 5000, "with A");
	/* mid-transfer: 512 KiB to go out, stop once 100 KiB came back */
	s.len += 512u << 10;
	ret = streams_run(&s, 1, IO_TIMEOUT_MS, s.got + (100u << 10));
	assert_int_equal(ret, 0);
	assert_true(s.got < s.len);

	tap_pump_pause(&env.pump);
	assert_int_equal(guest_stop(&env.ga, 2000), 0);
	ret = local_checkpoint_init(&lc, &env.ga, &env.gb, &p);
	if (!ret) {
		ret = local_checkpoint_run(&lc);
		local_checkpoint_destroy(&lc);
	}
	if (ret) {
		guest_continue(&env.ga);
		tap_pump_resume(&env.pump);
		fail_msg("checkpoint of A into B: %s", strerror(-ret));
	}
	/* B is the guest now; A (running again) is cut off, then gone */
	tap_pump_set_guest(&env.pump, &env.gb);
	guest_destroy(&env.ga, 0);
	env.ga_up = false;
	env.cur = &env.gb;
	env.b_taken = true;
	tap_pump_resume(&env.pump);

	print_message("checkpointed A (pid %d) into B (pid %d) with %zu of "
		      "%zu bytes echoed\n", (int)a_pid, (int)env.gb.pid, s.got,
		      s.len);
	ret = streams_run(&s, 1, IO_TIMEOUT_MS, 0);
	if (ret == -EBADMSG)
		fail_msg("after the checkpoint the echo differs at byte %zu",
			 s.bad_at);
	if (ret)
		fail_msg("after the checkpoint %zu of %zu bytes came back: %s",
			 s.got, s.len, strerror(-ret));
	stream_more(&s, 100000, "with B, after the checkpoint");
	/* B's timers run on from A's: lwIP's clock is the guest clock,
	 * which B resumed at A's, A_AHEAD_S s ahead of B's host clock */
	echo_with_loss(&s, 500, env.a_ahead ? "B, its host clock 600 s behind "
		       "A's" : "B");
	s.shut = true;
	stream_more(&s, 10, "closing with B");
	close(s.fd);
	check_guest_alive("after the checkpoint");
	/* and B serves new clients */
	stream_open(&s, env.seed + 1235);
	stream_more(&s, 10000, "a new client of B");
	close(s.fd);
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
		cmocka_unit_test(test_hostile_frames),
		cmocka_unit_test(test_retransmission_on_guest_clock),
		cmocka_unit_test(test_connection_survives_checkpoint),
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
