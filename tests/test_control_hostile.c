/*
 * test_control_hostile.c - clients that misbehave on a control socket
 * never stall the loop that serves it, nor bring its daemon down: a half
 * line and silence, one byte a second, megabytes without a newline,
 * binary bytes, a client that never reads its answer, a flood of 2000
 * connections held open, the daemon out of file descriptors. In each, a
 * "status" asked meanwhile is answered within STATUS_MS, and the daemon
 * still runs.
 *
 * The daemon is daemon/control.c on an event_base of its own in a child
 * process (a handler answering status, hold and big, SIGUSR1 answering
 * what is held), so that its CPU time, its open files and its log are
 * its own; the hostile clients and the asking one are this process (or
 * a forked flooder), with a client of the test's own (ask()): the one
 * under test, control_request(), is control.c's too. The last test does
 * the same to a real primary of a pair (pair_lib.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/event.h>

#include "clock.h"
#include "control.h"
#include "pair_lib.h"

/* What "never stalls the loop" means here: a status asked while the
 * hostile clients are connected is whole within this. */
#define STATUS_MS	1000
/* A client past CONTROL_IDLE_S is dropped by the daemon's next loop
 * turn; this is the slack for a loaded test machine. */
#define SLACK_MS	1500
#define BIG_ANSWER	(1 << 20)	/* more than a socket buffer holds */
#define FLOOD		2000		/* connections of the flood */
#define CHURN_MS	3000		/* then a storm of reconnects, this long */
#define MAX_FDS		4096		/* of this process, hostile clients */

static char dir[64], sock[128], logpath[128];
static pid_t daemon_pid = -1, flooder_pid = -1;
static int fds[MAX_FDS], nr_fds;
static int64_t worst_ms;		/* the slowest status of a test */

/* --- the daemon: control.c alone, in a child --------------------------- */

static struct control *d_ctl;

static int d_handler(void *opaque, int argc, char **argv,
		     struct evbuffer *reply)
{
	(void)opaque;
	(void)argc;
	if (strcmp(argv[0], "status") == 0) {
		evbuffer_add_printf(reply, "role test\n");
		return 0;
	}
	if (strcmp(argv[0], "hold") == 0)
		return control_reply_later(d_ctl, 1);
	if (strcmp(argv[0], "big") == 0) {
		struct evbuffer_iovec v;

		if (evbuffer_reserve_space(reply, BIG_ANSWER, &v, 1) < 1)
			return -ENOMEM;
		memset(v.iov_base, 'b', BIG_ANSWER);
		v.iov_len = BIG_ANSWER;
		evbuffer_commit_space(reply, &v, 1);
		return 0;
	}
	evbuffer_add_printf(reply, "unknown command '%s'\n", argv[0]);
	return -EINVAL;
}

static void d_release(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	control_answer(d_ctl, UINT64_MAX, 0, "released\n");
}

static void d_stop(evutil_socket_t sig, short what, void *base)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(base);
}

static void __attribute__((noreturn)) d_main(int ready, rlim_t nofile)
{
	struct event_base *base;
	struct event *usr1, *term;
	int log_fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);

	if (log_fd < 0 || dup2(log_fd, 2) < 0)
		_exit(2);
	close(log_fd);
	if (nofile) {
		struct rlimit rl = { nofile, nofile };

		if (setrlimit(RLIMIT_NOFILE, &rl))
			_exit(2);
	}
	base = event_base_new();
	if (!base || control_open(&d_ctl, base, sock, NULL, d_handler, NULL))
		_exit(1);
	usr1 = evsignal_new(base, SIGUSR1, d_release, NULL);
	term = evsignal_new(base, SIGTERM, d_stop, base);
	if (!usr1 || !term || evsignal_add(usr1, NULL) || evsignal_add(term, NULL))
		_exit(1);
	if (write(ready, "r", 1) != 1)
		_exit(1);
	close(ready);
	event_base_dispatch(base);
	control_close(d_ctl);
	event_free(usr1);
	event_free(term);
	event_base_free(base);
	_exit(0);
}

