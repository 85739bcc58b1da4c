/*
 * bench_pair.c - issue 12's table from one run: a live pair on loopback
 * protecting memstress, started and steered with coloctl as an operator
 * would, at 256 MiB, 1 GiB and 4 GiB of guest RAM, one size at a time.
 *
 * At each size two pairs run one after the other: one under QEMU's
 * anchor workload (memstress --wss 64 --pattern seq --rate 563 --tick 5:
 * a 64 MiB region rewritten sequentially at ~440 MiB/s), one idle
 * (--rate 0); checkpoint_delay_ms 100, compress_level 0. Before each
 * pair, plain TCP over loopback is measured: the page stream's
 * yardstick, side by side. The pair's initial sync, started once the
 * primary's guest has filled its RAM, gives the stream's throughput and
 * the stop-and-copy pause. Then the clear modes take turns on the same
 * pair, window after window in a rotating order (a noisy neighbour hurts
 * them all alike). Within a window the primary's status is read every
 * POLL_MS, so each checkpoint's pause (pause_last_us, from the PAUSE to
 * the guest resumed) and pages in the pause (pages_last) are seen one by
 * one: a mode's p50 / p99 are over all its checkpoints; per window, the
 * mean pause and the run share (1 - checkpoints x mean pause / wall
 * time) come from the checkpoints seen, pages and bytes per checkpoint
 * from the status's running sums, and the mode's figures are medians over
 * its windows. The secondary's memory (its daemon's RSS + its guest's
 * RSS) is read at the end of each window. Reading a status costs the
 * daemon ~0.1 ms: 0.5% of a core at one read per POLL_MS.
 *
 * The daemons run in the foreground as this program's children
 * (coloctl start-... --foreground), so they and their guests are known
 * by pid and killed by pid at the end of each pair, on failure and on ^C.
 * When coloctl has genkey, both configurations name a key made by it in
 * [security] psk_file; otherwise they have no [security] section.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "control.h"
#include "log.h"
#include "quantile.h"
#include "shell.h"

#define MAX_LIST	BENCH_MAX_LIST
#define TCP_BYTES	(2ull << 30)	/* per plain TCP transfer */
#define TCP_RUNS	3		/* transfers before each pair: median */
#define DELAY_MS	100		/* checkpoint_delay_ms */
#define WSS_MIB		64
/* Well under the period of checkpoints (DELAY_MS + the pause): a
 * checkpoint passes unseen only when the bench itself was not run. */
#define POLL_MS		20
#define MAX_CKPTS	16384		/* checkpoints seen per mode and pair */
#define REQUEST_MS	10000		/* a control request's answer */
#define MAX_WINDOW_S	60		/* a window with no checkpoint, at most */

/* The guest's write load. */
struct workload {
	const char *name;
	unsigned rate;		/* memstress --rate: pages per 5 ms tick */
};

enum { W_ANCHOR, W_IDLE, NR_WORKLOADS };
static const struct workload workloads[NR_WORKLOADS] = {
	[W_ANCHOR] = { "anchor", 563 },		/* ~440 MiB/s */
	[W_IDLE] = { "idle", 0 },
};

/* What takes turns on one pair. */
struct pair_mode {
	const char *name;
	const char *clear_mode;
	unsigned compress_level;
	bool anchor_only;	/* compression of 4 pages says nothing */
};

static const struct pair_mode modes[] = {
	{ "lazy", "lazy", 0, false },		/* colo's default: the table's */
	{ "monolithic", "monolithic", 0, false },	/* the baseline */
	{ "lazy+zlib1", "lazy", 1, true },
};
#define NR_MODES	(sizeof(modes) / sizeof(modes[0]))

/* One window of one mode. */
struct sample {
	double ckpts;
	double pause;		/* ms, mean over the window */
	double pause_pages;	/* sent with the guest stopped, per checkpoint */
	double pages;		/* sent in all, per checkpoint */
	double mbytes;		/* stream MB in all, per checkpoint */
	double zratio;		/* raw page bytes / stream bytes */
	double run_share;	/* 1 - paused time / wall time */
	double stream;		/* stream MB/s over the window */
};

/* A mode's figures on one pair. */
struct mode_result {
	bool ran;
	size_t n;		/* checkpoints seen */
	unsigned missed;	/* passed between two reads, unseen */
	double p50_us, p99_us;
	struct sample med;	/* medians over the windows */
};

/* One pair: a size and a workload. */
struct pair_result {
	bool ran, ok;
	double tcp_mb_s;
	double sync_ms, sync_bytes, sync_pause_ms;
	double sec_kib, sec_hwm_kib;	/* secondary daemon + guest, max */
	struct mode_result m[NR_MODES];
};

struct options {
	uint64_t sizes[MAX_LIST];
	size_t nr_sizes;
	int rounds;
	unsigned window_ms;
	const char *csv;
};

