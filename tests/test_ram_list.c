/*
 * test_ram_list.c - which mappings are RAM (proc_maps.c), and how blocks
 * follow layout changes by address coverage (maps text in, blocks out; no
 * process), or another list's blocks exactly.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "bitmap.h"
#include "log.h"
#include "proc_maps.h"
#include "ram_list.h"

#define PAGE 4096ul

static const char maps_text[] =
	"555555554000-555555556000 r--p 00000000 fe:01 1234  /usr/bin/guest\n"
	"555555556000-555555558000 r-xp 00002000 fe:01 1234  /usr/bin/guest\n"
	"55555555a000-55555555b000 rw-p 00005000 fe:01 1234  /usr/bin/guest\n"
	"55555555b000-55555557c000 rw-p 00000000 00:00 0     [heap]\n"
	"7ffff7d80000-7ffff7d84000 rw-s 00000000 00:01 99    /dev/zero (deleted)\n"
	"7ffff7d84000-7ffff7d86000 ---p 00000000 00:00 0 \n"
	"7ffff7d86000-7ffff7d90000 rw-p 00000000 00:00 0 \n"
	"7ffff7f9a000-7ffff7f9e000 rw-p 001d0000 fe:01 555   /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7ffff7fc1000-7ffff7fc5000 r--p 00000000 00:00 0     [vvar]\n"
	"7ffff7fc5000-7ffff7fc7000 r-xp 00000000 00:00 0     [vdso]\n"
	"7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0     [stack]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]\n";

static void test_parse_filters(void **state)
{
	struct ram_list rl;

	(void)state;
	ram_list_init(&rl, 1, PAGE, 18);
	assert_int_equal(ram_list_parse_maps(&rl, maps_text), 0);
	/* private and readable: code and read-only data too, not the
	 * shared mapping, the PROT_NONE gap or the special mappings */
	assert_int_equal(rl.nr_areas, 7);
	assert_int_equal(rl.areas[0].start, 0x555555554000);
	assert_string_equal(rl.areas[0].name, "guest");
	assert_true(rl.areas[0].file);
	assert_int_equal(rl.areas[1].start, 0x555555556000);
	assert_int_equal(rl.areas[2].start, 0x55555555a000);
	assert_string_equal(rl.areas[3].name, "[heap]");
	assert_false(rl.areas[3].file);
	assert_int_equal(rl.areas[4].start, 0x7ffff7d86000);
	assert_string_equal(rl.areas[4].name, "anon");
	assert_false(rl.areas[4].file);
	assert_string_equal(rl.areas[5].name, "libc.so.6");
	assert_string_equal(rl.areas[6].name, "[stack]");
	ram_list_destroy(&rl);
}

static void test_holes(void **state)
{
	struct ram_list rl;

	(void)state;
	ram_list_init(&rl, 1, PAGE, 18);
	/* a hole inside the anonymous area and one covering the stack */
	assert_int_equal(ram_list_add_hole(&rl, 0x7ffff7d88000, 0x7ffff7d8a000), 0);
	assert_int_equal(ram_list_add_hole(&rl, 0x7ffff7f00000, 0x800000000000), 0);
	assert_int_equal(ram_list_parse_maps(&rl, maps_text), 0);
	/* guest (three), heap, anon (two pieces); libc and stack fall in
	 * the hole */
	assert_int_equal(rl.nr_areas, 6);
	assert_int_equal(rl.areas[4].start, 0x7ffff7d86000);
	assert_int_equal(rl.areas[4].end, 0x7ffff7d88000);
	assert_int_equal(rl.areas[5].start, 0x7ffff7d8a000);
	assert_int_equal(rl.areas[5].end, 0x7ffff7d90000);
	ram_list_destroy(&rl);
}

