/*
 * test_control_access.c - who may use a daemon's control socket: root
 * and the daemon's own user; with [control] group, that group's members
 * too; anyone else is refused by the daemon itself (SO_PEERCRED), even
 * when the socket's mode lets them connect. The other user is nobody,
 * by setpriv(1); the daemons are a pair on loopback (pair_lib.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "pair_lib.h"

#define ARGS	"--ram 8 --rate 5 --tick 10"
#define AS_NOBODY "setpriv --reuid=nobody --regid=nogroup --clear-groups "

/* Root, and a socket 0600 in a directory only root may enter. */
static void test_root_only(void **state)
{
	struct stat st;
	char sock[256];

	(void)state;
	pair_must(pair_configs(ARGS, NULL));
	pair_must(pair_start());
	snprintf(sock, sizeof(sock), "%s/pri.sock", pair_dir);
	assert_int_equal(stat(sock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(pair_run("$C -c $D/pri status"), 0);
	/* nobody cannot even reach it */
	assert_int_not_equal(pair_run(AS_NOBODY "$C -s $D/pri.sock status"), 0);
	/* and where an operator opened it up, the daemon refuses */
	assert_int_equal(pair_run("chmod 0711 $D && chmod 0666 $D/pri.sock"), 0);
	assert_int_equal(pair_run(AS_NOBODY "$C -s $D/pri.sock status"), 1);
	pair_must(pair_expect("permission denied: uid 65534 is not root"));
	pair_must(pair_log_has("pri", "refusing a control client of uid 65534"));
	/* nor does nobody stop it */
	assert_int_equal(pair_run(AS_NOBODY "$C -s $D/pri.sock stop"), 1);
	assert_int_equal(pair_run("$C -c $D/pri status"), 0);
}

/* [control] group: its members may, the socket is 0660 of the group. */
static void test_group(void **state)
{
	struct stat st;
	char sock[256];

	(void)state;
	pair_must(pair_configs(ARGS, "[control]\ngroup = nogroup\n"));
	pair_must(pair_start_role("sec"));
	pair_must(pair_start_role("pri"));
	snprintf(sock, sizeof(sock), "%s/pri.sock", pair_dir);
	assert_int_equal(stat(sock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(st.st_gid, 65534);
	assert_int_equal(pair_run("chmod 0711 $D"), 0);
	assert_int_equal(pair_run(AS_NOBODY "$C -s $D/pri.sock status"), 0);
	pair_must(pair_expect("role"));
}

/* A socket directory others may write to is refused at start: anyone
 * there could put a socket of their own in its place. */
static void test_open_directory_refused(void **state)
{
	char conf[256];

	(void)state;
	pair_must(pair_configs(ARGS, NULL));
	assert_int_equal(pair_run("mkdir -m 0777 $D/open && chmod 0777 $D/open"), 0);
	snprintf(conf, sizeof(conf), "%s/open/pri.sock", pair_dir);
	assert_int_equal(pair_run("$C -c $D/pri -s %s start-primary", conf), 1);
	pair_must(pair_expect("may be written by others"));
	pair_must(pair_expect("chmod go-w"));
}

/* A group that does not exist is refused at start, naming it. */
static void test_unknown_group(void **state)
{
	(void)state;
	pair_must(pair_configs(ARGS, "[control]\ngroup = no-such-group\n"));
	assert_int_not_equal(pair_run("$C -c $D/pri start-primary"), 0);
	pair_must(pair_expect("[control] group no-such-group"));
}

int main(int argc, char **argv)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, pair_setup, pair_teardown)
	const struct CMUnitTest tests[] = {
		T(test_root_only),
		T(test_group),
		T(test_open_directory_refused),
		T(test_unknown_group),
	};
#undef T

	if (pair_init("control-access"))
		return 1;
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("control-access", tests, NULL, NULL);
}