enum { PRI, SEC };
static const char *const roles[2] = { "pri", "sec" };

static const char *coloctl, *guest_dir;
static char dir[128];
static char logs[2][192];		/* DIR/MIB-WORKLOAD-role.log */
static bool with_key;			/* [security] psk_file in both */
static struct bench_proc daemons[2], guests[2];
static struct pair_result results[MAX_LIST][NR_WORKLOADS];
static struct sample samples[NR_MODES][BENCH_MAX_ROUNDS];
static double ckpt_us[NR_MODES][MAX_CKPTS];
static struct mode_result cur[NR_MODES];

#define MEDIAN(s, n, f) \
	bench_median((s), sizeof(*(s)), offsetof(struct sample, f), (n))

/* --- the pair's processes ------------------------------------------------- */

static void on_signal(int sig)
{
	(void)sig;
	for (int r = 0; r < 2; r++) {
		bench_proc_kill(&daemons[r]);	/* guests die with them too */
		bench_proc_kill(&guests[r]);
	}
	_exit(130);
}

/* Run coloctl -c DIR/role.conf with args; its output into out. */
static int ctl(char *out, size_t len, int role, const char *fmt, ...)
{
	char prelude[512];
	va_list ap;
	int ret;

	snprintf(prelude, sizeof(prelude), "%s -c %s/%s.conf ", coloctl, dir,
		 roles[role]);
	va_start(ap, fmt);
	ret = shell_runv(out, len, prelude, fmt, ap);
	va_end(ap);
	return ret;
}

/* 'status json' of role's daemon, straight over its control socket as
 * coloctl asks it (no process per read): *js malloc'ed. */
static int status_of(int role, char **js)
{
	char sock[192];

	free(*js);
	*js = NULL;
	snprintf(sock, sizeof(sock), "%s/%s.sock", dir, roles[role]);
	return control_request(sock, "status json", REQUEST_MS, js);
}

static int write_conf(int role, const char *lines, uint64_t mib,
		      const struct workload *w)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.conf", dir, roles[role]);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "[guest]\nprogram = %s/memstress\n"
		"args = --ram %llu --wss %u --pattern seq --rate %u --tick 5 "
		"--seed 1\nstop_timeout_ms = 5000\n[checkpoint]\n%s\n"
		"[ha]\nheartbeat_timeout_ms = 30000\n"
		"[control]\nsocket = %s/%s.sock\n[log]\nfile = %s\n",
		guest_dir, (unsigned long long)mib, WSS_MIB, w->rate, lines,
		dir, roles[role], logs[role]);
	if (with_key)
		fprintf(f, "[security]\npsk_file = %s/psk\n", dir);
	return fclose(f) ? -errno : 0;
}

/* coloctl start-primary|start-secondary --foreground, our child, its
 * output into its log. */
static int spawn_daemon(int role)
{
	char conf[192];
	pid_t pid;

	snprintf(conf, sizeof(conf), "%s/%s.conf", dir, roles[role]);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "bench: fork: %s\n", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		int out = open(logs[role], O_WRONLY | O_CREAT | O_APPEND, 0600);
		int in = open("/dev/null", O_RDONLY);

		if (out < 0 || in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
		    dup2(out, 2) < 0)
			_exit(127);
		execl(coloctl, "coloctl", "-c", conf, role == PRI ?
		      "start-primary" : "start-secondary", "--foreground",
		      (char *)NULL);
		_exit(127);
	}
	bench_proc_track(&daemons[role], pid);
	return 0;
}

/* 1 when role's daemon has exited (reaped), 0 while it runs. */
static int daemon_gone(int role)
{
	int status;

	if (daemons[role].pid <= 0)
		return 1;
	if (waitpid(daemons[role].pid, &status, WNOHANG) != daemons[role].pid)
		return 0;
	daemons[role].pid = 0;
	return 1;
}

/* Until role's daemon answers 'status json', or exits. */
static int wait_up(int role, char **js)
{
	char sock[192];
	struct stat st;

	snprintf(sock, sizeof(sock), "%s/%s.sock", dir, roles[role]);
	for (int i = 0; i < 2400; i++) {	/* two minutes */
		if (daemon_gone(role)) {
			fprintf(stderr, "bench: the %s daemon exited: see %s\n",
				roles[role], logs[role]);
			return -EIO;
		}
		if (!stat(sock, &st)) {
			int ret;

			log_set_quiet(1);	/* "no daemon answers" until it does */
			ret = status_of(role, js);
			log_set_quiet(0);
			if (!ret) {
				bench_proc_track(&guests[role],
				      (pid_t)bench_json_num(*js, "guest_pid"));
				return 0;
			}
		}
		bench_sleep_ms(50);
	}
	fprintf(stderr, "bench: the %s daemon did not answer in two minutes\n",
		roles[role]);
	return -ETIMEDOUT;
}

