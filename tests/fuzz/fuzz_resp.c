/*
 * fuzz_resp.c - kvstore's RESP request parser, guest/kvstore/resp.c,
 * on a pipeline of requests read incrementally, as a client's query
 * buffer is.
 *
 * Input: one byte (bits 0-5 seed how the rest is cut into reads of 1 to
 * 128 bytes; bits 6 and 7 both set: the rest is repeated past 64 KiB,
 * to reach the parser's limits, and read up to 16 KiB at a time as
 * Redis reads), then the bytes a client sends.
 *
 * Checked beyond no crash and no leak: the answer is 1, 0 or -EPROTO
 * with a "Protocol error: " text; a request read in pieces gives the
 * same answer, size and arguments as the same bytes read at once
 * (while under the 64 KiB line limit, where only the pieces' sizes
 * decide); a complete request's arguments lie inside it, a multibulk's
 * in order and apart; and the argument array stays bounded by what was
 * read, never by what a count announced: at most 1024 slots or twice
 * the arguments read.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "resp.h"

#define REPEAT_TO	(RESP_INLINE_MAX + 4096)

static void check_bounded(const struct resp_parser *p)
{
	FUZZ_CHECK(p->argc <= p->argv_cap);
	FUZZ_CHECK(p->argv_cap <= 1024 || p->argv_cap <= 2 * p->argc);
}

/* A complete request's arguments: inside its pos bytes. */
static void check_args(const struct resp_parser *p)
{
	for (size_t i = 0; i < p->argc; i++) {
		FUZZ_CHECK(p->argv[i].off <= p->pos &&
			   p->argv[i].len <= p->pos - p->argv[i].off);
		if (i && p->reqtype == RESP_REQ_MULTIBULK)
			FUZZ_CHECK(p->argv[i].off >=
				   p->argv[i - 1].off + p->argv[i - 1].len);
	}
}

static void check_ret(const struct resp_parser *p, int ret)
{
	FUZZ_CHECK(ret == 1 || ret == 0 || ret == -EPROTO);
	if (ret < 0)	/* the connection closes: its array goes with it */
		FUZZ_CHECK(p->err &&
			   strncmp(p->err, "Protocol error: ", 16) == 0);
	else
		check_bounded(p);
}

int fuzz_resp(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t mode = fuzz_u8(&in);
	bool repeat = (mode & 0xc0) == 0xc0;
	uint32_t rng = (mode & 0x3f) * 2654435761u + 1;
	size_t n = in.left, total = n, base = 0, avail = 0;
	char *q, *q1;
	struct resp_parser inc, one;
	bool same = true;		/* the one-shot reading is compared */
	uint32_t piece = repeat ? 16384 : 128;	/* reads, at most */

	if (repeat && n)
		total = (REPEAT_TO / n + 1) * n;
	q = malloc(total + 1);
	q1 = malloc(total + 1);
	FUZZ_CHECK(q && q1);
	for (size_t off = 0; off < total; off += n)
		memcpy(q + off, in.p, n);
	memcpy(q1, q, total);
	resp_init(&inc);
	resp_init(&one);

	while (base < total) {
		int ret, ret1 = 0;

		/* the bytes at once: only while no limit is in reach */
		same = same && total - base <= RESP_INLINE_MAX;
		if (same) {
			ret1 = resp_parse(&one, q1 + base, total - base);
			check_ret(&one, ret1);
		}
		/* in pieces, as they come */
		for (;;) {
			ret = resp_parse(&inc, q + base, avail - base);
			check_ret(&inc, ret);
			if (ret || avail == total)
				break;
			rng = rng * 1103515245u + 12345u;
			avail += 1 + (rng >> 16) % piece;
			if (avail > total)
				avail = total;
		}
		if (ret == 1) {
			FUZZ_CHECK(inc.pos <= avail - base);
			check_args(&inc);
		}
		if (same) {
			FUZZ_CHECK(ret == ret1);
			if (ret < 0)
				FUZZ_CHECK(strcmp(inc.err, one.err) == 0);
			if (ret == 1) {
				FUZZ_CHECK(inc.pos == one.pos);
				FUZZ_CHECK(inc.argc == one.argc);
				for (size_t i = 0; i < inc.argc; i++) {
					const struct resp_arg *x = &inc.argv[i];
					const struct resp_arg *y = &one.argv[i];

					FUZZ_CHECK(x->off == y->off &&
						   x->len == y->len);
				}
				FUZZ_CHECK(memcmp(q + base, q1 + base, inc.pos) == 0);
			}
		}
		if (ret != 1)
			break;
		resp_args(&inc, q + base);
		base += inc.pos;
		resp_next(&inc);
		resp_next(&one);
		check_bounded(&inc);
	}
	resp_free(&inc);
	resp_free(&one);
	free(q);
	free(q1);
	return 0;
}
