/*
 * test_uplink.c - the primary's TAP on its bridge: attached, up, with the
 * bridge's MTU; frames both ways (written through the uplink and seen on
 * the bridge, sent into the bridge from a veth and read from the uplink);
 * the counters; gone after close, also when opening failed half way; and
 * the refusals (no bridge, not a bridge, a taken name, no CAP_NET_ADMIN,
 * no /dev/net/tun), each with its message.
 *
 * The program runs in a network namespace and a mount namespace of its
 * own (unshare before the tests; a fresh sysfs shows this namespace's
 * links), so everything it creates goes with it, even when it fails.
 * Needs root; without it every test is skipped with the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/capability.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "log_capture.h"
#include "shell.h"
#include "uplink.h"

#define BRIDGE		"upbr0"
#define TEST_ETHERTYPE	0x88b5		/* IEEE local experimental */
#define WAIT_MS		3000		/* a frame crosses a bridge in far less */

static const char *no_netns;		/* why the tests cannot run, or NULL */
/* The test's uplink, closed by teardown also when the test failed. */
static struct uplink *u;

/* --- helpers ---------------------------------------------------------------- */

static void need_netns(void)
{
	if (no_netns) {
		print_message("%s: skipped\n", no_netns);
		skip();
	}
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char out[4096];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = shell_runv(out, sizeof(out), NULL, fmt, ap);
	va_end(ap);
	if (ret != 0)
		print_message("shell exited %d: %s", ret, out);
	return ret;
}

/* The first line of /sys/class/net/IF/FILE, "" if there is none. */
static const char *sys_read(const char *ifname, const char *file)
{
	static char buf[256];
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", ifname, file);
	buf[0] = '\0';
	f = fopen(path, "r");
	if (!f)
		return buf;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static int link_exists(const char *ifname)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/class/net/%s", ifname);
	return access(path, F_OK) == 0;
}

/* How many links there are whose name begins "colo": TAPs of ours. */
static int colo_links(void)
{
	char out[4096];
	int n = 0;

	assert_int_equal(shell_run(out, sizeof(out), NULL,
				   "ls /sys/class/net"), 0);
	for (char *w = strtok(out, " \n"); w; w = strtok(NULL, " \n"))
		n += strncmp(w, "colo", 4) == 0;
	return n;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int packet_socket(const char *ifname)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = (int)if_nametoindex(ifname),
	};
	int fd;

	assert_int_not_equal(sll.sll_ifindex, 0);
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    htons(ETH_P_ALL));
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return fd;
}

/* A broadcast frame of len bytes with our ethertype and a marker. */
static size_t test_frame(uint8_t *f, size_t len, const char *marker)
{
	static const uint8_t src[6] = { 0x02, 0x77, 0x00, 0x00, 0x00, 0x01 };

	memset(f, 0, len);
	memset(f, 0xff, 6);
	memcpy(f + 6, src, 6);
	f[12] = TEST_ETHERTYPE >> 8;
	f[13] = TEST_ETHERTYPE & 0xff;
	memcpy(f + 14, marker, strlen(marker));
	for (size_t i = 14 + strlen(marker); i < len; i++)
		f[i] = (uint8_t)i;
	return len;
}

static int is_ours(const uint8_t *f, size_t len, const uint8_t *want,
		   size_t want_len)
{
	return len == want_len && memcmp(f, want, len) == 0;
}

/* Wait for want on packet socket fd. */
static int packet_wait(int fd, const uint8_t *want, size_t len)
{
	int64_t end = now_ms() + WAIT_MS;
	uint8_t buf[2048];

	while (now_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
			if (is_ours(buf, (size_t)n, want, len))
				return 1;
	}
	return 0;
}

/* Wait for want at the uplink; frames of others (none expected: IPv6 is
 * off here) are skipped. */
