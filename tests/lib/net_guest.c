/*
 * net_guest.c - the setting and client sockets shared by the guest
 * network tests: see net_guest.h.
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

/* A and B are launched alike (same path, argv, environment): B's layout
 * is A's, so A can be checkpointed into it. */
char *netecho_argv[] = {
	"netecho", "--ip", GUEST_IP, "--netmask", "255.255.255.0",
	"--gateway", HOST_IP, "--stats-port", "8", NULL,
};

struct net_guest_env env;

/* --- small helpers ------------------------------------------------------- */

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Byte off of stream seed: cheap, and any one byte can be checked. */
unsigned char stream_byte(uint64_t seed, uint64_t off)
{
	uint64_t x = seed ^ ((off >> 3) * 0x9e3779b97f4a7c15ull);

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return (unsigned char)(x >> ((off & 7) * 8));
}

void stream_fill(unsigned char *buf, uint64_t seed, uint64_t off,
		 size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = stream_byte(seed, off + i);
}

int run(const char *fmt, ...)
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

/* --- client sockets ------------------------------------------------------ */

/* A non-blocking TCP client of the guest; buffers 0: the kernel's. */
int client_connect(uint16_t port, int rcvbuf, int sndbuf)
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

bool stream_done(const struct stream *s)
{
	return s->err || (s->got == s->len && (!s->shut || s->eof));
}

void stream_io(struct stream *s, short revents)
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
int streams_run(struct stream *s, int n, int timeout_ms, size_t until_got)
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

void stream_open(struct stream *s, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->seed = seed;
	s->fd = client_connect(ECHO_PORT, 0, 0);
	if (s->fd < 0)
		fail_msg("cannot connect to %s:%d: %s", GUEST_IP, ECHO_PORT,
			 strerror(-s->fd));
}

/* Echo len more bytes on s, within timeout. */
void stream_more(struct stream *s, size_t len, const char *what)
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

/* --- the setting: namespace, TAP, guests --------------------------------- */

int launch_netecho(struct guest *g, const char *name, char **argv,
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
int launch_ahead(struct guest *g, const char *name, int ahead_s)
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

int group_setup(void **state)
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

int group_teardown(void **state)
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
void check_guest_alive(const char *after)
{
	struct tap_pump_stats st;

	tap_pump_get_stats(&env.pump, &st);
	if (st.guest_gone || kill(env.cur->pid, 0))
		fail_msg("the guest died %s", after);
}

int swap_in_netecho(struct guest *g, const char *name, char **genv,
		    uint64_t fed_ms)
{
	int ret;

	/* no fork beside the pump's thread */
	tap_pump_pause(&env.pump);
	ret = launch_netecho(g, name, netecho_argv, genv, tap_pump_guest_frame,
			     &env.pump);
	if (ret) {
		tap_pump_resume(&env.pump);
		return ret;
	}
	if (fed_ms)
		ret = guest_send_tick(g, fed_ms);
	if (!ret)
		ret = guest_start(g);
	if (ret) {
		guest_destroy(g, 1000);
		tap_pump_resume(&env.pump);
		return ret;
	}
	tap_pump_set_guest(&env.pump, g);
	tap_pump_resume(&env.pump);
	return 0;
}

void swap_out_netecho(struct guest *g)
{
	tap_pump_pause(&env.pump);
	tap_pump_set_guest(&env.pump, env.cur);
	guest_destroy(g, 1000);
	tap_pump_resume(&env.pump);
}
