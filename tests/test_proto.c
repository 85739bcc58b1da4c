/*
 * test_proto.c - the wire format, one record type at a time: what an
 * encoder writes its decoder reads back the same, and every decoder
 * refuses a payload one byte short and one byte long and each value out
 * of its range, with -EPROTO and one log line that names the record, the
 * value expected and the value received.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "colo_proto.h"
#include "log.h"
#include "mirror_proto.h"

#define PAGE	4096u

/* --- what the decoders log ----------------------------------------------- */

static unsigned nr_lines;
static char last_line[1024];

static void on_log(enum log_level level, const char *line, void *opaque)
{
	(void)level;
	(void)opaque;
	nr_lines++;
	snprintf(last_line, sizeof(last_line), "%s", line);
}

static int setup(void **state)
{
	(void)state;
	log_set_hook(on_log, NULL);
	log_set_quiet(1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	log_set_hook(NULL, NULL);
	log_set_quiet(0);
	return 0;
}

/* ret is a refusal, logged in one line holding every needle. */
static void check_refused(int ret, const char *call, int line,
			  const char *const *needles)
{
	if (ret != -EPROTO)
		fail_msg("line %d: %s returned %d, expected -EPROTO", line, call,
			 ret);
	if (nr_lines != 1)
		fail_msg("line %d: %s logged %u lines, expected 1 (the last: "
			 "'%s')", line, call, nr_lines, last_line);
	for (; *needles; needles++)
		if (!strstr(last_line, *needles))
			fail_msg("line %d: %s logged '%s', which lacks '%s'",
				 line, call, last_line, *needles);
}

/* call must return -EPROTO and log one line with each of the strings. */
#define expect_refused(call, ...) do {					\
		int ret_;						\
									\
		nr_lines = 0;						\
		last_line[0] = '\0';					\
		ret_ = (call);						\
		check_refused(ret_, #call, __LINE__,			\
			      (const char *const[]){ __VA_ARGS__, NULL }); \
	} while (0)

/* call must succeed, and log nothing. */
#define expect_ok(call) do {						\
		int ret_;						\
									\
		nr_lines = 0;						\
		ret_ = (call);						\
		if (ret_ != 0 || nr_lines)				\
			fail_msg("line %d: %s returned %d and logged %u " \
				 "lines ('%s'), expected 0 and none",	\
				 __LINE__, #call, ret_, nr_lines,	\
				 nr_lines ? last_line : "");		\
	} while (0)

/* --- the record table ---------------------------------------------------- */

static void test_record_names(void **state)
{
	(void)state;
	assert_string_equal(colo_record_name(COLO_HELLO), "HELLO");
	assert_string_equal(colo_record_name(COLO_VMSTATE_LOADED),
			    "VMSTATE_LOADED");
	assert_string_equal(colo_record_name(COLO_MEMHASH), "MEMHASH");
	for (unsigned t = 1; t <= COLO_RECORD_TYPE_MAX; t++) {
		assert_non_null(colo_record_name(t));
		assert_string_not_equal(colo_record_name(t), "?");
	}
	assert_string_equal(colo_record_name(0), "?");
	assert_string_equal(colo_record_name(COLO_RECORD_TYPE_MAX + 1), "?");
}

/* --- HELLO --------------------------------------------------------------- */

static const struct colo_hello good_hello = {
	.magic = COLO_PROTO_MAGIC, .version = COLO_PROTO_VERSION,
	.page_size = PAGE, .role = COLO_ROLE_PRIMARY,
	.guest_hash = 0xdeadbeef, .compress_level = 6,
};

/* h encoded, then decoded: must be refused with the needles. */
static void hello_refused(const struct colo_hello *h, const char *got,
			  const char *want)
{
	uint8_t b[COLO_HELLO_LEN];
	struct colo_hello out = { .guest_hash = 42 };

	colo_hello_encode(h, b);
	expect_refused(colo_hello_decode(b, sizeof(b), &out), "HELLO", got,
		       want);
	assert_int_equal(out.guest_hash, 42);	/* left as it was */
}

