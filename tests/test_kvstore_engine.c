/*
 * test_kvstore_engine.c - the kvstore engine (guest/kvstore,
 * host-compiled) without a network: its parser on input cut at every
 * byte, pipelines, inline commands, every limit, expiry on a clock the
 * test turns, and its data structures (dict, zset, list). Every
 * command's replies and errors are test_kvstore_commands.c; the
 * side-by-side tests against redis-server are test_kvstore_redis.c.
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


/* --- the parser -------------------------------------------------------------- */

/* A stream of every kind of request, and what Redis answers to it. */
static const char stream[] =
	"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n"
	"GET k\r\n"
	"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
	"incr n\n"
	"\r\n"
	"*0\r\n"
	"ECHO \"a b\\x41\"\r\n"
	"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"
	"*3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$10\r\n0123456789\r\n"
	"LRANGE l 0 -1\r\n"
	"*1\r\n$4\r\nPING\r\n";
static const char stream_reply[] =
	"+OK\r\n$5\r\nhello\r\n:1\r\n:2\r\n$4\r\na bA\r\n$0\r\n\r\n:1\r\n"
	"*1\r\n$10\r\n0123456789\r\n+PONG\r\n";

static void test_parser_split_at_every_byte(void **state)
{
	size_t len = sizeof(stream) - 1;

	(void)state;
	for (size_t cut = 0; cut <= len; cut++) {
		struct engine *e = engine_new();
		struct kv_client *c = kv_client_new(&e->srv);
		char *a, *b;
		size_t na, nb;

		assert_int_equal(kv_client_feed(c, stream, cut), 0);
		a = take(c, &na);
		assert_int_equal(kv_client_feed(c, stream + cut, len - cut), 0);
		b = take(c, &nb);
		if (na + nb != sizeof(stream_reply) - 1 ||
		    memcmp(a, stream_reply, na) ||
		    memcmp(b, stream_reply + na, nb)) {
			print_error("cut at %zu: got %s + %s\n", cut, show(a, na),
				    show(b, nb));
			fail();
		}
		free(a);
		free(b);
		kv_client_free(c);
		engine_free(e);
	}
}

static void test_parser_byte_by_byte(void **state)
{
	struct engine *e = engine_new();
	struct kv_client *c = kv_client_new(&e->srv);
	char out[1024];
	size_t o = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(stream) - 1; i++) {
		size_t n;
		char *got;

		assert_int_equal(kv_client_feed(c, stream + i, 1), 0);
		got = take(c, &n);
		assert_true(o + n < sizeof(out));
		memcpy(out + o, got, n);
		o += n;
		free(got);
	}
	assert_int_equal(o, sizeof(stream_reply) - 1);
	assert_memory_equal(out, stream_reply, o);
	kv_client_free(c);
	engine_free(e);
}

/* resp_parse() on one inline line: its arguments joined by '|'. */
static void inline_args(const char *line, const char *want)
{
	struct resp_parser p;
	char buf[256], got[256];
	size_t len = strlen(line), o = 0;
	struct resp_arg *argv;
	int ret;

	assert_true(len < sizeof(buf));
	memcpy(buf, line, len);
	resp_init(&p);
	ret = resp_parse(&p, buf, len);
	if (want == NULL) {
		assert_int_equal(ret, -EPROTO);
		assert_string_equal(p.err, "Protocol error: unbalanced quotes in request");
		resp_free(&p);
		return;
	}
	assert_int_equal(ret, 1);
	assert_int_equal(p.pos, len);
	argv = resp_args(&p, buf);
	got[0] = '\0';
	for (size_t i = 0; i < p.argc; i++)
		o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%.*s",
				      i ? "|" : "", (int)argv[i].len, argv[i].p);
	if (strcmp(got, want)) {
		print_error("line %s: want %s got %s\n", show(line, len), want, got);
		fail();
	}
	resp_free(&p);
}

