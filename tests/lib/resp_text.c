/*
 * resp_text.c - the text side of resp_compare: a growing buffer, the
 * script's notations, the framing of RESP2 replies (resp_text.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp_text.h"

#define REPLY_DEPTH_MAX	16		/* nested arrays read */

void buf_add(struct buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + len + 1)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p)
			abort();
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		buf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n :
				sizeof(tmp) - 1);
}

/* --- the script's notations ------------------------------------------------ */

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/*
 * Words as redis-cli splits a line (sdssplitargs()), each appended to
 * out as a bulk string; *argc counted. -EINVAL on unbalanced quotes.
 */
static int split_words(const char *p, struct buf *out, int *argc)
{
	struct buf w = { 0 };
	int ret = 0;

	*argc = 0;
	for (;;) {
		bool inq = false, insq = false, done = false;
		char hdr[32];

		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		w.len = 0;
		while (!done) {
			if (inq) {
				if (p[0] == '\\' && p[1] == 'x' &&
				    isxdigit((unsigned char)p[2]) &&
				    isxdigit((unsigned char)p[3])) {
					char c = (char)(hexval(p[2]) * 16 +
							hexval(p[3]));

					buf_add(&w, &c, 1);
					p += 3;
				} else if (p[0] == '\\' && p[1]) {
					char c;

					p++;
					switch (*p) {
					case 'n': c = '\n'; break;
					case 'r': c = '\r'; break;
					case 't': c = '\t'; break;
					case 'b': c = '\b'; break;
					case 'a': c = '\a'; break;
					default: c = *p; break;
					}
					buf_add(&w, &c, 1);
				} else if (*p == '"') {
					if (p[1] && !isspace((unsigned char)p[1]))
						goto bad;
					done = true;
				} else if (!*p) {
					goto bad;
				} else {
					buf_add(&w, p, 1);
				}
			} else if (insq) {
				if (p[0] == '\\' && p[1] == '\'') {
					p++;
					buf_add(&w, "'", 1);
				} else if (*p == '\'') {
					if (p[1] && !isspace((unsigned char)p[1]))
						goto bad;
					done = true;
				} else if (!*p) {
					goto bad;
				} else {
					buf_add(&w, p, 1);
				}
			} else {
				switch (*p) {
				case ' ': case '\n': case '\r': case '\t': case '\0':
					done = true;
					break;
				case '"':
					inq = true;
					break;
				case '\'':
					insq = true;
					break;
				default:
					buf_add(&w, p, 1);
					break;
				}
			}
			if (*p)
				p++;
		}
		snprintf(hdr, sizeof(hdr), "$%zu\r\n", w.len);
		buf_add(out, hdr, strlen(hdr));
		buf_add(out, w.p ? w.p : "", w.len);
		buf_add(out, "\r\n", 2);
		(*argc)++;
	}
	goto out;
bad:
	ret = -EINVAL;
out:
	free(w.p);
	return ret;
}

/* words -> one RESP array; -EINVAL on bad quoting or no word. */
int encode_words(const char *line, struct buf *out)
{
	struct buf body = { 0 };
	char hdr[32];
	int argc, ret = split_words(line, &body, &argc);

	if (!ret && argc == 0)
		ret = -EINVAL;
	if (!ret) {
		snprintf(hdr, sizeof(hdr), "*%d\r\n", argc);
		buf_add(out, hdr, strlen(hdr));
		buf_add(out, body.p, body.len);
	}
	free(body.p);
	return ret;
}

/* C escapes -> bytes, for !raw. */
void unescape_c(const char *p, struct buf *out)
{
	for (; *p; p++) {
		char c = *p;

		if (c == '\\' && p[1]) {
			p++;
			switch (*p) {
			case 'r': c = '\r'; break;
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case '0': c = '\0'; break;
			case 'x':
				if (isxdigit((unsigned char)p[1]) &&
				    isxdigit((unsigned char)p[2])) {
					c = (char)(hexval(p[1]) * 16 + hexval(p[2]));
					p += 2;
				} else {
					c = 'x';
				}
				break;
			default: c = *p; break;
			}
		}
		buf_add(out, &c, 1);
	}
}

/* --- replies ---------------------------------------------------------------- */

/* Length of the line from p (CRLF included), 0 if incomplete. */
size_t line_len(const char *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (p[i] == '\r' && p[i + 1] == '\n')
			return i + 2;
	}
	return 0;
}

/* Length of the whole RESP2 reply at p: > 0, 0 incomplete, -1 bad. */
long reply_len(const char *p, size_t len, int depth)
{
	size_t l, off;
	long long n;

	if (len == 0)
		return 0;
	if (depth > REPLY_DEPTH_MAX)
		return -1;
	l = line_len(p, len);
	if (l == 0)
		return 0;
	switch (p[0]) {
	case '+': case '-': case ':':
		return (long)l;
	case '$':
		n = strtoll(p + 1, NULL, 10);
		if (n < 0)
			return (long)l;
		if (len < l + (size_t)n + 2)
			return 0;
		return (long)(l + (size_t)n + 2);
	case '*':
		n = strtoll(p + 1, NULL, 10);
		off = l;
		for (long long i = 0; i < n; i++) {
			long e = reply_len(p + off, len - off, depth + 1);

			if (e <= 0)
				return e;
			off += (size_t)e;
		}
		return (long)off;
	default:
		return -1;
	}
}

/* Same type, same array lengths, nil where the other is nil? */
bool same_shape(const char *a, size_t alen, const char *b, size_t blen)
{
	long long na, nb;
	size_t la, lb;

	if (!alen || !blen || a[0] != b[0])
		return false;
	if (a[0] != '$' && a[0] != '*')
		return true;
	na = strtoll(a + 1, NULL, 10);
	nb = strtoll(b + 1, NULL, 10);
	if (a[0] == '$')
		return (na < 0) == (nb < 0);
	if (na != nb)
		return false;
	la = line_len(a, alen);
	lb = line_len(b, blen);
	for (long long i = 0; i < na; i++) {
		long ea = reply_len(a + la, alen - la, 0);
		long eb = reply_len(b + lb, blen - lb, 0);

		if (ea <= 0 || eb <= 0 ||
		    !same_shape(a + la, (size_t)ea, b + lb, (size_t)eb))
			return false;
		la += (size_t)ea;
		lb += (size_t)eb;
	}
	return true;
}
