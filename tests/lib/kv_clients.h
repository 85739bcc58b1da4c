/*
 * kv_clients.h - long-running clients of the protected kvstore in a
 * test's lab (net_lab.h, kv_pair.h): kv_verify, which writes sequential
 * keys over one connection and reads every acknowledged one back on it
 * at the end, and redis-benchmark as background load. Both run in the
 * client namespace, children of the test (tracked: the teardown kills
 * them, whatever happens to the test), each writing a log in pair_dir.
 */
#ifndef COLO_TESTS_KV_CLIENTS_H
#define COLO_TESTS_KV_CLIENTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* kv_verify's summary. */
struct kv_verify_result {
	long sent, acked;
	long lost, wrong;		/* -1: unknown (it lost its connection) */
	bool survived;			/* its one connection carried on */
	long gap_ms;			/* the longest wait for a reply */
	int64_t gap_from_ms, gap_to_ms;	/* CLOCK_REALTIME ms */
	double before, after;		/* replies per second around it */
};

/* A running client: its pid in the client namespace and its output. */
struct kv_client {
	pid_t pid;
	char log[256];
};

/* kv_verify against the guest, writing until kv_verify_finish(). 0, or
 * -1 with pair_why set. */
int kv_verify_start(struct kv_client *c);

/* SIGTERM: it stops writing, reads everything back, prints its summary
 * and exits (waited for up to 60 s). 0 with *r, or -1 with pair_why set
 * (no summary: it died, or hung). */
int kv_verify_finish(struct kv_client *c, struct kv_verify_result *r);

/* redis-benchmark -l (looping) with args against the guest, until
 * kv_client_kill(). */
int kv_benchmark_start(struct kv_client *c, const char *args);

/* SIGKILL, and wait until it is gone. */
void kv_client_kill(struct kv_client *c);

/* CLOCK_REALTIME ms, as kv_verify's gap_*_ms. */
int64_t kv_wall_ms(void);

#endif /* COLO_TESTS_KV_CLIENTS_H */