static int uplink_wait(const uint8_t *want, size_t len, size_t bufsize)
{
	int64_t end = now_ms() + WAIT_MS;
	uint8_t buf[65536];

	assert_true(bufsize <= sizeof(buf));
	while (now_ms() < end) {
		struct pollfd p = { .fd = uplink_fd(u), .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		while ((n = uplink_read_frame(u, buf, bufsize)) > 0)
			if (is_ours(buf, (size_t)n, want, len))
				return 1;
		assert_int_equal(n, -EAGAIN);
	}
	return 0;
}

static void close_uplink(void)
{
	uplink_close(u);
	u = NULL;
}

static void expect_log(const char *needle)
{
	if (!strstr(log_captured(), needle))
		fail_msg("the log lacks \"%s\"; it says:\n%s", needle,
			 log_captured());
}

static int setup(void **state)
{
	(void)state;
	log_set_quiet(1);
	log_capture_start();
	return 0;
}

/* What a failed test may have left: its uplink, its links. */
static int teardown(void **state)
{
	(void)state;
	close_uplink();
	if (!no_netns)
		sh("for l in vin0 vnb0 upbr1 upbr2; do "
		   "ip link del $l 2>/dev/null; done; "
		   "ip link set " BRIDGE " mtu 1500");
	log_capture_stop();
	log_set_quiet(0);
	return 0;
}

/* --- attached, up, gone ----------------------------------------------------- */

/* The TAP is on the bridge, up, with the bridge's MTU and a MAC the
 * bridge never adopts; close deletes it. */
static void test_attach_up_and_close(void **state)
{
	char name[IFNAMSIZ], master[PATH_MAX], path[PATH_MAX];
	unsigned long flags;
	ssize_t n;
	int held;

	(void)state;
	need_netns();
	assert_int_equal(sh("ip link set " BRIDGE " mtu 1400"), 0);
	assert_int_equal(uplink_open(&u, BRIDGE, NULL), 0);
	snprintf(name, sizeof(name), "%s", uplink_name(u));
	print_message("TAP %s on %s:", name, uplink_bridge(u));
	print_message(" operstate %s,", sys_read(name, "operstate"));
	print_message(" flags %s,", sys_read(name, "flags"));
	print_message(" mtu %s,", sys_read(name, "mtu"));
	print_message(" mac %s\n", sys_read(name, "address"));
	assert_int_equal(strncmp(name, "colo", 4), 0);
	assert_string_equal(uplink_bridge(u), BRIDGE);
	assert_true(link_exists(name));
	assert_string_equal(sys_read(name, "tun_flags"), "0x1002");	/* TAP|NO_PI */

	snprintf(path, sizeof(path), "/sys/class/net/%s/master", name);
	n = readlink(path, master, sizeof(master) - 1);
	assert_true(n > 0);
	master[n] = '\0';
	assert_string_equal(strrchr(master, '/') + 1, BRIDGE);
	snprintf(path, sizeof(path), "/sys/class/net/" BRIDGE "/brif/%s", name);
	assert_int_equal(access(path, F_OK), 0);

	flags = strtoul(sys_read(name, "flags"), NULL, 0);
	assert_true(flags & IFF_UP);
	/* a TAP whose fd is open has carrier: up (older kernels: unknown) */
	assert_true(strcmp(sys_read(name, "operstate"), "up") == 0 ||
		    strcmp(sys_read(name, "operstate"), "unknown") == 0);
	assert_string_equal(sys_read(name, "carrier"), "1");
	assert_string_equal(sys_read(name, "mtu"), "1400");
	assert_int_equal(uplink_mtu(u), 1400);
	assert_int_equal(uplink_frame_max(u), 1400 + 14 + 4);
	assert_int_equal(strncmp(sys_read(name, "address"), "fe:", 3), 0);
	assert_true(fcntl(uplink_fd(u), F_GETFL) & O_NONBLOCK);
	assert_string_equal(sys_read(BRIDGE, "mtu"), "1400");	/* untouched */
	assert_string_equal(log_captured(), "");	/* nothing to warn about */

	/* a copy of its fd (a forked child's) keeps a TAP that only its
	 * fd's close would remove: close deletes it through netlink */
	held = dup(uplink_fd(u));
	assert_true(held >= 0);
	close_uplink();
	assert_false(link_exists(name));
	assert_int_equal(colo_links(), 0);
	close(held);
	assert_int_equal(sh("ip link set " BRIDGE " mtu 1500"), 0);
}

/* A name of our choice is the TAP's name. */
static void test_named_tap(void **state)
{

	(void)state;
	need_netns();
	assert_int_equal(uplink_open(&u, BRIDGE, "coloup7"), 0);
	assert_string_equal(uplink_name(u), "coloup7");
	assert_true(link_exists("coloup7"));
	assert_string_equal(sys_read("coloup7", "mtu"), "1500");
	close_uplink();
	assert_false(link_exists("coloup7"));
	uplink_close(NULL);			/* ignored */
}

/* --- frames ----------------------------------------------------------------- */

/* A frame written through the uplink is seen on the bridge. */
static void test_frame_out(void **state)
{
	uint8_t f[128];
	size_t len = test_frame(f, 100, "colo-uplink-out");
	int ps;

	(void)state;
	need_netns();
	assert_int_equal(uplink_open(&u, BRIDGE, NULL), 0);
	ps = packet_socket(BRIDGE);
	assert_int_equal(uplink_write_frame(u, f, len), 0);
	assert_true(packet_wait(ps, f, len));
	assert_int_equal(uplink_stats(u)->tx_frames, 1);
	assert_int_equal(uplink_stats(u)->tx_bytes, len);
	assert_int_equal(uplink_stats(u)->tx_drops, 0);
	close(ps);
	close_uplink();
}

/* A frame sent into the bridge from a veth arrives at the uplink; with
 * nothing waiting a read says -EAGAIN; a frame too big for the buffer is
 * dropped, counted, and the next one read. */
static void test_frame_in(void **state)
{
	uint8_t f[600], small[80], buf[2048];
	size_t len = test_frame(f, 600, "colo-uplink-in");
	size_t slen = test_frame(small, 80, "colo-uplink-small");
	int ps;

	(void)state;
	need_netns();
	assert_int_equal(sh("ip link add vin0 type veth peer name vin1 && "
			    "ip link set vin1 master " BRIDGE " && "
			    "ip link set vin1 up && ip link set vin0 up"), 0);
	assert_int_equal(uplink_open(&u, BRIDGE, NULL), 0);
	assert_int_equal(uplink_read_frame(u, buf, sizeof(buf)), -EAGAIN);
	ps = packet_socket("vin0");

	assert_int_equal(send(ps, f, len, 0), (ssize_t)len);
	assert_true(uplink_wait(f, len, sizeof(buf)));
	assert_true(uplink_stats(u)->rx_frames >= 1);
	assert_true(uplink_stats(u)->rx_bytes >= len);
	assert_int_equal(uplink_stats(u)->rx_drops, 0);
	assert_int_equal(uplink_read_frame(u, buf, sizeof(buf)), -EAGAIN);

	/* 600 bytes into a buffer of 500: dropped; the small one comes */
	assert_int_equal(send(ps, f, len, 0), (ssize_t)len);
	assert_int_equal(send(ps, small, slen, 0), (ssize_t)slen);
	assert_true(uplink_wait(small, slen, 500));
	assert_int_equal(uplink_stats(u)->rx_drops, 1);
	expect_log("a frame of more than 500 bytes from bridge " BRIDGE
		   " dropped: frames of 14 to 500 bytes are taken");
	close(ps);
	close_uplink();
	assert_int_equal(sh("ip link del vin0"), 0);
}

/* Frames under an Ethernet header or over the MTU are refused, counted. */
static void test_write_bounds(void **state)
{
	uint8_t f[2048];

	(void)state;
	need_netns();
	test_frame(f, sizeof(f), "colo-uplink-bounds");
	assert_int_equal(uplink_open(&u, BRIDGE, NULL), 0);
	assert_int_equal(uplink_write_frame(u, f, 13), -EMSGSIZE);
	assert_int_equal(uplink_write_frame(u, f, uplink_frame_max(u) + 1),
			 -EMSGSIZE);
	assert_int_equal(uplink_write_frame(u, f, uplink_frame_max(u)), 0);
	assert_int_equal(uplink_write_frame(u, f, 14), 0);
	assert_int_equal(uplink_stats(u)->tx_drops, 2);
	assert_int_equal(uplink_stats(u)->tx_frames, 2);
	expect_log("a guest frame of 13 bytes dropped");
	close_uplink();
}

/* --- refusals --------------------------------------------------------------- */

static void test_refuse_missing_bridge(void **state)
{

	(void)state;
	need_netns();
	u = (struct uplink *)1;		/* cleared on failure */
	assert_int_equal(uplink_open(&u, "nobr0", NULL), -ENODEV);
	assert_null(u);
	expect_log("no bridge nobr0: create it (ip link add nobr0 type bridge; "
		   "ip link set nobr0 up) or set [net] bridge");
	assert_int_equal(colo_links(), 0);
}

static void test_refuse_not_a_bridge(void **state)
{

	(void)state;
	need_netns();
	assert_int_equal(uplink_open(&u, "lo", NULL), -EINVAL);
	expect_log("lo is not a bridge (its type is none, a plain device): "
		   "set [net] bridge to a bridge");
	assert_int_equal(sh("ip link add vnb0 type veth peer name vnb1"), 0);
	log_capture_start();
	assert_int_equal(uplink_open(&u, "vnb0", NULL), -EINVAL);
	expect_log("vnb0 is not a bridge (its type is veth)");
	assert_int_equal(sh("ip link del vnb0"), 0);
	assert_int_equal(colo_links(), 0);
}

/* A taken name is refused, and what has it is left alone. */
static void test_refuse_taken_name(void **state)
{

	(void)state;
	need_netns();
	assert_int_equal(uplink_open(&u, BRIDGE, "lo"), -EEXIST);
	expect_log("a link named lo exists already: remove it (ip link del lo) "
		   "or set [net] tap to another name");
	assert_true(link_exists("lo"));
	log_capture_start();
	assert_int_equal(uplink_open(&u, BRIDGE, "a-name-of-16-chr"), -EINVAL);
	expect_log("is not an interface name");
	assert_int_equal(uplink_open(&u, "", NULL), -EINVAL);
	assert_int_equal(uplink_open(&u, NULL, NULL), -EINVAL);
	assert_int_equal(colo_links(), 0);
}

/* A bridge that is down is used, with a warning. */
static void test_bridge_down_warns(void **state)
{

	(void)state;
	need_netns();
	assert_int_equal(sh("ip link add upbr1 type bridge"), 0);
	assert_int_equal(uplink_open(&u, "upbr1", NULL), 0);
	expect_log("bridge upbr1 is down: the guest is cut off until it is up "
		   "(ip link set upbr1 up)");
	close_uplink();
	assert_int_equal(sh("ip link del upbr1"), 0);
}

/* Opening fails after the TAP exists (the bridge's MTU is more than a
 * TAP takes): the TAP is deleted again. */
static void test_failure_after_create_leaves_nothing(void **state)
{

	(void)state;
	need_netns();
	assert_int_equal(sh("ip link add upbr2 type bridge && "
			    "ip link set upbr2 mtu 65535"), 0);
	u = (struct uplink *)1;		/* cleared on failure */
	assert_int_equal(uplink_open(&u, "upbr2", "colofail0"), -EINVAL);
	assert_null(u);
	expect_log("cannot put TAP colofail0 on bridge upbr2 (set its MTU and "
		   "MAC, MTU 65535)");
	expect_log("give the bridge one (ip link set upbr2 mtu 1500)");
	assert_false(link_exists("colofail0"));
	assert_int_equal(colo_links(), 0);
	assert_int_equal(sh("ip link del upbr2"), 0);
}

/*
 * In a child, run how (a change to the child only), then uplink_open on
 * BRIDGE; the child's return and log come back through a pipe.
 */
static int open_in_child(int (*how)(void), char *log, size_t loglen)
{
	int p[2], status, ret = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		log_capture_start();
		ret = how();
		if (!ret) {
			ret = uplink_open(&u, BRIDGE, NULL);
			uplink_close(u);
		} else {
			ret = 1000 + ret;	/* the preparation failed */
		}
		if (write(p[1], &ret, sizeof(ret)) != sizeof(ret) ||
		    write(p[1], log_captured(), strlen(log_captured())) < 0)
			_exit(2);
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &ret, sizeof(ret)), sizeof(ret));
	n = read(p[0], log, loglen - 1);
	log[n > 0 ? n : 0] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return ret;
}