static void test_parser_inline(void **state)
{
	(void)state;
	inline_args("PING\r\n", "PING");
	inline_args("PING\n", "PING");
	inline_args("  set  a   b  \r\n", "set|a|b");
	inline_args("set a \"b c\"\r\n", "set|a|b c");
	inline_args("echo \"\\x41\\x4a\\n\"\r\n", "echo|AJ\n");
	inline_args("echo \"\\xzz\"\r\n", "echo|xzz");
	inline_args("echo \"a\\\"b\"\r\n", "echo|a\"b");
	inline_args("echo 'it\\'s'\r\n", "echo|it's");
	inline_args("echo 'a\\nb'\r\n", "echo|a\\nb");
	inline_args("echo a\"b\"\r\n", "echo|ab");
	inline_args("echo \"\" ''\r\n", "echo||");
	inline_args("echo a\tb\r\n", "echo|a|b");
	inline_args("echo a\rb\n", "echo|a|b");
	inline_args("echo \"a\"\t\r\n", "echo|a");
	inline_args("\r\n", "");
	inline_args("   \r\n", "");
	inline_args("echo \"unbalanced\r\n", NULL);
	inline_args("echo \"a\"b\r\n", NULL);
	inline_args("echo 'a'b\r\n", NULL);
	inline_args("echo 'it''s'\r\n", NULL);
	inline_args("echo \"ends in a backslash\\\r\n", NULL);
}

/* A request that needs more: resp_parse() says 0 after every prefix. */
static void test_parser_partial_and_quirks(void **state)
{
	static const char req[] = "*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n";
	struct engine *e = engine_new();
	struct kv_client *c = kv_client_new(&e->srv);
	struct resp_parser p;
	char buf[64];

	(void)state;
	for (size_t n = 1; n < sizeof(req) - 1; n++) {
		memcpy(buf, req, n);
		resp_init(&p);
		assert_int_equal(resp_parse(&p, buf, n), 0);
		resp_free(&p);
	}
	/* the two bytes after a bulk are not checked, the byte after a
	 * header's CR neither: as Redis */
	EXPECT_RAW(c, "*2\r\n$4\r\nECHO\r\n$3\r\nabcXY", "$3\r\nabc\r\n");
	EXPECT_RAW(c, "*1\rX$4\rXPING\r\n", "+PONG\r\n");
	/* counts <= 0 are skipped without a reply */
	EXPECT_RAW(c, "*0\r\n*-1\r\nPING\r\n", "+PONG\r\n");
	/* a NUL before a line's end hides it, as strchr() does in Redis */
	EXPECT_RAW(c, "ECHO a\0b\r\n", "");
	assert_true(kv_client_query_len(c) == 10);
	kv_client_free(c);
	c = kv_client_new(&e->srv);
	/* binary bulks */
	expect_rawn(c, "*2\r\n$4\r\nECHO\r\n$3\r\na\0b\r\n", 23,
		    "$3\r\na\0b\r\n", 9);
	kv_client_free(c);
	engine_free(e);
}

/* Protocol errors: Redis's text, then the client is done (closed after
 * the reply) and reads nothing more. */
static void expect_proto_error(const char *in, size_t len, const char *want)
{
	struct engine *e = engine_new();
	struct kv_client *c = kv_client_new(&e->srv);

	expect_raw(c, in, len, want);
	assert_true(kv_client_done(c));
	assert_false(kv_client_wants_input(c));
	EXPECT_RAW(c, "PING\r\n", "");
	kv_client_free(c);
	engine_free(e);
}

#define PROTO(in, want)	expect_proto_error(in, sizeof(in) - 1, want)

static void test_parser_protocol_errors(void **state)
{
	(void)state;
	PROTO("*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n");
	PROTO("*\r\n", "-ERR Protocol error: invalid multibulk length\r\n");
	PROTO("*01\r\n", "-ERR Protocol error: invalid multibulk length\r\n");
	PROTO("*2147483648\r\n", "-ERR Protocol error: invalid multibulk length\r\n");
	PROTO("*1\r\n+PING\r\n", "-ERR Protocol error: expected '$', got '+'\r\n");
	PROTO("*1\r\n\n$4\r\n", "-ERR Protocol error: expected '$', got ' '\r\n");
	PROTO("*1\r\n$-1\r\n", "-ERR Protocol error: invalid bulk length\r\n");
	PROTO("*1\r\n$04\r\n", "-ERR Protocol error: invalid bulk length\r\n");
	PROTO("*1\r\n$1073741824\r\n", "-ERR Protocol error: invalid bulk length\r\n");
	PROTO("set a \"b\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n");
	/* replies to what came before the error are sent first */
	PROTO("PING\r\n*1\r\n$x\r\n",
	      "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n");
}

