/*
 * bench_local_checkpoint.c - the pause of a local checkpoint, lazy chunked
 * clear vs monolithic clear, side by side.
 *
 * Two memstress guests of N bytes: A runs, B is its replica. Each round A
 * writes D random pages (B a few of its own), then one local checkpoint
 * makes B a copy of A again. The pause is A's: from the stop request to
 * A running on. Modes are interleaved round by round on the same pair,
 * in a rotating order, so that a noisy neighbour hurts them all alike.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "clock.h"
#include "guests.h"
#include "local_checkpoint.h"
#include "log.h"

#define MAX_ROUNDS	BENCH_MAX_ROUNDS
#define MAX_LIST	BENCH_MAX_LIST
#define B_STEPS		20	/* pages B writes of its own each round */

struct sample {
	double pause, stop, mirror, sync, copy;
	double pages, chunks;
};

struct options {
	uint64_t sizes[MAX_LIST];		/* bytes */
	size_t nr_sizes;
	unsigned long dirty[MAX_LIST];
	size_t nr_dirty;
	int rounds;
	const char *csv;
};

#define MEDIAN(s, n, f) \
	bench_median((s), sizeof(*(s)), offsetof(struct sample, f), (n))

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "sizes", required_argument, NULL, 's' },
		{ "dirty", required_argument, NULL, 'd' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "csv", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->rounds = 9;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (bench_parse_sizes(optarg, o->sizes, &o->nr_sizes))
				return -EINVAL;
			break;
		case 'd':
			if (bench_parse_counts(optarg, o->dirty, &o->nr_dirty))
				return -EINVAL;
			break;
		case 'r':
			if (bench_parse_rounds(optarg, &o->rounds))
				return -EINVAL;
			break;
		case 'c':
			o->csv = optarg;
			break;
		default:
			fprintf(stderr, "usage: bench_local_checkpoint [--sizes 256M,1G,4G] "
				"[--dirty 1000,10000] [--rounds N] [--csv FILE]\n");
			return -EINVAL;
		}
	}
	if (!o->nr_sizes)
		bench_default_sizes(o->sizes, &o->nr_sizes);
	if (!o->nr_dirty) {
		o->dirty[0] = 1000;
		o->dirty[1] = 10000;
		o->nr_dirty = 2;
	}
	return 0;
}

static int set_mode(struct local_checkpoint *lc, const struct bench_mode *m)
{
	int ret = dirty_log_set_clear(lc->dla, m->clear, m->shift);

	return ret ? ret : dirty_log_set_clear(lc->dlb, m->clear, m->shift);
}

