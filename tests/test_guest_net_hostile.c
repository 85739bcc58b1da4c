/*
 * test_guest_net_hostile.c - the guest's TCP/IP stack (guest/net on
 * lwIP) under what a network and a replica do to it: malformed, random
 * and storming frames injected at netecho behind a TAP device (pumped by
 * tests/lib/tap_pump), a lost segment sent again on the guest's clock,
 * and a live TCP connection carried through a local checkpoint into
 * another guest. The basic service: test_guest_net.c.
 *
 * The program first moves into a network namespace of its own (it runs
 * as root): the TAP, its address and everything the tests do vanish with
 * the process, whatever way it ends. The setting (tests/lib/net_guest):
 *
 *   host 10.77.9.1/24 (tap0) <-- pump --> netecho 10.77.9.2 (guest A)
 *                                         netecho, same argv (guest B,
 *                                         the checkpoint's target)
 *
 * Data is a pseudo-random stream from a seed (printed; COLO_TEST_SEED
 * sets it), so every echo is checked byte for byte against its offset;
 * the random frames of the hostile test come from it too (30,000 of
 * them; COLO_TEST_FUZZ=N for more). COLO_TEST_LOG=info shows the
 * guests' log lines; their stdout (lwIP's assertion messages) is ours.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "colo_net.h"
#include "guests.h"
#include "local_checkpoint.h"
#include "log.h"
#include "net_guest.h"
#include "shell.h"
#include "tap_pump.h"

#define ETH_HLEN	14

static const unsigned char guest_mac[6] = COLO_GUEST_MAC_DEFAULT;

/* --- hostile frames ------------------------------------------------------ */

