/*
 * fuzz_control.c - the control socket's request grammar: daemon/control.c
 * control_parse(), the line framing and word splitting a client's bytes
 * go through before a daemon's handler sees argv, called after each read
 * as client_readable() calls it.
 *
 * Input: one byte that seeds how the rest is cut into reads (1 to 512
 * bytes each), then the bytes the client sends.
 *
 * Checked beyond no crash and no leak: the answer is 0 while no newline
 * came and at most CONTROL_MAX_LINE bytes did, -EMSGSIZE past that, and
 * 1 at the first read that brings a newline; the words are exactly the
 * first CONTROL_MAX_ARGS runs of bytes other than space, tab and CR
 * before the newline (and before a NUL, which ends the line as C reads
 * it), each non-empty, argv[argc] NULL; what followed the newline stays
 * in the buffer for the next read.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "control.h"
#include "fuzz.h"

static bool blank(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The line data[0, end) split as a reader of control.h would. */
static void check_words(const uint8_t *data, size_t end, int argc, char **argv)
{
	size_t i = 0;
	int n = 0;

	FUZZ_CHECK(argc >= 0 && argc <= CONTROL_MAX_ARGS);
	FUZZ_CHECK(argv[argc] == NULL);
	while (n < CONTROL_MAX_ARGS) {
		size_t start;

		while (i < end && data[i] && blank(data[i]))
			i++;
		if (i == end || !data[i])
			break;
		start = i;
		while (i < end && data[i] && !blank(data[i]))
			i++;
		FUZZ_CHECK(n < argc);
		FUZZ_CHECK(strlen(argv[n]) == i - start);
		FUZZ_CHECK(memcmp(argv[n], data + start, i - start) == 0);
		n++;
	}
	FUZZ_CHECK(n == argc);
}

int fuzz_control(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint32_t rng = fuzz_u8(&in) * 2654435761u + 1;
	const uint8_t *bytes = in.p;
	size_t total = in.left, fed = 0;
	struct evbuffer *buf = evbuffer_new();
	const uint8_t *nl;

	FUZZ_CHECK(buf != NULL);
	fuzz_log_reset();
	nl = memchr(bytes, '\n', total);
	while (fed < total) {
		char *line = NULL, *argv[CONTROL_MAX_ARGS + 1];
		int argc = -1, ret;
		size_t n;

		rng = rng * 1103515245u + 12345u;
		n = 1 + (rng >> 16) % 512;
		if (n > total - fed)
			n = total - fed;
		FUZZ_CHECK(evbuffer_add(buf, bytes + fed, n) == 0);
		fed += n;
		ret = control_parse(buf, &line, &argc, argv);
		if (!nl || (size_t)(nl - bytes) >= fed) {
			FUZZ_CHECK(line == NULL);
			FUZZ_CHECK(ret == (fed > CONTROL_MAX_LINE ?
					   -EMSGSIZE : 0));
			FUZZ_CHECK(evbuffer_get_length(buf) == fed);
			if (ret)
				break;
			continue;
		}
		FUZZ_CHECK(ret == 1 && line != NULL);
		check_words(bytes, (size_t)(nl - bytes), argc, argv);
		for (int i = 0; i < argc; i++)
			FUZZ_CHECK(argv[i] >= line &&
				   argv[i] < line + (nl - bytes));
		FUZZ_CHECK(evbuffer_get_length(buf) ==
			   fed - (size_t)(nl - bytes) - 1);
		free(line);
		break;			/* one line per connection */
	}
	FUZZ_CHECK(fuzz_log_count(LOG_ERROR) + fuzz_log_count(LOG_WARN) == 0);
	evbuffer_free(buf);
	return 0;
}
