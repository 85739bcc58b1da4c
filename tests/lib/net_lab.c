/*
 * net_lab.c - a test's lab of network namespaces, and ways into it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net_lab.h"
#include "pair_lib.h"
#include "shell.h"

#define LAB_SCRIPT	"tests/lab/colo-lab.sh"

char lab_prefix[40];
static int lab_is_up;

int lab_up(void)
{
	char out[4096];
	int ret;

	snprintf(lab_prefix, sizeof(lab_prefix), "c%d", (int)getpid());
	shell_run(out, sizeof(out), "", "%s down %s", LAB_SCRIPT, lab_prefix);
	ret = shell_run(out, sizeof(out), "", "%s up %s", LAB_SCRIPT, lab_prefix);
	if (ret != 0) {
		pair_set_why("%s up %s exited with %d:\n%s", LAB_SCRIPT,
			     lab_prefix, ret, out);
		return -1;
	}
	lab_is_up = 1;
	return 0;
}

int lab_down(void)
{
	char out[4096];
	int ret;

	if (!lab_is_up)
		return 0;
	lab_is_up = 0;
	ret = shell_run(out, sizeof(out), "", "%s down %s && ! ip netns list | "
			"grep -q '^%s-'", LAB_SCRIPT, lab_prefix, lab_prefix);
	if (ret != 0) {
		pair_set_why("the lab %s was not removed whole (exit %d):\n%s",
			     lab_prefix, ret, out);
		return -1;
	}
	return 0;
}

const char *lab_ns(const char *role)
{
	static char buf[4][96];
	int i = strcmp(role, "client") == 0 ? 0 : strcmp(role, "pri") == 0 ? 1 :
		strcmp(role, "sec") == 0 ? 2 : 3;

	snprintf(buf[i], sizeof(buf[i]), "ip netns exec %s-%s", lab_prefix, role);
	return buf[i];
}

int lab_sh(const char *role, char *out, size_t len, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return shell_run(out, len, "", "%s sh -c '%s'", lab_ns(role), line);
}

int lab_in(const char *role, int (*fn)(void *arg), void *arg)
{
	char path[128];
	int status;
	pid_t pid;

	snprintf(path, sizeof(path), "/run/netns/%s-%s", lab_prefix, role);
	pid = fork();
	if (pid < 0) {
		pair_set_why("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
			fprintf(stderr, "cannot enter %s: %s\n", path,
				strerror(errno));
			_exit(127);
		}
		close(fd);
		_exit(fn(arg) & 0xff);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		pair_set_why("the child in %s did not exit (status %#x)", path,
			     status);
		return -1;
	}
	return WEXITSTATUS(status);
}