static void put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static uint32_t sum16(const unsigned char *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* An Ethernet header to the guest from the host; 14. */
static size_t eth_hdr(unsigned char *f, unsigned type)
{
	memcpy(f, guest_mac, 6);
	memcpy(f + 6, env.host_mac, 6);
	put16(f + 12, type);
	return ETH_HLEN;
}

/* An IPv4 header host -> guest: ihl words, total length tot; its checksum
 * over csum_len bytes (a valid one: ihl * 4). */
static void ip4_hdr(unsigned char *ip, unsigned ihl, unsigned tot,
		    unsigned proto, unsigned frag, size_t csum_len)
{
	memset(ip, 0, 20);
	ip[0] = (unsigned char)(0x40 | (ihl & 0xf));
	put16(ip + 2, tot);
	put16(ip + 4, 0x4242);
	put16(ip + 6, frag);
	ip[8] = 64;
	ip[9] = (unsigned char)proto;
	inet_pton(AF_INET, HOST_IP, ip + 12);
	inet_pton(AF_INET, GUEST_IP, ip + 16);
	put16(ip + 10, fold(sum16(ip, csum_len, 0)));
}

/* A TCP header (doff words, options zero) over a seg_len-byte segment
 * already in place after it; its checksum valid. */
static void tcp_hdr(unsigned char *tcp, size_t seg_len, unsigned sport,
		    unsigned dport, uint32_t seq, uint32_t ack, unsigned doff,
		    unsigned flags)
{
	unsigned char pseudo[12];

	memset(tcp, 0, 20);
	put16(tcp, sport);
	put16(tcp + 2, dport);
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = (unsigned char)(doff << 4);
	tcp[13] = (unsigned char)flags;
	put16(tcp + 14, 65535);
	inet_pton(AF_INET, HOST_IP, pseudo);
	inet_pton(AF_INET, GUEST_IP, pseudo + 4);
	pseudo[8] = 0;
	pseudo[9] = 6;
	put16(pseudo + 10, (unsigned)seg_len);
	put16(tcp + 16, fold(sum16(tcp, seg_len, sum16(pseudo, 12, 0))));
}

#define TCP_SYN 0x02
#define TCP_ACK 0x10

static void inject(const unsigned char *f, size_t len, int copies)
{
	for (int i = 0; i < copies; i++)
		assert_int_equal(tap_pump_inject(&env.pump, f, len), 0);
}

/* IPv4 host -> guest of proto: the IP header and payload, tot bytes long
 * by its header, in a frame of len bytes. */
static size_t ip4_frame(unsigned char *f, unsigned ihl, unsigned tot,
			unsigned proto, unsigned frag, size_t len)
{
	memset(f, 0, len);
	eth_hdr(f, 0x0800);
	ip4_hdr(f + ETH_HLEN, ihl, tot, proto, frag, 20);
	return len;
}

/* The malformed frames, a few copies of each. */
static void inject_malformed(uint16_t est_port)
{
	unsigned char f[9100];
	unsigned char *ip = f + ETH_HLEN, *tcp = ip + 20;
	size_t n;

	/* truncated Ethernet: nothing, a partial header, a bare header */
	memset(f, 0, 64);
	eth_hdr(f, 0x0800);
	for (size_t len = 0; len <= ETH_HLEN; len++)
		inject(f, len, 2);
	/* an IPv4 header cut short */
	inject(f, ip4_frame(f, 5, 40, 6, 0, ETH_HLEN + 10), 3);
	/* bad header lengths: 16 bytes (< 20), 60 bytes (> the packet) */
	n = ip4_frame(f, 4, 40, 6, 0, ETH_HLEN + 40);
	ip4_hdr(ip, 4, 40, 6, 0, 16);
	inject(f, n, 3);
	n = ip4_frame(f, 15, 40, 6, 0, ETH_HLEN + 40);
	inject(f, n, 3);
	/* total length beyond the frame; below the header */
	inject(f, ip4_frame(f, 5, 1500, 6, 0, ETH_HLEN + 40), 3);
	inject(f, ip4_frame(f, 5, 10, 6, 0, ETH_HLEN + 40), 3);
	/* version 6 in an IPv4 frame */
	n = ip4_frame(f, 5, 40, 6, 0, ETH_HLEN + 40);
	ip[0] = 0x65;
	inject(f, n, 3);
	/* TCP header offsets beyond the segment (with valid checksums),
	 * below the minimum, to the listener and to a live connection */
	n = ip4_frame(f, 5, 40, 6, 0, ETH_HLEN + 40);
	tcp_hdr(tcp, 20, 40000, ECHO_PORT, 1000, 0, 15, TCP_SYN);
	inject(f, n, 3);
	tcp_hdr(tcp, 20, 40000, ECHO_PORT, 1000, 0, 2, TCP_SYN);
	inject(f, n, 3);
	tcp_hdr(tcp, 20, est_port, ECHO_PORT, 1000, 1000, 15, TCP_ACK);
	inject(f, n, 3);
	/* a segment shorter than a TCP header */
	n = ip4_frame(f, 5, 30, 6, 0, ETH_HLEN + 30);
	inject(f, n, 3);
	/* TCP options: an option kind as the last byte (its length would
	 * be read past the header), lengths 0, 1 and 255 */
	n = ip4_frame(f, 5, 44, 6, 0, ETH_HLEN + 44);
	memcpy(tcp + 20, (const unsigned char[]){ 1, 1, 1, 2 }, 4);
	tcp_hdr(tcp, 24, 40001, ECHO_PORT, 2000, 0, 6, TCP_SYN);
	inject(f, n, 2);
	for (int i = 0; i < 3; i++) {
		static const unsigned char optlen[] = { 0, 1, 255 };

		n = ip4_frame(f, 5, 44, 6, 0, ETH_HLEN + 44);
		memcpy(tcp + 20, (const unsigned char[]){ 8, optlen[i], 0, 0 }, 4);
		tcp_hdr(tcp, 24, 40002 + (unsigned)i, ECHO_PORT, 3000, 0, 6, TCP_SYN);
		inject(f, n, 2);
	}
	/* UDP claiming more than it has; to a closed port (ICMP
	 * unreachable); an unknown protocol with no payload (ICMP protocol
	 * unreachable quotes past it) */
	n = ip4_frame(f, 5, 28, 17, 0, ETH_HLEN + 28);
	put16(ip + 20, 5000);
	put16(ip + 22, 9);
	put16(ip + 24, 1000);
	inject(f, n, 3);
	put16(ip + 24, 8);
	inject(f, n, 3);
	inject(f, ip4_frame(f, 5, 20, 253, 0, ETH_HLEN + 20), 3);
	/* UDP-Lite whose checksum coverage is far beyond the datagram: an
	 * assertion in lwIP 2.1.3's checksum aborted the guest on it */
	n = ip4_frame(f, 5, 28, 136, 0, ETH_HLEN + 28);
	put16(ip + 20, 5000);
	put16(ip + 22, ECHO_PORT);
	put16(ip + 24, 0xffff);
	inject(f, n, 3);
	/* an ICMP echo request cut to 4 bytes */
	n = ip4_frame(f, 5, 24, 1, 0, ETH_HLEN + 24);
	ip[20] = 8;
	inject(f, n, 3);
	/* fragments: many datagrams' first pieces, and a last piece at the
	 * largest offset (a datagram of more than 64 KiB) */
	for (unsigned id = 0; id < 40; id++) {
		n = ip4_frame(f, 5, 28, 17, 0x2000, ETH_HLEN + 28);
		put16(ip + 4, 0x1000 + id);
		put16(ip + 10, 0);
		put16(ip + 10, fold(sum16(ip, 20, 0)));
		inject(f, n, 1);
		n = ip4_frame(f, 5, 28, 17, 8191, ETH_HLEN + 28);
		put16(ip + 4, 0x1000 + id);
		put16(ip + 10, 0);
		put16(ip + 10, fold(sum16(ip, 20, 0)));
		inject(f, n, 1);
	}
	/* an oversized frame: a 9000-byte IPv4 packet */
	inject(f, ip4_frame(f, 5, 9000 - ETH_HLEN, 1, 0, 9000), 2);
	/* IPv6 junk, a VLAN tag, a cut ARP, an ARP with absurd lengths */
	memset(f, 0xa5, 200);
	eth_hdr(f, 0x86dd);
	inject(f, 200, 2);
	eth_hdr(f, 0x8100);
	inject(f, 64, 2);
	eth_hdr(f, 0x0806);
	inject(f, ETH_HLEN + 10, 2);
	memset(f + ETH_HLEN, 0xff, 28);
	inject(f, ETH_HLEN + 28, 2);
}

static uint64_t fuzz_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/*
 * n random frames from seed, three kinds in turn: TCP segments to the
 * listener (random flags, options, data, sequence numbers; checksums
 * valid, so they get past the checks into TCP itself), IPv4 packets with
 * random header fields and options (header checksum valid), and random
 * bytes behind an IPv4 or ARP Ethernet header.
 */
static void inject_fuzz(uint64_t seed, unsigned n)
{
	unsigned char f[ETH_HLEN + 200];
	unsigned char *ip = f + ETH_HLEN;
	uint64_t x = seed | 1;

	for (unsigned i = 0; i < n; i++) {
		size_t len, ihl, seg;
		unsigned kind = i % 3;

		for (size_t k = 0; k < sizeof(f); k++)
			f[k] = (unsigned char)fuzz_next(&x);
		if (kind == 0) {
			unsigned doff = 5 + (unsigned)(fuzz_next(&x) % 11);

			seg = doff * 4 + fuzz_next(&x) % 64;
			len = ETH_HLEN + 20 + seg;
			eth_hdr(f, 0x0800);
			ip4_hdr(ip, 5, (unsigned)(20 + seg), 6, 0, 20);
			/* options: random bytes, kept by tcp_hdr */
			tcp_hdr(ip + 20, seg, 1024 + (unsigned)(fuzz_next(&x) % 60000),
				ECHO_PORT, (uint32_t)fuzz_next(&x),
				(uint32_t)fuzz_next(&x), doff,
				(unsigned)(fuzz_next(&x) & 0x3f));
		} else if (kind == 1) {
			unsigned char opts[40];

			ihl = 5 + fuzz_next(&x) % 11;
			len = ETH_HLEN + ihl * 4 + fuzz_next(&x) % 64;
			memcpy(opts, ip + 20, sizeof(opts));
			eth_hdr(f, 0x0800);
			ip4_hdr(ip, (unsigned)ihl, (unsigned)(len - ETH_HLEN -
				fuzz_next(&x) % 4), (unsigned)(fuzz_next(&x) % 4 == 0 ?
				fuzz_next(&x) & 0xff : (unsigned[]){ 1, 6, 17 }[fuzz_next(&x) % 3]),
				(unsigned)(fuzz_next(&x) % 4 ? 0 : fuzz_next(&x) & 0xffff), 20);
			memcpy(ip + 20, opts, (ihl - 5) * 4);
			put16(ip + 10, 0);
			put16(ip + 10, fold(sum16(ip, ihl * 4, 0)));
		} else {
			len = ETH_HLEN + fuzz_next(&x) % (sizeof(f) - ETH_HLEN);
			eth_hdr(f, fuzz_next(&x) & 1 ? 0x0806 : 0x0800);
		}
		assert_int_equal(tap_pump_inject(&env.pump, f, len), 0);
	}
}

/* ARP requests for the guest, n of them, each from another (made-up)
 * host of the subnet: lwIP answers and learns every sender. */
static void inject_arp_storm(unsigned n)
{
	unsigned char f[ETH_HLEN + 28];

	for (unsigned i = 0; i < n; i++) {
		unsigned char *a = f + ETH_HLEN;
		unsigned char mac[6] = { 0x02, 0x77, 0, 0, (unsigned char)(i >> 8),
					 (unsigned char)i };

		memset(f, 0xff, 6);
		memcpy(f + 6, mac, 6);
		put16(f + 12, 0x0806);
		put16(a, 1);			/* Ethernet */
		put16(a + 2, 0x0800);		/* IPv4 */
		a[4] = 6;
		a[5] = 4;
		put16(a + 6, 1);		/* request */
		memcpy(a + 8, mac, 6);
		a[14] = 10;
		a[15] = 77;
		a[16] = 9;
		a[17] = (unsigned char)(100 + i % 150);
		memset(a + 18, 0, 6);
		inet_pton(AF_INET, GUEST_IP, a + 24);
		assert_int_equal(tap_pump_inject(&env.pump, f, sizeof(f)), 0);
	}
}

/* Malformed frames of every layer, random ones, then an ARP storm of
 * 10,000 requests: the guest lives, its connection goes on, new ones
 * work, and ARP and ping still do. */
static void test_hostile_frames(void **state)
{
	struct sockaddr_in sa;
	socklen_t slen = sizeof(sa);
	struct tap_pump_stats st0, st1;
	struct stream s, fresh;
	const char *fuzz;
	char out[2048];
	int ret;

	(void)state;
	stream_open(&s, env.seed + 500);
	stream_more(&s, 1000, "before the hostile frames");
	assert_int_equal(getsockname(s.fd, (struct sockaddr *)&sa, &slen), 0);
	tap_pump_get_stats(&env.pump, &st0);

	inject_malformed(ntohs(sa.sin_port));
	assert_int_equal(tap_pump_wait_injected(&env.pump, 10000), 0);
	stream_more(&s, 1000, "after the malformed frames");
	check_guest_alive("on the malformed frames");

	fuzz = getenv("COLO_TEST_FUZZ");
	inject_fuzz(env.seed, fuzz ? (unsigned)strtoul(fuzz, NULL, 0) : 30000);
	assert_int_equal(tap_pump_wait_injected(&env.pump, 60000), 0);
	stream_more(&s, 1000, "after the random frames");
	check_guest_alive("on the random frames");

	inject_arp_storm(10000);
	assert_int_equal(tap_pump_wait_injected(&env.pump, 20000), 0);
	tap_pump_get_stats(&env.pump, &st1);
	print_message("%llu frames injected\n",
		      (unsigned long long)(st1.injected - st0.injected));
	assert_true(st1.injected - st0.injected > 10000);
	check_guest_alive("in the ARP storm");
	stream_more(&s, 100000, "after the ARP storm");
	close(s.fd);
	stream_open(&fresh, env.seed + 501);
	stream_more(&fresh, 100000, "a new connection after the ARP storm");
	close(fresh.fd);
	run("ip neigh flush dev %s", TAP_NAME);
	ret = shell_run(out, sizeof(out), NULL, "ping -c 1 -W 2 %s", GUEST_IP);
	if (ret)
		fail_msg("ping after the hostile frames: %s", out);
}

/* --- timers: a retransmission -------------------------------------------- */

/* Drops the guest's first data segment to a client port, and watches
 * for its retransmission (the same sequence number). Runs in the pump. */
struct rtx_watch {
	unsigned port;			/* the client's */
	bool dropped;
	uint32_t seq;
	long long dropped_ms, again_ms;
	unsigned again;			/* retransmissions seen */
};

/* The TCP header of a segment the guest sends to port, and its payload
 * length in *data; NULL for any other frame. */
static const unsigned char *guest_segment(enum tap_dir dir,
					  const unsigned char *f, size_t len,
					  unsigned port, size_t *data)
{
	const unsigned char *ip = f + ETH_HLEN, *tcp;
	size_t ihl, doff, tot;

	if (dir != GUEST_TO_TAP || len < ETH_HLEN + 40 || f[12] != 0x08 ||
	    f[13] != 0x00 || ip[9] != 6)
		return NULL;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	tot = (size_t)ip[2] << 8 | ip[3];
	tcp = ip + ihl;
	doff = (size_t)(tcp[12] >> 4) * 4;
	if (((unsigned)tcp[2] << 8 | tcp[3]) != port || tot < ihl + doff)
		return NULL;
	*data = tot - ihl - doff;
	return tcp;
}

static uint32_t be32_at(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static bool rtx_filter(enum tap_dir dir, const unsigned char *f, size_t len,
		       void *opaque)
{
	struct rtx_watch *w = opaque;
	const unsigned char *tcp;
	size_t data;
	uint32_t seq;

	tcp = guest_segment(dir, f, len, w->port, &data);
	if (!tcp || !data)
		return false;		/* another port, or no data */
	seq = be32_at(tcp + 4);
	if (!w->dropped) {
		w->dropped = true;
		w->seq = seq;
		w->dropped_ms = now_ms();
		return true;
	}
	if (seq == w->seq && !w->again++)
		w->again_ms = now_ms();
	return false;
}

/*
 * Lose the guest's next data segment to s's client; the echo of len
 * more bytes must still complete: the guest sends it again from its
 * retransmission timer (lwIP's slow timer, run by colo_net_timer() on
 * the guest clock). The delay, in ms.
 */
static long long echo_with_loss(struct stream *s, size_t len, const char *what)
{
	struct rtx_watch w = { 0 };
	struct sockaddr_in sa;
	socklen_t slen = sizeof(sa);

	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&sa, &slen), 0);
	w.port = ntohs(sa.sin_port);
	tap_pump_set_filter(&env.pump, rtx_filter, &w);
	s->len += len;
	streams_run(s, 1, IO_TIMEOUT_MS, 0);
	tap_pump_set_filter(&env.pump, NULL, NULL);	/* and w is ours again */
	if (!w.dropped || !w.again || s->got != s->len)
		fail_msg("%s: segment dropped %s, sent again %u times; %zu of "
			 "%zu bytes echoed (%s)", what, w.dropped ? "yes" : "no",
			 w.again, s->got, s->len, strerror(-s->err));
	print_message("%s: the lost segment came again after %lld ms\n", what,
		      w.again_ms - w.dropped_ms);
	return w.again_ms - w.dropped_ms;
}

