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
extern char kv_out[65536];

/*
 * Start the pair and wait until it protects (three checkpoints).
 * delay_ms: the primary's checkpoint_delay_ms; pri_net, sec_net: more
 * [net] lines for each side ("" for none), e.g. "output = buffer\n".
 */
void kv_pair_start(unsigned delay_ms, const char *pri_net,
		   const char *sec_net);
/* The same with more to say. */
struct kv_pair_opts {
	unsigned delay_ms;		/* the primary's checkpoint_delay_ms */
	/* more [net] lines for each side, which may go on with other
	 * sections ("[ha]\n..."); NULL: none */
	const char *pri_net, *sec_net;
	unsigned heartbeat_ms;		/* 0: pair_lib.h's default */
	/* words before coloctl on each start line ("unshare --time ...
	 * --fork"); NULL: none */
	const char *pri_prefix, *sec_prefix;
};

void kv_pair_start_opts(const struct kv_pair_opts *o);

/* redis-cli -h GUEST -p 6379 ARGS in the client namespace; its output in
 * kv_out, its exit status returned. */
int kv_cli(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* kv_cli(cmd), which must print exactly want. */
void kv_cli_expect(const char *want, const char *cmd);

/* cmocka setup and teardown of a test in its lab: pair_setup() and
 * lab_up(), pair_teardown() and lab_down() (which checks nothing is
 * left). */
int kv_lab_setup(void **state);
int kv_lab_teardown(void **state);

/*
 * Debian's redis-server spawned in the client namespace (stopped with
 * the lab), then tests/data/kv_commands.txt against it and against the
 * protected guest: the replies must be the same bytes (the test fails
 * with the difference otherwise).
 */
void kv_replies_equal_redis(void);

#endif /* COLO_TESTS_KV_PAIR_H */
