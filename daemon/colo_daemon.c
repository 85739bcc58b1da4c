/*
 * colo_daemon.c - helpers of the primary and secondary daemons.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "daemon: "
#include "log.h"
#include "clock.h"
#include "colo_daemon.h"
#include "layout.h"

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

int daemon_launch_guest(const struct colo_config *cfg, const char *name,
			struct guest *g, guest_frame_fn on_frame, void *opaque)
{
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
	return guest_launch(g, &p);
}

int daemon_guest_hash(const struct guest *g, uint32_t *hash)
{
	struct layout l;
	int ret = layout_read(g->pid, &l);

	if (ret)
		return ret;
	ret = layout_files_crc(&l, hash);
	layout_free(&l);
	return ret;
}

void daemon_record_hash(const char *path, uint64_t id, uint32_t crc,
			uint64_t bytes)
{
	FILE *f;

	if (!path[0])
		return;
	f = fopen(path, "ae");
	if (!f) {
		pr_warn("cannot append to %s: %s", path, strerror(errno));
		return;
	}
	fprintf(f, "%" PRIu64 " %08" PRIx32 " %" PRIu64 "\n", id, crc, bytes);
	fclose(f);
}

int64_t daemon_now_ms(void)
{
	return colo_now_ms();
}

void pause_stats_add(struct pause_stats *ps, double ms)
{
	ps->total_ms += ms;
	ps->ms[ps->n++ % PAUSE_RING] = ms;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double pause_stats_quantile(const struct pause_stats *ps, double q)
{
	size_t n = ps->n < PAUSE_RING ? ps->n : PAUSE_RING;
	double v[PAUSE_RING];
	size_t i;

	if (!n)
		return 0;
	memcpy(v, ps->ms, n * sizeof(double));
	qsort(v, n, sizeof(double), cmp_double);
	i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
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

void status_begin(struct status_out *so, struct evbuffer *buf, bool json)
{
	so->buf = buf;
	so->json = json;
	so->first = true;
	if (json)
		evbuffer_add_printf(buf, "{");
}

void status_str(struct status_out *so, const char *key, const char *value)
{
	if (so->json) {
		evbuffer_add_printf(so->buf, "%s\"%s\": \"", so->first ? "" : ", ",
				    key);
		for (const char *c = value; *c; c++) {
			if (*c == '"' || *c == '\\')
				evbuffer_add_printf(so->buf, "\\%c", *c);
			else if ((unsigned char)*c >= 0x20)
				evbuffer_add(so->buf, c, 1);
		}
		evbuffer_add_printf(so->buf, "\"");
	} else {
		evbuffer_add_printf(so->buf, "%-22s %s\n", key, value);
	}
	so->first = false;
}

void status_num(struct status_out *so, const char *key, double value,
		int decimals)
{
	if (so->json)
		evbuffer_add_printf(so->buf, "%s\"%s\": %.*f", so->first ? "" : ", ",
				    key, decimals, value);
	else
		evbuffer_add_printf(so->buf, "%-22s %.*f\n", key, decimals, value);
	so->first = false;
}

void status_end(struct status_out *so)
{
	if (so->json)
		evbuffer_add_printf(so->buf, "}\n");
}