/* Keep being root, but without CAP_NET_ADMIN. */
static int drop_net_admin(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &h, d))
		return -errno;
	d[CAP_TO_INDEX(CAP_NET_ADMIN)].effective &= ~CAP_TO_MASK(CAP_NET_ADMIN);
	d[CAP_TO_INDEX(CAP_NET_ADMIN)].permitted &= ~CAP_TO_MASK(CAP_NET_ADMIN);
	d[CAP_TO_INDEX(CAP_NET_ADMIN)].inheritable &= ~CAP_TO_MASK(CAP_NET_ADMIN);
	if (syscall(SYS_capset, &h, d))
		return -errno;
	return 0;
}

static void test_refuse_without_cap_net_admin(void **state)
{
	char log[4096];

	(void)state;
	need_netns();
	assert_int_equal(open_in_child(drop_net_admin, log, sizeof(log)), -EPERM);
	print_message("%s", log);
	assert_non_null(strstr(log, "cannot create TAP colo0... on bridge " BRIDGE));
	assert_non_null(strstr(log, "run the daemon as root or grant it "
			       "CAP_NET_ADMIN"));
	assert_int_equal(colo_links(), 0);
}

/* /dev/net/tun hidden under an empty tmpfs, in a mount namespace of the
 * child's own. */
