/*
 * kv_reply.h - a client's reply buffer and the RESP2 writers that fill
 * it, byte for byte what Redis 7.0 sends.
 *
 * The buffer is bounded: KV_REPLY_MAX bytes may wait in it. A write that
 * would pass that marks the buffer overflowed and is dropped, with all
 * that follows; the client is then closed, like a Redis client that
 * reached its client-output-buffer-limit. Clients stop running commands
 * well before (KV_REPLY_PAUSE in kv_client.h), so only a single huge
 * reply (LRANGE over a huge list, MGET of many big values) gets there.
 */
#ifndef KV_REPLY_H
#define KV_REPLY_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* Most bytes a client's replies may occupy while not yet sent (Redis:
 * client-output-buffer-limit, unlimited for normal clients there). */
#define KV_REPLY_MAX		(32u << 20)
/* An emptied buffer larger than this is given back. */
#define KV_REPLY_KEEP		(16u << 10)

struct kv_reply {
	char *buf;
	size_t start;			/* first byte not yet taken */
	size_t len;			/* end of what is written */
	size_t cap;
	bool overflow;			/* passed KV_REPLY_MAX: close */
};

void kv_reply_free(struct kv_reply *r);

/* Bytes waiting, and where. */
static inline size_t kv_reply_pending(const struct kv_reply *r)
{
	return r->len - r->start;
}
static inline const char *kv_reply_data(const struct kv_reply *r)
{
	return r->buf ? r->buf + r->start : "";
}
/* n bytes were sent. */
void kv_reply_consume(struct kv_reply *r, size_t n);

void kv_reply_raw(struct kv_reply *r, const void *data, size_t len);
/* "+status\r\n" */
void kv_reply_status(struct kv_reply *r, const char *status);
/* "-ERR msg\r\n", or "-msg\r\n" when msg starts with '-' (its own code),
 * as Redis's addReplyError(). */
void kv_reply_error(struct kv_reply *r, const char *msg);
/* The same, formatted; CR and LF in the result become spaces, as in
 * Redis's addReplyErrorFormat(). */
void kv_reply_errorf(struct kv_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void kv_reply_int(struct kv_reply *r, long long v);
void kv_reply_bulk(struct kv_reply *r, const void *data, size_t len);
void kv_reply_bulk_cstr(struct kv_reply *r, const char *s);
void kv_reply_double(struct kv_reply *r, double d);
/* "*n\r\n" */
void kv_reply_array(struct kv_reply *r, long long n);
/* "$-1\r\n" and "*-1\r\n" */
void kv_reply_null(struct kv_reply *r);
void kv_reply_null_array(struct kv_reply *r);

#endif /* KV_REPLY_H */
