/*
 * quantile.c - quantiles of samples, and the ring of the last pauses.
 */
#include <stdlib.h>
#include <string.h>

#include "quantile.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double quantile(double *v, size_t n, double q)
{
	double pos;
	size_t lo;

	if (!n)
		return 0;
	if (!(q > 0))		/* NaN too */
		q = 0;
	else if (q > 1)
		q = 1;
	qsort(v, n, sizeof(*v), cmp_double);
	pos = q * (double)(n - 1);
	lo = (size_t)pos;
	if (lo >= n - 1)
		return v[n - 1];
	return v[lo] + (pos - (double)lo) * (v[lo + 1] - v[lo]);
}

void pause_stats_add(struct pause_stats *ps, double ms)
{
	ps->total_ms += ms;
	ps->ms[ps->n++ % PAUSE_RING] = ms;
}

size_t pause_stats_count(const struct pause_stats *ps)
{
	return ps->n < PAUSE_RING ? (size_t)ps->n : PAUSE_RING;
}

double pause_stats_quantile(const struct pause_stats *ps, double q)
{
	size_t n = pause_stats_count(ps);
	double v[PAUSE_RING];

	memcpy(v, ps->ms, n * sizeof(double));
	return quantile(v, n, q);
}
