/*
 * guests.c - launch and talk to shipped guests in tests and benchmarks.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guests.h"
#include "paths.h"

#define ETH_TYPE_MEMSTRESS	0x88b5
#define MAX_ARGS		32

static const unsigned char tester_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const unsigned char guest_mac[6] = COLO_GUEST_MAC_DEFAULT;

const char *guest_binary(const char *name, char *buf, size_t len)
{
	const char *dir = test_guest_dir();
	char rel[PATH_MAX];

	snprintf(rel, sizeof(rel), "%s/%s", dir, name);
	if (!realpath(rel, buf) || strlen(buf) >= len)
		snprintf(buf, len, "%s", rel);
	return buf;
}

static void on_frame(struct guest *g, const void *frame, size_t len,
		     void *opaque)
{
	struct test_guest *t = opaque;
	size_t n;

	(void)g;
	if (len < 14)
		return;
	n = len - 14 < sizeof(t->reply) - 1 ? len - 14 : sizeof(t->reply) - 1;
	memcpy(t->reply, (const char *)frame + 14, n);
	t->reply[n] = '\0';
	t->replies++;
}

int tg_launch(struct test_guest *t, const char *label, const char *name,
	      const char *const *args, uint64_t stack_limit)
{
	const struct guest_params p = { .stack_limit = stack_limit };

	return tg_launch_params(t, label, name, args, &p);
}

int tg_launch_params(struct test_guest *t, const char *label, const char *name,
		     const char *const *args, const struct guest_params *base)
{
	char path[PATH_MAX];
	char *argv[MAX_ARGS + 2];
	struct guest_params p = {
		.name = label,
		.stack_limit = base->stack_limit,
		.cmd_timeout_ms = base->cmd_timeout_ms,
		.stdout_fd = -1,
		.stderr_fd = 2,
		.on_frame = on_frame,
		.opaque = t,
	};
	size_t n = 0;

	memset(t, 0, sizeof(*t));
	p.path = guest_binary(name, path, sizeof(path));
	argv[n++] = (char *)name;
	for (size_t i = 0; args && args[i] && n <= MAX_ARGS; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	p.argv = argv;
	return guest_launch(&t->g, &p);
}

int tg_send(struct test_guest *t, const char *cmd)
{
	unsigned char frame[128];
	size_t len = strlen(cmd);

	if (len > sizeof(frame) - 14)
		return -EINVAL;
	memcpy(frame, guest_mac, 6);
	memcpy(frame + 6, tester_mac, 6);
	frame[12] = ETH_TYPE_MEMSTRESS >> 8;
	frame[13] = ETH_TYPE_MEMSTRESS & 0xff;
	memcpy(frame + 14, cmd, len);
	return guest_send_frame(&t->g, frame, 14 + len);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tg_wait(struct test_guest *t, int timeout_ms, char *out, size_t len)
{
	unsigned before = t->replies;
	long long deadline = now_ms() + timeout_ms;

	while (t->replies == before) {
		long long left = deadline - now_ms();
		int ret;

		if (left <= 0)
			return -ETIMEDOUT;
		ret = guest_poll(&t->g, (int)left);
		if (ret)
			return ret;
	}
	if (out)
		snprintf(out, len, "%s", t->reply);
	return 0;
}

int tg_ask(struct test_guest *t, const char *cmd, char *out, size_t len)
{
	int ret = tg_send(t, cmd);

	return ret ? ret : tg_wait(t, 10000, out, len);
}

void tg_destroy(struct test_guest *t)
{
	guest_destroy(&t->g, 1000);
}

unsigned long guest_sleeps(pid_t pid)
{
	char path[64], line[256];
	unsigned long n = ULONG_MAX;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return ULONG_MAX;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %lu", &n) == 1)
			break;
	fclose(f);
	return n;
}
