/*
 * resp.c - the incremental request parser (see resp.h).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_util.h"
#include "resp.h"

#define ARGV_FIRST_MAX	1024	/* argv slots reserved up front at most:
				 * a count alone commits no memory */
#define ARGV_KEEP	1024	/* a larger argv is given back after use */

void resp_init(struct resp_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->bulk = -1;
}

void resp_free(struct resp_parser *p)
{
	free(p->argv);
	resp_init(p);
}

void resp_next(struct resp_parser *p)
{
	struct resp_arg *argv = p->argv;
	size_t cap = p->argv_cap;

	if (cap > ARGV_KEEP) {
		free(argv);
		argv = NULL;
		cap = 0;
	}
	resp_init(p);
	p->argv = argv;
	p->argv_cap = cap;
}

static int resp_error(struct resp_parser *p, const char *msg)
{
	p->err = msg;
	return -EPROTO;
}

/*
 * Offset of the first c at or after p->pos, or -1. Like strchr() on
 * Redis's NUL-terminated query buffer, a NUL ends the search: the line
 * cannot end before more than that is seen (and then only by a limit).
 */
static long resp_find(struct resp_parser *p, const char *buf, size_t len,
		      char c)
{
	size_t from = p->pos + p->scanned;
	const char *hit;

	for (hit = buf + from; hit < buf + len; hit++) {
		if (*hit == c)
			return hit - buf;
		if (*hit == '\0')
			break;
	}
	p->scanned = (size_t)(hit - buf) - p->pos;
	return -1;
}

/* Add an argument; the array doubles, but never past most slots (the
 * elements an array announced). */
static void resp_push(struct resp_parser *p, size_t off, size_t len,
		      size_t most)
{
	if (p->argc == p->argv_cap) {
		size_t cap = p->argv_cap ? p->argv_cap * 2 : 8;

		if (cap > most)
			cap = most;
		p->argv = kv_realloc(p->argv, cap * sizeof(*p->argv));
		p->argv_cap = cap;
	}
	p->argv[p->argc].off = off;
	p->argv[p->argc].len = len;
	p->argc++;
}

/* The count line "*N\r\n" at p->pos: 1 read, 0 need more, or -EPROTO. */
static int multibulk_count(struct resp_parser *p, char *buf, size_t len,
			   bool *empty)
{
	long nl = resp_find(p, buf, len, '\r');
	long long ll;

	if (nl < 0) {
		if (len - p->pos > RESP_INLINE_MAX)
			return resp_error(p, "Protocol error: "
					  "too big mbulk count string");
		return 0;
	}
	if ((size_t)nl + 2 > len)
		return 0;		/* the byte after CR (any byte) */
	if (!kv_string2ll(buf + p->pos + 1, (size_t)nl - (p->pos + 1), &ll) ||
	    ll > INT_MAX || ll > (long long)RESP_ARGS_MAX)
		return resp_error(p, "Protocol error: invalid multibulk length");
	p->pos = (size_t)nl + 2;
	p->scanned = 0;
	*empty = ll <= 0;
	if (ll > 0) {
		size_t want = ll < ARGV_FIRST_MAX ? (size_t)ll : ARGV_FIRST_MAX;

		p->multibulk = ll;
		if (p->argv_cap < want) {
			p->argv = kv_realloc(p->argv, want * sizeof(*p->argv));
			p->argv_cap = want;
		}
	}
	return 1;
}

/* The count line "$N\r\n" of the next bulk: 1, 0 or -EPROTO. */
static int bulk_count(struct resp_parser *p, char *buf, size_t len)
{
	long nl = resp_find(p, buf, len, '\r');
	long long ll;

	if (nl < 0) {
		if (len - p->pos > RESP_INLINE_MAX)
			return resp_error(p, "Protocol error: "
					  "too big bulk count string");
		return 0;
	}
	if ((size_t)nl + 2 > len)
		return 0;
	if (buf[p->pos] != '$') {
		snprintf(p->errbuf, sizeof(p->errbuf),
			 "Protocol error: expected '$', got '%c'", buf[p->pos]);
		return resp_error(p, p->errbuf);
	}
	if (!kv_string2ll(buf + p->pos + 1, (size_t)nl - (p->pos + 1), &ll) ||
	    ll < 0 || ll > (long long)RESP_BULK_MAX)
		return resp_error(p, "Protocol error: invalid bulk length");
	p->pos = (size_t)nl + 2;
	p->scanned = 0;
	p->bulk = ll;
	return 1;
}