static void test_hello(void **state)
{
	uint8_t b[COLO_HELLO_LEN + 1] = { 0 };
	struct colo_hello h, back;

	(void)state;
	colo_hello_encode(&good_hello, b);
	expect_ok(colo_hello_decode(b, COLO_HELLO_LEN, &back));
	assert_memory_equal(&back, &good_hello, sizeof(back));
	h = good_hello;
	h.role = COLO_ROLE_SECONDARY;
	h.compress_level = COLO_COMPRESS_MAX;
	h.version = 99;			/* the daemon's to judge */
	colo_hello_encode(&h, b);
	expect_ok(colo_hello_decode(b, COLO_HELLO_LEN, &back));
	assert_memory_equal(&back, &h, sizeof(back));

	expect_refused(colo_hello_decode(b, COLO_HELLO_LEN - 1, &back),
		       "HELLO", "31 bytes", "expected 32");
	expect_refused(colo_hello_decode(b, COLO_HELLO_LEN + 1, &back),
		       "HELLO", "33 bytes", "expected 32");

	h = good_hello;
	h.magic = 0x47455420;		/* "GET " */
	hello_refused(&h, "0x47455420", "0x434f4c4f");
	h = good_hello;
	h.role = 0;
	hello_refused(&h, "role 0", "expected 1");
	h.role = 3;
	hello_refused(&h, "role 3", "or 2");
	h = good_hello;
	h.page_size = 0;
	hello_refused(&h, "page size 0", "power of two");
	h.page_size = PAGE + 1;
	hello_refused(&h, "page size 4097", "power of two");
	h = good_hello;
	h.compress_level = COLO_COMPRESS_MAX + 1;
	hello_refused(&h, "compress level 10", "0..9");
}

/* --- CHECKPOINT_READY, GUEST_SHUTDOWN: no payload ------------------------ */

static void test_empty(void **state)
{
	static const uint16_t types[] = {
		COLO_CHECKPOINT_READY, COLO_GUEST_SHUTDOWN,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		const char *name = colo_record_name(types[i]);

		expect_ok(colo_empty_decode(types[i], 0));
		expect_refused(colo_empty_decode(types[i], 1), name,
			       "1 bytes", "expected 0");
	}
}

/* --- the id records ------------------------------------------------------ */

static void test_id(void **state)
{
	static const uint16_t types[] = {
		COLO_CHECKPOINT_REQUEST, COLO_CHECKPOINT_REPLY,
		COLO_VMSTATE_SEND, COLO_VMSTATE_RECEIVED,
	};
	uint8_t b[COLO_ID_LEN + 1] = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		const char *name = colo_record_name(types[i]);
		struct colo_id m = { .id = 0x0102030405060708ull }, back;

		colo_id_encode(&m, b);
		assert_int_equal(b[0], 1);	/* big-endian */
		assert_int_equal(b[7], 8);
		expect_ok(colo_id_decode(types[i], b, COLO_ID_LEN, &back));
		assert_int_equal(back.id, m.id);
		expect_refused(colo_id_decode(types[i], b, COLO_ID_LEN - 1,
					      &back), name, "7 bytes",
			       "expected 8");
		expect_refused(colo_id_decode(types[i], b, COLO_ID_LEN + 1,
					      &back), name, "9 bytes",
			       "expected 8");
		m.id = 0;
		colo_id_encode(&m, b);
		back.id = 5;
		expect_refused(colo_id_decode(types[i], b, COLO_ID_LEN, &back),
			       name, "checkpoint 0", "1 or more");
		assert_int_equal(back.id, 5);
	}
}

/* --- VMSTATE_SIZE -------------------------------------------------------- */

