/*
 * kv_reply.c - reply buffer and RESP2 writers (see kv_reply.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_reply.h"
#include "kv_util.h"

#define REPLY_MIN_CAP	1024
/* An error message longer than this is cut (Redis's are short too). */
#define REPLY_ERROR_MAX	1024

void kv_reply_free(struct kv_reply *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

void kv_reply_consume(struct kv_reply *r, size_t n)
{
	r->start += n;
	if (r->start < r->len)
		return;
	r->start = r->len = 0;
	if (r->cap > KV_REPLY_KEEP) {
		free(r->buf);
		r->buf = NULL;
		r->cap = 0;
	}
}

/* Room for len more bytes, or false (and overflowed) past the limit. */
static bool reply_room(struct kv_reply *r, size_t len)
{
	size_t need;

	if (r->overflow)
		return false;
	if (kv_reply_pending(r) + len > KV_REPLY_MAX) {
		/* the client is to be closed: give the memory back now */
		free(r->buf);
		r->buf = NULL;
		r->start = r->len = r->cap = 0;
		r->overflow = true;
		return false;
	}
	if (r->start && r->len + len > r->cap) {
		/* slide the unsent bytes down before growing */
		memmove(r->buf, r->buf + r->start, r->len - r->start);
		r->len -= r->start;
		r->start = 0;
	}
	need = r->len + len;
	if (need > r->cap) {
		size_t cap = r->cap ? r->cap : REPLY_MIN_CAP;

		while (cap < need)
			cap *= 2;
		r->buf = kv_realloc(r->buf, cap);
		r->cap = cap;
	}
	return true;
}

void kv_reply_raw(struct kv_reply *r, const void *data, size_t len)
{
	if (!reply_room(r, len))
		return;
	if (len)
		memcpy(r->buf + r->len, data, len);
	r->len += len;
}

/* prefix, then the number, then CRLF: ":12\r\n", "$3\r\n", "*2\r\n" */
static void reply_ll(struct kv_reply *r, char prefix, long long v)
{
	char buf[KV_LONG_STR_SIZE + 3];
	size_t n;

	buf[0] = prefix;
	n = 1 + kv_ll2string(buf + 1, v);
	buf[n++] = '\r';
	buf[n++] = '\n';
	kv_reply_raw(r, buf, n);
}

void kv_reply_status(struct kv_reply *r, const char *status)
{
	kv_reply_raw(r, "+", 1);
	kv_reply_raw(r, status, strlen(status));
	kv_reply_raw(r, "\r\n", 2);
}

void kv_reply_error(struct kv_reply *r, const char *msg)
{
	if (msg[0] != '-')
		kv_reply_raw(r, "-ERR ", 5);
	kv_reply_raw(r, msg, strlen(msg));
	kv_reply_raw(r, "\r\n", 2);
}

void kv_reply_errorf(struct kv_reply *r, const char *fmt, ...)
{
	char msg[REPLY_ERROR_MAX];
	size_t b = 0, n;
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	/* a %c of NUL ends the message there, as sdscatvprintf() does */
	n = strnlen(msg, sizeof(msg));
	/* Redis trims CR and LF at both ends, then maps the rest to spaces */
	while (b < n && (msg[b] == '\r' || msg[b] == '\n'))
		b++;
	while (n > b && (msg[n - 1] == '\r' || msg[n - 1] == '\n'))
		n--;
	for (size_t i = b; i < n; i++) {
		if (msg[i] == '\r' || msg[i] == '\n')
			msg[i] = ' ';
	}
	msg[n] = '\0';
	kv_reply_error(r, msg + b);
}

void kv_reply_int(struct kv_reply *r, long long v)
{
	reply_ll(r, ':', v);
}

void kv_reply_bulk(struct kv_reply *r, const void *data, size_t len)
{
	reply_ll(r, '$', (long long)len);
	kv_reply_raw(r, data, len);
	kv_reply_raw(r, "\r\n", 2);
}

void kv_reply_bulk_cstr(struct kv_reply *r, const char *s)
{
	kv_reply_bulk(r, s, strlen(s));
}

void kv_reply_double(struct kv_reply *r, double d)
{
	char buf[KV_DOUBLE_STR_SIZE];

	kv_reply_bulk(r, buf, kv_d2string(buf, d));
}

void kv_reply_array(struct kv_reply *r, long long n)
{
	reply_ll(r, '*', n);
}

void kv_reply_null(struct kv_reply *r)
{
	kv_reply_raw(r, "$-1\r\n", 5);
}

void kv_reply_null_array(struct kv_reply *r)
{
	kv_reply_raw(r, "*-1\r\n", 5);
}