/*
 * Stop the pair as an operator would (the primary's stop stops both),
 * give each daemon 15 s to exit, then kill by pid what is left: the
 * daemons (our children, reaped) and their guests (which die with them,
 * PR_SET_PDEATHSIG, unless something went wrong).
 */
static void stop_pair(void)
{
	int status;

	for (int r = 0; r < 2; r++)
		if (!daemon_gone(r))
			ctl(NULL, 0, r, "stop");
	for (int r = 0; r < 2; r++) {
		for (int i = 0; i < 300 && !daemon_gone(r); i++)
			bench_sleep_ms(50);
		if (!daemon_gone(r)) {
			fprintf(stderr, "bench: the %s daemon did not stop in "
				"15 s: killed\n", roles[r]);
			kill(daemons[r].pid, SIGKILL);
			waitpid(daemons[r].pid, &status, 0);
		}
		daemons[r].pid = 0;
	}
	for (int r = 0; r < 2; r++) {
		for (int i = 0; i < 100 && bench_proc_alive(&guests[r]); i++)
			bench_sleep_ms(50);
		bench_proc_kill(&guests[r]);
		guests[r].pid = 0;
	}
}

/* --- one pair ------------------------------------------------------------- */

/*
 * Step 1 -- the primary, and its guest's RAM filled; Step 2 -- the
 * secondary: the initial sync then moves a full guest, which goes on
 * writing at the workload's rate; Step 3 -- wait for the first
 * checkpoint, which ends the initial sync. *js: the primary's status then.
 */
static int start_pair(uint64_t mib, const struct workload *w, char **js)
{
	char lines[160];
	int port = bench_free_port(), ret;

	for (int r = 0; r < 2; r++)
		snprintf(logs[r], sizeof(logs[r]), "%s/%llu-%s-%s.log", dir,
			 (unsigned long long)mib, w->name, roles[r]);

	snprintf(lines, sizeof(lines), "listen = 127.0.0.1:%d", port);
	if (write_conf(SEC, lines, mib, w))
		return -EIO;
	snprintf(lines, sizeof(lines), "peer = 127.0.0.1:%d\n"
		 "checkpoint_delay_ms = %d\ncompress_level = 0", port, DELAY_MS);
	if (write_conf(PRI, lines, mib, w))
		return -EIO;

	ret = spawn_daemon(PRI);
	if (!ret)
		ret = wait_up(PRI, js);
	if (ret)
		return ret;
	for (int i = 0; i < 3000 && bench_proc_kib(guests[PRI].pid, "VmRSS") <
	     mib * 1024 * 95 / 100; i++) {
		if (daemon_gone(PRI))
			return -EIO;
		bench_sleep_ms(100);
	}

	ret = spawn_daemon(SEC);
	if (!ret)
		ret = wait_up(SEC, js);
	if (ret)
		return ret;

	/* a minute and a minute per GiB; a primary that keeps failing to
	 * sync (it says why) for 20 s, longer than its backoff, is given up */
	for (int i = 0, failing = 0; i < 600 * (1 + (int)(mib >> 10)); i++) {
		const char *why;

		if (daemon_gone(PRI) || daemon_gone(SEC) || status_of(PRI, js)) {
			fprintf(stderr, "bench: a daemon stopped: see %s and "
				"%s\n", logs[PRI], logs[SEC]);
			return -EIO;
		}
		if (bench_json_num(*js, "checkpoints") >= 1)
			return 0;
		why = strstr(*js, "\"connecting_because\"");
		failing = why ? failing + 1 : 0;
		if (failing >= 200) {
			fprintf(stderr, "bench: the initial sync keeps failing: "
				"%.160s; see %s\n", why, logs[PRI]);
			return -EIO;
		}
		bench_sleep_ms(100);
	}
	fprintf(stderr, "bench: no COLO after %d minutes: see %s\n",
		1 + (int)(mib >> 10), logs[PRI]);
	return -ETIMEDOUT;
}

/* The primary's running sums. */
struct sums {
	double t, ckpts, pause, pause_pages, pages, bytes;
};

static int sums_of(const char *js, struct sums *s)
{
	s->t = bench_now_s();
	s->ckpts = bench_json_num(js, "checkpoints");
	s->pause = bench_json_num(js, "pause_total_ms");
	s->pause_pages = bench_json_num(js, "pause_pages_total");
	s->pages = bench_json_num(js, "protected_pages");
	s->bytes = bench_json_num(js, "protected_bytes");
	if (isnan(s->ckpts) || isnan(s->pause) || isnan(s->bytes)) {
		fprintf(stderr, "bench: the primary's status lacks its sums\n");
		return -EPROTO;
	}
	return 0;
}

