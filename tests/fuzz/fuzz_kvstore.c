/*
 * fuzz_kvstore.c - the whole kvstore engine (guest/kvstore: the client,
 * the parser, every command, the keyspace, expiry) fed a client's byte
 * stream, on a clock the input turns, the way its transport drives it:
 * bytes in while it wants input, output taken in pieces (or not at all
 * for a while, so that it holds requests back), the cron between reads.
 *
 * Input: one byte that seeds the schedule (read sizes of 1 to 512 bytes,
 * how much output is taken, how far the clock moves, when the cron
 * runs), then the bytes the client sends.
 *
 * Checked beyond no crash and no leak: the memory bounds of kv_client.h
 * hold at every step (input held at most KV_QUERY_MAX, output waiting at
 * most KV_REPLY_MAX, neither buffer past twice its limit, the parser's
 * argument array bounded by what was read, not by a count announced);
 * a client that wants input has run every whole request it holds;
 * and everything it sends is a sequence of well-formed RESP2 replies
 * (status and error lines without CR or LF inside, integers in Redis's
 * form, bulk strings of their length, arrays of their count).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "kv_client.h"
#include "kv_server.h"
#include "kv_util.h"
#include "resp.h"

#define DEPTH_MAX	8

struct sched {
	uint32_t rng;
};

static uint32_t next(struct sched *s, uint32_t n)
{
	s->rng = s->rng * 1103515245u + 12345u;
	return (s->rng >> 8) % n;
}

static uint64_t fake_clock(void *arg)
{
	return *(uint64_t *)arg;
}

/* One RESP2 reply at p[0, n): its size, 0 when not all of it is there,
 * -1 when malformed. */
static long reply_size(const char *p, size_t n, int depth)
{
	const char *cr;
	size_t line;
	long long v;
	long size, sub;

	if (!n)
		return 0;
	cr = memchr(p, '\r', n);
	if (!cr) {
		/* no LF before the CR either */
		return memchr(p, '\n', n) ? -1 : 0;
	}
	line = (size_t)(cr - p);
	if (line + 2 > n)
		return 0;
	if (cr[1] != '\n' || memchr(p, '\n', line))
		return -1;
	size = (long)line + 2;
	switch (p[0]) {
	case '+':
		return size;
	case '-':
		return line > 1 ? size : -1;
	case ':':
		return kv_string2ll(p + 1, line - 1, &v) ? size : -1;
	case '$':
		if (!kv_string2ll(p + 1, line - 1, &v) || v < -1)
			return -1;
		if (v == -1)
			return size;
		if (n - (size_t)size < (size_t)v + 2)
			return 0;
		if (p[size + v] != '\r' || p[size + v + 1] != '\n')
			return -1;
		return size + (long)v + 2;
	case '*':
		if (!kv_string2ll(p + 1, line - 1, &v) || v < -1 ||
		    depth >= DEPTH_MAX)
			return -1;
		for (long long i = 0; i < v; i++) {
			sub = reply_size(p + size, n - (size_t)size, depth + 1);
			if (sub <= 0)
				return sub;
			size += sub;
		}
		return size;
	default:
		return -1;
	}
}

struct transcript {
	char *b;			/* output taken, not yet checked */
	size_t len, cap;
};

/* Take n bytes of output into t and check every reply that is whole. */
static void take(struct transcript *t, const char *out, size_t n)
{
	size_t done = 0;
	long r;

	if (t->len + n > t->cap) {
		t->cap = (t->len + n) * 2;
		t->b = realloc(t->b, t->cap);
		FUZZ_CHECK(t->b != NULL);
	}
	memcpy(t->b + t->len, out, n);
	t->len += n;
	while ((r = reply_size(t->b + done, t->len - done, 0)) > 0)
		done += (size_t)r;
	FUZZ_CHECK(r == 0);
	memmove(t->b, t->b + done, t->len - done);
	t->len -= done;
}

static void check_bounds(const struct kv_client *c)
{
	FUZZ_CHECK(kv_client_query_len(c) <= KV_QUERY_MAX);
	FUZZ_CHECK(c->qpos <= c->qlen && c->qlen <= c->qcap);
	FUZZ_CHECK(c->qcap <= 2 * KV_QUERY_MAX);
	FUZZ_CHECK(kv_reply_pending(&c->reply) <= KV_REPLY_MAX);
	FUZZ_CHECK(c->reply.cap <= 2 * KV_REPLY_MAX);
	FUZZ_CHECK(c->req.argv_cap <= 1024 ||
		   c->req.argv_cap <= 2 * c->req.argc);
}

/* A client that wants input holds no whole request. */
static void check_ran_all(const struct kv_client *c)
{
	size_t n = kv_client_query_len(c);
	struct resp_parser p;
	char *copy;

	if (!n || !kv_client_wants_input(c))
		return;
	copy = malloc(n);
	FUZZ_CHECK(copy != NULL);
	memcpy(copy, c->qbuf + c->qpos, n);
	resp_init(&p);
	FUZZ_CHECK(resp_parse(&p, copy, n) == 0);
	resp_free(&p);
	free(copy);
}

int fuzz_kvstore(const uint8_t *data, size_t size)
{
	static const uint64_t seed[2] = { 0x0123456789abcdefull,
					  0xfedcba9876543210ull };
	struct fuzz_in in = { data, size };
	struct sched s = { fuzz_u8(&in) * 2654435761u + 7 };
	const uint8_t *bytes = in.p;
	size_t total = in.left, fed = 0;
	struct transcript t = { 0 };
	uint64_t now = 1000000;
	struct kv_server srv;
	struct kv_client *c;

	kv_server_init(&srv, fake_clock, &now, seed, 6379);
	c = kv_client_new(&srv);
	for (;;) {
		bool fed_now = false;
		const char *out;
		size_t n;

		if (kv_client_dead(c))
			break;			/* closed at once */
		if (kv_client_done(c) && !kv_reply_pending(&c->reply))
			break;			/* closed once sent */
		if (fed < total && kv_client_wants_input(c)) {
			n = 1 + next(&s, 512);
			if (n > total - fed)
				n = total - fed;
			kv_client_feed(c, bytes + fed, n);
			fed += n;
			fed_now = true;
		}
		check_bounds(c);
		check_ran_all(c);

		/* the transport sends all of the output, or after a read
		 * some or (for a while) none of it */
		out = kv_client_output(c, &n);
		if (fed_now && n) {
			switch (next(&s, 4)) {
			case 0:
				n = 0;
				break;
			case 1:
				n = 1 + next(&s, n < 65536 ? (uint32_t)n : 65536);
				break;
			}
		}
		if (n) {
			take(&t, out, n);
			kv_client_consume(c, n);
			kv_client_run(c);
			check_bounds(c);
		}
		if (!fed_now && !n)
			break;			/* nothing more will happen */

		/* time passes, and the cron runs now and then */
		switch (next(&s, 8)) {
		case 0:
			now += 1000000;		/* past every TTL given */
			break;
		case 1:
		case 2:
			now += next(&s, 3000);
			break;
		}
		if (next(&s, 4) == 0)
			kv_server_cron(&srv);
	}
	/* what was sent ends with a whole reply, unless it is cut off */
	if (!kv_client_dead(c))
		FUZZ_CHECK(t.len == 0);
	kv_client_free(c);
	kv_server_free(&srv);
	free(t.b);
	return 0;
}