static int bench_size(const struct options *o, uint64_t mib, FILE *csv,
		      double *log_ratio_sum, int *nr_ratios)
{
	char ram[32], cmd[64];
	const char *args[] = { "--ram", ram, "--pattern", "rand", "--seed", "1", NULL };
	const struct local_checkpoint_params p = {
		.kind = DIRTY_LOG_UFFD_WP, .clear_mode = DIRTY_LOG_LAZY,
		.clear_bmap_shift = 18, .stop_timeout_ms = 5000,
	};
	struct test_guest a, b;
	struct local_checkpoint lc;
	uint64_t t0;
	int ret;

	snprintf(ram, sizeof(ram), "%llu", (unsigned long long)mib);
	fprintf(stderr, "bench: two memstress guests of %llu MiB...\n",
		(unsigned long long)mib);
	ret = tg_launch(&a, "A", "memstress", args, 0);
	if (!ret)
		ret = tg_launch(&b, "B", "memstress", args, 0);
	if (ret)
		return ret;
	ret = guest_start(&a.g);
	if (!ret)
		ret = tg_ask(&a, "hash", NULL, 0);	/* populated */
	if (!ret)
		ret = local_checkpoint_init(&lc, &a.g, &b.g, &p);
	if (ret)
		goto out_guests;
	t0 = colo_now_ns();
	ret = local_checkpoint_run(&lc);
	if (ret)
		goto out;
	fprintf(stderr, "bench: first, whole copy: %llu pages, pause %.0f ms "
		"(done in %.1f s)\n", (unsigned long long)lc.stats.pages_copied,
		(double)lc.stats.pause_ns / 1e6,
		(double)(colo_now_ns() - t0) / 1e9);

	for (size_t di = 0; di < o->nr_dirty; di++) {
		static struct sample samples[BENCH_NR_MODES][MAX_ROUNDS];
		unsigned long dirty = o->dirty[di];
		double mono_pause = 0;

		for (int r = 0; r <= o->rounds; r++) {
			for (size_t k = 0; k < BENCH_NR_MODES; k++) {
				const struct bench_mode *m = &bench_modes[(k + (size_t)r) % BENCH_NR_MODES];
				uint64_t chunks = lc.dla->stats.chunks_cleared;
				struct sample *s = &samples[m - bench_modes][r ? r - 1 : 0];

				ret = set_mode(&lc, m);
				snprintf(cmd, sizeof(cmd), "step %lu", dirty);
				if (!ret)
					ret = tg_ask(&a, cmd, NULL, 0);
				snprintf(cmd, sizeof(cmd), "step %d", B_STEPS);
				if (!ret)
					ret = tg_ask(&b, cmd, NULL, 0);
				if (!ret)
					ret = local_checkpoint_run(&lc);
				if (ret)
					goto out;
				if (r == 0)
					continue;	/* warm-up */
				s->pause = (double)lc.stats.pause_ns / 1e6;
				s->stop = (double)lc.stats.stop_ns / 1e6;
				s->mirror = (double)lc.stats.mirror_ns / 1e6;
				s->sync = (double)lc.stats.sync_ns / 1e6;
				s->copy = (double)lc.stats.copy_ns / 1e6;
				s->pages = (double)lc.stats.pages_copied;
				s->chunks = (double)(lc.dla->stats.chunks_cleared - chunks);
				if (csv)
					fprintf(csv, "%llu,%lu,%s,%u,%d,%.3f,%.3f,%.3f,%.3f,%.3f,%.0f,%.0f\n",
						(unsigned long long)mib, dirty, m->name, m->shift, r,
						s->pause, s->stop, s->mirror, s->sync, s->copy,
						s->pages, s->chunks);
			}
		}
		for (size_t mi = 0; mi < BENCH_NR_MODES; mi++) {
			struct sample *sm = samples[mi];
			double pause = MEDIAN(sm, o->rounds, pause);

			if (mi == 0)
				mono_pause = pause;
			else
				log_ratio_sum[mi] += log(pause / mono_pause);
			printf("%5llu MiB %6lu  %-10s %8.2f %8.2f %8.2f %8.2f %8.2f %7.0f %7.0f %7.2f\n",
			       (unsigned long long)mib, dirty, bench_modes[mi].name, pause,
			       MEDIAN(sm, o->rounds, stop), MEDIAN(sm, o->rounds, mirror),
			       MEDIAN(sm, o->rounds, sync), MEDIAN(sm, o->rounds, copy),
			       MEDIAN(sm, o->rounds, pages), MEDIAN(sm, o->rounds, chunks),
			       pause / mono_pause);
		}
		(*nr_ratios)++;
		fflush(stdout);
	}
out:
	local_checkpoint_destroy(&lc);
out_guests:
	tg_destroy(&a);
	tg_destroy(&b);
	if (ret)
		fprintf(stderr, "bench: %llu MiB failed: %s\n",
			(unsigned long long)mib, strerror(-ret));
	return ret;
}

int main(int argc, char **argv)
{
	double log_ratio_sum[MAX_LIST][BENCH_NR_MODES];
	int nr_ratios[MAX_LIST];
	struct options o;
	FILE *csv = NULL;
	int ret = 0;

	if (parse_options(argc, argv, &o))
		return 2;
	log_set_level(LOG_WARN);
	if (o.csv) {
		csv = fopen(o.csv, "w");
		if (!csv) {
			fprintf(stderr, "cannot write %s: %s\n", o.csv, strerror(errno));
			return 1;
		}
		fprintf(csv, "ram_mib,dirty,mode,shift,round,pause_ms,stop_ms,"
			"mirror_ms,sync_ms,copy_ms,pages_copied,chunks_cleared\n");
	}
	printf("\nlocal checkpoint (memstress A into replica B): pause of A, medians "
	       "of %d rounds per mode, modes interleaved\n", o.rounds);
	printf("pause = stop + mirror + sync + copy + resume; ratio = pause / "
	       "monolithic pause\n\n");
	printf("%9s %6s  %-10s %8s %8s %8s %8s %8s %7s %7s %7s\n", "RAM", "dirty",
	       "mode", "pause ms", "stop ms", "mirror", "sync ms", "copy ms",
	       "pages", "chunks", "ratio");
	memset(log_ratio_sum, 0, sizeof(log_ratio_sum));
	memset(nr_ratios, 0, sizeof(nr_ratios));
	for (size_t si = 0; si < o.nr_sizes && !ret; si++)
		ret = bench_size(&o, o.sizes[si] >> 20, csv, log_ratio_sum[si],
				 &nr_ratios[si]);
	printf("\nratio lazy / monolithic of the pause (geometric mean over dirty "
	       "counts):\n%9s", "RAM");
	for (size_t mi = 1; mi < BENCH_NR_MODES; mi++)
		printf(" %10s", bench_modes[mi].name);
	printf("\n");
	for (size_t si = 0; si < o.nr_sizes; si++) {
		if (!nr_ratios[si])
			continue;
		printf("%5llu MiB", (unsigned long long)(o.sizes[si] >> 20));
		for (size_t mi = 1; mi < BENCH_NR_MODES; mi++)
			printf(" %10.2f", exp(log_ratio_sum[si][mi] / nr_ratios[si]));
		printf("\n");
	}
	if (csv)
		fclose(csv);
	return ret ? 1 : 0;
}
