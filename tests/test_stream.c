/*
 * test_stream.c - the checkpoint stream: records on a channel (and what a
 * bad stream gets), and pages of a running guest going through the stream
 * into a RAM cache and from there into another guest.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "channel.h"
#include "guest_compare.h"
#include "guests.h"
#include "layout.h"
#include "log.h"
#include "page_stream.h"
#include "ram_cache.h"
#include "ram_save.h"

/* --- one end of a channel, recording what it gets ----------------------- */

struct end {
	struct channel *ch;
	unsigned records;
	uint16_t last_type;
	uint8_t last[4096];
	uint32_t last_len;
	char closed_why[256];
	int closed;
	struct ram_cache *cache;	/* when set, pages go in here */
	uint64_t pages;
};

static int on_record(struct channel *ch, uint16_t type, const uint8_t *payload,
		     uint32_t len, void *opaque)
{
	struct end *e = opaque;

	(void)ch;
	e->records++;
	e->last_type = type;
	e->last_len = len;
	memcpy(e->last, payload, len < sizeof(e->last) ? len : sizeof(e->last));
	if (e->cache && type == COLO_RAM_BLOCKS)
		return ram_cache_set_blocks(e->cache, payload, len);
	if (e->cache && type == COLO_PAGES)
		return ram_cache_load_pages(e->cache, payload, len, &e->pages);
	return 0;
}

static void on_closed(struct channel *ch, const char *why, void *opaque)
{
	struct end *e = opaque;

	(void)ch;
	e->closed = 1;
	snprintf(e->closed_why, sizeof(e->closed_why), "%s", why);
}

static const struct channel_ops end_ops = {
	.record = on_record,
	.closed = on_closed,
};

static struct event_base *base;

static int setup(void **state)
{
	(void)state;
	base = event_base_new();
	return base ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	event_base_free(base);
	log_set_quiet(0);
	return 0;
}