/* The secondary's daemon + guest, KiB resident now and at their peaks. */
static void secondary_memory(struct pair_result *pr)
{
	double rss = (double)(bench_proc_kib(daemons[SEC].pid, "VmRSS") +
			      bench_proc_kib(guests[SEC].pid, "VmRSS"));
	double hwm = (double)(bench_proc_kib(daemons[SEC].pid, "VmHWM") +
			      bench_proc_kib(guests[SEC].pid, "VmHWM"));

	if (rss > pr->sec_kib)
		pr->sec_kib = rss;
	if (hwm > pr->sec_hwm_kib)
		pr->sec_hwm_kib = hwm;
}

/*
 * Step 1 -- switch to mode mi and let two checkpoints pass; Step 2 --
 * read the primary's status every POLL_MS for a window, each new
 * checkpoint's pause and pages noted when round > 0 (into ckpt_us[mi],
 * and ck); Step 3 -- the window's means from the sums at its ends.
 */
static int window(const struct options *o, size_t mi, int round, FILE *ck,
		  const char *tag, struct sample *out, struct pair_result *pr)
{
	double last, d, seen_us = 0, mean_ms;
	struct sums a, b;
	char *js = NULL;
	unsigned seen = 0;
	int ret;

	if (ctl(NULL, 0, PRI, "set clear_mode %s", modes[mi].clear_mode) ||
	    ctl(NULL, 0, PRI, "set compress_level %u", modes[mi].compress_level))
		return -EIO;
	ret = status_of(PRI, &js);
	if (!ret)
		ret = sums_of(js, &a);
	for (int i = 0; !ret && i < 1500; i++) {	/* 30 s */
		ret = status_of(PRI, &js);
		if (!ret)
			ret = sums_of(js, &b);
		if (!ret && b.ckpts >= a.ckpts + 2)
			break;
		bench_sleep_ms(POLL_MS);
	}
	if (!ret)
		ret = status_of(PRI, &js);
	if (!ret)
		ret = sums_of(js, &a);
	last = a.ckpts;
	/* window_ms, and on until a checkpoint ended in it (a slow mode's
	 * pause may be longer than the window), at most MAX_WINDOW_S */
	while (!ret && (bench_now_s() - a.t < o->window_ms / 1e3 ||
			(last == a.ckpts && bench_now_s() - a.t < MAX_WINDOW_S))) {
		double c, us;

		bench_sleep_ms(POLL_MS);
		ret = status_of(PRI, &js);
		if (ret)
			break;
		c = bench_json_num(js, "checkpoints");
		if (!(c > last))
			continue;
		us = bench_json_num(js, "pause_last_us");
		seen_us += us;
		seen++;
		if (round > 0) {	/* round 0 warms up */
			cur[mi].missed += (unsigned)(c - last - 1);
			if (cur[mi].n < MAX_CKPTS)
				ckpt_us[mi][cur[mi].n++] = us;
			if (ck)
				fprintf(ck, "%s,%s,%d,%.0f,%.0f,%.0f\n", tag,
					modes[mi].name, round, c, us,
					bench_json_num(js, "pages_last"));
		}
		last = c;
	}
	if (!ret)
		ret = sums_of(js, &b);
	free(js);
	if (ret)
		return ret;
	d = b.ckpts - a.ckpts;
	if (d < 1) {
		fprintf(stderr, "bench: no checkpoint in %d s\n", MAX_WINDOW_S);
		return -ETIMEDOUT;
	}
	/* the checkpoints seen stand for those between the two ends: their
	 * pauses with the stop in it, at us resolution (the sums of whole
	 * ms without the stop only when none was seen) */
	mean_ms = seen ? seen_us / seen / 1e3 : (b.pause - a.pause) / d;
	out->ckpts = d;
	out->pause = mean_ms;
	out->pause_pages = (b.pause_pages - a.pause_pages) / d;
	out->pages = (b.pages - a.pages) / d;
	out->mbytes = (b.bytes - a.bytes) / d / 1e6;
	out->zratio = b.bytes > a.bytes ?
		(b.pages - a.pages) * 4096.0 / (b.bytes - a.bytes) : 1;
	out->run_share = 1 - mean_ms * d / 1e3 / (b.t - a.t);
	out->stream = (b.bytes - a.bytes) / 1e6 / (b.t - a.t);
	secondary_memory(pr);
	return 0;
}

static double tcp_yardstick(void)
{
	double v[TCP_RUNS];

	for (int i = 0; i < TCP_RUNS; i++)
		v[i] = bench_tcp_loopback_mb_s(TCP_BYTES);
	return bench_median(v, sizeof(v[0]), 0, TCP_RUNS);
}

struct outputs {
	FILE *csv, *ck, *summary;
};