static void test_vmstate_size(void **state)
{
	const struct colo_vmstate_size good = {
		.id = 7, .pages = 3, .bytes = 3 * (COLO_PAGE_HDR + PAGE),
		.flags = COLO_VMSTATE_FLAGS, .clock_ms = 123456789,
	};
	uint8_t b[COLO_VMSTATE_SIZE_LEN + 1] = { 0 };
	struct colo_vmstate_size m, least, back;

	(void)state;
	colo_vmstate_size_encode(&good, b);
	expect_ok(colo_vmstate_size_decode(b, COLO_VMSTATE_SIZE_LEN, &back));
	assert_memory_equal(&back, &good, sizeof(back));
	/* the least a page may take: its header (ZERO pages) */
	least = good;
	least.bytes = least.pages * COLO_PAGE_HDR;
	least.flags = 0;
	colo_vmstate_size_encode(&least, b);
	expect_ok(colo_vmstate_size_decode(b, COLO_VMSTATE_SIZE_LEN, &back));
	assert_memory_equal(&back, &least, sizeof(back));

	expect_refused(colo_vmstate_size_decode(b, COLO_VMSTATE_SIZE_LEN - 1,
						&back), "VMSTATE_SIZE",
		       "39 bytes", "expected 40");
	expect_refused(colo_vmstate_size_decode(b, COLO_VMSTATE_SIZE_LEN + 1,
						&back), "VMSTATE_SIZE",
		       "41 bytes", "expected 40");

	m = good;
	m.id = 0;
	colo_vmstate_size_encode(&m, b);
	expect_refused(colo_vmstate_size_decode(b, COLO_VMSTATE_SIZE_LEN,
						&back),
		       "VMSTATE_SIZE", "checkpoint 0", "1 or more");
	m = good;
	m.flags = COLO_VMSTATE_FLAGS + 1;
	colo_vmstate_size_encode(&m, b);
	expect_refused(colo_vmstate_size_decode(b, COLO_VMSTATE_SIZE_LEN,
						&back),
		       "VMSTATE_SIZE", "flags 0x4", "0x3");
	m.flags = 1ull << 63;
	colo_vmstate_size_encode(&m, b);
	expect_refused(colo_vmstate_size_decode(b, COLO_VMSTATE_SIZE_LEN,
						&back),
		       "VMSTATE_SIZE", "flags 0x8000000000000000", "0x3");
	m = good;
	m.bytes = m.pages * COLO_PAGE_HDR - 1;
	colo_vmstate_size_encode(&m, b);
	expect_refused(colo_vmstate_size_decode(b, COLO_VMSTATE_SIZE_LEN,
						&back),
		       "VMSTATE_SIZE", "3 pages in 38 bytes", "at least 13");
	/* no overflow: pages * 13 would wrap to a small number */
	m.pages = UINT64_MAX / 13 + 2;
	m.bytes = 100;
	colo_vmstate_size_encode(&m, b);
	expect_refused(colo_vmstate_size_decode(b, COLO_VMSTATE_SIZE_LEN,
						&back),
		       "VMSTATE_SIZE", "in 100 bytes", "at least 13");
	/* refused, back is what the last good one left */
	assert_memory_equal(&back, &least, sizeof(back));
}

/* --- VMSTATE_LOADED ------------------------------------------------------ */

static void test_vmstate_loaded(void **state)
{
	uint8_t b[COLO_VMSTATE_LOADED_LEN + 1] = { 0 };
	struct colo_vmstate_loaded m = { .id = 9, .verify = COLO_VERIFY_MAX },
				   back;

	(void)state;
	colo_vmstate_loaded_encode(&m, b);
	expect_ok(colo_vmstate_loaded_decode(b, COLO_VMSTATE_LOADED_LEN, &back));
	assert_int_equal(back.id, 9);
	assert_int_equal(back.verify, COLO_VERIFY_MAX);

	expect_refused(colo_vmstate_loaded_decode(b, COLO_VMSTATE_LOADED_LEN - 1,
						  &back), "VMSTATE_LOADED",
		       "11 bytes", "expected 12");
	expect_refused(colo_vmstate_loaded_decode(b, COLO_VMSTATE_LOADED_LEN + 1,
						  &back), "VMSTATE_LOADED",
		       "13 bytes", "expected 12");

	m.verify = COLO_VERIFY_MAX + 1;
	colo_vmstate_loaded_encode(&m, b);
	expect_refused(colo_vmstate_loaded_decode(b, COLO_VMSTATE_LOADED_LEN,
						  &back), "VMSTATE_LOADED",
		       "checkpoint 9 says verify 3", "expected 0..2");
	m.verify = 0x7fff0000;		/* what test_fault_link sends */
	colo_vmstate_loaded_encode(&m, b);
	expect_refused(colo_vmstate_loaded_decode(b, COLO_VMSTATE_LOADED_LEN,
						  &back), "VMSTATE_LOADED",
		       "says verify 2147418112", "expected 0..2");
	m.verify = COLO_VERIFY_SAME;
	m.id = 0;
	colo_vmstate_loaded_encode(&m, b);
	expect_refused(colo_vmstate_loaded_decode(b, COLO_VMSTATE_LOADED_LEN,
						  &back), "VMSTATE_LOADED",
		       "checkpoint 0", "1 or more");
	assert_int_equal(back.id, 9);	/* left as it was */
}

