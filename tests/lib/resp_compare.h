/*
 * resp_compare.h - send one script of requests to two RESP servers (say
 * redis-server and kvstore) and compare their replies byte for byte,
 * reporting the first difference with the line that caused it.
 *
 * A script is a text file, one step a line:
 *
 *   # a comment; blank lines are skipped
 *   SET k "a b"        words, quoted as redis-cli reads them ("..." with
 *                      \n \r \t \b \a \xHH \" \\; '...' with \'), sent
 *                      as one RESP array of bulk strings
 *   !inline PING x     the rest of the line, then CRLF: an inline command
 *   !raw *1\r\n$4\r\nPING\r\n
 *                      bytes, with C escapes (\r \n \t \0 \\ \xHH), sent
 *                      as they are: malformed RESP, partial requests...
 *   !shape SPOP s 2    words, but only the shape of the replies is
 *                      compared (types, array lengths, nil or not): for
 *                      what must differ (INFO, a random member)
 *   !pipeline          the lines up to "!end" go in one write, their
 *   ...                replies are compared as one (no !shape inside)
 *   !end
 *   !sleep 150         wait this many ms (lets keys expire on both)
 *
 * After each step a sentinel request (an ECHO) follows in the same
 * write; the step's replies are all that come before the sentinel's, or
 * before the server closes the connection (which must then happen on
 * both: a closed connection is part of the reply). Then both connections
 * are opened again. Each server's connection is its own, so what one
 * step leaves half-read stays on that connection for the next.
 */
#ifndef COLO_TEST_RESP_COMPARE_H
#define COLO_TEST_RESP_COMPARE_H

#include <stddef.h>

/* How long one step's replies may take, on either server. */
#define RESP_COMPARE_STEP_MS	5000

struct resp_compare_result {
	unsigned steps;			/* steps run */
	unsigned replies;		/* replies compared byte for byte */
	unsigned shapes;		/* replies compared by shape */
	unsigned closes;		/* steps after which both closed */
	char diff[4096];		/* the first difference, or why the
					 * comparison could not run */
};

/*
 * Run script (a path) against a and b ("host:port" each). 0: every
 * reply the same; 1: a difference, described in res->diff; -errno: it
 * could not run (a server unreachable, a step timed out, a bad script
 * line), res->diff says why.
 */
int resp_compare(const char *a, const char *b, const char *script,
		 struct resp_compare_result *res);

/*
 * One request in the script's word notation to addr, its one reply (or
 * what came before the connection closed) into out, NUL-terminated and
 * cut at len - 1 bytes. The reply's length, or -errno.
 */
long resp_query(const char *addr, const char *words, char *out, size_t len);

#endif /* COLO_TEST_RESP_COMPARE_H */
