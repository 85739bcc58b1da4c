/*
 * bench_util.c - option lists and medians for the benchmarks (medians by
 * quantile.h, the daemons' p50), and the small helpers of the live ones.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "quantile.h"

const struct bench_mode bench_modes[BENCH_NR_MODES] = {
	{ "monolithic", DIRTY_LOG_MONOLITHIC, 18 },
	{ "lazy s6", DIRTY_LOG_LAZY, 6 },
	{ "lazy s12", DIRTY_LOG_LAZY, 12 },
	{ "lazy s18", DIRTY_LOG_LAZY, 18 },
};

int bench_parse_sizes(char *arg, uint64_t *bytes, size_t *n)
{
	char *tok, *save;

	*n = 0;
	for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		uint64_t v = strtoull(tok, &end, 10);

		if (*end == 'G' || *end == 'g')
			v <<= 30;
		else if (*end == 'M' || *end == 'm')
			v <<= 20;
		else
			v = 0;
		if (!v || (*end && end[1]) || *n == BENCH_MAX_LIST) {
			fprintf(stderr, "bad size '%s': give sizes like 256M or "
				"1G, at most %d\n", tok, BENCH_MAX_LIST);
			return -EINVAL;
		}
		bytes[(*n)++] = v;
	}
	return 0;
}

void bench_default_sizes(uint64_t *bytes, size_t *n)
{
	bytes[0] = 256ull << 20;
	bytes[1] = 1ull << 30;
	bytes[2] = 4ull << 30;
	*n = 3;
}

int bench_parse_counts(char *arg, unsigned long *v, size_t *n)
{
	char *tok, *save;

	*n = 0;
	for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		unsigned long x = strtoul(tok, &end, 10);

		if (!x || *end || *n == BENCH_MAX_LIST) {
			fprintf(stderr, "bad count '%s': give whole numbers like "
				"1000, at most %d\n", tok, BENCH_MAX_LIST);
			return -EINVAL;
		}
		v[(*n)++] = x;
	}
	return 0;
}

int bench_parse_rounds(const char *arg, int *rounds)
{
	*rounds = atoi(arg);
	if (*rounds < 1 || *rounds >= BENCH_MAX_ROUNDS) {
		fprintf(stderr, "--rounds takes 1..%d\n", BENCH_MAX_ROUNDS - 1);
		return -EINVAL;
	}
	return 0;
}

double bench_median(const void *samples, size_t stride, size_t off, int n)
{
	double v[BENCH_MAX_ROUNDS];

	for (int i = 0; i < n; i++)
		memcpy(&v[i], (const char *)samples + (size_t)i * stride + off,
		       sizeof(double));
	return quantile(v, n > 0 ? (size_t)n : 0, 0.5);
}

double bench_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

double bench_json_num(const char *json, const char *key)
{
	char pat[96];
	const char *at;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	at = json ? strstr(json, pat) : NULL;
	return at ? strtod(at + strlen(pat), NULL) : NAN;
}

uint64_t bench_proc_kib(pid_t pid, const char *name)
{
	char path[64], line[256];
	size_t len = strlen(name);
	uint64_t kib = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ':') {
			kib = strtoull(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kib;
}

uint64_t bench_mem_available_kib(void)
{
	char line[256];
	unsigned long long kib = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

/* Field 22 of /proc/PID/stat, the start time; 0 when gone. */
static unsigned long long proc_start(const char *stat_path)
{
	unsigned long long v = 0;
	int fd = open(stat_path, O_RDONLY | O_CLOEXEC), field;
	char buf[1024], *p;
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');		/* the name may hold blanks */
	if (!p)
		return 0;
	for (field = 2; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (unsigned long long)(*p++ - '0');
	return v;
}

void bench_proc_track(struct bench_proc *p, pid_t pid)
{
	p->pid = pid > 0 ? pid : 0;
	snprintf(p->stat_path, sizeof(p->stat_path), "/proc/%d/stat", (int)pid);
	p->start = p->pid ? proc_start(p->stat_path) : 0;
}

int bench_proc_alive(const struct bench_proc *p)
{
	return p->pid > 0 && p->start && proc_start(p->stat_path) == p->start;
}

void bench_proc_kill(const struct bench_proc *p)
{
	if (bench_proc_alive(p))
		kill(p->pid, SIGKILL);
}

int bench_free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && !bind(fd, (struct sockaddr *)&sin, sizeof(sin)) &&
	    !getsockname(fd, (struct sockaddr *)&sin, &len))
		port = ntohs(sin.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

FILE *bench_csv_sibling(const char *csv, const char *suffix,
			const char *header)
{
	size_t len = strlen(csv);
	char path[512];
	FILE *f;

	if (len > 4 && !strcmp(csv + len - 4, ".csv"))
		len -= 4;
	snprintf(path, sizeof(path), "%.*s%s.csv", (int)len, csv, suffix);
	f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
	else if (header)
		fprintf(f, "%s\n", header);
	return f;
}

#define TCP_CHUNK	(256u << 10)

double bench_tcp_loopback_mb_s(uint64_t bytes)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	static char buf[TCP_CHUNK];
	int lfd, fd = -1, one = 1, status;
	double ret = -1, t0;
	uint64_t sent = 0;
	pid_t pid;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(lfd, 1) || getsockname(lfd, (struct sockaddr *)&sin, &sl)) {
		fprintf(stderr, "bench: loopback listen: %s\n", strerror(errno));
		if (lfd >= 0)
			close(lfd);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "bench: fork: %s\n", strerror(errno));
		close(lfd);
		return -1;
	}
	if (pid == 0) {		/* the reader: reads and drops */
		int c = accept(lfd, NULL, NULL);

		while (c >= 0 && read(c, buf, sizeof(buf)) > 0)
			;
		_exit(0);
	}
	close(lfd);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				 sizeof(one)) ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		fprintf(stderr, "bench: loopback connect: %s\n", strerror(errno));
		goto out;
	}
	memset(buf, 0x5a, sizeof(buf));
	t0 = bench_now_s();
	while (sent < bytes) {
		ssize_t n = write(fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		sent += (uint64_t)n;
	}
	close(fd);
	fd = -1;
	waitpid(pid, &status, 0);	/* until it read everything */
	pid = 0;
	ret = (double)sent / 1e6 / (bench_now_s() - t0);
out:
	if (fd >= 0)
		close(fd);
	if (pid > 0) {
		kill(pid, SIGKILL);	/* our own child, by its pid */
		waitpid(pid, &status, 0);
	}
	return ret;
}
