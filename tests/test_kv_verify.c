/*
 * test_kv_verify.c - bench/kv_verify, the demo's client, as a script runs
 * it: against Debian's redis-server (nothing lost, the keys there), and
 * against a fake server that loses a write, alters one, closes or resets
 * the connection, stalls, answers an error or garbage; its summary and
 * exit status each time; the ways to end the write phase; usage errors.
 *
 * kv_verify is $KV_VERIFY, else bench/kv_verify in the build this test
 * belongs to: next to coloctl (paths.h), i.e. $(BUILD)/bench/kv_verify.
 * Every server and every kv_verify is a child known by its pid, killed
 * by that pid (and by PR_SET_PDEATHSIG if the test dies first).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_resp.h"
#include "kv_host.h"
#include "paths.h"
#include "shell.h"

#define REDIS_SERVER	"/usr/bin/redis-server"
#define RUN_MS		30000	/* any one kv_verify run; far more than any needs */
#define STALL_MS	800	/* the fake's slow reply */

static char kv_verify[PATH_MAX];
static char out[1 << 16];		/* the last run's stdout and stderr */

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- running kv_verify ----------------------------------------------------- */

/* $KV_VERIFY, else bench/kv_verify beside the build's coloctl. */
static int find_kv_verify(void)
{
	const char *env = getenv("KV_VERIFY");
	char *slash;

	if (env && *env) {
		snprintf(kv_verify, sizeof(kv_verify), "%s", env);
	} else {
		snprintf(kv_verify, sizeof(kv_verify), "%s", test_coloctl());
		slash = strrchr(kv_verify, '/');
		if (slash)
			slash[1] = '\0';
		else
			kv_verify[0] = '\0';
		strncat(kv_verify, "bench/kv_verify", sizeof(kv_verify) - strlen(kv_verify) - 1);
	}
	if (access(kv_verify, X_OK) < 0) {
		print_error("%s: %s (make $(BUILD)/bench/kv_verify builds it; "
			    "or set KV_VERIFY)\n", kv_verify, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Start kv_verify with args (words split at spaces), stdout and stderr
 * into one unlinked temporary file (*outfd), stdin from in (-1:
 * /dev/null). Its pid.
 */
static pid_t spawn(const char *args, int in, int *outfd)
{
	char path[] = "/tmp/kvv-test.XXXXXX", buf[1024], *argv[32], *save;
	pid_t parent = getpid(), pid;
	int argc = 0, fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	snprintf(buf, sizeof(buf), "%s", args);
	argv[argc++] = kv_verify;
	for (char *w = strtok_r(buf, " ", &save); w && argc < 31;
	     w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (in < 0)
			in = open("/dev/null", O_RDONLY);
		dup2(in, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		signal(SIGPIPE, SIG_DFL);
		execv(kv_verify, argv);
		_exit(127);
	}
	*outfd = fd;
	return pid;
}

/* Wait for pid (SIGKILL after RUN_MS), its output into out: its exit
 * status, or -1 when it did not exit by itself. */
static int finish(pid_t pid, int fd)
{
	long long deadline = mono_ms() + RUN_MS;
	int status = 0, ret = -1;
	ssize_t n;

	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (mono_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			print_error("kv_verify ran over %d ms: killed\n", RUN_MS);
			break;
		}
		usleep(5000);
	}
	if (WIFEXITED(status))
		ret = WEXITSTATUS(status);
	n = pread(fd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	return ret;
}

/* ... and it must have exited want (its output shown if not). */
static void finish_with(pid_t pid, int fd, int want)
{
	int ret = finish(pid, fd);

	if (ret != want)
		fail_msg("kv_verify exited %d, not %d:\n%s", ret, want, out);
}

/* Run kv_verify with args from fmt; it must exit want. */
static __attribute__((format(printf, 2, 3))) void run(int want, const char *fmt, ...)
{
	char args[1024];
	va_list ap;
	int fd;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	pid = spawn(args, -1, &fd);
	finish_with(pid, fd, want);
}

/* The summary line "name  value": its value (NUL-ended, in buf). */
static const char *field(const char *name, char *buf, size_t len)
{
	size_t n = strlen(name);

	for (const char *p = out; (p = strstr(p, name)); p++) {
		const char *eol;

		if ((p != out && p[-1] != '\n') || strncmp(p + n, "  ", 2))
			continue;
		p += n + 2;
		eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		snprintf(buf, len, "%.*s", (int)(eol - p), p);
		return buf;
	}
	fail_msg("no line '%s  ...' in:\n%s", name, out);
	return NULL;
}

/* The same, a number. */
static long long number(const char *name)
{
	char buf[256], *end;
	long long v = strtoll(field(name, buf, sizeof(buf)), &end, 10);

	if (end == buf)
		fail_msg("'%s  %s' is not a number", name, buf);
	return v;
}

static void expect(const char *needle)
{
	if (!strstr(out, needle))
		fail_msg("kv_verify's output lacks '%s':\n%s", needle, out);
}

static struct {
	pid_t pid;
	uint16_t port;
	struct kv_redis redis;
} srv;

static int fake_teardown(void **state)
{
	(void)state;
	fake_resp_stop(srv.pid);
	srv.pid = 0;
	return 0;
}

/* --- against redis-server ------------------------------------------------ */

static int redis_setup(void **state)
{
	int ret;

	(void)state;
	if (find_kv_verify())
		return -1;
	ret = kv_redis_start(&srv.redis, REDIS_SERVER);
	if (ret) {
		print_error("cannot start %s: %s (Debian's redis-server: make "
			    "check installs it)\n", REDIS_SERVER, strerror(-ret));
		kv_redis_stop(&srv.redis);
		return -1;
	}
	print_message("redis-server pid %d on 127.0.0.1:%u\n",
		      (int)srv.redis.pid, (unsigned)srv.redis.port);
	return 0;
}

static int redis_teardown(void **state)
{
	(void)state;
	kv_redis_stop(&srv.redis);
	return 0;
}

/* What redis-cli prints for a command on our redis-server. */
static const char *redis_cli(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static const char *redis_cli(char *buf, size_t len, const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(shell_run(buf, len, NULL, "redis-cli -h 127.0.0.1 -p %u %s",
				   (unsigned)srv.redis.port, cmd), 0);
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/* A second of writes: none lost, every one in the server, the first and
 * the last with their values, the progress line on stderr. */
static void test_redis_nothing_lost(void **state)
{
	long long acked, sent;
	char buf[256], want[32];

	(void)state;
	run(0, "--server 127.0.0.1:%u --prefix kvt --duration-ms 1200",
	    (unsigned)srv.redis.port);
	acked = number("writes acknowledged");
	sent = number("writes sent");
	assert_true(acked > 0);
	assert_int_equal(acked, sent);
	assert_int_equal(number("acknowledged writes lost"), 0);
	assert_int_equal(number("acknowledged writes wrong"), 0);
	assert_int_equal(number("error replies"), 0);
	assert_string_equal(field("connection survived", buf, sizeof(buf)), "yes");
	expect("kv_verify: connected to 127.0.0.1:");
	expect(" acknowledged, last reply ");
	/* the keys are there: "SEQ:" then letters, 32 bytes */
	redis_cli(buf, sizeof(buf), "GET kvt:1");
	assert_int_equal(strlen(buf), 32);
	assert_memory_equal(buf, "1:", 2);
	snprintf(want, sizeof(want), "%lld:", acked);
	redis_cli(buf, sizeof(buf), "GET kvt:%lld", acked);
	assert_int_equal(strlen(buf), 32);
	assert_memory_equal(buf, want, strlen(want));
	redis_cli(buf, sizeof(buf), "EXISTS kvt:%lld", acked + 1);
	assert_string_equal(buf, "0");
	redis_cli(buf, sizeof(buf), "DBSIZE");
	assert_int_equal(strtoll(buf, NULL, 10), sent);
}

/* --rate and --value-size are kept, --json is one object. */
static void test_redis_json_rate(void **state)
{
	char buf[256];
	const char *p;
	long long sent;

	(void)state;
	run(0, "--server 127.0.0.1:%u --prefix kvj --rate 200/s --duration-ms 1000 "
	    "--value-size 100 --json --quiet", (unsigned)srv.redis.port);
	assert_int_equal(out[0], '{');
	assert_non_null(strstr(out, "}\n"));
	assert_non_null(strstr(out, "\"acknowledged_writes_lost\": 0,"));
	assert_non_null(strstr(out, "\"connection_survived\": true,"));
	assert_non_null(strstr(out, "\"key_prefix\": \"kvj\","));
	assert_non_null(strstr(out, "\"timeline\": ["));
	p = strstr(out, "\"writes_sent\": ");
	assert_non_null(p);
	sent = strtoll(p + 15, NULL, 10);
	/* 200 a second, not thousands (late wakeups may lose a few) */
	assert_true(sent >= 100 && sent <= 215);
	assert_null(strstr(out, "kv_verify:"));		/* --quiet */
	redis_cli(buf, sizeof(buf), "STRLEN kvj:%lld", sent);
	assert_string_equal(buf, "100");
}

/* --- against fakes ------------------------------------------------------- */

static int fake_setup(void **state)
{
	(void)state;
	return find_kv_verify();
}

/* Run against a fake playing s (300 ms of writes unless extra says);
 * kv_verify must exit want. */
static void run_fake(const struct fake_script *s, const char *extra, int want)
{
	assert_int_equal(fake_resp_start(s, &srv.pid, &srv.port), 0);
	run(want, "--server 127.0.0.1:%u --prefix f %s", (unsigned)srv.port,
	    extra ? extra : "--duration-ms 300 --quiet");
}

static void test_lost_write(void **state)
{
	struct fake_script s = { .lose = 5 };
	char buf[64];

	(void)state;
	run_fake(&s, NULL, 1);
	assert_true(number("writes acknowledged") >= 5);
	assert_int_equal(number("acknowledged writes lost"), 1);
	assert_int_equal(number("acknowledged writes wrong"), 0);
	assert_string_equal(field("connection survived", buf, sizeof(buf)), "yes");
	expect("kv_verify: f:5 acknowledged, and lost (nil)");
}

static void test_wrong_value(void **state)
{
	struct fake_script s = { .alter = 7 };

	(void)state;
	run_fake(&s, NULL, 1);
	assert_int_equal(number("acknowledged writes lost"), 0);
	assert_int_equal(number("acknowledged writes wrong"), 1);
	expect("kv_verify: f:7 acknowledged, and reads back '$32\\r\\n7:");
}

/* The 51st SET is answered by a RST, or a FIN: the run ends, no verify. */
static void test_connection_reset(void **state)
{
	struct fake_script s = { .close_at = 51, .reset = true };
	char buf[64];

	(void)state;
	run_fake(&s, NULL, 1);
	assert_string_equal(field("connection survived", buf, sizeof(buf)), "no");
	assert_int_equal(number("writes sent"), 51);
	assert_int_equal(number("writes acknowledged"), 50);
	assert_string_equal(field("acknowledged writes lost", buf, sizeof(buf)), "unknown");
	expect("kv_verify: SET f:51: recv: Connection reset by peer");
}

static void test_connection_closed(void **state)
{
	struct fake_script s = { .close_at = 51 };
	char buf[64];

	(void)state;
	run_fake(&s, NULL, 1);
	assert_string_equal(field("connection survived", buf, sizeof(buf)), "no");
	assert_int_equal(number("writes acknowledged"), 50);
	expect("kv_verify: SET f:51: the server closed the connection");
}

/* A reply 800 ms late is waited for: the longest gap, on both clocks. */
static void test_slow_reply(void **state)
{
	struct fake_script s = { .stall_at = 20, .stall_ms = STALL_MS };
	long long t1, t2, gap;
	char buf[128];

	(void)state;
	run_fake(&s, "--duration-ms 1500 --quiet", 0);
	assert_string_equal(field("connection survived", buf, sizeof(buf)), "yes");
	assert_int_equal(number("acknowledged writes lost"), 0);
	assert_true(number("writes acknowledged") > 20);
	gap = number("longest reply gap");
	assert_true(gap >= STALL_MS && gap < STALL_MS + 1000);
	assert_int_equal(sscanf(field("longest reply gap", buf, sizeof(buf)),
				"%*d ms (from %lld to %lld)", &t1, &t2), 2);
	assert_true(t2 - t1 >= STALL_MS - 2 && t2 - t1 <= gap + 2);
	field("replies per second before gap", buf, sizeof(buf));
	assert_true(strtod(buf, NULL) > 0);
	field("replies per second after gap", buf, sizeof(buf));
	assert_true(strtod(buf, NULL) > 0);
}

/* A reply later than --stall-timeout-ms ends the run, without waiting on. */
static void test_stall_timeout(void **state)
{
	struct fake_script s = { .stall_at = 20, .stall_ms = 3000 };
	long long t0 = mono_ms();
	char buf[64];

	(void)state;
	run_fake(&s, "--duration-ms 5000 --stall-timeout-ms 400 --quiet", 1);
	assert_true(mono_ms() - t0 < 2500);
	assert_string_equal(field("connection survived", buf, sizeof(buf)), "no");
	assert_int_equal(number("writes acknowledged"), 19);
	expect("kv_verify: SET f:20: no reply in 400 ms");
}

/* An error reply is counted, not acknowledged, and the run goes on. */
static void test_error_reply(void **state)
{
	static const char err[] = "-READONLY You can't write against a read only replica.\r\n";
	struct fake_script s = { .odd_at = 10, .odd = err, .odd_len = sizeof(err) - 1 };

	(void)state;
	run_fake(&s, NULL, 0);
	assert_int_equal(number("error replies"), 1);
	assert_int_equal(number("writes acknowledged"), number("writes sent") - 1);
	assert_int_equal(number("unacknowledged writes present"), 1);	/* in doubt */
	assert_int_equal(number("acknowledged writes lost"), 0);
	expect("SET f:10 answered '-READONLY You can");
}

/* Replies that are RESP2 but not +OK are error replies; others end the
 * run (exit 1, never a crash or a hang, under ASan too). */
static void test_hostile_replies(void **state)
{
	static char longline[70001], deep[4 * 5000 + 6];
	static const struct {
		const char *reply;	/* NULL: longline, "deep": deep */
		bool closes;		/* the fake closes after it */
		int status;
		const char *says;
	} cases[] = {
		{ ":1\r\n", false, 0, "error replies  1" },
		{ "$-1\r\n", false, 0, "error replies  1" },
		{ "*-1\r\n", false, 0, "error replies  1" },
		{ "*2\r\n$1\r\na\r\n*1\r\n:5\r\n", false, 0, "error replies  1" },
		{ "deep", false, 0, "error replies  1" },
		{ "$99999999999\r\n", false, 1, "protocol error: a bulk length" },
		{ "$3\r\nabcd\r\n", false, 1, "protocol error: a bulk string not ended" },
		{ "?OK\r\n", false, 1, "protocol error: a reply starting with byte 0x3f" },
		{ "+OK\n", false, 1, "protocol error: a bare LF" },
		{ "+O\rK\r\n", false, 1, "protocol error: a bare CR" },
		{ ":12a\r\n", false, 1, "protocol error: an integer reply" },
		{ "*2000000\r\n", false, 1, "protocol error: an array count" },
		{ "+OK\r\n+OK\r\n", false, 1, NULL },
		{ NULL, false, 1, "protocol error: a line longer than" },
		{ "$5\r\nab", true, 1, "the server closed the connection" },
		{ "\0\r\n", false, 1, "byte 0x00" },
	};

	(void)state;
	memset(longline, 'A', sizeof(longline) - 1);
	longline[0] = '+';
	for (int i = 0; i < 5000; i++)
		memcpy(deep + 4 * i, "*1\r\n", 4);
	memcpy(deep + 4 * 5000, "+OK\r\n", 6);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake_script s = { .odd_at = 10, .odd_closes = cases[i].closes };

		s.odd = !cases[i].reply ? longline :
			!strcmp(cases[i].reply, "deep") ? deep : cases[i].reply;
		s.odd_len = !cases[i].reply ? sizeof(longline) - 1 :
			    s.odd == deep ? sizeof(deep) - 1 :
			    cases[i].reply[0] ? strlen(cases[i].reply) : 3;
		run_fake(&s, "--duration-ms 200 --quiet", cases[i].status);
		fake_teardown(NULL);
		if (cases[i].says)
			expect(cases[i].says);
		if (cases[i].status == 0)
			assert_int_equal(number("writes acknowledged"),
					 number("writes sent") - 1);
	}
}

/* The write phase ends at "stop" on stdin, at SIGUSR1 or SIGTERM; the
 * verify phase follows, exit 0. EOF on stdin ends nothing. */
static void test_stop(void **state)
{
	static const struct fake_script s;
	static const int sigs[] = { 0, SIGUSR1, SIGTERM };

	(void)state;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		char args[128];
		int fds[2], fd;
		pid_t pid;

		assert_int_equal(fake_resp_start(&s, &srv.pid, &srv.port), 0);
		snprintf(args, sizeof(args), "--server 127.0.0.1:%u --prefix f --quiet",
			 (unsigned)srv.port);
		assert_int_equal(pipe(fds), 0);
		pid = spawn(args, sigs[i] ? -1 : fds[0], &fd);
		close(fds[0]);
		usleep(500 * 1000);
		if (sigs[i]) {
			assert_int_equal(kill(pid, sigs[i]), 0);
		} else {
			assert_int_equal(write(fds[1], "nonsense\n stop \n", 16), 16);
		}
		close(fds[1]);
		finish_with(pid, fd, 0);
		fake_teardown(NULL);
		assert_true(number("writes acknowledged") > 0);
		assert_int_equal(number("acknowledged writes lost"), 0);
	}
}

/* --- usage --------------------------------------------------------------- */

static void test_bad_usage(void **state)
{
	static const struct {
		const char *args;
		const char *says;
	} cases[] = {
		{ "", "--server HOST:PORT is required" },
		{ "--server", "--server needs a value" },
		{ "--server localhost", "--server 'localhost': not HOST:PORT" },
		{ "--server 127.0.0.1:0", "--server '127.0.0.1:0': the port" },
		{ "--server 127.0.0.1:70000", "--server '127.0.0.1:70000': the port" },
		{ "--server ::1:6379", "--server '::1:6379': an IPv6 address" },
		{ "--server 127.0.0.1:1 --rate fast", "--rate 'fast': not a whole number" },
		{ "--server 127.0.0.1:1 --value-size 8", "--value-size '8': less than 16" },
		{ "--server 127.0.0.1:1 --value-size 2000000", "--value-size '2000000': more than" },
		{ "--server 127.0.0.1:1 --duration-ms -5", "--duration-ms '-5'" },
		{ "--server 127.0.0.1:1 --stall-timeout-ms 0",
		  "--stall-timeout-ms '0': less than 1" },
		{ "--server 127.0.0.1:1 --timeline-ms 1x", "--timeline-ms '1x'" },
		{ "--server 127.0.0.1:1 --prefix a/b", "--prefix 'a/b'" },
		{ "--server 127.0.0.1:1 --bogus", "unknown option '--bogus'" },
		{ "--server 127.0.0.1:1 extra", "unexpected argument 'extra'" },
	};
	char args[128];
	int lfd, port;
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t salen = sizeof(sa);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run(2, "%s", cases[i].args);
		expect(cases[i].says);
		assert_null(strstr(out, "writes sent"));
	}
	/* a port nobody listens on (bound, never listening): cannot connect */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &salen), 0);
	port = ntohs(sa.sin_port);
	snprintf(args, sizeof(args), "--server 127.0.0.1:%d", port);
	run(2, "%s", args);
	expect("kv_verify: cannot connect to 127.0.0.1:");
	close(lfd);
	run(0, "--help");
	expect("usage: kv_verify --server HOST:PORT");
	expect("acknowledged writes lost  N");
}

int main(void)
{
	const struct CMUnitTest redis[] = {
		cmocka_unit_test(test_redis_nothing_lost),
		cmocka_unit_test(test_redis_json_rate),
	};
	const struct CMUnitTest fakes[] = {
		cmocka_unit_test_teardown(test_lost_write, fake_teardown),
		cmocka_unit_test_teardown(test_wrong_value, fake_teardown),
		cmocka_unit_test_teardown(test_connection_reset, fake_teardown),
		cmocka_unit_test_teardown(test_connection_closed, fake_teardown),
		cmocka_unit_test_teardown(test_slow_reply, fake_teardown),
		cmocka_unit_test_teardown(test_stall_timeout, fake_teardown),
		cmocka_unit_test_teardown(test_error_reply, fake_teardown),
		cmocka_unit_test_teardown(test_hostile_replies, fake_teardown),
		cmocka_unit_test_teardown(test_stop, fake_teardown),
		cmocka_unit_test(test_bad_usage),
	};
	int ret;

	signal(SIGPIPE, SIG_IGN);
	ret = cmocka_run_group_tests_name("kv_verify against redis-server", redis,
					  redis_setup, redis_teardown);
	ret |= cmocka_run_group_tests_name("kv_verify against fakes", fakes,
					   fake_setup, NULL);
	return ret;
}
