/*
 * resp_reply.h - a RESP2 reply at the head of a client's input, parsed
 * without trusting a byte of it (kv_verify's, the demo's client): every
 * length bounded, no recursion whatever the nesting, never a read past
 * the input.
 */
#ifndef COLO_TESTS_RESP_REPLY_H
#define COLO_TESTS_RESP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#define RESP_REPLY_LINE_MAX	(64u << 10)	/* a status, error, integer or header line */
#define RESP_REPLY_MAX		(16u << 20)	/* one reply, nested elements included */
#define RESP_REPLY_ELEMS_MAX	(1u << 20)	/* elements in one reply, nested included */

enum { RESP_REPLY_BAD = -1, RESP_REPLY_MORE = 0, RESP_REPLY_DONE = 1 };

/* The reply at the head of the input, as resp_reply_parse() found it. */
struct resp_reply {
	char type;		/* '+' '-' ':' '$' '*' */
	bool nil;		/* $-1 or *-1 */
	const char *data;	/* '+' '-' ':': the line; '$': the payload;
				 * '*': the count (not NUL-terminated) */
	size_t len;		/* bytes at data */
	size_t size;		/* bytes of the whole reply, nested included */
};

/*
 * Is a whole reply at the head of buf[0..len)? RESP_REPLY_DONE with *r
 * filled in, RESP_REPLY_MORE, or RESP_REPLY_BAD with the reason in why.
 */
int resp_reply_parse(const char *buf, size_t len, struct resp_reply *r,
		     char *why, size_t whylen);

#endif /* COLO_TESTS_RESP_REPLY_H */
