/*
 * bench_util.h - what the benchmarks share: option lists and medians.
 */
#ifndef COLO_BENCH_UTIL_H
#define COLO_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "dirty_log.h"

#define BENCH_MAX_LIST		8	/* sizes or counts on one option */
#define BENCH_MAX_ROUNDS	64

/* The clear modes every benchmark compares; the first is the baseline. */
struct bench_mode {
	const char *name;
	enum dirty_log_clear_mode clear;
	unsigned shift;
};

#define BENCH_NR_MODES		4
extern const struct bench_mode bench_modes[BENCH_NR_MODES];

/* "256M,1G,4G" into bytes. 0, or -EINVAL after saying what is wrong. */
int bench_parse_sizes(char *arg, uint64_t *bytes, size_t *n);
/* The RAM sizes every benchmark runs unless told: 256M, 1G, 4G. */
void bench_default_sizes(uint64_t *bytes, size_t *n);
/* "1000,10000" into numbers (at least 1 each). */
int bench_parse_counts(char *arg, unsigned long *v, size_t *n);
/* 1..BENCH_MAX_ROUNDS-1 measured rounds. */
int bench_parse_rounds(const char *arg, int *rounds);

/*
 * Median over n samples of the double at byte offset off in each sample
 * (samples are stride bytes apart): quantile() at 0.5, so the mean of
 * the two middle samples of an even count; 0 with none. For example
 *   bench_median(s, sizeof(*s), offsetof(struct sample, pause), n)
 */
double bench_median(const void *samples, size_t stride, size_t off, int n);

#endif /* COLO_BENCH_UTIL_H */