static void mode_line(uint64_t mib, const struct workload *w, size_t mi,
		      const struct pair_result *pr)
{
	const struct mode_result *m = &pr->m[mi];
	const struct mode_result *mono = &pr->m[1];

	printf("%5llu MiB %-6s %-11s %6zu %9.0f %9.0f %8.2f %8.0f %8.0f %7.2f "
	       "%5.2f %6.3f %7.0f %6.2f\n", (unsigned long long)mib, w->name,
	       modes[mi].name, m->n, m->p50_us, m->p99_us, m->med.pause,
	       m->med.pause_pages, m->med.pages, m->med.mbytes, m->med.zratio,
	       m->med.run_share, m->med.stream,
	       mono->ran && mono->p50_us > 0 ? m->p50_us / mono->p50_us : NAN);
}

static int run_pair(const struct options *o, size_t si, int wi,
		    const struct outputs *out)
{
	const struct workload *w = &workloads[wi];
	struct pair_result *pr = &results[si][wi];
	uint64_t mib = o->sizes[si] >> 20, avail = bench_mem_available_kib();
	size_t order[NR_MODES], nm = 0;
	char *js = NULL, tag[64];
	int ret;

	pr->ran = true;
	/* two guests, the secondary's RAM cache, its staging: ~3.3 x RAM */
	if (avail < mib * 1024 * 33 / 10) {
		fprintf(stderr, "bench: %llu MiB %s: not run, %llu MiB "
			"available, ~%llu needed\n", (unsigned long long)mib,
			w->name, (unsigned long long)(avail >> 10),
			(unsigned long long)(mib * 33 / 10));
		return 0;
	}
	for (size_t mi = 0; mi < NR_MODES; mi++)
		if (wi == W_ANCHOR || !modes[mi].anchor_only)
			order[nm++] = mi;
	memset(cur, 0, sizeof(cur));
	snprintf(tag, sizeof(tag), "%llu,%s", (unsigned long long)mib, w->name);

	fprintf(stderr, "bench: plain TCP over loopback...\n");
	pr->tcp_mb_s = tcp_yardstick();
	fprintf(stderr, "bench: %llu MiB, %s guest: a pair, its initial "
		"sync...\n", (unsigned long long)mib, w->name);
	ret = start_pair(mib, w, &js);
	if (ret)
		goto out;
	pr->sync_ms = bench_json_num(js, "initial_sync_ms");
	pr->sync_bytes = bench_json_num(js, "initial_sync_bytes");
	pr->sync_pause_ms = bench_json_num(js, "initial_sync_pause_ms");
	fprintf(stderr, "bench: initial sync %.0f MB in %.1f s (%.0f MB/s; "
		"TCP %.0f MB/s), stop-and-copy pause %.1f ms\n",
		pr->sync_bytes / 1e6, pr->sync_ms / 1e3,
		pr->sync_bytes / 1e3 / pr->sync_ms, pr->tcp_mb_s,
		pr->sync_pause_ms);

	for (int r = 0; r <= o->rounds; r++) {
		for (size_t k = 0; k < nm; k++) {
			size_t mi = order[(k + (size_t)r) % nm];
			struct sample *s = &samples[mi][r ? r - 1 : 0];

			ret = window(o, mi, r, out->ck, tag, s, pr);
			if (ret)
				goto out;
			if (r && out->csv)	/* round 0 warms up */
				fprintf(out->csv, "%llu,%s,%d,%.0f,%.3f,%.1f,%.1f,"
					"%.3f,%.3f,%s,%.4f,%.2f\n",
					(unsigned long long)mib, modes[mi].name,
					r, s->ckpts, s->pause, s->pause_pages,
					s->pages, s->mbytes, s->zratio, w->name,
					s->run_share, s->stream);
		}
	}
	for (size_t k = 0; k < nm; k++) {
		size_t mi = order[k];
		struct sample *sm = samples[mi];
		struct mode_result *m = &cur[mi];

		m->ran = true;
		m->p50_us = quantile(ckpt_us[mi], m->n, 0.5);
		m->p99_us = quantile(ckpt_us[mi], m->n, 0.99);
		m->med.ckpts = MEDIAN(sm, o->rounds, ckpts);
		m->med.pause = MEDIAN(sm, o->rounds, pause);
		m->med.pause_pages = MEDIAN(sm, o->rounds, pause_pages);
		m->med.pages = MEDIAN(sm, o->rounds, pages);
		m->med.mbytes = MEDIAN(sm, o->rounds, mbytes);
		m->med.zratio = MEDIAN(sm, o->rounds, zratio);
		m->med.run_share = MEDIAN(sm, o->rounds, run_share);
		m->med.stream = MEDIAN(sm, o->rounds, stream);
		if (m->missed)
			fprintf(stderr, "bench: %s: %u checkpoints passed unseen "
				"between two reads\n", modes[mi].name, m->missed);
	}
	memcpy(pr->m, cur, sizeof(cur));
	for (size_t k = 0; k < nm; k++) {
		const struct mode_result *m = &pr->m[order[k]];

		mode_line(mib, w, order[k], pr);
		if (out->summary)
			fprintf(out->summary, "%s,%s,%zu,%.0f,%.0f,%.3f,%.1f,%.1f,"
				"%.4f,%.1f,%.1f,%.1f,%.1f,%.3f\n", tag,
				modes[order[k]].name, m->n, m->p50_us, m->p99_us,
				m->med.pause, m->med.pause_pages, m->med.pages,
				m->med.run_share, m->med.stream,
				pr->sync_bytes / 1e3 / pr->sync_ms, pr->tcp_mb_s,
				pr->sync_pause_ms, pr->sec_kib / 1024.0 / (double)mib);
	}
	fflush(stdout);
	pr->ok = true;
out:
	free(js);
	stop_pair();
	if (ret)
		fprintf(stderr, "bench: %llu MiB %s failed (%s); logs in %s\n",
			(unsigned long long)mib, w->name, strerror(-ret), dir);
	return ret;
}

