/*
 * fake_resp.h - for tests of a RESP client (kv_verify): a scripted fake
 * Redis on 127.0.0.1 that answers SET with +OK and GET with what was set,
 * except where its script says to lose, alter, stall, close or answer
 * oddly. It runs in a child that dies with its parent.
 */
#ifndef COLO_TESTS_FAKE_RESP_H
#define COLO_TESTS_FAKE_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What the fake does; all zero: a correct server. */
struct fake_script {
	uint64_t lose;		/* GET of this seq answers nil */
	uint64_t alter;		/* GET of this seq answers another value */
	uint64_t close_at;	/* SET number close_at: the connection closes */
	bool reset;		/* with a RST (SO_LINGER 0), not a FIN */
	uint64_t stall_at;	/* SET number stall_at: answered stall_ms late */
	unsigned stall_ms;
	uint64_t odd_at;	/* SET number odd_at: answered odd, not +OK */
	const char *odd;
	size_t odd_len;
	bool odd_closes;	/* and then the connection closes */
};

/* A fake playing s on a free 127.0.0.1 port: 0 with *pid and *port, or
 * -1 (said on stderr). */
int fake_resp_start(const struct fake_script *s, pid_t *pid, uint16_t *port);

/* SIGKILL, and reap. pid <= 0 is ignored. */
void fake_resp_stop(pid_t pid);

#endif /* COLO_TESTS_FAKE_RESP_H */
