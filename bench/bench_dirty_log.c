/*
 * bench_dirty_log.c - lazy chunked clear vs monolithic clear, side by side.
 *
 * A tracked process (tests/tracked_child) holds N bytes of populated
 * memory. Each round it writes D pages (random or sequential), then we
 * sync the dirty log and send every dirty page into a sink that only
 * counts. Modes are interleaved round by round on the same process, in a
 * rotating order, so that a noisy neighbour hurts them all alike:
 *
 *   monolithic    get-and-clear of every block at every sync (the baseline)
 *   lazy sN       read-only sync; a chunk of 2^N pages is cleared the first
 *                 time one of its pages is about to be read
 *
 * "log" time is what the dirty log costs a round: sync + clear. The ratio
 * printed is lazy log time / monolithic log time, medians of the rounds.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "child.h"
#include "clock.h"
#include "dirty_log.h"
#include "log.h"
#include "ram_save.h"

#define MAX_ROUNDS	BENCH_MAX_ROUNDS
#define MAX_LIST	BENCH_MAX_LIST

/* One measured round. */
struct sample {
	double sync_ms, clear_ms, log_ms, read_ms, round_ms;
	double pages, chunks, clear_calls;
};

#define MEDIAN(s, n, field) \
	bench_median((s), sizeof(*(s)), offsetof(struct sample, field), (n))

struct counting_sink {
	struct page_sink sink;
	uint64_t pages;
};

static int count_pages(struct page_sink *sink, const struct ram_block *rb,
		       uint64_t addr, const void *data, size_t len)
{
	struct counting_sink *cs = (struct counting_sink *)sink;

	(void)addr;
	(void)data;
	cs->pages += len / rb->page_size;
	return 0;
}

static const struct page_sink_ops counting_ops = { .save_pages = count_pages };

struct options {
	uint64_t sizes[MAX_LIST];
	size_t nr_sizes;
	unsigned long dirty[MAX_LIST];
	size_t nr_dirty;
	const char *patterns[2];
	size_t nr_patterns;
	int rounds;
	const char *csv;
};

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static int one_round(struct dirty_log *dl, struct ram_save *rs,
		     struct counting_sink *cs, struct sample *s)
{
	struct dirty_log_stats before = dl->stats;
	uint64_t read_before = rs->stats.read_ns, pages_before = cs->pages;
	uint64_t t0 = colo_now_ns();
	int ret;

	ret = dirty_log_sync(dl);
	if (!ret)
		ret = ram_save_pass(rs, &cs->sink);
	if (ret)
		return ret;
	s->round_ms = ms(colo_now_ns() - t0);
	s->sync_ms = ms(dl->stats.sync_ns - before.sync_ns);
	s->clear_ms = ms(dl->stats.clear_ns - before.clear_ns);
	s->read_ms = ms(rs->stats.read_ns - read_before);
	s->log_ms = s->sync_ms + s->clear_ms;
	s->pages = (double)(cs->pages - pages_before);
	s->chunks = (double)(dl->stats.chunks_cleared - before.chunks_cleared);
	s->clear_calls = (double)(dl->stats.clear_calls - before.clear_calls);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_dirty_log [--sizes 256M,1G,4G] [--dirty 1000,10000]\n"
		"                       [--patterns rand,seq] [--rounds N] [--csv FILE]\n");
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "sizes", required_argument, NULL, 's' },
		{ "dirty", required_argument, NULL, 'd' },
		{ "patterns", required_argument, NULL, 'p' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "csv", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	char *tok, *save;
	int c;

	memset(o, 0, sizeof(*o));
	o->rounds = 15;
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
		case 'p':
			for (tok = strtok_r(optarg, ",", &save); tok && o->nr_patterns < 2;
			     tok = strtok_r(NULL, ",", &save)) {
				if (strcmp(tok, "rand") && strcmp(tok, "seq")) {
					fprintf(stderr, "bad pattern '%s' (rand or seq)\n", tok);
					return -EINVAL;
				}
				o->patterns[o->nr_patterns++] = strcmp(tok, "rand") ? "seq" : "rand";
			}
			break;
		case 'r':
			if (bench_parse_rounds(optarg, &o->rounds))
				return -EINVAL;
			break;
		case 'c':
			o->csv = optarg;
			break;
		default:
			usage();
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
	if (!o->nr_patterns) {
		o->patterns[0] = "rand";
		o->patterns[1] = "seq";
		o->nr_patterns = 2;
	}
	return 0;
}