/* Start the daemon, with an open-file limit of nofile (0: this one's). */
static void daemon_start(rlim_t nofile)
{
	struct pollfd pfd;
	char c;
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	daemon_pid = fork();
	assert_true(daemon_pid >= 0);
	if (daemon_pid == 0) {
		close(p[0]);
		d_main(p[1], nofile);
	}
	close(p[1]);
	pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
}

static bool daemon_alive(void)
{
	int st;

	return daemon_pid > 0 && waitpid(daemon_pid, &st, WNOHANG) == 0;
}

/* Milliseconds of CPU the daemon used so far (user + system). */
static int64_t daemon_cpu_ms(void)
{
	unsigned long utime, stime;
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)daemon_pid);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	assert_non_null(p);
	/* state is field 3, utime 14, stime 15 */
	assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
				"%*u %*u %lu %lu", &utime, &stime), 2);
	return (int64_t)(utime + stime) * 1000 / sysconf(_SC_CLK_TCK);
}

static int daemon_open_files(void)
{
	char path[64];
	struct dirent *d;
	DIR *dp;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)daemon_pid);
	dp = opendir(path);
	assert_non_null(dp);
	while ((d = readdir(dp)))
		n += d->d_name[0] != '.';
	closedir(dp);
	return n;
}

/* Lines of a log holding phrase. */
static int log_lines(const char *path, const char *phrase)
{
	char line[1024];
	FILE *f = fopen(path, "r");
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, phrase) != NULL;
	fclose(f);
	return n;
}

/* --- clients -------------------------------------------------------------- */

/* A non-blocking connection to path, kept for teardown; -1 when the
 * daemon's queue of connections stayed full for ms. */
static int client(const char *path, int ms)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int64_t deadline = colo_now_ms() + ms;
	int fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		assert_int_equal(errno, EAGAIN);	/* its backlog is full */
		if (colo_now_ms() >= deadline) {
			close(fd);
			return -1;
		}
		usleep(1000);
	}
	if (nr_fds < MAX_FDS)
		fds[nr_fds++] = fd;
	return fd;
}

/* Send what the socket takes of buf now; bytes sent, or -1 when the
 * daemon closed the connection. */
static ssize_t send_some(int fd, const void *buf, size_t len)
{
	ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	return n < 0 ? -1 : n;
}

/* Did the daemon close fd (without our reading what it sent)? */
static bool closed_by_daemon(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR));
}

/* Wait up to ms for the daemon to close every one of fd[0 .. n); how
 * many it closed. */
static int wait_closed(const int *fd, int n, int ms)
{
	int64_t deadline = colo_now_ms() + ms;
	int closed;

	for (;;) {
		closed = 0;
		for (int i = 0; i < n; i++)
			closed += closed_by_daemon(fd[i]);
		if (closed == n || colo_now_ms() >= deadline)
			return closed;
		usleep(20 * 1000);
	}
}

/* Everything the daemon sent on fd until it closed it, or ms passed. */
static size_t read_all(int fd, char *buf, size_t len, int ms)
{
	int64_t deadline = colo_now_ms() + ms;
	size_t got = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - colo_now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) != 1)
			break;
		n = recv(fd, buf + got, len - 1 - got, MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == len - 1)
			break;
	}
	buf[got] = '\0';
	return got;
}

/*
 * Ask the daemon len bytes as one request, as coloctl would, on a clock
 * of the test's own: 0 when it answered "ok", 1 when it answered
 * "error", -1 when no whole answer came within ms (connect included).
 * The answer's text in out; its time in *took.
 */
