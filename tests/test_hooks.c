/*
 * test_hooks.c - [hooks]: real scripts in a temporary folder, run from a
 * real libevent loop: what a hook gets (environment, argv, descriptors,
 * signals), the order of events, the timeout and its SIGKILL, failures,
 * a full queue, no hook at all, and hooks_close() of a running hook.
 *
 * This program is also a hook itself: run with the single argument
 * "hooks-probe", it writes what it was given to the file in $COLO_PEER.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "clock.h"
#include "config.h"
#include "hooks.h"
#include "log.h"
#include "log_capture.h"
#include "status.h"

#define PROBE_EVENT	"hooks-probe"
/* no hook here takes more than this unless it is broken */
#define RUN_MAX_MS	10000

static char dir[64];			/* this test's folder */
static struct event_base *base;
static struct hooks *hooks;		/* closed by teardown if still open */
static struct colo_config cfg;
/* processes a test saw started: teardown kills those a failure left */
static pid_t seen[4];
static int n_seen;

/* --- the fixture ---------------------------------------------------------- */

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/colo-hooks-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	base = event_base_new();
	if (!base)
		return -1;
	config_defaults(&cfg);
	log_set_quiet(1);
	log_capture_start();
	return 0;
}

/* Kill and reap what a failed test left: only our own children, still
 * unreaped (so the pid cannot be another's). */
static void kill_leftovers(void)
{
	for (int i = 0; i < n_seen; i++) {
		if (seen[i] > 0 && waitpid(seen[i], NULL, WNOHANG) == 0) {
			kill(seen[i], SIGKILL);
			waitpid(seen[i], NULL, 0);
		}
	}
	n_seen = 0;
}

