/*
 * kv_engine_test.h - the kvstore engine (guest/kvstore, host-compiled)
 * on a clock the test turns, and requests with their whole expected
 * reply: what test_kvstore_engine and test_kvstore_commands share. It
 * uses cmocka (a wrong reply fails the test), so no benchmark links it.
 */
#ifndef KV_ENGINE_TEST_H
#define KV_ENGINE_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "kv_client.h"
#include "kv_server.h"

struct engine {
	struct kv_server srv;
	uint64_t now;			/* ms; the test moves it */
};

/* An engine at guest time 1,000,000 ms, the tests' seed. */
struct engine *engine_new(void);
void engine_free(struct engine *e);

/* Take all of c's output (as a NUL-terminated malloc'd copy). */
char *take(struct kv_client *c, size_t *len);
/* Bytes as a C literal, for failure messages (one of 4 static buffers). */
const char *show(const char *p, size_t len);
/* One request of words as RESP into out (cap bytes); its length. */
size_t encode(char *out, size_t cap, int argc, const char *const *argv);
/* Feed raw bytes; the whole output must be want (wlen bytes). */
void expect_rawn(struct kv_client *c, const char *in, size_t inlen,
		 const char *want, size_t wlen);
void expect_raw(struct kv_client *c, const char *in, size_t inlen,
		const char *want);
/* A command given as a space-separated list of words (no quoting; ''
 * is an empty argument); its whole reply must be want. */
void expect(struct kv_client *c, const char *words, const char *want);

/* A string literal's bytes, NULs included. */
#define FEED(c, lit)		kv_client_feed(c, lit, sizeof(lit) - 1)
#define EXPECT_RAW(c, lit, want) expect_raw(c, lit, sizeof(lit) - 1, want)

#endif