static int ask_raw(const char *path, const char *req, size_t len, int ms,
		   char *out, size_t outlen, int64_t *took)
{
	int64_t t0 = colo_now_ms();
	int fd = client(path, ms);
	size_t sent = 0, got;
	char *nl;

	*out = '\0';
	if (fd < 0)
		return -1;
	while (sent < len) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		ssize_t n = send_some(fd, req + sent, len - sent);

		if (n < 0)
			break;		/* it may have answered already */
		sent += (size_t)n;
		if (sent < len && poll(&p, 1, (int)(t0 + ms - colo_now_ms())) != 1)
			return -1;
	}
	got = read_all(fd, out, outlen, (int)(t0 + ms - colo_now_ms()));
	*took = colo_now_ms() - t0;
	nl = memchr(out, '\n', got);
	if (!nl || *took > ms)
		return -1;
	if (strncmp(out, "ok\n", 3) == 0)
		return 0;
	return strncmp(out, "error\n", 6) == 0 ? 1 : -1;
}

/* A status, asked while whatever the test set up goes on: whole, "ok",
 * within STATUS_MS, and the daemon up. */
static void status_ok(const char *path)
{
	char out[256];
	int64_t took = 0;
	int ret, tries = 0;

	/* under a flood the daemon may push us out to make room (a prompt
	 * answer all the same): asked again, as an operator would */
	do
		ret = ask_raw(path, "status\n", 7, STATUS_MS, out, sizeof(out),
			      &took);
	while (ret == 1 && ++tries < 5 && took < STATUS_MS &&
	       (strstr(out, "dropped:") || strstr(out, "too many control")));
	if (ret != 0)
		fail_msg("status on %s: %s (%d) after %lld ms: '%s'", path,
			 ret < 0 ? "no whole answer" : "error", ret,
			 (long long)took, out);
	if (took > worst_ms)
		worst_ms = took;
	if (path == sock)
		assert_non_null(strstr(out, "role test"));
	if (path == sock)
		assert_true(daemon_alive());
}

static void print_worst(const char *what)
{
	print_message("    status answered in at most %lld ms %s\n",
		      (long long)worst_ms, what);
}

/* A connection of the flooder: blocking, its connect waiting 5 s at
 * most for room in the daemon's queue; -1 if none came. */
