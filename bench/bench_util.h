/*
 * bench_util.h - what the benchmarks share: option lists, medians, the
 * clock, status figures, /proc figures and the plain TCP yardstick.
 */
#ifndef COLO_BENCH_UTIL_H
#define COLO_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

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

/* Seconds on CLOCK_MONOTONIC (intervals only). */
double bench_now_s(void);
void bench_sleep_ms(unsigned ms);

/* The number after "KEY": in a daemon's 'status --json' answer, NAN when
 * the key is not there. O(length of json). */
double bench_json_num(const char *json, const char *key);

/* A figure of /proc/PID/status in KiB ("VmRSS", "VmHWM"); 0 when the
 * process is gone. */
uint64_t bench_proc_kib(pid_t pid, const char *name);
/* MemAvailable of /proc/meminfo: KiB the system gives without swapping. */
uint64_t bench_mem_available_kib(void);

/* A process a benchmark started, to be killed by its pid: its start
 * time, read with the pid, tells a recycled pid from it. */
struct bench_proc {
	pid_t pid;			/* 0: none */
	unsigned long long start;	/* field 22 of /proc/PID/stat */
	char stat_path[40];		/* /proc/PID/stat */
};

/* Track pid (0 or less: none). */
void bench_proc_track(struct bench_proc *p, pid_t pid);
/* Still the process tracked? open() and read() only: async-signal-safe. */
int bench_proc_alive(const struct bench_proc *p);
/* SIGKILL it if it is still the process tracked. Async-signal-safe. */
void bench_proc_kill(const struct bench_proc *p);

/* A TCP port on 127.0.0.1 free a moment ago, or -1. */
int bench_free_port(void);

/* csv's sibling, csv without ".csv" + suffix + ".csv", opened for
 * writing, with a first line header (NULL: none); NULL (said) on error. */
FILE *bench_csv_sibling(const char *csv, const char *suffix,
			const char *header);

/*
 * Plain TCP over loopback, the yardstick of the page stream: MB/s of one
 * transfer of bytes in 256 KiB writes (TCP_NODELAY) to a forked reader
 * that drops them, timed until the reader has read the last byte; -1
 * when a socket call fails (said on stderr).
 */
double bench_tcp_loopback_mb_s(uint64_t bytes);

#endif /* COLO_BENCH_UTIL_H */