/* --- HEARTBEAT, MEMHASH -------------------------------------------------- */

static void test_heartbeat(void **state)
{
	uint8_t b[COLO_HEARTBEAT_LEN + 1] = { 0 };
	struct colo_heartbeat m = { .ms = 0xfedcba9876543210ull }, back;

	(void)state;
	colo_heartbeat_encode(&m, b);
	expect_ok(colo_heartbeat_decode(b, COLO_HEARTBEAT_LEN, &back));
	assert_int_equal(back.ms, m.ms);
	expect_refused(colo_heartbeat_decode(b, COLO_HEARTBEAT_LEN - 1, &back),
		       "HEARTBEAT", "7 bytes", "expected 8");
	expect_refused(colo_heartbeat_decode(b, COLO_HEARTBEAT_LEN + 1, &back),
		       "HEARTBEAT", "9 bytes", "expected 8");
}

static void test_memhash(void **state)
{
	uint8_t b[COLO_MEMHASH_LEN + 1] = { 0 };
	struct colo_memhash m = { .crc = 0x89abcdef, .bytes = 24ull << 20 },
			    back;

	(void)state;
	colo_memhash_encode(&m, b);
	expect_ok(colo_memhash_decode(b, COLO_MEMHASH_LEN, &back));
	assert_int_equal(back.crc, m.crc);
	assert_int_equal(back.bytes, m.bytes);
	expect_refused(colo_memhash_decode(b, COLO_MEMHASH_LEN - 1, &back),
		       "MEMHASH", "11 bytes", "expected 12");
	expect_refused(colo_memhash_decode(b, COLO_MEMHASH_LEN + 1, &back),
		       "MEMHASH", "13 bytes", "expected 12");
}

/* --- PAGES (page_stream.c) ----------------------------------------------- */

/* A record of a RAW, a ZERO and a ZLIB page; its length. */
static uint32_t three_pages(uint8_t *rec, struct colo_page pg[3])
{
	static uint8_t raw[PAGE], zlib[100];
	size_t n = 0;

	memset(raw, 0xa5, sizeof(raw));
	memset(zlib, 0x5a, sizeof(zlib));
	pg[0] = (struct colo_page){ 0x10000, COLO_PAGE_RAW, PAGE, raw };
	pg[1] = (struct colo_page){ 0x20000, COLO_PAGE_ZERO, 0, NULL };
	pg[2] = (struct colo_page){ 0x30000, COLO_PAGE_ZLIB, sizeof(zlib),
				    zlib };
	for (int i = 0; i < 3; i++)
		n += colo_page_encode(&pg[i], rec + n);
	assert_int_equal(n, 3 * COLO_PAGE_HDR + PAGE + sizeof(zlib));
	return (uint32_t)n;
}

static void test_pages_roundtrip(void **state)
{
	static uint8_t rec[3 * COLO_PAGE_HDR + PAGE + 100];
	struct colo_page pg[3], back;
	uint32_t len = three_pages(rec, pg), off = 0;

	(void)state;
	for (int i = 0; i < 3; i++) {
		nr_lines = 0;
		assert_int_equal(colo_pages_next(rec, len, PAGE, &off, &back),
				 1);
		assert_int_equal(nr_lines, 0);
		assert_int_equal(back.addr, pg[i].addr);
		assert_int_equal(back.encoding, pg[i].encoding);
		assert_int_equal(back.len, pg[i].len);
		if (back.len)
			assert_memory_equal(back.data, pg[i].data, back.len);
	}
	assert_int_equal(off, len);
	assert_int_equal(colo_pages_next(rec, len, PAGE, &off, &back), 0);
	off = 0;			/* an empty record: no entry */
	assert_int_equal(colo_pages_next(rec, 0, PAGE, &off, &back), 0);
}

