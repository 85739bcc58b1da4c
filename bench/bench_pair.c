/*
 * bench_pair.c - the live pair on loopback: checkpoint pause against
 * guest RAM at an equal dirty rate, lazy chunked vs monolithic clear, the
 * page stream against plain TCP, and compression on vs off.
 *
 * For each RAM size a primary and a secondary daemon protect memstress
 * (the same working set and write rate at every size), started and
 * steered with coloctl as an operator would. Once the pair is in COLO,
 * the modes take turns on the same pair, window after window in a
 * rotating order (a noisy neighbour hurts them all alike); every window
 * gives the mean pause and pages per checkpoint from the primary's
 * running sums, and the figures are medians over the windows. The
 * initial sync, which sends as fast as the stream goes, gives the page
 * stream's throughput; a plain TCP transfer over loopback, measured in
 * the same run, is its yardstick.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "shell.h"

#define MAX_ROUNDS	BENCH_MAX_ROUNDS
#define MAX_LIST	BENCH_MAX_LIST
#define TCP_BYTES	(2ull << 30)	/* per plain TCP transfer */
#define TCP_CHUNK	(256u << 10)

/* What takes turns on one pair. */
struct pair_mode {
	const char *name;
	const char *clear_mode;
	unsigned compress_level;
};

static const struct pair_mode modes[] = {
	{ "monolithic", "monolithic", 0 },	/* the baseline */
	{ "lazy", "lazy", 0 },
	{ "lazy+zlib1", "lazy", 1 },
};
#define NR_MODES	(sizeof(modes) / sizeof(modes[0]))

struct sample {
	double pause;		/* ms, mean over the window */
	double pause_pages;	/* sent with the guest stopped, per checkpoint */
	double pages;		/* sent in all, per checkpoint */
	double mbytes;		/* stream MB in all, per checkpoint */
	double zratio;		/* raw page bytes / stream bytes */
	double ckpts;
};

struct options {
	uint64_t sizes[MAX_LIST];
	size_t nr_sizes;
	int rounds;
	unsigned window_ms;
	unsigned rate;		/* pages per 5 ms tick */
	unsigned wss_mib;
	const char *csv;
};

static const char *coloctl, *guest_dir;
static char dir[128];
static char kill_pattern[160];		/* pkill -f: the pair's daemons */

#define MEDIAN(s, n, f) \
	bench_median((s), sizeof(*(s)), offsetof(struct sample, f), (n))

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Run coloctl with -c DIR/role.conf and args; its output into out. */
static int ctl(char *out, size_t len, const char *role, const char *fmt, ...)
{
	char prelude[512];
	va_list ap;
	int ret;

	snprintf(prelude, sizeof(prelude), "%s -c %s/%s.conf ", coloctl, dir,
		 role);
	va_start(ap, fmt);
	ret = shell_runv(out, len, prelude, fmt, ap);
	va_end(ap);
	return ret;
}

/* A number from a 'status --json' answer, or NAN. */
static double field(const char *json, const char *key)
{
	char pat[80];
	const char *at;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	at = strstr(json, pat);
	return at ? strtod(at + strlen(pat), NULL) : NAN;
}

static int status_json(const char *role, char *out, size_t len)
{
	return ctl(out, len, role, "status --json");
}

/* --- plain TCP over loopback: the yardstick ------------------------------ */

static double tcp_once(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int lfd, fd, one = 1, status;
	static char buf[TCP_CHUNK];
	uint64_t sent = 0;
	double t0, t;
	pid_t pid;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(lfd, 1) || getsockname(lfd, (struct sockaddr *)&sin, &sl))
		return -1;
	pid = fork();
	if (pid == 0) {		/* the receiver reads and drops */
		int c = accept(lfd, NULL, NULL);

		while (c >= 0 && read(c, buf, sizeof(buf)) > 0)
			;
		_exit(0);
	}
	close(lfd);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return -1;
	}
	memset(buf, 0x5a, sizeof(buf));
	t0 = now_s();
	while (sent < TCP_BYTES) {
		ssize_t n = write(fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		sent += (uint64_t)n;
	}
	close(fd);
	waitpid(pid, &status, 0);	/* until it read everything */
	t = now_s() - t0;
	return (double)sent / 1e6 / t;
}

static double tcp_mb_per_s(void)
{
	double v[3];

	for (int i = 0; i < 3; i++)
		v[i] = tcp_once();
	return bench_median(v, sizeof(v[0]), 0, 3);
}

/* --- one pair --------------------------------------------------------------- */

