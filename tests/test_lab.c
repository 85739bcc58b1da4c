/*
 * test_lab.c - tests/lab/colo-lab.sh: a lab comes up with its layout
 * printed; its namespaces, bridges and links exist and are up; the
 * client reaches both hosts across the LAN and the hosts reach each
 * other over the replication link, which the LAN cannot reach; a guest's
 * TAP made by the uplink on the primary's br0 answers the client (a tiny
 * ARP and ping responder stands in for the guest); refusals; and `down`
 * stops only the processes it was told about and leaves no namespace or
 * link behind, also when run twice.
 *
 * The program runs in a mount namespace of its own with a tmpfs on /run,
 * so the lab's namespace names (/run/netns) and state exist only for it:
 * should it die before its teardown, the namespaces go with it. The
 * teardown (cmocka's group teardown) takes the lab down whatever the
 * tests did. Needs root; without it every test is skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
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
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "shell.h"
#include "uplink.h"

#define OUT_MAX		16384
#define RESPOND_MS	30000	/* the responder's life at most: the test's */

static const char *no_lab;		/* why the tests cannot run, or NULL */
static char script[PATH_MAX];
static char prefix[32];
static char up_out[OUT_MAX];
static pid_t responder = -1;		/* the stand-in guest */
static int responder_ctl = -1;		/* closing it ends the responder */
static pid_t stray = -1;		/* a process down must not stop */

static void need_lab(void)
{
	if (no_lab) {
		print_message("%s: skipped\n", no_lab);
		skip();
	}
}

/* Run the lab script with args made from fmt: its exit status; what it
 * printed in out. */
static int lab(char *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int lab(char *out, const char *fmt, ...)
{
	static char junk[OUT_MAX];
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return shell_run(out ? out : junk, OUT_MAX, NULL, "%s %s", script, line);
}

/* The same, and it must succeed. */
static void lab_ok(char *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void lab_ok(char *out, const char *fmt, ...)
{
	static char buf[OUT_MAX];
	char line[1024];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ret = shell_run(out ? out : buf, OUT_MAX, NULL, "%s %s", script, line);
	if (ret != 0)
		fail_msg("colo-lab.sh %s exited %d:\n%s", line, ret, out ? out : buf);
}

static void expect_in(const char *text, const char *needle)
{
	if (!strstr(text, needle))
		fail_msg("no \"%s\" in:\n%s", needle, text);
}

/* --- the lab is there ------------------------------------------------------- */

static void test_layout_printed(void **state)
{
	const char *want[] = {
		"-client", "-lan", "-pri", "-sec", "10.77.1.10/24",
		"10.77.1.1/24", "10.77.1.2/24", "10.77.2.1/24", "10.77.2.2/24",
		"10.77.1.100/24", "52:54:00:c0:10:01", "/pids",
	};
	char ns[64];

	(void)state;
	need_lab();
	print_message("%s", up_out);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		expect_in(up_out, want[i]);
	snprintf(ns, sizeof(ns), "%s-client", prefix);
	expect_in(up_out, ns);
}

static void test_namespaces_bridges_links_up(void **state)
{
	static const struct { const char *role, *bridge, *ports; } br[] = {
		{ "lan", "lan0", "to-client to-pri to-sec" },
		{ "pri", "br0", "eth0" },
		{ "sec", "br0", "eth0" },
	};
	static const char *roles[] = { "client", "lan", "pri", "sec" };
	char out[OUT_MAX], ns[64];

	(void)state;
	need_lab();
	assert_int_equal(shell_run(out, sizeof(out), NULL, "ip netns list"), 0);
	for (size_t i = 0; i < 4; i++) {
		snprintf(ns, sizeof(ns), "%s-%s", prefix, roles[i]);
		expect_in(out, ns);
	}
	for (size_t i = 0; i < 3; i++) {
		lab_ok(out, "exec %s %s sh -c 'cat /sys/class/net/%s/bridge/stp_state "
		       "/sys/class/net/%s/operstate; ls /sys/class/net/%s/brif | "
		       "tr \"\\n\" \" \"'", prefix, br[i].role, br[i].bridge,
		       br[i].bridge, br[i].bridge);
		print_message("%s %s: stp, operstate, ports: %s\n", br[i].role,
			      br[i].bridge, out);
		expect_in(out, "up\n");
		expect_in(out, br[i].ports);
	}
	/* every link of every namespace up, lo included, and running */
	for (size_t i = 0; i < 4; i++) {
		lab_ok(out, "exec %s %s sh -c 'for d in /sys/class/net/*; do "
		       "[ $(( $(cat $d/flags) & 1 )) -eq 1 ] || echo down: $d; "
		       "[ $d = /sys/class/net/lo ] || "
		       "[ $(cat $d/operstate) = up ] || echo not running: $d; "
		       "done; ls /sys/class/net'", prefix, roles[i]);
		if (strstr(out, "down:") || strstr(out, "not running:"))
			fail_msg("%s: %s", roles[i], out);
		expect_in(out, "lo");
	}
}

static void ping(const char *role, const char *addr)
{
	char out[OUT_MAX];

	lab_ok(out, "exec %s %s ping -c 1 -W 2 %s", prefix, role, addr);
	expect_in(out, "1 received");
}

static void test_lan_pings(void **state)
{
	(void)state;
	need_lab();
	ping("client", "10.77.1.1");
	ping("client", "10.77.1.2");
	ping("pri", "10.77.1.10");
	ping("sec", "10.77.1.10");
	ping("pri", "10.77.1.2");
}

static void test_replication_link(void **state)
{
	char out[OUT_MAX];

	(void)state;
	need_lab();
	ping("pri", "10.77.2.2");
	ping("sec", "10.77.2.1");
	lab_ok(out, "exec %s pri ip route get 10.77.2.2", prefix);
	expect_in(out, "dev repl0");
	/* a link of its own: the LAN cannot reach it */
	assert_int_not_equal(lab(out, "exec %s client ping -c 1 -W 1 10.77.2.1",
				 prefix), 0);
	expect_in(out, "unreachable");
}

/* --- a guest's TAP on the primary's br0 ------------------------------------ */

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0xc0, 0x10, 0x01 };
static const uint8_t guest_ip[4] = { 10, 77, 1, 100 };

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += get16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s & 0xffff;
}

