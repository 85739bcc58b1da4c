/*
 * test_kvstore_commands.c - every kvstore command's replies and errors,
 * byte for byte (Redis 7.0.15's, as seen), on the engine without a
 * network (kv_engine_test.h), and the command table itself.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "kv_client.h"
#include "kv_cmd.h"
#include "kv_db.h"
#include "kv_dict.h"
#include "kv_list.h"
#include "kv_server.h"
#include "kv_util.h"
#include "kv_zset.h"
#include "resp.h"
#include "kv_engine_test.h"
#include "kv_test.h"


/* --- every command: replies and errors (Redis 7.0.15's, as seen) -------------- */

struct exchange {
	const char *words;		/* space-separated; '' is empty */
	const char *reply;
};

static void run_table(const struct exchange *t, size_t n)
{
	struct engine *e = engine_new();
	struct kv_client *c = kv_client_new(&e->srv);

	for (size_t i = 0; i < n; i++)
		expect(c, t[i].words, t[i].reply);
	kv_client_free(c);
	engine_free(e);
}

#define WRONGTYPE	"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
#define ARITY(cmd)	"-ERR wrong number of arguments for '" cmd "' command\r\n"
#define SYNTAX		"-ERR syntax error\r\n"
#define NOTINT		"-ERR value is not an integer or out of range\r\n"
#define POSITIVE	"-ERR value is out of range, must be positive\r\n"
#define NOTFLOAT	"-ERR value is not a valid float\r\n"
#define RUN(t)		run_table(t, sizeof(t) / sizeof(t[0]))

static void test_cmd_connection(void **state)
{
	static const struct exchange t[] = {
		{ "PING", "+PONG\r\n" },
		{ "ping hello", "$5\r\nhello\r\n" },
		{ "PING ''", "$0\r\n\r\n" },
		{ "PING a b", ARITY("ping") },
		{ "ECHO", ARITY("echo") },
		{ "ECHO hi", "$2\r\nhi\r\n" },
		{ "ECHO a b", ARITY("echo") },
		{ "FOO", "-ERR unknown command 'FOO', with args beginning with: \r\n" },
		{ "foo a b", "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n" },
		{ "GET", ARITY("get") },
		{ "CONFIG", ARITY("config") },
		{ "CONFIG GET", ARITY("config|get") },
		{ "CONFIG GET save", "*2\r\n$4\r\nsave\r\n$0\r\n\r\n" },
		{ "CONFIG GET *", "*6\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"
		  "$9\r\ndatabases\r\n$1\r\n1\r\n$4\r\nsave\r\n$0\r\n\r\n" },
		{ "CONFIG GET nosuch", "*0\r\n" },
		{ "CONFIG FOO", "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n" },
		{ "COMMAND FOO", "-ERR unknown subcommand 'FOO'. Try COMMAND HELP.\r\n" },
		{ "COMMAND", "*0\r\n" },
		{ "COMMAND DOCS", "*0\r\n" },
		{ "CONFIG REWRITE", "-ERR The server is running without a config file\r\n" },
		{ "CONFIG SET a b", "-ERR Unknown option or number of arguments for CONFIG SET - 'a'\r\n" },
		{ "CONFIG RESETSTAT", "+OK\r\n" },
		{ "SELECT 0", "+OK\r\n" },
		{ "SELECT 1", "-ERR DB index is out of range\r\n" },
		{ "SELECT abc", NOTINT },
		{ "SELECT 2147483648", "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n" },
		{ "QUIT", "+OK\r\n" },
	};

	(void)state;
	RUN(t);
}

/* DEBUG PID: the pid of the process the engine runs in, the one reply
 * not the same on both guests of a pair; in a forked child, the child's
 * (a copy of our memory answers with its own pid, as a replica does). */
