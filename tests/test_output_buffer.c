/*
 * test_output_buffer.c - the output commit queue of `[net] output =
 * buffer`: nothing leaves before its checkpoint is loaded, order kept
 * across epochs, the limits ask for a checkpoint, the hard cap drops and
 * counts, release_all for solo mode, an emit that stops, the counters and
 * their status fields, and a randomized check against a plain model
 * (seed printed; COLO_TEST_SEED=N repeats a run).
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "log.h"
#include "log_capture.h"
#include "output_buffer.h"
#include "status.h"

/* --- what emit saw -------------------------------------------------------- */

#define SEEN_MAX	4096

struct seen {
	unsigned n;			/* frames taken */
	uint32_t seq[SEEN_MAX];		/* the sequence number each carried */
	size_t len[SEEN_MAX];
	int stop_after;			/* take this many, then -EAGAIN; <0: all */
	struct output_buffer *ob;	/* for the re-entry test */
	int reentry_ret;
};

/* A frame carries its sequence number in its first 4 bytes, then bytes
 * derived from it, so a frame mixed up with another is seen. */
static void make_frame(uint8_t *f, size_t len, uint32_t seq)
{
	for (size_t i = 0; i < len; i++)
		f[i] = (uint8_t)(seq * 31u + i * 7u);
	if (len >= 4)
		memcpy(f, &seq, 4);
}

static uint32_t frame_seq(const uint8_t *f, size_t len)
{
	uint32_t seq = 0;

	if (len >= 4)
		memcpy(&seq, f, 4);
	for (size_t i = 4; i < len; i++)
		assert_int_equal(f[i], (uint8_t)(seq * 31u + i * 7u));
	return seq;
}

static int take(const uint8_t *frame, size_t len, void *opaque)
{
	struct seen *s = opaque;

	if (s->stop_after >= 0 && s->n >= (unsigned)s->stop_after)
		return -EAGAIN;
	assert_true(s->n < SEEN_MAX);
	s->seq[s->n] = frame_seq(frame, len);
	s->len[s->n] = len;
	s->n++;
	return 0;
}

static void seen_reset(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	s->stop_after = -1;
}

static int hold(struct output_buffer *ob, size_t len, uint32_t seq,
		uint64_t epoch)
{
	uint8_t f[2048];

	assert_true(len <= sizeof(f));
	make_frame(f, len, seq);
	return output_buffer_hold(ob, f, len, epoch);
}

static int setup(void **state)
{
	(void)state;
	log_set_quiet(1);
	log_capture_start();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	log_capture_stop();
	log_set_quiet(0);
	return 0;
}

/* --- init ------------------------------------------------------------------ */

static void test_init_refuses_bad_limits(void **state)
{
	struct output_buffer ob;

	(void)state;
	assert_int_equal(output_buffer_init(&ob, 0, 1000, 100), -EINVAL);
	assert_non_null(strstr(log_captured(), "must be above 0"));
	assert_int_equal(output_buffer_init(&ob, 10, 0, 100), -EINVAL);
	assert_int_equal(output_buffer_init(&ob, 10, 1000, 0), -EINVAL);
	log_capture_start();
	assert_int_equal(output_buffer_init(&ob, 10, 3ull << 30, 100), -EINVAL);
	assert_non_null(strstr(log_captured(), "under 4 GiB"));
	assert_int_equal(output_buffer_init(&ob, 10, 1000, 100), 0);
	assert_int_equal(ob.cap_frames, 20);
	assert_int_equal(ob.cap_bytes, 2000);
	output_buffer_free(&ob);
}

/* --- the commit rule ------------------------------------------------------- */

