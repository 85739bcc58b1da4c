/*
 * kv_verify.c - the client that proves a failover lost no acknowledged
 * write and kept the client's TCP connection: the demo's and the soak's
 * client, for kvstore and redis-server alike (RESP2). libc only.
 *
 * One TCP connection (TCP_NODELAY), opened once, never reopened.
 *
 * Step 1 -- write: SET PREFIX:SEQ VALUE(SEQ), seq = 1, 2, 3..., one at a
 * time. +OK marks seq acknowledged; any other reply is an error reply
 * (not acknowledged) and the run goes on. Every reply's time goes into
 * the longest gap between two consecutive replies and a timeline of
 * replies per bucket. The phase ends after --duration-ms, at SIGUSR1,
 * SIGTERM or SIGINT, or at a line "stop" on stdin; the write in flight
 * is still waited for.
 *
 * Step 2 -- verify: on the same connection, GET every key written (64
 * pipelined per write); an acknowledged key that reads back nil is lost,
 * one with another value wrong; an unacknowledged one that is there is
 * "in doubt, present" (informational).
 *
 * A reply that takes longer than --stall-timeout-ms, EOF, a reset, or a
 * reply that is not RESP2 (or that nobody asked for) ends the run at
 * once: "connection survived  no", the counts that needed the verify
 * phase "unknown". A slow reply is normal (a failover takes hundreds of
 * ms to seconds) and is waited for:
 *
 *   client   SET 1   SET 2          (primary killed)         SET 3 ...
 *   server      +OK     +OK . . . . . . . . . . . . . . . . .    +OK
 *                       |<------- longest reply gap ------->|
 *                       T1 (CLOCK_REALTIME ms)              T2
 *
 * Intervals are CLOCK_MONOTONIC; only T1, T2 and the timeline's start
 * are CLOCK_REALTIME ms, for scripts to compare with `date +%s%3N`.
 * Memory: one bit per write and one counter per timeline bucket; a
 * reply is kept only until parsed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "resp_reply.h"

#define KVV_BATCH	64		/* GETs per write in the verify phase */
#define KVV_READ	(64u << 10)	/* one recv() */
#define KVV_IN_MAX	(RESP_REPLY_MAX + RESP_REPLY_LINE_MAX + 2 * KVV_READ)
#define KVV_VALUE_MIN	16		/* room for "SEQ:" in front of a value */
#define KVV_VALUE_MAX	(1u << 20)
#define KVV_PREFIX_MAX	64
#define KVV_RATE_MAX	10000000u
#define KVV_TIMELINE_MAX (1u << 22)	/* buckets: 16 MiB of counters */
#define KVV_PROGRESS_US	1000000		/* the progress line's period */
#define KVV_CATCHUP_US	20000		/* late SETs made up for, at most */
#define KVV_NOTES_MAX	10		/* odd replies and bad keys shown */
#define KVV_SHOW	60		/* bytes of a reply shown */

/* --- the run ------------------------------------------------------------- */

struct kvv_opts {
	const char *server;		/* HOST:PORT as given */
	char host[256];			/* its host, without [] */
	char port[8];
	char prefix[KVV_PREFIX_MAX + 1];/* the keys are PREFIX:SEQ */
	uint64_t rate;			/* SETs per second; 0: as replies come */
	uint64_t value_size;		/* bytes in every value */
	uint64_t duration_ms;		/* of the write phase; 0: until stopped */
	uint64_t stall_ms;		/* the longest wait for one reply */
	uint64_t timeline_ms;		/* one timeline bucket */
	bool json;			/* the summary as one JSON object */
	bool quiet;			/* no progress line */
};

/* Why the run ended before its end (anything but NONE: "survived no"). */
enum kvv_end {
	KVV_END_NONE,
	KVV_END_STALL,		/* no reply within the stall timeout */
	KVV_END_CLOSED,		/* EOF */
	KVV_END_ERROR,		/* a socket error: RST, EPIPE... */
	KVV_END_PROTOCOL,	/* not RESP2, or bytes nobody asked for */
};

enum kvv_want {
	KVV_IDLE,		/* nothing asked: any byte is unasked for */
	KVV_REPLY,		/* a reply is due */
	KVV_ROOM,		/* room in the socket to send */
};

