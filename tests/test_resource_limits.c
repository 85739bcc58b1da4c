/*
 * test_resource_limits.c - a pair that would not fit is refused with the
 * figures, and one that outgrows its limit degrades to a solo primary:
 * [guest] max_ram_mib on either side, and a secondary whose memory
 * cgroup leaves too little for the guest's RAM twice over (its guest and
 * its RAM cache). The secondary's guest is never touched, the primary's
 * keeps running, both daemons keep answering.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fault_pair.h"
#include "pair_lib.h"

#define GUEST_64	"--ram 64 --rate 20 --tick 5"

/* The secondary refused the primary: the reason in its log and status,
 * no checkpoint, its guest as it was; the primary's guest runs on. */
static void assert_refused(const char *phrase, uint32_t sec_crc_before)
{
	uint32_t after = 0, pri0, pri1;
	pid_t a = pid_of("pri", "guest_pid"), b = pid_of("sec", "guest_pid");

	pair_must(pair_wait_log("sec", phrase, 20000));
	pair_must(pair_wait_state("sec", "waiting", 10000));
	pair_run("$C -c $D/sec status");
	pair_must(pair_expect(phrase));		/* lost_because */
	assert_int_equal(pair_status_num("sec", "checkpoints"), 0);
	pair_must(pair_guest_crc(b, &after));
	assert_int_equal(after, sec_crc_before);
	pri0 = running_crc(a);
	pair_sleep_ms(300);
	pri1 = running_crc(a);
	assert_int_not_equal(pri0, pri1);
	{
		const char *at = strstr(pair_out, phrase);

		print_message("refused: %.*s\n", (int)strcspn(at, "\"\n"), at);
	}
}

static void test_secondary_max_ram(void **state)
{
	struct pair_role sec = { .conf = "[guest]\nmax_ram_mib = 32\n" };
	uint32_t before;

	(void)state;
	pair_must(pair_configs_roles(GUEST_64, NULL, &sec));
	pair_must(pair_start_role("sec"));
	pair_must(pair_guest_crc(pid_of("sec", "guest_pid"), &before));
	pair_must(pair_start_role("pri"));
	assert_refused("over [guest] max_ram_mib 32 here", before);
}

static void test_primary_max_ram(void **state)
{
	(void)state;
	pair_must(pair_configs(GUEST_64, "[guest]\nmax_ram_mib = 32\n"));
	pair_must(pair_start());
	pair_must(pair_wait_log("pri", "past [guest] max_ram_mib 32: it runs "
				"unprotected", 20000));
	pair_sleep_ms(500);
	assert_int_equal(pair_status_num("pri", "checkpoints"), 0);
	pair_run("$C -c $D/pri status");
	pair_must(pair_expect("past [guest] max_ram_mib 32"));
}

/* --- a memory cgroup too small for the guest's RAM twice over ------------ */

static char cgroup[128];

static int cgroup_teardown(void **state)
{
	int ret = pair_teardown(state);

	if (cgroup[0] && rmdir(cgroup) && errno != ENOENT)
		print_message("cannot remove %s: %s\n", cgroup, strerror(errno));
	cgroup[0] = '\0';
	return ret;
}

static void test_secondary_lacks_memory(void **state)
{
	struct pair_role sec = { .prefix = NULL };
	char prefix[256], path[192];
	uint32_t before;
	FILE *f;

	(void)state;
	snprintf(cgroup, sizeof(cgroup), "/sys/fs/cgroup/memory/colo-test-%d",
		 (int)getpid());
	if (mkdir(cgroup, 0755)) {
		/* cgroup v2 only: its unified tree */
		snprintf(cgroup, sizeof(cgroup), "/sys/fs/cgroup/colo-test-%d",
			 (int)getpid());
		if (mkdir(cgroup, 0755))
			fail_msg("cannot make a memory cgroup for the secondary: "
				 "%s", strerror(errno));
		snprintf(path, sizeof(path), "%s/memory.max", cgroup);
	} else {
		snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", cgroup);
	}
	f = fopen(path, "we");
	assert_non_null(f);
	fprintf(f, "%d\n", 100 << 20);	/* 100 MiB: not 2 x 64 MiB */
	assert_int_equal(fclose(f), 0);
	snprintf(prefix, sizeof(prefix), "echo $$ > %s/cgroup.procs; ", cgroup);
	sec.prefix = prefix;
	pair_must(pair_configs_roles(GUEST_64, NULL, &sec));
	pair_must(pair_start_role("sec"));
	pair_must(pair_guest_crc(pid_of("sec", "guest_pid"), &before));
	pair_must(pair_start_role("pri"));
	assert_refused("this node lacks the memory for the primary's guest",
		       before);
	pair_must(pair_log_has("sec", "the limit of memory cgroup"));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_secondary_max_ram,
						pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_primary_max_ram,
						pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_secondary_lacks_memory,
						pair_setup, cgroup_teardown),
	};

	if (pair_init("limits"))
		return 1;
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("resource-limits", tests, NULL, NULL);
}
