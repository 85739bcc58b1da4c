/*
 * kv_clients.c - kv_verify and redis-benchmark in the lab (kv_clients.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kv_clients.h"
#include "kv_pair.h"
#include "net_lab.h"
#include "pair_lib.h"

/* $KV_VERIFY, else bench/kv_verify beside the build's coloctl. */
static int kv_verify_path(char *out, size_t len)
{
	const char *env = getenv("KV_VERIFY");
	const char *slash = strrchr(pair_coloctl, '/');

	if (env && *env)
		snprintf(out, len, "%s", env);
	else
		snprintf(out, len, "%.*sbench/kv_verify",
			 slash ? (int)(slash - pair_coloctl + 1) : 0, pair_coloctl);
	if (access(out, X_OK) == 0)
		return 0;
	pair_set_why("%s: %s (make $(BUILD)/bench/kv_verify builds it; or set "
		     "KV_VERIFY)", out, strerror(errno));
	return -1;
}

/*
 * argv in the lab's client namespace, as our own child (so that its exit
 * status is ours to read), its output into a log of its own in pair_dir;
 * tracked, so the teardown kills it if the test does not.
 */
static int spawn(struct kv_client *c, const char *what, char *const argv[])
{
	static unsigned n;
	char ns[128];

	snprintf(ns, sizeof(ns), "/run/netns/%s-client", lab_prefix);
	snprintf(c->log, sizeof(c->log), "%s/%s.%u.log", pair_dir, what, n++);
	c->pid = fork();
	if (c->pid < 0) {
		pair_set_why("fork: %s", strerror(errno));
		return -1;
	}
	if (c->pid == 0) {
		int nsfd = open(ns, O_RDONLY | O_CLOEXEC);
		int out = open(c->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			       0644);
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (nsfd < 0 || out < 0 || in < 0 || setns(nsfd, CLONE_NEWNET) ||
		    dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	pair_track(c->pid);
	return 0;
}

/* Wait up to ms for the child to exit: its wait status, or -1. */
static int reap(struct kv_client *c, int ms)
{
	int status;

	for (int i = 0; i <= ms / 20; i++) {
		if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
			c->pid = 0;
			return status;
		}
		pair_sleep_ms(20);
	}
	return -1;
}

int kv_verify_start(struct kv_client *c)
{
	char path[PATH_MAX], server[64];
	char *argv[] = {
		path, "--server", server, "--prefix", "t", "--stall-timeout-ms",
		"30000", "--quiet", NULL,
	};

	if (kv_verify_path(path, sizeof(path)))
		return -1;
	snprintf(server, sizeof(server), "%s:%d", LAB_GUEST_IP, KV_PORT);
	return spawn(c, "kv_verify", argv);
}

/* NAME  VALUE of the summary in text, as a long (-1: missing, or
 * "unknown": the run ended before it was counted). */
static long figure(const char *text, const char *name)
{
	char pat[96], *end;
	const char *at;
	long v;

	snprintf(pat, sizeof(pat), "\n%s  ", name);
	at = strstr(text, pat);
	if (!at)
		return -1;
	at += strlen(pat);
	v = strtol(at, &end, 10);
	return end == at ? -1 : v;
}

static double figure_f(const char *text, const char *name)
{
	char pat[96];
	const char *at;

	snprintf(pat, sizeof(pat), "\n%s  ", name);
	at = strstr(text, pat);
	return at ? strtod(at + strlen(pat), NULL) : -1;
}

int kv_verify_finish(struct kv_client *c, struct kv_verify_result *r)
{
	static char text[16384];
	long long from, to;
	const char *gap;
	int status;
	size_t n;
	FILE *f;

	kill(c->pid, SIGTERM);
	status = reap(c, 60000);
	if (status == -1) {
		kill(c->pid, SIGKILL);
		reap(c, 2000);
		pair_set_why("kv_verify did not finish within 60 s of SIGTERM");
		return -1;
	}
	if (WIFSIGNALED(status)) {
		pair_set_why("kv_verify was killed by signal %d (see %s)",
			     WTERMSIG(status), c->log);
		return -1;
	}
	f = fopen(c->log, "re");
	if (!f) {
		pair_set_why("cannot read kv_verify's output %s: %s", c->log,
			     strerror(errno));
		return -1;
	}
	text[0] = '\n';
	n = fread(text + 1, 1, sizeof(text) - 2, f);
	text[n + 1] = '\0';
	fclose(f);
	*r = (struct kv_verify_result){
		.sent = figure(text, "writes sent"),
		.acked = figure(text, "writes acknowledged"),
		.lost = figure(text, "acknowledged writes lost"),
		.wrong = figure(text, "acknowledged writes wrong"),
		.survived = strstr(text, "\nconnection survived  yes") != NULL,
		.gap_ms = figure(text, "longest reply gap"),
		.before = figure_f(text, "replies per second before gap"),
		.after = figure_f(text, "replies per second after gap"),
	};
	gap = strstr(text, "\nlongest reply gap  ");
	if (gap && sscanf(gap, "\nlongest reply gap  %*d ms (from %lld to %lld)",
			  &from, &to) == 2) {
		r->gap_from_ms = from;
		r->gap_to_ms = to;
	}
	if (r->acked < 0) {
		pair_set_why("kv_verify printed no summary: %s", text + 1);
		return -1;
	}
	return 0;
}

int kv_benchmark_start(struct kv_client *c, const char *args)
{
	char cmd[512], port[16];
	char *argv[24] = { "redis-benchmark", "-h", LAB_GUEST_IP, "-p", port,
			   "-l", "-q" };
	int argc = 7;

	snprintf(port, sizeof(port), "%d", KV_PORT);
	snprintf(cmd, sizeof(cmd), "%s", args);
	for (char *w = strtok(cmd, " "); w && argc < 23; w = strtok(NULL, " "))
		argv[argc++] = w;
	argv[argc] = NULL;
	return spawn(c, "redis-benchmark", argv);
}

void kv_client_kill(struct kv_client *c)
{
	if (c->pid <= 0)
		return;
	kill(c->pid, SIGKILL);
	reap(c, 2000);
	c->pid = 0;
}

int64_t kv_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
