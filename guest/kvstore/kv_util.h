/*
 * kv_util.h - what every part of the kvstore engine shares: memory that
 * never fails, Redis's number conversions, byte-string comparisons with
 * C-string semantics, and a small random generator.
 *
 * The engine never includes lwIP or colo_net.h: it is a library of
 * plain C that the guest (kvstore.c) and the host-side test both link.
 */
#ifndef KV_UTIL_H
#define KV_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Allocation that does not return NULL. Like Redis's zmalloc, running out
 * of memory aborts the process (after a line on stderr): the engine keeps
 * no half-built structure to unwind, and every input-driven allocation is
 * bounded per client (see kv_client.h), so only a keyspace that outgrew
 * the machine gets here.
 */
void *kv_malloc(size_t size);
void *kv_calloc(size_t n, size_t size);
void *kv_realloc(void *p, size_t size);
void *kv_memdup(const void *p, size_t len);

/* Room for a long long in decimal, sign and NUL included (LONG_STR_SIZE). */
#define KV_LONG_STR_SIZE	21

/*
 * Redis's string2ll(): the whole of s[0, len) is a decimal long long with
 * no sign but '-', no leading zero, no blank, and fewer than 21 bytes.
 * 1 and *value set, or 0.
 */
int kv_string2ll(const char *s, size_t len, long long *value);

/* v in decimal into buf (KV_LONG_STR_SIZE bytes); its length. */
size_t kv_ll2string(char *buf, long long v);

/*
 * Redis's getDoubleFromObject(): s[0, len) read whole by strtod(), no
 * leading blank, no NaN, no overflow, no underflow to zero. 0 and *value
 * set, or -EINVAL.
 */
int kv_string2d(const char *s, size_t len, double *value);

/* d as Redis 7.0 sends a double: "%.17g", or "inf" / "-inf". Its length;
 * buf holds at least KV_DOUBLE_STR_SIZE bytes. */
#define KV_DOUBLE_STR_SIZE	32
size_t kv_d2string(char *buf, double d);

/*
 * Length of s up to its first NUL: Redis compares options with strcasecmp()
 * on its NUL-terminated strings, so "nx\0junk" is NX there and here.
 */
size_t kv_cstrlen(const char *s, size_t len);

/* Is s (read as a C string) word, ignoring case? */
bool kv_opt_is(const char *s, size_t len, const char *word);

/* Do a[0, alen) and b (a C string) hold the same bytes, ignoring case? */
bool kv_bytes_caseeq(const char *a, size_t alen, const char *b);

/* xorshift64*: the next number of the generator whose state is *state
 * (never 0). Deterministic, and in the engine's memory like the rest. */
uint64_t kv_rand(uint64_t *state);

#endif /* KV_UTIL_H */