/* Every entry of a PAGES payload, until the end or a refusal. */
static int walk(const uint8_t *rec, uint32_t len)
{
	struct colo_page pg;
	uint32_t off = 0;
	int ret;

	while ((ret = colo_pages_next(rec, len, PAGE, &off, &pg)) > 0)
		;
	return ret;
}

/* One entry with the given header (data: whatever follows in rec). */
static uint32_t one_page(uint8_t *rec, uint64_t addr, uint8_t enc,
			 uint32_t len)
{
	put_be64(rec, addr);		/* by hand: the encoder writes */
	rec[8] = enc;			/* only good entries */
	put_be32(rec + 9, len);
	return COLO_PAGE_HDR + len;
}

static void test_pages_refused(void **state)
{
	static uint8_t rec[3 * COLO_PAGE_HDR + PAGE + 100 + 1];
	struct colo_page pg[3];
	uint32_t len = three_pages(rec, pg), n;

	(void)state;
	/* one byte short: the last page's data is cut */
	expect_refused(walk(rec, len - 1), "PAGES", "page 0x30000",
		       "claims 100 bytes", "at most the 99 left");
	/* one byte long: a header begins and ends at once */
	expect_refused(walk(rec, len + 1), "PAGES", "ends inside a page header",
		       "expected 13");
	/* a cut header */
	expect_refused(walk(rec, COLO_PAGE_HDR - 1), "PAGES",
		       "of 12 bytes ends inside a page header", "expected 13");

	/* each encoding with a length it cannot have */
	memset(rec, 0, sizeof(rec));
	n = one_page(rec, 0x10000, COLO_PAGE_RAW, PAGE - 1);
	expect_refused(walk(rec, n), "PAGES", "page 0x10000",
		       "encoding 0 has 4095 bytes", "expected 4096");
	n = one_page(rec, 0x10000, COLO_PAGE_RAW, PAGE + 1);
	expect_refused(walk(rec, n), "PAGES", "4097 bytes", "expected 4096");
	n = one_page(rec, 0x10000, COLO_PAGE_ZERO, 1);
	expect_refused(walk(rec, n), "PAGES", "encoding 1 has 1 bytes",
		       "expected 0");
	n = one_page(rec, 0x10000, COLO_PAGE_ZLIB, 0);
	expect_refused(walk(rec, n), "PAGES", "encoding 2 has 0 bytes",
		       "expected 1..4096");
	n = one_page(rec, 0x10000, COLO_PAGE_ZLIB, PAGE + 1);
	expect_refused(walk(rec, n), "PAGES", "encoding 2 has 4097 bytes",
		       "expected 1..4096");
	/* an encoding nobody knows */
	n = one_page(rec, 0x10000, 3, 0);
	expect_refused(walk(rec, n), "PAGES", "encoding 3", "expected 0");
	/* an address within a page */
	n = one_page(rec, 0x10001, COLO_PAGE_ZERO, 0);
	expect_refused(walk(rec, n), "PAGES", "page 0x10001", "4096-byte");
	/* the same entries well formed pass */
	n = one_page(rec, 0x10000, COLO_PAGE_ZLIB, PAGE);
	expect_ok(walk(rec, n));
	n = one_page(rec, 0x10000, COLO_PAGE_RAW, PAGE);
	expect_ok(walk(rec, n));
}

/* --- RAM_BLOCKS (page_stream.c) ------------------------------------------ */

static const struct colo_ram_block good_blocks[] = {
	{ 0x10000, 4 * PAGE }, { 0x20000, PAGE },
	{ 0x7f0000000000, 256 * PAGE },
};
#define NR_GOOD	3

