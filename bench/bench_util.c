/*
 * bench_util.c - option lists and medians for the benchmarks (medians by
 * quantile.h, the daemons' p50).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