/* A segment the guest sent is lost on the way, and sent again. */
static void test_retransmission_on_guest_clock(void **state)
{
	struct stream s;
	long long delay;

	(void)state;
	stream_open(&s, env.seed + 900);
	for (int i = 0; i < 20; i++)		/* some round trip samples */
		stream_more(&s, 100, "before the loss");
	delay = echo_with_loss(&s, 500, "retransmission");
	close(s.fd);
	/* a timer's doing: lwIP's retransmission timeout is whole 500 ms
	 * ticks, at least one */
	assert_true(delay >= 250);
}

/*
 * Ticks of a fed clock: fed_ms moves by step_ms a tick (the pump paused
 * around each, as it owns the guest), until w saw the retransmission or
 * max_ms of guest time went by. The guest time it took, or -1.
 */
static long long tick_until_again(struct guest *g, uint64_t *fed_ms,
				  unsigned step_ms, unsigned max_ms,
				  const struct rtx_watch *w)
{
	uint64_t from = *fed_ms;
	bool again = false;

	while (!again && *fed_ms - from < max_ms) {
		tap_pump_pause(&env.pump);
		again = w->again > 0;		/* the pump is parked */
		if (!again) {
			*fed_ms += step_ms;
			assert_int_equal(guest_send_tick(g, *fed_ms), 0);
		}
		tap_pump_resume(&env.pump);
		if (!again)
			sleep_ms(10);		/* for the guest's answer */
	}
	return again ? (long long)(*fed_ms - from) : -1;
}

