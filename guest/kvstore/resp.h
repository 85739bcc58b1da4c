/*
 * resp.h - the request parser: RESP arrays of bulk strings ("multibulk")
 * and inline commands, read incrementally as the bytes come, exactly as
 * Redis 7.0's processMultibulkBuffer() and processInlineBuffer() read
 * them, quirks included (the two bytes after a bulk are skipped unread;
 * a line ends at the first CR of a header, any byte may follow it; a NUL
 * before the end of a line hides the end, as strchr() does there).
 *
 * The parser does not copy: it reads a buffer that holds the request
 * from its first byte (the caller keeps the bytes of a request until it
 * is complete) and records where the arguments are. An inline request
 * is unquoted in place, which only ever shortens it.
 *
 * Limits (each a protocol error, the reply is Redis's text for its own
 * limit, and the connection is closed after it, as Redis does):
 *   RESP_INLINE_MAX  an inline request, or the count line of an array or
 *                    a bulk, with no end in sight after this many bytes
 *                    (Redis's PROTO_INLINE_MAX_SIZE, the same 64 KiB):
 *                    "too big inline request", "too big mbulk count
 *                    string", "too big bulk count string"
 *   RESP_BULK_MAX    one bulk string (Redis's proto-max-bulk-len, 512 MiB
 *                    there, 8 MiB here): "invalid bulk length"
 *   RESP_ARGS_MAX    elements of one array (INT_MAX in Redis, 1 Mi
 *                    here): "invalid multibulk length"
 */
#ifndef RESP_H
#define RESP_H

#include <stddef.h>

#define RESP_INLINE_MAX		(64u << 10)
#define RESP_BULK_MAX		(8u << 20)
#define RESP_ARGS_MAX		(1u << 20)

/* One argument: an offset from the request's first byte while parsing,
 * and once the request is complete (resp_args()) a pointer. */
struct resp_arg {
	union {
		size_t off;
		const char *p;
	};
	size_t len;
};

enum resp_reqtype {
	RESP_REQ_UNKNOWN,
	RESP_REQ_INLINE,
	RESP_REQ_MULTIBULK,
};

struct resp_parser {
	enum resp_reqtype reqtype;
	long long multibulk;		/* elements still to read; 0: the
					 * count is not read yet */
	long long bulk;			/* length of the bulk being read; -1:
					 * its count line is not read yet */
	size_t pos;			/* where the next line or bulk starts;
					 * when complete, the request's size */
	size_t scanned;			/* bytes from pos searched for the
					 * line's end already (each byte is
					 * looked at once) */
	struct resp_arg *argv;		/* argc of argv_cap are read */
	size_t argc, argv_cap;
	const char *err;		/* the protocol error's text */
	char errbuf[48];		/* err, when it is formatted */
};

void resp_init(struct resp_parser *p);
void resp_free(struct resp_parser *p);

/*
 * Read on in buf[0, len), which holds the request from its first byte
 * (and maybe what follows it). 1: the request is complete, its size is
 * p->pos and its arguments resp_args() (argc may be 0: an empty line or
 * a count <= 0, which Redis ignores); 0: more bytes are needed; -EPROTO:
 * a protocol error, its text in p->err (reply it, then close).
 */
int resp_parse(struct resp_parser *p, char *buf, size_t len);

/* The complete request's arguments, as pointers into buf. */
struct resp_arg *resp_args(struct resp_parser *p, const char *buf);

/* Ready for the next request (a large argument array is given back). */
void resp_next(struct resp_parser *p);

#endif /* RESP_H */
