/*
 * clock.h - the one monotonic clock of colo: intervals, deadlines and
 * timeouts are measured with CLOCK_MONOTONIC, never with the wall clock
 * (which an operator or NTP may step). Each call is one vDSO clock_gettime,
 * tens of nanoseconds, so it is cheap enough for per-stage timers.
 */
#ifndef COLO_CLOCK_H
#define COLO_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds of CLOCK_MONOTONIC. */
static inline uint64_t colo_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Milliseconds of CLOCK_MONOTONIC. */
static inline int64_t colo_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif /* COLO_CLOCK_H */