/* --- issue 12's table ----------------------------------------------------- */

/*
 * One row: figure, colo's value, the target and the ratio (value /
 * target for "<=", target / value for ">=": <= 1 is met). NAN: the
 * pair did not run or failed. op NULL: a figure without a target.
 */
static void row(FILE *csv, const char *figure, double value, int prec,
		const char *op, double target)
{
	bool ge = op && op[0] == '>';
	double ratio = !op || isnan(value) ? NAN :
		ge ? (value > 0 ? target / value : INFINITY) : value / target;
	const char *verdict = isnan(value) ? "not run" : !op ? "-" :
		ratio <= 1 ? "met" : "MISSED";
	char v[32], t[32], r[16];

	snprintf(v, sizeof(v), isnan(value) ? "-" : "%.*f", prec, value);
	snprintf(t, sizeof(t), op ? "%s %g" : "-", op, target);
	snprintf(r, sizeof(r), isnan(ratio) ? "-" : "%.2f", ratio);
	printf("%-62s %10s %10s %7s  %s\n", figure, v, t, r, verdict);
	if (csv)
		fprintf(csv, "\"%s\",%s,%s,%s,%s,%s\n", figure, v, op ? op : "",
			op ? t + strlen(op) + 1 : "", r, verdict);
}

static const struct pair_result *result(size_t si, int wi)
{
	const struct pair_result *pr = &results[si][wi];

	return pr->ok ? pr : NULL;
}

static void print_table(const struct options *o, FILE *csv)
{
	size_t lo = 0, hi = o->nr_sizes - 1;
	char f[128];

	printf("\nissue 12's table: colo against the targets (ratio = colo / "
	       "target for <= rows, target / colo\nfor >= rows: <= 1 is met); "
	       "anchor workload = memstress --wss %u --pattern seq --rate %u\n"
	       "--tick 5, checkpoint_delay_ms %d, compress_level 0, clear_mode "
	       "lazy; idle = --rate 0\n\n", WSS_MIB, workloads[W_ANCHOR].rate,
	       DELAY_MS);
	printf("%-62s %10s %10s %7s  %s\n", "figure", "colo", "target", "ratio",
	       "");
	if (csv)
		fprintf(csv, "figure,colo,op,target,ratio,verdict\n");
	for (size_t si = 0; si < o->nr_sizes; si++) {
		const struct pair_result *a = result(si, W_ANCHOR);
		unsigned long long mib = o->sizes[si] >> 20;

		snprintf(f, sizeof(f), "pause p50, anchor workload, %llu MiB guest "
			 "(us)", mib);
		row(csv, f, a ? a->m[0].p50_us : NAN, 0, "<=", 10000);
		snprintf(f, sizeof(f), "pause p99, anchor workload, %llu MiB guest "
			 "(us)", mib);
		row(csv, f, a ? a->m[0].p99_us : NAN, 0, "<=", 25000);
	}
	for (size_t si = 0; si < o->nr_sizes; si++) {
		const struct pair_result *i = result(si, W_IDLE);

		snprintf(f, sizeof(f), "pause p50, idle guest, %llu MiB (us)",
			 (unsigned long long)(o->sizes[si] >> 20));
		row(csv, f, i ? i->m[0].p50_us : NAN, 0, "<=", 500);
	}
	for (size_t si = 0; si < o->nr_sizes; si++) {
		const struct pair_result *a = result(si, W_ANCHOR);

		snprintf(f, sizeof(f), "guest run share, anchor workload, %llu MiB",
			 (unsigned long long)(o->sizes[si] >> 20));
		row(csv, f, a ? a->m[0].med.run_share : NAN, 3, ">=", 0.90);
	}
	for (size_t si = 0; si < o->nr_sizes; si++) {
		const struct pair_result *i = result(si, W_IDLE);
		double mb_s = i ? i->sync_bytes / 1e3 / i->sync_ms : NAN;

		snprintf(f, sizeof(f), "page stream / TCP, initial sync, idle, "
			 "%llu MiB (%.0f/%.0f MB/s)",
			 (unsigned long long)(o->sizes[si] >> 20), mb_s,
			 i ? i->tcp_mb_s : NAN);
		row(csv, f, i ? mb_s / i->tcp_mb_s : NAN, 3, ">=", 0.70);
	}
	for (size_t si = 0; si < o->nr_sizes; si++) {
		const struct pair_result *a = result(si, W_ANCHOR);
		unsigned long long mib = o->sizes[si] >> 20;

		snprintf(f, sizeof(f), "initial sync stop-and-copy, anchor, %llu "
			 "MiB (ms)", mib);
		/* the target is set at 1 GiB and above */
		row(csv, f, a ? a->sync_pause_ms : NAN, 1,
		    mib >= 1024 ? "<=" : NULL, 30);
	}
	if (hi > lo) {
		const struct pair_result *l = result(lo, W_IDLE);
		const struct pair_result *h = result(hi, W_IDLE);

		snprintf(f, sizeof(f), "idle pause p50, %llu MiB / %llu MiB guest",
			 (unsigned long long)(o->sizes[hi] >> 20),
			 (unsigned long long)(o->sizes[lo] >> 20));
		row(csv, f, l && h && l->m[0].p50_us > 0 ?
		    h->m[0].p50_us / l->m[0].p50_us : NAN, 2, "<=", 1.2);
	}
	for (size_t si = 0; si < o->nr_sizes; si++) {
		unsigned long long mib = o->sizes[si] >> 20;
		double kib = NAN;

		for (int wi = 0; wi < NR_WORKLOADS; wi++) {
			const struct pair_result *pr = result(si, wi);

			if (pr && (isnan(kib) || pr->sec_kib > kib))
				kib = pr->sec_kib;
		}
		snprintf(f, sizeof(f), "secondary's RSS (daemon + guest) / guest "
			 "RAM, %llu MiB", mib);
		row(csv, f, kib / 1024.0 / (double)mib, 3, "<=", 2.05);
	}
}

