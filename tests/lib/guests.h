/*
 * guests.h - run shipped guests (build/guest-cc/...) in tests and benchmarks,
 * and talk to memstress through its NIC.
 */
#ifndef COLO_TEST_GUESTS_H
#define COLO_TEST_GUESTS_H

#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>

#include "guest.h"

struct test_guest {
	struct guest g;
	char reply[256];	/* the last frame it sent, as text */
	unsigned replies;	/* frames received so far */
};

/* Absolute path of a shipped guest ($COLO_GUEST_DIR, else build/guest-cc
 * or its sibling: paths.h). */
const char *guest_binary(const char *name, char *buf, size_t len);

/*
 * Launch guest binary name with argv (NULL-terminated, without argv[0])
 * as test guest t called label. stack_limit 0: the default.
 */
int tg_launch(struct test_guest *t, const char *label, const char *name,
	      const char *const *args, uint64_t stack_limit);

/* tg_launch() with the stack limit and command timeout of p (the rest of
 * p is tg_launch's). */
int tg_launch_params(struct test_guest *t, const char *label, const char *name,
		     const char *const *args, const struct guest_params *p);

/* Send a memstress command; do not wait. */
int tg_send(struct test_guest *t, const char *cmd);

/* Wait up to timeout_ms for the next reply frame, copy it to out. */
int tg_wait(struct test_guest *t, int timeout_ms, char *out, size_t len);

/* Send and wait (10 s) for the answer. */
int tg_ask(struct test_guest *t, const char *cmd, char *out, size_t len);

void tg_destroy(struct test_guest *t);

/* Voluntary context switches of process pid (how often it went to
 * sleep), from /proc/PID/status; ULONG_MAX when it cannot be read. */
unsigned long guest_sleeps(pid_t pid);

#endif /* COLO_TEST_GUESTS_H */