/* Frames of epoch N wait for checkpoint N; a lower loaded id frees none. */
static void test_nothing_released_early(void **state)
{
	struct output_buffer ob;
	struct seen s;

	(void)state;
	seen_reset(&s);
	assert_int_equal(output_buffer_init(&ob, 100, 100000, 1514), 0);
	assert_int_equal(hold(&ob, 60, 1, 5), 0);
	assert_int_equal(hold(&ob, 70, 2, 5), 0);
	assert_int_equal(hold(&ob, 80, 3, 6), 0);

	assert_int_equal(output_buffer_release(&ob, 0, take, &s), 0);
	assert_int_equal(output_buffer_release(&ob, 4, take, &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(output_buffer_depth(&ob), 3);
	assert_int_equal(output_buffer_oldest_epoch(&ob), 5);

	assert_int_equal(output_buffer_release(&ob, 5, take, &s), 2);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.seq[0], 1);
	assert_int_equal(s.len[0], 60);
	assert_int_equal(s.seq[1], 2);
	assert_int_equal(s.len[1], 70);
	assert_int_equal(output_buffer_oldest_epoch(&ob), 6);
	/* the same id again frees nothing more */
	assert_int_equal(output_buffer_release(&ob, 5, take, &s), 0);
	assert_int_equal(output_buffer_release(&ob, 6, take, &s), 1);
	assert_int_equal(s.seq[2], 3);
	assert_int_equal(output_buffer_depth(&ob), 0);
	assert_int_equal(output_buffer_oldest_epoch(&ob), 0);
	output_buffer_free(&ob);
}

/* Many epochs, released in jumps (an aborted checkpoint's id skipped):
 * every frame leaves once, in the order it was held. */
static void test_order_kept_across_epochs(void **state)
{
	struct output_buffer ob;
	struct seen s;
	uint32_t seq = 0;
	uint64_t epoch;

	(void)state;
	seen_reset(&s);
	assert_int_equal(output_buffer_init(&ob, 1000, 1u << 20, 1514), 0);
	for (epoch = 1; epoch <= 20; epoch++) {
		for (unsigned i = 0; i < epoch % 4; i++) {
			assert_int_equal(hold(&ob, 20 + seq % 50, seq, epoch), 0);
			seq++;
		}
	}
	assert_int_equal(output_buffer_release(&ob, 3, take, &s), 1 + 2 + 3);
	assert_int_equal(output_buffer_release(&ob, 9, take, &s),
			 0 + 1 + 2 + 3 + 0 + 1);
	assert_int_equal(output_buffer_release(&ob, 100, take, &s),
			 (int)seq - 13);
	assert_int_equal(s.n, seq);
	for (uint32_t i = 0; i < seq; i++) {
		assert_int_equal(s.seq[i], i);
		assert_int_equal(s.len[i], 20 + i % 50);
	}
	output_buffer_free(&ob);
}

/* A lower epoch after a higher one cannot overtake it: it is held to
 * the higher, counted and warned once. */
static void test_epoch_going_back_is_held_later(void **state)
{
	struct output_buffer ob;
	struct seen s;

	(void)state;
	seen_reset(&s);
	assert_int_equal(output_buffer_init(&ob, 100, 100000, 1514), 0);
	assert_int_equal(hold(&ob, 60, 1, 5), 0);
	assert_int_equal(hold(&ob, 60, 2, 3), 0);
	assert_int_equal(hold(&ob, 60, 3, 4), 0);
	assert_int_equal(ob.stats.epoch_raised, 2);
	assert_non_null(strstr(log_captured(), "held to the later one"));
	assert_null(strstr(strstr(log_captured(), "held to the later") + 1,
			   "held to the later"));
	assert_int_equal(output_buffer_release(&ob, 4, take, &s), 0);
	assert_int_equal(output_buffer_release(&ob, 5, take, &s), 3);
	assert_int_equal(s.seq[0], 1);
	assert_int_equal(s.seq[1], 2);
	assert_int_equal(s.seq[2], 3);
	output_buffer_free(&ob);
}

/* Solo mode: everything leaves, whatever its epoch, in order. */
static void test_release_all(void **state)
{
	struct output_buffer ob;
	struct seen s;

	(void)state;
	seen_reset(&s);
	assert_int_equal(output_buffer_init(&ob, 100, 100000, 1514), 0);
	assert_int_equal(hold(&ob, 100, 1, 7), 0);
	assert_int_equal(hold(&ob, 101, 2, 8), 0);
	assert_int_equal(hold(&ob, 102, 3, UINT64_MAX), 0);
	assert_int_equal(output_buffer_release_all(&ob, take, &s), 3);
	assert_int_equal(s.n, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(s.seq[i], i + 1);
		assert_int_equal(s.len[i], 100 + i);
	}
	assert_int_equal(output_buffer_depth(&ob), 0);
	assert_int_equal(output_buffer_release_all(&ob, take, &s), 0);
	/* and it holds again afterwards */
	assert_int_equal(hold(&ob, 50, 4, 9), 0);
	assert_int_equal(output_buffer_release(&ob, 8, take, &s), 0);
	assert_int_equal(output_buffer_release(&ob, 9, take, &s), 1);
	assert_int_equal(s.seq[3], 4);
	output_buffer_free(&ob);
}

/* An emit that cannot take more keeps the rest, in order, for later. */
static void test_emit_stops_keeps_the_rest(void **state)
{
	struct output_buffer ob;
	struct seen s;

	(void)state;
	seen_reset(&s);
	assert_int_equal(output_buffer_init(&ob, 100, 100000, 1514), 0);
	for (uint32_t i = 0; i < 6; i++)
		assert_int_equal(hold(&ob, 64, i, 1), 0);
	s.stop_after = 2;
	assert_int_equal(output_buffer_release(&ob, 1, take, &s), -EAGAIN);
	assert_int_equal(s.n, 2);
	assert_int_equal(output_buffer_depth(&ob), 4);
	assert_int_equal(ob.stats.released_frames, 2);
	s.stop_after = 5;
	assert_int_equal(output_buffer_release_all(&ob, take, &s), -EAGAIN);
	assert_int_equal(s.n, 5);
	s.stop_after = -1;
	assert_int_equal(output_buffer_release(&ob, 1, take, &s), 1);
	for (uint32_t i = 0; i < 6; i++)
		assert_int_equal(s.seq[i], i);
	output_buffer_free(&ob);
}

static int reenter(const uint8_t *frame, size_t len, void *opaque)
{
	struct seen *s = opaque;

	(void)frame;
	(void)len;
	s->reentry_ret = output_buffer_hold(s->ob, frame, len, 1);
	assert_int_equal(output_buffer_release_all(s->ob, take, s), -EBUSY);
	return 0;
}

/* emit may not hold or release on the same buffer. */
static void test_emit_may_not_reenter(void **state)
{
	struct output_buffer ob;
	struct seen s;

	(void)state;
	seen_reset(&s);
	s.ob = &ob;
	assert_int_equal(output_buffer_init(&ob, 100, 100000, 1514), 0);
	assert_int_equal(hold(&ob, 64, 1, 1), 0);
	assert_int_equal(output_buffer_release(&ob, 1, reenter, &s), 1);
	assert_int_equal(s.reentry_ret, -EBUSY);
	assert_int_equal(output_buffer_depth(&ob), 0);
	assert_int_equal(ob.stats.held_frames, 1);
	output_buffer_free(&ob);
}

/* --- limits and the hard cap ---------------------------------------------- */

/* At max_frames held hold() still takes frames but says FULL; past twice
 * that it drops, counts and warns once; a release ends both episodes. */
static void test_frame_limit_and_cap(void **state)
{
	struct output_buffer ob;
	struct seen s;
	const char *w;

	(void)state;
	seen_reset(&s);
	assert_int_equal(output_buffer_init(&ob, 4, 1u << 20, 1514), 0);
	assert_int_equal(hold(&ob, 60, 0, 1), 0);
	assert_int_equal(hold(&ob, 60, 1, 1), 0);
	assert_int_equal(hold(&ob, 60, 2, 1), 0);
	assert_int_equal(ob.stats.full_requests, 0);
	assert_int_equal(hold(&ob, 60, 3, 1), OUTPUT_BUFFER_FULL);
	assert_int_equal(ob.stats.full_requests, 1);
	for (uint32_t i = 4; i < 8; i++)
		assert_int_equal(hold(&ob, 60, i, 2), OUTPUT_BUFFER_FULL);
	assert_int_equal(ob.stats.full_requests, 1);	/* one episode */
	assert_int_equal(output_buffer_depth(&ob), 8);
	assert_int_equal(hold(&ob, 60, 8, 2), -ENOBUFS);
	assert_int_equal(hold(&ob, 61, 9, 2), -ENOBUFS);
	assert_int_equal(ob.stats.dropped_frames, 2);
	assert_int_equal(ob.stats.dropped_bytes, 121);
	assert_int_equal(ob.stats.held_frames, 8);
	w = strstr(log_captured(), "hard cap");
	assert_non_null(w);
	assert_null(strstr(w + 1, "hard cap"));		/* warned once */

	/* checkpoint 1 loaded: room again, a new episode may begin */
	assert_int_equal(output_buffer_release(&ob, 1, take, &s), 4);
	assert_int_equal(hold(&ob, 60, 10, 2), OUTPUT_BUFFER_FULL);
	assert_int_equal(ob.stats.full_requests, 2);
	for (uint32_t i = 11; i < 14; i++)
		assert_int_equal(hold(&ob, 60, i, 2), OUTPUT_BUFFER_FULL);
	assert_int_equal(hold(&ob, 60, 14, 2), -ENOBUFS);
	assert_non_null(strstr(strstr(log_captured(), "hard cap") + 1, "hard cap"));
	assert_int_equal(ob.stats.dropped_frames, 3);
	assert_int_equal(output_buffer_release(&ob, 2, take, &s), 8);
	assert_int_equal(hold(&ob, 60, 15, 3), 0);
	/* what left is what was held, in order; the dropped never left */
	{
		uint32_t want[] = { 0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13 };

		assert_int_equal(s.n, 12);
		for (unsigned i = 0; i < 12; i++)
			assert_int_equal(s.seq[i], want[i]);
	}
	output_buffer_free(&ob);
}

/* The same by bytes: FULL from max_bytes held, drops past 2 * max_bytes. */
static void test_byte_limit_and_cap(void **state)
{
	struct output_buffer ob;
	struct seen s;

	(void)state;
	seen_reset(&s);
	assert_int_equal(output_buffer_init(&ob, 1000, 1000, 1514), 0);
	assert_int_equal(hold(&ob, 300, 0, 1), 0);		/* 300 */
	assert_int_equal(hold(&ob, 300, 1, 1), 0);		/* 600 */
	assert_int_equal(hold(&ob, 399, 2, 1), 0);		/* 999 */
	assert_int_equal(hold(&ob, 1, 3, 1), OUTPUT_BUFFER_FULL);	/* 1000 */
	assert_int_equal(hold(&ob, 500, 4, 1), OUTPUT_BUFFER_FULL);	/* 1500 */
	assert_int_equal(hold(&ob, 500, 5, 1), OUTPUT_BUFFER_FULL);	/* 2000 */
	assert_int_equal(hold(&ob, 1, 6, 1), -ENOBUFS);		/* 2001 */
	assert_int_equal(ob.stats.depth_bytes, 2000);
	assert_int_equal(ob.stats.dropped_frames, 1);
	assert_int_equal(ob.stats.dropped_bytes, 1);
	assert_int_equal(ob.stats.full_requests, 1);
	assert_int_equal(output_buffer_release(&ob, 1, take, &s), 6);
	assert_int_equal(ob.stats.released_bytes, 2000);
	output_buffer_free(&ob);
}

/* A frame of 0 bytes or over frame_max is refused and counted. */
static void test_frame_size_bounds(void **state)
{
	struct output_buffer ob;

	(void)state;
	assert_int_equal(output_buffer_init(&ob, 100, 100000, 1514), 0);
	assert_int_equal(hold(&ob, 0, 0, 1), -EMSGSIZE);
	assert_int_equal(hold(&ob, 1515, 1, 1), -EMSGSIZE);
	assert_int_equal(hold(&ob, 1514, 2, 1), 0);
	assert_int_equal(hold(&ob, 1, 3, 1), 0);
	assert_int_equal(ob.stats.dropped_frames, 2);
	assert_int_equal(ob.stats.dropped_bytes, 1515);
	assert_int_equal(ob.stats.held_frames, 2);
	assert_non_null(strstr(log_captured(), "1 to 1514 bytes"));
	output_buffer_free(&ob);
}

/*
 * The arena wraps: kept near its cap with frames of every size, a frame
 * within the cap is always taken (what the end of the arena leaves is
 * covered by frame_max), and every frame comes out intact.
 */
static void test_arena_wraps_within_cap(void **state)
{
	struct output_buffer ob;
	struct seen s;
	uint32_t seq = 0, next_out = 0;
	unsigned seed = 7;

	(void)state;
	seen_reset(&s);
	assert_int_equal(output_buffer_init(&ob, 64, 4000, 1500), 0);
	for (unsigned round = 0; round < 20000; round++) {
		size_t len = 4 + (size_t)(rand_r(&seed) % 1497);
		int ret;

		if (ob.count < ob.cap_frames &&
		    ob.stats.depth_bytes + len <= ob.cap_bytes) {
			ret = hold(&ob, len, seq, seq);
			assert_true(ret == 0 || ret == OUTPUT_BUFFER_FULL);
			seq++;
			continue;
		}
		/* full: release the oldest few */
		s.n = 0;
		assert_true(output_buffer_release(&ob, output_buffer_oldest_epoch(&ob) +
						  (uint64_t)(rand_r(&seed) % 3),
						  take, &s) > 0);
		for (unsigned i = 0; i < s.n; i++)
			assert_int_equal(s.seq[i], next_out++);
	}
	assert_int_equal(ob.stats.dropped_frames, 0);
	assert_true(ob.stats.high_bytes > 3000);
	output_buffer_free(&ob);
}

/* --- counters -------------------------------------------------------------- */

static void test_counters_and_status(void **state)
{
	struct output_buffer ob;
	struct evbuffer *buf;
	struct status_out so;
	struct seen s;
	char text[4096];
	size_t n;

	(void)state;
	seen_reset(&s);
	assert_int_equal(output_buffer_init(&ob, 3, 100000, 1514), 0);
	assert_int_equal(hold(&ob, 100, 0, 1), 0);
	assert_int_equal(hold(&ob, 200, 1, 1), 0);
	assert_int_equal(hold(&ob, 300, 2, 2), OUTPUT_BUFFER_FULL);
	assert_int_equal(output_buffer_release(&ob, 1, take, &s), 2);
	assert_int_equal(hold(&ob, 400, 3, 2), 0);
	assert_int_equal(hold(&ob, 0, 4, 2), -EMSGSIZE);

	assert_int_equal(ob.stats.held_frames, 4);
	assert_int_equal(ob.stats.held_bytes, 1000);
	assert_int_equal(ob.stats.released_frames, 2);
	assert_int_equal(ob.stats.released_bytes, 300);
	assert_int_equal(ob.stats.depth_frames, 2);
	assert_int_equal(ob.stats.depth_bytes, 700);
	assert_int_equal(ob.stats.high_frames, 3);
	assert_int_equal(ob.stats.high_bytes, 700);	/* 600, then 700 */
	assert_int_equal(ob.stats.full_requests, 1);
	assert_int_equal(ob.stats.dropped_frames, 1);

	buf = evbuffer_new();
	assert_non_null(buf);
	status_begin(&so, buf, false);
	output_buffer_status(&ob, &so);
	status_end(&so);
	n = evbuffer_remove(buf, text, sizeof(text) - 1);
	text[n] = '\0';
	evbuffer_free(buf);
	printf("%s", text);
	assert_non_null(strstr(text, "outbuf_depth_frames    2\n"));
	assert_non_null(strstr(text, "outbuf_high_bytes      700\n"));
	assert_non_null(strstr(text, "outbuf_released_frames 2\n"));
	assert_non_null(strstr(text, "outbuf_full_requests   1\n"));
	assert_non_null(strstr(text, "outbuf_dropped_frames  1\n"));
	assert_non_null(strstr(text, "outbuf_max_frames      3\n"));
	output_buffer_free(&ob);
}

/* --- a randomized check against a plain model ----------------------------- */

/* The model: an array of frames in order, the rules written plainly. */
struct model {
	struct { uint32_t seq; size_t len; uint64_t epoch; } q[SEEN_MAX];
	unsigned head, n;
	uint64_t bytes, dropped, full_requests, high_frames, high_bytes;
	int asked;
};

static void test_random_model(void **state)
{
	struct output_buffer ob;
	struct model *m = calloc(1, sizeof(*m));
	struct seen s;
	const char *env = getenv("COLO_TEST_SEED");
	unsigned seed = env ? (unsigned)strtoul(env, NULL, 0) :
			(unsigned)time(NULL);
	uint32_t seq = 0;
	uint64_t epoch = 1;
	const uint32_t max_frames = 50;
	const uint64_t max_bytes = 20000;

	(void)state;
	assert_non_null(m);
	printf("random model: seed %u (COLO_TEST_SEED=%u repeats it)\n", seed,
	       seed);
	seen_reset(&s);
	assert_int_equal(output_buffer_init(&ob, max_frames, max_bytes, 1514), 0);
	for (unsigned step = 0; step < 200000; step++) {
		unsigned op = (unsigned)rand_r(&seed) % 100;
		unsigned live = m->n - m->head;
		/* phases: mostly draining, then mostly filling past the cap */
		unsigned holds = (step / 5000) % 2 ? 95 : 60;

		if (op < holds) {			/* hold */
			size_t len = 4 + (size_t)(rand_r(&seed) % 1511);
			int want, got;

			if (rand_r(&seed) % 20 == 0)
				epoch++;		/* a checkpoint began */
			if (live >= 2 * max_frames || m->bytes + len > 2 * max_bytes) {
				want = -ENOBUFS;
				m->dropped++;
			} else {
				assert_true(m->n < SEEN_MAX);
				m->q[m->n].seq = seq;
				m->q[m->n].len = len;
				m->q[m->n].epoch = epoch;
				m->n++;
				live++;
				m->bytes += len;
				if (live > m->high_frames)
					m->high_frames = live;
				if (m->bytes > m->high_bytes)
					m->high_bytes = m->bytes;
				want = 0;
				if (live >= max_frames || m->bytes >= max_bytes) {
					want = OUTPUT_BUFFER_FULL;
					m->full_requests += !m->asked;
					m->asked = 1;
				}
			}
			got = hold(&ob, len, seq, epoch);
			if (got != want)
				fail_msg("seed %u step %u: hold of %zu bytes gave %d, "
					 "the model %d", seed, step, len, got, want);
			seq++;
		} else {				/* release */
			uint64_t loaded = epoch - (uint64_t)(rand_r(&seed) % 4);
			bool all = rand_r(&seed) % 50 == 0;
			int stop = rand_r(&seed) % 4 == 0 ?
				   (int)(rand_r(&seed) % 5) : -1;
			int got, want = 0;
			unsigned before = s.n;

			s.stop_after = stop < 0 ? -1 : (int)s.n + stop;
			got = all ? output_buffer_release_all(&ob, take, &s) :
			      output_buffer_release(&ob, loaded, take, &s);
			while (m->head < m->n && (all || m->q[m->head].epoch <= loaded)) {
				if (stop >= 0 && want == stop) {
					want = -EAGAIN;
					break;
				}
				if (s.n - before <= (unsigned)want)
					fail_msg("seed %u step %u: release gave %u "
						 "frames, the model more", seed, step,
						 s.n - before);
				assert_int_equal(s.seq[before + (unsigned)want],
						 m->q[m->head].seq);
				assert_int_equal(s.len[before + (unsigned)want],
						 m->q[m->head].len);
				m->bytes -= m->q[m->head].len;
				m->head++;
				want++;
			}
			if ((want > 0 || (want == -EAGAIN && s.n > before)))
				m->asked = 0;
			if (got != want)
				fail_msg("seed %u step %u: release(%" PRIu64 ") gave "
					 "%d, the model %d", seed, step, loaded, got,
					 want);
			if (want >= 0)
				assert_int_equal(s.n - before, want);
			/* the model's queue restarts when the seen log fills */
			if (s.n > SEEN_MAX - 200 || m->n > SEEN_MAX - 200) {
				unsigned left = m->n - m->head;

				memmove(m->q, m->q + m->head, left * sizeof(m->q[0]));
				m->head = 0;
				m->n = left;
				s.n = 0;
			}
		}
		assert_int_equal(output_buffer_depth(&ob), m->n - m->head);
		assert_int_equal(ob.stats.depth_bytes, m->bytes);
	}
	assert_int_equal(ob.stats.dropped_frames, m->dropped);
	assert_int_equal(ob.stats.full_requests, m->full_requests);
	assert_int_equal(ob.stats.high_frames, m->high_frames);
	assert_int_equal(ob.stats.high_bytes, m->high_bytes);
	assert_int_equal(ob.stats.held_frames, ob.stats.released_frames +
			 ob.stats.depth_frames);
	printf("random model: %" PRIu64 " held, %" PRIu64 " released, %" PRIu64
	       " dropped, %" PRIu64 " limit episodes, high water %" PRIu64
	       " frames / %" PRIu64 " bytes\n", ob.stats.held_frames,
	       ob.stats.released_frames, ob.stats.dropped_frames,
	       ob.stats.full_requests, ob.stats.high_frames, ob.stats.high_bytes);
	assert_true(ob.stats.dropped_frames > 0);	/* the cap was reached */
	output_buffer_free(&ob);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_refuses_bad_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_released_early, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_kept_across_epochs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_epoch_going_back_is_held_later, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emit_stops_keeps_the_rest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emit_may_not_reenter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frame_limit_and_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_byte_limit_and_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frame_size_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arena_wraps_within_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counters_and_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_model, setup, teardown),
	};

	return cmocka_run_group_tests_name("output_buffer", tests, NULL, NULL);
}
