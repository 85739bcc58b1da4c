/*
 * ctl_daemon.c - coloctl's commands for the pair: start the daemons, and
 * talk to them over their control socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "coloctl: "
#include "log.h"
#include "colo_daemon.h"
#include "control.h"
#include "ctl.h"
#include "fault.h"
#include "colo_proto.h"
#include "primary.h"
#include "primary_control.h"
#include "secondary.h"

#define REQUEST_TIMEOUT_MS	10000
#define CHECKPOINT_WAIT_MS	60000	/* for "checkpoint wait"'s answer */

/* Where a detached daemon logs when colo.conf does not say. */
static void log_path(const struct colo_config *cfg, const char *role,
		     char *out, size_t len)
{
	if (cfg->log.file[0])
		snprintf(out, len, "%s", cfg->log.file);
	else
		snprintf(out, len, "%s.%s.log", cfg->control.socket, role);
}

/*
 * Detach and run the daemon; the parent returns once it says it is up
 * (or why it is not), so "coloctl start-..." means "it runs now".
 */
static int start(const struct colo_config *cfg, const char *role,
		 int (*run)(const struct colo_config *, int), bool foreground)
{
	char log[4200], why[512];
	int pipefd[2], fd;
	ssize_t n;
	pid_t pid;

	if (!cfg->path[0]) {
		pr_err("start-%s needs a configuration: coloctl -c colo.conf "
		       "start-%s", role, role);
		return 2;
	}
	if (foreground) {
		daemon_tune_malloc();
		return run(cfg, -1) ? 1 : 0;
	}
	log_path(cfg, role, log, sizeof(log));
	if (pipe2(pipefd, O_CLOEXEC)) {
		pr_err("pipe: %s", strerror(errno));
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		pr_err("fork: %s", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		close(pipefd[0]);
		setsid();
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0)
			dup2(fd, 0);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		daemon_tune_malloc();
		return run(cfg, pipefd[1]) ? 1 : 0;
	}
	close(pipefd[1]);
	n = read(pipefd[0], why, sizeof(why) - 1);
	close(pipefd[0]);
	why[n > 0 ? n : 0] = '\0';
	if (n > 0 && strcmp(why, "ok\n") == 0) {
		printf("%s started: pid %d, control socket %s, log %s\n", role,
		       (int)pid, cfg->control.socket, log);
		return 0;
	}
	fprintf(stderr, "coloctl: %s", n > 0 ? why : "the daemon died at start\n");
	fprintf(stderr, "coloctl: see %s\n", log);
	return 1;
}

static bool has_flag(int argc, char **argv, const char *flag)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], flag) == 0)
			return true;
	return false;
}

static int check_args(int argc, char **argv, const char *const *allowed,
		      const char *usage)
{
	for (int i = 1; i < argc; i++) {
		bool ok = false;

		for (int k = 0; allowed[k]; k++)
			ok |= strcmp(argv[i], allowed[k]) == 0;
		if (!ok) {
			fprintf(stderr, "coloctl: %s: unknown argument '%s'; usage: "
				"coloctl %s %s\n", argv[0], argv[i], argv[0], usage);
			return 2;
		}
	}
	return 0;
}

int ctl_start_primary(const struct colo_config *cfg, int argc, char **argv)
{
	static const char *const allowed[] = { "--foreground", NULL };
	int ret = check_args(argc, argv, allowed, CTL_START_USAGE);

	return ret ? ret : start(cfg, "primary", primary_run,
				 has_flag(argc, argv, "--foreground"));
}

/* The secondary, and the primary it becomes if it takes over: the same
 * process, the same guest and control socket. */
static int run_secondary(const struct colo_config *cfg, int ready_fd)
{
	struct colo_takeover t = { 0 };
	int code = secondary_run(cfg, ready_fd, &t);

	return t.ready ? primary_run_takeover(cfg, &t) : code;
}

int ctl_start_secondary(const struct colo_config *cfg, int argc, char **argv)
{
	static const char *const allowed[] = { "--foreground", NULL };
	int ret = check_args(argc, argv, allowed, CTL_START_USAGE);

	return ret ? ret : start(cfg, "secondary", run_secondary,
				 has_flag(argc, argv, "--foreground"));
}

/* Send a line; print the answer; 0, 1 (the daemon said error), 2 (no
 * daemon). */
static int ask(const struct colo_config *cfg, const char *line, bool print,
	       char **answer)
{
	char *reply = NULL;
	int ret;

	if (answer)
		*answer = NULL;		/* no answer is no answer, never the last */
	ret = control_request(cfg->control.socket, line, REQUEST_TIMEOUT_MS,
			      &reply);
	if (ret && ret != -EREMOTEIO) {
		free(reply);
		return 2;
	}
	if (print && reply)
		fputs(reply, ret ? stderr : stdout);
	if (answer)
		*answer = reply;
	else
		free(reply);
	return ret ? 1 : 0;
}