/* Turn f, an ARP request or a ping for the guest, into its answer: the
 * answer's length, or 0 for a frame not to answer. */
static size_t answer(uint8_t *f, size_t n)
{
	if (n >= 42 && get16(f + 12) == 0x0806) {
		uint8_t *a = f + 14;

		if (get16(a) != 1 || get16(a + 2) != 0x0800 || a[4] != 6 ||
		    a[5] != 4 || get16(a + 6) != 1 || memcmp(a + 24, guest_ip, 4))
			return 0;
		memcpy(f, a + 8, 6);
		memcpy(f + 6, guest_mac, 6);
		put16(a + 6, 2);
		memcpy(a + 18, a + 8, 10);	/* the asker's MAC and IP */
		memcpy(a + 8, guest_mac, 6);
		memcpy(a + 14, guest_ip, 4);
		return 42;
	}
	if (n >= 34 && get16(f + 12) == 0x0800) {
		uint8_t *ip = f + 14, *icmp;
		size_t ihl = (size_t)(ip[0] & 15) * 4, len = get16(ip + 2);

		if (ip[0] >> 4 != 4 || ihl < 20 || len < ihl + 8 || 14 + len > n ||
		    ip[9] != 1 || memcmp(ip + 16, guest_ip, 4))
			return 0;
		icmp = ip + ihl;
		if (icmp[0] != 8)
			return 0;
		memcpy(f, f + 6, 6);
		memcpy(f + 6, guest_mac, 6);
		memcpy(ip + 16, ip + 12, 4);
		memcpy(ip + 12, guest_ip, 4);
		ip[8] = 64;
		put16(ip + 10, 0);
		put16(ip + 10, csum(ip, ihl));
		icmp[0] = 0;
		put16(icmp + 2, 0);
		put16(icmp + 2, csum(icmp, len - ihl));
		return 14 + len;
	}
	return 0;
}

/*
 * The stand-in guest, in a child: in PREFIX-pri, an uplink on br0 whose
 * name goes to ready; it answers ARP and pings for 10.77.1.100 until
 * ctl closes (or RESPOND_MS), then closes the uplink. Exits 0 when all
 * went well, 1 when the uplink could not open.
 */
static void respond(int ready, int ctl)
{
	struct uplink *u = NULL;
	char path[PATH_MAX];
	uint8_t f[65536];
	int fd, waited = 0;

	snprintf(path, sizeof(path), "/run/netns/%s-pri", prefix);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) || uplink_open(&u, "br0", NULL))
		_exit(1);
	close(fd);
	if (write(ready, uplink_name(u), strlen(uplink_name(u)) + 1) < 0)
		_exit(1);
	close(ready);
	while (waited < RESPOND_MS) {
		struct pollfd p[2] = {
			{ .fd = uplink_fd(u), .events = POLLIN },
			{ .fd = ctl, .events = POLLIN },
		};
		ssize_t n;

		if (poll(p, 2, 100) == 0)
			waited += 100;
		if (p[1].revents)
			break;		/* the test is done with us */
		while ((n = uplink_read_frame(u, f, sizeof(f))) > 0) {
			size_t len = answer(f, (size_t)n);

			if (len)
				uplink_write_frame(u, f, len);
		}
	}
	uplink_close(u);
	_exit(0);
}