static void test_parse_errors(void **state)
{
	struct ram_list rl;

	(void)state;
	log_set_quiet(1);
	ram_list_init(&rl, 1, PAGE, 18);
	assert_int_equal(ram_list_parse_maps(&rl, "garbage\n"), -EINVAL);
	/* hugetlb memory is RAM too; the dirty log keeps it wholly dirty */
	assert_int_equal(ram_list_parse_maps(&rl,
		"7f0000000000-7f0000200000 rw-p 00000000 00:0f 123 /anon_hugepage (deleted)\n"), 0);
	assert_int_equal(rl.nr_areas, 1);
	ram_list_destroy(&rl);
	log_set_quiet(0);
}

/* One maps line, all its fields, and the one rule of what is RAM. */
static void test_proc_map(void **state)
{
	char line[] = "7ffff7f9a000-7ffff7f9e000 r-xp 001d0000 fe:01 555   "
		      "/usr/lib/libc.so.6 (deleted)\n";
	static const struct {
		const char *line;
		bool ram;
	} cases[] = {
		{ "1000-2000 rw-p 00000000 00:00 0", true },	/* anonymous */
		{ "1000-2000 r--p 00000000 00:00 0 [anon:jit]", true },
		{ "1000-2000 r--p 00001000 fe:01 7 /usr/bin/guest", true },
		{ "1000-2000 rw-p 00000000 00:00 0 [heap]", true },
		{ "1000-2000 rw-p 00000000 00:00 0 [stack]", true },
		{ "1000-2000 ---p 00000000 00:00 0", false },	/* PROT_NONE */
		{ "1000-2000 -w-p 00000000 00:00 0", false },	/* unreadable */
		{ "1000-2000 rw-s 00000000 00:01 9 /dev/zero (deleted)", false },
		{ "1000-2000 rw-s 00000000 00:01 9 [anon_shmem:x]", false },
		{ "1000-2000 r-xp 00000000 00:00 0 [vdso]", false },
		{ "1000-2000 r-xp 00000000 00:00 0 [uprobes]", false },
	};
	struct proc_map m;

	(void)state;
	assert_int_equal(proc_map_parse(line, &m), 0);
	assert_int_equal(m.start, 0x7ffff7f9a000);
	assert_int_equal(m.end, 0x7ffff7f9e000);
	assert_int_equal(m.offset, 0x1d0000);
	assert_int_equal(m.inode, 555);
	assert_int_equal(m.prot, PROT_READ | PROT_EXEC);
	assert_false(m.shared);
	assert_string_equal(m.path, "/usr/lib/libc.so.6 (deleted)");
	assert_int_equal(proc_map_kind(&m), PROC_MAP_FILE);
	assert_true(proc_map_is_ram(&m));

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[128];

		snprintf(buf, sizeof(buf), "%s", cases[i].line);
		assert_int_equal(proc_map_parse(buf, &m), 0);
		if (proc_map_is_ram(&m) != cases[i].ram)
			fail_msg("'%s' is %sRAM", cases[i].line,
				 cases[i].ram ? "not " : "");
	}

	/* not maps lines */
	snprintf(line, sizeof(line), "1000-2000 rw-p");
	assert_int_equal(proc_map_parse(line, &m), -EINVAL);
	snprintf(line, sizeof(line), "1000-2000 rwxq 0 00:00 0");
	assert_int_equal(proc_map_parse(line, &m), -EINVAL);
	snprintf(line, sizeof(line), "1000-2000 rw-p 0 00:00");
	assert_int_equal(proc_map_parse(line, &m), -EINVAL);
}

/* Update with a maps text and return the number of blocks. */
static size_t update(struct ram_list *rl, const char *text)
{
	assert_int_equal(ram_list_parse_maps(rl, text), 0);
	assert_int_equal(ram_list_update(rl), 0);
	for (size_t i = 1; i < rl->nr_blocks; i++)
		assert_true(rl->blocks[i - 1]->start + rl->blocks[i - 1]->len <=
			    rl->blocks[i]->start);
	return rl->nr_blocks;
}