/*
 * A guest on a fed clock (a TICK before its start): a segment of its
 * echo is lost, and the guest does not send it again however long the
 * host waits (2 s here, past any RTO lwIP computed on the pairs before),
 * because its timers run on the clock it is fed only. Fed on, 50 ms of
 * guest time a tick, it retransmits once the fed clock passed lwIP's
 * retransmission timeout (whole 500 ms slow-timer ticks, at least one),
 * and the echo completes.
 */
static void test_retransmission_on_fed_clock(void **state)
{
	struct rtx_watch w = { 0 };
	struct sockaddr_in sa;
	socklen_t slen = sizeof(sa);
	uint64_t fed = 1000;
	struct stream s;
	struct guest g;
	long long took, t0;
	int ret;

	(void)state;
	ret = swap_in_netecho(&g, "fed", NULL, fed);
	if (ret)
		fail_msg("a netecho on a fed clock: %s", strerror(-ret));
	stream_open(&s, env.seed + 950);
	for (int i = 0; i < 20; i++)		/* some round trip samples */
		stream_more(&s, 100, "fed, before the loss");

	assert_int_equal(getsockname(s.fd, (struct sockaddr *)&sa, &slen), 0);
	w.port = ntohs(sa.sin_port);
	tap_pump_set_filter(&env.pump, rtx_filter, &w);
	s.len += 500;
	t0 = now_ms();
	ret = streams_run(&s, 1, 2000, 0);
	tap_pump_pause(&env.pump);
	if (!w.dropped || w.again || ret != -ETIMEDOUT)
		fail_msg("fed clock standing still: the segment dropped %s, sent "
			 "again %u times in %lld ms of host time (echo: %s)",
			 w.dropped ? "yes" : "no", w.again, now_ms() - t0,
			 strerror(-ret));
	tap_pump_resume(&env.pump);

	took = tick_until_again(&g, &fed, 50, 20000, &w);
	tap_pump_set_filter(&env.pump, NULL, NULL);	/* w is ours again */
	if (took < 0)
		fail_msg("no retransmission in 20 s of fed guest time");
	print_message("fed clock: the lost segment came again after %lld ms of "
		      "fed guest time\n", took);
	assert_true(took >= 250);
	ret = streams_run(&s, 1, IO_TIMEOUT_MS, 0);
	if (ret)
		fail_msg("fed clock: the echo after the retransmission: %zu of "
			 "%zu bytes (%s)", s.got, s.len, strerror(-ret));
	close(s.fd);
	check_guest_alive("on a fed clock");
	swap_out_netecho(&g);
}

