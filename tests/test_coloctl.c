/*
 * test_coloctl.c - coloctl as an operator runs it: exit codes and what it
 * prints, for the commands that exist so far.
 */
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "guests.h"
#include "shell.h"

static char out[8192];

/* Run a shell line with coloctl and the guest dir at hand; output in out
 * (stdout and stderr), exit status returned. */
static int run(const char *fmt, ...)
{
	char prelude[512], memstress[PATH_MAX];
	const char *coloctl = getenv("COLOCTL");
	va_list ap;
	int ret;

	snprintf(prelude, sizeof(prelude), "COLOCTL=%s MEMSTRESS=%s; ",
		 coloctl ? coloctl : "build/cc/coloctl",
		 guest_binary("memstress", memstress, sizeof(memstress)));
	va_start(ap, fmt);
	ret = shell_runv(out, sizeof(out), prelude, fmt, ap);
	va_end(ap);
	assert_true(ret >= 0);
	return ret;
}

static void expect(const char *needle)
{
	if (!strstr(out, needle))
		fail_msg("output lacks '%s':\n%s", needle, out);
}

static void test_guest_run(void **state)
{
	(void)state;
	assert_int_equal(run("printf 'step 100\\nhash\\nrate 0\\n' | $COLOCTL "
			     "guest run -- $MEMSTRESS --ram 8 --seed 3"), 0);
	expect("memstress: ok step 100");
	expect("memstress: hash ");
	expect("memstress: ok rate 0");
	expect("8 MiB RAM");
}

/* A guest and its replica: same answers, and B byte-identical at the end. */
static void test_guest_replicate(void **state)
{
	(void)state;
	assert_int_equal(run("(for i in 1 2 3; do echo 'step 3000'; sleep 0.2; "
			     "echo hash; done; echo digest) | $COLOCTL guest "
			     "replicate --every 40 -- $MEMSTRESS --ram 16 --churn"), 0);
	expect("B is a replica of A");
	expect("outputs: 7 equal, 0 differ, 0 without a twin");
	expect("B is a byte-identical copy of A");
	/* a fixed number of checkpoints, no input */
	assert_int_equal(run("$COLOCTL guest replicate --every 20 --checkpoints 5 "
			     "-- $MEMSTRESS --ram 8 --rate 50 --tick 5 < /dev/null"), 0);
	expect("5 checkpoints");
	expect("B is a byte-identical copy of A");
}

static void test_usage_errors(void **state)
{
	(void)state;
	assert_int_equal(run("$COLOCTL frobnicate"), 2);
	expect("unknown command 'frobnicate'");
	assert_int_equal(run("$COLOCTL guest run"), 2);
	expect("no PROGRAM given");
	assert_int_equal(run("$COLOCTL guest replicate --every 0 -- $MEMSTRESS"), 2);
	expect("--every 0");
	assert_int_equal(run("$COLOCTL guest run -- no-such-program-xyz"), 2);
	expect("cannot find program no-such-program-xyz");
	assert_int_equal(run("$COLOCTL guest run --stack-limit 0 -- $MEMSTRESS"), 2);
	expect("--stack-limit 0");
	assert_int_equal(run("$COLOCTL guest run --mac 1:2 -- $MEMSTRESS"), 2);
	expect("--mac 1:2 is not a MAC address");
	assert_int_equal(run("$COLOCTL -c /nonexistent/colo.conf help"), 2);
	expect("cannot open config file /nonexistent/colo.conf");
	assert_int_equal(run("$COLOCTL help"), 0);
	expect("coloctl guest run");
	assert_int_equal(run("$COLOCTL --help"), 0);
	expect("usage: coloctl [-c colo.conf]");
	assert_int_equal(run("$COLOCTL -h"), 0);
	expect("coloctl guest compare");
	assert_int_equal(run("$COLOCTL guest"), 2);
	expect("coloctl guest compare PID-A PID-B");
}

/* Every command describes itself, and does nothing else, on --help. */
static void test_help_everywhere(void **state)
{
	static const char *const cmds[] = {
		"start-primary", "start-secondary", "status", "checkpoint",
		"set", "stop", "guest run", "guest replicate", "guest compare",
	};
	char line[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		snprintf(line, sizeof(line), "$COLOCTL -s /nonexistent/sock %s "
			 "--help", cmds[i]);
		assert_int_equal(run(line), 0);
		snprintf(line, sizeof(line), "usage: coloctl [-c colo.conf] "
			 "[-s socket] [-v] %s", cmds[i]);
		expect(line);
	}
}

/* ^C at a terminal signals the whole foreground process group: the guest
 * is in a group of its own, so coloctl gets it and shuts the guest down
 * cleanly (exit status 0) instead of the guest dying of it. */
static void test_interrupt(void **state)
{
	const char *coloctl = getenv("COLOCTL");
	char memstress[PATH_MAX], line[512];
	int in[2], outp[2], status;
	bool started = false;
	FILE *f;
	pid_t pid;

	(void)state;
	guest_binary("memstress", memstress, sizeof(memstress));
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(outp), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setsid();		/* a group like a terminal's, ours alone */
		dup2(in[0], 0);
		dup2(outp[1], 1);
		dup2(outp[1], 2);
		close(in[1]);
		close(outp[0]);
		execl(coloctl ? coloctl : "build/cc/coloctl", "coloctl", "guest",
		      "run", "--", memstress, "--ram", "8", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	f = fdopen(outp[0], "r");
	out[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		strncat(out, line, sizeof(out) - strlen(out) - 1);
		if (!started && strstr(line, "MiB RAM")) {
			started = true;
			kill(-pid, SIGINT);	/* the whole group, as ^C */
		}
	}
	fclose(f);
	close(in[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(started);
	expect("shutting memstress down");
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A program that is not a colo guest is refused with the reason. */
static void test_not_a_guest(void **state)
{
	(void)state;
	assert_int_equal(run("$COLOCTL guest run -- /bin/true < /dev/null"), 1);
	expect("exited before its runtime said hello");
}

/*
 * A daemon that takes the checkpoint request and then goes away while
 * coloctl waits for it: coloctl says so (exit 2), it does not abort on
 * the answer it never got (it freed the last one twice, exit 134).
 */
static void test_checkpoint_daemon_gone(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[256];
	int fd, conn, status;
	pid_t pid;

	(void)state;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/tmp/colo-ctl-gone-%d.sock",
		 (int)getpid());
	unlink(sun.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, 1), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {		/* the daemon: gone, with one last answer */
		conn = accept(fd, NULL, NULL);
		unlink(sun.sun_path);
		close(fd);
		if (conn >= 0 && read(conn, buf, sizeof(buf)) > 0 &&
		    write(conn, "ok\n7\n", 5) == 5)
			close(conn);
		_exit(0);
	}
	close(fd);
	snprintf(buf, sizeof(buf), "$COLOCTL -s %s checkpoint", sun.sun_path);
	assert_int_equal(run(buf), 2);
	expect("no daemon answers on");
	assert_int_equal(waitpid(pid, &status, 0), pid);
	unlink(sun.sun_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_run),
		cmocka_unit_test(test_guest_replicate),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_help_everywhere),
		cmocka_unit_test(test_not_a_guest),
		cmocka_unit_test(test_interrupt),
		cmocka_unit_test(test_checkpoint_daemon_gone),
	};

	return cmocka_run_group_tests_name("coloctl", tests, NULL, NULL);
}