/* Feed n bytes of filler (no line end) after prefix: the error, or none. */
static void expect_line_limit(const char *prefix, size_t filler,
			      const char *want)
{
	struct engine *e = engine_new();
	struct kv_client *c = kv_client_new(&e->srv);
	size_t plen = strlen(prefix);
	char *in = malloc(plen + filler);

	assert_non_null(in);
	memcpy(in, prefix, plen);
	memset(in + plen, 'x', filler);
	expect_raw(c, in, plen + filler, want);
	assert_int_equal(kv_client_done(c), want[0] != '\0');
	free(in);
	kv_client_free(c);
	engine_free(e);
}

static void test_limit_lines(void **state)
{
	(void)state;
	/* up to RESP_INLINE_MAX without an end: waiting; one more: error */
	expect_line_limit("", RESP_INLINE_MAX, "");
	expect_line_limit("", RESP_INLINE_MAX + 1,
			  "-ERR Protocol error: too big inline request\r\n");
	expect_line_limit("*", RESP_INLINE_MAX - 1, "");
	expect_line_limit("*", RESP_INLINE_MAX,
			  "-ERR Protocol error: too big mbulk count string\r\n");
	expect_line_limit("*1\r\n$", RESP_INLINE_MAX - 1, "");
	expect_line_limit("*1\r\n$", RESP_INLINE_MAX,
			  "-ERR Protocol error: too big bulk count string\r\n");
}

static void test_limit_bulk_and_args(void **state)
{
	struct engine *e = engine_new();
	struct kv_client *c = kv_client_new(&e->srv);
	char req[64];
	int n;

	(void)state;
	/* at the limit: accepted, waiting for the bytes */
	n = snprintf(req, sizeof(req), "*2\r\n$4\r\nECHO\r\n$%u\r\n", RESP_BULK_MAX);
	expect_raw(c, req, (size_t)n, "");
	assert_false(kv_client_done(c));
	kv_client_free(c);
	c = kv_client_new(&e->srv);
	n = snprintf(req, sizeof(req), "*2\r\n$4\r\nECHO\r\n$%u\r\n",
		     RESP_BULK_MAX + 1);
	expect_raw(c, req, (size_t)n, "-ERR Protocol error: invalid bulk length\r\n");
	assert_true(kv_client_done(c));
	kv_client_free(c);

	c = kv_client_new(&e->srv);
	n = snprintf(req, sizeof(req), "*%u\r\n", RESP_ARGS_MAX);
	expect_raw(c, req, (size_t)n, "");
	assert_false(kv_client_done(c));
	/* a count commits no memory: the parser reserved a small array */
	assert_true(c->req.argv_cap <= 1024);
	kv_client_free(c);
	c = kv_client_new(&e->srv);
	n = snprintf(req, sizeof(req), "*%u\r\n", RESP_ARGS_MAX + 1);
	expect_raw(c, req, (size_t)n,
		   "-ERR Protocol error: invalid multibulk length\r\n");
	kv_client_free(c);
	engine_free(e);
}

/* A full 8 MiB value goes in and comes out whole; one byte more of
 * APPEND is refused with Redis's text. */