static int write_conf(const char *role, const char *lines,
		      const struct options *o, uint64_t mib)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.conf", dir, role);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "[guest]\nprogram = %s/memstress\n"
		"args = --ram %llu --wss %u --rate %u --tick 5 --seed 1\n"
		"stop_timeout_ms = 5000\n[checkpoint]\n%s\n"
		"[ha]\nheartbeat_timeout_ms = 30000\n"
		"[control]\nsocket = %s/%s.sock\n[log]\nfile = %s/%s.log\n",
		guest_dir, (unsigned long long)mib, o->wss_mib, o->rate, lines,
		dir, role, dir, role);
	fclose(f);
	return 0;
}

static int free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p = -1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && !bind(fd, (struct sockaddr *)&sin, sizeof(sin)) &&
	    !getsockname(fd, (struct sockaddr *)&sin, &len))
		p = ntohs(sin.sin_port);
	if (fd >= 0)
		close(fd);
	return p;
}

/* Kill what is left of the pair (its guests die with their daemons).
 * Async-signal-safe: also the ^C path. */
static void kill_pair(void)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		execlp("pkill", "pkill", "-9", "-f", kill_pattern, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
}

static void on_signal(int sig)
{
	(void)sig;
	kill_pair();
	_exit(130);
}

static void stop_pair(void)
{
	ctl(NULL, 0, "pri", "stop");
	ctl(NULL, 0, "sec", "stop");
	sleep_ms(500);
	kill_pair();
}

