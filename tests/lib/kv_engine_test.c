/*
 * kv_engine_test.c - the kvstore engine on a clock the test turns
 * (kv_engine_test.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kv_engine_test.h"
#include "kv_test.h"

static uint64_t engine_clock(void *arg)
{
	return *(uint64_t *)arg;
}

struct engine *engine_new(void)
{
	struct engine *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->now = 1000000;
	kv_server_init(&e->srv, engine_clock, &e->now, test_seed, 6379);
	return e;
}

void engine_free(struct engine *e)
{
	kv_server_free(&e->srv);
	free(e);
}

/* Take all of c's output (as a NUL-terminated malloc'd copy). */
char *take(struct kv_client *c, size_t *len)
{
	size_t n;
	const char *out = kv_client_output(c, &n);
	char *copy = malloc(n + 1);

	assert_non_null(copy);
	memcpy(copy, out, n);
	copy[n] = '\0';
	kv_client_consume(c, n);
	kv_client_run(c);
	if (len)
		*len = n;
	return copy;
}

/* Bytes as a C literal, for failure messages. */
const char *show(const char *p, size_t len)
{
	static char buf[4][1024];
	static int which;
	char *b = buf[which++ % 4];
	size_t o = 0;

	for (size_t i = 0; i < len && o + 8 < sizeof(buf[0]); i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch == '\r')
			o += (size_t)snprintf(b + o, 8, "\\r");
		else if (ch == '\n')
			o += (size_t)snprintf(b + o, 8, "\\n");
		else if (ch < 0x20 || ch >= 0x7f)
			o += (size_t)snprintf(b + o, 8, "\\x%02x", ch);
		else
			b[o++] = (char)ch;
	}
	b[o] = '\0';
	return b;
}

/* One request of words (as the script writes them) as RESP. */
size_t encode(char *out, size_t cap, int argc, const char *const *argv)
{
	size_t o = (size_t)snprintf(out, cap, "*%d\r\n", argc);

	for (int i = 0; i < argc; i++)
		o += (size_t)snprintf(out + o, cap - o, "$%zu\r\n%s\r\n",
				      strlen(argv[i]), argv[i]);
	assert_true(o < cap);
	return o;
}

/* Feed raw bytes, check the whole output (wlen bytes). */
void expect_rawn(struct kv_client *c, const char *in, size_t inlen,
			const char *want, size_t wlen)
{
	size_t n;
	char *got;

	assert_int_equal(kv_client_feed(c, in, inlen), 0);
	got = take(c, &n);
	if (n != wlen || memcmp(got, want, n)) {
		print_error("request %s\n  want %s\n  got  %s\n", show(in, inlen),
			    show(want, wlen), show(got, n));
		free(got);
		fail();
	}
	free(got);
}

void expect_raw(struct kv_client *c, const char *in, size_t inlen,
		       const char *want)
{
	expect_rawn(c, in, inlen, want, strlen(want));
}

/* A command given as a space-separated list of words (no quoting). */
void expect(struct kv_client *c, const char *words, const char *want)
{
	char copy[4096], req[8192];
	const char *argv[256];
	int argc = 0;

	snprintf(copy, sizeof(copy), "%s", words);
	for (char *t = strtok(copy, " "); t; t = strtok(NULL, " "))
		argv[argc++] = strcmp(t, "''") ? t : "";
	expect_raw(c, req, encode(req, sizeof(req), argc, argv), want);
}