int ctl_status(const struct colo_config *cfg, int argc, char **argv)
{
	static const char *const allowed[] = { "--json", NULL };
	int ret = check_args(argc, argv, allowed, "[--json]");

	return ret ? ret : ask(cfg, has_flag(argc, argv, "--json") ?
			       "status json" : "status", true, NULL);
}

void ctl_set_help(char *buf, size_t len)
{
	char keys[256];

	config_live_keys(keys, sizeof(keys));
	snprintf(buf, len, "the keys a running primary takes: %s", keys);
}

int ctl_set(const struct colo_config *cfg, int argc, char **argv)
{
	char line[256], keys[256];

	if (argc != 3) {
		config_live_keys(keys, sizeof(keys));
		fprintf(stderr, "coloctl: usage: coloctl set KEY VALUE (keys: "
			"%s; checked as in colo.conf)\n", keys);
		return 2;
	}
	snprintf(line, sizeof(line), "set %s %s", argv[1], argv[2]);
	return ask(cfg, line, true, NULL);
}

int ctl_stop(const struct colo_config *cfg, int argc, char **argv)
{
	static const char *const allowed[] = { "--keep-secondary", NULL };
	int ret = check_args(argc, argv, allowed, "[--keep-secondary]");

	if (ret)
		return ret;
	return ask(cfg, has_flag(argc, argv, "--keep-secondary") ?
		   "stop keep-secondary" : "stop", true, NULL);
}

int ctl_failover(const struct colo_config *cfg, int argc, char **argv)
{
	static const char *const allowed[] = { "--force", NULL };
	int ret = check_args(argc, argv, allowed, "[--force]");

	if (ret)
		return ret;
	return ask(cfg, has_flag(argc, argv, "--force") ? "failover --force" :
		   "failover", true, NULL);
}

int ctl_protect(const struct colo_config *cfg, int argc, char **argv)
{
	char line[128];

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "coloctl: protect: usage: coloctl protect "
			"[HOST:PORT]\n");
		return 2;
	}
	snprintf(line, sizeof(line), "protect%s%s", argc == 2 ? " " : "",
		 argc == 2 ? argv[1] : "");
	return ask(cfg, line, true, NULL);
}

int ctl_checkpoint(const struct colo_config *cfg, int argc, char **argv)
{
	static const char *const allowed[] = { "--verify", "--hold", "--no-wait",
					       NULL };
	bool verify = has_flag(argc, argv, "--verify");
	bool no_wait = has_flag(argc, argv, "--no-wait");
	struct primary_ckpt_answer a;
	char line[64], *answer = NULL, why[512];
	int ret = check_args(argc, argv, allowed, CTL_CHECKPOINT_USAGE);

	if (ret)
		return ret;
	snprintf(line, sizeof(line), "checkpoint%s%s%s", no_wait ? "" : " wait",
		 verify ? " verify" : "",
		 has_flag(argc, argv, "--hold") ? " hold" : "");
	/* the primary answers when the checkpoint is done: a held answer,
	 * no polling */
	ret = control_request(cfg->control.socket, line, no_wait ?
			      REQUEST_TIMEOUT_MS : CHECKPOINT_WAIT_MS, &answer);
	if (ret == -ETIMEDOUT) {	/* logged; the checkpoint may come */
		fprintf(stderr, "coloctl: see coloctl status\n");
		return 1;
	}
	if (ret && ret != -EREMOTEIO) {
		free(answer);
		return 2;	/* logged: no daemon, or it went away */
	}
	if (ret || !answer) {
		fputs(answer ? answer : "", stderr);
		free(answer);
		return 1;
	}
	if (no_wait) {
		answer[strcspn(answer, "\n")] = '\0';
		printf("checkpoint %s requested\n", answer);
		free(answer);
		return 0;
	}
	ret = primary_ckpt_answer_parse(answer, &a, why, sizeof(why));
	free(answer);
	if (ret) {
		pr_err("%s", why);
		return 2;
	}
	printf("checkpoint %" PRIu64 " done: pause %.1f ms", a.id, a.pause_ms);
	if (verify)
		printf(", the secondary's guest is %s",
		       a.verify == COLO_VERIFY_SAME ? "identical" : "NOT identical");
	if (a.held)
		printf("; both guests are held stopped until coloctl stop");
	printf("\n");
	return verify && a.verify != COLO_VERIFY_SAME ? 1 : 0;
}
