/*
 * test_guest_writer.c - writes into a stopped process's memory, however
 * long the run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/uio.h>

#include <cmocka.h>

#include "child.h"
#include "guest_writer.h"
#include "log.h"

static struct child lone = { .to = -1, .from = -1 };

static int teardown(void **state)
{
	(void)state;
	child_kill(&lone);
	return 0;
}

/*
 * A run longer than one kernel write takes (the secondary's first flush
 * writes whole blocks; the kernel moves at most 2 GiB - 4 KiB a call)
 * is split, and every byte lands where it belongs.
 */
static void test_writer_long_run(void **state)
{
	const size_t len = 3 * (size_t)GUEST_WRITER_MAX_BYTES / 2 + 8192;
	const size_t ps = 4096;
	struct child *c = &lone;
	struct guest_writer w;
	uint64_t *buf, *back, addr;

	(void)state;
	assert_int_equal(child_spawn(c), 0);
	assert_int_equal(child_cmd(c, "mmap %zu", len), 0);
	addr = child_reply_addr(c);
	buf = malloc(len);
	back = malloc(ps);
	assert_non_null(buf);
	assert_non_null(back);
	for (size_t p = 0; p < len / ps; p++)
		buf[p * (ps / 8)] = 0xc0100000 + p;
	assert_int_equal(child_freeze(c), 0);
	guest_writer_init(&w, c->pid, ps);
	assert_int_equal(guest_writer_add(&w, addr, buf, len), 0);
	/* split: the first part written, the rest still gathered */
	assert_int_equal(w.pages, GUEST_WRITER_MAX_BYTES / ps);
	assert_int_equal(w.nr, 1);
	assert_int_equal(guest_writer_flush(&w), 0);
	assert_int_equal(w.pages, len / ps);
	for (size_t p = 0; p < len / ps; p += 97) {
		struct iovec l = { back, ps };
		struct iovec r = { (void *)(uintptr_t)(addr + p * ps), ps };

		assert_int_equal(process_vm_readv(c->pid, &l, 1, &r, 1, 0), ps);
		assert_int_equal(back[0], 0xc0100000 + p);
	}
	guest_writer_destroy(&w);
	assert_int_equal(child_thaw(c), 0);
	free(buf);
	free(back);
	child_kill(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_writer_long_run, teardown),
	};

	log_set_level(LOG_WARN);
	return cmocka_run_group_tests_name("guest_writer", tests, NULL, NULL);
}
