/*
 * kv_pair.h - a protected kvstore in a test's lab (net_lab.h): both
 * daemons in their hosts' namespaces, the primary's TAP on its br0,
 * replication over repl0, and redis-cli in the client namespace.
 *
 * Like pair_lib.h, nothing here asserts but kv_pair_start() and
 * kv_cli_expect(), which fail the test (cmocka) with what went wrong.
 */
#ifndef COLO_TESTS_KV_PAIR_H
#define COLO_TESTS_KV_PAIR_H

#include <stddef.h>

#define KV_PORT		6379

/* What the last kv_cli() printed. */
extern char kv_out[16384];

/*
 * Start the pair and wait until it protects (three checkpoints).
 * delay_ms: the primary's checkpoint_delay_ms; pri_net, sec_net: more
 * [net] lines for each side ("" for none), e.g. "output = buffer\n".
 */
void kv_pair_start(unsigned delay_ms, const char *pri_net,
		   const char *sec_net);

/* redis-cli -h GUEST -p 6379 ARGS in the client namespace; its output in
 * kv_out, its exit status returned. */
int kv_cli(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* kv_cli(cmd), which must print exactly want. */
void kv_cli_expect(const char *want, const char *cmd);

#endif /* COLO_TESTS_KV_PAIR_H */
