/*
 * netcompare_test.h - for the tests of netcompare's compare step
 * (test_netcompare*.c): Ethernet/IPv4/TCP/UDP/ICMP/ARP frames built by
 * hand, and one struct netcompare whose emitted frames and checkpoint
 * calls are kept in nct.
 *
 * The guest is 10.0.0.100:6379 and its client 10.0.0.10:40000; a TCP
 * stream's byte at sequence number s is nct_stream_byte(s) on both
 * sides, whatever the segmentation.
 */
#ifndef COLO_TESTS_NETCOMPARE_TEST_H
#define COLO_TESTS_NETCOMPARE_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compare.h"
#include "log.h"

#define NCT_GUEST_IP	0x0a000064u	/* 10.0.0.100, the guest */
#define NCT_CLIENT_IP	0x0a00000au	/* 10.0.0.10 */
#define NCT_GUEST_PORT	6379
#define NCT_CLIENT_PORT	40000
#define NCT_FRAME_MAX	1600
#define NCT_SEEN_MAX	8192

void nct_be16(uint8_t *p, uint16_t v);
void nct_be32(uint8_t *p, uint32_t v);
/* Each writes a frame at f and returns its length. */
size_t nct_ip_frame(uint8_t *f, uint8_t proto, uint32_t src, uint32_t dst,
		    size_t thl, const uint8_t *payload, size_t len);
size_t nct_tcp_frame(uint8_t *f, uint32_t seq, uint32_t ack, uint8_t flags,
		     const uint8_t *payload, size_t len);
size_t nct_udp_frame(uint8_t *f, uint16_t sport, uint16_t dport,
		     const uint8_t *payload, size_t len);
size_t nct_icmp_frame(uint8_t *f, const uint8_t *payload, size_t len);
size_t nct_arp_frame(uint8_t *f, uint8_t last);
uint8_t nct_stream_byte(uint32_t s);

struct nct_harness {
	struct netcompare *nc;
	unsigned n;			/* frames emitted */
	uint8_t *frame[NCT_SEEN_MAX];	/* copies, while keep */
	size_t len[NCT_SEEN_MAX];
	bool keep;
	unsigned asked;			/* checkpoint() calls */
	enum compare_reason why;	/* the last one's reason */
	unsigned infos;			/* info lines with "mismatch" */
};

extern struct nct_harness nct;

/* A new netcompare in nct (the last one freed) with these limits and
 * passthrough ports; timeout 100 ms. Not comparing yet. */
void nct_make(uint32_t max_frames, uint64_t max_bytes, const uint16_t *ports,
	      unsigned n_ports);
/* The defaults, compared from epoch 1 on (checkpoint 0 loaded active). */
void nct_make_active(void);
void nct_free(void);
const struct compare_stats *nct_stats(void);
/* A segment of the stream from one side, epoch 1, at 0 ms (nct_seg: up
 * to 1460 bytes; nct_big_seg: one piece of up to 64 KiB, ACK set). */
void nct_seg(bool primary, uint32_t seq, uint32_t len, uint8_t flags,
	     uint32_t ack);
void nct_big_seg(bool primary, uint32_t seq, uint32_t len, uint32_t ack);
/* The sequence number of emitted frame i, a TCP segment; else -1. */
int64_t nct_emitted_seq(unsigned i);
/* Counts the info lines that tell a mismatch in nct.infos. */
void nct_on_log(enum log_level level, const char *line, void *opaque);
/* cmocka's setup and teardown: the log quiet, at info, counted. */
int nct_setup(void **state);
int nct_teardown(void **state);

#ifdef assert_int_equal		/* in a test that includes cmocka.h first */
static inline void nct_no_mismatch(void)
{
	for (int r = 0; r < COMPARE_REASONS; r++)
		assert_int_equal(nct_stats()->mismatches[r], 0);
	assert_int_equal(nct.asked, 0);
}

/* One checkpoint asked in all, for why. */
static inline void nct_one_checkpoint(enum compare_reason why)
{
	assert_int_equal(nct.asked, 1);
	assert_int_equal(nct.why, why);
	assert_int_equal(nct_stats()->checkpoints_asked[why], 1);
	assert_true(nct_stats()->mismatches[why] >= 1);
}
#endif

#endif /* COLO_TESTS_NETCOMPARE_TEST_H */
