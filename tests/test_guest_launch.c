/*
 * test_guest_launch.c - what the launcher and the guest runtime refuse
 * at start, and how they say it: an unlimited stack, a program that is
 * no colo guest, a relative path, a bad command timeout or MAC, a guest
 * run without the launcher, a CET shadow stack (faked by a seccomp
 * supervisor: this kernel has no user shadow stacks).
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "guests.h"
#include "log.h"
#include "log_capture.h"

static struct test_guest ga;

static int teardown(void **state)
{
	(void)state;
	tg_destroy(&ga);
	log_set_hook(NULL, NULL);
	log_set_quiet(0);
	return 0;
}

/* What the launcher and the runtime refuse, and how they say it. */
static void test_launch_refusals(void **state)
{
	const char *args[] = { NULL };
	struct guest_params p = { .name = "X", .stdout_fd = -1, .stderr_fd = -1 };
	char *argv[] = { "true", NULL };
	struct guest g;

	(void)state;
	log_capture_start();
	log_set_quiet(1);
	/* an unlimited stack would give the legacy layout */
	assert_int_equal(tg_launch(&ga, "A", "memstress", args, RLIM_INFINITY), -EINVAL);
	assert_non_null(strstr(log_captured(), "unlimited RLIMIT_STACK"));
	/* a program that is not a colo guest */
	p.path = "/bin/true";
	p.argv = argv;
	assert_int_equal(guest_launch(&g, &p), -EPROTO);
	assert_non_null(strstr(log_captured(), "exited before its runtime said hello"));
	/* a relative path */
	p.path = "bin/true";
	assert_int_equal(guest_launch(&g, &p), -EINVAL);
	assert_non_null(strstr(log_captured(), "must be absolute"));
	/* a command timeout below zero */
	p.path = "/bin/true";
	p.cmd_timeout_ms = -1;
	assert_int_equal(guest_launch(&g, &p), -EINVAL);
	assert_non_null(strstr(log_captured(), "command timeout of -1 ms"));
	p.cmd_timeout_ms = 0;
	/* a bad MAC is refused by the runtime itself, with its reason */
	{
		char path[4096];
		char *mav[] = { "memstress", NULL };

		p.path = guest_binary("memstress", path, sizeof(path));
		p.argv = mav;
		p.mac = "52:54:zz";
		assert_true(guest_launch(&g, &p) < 0);
		assert_non_null(strstr(log_captured(), "refused to start"));
		assert_non_null(strstr(log_captured(), "is not a MAC address"));
	}
	log_set_quiet(0);
}

/* Run directly, without the launcher, a guest says what is missing. */
static void test_runtime_needs_launcher(void **state)
{
	char path[4096], cmd[4200], line[512] = "";
	FILE *f;
	int status;

	(void)state;
	snprintf(cmd, sizeof(cmd), "%s 2>&1", guest_binary("memstress", path, sizeof(path)));
	f = popen(cmd, "r");
	assert_non_null(f);
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	status = pclose(f);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	assert_non_null(strstr(line, "no runtime channel"));
}

/* --- CET shadow stacks --------------------------------------------------- */

#define ARCH_SHSTK_STATUS_NR	0x5005	/* arch_prctl: shadow stack features */
#define ARCH_SHSTK_SHSTK_BIT	1ull	/* the shadow stack is on */

/* This process and its children: arch_prctl(ARCH_SHSTK_STATUS) goes to a
 * supervisor. The listener fd, or -errno. */
static int intercept_shstk_status(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_arch_prctl, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH_SHSTK_STATUS_NR, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			  SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);

	return fd < 0 ? -errno : (int)fd;
}

/* Answer n ARCH_SHSTK_STATUS calls with features[i], as a kernel with
 * user shadow stacks would. */
static void __attribute__((noreturn))
shstk_supervisor(int listener, const unsigned long long *features, int n)
{
	for (int i = 0; i < n; i++) {
		struct seccomp_notif req;
		struct seccomp_notif_resp resp;
		struct iovec local = { (void *)&features[i], sizeof(features[i]) };
		struct iovec remote;

		memset(&req, 0, sizeof(req));
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req))
			_exit(1);
		remote.iov_base = (void *)(uintptr_t)req.data.args[1];
		remote.iov_len = sizeof(features[i]);
		memset(&resp, 0, sizeof(resp));
		resp.id = req.id;
		if (process_vm_writev(req.pid, &local, 1, &remote, 1, 0) !=
		    (ssize_t)sizeof(features[i]))
			resp.error = -EFAULT;
		ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
	}
	_exit(0);
}

/* In a child of the test: 0, or what went wrong. */
static int shstk_launches(void)
{
	static const unsigned long long features[] = { ARCH_SHSTK_SHSTK_BIT, 0 };
	const char *args[] = { "--ram", "8", NULL };
	int listener = intercept_shstk_status(), ret, status = 0;
	pid_t sup;

	if (listener < 0) {
		fprintf(stderr, "seccomp user notification: %s\n", strerror(-listener));
		return 10;
	}
	sup = fork();
	if (sup == 0)
		shstk_supervisor(listener, features, 2);
	close(listener);
	log_capture_start();
	log_set_quiet(1);
	/* with a shadow stack on: refused, saying why and what to do */
	ret = tg_launch(&ga, "A", "memstress", args, 0);
	if (ret != -EINVAL)
		status = 1;
	else if (!strstr(log_captured(), "refused to start") ||
		 !strstr(log_captured(), "shadow stack") ||
		 !strstr(log_captured(), "GLIBC_TUNABLES=glibc.cpu.x86_shstk=off") ||
		 !strstr(log_captured(), "-fcf-protection=return"))
		status = 2;
	/* with it off: it starts */
	else if (tg_launch(&ga, "A", "memstress", args, 0) ||
		 guest_start(&ga.g) || tg_ask(&ga, "hash", NULL, 0))
		status = 3;
	tg_destroy(&ga);
	kill(sup, SIGKILL);
	waitpid(sup, NULL, 0);
	if (status)
		fprintf(stderr, "launch returned %d; the log said:\n%s", ret, log_captured());
	return status;
}

/* A guest started with a CET shadow stack on is refused at start, like
 * one with rseq. This kernel has no user shadow stacks: a seccomp
 * supervisor answers arch_prctl(ARCH_SHSTK_STATUS) as one that has. */
static void test_shadow_stack_refused(void **state)
{
	static const char *const why[] = {
		"ok", "it was not refused", "the refusal does not name the "
		"shadow stack and its fixes", "with the shadow stack off it "
		"did not start",
	};
	int status;
	pid_t pid;

	(void)state;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(shstk_launches());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 10)
		skip();
	if (WEXITSTATUS(status))
		fail_msg("shadow stack on: %s",
			 WEXITSTATUS(status) < 4 ? why[WEXITSTATUS(status)] : "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_launch_refusals, teardown),
		cmocka_unit_test_teardown(test_runtime_needs_launcher, teardown),
		cmocka_unit_test_teardown(test_shadow_stack_refused, teardown),
	};

	log_set_level(LOG_WARN);
	return cmocka_run_group_tests_name("guest_launch", tests, NULL, NULL);
}