static void test_limit_big_value(void **state)
{
	struct engine *e = engine_new();
	struct kv_client *c = kv_client_new(&e->srv);
	size_t n = RESP_BULK_MAX, hdr;
	char *req = malloc(n + 64), *got;
	size_t glen;

	(void)state;
	assert_non_null(req);
	hdr = (size_t)sprintf(req, "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$%zu\r\n", n);
	memset(req + hdr, 'v', n);
	memcpy(req + hdr + n, "\r\n", 2);
	/* in pieces, as TCP brings it */
	for (size_t off = 0; off < hdr + n + 2; off += 1460) {
		size_t piece = hdr + n + 2 - off < 1460 ? hdr + n + 2 - off : 1460;

		assert_int_equal(kv_client_feed(c, req + off, piece), 0);
	}
	got = take(c, &glen);
	assert_string_equal(got, "+OK\r\n");
	free(got);
	expect(c, "STRLEN b", ":8388608\r\n");
	expect(c, "APPEND b x",
	       "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
	assert_int_equal(FEED(c, "GET b\r\nPING\r\n"), 0);
	/* the 8 MiB reply pauses the client: PING waits for it to go */
	assert_true(kv_client_paused(c));
	got = take(c, &glen);
	assert_int_equal(glen, 12 + n);	/* "$8388608\r\n" ... "\r\n" */
	assert_memory_equal(got, "$8388608\r\nvvv", 13);
	free(got);
	got = take(c, &glen);
	assert_string_equal(got, "+PONG\r\n");
	free(got);
	kv_client_free(c);
	free(req);
	engine_free(e);
}

/* Past KV_QUERY_MAX of input held, the client is dead (closed with no
 * reply, as Redis past client-query-buffer-limit). */
static void test_limit_query_buffer(void **state)
{
	struct engine *e = engine_new();
	struct kv_client *c = kv_client_new(&e->srv);
	static char chunk[1 << 16];
	size_t fed = 0;
	int ret = 0;

	(void)state;
	/* a request that cannot fit: two 8 MiB bulks and their headers */
	ret = FEED(c, "*3\r\n$4\r\nECHO\r\n$8388608\r\n");
	fed = 24;
	memset(chunk, 'y', sizeof(chunk));
	while (ret == 0 && fed < 2 * KV_QUERY_MAX) {
		size_t piece = sizeof(chunk);

		/* the first bulk's end, and the second's header */
		if (fed < 24 + (8u << 20) && fed + piece > 24 + (8u << 20))
			piece = 24 + (8u << 20) - fed;
		if (fed == 24 + (8u << 20)) {
			ret = FEED(c, "\r\n$8388608\r\n");
			fed += 12;
			continue;
		}
		ret = kv_client_feed(c, chunk, piece);
		fed += piece;
		assert_false(kv_client_done(c));
		assert_true(kv_client_query_len(c) <= KV_QUERY_MAX);
		assert_true(c->qcap <= KV_QUERY_MAX);
	}
	assert_int_equal(ret, -ENOBUFS);
	assert_true(kv_client_dead(c));
	assert_true(fed > KV_QUERY_MAX);
	kv_client_free(c);
	engine_free(e);
}

/* One reply past KV_REPLY_MAX kills the client; the keyspace lives on. */
static void test_limit_reply(void **state)
{
	struct engine *e = engine_new();
	struct kv_client *c = kv_client_new(&e->srv);
	size_t mib = 1u << 20;
	char *v = malloc(mib + 1);
	char *got;

	(void)state;
	assert_non_null(v);
	memset(v, 'z', mib);
	v[mib] = '\0';
	for (unsigned i = 0; i < KV_REPLY_MAX / mib + 2; i++) {
		const char *argv[] = { "RPUSH", "big", v };
		char *req = malloc(mib + 64);

		assert_non_null(req);
		assert_int_equal(kv_client_feed(c, req, encode(req, mib + 64, 3, argv)), 0);
		free(take(c, NULL));
		free(req);
	}
	EXPECT_RAW(c, "LRANGE big 0 -1\r\n", "");
	assert_true(kv_client_dead(c));
	kv_client_free(c);
	c = kv_client_new(&e->srv);
	expect(c, "LLEN big", ":34\r\n");
	got = take(c, NULL);
	free(got);
	kv_client_free(c);
	free(v);
	engine_free(e);
}

/* A client that sends and never reads: its commands stop once
 * KV_REPLY_PAUSE waits, its input piles up to KV_QUERY_MAX, then it is
 * dead; its memory never passes the limits. */
static void test_flood_without_reading(void **state)
{
	struct engine *e = engine_new();
	struct kv_client *c = kv_client_new(&e->srv);
	char *v = malloc(100001), pipe[16 * 1024];
	size_t plen = 0, max_out = 0;
	int ret = 0;

	(void)state;
	assert_non_null(v);
	memset(v, 'f', 100000);
	v[100000] = '\0';
	{
		const char *argv[] = { "SET", "f", v };
		char *req = malloc(100100);

		assert_non_null(req);
		kv_client_feed(c, req, encode(req, 100100, 3, argv));
		free(req);
	}
	free(take(c, NULL));
	while (plen + 13 < sizeof(pipe)) {
		memcpy(pipe + plen, "GET f\r\n", 7);
		plen += 7;
	}
	for (int i = 0; ret == 0 && i < 4096; i++) {
		size_t out;

		ret = kv_client_feed(c, pipe, plen);
		kv_client_output(c, &out);
		if (out > max_out)
			max_out = out;
	}
	assert_int_equal(ret, -ENOBUFS);
	/* output: below the pause, plus the one reply that crossed it */
	assert_true(max_out < KV_REPLY_PAUSE + 100000 + 64);
	assert_true(kv_client_query_len(c) <= KV_QUERY_MAX);
	kv_client_free(c);
	free(v);
	engine_free(e);
}

/* Output waits: the client pauses, and goes on when it is taken. */
static void test_pipeline_pause_resume(void **state)
{
	struct engine *e = engine_new();
	struct kv_client *c = kv_client_new(&e->srv);
	static char pipe[20000 * 6];
	size_t plen = 0, total = 0, rounds = 0;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		memcpy(pipe + plen, "PING\r\n", 6);
		plen += 6;
	}
	assert_int_equal(kv_client_feed(c, pipe, plen), 0);
	assert_true(kv_client_paused(c));
	assert_false(kv_client_wants_input(c));
	while (total < 20000 * 7) {
		size_t n;
		char *got = take(c, &n);

		assert_true(n > 0);
		for (size_t i = 0; i < n; i += 7)
			assert_memory_equal(got + i, "+PONG\r\n", 7);
		total += n;
		rounds++;
		free(got);
	}
	assert_int_equal(total, 20000 * 7);
	assert_true(rounds > 1);
	assert_true(kv_client_wants_input(c));
	assert_int_equal(kv_client_query_len(c), 0);
	kv_client_free(c);
	engine_free(e);
}