/* Run the loop until cond() or a few seconds pass. */
static void pump(int (*cond)(void *), void *arg)
{
	for (int i = 0; i < 20000 && !cond(arg); i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

static int got_records(void *arg)
{
	struct end *e = arg;

	return e->records >= 3 || e->closed;
}

static int got_closed(void *arg)
{
	return ((struct end *)arg)->closed;
}

static void test_records_roundtrip(void **state)
{
	struct end a = { 0 }, b = { 0 };
	int sv[2];
	uint8_t hello[COLO_HELLO_LEN], big[100000];
	struct colo_hello h = { COLO_PROTO_MAGIC, COLO_PROTO_VERSION, 4096,
				COLO_ROLE_PRIMARY, 0x1234, 0, 0 }, back;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	a.ch = channel_new(base, sv[0], &end_ops, &a, "a");
	b.ch = channel_new(base, sv[1], &end_ops, &b, "b");
	colo_hello_encode(&h, hello);
	assert_int_equal(channel_send(a.ch, COLO_HELLO, hello, sizeof(hello)), 0);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	assert_int_equal(channel_send(a.ch, COLO_PAGES, big, sizeof(big)), 0);
	assert_int_equal(channel_send(a.ch, COLO_HEARTBEAT, NULL, 0), 0);
	pump(got_records, &b);
	assert_false(b.closed);
	assert_int_equal(b.records, 3);
	assert_int_equal(b.last_type, COLO_HEARTBEAT);
	assert_int_equal(b.last_len, 0);
	assert_int_equal(colo_hello_decode(hello, sizeof(hello), &back), 0);
	assert_int_equal(back.guest_hash, 0x1234);
	assert_int_equal(channel_bytes_in(b.ch), channel_bytes_out(a.ch));
	channel_free(a.ch);
	channel_free(b.ch);
}

/* Raw bytes into one end; the other must drop the stream and say why. */
static void expect_dropped(const uint8_t *bytes, size_t len, int close_after,
			   const char *why)
{
	struct end b = { 0 };
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	b.ch = channel_new(base, sv[1], &end_ops, &b, "b");
	assert_int_equal(write(sv[0], bytes, len), (ssize_t)len);
	if (close_after)
		close(sv[0]);
	pump(got_closed, &b);
	assert_true(b.closed);
	assert_int_equal(b.records, 0);
	if (!strstr(b.closed_why, why))
		fail_msg("closed for '%s', expected '%s'", b.closed_why, why);
	if (!close_after)
		close(sv[0]);
	channel_free(b.ch);
}

/* A well-formed record, as a stream of bytes. */
static size_t make_record(uint8_t *out, uint16_t type, const uint8_t *payload,
			  uint32_t len)
{
	struct iovec iov = { (void *)payload, len };

	colo_record_header(out, type, &iov, 1);
	memcpy(out + COLO_RECORD_HDR, payload, len);
	return COLO_RECORD_HDR + len;
}

static void test_bad_streams(void **state)
{
	uint8_t payload[512], rec[1024];
	size_t n;

	(void)state;
	log_set_quiet(1);
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)i;
	/* a flipped bit in the payload */
	n = make_record(rec, COLO_PAGES, payload, sizeof(payload));
	rec[COLO_RECORD_HDR + 100] ^= 0x10;
	expect_dropped(rec, n, 0, "corrupt stream");
	/* a flipped bit in the length: a crc mismatch too, or a short wait */
	n = make_record(rec, COLO_PAGES, payload, sizeof(payload));
	rec[7] ^= 0x01;
	expect_dropped(rec, n, 1, "");
	/* a record cut short by the peer's close */
	n = make_record(rec, COLO_PAGES, payload, sizeof(payload));
	expect_dropped(rec, n - 100, 1, "truncated stream");
	/* an unknown type */
	n = make_record(rec, 99, payload, 10);
	expect_dropped(rec, n, 0, "bad record header");
	/* a length over the limit */
	n = make_record(rec, COLO_PAGES, payload, 10);
	put_be32(rec + 4, COLO_RECORD_MAX + 1);
	expect_dropped(rec, n, 0, "over the");
	/* not a colo stream at all */
	expect_dropped((const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18, 0,
		       "bad record header");
	log_set_quiet(0);
}

/* --- a running guest through the stream into a RAM cache and a guest ---- */

struct pair {
	struct test_guest a, b;
	struct dirty_log *dla, *dlb;
	struct ram_save rs;
	struct page_stream ps;
	struct end p, s;
	struct ram_cache cache;
	struct guest_writer w;
	uint64_t ckpt;			/* the last complete checkpoint */
	uint32_t image_crc;		/* A's memory then */
	uint64_t image_bytes;
};

static int drained(void *arg)
{
	struct pair *pr = arg;

	return (channel_pending(pr->p.ch) == 0 &&
		channel_bytes_in(pr->s.ch) == channel_bytes_out(pr->p.ch)) ||
	       pr->s.closed;
}

/* One pass of the primary's sending, pumped through to the cache. */
static void send_pass(struct pair *pr)
{
	assert_int_equal(dirty_log_sync(pr->dla), 0);
	assert_int_equal(page_stream_blocks(&pr->ps, &pr->dla->ram, false), 0);
	assert_int_equal(ram_save_pass(&pr->rs, &pr->ps.sink), 0);
	pump(drained, pr);
	assert_false(pr->s.closed);
}

/* The checkpoint, as the daemons do it, in one process. */
static void checkpoint(struct pair *pr, struct guest_compare *cmp)
{
	struct colo_guest_layout gl;
	struct layout la;
	unsigned commands = 0;

	assert_int_equal(guest_stop(&pr->a.g, 2000), 0);
	assert_int_equal(guest_stop(&pr->b.g, 2000), 0);
	send_pass(pr);			/* the final pages */
	assert_int_equal(guest_memory_crc(pr->a.g.pid, &pr->image_crc,
					  &pr->image_bytes), 0);
	assert_int_equal(guest_layout(&pr->a.g, &gl), 0);
	assert_int_equal(layout_read(pr->a.g.pid, &la), 0);
	assert_int_equal(layout_mirror(&la, gl.brk, &pr->b.g, &commands), 0);
	assert_int_equal(dirty_log_sync(pr->dlb), 0);
	/* the cache keeps A's layout with the image, for a roll back; odd
	 * checkpoints as the secondary loads them (B written from the stage,
	 * the image committed after), even ones committed first, then B
	 * flushed from the image */
	if (++pr->ckpt % 2) {
		assert_int_equal(ram_cache_flush_staged(&pr->cache, pr->ckpt,
							pr->dlb, &pr->w), 0);
		assert_int_equal(guest_compare(pr->a.g.pid, pr->b.g.pid,
					       &pr->dla->ram, cmp), 0);
		ram_cache_commit_staged(&pr->cache, &la, gl.brk);
		assert_int_equal(pr->cache.image_id, pr->ckpt);
	} else {
		assert_int_equal(ram_cache_commit(&pr->cache, pr->ckpt, &la,
						  gl.brk), 0);
		assert_int_equal(ram_cache_flush(&pr->cache, pr->dlb, &pr->w),
				 0);
		assert_int_equal(guest_compare(pr->a.g.pid, pr->b.g.pid,
					       &pr->dla->ram, cmp), 0);
	}
	assert_null(la.maps);
	assert_int_equal(dirty_log_sync(pr->dlb), 0);
	assert_int_equal(dirty_log_forget(pr->dlb), 0);
	assert_int_equal(guest_cmd(&pr->b.g, GUEST_CMD_SET_TID, NULL, NULL,
				   NULL, 0), 0);
	assert_int_equal(guest_continue(&pr->a.g), 0);
	assert_int_equal(guest_continue(&pr->b.g), 0);
}

/*
 * A checkpoint that never arrives whole: pages sent in the gap after the
 * last complete checkpoint were staged, B ran on and dirtied its memory;
 * the rollback puts B back to exactly that checkpoint's image.
 */
static void aborted_checkpoint(struct pair *pr)
{
	unsigned commands = 0;
	uint32_t crc;
	uint64_t bytes;

	assert_int_equal(tg_ask(&pr->a, "step 2000", NULL, 0), 0);
	assert_int_equal(tg_ask(&pr->b, "step 500", NULL, 0), 0);
	send_pass(pr);			/* staged, not in the image */
	assert_int_equal(guest_stop(&pr->b.g, 2000), 0);
	assert_int_equal(guest_memory_crc(pr->b.g.pid, &crc, &bytes), 0);
	assert_true(crc != pr->image_crc);	/* B has moved on */
	/* back to the image's layout, then its pages */
	assert_int_equal(pr->cache.image_id, pr->ckpt);
	assert_int_equal(layout_mirror(&pr->cache.image_layout,
				       pr->cache.image_brk, &pr->b.g,
				       &commands), 0);
	assert_int_equal(dirty_log_sync(pr->dlb), 0);
	assert_int_equal(ram_cache_rollback(&pr->cache, pr->dlb, &pr->w), 0);
	assert_int_equal(guest_memory_crc(pr->b.g.pid, &crc, &bytes), 0);
	assert_int_equal(bytes, pr->image_bytes);
	assert_int_equal(crc, pr->image_crc);
	assert_int_equal(dirty_log_sync(pr->dlb), 0);
	assert_int_equal(dirty_log_forget(pr->dlb), 0);
	assert_int_equal(guest_continue(&pr->b.g), 0);
}

static void test_guest_through_stream(void **state)
{
	const int level = (int)(intptr_t)*state;
	const char *args[] = { "--ram", "24", "--churn", "--rate", "40",
			       "--tick", "2", NULL };
	struct dirty_log_params dp = {
		.kind = DIRTY_LOG_UFFD_WP, .clear_mode = DIRTY_LOG_LAZY,
		.clear_bmap_shift = 12, .guest_uffd = COLO_GUEST_UFFD_FD,
		.whole_file_blocks = true,
	};
	struct pair *pr = calloc(1, sizeof(*pr));
	struct guest_compare cmp;
	char ra[128], rb[128];
	int sv[2];

	assert_non_null(pr);
	assert_int_equal(tg_launch(&pr->a, "A", "memstress", args, 0), 0);
	assert_int_equal(tg_launch(&pr->b, "B", "memstress", args, 0), 0);
	assert_int_equal(guest_start(&pr->a.g), 0);
	assert_int_equal(tg_ask(&pr->a, "hash", NULL, 0), 0);
	assert_int_equal(dirty_log_open(&pr->dla, pr->a.g.pid, &dp), 0);
	dp.whole_file_blocks = false;
	assert_int_equal(dirty_log_open(&pr->dlb, pr->b.g.pid, &dp), 0);
	ram_list_add_hole(&pr->dla->ram, COLO_GUEST_PRIVATE_BASE,
			  COLO_GUEST_PRIVATE_BASE + COLO_GUEST_PRIVATE_SIZE);
	ram_list_add_hole(&pr->dlb->ram, COLO_GUEST_PRIVATE_BASE,
			  COLO_GUEST_PRIVATE_BASE + COLO_GUEST_PRIVATE_SIZE);
	assert_int_equal(ram_save_init(&pr->rs, pr->dla), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pr->p.ch = channel_new(base, sv[0], &end_ops, &pr->p, "primary");
	pr->s.ch = channel_new(base, sv[1], &end_ops, &pr->s, "secondary");
	assert_int_equal(page_stream_init(&pr->ps, pr->p.ch, 4096, level), 0);
	assert_int_equal(ram_cache_init(&pr->cache, 4096), 0);
	pr->s.cache = &pr->cache;
	guest_writer_init(&pr->w, pr->b.g.pid, 4096);

	/* pre-copy while A runs and dirties, then the first checkpoint */
	for (int i = 0; i < 3; i++)
		send_pass(pr);
	checkpoint(pr, &cmp);
	assert_true(cmp.layouts_same);
	assert_int_equal(cmp.bad_pages, 0);

	for (int r = 0; r < 8; r++) {
		assert_int_equal(tg_ask(&pr->a, "step 3000", NULL, 0), 0);
		assert_int_equal(tg_ask(&pr->b, "step 100", NULL, 0), 0);
		send_pass(pr);		/* in the gap, while both run */
		/* A stops its ticks before the checkpoint, so the copies it
		 * leaves in both guests run only what they are told */
		assert_int_equal(tg_ask(&pr->a, "rate 0", NULL, 0), 0);
		checkpoint(pr, &cmp);
		if (!cmp.layouts_same || cmp.bad_pages)
			fail_msg("round %d: %llu pages differ, first at %#llx", r,
				 (unsigned long long)cmp.bad_pages,
				 (unsigned long long)cmp.first_diff);
		assert_true(pr->cache.stats.pages_own_dirty > 0);
		assert_int_equal(tg_ask(&pr->a, "digest", ra, sizeof(ra)), 0);
		assert_int_equal(tg_ask(&pr->b, "digest", rb, sizeof(rb)), 0);
		assert_string_equal(ra, rb);
		assert_int_equal(tg_ask(&pr->a, "rate 40", NULL, 0), 0);
		assert_int_equal(tg_ask(&pr->b, "rate 40", NULL, 0), 0);
	}
	/* the next one is cut short (the pair would end here) */
	aborted_checkpoint(pr);
	print_message("level %d: %llu pages streamed (%llu zero, %llu raw, %llu "
		      "zlib) in %llu bytes\n", level,
		      (unsigned long long)pr->ps.stats.pages,
		      (unsigned long long)pr->ps.stats.zero,
		      (unsigned long long)pr->ps.stats.raw,
		      (unsigned long long)pr->ps.stats.zlib,
		      (unsigned long long)pr->ps.stats.bytes);
	if (level)
		assert_true(pr->ps.stats.zlib > 0);
	else
		assert_int_equal(pr->ps.stats.zlib, 0);
	assert_int_equal(pr->s.pages, pr->ps.stats.pages);

	guest_writer_destroy(&pr->w);
	ram_cache_destroy(&pr->cache);
	page_stream_destroy(&pr->ps);
	channel_free(pr->p.ch);
	channel_free(pr->s.ch);
	ram_save_destroy(&pr->rs);
	dirty_log_close(pr->dla);
	dirty_log_close(pr->dlb);
	tg_destroy(&pr->a);
	tg_destroy(&pr->b);
	free(pr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_records_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_streams, setup, teardown),
		cmocka_unit_test_prestate_setup_teardown(test_guest_through_stream,
			setup, teardown, (void *)(intptr_t)0),
		cmocka_unit_test_prestate_setup_teardown(test_guest_through_stream,
			setup, teardown, (void *)(intptr_t)6),
	};

	log_set_level(LOG_WARN);
	return cmocka_run_group_tests_name("stream", tests, NULL, NULL);
}
