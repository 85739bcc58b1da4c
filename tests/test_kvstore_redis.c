/*
 * test_kvstore_redis.c - the kvstore engine (guest/kvstore,
 * host-compiled) side by side with Debian's redis-server 7.0 over
 * loopback TCP (the engine served by tests/lib/kv_host): replies
 * compared byte for byte (tests/lib/resp_compare, script
 * tests/data/kv_commands.txt), INFO, real redis-cli and redis-benchmark
 * against the engine, and a TCP flood. The engine's own tests, without
 * a network, are test_kvstore_engine.c.
 *
 * Every server the test starts is a child known by its pid, killed by
 * that pid in the group's teardown (and by PR_SET_PDEATHSIG if the test
 * dies first).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "kv_client.h"
#include "kv_cmd.h"
#include "kv_host.h"
#include "kv_server.h"
#include "resp_compare.h"
#include "shell.h"
#include "kv_test.h"

#define REDIS_SERVER	"/usr/bin/redis-server"
#define SCRIPT		"tests/data/kv_commands.txt"
#define FLOOD_MS	1500	/* how long the TCP flood pushes */
#define FLOOD_RSS_KB	(48 * 1024)	/* what the flood may add to the
					 * server: its limits are far lower */

/* --- side by side with redis-server, over loopback TCP ----------------------------- */

static struct {
	struct kv_redis redis;
	struct kv_host host;
	struct kv_server srv;		/* the child's copy serves */
	char redis_addr[32], host_addr[32];
} tcp;