static void test_cmd_debug(void **state)
{
	static const struct exchange t[] = {
		{ "DEBUG", ARITY("debug") },
		{ "DEBUG PID x", ARITY("debug|pid") },
		{ "DEBUG FOO", "-ERR unknown subcommand 'FOO'. Try DEBUG HELP.\r\n" },
		{ "debug sleep 0", "-ERR unknown subcommand 'sleep'. Try DEBUG HELP.\r\n" },
	};
	char want[32], got[32] = "";
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	(void)state;
	RUN(t);
	snprintf(want, sizeof(want), ":%d\r\n", (int)getpid());
	{
		const struct exchange own[] = {
			{ "DEBUG PID", want }, { "debug pid", want },
		};

		RUN(own);
	}
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static const char req[] = "*2\r\n$5\r\nDEBUG\r\n$3\r\nPID\r\n";
		struct engine *e = engine_new();
		struct kv_client *c = kv_client_new(&e->srv);
		size_t len;
		char *r;

		close(pfd[0]);
		kv_client_feed(c, req, sizeof(req) - 1);
		r = take(c, &len);
		if (write(pfd[1], r, len) != (ssize_t)len)
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	n = read(pfd[0], got, sizeof(got) - 1);
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(n > 0);
	got[n] = '\0';
	snprintf(want, sizeof(want), ":%d\r\n", (int)pid);
	assert_string_equal(got, want);
}