/* Resident KiB of pid, or 0. */
static uint64_t rss_kib(pid_t pid)
{
	char path[64], line[256];
	uint64_t kib = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %" SCNu64, &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/*
 * Start the primary first and let its guest fill its RAM, then the
 * secondary: the initial sync then runs with the guest idle, so it shows
 * what the stream can carry rather than two cores shared three ways.
 * Waits for the first checkpoint; the initial sync's figures come back.
 */
static int start_pair(const struct options *o, uint64_t mib, char *js,
		      size_t jlen)
{
	char lines[128];
	int port = free_port();
	pid_t guest;

	snprintf(lines, sizeof(lines), "listen = 127.0.0.1:%d", port);
	if (write_conf("sec", lines, o, mib))
		return -EIO;
	snprintf(lines, sizeof(lines), "peer = 127.0.0.1:%d\n"
		 "checkpoint_delay_ms = 100\ncompress_level = 0", port);
	if (write_conf("pri", lines, o, mib))
		return -EIO;
	if (ctl(js, jlen, "pri", "start-primary") ||
	    status_json("pri", js, jlen)) {
		fprintf(stderr, "bench: the primary did not start: %s", js);
		return -EIO;
	}
	guest = (pid_t)field(js, "guest_pid");
	for (int i = 0; i < 3000 && rss_kib(guest) < mib * 1024 * 95 / 100; i++)
		sleep_ms(100);
	if (ctl(js, jlen, "sec", "start-secondary")) {
		fprintf(stderr, "bench: the secondary did not start: %s", js);
		return -EIO;
	}
	for (int i = 0; i < 6000; i++) {	/* ten minutes */
		if (status_json("pri", js, jlen)) {
			fprintf(stderr, "bench: the primary stopped: see %s/pri.log\n",
				dir);
			return -EIO;
		}
		/* the first checkpoint ends the initial sync */
		if (field(js, "checkpoints") >= 1)
			return 0;
		sleep_ms(100);
	}
	fprintf(stderr, "bench: no COLO state after ten minutes: %s", js);
	return -ETIMEDOUT;
}

struct sums {
	double ckpts, pause, pause_pages, pages, bytes;
};

static int read_sums(struct sums *s)
{
	char js[4096];

	if (status_json("pri", js, sizeof(js)))
		return -EIO;
	s->ckpts = field(js, "checkpoints");
	s->pause = field(js, "pause_total_ms");
	s->pause_pages = field(js, "pause_pages_total");
	s->pages = field(js, "protected_pages");
	s->bytes = field(js, "protected_bytes");
	return isnan(s->ckpts) || isnan(s->bytes) ? -EPROTO : 0;
}

/* Switch to mode m, let two checkpoints pass, then measure one window. */
static int window(const struct options *o, const struct pair_mode *m,
		  struct sample *out)
{
	struct sums a, b;
	double d;
	int ret;

	if (ctl(NULL, 0, "pri", "set clear_mode %s", m->clear_mode) ||
	    ctl(NULL, 0, "pri", "set compress_level %u", m->compress_level))
		return -EIO;
	ret = read_sums(&a);
	for (int i = 0; !ret && i < 100; i++) {
		ret = read_sums(&b);
		if (!ret && b.ckpts >= a.ckpts + 2)
			break;
		sleep_ms(50);
	}
	if (!ret)
		ret = read_sums(&a);
	if (ret)
		return ret;
	sleep_ms(o->window_ms);
	ret = read_sums(&b);
	if (ret)
		return ret;
	d = b.ckpts - a.ckpts;
	if (d < 1) {
		fprintf(stderr, "bench: no checkpoint in a %u ms window\n",
			o->window_ms);
		return -ETIMEDOUT;
	}
	out->ckpts = d;
	out->pause = (b.pause - a.pause) / d;
	out->pause_pages = (b.pause_pages - a.pause_pages) / d;
	out->pages = (b.pages - a.pages) / d;
	out->mbytes = (b.bytes - a.bytes) / d / 1e6;
	out->zratio = b.bytes > a.bytes ?
		(b.pages - a.pages) * 4096.0 / (b.bytes - a.bytes) : 1;
	return 0;
}

struct size_result {
	uint64_t mib;
	double pause[NR_MODES];
	double stream_mb_s, initial_pause;
	bool ok;
};

static int bench_size(const struct options *o, uint64_t mib, FILE *csv,
		      struct size_result *res)
{
	static struct sample samples[NR_MODES][MAX_ROUNDS];
	char js[4096];
	double sync_ms, sync_bytes;
	int ret;

	res->mib = mib;
	fprintf(stderr, "bench: a pair protecting memstress of %llu MiB "
		"(initial sync)...\n", (unsigned long long)mib);
	ret = start_pair(o, mib, js, sizeof(js));
	if (ret)
		goto out;
	sync_ms = field(js, "initial_sync_ms");
	sync_bytes = field(js, "initial_sync_bytes");
	res->stream_mb_s = sync_ms > 0 ? sync_bytes / 1e3 / sync_ms : 0;
	res->initial_pause = field(js, "initial_sync_pause_ms");
	fprintf(stderr, "bench: initial sync %.0f MB in %.1f s (%.0f MB/s), "
		"stop-and-copy pause %.0f ms\n", sync_bytes / 1e6, sync_ms / 1e3,
		res->stream_mb_s, res->initial_pause);

	for (int r = 0; r <= o->rounds; r++) {
		for (size_t k = 0; k < NR_MODES; k++) {
			size_t mi = (k + (size_t)r) % NR_MODES;
			struct sample *s = &samples[mi][r ? r - 1 : 0];

			ret = window(o, &modes[mi], s);
			if (ret)
				goto out;
			if (r == 0)
				continue;	/* warm-up */
			if (csv)
				fprintf(csv, "%llu,%s,%d,%.0f,%.3f,%.1f,%.1f,%.3f,%.3f\n",
					(unsigned long long)mib, modes[mi].name,
					r, s->ckpts, s->pause, s->pause_pages,
					s->pages, s->mbytes, s->zratio);
		}
	}
	for (size_t mi = 0; mi < NR_MODES; mi++) {
		struct sample *sm = samples[mi];

		res->pause[mi] = MEDIAN(sm, o->rounds, pause);
		printf("%5llu MiB  %-11s %9.2f %9.0f %10.0f %9.2f %7.2f %7.2f\n",
		       (unsigned long long)mib, modes[mi].name, res->pause[mi],
		       MEDIAN(sm, o->rounds, pause_pages),
		       MEDIAN(sm, o->rounds, pages), MEDIAN(sm, o->rounds, mbytes),
		       MEDIAN(sm, o->rounds, zratio), res->pause[mi] / res->pause[0]);
	}
	fflush(stdout);
	res->ok = true;
out:
	stop_pair();
	if (ret)
		fprintf(stderr, "bench: %llu MiB failed (%s); logs in %s\n",
			(unsigned long long)mib, strerror(-ret), dir);
	return ret;
}

/* --- main -------------------------------------------------------------------- */

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "sizes", required_argument, NULL, 's' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "window", required_argument, NULL, 'w' },
		{ "rate", required_argument, NULL, 'R' },
		{ "csv", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->rounds = 5;
	o->window_ms = 2000;
	o->rate = 50;		/* 10000 pages/s, 40 MB/s */
	o->wss_mib = 64;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (bench_parse_sizes(optarg, o->sizes, &o->nr_sizes))
				return -EINVAL;
			break;
		case 'r':
			if (bench_parse_rounds(optarg, &o->rounds))
				return -EINVAL;
			break;
		case 'w':
			o->window_ms = (unsigned)atoi(optarg);
			if (o->window_ms < 200) {
				fprintf(stderr, "--window takes milliseconds, "
					"200 or more\n");
				return -EINVAL;
			}
			break;
		case 'R':
			o->rate = (unsigned)atoi(optarg);
			if (!o->rate) {
				fprintf(stderr, "--rate takes pages per 5 ms, "
					"1 or more\n");
				return -EINVAL;
			}
			break;
		case 'c':
			o->csv = optarg;
			break;
		default:
			fprintf(stderr, "usage: bench_pair [--sizes 256M,1G,4G] "
				"[--rounds N] [--window MS] [--rate PAGES] "
				"[--csv FILE]\n");
			return -EINVAL;
		}
	}
	if (!o->nr_sizes)
		bench_default_sizes(o->sizes, &o->nr_sizes);
	for (size_t i = 0; i < o->nr_sizes; i++)
		if ((o->sizes[i] >> 20) < o->wss_mib) {
			fprintf(stderr, "sizes must be at least the %u MiB "
				"working set\n", o->wss_mib);
			return -EINVAL;
		}
	return 0;
}