static void test_ram_blocks_roundtrip(void **state)
{
	uint8_t rec[COLO_RAM_BLOCKS_LEN(NR_GOOD)];
	struct colo_ram_block *back = NULL;
	uint32_t n = 0;

	(void)state;
	assert_int_equal(sizeof(rec), 4 + NR_GOOD * COLO_RAM_BLOCK_LEN);
	colo_ram_blocks_encode(good_blocks, NR_GOOD, rec);
	expect_ok(colo_ram_blocks_decode(rec, sizeof(rec), PAGE, &back, &n));
	assert_int_equal(n, NR_GOOD);
	assert_memory_equal(back, good_blocks, sizeof(good_blocks));
	free(back);
	/* none at all */
	colo_ram_blocks_encode(NULL, 0, rec);
	expect_ok(colo_ram_blocks_decode(rec, COLO_RAM_BLOCKS_LEN(0), PAGE,
					 &back, &n));
	assert_int_equal(n, 0);
	free(back);
}

/* blocks encoded, then decoded: refused with the needles, nothing out. */
static void blocks_refused(const struct colo_ram_block *b, uint32_t n,
			   const char *got, const char *want)
{
	static struct colo_ram_block untouched;
	uint8_t rec[COLO_RAM_BLOCKS_LEN(4)];
	struct colo_ram_block *back = &untouched;
	uint32_t nr = 77;

	assert_true(n <= 4);
	colo_ram_blocks_encode(b, n, rec);
	expect_refused(colo_ram_blocks_decode(rec, (uint32_t)
					      COLO_RAM_BLOCKS_LEN(n), PAGE,
					      &back, &nr),
		       "RAM_BLOCKS", got, want);
	assert_ptr_equal(back, &untouched);
	assert_int_equal(nr, 77);
}

static void test_ram_blocks_refused(void **state)
{
	uint8_t rec[COLO_RAM_BLOCKS_LEN(NR_GOOD) + 1] = { 0 };
	struct colo_ram_block b[2], *back = NULL;
	uint32_t n = 0, len = (uint32_t)COLO_RAM_BLOCKS_LEN(NR_GOOD);

	(void)state;
	colo_ram_blocks_encode(good_blocks, NR_GOOD, rec);
	expect_refused(colo_ram_blocks_decode(rec, len - 1, PAGE, &back, &n),
		       "RAM_BLOCKS", "of 51 bytes", "expected 4 and 16 a block");
	expect_refused(colo_ram_blocks_decode(rec, len + 1, PAGE, &back, &n),
		       "RAM_BLOCKS", "of 53 bytes", "expected 4 and 16 a block");
	expect_refused(colo_ram_blocks_decode(rec, 3, PAGE, &back, &n),
		       "RAM_BLOCKS", "of 3 bytes", "expected 4");
	/* whole blocks, but a count that does not match them */
	put_be32(rec, NR_GOOD + 1);
	expect_refused(colo_ram_blocks_decode(rec, len, PAGE, &back, &n),
		       "RAM_BLOCKS", "counts 4 blocks", "expected 3");
	assert_null(back);

	b[0] = good_blocks[0];
	b[1] = good_blocks[1];
	b[1].len = 0;				/* empty */
	blocks_refused(b, 2, "block 1 (0x20000, 0 bytes)", "4096-byte pages");
	b[1].len = PAGE + 1;			/* not whole pages */
	blocks_refused(b, 2, "block 1 (0x20000, 4097 bytes)", "4096-byte pages");
	b[1] = good_blocks[1];
	b[1].start += 1;			/* not page aligned */
	blocks_refused(b, 2, "block 1 (0x20001", "4096-byte pages");
	b[1] = good_blocks[1];
	b[1].start = b[0].start;		/* out of order: overlapping */
	blocks_refused(b, 2, "block 1 (0x10000", "from 0x14000 on");
	b[1].start = 0;				/* below the one before */
	blocks_refused(b, 2, "block 1 (0", "from 0x14000 on");
	b[0].start = UINT64_MAX - PAGE + 1;	/* wraps around */
	b[0].len = 2 * PAGE;
	blocks_refused(b, 1, "block 0 (0xfffffffffffff000", "from 0 on");
	b[0] = good_blocks[0];			/* right after: fine */
	b[1] = (struct colo_ram_block){ b[0].start + b[0].len, PAGE };
	colo_ram_blocks_encode(b, 2, rec);
	expect_ok(colo_ram_blocks_decode(rec, (uint32_t)COLO_RAM_BLOCKS_LEN(2),
					 PAGE, &back, &n));
	assert_int_equal(n, 2);
	free(back);
}