static uint64_t mono_clock(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The engine as kv_host serves it (in the child). */
static void *host_open(void *arg)
{
	return kv_server_admit(arg) ? NULL : kv_client_new(arg);
}

static int host_input(void *conn, const void *data, size_t len)
{
	int ret = kv_client_feed(conn, data, len);

	return ret ? ret : kv_client_dead(conn) ? -EMSGSIZE : 0;
}

static const void *host_output(void *conn, size_t *len)
{
	return kv_client_output(conn, len);
}

static void host_sent(void *conn, size_t n)
{
	kv_client_consume(conn, n);
	kv_client_run(conn);		/* the rest of a paused pipeline */
}

static bool host_wants_input(void *conn)
{
	return kv_client_wants_input(conn);
}

static bool host_closing(void *conn)
{
	return kv_client_done(conn) || kv_client_dead(conn);
}

static void host_close(void *conn)
{
	kv_client_free(conn);
}

static void host_tick(void *arg)
{
	kv_server_cron(arg);
}

static const struct kv_host_ops host_ops = {
	.open = host_open,
	.input = host_input,
	.output = host_output,
	.sent = host_sent,
	.wants_input = host_wants_input,
	.closing = host_closing,
	.close = host_close,
	.tick = host_tick,
	.tick_ms = KV_CRON_MS,
};

static int tcp_teardown(void **state)
{
	(void)state;
	kv_host_stop(&tcp.host);
	kv_redis_stop(&tcp.redis);
	kv_server_free(&tcp.srv);
	return 0;
}

static int tcp_setup(void **state)
{
	int ret;

	(void)state;
	ret = kv_redis_start(&tcp.redis, REDIS_SERVER);
	if (ret) {
		print_error("cannot start %s: %s (Debian's redis-server: "
			    "make check installs it)\n", REDIS_SERVER,
			    strerror(-ret));
		kv_redis_stop(&tcp.redis);
		return -1;
	}
	kv_server_init(&tcp.srv, mono_clock, NULL, test_seed, 0);
	ret = kv_host_start(&tcp.host, &host_ops, &tcp.srv);
	if (ret) {
		print_error("cannot start the engine's server: %s\n", strerror(-ret));
		tcp_teardown(state);
		return -1;
	}
	snprintf(tcp.redis_addr, sizeof(tcp.redis_addr), "127.0.0.1:%u",
		 (unsigned)tcp.redis.port);
	snprintf(tcp.host_addr, sizeof(tcp.host_addr), "127.0.0.1:%u",
		 (unsigned)tcp.host.port);
	print_message("redis-server pid %d on %s, engine pid %d on %s\n",
		      (int)tcp.redis.pid, tcp.redis_addr, (int)tcp.host.pid,
		      tcp.host_addr);
	return 0;
}

/* The script: the source tree's, found from the current directory (make
 * check runs in the repository root) or from $KV_COMMANDS. */
static const char *script_path(void)
{
	const char *p = getenv("KV_COMMANDS");

	return p ? p : SCRIPT;
}

static void test_side_by_side_script(void **state)
{
	struct resp_compare_result res;
	int ret;

	(void)state;
	ret = resp_compare(tcp.redis_addr, tcp.host_addr, script_path(), &res);
	print_message("%u steps, %u replies byte-equal, %u by shape, %u closes\n",
		      res.steps, res.replies, res.shapes, res.closes);
	if (ret) {
		print_error("redis-server (%s) and the engine (%s) differ:\n%s",
			    tcp.redis_addr, tcp.host_addr, res.diff);
		fail();
	}
	assert_true(res.replies > 400);
	assert_true(res.closes > 20);
}

/* The comparison can fail: a script where the two must differ (COMMAND
 * describes Redis's commands; ours is an empty array) is reported with
 * its line. A close on both sides is agreement. */
static void test_compare_reports_difference(void **state)
{
	char path[] = "/tmp/kvtest-script.XXXXXX";
	struct resp_compare_result res;
	int fd = mkstemp(path), ret;
	static const char script[] = "# differs on line 3\nPING\nCOMMAND\nPING\n";
	static const char quit[] = "!raw *1\\r\\n$4\\r\\nQUIT\\r\\n\nPING\n";

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, script, sizeof(script) - 1),
			 (ssize_t)sizeof(script) - 1);
	close(fd);
	ret = resp_compare(tcp.redis_addr, tcp.host_addr, path, &res);
	print_message("%s", res.diff);
	assert_int_equal(ret, 1);
	assert_non_null(strstr(res.diff, "line 3: COMMAND"));
	assert_int_equal(res.steps, 2);
	/* the same server on both sides agrees with itself */
	ret = resp_compare(tcp.host_addr, tcp.host_addr, path, &res);
	assert_int_equal(ret, 0);
	assert_int_equal(res.replies, 3);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, quit, sizeof(quit) - 1), (ssize_t)sizeof(quit) - 1);
	close(fd);
	ret = resp_compare(tcp.redis_addr, tcp.host_addr, path, &res);
	assert_int_equal(ret, 0);
	assert_int_equal(res.closes, 1);
	assert_int_equal(res.replies, 2);
	unlink(path);
}

/* DEBUG PID, kvstore's own (not in the script: redis-server has no such
 * subcommand): the pid of the process serving, here the engine's child. */
static void test_debug_pid(void **state)
{
	char k[256], want[32];

	(void)state;
	snprintf(want, sizeof(want), ":%d\r\n", (int)tcp.host.pid);
	assert_true(resp_query(tcp.host_addr, "DEBUG PID", k, sizeof(k)) > 0);
	assert_string_equal(k, want);
	assert_true(resp_query(tcp.host_addr, "DEBUG NOSUCH", k, sizeof(k)) > 0);
	assert_string_equal(k, "-ERR unknown subcommand 'NOSUCH'. Try DEBUG HELP.\r\n");
}