/* The other views: the stream per pair, memory peaks, pause against RAM. */
static void print_details(const struct options *o)
{
	printf("\ninitial sync per pair (the primary's guest full, writing at "
	       "the workload's rate) and the\nsecondary's memory (max over "
	       "the windows; peak: the sum of both VmHWM)\n");
	printf("%9s %-6s %9s %7s %9s %9s %6s %10s %6s %6s\n", "RAM", "load",
	       "sync MB", "s", "MB/s", "TCP MB/s", "ratio", "s&c ms",
	       "mem x", "peak x");
	for (size_t si = 0; si < o->nr_sizes; si++)
		for (int wi = 0; wi < NR_WORKLOADS; wi++) {
			const struct pair_result *pr = result(si, wi);
			double mib = (double)(o->sizes[si] >> 20);

			if (!pr)
				continue;
			printf("%5.0f MiB %-6s %9.0f %7.1f %9.0f %9.0f %6.3f "
			       "%10.1f %6.3f %6.3f\n", mib, workloads[wi].name,
			       pr->sync_bytes / 1e6, pr->sync_ms / 1e3,
			       pr->sync_bytes / 1e3 / pr->sync_ms, pr->tcp_mb_s,
			       pr->sync_bytes / 1e3 / pr->sync_ms / pr->tcp_mb_s,
			       pr->sync_pause_ms, pr->sec_kib / 1024 / mib,
			       pr->sec_hwm_kib / 1024 / mib);
		}
	if (o->nr_sizes < 2 || !result(0, W_ANCHOR))
		return;
	printf("\ndoes the pause grow with RAM? pause p50 / its p50 at %llu "
	       "MiB\n%9s", (unsigned long long)(o->sizes[0] >> 20), "RAM");
	for (int wi = 0; wi < NR_WORKLOADS; wi++)
		for (size_t mi = 0; mi < NR_MODES; mi++) {
			char name[40];

			if (wi != W_ANCHOR && modes[mi].anchor_only)
				continue;
			snprintf(name, sizeof(name), "%s %s", workloads[wi].name,
				 modes[mi].name);
			printf(" %17s", name);
		}
	printf("\n");
	for (size_t si = 0; si < o->nr_sizes; si++) {
		printf("%5llu MiB", (unsigned long long)(o->sizes[si] >> 20));
		for (int wi = 0; wi < NR_WORKLOADS; wi++)
			for (size_t mi = 0; mi < NR_MODES; mi++) {
				const struct pair_result *b = result(0, wi);
				const struct pair_result *pr = result(si, wi);

				if (wi != W_ANCHOR && modes[mi].anchor_only)
					continue;
				printf(" %17.2f", b && pr && b->m[mi].p50_us > 0 ?
				       pr->m[mi].p50_us / b->m[mi].p50_us : NAN);
			}
		printf("\n");
	}
}

