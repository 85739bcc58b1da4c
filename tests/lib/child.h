/*
 * child.h - drive tests/tracked_child from a test or a benchmark.
 */
#ifndef COLO_TEST_CHILD_H
#define COLO_TEST_CHILD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct child {
	pid_t pid;
	int to;			/* its stdin */
	int from;		/* its stdout */
	int uffd;		/* its userfaultfd number */
	int frozen;		/* stopped by child_freeze() */
	char reply[256];	/* last answer */
};

/* Start the tracked child ($COLO_TRACKED_CHILD, else build/guest-cc/
 * tracked_child or its sibling: paths.h). */
int child_spawn(struct child *c);

/* Send one command line; 0 when the answer starts with "ok". */
int child_cmd(struct child *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The hex address in the last "ok ADDR" answer. */
uint64_t child_reply_addr(const struct child *c);

/* Stop it (SIGSTOP, waited for) and let it go on (SIGCONT); freezing a
 * frozen child does nothing. */
int child_freeze(struct child *c);
int child_thaw(struct child *c);

/* Kill and reap; safe to call twice. */
void child_kill(struct child *c);

#endif /* COLO_TEST_CHILD_H */