static int teardown(void **state)
{
	(void)state;
	hooks_close(hooks);		/* kills what a failed test left */
	hooks = NULL;
	kill_leftovers();
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	event_base_free(base);
	base = NULL;
	log_capture_stop();
	log_set_quiet(0);
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* dir/name, in buf. */
static const char *in_dir(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
	return buf;
}

/* Write dir/name with mode; its path in path[4096]. */
static void write_file(char *path, const char *name, mode_t mode,
		       const char *text)
{
	FILE *f;

	in_dir(path, 4096, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* A /bin/sh script dir/name of body, where "$D" is the folder. */
static void write_script(char *path, const char *name, const char *body)
{
	char text[4096];

	snprintf(text, sizeof(text), "#!/bin/sh\nD=%s\n%s\n", dir, body);
	write_file(path, name, 0755, text);
}

/* dir/name's contents into buf ("" if it does not exist). */
static const char *read_back(char *buf, size_t len, const char *name)
{
	char path[4096];
	size_t n = 0;
	FILE *f = fopen(in_dir(path, sizeof(path), name), "r");

	if (f) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

/* Hooks of cfg with these programs ("" = none). */
static void open_hooks(const char *role_change, const char *peer_event,
		       unsigned timeout_ms)
{
	snprintf(cfg.hooks.role_change, sizeof(cfg.hooks.role_change), "%s",
		 role_change);
	snprintf(cfg.hooks.peer_event, sizeof(cfg.hooks.peer_event), "%s",
		 peer_event);
	cfg.hooks.timeout_ms = timeout_ms;
	assert_int_equal(hooks_open(&hooks, base, &cfg), 0);
	assert_non_null(hooks);
}

/* --- running the loop ----------------------------------------------------- */

struct loop_run {
	int64_t deadline_ms;		/* give up then */
	const char *file;		/* wait for this to be non-empty, or */
	bool done, late;
	unsigned ticks;			/* of the 20 ms timer, meanwhile */
};

static void check_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loop_run *r = arg;
	struct stat st;

	(void)fd;
	(void)what;
	if (r->file ? !stat(r->file, &st) && st.st_size > 0 :
		      hooks_idle(hooks))
		r->done = true;
	else if (colo_now_ms() > r->deadline_ms)
		r->late = true;
	else
		return;
	event_base_loopbreak(base);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	((struct loop_run *)arg)->ticks++;
}

/* Run the loop until the hooks are idle (file NULL) or file has
 * contents; false if that took more than RUN_MAX_MS. */
static bool run_loop(const char *file, unsigned *ticks, int64_t *ms)
{
	const struct timeval check = { 0, 5000 }, tick = { 0, 20000 };
	struct loop_run r = { .file = file };
	struct event *c = event_new(base, -1, EV_PERSIST, check_cb, &r);
	struct event *t = event_new(base, -1, EV_PERSIST, tick_cb, &r);
	int64_t start = colo_now_ms();

	assert_non_null(c);
	assert_non_null(t);
	r.deadline_ms = start + RUN_MAX_MS;
	assert_int_equal(event_add(c, &check), 0);
	assert_int_equal(event_add(t, &tick), 0);
	event_base_dispatch(base);
	event_free(c);
	event_free(t);
	if (ticks)
		*ticks = r.ticks;
	if (ms)
		*ms = colo_now_ms() - start;
	return r.done && !r.late;
}

static void run_until_idle(void)
{
	assert_true(run_loop(NULL, NULL, NULL));
}

static void expect_stats(uint64_t started, uint64_t ok, uint64_t failed,
			 uint64_t killed, uint64_t dropped)
{
	struct hooks_stats st;

	hooks_stats(hooks, &st);
	assert_int_equal(st.started, started);
	assert_int_equal(st.ok, ok);
	assert_int_equal(st.failed, failed);
	assert_int_equal(st.killed, killed);
	assert_int_equal(st.dropped, dropped);
}

/* The log holds needle. */
static void expect_logged(const char *needle)
{
	if (!strstr(log_captured(), needle))
		fail_msg("no \"%s\" in the log:\n%s", needle, log_captured());
}

/* A pid read from dir/name (written by a script), kept for teardown. */
static pid_t read_pid(const char *name)
{
	char buf[32];
	pid_t pid = (pid_t)atoi(read_back(buf, sizeof(buf), name));

	if (n_seen < (int)(sizeof(seen) / sizeof(seen[0])))
		seen[n_seen++] = pid;
	return pid;
}

/* --- what a hook gets ----------------------------------------------------- */

/* COLO_* and argv[1], the daemon's PATH, and / as its folder; our
 * COLO_REASON, not the daemon's (the probe counts them). */
static void test_environment(void **state)
{
	char script[4096], out[4096], want[8192];

	(void)state;
	write_script(script, "env.sh",
		     "echo \"$COLO_ROLE $COLO_EVENT $COLO_PEER $COLO_REASON $1\" > $D/out\n"
		     "echo \"PATH=$PATH\" >> $D/out\n"
		     "pwd >> $D/out");
	assert_int_equal(setenv("COLO_REASON", "stale", 1), 0);
	open_hooks(script, "", 10000);
	hooks_run(hooks, HOOK_ROLE_CHANGE, "primary", "takeover",
		  "10.77.1.2:9470", "the primary was silent for 3000 ms");
	run_until_idle();
	unsetenv("COLO_REASON");
	snprintf(want, sizeof(want),
		 "primary takeover 10.77.1.2:9470 the primary was silent for "
		 "3000 ms takeover\nPATH=%s\n/\n", getenv("PATH"));
	assert_string_equal(read_back(out, sizeof(out), "out"), want);
	expect_stats(1, 1, 0, 0, 0);
	assert_string_equal(log_captured(), "");	/* a pidfd, no warning */
}

/* Each kind runs its own program; NULL and "" arrive as "". */
static void test_kinds(void **state)
{
	char role[4096], peer[4096], out[256];

	(void)state;
	write_script(role, "role.sh", "echo \"role $COLO_EVENT\" >> $D/role");
	write_script(peer, "peer.sh",
		     "echo \"peer $COLO_ROLE $COLO_EVENT [$COLO_PEER] [$COLO_REASON]\" >> $D/peer");
	open_hooks(role, peer, 10000);
	hooks_run(hooks, HOOK_PEER_EVENT, "secondary", "peer-lost", "", NULL);
	hooks_run(hooks, HOOK_ROLE_CHANGE, "primary", "solo", NULL, "x");
	run_until_idle();
	assert_string_equal(read_back(out, sizeof(out), "role"), "role solo\n");
	assert_string_equal(read_back(out, sizeof(out), "peer"),
			    "peer secondary peer-lost [] []\n");
	expect_stats(2, 2, 0, 0, 0);
}

/* The probe's SigBlk and SigIgn lines, copied to f. */
static void probe_signals(FILE *f)
{
	FILE *s = fopen("/proc/self/status", "r");
	char line[256];

	while (s && fgets(line, sizeof(line), s))
		if (!strncmp(line, "SigBlk:", 7) || !strncmp(line, "SigIgn:", 7))
			fputs(line, f);
	if (s)
		fclose(s);
}

/* How many COLO_ROLE= and COLO_REASON= the probe's environment holds
 * (a shell would show one of two), and the values. */
static void probe_env(FILE *f)
{
	static const char *const vars[] = { "COLO_ROLE=", "COLO_REASON=" };

	for (size_t v = 0; v < sizeof(vars) / sizeof(vars[0]); v++) {
		const char *last = "";
		int n = 0;

		for (char **e = environ; *e; e++)
			if (!strncmp(*e, vars[v], strlen(vars[v]))) {
				last = *e;
				n++;
			}
		fprintf(f, "%d %s\n", n, last);
	}
}

/* The probe: run as a hook, write what it was given to $COLO_PEER. */
static int probe(const char *out)
{
	char fds[256] = "fds", link[256];
	struct stat st1, st2;
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	FILE *f;
	ssize_t n;

	if (!d || !out)
		return 2;
	/* before any other open; readdir gives the table's order */
	while ((de = readdir(d))) {
		size_t used = strlen(fds), len = strlen(de->d_name);

		if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(d) ||
		    used + len + 2 > sizeof(fds))
			continue;
		fds[used] = ' ';
		memcpy(fds + used + 1, de->d_name, len + 1);
	}
	closedir(d);
	f = fopen(out, "w");
	if (!f)
		return 2;
	fprintf(f, "%s\n", fds);
	n = readlink("/proc/self/fd/0", link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	fprintf(f, "stdin %s\n", link);
	if (!fstat(1, &st1) && !fstat(2, &st2))
		fprintf(f, "stdout %lu:%lu stderr %lu:%lu\n",
			(unsigned long)st1.st_dev, (unsigned long)st1.st_ino,
			(unsigned long)st2.st_dev, (unsigned long)st2.st_ino);
	fprintf(f, "own group %s\n", getpgid(0) == getpid() ? "yes" : "no");
	probe_signals(f);
	probe_env(f);
	return fclose(f) ? 2 : 0;
}

/* No descriptor of ours but 0 (/dev/null), 1 and 2 (our stderr); its own
 * process group; nothing blocked or ignored though we block and ignore;
 * our COLO_ROLE and COLO_REASON replaced, not repeated. */
static void test_descriptors_and_signals(void **state)
{
	char exe[4096], out[1024], want[1024], path[4096];
	struct stat err;
	sigset_t usr1, old;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int extra = open("/dev/null", O_RDONLY);	/* not close-on-exec */
	/* our 0 and 1 elsewhere while it runs: it must not get them */
	int in = dup(0), out1 = dup(1), file;
	bool ran;

	(void)state;
	assert_true(n > 0);
	exe[n] = '\0';
	assert_true(extra > 2 && in > 2 && out1 > 2);
	assert_int_equal(fstat(2, &err), 0);
	file = open(in_dir(path, sizeof(path), "ours"), O_RDWR | O_CREAT, 0600);
	assert_true(file > 2);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	assert_int_equal(sigprocmask(SIG_BLOCK, &usr1, &old), 0);
	assert_true(signal(SIGUSR2, SIG_IGN) != SIG_ERR);
	assert_int_equal(setenv("COLO_ROLE", "stale", 1), 0);
	assert_int_equal(setenv("COLO_REASON", "stale", 1), 0);
	open_hooks(exe, "", 10000);
	hooks_run(hooks, HOOK_ROLE_CHANGE, "secondary", PROBE_EVENT,
		  in_dir(path, sizeof(path), "probe"), "why");
	fflush(stdout);
	dup2(file, 0);
	dup2(file, 1);
	ran = run_loop(NULL, NULL, NULL);
	dup2(in, 0);
	dup2(out1, 1);
	close(in);
	close(out1);
	close(file);
	sigprocmask(SIG_SETMASK, &old, NULL);
	signal(SIGUSR2, SIG_DFL);
	unsetenv("COLO_ROLE");
	unsetenv("COLO_REASON");
	close(extra);
	assert_true(ran);
	snprintf(want, sizeof(want),
		 "fds 0 1 2\nstdin /dev/null\nstdout %lu:%lu stderr %lu:%lu\n"
		 "own group yes\nSigBlk:\t0000000000000000\n"
		 "SigIgn:\t0000000000000000\n"
		 "1 COLO_ROLE=secondary\n1 COLO_REASON=why\n",
		 (unsigned long)err.st_dev, (unsigned long)err.st_ino,
		 (unsigned long)err.st_dev, (unsigned long)err.st_ino);
	assert_string_equal(read_back(out, sizeof(out), "probe"), want);
	expect_stats(1, 1, 0, 0, 0);
}

/* --- order ---------------------------------------------------------------- */

/* Three events back to back: run in order, one at a time (the lock is a
 * directory: mkdir fails if a hook still holds it). */
static void test_order(void **state)
{
	char script[4096], out[256];

	(void)state;
	write_script(script, "order.sh",
		     "mkdir $D/lock || echo overlap >> $D/out\n"
		     "sleep 0.2\n"
		     "echo \"$1\" >> $D/out\n"
		     "rmdir $D/lock");
	open_hooks("", script, 10000);
	hooks_run(hooks, HOOK_PEER_EVENT, "primary", "one", "", "");
	hooks_run(hooks, HOOK_PEER_EVENT, "primary", "two", "", "");
	hooks_run(hooks, HOOK_PEER_EVENT, "primary", "three", "", "");
	run_until_idle();
	assert_string_equal(read_back(out, sizeof(out), "out"),
			    "one\ntwo\nthree\n");
	expect_stats(3, 3, 0, 0, 0);
}

/* More than HOOKS_QUEUE_MAX events before the loop runs: the extra ones
 * are dropped, named in a warning, the others run. */
static void test_queue_full(void **state)
{
	char event[16];

	(void)state;
	open_hooks("", "/bin/true", 10000);
	for (int i = 0; i < HOOKS_QUEUE_MAX + 2; i++) {
		snprintf(event, sizeof(event), "e%d", i);
		hooks_run(hooks, HOOK_PEER_EVENT, "primary", event, "", "");
	}
	expect_logged("hook peer_event (/bin/true, event e33) dropped");
	run_until_idle();
	expect_stats(HOOKS_QUEUE_MAX, HOOKS_QUEUE_MAX, 0, 0, 2);
}

/* --- timeout and close ---------------------------------------------------- */

/* Wait up to 2 s for pid, reparented to us (a subreaper), to die; its
 * status. */
static int reap_orphan(pid_t pid)
{
	int64_t end = colo_now_ms() + 2000;
	int status;

	while (colo_now_ms() < end) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(5000);
	}
	return -1;
}

/* A hook that sleeps 60 s is killed after timeout_ms with its process
 * group, reaped and counted; the loop kept running meanwhile. */
static void test_timeout(void **state)
{
	char script[4096], msg[8192];
	unsigned ticks;
	int64_t ms;
	pid_t pid, child;
	int status;

	(void)state;
	/* its sleep, orphaned by the kill, comes to us */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	write_script(script, "sleepy.sh",
		     "echo $$ > $D/pid\n"
		     "sleep 60 &\n"
		     "echo $! > $D/child\n"
		     "wait");
	open_hooks(script, "", 200);
	hooks_run(hooks, HOOK_ROLE_CHANGE, "primary", "takeover", "", "");
	assert_true(run_loop(NULL, &ticks, &ms));
	pid = read_pid("pid");
	child = read_pid("child");
	status = child > 0 ? reap_orphan(child) : -1;
	assert_true(pid > 0);
	assert_true(ms >= 200 && ms < 5000);
	assert_true(ticks >= 5);	/* every 20 ms, while it ran */
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	assert_true(status >= 0 && WIFSIGNALED(status) &&
		    WTERMSIG(status) == SIGKILL);
	snprintf(msg, sizeof(msg), "hook role_change (%s, event takeover) "
		 "killed after 200 ms", script);
	expect_logged(msg);
	expect_stats(1, 0, 0, 1, 0);
}

/* hooks_close() with a hook running kills and reaps it, and says which
 * queued events will not run. */
static void test_close_running(void **state)
{
	char script[4096], pidfile[4096], msg[8192];
	int64_t start;
	pid_t pid;

	(void)state;
	write_script(script, "long.sh", "echo $$ > $D/pid\nexec sleep 60");
	open_hooks(script, "", 60000);
	hooks_run(hooks, HOOK_ROLE_CHANGE, "primary", "takeover", "", "");
	hooks_run(hooks, HOOK_ROLE_CHANGE, "primary", "solo", "", "");
	assert_true(run_loop(in_dir(pidfile, sizeof(pidfile), "pid"), NULL,
			     NULL));
	pid = read_pid("pid");
	assert_true(pid > 0);
	start = colo_now_ms();
	hooks_close(hooks);
	hooks = NULL;
	assert_true(colo_now_ms() - start < 1000);
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	snprintf(msg, sizeof(msg), "hook role_change (%s, event takeover) "
		 "killed after", script);
	expect_logged(msg);
	snprintf(msg, sizeof(msg), "hook role_change (%s, event solo) not run",
		 script);
	expect_logged(msg);
}

/* --- failures ------------------------------------------------------------- */

/* exit 3: warned with program, event and status, counted; the next
 * event still runs. */
static void test_exit_status(void **state)
{
	char script[4096], msg[8192];

	(void)state;
	write_script(script, "three.sh", "[ \"$1\" = peer-lost ] && exit 3\nexit 0");
	open_hooks("", script, 10000);
	hooks_run(hooks, HOOK_PEER_EVENT, "primary", "peer-lost", "", "");
	hooks_run(hooks, HOOK_PEER_EVENT, "primary", "peer-joined", "", "");
	run_until_idle();
	snprintf(msg, sizeof(msg), "hook peer_event (%s, event peer-lost) "
		 "failed: exit status 3", script);
	expect_logged(msg);
	assert_null(strstr(log_captured(), "peer-joined"));
	expect_stats(2, 1, 1, 0, 0);
}

/* A hook that dies of a signal is a failure, with the signal. */
static void test_signalled(void **state)
{
	char script[4096], msg[8192];

	(void)state;
	write_script(script, "term.sh", "kill -TERM $$");
	open_hooks("", script, 10000);
	hooks_run(hooks, HOOK_PEER_EVENT, "primary", "peer-refused", "", "");
	run_until_idle();
	snprintf(msg, sizeof(msg), "hook peer_event (%s, event peer-refused) "
		 "failed: killed by signal %d", script, SIGTERM);
	expect_logged(msg);
	expect_stats(1, 0, 1, 0, 0);
}

/* A program that is not executable or does not exist: warned at open
 * and when run, counted failed. */
static void test_cannot_start(void **state)
{
	char noexec[4096], missing[4096], msg[8192];

	(void)state;
	write_file(noexec, "noexec.sh", 0644, "#!/bin/sh\nexit 0\n");
	in_dir(missing, sizeof(missing), "missing.sh");
	open_hooks(noexec, missing, 10000);
	snprintf(msg, sizeof(msg), "[hooks] peer_event = %s: %s", missing,
		 strerror(ENOENT));
	expect_logged(msg);
	hooks_run(hooks, HOOK_ROLE_CHANGE, "primary", "takeover", "", "");
	hooks_run(hooks, HOOK_PEER_EVENT, "primary", "peer-lost", "", "");
	run_until_idle();
	snprintf(msg, sizeof(msg), "hook role_change (%s, event takeover) "
		 "failed: cannot start it: %s", noexec, strerror(EACCES));
	expect_logged(msg);
	snprintf(msg, sizeof(msg), "hook peer_event (%s, event peer-lost) "
		 "failed: cannot start it: %s", missing, strerror(ENOENT));
	expect_logged(msg);
	expect_stats(2, 0, 2, 0, 0);
}

/* --- no hook, no pidfd, status, open -------------------------------------- */

/* No program set: hooks_run() queues, arms and starts nothing. */
static void test_none(void **state)
{
	(void)state;
	open_hooks("", "", 10000);
	hooks_run(hooks, HOOK_ROLE_CHANGE, "primary", "takeover", "", "");
	hooks_run(hooks, HOOK_PEER_EVENT, "primary", "peer-lost", "", "");
	hooks_run(NULL, HOOK_PEER_EVENT, "primary", "peer-lost", "", "");
	assert_true(hooks_idle(hooks));
	assert_true(hooks_idle(NULL));
	assert_int_equal(event_base_get_num_events(base,
						   EVENT_BASE_COUNT_ADDED), 0);
	assert_int_equal(event_base_loop(base, EVLOOP_NONBLOCK), 1);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);	/* no child */
	assert_int_equal(errno, ECHILD);
	expect_stats(0, 0, 0, 0, 0);
	assert_string_equal(log_captured(), "");
	hooks_close(NULL);
}

/* With no descriptor left for a pidfd, the hook is polled, and still
 * reaped and counted. */
static void test_no_pidfd(void **state)
{
	char script[4096], out[64];
	struct rlimit old, low;
	int fds[300], n = 0;
	bool ran;

	(void)state;
	write_script(script, "ok.sh", "echo ran > $D/out");
	open_hooks(script, "", 10000);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 256;
	assert_true(old.rlim_max >= 256);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (n < 300 && (fds[n] = dup(0)) >= 0)
		n++;
	hooks_run(hooks, HOOK_ROLE_CHANGE, "primary", "takeover", "", "");
	ran = run_loop(NULL, NULL, NULL);
	while (n > 0)
		close(fds[--n]);
	setrlimit(RLIMIT_NOFILE, &old);
	assert_true(ran);
	expect_logged("with a pidfd (Too many open files); polling it every 20 ms");
	assert_string_equal(read_back(out, sizeof(out), "out"), "ran\n");
	expect_stats(1, 1, 0, 0, 0);
}

/* The counters as status fields. */
static void test_status(void **state)
{
	struct evbuffer *buf = evbuffer_new();
	struct status_out so;
	char text[512];
	size_t n;

	(void)state;
	assert_non_null(buf);
	open_hooks("/bin/true", "/bin/false", 10000);
	hooks_run(hooks, HOOK_ROLE_CHANGE, "primary", "protected", "", "");
	hooks_run(hooks, HOOK_PEER_EVENT, "primary", "peer-joined", "", "");
	run_until_idle();
	status_begin(&so, buf, true);
	hooks_status(hooks, &so);
	status_end(&so);
	n = evbuffer_remove(buf, text, sizeof(text) - 1);
	text[n] = '\0';
	evbuffer_free(buf);
	assert_string_equal(text, "{\"hooks_started\": 2, \"hooks_ok\": 1, "
			    "\"hooks_failed\": 1, \"hooks_killed\": 0, "
			    "\"hooks_dropped\": 0, \"hooks_queued\": 0}\n");
}

/* No event base: refused, logged. */
static void test_open_without_base(void **state)
{
	struct hooks *h = (struct hooks *)&cfg;	/* hooks_open clears it */

	(void)state;
	assert_int_equal(hooks_open(&h, NULL, &cfg), -EINVAL);
	assert_null(h);
	expect_logged("without an event base");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_environment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_descriptors_and_signals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signalled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cannot_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_pidfd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_without_base, setup, teardown),
	};

	if (argc == 2 && !strcmp(argv[1], PROBE_EVENT))
		return probe(getenv("COLO_PEER"));
	return cmocka_run_group_tests_name("hooks", tests, NULL, NULL);
}