/* --- main ----------------------------------------------------------------- */

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "sizes", required_argument, NULL, 's' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "window", required_argument, NULL, 'w' },
		{ "csv", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->rounds = 4;
	o->window_ms = 3000;
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
			if (o->window_ms < 500) {
				fprintf(stderr, "--window takes milliseconds, "
					"500 or more\n");
				return -EINVAL;
			}
			break;
		case 'c':
			o->csv = optarg;
			break;
		default:
			fprintf(stderr, "usage: bench_pair [--sizes 256M,1G,4G] "
				"[--rounds N] [--window MS] [--csv FILE]\n");
			return -EINVAL;
		}
	}
	if (!o->nr_sizes)
		bench_default_sizes(o->sizes, &o->nr_sizes);
	for (size_t i = 0; i < o->nr_sizes; i++)
		if ((o->sizes[i] >> 20) < WSS_MIB) {
			fprintf(stderr, "sizes must be at least the %u MiB "
				"working set\n", WSS_MIB);
			return -EINVAL;
		}
	return 0;
}

/* A key for [security] psk_file when this coloctl knows genkey. */
static int make_key(void)
{
	static char help[16384];
	char path[192];

	shell_run(help, sizeof(help), "", "%s --help", coloctl);
	if (!strstr(help, "genkey"))
		return 0;
	snprintf(path, sizeof(path), "%s/psk", dir);
	if (shell_run(help, sizeof(help), "", "%s genkey %s", coloctl, path)) {
		fprintf(stderr, "bench: coloctl genkey %s failed: %s", path, help);
		return -EIO;
	}
	with_key = true;
	return 0;
}

int main(int argc, char **argv)
{
	struct outputs out = { NULL, NULL, NULL };
	FILE *table = NULL;
	struct options o;
	double t0 = bench_now_s();
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
	if (mkdir(dir, 0700)) {
		perror(dir);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (make_key())
		return 1;
	if (o.csv) {
		out.csv = fopen(o.csv, "w");
		if (!out.csv) {
			fprintf(stderr, "cannot write %s: %s\n", o.csv, strerror(errno));
			return 1;
		}
		fprintf(out.csv, "ram_mib,mode,round,checkpoints,pause_ms,"
			"pause_pages,pages_per_checkpoint,mb_per_checkpoint,"
			"compression,workload,run_share,stream_mb_s\n");
		out.ck = bench_csv_sibling(o.csv, "_checkpoints",
					   "ram_mib,workload,mode,round,"
					   "checkpoint,pause_us,pause_pages");
		out.summary = bench_csv_sibling(o.csv, "_summary",
						"ram_mib,workload,mode,checkpoints,"
						"pause_p50_us,pause_p99_us,"
						"pause_mean_ms,pause_pages,"
						"pages_per_checkpoint,run_share,"
						"stream_mb_s,initial_sync_mb_s,"
						"tcp_mb_s,initial_sync_pause_ms,"
						"secondary_mem_ratio");
		table = bench_csv_sibling(o.csv, "_table", NULL);
		if (!out.ck || !out.summary || !table)
			return 1;
	}

	printf("\nlive pair on loopback%s: memstress over a %u MiB working set "
	       "at every RAM size, anchor\n(--rate %u, ~440 MiB/s) or idle; "
	       "checkpoint_delay_ms %d; per pair and mode %d windows of %u ms,\n"
	       "modes interleaved; p50/p99 over every checkpoint of the windows "
	       "(pause_last_us), the rest\nmedians over windows: mean pause, "
	       "pages in the pause / in all per checkpoint, MB per\ncheckpoint, "
	       "zlib ratio, run share, stream MB/s; last: p50 / monolithic p50\n\n",
	       with_key ? " (PSK-authenticated)" : "", WSS_MIB,
	       workloads[W_ANCHOR].rate, DELAY_MS, o.rounds, o.window_ms);
	printf("%9s %-6s %-11s %6s %9s %9s %8s %8s %8s %7s %5s %6s %7s %6s\n",
	       "RAM", "load", "mode", "ckpts", "p50 us", "p99 us", "mean ms",
	       "pg pause", "pg/ckpt", "MB/ckpt", "zlib", "run", "MB/s", "/mono");
	fflush(stdout);
	for (size_t si = 0; si < o.nr_sizes; si++)	/* one size at a time */
		for (int wi = 0; wi < NR_WORKLOADS; wi++)
			if (run_pair(&o, si, wi, &out))
				ret = 1;	/* the others still run */

	print_details(&o);
	print_table(&o, table);
	printf("\nbench_pair: %.0f s\n", bench_now_s() - t0);
	if (out.csv)
		fclose(out.csv);
	if (out.ck)
		fclose(out.ck);
	if (out.summary)
		fclose(out.summary);
	if (table)
		fclose(table);
	if (!ret) {		/* on failure the logs stay for a look */
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) < 0)
			perror("rm");
	}
	return ret ? 1 : 0;
}
