/*
 * kv_clients.c - kv_verify and redis-benchmark in the lab (kv_clients.h).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kv_clients.h"
#include "kv_pair.h"
#include "net_lab.h"
#include "pair_lib.h"
#include "shell.h"

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

/* colo-lab.sh spawn: "PID LOG" on its output. */
static int spawn(struct kv_client *c, const char *what, const char *cmd)
{
	char out[512];

	if (shell_run(out, sizeof(out), "", "tests/lab/colo-lab.sh spawn %s "
		      "client %s", lab_prefix, cmd) != 0 ||
	    sscanf(out, "%d %255s", &c->pid, c->log) != 2) {
		pair_set_why("%s did not start in the lab: %s", what, out);
		return -1;
	}
	return 0;
}

int kv_verify_start(struct kv_client *c)
{
	char path[PATH_MAX], cmd[PATH_MAX + 128];

	if (kv_verify_path(path, sizeof(path)))
		return -1;
	snprintf(cmd, sizeof(cmd), "%s --server %s:%d --prefix t "
		 "--stall-timeout-ms 30000 --quiet", path, LAB_GUEST_IP, KV_PORT);
	return spawn(c, "kv_verify", cmd);
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
	size_t n;
	FILE *f;

	kill(c->pid, SIGTERM);
	for (int i = 0; i < 600 && pair_alive(c->pid); i++)
		pair_sleep_ms(100);
	if (pair_alive(c->pid)) {
		kill(c->pid, SIGKILL);
		pair_set_why("kv_verify did not finish within 60 s of SIGTERM");
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
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "redis-benchmark -h %s -p %d -l -q %s",
		 LAB_GUEST_IP, KV_PORT, args);
	return spawn(c, "redis-benchmark", cmd);
}

void kv_client_kill(struct kv_client *c)
{
	if (c->pid <= 0)
		return;
	kill(c->pid, SIGKILL);
	for (int i = 0; i < 100 && pair_alive(c->pid); i++)
		pair_sleep_ms(20);
	c->pid = 0;
}

int64_t kv_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
