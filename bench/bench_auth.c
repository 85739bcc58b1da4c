/*
 * bench_auth - what authenticating the replication link costs
 * (checkpoint/auth.c): the per-record tag against the plain stream.
 *
 *   bench_auth [--seconds S] [--mib N] [--csv FILE]
 *
 * 1. In memory, per record size (4 KiB, 64 KiB, a PAGES record of 256
 *    pages, 8 MiB: COLO_RECORD_MAX): GB/s of CRC-32C alone (what the
 *    plain stream computes), of the GMAC tag alone (auth_seal; auth_open
 *    is the same work), of HMAC-SHA256 (for comparison: what an HMAC tag
 *    would cost), and of a record's whole check at both ends, plain
 *    (CRC on send and on receipt) and authenticated (CRC and tag on
 *    each side).
 * 2. Through two channels over a socketpair on one event loop (one core
 *    doing both ends, as the figures above): N MiB of 1 MiB PAGES
 *    records, plain and authenticated, MB/s and their ratio.
 *
 * Each figure is the median of 5 rounds of S seconds (default 0.3).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth.h"
#include "bench_util.h"
#include "channel.h"
#include "colo_proto.h"
#include "crc32c.h"
#include "log.h"

#define ROUNDS		5
#define PAGES_RECORD	(RECORD_PAGES * (COLO_PAGE_HDR + 4096))
#define RECORD_PAGES	256		/* RAM_SAVE_BATCH_PAGES */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A key; two sessions that did the handshake with each other (tx, rx),
 * and one more that only seals (gm). */
static struct auth_key key;
static struct auth_session *tx, *rx, *gm, *gm_peer;

/* An initiator and a responder past their handshake. */
static int session_pair(struct auth_session **ip, struct auth_session **rp)
{
	struct auth_msg m, reply;
	struct auth_session *i, *r;
	char why[512];

	i = auth_session_new(&key, AUTH_INITIATOR, "bench");
	r = auth_session_new(&key, AUTH_RESPONDER, "bench");
	if (!i || !r || auth_begin(i, &m) || auth_begin(r, &reply) ||
	    auth_step(r, m.type, m.payload, m.len, &reply, why, sizeof(why)) ||
	    auth_step(i, reply.type, reply.payload, reply.len, &m, why,
		      sizeof(why)) ||
	    auth_step(r, m.type, m.payload, m.len, &reply, why, sizeof(why)) ||
	    !auth_done(i) || !auth_done(r)) {
		fprintf(stderr, "bench_auth: the handshake failed\n");
		return -1;
	}
	*ip = i;
	*rp = r;
	return 0;
}

static int sessions(void)
{
	memset(&key, 0, sizeof(key));
	for (int b = 0; b < AUTH_KEY_LEN; b++)
		key.bytes[b] = (uint8_t)(b * 37 + 11);
	memcpy(key.id, "benchkey", AUTH_KEY_ID_LEN);
	snprintf(key.path, sizeof(key.path), "(bench)");
	return session_pair(&tx, &rx) || session_pair(&gm, &gm_peer) ? -1 : 0;
}

/* --- 1. in memory -------------------------------------------------------------- */

enum what { CRC, GMAC, HMAC_SHA, PLAIN_BOTH, AUTH_BOTH, NR_WHAT };
static const char *const what_name[NR_WHAT] = {
	"crc32c", "gmac", "hmac-sha256", "record plain", "record auth",
};

static volatile uint32_t sink;

/* One record of len at buf through w; false if a tag did not verify. */
static bool once(enum what w, const uint8_t *buf, uint32_t len)
{
	struct iovec iov = { (void *)buf, len };
	uint8_t hdr[COLO_RECORD_HDR], tag[COLO_TAG_LEN], mac[32];
	unsigned mlen;

	switch (w) {
	case CRC:
		sink += crc32c(0, buf, len);
		return true;
	case GMAC:
		colo_record_header_flags(hdr, COLO_PAGES, COLO_FLAG_TAG, &iov, 0);
		put_be32(hdr + 4, len);
		auth_seal(gm, hdr, &iov, 1, tag);
		sink += tag[0];
		return true;
	case HMAC_SHA:
		HMAC(EVP_sha256(), key.bytes, AUTH_KEY_LEN, buf, len, mac, &mlen);
		sink += mac[0];
		return true;
	case PLAIN_BOTH:
		colo_record_header(hdr, COLO_PAGES, &iov, 1);	/* send */
		sink += colo_record_crc(hdr, buf, len) == get_be32(hdr + 8);
		return true;
	default:
		colo_record_header_flags(hdr, COLO_PAGES, COLO_FLAG_TAG, &iov, 1);
		if (auth_seal(tx, hdr, &iov, 1, tag))
			return false;
		sink += colo_record_crc(hdr, buf, len) == get_be32(hdr + 8);
		return auth_open(rx, hdr, buf, len, tag) == 0;
	}
}

static double gbps(enum what w, const uint8_t *buf, uint32_t len, double secs)
{
	double r[ROUNDS];

	for (int k = 0; k < ROUNDS; k++) {
		double t0 = now_s(), t;
		uint64_t bytes = 0;

		do {
			for (int j = 0; j < 8; j++) {
				if (!once(w, buf, len)) {
					fprintf(stderr, "bench_auth: a tag did "
						"not verify\n");
					exit(1);
				}
				bytes += len;
			}
			t = now_s() - t0;
		} while (t < secs);
		r[k] = (double)bytes / t / 1e9;
	}
	return bench_median(r, sizeof(r[0]), 0, ROUNDS);
}