struct kvv {
	const struct kvv_opts *o;
	int fd;				/* the one connection, non-blocking */
	char *in;			/* received, unparsed: in[in_start..in_end) */
	size_t in_start, in_end, in_cap;
	char *req;			/* one SET, or one batch of GETs */
	size_t req_cap;
	char *value;			/* scratch for an expected value */
	uint64_t seed;			/* the prefix's hash, in every value */
	char doing[KVV_PREFIX_MAX + 96];/* the request waited on, for messages */
	/*
	 * One bit per write: bit seq - 1 set when SET PREFIX:seq was
	 * answered +OK. Set in the write phase, read in the verify phase;
	 * grows by doubling (1 MiB per 8 million writes).
	 */
	uint64_t *acked;
	size_t acked_words;
	uint64_t sent;			/* SETs sent: seq 1..sent */
	uint64_t acknowledged;		/* answered +OK */
	uint64_t errors;		/* error replies, SET and GET */
	uint64_t lost, wrong, present;	/* the verify phase's counts */
	uint64_t checked;		/* keys read back so far */
	bool verified;			/* the verify phase went through */
	enum kvv_end end;
	bool stop;			/* the write phase is to end */
	bool stdin_open;		/* stdin is read for "stop" */
	char line[128];			/* stdin's line so far */
	size_t line_len;
	bool line_long;			/* that line is too long: ignored */
	unsigned notes;			/* odd replies and bad keys shown */
	/* the write phase's replies (mono us, real ms) */
	int64_t start_us, start_ms, end_us;
	uint64_t replies;
	int64_t last_us, last_ms;	/* the last reply; last_us -1: none yet */
	int64_t gap_from_us, gap_to_us;	/* the longest gap between two */
	int64_t gap_from_ms, gap_to_ms;
	uint64_t before_gap;		/* replies up to gap_from, included */
	uint32_t *timeline;		/* replies per timeline_ms bucket */
	size_t timeline_len, timeline_cap;
	bool timeline_cut;		/* KVV_TIMELINE_MAX reached */
	int64_t next_progress_us;
};

static volatile sig_atomic_t kvv_signalled;	/* a stop signal came */
static sigset_t kvv_waitmask;	/* in ppoll(): the stop signals let in */

static void kvv_on_signal(int sig)
{
	kvv_signalled = sig;
}

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *kvv_realloc(void *p, size_t size)
{
	p = realloc(p, size);
	if (!p) {
		fprintf(stderr, "kv_verify: out of memory (%zu bytes)\n", size);
		exit(1);
	}
	return p;
}

static __attribute__((format(printf, 3, 4)))
void kvv_fail(struct kvv *k, enum kvv_end end, const char *fmt, ...)
{
	va_list ap;

	k->end = end;
	fprintf(stderr, "kv_verify: %s: ", k->doing);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; the run ends, the connection did not survive\n");
}

/* bytes as C escapes, cut at KVV_SHOW, into out (4 * KVV_SHOW + 8). */
static const char *kvv_show(const char *data, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len && i < KVV_SHOW; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == '\r' || c == '\n')
			o += (size_t)sprintf(out + o, "\\%c", c == '\r' ? 'r' : 'n');
		else if (c < 0x20 || c > 0x7e || c == '\\' || c == '\'')
			o += (size_t)sprintf(out + o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	strcpy(out + o, len > KVV_SHOW ? "..." : "");
	return out;
}