int main(int argc, char **argv)
{
	struct size_result res[MAX_LIST];
	struct options o;
	FILE *csv = NULL;
	double tcp;
	int ret = 0;

	if (parse_options(argc, argv, &o))
		return 2;
	coloctl = getenv("COLOCTL");
	guest_dir = getenv("COLO_GUEST_DIR");
	if (!coloctl || !guest_dir) {
		fprintf(stderr, "set COLOCTL and COLO_GUEST_DIR (make bench does)\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "/tmp/colo-bench-pair-%d", (int)getpid());
	snprintf(kill_pattern, sizeof(kill_pattern), "coloctl -c %s/", dir);
	if (mkdir(dir, 0700)) {
		perror(dir);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (o.csv) {
		csv = fopen(o.csv, "w");
		if (!csv) {
			fprintf(stderr, "cannot write %s: %s\n", o.csv, strerror(errno));
			return 1;
		}
		fprintf(csv, "ram_mib,mode,round,checkpoints,pause_ms,pause_pages,"
			"pages_per_checkpoint,mb_per_checkpoint,compression\n");
	}
	fprintf(stderr, "bench: plain TCP over loopback...\n");
	tcp = tcp_mb_per_s();
	printf("\nlive pair on loopback: memstress writing %u pages/s over a %u "
	       "MiB working set at every RAM size;\ncheckpoint_delay_ms 100; "
	       "medians of %d windows of %u ms per mode, modes interleaved\n",
	       o.rate * 200, o.wss_mib, o.rounds, o.window_ms);
	printf("pause = primary guest stopped per checkpoint (mean over a "
	       "window); pages: in the pause / in all\nper checkpoint; ratio = "
	       "pause / monolithic pause\n\n");
	printf("%9s  %-11s %9s %9s %10s %9s %7s %7s\n", "RAM", "mode",
	       "pause ms", "pg pause", "pg/ckpt", "MB/ckpt", "zlib", "ratio");
	memset(res, 0, sizeof(res));
	for (size_t si = 0; si < o.nr_sizes && !ret; si++)
		ret = bench_size(&o, o.sizes[si] >> 20, csv, &res[si]);

	printf("\npage stream vs plain TCP over loopback (%.0f MB/s, same run):\n",
	       tcp);
	printf("%9s %14s %8s %18s\n", "RAM", "initial sync", "ratio",
	       "stop-and-copy ms");
	for (size_t si = 0; si < o.nr_sizes; si++)
		if (res[si].ok)
			printf("%5llu MiB %9.0f MB/s %8.2f %18.0f\n",
			       (unsigned long long)res[si].mib, res[si].stream_mb_s,
			       res[si].stream_mb_s / tcp, res[si].initial_pause);
	if (o.nr_sizes > 1 && res[0].ok) {
		printf("\ndoes the pause grow with RAM at an equal dirty rate? "
		       "pause / pause at %llu MiB:\n%9s",
		       (unsigned long long)res[0].mib, "RAM");
		for (size_t mi = 0; mi < NR_MODES; mi++)
			printf(" %11s", modes[mi].name);
		printf("\n");
		for (size_t si = 0; si < o.nr_sizes; si++) {
			if (!res[si].ok)
				continue;
			printf("%5llu MiB", (unsigned long long)res[si].mib);
			for (size_t mi = 0; mi < NR_MODES; mi++)
				printf(" %11.2f", res[si].pause[mi] / res[0].pause[mi]);
			printf("\n");
		}
	}
	if (csv)
		fclose(csv);
	if (!ret) {		/* on failure the logs stay for a look */
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) < 0)
			perror("rm");
	}
	return ret ? 1 : 0;
}
