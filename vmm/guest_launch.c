/*
 * guest_launch.c - launch a guest with a reproducible address layout
 * (fork, a fixed environment and limits, execve) and wait for its
 * runtime's hello. guest_channel.c drives it from then on.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_PREFIX "guest: "
#include "log.h"
#include "clock.h"
#include "guest.h"

#define MAX_ENV		64

/* The environment, in a fixed order, so two launches get the same bytes. */
static int build_env(const struct guest_params *p, char *mac_var, size_t len,
		     char **envp)
{
	size_t n = 0;

	envp[n++] = "GLIBC_TUNABLES=glibc.pthread.rseq=0";
	if (p->mac) {
		snprintf(mac_var, len, "%s=%s", COLO_GUEST_MAC_ENV, p->mac);
		envp[n++] = mac_var;
	}
	for (size_t i = 0; p->env && p->env[i]; i++) {
		if (n == MAX_ENV - 1) {
			pr_err("%s: more than %d environment variables",
			       p->name, MAX_ENV - 2);
			return -E2BIG;
		}
		envp[n++] = p->env[i];
	}
	envp[n] = NULL;
	return 0;
}

/* fd moved to a number above 2 (close-on-exec), or -1. */
static int above_stdio(int fd)
{
	return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

/*
 * In the child, between fork and execve: report errno on report_fd.
 * Every descriptor we were given is first moved above 2, so setting up
 * 0, 1 and 2 cannot overwrite one we still need.
 */
static void __attribute__((noreturn))
exec_guest(const struct guest_params *p, char **envp, int chan, int report_fd,
	   uint64_t stack_limit, pid_t parent)
{
	struct rlimit rl = { .rlim_cur = stack_limit, .rlim_max = stack_limit };
	struct rlimit nofile = { .rlim_cur = GUEST_NOFILE, .rlim_max = GUEST_NOFILE };
	int out_fd = above_stdio(p->stdout_fd), err_fd = above_stdio(p->stderr_fd);
	sigset_t all;
	int null_fd, err;

	report_fd = above_stdio(report_fd);
	chan = above_stdio(chan);
	/* our parent's death kills us; if it died already, go now */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(125);
	/* its own process group: a terminal's ^C reaches the daemon only,
	 * which then shuts the guest down */
	setpgid(0, 0);
	if (report_fd < 0 || chan < 0 ||
	    personality(ADDR_NO_RANDOMIZE) < 0 || setrlimit(RLIMIT_STACK, &rl) ||
	    setrlimit(RLIMIT_NOFILE, &nofile))
		goto fail;
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0 ||
	    dup2(null_fd, 0) < 0 ||
	    dup2(out_fd >= 0 ? out_fd : null_fd, 1) < 0 ||
	    dup2(err_fd >= 0 ? err_fd : null_fd, 2) < 0 ||
	    dup2(chan, COLO_GUEST_CHANNEL_FD) < 0 ||
	    dup3(report_fd, COLO_GUEST_CHANNEL_FD + 1, O_CLOEXEC) < 0)
		goto fail;
	report_fd = COLO_GUEST_CHANNEL_FD + 1;
	if (fcntl(COLO_GUEST_CHANNEL_FD, F_SETFD, 0))	/* kept across exec */
		goto fail;
	close_range(3, COLO_GUEST_CHANNEL_FD - 1, 0);
	close_range(COLO_GUEST_CHANNEL_FD + 2, ~0u, 0);
	if (chdir("/"))
		goto fail;
	umask(022);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	execve(p->path, p->argv, envp);
fail:
	err = errno;
	if (report_fd < 0 || write(report_fd, &err, sizeof(err)) < 0)
		_exit(126);
	_exit(127);
}

/* Wait for the hello; the runtime's refusal is logged with its reason. */
static int wait_hello(struct guest *g)
{
	struct colo_guest_msg *m = (struct colo_guest_msg *)g->rx;
	struct pollfd pfd = { .fd = g->chan, .events = POLLIN };
	int64_t deadline = colo_now_ms() + GUEST_HELLO_TIMEOUT_MS;
	ssize_t n;
	int ret;

	do {
		int64_t left = deadline - colo_now_ms();

		ret = poll(&pfd, 1, left > 0 ? (int)left : 0);
	} while (ret < 0 && errno == EINTR);
	if (ret <= 0) {
		pr_err("%s (pid %d) did not say hello within %d ms: is "
		       "it a colo guest (linked with libcologuest, calling "
		       "colo_guest_main first)?", g->name, (int)g->pid,
		       GUEST_HELLO_TIMEOUT_MS);
		return -ETIMEDOUT;
	}
	n = recv(g->chan, g->rx, GUEST_RX_SIZE, MSG_DONTWAIT);
	if (n < (ssize_t)(sizeof(*m) + sizeof(g->hello)) ||
	    m->type != GUEST_MSG_HELLO) {
		pr_err("%s (pid %d) exited before its runtime said hello:"
		       " is it a colo guest (linked with libcologuest)?",
		       g->name, (int)g->pid);
		return -EPROTO;
	}
	memcpy(&g->hello, g->rx + sizeof(*m), sizeof(g->hello));
	g->hello.why[sizeof(g->hello.why) - 1] = '\0';
	if (g->hello.error) {
		pr_err("%s refused to start: %s", g->name, g->hello.why);
		return g->hello.error;
	}
	if (g->hello.version != COLO_GUEST_ABI_VERSION) {
		pr_err("%s speaks runtime ABI %u, this colo %d: rebuild "
		       "the guest against this colo", g->name,
		       g->hello.version, COLO_GUEST_ABI_VERSION);
		return -EPROTO;
	}
	pr_debug("%s: pid %d, context at %#" PRIx64, g->name,
		 g->hello.pid, g->hello.ctx_addr);
	return 0;
}