static void test_cmd_strings(void **state)
{
	static const struct exchange t[] = {
		{ "SET k", ARITY("set") },
		{ "SET k v", "+OK\r\n" },
		{ "GET k", "$1\r\nv\r\n" },
		{ "GET nokey", "$-1\r\n" },
		{ "SET k v EX", SYNTAX },
		{ "SET k v EX 0", "-ERR invalid expire time in 'set' command\r\n" },
		{ "SET k v PX -1", "-ERR invalid expire time in 'set' command\r\n" },
		{ "SET k v EX abc", NOTINT },
		{ "SET k v EX 9223372036854775807", "-ERR invalid expire time in 'set' command\r\n" },
		{ "SET k v PX 9223372036854775807", "-ERR invalid expire time in 'set' command\r\n" },
		{ "SET k v EX 10 PX 10", SYNTAX },
		{ "SET k v KEEPTTL EX 10", SYNTAX },
		{ "SET k v NX XX", SYNTAX },
		{ "SET k v EXAT 1", SYNTAX },
		{ "SET k v foo", SYNTAX },
		{ "SET k v nx", "$-1\r\n" },
		{ "SET k v2 xx", "+OK\r\n" },
		{ "SET nokey v xx", "$-1\r\n" },
		{ "SET k v3 GET", "$2\r\nv2\r\n" },
		{ "SET k v4 NX GET", "$2\r\nv3\r\n" },
		{ "SET new v GET", "$-1\r\n" },
		{ "GETSET k x", "$2\r\nv3\r\n" },
		{ "GETSET gs x", "$-1\r\n" },
		{ "DEL k gs nokey", ":2\r\n" },
		{ "INCR c", ":1\r\n" },
		{ "INCRBY c 10", ":11\r\n" },
		{ "INCRBY c x", NOTINT },
		{ "DECR c", ":10\r\n" },
		{ "DECRBY c 5", ":5\r\n" },
		{ "DECRBY c -9223372036854775808", "-ERR decrement would overflow\r\n" },
		{ "INCRBY c 9223372036854775807", "-ERR increment or decrement would overflow\r\n" },
		{ "SET s hello", "+OK\r\n" },
		{ "INCR s", NOTINT },
		{ "SET z 01", "+OK\r\n" },
		{ "INCR z", NOTINT },
		{ "APPEND s _x", ":7\r\n" },
		{ "APPEND na y", ":1\r\n" },
		{ "STRLEN s", ":7\r\n" },
		{ "STRLEN nokey", ":0\r\n" },
		{ "MSET a 1 b", ARITY("mset") },
		{ "MSET a 1 b 2", "+OK\r\n" },
		{ "MGET a b nokey", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n" },
		{ "EXISTS a a nokey", ":2\r\n" },
		{ "RPUSH l x", ":1\r\n" },
		{ "GET l", WRONGTYPE },
		{ "GETSET l x", WRONGTYPE },
		{ "SET l x GET", WRONGTYPE },
		{ "INCR l", WRONGTYPE },
		{ "INCRBY l x", NOTINT },
		{ "APPEND l x", WRONGTYPE },
		{ "STRLEN l", WRONGTYPE },
		{ "MGET l a", "*2\r\n$-1\r\n$1\r\n1\r\n" },
		{ "SET l v", "+OK\r\n" },
	};

	(void)state;
	RUN(t);
}

static void test_cmd_lists(void **state)
{
	static const struct exchange t[] = {
		{ "LPUSH l", ARITY("lpush") },
		{ "LPUSH l a b c", ":3\r\n" },
		{ "RPUSH l d e", ":5\r\n" },
		{ "LLEN l", ":5\r\n" },
		{ "LLEN nokey", ":0\r\n" },
		{ "LRANGE l 0 -1", "*5\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nd\r\n$1\r\ne\r\n" },
		{ "LRANGE l 1 2", "*2\r\n$1\r\nb\r\n$1\r\na\r\n" },
		{ "LRANGE l -100 100", "*5\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nd\r\n$1\r\ne\r\n" },
		{ "LRANGE l 5 1", "*0\r\n" },
		{ "LRANGE l -1 -1", "*1\r\n$1\r\ne\r\n" },
		{ "LRANGE l a b", NOTINT },
		{ "LRANGE nokey 0 -1", "*0\r\n" },
		{ "LPOP l", "$1\r\nc\r\n" },
		{ "RPOP l", "$1\r\ne\r\n" },
		{ "LPOP l 2", "*2\r\n$1\r\nb\r\n$1\r\na\r\n" },
		{ "RPOP l 0", "*0\r\n" },
		{ "LPOP l -1", POSITIVE },
		{ "LPOP l abc", POSITIVE },
		{ "LPOP l 1 2", ARITY("lpop") },
		{ "LPOP l 100", "*1\r\n$1\r\nd\r\n" },
		{ "LPOP l", "$-1\r\n" },
		{ "LPOP nokey 2", "*-1\r\n" },
		{ "RPOP nokey 0", "*-1\r\n" },
		{ "RPUSH r 1 2 3", ":3\r\n" },
		{ "RPOP r 2", "*2\r\n$1\r\n3\r\n$1\r\n2\r\n" },
		{ "EXISTS l", ":0\r\n" },
		{ "SET s x", "+OK\r\n" },
		{ "LPUSH s x", WRONGTYPE },
		{ "LPOP s", WRONGTYPE },
		{ "LPOP s 0", WRONGTYPE },
		{ "LLEN s", WRONGTYPE },
		{ "LRANGE s 0 1", WRONGTYPE },
		{ "LRANGE s x y", NOTINT },
	};

	(void)state;
	RUN(t);
}

static void test_cmd_sets_hashes(void **state)
{
	static const struct exchange t[] = {
		{ "SADD st", ARITY("sadd") },
		{ "SADD st a b c a", ":3\r\n" },
		{ "SREM st a x", ":1\r\n" },
		{ "SCARD st", ":2\r\n" },
		{ "SCARD nokey", ":0\r\n" },
		{ "SISMEMBER st b", ":1\r\n" },
		{ "SISMEMBER st a", ":0\r\n" },
		{ "SISMEMBER nokey a", ":0\r\n" },
		{ "SPOP nokey", "$-1\r\n" },
		{ "SPOP nokey 3", "*0\r\n" },
		{ "SPOP st 0", "*0\r\n" },
		{ "SPOP st -1", POSITIVE },
		{ "SPOP st 1 2", SYNTAX },
		{ "SREM st b c", ":2\r\n" },
		{ "EXISTS st", ":0\r\n" },
		{ "SADD one m", ":1\r\n" },
		{ "SPOP one", "$1\r\nm\r\n" },
		{ "SADD two m", ":1\r\n" },
		{ "SPOP two 5", "*1\r\n$1\r\nm\r\n" },
		{ "EXISTS one two", ":0\r\n" },
		{ "HSET h f", ARITY("hset") },
		{ "HSET h f v g", ARITY("hset") },
		{ "HSET h f v", ":1\r\n" },
		{ "HSET h f v2 g w", ":1\r\n" },
		{ "HGET h f", "$2\r\nv2\r\n" },
		{ "HGET h x", "$-1\r\n" },
		{ "HGET nokey f", "$-1\r\n" },
		{ "HLEN h", ":2\r\n" },
		{ "HDEL h f x", ":1\r\n" },
		{ "HDEL nokey f", ":0\r\n" },
		{ "HDEL h g", ":1\r\n" },
		{ "EXISTS h", ":0\r\n" },
		{ "SET s x", "+OK\r\n" },
		{ "SADD s a", WRONGTYPE },
		{ "SREM s a", WRONGTYPE },
		{ "SCARD s", WRONGTYPE },
		{ "SISMEMBER s a", WRONGTYPE },
		{ "SPOP s", WRONGTYPE },
		{ "SPOP s 0", WRONGTYPE },
		{ "SPOP s x", POSITIVE },
		{ "HSET s a b", WRONGTYPE },
		{ "HGET s a", WRONGTYPE },
		{ "HDEL s a", WRONGTYPE },
		{ "HLEN s", WRONGTYPE },
	};

	(void)state;
	RUN(t);
}

static void test_cmd_zsets(void **state)
{
	static const struct exchange t[] = {
		{ "ZADD z 1", ARITY("zadd") },
		{ "ZADD zs 1 a", ":1\r\n" },
		{ "ZADD zs 2 b 1.5 c", ":2\r\n" },
		{ "ZADD zs x a", NOTFLOAT },
		{ "ZADD zs nan a", NOTFLOAT },
		{ "ZADD zs 1e400 a", NOTFLOAT },
		{ "ZADD zs 1 a 2", SYNTAX },
		{ "ZADD zs XX 1", SYNTAX },
		{ "ZADD zs NX XX 5 a", "-ERR XX and NX options at the same time are not compatible\r\n" },
		{ "ZADD zs GT LT 5 a", "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n" },
		{ "ZADD zs INCR 3 a 4 b", "-ERR INCR option supports a single increment-element pair\r\n" },
		{ "ZADD zs NX 5 a", ":0\r\n" },
		{ "ZADD zs XX 5 a", ":0\r\n" },
		{ "ZADD zs CH 3 a", ":1\r\n" },
		{ "ZADD zs INCR 3 a", "$1\r\n6\r\n" },
		{ "ZADD zs NX INCR 1 a", "$-1\r\n" },
		{ "ZADD zs GT CH 1 a", ":0\r\n" },
		{ "ZADD zs LT CH 1 a", ":1\r\n" },
		{ "ZADD zs inf d -inf e", ":2\r\n" },
		{ "ZADD zs INCR -inf d", "-ERR resulting score is not a number (NaN)\r\n" },
		{ "ZADD zs 0.1 f", ":1\r\n" },
		{ "ZCARD zs", ":6\r\n" },
		{ "ZCARD nokey", ":0\r\n" },
		{ "ZPOPMIN zs", "*2\r\n$1\r\ne\r\n$4\r\n-inf\r\n" },
		{ "ZPOPMIN zs 2", "*4\r\n$1\r\nf\r\n$19\r\n0.10000000000000001\r\n$1\r\na\r\n$1\r\n1\r\n" },
		{ "ZPOPMIN zs 0", "*0\r\n" },
		{ "ZPOPMIN zs -1", POSITIVE },
		{ "ZPOPMIN zs 1 2", SYNTAX },
		{ "ZPOPMIN nokey", "*0\r\n" },
		{ "ZPOPMIN zs 100", "*6\r\n$1\r\nc\r\n$3\r\n1.5\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nd\r\n$3\r\ninf\r\n" },
		{ "EXISTS zs", ":0\r\n" },
		{ "ZADD xx XX 1 a", ":0\r\n" },
		{ "EXISTS xx", ":0\r\n" },
		{ "ZADD t 1 b 1 a 0 z 1 B", ":4\r\n" },
		{ "ZPOPMIN t 4", "*8\r\n$1\r\nz\r\n$1\r\n0\r\n$1\r\nB\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n1\r\n" },
		{ "SET s x", "+OK\r\n" },
		{ "ZADD s 1 a", WRONGTYPE },
		{ "ZADD s x a", NOTFLOAT },
		{ "ZCARD s", WRONGTYPE },
		{ "ZPOPMIN s", WRONGTYPE },
		{ "ZPOPMIN s 0", WRONGTYPE },
	};

	(void)state;
	RUN(t);
}

static void test_cmd_keyspace_info(void **state)
{
	struct engine *e = engine_new();
	struct kv_client *c = kv_client_new(&e->srv), *c2 = kv_client_new(&e->srv);
	char *info;

	(void)state;
	expect(c, "DBSIZE", ":0\r\n");
	expect(c, "DBSIZE x", ARITY("dbsize"));
	expect(c, "MSET a 1 b 2", "+OK\r\n");
	expect(c, "SET t v EX 100", "+OK\r\n");
	expect(c, "DBSIZE", ":3\r\n");
	expect(c, "INFO keyspace", "$44\r\n# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\n\r\n");
	expect(c, "INFO foo", "$0\r\n\r\n");
	assert_int_equal(FEED(c, "INFO\r\n"), 0);
	info = take(c, NULL);
	assert_non_null(strstr(info, "# Server\r\nredis_version:7.0.15\r\n"));
	assert_non_null(strstr(info, "\r\nconnected_clients:2\r\n"));
	assert_non_null(strstr(info, "\r\nused_memory:"));
	assert_non_null(strstr(info, "\r\n\r\n# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\n"));
	free(info);
	expect(c, "FLUSHALL x", SYNTAX);
	expect(c, "FLUSHALL async", "+OK\r\n");
	expect(c, "DBSIZE", ":0\r\n");
	assert_int_equal(kv_db_expires(&e->srv.db), 0);
	expect(c, "INFO keyspace", "$12\r\n# Keyspace\r\n\r\n");
	kv_client_free(c2);
	kv_client_free(c);
	engine_free(e);
}

static void test_cmd_table(void **state)
{
	(void)state;
	for (size_t i = 1; i < kv_cmd_count(); i++)
		assert_true(strcmp(kv_cmd_table[i - 1].name, kv_cmd_table[i].name) < 0);
	assert_int_equal(kv_string2ll("9223372036854775807", 19, &(long long){ 0 }), 1);
	{
		long long v;

		assert_int_equal(kv_string2ll("-9223372036854775808", 20, &v), 1);
		assert_true(v == LLONG_MIN);
		assert_int_equal(kv_string2ll("-0", 2, &v), 0);
		assert_int_equal(kv_string2ll("9223372036854775808", 19, &v), 0);
		assert_int_equal(kv_string2ll("00000000000000000000001", 23, &v), 0);
	}
}

int main(void)
{
	const struct CMUnitTest commands[] = {
		cmocka_unit_test(test_cmd_connection),
		cmocka_unit_test(test_cmd_debug),
		cmocka_unit_test(test_cmd_strings),
		cmocka_unit_test(test_cmd_lists),
		cmocka_unit_test(test_cmd_sets_hashes),
		cmocka_unit_test(test_cmd_zsets),
		cmocka_unit_test(test_cmd_keyspace_info),
		cmocka_unit_test(test_cmd_table),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("commands", commands, NULL, NULL);
}
