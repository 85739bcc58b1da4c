/*
 * test_coloctl.c - coloctl as an operator runs it: exit codes and what it
 * prints, for the commands that exist so far; with fake daemons for the
 * control protocol, and with a real pair (pair_lib.h) for set and for
 * checkpoint answers the primary holds.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
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

#include "control.h"
#include "guests.h"
#include "log.h"
#include "pair_lib.h"
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

/* --- the control protocol, against fake daemons ----------------------- */

/*
 * A fake daemon on a unix socket of its own: it takes one request, waits
 * delay_ms, answers with answer (NULL: closes without a word, as a daemon
 * that died), and then watches 300 ms for a second connection. It exits
 * 0, or 3 when one came (coloctl polled instead of waiting for the
 * answer). The request it got goes up *got_fd, a pipe.
 */
static pid_t fake_daemon(struct sockaddr_un *sun, const char *answer,
			 int delay_ms, int *got_fd)
{
	char buf[256];
	int fd, conn, pfd[2];
	ssize_t n;
	pid_t pid;

	snprintf(sun->sun_path, sizeof(sun->sun_path), "/tmp/colo-ctl-fake-%d.sock",
		 (int)getpid());
	unlink(sun->sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)sun, sizeof(*sun)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		close(pfd[0]);
		conn = accept(fd, NULL, NULL);
		for (n = 0; conn >= 0 && n < (ssize_t)sizeof(buf) &&
		     !memchr(buf, '\n', (size_t)n);) {
			ssize_t got = read(conn, buf + n, sizeof(buf) - (size_t)n);

			if (got <= 0)
				break;
			n += got;
		}
		if (n > 0 && write(pfd[1], buf, (size_t)n) != n)
			_exit(4);
		close(pfd[1]);
		usleep((useconds_t)delay_ms * 1000);
		if (answer && write(conn, answer, strlen(answer)) < 0)
			_exit(4);
		close(conn);
		if (poll(&p, 1, 300) > 0)
			_exit(3);
		_exit(0);
	}
	close(fd);
	close(pfd[1]);
	*got_fd = pfd[0];
	return pid;
}