/* Log-cost ratios lazy / monolithic, kept per size for the summary. */
struct ratio_acc {
	double log_sum[BENCH_NR_MODES];	/* sum of log(ratio) */
	int n;
};

static int bench_size(const struct options *o, uint64_t size, FILE *csv,
		      FILE *summary, struct ratio_acc *acc)
{
	struct dirty_log_params p = {
		.kind = DIRTY_LOG_UFFD_WP,
		.clear_mode = DIRTY_LOG_LAZY,
		.clear_bmap_shift = 18,
	};
	struct counting_sink cs = { { &counting_ops }, 0 };
	struct dirty_log *dl = NULL;
	struct ram_save rs;
	struct child c;
	uint64_t t0;
	int ret;

	ret = child_spawn(&c);
	if (ret)
		return ret;
	fprintf(stderr, "bench: populating %llu MiB in the tracked process...\n",
		(unsigned long long)(size >> 20));
	t0 = colo_now_ns();
	if (child_cmd(&c, "region %llu", (unsigned long long)size)) {
		fprintf(stderr, "bench: the tracked process could not map %llu MiB: %s\n",
			(unsigned long long)(size >> 20), c.reply);
		ret = -ENOMEM;
		goto out;
	}
	fprintf(stderr, "bench: populated in %.1f s; first whole copy...\n",
		ms(colo_now_ns() - t0) / 1000);
	p.guest_uffd = c.uffd;
	ret = dirty_log_open(&dl, c.pid, &p);
	if (ret)
		goto out;
	ret = ram_save_init(&rs, dl);
	if (ret)
		goto out;
	t0 = colo_now_ns();
	ret = dirty_log_sync(dl);
	if (!ret)
		ret = ram_save_pass(&rs, &cs.sink);
	if (ret)
		goto out_rs;
	fprintf(stderr, "bench: first copy of %llu pages in %.1f s\n",
		(unsigned long long)cs.pages, ms(colo_now_ns() - t0) / 1000);

	for (size_t pi = 0; pi < o->nr_patterns; pi++) {
		for (size_t di = 0; di < o->nr_dirty; di++) {
			static struct sample samples[BENCH_NR_MODES][MAX_ROUNDS];
			const char *pat = o->patterns[pi];
			unsigned long dirty = o->dirty[di];
			double mono_log = 0;

			/* round 0 warms up and is not counted */
			for (int r = 0; r <= o->rounds; r++) {
				for (size_t k = 0; k < BENCH_NR_MODES; k++) {
					const struct bench_mode *m = &bench_modes[(k + (size_t)r) % BENCH_NR_MODES];
					struct sample s;

					ret = dirty_log_set_clear(dl, m->clear, m->shift);
					if (!ret && child_cmd(&c, "dirty %lu %d %s", dirty, r + 1, pat))
						ret = -EIO;
					if (!ret)
						ret = one_round(dl, &rs, &cs, &s);
					if (ret)
						goto out_rs;
					if (r == 0)
						continue;
					samples[m - bench_modes][r - 1] = s;
					if (csv)
						fprintf(csv, "%llu,%s,%lu,%s,%u,%d,%.1f,%.1f,%.1f,%.1f,%llu,%llu,%llu\n",
							(unsigned long long)(size >> 20), pat, dirty,
							m->name, m->shift, r, s.sync_ms * 1000,
							s.clear_ms * 1000, s.read_ms * 1000,
							s.round_ms * 1000, (unsigned long long)s.pages,
							(unsigned long long)s.chunks,
							(unsigned long long)s.clear_calls);
				}
			}
			if (summary)
				fprintf(summary, "\"%llu%s %s %luk\"",
					(unsigned long long)(size >= (1ull << 30) ?
							     size >> 30 : size >> 20),
					size >= (1ull << 30) ? "G" : "M", pat,
					dirty / 1000);
			for (size_t mi = 0; mi < BENCH_NR_MODES; mi++) {
				struct sample *sm = samples[mi];
				double sync = MEDIAN(sm, o->rounds, sync_ms);
				double clear = MEDIAN(sm, o->rounds, clear_ms);
				double logc = MEDIAN(sm, o->rounds, log_ms);
				double read = MEDIAN(sm, o->rounds, read_ms);
				double round = MEDIAN(sm, o->rounds, round_ms);
				double pages = MEDIAN(sm, o->rounds, pages);
				double chunks = MEDIAN(sm, o->rounds, chunks);
				double calls = MEDIAN(sm, o->rounds, clear_calls);

				if (mi == 0)
					mono_log = logc;
				else {
					acc->log_sum[mi] += log(logc / mono_log);
				}
				printf("%5llu MiB %-4s %6lu  %-10s %8.2f %8.2f %8.2f %8.2f %8.2f %7.0f %7.0f %7.0f %7.2f\n",
				       (unsigned long long)(size >> 20), pat, dirty, bench_modes[mi].name,
				       sync, clear, logc, read, round, pages, chunks, calls,
				       logc / mono_log);
				if (summary)
					fprintf(summary, ",%.3f,%.3f", logc, logc / mono_log);
			}
			acc->n++;
			if (summary)
				fprintf(summary, "\n");
			fflush(stdout);
		}
	}
out_rs:
	ram_save_destroy(&rs);
out:
	dirty_log_close(dl);
	child_kill(&c);
	if (ret)
		fprintf(stderr, "bench: size %llu MiB failed: %s\n",
			(unsigned long long)(size >> 20), strerror(-ret));
	return ret;
}

