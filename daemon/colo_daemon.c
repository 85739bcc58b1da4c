/*
 * colo_daemon.c - helpers of the primary and secondary daemons.
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "daemon: "
#include "log.h"
#include "clock.h"
#include "colo_daemon.h"
#include "fault.h"

#define MAX_GUEST_ARGS	64
#define GUEST_CMD_MIN_TIMEOUT_MS	100

/* A guest command waits at most a quarter of the heartbeat timeout, so
 * the peer never takes a daemon waiting on its guest for a dead one. */
static int daemon_guest_cmd_timeout_ms(const struct colo_config *cfg)
{
	unsigned ms = cfg->ha.heartbeat_timeout_ms / 4;

	if (ms < GUEST_CMD_MIN_TIMEOUT_MS)
		ms = GUEST_CMD_MIN_TIMEOUT_MS;
	return (int)(ms < GUEST_CMD_TIMEOUT_MS ? ms : GUEST_CMD_TIMEOUT_MS);
}

/* [net]'s guest interface, as the guest's network layer reads it from
 * its environment (guest/net/colo_net.h): the keys set, into env[] (NULL
 * terminated, room for 5), their text in buf. */
static void guest_net_env(const struct colo_config *cfg, char buf[4][48],
			  char **env)
{
	char segment[12] = "";
	const struct { const char *var, *value; } vars[] = {
		{ "COLO_GUEST_IP", cfg->net.guest_ip },
		{ "COLO_GUEST_NETMASK", cfg->net.guest_netmask },
		{ "COLO_GUEST_GATEWAY", cfg->net.guest_gateway },
		/* this host's own, not replicated (colo_host_param()) */
		{ "COLO_HOST_TX_SEGMENT", segment },
	};
	int n = 0;

	/* always, and always 5 digits: the environment's length places the
	 * stack, which must start at the same address in both guests */
	snprintf(segment, sizeof(segment), "%05u", cfg->net.tx_segment);
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		if (!vars[i].value[0])
			continue;
		snprintf(buf[i], sizeof(buf[i]), "%s=%s", vars[i].var,
			 vars[i].value);
		env[n++] = buf[i];
	}
	env[n] = NULL;
}

int daemon_launch_guest(const struct colo_config *cfg, const char *name,
			struct guest *g, guest_frame_fn on_frame, void *opaque)
{
	char env[4][48], *envp[5];
	char args[sizeof(cfg->guest.args)], *argv[MAX_GUEST_ARGS + 2];
	char *save, *w, *base = strrchr(cfg->guest.program, '/');
	struct guest_params p = {
		.name = name,
		.path = cfg->guest.program,
		.stack_limit = cfg->guest.stack_limit_kib << 10,
		.stdout_fd = -1,
		.stderr_fd = 2,
		.cmd_timeout_ms = daemon_guest_cmd_timeout_ms(cfg),
		.on_frame = on_frame,
		.opaque = opaque,
	};
	int argc = 0;

	if (!cfg->guest.program[0]) {
		pr_err("no guest to protect: set [guest] program in %s",
		       cfg->path[0] ? cfg->path : "colo.conf");
		return -EINVAL;
	}
	argv[argc++] = base ? base + 1 : (char *)cfg->guest.program;
	snprintf(args, sizeof(args), "%s", cfg->guest.args);
	for (w = strtok_r(args, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (argc == MAX_GUEST_ARGS + 1) {
			pr_err("[guest] args has more than %d words", MAX_GUEST_ARGS);
			return -E2BIG;
		}
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	p.argv = argv;
	guest_net_env(cfg, env, envp);
	p.env = envp;
	if (cfg->net.guest_mac[0])
		p.mac = cfg->net.guest_mac;
	return guest_launch(g, &p);
}

void daemon_record_hash(const char *path, uint64_t id, uint32_t crc,
			uint64_t bytes)
{
	static bool warned;	/* a full disk stays full: said once */
	int ret = 0;
	FILE *f;

	if (!path[0])
		return;
	if (fault_injected(FI_HASH_FILE_ENOSPC) && id >= fault_at()) {
		ret = -ENOSPC;
		goto fail;
	}
	f = fopen(path, "ae");
	if (!f) {
		ret = -errno;
		goto fail;
	}
	if (fprintf(f, "%" PRIu64 " %08" PRIx32 " %" PRIu64 "\n", id, crc,
		    bytes) < 0)
		ret = -errno;
	if (fclose(f) && !ret)		/* a full disk shows here */
		ret = -errno;
	if (!ret)
		return;
fail:
	if (warned)
		return;
	warned = true;
	pr_warn("cannot append checkpoint %" PRIu64 "'s hash to %s: %s; free "
		"space there or point [debug] record_hashes elsewhere (empty: "
		"none). The pair goes on; hashes from here on are not "
		"recorded, and this is said once", id, path, strerror(-ret));
}

/*
 * The stream's buffers (libevent's chains of a record, ~1 MiB each, on
 * both daemons) come and go hundreds of times a second. Above glibc's
 * mmap threshold each is a fresh mapping that the kernel zero-fills
 * page by page, and unmaps again when freed: clear_page and page faults
 * were 14% of both daemons' CPU under the anchor workload
 * (docs/perf-checkpoint.md). From the heap, and kept there, they are
 * reused warm; what the heap keeps is about the largest backlog queued.
 */
void daemon_tune_malloc(void)
{
	if (!mallopt(M_MMAP_THRESHOLD, DAEMON_MMAP_THRESHOLD) ||
	    !mallopt(M_TRIM_THRESHOLD, DAEMON_TRIM_THRESHOLD))
		pr_warn("cannot tune malloc for the stream's buffers; they "
			"cost page faults");
}

int64_t daemon_now_ms(void)
{
	return colo_now_ms();
}

void daemon_ready(int *ready_fd, int error, const char *why)
{
	char line[512];
	int n;

	if (*ready_fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%s\n", error ? why : "ok");
	if (write(*ready_fd, line, (size_t)n) < 0)
		pr_warn("cannot tell the starter we are %s",
			error ? "failing" : "up");
	close(*ready_fd);
	*ready_fd = -1;
}