static void stop_responder(void)
{
	int status;

	if (responder_ctl >= 0)
		close(responder_ctl);
	responder_ctl = -1;
	if (responder > 0) {
		if (waitpid(responder, &status, 0) == responder && WIFEXITED(status))
			print_message("the stand-in guest exited %d\n",
				      WEXITSTATUS(status));
	}
	responder = -1;
}

static void test_guest_tap_reachable(void **state)
{
	char out[OUT_MAX], name[IFNAMSIZ + 1] = "";
	int ready[2], ctl[2];
	ssize_t n;

	(void)state;
	need_lab();
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(ctl, O_CLOEXEC), 0);
	responder = fork();
	assert_true(responder >= 0);
	if (responder == 0) {
		close(ready[0]);
		close(ctl[1]);
		respond(ready[1], ctl[0]);
	}
	close(ready[1]);
	close(ctl[0]);
	responder_ctl = ctl[1];
	n = read(ready[0], name, sizeof(name) - 1);
	close(ready[0]);
	if (n <= 0)
		fail_msg("the stand-in guest could not open its uplink on br0 in %s-pri",
			 prefix);
	print_message("the stand-in guest's TAP: %s\n", name);

	lab_ok(out, "exec %s pri sh -c 'basename $(readlink /sys/class/net/%s/master); "
	       "cat /sys/class/net/%s/carrier'", prefix, name, name);
	assert_string_equal(out, "br0\n1\n");
	lab_ok(out, "exec %s client ping -c 2 -W 2 10.77.1.100", prefix);
	expect_in(out, "2 received");
	lab_ok(out, "exec %s sec ping -c 1 -W 2 10.77.1.100", prefix);
	expect_in(out, "1 received");
	lab_ok(out, "exec %s client ip neigh show 10.77.1.100", prefix);
	expect_in(out, "52:54:00:c0:10:01");

	stop_responder();
	/* the uplink deleted its TAP */
	assert_int_not_equal(lab(out, "exec %s pri test -e /sys/class/net/%s",
				 prefix, name), 0);
}

/* --- refusals --------------------------------------------------------------- */

static void test_refusals(void **state)
{
	char out[OUT_MAX];

	(void)state;
	need_lab();
	assert_int_equal(lab(out, "up %s", prefix), 1);
	expect_in(out, "is up already");
	expect_in(out, "down");
	assert_int_equal(lab(out, "up 'bad prefix'"), 1);
	expect_in(out, "give 1 to 32 letters");
	assert_int_equal(lab(out, "exec %s router true", prefix), 1);
	expect_in(out, "give one of: client lan pri sec");
	assert_int_equal(lab(out, "exec nolab%d pri true", (int)getpid()), 1);
	expect_in(out, "up nolab");
	assert_int_equal(lab(out, "explode %s", prefix), 2);
	expect_in(out, "colo-lab.sh up PREFIX");
}

/* --- down --------------------------------------------------------------------- */

/* No namespace of the lab in `ip netns list` nor `ip -all netns`, no
 * state, no link of the lab in our own namespace: NULL, else what is
 * left (and what showed it is printed). */
static const char *lab_left(void)
{
	char out[OUT_MAX], name[64];

	snprintf(name, sizeof(name), "%s-", prefix);
	if (shell_run(out, sizeof(out), NULL, "ip netns list") || strstr(out, name)) {
		print_message("ip netns list:\n%s", out);
		return "ip netns list still shows the lab's namespaces";
	}
	shell_run(out, sizeof(out), NULL, "ip -all netns exec true");
	if (strstr(out, name)) {
		print_message("ip -all netns exec true:\n%s", out);
		return "ip -all netns still runs in the lab's namespaces";
	}
	shell_run(out, sizeof(out), NULL, "ip -o link show");
	if (strstr(out, "to-client") || strstr(out, "to-pri") ||
	    strstr(out, "repl0") || strstr(out, " lan0")) {
		print_message("ip -o link show:\n%s", out);
		return "a link of the lab is in our namespace";
	}
	snprintf(out, sizeof(out), "/run/colo-lab/%s", prefix);
	if (access(out, F_OK) == 0)
		return "the lab's state directory is still there";
	return NULL;
}

