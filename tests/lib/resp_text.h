/*
 * resp_text.h - the text side of resp_compare (tests/lib): a growing
 * buffer, the script's notations turned into requests, and the framing
 * of RESP2 replies. Internal to resp_compare.c and resp_text.c.
 */
#ifndef COLO_TESTS_RESP_TEXT_H
#define COLO_TESTS_RESP_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* A NUL-terminated byte buffer that grows (abort() when it cannot). */
struct buf {
	char *p;
	size_t len, cap;
};

void buf_add(struct buf *b, const void *data, size_t len);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Words as redis-cli splits a line -> one RESP array appended to out;
 * -EINVAL on bad quoting or no word. */
int encode_words(const char *line, struct buf *out);
/* C escapes (\r \n \t \0 \xHH) -> bytes appended to out, for !raw. */
void unescape_c(const char *p, struct buf *out);

/* Length of the line from p (CRLF included), 0 if incomplete. */
size_t line_len(const char *p, size_t len);
/* Length of the whole RESP2 reply at p: > 0, 0 incomplete, -1 bad;
 * arrays nested deeper than depth allows are bad. */
long reply_len(const char *p, size_t len, int depth);
/* Same type, same array lengths, nil where the other is nil? */
bool same_shape(const char *a, size_t alen, const char *b, size_t blen);

#endif