/* --- a connection carried into another guest ------------------------------ */

/*
 * A client converses with A; in the middle of a transfer (data in
 * flight both ways) the pump stops, A is stopped and copied into B
 * (vmm/local_checkpoint), the pump switches to B and A is gone. The same
 * client socket goes on: the rest of the transfer and new data are
 * echoed byte for byte by B, which never saw the connection open.
 */
static void test_connection_survives_checkpoint(void **state)
{
	const struct local_checkpoint_params p = {
		.kind = DIRTY_LOG_UFFD_WP, .clear_mode = DIRTY_LOG_LAZY,
		.clear_bmap_shift = 18, .stop_timeout_ms = 2000,
	};
	struct local_checkpoint lc;
	struct stream s;
	pid_t a_pid = env.ga.pid;
	int ret;

	(void)state;
	if (env.b_taken)
		skip();				/* B is the guest already */
	stream_open(&s, env.seed + 1234);
	stream_more(&s, 5000, "with A");
	/* mid-transfer: 512 KiB to go out, stop once 100 KiB came back */
	s.len += 512u << 10;
	ret = streams_run(&s, 1, IO_TIMEOUT_MS, s.got + (100u << 10));
	assert_int_equal(ret, 0);
	assert_true(s.got < s.len);

	tap_pump_pause(&env.pump);
	assert_int_equal(guest_stop(&env.ga, 2000), 0);
	ret = local_checkpoint_init(&lc, &env.ga, &env.gb, &p);
	if (!ret) {
		ret = local_checkpoint_run(&lc);
		local_checkpoint_destroy(&lc);
	}
	if (ret) {
		guest_continue(&env.ga);
		tap_pump_resume(&env.pump);
		fail_msg("checkpoint of A into B: %s", strerror(-ret));
	}
	/* B is the guest now; A (running again) is cut off, then gone */
	tap_pump_set_guest(&env.pump, &env.gb);
	guest_destroy(&env.ga, 0);
	env.ga_up = false;
	env.cur = &env.gb;
	env.b_taken = true;
	tap_pump_resume(&env.pump);

	print_message("checkpointed A (pid %d) into B (pid %d) with %zu of "
		      "%zu bytes echoed\n", (int)a_pid, (int)env.gb.pid, s.got,
		      s.len);
	ret = streams_run(&s, 1, IO_TIMEOUT_MS, 0);
	if (ret == -EBADMSG)
		fail_msg("after the checkpoint the echo differs at byte %zu",
			 s.bad_at);
	if (ret)
		fail_msg("after the checkpoint %zu of %zu bytes came back: %s",
			 s.got, s.len, strerror(-ret));
	stream_more(&s, 100000, "with B, after the checkpoint");
	/* B's timers run on from A's: lwIP's clock is the guest clock,
	 * which B resumed at A's, A_AHEAD_S s ahead of B's host clock */
	echo_with_loss(&s, 500, env.a_ahead ? "B, its host clock 600 s behind "
		       "A's" : "B");
	s.shut = true;
	stream_more(&s, 10, "closing with B");
	close(s.fd);
	check_guest_alive("after the checkpoint");
	/* and B serves new clients */
	stream_open(&s, env.seed + 1235);
	stream_more(&s, 10000, "a new client of B");
	close(s.fd);
}