/* What the fake got, and its exit status. */
static int fake_done(pid_t pid, int got_fd, const struct sockaddr_un *sun,
		     char *got, size_t len)
{
	ssize_t n = read(got_fd, got, len - 1);
	int status;

	got[n > 0 ? n : 0] = '\0';
	close(got_fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	unlink(sun->sun_path);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/*
 * coloctl checkpoint asks once and the answer comes when the checkpoint
 * is done, typed: it prints it as soon as it is there and asks nothing
 * else. Before, it took an id at once and polled status --json every
 * 20 ms (the fake saw "checkpoint verify" and then a second connection).
 */
static void test_checkpoint_answer(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char line[256], got[256];
	int64_t t0, ms;
	int fd;
	pid_t pid;

	(void)state;
	pid = fake_daemon(&sun, "ok\nid 42\npause_ms 3.1\nverify identical\n"
			  "held no\n", 300, &fd);
	snprintf(line, sizeof(line), "$COLOCTL -s %s checkpoint --verify",
		 sun.sun_path);
	t0 = pair_now_ms();
	assert_int_equal(run(line), 0);
	ms = pair_now_ms() - t0;
	expect("checkpoint 42 done: pause 3.1 ms, the secondary's guest is identical\n");
	assert_int_equal(fake_done(pid, fd, &sun, got, sizeof(got)), 0);
	assert_string_equal(got, "checkpoint wait verify\n");
	print_message("answered after 300 ms, coloctl returned after %lld ms\n",
		      (long long)ms);
	assert_true(ms >= 300 && ms < 1300);

	/* a copy that differs: exit 1 */
	pid = fake_daemon(&sun, "ok\nid 7\npause_ms 12.0\nverify DIFFERS\n"
			  "held yes\n", 0, &fd);
	snprintf(line, sizeof(line), "$COLOCTL -s %s checkpoint --verify --hold",
		 sun.sun_path);
	assert_int_equal(run(line), 1);
	expect("checkpoint 7 done: pause 12.0 ms, the secondary's guest is NOT "
	       "identical; both guests are held stopped");
	assert_int_equal(fake_done(pid, fd, &sun, got, sizeof(got)), 0);
	assert_string_equal(got, "checkpoint wait verify hold\n");

	/* the primary's refusal, as it says it */
	pid = fake_daemon(&sun, "error\nthe pair is solo, not protecting the "
			  "guest: no checkpoint\n", 0, &fd);
	snprintf(line, sizeof(line), "$COLOCTL -s %s checkpoint", sun.sun_path);
	assert_int_equal(run(line), 1);
	expect("not protecting the guest: no checkpoint");
	assert_int_equal(fake_done(pid, fd, &sun, got, sizeof(got)), 0);

	/* an answer that is not one: said, with what came, exit 2 */
	pid = fake_daemon(&sun, "ok\nid 42\npause_ms soon\n", 0, &fd);
	assert_int_equal(run(line), 2);
	expect("the primary's answer says pause_ms 'soon', expected a number");
	assert_int_equal(fake_done(pid, fd, &sun, got, sizeof(got)), 0);
	pid = fake_daemon(&sun, "ok\n43\n", 0, &fd);
	assert_int_equal(run(line), 2);
	expect("the primary's answer lacks its id");
	assert_int_equal(fake_done(pid, fd, &sun, got, sizeof(got)), 0);

	/* --no-wait: the id at once, as before */
	pid = fake_daemon(&sun, "ok\n43\n", 0, &fd);
	snprintf(line, sizeof(line), "$COLOCTL -s %s checkpoint --no-wait",
		 sun.sun_path);
	assert_int_equal(run(line), 0);
	expect("checkpoint 43 requested\n");
	assert_int_equal(fake_done(pid, fd, &sun, got, sizeof(got)), 0);
	assert_string_equal(got, "checkpoint\n");
}

/*
 * A daemon that takes the checkpoint request and then goes away while
 * coloctl waits for its answer: coloctl says so (exit 2), it does not
 * abort on the answer it never got (it freed the last one twice, exit
 * 134, when it polled).
 */
static void test_checkpoint_daemon_gone(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char line[256], got[256];
	int fd;
	pid_t pid;

	(void)state;
	pid = fake_daemon(&sun, NULL, 200, &fd);
	snprintf(line, sizeof(line), "$COLOCTL -s %s checkpoint", sun.sun_path);
	assert_int_equal(run(line), 2);
	expect("no daemon answers on");
	expect("closed the connection before answering 'checkpoint wait'");
	assert_int_equal(fake_done(pid, fd, &sun, got, sizeof(got)), 0);
	assert_string_equal(got, "checkpoint wait\n");
}

/*
 * A socket path too long for sun_path is refused, never cut: the cut
 * path could be another daemon's socket (here, a listener at exactly the
 * 107 bytes that fit, which the old code connected to).
 */
static void test_control_path_too_long(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char fits[sizeof(sun.sun_path)], longer[sizeof(fits) + 8];
	char *reply = (char *)"untouched";
	struct pollfd pfd;
	int lfd;

	(void)state;
	memset(fits, 'c', sizeof(fits) - 1);
	memcpy(fits, "/tmp/colo-ctl-", 14);
	fits[sizeof(fits) - 1] = '\0';
	snprintf(longer, sizeof(longer), "%s.other", fits);
	memcpy(sun.sun_path, fits, sizeof(fits));
	unlink(fits);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	log_set_quiet(1);
	assert_int_equal(control_request(longer, "status", 200, &reply),
			 -ENAMETOOLONG);
	log_set_quiet(0);
	assert_null(reply);
	pfd = (struct pollfd){ .fd = lfd, .events = POLLIN };
	if (poll(&pfd, 1, 100) != 0)
		fail_msg("a request to %s reached the socket at %s", longer, fits);
	close(lfd);
	unlink(fits);
}

/* Connect, send line, and go without reading the answer. */
static void send_and_leave(const char *sock, const char *line)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	close(fd);
}

/*
 * Clients that send a command and go without reading the answer: the
 * daemon answers into a closed socket, and lives on. (Before, the answer
 * went out with a bufferevent's writev(), which raised SIGPIPE: the
 * primary died at the first such client.)
 */
static void test_client_leaves_unanswered(void **state)
{
	char sock[256];

	(void)state;
	pair_must(pair_configs("--ram 8 --rate 5 --tick 10", NULL));
	pair_must(pair_start_role("pri"));
	snprintf(sock, sizeof(sock), "%s/pri.sock", pair_dir);
	for (int i = 0; i < 20; i++)
		send_and_leave(sock, i % 2 ? "status json\n" : "frobnicate\n");
	pair_sleep_ms(100);
	assert_int_equal(pair_run("$C -c $D/pri status"), 0);
	pair_must(pair_expect("connecting"));
}

/* --- set, as colo.conf does it, on a running primary ---------------------- */

/*
 * The same value through colo.conf (coloctl -c FILE loads it) and through
 * set on the running primary: taken, clamped or refused alike, and said
 * with the same words. ret_file and ret_set are the exit statuses.
 */
static void same_both_ways(const char *section, const char *key,
			   const char *value, int ret_file, int ret_set,
			   const char *text)
{
	assert_int_equal(pair_run("printf '[control]\\nsocket = %%s\\n[%s]\\n"
				  "%s = %s\\n' $D/pri.sock > $D/try.conf; "
				  "$C -c $D/try.conf status", section, key, value),
			 ret_file);
	pair_must(pair_expect("try.conf:4: "));
	pair_must(pair_expect(text));
	assert_int_equal(pair_run("$C -c $D/pri set %s %s", key, value), ret_set);
	pair_must(pair_expect(text));
}

/*
 * Before set used colo.conf's table it restated the ranges and disagreed:
 * set clear_bitmap_shift 3 was refused ("out of range (checkpoint_delay_ms
 * 1..600000, ...)", exit 1) where colo.conf clamps it to 6 with a warning.
 */
static void test_set_as_colo_conf(void **state)
{
	(void)state;
	pair_must(pair_configs("--ram 8 --rate 5 --tick 10", NULL));
	pair_must(pair_start_role("pri"));	/* no secondary: set needs none */
	same_both_ways("ram", "clear_bitmap_shift", "3", 0, 0,
		       "[ram] clear_bitmap_shift = 3 is out of range 6..31; "
		       "clamped to 6");
	assert_int_equal(pair_status_num("pri", "clear_bitmap_shift"), 6);
	same_both_ways("checkpoint", "compress_level", "12", 2, 1,
		       "[checkpoint] compress_level = 12 is out of range; "
		       "allowed: 0 (no compression) to 9 (default 0)");
	same_both_ways("ram", "clear_mode", "eager", 2, 1,
		       "[ram] clear_mode = 'eager' is not valid; allowed: lazy "
		       "or monolithic (default lazy)");
	same_both_ways("checkpoint", "checkpoint_delay_ms", "0", 2, 1,
		       "[checkpoint] checkpoint_delay_ms = 0 is out of range; "
		       "allowed: milliseconds from 1 to 600000");
	assert_int_equal(pair_status_num("pri", "compress_level"), 0);
	assert_true(pair_status_is("pri", "clear_mode", "lazy"));
	assert_int_equal(pair_status_num("pri", "checkpoint_delay_ms"),
			 PAIR_DELAY_MS);
	/* taken: SECTION.KEY works too, and the primary logs the change */
	assert_int_equal(pair_run("$C -c $D/pri set checkpoint.compress_level 6"), 0);
	pair_must(pair_expect("[checkpoint] compress_level = 6"));
	assert_int_equal(pair_status_num("pri", "compress_level"), 6);
	pair_must(pair_log_has("pri", "set: [checkpoint] compress_level = 6"));
	pair_must(pair_log_has("pri", "set: [ram] clear_bitmap_shift = 3 is out "
			       "of range 6..31; clamped to 6"));
	/* known to colo.conf, but not a live key */
	assert_int_equal(pair_run("$C -c $D/pri set heartbeat_timeout_ms 500"), 1);
	pair_must(pair_expect("[ha] heartbeat_timeout_ms cannot be changed on a "
			      "running daemon: change it in colo.conf and "
			      "restart the daemon (set takes clear_bitmap_shift, "
			      "clear_mode, checkpoint_delay_ms, compress_level)"));
	assert_int_equal(pair_run("$C set clear_mode"), 2);
	pair_must(pair_expect("usage: coloctl set KEY VALUE (keys: "
			      "clear_bitmap_shift, clear_mode, "
			      "checkpoint_delay_ms, compress_level"));
}

/* --- checkpoint answers the real primary holds ---------------------------- */

/* The id in "checkpoint N done" of pair_out, or 0. */
static unsigned long done_id(void)
{
	const char *at = strstr(pair_out, "checkpoint ");

	return at && strstr(at, " done: pause ") ? strtoul(at + 11, NULL, 10) : 0;
}

/*
 * coloctl checkpoint returns when that checkpoint is done, with its id,
 * pause and verify result: with the cadence out of the way (600 s), the
 * id it prints is the one status counts, and the pause is status's.
 */
static void test_checkpoint_returns_when_done(void **state)
{
	char want[160], said[sizeof(pair_out)];
	unsigned long id;
	int64_t t0, ms;

	(void)state;
	pair_must(pair_configs("--ram 16 --rate 20 --tick 5", NULL));
	pair_must(pair_start());
	pair_must(pair_wait_num("pri", "checkpoints", 3, 30));
	assert_int_equal(pair_run("$C -c $D/pri set checkpoint_delay_ms 600000"), 0);
	pair_sleep_ms(200);	/* the gap begun at 20 ms ends, the next is far */
	pair_must(pair_protecting("pri"));
	t0 = pair_now_ms();
	assert_int_equal(pair_run("$C -c $D/pri checkpoint"), 0);
	ms = pair_now_ms() - t0;
	id = done_id();
	assert_true(id > 3);
	snprintf(said, sizeof(said), "%s", pair_out);
	assert_int_equal(pair_status_num("pri", "checkpoints"), id);
	snprintf(want, sizeof(want), "checkpoint %lu done: pause %.1f ms\n", id,
		 pair_status_num("pri", "pause_last_ms"));
	if (strcmp(said, want))
		fail_msg("coloctl said '%s', status says '%s'", said, want);
	print_message("checkpoint %lu: coloctl returned after %lld ms\n", id,
		      (long long)ms);
	assert_true(ms < 3000);
	/* verify, held: the answer says both; then the pair is held */
	assert_int_equal(pair_run("$C -c $D/pri checkpoint --verify"), 0);
	pair_must(pair_expect("the secondary's guest is identical"));
	assert_int_equal(done_id(), id + 1);
	assert_int_equal(pair_status_num("pri", "last_verify_checkpoint"), id + 1);
	assert_int_equal(pair_run("$C -c $D/pri checkpoint --no-wait"), 0);
	snprintf(want, sizeof(want), "checkpoint %lu requested", id + 2);
	pair_must(pair_expect(want));
	pair_must(pair_wait_num("pri", "checkpoints", (double)id + 2, 10));
	assert_int_equal(pair_run("$C -c $D/pri checkpoint --hold"), 0);
	pair_must(pair_expect("; both guests are held stopped until coloctl stop"));
	assert_true(pair_status_is("pri", "state", "held"));
	assert_int_equal(pair_run("$C -c $D/pri checkpoint"), 1);
	pair_must(pair_expect("the pair is held, not protecting the guest"));
}

/* coloctl checkpoint in the background, its output and exit status into
 * $D/name; tracked, so teardown ends it if the test does not. */
static void checkpoint_in_background(const char *name)
{
	assert_int_equal(pair_run("($C -c $D/pri checkpoint; echo \"exit $?\") "
				  "> $D/%s 2>&1 & echo \"started: pid $!\"", name), 0);
}

/* Wait up to ms for $D/name to say how coloctl exited; pair_out has it. */
static int background_done(const char *name, int ms)
{
	int64_t end = pair_now_ms() + ms;

	do {
		pair_run("cat $D/%s", name);
		if (strstr(pair_out, "exit "))
			return 0;
		pair_sleep_ms(50);
	} while (pair_now_ms() < end);
	pair_set_why("coloctl checkpoint did not return within %d ms: '%s'", ms,
		     pair_out);
	return -1;
}

/*
 * Clients that leave while the primary holds their answer are forgotten:
 * the daemon answers the others and lives on, both when the checkpoint
 * completes and when it is aborted. (Before, the control socket wrote
 * with a bufferevent: an answer to a client that had left raised SIGPIPE
 * and killed the primary.)
 */
static void test_held_client_leaves(void **state)
{
	char sock[256];
	pid_t sec;

	(void)state;
	pair_must(pair_configs("--ram 16 --rate 20 --tick 5", NULL));
	pair_must(pair_start());
	pair_must(pair_wait_num("pri", "checkpoints", 3, 30));
	snprintf(sock, sizeof(sock), "%s/pri.sock", pair_dir);
	sec = (pid_t)pair_status_num("sec", "pid");
	assert_true(sec > 0);

	/* the secondary stalls: the primary's next checkpoint waits for it,
	 * up to its deadline (PAIR_HEARTBEAT_MS), and so do the requests */
	pair_must(pair_sigstop(sec));
	pair_must(pair_wait_state("pri", "checkpoint", 1000));
	for (int i = 0; i < 5; i++)
		send_and_leave(sock, "checkpoint wait\n");
	checkpoint_in_background("b.out");
	pair_sleep_ms(300);
	assert_true(pair_status_is("pri", "state", "checkpoint"));
	pair_must(pair_sigcont(sec));
	pair_must(background_done("b.out", 5000));
	pair_must(pair_expect(" done: pause "));
	pair_must(pair_expect("exit 0"));
	pair_must(pair_protecting("pri"));

	/* and once more with a checkpoint that never completes: the
	 * secondary is dropped at the deadline, the waiting coloctl told */
	pair_must(pair_sigstop(sec));
	pair_must(pair_wait_state("pri", "checkpoint", 1000));
	send_and_leave(sock, "checkpoint wait\n");
	checkpoint_in_background("c.out");
	pair_must(background_done("c.out", PAIR_HEARTBEAT_MS + 5000));
	pair_must(pair_expect("did not complete: the pair stopped protecting "
			      "the guest"));
	pair_must(pair_expect("exit 1"));
	assert_true(pair_status_is("pri", "state", "solo"));
	pair_must(pair_sigcont(sec));
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
		cmocka_unit_test(test_checkpoint_answer),
		cmocka_unit_test(test_control_path_too_long),
		cmocka_unit_test_setup_teardown(test_client_leaves_unanswered,
						pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_set_as_colo_conf, pair_setup,
						pair_teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_returns_when_done,
						pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_held_client_leaves, pair_setup,
						pair_teardown),
	};

	if (pair_init("coloctl"))
		return 1;
	return cmocka_run_group_tests_name("coloctl", tests, NULL, NULL);
}