static struct ram_block *find(struct ram_list *rl, uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < rl->nr_blocks; i++)
		if (rl->blocks[i]->start == start &&
		    rl->blocks[i]->start + rl->blocks[i]->len == end)
			return rl->blocks[i];
	return NULL;
}

static void test_blocks_follow_layout(void **state)
{
	struct ram_list rl;
	struct ram_block *a, *b, *stack;

	(void)state;
	ram_list_init(&rl, 1, PAGE, 6);
	assert_int_equal(update(&rl,
		"10000-20000 rw-p 0 0:0 0\n"
		"20000-30000 rw-p 0 0:0 0\n"
		"7ff00000-7ff10000 rw-p 0 0:0 0 [stack]\n"), 3);
	a = find(&rl, 0x10000, 0x20000);
	b = find(&rl, 0x20000, 0x30000);
	stack = find(&rl, 0x7ff00000, 0x7ff10000);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(stack);
	assert_false(a->tracked);
	a->tracked = b->tracked = stack->tracked = true;
	set_bit(3, a->bmap);
	assert_int_equal(rl.blocks_added, 3);

	/* the kernel merged a and b (same flags after registration): kept */
	assert_int_equal(update(&rl,
		"10000-30000 rw-p 0 0:0 0\n"
		"7ff00000-7ff10000 rw-p 0 0:0 0 [stack]\n"), 3);
	assert_ptr_equal(find(&rl, 0x10000, 0x20000), a);
	assert_ptr_equal(find(&rl, 0x20000, 0x30000), b);
	assert_true(test_bit(3, a->bmap));
	assert_int_equal(rl.blocks_added, 3);

	/* the stack grew down: only the new part is a new block */
	assert_int_equal(update(&rl,
		"10000-30000 rw-p 0 0:0 0\n"
		"7fef0000-7ff10000 rw-p 0 0:0 0 [stack]\n"), 4);
	assert_ptr_equal(find(&rl, 0x7ff00000, 0x7ff10000), stack);
	assert_non_null(find(&rl, 0x7fef0000, 0x7ff00000));
	assert_false(find(&rl, 0x7fef0000, 0x7ff00000)->tracked);
	assert_string_equal(find(&rl, 0x7fef0000, 0x7ff00000)->name, "[stack]");

	/* part of b unmapped: b goes, what is left of it comes back new */
	assert_int_equal(update(&rl,
		"10000-24000 rw-p 0 0:0 0\n"
		"28000-30000 rw-p 0 0:0 0\n"
		"7fef0000-7ff10000 rw-p 0 0:0 0 [stack]\n"), 5);
	assert_ptr_equal(find(&rl, 0x10000, 0x20000), a);
	assert_null(find(&rl, 0x20000, 0x30000));
	assert_non_null(find(&rl, 0x20000, 0x24000));
	assert_non_null(find(&rl, 0x28000, 0x30000));
	assert_int_equal(rl.blocks_removed, 1);

	/* a made read-only in its middle: still RAM, a stays */
	assert_int_equal(update(&rl,
		"10000-14000 rw-p 0 0:0 0\n"
		"14000-18000 r--p 0 0:0 0\n"
		"18000-24000 rw-p 0 0:0 0\n"
		"28000-30000 rw-p 0 0:0 0\n"
		"7fef0000-7ff10000 rw-p 0 0:0 0 [stack]\n"), 5);
	assert_ptr_equal(find(&rl, 0x10000, 0x20000), a);

	/* a made inaccessible in its middle: a goes, two readable pieces come */
	assert_int_equal(update(&rl,
		"10000-14000 rw-p 0 0:0 0\n"
		"14000-18000 ---p 0 0:0 0\n"
		"18000-24000 rw-p 0 0:0 0\n"
		"28000-30000 rw-p 0 0:0 0\n"
		"7fef0000-7ff10000 rw-p 0 0:0 0 [stack]\n"), 6);
	assert_null(find(&rl, 0x10000, 0x20000));
	assert_non_null(find(&rl, 0x10000, 0x14000));
	assert_non_null(find(&rl, 0x18000, 0x20000));
	assert_non_null(find(&rl, 0x20000, 0x24000));

	/* everything unmapped */
	assert_int_equal(update(&rl, ""), 0);
	assert_int_equal(ram_list_bytes(&rl), 0);
	ram_list_destroy(&rl);
}