static __attribute__((format(printf, 2, 3)))
void kvv_note(struct kvv *k, const char *fmt, ...)
{
	va_list ap;

	if (k->notes++ >= KVV_NOTES_MAX) {
		if (k->notes == KVV_NOTES_MAX + 1)
			fprintf(stderr, "kv_verify: (more not shown)\n");
		return;
	}
	fprintf(stderr, "kv_verify: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * The value of seq: "SEQ:" then letters from the prefix's hash and seq,
 * value_size bytes in all (the head cut if longer), into out.
 */
static void kvv_value(const struct kvv *k, uint64_t seq, char *out)
{
	size_t size = (size_t)k->o->value_size, i;
	uint64_t x = k->seed ^ (seq * 0x9e3779b97f4a7c15ull);
	char head[24];
	int n = snprintf(head, sizeof(head), "%" PRIu64 ":", seq);

	i = (size_t)n < size ? (size_t)n : size;
	memcpy(out, head, i);
	for (; i < size; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		out[i] = (char)('a' + (x >> 33) % 26);
	}
}

static bool kvv_acked(const struct kvv *k, uint64_t seq)
{
	return k->acked[(seq - 1) / 64] >> ((seq - 1) % 64) & 1;
}

/* Room in the bitmap for seq. */
static void kvv_bit_room(struct kvv *k, uint64_t seq)
{
	size_t need = (size_t)((seq + 63) / 64), words = k->acked_words;

	if (need <= words)
		return;
	words = words ? words * 2 : 1024;
	k->acked = kvv_realloc(k->acked, words * sizeof(*k->acked));
	memset(k->acked + k->acked_words, 0,
	       (words - k->acked_words) * sizeof(*k->acked));
	k->acked_words = words;
}

/* --- the connection ------------------------------------------------------ */

static void kvv_progress(struct kvv *k, bool writing)
{
	int64_t now = mono_us();
	int64_t ago = (now - (k->last_us >= 0 ? k->last_us : k->start_us)) / 1000;

	if (k->o->quiet || now < k->next_progress_us)
		return;
	k->next_progress_us = now + KVV_PROGRESS_US;
	if (writing)
		fprintf(stderr, "kv_verify: %" PRIu64 " acknowledged, last reply "
			"%" PRId64 " ms ago\n", k->acknowledged, ago);
	else
		fprintf(stderr, "kv_verify: verify: %" PRIu64 " of %" PRIu64
			" read back\n", k->checked, k->sent);
}

/* Lines on stdin: "stop" ends the write phase; EOF stops the reading. */
static void kvv_stdin(struct kvv *k, short revents)
{
	char buf[256];
	ssize_t n;

	n = revents & POLLNVAL ? 0 : read(STDIN_FILENO, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		k->stdin_open = false;
		buf[0] = '\n';		/* a last line without its newline */
		n = k->line_len ? 1 : 0;
	}
	for (ssize_t i = 0; i < n; i++) {
		char *s = k->line, *e;

		if (buf[i] != '\n') {
			if (k->line_len + 1 < sizeof(k->line))
				k->line[k->line_len++] = buf[i];
			else
				k->line_long = true;
			continue;
		}
		k->line[k->line_len] = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strlen(s);
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			*--e = '\0';
		if (!k->line_long && !strcmp(s, "stop"))
			k->stop = true;
		else if (*s || k->line_long)
			fprintf(stderr, "kv_verify: stdin: ignored a line other "
				"than \"stop\"\n");
		k->line_len = 0;
		k->line_long = false;
	}
}

/* Room for one recv() at in_end, within KVV_IN_MAX. */
static bool kvv_in_room(struct kvv *k)
{
	size_t cap = k->in_cap;

	if (k->in_start == k->in_end)
		k->in_start = k->in_end = 0;
	if (k->in_cap - k->in_end >= KVV_READ)
		return true;
	if (k->in_start) {
		memmove(k->in, k->in + k->in_start, k->in_end - k->in_start);
		k->in_end -= k->in_start;
		k->in_start = 0;
	}
	if (k->in_end + KVV_READ > KVV_IN_MAX)
		return false;		/* resp_reply_parse() refuses it before */
	while (cap - k->in_end < KVV_READ)
		cap = cap ? cap * 2 : 2 * KVV_READ;
	if (cap > KVV_IN_MAX)
		cap = KVV_IN_MAX;
	if (cap != k->in_cap) {
		k->in = kvv_realloc(k->in, cap);
		k->in_cap = cap;
	}
	return true;
}

static bool kvv_recv(struct kvv *k, enum kvv_want want)
{
	ssize_t n;

	if (!kvv_in_room(k)) {
		kvv_fail(k, KVV_END_PROTOCOL, "protocol error: over %u bytes "
			 "unparsed", KVV_IN_MAX);
		return false;
	}
	n = recv(k->fd, k->in + k->in_end, k->in_cap - k->in_end, 0);
	if (n > 0 && want == KVV_IDLE) {
		kvv_fail(k, KVV_END_PROTOCOL, "protocol error: %zd bytes came "
			 "with no request outstanding", n);
		return false;
	}
	if (n > 0) {
		k->in_end += (size_t)n;
		return true;
	}
	if (n == 0) {
		kvv_fail(k, KVV_END_CLOSED, "the server closed the connection");
		return false;
	}
	if (errno == EAGAIN || errno == EINTR)
		return true;
	kvv_fail(k, KVV_END_ERROR, "recv: %s", strerror(errno));
	return false;
}

/*
 * One wait, until until_us at the latest, for the connection (want)
 * and, in the write phase, stdin and the stop signals; the progress
 * line meanwhile. Received bytes go into k->in. False when the run
 * ended (k->end says why).
 */
static bool kvv_wait(struct kvv *k, enum kvv_want want, int64_t until_us,
		     bool writing)
{
	struct pollfd pfd[2] = {
		{ .fd = k->fd, .events = POLLIN | (want == KVV_ROOM ? POLLOUT : 0) },
		{ .fd = STDIN_FILENO, .events = POLLIN },
	};
	nfds_t nfds = writing && k->stdin_open ? 2 : 1;
	int64_t left;
	struct timespec ts;
	int ret;

	if (!k->o->quiet && k->next_progress_us < until_us)
		until_us = k->next_progress_us;
	left = until_us - mono_us();
	if (left < 0)
		left = 0;
	ts.tv_sec = (time_t)(left / 1000000);
	ts.tv_nsec = (long)(left % 1000000) * 1000;
	ret = ppoll(pfd, nfds, &ts, &kvv_waitmask);
	if (ret < 0 && errno != EINTR) {
		kvv_fail(k, KVV_END_ERROR, "ppoll: %s", strerror(errno));
		return false;
	}
	if (writing && kvv_signalled)
		k->stop = true;
	kvv_progress(k, writing);
	if (ret <= 0)
		return true;
	if (nfds == 2 && pfd[1].revents)
		kvv_stdin(k, pfd[1].revents);
	if (pfd[0].revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL))
		return kvv_recv(k, want);
	return true;
}

/* Send all of buf by until_us. False when the run ended. */
static bool kvv_send(struct kvv *k, const char *buf, size_t len,
		     int64_t until_us, bool writing)
{
	while (len) {
		ssize_t n = send(k->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			kvv_fail(k, KVV_END_ERROR, "send: %s", strerror(errno));
			return false;
		}
		if (mono_us() >= until_us) {
			kvv_fail(k, KVV_END_STALL, "the server took no bytes "
				 "for %" PRIu64 " ms (--stall-timeout-ms)",
				 k->o->stall_ms);
			return false;
		}
		if (!kvv_wait(k, KVV_ROOM, until_us, writing))
			return false;
	}
	return true;
}

/* The next reply, waited for until until_us. False when the run ended. */
static bool kvv_reply(struct kvv *k, struct resp_reply *r, int64_t until_us,
		      bool writing)
{
	for (;;) {
		char why[96];
		int ret = resp_reply_parse(k->in + k->in_start, k->in_end - k->in_start,
				     r, why, sizeof(why));

		if (ret == RESP_REPLY_DONE)
			return true;
		if (ret == RESP_REPLY_BAD) {
			kvv_fail(k, KVV_END_PROTOCOL, "protocol error: %s", why);
			return false;
		}
		if (mono_us() >= until_us) {
			kvv_fail(k, KVV_END_STALL, "no reply in %" PRIu64 " ms "
				 "(--stall-timeout-ms)", k->o->stall_ms);
			return false;
		}
		if (!kvv_wait(k, KVV_REPLY, until_us, writing))
			return false;
	}
}

/* The request batch is over: any byte left is a reply nobody asked for. */
static bool kvv_drained(struct kvv *k)
{
	if (k->in_start == k->in_end)
		return true;
	kvv_fail(k, KVV_END_PROTOCOL, "protocol error: %zu bytes after the "
		 "last reply due", k->in_end - k->in_start);
	return false;
}

/* --- step 1: write ------------------------------------------------------- */

/* A write-phase reply now: the longest gap, the timeline. */
static void kvv_count_reply(struct kvv *k)
{
	int64_t now = mono_us(), real = real_ms();
	uint64_t b = (uint64_t)(now - k->start_us) / (k->o->timeline_ms * 1000);

	if (k->last_us < 0) {
		k->gap_from_us = k->gap_to_us = now;
		k->gap_from_ms = k->gap_to_ms = real;
	} else if (now - k->last_us > k->gap_to_us - k->gap_from_us) {
		k->gap_from_us = k->last_us;
		k->gap_to_us = now;
		k->gap_from_ms = k->last_ms;
		k->gap_to_ms = real;
		k->before_gap = k->replies;
	}
	k->last_us = now;
	k->last_ms = real;
	k->replies++;
	if (b >= KVV_TIMELINE_MAX) {
		k->timeline_cut = true;
		return;
	}
	if (b >= k->timeline_cap) {
		size_t cap = k->timeline_cap ? k->timeline_cap : 256;

		while (cap <= b)
			cap *= 2;
		k->timeline = kvv_realloc(k->timeline, cap * sizeof(*k->timeline));
		memset(k->timeline + k->timeline_cap, 0,
		       (cap - k->timeline_cap) * sizeof(*k->timeline));
		k->timeline_cap = cap;
	}
	if (b >= k->timeline_len)
		k->timeline_len = (size_t)b + 1;
	k->timeline[b]++;
}

static size_t kvv_set_request(struct kvv *k, uint64_t seq)
{
	char key[KVV_PREFIX_MAX + 24];
	int klen = snprintf(key, sizeof(key), "%s:%" PRIu64, k->o->prefix, seq);
	int n = snprintf(k->req, k->req_cap, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n"
			 "$%" PRIu64 "\r\n", klen, key, k->o->value_size);
	size_t len = (size_t)n;

	kvv_value(k, seq, k->req + len);
	len += (size_t)k->o->value_size;
	memcpy(k->req + len, "\r\n", 2);
	return len + 2;
}

static void kvv_write_phase(struct kvv *k)
{
	const struct kvv_opts *o = k->o;
	int64_t interval = o->rate ? (int64_t)(1000000 / o->rate) : 0;
	int64_t end = o->duration_ms ? k->start_us + (int64_t)o->duration_ms * 1000
				     : INT64_MAX;
	int64_t next = k->start_us;	/* when the next SET is due */

	for (;;) {
		int64_t now = mono_us();
		char shown[4 * KVV_SHOW + 8];
		struct resp_reply r;
		uint64_t seq = k->sent + 1;
		size_t len;

		if (k->stop || now >= end)
			break;
		if (now < next) {
			snprintf(k->doing, sizeof(k->doing), "before SET %s:%" PRIu64
				 " (--rate)", o->prefix, seq);
			if (!kvv_wait(k, KVV_IDLE, next < end ? next : end, true))
				break;
			continue;
		}
		kvv_bit_room(k, seq);
		len = kvv_set_request(k, seq);
		snprintf(k->doing, sizeof(k->doing), "SET %s:%" PRIu64, o->prefix, seq);
		if (!kvv_send(k, k->req, len, now + (int64_t)o->stall_ms * 1000, true))
			break;
		k->sent = seq;
		/* the schedule: a late SET is made up for, but no more than
		 * KVV_CATCHUP_US of them (not a failover's gap: the rate
		 * after it is the rate asked for) */
		next += interval;
		if (next < now - KVV_CATCHUP_US)
			next = now - KVV_CATCHUP_US;
		if (!kvv_reply(k, &r, now + (int64_t)o->stall_ms * 1000, true))
			break;
		kvv_count_reply(k);
		if (r.type == '+' && r.len == 2 && !memcmp(r.data, "OK", 2)) {
			k->acked[(seq - 1) / 64] |= 1ull << ((seq - 1) % 64);
			k->acknowledged++;
		} else {
			k->errors++;
			kvv_note(k, "SET %s:%" PRIu64 " answered '%s': not "
				 "acknowledged", o->prefix, seq,
				 kvv_show(k->in + k->in_start, r.size, shown));
		}
		k->in_start += r.size;
		if (!kvv_drained(k))
			break;
	}
	k->end_us = mono_us();
}

/* --- step 2: verify ------------------------------------------------------ */

/* GET of first..first+n-1 into k->req: its length. */
static size_t kvv_get_requests(struct kvv *k, uint64_t first, uint64_t n)
{
	size_t len = 0;

	for (uint64_t seq = first; seq < first + n; seq++) {
		char key[KVV_PREFIX_MAX + 24];
		int klen = snprintf(key, sizeof(key), "%s:%" PRIu64,
				    k->o->prefix, seq);

		len += (size_t)snprintf(k->req + len, k->req_cap - len,
					"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", klen, key);
	}
	return len;
}

/* What GET PREFIX:seq read back, against what was written and answered. */
static void kvv_check(struct kvv *k, uint64_t seq, const struct resp_reply *r)
{
	bool acked = kvv_acked(k, seq);
	size_t size = (size_t)k->o->value_size;
	char shown[4 * KVV_SHOW + 8];
	bool same = false;

	if (r->type == '$' && !r->nil && r->len == size) {
		kvv_value(k, seq, k->value);
		same = !memcmp(r->data, k->value, size);
	}
	if (r->type == '-')
		k->errors++;
	if (r->type == '$' && !r->nil && !acked)
		k->present++;
	k->checked++;
	if (!acked || same)
		return;
	if (r->type == '$' && r->nil) {
		k->lost++;
		kvv_note(k, "%s:%" PRIu64 " acknowledged, and lost (nil)",
			 k->o->prefix, seq);
		return;
	}
	k->wrong++;
	kvv_note(k, "%s:%" PRIu64 " acknowledged, and reads back '%s'",
		 k->o->prefix, seq, kvv_show(k->in + k->in_start, r->size, shown));
}

static void kvv_verify_phase(struct kvv *k)
{
	int64_t stall = (int64_t)k->o->stall_ms * 1000;

	k->next_progress_us = mono_us() + KVV_PROGRESS_US;
	for (uint64_t first = 1; first <= k->sent; first += KVV_BATCH) {
		uint64_t n = k->sent - first + 1 < KVV_BATCH ? k->sent - first + 1
							     : KVV_BATCH;
		size_t len = kvv_get_requests(k, first, n);
		int64_t until = mono_us() + stall;

		snprintf(k->doing, sizeof(k->doing), "GET %s:%" PRIu64 "..%" PRIu64,
			 k->o->prefix, first, first + n - 1);
		if (!kvv_send(k, k->req, len, until, false))
			return;
		for (uint64_t seq = first; seq < first + n; seq++) {
			struct resp_reply r;

			snprintf(k->doing, sizeof(k->doing), "GET %s:%" PRIu64,
				 k->o->prefix, seq);
			if (!kvv_reply(k, &r, until, false))
				return;
			kvv_check(k, seq, &r);
			k->in_start += r.size;
			until = mono_us() + stall;
		}
		if (!kvv_drained(k))
			return;
	}
	k->verified = true;
}

/* --- the summary --------------------------------------------------------- */

/* Replies per second over [from_us, to_us]; 0 for an empty span. */
static double kvv_rate(uint64_t replies, int64_t from_us, int64_t to_us)
{
	return to_us > from_us ? (double)replies * 1e6 / (double)(to_us - from_us) : 0;
}

/* The summary in either form: text lines or one JSON object. */
struct kvv_out {
	bool json;
	unsigned entries;	/* JSON members so far */
};

/*
 * One entry: the line "name  text" (text NULL: none), or the member
 * "name_with_underscores": jval (jval NULL: none).
 */
static void kvv_entry(struct kvv_out *out, const char *name, const char *text,
		      const char *jval)
{
	if (!out->json) {
		if (text)
			printf("%s  %s\n", name, text);
		return;
	}
	if (!jval)
		return;
	printf("%s\"", out->entries++ ? ", " : "{");
	for (; *name; name++)
		putchar(*name == ' ' ? '_' : *name);
	printf("\": %s", jval);
}

/* A count as both forms want it: v, or unknown / null when !known. */
static void kvv_entry_count(struct kvv_out *out, const char *name, bool known,
			    uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, v);
	kvv_entry(out, name, known ? num : "unknown", known ? num : "null");
}