/* KV_MAX_CLIENTS at once; the next is refused and counted. */
static void test_limit_clients(void **state)
{
	struct engine *e = engine_new();
	struct kv_client *c[KV_MAX_CLIENTS];
	char *info;

	(void)state;
	for (int i = 0; i < KV_MAX_CLIENTS; i++) {
		assert_int_equal(kv_server_admit(&e->srv), 0);
		c[i] = kv_client_new(&e->srv);
	}
	assert_int_equal(kv_server_admit(&e->srv), -EMFILE);
	FEED(c[0], "INFO stats\r\nINFO clients\r\n");
	info = take(c[0], NULL);
	assert_non_null(strstr(info, "\r\nrejected_connections:1\r\n"));
	assert_non_null(strstr(info, "\r\nconnected_clients:128\r\n"));
	free(info);
	kv_client_free(c[1]);
	assert_int_equal(kv_server_admit(&e->srv), 0);
	c[1] = kv_client_new(&e->srv);
	for (int i = 0; i < KV_MAX_CLIENTS; i++)
		kv_client_free(c[i]);
	assert_int_equal(e->srv.clients, 0);
	engine_free(e);
}

/* --- expiry on the test's clock ---------------------------------------------- */

static void test_expiry_lazy(void **state)
{
	struct engine *e = engine_new();
	struct kv_client *c = kv_client_new(&e->srv);

	(void)state;
	expect(c, "SET k v PX 100", "+OK\r\n");
	expect(c, "SET s v EX 2", "+OK\r\n");
	assert_int_equal(kv_db_expires(&e->srv.db), 2);
	e->now += 100;			/* at the deadline: still there */
	expect(c, "GET k", "$1\r\nv\r\n");
	e->now += 1;			/* past it */
	expect(c, "DBSIZE", ":2\r\n");	/* not removed until touched */
	expect(c, "GET k", "$-1\r\n");
	expect(c, "DBSIZE", ":1\r\n");
	assert_int_equal(e->srv.db.expired_keys, 1);
	expect(c, "EXISTS s", ":1\r\n");
	e->now += 2000;
	expect(c, "EXISTS s", ":0\r\n");
	expect(c, "DEL s", ":0\r\n");
	assert_int_equal(kv_db_expires(&e->srv.db), 0);
	/* every kind of access expires: writes too */
	expect(c, "SET a 5 PX 10", "+OK\r\n");
	e->now += 11;
	expect(c, "INCR a", ":1\r\n");
	expect(c, "RPUSH l x", ":1\r\n");
	expect(c, "SET l v PX 10", "+OK\r\n");
	e->now += 11;
	expect(c, "LPUSH l y", ":1\r\n");
	expect(c, "SET k v PX 10", "+OK\r\n");
	e->now += 11;
	expect(c, "SET k w XX", "$-1\r\n");
	expect(c, "SET k w NX", "+OK\r\n");
	kv_client_free(c);
	engine_free(e);
}