static int check_params(const struct guest_params *p, uint64_t stack_limit)
{
	if (!p->path || p->path[0] != '/') {
		pr_err("%s: the binary path '%s' must be absolute, and "
		       "the same on both hosts", p->name,
		       p->path ? p->path : "");
		return -EINVAL;
	}
	if (access(p->path, X_OK)) {
		int ret = -errno;

		pr_err("%s: cannot execute %s: %s", p->name, p->path,
		       strerror(errno));
		return ret;
	}
	if (!p->argv || !p->argv[0]) {
		pr_err("%s: argv must hold at least argv[0]", p->name);
		return -EINVAL;
	}
	if (stack_limit == (uint64_t)RLIM_INFINITY) {
		pr_err("%s: an unlimited RLIMIT_STACK switches the kernel "
		       "to the legacy address layout; give a finite stack "
		       "limit (default 8 MiB)", p->name);
		return -EINVAL;
	}
	if (p->cmd_timeout_ms < 0) {
		pr_err("%s: a command timeout of %d ms: give milliseconds, "
		       "or 0 for the default %d", p->name, p->cmd_timeout_ms,
		       GUEST_CMD_TIMEOUT_MS);
		return -EINVAL;
	}
	return 0;
}

int guest_launch(struct guest *g, const struct guest_params *p)
{
	uint64_t stack_limit = p->stack_limit ? p->stack_limit :
						GUEST_STACK_LIMIT_DEFAULT;
	char mac_var[64], *envp[MAX_ENV];
	int sv[2] = { -1, -1 }, report[2] = { -1, -1 };
	pid_t parent;
	int err = 0, ret;
	ssize_t n;

	memset(g, 0, sizeof(*g));
	g->chan = -1;
	snprintf(g->name, sizeof(g->name), "%s", p->name ? p->name : "guest");
	g->on_frame = p->on_frame;
	g->opaque = p->opaque;
	g->cmd_timeout_ms = p->cmd_timeout_ms > 0 ? p->cmd_timeout_ms :
						    GUEST_CMD_TIMEOUT_MS;
	ret = check_params(p, stack_limit);
	if (!ret)
		ret = build_env(p, mac_var, sizeof(mac_var), envp);
	if (ret)
		return ret;
	g->rx = malloc(GUEST_RX_SIZE);
	if (!g->rx) {
		pr_err("out of memory launching guest %s", g->name);
		return -ENOMEM;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) ||
	    pipe2(report, O_CLOEXEC)) {
		ret = -errno;
		pr_err("%s: cannot create its channel: %s", g->name,
		       strerror(errno));
		goto err;
	}
	parent = getpid();
	g->pid = fork();
	if (g->pid < 0) {
		ret = -errno;
		pr_err("%s: fork: %s", g->name, strerror(errno));
		goto err;
	}
	if (g->pid == 0)
		exec_guest(p, envp, sv[1], report[1], stack_limit, parent);
	close(sv[1]);
	sv[1] = -1;
	close(report[1]);
	report[1] = -1;
	g->chan = sv[0];
	sv[0] = -1;

	/* execve succeeded when the report pipe closes without a word */
	n = read(report[0], &err, sizeof(err));
	close(report[0]);
	report[0] = -1;
	if (n == (ssize_t)sizeof(err)) {
		ret = -err;
		pr_err("%s: cannot start %s: %s", g->name, p->path,
		       strerror(err));
		goto err;
	}
	ret = wait_hello(g);
	if (ret)
		goto err;
	pr_info("%s: %s started, pid %d", g->name, p->path, (int)g->pid);
	return 0;
err:
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		if (report[i] >= 0)
			close(report[i]);
	}
	guest_destroy(g, 0);
	return ret;
}