/* s as a JSON string into buf (len bytes; cut if s does not fit). */
static const char *kvv_json_string(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	buf[o++] = '"';
	for (; *s && o + 8 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			o += (size_t)sprintf(buf + o, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			o += (size_t)sprintf(buf + o, "\\u%04x", c);
		else
			buf[o++] = (char)c;
	}
	strcpy(buf + o, "\"");
	return buf;
}

static void kvv_summary(const struct kvv *k)
{
	const struct kvv_opts *o = k->o;
	struct kvv_out out = { .json = o->json, .entries = 0 };
	int64_t gap_ms = (k->gap_to_us - k->gap_from_us + 500) / 1000;
	bool survived = k->end == KVV_END_NONE;
	char text[128], json[512];

	kvv_entry(&out, "server", NULL, kvv_json_string(o->server, json, sizeof(json)));
	kvv_entry(&out, "key prefix", o->prefix,
		  kvv_json_string(o->prefix, json, sizeof(json)));
	kvv_entry_count(&out, "writes sent", true, k->sent);
	kvv_entry_count(&out, "writes acknowledged", true, k->acknowledged);
	kvv_entry_count(&out, "acknowledged writes lost", k->verified, k->lost);
	kvv_entry_count(&out, "acknowledged writes wrong", k->verified, k->wrong);
	kvv_entry_count(&out, "unacknowledged writes present", k->verified,
			k->present);
	kvv_entry_count(&out, "error replies", true, k->errors);
	kvv_entry(&out, "connection survived", survived ? "yes" : "no",
		  survived ? "true" : "false");
	snprintf(text, sizeof(text), "%" PRId64 " ms (from %" PRId64 " to %"
		 PRId64 ")", gap_ms, k->gap_from_ms, k->gap_to_ms);
	kvv_entry(&out, "longest reply gap", text, NULL);
	snprintf(json, sizeof(json), "%" PRId64, gap_ms);
	kvv_entry(&out, "longest reply gap ms", NULL, json);
	snprintf(json, sizeof(json), "%" PRId64, k->gap_from_ms);
	kvv_entry(&out, "longest reply gap from ms", NULL, json);
	snprintf(json, sizeof(json), "%" PRId64, k->gap_to_ms);
	kvv_entry(&out, "longest reply gap to ms", NULL, json);
	snprintf(text, sizeof(text), "%.1f",
		 kvv_rate(k->before_gap, k->start_us, k->gap_from_us));
	kvv_entry(&out, "replies per second before gap", text, text);
	snprintf(text, sizeof(text), "%.1f",
		 kvv_rate(k->replies - k->before_gap, k->gap_to_us, k->end_us));
	kvv_entry(&out, "replies per second after gap", text, text);
	/* the timeline, in its own words */
	if (out.json)
		printf(", \"timeline_ms\": %" PRIu64 ", \"timeline_start_ms\": %"
		       PRId64 ", \"timeline_cut\": %s, \"timeline\": [",
		       o->timeline_ms, k->start_ms, k->timeline_cut ? "true" : "false");
	else
		printf("timeline  %" PRIu64 " ms buckets from %" PRId64 ":",
		       o->timeline_ms, k->start_ms);
	for (size_t i = 0; i < k->timeline_len; i++)
		printf("%s%" PRIu32, !out.json ? " " : i ? ", " : "", k->timeline[i]);
	printf("%s\n", out.json ? "]}" : k->timeline_cut ? " (cut)" : "");
}

/* --- the command line ---------------------------------------------------- */

static void kvv_usage(FILE *f)
{
	fprintf(f,
"usage: kv_verify --server HOST:PORT [--prefix P] [--rate N[/s]]\n"
"                 [--value-size N] [--duration-ms N] [--stall-timeout-ms N]\n"
"                 [--timeline-ms N] [--json] [--quiet]\n"
"\n"
"On one TCP connection, opened once and never reopened: SET P:1, P:2, ...\n"
"one at a time (+OK: acknowledged), then GET every key back and count the\n"
"acknowledged writes lost or wrong.\n"
"\n"
"  --server HOST:PORT     the Redis-protocol server ([ADDR]:PORT for IPv6)\n"
"  --prefix P             keys are P:SEQ (default kvv-PID-MS, new every run);\n"
"                         1 to %d of A-Z a-z 0-9 . _ - :\n"
"  --rate N[/s]           SETs per second; 0 (default): as fast as replies come\n"
"  --value-size N         bytes per value, %d to %u (default 32): \"SEQ:\" then\n"
"                         letters made from P and SEQ\n"
"  --duration-ms N        end the writes after N ms; 0 (default): at SIGUSR1,\n"
"                         SIGTERM, SIGINT or a line \"stop\" on stdin (any of\n"
"                         them also ends them early; a second SIGTERM or\n"
"                         SIGINT kills)\n"
"  --stall-timeout-ms N   the longest wait for one reply (default 30000);\n"
"                         longer ends the run, as EOF or a reset does\n"
"  --timeline-ms N        a timeline bucket (default 100)\n"
"  --json                 the summary as one JSON object\n"
"  --quiet                no progress line on stderr\n"
"\n"
"The summary on stdout, one \"name  value\" line each (CLOCK_REALTIME ms):\n"
"  key prefix  P\n"
"  writes sent  N\n"
"  writes acknowledged  N\n"
"  acknowledged writes lost  N          (unknown when not verified)\n"
"  acknowledged writes wrong  N         (the same)\n"
"  unacknowledged writes present  N     (in doubt, present; the same)\n"
"  error replies  N\n"
"  connection survived  yes|no\n"
"  longest reply gap  N ms (from T1 to T2)\n"
"  replies per second before gap  X\n"
"  replies per second after gap  Y\n"
"  timeline  N ms buckets from T: COUNT COUNT ...\n"
"\n"
"Exit status: 0 when no acknowledged write is lost or wrong and the\n"
"connection survived, 1 otherwise, 2 for bad usage or no connection.\n",
		KVV_PREFIX_MAX, KVV_VALUE_MIN, KVV_VALUE_MAX);
}

static __attribute__((format(printf, 3, 4)))
int kvv_bad(const char *opt, const char *arg, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kv_verify: %s '%s': ", opt, arg);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (kv_verify --help)\n");
	return -1;
}