static void test_expiry_ttl_kept_or_dropped(void **state)
{
	struct engine *e = engine_new();
	struct kv_client *c = kv_client_new(&e->srv);

	(void)state;
	/* SET without KEEPTTL, GETSET and MSET drop the expire time */
	expect(c, "SET a v PX 100", "+OK\r\n");
	expect(c, "SET a w", "+OK\r\n");
	expect(c, "SET b v PX 100", "+OK\r\n");
	expect(c, "GETSET b w", "$1\r\nv\r\n");
	expect(c, "SET m v PX 100", "+OK\r\n");
	expect(c, "MSET m w", "+OK\r\n");
	/* KEEPTTL, INCR and APPEND keep it */
	expect(c, "SET k v PX 100", "+OK\r\n");
	expect(c, "SET k w KEEPTTL", "+OK\r\n");
	expect(c, "SET n 1 PX 100", "+OK\r\n");
	expect(c, "INCR n", ":2\r\n");
	expect(c, "SET p x PX 100", "+OK\r\n");
	expect(c, "APPEND p y", ":2\r\n");
	assert_int_equal(kv_db_expires(&e->srv.db), 3);
	e->now += 101;
	expect(c, "MGET a b m k n p", "*6\r\n$1\r\nw\r\n$1\r\nw\r\n$1\r\nw\r\n"
	       "$-1\r\n$-1\r\n$-1\r\n");
	expect(c, "DBSIZE", ":3\r\n");
	/* KEEPTTL on a key that expired already: it has none */
	expect(c, "SET q v PX 10", "+OK\r\n");
	e->now += 11;
	assert_int_equal(kv_db_expires(&e->srv.db), 1);
	kv_db_set(&e->srv.db, "q", 1, kv_obj_new(KV_STRING, kv_str_new("w", 1),
						 test_seed), true);
	assert_int_equal(kv_db_expires(&e->srv.db), 0);
	expect(c, "GET q", "$1\r\nw\r\n");
	kv_client_free(c);
	engine_free(e);
}

/* The cron removes expired keys nobody reads; the others stay. */
static void test_expiry_active_sweep(void **state)
{
	struct engine *e = engine_new();
	struct kv_client *c = kv_client_new(&e->srv);
	char req[128];
	int rounds = 0;

	(void)state;
	for (int i = 0; i < 2000; i++) {
		int n = snprintf(req, sizeof(req), "SET t%d v PX %d\r\nSET p%d v\r\n",
				 i, 10 + (i % 2) * 1000000, i);

		assert_int_equal(kv_client_feed(c, req, (size_t)n), 0);
		free(take(c, NULL));
	}
	assert_int_equal(kv_db_size(&e->srv.db), 4000);
	assert_int_equal(kv_db_expires(&e->srv.db), 2000);
	e->now += 11;			/* half of the t keys are past */
	while (kv_db_size(&e->srv.db) > 3000 && rounds < 2000) {
		kv_server_cron(&e->srv);
		rounds++;
	}
	print_message("sweep: 1000 expired keys gone after %d cron runs\n", rounds);
	assert_int_equal(kv_db_size(&e->srv.db), 3000);
	assert_int_equal(kv_db_expires(&e->srv.db), 1000);
	assert_int_equal(e->srv.db.expired_keys, 1000);
	/* one run costs a bounded number of samples, even when all expired */
	e->now += 2000000;
	assert_true(kv_db_sweep(&e->srv.db) <= KV_EXPIRE_SAMPLE * KV_EXPIRE_ROUNDS);
	expect(c, "GET p7", "$1\r\nv\r\n");
	kv_client_free(c);
	engine_free(e);
}

/* --- the data structures ------------------------------------------------------- */