static int flood_connect(const struct sockaddr_un *sun)
{
	struct timeval tv = { 5, 0 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* What the flooder did: connections opened and held, then reconnects. */
struct flood_result {
	int opened, churned;
};

/*
 * A flooder: a child that opens n connections to path as fast as the
 * daemon takes them and holds them (sends nothing), then for CHURN_MS
 * closes its oldest and opens a new one, as fast as it can. It writes a
 * struct flood_result to the pipe returned, then waits to be killed,
 * its connections held.
 */
static int flood_start(const char *path, int n)
{
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	flooder_pid = fork();
	assert_true(flooder_pid >= 0);
	if (flooder_pid == 0) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		struct flood_result r = { 0, 0 };
		int *held = calloc((size_t)n, sizeof(*held));
		int64_t end;

		close(p[0]);
		if (!held)
			_exit(1);
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
		for (int i = 0; i < n; i++)
			if ((held[i] = flood_connect(&sun)) >= 0)
				r.opened++;
		end = colo_now_ms() + CHURN_MS;
		for (int i = 0; colo_now_ms() < end; i = (i + 1) % n) {
			if (held[i] >= 0)
				close(held[i]);
			if ((held[i] = flood_connect(&sun)) >= 0)
				r.churned++;
		}
		if (write(p[1], &r, sizeof(r)) != sizeof(r))
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	return p[0];
}

/* Ask status every 20 ms until the flooder says what it did. */
static struct flood_result flood_wait(int pipe_fd, const char *path, int ms)
{
	int64_t t0 = colo_now_ms(), deadline = t0 + ms;
	struct flood_result r = { -1, -1 };
	int asked = 0;

	while (colo_now_ms() < deadline) {
		struct pollfd p = { .fd = pipe_fd, .events = POLLIN };

		status_ok(path);
		asked++;
		if (poll(&p, 1, 20) == 1) {
			assert_int_equal(read(pipe_fd, &r, sizeof(r)), sizeof(r));
			break;
		}
	}
	close(pipe_fd);
	print_message("    the flood: %d connections held, then %d more in %d "
		      "ms; %d status asked meanwhile (%lld ms)\n", r.opened,
		      r.churned, CHURN_MS, asked,
		      (long long)(colo_now_ms() - t0));
	return r;
}

/* --- setup, teardown ------------------------------------------------------ */

static int setup(void **state)
{
	struct rlimit rl;

	(void)state;
	/* our hostile clients and the flood's need more than 1024 files */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < MAX_FDS + 256 &&
	    rl.rlim_max >= MAX_FDS + 256) {
		rl.rlim_cur = MAX_FDS + 256;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	snprintf(dir, sizeof(dir), "/tmp/colo-ctl-hostile-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(sock, sizeof(sock), "%s/run/ctl.sock", dir);
	snprintf(logpath, sizeof(logpath), "%s/daemon.log", dir);
	nr_fds = 0;
	worst_ms = 0;
	return 0;
}

static void reap(pid_t *pid, int sig)
{
	int64_t deadline = colo_now_ms() + 2000;
	int st;

	if (*pid <= 0)
		return;
	kill(*pid, sig);
	while (waitpid(*pid, &st, WNOHANG) == 0) {
		if (colo_now_ms() > deadline) {
			kill(*pid, SIGKILL);
			waitpid(*pid, &st, 0);
			break;
		}
		usleep(10 * 1000);
	}
	*pid = -1;
}

static int teardown(void **state)
{
	char cmd[256];
	int ret;

	(void)state;
	reap(&flooder_pid, SIGKILL);
	for (int i = 0; i < nr_fds; i++)
		close(fds[i]);
	nr_fds = 0;
	reap(&daemon_pid, SIGTERM);
	if (getenv("KEEP_LOG")) {
		snprintf(cmd, sizeof(cmd), "cat %s >&2", logpath);
		ret = system(cmd);
		(void)ret;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ret = system(cmd);
	return ret == 0 ? 0 : -1;
}

/* --- the scenarios -------------------------------------------------------- */

/* Half a line, then silence: the others are served meanwhile, and each
 * is dropped CONTROL_IDLE_S after it connected, with one log line (not
 * one per client). */
static void test_half_line(void **state)
{
	int64_t t0;
	int half[100];

	(void)state;
	daemon_start(0);
	t0 = colo_now_ms();
	for (int i = 0; i < 100; i++) {
		half[i] = client(sock, 1000);
		assert_true(half[i] >= 0);
		assert_int_equal(send_some(half[i], "stat", 4), 4);
	}
	for (int i = 0; i < 5; i++)
		status_ok(sock);
	assert_int_equal(wait_closed(half, 100, 0), 0);
	assert_int_equal(wait_closed(half, 100, (int)(t0 + CONTROL_IDLE_S * 1000 +
						     SLACK_MS - colo_now_ms())), 100);
	status_ok(sock);
	assert_in_range(log_lines(logpath, "no whole command line"), 1, 2);
	print_worst("with 100 half lines");
}

/* One byte every 500 ms does not keep a client: CONTROL_IDLE_S counts
 * from its connect, not from its last byte. */
static void test_trickle(void **state)
{
	int64_t t0, last_closed = 0;
	int drip[50], open = 50;
	bool gone[50] = { false };

	(void)state;
	daemon_start(0);
	t0 = colo_now_ms();
	for (int i = 0; i < 50; i++) {
		drip[i] = client(sock, 1000);
		assert_true(drip[i] >= 0);
	}
	while (open && colo_now_ms() < t0 + (CONTROL_IDLE_S + 5) * 1000) {
		for (int i = 0; i < 50; i++) {
			if (gone[i])
				continue;
			if (closed_by_daemon(drip[i]) ||
			    send_some(drip[i], "x", 1) < 0) {
				gone[i] = true;
				open--;
				last_closed = colo_now_ms() - t0;
			}
		}
		status_ok(sock);
		usleep(500 * 1000);
	}
	print_message("    the last trickling client was dropped %lld ms after "
		      "it connected\n", (long long)last_closed);
	assert_int_equal(open, 0);
	assert_true(last_closed <= CONTROL_IDLE_S * 1000 + SLACK_MS);
	print_worst("with 50 clients sending a byte each 500 ms");
}

/* A line of CONTROL_MAX_LINE bytes is served; one byte more is refused
 * with an error naming the limit, and megabytes without a newline are
 * cut off at once, each connection, the daemon reading no more. */
static void test_long_line(void **state)
{
	static char line[CONTROL_MAX_LINE + 2], flood[1 << 16], out[4096];
	int64_t took;
	int longs[20];

	(void)state;
	daemon_start(0);
	memset(line, ' ', sizeof(line));
	memcpy(line, "status", 6);
	line[CONTROL_MAX_LINE] = '\n';
	assert_int_equal(ask_raw(sock, line, CONTROL_MAX_LINE + 1, STATUS_MS,
				 out, sizeof(out), &took), 0);
	line[CONTROL_MAX_LINE] = ' ';
	line[CONTROL_MAX_LINE + 1] = '\n';
	assert_int_equal(ask_raw(sock, line, CONTROL_MAX_LINE + 2, STATUS_MS,
				 out, sizeof(out), &took), 1);
	assert_non_null(strstr(out, "4096 bytes"));

	memset(flood, 'a', sizeof(flood));
	for (int i = 0; i < 20; i++) {
		size_t sent = 0;
		ssize_t n;

		longs[i] = client(sock, 1000);
		assert_true(longs[i] >= 0);
		/* up to 1 MiB, as much as the socket takes */
		while (sent < (1 << 20) &&
		       (n = send_some(longs[i], flood, sizeof(flood))) > 0)
			sent += (size_t)n;
	}
	status_ok(sock);
	assert_int_equal(wait_closed(longs, 20, STATUS_MS), 20);
	for (int i = 0; i < 20; i++) {
		read_all(longs[i], out, sizeof(out), 100);
		assert_string_equal(strtok(out, "\n"), "error");
	}
	status_ok(sock);
	assert_in_range(log_lines(logpath, "longer than 4096 bytes"), 1, 2);
	print_worst("with 20 clients sending 1 MiB without a newline");
}

/* Bytes that are not text (a NUL, control bytes, random binary) are
 * refused with an error naming the byte, never run: "status\0..." is not
 * a status. A storm of such clients is logged in a line or two. */
static void test_garbage(void **state)
{
	static const char nul[] = "status\0junk\n";
	uint32_t seed = 13;
	char out[4096], junk[2048];
	int64_t took;
	int bin[200];

	(void)state;
	daemon_start(0);
	assert_int_equal(ask_raw(sock, nul, sizeof(nul) - 1, STATUS_MS, out,
				 sizeof(out), &took), 1);
	assert_non_null(strstr(out, "byte 0x00"));
	print_message("    random bytes from seed %u\n", seed);
	for (int i = 0; i < 200; i++) {
		for (size_t j = 0; j < sizeof(junk); j++) {
			seed = seed * 1103515245u + 12345u;
			junk[j] = (char)(seed >> 16);
		}
		junk[sizeof(junk) - 1] = '\n';
		bin[i] = client(sock, 1000);
		assert_true(bin[i] >= 0);
		assert_true(send_some(bin[i], junk, sizeof(junk)) > 0);
	}
	status_ok(sock);
	assert_int_equal(wait_closed(bin, 200, STATUS_MS), 200);
	for (int i = 0; i < 200; i++) {
		read_all(bin[i], out, sizeof(out), 100);
		assert_string_equal(strtok(out, "\n"), "error");
	}
	status_ok(sock);
	assert_true(daemon_alive());
	assert_in_range(log_lines(logpath, "not text"), 1, 2);
	print_worst("with 200 clients sending binary");
}

/* Clients that ask for an answer bigger than a socket buffer and never
 * read it do not block the daemon (its sockets are non-blocking), and
 * are dropped CONTROL_IDLE_S after their answer was written. */
static void test_never_reads(void **state)
{
	int64_t t0;
	int deaf[20];

	(void)state;
	daemon_start(0);
	t0 = colo_now_ms();
	for (int i = 0; i < 20; i++) {
		deaf[i] = client(sock, 1000);
		assert_true(deaf[i] >= 0);
		assert_int_equal(send_some(deaf[i], "big\n", 4), 4);
	}
	for (int i = 0; i < 5; i++)
		status_ok(sock);
	assert_int_equal(wait_closed(deaf, 20, 0), 0);
	assert_int_equal(wait_closed(deaf, 20, (int)(t0 + CONTROL_IDLE_S * 1000 +
						     SLACK_MS - colo_now_ms())), 20);
	status_ok(sock);
	assert_in_range(log_lines(logpath, "did not take its answer"), 1, 2);
	print_worst("with 20 clients not reading a 1 MiB answer");
}

/* 2000 connections opened as fast as the daemon takes them, and held,
 * then CHURN_MS of reconnects: the daemon keeps at most
 * CONTROL_MAX_CLIENTS (the oldest silent ones make room), so it stays
 * within 1024 open files, and answers status all along. */
static void test_flood(void **state)
{
	struct flood_result r;
	int pipe_fd, files;

	(void)state;
	daemon_start(1024);		/* systemd's default soft limit */
	pipe_fd = flood_start(sock, FLOOD);
	r = flood_wait(pipe_fd, sock, 30 * 1000);
	assert_int_equal(r.opened, FLOOD);
	assert_true(r.churned > 0);
	for (int i = 0; i < 5; i++)
		status_ok(sock);
	files = daemon_open_files();
	print_message("    the daemon has %d files open\n", files);
	assert_true(files <= CONTROL_MAX_CLIENTS + 16);
	assert_in_range(log_lines(logpath, "control clients at once"), 1, 3);
	print_worst("during and after a flood of 2000 connections");
}

/* At CONTROL_MAX_CLIENTS with none of them idle (CONTROL_MAX_HELD held,
 * the rest not taking a big answer), a new client is refused with an
 * error naming the limit; once the held ones are answered, it is served. */
static void test_cap_refusal(void **state)
{
	char out[512], *reply = NULL;
	int64_t took;

	(void)state;
	daemon_start(0);
	for (int i = 0; i < CONTROL_MAX_HELD; i++)
		assert_int_equal(send_some(client(sock, 1000), "hold\n", 5), 5);
	for (int i = CONTROL_MAX_HELD; i < CONTROL_MAX_CLIENTS; i++)
		assert_int_equal(send_some(client(sock, 1000), "big\n", 4), 4);
	usleep(200 * 1000);
	assert_int_equal(ask_raw(sock, "status\n", 7, STATUS_MS, out,
				 sizeof(out), &took), 1);
	print_message("    at the cap: %s", out + 6);
	assert_non_null(strstr(out, "too many control clients"));
	assert_non_null(strstr(out, "128"));
	/* and coloctl's client says so too, not "no daemon" */
	assert_int_equal(control_request(sock, "status", STATUS_MS, &reply),
			 -EREMOTEIO);
	assert_non_null(reply);
	assert_non_null(strstr(reply, "too many control clients"));
	free(reply);
	assert_int_equal(kill(daemon_pid, SIGUSR1), 0);
	/* the big answers still sit unread: the held ones made room */
	usleep(200 * 1000);
	status_ok(sock);
	assert_true(daemon_alive());
}

/* Out of file descriptors with silent clients open: the oldest of them
 * is dropped for the new one, and status is answered. */
static void test_emfile_idle(void **state)
{
	(void)state;
	daemon_start(40);
	for (int i = 0; i < 60; i++)
		client(sock, 100);
	usleep(100 * 1000);
	status_ok(sock);
	assert_true(log_lines(logpath, "cannot accept a control client") >= 1);
	print_worst("out of files, with 60 silent clients");
}

/* Out of file descriptors with every client held: the daemon does not
 * spin on accept (libevent's listener would retry EMFILE at once, on
 * every loop turn), logs it once, and serves again when files free up.
 * Meanwhile its queue of connections fills: coloctl's client gives up
 * at its timeout, it does not hang in connect(). */
static void test_emfile_no_spin(void **state)
{
	char *reply = NULL;
	int64_t cpu, t0;
	int lines, ret;

	(void)state;
	daemon_start(40);
	for (int i = 0; i < 60; i++) {
		int fd = client(sock, 100);

		if (fd >= 0)
			send_some(fd, "hold\n", 5);
	}
	usleep(200 * 1000);
	cpu = daemon_cpu_ms();
	sleep(2);
	cpu = daemon_cpu_ms() - cpu;
	lines = log_lines(logpath, "cannot accept a control client");
	print_message("    out of files, all held: %lld ms of CPU in 2 s, %d "
		      "log lines\n", (long long)cpu, lines);
	assert_true(cpu < 400);
	assert_in_range(lines, 1, 2);
	assert_true(daemon_alive());
	for (int i = 0; i < 300 && client(sock, 0) >= 0; i++)
		;			/* until the queue is full */
	t0 = colo_now_ms();
	ret = control_request(sock, "status", 500, &reply);
	t0 = colo_now_ms() - t0;
	print_message("    coloctl's client, the queue full: %d (%s) after %lld "
		      "ms\n", ret, strerror(-ret), (long long)t0);
	assert_true(ret == -EAGAIN || ret == -ETIMEDOUT);
	assert_true(t0 < STATUS_MS);
	free(reply);
	/* the held are answered, their clients go */
	assert_int_equal(kill(daemon_pid, SIGUSR1), 0);
	for (int i = 0; i < nr_fds; i++)
		close(fds[i]);
	nr_fds = 0;
	status_ok(sock);
	print_worst("once files were free again");
}

/* The same hostility at a real primary, protecting its guest: it answers
 * status all along and goes on checkpointing. */
static void test_real_primary(void **state)
{
	static char junk[CONTROL_MAX_LINE * 2];
	char psock[256];
	struct flood_result r;
	double before, after;
	int pipe_fd;

	(void)state;
	pair_must(pair_configs("--ram 8 --rate 5 --tick 10", NULL));
	pair_must(pair_start());
	pair_must(pair_wait_state("pri", "colo", 20 * 1000));
	snprintf(psock, sizeof(psock), "%s/pri.sock", pair_dir);
	before = pair_status_num("pri", "checkpoints");
	memset(junk, 0x01, sizeof(junk));
	for (int i = 0; i < 50; i++) {
		send_some(client(psock, 1000), "stat", 4);
		send_some(client(psock, 1000), junk, sizeof(junk));
	}
	pipe_fd = flood_start(psock, FLOOD);
	r = flood_wait(pipe_fd, psock, 30 * 1000);
	assert_int_equal(r.opened, FLOOD);
	status_ok(psock);
	pair_must(pair_protecting("pri"));
	pair_must(pair_wait_num("pri", "checkpoints", before + 20, 10));
	after = pair_status_num("pri", "checkpoints");
	print_message("    checkpoints %.0f -> %.0f meanwhile\n", before, after);
	assert_in_range(pair_log_count("pri", "control clients at once", NULL),
			1, 3);
	print_worst("at a real primary under the flood");
}

static int pair_setup_hostile(void **state)
{
	return setup(state) || pair_setup(state);
}

static int pair_teardown_hostile(void **state)
{
	reap(&flooder_pid, SIGKILL);
	return teardown(state) | pair_teardown(state);
}

int main(int argc, char **argv)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_half_line),
		T(test_trickle),
		T(test_long_line),
		T(test_garbage),
		T(test_never_reads),
		T(test_flood),
		T(test_cap_refusal),
		T(test_emfile_idle),
		T(test_emfile_no_spin),
		cmocka_unit_test_setup_teardown(test_real_primary,
						pair_setup_hostile,
						pair_teardown_hostile),
	};
#undef T

	signal(SIGPIPE, SIG_IGN);
	if (pair_init("control-hostile"))
		return 1;
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("control-hostile", tests, NULL, NULL);
}