/* arg, a whole number in [min, max] maybe followed by suffix, into *v. */
static int kvv_number(const char *opt, const char *arg, uint64_t min,
		      uint64_t max, const char *suffix, uint64_t *v)
{
	unsigned long long x;
	char *end;

	if (arg[0] < '0' || arg[0] > '9')
		return kvv_bad(opt, arg, "not a whole number");
	errno = 0;
	x = strtoull(arg, &end, 10);
	if (*end && !(suffix && !strcmp(end, suffix)))
		return kvv_bad(opt, arg, "not a whole number");
	if (errno == ERANGE || x > max)
		return kvv_bad(opt, arg, "more than %" PRIu64, max);
	if (x < min)
		return kvv_bad(opt, arg, "less than %" PRIu64, min);
	*v = x;
	return 0;
}

/* HOST:PORT or [ADDR]:PORT into o->host and o->port. */
static int kvv_server(struct kvv_opts *o, const char *arg)
{
	const char *host = arg, *colon;
	unsigned long port;
	size_t len;
	char *end;

	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');

		if (!close || close[1] != ':')
			return kvv_bad("--server", arg, "not [ADDR]:PORT");
		host = arg + 1;
		len = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(arg, ':');
		if (!colon)
			return kvv_bad("--server", arg, "not HOST:PORT");
		len = (size_t)(colon - arg);
		if (memchr(arg, ':', len))
			return kvv_bad("--server", arg, "an IPv6 address is "
				       "written [ADDR]:PORT");
	}
	if (len == 0 || len >= sizeof(o->host))
		return kvv_bad("--server", arg, "no host, or one over %zu bytes",
			       sizeof(o->host) - 1);
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end || errno || port < 1 ||
	    port > 65535)
		return kvv_bad("--server", arg, "the port is not 1..65535");
	memcpy(o->host, host, len);
	o->host[len] = '\0';
	snprintf(o->port, sizeof(o->port), "%lu", port);
	o->server = arg;
	return 0;
}