static void test_dict_grow_shrink_random(void **state)
{
	struct kv_dict d;
	struct kv_dict_iter it = { 0 };
	char key[32];
	uint64_t rng = 7;
	size_t seen = 0;

	(void)state;
	kv_dict_init(&d, test_seed);
	for (int i = 0; i < 50000; i++) {
		bool created;
		struct kv_dict_entry *en;

		snprintf(key, sizeof(key), "key:%d", i);
		en = kv_dict_add(&d, key, strlen(key), &created);
		assert_true(created);
		en->val.d = i;
		/* everything added so far is found mid-rehash too */
		if (i % 997 == 0) {
			for (int j = 0; j <= i; j += 101) {
				snprintf(key, sizeof(key), "key:%d", j);
				assert_non_null(kv_dict_find(&d, key, strlen(key)));
			}
		}
	}
	assert_int_equal(kv_dict_size(&d), 50000);
	while (kv_dict_next(&d, &it))
		seen++;
	assert_int_equal(seen, 50000);
	for (int i = 0; i < 1000; i++) {
		struct kv_dict_entry *en = kv_dict_random(&d, &rng);
		int v = (int)en->val.d;

		snprintf(key, sizeof(key), "key:%d", v);
		assert_int_equal(en->keylen, strlen(key));
		assert_memory_equal(en->key, key, en->keylen);
	}
	for (int i = 0; i < 49990; i++) {
		union kv_val old;

		snprintf(key, sizeof(key), "key:%d", i);
		assert_true(kv_dict_delete(&d, key, strlen(key), &old));
		assert_true(old.d == i);
		assert_false(kv_dict_delete(&d, key, strlen(key), NULL));
	}
	assert_int_equal(kv_dict_size(&d), 10);
	/* shrunk: a random pick still finds one of the ten quickly */
	for (int i = 0; i < 100; i++)
		assert_true(kv_dict_random(&d, &rng)->val.d >= 49990);
	assert_true(d.t[0].size + d.t[1].size < 1024);
	kv_dict_clear(&d, NULL);
	assert_int_equal(kv_dict_size(&d), 0);
}

static void test_zset_order(void **state)
{
	struct kv_zset *z = kv_zset_new(test_seed);
	uint64_t rng = 99, pick = 12345;
	double last = -INFINITY;
	char key[32];

	(void)state;
	for (int i = 0; i < 5000; i++) {
		int out;
		double ns;

		snprintf(key, sizeof(key), "m%d", i);
		assert_int_equal(kv_zset_add(z, (double)(kv_rand(&pick) % 1000),
					     key, strlen(key), 0, &out, &ns, &rng), 1);
	}
	/* re-score a third of them */
	for (int i = 0; i < 5000; i += 3) {
		int out;
		double ns;

		snprintf(key, sizeof(key), "m%d", i);
		kv_zset_add(z, 500.5, key, strlen(key), KV_ZADD_IN_XX, &out, &ns, &rng);
	}
	assert_int_equal(kv_zset_card(z), 5000);
	while (kv_zset_first(z)) {
		const struct kv_zset_node *n = kv_zset_first(z);

		assert_true(n->score >= last);
		last = n->score;
		kv_zset_delete_first(z);
	}
	assert_int_equal(kv_zset_card(z), 0);
	kv_zset_free(z);
}

static void test_list_ring(void **state)
{
	struct kv_list *l = kv_list_new();
	char v[16];

	(void)state;
	for (int i = 0; i < 1000; i++) {
		snprintf(v, sizeof(v), "%d", i);
		if (i % 2)
			kv_list_push_head(l, kv_str_new(v, strlen(v)));
		else
			kv_list_push_tail(l, kv_str_new(v, strlen(v)));
	}
	assert_int_equal(l->len, 1000);
	assert_string_equal(kv_list_at(l, 0)->data, "999");
	assert_string_equal(kv_list_at(l, 999)->data, "998");
	for (int i = 0; i < 990; i++)
		kv_str_free(i % 2 ? kv_list_pop_head(l) : kv_list_pop_tail(l));
	assert_int_equal(l->len, 10);
	assert_true(l->cap <= 64);
	kv_list_free(l);
}

int main(void)
{
	const struct CMUnitTest engine[] = {
		cmocka_unit_test(test_parser_split_at_every_byte),
		cmocka_unit_test(test_parser_byte_by_byte),
		cmocka_unit_test(test_parser_inline),
		cmocka_unit_test(test_parser_partial_and_quirks),
		cmocka_unit_test(test_parser_protocol_errors),
		cmocka_unit_test(test_limit_lines),
		cmocka_unit_test(test_limit_bulk_and_args),
		cmocka_unit_test(test_limit_big_value),
		cmocka_unit_test(test_limit_query_buffer),
		cmocka_unit_test(test_limit_reply),
		cmocka_unit_test(test_flood_without_reading),
		cmocka_unit_test(test_pipeline_pause_resume),
		cmocka_unit_test(test_limit_clients),
		cmocka_unit_test(test_expiry_lazy),
		cmocka_unit_test(test_expiry_ttl_kept_or_dropped),
		cmocka_unit_test(test_expiry_active_sweep),
		cmocka_unit_test(test_dict_grow_shrink_random),
		cmocka_unit_test(test_zset_order),
		cmocka_unit_test(test_list_ring),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("engine", engine, NULL, NULL);
}