/* --- 2. through channels -------------------------------------------------------- */

struct sink_end {
	uint64_t bytes;
	int closed;
};

static int on_record(struct channel *ch, uint16_t type, const uint8_t *payload,
		     uint32_t len, void *opaque)
{
	struct sink_end *e = opaque;

	(void)ch;
	(void)type;
	(void)payload;
	e->bytes += len;
	return 0;
}

static void on_closed(struct channel *ch, const char *why, void *opaque)
{
	(void)ch;
	(void)why;
	((struct sink_end *)opaque)->closed = 1;
}

static const struct channel_ops ops = { .record = on_record,
					.closed = on_closed };

/* MB/s of mib MiB of PAGES records from one channel to another. */
static double stream_mbps(bool authed, const uint8_t *rec, uint64_t mib)
{
	struct event_base *base = event_base_new();
	struct sink_end a = { 0 }, b = { 0 };
	uint64_t want = mib << 20, sent = 0;
	struct channel *ca, *cb;
	double t0, t;
	int sv[2];

	if (!base || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		exit(1);
	/* room for a few records in the socket, as TCP would have */
	for (int i = 0; i < 2; i++) {
		int sz = 4 << 20;

		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	ca = channel_new(base, sv[0], &ops, &a, "sender");
	cb = channel_new(base, sv[1], &ops, &b, "receiver");
	if (!ca || !cb ||
	    channel_auth(ca, authed ? &key : NULL, AUTH_INITIATOR, 0) ||
	    channel_auth(cb, authed ? &key : NULL, AUTH_RESPONDER, 0))
		exit(1);
	while (authed && !channel_authenticated(ca))
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	t0 = now_s();
	while (b.bytes < want && !b.closed) {
		while (sent < want && channel_pending(ca) < CHANNEL_LOW_WATERMARK) {
			channel_send(ca, COLO_PAGES, rec, PAGES_RECORD);
			sent += PAGES_RECORD;
		}
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	}
	t = now_s() - t0;
	if (b.closed) {
		fprintf(stderr, "bench_auth: the stream was dropped\n");
		exit(1);
	}
	channel_free(ca);
	channel_free(cb);
	event_base_free(base);
	return (double)b.bytes / t / 1e6;
}

int main(int argc, char **argv)
{
	static const uint32_t sizes[] = { 4096, 65536, PAGES_RECORD,
					  COLO_RECORD_MAX };
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "mib", required_argument, NULL, 'm' },
		{ "csv", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	double secs = 0.3, r[ROUNDS], plain = 0;
	unsigned long mib = 2048;
	const char *csv = NULL;
	uint8_t *buf;
	FILE *out = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			secs = atof(optarg);
			break;
		case 'm':
			mib = strtoul(optarg, NULL, 10);
			break;
		case 'c':
			csv = optarg;
			break;
		default:
			fprintf(stderr, "usage: bench_auth [--seconds S] [--mib N] "
				"[--csv FILE]\n");
			return 2;
		}
	}
	if (secs <= 0 || !mib) {
		fprintf(stderr, "bench_auth: give --seconds above 0 and --mib "
			"of 1 or more\n");
		return 2;
	}
	log_set_level(LOG_WARN);
	buf = malloc(COLO_RECORD_MAX);
	if (!buf || sessions())
		return 1;
	for (size_t i = 0; i < COLO_RECORD_MAX; i++)
		buf[i] = (uint8_t)(i * 131 + (i >> 12));
	if (csv && !(out = fopen(csv, "w"))) {
		fprintf(stderr, "bench_auth: cannot write %s: %s\n", csv,
			strerror(errno));
		return 1;
	}
	if (out)
		fprintf(out, "test,record_bytes,what,value,unit\n");
	printf("== the tag's cost in memory, GB/s (one core, median of %d)\n",
	       ROUNDS);
	printf("%12s", "record");
	for (int w = 0; w < NR_WHAT; w++)
		printf("  %13s", what_name[w]);
	printf("  %10s\n", "auth/plain");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		double v[NR_WHAT];

		printf("%12u", sizes[s]);
		for (int w = 0; w < NR_WHAT; w++) {
			v[w] = gbps((enum what)w, buf, sizes[s], secs);
			printf("  %13.2f", v[w]);
			if (out)
				fprintf(out, "memory,%u,%s,%.3f,GB/s\n", sizes[s],
					what_name[w], v[w]);
		}
		printf("  %10.2f\n", v[AUTH_BOTH] / v[PLAIN_BOTH]);
	}
	printf("\n== %lu MiB of %u-byte PAGES records through two channels on "
	       "one loop (one core), MB/s\n", mib, PAGES_RECORD);
	for (int authed = 0; authed < 2; authed++) {
		double v;

		for (int k = 0; k < ROUNDS; k++)
			r[k] = stream_mbps(authed, buf, mib);
		v = bench_median(r, sizeof(r[0]), 0, ROUNDS);
		printf("%-14s %9.0f\n", authed ? "authenticated" : "plain", v);
		if (out)
			fprintf(out, "stream,%u,%s,%.0f,MB/s\n", PAGES_RECORD,
				authed ? "auth" : "plain", v);
		if (authed)
			printf("%-14s %9.2f\n", "auth/plain", v / plain);
		plain = v;
	}
	if (out)
		fclose(out);
	free(buf);
	auth_session_free(tx);
	auth_session_free(rx);
	auth_session_free(gm);
	auth_session_free(gm_peer);
	return 0;
}