static int hide_tun(void)
{
	if (unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", "/dev/net", "tmpfs", 0, "size=4k"))
		return -errno;
	return 0;
}

static void test_refuse_without_tun(void **state)
{
	char log[4096];

	(void)state;
	need_netns();
	assert_int_equal(open_in_child(hide_tun, log, sizeof(log)), -ENOENT);
	print_message("%s", log);
	assert_non_null(strstr(log, "cannot open /dev/net/tun: No such file or "
			       "directory: load the tun driver (modprobe tun)"));
	assert_int_equal(colo_links(), 0);
}

/* --- the namespace ---------------------------------------------------------- */

/*
 * A network namespace and a mount namespace of our own, with a sysfs
 * that shows this namespace's links; loopback up, IPv6 off (no router
 * solicitations in the frames we wait for), and the bridge.
 */
static void enter_netns(void)
{
	static char why[160];

	if (unshare(CLONE_NEWNET | CLONE_NEWNS)) {
		snprintf(why, sizeof(why), "cannot unshare a network namespace "
			 "(%s): run as root", strerror(errno));
		no_netns = why;
		return;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("sysfs", "/sys", "sysfs", 0, NULL)) {
		snprintf(why, sizeof(why), "cannot mount a sysfs of the new "
			 "namespace: %s", strerror(errno));
		no_netns = why;
		return;
	}
	if (sh("ip link set lo up && "
	       "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && "
	       "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6 && "
	       "ip link add " BRIDGE " type bridge && "
	       "ip link set " BRIDGE " up"))
		no_netns = "cannot set up the test's bridge with ip";
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_attach_up_and_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_named_tap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frame_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frame_in, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_missing_bridge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_not_a_bridge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_taken_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bridge_down_warns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_after_create_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_without_cap_net_admin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_without_tun, setup, teardown),
	};

	enter_netns();
	return cmocka_run_group_tests_name("uplink", tests, NULL, NULL);
}