int main(int argc, char **argv)
{
	struct ratio_acc acc[MAX_LIST];
	char summary_path[4096];
	FILE *csv = NULL, *summary = NULL;
	struct options o;
	int ret = 0;

	if (parse_options(argc, argv, &o))
		return 2;
	log_set_level(LOG_WARN);
	if (o.csv) {
		csv = fopen(o.csv, "w");
		snprintf(summary_path, sizeof(summary_path), "%.*s_summary.csv",
			 (int)(strlen(o.csv) > 4 ? strlen(o.csv) - 4 : strlen(o.csv)), o.csv);
		summary = fopen(summary_path, "w");
		if (!csv || !summary) {
			fprintf(stderr, "cannot write %s: %s\n", o.csv, strerror(errno));
			return 1;
		}
		fprintf(csv, "ram_mib,pattern,dirty,mode,shift,round,sync_us,clear_us,"
			"read_us,round_us,pages_sent,chunks_cleared,clear_calls\n");
		fprintf(summary, "config");
		for (size_t mi = 0; mi < BENCH_NR_MODES; mi++)
			fprintf(summary, ",\"%s log ms\",\"%s ratio\"", bench_modes[mi].name,
				bench_modes[mi].name);
		fprintf(summary, "\n");
	}
	printf("dirty log: lazy chunked vs monolithic clear; medians of %d rounds per mode, "
	       "modes interleaved\n", o.rounds);
	printf("log = sync + clear (what the dirty log costs a round); ratio = "
	       "log / monolithic log\n\n");
	printf("%9s %-4s %6s  %-10s %8s %8s %8s %8s %8s %7s %7s %7s %7s\n", "RAM",
	       "pat", "dirty", "mode", "sync ms", "clear ms", "log ms", "read ms",
	       "round ms", "pages", "chunks", "calls", "ratio");
	memset(acc, 0, sizeof(acc));
	for (size_t si = 0; si < o.nr_sizes && !ret; si++)
		ret = bench_size(&o, o.sizes[si], csv, summary, &acc[si]);

	printf("\nratio lazy / monolithic of the dirty-log cost (geometric mean over "
	       "patterns and dirty counts):\n");
	printf("%9s", "RAM");
	for (size_t mi = 1; mi < BENCH_NR_MODES; mi++)
		printf(" %10s", bench_modes[mi].name);
	printf("\n");
	for (size_t si = 0; si < o.nr_sizes; si++) {
		if (!acc[si].n)
			continue;
		printf("%5llu MiB", (unsigned long long)(o.sizes[si] >> 20));
		for (size_t mi = 1; mi < BENCH_NR_MODES; mi++)
			printf(" %10.2f", exp(acc[si].log_sum[mi] / acc[si].n));
		printf("\n");
	}
	if (csv)
		fclose(csv);
	if (summary)
		fclose(summary);
	return ret ? 1 : 0;
}