static int kvv_prefix(struct kvv_opts *o, const char *arg)
{
	size_t len = strlen(arg);

	if (len == 0 || len > KVV_PREFIX_MAX)
		return kvv_bad("--prefix", arg, "not 1 to %d bytes", KVV_PREFIX_MAX);
	if (strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		   "0123456789._-:") != len)
		return kvv_bad("--prefix", arg, "only A-Z a-z 0-9 . _ - : may "
			       "be in it");
	memcpy(o->prefix, arg, len + 1);
	return 0;
}

/* The options into *o: 0, or -1 after saying what is wrong. */
static int kvv_options(struct kvv_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "rate", required_argument, NULL, 'r' },
		{ "value-size", required_argument, NULL, 'v' },
		{ "duration-ms", required_argument, NULL, 'd' },
		{ "stall-timeout-ms", required_argument, NULL, 't' },
		{ "timeline-ms", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, ret = 0;

	memset(o, 0, sizeof(*o));
	o->value_size = 32;
	o->stall_ms = 30000;
	o->timeline_ms = 100;
	snprintf(o->prefix, sizeof(o->prefix), "kvv-%d-%" PRId64, (int)getpid(),
		 real_ms());
	opterr = 0;
	while (!ret && (c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			ret = kvv_server(o, optarg);
			break;
		case 'p':
			ret = kvv_prefix(o, optarg);
			break;
		case 'r':
			ret = kvv_number("--rate", optarg, 0, KVV_RATE_MAX, "/s",
					 &o->rate);
			break;
		case 'v':
			ret = kvv_number("--value-size", optarg, KVV_VALUE_MIN,
					 KVV_VALUE_MAX, NULL, &o->value_size);
			break;
		case 'd':
			ret = kvv_number("--duration-ms", optarg, 0,
					 INT64_MAX / 1000 - 1, NULL, &o->duration_ms);
			break;
		case 't':
			ret = kvv_number("--stall-timeout-ms", optarg, 1,
					 INT32_MAX, NULL, &o->stall_ms);
			break;
		case 'l':
			ret = kvv_number("--timeline-ms", optarg, 1, 3600000,
					 NULL, &o->timeline_ms);
			break;
		case 'j':
			o->json = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			kvv_usage(stdout);
			exit(0);
		case ':':
			fprintf(stderr, "kv_verify: %s needs a value (kv_verify "
				"--help)\n", argv[optind - 1]);
			return -1;
		default:
			if (optopt)
				fprintf(stderr, "kv_verify: unknown option '-%c' "
					"(kv_verify --help)\n", optopt);
			else
				fprintf(stderr, "kv_verify: unknown option '%s' "
					"(kv_verify --help)\n", argv[optind - 1]);
			return -1;
		}
	}
	if (ret)
		return ret;
	if (optind < argc) {
		fprintf(stderr, "kv_verify: unexpected argument '%s' (kv_verify "
			"--help)\n", argv[optind]);
		return -1;
	}
	if (!o->server) {
		fprintf(stderr, "kv_verify: --server HOST:PORT is required "
			"(kv_verify --help)\n");
		return -1;
	}
	return 0;
}

