/*
 * quantile.h - the one quantile of colo: the daemons' pause figures,
 * coloctl guest replicate's summary and the benchmarks' medians all use
 * it, so a p50 means the same thing everywhere.
 *
 * The q-quantile of n values is read from them sorted, between the two
 * closest ranks: at position q * (n - 1), interpolated linearly (R's and
 * NumPy's default). q = 0.5 of an even count is the mean of the two middle
 * values; q = 1 is the largest.
 */
#ifndef COLO_QUANTILE_H
#define COLO_QUANTILE_H

#include <stddef.h>

/* The q-quantile (0..1, clamped) of v[0..n): sorts v in place, O(n log n).
 * 0 when n is 0. */
double quantile(double *v, size_t n, double q);

/* The last pauses of a daemon (or of coloctl guest replicate), in ms. */
#define PAUSE_RING	1024
struct pause_stats {
	double ms[PAUSE_RING];	/* ring: pause i is ms[i % PAUSE_RING] */
	unsigned long n;		/* pauses recorded in all */
	double total_ms;		/* their sum: means over any window */
};

void pause_stats_add(struct pause_stats *ps, double ms);
/* The q-quantile of the last PAUSE_RING pauses (fewer until then), 0
 * with none. Sorts a copy: O(PAUSE_RING log PAUSE_RING) per call, 8 KiB
 * of stack. */
double pause_stats_quantile(const struct pause_stats *ps, double q);
/* The pauses in the ring (at most PAUSE_RING). */
size_t pause_stats_count(const struct pause_stats *ps);

#endif /* COLO_QUANTILE_H */
