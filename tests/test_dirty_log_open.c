/*
 * test_dirty_log_open.c - which dirty-log backend this kernel gets, and
 * the errors of opening one on a process that does not fit.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "child.h"
#include "dirty_log.h"
#include "fault.h"
#include "log.h"

static struct child lone = { .to = -1, .from = -1 };

static int teardown(void **state)
{
	(void)state;
	child_kill(&lone);
	fault_inject(FI_NONE);
	log_set_hook(NULL, NULL);
	log_set_quiet(0);
	return 0;
}

static char last_error[1024];

static void keep_error(enum log_level level, const char *line, void *opaque)
{
	(void)opaque;
	if (level == LOG_ERROR)
		snprintf(last_error, sizeof(last_error), "%s", line);
}

static void test_bad_guest_fd(void **state)
{
	struct child *c = &lone;
	struct dirty_log *dl = NULL;
	struct dirty_log_params p = {
		.kind = DIRTY_LOG_UFFD_WP,
		.clear_bmap_shift = 18,
		.guest_uffd = 0,	/* its stdin: a pipe, not a userfaultfd */
	};

	(void)state;
	assert_int_equal(child_spawn(c), 0);
	log_set_hook(keep_error, NULL);
	log_set_quiet(1);
	assert_int_equal(dirty_log_open(&dl, c->pid, &p), -ENOTTY);
	assert_non_null(strstr(last_error, "UFFDIO_API on fd 0"));
	p.guest_uffd = 777;	/* not open in the child */
	assert_int_equal(dirty_log_open(&dl, c->pid, &p), -EBADF);
	assert_non_null(strstr(last_error, "pidfd_getfd"));
	/* full needs no userfaultfd */
	p.kind = DIRTY_LOG_FULL;
	assert_int_equal(dirty_log_open(&dl, c->pid, &p), 0);
	assert_string_equal(dirty_log_backend(dl), "full");
	dirty_log_close(dl);
	log_set_quiet(0);
	log_set_hook(NULL, NULL);
	child_kill(c);
}

static char last_warning[1024];

static void keep_warning(enum log_level level, const char *line, void *opaque)
{
	keep_error(level, line, opaque);
	if (level == LOG_WARN)
		snprintf(last_warning, sizeof(last_warning), "%s", line);
}

static void test_probe(void **state)
{
	enum dirty_log_kind k;

	(void)state;
	assert_int_equal(dirty_log_probe(DIRTY_LOG_FULL, &k), 0);
	assert_int_equal(k, DIRTY_LOG_FULL);
	/* this machine kind runs Linux 6.18: auto must pick uffd-wp */
	assert_int_equal(dirty_log_probe(DIRTY_LOG_AUTO, &k), 0);
	assert_int_equal(k, DIRTY_LOG_UFFD_WP);
	assert_int_equal(dirty_log_probe(DIRTY_LOG_UFFD_WP, &k), 0);
	assert_int_equal(k, DIRTY_LOG_UFFD_WP);

	/* a kernel without it: auto falls back and says why, uffd-wp refuses */
	log_set_hook(keep_warning, NULL);
	log_set_quiet(1);
	fault_inject(FI_NO_UFFD_WP);
	assert_int_equal(dirty_log_probe(DIRTY_LOG_AUTO, &k), 0);
	assert_int_equal(k, DIRTY_LOG_FULL);
	assert_non_null(strstr(last_warning, "lacks the PAGEMAP_SCAN ioctl"));
	assert_non_null(strstr(last_warning, "falling back to 'full'"));
	assert_int_equal(dirty_log_probe(DIRTY_LOG_UFFD_WP, &k), -ENOTTY);
	assert_non_null(strstr(last_error, "dirty_log = uffd-wp, but this kernel lacks"));
	assert_non_null(strstr(last_error, "Linux 6.7"));
	fault_inject(FI_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_probe, teardown),
		cmocka_unit_test_teardown(test_bad_guest_fd, teardown),
	};

	log_set_level(LOG_WARN);
	return cmocka_run_group_tests_name("dirty_log_open", tests, NULL, NULL);
}
