/*
 * kv_util.c - allocation, number conversions and small helpers of the
 * kvstore engine (see kv_util.h).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kv_util.h"

static void kv_oom(size_t size)
{
	fprintf(stderr, "kvstore: out of memory allocating %zu bytes\n", size);
	abort();
}

void *kv_malloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		kv_oom(size);
	return p;
}

void *kv_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		kv_oom(n * size);
	return p;
}

void *kv_realloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);

	if (!q)
		kv_oom(size);
	return q;
}

void *kv_memdup(const void *p, size_t len)
{
	void *q = kv_malloc(len);

	if (len)
		memcpy(q, p, len);
	return q;
}

/* Redis's util.c string2ll(), case for case. */
int kv_string2ll(const char *s, size_t slen, long long *value)
{
	const char *p = s;
	size_t plen = 0;
	int negative = 0;
	unsigned long long v;

	if (slen == 0 || slen >= KV_LONG_STR_SIZE)
		return 0;
	if (slen == 1 && p[0] == '0') {
		*value = 0;
		return 1;
	}
	if (p[0] == '-') {
		negative = 1;
		p++;
		plen++;
		if (plen == slen)
			return 0;
	}
	/* the first digit is 1-9, or the string was just "0" */
	if (p[0] >= '1' && p[0] <= '9') {
		v = (unsigned long long)(p[0] - '0');
		p++;
		plen++;
	} else {
		return 0;
	}
	while (plen < slen && p[0] >= '0' && p[0] <= '9') {
		if (v > ULLONG_MAX / 10)
			return 0;
		v *= 10;
		if (v > ULLONG_MAX - (unsigned long long)(p[0] - '0'))
			return 0;
		v += (unsigned long long)(p[0] - '0');
		p++;
		plen++;
	}
	if (plen < slen)
		return 0;
	if (negative) {
		if (v > (unsigned long long)LLONG_MAX + 1)
			return 0;
		*value = v == (unsigned long long)LLONG_MAX + 1 ?
			 LLONG_MIN : -(long long)v;
	} else {
		if (v > LLONG_MAX)
			return 0;
		*value = (long long)v;
	}
	return 1;
}

size_t kv_ll2string(char *buf, long long v)
{
	return (size_t)snprintf(buf, KV_LONG_STR_SIZE, "%lld", v);
}

/* Scores longer than this are copied to the heap to be NUL-terminated. */
#define KV_DOUBLE_STACK	128

int kv_string2d(const char *s, size_t len, double *value)
{
	char stack[KV_DOUBLE_STACK], *buf = stack, *end;
	int ret = -EINVAL;
	double v;

	if (len == 0 || isspace((unsigned char)s[0]))
		return -EINVAL;
	if (len >= sizeof(stack))
		buf = kv_malloc(len + 1);
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtod(buf, &end);
	if ((size_t)(end - buf) == len && !isnan(v) &&
	    !(errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL ||
				  fpclassify(v) == FP_ZERO))) {
		*value = v;
		ret = 0;
	}
	if (buf != stack)
		free(buf);
	return ret;
}

size_t kv_d2string(char *buf, double d)
{
	if (isinf(d)) {
		strcpy(buf, d > 0 ? "inf" : "-inf");
		return strlen(buf);
	}
	return (size_t)snprintf(buf, KV_DOUBLE_STR_SIZE, "%.17g", d);
}

size_t kv_cstrlen(const char *s, size_t len)
{
	const char *nul = memchr(s, '\0', len);

	return nul ? (size_t)(nul - s) : len;
}

bool kv_opt_is(const char *s, size_t len, const char *word)
{
	size_t n = kv_cstrlen(s, len);

	return n == strlen(word) && strncasecmp(s, word, n) == 0;
}

bool kv_bytes_caseeq(const char *a, size_t alen, const char *b)
{
	return alen == strlen(b) && strncasecmp(a, b, alen) == 0;
}

uint64_t kv_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 2685821657736338717ull;
}