/* --- a takeover's announce ---------------------------------------------- */

/* Counts the guest's pure ACKs to a client port, and their ack numbers. */
struct ack_watch {
	unsigned port;
	unsigned acks;
	uint32_t ack, other_acks;	/* the first's number; others' count */
};

static bool ack_filter(enum tap_dir dir, const unsigned char *f, size_t len,
		       void *opaque)
{
	struct ack_watch *w = opaque;
	const unsigned char *tcp;
	size_t data;
	uint32_t ack;

	tcp = guest_segment(dir, f, len, w->port, &data);
	if (!tcp || data || tcp[13] != 0x10)
		return false;		/* another port, data, or not a pure ACK */
	ack = be32_at(tcp + 8);
	if (!w->acks++)
		w->ack = ack;
	else if (ack != w->ack)
		w->other_acks++;
	return false;
}

/*
 * After a takeover the daemon tells the guest its NIC moved
 * (GUEST_MSG_ANNOUNCE): an idle connection sends its peer three
 * duplicate ACKs, so that a request lost with the old host is sent again
 * at once (fast retransmit) rather than at the client's next timeout.
 */
static void test_announce_duplicate_acks(void **state)
{
	struct ack_watch w = { 0 };
	struct sockaddr_in sa;
	socklen_t slen = sizeof(sa);
	struct stream s;

	(void)state;
	stream_open(&s, env.seed + 77);
	stream_more(&s, 1000, "before the announce");
	sleep_ms(300);			/* every ACK of that is out */
	assert_int_equal(getsockname(s.fd, (struct sockaddr *)&sa, &slen), 0);
	w.port = ntohs(sa.sin_port);
	tap_pump_set_filter(&env.pump, ack_filter, &w);
	tap_pump_pause(&env.pump);
	assert_int_equal(guest_announce(env.cur), 0);
	tap_pump_resume(&env.pump);
	sleep_ms(300);
	tap_pump_set_filter(&env.pump, NULL, NULL);	/* w is ours again */
	print_message("announce: %u pure ACKs, %u with another number\n",
		      w.acks, w.other_acks);
	assert_int_equal(w.acks, 3);
	assert_int_equal(w.other_acks, 0);
	stream_more(&s, 1000, "after the announce");	/* and it goes on */
	close(s.fd);
}

/* A test name pattern (cmocka's filter, '*' allowed) runs just those;
 * COLO_TEST_LOG=info shows the guests' own log lines. */
int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_frames),
		cmocka_unit_test(test_retransmission_on_guest_clock),
		cmocka_unit_test(test_retransmission_on_fed_clock),
		cmocka_unit_test(test_announce_duplicate_acks),
		cmocka_unit_test(test_connection_survives_checkpoint),
	};
	const char *seed = getenv("COLO_TEST_SEED");
	const char *level = getenv("COLO_TEST_LOG");
	enum log_level l = LOG_WARN;

	/* first, while this is the only thread: a namespace of our own */
	if (unshare(CLONE_NEWNET))
		env.no_netns = strerror(errno);
	signal(SIGPIPE, SIG_IGN);
	env.seed = seed ? strtoull(seed, NULL, 0) : (uint64_t)time(NULL);
	print_message("seed %llu (COLO_TEST_SEED)\n", (unsigned long long)env.seed);
	if (level && log_level_parse(level, &l))
		l = LOG_WARN;
	log_set_level(l);
	env.log_level = l;
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("guest_net_hostile", tests, group_setup,
					   group_teardown);
}