/* Blocks cover the areas exactly: no address twice, none missing. */
static void test_coverage_is_exact(void **state)
{
	struct ram_list rl;
	uint64_t total = 0;

	(void)state;
	ram_list_init(&rl, 1, PAGE, 18);
	update(&rl, maps_text);
	for (size_t i = 0; i < rl.nr_areas; i++)
		total += rl.areas[i].end - rl.areas[i].start;
	assert_int_equal(ram_list_bytes(&rl), total);
	update(&rl, maps_text);
	assert_int_equal(ram_list_bytes(&rl), total);
	assert_int_equal(rl.blocks_added, 7);
	ram_list_destroy(&rl);
}

/* Mirror areas given as (start, end) pairs; return the number of blocks. */
static size_t mirror(struct ram_list *rl, const uint64_t *ext, size_t n)
{
	rl->nr_areas = 0;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(ram_list_add_area(rl, ext[2 * i], ext[2 * i + 1],
						   false, "cache"), 0);
	assert_int_equal(ram_list_mirror(rl), 0);
	for (size_t i = 0; i < rl->nr_blocks; i++) {
		assert_int_equal(rl->blocks[i]->start, rl->areas[i].start);
		assert_int_equal(rl->blocks[i]->start + rl->blocks[i]->len,
				 rl->areas[i].end);
	}
	return rl->nr_blocks;
}

/*
 * A list that follows another list's blocks keeps a block only where the
 * other kept that very block: an area covered by two new ones is not the
 * old block any more (its content would be carried where the primary
 * sends everything anew, and lost when one of the two goes).
 */
static void test_mirror_is_exact(void **state)
{
	static const uint64_t one[] = { 0x10000, 0x20000, 0x40000, 0x50000 };
	static const uint64_t split[] = { 0x10000, 0x18000, 0x18000, 0x20000,
					  0x40000, 0x50000 };
	static const uint64_t half[] = { 0x10000, 0x18000, 0x40000, 0x50000 };
	struct ram_list rl;
	struct ram_block *x, *tail;

	(void)state;
	ram_list_init(&rl, 0, PAGE, 6);
	assert_int_equal(mirror(&rl, one, 2), 2);
	x = find(&rl, 0x10000, 0x20000);
	tail = find(&rl, 0x40000, 0x50000);
	set_bit(1, tail->bmap);

	assert_int_equal(mirror(&rl, split, 3), 3);
	assert_null(find(&rl, 0x10000, 0x20000));
	assert_ptr_equal(find(&rl, 0x40000, 0x50000), tail);
	assert_true(test_bit(1, tail->bmap));
	x = find(&rl, 0x10000, 0x18000);
	assert_non_null(x);

	assert_int_equal(mirror(&rl, half, 2), 2);
	assert_ptr_equal(find(&rl, 0x10000, 0x18000), x);
	assert_int_equal(rl.blocks_added, 4);
	assert_int_equal(rl.blocks_removed, 2);
	assert_int_equal(mirror(&rl, NULL, 0), 0);
	ram_list_destroy(&rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_map),
		cmocka_unit_test(test_parse_filters),
		cmocka_unit_test(test_holes),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_blocks_follow_layout),
		cmocka_unit_test(test_coverage_is_exact),
		cmocka_unit_test(test_mirror_is_exact),
	};

	return cmocka_run_group_tests_name("ram_list", tests, NULL, NULL);
}