/* --- main ---------------------------------------------------------------- */

/*
 * SIGUSR1, SIGTERM and SIGINT end the write phase: blocked but in
 * ppoll(), so none is lost between a check and a wait. SIGTERM and
 * SIGINT kill the second time; a SIGINT ignored by the parent (a
 * background job of a shell script) stays ignored.
 */
static void kvv_signals(void)
{
	static const int sigs[] = { SIGUSR1, SIGTERM, SIGINT };
	struct sigaction sa, old;
	sigset_t block;

	sigemptyset(&block);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&block, sigs[i]);
	sigprocmask(SIG_BLOCK, &block, &kvv_waitmask);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kvv_on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sa.sa_flags = sigs[i] == SIGUSR1 ? 0 : SA_RESETHAND;
		if (sigs[i] == SIGINT && sigaction(SIGINT, NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
		sigdelset(&kvv_waitmask, sigs[i]);
	}
	signal(SIGPIPE, SIG_IGN);
}

/* connect() fd to ai within timeout_ms: 0 or an errno. */
static int kvv_connect_one(int fd, const struct addrinfo *ai, uint64_t timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int64_t until = mono_us() + (int64_t)timeout_ms * 1000;
	socklen_t len = sizeof(int);
	int err = 0;

	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return errno;
	for (;;) {
		int64_t left = until - mono_us();
		struct timespec ts;
		int ret;

		if (left <= 0)
			return ETIMEDOUT;
		ts.tv_sec = (time_t)(left / 1000000);
		ts.tv_nsec = (long)(left % 1000000) * 1000;
		ret = ppoll(&pfd, 1, &ts, &kvv_waitmask);
		if (kvv_signalled)
			return EINTR;
		if (ret > 0)
			break;
		if (ret < 0 && errno != EINTR)
			return errno;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}

/* The one connection, TCP_NODELAY and non-blocking; -1 after saying why. */
static int kvv_connect(const struct kvv_opts *o)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV,
	}, *res, *ai;
	int fd = -1, err = ECONNREFUSED, one = 1;
	int gai = getaddrinfo(o->host, o->port, &hints, &res);

	if (gai) {
		fprintf(stderr, "kv_verify: --server '%s': %s\n", o->server,
			gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
		return -1;
	}
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
			    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		err = kvv_connect_one(fd, ai, o->stall_ms);
		if (err) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "kv_verify: cannot connect to %s: %s\n",
			o->server, strerror(err));
		return -1;
	}
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
		fprintf(stderr, "kv_verify: setsockopt TCP_NODELAY: %s\n",
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* FNV-1a of s: the prefix's part of every value. */
static uint64_t kvv_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

int main(int argc, char **argv)
{
	struct kvv_opts o;
	struct kvv k;
	bool ok;

	if (kvv_options(&o, argc, argv))
		return 2;
	kvv_signals();
	memset(&k, 0, sizeof(k));
	k.o = &o;
	k.last_us = -1;
	k.seed = kvv_hash(o.prefix);
	k.stdin_open = true;
	k.req_cap = (size_t)o.value_size + KVV_PREFIX_MAX + 96;
	if (k.req_cap < KVV_BATCH * (KVV_PREFIX_MAX + 64))
		k.req_cap = KVV_BATCH * (KVV_PREFIX_MAX + 64);
	k.fd = kvv_connect(&o);
	if (k.fd < 0)
		return 2;
	k.req = kvv_realloc(NULL, k.req_cap);
	k.value = kvv_realloc(NULL, (size_t)o.value_size);
	if (!o.quiet)
		fprintf(stderr, "kv_verify: connected to %s, writing %s:1, "
			"%s:2, ...\n", o.server, o.prefix, o.prefix);
	k.start_us = mono_us();
	k.start_ms = real_ms();
	k.gap_from_us = k.gap_to_us = k.start_us;
	k.gap_from_ms = k.gap_to_ms = k.start_ms;
	k.next_progress_us = k.start_us + KVV_PROGRESS_US;
	kvv_write_phase(&k);
	if (k.end == KVV_END_NONE)
		kvv_verify_phase(&k);
	kvv_summary(&k);
	ok = k.verified && !k.lost && !k.wrong && k.end == KVV_END_NONE;
	close(k.fd);
	free(k.in);
	free(k.req);
	free(k.value);
	free(k.acked);
	free(k.timeline);
	return ok ? 0 : 1;
}