/* --- the mirror link (netcompare/mirror_proto.c) ------------------------ */

static void test_mirror_u64(void **state)
{
	uint8_t b[9];
	uint64_t v = 7;

	(void)state;
	mirror_u64_encode(0x0102030405060708ull, b);
	expect_ok(mirror_u64_decode(COLO_MIRROR_TICK, b, 8, &v));
	assert_int_equal(v, 0x0102030405060708ull);
	expect_ok(mirror_u64_decode(COLO_MIRROR_HELLO, b, 8, &v));
	v = 7;
	expect_refused(mirror_u64_decode(COLO_MIRROR_TICK, b, 7, &v),
		       "MIRROR_TICK", "7 bytes", "expected 8");
	expect_refused(mirror_u64_decode(COLO_MIRROR_EPOCH, b, 9, &v),
		       "MIRROR_EPOCH", "9 bytes");
	mirror_u64_encode(0, b);
	expect_refused(mirror_u64_decode(COLO_MIRROR_EPOCH, b, 8, &v),
		       "MIRROR_EPOCH of checkpoint 0", "1 or more");
	assert_int_equal(v, 7);		/* left as it was */
	assert_string_equal(colo_record_name(COLO_MIRROR_OUTPUT),
			    "MIRROR_OUTPUT");
}

static void test_mirror_frame(void **state)
{
	static uint8_t p[MIRROR_FRAME_HDR + MIRROR_FRAME_MAX + 1];
	struct mirror_frame m = { .stamp = 99 };

	(void)state;
	mirror_frame_hdr(12345, p);
	memset(p + MIRROR_FRAME_HDR, 0xab, MIRROR_FRAME_MAX + 1);
	expect_ok(mirror_frame_decode(COLO_MIRROR_INPUT, p,
				      MIRROR_FRAME_HDR + 60, &m));
	assert_int_equal(m.stamp, 12345);
	assert_int_equal(m.len, 60);
	assert_ptr_equal(m.frame, p + MIRROR_FRAME_HDR);
	expect_ok(mirror_frame_decode(COLO_MIRROR_OUTPUT, p, MIRROR_FRAME_HDR +
				      MIRROR_FRAME_MAX, &m));
	assert_int_equal(m.len, MIRROR_FRAME_MAX);
	m.stamp = 99;
	expect_refused(mirror_frame_decode(COLO_MIRROR_INPUT, p, MIRROR_FRAME_HDR +
					   MIRROR_FRAME_MIN - 1, &m),
		       "MIRROR_INPUT", "21 bytes", "expected 22..");
	expect_refused(mirror_frame_decode(COLO_MIRROR_OUTPUT, p, MIRROR_FRAME_HDR +
					   MIRROR_FRAME_MAX + 1, &m),
		       "MIRROR_OUTPUT", "16393 bytes");
	mirror_frame_hdr(0, p);
	expect_ok(mirror_frame_decode(COLO_MIRROR_INPUT, p, 80, &m));
	m.stamp = 99;
	expect_refused(mirror_frame_decode(COLO_MIRROR_OUTPUT, p, 80, &m),
		       "MIRROR_OUTPUT of epoch 0");
	assert_int_equal(m.stamp, 99);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_names),
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_id),
		cmocka_unit_test(test_vmstate_size),
		cmocka_unit_test(test_vmstate_loaded),
		cmocka_unit_test(test_heartbeat),
		cmocka_unit_test(test_memhash),
		cmocka_unit_test(test_pages_roundtrip),
		cmocka_unit_test(test_pages_refused),
		cmocka_unit_test(test_ram_blocks_roundtrip),
		cmocka_unit_test(test_ram_blocks_refused),
		cmocka_unit_test(test_mirror_u64),
		cmocka_unit_test(test_mirror_frame),
	};

	return cmocka_run_group_tests_name("proto", tests, setup, teardown);
}
