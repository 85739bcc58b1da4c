/*
 * resp_reply.c - a RESP2 reply parsed without trusting it (resp_reply.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp_reply.h"

/*
 * The line of buf[pos..len) up to CRLF: its CR's offset in *eol.
 * RESP_REPLY_MORE when the CRLF is still to come; RESP_REPLY_BAD for a
 * bare CR or LF (Redis sends neither in a line) or a line over
 * RESP_REPLY_LINE_MAX.
 */
static int resp_line(const char *buf, size_t len, size_t pos, size_t *eol,
		     char *why, size_t whylen)
{
	size_t lim = len - pos > RESP_REPLY_LINE_MAX ?
		     pos + RESP_REPLY_LINE_MAX : len;

	for (size_t i = pos; i < lim; i++) {
		if (buf[i] == '\n') {
			snprintf(why, whylen, "a bare LF in a line");
			return RESP_REPLY_BAD;
		}
		if (buf[i] != '\r')
			continue;
		if (i + 1 == len)
			return RESP_REPLY_MORE;
		if (buf[i + 1] != '\n') {
			snprintf(why, whylen, "a bare CR in a line");
			return RESP_REPLY_BAD;
		}
		*eol = i;
		return RESP_REPLY_DONE;
	}
	if (len - pos >= RESP_REPLY_LINE_MAX) {
		snprintf(why, whylen, "a line longer than %u bytes", RESP_REPLY_LINE_MAX);
		return RESP_REPLY_BAD;
	}
	return RESP_REPLY_MORE;
}

/* "-1" or 0..max in decimal: 0 and the value in *v, or -1. */
static int resp_length(const char *s, size_t n, long long max, long long *v)
{
	long long x = 0;

	if (n == 2 && s[0] == '-' && s[1] == '1') {
		*v = -1;
		return 0;
	}
	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (s[i] - '0');
	}
	if (x > max)
		return -1;
	*v = x;
	return 0;
}

/* An integer reply's line: an optional '-' and 1 to 19 digits. */
static bool resp_integer(const char *s, size_t n)
{
	size_t i = n && s[0] == '-';

	if (n - i == 0 || n - i > 19)
		return false;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/*
 * Arrays are walked without recursion (a count of elements still due, so
 * any nesting depth costs nothing) and bounded by RESP_REPLY_ELEMS_MAX
 * elements and RESP_REPLY_MAX bytes. A caller parses the reply again from
 * its start after every recv(): O(its lines) each time, bulk payloads
 * skipped in O(1).
 */
int resp_reply_parse(const char *buf, size_t len, struct resp_reply *r,
		     char *why, size_t whylen)
{
	size_t pos = 0, due = 1, elems = 0;

	while (due > 0) {
		size_t eol, next, n;
		long long v = 0;
		const char *s;
		char type;
		int ret;

		if (pos == len)
			return RESP_REPLY_MORE;
		type = buf[pos];
		if (!type || !strchr("+-:$*", type)) {
			snprintf(why, whylen, "a reply starting with byte 0x%02x",
				 (unsigned char)type);
			return RESP_REPLY_BAD;
		}
		ret = resp_line(buf, len, pos + 1, &eol, why, whylen);
		if (ret != RESP_REPLY_DONE)
			return ret;
		s = buf + pos + 1;
		n = eol - pos - 1;
		next = eol + 2;
		due--;
		elems++;
		if (type == ':' && !resp_integer(s, n)) {
			snprintf(why, whylen, "an integer reply that is not one");
			return RESP_REPLY_BAD;
		}
		if (type == '$') {
			if (resp_length(s, n, RESP_REPLY_MAX, &v)) {
				snprintf(why, whylen, "a bulk length that is not "
					 "-1 or 0..%u", RESP_REPLY_MAX);
				return RESP_REPLY_BAD;
			}
			if (v >= 0 && next + (size_t)v + 2 > RESP_REPLY_MAX) {
				snprintf(why, whylen, "a reply over %u bytes",
					 RESP_REPLY_MAX);
				return RESP_REPLY_BAD;
			}
			if (v >= 0 && len - next < (size_t)v + 2)
				return RESP_REPLY_MORE;
			if (v >= 0 && (buf[next + v] != '\r' || buf[next + v + 1] != '\n')) {
				snprintf(why, whylen, "a bulk string not ended by CRLF");
				return RESP_REPLY_BAD;
			}
		}
		if (type == '*') {
			if (resp_length(s, n, RESP_REPLY_ELEMS_MAX, &v) ||
			    elems + due + (size_t)(v > 0 ? v : 0) > RESP_REPLY_ELEMS_MAX) {
				snprintf(why, whylen, "an array count that is not "
					 "-1 or 0..%u in all", RESP_REPLY_ELEMS_MAX);
				return RESP_REPLY_BAD;
			}
			if (v > 0)
				due += (size_t)v;
		}
		if (pos == 0) {
			r->type = type;
			r->nil = v < 0;
			r->data = type == '$' && v >= 0 ? buf + next : s;
			r->len = type == '$' ? (v >= 0 ? (size_t)v : 0) : n;
		}
		pos = type == '$' && v >= 0 ? next + (size_t)v + 2 : next;
		if (pos > RESP_REPLY_MAX) {
			snprintf(why, whylen, "a reply over %u bytes", RESP_REPLY_MAX);
			return RESP_REPLY_BAD;
		}
	}
	r->size = pos;
	return RESP_REPLY_DONE;
}