static int parse_multibulk(struct resp_parser *p, char *buf, size_t len)
{
	int ret;

	if (p->multibulk == 0) {
		bool empty;

		ret = multibulk_count(p, buf, len, &empty);
		if (ret <= 0 || empty)
			return ret;
	}
	while (p->multibulk) {
		if (p->bulk == -1) {
			ret = bulk_count(p, buf, len);
			if (ret <= 0)
				return ret;
		}
		if (len - p->pos < (size_t)p->bulk + 2)
			return 0;
		/* the two bytes after the bulk are skipped unread, as Redis
		 * does: they are meant to be CRLF */
		resp_push(p, p->pos, (size_t)p->bulk,
			  p->argc + (size_t)p->multibulk);
		p->pos += (size_t)p->bulk + 2;
		p->bulk = -1;
		p->multibulk--;
	}
	return 1;
}

/* After a closing quote: the end of the line, or a blank. */
static bool quote_end_ok(char next)
{
	return !next || isspace((unsigned char)next);
}

static bool is_hex(char c)
{
	return isxdigit((unsigned char)c);
}

static int hex_val(char c)
{
	return c <= '9' ? c - '0' : (tolower((unsigned char)c) - 'a' + 10);
}

/*
 * Redis's sdssplitargs() over buf[0, end), writing the arguments in place
 * (at w, never past the byte being read at i). The byte at end reads as
 * the NUL of the C string Redis splits.
 */
static int inline_split(struct resp_parser *p, char *buf, size_t end)
{
#define AT(k)	((k) < end ? buf[k] : '\0')
	size_t i = 0, w = 0;

	for (;;) {
		bool inq = false, insq = false, done = false;
		size_t start;

		while (i < end && isspace((unsigned char)buf[i]))
			i++;
		if (i >= end)
			return 0;
		start = w;
		while (!done) {
			char c = AT(i);

			if (inq) {
				if (c == '\\' && AT(i + 1) == 'x' &&
				    is_hex(AT(i + 2)) && is_hex(AT(i + 3))) {
					buf[w++] = (char)(hex_val(AT(i + 2)) * 16 +
							  hex_val(AT(i + 3)));
					i += 3;
				} else if (c == '\\' && AT(i + 1)) {
					i++;
					switch (AT(i)) {
					case 'n': c = '\n'; break;
					case 'r': c = '\r'; break;
					case 't': c = '\t'; break;
					case 'b': c = '\b'; break;
					case 'a': c = '\a'; break;
					default: c = AT(i); break;
					}
					buf[w++] = c;
				} else if (c == '"') {
					/* a closing quote is followed by a
					 * blank or by nothing */
					if (!quote_end_ok(AT(i + 1)))
						goto unbalanced;
					done = true;
				} else if (!c) {
					goto unbalanced;
				} else {
					buf[w++] = c;
				}
			} else if (insq) {
				if (c == '\\' && AT(i + 1) == '\'') {
					i++;
					buf[w++] = '\'';
				} else if (c == '\'') {
					if (!quote_end_ok(AT(i + 1)))
						goto unbalanced;
					done = true;
				} else if (!c) {
					goto unbalanced;
				} else {
					buf[w++] = c;
				}
			} else {
				switch (c) {
				case ' ':
				case '\n':
				case '\r':
				case '\t':
				case '\0':
					done = true;
					break;
				case '"':
					inq = true;
					break;
				case '\'':
					insq = true;
					break;
				default:
					buf[w++] = c;
					break;
				}
			}
			if (AT(i))
				i++;
		}
		resp_push(p, start, w - start, SIZE_MAX);
	}
unbalanced:
	p->argc = 0;
	return resp_error(p, "Protocol error: unbalanced quotes in request");
#undef AT
}

static int parse_inline(struct resp_parser *p, char *buf, size_t len)
{
	long nl = resp_find(p, buf, len, '\n');
	size_t end;
	int ret;

	if (nl < 0) {
		if (len > RESP_INLINE_MAX)
			return resp_error(p, "Protocol error: "
					  "too big inline request");
		return 0;
	}
	end = (size_t)nl;
	if (end > 0 && buf[end - 1] == '\r')
		end--;
	ret = inline_split(p, buf, end);
	if (ret < 0)
		return ret;
	p->pos = (size_t)nl + 1;
	return 1;
}

int resp_parse(struct resp_parser *p, char *buf, size_t len)
{
	if (len == 0)
		return 0;
	if (p->reqtype == RESP_REQ_UNKNOWN)
		p->reqtype = buf[0] == '*' ? RESP_REQ_MULTIBULK : RESP_REQ_INLINE;
	if (p->reqtype == RESP_REQ_MULTIBULK)
		return parse_multibulk(p, buf, len);
	return parse_inline(p, buf, len);
}

struct resp_arg *resp_args(struct resp_parser *p, const char *buf)
{
	for (size_t i = 0; i < p->argc; i++)
		p->argv[i].p = buf + p->argv[i].off;
	return p->argv;
}