/* INFO: not byte-equal by nature; its form and our fields checked. */
static void test_side_by_side_info(void **state)
{
	char r[16384], k[16384];
	long nr, nk;

	(void)state;
	assert_true(resp_query(tcp.host_addr, "FLUSHALL", k, sizeof(k)) > 0);
	assert_true(resp_query(tcp.redis_addr, "FLUSHALL", r, sizeof(r)) > 0);
	assert_true(resp_query(tcp.host_addr, "SET info:key v EX 100", k, sizeof(k)) > 0);
	assert_true(resp_query(tcp.redis_addr, "SET info:key v EX 100", r, sizeof(r)) > 0);
	nr = resp_query(tcp.redis_addr, "INFO", r, sizeof(r));
	nk = resp_query(tcp.host_addr, "INFO", k, sizeof(k));
	assert_true(nr > 0 && nk > 0);
	assert_true(r[0] == '$' && k[0] == '$');
	for (int i = 0; i < 2; i++) {
		const char *s = i ? k : r;

		assert_non_null(strstr(s, "\r\n# Server\r\nredis_version:"));
		assert_non_null(strstr(s, "\r\n\r\n# Clients\r\nconnected_clients:1\r\n"));
		assert_non_null(strstr(s, "\r\n\r\n# Memory\r\nused_memory:"));
		assert_non_null(strstr(s, "\r\n# Keyspace\r\ndb0:keys=1,expires=1,avg_ttl="));
		assert_memory_equal(s + strlen(s) - 4, "\r\n\r\n", 4);
	}
	assert_non_null(strstr(k, "\r\ntcp_port:0\r\n"));
	nk = resp_query(tcp.host_addr, "INFO keyspace", k, sizeof(k));
	assert_string_equal(k, "$44\r\n# Keyspace\r\ndb0:keys=1,expires=1,avg_ttl=0\r\n\r\n");
	resp_query(tcp.host_addr, "DEL info:key", k, sizeof(k));
	resp_query(tcp.redis_addr, "DEL info:key", r, sizeof(r));
}

/* redis-cli prints the same for both servers. */
static void test_redis_cli(void **state)
{
	static const char *const cmds[] = {
		"PING", "SET cli:k 'hello world'", "GET cli:k", "INCR cli:n",
		"INCRBY cli:n 41", "RPUSH cli:l a b c", "LRANGE cli:l 0 -1",
		"LPOP cli:l 2", "SADD cli:s x", "SISMEMBER cli:s x",
		"HSET cli:h f v", "HGET cli:h f", "ZADD cli:z 1.5 m",
		"ZPOPMIN cli:z", "GET cli:nokey", "LPUSH cli:k x", "NOSUCH a",
		"MGET cli:k cli:n", "DEL cli:k cli:n cli:l cli:s cli:h",
		"SELECT 1", "DBSIZE",
	};
	char outr[4096], outk[4096];

	(void)state;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int rr = shell_run(outr, sizeof(outr), NULL,
				   "redis-cli -h 127.0.0.1 -p %u %s",
				   (unsigned)tcp.redis.port, cmds[i]);
		int rk = shell_run(outk, sizeof(outk), NULL,
				   "redis-cli -h 127.0.0.1 -p %u %s",
				   (unsigned)tcp.host.port, cmds[i]);

		if (rr != rk || strcmp(outr, outk)) {
			print_error("redis-cli %s:\n  redis-server (%d): %s\n"
				    "  engine (%d): %s\n", cmds[i], rr, outr,
				    rk, outk);
			fail();
		}
	}
	/* and what it printed is what it should be */
	shell_run(outk, sizeof(outk), NULL, "redis-cli -p %u SET cli:x 42 && "
		  "redis-cli -p %u INCR cli:x && redis-cli -p %u GET cli:x && "
		  "redis-cli -p %u DEL cli:x", (unsigned)tcp.host.port,
		  (unsigned)tcp.host.port, (unsigned)tcp.host.port,
		  (unsigned)tcp.host.port);
	assert_string_equal(outk, "OK\n43\n43\n1\n");
}