static int running(pid_t pid)
{
	char path[64], st[512] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(st, sizeof(st), f))
		st[0] = '\0';
	fclose(f);
	return !strstr(st, ") Z ");		/* a zombie has stopped */
}

static void test_down_stops_ours_and_leaves_nothing(void **state)
{
	char out[OUT_MAX], ns[64], want[128];
	const char *left;
	pid_t ours;

	(void)state;
	need_lab();
	lab_ok(out, "spawn %s sec sleep 600", prefix);
	ours = (pid_t)strtol(out, NULL, 10);
	assert_true(ours > 0);
	assert_true(running(ours));
	snprintf(ns, sizeof(ns), "%s-pri", prefix);
	stray = fork();
	assert_true(stray >= 0);
	if (stray == 0) {
		execlp("ip", "ip", "netns", "exec", ns, "sleep", "600", (char *)NULL);
		_exit(127);
	}
	usleep(300000);				/* into its namespace */

	lab_ok(out, "down %s", prefix);
	print_message("%s", out);
	snprintf(want, sizeof(want), "stopping %d", (int)ours);
	expect_in(out, want);
	snprintf(want, sizeof(want), "processes not started by 'spawn': %d",
		 (int)stray);
	expect_in(out, want);
	assert_false(running(ours));
	assert_true(running(stray));		/* not ours to stop */
	kill(stray, SIGKILL);
	waitpid(stray, NULL, 0);
	stray = -1;
	left = lab_left();
	if (left)
		fail_msg("%s", left);

	/* again: nothing to do, and no failure */
	lab_ok(out, "down %s", prefix);
	expect_in(out, "nothing to remove");
}

/* --- the lab's life --------------------------------------------------------- */

static int lab_setup(void **state)
{
	(void)state;
	if (no_lab)
		return 0;
	log_set_quiet(1);
	if (lab(up_out, "up %s", prefix) != 0) {
		print_error("colo-lab.sh up %s failed:\n%s", prefix, up_out);
		lab(NULL, "down %s", prefix);
		return -1;
	}
	return 0;
}

/* Whatever the tests did: the lab goes, and must be gone. */
static int lab_teardown(void **state)
{
	const char *left;

	(void)state;
	if (no_lab)
		return 0;
	stop_responder();
	if (stray > 0) {
		kill(stray, SIGKILL);
		waitpid(stray, NULL, 0);
	}
	lab(NULL, "down %s", prefix);
	log_set_quiet(0);
	left = lab_left();
	if (left) {
		print_error("the lab is not gone after down: %s\n", left);
		return -1;
	}
	return 0;
}

/* The script: $COLO_LAB, else tests/lab/ of the tree this program was
 * built in (build/NAME/tests/PROG), else tests/lab/ from here. */
static void find_script(void)
{
	const char *env = getenv("COLO_LAB");
	char exe[PATH_MAX];
	ssize_t n;

	if (env) {
		snprintf(script, sizeof(script), "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		for (int up = 0; up < 4; up++) {
			char *slash = strrchr(exe, '/');

			if (slash)
				*slash = '\0';
		}
		if (strlen(exe) + 32 < sizeof(script)) {
			memcpy(script, exe, strlen(exe));
			strcpy(script + strlen(exe), "/tests/lab/colo-lab.sh");
			if (access(script, X_OK) == 0)
				return;
		}
	}
	snprintf(script, sizeof(script), "tests/lab/colo-lab.sh");
}

/* Our own mount namespace with a tmpfs on /run: the lab's names and
 * state are ours alone, and go when we do. */
static void enter_mountns(void)
{
	static char why[PATH_MAX + 160];

	if (geteuid() != 0) {
		no_lab = "the lab needs root (network namespaces)";
		return;
	}
	if (unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", "/run", "tmpfs", 0, "mode=0755,size=4m")) {
		snprintf(why, sizeof(why), "cannot make a mount namespace with "
			 "its own /run: %s", strerror(errno));
		no_lab = why;
		return;
	}
	if (access(script, X_OK) != 0) {
		snprintf(why, sizeof(why), "no lab script at %s (set COLO_LAB)",
			 script);
		no_lab = why;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_printed),
		cmocka_unit_test(test_namespaces_bridges_links_up),
		cmocka_unit_test(test_lan_pings),
		cmocka_unit_test(test_replication_link),
		cmocka_unit_test(test_guest_tap_reachable),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_down_stops_ours_and_leaves_nothing),
	};

	snprintf(prefix, sizeof(prefix), "cl%d", (int)getpid());
	find_script();
	enter_mountns();
	return cmocka_run_group_tests_name("lab", tests, lab_setup, lab_teardown);
}