static void test_redis_benchmark(void **state)
{
	static const char *const tests[] = {
		"SET: ", "GET: ", "INCR: ", "LPUSH: ", "RPUSH: ", "LPOP: ",
		"RPOP: ", "LPUSH (needed to benchmark LRANGE): ",
		"LRANGE_100 (first 100 elements): ", "MSET (10 keys): ",
	};
	static char out[65536];
	char *line, *save;
	int ret, found = 0;

	(void)state;
	ret = shell_run(out, sizeof(out), NULL,
			"timeout 120 redis-benchmark -h 127.0.0.1 -p %u -t "
			"set,get,incr,lpush,rpush,lpop,rpop,lrange_100,mset "
			"-n 2000 -c 20 -q | tr '\\r' '\\n'", (unsigned)tcp.host.port);
	print_message("redis-benchmark:\n%s", out);
	assert_int_equal(ret, 0);
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		bool seen = false;

		for (char *p = out; (p = strstr(p, tests[i])); p++) {
			/* the final line of a test: "NAME: N requests per second" */
			char *eol = strchr(p, '\n');

			if (p != out && p[-1] != '\n')
				continue;
			if (eol && memmem(p, (size_t)(eol - p), "requests per second", 19))
				seen = true;
		}
		if (!seen) {
			print_error("redis-benchmark did not report %s\n", tests[i]);
			fail();
		}
		found++;
	}
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strcasestr(line, "error") || strcasestr(line, "warning")) {
			print_error("redis-benchmark said: %s\n", line);
			fail();
		}
	}
	assert_int_equal(found, 10);
}

static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

static long long now_ms(void)
{
	return (long long)mono_clock(NULL);
}

/* A client that floods pipelined GETs of a 100 kB value and never
 * reads: the server holds it back (stops reading it), stays small and
 * keeps serving others. */
static void test_flood_over_tcp(void **state)
{
	static char pipe[64 * 1024];
	char reply[256];
	char *v = malloc(100001), *cmd = malloc(100100);
	long before, after;
	size_t plen = 0, sent = 0;
	long long end;
	int fd, pings = 0;

	(void)state;
	assert_non_null(v);
	assert_non_null(cmd);
	memset(v, 'q', 100000);
	v[100000] = '\0';
	snprintf(cmd, 100100, "SET flood:v %s", v);
	assert_true(resp_query(tcp.host_addr, cmd, reply, sizeof(reply)) > 0);
	assert_string_equal(reply, "+OK\r\n");
	while (plen + 13 < sizeof(pipe)) {
		memcpy(pipe + plen, "GET flood:v\r\n", 13);
		plen += 13;
	}
	before = rss_kb(tcp.host.pid);
	fd = kv_host_connect(tcp.host.port);
	assert_true(fd >= 0);
	end = now_ms() + FLOOD_MS;
	while (now_ms() < end) {
		ssize_t n = send(fd, pipe, plen, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			sent += (size_t)n;
			continue;
		}
		/* the server stopped reading it; others are served */
		usleep(50000);
		assert_true(resp_query(tcp.host_addr, "PING", reply,
				       sizeof(reply)) > 0);
		assert_string_equal(reply, "+PONG\r\n");
		pings++;
	}
	after = rss_kb(tcp.host.pid);
	print_message("flood: %zu bytes sent unread, %d PINGs answered "
		      "meanwhile; server RSS %ld -> %ld kB\n", sent, pings,
		      before, after);
	assert_true(pings > 0);
	assert_true(resp_query(tcp.host_addr, "PING", reply, sizeof(reply)) > 0);
	assert_string_equal(reply, "+PONG\r\n");
	assert_true(after - before < FLOOD_RSS_KB);
	close(fd);
	assert_true(resp_query(tcp.host_addr, "DEL flood:v", reply, sizeof(reply)) > 0);
	free(v);
	free(cmd);
}

int main(void)
{
	const struct CMUnitTest side_by_side[] = {
		cmocka_unit_test(test_side_by_side_script),
		cmocka_unit_test(test_compare_reports_difference),
		cmocka_unit_test(test_side_by_side_info),
		cmocka_unit_test(test_debug_pid),
		cmocka_unit_test(test_redis_cli),
		cmocka_unit_test(test_redis_benchmark),
		cmocka_unit_test(test_flood_over_tcp),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("side by side", side_by_side,
					  tcp_setup, tcp_teardown);
}
